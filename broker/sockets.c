/* sockets — see sockets.h. Creating a socket fails only for lack of file
 * descriptors or memory, binding when the address is taken or not local:
 * both are start-up errors the broker reports and exits on. */
#include "sockets.h"

#include "rtm_config.h"
#include "rtm_log.h"
#include "rtm_rendezvous.h"
#include "rtm_wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <zmq.h>

/* With zap, sock becomes a CURVE server behind it (before it is bound). */
static void *s_secure(void *sock, const char *what, const rtm_tier_keys_t *keys, rtm_zap_t *zap)
{
    if (!sock || !zap)
        return sock;
    rtm_tier_secure_server(sock, keys);
    if (rtm_zap_serve(zap, sock, what) == 0)
        return sock;
    zmq_close(sock);
    return NULL;
}

/* Binds sock to tcp://host:port; on failure logs, closes sock and returns NULL. */
static void *s_bind(void *sock, const char *what, const char *host, int port)
{
    char ep[320];
    snprintf(ep, sizeof ep, "tcp://%s:%d", host, port);
    if (zmq_bind(sock, ep) == 0)
        return sock;
    rtm_log(RTM_LOG_ERROR, "event=bind_failed socket=%s endpoint=%s error=\"%s\"", what, ep,
            zmq_strerror(errno));
    zmq_close(sock);
    return NULL;
}

void *rtm_sockets_ingress(void *ctx, const char *host, int port, const rtm_tier_keys_t *keys,
                          rtm_zap_t *zap)
{
    void *router = s_secure(rtm_tier_socket(ctx, ZMQ_ROUTER), "ingress", keys, zap);
    if (!router)
        return NULL;
    int one = 1, hwm = RTM_SOCKETS_INGRESS_HWM;
    int64_t max = RTM_SOCKETS_MAX_BODY;
    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    /* A node worker that reconnects with the routing id it had (ZMQ_ROUTING_ID)
     * takes its old pipe over instead of being refused until that pipe dies, so
     * it stays the same peer and keeps its channel state. */
    zmq_setsockopt(router, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
    zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &max, sizeof max);
    return s_bind(router, "ingress", host, port);
}

void *rtm_sockets_egress(void *ctx, const char *host, int port, const rtm_tier_keys_t *keys,
                         rtm_zap_t *zap)
{
    void *xpub = s_secure(rtm_tier_socket(ctx, ZMQ_XPUB), "egress", keys, zap);
    if (!xpub)
        return NULL;
    /* XPUB's default at the high-water mark is to drop silently per pipe; with
     * NODROP the send fails with EAGAIN instead (we send with DONTWAIT), so
     * every drop is counted. The price: while one matching node's pipe is full
     * the event is refused for every node. The HWM is large so that only a
     * node that has stopped reading ever reaches it. */
    int one = 1, hwm = RTM_SOCKETS_EGRESS_HWM;
    zmq_setsockopt(xpub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(xpub, ZMQ_XPUB_NODROP, &one, sizeof one);
    return s_bind(xpub, "egress", host, port);
}

void *rtm_sockets_peers(void *ctx, const char *self, const rtm_tier_keys_t *keys)
{
    void *sub = rtm_tier_socket(ctx, ZMQ_SUB);
    if (!sub)
        return NULL;
    rtm_tier_secure_client(sub, keys);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN);
    char replica[RTM_WIRE_REPLICA_TOPIC_MAX]; /* what the owners of our successions send us */
    int len =
        rtm_wire_replica_topic(replica, sizeof replica, rtm_rendezvous_seed(rtm_str_cstr(self)));
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, replica, (size_t)len);
    return sub;
}

void rtm_sockets_peer(void *sub, const char *identity, bool on)
{
    char host[256], ep[320];
    int port;
    if (rtm_config_endpoint_port(identity, host, sizeof host, &port) < 0)
        return; /* lists are checked when parsed */
    snprintf(ep, sizeof ep, "tcp://%s:%d", host, port + 1);
    int rc = on ? zmq_connect(sub, ep) : zmq_disconnect(sub, ep);
    if (rc < 0)
        rtm_log(RTM_LOG_ERROR, "event=%s_failed broker=%s endpoint=%s error=\"%s\"",
                on ? "connect" : "disconnect", identity, ep, zmq_strerror(errno));
}
