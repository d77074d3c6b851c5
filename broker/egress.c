/* egress — see egress.h.
 *
 * Subscriptions: one record per distinct subscribed prefix (uthash by its
 * bytes), holding the peers that subscribed it; each peer keeps a hash of
 * its own records, to leave them when it goes. A peer subscribes a prefix
 * once (a second SUBSCRIBE is a no-op, as libzmq's XPUB keeps a set per
 * pipe). Matching a published topic: the topics we publish hold a 0x00 only
 * as their last byte (rtm_wire_topic; the heartbeat topic holds none), so a
 * subscription ending in 0x00 is a prefix of a published topic only when it
 * equals it — one hash lookup. The other subscriptions (the heartbeat
 * topic, or a whole app or everything, as tools subscribe) are few and
 * scanned. A per-send mark keeps a peer matched twice from getting two
 * copies. */
#include "egress.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef struct s_peer s_peer_t;

typedef struct {
    UT_hash_handle hh;
    s_peer_t **peers;
    size_t n, cap;
    bool exact; /* ends with 0x00: matched by lookup, not by scan */
    size_t len;
    char topic[]; /* the key */
} s_sub_t;

typedef struct {
    UT_hash_handle hh;
    s_sub_t *sub;
} s_mine_t; /* keyed by sub's address */

struct s_peer {
    rtm_zpeer_t *peer;
    uint64_t mark; /* last send that reached it */
    s_mine_t *mine;
};

struct rtm_egress {
    rtm_zserver_t *server;
    rtm_zserver_events_t ev;
    rtm_egress_subscription_cb cb;
    void *arg;
    s_sub_t *subs;     /* every subscribed prefix */
    s_sub_t **scanned; /* the ones not ending in 0x00 */
    size_t n_scanned, cap_scanned;
    uint64_t mark;
    bool closing; /* being destroyed: nobody to tell of subscriptions */
    rtm_egress_stats_t stats;
};

static const char *const s_peer_types[] = {"SUB", "XSUB", NULL};

/* ---- subscriptions ------------------------------------------------------------------------ */

static void s_notify(rtm_egress_t *eg, bool on, const char *topic, size_t len)
{
    char msg[1 + RTM_WIRE_MAX_TOPIC];
    if (len > RTM_WIRE_MAX_TOPIC || eg->closing)
        return; /* nothing we publish matches it, nobody needs to hear of it */
    msg[0] = on ? 1 : 0;
    memcpy(msg + 1, topic, len);
    eg->cb(eg->arg, msg, len + 1);
}

static void s_subscribe(rtm_egress_t *eg, s_peer_t *p, const char *topic, size_t len)
{
    s_sub_t *sub;
    HASH_FIND(hh, eg->subs, topic, len, sub);
    if (!sub) {
        if (!(sub = calloc(1, sizeof *sub + len + 1)))
            abort();
        memcpy(sub->topic, topic, len);
        sub->len = len;
        sub->exact = len > 0 && topic[len - 1] == 0;
        HASH_ADD(hh, eg->subs, topic, len, sub);
        if (!sub->exact) {
            if (eg->n_scanned == eg->cap_scanned) {
                eg->cap_scanned = eg->cap_scanned ? eg->cap_scanned * 2 : 8;
                eg->scanned = realloc(eg->scanned, eg->cap_scanned * sizeof *eg->scanned);
                if (!eg->scanned)
                    abort();
            }
            eg->scanned[eg->n_scanned++] = sub;
        }
    }
    s_mine_t *mine;
    HASH_FIND_PTR(p->mine, &sub, mine);
    if (mine)
        return;
    if (!(mine = calloc(1, sizeof *mine)))
        abort();
    mine->sub = sub;
    HASH_ADD_PTR(p->mine, sub, mine);
    if (sub->n == sub->cap) {
        sub->cap = sub->cap ? sub->cap * 2 : 4;
        if (!(sub->peers = realloc(sub->peers, sub->cap * sizeof *sub->peers)))
            abort();
    }
    sub->peers[sub->n++] = p;
    if (sub->n == 1)
        s_notify(eg, true, topic, len);
}

static void s_drop_sub(rtm_egress_t *eg, s_sub_t *sub)
{
    s_notify(eg, false, sub->topic, sub->len);
    HASH_DEL(eg->subs, sub);
    for (size_t i = 0; !sub->exact && i < eg->n_scanned; i++)
        if (eg->scanned[i] == sub) {
            eg->scanned[i] = eg->scanned[--eg->n_scanned];
            break;
        }
    free(sub->peers);
    free(sub);
}

static void s_leave(rtm_egress_t *eg, s_peer_t *p, s_mine_t *mine)
{
    s_sub_t *sub = mine->sub;
    HASH_DEL(p->mine, mine);
    free(mine);
    for (size_t i = 0; i < sub->n; i++)
        if (sub->peers[i] == p) {
            sub->peers[i] = sub->peers[--sub->n];
            break;
        }
    if (sub->n == 0)
        s_drop_sub(eg, sub);
}

static void s_unsubscribe(rtm_egress_t *eg, s_peer_t *p, const char *topic, size_t len)
{
    s_sub_t *sub;
    s_mine_t *mine = NULL;
    HASH_FIND(hh, eg->subs, topic, len, sub);
    if (sub)
        HASH_FIND_PTR(p->mine, &sub, mine);
    if (mine)
        s_leave(eg, p, mine);
}

/* ---- peers -------------------------------------------------------------------------------- */

static void s_on_ready(void *arg, rtm_zpeer_t *peer, rtm_str_t meta)
{
    s_peer_t *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->peer = peer;
    rtm_zpeer_set_data(peer, p);
}

static void s_on_gone(void *arg, rtm_zpeer_t *peer)
{
    rtm_egress_t *eg = arg;
    s_peer_t *p = rtm_zpeer_data(peer);
    s_mine_t *mine, *tmp;
    HASH_ITER(hh, p->mine, mine, tmp)
    s_leave(eg, p, mine);
    free(p);
}

/* What a subscriber sends: subscriptions (0x01 / 0x00 + prefix, or 3.1's
 * commands, which the session turns into the same); anything else an XPUB
 * would hand its application, which has no use for it. */
static void s_on_message(void *arg, rtm_zpeer_t *peer, const rtm_str_t *frames, size_t n)
{
    rtm_egress_t *eg = arg;
    if (n != 1 || frames[0].len < 1 || (frames[0].p[0] != 0 && frames[0].p[0] != 1))
        return;
    s_peer_t *p = rtm_zpeer_data(peer);
    if (frames[0].p[0] == 1)
        s_subscribe(eg, p, frames[0].p + 1, frames[0].len - 1);
    else
        s_unsubscribe(eg, p, frames[0].p + 1, frames[0].len - 1);
}

/* ---- publishing --------------------------------------------------------------------------- */

/* Sends to the peers of sub not reached yet by this send; false when one refused. */
static bool s_send_sub(rtm_egress_t *eg, const s_sub_t *sub, const rtm_str_t *frames, size_t n)
{
    bool all = true;
    for (size_t i = 0; i < sub->n; i++) {
        s_peer_t *p = sub->peers[i];
        if (p->mark == eg->mark)
            continue;
        p->mark = eg->mark;
        if (rtm_zpeer_send(p->peer, frames, n) < 0) {
            eg->stats.drops++;
            all = false;
        }
    }
    return all;
}

/* Sends frames (frames[0] the topic) to every subscriber of a prefix of it. */
static bool s_send(rtm_egress_t *eg, const rtm_str_t *frames, size_t n)
{
    rtm_str_t topic = frames[0];
    eg->mark++;
    bool all = true;
    s_sub_t *sub;
    HASH_FIND(hh, eg->subs, topic.p, topic.len, sub);
    if (sub && sub->exact)
        all &= s_send_sub(eg, sub, frames, n);
    for (size_t i = 0; i < eg->n_scanned; i++) {
        sub = eg->scanned[i];
        if (sub->len <= topic.len && memcmp(sub->topic, topic.p, sub->len) == 0)
            all &= s_send_sub(eg, sub, frames, n);
    }
    return all;
}

void rtm_egress_event(rtm_egress_t *eg, rtm_str_t topic, rtm_str_t exclude, rtm_str_t json)
{
    rtm_str_t frames[3] = {topic, exclude, json};
    s_send(eg, frames, 3);
    eg->stats.published++;
}

int rtm_egress_control(rtm_egress_t *eg, rtm_str_t topic, const rtm_wire_msg_t *msg, bool heartbeat)
{
    char stack[16384], *buf;
    int len = rtm_wire_encode_buf(msg, stack, sizeof stack, &buf);
    assert(len > 0);
    rtm_str_t frames[2] = {topic, rtm_str(buf, (size_t)len)};
    bool all = s_send(eg, frames, 2);
    if (buf != stack)
        free(buf);
    if (!heartbeat)
        eg->stats.controls++;
    return all ? 0 : -1;
}

static void s_control(void *ctx, rtm_str_t app, rtm_str_t channel, const rtm_wire_msg_t *msg)
{
    char topic[RTM_WIRE_MAX_TOPIC];
    int n = rtm_wire_topic(topic, sizeof topic, app, channel);
    assert(n > 0); /* the state only holds valid topics */
    rtm_egress_control(ctx, rtm_str(topic, (size_t)n), msg, false);
}

static void s_event(void *ctx, rtm_str_t app, rtm_str_t channel, rtm_str_t exclude, rtm_str_t json)
{
    char topic[RTM_WIRE_MAX_TOPIC];
    int n = rtm_wire_topic(topic, sizeof topic, app, channel);
    assert(n > 0);
    rtm_egress_event(ctx, rtm_str(topic, (size_t)n), exclude, json);
}

rtm_channel_sink_t rtm_egress_sink(rtm_egress_t *eg)
{
    return (rtm_channel_sink_t){.ctx = eg, .control = s_control, .event = s_event};
}

/* ---- life --------------------------------------------------------------------------------- */

rtm_egress_t *rtm_egress_new(const char *host, int port, const rtm_zserver_config_t *cfg,
                             rtm_egress_subscription_cb cb, void *arg)
{
    rtm_egress_t *eg = calloc(1, sizeof *eg);
    if (!eg)
        abort();
    eg->cb = cb;
    eg->arg = arg;
    eg->ev = (rtm_zserver_events_t){eg, s_on_ready, s_on_message, s_on_gone};
    rtm_zserver_config_t c = *cfg;
    c.socket_type = "XPUB";
    c.peer_types = s_peer_types;
    if (!(eg->server = rtm_zserver_new(host, port, &c, &eg->ev))) {
        free(eg);
        return NULL;
    }
    return eg;
}

const rtm_egress_stats_t *rtm_egress_stats(const rtm_egress_t *eg)
{
    return &eg->stats;
}

rtm_zserver_t *rtm_egress_server(rtm_egress_t *eg)
{
    return eg->server;
}

void rtm_egress_destroy(rtm_egress_t **egp, int linger_ms)
{
    rtm_egress_t *eg = *egp;
    if (!eg)
        return;
    eg->closing = true;
    rtm_zserver_destroy(&eg->server, linger_ms); /* every peer leaves its subscriptions */
    free(eg->scanned);
    free(eg);
    *egp = NULL;
}
