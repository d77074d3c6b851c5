/* replica — see replica.h; docs/architecture.md "Webhooks" is the story.
 *
 * The outbox asks this glue who owns a channel, who succeeds this shard for
 * it and to send a snapshot; the ledger asks what this shard holds and hands
 * back what settling found. A snapshot is the state as announced: occupied
 * when the subscription total is above 0, the presence members by id
 * (their user_info is not needed to report member_removed and is left
 * empty), plus a belief still settling here. Which replica topics are
 * subscribed is learnt from the XPUB's subscription messages (a topic's first
 * subscription and last unsubscription reach the socket's reader), so a
 * snapshot sent to a shard that cannot hear it is counted, and a
 * resubscription (the peer restarted or reconnected) makes everything it
 * was sent go again. */
#include "replica.h"

#include "rtm_error.h"
#include "rtm_log.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_BUDGET 10000 /* snapshots per tick: one tick cannot stall the loop */

struct rtm_replica {
    rtm_replica_config_t cfg;     /* copied */
    rtm_replica_outbox_t *outbox; /* owned */
    rtm_replica_ledger_t *ledger; /* owned */
    uint64_t *subscribed;         /* keys whose replica topic is subscribed at our XPUB */
    uint32_t n_subscribed, cap_subscribed;
    uint64_t now_ms;             /* of the current call, for the callbacks */
    uint64_t unheard, malformed; /* glue counters */
    rtm_replica_route_t route;   /* the outbox's view of this shard */
    rtm_replica_env_t env;       /* the ledger's view of this shard */
};

/* ---- what the halves ask --------------------------------------------- */

static bool s_target(void *ctx, rtm_str_t app, rtm_str_t channel, bool *mine, uint64_t *to)
{
    rtm_replica_t *r = ctx;
    uint32_t ranked[2];
    uint32_t n = rtm_shard_view_ranked(r->cfg.view, app, channel, r->now_ms, ranked, 2);
    const rtm_brokers_t *list = rtm_shard_view_list(r->cfg.view);
    int self = rtm_shard_view_self_index(r->cfg.view);
    *mine = n > 0 && self >= 0 && ranked[0] == (uint32_t)self;
    uint32_t at = *mine ? 1 : 0; /* the successor when this broker owns it, else the owner */
    if (at >= n)
        return false;
    *to = list->seeds[ranked[at]];
    return true;
}

static bool s_owns(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    rtm_replica_t *r = ctx;
    return rtm_shard_view_owns(r->cfg.view, app, channel, r->now_ms);
}

static bool s_occupied(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    rtm_replica_t *r = ctx;
    rtm_channel_info_t info;
    return rtm_channel_state_info(r->cfg.state, app, channel, r->now_ms, &info) == 0 &&
           info.subscriptions > 0;
}

static bool s_has_user(void *ctx, rtm_str_t app, rtm_str_t channel, rtm_str_t user_id)
{
    rtm_replica_t *r = ctx;
    return rtm_channel_state_has_user(r->cfg.state, app, channel, user_id);
}

static bool s_live(void *ctx, uint64_t key)
{
    rtm_replica_t *r = ctx;
    return rtm_shard_view_is_live(r->cfg.view, key);
}

/* Index of key in r->subscribed, or -1. */
static int s_subscribed_at(const rtm_replica_t *r, uint64_t key)
{
    for (uint32_t i = 0; i < r->n_subscribed; i++)
        if (r->subscribed[i] == key)
            return (int)i;
    return -1;
}

static bool s_replicated(const rtm_replica_t *r, rtm_str_t app, rtm_str_t channel);

/* What settling found gone goes to webhooks; the successor learns that the
 * belief it was told of (merged into this shard's snapshots) is settled. */
static void s_deliver(void *ctx, const rtm_channel_hook_t *hook)
{
    rtm_replica_t *r = ctx;
    r->cfg.deliver(r->cfg.hook_ctx, hook);
    if (s_replicated(r, hook->app, hook->channel))
        rtm_replica_outbox_mark(r->outbox, hook->app, hook->channel);
}

typedef struct {
    const rtm_replica_t *r;     /* for the state */
    rtm_str_t app, channel;     /* the channel */
    rtm_wire_member_t *members; /* cap entries */
    uint32_t n, cap;            /* filled / allocated */
} s_snap_t;

static void s_add(s_snap_t *s, rtm_str_t user_id, bool user_num)
{
    if (s->n == RTM_WIRE_MAX_MEMBERS)
        return; /* a SYNC's bound too; the member cap keeps the state under it */
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        if (!(s->members = realloc(s->members, s->cap * sizeof *s->members)))
            abort();
    }
    s->members[s->n++] = (rtm_wire_member_t){user_id, rtm_str(NULL, 0), user_num};
}

static void s_add_member(void *ctx, const rtm_wire_member_t *member)
{
    s_add(ctx, member->user_id, member->user_num);
}

/* A believed member not in the state (those in it are added already). */
static void s_add_believed(void *ctx, rtm_str_t user_id)
{
    s_snap_t *s = ctx;
    if (!rtm_channel_state_has_user(s->r->cfg.state, s->app, s->channel, user_id))
        s_add(s, user_id, false); /* the ledger keeps ids in their string form */
}

static int s_send(void *ctx, rtm_str_t app, rtm_str_t channel, uint64_t to, bool forget)
{
    rtm_replica_t *r = ctx;
    int self = rtm_shard_view_self_index(r->cfg.view);
    rtm_wire_msg_t m = {.type = RTM_WIRE_REPLICA,
                        .shard = self < 0 ? RTM_WIRE_UNLISTED : (uint32_t)self,
                        .broker = rtm_str_cstr(r->cfg.self),
                        .app = app,
                        .channel = channel};
    s_snap_t snap = {r, app, channel, NULL, 0, 0};
    if (!forget) {
        bool believed = false;
        rtm_channel_state_each_user(r->cfg.state, app, channel, s_add_member, &snap);
        rtm_replica_ledger_belief(r->ledger, app, channel, &believed, s_add_believed, &snap);
        m.count = s_occupied(r, app, channel) || believed ? 1 : 0;
        m.members = snap.members;
        m.n_members = snap.n;
    }
    char topic[RTM_WIRE_REPLICA_TOPIC_MAX];
    int n = rtm_wire_replica_topic(topic, sizeof topic, to);
    assert(n > 0); /* the buffer holds any key */
    if (s_subscribed_at(r, to) < 0)
        r->unheard++; /* sent anyway: the subscription may be on its way */
    int rc = rtm_egress_control(r->cfg.egress, rtm_str(topic, (size_t)n), &m, false);
    free(snap.members);
    if (rc < 0)
        return -1;
    return m.count > 0 || m.n_members > 0 ? 1 : 0;
}

static bool s_announced(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    rtm_replica_t *r = ctx;
    bool believed = false;
    rtm_channel_info_t info;
    bool held = rtm_channel_state_info(r->cfg.state, app, channel, r->now_ms, &info) == 0 &&
                (info.subscriptions > 0 || info.users > 0);
    return held || rtm_replica_ledger_belief(r->ledger, app, channel, &believed, NULL, NULL);
}

/* ---- the broker's calls -------------------------------------------------- */

rtm_replica_t *rtm_replica_new(const rtm_replica_config_t *cfg)
{
    rtm_replica_t *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->cfg = *cfg;
    r->outbox = rtm_replica_outbox_new(cfg->max_channels);
    r->ledger = rtm_replica_ledger_new(&cfg->ledger);
    r->route = (rtm_replica_route_t){r, s_target, s_send, s_announced};
    r->env = (rtm_replica_env_t){r, s_owns, s_occupied, s_has_user, s_live, s_deliver};
    return r;
}

void rtm_replica_destroy(rtm_replica_t **rp)
{
    rtm_replica_t *r = *rp;
    if (!r)
        return;
    rtm_replica_outbox_destroy(&r->outbox);
    rtm_replica_ledger_destroy(&r->ledger);
    free(r->subscribed);
    free(r);
    *rp = NULL;
}

/* Does the app have webhooks, and is the channel not one of the mesh's own? */
static bool s_replicated(const rtm_replica_t *r, rtm_str_t app, rtm_str_t channel)
{
    if (channel.len && channel.p[0] == '#')
        return false;
    const rtm_app_t *a = rtm_apps_by_id(r->cfg.apps, app);
    return a && a->n_webhooks > 0;
}

bool rtm_replica_hook(rtm_replica_t *r, const rtm_channel_hook_t *hook, uint64_t now_ms)
{
    r->now_ms = now_ms;
    bool state = hook->kind == RTM_WEBHOOK_CHANNEL_OCCUPIED ||
                 hook->kind == RTM_WEBHOOK_CHANNEL_VACATED ||
                 hook->kind == RTM_WEBHOOK_MEMBER_ADDED || hook->kind == RTM_WEBHOOK_MEMBER_REMOVED;
    if (state && s_replicated(r, hook->app, hook->channel))
        rtm_replica_outbox_mark(r->outbox, hook->app, hook->channel); /* refusals are counted */
    if (hook->inherited)
        return false;
    return rtm_replica_ledger_filter(r->ledger, hook, &r->env, now_ms);
}

/* The key of the broker that sent msg: its identity, or for a sender that
 * predates the field its index in our list. Returns RTM_EINVAL when neither
 * names a listed broker other than this one. */
static int s_origin(const rtm_replica_t *r, const rtm_wire_msg_t *msg, uint64_t *origin)
{
    const rtm_brokers_t *list = rtm_shard_view_list(r->cfg.view);
    int i = msg->broker.len > 0    ? rtm_brokers_find(list, msg->broker)
            : msg->shard < list->n ? (int)msg->shard
                                   : -1;
    if (i < 0 || i == rtm_shard_view_self_index(r->cfg.view))
        return RTM_EINVAL;
    *origin = list->seeds[i];
    return 0;
}

void rtm_replica_receive(rtm_replica_t *r, const rtm_wire_msg_t *msg, uint64_t now_ms)
{
    r->now_ms = now_ms;
    uint64_t origin;
    if (s_origin(r, msg, &origin) < 0) {
        r->malformed++;
        return;
    }
    if (rtm_replica_ledger_apply(r->ledger, msg, origin, &r->env, now_ms) < 0)
        r->malformed++;
    else if (s_owns(r, msg->app, msg->channel) && s_replicated(r, msg->app, msg->channel))
        rtm_replica_outbox_mark(r->outbox, msg->app, msg->channel); /* a settling belief */
}

bool rtm_replica_subscription(rtm_replica_t *r, const char *msg, size_t len)
{
    size_t plen = sizeof RTM_WIRE_REPLICA_PREFIX - 1;
    if (len != 1 + RTM_WIRE_REPLICA_TOPIC_LEN ||
        memcmp(msg + 1, RTM_WIRE_REPLICA_PREFIX, plen) != 0 || msg[len - 1] != '\0')
        return false;
    uint64_t key = 0;
    for (size_t i = 1 + plen; i < len - 1; i++) {
        char c = msg[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        key = key << 4 | (uint64_t)d;
    }
    int at = s_subscribed_at(r, key);
    if (msg[0] == 1 && at < 0) {
        rtm_replica_outbox_resend(r->outbox, key);
        if (r->n_subscribed == RTM_BROKERS_MAX)
            return true; /* more than a list holds: counted as unheard when sent to */
        if (r->n_subscribed == r->cap_subscribed) {
            r->cap_subscribed = r->cap_subscribed ? r->cap_subscribed * 2 : 8;
            r->subscribed = realloc(r->subscribed, r->cap_subscribed * sizeof *r->subscribed);
            if (!r->subscribed)
                abort();
        }
        r->subscribed[r->n_subscribed++] = key;
    } else if (msg[0] != 1 && at >= 0) {
        r->subscribed[at] = r->subscribed[--r->n_subscribed];
    }
    return true;
}

void rtm_replica_moved(rtm_replica_t *r, uint64_t now_ms)
{
    r->now_ms = now_ms;
    rtm_replica_outbox_mark_all(r->outbox);
    /* All of it now: the records of channels that moved away are dropped next. */
    rtm_replica_outbox_flush(r->outbox, &r->route, SIZE_MAX);
    rtm_replica_ledger_moved(r->ledger, &r->env, now_ms);
}

void rtm_replica_tick(rtm_replica_t *r, uint64_t now_ms)
{
    r->now_ms = now_ms;
    rtm_replica_outbox_flush(r->outbox, &r->route, S_BUDGET);
    rtm_replica_ledger_tick(r->ledger, &r->env, now_ms);
}

void rtm_replica_postpone(rtm_replica_t *r, uint64_t now_ms)
{
    rtm_replica_ledger_postpone(r->ledger, now_ms);
}

void rtm_replica_stats(const rtm_replica_t *r, rtm_replica_stats_t *st)
{
    st->out = *rtm_replica_outbox_stats(r->outbox);
    st->in = *rtm_replica_ledger_stats(r->ledger);
    st->unheard = r->unheard;
    st->malformed = r->malformed;
}
