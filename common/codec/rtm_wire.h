/* rtm_wire — the node <-> broker message bodies and egress topics.
 *
 * Every body is one MessagePack map with "v" (wire version) and "t" (message
 * type) plus the type's fields; docs/wire.md is the normative description.
 * Decoding is bounded and allocation-free: the decoded struct holds numbers and
 * rtm_str_t slices that point into the caller's input buffer, so they are valid
 * exactly as long as that buffer is (for a received zmq_msg_t: until it is
 * closed or reused). Encoding writes into caller memory. */
#ifndef RTM_WIRE_H
#define RTM_WIRE_H

#include "rtm_str.h"

#include <stddef.h>
#include <stdint.h>

#define RTM_WIRE_VERSION      1   /* the "v" this code speaks; any other is refused */
#define RTM_WIRE_MAX_CHANNELS 100 /* most channels one PUBLISH may name */
#define RTM_WIRE_MAX_TOPIC    512 /* largest topic frame, terminator included */

/* Egress topic of shard heartbeats. App ids are [A-Za-z0-9_-], so no channel
 * topic starts with 0x01 and a node subscribing to this prefix gets only
 * heartbeats. RTM_WIRE_HB_TOPIC_LEN is the frame length (no terminator). */
#define RTM_WIRE_HB_TOPIC     "\x01hb"
#define RTM_WIRE_HB_TOPIC_LEN (sizeof RTM_WIRE_HB_TOPIC - 1)

/* Heartbeat timing shared by both ends: a heartbeat every RTM_WIRE_HB_MS; a
 * peer is dead when none arrived within RTM_WIRE_DEAD_MS (3 missed). */
#define RTM_WIRE_HB_MS   500
#define RTM_WIRE_DEAD_MS 1500

/* The "t" value on the wire. Numbers are part of the format: never reuse one. */
typedef enum {
    RTM_WIRE_PUBLISH = 1,  /* node -> broker ingress (DEALER -> ROUTER) */
    RTM_WIRE_ACK = 2,      /* broker -> node, reply to PUBLISH */
    RTM_WIRE_NODE_HB = 3,  /* node -> broker ingress, every RTM_WIRE_HB_MS */
    RTM_WIRE_SHARD_HB = 4, /* broker egress heartbeat; also the reply to NODE_HB */
} rtm_wire_type_t;

/* One decoded or to-be-encoded body. The encoder writes only the fields of
 * `type`. Every known key has one msgpack type in v1 whatever the message, so
 * the decoder checks and stores any known key it meets; fields a type does not
 * define are zero unless the sender included their key. Slices are borrowed:
 * after decode they point into the input buffer; for encode the caller keeps
 * them valid for the duration of the call. */
typedef struct {
    rtm_wire_type_t type; /* "t" */
    uint64_t id;          /* PUBLISH, ACK: correlation id chosen by the node */
    int32_t status;       /* ACK: 0, or a negative rtm error code */
    rtm_str_t app;        /* PUBLISH: app id */
    rtm_str_t name;       /* PUBLISH: event name */
    rtm_str_t data;       /* PUBLISH: event data (msgpack str; bin accepted) */
    rtm_str_t exclude;    /* PUBLISH: socket id not to deliver to; may be empty */
    rtm_str_t node;       /* NODE_HB: node/worker id */
    uint32_t shard;       /* SHARD_HB: shard index */
    uint64_t epoch;       /* SHARD_HB: shard start time in ms; changes on restart */
    uint32_t n_channels;  /* PUBLISH: 1..RTM_WIRE_MAX_CHANNELS */
    rtm_str_t channels[RTM_WIRE_MAX_CHANNELS]; /* PUBLISH: channel names */
} rtm_wire_msg_t;

/* Exact encoded size of msg, or RTM_EINVAL when msg is not encodable (unknown
 * type, n_channels outside 1..RTM_WIRE_MAX_CHANNELS for PUBLISH, a NULL slice
 * with a non-zero length) or RTM_ETOOBIG past INT_MAX bytes. */
int rtm_wire_encoded_len(const rtm_wire_msg_t *msg);

/* Encodes msg into out[0..cap). Returns the number of bytes written;
 * RTM_ETOOBIG when cap is smaller than rtm_wire_encoded_len(msg) (out then
 * holds an unspecified prefix); RTM_EINVAL as for rtm_wire_encoded_len. Keys
 * are written "v", "t" first. Whatever this accepts, rtm_wire_decode returns
 * equal. msg and out are borrowed for the call. */
int rtm_wire_encode(const rtm_wire_msg_t *msg, char *out, size_t cap);

/* Decodes one whole body buf[0..len) into *msg (overwritten). Returns 0, or
 * (in this order of precedence, docs/wire.md):
 *   RTM_EPROTO   not exactly one well-formed map, a key that is not a str, no
 *                valid "v";
 *   RTM_EVERSION "v" is not RTM_WIRE_VERSION (nothing else is checked);
 *   RTM_ETOOBIG  a "channels" array of more than RTM_WIRE_MAX_CHANNELS, or
 *   RTM_EPROTO   a known key with the wrong msgpack type or range, or given
 *                twice (whichever comes first in the body);
 *   RTM_EPROTO   "t" missing or unknown, a field the type requires missing, a
 *                PUBLISH with no channel.
 * Unknown keys are skipped (forward compatibility). On success the slices in
 * *msg point into buf and live as long as buf; on failure *msg is unspecified.
 * No allocation, no recursion: safe on any input. */
int rtm_wire_decode(const char *buf, size_t len, rtm_wire_msg_t *msg);

/* Best-effort read of the top-level "id" of a body that rtm_wire_decode
 * refused, so the receiver can still answer the request with an error ACK.
 * Returns 0 with *id set when an unsigned "id" was found before any damage,
 * RTM_ENOTFOUND otherwise. */
int rtm_wire_peek_id(const char *buf, size_t len, uint64_t *id);

/* Name of a type for logs ("publish", ...); "unknown" for anything else. */
const char *rtm_wire_type_name(rtm_wire_type_t type);

/* Writes the egress topic "<app>\x1F<channel>\x00" into out[0..cap). Returns
 * its length including the terminator (this whole frame is the ZeroMQ
 * subscription prefix: the terminator keeps "chat-1" from matching "chat-10");
 * RTM_EINVAL when app is empty, starts with 0x01 or contains 0x1F or 0x00, or
 * channel is empty or contains 0x00 (any of which would make topics
 * ambiguous); RTM_ETOOBIG when cap is too small or the topic would be longer
 * than RTM_WIRE_MAX_TOPIC. */
int rtm_wire_topic(char *out, size_t cap, rtm_str_t app, rtm_str_t channel);

/* Splits a topic frame made by rtm_wire_topic into slices of it (borrowed from
 * topic). Returns 0, or RTM_EPROTO when topic does not have that shape
 * (including the heartbeat topic). */
int rtm_wire_topic_split(rtm_str_t topic, rtm_str_t *app, rtm_str_t *channel);

#endif
