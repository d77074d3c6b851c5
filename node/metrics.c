/* rtm_metrics — Prometheus text rendering of the summed per-worker counters.
 * A table maps each field to its family so adding a counter is one line. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *name;
    const char *type;
    const char *help;
    size_t offset;
} s_family_t;

#define S_F(name, type, field, help)                                                               \
    {                                                                                              \
        name, type, help, offsetof(rtm_metrics_t, field)                                           \
    }
static const s_family_t s_families[] = {
    S_F("rtmesh_connections", "gauge", connections, "Open WebSocket connections."),
    S_F("rtmesh_connections_total", "counter", connections_total, "WebSocket handshakes."),
    S_F("rtmesh_subscriptions", "gauge", subscriptions, "Connection-channel subscriptions."),
    S_F("rtmesh_channels", "gauge", channels, "Channels with a subscriber, per worker."),
    S_F("rtmesh_messages_in_total", "counter", messages_in_total, "Messages from clients."),
    S_F("rtmesh_messages_out_total", "counter", messages_out_total, "Messages to clients."),
    S_F("rtmesh_bytes_in_total", "counter", bytes_in_total, "Bytes read from clients."),
    S_F("rtmesh_bytes_out_total", "counter", bytes_out_total, "Bytes written to clients."),
    S_F("rtmesh_rest_requests_total", "counter", rest_requests_total, "HTTP API requests."),
    S_F("rtmesh_events_published_total", "counter", events_published,
        "Events accepted by a shard."),
    S_F("rtmesh_events_received_total", "counter", events_received, "Events from shards."),
    S_F("rtmesh_broker_list_mismatches_total", "counter", broker_list_mismatches,
        "Times a broker's heartbeat told a broker list other than this node's, per worker."),
    S_F("rtmesh_channels_unreachable_total", "counter", channels_unreachable,
        "Channels whose new owner never confirmed them (this node cannot hear a broker the "
        "mesh routes to): their subscribers were told to reconnect."),
};

static const char *const s_error_kinds[RTM_ERR_KIND_COUNT] = {
    [RTM_ERR_BAD_HTTP] = "bad_http",
    [RTM_ERR_BAD_FRAME] = "bad_frame",
    [RTM_ERR_BAD_UTF8] = "bad_utf8",
    [RTM_ERR_OVERSIZE] = "oversize",
    [RTM_ERR_BAD_JSON] = "bad_message",
    [RTM_ERR_UNKNOWN_APP] = "unknown_app",
    [RTM_ERR_BAD_CHANNEL] = "bad_channel",
    [RTM_ERR_BAD_AUTH] = "bad_auth",
    [RTM_ERR_CLIENT_EVENT] = "client_event_refused",
    [RTM_ERR_OVER_QUOTA] = "over_connection_quota",
    [RTM_ERR_REST_AUTH] = "rest_auth",
    [RTM_ERR_REST_INVALID] = "rest_invalid",
    [RTM_ERR_SLOW_CONSUMER] = "slow_consumer",
    [RTM_ERR_PONG_TIMEOUT] = "pong_timeout",
    [RTM_ERR_UPSTREAM] = "upstream_unavailable",
    [RTM_ERR_UPSTREAM_BAD] = "upstream_malformed",
    [RTM_ERR_HANDSHAKE_TIMEOUT] = "handshake_timeout",
    [RTM_ERR_HTTP_IDLE] = "http_idle_timeout",
    [RTM_ERR_HEADERS] = "header_limit",
    [RTM_ERR_CHANNEL_LIMIT] = "channel_limit",
    [RTM_ERR_NODE_FULL] = "node_connection_limit",
    [RTM_ERR_IP_LIMIT] = "address_connection_limit",
    [RTM_ERR_BAD_PROTOCOL] = "bad_protocol_version",
    [RTM_ERR_ACCEPT_PAUSED] = "accept_paused",
    [RTM_ERR_DRAINING] = "draining",
};

static uint64_t s_sum(const rtm_metrics_t *const *per_worker, size_t n, size_t offset)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += __atomic_load_n((const uint64_t *)((const char *)per_worker[i] + offset),
                               __ATOMIC_RELAXED);
    return sum;
}

/* A gauge family with one 0/1 sample per shard: the bool at `field`. */
static void s_shard_family(FILE *f, const char *name, const char *help,
                           const rtm_metrics_shard_t *shards, size_t n, size_t field)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s{shard=\"%s\"} %d\n", name, shards[i].endpoint,
                *(const bool *)((const char *)&shards[i] + field));
}

/* Channels broker `seed` owns, summed over the workers' reports. */
static uint64_t s_owned(const rtm_metrics_t *const *per_worker, size_t n, uint64_t seed)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = __atomic_load_n(&per_worker[i]->n_owned, __ATOMIC_RELAXED);
        for (uint64_t j = 0; j < k && j < RTM_METRICS_OWNERS; j++)
            if (__atomic_load_n(&per_worker[i]->owned[j].seed, __ATOMIC_RELAXED) == seed)
                sum += __atomic_load_n(&per_worker[i]->owned[j].channels, __ATOMIC_RELAXED);
    }
    return sum;
}

size_t rtm_metrics_render(const char *node_id, const rtm_metrics_t *const *per_worker, size_t n,
                          int ready, const rtm_metrics_shard_t *shards, size_t n_shards, char **out)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        abort();
    fprintf(f,
            "# HELP rtmesh_node_info The node that answered (hostname/pid).\n"
            "# TYPE rtmesh_node_info gauge\nrtmesh_node_info{node=\"%s\"} 1\n",
            node_id);
    for (size_t i = 0; i < sizeof s_families / sizeof s_families[0]; i++) {
        const s_family_t *fam = &s_families[i];
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", fam->name, fam->help, fam->name,
                fam->type, fam->name, (unsigned long long)s_sum(per_worker, n, fam->offset));
    }
    fputs("# HELP rtmesh_errors_total Refused input and abnormal closes, by kind.\n"
          "# TYPE rtmesh_errors_total counter\n",
          f);
    for (int k = 0; k < RTM_ERR_KIND_COUNT; k++)
        fprintf(f, "rtmesh_errors_total{kind=\"%s\"} %llu\n", s_error_kinds[k],
                (unsigned long long)s_sum(
                    per_worker, n, offsetof(rtm_metrics_t, errors) + (size_t)k * sizeof(uint64_t)));
    fprintf(f,
            "# HELP rtmesh_ready Whether the node reaches every live shard.\n"
            "# TYPE rtmesh_ready gauge\nrtmesh_ready %d\n",
            ready);
    s_shard_family(f, "rtmesh_shard_live", "Whether the shard's heartbeats reach this node.",
                   shards, n_shards, offsetof(rtm_metrics_shard_t, live));
    s_shard_family(f, "rtmesh_broker_list_mismatch",
                   "Whether the broker lists a set other than this node's.", shards, n_shards,
                   offsetof(rtm_metrics_shard_t, mismatch));
    fputs("# HELP rtmesh_broker_state Each broker this node knows, by state (live, dead, joining, "
          "unlisted).\n# TYPE rtmesh_broker_state gauge\n",
          f);
    for (size_t i = 0; i < n_shards; i++)
        fprintf(f, "rtmesh_broker_state{shard=\"%s\",state=\"%s\"} 1\n", shards[i].endpoint,
                shards[i].state);
    fputs("# HELP rtmesh_broker_channels Channels with a subscriber on this node that each broker "
          "owns (this node's view).\n# TYPE rtmesh_broker_channels gauge\n",
          f);
    for (size_t i = 0; i < n_shards; i++)
        fprintf(f, "rtmesh_broker_channels{shard=\"%s\"} %llu\n", shards[i].endpoint,
                (unsigned long long)(shards[i].seed ? s_owned(per_worker, n, shards[i].seed) : 0));
    fclose(f);
    *out = text;
    return len;
}
