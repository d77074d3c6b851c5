/* node_table — the edge-node workers this broker hears from.
 *
 * Each node worker is one DEALER peer of the ingress ROUTER and heartbeats
 * with NODE_HB every RTM_WIRE_HB_MS. The table maps the peer's ZeroMQ routing
 * identity to when it was last heard, so the broker knows when a node is gone
 * (its presence members and subscription counts then go with it). Each peer
 * also gets a peer number, never reused while the broker runs, which is what
 * the channel state stores instead of the (up to 255-byte) identity. */
#ifndef RTM_NODE_TABLE_H
#define RTM_NODE_TABLE_H

#include "rtm_str.h"

#include <stddef.h>
#include <stdint.h>

#define RTM_NODE_TABLE_MAX 65536 /* most peers tracked at once */

typedef struct rtm_node_table rtm_node_table_t;

/* Called by rtm_node_table_expire for each peer it removes, with that peer's
 * number; ctx is the caller's. */
typedef void (*rtm_node_lost_fn)(void *ctx, uint32_t peer);

/* An empty table; caller owns it. Aborts on OOM. */
rtm_node_table_t *rtm_node_table_new(void);

/* Frees the table and every entry, and sets *table to NULL. Safe on NULL. */
void rtm_node_table_destroy(rtm_node_table_t **table);

/* Records a heartbeat from the peer with routing identity `identity` (at most
 * 255 bytes, as ZeroMQ guarantees) calling itself `name`, at now_ms
 * (monotonic). Both are copied. Returns 1 when the peer is new (logged), 0
 * when it was known (a peer registered by rtm_node_table_peer gets its name
 * now), RTM_EINVAL for an empty or over-long identity, RTM_EUNAVAIL when the
 * table already holds RTM_NODE_TABLE_MAX peers. */
int rtm_node_table_seen(rtm_node_table_t *table, rtm_str_t identity, rtm_str_t name,
                        uint64_t now_ms);

/* The peer number of `identity` in *peer. A peer not in the table is
 * registered as if it had sent a heartbeat at now_ms, so whatever state it
 * creates expires with it even if it never heartbeats; a known peer's time is
 * NOT refreshed (only heartbeats prove liveness). Returns 0 when known, 1
 * when registered, RTM_EINVAL or RTM_EUNAVAIL as rtm_node_table_seen. */
int rtm_node_table_peer(rtm_node_table_t *table, rtm_str_t identity, uint64_t now_ms,
                        uint32_t *peer);

/* Removes and logs every peer silent for more than RTM_WIRE_DEAD_MS at now_ms,
 * calling lost(ctx, peer) for each after it is removed (lost may be NULL).
 * Returns how many were removed. */
size_t rtm_node_table_expire(rtm_node_table_t *table, uint64_t now_ms, rtm_node_lost_fn lost,
                             void *ctx);

/* Number of peers in the table. */
size_t rtm_node_table_count(const rtm_node_table_t *table);

#endif
