/* rtm_egress_hub — the node's one SUB link to each broker's egress: a
 * transport.
 *
 * A broadcast crosses the network once per node, not once per worker: the
 * hub lives in worker 0's loop and holds one SUB rtm_zlink per broker (the
 * listed ones, and unlisted ones until they fall silent, since nodes that
 * have not re-read their list may still publish through them). A topic is
 * subscribed at every egress when the first worker wants it and cancelled
 * when the last drops it (rtm_interest). What arrives is handed on as
 * rtm_relay_msg_t, each tagged with its broker and the time the hub read
 * it: an event (framed here, once) and a control message to the workers
 * that want its topic, a heartbeat to every worker. Worker 0's share is
 * handled at once, inside the read; every other worker's is appended to its
 * inbox once per loop turn, so a worker is woken at most once per turn, and
 * gets everything in the order the hub read it (SYNC before the events that
 * follow it, on one topic, is what completes a subscription).
 *
 * The DEALER links (requests, ACKs, heartbeats both ways, liveness) stay
 * each worker's own (node/upstream.h): their traffic is per request, not per
 * delivery, and the brokers keep their per-worker state as before. */
#ifndef RTM_EGRESS_HUB_H
#define RTM_EGRESS_HUB_H

#include "metrics.h"
#include "relay.h"
#include "rtm_brokers.h"
#include "rtm_str.h"
#include "rtm_tier.h"

#include <stdbool.h>
#include <uv.h>

typedef struct rtm_egress_hub rtm_egress_hub_t;

typedef struct {
    uv_loop_t *loop;             /* worker 0's */
    const rtm_tier_keys_t *keys; /* CURVE toward the brokers when it holds any (copied) */
    rtm_relay_inbox_t *inboxes;  /* the workers' inboxes, n_workers of them (borrowed) */
    rtm_relay_inbox_t *wants;    /* where the other workers send topics they want (borrowed);
                                  * opened on loop by the hub */
    unsigned n_workers;
    unsigned self;              /* the worker whose loop this is: handled at once */
    rtm_relay_handle_fn handle; /* ... by handle(ctx, m) */
    void *ctx;
    rtm_metrics_t *metrics; /* counts events received and malformed messages (borrowed) */
} rtm_egress_hub_opts_t;

/* Starts the hub with links to the brokers of list (copied). Returns 0 and
 * the hub in *out (caller owns: rtm_egress_hub_close), or a negative code
 * (RTM_EINVAL: a key that is not Z85; a libuv error). */
int rtm_egress_hub_new(const rtm_egress_hub_opts_t *opts, const rtm_brokers_t *list,
                       rtm_egress_hub_t **out);

/* Makes list the broker list: links to added brokers are made, removed ones
 * are kept until their broker falls silent (rtm_egress_hub_tick). */
void rtm_egress_hub_set_brokers(rtm_egress_hub_t *hub, const rtm_brokers_t *list);

/* Worker `worker` wants topic (on) or no longer (off): from the hub's own
 * loop; other workers send RTM_RELAY_WANT/DROP to the wants inbox. From the
 * next message on, what arrives on topic is handed to it (or not). */
void rtm_egress_hub_want(rtm_egress_hub_t *hub, unsigned worker, rtm_str_t topic, bool on);

/* Worker 0's tick: closes the links of unlisted brokers fallen silent. */
void rtm_egress_hub_tick(rtm_egress_hub_t *hub);

/* Closes the links and the wants inbox, drops what was not handed on yet,
 * and frees the hub once its handles are closed (the loop's next turns).
 * Sets *hub to NULL. */
void rtm_egress_hub_close(rtm_egress_hub_t **hub);

#endif
