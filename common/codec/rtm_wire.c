/* rtm_wire — see rtm_wire.h; docs/wire.md is the format.
 *
 * Encoding uses msgpack-c's packer with a write callback that fills caller
 * memory and keeps counting past the end, so one routine gives both the exact
 * length and the bytes. Decoding does not use msgpack-c's unpacker: it
 * allocates every array and map up front at its *declared* size, so a 5-byte
 * body declaring 2^28 elements makes it reserve gigabytes. The small reader
 * here walks the buffer in place instead: every object consumes at least one
 * byte, so an element count larger than the bytes left is rejected before any
 * work, skipping is iterative (no recursion depth to exhaust), and str/bin
 * values become slices of the input. Invariant of the reader: the cursor never
 * passes `end`, and every length is checked against the bytes left before it
 * is used. */
#include "rtm_wire.h"

#include "rtm_channel.h"
#include "rtm_error.h"

#include <inttypes.h>
#include <limits.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- encoding ---------------------------------------------------------- */

typedef struct {
    char *out;  /* caller memory, may be NULL when cap is 0 */
    size_t cap; /* bytes available at out */
    size_t len; /* bytes produced so far, including any that did not fit */
} s_sink_t;

static int s_sink_write(void *data, const char *buf, size_t len)
{
    s_sink_t *s = data;
    if (s->len <= s->cap && len <= s->cap - s->len && len > 0)
        memcpy(s->out + s->len, buf, len);
    s->len += len;
    return 0;
}

static void s_pack_key(msgpack_packer *pk, const char *key)
{
    size_t n = strlen(key);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, key, n);
}

static void s_pack_str(msgpack_packer *pk, const char *key, rtm_str_t v)
{
    s_pack_key(pk, key);
    msgpack_pack_str(pk, v.len);
    msgpack_pack_str_body(pk, v.p, v.len);
}

static void s_pack_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
    s_pack_key(pk, key);
    msgpack_pack_uint64(pk, v);
}

static void s_pack_bool(msgpack_packer *pk, const char *key, bool v)
{
    s_pack_key(pk, key);
    if (v)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

static bool s_str_ok(rtm_str_t s)
{
    return s.p != NULL || s.len == 0;
}

static int s_check_publish(const rtm_wire_msg_t *m)
{
    if (m->n_channels < 1 || m->n_channels > RTM_WIRE_MAX_CHANNELS)
        return RTM_EINVAL;
    for (uint32_t i = 0; i < m->n_channels; i++)
        if (!s_str_ok(m->channels[i]))
            return RTM_EINVAL;
    return 8 + (m->user_id.len > 0) + (m->info.len > 0) + (m->beat > 0);
}

static int s_check_sync(const rtm_wire_msg_t *m)
{
    if (m->n_members > RTM_WIRE_MAX_MEMBERS || (m->n_members > 0 && !m->members))
        return RTM_EINVAL;
    for (uint32_t i = 0; i < m->n_members; i++) {
        const rtm_wire_member_t *mb = &m->members[i];
        if (mb->user_id.len == 0 || !s_str_ok(mb->user_id) || !s_str_ok(mb->user_info))
            return RTM_EINVAL;
    }
    return m->ttl_ms > 0 ? 7 : 6;
}

/* Checks what the decoder would refuse; returns the map's entry count or an error. */
static int s_check(const rtm_wire_msg_t *m)
{
    const rtm_str_t all[] = {m->app,     m->name,      m->data,    m->exclude, m->node,
                             m->user_id, m->user_info, m->channel, m->json,    m->cache_json,
                             m->info,    m->broker,    m->reason};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!s_str_ok(all[i]))
            return RTM_EINVAL;
    switch (m->type) {
    case RTM_WIRE_PUBLISH: return s_check_publish(m);
    case RTM_WIRE_ACK: return 4 + (m->json.len > 0) + (m->reason.len > 0);
    case RTM_WIRE_NODE_HB: return 3 + (m->digest != 0);
    case RTM_WIRE_SHARD_HB:
        return 4 + (m->count > 0) + (m->broker.len > 0) + (m->digest != 0) + (m->beat > 0) +
               m->joining;
    case RTM_WIRE_SYNC_REQ: return 4;
    case RTM_WIRE_SYNC: return s_check_sync(m);
    case RTM_WIRE_MEMBER: return 7 + m->user_num;
    case RTM_WIRE_PRESENCE_JOIN: return 9 + m->user_num;
    case RTM_WIRE_PRESENCE_LEAVE: return 6;
    case RTM_WIRE_SUB_COUNT: return 6;
    case RTM_WIRE_QUERY: return 7;
    case RTM_WIRE_TERMINATE: return 4;
    case RTM_WIRE_CACHE_MISS: return 4;
    case RTM_WIRE_REPLICA: return s_check_sync(m) < 0 ? RTM_EINVAL : 7 + (m->broker.len > 0);
    case RTM_WIRE_MOVED: return 4;
    }
    return RTM_EINVAL;
}

static void s_pack_publish(const rtm_wire_msg_t *m, msgpack_packer *pk)
{
    s_pack_u64(pk, "id", m->id);
    s_pack_str(pk, "app", m->app);
    s_pack_key(pk, "channels");
    msgpack_pack_array(pk, m->n_channels);
    for (uint32_t i = 0; i < m->n_channels; i++) {
        msgpack_pack_str(pk, m->channels[i].len);
        msgpack_pack_str_body(pk, m->channels[i].p, m->channels[i].len);
    }
    s_pack_str(pk, "name", m->name);
    s_pack_str(pk, "data", m->data);
    s_pack_str(pk, "exclude", m->exclude);
    if (m->user_id.len > 0)
        s_pack_str(pk, "user_id", m->user_id);
    if (m->info.len > 0)
        s_pack_str(pk, "info", m->info);
    if (m->beat > 0) /* the broker's last heartbeat the sender heard; absent: not told */
        s_pack_u64(pk, "beat", m->beat);
}

static void s_pack_members(const rtm_wire_msg_t *m, msgpack_packer *pk)
{
    s_pack_key(pk, "members");
    msgpack_pack_array(pk, m->n_members);
    for (uint32_t i = 0; i < m->n_members; i++) {
        const rtm_wire_member_t *mb = &m->members[i];
        msgpack_pack_array(pk, mb->user_num ? 3 : 2); /* [id, info] as in the first format */
        msgpack_pack_str(pk, mb->user_id.len);
        msgpack_pack_str_body(pk, mb->user_id.p, mb->user_id.len);
        msgpack_pack_str(pk, mb->user_info.len);
        msgpack_pack_str_body(pk, mb->user_info.p, mb->user_info.len);
        if (mb->user_num)
            msgpack_pack_true(pk);
    }
}

static void s_pack_sync(const rtm_wire_msg_t *m, msgpack_packer *pk)
{
    s_pack_str(pk, "channel", m->channel);
    s_pack_u64(pk, "count", m->count);
    s_pack_str(pk, "cache_json", m->cache_json);
    if (m->ttl_ms > 0)
        s_pack_u64(pk, "ttl_ms", m->ttl_ms);
    s_pack_members(m, pk);
}

static void s_pack_replica(const rtm_wire_msg_t *m, msgpack_packer *pk)
{
    s_pack_u64(pk, "shard", m->shard);
    s_pack_str(pk, "app", m->app);
    s_pack_str(pk, "channel", m->channel);
    s_pack_u64(pk, "count", m->count);
    s_pack_members(m, pk);
    if (m->broker.len > 0)
        s_pack_str(pk, "broker", m->broker);
}

/* The fields of the presence and count messages, in their encoded order. */
static void s_pack_channel_msg(const rtm_wire_msg_t *m, msgpack_packer *pk)
{
    if (m->type == RTM_WIRE_PRESENCE_JOIN)
        s_pack_u64(pk, "id", m->id);
    if (m->type != RTM_WIRE_MEMBER)
        s_pack_str(pk, "app", m->app);
    s_pack_str(pk, "channel", m->channel);
    if (m->type == RTM_WIRE_SUB_COUNT) {
        s_pack_u64(pk, "count", m->count);
        s_pack_bool(pk, "notify", m->notify);
        return;
    }
    s_pack_str(pk, "user_id", m->user_id);
    if (m->user_num && m->type != RTM_WIRE_PRESENCE_LEAVE) /* absent: a string id */
        s_pack_bool(pk, "user_num", true);
    if (m->type != RTM_WIRE_PRESENCE_LEAVE)
        s_pack_str(pk, "user_info", m->user_info);
    s_pack_str(pk, "exclude", m->exclude);
    if (m->type == RTM_WIRE_MEMBER)
        s_pack_bool(pk, "added", m->added);
    if (m->type == RTM_WIRE_PRESENCE_JOIN)
        s_pack_u64(pk, "limit", m->limit);
}

static void s_pack_query(const rtm_wire_msg_t *m, msgpack_packer *pk)
{
    s_pack_u64(pk, "id", m->id);
    s_pack_str(pk, "app", m->app);
    s_pack_u64(pk, "kind", m->kind);
    s_pack_str(pk, "channel", m->channel);
    s_pack_str(pk, "info", m->info);
}

static void s_pack(const rtm_wire_msg_t *m, int entries, msgpack_packer *pk)
{
    msgpack_pack_map(pk, (size_t)entries);
    s_pack_u64(pk, "v", RTM_WIRE_VERSION);
    s_pack_u64(pk, "t", (uint64_t)m->type);
    switch (m->type) {
    case RTM_WIRE_PUBLISH: s_pack_publish(m, pk); break;
    case RTM_WIRE_ACK:
        s_pack_u64(pk, "id", m->id);
        s_pack_key(pk, "status");
        msgpack_pack_int32(pk, m->status);
        if (m->json.len > 0)
            s_pack_str(pk, "json", m->json);
        if (m->reason.len > 0)
            s_pack_str(pk, "reason", m->reason);
        break;
    case RTM_WIRE_NODE_HB:
        s_pack_str(pk, "node", m->node);
        if (m->digest)
            s_pack_u64(pk, "digest", m->digest);
        break;
    case RTM_WIRE_SHARD_HB:
        s_pack_u64(pk, "shard", m->shard);
        s_pack_u64(pk, "epoch", m->epoch);
        if (m->count > 0) /* the webhook events held; absent: none (or an older sender) */
            s_pack_u64(pk, "count", m->count);
        if (m->broker.len > 0)
            s_pack_str(pk, "broker", m->broker);
        if (m->digest)
            s_pack_u64(pk, "digest", m->digest);
        if (m->beat > 0) /* its heartbeat number; absent: an older sender */
            s_pack_u64(pk, "beat", m->beat);
        if (m->joining) /* absent: not joining (or an older sender) */
            s_pack_bool(pk, "joining", true);
        break;
    case RTM_WIRE_SYNC_REQ:
    case RTM_WIRE_CACHE_MISS:
        s_pack_str(pk, "app", m->app);
        s_pack_str(pk, "channel", m->channel);
        break;
    case RTM_WIRE_SYNC: s_pack_sync(m, pk); break;
    case RTM_WIRE_REPLICA: s_pack_replica(m, pk); break;
    case RTM_WIRE_MEMBER:
    case RTM_WIRE_PRESENCE_JOIN:
    case RTM_WIRE_PRESENCE_LEAVE:
    case RTM_WIRE_SUB_COUNT: s_pack_channel_msg(m, pk); break;
    case RTM_WIRE_QUERY: s_pack_query(m, pk); break;
    case RTM_WIRE_TERMINATE:
        s_pack_str(pk, "app", m->app);
        s_pack_str(pk, "user_id", m->user_id);
        break;
    case RTM_WIRE_MOVED:
        s_pack_str(pk, "channel", m->channel);
        s_pack_str(pk, "broker", m->broker);
        break;
    }
}

int rtm_wire_encode(const rtm_wire_msg_t *msg, char *out, size_t cap)
{
    int entries = s_check(msg);
    if (entries < 0)
        return entries;
    s_sink_t sink = {out, out ? cap : 0, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sink, s_sink_write);
    s_pack(msg, entries, &pk);
    if (sink.len > INT_MAX || sink.len > sink.cap)
        return RTM_ETOOBIG;
    return (int)sink.len;
}

int rtm_wire_encode_buf(const rtm_wire_msg_t *msg, char *stack, size_t cap, char **out)
{
    int len = rtm_wire_encode(msg, stack, cap); /* one pass for the bodies that fit */
    *out = stack;
    if (len != RTM_ETOOBIG)
        return len;
    if ((len = rtm_wire_encoded_len(msg)) < 0)
        return len;
    if (!(*out = malloc((size_t)len)))
        abort();
    return rtm_wire_encode(msg, *out, (size_t)len);
}

int rtm_wire_encoded_len(const rtm_wire_msg_t *msg)
{
    int entries = s_check(msg);
    if (entries < 0)
        return entries;
    s_sink_t sink = {NULL, 0, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sink, s_sink_write);
    s_pack(msg, entries, &pk);
    return sink.len > INT_MAX ? RTM_ETOOBIG : (int)sink.len;
}

/* ---- reading ----------------------------------------------------------- */

typedef struct {
    const uint8_t *p;   /* next unread byte */
    const uint8_t *end; /* one past the last byte */
} s_cur_t;

typedef enum { S_INT, S_NIL, S_BOOL, S_FLOAT, S_STR, S_BIN, S_EXT, S_ARRAY, S_MAP } s_kind_t;

typedef struct {
    s_kind_t kind;
    bool neg;         /* S_INT: negative, value in i */
    int64_t i;        /* S_INT when neg */
    uint64_t u;       /* S_INT value when !neg; S_STR/S_BIN/S_EXT length; S_ARRAY/S_MAP
                         count; S_BOOL 1 for true */
    const char *body; /* S_STR/S_BIN: first payload byte */
} s_obj_t;

static size_t s_left(const s_cur_t *c)
{
    return (size_t)(c->end - c->p);
}

/* Reads an n-byte big-endian unsigned; false when fewer than n bytes are left. */
static bool s_be(s_cur_t *c, size_t n, uint64_t *v)
{
    if (s_left(c) < n)
        return false;
    uint64_t x = 0;
    for (size_t k = 0; k < n; k++)
        x = x << 8 | c->p[k];
    c->p += n;
    *v = x;
    return true;
}

/* Consumes a str/bin/ext payload of o->u bytes (+1 type byte for ext). */
static bool s_payload(s_cur_t *c, s_obj_t *o, size_t extra)
{
    if (s_left(c) < extra || s_left(c) - extra < o->u)
        return false;
    o->body = (const char *)c->p + extra;
    c->p += extra + o->u;
    return true;
}

static bool s_signed(s_cur_t *c, size_t n, s_obj_t *o)
{
    uint64_t v;
    if (!s_be(c, n, &v))
        return false;
    int64_t i = n == 1 ? (int8_t)v : n == 2 ? (int16_t)v : n == 4 ? (int32_t)v : (int64_t)v;
    o->kind = S_INT;
    o->neg = i < 0;
    o->i = i;
    o->u = o->neg ? 0 : (uint64_t)i;
    return true;
}

/* Byte counts of the length field for 0xc4..0xdf, 0 where not a sized form. */
static const uint8_t s_width[0xe0 - 0xc4] = {
    [0xc4 - 0xc4] = 1,  [0xc5 - 0xc4] = 2, [0xc6 - 0xc4] = 4,                    /* bin */
    [0xc7 - 0xc4] = 1,  [0xc8 - 0xc4] = 2, [0xc9 - 0xc4] = 4,                    /* ext */
    [0xca - 0xc4] = 4,  [0xcb - 0xc4] = 8,                                       /* float */
    [0xcc - 0xc4] = 1,  [0xcd - 0xc4] = 2, [0xce - 0xc4] = 4, [0xcf - 0xc4] = 8, /* uint */
    [0xd0 - 0xc4] = 1,  [0xd1 - 0xc4] = 2, [0xd2 - 0xc4] = 4, [0xd3 - 0xc4] = 8, /* int */
    [0xd4 - 0xc4] = 1,  [0xd5 - 0xc4] = 2, [0xd6 - 0xc4] = 4, [0xd7 - 0xc4] = 8,
    [0xd8 - 0xc4] = 16,                                       /* fixext: payload size */
    [0xd9 - 0xc4] = 1,  [0xda - 0xc4] = 2, [0xdb - 0xc4] = 4, /* str */
    [0xdc - 0xc4] = 2,  [0xdd - 0xc4] = 4,                    /* array */
    [0xde - 0xc4] = 2,  [0xdf - 0xc4] = 4,                    /* map */
};

/* The sized forms 0xc4..0xdf. */
static bool s_head_sized(s_cur_t *c, uint8_t b, s_obj_t *o)
{
    size_t w = s_width[b - 0xc4];
    if (b >= 0xd0 && b <= 0xd3)
        return s_signed(c, w, o);
    if (b >= 0xd4 && b <= 0xd8) { /* fixext: type byte + w bytes */
        o->kind = S_EXT;
        o->u = w;
        return s_payload(c, o, 1);
    }
    if (b == 0xca || b == 0xcb) {
        o->kind = S_FLOAT;
        o->u = w;
        return s_payload(c, o, 0);
    }
    if (!s_be(c, w, &o->u))
        return false;
    if (b <= 0xc6 || b >= 0xd9) {
        o->kind = b <= 0xc6 ? S_BIN : b <= 0xdb ? S_STR : b <= 0xdd ? S_ARRAY : S_MAP;
        return o->kind == S_ARRAY || o->kind == S_MAP || s_payload(c, o, 0);
    }
    if (b <= 0xc9) {
        o->kind = S_EXT;
        return s_payload(c, o, 1);
    }
    o->kind = S_INT; /* 0xcc..0xcf */
    o->neg = false;
    return true;
}

/* Reads one object header; str/bin/ext/float payloads are consumed too, so the
 * cursor is then at the next object (for arrays and maps: at the first element).
 * False on truncation or the never-used byte 0xc1. */
static bool s_head(s_cur_t *c, s_obj_t *o)
{
    if (s_left(c) < 1)
        return false;
    uint8_t b = *c->p++;
    memset(o, 0, sizeof *o);
    if (b <= 0x7f || b >= 0xe0) {
        o->kind = S_INT;
        o->neg = b >= 0xe0;
        o->i = (int8_t)b;
        o->u = o->neg ? 0 : b;
        return true;
    }
    if (b <= 0x8f || (b >= 0x90 && b <= 0x9f)) {
        o->kind = b <= 0x8f ? S_MAP : S_ARRAY;
        o->u = b & 0x0f;
        return true;
    }
    if (b <= 0xbf) {
        o->kind = S_STR;
        o->u = b & 0x1f;
        return s_payload(c, o, 0);
    }
    if (b == 0xc0 || b == 0xc2 || b == 0xc3) {
        o->kind = b == 0xc0 ? S_NIL : S_BOOL;
        o->u = b == 0xc3;
        return true;
    }
    if (b == 0xc1)
        return false;
    return s_head_sized(c, b, o);
}

/* Skips one whole object. Iterative: `pending` counts objects still to read,
 * and since each takes at least one byte it can never exceed the bytes left. */
static bool s_skip(s_cur_t *c)
{
    uint64_t pending = 1;
    while (pending > 0) {
        if (pending > s_left(c))
            return false;
        s_obj_t o;
        if (!s_head(c, &o))
            return false;
        pending--;
        if (o.kind == S_ARRAY)
            pending += o.u;
        else if (o.kind == S_MAP)
            pending += 2 * o.u;
    }
    return true;
}

/* ---- decoding ---------------------------------------------------------- */

enum {
    F_V = 1 << 0,
    F_T = 1 << 1,
    F_ID = 1 << 2,
    F_STATUS = 1 << 3,
    F_APP = 1 << 4,
    F_CHANNELS = 1 << 5,
    F_NAME = 1 << 6,
    F_DATA = 1 << 7,
    F_EXCLUDE = 1 << 8,
    F_NODE = 1 << 9,
    F_SHARD = 1 << 10,
    F_EPOCH = 1 << 11,
    F_USER_ID = 1 << 12,
    F_USER_INFO = 1 << 13,
    F_CHANNEL = 1 << 14,
    F_JSON = 1 << 15,
    F_CACHE_JSON = 1 << 16,
    F_INFO = 1 << 17,
    F_COUNT = 1 << 18,
    F_LIMIT = 1 << 19,
    F_KIND = 1 << 20,
    F_ADDED = 1 << 21,
    F_NOTIFY = 1 << 22,
    F_MEMBERS = 1 << 23,
    F_TTL_MS = 1 << 24,
    F_BROKER = 1 << 25,
    F_DIGEST = 1 << 26,
    F_REASON = 1 << 27,
    F_USER_NUM = 1 << 28,
    F_BEAT = 1 << 29,
    F_JOINING = 1 << 30,
};

typedef enum { K_UINT, K_INT32, K_BOOL, K_STR, K_STR_OR_BIN, K_CHANNELS, K_MEMBERS } s_vkind_t;

typedef struct {
    const char *name; /* the key */
    unsigned bit;     /* its F_ bit */
    s_vkind_t kind;   /* the msgpack type its value must have */
    size_t offset;    /* where the value goes in rtm_wire_msg_t */
    uint64_t max;     /* K_UINT: largest value accepted */
} s_key_t;

#define S_OFF(field) offsetof(rtm_wire_msg_t, field)

/* Every known key of v1 with its one type. "v" and "t" go to the scratch struct. */
static const s_key_t s_keys[] = {
    {"v", F_V, K_UINT, 0, UINT32_MAX},
    {"t", F_T, K_UINT, 0, INT32_MAX},
    {"id", F_ID, K_UINT, S_OFF(id), UINT64_MAX},
    {"status", F_STATUS, K_INT32, S_OFF(status), 0},
    {"app", F_APP, K_STR, S_OFF(app), 0},
    {"channels", F_CHANNELS, K_CHANNELS, 0, 0},
    {"name", F_NAME, K_STR, S_OFF(name), 0},
    {"data", F_DATA, K_STR_OR_BIN, S_OFF(data), 0},
    {"exclude", F_EXCLUDE, K_STR, S_OFF(exclude), 0},
    {"node", F_NODE, K_STR, S_OFF(node), 0},
    {"shard", F_SHARD, K_UINT, S_OFF(shard), UINT32_MAX},
    {"epoch", F_EPOCH, K_UINT, S_OFF(epoch), UINT64_MAX},
    {"user_id", F_USER_ID, K_STR, S_OFF(user_id), 0},
    {"user_info", F_USER_INFO, K_STR, S_OFF(user_info), 0},
    {"channel", F_CHANNEL, K_STR, S_OFF(channel), 0},
    {"json", F_JSON, K_STR, S_OFF(json), 0},
    {"cache_json", F_CACHE_JSON, K_STR, S_OFF(cache_json), 0},
    {"info", F_INFO, K_STR, S_OFF(info), 0},
    {"count", F_COUNT, K_UINT, S_OFF(count), UINT64_MAX},
    {"limit", F_LIMIT, K_UINT, S_OFF(limit), UINT32_MAX},
    {"kind", F_KIND, K_UINT, S_OFF(kind), UINT32_MAX},
    {"added", F_ADDED, K_BOOL, S_OFF(added), 0},
    {"notify", F_NOTIFY, K_BOOL, S_OFF(notify), 0},
    {"members", F_MEMBERS, K_MEMBERS, 0, 0},
    {"ttl_ms", F_TTL_MS, K_UINT, S_OFF(ttl_ms), UINT64_MAX},
    {"broker", F_BROKER, K_STR, S_OFF(broker), 0},
    {"digest", F_DIGEST, K_UINT, S_OFF(digest), UINT64_MAX},
    {"reason", F_REASON, K_STR, S_OFF(reason), 0},
    {"user_num", F_USER_NUM, K_BOOL, S_OFF(user_num), 0},
    {"beat", F_BEAT, K_UINT, S_OFF(beat), UINT64_MAX},
    {"joining", F_JOINING, K_BOOL, S_OFF(joining), 0},
};

typedef struct {
    unsigned seen; /* F_ bits of keys met */
    unsigned good; /* F_ bits of keys whose value was stored */
    uint64_t v, t; /* "v" and "t" */
    int field_err; /* first error of a well-formed but wrong value, 0 if none */
} s_scan_t;

/* Reads a "channels" array at c; a wrong element type or count is a field
 * error (the value is skipped), only damage to the encoding is fatal. */
static bool s_channels(s_cur_t *c, rtm_wire_msg_t *m, s_scan_t *s)
{
    const uint8_t *start = c->p;
    s_obj_t arr;
    if (!s_head(c, &arr))
        return false;
    if (arr.kind != S_ARRAY || arr.u > RTM_WIRE_MAX_CHANNELS) {
        if (!s->field_err)
            s->field_err = arr.kind == S_ARRAY ? RTM_ETOOBIG : RTM_EPROTO;
        c->p = start;
        return s_skip(c);
    }
    m->n_channels = (uint32_t)arr.u;
    s->good |= F_CHANNELS;
    for (uint32_t i = 0; i < m->n_channels; i++) {
        const uint8_t *el = c->p;
        s_obj_t o;
        if (!s_head(c, &o))
            return false;
        if (o.kind == S_STR) {
            m->channels[i] = rtm_str(o.body, o.u);
            continue;
        }
        if (!s->field_err)
            s->field_err = RTM_EPROTO;
        c->p = el;
        if (!s_skip(c))
            return false;
    }
    return true;
}

/* Reads one member [user_id, user_info] or [user_id, user_info, true] (the
 * id is a number) at c: 0, RTM_EPROTO when it is well-formed msgpack of the
 * wrong shape (c then still at its start), or 1 when the encoding itself is
 * damaged. */
static int s_member(s_cur_t *c, rtm_wire_member_t *mb)
{
    const uint8_t *start = c->p;
    s_obj_t arr, id, info, num = {.kind = S_BOOL, .u = 0};
    if (!s_head(c, &arr))
        return 1;
    if (arr.kind == S_ARRAY && (arr.u == 2 || arr.u == 3) && s_head(c, &id) && id.kind == S_STR &&
        id.u > 0 && s_head(c, &info) && info.kind == S_STR &&
        (arr.u == 2 || (s_head(c, &num) && num.kind == S_BOOL))) {
        mb->user_id = rtm_str(id.body, id.u);
        mb->user_info = rtm_str(info.body, info.u);
        mb->user_num = num.u != 0;
        return 0;
    }
    c->p = start;
    return RTM_EPROTO;
}

/* Reads a "members" array at c, validating every member so the iterator
 * cannot fail later; like s_channels, only damage to the encoding is fatal. */
static bool s_members(s_cur_t *c, rtm_wire_msg_t *m, s_scan_t *s)
{
    const uint8_t *start = c->p;
    s_obj_t arr;
    if (!s_head(c, &arr))
        return false;
    if (arr.kind != S_ARRAY || arr.u > RTM_WIRE_MAX_MEMBERS) {
        if (!s->field_err)
            s->field_err = arr.kind == S_ARRAY ? RTM_ETOOBIG : RTM_EPROTO;
        c->p = start;
        return s_skip(c);
    }
    const uint8_t *first = c->p;
    for (uint64_t i = 0; i < arr.u; i++) {
        rtm_wire_member_t mb;
        int rc = s_member(c, &mb);
        if (rc > 0)
            return false;
        if (rc == 0)
            continue;
        if (!s->field_err)
            s->field_err = RTM_EPROTO;
        if (!s_skip(c))
            return false;
    }
    m->n_members = (uint32_t)arr.u;
    m->members_raw = rtm_str((const char *)first, (size_t)(c->p - first));
    s->good |= F_MEMBERS;
    return true;
}

/* Stores one scalar value of key k from object o; false when its type is wrong. */
static bool s_store(const s_key_t *k, const s_obj_t *o, rtm_wire_msg_t *m, s_scan_t *s)
{
    char *slot = (char *)m + k->offset;
    switch (k->kind) {
    case K_UINT:
        if (o->kind != S_INT || o->neg || o->u > k->max)
            return false;
        if (k->bit == F_V || k->bit == F_T)
            *(k->bit == F_V ? &s->v : &s->t) = o->u;
        else if (k->max == UINT32_MAX)
            *(uint32_t *)slot = (uint32_t)o->u;
        else
            *(uint64_t *)slot = o->u;
        return true;
    case K_INT32:
        if (o->kind != S_INT || (o->neg ? o->i < INT32_MIN : o->u > INT32_MAX))
            return false;
        *(int32_t *)slot = o->neg ? (int32_t)o->i : (int32_t)o->u;
        return true;
    case K_BOOL:
        if (o->kind != S_BOOL)
            return false;
        *(bool *)slot = o->u != 0;
        return true;
    case K_STR:
    case K_STR_OR_BIN:
        if (o->kind != S_STR && !(o->kind == S_BIN && k->kind == K_STR_OR_BIN))
            return false;
        *(rtm_str_t *)slot = rtm_str(o->body, o->u);
        return true;
    case K_CHANNELS:
    case K_MEMBERS: break;
    }
    return false;
}

/* Reads the value of one map entry whose key is `key`. False only when the
 * encoding itself is damaged; wrong values are recorded in s->field_err. */
static bool s_entry(s_cur_t *c, rtm_str_t key, rtm_wire_msg_t *m, s_scan_t *s)
{
    const s_key_t *k = NULL;
    for (size_t i = 0; i < sizeof s_keys / sizeof s_keys[0] && !k; i++)
        if (rtm_str_eq_cstr(key, s_keys[i].name))
            k = &s_keys[i];
    if (!k)
        return s_skip(c); /* unknown key: forward compatibility */
    if ((s->seen & k->bit) && !s->field_err)
        s->field_err = RTM_EPROTO; /* a key twice is ambiguous: refuse it */
    s->seen |= k->bit;
    if (k->kind == K_CHANNELS)
        return s_channels(c, m, s);
    if (k->kind == K_MEMBERS)
        return s_members(c, m, s);
    const uint8_t *start = c->p;
    s_obj_t o;
    if (!s_head(c, &o))
        return false;
    if (s_store(k, &o, m, s)) {
        s->good |= k->bit;
        return true;
    }
    if (!s->field_err)
        s->field_err = RTM_EPROTO;
    c->p = start;
    return s_skip(c);
}

static int s_require(rtm_wire_type_t t, unsigned seen, const rtm_wire_msg_t *m)
{
    unsigned need;
    switch (t) {
    case RTM_WIRE_PUBLISH:
        need = F_ID | F_APP | F_CHANNELS | F_NAME | F_DATA; /* exclude: absent = empty */
        if ((seen & need) == need && m->n_channels == 0)
            return RTM_EPROTO;
        break;
    case RTM_WIRE_ACK: need = F_ID | F_STATUS; break;
    case RTM_WIRE_NODE_HB: need = F_NODE; break;
    case RTM_WIRE_SHARD_HB: need = F_SHARD | F_EPOCH; break;
    case RTM_WIRE_SYNC_REQ: need = F_APP | F_CHANNEL; break;
    case RTM_WIRE_SYNC: need = F_CHANNEL | F_COUNT; break;
    case RTM_WIRE_MEMBER: need = F_CHANNEL | F_USER_ID | F_ADDED; break;
    case RTM_WIRE_PRESENCE_JOIN: need = F_ID | F_APP | F_CHANNEL | F_USER_ID | F_EXCLUDE; break;
    case RTM_WIRE_PRESENCE_LEAVE: need = F_APP | F_CHANNEL | F_USER_ID | F_EXCLUDE; break;
    case RTM_WIRE_SUB_COUNT: need = F_APP | F_CHANNEL | F_COUNT; break;
    case RTM_WIRE_QUERY: need = F_ID | F_APP | F_KIND; break;
    case RTM_WIRE_TERMINATE: need = F_APP | F_USER_ID; break;
    case RTM_WIRE_CACHE_MISS: need = F_APP | F_CHANNEL; break;
    case RTM_WIRE_REPLICA: need = F_SHARD | F_APP | F_CHANNEL | F_COUNT; break;
    case RTM_WIRE_MOVED: need = F_CHANNEL | F_BROKER; break;
    default: return RTM_EPROTO;
    }
    return (seen & need) == need ? 0 : RTM_EPROTO;
}

int rtm_wire_decode(const char *buf, size_t len, rtm_wire_msg_t *msg)
{
    memset(msg, 0, sizeof *msg);
    if (!buf)
        return RTM_EPROTO;
    s_cur_t c = {(const uint8_t *)buf, (const uint8_t *)buf + len};
    s_obj_t map;
    if (!s_head(&c, &map) || map.kind != S_MAP)
        return RTM_EPROTO;
    s_scan_t s = {0};
    for (uint64_t i = 0; i < map.u; i++) { /* each entry consumes >= 2 bytes: bounded */
        s_obj_t key;
        if (!s_head(&c, &key) || key.kind != S_STR)
            return RTM_EPROTO;
        if (!s_entry(&c, rtm_str(key.body, key.u), msg, &s))
            return RTM_EPROTO;
    }
    if (c.p != c.end || !(s.good & F_V))
        return RTM_EPROTO;
    if (s.v != RTM_WIRE_VERSION) /* another version may mean anything by its other keys */
        return RTM_EVERSION;
    if (s.field_err)
        return s.field_err;
    if (!(s.good & F_T))
        return RTM_EPROTO;
    msg->type = (rtm_wire_type_t)s.t;
    return s_require(msg->type, s.good, msg);
}

int rtm_wire_peek_id(const char *buf, size_t len, uint64_t *id)
{
    if (!buf)
        return RTM_ENOTFOUND;
    s_cur_t c = {(const uint8_t *)buf, (const uint8_t *)buf + len};
    s_obj_t map;
    if (!s_head(&c, &map) || map.kind != S_MAP)
        return RTM_ENOTFOUND;
    for (uint64_t i = 0; i < map.u; i++) {
        s_obj_t key, val;
        if (!s_head(&c, &key) || key.kind != S_STR)
            return RTM_ENOTFOUND;
        if (!rtm_str_eq_cstr(rtm_str(key.body, key.u), "id")) {
            if (!s_skip(&c))
                return RTM_ENOTFOUND;
            continue;
        }
        if (!s_head(&c, &val) || val.kind != S_INT || val.neg)
            return RTM_ENOTFOUND;
        *id = val.u;
        return 0;
    }
    return RTM_ENOTFOUND;
}

const char *rtm_wire_type_name(rtm_wire_type_t type)
{
    switch (type) {
    case RTM_WIRE_PUBLISH: return "publish";
    case RTM_WIRE_ACK: return "ack";
    case RTM_WIRE_NODE_HB: return "node_hb";
    case RTM_WIRE_SHARD_HB: return "shard_hb";
    case RTM_WIRE_SYNC_REQ: return "sync_req";
    case RTM_WIRE_SYNC: return "sync";
    case RTM_WIRE_MEMBER: return "member";
    case RTM_WIRE_PRESENCE_JOIN: return "presence_join";
    case RTM_WIRE_PRESENCE_LEAVE: return "presence_leave";
    case RTM_WIRE_SUB_COUNT: return "sub_count";
    case RTM_WIRE_QUERY: return "query";
    case RTM_WIRE_TERMINATE: return "terminate";
    case RTM_WIRE_CACHE_MISS: return "cache_miss";
    case RTM_WIRE_REPLICA: return "replica";
    case RTM_WIRE_MOVED: return "moved";
    }
    return "unknown";
}

/* ---- presence members -------------------------------------------------- */

void rtm_wire_members_begin(rtm_wire_members_iter_t *it, const rtm_wire_msg_t *msg)
{
    bool sync =
        (msg->type == RTM_WIRE_SYNC || msg->type == RTM_WIRE_REPLICA) && msg->members_raw.p != NULL;
    it->p = sync ? msg->members_raw.p : NULL;
    it->end = sync ? msg->members_raw.p + msg->members_raw.len : NULL;
    it->left = sync ? msg->n_members : 0;
}

int rtm_wire_members_next(rtm_wire_members_iter_t *it, rtm_wire_member_t *member)
{
    if (it->left == 0)
        return 0;
    s_cur_t c = {(const uint8_t *)it->p, (const uint8_t *)it->end};
    if (s_member(&c, member) != 0) {
        it->left = 0;
        return RTM_EPROTO;
    }
    it->p = (const char *)c.p;
    it->left--;
    return 1;
}

/* ---- egress topics ----------------------------------------------------- */

int rtm_wire_topic(char *out, size_t cap, rtm_str_t app, rtm_str_t channel)
{
    if (app.len == 0 || channel.len == 0 || !app.p || !channel.p || app.p[0] == 0x01 ||
        memchr(app.p, 0x1F, app.len) || memchr(app.p, 0, app.len) ||
        memchr(channel.p, 0, channel.len))
        return RTM_EINVAL;
    size_t n = app.len + 1 + channel.len + 1;
    if (n > cap || n > RTM_WIRE_MAX_TOPIC)
        return RTM_ETOOBIG;
    memcpy(out, app.p, app.len);
    out[app.len] = 0x1F;
    memcpy(out + app.len + 1, channel.p, channel.len);
    out[n - 1] = '\0';
    return (int)n;
}

int rtm_wire_user_topic(char *out, size_t cap, rtm_str_t app, rtm_str_t user_id)
{
    char channel[RTM_WIRE_MAX_TOPIC];
    size_t plen = sizeof RTM_CHANNEL_USER_PREFIX - 1;
    if (user_id.len == 0 || !user_id.p)
        return RTM_EINVAL;
    if (user_id.len > sizeof channel - plen)
        return RTM_ETOOBIG;
    memcpy(channel, RTM_CHANNEL_USER_PREFIX, plen);
    memcpy(channel + plen, user_id.p, user_id.len);
    return rtm_wire_topic(out, cap, app, rtm_str(channel, plen + user_id.len));
}

int rtm_wire_replica_topic(char *out, size_t cap, uint64_t key)
{
    char buf[RTM_WIRE_REPLICA_TOPIC_MAX];
    int n = snprintf(buf, sizeof buf, RTM_WIRE_REPLICA_PREFIX "%016" PRIx64, key);
    if (n < 0 || (size_t)n + 1 > cap)
        return RTM_ETOOBIG;
    memcpy(out, buf, (size_t)n);
    out[n] = '\0';
    return n + 1;
}
