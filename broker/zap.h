/* zap — who may reach this broker: the ZAP handler (ZeroMQ RFC 27) behind
 * its CURVE sockets, with the allow-list of public certificates.
 *
 * With keys, the ingress ROUTER and the egress XPUB are CURVE servers in the
 * ZAP domain RTM_TIER_ZAP_DOMAIN with ZMQ_ZAP_ENFORCE_DOMAIN, so libzmq asks
 * this handler about every connecting peer and refuses the peer outright
 * without an answer. A peer is let in when its public key is in the
 * directory --curve-allow names (a CZMQ zcertstore, re-read when the
 * directory changes: keys are added and revoked without a restart) or is the
 * broker tier's own (other brokers). The handler's reply carries the key as
 * the connection's User-Id, which the broker reads off every ingress message
 * to limit service keys to their apps (rtm_apps_key_allowed).
 *
 * Why not CZMQ's zauth actor: it runs in CZMQ's global context (the broker
 * has its own) on a thread of its own, counts nothing, and answers with an
 * empty User-Id; this handler is one REP socket in the broker's zmq_poll.
 * Peers refused here and peers whose handshake fails (plain text against
 * CURVE, a wrong server key) are counted; the latter come from socket
 * monitors on the two server sockets. No key is ever logged. */
#ifndef RTM_ZAP_H
#define RTM_ZAP_H

#include "rtm_tier.h"

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct rtm_zap rtm_zap_t;

typedef struct {
    uint64_t allowed;          /* peers let in */
    uint64_t refused;          /* peers with a key not allowed (ZAP said 400) */
    uint64_t handshake_failed; /* peers whose handshake failed: plain text, wrong keys */
} rtm_zap_stats_t;

/* The handler for ctx, bound before any server socket exists: keys are the
 * broker tier's (own key allowed), allow_dir the directory of allowed public
 * certificates. Returns it (caller owns it) or NULL after logging why. */
rtm_zap_t *rtm_zap_new(void *ctx, const rtm_tier_keys_t *keys, const char *allow_dir);

/* Makes sock a CURVE server behind this handler and counts its failed
 * handshakes (`what` names it in monitor endpoints: "ingress", "egress").
 * Call before binding sock. Returns 0 or -1 (logged). */
int rtm_zap_serve(rtm_zap_t *zap, void *sock, const char *what);

/* Poll items of the handler's sockets into items[0..cap); returns how many. */
size_t rtm_zap_pollitems(rtm_zap_t *zap, zmq_pollitem_t *items, size_t cap);

/* Answers every waiting ZAP request and reads every monitor event. */
void rtm_zap_service(rtm_zap_t *zap);

const rtm_zap_stats_t *rtm_zap_stats(const rtm_zap_t *zap);

/* Closes the sockets (before the context is terminated), frees and NULLs. */
void rtm_zap_destroy(rtm_zap_t **zap);

#endif
