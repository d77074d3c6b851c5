/* pusher_session — the Pusher protocol 7 messages a client sends: ping,
 * subscribe (with the authorisation each channel type needs), unsubscribe,
 * sign-in and client events.
 *
 * The edge authorises, the owning shard holds channel state: this file checks
 * signatures, limits and rules, then hands the subscription to the channel
 * table (which completes it once in sync with the shard) or the client event
 * to the owning shard. Every refusal is a pusher:error (or, for a
 * subscription, pusher:error plus pusher:subscription_error) and leaves the
 * connection usable; every refusal is counted. */
#include "session.h"

#include "channels.h"
#include "presence.h"
#include "rtm_auth.h"
#include "rtm_channel.h"
#include "rtm_error.h"
#include "rtm_json.h"
#include "rtm_pusher.h"
#include "worker.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_SUBS          1000 /* channels per connection */
#define S_CLIENT_EVENTS_SEC 10   /* Pusher's client event rate per connection */

typedef struct {
    rtm_str_t channel;
    const char *type, *message;
    int status;
} s_refusal_t;

/* {"event":"pusher:subscription_error","channel":C,"data":{type,error,status}} */
static void s_subscription_error(rtm_json_out_t *w, const void *ctx)
{
    const s_refusal_t *r = ctx;
    rtm_json_put_lit(w, "{\"event\":\"pusher:subscription_error\",\"channel\":\"");
    rtm_json_put_esc(w, r->channel.p, r->channel.len);
    rtm_json_put_lit(w, "\",\"data\":{\"type\":\"");
    rtm_json_put_esc(w, r->type, strlen(r->type));
    rtm_json_put_lit(w, "\",\"error\":\"");
    rtm_json_put_esc(w, r->message, strlen(r->message));
    rtm_json_put_lit(w, "\",\"status\":");
    rtm_json_put_int(w, r->status);
    rtm_json_put_lit(w, "}}");
}

void rtm_ws_session_refuse(rtm_conn_t *c, rtm_str_t channel, const char *type, const char *message,
                           int status)
{
    rtm_ws_session_error(c, status >= 4000 && status < 5000 ? status : 0, message, channel);
    s_refusal_t refusal = {channel, type, message, status};
    size_t len;
    char *json = rtm_json_build(s_subscription_error, &refusal, &len);
    rtm_conn_send_text(c, json, len);
    free(json);
}

static bool s_signature_ok(rtm_conn_t *c, const rtm_pusher_msg_t *m)
{
    return rtm_auth_check_channel(rtm_str_cstr(c->app->key), rtm_str_cstr(c->app->secret),
                                  rtm_str(c->socket_id, c->socket_id_len), m->sub_channel,
                                  m->channel_data, m->auth) == 0;
}

/* Checks the subscription's authorisation for its channel type; on success
 * *presence is set for presence channels. Refuses and returns < 0 otherwise. */
static int s_authorize(rtm_conn_t *c, const rtm_pusher_msg_t *m, rtm_presence_t **presence)
{
    rtm_str_t ch = m->sub_channel;
    const char *why = NULL;
    rtm_channel_type_t type = rtm_channel_type(ch);
    if (type == RTM_CH_USER) {
        size_t prefix = strlen(RTM_CHANNEL_USER_PREFIX);
        if (c->user && rtm_str_eq(rtm_str(ch.p + prefix, ch.len - prefix),
                                  rtm_str(c->user->user_id, c->user->id_len)))
            return 0;
        why = "Subscribing to a user channel requires signing in as that user";
    } else if (type != RTM_CH_PUBLIC && !s_signature_ok(c, m)) {
        why = "Invalid signature";
    } else if (type == RTM_CH_PRESENCE) {
        /* without channel_data a signed-in connection joins as its user */
        int rc = RTM_EINVAL;
        if (m->channel_data.len)
            rc = rtm_presence_parse(m->channel_data, c->app->max_presence_member_size, presence);
        else if (c->user && c->user->info_len > c->app->max_presence_member_size)
            rc = RTM_ETOOBIG;
        else if (c->user)
            rc = (*presence = rtm_presence_copy(c->user)) ? 0 : RTM_EINVAL;
        if (rc == RTM_ETOOBIG) {
            RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_BAD_CHANNEL);
            rtm_ws_session_refuse(c, ch, "LimitReached",
                                  "The presence user_info is over the member size limit", 4009);
            return rc;
        }
        if (rc < 0)
            why = "Invalid channel_data: a JSON object with a user_id is required";
    }
    if (!why)
        return 0;
    RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_BAD_AUTH);
    rtm_ws_session_refuse(c, ch, "AuthError", why, 401);
    return RTM_EAUTH;
}

static void s_subscribe(rtm_conn_t *c, const rtm_pusher_msg_t *m)
{
    rtm_str_t ch = m->sub_channel;
    if (rtm_channel_validate(ch) < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_BAD_CHANNEL);
        rtm_ws_session_refuse(c, ch, "InvalidChannel", "Invalid channel name", 4009);
        return;
    }
    if (c->n_subs >= S_MAX_SUBS) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_BAD_CHANNEL);
        rtm_ws_session_refuse(c, ch, "LimitReached", "Too many channels on one connection", 4009);
        return;
    }
    rtm_presence_t *presence = NULL;
    if (s_authorize(c, m, &presence) < 0)
        return;
    if (rtm_channels_subscribe(c->w, c, c->app, ch, presence, false) < 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "Existing subscription to channel %.*s", (int)ch.len, ch.p);
        rtm_ws_session_error(c, 0, msg, ch);
    }
}

/* pusher:signin: binds the connection to a user and subscribes it (silently)
 * to the user's channel, which carries sendToUser events and terminations. */
static void s_signin(rtm_conn_t *c, const rtm_pusher_msg_t *m)
{
    rtm_worker_t *w = c->w;
    rtm_presence_t *user = NULL;
    if (rtm_auth_check_user(rtm_str_cstr(c->app->key), rtm_str_cstr(c->app->secret),
                            rtm_str(c->socket_id, c->socket_id_len), m->user_data, m->auth) == 0)
        rtm_presence_parse_user(m->user_data, &user);
    char channel[RTM_CHANNEL_MAX_LEN + 1];
    int n =
        user ? snprintf(channel, sizeof channel, RTM_CHANNEL_USER_PREFIX "%s", user->user_id) : 0;
    /* a connection is bound to one user: signing in again as another fails */
    bool ok = n > 0 && (size_t)n < sizeof channel &&
              rtm_channel_validate(rtm_str(channel, (size_t)n)) == 0 &&
              (!c->user || strcmp(c->user->user_id, user->user_id) == 0);
    if (!ok) {
        RTM_COUNT_ERR(&w->metrics, RTM_ERR_BAD_AUTH);
        rtm_ws_session_error(c, 4009, "Invalid sign-in: bad signature or user_data",
                             rtm_str(NULL, 0));
        rtm_presence_free(&user);
        return;
    }
    if (!c->user) {
        c->user = user;
        user = NULL;
        rtm_channels_subscribe(w, c, c->app, rtm_str(channel, (size_t)n), NULL, true);
    }
    rtm_presence_free(&user);
    c->signin_deadline_ms = 0;
    size_t len = rtm_pusher_signin_success_len(m->user_data);
    char *buf = malloc(len);
    if (!buf)
        abort();
    rtm_pusher_render_signin_success(buf, len, m->user_data);
    rtm_conn_send_text(c, buf, len);
    free(buf);
}

/* Why a client event may not be relayed, or NULL when it may. */
static const char *s_client_event_refusal(rtm_conn_t *c, const rtm_pusher_msg_t *m,
                                          rtm_conn_sub_t **sub, int *code)
{
    *code = 0;
    if (!c->app->enable_client_messages)
        return "To send client events, you must enable this feature in the Settings page of "
               "your dashboard.";
    rtm_channel_type_t type = rtm_channel_type(m->channel);
    if (type != RTM_CH_PRIVATE && type != RTM_CH_PRESENCE)
        return "Client event rejected - only supported on private and presence channels";
    *sub = rtm_channels_find(c, m->channel);
    if (!*sub || (*sub)->state != RTM_SUB_ACTIVE)
        return "Client event rejected - not subscribed to the channel";
    uint32_t second = (uint32_t)(uv_now(&c->w->loop) / 1000);
    if (second != c->client_event_second) {
        c->client_event_second = second;
        c->client_events = 0;
    }
    if (++c->client_events > S_CLIENT_EVENTS_SEC) {
        *code = 4301;
        return "Client event rejected - rate limit exceeded";
    }
    return NULL;
}

/* The data of a client event as relayed: a string as itself, anything else
 * as compact JSON text. Newly allocated; NULL when there is no data. */
static char *s_event_data(const json_t *data)
{
    if (json_is_string(data))
        return strdup(json_string_value(data));
    return data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

static void s_client_event(rtm_conn_t *c, const rtm_pusher_msg_t *m)
{
    rtm_conn_sub_t *sub = NULL;
    int code;
    const char *why = s_client_event_refusal(c, m, &sub, &code);
    char *data = why ? NULL : s_event_data(m->data);
    if (!why && (!data || strlen(data) > c->app->max_event_payload))
        why = "Client event rejected - data missing or over the size limit";
    if (why) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_CLIENT_EVENT);
        rtm_ws_session_error(c, code, why, m->channel);
        free(data);
        return;
    }
    rtm_wire_msg_t msg = {.type = RTM_WIRE_PUBLISH,
                          .app = rtm_str_cstr(c->app->id),
                          .name = m->event,
                          .data = rtm_str_cstr(data),
                          .exclude = rtm_str(c->socket_id, c->socket_id_len),
                          .n_channels = 1};
    msg.channels[0] = m->channel;
    if (sub->presence)
        msg.user_id = rtm_str(sub->presence->user_id, sub->presence->id_len);
    int owner = rtm_upstream_owner(&c->w->up, msg.app, m->channel);
    if (owner < 0 || rtm_upstream_send(&c->w->up, (uint32_t)owner, &msg) < 0)
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_UPSTREAM);
    free(data);
}

void rtm_pusher_session_message(rtm_conn_t *c, const uint8_t *text, size_t len)
{
    rtm_pusher_msg_t m;
    int rc = rtm_pusher_parse((const char *)text, len, &m);
    if (rc < 0) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_BAD_JSON);
        rtm_ws_session_error(c, 0,
                             rc == RTM_EPROTO ? "Invalid message: not a Pusher event"
                                              : "Invalid message: missing or mistyped fields",
                             rtm_str(NULL, 0));
        return;
    }
    if (rtm_str_eq_cstr(m.event, "pusher:ping"))
        rtm_conn_send_text(c, RTM_PUSHER_PONG, sizeof RTM_PUSHER_PONG - 1);
    else if (rtm_str_eq_cstr(m.event, "pusher:subscribe"))
        s_subscribe(c, &m);
    else if (rtm_str_eq_cstr(m.event, "pusher:unsubscribe"))
        rtm_channels_unsubscribe(c->w, c, m.sub_channel); /* Pusher: no reply */
    else if (rtm_str_eq_cstr(m.event, "pusher:signin"))
        s_signin(c, &m);
    else if (rtm_str_has_prefix(m.event, "client-"))
        s_client_event(c, &m);
    /* pusher:pong and unknown events need no answer: any input is liveness */
    rtm_pusher_msg_clear(&m);
}
