/* rtm_presence — who a connection is on a presence channel, and the worker's
 * mirror of a presence channel's mesh-wide membership.
 *
 * Membership belongs to the owning shard; a worker mirrors it per channel from
 * the SYNC snapshot and the MEMBER messages that follow on the channel topic,
 * so it can answer a new local subscriber with the whole member list without a
 * round trip. Members are keyed by user id: one user with several connections
 * is one member. */
#ifndef RTM_PRESENCE_H
#define RTM_PRESENCE_H

#include "channels.h"
#include "rtm_str.h"
#include "rtm_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rtm_join rtm_join_t;

struct rtm_presence {
    rtm_join_t *join; /* PRESENCE_JOIN awaiting its ACK, or NULL */
    char *user_info;  /* compact JSON text, or NULL */
    uint32_t info_len;
    uint16_t id_len;
    char user_id[]; /* NUL-terminated */
};

struct rtm_member {
    UT_hash_handle hh;
    char *info; /* compact JSON text, or NULL */
    uint32_t info_len;
    uint16_t id_len;
    char id[]; /* key */
};

/* Reads a presence subscription's channel_data: a JSON object with user_id (a
 * string or a number) and optional user_info. Returns 0 with *out (caller
 * owns; free with rtm_presence_free), RTM_EINVAL when malformed or the id is
 * empty or longer than 128 bytes, RTM_ETOOBIG when user_info is longer than
 * max_info bytes. */
int rtm_presence_parse(rtm_str_t channel_data, size_t max_info, rtm_presence_t **out);
void rtm_presence_free(rtm_presence_t **p);

/* The identity a connection signs in with: user_data is a JSON object with a
 * string "id" and optional user_info (shared with presence channels the user
 * joins without channel_data). Same returns, no size limit. */
int rtm_presence_parse_user(rtm_str_t user_data, rtm_presence_t **out);

/* A copy of p (caller owns; its join is not copied). */
rtm_presence_t *rtm_presence_copy(const rtm_presence_t *p);

/* Mirror maintenance. reset replaces the members with a SYNC's snapshot;
 * apply returns whether the membership changed (a shard that took a channel
 * over re-announces members the mirror already has). */
void rtm_presence_mirror_reset(rtm_channel_t *ch, const rtm_wire_msg_t *sync);
bool rtm_presence_mirror_apply(rtm_channel_t *ch, rtm_str_t user_id, rtm_str_t info, bool added);
void rtm_presence_mirror_clear(rtm_channel_t *ch);

/* The client JSON of pusher_internal:subscription_succeeded for ch with the
 * mirrored members plus self. Newly allocated (*len bytes); caller frees. */
char *rtm_presence_succeeded_json(const rtm_channel_t *ch, const rtm_presence_t *self, size_t *len);

/* The client JSON of pusher_internal:member_added / member_removed. */
char *rtm_presence_member_json(rtm_str_t channel, bool added, rtm_str_t user_id, rtm_str_t info,
                               size_t *len);

#endif
