/* broker_metrics — the broker's counters as Prometheus text.
 *
 * Pure: the caller gathers the numbers (webhooks' per-app stats, the
 * replica's, the peers' losses) into rtm_broker_metrics_t and gets the text
 * of GET /metrics back, so the renderer is unit-tested without sockets and a
 * later /metrics of the broker (issue 12) can reuse it. Families are named
 * rtmesh_broker_* and rtmesh_webhook_*, every webhook family labelled with
 * app="<id>" (app ids are [A-Za-z0-9_-], nothing to escape). */
#ifndef RTM_BROKER_METRICS_H
#define RTM_BROKER_METRICS_H

#include "replica.h"
#include "rtm_prom.h"
#include "webhooks.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *broker;                   /* this broker's identity, borrowed for the call */
    int shard;                            /* its index in its list, -1: unlisted */
    const rtm_webhooks_app_stats_t *apps; /* n_apps, borrowed for the call */
    size_t n_apps;                        /* apps with webhooks */
    rtm_replica_stats_t replica;          /* what the replica sent, holds, settled */
    uint64_t peer_webhooks_lost;          /* events held by peers that died */
} rtm_broker_metrics_t;

/* Appends m's families to p (rtm_prom escapes the label values). Aborts on
 * OOM. */
void rtm_broker_metrics_render(const rtm_broker_metrics_t *m, rtm_prom_t *p);

#endif
