/* broker_metrics — see broker_metrics.h.
 *
 * Table-driven like the node's metrics: a family is a name, a type, a help
 * text and where its number is, so adding one is one line. Latency is a
 * Prometheus summary without quantiles (sum and count: a scraper derives the
 * average over any window) plus the largest seen as a gauge; per-event
 * quantiles would need a histogram per app, which the queue does not keep. */
#include "broker_metrics.h"

#include <stdio.h>

/* A family: its name, type and help, and the offset of its uint64_t in the
 * struct it is read from (rtm_webhooks_app_stats_t or rtm_replica_stats_t). */
typedef struct {
    const char *name, *type, *help;
    size_t offset;
} s_family_t;

#define S_APP(name, type, field, help)                                                             \
    {                                                                                              \
        name, type, help, offsetof(rtm_webhooks_app_stats_t, field)                                \
    }

static const s_family_t s_app_families[] = {
    S_APP("rtmesh_webhook_events_total", "counter", sum.events, "Webhook events queued."),
    S_APP("rtmesh_webhook_sent_total", "counter", sum.sent, "Webhook events delivered (2xx)."),
    S_APP("rtmesh_webhook_failed_total", "counter", sum.failed,
          "Webhook events given up: refused (4xx) or retried for too long."),
    S_APP("rtmesh_webhook_retried_total", "counter", sum.retried,
          "Webhook request attempts that were retries."),
    S_APP("rtmesh_webhook_dropped_total", "counter", sum.dropped,
          "Webhook events dropped: the queue was full."),
    S_APP("rtmesh_webhook_requests_total", "counter", sum.requests, "Webhook requests delivered."),
    S_APP("rtmesh_webhook_held", "gauge", held, "Webhook events waiting or in requests now."),
    S_APP("rtmesh_webhook_latency_max_ms", "gauge", sum.latency_ms_max,
          "Largest time from a change to its delivery, ms."),
};

#define S_REP(name, type, field, help)                                                             \
    {                                                                                              \
        name, type, help, offsetof(rtm_replica_stats_t, field)                                     \
    }

static const s_family_t s_replica_families[] = {
    S_REP("rtmesh_webhook_replica_sent_total", "counter", out.sent,
          "Snapshots of announced state sent to successors."),
    S_REP("rtmesh_webhook_replica_unheard_total", "counter", unheard,
          "Snapshots sent to a shard not subscribed (lost)."),
    S_REP("rtmesh_webhook_replica_beliefs", "gauge", in.channels,
          "Channels whose announced state this shard keeps for their owner."),
    S_REP("rtmesh_webhook_replica_refused_total", "counter", in.refused,
          "Snapshots refused by a bound or invalid."),
    S_REP("rtmesh_webhook_takeovers_total", "counter", in.takeovers,
          "Channels taken over with announced state to settle."),
    S_REP("rtmesh_webhook_outage_vacated_total", "counter", in.vacated,
          "channel_vacated sent for channels that emptied while their owner was dead."),
    S_REP("rtmesh_webhook_outage_removed_total", "counter", in.removed,
          "member_removed sent for users who left while their channel's owner was dead."),
    S_REP("rtmesh_webhook_suppressed_total", "counter", in.suppressed,
          "channel_occupied / member_added not sent again after a takeover."),
    S_REP("rtmesh_webhook_overridden_total", "counter", in.overridden,
          "Facts of a handed-over snapshot replaced by this shard's own later reports."),
};

static uint64_t s_at(const void *base, size_t offset)
{
    return *(const uint64_t *)((const char *)base + offset);
}

void rtm_broker_metrics_render(const rtm_broker_metrics_t *m, rtm_prom_t *p)
{
    char shard[16];
    snprintf(shard, sizeof shard, "%d", m->shard);
    const rtm_prom_label_t info[2] = {{"broker", m->broker},
                                      {"shard", m->shard < 0 ? "unlisted" : shard}};
    rtm_prom_family(p, "rtmesh_broker_info", "gauge",
                    "The broker that answered, and its index in its list.");
    rtm_prom_sample(p, "rtmesh_broker_info", info, 2, 1);
    for (size_t i = 0; i < sizeof s_app_families / sizeof s_app_families[0]; i++) {
        const s_family_t *fam = &s_app_families[i];
        rtm_prom_family(p, fam->name, fam->type, fam->help);
        for (size_t a = 0; a < m->n_apps; a++) {
            const rtm_prom_label_t app = {"app", m->apps[a].app_id};
            rtm_prom_sample(p, fam->name, &app, 1, s_at(&m->apps[a], fam->offset));
        }
    }
    rtm_prom_family(p, "rtmesh_webhook_latency_ms", "summary",
                    "Time from a change to its delivery, ms.");
    for (size_t a = 0; a < m->n_apps; a++) {
        const rtm_prom_label_t app = {"app", m->apps[a].app_id};
        rtm_prom_sample(p, "rtmesh_webhook_latency_ms_sum", &app, 1, m->apps[a].sum.latency_ms_sum);
        rtm_prom_sample(p, "rtmesh_webhook_latency_ms_count", &app, 1, m->apps[a].sum.sent);
    }
    for (size_t i = 0; i < sizeof s_replica_families / sizeof s_replica_families[0]; i++) {
        const s_family_t *fam = &s_replica_families[i];
        rtm_prom_family(p, fam->name, fam->type, fam->help);
        rtm_prom_sample(p, fam->name, NULL, 0, s_at(&m->replica, fam->offset));
    }
    rtm_prom_family(p, "rtmesh_webhook_peer_lost_total", "counter",
                    "Webhook events held by peer shards when they died (counted by the live "
                    "broker with the smallest rendezvous seed).");
    rtm_prom_sample(p, "rtmesh_webhook_peer_lost_total", NULL, 0, m->peer_webhooks_lost);
}
