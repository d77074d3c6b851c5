/* broker — one rtmesh-broker shard: its ZeroMQ sockets and its loop.
 *
 * Single-threaded. The ROUTER ingress takes every node-to-broker message
 * (PUBLISH, NODE_HB, SYNC_REQ, PRESENCE_JOIN/LEAVE, SUB_COUNT, QUERY,
 * TERMINATE) from node workers; the XPUB egress carries rendered events and
 * channel control messages (SYNC, MEMBER, TERMINATE) for the channels this
 * shard owns, and this shard's heartbeat; a SUB listens to every other
 * listed broker's heartbeat to know which brokers are live. The shard holds the
 * channel state of the channels it owns: subscription counts, presence
 * members, cache channels' last events. docs/wire.md is the protocol. */
#ifndef RTM_BROKER_H
#define RTM_BROKER_H

#include "rtm_apps.h"
#include "rtm_roster.h"
#include "rtm_tier.h"
#include "webhooks.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct {
    const char *self;       /* this broker's identity: its ingress "tcp://host:port" as the
                             * broker lists write it (egress is port + 1). Borrowed */
    rtm_roster_t *roster;   /* where the broker list comes from; borrowed for the broker's
                             * life. The broker owns nothing until the list names self */
    const char *bind_host;  /* interface to bind; NULL: the host of self */
    const rtm_apps_t *apps; /* the apps served (their webhooks); borrowed for the broker's life */
    rtm_webhooks_config_t webhooks; /* how webhooks are batched, retried and bounded */
    int metrics_port;               /* GET /metrics on bind host:port; 0: off */
    const rtm_tier_keys_t *keys;    /* the broker tier's CURVE keys; NULL or empty: plain text
                                     * (logged as a warning). Borrowed for the broker's life */
    const char *curve_allow;        /* with keys: directory of the allowed public certificates */
} rtm_broker_config_t;

typedef struct rtm_broker rtm_broker_t;

/* Creates the ZeroMQ context and sockets, binds ingress and egress and
 * connects to the peers' egress. Returns the broker (caller owns it; free with
 * rtm_broker_destroy), or NULL after logging why (e.g. an address in use).
 * cfg->self must be a tcp://host:port endpoint (the caller checked it);
 * the first broker list is taken from the roster here. Aborts on OOM. */
rtm_broker_t *rtm_broker_new(const rtm_broker_config_t *cfg);

/* Runs the loop until *stop becomes non-zero (checked at least every 100 ms,
 * so a signal handler may set it), then — when a live peer can take over and
 * nodes are connected — leaves for a second first (heartbeats say it owns
 * nothing; docs/operations.md) before returning. Whenever *reload is non-zero the loop
 * clears it and reloads the roster (SIGHUP); a new list is taken whenever the
 * roster has one. Returns 0, or a negative errno when
 * ZeroMQ fails in a way the loop cannot survive (logged). */
int rtm_broker_run(rtm_broker_t *broker, const atomic_int *stop, atomic_int *reload);

/* Logs final counters, closes every socket, terminates the context, frees the
 * broker and sets *broker to NULL. Safe on NULL. */
void rtm_broker_destroy(rtm_broker_t **broker);

#endif
