/* channel_table — see channel_table.h.
 *
 * Invariant: an app is in the table iff it has at least one record, so the
 * table's memory is proportional to its records. Walks that may remove the
 * current record use uthash's deletion-safe iteration at both levels; when
 * the last record of an app goes, the app goes with it, which ends the inner
 * walk (no next record) before the outer one moves on. */
#include "channel_table.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct rtm_channel_app {
    UT_hash_handle hh;          /* in t->apps, keyed by id[0..id_len) */
    rtm_channel_rec_t *records; /* uthash head, never empty */
    uint16_t id_len;            /* app id length */
    char id[];                  /* app id bytes */
};

struct rtm_channel_table {
    rtm_channel_app_t *apps; /* uthash head */
    size_t count;            /* records over all apps */
};

rtm_channel_table_t *rtm_channel_table_new(void)
{
    rtm_channel_table_t *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    return t;
}

void rtm_channel_table_destroy(rtm_channel_table_t **t)
{
    if (!*t)
        return;
    assert(!(*t)->apps && (*t)->count == 0);
    free(*t);
    *t = NULL;
}

static rtm_channel_app_t *s_app(const rtm_channel_table_t *t, rtm_str_t app)
{
    rtm_channel_app_t *a = NULL;
    HASH_FIND(hh, t->apps, app.p, app.len, a);
    return a;
}

rtm_channel_rec_t *rtm_channel_table_find(const rtm_channel_table_t *t, rtm_str_t app,
                                          rtm_str_t channel)
{
    rtm_channel_app_t *a = s_app(t, app);
    rtm_channel_rec_t *r = NULL;
    if (a)
        HASH_FIND(hh, a->records, channel.p, channel.len, r);
    return r;
}

rtm_channel_rec_t *rtm_channel_table_add(rtm_channel_table_t *t, rtm_str_t app, rtm_str_t channel)
{
    assert(app.len > 0 && app.len <= UINT16_MAX && channel.len > 0 && channel.len <= UINT16_MAX);
    assert(!rtm_channel_table_find(t, app, channel));
    rtm_channel_app_t *a = s_app(t, app);
    if (!a) {
        if (!(a = calloc(1, sizeof *a + app.len)))
            abort();
        a->id_len = (uint16_t)app.len;
        memcpy(a->id, app.p, app.len);
        HASH_ADD(hh, t->apps, id[0], a->id_len, a);
    }
    rtm_channel_rec_t *r = calloc(1, sizeof *r + channel.len);
    if (!r)
        abort();
    r->app = a;
    r->name_len = (uint16_t)channel.len;
    memcpy(r->name, channel.p, channel.len);
    HASH_ADD(hh, a->records, name[0], r->name_len, r);
    t->count++;
    return r;
}

void rtm_channel_table_remove(rtm_channel_table_t *t, rtm_channel_rec_t *rec)
{
    rtm_channel_app_t *a = rec->app;
    HASH_DEL(a->records, rec);
    free(rec);
    t->count--;
    if (!a->records) {
        HASH_DEL(t->apps, a);
        free(a);
    }
}

size_t rtm_channel_table_count(const rtm_channel_table_t *t)
{
    return t->count;
}

rtm_str_t rtm_channel_rec_app(const rtm_channel_rec_t *rec)
{
    return rtm_str(rec->app->id, rec->app->id_len);
}

rtm_str_t rtm_channel_rec_name(const rtm_channel_rec_t *rec)
{
    return rtm_str(rec->name, rec->name_len);
}

void rtm_channel_table_each(rtm_channel_table_t *t, rtm_channel_rec_fn fn, void *ctx)
{
    rtm_channel_app_t *a, *atmp;
    HASH_ITER(hh, t->apps, a, atmp)
    {
        rtm_channel_rec_t *r, *rtmp;
        HASH_ITER(hh, a->records, r, rtmp)
        {
            if (!fn(ctx, r))
                return;
        }
    }
}

void rtm_channel_table_each_app(const rtm_channel_table_t *t, rtm_str_t app,
                                void (*fn)(void *ctx, const rtm_channel_rec_t *rec), void *ctx)
{
    const rtm_channel_app_t *a = s_app(t, app);
    for (const rtm_channel_rec_t *r = a ? a->records : NULL; r; r = r->hh.next)
        fn(ctx, r);
}
