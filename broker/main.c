/* rtmesh-broker — entry point: configuration, signals, run.
 *
 * Everything else lives in broker.c. Configuration is the rtm_config table
 * below (flag, then RTMESH_* environment twin, then default); a bad value
 * prints a message naming the key and exits 2. SIGINT and SIGTERM set the one
 * atomic stop flag, which the loop checks at least every 100 ms; SIGHUP sets
 * the reload flag, on which the loop re-reads the brokers file. */
#include "broker.h"

#include "rtm_apps.h"
#include "rtm_brokers.h"
#include "rtm_config.h"
#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_process.h"
#include "rtm_rendezvous.h"
#include "rtm_roster.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    long shard;                                /* -1 until given */
    const char *self;                          /* this broker's identity */
    const char *brokers;                       /* comma list of ingress endpoints, or dns:// */
    const char *brokers_file;                  /* one ingress endpoint per line */
    const char *bind;                          /* NULL: the host of this shard's endpoint */
    const char *apps;                          /* apps file; NULL: the single app below */
    const char *app_id, *app_key, *app_secret; /* the single app */
    long batch_ms, concurrency, retry_s, backoff_ms, timeout_ms, queue, settle_ms; /* webhooks */
    long metrics_port;                                     /* 0: no GET /metrics */
    const char *log_level;                                 /* the least level logged */
    const char *curve_secret, *curve_broker, *curve_allow; /* CURVE: certificate files, allow dir */
} s_args_t;

static const rtm_opt_t s_opts[] = {
    {"self", "RTMESH_SELF", RTM_OPT_STRING, offsetof(s_args_t, self), NULL, 0, 0,
     "this broker's identity: its ingress tcp://host:port exactly as the broker lists write it "
     "(egress is port+1); it may start before it is listed and owns nothing until it is"},
    {"brokers-file", "RTMESH_BROKERS_FILE", RTM_OPT_STRING, offsetof(s_args_t, brokers_file), NULL,
     0, 0,
     "file listing every broker's ingress tcp://host:port, one per line (blank lines and # "
     "comments ignored); re-read on SIGHUP. Wins over --brokers"},
    {"brokers", "RTMESH_BROKERS", RTM_OPT_STRING, offsetof(s_args_t, brokers), NULL, 0, 0,
     "the broker list: comma-separated ingress tcp://host:port, or dns://NAME:PORT to follow "
     "the addresses NAME resolves to (re-resolved every 2 s; each named by its reverse DNS "
     "name, e.g. a StatefulSet pod's pod-0.svc.ns.svc.cluster.local)"},
    {"shard", "RTMESH_SHARD", RTM_OPT_INT, offsetof(s_args_t, shard), NULL, 0, 65535,
     "older contract: this broker's index in a comma --brokers list, i.e. --self is that entry"},
    {"bind", "RTMESH_BIND", RTM_OPT_STRING, offsetof(s_args_t, bind), NULL, 0, 0,
     "interface to bind ingress and egress on, e.g. 0.0.0.0 (default: the host of this "
     "shard's own endpoint)"},
    {"apps", "RTMESH_APPS_FILE", RTM_OPT_STRING, offsetof(s_args_t, apps), NULL, 0, 0,
     "JSON file with an array of apps, the same file the nodes read (webhooks are per app)"},
    {"app-id", "RTMESH_APP_ID", RTM_OPT_STRING, offsetof(s_args_t, app_id), "app-id", 0, 0,
     "id of the single app served without --apps"},
    {"app-key", "RTMESH_APP_KEY", RTM_OPT_STRING, offsetof(s_args_t, app_key), "app-key", 0, 0,
     "key of the single app served without --apps"},
    {"app-secret", "RTMESH_APP_SECRET", RTM_OPT_STRING, offsetof(s_args_t, app_secret),
     "app-secret", 0, 0, "secret of the single app served without --apps"},
    {"webhook-batch-ms", "RTMESH_WEBHOOK_BATCH_MS", RTM_OPT_INT, offsetof(s_args_t, batch_ms), "50",
     0, 60000, "batching window of webhooks; 0 sends every event in its own request"},
    {"webhook-concurrency", "RTMESH_WEBHOOK_CONCURRENCY", RTM_OPT_INT,
     offsetof(s_args_t, concurrency), "4", 1, 64, "requests in flight per webhook URL at most"},
    {"webhook-retry-s", "RTMESH_WEBHOOK_RETRY_S", RTM_OPT_INT, offsetof(s_args_t, retry_s), "300",
     0, 86400, "seconds a failing webhook request is retried (network errors, timeouts, 5xx)"},
    {"webhook-backoff-ms", "RTMESH_WEBHOOK_BACKOFF_MS", RTM_OPT_INT, offsetof(s_args_t, backoff_ms),
     "1000", 10, 600000, "first retry delay; doubles per attempt up to 60 s, with jitter"},
    {"webhook-timeout-ms", "RTMESH_WEBHOOK_TIMEOUT_MS", RTM_OPT_INT, offsetof(s_args_t, timeout_ms),
     "5000", 100, 120000, "time a webhook request may take"},
    {"webhook-queue", "RTMESH_WEBHOOK_QUEUE", RTM_OPT_INT, offsetof(s_args_t, queue), "100000", 1,
     10000000, "webhook events held at most; more are dropped (logged and counted)"},
    {"webhook-settle-ms", "RTMESH_WEBHOOK_SETTLE_MS", RTM_OPT_INT, offsetof(s_args_t, settle_ms),
     "3000", 0, 600000,
     "after taking over a dead shard's channels, wait this long for the nodes' re-announcements, "
     "then send channel_vacated / member_removed for what went during the outage"},
    {"metrics-port", "RTMESH_METRICS_PORT", RTM_OPT_INT, offsetof(s_args_t, metrics_port), "0", 0,
     65535,
     "serve GET /healthz and GET /metrics (Prometheus text: the shard's counters, webhooks per "
     "app) on this port of the bind host; 0: off"},
    {"log-level", "RTMESH_LOG_LEVEL", RTM_OPT_STRING, offsetof(s_args_t, log_level), "info", 0, 0,
     "least level logged: debug, info, warn or error"},
    {"curve-secret", "RTMESH_CURVE_SECRET", RTM_OPT_STRING, offsetof(s_args_t, curve_secret), NULL,
     0, 0,
     "the broker tier's secret certificate (PATH_secret of rtmesh keygen PATH): every ingress "
     "and egress becomes a CURVE server, peers must be in --curve-allow; unset: plain text "
     "(warned)"},
    {"curve-allow", "RTMESH_CURVE_ALLOW", RTM_OPT_STRING, offsetof(s_args_t, curve_allow), NULL, 0,
     0,
     "directory of the public certificates allowed in (nodes, services; the tier's own key is "
     "always); re-read when it changes"},
    {"curve-broker", "RTMESH_CURVE_BROKER", RTM_OPT_STRING, offsetof(s_args_t, curve_broker), NULL,
     0, 0,
     "the broker tier's public certificate (default: the one of --curve-secret); brokers are "
     "CURVE clients of each other with it"},
};
#define S_N_OPTS (sizeof s_opts / sizeof s_opts[0])

static atomic_int s_stop, s_reload;

static void s_on_signal(int sig)
{
    atomic_store(sig == SIGHUP ? &s_reload : &s_stop, 1);
}

static void s_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask); /* no SA_RESTART: a blocked poll returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* re-read the brokers file */
}

/* The identity: --self, or the --shard-th entry of a comma --brokers list.
 * Returns a newly allocated string, or NULL with err set. */
static char *s_self(const s_args_t *args, char *err, size_t err_len)
{
    if (args->self && *args->self) {
        char host[256];
        int port;
        if (rtm_config_endpoint_port(args->self, host, sizeof host, &port) == 0)
            return strdup(args->self);
        snprintf(err, err_len, "--self/RTMESH_SELF: '%s' is not tcp://host:port (port 1-65534)",
                 args->self);
        return NULL;
    }
    if (args->shard < 0 || !args->brokers || strncmp(args->brokers, "dns://", 6) == 0) {
        snprintf(err, err_len, "--self/RTMESH_SELF: required (or --shard with a comma --brokers)");
        return NULL;
    }
    rtm_brokers_t list;
    int n = rtm_brokers_parse(&list, args->brokers, strlen(args->brokers), ',',
                              "--brokers/RTMESH_BROKERS", err, err_len);
    char *self = NULL;
    if (n >= 0 && args->shard < n)
        self = strdup(list.ids[args->shard]);
    else if (n >= 0)
        snprintf(err, err_len, "--shard/RTMESH_SHARD: must be less than the number of --brokers");
    rtm_brokers_free(&list);
    return self;
}

/* The roster, with its first list checked so a bad one stops the start. */
static rtm_roster_t *s_roster(const s_args_t *args, char *err, size_t err_len)
{
    if (!(args->brokers && *args->brokers) && !(args->brokers_file && *args->brokers_file)) {
        snprintf(err, err_len,
                 "--brokers-file/RTMESH_BROKERS_FILE or --brokers/RTMESH_BROKERS: "
                 "required");
        return NULL;
    }
    rtm_roster_t *roster = rtm_roster_new(args->brokers, args->brokers_file, err, err_len);
    char *text = NULL;
    if (roster)
        rtm_roster_take(roster, 0, &text);
    rtm_brokers_t list;
    if (text && rtm_brokers_parse(&list, text, strlen(text), '\n', rtm_roster_what(roster), err,
                                  err_len) < 0)
        rtm_roster_destroy(&roster);
    else if (text)
        rtm_brokers_free(&list);
    free(text);
    return roster;
}

int main(int argc, char **argv)
{
    s_args_t args = {.shard = -1};
    char err[256] = "";
    int rc = rtm_config_parse(s_opts, S_N_OPTS, &args, argc, argv, err, sizeof err);
    if (rc == RTM_EHELP) {
        rtm_config_usage(stdout, "rtmesh-broker",
                         "One shard of the rtmesh broker tier: renders and publishes the events "
                         "of the channels it owns and holds their state (subscription counts, "
                         "presence members, cached events).",
                         s_opts, S_N_OPTS);
        return 0;
    }
    if (rc == 0)
        rc = rtm_log_configure(args.log_level, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "rtmesh-broker: %s\n", err);
        return 2;
    }
    char *self = s_self(&args, err, sizeof err);
    rtm_roster_t *roster = self ? s_roster(&args, err, sizeof err) : NULL;
    if (!roster) {
        fprintf(stderr, "rtmesh-broker: %s\n", err);
        free(self);
        return 2;
    }
    rtm_apps_t apps;
    rc = args.apps ? rtm_apps_load_file(&apps, args.apps, err, sizeof err)
                   : rtm_apps_load_single(&apps, args.app_id, args.app_key, args.app_secret, err,
                                          sizeof err);
    if (rc < 0) {
        fprintf(stderr, "rtmesh-broker: configuration error: %s\n", err);
        rtm_roster_destroy(&roster);
        free(self);
        return 2;
    }
    rtm_tier_keys_t keys;
    rc = rtm_tier_keys_load(&keys, args.curve_secret, "--curve-secret/RTMESH_CURVE_SECRET",
                            args.curve_broker, "--curve-broker/RTMESH_CURVE_BROKER", false, err,
                            sizeof err);
    if (rc == 0 && rtm_tier_keys_on(&keys) != (args.curve_allow && *args.curve_allow))
        rc = rtm_error_fmt(err, sizeof err, RTM_EINVAL, "%s: required with %s",
                           rtm_tier_keys_on(&keys) ? "--curve-allow/RTMESH_CURVE_ALLOW"
                                                   : "--curve-secret/RTMESH_CURVE_SECRET",
                           rtm_tier_keys_on(&keys) ? "--curve-secret/RTMESH_CURVE_SECRET"
                                                   : "--curve-allow/RTMESH_CURVE_ALLOW");
    if (rc < 0) {
        fprintf(stderr, "rtmesh-broker: configuration error: %s\n", err);
        rtm_apps_free(&apps);
        rtm_roster_destroy(&roster);
        free(self);
        return 2;
    }
    rtm_webhook_queue_limits_t queue = rtm_webhook_queue_default_limits();
    queue.batch_ms = (uint64_t)args.batch_ms;
    queue.lanes = (uint32_t)args.concurrency;
    queue.retry_for_ms = (uint64_t)args.retry_s * 1000;
    queue.backoff_ms = (uint64_t)args.backoff_ms;
    queue.max_events = (uint32_t)args.queue;
    queue.seed = rtm_rendezvous_seed(rtm_str_cstr(self)) | 1; /* brokers jitter apart */
    rtm_broker_config_t cfg = {.self = self,
                               .roster = roster,
                               .bind_host = args.bind && *args.bind ? args.bind : NULL,
                               .apps = &apps,
                               .webhooks = {.queue = queue,
                                            .timeout_ms = args.timeout_ms,
                                            .settle_ms = (uint64_t)args.settle_ms},
                               .metrics_port = (int)args.metrics_port,
                               .keys = &keys,
                               .curve_allow = args.curve_allow};
    s_install_signals();
    rtm_process_raise_nofile("rtmesh-broker");
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any other thread exists */
    rtm_broker_t *broker = rtm_broker_new(&cfg);
    rc = broker ? rtm_broker_run(broker, &s_stop, &s_reload) : -1;
    rtm_broker_destroy(&broker);
    curl_global_cleanup();
    rtm_apps_free(&apps);
    rtm_roster_destroy(&roster);
    free(self);
    memset(&keys, 0, sizeof keys);
    return rc < 0 ? 1 : 0;
}
