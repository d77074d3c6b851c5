/* rtm_tier — see rtm_tier.h. */
#include "rtm_tier.h"

#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_wire.h"
#include "rtm_zcurve.h"

#include <czmq.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

void *rtm_tier_socket(void *ctx, int type)
{
    void *s = zmq_socket(ctx, type);
    if (!s) {
        rtm_log(RTM_LOG_ERROR, "event=socket_failed error=\"%s\"", zmq_strerror(errno));
        return NULL;
    }
    const int ivl = RTM_WIRE_ZMQ_HB_IVL_MS, timeout = RTM_WIRE_ZMQ_HB_TIMEOUT_MS;
    const int idle = RTM_WIRE_TCP_KEEPALIVE_S, zero = 0, one = 1;
    const struct {
        int option;
        int value;
    } opts[] = {
        {ZMQ_LINGER, zero},       /* never hang on close */
        {ZMQ_IPV6, one},          /* accept [::1] endpoints too */
        {ZMQ_HEARTBEAT_IVL, ivl}, /* a vanished peer is dropped ... */
        {ZMQ_HEARTBEAT_TIMEOUT, timeout},
        {ZMQ_HEARTBEAT_TTL, timeout}, /* ... and redialled */
        {ZMQ_TCP_KEEPALIVE, one},
        {ZMQ_TCP_KEEPALIVE_IDLE, idle},
        {ZMQ_TCP_KEEPALIVE_INTVL, idle},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        zmq_setsockopt(s, opts[i].option, &opts[i].value, sizeof opts[i].value);
    return s;
}

int rtm_tier_send(void *sock, const rtm_wire_msg_t *msg)
{
    char stack[16384], *buf; /* most bodies: no allocation */
    int len = rtm_wire_encode_buf(msg, stack, sizeof stack, &buf);
    if (len < 0)
        return len;
    int rc = zmq_send(sock, buf, (size_t)len, ZMQ_DONTWAIT) < 0 ? -zmq_errno() : 0;
    if (buf != stack)
        free(buf);
    return rc;
}

bool rtm_tier_keys_on(const rtm_tier_keys_t *keys)
{
    return keys && keys->secret_key[0];
}

int rtm_tier_keys_binary(const rtm_tier_keys_t *keys, uint8_t server[32], uint8_t public_key[32],
                         uint8_t secret[32])
{
    if (!rtm_tier_keys_on(keys))
        return 0;
    if (rtm_zcurve_key_z85(keys->server_key, server) < 0 ||
        rtm_zcurve_key_z85(keys->public_key, public_key) < 0 ||
        rtm_zcurve_key_z85(keys->secret_key, secret) < 0)
        return RTM_EINVAL;
    return 1;
}

/* zcert_load of path, or NULL when it is missing or holds no public key.
 * zcert_load tries "<path>_secret" first, so a public certificate's path
 * loads its secret twin when one lies beside it: that is why the secret
 * check below asks for a secret key explicitly. */
static zcert_t *s_load(const char *path)
{
    if (access(path, R_OK) != 0)
        return NULL;
    return zcert_load(path);
}

static bool s_has_secret(zcert_t *cert)
{
    static const byte zero[32];
    return memcmp(zcert_secret_key(cert), zero, sizeof zero) != 0;
}

int rtm_tier_keys_load(rtm_tier_keys_t *keys, const char *secret_path, const char *secret_flag,
                       const char *broker_path, const char *broker_flag, bool broker_required,
                       char *err, size_t err_len)
{
    memset(keys, 0, sizeof *keys);
    bool secret = secret_path && *secret_path, broker = broker_path && *broker_path;
    if (!secret && broker)
        return rtm_error_fmt(err, err_len, RTM_EINVAL, "%s: required with %s", secret_flag,
                             broker_flag);
    if (!secret)
        return 0;
    zcert_t *own = s_load(secret_path);
    if (!own || !s_has_secret(own)) {
        zcert_destroy(&own);
        return rtm_error_fmt(err, err_len, RTM_EINVAL,
                             "%s: %s is not a secret certificate (rtmesh keygen writes PATH and "
                             "PATH_secret: give PATH_secret)",
                             secret_flag, secret_path);
    }
    snprintf(keys->public_key, sizeof keys->public_key, "%s", zcert_public_txt(own));
    snprintf(keys->secret_key, sizeof keys->secret_key, "%s", zcert_secret_txt(own));
    snprintf(keys->server_key, sizeof keys->server_key, "%s", zcert_public_txt(own));
    zcert_destroy(&own);
    if (broker_required && !broker) {
        memset(keys, 0, sizeof *keys);
        return rtm_error_fmt(err, err_len, RTM_EINVAL, "%s: required with %s", broker_flag,
                             secret_flag);
    }
    if (broker) {
        zcert_t *srv = s_load(broker_path);
        if (!srv) {
            memset(keys, 0, sizeof *keys);
            return rtm_error_fmt(err, err_len, RTM_EINVAL, "%s: %s is not a certificate",
                                 broker_flag, broker_path);
        }
        snprintf(keys->server_key, sizeof keys->server_key, "%s", zcert_public_txt(srv));
        zcert_destroy(&srv);
    }
    return 0;
}

void rtm_tier_secure_client(void *sock, const rtm_tier_keys_t *keys)
{
    if (!rtm_tier_keys_on(keys))
        return;
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, keys->server_key, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, keys->public_key, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, keys->secret_key, 40);
}
