/* links — librtmesh's sockets to the broker tier, following its list.
 *
 * One SUB connected to every listed broker's egress hears their heartbeats;
 * one DEALER per broker carries our heartbeats (NODE_HB: the brokers answer
 * them, which proves the ingress path) and the requests. The list comes from
 * the roster (comma list, file, dns://) and is re-taken whenever it changes:
 * brokers that stay keep their sockets, added ones are connected (and join,
 * route.h), removed ones are closed at once — a service receives no events,
 * so unlike a node it need not stay subscribed to a leaving broker. Owned and
 * used by the handle's I/O thread only. */
#ifndef RTM_CLIENT_LINKS_H
#define RTM_CLIENT_LINKS_H

#include "route.h"
#include "rtm_brokers.h"
#include "rtm_roster.h"
#include "rtm_tier.h"
#include "rtm_wire.h"

#include <stdbool.h>
#include <stdint.h>

/* One listed broker. */
typedef struct {
    char *identity;       /* its ingress endpoint as listed, owned */
    void *dealer;         /* DEALER to its ingress */
    uint64_t no;          /* unique per handle: requests remember where they went */
    rtm_client_link_t st; /* liveness, route.h */
    uint64_t probe_ms;    /* when a heartbeat was last sent to it */
} rtm_client_conn_t;

typedef struct {
    void *zctx;                  /* borrowed */
    const rtm_tier_keys_t *keys; /* borrowed; NULL or empty: plain text */
    rtm_roster_t *roster;        /* borrowed */
    uint64_t gen;                /* roster generation of list */
    rtm_brokers_t list;          /* the current list: ids, seeds, digest */
    rtm_client_conn_t **conns;   /* list.n, in list order */
    bool *alive;                 /* list.n entries of scratch for routing */
    void *sub;                   /* SUB on every listed egress */
    bool started;                /* the first list is in: later brokers join */
    uint64_t next_no;
    char routing_id[32]; /* our DEALERs' routing id, unique per handle */
    char node[64];       /* our NODE_HB "node", for the brokers' logs */
    uint64_t last_hb_ms; /* when NODE_HBs last went to every broker */
    void *monitor;       /* PAIR reading the SUB's handshake failures */
    uint64_t refused_ms; /* when a broker last refused our handshake; 0: never */
    bool refused_auth;   /* that refusal was the allow-list's (else: keys or plain text) */
} rtm_client_links_t;

/* Takes the roster's first list and connects to it. Returns 0, or RTM_EINVAL
 * with a message in err for a bad list. keys may be NULL. */
int rtm_client_links_init(rtm_client_links_t *l, void *zctx, rtm_roster_t *roster,
                          const rtm_tier_keys_t *keys, char *err, size_t err_len);

/* One turn at monotonic time now: takes a new list from the roster when there
 * is one (a bad one is logged and the last kept), sends NODE_HB every
 * RTM_WIRE_HB_MS (and sooner to a broker heard but not yet answering). */
void rtm_client_links_tick(rtm_client_links_t *l, uint64_t now);

/* Reads every heartbeat waiting on the SUB, and every handshake refusal the
 * SUB's monitor reports: a broker is silent to a handle it does not let in,
 * and the monitor is how the handle can tell "not authorised" from "down". */
void rtm_client_links_drain_sub(rtm_client_links_t *l, uint64_t now);

/* The monitor's PAIR, to poll beside the SUB. */
void *rtm_client_links_monitor(const rtm_client_links_t *l);

/* Reads the next message waiting on c's DEALER into *msg, decoded (slices of
 * *frame, which the caller closes). Heartbeat replies update c and are not
 * returned. Returns 1 for a message (an ACK), 0 when none is waiting. */
int rtm_client_links_recv(rtm_client_links_t *l, rtm_client_conn_t *c, uint64_t now, void *frame,
                          rtm_wire_msg_t *msg);

/* Sends msg on c's DEALER without waiting. Returns 0, RTM_EUNAVAIL when the
 * broker's queue is full or it is not connected, an encoding error, or
 * another -errno of zmq_send. */
int rtm_client_links_send(rtm_client_conn_t *c, const rtm_wire_msg_t *msg);

/* The conn with this number, or NULL when it is no longer listed. */
rtm_client_conn_t *rtm_client_links_by_no(const rtm_client_links_t *l, uint64_t no);

/* The conn of this identity, or NULL. */
rtm_client_conn_t *rtm_client_links_find(const rtm_client_links_t *l, const char *identity);

/* Closes every socket and frees what l owns. */
void rtm_client_links_close(rtm_client_links_t *l);

#endif
