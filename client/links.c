/* links — see links.h.
 *
 * The handle looks to the brokers like a node worker that publishes and
 * subscribes to nothing: it heartbeats on every ingress (so a broker answers,
 * counts it among its peers for 1.5 s after it stops, and tells it whether
 * their lists agree) and hears every egress heartbeat. That is what lets it
 * judge liveness exactly as nodes do (route.h). */
#include "links.h"

#include "rtm_config.h"
#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_tier.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define S_DEALER_HWM 1000 /* requests queued per broker: beyond, EAGAIN (back-pressure) */
#define S_PROBE_MS   100  /* heard but not answering yet: heartbeat it this often */

static void s_egress(const char *identity, char *out, size_t cap)
{
    char host[256];
    int port = 0;
    rtm_config_endpoint_port(identity, host, sizeof host, &port);
    snprintf(out, cap, "tcp://%s:%d", host, port + 1);
}

static rtm_client_conn_t *s_conn_new(rtm_client_links_t *l, const char *identity)
{
    rtm_client_conn_t *c = calloc(1, sizeof *c);
    if (!c || !(c->identity = strdup(identity)))
        abort();
    c->no = ++l->next_no;
    if (!(c->dealer = rtm_tier_socket(l->zctx, ZMQ_DEALER)))
        abort(); /* only without memory or descriptors */
    int one = 1, hwm = S_DEALER_HWM;
    /* nothing queued toward a broker we are not connected to: the caller
     * hears it at once instead of after the timeout */
    zmq_setsockopt(c->dealer, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(c->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(c->dealer, ZMQ_ROUTING_ID, l->routing_id, strlen(l->routing_id));
    rtm_tier_secure_client(c->dealer, l->keys);
    zmq_connect(c->dealer, identity);
    char egress[300];
    s_egress(identity, egress, sizeof egress);
    zmq_connect(l->sub, egress);
    return c;
}

static void s_conn_free(rtm_client_links_t *l, rtm_client_conn_t *c)
{
    char egress[300];
    s_egress(c->identity, egress, sizeof egress);
    zmq_disconnect(l->sub, egress);
    zmq_close(c->dealer);
    free(c->identity);
    free(c);
}

/* Makes list (taken) the current one: keeps the conns of brokers still
 * listed, connects the others, closes the removed ones. */
static void s_set_list(rtm_client_links_t *l, rtm_brokers_t *list)
{
    uint32_t n = list->n;
    rtm_client_conn_t **conns = calloc(n ? n : 1, sizeof *conns);
    bool *alive = calloc(n ? n : 1, sizeof *alive);
    if (!conns || !alive)
        abort();
    for (uint32_t i = 0; i < l->list.n; i++) {
        int at = rtm_brokers_find(list, rtm_str_cstr(l->conns[i]->identity));
        if (at >= 0)
            conns[at] = l->conns[i];
        else
            s_conn_free(l, l->conns[i]);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (conns[i])
            continue;
        conns[i] = s_conn_new(l, list->ids[i]);
        conns[i]->st.joining = l->started; /* the first list is not joining */
    }
    free(l->conns);
    free(l->alive);
    rtm_brokers_free(&l->list);
    l->list = *list;
    *list = (rtm_brokers_t){0};
    l->conns = conns;
    l->alive = alive;
    l->started = true;
}

/* Takes the roster's list when it changed; false (err filled) for a bad one. */
static bool s_take(rtm_client_links_t *l, char *err, size_t err_len)
{
    char *text = NULL;
    uint64_t gen = rtm_roster_take(l->roster, l->gen, &text);
    if (!text)
        return true;
    l->gen = gen;
    rtm_brokers_t list;
    int rc = rtm_brokers_parse(&list, text, strlen(text), '\n', rtm_roster_what(l->roster), err,
                               err_len);
    free(text);
    if (rc < 0)
        return false;
    s_set_list(l, &list);
    return true;
}

int rtm_client_links_init(rtm_client_links_t *l, void *zctx, rtm_roster_t *roster,
                          const rtm_tier_keys_t *keys, char *err, size_t err_len)
{
    *l = (rtm_client_links_t){.zctx = zctx, .keys = keys, .roster = roster};
    unsigned char r[8];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(r, 1, sizeof r, f) != sizeof r)
        abort(); /* no randomness: nothing sensible to do */
    fclose(f);
    /* unique per handle and process start, never starting with a zero byte */
    snprintf(l->routing_id, sizeof l->routing_id, "svc-%02x%02x%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    char host[32] = "";
    gethostname(host, sizeof host - 1);
    snprintf(l->node, sizeof l->node, "service:%s/%ld/%s", host, (long)getpid(), l->routing_id + 4);
    if (!(l->sub = rtm_tier_socket(zctx, ZMQ_SUB)))
        abort();
    zmq_setsockopt(l->sub, ZMQ_SUBSCRIBE, RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN);
    char mon[64];
    snprintf(mon, sizeof mon, "inproc://rtmesh-monitor-%s", l->routing_id);
    int zero = 0;
    if (zmq_socket_monitor(l->sub, mon,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) <
            0 ||
        !(l->monitor = zmq_socket(zctx, ZMQ_PAIR)) ||
        zmq_setsockopt(l->monitor, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_connect(l->monitor, mon) < 0)
        abort(); /* inproc fails only without memory */
    rtm_tier_secure_client(l->sub, l->keys);
    if (!s_take(l, err, err_len)) {
        rtm_client_links_close(l);
        return RTM_EINVAL;
    }
    return 0;
}

static void s_heartbeat(rtm_client_links_t *l, rtm_client_conn_t *c, uint64_t now)
{
    rtm_wire_msg_t hb = {
        .type = RTM_WIRE_NODE_HB, .node = rtm_str_cstr(l->node), .digest = l->list.digest};
    rtm_client_links_send(c, &hb); /* refused: not connected, liveness shows it */
    c->probe_ms = now;
}

void rtm_client_links_tick(rtm_client_links_t *l, uint64_t now)
{
    char err[512];
    if (!s_take(l, err, sizeof err))
        rtm_log(RTM_LOG_ERROR, "event=broker_list_refused reason=\"%s\" action=kept_list", err);
    bool all = now - l->last_hb_ms >= RTM_WIRE_HB_MS;
    if (all)
        l->last_hb_ms = now;
    for (uint32_t i = 0; i < l->list.n; i++) {
        rtm_client_conn_t *c = l->conns[i];
        /* heard on its egress but no answer yet (just connected): ask again
         * soon, so a handle is ready in a fraction of a second */
        bool probe = rtm_wire_live(c->st.last_hb_ms, now) &&
                     !rtm_wire_live(c->st.last_reply_ms, now) && now - c->probe_ms >= S_PROBE_MS;
        if (all || probe)
            s_heartbeat(l, c, now);
    }
}

/* The conn a heartbeat names: by identity, or by index for a broker that
 * predates identities. */
static rtm_client_conn_t *s_conn_of(const rtm_client_links_t *l, const rtm_wire_msg_t *m)
{
    if (m->broker.len == 0)
        return m->shard < l->list.n ? l->conns[m->shard] : NULL;
    int at = rtm_brokers_find(&l->list, m->broker);
    return at >= 0 ? l->conns[at] : NULL;
}

void *rtm_client_links_monitor(const rtm_client_links_t *l)
{
    return l->monitor;
}

/* Notes every handshake refusal the SUB's monitor reported. */
static void s_drain_monitor(rtm_client_links_t *l, uint64_t now)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, l->monitor, ZMQ_DONTWAIT) >= 0) {
        uint16_t event = 0;
        if (zmq_msg_size(&m) >= sizeof event)
            memcpy(&event, zmq_msg_data(&m), sizeof event);
        while (zmq_msg_more(&m)) /* the endpoint */
            zmq_msg_recv(&m, l->monitor, ZMQ_DONTWAIT);
        l->refused_ms = now;
        l->refused_auth = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    }
    zmq_msg_close(&m);
}

void rtm_client_links_drain_sub(rtm_client_links_t *l, uint64_t now)
{
    s_drain_monitor(l, now);
    for (;;) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        if (zmq_msg_recv(&topic, l->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            return;
        }
        zmq_msg_init(&body);
        bool two = zmq_msg_more(&topic) && zmq_msg_recv(&body, l->sub, ZMQ_DONTWAIT) >= 0 &&
                   !zmq_msg_more(&body);
        while (zmq_msg_more(&body)) /* not a heartbeat: drop the rest */
            zmq_msg_recv(&body, l->sub, ZMQ_DONTWAIT);
        rtm_wire_msg_t m;
        rtm_client_conn_t *c;
        if (two && rtm_wire_decode(zmq_msg_data(&body), zmq_msg_size(&body), &m) == 0 &&
            m.type == RTM_WIRE_SHARD_HB && (c = s_conn_of(l, &m))) {
            bool unlisted = m.broker.len > 0 && m.shard == RTM_WIRE_UNLISTED;
            rtm_client_link_heard(&c->st, m.epoch, unlisted, m.joining, now);
            c->st.digest = m.digest;
            c->st.held = m.count;
            c->st.beat = m.beat;
        }
        zmq_msg_close(&body);
        zmq_msg_close(&topic);
    }
}

int rtm_client_links_recv(rtm_client_links_t *l, rtm_client_conn_t *c, uint64_t now, void *frame,
                          rtm_wire_msg_t *msg)
{
    zmq_msg_t *f = frame;
    for (;;) {
        if (zmq_msg_recv(f, c->dealer, ZMQ_DONTWAIT) < 0)
            return 0;
        bool one = !zmq_msg_more(f);
        while (zmq_msg_more(f)) /* a reply is one frame: drop a malformed one */
            zmq_msg_recv(f, c->dealer, ZMQ_DONTWAIT);
        if (!one || rtm_wire_decode(zmq_msg_data(f), zmq_msg_size(f), msg) < 0)
            continue;
        if (msg->type == RTM_WIRE_SHARD_HB) {
            c->st.last_reply_ms = now;
            c->st.digest = msg->digest;
            c->st.beat = msg->beat;
            continue;
        }
        if (msg->type != RTM_WIRE_ACK)
            continue;
        c->st.last_reply_ms = now;
        return 1;
    }
}

int rtm_client_links_send(rtm_client_conn_t *c, const rtm_wire_msg_t *msg)
{
    int rc = rtm_tier_send(c->dealer, msg);
    return rc == -EAGAIN || rc == -EHOSTUNREACH ? RTM_EUNAVAIL : rc;
}

rtm_client_conn_t *rtm_client_links_by_no(const rtm_client_links_t *l, uint64_t no)
{
    for (uint32_t i = 0; i < l->list.n; i++)
        if (l->conns[i]->no == no)
            return l->conns[i];
    return NULL;
}

rtm_client_conn_t *rtm_client_links_find(const rtm_client_links_t *l, const char *identity)
{
    int at = rtm_brokers_find(&l->list, rtm_str_cstr(identity));
    return at >= 0 ? l->conns[at] : NULL;
}

void rtm_client_links_close(rtm_client_links_t *l)
{
    for (uint32_t i = 0; i < l->list.n; i++)
        s_conn_free(l, l->conns[i]);
    if (l->sub)
        zmq_close(l->sub);
    if (l->monitor)
        zmq_close(l->monitor);
    free(l->conns);
    free(l->alive);
    rtm_brokers_free(&l->list);
    *l = (rtm_client_links_t){0};
}
