/* rtm_rendezvous — which broker shard owns a channel.
 *
 * Rendezvous (highest-random-weight) hashing of app_id + channel over the live
 * shards: every node computes the same owner with no coordination, and losing
 * or adding a shard moves only that shard's share of channels. The weight is
 * XXH3-64 seeded with the shard index, so it is stable across machines and
 * versions: the shard map depends on it never changing. */
#ifndef RTM_RENDEZVOUS_H
#define RTM_RENDEZVOUS_H

#include "rtm_str.h"

#include <stdbool.h>
#include <stdint.h>

/* Weight of shard `shard` for the channel; the owner has the highest. */
uint64_t rtm_rendezvous_weight(rtm_str_t app, rtm_str_t channel, uint32_t shard);

/* Index in [0, n) of the live shard (alive[i] true) with the highest weight,
 * or -1 when no shard is alive. alive may be NULL: every shard is live. */
int rtm_rendezvous_owner(rtm_str_t app, rtm_str_t channel, const bool *alive, uint32_t n);

#endif
