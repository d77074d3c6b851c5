/* rtm_rendezvous — which broker owns a channel.
 *
 * Rendezvous (highest-random-weight) hashing of app_id + channel over the
 * live listed brokers: every node and broker computes the same owner with no
 * coordination, and adding or removing a broker moves only that broker's
 * share of channels. A broker enters the hash by its identity (a stable name:
 * the ingress endpoint as listed, e.g. "tcp://broker-0.brokers:7000"), never
 * by its position in a list, so lists in different orders and lists that grow
 * or shrink agree on every channel that did not move. The weight is XXH3-64 of
 * the key seeded with XXH3-64 of the identity, so it is stable across machines
 * and versions: the channel map depends on it never changing.
 *
 * The ranked variant orders the brokers by weight, owner first: the runner-up
 * is the broker that becomes the owner if the owner goes, i.e. the channel's
 * successor. */
#ifndef RTM_RENDEZVOUS_H
#define RTM_RENDEZVOUS_H

#include "rtm_str.h"

#include <stdbool.h>
#include <stdint.h>

/* The seed of a broker identity (computed once per broker and kept). */
uint64_t rtm_rendezvous_seed(rtm_str_t identity);

/* Weight of the broker with seed `seed` for the channel; the owner has the
 * highest. */
uint64_t rtm_rendezvous_weight(rtm_str_t app, rtm_str_t channel, uint64_t seed);

/* Index in [0, n) of the live broker (alive[i] true) with the highest weight,
 * or -1 when none is live. seeds[i] is broker i's seed; alive may be NULL:
 * every broker is live. Equal weights (one in 2^64) go to the lower seed, so
 * the answer does not depend on the order of the list. */
int rtm_rendezvous_owner(rtm_str_t app, rtm_str_t channel, const uint64_t *seeds, const bool *alive,
                         uint32_t n);

/* Writes the indexes of the live brokers with the k highest weights into
 * out[0..k), best first (out[0] is the owner, out[1] the successor), with the
 * owner's tie rule. Returns how many were written: min(k, live brokers). */
uint32_t rtm_rendezvous_ranked(rtm_str_t app, rtm_str_t channel, const uint64_t *seeds,
                               const bool *alive, uint32_t n, uint32_t *out, uint32_t k);

#endif
