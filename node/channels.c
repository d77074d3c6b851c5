/* rtm_channels — see channels.h.
 *
 * Invariant: for every i, ch->subs[i].s->subs[ch->subs[i].slot].channel == ch
 * and the mirror holds on the subscriber side; removal swaps the last
 * element into the hole and fixes that element's back-index, so subscribe
 * and unsubscribe are O(1). Fan-out relies on the sink never changing the
 * table synchronously, so the array cannot change under it. A channel left
 * without subscribers is kept until a tick has told its owner the count fell
 * to zero; only then is it freed and its topic unsubscribed. A PRESENCE_JOIN
 * in flight outlives its subscription when that goes first: an accepted join
 * is then undone with a PRESENCE_LEAVE. */
#include "channels.h"

#include "member_mirror.h"
#include "rtm_channel.h"
#include "rtm_error.h"
#include "rtm_pusher.h"
#include "rtm_rendezvous.h"
#include "rtm_wire.h"
#include "rtm_ws.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define S_SYNC_RETRY_MS  200 /* SYNC_REQ repeated until a SYNC arrives */
#define S_PROBE_RETRY_MS 500 /* an owner in doubt is asked again */
/* How long a new owner may keep refusing a channel before the node gives up
 * on it: twice the liveness period, since brokers judge a peer dead up to
 * about a heartbeat after the nodes do and meanwhile still route to it. */
#define S_DOUBT_MS     (2 * RTM_WIRE_DEAD_MS)
#define S_CACHE_TTL_MS (30ULL * 60 * 1000) /* Pusher keeps a cache channel's event 30 min */

/* One message for many subscribers: its plain frame and its compressed twin,
 * made when the first subscriber that negotiated permessage-deflate needs it
 * (so once per event, and never when nobody negotiated it). */
typedef struct {
    rtm_frame_t *plain;    /* NULL: no message */
    rtm_frame_t *deflated; /* the twin; NULL: not made yet, or not worth it */
    bool tried;            /* the twin was asked for: deflated is final */
} s_frames_t;

typedef struct {
    rtm_subscriber_t *s; /* subscriber */
    uint32_t slot;       /* this channel's index in s->subs */
    bool active;         /* subscription succeeded: events are delivered */
} s_sub_t;

struct rtm_channel {
    UT_hash_handle hh;
    const rtm_app_t *app;
    s_sub_t *subs; /* local subscribers, unordered */
    uint32_t n_subs, cap_subs;
    uint32_t n_active;           /* subscribers whose subscription succeeded: the count announced */
    rtm_member_mirror_t members; /* presence: mesh-wide members, mirrored */
    s_frames_t cache;            /* cache channels: last server event, framed; plain NULL = none */
    uint64_t cache_expires_ms;   /* its end of life */
    uint64_t sync_req_ms;        /* last SYNC_REQ sent; 0 = never */
    uint64_t owner;              /* route's token of the owner last known to serve us; 0 = none */
    uint64_t share_owner;        /* the owner it is counted under in the shares */
    uint64_t doubt_ms;           /* since when a new owner has not confirmed; 0 = no doubt */
    uint64_t probe_ms;           /* last ownership question sent */
    bool probing;                /* an ownership question awaits its answer */
    bool missed;                 /* the owner we lost says it owned it throughout: give up */
    bool synced;                 /* a SYNC arrived: mirror valid, subscriptions complete */
    bool presence;               /* presence- channel */
    bool is_cache;               /* one of the cache- channel kinds */
    bool announce;               /* subscriber count changed since the last tick */
    bool online;                 /* user channels: the owner's last SYNC counted a connection */
    uint16_t name_off;           /* channel name starts at topic + name_off */
    uint16_t topic_len;          /* bytes of topic including the NUL terminator */
    char topic[];                /* "<app>\x1F<channel>\0" */
};

struct rtm_channels {
    rtm_channel_t *channels; /* uthash head, keyed by topic */
    const rtm_route_t *route;
    const rtm_channels_sink_t *sink;
    rtm_metrics_t *metrics;
    rtm_deflate_t *deflate;       /* compresses twins */
    rtm_channels_share_t *shares; /* channels per owner, unordered */
    size_t n_shares, cap_shares;
    bool attention;  /* some channel needs the tick (count, sync, free) */
    uint64_t now_ms; /* the latest time an input brought (for join answers) */
};

/* An ownership question in flight: the answer finds its channel by topic
 * (which may be gone or remade by then). */
typedef struct {
    rtm_channels_t *chs;
    uint64_t owner; /* the token asked */
    uint16_t topic_len;
    char topic[];
} s_probe_t;

struct rtm_join {
    rtm_channels_t *chs;
    rtm_subscriber_t *s; /* NULL once the subscription is gone */
    const rtm_app_t *app;
    rtm_str_t channel, user_id, socket_id; /* slices of text */
    char text[];
};

static rtm_str_t s_name(const rtm_channel_t *ch)
{
    return rtm_str(ch->topic + ch->name_off, (size_t)(ch->topic_len - ch->name_off - 1));
}

static rtm_str_t s_app(const rtm_channel_t *ch)
{
    return rtm_str_cstr(ch->app->id);
}

static rtm_str_t s_socket_id(const rtm_subscriber_t *s)
{
    return rtm_str(s->socket_id, s->socket_id_len);
}

/* Doubles an array's capacity, starting at `first`: a connection usually
 * holds one or two channels (every idle connection pays for its array),
 * while a channel usually has many subscribers. */
static void *s_grow(void *p, uint32_t *cap, uint32_t first, size_t elem)
{
    *cap = *cap ? *cap * 2 : first;
    p = realloc(p, *cap * elem);
    if (!p)
        abort();
    return p;
}

static void s_send(rtm_channels_t *chs, rtm_subscriber_t *s, rtm_frame_t *f)
{
    chs->sink->send(chs->sink->ctx, s, f);
    RTM_COUNT(chs->metrics, messages_out_total, 1);
    RTM_COUNT(chs->metrics, bytes_out_total, f->len);
}

/* A message's frames around plain (steals the reference; may be NULL). */
static s_frames_t s_frames(rtm_frame_t *plain)
{
    return (s_frames_t){.plain = plain};
}

static void s_frames_release(s_frames_t *fr)
{
    rtm_frame_unref(&fr->plain);
    rtm_frame_unref(&fr->deflated);
    fr->tried = false;
}

/* The frame of fr that s gets: the compressed twin when s negotiated
 * permessage-deflate and compressing pays, else the plain one. */
static rtm_frame_t *s_frame_for(rtm_channels_t *chs, s_frames_t *fr, const rtm_subscriber_t *s)
{
    if (!s->deflate)
        return fr->plain;
    if (!fr->tried) {
        fr->tried = true;
        fr->deflated = rtm_frame_deflate(chs->deflate, fr->plain);
        if (fr->deflated) {
            RTM_COUNT(chs->metrics, deflated, 1);
            RTM_COUNT(chs->metrics, deflate_in_bytes, fr->plain->len);
            RTM_COUNT(chs->metrics, deflate_out_bytes, fr->deflated->len);
        }
    }
    return fr->deflated ? fr->deflated : fr->plain;
}

static void s_send_text(rtm_channels_t *chs, rtm_subscriber_t *s, const char *text, size_t len)
{
    rtm_frame_t *f = rtm_frame_text(text, len);
    s_send(chs, s, f);
    rtm_frame_unref(&f);
}

void rtm_channels_refuse(rtm_channels_t *chs, rtm_subscriber_t *s, rtm_str_t channel,
                         const char *type, const char *message, int status)
{
    int code = status >= 4000 && status < 5000 ? status : 0; /* an HTTP status is not a code */
    char *body;
    size_t len = rtm_pusher_error_len(code, message, channel);
    rtm_frame_t *f = rtm_frame_new_text(len, &body);
    rtm_pusher_render_error(body, len, code, message, channel);
    s_send(chs, s, f);
    rtm_frame_unref(&f);
    len = rtm_pusher_subscription_error_len(channel, type, message, status);
    f = rtm_frame_new_text(len, &body);
    rtm_pusher_render_subscription_error(body, len, channel, type, message, status);
    s_send(chs, s, f);
    rtm_frame_unref(&f);
}

static rtm_channel_t *s_find(rtm_channels_t *chs, const char *topic, size_t len)
{
    rtm_channel_t *ch;
    HASH_FIND(hh, chs->channels, topic, len, ch);
    return ch;
}

static int s_send_owner(rtm_channels_t *chs, const rtm_wire_msg_t *msg)
{
    return chs->route->send(chs->route->ctx, msg);
}

static uint64_t s_owner(const rtm_channels_t *chs, const rtm_channel_t *ch)
{
    return chs->route->owner(chs->route->ctx, s_app(ch), s_name(ch));
}

static void s_request_sync(rtm_channels_t *chs, rtm_channel_t *ch, uint64_t now_ms)
{
    rtm_wire_msg_t msg = {.type = RTM_WIRE_SYNC_REQ, .app = s_app(ch), .channel = s_name(ch)};
    s_send_owner(chs, &msg); /* no owner: the tick asks again */
    ch->sync_req_ms = now_ms ? now_ms : 1;
    chs->attention = true;
}

static void s_leave(rtm_channels_t *chs, const rtm_app_t *app, rtm_str_t channel, rtm_str_t user_id,
                    rtm_str_t socket_id)
{
    rtm_wire_msg_t msg = {.type = RTM_WIRE_PRESENCE_LEAVE,
                          .app = rtm_str_cstr(app->id),
                          .channel = channel,
                          .user_id = user_id,
                          .exclude = socket_id};
    s_send_owner(chs, &msg);
}

/* Counts ch under its owner now (delta +1), or takes it off (delta -1). */
static void s_share(rtm_channels_t *chs, uint64_t owner, int delta)
{
    size_t i = 0;
    while (i < chs->n_shares && chs->shares[i].owner != owner)
        i++;
    if (i == chs->n_shares) {
        if (chs->n_shares == chs->cap_shares) {
            chs->cap_shares = chs->cap_shares ? chs->cap_shares * 2 : 4;
            chs->shares = realloc(chs->shares, chs->cap_shares * sizeof *chs->shares);
            if (!chs->shares)
                abort();
        }
        chs->shares[chs->n_shares++] = (rtm_channels_share_t){owner, 0};
    }
    chs->shares[i].channels += (uint64_t)(int64_t)delta;
    if (chs->shares[i].channels == 0)
        chs->shares[i] = chs->shares[--chs->n_shares];
}

static void s_share_follow(rtm_channels_t *chs, rtm_channel_t *ch)
{
    uint64_t owner = s_owner(chs, ch);
    if (owner == ch->share_owner)
        return;
    s_share(chs, ch->share_owner, -1);
    s_share(chs, owner, 1);
    ch->share_owner = owner;
}

size_t rtm_channels_shares(const rtm_channels_t *chs, const rtm_channels_share_t **share)
{
    *share = chs->shares;
    return chs->n_shares;
}

static rtm_channel_t *s_create(rtm_channels_t *chs, const rtm_app_t *app, rtm_str_t name,
                               const char *topic, size_t len)
{
    rtm_channel_t *ch = calloc(1, sizeof *ch + len);
    if (!ch)
        abort();
    memcpy(ch->topic, topic, len);
    ch->topic_len = (uint16_t)len;
    ch->name_off = (uint16_t)(len - name.len - 1);
    ch->app = app;
    ch->presence = rtm_channel_type(name) == RTM_CH_PRESENCE;
    ch->is_cache = rtm_channel_is_cache(name);
    HASH_ADD(hh, chs->channels, topic[0], ch->topic_len, ch);
    ch->share_owner = s_owner(chs, ch);
    s_share(chs, ch->share_owner, 1);
    chs->route->subscribe(chs->route->ctx, rtm_str(ch->topic, ch->topic_len), true);
    RTM_COUNT(chs->metrics, channels, 1);
    RTM_COUNT_APP(chs->metrics, app, channels, 1);
    return ch;
}

static void s_free(rtm_channels_t *chs, rtm_channel_t *ch, bool unsubscribe)
{
    if (unsubscribe) {
        chs->route->subscribe(chs->route->ctx, rtm_str(ch->topic, ch->topic_len), false);
        RTM_COUNT(chs->metrics, channels, -1);
        RTM_COUNT_APP(chs->metrics, ch->app, channels, -1);
    }
    HASH_DEL(chs->channels, ch);
    s_share(chs, ch->share_owner, -1);
    rtm_member_mirror_clear(&ch->members);
    s_frames_release(&ch->cache);
    free(ch->subs);
    free(ch);
}

static void s_send_cache(rtm_channels_t *chs, rtm_subscriber_t *s, rtm_channel_t *ch,
                         uint64_t now_ms)
{
    if (ch->cache.plain && now_ms < ch->cache_expires_ms) {
        rtm_frame_t *f = s_frame_for(chs, &ch->cache, s);
        s_send(chs, s, f);
        RTM_COUNT(chs->metrics, deflated_out, f != ch->cache.plain);
        return;
    }
    char buf[RTM_WIRE_MAX_TOPIC + 64];
    int n = rtm_pusher_render_cache_miss(buf, sizeof buf, s_name(ch));
    if (n > 0)
        s_send_text(chs, s, buf, (size_t)n);
    if (ch->app->n_webhooks) { /* the owner turns it into a cache_miss webhook */
        rtm_wire_msg_t miss = {
            .type = RTM_WIRE_CACHE_MISS, .app = s_app(ch), .channel = s_name(ch)};
        s_send_owner(chs, &miss);
    }
}

static void s_send_succeeded(rtm_channels_t *chs, rtm_subscriber_t *s,
                             const rtm_subscription_t *sub, uint64_t now_ms)
{
    rtm_channel_t *ch = sub->channel;
    if (sub->presence) {
        size_t len;
        char *json = rtm_presence_render_succeeded(s_name(ch), sub->presence,
                                                   rtm_member_mirror_each, &ch->members, &len);
        s_send_text(chs, s, json, len);
        free(json);
    } else {
        char buf[RTM_WIRE_MAX_TOPIC + 128];
        int n = rtm_pusher_render_subscription_succeeded(buf, sizeof buf, s_name(ch));
        if (n > 0)
            s_send_text(chs, s, buf, (size_t)n);
    }
    if (ch->is_cache)
        s_send_cache(chs, s, ch, now_ms);
}

/* Tells a watching subscriber whether the user of ch is online. */
static void s_send_watch(rtm_channels_t *chs, rtm_subscriber_t *s, const rtm_channel_t *ch)
{
    rtm_str_t name = s_name(ch);
    size_t prefix = sizeof RTM_CHANNEL_USER_PREFIX - 1;
    size_t len;
    char *json = rtm_presence_render_watchlist_event(
        ch->online, rtm_str(name.p + prefix, name.len - prefix), &len);
    s_send_text(chs, s, json, len);
    free(json);
}

static void s_activate(rtm_channels_t *chs, rtm_subscriber_t *s, rtm_subscription_t *sub,
                       uint64_t now_ms)
{
    if (sub->watch) { /* not a subscriber: told the user's status, nothing else */
        sub->state = RTM_SUB_ACTIVE;
        s_send_watch(chs, s, sub->channel);
        return;
    }
    sub->state = RTM_SUB_ACTIVE;
    sub->channel->subs[sub->slot].active = true;
    /* counted only now: a count event the shard sends for it then reaches
     * this subscriber too, since its channel is in sync */
    sub->channel->n_active++;
    sub->channel->announce = true;
    chs->attention = true;
    if (!sub->silent)
        s_send_succeeded(chs, s, sub, now_ms);
}

static rtm_subscription_t *s_sub_of_join(rtm_subscriber_t *s, const rtm_join_t *join)
{
    for (uint32_t i = 0; i < s->n_subs; i++)
        if (s->subs[i].join == join)
            return &s->subs[i];
    return NULL;
}

static void s_remove(rtm_channels_t *chs, rtm_subscriber_t *s, uint32_t slot);

/* The owner answered a PRESENCE_JOIN. The answer arrives from the route
 * outside any call into the table, so "now" is the latest time an input
 * brought (a presence-cache- channel's cache life is judged by it). */
static void s_on_join_ack(void *arg, int status, rtm_str_t json)
{
    rtm_join_t *join = arg;
    rtm_channels_t *chs = join->chs;
    rtm_subscriber_t *s = join->s;
    rtm_subscription_t *sub = s ? s_sub_of_join(s, join) : NULL;
    if (!sub) { /* the subscription went away meanwhile: undo an accepted join */
        if (status == 0)
            s_leave(chs, join->app, join->channel, join->user_id, join->socket_id);
    } else if (status == 0) {
        sub->join = NULL;
        s_activate(chs, s, sub, chs->now_ms);
    } else {
        sub->join = NULL;
        bool full = status == RTM_ETOOBIG;
        rtm_channels_refuse(chs, s, join->channel, full ? "LimitReached" : "ServerError",
                            full ? "The maximum number of members of this presence channel "
                                   "has been reached"
                                 : "The channel's shard is unavailable, try again",
                            full ? RTM_PUSHER_OVER_CAPACITY : 503);
        s_remove(chs, s, (uint32_t)(sub - s->subs));
    }
    free(join);
}

static void s_join(rtm_channels_t *chs, rtm_subscriber_t *s, rtm_subscription_t *sub)
{
    rtm_channel_t *ch = sub->channel;
    const rtm_presence_t *p = sub->presence;
    rtm_str_t name = s_name(ch), sid = s_socket_id(s);
    rtm_join_t *join = malloc(sizeof *join + name.len + p->id_len + sid.len);
    if (!join)
        abort();
    char *t = join->text;
    memcpy(t, name.p, name.len);
    memcpy(t + name.len, p->user_id, p->id_len);
    memcpy(t + name.len + p->id_len, sid.p, sid.len);
    *join = (rtm_join_t){chs,
                         s,
                         ch->app,
                         rtm_str(t, name.len),
                         rtm_str(t + name.len, p->id_len),
                         rtm_str(t + name.len + p->id_len, sid.len)};
    sub->join = join;
    sub->state = RTM_SUB_JOINING;
    rtm_wire_msg_t msg = {.type = RTM_WIRE_PRESENCE_JOIN,
                          .app = s_app(ch),
                          .channel = name,
                          .user_id = join->user_id,
                          .user_info = rtm_presence_info(p),
                          .user_num = p->id_num,
                          .exclude = join->socket_id,
                          .limit = ch->app->max_presence_members};
    chs->route->request(chs->route->ctx, &msg, s_on_join_ack, join);
}

static void s_advance(rtm_channels_t *chs, rtm_subscriber_t *s, rtm_subscription_t *sub,
                      uint64_t now_ms)
{
    if (sub->presence)
        s_join(chs, s, sub);
    else
        s_activate(chs, s, sub, now_ms);
}

rtm_channels_t *rtm_channels_new(const rtm_route_t *route, const rtm_channels_sink_t *sink,
                                 rtm_metrics_t *metrics, rtm_deflate_t *deflate)
{
    rtm_channels_t *chs = calloc(1, sizeof *chs);
    if (!chs)
        abort();
    chs->route = route;
    chs->sink = sink;
    chs->metrics = metrics;
    chs->deflate = deflate;
    return chs;
}

void rtm_channels_destroy(rtm_channels_t **chs)
{
    if (!*chs)
        return;
    rtm_channel_t *ch, *tmp;
    HASH_ITER(hh, (*chs)->channels, ch, tmp)
    s_free(*chs, ch, false);
    free((*chs)->shares);
    free(*chs);
    *chs = NULL;
}

rtm_subscription_t *rtm_channels_find(const rtm_subscriber_t *s, rtm_str_t channel)
{
    for (uint32_t i = 0; i < s->n_subs; i++)
        if (rtm_str_eq(s_name(s->subs[i].channel), channel))
            return &s->subs[i];
    return NULL;
}

static int s_subscribe(rtm_channels_t *chs, rtm_subscriber_t *s, const rtm_app_t *app,
                       rtm_str_t channel, rtm_presence_t *presence, bool silent, bool watch,
                       uint64_t now_ms)
{
    chs->now_ms = now_ms;
    rtm_subscription_t *existing = rtm_channels_find(s, channel);
    if (existing) {
        rtm_presence_free(&presence);
        if (!existing->silent || existing->watch || silent)
            return RTM_EINVAL;
        existing->silent = false;
        if (existing->state == RTM_SUB_ACTIVE)
            s_send_succeeded(chs, s, existing, now_ms);
        return 0;
    }
    char topic[RTM_WIRE_MAX_TOPIC];
    int len = rtm_wire_topic(topic, sizeof topic, rtm_str_cstr(app->id), channel);
    if (len < 0) {
        rtm_presence_free(&presence);
        return RTM_EINVAL;
    }
    rtm_channel_t *ch = s_find(chs, topic, (size_t)len);
    if (!ch)
        ch = s_create(chs, app, channel, topic, (size_t)len);
    if (ch->n_subs == ch->cap_subs)
        ch->subs = s_grow(ch->subs, &ch->cap_subs, 8, sizeof *ch->subs);
    if (s->n_subs == s->cap_subs)
        s->subs = s_grow(s->subs, &s->cap_subs, 1, sizeof *s->subs);
    ch->subs[ch->n_subs] = (s_sub_t){s, s->n_subs, false};
    rtm_subscription_t *sub = &s->subs[s->n_subs];
    *sub = (rtm_subscription_t){ch, ch->n_subs, RTM_SUB_PENDING, silent, watch, presence, NULL};
    ch->n_subs++;
    s->n_subs++;
    s->n_watches += watch;
    chs->attention = true;
    RTM_COUNT(chs->metrics, subscriptions, 1);
    RTM_COUNT_APP(chs->metrics, app, subscriptions, 1);
    if (ch->synced)
        s_advance(chs, s, sub, now_ms);
    else if (!ch->sync_req_ms)
        s_request_sync(chs, ch, now_ms);
    return 0;
}

int rtm_channels_subscribe(rtm_channels_t *chs, rtm_subscriber_t *s, const rtm_app_t *app,
                           rtm_str_t channel, rtm_presence_t *presence, bool silent,
                           uint64_t now_ms)
{
    return s_subscribe(chs, s, app, channel, presence, silent, false, now_ms);
}

int rtm_channels_watch(rtm_channels_t *chs, rtm_subscriber_t *s, const rtm_app_t *app,
                       rtm_str_t user_id, uint64_t now_ms)
{
    char name[RTM_WIRE_MAX_TOPIC];
    int n =
        snprintf(name, sizeof name, RTM_CHANNEL_USER_PREFIX "%.*s", (int)user_id.len, user_id.p);
    if (n <= 0 || (size_t)n >= sizeof name)
        return RTM_EINVAL;
    return s_subscribe(chs, s, app, rtm_str(name, (size_t)n), NULL, true, true, now_ms);
}

/* Removes subscription `slot` of s, in both directions. */
static void s_remove(rtm_channels_t *chs, rtm_subscriber_t *s, uint32_t slot)
{
    rtm_subscription_t gone = s->subs[slot];
    rtm_channel_t *ch = gone.channel;
    if (gone.join)
        gone.join->s = NULL; /* its answer undoes the join */
    else if (gone.presence && gone.state == RTM_SUB_ACTIVE)
        s_leave(chs, ch->app, s_name(ch), rtm_presence_id(gone.presence), s_socket_id(s));
    rtm_presence_free(&gone.presence);
    if (gone.state == RTM_SUB_ACTIVE && !gone.watch) {
        ch->n_active--;
        ch->announce = true;
    }
    s->n_watches -= gone.watch;
    chs->attention = true;
    s_sub_t last_sub = ch->subs[--ch->n_subs];
    if (gone.slot != ch->n_subs) {
        ch->subs[gone.slot] = last_sub;
        last_sub.s->subs[last_sub.slot].slot = gone.slot;
    }
    rtm_subscription_t last = s->subs[--s->n_subs];
    if (slot != s->n_subs) {
        s->subs[slot] = last;
        last.channel->subs[last.slot].slot = slot;
    }
    RTM_COUNT(chs->metrics, subscriptions, -1);
    RTM_COUNT_APP(chs->metrics, ch->app, subscriptions, -1);
}

int rtm_channels_unsubscribe(rtm_channels_t *chs, rtm_subscriber_t *s, rtm_str_t channel)
{
    rtm_subscription_t *sub = rtm_channels_find(s, channel);
    if (!sub)
        return RTM_ENOTFOUND;
    s_remove(chs, s, (uint32_t)(sub - s->subs));
    return 0;
}

void rtm_channels_unsubscribe_all(rtm_channels_t *chs, rtm_subscriber_t *s)
{
    while (s->n_subs)
        s_remove(chs, s, s->n_subs - 1);
    free(s->subs);
    s->subs = NULL;
    s->cap_subs = 0;
}

/* Whether subscription sub is user_id's accepted member connection. */
static bool s_is_member(const rtm_subscription_t *sub, rtm_str_t user_id)
{
    return sub->state == RTM_SUB_ACTIVE && sub->presence &&
           rtm_str_eq(rtm_str(sub->presence->user_id, sub->presence->id_len), user_id);
}

/* Queues fr to every active subscriber of ch, each in the form it
 * negotiated, but the connection `exclude` names and, when `member` is
 * given, that user's own member connections. */
static void s_fan_out(rtm_channels_t *chs, rtm_channel_t *ch, s_frames_t *fr, rtm_str_t exclude,
                      rtm_str_t member)
{
    uint64_t sent = 0, deflated = 0, bytes = 0;
    for (uint32_t i = 0; i < ch->n_subs; i++) {
        rtm_subscriber_t *s = ch->subs[i].s;
        if (!ch->subs[i].active || (exclude.len && rtm_str_eq(exclude, s_socket_id(s))) ||
            (member.len && s_is_member(&s->subs[ch->subs[i].slot], member)))
            continue;
        rtm_frame_t *f = s_frame_for(chs, fr, s);
        chs->sink->send(chs->sink->ctx, s, f);
        sent++;
        deflated += f != fr->plain;
        bytes += f->len;
    }
    RTM_COUNT(chs->metrics, messages_out_total, sent);
    RTM_COUNT(chs->metrics, bytes_out_total, bytes);
    RTM_COUNT(chs->metrics, deflated_out, deflated);
}

/* Calls close (the sink's terminate or reconnect) for every subscriber of
 * ch (watchers too when `watchers`). Closing unsubscribes, which reorders
 * ch->subs: work from a copy. */
static void s_close_all(rtm_channels_t *chs, rtm_channel_t *ch,
                        void (*close)(void *ctx, rtm_subscriber_t *s), bool watchers)
{
    uint32_t n = 0;
    rtm_subscriber_t **who = malloc((ch->n_subs ? ch->n_subs : 1) * sizeof *who);
    if (!who)
        abort();
    for (uint32_t i = 0; i < ch->n_subs; i++)
        if (watchers || !ch->subs[i].s->subs[ch->subs[i].slot].watch)
            who[n++] = ch->subs[i].s;
    for (uint32_t i = 0; i < n; i++)
        close(chs->sink->ctx, who[i]);
    free(who);
}

/* The channel is no longer in sync: its subscribers may be missing events,
 * so they are told so the only way Pusher clients understand (reconnect),
 * and new ones wait for a SYNC. */
static void s_give_up(rtm_channels_t *chs, rtm_channel_t *ch)
{
    ch->doubt_ms = 0;
    ch->missed = false;
    ch->synced = false;
    ch->owner = 0;
    ch->sync_req_ms = 0;
    chs->attention = true;
    RTM_COUNT(chs->metrics, channels_unreachable, 1);
    s_close_all(chs, ch, chs->sink->reconnect, true);
}

/* Only events an app server published are cached: not client events, not
 * the shard's own pusher_internal: messages (the JSON always starts with the
 * event name, as the shard renders it). */
static bool s_cacheable(rtm_str_t json)
{
    return !rtm_str_has_prefix(json, "{\"event\":\"client-") &&
           !rtm_str_has_prefix(json, "{\"event\":\"pusher_internal:");
}

/* Keeps fr (both forms: a referenced copy) as ch's cache; plain NULL: none. */
static void s_keep_cache(rtm_channel_t *ch, const s_frames_t *fr, uint64_t expires_ms)
{
    s_frames_release(&ch->cache);
    ch->cache = *fr;
    if (fr->plain)
        rtm_frame_ref(fr->plain);
    if (fr->deflated)
        rtm_frame_ref(fr->deflated);
    ch->cache_expires_ms = expires_ms;
}

void rtm_channels_event(rtm_channels_t *chs, rtm_str_t topic, rtm_str_t exclude, rtm_frame_t *frame,
                        bool held, uint64_t now_ms)
{
    chs->now_ms = now_ms;
    rtm_channel_t *ch = s_find(chs, topic.p, topic.len);
    if (!ch)
        return; /* unsubscribed while the event was in flight */
    if (held) {
        /* older than what the channel's owner since has delivered, and
         * acknowledged to its publisher: neither passed on nor lost silently */
        RTM_COUNT(chs->metrics, held_dropped, 1);
        if (ch->synced)
            s_give_up(chs, ch);
        return;
    }
    s_frames_t fr = s_frames(rtm_frame_ref(frame));
    s_fan_out(chs, ch, &fr, exclude, rtm_str(NULL, 0));
    if (ch->is_cache && s_cacheable(rtm_frame_payload(frame)))
        s_keep_cache(ch, &fr, now_ms + S_CACHE_TTL_MS);
    s_frames_release(&fr);
}

/* Tells ch's subscribers that user_id joined (added) or left, but not the
 * connection `exclude` names, nor, when `own` is set, the user's own member
 * connections here. */
static void s_tell_member(rtm_channels_t *chs, rtm_channel_t *ch, rtm_str_t user_id, bool id_num,
                          rtm_str_t info, bool added, rtm_str_t exclude, bool own)
{
    size_t len;
    char *json = rtm_presence_render_member(s_name(ch), added, user_id, id_num, info, &len);
    s_frames_t fr = s_frames(rtm_frame_text(json, len));
    free(json);
    s_fan_out(chs, ch, &fr, exclude, own ? user_id : rtm_str(NULL, 0));
    s_frames_release(&fr);
}

typedef struct {
    rtm_channels_t *chs;
    rtm_channel_t *ch;
} s_resync_t;

/* A member a SYNC on a channel in sync adds or drops: the subscribers hear
 * it as from a MEMBER, but no user hears of itself (its own connections here
 * keep it listed: see s_on_member). */
static void s_on_resync_change(void *arg, rtm_str_t user_id, bool id_num, rtm_str_t info,
                               bool added)
{
    s_resync_t *r = arg;
    s_tell_member(r->chs, r->ch, user_id, id_num, info, added, rtm_str(NULL, 0), true);
}

static void s_on_sync(rtm_channels_t *chs, rtm_channel_t *ch, const rtm_wire_msg_t *msg,
                      uint64_t now_ms)
{
    /* a SYNC on a channel in sync (another subscription asked for it) can
     * differ from the mirror, which missed or wrongly took a change: the
     * subscribers listed the mirror's members, so they are told the
     * difference, or a later MEMBER that agrees with the SYNC is no change
     * and never reaches them */
    s_resync_t resync = {chs, ch};
    if (ch->presence)
        rtm_member_mirror_reset(&ch->members, msg, ch->synced ? s_on_resync_change : NULL, &resync);
    if (ch->is_cache) {
        s_frames_t fr = s_frames(
            msg->cache_json.len ? rtm_frame_text(msg->cache_json.p, msg->cache_json.len) : NULL);
        s_keep_cache(ch, &fr, now_ms + (msg->ttl_ms ? msg->ttl_ms : S_CACHE_TTL_MS));
        s_frames_release(&fr);
    }
    bool first = !ch->synced;
    bool moved = ch->online != (msg->count > 0); /* a user came online or went offline */
    ch->online = msg->count > 0;
    ch->synced = true;
    if (first)
        ch->owner = s_owner(chs, ch);
    for (uint32_t i = 0; (first || moved) && i < ch->n_subs; i++) {
        rtm_subscriber_t *s = ch->subs[i].s;
        rtm_subscription_t *sub = &s->subs[ch->subs[i].slot];
        if (first && sub->state == RTM_SUB_PENDING)
            s_advance(chs, s, sub, now_ms);
        else if (moved && sub->watch && sub->state == RTM_SUB_ACTIVE) /* watchers: the news */
            s_send_watch(chs, s, ch);
    }
}

/* A removal never reaches the removed user's own member connections here:
 * it is either stale (an owner that judged this node gone during a partition
 * re-announces the user with a member_added that excludes their connection,
 * which would then have dropped itself for good) or older than the user's
 * re-join, whose answer can overtake it (replies and channel messages come
 * on different links). Everyone else is told, so a re-join with new
 * user_info reaches them as a removal and an addition. */
static void s_on_member(rtm_channels_t *chs, rtm_channel_t *ch, const rtm_wire_msg_t *msg)
{
    if (ch->presence && ch->synced &&
        rtm_member_mirror_apply(&ch->members, msg->user_id, msg->user_num, msg->user_info,
                                msg->added))
        s_tell_member(chs, ch, msg->user_id, msg->user_num, msg->user_info, msg->added,
                      msg->exclude, !msg->added);
}

/* Tells the owner how many local subscribers the channel has now. Users'
 * own channels get no count events: they are not the application's. */
static bool s_announce(rtm_channels_t *chs, rtm_channel_t *ch)
{
    rtm_wire_msg_t msg = {.type = RTM_WIRE_SUB_COUNT,
                          .app = s_app(ch),
                          .channel = s_name(ch),
                          .count = ch->n_active,
                          .notify = ch->app->subscription_count &&
                                    rtm_channel_type(s_name(ch)) != RTM_CH_USER};
    return s_send_owner(chs, &msg) == 0;
}

static void s_on_probe_answer(void *arg, int status, rtm_str_t json)
{
    (void)json;
    s_probe_t *p = arg;
    rtm_channel_t *ch = s_find(p->chs, p->topic, p->topic_len);
    if (ch && ch->probing) {
        ch->probing = false;
        /* confirmed only by the owner we route to now: an older answer
         * speaks for an owner we left meanwhile, and with no live owner
         * nobody can confirm */
        if (status == 0 && ch->doubt_ms && p->owner && p->owner == s_owner(p->chs, ch)) {
            /* the owner we doubted because we lost it, back before another
             * confirmed: it served the others all along, and published what we
             * could not receive; its subscribers are told at the next tick */
            ch->missed = p->owner == ch->owner;
            p->chs->attention |= ch->missed;
            ch->owner = p->owner;
            ch->doubt_ms = ch->missed ? ch->doubt_ms : 0;
        }
    }
    free(p);
}

/* Asks the channel's owner (in our view) whether it owns the channel. */
static void s_probe(rtm_channels_t *chs, rtm_channel_t *ch, uint64_t now_ms)
{
    s_probe_t *p = malloc(sizeof *p + ch->topic_len);
    if (!p)
        abort();
    p->chs = chs;
    p->owner = s_owner(chs, ch);
    p->topic_len = ch->topic_len;
    memcpy(p->topic, ch->topic, ch->topic_len);
    ch->probing = true;
    ch->probe_ms = now_ms;
    rtm_wire_msg_t msg = {.type = RTM_WIRE_QUERY,
                          .app = s_app(ch),
                          .channel = s_name(ch),
                          .kind = RTM_WIRE_QUERY_CHANNEL};
    chs->route->request(chs->route->ctx, &msg, s_on_probe_answer, p);
}

/* Puts a channel in sync in doubt: its owner in our view is asked to
 * confirm it (see channels.h). */
static void s_doubt(rtm_channels_t *chs, rtm_channel_t *ch)
{
    ch->doubt_ms = chs->now_ms ? chs->now_ms : 1;
    chs->attention = true;
    if (!ch->probing)
        s_probe(chs, ch, chs->now_ms);
}

/* A broker handed the channel away (MOVED: its live set changed). A node
 * that still routes the channel there has not seen that change — it cannot
 * hear the new owner, which publishes what this node never receives — so
 * the channel is in doubt as if its owner had changed: given up unless this
 * node's view follows and the new owner confirms within S_DOUBT_MS. Nodes
 * routing elsewhere already follow. Route tokens are rendezvous seeds. */
static void s_on_moved(rtm_channels_t *chs, rtm_channel_t *ch, const rtm_wire_msg_t *msg)
{
    if (ch->synced && !ch->doubt_ms && s_owner(chs, ch) == rtm_rendezvous_seed(msg->broker))
        s_doubt(chs, ch);
}

void rtm_channels_control(rtm_channels_t *chs, rtm_str_t topic, rtm_str_t body, bool held,
                          uint64_t now_ms)
{
    chs->now_ms = now_ms;
    rtm_channel_t *ch = s_find(chs, topic.p, topic.len);
    if (!ch)
        return;
    rtm_wire_msg_t msg;
    if (rtm_wire_decode(body.p, body.len, &msg) < 0) {
        RTM_COUNT_ERR(chs->metrics, RTM_ERR_UPSTREAM_BAD);
        return;
    }
    /* a held SYNC or MEMBER speaks for a broker this node has left, and
     * could undo what the owner since said (its removal of this node's
     * members during a partition, say); a late TERMINATE is still due, and a
     * MOVED only concerns the broker the channel is routed to, never held */
    if (held && (msg.type == RTM_WIRE_SYNC || msg.type == RTM_WIRE_MEMBER)) {
        RTM_COUNT(chs->metrics, held_dropped, 1);
        return;
    }
    switch (msg.type) {
    case RTM_WIRE_SYNC: s_on_sync(chs, ch, &msg, now_ms); break;
    case RTM_WIRE_MEMBER: s_on_member(chs, ch, &msg); break;
    case RTM_WIRE_TERMINATE: s_close_all(chs, ch, chs->sink->terminate, false); break;
    case RTM_WIRE_MOVED: s_on_moved(chs, ch, &msg); break;
    default: RTM_COUNT_ERR(chs->metrics, RTM_ERR_UPSTREAM_BAD);
    }
}

/* A channel in doubt: asks again, or gives up on it once the doubt has
 * lasted S_DOUBT_MS or events were missed. */
static void s_doubt_tick(rtm_channels_t *chs, rtm_channel_t *ch, uint64_t now_ms)
{
    if (!ch->missed && now_ms - ch->doubt_ms < S_DOUBT_MS) {
        if (!ch->probing && now_ms - ch->probe_ms >= S_PROBE_RETRY_MS)
            s_probe(chs, ch, now_ms);
        return;
    }
    s_give_up(chs, ch);
}

void rtm_channels_tick(rtm_channels_t *chs, uint64_t now_ms)
{
    chs->now_ms = now_ms;
    if (!chs->attention)
        return;
    bool again = false;
    rtm_channel_t *ch, *tmp;
    HASH_ITER(hh, chs->channels, ch, tmp)
    {
        if (ch->announce)
            ch->announce = !s_announce(chs, ch);
        if (ch->n_subs == 0 && !ch->announce) {
            s_free(chs, ch, true);
            continue;
        }
        if (ch->doubt_ms)
            s_doubt_tick(chs, ch, now_ms);
        if (!ch->synced && ch->n_subs && now_ms - ch->sync_req_ms >= S_SYNC_RETRY_MS)
            s_request_sync(chs, ch, now_ms);
        again = again || ch->announce || !ch->synced || ch->n_subs == 0 || ch->doubt_ms;
    }
    chs->attention = again;
}

void rtm_channels_give_up_all(rtm_channels_t *chs)
{
    for (rtm_channel_t *ch = chs->channels; ch; ch = ch->hh.next)
        if (ch->synced)
            s_give_up(chs, ch);
}

void rtm_channels_owners_changed(rtm_channels_t *chs)
{
    for (rtm_channel_t *ch = chs->channels; ch; ch = ch->hh.next) {
        ch->announce = true;
        s_share_follow(chs, ch);
        if (ch->synced && !ch->doubt_ms && s_owner(chs, ch) != ch->owner)
            s_doubt(chs, ch);
        for (uint32_t i = 0; ch->presence && i < ch->n_subs; i++) {
            rtm_subscriber_t *s = ch->subs[i].s;
            rtm_subscription_t *sub = &s->subs[ch->subs[i].slot];
            if (sub->state != RTM_SUB_ACTIVE)
                continue;
            rtm_wire_msg_t msg = {.type = RTM_WIRE_PRESENCE_JOIN, /* id 0: no answer wanted */
                                  .app = s_app(ch),
                                  .channel = s_name(ch),
                                  .user_id = rtm_presence_id(sub->presence),
                                  .user_info = rtm_presence_info(sub->presence),
                                  .user_num = sub->presence->id_num,
                                  .exclude = s_socket_id(s)};
            s_send_owner(chs, &msg);
        }
    }
    chs->attention = chs->channels != NULL;
}
