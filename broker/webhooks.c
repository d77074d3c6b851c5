/* webhooks — see webhooks.h.
 *
 * Targets are the apps' webhook entries flattened into one array, each app's
 * contiguous (app_first[i] .. app_first[i + 1]), so a change looks only at
 * its app's entries. A target's fixed header lines (Content-Type,
 * X-Pusher-Key, the configured extras — which the apps file cannot make
 * collide with ours) are built once; the signature line is computed per
 * attempt over the exact body bytes. Problems with receivers are logged at
 * most once per second per kind, naming the app and the webhook's index —
 * never its URL, which may carry a token. */
#include "webhooks.h"

#include "rtm_auth.h"
#include "rtm_log.h"
#include "rtm_webhook.h"
#include "webhook_http.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_WARN_EVERY_MS 1000

typedef struct {
    const rtm_app_t *app;     /* borrowed */
    const rtm_webhook_t *cfg; /* borrowed: url, kinds, filter */
    size_t index;             /* in the app's webhooks */
    char **lines;             /* n_lines fixed header lines, owned (+1 free slot: signature) */
    size_t n_lines;
} s_target_t;

struct rtm_webhooks {
    const rtm_apps_t *apps;     /* borrowed */
    s_target_t *targets;        /* n_targets */
    uint32_t n_targets;         /* over all apps */
    size_t *app_first;          /* apps->n + 1 offsets into targets */
    rtm_webhook_queue_t *queue; /* what is left to deliver */
    rtm_webhook_http_t *http;   /* the transport */
    uint64_t now_ms;            /* of the current service call */
    rtm_log_limit_t warn;       /* problem lines: one per S_WARN_EVERY_MS */
};

static uint64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define s_warn(wh, now_ms, ...) rtm_log_limited(&(wh)->warn, (now_ms), RTM_LOG_WARN, __VA_ARGS__)

static char *s_line(const char *name, const char *value)
{
    char *line = malloc(strlen(name) + 2 + strlen(value) + 1);
    if (!line)
        abort();
    sprintf(line, "%s: %s", name, value);
    return line;
}

static void s_init_target(s_target_t *t, const rtm_app_t *app, size_t index)
{
    t->app = app;
    t->cfg = &app->webhooks[index];
    t->index = index;
    t->lines = calloc(t->cfg->n_headers + 3, sizeof *t->lines);
    if (!t->lines)
        abort();
    t->lines[t->n_lines++] = s_line("Content-Type", "application/json");
    t->lines[t->n_lines++] = s_line("X-Pusher-Key", app->key);
    for (size_t h = 0; h < t->cfg->n_headers; h++) {
        t->lines[t->n_lines] = strdup(t->cfg->headers[h]);
        if (!t->lines[t->n_lines++])
            abort();
    }
}

static void s_on_done(void *ctx, void *req, long status, const char *error);

rtm_webhooks_t *rtm_webhooks_new(const rtm_apps_t *apps, const rtm_webhooks_config_t *cfg)
{
    rtm_webhooks_t *wh = calloc(1, sizeof *wh);
    if (!wh)
        abort();
    wh->warn.every_ms = S_WARN_EVERY_MS;
    wh->apps = apps;
    wh->app_first = calloc(apps->n + 1, sizeof *wh->app_first);
    size_t total = 0;
    for (size_t i = 0; i < apps->n; i++)
        total += apps->apps[i].n_webhooks;
    wh->targets = calloc(total ? total : 1, sizeof *wh->targets);
    if (!wh->app_first || !wh->targets)
        abort();
    for (size_t i = 0; i < apps->n; i++) {
        wh->app_first[i] = wh->n_targets;
        for (size_t k = 0; k < apps->apps[i].n_webhooks; k++)
            s_init_target(&wh->targets[wh->n_targets++], &apps->apps[i], k);
    }
    wh->app_first[apps->n] = wh->n_targets;
    wh->queue = rtm_webhook_queue_new(&cfg->queue, wh->n_targets);
    if (!(wh->http = rtm_webhook_http_new(cfg->timeout_ms, s_on_done, wh))) {
        rtm_webhooks_destroy(&wh);
        return NULL;
    }
    return wh;
}

void rtm_webhooks_destroy(rtm_webhooks_t **whp)
{
    rtm_webhooks_t *wh = *whp;
    if (!wh)
        return;
    if (wh->queue && wh->n_targets) {
        rtm_webhooks_log(wh, "webhook_stop");
        rtm_log(RTM_LOG_INFO, "event=webhooks_abandoned events=%" PRIu64,
                rtm_webhook_queue_held(wh->queue));
    }
    rtm_webhook_http_destroy(&wh->http); /* before the queue: it borrows bodies */
    rtm_webhook_queue_destroy(&wh->queue);
    for (uint32_t i = 0; i < wh->n_targets; i++) {
        for (size_t k = 0; k < wh->targets[i].n_lines; k++)
            free(wh->targets[i].lines[k]);
        free(wh->targets[i].lines);
    }
    free(wh->targets);
    free(wh->app_first);
    free(wh);
    *whp = NULL;
}

/* ---- events ------------------------------------------------------------ */

/* Queues ev for every webhook of app that wants it, rendering it once. */
static void s_emit(rtm_webhooks_t *wh, rtm_str_t app_id, const rtm_webhook_event_t *ev,
                   uint64_t now_ms)
{
    if (ev->channel.len && ev->channel.p[0] == '#')
        return; /* the mesh's own channels */
    const rtm_app_t *app = rtm_apps_by_id(wh->apps, app_id);
    if (!app || app->n_webhooks == 0)
        return;
    char *json = NULL;
    size_t len = 0;
    for (size_t t = wh->app_first[app->index]; t < wh->app_first[app->index + 1]; t++) {
        if (!rtm_webhook_wants(wh->targets[t].cfg, ev->kind, ev->channel))
            continue;
        if (!json)
            json = rtm_webhook_render_event(ev, &len);
        if (rtm_webhook_queue_push(wh->queue, (uint32_t)t, ev->channel, rtm_str(json, len),
                                   now_ms) < 0)
            s_warn(wh, now_ms, "event=webhook_dropped app=%s webhook=%zu reason=\"queue full\"",
                   app->id, wh->targets[t].index);
    }
    free(json);
}

void rtm_webhooks_channel(rtm_webhooks_t *wh, const rtm_channel_hook_t *hook, uint64_t now_ms)
{
    rtm_webhook_event_t ev = {.kind = hook->kind,
                              .channel = hook->channel,
                              .user_id = hook->user_id,
                              .user_num = hook->user_num,
                              .count = hook->count};
    s_emit(wh, hook->app, &ev, now_ms);
}

void rtm_webhooks_client_event(rtm_webhooks_t *wh, rtm_str_t app, rtm_str_t channel,
                               rtm_str_t event, rtm_str_t data, rtm_str_t socket_id,
                               rtm_str_t user_id, uint64_t now_ms)
{
    rtm_webhook_event_t ev = {.kind = RTM_WEBHOOK_CLIENT_EVENT,
                              .channel = channel,
                              .user_id = user_id,
                              .event = event,
                              .data = data,
                              .socket_id = socket_id};
    s_emit(wh, app, &ev, now_ms);
}

void rtm_webhooks_cache_miss(rtm_webhooks_t *wh, rtm_str_t app, rtm_str_t channel, uint64_t now_ms)
{
    rtm_webhook_event_t ev = {.kind = RTM_WEBHOOK_CACHE_MISS, .channel = channel};
    s_emit(wh, app, &ev, now_ms);
}

/* ---- sending ----------------------------------------------------------- */

static void s_on_done(void *ctx, void *req, long status, const char *error)
{
    rtm_webhooks_t *wh = ctx;
    rtm_webhook_batch_t *b = req;
    const s_target_t *t = &wh->targets[b->target];
    rtm_webhook_outcome_t outcome = status >= 200 && status < 300  ? RTM_WEBHOOK_DELIVERED
                                    : status == 0 || status >= 500 ? RTM_WEBHOOK_RETRY
                                                                   : RTM_WEBHOOK_REFUSED;
    if (outcome != RTM_WEBHOOK_DELIVERED)
        s_warn(wh, wh->now_ms,
               "event=webhook_%s app=%s webhook=%zu attempt=%" PRIu32 " status=%ld error=\"%s\"",
               outcome == RTM_WEBHOOK_RETRY ? "retry" : "refused", t->app->id, t->index, b->attempt,
               status, error);
    rtm_webhook_queue_done(wh->queue, b, outcome, wh->now_ms);
}

/* Signs and posts b. */
static void s_post(rtm_webhooks_t *wh, rtm_webhook_batch_t *b)
{
    s_target_t *t = &wh->targets[b->target];
    char sig[65];
    rtm_hmac_sha256_hex(rtm_str_cstr(t->app->secret), rtm_str(b->body, b->len), sig);
    char line[96];
    snprintf(line, sizeof line, "X-Pusher-Signature: %s", sig);
    t->lines[t->n_lines] = line; /* the free slot, for this call only */
    int rc = rtm_webhook_http_post(wh->http, t->cfg->url, (const char *const *)t->lines,
                                   t->n_lines + 1, b->body, b->len, b);
    t->lines[t->n_lines] = NULL;
    if (rc < 0)
        s_on_done(wh, b, 0, "cannot start the request");
}

size_t rtm_webhooks_pollitems(const rtm_webhooks_t *wh, zmq_pollitem_t *items, size_t cap)
{
    return rtm_webhook_http_pollitems(wh->http, items, cap);
}

size_t rtm_webhooks_sockets(const rtm_webhooks_t *wh)
{
    return rtm_webhook_http_sockets(wh->http);
}

long rtm_webhooks_wait_ms(const rtm_webhooks_t *wh, uint64_t now_ms)
{
    long http = rtm_webhook_http_wait_ms(wh->http, now_ms);
    uint64_t q = rtm_webhook_queue_wait_ms(wh->queue, now_ms);
    long queue = q == UINT64_MAX ? -1 : q > 60000 ? 60000 : (long)q;
    if (http < 0)
        return queue;
    return queue < 0 || http < queue ? http : queue;
}

void rtm_webhooks_service(rtm_webhooks_t *wh, const zmq_pollitem_t *items, size_t n,
                          uint64_t now_ms)
{
    wh->now_ms = now_ms;
    rtm_webhook_http_service(wh->http, items, n, now_ms);
    rtm_webhook_batch_t *b;
    uint64_t wall = s_wall_ms();
    while ((b = rtm_webhook_queue_take(wh->queue, now_ms, wall)))
        s_post(wh, b);
}

/* The counters of app a's webhooks, summed. */
static void s_app_stats(const rtm_webhooks_t *wh, size_t a, rtm_webhooks_app_stats_t *out)
{
    *out = (rtm_webhooks_app_stats_t){.app_id = wh->apps->apps[a].id};
    rtm_webhook_stats_t *sum = &out->sum;
    for (size_t t = wh->app_first[a]; t < wh->app_first[a + 1]; t++) {
        const rtm_webhook_stats_t *s = rtm_webhook_queue_stats(wh->queue, (uint32_t)t);
        sum->events += s->events, sum->sent += s->sent, sum->failed += s->failed;
        sum->dropped += s->dropped, sum->retried += s->retried, sum->requests += s->requests;
        sum->latency_ms_sum += s->latency_ms_sum;
        if (s->latency_ms_max > sum->latency_ms_max)
            sum->latency_ms_max = s->latency_ms_max;
        out->held += rtm_webhook_queue_target_held(wh->queue, (uint32_t)t);
    }
}

size_t rtm_webhooks_stats(const rtm_webhooks_t *wh, rtm_webhooks_app_stats_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t a = 0; a < wh->apps->n; a++) {
        if (wh->app_first[a] == wh->app_first[a + 1])
            continue;
        if (n < cap)
            s_app_stats(wh, a, &out[n]);
        n++;
    }
    return n;
}

uint64_t rtm_webhooks_held(const rtm_webhooks_t *wh)
{
    return rtm_webhook_queue_held(wh->queue);
}

void rtm_webhooks_log(const rtm_webhooks_t *wh, const char *event)
{
    for (size_t a = 0; a < wh->apps->n; a++) {
        if (wh->app_first[a] == wh->app_first[a + 1])
            continue;
        rtm_webhooks_app_stats_t st;
        s_app_stats(wh, a, &st);
        const rtm_webhook_stats_t *sum = &st.sum;
        rtm_log(RTM_LOG_INFO,
                "event=%s app=%s events=%" PRIu64 " sent=%" PRIu64 " failed=%" PRIu64
                " retried=%" PRIu64 " dropped=%" PRIu64 " requests=%" PRIu64 " held=%" PRIu64
                " latency_ms_avg=%" PRIu64 " latency_ms_max=%" PRIu64,
                event, st.app_id, sum->events, sum->sent, sum->failed, sum->retried, sum->dropped,
                sum->requests, st.held, sum->sent ? sum->latency_ms_sum / sum->sent : 0,
                sum->latency_ms_max);
    }
}
