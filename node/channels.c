/* rtm_channels — see channels.h.
 *
 * Invariant: for every i, ch->subs[i].conn->subs[ch->subs[i].slot].channel ==
 * ch and the mirror holds on the connection side; removal swaps the last
 * element into the hole and fixes that element's back-index, so subscribe and
 * unsubscribe are O(1). Fan-out relies on rtm_conn_send never closing a
 * connection synchronously (a failed write is closed at the end of the turn),
 * so the array cannot change under it. A channel left without subscribers is
 * kept until the next tick has told its shard the count fell to zero; only
 * then is it freed and the topic unsubscribed. */
#include "channels.h"

#include "conn.h"
#include "presence.h"
#include "rtm_error.h"
#include "rtm_json.h"
#include "rtm_pusher.h"
#include "rtm_channel.h"
#include "rtm_wire.h"
#include "rtm_ws.h"
#include "session.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#define S_SYNC_RETRY_MS 200                 /* SYNC_REQ repeated until a SYNC arrives */
#define S_CACHE_TTL_MS  (30ULL * 60 * 1000) /* Pusher keeps a cache channel's event 30 min */

/* A PRESENCE_JOIN in flight. Outlives its connection when that closes first:
 * an accepted join must then be undone with a PRESENCE_LEAVE. */
struct rtm_join {
    rtm_worker_t *w;
    rtm_conn_t *conn; /* NULL once the subscription is gone */
    const rtm_app_t *app;
    rtm_str_t channel, user_id, socket_id; /* slices of text */
    char text[];
};

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

static rtm_channel_t *s_find(rtm_worker_t *w, const char *topic, size_t len)
{
    rtm_channel_t *ch;
    HASH_FIND(hh, w->channels, topic, len, ch);
    return ch;
}

static void s_send_owner(rtm_worker_t *w, const rtm_app_t *app, rtm_str_t channel,
                         rtm_wire_msg_t *msg)
{
    int owner = rtm_upstream_owner(&w->up, rtm_str_cstr(app->id), channel);
    if (owner >= 0)
        rtm_upstream_send(&w->up, (uint32_t)owner, msg);
}

static void s_request_sync(rtm_worker_t *w, rtm_channel_t *ch)
{
    rtm_wire_msg_t msg = {.type = RTM_WIRE_SYNC_REQ,
                          .app = rtm_str_cstr(ch->app->id),
                          .channel = rtm_channel_name(ch)};
    s_send_owner(w, ch->app, msg.channel, &msg);
    ch->sync_req_ms = uv_now(&w->loop);
    w->channels_attention = true;
}

static void s_leave(rtm_worker_t *w, const rtm_app_t *app, rtm_str_t channel, rtm_str_t user_id,
                    rtm_str_t socket_id)
{
    rtm_wire_msg_t msg = {.type = RTM_WIRE_PRESENCE_LEAVE,
                          .app = rtm_str_cstr(app->id),
                          .channel = channel,
                          .user_id = user_id,
                          .exclude = socket_id};
    s_send_owner(w, app, channel, &msg);
}

static rtm_channel_t *s_create(rtm_worker_t *w, const rtm_app_t *app, rtm_str_t name,
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
    HASH_ADD(hh, w->channels, topic[0], ch->topic_len, ch);
    rtm_upstream_subscribe(&w->up, ch->topic, ch->topic_len, true);
    RTM_COUNT(&w->metrics, channels, 1);
    return ch;
}

static void s_free(rtm_worker_t *w, rtm_channel_t *ch)
{
    rtm_upstream_subscribe(&w->up, ch->topic, ch->topic_len, false);
    HASH_DEL(w->channels, ch);
    rtm_presence_mirror_clear(ch);
    rtm_frame_unref(&ch->cache);
    free(ch->subs);
    free(ch);
    RTM_COUNT(&w->metrics, channels, -1);
}

static void s_send_cache(rtm_worker_t *w, rtm_conn_t *c, rtm_channel_t *ch)
{
    if (ch->cache && uv_now(&w->loop) - ch->cache_ms < S_CACHE_TTL_MS) {
        rtm_conn_send(c, ch->cache);
        return;
    }
    char buf[RTM_WIRE_MAX_TOPIC + 64];
    rtm_json_out_t o = rtm_json_out(buf, sizeof buf);
    rtm_str_t name = rtm_channel_name(ch);
    rtm_json_put_lit(&o, "{\"event\":\"pusher:cache_miss\",\"channel\":\"");
    rtm_json_put_esc(&o, name.p, name.len);
    rtm_json_put_lit(&o, "\"}");
    if (rtm_json_out_result(&o) > 0)
        rtm_conn_send_text(c, buf, o.n);
    if (ch->app->n_webhooks) { /* the owner turns it into a cache_miss webhook */
        rtm_wire_msg_t miss = {
            .type = RTM_WIRE_CACHE_MISS, .app = rtm_str_cstr(ch->app->id), .channel = name};
        s_send_owner(w, ch->app, name, &miss);
    }
}

static void s_send_succeeded(rtm_worker_t *w, rtm_conn_t *c, const rtm_conn_sub_t *sub)
{
    rtm_channel_t *ch = sub->channel;
    if (sub->presence) {
        size_t len;
        char *json = rtm_presence_succeeded_json(ch, sub->presence, &len);
        rtm_conn_send_text(c, json, len);
        free(json);
    } else {
        char buf[RTM_WIRE_MAX_TOPIC + 128];
        int n = rtm_pusher_render_subscription_succeeded(buf, sizeof buf, rtm_channel_name(ch));
        if (n > 0)
            rtm_conn_send_text(c, buf, (size_t)n);
    }
    if (ch->is_cache)
        s_send_cache(w, c, ch);
}

static void s_activate(rtm_worker_t *w, rtm_conn_t *c, rtm_conn_sub_t *sub)
{
    sub->state = RTM_SUB_ACTIVE;
    sub->channel->subs[sub->slot].active = true;
    /* counted only now: a count event the shard sends for it then reaches
     * this subscriber too, since its channel is in sync */
    sub->channel->n_active++;
    sub->channel->announce = true;
    w->channels_attention = true;
    if (!sub->silent)
        s_send_succeeded(w, c, sub);
}

static rtm_conn_sub_t *s_sub_of_join(rtm_conn_t *c, const rtm_join_t *join)
{
    for (uint32_t i = 0; i < c->n_subs; i++)
        if (c->subs[i].presence && c->subs[i].presence->join == join)
            return &c->subs[i];
    return NULL;
}

static void s_remove(rtm_worker_t *w, rtm_conn_t *c, uint32_t slot);

static void s_on_join_ack(void *arg, int status, rtm_str_t json)
{
    rtm_join_t *join = arg;
    rtm_conn_t *c = join->conn;
    rtm_conn_sub_t *sub = c ? s_sub_of_join(c, join) : NULL;
    if (!sub) { /* the subscription went away meanwhile: undo an accepted join */
        if (status == 0)
            s_leave(join->w, join->app, join->channel, join->user_id, join->socket_id);
    } else if (status == 0) {
        sub->presence->join = NULL;
        s_activate(join->w, c, sub);
    } else {
        sub->presence->join = NULL;
        bool full = status == RTM_ETOOBIG;
        rtm_ws_session_refuse(c, join->channel, full ? "LimitReached" : "ServerError",
                              full ? "The maximum number of members of this presence channel "
                                     "has been reached"
                                   : "The channel's shard is unavailable, try again",
                              full ? 4100 : 503);
        s_remove(join->w, c, (uint32_t)(sub - c->subs));
    }
    free(join);
}

static void s_join(rtm_worker_t *w, rtm_conn_t *c, rtm_conn_sub_t *sub)
{
    rtm_channel_t *ch = sub->channel;
    rtm_presence_t *p = sub->presence;
    rtm_str_t name = rtm_channel_name(ch);
    rtm_join_t *join = malloc(sizeof *join + name.len + p->id_len + c->socket_id_len);
    if (!join)
        abort();
    char *t = join->text;
    memcpy(t, name.p, name.len);
    memcpy(t + name.len, p->user_id, p->id_len);
    memcpy(t + name.len + p->id_len, c->socket_id, c->socket_id_len);
    *join = (rtm_join_t){w,
                         c,
                         ch->app,
                         rtm_str(t, name.len),
                         rtm_str(t + name.len, p->id_len),
                         rtm_str(t + name.len + p->id_len, c->socket_id_len)};
    p->join = join;
    sub->state = RTM_SUB_JOINING;
    rtm_wire_msg_t msg = {.type = RTM_WIRE_PRESENCE_JOIN,
                          .app = rtm_str_cstr(ch->app->id),
                          .channel = name,
                          .user_id = join->user_id,
                          .user_info = rtm_str(p->user_info, p->info_len),
                          .exclude = join->socket_id,
                          .limit = ch->app->max_presence_members};
    int owner = rtm_upstream_owner(&w->up, msg.app, name);
    /* no live owner: the request to shard 0 fails and reports through the ack */
    rtm_upstream_request(&w->up, owner < 0 ? 0 : (uint32_t)owner, &msg, s_on_join_ack, join);
}

static void s_advance(rtm_worker_t *w, rtm_conn_t *c, rtm_conn_sub_t *sub)
{
    if (sub->presence)
        s_join(w, c, sub);
    else
        s_activate(w, c, sub);
}

rtm_conn_sub_t *rtm_channels_find(rtm_conn_t *c, rtm_str_t channel)
{
    for (uint32_t i = 0; i < c->n_subs; i++)
        if (rtm_str_eq(rtm_channel_name(c->subs[i].channel), channel))
            return &c->subs[i];
    return NULL;
}

int rtm_channels_subscribe(rtm_worker_t *w, rtm_conn_t *c, const rtm_app_t *app, rtm_str_t channel,
                           rtm_presence_t *presence, bool silent)
{
    rtm_conn_sub_t *existing = rtm_channels_find(c, channel);
    if (existing) {
        rtm_presence_free(&presence);
        if (!existing->silent || silent)
            return RTM_EINVAL;
        existing->silent = false;
        if (existing->state == RTM_SUB_ACTIVE)
            s_send_succeeded(w, c, existing);
        return 0;
    }
    char topic[RTM_WIRE_MAX_TOPIC];
    int len = rtm_wire_topic(topic, sizeof topic, rtm_str_cstr(app->id), channel);
    if (len < 0) {
        rtm_presence_free(&presence);
        return RTM_EINVAL;
    }
    rtm_channel_t *ch = s_find(w, topic, (size_t)len);
    if (!ch)
        ch = s_create(w, app, channel, topic, (size_t)len);
    if (ch->n_subs == ch->cap_subs)
        ch->subs = s_grow(ch->subs, &ch->cap_subs, 8, sizeof *ch->subs);
    if (c->n_subs == c->cap_subs)
        c->subs = s_grow(c->subs, &c->cap_subs, 1, sizeof *c->subs);
    ch->subs[ch->n_subs] = (rtm_sub_t){c, c->n_subs, false};
    rtm_conn_sub_t *sub = &c->subs[c->n_subs];
    *sub = (rtm_conn_sub_t){ch, ch->n_subs, RTM_SUB_PENDING, silent, presence};
    ch->n_subs++;
    c->n_subs++;
    w->channels_attention = true;
    RTM_COUNT(&w->metrics, subscriptions, 1);
    if (ch->synced)
        s_advance(w, c, sub);
    else if (!ch->sync_req_ms)
        s_request_sync(w, ch);
    return 0;
}

/* Removes subscription `slot` of c, in both directions. */
static void s_remove(rtm_worker_t *w, rtm_conn_t *c, uint32_t slot)
{
    rtm_conn_sub_t gone = c->subs[slot];
    rtm_channel_t *ch = gone.channel;
    if (gone.presence) {
        if (gone.presence->join)
            gone.presence->join->conn = NULL; /* its ack undoes the join */
        else if (gone.state == RTM_SUB_ACTIVE)
            s_leave(w, ch->app, rtm_channel_name(ch),
                    rtm_str(gone.presence->user_id, gone.presence->id_len),
                    rtm_str(c->socket_id, c->socket_id_len));
        rtm_presence_free(&gone.presence);
    }
    if (gone.state == RTM_SUB_ACTIVE) {
        ch->n_active--;
        ch->announce = true;
        w->channels_attention = true;
    }
    rtm_sub_t last_sub = ch->subs[--ch->n_subs];
    if (gone.slot != ch->n_subs) {
        ch->subs[gone.slot] = last_sub;
        last_sub.conn->subs[last_sub.slot].slot = gone.slot;
    }
    rtm_conn_sub_t last = c->subs[--c->n_subs];
    if (slot != c->n_subs) {
        c->subs[slot] = last;
        last.channel->subs[last.slot].slot = slot;
    }
    RTM_COUNT(&w->metrics, subscriptions, -1);
}

int rtm_channels_unsubscribe(rtm_worker_t *w, rtm_conn_t *c, rtm_str_t channel)
{
    rtm_conn_sub_t *sub = rtm_channels_find(c, channel);
    if (!sub)
        return RTM_ENOTFOUND;
    s_remove(w, c, (uint32_t)(sub - c->subs));
    return 0;
}

void rtm_channels_unsubscribe_all(rtm_worker_t *w, rtm_conn_t *c)
{
    while (c->n_subs)
        s_remove(w, c, c->n_subs - 1);
    free(c->subs);
    c->subs = NULL;
    c->cap_subs = 0;
}

static rtm_frame_t *s_frame(rtm_str_t json)
{
    rtm_frame_t *f = rtm_frame_new(RTM_WS_MAX_HEADER + json.len);
    size_t hdr = rtm_ws_encode_header(f->data, RTM_WS_TEXT, json.len);
    memcpy(f->data + hdr, json.p, json.len);
    f->len = (uint32_t)(hdr + json.len);
    return f;
}

/* Queues f to every active subscriber but the excluded socket. */
static void s_fan_out(rtm_worker_t *w, rtm_channel_t *ch, rtm_frame_t *f, rtm_str_t exclude)
{
    uint64_t sent = 0;
    for (uint32_t i = 0; i < ch->n_subs; i++) {
        rtm_conn_t *c = ch->subs[i].conn;
        if (!ch->subs[i].active || (exclude.len && exclude.len == c->socket_id_len &&
                                    memcmp(exclude.p, c->socket_id, exclude.len) == 0))
            continue;
        rtm_conn_send(c, f);
        sent++;
    }
    RTM_COUNT(&w->metrics, messages_out_total, sent);
    RTM_COUNT(&w->metrics, bytes_out_total, sent * f->len);
}

/* Only events an app server published are cached: not client events, not
 * the shard's own pusher_internal: messages (the JSON always starts with the
 * event name, as the shard renders it). */
static bool s_cacheable(rtm_str_t json)
{
    return !rtm_str_has_prefix(json, "{\"event\":\"client-") &&
           !rtm_str_has_prefix(json, "{\"event\":\"pusher_internal:");
}

void rtm_channels_deliver(rtm_worker_t *w, rtm_str_t topic, rtm_str_t exclude, rtm_str_t json)
{
    rtm_channel_t *ch = s_find(w, topic.p, topic.len);
    if (!ch)
        return; /* unsubscribed while the event was in flight */
    rtm_frame_t *f = s_frame(json);
    s_fan_out(w, ch, f, exclude);
    if (ch->is_cache && s_cacheable(json)) {
        rtm_frame_unref(&ch->cache);
        ch->cache = rtm_frame_ref(f);
        ch->cache_ms = uv_now(&w->loop);
    }
    rtm_frame_unref(&f);
}

static void s_on_sync(rtm_worker_t *w, rtm_channel_t *ch, const rtm_wire_msg_t *msg)
{
    if (ch->presence)
        rtm_presence_mirror_reset(ch, msg);
    if (ch->is_cache) {
        rtm_frame_unref(&ch->cache);
        if (msg->cache_json.len) {
            ch->cache = s_frame(msg->cache_json);
            ch->cache_ms = uv_now(&w->loop);
        }
    }
    bool first = !ch->synced;
    ch->synced = true;
    for (uint32_t i = 0; first && i < ch->n_subs; i++) {
        rtm_conn_t *c = ch->subs[i].conn;
        rtm_conn_sub_t *sub = &c->subs[ch->subs[i].slot];
        if (sub->state == RTM_SUB_PENDING)
            s_advance(w, c, sub);
    }
}

static void s_on_member(rtm_worker_t *w, rtm_channel_t *ch, const rtm_wire_msg_t *msg)
{
    if (!ch->presence || !ch->synced ||
        !rtm_presence_mirror_apply(ch, msg->user_id, msg->user_info, msg->added))
        return;
    size_t len;
    char *json = rtm_presence_member_json(rtm_channel_name(ch), msg->added, msg->user_id,
                                          msg->user_info, &len);
    rtm_frame_t *f = s_frame(rtm_str(json, len));
    free(json);
    s_fan_out(w, ch, f, msg->exclude);
    rtm_frame_unref(&f);
}

static void s_on_terminate(rtm_worker_t *w, rtm_channel_t *ch)
{
    /* every close removes the connection from ch, shrinking the array */
    while (ch->n_subs > 0) {
        uint32_t before = ch->n_subs;
        rtm_conn_close(ch->subs[0].conn, 4009, "Connection terminated by the app");
        if (ch->n_subs == before)
            break; /* cannot happen: a closing connection holds no subscription */
    }
}

void rtm_channels_control(rtm_worker_t *w, rtm_str_t topic, rtm_str_t body)
{
    rtm_channel_t *ch = s_find(w, topic.p, topic.len);
    if (!ch)
        return;
    rtm_wire_msg_t msg;
    if (rtm_wire_decode(body.p, body.len, &msg) < 0) {
        RTM_COUNT_ERR(&w->metrics, RTM_ERR_UPSTREAM_BAD);
        return;
    }
    switch (msg.type) {
    case RTM_WIRE_SYNC: s_on_sync(w, ch, &msg); break;
    case RTM_WIRE_MEMBER: s_on_member(w, ch, &msg); break;
    case RTM_WIRE_TERMINATE: s_on_terminate(w, ch); break;
    default: RTM_COUNT_ERR(&w->metrics, RTM_ERR_UPSTREAM_BAD);
    }
}

/* Tells the owner how many local subscribers the channel has now. Users'
 * own channels get no count events: they are not the application's. */
static bool s_announce(rtm_worker_t *w, rtm_channel_t *ch)
{
    rtm_wire_msg_t msg = {.type = RTM_WIRE_SUB_COUNT,
                          .app = rtm_str_cstr(ch->app->id),
                          .channel = rtm_channel_name(ch),
                          .count = ch->n_active,
                          .notify = ch->app->subscription_count &&
                                    rtm_channel_type(rtm_channel_name(ch)) != RTM_CH_USER};
    int owner = rtm_upstream_owner(&w->up, msg.app, msg.channel);
    return owner >= 0 && rtm_upstream_send(&w->up, (uint32_t)owner, &msg) == 0;
}

void rtm_channels_tick(rtm_worker_t *w)
{
    if (!w->channels_attention)
        return;
    bool again = false;
    uint64_t now = uv_now(&w->loop);
    rtm_channel_t *ch, *tmp;
    HASH_ITER(hh, w->channels, ch, tmp)
    {
        if (ch->announce)
            ch->announce = !s_announce(w, ch);
        if (ch->n_subs == 0 && !ch->announce) {
            s_free(w, ch);
            continue;
        }
        if (!ch->synced && ch->n_subs && now - ch->sync_req_ms >= S_SYNC_RETRY_MS)
            s_request_sync(w, ch);
        again = again || ch->announce || !ch->synced || ch->n_subs == 0;
    }
    w->channels_attention = again;
}

void rtm_channels_owners_changed(rtm_worker_t *w)
{
    for (rtm_channel_t *ch = w->channels; ch; ch = ch->hh.next) {
        ch->announce = true;
        for (uint32_t i = 0; ch->presence && i < ch->n_subs; i++) {
            rtm_conn_t *c = ch->subs[i].conn;
            rtm_conn_sub_t *sub = &c->subs[ch->subs[i].slot];
            if (sub->state != RTM_SUB_ACTIVE)
                continue;
            rtm_wire_msg_t msg = {.type = RTM_WIRE_PRESENCE_JOIN, /* id 0: no ack wanted */
                                  .app = rtm_str_cstr(ch->app->id),
                                  .channel = rtm_channel_name(ch),
                                  .user_id = rtm_str(sub->presence->user_id, sub->presence->id_len),
                                  .user_info =
                                      rtm_str(sub->presence->user_info, sub->presence->info_len),
                                  .exclude = rtm_str(c->socket_id, c->socket_id_len)};
            s_send_owner(w, ch->app, msg.channel, &msg);
        }
    }
    w->channels_attention = w->channels != NULL;
}

void rtm_channels_destroy(rtm_worker_t *w)
{
    rtm_channel_t *ch, *tmp;
    HASH_ITER(hh, w->channels, ch, tmp)
    {
        HASH_DEL(w->channels, ch);
        rtm_presence_mirror_clear(ch);
        rtm_frame_unref(&ch->cache);
        free(ch->subs);
        free(ch);
    }
}
