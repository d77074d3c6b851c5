/* rtm_rendezvous — see rtm_rendezvous.h.
 *
 * The key hashed is "<app>\x1F<channel>", the same separator the egress topic
 * uses, so an app id can never be confused with a channel prefix. Ties (one in
 * 2^64) go to the lower shard index so the answer is total. */
#include "rtm_rendezvous.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t rtm_rendezvous_weight(rtm_str_t app, rtm_str_t channel, uint32_t shard)
{
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    XXH3_64bits_reset_withSeed(&st, shard);
    XXH3_64bits_update(&st, app.p, app.len);
    XXH3_64bits_update(&st, "\x1F", 1);
    XXH3_64bits_update(&st, channel.p, channel.len);
    return XXH3_64bits_digest(&st);
}

int rtm_rendezvous_owner(rtm_str_t app, rtm_str_t channel, const bool *alive, uint32_t n)
{
    int best = -1;
    uint64_t best_weight = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (alive && !alive[i])
            continue;
        uint64_t w = rtm_rendezvous_weight(app, channel, i);
        if (best < 0 || w > best_weight) {
            best = (int)i;
            best_weight = w;
        }
    }
    return best;
}
