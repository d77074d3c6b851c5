/* rtm_quota — an app's max_connections counted across the whole mesh.
 *
 * Each node's worker 0 announces the node's connection count of every limited
 * app to the app's owning shard as the subscriber count of a reserved channel
 * ("#connections", which clients can never name), and asks the shard for the
 * total right after on the same DEALER, so the answer includes exactly the
 * count just announced: total - announced is what the other nodes hold. A
 * lost node's count disappears with its heartbeats, like any subscription
 * count. The figure lags by one tick (100 ms): a burst of connects on several
 * nodes at once can pass the limit by that much, never for long. */
#ifndef RTM_QUOTA_H
#define RTM_QUOTA_H

#include "rtm_apps.h"

#include <stdbool.h>

typedef struct rtm_worker rtm_worker_t;

/* Worker 0, every upstream tick: announce and refresh. */
void rtm_quota_tick(rtm_worker_t *w);

/* Whether one more connection of app on this node stays within the mesh-wide
 * max_connections; counts it when it does (release with rtm_quota_release). */
bool rtm_quota_take(rtm_worker_t *w, const rtm_app_t *app);
void rtm_quota_release(rtm_worker_t *w, const rtm_app_t *app);

#endif
