/* rtm_publish — the rules an event must pass to be published, whoever sends it.
 *
 * The REST API (rtm_rest, on the node) and the broker's ingress (a service
 * publishing over ZeroMQ, docs/wire.md §3) apply the same checks with the same
 * per-app limits, so a service that skips the node cannot publish what the
 * REST API would refuse. Pure: no I/O. */
#ifndef RTM_PUBLISH_H
#define RTM_PUBLISH_H

#include "rtm_apps.h"
#include "rtm_str.h"

#include <stddef.h>

#define RTM_PUBLISH_MAX_CHANNELS 100   /* channels per event (Pusher) */
#define RTM_PUBLISH_MAX_BATCH    10    /* events per batch (Pusher) */
#define RTM_PUBLISH_MAX_DATA     10240 /* default bytes of data per event (Pusher: 10 KB) */
#define RTM_PUBLISH_MAX_NAME     200   /* bytes of event name */

/* Limits an event is checked against. */
typedef struct {
    size_t max_data;     /* bytes of data per event; RTM_PUBLISH_MAX_DATA */
    size_t max_channels; /* channels per event; RTM_PUBLISH_MAX_CHANNELS */
    size_t max_batch;    /* events per batch; RTM_PUBLISH_MAX_BATCH */
    size_t max_name;     /* bytes of event name; RTM_PUBLISH_MAX_NAME */
} rtm_publish_limits_t;

#define RTM_PUBLISH_LIMITS_DEFAULT                                                                 \
    ((rtm_publish_limits_t){RTM_PUBLISH_MAX_DATA, RTM_PUBLISH_MAX_CHANNELS, RTM_PUBLISH_MAX_BATCH, \
                            RTM_PUBLISH_MAX_NAME})

/* The limits of app: the defaults with its max_event_payload. */
rtm_publish_limits_t rtm_publish_limits(const rtm_app_t *app);

/* One event as sent; every slice is borrowed. socket_id with p NULL: none
 * (present but empty is invalid, as in the REST API). */
typedef struct {
    rtm_str_t name;
    rtm_str_t data;
    rtm_str_t socket_id;
    const rtm_str_t *channels;
    size_t n_channels;
} rtm_publish_event_t;

/* Checks ev against lim (NULL: the defaults), in this order, and at the first
 * failure returns, with a message in err (NUL-terminated, truncated to
 * err_len; err may be NULL when err_len is 0) prefixed by at (e.g. "" or
 * "batch[2]."; NULL is ""):
 *   RTM_EINVAL  name empty or over max_name bytes;
 *   RTM_ETOOBIG data over max_data bytes;
 *   RTM_EINVAL  no channel, more than max_channels, an invalid channel name
 *               (rtm_channel_validate), an encrypted channel among several,
 *               socket_id not ^\d+\.\d+$.
 * Returns 0 when the event may be published. Duplicate channels are the
 * caller's business (the REST parser removes them). */
int rtm_publish_check(const rtm_publish_event_t *ev, const rtm_publish_limits_t *lim,
                      const char *at, char *err, size_t err_len);

#endif
