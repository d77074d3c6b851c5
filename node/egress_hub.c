/* rtm_egress_hub — see egress_hub.h.
 *
 * Links are kept in one list, each marked listed or not: an unlisted link
 * stays subscribed until its broker has sent no heartbeat for
 * RTM_WIRE_DEAD_MS (as heard on that link), then the tick closes it. A link
 * that becomes ready gets the heartbeat topic and every wanted topic again
 * (a new connection starts with none); nothing else follows a link's state,
 * since every worker judges liveness from the heartbeats themselves.
 *
 * Handing on: each message is made once and referenced by every worker it
 * goes to; the other workers' references collect in a batch per worker,
 * which a check handle (right after the loop's I/O phase, where links are
 * read) appends to their inboxes, one lock and at most one wake-up per
 * worker and turn. */
#include "egress_hub.h"

#include "interest.h"
#include "rtm_config.h"
#include "rtm_error.h"
#include "broker_link.h"
#include "rtm_log.h"
#include "rtm_wire.h"
#include "rtm_zlink.h"

#include <stdlib.h>
#include <string.h>

typedef struct s_link s_link_t;
struct s_link {
    rtm_egress_hub_t *hub;
    char *identity;   /* the broker's ingress endpoint as listed, owned */
    uint64_t seed;    /* its rendezvous seed: the broker messages are tagged with */
    rtm_zlink_t *sub; /* SUB at its egress (port + 1) */
    rtm_zlink_events_t ev;
    uint64_t last_hb_ms; /* its last heartbeat on this link (reaping unlisted links) */
    bool listed;
    s_link_t *next;
};

struct rtm_egress_hub {
    rtm_egress_hub_opts_t o;
    rtm_broker_keys_t keys;
    rtm_interest_t *interest;
    s_link_t *links;
    rtm_relay_batch_t *out; /* per worker: handed on at the check */
    uint64_t dirty;         /* workers whose batch holds something */
    uv_check_t flush;
};

/* Sends a subscription (on) or its cancel for topic on one SUB link, as a
 * ZMTP 3.0 SUB does: a message of 0x01 or 0x00 followed by the topic. */
static void s_subscription(rtm_zlink_t *sub, rtm_str_t topic, bool on)
{
    char msg[RTM_WIRE_MAX_TOPIC + 1];
    if (topic.len > RTM_WIRE_MAX_TOPIC || !rtm_zlink_ready(sub))
        return; /* not ready: sent with all the others once it is */
    msg[0] = on ? 1 : 0;
    memcpy(msg + 1, topic.p, topic.len);
    rtm_str_t frame = rtm_str(msg, topic.len + 1);
    rtm_zlink_send(sub, &frame, 1);
}

/* Hands m (steals the reference) to every worker in `workers`. */
static void s_hand_on(rtm_egress_hub_t *hub, rtm_relay_msg_t *m, uint64_t workers)
{
    for (unsigned i = 0; i < hub->o.n_workers; i++) {
        if (!(workers >> i & 1) || i == hub->o.self)
            continue;
        rtm_relay_batch_add(&hub->out[i], rtm_relay_msg_ref(m));
        hub->dirty |= UINT64_C(1) << i;
    }
    if (workers >> hub->o.self & 1)
        hub->o.handle(hub->o.ctx, m);
    rtm_relay_msg_unref(&m);
}

static void s_on_flush(uv_check_t *h)
{
    rtm_egress_hub_t *hub = h->data;
    for (unsigned i = 0; hub->dirty && i < hub->o.n_workers; i++) {
        if (hub->dirty >> i & 1)
            rtm_relay_inbox_add(&hub->o.inboxes[i], &hub->out[i]);
    }
    hub->dirty = 0;
}

static void s_on_message(void *arg, rtm_zlink_t *zl, const rtm_str_t *f, size_t n)
{
    s_link_t *link = arg;
    rtm_egress_hub_t *hub = link->hub;
    uint64_t now = uv_now(hub->o.loop), workers;
    rtm_relay_msg_t *m;
    rtm_str_t none = rtm_str(NULL, 0);
    if (n == 2 && rtm_str_eq(f[0], rtm_str(RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN))) {
        link->last_hb_ms = now;
        workers = ~UINT64_C(0);
        m = rtm_relay_msg_new(RTM_RELAY_HEARTBEAT, none, none, f[1]);
    } else if (n == 2 || n == 3) {
        if (n == 3)
            RTM_COUNT(hub->o.metrics, events_received, 1); /* once per node */
        if (!(workers = rtm_interest_of(hub->interest, f[0])))
            return; /* dropped while it was in flight */
        m = n == 3 ? rtm_relay_msg_new(RTM_RELAY_EVENT, f[0], f[1], f[2])
                   : rtm_relay_msg_new(RTM_RELAY_CONTROL, f[0], none, f[1]);
    } else {
        RTM_COUNT_ERR(hub->o.metrics, RTM_ERR_UPSTREAM_BAD);
        return;
    }
    m->broker = link->seed;
    m->heard_ms = now;
    s_hand_on(hub, m, workers);
}

static void s_subscribe_topic(void *arg, rtm_str_t topic)
{
    s_subscription(arg, topic, true);
}

/* A ready link gets every subscription again: a new connection has none. */
static void s_on_state(void *arg, rtm_zlink_t *zl, bool ready, int why)
{
    s_link_t *link = arg;
    rtm_log(RTM_LOG_DEBUG, "event=tier_link_%s broker=%s link=egress error=\"%s\"",
            ready ? "up" : "down", link->identity, ready ? "" : rtm_strerror(why));
    if (!ready)
        return;
    s_subscription(zl, rtm_str(RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN), true);
    rtm_interest_each(link->hub->interest, s_subscribe_topic, zl);
}

static s_link_t *s_link_new(rtm_egress_hub_t *hub, const char *identity, uint64_t seed)
{
    char host[256], egress[300];
    int port = 0;
    rtm_config_endpoint_port(identity, host, sizeof host, &port);
    snprintf(egress, sizeof egress, "tcp://%s:%d", host, port + 1);
    s_link_t *link = calloc(1, sizeof *link);
    if (!link || !(link->identity = strdup(identity)))
        abort();
    link->hub = hub;
    link->seed = seed;
    link->listed = true;
    link->ev = (rtm_zlink_events_t){link, s_on_message, s_on_state};
    rtm_zlink_opts_t o = rtm_broker_link_opts(&hub->keys, "SUB", NULL);
    link->sub = rtm_zlink_new(hub->o.loop, egress, &o, &link->ev);
    return link;
}

static void s_link_free(s_link_t *link)
{
    rtm_zlink_close(&link->sub);
    free(link->identity);
    free(link);
}

void rtm_egress_hub_set_brokers(rtm_egress_hub_t *hub, const rtm_brokers_t *list)
{
    bool *have = calloc(list->n ? list->n : 1, sizeof *have);
    if (!have)
        abort();
    for (s_link_t *l = hub->links; l; l = l->next) {
        int at = rtm_brokers_find(list, rtm_str_cstr(l->identity));
        l->listed = at >= 0;
        if (at >= 0)
            have[at] = true;
    }
    for (uint32_t i = 0; i < list->n; i++) {
        if (have[i])
            continue;
        s_link_t *link = s_link_new(hub, list->ids[i], list->seeds[i]);
        link->next = hub->links;
        hub->links = link;
    }
    free(have);
}

void rtm_egress_hub_want(rtm_egress_hub_t *hub, unsigned worker, rtm_str_t topic, bool on)
{
    if (!rtm_interest_set(hub->interest, topic, worker, on))
        return; /* another worker wants it still, or wanted it already */
    for (s_link_t *l = hub->links; l; l = l->next)
        s_subscription(l->sub, topic, on);
}

static void s_on_want(void *ctx, const rtm_relay_msg_t *m)
{
    rtm_egress_hub_want(ctx, m->worker, m->topic, m->kind == RTM_RELAY_WANT);
}

int rtm_egress_hub_new(const rtm_egress_hub_opts_t *opts, const rtm_brokers_t *list,
                       rtm_egress_hub_t **out)
{
    *out = NULL;
    rtm_egress_hub_t *hub = calloc(1, sizeof *hub);
    if (!hub || !(hub->out = calloc(opts->n_workers, sizeof *hub->out)))
        abort();
    hub->o = *opts;
    int rc = rtm_broker_keys_load(&hub->keys, opts->keys);
    if (rc == 0)
        rc = rtm_relay_inbox_open(opts->wants, opts->loop, s_on_want, hub);
    if (rc < 0) {
        free(hub->out);
        free(hub);
        return rc;
    }
    hub->interest = rtm_interest_new();
    uv_check_init(opts->loop, &hub->flush);
    hub->flush.data = hub;
    uv_check_start(&hub->flush, s_on_flush);
    rtm_egress_hub_set_brokers(hub, list);
    *out = hub;
    return 0;
}

void rtm_egress_hub_tick(rtm_egress_hub_t *hub)
{
    uint64_t now = uv_now(hub->o.loop);
    for (s_link_t **pp = &hub->links; *pp;) {
        s_link_t *link = *pp;
        if (link->listed || rtm_wire_live(link->last_hb_ms, now)) {
            pp = &link->next;
            continue;
        }
        *pp = link->next;
        rtm_log(RTM_LOG_INFO, "event=broker_retired broker=%s link=egress", link->identity);
        s_link_free(link);
    }
}

static void s_on_closed(uv_handle_t *h)
{
    rtm_egress_hub_t *hub = h->data;
    for (unsigned i = 0; i < hub->o.n_workers; i++)
        rtm_relay_batch_free(&hub->out[i]);
    free(hub->out);
    rtm_interest_destroy(&hub->interest);
    free(hub);
}

void rtm_egress_hub_close(rtm_egress_hub_t **hubp)
{
    rtm_egress_hub_t *hub = *hubp;
    if (!hub)
        return;
    *hubp = NULL;
    while (hub->links) {
        s_link_t *link = hub->links;
        hub->links = link->next;
        s_link_free(link);
    }
    rtm_relay_inbox_close(hub->o.wants);
    uv_close((uv_handle_t *)&hub->flush, s_on_closed);
}
