/* rtm_addr_limit — see addr_limit.h. A uthash of addresses with a count,
 * behind one mutex. */
#include "addr_limit.h"

#include "rtm_error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef struct {
    UT_hash_handle hh;
    uint32_t count;   /* connections from this address */
    uint8_t len;      /* key bytes used */
    uint8_t addr[16]; /* key */
} s_entry_t;

struct rtm_addr_limit {
    pthread_mutex_t lock;
    uint32_t max_total, max_per_addr; /* 0: unlimited */
    uint32_t total;                   /* connections held */
    s_entry_t *by_addr;               /* only while max_per_addr is set */
};

rtm_addr_limit_t *rtm_addr_limit_new(uint32_t max_total, uint32_t max_per_addr)
{
    rtm_addr_limit_t *l = calloc(1, sizeof *l);
    if (!l)
        abort();
    pthread_mutex_init(&l->lock, NULL);
    l->max_total = max_total;
    l->max_per_addr = max_per_addr;
    return l;
}

void rtm_addr_limit_destroy(rtm_addr_limit_t **l)
{
    if (!*l)
        return;
    s_entry_t *e, *tmp;
    HASH_ITER(hh, (*l)->by_addr, e, tmp)
    {
        HASH_DEL((*l)->by_addr, e);
        free(e);
    }
    pthread_mutex_destroy(&(*l)->lock);
    free(*l);
    *l = NULL;
}

int rtm_addr_limit_take(rtm_addr_limit_t *l, const void *addr, size_t len)
{
    if (len > 16)
        len = 16;
    int rc = 0;
    pthread_mutex_lock(&l->lock);
    s_entry_t *e = NULL;
    if (l->max_per_addr)
        HASH_FIND(hh, l->by_addr, addr, len, e);
    if (l->max_total && l->total >= l->max_total) {
        rc = RTM_ETOOBIG;
    } else if (e && e->count >= l->max_per_addr) {
        rc = RTM_EAGAIN;
    } else {
        l->total++;
        if (l->max_per_addr && !e) {
            e = calloc(1, sizeof *e);
            if (!e)
                abort();
            e->len = (uint8_t)len;
            memcpy(e->addr, addr, len);
            HASH_ADD(hh, l->by_addr, addr[0], e->len, e);
        }
        if (e)
            e->count++;
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

void rtm_addr_limit_release(rtm_addr_limit_t *l, const void *addr, size_t len)
{
    if (len > 16)
        len = 16;
    pthread_mutex_lock(&l->lock);
    l->total--;
    s_entry_t *e = NULL;
    if (l->max_per_addr)
        HASH_FIND(hh, l->by_addr, addr, len, e);
    if (e && --e->count == 0) {
        HASH_DEL(l->by_addr, e);
        free(e);
    }
    pthread_mutex_unlock(&l->lock);
}

uint32_t rtm_addr_limit_total(rtm_addr_limit_t *l)
{
    pthread_mutex_lock(&l->lock);
    uint32_t n = l->total;
    pthread_mutex_unlock(&l->lock);
    return n;
}
