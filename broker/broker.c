/* broker — see broker.h; docs/wire.md is the protocol it speaks.
 *
 * One thread, one zmq_poll loop, with a 100 ms ceiling on the wait so the
 * stop flag and the 500 ms heartbeat are serviced even when no traffic
 * arrives. The ingress ROUTER and the egress XPUB are ZMTP servers of our own
 * (ingress.c, egress.c over zserver.c), read and written from this loop with
 * no libzmq I/O thread between the network and the broker: a publish costs a
 * read, a write of the ACK and a write per subscribed node, each turn's
 * output written once at its end. Only the SUB to the other brokers' egress
 * (heartbeats, replicas; not on the publish path) is a libzmq socket. The
 * peers' SUB is drained with a budget per turn so it cannot starve the rest.
 *
 * Ownership is decided per request, against the liveness view at that
 * moment: if any channel of a PUBLISH belongs to another shard nothing is
 * published and the node gets RTM_ENOTOWNER, so a publish is never
 * acknowledged and lost; likewise a fresh PRESENCE_JOIN and a channel or
 * users QUERY, while a SYNC_REQ to a non-owner is not answered at all (the
 * node retries). Messages that carry a node's absolute state — SUB_COUNT,
 * PRESENCE_LEAVE, re-announced joins (id 0) — are applied wherever they land:
 * they have no reply to carry a refusal, and during a liveness disagreement
 * refusing them would lose state, while holding them at a non-owner costs
 * only a record that the ownership sweep drops. Each event is rendered once
 * and queued to every subscribed node.
 *
 * Channel state (counts, presence, cache) lives in channel_state, which is
 * pure and hands what must be published to the egress sink; answers to
 * queries come from queries. When the set of live shards changes, records
 * this shard no longer owns are dropped (rtm_channel_state_retain); when a
 * node worker falls silent, its counts and presence connections go
 * (rtm_channel_state_peer_lost); the webhooks that reports wait in isolation
 * until the broker knows it was not itself cut off from everything.
 *
 * Webhooks (webhooks.c) are fed from here with what only the owner sees:
 * channel_state's changes (its sink's hook, dropped unless this shard owns
 * the channel), client events in PUBLISH and CACHE_MISS reports; their HTTP
 * sockets join the zmq_poll set as plain file descriptors, so sending never
 * blocks the loop.
 *
 * Every send is non-blocking where it can fail: a subscriber whose queue is
 * full misses the message, counted (egress.c); a reply to a vanished or stuck
 * node fails visibly (counted) instead of silently (ingress.c). An "id" of 0
 * means "no reply wanted": such a request is never ACKed, not even with an
 * error. */
#include "broker.h"

#include "beat_log.h"
#include "broker_metrics.h"
#include "channel_state.h"
#include "counters.h"
#include "allow_list.h"
#include "egress.h"
#include "ingress.h"
#include "isolation.h"
#include "metrics_http.h"
#include "node_table.h"
#include "queries.h"
#include "replica.h"
#include "rtm_config.h"
#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_pusher.h"
#include "rtm_publish.h"
#include "rtm_roster.h"
#include "rtm_wire.h"
#include "rtm_zcurve.h"
#include "shard_view.h"
#include "sockets.h"
#include "webhooks.h"
#include "zserver.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <zmq.h>

#define S_POLL_MS          100   /* longest wait in zmq_poll */
#define S_STATS_EVERY_MS   10000 /* counters line period */
#define S_WARN_EVERY_MS    1000  /* at most one peer-error line per period */
#define S_BUDGET           256   /* messages drained per socket per loop turn */
#define S_REPLICA_EVERY_MS 100   /* replica flushes: the window a shard's death can lose */
#define S_LEAVE_MS         1000  /* leaving: time between saying so and exiting */
/* Asked to stop while the only peer heard is not counted yet (back from a
 * restart, counted RTM_WIRE_JOIN_MS + its grace after it is heard): wait for it
 * at most this long before leaving, since nodes may already route to it. */
#define S_WAIT_PEER_MS (RTM_WIRE_JOIN_MS + 2000)

typedef struct {
    uint64_t acks;               /* ACKs sent, any status */
    uint64_t not_owner;          /* requests refused or ignored: another shard owns the channel */
    uint64_t malformed;          /* bodies or frames refused, and unexpected types */
    uint64_t unknown_app;        /* messages for an app this mesh does not serve */
    uint64_t publish_refused;    /* PUBLISHes the REST API's rules refuse (rtm_publish) */
    uint64_t stalled_refused;    /* PUBLISHes their senders gave up on (s_publish) */
    uint64_t app_refused;        /* messages from a service key for an app not naming it */
    uint64_t reply_drops;        /* replies ROUTER could not queue (node gone or stuck) */
    uint64_t queries;            /* QUERY messages answered, any status */
    uint64_t terminates;         /* TERMINATE messages published */
    uint64_t stale_leaves;       /* PRESENCE_LEAVEs for connections not held (e.g. swept) */
    uint64_t swept;              /* records dropped because ownership moved */
    uint64_t subscriptions;      /* topics the egress got a first subscriber for */
    uint64_t unsubscriptions;    /* topics whose last subscriber left the egress */
    uint64_t hooks_elsewhere;    /* channel changes not reported: another shard owns the channel */
    uint64_t node_list_mismatch; /* NODE_HBs whose broker-list digest differs from ours */
    uint64_t list_reloads;       /* broker lists taken from the roster (start included) */
    uint64_t list_errors;        /* broker lists refused (bad entry): the last one kept */
} s_stats_t;

struct rtm_broker {
    const rtm_apps_t *apps;     /* the apps served; borrowed */
    void *ctx;                  /* ZeroMQ context (for the peers' SUB), owned */
    rtm_allow_list_t *allow;    /* with CURVE: who may connect; NULL: plain text */
    rtm_ingress_t *ingress;     /* the ROUTER, bound */
    rtm_egress_t *egress;       /* the XPUB, bound */
    int linger_ms;              /* leaving: how long the egress may flush at exit */
    rtm_channel_sink_t sink;    /* channel_state's publications, into egress */
    rtm_channel_state_t *state; /* counts, presence, cache of the channels held */
    uint64_t view_gen;          /* shard view generation the state was last swept at */
    void *sub;                /* SUB to every other listed broker's egress: heartbeats, replicas */
    char *self;               /* this broker's identity (its ingress endpoint as listed) */
    rtm_roster_t *roster;     /* where the broker list comes from; borrowed */
    uint64_t roster_gen;      /* roster generation last taken */
    uint64_t leave_at;        /* leaving (SIGTERM): when to exit; 0: not leaving */
    uint64_t stop_asked_at;   /* when a stop waiting for a peer was first asked; 0: not */
    uint64_t epoch;           /* wall-clock ms at start: changes on every restart */
    bool started;             /* sockets up and start logged */
    rtm_shard_view_t *view;   /* the broker list and the liveness of its brokers */
    rtm_node_table_t *nodes;  /* node workers heard from */
    rtm_webhooks_t *webhooks; /* webhook sender */
    rtm_replica_t *replica;   /* what webhooks announced, kept at the successors */
    rtm_metrics_http_t *metrics; /* GET /metrics; NULL: off */
    uint64_t next_replica_ms;    /* monotonic time of the next replica tick */
    zmq_pollitem_t *items;       /* poll set: peers' SUB, the servers', webhooks', metrics' */
    size_t cap_items;            /* entries allocated */
    s_stats_t stats;             /* counters since start */
    uint64_t next_hb_ms;         /* monotonic time of the next heartbeat */
    rtm_beat_log_t beats;        /* the heartbeats sent: their numbers and times */
    uint64_t fence;              /* beat before the last stall: older PUBLISHes are refused */
    uint64_t turn_ms;            /* monotonic time the last loop turn woke */
    uint64_t next_stats_ms;      /* monotonic time of the next counters line */
    rtm_log_limit_t warn;        /* peer-error lines: one per S_WARN_EVERY_MS */
    rtm_isolation_t *isolation;  /* departures inferred from silence, until judged real */
    rtm_channel_sink_t lost;     /* sink, but its hooks go to isolation: a lost node's */
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
#define s_warn(b, ...) rtm_log_limited(&(b)->warn, s_now_ms(), RTM_LOG_WARN, __VA_ARGS__)

/* Every counter now, in counters.h's order. */
static void s_snapshot(const rtm_broker_t *b, uint64_t v[RTM_CTR_COUNT])
{
    const s_stats_t *s = &b->stats;
    const rtm_channel_state_stats_t *c = rtm_channel_state_stats(b->state);
    const uint64_t values[RTM_CTR_COUNT] = {
        [RTM_CTR_PUBLISHED] = rtm_egress_stats(b->egress)->published,
        [RTM_CTR_CONTROLS] = rtm_egress_stats(b->egress)->controls,
        [RTM_CTR_ACKS] = s->acks,
        [RTM_CTR_NOT_OWNER] = s->not_owner,
        [RTM_CTR_MALFORMED] = s->malformed,
        [RTM_CTR_UNKNOWN_APP] = s->unknown_app,
        [RTM_CTR_PUBLISH_REFUSED] = s->publish_refused,
        [RTM_CTR_STALLED_REFUSED] = s->stalled_refused,
        [RTM_CTR_APP_REFUSED] = s->app_refused,
        [RTM_CTR_AUTH_REFUSED] = b->allow ? rtm_allow_list_stats(b->allow)->refused : 0,
        [RTM_CTR_HANDSHAKE_FAILED] =
            rtm_zserver_stats(rtm_ingress_server(b->ingress))->handshake_failed +
            rtm_zserver_stats(rtm_egress_server(b->egress))->handshake_failed,
        [RTM_CTR_EGRESS_DROPS] = rtm_egress_stats(b->egress)->drops,
        [RTM_CTR_REPLY_DROPS] = s->reply_drops,
        [RTM_CTR_SUBSCRIPTIONS] = s->subscriptions,
        [RTM_CTR_UNSUBSCRIPTIONS] = s->unsubscriptions,
        [RTM_CTR_NODES] = rtm_node_table_count(b->nodes),
        [RTM_CTR_LIVE_SHARDS] = rtm_shard_view_live(b->view),
        [RTM_CTR_RECORDS] = c->records,
        [RTM_CTR_USERS] = c->users,
        [RTM_CTR_PRESENCE_CONNS] = c->conns,
        [RTM_CTR_STATE_BYTES] = c->bytes,
        [RTM_CTR_REFUSED] = c->refused,
        [RTM_CTR_FULL] = c->full,
        [RTM_CTR_SYNCS] = c->syncs,
        [RTM_CTR_SYNCS_SKIPPED] = c->syncs_skipped,
        [RTM_CTR_MEMBER_EVENTS] = c->member_events,
        [RTM_CTR_COUNT_EVENTS] = c->count_events,
        [RTM_CTR_CACHED] = c->cached,
        [RTM_CTR_QUERIES] = s->queries,
        [RTM_CTR_TERMINATES] = s->terminates,
        [RTM_CTR_STALE_LEAVES] = s->stale_leaves,
        [RTM_CTR_SWEPT] = s->swept,
        [RTM_CTR_HOOKS] = c->hooks,
        [RTM_CTR_INHERITED] = c->inherited,
        [RTM_CTR_HOOKS_ELSEWHERE] = s->hooks_elsewhere,
        [RTM_CTR_BROKERS] = rtm_shard_view_list(b->view)->n,
        [RTM_CTR_LIST_DIGEST] = rtm_shard_view_list(b->view)->digest,
        [RTM_CTR_PEERS_LIST_MISMATCH] = rtm_shard_view_mismatched(b->view),
        [RTM_CTR_PEER_LIST_MISMATCHES] = rtm_shard_view_mismatches(b->view),
        [RTM_CTR_NODE_LIST_MISMATCH] = s->node_list_mismatch,
        [RTM_CTR_LIST_RELOADS] = s->list_reloads,
        [RTM_CTR_LIST_ERRORS] = s->list_errors,
        [RTM_CTR_PEER_WEBHOOKS_LOST] = rtm_shard_view_webhooks_lost(b->view),
    };
    memcpy(v, values, sizeof values);
}

static void s_log_counters(const rtm_broker_t *b, const char *event)
{
    uint64_t v[RTM_CTR_COUNT];
    s_snapshot(b, v);
    rtm_counters_log(v, event, b->self, rtm_shard_view_self_index(b->view));
}

/* What the replica sent, holds and settled (docs/wire.md §11). */
static void s_log_replica(const rtm_broker_t *b, const char *event)
{
    rtm_replica_stats_t r;
    rtm_replica_stats(b->replica, &r);
    rtm_log(RTM_LOG_INFO,
            "event=%s broker=%s tracked=%" PRIu64 " marked=%" PRIu64 " sent=%" PRIu64
            " forgets=%" PRIu64 " handed=%" PRIu64 " send_retries=%" PRIu64
            " track_refused=%" PRIu64 " unheard=%" PRIu64 " beliefs=%" PRIu64 " settling=%" PRIu64
            " believed_users=%" PRIu64 " applied=%" PRIu64 " belief_refused=%" PRIu64
            " takeovers=%" PRIu64 " settled=%" PRIu64 " settle_vacated=%" PRIu64
            " settle_removed=%" PRIu64 " suppressed=%" PRIu64 " overridden=%" PRIu64
            " malformed=%" PRIu64,
            event, b->self, r.out.channels, r.out.marked, r.out.sent, r.out.forgets, r.out.handed,
            r.out.retried, r.out.refused, r.unheard, r.in.channels, r.in.settling, r.in.users,
            r.in.applied, r.in.refused, r.in.takeovers, r.in.settled, r.in.vacated, r.in.removed,
            r.in.suppressed, r.in.overridden, r.malformed);
}

/* GET /metrics: the webhook counters per app, the replica's, the peers'
 * losses, and the counters of the stats line. */
static size_t s_render_metrics(void *ctx, char **out)
{
    rtm_broker_t *b = ctx;
    int self = rtm_shard_view_self_index(b->view);
    rtm_broker_metrics_t m = {.broker = b->self,
                              .shard = self,
                              .peer_webhooks_lost = rtm_shard_view_webhooks_lost(b->view)};
    size_t n = rtm_webhooks_stats(b->webhooks, NULL, 0);
    rtm_webhooks_app_stats_t *apps = calloc(n ? n : 1, sizeof *apps);
    if (!apps)
        abort();
    m.apps = apps;
    m.n_apps = rtm_webhooks_stats(b->webhooks, apps, n);
    rtm_replica_stats(b->replica, &m.replica);
    rtm_prom_t p;
    rtm_prom_init(&p);
    rtm_broker_metrics_render(&m, &p);
    free(apps);
    /* then the counters of the stats line */
    uint64_t v[RTM_CTR_COUNT];
    s_snapshot(b, v);
    rtm_counters_render(v, b->self, self, &p);
    *out = p.buf; /* the caller frees the text */
    return p.len;
}

static bool s_owns(void *ctx, rtm_str_t app, rtm_str_t channel);

/* Whether a channel_state webhook change goes out: reported only by the
 * owner, so a record held at a non-owner during a liveness disagreement
 * reports nothing. The replica notes what is announced (inherited changes
 * included) for the successor, and holds back what a settling takeover says
 * was announced. */
static bool s_owner_reports(rtm_broker_t *b, const rtm_channel_hook_t *hook)
{
    if (!s_owns(b, hook->app, hook->channel)) {
        if (!hook->inherited)
            b->stats.hooks_elsewhere++;
        return false;
    }
    return rtm_replica_hook(b->replica, hook, s_now_ms());
}

static void s_on_hook(void *ctx, const rtm_channel_hook_t *hook)
{
    rtm_broker_t *b = ctx;
    if (s_owner_reports(b, hook))
        rtm_webhooks_channel(b->webhooks, hook, s_now_ms());
}

/* The changes a lost node worker took with it: held until the broker knows
 * it was not itself cut off from everything (isolation.h). */
static void s_on_lost_hook(void *ctx, const rtm_channel_hook_t *hook)
{
    rtm_broker_t *b = ctx;
    if (s_owner_reports(b, hook))
        rtm_isolation_hold(b->isolation, hook, s_now_ms());
}

/* What settling a takeover found gone, and what a lost node worker took
 * with it once judged real: reported as the owner's own. */
static void s_on_settled(void *ctx, const rtm_channel_hook_t *hook)
{
    rtm_broker_t *b = ctx;
    rtm_webhooks_channel(b->webhooks, hook, s_now_ms());
}

static void s_take_list(rtm_broker_t *b);
static void s_on_ingress(void *arg, rtm_str_t peer, const rtm_str_t *frames, size_t n,
                         const char *user_id);
static void s_on_subscription(void *arg, const char *msg, size_t len);

rtm_broker_t *rtm_broker_new(const rtm_broker_config_t *cfg)
{
    char host[256];
    int port;
    if (rtm_config_endpoint_port(cfg->self, host, sizeof host, &port) < 0) {
        rtm_log(RTM_LOG_ERROR, "event=bad_config self=%s", cfg->self);
        return NULL;
    }
    const char *bind = cfg->bind_host ? cfg->bind_host : host;
    rtm_broker_t *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    b->warn.every_ms = S_WARN_EVERY_MS;
    if (!(b->self = strdup(cfg->self)))
        abort();
    b->roster = cfg->roster;
    b->epoch = s_clock_ms(CLOCK_REALTIME);
    b->view = rtm_shard_view_new(cfg->self);
    b->nodes = rtm_node_table_new();
    b->state = rtm_channel_state_new(NULL);
    b->ctx = zmq_ctx_new();
    if (!b->ctx)
        abort(); /* only fails for lack of memory or file descriptors at start */
    b->apps = cfg->apps;
    bool curve = rtm_tier_keys_on(cfg->keys);
    if (!curve)
        rtm_log(RTM_LOG_WARN,
                "event=unauthenticated broker=%s reason=\"no --curve-secret: "
                "anyone who reaches the ingress can publish and the egress read "
                "every channel\"",
                cfg->self);
    uint8_t pub[32], sec[32];
    rtm_zserver_config_t server = {.max_frame = RTM_SOCKETS_MAX_BODY};
    if (curve && (rtm_zcurve_key_z85(cfg->keys->public_key, pub) < 0 ||
                  rtm_zcurve_key_z85(cfg->keys->secret_key, sec) < 0))
        curve = false; /* rtm_tier_keys_load gave Z85 text: not reached */
    if (curve)
        server.public_key = pub, server.secret_key = sec;
    bool made =
        (b->webhooks = rtm_webhooks_new(cfg->apps, &cfg->webhooks)) &&
        (!curve || (b->allow = rtm_allow_list_new(cfg->keys->public_key, cfg->curve_allow)));
    server.allow = b->allow;
    server.name = "ingress", server.max_out = RTM_SOCKETS_INGRESS_MAX_OUT;
    made = made && (b->ingress = rtm_ingress_new(bind, port, &server, s_on_ingress, b));
    server.name = "egress", server.max_out = RTM_SOCKETS_EGRESS_MAX_OUT;
    made = made && (b->egress = rtm_egress_new(bind, port + 1, &server, s_on_subscription, b)) &&
           (b->sub = rtm_sockets_peers(b->ctx, b->self, cfg->keys));
    sodium_memzero(sec, sizeof sec);
    if (!made) {
        rtm_broker_destroy(&b);
        return NULL;
    }
    b->sink = rtm_egress_sink(b->egress);
    b->sink.hook = s_on_hook;
    b->sink.hook_ctx = b;
    b->lost = b->sink;
    b->lost.hook = s_on_lost_hook;
    b->isolation = rtm_isolation_new();
    rtm_replica_ledger_limits_t ledger = rtm_replica_ledger_default_limits();
    ledger.settle_ms = cfg->webhooks.settle_ms;
    rtm_replica_config_t rc = {.self = b->self,
                               .apps = cfg->apps,
                               .state = b->state,
                               .view = b->view,
                               .egress = b->egress,
                               .ledger = ledger,
                               .max_channels = RTM_REPLICA_OUTBOX_MAX,
                               .deliver = s_on_settled,
                               .hook_ctx = b};
    b->replica = rtm_replica_new(&rc);
    if (cfg->metrics_port > 0 &&
        !(b->metrics = rtm_metrics_http_new(bind, cfg->metrics_port, s_render_metrics, b))) {
        rtm_broker_destroy(&b);
        return NULL;
    }
    b->started = true;
    rtm_log(RTM_LOG_INFO,
            "event=start broker=%s brokers_from=\"%s\" ingress=tcp://%s:%d egress=tcp://%s:%d"
            " epoch=%" PRIu64,
            b->self, rtm_roster_what(b->roster), bind, port, bind, port + 1, b->epoch);
    s_take_list(b);
    return b;
}

void rtm_broker_destroy(rtm_broker_t **broker)
{
    rtm_broker_t *b = *broker;
    if (!b)
        return;
    if (b->started) {
        s_log_counters(b, "stop");
        s_log_replica(b, "replica_stop");
    }
    if (b->metrics) {
        const rtm_metrics_http_stats_t *m = rtm_metrics_http_stats(b->metrics);
        rtm_log(RTM_LOG_INFO,
                "event=metrics_stop requests=%" PRIu64 " refused=%" PRIu64 " timeouts=%" PRIu64
                " bad=%" PRIu64,
                m->requests, m->refused, m->timeouts, m->bad);
    }
    rtm_ingress_destroy(&b->ingress);
    rtm_egress_destroy(&b->egress, b->linger_ms); /* what it acknowledged still goes out */
    rtm_allow_list_destroy(&b->allow);
    if (b->sub)
        zmq_close(b->sub);
    if (b->ctx)
        zmq_ctx_term(b->ctx);
    rtm_metrics_http_destroy(&b->metrics);
    rtm_replica_destroy(&b->replica);
    rtm_isolation_destroy(&b->isolation);
    rtm_webhooks_destroy(&b->webhooks);
    free(b->items);
    rtm_shard_view_destroy(&b->view);
    rtm_node_table_destroy(&b->nodes);
    rtm_channel_state_destroy(&b->state);
    free(b->self);
    free(b);
    *broker = NULL;
}

/* ---- replies ---------------------------------------------------------- */

/* Sends the reply to the peer `peer` (its routing id); counts a failure (peer
 * gone, or its queue full). */
static void s_reply(rtm_broker_t *b, rtm_str_t peer, const rtm_wire_msg_t *reply)
{
    char stack[16384], *buf;
    int len = rtm_wire_encode_buf(reply, stack, sizeof stack, &buf);
    assert(len > 0); /* ACK and SHARD_HB are always encodable */
    if (rtm_ingress_reply(b->ingress, peer, rtm_str(buf, (size_t)len)) < 0)
        b->stats.reply_drops++;
    if (buf != stack)
        free(buf);
}

/* ACKs request `id` with status and (for queries) json or (for a refusal)
 * reason; id 0 wants none. */
static void s_ack_full(rtm_broker_t *b, rtm_str_t peer, uint64_t id, int status, rtm_str_t json,
                       const char *reason)
{
    if (id == 0)
        return;
    rtm_wire_msg_t ack = {.type = RTM_WIRE_ACK,
                          .id = id,
                          .status = status,
                          .json = json,
                          .reason = rtm_str_cstr(reason ? reason : "")};
    s_reply(b, peer, &ack);
    b->stats.acks++;
}

static void s_ack_json(rtm_broker_t *b, rtm_str_t peer, uint64_t id, int status, rtm_str_t json)
{
    s_ack_full(b, peer, id, status, json, NULL);
}

static void s_ack(rtm_broker_t *b, rtm_str_t peer, uint64_t id, int status)
{
    s_ack_json(b, peer, id, status, rtm_str(NULL, 0));
}

/* This broker's heartbeat: its identity, its place in its list, its digest,
 * the webhook events it holds (the peers know what dies with it), the
 * number of the last one sent (publishers stamp what they heard, s_stalled)
 * and whether it is rejoining the mesh (not to be routed to yet). */
static rtm_wire_msg_t s_shard_hb(const rtm_broker_t *b)
{
    int self = rtm_shard_view_self_index(b->view);
    return (rtm_wire_msg_t){.type = RTM_WIRE_SHARD_HB,
                            .shard = self < 0 || b->leave_at ? RTM_WIRE_UNLISTED : (uint32_t)self,
                            .epoch = b->epoch,
                            .broker = rtm_str_cstr(b->self),
                            .digest = rtm_shard_view_list(b->view)->digest,
                            .count = rtm_webhooks_held(b->webhooks),
                            .beat = b->beats.last,
                            .joining = rtm_isolation_joining(b->isolation, s_now_ms())};
}

static bool s_owns(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    rtm_broker_t *b = ctx;
    return rtm_shard_view_owns(b->view, app, channel, s_now_ms());
}

/* The peer number of the sender, registering it if need be; false (warned)
 * when the node table refuses it. */
static bool s_peer_no(rtm_broker_t *b, rtm_str_t peer, uint32_t *no)
{
    int rc = rtm_node_table_peer(b->nodes, peer, s_now_ms(), no);
    if (rc < 0)
        s_warn(b, "event=peer_refused reason=\"%s\"", rtm_strerror(rc));
    return rc >= 0;
}

/* ---- publishing -------------------------------------------------------- */

/* Renders one event (a client event with "user_id" when m->user_id is set),
 * keeps it as the channel's cache when that applies, and sends it. */
static void s_emit(rtm_broker_t *b, rtm_str_t topic, const rtm_wire_msg_t *m, rtm_str_t channel)
{
    size_t len = rtm_pusher_client_event_len(m->name, channel, m->data, m->user_id);
    char stack[16384], *json = len <= sizeof stack ? stack : malloc(len);
    if (!json)
        abort();
    int n = rtm_pusher_render_client_event(json, len, m->name, channel, m->data, m->user_id);
    assert(n >= 0 && (size_t)n == len); /* the _len companion is exact */
    (void)n;
    rtm_channel_state_cache(b->state, m->app, channel, m->name, m->data, rtm_str(json, len),
                            s_now_ms());
    rtm_egress_event(b->egress, topic, m->exclude, rtm_str(json, len));
    if (json != stack)
        free(json);
    if (rtm_str_has_prefix(m->name, "client-")) /* a client event relayed by its node */
        rtm_webhooks_client_event(b->webhooks, m->app, channel, m->name, m->data, m->exclude,
                                  m->user_id, s_now_ms());
}

/* Checks every channel before publishing any: all or nothing. A broker
 * rejoining the mesh owns nothing yet, whatever its view says: the nodes
 * still route its channels to others, and some may not be subscribed at its
 * egress (docs/soak.md, failure 7); the sender routes again. */
static int s_check_channels(rtm_broker_t *b, const rtm_wire_msg_t *m)
{
    bool joining = rtm_isolation_joining(b->isolation, s_now_ms());
    char topic[RTM_WIRE_MAX_TOPIC];
    for (uint32_t i = 0; i < m->n_channels; i++) {
        int n = rtm_wire_topic(topic, sizeof topic, m->app, m->channels[i]);
        if (n < 0)
            return n;
        if (joining || !s_owns(b, m->app, m->channels[i]))
            return RTM_ENOTOWNER;
    }
    return 0;
}

/* The REST API's rules with the app's limits (rtm_publish): a service that
 * publishes straight to the ingress gets no more than a REST client. */
static int s_check_event(rtm_broker_t *b, const rtm_wire_msg_t *m, char *err, size_t err_len)
{
    const rtm_app_t *app = rtm_apps_by_id(b->apps, m->app); /* known: s_dispatch checked */
    rtm_publish_limits_t lim = rtm_publish_limits(app);
    rtm_publish_event_t ev = {.name = m->name,
                              .data = m->data,
                              .socket_id = m->exclude.len ? m->exclude : rtm_str(NULL, 0),
                              .channels = m->channels,
                              .n_channels = m->n_channels};
    return rtm_publish_check(&ev, &lim, NULL, err, err_len);
}

static void s_publish(rtm_broker_t *b, rtm_str_t peer, const rtm_wire_msg_t *m)
{
    if (m->beat && (m->beat <= b->fence || !rtm_beat_log_fresh(&b->beats, m->beat, s_now_ms()))) {
        /* its sender may have given up on it: sent before a stall (s_stalled, for
         * senders that give up as soon as a broker falls silent), to an earlier
         * start of this broker, or stamped RTM_WIRE_STALE_MS ago; publish nothing */
        b->stats.stalled_refused++;
        s_ack(b, peer, m->id, RTM_EUNAVAIL);
        return;
    }
    char err[256] = "";
    int status = s_check_event(b, m, err, sizeof err);
    if (status < 0) {
        b->stats.publish_refused++;
        s_warn(b, "event=publish_refused reason=\"%s\"", err);
        s_ack_full(b, peer, m->id, status, rtm_str(NULL, 0), err);
        return;
    }
    status = s_check_channels(b, m);
    if (status == RTM_ENOTOWNER) {
        b->stats.not_owner++;
    } else if (status < 0) {
        b->stats.malformed++;
        s_warn(b, "event=publish_refused reason=\"%s\"", rtm_strerror(status));
    } else {
        char topic[RTM_WIRE_MAX_TOPIC];
        for (uint32_t i = 0; i < m->n_channels; i++) {
            int n = rtm_wire_topic(topic, sizeof topic, m->app, m->channels[i]);
            s_emit(b, rtm_str(topic, (size_t)n), m, m->channels[i]);
        }
    }
    if (status == 0 && m->info.len) { /* a trigger with "info": the channels' counts now */
        size_t len;
        char *json = rtm_queries_publish_info(b->state, rtm_apps_by_id(b->apps, m->app), m,
                                              s_now_ms(), &len);
        s_ack_json(b, peer, m->id, 0, rtm_str(json, len));
        free(json);
        return;
    }
    s_ack(b, peer, m->id, status);
}

static void s_node_hb(rtm_broker_t *b, rtm_str_t peer, const rtm_wire_msg_t *m)
{
    rtm_node_table_seen(b->nodes, peer, m->node, s_now_ms());
    uint64_t digest = rtm_shard_view_list(b->view)->digest;
    if (m->digest && m->digest != digest) {
        b->stats.node_list_mismatch++;
        s_warn(b,
               "event=node_list_mismatch node=%.*s node_digest=%016" PRIx64 " digest=%016" PRIx64,
               (int)m->node.len, m->node.p, m->digest, digest);
    }
    rtm_wire_msg_t hb = s_shard_hb(b);
    s_reply(b, peer, &hb);
}

/* ---- channel state ----------------------------------------------------- */

static void s_sync_req(rtm_broker_t *b, const rtm_wire_msg_t *m)
{
    if (!s_owns(b, m->app, m->channel)) { /* the node asks the right owner later */
        b->stats.not_owner++;
        return;
    }
    if (rtm_channel_state_sync(b->state, m->app, m->channel, s_now_ms(), &b->sink) < 0)
        b->stats.malformed++;
}

static void s_join(rtm_broker_t *b, rtm_str_t peer, const rtm_wire_msg_t *m)
{
    uint32_t no;
    int rc;
    if (m->id != 0 && !s_owns(b, m->app, m->channel)) {
        b->stats.not_owner++;
        rc = RTM_ENOTOWNER;
    } else {
        rc = s_peer_no(b, peer, &no) ? rtm_channel_state_join(b->state, no, m, &b->sink)
                                     : RTM_EUNAVAIL;
    }
    if (rc == RTM_EINVAL) {
        b->stats.malformed++;
        s_warn(b, "event=join_refused reason=\"%s\"", rtm_strerror(rc));
    }
    s_ack(b, peer, m->id, rc);
}

static void s_leave(rtm_broker_t *b, rtm_str_t peer, const rtm_wire_msg_t *m)
{
    uint32_t no;
    if (!s_peer_no(b, peer, &no))
        return;
    int rc = rtm_channel_state_leave(b->state, no, m, &b->sink);
    if (rc == RTM_ENOTFOUND)
        b->stats.stale_leaves++;
    else if (rc < 0)
        b->stats.malformed++;
}

static void s_sub_count(rtm_broker_t *b, rtm_str_t peer, const rtm_wire_msg_t *m)
{
    uint32_t no;
    if (!s_peer_no(b, peer, &no))
        return;
    if (rtm_channel_state_count(b->state, no, m, s_now_ms(), &b->sink) == RTM_EINVAL)
        b->stats.malformed++;
}

static void s_query(rtm_broker_t *b, rtm_str_t peer, const rtm_wire_msg_t *m)
{
    char *json;
    size_t len;
    int rc = 0;
    if (m->kind == RTM_WIRE_QUERY_BROKER) { /* about this broker, not a channel: its counters */
        uint64_t v[RTM_CTR_COUNT];
        s_snapshot(b, v);
        json = rtm_counters_json(v, b->self, rtm_shard_view_self_index(b->view), &len);
    } else {
        rc = rtm_queries_answer(b->state, m, s_now_ms(), s_owns, b, &json, &len);
    }
    if (rc == RTM_ENOTOWNER)
        b->stats.not_owner++;
    b->stats.queries++;
    s_ack_json(b, peer, m->id, rc, rtm_str(json, len));
    free(json);
}

/* Publishes the TERMINATE on the user's channel topic, whichever shard this
 * is: every node subscribes to every shard, so it reaches them all. */
static void s_terminate(rtm_broker_t *b, const rtm_wire_msg_t *m)
{
    char topic[RTM_WIRE_MAX_TOPIC];
    int n = rtm_wire_user_topic(topic, sizeof topic, m->app, m->user_id);
    if (n < 0) {
        b->stats.malformed++;
        return;
    }
    rtm_wire_msg_t t = {.type = RTM_WIRE_TERMINATE, .app = m->app, .user_id = m->user_id};
    if (rtm_egress_control(b->egress, rtm_str(topic, (size_t)n), &t, false) == 0)
        b->stats.terminates++;
}

/* A node told a cache channel's subscriber "pusher:cache_miss"; the owner
 * reports it (a non-owner would too, once, but the node asked the owner). */
static void s_cache_miss(rtm_broker_t *b, const rtm_wire_msg_t *m)
{
    char topic[RTM_WIRE_MAX_TOPIC];
    if (rtm_wire_topic(topic, sizeof topic, m->app, m->channel) < 0) {
        b->stats.malformed++;
        return;
    }
    if (!s_owns(b, m->app, m->channel)) {
        b->stats.not_owner++;
        return;
    }
    rtm_webhooks_cache_miss(b->webhooks, m->app, m->channel, s_now_ms());
}

/* ---- ingress ----------------------------------------------------------- */

/* Handles one body from the peer `peer`; key: with CURVE, the peer's public
 * key (Z85), else NULL. */
static void s_dispatch(rtm_broker_t *b, rtm_str_t peer, rtm_str_t body, const char *key)
{
    rtm_wire_msg_t m;
    int rc = rtm_wire_decode(body.p, body.len, &m);
    if (rc < 0) {
        b->stats.malformed++;
        uint64_t id;
        if (rtm_wire_peek_id(body.p, body.len, &id) == 0)
            s_ack(b, peer, id, rc); /* nothing for id 0 */
        s_warn(b, "event=malformed_body size=%zu reason=\"%s\"", body.len, rtm_strerror(rc));
        return;
    }
    const rtm_app_t *app = m.type == RTM_WIRE_NODE_HB ? NULL : rtm_apps_by_id(b->apps, m.app);
    if (m.type != RTM_WIRE_NODE_HB && !app) {
        b->stats.unknown_app++; /* state for an app nobody serves: refuse it */
        s_ack_full(b, peer, m.id, RTM_ENOTFOUND, rtm_str(NULL, 0), "Unknown app");
        s_warn(b, "event=unknown_app type=%s", rtm_wire_type_name(m.type));
        return;
    }
    if (app && !rtm_apps_key_allowed(b->apps, app, key)) {
        b->stats.app_refused++; /* a service key for another app: nothing of it */
        s_ack_full(b, peer, m.id, RTM_EAUTH, rtm_str(NULL, 0),
                   "This key may not publish to this app (not in its publishers)");
        s_warn(b, "event=app_refused type=%s app=%.*s", rtm_wire_type_name(m.type), (int)m.app.len,
               m.app.p);
        return;
    }
    switch (m.type) {
    case RTM_WIRE_PUBLISH: s_publish(b, peer, &m); break;
    case RTM_WIRE_NODE_HB: s_node_hb(b, peer, &m); break;
    case RTM_WIRE_SYNC_REQ: s_sync_req(b, &m); break;
    case RTM_WIRE_PRESENCE_JOIN: s_join(b, peer, &m); break;
    case RTM_WIRE_PRESENCE_LEAVE: s_leave(b, peer, &m); break;
    case RTM_WIRE_SUB_COUNT: s_sub_count(b, peer, &m); break;
    case RTM_WIRE_QUERY: s_query(b, peer, &m); break;
    case RTM_WIRE_TERMINATE: s_terminate(b, &m); break;
    case RTM_WIRE_CACHE_MISS: s_cache_miss(b, &m); break;
    case RTM_WIRE_SYNC:
    case RTM_WIRE_MEMBER:
    case RTM_WIRE_ACK:
    case RTM_WIRE_SHARD_HB:
    case RTM_WIRE_REPLICA:
    case RTM_WIRE_MOVED:
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

/* A message from a node or service: exactly one body frame (no delimiter:
 * DEALER to ROUTER), anything else is malformed. */
static void s_on_ingress(void *arg, rtm_str_t peer, const rtm_str_t *frames, size_t n,
                         const char *user_id)
{
    rtm_broker_t *b = arg;
    /* Somebody is heard, so the broker is not cut off: the departures held
     * from other node workers' silence are real, and go before whatever this
     * message changes. */
    rtm_isolation_flush(b->isolation, s_on_settled, b);
    if (n != 1) {
        b->stats.malformed++;
        s_warn(b, "event=malformed_frames frames=%zu reason=\"one body frame per message\"", n);
        return;
    }
    s_dispatch(b, peer, frames[0], b->allow ? user_id : NULL);
}

/* ---- egress subscriptions and peer heartbeats -------------------------- */

/* A topic's first subscriber came or its last went (msg[0] 1 or 0). */
static void s_on_subscription(void *arg, const char *msg, size_t len)
{
    rtm_broker_t *b = arg;
    if (rtm_replica_subscription(b->replica, msg, len))
        ; /* a peer shard's, for its replica: not a node's channel */
    else if (msg[0] == 1)
        b->stats.subscriptions++;
    else
        b->stats.unsubscriptions++;
}

/* A peer's identity from its heartbeat; a broker that predates identities
 * is named by its index in our list (the old fixed-list contract). */
static rtm_str_t s_peer_identity(const rtm_broker_t *b, const rtm_wire_msg_t *m)
{
    const rtm_brokers_t *list = rtm_shard_view_list(b->view);
    if (m->broker.len > 0 || m->shard >= list->n)
        return m->broker;
    return rtm_str_cstr(list->ids[m->shard]);
}

/* Takes a new broker list from the roster when there is one: connects to the
 * egress of added peers, disconnects from removed ones, and hands the list
 * to the view (whose generation change triggers the ownership sweep). A list
 * with a bad entry is refused whole and the last one kept. */
static void s_take_list(rtm_broker_t *b)
{
    char *text;
    uint64_t gen = rtm_roster_take(b->roster, b->roster_gen, &text);
    if (!text)
        return;
    b->roster_gen = gen;
    rtm_brokers_t list;
    char err[512];
    int rc = rtm_brokers_parse(&list, text, strlen(text), '\n', rtm_roster_what(b->roster), err,
                               sizeof err);
    free(text);
    if (rc < 0) {
        b->stats.list_errors++;
        rtm_log(RTM_LOG_ERROR, "event=broker_list_refused error=\"%s\" action=kept_list", err);
        return;
    }
    b->stats.list_reloads++;
    const rtm_brokers_t *old = rtm_shard_view_list(b->view);
    bool *kept = calloc(old->n + 1, sizeof *kept), *added = calloc(list.n + 1, sizeof *added);
    if (!kept || !added)
        abort();
    rtm_brokers_diff(old, &list, kept, added);
    for (uint32_t i = 0; i < old->n; i++)
        if (!kept[i] && strcmp(old->ids[i], b->self) != 0)
            rtm_sockets_peer(b->sub, old->ids[i], false);
    for (uint32_t i = 0; i < list.n; i++)
        if (added[i] && strcmp(list.ids[i], b->self) != 0)
            rtm_sockets_peer(b->sub, list.ids[i], true);
    free(kept);
    free(added);
    rtm_shard_view_set_list(b->view, &list);
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
        bool one = !zmq_msg_more(&body);
        if (rc == 0 && m.type == RTM_WIRE_SHARD_HB && one)
            rtm_shard_view_heartbeat(b->view, s_peer_identity(b, &m), m.epoch, m.digest,
                                     m.shard == RTM_WIRE_UNLISTED, m.count, s_now_ms());
        else if (rc == 0 && m.type == RTM_WIRE_REPLICA && one)
            rtm_replica_receive(b->replica, &m, s_now_ms());
        else
            s_warn(b, "event=bad_peer_message reason=\"%s\"",
                   rc < 0 ? rtm_strerror(rc) : "not a single shard_hb or replica body");
        s_discard_rest(b->sub, &body);
        zmq_msg_close(&body);
    }
}

/* ---- timers and loop --------------------------------------------------- */

/* A loop turn that wakes longer than the dead time after the last one was a
 * stall (SIGSTOP, a starved CPU): every peer has judged this broker dead, and
 * a sender older than the hold of RTM_WIRE_HOLD_MS refused at once what it had
 * sent here, which may still wait in the sockets. A PUBLISH stamped with a
 * heartbeat number up to the last one sent before the stall was sent before
 * its sender could hear this broker again: refused (s_publish), not published
 * late and out of order. (A stall of RTM_WIRE_STALE_MS or more makes every
 * such stamp stale anyway.) Unstamped ones (older senders) are published as
 * before. */
static void s_stalled(rtm_broker_t *b, uint64_t now)
{
    if (b->turn_ms && now - b->turn_ms > RTM_WIRE_DEAD_MS && b->fence != b->beats.last) {
        b->fence = b->beats.last;
        rtm_log(RTM_LOG_WARN, "event=stalled broker=%s ms=%llu fence=%llu", b->self,
                (unsigned long long)(now - b->turn_ms), (unsigned long long)b->fence);
    }
    b->turn_ms = now;
}

static void s_heartbeat(rtm_broker_t *b)
{
    rtm_beat_log_next(&b->beats, s_now_ms());
    rtm_wire_msg_t hb = s_shard_hb(b);
    rtm_egress_control(b->egress, rtm_str(RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN), &hb, true);
}

static void s_node_lost(void *ctx, uint32_t peer)
{
    rtm_broker_t *b = ctx;
    rtm_channel_state_peer_lost(b->state, peer, s_now_ms(), &b->lost);
}

/* After the silent are expired: does this broker hear nobody at all, although
 * it has peers? (Alone, it cannot tell its isolation from the nodes' end.)
 * Then what it inferred from the silence is dropped, and taken-over channels
 * wait to settle until it hears its peers again (docs/soak.md, failure 2). */
static void s_judge_isolation(rtm_broker_t *b, uint64_t now)
{
    rtm_isolation_hearing_t hears = {.has_peers = rtm_shard_view_list(b->view)->n > 1,
                                     .peers = rtm_shard_view_heard(b->view, now),
                                     .peers_live = rtm_shard_view_live(b->view) -
                                                   (rtm_shard_view_self_index(b->view) >= 0),
                                     .nodes = (uint32_t)rtm_node_table_count(b->nodes)};
    bool was = rtm_isolation_cut_off(b->isolation);
    rtm_isolation_tick(b->isolation, now, &hears, s_on_settled, b);
    if (rtm_isolation_takeovers_wait(b->isolation))
        rtm_replica_postpone(b->replica, now);
    bool cut = rtm_isolation_cut_off(b->isolation);
    if (cut != was)
        rtm_log(RTM_LOG_WARN, "event=%s broker=%s departures_dropped=%" PRIu64,
                cut ? "cut_off" : "heard_again", b->self,
                rtm_isolation_stats(b->isolation)->dropped);
}

/* The sweep's test: a record this shard no longer owns is dropped, and its
 * topic told so (MOVED), since a node that still routes the channel here
 * cannot hear its new owner (a cut the rest of the mesh does not share) and
 * would otherwise miss, silently, what that owner publishes. */
static bool s_keep_owned(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    rtm_broker_t *b = ctx;
    if (s_owns(b, app, channel))
        return true;
    char topic[RTM_WIRE_MAX_TOPIC];
    int n = rtm_wire_topic(topic, sizeof topic, app, channel);
    rtm_wire_msg_t moved = {
        .type = RTM_WIRE_MOVED, .channel = channel, .broker = rtm_str_cstr(b->self)};
    if (n > 0)
        rtm_egress_control(b->egress, rtm_str(topic, (size_t)n), &moved, false);
    return false;
}

/* The live shard set changed since the last sweep: drop what moved away. */
static void s_sweep(rtm_broker_t *b)
{
    uint64_t gen = rtm_shard_view_generation(b->view);
    if (gen == b->view_gen)
        return;
    b->view_gen = gen;
    rtm_replica_moved(b->replica, s_now_ms()); /* hands over what moves, before it is dropped */
    size_t n = rtm_channel_state_retain(b->state, s_keep_owned, b);
    b->stats.swept += n;
    if (n)
        rtm_log(RTM_LOG_INFO, "event=ownership_sweep broker=%s dropped=%zu", b->self, n);
}

static void s_timers(rtm_broker_t *b, uint64_t now)
{
    if (now >= b->next_hb_ms) {
        s_heartbeat(b);
        rtm_shard_view_refresh(b->view, now);
        rtm_node_table_expire(b->nodes, now, s_node_lost, b);
        s_judge_isolation(b, now);
        rtm_channel_state_tick(b->state, now, &b->sink);
        b->next_hb_ms += RTM_WIRE_HB_MS;
        if (b->next_hb_ms <= now) /* fell behind: keep the period, drop the backlog */
            b->next_hb_ms = now + RTM_WIRE_HB_MS;
    }
    s_sweep(b);
    if (now >= b->next_replica_ms) {
        rtm_replica_tick(b->replica, now);
        b->next_replica_ms = now + S_REPLICA_EVERY_MS;
    }
    if (now >= b->next_stats_ms) {
        s_log_counters(b, "stats");
        s_log_replica(b, "replica_stats");
        rtm_webhooks_log(b->webhooks, "webhook_stats");
        b->next_stats_ms = now + S_STATS_EVERY_MS;
    }
}

/* Asked to stop: whether to exit now. With a live peer to take over and
 * nodes to tell, the broker first leaves: its heartbeats say it owns nothing
 * (shard RTM_WIRE_UNLISTED), so nodes route its channels to the others at
 * once and the others take them, while it still answers what is already on
 * its way; S_LEAVE_MS later it exits, its egress lingering so that every
 * event it acknowledged is still delivered. */
static bool s_stopping(rtm_broker_t *b)
{
    uint64_t now = s_now_ms();
    if (b->leave_at)
        return now >= b->leave_at;
    if (rtm_node_table_count(b->nodes) == 0)
        return true;
    if (rtm_shard_view_live(b->view) < 2) {
        /* alone, unless a peer is heard that is about to count (a rolling
         * restart that goes on as soon as the nodes route to the previous
         * broker): leaving now would leave the nodes nobody to route to */
        if (!b->stop_asked_at) {
            b->stop_asked_at = now;
            if (rtm_shard_view_heard(b->view, now))
                rtm_log(RTM_LOG_INFO, "event=leave_waits broker=%s for=peer max_ms=%d", b->self,
                        S_WAIT_PEER_MS);
        }
        if (!rtm_shard_view_heard(b->view, now) || now - b->stop_asked_at >= S_WAIT_PEER_MS)
            return true;
        return false;
    }
    b->leave_at = now + S_LEAVE_MS;
    rtm_log(RTM_LOG_INFO, "event=leaving broker=%s in_ms=%d", b->self, S_LEAVE_MS);
    s_heartbeat(b);
    b->linger_ms = S_LEAVE_MS;
    return false;
}

int rtm_broker_run(rtm_broker_t *b, const atomic_int *stop, atomic_int *reload)
{
    uint64_t now = s_now_ms();
    b->next_hb_ms = now;
    b->next_stats_ms = now + S_STATS_EVERY_MS;
    rtm_zserver_t *in = rtm_ingress_server(b->ingress), *out = rtm_egress_server(b->egress);
    while (!(atomic_load(stop) && s_stopping(b))) {
        size_t need = 1 + rtm_zserver_poll_count(in) + rtm_zserver_poll_count(out) +
                      rtm_webhooks_sockets(b->webhooks) +
                      (b->metrics ? rtm_metrics_http_sockets(b->metrics) : 0);
        if (need > b->cap_items) {
            b->cap_items = need * 2;
            b->items = realloc(b->items, b->cap_items * sizeof *b->items);
            if (!b->items)
                abort();
        }
        zmq_pollitem_t *items = b->items;
        items[0] = (zmq_pollitem_t){b->sub, 0, ZMQ_POLLIN, 0};
        size_t in_at = 1, in_n = rtm_zserver_pollitems(in, items + in_at, b->cap_items - in_at);
        size_t out_at = in_at + in_n;
        size_t out_n = rtm_zserver_pollitems(out, items + out_at, b->cap_items - out_at);
        size_t hooks_at = out_at + out_n;
        size_t hooks_n =
            rtm_webhooks_pollitems(b->webhooks, items + hooks_at, b->cap_items - hooks_at);
        size_t n = hooks_at + hooks_n;
        if (b->metrics)
            n += rtm_metrics_http_pollitems(b->metrics, items + n, b->cap_items - n);
        now = s_now_ms();
        long wait = b->next_hb_ms <= now ? 0 : (long)(b->next_hb_ms - now);
        long hooks = rtm_webhooks_wait_ms(b->webhooks, now);
        if (hooks >= 0 && hooks < wait)
            wait = hooks;
        if (zmq_poll(items, (int)n, wait < S_POLL_MS ? wait : S_POLL_MS) < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            rtm_log(RTM_LOG_ERROR, "event=poll_failed error=\"%s\"", zmq_strerror(err));
            return -err;
        }
        s_stalled(b, s_now_ms());
        /* peers first: a node may already route by a peer's heartbeat that
         * waits here too (a peer leaving), so take it in before judging what
         * the node sent */
        if (items[0].revents & ZMQ_POLLIN)
            s_drain_peers(b);
        now = s_now_ms();
        rtm_zserver_service(in, items + in_at, in_n, now);
        rtm_zserver_service(out, items + out_at, out_n, now);
        rtm_webhooks_service(b->webhooks, items + hooks_at, hooks_n, s_now_ms());
        if (b->metrics)
            rtm_metrics_http_service(b->metrics, items + hooks_at + hooks_n, n - hooks_at - hooks_n,
                                     s_now_ms());
        if (atomic_exchange(reload, 0)) {
            rtm_log(RTM_LOG_INFO, "event=reload source=\"%s\"", rtm_roster_what(b->roster));
            rtm_roster_reload(b->roster);
        }
        s_take_list(b);
        s_timers(b, s_now_ms());
        rtm_zserver_flush(in); /* the turn's replies and events: one write per peer */
        rtm_zserver_flush(out);
    }
    return 0;
}
