/* channel_state — see channel_state.h; docs/wire.md §7 is the behaviour.
 *
 * Records live in channel_table. A record holds the per-peer absolute
 * subscription counts (a small array: a channel is held by a handful of node
 * workers), the presence member set, and the cache. Two intrusive lists
 * thread through the records that need the timer: those with a throttled
 * subscription count pending and those with a cache.
 *
 * Invariants: a record exists iff it has a count entry, a presence member or
 * a cache (s_maybe_free restores this after every change); `total` is the sum
 * of its counts; what each peer holds in the quota is the number of its count
 * entries and presence connections over all records; the stats gauges equal
 * the sums over the records. Memory is bounded by max_records,
 * max_peer_entries per peer and max_bytes for what peers can make large (user
 * info, cached events). A count is clamped to UINT32_MAX, so no sum of them
 * can overflow. */
#include "channel_state.h"

#include "channel_table.h"
#include "member_set.h"
#include "peer_quota.h"
#include "rtm_channel.h"
#include "rtm_error.h"
#include "rtm_pusher.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#define S_MAX_COUNT UINT32_MAX /* most subscribers one peer may report */

struct rtm_channel_state {
    rtm_channel_state_limits_t lim; /* bounds, fixed at creation */
    rtm_channel_state_stats_t st;   /* counters and gauges */
    rtm_channel_table_t *table;     /* the records */
    rtm_peer_quota_t *quota;        /* entries per peer */
    rtm_channel_rec_t *pending;     /* records with a throttled count to emit */
    rtm_channel_rec_t *cached;      /* records holding a cache */
    rtm_channel_rec_t *opening;     /* records with an open mark */
};

rtm_channel_state_limits_t rtm_channel_state_default_limits(void)
{
    return (rtm_channel_state_limits_t){.max_records = 1000000,
                                        .max_peer_entries = 1000000,
                                        .max_members = RTM_WIRE_MAX_MEMBERS,
                                        .max_user_info = 64 * 1024,
                                        .max_bytes = 1ULL << 30,
                                        .cache_ttl_ms = 30 * 60 * 1000,
                                        .sync_gap_ms = 100,
                                        .count_big = 100,
                                        .count_every_ms = 30000,
                                        .open_mark_ms = 10000};
}

rtm_channel_state_t *rtm_channel_state_new(const rtm_channel_state_limits_t *limits)
{
    rtm_channel_state_t *cs = calloc(1, sizeof *cs);
    if (!cs)
        abort();
    cs->lim = limits ? *limits : rtm_channel_state_default_limits();
    cs->table = rtm_channel_table_new();
    cs->quota = rtm_peer_quota_new(cs->lim.max_peer_entries);
    if (cs->lim.max_members > RTM_WIRE_MAX_MEMBERS || cs->lim.max_members == 0)
        cs->lim.max_members = RTM_WIRE_MAX_MEMBERS; /* a SYNC must stay encodable */
    return cs;
}

/* ---- helpers ----------------------------------------------------------- */

static bool s_topic_ok(rtm_str_t app, rtm_str_t channel)
{
    char topic[RTM_WIRE_MAX_TOPIC];
    return rtm_wire_topic(topic, sizeof topic, app, channel) > 0;
}

static size_t s_cache_bytes(const rtm_channel_cache_t *c)
{
    return c ? sizeof *c + c->json_len + c->event_len + c->data_len : 0;
}

static bool s_cache_live(const rtm_channel_rec_t *r, uint64_t now_ms)
{
    return r->cache && now_ms < r->cache->expires_ms;
}

/* Takes one entry for peer; false (counted) when it holds the most allowed. */
static bool s_peer_take(rtm_channel_state_t *cs, uint32_t peer)
{
    if (rtm_peer_quota_take(cs->quota, peer))
        return true;
    cs->st.refused++;
    return false;
}

static void s_peer_release(rtm_channel_state_t *cs, uint32_t peer, size_t n)
{
    rtm_peer_quota_release(cs->quota, peer, n);
}

static void s_peer_release_one(void *ctx, uint32_t peer)
{
    s_peer_release(ctx, peer, 1);
}

/* ---- records ----------------------------------------------------------- */

static rtm_channel_rec_t *s_find(const rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel)
{
    return rtm_channel_table_find(cs->table, app, channel);
}

/* Finds or creates the record; NULL (counted) when max_records are held.
 * The caller checked the topic, so both lengths fit a uint16_t. */
static rtm_channel_rec_t *s_get(rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel)
{
    rtm_channel_rec_t *r = s_find(cs, app, channel);
    if (r)
        return r;
    if (rtm_channel_table_count(cs->table) >= cs->lim.max_records) {
        cs->st.refused++;
        return NULL;
    }
    r = rtm_channel_table_add(cs->table, app, channel);
    cs->st.records = rtm_channel_table_count(cs->table);
    return r;
}

static void s_drop_cache(rtm_channel_state_t *cs, rtm_channel_rec_t *r)
{
    if (!r->cache)
        return;
    cs->st.bytes -= s_cache_bytes(r->cache);
    DL_DELETE2(cs->cached, r, cache_prev, cache_next);
    free(r->cache);
    r->cache = NULL;
}

static void s_unopen(rtm_channel_state_t *cs, rtm_channel_rec_t *r)
{
    if (r->opening)
        DL_DELETE2(cs->opening, r, open_prev, open_next);
    r->opening = false;
}

static void s_unpend(rtm_channel_state_t *cs, rtm_channel_rec_t *r)
{
    if (r->pending)
        DL_DELETE2(cs->pending, r, pend_prev, pend_next);
    r->pending = false;
}

/* Frees r whatever it holds, releasing its peers' entries and the gauges. */
static void s_free_record(rtm_channel_state_t *cs, rtm_channel_rec_t *r)
{
    for (uint32_t i = 0; i < r->n_counts; i++)
        s_peer_release(cs, r->counts[i].peer, 1);
    if (r->members) {
        rtm_member_set_each_conn(r->members, s_peer_release_one, cs);
        cs->st.users -= rtm_member_set_users(r->members);
        cs->st.conns -= rtm_member_set_conns(r->members);
        cs->st.bytes -= rtm_member_set_bytes(r->members);
        rtm_member_set_destroy(&r->members);
    }
    s_drop_cache(cs, r);
    s_unpend(cs, r);
    s_unopen(cs, r);
    free(r->counts);
    rtm_channel_table_remove(cs->table, r);
    cs->st.records = rtm_channel_table_count(cs->table);
}

static bool s_free_one(void *ctx, rtm_channel_rec_t *r)
{
    s_free_record(ctx, r);
    return true;
}

/* Restores the invariant: a record with nothing in it goes. */
static void s_maybe_free(rtm_channel_state_t *cs, rtm_channel_rec_t *r)
{
    if (r->members && rtm_member_set_users(r->members) == 0) {
        cs->st.bytes -= rtm_member_set_bytes(r->members);
        rtm_member_set_destroy(&r->members);
    }
    if (r->n_counts == 0 && !r->members && !r->cache && !r->opening)
        s_free_record(cs, r);
}

void rtm_channel_state_destroy(rtm_channel_state_t **cs)
{
    if (!*cs)
        return;
    rtm_channel_table_each((*cs)->table, s_free_one, *cs);
    rtm_channel_table_destroy(&(*cs)->table);
    assert(rtm_peer_quota_peers((*cs)->quota) == 0);
    rtm_peer_quota_destroy(&(*cs)->quota);
    free(*cs);
    *cs = NULL;
}

/* ---- emitting ---------------------------------------------------------- */

/* The hook of a change of r; who is the member of a member change, else NULL. */
static rtm_channel_hook_t s_hook_of(const rtm_channel_rec_t *r, rtm_webhook_kind_t kind,
                                    const rtm_wire_member_t *who, bool inherited)
{
    return (rtm_channel_hook_t){kind,
                                rtm_channel_rec_app(r),
                                rtm_channel_rec_name(r),
                                who ? who->user_id : rtm_str(NULL, 0),
                                who && who->user_num,
                                r->total,
                                inherited};
}

static void s_hook(rtm_channel_state_t *cs, const rtm_channel_rec_t *r, rtm_webhook_kind_t kind,
                   const rtm_wire_member_t *who, const rtm_channel_sink_t *sink)
{
    if (!sink->hook)
        return;
    rtm_channel_hook_t h = s_hook_of(r, kind, who, false);
    sink->hook(sink->hook_ctx, &h);
    cs->st.hooks++;
}

/* An occupation or member taken over from a re-announcement: its owner
 * announced it before, so no webhook, but the hook learns it is announced. */
static void s_inherit(rtm_channel_state_t *cs, const rtm_channel_rec_t *r, rtm_webhook_kind_t kind,
                      const rtm_wire_member_t *who, const rtm_channel_sink_t *sink)
{
    cs->st.inherited++;
    if (!sink->hook)
        return;
    rtm_channel_hook_t h = s_hook_of(r, kind, who, true);
    sink->hook(sink->hook_ctx, &h);
}

/* A user's own channel gained its first or lost its last connection: the user
 * came online or went offline. A SYNC with the new total tells the nodes of
 * those who watch the user (rtm_channels_watch). */
static void s_user_status(rtm_channel_state_t *cs, const rtm_channel_rec_t *r,
                          const rtm_channel_sink_t *sink)
{
    rtm_wire_msg_t m = {
        .type = RTM_WIRE_SYNC, .channel = rtm_channel_rec_name(r), .count = r->total};
    sink->control(sink->ctx, rtm_channel_rec_app(r), rtm_channel_rec_name(r), &m);
    cs->st.syncs++;
}

/* The total went from `before` to r->total: occupied or vacated? An
 * occupation without an open mark is a re-announcement taken over. */
static void s_occupancy(rtm_channel_state_t *cs, rtm_channel_rec_t *r, uint64_t before,
                        const rtm_channel_sink_t *sink)
{
    if ((before == 0) != (r->total == 0) &&
        rtm_channel_type(rtm_channel_rec_name(r)) == RTM_CH_USER)
        s_user_status(cs, r, sink);
    if (before == 0 && r->total > 0) {
        if (r->opening)
            s_hook(cs, r, RTM_WEBHOOK_CHANNEL_OCCUPIED, NULL, sink);
        else
            s_inherit(cs, r, RTM_WEBHOOK_CHANNEL_OCCUPIED, NULL, sink);
        s_unopen(cs, r);
    } else if (before > 0 && r->total == 0) {
        s_hook(cs, r, RTM_WEBHOOK_CHANNEL_VACATED, NULL, sink);
    }
}

/* MEMBER added (with user_info) or removed, not told to exclude. */
static void s_emit_member(rtm_channel_state_t *cs, const rtm_channel_rec_t *r,
                          const rtm_wire_member_t *who, rtm_str_t exclude, bool added,
                          const rtm_channel_sink_t *sink)
{
    rtm_wire_msg_t m = {.type = RTM_WIRE_MEMBER,
                        .channel = rtm_channel_rec_name(r),
                        .user_id = who->user_id,
                        .user_info = added ? who->user_info : rtm_str(NULL, 0),
                        .user_num = who->user_num,
                        .exclude = exclude,
                        .added = added};
    sink->control(sink->ctx, rtm_channel_rec_app(r), rtm_channel_rec_name(r), &m);
    cs->st.member_events++;
}

static void s_emit_count(rtm_channel_state_t *cs, rtm_channel_rec_t *r, uint64_t now_ms,
                         const rtm_channel_sink_t *sink)
{
    char data[48];
    int n = snprintf(data, sizeof data, "{\"subscription_count\":%" PRIu64 "}", r->total);
    rtm_str_t event = rtm_str_cstr("pusher_internal:subscription_count");
    rtm_str_t d = rtm_str(data, (size_t)n);
    size_t len = rtm_pusher_event_len(event, rtm_channel_rec_name(r), d);
    char *json = malloc(len);
    if (!json)
        abort();
    int w = rtm_pusher_render_event(json, len, event, rtm_channel_rec_name(r), d);
    assert(w >= 0 && (size_t)w == len); /* the _len companion is exact */
    (void)w;
    sink->event(sink->ctx, rtm_channel_rec_app(r), rtm_channel_rec_name(r), rtm_str(NULL, 0),
                rtm_str(json, len));
    free(json);
    r->count_sent = r->total;
    r->count_sent_ms = now_ms;
    s_unpend(cs, r);
    cs->st.count_events++;
    s_hook(cs, r, RTM_WEBHOOK_SUBSCRIPTION_COUNT, NULL, sink);
}

/* May the new total go out now? Small channels: always; big ones: once per
 * count_every_ms, unless nothing was announced yet. */
static bool s_count_due(const rtm_channel_state_t *cs, const rtm_channel_rec_t *r, uint64_t now_ms)
{
    if (r->total <= cs->lim.count_big && r->count_sent <= cs->lim.count_big)
        return true;
    return r->count_sent == 0 || now_ms - r->count_sent_ms >= cs->lim.count_every_ms;
}

/* The total may have changed: announce it, now or when due. */
static void s_count_changed(rtm_channel_state_t *cs, rtm_channel_rec_t *r, uint64_t now_ms,
                            const rtm_channel_sink_t *sink)
{
    if (!r->notify || r->total == r->count_sent) {
        s_unpend(cs, r);
    } else if (s_count_due(cs, r, now_ms)) {
        s_emit_count(cs, r, now_ms, sink);
    } else if (!r->pending) {
        DL_APPEND2(cs->pending, r, pend_prev, pend_next);
        r->pending = true;
    }
}

/* ---- presence ---------------------------------------------------------- */

typedef struct {
    rtm_channel_state_t *cs;        /* the state */
    const rtm_channel_rec_t *r;     /* the record a user left */
    rtm_str_t exclude;              /* the socket not told (the leaving one), or empty */
    const rtm_channel_sink_t *sink; /* where MEMBER removed goes */
} s_gone_t;

/* A user lost its last connection: MEMBER removed and the webhook. */
static void s_gone(void *ctx, const rtm_wire_member_t *member)
{
    s_gone_t *g = ctx;
    s_emit_member(g->cs, g->r, member, g->exclude, false, g->sink);
    s_hook(g->cs, g->r, RTM_WEBHOOK_MEMBER_REMOVED, member, g->sink);
}

static int s_check_join(const rtm_channel_state_t *cs, const rtm_wire_msg_t *m)
{
    if (!s_topic_ok(m->app, m->channel) || rtm_channel_type(m->channel) != RTM_CH_PRESENCE)
        return RTM_EINVAL;
    if (m->user_id.len == 0 || m->user_id.len > RTM_PUSHER_MAX_USER_ID ||
        m->user_info.len > cs->lim.max_user_info)
        return RTM_EINVAL;
    if (m->exclude.len > RTM_MEMBER_SID_MAX || !rtm_socket_id_valid(m->exclude))
        return RTM_EINVAL;
    return 0;
}

/* Applies the change of r's member set since `bytes` / `users` to the gauges. */
static void s_account(rtm_channel_state_t *cs, const rtm_channel_rec_t *r, size_t bytes,
                      uint32_t users)
{
    cs->st.bytes += rtm_member_set_bytes(r->members) - bytes;
    cs->st.users += rtm_member_set_users(r->members);
    cs->st.users -= users;
}

/* The record and member set a join goes into, created if need be; NULL
 * (counted) when a capacity limit refuses them. */
static rtm_channel_rec_t *s_join_record(rtm_channel_state_t *cs, const rtm_wire_msg_t *msg)
{
    size_t need = msg->user_id.len + msg->user_info.len + 256; /* member + set overhead */
    if (cs->st.bytes + need > cs->lim.max_bytes) {
        cs->st.refused++;
        return NULL;
    }
    rtm_channel_rec_t *r = s_get(cs, msg->app, msg->channel);
    if (r && !r->members) {
        r->members = rtm_member_set_new();
        cs->st.bytes += rtm_member_set_bytes(r->members);
    }
    return r;
}

int rtm_channel_state_join(rtm_channel_state_t *cs, uint32_t peer, const rtm_wire_msg_t *msg,
                           const rtm_channel_sink_t *sink)
{
    int rc = s_check_join(cs, msg);
    if (rc < 0)
        return rc;
    rtm_channel_rec_t *r = s_find(cs, msg->app, msg->channel);
    if (r && r->members && rtm_member_set_has(r->members, peer, msg->user_id, msg->exclude))
        return 0; /* a repeat (re-announce): nothing changes */
    if (!(r = s_join_record(cs, msg)))
        return RTM_EUNAVAIL;
    if (!s_peer_take(cs, peer)) {
        s_maybe_free(cs, r);
        return RTM_EUNAVAIL;
    }
    size_t bytes = rtm_member_set_bytes(r->members);
    uint32_t users = rtm_member_set_users(r->members);
    uint32_t limit =
        msg->limit && msg->limit < cs->lim.max_members ? msg->limit : cs->lim.max_members;
    rtm_wire_member_t who = {msg->user_id, msg->user_info, msg->user_num};
    rc = rtm_member_set_join(r->members, peer, &who, msg->exclude, limit);
    s_account(cs, r, bytes, users);
    if (rc == RTM_ETOOBIG) {
        s_peer_release(cs, peer, 1);
        cs->st.full++;
        s_maybe_free(cs, r);
        return rc;
    }
    cs->st.conns++;
    if (rc == 1) {
        s_emit_member(cs, r, &who, msg->exclude, true, sink);
        if (msg->id != 0)
            s_hook(cs, r, RTM_WEBHOOK_MEMBER_ADDED, &who, sink);
        else /* a re-announcement: its owner announced it before */
            s_inherit(cs, r, RTM_WEBHOOK_MEMBER_ADDED, &who, sink);
    }
    return 0;
}

int rtm_channel_state_leave(rtm_channel_state_t *cs, uint32_t peer, const rtm_wire_msg_t *msg,
                            const rtm_channel_sink_t *sink)
{
    if (!s_topic_ok(msg->app, msg->channel))
        return RTM_EINVAL;
    rtm_channel_rec_t *r = s_find(cs, msg->app, msg->channel);
    if (!r || !r->members)
        return RTM_ENOTFOUND;
    size_t bytes = rtm_member_set_bytes(r->members);
    uint32_t users = rtm_member_set_users(r->members);
    s_gone_t g = {cs, r, msg->exclude, sink};
    int rc = rtm_member_set_leave(r->members, peer, msg->user_id, msg->exclude, s_gone, &g);
    if (rc < 0)
        return rc;
    s_account(cs, r, bytes, users);
    s_peer_release(cs, peer, 1);
    cs->st.conns--;
    s_maybe_free(cs, r);
    return 0;
}

/* ---- subscription counts ----------------------------------------------- */

/* Sets peer's count in r (0 removes). RTM_EUNAVAIL when a new entry is refused. */
static int s_set_count(rtm_channel_state_t *cs, rtm_channel_rec_t *r, uint32_t peer, uint64_t count)
{
    uint32_t i = 0;
    while (i < r->n_counts && r->counts[i].peer != peer)
        i++;
    if (i < r->n_counts) {
        r->total -= r->counts[i].count;
        if (count == 0) {
            r->counts[i] = r->counts[--r->n_counts];
            s_peer_release(cs, peer, 1);
        } else {
            r->counts[i].count = count;
        }
    } else if (count > 0) {
        if (!s_peer_take(cs, peer))
            return RTM_EUNAVAIL;
        if (r->n_counts == r->cap_counts) {
            r->cap_counts = r->cap_counts ? r->cap_counts * 2 : 2;
            r->counts = realloc(r->counts, r->cap_counts * sizeof *r->counts);
            if (!r->counts)
                abort();
        }
        r->counts[r->n_counts++] = (rtm_channel_count_t){peer, count};
    }
    r->total += count;
    return 0;
}

int rtm_channel_state_count(rtm_channel_state_t *cs, uint32_t peer, const rtm_wire_msg_t *msg,
                            uint64_t now_ms, const rtm_channel_sink_t *sink)
{
    if (!s_topic_ok(msg->app, msg->channel))
        return RTM_EINVAL;
    uint64_t count = msg->count < S_MAX_COUNT ? msg->count : S_MAX_COUNT;
    rtm_channel_rec_t *r =
        count ? s_get(cs, msg->app, msg->channel) : s_find(cs, msg->app, msg->channel);
    if (!r)
        return count ? RTM_EUNAVAIL : 0;
    uint64_t before = r->total;
    int rc = s_set_count(cs, r, peer, count);
    if (rc == 0) {
        r->notify = msg->notify;
        s_occupancy(cs, r, before, sink);
        s_count_changed(cs, r, now_ms, sink);
    }
    s_maybe_free(cs, r);
    return rc;
}

/* ---- cache and sync ---------------------------------------------------- */

int rtm_channel_state_cache(rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel,
                            rtm_str_t event, rtm_str_t data, rtm_str_t json, uint64_t now_ms)
{
    if (!rtm_channel_is_cache(channel) || rtm_str_has_prefix(event, "client-") ||
        !s_topic_ok(app, channel))
        return 0;
    size_t need = sizeof(rtm_channel_cache_t) + json.len + event.len + data.len;
    rtm_channel_rec_t *r = s_find(cs, app, channel);
    if (cs->st.bytes - (r ? s_cache_bytes(r->cache) : 0) + need > cs->lim.max_bytes) {
        cs->st.refused++;
        return RTM_EUNAVAIL;
    }
    if (!r && !(r = s_get(cs, app, channel)))
        return RTM_EUNAVAIL;
    s_drop_cache(cs, r);
    rtm_channel_cache_t *c = malloc(need);
    if (!c)
        abort();
    *c = (rtm_channel_cache_t){now_ms + cs->lim.cache_ttl_ms, json.len, event.len, data.len};
    memcpy(c->bytes, json.p, json.len);
    if (event.len)
        memcpy(c->bytes + json.len, event.p, event.len);
    if (data.len)
        memcpy(c->bytes + json.len + event.len, data.p, data.len);
    r->cache = c;
    DL_APPEND2(cs->cached, r, cache_prev, cache_next);
    cs->st.bytes += need;
    cs->st.cached++;
    return 1;
}

typedef struct {
    rtm_wire_member_t *members; /* the SYNC's array being filled */
    uint32_t n;                 /* entries filled */
} s_snapshot_t;

static void s_snapshot_one(void *ctx, const rtm_wire_member_t *member)
{
    s_snapshot_t *s = ctx;
    s->members[s->n++] = *member;
}

int rtm_channel_state_sync(rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel,
                           uint64_t now_ms, const rtm_channel_sink_t *sink)
{
    if (!s_topic_ok(app, channel))
        return RTM_EINVAL;
    rtm_channel_rec_t *r = s_find(cs, app, channel);
    bool had = r != NULL; /* a record made for the mark alone does not coalesce */
    if ((!r || r->total == 0) && (r || (r = s_get(cs, app, channel)))) {
        if (r->opening)
            DL_DELETE2(cs->opening, r, open_prev, open_next);
        DL_APPEND2(cs->opening, r, open_prev, open_next); /* kept in marking order */
        r->opening = true;
        r->open_ms = now_ms;
    }
    if (had && r->sync_sent && now_ms - r->sync_ms < cs->lim.sync_gap_ms) {
        cs->st.syncs_skipped++;
        return 0;
    }
    rtm_wire_msg_t m = {.type = RTM_WIRE_SYNC, .channel = channel};
    s_snapshot_t snap = {NULL, 0};
    if (r) {
        m.count = r->total;
        if (s_cache_live(r, now_ms)) {
            m.cache_json = rtm_str(r->cache->bytes, r->cache->json_len);
            m.ttl_ms = r->cache->expires_ms - now_ms; /* the node keeps the same end of life */
        }
        uint32_t users = r->members ? rtm_member_set_users(r->members) : 0;
        if (users && !(snap.members = malloc(users * sizeof *snap.members)))
            abort();
        if (users)
            rtm_member_set_each(r->members, s_snapshot_one, &snap);
        m.members = snap.members;
        m.n_members = snap.n;
        r->sync_ms = now_ms;
        r->sync_sent = had;
    }
    sink->control(sink->ctx, app, channel, &m);
    free(snap.members);
    cs->st.syncs++;
    return 1;
}

/* ---- peers, ownership and timers --------------------------------------- */

/* Removes peer's count and connections from r (which may be freed). */
static void s_drop_peer(rtm_channel_state_t *cs, rtm_channel_rec_t *r, uint32_t peer,
                        uint64_t now_ms, const rtm_channel_sink_t *sink)
{
    uint64_t before = r->total;
    s_set_count(cs, r, peer, 0);
    if (r->total != before) {
        s_occupancy(cs, r, before, sink);
        s_count_changed(cs, r, now_ms, sink);
    }
    if (r->members) {
        size_t bytes = rtm_member_set_bytes(r->members);
        uint32_t users = rtm_member_set_users(r->members);
        s_gone_t g = {cs, r, rtm_str(NULL, 0), sink};
        size_t n = rtm_member_set_drop_peer(r->members, peer, s_gone, &g);
        s_account(cs, r, bytes, users);
        cs->st.conns -= n;
        s_peer_release(cs, peer, n);
    }
    s_maybe_free(cs, r);
}

typedef struct {
    rtm_channel_state_t *cs;        /* the state */
    uint32_t peer;                  /* the peer lost */
    uint64_t now_ms;                /* when */
    const rtm_channel_sink_t *sink; /* where changes go */
} s_lost_t;

static bool s_lost_one(void *ctx, rtm_channel_rec_t *r)
{
    s_lost_t *l = ctx;
    if (rtm_peer_quota_held(l->cs->quota, l->peer) == 0)
        return false; /* everything of the peer is gone already */
    s_drop_peer(l->cs, r, l->peer, l->now_ms, l->sink);
    return true;
}

void rtm_channel_state_peer_lost(rtm_channel_state_t *cs, uint32_t peer, uint64_t now_ms,
                                 const rtm_channel_sink_t *sink)
{
    s_lost_t l = {cs, peer, now_ms, sink};
    rtm_channel_table_each(cs->table, s_lost_one, &l);
}

typedef struct {
    rtm_channel_state_t *cs;  /* the state */
    rtm_channel_owns_fn owns; /* ownership predicate */
    void *ctx;                /* its context */
    size_t dropped;           /* records dropped so far */
} s_retain_t;

static bool s_retain_one(void *ctx, rtm_channel_rec_t *r)
{
    s_retain_t *k = ctx;
    if (!k->owns(k->ctx, rtm_channel_rec_app(r), rtm_channel_rec_name(r))) {
        s_free_record(k->cs, r);
        k->dropped++;
    }
    return true;
}

size_t rtm_channel_state_retain(rtm_channel_state_t *cs, rtm_channel_owns_fn owns, void *ctx)
{
    s_retain_t k = {cs, owns, ctx, 0};
    rtm_channel_table_each(cs->table, s_retain_one, &k);
    return k.dropped;
}

void rtm_channel_state_tick(rtm_channel_state_t *cs, uint64_t now_ms,
                            const rtm_channel_sink_t *sink)
{
    rtm_channel_rec_t *r, *tmp;
    DL_FOREACH_SAFE2(cs->pending, r, tmp, pend_next)
    {
        if (s_count_due(cs, r, now_ms))
            s_emit_count(cs, r, now_ms, sink);
    }
    DL_FOREACH_SAFE2(cs->cached, r, tmp, cache_next)
    {
        if (s_cache_live(r, now_ms))
            continue;
        s_drop_cache(cs, r);
        s_maybe_free(cs, r);
    }
    DL_FOREACH_SAFE2(cs->opening, r, tmp, open_next)
    {
        if (now_ms - r->open_ms < cs->lim.open_mark_ms)
            break; /* marking order: the rest are younger */
        s_unopen(cs, r);
        s_maybe_free(cs, r);
    }
}

/* ---- reading ----------------------------------------------------------- */

static void s_info(const rtm_channel_rec_t *r, uint64_t now_ms, rtm_channel_info_t *info)
{
    *info = (rtm_channel_info_t){.name = rtm_channel_rec_name(r),
                                 .subscriptions = r->total,
                                 .users = r->members ? rtm_member_set_users(r->members) : 0};
    if (!s_cache_live(r, now_ms))
        return;
    const rtm_channel_cache_t *c = r->cache;
    info->cached = true;
    info->cache_event = rtm_str(c->bytes + c->json_len, c->event_len);
    info->cache_data = rtm_str(c->bytes + c->json_len + c->event_len, c->data_len);
    info->cache_ttl_ms = c->expires_ms - now_ms;
}

int rtm_channel_state_info(const rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel,
                           uint64_t now_ms, rtm_channel_info_t *info)
{
    const rtm_channel_rec_t *r = s_find(cs, app, channel);
    if (!r)
        return RTM_ENOTFOUND;
    s_info(r, now_ms, info);
    return 0;
}

typedef struct {
    uint64_t now_ms;                                     /* for the cache */
    void (*each)(void *ctx, const rtm_channel_info_t *); /* the caller's */
    void *ctx;                                           /* its context */
} s_each_t;

static void s_each_one(void *ctx, const rtm_channel_rec_t *r)
{
    const s_each_t *e = ctx;
    rtm_channel_info_t info;
    s_info(r, e->now_ms, &info);
    e->each(e->ctx, &info);
}

void rtm_channel_state_each(const rtm_channel_state_t *cs, rtm_str_t app, uint64_t now_ms,
                            void (*each)(void *ctx, const rtm_channel_info_t *info), void *ctx)
{
    s_each_t e = {now_ms, each, ctx};
    rtm_channel_table_each_app(cs->table, app, s_each_one, &e);
}

void rtm_channel_state_each_user(const rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel,
                                 rtm_member_each_fn each, void *ctx)
{
    const rtm_channel_rec_t *r = s_find(cs, app, channel);
    if (r && r->members)
        rtm_member_set_each(r->members, each, ctx);
}

bool rtm_channel_state_has_user(const rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel,
                                rtm_str_t user_id)
{
    const rtm_channel_rec_t *r = s_find(cs, app, channel);
    return r && r->members && rtm_member_set_has_user(r->members, user_id);
}

const rtm_channel_state_stats_t *rtm_channel_state_stats(const rtm_channel_state_t *cs)
{
    return &cs->st;
}
