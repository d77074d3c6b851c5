/* rtm_worker — one thread of the edge node, and the one place that wires
 * the node's layers together.
 *
 * Each worker has its own libuv loop, its own SO_REUSEPORT listening socket
 * (the kernel spreads connections over workers), its own connection set,
 * DEALER links to the brokers and channel table. Worker 0's loop also holds
 * the node's egress hub (node/egress_hub.h): the one SUB link per broker,
 * whose events, control messages and heartbeats reach the other workers
 * through their inboxes in rtm_node_t — the one thing on the data path
 * shared between workers. What else is shared lives in rtm_node_t too
 * (quota, metrics, readiness), written atomically. One timer ticks
 * everything: the links' heartbeats and deadlines, the channel table, the
 * quota and the hub's unlisted links (worker 0) and, less often, the
 * sessions' deadlines. */
#ifndef RTM_WORKER_H
#define RTM_WORKER_H

#include "node.h"

typedef struct rtm_worker rtm_worker_t;

/* Creates worker `index` of node (borrowed for the worker's life): binds its
 * listening socket and opens its ZeroMQ links (worker 0: and the egress
 * hub; the others: their inbox), without running anything yet. Worker 0 is
 * created first and stopped last. Returns 0 or a negative code (the port
 * could not be bound, sockets failed); *out is then NULL. */
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
