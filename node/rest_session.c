/* rest_session — see rest_session.h.
 *
 * Every request is authenticated first (auth_key, auth_timestamp within
 * 600 s, auth_version 1.0, body_md5, HMAC signature compared in constant
 * time). Work that needs shards is sent to the owning shard (or, for a
 * channel list, to every live shard) and answered only when all have
 * replied: a publish that cannot reach a live owner is refused with 503,
 * never acknowledged and lost, and a query that misses a shard is 503, never
 * a partial answer dressed as complete. While a request waits the connection
 * reads nothing more, so pipelined requests are answered in order.
 *
 * Owners move (a broker joins, leaves or dies) and the two ends of the move
 * learn of it from different sockets, so a shard may answer that another owns
 * a channel (RTM_ENOTOWNER: it published nothing of that request) to a node
 * that already routes by the newer view, or the other way round. Such
 * channels are sent again, to their owner as of then, at the next tick, for
 * as long as S_MOVING_MS; only then is the publish refused. */
#include "rest_session.h"

#include "http_session.h"
#include "rtm_channel.h"
#include "rtm_error.h"
#include "rtm_http.h"
#include "rtm_rest.h"
#include "rtm_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

/* A shard's view of the live brokers may lag ours by about one heartbeat
 * period plus scheduling; a publish follows moving owners this long. */
#define S_MOVING_MS RTM_WIRE_DEAD_MS
#define S_UNSENT    (-1) /* s_publish_t.owner: still to be sent (again) */

typedef enum { S_PUBLISH, S_QUERY_LIST, S_QUERY_ONE } s_call_kind_t;

/* Spare publish buffers a worker keeps: a fresh one is large enough (about
 * 21 KB) that malloc would consolidate its bins for every publish. */
#define S_SPARES_MAX 16

/* A publish's events, kept until every channel's owner accepted them. */
typedef struct rtm_rest_publish s_publish_t;
struct rtm_rest_publish {
    rtm_rest_trigger_t t;
    bool batch; /* POST /batch_events (its info answer is {"batch":[...]}) */
    int owner[RTM_REST_MAX_BATCH][RTM_REST_MAX_CHANNELS]; /* shard sent to, or S_UNSENT */
    /* Some event asked for "info": each channel's attributes object as its owner answered
     * (owned; NULL until then), t.n rows; NULL when no event asked. */
    char *(*attrs)[RTM_REST_MAX_CHANNELS];
    uint64_t first_ms; /* loop time of the first send */
    s_publish_t *next_spare;
};

struct rtm_rest_call {
    rtm_session_t *s;     /* NULL once the connection is gone */
    rtm_sessions_t *ctx;  /* the worker's sessions (outlives s) */
    const rtm_app_t *app; /* the app whose request it is (the node's) */
    s_call_kind_t kind;
    int outstanding;  /* shard replies still expected */
    int status;       /* first failure, or 0 */
    uint64_t events;  /* publish: events accepted once every shard answered */
    rtm_str_t *parts; /* queries: each shard's answer (owned copies) */
    size_t n_parts;
    uint64_t started_ns;         /* publish: when its parsed request was sent on (uv_hrtime) */
    s_publish_t *publish;        /* publish: owned */
    bool moved;                  /* publish: a shard said another owns some channels: send again */
    rtm_rest_call_t *next_moved; /* in the sessions' queue of calls to send again */
};

/* What one PUBLISH request carried: event `event`'s channels sent to `shard`. */
typedef struct {
    rtm_rest_call_t *call;
    uint32_t event;
    int shard;
} s_part_t;

static s_publish_t *s_publish_take(rtm_sessions_t *ctx)
{
    s_publish_t *pub = ctx->spares;
    if (pub) {
        ctx->spares = pub->next_spare;
        ctx->n_spares--;
    } else if (!(pub = malloc(sizeof *pub))) {
        abort();
    }
    return pub;
}

/* Gives back a publish buffer whose trigger holds nothing (parse failed, or cleared). */
static void s_publish_give(rtm_sessions_t *ctx, s_publish_t *pub)
{
    if (ctx->n_spares >= S_SPARES_MAX) {
        free(pub);
        return;
    }
    pub->next_spare = ctx->spares;
    ctx->spares = pub;
    ctx->n_spares++;
}

void rtm_rest_session_free_spares(rtm_sessions_t *ctx)
{
    while (ctx->spares) {
        s_publish_t *pub = ctx->spares;
        ctx->spares = pub->next_spare;
        free(pub);
    }
    ctx->n_spares = 0;
}

static void s_free_call(rtm_rest_call_t *call)
{
    for (size_t i = 0; i < call->n_parts; i++)
        free((char *)call->parts[i].p);
    free(call->parts);
    if (call->publish) {
        s_publish_t *pub = call->publish;
        for (size_t e = 0; pub->attrs && e < pub->t.n; e++)
            for (size_t i = 0; i < pub->t.events[e].n_channels; i++)
                free(pub->attrs[e][i]);
        free(pub->attrs);
        rtm_rest_trigger_clear(&pub->t);
        s_publish_give(call->ctx, call->publish);
    }
    free(call);
}

void rtm_rest_session_detach(rtm_session_t *s)
{
    rtm_rest_call_t *call = s->rest;
    s->rest = NULL;
    if (!call)
        return;
    call->s = NULL;
    if (!call->moved || call->outstanding)
        return; /* freed when its last reply comes */
    for (rtm_rest_call_t **at = &call->ctx->moved; *at; at = &(*at)->next_moved)
        if (*at == call) {
            *at = call->next_moved;
            break;
        }
    s_free_call(call);
}

/* Keeps a copy of a shard's answer: one channel's info, or a fragment of the
 * channel list ("name":{...},...). */
static void s_gather(rtm_rest_call_t *call, rtm_str_t json)
{
    if (!json.len)
        return;
    call->parts = realloc(call->parts, (call->n_parts + 1) * sizeof *call->parts);
    char *copy = malloc(json.len);
    if (!call->parts || !copy)
        abort();
    memcpy(copy, json.p, json.len);
    call->parts[call->n_parts++] = rtm_str(copy, json.len);
}

static void s_answer(rtm_session_t *s, rtm_rest_call_t *call)
{
    if (call->status < 0) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, call->app, RTM_ERR_UPSTREAM);
        rtm_http_respond_error(s, 503, "A shard owning the channel is unavailable, retry later");
    } else if (call->kind == S_PUBLISH) {
        RTM_COUNT(s->ctx->metrics, events_published, call->events);
        rtm_metrics_publish_observe(s->ctx->metrics, uv_hrtime() - call->started_ns);
        const s_publish_t *pub = call->publish;
        size_t len = 2;
        char *body =
            pub->attrs ? rtm_rest_render_trigger_info(&pub->t, pub->batch, pub->attrs, &len) : NULL;
        rtm_http_respond(s, 200, "application/json", body ? body : "{}", len);
        free(body);
    } else if (call->kind == S_QUERY_ONE) {
        rtm_str_t one = call->n_parts ? call->parts[0] : rtm_str(NULL, 0);
        rtm_http_respond(s, 200, "application/json", one.p, one.len);
    } else {
        size_t len = rtm_rest_channels_len(call->parts, call->n_parts);
        char *body = malloc(len);
        if (!body)
            abort();
        rtm_rest_render_channels(body, len, call->parts, call->n_parts);
        rtm_http_respond(s, 200, "application/json", body, len);
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
    rtm_session_t *s = call->s;
    if (s && call->moved && !call->status) { /* sent again at the next tick */
        call->next_moved = call->ctx->moved;
        call->ctx->moved = call;
        return;
    }
    if (s) {
        s->rest = NULL;
        s_answer(s, call);
        rtm_conn_resume(&s->conn); /* pipelined requests: at the next flush, not in here */
    }
    s_free_call(call);
}

/* Keeps the attributes the owner answered for the channels of the part's
 * event it was sent (json: an array, one object per channel, in the order
 * sent). Channels with attributes already were answered by an earlier PUBLISH
 * to the same shard (sent again after an owner moved), so were not in this one. */
static void s_keep_attrs(s_publish_t *pub, const s_part_t *part, rtm_str_t json)
{
    json_t *list = json_loadb(json.p, json.len, 0, NULL);
    size_t k = 0;
    for (size_t i = 0; json_is_array(list) && i < pub->t.events[part->event].n_channels; i++) {
        if (pub->owner[part->event][i] != part->shard || pub->attrs[part->event][i])
            continue;
        json_t *attrs = json_array_get(list, k++);
        if (json_is_object(attrs))
            pub->attrs[part->event][i] = json_dumps(attrs, JSON_COMPACT);
    }
    json_decref(list);
}

/* A PUBLISH's answer: channels another shard owns are marked to be sent again. */
static void s_on_published(void *arg, int status, rtm_str_t json)
{
    s_part_t part = *(s_part_t *)arg;
    free(arg);
    rtm_rest_call_t *call = part.call;
    s_publish_t *pub = call->publish;
    if (status == 0 && pub->attrs && json.len)
        s_keep_attrs(pub, &part, json);
    if (status == RTM_ENOTOWNER && call->s &&
        uv_now(call->ctx->loop) - pub->first_ms < S_MOVING_MS) {
        rtm_rest_event_t *ev = &pub->t.events[part.event];
        for (size_t i = 0; i < ev->n_channels; i++)
            if (pub->owner[part.event][i] == part.shard)
                pub->owner[part.event][i] = S_UNSENT;
        call->moved = true;
        status = 0;
    }
    s_on_reply(call, status, json);
}

/* A call held open until every request is sent: requests may not complete
 * inside the calls that send them, but the hold makes that irrelevant. */
static rtm_rest_call_t *s_call(rtm_session_t *s, const rtm_app_t *app, s_call_kind_t kind)
{
    rtm_rest_call_t *call = calloc(1, sizeof *call);
    if (!call)
        abort();
    call->s = s;
    call->ctx = s->ctx;
    call->app = app;
    call->kind = kind;
    call->outstanding = 1;
    s->rest = call;
    rtm_conn_pause(&s->conn);
    return call;
}

static void s_request(rtm_session_t *s, rtm_rest_call_t *call, uint32_t shard, rtm_wire_msg_t *msg)
{
    call->outstanding++;
    rtm_upstream_request(s->ctx->up, shard, msg, s_on_reply, call);
}

/* Sends the channels still unsent to their owners as of now, one PUBLISH per
 * event and shard, or, when one of them has no live owner, nothing (the call
 * fails: 503); then releases the hold the caller took on the call. */
static void s_send_unsent(rtm_session_t *s, rtm_rest_call_t *call)
{
    rtm_upstream_t *up = s->ctx->up;
    s_publish_t *pub = call->publish;
    rtm_str_t app = rtm_str_cstr(call->app->id);
    int to[RTM_REST_MAX_BATCH][RTM_REST_MAX_CHANNELS]; /* owner now, or -1: sent before */
    for (size_t e = 0; e < pub->t.n; e++)
        for (size_t i = 0; i < pub->t.events[e].n_channels; i++) {
            to[e][i] = -1;
            if (pub->owner[e][i] == S_UNSENT &&
                (to[e][i] = rtm_upstream_owner(up, app, pub->t.events[e].channels[i])) < 0) {
                call->status = RTM_EUNAVAIL;
                s_on_reply(call, 0, rtm_str(NULL, 0));
                return;
            }
        }
    call->moved = false;
    for (uint32_t e = 0; e < pub->t.n; e++) {
        const rtm_rest_event_t *ev = &pub->t.events[e];
        for (uint32_t shard = 0; shard < up->n_shards; shard++) {
            rtm_wire_msg_t msg = {.type = RTM_WIRE_PUBLISH,
                                  .app = app,
                                  .name = ev->name,
                                  .data = ev->data,
                                  .exclude = ev->socket_id,
                                  .info = ev->info};
            for (size_t i = 0; i < ev->n_channels; i++)
                if (to[e][i] == (int)shard) {
                    pub->owner[e][i] = (int)shard;
                    msg.channels[msg.n_channels++] = ev->channels[i];
                }
            if (!msg.n_channels)
                continue;
            s_part_t *part = malloc(sizeof *part);
            if (!part)
                abort();
            *part = (s_part_t){.call = call, .event = e, .shard = (int)shard};
            call->outstanding++;
            rtm_upstream_request(up, shard, &msg, s_on_published, part);
        }
    }
    s_on_reply(call, 0, rtm_str(NULL, 0)); /* releases the hold */
}

static void s_publish(rtm_session_t *s, const rtm_app_t *app, s_publish_t *pub)
{
    pub->attrs = NULL;
    for (size_t e = 0; e < pub->t.n && !pub->attrs; e++)
        if (pub->t.events[e].info.len && !(pub->attrs = calloc(pub->t.n, sizeof *pub->attrs)))
            abort();
    rtm_rest_call_t *call = s_call(s, app, S_PUBLISH);
    call->publish = pub;
    call->events = pub->t.n;
    call->started_ns = uv_hrtime();
    pub->first_ms = rtm_session_now(s);
    for (size_t e = 0; e < pub->t.n; e++)
        for (size_t i = 0; i < pub->t.events[e].n_channels; i++)
            pub->owner[e][i] = S_UNSENT;
    s_send_unsent(s, call); /* releases the hold s_call took */
}

static void s_trigger(rtm_session_t *s, const rtm_app_t *app, rtm_str_t body, bool batch)
{
    rtm_rest_limits_t lim = RTM_REST_LIMITS_DEFAULT;
    lim.max_data = app->max_event_payload;
    s_publish_t *pub = s_publish_take(s->ctx);
    char err[512];
    int rc = rtm_rest_parse_trigger(body, &lim, batch, &pub->t, err, sizeof err);
    if (rc < 0) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, app, RTM_ERR_REST_INVALID);
        rtm_http_respond_error(s, rc == RTM_ETOOBIG ? 413 : 400, err);
        s_publish_give(s->ctx, pub);
    } else if (pub->t.n) {
        pub->batch = batch;
        s_publish(s, app, pub);
    } else {
        rtm_http_respond(s, 200, "application/json", "{}", 2);
        rtm_rest_trigger_clear(&pub->t);
        s_publish_give(s->ctx, pub);
    }
}

void rtm_rest_session_tick(rtm_sessions_t *ctx)
{
    rtm_rest_call_t *moved = ctx->moved;
    ctx->moved = NULL;
    while (moved) {
        rtm_rest_call_t *call = moved;
        moved = call->next_moved;
        RTM_COUNT(ctx->metrics, rest_rerouted, 1);
        call->outstanding++; /* the hold */
        s_send_unsent(call->s, call);
    }
}

/* Pusher's rules for which info attributes a query may ask for; NULL = ok. */
static const char *s_info_refusal(const rtm_app_t *app, rtm_str_t info, rtm_str_t channel,
                                  bool list)
{
    bool presence = rtm_str_has_prefix(channel, "presence-");
    unsigned want = rtm_rest_info(info);
    if ((want & RTM_REST_INFO_USER_COUNT) && !presence)
        return list ? "user_count may only be requested for presence channels - please supply "
                      "filter_by_prefix begining with presence-"
                    : "user_count may only be requested for presence channels";
    if ((want & RTM_REST_INFO_SUBSCRIPTION_COUNT) && !app->subscription_count)
        return "subscription_count is not enabled for this app";
    if ((want & RTM_REST_INFO_CACHE) && (list || !rtm_channel_is_cache(channel)))
        return "cache may only be requested for a cache channel";
    return NULL;
}

static void s_query(rtm_session_t *s, const rtm_app_t *app, rtm_str_t channel, rtm_str_t info,
                    rtm_wire_query_kind_t kind)
{
    bool list = kind == RTM_WIRE_QUERY_CHANNELS;
    const char *why = s_info_refusal(app, info, channel, list);
    if (!why && kind == RTM_WIRE_QUERY_USERS && rtm_channel_type(channel) != RTM_CH_PRESENCE)
        why = "users may only be requested for presence channels";
    if (!why && !list && rtm_channel_validate(channel) < 0)
        why = "Invalid channel name";
    if (why) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, app, RTM_ERR_REST_INVALID);
        rtm_http_respond_error(s, 400, why);
        return;
    }
    rtm_upstream_t *up = s->ctx->up;
    rtm_wire_msg_t msg = {.type = RTM_WIRE_QUERY,
                          .app = rtm_str_cstr(app->id),
                          .kind = kind,
                          .channel = channel,
                          .info = info};
    int owner = list ? 0 : rtm_upstream_owner(up, msg.app, channel);
    if (rtm_upstream_live(up, up->alive) == 0 || owner < 0) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, app, RTM_ERR_UPSTREAM);
        rtm_http_respond_error(s, 503, "No live shard, retry later");
        return;
    }
    rtm_rest_call_t *call = s_call(s, app, list ? S_QUERY_LIST : S_QUERY_ONE);
    for (uint32_t shard = 0; shard < up->n_shards; shard++)
        if (list ? up->alive[shard] : shard == (uint32_t)owner)
            s_request(s, call, shard, &msg);
    s_on_reply(call, 0, rtm_str(NULL, 0));
}

static void s_terminate(rtm_session_t *s, const rtm_app_t *app, rtm_str_t user_id)
{
    char channel[RTM_CHANNEL_MAX_LEN + 1];
    int n = snprintf(channel, sizeof channel, RTM_CHANNEL_USER_PREFIX "%.*s", (int)user_id.len,
                     user_id.p);
    rtm_wire_msg_t msg = {
        .type = RTM_WIRE_TERMINATE, .app = rtm_str_cstr(app->id), .user_id = user_id};
    if (n <= 0 || (size_t)n >= sizeof channel ||
        rtm_channel_validate(rtm_str(channel, (size_t)n)) < 0) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, app, RTM_ERR_REST_INVALID);
        rtm_http_respond_error(s, 400, "Invalid user id");
        return;
    }
    int owner = rtm_upstream_owner(s->ctx->up, msg.app, rtm_str(channel, (size_t)n));
    if (owner < 0 || rtm_upstream_send(s->ctx->up, (uint32_t)owner, &msg) < 0) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, app, RTM_ERR_UPSTREAM);
        rtm_http_respond_error(s, 503, "No live shard, retry later");
        return;
    }
    rtm_http_respond(s, 200, "application/json", "{}", 2);
}

/* Authenticates the request for app; answers 401 itself when it fails. */
static bool s_authenticated(rtm_session_t *s, const rtm_app_t *app, const rtm_http_request_t *req,
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
        RTM_COUNT_APP_ERR(s->ctx->metrics, app, RTM_ERR_REST_AUTH);
        rtm_http_respond_error(s, 401, err);
    }
    return rc == 0;
}

static void s_dispatch(rtm_session_t *s, const rtm_app_t *app, const rtm_http_request_t *req,
                       const rtm_query_t *q, rtm_str_t route)
{
    bool get = rtm_str_eq_cstr(req->method, "GET"), post = rtm_str_eq_cstr(req->method, "POST");
    rtm_str_t seg, rest;
    if (post && rtm_str_eq_cstr(route, "/events"))
        s_trigger(s, app, req->body, false);
    else if (post && rtm_str_eq_cstr(route, "/batch_events"))
        s_trigger(s, app, req->body, true);
    else if (get && rtm_str_eq_cstr(route, "/channels"))
        s_query(s, app, rtm_query_get(q, "filter_by_prefix"), rtm_query_get(q, "info"),
                RTM_WIRE_QUERY_CHANNELS);
    else if (get && rtm_http_path_segment(route, "/channels/", &seg, &rest) && rest.len == 0)
        s_query(s, app, seg, rtm_query_get(q, "info"), RTM_WIRE_QUERY_CHANNEL);
    else if (get && rtm_http_path_segment(route, "/channels/", &seg, &rest) &&
             rtm_str_eq_cstr(rest, "/users"))
        s_query(s, app, seg, rtm_str(NULL, 0), RTM_WIRE_QUERY_USERS);
    else if (post && rtm_http_path_segment(route, "/users/", &seg, &rest) &&
             rtm_str_eq_cstr(rest, "/terminate_connections"))
        s_terminate(s, app, seg);
    else
        rtm_http_respond_error(s, 404, "Not found");
}

void rtm_rest_session_handle(rtm_session_t *s, const rtm_http_request_t *req, rtm_str_t app_id,
                             rtm_str_t route)
{
    const rtm_app_t *app = rtm_apps_by_id(&s->ctx->node->apps, app_id);
    if (!app) {
        RTM_COUNT_ERR(s->ctx->metrics, RTM_ERR_UNKNOWN_APP);
        rtm_http_respond_error(s, 404, "Unknown app");
        return;
    }
    rtm_query_t q;
    if (rtm_query_parse(req->query, &q) < 0) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, app, RTM_ERR_REST_INVALID);
        rtm_http_respond_error(s, 400, "Malformed query string");
        return;
    }
    if (!s_authenticated(s, app, req, &q)) {
        /* refused and answered */
    } else if (!rtm_app_enabled(app)) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, app, RTM_ERR_APP_DISABLED);
        rtm_http_respond_error(s, 403, "Application is disabled");
    } else {
        s_dispatch(s, app, req, &q, route);
    }
    rtm_query_free(&q);
}
