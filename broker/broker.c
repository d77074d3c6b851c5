/* broker — see broker.h; docs/wire.md is the protocol it speaks.
 *
 * One thread, one zmq_poll loop over three sockets, with a 100 ms ceiling on
 * the wait so the stop flag and the 500 ms heartbeat are serviced even when no
 * traffic arrives (a signal may land on a ZeroMQ thread and not interrupt the
 * poll). Each socket is drained with a budget per turn so one busy socket
 * cannot starve the others or the timers.
 *
 * Ownership is decided per PUBLISH, against the liveness view at that moment:
 * if any channel belongs to another shard nothing is published and the node
 * gets RTM_ENOTOWNER, so a publish is never acknowledged and lost. Each event
 * is rendered once, straight into the zmq_msg_t that is sent, at exactly the
 * length rtm_pusher_event_len gives.
 *
 * Every send is non-blocking where it can fail: XPUB runs with ZMQ_XPUB_NODROP
 * so a subscriber pipe at its high-water mark makes the first frame fail with
 * EAGAIN (counted as an egress drop) instead of the event vanishing silently
 * as plain PUB/XPUB does; ROUTER runs with ZMQ_ROUTER_MANDATORY so a reply to
 * a vanished or stuck node fails visibly (counted) instead of silently. */
#include "broker.h"

#include "node_table.h"
#include "rtm_config.h"
#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_pusher.h"
#include "rtm_wire.h"
#include "shard_view.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define S_POLL_MS        100     /* longest wait in zmq_poll */
#define S_STATS_EVERY_MS 10000   /* counters line period */
#define S_WARN_EVERY_MS  1000    /* at most one peer-error line per period */
#define S_BUDGET         256     /* messages drained per socket per loop turn */
#define S_EGRESS_HWM     100000  /* messages queued per subscriber before EAGAIN */
#define S_INGRESS_HWM    100000  /* replies queued per node */
#define S_MAX_BODY       1048576 /* larger ingress frames disconnect the peer */

typedef struct {
    uint64_t published;       /* event messages sent on egress (one per channel) */
    uint64_t acks;            /* ACKs sent, any status */
    uint64_t not_owner;       /* PUBLISHes refused with RTM_ENOTOWNER */
    uint64_t malformed;       /* bodies or frames refused, and unexpected types */
    uint64_t egress_drops;    /* messages refused by a full XPUB subscriber pipe */
    uint64_t reply_drops;     /* replies ROUTER could not queue (node gone or stuck) */
    uint64_t subscriptions;   /* subscribe messages read from XPUB */
    uint64_t unsubscriptions; /* unsubscribe messages read from XPUB */
} s_stats_t;

struct rtm_broker {
    void *ctx;               /* ZeroMQ context, owned */
    void *router;            /* ingress ROUTER, bound */
    void *xpub;              /* egress XPUB, bound */
    void *sub;               /* SUB to every other shard's egress, heartbeats only */
    uint32_t shard;          /* this shard's index */
    uint32_t n_shards;       /* number of shards */
    uint64_t epoch;          /* wall-clock ms at start: changes on every restart */
    bool started;            /* sockets up and start logged */
    rtm_shard_view_t *view;  /* liveness of all shards */
    rtm_node_table_t *nodes; /* node workers heard from */
    s_stats_t stats;         /* counters since start */
    uint64_t next_hb_ms;     /* monotonic time of the next heartbeat */
    uint64_t next_stats_ms;  /* monotonic time of the next counters line */
    uint64_t last_warn_ms;   /* rate limit of peer-error lines */
    uint64_t warns_dropped;  /* peer-error lines suppressed by the rate limit */
};

static uint64_t s_clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t s_now_ms(void)
{
    return s_clock_ms(CLOCK_MONOTONIC);
}

/* Logs a peer-caused problem, at most once per S_WARN_EVERY_MS. */
__attribute__((format(printf, 2, 3))) static void s_warn(rtm_broker_t *b, const char *fmt, ...)
{
    uint64_t now = s_now_ms();
    if (b->last_warn_ms && now - b->last_warn_ms < S_WARN_EVERY_MS) {
        b->warns_dropped++;
        return;
    }
    b->last_warn_ms = now;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    rtm_log(RTM_LOG_WARN, "%s suppressed=%" PRIu64, line, b->warns_dropped);
    b->warns_dropped = 0;
}

static void s_log_counters(const rtm_broker_t *b, const char *event)
{
    const s_stats_t *s = &b->stats;
    rtm_log(RTM_LOG_INFO,
            "event=%s shard=%" PRIu32 " published=%" PRIu64 " acks=%" PRIu64 " not_owner=%" PRIu64
            " malformed=%" PRIu64 " egress_drops=%" PRIu64 " reply_drops=%" PRIu64
            " subscriptions=%" PRIu64 " unsubscriptions=%" PRIu64 " nodes=%zu live_shards=%" PRIu32,
            event, b->shard, s->published, s->acks, s->not_owner, s->malformed, s->egress_drops,
            s->reply_drops, s->subscriptions, s->unsubscriptions, rtm_node_table_count(b->nodes),
            rtm_shard_view_live(b->view));
}

/* ---- sockets ----------------------------------------------------------- */

static void *s_socket(rtm_broker_t *b, int type)
{
    void *s = zmq_socket(b->ctx, type);
    if (!s) {
        rtm_log(RTM_LOG_ERROR, "event=socket_failed error=\"%s\"", zmq_strerror(errno));
        return NULL;
    }
    int zero = 0, one = 1;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero); /* never hang on close */
    zmq_setsockopt(s, ZMQ_IPV6, &one, sizeof one);     /* accept [::1] endpoints too */
    return s;
}

static int s_bind(void *sock, const char *what, const char *host, int port)
{
    char ep[320];
    snprintf(ep, sizeof ep, "tcp://%s:%d", host, port);
    if (zmq_bind(sock, ep) == 0)
        return 0;
    rtm_log(RTM_LOG_ERROR, "event=bind_failed socket=%s endpoint=%s error=\"%s\"", what, ep,
            zmq_strerror(errno));
    return -1;
}

static int s_open_ingress(rtm_broker_t *b, const char *host, int port)
{
    if (!(b->router = s_socket(b, ZMQ_ROUTER)))
        return -1;
    int one = 1, hwm = S_INGRESS_HWM;
    int64_t max = S_MAX_BODY;
    zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(b->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->router, ZMQ_MAXMSGSIZE, &max, sizeof max);
    return s_bind(b->router, "ingress", host, port);
}

static int s_open_egress(rtm_broker_t *b, const char *host, int port)
{
    if (!(b->xpub = s_socket(b, ZMQ_XPUB)))
        return -1;
    /* XPUB's default at the high-water mark is to drop silently per pipe; with
     * NODROP the send fails with EAGAIN instead (we send with DONTWAIT), so
     * every drop is counted. The price: while one matching node's pipe is full
     * the event is refused for every node. The HWM is large so that only a
     * node that has stopped reading ever reaches it. */
    int one = 1, hwm = S_EGRESS_HWM;
    zmq_setsockopt(b->xpub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->xpub, ZMQ_XPUB_NODROP, &one, sizeof one);
    return s_bind(b->xpub, "egress", host, port);
}

static int s_open_peers(rtm_broker_t *b, char *const *endpoints)
{
    if (!(b->sub = s_socket(b, ZMQ_SUB)))
        return -1;
    zmq_setsockopt(b->sub, ZMQ_SUBSCRIBE, RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN);
    for (uint32_t i = 0; i < b->n_shards; i++) {
        char host[256], ep[320];
        int port;
        if (i == b->shard || rtm_config_endpoint_port(endpoints[i], host, sizeof host, &port) < 0)
            continue; /* the caller validated every endpoint */
        snprintf(ep, sizeof ep, "tcp://%s:%d", host, port + 1);
        if (zmq_connect(b->sub, ep) < 0) {
            rtm_log(RTM_LOG_ERROR,
                    "event=connect_failed shard=%" PRIu32 " endpoint=%s error=\"%s\"", i, ep,
                    zmq_strerror(errno));
            return -1;
        }
    }
    return 0;
}

rtm_broker_t *rtm_broker_new(const rtm_broker_config_t *cfg)
{
    char host[256];
    int port;
    if (cfg->shard >= cfg->n_shards ||
        rtm_config_endpoint_port(cfg->endpoints[cfg->shard], host, sizeof host, &port) < 0) {
        rtm_log(RTM_LOG_ERROR, "event=bad_config shard=%" PRIu32 " shards=%" PRIu32, cfg->shard,
                cfg->n_shards);
        return NULL;
    }
    const char *bind = cfg->bind_host ? cfg->bind_host : host;
    rtm_broker_t *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    b->shard = cfg->shard;
    b->n_shards = cfg->n_shards;
    b->epoch = s_clock_ms(CLOCK_REALTIME);
    b->view = rtm_shard_view_new(cfg->shard, cfg->n_shards);
    b->nodes = rtm_node_table_new();
    b->ctx = zmq_ctx_new();
    if (!b->ctx)
        abort(); /* only fails for lack of memory or file descriptors at start */
    if (s_open_ingress(b, bind, port) < 0 || s_open_egress(b, bind, port + 1) < 0 ||
        s_open_peers(b, cfg->endpoints) < 0) {
        rtm_broker_destroy(&b);
        return NULL;
    }
    b->started = true;
    rtm_log(RTM_LOG_INFO,
            "event=start shard=%" PRIu32 " shards=%" PRIu32 " ingress=tcp://%s:%d"
            " egress=tcp://%s:%d epoch=%" PRIu64,
            b->shard, b->n_shards, bind, port, bind, port + 1, b->epoch);
    return b;
}

void rtm_broker_destroy(rtm_broker_t **broker)
{
    rtm_broker_t *b = *broker;
    if (!b)
        return;
    if (b->started)
        s_log_counters(b, "stop");
    void *socks[] = {b->router, b->xpub, b->sub};
    for (size_t i = 0; i < sizeof socks / sizeof socks[0]; i++)
        if (socks[i])
            zmq_close(socks[i]);
    if (b->ctx)
        zmq_ctx_term(b->ctx);
    rtm_shard_view_destroy(&b->view);
    rtm_node_table_destroy(&b->nodes);
    free(b);
    *broker = NULL;
}

/* ---- replies and egress ------------------------------------------------ */

/* Sends [peer identity][body of reply] on ROUTER; counts a failure. */
static void s_reply(rtm_broker_t *b, zmq_msg_t *peer, const rtm_wire_msg_t *reply)
{
    char buf[64];
    int n = rtm_wire_encode(reply, buf, sizeof buf);
    assert(n > 0); /* ACK and SHARD_HB always fit */
    /* Only the first frame can fail (peer unknown: EHOSTUNREACH, or its pipe
     * full: EAGAIN); once it is accepted ROUTER takes the rest of the message. */
    if (zmq_send(b->router, zmq_msg_data(peer), zmq_msg_size(peer), ZMQ_SNDMORE | ZMQ_DONTWAIT) <
            0 ||
        zmq_send(b->router, buf, (size_t)n, 0) < 0)
        b->stats.reply_drops++;
}

static void s_ack(rtm_broker_t *b, zmq_msg_t *peer, uint64_t id, int status)
{
    rtm_wire_msg_t ack = {.type = RTM_WIRE_ACK, .id = id, .status = status};
    s_reply(b, peer, &ack);
    b->stats.acks++;
}

/* Sends one rendered event [topic][exclude][json] on XPUB. */
static void s_emit(rtm_broker_t *b, const char *topic, size_t topic_len, const rtm_wire_msg_t *m,
                   rtm_str_t channel)
{
    size_t len = rtm_pusher_event_len(m->name, channel, m->data);
    zmq_msg_t json;
    if (zmq_msg_init_size(&json, len) != 0)
        abort();
    int n = rtm_pusher_render_event(zmq_msg_data(&json), len, m->name, channel, m->data);
    assert(n >= 0 && (size_t)n == len); /* the _len companion is exact */
    (void)n;
    if (zmq_send(b->xpub, topic, topic_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        b->stats.egress_drops++; /* EAGAIN: a matching subscriber pipe is full */
        zmq_msg_close(&json);
        return;
    }
    /* XPUB checks the high-water mark per whole message, and a pipe counts a
     * message only once its last frame is written, so the frames after an
     * accepted first one are always accepted: sending them without DONTWAIT
     * never waits, and a message is never left half-sent. */
    zmq_send(b->xpub, m->exclude.p, m->exclude.len, ZMQ_SNDMORE);
    if (zmq_msg_send(&json, b->xpub, 0) < 0) {
        zmq_msg_close(&json);
        b->stats.egress_drops++;
        return;
    }
    b->stats.published++;
}

/* Checks every channel before publishing any: all or nothing. */
static int s_check_channels(rtm_broker_t *b, const rtm_wire_msg_t *m, uint64_t now)
{
    char topic[RTM_WIRE_MAX_TOPIC];
    for (uint32_t i = 0; i < m->n_channels; i++) {
        int n = rtm_wire_topic(topic, sizeof topic, m->app, m->channels[i]);
        if (n < 0)
            return n;
        if (rtm_shard_view_owner(b->view, m->app, m->channels[i], now) != (int)b->shard)
            return RTM_ENOTOWNER;
    }
    return 0;
}

static void s_publish(rtm_broker_t *b, zmq_msg_t *peer, const rtm_wire_msg_t *m)
{
    int status = s_check_channels(b, m, s_now_ms());
    if (status == RTM_ENOTOWNER) {
        b->stats.not_owner++;
    } else if (status < 0) {
        b->stats.malformed++;
        s_warn(b, "event=publish_refused reason=\"%s\"", rtm_strerror(status));
    } else {
        char topic[RTM_WIRE_MAX_TOPIC];
        for (uint32_t i = 0; i < m->n_channels; i++) {
            int n = rtm_wire_topic(topic, sizeof topic, m->app, m->channels[i]);
            s_emit(b, topic, (size_t)n, m, m->channels[i]);
        }
    }
    s_ack(b, peer, m->id, status);
}

static void s_node_hb(rtm_broker_t *b, zmq_msg_t *peer, const rtm_wire_msg_t *m)
{
    rtm_str_t identity = rtm_str(zmq_msg_data(peer), zmq_msg_size(peer));
    rtm_node_table_seen(b->nodes, identity, m->node, s_now_ms());
    rtm_wire_msg_t hb = {.type = RTM_WIRE_SHARD_HB, .shard = b->shard, .epoch = b->epoch};
    s_reply(b, peer, &hb);
}

/* ---- ingress ----------------------------------------------------------- */

/* Handles one [identity][body] message from a node. */
static void s_dispatch(rtm_broker_t *b, zmq_msg_t *peer, zmq_msg_t *body)
{
    rtm_wire_msg_t m;
    int rc = rtm_wire_decode(zmq_msg_data(body), zmq_msg_size(body), &m);
    if (rc < 0) {
        b->stats.malformed++;
        uint64_t id;
        if (rtm_wire_peek_id(zmq_msg_data(body), zmq_msg_size(body), &id) == 0)
            s_ack(b, peer, id, rc);
        s_warn(b, "event=malformed_body size=%zu reason=\"%s\"", zmq_msg_size(body),
               rtm_strerror(rc));
        return;
    }
    switch (m.type) {
    case RTM_WIRE_PUBLISH: s_publish(b, peer, &m); break;
    case RTM_WIRE_NODE_HB: s_node_hb(b, peer, &m); break;
    case RTM_WIRE_ACK:
    case RTM_WIRE_SHARD_HB:
        b->stats.malformed++; /* broker-to-node types: never answered, so no ping-pong */
        s_warn(b, "event=unexpected_type type=%s", rtm_wire_type_name(m.type));
        break;
    }
}

/* Reads and discards the remaining frames of a message whose last read frame is msg. */
static void s_discard_rest(void *sock, zmq_msg_t *msg)
{
    while (zmq_msg_more(msg)) {
        zmq_msg_close(msg);
        zmq_msg_init(msg);
        if (zmq_msg_recv(msg, sock, ZMQ_DONTWAIT) < 0)
            return; /* frames of one message arrive together: not reached */
    }
}

/* Receives the next frame of the current message into msg (initialised here).
 * Returns false, with msg closed, when there is none. */
static bool s_recv_frame(void *sock, zmq_msg_t *msg)
{
    zmq_msg_init(msg);
    if (zmq_msg_recv(msg, sock, ZMQ_DONTWAIT) >= 0)
        return true;
    zmq_msg_close(msg);
    return false;
}

static void s_drain_ingress(rtm_broker_t *b)
{
    for (int i = 0; i < S_BUDGET; i++) {
        zmq_msg_t peer, body;
        if (!s_recv_frame(b->router, &peer))
            return;
        if (!zmq_msg_more(&peer) || !s_recv_frame(b->router, &body)) {
            zmq_msg_close(&peer);
            b->stats.malformed++;
            continue;
        }
        if (zmq_msg_more(&body)) { /* one body frame per message, nothing else */
            s_discard_rest(b->router, &body);
            b->stats.malformed++;
            s_warn(b, "event=malformed_frames reason=\"more than one body frame\"");
        } else {
            s_dispatch(b, &peer, &body);
        }
        zmq_msg_close(&body);
        zmq_msg_close(&peer);
    }
}

/* ---- egress subscriptions and peer heartbeats -------------------------- */

static void s_drain_subscriptions(rtm_broker_t *b)
{
    for (int i = 0; i < S_BUDGET; i++) {
        zmq_msg_t msg;
        if (!s_recv_frame(b->xpub, &msg))
            return;
        const unsigned char *d = zmq_msg_data(&msg);
        if (zmq_msg_size(&msg) >= 1 && d[0] == 1)
            b->stats.subscriptions++;
        else if (zmq_msg_size(&msg) >= 1 && d[0] == 0)
            b->stats.unsubscriptions++;
        zmq_msg_close(&msg);
    }
}

static void s_drain_peers(rtm_broker_t *b)
{
    for (int i = 0; i < S_BUDGET; i++) {
        zmq_msg_t topic, body;
        if (!s_recv_frame(b->sub, &topic))
            return;
        bool two = zmq_msg_more(&topic) && s_recv_frame(b->sub, &body);
        zmq_msg_close(&topic);
        if (!two)
            continue;
        rtm_wire_msg_t m;
        int rc = rtm_wire_decode(zmq_msg_data(&body), zmq_msg_size(&body), &m);
        if (rc == 0 && m.type == RTM_WIRE_SHARD_HB && !zmq_msg_more(&body))
            rtm_shard_view_heartbeat(b->view, m.shard, m.epoch, s_now_ms());
        else
            s_warn(b, "event=bad_peer_message reason=\"%s\"",
                   rc < 0 ? rtm_strerror(rc) : "not a single shard_hb body");
        s_discard_rest(b->sub, &body);
        zmq_msg_close(&body);
    }
}

/* ---- timers and loop --------------------------------------------------- */

static void s_heartbeat(rtm_broker_t *b)
{
    rtm_wire_msg_t hb = {.type = RTM_WIRE_SHARD_HB, .shard = b->shard, .epoch = b->epoch};
    char buf[64];
    int n = rtm_wire_encode(&hb, buf, sizeof buf);
    assert(n > 0);
    if (zmq_send(b->xpub, RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN, ZMQ_SNDMORE | ZMQ_DONTWAIT) <
        0) {
        b->stats.egress_drops++;
        return;
    }
    zmq_send(b->xpub, buf, (size_t)n, 0); /* accepted with its first frame, see s_emit */
}

static void s_timers(rtm_broker_t *b, uint64_t now)
{
    if (now >= b->next_hb_ms) {
        s_heartbeat(b);
        rtm_shard_view_refresh(b->view, now);
        rtm_node_table_expire(b->nodes, now);
        b->next_hb_ms += RTM_WIRE_HB_MS;
        if (b->next_hb_ms <= now) /* fell behind: keep the period, drop the backlog */
            b->next_hb_ms = now + RTM_WIRE_HB_MS;
    }
    if (now >= b->next_stats_ms) {
        s_log_counters(b, "stats");
        b->next_stats_ms = now + S_STATS_EVERY_MS;
    }
}

int rtm_broker_run(rtm_broker_t *b, const atomic_int *stop)
{
    uint64_t now = s_now_ms();
    b->next_hb_ms = now;
    b->next_stats_ms = now + S_STATS_EVERY_MS;
    while (!atomic_load(stop)) {
        zmq_pollitem_t items[] = {
            {b->router, 0, ZMQ_POLLIN, 0},
            {b->xpub, 0, ZMQ_POLLIN, 0},
            {b->sub, 0, ZMQ_POLLIN, 0},
        };
        now = s_now_ms();
        long wait = b->next_hb_ms <= now ? 0 : (long)(b->next_hb_ms - now);
        if (zmq_poll(items, 3, wait < S_POLL_MS ? wait : S_POLL_MS) < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            rtm_log(RTM_LOG_ERROR, "event=poll_failed error=\"%s\"", zmq_strerror(err));
            return -err;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_drain_ingress(b);
        if (items[1].revents & ZMQ_POLLIN)
            s_drain_subscriptions(b);
        if (items[2].revents & ZMQ_POLLIN)
            s_drain_peers(b);
        s_timers(b, s_now_ms());
    }
    return 0;
}
