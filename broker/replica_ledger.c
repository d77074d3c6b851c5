/* replica_ledger — see replica_ledger.h; docs/architecture.md "Webhooks"
 * tells the whole failover story.
 *
 * A belief is one allocation for the struct and its key (app 0x1F channel:
 * unique, app ids never contain 0x1F), plus one for its members: an array
 * sorted by user id pointing into one blob of the ids, so a filter lookup is
 * a binary search and a snapshot is replaced in one go. A member that leaves
 * while the belief settles is only marked gone. Settling beliefs are also on
 * a list in deadline order (every deadline is "now + settle_ms" with a
 * monotonic now, so appending keeps the order) and the tick stops at the
 * first one not due.
 *
 * The vacates and removals this shard itself reported of a channel it owns
 * are also remembered for settle_ms after the last of them (a `recent`
 * record: whether its last occupancy change was a vacate, and the users
 * whose last change was a removal), on a list in expiry order. A snapshot
 * from another shard that arrives meanwhile is older than those reports —
 * the nodes moved the channel here before its old owner noticed and handed
 * it over — so they override it: no second vacate or removal at settling,
 * no held-back occupation the consumer was told ended.
 *
 * Invariants: the gauges equal the sums over the beliefs; a belief is on the
 * settling list iff `settling`; a recent record is on the expiry list. */
#include "replica_ledger.h"

#include "rtm_error.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

typedef struct {
    const char *p; /* into the belief's ids blob */
    uint32_t len;  /* bytes */
    bool gone;     /* left while settling: already reported */
} s_member_t;

typedef struct s_belief {
    UT_hash_handle hh;             /* in the ledger, by key */
    struct s_belief *prev, *next;  /* settling list links (iff settling) */
    uint64_t origin;               /* key of the broker that sent it */
    bool occupied;                 /* the consumer was told the channel is occupied */
    bool settling;                 /* this shard owns the channel: waiting for the nodes */
    uint64_t due_ms;               /* when settling ends */
    s_member_t *members;           /* n_members, sorted by id */
    uint32_t n_members, n_present; /* entries / of those not gone */
    char *ids;                     /* the member ids, n_bytes */
    size_t n_bytes;                /* bytes of ids */
    uint16_t app_len, channel_len; /* key = app 0x1F channel */
    char key[];                    /* key bytes */
} s_belief_t;

typedef struct s_recent {
    UT_hash_handle hh;            /* in the ledger, by key */
    struct s_recent *prev, *next; /* expiry list links */
    uint64_t until_ms;            /* forgotten then: settle_ms after the last report */
    bool vacated;                 /* the last occupancy change reported was a vacate */
    rtm_str_t *gone;              /* users whose last reported change was a removal (owned) */
    uint32_t n_gone, cap_gone;
    uint16_t key_len;
    char key[]; /* app 0x1F channel */
} s_recent_t;

struct rtm_replica_ledger {
    rtm_replica_ledger_limits_t lim; /* bounds */
    rtm_replica_ledger_stats_t st;   /* counters */
    s_belief_t *beliefs;             /* uthash by key */
    s_belief_t *settling;            /* settling list, deadline order */
    s_recent_t *recent;              /* uthash by key */
    s_recent_t *expiring;            /* the same records, expiry order */
    uint32_t n_recent;
};

rtm_replica_ledger_limits_t rtm_replica_ledger_default_limits(void)
{
    return (rtm_replica_ledger_limits_t){
        .max_channels = 1000000, .max_bytes = 256ULL << 20, .settle_ms = 3000};
}

rtm_replica_ledger_t *rtm_replica_ledger_new(const rtm_replica_ledger_limits_t *limits)
{
    rtm_replica_ledger_t *l = calloc(1, sizeof *l);
    if (!l)
        abort();
    l->lim = limits ? *limits : rtm_replica_ledger_default_limits();
    return l;
}

/* ---- beliefs ------------------------------------------------------------ */

static rtm_str_t s_app(const s_belief_t *b)
{
    return rtm_str(b->key, b->app_len);
}

static rtm_str_t s_channel(const s_belief_t *b)
{
    return rtm_str(b->key + b->app_len + 1, b->channel_len);
}

static size_t s_key(char *out, rtm_str_t app, rtm_str_t channel)
{
    memcpy(out, app.p, app.len);
    out[app.len] = 0x1F;
    memcpy(out + app.len + 1, channel.p, channel.len);
    return app.len + 1 + channel.len;
}

/* The key of (app, channel) in out; 0 when it is too long to be held. */
static size_t s_lookup_key(char out[RTM_WIRE_MAX_TOPIC], rtm_str_t app, rtm_str_t channel)
{
    return app.len + 1 + channel.len > RTM_WIRE_MAX_TOPIC ? 0 : s_key(out, app, channel);
}

static s_belief_t *s_find(const rtm_replica_ledger_t *l, rtm_str_t app, rtm_str_t channel)
{
    char key[RTM_WIRE_MAX_TOPIC];
    size_t n = s_lookup_key(key, app, channel);
    s_belief_t *b = NULL;
    if (n)
        HASH_FIND(hh, l->beliefs, key, n, b);
    return b;
}

/* ---- this shard's own recent reports ----------------------------------- */

static s_recent_t *s_recent_find(const rtm_replica_ledger_t *l, rtm_str_t app, rtm_str_t channel)
{
    char key[RTM_WIRE_MAX_TOPIC];
    size_t n = s_lookup_key(key, app, channel);
    s_recent_t *r = NULL;
    if (n)
        HASH_FIND(hh, l->recent, key, n, r);
    return r;
}

static void s_recent_free(rtm_replica_ledger_t *l, s_recent_t *r)
{
    HASH_DELETE(hh, l->recent, r);
    DL_DELETE(l->expiring, r);
    for (uint32_t i = 0; i < r->n_gone; i++)
        free((char *)r->gone[i].p);
    free(r->gone);
    free(r);
    l->n_recent--;
}

static int s_recent_gone_at(const s_recent_t *r, rtm_str_t user_id)
{
    for (uint32_t i = 0; i < r->n_gone; i++)
        if (rtm_str_eq(r->gone[i], user_id))
            return (int)i;
    return -1;
}

/* The record of (app, channel), made or kept for settle_ms from now_ms; NULL
 * past max_channels records (a snapshot that races the change may then
 * repeat it at settling). */
static s_recent_t *s_recent_hold(rtm_replica_ledger_t *l, rtm_str_t app, rtm_str_t channel,
                                 uint64_t now_ms)
{
    s_recent_t *r = s_recent_find(l, app, channel);
    if (r) {
        DL_DELETE(l->expiring, r);
    } else {
        size_t klen = app.len + 1 + channel.len;
        if (klen > RTM_WIRE_MAX_TOPIC || l->n_recent >= l->lim.max_channels)
            return NULL;
        if (!(r = calloc(1, sizeof *r + klen)))
            abort();
        r->key_len = (uint16_t)s_key(r->key, app, channel);
        HASH_ADD(hh, l->recent, key, r->key_len, r);
        l->n_recent++;
    }
    r->until_ms = now_ms + l->lim.settle_ms;
    DL_APPEND(l->expiring, r); /* every expiry is now + settle_ms: the list stays in order */
    return r;
}

static void s_recent_gone(s_recent_t *r, rtm_str_t user_id)
{
    if (s_recent_gone_at(r, user_id) >= 0)
        return;
    if (r->n_gone == r->cap_gone) {
        r->cap_gone = r->cap_gone ? r->cap_gone * 2 : 4;
        if (!(r->gone = realloc(r->gone, r->cap_gone * sizeof *r->gone)))
            abort();
    }
    char *id = malloc(user_id.len ? user_id.len : 1);
    if (!id)
        abort();
    memcpy(id, user_id.p, user_id.len);
    r->gone[r->n_gone++] = rtm_str(id, user_id.len);
}

/* Remembers a vacate or removal this shard reported (hook); an occupation or
 * a member added later undoes it. Only removal facts are kept: they are what
 * an older snapshot would repeat. Other kinds cost nothing here. */
static void s_recent_note(rtm_replica_ledger_t *l, const rtm_channel_hook_t *hook, uint64_t now_ms)
{
    s_recent_t *r;
    int at;
    switch (hook->kind) {
    case RTM_WEBHOOK_CHANNEL_VACATED:
        if ((r = s_recent_hold(l, hook->app, hook->channel, now_ms)))
            r->vacated = true;
        break;
    case RTM_WEBHOOK_MEMBER_REMOVED:
        if ((r = s_recent_hold(l, hook->app, hook->channel, now_ms)))
            s_recent_gone(r, hook->user_id);
        break;
    case RTM_WEBHOOK_CHANNEL_OCCUPIED:
        if ((r = s_recent_find(l, hook->app, hook->channel)))
            r->vacated = false;
        break;
    case RTM_WEBHOOK_MEMBER_ADDED:
        if ((r = s_recent_find(l, hook->app, hook->channel)) &&
            (at = s_recent_gone_at(r, hook->user_id)) >= 0) {
            free((char *)r->gone[at].p);
            r->gone[at] = r->gone[--r->n_gone];
        }
        break;
    default: break;
    }
}

static void s_recent_expire(rtm_replica_ledger_t *l, uint64_t now_ms)
{
    while (l->expiring && l->expiring->until_ms <= now_ms)
        s_recent_free(l, l->expiring);
}

static void s_set_settling(rtm_replica_ledger_t *l, s_belief_t *b, bool on, uint64_t due_ms)
{
    if (b->settling == on)
        return;
    b->settling = on;
    if (on) {
        b->due_ms = due_ms;
        DL_APPEND(l->settling, b);
        l->st.settling++;
        l->st.takeovers++;
    } else {
        DL_DELETE(l->settling, b);
        l->st.settling--;
    }
}

static void s_drop_members(rtm_replica_ledger_t *l, s_belief_t *b)
{
    l->st.users -= b->n_present;
    l->st.bytes -= b->n_bytes;
    free(b->members);
    free(b->ids);
    b->members = NULL, b->ids = NULL;
    b->n_members = b->n_present = 0;
    b->n_bytes = 0;
}

static void s_forget(rtm_replica_ledger_t *l, s_belief_t *b)
{
    s_set_settling(l, b, false, 0);
    s_drop_members(l, b);
    HASH_DELETE(hh, l->beliefs, b);
    l->st.channels--;
    free(b);
}

void rtm_replica_ledger_destroy(rtm_replica_ledger_t **lp)
{
    rtm_replica_ledger_t *l = *lp;
    if (!l)
        return;
    s_belief_t *b, *tmp;
    HASH_ITER(hh, l->beliefs, b, tmp)
    s_forget(l, b);
    while (l->expiring)
        s_recent_free(l, l->expiring);
    free(l);
    *lp = NULL;
}

static int s_cmp(const void *a, const void *b)
{
    const rtm_str_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Replaces b's members with the snapshot's (sorted, duplicates dropped). */
static void s_set_members(rtm_replica_ledger_t *l, s_belief_t *b, const rtm_wire_msg_t *msg,
                          size_t bytes)
{
    s_drop_members(l, b);
    if (msg->n_members == 0)
        return;
    rtm_str_t *ids = malloc(msg->n_members * sizeof *ids);
    b->members = malloc(msg->n_members * sizeof *b->members);
    b->ids = malloc(bytes ? bytes : 1);
    if (!ids || !b->members || !b->ids)
        abort();
    rtm_wire_members_iter_t it;
    rtm_wire_members_begin(&it, msg);
    rtm_wire_member_t mb;
    uint32_t n = 0;
    while (n < msg->n_members && rtm_wire_members_next(&it, &mb) == 1)
        ids[n++] = mb.user_id;
    qsort(ids, n, sizeof *ids, s_cmp);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && s_cmp(&ids[i], &ids[i - 1]) == 0)
            continue;
        memcpy(b->ids + b->n_bytes, ids[i].p, ids[i].len);
        b->members[b->n_members++] = (s_member_t){b->ids + b->n_bytes, (uint32_t)ids[i].len, false};
        b->n_bytes += ids[i].len;
    }
    free(ids);
    b->n_present = b->n_members;
    l->st.users += b->n_present;
    l->st.bytes += b->n_bytes;
}

/* Bytes of the snapshot's member ids. */
static size_t s_snapshot_bytes(const rtm_wire_msg_t *msg)
{
    rtm_wire_members_iter_t it;
    rtm_wire_members_begin(&it, msg);
    rtm_wire_member_t mb;
    size_t bytes = 0;
    while (rtm_wire_members_next(&it, &mb) == 1)
        bytes += mb.user_id.len;
    return bytes;
}

static s_member_t *s_member(const s_belief_t *b, rtm_str_t user_id)
{
    size_t lo = 0, hi = b->n_members;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        rtm_str_t m = rtm_str(b->members[mid].p, b->members[mid].len);
        int c = s_cmp(&m, &user_id);
        if (c == 0)
            return &b->members[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* What this shard reported itself lately is newer than b's snapshot. */
static void s_override(rtm_replica_ledger_t *l, s_belief_t *b, uint64_t now_ms)
{
    s_recent_t *r = s_recent_find(l, s_app(b), s_channel(b));
    if (!r || r->until_ms <= now_ms)
        return;
    if (r->vacated && b->occupied) {
        b->occupied = false;
        l->st.overridden++;
    }
    for (uint32_t i = 0; i < r->n_gone; i++) {
        s_member_t *m = s_member(b, r->gone[i]);
        if (m && !m->gone) {
            m->gone = true;
            b->n_present--;
            l->st.users--;
            l->st.overridden++;
        }
    }
}

int rtm_replica_ledger_apply(rtm_replica_ledger_t *l, const rtm_wire_msg_t *msg, uint64_t origin,
                             const rtm_replica_env_t *env, uint64_t now_ms)
{
    char topic[RTM_WIRE_MAX_TOPIC];
    if (rtm_wire_topic(topic, sizeof topic, msg->app, msg->channel) < 0) {
        l->st.refused++;
        return RTM_EINVAL;
    }
    s_belief_t *b = s_find(l, msg->app, msg->channel);
    if (msg->count == 0 && msg->n_members == 0) { /* nothing announced any more */
        if (b && b->origin == origin)
            s_forget(l, b);
        l->st.applied++;
        return 0;
    }
    size_t bytes = s_snapshot_bytes(msg);
    size_t held = b ? b->n_bytes : 0;
    if ((!b && l->st.channels >= l->lim.max_channels) ||
        l->st.bytes - held + bytes > l->lim.max_bytes) {
        if (b)
            s_forget(l, b); /* a stale belief would report the wrong things */
        l->st.refused++;
        return RTM_EUNAVAIL;
    }
    if (!b) {
        size_t klen = msg->app.len + 1 + msg->channel.len;
        if (!(b = calloc(1, sizeof *b + klen)))
            abort();
        s_key(b->key, msg->app, msg->channel);
        b->app_len = (uint16_t)msg->app.len;
        b->channel_len = (uint16_t)msg->channel.len;
        HASH_ADD(hh, l->beliefs, key, klen, b);
        l->st.channels++;
    }
    b->origin = origin;
    b->occupied = msg->count > 0;
    s_set_members(l, b, msg, bytes);
    s_override(l, b, now_ms);
    if (env->owns(env->ctx, msg->app, msg->channel))
        s_set_settling(l, b, true, now_ms + l->lim.settle_ms);
    l->st.applied++;
    return 0;
}

void rtm_replica_ledger_moved(rtm_replica_ledger_t *l, const rtm_replica_env_t *env,
                              uint64_t now_ms)
{
    s_belief_t *b, *tmp;
    HASH_ITER(hh, l->beliefs, b, tmp)
    {
        bool owns = env->owns(env->ctx, s_app(b), s_channel(b));
        if (owns)
            s_set_settling(l, b, true, now_ms + l->lim.settle_ms);
        else if (!env->live(env->ctx, b->origin))
            s_forget(l, b);
        else
            s_set_settling(l, b, false, 0);
    }
}

/* Whether a settling belief b lets this shard report hook (updating b). */
static bool s_filter(rtm_replica_ledger_t *l, s_belief_t *b, const rtm_channel_hook_t *hook)
{
    s_member_t *m = NULL;
    switch (hook->kind) {
    case RTM_WEBHOOK_CHANNEL_OCCUPIED:
        if (b->occupied) {
            l->st.suppressed++;
            return false;
        }
        b->occupied = true;
        return true;
    case RTM_WEBHOOK_CHANNEL_VACATED: b->occupied = false; return true;
    case RTM_WEBHOOK_MEMBER_ADDED:
        m = s_member(b, hook->user_id);
        if (m && !m->gone) {
            l->st.suppressed++;
            return false;
        }
        return true;
    case RTM_WEBHOOK_MEMBER_REMOVED:
        m = s_member(b, hook->user_id);
        if (m && !m->gone) {
            m->gone = true;
            b->n_present--;
            l->st.users--;
        }
        return true;
    default: return true;
    }
}

bool rtm_replica_ledger_filter(rtm_replica_ledger_t *l, const rtm_channel_hook_t *hook,
                               const rtm_replica_env_t *env, uint64_t now_ms)
{
    s_belief_t *b = s_find(l, hook->app, hook->channel);
    if (b && !b->settling && env->owns(env->ctx, hook->app, hook->channel))
        s_set_settling(l, b, true, now_ms + l->lim.settle_ms);
    if (b && b->settling && !s_filter(l, b, hook))
        return false;
    s_recent_note(l, hook, now_ms);
    return true;
}

/* Reports what b's consumer was told is there and is not. */
static void s_settle(rtm_replica_ledger_t *l, const s_belief_t *b, const rtm_replica_env_t *env)
{
    rtm_str_t app = s_app(b), channel = s_channel(b);
    for (uint32_t i = 0; i < b->n_members; i++) {
        rtm_str_t id = rtm_str(b->members[i].p, b->members[i].len);
        if (b->members[i].gone || env->has_user(env->ctx, app, channel, id))
            continue;
        rtm_channel_hook_t h = {
            .kind = RTM_WEBHOOK_MEMBER_REMOVED, .app = app, .channel = channel, .user_id = id};
        env->hook(env->ctx, &h);
        l->st.removed++;
    }
    if (b->occupied && !env->occupied(env->ctx, app, channel)) {
        rtm_channel_hook_t h = {
            .kind = RTM_WEBHOOK_CHANNEL_VACATED, .app = app, .channel = channel};
        env->hook(env->ctx, &h);
        l->st.vacated++;
    }
}

void rtm_replica_ledger_tick(rtm_replica_ledger_t *l, const rtm_replica_env_t *env, uint64_t now_ms)
{
    s_recent_expire(l, now_ms);
    s_belief_t *b, *tmp;
    DL_FOREACH_SAFE(l->settling, b, tmp)
    {
        if (now_ms < b->due_ms)
            break; /* deadline order: the rest are later */
        if (!env->owns(env->ctx, s_app(b), s_channel(b))) {
            s_set_settling(l, b, false, 0); /* moved on meanwhile: passive again */
            continue;
        }
        s_settle(l, b, env);
        l->st.settled++;
        s_forget(l, b);
    }
}

void rtm_replica_ledger_postpone(rtm_replica_ledger_t *l, uint64_t now_ms)
{
    s_belief_t *b;
    DL_FOREACH(l->settling, b)
    {
        b->due_ms = now_ms + l->lim.settle_ms; /* each was at most this: the order holds */
    }
}

bool rtm_replica_ledger_belief(const rtm_replica_ledger_t *l, rtm_str_t app, rtm_str_t channel,
                               bool *occupied, void (*each)(void *ctx, rtm_str_t user_id),
                               void *ctx)
{
    const s_belief_t *b = s_find(l, app, channel);
    if (!b || !b->settling)
        return false;
    *occupied = b->occupied;
    for (uint32_t i = 0; each && i < b->n_members; i++)
        if (!b->members[i].gone)
            each(ctx, rtm_str(b->members[i].p, b->members[i].len));
    return true;
}

const rtm_replica_ledger_stats_t *rtm_replica_ledger_stats(const rtm_replica_ledger_t *l)
{
    return &l->st;
}
