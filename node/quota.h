/* rtm_quota — an app's max_connections counted across the whole mesh.
 *
 * One table per node process, shared by its workers (every worker admits
 * connections): the per-app figures are read and written atomically. One
 * worker ticks it: it announces the node's connection count of every limited
 * app to the app's owning shard as the subscriber count of a reserved
 * channel ("#connections", which clients can never name), and asks the shard
 * for the total right after through the same route, so the answer includes
 * exactly the count just announced: total - announced is what the other
 * nodes hold. A lost node's count disappears with its heartbeats, like any
 * subscription count. The figure lags by one tick (100 ms): a burst of
 * connects on several nodes at once can pass the limit by that much, never
 * for long. Pure: no sockets, no clock. */
#ifndef RTM_QUOTA_H
#define RTM_QUOTA_H

#include "route.h"
#include "rtm_apps.h"

#include <stdbool.h>

typedef struct rtm_quota rtm_quota_t;

/* A table for apps (borrowed for the table's life). Caller owns. */
rtm_quota_t *rtm_quota_new(const rtm_apps_t *apps);

/* Frees *q and sets it to NULL. Safe on NULL. */
void rtm_quota_destroy(rtm_quota_t **q);

/* Whether one more connection of app on this node stays within the mesh-wide
 * max_connections; counts it when it does (undo with rtm_quota_release).
 * Thread-safe. */
bool rtm_quota_take(rtm_quota_t *q, const rtm_app_t *app);
void rtm_quota_release(rtm_quota_t *q, const rtm_app_t *app);

/* One worker, every tick: announces and refreshes through route (borrowed
 * until every answer has come back). */
void rtm_quota_tick(rtm_quota_t *q, const rtm_route_t *route);

#endif
