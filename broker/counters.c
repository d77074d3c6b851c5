/* counters — see counters.h. One row per counter: its key in the log line,
 * its metric name (NULL: exported by another renderer), whether it is a
 * gauge (a current value) or a counter (since start), and the help text
 * Prometheus shows. */
#include "counters.h"

#include "rtm_log.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *key;    /* in the log line */
    const char *metric; /* Prometheus family name */
    bool gauge;
    const char *help;
    bool hex; /* logged as 16 hex digits (a digest) */
} s_row_t;

#define S_C(id, key, metric, help) [id] = {key, metric, false, help, false}
#define S_G(id, key, metric, help) [id] = {key, metric, true, help, false}
static const s_row_t s_rows[RTM_CTR_COUNT] = {
    S_C(RTM_CTR_PUBLISHED, "published", "rtmesh_broker_events_published_total",
        "Events rendered and published on the egress."),
    S_C(RTM_CTR_CONTROLS, "controls", "rtmesh_broker_controls_published_total",
        "Channel control messages (SYNC, MEMBER, TERMINATE) published on the egress."),
    S_C(RTM_CTR_ACKS, "acks", "rtmesh_broker_acks_total", "ACKs sent to nodes, any status."),
    S_C(RTM_CTR_NOT_OWNER, "not_owner", "rtmesh_broker_not_owner_total",
        "Requests refused or ignored because another shard owns the channel."),
    S_C(RTM_CTR_MALFORMED, "malformed", "rtmesh_broker_malformed_total",
        "Ingress bodies or frames refused, and unexpected message types."),
    S_C(RTM_CTR_UNKNOWN_APP, "unknown_app", "rtmesh_broker_unknown_app_total",
        "Messages for an app this mesh does not serve."),
    S_C(RTM_CTR_PUBLISH_REFUSED, "publish_refused", "rtmesh_broker_publish_refused_total",
        "PUBLISHes refused by the REST API's rules (names, payload size, channels)."),
    S_C(RTM_CTR_STALLED_REFUSED, "stalled_refused", "rtmesh_broker_stalled_refused_total",
        "PUBLISHes refused because their senders may have given up on them: sent before "
        "this broker's last stall, or stamped with a heartbeat it sent 1900 ms ago or more."),
    S_C(RTM_CTR_APP_REFUSED, "app_refused", "rtmesh_broker_app_refused_total",
        "Messages from a service key for an app whose publishers do not name it."),
    S_C(RTM_CTR_AUTH_REFUSED, "auth_refused", "rtmesh_broker_auth_refused_total",
        "Connections refused by the CURVE allow-list (unknown key)."),
    S_C(RTM_CTR_HANDSHAKE_FAILED, "handshake_failed", "rtmesh_broker_handshake_failed_total",
        "Connections whose CURVE handshake failed (plain text, wrong server key)."),
    S_C(RTM_CTR_EGRESS_DROPS, "egress_drops", "rtmesh_broker_egress_drops_total",
        "Egress messages refused at a subscriber's high-water mark."),
    S_C(RTM_CTR_REPLY_DROPS, "reply_drops", "rtmesh_broker_reply_drops_total",
        "Replies the ingress could not queue (node gone or stuck)."),
    S_C(RTM_CTR_SUBSCRIPTIONS, "subscriptions", "rtmesh_broker_egress_subscribes_total",
        "Topic subscriptions received on the egress."),
    S_C(RTM_CTR_UNSUBSCRIPTIONS, "unsubscriptions", "rtmesh_broker_egress_unsubscribes_total",
        "Topic unsubscriptions received on the egress."),
    S_G(RTM_CTR_NODES, "nodes", "rtmesh_broker_nodes", "Node workers heard from."),
    S_G(RTM_CTR_LIVE_SHARDS, "live_shards", "rtmesh_broker_live_shards",
        "Shards this shard sees alive, itself included."),
    S_G(RTM_CTR_RECORDS, "records", "rtmesh_broker_channel_records", "Channel records held."),
    S_G(RTM_CTR_USERS, "users", "rtmesh_broker_presence_users",
        "Presence users over all channels held."),
    S_G(RTM_CTR_PRESENCE_CONNS, "presence_conns", "rtmesh_broker_presence_connections",
        "Presence connections over all channels held."),
    S_G(RTM_CTR_STATE_BYTES, "state_bytes", "rtmesh_broker_state_bytes",
        "Bytes of presence and cache state held."),
    S_C(RTM_CTR_REFUSED, "refused", "rtmesh_broker_state_refused_total",
        "State refused by a capacity limit."),
    S_C(RTM_CTR_FULL, "full", "rtmesh_broker_presence_full_total",
        "Presence joins refused: the channel was at its member limit."),
    S_C(RTM_CTR_SYNCS, "syncs", "rtmesh_broker_syncs_total", "SYNC messages published."),
    S_C(RTM_CTR_SYNCS_SKIPPED, "syncs_skipped", "rtmesh_broker_syncs_skipped_total",
        "SYNC requests answered by a SYNC sent just before."),
    S_C(RTM_CTR_MEMBER_EVENTS, "member_events", "rtmesh_broker_member_events_total",
        "MEMBER messages published."),
    S_C(RTM_CTR_COUNT_EVENTS, "count_events", "rtmesh_broker_count_events_total",
        "subscription_count events published."),
    S_C(RTM_CTR_CACHED, "cached", "rtmesh_broker_cached_total",
        "Events stored as a cache channel's last event."),
    S_C(RTM_CTR_QUERIES, "queries", "rtmesh_broker_queries_total",
        "QUERY messages answered, any status."),
    S_C(RTM_CTR_TERMINATES, "terminates", "rtmesh_broker_terminates_total",
        "TERMINATE messages published."),
    S_C(RTM_CTR_STALE_LEAVES, "stale_leaves", "rtmesh_broker_stale_leaves_total",
        "Presence leaves for connections not held."),
    S_C(RTM_CTR_SWEPT, "swept", "rtmesh_broker_swept_total",
        "Records dropped because channel ownership moved."),
    S_C(RTM_CTR_HOOKS, "hooks", "rtmesh_broker_hooks_total",
        "Webhook changes handed on by the channel state."),
    S_C(RTM_CTR_INHERITED, "inherited", "rtmesh_broker_inherited_total",
        "Occupations and members taken over from re-announcements (no webhook)."),
    S_C(RTM_CTR_HOOKS_ELSEWHERE, "hooks_elsewhere", "rtmesh_broker_hooks_elsewhere_total",
        "Channel changes not reported: another shard owns the channel."),
    S_G(RTM_CTR_BROKERS, "brokers", "rtmesh_broker_list_brokers", "Brokers in this broker's list."),
    [RTM_CTR_LIST_DIGEST] = {"list_digest", NULL, true, NULL, true},
    S_G(RTM_CTR_PEERS_LIST_MISMATCH, "peers_list_mismatch", "rtmesh_broker_peers_list_mismatch",
        "Live peers whose broker list differs from this broker's."),
    S_C(RTM_CTR_PEER_LIST_MISMATCHES, "peer_list_mismatches",
        "rtmesh_broker_peer_list_mismatches_total",
        "Times a peer started disagreeing on the list."),
    S_C(RTM_CTR_NODE_LIST_MISMATCH, "node_list_mismatch", "rtmesh_broker_node_list_mismatch_total",
        "Node heartbeats whose broker list differs from this broker's."),
    S_C(RTM_CTR_LIST_RELOADS, "list_reloads", "rtmesh_broker_list_reloads_total",
        "Broker lists taken (start included)."),
    S_C(RTM_CTR_LIST_ERRORS, "list_errors", "rtmesh_broker_list_errors_total",
        "Broker lists refused (the last good one kept)."),
    S_C(RTM_CTR_PEER_WEBHOOKS_LOST, "peer_webhooks_lost", NULL, NULL),
};

void rtm_counters_log(const uint64_t values[RTM_CTR_COUNT], const char *event, const char *broker,
                      int shard)
{
    char line[2048];
    size_t len = 0;
    for (size_t i = 0; i < RTM_CTR_COUNT && len < sizeof line; i++)
        len += (size_t)snprintf(line + len, sizeof line - len,
                                s_rows[i].hex ? " %s=%016" PRIx64 : " %s=%" PRIu64, s_rows[i].key,
                                values[i]);
    rtm_log(RTM_LOG_INFO, "event=%s broker=%s shard=%d%s", event, broker, shard, line);
}

void rtm_counters_render(const uint64_t values[RTM_CTR_COUNT], const char *broker, int shard,
                         rtm_prom_t *out)
{
    char id[16];
    if (shard < 0)
        snprintf(id, sizeof id, "unlisted");
    else
        snprintf(id, sizeof id, "%d", shard);
    const rtm_prom_label_t labels[2] = {{"broker", broker}, {"shard", id}};
    for (size_t i = 0; i < RTM_CTR_COUNT; i++) {
        if (!s_rows[i].metric)
            continue;
        rtm_prom_family(out, s_rows[i].metric, s_rows[i].gauge ? "gauge" : "counter",
                        s_rows[i].help);
        rtm_prom_sample(out, s_rows[i].metric, labels, 2, values[i]);
    }
}

char *rtm_counters_json(const uint64_t values[RTM_CTR_COUNT], const char *broker, int shard,
                        size_t *len)
{
    json_t *o = json_object();
    json_object_set_new(o, "broker", json_string(broker));
    json_object_set_new(o, "shard", shard < 0 ? json_null() : json_integer(shard));
    for (size_t i = 0; i < RTM_CTR_COUNT; i++) {
        char hex[17];
        snprintf(hex, sizeof hex, "%016" PRIx64, values[i]);
        /* JSON numbers are doubles to most readers: counters stay far below 2^53 */
        json_object_set_new(o, s_rows[i].key,
                            s_rows[i].hex ? json_string(hex) : json_integer((json_int_t)values[i]));
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        abort();
    *len = strlen(text);
    return text;
}
