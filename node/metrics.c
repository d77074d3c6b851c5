/* rtm_metrics — Prometheus text rendering of the summed per-worker counters.
 * A table maps each field to its family so adding a counter is one line. */
#include "metrics.h"

#include "rtm_pusher.h"
#include "rtm_ws.h"

#include <stdio.h>

typedef struct {
    const char *name;
    const char *type;
    const char *help;
    size_t offset;
} s_family_t;

/* A family of the number at `field` of struct `of`. */
#define S_FAMILY(of, name, type, field, help)                                                      \
    {                                                                                              \
        name, type, help, offsetof(of, field)                                                      \
    }
#define S_F(name, type, field, help) S_FAMILY(rtm_metrics_t, name, type, field, help)
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
    S_F("rtmesh_rest_publishes_rerouted_total", "counter", rest_rerouted,
        "REST publishes sent again because a shard answered that another owns some of their "
        "channels (owners moving)."),
    S_F("rtmesh_events_received_total", "counter", events_received, "Events from shards."),
    S_F("rtmesh_broker_list_mismatches_total", "counter", broker_list_mismatches,
        "Times a broker's heartbeat told a broker list other than this node's, per worker."),
    S_F("rtmesh_channels_unreachable_total", "counter", channels_unreachable,
        "Channels whose new owner never confirmed them (this node cannot hear a broker the "
        "mesh routes to, or events it did not hear arrived late): their subscribers were told "
        "to reconnect."),
    S_F("rtmesh_upstream_held_dropped_total", "counter", held_dropped,
        "Events, SYNCs and MEMBERs dropped because their broker was not heard when they "
        "arrived (held on the wire by a cut between this node and the broker)."),
    S_F("rtmesh_relay_dropped_total", "counter", relay_dropped,
        "Broker messages the egress hub dropped for a worker that had fallen 16 MiB behind it "
        "(its relay inbox was full): that worker's subscribers were told to reconnect."),
    S_F("rtmesh_deflated_total", "counter", deflated,
        "Broadcast messages compressed for permessage-deflate clients (once per event per "
        "worker, whatever the number of subscribers)."),
    S_F("rtmesh_deflate_in_bytes_total", "counter", deflate_in_bytes,
        "Frame bytes of those messages before compression."),
    S_F("rtmesh_deflate_out_bytes_total", "counter", deflate_out_bytes,
        "Frame bytes of those messages after compression."),
    S_F("rtmesh_deflated_out_total", "counter", deflated_out,
        "Compressed frames queued to clients (deliveries; in rtmesh_messages_out_total too)."),
    S_F("rtmesh_tls_handshakes_total", "counter", tls_handshakes_total,
        "TLS handshakes completed."),
    S_F("rtmesh_tls_resumed_total", "counter", tls_resumed_total,
        "TLS handshakes that resumed an earlier session with a ticket."),
    S_F("rtmesh_tls_offloaded_total", "counter", tls_offloaded_total,
        "TLS 1.3 connections whose records the node protects itself after the handshake "
        "(OpenSSL's state freed)."),
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
    [RTM_ERR_APP_DISABLED] = "app_disabled",
    [RTM_ERR_WATCHLIST_LIMIT] = "watchlist_limit",
    [RTM_ERR_BAD_DEFLATE] = "bad_deflate",
    [RTM_ERR_INFLATE_LIMIT] = "inflate_limit",
    [RTM_ERR_TLS] = "tls",
};

/* Seconds: a publish is acknowledged in well under a millisecond on a LAN, and
 * refused after 2 s without an owner's answer. */
static const double s_publish_bounds[RTM_METRICS_PUBLISH_BOUNDS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2};

void rtm_metrics_publish_observe(rtm_metrics_t *m, uint64_t ns)
{
    size_t b = 0;
    while (b < RTM_METRICS_PUBLISH_BOUNDS && (double)ns > s_publish_bounds[b] * 1e9)
        b++;
    RTM_COUNT(m, publish_buckets[b], 1);
    RTM_COUNT(m, publish_ns_sum, ns);
}

static uint64_t s_sum(const rtm_metrics_t *const *per_worker, size_t n, size_t offset)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += __atomic_load_n((const uint64_t *)((const char *)per_worker[i] + offset),
                               __ATOMIC_RELAXED);
    return sum;
}

/* A gauge family with one 0/1 sample per shard: the bool at `field`. */
static void s_shard_family(rtm_prom_t *p, const char *name, const char *help,
                           const rtm_metrics_shard_t *shards, size_t n, size_t field)
{
    rtm_prom_family(p, name, "gauge", help);
    for (size_t i = 0; i < n; i++) {
        const rtm_prom_label_t shard = {"shard", shards[i].endpoint};
        rtm_prom_sample(p, name, &shard, 1, *(const bool *)((const char *)&shards[i] + field));
    }
}

/* Broker seed's number in the per-broker report at offset, summed over the
 * workers. */
static uint64_t s_per_broker(const rtm_metrics_t *const *per_worker, size_t n, size_t offset,
                             uint64_t seed)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        const rtm_metrics_per_broker_t *b =
            (const rtm_metrics_per_broker_t *)((const char *)per_worker[i] + offset);
        uint64_t k = __atomic_load_n(&b->n, __ATOMIC_RELAXED);
        for (uint64_t j = 0; j < k && j < RTM_METRICS_OWNERS; j++)
            if (__atomic_load_n(&b->of[j].seed, __ATOMIC_RELAXED) == seed)
                sum += __atomic_load_n(&b->of[j].count, __ATOMIC_RELAXED);
    }
    return sum;
}

/* A gauge family with one sample per shard: its number in the per-broker
 * reports at offset (0 for a shard without a seed: unlisted). */
static void s_per_broker_family(rtm_prom_t *p, const char *name, const char *help,
                                const rtm_metrics_t *const *per_worker, size_t n, size_t offset,
                                const rtm_metrics_shard_t *shards, size_t n_shards)
{
    rtm_prom_family(p, name, "gauge", help);
    for (size_t i = 0; i < n_shards; i++) {
        const rtm_prom_label_t shard = {"shard", shards[i].endpoint};
        rtm_prom_sample(p, name, &shard, 1,
                        shards[i].seed ? s_per_broker(per_worker, n, offset, shards[i].seed) : 0);
    }
}

/* Per-app families. */
#define S_A(name, type, field, help) S_FAMILY(rtm_metrics_app_t, name, type, field, help)
static const s_family_t s_app_families[] = {
    S_A("rtmesh_app_connections", "gauge", connections, "Open WebSocket connections, per app."),
    S_A("rtmesh_app_subscriptions", "gauge", subscriptions,
        "Connection-channel subscriptions, per app."),
    S_A("rtmesh_app_channels", "gauge", channels,
        "Channels with a subscriber, per worker, per app."),
    S_A("rtmesh_app_messages_in_total", "counter", messages_in, "Messages from clients, per app."),
    S_A("rtmesh_app_messages_out_total", "counter", messages_out, "Messages to clients, per app."),
    S_A("rtmesh_app_bytes_in_total", "counter", bytes_in,
        "Bytes of the WebSocket frames clients sent, per app."),
    S_A("rtmesh_app_bytes_out_total", "counter", bytes_out, "Bytes written to clients, per app."),
};

/* app's number at offset, summed over the workers that count it. */
static uint64_t s_app_sum(const rtm_metrics_t *const *per_worker, size_t n, size_t app,
                          size_t offset)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        if (app < per_worker[i]->n_apps)
            sum += __atomic_load_n(
                (const uint64_t *)((const char *)&per_worker[i]->apps[app] + offset),
                __ATOMIC_RELAXED);
    return sum;
}

/* The close codes the node sends, by their index in rtm_metrics_app_t.closes;
 * the last index is every other code. */
static const int s_close_codes[] = {
    RTM_WS_CLOSE_NORMAL,     RTM_WS_CLOSE_PROTOCOL,    RTM_WS_CLOSE_UNSUPPORTED,
    RTM_WS_CLOSE_BAD_DATA,   RTM_WS_CLOSE_TOO_BIG,     RTM_PUSHER_APP_UNKNOWN,
    RTM_PUSHER_OVER_QUOTA,   RTM_PUSHER_BAD_VERSION,   RTM_PUSHER_UNSUPPORTED,
    RTM_PUSHER_UNAUTHORIZED, RTM_PUSHER_OVER_CAPACITY, RTM_PUSHER_RECONNECT,
    RTM_PUSHER_PONG_TIMEOUT, RTM_PUSHER_RATE_LIMITED,  RTM_PUSHER_APP_DISABLED,
};
_Static_assert(sizeof s_close_codes / sizeof s_close_codes[0] == RTM_METRICS_CLOSE_CODES - 1,
               "one index per code, then other");

size_t rtm_metrics_close_index(int code)
{
    size_t i = 0;
    while (i < RTM_METRICS_CLOSE_CODES - 1 && s_close_codes[i] != code)
        i++;
    return i;
}

/* A per-app family with a second label: the n numbers of an array at offset
 * (labelled label=value(k)), only the non-zero ones — every app times every
 * kind would swamp the page with zeros. */
static void s_app_array_render(rtm_prom_t *p, const rtm_metrics_t *const *per_worker, size_t nw,
                               const rtm_apps_t *apps, const char *name, const char *help,
                               size_t offset, size_t n, const char *label,
                               const char *(*value)(size_t k, char *buf, size_t cap))
{
    rtm_prom_family(p, name, "counter", help);
    for (size_t a = 0; apps && a < apps->n; a++)
        for (size_t k = 0; k < n; k++) {
            uint64_t v = s_app_sum(per_worker, nw, a, offset + k * sizeof(uint64_t));
            if (!v)
                continue;
            char buf[16];
            const rtm_prom_label_t labels[2] = {{"app", apps->apps[a].id},
                                                {label, value(k, buf, sizeof buf)}};
            rtm_prom_sample(p, name, labels, 2, v);
        }
}

static const char *s_error_kind(size_t k, char *buf, size_t cap)
{
    (void)buf, (void)cap;
    return s_error_kinds[k];
}

static const char *s_close_code(size_t k, char *buf, size_t cap)
{
    if (k == RTM_METRICS_CLOSE_CODES - 1)
        return "other";
    snprintf(buf, cap, "%d", s_close_codes[k]);
    return buf;
}

static void s_app_families_render(rtm_prom_t *p, const rtm_metrics_t *const *per_worker, size_t n,
                                  const rtm_apps_t *apps)
{
    for (size_t f = 0; f < sizeof s_app_families / sizeof s_app_families[0]; f++) {
        const s_family_t *fam = &s_app_families[f];
        rtm_prom_family(p, fam->name, fam->type, fam->help);
        for (size_t a = 0; apps && a < apps->n; a++) {
            const rtm_prom_label_t app = {"app", apps->apps[a].id};
            rtm_prom_sample(p, fam->name, &app, 1, s_app_sum(per_worker, n, a, fam->offset));
        }
    }
    s_app_array_render(p, per_worker, n, apps, "rtmesh_app_errors_total",
                       "Refused input and abnormal closes of the app's clients and REST calls, by "
                       "kind (non-zero only).",
                       offsetof(rtm_metrics_app_t, errors), RTM_ERR_KIND_COUNT, "kind",
                       s_error_kind);
    s_app_array_render(p, per_worker, n, apps, "rtmesh_app_closes_total",
                       "Close frames the node sent to the app's clients, by close code (non-zero "
                       "only; other: the echo of a client's own code).",
                       offsetof(rtm_metrics_app_t, closes), RTM_METRICS_CLOSE_CODES, "code",
                       s_close_code);
}

void rtm_metrics_render(const char *node_id, const rtm_metrics_t *const *per_worker, size_t n,
                        const rtm_apps_t *apps, int ready, const rtm_metrics_shard_t *shards,
                        size_t n_shards, rtm_prom_t *p)
{
    const rtm_prom_label_t node = {"node", node_id};
    rtm_prom_family(p, "rtmesh_node_info", "gauge", "The node that answered (hostname/pid).");
    rtm_prom_sample(p, "rtmesh_node_info", &node, 1, 1);
    for (size_t i = 0; i < sizeof s_families / sizeof s_families[0]; i++) {
        const s_family_t *fam = &s_families[i];
        rtm_prom_family(p, fam->name, fam->type, fam->help);
        rtm_prom_sample(p, fam->name, NULL, 0, s_sum(per_worker, n, fam->offset));
    }
    uint64_t buckets[RTM_METRICS_PUBLISH_BOUNDS + 1];
    for (size_t b = 0; b <= RTM_METRICS_PUBLISH_BOUNDS; b++)
        buckets[b] =
            s_sum(per_worker, n, offsetof(rtm_metrics_t, publish_buckets) + b * sizeof(uint64_t));
    rtm_prom_family(p, "rtmesh_rest_publish_seconds", "histogram",
                    "Time from a REST publish's arrival to the acknowledgement of every owning "
                    "broker (the event is on their egress), acknowledged publishes only.");
    rtm_prom_histogram(p, "rtmesh_rest_publish_seconds", NULL, 0, s_publish_bounds, buckets,
                       RTM_METRICS_PUBLISH_BOUNDS,
                       (double)s_sum(per_worker, n, offsetof(rtm_metrics_t, publish_ns_sum)) / 1e9);
    s_app_families_render(p, per_worker, n, apps);
    rtm_prom_family(p, "rtmesh_errors_total", "counter",
                    "Refused input and abnormal closes, by kind.");
    for (int k = 0; k < RTM_ERR_KIND_COUNT; k++) {
        const rtm_prom_label_t kind = {"kind", s_error_kinds[k]};
        rtm_prom_sample(
            p, "rtmesh_errors_total", &kind, 1,
            s_sum(per_worker, n, offsetof(rtm_metrics_t, errors) + (size_t)k * sizeof(uint64_t)));
    }
    rtm_prom_family(p, "rtmesh_ready", "gauge", "Whether the node reaches every live shard.");
    rtm_prom_sample(p, "rtmesh_ready", NULL, 0, ready != 0);
    s_shard_family(p, "rtmesh_shard_live", "Whether the shard's heartbeats reach this node.",
                   shards, n_shards, offsetof(rtm_metrics_shard_t, live));
    s_shard_family(p, "rtmesh_broker_list_mismatch",
                   "Whether the broker lists a set other than this node's.", shards, n_shards,
                   offsetof(rtm_metrics_shard_t, mismatch));
    rtm_prom_family(p, "rtmesh_broker_state", "gauge",
                    "Each broker this node knows, by state (live, dead, joining, unlisted).");
    for (size_t i = 0; i < n_shards; i++) {
        const rtm_prom_label_t state[2] = {{"shard", shards[i].endpoint},
                                           {"state", shards[i].state}};
        rtm_prom_sample(p, "rtmesh_broker_state", state, 2, 1);
    }
    s_per_broker_family(p, "rtmesh_broker_channels",
                        "Channels with a subscriber on this node that each broker owns (this "
                        "node's view).",
                        per_worker, n, offsetof(rtm_metrics_t, owned), shards, n_shards);
    s_per_broker_family(p, "rtmesh_shard_pending",
                        "Requests (REST publishes and queries, presence joins) sent to each "
                        "listed broker and waiting for its acknowledgement.",
                        per_worker, n, offsetof(rtm_metrics_t, pending), shards, n_shards);
}
