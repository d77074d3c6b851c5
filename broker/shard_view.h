/* shard_view — which broker shards this broker believes are live.
 *
 * Fed by the SHARD_HB heartbeats that peer shards publish on their egress;
 * answers "who owns app+channel right now" with rendezvous hashing over the
 * live shards, the same rule every node applies. */
#ifndef RTM_SHARD_VIEW_H
#define RTM_SHARD_VIEW_H

#include "rtm_str.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rtm_shard_view rtm_shard_view_t;

/* A view of n shards of which `self` is this broker (always live); every peer
 * starts dead until its first heartbeat. Caller owns the result. Aborts on OOM. */
rtm_shard_view_t *rtm_shard_view_new(uint32_t self, uint32_t n);

/* Frees the view and sets *view to NULL. Safe on NULL. */
void rtm_shard_view_destroy(rtm_shard_view_t **view);

/* Records a heartbeat of `shard` with its start epoch and the webhook events
 * it held when it sent it, received at now_ms (monotonic). Returns 0; RTM_EINVAL when shard is out
 * of range or is this broker's own index (a misconfiguration, logged at most once per 10 s). A
 * shard coming up, or restarting with a new epoch, is logged. */
int rtm_shard_view_heartbeat(rtm_shard_view_t *view, uint32_t shard, uint64_t epoch, uint64_t held,
                             uint64_t now_ms);

/* Re-evaluates liveness at now_ms: a peer is live while its last heartbeat is
 * at most RTM_WIRE_DEAD_MS old. Logs peers that went down, with the webhook
 * events their last heartbeat said they held: those die with them. */
void rtm_shard_view_refresh(rtm_shard_view_t *view, uint64_t now_ms);

/* Owner of app+channel over the shards live at now_ms (refreshes first).
 * Always a valid index, since this broker itself is live. */
int rtm_shard_view_owner(rtm_shard_view_t *view, rtm_str_t app, rtm_str_t channel, uint64_t now_ms);

/* Owner of app+channel over the shards live at now_ms other than this one:
 * the shard that takes the channel over if this one dies. -1 when this
 * shard is alone. */
int rtm_shard_view_successor(rtm_shard_view_t *view, rtm_str_t app, rtm_str_t channel,
                             uint64_t now_ms);

/* Is shard live as of the last refresh? False for an index out of range. */
bool rtm_shard_view_is_live(const rtm_shard_view_t *view, uint32_t shard);

/* Webhook events held by peers when they were last heard of before going
 * down, summed over every peer that went down since start — counted only
 * while this shard was the lowest-numbered live one, so that one survivor
 * counts each loss. A lower bound: events queued in a peer's last heartbeat
 * period are not in it. */
uint64_t rtm_shard_view_webhooks_lost(const rtm_shard_view_t *view);

/* Number of live shards as of the last refresh, this one included. */
uint32_t rtm_shard_view_live(const rtm_shard_view_t *view);

/* A number that changes whenever the set of live shards changes (a shard up
 * or down as seen by a heartbeat or a refresh), so a caller can tell that
 * channel ownership may have moved. Starts at 0. */
uint64_t rtm_shard_view_generation(const rtm_shard_view_t *view);

#endif
