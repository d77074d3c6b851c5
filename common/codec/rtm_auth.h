/* rtm_auth — Pusher signatures: HMAC-SHA256 hex, MD5 hex, constant-time
 * compare, and the channel / user (sign-in) auth checks.
 *
 * Every signature is lower-case hex HMAC-SHA256 keyed with the app secret;
 * an auth string is "<app_key>:<hex signature>". Checks sign the exact bytes
 * the client sent (never a re-serialisation) and compare in constant time. */
#ifndef RTM_AUTH_H
#define RTM_AUTH_H

#include "rtm_str.h"

#include <stdbool.h>

/* out = lower-case hex HMAC-SHA256(key, msg), NUL-terminated (64 + 1 bytes). */
void rtm_hmac_sha256_hex(rtm_str_t key, rtm_str_t msg, char out[65]);

/* out = lower-case hex MD5(data), NUL-terminated (32 + 1 bytes). */
void rtm_md5_hex(rtm_str_t data, char out[33]);

/* True when a and b hold the same bytes. The time taken depends on the
 * lengths only, never on the content (CRYPTO_memcmp); different lengths are
 * simply unequal. */
bool rtm_consttime_eq(rtm_str_t a, rtm_str_t b);

/* Channel subscription auth (private, encrypted, presence): 0 when auth is
 * "<app_key>:<HMAC-SHA256-hex(secret, socket_id:channel[:channel_data])>",
 * the third part present iff channel_data.len > 0; RTM_EAUTH otherwise. */
int rtm_auth_check_channel(rtm_str_t app_key, rtm_str_t secret, rtm_str_t socket_id,
                           rtm_str_t channel, rtm_str_t channel_data, rtm_str_t auth);

/* User authentication (pusher:signin): 0 when auth is
 * "<app_key>:<HMAC-SHA256-hex(secret, socket_id::user::user_data)>";
 * RTM_EAUTH otherwise. */
int rtm_auth_check_user(rtm_str_t app_key, rtm_str_t secret, rtm_str_t socket_id,
                        rtm_str_t user_data, rtm_str_t auth);

#endif
