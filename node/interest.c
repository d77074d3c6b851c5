/* rtm_interest — see interest.h. A uthash of topics, each with the bit set
 * of its workers; a topic whose set empties is freed at once, so the table
 * holds exactly the topics subscribed at the brokers. */
#include "interest.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef struct {
    UT_hash_handle hh;
    uint64_t workers; /* bit i: worker i wants the topic; never 0 in the table */
    size_t len;
    char topic[]; /* the key */
} s_topic_t;

struct rtm_interest {
    s_topic_t *topics; /* uthash by topic */
};

rtm_interest_t *rtm_interest_new(void)
{
    rtm_interest_t *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    return t;
}

void rtm_interest_destroy(rtm_interest_t **tp)
{
    rtm_interest_t *t = *tp;
    if (!t)
        return;
    s_topic_t *e, *tmp;
    HASH_ITER(hh, t->topics, e, tmp)
    {
        HASH_DEL(t->topics, e);
        free(e);
    }
    free(t);
    *tp = NULL;
}

static s_topic_t *s_find(const rtm_interest_t *t, rtm_str_t topic)
{
    s_topic_t *e;
    HASH_FIND(hh, t->topics, topic.p, topic.len, e);
    return e;
}

bool rtm_interest_set(rtm_interest_t *t, rtm_str_t topic, unsigned worker, bool on)
{
    assert(worker < RTM_INTEREST_MAX_WORKERS);
    uint64_t bit = UINT64_C(1) << worker;
    s_topic_t *e = s_find(t, topic);
    if (on && !e) {
        if (!(e = malloc(sizeof *e + topic.len)))
            abort();
        *e = (s_topic_t){.workers = bit, .len = topic.len};
        memcpy(e->topic, topic.p, topic.len);
        HASH_ADD(hh, t->topics, topic, topic.len, e);
        return true;
    }
    if (on) {
        e->workers |= bit;
        return false;
    }
    if (!e || !(e->workers & bit))
        return false;
    if ((e->workers &= ~bit))
        return false;
    HASH_DEL(t->topics, e);
    free(e);
    return true;
}

uint64_t rtm_interest_of(const rtm_interest_t *t, rtm_str_t topic)
{
    const s_topic_t *e = s_find(t, topic);
    return e ? e->workers : 0;
}

void rtm_interest_each(const rtm_interest_t *t, void (*fn)(void *arg, rtm_str_t topic), void *arg)
{
    for (const s_topic_t *e = t->topics; e; e = e->hh.next)
        fn(arg, rtm_str(e->topic, e->len));
}
