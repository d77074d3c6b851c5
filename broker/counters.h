/* counters — the broker's counters and gauges, named once: the periodic
 * `event=stats` / `event=stop` log line and the Prometheus families of
 * /metrics are both written from the table in counters.c, so the two can
 * never disagree on what is counted.
 *
 * broker.c fills a value array indexed by rtm_counter_t; this module only
 * formats it. To add a counter: an enum entry here, a table row there, and
 * its value in broker.c's snapshot. Families with other labels (per app:
 * broker_metrics) belong to their own renderers; /metrics is both texts. */
#ifndef RTM_COUNTERS_H
#define RTM_COUNTERS_H

#include "rtm_prom.h"

#include <stdint.h>

typedef enum {
    RTM_CTR_PUBLISHED,
    RTM_CTR_CONTROLS,
    RTM_CTR_ACKS,
    RTM_CTR_NOT_OWNER,
    RTM_CTR_MALFORMED,
    RTM_CTR_UNKNOWN_APP,
    RTM_CTR_PUBLISH_REFUSED,
    RTM_CTR_STALLED_REFUSED,
    RTM_CTR_APP_REFUSED,
    RTM_CTR_AUTH_REFUSED,
    RTM_CTR_HANDSHAKE_FAILED,
    RTM_CTR_EGRESS_DROPS,
    RTM_CTR_REPLY_DROPS,
    RTM_CTR_SUBSCRIPTIONS,
    RTM_CTR_UNSUBSCRIPTIONS,
    RTM_CTR_NODES,
    RTM_CTR_LIVE_SHARDS,
    RTM_CTR_RECORDS,
    RTM_CTR_USERS,
    RTM_CTR_PRESENCE_CONNS,
    RTM_CTR_STATE_BYTES,
    RTM_CTR_REFUSED,
    RTM_CTR_FULL,
    RTM_CTR_SYNCS,
    RTM_CTR_SYNCS_SKIPPED,
    RTM_CTR_MEMBER_EVENTS,
    RTM_CTR_COUNT_EVENTS,
    RTM_CTR_CACHED,
    RTM_CTR_QUERIES,
    RTM_CTR_TERMINATES,
    RTM_CTR_STALE_LEAVES,
    RTM_CTR_SWEPT,
    RTM_CTR_HOOKS,
    RTM_CTR_INHERITED,
    RTM_CTR_HOOKS_ELSEWHERE,
    RTM_CTR_BROKERS,
    RTM_CTR_LIST_DIGEST, /* logged (hex) only: a 64-bit hash is no Prometheus sample */
    RTM_CTR_PEERS_LIST_MISMATCH,
    RTM_CTR_PEER_LIST_MISMATCHES,
    RTM_CTR_NODE_LIST_MISMATCH,
    RTM_CTR_LIST_RELOADS,
    RTM_CTR_LIST_ERRORS,
    RTM_CTR_PEER_WEBHOOKS_LOST, /* logged here; broker_metrics exports it with the webhooks */
    RTM_CTR_COUNT
} rtm_counter_t;

/* Logs one INFO line "event=<event> broker=<identity> shard=<index>
 * <key>=<value> ..." with every counter, in enum order; shard is this
 * broker's index in its list, -1 when it is not listed. */
void rtm_counters_log(const uint64_t values[RTM_CTR_COUNT], const char *event, const char *broker,
                      int shard);

/* Appends one family per counter (rtmesh_broker_*, labelled broker="<identity>"
 * and shard="<index>" or "unlisted") to out, except those another renderer
 * exports. */
void rtm_counters_render(const uint64_t values[RTM_CTR_COUNT], const char *broker, int shard,
                         rtm_prom_t *out);

/* The same values as one JSON object {"broker":"<identity>","shard":<index or
 * null>,"<key>":<value>,...} with the log line's keys (list_digest as a hex
 * string), for QUERY kind 4 (rtmesh status). Returns it newly allocated
 * (caller frees) with its length in *len. */
char *rtm_counters_json(const uint64_t values[RTM_CTR_COUNT], const char *broker, int shard,
                        size_t *len);

#endif
