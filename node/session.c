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

#include <stddef.h>
#include <stdlib.h>

#define S_HTTP_IDLE_MS 30000 /* handshake or keep-alive idle limit */

static void s_opened(rtm_conn_t *c)
{
    rtm_session_t *s = rtm_session_of(c);
    s->ctx = c->set->data;
    s->kind = RTM_SESSION_HTTP;
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
        RTM_COUNT_ERR(s->ctx->metrics, RTM_ERR_SLOW_CONSUMER);
    if (s->counted) {
        RTM_COUNT(s->ctx->metrics, connections, -1);
        rtm_quota_release(s->ctx->node->quota, s->app);
        s->counted = false;
    }
    rtm_channels_unsubscribe_all(s->ctx->channels, &s->sub);
    rtm_rest_session_detach(s);
    rtm_presence_free(&s->user);
    free(s->msg);
    s->msg = NULL;
}

const rtm_conn_events_t rtm_session_events = {s_opened, s_feed, s_closing};

static rtm_session_t *s_of_subscriber(rtm_subscriber_t *sub)
{
    return (rtm_session_t *)((char *)sub - offsetof(rtm_session_t, sub));
}

static void s_sink_send(void *ctx, rtm_subscriber_t *sub, rtm_frame_t *f)
{
    rtm_conn_send(&s_of_subscriber(sub)->conn, f);
}

static void s_sink_terminate(void *ctx, rtm_subscriber_t *sub)
{
    rtm_ws_session_close(s_of_subscriber(sub), RTM_PUSHER_UNAUTHORIZED,
                         "Connection terminated by the app");
}

const rtm_channels_sink_t rtm_session_sink = {NULL, s_sink_send, s_sink_terminate};

void rtm_session_send_text(rtm_session_t *s, const char *text, size_t len)
{
    rtm_frame_t *f = rtm_frame_text(text, len);
    rtm_conn_send(&s->conn, f);
    RTM_COUNT(s->ctx->metrics, messages_out_total, 1);
    RTM_COUNT(s->ctx->metrics, bytes_out_total, f->len);
    rtm_frame_unref(&f);
}

void rtm_session_sweep(rtm_conn_t *c, uint64_t now_ms)
{
    rtm_session_t *s = rtm_session_of(c);
    if (s->kind == RTM_SESSION_WS)
        rtm_pusher_session_sweep(s, now_ms);
    else if (!s->rest && now_ms - c->last_rx_ms >= S_HTTP_IDLE_MS)
        rtm_conn_close(c);
}
