/* rtm_worker — see worker.h.
 *
 * Wiring: the egress hub (worker 0's) hands events and control messages to
 * each worker's channel table and heartbeats to its upstream, which reports
 * owner changes to the table; the channel table and the quota reach shards
 * through a route implemented here over upstream (and over the hub, for the
 * topics the table wants); the table's frames
 * go to connections through the sessions' sink; the connection set calls the
 * sessions. Shutdown runs on the worker's own thread: the main thread only
 * signals an async handle. Draining (before stopping) tells WebSocket
 * clients to reconnect and changes nothing else here: http_session refuses
 * upgrades and fails /readyz from the node's flag. Stopping, the worker
 * stops accepting, tells every WebSocket client still here to reconnect
 * elsewhere (4200), closes its ZeroMQ links
 * and its handles, and runs the loop until nothing is left, so
 * uv_loop_close can prove that every handle was closed. */
#define _GNU_SOURCE /* accept4, pthread_setname_np */
#include "worker.h"

#include "channels.h"
#include "conn.h"
#include "egress_hub.h"
#include "interest.h"
#include "rest_session.h"
#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_pusher.h"
#include "session.h"
#include "upstream.h"
#include "ws_session.h"

#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_TICK_MS       100
#define S_SWEEP_MIN_MS  250
#define S_BACKLOG       4096
#define S_STOP_GRACE_MS 1000 /* clients get this long to take their close frames */
#define S_EMFILE_MS     500  /* out of descriptors: accepting pauses this long */
#define S_ACCEPT_BUDGET 64   /* connections accepted per wake-up */

struct rtm_worker {
    int index;
    rtm_node_t *node; /* process context */
    uv_loop_t loop;
    int listen_fd;          /* this worker's SO_REUSEPORT listening socket */
    uv_poll_t listener;     /* readable: connections wait; stopped while paused */
    uint64_t resume_ms;     /* out of descriptors: accept again from then; 0 = accepting */
    uv_async_t drain_async; /* main thread asks the worker to drain */
    uv_async_t stop_async;  /* main thread asks the worker to stop */
    uv_timer_t tick;        /* the one timer; after stop, the grace period */
    uint32_t ticks;
    uint32_t sweep_every; /* ticks between session sweeps */
    bool stopping;
    rtm_metrics_t metrics;
    rtm_upstream_t up;
    rtm_egress_hub_t *hub; /* worker 0: the node's egress links; NULL elsewhere */
    uint64_t roster_gen;   /* generation of the broker list up (and hub) have */
    uint64_t unreachable;  /* channels_unreachable already logged */
    uint64_t held;         /* held_dropped already logged */
    uint64_t relay_lost;   /* relay_dropped already logged */
    rtm_upstream_events_t up_events;
    rtm_route_t route;
    rtm_channels_t *channels;
    rtm_sessions_t sessions;
    uv_thread_t thread;
    rtm_conns_t conns; /* last: holds the shared read buffer */
};

/* ---- the route: the domain's way to the owning shards ------------------ */

static int s_route_send(void *ctx, const rtm_wire_msg_t *msg)
{
    rtm_upstream_t *up = &((rtm_worker_t *)ctx)->up;
    int owner = rtm_upstream_owner(up, msg->app, msg->channel);
    return owner < 0 ? RTM_EUNAVAIL : rtm_upstream_send(up, (uint32_t)owner, msg);
}

static void s_route_request(void *ctx, rtm_wire_msg_t *msg, rtm_route_ack_fn cb, void *arg)
{
    rtm_upstream_t *up = &((rtm_worker_t *)ctx)->up;
    int owner = rtm_upstream_owner(up, msg->app, msg->channel);
    /* no live owner: the request to shard 0 fails and reports through cb */
    rtm_upstream_request(up, owner < 0 ? 0 : (uint32_t)owner, msg, cb, arg);
}

/* The hub learns what this worker wants before it hands it anything more:
 * worker 0 tells it at once, the others through its inbox, in order. */
static void s_route_subscribe(void *ctx, rtm_str_t topic, bool on)
{
    rtm_worker_t *w = ctx;
    if (w->hub) {
        rtm_egress_hub_want(w->hub, (unsigned)w->index, topic, on);
        return;
    }
    rtm_str_t none = rtm_str(NULL, 0);
    rtm_relay_msg_t *m = rtm_relay_msg_new(on ? RTM_RELAY_WANT : RTM_RELAY_DROP, topic, none, none);
    m->worker = (uint8_t)w->index;
    rtm_relay_batch_t b = {0};
    rtm_relay_batch_add(&b, m);
    rtm_relay_inbox_add(&w->node->wants, &b); /* closed: the node is stopping */
    rtm_relay_batch_free(&b);
}

/* The owner's rendezvous seed: stable across list changes, unlike its index. */
static uint64_t s_route_owner(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    rtm_upstream_t *up = &((rtm_worker_t *)ctx)->up;
    int owner = rtm_upstream_owner(up, app, channel);
    return owner < 0 ? 0 : up->seeds[owner] ? up->seeds[owner] : 1;
}

/* ---- what the egress hub and upstream report ---------------------------- */

/* What the node heard from a broker, in the order it heard it: whether it
 * was held on the wire is judged at the time the hub read it. */
static void s_on_relayed(void *ctx, const rtm_relay_msg_t *m)
{
    rtm_worker_t *w = ctx;
    uint64_t now = uv_now(&w->loop);
    bool held = m->kind != RTM_RELAY_HEARTBEAT && rtm_upstream_held(&w->up, m->broker, m->heard_ms);
    switch (m->kind) {
    case RTM_RELAY_EVENT:
        rtm_channels_event(w->channels, m->topic, m->exclude, m->frame, held, now);
        break;
    case RTM_RELAY_CONTROL: rtm_channels_control(w->channels, m->topic, m->body, held, now); break;
    case RTM_RELAY_HEARTBEAT: rtm_upstream_heartbeat(&w->up, m->body, m->heard_ms); break;
    default: break; /* WANT and DROP go to the hub */
    }
}

/* The hub dropped messages for this worker (it fell a whole inbox behind):
 * every channel they may have concerned is given up on, before anything
 * newer is handled. */
static void s_on_relay_lost(void *ctx, uint64_t dropped)
{
    rtm_worker_t *w = ctx;
    RTM_COUNT(&w->metrics, relay_dropped, dropped);
    rtm_channels_give_up_all(w->channels);
}

static void s_on_owners_changed(void *ctx)
{
    rtm_channels_owners_changed(((rtm_worker_t *)ctx)->channels);
}

static void s_resume_accepting(rtm_worker_t *w, uint64_t now);

/* ---- the tick ---------------------------------------------------------- */

/* A new broker list from the roster (SIGHUP, DNS): links follow it. A list
 * with a bad entry is refused whole (worker 0 logs why) and the last kept. */
static void s_take_brokers(rtm_worker_t *w)
{
    char *text;
    uint64_t gen = rtm_roster_take(w->node->roster, w->roster_gen, &text);
    if (!text)
        return;
    w->roster_gen = gen;
    rtm_brokers_t list;
    char err[512];
    if (rtm_brokers_parse(&list, text, strlen(text), '\n', rtm_roster_what(w->node->roster), err,
                          sizeof err) < 0) {
        if (w->index == 0)
            rtm_log(RTM_LOG_ERROR, "event=broker_list_refused error=\"%s\" action=kept_list", err);
    } else {
        rtm_upstream_set_brokers(&w->up, &list);
        if (w->hub)
            rtm_egress_hub_set_brokers(w->hub, &list);
        rtm_brokers_free(&list);
    }
    free(text);
}

/* Publishes the channel table's shares per broker for /metrics (served by
 * any worker). Seeds stand for brokers: the owner tokens of s_route_owner. */
static void s_report_shares(rtm_worker_t *w)
{
    const rtm_channels_share_t *share;
    size_t n = rtm_channels_shares(w->channels, &share), k = 0;
    for (size_t i = 0; i < n && k < RTM_METRICS_OWNERS; i++, k++)
        rtm_metrics_per_broker_set(&w->metrics.owned, k, share[i].owner, share[i].channels);
    __atomic_store_n(&w->metrics.owned.n, (uint64_t)k, __ATOMIC_RELAXED);
}

/* Publishes the requests waiting for each listed broker's ACK, the same way:
 * the pending table is the upstream's, which only this worker may read. */
static void s_report_pending(rtm_worker_t *w)
{
    uint64_t count[RTM_METRICS_OWNERS];
    size_t n = rtm_upstream_pending(&w->up, count, RTM_METRICS_OWNERS);
    for (size_t i = 0; i < n; i++)
        rtm_metrics_per_broker_set(&w->metrics.pending, i, w->up.seeds[i], count[i]);
    __atomic_store_n(&w->metrics.pending.n, (uint64_t)n, __ATOMIC_RELAXED);
}

/* Logs a counter's growth since it was last logged, if any:
 * "worker=N <what>=<growth> total=<total><tail>"; *logged follows it. */
static void s_log_growth(const rtm_worker_t *w, uint64_t *logged, uint64_t total, const char *what,
                         const char *tail)
{
    if (total == *logged)
        return;
    rtm_log(RTM_LOG_WARN, "worker=%d %s=%llu total=%llu%s", w->index, what,
            (unsigned long long)(total - *logged), (unsigned long long)total, tail);
    *logged = total;
}

static void s_on_tick(uv_timer_t *t)
{
    rtm_worker_t *w = t->data;
    if (w->stopping) { /* the grace period is over: cut what is still draining */
        rtm_conns_abort_all(&w->conns);
        uv_close((uv_handle_t *)t, NULL);
        return;
    }
    uint64_t now = uv_now(&w->loop);
    s_take_brokers(w);
    rtm_upstream_tick(&w->up);
    if (w->hub)
        rtm_egress_hub_tick(w->hub);
    rtm_rest_session_tick(&w->sessions);
    rtm_channels_tick(w->channels, now);
    s_report_shares(w);
    s_report_pending(w);
    s_log_growth(w, &w->unreachable, w->metrics.channels_unreachable,
                 "event=owner_unreachable channels", " action=clients_reconnect");
    s_log_growth(w, &w->held, w->metrics.held_dropped, "event=held_dropped messages", "");
    s_log_growth(w, &w->relay_lost, w->metrics.relay_dropped, "event=relay_overflow messages",
                 " action=clients_reconnect");
    if (w->index == 0)
        rtm_quota_tick(w->node->quota, &w->route);
    if (++w->ticks % w->sweep_every == 0)
        rtm_conns_sweep(&w->conns, now, rtm_session_sweep);
    s_resume_accepting(w, now);
    __atomic_store_n(&w->node->ready[w->index], rtm_upstream_ready(&w->up), __ATOMIC_RELAXED);
    __atomic_store_n(&w->node->mismatched[w->index], (int)rtm_upstream_mismatched(&w->up),
                     __ATOMIC_RELAXED);
}

/* ---- accepting and stopping -------------------------------------------- */

static void s_close_handle(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void s_on_connection(uv_poll_t *h, int status, int events);

/* Out of file descriptors: stop accepting for a moment rather than spin on
 * a listener that stays readable. New connections wait in the kernel's
 * backlog (or go to other workers and nodes on the port), the clients
 * already here are served on, and the tick resumes accepting. */
static void s_pause_accepting(rtm_worker_t *w, int err)
{
    RTM_COUNT_ERR(&w->metrics, RTM_ERR_ACCEPT_PAUSED);
    rtm_log(RTM_LOG_WARN, "worker=%d event=accept_paused error=\"%s\" pause_ms=%d", w->index,
            strerror(err), S_EMFILE_MS);
    uv_poll_stop(&w->listener);
    w->resume_ms = uv_now(&w->loop) + S_EMFILE_MS;
}

static void s_resume_accepting(rtm_worker_t *w, uint64_t now)
{
    if (!w->resume_ms || now < w->resume_ms)
        return;
    w->resume_ms = 0;
    uv_poll_start(&w->listener, UV_READABLE, s_on_connection);
}

/* Accepts what is waiting, a bounded number per wake-up. */
static void s_on_connection(uv_poll_t *h, int status, int events)
{
    rtm_worker_t *w = h->data;
    for (int i = 0; i < S_ACCEPT_BUDGET && status == 0; i++) {
        int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            rtm_conns_adopt(&w->conns, fd);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            s_pause_accepting(w, errno);
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED &&
                 errno != EINTR && errno != EPROTO)
            rtm_log(RTM_LOG_WARN, "worker=%d event=accept_failed error=\"%s\"", w->index,
                    strerror(errno));
        if (errno != ECONNABORTED && errno != EINTR && errno != EPROTO)
            return;
    }
}

/* A listening socket of our own with SO_REUSEPORT (libuv 1.44 has no flag
 * for it), so every worker accepts on the same port; polled, not handed to
 * uv_listen, so that accepting can pause while descriptors run out. */
static int s_listen(rtm_worker_t *w)
{
    const rtm_node_options_t *opt = &w->node->opt;
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(opt->host, (int)opt->port, (struct sockaddr_in *)&addr);
    if (rc < 0)
        rc = uv_ip6_addr(opt->host, (int)opt->port, (struct sockaddr_in6 *)&addr);
    if (rc < 0)
        return rc;
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return uv_translate_sys_error(errno);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    socklen_t len =
        addr.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (bind(fd, (struct sockaddr *)&addr, len) < 0 || listen(fd, S_BACKLOG) < 0) {
        rc = uv_translate_sys_error(errno);
        close(fd);
        return rc;
    }
    w->listen_fd = fd;
    uv_poll_init(&w->loop, &w->listener, fd);
    w->listener.data = w;
    return uv_poll_start(&w->listener, UV_READABLE, s_on_connection);
}

static void s_on_listener_closed(uv_handle_t *h)
{
    rtm_worker_t *w = h->data;
    close(w->listen_fd);
    w->listen_fd = -1;
}

static void s_tell_reconnect(rtm_conn_t *c, void *arg)
{
    rtm_ws_session_close(rtm_session_of(c), RTM_PUSHER_RECONNECT, "Server shutting down");
}

static void s_tell_ws_reconnect(rtm_conn_t *c, void *arg)
{
    if (rtm_session_of(c)->kind == RTM_SESSION_WS)
        s_tell_reconnect(c, arg);
}

/* Draining: WebSocket clients go elsewhere now; HTTP (REST, probes) goes on. */
static void s_on_drain(uv_async_t *a)
{
    rtm_worker_t *w = a->data;
    rtm_conns_each(&w->conns, s_tell_ws_reconnect, NULL);
}

static void s_on_stop(uv_async_t *a)
{
    rtm_worker_t *w = a->data;
    w->stopping = true;
    rtm_conns_each(&w->conns, s_tell_reconnect, NULL);
    rtm_conns_stop(&w->conns);
    rtm_upstream_close(&w->up);
    if (w->hub)
        rtm_egress_hub_close(&w->hub);
    else
        rtm_relay_inbox_close(&w->node->inbox[w->index]);
    uv_close((uv_handle_t *)&w->listener, s_on_listener_closed);
    uv_close((uv_handle_t *)&w->stop_async, NULL);
    uv_close((uv_handle_t *)&w->drain_async, NULL);
    uv_timer_start(&w->tick, s_on_tick, S_STOP_GRACE_MS, 0);
    uv_unref((uv_handle_t *)&w->tick); /* the loop ends early if everything closed */
}

/* Frees what s_wire made but the connections. */
static void s_unwire(rtm_worker_t *w)
{
    rtm_channels_destroy(&w->channels);
    rtm_deflate_destroy(&w->sessions.deflate);
    free(w->sessions.inflated);
    w->sessions.inflated = NULL;
}

static void s_run(void *arg)
{
    rtm_worker_t *w = arg;
    char name[16]; /* the kernel's limit: what top -H and perf show per thread */
    snprintf(name, sizeof name, "rtm-worker-%d", w->index);
    pthread_setname_np(pthread_self(), name);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_walk(&w->loop, s_close_handle, NULL); /* the unreferenced tick timer */
    uv_run(&w->loop, UV_RUN_DEFAULT);
    rtm_conns_release(&w->conns); /* frees connections closed while queued */
    rtm_rest_session_free_spares(&w->sessions);
    s_unwire(w);
    int rc = uv_loop_close(&w->loop);
    if (rc < 0)
        rtm_log(RTM_LOG_ERROR, "worker=%d event=loop_not_closed error=\"%s\"", w->index,
                uv_strerror(rc));
}

/* Ticks between sweeps: a quarter of the shortest deadline they enforce. */
static uint32_t s_sweep_every(const rtm_node_options_t *opt)
{
    const long deadlines[] = {opt->pong_timeout, opt->user_auth_timeout, opt->handshake_timeout,
                              opt->http_idle_timeout};
    long shortest = opt->activity_timeout;
    for (size_t i = 0; i < sizeof deadlines / sizeof deadlines[0]; i++)
        if (deadlines[i] < shortest)
            shortest = deadlines[i];
    long period = shortest * 1000 / 4;
    if (period < S_SWEEP_MIN_MS)
        period = S_SWEEP_MIN_MS;
    return (uint32_t)(period / S_TICK_MS);
}

static void s_wire(rtm_worker_t *w)
{
    w->up_events = (rtm_upstream_events_t){w, s_on_owners_changed};
    w->route = (rtm_route_t){w, s_route_send, s_route_request, s_route_subscribe, s_route_owner};
    rtm_deflate_t *deflate = rtm_deflate_new();
    w->channels = rtm_channels_new(&w->route, &rtm_session_sink, &w->metrics, deflate);
    uint8_t *inflated = malloc(RTM_WS_SESSION_MAX_MESSAGE);
    if (!inflated)
        abort();
    uint32_t r;
    RAND_bytes((unsigned char *)&r, sizeof r);
    w->sessions = (rtm_sessions_t){.node = w->node,
                                   .loop = &w->loop,
                                   .metrics = &w->metrics,
                                   .up = &w->up,
                                   .channels = w->channels,
                                   .deflate = deflate,
                                   .inflated = inflated,
                                   .sid_prefix = r};
    rtm_conns_init(&w->conns, &w->loop, sizeof(rtm_session_t), &rtm_session_events,
                   (size_t)w->node->opt.max_outbound_kb * 1024, &w->metrics);
    w->conns.data = &w->sessions;
    w->conns.tls = w->node->tls;
}

/* Worker 0 hears the brokers' egress for the node (the hub); the others
 * open their inbox for what it hands them. */
static int s_start_relay(rtm_worker_t *w)
{
    _Static_assert(RTM_NODE_MAX_WORKERS <= RTM_INTEREST_MAX_WORKERS, "a bit per worker");
    rtm_node_t *node = w->node;
    if (w->index != 0) {
        rtm_relay_inbox_limit(&node->inbox[w->index], RTM_RELAY_INBOX_MAX_BYTES, s_on_relay_lost);
        return rtm_relay_inbox_open(&node->inbox[w->index], &w->loop, s_on_relayed, w);
    }
    rtm_egress_hub_opts_t o = {.loop = &w->loop,
                               .keys = &node->keys,
                               .inboxes = node->inbox,
                               .wants = &node->wants,
                               .n_workers = (unsigned)node->opt.workers,
                               .self = 0,
                               .handle = s_on_relayed,
                               .ctx = w,
                               .metrics = &w->metrics};
    return rtm_egress_hub_new(&o, &node->brokers, &w->hub);
}

int rtm_worker_create(rtm_node_t *node, int index, rtm_worker_t **out)
{
    *out = NULL;
    rtm_worker_t *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->index = index;
    w->node = node;
    w->listen_fd = -1;
    w->metrics.n_apps = node->apps.n;
    w->metrics.apps = calloc(node->apps.n ? node->apps.n : 1, sizeof *w->metrics.apps);
    if (!w->metrics.apps)
        abort();
    node->metrics[index] = &w->metrics;
    uv_loop_init(&w->loop);
    w->loop.data = w;
    s_wire(w);
    char id[32];
    snprintf(id, sizeof id, "%llu-w%d", (unsigned long long)w->sessions.sid_prefix, index);
    int rc = s_listen(w);
    if (rc == 0)
        rc = rtm_upstream_start(&w->up, &w->loop, &node->brokers, &node->keys, id, &w->up_events,
                                &w->metrics);
    if (rc == 0)
        rc = s_start_relay(w);
    w->roster_gen = node->brokers_gen;
    if (rc < 0) {
        rtm_log(RTM_LOG_ERROR, "worker=%d event=start_failed error=\"%s\"", index,
                rtm_strerror(rc));
        node->metrics[index] = NULL;
        uv_walk(&w->loop, s_close_handle, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        if (w->listen_fd >= 0)
            close(w->listen_fd);
        s_unwire(w);
        free(w->metrics.apps);
        free(w);
        return rc;
    }
    uv_async_init(&w->loop, &w->stop_async, s_on_stop);
    w->stop_async.data = w;
    uv_async_init(&w->loop, &w->drain_async, s_on_drain);
    w->drain_async.data = w;
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    w->sweep_every = s_sweep_every(&node->opt);
    uv_timer_start(&w->tick, s_on_tick, 0, S_TICK_MS);
    *out = w;
    return 0;
}

void rtm_worker_run(rtm_worker_t *w)
{
    if (uv_thread_create(&w->thread, s_run, w) < 0)
        abort();
}

void rtm_worker_drain(rtm_worker_t *w)
{
    uv_async_send(&w->drain_async);
}

void rtm_worker_stop(rtm_worker_t **wp)
{
    rtm_worker_t *w = *wp;
    if (!w)
        return;
    uv_async_send(&w->stop_async);
    uv_thread_join(&w->thread);
    free(w->metrics.apps);
    free(w);
    *wp = NULL;
}
