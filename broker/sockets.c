/* sockets — see sockets.h. Creating the socket fails only for lack of file
 * descriptors or memory: a start-up error the broker reports and exits on. */
#include "sockets.h"

#include "rtm_config.h"
#include "rtm_log.h"
#include "rtm_rendezvous.h"
#include "rtm_wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <zmq.h>

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
