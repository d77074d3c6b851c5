/* rtmesh-loadgen — a Pusher protocol 7 load generator (see loadgen.h).
 *
 * Phases: CONNECT opens opt.conns subscribers, at most opt.concurrency
 * handshakes at a time, each from one of opt.sources loopback addresses (so
 * more than ~28k connections fit the ephemeral port range); HOLD keeps them
 * idle for opt.hold seconds (memory is sampled at its end); PUBLISH runs the
 * REST publishers for opt.duration seconds, at opt.rate publishes/s or flat
 * out; DRAIN waits for the deliveries still owed; DONE prints one line of
 * key=value and appends the same record as JSON to opt.json. Server CPU and
 * memory come from /proc for opt.pids, sampled at every phase boundary, so
 * "per server CPU-second" figures cover exactly the phase they describe.
 * Flat out, publishers stop while more than opt.max_lag publishes are not yet
 * delivered: a server that accepts publishes faster than it (or this
 * generator, which shares the machine) can deliver would otherwise queue
 * without bound and end up dropping slow subscribers.
 *
 * With opt.expect, the events come from another process (one publisher for
 * subscribers spread over several generator processes, each holding as many
 * connections as one process may): every subscriber owes opt.expect events
 * after the hold, the fan-out is timed from the earliest publish stamp
 * received, and memory (server RSS, the kernel's socket counts) is sampled
 * when the first event arrives, which the publisher sends only once every
 * generator process holds all its connections. The JSON record then carries
 * the latency histogram and the absolute times, so that the records of the
 * processes can be merged exactly (bench/report.py). */
#include "loadgen.h"

#include "lg_pub.h"
#include "lg_sub.h"
#include "lg_tls.h"
#include "rtm_config.h"
#include "rtm_error.h"
#include "rtm_http.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_WS_KEY "dGhlIHNhbXBsZSBub25jZQ==" /* fixed: servers only echo its digest */

#define S_OPT(field) offsetof(rtm_lg_options_t, field)
static const rtm_opt_t s_options[] = {
    {"host", "RTMESH_LG_HOST", RTM_OPT_STRING, S_OPT(host), "127.0.0.1", 0, 0, "server IPv4"},
    {"port", "RTMESH_LG_PORT", RTM_OPT_INT, S_OPT(port), "6001", 1, 65535, "server port"},
    {"app-id", "RTMESH_LG_APP_ID", RTM_OPT_STRING, S_OPT(app_id), "app-id", 0, 0, "app id"},
    {"app-key", "RTMESH_LG_APP_KEY", RTM_OPT_STRING, S_OPT(app_key), "app-key", 0, 0, "app key"},
    {"app-secret", "RTMESH_LG_APP_SECRET", RTM_OPT_STRING, S_OPT(app_secret), "app-secret", 0, 0,
     "app secret"},
    {"conns", "RTMESH_LG_CONNS", RTM_OPT_INT, S_OPT(conns), "100", 0, 1000000,
     "subscriber connections"},
    {"channels", "RTMESH_LG_CHANNELS", RTM_OPT_INT, S_OPT(channels), "1", 1, 1000000,
     "channels; connection i subscribes to channel i % channels"},
    {"channel-base", "RTMESH_LG_CHANNEL_BASE", RTM_OPT_INT, S_OPT(channel_base), "0", 0, 100000000,
     "index of the first channel (disjoint sets across processes)"},
    {"prefix", "RTMESH_LG_PREFIX", RTM_OPT_STRING, S_OPT(prefix), "bench-", 0, 0,
     "channel name prefix"},
    {"sources", "RTMESH_LG_SOURCES", RTM_OPT_INT, S_OPT(sources), "8", 1, 250,
     "source addresses 127.0.0.2 .. 127.0.0.(1+N), bound before connect"},
    {"source-base", "RTMESH_LG_SOURCE_BASE", RTM_OPT_INT, S_OPT(source_base), "0", 0, 249,
     "offset of the first source address: 127.0.0.(2+N) .. (disjoint sets across processes)"},
    {"concurrency", "RTMESH_LG_CONCURRENCY", RTM_OPT_INT, S_OPT(concurrency), "256", 1, 100000,
     "handshakes in flight while connecting"},
    {"publishers", "RTMESH_LG_PUBLISHERS", RTM_OPT_INT, S_OPT(publishers), "1", 0, 256,
     "concurrent keep-alive REST publishers"},
    {"rate", "RTMESH_LG_RATE", RTM_OPT_INT, S_OPT(rate), "10", 0, 10000000,
     "publishes per second in total; 0 = flat out"},
    {"duration", "RTMESH_LG_DURATION", RTM_OPT_INT, S_OPT(duration), "10", 0, 86400,
     "seconds of publishing"},
    {"max-publishes", "RTMESH_LG_MAX_PUBLISHES", RTM_OPT_INT, S_OPT(max_publishes), "0", 0,
     1000000000, "publishes in all, at most (0: as many as the rate and duration give)"},
    {"payload", "RTMESH_LG_PAYLOAD", RTM_OPT_INT, S_OPT(payload), "0", 0, RTM_LG_MAX_PAYLOAD,
     "bytes of padding in each event's data"},
    {"shape", "RTMESH_LG_SHAPE", RTM_OPT_STRING, S_OPT(shape), "pad", 0, 0,
     "each event's data after its stamp: pad (--payload bytes of x), dashboard (a 2 KB JSON "
     "dashboard update) or chat (a 200 B chat line), the last two compressing as real events do"},
    {"deflate", "RTMESH_LG_DEFLATE", RTM_OPT_INT, S_OPT(deflate), "0", 0, 1,
     "1: subscribers offer permessage-deflate (as browsers do) and inflate what arrives "
     "compressed"},
    {"max-lag", "RTMESH_LG_MAX_LAG", RTM_OPT_INT, S_OPT(max_lag), "32", 0, 1000000,
     "flat out: publishes not yet delivered before publishers wait (0: no limit)"},
    {"drain-ms", "RTMESH_LG_DRAIN_MS", RTM_OPT_INT, S_OPT(drain_ms), "5000", 0, 600000,
     "after publishing, wait at most this long for owed deliveries"},
    {"hold", "RTMESH_LG_HOLD", RTM_OPT_INT, S_OPT(hold), "1", 0, 86400,
     "seconds to hold the subscribed connections before publishing"},
    {"expect", "RTMESH_LG_EXPECT", RTM_OPT_INT, S_OPT(expect), "0", 0, 1000000,
     "events published by another process that each subscriber waits for after the hold"},
    {"connect-timeout", "RTMESH_LG_CONNECT_TIMEOUT", RTM_OPT_INT, S_OPT(connect_timeout), "120", 1,
     86400, "seconds the connect phase may take"},
    {"pids", "RTMESH_LG_PIDS", RTM_OPT_STRING, S_OPT(pids), "", 0, 0,
     "comma list of server pids whose CPU and RSS are sampled from /proc"},
    {"label", "RTMESH_LG_LABEL", RTM_OPT_STRING, S_OPT(label), "run", 0, 0,
     "name of this run, copied into the report"},
    {"json", "RTMESH_LG_JSON", RTM_OPT_STRING, S_OPT(json), NULL, 0, 0,
     "append the JSON record to this file"},
    {"brokers", "RTMESH_LG_BROKERS", RTM_OPT_STRING, S_OPT(brokers), NULL, 0, 0,
     "publish through librtmesh to this broker list (RTMESH_CURVE_* apply) instead of REST"},
    {"ready-file", "RTMESH_LG_READY_FILE", RTM_OPT_STRING, S_OPT(ready), NULL, 0, 0,
     "create this file once every connection is subscribed"},
    {"tls", "RTMESH_LG_TLS", RTM_OPT_INT, S_OPT(tls), "0", 0, 1,
     "1: subscribers connect with wss:// and publishers with https:// (certificate not checked)"},
};
#define S_N_OPTIONS (sizeof s_options / sizeof s_options[0])

/* ---- report: the same keys as one key=value line and one JSON object ---- */

typedef struct {
    char kv[4096], js[4096];
    size_t kv_len, js_len;
} s_report_t;

static void s_put(s_report_t *r, const char *key, bool quote, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_put(s_report_t *r, const char *key, bool quote, const char *fmt, ...)
{
    char v[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    r->kv_len += (size_t)snprintf(r->kv + r->kv_len, sizeof r->kv - r->kv_len, "%s%s=%s",
                                  r->kv_len ? " " : "", key, v);
    const char *q = quote ? "\"" : "";
    r->js_len += (size_t)snprintf(r->js + r->js_len, sizeof r->js - r->js_len, "%s\"%s\":%s%s%s",
                                  r->js_len ? "," : "{", key, q, v, q);
}

static double s_ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static void s_report_connect(rtm_lg_t *lg, s_report_t *r)
{
    const rtm_lg_options_t *o = &lg->opt;
    double secs = (double)(lg->t_connected_us - lg->t_start_us) / 1e6;
    double cpu = lg->proc_connected.cpu_s - lg->proc_start.cpu_s;
    long rss_delta = lg->proc_held.rss_kb - lg->proc_start.rss_kb;
    s_put(r, "label", true, "%s", o->label);
    s_put(r, "tls", false, "%ld", o->tls);
    s_put(r, "conns", false, "%ld", o->conns);
    s_put(r, "channels", false, "%ld", o->channels);
    s_put(r, "subscribed", false, "%ld", lg->subscribed);
    s_put(r, "conn_failed", false, "%ld", lg->conn_failed);
    s_put(r, "conn_lost", false, "%ld", lg->conn_lost);
    s_put(r, "connect_s", false, "%.3f", secs);
    s_put(r, "connect_rate", false, "%.0f",
          s_ratio((double)o->conns - (double)lg->conn_failed, secs));
    s_put(r, "connect_server_cpu_s", false, "%.3f", cpu);
    s_put(r, "connects_per_cpu_s", false, "%.0f", s_ratio((double)o->conns, cpu));
    s_put(r, "connect_gen_cpu_s", false, "%.3f", lg->self_cpu_connected - lg->self_cpu_start);
    s_put(r, "server_rss_start_kb", false, "%ld", lg->proc_start.rss_kb);
    s_put(r, "server_rss_held_kb", false, "%ld", lg->proc_held.rss_kb);
    s_put(r, "rss_per_conn_b", false, "%.0f",
          s_ratio((double)rss_delta * 1024.0, (double)(o->conns - lg->conn_failed)));
    s_put(r, "server_procs", false, "%d", lg->n_pids);
    s_put(r, "tcp_inuse_start", false, "%ld", lg->proc_start.tcp_inuse);
    s_put(r, "tcp_inuse_held", false, "%ld", lg->proc_held.tcp_inuse);
    s_put(r, "tcp_mem_start_kb", false, "%ld", lg->proc_start.tcp_mem_kb);
    s_put(r, "tcp_mem_held_kb", false, "%ld", lg->proc_held.tcp_mem_kb);
    s_put(r, "slab_start_kb", false, "%ld", lg->proc_start.slab_kb);
    s_put(r, "slab_held_kb", false, "%ld", lg->proc_held.slab_kb);
    s_put(r, "t_start_us", false, "%llu", (unsigned long long)lg->t_start_us);
    s_put(r, "t_connected_us", false, "%llu", (unsigned long long)lg->t_connected_us);
}

static void s_report_publish(rtm_lg_t *lg, s_report_t *r)
{
    const rtm_lg_options_t *o = &lg->opt;
    uint64_t last = lg->t_last_delivery_us > lg->t_publish_end_us ? lg->t_last_delivery_us
                                                                  : lg->t_publish_end_us;
    /* another process's events: from the earliest publish to the last delivery */
    uint64_t from = o->expect && lg->first_stamp_us ? lg->first_stamp_us : lg->t_publish_us;
    double secs = last > from ? (double)(last - from) / 1e6 : 0;
    double pub_secs = (double)(lg->t_publish_end_us - lg->t_publish_us) / 1e6;
    double cpu = lg->proc_end.cpu_s - lg->proc_held.cpu_s;
    s_put(r, "publishers", false, "%ld", o->publishers);
    s_put(r, "rate", false, "%ld", o->rate);
    s_put(r, "duration_s", false, "%.3f", pub_secs);
    s_put(r, "published", false, "%llu", (unsigned long long)lg->published);
    s_put(r, "publish_ok", false, "%llu", (unsigned long long)lg->publish_ok);
    s_put(r, "publish_err", false, "%llu", (unsigned long long)lg->publish_err);
    s_put(r, "pub_reconnects", false, "%llu", (unsigned long long)lg->pub_reconnects);
    s_put(r, "publish_rate", false, "%.1f", s_ratio((double)lg->publish_ok, pub_secs));
    s_put(r, "expected", false, "%llu", (unsigned long long)lg->expected);
    s_put(r, "delivered", false, "%llu", (unsigned long long)lg->delivered);
    s_put(r, "delivery_ratio", false, "%.4f",
          lg->expected ? (double)lg->delivered / (double)lg->expected : 0.0);
    s_put(r, "deliveries_per_s", false, "%.0f", s_ratio((double)lg->delivered, secs));
    s_put(r, "pusher_errors", false, "%llu", (unsigned long long)lg->pusher_errors);
    static const struct {
        const char *key;
        double q;
    } qs[] = {
        {"lat_p50_us", 0.5}, {"lat_p90_us", 0.9}, {"lat_p99_us", 0.99}, {"lat_p999_us", 0.999}};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        s_put(r, qs[i].key, false, "%llu",
              (unsigned long long)rtm_lg_hist_quantile(&lg->latency, qs[i].q));
    s_put(r, "lat_max_us", false, "%llu", (unsigned long long)lg->latency.max);
    s_put(r, "rest_p50_us", false, "%llu",
          (unsigned long long)rtm_lg_hist_quantile(&lg->rest_latency, 0.5));
    s_put(r, "rest_p99_us", false, "%llu",
          (unsigned long long)rtm_lg_hist_quantile(&lg->rest_latency, 0.99));
    s_put(r, "server_cpu_s", false, "%.3f", cpu);
    s_put(r, "server_cpu_util", false, "%.3f", s_ratio(cpu, secs));
    s_put(r, "deliveries_per_cpu_s", false, "%.0f", s_ratio((double)lg->delivered, cpu));
    s_put(r, "publishes_per_cpu_s", false, "%.0f", s_ratio((double)lg->publish_ok, cpu));
    s_put(r, "server_rss_end_kb", false, "%ld", lg->proc_end.rss_kb);
    s_put(r, "gen_cpu_s", false, "%.3f", lg->self_cpu_end - lg->self_cpu_publish);
    s_put(r, "shape", true, "%s", o->shape);
    s_put(r, "deflate", false, "%ld", o->deflate);
    s_put(r, "compressed", false, "%llu", (unsigned long long)lg->compressed);
    s_put(r, "wire_bytes_per_delivery", false, "%.1f",
          s_ratio((double)lg->rx_bytes, (double)lg->delivered));
    s_put(r, "cpu_us_per_delivery", false, "%.3f", s_ratio(cpu * 1e6, (double)lg->delivered));
    s_put(r, "expect", false, "%ld", o->expect);
    s_put(r, "t_first_stamp_us", false, "%llu", (unsigned long long)lg->first_stamp_us);
    s_put(r, "t_last_delivery_us", false, "%llu", (unsigned long long)lg->t_last_delivery_us);
}

static void s_report(rtm_lg_t *lg)
{
    s_report_t *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    s_report_connect(lg, r);
    s_report_publish(lg, r);
    printf("%s\n", r->kv);
    fflush(stdout);
    if (lg->opt.json) {
        FILE *f = fopen(lg->opt.json, "a");
        if (f) {
            char *hist = rtm_lg_hist_format(&lg->latency);
            fprintf(f, "%s,\"lat_hist\":\"%s\"}\n", r->js, hist);
            free(hist);
            fclose(f);
        } else {
            perror(lg->opt.json);
        }
    }
    free(r);
}

/* ---- phases ---- */

static void s_close_all(rtm_lg_t *lg)
{
    for (long i = 0; i < lg->opt.conns; i++)
        rtm_lg_sub_close(&lg->subs[i]);
    for (long i = 0; i < lg->opt.publishers; i++)
        rtm_lg_pub_close(&lg->pubs[i]);
    uv_close((uv_handle_t *)&lg->tick, NULL);
}

static void s_enter_hold(rtm_lg_t *lg)
{
    lg->phase = RTM_LG_HOLD;
    lg->t_connected_us = rtm_lg_now_us();
    rtm_lg_proc_sample(lg->pids, lg->n_pids, &lg->proc_connected);
    lg->self_cpu_connected = rtm_lg_self_cpu_s();
    fprintf(stderr, "loadgen: label=%s subscribed=%ld failed=%ld in %.2fs\n", lg->opt.label,
            lg->subscribed, lg->conn_failed, (double)(lg->t_connected_us - lg->t_start_us) / 1e6);
    if (lg->opt.ready) {
        FILE *f = fopen(lg->opt.ready, "w");
        if (f)
            fclose(f);
    }
    for (long i = 0; i < lg->opt.publishers; i++)
        rtm_lg_pub_start(lg, &lg->pubs[i], i);
}

void rtm_lg_connect_progress(rtm_lg_t *lg)
{
    if (lg->phase != RTM_LG_CONNECT)
        return;
    while (lg->next_sub < lg->opt.conns && lg->in_flight < lg->opt.concurrency) {
        long i = lg->next_sub++;
        rtm_lg_sub_start(lg, &lg->subs[i], i);
    }
    if (lg->next_sub == lg->opt.conns && lg->in_flight == 0)
        s_enter_hold(lg);
}

static void s_publish_tick(rtm_lg_t *lg, uint64_t now)
{
    const rtm_lg_options_t *o = &lg->opt;
    uint64_t due = o->rate ? (uint64_t)o->rate * (now - lg->t_publish_us) / 1000000u + 1 : 0;
    for (long i = 0; i < o->publishers; i++) {
        if ((o->rate && lg->published >= due) ||
            (o->max_publishes && lg->published >= (uint64_t)o->max_publishes))
            break;
        if (lg->pubs[i].ready)
            rtm_lg_pub_send(&lg->pubs[i]);
    }
}

static bool s_pubs_idle(const rtm_lg_t *lg)
{
    for (long i = 0; i < lg->opt.publishers; i++)
        if (lg->pubs[i].busy)
            return false;
    return true;
}

static void s_on_tick(uv_timer_t *t)
{
    rtm_lg_t *lg = t->data;
    uint64_t now = rtm_lg_now_us();
    const rtm_lg_options_t *o = &lg->opt;
    switch (lg->phase) {
    case RTM_LG_CONNECT:
        if (now - lg->t_start_us > (uint64_t)o->connect_timeout * 1000000u)
            s_enter_hold(lg);
        break;
    case RTM_LG_HOLD:
        if (now - lg->t_connected_us < (uint64_t)o->hold * 1000000u + 200000u)
            break;
        rtm_lg_proc_sample(lg->pids, lg->n_pids, &lg->proc_held);
        lg->self_cpu_publish = rtm_lg_self_cpu_s();
        lg->t_publish_us = now;
        lg->expected += (uint64_t)o->expect * (uint64_t)lg->subscribed;
        lg->phase = o->publishers && o->duration ? RTM_LG_PUBLISH : RTM_LG_DRAIN;
        break;
    case RTM_LG_PUBLISH:
        s_publish_tick(lg, now);
        if (now - lg->t_publish_us >= (uint64_t)o->duration * 1000000u) {
            lg->t_publish_end_us = now;
            lg->phase = RTM_LG_DRAIN;
        }
        break;
    case RTM_LG_DRAIN:
        if (!lg->t_publish_end_us)
            lg->t_publish_end_us = now;
        if ((lg->delivered < lg->expected || !s_pubs_idle(lg)) &&
            now - lg->t_publish_end_us < (uint64_t)o->drain_ms * 1000u)
            break;
        rtm_lg_proc_sample(lg->pids, lg->n_pids, &lg->proc_end);
        lg->self_cpu_end = rtm_lg_self_cpu_s();
        lg->phase = RTM_LG_DONE;
        s_report(lg);
        s_close_all(lg);
        break;
    case RTM_LG_DONE: break;
    }
}

static int s_setup(rtm_lg_t *lg, int argc, char **argv)
{
    char err[512];
    int rc = rtm_config_parse(s_options, S_N_OPTIONS, &lg->opt, argc, argv, err, sizeof err);
    if (rc == RTM_EHELP) {
        rtm_config_usage(stdout, "rtmesh-loadgen",
                         "Pusher protocol 7 load generator: subscribers over WebSocket, "
                         "publishers over the signed REST API.",
                         s_options, S_N_OPTIONS);
        exit(0);
    }
    if (rc == 0 && uv_ip4_addr(lg->opt.host, (int)lg->opt.port, &lg->server) < 0)
        rc = snprintf(err, sizeof err, "--host: not an IPv4 address") > 0 ? RTM_EINVAL : 0;
    char shape[RTM_LG_MAX_PAYLOAD + 1];
    if (rc == 0 && rtm_lg_pub_shape(lg->opt.shape, lg->opt.payload, 0, shape, sizeof shape) < 0)
        rc = snprintf(err, sizeof err, "--shape: pad, dashboard or chat") > 0 ? RTM_EINVAL : 0;
    if (rc == 0 && (lg->n_pids = rtm_lg_parse_pids(lg->opt.pids, lg->pids)) < 0)
        rc = snprintf(err, sizeof err, "--pids: not a comma list of pids") > 0 ? RTM_EINVAL : 0;
    if (rc < 0) {
        fprintf(stderr, "rtmesh-loadgen: %s\n", err);
        return rc;
    }
    const rtm_lg_options_t *o = &lg->opt;
    lg->ws_request_len = (size_t)snprintf(
        lg->ws_request, sizeof lg->ws_request,
        "GET /app/%s?protocol=7&client=rtmesh-loadgen&version=0.1 HTTP/1.1\r\nHost: %s:%ld\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " S_WS_KEY "\r\n"
        "Sec-WebSocket-Version: 13\r\n%s\r\n",
        o->app_key, o->host, o->port,
        o->deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                   : "");
    if (o->deflate)
        lg->inflater = rtm_deflate_new();
    rtm_http_ws_accept(rtm_str_cstr(S_WS_KEY), lg->ws_accept);
    lg->subs = calloc((size_t)o->conns + 1, sizeof *lg->subs);
    lg->pubs = calloc((size_t)o->publishers + 1, sizeof *lg->pubs);
    lg->chan_subs = calloc((size_t)o->channels, sizeof *lg->chan_subs);
    if (!lg->subs || !lg->pubs || !lg->chan_subs)
        abort();
    if (o->tls)
        lg->tls_ctx = rtm_lg_tls_ctx_new();
    return 0;
}

int main(int argc, char **argv)
{
    static rtm_lg_t lg; /* large (histograms): not on the stack */
    if (s_setup(&lg, argc, argv) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    lg.loop = uv_default_loop();
    uv_timer_init(lg.loop, &lg.tick);
    lg.tick.data = &lg;
    uv_timer_start(&lg.tick, s_on_tick, 1, 1);
    rtm_lg_proc_sample(lg.pids, lg.n_pids, &lg.proc_start);
    lg.self_cpu_start = rtm_lg_self_cpu_s();
    lg.t_start_us = rtm_lg_now_us();
    rtm_lg_connect_progress(&lg);
    uv_run(lg.loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(lg.loop);
    bool ok = lg.conn_failed == 0 && lg.conn_lost == 0;
    free(lg.subs);
    free(lg.pubs);
    free(lg.chan_subs);
    rtm_deflate_destroy(&lg.inflater);
    SSL_CTX_free(lg.tls_ctx);
    return rc == 0 && ok ? 0 : 1;
}
