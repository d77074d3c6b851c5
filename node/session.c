/* rtm_session — see session.h. The connection callbacks dispatch input by
 * the session's kind and release its state when closing starts; the sweep
 * holds the deadlines that belong to the protocol rather than to the
 * socket. */
#include "session.h"

#include "http_session.h"
#include "pusher_session.h"
#include "rest_session.h"
#include "rtm_error.h"
#include "rtm_pusher.h"
#include "ws_session.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Takes the connection's slot in the node's address table; false (counted)
 * when the node or the address holds its maximum. */
static bool s_take_slot(rtm_session_t *s)
{
    struct sockaddr_storage peer;
    int len = sizeof peer;
    if (uv_tcp_getpeername(&s->conn.tcp, (struct sockaddr *)&peer, &len) < 0)
        return true; /* gone already: the read reports it */
    const void *addr = &((struct sockaddr_in *)&peer)->sin_addr;
    size_t n = 4;
    if (peer.ss_family == AF_INET6) {
        addr = &((struct sockaddr_in6 *)&peer)->sin6_addr;
        n = 16;
    }
    int rc = rtm_addr_limit_take(s->ctx->node->addr_limit, addr, n);
    if (rc < 0) {
        RTM_COUNT_ERR(s->ctx->metrics, rc == RTM_ETOOBIG ? RTM_ERR_NODE_FULL : RTM_ERR_IP_LIMIT);
        return false;
    }
    memcpy(s->addr, addr, n);
    s->addr_len = (uint8_t)n;
    return true;
}

static void s_opened(rtm_conn_t *c)
{
    rtm_session_t *s = rtm_session_of(c);
    s->ctx = c->set->data;
    s->kind = RTM_SESSION_HTTP;
    s->opened_ms = c->last_rx_ms;
    if (!s_take_slot(s))
        rtm_conn_abort(c); /* at accept: a full node answers nothing */
}

static int s_feed(rtm_conn_t *c, uint8_t *data, size_t len)
{
    rtm_session_t *s = rtm_session_of(c);
    return s->kind == RTM_SESSION_HTTP ? rtm_http_session_feed(s, data, len)
                                       : rtm_ws_session_feed(s, data, len);
}

static void s_closing(rtm_conn_t *c, int why)
{
    rtm_session_t *s = rtm_session_of(c);
    if (why == RTM_ETOOBIG)
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_SLOW_CONSUMER);
    if (s->counted) {
        RTM_COUNT(s->ctx->metrics, connections, -1);
        RTM_COUNT_APP(s->ctx->metrics, s->app, connections, -1);
        rtm_quota_release(s->ctx->node->quota, s->app);
        s->counted = false;
    }
    rtm_channels_unsubscribe_all(s->ctx->channels, &s->sub);
    rtm_rest_session_detach(s);
    rtm_presence_free(&s->user);
    free(s->msg);
    s->msg = NULL;
    if (s->addr_len)
        rtm_addr_limit_release(s->ctx->node->addr_limit, s->addr, s->addr_len);
    s->addr_len = 0;
}

const rtm_conn_events_t rtm_session_events = {s_opened, s_feed, s_closing};

static rtm_session_t *s_of_subscriber(rtm_subscriber_t *sub)
{
    return (rtm_session_t *)((char *)sub - offsetof(rtm_session_t, sub));
}

/* The table counts what it sends; the session knows the app it goes to. */
static void s_sink_send(void *ctx, rtm_subscriber_t *sub, rtm_frame_t *f)
{
    rtm_session_t *s = s_of_subscriber(sub);
    rtm_conn_send(&s->conn, f);
    RTM_COUNT_APP(s->ctx->metrics, s->app, messages_out, 1);
    RTM_COUNT_APP(s->ctx->metrics, s->app, bytes_out, f->len);
}

static void s_sink_terminate(void *ctx, rtm_subscriber_t *sub)
{
    rtm_ws_session_close(s_of_subscriber(sub), RTM_PUSHER_UNAUTHORIZED,
                         "Connection terminated by the app");
}

static void s_sink_reconnect(void *ctx, rtm_subscriber_t *sub)
{
    rtm_ws_session_close(s_of_subscriber(sub), RTM_PUSHER_RECONNECT,
                         "A channel's broker cannot be reached from this node");
}

const rtm_channels_sink_t rtm_session_sink = {NULL, s_sink_send, s_sink_terminate,
                                              s_sink_reconnect};

void rtm_session_send_text(rtm_session_t *s, const char *text, size_t len)
{
    rtm_frame_t *f = rtm_frame_text(text, len);
    rtm_conn_send(&s->conn, f);
    RTM_COUNT(s->ctx->metrics, messages_out_total, 1);
    RTM_COUNT_APP(s->ctx->metrics, s->app, messages_out, 1);
    RTM_COUNT_APP(s->ctx->metrics, s->app, bytes_out, f->len);
    RTM_COUNT(s->ctx->metrics, bytes_out_total, f->len);
    rtm_frame_unref(&f);
}

void rtm_session_sweep(rtm_conn_t *c, uint64_t now_ms)
{
    rtm_session_t *s = rtm_session_of(c);
    const rtm_node_options_t *opt = &s->ctx->node->opt;
    if (s->kind == RTM_SESSION_WS) {
        rtm_pusher_session_sweep(s, now_ms);
    } else if (s->rest) {
        /* waiting for shards: the request's own deadline answers it */
    } else if (!s->served && now_ms - s->opened_ms >= (uint64_t)opt->handshake_timeout * 1000) {
        RTM_COUNT_ERR(s->ctx->metrics, RTM_ERR_HANDSHAKE_TIMEOUT);
        rtm_conn_abort(c); /* a slow or silent peer: nothing worth sending */
    } else if (s->served && now_ms - c->last_rx_ms >= (uint64_t)opt->http_idle_timeout * 1000) {
        RTM_COUNT_ERR(s->ctx->metrics, RTM_ERR_HTTP_IDLE);
        rtm_conn_close(c);
    }
}
