/* peer_quota — see peer_quota.h. A uthash of {peer, entries}; an entry is
 * created by the first take and removed when its count returns to zero, so
 * the table holds exactly the peers with state. */
#include "peer_quota.h"

#include <assert.h>
#include <stdlib.h>
#include <uthash.h>

typedef struct {
    UT_hash_handle hh; /* in q->peers, keyed by peer */
    uint32_t peer;     /* peer number */
    uint32_t entries;  /* entries held, > 0 */
} s_peer_t;

struct rtm_peer_quota {
    s_peer_t *peers; /* uthash head */
    uint32_t max;    /* most entries per peer */
};

rtm_peer_quota_t *rtm_peer_quota_new(uint32_t max)
{
    rtm_peer_quota_t *q = calloc(1, sizeof *q);
    if (!q)
        abort();
    q->max = max;
    return q;
}

void rtm_peer_quota_destroy(rtm_peer_quota_t **q)
{
    if (!*q)
        return;
    s_peer_t *p, *tmp;
    HASH_ITER(hh, (*q)->peers, p, tmp)
    {
        HASH_DEL((*q)->peers, p);
        free(p);
    }
    free(*q);
    *q = NULL;
}

static s_peer_t *s_find(const rtm_peer_quota_t *q, uint32_t peer)
{
    s_peer_t *p = NULL;
    HASH_FIND(hh, q->peers, &peer, sizeof peer, p);
    return p;
}

bool rtm_peer_quota_take(rtm_peer_quota_t *q, uint32_t peer)
{
    s_peer_t *p = s_find(q, peer);
    if (p && p->entries >= q->max)
        return false;
    if (!p) {
        if (q->max == 0)
            return false;
        if (!(p = calloc(1, sizeof *p)))
            abort();
        p->peer = peer;
        HASH_ADD(hh, q->peers, peer, sizeof p->peer, p);
    }
    p->entries++;
    return true;
}

void rtm_peer_quota_release(rtm_peer_quota_t *q, uint32_t peer, size_t n)
{
    if (n == 0)
        return;
    s_peer_t *p = s_find(q, peer);
    assert(p && p->entries >= n);
    p->entries -= (uint32_t)n;
    if (p->entries == 0) {
        HASH_DEL(q->peers, p);
        free(p);
    }
}

uint32_t rtm_peer_quota_held(const rtm_peer_quota_t *q, uint32_t peer)
{
    const s_peer_t *p = s_find(q, peer);
    return p ? p->entries : 0;
}

size_t rtm_peer_quota_peers(const rtm_peer_quota_t *q)
{
    return HASH_COUNT(q->peers);
}
