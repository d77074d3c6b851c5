/* rtm_upstream — a worker's ZeroMQ links to the broker shards: a transport.
 *
 * One SUB socket connected to every shard's egress carries events (for the
 * topics this worker subscribed) and shard heartbeats; one DEALER per shard
 * carries requests to that shard's ingress. A shard is live while its egress
 * heartbeats arrive (rtm_wire_live); channel owners are computed by
 * rendezvous hashing over the live shards. Requests that need an answer get a
 * correlation id and a deadline; their callback runs exactly once. What
 * arrives — events, control messages, a change of the live set — is
 * reported through callbacks: this module knows no channels. */
#ifndef RTM_UPSTREAM_H
#define RTM_UPSTREAM_H

#include "metrics.h"
#include "rtm_str.h"
#include "rtm_wire.h"
#include "rtm_zmq_watch.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Outcome of a request: status 0 when the shard accepted, else a negative
 * code (RTM_ETIMEDOUT, RTM_EUNAVAIL, RTM_ENOTOWNER, ...); json is the answer
 * of a QUERY (borrowed for the call; empty otherwise). */
typedef void (*rtm_upstream_ack_cb)(void *arg, int status, rtm_str_t json);

typedef struct rtm_pending rtm_pending_t;

typedef struct rtm_upstream rtm_upstream_t;

typedef struct {
    rtm_upstream_t *up;
    void *sock; /* DEALER to the shard's ingress */
    rtm_zmq_watch_t watch;
    uint64_t last_hb_ms;    /* last egress heartbeat (liveness) */
    uint64_t last_reply_ms; /* last ingress reply (the request path works) */
    uint64_t epoch;         /* shard's start epoch, to notice restarts */
} rtm_shard_link_t;

/* What the links report, all from inside the loop's callbacks. */
typedef struct {
    void *ctx;
    /* An event [topic][exclude][json] for a subscribed topic. */
    void (*event)(void *ctx, rtm_str_t topic, rtm_str_t exclude, rtm_str_t json);
    /* A control message [topic][body] (SYNC, MEMBER, TERMINATE). */
    void (*control)(void *ctx, rtm_str_t topic, rtm_str_t body);
    /* The set of live shards changed: channel owners may have moved. */
    void (*owners_changed)(void *ctx);
} rtm_upstream_events_t;

struct rtm_upstream {
    uv_loop_t *loop;
    const rtm_upstream_events_t *ev;
    rtm_metrics_t *metrics;
    void *sub; /* SUB connected to every shard's egress */
    rtm_zmq_watch_t sub_watch;
    rtm_shard_link_t *shards;
    uint32_t n_shards;
    bool *alive;     /* scratch for rendezvous: live shards now */
    bool *was_alive; /* live set at the previous tick, to notice changes */
    uint64_t last_hb_sent_ms;
    uint64_t next_id;
    char id[32];            /* this worker's id: heartbeats and DEALER routing id */
    rtm_pending_t *pending; /* by id (uthash), oldest first in the list */
    rtm_pending_t *oldest, *newest;
    int closing; /* handles left to close */
};

/* Creates the sockets for the n brokers (ingress endpoints; egress is the
 * next port) from zmq_ctx, with id as this worker's identity, and starts
 * watching them on loop. Everything is borrowed for up's life. Returns 0 or
 * a negative code. */
int rtm_upstream_start(rtm_upstream_t *up, uv_loop_t *loop, void *zmq_ctx, char *const *brokers,
                       uint32_t n, const char *id, const rtm_upstream_events_t *ev,
                       rtm_metrics_t *metrics);

/* The worker's tick: heartbeats every RTM_WIRE_HB_MS, request deadlines,
 * and the live-set check that reports owners_changed. */
void rtm_upstream_tick(rtm_upstream_t *up);

/* True when at least one shard is live and every live shard answers on its
 * ingress: what /readyz reports. */
bool rtm_upstream_ready(const rtm_upstream_t *up);

/* Fails every pending request (callbacks run with RTM_EUNAVAIL), then closes
 * the handles; the sockets are closed once the last handle is. */
void rtm_upstream_close(rtm_upstream_t *up);

/* Owning live shard of app's channel, or -1 when no shard is live. */
int rtm_upstream_owner(rtm_upstream_t *up, rtm_str_t app, rtm_str_t channel);

/* Sends a request that the shard answers with an ACK (PUBLISH, PRESENCE_JOIN,
 * QUERY); assigns msg->id. cb(arg, status, json) runs exactly once, never
 * inside this call. */
void rtm_upstream_request(rtm_upstream_t *up, uint32_t shard, rtm_wire_msg_t *msg,
                          rtm_upstream_ack_cb cb, void *arg);

/* Sends a message that gets no answer (id 0). Returns 0 or RTM_EUNAVAIL. */
int rtm_upstream_send(rtm_upstream_t *up, uint32_t shard, const rtm_wire_msg_t *msg);

/* Number of live shards; fills alive[0..n_shards) when non-NULL. */
uint32_t rtm_upstream_live(rtm_upstream_t *up, bool *alive);

/* Adds or drops an egress topic subscription on the SUB socket. */
void rtm_upstream_subscribe(rtm_upstream_t *up, const char *topic, size_t len, bool on);

#endif
