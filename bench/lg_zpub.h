/* lg_zpub — a publisher through librtmesh instead of the REST API (--brokers).
 *
 * librtmesh's calls block, the generator's loop must not: each publisher has
 * a thread of its own that makes the call and tells the loop (uv_async) when
 * the owners answered. The loop thread prepares every event (channel, stamp,
 * the deliveries it owes) exactly as for REST (lg_pub.c), so the two ways of
 * publishing differ only in what the servers do with them. */
#ifndef RTM_LG_ZPUB_H
#define RTM_LG_ZPUB_H

#include "loadgen.h"

#include <stddef.h>

typedef struct rtm_lg_zpub rtm_lg_zpub_t;

/* A librtmesh handle for p's generator (lg->opt.brokers; CURVE from the
 * RTMESH_CURVE_* environment) and its thread. Returns it, or NULL after
 * printing why. */
rtm_lg_zpub_t *rtm_lg_zpub_new(rtm_lg_pub_t *p);

/* Hands one event to the thread; rtm_lg_pub_answered(p, ok) runs on the loop
 * once the owners answered. */
void rtm_lg_zpub_send(rtm_lg_zpub_t *z, const char *channel, const char *data, size_t len);

/* Stops the thread (after the publish in flight), frees the handle; the
 * async handle is closed and z freed in its close callback. */
void rtm_lg_zpub_close(rtm_lg_zpub_t *z);

#endif
