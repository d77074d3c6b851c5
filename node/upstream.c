/* rtm_upstream — see upstream.h.
 *
 * Liveness is judged per worker from the heartbeats its own SUB socket sees
 * and the replies its DEALER gets to its own heartbeats, so a worker never
 * routes to a shard it cannot hear or cannot reach. Requests are kept in a
 * hash by id and in a list in send order; all requests share one timeout, so
 * the list is also deadline order and expiry only looks at its head. A request
 * that fails before it is sent still waits for the next tick to report, so a
 * callback never runs inside the call that made the request. */
#include "upstream.h"

#include "rtm_config.h"
#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_rendezvous.h"
#include "rtm_tier.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <zmq.h>

#define S_REQUEST_MS   2000 /* a shard that has not acked by then is unavailable */
#define S_DRAIN_BUDGET 64
#define S_DEALER_HWM   10000

struct rtm_pending {
    UT_hash_handle hh;
    uint64_t id;
    uint64_t deadline_ms;
    int status; /* preset when the send failed; 1 = waiting */
    rtm_upstream_ack_cb cb;
    void *arg;
    const rtm_shard_link_t *link; /* where it went; NULL once that link is freed */
    rtm_pending_t *next;          /* send order */
};

static uint64_t s_now(const rtm_upstream_t *up)
{
    return uv_now(up->loop);
}

static void s_finish(rtm_upstream_t *up, rtm_pending_t *p, int status, rtm_str_t json)
{
    HASH_DEL(up->pending, p);
    p->status = status;
    p->cb(p->arg, status, json);
    /* the list unlinks lazily from the head: mark done, free there */
    p->cb = NULL;
}

/* Answers at once, unavailable, the requests still waiting on `link` (or forgets
 * the link they went to, when `answer` is false: it is being freed). */
static void s_drop_requests(rtm_upstream_t *up, const rtm_shard_link_t *link, bool answer)
{
    for (rtm_pending_t *p = up->oldest; p; p = p->next) {
        if (p->link != link || !p->cb)
            continue;
        if (answer && p->status == 1)
            s_finish(up, p, RTM_EUNAVAIL, rtm_str(NULL, 0));
        else if (!answer)
            p->link = NULL;
    }
}

static void s_expire(rtm_upstream_t *up, uint64_t now, bool all)
{
    while (up->oldest) {
        rtm_pending_t *p = up->oldest;
        if (p->cb) {
            if (!all && p->status == 1 && p->deadline_ms > now)
                break;
            s_finish(up, p, p->status == 1 ? (all ? RTM_EUNAVAIL : RTM_ETIMEDOUT) : p->status,
                     rtm_str(NULL, 0));
        }
        up->oldest = p->next;
        if (!up->oldest)
            up->newest = NULL;
        free(p);
    }
}

/* Sends on the link's DEALER; the send may consume its watch's edge. */
static int s_send(rtm_shard_link_t *link, const rtm_wire_msg_t *msg)
{
    int rc = rtm_tier_send(link->sock, msg);
    rtm_zmq_watch_touch(&link->watch);
    return rc;
}

/* After a zmq call on the SUB (connect, subscribe); before the start its
 * watch does not exist yet and checks once it does. */
static void s_touch_sub(rtm_upstream_t *up)
{
    if (up->started)
        rtm_zmq_watch_touch(&up->sub_watch);
}

/* Reports when the live set or the list changed: owners may have moved. */
static void s_check_owners(rtm_upstream_t *up)
{
    rtm_upstream_live(up, up->alive);
    if (!up->owners_dirty &&
        memcmp(up->alive, up->was_alive, up->n_shards * sizeof *up->alive) == 0)
        return;
    up->owners_dirty = false;
    uint64_t now = s_now(up);
    for (uint32_t i = 0; i < up->n_shards; i++) { /* each worker's own view */
        const rtm_shard_link_t *l = up->shards[i];
        if (up->was_alive[i] == up->alive[i])
            continue;
        rtm_log(up->alive[i] ? RTM_LOG_INFO : RTM_LOG_WARN,
                "event=shard_%s shard=%u broker=%s epoch=%llu worker=%s",
                up->alive[i] ? "up" : "down", i, l->identity, (unsigned long long)l->epoch, up->id);
        /* A silent broker will not answer what it was sent: refuse it now, not at
         * S_REQUEST_MS. One that is leaving or unlisted still acknowledges. */
        if (!up->alive[i] &&
            (!rtm_wire_live(l->last_hb_ms, now) || !rtm_wire_live(l->last_reply_ms, now)))
            s_drop_requests(up, l, true);
    }
    memcpy(up->was_alive, up->alive, up->n_shards * sizeof *up->alive);
    up->ev->owners_changed(up->ev->ctx);
}

static void s_reap(rtm_upstream_t *up, uint64_t now, bool all);

void rtm_upstream_tick(rtm_upstream_t *up)
{
    uint64_t now = s_now(up);
    if (!up->last_hb_sent_ms || now - up->last_hb_sent_ms >= RTM_WIRE_HB_MS) {
        up->last_hb_sent_ms = now;
        rtm_wire_msg_t hb = {
            .type = RTM_WIRE_NODE_HB, .node = rtm_str_cstr(up->id), .digest = up->digest};
        for (uint32_t i = 0; i < up->n_shards; i++) {
            s_send(up->shards[i], &hb); /* EAGAIN: shard unreachable, liveness shows it */
        }
    }
    s_expire(up, now, false);
    s_reap(up, now, false);
    s_check_owners(up);
}

/* Notes whether a broker's list agrees with ours; logs and counts a change. */
static void s_digest(rtm_upstream_t *up, rtm_shard_link_t *link, uint64_t digest)
{
    bool mismatch = digest != 0 && digest != up->digest;
    if (mismatch == link->mismatch)
        return;
    link->mismatch = mismatch;
    if (mismatch)
        RTM_COUNT(up->metrics, broker_list_mismatches, 1);
    rtm_log(mismatch ? RTM_LOG_WARN : RTM_LOG_INFO,
            "event=%s broker=%s broker_digest=%016llx digest=%016llx worker=%s",
            mismatch ? "broker_list_mismatch" : "broker_list_agrees", link->identity,
            (unsigned long long)digest, (unsigned long long)up->digest, up->id);
}

static void s_on_dealer(rtm_zmq_watch_t *watch, void *sock, void *arg)
{
    rtm_shard_link_t *link = arg;
    rtm_upstream_t *up = link->up;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return;
    }
    rtm_wire_msg_t msg;
    bool more = zmq_msg_more(&m);
    int rc = more ? RTM_EPROTO : rtm_wire_decode(zmq_msg_data(&m), zmq_msg_size(&m), &msg);
    while (more) { /* a body is one frame: discard the rest of a malformed message */
        zmq_msg_recv(&m, sock, ZMQ_DONTWAIT);
        more = zmq_msg_more(&m);
    }
    if (rc < 0) {
        RTM_COUNT_ERR(up->metrics, RTM_ERR_UPSTREAM_BAD);
    } else if (msg.type == RTM_WIRE_SHARD_HB) {
        link->last_reply_ms = s_now(up);
        s_digest(up, link, msg.digest);
    } else if (msg.type == RTM_WIRE_ACK) {
        link->last_reply_ms = s_now(up);
        rtm_pending_t *p;
        HASH_FIND(hh, up->pending, &msg.id, sizeof msg.id, p);
        if (p)
            s_finish(up, p, msg.status, msg.json);
    }
    zmq_msg_close(&m);
}

/* The link a heartbeat names: by identity, or for a broker that predates
 * identities by its index (the old fixed-list contract); NULL if unlisted. */
static rtm_shard_link_t *s_link_of(rtm_upstream_t *up, const rtm_wire_msg_t *msg)
{
    if (msg->broker.len == 0)
        return msg->shard < up->n_shards ? up->shards[msg->shard] : NULL;
    for (uint32_t i = 0; i < up->n_shards; i++)
        if (rtm_str_eq_cstr(msg->broker, up->shards[i]->identity))
            return up->shards[i];
    for (rtm_shard_link_t *r = up->retired; r; r = r->next)
        if (rtm_str_eq_cstr(msg->broker, r->identity))
            return r;
    return NULL;
}

/* The link's place in the current list (for logs). */
static uint32_t s_index_of(const rtm_upstream_t *up, const rtm_shard_link_t *link)
{
    uint32_t i = 0;
    while (i < up->n_shards && up->shards[i] != link)
        i++;
    return i;
}

static void s_on_shard_hb(rtm_upstream_t *up, const char *body, size_t len)
{
    rtm_wire_msg_t msg;
    rtm_shard_link_t *s = NULL;
    if (rtm_wire_decode(body, len, &msg) < 0 || msg.type != RTM_WIRE_SHARD_HB ||
        !(s = s_link_of(up, &msg))) {
        /* an unlisted sender is a heartbeat still queued from a broker just
         * removed, or a broker whose --self is not written as we list it */
        RTM_COUNT_ERR(up->metrics, RTM_ERR_UPSTREAM_BAD);
        return;
    }
    uint64_t now = s_now(up);
    /* a restart quicker than the dead time: logged here; it is routed to again
     * (shard_up) once it has been heard for RTM_WIRE_JOIN_MS */
    if (rtm_wire_live(s->last_hb_ms, now) && s->epoch != msg.epoch && !s->retired)
        rtm_log(RTM_LOG_INFO, "event=shard_restarted shard=%u broker=%s epoch=%llu worker=%s",
                s_index_of(up, s), s->identity, (unsigned long long)msg.epoch, up->id);
    bool unlisted = msg.broker.len > 0 && msg.shard == RTM_WIRE_UNLISTED;
    if (!rtm_wire_live(s->last_hb_ms, now) || s->epoch != msg.epoch || (s->unlisted && !unlisted)) {
        /* heard (again): a broker back after silence, a restart or a leave is
         * routed to only RTM_WIRE_JOIN_MS later, when every node's SUB has
         * reconnected to its egress (the first hearing at start is not) */
        s->joining |= s->last_hb_ms != 0;
        s->first_hb_ms = now;
    }
    s->epoch = msg.epoch;
    s->last_hb_ms = now;
    s->unlisted = unlisted;
    s_digest(up, s, msg.digest);
}

static void s_on_sub(rtm_zmq_watch_t *watch, void *sock, void *arg)
{
    rtm_upstream_t *up = arg;
    zmq_msg_t parts[3];
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t *m = &parts[n < 3 ? n : 2];
        if (n >= 3)
            zmq_msg_close(m);
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(m);
            break;
        }
        more = zmq_msg_more(m);
        n++;
    }
    int kept = n < 3 ? n : 3;
    rtm_str_t f[3] = {{0}};
    for (int i = 0; i < kept; i++)
        f[i] = rtm_str(zmq_msg_data(&parts[i]), zmq_msg_size(&parts[i]));
    if (n == 2 && rtm_str_eq(f[0], rtm_str(RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN))) {
        s_on_shard_hb(up, f[1].p, f[1].len);
    } else if (n == 2) {
        up->ev->control(up->ev->ctx, f[0], f[1]);
    } else if (n == 3) {
        RTM_COUNT(up->metrics, events_received, 1);
        up->ev->event(up->ev->ctx, f[0], f[1], f[2]);
    } else {
        RTM_COUNT_ERR(up->metrics, RTM_ERR_UPSTREAM_BAD);
    }
    for (int i = 0; i < kept; i++)
        zmq_msg_close(&parts[i]);
}

static void *s_socket(rtm_upstream_t *up, int type, const char *endpoint)
{
    void *s = rtm_tier_socket(up->zmq_ctx, type); /* docs/wire.md §1: LINGER, heartbeats, ... */
    if (!s)
        abort();
    rtm_tier_secure_client(s, up->keys);
    int one = 1, hwm = S_DEALER_HWM;
    if (type == ZMQ_DEALER) {
        /* no queueing toward a shard that is not connected: fail fast (503) */
        zmq_setsockopt(s, ZMQ_IMMEDIATE, &one, sizeof one);
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    } else {
        /* SUB drops at RCVHWM; 0 = unbounded would let one slow worker grow
         * without limit, so bound it generously */
        int rcvhwm = 200000;
        zmq_setsockopt(s, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    }
    if (endpoint)
        zmq_connect(s, endpoint);
    return s;
}

static void s_on_link_closed(rtm_zmq_watch_t *watch);

static void s_free_link(rtm_shard_link_t *link)
{
    s_drop_requests(link->up, link, false);
    zmq_close(link->sock);
    free(link->identity);
    free(link->egress);
    free(link);
}

/* A removed link: its handles close, then it is freed. */
static void s_on_removed_closed(rtm_zmq_watch_t *watch)
{
    s_free_link(watch->arg);
}

/* An unlisted broker may still acknowledge publishes that nodes which have
 * not re-read their list yet send it, so its events must still reach us: the
 * link is retired (no longer routed to, still subscribed at its egress) and
 * closed only once the broker has fallen silent (s_reap). */
static void s_retire(rtm_upstream_t *up, rtm_shard_link_t *link)
{
    link->retired = true;
    link->next = up->retired;
    up->retired = link;
}

/* Takes a retired link back when its broker is listed again. */
static rtm_shard_link_t *s_unretire(rtm_upstream_t *up, const char *identity)
{
    for (rtm_shard_link_t **pp = &up->retired; *pp; pp = &(*pp)->next) {
        rtm_shard_link_t *link = *pp;
        if (strcmp(link->identity, identity) != 0)
            continue;
        *pp = link->next;
        link->next = NULL;
        link->retired = false;
        return link;
    }
    return NULL;
}

static void s_close_link(rtm_upstream_t *up, rtm_shard_link_t *link)
{
    zmq_disconnect(up->sub, link->egress);
    s_touch_sub(up);
    rtm_zmq_watch_close(&link->watch, s_on_removed_closed);
}

/* Closes the retired links whose broker is silent (or all of them). */
static void s_reap(rtm_upstream_t *up, uint64_t now, bool all)
{
    for (rtm_shard_link_t **pp = &up->retired; *pp;) {
        rtm_shard_link_t *link = *pp;
        if (!all && rtm_wire_live(link->last_hb_ms, now)) {
            pp = &link->next;
            continue;
        }
        *pp = link->next;
        if (!all)
            rtm_log(RTM_LOG_INFO, "event=broker_retired broker=%s worker=%s", link->identity,
                    up->id);
        s_close_link(up, link);
    }
}

/* A link to the broker `identity` (a checked tcp://host:port), its egress
 * connected on the SUB; NULL when the watch cannot start. */
static rtm_shard_link_t *s_link_new(rtm_upstream_t *up, const char *identity)
{
    char host[256], egress[300];
    int port = 0;
    rtm_config_endpoint_port(identity, host, sizeof host, &port);
    snprintf(egress, sizeof egress, "tcp://%s:%d", host, port + 1);
    rtm_shard_link_t *link = calloc(1, sizeof *link);
    if (!link || !(link->identity = strdup(identity)) || !(link->egress = strdup(egress)))
        abort();
    link->up = up;
    zmq_connect(up->sub, egress);
    s_touch_sub(up);
    link->sock = s_socket(up, ZMQ_DEALER, NULL);
    /* a stable identity lets the broker keep this worker's state across a
     * TCP reconnect (ROUTER_HANDOVER); unique per worker and process start */
    zmq_setsockopt(link->sock, ZMQ_ROUTING_ID, up->id, strlen(up->id));
    zmq_connect(link->sock, identity);
    if (rtm_zmq_watch_start(&link->watch, up->loop, link->sock, S_DRAIN_BUDGET, s_on_dealer, link) <
        0) {
        zmq_disconnect(up->sub, egress);
        s_free_link(link);
        return NULL;
    }
    return link;
}

uint32_t rtm_upstream_set_brokers(rtm_upstream_t *up, const rtm_brokers_t *list)
{
    uint32_t n = list->n, changed = 0;
    rtm_shard_link_t **links = calloc(n ? n : 1, sizeof *links);
    uint64_t *seeds = calloc(n ? n : 1, sizeof *seeds);
    bool *alive = calloc(n ? n : 1, sizeof *alive), *was = calloc(n ? n : 1, sizeof *was);
    if (!links || !seeds || !alive || !was)
        abort();
    for (uint32_t i = 0; i < up->n_shards; i++) { /* keep or close the links we have */
        rtm_shard_link_t *link = up->shards[i];
        int at = rtm_brokers_find(list, rtm_str_cstr(link->identity));
        if (at >= 0) {
            links[at] = link;
            was[at] = up->was_alive[i];
            continue;
        }
        changed++;
        up->owners_dirty |= up->was_alive[i];
        rtm_log(RTM_LOG_INFO, "event=broker_unlisted broker=%s worker=%s", link->identity, up->id);
        s_retire(up, link);
    }
    for (uint32_t i = 0; i < n; i++) { /* connect the brokers we lack */
        seeds[i] = list->seeds[i];
        if (links[i])
            continue;
        changed++;
        rtm_log(RTM_LOG_INFO, "event=broker_listed broker=%s worker=%s", list->ids[i], up->id);
        if ((links[i] = s_unretire(up, list->ids[i])))
            continue;
        if (!(links[i] = s_link_new(up, list->ids[i])))
            abort();                     /* uv_poll_init on a ZeroMQ fd fails only without memory */
        links[i]->joining = up->started; /* the first list is not joining: nobody routes yet */
    }
    free(up->shards);
    free(up->seeds);
    free(up->alive);
    free(up->was_alive);
    up->shards = links;
    up->seeds = seeds;
    up->alive = alive;
    up->was_alive = was;
    up->n_shards = n;
    if (up->digest != list->digest) { /* re-judge every broker's list against ours */
        up->digest = list->digest;
        for (uint32_t i = 0; i < n; i++)
            links[i]->mismatch = false;
    }
    if (changed)
        rtm_log(RTM_LOG_INFO, "event=broker_list brokers=%u changed=%u digest=%016llx worker=%s", n,
                changed, (unsigned long long)up->digest, up->id);
    return changed;
}

int rtm_upstream_start(rtm_upstream_t *up, uv_loop_t *loop, void *zmq_ctx,
                       const rtm_brokers_t *list, const rtm_tier_keys_t *keys, const char *id,
                       const rtm_upstream_events_t *ev, rtm_metrics_t *metrics)
{
    *up = (rtm_upstream_t){
        .loop = loop, .zmq_ctx = zmq_ctx, .keys = keys, .ev = ev, .metrics = metrics, .next_id = 1};
    snprintf(up->id, sizeof up->id, "%s", id);
    up->sub = s_socket(up, ZMQ_SUB, NULL);
    zmq_setsockopt(up->sub, ZMQ_SUBSCRIBE, RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN);
    rtm_upstream_set_brokers(up, list);
    up->started = true;
    return rtm_zmq_watch_start(&up->sub_watch, loop, up->sub, S_DRAIN_BUDGET, s_on_sub, up);
}

const char *rtm_upstream_identity(const rtm_upstream_t *up, uint32_t shard)
{
    return up->shards[shard]->identity;
}

size_t rtm_upstream_brokers(rtm_upstream_t *up, rtm_metrics_shard_t **out)
{
    uint64_t now = s_now(up);
    size_t n = up->n_shards;
    for (rtm_shard_link_t *r = up->retired; r; r = r->next)
        n++;
    rtm_metrics_shard_t *m = calloc(n ? n : 1, sizeof *m);
    if (!m)
        abort();
    rtm_upstream_live(up, up->alive);
    for (uint32_t i = 0; i < up->n_shards; i++) {
        const rtm_shard_link_t *l = up->shards[i];
        bool heard = rtm_wire_live(l->last_hb_ms, now);
        m[i] = (rtm_metrics_shard_t){l->identity, up->seeds[i], up->alive[i], l->mismatch,
                                     up->alive[i]          ? "live"
                                     : heard && l->joining ? "joining"
                                                           : "dead"};
    }
    size_t i = up->n_shards;
    for (rtm_shard_link_t *r = up->retired; r; r = r->next)
        m[i++] = (rtm_metrics_shard_t){r->identity, 0, false, r->mismatch, "unlisted"};
    *out = m;
    return n;
}

uint32_t rtm_upstream_mismatched(const rtm_upstream_t *up)
{
    uint64_t now = s_now(up);
    uint32_t n = 0;
    for (uint32_t i = 0; i < up->n_shards; i++)
        n += up->shards[i]->mismatch && rtm_wire_live(up->shards[i]->last_hb_ms, now);
    return n;
}

uint32_t rtm_upstream_live(rtm_upstream_t *up, bool *alive)
{
    uint64_t now = s_now(up);
    uint32_t n = 0;
    for (uint32_t i = 0; i < up->n_shards; i++) {
        /* both paths: a broker heard on its egress whose ingress does not
         * answer (its DEALER still reconnecting after a partition, or an
         * asymmetric partition) would refuse every request routed to it */
        const rtm_shard_link_t *l = up->shards[i];
        bool live = rtm_wire_live(l->last_hb_ms, now) && rtm_wire_live(l->last_reply_ms, now) &&
                    !l->unlisted && (!l->joining || now - l->first_hb_ms >= RTM_WIRE_JOIN_MS);
        if (alive)
            alive[i] = live;
        n += live;
    }
    return n;
}

int rtm_upstream_owner(rtm_upstream_t *up, rtm_str_t app, rtm_str_t channel)
{
    rtm_upstream_live(up, up->alive);
    return rtm_rendezvous_owner(app, channel, up->seeds, up->alive, up->n_shards);
}

int rtm_upstream_send(rtm_upstream_t *up, uint32_t shard, const rtm_wire_msg_t *msg)
{
    return shard < up->n_shards && s_send(up->shards[shard], msg) == 0 ? 0 : RTM_EUNAVAIL;
}

bool rtm_upstream_ready(const rtm_upstream_t *up)
{
    uint64_t now = s_now(up);
    bool any = false;
    for (uint32_t i = 0; i < up->n_shards; i++) {
        const rtm_shard_link_t *s = up->shards[i];
        if (!rtm_wire_live(s->last_hb_ms, now))
            continue;
        if (!s->last_reply_ms || now - s->last_reply_ms >= RTM_WIRE_DEAD_MS)
            return false;
        any = true;
    }
    return any;
}

void rtm_upstream_request(rtm_upstream_t *up, uint32_t shard, rtm_wire_msg_t *msg,
                          rtm_upstream_ack_cb cb, void *arg)
{
    rtm_pending_t *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->id = up->next_id++;
    p->deadline_ms = s_now(up) + S_REQUEST_MS;
    p->cb = cb;
    p->arg = arg;
    p->link = shard < up->n_shards ? up->shards[shard] : NULL;
    msg->id = p->id;
    p->status = 1;
    HASH_ADD(hh, up->pending, id, sizeof p->id, p); /* before sending: the ack may be fast */
    if (shard >= up->n_shards || s_send(up->shards[shard], msg) < 0)
        p->status = RTM_EUNAVAIL; /* reported at the next tick */
    if (up->newest)
        up->newest->next = p;
    else
        up->oldest = p;
    up->newest = p;
}

void rtm_upstream_subscribe(rtm_upstream_t *up, const char *topic, size_t len, bool on)
{
    zmq_setsockopt(up->sub, on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, topic, len);
    s_touch_sub(up);
}

static void s_closed_one(rtm_upstream_t *up)
{
    if (--up->closing > 0)
        return;
    zmq_close(up->sub);
    free(up->shards);
    free(up->seeds);
    free(up->alive);
    free(up->was_alive);
    up->shards = NULL;
}

static void s_on_sub_closed(rtm_zmq_watch_t *watch)
{
    s_closed_one(watch->arg);
}

static void s_on_link_closed(rtm_zmq_watch_t *watch)
{
    rtm_shard_link_t *link = watch->arg;
    rtm_upstream_t *up = link->up;
    s_free_link(link);
    s_closed_one(up);
}

void rtm_upstream_close(rtm_upstream_t *up)
{
    s_expire(up, 0, true);
    s_reap(up, 0, true);
    up->closing = (int)up->n_shards + 1;
    rtm_zmq_watch_close(&up->sub_watch, s_on_sub_closed);
    for (uint32_t i = 0; i < up->n_shards; i++)
        rtm_zmq_watch_close(&up->shards[i]->watch, s_on_link_closed);
}

size_t rtm_upstream_pending(const rtm_upstream_t *up, uint64_t *counts, size_t cap)
{
    size_t n = up->n_shards < cap ? up->n_shards : cap;
    memset(counts, 0, n * sizeof *counts);
    for (const rtm_pending_t *p = up->oldest; p; p = p->next) {
        if (!p->cb || p->status != 1) /* answered, or its send failed: waits for nothing */
            continue;
        for (size_t i = 0; i < n; i++)
            if (up->shards[i] == p->link) {
                counts[i]++;
                break;
            }
    }
    return n;
}
