/* rtmesh — librtmesh's handle: the public API of rtmesh.h over an I/O thread.
 *
 * The I/O thread owns every broker socket (links.c) so that liveness stays
 * current between calls: a service that publishes once a minute must still
 * route to the brokers that are live now, not to those that were a minute
 * ago. A call hands the thread a request on the stack of the caller (which
 * blocks) through an inproc PAIR and waits for the one-byte answer; the
 * mutex makes calls on one handle take turns, so the thread has at most one
 * request and nothing queues without bound. The thread answers every request
 * by its deadline.
 *
 * A publish tracks each channel of each event: to route, in flight (the id of
 * the PUBLISH that carries it and the broker it went to), or done. Channels
 * of one event with the same owner share one PUBLISH; a refusal because the
 * owner moved puts them back to route (after a short pause, within the
 * timeout); any other refusal fails the event with the broker's reason. */
#include "rtmesh.h"

#include "links.h"
#include "route.h"
#include "rtm_error.h"
#include "rtm_roster.h"
#include "rtm_wire.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define S_TIMEOUT_MS  3000 /* default per call */
#define S_RETRY_MS    50   /* a moved channel is routed again this much later */
#define S_POLL_IDLE   100  /* longest wait of the I/O thread without a request */
#define S_POLL_BUSY   10   /* ... with one (retries and the start-up wait) */
#define S_MAX_BROKERS 256  /* poll items per turn (more are still heard, later) */

enum { S_TO_ROUTE = 0, S_DONE = UINT64_MAX }; /* channel states besides an in-flight id */

typedef struct {
    const rtmesh_event_t *ev;              /* the caller's, borrowed while it waits */
    uint64_t state[RTMESH_MAX_CHANNELS];   /* S_TO_ROUTE, an in-flight id, or S_DONE */
    uint64_t conn_no[RTMESH_MAX_CHANNELS]; /* where an in-flight channel went */
    uint64_t retry_at;                     /* no routing before this */
    int status;                            /* 1 while unfinished, then the result */
    bool blocked;                          /* a send was refused: the owner takes nothing now */
    char reason[256];                      /* why it failed */
} s_event_t;

typedef enum { S_PUBLISH, S_QUERY, S_BROKERS } s_kind_t;

typedef struct {
    s_kind_t what;   /* what the request asks */
    const char *app; /* borrowed */
    s_event_t events[RTMESH_MAX_BATCH];
    size_t n;
    const char *identity;       /* QUERY: the broker */
    unsigned kind;              /* QUERY: its kind */
    const char *channel;        /* QUERY: its channel or prefix */
    uint64_t query_id;          /* QUERY: in flight when non-zero */
    char *json;                 /* QUERY: the answer, owned until handed over */
    int status;                 /* QUERY: 1 while unfinished */
    rtmesh_broker_info_t *info; /* BROKERS: the caller's array of cap entries */
    size_t cap, listed;         /* BROKERS: its size; brokers listed */
    unsigned long long digest;  /* BROKERS: our list's digest */
    uint64_t deadline;          /* set by the thread when it takes the request */
    int timeout_ms;
} s_request_t;

struct rtmesh {
    void *zctx;
    rtm_roster_t *roster;
    rtm_tier_keys_t keys;
    rtm_client_links_t links; /* the I/O thread's */
    void *api;                /* PAIR, the callers' end; guarded by mu */
    void *pipe;               /* PAIR, the thread's end */
    pthread_mutex_t mu;
    pthread_t thread;
    uint64_t next_id;    /* the thread's request ids */
    uint64_t started_ms; /* when the thread started: the start-up wait */
    int timeout_ms;
};

static uint64_t s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int rtmesh_version(void)
{
    return RTMESH_VERSION;
}

const char *rtmesh_strerror(int code)
{
    switch (code) {
    case RTMESH_OK: return "ok";
    case RTMESH_EINVAL: return "invalid argument";
    case RTMESH_ETOOBIG: return "over the app's limit";
    case RTMESH_ENOAPP: return "unknown app";
    case RTMESH_EAUTH: return "not authorised";
    case RTMESH_ENOOWNER: return "no live broker owns the channel";
    case RTMESH_ETIMEDOUT: return "timed out";
    case RTMESH_EAGAIN: return "back-pressure: the broker's queue is full";
    case RTMESH_ECONFIG: return "bad configuration";
    case RTMESH_EPROTO: return "protocol error";
    default: return "unknown error";
    }
}

/* ---- the I/O thread: publishing ---------------------------------------- */

static void s_fail(s_event_t *e, int status, const char *reason)
{
    e->status = status;
    snprintf(e->reason, sizeof e->reason, "%s",
             reason && *reason ? reason : rtmesh_strerror(status));
}

/* Whether a broker refused our handshake lately: then a broker that stays
 * silent is one that does not let us in, not one that is down. */
static bool s_refused(const rtmesh_t *h, uint64_t now)
{
    return h->links.refused_ms && now - h->links.refused_ms < 2 * RTM_WIRE_DEAD_MS;
}

static const char *s_refusal(const rtmesh_t *h)
{
    return h->links.refused_auth
               ? "the brokers refused this service's CURVE key (not in their --curve-allow)"
               : "CURVE handshake with the brokers failed (plain text against CURVE, or the "
                 "wrong --curve-broker)";
}

/* At start the brokers are not heard yet: wait (within the deadline) until
 * every listed one is, or until a silent one would be dead anyway. */
static bool s_settled(const rtmesh_t *h, uint64_t now)
{
    if (now - h->started_ms >= RTM_WIRE_DEAD_MS)
        return true;
    for (uint32_t i = 0; i < h->links.list.n; i++)
        if (!rtm_client_link_live(&h->links.conns[i]->st, now))
            return false;
    return true;
}

/* Sends one PUBLISH per owner for the channels of e that need routing. */
static void s_event_progress(rtmesh_t *h, const s_request_t *r, s_event_t *e, uint64_t now)
{
    rtm_client_links_t *l = &h->links;
    const rtmesh_event_t *ev = e->ev;
    bool to_route = false, done = true;
    for (size_t i = 0; i < ev->n_channels; i++) {
        if (e->state[i] != S_TO_ROUTE && e->state[i] != S_DONE &&
            !rtm_client_links_by_no(l, e->conn_no[i]))
            e->state[i] = S_TO_ROUTE; /* its broker was unlisted: its answer never comes */
        to_route |= e->state[i] == S_TO_ROUTE;
        done &= e->state[i] == S_DONE;
    }
    if (done) {
        e->status = 0;
        return;
    }
    if (!to_route || now < e->retry_at || !s_settled(h, now))
        return;
    uint32_t n = l->list.n;
    rtm_client_link_t st[S_MAX_BROKERS];
    uint32_t m = n < S_MAX_BROKERS ? n : S_MAX_BROKERS;
    for (uint32_t k = 0; k < m; k++)
        st[k] = l->conns[k]->st;
    int owner[RTMESH_MAX_CHANNELS];
    for (size_t i = 0; i < ev->n_channels; i++) {
        owner[i] = -1;
        if (e->state[i] != S_TO_ROUTE)
            continue;
        owner[i] = rtm_client_owner(rtm_str_cstr(r->app), rtm_str_cstr(ev->channels[i]), st,
                                    l->list.seeds, l->alive, m, now);
        if (owner[i] < 0) { /* nobody to send it to now: try again shortly */
            e->retry_at = now + S_RETRY_MS;
            return;
        }
    }
    for (uint32_t k = 0; k < m; k++) {
        rtm_wire_msg_t msg = {.type = RTM_WIRE_PUBLISH,
                              .id = ++h->next_id,
                              .app = rtm_str_cstr(r->app),
                              .name = rtm_str_cstr(ev->name),
                              .data = rtm_str(ev->data, ev->data_len),
                              .exclude = rtm_str_cstr(ev->socket_id ? ev->socket_id : ""),
                              .beat = l->conns[k]->st.beat}; /* refused by a broker stalled since */
        for (size_t i = 0; i < ev->n_channels; i++)
            if (owner[i] == (int)k)
                msg.channels[msg.n_channels++] = rtm_str_cstr(ev->channels[i]);
        if (msg.n_channels == 0)
            continue;
        int rc = rtm_client_links_send(l->conns[k], &msg);
        if (rc == RTM_EUNAVAIL) {
            /* its queue is full, or it just went away (not dead to us yet):
             * nothing is queued; try again until the deadline, which then
             * reports back-pressure rather than a timeout */
            snprintf(e->reason, sizeof e->reason,
                     "back-pressure: broker %s took no request within the timeout",
                     l->conns[k]->identity);
            e->blocked = true;
            e->retry_at = now + S_RETRY_MS;
            continue;
        }
        if (rc < 0) {
            s_fail(e, rc == RTM_ETOOBIG || rc == RTM_EINVAL ? RTMESH_ETOOBIG : RTMESH_EPROTO,
                   rc == RTM_ETOOBIG || rc == RTM_EINVAL ? "event does not fit in one message"
                                                         : zmq_strerror(-rc));
            return;
        }
        e->blocked = false;
        for (size_t i = 0; i < ev->n_channels; i++)
            if (owner[i] == (int)k) {
                e->state[i] = msg.id;
                e->conn_no[i] = l->conns[k]->no;
            }
    }
}

/* An ACK for the request: settles the channels its id carried. */
static void s_on_ack(s_request_t *r, const rtm_wire_msg_t *ack, uint64_t now)
{
    if (r->what == S_QUERY) {
        if (r->query_id != ack->id || r->status != 1)
            return;
        r->status = rtm_client_error(ack->status);
        if (r->status == 0 && !(r->json = strndup(ack->json.p ? ack->json.p : "", ack->json.len)))
            abort();
        return;
    }
    for (size_t e = 0; r->what == S_PUBLISH && e < r->n; e++) {
        s_event_t *ev = &r->events[e];
        if (ev->status != 1)
            continue;
        for (size_t i = 0; i < ev->ev->n_channels; i++) {
            if (ev->state[i] != ack->id)
                continue;
            if (ack->status == 0) {
                ev->state[i] = S_DONE;
            } else if (rtm_client_retryable(ack->status)) {
                ev->state[i] = S_TO_ROUTE; /* the owner moved: route it again */
                ev->retry_at = now + S_RETRY_MS;
            } else {
                char why[256];
                snprintf(why, sizeof why, "%.*s", (int)ack->reason.len,
                         ack->reason.p ? ack->reason.p : "");
                s_fail(ev, rtm_client_error(ack->status), why);
                return;
            }
        }
    }
}

static void s_query_progress(rtmesh_t *h, s_request_t *r, uint64_t now)
{
    if (r->query_id || !s_settled(h, now))
        return;
    rtm_client_conn_t *c = rtm_client_links_find(&h->links, r->identity);
    if (!c) {
        r->status = RTMESH_EINVAL; /* not a listed broker */
        return;
    }
    rtm_wire_msg_t q = {.type = RTM_WIRE_QUERY,
                        .id = ++h->next_id,
                        .app = rtm_str_cstr(r->app),
                        .kind = r->kind,
                        .channel = rtm_str_cstr(r->channel ? r->channel : "")};
    if (rtm_client_links_send(c, &q) < 0) {
        r->status = RTMESH_ENOOWNER; /* not connected */
        return;
    }
    r->query_id = q.id;
}

/* Copies what the thread knows of each listed broker for the caller. */
static bool s_brokers(rtmesh_t *h, s_request_t *r, uint64_t now)
{
    const rtm_client_links_t *l = &h->links;
    r->listed = l->list.n;
    r->digest = l->list.digest;
    for (size_t i = 0; i < r->listed && i < r->cap; i++) {
        const rtm_client_conn_t *c = l->conns[i];
        rtmesh_broker_info_t *b = &r->info[i];
        memset(b, 0, sizeof *b);
        snprintf(b->identity, sizeof b->identity, "%s", c->identity);
        b->live = rtm_client_link_live(&c->st, now);
        b->heard = rtm_wire_live(c->st.last_hb_ms, now);
        b->answers = rtm_wire_live(c->st.last_reply_ms, now);
        b->epoch = c->st.epoch;
        b->digest = c->st.digest;
        b->list_mismatch = c->st.digest && c->st.digest != l->list.digest;
        b->webhooks_held = (unsigned)c->st.held;
        b->heard_ms = c->st.last_hb_ms ? now - c->st.last_hb_ms : 0;
    }
    return s_settled(h, now) || now >= r->deadline; /* a fresh handle: wait to hear them */
}

/* Advances the request; true when it is finished (every event has a result). */
static bool s_progress(rtmesh_t *h, s_request_t *r, uint64_t now)
{
    bool late = now >= r->deadline;
    if (r->what == S_BROKERS)
        return s_brokers(h, r, now);
    if (r->what == S_QUERY) {
        if (r->status == 1)
            s_query_progress(h, r, now);
        if (r->status == 1 && late)
            r->status = s_refused(h, now) ? RTMESH_EAUTH
                        : r->query_id     ? RTMESH_ETIMEDOUT
                                          : RTMESH_ENOOWNER;
        return r->status != 1;
    }
    bool finished = true;
    for (size_t e = 0; e < r->n; e++) {
        s_event_t *ev = &r->events[e];
        if (ev->status == 1)
            s_event_progress(h, r, ev, now);
        if (ev->status == 1 && late) {
            bool routed = true;
            for (size_t i = 0; i < ev->ev->n_channels; i++)
                routed &= ev->state[i] != S_TO_ROUTE;
            if (ev->blocked) /* reason already says why */
                ev->status = RTMESH_EAGAIN;
            else if (s_refused(h, now))
                s_fail(ev, RTMESH_EAUTH, s_refusal(h));
            else
                s_fail(ev, routed ? RTMESH_ETIMEDOUT : RTMESH_ENOOWNER, NULL);
        }
        finished &= ev->status != 1;
    }
    return finished;
}

/* ---- the I/O thread: the loop ------------------------------------------ */

static void s_drain_dealers(rtmesh_t *h, s_request_t *r, uint64_t now)
{
    for (uint32_t i = 0; i < h->links.list.n; i++) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        rtm_wire_msg_t ack;
        while (rtm_client_links_recv(&h->links, h->links.conns[i], now, &frame, &ack) == 1)
            if (r)
                s_on_ack(r, &ack, now);
        zmq_msg_close(&frame);
    }
}

static void s_answer(rtmesh_t *h)
{
    zmq_send(h->pipe, "", 1, 0);
}

static void *s_thread(void *arg)
{
    rtmesh_t *h = arg;
    s_request_t *r = NULL;
    zmq_pollitem_t items[S_MAX_BROKERS + 3];
    for (;;) {
        uint64_t now = s_now();
        rtm_client_links_tick(&h->links, now);
        if (r && s_progress(h, r, now)) {
            r = NULL;
            s_answer(h);
        }
        uint32_t n = h->links.list.n < S_MAX_BROKERS ? h->links.list.n : S_MAX_BROKERS;
        items[0] = (zmq_pollitem_t){.socket = h->pipe, .events = ZMQ_POLLIN};
        items[1] = (zmq_pollitem_t){.socket = h->links.sub, .events = ZMQ_POLLIN};
        items[2] = (zmq_pollitem_t){.socket = h->links.monitor, .events = ZMQ_POLLIN};
        for (uint32_t i = 0; i < n; i++)
            items[3 + i] =
                (zmq_pollitem_t){.socket = h->links.conns[i]->dealer, .events = ZMQ_POLLIN};
        if (zmq_poll(items, (int)n + 3, r ? S_POLL_BUSY : S_POLL_IDLE) < 0 && errno != EINTR)
            break; /* the context is gone: not reached while the handle lives */
        now = s_now();
        rtm_client_links_drain_sub(&h->links, now);
        s_drain_dealers(h, r, now);
        if (items[0].revents & ZMQ_POLLIN) {
            s_request_t *got = NULL;
            if (zmq_recv(h->pipe, &got, sizeof got, 0) != sizeof got || !got)
                break; /* rtmesh_destroy */
            r = got;
            r->deadline = now + (uint64_t)r->timeout_ms;
        }
    }
    return NULL;
}

/* Runs r on the I/O thread and waits for it to finish. */
static void s_run(rtmesh_t *h, s_request_t *r)
{
    r->timeout_ms = h->timeout_ms;
    pthread_mutex_lock(&h->mu);
    zmq_send(h->api, &r, sizeof r, 0);
    char done;
    zmq_recv(h->api, &done, 1, 0);
    pthread_mutex_unlock(&h->mu);
}

/* ---- the API ------------------------------------------------------------ */

static const char *s_opt(const char *value, const char *env)
{
    if (value && *value)
        return value;
    const char *e = getenv(env);
    return e && *e ? e : NULL;
}

int rtmesh_new(const rtmesh_options_t *opt, rtmesh_t **out, char *err, size_t err_len)
{
    rtmesh_options_t none = {0};
    opt = opt ? opt : &none;
    *out = NULL;
    const char *brokers = s_opt(opt->brokers, "RTMESH_BROKERS");
    const char *file = s_opt(opt->brokers_file, "RTMESH_BROKERS_FILE");
    if (!brokers && !file)
        return rtm_error_fmt(err, err_len, RTMESH_ECONFIG,
                             "brokers: none given (--brokers / RTMESH_BROKERS or "
                             "--brokers-file / RTMESH_BROKERS_FILE)");
    if (opt->timeout_ms < 0)
        return rtm_error_fmt(err, err_len, RTMESH_ECONFIG, "timeout_ms: must not be negative");
    rtmesh_t *h = calloc(1, sizeof *h);
    if (!h)
        abort();
    h->timeout_ms = opt->timeout_ms ? opt->timeout_ms : S_TIMEOUT_MS;
    if (rtm_tier_keys_load(&h->keys, s_opt(opt->curve_secret, "RTMESH_CURVE_SECRET"),
                           "curve_secret (RTMESH_CURVE_SECRET)",
                           s_opt(opt->curve_broker, "RTMESH_CURVE_BROKER"),
                           "curve_broker (RTMESH_CURVE_BROKER)", true, err, err_len) < 0 ||
        !(h->roster = rtm_roster_new(brokers, file, err, err_len))) {
        free(h);
        return RTMESH_ECONFIG;
    }
    if (!(h->zctx = zmq_ctx_new()))
        abort();
    if (rtm_client_links_init(&h->links, h->zctx, h->roster, &h->keys, err, err_len) < 0) {
        zmq_ctx_term(h->zctx);
        rtm_roster_destroy(&h->roster);
        free(h);
        return RTMESH_ECONFIG;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://rtmesh-%p", (void *)h);
    h->pipe = zmq_socket(h->zctx, ZMQ_PAIR);
    h->api = zmq_socket(h->zctx, ZMQ_PAIR);
    if (!h->pipe || !h->api || zmq_bind(h->pipe, ep) < 0 || zmq_connect(h->api, ep) < 0)
        abort(); /* inproc fails only without memory */
    pthread_mutex_init(&h->mu, NULL);
    h->started_ms = s_now();
    if (pthread_create(&h->thread, NULL, s_thread, h) != 0)
        abort();
    *out = h;
    return 0;
}

void rtmesh_reload(rtmesh_t *h)
{
    rtm_roster_reload(h->roster);
}

void rtmesh_destroy(rtmesh_t **hp)
{
    rtmesh_t *h = hp ? *hp : NULL;
    if (!h)
        return;
    void *stop = NULL;
    zmq_send(h->api, &stop, sizeof stop, 0);
    pthread_join(h->thread, NULL);
    rtm_client_links_close(&h->links);
    zmq_close(h->api);
    zmq_close(h->pipe);
    zmq_ctx_term(h->zctx);
    rtm_roster_destroy(&h->roster);
    pthread_mutex_destroy(&h->mu);
    memset(&h->keys, 0, sizeof h->keys); /* no secret left in freed memory */
    free(h);
    *hp = NULL;
}

int rtmesh_publish_batch(rtmesh_t *h, const char *app_id, const rtmesh_event_t *evs, size_t n,
                         char *reason, size_t reason_len)
{
    if (!h || !app_id || !*app_id || !evs || n == 0)
        return rtm_error_fmt(reason, reason_len, RTMESH_EINVAL, "no app or no event");
    if (n > RTMESH_MAX_BATCH)
        return rtm_error_fmt(reason, reason_len, RTMESH_ETOOBIG,
                             "batch: %zu events is over the limit of %d", n, RTMESH_MAX_BATCH);
    s_request_t *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->app = app_id;
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        int rc = rtm_client_check_event(&evs[i], n > 1 ? (long)i : -1, reason, reason_len);
        if (rc < 0) {
            free(r);
            return rc;
        }
        r->events[i].ev = &evs[i];
        r->events[i].status = 1;
    }
    s_run(h, r);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if ((rc = r->events[i].status) < 0 && reason_len)
            snprintf(reason, reason_len, "%s", r->events[i].reason);
    free(r);
    return rc;
}

int rtmesh_publish(rtmesh_t *h, const char *app_id, const rtmesh_event_t *ev, char *reason,
                   size_t reason_len)
{
    return rtmesh_publish_batch(h, app_id, ev, ev ? 1 : 0, reason, reason_len);
}

size_t rtmesh_brokers(rtmesh_t *h, rtmesh_broker_info_t *out, size_t cap,
                      unsigned long long *digest)
{
    s_request_t r = {.what = S_BROKERS, .info = out, .cap = out ? cap : 0};
    s_run(h, &r);
    if (digest)
        *digest = r.digest;
    return r.listed;
}

int rtmesh_query(rtmesh_t *h, const char *identity, const char *app_id, unsigned kind,
                 const char *channel, char **json)
{
    *json = NULL;
    if (!h || !identity || !app_id || !*app_id)
        return RTMESH_EINVAL;
    s_request_t r = {.what = S_QUERY,
                     .app = app_id,
                     .identity = identity,
                     .kind = kind,
                     .channel = channel,
                     .status = 1};
    s_run(h, &r);
    *json = r.json;
    return r.status;
}
