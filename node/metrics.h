/* rtm_metrics — per-worker counters, summed across workers for /metrics.
 *
 * Each worker writes only its own struct; the metrics endpoint, served by any
 * worker, reads every worker's. Writes are relaxed atomic stores of a plain
 * increment (a single mov on x86: no lock on the data path) and reads are
 * relaxed atomic loads, so the sharing is race-free without contention. */
#ifndef RTM_METRICS_H
#define RTM_METRICS_H

#include "rtm_apps.h"
#include "rtm_prom.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a peer's input was refused or a connection closed abnormally. */
typedef enum {
    RTM_ERR_BAD_HTTP,          /* unparseable HTTP request */
    RTM_ERR_BAD_FRAME,         /* WebSocket protocol violation */
    RTM_ERR_BAD_UTF8,          /* text frame not UTF-8 */
    RTM_ERR_OVERSIZE,          /* frame or request over its limit */
    RTM_ERR_BAD_JSON,          /* text frame not a Pusher message */
    RTM_ERR_UNKNOWN_APP,       /* unknown app key or id */
    RTM_ERR_BAD_CHANNEL,       /* invalid channel name or type, or a channel limit */
    RTM_ERR_BAD_AUTH,          /* channel signature or sign-in rejected */
    RTM_ERR_CLIENT_EVENT,      /* client event refused (rules, rate, size) */
    RTM_ERR_OVER_QUOTA,        /* app over its connection limit */
    RTM_ERR_REST_AUTH,         /* REST request signature rejected */
    RTM_ERR_REST_INVALID,      /* REST body or route rejected */
    RTM_ERR_SLOW_CONSUMER,     /* outbound queue over its limit */
    RTM_ERR_PONG_TIMEOUT,      /* no reply to our ping */
    RTM_ERR_UPSTREAM,          /* no live shard, or a shard refused */
    RTM_ERR_UPSTREAM_BAD,      /* malformed message from a broker */
    RTM_ERR_HANDSHAKE_TIMEOUT, /* no complete first request within the handshake timeout */
    RTM_ERR_HTTP_IDLE,         /* HTTP keep-alive connection idle too long */
    RTM_ERR_HEADERS,           /* request head over its size or header-count limit (431) */
    RTM_ERR_CHANNEL_LIMIT,     /* subscribe over the channels-per-connection limit */
    RTM_ERR_NODE_FULL,         /* connection closed at accept: the node holds its maximum */
    RTM_ERR_IP_LIMIT,          /* connection closed at accept: its address holds its maximum */
    RTM_ERR_BAD_PROTOCOL,      /* malformed (4006) or unsupported (4007) protocol version */
    RTM_ERR_ACCEPT_PAUSED,     /* out of file descriptors: accepting paused for a moment */
    RTM_ERR_DRAINING,          /* WebSocket upgrade refused (503): the node is draining */
    RTM_ERR_APP_DISABLED,      /* connection (4003) or REST call (403) of a disabled app */
    RTM_ERR_WATCHLIST_LIMIT,   /* sign-in watchlist over 100 user ids (pusher:error 4302) */
    RTM_ERR_BAD_DEFLATE,       /* RSV1 without permessage-deflate, or bad compressed data */
    RTM_ERR_INFLATE_LIMIT,     /* compressed message inflating past the message limit */
    RTM_ERR_TLS, /* TLS refused: a bad, truncated or refused handshake, a bad record */
    RTM_ERR_KIND_COUNT
} rtm_err_kind_t;

/* Brokers a worker reports a number of (rtm_metrics_per_broker_t): beyond
 * that many, the rest are left out of the family. */
#define RTM_METRICS_OWNERS 64

/* One worker's number for each broker, stored by the worker at its tick
 * (rtm_metrics_per_broker_set) and summed by broker across the workers when
 * rendered: how workers tell what only they may read (their channel table,
 * their pending requests) to the one serving /metrics. */
typedef struct {
    uint64_t n; /* entries of of[] in use */
    struct {
        uint64_t seed;  /* the broker's rendezvous seed; 0 = none (no live owner) */
        uint64_t count; /* the worker's number for it */
    } of[RTM_METRICS_OWNERS];
} rtm_metrics_per_broker_t;

/* Sets entry k (below RTM_METRICS_OWNERS) of b to seed's count. */
static inline void rtm_metrics_per_broker_set(rtm_metrics_per_broker_t *b, size_t k, uint64_t seed,
                                              uint64_t count)
{
    __atomic_store_n(&b->of[k].seed, seed, __ATOMIC_RELAXED);
    __atomic_store_n(&b->of[k].count, count, __ATOMIC_RELAXED);
}

/* Bounds of the REST publish latency histogram (rtm_metrics_publish_observe). */
#define RTM_METRICS_PUBLISH_BOUNDS 12

/* Close codes the node sends that rtmesh_app_closes_total tells apart: the
 * Pusher codes of rtm_pusher.h and the RFC 6455 codes of rtm_ws.h; any other
 * (the echo of a client's own code) is counted as "other", the last index. */
#define RTM_METRICS_CLOSE_CODES 16

/* Index of close code `code` in rtm_metrics_app_t.closes (the last one for a
 * code outside the table). */
size_t rtm_metrics_close_index(int code);

/* One app's counters in one worker (the app's rtm_app_t.index). */
typedef struct {
    uint64_t connections;   /* gauge: open WebSocket connections of the app */
    uint64_t subscriptions; /* gauge: their connection-channel subscriptions */
    uint64_t channels;      /* gauge: the app's channels with a subscriber in this worker */
    uint64_t messages_in;   /* Pusher messages from its clients */
    uint64_t messages_out;  /* frames queued to its clients */
    uint64_t bytes_in;      /* bytes of the WebSocket frames its clients sent */
    uint64_t bytes_out;     /* bytes of the frames queued to them */
    uint64_t errors[RTM_ERR_KIND_COUNT];      /* its share of rtm_metrics_t.errors */
    uint64_t closes[RTM_METRICS_CLOSE_CODES]; /* close frames sent to its clients, by code */
} rtm_metrics_app_t;

typedef struct {
    uint64_t connections;            /* gauge: open WebSocket connections */
    uint64_t connections_total;      /* WebSocket handshakes completed */
    uint64_t subscriptions;          /* gauge: connection-channel subscriptions */
    uint64_t channels;               /* gauge: channels with a local subscriber */
    uint64_t messages_in_total;      /* Pusher messages received from clients */
    uint64_t messages_out_total;     /* frames queued to clients */
    uint64_t bytes_in_total;         /* bytes read from sockets */
    uint64_t bytes_out_total;        /* bytes queued to sockets */
    uint64_t rest_requests_total;    /* HTTP requests other than upgrades */
    uint64_t events_published;       /* REST events every owning shard accepted */
    uint64_t rest_rerouted;          /* REST publishes sent again: a shard said another owns */
    uint64_t events_received;        /* events received from shards */
    uint64_t broker_list_mismatches; /* times a broker's list started to differ from ours */
    uint64_t channels_unreachable;   /* channels given up on: their new owner never confirmed */
    uint64_t held_dropped;           /* events, SYNCs, MEMBERs dropped: held on the wire */
    uint64_t relay_dropped;          /* messages dropped: this worker's relay inbox was full */
    uint64_t deflated;               /* broadcasts compressed (once per event per worker) */
    uint64_t deflate_in_bytes;       /* their frame bytes before compression */
    uint64_t deflate_out_bytes;      /* and after */
    uint64_t deflated_out;           /* compressed frames queued to clients (deliveries) */
    uint64_t tls_handshakes_total;   /* TLS handshakes completed */
    uint64_t tls_resumed_total;      /* of which resumed an earlier session (a ticket) */
    uint64_t tls_offloaded_total;    /* of which left OpenSSL for our TLS 1.3 records */
    uint64_t errors[RTM_ERR_KIND_COUNT];
    uint64_t publish_buckets[RTM_METRICS_PUBLISH_BOUNDS + 1]; /* acknowledged REST publishes by
                                                               * latency bucket (non-cumulative) */
    uint64_t publish_ns_sum;                                  /* their latencies, summed, ns */
    rtm_metrics_app_t *apps; /* n_apps, by rtm_app_t.index; owned by the worker; NULL: none */
    size_t n_apps;
    rtm_metrics_per_broker_t owned;   /* channels of this worker each broker owns */
    rtm_metrics_per_broker_t pending; /* requests waiting for each listed broker's ACK */
} rtm_metrics_t;

#define RTM_COUNT(m, field, n) __atomic_store_n(&(m)->field, (m)->field + (n), __ATOMIC_RELAXED)
#define RTM_COUNT_ERR(m, kind) RTM_COUNT(m, errors[kind], 1)
/* Counts for app (a const rtm_app_t *; nothing when NULL: not known yet). */
#define RTM_COUNT_APP(m, app, field, n)                                                            \
    do {                                                                                           \
        size_t app_index_ = (app) ? (app)->index : SIZE_MAX;                                       \
        if (app_index_ < (m)->n_apps)                                                              \
            RTM_COUNT(m, apps[app_index_].field, n);                                               \
    } while (0)
/* Counts an error of kind node-wide and, when app is known, for app. */
#define RTM_COUNT_APP_ERR(m, app, kind)                                                            \
    do {                                                                                           \
        rtm_err_kind_t kind_ = (kind);                                                             \
        RTM_COUNT_ERR(m, kind_);                                                                   \
        RTM_COUNT_APP(m, app, errors[kind_], 1);                                                   \
    } while (0)

/* Counts an acknowledged REST publish that took ns from its arrival to the
 * last owner's acknowledgement. */
void rtm_metrics_publish_observe(rtm_metrics_t *m, uint64_t ns);

/* One broker shard as the serving worker sees it. */
typedef struct {
    const char *endpoint; /* its ingress endpoint, as listed */
    uint64_t seed;        /* its rendezvous seed (the key of rtm_metrics_t.owned, .pending) */
    bool live;            /* its heartbeats arrive */
    bool mismatch;        /* its broker list differs from ours (by digest) */
    const char *state;    /* "live", "dead", "joining" (listed at run time, heard, not yet
                           * routed to) or "unlisted" (removed, still heard); static */
} rtm_metrics_shard_t;

/* Appends the node's identity, the sum of n workers' metrics (per app of
 * apps too), the readiness and the shards' liveness, channel shares and
 * pending requests to p, in Prometheus text format (rtm_prom escapes the
 * label values). */
void rtm_metrics_render(const char *node_id, const rtm_metrics_t *const *per_worker, size_t n,
                        const rtm_apps_t *apps, int ready, const rtm_metrics_shard_t *shards,
                        size_t n_shards, rtm_prom_t *p);

#endif
