/* webhooks — the broker's webhook sender: turns mesh-wide changes into
 * signed Pusher webhooks for every app that configured some.
 *
 * Glue between the pure parts and the loop: for each change it picks the
 * app's webhooks whose event_types and filter take it, renders the event
 * once (rtm_webhook) and queues it per webhook (webhook_queue); requests the
 * queue hands out are signed and posted (webhook_http) from the broker's
 * zmq_poll loop. Channels whose names start with '#' (#connections,
 * #server-to-user-*) are the mesh's own and never reported. The caller
 * reports only what the owning shard saw, so each change goes out once. */
#ifndef RTM_WEBHOOKS_H
#define RTM_WEBHOOKS_H

#include "channel_state.h"
#include "rtm_apps.h"
#include "webhook_queue.h"

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct {
    rtm_webhook_queue_limits_t queue; /* batching, lanes, bounds, retries */
    long timeout_ms;                  /* per request */
    uint64_t settle_ms; /* after a takeover, wait this long before reporting what went */
} rtm_webhooks_config_t;

typedef struct rtm_webhooks rtm_webhooks_t;

/* A sender for apps (borrowed for its life); caller owns it. NULL when
 * libcurl cannot be set up (logged). */
rtm_webhooks_t *rtm_webhooks_new(const rtm_apps_t *apps, const rtm_webhooks_config_t *cfg);

/* Logs the final counters and what is abandoned (events not delivered),
 * frees everything and sets *wh to NULL. Safe on NULL. */
void rtm_webhooks_destroy(rtm_webhooks_t **wh);

/* A change channel_state reported (rtm_channel_hook_t). */
void rtm_webhooks_channel(rtm_webhooks_t *wh, const rtm_channel_hook_t *hook, uint64_t now_ms);

/* A client event published on channel by socket_id (user_id: the sender on
 * a presence channel, else empty). */
void rtm_webhooks_client_event(rtm_webhooks_t *wh, rtm_str_t app, rtm_str_t channel,
                               rtm_str_t event, rtm_str_t data, rtm_str_t socket_id,
                               rtm_str_t user_id, uint64_t now_ms);

/* A subscriber of a cache channel found nothing cached. */
void rtm_webhooks_cache_miss(rtm_webhooks_t *wh, rtm_str_t app, rtm_str_t channel, uint64_t now_ms);

/* Poll items for the HTTP sockets (at most cap; returns how many), and how
 * many there are now. */
size_t rtm_webhooks_pollitems(const rtm_webhooks_t *wh, zmq_pollitem_t *items, size_t cap);
size_t rtm_webhooks_sockets(const rtm_webhooks_t *wh);

/* Milliseconds until rtm_webhooks_service has work without I/O (0: now;
 * -1: none). */
long rtm_webhooks_wait_ms(const rtm_webhooks_t *wh, uint64_t now_ms);

/* Acts on the HTTP items after zmq_poll, finishes requests and starts the
 * ones that are due. */
void rtm_webhooks_service(rtm_webhooks_t *wh, const zmq_pollitem_t *items, size_t n,
                          uint64_t now_ms);

/* One app's webhook counters, summed over its webhooks, for a metrics
 * renderer or the log line. */
typedef struct {
    const char *app_id;      /* borrowed for the sender's life */
    rtm_webhook_stats_t sum; /* events, sent, failed, dropped, requests, retried, latency */
    uint64_t held;           /* events waiting or in requests now */
} rtm_webhooks_app_stats_t;

/* Fills out[0..cap) with the counters of every app that has webhooks, in
 * the apps file's order, and returns how many apps have webhooks (may be
 * more than cap: call again with room for that many). Latency is from the
 * event to its delivery: latency_ms_sum over `sent` events, latency_ms_max
 * the largest. */
size_t rtm_webhooks_stats(const rtm_webhooks_t *wh, rtm_webhooks_app_stats_t *out, size_t cap);

/* Events held now over all apps (waiting and in requests). */
uint64_t rtm_webhooks_held(const rtm_webhooks_t *wh);

/* One line per app with webhooks: sent, failed, retried, dropped, held,
 * delivery latency (average and largest, ms). */
void rtm_webhooks_log(const rtm_webhooks_t *wh, const char *event);

#endif
