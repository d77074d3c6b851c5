/* rtm_presence — see presence.h. Rendering builds the inner presence object
 * with rtm_json_out (one counting pass, one writing pass) and then wraps it
 * as the string "data" of the event with rtm_pusher_render_event, which does
 * the second level of escaping Pusher's double encoding needs. */
#include "presence.h"

#include "rtm_error.h"
#include "rtm_json.h"
#include "rtm_pusher.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_USER_ID 128

static void *s_alloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    return p;
}

static rtm_presence_t *s_presence_new(rtm_str_t id, const char *info, size_t info_len)
{
    rtm_presence_t *p = calloc(1, sizeof *p + id.len + 1);
    if (!p)
        abort();
    memcpy(p->user_id, id.p, id.len);
    p->id_len = (uint16_t)id.len;
    if (info) {
        p->user_info = s_alloc(info_len);
        memcpy(p->user_info, info, info_len);
        p->info_len = (uint32_t)info_len;
    }
    return p;
}

/* Reads {"<id_key>": id, "user_info"?: any} from text. */
static int s_parse(rtm_str_t text, const char *id_key, bool numeric_ok, size_t max_info,
                   rtm_presence_t **out)
{
    *out = NULL;
    json_t *root = json_loadb(text.p, text.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *id = root ? json_object_get(root, id_key) : NULL;
    char number[32];
    rtm_str_t user_id = {0};
    if (json_is_string(id))
        user_id = rtm_str(json_string_value(id), json_string_length(id));
    else if (numeric_ok && json_is_integer(id))
        user_id = rtm_str(number, (size_t)snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT,
                                                   json_integer_value(id)));
    int rc = 0;
    if (!json_is_object(root) || user_id.len == 0 || user_id.len > S_MAX_USER_ID ||
        memchr(user_id.p, '\0', user_id.len)) {
        rc = RTM_EINVAL;
    } else {
        json_t *info = json_object_get(root, "user_info");
        char *info_text = info ? json_dumps(info, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        size_t info_len = info_text ? strlen(info_text) : 0;
        if (info_len > max_info)
            rc = RTM_ETOOBIG;
        else
            *out = s_presence_new(user_id, info_text, info_len);
        free(info_text);
    }
    json_decref(root);
    return rc;
}

int rtm_presence_parse(rtm_str_t channel_data, size_t max_info, rtm_presence_t **out)
{
    return s_parse(channel_data, "user_id", true, max_info, out);
}

int rtm_presence_parse_user(rtm_str_t user_data, rtm_presence_t **out)
{
    return s_parse(user_data, "id", false, SIZE_MAX, out);
}

rtm_presence_t *rtm_presence_copy(const rtm_presence_t *p)
{
    return s_presence_new(rtm_str(p->user_id, p->id_len), p->user_info, p->info_len);
}

void rtm_presence_free(rtm_presence_t **p)
{
    if (!*p)
        return;
    free((*p)->user_info);
    free(*p);
    *p = NULL;
}

bool rtm_presence_mirror_apply(rtm_channel_t *ch, rtm_str_t user_id, rtm_str_t info, bool added)
{
    rtm_member_t *m;
    HASH_FIND(hh, ch->members, user_id.p, user_id.len, m);
    if (m && !added) {
        HASH_DEL(ch->members, m);
        free(m->info);
        free(m);
        ch->n_members--;
        return true;
    }
    if (!m && added && user_id.len <= S_MAX_USER_ID) {
        m = calloc(1, sizeof *m + user_id.len + 1);
        if (!m)
            abort();
        memcpy(m->id, user_id.p, user_id.len);
        m->id_len = (uint16_t)user_id.len;
        if (info.len) {
            m->info = s_alloc(info.len);
            memcpy(m->info, info.p, info.len);
            m->info_len = (uint32_t)info.len;
        }
        HASH_ADD(hh, ch->members, id[0], m->id_len, m);
        ch->n_members++;
        return true;
    }
    return false;
}

void rtm_presence_mirror_clear(rtm_channel_t *ch)
{
    rtm_member_t *m, *tmp;
    HASH_ITER(hh, ch->members, m, tmp)
    {
        HASH_DEL(ch->members, m);
        free(m->info);
        free(m);
    }
    ch->n_members = 0;
}

void rtm_presence_mirror_reset(rtm_channel_t *ch, const rtm_wire_msg_t *sync)
{
    rtm_presence_mirror_clear(ch);
    rtm_wire_members_iter_t it;
    rtm_wire_members_begin(&it, sync);
    rtm_str_t id, info;
    while (rtm_wire_members_next(&it, &id, &info) == 1)
        rtm_presence_mirror_apply(ch, id, info, true);
}

/* A member's user_info, or null. */
static void s_put_info(rtm_json_out_t *o, rtm_str_t info)
{
    if (info.len)
        rtm_json_put(o, info.p, info.len);
    else
        rtm_json_put_lit(o, "null");
}

static void s_put_member(rtm_json_out_t *o, rtm_str_t id, rtm_str_t info, bool *first)
{
    if (!*first)
        rtm_json_put_lit(o, ",");
    *first = false;
    rtm_json_put_lit(o, "\"");
    rtm_json_put_esc(o, id.p, id.len);
    rtm_json_put_lit(o, "\":");
    s_put_info(o, info);
}

typedef struct {
    const rtm_channel_t *ch;
    const rtm_presence_t *self;
} s_succeeded_t;

/* {"presence":{"ids":[...],"hash":{...},"count":N}}: the mirror plus self. */
static void s_presence_object(rtm_json_out_t *o, const void *ctx)
{
    const rtm_channel_t *ch = ((const s_succeeded_t *)ctx)->ch;
    const rtm_presence_t *self = ((const s_succeeded_t *)ctx)->self;
    rtm_str_t self_id = rtm_str(self->user_id, self->id_len);
    rtm_member_t *mine;
    HASH_FIND(hh, ch->members, self->user_id, self->id_len, mine);
    rtm_json_put_lit(o, "{\"presence\":{\"ids\":[\"");
    rtm_json_put_esc(o, self_id.p, self_id.len);
    rtm_json_put_lit(o, "\"");
    for (const rtm_member_t *m = ch->members; m; m = m->hh.next) {
        if (m == mine)
            continue;
        rtm_json_put_lit(o, ",\"");
        rtm_json_put_esc(o, m->id, m->id_len);
        rtm_json_put_lit(o, "\"");
    }
    rtm_json_put_lit(o, "],\"hash\":{");
    bool first = true;
    s_put_member(o, self_id, rtm_str(self->user_info, self->info_len), &first);
    for (const rtm_member_t *m = ch->members; m; m = m->hh.next)
        if (m != mine)
            s_put_member(o, rtm_str(m->id, m->id_len), rtm_str(m->info, m->info_len), &first);
    rtm_json_put_lit(o, "},\"count\":");
    rtm_json_put_int(o, (int64_t)ch->n_members + (mine ? 0 : 1));
    rtm_json_put_lit(o, "}}");
}

typedef struct {
    bool added;
    rtm_str_t user_id, info;
} s_member_t;

/* {"user_id":U[,"user_info":I]} */
static void s_member_object(rtm_json_out_t *o, const void *ctx)
{
    const s_member_t *m = ctx;
    rtm_json_put_lit(o, "{\"user_id\":\"");
    rtm_json_put_esc(o, m->user_id.p, m->user_id.len);
    rtm_json_put_lit(o, "\"");
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
    char *out = s_alloc(*len);
    rtm_pusher_render_event(out, *len, name, channel, data);
    free(inner);
    return out;
}

char *rtm_presence_succeeded_json(const rtm_channel_t *ch, const rtm_presence_t *self, size_t *len)
{
    s_succeeded_t ctx = {ch, self};
    return s_event("pusher_internal:subscription_succeeded", rtm_channel_name(ch),
                   s_presence_object, &ctx, len);
}

char *rtm_presence_member_json(rtm_str_t channel, bool added, rtm_str_t user_id, rtm_str_t info,
                               size_t *len)
{
    s_member_t ctx = {added, user_id, info};
    return s_event(added ? "pusher_internal:member_added" : "pusher_internal:member_removed",
                   channel, s_member_object, &ctx, len);
}
