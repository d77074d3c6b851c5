/* queries — the JSON answers to QUERY messages (REST channel queries).
 *
 * The node scatters a channel-list query to every shard and joins the
 * fragments; a channel or users query goes to the channel's owner only.
 * Answers are rendered from channel_state's read API with rtm_json_out (every
 * name and id escaped), so the node forwards them without re-encoding.
 * docs/wire.md §8 gives the exact shapes. Pure: no I/O. */
#ifndef RTM_QUERIES_H
#define RTM_QUERIES_H

#include "channel_state.h"
#include "rtm_wire.h"

#include <stddef.h>
#include <stdint.h>

/* Answers query q (a decoded QUERY) from cs at now_ms; owns(ctx, app,
 * channel) says which channels this shard owns. On 0, *json is a malloc'd
 * text of *len bytes that the caller frees — for kind 1 it may be empty
 * (*json NULL, *len 0: no matching channel here). Errors (*json NULL):
 *   RTM_EINVAL    unknown kind; invalid app or channel; kinds 2, 3 without a
 *                 channel; kind 3 on a channel that is not a presence channel;
 *   RTM_ENOTOWNER kinds 2, 3 for a channel this shard does not own;
 *   RTM_ETOOBIG   the answer would pass INT_MAX bytes.
 * q's "info" is the REST comma list; tokens other than user_count,
 * subscription_count and cache are ignored. Aborts on OOM. */
int rtm_queries_answer(const rtm_channel_state_t *cs, const rtm_wire_msg_t *q, uint64_t now_ms,
                       rtm_channel_owns_fn owns, void *ctx, char **json, size_t *len);

/* The "info" of a PUBLISH of app (what a trigger with info answers, as
 * Pusher defines it): a JSON array with one object per channel of publish,
 * in its order — "user_count" (distinct users) for a presence channel when
 * asked, "subscription_count" (connections, mesh-wide) for any other channel
 * when asked and app has subscription_count on; {} when neither applies.
 * Returns the text (caller frees; never NULL) with its length in *len.
 * Aborts on OOM. */
char *rtm_queries_publish_info(const rtm_channel_state_t *cs, const rtm_app_t *app,
                               const rtm_wire_msg_t *publish, uint64_t now_ms, size_t *len);

#endif
