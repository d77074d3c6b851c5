/* rtm_relay — what crosses between a node's workers: tier messages and the
 * inboxes that carry them.
 *
 * The node hears each broker's egress once, in worker 0's loop (the egress
 * hub, node/egress_hub.h), and hands what arrives to the workers that want
 * it; workers hand the hub the topics they want. A message is immutable once
 * made and reference-counted (atomically: every worker it is handed to holds
 * a reference), so one event is decoded and framed once per node. An inbox
 * is one consumer's queue: producers append under its mutex, a batch at a
 * time, and wake the consumer's loop through a uv_async_t (coalesced: one
 * wake-up for everything appended before the consumer runs); the consumer
 * takes everything queued at once and handles it in order. An inbox lives as
 * long as the process (in rtm_node_t) and is open only while its consumer's
 * loop runs: appending to a closed one drops the messages, so a producer
 * never touches a loop that has stopped.
 *
 * A worker's inbox is bounded (rtm_relay_inbox_limit): a consumer that falls
 * that far behind the producer loses what comes next, not the node's memory.
 * Once a message is dropped, everything after it is dropped too (heartbeats
 * excepted: they are few, and liveness must not stall) until the consumer
 * takes what waits; then it is told how many it lost, after handling the rest
 * and before anything newer, so it can give up what they concerned. */
#ifndef RTM_RELAY_H
#define RTM_RELAY_H

#include "frame.h"
#include "rtm_str.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef enum {
    RTM_RELAY_EVENT,     /* [topic][exclude][json] from a broker's egress */
    RTM_RELAY_CONTROL,   /* [topic][body]: SYNC, MEMBER, TERMINATE, MOVED */
    RTM_RELAY_HEARTBEAT, /* a broker's heartbeat body (RTM_WIRE_HB_TOPIC) */
    RTM_RELAY_WANT,      /* a worker wants topic (to the hub) */
    RTM_RELAY_DROP,      /* a worker no longer wants topic (to the hub) */
} rtm_relay_kind_t;

typedef struct {
    uint32_t refs;      /* atomic */
    uint8_t kind;       /* rtm_relay_kind_t */
    uint8_t worker;     /* WANT, DROP: the worker */
    uint64_t broker;    /* from a broker: its rendezvous seed (rtm_brokers_t.seeds) */
    uint64_t heard_ms;  /* from a broker: when the hub read it (uv_now of the hub's loop:
                         * the same monotonic clock as every worker's loop) */
    rtm_frame_t *frame; /* EVENT: json as a WebSocket text frame, made once */
    rtm_str_t topic;    /* every kind but HEARTBEAT */
    rtm_str_t exclude;  /* EVENT: the socket id not to deliver to */
    rtm_str_t body;     /* EVENT: json (inside frame); CONTROL, HEARTBEAT: the body */
    char data[];        /* topic, exclude and body bytes (but an event's json) */
} rtm_relay_msg_t;

/* A message of kind with copies of topic, exclude and body (empty when the
 * kind has none); an event's body is framed. One reference (the caller's);
 * aborts on OOM. */
rtm_relay_msg_t *rtm_relay_msg_new(rtm_relay_kind_t kind, rtm_str_t topic, rtm_str_t exclude,
                                   rtm_str_t body);

static inline rtm_relay_msg_t *rtm_relay_msg_ref(rtm_relay_msg_t *m)
{
    __atomic_fetch_add(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

/* Drops one reference (freeing on the last) and nulls the caller's pointer. */
void rtm_relay_msg_unref(rtm_relay_msg_t **m);

/* The consumer's handler: m is borrowed for the call. */
typedef void (*rtm_relay_handle_fn)(void *ctx, const rtm_relay_msg_t *m);

/* A growable array of messages (each a reference). */
typedef struct {
    rtm_relay_msg_t **items;
    size_t n, cap;
} rtm_relay_batch_t;

/* Appends m (steals the reference). Aborts on OOM. */
void rtm_relay_batch_add(rtm_relay_batch_t *b, rtm_relay_msg_t *m);

/* Drops every reference of b and frees its array. */
void rtm_relay_batch_free(rtm_relay_batch_t *b);

/* The consumer's news that messages were dropped since it last took its
 * inbox (dropped: how many), after it handled those that were not. */
typedef void (*rtm_relay_lost_fn)(void *ctx, uint64_t dropped);

/* What a worker's inbox may hold untaken: the bytes its messages carry. */
#define RTM_RELAY_INBOX_MAX_BYTES (16u << 20)

typedef struct {
    pthread_mutex_t lock;
    rtm_relay_batch_t queued; /* under lock */
    bool open;                /* under lock: wake is live */
    size_t queued_bytes;      /* under lock: what queued carries */
    uint64_t dropped;         /* under lock: dropped since the consumer last took queued */
    size_t max_bytes;         /* 0: no bound */
    rtm_relay_lost_fn lost;
    rtm_relay_batch_t taken; /* the consumer's: what it is handling */
    uv_async_t wake;         /* on the consumer's loop */
    rtm_relay_handle_fn handle;
    void *ctx;
} rtm_relay_inbox_t;

/* Makes a closed inbox (any thread, before any other call). */
void rtm_relay_inbox_init(rtm_relay_inbox_t *in);

/* Bounds in to max_bytes (before it opens): lost(ctx, n) is called on the
 * consumer's loop when messages were dropped. */
void rtm_relay_inbox_limit(rtm_relay_inbox_t *in, size_t max_bytes, rtm_relay_lost_fn lost);

/* Opens in on the consumer's loop: from then each message appended is
 * handled there, in order, by handle(ctx, m). Returns 0 or a libuv error. */
int rtm_relay_inbox_open(rtm_relay_inbox_t *in, uv_loop_t *loop, rtm_relay_handle_fn handle,
                         void *ctx);

/* Appends b's messages (steals them: b is left empty, its array kept) and
 * wakes the consumer; any thread. Past the bound they are dropped (see
 * above). Returns false, with the messages dropped, when in is closed. */
bool rtm_relay_inbox_add(rtm_relay_inbox_t *in, rtm_relay_batch_t *b);

/* Closes in from its consumer's loop: nothing more is appended, what waits
 * is dropped, and the wake handle is closed by the loop's next turn. */
void rtm_relay_inbox_close(rtm_relay_inbox_t *in);

/* Frees what a closed inbox still holds (any thread, once no producer and
 * no consumer is left). */
void rtm_relay_inbox_destroy(rtm_relay_inbox_t *in);

#endif
