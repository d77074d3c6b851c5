/* shard_view — which listed brokers this broker believes are live.
 *
 * Holds this broker's broker list (which can change at run time) and, per
 * listed peer, the SHARD_HB heartbeats it publishes on its egress; answers
 * "do I own app+channel right now" with rendezvous hashing over the
 * identities of the live listed brokers, the same rule every node applies.
 * A broker that is not in its own list owns nothing; a peer listed at run
 * time counts only RTM_WIRE_JOIN_MS after its first heartbeat, as on the
 * nodes. Peers whose heartbeats
 * carry a list digest other than ours are counted and logged: processes whose
 * lists disagree route differently. */
#ifndef RTM_SHARD_VIEW_H
#define RTM_SHARD_VIEW_H

#include "rtm_brokers.h"
#include "rtm_str.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rtm_shard_view rtm_shard_view_t;

/* A view for the broker whose identity is self (copied), with an empty list:
 * it owns nothing until a list naming it is set. Caller owns the result.
 * Aborts on OOM. */
rtm_shard_view_t *rtm_shard_view_new(const char *self);

/* Frees the view and sets *view to NULL. Safe on NULL. */
void rtm_shard_view_destroy(rtm_shard_view_t **view);

/* Replaces the list with *list (stolen: *list is left empty). Peers still
 * listed keep their liveness; added and removed brokers are logged. Returns
 * the number of brokers added plus removed (0: the same set). */
uint32_t rtm_shard_view_set_list(rtm_shard_view_t *view, rtm_brokers_t *list);

/* The current list; borrowed until the next rtm_shard_view_set_list. */
const rtm_brokers_t *rtm_shard_view_list(const rtm_shard_view_t *view);

/* Records a heartbeat of the broker named `broker` with its start epoch, its
 * list digest (0: not told) and the webhook events it held when it sent it,
 * received at now_ms (monotonic); unlisted says
 * the peer is not in its own list or is leaving (SHARD_HB shard
 * RTM_WIRE_UNLISTED): it is then not live, whatever our list says. Returns 0;
 * RTM_ENOTFOUND when broker is not listed here, RTM_EINVAL when it is this
 * broker's own identity (a misconfiguration); both are logged at most once
 * per 10 s. A peer coming up or restarting with a new epoch is logged, and so
 * is a digest that starts or stops differing from ours. */
int rtm_shard_view_heartbeat(rtm_shard_view_t *view, rtm_str_t broker, uint64_t epoch,
                             uint64_t digest, bool unlisted, uint64_t held, uint64_t now_ms);

/* Re-evaluates liveness at now_ms: a peer is live while its last heartbeat is
 * at most RTM_WIRE_DEAD_MS old. Logs peers that went down, with the webhook
 * events their last heartbeat said they held: those die with them. */
void rtm_shard_view_refresh(rtm_shard_view_t *view, uint64_t now_ms);

/* Whether this broker owns app+channel over the brokers live at now_ms
 * (refreshes first): false whenever this broker is not listed. */
bool rtm_shard_view_owns(rtm_shard_view_t *view, rtm_str_t app, rtm_str_t channel, uint64_t now_ms);

/* The live listed brokers in rendezvous order for app+channel at now_ms
 * (refreshes first), as indexes into rtm_shard_view_list: out[0] is the
 * owner, out[1] the successor (the owner if the owner goes). Writes at most k
 * and returns how many were written (0 only when this broker is unlisted and
 * no peer is live). */
uint32_t rtm_shard_view_ranked(rtm_shard_view_t *view, rtm_str_t app, rtm_str_t channel,
                               uint64_t now_ms, uint32_t *out, uint32_t k);

/* Is the listed broker whose rendezvous seed is `seed` live as of the last
 * refresh? False for a seed not in the list (and always for this broker when
 * it is unlisted). */
bool rtm_shard_view_is_live(const rtm_shard_view_t *view, uint64_t seed);

/* Webhook events held by peers when they were last heard of before going
 * silent, summed over every peer that went down since start — counted only
 * while this broker was the live listed one with the smallest rendezvous
 * seed, so that one survivor counts each loss. A lower bound: events queued
 * in a peer's last heartbeat period are not in it. */
uint64_t rtm_shard_view_webhooks_lost(const rtm_shard_view_t *view);

/* Number of live listed brokers as of the last refresh, this one included
 * when listed. */
uint32_t rtm_shard_view_live(const rtm_shard_view_t *view);

/* Listed peers heard at most RTM_WIRE_DEAD_MS before now_ms that do not say
 * they own nothing, whether or not they count as live yet (a peer back from a
 * restart counts only after its grace; nodes may route to it before). */
uint32_t rtm_shard_view_heard(const rtm_shard_view_t *view, uint64_t now_ms);

/* This broker's index in its list, or -1 when it is not listed. */
int rtm_shard_view_self_index(const rtm_shard_view_t *view);

/* Live peers whose last heartbeat carried a digest other than ours, and the
 * number of times a peer started disagreeing since start. */
uint32_t rtm_shard_view_mismatched(const rtm_shard_view_t *view);
uint64_t rtm_shard_view_mismatches(const rtm_shard_view_t *view);

/* A number that changes whenever the set of live listed brokers changes (a
 * peer up or down, the list changed), so a caller can tell that channel
 * ownership may have moved. Starts at 0. */
uint64_t rtm_shard_view_generation(const rtm_shard_view_t *view);

#endif
