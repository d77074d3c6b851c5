/* egress — what a broker shard sends on its XPUB: the framing of events and
 * control messages, and the drop accounting.
 *
 * Frames (docs/wire.md §1): an event is [topic][exclude][json]; a control
 * message is [topic][msgpack body] — SHARD_HB on RTM_WIRE_HB_TOPIC, and SYNC,
 * MEMBER, TERMINATE on a channel topic. Sends never block: the XPUB runs with
 * ZMQ_XPUB_NODROP and every message is offered with ZMQ_DONTWAIT, so a full
 * subscriber pipe refuses the message (counted in `drops`) instead of
 * stalling the shard or dropping silently. */
#ifndef RTM_EGRESS_H
#define RTM_EGRESS_H

#include "channel_state.h"
#include "rtm_str.h"
#include "rtm_wire.h"

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

typedef struct {
    void *xpub;         /* the egress XPUB socket, borrowed */
    uint64_t published; /* event messages sent */
    uint64_t controls;  /* control messages sent (heartbeats not included) */
    uint64_t drops;     /* messages refused by a full subscriber pipe */
} rtm_egress_t;

/* Sends [topic][exclude][json], taking json (closed whatever happens). */
void rtm_egress_event(rtm_egress_t *eg, rtm_str_t topic, rtm_str_t exclude, zmq_msg_t *json);

/* Sends [topic][encoded msg]. msg must be encodable (asserted): the callers
 * build it from validated state. Returns 0, or -1 when the message was
 * refused (counted). heartbeat: true for SHARD_HB, which is not counted in
 * `controls`. */
int rtm_egress_control(rtm_egress_t *eg, rtm_str_t topic, const rtm_wire_msg_t *msg,
                       bool heartbeat);

/* A channel_state sink that publishes through eg (borrowed for the sink's
 * life): controls and events on rtm_wire_topic(app, channel). */
rtm_channel_sink_t rtm_egress_sink(rtm_egress_t *eg);

#endif
