/* rtm_channels — see channels.h.
 *
 * Invariant: for every i, ch->subs[i].conn->subs[ch->subs[i].slot].channel ==
 * ch and the mirror holds on the connection side; removal swaps the last
 * element into the hole and fixes that element's back-index. Fan-out relies
 * on rtm_conn_send never closing a connection synchronously (a failed write
 * is closed at the end of the turn), so the array cannot change under it. */
#include "channels.h"

#include "conn.h"
#include "rtm_error.h"
#include "rtm_wire.h"
#include "rtm_ws.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#define S_TOPIC_MAX 512

static void *s_grow(void *p, uint32_t *cap, size_t elem)
{
    *cap = *cap ? *cap * 2 : 4;
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

int rtm_channels_subscribe(rtm_worker_t *w, rtm_conn_t *c, rtm_str_t app, rtm_str_t channel)
{
    char topic[S_TOPIC_MAX];
    int len = rtm_wire_topic(topic, sizeof topic, app, channel);
    if (len < 0)
        return RTM_EINVAL;
    rtm_channel_t *ch = s_find(w, topic, (size_t)len);
    if (ch) {
        for (uint32_t i = 0; i < c->n_subs; i++)
            if (c->subs[i].channel == ch)
                return RTM_EINVAL;
    } else {
        ch = calloc(1, sizeof *ch + (size_t)len);
        if (!ch)
            abort();
        memcpy(ch->topic, topic, (size_t)len);
        ch->topic_len = (uint16_t)len;
        HASH_ADD(hh, w->channels, topic[0], ch->topic_len, ch);
        rtm_upstream_subscribe(&w->up, ch->topic, ch->topic_len, true);
        RTM_COUNT(&w->metrics, channels, 1);
    }
    if (ch->n_subs == ch->cap_subs)
        ch->subs = s_grow(ch->subs, &ch->cap_subs, sizeof *ch->subs);
    if (c->n_subs == c->cap_subs)
        c->subs = s_grow(c->subs, &c->cap_subs, sizeof *c->subs);
    ch->subs[ch->n_subs] = (rtm_sub_t){c, c->n_subs};
    c->subs[c->n_subs] = (rtm_conn_sub_t){ch, ch->n_subs};
    ch->n_subs++;
    c->n_subs++;
    RTM_COUNT(&w->metrics, subscriptions, 1);
    return 0;
}

/* Removes subscription `slot` of c, in both directions. */
static void s_remove(rtm_worker_t *w, rtm_conn_t *c, uint32_t slot)
{
    rtm_channel_t *ch = c->subs[slot].channel;
    uint32_t ch_slot = c->subs[slot].slot;

    rtm_sub_t last_sub = ch->subs[--ch->n_subs];
    if (ch_slot != ch->n_subs) {
        ch->subs[ch_slot] = last_sub;
        last_sub.conn->subs[last_sub.slot].slot = ch_slot;
    }
    rtm_conn_sub_t last = c->subs[--c->n_subs];
    if (slot != c->n_subs) {
        c->subs[slot] = last;
        last.channel->subs[last.slot].slot = slot;
    }
    RTM_COUNT(&w->metrics, subscriptions, -1);
    if (ch->n_subs == 0) {
        rtm_upstream_subscribe(&w->up, ch->topic, ch->topic_len, false);
        HASH_DEL(w->channels, ch);
        free(ch->subs);
        free(ch);
        RTM_COUNT(&w->metrics, channels, -1);
    }
}

int rtm_channels_unsubscribe(rtm_worker_t *w, rtm_conn_t *c, rtm_str_t app, rtm_str_t channel)
{
    char topic[S_TOPIC_MAX];
    int len = rtm_wire_topic(topic, sizeof topic, app, channel);
    rtm_channel_t *ch = len < 0 ? NULL : s_find(w, topic, (size_t)len);
    for (uint32_t i = 0; ch && i < c->n_subs; i++) {
        if (c->subs[i].channel == ch) {
            s_remove(w, c, i);
            return 0;
        }
    }
    return RTM_ENOTFOUND;
}

void rtm_channels_unsubscribe_all(rtm_worker_t *w, rtm_conn_t *c)
{
    while (c->n_subs)
        s_remove(w, c, c->n_subs - 1);
    free(c->subs);
    c->subs = NULL;
    c->cap_subs = 0;
}

void rtm_channels_deliver(rtm_worker_t *w, rtm_str_t topic, rtm_str_t exclude, rtm_str_t json)
{
    rtm_channel_t *ch = s_find(w, topic.p, topic.len);
    if (!ch)
        return; /* unsubscribed while the event was in flight */
    rtm_frame_t *f = rtm_frame_new(RTM_WS_MAX_HEADER + json.len);
    size_t hdr = rtm_ws_encode_header(f->data, RTM_WS_TEXT, json.len);
    memcpy(f->data + hdr, json.p, json.len);
    f->len = (uint32_t)(hdr + json.len);
    uint64_t sent = 0;
    for (uint32_t i = 0; i < ch->n_subs; i++) {
        rtm_conn_t *c = ch->subs[i].conn;
        if (exclude.len && exclude.len == c->socket_id_len &&
            memcmp(exclude.p, c->socket_id, exclude.len) == 0)
            continue;
        rtm_conn_send(c, f);
        sent++;
    }
    RTM_COUNT(&w->metrics, messages_out_total, sent);
    RTM_COUNT(&w->metrics, bytes_out_total, sent * f->len);
    rtm_frame_unref(&f);
}

void rtm_channels_destroy(rtm_worker_t *w)
{
    rtm_channel_t *ch, *tmp;
    HASH_ITER(hh, w->channels, ch, tmp)
    {
        HASH_DEL(w->channels, ch);
        free(ch->subs);
        free(ch);
    }
}
