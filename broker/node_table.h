/* node_table — the edge-node workers this broker hears from.
 *
 * Each node worker is one DEALER peer of the ingress ROUTER and heartbeats
 * with NODE_HB every RTM_WIRE_HB_MS. The table maps the peer's ZeroMQ routing
 * identity to when it was last heard, so the broker knows when a node is gone
 * (its presence members and subscription counts then go with it). */
#ifndef RTM_NODE_TABLE_H
#define RTM_NODE_TABLE_H

#include "rtm_str.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rtm_node_table rtm_node_table_t;

/* An empty table; caller owns it. Aborts on OOM. */
rtm_node_table_t *rtm_node_table_new(void);

/* Frees the table and every entry, and sets *table to NULL. Safe on NULL. */
void rtm_node_table_destroy(rtm_node_table_t **table);

/* Records a heartbeat from the peer with routing identity `identity` (at most
 * 255 bytes, as ZeroMQ guarantees) calling itself `name`, at now_ms
 * (monotonic). Both are copied. Returns 1 when the peer is new (logged), 0
 * when it was known, RTM_EINVAL for an empty or over-long identity. */
int rtm_node_table_seen(rtm_node_table_t *table, rtm_str_t identity, rtm_str_t name,
                        uint64_t now_ms);

/* Removes and logs every peer silent for more than RTM_WIRE_DEAD_MS at now_ms.
 * Returns how many were removed. */
size_t rtm_node_table_expire(rtm_node_table_t *table, uint64_t now_ms);

/* Number of peers in the table. */
size_t rtm_node_table_count(const rtm_node_table_t *table);

#endif
