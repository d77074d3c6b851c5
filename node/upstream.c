/* rtm_upstream — see upstream.h.
 *
 * Liveness is judged per worker from the heartbeats its own SUB socket sees,
 * so a worker never routes to a shard it cannot hear. Requests are kept in a
 * hash by id and in a list in send order; all requests share one timeout, so
 * the list is also deadline order and expiry only looks at its head. A request
 * that fails before it is sent still waits for the next tick to report, so a
 * callback never runs inside the call that made the request. */
#include "upstream.h"

#include "rtm_config.h"
#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_rendezvous.h"

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
    rtm_pending_t *next; /* send order */
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

static int s_send(void *sock, const rtm_wire_msg_t *msg)
{
    char stack[16384];
    int len = rtm_wire_encoded_len(msg);
    if (len < 0)
        return len;
    char *buf = (size_t)len <= sizeof stack ? stack : malloc((size_t)len);
    if (!buf)
        abort();
    rtm_wire_encode(msg, buf, (size_t)len);
    int rc = zmq_send(sock, buf, (size_t)len, ZMQ_DONTWAIT) < 0 ? -zmq_errno() : 0;
    if (buf != stack)
        free(buf);
    return rc;
}

/* Reports when the live set changed: owners may have moved. */
static void s_check_owners(rtm_upstream_t *up)
{
    rtm_upstream_live(up, up->alive);
    if (memcmp(up->alive, up->was_alive, up->n_shards * sizeof *up->alive) == 0)
        return;
    memcpy(up->was_alive, up->alive, up->n_shards * sizeof *up->alive);
    up->ev->owners_changed(up->ev->ctx);
}

void rtm_upstream_tick(rtm_upstream_t *up)
{
    uint64_t now = s_now(up);
    if (!up->last_hb_sent_ms || now - up->last_hb_sent_ms >= RTM_WIRE_HB_MS) {
        up->last_hb_sent_ms = now;
        rtm_wire_msg_t hb = {.type = RTM_WIRE_NODE_HB, .node = rtm_str_cstr(up->id)};
        for (uint32_t i = 0; i < up->n_shards; i++) {
            s_send(up->shards[i].sock, &hb); /* EAGAIN: shard unreachable, liveness shows it */
            rtm_zmq_watch_kick(&up->shards[i].watch);
        }
    }
    s_expire(up, now, false);
    s_check_owners(up);
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
    } else if (msg.type == RTM_WIRE_ACK) {
        link->last_reply_ms = s_now(up);
        rtm_pending_t *p;
        HASH_FIND(hh, up->pending, &msg.id, sizeof msg.id, p);
        if (p)
            s_finish(up, p, msg.status, msg.json);
    }
    zmq_msg_close(&m);
}

static void s_on_shard_hb(rtm_upstream_t *up, const char *body, size_t len)
{
    rtm_wire_msg_t msg;
    if (rtm_wire_decode(body, len, &msg) < 0 || msg.type != RTM_WIRE_SHARD_HB ||
        msg.shard >= up->n_shards) {
        RTM_COUNT_ERR(up->metrics, RTM_ERR_UPSTREAM_BAD);
        return;
    }
    rtm_shard_link_t *s = &up->shards[msg.shard];
    uint64_t now = s_now(up);
    if (!rtm_wire_live(s->last_hb_ms, now) || s->epoch != msg.epoch) /* each worker's own view */
        rtm_log(RTM_LOG_INFO, "event=shard_up shard=%u epoch=%llu worker=%s", msg.shard,
                (unsigned long long)msg.epoch, up->id);
    s->epoch = msg.epoch;
    s->last_hb_ms = now;
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

static void *s_socket(void *zmq_ctx, int type, const char *endpoint)
{
    void *s = zmq_socket(zmq_ctx, type);
    if (!s)
        abort();
    int zero = 0, one = 1, hwm = S_DEALER_HWM;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
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

int rtm_upstream_start(rtm_upstream_t *up, uv_loop_t *loop, void *zmq_ctx, char *const *brokers,
                       uint32_t n, const char *id, const rtm_upstream_events_t *ev,
                       rtm_metrics_t *metrics)
{
    *up = (rtm_upstream_t){.loop = loop, .ev = ev, .metrics = metrics, .n_shards = n, .next_id = 1};
    up->shards = calloc(n ? n : 1, sizeof *up->shards);
    up->alive = calloc(n ? n : 1, sizeof *up->alive);
    up->was_alive = calloc(n ? n : 1, sizeof *up->was_alive);
    if (!up->shards || !up->alive || !up->was_alive)
        abort();
    snprintf(up->id, sizeof up->id, "%s", id);
    up->sub = s_socket(zmq_ctx, ZMQ_SUB, NULL);
    zmq_setsockopt(up->sub, ZMQ_SUBSCRIBE, RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN);
    for (uint32_t i = 0; i < n; i++) {
        char host[256], egress[300];
        int port;
        rtm_config_endpoint_port(brokers[i], host, sizeof host, &port);
        snprintf(egress, sizeof egress, "tcp://%s:%d", host, port + 1);
        zmq_connect(up->sub, egress);
        rtm_shard_link_t *link = &up->shards[i];
        link->up = up;
        link->sock = s_socket(zmq_ctx, ZMQ_DEALER, NULL);
        /* a stable identity lets the broker keep this worker's state across a
         * TCP reconnect (ROUTER_HANDOVER); unique per worker and process start */
        zmq_setsockopt(link->sock, ZMQ_ROUTING_ID, up->id, strlen(up->id));
        zmq_connect(link->sock, brokers[i]);
        int rc =
            rtm_zmq_watch_start(&link->watch, loop, link->sock, S_DRAIN_BUDGET, s_on_dealer, link);
        if (rc < 0)
            return rc;
    }
    return rtm_zmq_watch_start(&up->sub_watch, loop, up->sub, S_DRAIN_BUDGET, s_on_sub, up);
}

uint32_t rtm_upstream_live(rtm_upstream_t *up, bool *alive)
{
    uint64_t now = s_now(up);
    uint32_t n = 0;
    for (uint32_t i = 0; i < up->n_shards; i++) {
        bool live = rtm_wire_live(up->shards[i].last_hb_ms, now);
        if (alive)
            alive[i] = live;
        n += live;
    }
    return n;
}

int rtm_upstream_owner(rtm_upstream_t *up, rtm_str_t app, rtm_str_t channel)
{
    rtm_upstream_live(up, up->alive);
    return rtm_rendezvous_owner(app, channel, up->alive, up->n_shards);
}

int rtm_upstream_send(rtm_upstream_t *up, uint32_t shard, const rtm_wire_msg_t *msg)
{
    return s_send(up->shards[shard].sock, msg) < 0 ? RTM_EUNAVAIL : 0;
}

bool rtm_upstream_ready(const rtm_upstream_t *up)
{
    uint64_t now = s_now(up);
    bool any = false;
    for (uint32_t i = 0; i < up->n_shards; i++) {
        const rtm_shard_link_t *s = &up->shards[i];
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
    msg->id = p->id;
    p->status = 1;
    HASH_ADD(hh, up->pending, id, sizeof p->id, p); /* before sending: the ack may be fast */
    if (s_send(up->shards[shard].sock, msg) < 0)
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
}

static void s_closed_one(rtm_upstream_t *up)
{
    if (--up->closing > 0)
        return;
    zmq_close(up->sub);
    for (uint32_t i = 0; i < up->n_shards; i++)
        zmq_close(up->shards[i].sock);
    free(up->shards);
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
    s_closed_one(((rtm_shard_link_t *)watch->arg)->up);
}

void rtm_upstream_close(rtm_upstream_t *up)
{
    s_expire(up, 0, true);
    up->closing = (int)up->n_shards + 1;
    rtm_zmq_watch_close(&up->sub_watch, s_on_sub_closed);
    for (uint32_t i = 0; i < up->n_shards; i++)
        rtm_zmq_watch_close(&up->shards[i].watch, s_on_link_closed);
}
