/* rtm_node — the edge node's process-wide context.
 *
 * Holds the parsed options, the app table, the broker roster (itself
 * thread-safe: each worker polls it for a new list at its tick) and the
 * ZeroMQ context every worker's sockets come from; read-only once workers
 * run.
 * Workers share four things besides it, each written atomically: whether the
 * node drains (set once by the main thread at SIGTERM), the
 * connection quota (every worker admits connections), and per worker its
 * metrics and readiness, each written only by its own worker and read by
 * whichever worker serves /metrics or /readyz. And the relay inboxes
 * (locked): what the node hears from the brokers' egress, once, in worker
 * 0's loop, reaches the other workers through them (node/egress_hub.h). */
#ifndef RTM_NODE_H
#define RTM_NODE_H

#include "addr_limit.h"
#include "metrics.h"
#include "quota.h"
#include "relay.h"
#include "rtm_apps.h"
#include "rtm_brokers.h"
#include "rtm_roster.h"
#include "rtm_tier.h"
#include "tls.h"

#include <stddef.h>

typedef struct {
    const char *host;         /* --host: address to listen on */
    long port;                /* --port: WebSocket + REST */
    const char *brokers;      /* --brokers: comma list of broker ingress endpoints, or dns:// */
    const char *brokers_file; /* --brokers-file: one endpoint per line, re-read on SIGHUP */
    long workers;             /* --workers: threads, 0 = number of cores */
    const char *apps_file;    /* --apps: JSON file; NULL = single app from env */
    const char *app_id;       /* single-app defaults */
    const char *app_key;
    const char *app_secret;
    long activity_timeout;    /* seconds announced to clients and idle time before our ping */
    long pong_timeout;        /* seconds to wait for any reply to our ping */
    long max_outbound_kb;     /* per-connection unsent bytes before a slow client is dropped */
    long user_auth_timeout;   /* seconds to sign in, for apps that require it */
    long handshake_timeout;   /* seconds from accept to a first complete HTTP request */
    long http_idle_timeout;   /* seconds an idle HTTP keep-alive connection is kept */
    long max_header_kb;       /* KiB of an HTTP request head */
    long max_headers;         /* header lines of an HTTP request */
    long max_channels;        /* subscriptions per connection */
    long max_conns;           /* TCP connections held by this node; 0 = unlimited */
    long max_conns_per_ip;    /* TCP connections from one client address; 0 = unlimited */
    long drain_s;             /* seconds between SIGTERM and the stop (/readyz 503 meanwhile) */
    long compression;         /* 1: permessage-deflate for clients that offer it (apps may not) */
    const char *log_level;    /* --log-level: the least level logged */
    const char *curve_secret; /* --curve-secret: this node's secret certificate file */
    const char *curve_broker; /* --curve-broker: the brokers' public certificate file */
    const char *tls_cert;     /* --tls-cert: PEM certificate chain; with tls_key, TLS is on */
    const char *tls_key;      /* --tls-key: PEM private key */
} rtm_node_options_t;

#define RTM_NODE_MAX_WORKERS 64

typedef struct {
    rtm_node_options_t opt;
    char id[96]; /* "<hostname>/<pid>": names this node in /metrics */
    rtm_apps_t apps;
    rtm_roster_t *roster;  /* where the broker list comes from; workers poll it */
    rtm_brokers_t brokers; /* the list at start (roster generation brokers_gen) */
    rtm_tier_keys_t keys;  /* CURVE keys toward the brokers; empty: plain text */
    rtm_tls_t *tls;        /* the clients' TLS certificate; NULL: clear text only; thread-safe */
    uint64_t brokers_gen;
    rtm_quota_t *quota;           /* mesh-wide connection limits; atomic */
    rtm_addr_limit_t *addr_limit; /* TCP connections per node and per address; locked */
    int n_workers;
    rtm_metrics_t *metrics[RTM_NODE_MAX_WORKERS]; /* each worker's counters; atomic */
    int ready[RTM_NODE_MAX_WORKERS];              /* each worker reaches every live shard; atomic */
    int mismatched[RTM_NODE_MAX_WORKERS]; /* live brokers whose list differs, per worker; atomic */
    int draining; /* SIGTERM arrived: not ready, no new WebSockets; atomic, set once */
    /* What worker 0's egress hub hands each other worker, and the topics they
     * want (to the hub): made before the workers, freed after them. */
    rtm_relay_inbox_t inbox[RTM_NODE_MAX_WORKERS];
    rtm_relay_inbox_t wants;
} rtm_node_t;

/* Whether the node is draining before it stops. */
static inline bool rtm_node_draining(const rtm_node_t *node)
{
    return __atomic_load_n(&node->draining, __ATOMIC_RELAXED);
}

/* Whether every worker reaches every live shard (for /readyz). */
static inline bool rtm_node_ready(const rtm_node_t *node)
{
    for (int i = 0; i < node->n_workers; i++)
        if (!__atomic_load_n(&node->ready[i], __ATOMIC_RELAXED))
            return false;
    return node->n_workers > 0;
}

/* Live brokers whose broker list differs from this node's, at most over the
 * workers (for /readyz). */
static inline int rtm_node_mismatched(const rtm_node_t *node)
{
    int most = 0;
    for (int i = 0; i < node->n_workers; i++) {
        int n = __atomic_load_n(&node->mismatched[i], __ATOMIC_RELAXED);
        most = n > most ? n : most;
    }
    return most;
}

#endif
