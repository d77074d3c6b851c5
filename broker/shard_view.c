/* shard_view — see shard_view.h.
 *
 * A peer is live iff a heartbeat from it arrived within the last
 * RTM_WIRE_DEAD_MS (3 heartbeat periods); this broker is always live, so an
 * ownership answer always exists. There is no start-up grace: until a peer's
 * first heartbeat arrives (at most one period after its SUB connects) this
 * broker believes it owns the peer's channels too. That is harmless for
 * delivery, because every node subscribes to its channels on every shard
 * (docs/wire.md), so an event published by the "wrong" shard still reaches
 * its subscribers. The alive[] array is recomputed on every question, so an
 * answer is never staler than the clock passed in. */
#include "shard_view.h"

#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_rendezvous.h"
#include "rtm_wire.h"

#include <inttypes.h>
#include <stdlib.h>

#define S_WARN_EVERY_MS 10000

typedef struct {
    uint64_t last_ms; /* monotonic time of the last heartbeat; 0: never */
    uint64_t epoch;   /* the peer's start epoch from that heartbeat */
    uint64_t held;    /* webhook events it held then */
} s_peer_t;

struct rtm_shard_view {
    uint32_t self;         /* this broker's index */
    uint32_t n;            /* number of shards */
    uint32_t live;         /* live shards as of the last refresh */
    uint64_t generation;   /* bumped on every change of alive[] */
    uint64_t last_warn_ms; /* rate limit of misconfiguration warnings */
    uint64_t lost;         /* webhook events held by peers that went down (counted here) */
    s_peer_t *peers;       /* n entries; peers[self] unused */
    bool *alive;           /* n entries: liveness as of the last refresh */
};

rtm_shard_view_t *rtm_shard_view_new(uint32_t self, uint32_t n)
{
    rtm_shard_view_t *v = calloc(1, sizeof *v);
    if (!v)
        abort();
    v->self = self;
    v->n = n;
    v->peers = calloc(n, sizeof *v->peers);
    v->alive = calloc(n, sizeof *v->alive);
    if (!v->peers || !v->alive)
        abort();
    v->alive[self] = true;
    v->live = 1;
    return v;
}

void rtm_shard_view_destroy(rtm_shard_view_t **view)
{
    if (!*view)
        return;
    free((*view)->peers);
    free((*view)->alive);
    free(*view);
    *view = NULL;
}

static bool s_is_live(const rtm_shard_view_t *v, uint32_t i, uint64_t now_ms)
{
    if (i == v->self)
        return true;
    return rtm_wire_live(v->peers[i].last_ms, now_ms);
}

int rtm_shard_view_heartbeat(rtm_shard_view_t *view, uint32_t shard, uint64_t epoch, uint64_t held,
                             uint64_t now_ms)
{
    if (shard >= view->n || shard == view->self) {
        if (view->last_warn_ms == 0 || now_ms - view->last_warn_ms >= S_WARN_EVERY_MS) {
            view->last_warn_ms = now_ms;
            rtm_log(RTM_LOG_WARN,
                    "event=bad_peer_heartbeat shard=%" PRIu32 " self=%" PRIu32 " shards=%" PRIu32
                    " reason=%s",
                    shard, view->self, view->n,
                    shard >= view->n ? "index_out_of_range" : "same_index_as_self");
        }
        return RTM_EINVAL;
    }
    s_peer_t *p = &view->peers[shard];
    bool was_live = s_is_live(view, shard, now_ms);
    if (!was_live)
        rtm_log(RTM_LOG_INFO, "event=shard_up shard=%" PRIu32 " epoch=%" PRIu64, shard, epoch);
    else if (p->epoch != epoch)
        rtm_log(RTM_LOG_INFO,
                "event=shard_restarted shard=%" PRIu32 " old_epoch=%" PRIu64 " epoch=%" PRIu64,
                shard, p->epoch, epoch);
    p->last_ms = now_ms ? now_ms : 1; /* 0 means "never" */
    p->epoch = epoch;
    p->held = held;
    if (!view->alive[shard]) {
        view->alive[shard] = true;
        view->live++;
        view->generation++;
    }
    return 0;
}

/* Is this shard the lowest-numbered live one (as of alive[])? */
static bool s_lowest_live(const rtm_shard_view_t *v)
{
    for (uint32_t i = 0; i < v->self; i++)
        if (v->alive[i])
            return false;
    return true;
}

void rtm_shard_view_refresh(rtm_shard_view_t *view, uint64_t now_ms)
{
    for (uint32_t i = 0; i < view->n; i++) {
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
        if (s_lowest_live(view))
            view->lost += view->peers[i].held;
        rtm_log(RTM_LOG_WARN,
                "event=shard_down shard=%" PRIu32 " epoch=%" PRIu64 " silent_ms=%" PRIu64
                " webhooks_held=%" PRIu64,
                i, view->peers[i].epoch, now_ms - view->peers[i].last_ms, view->peers[i].held);
    }
}

int rtm_shard_view_owner(rtm_shard_view_t *view, rtm_str_t app, rtm_str_t channel, uint64_t now_ms)
{
    rtm_shard_view_refresh(view, now_ms);
    return rtm_rendezvous_owner(app, channel, view->alive, view->n);
}

int rtm_shard_view_successor(rtm_shard_view_t *view, rtm_str_t app, rtm_str_t channel,
                             uint64_t now_ms)
{
    rtm_shard_view_refresh(view, now_ms);
    view->alive[view->self] = false; /* "if this one were gone" */
    int next = rtm_rendezvous_owner(app, channel, view->alive, view->n);
    view->alive[view->self] = true;
    return next;
}

bool rtm_shard_view_is_live(const rtm_shard_view_t *view, uint32_t shard)
{
    return shard < view->n && view->alive[shard];
}

uint64_t rtm_shard_view_webhooks_lost(const rtm_shard_view_t *view)
{
    return view->lost;
}

uint32_t rtm_shard_view_live(const rtm_shard_view_t *view)
{
    return view->live;
}

uint64_t rtm_shard_view_generation(const rtm_shard_view_t *view)
{
    return view->generation;
}
