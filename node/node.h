/* rtm_node — the edge node's process-wide context, read-only once workers run.
 *
 * Holds the parsed options, the app table, the broker list and the ZeroMQ
 * context every worker's sockets come from. Workers share nothing else. */
#ifndef RTM_NODE_H
#define RTM_NODE_H

#include "rtm_apps.h"

#include <stddef.h>

typedef struct {
    const char *host;      /* --host: address to listen on */
    long port;             /* --port: WebSocket + REST */
    const char *brokers;   /* --brokers: comma list of shard ingress endpoints */
    long workers;          /* --workers: threads, 0 = number of cores */
    const char *apps_file; /* --apps: JSON file; NULL = single app from env */
    const char *app_id;    /* single-app defaults */
    const char *app_key;
    const char *app_secret;
    long activity_timeout;  /* seconds announced to clients and idle time before our ping */
    long pong_timeout;      /* seconds to wait for any reply to our ping */
    long max_outbound_kb;   /* per-connection unsent bytes before a slow client is dropped */
    long user_auth_timeout; /* seconds to sign in, for apps that require it */
} rtm_node_options_t;

#define RTM_NODE_MAX_WORKERS 64

typedef struct rtm_worker rtm_worker_t;

typedef struct {
    rtm_node_options_t opt;
    char id[96]; /* "<hostname>/<pid>": names this node in /metrics */
    rtm_apps_t apps;
    char **brokers; /* NULL-terminated list of ingress endpoints, in shard order */
    int n_brokers;
    void *zmq_ctx;             /* shared; thread-safe by ZeroMQ's contract */
    uint64_t *app_connections; /* per app (by index), all workers; atomic */
    uint64_t *app_elsewhere;   /* per app: connections on other nodes (rtm_quota); atomic */
    rtm_worker_t **workers;
    int n_workers;
} rtm_node_t;

#endif
