/* rtm_session — the protocol state of one client connection, above its
 * transport (rtm_conn) and beside the channel table.
 *
 * A connection starts as HTTP (http_session: REST API, health endpoints, the
 * WebSocket handshake) and becomes WebSocket (ws_session: framing) carrying
 * the Pusher protocol (pusher_session). This header holds what every layer
 * of a session shares: the per-connection state, the worker's session
 * context (wired by the worker), and the connection callbacks. */
#ifndef RTM_SESSION_H
#define RTM_SESSION_H

#include "channels.h"
#include "conn.h"
#include "event_rate.h"
#include "metrics.h"
#include "node.h"
#include "quota.h"
#include "rtm_presence.h"
#include "upstream.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct rtm_rest_call rtm_rest_call_t;
typedef struct rtm_rest_publish rtm_rest_publish_t;

/* What one worker's sessions share: borrowed from the worker, but for the
 * socket id counter and rest_session's queue and spares, which are theirs. */
typedef struct {
    const rtm_node_t *node;     /* options, apps; other workers' metrics and readiness */
    uv_loop_t *loop;            /* for the time */
    rtm_metrics_t *metrics;     /* this worker's counters */
    rtm_upstream_t *up;         /* links to the shards (REST, client events) */
    rtm_channels_t *channels;   /* this worker's channel table */
    rtm_deflate_t *deflate;     /* this worker's compressor and inflater (the table's too) */
    uint8_t *inflated;          /* RTM_WS_SESSION_MAX_MESSAGE bytes: a client's message inflated */
    uint64_t sid_prefix;        /* random first half of this worker's socket ids */
    uint64_t sid_next;          /* counter for the second half */
    rtm_rest_call_t *moved;     /* REST publishes to send again at the next tick (owners moved) */
    rtm_rest_publish_t *spares; /* REST publish buffers to reuse (rest_session.c) */
    uint32_t n_spares;
} rtm_sessions_t;

typedef enum { RTM_SESSION_HTTP, RTM_SESSION_WS } rtm_session_kind_t;

typedef struct {
    rtm_conn_t conn;       /* the transport; first, so the set allocates sessions */
    rtm_sessions_t *ctx;   /* the worker's sessions */
    rtm_subscriber_t sub;  /* subscriptions and socket id (the channel table's) */
    const rtm_app_t *app;  /* WebSocket: the app the client connected to */
    rtm_presence_t *user;  /* signed in as (pusher:signin); NULL before */
    rtm_rest_call_t *rest; /* REST request waiting for shard answers; reads paused */
    uint8_t *msg;          /* fragmented WebSocket message being assembled */
    uint32_t msg_len;
    bool msg_deflated;              /* that message is compressed (its first frame had RSV1) */
    uint8_t kind;                   /* rtm_session_kind_t */
    uint8_t addr_len;               /* bytes of addr: 4 or 16; 0 = no slot taken */
    uint8_t addr[16];               /* the peer's address, for its connection slot */
    bool keep_alive;                /* HTTP: keep the connection after the response */
    bool served;                    /* HTTP: a whole request arrived (the handshake is over) */
    bool counted;                   /* counted as a WebSocket connection (gauge, quota) */
    bool pinged;                    /* we sent pusher:ping and wait for any input */
    uint64_t opened_ms;             /* accepted at (loop time) */
    uint64_t ping_sent_ms;          /* when we pinged: any input after it is the reply */
    uint64_t signin_deadline_ms;    /* apps requiring sign-in: close 4009 after this; 0 = none */
    rtm_event_rate_t client_events; /* the client events it sent lately (rate limit) */
} rtm_session_t;

static inline rtm_session_t *rtm_session_of(rtm_conn_t *c)
{
    return (rtm_session_t *)c;
}

static inline uint64_t rtm_session_now(const rtm_session_t *s)
{
    return uv_now(s->ctx->loop);
}

static inline rtm_str_t rtm_session_socket_id(const rtm_session_t *s)
{
    return rtm_str(s->sub.socket_id, s->sub.socket_id_len);
}

/* The connection callbacks of sessions (rtm_conns_init's ev, with
 * sizeof(rtm_session_t) as conn_size); the set's data must point to the
 * worker's rtm_sessions_t. */
extern const rtm_conn_events_t rtm_session_events;

/* The channel table's sink: frames to a subscriber's connection, and
 * terminations (sink ctx unused). */
extern const rtm_channels_sink_t rtm_session_sink;

/* Queues a copy of text as a WebSocket text message (counted). */
void rtm_session_send_text(rtm_session_t *s, const char *text, size_t len);

/* The worker's sweep of one open connection: HTTP idle limit, Pusher
 * activity ping and its timeout, the sign-in deadline. */
void rtm_session_sweep(rtm_conn_t *c, uint64_t now_ms);

#endif
