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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_WIRE_VERSION      1   /* the "v" this code speaks; any other is refused */
#define RTM_WIRE_MAX_CHANNELS 100 /* most channels one PUBLISH may name */
#define RTM_WIRE_MAX_TOPIC    512 /* largest topic frame, terminator included */

/* Most members one SYNC may carry; also the broker's hard cap of distinct
 * members of one presence channel, whatever limit a PRESENCE_JOIN asks for
 * (the node's max_presence_members setting goes up to the same number). */
#define RTM_WIRE_MAX_MEMBERS 100000

/* Egress topic of shard heartbeats. App ids are [A-Za-z0-9_-], so no channel
 * topic starts with 0x01 and a node subscribing to this prefix gets only
 * heartbeats. RTM_WIRE_HB_TOPIC_LEN is the frame length (no terminator). */
#define RTM_WIRE_HB_TOPIC     "\x01hb"
#define RTM_WIRE_HB_TOPIC_LEN (sizeof RTM_WIRE_HB_TOPIC - 1)

/* Heartbeat timing shared by both ends: a heartbeat every RTM_WIRE_HB_MS; a
 * peer is dead when none arrived within RTM_WIRE_DEAD_MS (3 missed). */
#define RTM_WIRE_HB_MS   500
#define RTM_WIRE_DEAD_MS 1500

/* A node answers 503 to a request its broker has not ACKed this long after
 * sending it. */
#define RTM_WIRE_REQUEST_MS 2000

/* A PUBLISH given up by its sender is never published (docs/wire.md §3). A
 * sender stamps each PUBLISH with the number ("beat") of the owner's last
 * heartbeat it heard, at time h; the owner sent that heartbeat at T <= h.
 *   A: a sender sends no PUBLISH stamped with a beat heard RTM_WIRE_STAMP_MS
 *      or longer ago (it refuses it unsent);
 *   W: the owner refuses (RTM_EUNAVAIL) a PUBLISH whose stamped heartbeat it
 *      sent RTM_WIRE_STALE_MS or longer ago, by its own clock;
 *   G: a sender gives up on a stamped PUBLISH no sooner than RTM_WIRE_HOLD_MS
 *      after h, whatever it learns meanwhile (a silent owner included).
 * An owner that publishes at r has r < T + W <= h + W < h + G: before its
 * sender gave up, so a given-up PUBLISH is refused, however long the network
 * held it (the ms rounding and rate difference of the two clocks are what
 * G - W covers). In normal operation a PUBLISH arrives within A plus one
 * round trip of T, under W: none is refused. The request timeout is at least
 * G after h (a PUBLISH is sent at or after h), so only a sender that gives up
 * early, on a silent owner, has to wait for G. */
#define RTM_WIRE_STAMP_MS RTM_WIRE_DEAD_MS
#define RTM_WIRE_STALE_MS (RTM_WIRE_REQUEST_MS - 100)
#define RTM_WIRE_HOLD_MS  (RTM_WIRE_STALE_MS + 10)

/* A broker listed at run time takes its share of channels only this long
 * after it is first heard (by nodes and brokers alike): every process must
 * have listed it and subscribed at its egress by then, or events it
 * publishes would miss their subscribers. Longer than the DNS re-resolution
 * period (RTM_ROSTER_DNS_MS) plus a connection set-up. */
#define RTM_WIRE_JOIN_MS 3000

/* ZeroMQ heartbeats (ZMQ_HEARTBEAT_IVL/TIMEOUT/TTL) on every socket between
 * tiers, below the application heartbeats above: they make libzmq itself drop
 * a connection whose peer vanished without a FIN, so that it reconnects (and
 * re-resolves a DNS name) and a ROUTER forgets the stale routing id. TCP
 * keepalive (idle and interval in seconds) backs them up at the kernel. */
#define RTM_WIRE_ZMQ_HB_IVL_MS     1000
#define RTM_WIRE_ZMQ_HB_TIMEOUT_MS 3000
#define RTM_WIRE_TCP_KEEPALIVE_S   5

/* The liveness rule both tiers apply: a peer whose last heartbeat arrived at
 * last_ms (0: never) is live at now_ms while fewer than RTM_WIRE_DEAD_MS
 * have passed. */
static inline bool rtm_wire_live(uint64_t last_ms, uint64_t now_ms)
{
    return last_ms != 0 && now_ms - last_ms < RTM_WIRE_DEAD_MS;
}

/* SHARD_HB "shard" of a broker that is not in its own list. */
#define RTM_WIRE_UNLISTED UINT32_MAX

/* The "t" value on the wire. Numbers are part of the format: never reuse one. */
typedef enum {
    RTM_WIRE_PUBLISH = 1,        /* node -> broker ingress (DEALER -> ROUTER) */
    RTM_WIRE_ACK = 2,            /* broker -> node, reply to PUBLISH, PRESENCE_JOIN, QUERY */
    RTM_WIRE_NODE_HB = 3,        /* node -> broker ingress, every RTM_WIRE_HB_MS */
    RTM_WIRE_SHARD_HB = 4,       /* broker egress heartbeat; also the reply to NODE_HB */
    RTM_WIRE_SYNC_REQ = 5,       /* node -> owner ingress: publish a SYNC on the channel topic */
    RTM_WIRE_SYNC = 6,           /* owner egress control on the channel topic: state snapshot */
    RTM_WIRE_MEMBER = 7,         /* owner egress control on a presence topic: added / removed */
    RTM_WIRE_PRESENCE_JOIN = 8,  /* node -> owner ingress, ACKed (RTM_ETOOBIG: full) */
    RTM_WIRE_PRESENCE_LEAVE = 9, /* node -> owner ingress, no reply */
    RTM_WIRE_SUB_COUNT = 10,     /* node -> owner ingress, no reply: absolute local count */
    RTM_WIRE_QUERY = 11,         /* node -> shard ingress, ACKed with json */
    RTM_WIRE_TERMINATE = 12,     /* node -> owner of the user channel; and its egress control */
    RTM_WIRE_CACHE_MISS = 13,    /* node -> owner ingress, no reply: a subscriber got cache_miss */
    RTM_WIRE_REPLICA = 14,       /* broker -> broker egress, on the receiver's replica topic:
                                    a channel's webhook-visible state (docs/wire.md §11) */
    RTM_WIRE_MOVED = 15,         /* broker egress control on a channel topic: the sender no
                                    longer owns the channel (docs/wire.md §7.6) */
} rtm_wire_type_t;

/* QUERY kinds ("kind"). */
typedef enum {
    RTM_WIRE_QUERY_CHANNELS = 1, /* channel list fragment; channel = prefix filter */
    RTM_WIRE_QUERY_CHANNEL = 2,  /* one channel's info body */
    RTM_WIRE_QUERY_USERS = 3,    /* a presence channel's user list body */
    RTM_WIRE_QUERY_BROKER = 4,   /* the broker's own counters, a JSON object (rtmesh status) */
} rtm_wire_query_kind_t;

/* One presence member of a SYNC or REPLICA. Slices are borrowed: for the
 * encode call, or into the decoded buffer. */
typedef struct {
    rtm_str_t user_id;   /* non-empty; the string form of a numeric id */
    rtm_str_t user_info; /* raw JSON text; may be empty (no info) */
    bool user_num;       /* the app gave the id as a JSON integer */
} rtm_wire_member_t;

/* One decoded or to-be-encoded body. The encoder writes only the fields of
 * `type`. Every known key has one msgpack type in v1 whatever the message, so
 * the decoder checks and stores any known key it meets; fields a type does not
 * define are zero unless the sender included their key. Slices are borrowed:
 * after decode they point into the input buffer; for encode the caller keeps
 * them valid for the duration of the call. */
typedef struct rtm_wire_msg {
    rtm_wire_type_t type; /* "t" */
    uint64_t id;          /* PUBLISH, ACK, PRESENCE_JOIN, QUERY: correlation id chosen
                             by the node; 0 = "no ACK wanted" (never answered) */
    int32_t status;       /* ACK: 0, or a negative rtm error code */
    rtm_str_t app;        /* PUBLISH, SYNC_REQ, PRESENCE_JOIN/LEAVE, SUB_COUNT, QUERY,
                             TERMINATE: app id */
    rtm_str_t name;       /* PUBLISH: event name */
    rtm_str_t data;       /* PUBLISH: event data (msgpack str; bin accepted) */
    rtm_str_t exclude;    /* PUBLISH: socket id not to deliver to; may be empty.
                             MEMBER: socket id not told about the change.
                             PRESENCE_JOIN/LEAVE: the joining/leaving socket id */
    rtm_str_t node;       /* NODE_HB: node/worker id */
    uint32_t shard;       /* SHARD_HB, REPLICA: the sender's index in its own broker list
                             (RTM_WIRE_UNLISTED when it is not listed there) */
    uint64_t epoch;       /* SHARD_HB: shard start time in ms; changes on restart */
    rtm_str_t broker;     /* SHARD_HB, REPLICA, MOVED: the sender's identity (its ingress
                             endpoint as listed); empty from a sender that predates the field */
    uint64_t digest;      /* SHARD_HB, NODE_HB: rtm_brokers digest of the sender's broker
                             list; 0 = not told */
    uint64_t beat;        /* SHARD_HB: the broker's heartbeat number (1, 2, ... per start);
                             PUBLISH: the number of the owner's last heartbeat the sender
                             heard; both written only when > 0 (0 = not told) */
    bool joining;         /* SHARD_HB: the sender is back in a mesh that ran without it and
                             must not be routed to yet (docs/wire.md §4); written only when
                             true */
    uint32_t n_channels;  /* PUBLISH: 1..RTM_WIRE_MAX_CHANNELS */
    rtm_str_t channels[RTM_WIRE_MAX_CHANNELS]; /* PUBLISH: channel names */
    rtm_str_t user_id;    /* PUBLISH (optional, adds "user_id" to the rendered client
                             event), MEMBER, PRESENCE_JOIN/LEAVE, TERMINATE */
    rtm_str_t user_info;  /* MEMBER, PRESENCE_JOIN: raw JSON text; may be empty */
    bool user_num;        /* MEMBER, PRESENCE_JOIN: user_id is the decimal form of a JSON
                             integer the app gave (written only when true) */
    rtm_str_t channel;    /* SYNC_REQ, SYNC, MEMBER, PRESENCE_JOIN/LEAVE, SUB_COUNT, MOVED:
                             the channel; QUERY: prefix filter (kind 1, may be
                             empty) or the channel (kinds 2, 3) */
    rtm_str_t json;       /* ACK of a QUERY: the answer (see docs/wire.md); may be empty */
    rtm_str_t reason;     /* ACK with a status < 0: why, in words for a person (the REST
                             API's message); written only when non-empty */
    rtm_str_t cache_json; /* SYNC: rendered client JSON of the cached event; empty = none */
    uint64_t ttl_ms;      /* SYNC: the cached event's remaining life; written only when > 0
                             (0 with a cache: a sender that predates the field, full life) */
    rtm_str_t info;       /* QUERY, PUBLISH (optional: the ACK's json then answers it, see
                             docs/wire.md): the REST "info" parameter as sent; may be empty */
    uint64_t count;       /* SYNC: mesh-wide subscription count; SUB_COUNT: this peer's
                             absolute local subscriber count (0 removes); REPLICA: 1 when
                             the channel was announced occupied, else 0; SHARD_HB: the
                             sender's webhook events held (written only when > 0) */
    uint32_t limit;       /* PRESENCE_JOIN: most distinct members; 0 = unlimited */
    uint32_t kind;        /* QUERY: an rtm_wire_query_kind_t (others decode; the broker
                             answers them RTM_EINVAL) */
    bool added;           /* MEMBER: true member_added, false member_removed */
    bool notify;          /* SUB_COUNT: the app has subscription_count events on */
    uint32_t n_members;   /* SYNC, REPLICA: number of members, 0..RTM_WIRE_MAX_MEMBERS */
    /* SYNC, REPLICA, encode only: n_members entries (borrowed); NULL after decode. */
    const rtm_wire_member_t *members;
    /* SYNC, REPLICA, decode only: the encoded array elements, a slice of the
     * input; read them with rtm_wire_members_begin/next. */
    rtm_str_t members_raw;
} rtm_wire_msg_t;

/* Walks the members of a decoded SYNC without allocating. */
typedef struct {
    const char *p;   /* next unread byte of members_raw */
    const char *end; /* one past members_raw */
    uint32_t left;   /* members not yet returned */
} rtm_wire_members_iter_t;

/* Exact encoded size of msg, or RTM_EINVAL when msg is not encodable (unknown
 * type, n_channels outside 1..RTM_WIRE_MAX_CHANNELS for PUBLISH, n_members
 * over RTM_WIRE_MAX_MEMBERS or members NULL with n_members > 0 for SYNC, an
 * empty member user_id, a NULL slice with a non-zero length) or RTM_ETOOBIG
 * past INT_MAX bytes. Every field of the type is written (docs/wire.md lists
 * them) except PUBLISH "user_id" and "info" and ACK "json" and "reason", written only when
 * non-empty, "user_num" (MEMBER, PRESENCE_JOIN) and a member's third element, written only
 * when true, PUBLISH and SHARD_HB "beat", written only when > 0, and SHARD_HB "joining",
 * written only when true, so that bodies of the
 * earlier format stay byte-identical. */
int rtm_wire_encoded_len(const rtm_wire_msg_t *msg);

/* Encodes msg into out[0..cap). Returns the number of bytes written;
 * RTM_ETOOBIG when cap is smaller than rtm_wire_encoded_len(msg) (out then
 * holds an unspecified prefix); RTM_EINVAL as for rtm_wire_encoded_len. Keys
 * are written "v", "t" first. Whatever this accepts, rtm_wire_decode returns
 * equal. msg and out are borrowed for the call. */
int rtm_wire_encode(const rtm_wire_msg_t *msg, char *out, size_t cap);

/* Encodes msg into stack (cap bytes) when it fits there, else into a new
 * buffer of its size; *out is where it went (the caller frees it when it is
 * not stack). Returns the length, or RTM_EINVAL / RTM_ETOOBIG as above. */
int rtm_wire_encode_buf(const rtm_wire_msg_t *msg, char *stack, size_t cap, char **out);

/* Decodes one whole body buf[0..len) into *msg (overwritten). Returns 0, or
 * (in this order of precedence, docs/wire.md):
 *   RTM_EPROTO   not exactly one well-formed map, a key that is not a str, no
 *                valid "v";
 *   RTM_EVERSION "v" is not RTM_WIRE_VERSION (nothing else is checked);
 *   RTM_ETOOBIG  a "channels" array of more than RTM_WIRE_MAX_CHANNELS or a
 *                "members" array of more than RTM_WIRE_MAX_MEMBERS, or
 *   RTM_EPROTO   a known key with the wrong msgpack type or range (a member
 *                that is not an array of exactly two str, the first non-empty),
 *                or given twice (whichever comes first in the body);
 *   RTM_EPROTO   "t" missing or unknown, a field the type requires missing, a
 *                PUBLISH with no channel.
 * Unknown keys are skipped (forward compatibility). On success the slices in
 * *msg point into buf and live as long as buf; on failure *msg is unspecified.
 * No allocation, no recursion: safe on any input. */
int rtm_wire_decode(const char *buf, size_t len, rtm_wire_msg_t *msg);

/* Starts iterating the members of msg, a SYNC or REPLICA returned by rtm_wire_decode
 * (members_raw and n_members; for any other msg the walk is empty). it and
 * msg are caller memory; the iterator borrows msg's input buffer. */
void rtm_wire_members_begin(rtm_wire_members_iter_t *it, const rtm_wire_msg_t *msg);

/* Returns 1 and the next member in *member (slices into the decoded buffer:
 * user_id is non-empty, user_info is raw JSON text or empty), 0 when all were
 * returned, or RTM_EPROTO when the bytes are damaged — which cannot happen for
 * a msg that rtm_wire_decode accepted (it validated every member). */
int rtm_wire_members_next(rtm_wire_members_iter_t *it, rtm_wire_member_t *member);

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

/* Writes the topic of the server-to-user channel of user_id,
 * "<app>\x1F#server-to-user-<user_id>\x00" (RTM_CHANNEL_USER_PREFIX), where
 * TERMINATE controls are published. Returns as rtm_wire_topic; RTM_EINVAL
 * also when user_id is empty. */
int rtm_wire_user_topic(char *out, size_t cap, rtm_str_t app, rtm_str_t user_id);

/* Prefix of the replica topics on a broker's egress, and the bytes of one
 * (prefix, 16 hex digits, terminator). */
#define RTM_WIRE_REPLICA_PREFIX    "\x01rp"
#define RTM_WIRE_REPLICA_TOPIC_LEN 20
#define RTM_WIRE_REPLICA_TOPIC_MAX RTM_WIRE_REPLICA_TOPIC_LEN

/* Writes the egress topic on which brokers send REPLICA messages to the
 * broker whose key is `key` (rtm_rendezvous_seed of its identity, so the
 * topic stays the same whatever the list around it does):
 * "\x01rp<key as 16 lowercase hex digits>\x00" (0x01 keeps every node's
 * channel subscriptions away; the fixed width and the terminator keep one
 * topic from being a prefix of another). Returns its length, terminator
 * included, or RTM_ETOOBIG when cap is smaller than that. */
int rtm_wire_replica_topic(char *out, size_t cap, uint64_t key);

#endif
