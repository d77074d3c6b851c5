/* rtm_worker — one thread of the edge node: share-nothing, lock-free.
 *
 * Each worker has its own libuv loop, its own SO_REUSEPORT listening socket
 * (the kernel spreads connections over workers), its own ZeroMQ sockets, and
 * its own connection and channel tables. Nothing on the data path is shared
 * between workers; the only cross-thread reads are the metrics counters. */
#ifndef RTM_WORKER_H
#define RTM_WORKER_H

#include "channels.h"
#include "conn.h"
#include "metrics.h"
#include "node.h"
#include "upstream.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define RTM_WORKER_RBUF (64 * 1024 + 64) /* one read: a max frame plus its header */

struct rtm_worker {
    int index;
    const rtm_node_t *node; /* process context, read-only */
    uv_loop_t loop;
    uv_tcp_t listener;     /* this worker's SO_REUSEPORT socket */
    uv_async_t stop_async; /* main thread asks the worker to stop */
    uv_timer_t sweep;      /* activity timeouts and close deadlines */
    uv_prepare_t flush;    /* writes everything corked during the turn, before polling */
    rtm_upstream_t up;
    rtm_channel_t *channels; /* uthash head, keyed by topic */
    bool channels_attention; /* some channel needs the tick (count, sync, free) */
    rtm_conn_t *conns;       /* every open connection */
    rtm_conn_t *dirty;       /* connections with frames to flush */
    uint64_t sid_prefix;     /* random first half of this worker's socket ids */
    uint64_t sid_next;       /* counter for the second half */
    int ready;               /* mirrored for /readyz on other workers (atomic) */
    bool stopping;
    rtm_metrics_t metrics;
    uv_thread_t thread;
    uint8_t rbuf[RTM_WORKER_RBUF]; /* shared read buffer for connections without partial input */
};

/* Creates worker `index`: binds its listening socket and opens its ZeroMQ
 * links, without running anything yet. Returns 0 or a negative code (the port
 * could not be bound, sockets failed); *out is then NULL. */
int rtm_worker_create(const rtm_node_t *node, int index, rtm_worker_t **out);

/* Starts the worker's thread. Call once every worker exists: workers read
 * each other's metrics and readiness. */
void rtm_worker_run(rtm_worker_t *w);

/* Asks a running worker to stop (thread-safe), joins it and frees it. */
void rtm_worker_stop(rtm_worker_t **w);

/* Whether every worker reaches every live shard (for /readyz). */
bool rtm_worker_node_ready(const rtm_worker_t *w);

#endif
