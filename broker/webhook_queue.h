/* webhook_queue — what a shard still has to deliver to webhook URLs, and
 * when: batching, per-URL concurrency, retries, order, bounds.
 *
 * Every configured webhook (a "target": one entry of an app's "webhooks")
 * has `lanes` FIFO lanes, and an event goes to the lane its channel hashes
 * to. A lane has at most one request in flight or waiting to be retried, and
 * its next request starts only when that one is finished, so the events of
 * one channel reach a URL in the order they happened, across batches and
 * retries; different channels use up to `lanes` connections at once (the
 * per-URL concurrency limit). A lane's first waiting event opens a batching
 * window of batch_ms; the request goes when the window closes or max_batch
 * events wait. Requests that fail with a network error, a timeout or a 5xx
 * are retried with exponential back-off and jitter until retry_for_ms after
 * their first attempt, then given up; 2xx is delivered, another status is
 * refused at once. At most max_events events are held over all targets;
 * beyond that new events are dropped and counted.
 *
 * Pure: no sockets and no clock of its own — "now" (monotonic ms) and the
 * body's wall-clock time are passed in — so it is unit-tested without HTTP.
 * webhooks.c drives it and webhook_http.c posts what it hands out. */
#ifndef RTM_WEBHOOK_QUEUE_H
#define RTM_WEBHOOK_QUEUE_H

#include "rtm_str.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t batch_ms;       /* batching window; 0: every event is sent alone */
    uint32_t max_batch;      /* events per request at most */
    uint32_t lanes;          /* requests in flight per target at once (>= 1) */
    uint32_t max_events;     /* events held (waiting + in requests) over all targets */
    uint64_t retry_for_ms;   /* retries stop this long after a request's first attempt */
    uint64_t backoff_ms;     /* first retry delay; doubles per attempt, jittered to [d/2, d] */
    uint64_t backoff_max_ms; /* longest retry delay before jitter */
    uint64_t seed;           /* of the jitter; any value */
} rtm_webhook_queue_limits_t;

/* Defaults: 50 ms window, 100 events per request, 4 lanes, 100,000 events,
 * retries for 5 minutes starting at 1 s and capped at 60 s. */
rtm_webhook_queue_limits_t rtm_webhook_queue_default_limits(void);

/* Counters of one target since creation. */
typedef struct {
    uint64_t events;         /* events accepted */
    uint64_t sent;           /* events delivered (2xx) */
    uint64_t failed;         /* events given up: refused (4xx...) or retries exhausted */
    uint64_t dropped;        /* events not accepted: the queue was full */
    uint64_t requests;       /* requests delivered */
    uint64_t retried;        /* attempts that were retries */
    uint64_t latency_ms_sum; /* over delivered events: delivery time - event time */
    uint64_t latency_ms_max; /* the largest of those */
} rtm_webhook_stats_t;

/* How a request ended. */
typedef enum {
    RTM_WEBHOOK_DELIVERED, /* 2xx */
    RTM_WEBHOOK_RETRY,     /* network error, timeout, 5xx: try again later */
    RTM_WEBHOOK_REFUSED,   /* any other status: final */
} rtm_webhook_outcome_t;

/* A request handed out by rtm_webhook_queue_take. The fields are read-only
 * for the caller; body is borrowed until rtm_webhook_queue_done. */
typedef struct rtm_webhook_batch rtm_webhook_batch_t;
struct rtm_webhook_batch {
    uint32_t target;   /* whose request */
    uint32_t attempt;  /* 1 for the first attempt */
    uint32_t n_events; /* events in the body */
    const char *body;  /* {"time_ms":...,"events":[...]}: the exact bytes to sign and post */
    size_t len;        /* bytes of body */
};

typedef struct rtm_webhook_queue rtm_webhook_queue_t;

/* An empty queue for n_targets targets (limits NULL: the defaults); caller
 * owns it. Aborts on OOM. */
rtm_webhook_queue_t *rtm_webhook_queue_new(const rtm_webhook_queue_limits_t *limits,
                                           uint32_t n_targets);

/* Frees everything, requests in flight included (their bodies become
 * invalid), and sets *q to NULL. Safe on NULL. */
void rtm_webhook_queue_destroy(rtm_webhook_queue_t **q);

/* Queues the rendered event json (copied) for target, in the lane of
 * channel. Returns 0, or RTM_EUNAVAIL when max_events are held (the event
 * is dropped and counted). */
int rtm_webhook_queue_push(rtm_webhook_queue_t *q, uint32_t target, rtm_str_t channel,
                           rtm_str_t json, uint64_t now_ms);

/* The next request due at now_ms, or NULL when none. A new request's body
 * carries time_ms = wall_ms; a retry carries the same bytes as its first
 * attempt. The batch stays in flight until rtm_webhook_queue_done. */
rtm_webhook_batch_t *rtm_webhook_queue_take(rtm_webhook_queue_t *q, uint64_t now_ms,
                                            uint64_t wall_ms);

/* Ends an attempt of batch (from take). DELIVERED and REFUSED free it (and
 * its body); RETRY schedules another attempt, or gives the request up when
 * retry_for_ms have passed since its first attempt. */
void rtm_webhook_queue_done(rtm_webhook_queue_t *q, rtm_webhook_batch_t *batch,
                            rtm_webhook_outcome_t outcome, uint64_t now_ms);

/* Milliseconds from now_ms until take may return a request (0: now), or
 * UINT64_MAX when nothing is waiting. Requests in flight do not count. */
uint64_t rtm_webhook_queue_wait_ms(const rtm_webhook_queue_t *q, uint64_t now_ms);

/* Events held now (waiting and in requests). */
uint64_t rtm_webhook_queue_held(const rtm_webhook_queue_t *q);

/* Events of target held now (waiting and in requests). */
uint64_t rtm_webhook_queue_target_held(const rtm_webhook_queue_t *q, uint32_t target);

/* Counters of target; borrowed until the next call on q. */
const rtm_webhook_stats_t *rtm_webhook_queue_stats(const rtm_webhook_queue_t *q, uint32_t target);

#endif
