/* rtm_member_mirror — a worker's copy of one presence channel's mesh-wide
 * membership.
 *
 * Membership belongs to the channel's owning shard; a worker mirrors it from
 * the SYNC snapshot and the MEMBER messages that follow on the channel topic,
 * so it can answer a new local subscriber with the whole member list without
 * a round trip. Members are keyed by user id: one user with several
 * connections is one member. Pure: no I/O, no clock. */
#ifndef RTM_MEMBER_MIRROR_H
#define RTM_MEMBER_MIRROR_H

#include "rtm_presence.h"
#include "rtm_str.h"
#include "rtm_wire.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rtm_mirror_member rtm_mirror_member_t;

typedef struct {
    rtm_mirror_member_t *members; /* uthash by user id */
    uint32_t n;                   /* distinct members */
} rtm_member_mirror_t;

/* Adds (added) or removes a member. Returns whether the membership changed:
 * a shard that took a channel over re-announces members the mirror already
 * has. An id that is empty or over RTM_PUSHER_MAX_USER_ID bytes is never
 * added. id_num: the app gave the id as a JSON integer (kept with a new
 * member). info is copied. */
bool rtm_member_mirror_apply(rtm_member_mirror_t *m, rtm_str_t user_id, bool id_num, rtm_str_t info,
                             bool added);

/* A member that a reset added or removed (strings borrowed for the call). */
typedef void (*rtm_member_change_fn)(void *arg, rtm_str_t user_id, bool id_num, rtm_str_t info,
                                     bool added);

/* Replaces the members with those of a decoded SYNC and, unless changed is
 * NULL, calls changed(arg, ...) for every member that went (first) or came
 * (then, in the SYNC's order), by user id. */
void rtm_member_mirror_reset(rtm_member_mirror_t *m, const rtm_wire_msg_t *sync,
                             rtm_member_change_fn changed, void *arg);

/* Removes every member. */
void rtm_member_mirror_clear(rtm_member_mirror_t *m);

/* Visits every member in insertion order (an rtm_presence_each_fn for the
 * renders in rtm_presence.h; set is the mirror). */
void rtm_member_mirror_each(const void *set, rtm_presence_visit_fn visit, void *arg);

#endif
