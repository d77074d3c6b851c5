/* rtm_presence — who a connection is on presence channels, and the Pusher
 * messages that carry presence membership to clients.
 *
 * An identity is a user id plus optional user_info (compact JSON text). A
 * user id is known by its string form (1 and "1" are one user), but the app
 * may have given it as a JSON integer (Laravel does): id_num remembers that,
 * so every payload hands the id back with the type the app gave it. It
 * comes from a presence subscription's channel_data or from the user_data a
 * connection signs in with. The renders write the exact client text of
 * pusher_internal:subscription_succeeded (with the member list) and of
 * member_added / member_removed; the member list is read through a walk the
 * caller provides, so any member store can be rendered without copying. */
#ifndef RTM_PRESENCE_H
#define RTM_PRESENCE_H

#include "rtm_json.h"
#include "rtm_str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *user_info; /* compact JSON text, or NULL */
    uint32_t info_len;
    uint16_t id_len;
    bool id_num;    /* the app gave the id as a JSON integer (user_id is its decimal form) */
    char user_id[]; /* NUL-terminated; at most RTM_PUSHER_MAX_USER_ID bytes */
} rtm_presence_t;

/* Reads a presence subscription's channel_data: a JSON object with user_id (a
 * string or an integer) and optional user_info (null: none). Returns 0 with *out (caller
 * owns; free with rtm_presence_free); RTM_EINVAL when malformed, or the id is
 * empty, holds a NUL or is longer than RTM_PUSHER_MAX_USER_ID bytes;
 * RTM_ETOOBIG when user_info is longer than max_info bytes. *out is NULL on
 * error. */
int rtm_presence_parse(rtm_str_t channel_data, size_t max_info, rtm_presence_t **out);

/* The identity a connection signs in with: user_data is a JSON object with an
 * "id" (a string or an integer) and optional user_info. Same returns, no size
 * limit. */
int rtm_presence_parse_user(rtm_str_t user_data, rtm_presence_t **out);

/* Most user ids one connection watches (Pusher's limit; error 4302 beyond). */
#define RTM_WATCHLIST_MAX 100

/* The "watchlist" of sign-in user_data: the first RTM_WATCHLIST_MAX user ids
 * it names (strings, or integers in their decimal form; empty, over-long or
 * other entries are skipped), as NUL-terminated strings in *ids (caller
 * frees each and the array; NULL when none) and their number in *n. Returns
 * how many entries the list had (more than RTM_WATCHLIST_MAX: the rest were
 * dropped); 0 when user_data has no watchlist, or one that is null or not an
 * array. */
size_t rtm_presence_parse_watchlist(rtm_str_t user_data, char ***ids, size_t *n);

/* pusher_internal:watchlist_events telling that user_id came online (or went
 * offline): {"events":[{"name":"online","user_ids":["<id>"]}]}, data
 * string-encoded, no channel. Newly allocated (*len bytes, caller frees). */
char *rtm_presence_render_watchlist_event(bool online, rtm_str_t user_id, size_t *len);

/* A copy of p (caller owns). */
rtm_presence_t *rtm_presence_copy(const rtm_presence_t *p);

/* Frees *p and sets it to NULL. Safe on NULL. */
void rtm_presence_free(rtm_presence_t **p);

static inline rtm_str_t rtm_presence_id(const rtm_presence_t *p)
{
    return rtm_str(p->user_id, p->id_len);
}

static inline rtm_str_t rtm_presence_info(const rtm_presence_t *p)
{
    return rtm_str(p->user_info, p->info_len);
}

/* Appends user_id as the app gave it: its decimal text when id_num (a JSON
 * integer), else a JSON string. */
void rtm_presence_put_id(rtm_json_out_t *w, rtm_str_t user_id, bool id_num);

/* A member list to render: each(set, visit, arg) calls visit(arg, id, id_num,
 * info) once per member (info empty: none), in a stable order; it is called
 * twice per render (size, then write) and must visit the same members both
 * times. */
typedef void (*rtm_presence_visit_fn)(void *arg, rtm_str_t user_id, bool id_num,
                                      rtm_str_t user_info);
typedef void (*rtm_presence_each_fn)(const void *set, rtm_presence_visit_fn visit, void *arg);

/* pusher_internal:subscription_succeeded of a presence channel: the members
 * of set plus self (listed first; a member of set with self's id is skipped,
 * since one user with several connections is one member). "ids" hands each id
 * back with its type; "hash" keys are JSON strings, as keys must be. Newly
 * allocated (*len bytes, caller frees). */
char *rtm_presence_render_succeeded(rtm_str_t channel, const rtm_presence_t *self,
                                    rtm_presence_each_fn each, const void *set, size_t *len);

/* pusher_internal:member_added (with user_info, null when empty) or
 * member_removed (user_id only, as rtm_presence_put_id writes it). Newly
 * allocated (*len bytes, caller frees). */
char *rtm_presence_render_member(rtm_str_t channel, bool added, rtm_str_t user_id, bool id_num,
                                 rtm_str_t user_info, size_t *len);

#endif
