/* rtm_webhook — see rtm_webhook.h. Both renderers go through rtm_json_build,
 * so each is written once and sized by the same code that writes it. */
#include "rtm_webhook.h"

#include "rtm_json.h"
#include "rtm_presence.h"

#include <string.h>

static void s_str_field(rtm_json_out_t *w, const char *key, rtm_str_t v)
{
    rtm_json_put_lit(w, ",\"");
    rtm_json_put(w, key, strlen(key));
    rtm_json_put_lit(w, "\":\"");
    rtm_json_put_esc(w, v.p, v.len);
    rtm_json_put_lit(w, "\"");
}

static void s_write_event(rtm_json_out_t *w, const void *ctx)
{
    const rtm_webhook_event_t *ev = ctx;
    const char *name = rtm_webhook_kind_name(ev->kind);
    rtm_json_put_lit(w, "{\"name\":\"");
    rtm_json_put(w, name, strlen(name));
    rtm_json_put_lit(w, "\"");
    s_str_field(w, "channel", ev->channel);
    switch (ev->kind) {
    case RTM_WEBHOOK_MEMBER_ADDED:
    case RTM_WEBHOOK_MEMBER_REMOVED:
        rtm_json_put_lit(w, ",\"user_id\":");
        rtm_presence_put_id(w, ev->user_id, ev->user_num);
        break;
    case RTM_WEBHOOK_CLIENT_EVENT:
        s_str_field(w, "event", ev->event);
        s_str_field(w, "data", ev->data);
        s_str_field(w, "socket_id", ev->socket_id);
        if (ev->user_id.len)
            s_str_field(w, "user_id", ev->user_id);
        break;
    case RTM_WEBHOOK_SUBSCRIPTION_COUNT:
        rtm_json_put_lit(w, ",\"subscription_count\":");
        rtm_json_put_int(w, ev->count > INT64_MAX ? INT64_MAX : (int64_t)ev->count);
        break;
    default: break;
    }
    rtm_json_put_lit(w, "}");
}

char *rtm_webhook_render_event(const rtm_webhook_event_t *ev, size_t *len)
{
    return rtm_json_build(s_write_event, ev, len);
}

typedef struct {
    uint64_t time_ms;        /* the body's time */
    const rtm_str_t *events; /* rendered events */
    size_t n;                /* how many */
} s_body_t;

static void s_write_body(rtm_json_out_t *w, const void *ctx)
{
    const s_body_t *b = ctx;
    rtm_json_put_lit(w, "{\"time_ms\":");
    rtm_json_put_int(w, b->time_ms > INT64_MAX ? INT64_MAX : (int64_t)b->time_ms);
    rtm_json_put_lit(w, ",\"events\":[");
    for (size_t i = 0; i < b->n; i++) {
        if (i)
            rtm_json_put_lit(w, ",");
        rtm_json_put(w, b->events[i].p, b->events[i].len);
    }
    rtm_json_put_lit(w, "]}");
}

char *rtm_webhook_render_body(uint64_t time_ms, const rtm_str_t *events, size_t n, size_t *len)
{
    s_body_t b = {time_ms, events, n};
    return rtm_json_build(s_write_body, &b, len);
}
