/* queries — see queries.h; docs/wire.md §8 is the format.
 *
 * Each answer is produced by one render function run twice over an
 * rtm_json_out_t writer: first counting (no memory), then into an exact
 * allocation, so sizing and writing can never disagree. The state is not
 * changed between the two passes (single-threaded caller), so both walks see
 * the same channels. Attributes follow what applies to the channel:
 * user_count only for presence channels, cache only for cache channels,
 * subscription_count always when asked; the node rejects requests for
 * attributes that do not apply before asking (HTTP 400, as Pusher). */
#include "queries.h"

#include "rtm_channel.h"
#include "rtm_error.h"
#include "rtm_json.h"
#include "rtm_presence.h"
#include "rtm_rest.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const rtm_channel_state_t *cs; /* the state answered from */
    const rtm_wire_msg_t *q;       /* the query */
    unsigned want;                 /* RTM_REST_INFO_ bits from q->info */
    uint64_t now_ms;               /* for cache expiry and ttl */
    rtm_channel_owns_fn owns;      /* ownership predicate */
    void *owns_ctx;                /* its context */
    rtm_json_out_t *w;             /* the writer of this pass */
    bool first;                    /* no member written yet (kind 1 separators) */
} s_query_t;

static void s_put_str(rtm_json_out_t *w, rtm_str_t s)
{
    rtm_json_put_lit(w, "\"");
    rtm_json_put_esc(w, s.p, s.len);
    rtm_json_put_lit(w, "\"");
}

/* A "," unless this is the first member written. */
static void s_sep(rtm_json_out_t *w, bool *first)
{
    if (!*first)
        rtm_json_put_lit(w, ",");
    *first = false;
}

/* "user_count":N and/or "subscription_count":N as wanted and applicable,
 * comma-separated, with a leading comma unless *first. */
static void s_put_counts(rtm_json_out_t *w, unsigned want, const rtm_channel_info_t *info,
                         bool first)
{
    if ((want & RTM_REST_INFO_USER_COUNT) && rtm_channel_type(info->name) == RTM_CH_PRESENCE) {
        s_sep(w, &first);
        rtm_json_put_lit(w, "\"user_count\":");
        rtm_json_put_int(w, info->users);
    }
    if (want & RTM_REST_INFO_SUBSCRIPTION_COUNT) {
        s_sep(w, &first);
        rtm_json_put_lit(w, "\"subscription_count\":");
        rtm_json_put_int(w, (int64_t)info->subscriptions);
    }
}

/* Kind 1, one channel: "name":{attrs} when owned, occupied and matching.
 * Users' own channels (#server-to-user-) are the mesh's plumbing, not the
 * application's channels, and are never listed (as on Pusher). */
static void s_list_one(void *ctx, const rtm_channel_info_t *info)
{
    s_query_t *s = ctx;
    if ((info->subscriptions == 0 && info->users == 0) || info->name.len < s->q->channel.len ||
        rtm_str_has_prefix(info->name, "#") ||
        (s->q->channel.len && memcmp(info->name.p, s->q->channel.p, s->q->channel.len) != 0) ||
        !s->owns(s->owns_ctx, s->q->app, info->name))
        return;
    s_sep(s->w, &s->first);
    s_put_str(s->w, info->name);
    rtm_json_put_lit(s->w, ":{");
    s_put_counts(s->w, s->want, info, true);
    rtm_json_put_lit(s->w, "}");
}

static void s_put_cache(rtm_json_out_t *w, const rtm_channel_info_t *info)
{
    if (!info->cached) {
        rtm_json_put_lit(w, ",\"cache\":null");
        return;
    }
    rtm_json_put_lit(w, ",\"cache\":{\"event\":");
    s_put_str(w, info->cache_event);
    rtm_json_put_lit(w, ",\"data\":");
    s_put_str(w, info->cache_data);
    rtm_json_put_lit(w, ",\"ttl\":");
    rtm_json_put_int(w, (int64_t)((info->cache_ttl_ms + 999) / 1000));
    rtm_json_put_lit(w, "}");
}

/* Kind 2: {"occupied":B[,"user_count":N][,"subscription_count":N][,"cache":C]}. */
static void s_channel(const rtm_channel_state_t *cs, s_query_t *s)
{
    rtm_channel_info_t info = {.name = s->q->channel};
    rtm_channel_state_info(cs, s->q->app, s->q->channel, s->now_ms, &info);
    bool occupied = info.subscriptions > 0 || info.users > 0;
    if (occupied)
        rtm_json_put_lit(s->w, "{\"occupied\":true");
    else
        rtm_json_put_lit(s->w, "{\"occupied\":false");
    s_put_counts(s->w, s->want, &info, false);
    if ((s->want & RTM_REST_INFO_CACHE) && rtm_channel_is_cache(s->q->channel))
        s_put_cache(s->w, &info);
    rtm_json_put_lit(s->w, "}");
}

/* Kind 3, one user: {"id":U}, U as the app gave it (a string or a number). */
static void s_user_one(void *ctx, const rtm_wire_member_t *member)
{
    s_query_t *s = ctx;
    s_sep(s->w, &s->first);
    rtm_json_put_lit(s->w, "{\"id\":");
    rtm_presence_put_id(s->w, member->user_id, member->user_num);
    rtm_json_put_lit(s->w, "}");
}

typedef struct {
    const rtm_channel_state_t *cs; /* the state answered from */
    const rtm_app_t *app;          /* the publishing app (its subscription_count option) */
    const rtm_wire_msg_t *publish; /* the PUBLISH */
    uint64_t now_ms;               /* for the state's expiry */
} s_publish_info_t;

/* [{attrs},...], one per channel of the publish. */
static void s_render_publish_info(rtm_json_out_t *w, const void *ctx)
{
    const s_publish_info_t *p = ctx;
    unsigned asked = rtm_rest_info(p->publish->info);
    rtm_json_put_lit(w, "[");
    for (uint32_t i = 0; i < p->publish->n_channels; i++) {
        rtm_channel_info_t info = {.name = p->publish->channels[i]};
        rtm_channel_state_info(p->cs, p->publish->app, info.name, p->now_ms, &info);
        unsigned want = asked & RTM_REST_INFO_USER_COUNT; /* presence only: s_put_counts */
        if (p->app->subscription_count && rtm_channel_type(info.name) != RTM_CH_PRESENCE)
            want |= asked & RTM_REST_INFO_SUBSCRIPTION_COUNT;
        if (i)
            rtm_json_put_lit(w, ",");
        rtm_json_put_lit(w, "{");
        s_put_counts(w, want, &info, true);
        rtm_json_put_lit(w, "}");
    }
    rtm_json_put_lit(w, "]");
}

char *rtm_queries_publish_info(const rtm_channel_state_t *cs, const rtm_app_t *app,
                               const rtm_wire_msg_t *publish, uint64_t now_ms, size_t *len)
{
    s_publish_info_t p = {cs, app, publish, now_ms};
    return rtm_json_build(s_render_publish_info, &p, len);
}

/* One pass of the answer into w (rtm_json_build runs two). */
static void s_render(rtm_json_out_t *w, const void *ctx)
{
    s_query_t pass = *(const s_query_t *)ctx, *s = &pass;
    const rtm_channel_state_t *cs = s->cs;
    s->w = w;
    s->first = true;
    switch (s->q->kind) {
    case RTM_WIRE_QUERY_CHANNELS:
        rtm_channel_state_each(cs, s->q->app, s->now_ms, s_list_one, s);
        break;
    case RTM_WIRE_QUERY_CHANNEL: s_channel(cs, s); break;
    case RTM_WIRE_QUERY_USERS:
        rtm_json_put_lit(s->w, "{\"users\":[");
        rtm_channel_state_each_user(cs, s->q->app, s->q->channel, s_user_one, s);
        rtm_json_put_lit(s->w, "]}");
        break;
    }
}

/* Validates q against its kind; 0 or an rtm error. */
static int s_check(const rtm_wire_msg_t *q, rtm_channel_owns_fn owns, void *ctx)
{
    char topic[RTM_WIRE_MAX_TOPIC];
    if (q->kind < RTM_WIRE_QUERY_CHANNELS || q->kind > RTM_WIRE_QUERY_USERS)
        return RTM_EINVAL;
    rtm_str_t probe = q->kind == RTM_WIRE_QUERY_CHANNELS ? rtm_str("x", 1) : q->channel;
    if (rtm_wire_topic(topic, sizeof topic, q->app, probe) < 0)
        return RTM_EINVAL; /* also: kinds 2, 3 without a channel */
    if (q->kind == RTM_WIRE_QUERY_CHANNELS)
        return 0;
    if (q->kind == RTM_WIRE_QUERY_USERS && rtm_channel_type(q->channel) != RTM_CH_PRESENCE)
        return RTM_EINVAL;
    return owns(ctx, q->app, q->channel) ? 0 : RTM_ENOTOWNER;
}

int rtm_queries_answer(const rtm_channel_state_t *cs, const rtm_wire_msg_t *q, uint64_t now_ms,
                       rtm_channel_owns_fn owns, void *ctx, char **json, size_t *len)
{
    *json = NULL;
    *len = 0;
    int rc = s_check(q, owns, ctx);
    if (rc < 0)
        return rc;
    s_query_t s = {cs, q, rtm_rest_info(q->info), now_ms, owns, ctx, NULL, true};
    char *buf = rtm_json_build(s_render, &s, len);
    if (*len == 0 || *len > INT32_MAX) { /* nothing to say, or too much to send */
        rc = *len ? RTM_ETOOBIG : 0;
        free(buf);
        *len = 0;
        return rc;
    }
    *json = buf;
    return 0;
}
