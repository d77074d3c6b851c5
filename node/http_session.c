/* http_session — HTTP on the client port: the WebSocket handshake at
 * /app/{key}, the Pusher REST API under /apps/{id}/, and the operational
 * endpoints /healthz, /readyz and /metrics.
 *
 * A REST publish is answered only after every shard that owns one of its
 * channels has acknowledged it: a publish that cannot reach a live owner is
 * refused with 503, never acknowledged and lost. While it waits, the
 * connection stops reading, so pipelined requests are answered in order. */
#include "session.h"

#include "rtm_error.h"
#include "rtm_http.h"
#include "rtm_json.h"
#include "rtm_rest.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_MAX_HEAD (8 * 1024)
#define S_MAX_BODY (256 * 1024) /* a full batch of maximum events, with room */

struct rtm_rest_call {
    rtm_conn_t *conn;  /* NULL once the connection is gone */
    int outstanding;   /* shard acks still expected */
    int status;        /* first failure, or 0 */
    uint64_t channels; /* channel deliveries requested, for metrics */
};

static void s_respond(rtm_conn_t *c, int status, const char *type, const char *body, size_t len)
{
    size_t head = rtm_http_response_head_len(status, type, len, c->keep_alive);
    rtm_frame_t *f = rtm_frame_new(head + len);
    int n = rtm_http_write_response((char *)f->data, head + len, status, type, body, len,
                                    c->keep_alive);
    f->len = n > 0 ? (uint32_t)n : 0;
    rtm_conn_send(c, f);
    rtm_frame_unref(&f);
    if (!c->keep_alive)
        rtm_conn_close(c, 0, NULL);
}

/* {"error":"<message>"} with the given status. */
static void s_respond_error(rtm_conn_t *c, int status, const char *message)
{
    char body[1024];
    rtm_json_out_t out = rtm_json_out(body, sizeof body);
    rtm_json_put_lit(&out, "{\"error\":\"");
    rtm_json_put_esc(&out, message, strnlen(message, 900));
    rtm_json_put_lit(&out, "\"}");
    s_respond(c, status, "application/json", body, out.n);
}

static void s_respond_text(rtm_conn_t *c, int status, const char *text)
{
    s_respond(c, status, "text/plain", text, strlen(text));
}

static void s_on_ack(void *arg, int status)
{
    rtm_rest_call_t *call = arg;
    if (status < 0 && !call->status)
        call->status = status;
    if (--call->outstanding > 0)
        return;
    rtm_conn_t *c = call->conn;
    if (c) {
        c->rest = NULL;
        if (call->status < 0) {
            RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_UPSTREAM);
            s_respond_error(c, 503, "Channel owner unavailable, retry later");
        } else {
            RTM_COUNT(&c->w->metrics, events_published, call->channels);
            s_respond(c, 200, "application/json", "{}", 2);
        }
        rtm_conn_resume(c);
    }
    free(call);
}

void rtm_rest_call_detach(rtm_conn_t *c)
{
    if (c->rest)
        c->rest->conn = NULL;
    c->rest = NULL;
}

/* Sends each event to the owners of its channels, one PUBLISH per shard. */
static void s_publish(rtm_conn_t *c, const rtm_app_t *app, const rtm_rest_trigger_t *t)
{
    rtm_upstream_t *up = &c->w->up;
    static const rtm_wire_msg_t empty = {.type = RTM_WIRE_PUBLISH};
    int owner[RTM_REST_MAX_CHANNELS];
    for (size_t e = 0; e < t->n; e++) {
        for (size_t i = 0; i < t->events[e].n_channels; i++) {
            owner[i] = rtm_upstream_owner(up, rtm_str_cstr(app->id), t->events[e].channels[i]);
            if (owner[i] < 0) {
                RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_UPSTREAM);
                s_respond_error(c, 503, "No live shard, retry later");
                return;
            }
        }
    }
    rtm_rest_call_t *call = calloc(1, sizeof *call);
    if (!call)
        abort();
    call->conn = c;
    call->outstanding = 1; /* held until every request is sent */
    c->rest = call;
    rtm_conn_pause(c);
    for (size_t e = 0; e < t->n; e++) {
        const rtm_rest_event_t *ev = &t->events[e];
        for (size_t i = 0; i < ev->n_channels; i++)
            owner[i] = rtm_upstream_owner(up, rtm_str_cstr(app->id), ev->channels[i]);
        for (uint32_t s = 0; s < up->n_shards; s++) {
            rtm_wire_msg_t msg = empty;
            msg.app = rtm_str_cstr(app->id);
            msg.name = ev->name;
            msg.data = ev->data;
            msg.exclude = ev->socket_id;
            for (size_t i = 0; i < ev->n_channels; i++)
                if (owner[i] == (int)s)
                    msg.channels[msg.n_channels++] = ev->channels[i];
            if (!msg.n_channels)
                continue;
            call->outstanding++;
            call->channels += msg.n_channels;
            rtm_upstream_publish(up, s, &msg, s_on_ack, call);
        }
    }
    s_on_ack(call, 0); /* releases the hold; acks always arrive later */
}

static void s_trigger(rtm_conn_t *c, const rtm_http_request_t *req, rtm_str_t app_id, bool batch)
{
    const rtm_app_t *app = rtm_apps_by_id(&c->w->node->apps, app_id);
    if (!app) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_UNKNOWN_APP);
        s_respond_error(c, 404, "Unknown app");
        return;
    }
    rtm_query_t q;
    char err[1024];
    if (rtm_query_parse(req->query, &q) < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_REST_INVALID);
        s_respond_error(c, 400, "Malformed query string");
        return;
    }
    int rc = 0;
    if (!rtm_str_eq_cstr(rtm_query_get(&q, "auth_key"), app->key)) {
        snprintf(err, sizeof err, "Unknown auth_key");
        rc = RTM_EAUTH;
    } else {
        rc = rtm_rest_verify(req->method, req->path, &q, req->body, rtm_str_cstr(app->secret),
                             (int64_t)time(NULL), err, sizeof err);
    }
    rtm_query_free(&q);
    if (rc < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_REST_AUTH);
        s_respond_error(c, 401, err);
        return;
    }
    rtm_rest_limits_t lim = RTM_REST_LIMITS_DEFAULT;
    lim.max_data = app->max_event_payload;
    rtm_rest_trigger_t t;
    rc = rtm_rest_parse_trigger(req->body, &lim, batch, &t, err, sizeof err);
    if (rc < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_REST_INVALID);
        s_respond_error(c, rc == RTM_ETOOBIG ? 413 : 400, err);
        return;
    }
    if (t.n)
        s_publish(c, app, &t);
    else
        s_respond(c, 200, "application/json", "{}", 2);
    rtm_rest_trigger_clear(&t);
}

static void s_metrics(rtm_conn_t *c)
{
    const rtm_node_t *node = c->w->node;
    const rtm_metrics_t *per[RTM_NODE_MAX_WORKERS];
    for (int i = 0; i < node->n_workers; i++)
        per[i] = &node->workers[i]->metrics;
    char *text;
    size_t len =
        rtm_metrics_render(per, (size_t)node->n_workers, rtm_worker_node_ready(c->w), &text);
    s_respond(c, 200, "text/plain; version=0.0.4", text, len);
    free(text);
}

static void s_upgrade(rtm_conn_t *c, const rtm_http_request_t *req, rtm_str_t key)
{
    if (!rtm_str_eq_cstr(req->ws_version, "13") || req->ws_key.len == 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_BAD_HTTP);
        c->keep_alive = false;
        s_respond_error(c, 400, "WebSocket version 13 and a key are required");
        return;
    }
    char buf[256];
    int n = rtm_http_write_upgrade(buf, sizeof buf, req->ws_key);
    rtm_frame_t *f = rtm_frame_new((size_t)n);
    memcpy(f->data, buf, (size_t)n);
    rtm_conn_send(c, f);
    rtm_frame_unref(&f);
    rtm_ws_session_open(c, key);
}

/* The segment after prefix when path is exactly prefix + segment (+ rest). */
static bool s_segment(rtm_str_t path, const char *prefix, rtm_str_t *seg, rtm_str_t *rest)
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

static void s_route(rtm_conn_t *c, const rtm_http_request_t *req)
{
    rtm_str_t seg, rest;
    bool get = rtm_str_eq_cstr(req->method, "GET"), post = rtm_str_eq_cstr(req->method, "POST");
    if (s_segment(req->path, "/app/", &seg, &rest) && rest.len == 0) {
        if (req->is_upgrade)
            s_upgrade(c, req, seg);
        else
            s_respond_error(c, 400, "WebSocket upgrade required");
        return;
    }
    RTM_COUNT(&c->w->metrics, rest_requests_total, 1);
    if (s_segment(req->path, "/apps/", &seg, &rest) &&
        (rtm_str_eq_cstr(rest, "/events") || rtm_str_eq_cstr(rest, "/batch_events"))) {
        if (post)
            s_trigger(c, req, seg, rtm_str_eq_cstr(rest, "/batch_events"));
        else
            s_respond_error(c, 405, "Method not allowed");
    } else if (get && rtm_str_eq_cstr(req->path, "/healthz")) {
        s_respond_text(c, 200, "ok\n");
    } else if (get && rtm_str_eq_cstr(req->path, "/readyz")) {
        bool ready = rtm_worker_node_ready(c->w);
        s_respond_text(c, ready ? 200 : 503, ready ? "ready\n" : "not ready\n");
    } else if (get && rtm_str_eq_cstr(req->path, "/metrics")) {
        s_metrics(c);
    } else {
        s_respond_error(c, 404, "Not found");
    }
}

int rtm_http_session_feed(rtm_conn_t *c, uint8_t *data, size_t len)
{
    rtm_http_request_t req;
    int r = rtm_http_parse_request((char *)data, len, S_MAX_HEAD, S_MAX_BODY, &req);
    if (r == RTM_EAGAIN)
        return r;
    if (r < 0) {
        RTM_COUNT_ERR(&c->w->metrics, r == RTM_ETOOBIG ? RTM_ERR_OVERSIZE : RTM_ERR_BAD_HTTP);
        c->keep_alive = false;
        s_respond_error(c, r == RTM_ETOOBIG ? 413 : 400,
                        r == RTM_ETOOBIG ? "Request too large" : "Malformed HTTP request");
        return r;
    }
    c->keep_alive = req.keep_alive;
    c->last_rx_ms = uv_now(&c->w->loop);
    s_route(c, &req);
    return r;
}
