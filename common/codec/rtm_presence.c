/* rtm_presence — see rtm_presence.h. Rendering builds the inner presence
 * object with rtm_json_build (one counting pass, one writing pass) and then
 * wraps it as the string "data" of the event with rtm_pusher_render_event,
 * which does the second level of escaping Pusher's double encoding needs. */
#include "rtm_presence.h"

#include "rtm_error.h"
#include "rtm_json.h"
#include "rtm_pusher.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rtm_presence_t *s_new(rtm_str_t id, bool id_num, rtm_str_t info)
{
    rtm_presence_t *p = calloc(1, sizeof *p + id.len + 1);
    if (!p)
        abort();
    memcpy(p->user_id, id.p, id.len);
    p->id_len = (uint16_t)id.len;
    p->id_num = id_num;
    if (info.p) {
        p->user_info = malloc(info.len ? info.len : 1);
        if (!p->user_info)
            abort();
        memcpy(p->user_info, info.p, info.len);
        p->info_len = (uint32_t)info.len;
    }
    return p;
}

/* Reads {"<id_key>": id, "user_info"?: any} from text; id a string or an integer. */
static int s_parse(rtm_str_t text, const char *id_key, size_t max_info, rtm_presence_t **out)
{
    *out = NULL;
    json_t *root = json_loadb(text.p, text.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *id = root ? json_object_get(root, id_key) : NULL;
    char number[32];
    rtm_str_t user_id = {0};
    if (json_is_string(id))
        user_id = rtm_str(json_string_value(id), json_string_length(id));
    else if (json_is_integer(id))
        user_id = rtm_str(number, (size_t)snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT,
                                                   json_integer_value(id)));
    int rc = 0;
    if (!json_is_object(root) || user_id.len == 0 || user_id.len > RTM_PUSHER_MAX_USER_ID ||
        memchr(user_id.p, '\0', user_id.len)) {
        rc = RTM_EINVAL;
    } else {
        json_t *info = json_object_get(root, "user_info"); /* null: none */
        char *info_text =
            info && !json_is_null(info) ? json_dumps(info, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        rtm_str_t info_str = rtm_str_cstr(info_text);
        if (info_str.len > max_info)
            rc = RTM_ETOOBIG;
        else
            *out = s_new(user_id, json_is_integer(id), info_str);
        free(info_text);
    }
    json_decref(root);
    return rc;
}

int rtm_presence_parse(rtm_str_t channel_data, size_t max_info, rtm_presence_t **out)
{
    return s_parse(channel_data, "user_id", max_info, out);
}

int rtm_presence_parse_user(rtm_str_t user_data, rtm_presence_t **out)
{
    return s_parse(user_data, "id", SIZE_MAX, out);
}

/* One watchlist entry's string form into buf, or 0 when it names no user. */
static size_t s_watch_id(const json_t *v, char buf[RTM_PUSHER_MAX_USER_ID + 1])
{
    int n = 0;
    if (json_is_integer(v))
        n = snprintf(buf, RTM_PUSHER_MAX_USER_ID + 1, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));
    else if (json_is_string(v) && json_string_length(v) <= RTM_PUSHER_MAX_USER_ID &&
             !memchr(json_string_value(v), '\0', json_string_length(v)))
        n = snprintf(buf, RTM_PUSHER_MAX_USER_ID + 1, "%s", json_string_value(v));
    return n > 0 && n <= RTM_PUSHER_MAX_USER_ID ? (size_t)n : 0;
}

size_t rtm_presence_parse_watchlist(rtm_str_t user_data, char ***ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    json_t *root = json_loadb(user_data.p, user_data.len, 0, NULL);
    json_t *list = json_is_object(root) ? json_object_get(root, "watchlist") : NULL;
    size_t given = json_is_array(list) ? json_array_size(list) : 0;
    for (size_t i = 0; i < given && *n < RTM_WATCHLIST_MAX; i++) {
        char buf[RTM_PUSHER_MAX_USER_ID + 1];
        if (!s_watch_id(json_array_get(list, i), buf))
            continue;
        if (!*ids && !(*ids = calloc(RTM_WATCHLIST_MAX, sizeof **ids)))
            abort();
        if (!((*ids)[(*n)++] = strdup(buf)))
            abort();
    }
    json_decref(root);
    return given;
}

typedef struct {
    bool online;
    rtm_str_t user_id;
} s_watch_event_t;

/* {"events":[{"name":"online","user_ids":["<id>"]}]} */
static void s_watch_event_object(rtm_json_out_t *o, const void *ctx)
{
    const s_watch_event_t *ev = ctx;
    if (ev->online)
        rtm_json_put_lit(o, "{\"events\":[{\"name\":\"online\",\"user_ids\":[");
    else
        rtm_json_put_lit(o, "{\"events\":[{\"name\":\"offline\",\"user_ids\":[");
    rtm_presence_put_id(o, ev->user_id, false);
    rtm_json_put_lit(o, "]}]}");
}

rtm_presence_t *rtm_presence_copy(const rtm_presence_t *p)
{
    return s_new(rtm_presence_id(p), p->id_num, rtm_presence_info(p));
}

void rtm_presence_free(rtm_presence_t **p)
{
    if (!*p)
        return;
    free((*p)->user_info);
    free(*p);
    *p = NULL;
}

void rtm_presence_put_id(rtm_json_out_t *w, rtm_str_t user_id, bool id_num)
{
    if (id_num) { /* digits and a sign only: parsed from a JSON integer */
        rtm_json_put(w, user_id.p, user_id.len);
        return;
    }
    rtm_json_put_lit(w, "\"");
    rtm_json_put_esc(w, user_id.p, user_id.len);
    rtm_json_put_lit(w, "\"");
}

/* A member's user_info, or null. */
static void s_put_info(rtm_json_out_t *o, rtm_str_t info)
{
    if (info.len)
        rtm_json_put(o, info.p, info.len);
    else
        rtm_json_put_lit(o, "null");
}

typedef struct {
    rtm_str_t channel;
    const rtm_presence_t *self;
    rtm_presence_each_fn each;
    const void *set;
} s_succeeded_t;

typedef struct {
    rtm_json_out_t *o;
    rtm_str_t self; /* skipped: listed first */
    bool hash;      /* writing "hash" members (else "ids" entries) */
    int64_t count;  /* members written, self included */
} s_walk_t;

static void s_visit(void *arg, rtm_str_t id, bool id_num, rtm_str_t info)
{
    s_walk_t *walk = arg;
    if (rtm_str_eq(id, walk->self))
        return;
    rtm_json_put_lit(walk->o, ",");
    rtm_presence_put_id(walk->o, id, id_num && !walk->hash); /* hash keys are strings */
    if (walk->hash) {
        rtm_json_put_lit(walk->o, ":");
        s_put_info(walk->o, info);
    }
    walk->count++;
}

/* {"presence":{"ids":[...],"hash":{...},"count":N}}: self, then the set. */
static void s_presence_object(rtm_json_out_t *o, const void *ctx)
{
    const s_succeeded_t *s = ctx;
    rtm_str_t self = rtm_presence_id(s->self);
    s_walk_t walk = {o, self, false, 1};
    rtm_json_put_lit(o, "{\"presence\":{\"ids\":[");
    rtm_presence_put_id(o, self, s->self->id_num);
    s->each(s->set, s_visit, &walk);
    rtm_json_put_lit(o, "],\"hash\":{\"");
    rtm_json_put_esc(o, self.p, self.len);
    rtm_json_put_lit(o, "\":");
    s_put_info(o, rtm_presence_info(s->self));
    walk.hash = true;
    walk.count = 1;
    s->each(s->set, s_visit, &walk);
    rtm_json_put_lit(o, "},\"count\":");
    rtm_json_put_int(o, walk.count);
    rtm_json_put_lit(o, "}}");
}

typedef struct {
    bool added;
    rtm_str_t user_id;
    bool id_num;
    rtm_str_t info;
} s_member_t;

/* {"user_id":U[,"user_info":I]} */
static void s_member_object(rtm_json_out_t *o, const void *ctx)
{
    const s_member_t *m = ctx;
    rtm_json_put_lit(o, "{\"user_id\":");
    rtm_presence_put_id(o, m->user_id, m->id_num);
    if (m->added) {
        rtm_json_put_lit(o, ",\"user_info\":");
        s_put_info(o, m->info);
    }
    rtm_json_put_lit(o, "}");
}

/* An event on channel whose string data is what `write` renders (Pusher's
 * double encoding: rtm_pusher_render_event escapes it once more). */
static char *s_event(const char *event, rtm_str_t channel,
                     void (*write)(rtm_json_out_t *, const void *), const void *ctx, size_t *len)
{
    size_t inner_len;
    char *inner = rtm_json_build(write, ctx, &inner_len);
    rtm_str_t name = rtm_str_cstr(event), data = rtm_str(inner, inner_len);
    *len = rtm_pusher_event_len(name, channel, data);
    char *out = malloc(*len);
    if (!out)
        abort();
    rtm_pusher_render_event(out, *len, name, channel, data);
    free(inner);
    return out;
}

char *rtm_presence_render_succeeded(rtm_str_t channel, const rtm_presence_t *self,
                                    rtm_presence_each_fn each, const void *set, size_t *len)
{
    s_succeeded_t ctx = {channel, self, each, set};
    return s_event("pusher_internal:subscription_succeeded", channel, s_presence_object, &ctx, len);
}

char *rtm_presence_render_watchlist_event(bool online, rtm_str_t user_id, size_t *len)
{
    s_watch_event_t ctx = {online, user_id};
    return s_event("pusher_internal:watchlist_events", rtm_str(NULL, 0), s_watch_event_object, &ctx,
                   len);
}

char *rtm_presence_render_member(rtm_str_t channel, bool added, rtm_str_t user_id, bool id_num,
                                 rtm_str_t user_info, size_t *len)
{
    s_member_t ctx = {added, user_id, id_num, user_info};
    return s_event(added ? "pusher_internal:member_added" : "pusher_internal:member_removed",
                   channel, s_member_object, &ctx, len);
}
