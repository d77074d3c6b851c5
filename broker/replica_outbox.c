/* replica_outbox — see replica_outbox.h.
 *
 * One entry per tracked channel (uthash by app 0x1F channel), with the shard
 * its snapshot was last sent to; marked entries are also on a list in
 * marking order, so a flush with a budget serves the oldest marks first and
 * a mark of a channel already marked costs nothing. An entry goes when its
 * channel has nothing announced any more (the empty snapshot was sent) or it
 * was handed to another owner.
 *
 * Invariants: an entry is on the marked list iff `marked`; the gauges count
 * the entries and the marked ones. */
#include "replica_outbox.h"

#include "rtm_error.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

typedef struct s_entry {
    UT_hash_handle hh;             /* in the outbox, by key */
    struct s_entry *prev, *next;   /* marked list links (iff marked) */
    uint64_t sent_to;              /* key of the broker sent the last snapshot (iff sent) */
    bool sent;                     /* a snapshot went to sent_to */
    bool marked;                   /* waiting for a flush */
    uint16_t app_len, channel_len; /* key = app 0x1F channel */
    char key[];                    /* key bytes */
} s_entry_t;

struct rtm_replica_outbox {
    uint32_t max_channels;         /* bound on entries */
    rtm_replica_outbox_stats_t st; /* counters */
    s_entry_t *entries;            /* uthash by key */
    s_entry_t *marked;             /* marked list, marking order */
};

rtm_replica_outbox_t *rtm_replica_outbox_new(uint32_t max_channels)
{
    rtm_replica_outbox_t *o = calloc(1, sizeof *o);
    if (!o)
        abort();
    o->max_channels = max_channels;
    return o;
}

static void s_unmark(rtm_replica_outbox_t *o, s_entry_t *e)
{
    if (!e->marked)
        return;
    e->marked = false;
    DL_DELETE(o->marked, e);
    o->st.marked--;
}

static void s_mark(rtm_replica_outbox_t *o, s_entry_t *e)
{
    if (e->marked)
        return;
    e->marked = true;
    DL_APPEND(o->marked, e);
    o->st.marked++;
}

static void s_remove(rtm_replica_outbox_t *o, s_entry_t *e)
{
    s_unmark(o, e);
    HASH_DELETE(hh, o->entries, e);
    o->st.channels--;
    free(e);
}

void rtm_replica_outbox_destroy(rtm_replica_outbox_t **op)
{
    rtm_replica_outbox_t *o = *op;
    if (!o)
        return;
    s_entry_t *e, *tmp;
    HASH_ITER(hh, o->entries, e, tmp)
    s_remove(o, e);
    free(o);
    *op = NULL;
}

int rtm_replica_outbox_mark(rtm_replica_outbox_t *o, rtm_str_t app, rtm_str_t channel)
{
    size_t klen = app.len + 1 + channel.len;
    if (app.len > UINT16_MAX || channel.len > UINT16_MAX)
        return RTM_EINVAL;
    char *key = malloc(klen);
    if (!key)
        abort();
    memcpy(key, app.p, app.len);
    key[app.len] = 0x1F;
    memcpy(key + app.len + 1, channel.p, channel.len);
    s_entry_t *e;
    HASH_FIND(hh, o->entries, key, klen, e);
    if (!e && o->st.channels >= o->max_channels) {
        free(key);
        o->st.refused++;
        return RTM_EUNAVAIL;
    }
    if (!e) {
        if (!(e = calloc(1, sizeof *e + klen)))
            abort();
        memcpy(e->key, key, klen);
        e->app_len = (uint16_t)app.len;
        e->channel_len = (uint16_t)channel.len;
        HASH_ADD(hh, o->entries, key, klen, e);
        o->st.channels++;
    }
    free(key);
    s_mark(o, e);
    return 0;
}

void rtm_replica_outbox_mark_all(rtm_replica_outbox_t *o)
{
    s_entry_t *e, *tmp;
    HASH_ITER(hh, o->entries, e, tmp)
    s_mark(o, e);
}

void rtm_replica_outbox_resend(rtm_replica_outbox_t *o, uint64_t key)
{
    s_entry_t *e, *tmp;
    HASH_ITER(hh, o->entries, e, tmp)
    {
        if (e->sent && e->sent_to == key)
            s_mark(o, e);
    }
}

/* Sends e where it belongs now. Returns false when the egress refused a
 * send (e stays marked); e may be freed when true. */
static bool s_flush_one(rtm_replica_outbox_t *o, s_entry_t *e, const rtm_replica_route_t *r)
{
    rtm_str_t app = rtm_str(e->key, e->app_len);
    rtm_str_t channel = rtm_str(e->key + e->app_len + 1, e->channel_len);
    bool mine = false;
    uint64_t target = 0;
    bool any = r->target(r->ctx, app, channel, &mine, &target);
    if (e->sent && (!any || e->sent_to != target)) {
        if (r->send(r->ctx, app, channel, e->sent_to, true) < 0)
            return false;
        o->st.forgets++;
        e->sent = false;
    }
    int rc = 0;
    if (any) {
        if ((rc = r->send(r->ctx, app, channel, target, false)) < 0)
            return false;
        o->st.sent++;
        if (!mine)
            o->st.handed++;
        e->sent_to = target;
        e->sent = true;
    } else if (mine && r->announced(r->ctx, app, channel)) {
        rc = 1; /* alone: nobody to tell now, but a shard may come */
    }
    if (rc == 0 || !mine)
        s_remove(o, e);
    else
        s_unmark(o, e);
    return true;
}

size_t rtm_replica_outbox_flush(rtm_replica_outbox_t *o, const rtm_replica_route_t *route,
                                size_t budget)
{
    s_entry_t *e, *tmp;
    size_t done = 0;
    DL_FOREACH_SAFE(o->marked, e, tmp)
    {
        if (done++ >= budget)
            break;
        if (!s_flush_one(o, e, route)) {
            o->st.retried++;
            break; /* the egress is full: the rest waits too */
        }
    }
    return o->st.marked;
}

const rtm_replica_outbox_stats_t *rtm_replica_outbox_stats(const rtm_replica_outbox_t *o)
{
    return &o->st;
}
