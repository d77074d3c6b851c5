/* rtm_upstream — a worker's ZeroMQ links to the broker shards: a transport.
 *
 * One ZMTP DEALER per broker, to its ingress, spoken from the worker's own
 * loop (rtm_zlink, no libzmq I/O thread): requests and their ACKs, and
 * heartbeats both ways. Events, control messages and the brokers' egress
 * heartbeats come once per node, through the egress hub in worker 0's loop
 * (node/egress_hub.h); the hub hands each worker the heartbeats
 * (rtm_upstream_heartbeat) and the worker its channel table the rest. The
 * broker list can change at run time (rtm_upstream_set_brokers): links to
 * brokers that stay are kept, added ones are connected, removed ones closed.
 * A broker is live while both its egress heartbeats and its replies to our
 * heartbeats arrive (rtm_wire_live); channel owners are
 * computed by rendezvous hashing over the identities of the live listed
 * brokers. Heartbeats both ways carry the digest of the sender's list; a
 * broker whose list differs is logged and counted. A broker's index (the
 * `shard` of the functions below) is its place in the current list: valid
 * until the next rtm_upstream_set_brokers, so never keep one across ticks. Requests that need an
 * answer get a correlation id and a deadline; their callback runs exactly once. A change of the
 * live set is reported through a callback: this module knows no channels. */
#ifndef RTM_UPSTREAM_H
#define RTM_UPSTREAM_H

#include "broker_link.h"
#include "metrics.h"
#include "rtm_brokers.h"
#include "rtm_str.h"
#include "rtm_tier.h"
#include "rtm_wire.h"
#include "rtm_zlink.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Outcome of a request: status 0 when the shard accepted, else a negative
 * code (RTM_ETIMEDOUT, RTM_EUNAVAIL, RTM_ENOTOWNER, ...); json is the answer
 * of a QUERY (borrowed for the call; empty otherwise). */
typedef void (*rtm_upstream_ack_cb)(void *arg, int status, rtm_str_t json);

typedef struct rtm_pending rtm_pending_t;

typedef struct rtm_upstream rtm_upstream_t;

typedef struct rtm_shard_link rtm_shard_link_t;
struct rtm_shard_link {
    rtm_upstream_t *up;
    char *identity;                /* the broker's ingress endpoint as listed, owned */
    rtm_zlink_t *ingress;          /* DEALER to the broker's ingress */
    rtm_zlink_events_t ingress_ev; /* arg: this link */
    uint64_t last_hb_ms;           /* when the node last heard its egress heartbeat (liveness) */
    uint64_t last_reply_ms;        /* last ingress reply (the request path works) */
    uint64_t epoch;                /* broker's start epoch, to notice restarts */
    uint64_t beat;                 /* number of its last heartbeat heard, stamped on requests */
    uint64_t beat_ms;              /* when that heartbeat was heard (RTM_WIRE_STAMP_MS, _HOLD_MS) */
    uint64_t first_hb_ms;          /* when it was first heard since it last fell silent */
    bool mismatch;                 /* its last heartbeat carried a list digest other than ours */
    bool joining;  /* listed at run time or back (silence, restart, leave): routed to only
                    * RTM_WIRE_JOIN_MS after first heard */
    bool retired;  /* unlisted: its heartbeats still heard until it falls silent */
    bool unlisted; /* its last heartbeat said it owns nothing (unlisted there, or leaving) */
    uint64_t seed; /* its rendezvous seed: how the egress hub names it */
    rtm_shard_link_t *next; /* in the retired list */
};

/* What the links report, from inside the loop's callbacks. */
typedef struct {
    void *ctx;
    /* The set of live shards changed: channel owners may have moved. */
    void (*owners_changed)(void *ctx);
} rtm_upstream_events_t;

struct rtm_upstream {
    uv_loop_t *loop;
    const rtm_upstream_events_t *ev;
    rtm_metrics_t *metrics;
    rtm_broker_keys_t keys;
    rtm_shard_link_t **shards; /* n_shards links, in list order */
    uint32_t n_shards;
    uint64_t *seeds;           /* n_shards rendezvous seeds of the identities */
    bool *alive;               /* scratch for rendezvous: live brokers now */
    bool *was_alive;           /* live set at the previous tick, to notice changes */
    bool owners_dirty;         /* the list changed: report owners_changed at the next tick */
    uint64_t digest;           /* rtm_brokers digest of the current list */
    rtm_shard_link_t *retired; /* unlisted brokers still heard (see rtm_upstream_set_brokers) */
    bool started;              /* the first list is set */
    uint64_t last_hb_sent_ms;
    uint64_t next_id;
    char id[32];            /* this worker's id: heartbeats and DEALER routing id */
    rtm_pending_t *pending; /* by id (uthash), oldest first in the list */
    rtm_pending_t *oldest, *newest;
};

/* Starts the links to the brokers of list (copied) on loop, CURVE clients
 * with keys when it holds any (copied), with id as this worker's identity.
 * loop, ev and metrics are borrowed for up's life. Returns 0 or a negative
 * code (RTM_EINVAL: a key that is not Z85). */
int rtm_upstream_start(rtm_upstream_t *up, uv_loop_t *loop, const rtm_brokers_t *list,
                       const rtm_tier_keys_t *keys, const char *id, const rtm_upstream_events_t *ev,
                       rtm_metrics_t *metrics);

/* Makes list (copied) the broker list: keeps the links of brokers still
 * listed; connects added ones, which are routed to only RTM_WIRE_JOIN_MS
 * after they are first heard, so that every node has had the time to list
 * them too and subscribe at their egress before any event comes from there;
 * stops routing to removed ones but keeps hearing them until they fall
 * silent (the egress hub stays subscribed at their egress meanwhile, since
 * nodes that have not re-read their list yet may still publish through
 * them). Requests in flight to a removed broker are answered as usual.
 * Owners may move: owners_changed is reported at the next tick. Returns the
 * number of brokers added plus removed. */
uint32_t rtm_upstream_set_brokers(rtm_upstream_t *up, const rtm_brokers_t *list);

/* Identity of broker `shard` (an index below n_shards); borrowed until the
 * next rtm_upstream_set_brokers. */
const char *rtm_upstream_identity(const rtm_upstream_t *up, uint32_t shard);

/* Every broker this worker knows — the listed ones in list order, then the
 * unlisted ones still heard — with its state, into *out (newly allocated,
 * caller frees; endpoints borrowed until the next tick). Returns the count. */
size_t rtm_upstream_brokers(rtm_upstream_t *up, rtm_metrics_shard_t **out);

/* Whether what the node heard at heard_ms from the broker whose rendezvous
 * seed is `broker` (the egress hub's tag) was held on the wire: this worker
 * does not know that broker, or had not heard it within RTM_WIRE_DEAD_MS of
 * heard_ms, or heard it again after such silence less than RTM_WIRE_DEAD_MS
 * before. Judged at heard_ms, after the heartbeats the hub heard before the
 * message, exactly as a SUB of the worker's own would have seen them. A cut between
 * this node and a broker leaves the broker's egress in TCP's buffers; after
 * the heal the burst arrives in order, its first messages before any
 * heartbeat (so the broker is still silent here), the rest after the held
 * heartbeats, which make it heard again. Nothing such a broker sends is due
 * here: no node routes to a broker until RTM_WIRE_JOIN_MS after hearing it,
 * and the broker it routes a channel to is live, so never held. */
bool rtm_upstream_held(const rtm_upstream_t *up, uint64_t broker, uint64_t heard_ms);

/* Live brokers whose last heartbeat carried a list digest other than ours. */
uint32_t rtm_upstream_mismatched(const rtm_upstream_t *up);

/* The worker's tick: heartbeats every RTM_WIRE_HB_MS, request deadlines,
 * and the live-set check that reports owners_changed. */
void rtm_upstream_tick(rtm_upstream_t *up);

/* True when at least one shard is live and every live shard answers on its
 * ingress: what /readyz reports. */
bool rtm_upstream_ready(const rtm_upstream_t *up);

/* Fails every pending request (callbacks run with RTM_EUNAVAIL), then closes
 * the links; their handles are closed by the loop's next turns. */
void rtm_upstream_close(rtm_upstream_t *up);

/* Owning live shard of app's channel, or -1 when no shard is live. */
int rtm_upstream_owner(rtm_upstream_t *up, rtm_str_t app, rtm_str_t channel);

/* Sends a request that the shard answers with an ACK (PUBLISH, PRESENCE_JOIN,
 * QUERY); assigns msg->id. cb(arg, status, json) runs exactly once, never
 * inside this call. */
void rtm_upstream_request(rtm_upstream_t *up, uint32_t shard, rtm_wire_msg_t *msg,
                          rtm_upstream_ack_cb cb, void *arg);

/* Sends a message that gets no answer (id 0). Returns 0 or RTM_EUNAVAIL. */
int rtm_upstream_send(rtm_upstream_t *up, uint32_t shard, const rtm_wire_msg_t *msg);

/* Number of live shards; fills alive[0..n_shards) when non-NULL. */
uint32_t rtm_upstream_live(rtm_upstream_t *up, bool *alive);

/* Counts the requests waiting for the ACK of each of the first cap listed
 * brokers into counts[shard] (a request to an unlisted broker is in none).
 * Returns how many counts it wrote: min(n_shards, cap). */
size_t rtm_upstream_pending(const rtm_upstream_t *up, uint64_t *counts, size_t cap);

/* A broker's egress heartbeat (the SHARD_HB body, borrowed for the call),
 * heard by the node at heard_ms (this loop's clock, not later than its
 * uv_now): liveness, the broker's heartbeat number for stamps
 * (RTM_WIRE_STAMP_MS and RTM_WIRE_HOLD_MS count from heard_ms, when the node
 * really heard it), restarts, joins and list digests. A malformed one, or
 * one from a broker this worker does not know, is counted. */
void rtm_upstream_heartbeat(rtm_upstream_t *up, rtm_str_t body, uint64_t heard_ms);

#endif
