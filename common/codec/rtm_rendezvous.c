/* rtm_rendezvous — see rtm_rendezvous.h.
 *
 * The key hashed is "<app>\x1F<channel>", the same separator the egress topic
 * uses, so an app id can never be confused with a channel prefix. Ties go to
 * the lower seed, so the order is total whatever order the list is in (two
 * brokers with one seed would be one identity: lists refuse duplicates). */
#include "rtm_rendezvous.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t rtm_rendezvous_seed(rtm_str_t identity)
{
    return XXH3_64bits(identity.p, identity.len);
}

uint64_t rtm_rendezvous_weight(rtm_str_t app, rtm_str_t channel, uint64_t seed)
{
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    XXH3_64bits_reset_withSeed(&st, seed);
    XXH3_64bits_update(&st, app.p, app.len);
    XXH3_64bits_update(&st, "\x1F", 1);
    XXH3_64bits_update(&st, channel.p, channel.len);
    return XXH3_64bits_digest(&st);
}

/* Whether (w, seed) ranks above (best_w, best_seed). */
static bool s_above(uint64_t w, uint64_t seed, uint64_t best_w, uint64_t best_seed)
{
    return w > best_w || (w == best_w && seed < best_seed);
}

int rtm_rendezvous_owner(rtm_str_t app, rtm_str_t channel, const uint64_t *seeds, const bool *alive,
                         uint32_t n)
{
    uint32_t best;
    return rtm_rendezvous_ranked(app, channel, seeds, alive, n, &best, 1) ? (int)best : -1;
}

uint32_t rtm_rendezvous_ranked(rtm_str_t app, rtm_str_t channel, const uint64_t *seeds,
                               const bool *alive, uint32_t n, uint32_t *out, uint32_t k)
{
    /* insertion into out[], kept sorted best first; k is 1 or 2 in practice,
     * so the weights of out[] are recomputed rather than stored */
    uint32_t got = 0;
    for (uint32_t i = 0; i < n && k; i++) {
        if (alive && !alive[i])
            continue;
        uint64_t w = rtm_rendezvous_weight(app, channel, seeds[i]);
        uint32_t at = got;
        while (at > 0 &&
               s_above(w, seeds[i], rtm_rendezvous_weight(app, channel, seeds[out[at - 1]]),
                       seeds[out[at - 1]]))
            at--;
        if (at >= k)
            continue;
        for (uint32_t j = got < k ? got : k - 1; j > at; j--)
            out[j] = out[j - 1];
        out[at] = i;
        if (got < k)
            got++;
    }
    return got;
}
