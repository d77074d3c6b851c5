/* pusher_session — see pusher_session.h.
 *
 * The edge authorises, the owning shard holds channel state: this file checks
 * signatures, limits and rules, then hands the subscription to the channel
 * table (which completes it once in sync with the shard) or the client event
 * to the owning shard. Every refusal is a pusher:error (or, for a
 * subscription, pusher:error plus pusher:subscription_error) and leaves the
 * connection usable; every refusal is counted. */
#include "pusher_session.h"

#include "rtm_auth.h"
#include "rtm_channel.h"
#include "rtm_error.h"
#include "rtm_pusher.h"
#include "ws_session.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_refuse(rtm_session_t *s, rtm_str_t channel, const char *type, const char *message,
                     int status)
{
    rtm_channels_refuse(s->ctx->channels, &s->sub, channel, type, message, status);
}

static bool s_signature_ok(rtm_session_t *s, const rtm_pusher_msg_t *m)
{
    return rtm_auth_check_channel(rtm_str_cstr(s->app->key), rtm_str_cstr(s->app->secret),
                                  rtm_session_socket_id(s), m->sub_channel, m->channel_data,
                                  m->auth) == 0;
}

/* Checks the subscription's authorisation for its channel type; on success
 * *presence is set for presence channels. Refuses and returns < 0 otherwise. */
static int s_authorize(rtm_session_t *s, const rtm_pusher_msg_t *m, rtm_presence_t **presence)
{
    rtm_str_t ch = m->sub_channel;
    const char *why = NULL;
    rtm_channel_type_t type = rtm_channel_type(ch);
    if (type == RTM_CH_USER) {
        size_t prefix = strlen(RTM_CHANNEL_USER_PREFIX);
        if (s->user &&
            rtm_str_eq(rtm_str(ch.p + prefix, ch.len - prefix), rtm_presence_id(s->user)))
            return 0;
        why = "Subscribing to a user channel requires signing in as that user";
    } else if (type != RTM_CH_PUBLIC && !s_signature_ok(s, m)) {
        why = "Invalid signature";
    } else if (type == RTM_CH_PRESENCE) {
        /* without channel_data a signed-in connection joins as its user */
        int rc = RTM_EINVAL;
        if (m->channel_data.len)
            rc = rtm_presence_parse(m->channel_data, s->app->max_presence_member_size, presence);
        else if (s->user && s->user->info_len > s->app->max_presence_member_size)
            rc = RTM_ETOOBIG;
        else if (s->user)
            rc = (*presence = rtm_presence_copy(s->user)) ? 0 : RTM_EINVAL;
        if (rc == RTM_ETOOBIG) {
            RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_BAD_CHANNEL);
            s_refuse(s, ch, "LimitReached", "The presence user_info is over the member size limit",
                     RTM_PUSHER_UNAUTHORIZED);
            return rc;
        }
        if (rc < 0)
            why = "Invalid channel_data: a JSON object with a user_id is required";
    }
    if (!why)
        return 0;
    RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_BAD_AUTH);
    s_refuse(s, ch, "AuthError", why, 401);
    return RTM_EAUTH;
}

static void s_subscribe(rtm_session_t *s, const rtm_pusher_msg_t *m)
{
    rtm_str_t ch = m->sub_channel;
    if (rtm_channel_validate(ch) < 0) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_BAD_CHANNEL);
        s_refuse(s, ch, "InvalidChannel", "Invalid channel name", RTM_PUSHER_UNAUTHORIZED);
        return;
    }
    if (s->sub.n_subs - s->sub.n_watches >= (uint32_t)s->ctx->node->opt.max_channels) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_CHANNEL_LIMIT);
        s_refuse(s, ch, "LimitReached", "Too many channels on one connection",
                 RTM_PUSHER_UNAUTHORIZED);
        return;
    }
    rtm_presence_t *presence = NULL;
    if (s_authorize(s, m, &presence) < 0)
        return;
    if (rtm_channels_subscribe(s->ctx->channels, &s->sub, s->app, ch, presence, false,
                               rtm_session_now(s)) < 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "Existing subscription to channel %.*s", (int)ch.len, ch.p);
        rtm_ws_session_error(s, 0, msg, ch);
    }
}

/* The watchlist of the user_data s signed in with: each user watched (but s's
 * own), and pusher:error 4302 when the list is over Pusher's limit. */
static void s_watch(rtm_session_t *s, rtm_str_t user_data)
{
    char **ids;
    size_t n;
    size_t given = rtm_presence_parse_watchlist(user_data, &ids, &n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ids[i], s->user->user_id) != 0)
            rtm_channels_watch(s->ctx->channels, &s->sub, s->app, rtm_str_cstr(ids[i]),
                               rtm_session_now(s));
        free(ids[i]);
    }
    free(ids);
    if (given > RTM_WATCHLIST_MAX) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_WATCHLIST_LIMIT);
        rtm_ws_session_error(s, RTM_PUSHER_WATCHLIST_LIMIT,
                             "Watchlist limit exceeded: only the first 100 user ids are watched",
                             rtm_str(NULL, 0));
    }
}

/* pusher:signin: binds the connection to a user and subscribes it (silently)
 * to the user's channel, which carries sendToUser events and terminations. */
static void s_signin(rtm_session_t *s, const rtm_pusher_msg_t *m)
{
    rtm_presence_t *user = NULL;
    if (rtm_auth_check_user(rtm_str_cstr(s->app->key), rtm_str_cstr(s->app->secret),
                            rtm_session_socket_id(s), m->user_data, m->auth) == 0)
        rtm_presence_parse_user(m->user_data, &user);
    char channel[RTM_CHANNEL_MAX_LEN + 1];
    int n =
        user ? snprintf(channel, sizeof channel, RTM_CHANNEL_USER_PREFIX "%s", user->user_id) : 0;
    /* a connection is bound to one user: signing in again as another fails */
    bool ok = n > 0 && (size_t)n < sizeof channel &&
              rtm_channel_validate(rtm_str(channel, (size_t)n)) == 0 &&
              (!s->user || strcmp(s->user->user_id, user->user_id) == 0);
    if (!ok) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_BAD_AUTH);
        rtm_ws_session_error(s, RTM_PUSHER_UNAUTHORIZED,
                             "Invalid sign-in: bad signature or user_data", rtm_str(NULL, 0));
        rtm_presence_free(&user);
        return;
    }
    bool first = !s->user;
    if (first) {
        s->user = user;
        user = NULL;
        rtm_channels_subscribe(s->ctx->channels, &s->sub, s->app, rtm_str(channel, (size_t)n), NULL,
                               true, rtm_session_now(s));
    }
    rtm_presence_free(&user);
    s->signin_deadline_ms = 0;
    size_t len = rtm_pusher_signin_success_len(m->user_data);
    char *buf = malloc(len);
    if (!buf)
        abort();
    rtm_pusher_render_signin_success(buf, len, m->user_data);
    rtm_session_send_text(s, buf, len);
    free(buf);
    if (first) /* after signin_success: the statuses follow it */
        s_watch(s, m->user_data);
}

/* Why a client event may not be relayed, or NULL when it may. */
static const char *s_client_event_refusal(rtm_session_t *s, const rtm_pusher_msg_t *m,
                                          rtm_subscription_t **sub, int *code)
{
    *code = 0;
    if (!s->app->enable_client_messages)
        return "To send client events, you must enable this feature in the Settings page of "
               "your dashboard.";
    rtm_channel_type_t type = rtm_channel_type(m->channel);
    if (type != RTM_CH_PRIVATE && type != RTM_CH_PRESENCE)
        return "Client event rejected - only supported on private and presence channels";
    *sub = rtm_channels_find(&s->sub, m->channel);
    if (!*sub || (*sub)->state != RTM_SUB_ACTIVE)
        return "Client event rejected - not subscribed to the channel";
    if (!rtm_event_rate_allow(&s->client_events, rtm_session_now(s))) {
        *code = RTM_PUSHER_RATE_LIMITED;
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

static void s_client_event(rtm_session_t *s, const rtm_pusher_msg_t *m)
{
    rtm_subscription_t *sub = NULL;
    int code;
    const char *why = s_client_event_refusal(s, m, &sub, &code);
    char *data = why ? NULL : s_event_data(m->data);
    if (!why && (!data || strlen(data) > s->app->max_event_payload))
        why = "Client event rejected - data missing or over the size limit";
    if (why) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_CLIENT_EVENT);
        rtm_ws_session_error(s, code, why, m->channel);
        free(data);
        return;
    }
    rtm_wire_msg_t msg = {.type = RTM_WIRE_PUBLISH,
                          .app = rtm_str_cstr(s->app->id),
                          .name = m->event,
                          .data = rtm_str_cstr(data),
                          .exclude = rtm_session_socket_id(s),
                          .n_channels = 1};
    msg.channels[0] = m->channel;
    if (sub->presence)
        msg.user_id = rtm_presence_id(sub->presence);
    rtm_upstream_t *up = s->ctx->up;
    int owner = rtm_upstream_owner(up, msg.app, m->channel);
    if (owner < 0 || rtm_upstream_send(up, (uint32_t)owner, &msg) < 0)
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_UPSTREAM);
    free(data);
}

void rtm_pusher_session_message(rtm_session_t *s, const uint8_t *text, size_t len)
{
    rtm_pusher_msg_t m;
    int rc = rtm_pusher_parse((const char *)text, len, &m);
    if (rc < 0) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_BAD_JSON);
        rtm_ws_session_error(s, 0,
                             rc == RTM_EPROTO ? "Invalid message: not a Pusher event"
                                              : "Invalid message: missing or mistyped fields",
                             rtm_str(NULL, 0));
        return;
    }
    if (rtm_str_eq_cstr(m.event, "pusher:ping"))
        rtm_session_send_text(s, RTM_PUSHER_PONG, sizeof RTM_PUSHER_PONG - 1);
    else if (rtm_str_eq_cstr(m.event, "pusher:subscribe"))
        s_subscribe(s, &m);
    else if (rtm_str_eq_cstr(m.event, "pusher:unsubscribe"))
        rtm_channels_unsubscribe(s->ctx->channels, &s->sub, m.sub_channel); /* no reply */
    else if (rtm_str_eq_cstr(m.event, "pusher:signin"))
        s_signin(s, &m);
    else if (rtm_str_has_prefix(m.event, "client-"))
        s_client_event(s, &m);
    /* pusher:pong and unknown events need no answer: any input is liveness */
    rtm_pusher_msg_clear(&m);
}

void rtm_pusher_session_sweep(rtm_session_t *s, uint64_t now_ms)
{
    const rtm_node_options_t *opt = &s->ctx->node->opt;
    if (s->pinged && s->conn.last_rx_ms >= s->ping_sent_ms)
        s->pinged = false; /* any input answers our ping */
    /* an app disabled by a reload of the apps file closes its connections */
    if (s->app && !s->conn.closing && !rtm_app_enabled(s->app)) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_APP_DISABLED);
        rtm_ws_session_close(s, RTM_PUSHER_APP_DISABLED, "Application is disabled");
    } else if (!s->pinged &&
               now_ms - s->conn.last_rx_ms >= (uint64_t)opt->activity_timeout * 1000) {
        rtm_session_send_text(s, RTM_PUSHER_PING, sizeof RTM_PUSHER_PING - 1);
        s->pinged = true;
        s->ping_sent_ms = now_ms;
    } else if (s->pinged && now_ms >= s->ping_sent_ms + (uint64_t)opt->pong_timeout * 1000) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_PONG_TIMEOUT);
        rtm_ws_session_close(s, RTM_PUSHER_PONG_TIMEOUT, "Pong reply not received");
    } else if (s->signin_deadline_ms && now_ms >= s->signin_deadline_ms) {
        RTM_COUNT_APP_ERR(s->ctx->metrics, s->app, RTM_ERR_BAD_AUTH);
        rtm_ws_session_close(s, RTM_PUSHER_UNAUTHORIZED, "Connection not signed in in time");
    }
}
