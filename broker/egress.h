/* egress — the broker's XPUB: its egress zserver, with the subscriptions of
 * every peer, the framing of events and control messages, and the drop
 * accounting.
 *
 * Frames (docs/wire.md §1): an event is [topic][exclude][json]; a control
 * message is [topic][msgpack body] — SHARD_HB on RTM_WIRE_HB_TOPIC, and SYNC,
 * MEMBER, TERMINATE on a channel topic; REPLICA on a broker's replica topic.
 * A message goes to every peer subscribed to a prefix of its topic, as an
 * XPUB sends it, once per peer, in order per peer. A peer whose queue is full
 * (it stopped reading) misses the message and the miss is counted; the other
 * peers get it — libzmq's XPUB_NODROP refused it for all of them. The first
 * subscription to a topic and the last one's end are reported to the broker
 * like an XPUB's subscription messages (0x01 / 0x00 + topic). */
#ifndef RTM_EGRESS_H
#define RTM_EGRESS_H

#include "channel_state.h"
#include "rtm_str.h"
#include "rtm_wire.h"
#include "zserver.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rtm_egress rtm_egress_t;

typedef struct {
    uint64_t published; /* event messages sent */
    uint64_t controls;  /* control messages sent (heartbeats not included) */
    uint64_t drops;     /* copies refused by a full subscriber queue */
} rtm_egress_stats_t;

/* A subscription message: msg[0] 1 (first subscriber) or 0 (last one gone),
 * then the topic; borrowed for the call. */
typedef void (*rtm_egress_subscription_cb)(void *arg, const char *msg, size_t len);

/* The XPUB on tcp://host:port with cfg (socket_type and peer_types are set
 * here). Returns it, or NULL after logging why. */
rtm_egress_t *rtm_egress_new(const char *host, int port, const rtm_zserver_config_t *cfg,
                             rtm_egress_subscription_cb cb, void *arg);

/* Sends [topic][exclude][json] to the peers subscribed to topic. */
void rtm_egress_event(rtm_egress_t *eg, rtm_str_t topic, rtm_str_t exclude, rtm_str_t json);

/* Sends [topic][encoded msg]. msg must be encodable (asserted): the callers
 * build it from validated state. Returns 0, or -1 when some subscriber's
 * queue refused it (counted). heartbeat: true for SHARD_HB, which is not
 * counted in `controls`. */
int rtm_egress_control(rtm_egress_t *eg, rtm_str_t topic, const rtm_wire_msg_t *msg,
                       bool heartbeat);

/* A channel_state sink that publishes through eg (borrowed for the sink's
 * life): controls and events on rtm_wire_topic(app, channel). */
rtm_channel_sink_t rtm_egress_sink(rtm_egress_t *eg);

const rtm_egress_stats_t *rtm_egress_stats(const rtm_egress_t *eg);

/* Its server, for the poll loop (items, service, flush). */
rtm_zserver_t *rtm_egress_server(rtm_egress_t *eg);

/* Writes what is queued for at most linger_ms, then frees *eg; NULL-safe. */
void rtm_egress_destroy(rtm_egress_t **eg, int linger_ms);

#endif
