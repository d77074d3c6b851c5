/* ws_session — see ws_session.h.
 *
 * One call per frame: control frames are answered here, text messages are
 * assembled (fragmentation is rare but legal), inflated when compressed
 * (permessage-deflate: RSV1 on the first frame), checked for UTF-8 and handed
 * to pusher_session. A compressed message inflates into the worker's buffer
 * with the same limit as a plain one, so a compression bomb costs no more
 * memory than an honest message. Protocol violations close with the code
 * RFC 6455 or RFC 7692 prescribes and are counted by kind. */
#include "ws_session.h"

#include "pusher_session.h"
#include "rtm_deflate.h"
#include "rtm_error.h"
#include "rtm_pusher.h"
#include "rtm_rest.h"
#include "rtm_ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_MESSAGE  RTM_WS_SESSION_MAX_MESSAGE
#define S_PROTOCOL_MIN 5 /* protocol versions whose messages rtmesh speaks: */
#define S_PROTOCOL_MAX 7 /* later ones only add messages older clients never send */

void rtm_ws_session_error(rtm_session_t *s, int code, const char *message, rtm_str_t channel)
{
    size_t len = rtm_pusher_error_len(code, message, channel); /* echoes a client's channel */
    char *body;
    rtm_frame_t *f = rtm_frame_new_text(len, &body);
    rtm_pusher_render_error(body, len, code, message, channel);
    rtm_conn_send(&s->conn, f);
    RTM_COUNT(s->ctx->metrics, messages_out_total, 1);
    RTM_COUNT_APP(s->ctx->metrics, s->app, messages_out, 1);
    RTM_COUNT_APP(s->ctx->metrics, s->app, bytes_out, f->len);
    RTM_COUNT(s->ctx->metrics, bytes_out_total, f->len);
    rtm_frame_unref(&f);
}

void rtm_ws_session_close(rtm_session_t *s, uint16_t code, const char *reason)
{
    if (s->conn.closing)
        return;
    if (code >= 4000 && code < 5000) /* Pusher codes: tell pusher-js why first */
        rtm_ws_session_error(s, code, reason, rtm_str(NULL, 0));
    rtm_frame_t *f = rtm_frame_new(RTM_WS_MAX_HEADER + RTM_WS_CLOSE_FRAME_SIZE);
    f->len = (uint32_t)rtm_ws_encode_close(f->data, RTM_WS_MAX_HEADER + RTM_WS_CLOSE_FRAME_SIZE,
                                           code, reason ? reason : "");
    rtm_conn_send(&s->conn, f);
    rtm_frame_unref(&f);
    RTM_COUNT_APP(s->ctx->metrics, s->app, closes[rtm_metrics_close_index(code)], 1);
    rtm_conn_close(&s->conn);
}

/* A Pusher refusal at connection time: counted, then pusher:error and the close. */
static void s_refuse(rtm_session_t *s, rtm_err_kind_t kind, uint16_t code, const char *message)
{
    RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, kind);
    rtm_ws_session_close(s, code, message);
}

/* The client's "protocol" parameter: 0 when acceptable (or absent), else the
 * Pusher code that refuses it. */
static int s_protocol_refusal(rtm_str_t query)
{
    rtm_query_t q;
    if (rtm_query_parse(query, &q) < 0)
        return RTM_PUSHER_BAD_VERSION;
    rtm_str_t v = rtm_query_get(&q, "protocol");
    bool present = v.p != NULL;
    long version = 0;
    size_t digits = 0;
    while (digits < v.len && digits < 6 && v.p[digits] >= '0' && v.p[digits] <= '9')
        version = version * 10 + (v.p[digits++] - '0');
    bool number = digits > 0 && digits == v.len;
    rtm_query_free(&q);
    if (!present)
        return 0;
    if (!number)
        return RTM_PUSHER_BAD_VERSION;
    return version >= S_PROTOCOL_MIN && version <= S_PROTOCOL_MAX ? 0 : RTM_PUSHER_UNSUPPORTED;
}

void rtm_ws_session_open(rtm_session_t *s, const rtm_app_t *app, rtm_str_t query)
{
    rtm_sessions_t *ctx = s->ctx;
    const rtm_node_t *node = ctx->node;
    s->kind = RTM_SESSION_WS;
    int refusal = s_protocol_refusal(query);
    if (refusal) {
        s_refuse(s, RTM_ERR_BAD_PROTOCOL, (uint16_t)refusal,
                 refusal == RTM_PUSHER_BAD_VERSION ? "Invalid version string format"
                                                   : "Unsupported protocol version");
        return;
    }
    s->app = app;
    if (!s->app) {
        s_refuse(s, RTM_ERR_UNKNOWN_APP, RTM_PUSHER_APP_UNKNOWN, "Application does not exist");
        return;
    }
    if (!rtm_app_enabled(s->app)) {
        s_refuse(s, RTM_ERR_APP_DISABLED, RTM_PUSHER_APP_DISABLED, "Application is disabled");
        return;
    }
    if (!rtm_quota_take(node->quota, s->app)) {
        s_refuse(s, RTM_ERR_OVER_QUOTA, RTM_PUSHER_OVER_QUOTA,
                 "Application is over connection quota");
        return;
    }
    if (s->app->enable_user_authentication)
        s->signin_deadline_ms = rtm_session_now(s) + (uint64_t)node->opt.user_auth_timeout * 1000;
    s->sub.socket_id_len =
        (uint8_t)snprintf(s->sub.socket_id, sizeof s->sub.socket_id, "%llu.%llu",
                          (unsigned long long)ctx->sid_prefix, (unsigned long long)ctx->sid_next++);
    s->counted = true;
    RTM_COUNT(ctx->metrics, connections, 1);
    RTM_COUNT_APP(ctx->metrics, s->app, connections, 1);
    RTM_COUNT(ctx->metrics, connections_total, 1);
    char buf[256];
    int n = rtm_pusher_render_connection_established(buf, sizeof buf, rtm_session_socket_id(s),
                                                     (int)node->opt.activity_timeout);
    rtm_session_send_text(s, buf, (size_t)n);
}

static void s_on_message(rtm_session_t *s, const uint8_t *text, size_t len)
{
    RTM_COUNT(s->ctx->metrics, messages_in_total, 1);
    RTM_COUNT_APP(s->ctx->metrics, s->app, messages_in, 1);
    if (!rtm_ws_utf8_valid(text, len)) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_BAD_UTF8);
        rtm_ws_session_close(s, RTM_WS_CLOSE_BAD_DATA, "Invalid UTF-8");
        return;
    }
    rtm_pusher_session_message(s, text, len);
}

static void s_violation(rtm_session_t *s, rtm_err_kind_t kind, uint16_t code, const char *why)
{
    RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, kind);
    rtm_ws_session_close(s, code, why);
}

/* A whole message: inflated first when compressed (RFC 7692 7.2.2). */
static void s_on_whole(rtm_session_t *s, const uint8_t *payload, size_t len, bool deflated)
{
    if (!deflated) {
        s_on_message(s, payload, len);
        return;
    }
    rtm_sessions_t *ctx = s->ctx;
    int n = rtm_deflate_inflate(ctx->deflate, payload, len, ctx->inflated, S_MAX_MESSAGE);
    if (n == RTM_ETOOBIG)
        s_violation(s, RTM_ERR_INFLATE_LIMIT, RTM_WS_CLOSE_TOO_BIG, "Message too big");
    else if (n < 0)
        s_violation(s, RTM_ERR_BAD_DEFLATE, RTM_WS_CLOSE_BAD_DATA, "Invalid compressed data");
    else
        s_on_message(s, ctx->inflated, (size_t)n);
}

/* Appends a fragment to the message being assembled; false when over limit. */
static bool s_append(rtm_session_t *s, const uint8_t *p, size_t len)
{
    if (s->msg_len + len > S_MAX_MESSAGE)
        return false;
    uint8_t *grown = realloc(s->msg, s->msg_len + len + 1);
    if (!grown)
        abort();
    s->msg = grown;
    memcpy(s->msg + s->msg_len, p, len);
    s->msg_len += (uint32_t)len;
    return true;
}

/* A data frame (text, binary, continuation). */
static void s_on_data(rtm_session_t *s, const rtm_ws_frame_t *f, const uint8_t *payload)
{
    bool assembling = s->msg != NULL;
    if (f->opcode == RTM_WS_BINARY) {
        s_violation(s, RTM_ERR_BAD_FRAME, RTM_WS_CLOSE_UNSUPPORTED,
                    "Binary frames are not supported");
        return;
    }
    if ((f->opcode == RTM_WS_CONT) != assembling) {
        s_violation(s, RTM_ERR_BAD_FRAME, RTM_WS_CLOSE_PROTOCOL, "Unexpected continuation state");
        return;
    }
    if (f->compressed && !s->sub.deflate) { /* RFC 6455 5.2: no extension gave RSV1 a meaning */
        s_violation(s, RTM_ERR_BAD_DEFLATE, RTM_WS_CLOSE_PROTOCOL,
                    "Compressed frame without permessage-deflate");
        return;
    }
    if (f->fin && !assembling) {
        s_on_whole(s, payload, f->payload_len, f->compressed);
        return;
    }
    if (!assembling)
        s->msg_deflated = f->compressed;
    if (!s_append(s, payload, f->payload_len)) {
        s_violation(s, RTM_ERR_OVERSIZE, RTM_WS_CLOSE_TOO_BIG, "Message too big");
        return;
    }
    if (f->fin) {
        uint8_t *msg = s->msg;
        uint32_t len = s->msg_len;
        s->msg = NULL;
        s->msg_len = 0;
        s_on_whole(s, msg, len, s->msg_deflated);
        free(msg);
    }
}

static void s_on_close_frame(rtm_session_t *s, const uint8_t *payload, size_t len)
{
    int code = rtm_ws_parse_close(payload, len);
    if (code < 0)
        s_violation(s, RTM_ERR_BAD_FRAME, RTM_WS_CLOSE_PROTOCOL, "Invalid close frame");
    else
        rtm_ws_session_close(
            s, code == RTM_WS_CLOSE_NO_STATUS ? RTM_WS_CLOSE_NORMAL : (uint16_t)code, NULL);
}

int rtm_ws_session_feed(rtm_session_t *s, uint8_t *data, size_t len)
{
    rtm_ws_frame_t f;
    int r = rtm_ws_parse(data, len, S_MAX_MESSAGE, &f);
    if (r == RTM_EAGAIN)
        return r;
    if (r < 0) {
        bool big = r == RTM_ETOOBIG;
        s_violation(s, big ? RTM_ERR_OVERSIZE : RTM_ERR_BAD_FRAME,
                    big ? RTM_WS_CLOSE_TOO_BIG : RTM_WS_CLOSE_PROTOCOL,
                    big ? "Frame too big" : "Protocol error");
        return r;
    }
    RTM_COUNT_APP(s->ctx->metrics, s->app, bytes_in, (uint64_t)r);
    const uint8_t *payload = data + f.header_len;
    switch (f.opcode) {
    case RTM_WS_PING: {
        rtm_frame_t *pong = rtm_frame_new(RTM_WS_MAX_HEADER + f.payload_len);
        size_t hdr = rtm_ws_encode_header(pong->data, RTM_WS_PONG, f.payload_len);
        memcpy(pong->data + hdr, payload, f.payload_len);
        pong->len = (uint32_t)(hdr + f.payload_len);
        rtm_conn_send(&s->conn, pong);
        rtm_frame_unref(&pong);
        break;
    }
    case RTM_WS_PONG: break;
    case RTM_WS_CLOSE: s_on_close_frame(s, payload, f.payload_len); break;
    default: s_on_data(s, &f, payload);
    }
    return r;
}
