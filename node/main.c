/* rtmesh-node — the edge node: parses configuration, loads apps, starts one
 * worker per core, and waits for SIGINT/SIGTERM to drain and stop them;
 * SIGHUP re-reads the brokers file and the TLS certificate, which is also
 * reloaded when its files change (checked every second).
 *
 * Draining exists for load balancers and orchestrators: they stop sending
 * new clients only once /readyz fails, which takes them a probe period or
 * two. So the node keeps listening for --drain-seconds, answering /readyz
 * 503 and serving REST (publishes in flight are acknowledged, not cut),
 * while its WebSocket clients are told to reconnect (4200) and new upgrades
 * are refused, so they land on another node; then the workers stop. */
#include "node.h"

#include "rtm_config.h"
#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_process.h"
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define S_OPT(field) offsetof(rtm_node_options_t, field)
static const rtm_opt_t s_options[] = {
    {"host", "RTMESH_HOST", RTM_OPT_STRING, S_OPT(host), "127.0.0.1", 0, 0,
     "address to listen on (0.0.0.0 for every interface)"},
    {"port", "RTMESH_PORT", RTM_OPT_INT, S_OPT(port), "6001", 1, 65535,
     "port for WebSocket clients and the REST API"},
    {"brokers", "RTMESH_BROKERS", RTM_OPT_STRING, S_OPT(brokers), "tcp://127.0.0.1:7100", 0, 0,
     "the broker list: comma-separated ingress tcp://host:port (any order), or dns://NAME:PORT "
     "to follow the addresses NAME resolves to (re-resolved every 2 s; each named by its "
     "reverse DNS name, e.g. a StatefulSet pod's pod-0.svc.ns.svc.cluster.local)"},
    {"brokers-file", "RTMESH_BROKERS_FILE", RTM_OPT_STRING, S_OPT(brokers_file), NULL, 0, 0,
     "file listing the brokers' ingress tcp://host:port, one per line (blank lines and # "
     "comments ignored); re-read on SIGHUP. Wins over --brokers"},
    {"workers", "RTMESH_WORKERS", RTM_OPT_INT, S_OPT(workers), "0", 0, RTM_NODE_MAX_WORKERS,
     "worker threads; 0 = one per CPU this process may run on (its affinity: taskset, a "
     "container's cpuset)"},
    {"apps", "RTMESH_APPS_FILE", RTM_OPT_STRING, S_OPT(apps_file), NULL, 0, 0,
     "JSON file with an array of apps {id, key, secret, max_event_payload_kb}"},
    {"app-id", "RTMESH_APP_ID", RTM_OPT_STRING, S_OPT(app_id), "app-id", 0, 0,
     "id of the single app served without --apps"},
    {"app-key", "RTMESH_APP_KEY", RTM_OPT_STRING, S_OPT(app_key), "app-key", 0, 0,
     "key of the single app served without --apps"},
    {"app-secret", "RTMESH_APP_SECRET", RTM_OPT_STRING, S_OPT(app_secret), "app-secret", 0, 0,
     "secret of the single app served without --apps"},
    {"activity-timeout", "RTMESH_ACTIVITY_TIMEOUT", RTM_OPT_INT, S_OPT(activity_timeout), "120", 1,
     3600, "seconds of client silence before the node pings it (announced to clients)"},
    {"pong-timeout", "RTMESH_PONG_TIMEOUT", RTM_OPT_INT, S_OPT(pong_timeout), "30", 1, 600,
     "seconds to wait for a reply to that ping before closing with 4201"},
    {"max-outbound-kb", "RTMESH_MAX_OUTBOUND_KB", RTM_OPT_INT, S_OPT(max_outbound_kb), "1024", 16,
     1048576, "unsent KiB per connection before a slow client is dropped (4100)"},
    {"user-auth-timeout", "RTMESH_USER_AUTH_TIMEOUT", RTM_OPT_INT, S_OPT(user_auth_timeout), "30",
     1, 3600, "seconds a connection has to sign in when its app requires it (else 4009)"},
    {"handshake-timeout", "RTMESH_HANDSHAKE_TIMEOUT", RTM_OPT_INT, S_OPT(handshake_timeout), "10",
     1, 600, "seconds from accept to a complete first HTTP request or upgrade (else closed)"},
    {"http-idle-timeout", "RTMESH_HTTP_IDLE_TIMEOUT", RTM_OPT_INT, S_OPT(http_idle_timeout), "30",
     1, 3600, "seconds an idle HTTP keep-alive connection (REST) is kept"},
    {"max-header-kb", "RTMESH_MAX_HEADER_KB", RTM_OPT_INT, S_OPT(max_header_kb), "8", 1, 64,
     "KiB of an HTTP request line + headers (else 431)"},
    {"max-headers", "RTMESH_MAX_HEADERS", RTM_OPT_INT, S_OPT(max_headers), "64", 4, 1000,
     "header lines of an HTTP request (else 431)"},
    {"max-channels-per-connection", "RTMESH_MAX_CHANNELS_PER_CONNECTION", RTM_OPT_INT,
     S_OPT(max_channels), "100", 1, 100000,
     "channels one connection may subscribe (the next is refused; the connection stays)"},
    {"max-connections", "RTMESH_MAX_CONNECTIONS", RTM_OPT_INT, S_OPT(max_conns), "0", 0, 10000000,
     "TCP connections this node holds; more are closed at accept; 0 = unlimited"},
    {"max-connections-per-ip", "RTMESH_MAX_CONNECTIONS_PER_IP", RTM_OPT_INT,
     S_OPT(max_conns_per_ip), "0", 0, 10000000,
     "TCP connections from one client address; more are closed at accept; 0 = unlimited"},
    {"drain-seconds", "RTMESH_DRAIN_SECONDS", RTM_OPT_INT, S_OPT(drain_s), "5", 0, 3600,
     "after SIGTERM: seconds of /readyz 503 and REST service, WebSockets told to reconnect "
     "(4200) and new ones refused, before the node stops; a second signal stops at once"},
    {"compression", "RTMESH_COMPRESSION", RTM_OPT_INT, S_OPT(compression), "1", 0, 1,
     "1: permessage-deflate (RFC 7692) for clients that offer it, each broadcast compressed "
     "once (an app's \"compression\": false turns it off for that app); 0: off for every app"},
    {"log-level", "RTMESH_LOG_LEVEL", RTM_OPT_STRING, S_OPT(log_level), "info", 0, 0,
     "least level logged: debug, info, warn or error"},
    {"curve-secret", "RTMESH_CURVE_SECRET", RTM_OPT_STRING, S_OPT(curve_secret), NULL, 0, 0,
     "this node's secret certificate (PATH_secret of rtmesh keygen PATH; its public one must be "
     "in the brokers' --curve-allow): CURVE on every broker link"},
    {"curve-broker", "RTMESH_CURVE_BROKER", RTM_OPT_STRING, S_OPT(curve_broker), NULL, 0, 0,
     "the brokers' public certificate (with --curve-secret)"},
    {"tls-cert", "RTMESH_TLS_CERT", RTM_OPT_STRING, S_OPT(tls_cert), NULL, 0, 0,
     "PEM certificate chain (the certificate first): with --tls-key the port also serves "
     "wss:// and https://, told from clear text by the first byte; reloaded on SIGHUP and when "
     "the files change"},
    {"tls-key", "RTMESH_TLS_KEY", RTM_OPT_STRING, S_OPT(tls_key), NULL, 0, 0,
     "PEM private key of --tls-cert"},
};
#define S_N_OPTIONS (sizeof s_options / sizeof s_options[0])

/* The roster and its first list, checked so that a bad one stops the start. */
static int s_brokers(rtm_node_t *node, char *err, size_t err_len)
{
    node->roster = rtm_roster_new(node->opt.brokers, node->opt.brokers_file, err, err_len);
    if (!node->roster)
        return RTM_EINVAL;
    char *text;
    node->brokers_gen = rtm_roster_take(node->roster, 0, &text);
    int rc = rtm_brokers_parse(&node->brokers, text, strlen(text), '\n',
                               rtm_roster_what(node->roster), err, err_len);
    free(text);
    return rc < 0 ? rc : 0;
}

/* New connections get the certificate now in the files; a pair that does
 * not load is refused and the one in use kept. */
static void s_reload_tls(rtm_node_t *node, const char *trigger)
{
    char err[512], what[320];
    if (rtm_tls_reload(node->tls, err, sizeof err) < 0) {
        rtm_log(RTM_LOG_ERROR,
                "event=tls_reload_refused trigger=%s error=\"%s\" action=kept_certificate", trigger,
                err);
        return;
    }
    rtm_tls_describe(node->tls, what, sizeof what);
    rtm_log(RTM_LOG_INFO, "event=tls_reloaded trigger=%s %s", trigger, what);
}

/* The apps file's "enabled" flags (the workers see them at once: connections
 * of an app disabled now are closed at their next sweep). */
static void s_reload_apps(rtm_node_t *node)
{
    rtm_apps_t fresh;
    char err[512];
    if (rtm_apps_load_file(&fresh, node->opt.apps_file, err, sizeof err) < 0) {
        rtm_log(RTM_LOG_ERROR, "event=apps_reload_failed reason=\"%s\"", err);
        return;
    }
    size_t changed = rtm_apps_take_enabled(&node->apps, &fresh);
    rtm_apps_free(&fresh);
    rtm_log(RTM_LOG_INFO, "event=apps_reload file=\"%s\" enabled_changed=%zu", node->opt.apps_file,
            changed);
}

/* SIGHUP: the brokers file (the workers take the new list at their next
 * tick), the apps file's enabled flags and the certificate. */
static void s_reload(rtm_node_t *node)
{
    rtm_log(RTM_LOG_INFO, "event=reload source=\"%s\"", rtm_roster_what(node->roster));
    rtm_roster_reload(node->roster);
    if (node->opt.apps_file)
        s_reload_apps(node);
    if (node->tls)
        s_reload_tls(node, "sighup");
}

/* Waits for a stopping signal, reloading on SIGHUP meanwhile, and every
 * second looks whether the certificate files changed. */
static int s_wait(rtm_node_t *node, const sigset_t *signals)
{
    const struct timespec check = {.tv_sec = 1};
    while (1) {
        int sig = sigtimedwait(signals, NULL, &check);
        if (sig < 0) { /* the second passed (or EINTR) */
            if (node->tls && rtm_tls_files_changed(node->tls))
                s_reload_tls(node, "files_changed");
        } else if (sig == SIGHUP) {
            s_reload(node);
        } else {
            return sig;
        }
    }
}

/* --tls-cert and --tls-key, both or neither (empty counts as unset). */
static int s_tls(rtm_node_t *node, char *err, size_t err_len)
{
    const char *cert = node->opt.tls_cert, *key = node->opt.tls_key;
    bool has_cert = cert && *cert, has_key = key && *key;
    if (has_cert != has_key)
        return rtm_error_fmt(err, err_len, RTM_EINVAL,
                             "--tls-cert/RTMESH_TLS_CERT and --tls-key/RTMESH_TLS_KEY go together");
    return has_cert ? rtm_tls_new(cert, key, &node->tls, err, err_len) : 0;
}

static int s_configure(rtm_node_t *node, int argc, char **argv)
{
    char err[512];
    int rc = rtm_config_parse(s_options, S_N_OPTIONS, &node->opt, argc, argv, err, sizeof err);
    if (rc == RTM_EHELP) {
        rtm_config_usage(stdout, "rtmesh-node",
                         "Edge node: Pusher protocol 7 WebSockets and REST API.", s_options,
                         S_N_OPTIONS);
        exit(0);
    }
    if (rc == 0)
        rc = rtm_log_configure(node->opt.log_level, err, sizeof err);
    if (rc == 0)
        rc = s_brokers(node, err, sizeof err);
    if (rc >= 0)
        rc = node->opt.apps_file
                 ? rtm_apps_load_file(&node->apps, node->opt.apps_file, err, sizeof err)
                 : rtm_apps_load_single(&node->apps, node->opt.app_id, node->opt.app_key,
                                        node->opt.app_secret, err, sizeof err);
    if (rc >= 0)
        rc = rtm_tier_keys_load(&node->keys, node->opt.curve_secret,
                                "--curve-secret/RTMESH_CURVE_SECRET", node->opt.curve_broker,
                                "--curve-broker/RTMESH_CURVE_BROKER", true, err, sizeof err);
    if (rc >= 0)
        rc = s_tls(node, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "rtmesh-node: configuration error: %s\n", err);
        return rc;
    }
    if (node->opt.workers == 0) {
        /* The CPUs the process may run on, not the machine's: a node pinned to 2 of 64 cores
         * with more workers than that would only time-share them. At least 1. */
        unsigned cpus = uv_available_parallelism();
        node->opt.workers = cpus > RTM_NODE_MAX_WORKERS ? RTM_NODE_MAX_WORKERS : (int)cpus;
    }
    return 0;
}

static int s_start_workers(rtm_node_t *node, rtm_worker_t **workers)
{
    for (int i = 0; i < node->opt.workers; i++) {
        int rc = rtm_worker_create(node, i, &workers[i]);
        if (rc < 0) {
            fprintf(stderr, "rtmesh-node: cannot listen on %s:%ld: %s\n", node->opt.host,
                    node->opt.port, rtm_strerror(rc));
            return rc;
        }
        node->n_workers = i + 1;
    }
    for (int i = 0; i < node->n_workers; i++)
        rtm_worker_run(workers[i]);
    return 0;
}

/* After SIGTERM (an orchestrator's stop), turns the node to draining and
 * waits out the drain period; another signal ends the wait early. SIGINT
 * (Ctrl-C) stops at once. */
static void s_drain(rtm_node_t *node, rtm_worker_t **workers, const sigset_t *stop, int sig)
{
    if (node->opt.drain_s == 0 || sig != SIGTERM)
        return;
    rtm_log(RTM_LOG_INFO, "event=draining signal=%d seconds=%ld", sig, node->opt.drain_s);
    __atomic_store_n(&node->draining, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < node->n_workers; i++)
        rtm_worker_drain(workers[i]);
    struct timespec now, end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += node->opt.drain_s;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ns = (end.tv_sec - now.tv_sec) * 1000000000L + (end.tv_nsec - now.tv_nsec);
        if (ns <= 0)
            return;
        struct timespec left = {.tv_sec = ns / 1000000000L, .tv_nsec = ns % 1000000000L};
        int got = sigtimedwait(stop, NULL, &left);
        if (got == SIGHUP) { /* still serving while draining: the list may change */
            s_reload(node);
            continue;
        }
        if (got > 0)
            rtm_log(RTM_LOG_INFO, "event=drain_cut reason=second_signal");
        if (got > 0 || errno != EINTR)
            return;
    }
}

int main(int argc, char **argv)
{
    rtm_node_t node = {0};
    if (s_configure(&node, argc, argv) < 0) {
        rtm_brokers_free(&node.brokers);
        rtm_roster_destroy(&node.roster);
        rtm_apps_free(&node.apps);
        rtm_tls_destroy(&node.tls);
        return 2;
    }
    /* Workers inherit this mask: only the main thread takes the signals. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(node.id, sizeof node.id, "%s/%ld", host, (long)getpid());
    rtm_process_raise_nofile("rtmesh-node");
    node.quota = rtm_quota_new(&node.apps);
    node.addr_limit =
        rtm_addr_limit_new((uint32_t)node.opt.max_conns, (uint32_t)node.opt.max_conns_per_ip);
    for (int i = 0; i < RTM_NODE_MAX_WORKERS; i++)
        rtm_relay_inbox_init(&node.inbox[i]);
    rtm_relay_inbox_init(&node.wants);
    rtm_worker_t *workers[RTM_NODE_MAX_WORKERS] = {0};
    int rc = s_start_workers(&node, workers);
    if (rc == 0) {
        rtm_log(RTM_LOG_INFO,
                "event=started host=%s port=%ld workers=%d brokers=%u brokers_from=\"%s\" apps=%zu "
                "tls=%s",
                node.opt.host, node.opt.port, node.n_workers, node.brokers.n,
                rtm_roster_what(node.roster), node.apps.n, node.tls ? "on" : "off");
        if (node.tls) {
            char what[320];
            rtm_tls_describe(node.tls, what, sizeof what);
            rtm_log(RTM_LOG_INFO, "event=tls_certificate %s", what);
        }
        int sig = s_wait(&node, &stop);
        s_drain(&node, workers, &stop, sig);
        rtm_log(RTM_LOG_INFO, "event=stopping signal=%d", sig);
        for (int i = node.n_workers - 1; i >= 0; i--) /* worker 0 last: it hears for all */
            rtm_worker_stop(&workers[i]);
    } else {
        for (int i = node.n_workers - 1; i >= 0; i--) { /* created, not yet running */
            rtm_worker_run(workers[i]);
            rtm_worker_stop(&workers[i]);
        }
    }
    for (int i = 0; i < RTM_NODE_MAX_WORKERS; i++)
        rtm_relay_inbox_destroy(&node.inbox[i]);
    rtm_relay_inbox_destroy(&node.wants);
    rtm_quota_destroy(&node.quota);
    rtm_addr_limit_destroy(&node.addr_limit);
    rtm_brokers_free(&node.brokers);
    rtm_roster_destroy(&node.roster);
    rtm_apps_free(&node.apps);
    rtm_tls_destroy(&node.tls);
    rtm_log(RTM_LOG_INFO, "event=stopped");
    return rc < 0 ? 1 : 0;
}
