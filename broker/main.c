/* rtmesh-broker — entry point: configuration, signals, run.
 *
 * Everything else lives in broker.c. Configuration is the rtm_config table
 * below (flag, then RTMESH_* environment twin, then default); a bad value
 * prints a message naming the key and exits 2. SIGINT and SIGTERM set the one
 * atomic stop flag, which the loop checks at least every 100 ms. */
#include "broker.h"

#include "rtm_config.h"
#include "rtm_error.h"

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    long shard;          /* -1 until given */
    const char *brokers; /* comma list of ingress endpoints */
    const char *bind;    /* NULL: the host of this shard's endpoint */
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
    rtm_broker_config_t cfg = {.shard = (uint32_t)args.shard,
                               .n_shards = (uint32_t)n,
                               .endpoints = endpoints,
                               .bind_host = args.bind && *args.bind ? args.bind : NULL};
    s_install_signals();
    rtm_broker_t *broker = rtm_broker_new(&cfg);
    rc = broker ? rtm_broker_run(broker, &s_stop) : -1;
    rtm_broker_destroy(&broker);
    rtm_config_free_list(&endpoints);
    return rc < 0 ? 1 : 0;
}
