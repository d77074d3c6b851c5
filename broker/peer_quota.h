/* peer_quota — how many entries of channel state each node worker holds,
 * against one cap for all of them.
 *
 * An entry is one subscription count or one presence connection. The cap
 * keeps a single runaway or hostile peer from filling the shard's memory;
 * the others are unaffected. A peer holding nothing takes no memory. Pure. */
#ifndef RTM_PEER_QUOTA_H
#define RTM_PEER_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rtm_peer_quota rtm_peer_quota_t;

/* An empty quota allowing max entries per peer; caller owns it. Aborts on OOM. */
rtm_peer_quota_t *rtm_peer_quota_new(uint32_t max);

/* Frees the quota and sets *q to NULL. Safe on NULL. */
void rtm_peer_quota_destroy(rtm_peer_quota_t **q);

/* Takes one entry for peer: true, or false when it already holds max. */
bool rtm_peer_quota_take(rtm_peer_quota_t *q, uint32_t peer);

/* Gives back n entries of peer, which must hold them (asserted). */
void rtm_peer_quota_release(rtm_peer_quota_t *q, uint32_t peer, size_t n);

/* Entries peer holds now. */
uint32_t rtm_peer_quota_held(const rtm_peer_quota_t *q, uint32_t peer);

/* Number of peers holding at least one entry. */
size_t rtm_peer_quota_peers(const rtm_peer_quota_t *q);

#endif
