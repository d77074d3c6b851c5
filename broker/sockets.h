/* sockets — the broker's three ZeroMQ sockets, created, tuned and placed.
 *
 * docs/wire.md §1 and §5 say why each option is set: LINGER 0 everywhere so
 * nothing hangs on close, IPV6 so [::1] endpoints work, ROUTER_MANDATORY and
 * a large SNDHWM on the ingress so replies to vanished nodes fail visibly,
 * ROUTER_HANDOVER so a node worker reconnecting with its routing id stays the
 * same peer,
 * MAXMSGSIZE on the ingress, XPUB_NODROP and a large SNDHWM on the egress so
 * a full subscriber pipe refuses a message instead of dropping it silently.
 * Each function logs why it failed and returns NULL; the caller closes what
 * it already opened. */
#ifndef RTM_SOCKETS_H
#define RTM_SOCKETS_H

#include <stdint.h>

#define RTM_SOCKETS_EGRESS_HWM  100000  /* messages queued per subscriber before EAGAIN */
#define RTM_SOCKETS_INGRESS_HWM 100000  /* replies queued per node */
#define RTM_SOCKETS_MAX_BODY    1048576 /* larger ingress frames disconnect the peer */

/* The ingress ROUTER bound on tcp://host:port. Caller owns it (zmq_close). */
void *rtm_sockets_ingress(void *ctx, const char *host, int port);

/* The egress XPUB bound on tcp://host:port. Caller owns it. */
void *rtm_sockets_egress(void *ctx, const char *host, int port);

/* A SUB subscribed to RTM_WIRE_HB_TOPIC and to self's replica topic
 * (rtm_wire_replica_topic), connected to the egress (port
 * + 1) of every shard in endpoints[0..n) except `self` (the caller validated
 * every endpoint). Caller owns it. */
void *rtm_sockets_peers(void *ctx, uint32_t self, uint32_t n, char *const *endpoints);

#endif
