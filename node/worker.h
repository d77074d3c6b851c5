/* rtm_worker — one thread of the edge node, and the one place that wires
 * the node's layers together.
 *
 * Each worker has its own libuv loop, its own SO_REUSEPORT listening socket
 * (the kernel spreads connections over workers), its own connection set,
 * ZeroMQ links and channel table; nothing on the data path is shared with
 * other workers. What is shared lives in rtm_node_t (quota, metrics,
 * readiness), written atomically. One timer ticks everything: the links'
 * heartbeats and deadlines, the channel table, the quota (worker 0) and,
 * less often, the sessions' deadlines. */
#ifndef RTM_WORKER_H
#define RTM_WORKER_H

#include "node.h"

typedef struct rtm_worker rtm_worker_t;

/* Creates worker `index` of node (borrowed for the worker's life): binds its
 * listening socket and opens its ZeroMQ links, without running anything
 * yet. Returns 0 or a negative code (the port could not be bound, sockets
 * failed); *out is then NULL. */
int rtm_worker_create(rtm_node_t *node, int index, rtm_worker_t **out);

/* Starts the worker's thread. */
void rtm_worker_run(rtm_worker_t *w);

/* Asks a running worker to drain (thread-safe; rtm_node_t's draining must
 * already be set): its WebSocket clients are told to reconnect (4200); it
 * keeps listening and serving HTTP until rtm_worker_stop. */
void rtm_worker_drain(rtm_worker_t *w);

/* Asks a running worker to stop (thread-safe), joins it and frees it. */
void rtm_worker_stop(rtm_worker_t **w);

#endif
