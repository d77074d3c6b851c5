/* rtm_conn — one client TCP connection: HTTP first, WebSocket after upgrade.
 *
 * Owns the socket, the partial-input buffer (allocated only while a frame or
 * request is incomplete — idle connections hold none), the frames queued for
 * writing this loop turn, and the connection's subscriptions. Everything is
 * freed in the close callback, never inside the call that requested the close.
 * Protocol logic lives in http_session.c and ws_session.c; this file is I/O. */
#ifndef RTM_CONN_H
#define RTM_CONN_H

#include "rtm_apps.h"
#include "frame.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define RTM_CONN_PEND 8 /* frames corked per turn before an early flush */

typedef struct rtm_worker rtm_worker_t;
typedef struct rtm_channel rtm_channel_t;
typedef struct rtm_rest_call rtm_rest_call_t;

typedef enum { RTM_CONN_HTTP, RTM_CONN_WS, RTM_CONN_CLOSING } rtm_conn_state_t;

typedef struct rtm_presence rtm_presence_t;

/* Where a subscription stands: waiting for the channel's SYNC from its shard,
 * waiting for the shard to accept a presence member, or delivering. */
typedef enum { RTM_SUB_PENDING, RTM_SUB_JOINING, RTM_SUB_ACTIVE } rtm_sub_state_t;

typedef struct {
    rtm_channel_t *channel;   /* subscribed channel */
    uint32_t slot;            /* our index in channel->subs */
    uint8_t state;            /* rtm_sub_state_t */
    bool silent;              /* made by sign-in: no subscription_succeeded until asked */
    rtm_presence_t *presence; /* presence channels: who this connection is (owned) */
} rtm_conn_sub_t;

typedef struct rtm_conn {
    uv_tcp_t tcp;                 /* the socket; tcp.data points back here */
    rtm_worker_t *w;              /* owning worker */
    struct rtm_conn *prev, *next; /* worker's list of connections */
    struct rtm_conn *dirty_next;  /* worker's flush list while pend is non-empty */
    uint8_t *in;                  /* partial input; NULL while nothing is pending */
    uint32_t in_len, in_cap;
    uint8_t *msg; /* fragmented WebSocket message being assembled */
    uint32_t msg_len;
    rtm_frame_t *pend[RTM_CONN_PEND]; /* frames queued this turn, written as one writev */
    uint8_t n_pend;
    uint8_t state;        /* rtm_conn_state_t */
    bool dirty;           /* on the worker's flush list */
    bool pinged;          /* we sent pusher:ping and wait for any input */
    bool counted;         /* counted in the connections gauge */
    bool keep_alive;      /* HTTP: keep the connection after the response */
    uint8_t fail;         /* a write failed during a send: close at flush */
    bool closed;          /* handle closed; memory freed by the pending flush */
    uint64_t last_rx_ms;  /* loop time of the last input */
    uint64_t deadline_ms; /* CLOSING: hard-close time; HTTP: idle limit */
    const rtm_app_t *app; /* WebSocket: the app the client connected to */
    rtm_conn_sub_t *subs; /* subscriptions, unordered */
    uint32_t n_subs, cap_subs;
    rtm_rest_call_t *rest;        /* REST request waiting for shard acks; reads paused */
    rtm_presence_t *user;         /* signed in as (pusher:signin); NULL before */
    uint64_t signin_deadline_ms;  /* apps requiring sign-in: close 4009 after this; 0 = none */
    uint32_t client_event_second; /* rate limit window (loop time in s) */
    uint8_t client_events;        /* client events sent in that second */
    uint8_t socket_id_len;
    char socket_id[31]; /* "<worker prefix>.<counter>" */
} rtm_conn_t;

/* Accepts a pending connection on the worker's listener. */
void rtm_conn_accept(rtm_worker_t *w, uv_stream_t *listener);

/* Queues a frame (takes a new reference; the caller keeps its own). Written
 * at the end of the loop turn together with the connection's other frames. */
void rtm_conn_send(rtm_conn_t *c, rtm_frame_t *f);

/* Queues a copy of len bytes as a WebSocket text message. */
void rtm_conn_send_text(rtm_conn_t *c, const char *text, size_t len);

/* Writes every queued frame now (uv_try_write, then uv_write for the rest).
 * The worker calls it once per turn for each connection on its dirty list;
 * a connection closed meanwhile is freed here instead. */
void rtm_conn_flush(rtm_conn_t *c);

/* Starts closing. A WebSocket close code (0: none) sends a close frame first;
 * queued frames are still written. Idempotent; frees in the close callback. */
void rtm_conn_close(rtm_conn_t *c, uint16_t ws_code, const char *reason);

/* Closes now, dropping unsent frames (a peer that would not drain). */
void rtm_conn_abort(rtm_conn_t *c);

/* Stops reading while a REST request waits for shards; resume processes any
 * pipelined bytes already buffered. */
void rtm_conn_pause(rtm_conn_t *c);
void rtm_conn_resume(rtm_conn_t *c);

/* Called by the worker's sweep: pings idle clients, closes dead ones. */
void rtm_conn_sweep(rtm_conn_t *c, uint64_t now_ms);

#endif
