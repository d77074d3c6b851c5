/* sockets — the broker's three ZeroMQ sockets, created, tuned and placed.
 *
 * docs/wire.md §1 and §5 say why each option is set: LINGER 0 everywhere so
 * nothing hangs on close, IPV6 so [::1] endpoints work, ROUTER_MANDATORY and
 * a large SNDHWM on the ingress so replies to vanished nodes fail visibly,
 * ROUTER_HANDOVER so a node worker reconnecting with its routing id stays the
 * same peer,
 * MAXMSGSIZE on the ingress, XPUB_NODROP and a large SNDHWM on the egress so
 * a full subscriber pipe refuses a message instead of dropping it silently;
 * on every socket ZeroMQ heartbeats (RTM_WIRE_ZMQ_HB_*) and TCP keepalive, so
 * a peer whose host vanished without a FIN is noticed: a connecting socket
 * drops the dead connection and reconnects (resolving the name again), a
 * ROUTER drops the dead pipe and with it the stale routing id.
 * Each function logs why it failed and returns NULL; the caller closes what
 * it already opened. */
#ifndef RTM_SOCKETS_H
#define RTM_SOCKETS_H

#include "rtm_tier.h"
#include "zap.h"

#include <stdbool.h>
#include <stdint.h>

#define RTM_SOCKETS_EGRESS_HWM  100000  /* messages queued per subscriber before EAGAIN */
#define RTM_SOCKETS_INGRESS_HWM 100000  /* replies queued per node */
#define RTM_SOCKETS_MAX_BODY    1048576 /* larger ingress frames disconnect the peer */

/* The ingress ROUTER bound on tcp://host:port; with zap (not NULL) a CURVE
 * server with keys behind it. Caller owns it (zmq_close). */
void *rtm_sockets_ingress(void *ctx, const char *host, int port, const rtm_tier_keys_t *keys,
                          rtm_zap_t *zap);

/* The egress XPUB bound on tcp://host:port, secured as the ingress. Caller owns it. */
void *rtm_sockets_egress(void *ctx, const char *host, int port, const rtm_tier_keys_t *keys,
                         rtm_zap_t *zap);

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
