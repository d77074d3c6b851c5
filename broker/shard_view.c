/* shard_view — see shard_view.h.
 *
 * A peer is live iff a heartbeat from it arrived within the last
 * RTM_WIRE_DEAD_MS (3 heartbeat periods) and it has been heard for a grace
 * period (S_GRACE_MS, plus RTM_WIRE_JOIN_MS for a peer listed at run time);
 * this broker is live whenever it is listed, so a listed broker always has an
 * ownership answer. Until then this broker believes it owns the peer's
 * channels too. That is harmless for delivery, because every node subscribes to its
 * channels on every broker (docs/wire.md), so an event published by the
 * "wrong" broker still reaches its subscribers. The alive[] array is
 * recomputed on every question, so an answer is never staler than the clock
 * passed in. The arrays run parallel to the list and are rebuilt when it
 * changes, carrying over the state of the peers that stay. */
#include "shard_view.h"

#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_rendezvous.h"
#include "rtm_wire.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_WARN_EVERY_MS 10000

/* A peer heard (again) counts as live only this long after, so that this
 * broker never believes in more live brokers than a node does: a node counts
 * a broker once its heartbeat and a reply to its own heartbeat (sent every
 * RTM_WIRE_HB_MS) arrived. Believing in fewer only makes this broker accept
 * channels that another also accepts, which delivery tolerates (nodes
 * subscribe everywhere); believing in more would refuse publishes. */
#define S_GRACE_MS (2 * RTM_WIRE_HB_MS)

typedef struct {
    uint64_t last_ms;  /* monotonic time of the last heartbeat; 0: never */
    uint64_t epoch;    /* the peer's start epoch from that heartbeat */
    uint64_t held;     /* webhook events it held then */
    uint64_t first_ms; /* first heartbeat since it was last silent */
    bool mismatch;     /* its last heartbeat's digest differed from ours */
    bool joining;      /* listed at run time or back: live only RTM_WIRE_JOIN_MS after heard */
    bool unlisted;     /* its last heartbeat said it owns nothing (unlisted there, leaving) */
} s_peer_t;

struct rtm_shard_view {
    char *self;            /* this broker's identity */
    int self_index;        /* its index in list, or -1: unlisted */
    rtm_brokers_t list;    /* the brokers, owned */
    uint32_t live;         /* live listed brokers as of the last refresh */
    uint64_t generation;   /* bumped on every change of alive[] or of the list */
    uint64_t mismatches;   /* times a peer started disagreeing */
    uint64_t last_warn_ms; /* rate limit of misconfiguration warnings */
    uint64_t lost;         /* webhook events held by peers that went down (counted here) */
    s_peer_t *peers;       /* list.n entries; peers[self_index] unused */
    bool *alive;           /* list.n entries: liveness as of the last refresh */
    bool has_list;         /* a list was set: later additions are joining */
};

rtm_shard_view_t *rtm_shard_view_new(const char *self)
{
    rtm_shard_view_t *v = calloc(1, sizeof *v);
    if (!v || !(v->self = strdup(self)))
        abort();
    v->self_index = -1;
    return v;
}

void rtm_shard_view_destroy(rtm_shard_view_t **view)
{
    rtm_shard_view_t *v = *view;
    if (!v)
        return;
    rtm_brokers_free(&v->list);
    free(v->peers);
    free(v->alive);
    free(v->self);
    free(v);
    *view = NULL;
}

static bool s_is_live(const rtm_shard_view_t *v, uint32_t i, uint64_t now_ms)
{
    if ((int)i == v->self_index)
        return true;
    const s_peer_t *p = &v->peers[i];
    uint64_t grace = S_GRACE_MS + (p->joining ? RTM_WIRE_JOIN_MS : 0);
    return rtm_wire_live(p->last_ms, now_ms) && !p->unlisted && now_ms - p->first_ms >= grace;
}

uint32_t rtm_shard_view_set_list(rtm_shard_view_t *v, rtm_brokers_t *list)
{
    uint32_t n = list->n;
    s_peer_t *peers = calloc(n ? n : 1, sizeof *peers);
    bool *alive = calloc(n ? n : 1, sizeof *alive);
    if (!peers || !alive)
        abort();
    uint32_t changed = 0, live = 0;
    for (uint32_t i = 0; i < n; i++) {
        int old = rtm_brokers_find(&v->list, rtm_str_cstr(list->ids[i]));
        if (old >= 0) {
            peers[i] = v->peers[old];
            alive[i] = v->alive[old];
        } else {
            peers[i].joining = v->has_list;
            changed++;
            rtm_log(RTM_LOG_INFO, "event=broker_listed broker=%s self=%s", list->ids[i], v->self);
        }
    }
    for (uint32_t i = 0; i < v->list.n; i++) {
        if (rtm_brokers_find(list, rtm_str_cstr(v->list.ids[i])) >= 0)
            continue;
        changed++;
        rtm_log(RTM_LOG_INFO, "event=broker_unlisted broker=%s self=%s", v->list.ids[i], v->self);
    }
    rtm_brokers_free(&v->list);
    free(v->peers);
    free(v->alive);
    v->list = *list;
    *list = (rtm_brokers_t){0};
    v->peers = peers;
    v->alive = alive;
    v->has_list = true;
    v->self_index = rtm_brokers_find(&v->list, rtm_str_cstr(v->self));
    if (v->self_index >= 0)
        alive[v->self_index] = true;
    for (uint32_t i = 0; i < n; i++)
        live += alive[i];
    v->live = live;
    if (changed) {
        v->generation++;
        rtm_log(RTM_LOG_INFO,
                "event=broker_list brokers=%" PRIu32 " changed=%" PRIu32 " listed_self=%s"
                " digest=%016" PRIx64,
                n, changed, v->self_index >= 0 ? "yes" : "no", v->list.digest);
    }
    return changed;
}

const rtm_brokers_t *rtm_shard_view_list(const rtm_shard_view_t *view)
{
    return &view->list;
}

static void s_warn(rtm_shard_view_t *v, uint64_t now_ms, rtm_str_t broker, const char *reason)
{
    if (v->last_warn_ms != 0 && now_ms - v->last_warn_ms < S_WARN_EVERY_MS)
        return;
    v->last_warn_ms = now_ms;
    rtm_log(RTM_LOG_WARN, "event=bad_peer_heartbeat broker=%.*s self=%s reason=%s", (int)broker.len,
            broker.p, v->self, reason);
}

/* Notes whether the peer's list agrees with ours; logs a change. */
static void s_digest(rtm_shard_view_t *v, uint32_t i, uint64_t digest)
{
    s_peer_t *p = &v->peers[i];
    bool mismatch = digest != 0 && digest != v->list.digest;
    if (mismatch == p->mismatch)
        return;
    p->mismatch = mismatch;
    v->mismatches += mismatch;
    rtm_log(mismatch ? RTM_LOG_WARN : RTM_LOG_INFO,
            "event=%s broker=%s self=%s peer_digest=%016" PRIx64 " digest=%016" PRIx64,
            mismatch ? "broker_list_mismatch" : "broker_list_agrees", v->list.ids[i], v->self,
            digest, v->list.digest);
}

int rtm_shard_view_heartbeat(rtm_shard_view_t *view, rtm_str_t broker, uint64_t epoch,
                             uint64_t digest, bool unlisted, uint64_t held, uint64_t now_ms)
{
    if (rtm_str_eq_cstr(broker, view->self)) {
        s_warn(view, now_ms, broker, "same_identity_as_self");
        return RTM_EINVAL;
    }
    int i = rtm_brokers_find(&view->list, broker);
    if (i < 0) {
        s_warn(view, now_ms, broker, "not_listed");
        return RTM_ENOTFOUND;
    }
    s_peer_t *p = &view->peers[i];
    bool heard = rtm_wire_live(p->last_ms, now_ms);
    if (!heard || p->epoch != epoch || (p->unlisted && !unlisted)) {
        /* back after silence, a restart or a leave: a new process (or one the
         * nodes stopped counting), which nodes count only RTM_WIRE_JOIN_MS
         * after hearing it, once they all are subscribed at its egress */
        p->joining |= p->last_ms != 0;
        p->first_ms = now_ms;
    }
    if (!heard) {
        rtm_log(RTM_LOG_INFO, "event=shard_up broker=%s epoch=%" PRIu64 "%s", view->list.ids[i],
                epoch, p->joining ? " joining=1" : "");
    } else if (p->epoch != epoch)
        rtm_log(RTM_LOG_INFO,
                "event=shard_restarted broker=%s old_epoch=%" PRIu64 " epoch=%" PRIu64,
                view->list.ids[i], p->epoch, epoch);
    p->last_ms = now_ms ? now_ms : 1; /* 0 means "never" */
    p->epoch = epoch;
    p->held = held;
    if (unlisted != p->unlisted)
        rtm_log(RTM_LOG_INFO, "event=%s broker=%s self=%s", unlisted ? "peer_leaving" : "peer_back",
                view->list.ids[i], view->self);
    p->unlisted = unlisted;
    s_digest(view, (uint32_t)i, digest);
    bool live = s_is_live(view, (uint32_t)i, now_ms);
    if (live != view->alive[i]) {
        view->alive[i] = live;
        view->live += live ? 1 : -1;
        view->generation++;
    }
    return 0;
}

/* Does this broker count the losses of peers going down (as of alive[])? The
 * live listed broker with the smallest rendezvous seed does: every survivor
 * that agrees on who is live picks the same one, whatever order its list is
 * in, and an unlisted broker (leaving) never counts. Equal seeds (one in
 * 2^64) go to the lower identity. */
static bool s_counts_losses(const rtm_shard_view_t *v)
{
    if (v->self_index < 0)
        return false;
    uint32_t self = (uint32_t)v->self_index;
    uint64_t seed = v->list.seeds[self];
    for (uint32_t i = 0; i < v->list.n; i++) {
        if (i == self || !v->alive[i])
            continue;
        if (v->list.seeds[i] < seed ||
            (v->list.seeds[i] == seed && strcmp(v->list.ids[i], v->self) < 0))
            return false;
    }
    return true;
}

void rtm_shard_view_refresh(rtm_shard_view_t *view, uint64_t now_ms)
{
    for (uint32_t i = 0; i < view->list.n; i++) {
        bool live = s_is_live(view, i, now_ms);
        if (live == view->alive[i])
            continue;
        view->alive[i] = live;
        view->generation++;
        if (live) {
            view->live++;
            continue;
        }
        view->live--;
        view->peers[i].mismatch = false;
        if (s_counts_losses(view))
            view->lost += view->peers[i].held;
        rtm_log(RTM_LOG_WARN,
                "event=shard_down broker=%s epoch=%" PRIu64 " silent_ms=%" PRIu64
                " webhooks_held=%" PRIu64,
                view->list.ids[i], view->peers[i].epoch, now_ms - view->peers[i].last_ms,
                view->peers[i].held);
    }
}

bool rtm_shard_view_owns(rtm_shard_view_t *view, rtm_str_t app, rtm_str_t channel, uint64_t now_ms)
{
    if (view->self_index < 0)
        return false;
    rtm_shard_view_refresh(view, now_ms);
    return rtm_rendezvous_owner(app, channel, view->list.seeds, view->alive, view->list.n) ==
           view->self_index;
}

uint32_t rtm_shard_view_ranked(rtm_shard_view_t *view, rtm_str_t app, rtm_str_t channel,
                               uint64_t now_ms, uint32_t *out, uint32_t k)
{
    rtm_shard_view_refresh(view, now_ms);
    return rtm_rendezvous_ranked(app, channel, view->list.seeds, view->alive, view->list.n, out, k);
}

bool rtm_shard_view_is_live(const rtm_shard_view_t *view, uint64_t seed)
{
    for (uint32_t i = 0; i < view->list.n; i++)
        if (view->list.seeds[i] == seed && view->alive[i])
            return true;
    return false;
}

uint64_t rtm_shard_view_webhooks_lost(const rtm_shard_view_t *view)
{
    return view->lost;
}

uint32_t rtm_shard_view_live(const rtm_shard_view_t *view)
{
    return view->live;
}

uint32_t rtm_shard_view_heard(const rtm_shard_view_t *view, uint64_t now_ms)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < view->list.n; i++)
        n += (int)i != view->self_index && !view->peers[i].unlisted &&
             rtm_wire_live(view->peers[i].last_ms, now_ms);
    return n;
}

int rtm_shard_view_self_index(const rtm_shard_view_t *view)
{
    return view->self_index;
}

uint32_t rtm_shard_view_mismatched(const rtm_shard_view_t *view)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < view->list.n; i++)
        n += view->alive[i] && view->peers[i].mismatch;
    return n;
}

uint64_t rtm_shard_view_mismatches(const rtm_shard_view_t *view)
{
    return view->mismatches;
}

uint64_t rtm_shard_view_generation(const rtm_shard_view_t *view)
{
    return view->generation;
}
