/* rtmesh-broker — entry point: configuration, signals, run.
 *
 * Everything else lives in broker.c. Configuration is the rtm_config table
 * below (flag, then RTMESH_* environment twin, then default); a bad value
 * prints a message naming the key and exits 2. SIGINT and SIGTERM set the one
 * atomic stop flag, which the loop checks at least every 100 ms. */
#include "broker.h"

#include "rtm_apps.h"
#include "rtm_config.h"
#include "rtm_error.h"
#include "rtm_process.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    long shard;                                /* -1 until given */
    const char *brokers;                       /* comma list of ingress endpoints */
    const char *bind;                          /* NULL: the host of this shard's endpoint */
    const char *apps;                          /* apps file; NULL: the single app below */
    const char *app_id, *app_key, *app_secret; /* the single app */
    long batch_ms, concurrency, retry_s, backoff_ms, timeout_ms, queue, settle_ms; /* webhooks */
    long metrics_port; /* 0: no GET /metrics */
} s_args_t;

static const rtm_opt_t s_opts[] = {
    {"shard", "RTMESH_SHARD", RTM_OPT_INT, offsetof(s_args_t, shard), NULL, 0, 65535,
     "this broker's index in the broker list (required)"},
    {"brokers", "RTMESH_BROKERS", RTM_OPT_STRING, offsetof(s_args_t, brokers), NULL, 0, 0,
     "every shard's ingress tcp://host:port, comma-separated in shard order; a shard's "
     "egress is port+1 (required)"},
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
    {"metrics-port", "RTMESH_BROKER_METRICS_PORT", RTM_OPT_INT, offsetof(s_args_t, metrics_port),
     "0", 0, 65535,
     "serve GET /metrics (Prometheus text: webhook counters per app) on this port of the bind "
     "host; 0: off"},
};
#define S_N_OPTS (sizeof s_opts / sizeof s_opts[0])

static atomic_int s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    atomic_store(&s_stop, 1);
}

static void s_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask); /* no SA_RESTART: a blocked poll returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
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
    if (rc < 0) {
        fprintf(stderr, "rtmesh-broker: %s\n", err);
        return 2;
    }
    char **endpoints = NULL;
    int n = rtm_config_split_endpoints(args.brokers, "--brokers/RTMESH_BROKERS", &endpoints, err,
                                       sizeof err);
    if (n < 0) {
        fprintf(stderr, "rtmesh-broker: %s\n", err);
        return 2;
    }
    if (args.shard < 0 || args.shard >= n) {
        fprintf(stderr, "rtmesh-broker: --shard/RTMESH_SHARD: %s\n",
                args.shard < 0 ? "required" : "must be less than the number of --brokers");
        rtm_config_free_list(&endpoints);
        return 2;
    }
    rtm_apps_t apps;
    rc = args.apps ? rtm_apps_load_file(&apps, args.apps, err, sizeof err)
                   : rtm_apps_load_single(&apps, args.app_id, args.app_key, args.app_secret, err,
                                          sizeof err);
    if (rc < 0) {
        fprintf(stderr, "rtmesh-broker: configuration error: %s\n", err);
        rtm_config_free_list(&endpoints);
        return 2;
    }
    rtm_webhook_queue_limits_t queue = rtm_webhook_queue_default_limits();
    queue.batch_ms = (uint64_t)args.batch_ms;
    queue.lanes = (uint32_t)args.concurrency;
    queue.retry_for_ms = (uint64_t)args.retry_s * 1000;
    queue.backoff_ms = (uint64_t)args.backoff_ms;
    queue.max_events = (uint32_t)args.queue;
    queue.seed = (uint64_t)args.shard * 0x9e3779b97f4a7c15ULL + 1; /* shards jitter apart */
    rtm_broker_config_t cfg = {.shard = (uint32_t)args.shard,
                               .n_shards = (uint32_t)n,
                               .endpoints = endpoints,
                               .bind_host = args.bind && *args.bind ? args.bind : NULL,
                               .apps = &apps,
                               .webhooks = {.queue = queue,
                                            .timeout_ms = args.timeout_ms,
                                            .settle_ms = (uint64_t)args.settle_ms},
                               .metrics_port = (int)args.metrics_port};
    s_install_signals();
    rtm_process_raise_nofile("rtmesh-broker");
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any other thread exists */
    rtm_broker_t *broker = rtm_broker_new(&cfg);
    rc = broker ? rtm_broker_run(broker, &s_stop) : -1;
    rtm_broker_destroy(&broker);
    curl_global_cleanup();
    rtm_apps_free(&apps);
    rtm_config_free_list(&endpoints);
    return rc < 0 ? 1 : 0;
}
