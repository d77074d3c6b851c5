/* ws_session — the WebSocket layer of a client connection.
 *
 * One call per frame: control frames are answered here, text messages are
 * assembled (fragmentation is rare but legal), checked for UTF-8 and handed
 * to pusher_session. Protocol violations close with the code RFC 6455
 * prescribes and are counted by kind. Opening a session greets the client
 * with its socket id, or refuses it with the Pusher close code that fits. */
#include "session.h"

#include "quota.h"

#include "rtm_error.h"
#include "rtm_pusher.h"
#include "rtm_ws.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_MESSAGE (64 * 1024) /* inbound frame or assembled message */

void rtm_ws_session_error(rtm_conn_t *c, int code, const char *message, rtm_str_t channel)
{
    size_t len = rtm_pusher_error_len(code, message, channel); /* echoes a client's channel */
    char *buf = malloc(len);
    if (!buf)
        abort();
    rtm_pusher_render_error(buf, len, code, message, channel);
    rtm_conn_send_text(c, buf, len);
    free(buf);
}

void rtm_ws_session_open(rtm_conn_t *c, rtm_str_t app_key)
{
    rtm_worker_t *w = c->w;
    c->state = RTM_CONN_WS;
    c->app = rtm_apps_by_key(&w->node->apps, app_key);
    if (!c->app) {
        RTM_COUNT_ERR(&w->metrics, RTM_ERR_UNKNOWN_APP);
        rtm_ws_session_error(c, 4001, "Application does not exist", rtm_str(NULL, 0));
        rtm_conn_close(c, 4001, "Application does not exist");
        return;
    }
    if (!rtm_quota_take(w, c->app)) {
        RTM_COUNT_ERR(&w->metrics, RTM_ERR_OVER_QUOTA);
        rtm_ws_session_error(c, 4004, "Application is over connection quota", rtm_str(NULL, 0));
        rtm_conn_close(c, 4004, "Application is over connection quota");
        return;
    }
    if (c->app->enable_user_authentication)
        c->signin_deadline_ms = uv_now(&w->loop) + (uint64_t)w->node->opt.user_auth_timeout * 1000;
    c->socket_id_len =
        (uint8_t)snprintf(c->socket_id, sizeof c->socket_id, "%llu.%llu",
                          (unsigned long long)w->sid_prefix, (unsigned long long)w->sid_next++);
    c->counted = true;
    RTM_COUNT(&w->metrics, connections, 1);
    RTM_COUNT(&w->metrics, connections_total, 1);
    char buf[256];
    int n = rtm_pusher_render_connection_established(buf, sizeof buf,
                                                     rtm_str(c->socket_id, c->socket_id_len),
                                                     (int)w->node->opt.activity_timeout);
    rtm_conn_send_text(c, buf, (size_t)n);
}

static void s_on_message(rtm_conn_t *c, const uint8_t *text, size_t len)
{
    RTM_COUNT(&c->w->metrics, messages_in_total, 1);
    if (!rtm_ws_utf8_valid(text, len)) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_BAD_UTF8);
        rtm_conn_close(c, 1007, "Invalid UTF-8");
        return;
    }
    rtm_pusher_session_message(c, text, len);
}

/* Appends a fragment to the message being assembled; false when over limit. */
static bool s_append(rtm_conn_t *c, const uint8_t *p, size_t len)
{
    if (c->msg_len + len > S_MAX_MESSAGE)
        return false;
    uint8_t *grown = realloc(c->msg, c->msg_len + len + 1);
    if (!grown)
        abort();
    c->msg = grown;
    memcpy(c->msg + c->msg_len, p, len);
    c->msg_len += (uint32_t)len;
    return true;
}

/* A data frame (text, binary, continuation). */
static void s_on_data(rtm_conn_t *c, const rtm_ws_frame_t *f, const uint8_t *payload)
{
    bool assembling = c->msg != NULL;
    if (f->opcode == RTM_WS_BINARY) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_BAD_FRAME);
        rtm_conn_close(c, 1003, "Binary frames are not supported");
        return;
    }
    if ((f->opcode == RTM_WS_CONT) != assembling) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_BAD_FRAME);
        rtm_conn_close(c, 1002, "Unexpected continuation state");
        return;
    }
    if (f->fin && !assembling) {
        s_on_message(c, payload, f->payload_len);
        return;
    }
    if (!s_append(c, payload, f->payload_len)) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_OVERSIZE);
        rtm_conn_close(c, 1009, "Message too big");
        return;
    }
    if (f->fin) {
        uint8_t *msg = c->msg;
        uint32_t len = c->msg_len;
        c->msg = NULL;
        c->msg_len = 0;
        s_on_message(c, msg, len);
        free(msg);
    }
}

static void s_on_close_frame(rtm_conn_t *c, const uint8_t *payload, size_t len)
{
    int code = rtm_ws_parse_close(payload, len);
    if (code < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_BAD_FRAME);
        rtm_conn_close(c, 1002, "Invalid close frame");
    } else {
        rtm_conn_close(c, code == RTM_WS_CLOSE_NO_STATUS ? 1000 : (uint16_t)code, NULL);
    }
}

int rtm_ws_session_feed(rtm_conn_t *c, uint8_t *data, size_t len)
{
    rtm_ws_frame_t f;
    int r = rtm_ws_parse(data, len, S_MAX_MESSAGE, &f);
    if (r == RTM_EAGAIN)
        return r;
    if (r < 0) {
        RTM_COUNT_ERR(&c->w->metrics, r == RTM_ETOOBIG ? RTM_ERR_OVERSIZE : RTM_ERR_BAD_FRAME);
        rtm_conn_close(c, r == RTM_ETOOBIG ? 1009 : 1002,
                       r == RTM_ETOOBIG ? "Frame too big" : "Protocol error");
        return r;
    }
    const uint8_t *payload = data + f.header_len;
    switch (f.opcode) {
    case RTM_WS_PING: {
        rtm_frame_t *pong = rtm_frame_new(RTM_WS_MAX_HEADER + f.payload_len);
        size_t hdr = rtm_ws_encode_header(pong->data, RTM_WS_PONG, f.payload_len);
        memcpy(pong->data + hdr, payload, f.payload_len);
        pong->len = (uint32_t)(hdr + f.payload_len);
        rtm_conn_send(c, pong);
        rtm_frame_unref(&pong);
        break;
    }
    case RTM_WS_PONG: break;
    case RTM_WS_CLOSE: s_on_close_frame(c, payload, f.payload_len); break;
    default: s_on_data(c, &f, payload);
    }
    return r;
}
