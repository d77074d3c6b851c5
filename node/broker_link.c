/* rtm_broker_link — see broker_link.h. */
#include "broker_link.h"

#define S_MAX_FRAME (64u << 20) /* bigger frames from a broker close the link */
#define S_MAX_OUT   (16u << 20) /* bytes queued toward one broker before refusing */

int rtm_broker_keys_load(rtm_broker_keys_t *k, const rtm_tier_keys_t *keys)
{
    int rc = rtm_tier_keys_binary(keys, k->server_key, k->public_key, k->secret_key);
    k->curve = rc > 0;
    return rc < 0 ? rc : 0;
}

rtm_zlink_opts_t rtm_broker_link_opts(const rtm_broker_keys_t *k, const char *socket_type,
                                      const char *identity)
{
    rtm_zlink_opts_t o = {.socket_type = socket_type,
                          .identity = identity,
                          .max_frame = S_MAX_FRAME,
                          .max_out = S_MAX_OUT};
    if (k->curve) {
        o.server_key = k->server_key;
        o.public_key = k->public_key;
        o.secret_key = k->secret_key;
    }
    return o;
}
