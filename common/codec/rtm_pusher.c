/* rtm_pusher — see rtm_pusher.h.
 *
 * Decoding: jansson parses the frame (JSON_ALLOW_NUL, so lengths are exact
 * and a \u0000 inside a string does not truncate it); slices borrow from the
 * tree, which msg->root owns. For the three messages whose data the node acts
 * on (subscribe, unsubscribe, signin) a string-encoded data object is parsed
 * and swapped into the tree in place of the string, so there is still one
 * tree to free and msg->data is always the object.
 *
 * Rendering: each message has one static builder that writes through an
 * rtm_json_out_t. The public render runs it over the caller's buffer and the
 * _len companion runs it with no buffer, so the sizes callers allocate with
 * are the sizes written, by construction. Member order is fixed (event,
 * channel, data) and matches the frames in the protocol reference. */
#include "rtm_pusher.h"

#include "rtm_error.h"
#include "rtm_json.h"

#include <string.h>

static rtm_str_t s_jstr(const json_t *v)
{
    return rtm_str(json_string_value(v), json_string_length(v));
}

/* Optional string member: absent or null leaves *dst empty (pusher-js sends
 * "channel_data":null when an authorizer returns it); otherwise a string. */
static int s_opt_string(json_t *obj, const char *key, rtm_str_t *dst)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return RTM_EINVAL;
    *dst = s_jstr(v);
    return 0;
}

static int s_req_string(json_t *obj, const char *key, rtm_str_t *dst)
{
    if (!json_is_string(json_object_get(obj, key)))
        return RTM_EINVAL;
    return s_opt_string(obj, key, dst);
}

/* The data object of a control message: data itself when an object; when a
 * string holding a JSON object, that object, stored in root in its place. */
static json_t *s_data_object(json_t *root, json_t *data)
{
    if (json_is_object(data))
        return data;
    if (!json_is_string(data))
        return NULL;
    json_t *obj =
        json_loadb(json_string_value(data), json_string_length(data), JSON_ALLOW_NUL, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    if (json_object_set_new(root, "data", obj) != 0)
        return NULL; /* set_new consumed obj */
    return obj;
}

static int s_parse_control(rtm_pusher_msg_t *msg)
{
    bool sub = rtm_str_eq_cstr(msg->event, "pusher:subscribe");
    bool unsub = rtm_str_eq_cstr(msg->event, "pusher:unsubscribe");
    bool signin = rtm_str_eq_cstr(msg->event, "pusher:signin");
    if (!sub && !unsub && !signin)
        return 0;
    json_t *data = s_data_object(msg->root, msg->data);
    if (!data)
        return RTM_EINVAL;
    msg->data = data;
    if (signin) {
        int rc = s_req_string(data, "auth", &msg->auth);
        return rc ? rc : s_req_string(data, "user_data", &msg->user_data);
    }
    int rc = s_req_string(data, "channel", &msg->sub_channel);
    if (rc == 0)
        rc = s_opt_string(data, "auth", &msg->auth);
    if (rc == 0)
        rc = s_opt_string(data, "channel_data", &msg->channel_data);
    return rc;
}

int rtm_pusher_parse(const char *text, size_t len, rtm_pusher_msg_t *msg)
{
    memset(msg, 0, sizeof(*msg));
    json_t *root = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return RTM_EPROTO;
    }
    msg->root = root;
    json_t *event = json_object_get(root, "event");
    if (!json_is_string(event)) {
        rtm_pusher_msg_clear(msg);
        return RTM_EPROTO;
    }
    msg->event = s_jstr(event);
    json_t *channel = json_object_get(root, "channel");
    if (json_is_string(channel))
        msg->channel = s_jstr(channel);
    msg->data = json_object_get(root, "data");
    int rc = s_parse_control(msg);
    if (rc != 0)
        rtm_pusher_msg_clear(msg);
    return rc;
}

void rtm_pusher_msg_clear(rtm_pusher_msg_t *msg)
{
    json_decref(msg->root);
    memset(msg, 0, sizeof(*msg));
}

bool rtm_socket_id_valid(rtm_str_t s)
{
    size_t i = 0;
    size_t head = 0, tail = 0;
    while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9')
        i++, head++;
    if (i == s.len || s.p[i] != '.')
        return false;
    i++;
    while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9')
        i++, tail++;
    return head > 0 && tail > 0 && i == s.len;
}

/* "<lit>" + escaped s + "\"" — the common shape of a string member. */
static void s_put_member(rtm_json_out_t *w, const char *open, size_t open_len, rtm_str_t s)
{
    rtm_json_put(w, open, open_len);
    rtm_json_put_esc(w, s.p, s.len);
    rtm_json_put_lit(w, "\"");
}

#define S_MEMBER(w, lit, s) s_put_member((w), "" lit, sizeof(lit) - 1, (s))

static void s_build_event(rtm_json_out_t *w, rtm_str_t event, rtm_str_t channel, rtm_str_t data,
                          rtm_str_t user_id)
{
    S_MEMBER(w, "{\"event\":\"", event);
    if (channel.len)
        S_MEMBER(w, ",\"channel\":\"", channel);
    S_MEMBER(w, ",\"data\":\"", data);
    if (user_id.len)
        S_MEMBER(w, ",\"user_id\":\"", user_id);
    rtm_json_put_lit(w, "}");
}

int rtm_pusher_render_event(char *out, size_t cap, rtm_str_t event, rtm_str_t channel,
                            rtm_str_t data)
{
    return rtm_pusher_render_client_event(out, cap, event, channel, data, rtm_str(NULL, 0));
}

size_t rtm_pusher_event_len(rtm_str_t event, rtm_str_t channel, rtm_str_t data)
{
    return rtm_pusher_client_event_len(event, channel, data, rtm_str(NULL, 0));
}

int rtm_pusher_render_client_event(char *out, size_t cap, rtm_str_t event, rtm_str_t channel,
                                   rtm_str_t data, rtm_str_t user_id)
{
    rtm_json_out_t w = rtm_json_out(out, cap);
    s_build_event(&w, event, channel, data, user_id);
    return rtm_json_out_result(&w);
}

size_t rtm_pusher_client_event_len(rtm_str_t event, rtm_str_t channel, rtm_str_t data,
                                   rtm_str_t user_id)
{
    rtm_json_out_t w = rtm_json_out(NULL, 0);
    s_build_event(&w, event, channel, data, user_id);
    return w.n;
}

/* socket_id is digits and one dot, so it needs no escaping at either level. */
static void s_build_established(rtm_json_out_t *w, rtm_str_t socket_id, int activity_timeout)
{
    rtm_json_put_lit(w, "{\"event\":\"pusher:connection_established\","
                        "\"data\":\"{\\\"socket_id\\\":\\\"");
    rtm_json_put(w, socket_id.p, socket_id.len);
    rtm_json_put_lit(w, "\\\",\\\"activity_timeout\\\":");
    rtm_json_put_int(w, activity_timeout);
    rtm_json_put_lit(w, "}\"}");
}

int rtm_pusher_render_connection_established(char *out, size_t cap, rtm_str_t socket_id,
                                             int activity_timeout)
{
    if (!rtm_socket_id_valid(socket_id) || activity_timeout <= 0)
        return RTM_EINVAL;
    rtm_json_out_t w = rtm_json_out(out, cap);
    s_build_established(&w, socket_id, activity_timeout);
    return rtm_json_out_result(&w);
}

size_t rtm_pusher_connection_established_len(rtm_str_t socket_id, int activity_timeout)
{
    rtm_json_out_t w = rtm_json_out(NULL, 0);
    s_build_established(&w, socket_id, activity_timeout);
    return w.n;
}

static void s_build_error(rtm_json_out_t *w, int code, const char *message, rtm_str_t channel)
{
    rtm_json_put_lit(w, "{\"event\":\"pusher:error\"");
    if (channel.len)
        S_MEMBER(w, ",\"channel\":\"", channel);
    rtm_json_put_lit(w, ",\"data\":{\"code\":");
    if (code)
        rtm_json_put_int(w, code);
    else
        rtm_json_put_lit(w, "null");
    S_MEMBER(w, ",\"message\":\"", rtm_str_cstr(message));
    rtm_json_put_lit(w, "}}");
}

int rtm_pusher_render_error(char *out, size_t cap, int code, const char *message, rtm_str_t channel)
{
    rtm_json_out_t w = rtm_json_out(out, cap);
    s_build_error(&w, code, message, channel);
    return rtm_json_out_result(&w);
}

size_t rtm_pusher_error_len(int code, const char *message, rtm_str_t channel)
{
    rtm_json_out_t w = rtm_json_out(NULL, 0);
    s_build_error(&w, code, message, channel);
    return w.n;
}

static void s_build_succeeded(rtm_json_out_t *w, rtm_str_t channel)
{
    S_MEMBER(w, "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"", channel);
    rtm_json_put_lit(w, ",\"data\":\"{}\"}");
}

int rtm_pusher_render_subscription_succeeded(char *out, size_t cap, rtm_str_t channel)
{
    rtm_json_out_t w = rtm_json_out(out, cap);
    s_build_succeeded(&w, channel);
    return rtm_json_out_result(&w);
}

size_t rtm_pusher_subscription_succeeded_len(rtm_str_t channel)
{
    rtm_json_out_t w = rtm_json_out(NULL, 0);
    s_build_succeeded(&w, channel);
    return w.n;
}

static void s_build_signin_success(rtm_json_out_t *w, rtm_str_t user_data)
{
    S_MEMBER(w, "{\"event\":\"pusher:signin_success\",\"data\":{\"user_data\":\"", user_data);
    rtm_json_put_lit(w, "}}");
}

int rtm_pusher_render_signin_success(char *out, size_t cap, rtm_str_t user_data)
{
    rtm_json_out_t w = rtm_json_out(out, cap);
    s_build_signin_success(&w, user_data);
    return rtm_json_out_result(&w);
}

size_t rtm_pusher_signin_success_len(rtm_str_t user_data)
{
    rtm_json_out_t w = rtm_json_out(NULL, 0);
    s_build_signin_success(&w, user_data);
    return w.n;
}

static void s_build_subscription_error(rtm_json_out_t *w, rtm_str_t channel, const char *type,
                                       const char *message, int status)
{
    S_MEMBER(w, "{\"event\":\"pusher:subscription_error\",\"channel\":\"", channel);
    S_MEMBER(w, ",\"data\":{\"type\":\"", rtm_str_cstr(type));
    S_MEMBER(w, ",\"error\":\"", rtm_str_cstr(message));
    rtm_json_put_lit(w, ",\"status\":");
    rtm_json_put_int(w, status);
    rtm_json_put_lit(w, "}}");
}

int rtm_pusher_render_subscription_error(char *out, size_t cap, rtm_str_t channel, const char *type,
                                         const char *message, int status)
{
    rtm_json_out_t w = rtm_json_out(out, cap);
    s_build_subscription_error(&w, channel, type, message, status);
    return rtm_json_out_result(&w);
}

size_t rtm_pusher_subscription_error_len(rtm_str_t channel, const char *type, const char *message,
                                         int status)
{
    rtm_json_out_t w = rtm_json_out(NULL, 0);
    s_build_subscription_error(&w, channel, type, message, status);
    return w.n;
}

static void s_build_cache_miss(rtm_json_out_t *w, rtm_str_t channel)
{
    S_MEMBER(w, "{\"event\":\"pusher:cache_miss\",\"channel\":\"", channel);
    rtm_json_put_lit(w, "}");
}

int rtm_pusher_render_cache_miss(char *out, size_t cap, rtm_str_t channel)
{
    rtm_json_out_t w = rtm_json_out(out, cap);
    s_build_cache_miss(&w, channel);
    return rtm_json_out_result(&w);
}

size_t rtm_pusher_cache_miss_len(rtm_str_t channel)
{
    rtm_json_out_t w = rtm_json_out(NULL, 0);
    s_build_cache_miss(&w, channel);
    return w.n;
}
