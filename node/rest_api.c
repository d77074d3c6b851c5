/* rest_api — the Pusher HTTP API under /apps/{app_id}/: triggering events,
 * channel queries, and terminating a user's connections.
 *
 * Every request is authenticated first (auth_key, auth_timestamp within
 * 600 s, auth_version 1.0, body_md5, HMAC signature compared in constant
 * time). Work that needs shards is sent to the owning shard (or, for a
 * channel list, to every live shard) and answered only when all have
 * replied: a publish that cannot reach a live owner is refused with 503,
 * never acknowledged and lost, and a query that misses a shard is 503, never
 * a partial answer dressed as complete. While a request waits the connection
 * reads nothing more, so pipelined requests are answered in order. */
#include "session.h"

#include "rtm_channel.h"
#include "rtm_error.h"
#include "rtm_http.h"
#include "rtm_rest.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum { S_PUBLISH, S_QUERY_LIST, S_QUERY_ONE } s_call_kind_t;

struct rtm_rest_call {
    rtm_conn_t *conn; /* NULL once the connection is gone */
    s_call_kind_t kind;
    int outstanding;   /* shard replies still expected */
    int status;        /* first failure, or 0 */
    uint64_t channels; /* publish: deliveries requested, for metrics */
    char *json;        /* queries: the answer gathered so far */
    size_t json_len;
};

void rtm_rest_call_detach(rtm_conn_t *c)
{
    if (c->rest)
        c->rest->conn = NULL;
    c->rest = NULL;
}

/* Appends a shard's channel-list fragment ("name":{...},...) to the answer. */
static void s_gather(rtm_rest_call_t *call, rtm_str_t fragment)
{
    if (!fragment.len)
        return;
    char *grown = realloc(call->json, call->json_len + fragment.len + 1);
    if (!grown)
        abort();
    call->json = grown;
    if (call->json_len)
        call->json[call->json_len++] = ',';
    memcpy(call->json + call->json_len, fragment.p, fragment.len);
    call->json_len += fragment.len;
}

static void s_answer(rtm_conn_t *c, rtm_rest_call_t *call)
{
    if (call->status < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_UPSTREAM);
        rtm_http_respond_error(c, 503, "A shard owning the channel is unavailable, retry later");
    } else if (call->kind == S_PUBLISH) {
        RTM_COUNT(&c->w->metrics, events_published, call->channels);
        rtm_http_respond(c, 200, "application/json", "{}", 2);
    } else if (call->kind == S_QUERY_ONE) {
        rtm_http_respond(c, 200, "application/json", call->json, call->json_len);
    } else {
        static const char head[] = "{\"channels\":{", tail[] = "}}";
        size_t len = sizeof head - 1 + call->json_len + sizeof tail - 1;
        char *body = malloc(len);
        if (!body)
            abort();
        memcpy(body, head, sizeof head - 1);
        if (call->json_len)
            memcpy(body + sizeof head - 1, call->json, call->json_len);
        memcpy(body + len - (sizeof tail - 1), tail, sizeof tail - 1);
        rtm_http_respond(c, 200, "application/json", body, len);
        free(body);
    }
}

static void s_on_reply(void *arg, int status, rtm_str_t json)
{
    rtm_rest_call_t *call = arg;
    if (status < 0 && !call->status)
        call->status = status;
    if (status == 0 && call->kind != S_PUBLISH)
        s_gather(call, json);
    if (--call->outstanding > 0)
        return;
    rtm_conn_t *c = call->conn;
    if (c) {
        c->rest = NULL;
        s_answer(c, call);
        rtm_conn_resume(c);
    }
    free(call->json);
    free(call);
}

/* A call held open until every request is sent: requests may not complete
 * inside the calls that send them, but the hold makes that irrelevant. */
static rtm_rest_call_t *s_call(rtm_conn_t *c, s_call_kind_t kind)
{
    rtm_rest_call_t *call = calloc(1, sizeof *call);
    if (!call)
        abort();
    call->conn = c;
    call->kind = kind;
    call->outstanding = 1;
    c->rest = call;
    rtm_conn_pause(c);
    return call;
}

static void s_request(rtm_conn_t *c, rtm_rest_call_t *call, uint32_t shard, rtm_wire_msg_t *msg)
{
    call->outstanding++;
    rtm_upstream_request(&c->w->up, shard, msg, s_on_reply, call);
}

/* Sends each event to the owners of its channels, one PUBLISH per shard. */
static void s_publish(rtm_conn_t *c, const rtm_app_t *app, const rtm_rest_trigger_t *t)
{
    rtm_upstream_t *up = &c->w->up;
    int owner[RTM_REST_MAX_BATCH][RTM_REST_MAX_CHANNELS];
    for (size_t e = 0; e < t->n; e++) {
        for (size_t i = 0; i < t->events[e].n_channels; i++) {
            owner[e][i] = rtm_upstream_owner(up, rtm_str_cstr(app->id), t->events[e].channels[i]);
            if (owner[e][i] < 0) {
                RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_UPSTREAM);
                rtm_http_respond_error(c, 503, "No live shard, retry later");
                return;
            }
        }
    }
    rtm_rest_call_t *call = s_call(c, S_PUBLISH);
    for (size_t e = 0; e < t->n; e++) {
        const rtm_rest_event_t *ev = &t->events[e];
        for (uint32_t s = 0; s < up->n_shards; s++) {
            rtm_wire_msg_t msg = {.type = RTM_WIRE_PUBLISH,
                                  .app = rtm_str_cstr(app->id),
                                  .name = ev->name,
                                  .data = ev->data,
                                  .exclude = ev->socket_id};
            for (size_t i = 0; i < ev->n_channels; i++)
                if (owner[e][i] == (int)s)
                    msg.channels[msg.n_channels++] = ev->channels[i];
            if (!msg.n_channels)
                continue;
            call->channels += msg.n_channels;
            s_request(c, call, s, &msg);
        }
    }
    s_on_reply(call, 0, rtm_str(NULL, 0)); /* releases the hold */
}

static void s_trigger(rtm_conn_t *c, const rtm_app_t *app, rtm_str_t body, bool batch)
{
    rtm_rest_limits_t lim = RTM_REST_LIMITS_DEFAULT;
    lim.max_data = app->max_event_payload;
    rtm_rest_trigger_t t;
    char err[512];
    int rc = rtm_rest_parse_trigger(body, &lim, batch, &t, err, sizeof err);
    if (rc < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_REST_INVALID);
        rtm_http_respond_error(c, rc == RTM_ETOOBIG ? 413 : 400, err);
        return;
    }
    if (t.n)
        s_publish(c, app, &t);
    else
        rtm_http_respond(c, 200, "application/json", "{}", 2);
    rtm_rest_trigger_clear(&t);
}

static bool s_has(rtm_str_t list, const char *attr)
{
    size_t n = strlen(attr);
    for (size_t i = 0; i + n <= list.len; i++)
        if (!memcmp(list.p + i, attr, n) && (i == 0 || list.p[i - 1] == ',') &&
            (i + n == list.len || list.p[i + n] == ','))
            return true;
    return false;
}

/* Pusher's rules for which info attributes a query may ask for; NULL = ok. */
static const char *s_info_refusal(const rtm_app_t *app, rtm_str_t info, rtm_str_t channel,
                                  bool list)
{
    bool presence = rtm_str_has_prefix(channel, "presence-");
    if (s_has(info, "user_count") && !presence)
        return list ? "user_count may only be requested for presence channels - please supply "
                      "filter_by_prefix begining with presence-"
                    : "user_count may only be requested for presence channels";
    if (s_has(info, "subscription_count") && !app->subscription_count)
        return "subscription_count is not enabled for this app";
    if (s_has(info, "cache") && (list || !rtm_channel_is_cache(channel)))
        return "cache may only be requested for a cache channel";
    return NULL;
}

static void s_query(rtm_conn_t *c, const rtm_app_t *app, rtm_str_t channel, rtm_str_t info,
                    rtm_wire_query_kind_t kind)
{
    bool list = kind == RTM_WIRE_QUERY_CHANNELS;
    const char *why = s_info_refusal(app, info, channel, list);
    if (!why && kind == RTM_WIRE_QUERY_USERS && rtm_channel_type(channel) != RTM_CH_PRESENCE)
        why = "users may only be requested for presence channels";
    if (!why && !list && rtm_channel_validate(channel) < 0)
        why = "Invalid channel name";
    if (why) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_REST_INVALID);
        rtm_http_respond_error(c, 400, why);
        return;
    }
    rtm_upstream_t *up = &c->w->up;
    rtm_wire_msg_t msg = {.type = RTM_WIRE_QUERY,
                          .app = rtm_str_cstr(app->id),
                          .kind = kind,
                          .channel = channel,
                          .info = info};
    int owner = list ? 0 : rtm_upstream_owner(up, msg.app, channel);
    if (rtm_upstream_live(up, up->alive) == 0 || owner < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_UPSTREAM);
        rtm_http_respond_error(c, 503, "No live shard, retry later");
        return;
    }
    rtm_rest_call_t *call = s_call(c, list ? S_QUERY_LIST : S_QUERY_ONE);
    for (uint32_t s = 0; s < up->n_shards; s++)
        if (list ? up->alive[s] : s == (uint32_t)owner)
            s_request(c, call, s, &msg);
    s_on_reply(call, 0, rtm_str(NULL, 0));
}

static void s_terminate(rtm_conn_t *c, const rtm_app_t *app, rtm_str_t user_id)
{
    char channel[RTM_CHANNEL_MAX_LEN + 1];
    int n = snprintf(channel, sizeof channel, RTM_CHANNEL_USER_PREFIX "%.*s", (int)user_id.len,
                     user_id.p);
    rtm_wire_msg_t msg = {
        .type = RTM_WIRE_TERMINATE, .app = rtm_str_cstr(app->id), .user_id = user_id};
    if (n <= 0 || (size_t)n >= sizeof channel ||
        rtm_channel_validate(rtm_str(channel, (size_t)n)) < 0) {
        rtm_http_respond_error(c, 400, "Invalid user id");
        return;
    }
    int owner = rtm_upstream_owner(&c->w->up, msg.app, rtm_str(channel, (size_t)n));
    if (owner < 0 || rtm_upstream_send(&c->w->up, (uint32_t)owner, &msg) < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_UPSTREAM);
        rtm_http_respond_error(c, 503, "No live shard, retry later");
        return;
    }
    rtm_http_respond(c, 200, "application/json", "{}", 2);
}

/* Authenticates the request for app; answers 401 itself when it fails. */
static bool s_authenticated(rtm_conn_t *c, const rtm_app_t *app, const rtm_http_request_t *req,
                            rtm_query_t *q)
{
    char err[1024];
    int rc = RTM_EAUTH;
    if (!rtm_str_eq_cstr(rtm_query_get(q, "auth_key"), app->key))
        snprintf(err, sizeof err, "Unknown auth_key");
    else
        rc = rtm_rest_verify(req->method, req->path, q, req->body, rtm_str_cstr(app->secret),
                             (int64_t)time(NULL), err, sizeof err);
    if (rc < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_REST_AUTH);
        rtm_http_respond_error(c, 401, err);
    }
    return rc == 0;
}

static void s_dispatch(rtm_conn_t *c, const rtm_app_t *app, const rtm_http_request_t *req,
                       const rtm_query_t *q, rtm_str_t route)
{
    bool get = rtm_str_eq_cstr(req->method, "GET"), post = rtm_str_eq_cstr(req->method, "POST");
    rtm_str_t seg, rest;
    if (post && rtm_str_eq_cstr(route, "/events"))
        s_trigger(c, app, req->body, false);
    else if (post && rtm_str_eq_cstr(route, "/batch_events"))
        s_trigger(c, app, req->body, true);
    else if (get && rtm_str_eq_cstr(route, "/channels"))
        s_query(c, app, rtm_query_get(q, "filter_by_prefix"), rtm_query_get(q, "info"),
                RTM_WIRE_QUERY_CHANNELS);
    else if (get && rtm_http_path_segment(route, "/channels/", &seg, &rest) && rest.len == 0)
        s_query(c, app, seg, rtm_query_get(q, "info"), RTM_WIRE_QUERY_CHANNEL);
    else if (get && rtm_http_path_segment(route, "/channels/", &seg, &rest) &&
             rtm_str_eq_cstr(rest, "/users"))
        s_query(c, app, seg, rtm_str(NULL, 0), RTM_WIRE_QUERY_USERS);
    else if (post && rtm_http_path_segment(route, "/users/", &seg, &rest) &&
             rtm_str_eq_cstr(rest, "/terminate_connections"))
        s_terminate(c, app, seg);
    else
        rtm_http_respond_error(c, 404, "Not found");
}

void rtm_rest_api_handle(rtm_conn_t *c, const rtm_http_request_t *req, rtm_str_t app_id,
                         rtm_str_t route)
{
    const rtm_app_t *app = rtm_apps_by_id(&c->w->node->apps, app_id);
    if (!app) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_UNKNOWN_APP);
        rtm_http_respond_error(c, 404, "Unknown app");
        return;
    }
    rtm_query_t q;
    if (rtm_query_parse(req->query, &q) < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_REST_INVALID);
        rtm_http_respond_error(c, 400, "Malformed query string");
        return;
    }
    if (s_authenticated(c, app, req, &q))
        s_dispatch(c, app, req, &q, route);
    rtm_query_free(&q);
}
