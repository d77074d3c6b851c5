/* member_set — the members of one presence channel, as the owning shard
 * holds them.
 *
 * Pusher keys presence members by user id, not by connection: a user is a
 * member while at least one of its connections is subscribed, and keeps the
 * user_info of its first connection until it has none left. So a member here
 * is {user_id, user_info, connections}, a connection being (peer number,
 * socket id) — the node worker that holds it and the Pusher socket id. The
 * set knows nothing of topics, peers' liveness or limits other than the
 * member limit it is given; channel_state does the accounting. Pure: no I/O. */
#ifndef RTM_MEMBER_SET_H
#define RTM_MEMBER_SET_H

#include "rtm_str.h"
#include "rtm_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_MEMBER_SID_MAX 63 /* longest socket id stored (they are ~20 bytes) */

typedef struct rtm_member_set rtm_member_set_t;

/* A member as the set hands it out: {user_id, user_info, user_num}, valid
 * for the call only. */
typedef void (*rtm_member_each_fn)(void *ctx, const rtm_wire_member_t *member);

/* Called for a user that has lost its last connection, before it is freed. */
typedef rtm_member_each_fn rtm_member_gone_fn;

/* An empty set; caller owns it. Aborts on OOM. */
rtm_member_set_t *rtm_member_set_new(void);

/* Frees the set and every member, and sets *set to NULL. Safe on NULL. */
void rtm_member_set_destroy(rtm_member_set_t **set);

/* Adds connection (peer, socket_id) of member->user_id. The id must be
 * non-empty and socket_id 1..RTM_MEMBER_SID_MAX bytes (the caller validated
 * both; asserted). user_info and user_num are copied and kept only when the
 * user is new (Pusher keeps the first connection's).
 * Returns 1 when the user is new (the connection is its first), 0 when the
 * user was present (the connection is added, or changes nothing when held
 * already: see rtm_member_set_has), RTM_ETOOBIG when the user is new and the
 * set already holds max_users users (nothing changes). Aborts on OOM. */
int rtm_member_set_join(rtm_member_set_t *set, uint32_t peer, const rtm_wire_member_t *member,
                        rtm_str_t socket_id, uint32_t max_users);

/* True when the set holds connection (peer, socket_id) of user_id. */
bool rtm_member_set_has(const rtm_member_set_t *set, uint32_t peer, rtm_str_t user_id,
                        rtm_str_t socket_id);

/* True when user_id is a member (has any connection). */
bool rtm_member_set_has_user(const rtm_member_set_t *set, rtm_str_t user_id);

/* Removes connection (peer, socket_id) of user_id. Returns 1 when that was
 * the user's last connection (gone(ctx, member) is called, gone may be NULL,
 * then the user is removed), 0 when the user still has others, RTM_ENOTFOUND
 * when there is no such connection. */
int rtm_member_set_leave(rtm_member_set_t *set, uint32_t peer, rtm_str_t user_id,
                         rtm_str_t socket_id, rtm_member_gone_fn gone, void *ctx);

/* Removes every connection of peer; calls gone(ctx, member) (gone may be
 * NULL) for each user left with none, then removes that user. Returns the
 * number of connections removed. */
size_t rtm_member_set_drop_peer(rtm_member_set_t *set, uint32_t peer, rtm_member_gone_fn gone,
                                void *ctx);

/* Calls each(ctx, peer) once per connection (so a peer with k connections is
 * reported k times), for releasing per-peer accounting before destroy. */
void rtm_member_set_each_conn(const rtm_member_set_t *set, void (*each)(void *ctx, uint32_t peer),
                              void *ctx);

/* Calls each(ctx, member) for every member, in no particular order. The set must not change during
 * the walk. */
void rtm_member_set_each(const rtm_member_set_t *set, rtm_member_each_fn each, void *ctx);

/* Number of distinct users. */
uint32_t rtm_member_set_users(const rtm_member_set_t *set);

/* Number of connections over all users. */
size_t rtm_member_set_conns(const rtm_member_set_t *set);

/* Heap bytes the set holds (members, their texts and connection arrays),
 * for the broker's memory guard. */
size_t rtm_member_set_bytes(const rtm_member_set_t *set);

#endif
