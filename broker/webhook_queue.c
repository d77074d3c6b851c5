/* webhook_queue — see webhook_queue.h.
 *
 * Lanes are a flat array, target * lanes + lane. Waiting events are a
 * singly-linked FIFO per lane; a batch takes them off the lane and owns
 * them (and their rendered body) until it is delivered or given up, while
 * the lane points at it so nothing else of that lane can start: that is the
 * whole ordering rule. take() walks the lanes from where the last walk
 * stopped, so no target starves another. Invariant: `held` is the number of
 * events in every lane's FIFO and every lane's batch. */
#include "webhook_queue.h"

#include "rtm_error.h"
#include "rtm_webhook.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_event {
    struct s_event *next; /* FIFO / batch link */
    uint64_t at_ms;       /* when it was queued */
    size_t len;           /* bytes of json */
    char json[];          /* the rendered event */
} s_event_t;

typedef struct {
    rtm_webhook_batch_t pub; /* what the caller sees; first, so the pointers convert */
    uint32_t lane;           /* index into q->lanes */
    uint64_t first_ms;       /* first attempt */
    uint64_t sum_at_ms;      /* sum of the events' at_ms (latency) */
    uint64_t min_at_ms;      /* the oldest event's at_ms */
    s_event_t *events;       /* owned */
    char *body;              /* owned; pub.body */
} s_batch_t;

typedef struct {
    s_event_t *head, *tail; /* waiting events */
    uint32_t n;             /* how many */
    s_batch_t *batch;       /* in flight or waiting to be retried; NULL: none */
    bool flying;            /* batch is in flight */
    uint64_t retry_at_ms;   /* !flying: when batch may go again */
} s_lane_t;

struct rtm_webhook_queue {
    rtm_webhook_queue_limits_t lim; /* fixed at creation */
    uint32_t n_targets;             /* targets */
    uint32_t n_lanes;               /* n_targets * lim.lanes */
    uint32_t cursor;                /* where the next take() walk starts */
    s_lane_t *lanes;                /* n_lanes */
    rtm_webhook_stats_t *stats;     /* n_targets */
    uint64_t held;                  /* events held */
    uint64_t rng;                   /* xorshift state for the jitter */
};

rtm_webhook_queue_limits_t rtm_webhook_queue_default_limits(void)
{
    return (rtm_webhook_queue_limits_t){.batch_ms = 50,
                                        .max_batch = 100,
                                        .lanes = 4,
                                        .max_events = 100000,
                                        .retry_for_ms = 5 * 60 * 1000,
                                        .backoff_ms = 1000,
                                        .backoff_max_ms = 60000,
                                        .seed = 1};
}

rtm_webhook_queue_t *rtm_webhook_queue_new(const rtm_webhook_queue_limits_t *limits,
                                           uint32_t n_targets)
{
    rtm_webhook_queue_t *q = calloc(1, sizeof *q);
    if (!q)
        abort();
    q->lim = limits ? *limits : rtm_webhook_queue_default_limits();
    if (q->lim.lanes == 0)
        q->lim.lanes = 1;
    if (q->lim.max_batch == 0 || q->lim.batch_ms == 0)
        q->lim.max_batch = 1; /* no window: every event alone */
    q->n_targets = n_targets;
    q->n_lanes = n_targets * q->lim.lanes;
    q->lanes = calloc(q->n_lanes ? q->n_lanes : 1, sizeof *q->lanes);
    q->stats = calloc(n_targets ? n_targets : 1, sizeof *q->stats);
    if (!q->lanes || !q->stats)
        abort();
    q->rng = q->lim.seed ? q->lim.seed : 0x9e3779b97f4a7c15ULL;
    return q;
}

static void s_free_events(s_event_t *e)
{
    while (e) {
        s_event_t *next = e->next;
        free(e);
        e = next;
    }
}

static void s_free_batch(rtm_webhook_queue_t *q, s_lane_t *lane)
{
    s_batch_t *b = lane->batch;
    q->held -= b->pub.n_events;
    s_free_events(b->events);
    free(b->body);
    free(b);
    lane->batch = NULL;
    lane->flying = false;
}

void rtm_webhook_queue_destroy(rtm_webhook_queue_t **qp)
{
    rtm_webhook_queue_t *q = *qp;
    if (!q)
        return;
    for (uint32_t i = 0; i < q->n_lanes; i++) {
        if (q->lanes[i].batch)
            s_free_batch(q, &q->lanes[i]);
        s_free_events(q->lanes[i].head);
    }
    free(q->lanes);
    free(q->stats);
    free(q);
    *qp = NULL;
}

/* FNV-1a: any stable hash spreads channels over lanes. */
static uint32_t s_hash(rtm_str_t s)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < s.len; i++)
        h = (h ^ (unsigned char)s.p[i]) * 16777619u;
    return h;
}

int rtm_webhook_queue_push(rtm_webhook_queue_t *q, uint32_t target, rtm_str_t channel,
                           rtm_str_t json, uint64_t now_ms)
{
    if (q->held >= q->lim.max_events) {
        q->stats[target].dropped++;
        return RTM_EUNAVAIL;
    }
    s_event_t *e = malloc(sizeof *e + json.len);
    if (!e)
        abort();
    *e = (s_event_t){NULL, now_ms, json.len};
    memcpy(e->json, json.p, json.len);
    s_lane_t *lane = &q->lanes[target * q->lim.lanes + s_hash(channel) % q->lim.lanes];
    if (lane->tail)
        lane->tail->next = e;
    else
        lane->head = e;
    lane->tail = e;
    lane->n++;
    q->held++;
    q->stats[target].events++;
    return 0;
}

/* Takes up to max_batch waiting events of lane i into a new batch. */
static s_batch_t *s_form(rtm_webhook_queue_t *q, uint32_t i, uint64_t now_ms, uint64_t wall_ms)
{
    s_lane_t *lane = &q->lanes[i];
    uint32_t n = lane->n < q->lim.max_batch ? lane->n : q->lim.max_batch;
    s_batch_t *b = calloc(1, sizeof *b);
    rtm_str_t *texts = malloc(n * sizeof *texts);
    if (!b || !texts)
        abort();
    b->events = lane->head;
    b->min_at_ms = lane->head->at_ms;
    s_event_t *last = NULL;
    for (uint32_t k = 0; k < n; k++) {
        last = k ? last->next : lane->head;
        texts[k] = rtm_str(last->json, last->len);
        b->sum_at_ms += last->at_ms;
    }
    lane->head = last->next;
    last->next = NULL;
    if (!lane->head)
        lane->tail = NULL;
    lane->n -= n;
    b->body = rtm_webhook_render_body(wall_ms, texts, n, &b->pub.len);
    free(texts);
    b->pub = (rtm_webhook_batch_t){(uint32_t)(i / q->lim.lanes), 1, n, b->body, b->pub.len};
    b->lane = i;
    b->first_ms = now_ms;
    lane->batch = b;
    return b;
}

/* When lane i can start its next attempt (UINT64_MAX: nothing to start). */
static uint64_t s_due_ms(const rtm_webhook_queue_t *q, const s_lane_t *lane)
{
    if (lane->batch)
        return lane->flying ? UINT64_MAX : lane->retry_at_ms;
    if (lane->n == 0)
        return UINT64_MAX;
    return lane->n >= q->lim.max_batch ? 0 : lane->head->at_ms + q->lim.batch_ms;
}

rtm_webhook_batch_t *rtm_webhook_queue_take(rtm_webhook_queue_t *q, uint64_t now_ms,
                                            uint64_t wall_ms)
{
    for (uint32_t k = 0; k < q->n_lanes; k++) {
        uint32_t i = (q->cursor + k) % q->n_lanes;
        s_lane_t *lane = &q->lanes[i];
        if (s_due_ms(q, lane) > now_ms)
            continue;
        q->cursor = (i + 1) % q->n_lanes;
        lane->flying = true;
        if (lane->batch) { /* a retry: same body */
            lane->batch->pub.attempt++;
            q->stats[lane->batch->pub.target].retried++;
            return &lane->batch->pub;
        }
        return &s_form(q, i, now_ms, wall_ms)->pub;
    }
    return NULL;
}

static uint64_t s_rand(rtm_webhook_queue_t *q)
{
    q->rng ^= q->rng << 13;
    q->rng ^= q->rng >> 7;
    q->rng ^= q->rng << 17;
    return q->rng;
}

void rtm_webhook_queue_done(rtm_webhook_queue_t *q, rtm_webhook_batch_t *batch,
                            rtm_webhook_outcome_t outcome, uint64_t now_ms)
{
    s_batch_t *b = (s_batch_t *)batch;
    s_lane_t *lane = &q->lanes[b->lane];
    rtm_webhook_stats_t *st = &q->stats[batch->target];
    if (outcome == RTM_WEBHOOK_RETRY && now_ms - b->first_ms < q->lim.retry_for_ms) {
        uint32_t shift = batch->attempt - 1 < 30 ? batch->attempt - 1 : 30;
        uint64_t d = q->lim.backoff_ms << shift;
        if (d > q->lim.backoff_max_ms || d >> shift != q->lim.backoff_ms)
            d = q->lim.backoff_max_ms;
        lane->retry_at_ms = now_ms + d / 2 + s_rand(q) % (d - d / 2 + 1);
        lane->flying = false;
        return;
    }
    if (outcome == RTM_WEBHOOK_DELIVERED) {
        st->sent += batch->n_events;
        st->requests++;
        st->latency_ms_sum += (uint64_t)batch->n_events * now_ms - b->sum_at_ms;
        if (now_ms - b->min_at_ms > st->latency_ms_max)
            st->latency_ms_max = now_ms - b->min_at_ms;
    } else {
        st->failed += batch->n_events;
    }
    s_free_batch(q, lane);
}

uint64_t rtm_webhook_queue_wait_ms(const rtm_webhook_queue_t *q, uint64_t now_ms)
{
    uint64_t best = UINT64_MAX;
    for (uint32_t i = 0; i < q->n_lanes; i++) {
        uint64_t due = s_due_ms(q, &q->lanes[i]);
        if (due != UINT64_MAX)
            best = due <= now_ms ? 0 : (due - now_ms < best ? due - now_ms : best);
    }
    return best;
}

uint64_t rtm_webhook_queue_held(const rtm_webhook_queue_t *q)
{
    return q->held;
}

uint64_t rtm_webhook_queue_target_held(const rtm_webhook_queue_t *q, uint32_t target)
{
    uint64_t n = 0;
    for (uint32_t i = target * q->lim.lanes; i < (target + 1) * q->lim.lanes; i++)
        n += q->lanes[i].n + (q->lanes[i].batch ? q->lanes[i].batch->pub.n_events : 0);
    return n;
}

const rtm_webhook_stats_t *rtm_webhook_queue_stats(const rtm_webhook_queue_t *q, uint32_t target)
{
    return &q->stats[target];
}
