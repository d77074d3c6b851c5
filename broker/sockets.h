/* sockets — the broker's link to the other brokers (a libzmq SUB at their
 * egress), and the limits of its own ZMTP servers (ingress.c, egress.c).
 *
 * docs/wire.md §1 and §5 say why: LINGER 0 so nothing hangs on close, IPV6 so
 * [::1] endpoints work, ZeroMQ heartbeats (RTM_WIRE_ZMQ_HB_*) and TCP
 * keepalive, so a peer whose host vanished without a FIN is noticed and its
 * connection dropped and redialled (resolving the name again). The servers
 * do the same on their side (zserver.c). */
#ifndef RTM_SOCKETS_H
#define RTM_SOCKETS_H

#include "rtm_tier.h"

#include <stdbool.h>
#include <stdint.h>

#define RTM_SOCKETS_EGRESS_MAX_OUT  (64u << 20) /* bytes queued per subscriber before misses */
#define RTM_SOCKETS_INGRESS_MAX_OUT (16u << 20) /* bytes of replies queued per node */
#define RTM_SOCKETS_MAX_BODY        1048576     /* larger ingress frames disconnect the peer */

/* A SUB subscribed to RTM_WIRE_HB_TOPIC and to the replica topic of the
 * broker whose identity is self (rtm_wire_replica_topic of its rendezvous
 * seed: the same whatever the list does), connected to nothing yet (see
 * rtm_sockets_peer); a CURVE client of the other brokers with keys (the
 * tier's own). Caller owns it. */
void *rtm_sockets_peers(void *ctx, const char *self, const rtm_tier_keys_t *keys);

/* Connects (on) or disconnects sub to or from the egress (port + 1) of the
 * broker whose ingress is `identity`; a failure is logged. */
void rtm_sockets_peer(void *sub, const char *identity, bool on);

#endif
