/* http_session — see http_session.h. Requests are parsed whole (head and
 * body) before anything is answered; a request that is malformed or over its
 * limits is answered 400/413 and the connection closed. */
#define _GNU_SOURCE /* memmem */
#include "http_session.h"

#include "rest_session.h"
#include "rtm_error.h"
#include "rtm_http.h"
#include "rtm_rest.h"
#include "rtm_ws_ext.h"
#include "ws_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_BODY (256 * 1024) /* a full batch of maximum events, with room */

/* The response; without_body: only its head (the answer to HEAD, whose
 * Content-Length is still the body's). */
static void s_respond(rtm_session_t *s, int status, const char *type, const char *body, size_t len,
                      bool without_body)
{
    size_t head = rtm_http_response_head_len(status, type, len, s->keep_alive);
    rtm_frame_t *f = rtm_frame_new(head + len);
    int n = rtm_http_write_response((char *)f->data, head + len, status, type, body, len,
                                    s->keep_alive);
    f->len = n <= 0 ? 0 : without_body ? (uint32_t)head : (uint32_t)n;
    rtm_conn_send(&s->conn, f);
    rtm_frame_unref(&f);
    if (!s->keep_alive)
        rtm_conn_close(&s->conn);
}

void rtm_http_respond(rtm_session_t *s, int status, const char *type, const char *body, size_t len)
{
    s_respond(s, status, type, body, len, false);
}

void rtm_http_respond_error(rtm_session_t *s, int status, const char *message)
{
    size_t len = rtm_rest_error_len(message);
    char *body = malloc(len);
    if (!body)
        abort();
    rtm_rest_render_error(body, len, message);
    rtm_http_respond(s, status, "application/json", body, len);
    free(body);
}

static void s_respond_text(rtm_session_t *s, int status, const char *text)
{
    rtm_http_respond(s, status, "text/plain", text, strlen(text));
}

static void s_metrics(rtm_session_t *s)
{
    const rtm_node_t *node = s->ctx->node;
    rtm_upstream_t *up = s->ctx->up;
    rtm_metrics_shard_t *shards;
    size_t n = rtm_upstream_brokers(up, &shards);
    rtm_prom_t text;
    rtm_prom_init(&text);
    rtm_metrics_render(node->id, (const rtm_metrics_t *const *)node->metrics,
                       (size_t)node->n_workers, &node->apps, rtm_node_ready(node), shards, n,
                       &text);
    if (node->tls)
        rtm_tls_render_metrics(node->tls, &text);
    free(shards);
    rtm_http_respond(s, 200, "text/plain; version=0.0.4", text.buf, text.len);
    rtm_prom_free(&text);
}

static void s_upgrade(rtm_session_t *s, const rtm_http_request_t *req, rtm_str_t key)
{
    if (rtm_node_draining(s->ctx->node)) { /* the client retries, on another node */
        RTM_COUNT_ERR(s->ctx->metrics, RTM_ERR_DRAINING);
        s->keep_alive = false;
        rtm_http_respond_error(s, 503, "Node draining: connect to another node");
        return;
    }
    if (!rtm_str_eq_cstr(req->ws_version, "13") || req->ws_key.len == 0) {
        RTM_COUNT_ERR(s->ctx->metrics, RTM_ERR_BAD_HTTP);
        s->keep_alive = false;
        rtm_http_respond_error(s, 400, "WebSocket version 13 and a key are required");
        return;
    }
    const rtm_node_t *node = s->ctx->node;
    const rtm_app_t *app = rtm_apps_by_key(&node->apps, key); /* unknown: refused once open */
    s->sub.deflate = node->opt.compression && app && app->compression &&
                     rtm_ws_ext_accept_deflate(req->ws_extensions);
    char buf[256];
    int n = rtm_http_write_upgrade(buf, sizeof buf, req->ws_key,
                                   s->sub.deflate ? RTM_WS_EXT_DEFLATE_RESPONSE : NULL);
    rtm_frame_t *f = rtm_frame_new((size_t)n);
    memcpy(f->data, buf, (size_t)n);
    rtm_conn_send(&s->conn, f);
    rtm_frame_unref(&f);
    rtm_ws_session_open(s, app, req->query);
}

bool rtm_http_path_segment(rtm_str_t path, const char *prefix, rtm_str_t *seg, rtm_str_t *rest)
{
    if (!rtm_str_has_prefix(path, prefix))
        return false;
    size_t start = strlen(prefix), end = start;
    while (end < path.len && path.p[end] != '/')
        end++;
    *seg = rtm_str(path.p + start, end - start);
    *rest = rtm_str(path.p + end, path.len - end);
    return seg->len > 0;
}

static void s_route(rtm_session_t *s, const rtm_http_request_t *req)
{
    rtm_str_t seg, rest;
    bool get = rtm_str_eq_cstr(req->method, "GET");
    if (rtm_http_path_segment(req->path, "/app/", &seg, &rest) && rest.len == 0) {
        if (req->is_upgrade)
            s_upgrade(s, req, seg);
        else
            rtm_http_respond_error(s, 400, "WebSocket upgrade required");
        return;
    }
    RTM_COUNT(s->ctx->metrics, rest_requests_total, 1);
    bool head = rtm_str_eq_cstr(req->method, "HEAD");
    if (rtm_http_path_segment(req->path, "/apps/", &seg, &rest)) {
        rtm_rest_session_handle(s, req, seg, rest);
    } else if ((get || head) && !req->is_upgrade && rtm_str_eq_cstr(req->path, "/")) {
        /* what load balancers probe by default (soketi answers it too) */
        static const char root[] = "OK: rtmesh-node (Pusher Channels protocol 7)\n";
        s_respond(s, 200, "text/plain", root, sizeof root - 1, head);
    } else if (get && rtm_str_eq_cstr(req->path, "/healthz")) {
        s_respond_text(s, 200, "ok\n");
    } else if (get && rtm_str_eq_cstr(req->path, "/readyz")) {
        bool draining = rtm_node_draining(s->ctx->node);
        bool ready = !draining && rtm_node_ready(s->ctx->node);
        const char *state = ready ? "ready" : draining ? "draining" : "not ready";
        /* a list disagreement routes some channels differently: told, not fatal */
        int mismatched = rtm_node_mismatched(s->ctx->node);
        char text[96];
        if (mismatched)
            snprintf(text, sizeof text, "%s; broker list differs at %d broker(s)\n", state,
                     mismatched);
        else
            snprintf(text, sizeof text, "%s\n", state);
        s_respond_text(s, ready ? 200 : 503, text);
    } else if (get && rtm_str_eq_cstr(req->path, "/metrics")) {
        s_metrics(s);
    } else {
        rtm_http_respond_error(s, 404, "Not found");
    }
}

/* Refuses the request and closes: status with message, counted as kind. */
static int s_refuse(rtm_session_t *s, int rc, rtm_err_kind_t kind, int status, const char *message)
{
    RTM_COUNT_ERR(s->ctx->metrics, kind);
    s->keep_alive = false;
    rtm_http_respond_error(s, status, message);
    return rc;
}

/* Whether data[0..len) ends its head within max_head bytes. */
static bool s_head_fits(const uint8_t *data, size_t len, size_t max_head)
{
    return memmem(data, len < max_head ? len : max_head, "\r\n\r\n", 4) != NULL;
}

int rtm_http_session_feed(rtm_session_t *s, uint8_t *data, size_t len)
{
    const rtm_node_options_t *opt = &s->ctx->node->opt;
    size_t max_head = (size_t)opt->max_header_kb * 1024;
    rtm_http_request_t req;
    int r = rtm_http_parse_request((char *)data, len, max_head, S_MAX_BODY, &req);
    if (r == RTM_EAGAIN)
        return r;
    if (r == RTM_ETOOBIG && !s_head_fits(data, len, max_head))
        return s_refuse(s, r, RTM_ERR_HEADERS, 431, "Request header fields too large");
    if (r < 0)
        return r == RTM_ETOOBIG ? s_refuse(s, r, RTM_ERR_OVERSIZE, 413, "Request too large")
                                : s_refuse(s, r, RTM_ERR_BAD_HTTP, 400, "Malformed HTTP request");
    if (req.n_headers > (uint32_t)opt->max_headers)
        return s_refuse(s, RTM_ETOOBIG, RTM_ERR_HEADERS, 431, "Too many request header fields");
    s->served = true;
    s->keep_alive = req.keep_alive;
    s_route(s, &req);
    return r;
}
