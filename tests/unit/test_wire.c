/* Tests for rtm_wire: the node <-> broker msgpack bodies and egress topics.
 *
 * Bodies with wrong types, duplicates and extra keys are built with msgpack-c's
 * packer, an independent encoder, so the hand-written decoder is checked
 * against the reference implementation and not only against itself. */
#define _GNU_SOURCE /* memmem */
#include "rtm_error.h"
#include "rtm_wire.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define S(lit) rtm_str(lit, sizeof lit - 1)
#define SC(lit)                                                                                    \
    {                                                                                              \
        lit, sizeof lit - 1                                                                        \
    } /* S() for static initialisers */

/* ---- helpers ----------------------------------------------------------- */

/* Encodes m into a malloc'd buffer of exactly the encoded size. */
static char *s_encode(const rtm_wire_msg_t *m, size_t *len)
{
    int n = rtm_wire_encoded_len(m);
    assert_true(n > 0);
    char *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(rtm_wire_encode(m, buf, (size_t)n), n);
    *len = (size_t)n;
    return buf;
}

/* Decodes a heap copy of exactly len bytes, so ASan sees any over-read. */
static int s_decode_copy(const char *buf, size_t len, rtm_wire_msg_t *m)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, buf, len);
    int rc = rtm_wire_decode(copy, len, m);
    free(copy);
    return rc;
}

static void s_assert_str(rtm_str_t got, rtm_str_t want)
{
    assert_int_equal(got.len, want.len);
    if (want.len)
        assert_memory_equal(got.p, want.p, want.len);
}

static void s_assert_inside(rtm_str_t s, const char *buf, size_t len)
{
    if (s.len)
        assert_true(s.p >= buf && s.p + s.len <= buf + len);
}

/* Checks the members of a decoded SYNC against the ones that were encoded. */
static void s_assert_members(const rtm_wire_msg_t *got, const rtm_wire_msg_t *want)
{
    assert_int_equal(got->n_members, want->n_members);
    assert_null(got->members);
    rtm_wire_members_iter_t it;
    rtm_wire_members_begin(&it, got);
    rtm_wire_member_t mb;
    for (uint32_t i = 0; i < want->n_members; i++) {
        assert_int_equal(rtm_wire_members_next(&it, &mb), 1);
        s_assert_str(mb.user_id, want->members[i].user_id);
        s_assert_str(mb.user_info, want->members[i].user_info);
        assert_int_equal(mb.user_num, want->members[i].user_num);
    }
    assert_int_equal(rtm_wire_members_next(&it, &mb), 0);
    assert_int_equal(rtm_wire_members_next(&it, &mb), 0); /* and stays at the end */
}

/* Every field: the encoder writes only the type's fields and the rest of the
 * vectors are zero, so this also proves no field leaks into another type. */
static void s_assert_same(const rtm_wire_msg_t *got, const rtm_wire_msg_t *want)
{
    assert_int_equal(got->type, want->type);
    assert_int_equal(got->id, want->id);
    assert_int_equal(got->status, want->status);
    const rtm_str_t g[] = {got->app,   got->name,       got->data,      got->exclude,
                           got->node,  got->user_id,    got->user_info, got->channel,
                           got->json,  got->cache_json, got->info,      got->broker,
                           got->reason};
    const rtm_str_t w[] = {want->app,   want->name,       want->data,      want->exclude,
                           want->node,  want->user_id,    want->user_info, want->channel,
                           want->json,  want->cache_json, want->info,      want->broker,
                           want->reason};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        s_assert_str(g[i], w[i]);
    assert_int_equal(got->shard, want->shard);
    assert_int_equal(got->epoch, want->epoch);
    assert_int_equal(got->digest, want->digest);
    assert_int_equal(got->beat, want->beat);
    assert_int_equal(got->joining, want->joining);
    assert_int_equal(got->count, want->count);
    assert_int_equal(got->limit, want->limit);
    assert_int_equal(got->kind, want->kind);
    assert_int_equal(got->added, want->added);
    assert_int_equal(got->notify, want->notify);
    assert_int_equal(got->user_num, want->user_num);
    assert_int_equal(got->ttl_ms, want->ttl_ms);
    assert_int_equal(got->n_channels, want->n_channels);
    for (uint32_t i = 0; i < want->n_channels; i++)
        s_assert_str(got->channels[i], want->channels[i]);
    s_assert_members(got, want);
}

static rtm_wire_msg_t s_publish(void)
{
    rtm_wire_msg_t m = {.type = RTM_WIRE_PUBLISH,
                        .id = 0x0123456789abcdefULL,
                        .app = S("app-1"),
                        .name = S("my-event"),
                        .data = S("{\"hello\":\"w\\u00f6rld\"}"),
                        .exclude = S("123.456"),
                        .n_channels = 2};
    m.channels[0] = S("chat-1");
    m.channels[1] = S("private-room");
    return m;
}

static const rtm_wire_member_t s_members3[] = {
    {SC("1"), SC("{\"name\":\"Ann\"}"), false},
    {SC("user-\xc3\xa9"), SC(""), false}, /* no info */
    {SC("3"), SC("[1,2]"), true},         /* the app gave the id as a number */
};

/* A SYNC with members; n_members 0 is the empty snapshot. */
static rtm_wire_msg_t s_sync(uint32_t n_members)
{
    return (rtm_wire_msg_t){.type = RTM_WIRE_SYNC,
                            .channel = S("presence-cache-room"),
                            .count = 12,
                            .cache_json = S("{\"event\":\"e\",\"channel\":\"presence-cache-room\","
                                            "\"data\":\"{}\"}"),
                            .members = n_members ? s_members3 : NULL,
                            .n_members = n_members};
}

/* The messages of issue 3 (types 5..12 and the new optional keys). */
static size_t s_vectors_new(rtm_wire_msg_t *v)
{
    size_t n = 0;
    rtm_wire_msg_t p = s_publish();
    p.id = 0;
    p.user_id = S("42");
    v[n++] = p;
    p.beat = 7; /* issue 22: the owner's last heartbeat the sender heard */
    v[n++] = p;
    p = s_publish();
    p.info = S("subscription_count,user_count"); /* a trigger with info */
    v[n++] = p;
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_ACK, .id = 9, .json = S("{\"occupied\":true}")};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_ACK,
                              .id = 10,
                              .status = RTM_ETOOBIG,
                              .reason = S("data: 11 bytes is over the limit of 10 bytes")};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_SYNC_REQ, .app = S("a"), .channel = S("c")};
    v[n++] = s_sync(3);
    v[n++] = s_sync(0);
    rtm_wire_msg_t with_ttl = s_sync(1);
    with_ttl.ttl_ms = 1799000; /* the cache's remaining life */
    v[n++] = with_ttl;
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_SYNC, .channel = S("x"), .count = UINT64_MAX};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_MEMBER,
                              .channel = S("presence-r"),
                              .user_id = S("u1"),
                              .user_info = S("{\"a\":1}"),
                              .exclude = S("1.2"),
                              .added = true};
    v[n++] = (rtm_wire_msg_t){
        .type = RTM_WIRE_MEMBER, .channel = S("presence-r"), .user_id = S("u1"), .added = false};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_MEMBER,
                              .channel = S("presence-r"),
                              .user_id = S("7"),
                              .user_num = true,
                              .exclude = S("1.2"),
                              .added = false};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_PRESENCE_JOIN,
                              .id = 78,
                              .app = S("app"),
                              .channel = S("presence-r"),
                              .user_id = S("-7"),
                              .user_num = true,
                              .exclude = S("123.456")};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_PRESENCE_JOIN,
                              .id = 77,
                              .app = S("app"),
                              .channel = S("presence-r"),
                              .user_id = S("u1"),
                              .user_info = S("{}"),
                              .exclude = S("123.456"),
                              .limit = UINT32_MAX};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_PRESENCE_LEAVE,
                              .app = S("app"),
                              .channel = S("presence-r"),
                              .user_id = S("u1"),
                              .exclude = S("123.456")};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_SUB_COUNT,
                              .app = S("app"),
                              .channel = S("c"),
                              .count = 1ULL << 40,
                              .notify = true};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_SUB_COUNT, .app = S("app"), .channel = S("c")};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_QUERY,
                              .id = 5,
                              .app = S("app"),
                              .kind = RTM_WIRE_QUERY_CHANNELS,
                              .info = S("user_count,subscription_count")};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_QUERY,
                              .id = 6,
                              .app = S("app"),
                              .kind = UINT32_MAX,
                              .channel = S("presence-r")};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_TERMINATE, .app = S("app"), .user_id = S("u1")};
    v[n++] =
        (rtm_wire_msg_t){.type = RTM_WIRE_CACHE_MISS, .app = S("app"), .channel = S("cache-c")};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_REPLICA,
                              .shard = 2,
                              .app = S("app"),
                              .channel = S("presence-r"),
                              .count = 1,
                              .members = s_members3,
                              .n_members = 3};
    v[n++] = (rtm_wire_msg_t){
        .type = RTM_WIRE_REPLICA, .shard = UINT32_MAX, .app = S("a"), .channel = S("c")};
    v[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_REPLICA,
                              .shard = RTM_WIRE_UNLISTED,
                              .broker = S("tcp://broker-2.brokers:7000"),
                              .app = S("a"),
                              .channel = S("c"),
                              .count = 1};
    v[n++] = (rtm_wire_msg_t){
        .type = RTM_WIRE_MOVED, .channel = S("cache-c"), .broker = S("tcp://broker-0:7000")};
    return n;
}

/* One message of every type, with edge values. */
static rtm_wire_msg_t s_vectors[48];

static size_t s_vectors_init(void)
{
    size_t n = 0;
    s_vectors[n++] = s_publish();
    rtm_wire_msg_t p = s_publish();
    p.id = 0;
    p.exclude = rtm_str(NULL, 0);
    p.data = rtm_str(NULL, 0);
    p.n_channels = 1;
    s_vectors[n++] = p;
    s_vectors[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_ACK, .id = 7, .status = 0};
    s_vectors[n++] =
        (rtm_wire_msg_t){.type = RTM_WIRE_ACK, .id = UINT64_MAX, .status = RTM_ENOTOWNER};
    s_vectors[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_ACK, .id = 1, .status = INT32_MIN};
    s_vectors[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_NODE_HB, .node = S("node-a/3")};
    s_vectors[n++] =
        (rtm_wire_msg_t){.type = RTM_WIRE_SHARD_HB, .shard = 3, .epoch = 1732800000123ULL};
    s_vectors[n++] =
        (rtm_wire_msg_t){.type = RTM_WIRE_SHARD_HB, .shard = UINT32_MAX, .epoch = UINT64_MAX};
    s_vectors[n++] =
        (rtm_wire_msg_t){.type = RTM_WIRE_SHARD_HB, .shard = 1, .epoch = 2, .count = 3};
    /* issue 9: identity and list digest */
    s_vectors[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_SHARD_HB,
                                      .shard = RTM_WIRE_UNLISTED,
                                      .epoch = 5,
                                      .broker = S("tcp://broker-0.brokers:7000"),
                                      .digest = UINT64_MAX};
    s_vectors[n++] =
        (rtm_wire_msg_t){.type = RTM_WIRE_NODE_HB, .node = S("node-a/3"), .digest = 0x1234};
    s_vectors[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_SHARD_HB,
                                      .shard = 0,
                                      .epoch = 6,
                                      .count = 7,
                                      .broker = S("tcp://broker-1.brokers:7000"),
                                      .digest = 8};
    /* issue 22: the heartbeat number, and the one a publisher heard last */
    s_vectors[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_SHARD_HB,
                                      .shard = 2,
                                      .epoch = 9,
                                      .broker = S("tcp://broker-2.brokers:7000"),
                                      .beat = UINT64_MAX};
    /* issue 22, soak failure 7: a broker back in a mesh that ran without it */
    s_vectors[n++] = (rtm_wire_msg_t){.type = RTM_WIRE_SHARD_HB,
                                      .shard = 1,
                                      .epoch = 10,
                                      .broker = S("tcp://broker-1.brokers:7000"),
                                      .beat = 11,
                                      .joining = true};
    n += s_vectors_new(s_vectors + n);
    assert_true(n <= sizeof s_vectors / sizeof s_vectors[0]);
    return n;
}

/* A tiny body builder over msgpack-c: each entry is a key and a value kind. */
typedef enum {
    V_UINT,
    V_INT,
    V_STR,
    V_BIN,
    V_NIL,
    V_FLOAT,
    V_STRS,
    V_INTS,
    V_MAP,
    V_BOOL,
    V_MEMBERS
} s_vk_t;

typedef struct {
    const char *key; /* NULL: the key is the integer 1 instead of a str */
    s_vk_t kind;
    int64_t i;     /* V_UINT (as unsigned), V_INT, V_BOOL; V_STRS/V_INTS/V_MEMBERS: count */
    const char *s; /* V_STR, V_BIN; V_STRS element; V_MEMBERS: the shape of the last member
                      ("ok", "map", "three", "one", "intid", "emptyid", "bininfo") */
} s_kv_t;

/* Packs member k: ["u<k>", "{}"], except that the last one has `shape`. */
static void s_pack_member(msgpack_packer *pk, const char *shape, bool last, int64_t k)
{
    char id[24];
    int n = snprintf(id, sizeof id, "u%d", (int)k);
    if (!last || strcmp(shape, "ok") == 0) {
        msgpack_pack_array(pk, 2);
        msgpack_pack_str_with_body(pk, id, (size_t)n);
        msgpack_pack_str_with_body(pk, "{}", 2);
    } else if (strcmp(shape, "map") == 0) {
        msgpack_pack_map(pk, 1);
        msgpack_pack_str_with_body(pk, "user_id", 7);
        msgpack_pack_str_with_body(pk, id, (size_t)n);
    } else if (strcmp(shape, "three") == 0 || strcmp(shape, "one") == 0) {
        bool three = shape[0] == 't';
        msgpack_pack_array(pk, three ? 3 : 1);
        msgpack_pack_str_with_body(pk, id, (size_t)n);
        if (three) {
            msgpack_pack_str_with_body(pk, "{}", 2);
            msgpack_pack_nil(pk);
        }
    } else {
        msgpack_pack_array(pk, 2);
        if (strcmp(shape, "intid") == 0)
            msgpack_pack_int(pk, 1);
        else
            msgpack_pack_str_with_body(pk, id, strcmp(shape, "emptyid") == 0 ? 0 : (size_t)n);
        if (strcmp(shape, "bininfo") == 0)
            msgpack_pack_bin_with_body(pk, "{}", 2);
        else
            msgpack_pack_str_with_body(pk, "{}", 2);
    }
}

static void s_pack_value(msgpack_packer *pk, const s_kv_t *e)
{
    switch (e->kind) {
    case V_UINT: msgpack_pack_uint64(pk, (uint64_t)e->i); break;
    case V_INT: msgpack_pack_int64(pk, e->i); break;
    case V_STR:
        msgpack_pack_str(pk, strlen(e->s));
        msgpack_pack_str_body(pk, e->s, strlen(e->s));
        break;
    case V_BIN:
        msgpack_pack_bin(pk, strlen(e->s));
        msgpack_pack_bin_body(pk, e->s, strlen(e->s));
        break;
    case V_NIL: msgpack_pack_nil(pk); break;
    case V_BOOL:
        if (e->i)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        break;
    case V_MEMBERS:
        msgpack_pack_array(pk, (size_t)e->i);
        for (int64_t k = 0; k < e->i; k++)
            s_pack_member(pk, e->s, k == e->i - 1, k);
        break;
    case V_FLOAT: msgpack_pack_double(pk, 1.5); break;
    case V_STRS:
    case V_INTS:
        msgpack_pack_array(pk, (size_t)e->i);
        for (int64_t k = 0; k < e->i; k++) {
            if (e->kind == V_INTS) {
                msgpack_pack_int(pk, (int)k);
                continue;
            }
            char ch[16];
            int n = snprintf(ch, sizeof ch, "%s%d", e->s, (int)k);
            msgpack_pack_str(pk, (size_t)n);
            msgpack_pack_str_body(pk, ch, (size_t)n);
        }
        break;
    case V_MAP: /* {"a":[1,{"b":nil}], "c":true} plus an ext */
        msgpack_pack_map(pk, 3);
        msgpack_pack_str_with_body(pk, "a", 1);
        msgpack_pack_array(pk, 2);
        msgpack_pack_int(pk, 1);
        msgpack_pack_map(pk, 1);
        msgpack_pack_str_with_body(pk, "b", 1);
        msgpack_pack_nil(pk);
        msgpack_pack_str_with_body(pk, "c", 1);
        msgpack_pack_true(pk);
        msgpack_pack_str_with_body(pk, "e", 1);
        msgpack_pack_ext_with_body(pk, "xyz", 3, 5);
        break;
    }
}

/* Packs a map of the n entries into sb (cleared first). */
static void s_build(msgpack_sbuffer *sb, const s_kv_t *kv, size_t n)
{
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        if (kv[i].key)
            msgpack_pack_str_with_body(&pk, kv[i].key, strlen(kv[i].key));
        else
            msgpack_pack_int(&pk, 1);
        s_pack_value(&pk, &kv[i]);
    }
}

#define KV_PUBLISH_BASE                                                                            \
    {"v", V_UINT, 1, NULL}, {"t", V_UINT, RTM_WIRE_PUBLISH, NULL}, {"id", V_UINT, 42, NULL},       \
        {"app", V_STR, 0, "app"}, {"channels", V_STRS, 2, "ch-"}, {"name", V_STR, 0, "ev"},        \
        {"data", V_STR, 0, "{}"},                                                                  \
    {                                                                                              \
        "exclude", V_STR, 0, ""                                                                    \
    }

#define KV(type)                                                                                   \
    {"v", V_UINT, 1, NULL},                                                                        \
    {                                                                                              \
        "t", V_UINT, type, NULL                                                                    \
    }
#define KV_SYNC                                                                                    \
    KV(6), {"channel", V_STR, 0, "c"},                                                             \
    {                                                                                              \
        "count", V_UINT, 3, 0                                                                      \
    }
#define KV_JOIN                                                                                    \
    KV(8), {"id", V_UINT, 1, 0}, {"app", V_STR, 0, "a"}, {"channel", V_STR, 0, "presence-c"},      \
        {"user_id", V_STR, 0, "u"},                                                                \
    {                                                                                              \
        "exclude", V_STR, 0, "1.1"                                                                 \
    }

/* ---- tests ------------------------------------------------------------- */

static void test_round_trip_every_type(void **state)
{
    (void)state;
    size_t n = s_vectors_init();
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *buf = s_encode(&s_vectors[i], &len);
        rtm_wire_msg_t got;
        assert_int_equal(rtm_wire_decode(buf, len, &got), 0);
        s_assert_same(&got, &s_vectors[i]);
        /* Slices borrow the input buffer: they lie inside it. */
        s_assert_inside(got.app, buf, len);
        s_assert_inside(got.data, buf, len);
        s_assert_inside(got.node, buf, len);
        s_assert_inside(got.user_id, buf, len);
        s_assert_inside(got.channel, buf, len);
        s_assert_inside(got.cache_json, buf, len);
        s_assert_inside(got.members_raw, buf, len);
        for (uint32_t c = 0; c < got.n_channels; c++)
            s_assert_inside(got.channels[c], buf, len);
        free(buf);
    }
}

/* Pins the bytes of two small bodies: a change here breaks deployed peers. */
static void test_exact_bytes(void **state)
{
    (void)state;
    static const unsigned char ack[] = {0x84, 0xa1, 'v',  0x01, 0xa1, 't', 0x02, 0xa2,
                                        'i',  'd',  0x07, 0xa6, 's',  't', 'a',  't',
                                        'u',  's',  0xd1, 0xb1, 0xd7}; /* status -20009 as int16 */
    static const unsigned char hb[] = {
        0x84, 0xa1, 'v',  0x01, 0xa1, 't', 0x04, 0xa5, 's',  'h',  'a', 'r',
        'd',  0x01, 0xa5, 'e',  'p',  'o', 'c',  'h',  0xcd, 0x01, 0x00}; /* epoch 256 as uint16 */
    char out[64];
    rtm_wire_msg_t m = {.type = RTM_WIRE_ACK, .id = 7, .status = RTM_ENOTOWNER};
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), sizeof ack);
    assert_memory_equal(out, ack, sizeof ack);

    m = (rtm_wire_msg_t){.type = RTM_WIRE_SHARD_HB, .shard = 1, .epoch = 256};
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), sizeof hb);
    assert_memory_equal(out, hb, sizeof hb);

    /* without identity and digest a heartbeat is the earlier format, byte for byte;
     * with them it adds the two keys at the end */
    static const unsigned char tail[] = {0xa6, 'b',  'r', 'o', 'k', 'e', 'r', 0xa3, 't', ':',
                                         '1',  0xa6, 'd', 'i', 'g', 'e', 's', 't',  0x05};
    m.broker = S("t:1");
    m.digest = 5;
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), sizeof hb + sizeof tail);
    assert_int_equal((unsigned char)out[0], 0x86);
    assert_memory_equal(out + 1, hb + 1, sizeof hb - 1);
    assert_memory_equal(out + sizeof hb, tail, sizeof tail);

    /* issue 22: "beat" is one more key at the end, only when > 0 */
    static const unsigned char beat[] = {0xa4, 'b', 'e', 'a', 't', 0x2a};
    m.beat = 42;
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), sizeof hb + sizeof tail + sizeof beat);
    assert_int_equal((unsigned char)out[0], 0x87);
    assert_memory_equal(out + sizeof hb + sizeof tail, beat, sizeof beat);

    /* soak failure 7: "joining" is one more key at the end, only when true; a
     * heartbeat without it (every earlier one) decodes as not joining */
    static const unsigned char joining[] = {0xa7, 'j', 'o', 'i', 'n', 'i', 'n', 'g', 0xc3};
    m.joining = true;
    size_t len = sizeof hb + sizeof tail + sizeof beat + sizeof joining;
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), len);
    assert_int_equal((unsigned char)out[0], 0x88);
    assert_memory_equal(out + len - sizeof joining, joining, sizeof joining);
    rtm_wire_msg_t got;
    assert_int_equal(rtm_wire_decode(out, len, &got), 0);
    assert_true(got.joining);
    assert_int_equal(rtm_wire_decode((const char *)hb, sizeof hb, &got), 0);
    assert_false(got.joining);
    assert_int_equal(got.epoch, 256);
}

/* Pins the new shapes: a bool, and a member as a 2-element array. */
static void test_exact_bytes_issue3(void **state)
{
    (void)state;
    static const unsigned char count[] = {0x86, 0xa1, 'v', 0x01, 0xa1, 't', 0x0a, 0xa3, 'a', 'p',
                                          'p',  0xa1, 'a', 0xa7, 'c',  'h', 'a',  'n',  'n', 'e',
                                          'l',  0xa1, 'c', 0xa5, 'c',  'o', 'u',  'n',  't', 0x02,
                                          0xa6, 'n',  'o', 't',  'i',  'f', 'y',  0xc3};
    static const unsigned char sync[] = {0x86, 0xa1, 'v', 0x01, 0xa1, 't',  0x06, 0xa7, 'c', 'h',
                                         'a',  'n',  'n', 'e',  'l',  0xa1, 'c',  0xa5, 'c', 'o',
                                         'u',  'n',  't', 0x01, 0xaa, 'c',  'a',  'c',  'h', 'e',
                                         '_',  'j',  's', 'o',  'n',  0xa0, 0xa7, 'm',  'e', 'm',
                                         'b',  'e',  'r', 's',  0x91, 0x92, 0xa1, '7',  0xa0};
    char out[64];
    rtm_wire_msg_t m = {
        .type = RTM_WIRE_SUB_COUNT, .app = S("a"), .channel = S("c"), .count = 2, .notify = true};
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), sizeof count);
    assert_memory_equal(out, count, sizeof count);

    rtm_wire_member_t one = {S("7"), S(""), false};
    m = (rtm_wire_msg_t){
        .type = RTM_WIRE_SYNC, .channel = S("c"), .count = 1, .members = &one, .n_members = 1};
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), sizeof sync);
    assert_memory_equal(out, sync, sizeof sync);

    /* Optional keys are written only when set: old bodies stay byte-identical. */
    m = (rtm_wire_msg_t){.type = RTM_WIRE_ACK, .id = 7, .status = RTM_ENOTOWNER};
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), 21);
    assert_int_equal((unsigned char)out[0], 0x84);
    char big[256];
    m = s_publish();
    assert_true(rtm_wire_encode(&m, big, sizeof big) > 0);
    assert_int_equal((unsigned char)big[0], 0x88);
    int plain = rtm_wire_encoded_len(&m);
    m.user_id = S("u");
    assert_int_equal(rtm_wire_encoded_len(&m), plain + 8 + 2); /* a7 "user_id" a1 'u' */
    m.info = S("u");
    assert_int_equal(rtm_wire_encoded_len(&m), plain + 10 + 5 + 2); /* a4 "info" a1 'u' */

    /* A numeric user id: the same SYNC member with a third element, true. */
    static const unsigned char sync_num_tail[] = {0x91, 0x93, 0xa1, '7', 0xa0, 0xc3};
    one.user_num = true;
    m = (rtm_wire_msg_t){
        .type = RTM_WIRE_SYNC, .channel = S("c"), .count = 1, .members = &one, .n_members = 1};
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), sizeof sync + 1);
    assert_memory_equal(out, sync, sizeof sync - 5);
    assert_memory_equal(out + sizeof sync - 5, sync_num_tail, sizeof sync_num_tail);
    /* MEMBER and PRESENCE_JOIN: "user_num" only when true (c3 after a8 "user_num") */
    for (int t = 0; t < 2; t++) {
        m = (rtm_wire_msg_t){.type = t ? RTM_WIRE_PRESENCE_JOIN : RTM_WIRE_MEMBER,
                             .id = 1,
                             .app = S("a"),
                             .channel = S("presence-c"),
                             .user_id = S("7"),
                             .exclude = S("1.2")};
        int as_string = rtm_wire_encoded_len(&m);
        assert_true(as_string > 0);
        assert_int_equal(rtm_wire_encode(&m, big, sizeof big), as_string);
        assert_null(memmem(big, (size_t)as_string, "user_num", 8));
        m.user_num = true;
        assert_int_equal(rtm_wire_encoded_len(&m), as_string + 1 + 8 + 1);
        int n = rtm_wire_encode(&m, big, sizeof big);
        assert_non_null(memmem(big, (size_t)n, "\xa8user_num\xc3", 10));
        rtm_wire_msg_t got;
        assert_int_equal(rtm_wire_decode(big, (size_t)n, &got), 0);
        assert_true(got.user_num);
    }
}

static void test_every_truncation_rejected(void **state)
{
    (void)state;
    size_t n = s_vectors_init();
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *buf = s_encode(&s_vectors[i], &len);
        for (size_t cut = 0; cut < len; cut++) {
            rtm_wire_msg_t got;
            assert_int_equal(s_decode_copy(buf, cut, &got), RTM_EPROTO);
        }
        rtm_wire_msg_t got;
        assert_int_equal(s_decode_copy(buf, len, &got), 0);
        free(buf);
    }
}

static void test_encode_small_buffer(void **state)
{
    (void)state;
    rtm_wire_msg_t m = s_publish();
    int need = rtm_wire_encoded_len(&m);
    assert_true(need > 0);
    char *buf = malloc((size_t)need + 1);
    assert_non_null(buf);
    for (int cap = 0; cap < need; cap++) {
        memset(buf, 0x5a, (size_t)need + 1);
        assert_int_equal(rtm_wire_encode(&m, buf, (size_t)cap), RTM_ETOOBIG);
        for (int k = cap; k <= need; k++) /* nothing written past cap */
            assert_int_equal((unsigned char)buf[k], 0x5a);
    }
    assert_int_equal(rtm_wire_encode(&m, buf, (size_t)need), need);
    assert_int_equal(rtm_wire_encode(&m, NULL, 0), RTM_ETOOBIG);
    free(buf);
}

static void test_encode_refuses_invalid(void **state)
{
    (void)state;
    char out[64];
    rtm_wire_msg_t m = s_publish();
    m.n_channels = 0;
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), RTM_EINVAL);
    m.n_channels = RTM_WIRE_MAX_CHANNELS + 1;
    assert_int_equal(rtm_wire_encoded_len(&m), RTM_EINVAL);
    m = s_publish();
    m.app = rtm_str(NULL, 3);
    assert_int_equal(rtm_wire_encoded_len(&m), RTM_EINVAL);
    m = (rtm_wire_msg_t){.type = (rtm_wire_type_t)16};
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), RTM_EINVAL);
    m = (rtm_wire_msg_t){.type = (rtm_wire_type_t)0};
    assert_int_equal(rtm_wire_encoded_len(&m), RTM_EINVAL);

    /* SYNC members: NULL with a count, an empty user id, over the limit. */
    m = s_sync(3);
    m.members = NULL;
    assert_int_equal(rtm_wire_encoded_len(&m), RTM_EINVAL);
    rtm_wire_member_t bad[] = {{S("1"), S(""), false}, {S(""), S("{}"), false}};
    m = (rtm_wire_msg_t){.type = RTM_WIRE_SYNC, .channel = S("c"), .members = bad, .n_members = 2};
    assert_int_equal(rtm_wire_encoded_len(&m), RTM_EINVAL);
    m.n_members = 1;
    assert_true(rtm_wire_encoded_len(&m) > 0);
    bad[0].user_info = rtm_str(NULL, 2);
    assert_int_equal(rtm_wire_encoded_len(&m), RTM_EINVAL);
    m = s_sync(3);
    m.n_members = RTM_WIRE_MAX_MEMBERS + 1;
    assert_int_equal(rtm_wire_encoded_len(&m), RTM_EINVAL);
    /* A NULL slice with a length in a new field. */
    m = (rtm_wire_msg_t){.type = RTM_WIRE_QUERY, .app = S("a"), .info = rtm_str(NULL, 1)};
    assert_int_equal(rtm_wire_encoded_len(&m), RTM_EINVAL);
}

typedef struct {
    const char *what;
    s_kv_t kv[10];
    size_t n;
    int want;
} s_case_t;

/* Bodies that are well-formed msgpack but wrong for the wire. */
static const s_case_t s_cases[] = {
    {"publish ok", {KV_PUBLISH_BASE}, 8, 0},
    {"duplicate data", {KV_PUBLISH_BASE, {"data", V_BIN, 0, "raw"}}, 9, RTM_EPROTO},
    {"v as str",
     {{"v", V_STR, 0, "1"}, {"t", V_UINT, 3, 0}, {"node", V_STR, 0, "n"}},
     3,
     RTM_EPROTO},
    {"v missing", {{"t", V_UINT, 3, 0}, {"node", V_STR, 0, "n"}}, 2, RTM_EPROTO},
    {"t missing", {{"v", V_UINT, 1, 0}, {"node", V_STR, 0, "n"}}, 2, RTM_EPROTO},
    {"t as str", {{"v", V_UINT, 1, 0}, {"t", V_STR, 0, "publish"}}, 2, RTM_EPROTO},
    {"t unknown", {{"v", V_UINT, 1, 0}, {"t", V_UINT, 15, 0}}, 2, RTM_EPROTO},
    {"replica ok",
     {KV(14),
      {"shard", V_UINT, 1, 0},
      {"app", V_STR, 0, "a"},
      {"channel", V_STR, 0, "c"},
      {"count", V_UINT, 1, 0},
      {"members", V_MEMBERS, 2, "ok"}},
     7,
     0},
    {"replica without shard",
     {KV(14), {"app", V_STR, 0, "a"}, {"channel", V_STR, 0, "c"}, {"count", V_UINT, 0, 0}},
     5,
     RTM_EPROTO},
    {"replica without count",
     {KV(14), {"shard", V_UINT, 1, 0}, {"app", V_STR, 0, "a"}, {"channel", V_STR, 0, "c"}},
     5,
     RTM_EPROTO},
    {"replica bad member",
     {KV(14),
      {"shard", V_UINT, 1, 0},
      {"app", V_STR, 0, "a"},
      {"channel", V_STR, 0, "c"},
      {"count", V_UINT, 1, 0},
      {"members", V_MEMBERS, 2, "emptyid"}},
     7,
     RTM_EPROTO},
    {"t zero", {{"v", V_UINT, 1, 0}, {"t", V_UINT, 0, 0}}, 2, RTM_EPROTO},
    {"v 2", {{"v", V_UINT, 2, 0}, {"t", V_UINT, 3, 0}, {"node", V_STR, 0, "n"}}, 3, RTM_EVERSION},
    {"v 0", {{"v", V_UINT, 0, 0}, {"t", V_UINT, 3, 0}, {"node", V_STR, 0, "n"}}, 3, RTM_EVERSION},
    {"v 2 beats field errors",
     {{"id", V_STR, 0, "x"}, {"t", V_STR, 0, "?"}, {"v", V_UINT, 2, 0}},
     3,
     RTM_EVERSION},
    {"id negative",
     {{"v", V_UINT, 1, 0}, {"t", V_UINT, 2, 0}, {"id", V_INT, -1, 0}, {"status", V_INT, 0, 0}},
     4,
     RTM_EPROTO},
    {"id as str",
     {{"v", V_UINT, 1, 0}, {"t", V_UINT, 2, 0}, {"id", V_STR, 0, "1"}, {"status", V_INT, 0, 0}},
     4,
     RTM_EPROTO},
    {"status over int32",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 2, 0},
      {"id", V_UINT, 1, 0},
      {"status", V_INT, 2147483648LL, 0}},
     4,
     RTM_EPROTO},
    {"status under int32",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 2, 0},
      {"id", V_UINT, 1, 0},
      {"status", V_INT, -2147483649LL, 0}},
     4,
     RTM_EPROTO},
    {"status as nil",
     {{"v", V_UINT, 1, 0}, {"t", V_UINT, 2, 0}, {"id", V_UINT, 1, 0}, {"status", V_NIL, 0, 0}},
     4,
     RTM_EPROTO},
    {"ack without status",
     {{"v", V_UINT, 1, 0}, {"t", V_UINT, 2, 0}, {"id", V_UINT, 1, 0}},
     3,
     RTM_EPROTO},
    {"shard over u32",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 4, 0},
      {"shard", V_UINT, 4294967296LL, 0},
      {"epoch", V_UINT, 1, 0}},
     4,
     RTM_EPROTO},
    {"epoch as float",
     {{"v", V_UINT, 1, 0}, {"t", V_UINT, 4, 0}, {"shard", V_UINT, 0, 0}, {"epoch", V_FLOAT, 0, 0}},
     4,
     RTM_EPROTO},
    {"joining as uint",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 4, 0},
      {"shard", V_UINT, 0, 0},
      {"epoch", V_UINT, 1, 0},
      {"joining", V_UINT, 1, 0}},
     5,
     RTM_EPROTO},
    {"shard hb without epoch",
     {{"v", V_UINT, 1, 0}, {"t", V_UINT, 4, 0}, {"shard", V_UINT, 0, 0}},
     3,
     RTM_EPROTO},
    {"node hb without node", {{"v", V_UINT, 1, 0}, {"t", V_UINT, 3, 0}}, 2, RTM_EPROTO},
    {"node as bin",
     {{"v", V_UINT, 1, 0}, {"t", V_UINT, 3, 0}, {"node", V_BIN, 0, "n"}},
     3,
     RTM_EPROTO},
    {"non-str key",
     {{"v", V_UINT, 1, 0}, {"t", V_UINT, 3, 0}, {"node", V_STR, 0, "n"}, {NULL, V_NIL, 0, 0}},
     4,
     RTM_EPROTO},
    {"duplicate key",
     {{"v", V_UINT, 1, 0}, {"t", V_UINT, 3, 0}, {"node", V_STR, 0, "a"}, {"node", V_STR, 0, "b"}},
     4,
     RTM_EPROTO},
    {"app as int",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 1, 0},
      {"id", V_UINT, 42, 0},
      {"app", V_INT, 5, 0},
      {"channels", V_STRS, 1, "c"},
      {"name", V_STR, 0, "e"},
      {"data", V_STR, 0, "d"}},
     7,
     RTM_EPROTO},
    {"channels as str",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 1, 0},
      {"id", V_UINT, 42, 0},
      {"app", V_STR, 0, "a"},
      {"channels", V_STR, 0, "c"},
      {"name", V_STR, 0, "e"},
      {"data", V_STR, 0, "d"}},
     7,
     RTM_EPROTO},
    {"channel as int",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 1, 0},
      {"id", V_UINT, 42, 0},
      {"app", V_STR, 0, "a"},
      {"channels", V_INTS, 2, 0},
      {"name", V_STR, 0, "e"},
      {"data", V_STR, 0, "d"}},
     7,
     RTM_EPROTO},
    {"no channel",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 1, 0},
      {"id", V_UINT, 42, 0},
      {"app", V_STR, 0, "a"},
      {"channels", V_STRS, 0, "c"},
      {"name", V_STR, 0, "e"},
      {"data", V_STR, 0, "d"}},
     7,
     RTM_EPROTO},
    {"exclude optional, data bin",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 1, 0},
      {"id", V_UINT, 42, 0},
      {"app", V_STR, 0, "a"},
      {"channels", V_STRS, 1, "c"},
      {"name", V_STR, 0, "e"},
      {"data", V_BIN, 0, "d"}},
     7,
     0},
    {"publish without name",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 1, 0},
      {"id", V_UINT, 42, 0},
      {"app", V_STR, 0, "a"},
      {"channels", V_STRS, 1, "c"},
      {"data", V_STR, 0, "d"}},
     6,
     RTM_EPROTO},
    {"publish without id",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 1, 0},
      {"app", V_STR, 0, "a"},
      {"channels", V_STRS, 1, "c"},
      {"name", V_STR, 0, "e"},
      {"data", V_STR, 0, "d"}},
     6,
     RTM_EPROTO},
    {"100 channels",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 1, 0},
      {"id", V_UINT, 42, 0},
      {"app", V_STR, 0, "a"},
      {"channels", V_STRS, 100, "c"},
      {"name", V_STR, 0, "e"},
      {"data", V_STR, 0, "d"}},
     7,
     0},
    {"101 channels",
     {{"v", V_UINT, 1, 0},
      {"t", V_UINT, 1, 0},
      {"id", V_UINT, 42, 0},
      {"app", V_STR, 0, "a"},
      {"channels", V_STRS, 101, "c"},
      {"name", V_STR, 0, "e"},
      {"data", V_STR, 0, "d"}},
     7,
     RTM_ETOOBIG},
    /* ---- issue 3 types ---- */
    {"sync minimal", {KV(6), {"channel", V_STR, 0, "c"}, {"count", V_UINT, 0, 0}}, 4, 0},
    {"sync members ok", {KV_SYNC, {"members", V_MEMBERS, 2, "ok"}}, 5, 0},
    {"sync members at limit", {KV_SYNC, {"members", V_MEMBERS, 100000, "ok"}}, 5, 0},
    {"sync members over limit", {KV_SYNC, {"members", V_MEMBERS, 100001, "ok"}}, 5, RTM_ETOOBIG},
    {"too many members beats a later bad field",
     {KV_SYNC, {"members", V_MEMBERS, 100001, "ok"}, {"cache_json", V_INT, 1, 0}},
     6,
     RTM_ETOOBIG},
    {"bad field beats later too many members",
     {KV_SYNC, {"cache_json", V_INT, 1, 0}, {"members", V_MEMBERS, 100001, "ok"}},
     6,
     RTM_EPROTO},
    {"sync members as map", {KV_SYNC, {"members", V_MAP, 0, 0}}, 5, RTM_EPROTO},
    {"sync members as strs", {KV_SYNC, {"members", V_STRS, 2, "x"}}, 5, RTM_EPROTO},
    {"member as map", {KV_SYNC, {"members", V_MEMBERS, 3, "map"}}, 5, RTM_EPROTO},
    {"member of three", {KV_SYNC, {"members", V_MEMBERS, 1, "three"}}, 5, RTM_EPROTO},
    {"member of one", {KV_SYNC, {"members", V_MEMBERS, 2, "one"}}, 5, RTM_EPROTO},
    {"member int id", {KV_SYNC, {"members", V_MEMBERS, 1, "intid"}}, 5, RTM_EPROTO},
    {"member empty id", {KV_SYNC, {"members", V_MEMBERS, 2, "emptyid"}}, 5, RTM_EPROTO},
    {"member bin info", {KV_SYNC, {"members", V_MEMBERS, 1, "bininfo"}}, 5, RTM_EPROTO},
    {"members twice",
     {KV_SYNC, {"members", V_MEMBERS, 1, "ok"}, {"members", V_MEMBERS, 1, "ok"}},
     6,
     RTM_EPROTO},
    {"sync without count", {KV(6), {"channel", V_STR, 0, "c"}}, 3, RTM_EPROTO},
    {"sync without channel", {KV(6), {"count", V_UINT, 0, 0}}, 3, RTM_EPROTO},
    {"sync count negative",
     {KV(6), {"channel", V_STR, 0, "c"}, {"count", V_INT, -1, 0}},
     4,
     RTM_EPROTO},
    {"sync cache_json as bin", {KV_SYNC, {"cache_json", V_BIN, 0, "{}"}}, 5, RTM_EPROTO},
    {"member minimal",
     {KV(7), {"channel", V_STR, 0, "c"}, {"user_id", V_STR, 0, "u"}, {"added", V_BOOL, 0, 0}},
     5,
     0},
    {"member without added",
     {KV(7), {"channel", V_STR, 0, "c"}, {"user_id", V_STR, 0, "u"}},
     4,
     RTM_EPROTO},
    {"member added as int",
     {KV(7), {"channel", V_STR, 0, "c"}, {"user_id", V_STR, 0, "u"}, {"added", V_UINT, 1, 0}},
     5,
     RTM_EPROTO},
    {"member added as nil",
     {KV(7), {"channel", V_STR, 0, "c"}, {"user_id", V_STR, 0, "u"}, {"added", V_NIL, 0, 0}},
     5,
     RTM_EPROTO},
    {"member user_info as bin",
     {KV(7),
      {"channel", V_STR, 0, "c"},
      {"user_id", V_STR, 0, "u"},
      {"added", V_BOOL, 1, 0},
      {"user_info", V_BIN, 0, "{}"}},
     6,
     RTM_EPROTO},
    {"join minimal", {KV_JOIN}, 7, 0},
    {"join limit at u32", {KV_JOIN, {"limit", V_UINT, 4294967295LL, 0}}, 8, 0},
    {"join limit over u32", {KV_JOIN, {"limit", V_UINT, 4294967296LL, 0}}, 8, RTM_EPROTO},
    {"join limit negative", {KV_JOIN, {"limit", V_INT, -1, 0}}, 8, RTM_EPROTO},
    {"join without exclude",
     {KV(8),
      {"id", V_UINT, 1, 0},
      {"app", V_STR, 0, "a"},
      {"channel", V_STR, 0, "presence-c"},
      {"user_id", V_STR, 0, "u"}},
     6,
     RTM_EPROTO},
    {"join without id",
     {KV(8),
      {"app", V_STR, 0, "a"},
      {"channel", V_STR, 0, "presence-c"},
      {"user_id", V_STR, 0, "u"},
      {"exclude", V_STR, 0, "1.1"}},
     6,
     RTM_EPROTO},
    {"join with channels, not channel",
     {KV(8),
      {"id", V_UINT, 1, 0},
      {"app", V_STR, 0, "a"},
      {"channels", V_STRS, 1, "presence-c"},
      {"user_id", V_STR, 0, "u"},
      {"exclude", V_STR, 0, "1.1"}},
     7,
     RTM_EPROTO},
    {"leave minimal",
     {KV(9),
      {"app", V_STR, 0, "a"},
      {"channel", V_STR, 0, "presence-c"},
      {"user_id", V_STR, 0, "u"},
      {"exclude", V_STR, 0, "1.1"}},
     6,
     0},
    {"leave without user_id",
     {KV(9), {"app", V_STR, 0, "a"}, {"channel", V_STR, 0, "c"}, {"exclude", V_STR, 0, "1.1"}},
     5,
     RTM_EPROTO},
    {"sub_count minimal",
     {KV(10), {"app", V_STR, 0, "a"}, {"channel", V_STR, 0, "c"}, {"count", V_UINT, 0, 0}},
     5,
     0},
    {"sub_count without count",
     {KV(10), {"app", V_STR, 0, "a"}, {"channel", V_STR, 0, "c"}},
     4,
     RTM_EPROTO},
    {"sub_count notify as str",
     {KV(10),
      {"app", V_STR, 0, "a"},
      {"channel", V_STR, 0, "c"},
      {"count", V_UINT, 0, 0},
      {"notify", V_STR, 0, "true"}},
     6,
     RTM_EPROTO},
    {"query minimal",
     {KV(11), {"id", V_UINT, 1, 0}, {"app", V_STR, 0, "a"}, {"kind", V_UINT, 2, 0}},
     5,
     0},
    {"query without kind", {KV(11), {"id", V_UINT, 1, 0}, {"app", V_STR, 0, "a"}}, 4, RTM_EPROTO},
    {"query kind over u32",
     {KV(11), {"id", V_UINT, 1, 0}, {"app", V_STR, 0, "a"}, {"kind", V_UINT, 4294967296LL, 0}},
     5,
     RTM_EPROTO},
    {"query info as int",
     {KV(11),
      {"id", V_UINT, 1, 0},
      {"app", V_STR, 0, "a"},
      {"kind", V_UINT, 1, 0},
      {"info", V_INT, 3, 0}},
     6,
     RTM_EPROTO},
    {"sync_req minimal", {KV(5), {"app", V_STR, 0, "a"}, {"channel", V_STR, 0, "c"}}, 4, 0},
    {"sync_req without channel", {KV(5), {"app", V_STR, 0, "a"}}, 3, RTM_EPROTO},
    {"terminate minimal", {KV(12), {"app", V_STR, 0, "a"}, {"user_id", V_STR, 0, "u"}}, 4, 0},
    {"terminate without user_id", {KV(12), {"app", V_STR, 0, "a"}}, 3, RTM_EPROTO},
    {"ack json as int",
     {KV(2), {"id", V_UINT, 1, 0}, {"status", V_INT, 0, 0}, {"json", V_INT, 1, 0}},
     5,
     RTM_EPROTO},
    {"publish user_id as bin", {KV_PUBLISH_BASE, {"user_id", V_BIN, 0, "u"}}, 9, RTM_EPROTO},
    {"extra keys ignored",
     {{"zz", V_MAP, 0, 0},
      {"v", V_UINT, 1, 0},
      {"t", V_UINT, 3, 0},
      {"x", V_FLOAT, 0, 0},
      {"node", V_STR, 0, "n"},
      {"y", V_STRS, 3, "q"},
      {"w", V_NIL, 0, 0},
      {"", V_BIN, 0, "b"}},
     8,
     0},
};

static void test_wrong_bodies(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        const s_case_t *c = &s_cases[i];
        s_build(&sb, c->kv, c->n);
        rtm_wire_msg_t m;
        int rc = s_decode_copy(sb.data, sb.size, &m);
        if (rc != c->want)
            print_error("case '%s': got %d want %d\n", c->what, rc, c->want);
        assert_int_equal(rc, c->want);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void test_extra_keys_keep_values(void **state)
{
    (void)state;
    s_kv_t kv[] = {KV_PUBLISH_BASE, {"future", V_MAP, 0, 0}, {"more", V_STRS, 4, "z"}};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_build(&sb, kv, sizeof kv / sizeof kv[0]);
    rtm_wire_msg_t m;
    assert_int_equal(rtm_wire_decode(sb.data, sb.size, &m), 0);
    assert_int_equal(m.type, RTM_WIRE_PUBLISH);
    assert_int_equal(m.id, 42);
    s_assert_str(m.app, S("app"));
    assert_int_equal(m.n_channels, 2);
    s_assert_str(m.channels[0], S("ch-0"));
    s_assert_str(m.channels[1], S("ch-1"));
    s_assert_str(m.name, S("ev"));
    s_assert_str(m.data, S("{}"));
    assert_int_equal(m.exclude.len, 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_channel_limit(void **state)
{
    (void)state;
    static char names[RTM_WIRE_MAX_CHANNELS][8];
    rtm_wire_msg_t m = s_publish();
    m.n_channels = RTM_WIRE_MAX_CHANNELS;
    for (int i = 0; i < RTM_WIRE_MAX_CHANNELS; i++)
        m.channels[i] = rtm_str(names[i], (size_t)snprintf(names[i], 8, "c%d", i));
    size_t len;
    char *buf = s_encode(&m, &len);
    rtm_wire_msg_t got;
    assert_int_equal(rtm_wire_decode(buf, len, &got), 0);
    s_assert_same(&got, &m);
    free(buf);
}

static void test_members_iterator_edges(void **state)
{
    (void)state;
    rtm_wire_members_iter_t it;
    rtm_wire_member_t mb = {S("x"), S("y"), false};
    /* A zeroed message and a non-SYNC one walk nothing. */
    rtm_wire_msg_t zero = {0};
    rtm_wire_members_begin(&it, &zero);
    assert_int_equal(rtm_wire_members_next(&it, &mb), 0);
    rtm_wire_msg_t p = s_publish();
    size_t len;
    char *buf = s_encode(&p, &len);
    rtm_wire_msg_t got;
    assert_int_equal(rtm_wire_decode(buf, len, &got), 0);
    rtm_wire_members_begin(&it, &got);
    assert_int_equal(rtm_wire_members_next(&it, &mb), 0);
    free(buf);

    /* A decoded SYNC: members are slices of the buffer, in order. */
    rtm_wire_msg_t sync = s_sync(3);
    buf = s_encode(&sync, &len);
    assert_int_equal(rtm_wire_decode(buf, len, &got), 0);
    rtm_wire_members_begin(&it, &got);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rtm_wire_members_next(&it, &mb), 1);
        s_assert_inside(mb.user_id, buf, len);
        s_assert_inside(mb.user_info, buf, len);
        s_assert_str(mb.user_id, s_members3[i].user_id);
        s_assert_str(mb.user_info, s_members3[i].user_info);
    }
    assert_int_equal(rtm_wire_members_next(&it, &mb), 0);

    /* Damage the iterator can meet only if the caller tampered with the
     * message: a count larger than the bytes, a cut inside a member. Both give
     * the members before the damage, then RTM_EPROTO, then the end. */
    rtm_wire_msg_t bad = got;
    bad.n_members = 4;
    rtm_wire_members_begin(&it, &bad);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rtm_wire_members_next(&it, &mb), 1);
    assert_int_equal(rtm_wire_members_next(&it, &mb), RTM_EPROTO);
    assert_int_equal(rtm_wire_members_next(&it, &mb), 0);
    bad = got;
    bad.members_raw.len -= 1;
    rtm_wire_members_begin(&it, &bad);
    for (int i = 0; i < 2; i++)
        assert_int_equal(rtm_wire_members_next(&it, &mb), 1);
    assert_int_equal(rtm_wire_members_next(&it, &mb), RTM_EPROTO);
    assert_int_equal(rtm_wire_members_next(&it, &mb), 0);
    free(buf);

    /* An empty snapshot, and one without the "members" key at all. */
    sync = s_sync(0);
    buf = s_encode(&sync, &len);
    assert_int_equal(rtm_wire_decode(buf, len, &got), 0);
    assert_int_equal(got.n_members, 0);
    rtm_wire_members_begin(&it, &got);
    assert_int_equal(rtm_wire_members_next(&it, &mb), 0);
    free(buf);
    s_kv_t kv[] = {KV_SYNC};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_build(&sb, kv, 4);
    assert_int_equal(rtm_wire_decode(sb.data, sb.size, &got), 0);
    assert_int_equal(got.n_members, 0);
    assert_int_equal(got.cache_json.len, 0);
    rtm_wire_members_begin(&it, &got);
    assert_int_equal(rtm_wire_members_next(&it, &mb), 0);
    msgpack_sbuffer_destroy(&sb);
}

/* RTM_WIRE_MAX_MEMBERS members encode, decode and iterate; one more does not encode. */
static void test_member_limit(void **state)
{
    (void)state;
    rtm_wire_member_t *mb = calloc(RTM_WIRE_MAX_MEMBERS + 1, sizeof *mb);
    char(*ids)[8] = calloc(RTM_WIRE_MAX_MEMBERS + 1, 8);
    assert_non_null(mb);
    assert_non_null(ids);
    for (int i = 0; i <= RTM_WIRE_MAX_MEMBERS; i++)
        mb[i] = (rtm_wire_member_t){rtm_str(ids[i], (size_t)snprintf(ids[i], 8, "%d", i)),
                                    i % 2 ? S("{\"k\":1}") : S(""), i % 3 == 0};
    rtm_wire_msg_t m = {
        .type = RTM_WIRE_SYNC, .channel = S("presence-x"), .members = mb, .n_members = 0};
    m.n_members = RTM_WIRE_MAX_MEMBERS + 1;
    assert_int_equal(rtm_wire_encoded_len(&m), RTM_EINVAL);
    m.n_members = RTM_WIRE_MAX_MEMBERS;
    size_t len;
    char *buf = s_encode(&m, &len);
    rtm_wire_msg_t got;
    assert_int_equal(rtm_wire_decode(buf, len, &got), 0);
    s_assert_members(&got, &m);
    free(buf);
    free(ids);
    free(mb);
}

static void test_replica_topic(void **state)
{
    (void)state;
    char out[RTM_WIRE_REPLICA_TOPIC_MAX];
    assert_int_equal(rtm_wire_replica_topic(out, sizeof out, 1), RTM_WIRE_REPLICA_TOPIC_LEN);
    assert_memory_equal(out, "\x01rp0000000000000001", RTM_WIRE_REPLICA_TOPIC_LEN); /* and NUL */
    char other[RTM_WIRE_REPLICA_TOPIC_MAX];
    int n = rtm_wire_replica_topic(other, sizeof other, UINT64_C(0xfedcba9876543210));
    assert_int_equal(n, RTM_WIRE_REPLICA_TOPIC_LEN);
    assert_memory_equal(other, "\x01rpfedcba9876543210", RTM_WIRE_REPLICA_TOPIC_LEN);
    /* One broker's subscription (the whole frame) is no prefix of another's topic. */
    assert_int_not_equal(memcmp(out, other, RTM_WIRE_REPLICA_TOPIC_LEN), 0);
    assert_int_equal(rtm_wire_replica_topic(out, RTM_WIRE_REPLICA_TOPIC_LEN - 1, 1), RTM_ETOOBIG);
    assert_int_equal(rtm_wire_replica_topic(out, 4, 1), RTM_ETOOBIG);
    /* No channel topic and not the heartbeat topic can share its prefix. */
    assert_int_not_equal(memcmp(out, RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN), 0);
}

static void test_user_topic(void **state)
{
    (void)state;
    char out[RTM_WIRE_MAX_TOPIC];
    static const char want[] = "app\x1F#server-to-user-u1"; /* + the terminator */
    int n = rtm_wire_user_topic(out, sizeof out, S("app"), S("u1"));
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    char same[RTM_WIRE_MAX_TOPIC];
    assert_int_equal(rtm_wire_topic(same, sizeof same, S("app"), S("#server-to-user-u1")), n);
    assert_memory_equal(out, same, (size_t)n);

    assert_int_equal(rtm_wire_user_topic(out, sizeof out, S("app"), S("")), RTM_EINVAL);
    assert_int_equal(rtm_wire_user_topic(out, sizeof out, S(""), S("u")), RTM_EINVAL);
    assert_int_equal(rtm_wire_user_topic(out, sizeof out, S("app"), S("u\0v")), RTM_EINVAL);
    assert_int_equal(rtm_wire_user_topic(out, (size_t)n - 1, S("app"), S("u1")), RTM_ETOOBIG);
    /* Longest user id that fits the topic limit, one more, and far more. */
    static char uid[RTM_WIRE_MAX_TOPIC * 2];
    memset(uid, 'u', sizeof uid);
    size_t fit = RTM_WIRE_MAX_TOPIC - 3 - 16; /* "a" 0x1F prefix ... 0x00 */
    assert_int_equal(rtm_wire_user_topic(out, sizeof out, S("a"), rtm_str(uid, fit)),
                     RTM_WIRE_MAX_TOPIC);
    assert_int_equal(rtm_wire_user_topic(out, sizeof out, S("a"), rtm_str(uid, fit + 1)),
                     RTM_ETOOBIG);
    assert_int_equal(rtm_wire_user_topic(out, sizeof out, S("a"), rtm_str(uid, sizeof uid)),
                     RTM_ETOOBIG);
}

/* Hostile raw bytes: nothing may allocate, loop or read out of bounds. */
static void test_raw_garbage(void **state)
{
    (void)state;
    static const struct {
        const char *b;
        size_t n;
    } raw[] = {
        {"", 0},
        {"\xc1", 1},                     /* never used */
        {"\x80", 1},                     /* empty map: no v */
        {"\x90", 1},                     /* array, not a map */
        {"\xdd\x0f\xff\xff\xff", 5},     /* array bomb */
        {"\xdf\xff\xff\xff\xff", 5},     /* map bomb */
        {"\x81\xdb\xff\xff\xff\xff", 6}, /* str32 past the end */
        {"\x81\xa1v\xdd\xff\xff\xff\xff", 8},
        {"\x81\xa1x\xc9\xff\xff\xff\xff\x01", 9}, /* ext32 past the end */
        {"\x81\xa1x\xd8\x01", 5},                 /* fixext16 truncated */
        {"\x82\xa1v\x01\xa1t\x03\xc0", 8},        /* trailing byte (and 2 entries) */
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        rtm_wire_msg_t m;
        assert_int_equal(s_decode_copy(raw[i].b, raw[i].n, &m), RTM_EPROTO);
    }
    rtm_wire_msg_t m;
    assert_int_equal(rtm_wire_decode(NULL, 0, &m), RTM_EPROTO);
    /* A deeply nested unknown value is skipped without recursion. */
    size_t depth = 100000, n = 0;
    char *deep = malloc(depth + 16);
    assert_non_null(deep);
    memcpy(deep + n, "\x83\xa1v\x01\xa1t\x03\xa1x", 9);
    n += 9;
    memset(deep + n, 0x91, depth); /* [[[[ ... */
    n += depth;
    deep[n++] = (char)0xc0;
    rtm_wire_msg_t d;
    assert_int_equal(rtm_wire_decode(deep, n, &d), RTM_EPROTO); /* no "node" */
    free(deep);
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    rtm_wire_msg_t m = {.type = RTM_WIRE_NODE_HB, .node = S("n1")};
    char buf[64];
    int n = rtm_wire_encode(&m, buf, sizeof buf);
    assert_true(n > 0);
    buf[n] = (char)0xc0;
    rtm_wire_msg_t got;
    assert_int_equal(rtm_wire_decode(buf, (size_t)n + 1, &got), RTM_EPROTO);
    assert_int_equal(rtm_wire_decode(buf, (size_t)n, &got), 0);
}

static void test_peek_id(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_kv_t bad[] = {{"v", V_UINT, 1, 0},
                    {"t", V_UINT, 1, 0},
                    {"app", V_MAP, 0, 0},
                    {"id", V_UINT, 99, 0},
                    {"name", V_INT, 3, 0}};
    s_build(&sb, bad, 5);
    rtm_wire_msg_t m;
    assert_int_equal(rtm_wire_decode(sb.data, sb.size, &m), RTM_EPROTO);
    uint64_t id = 0;
    assert_int_equal(rtm_wire_peek_id(sb.data, sb.size, &id), 0);
    assert_int_equal(id, 99);
    /* Cut right after the id (the last entry, "name": 3, is 6 bytes): still
     * found; cut inside the id's key: not. */
    id = 0;
    assert_int_equal(rtm_wire_peek_id(sb.data, sb.size - 6, &id), 0);
    assert_int_equal(id, 99);
    assert_int_equal(rtm_wire_peek_id(sb.data, sb.size - 8, &id), RTM_ENOTFOUND);
    s_kv_t noid[] = {{"v", V_UINT, 1, 0}, {"t", V_UINT, 3, 0}, {"id", V_STR, 0, "7"}};
    s_build(&sb, noid, 3);
    assert_int_equal(rtm_wire_peek_id(sb.data, sb.size, &id), RTM_ENOTFOUND);
    assert_int_equal(rtm_wire_peek_id("\xdd\x0f\xff\xff\xff", 5, &id), RTM_ENOTFOUND);
    assert_int_equal(rtm_wire_peek_id("\x81\xa2id", 4, &id), RTM_ENOTFOUND);
    assert_int_equal(rtm_wire_peek_id(NULL, 0, &id), RTM_ENOTFOUND);
    msgpack_sbuffer_destroy(&sb);
}

static void test_topic(void **state)
{
    (void)state;
    char out[64];
    int n = rtm_wire_topic(out, sizeof out, S("app-1"), S("chat-1"));
    assert_int_equal(n, 13);
    assert_memory_equal(out,
                        "app-1\x1F"
                        "chat-1\0",
                        13);

    /* The terminator stops chat-1 from being a prefix of chat-10. */
    char other[64];
    int m = rtm_wire_topic(other, sizeof other, S("app-1"), S("chat-10"));
    assert_int_equal(m, 14);
    assert_true(memcmp(other, out, (size_t)n) != 0);

    /* Exactly at capacity and one under. */
    assert_int_equal(rtm_wire_topic(out, 13, S("app-1"), S("chat-1")), 13);
    assert_int_equal(rtm_wire_topic(out, 12, S("app-1"), S("chat-1")), RTM_ETOOBIG);

    /* The longest topic allowed, and one byte more. */
    static char big[RTM_WIRE_MAX_TOPIC + 1], longch[RTM_WIRE_MAX_TOPIC];
    memset(longch, 'c', sizeof longch);
    rtm_str_t fits = rtm_str(longch, RTM_WIRE_MAX_TOPIC - 3); /* "a" 0x1F ... 0x00 */
    assert_int_equal(rtm_wire_topic(big, sizeof big, S("a"), fits), RTM_WIRE_MAX_TOPIC);
    fits.len++;
    assert_int_equal(rtm_wire_topic(big, sizeof big, S("a"), fits), RTM_ETOOBIG);

    /* Values that would make topics ambiguous. */
    assert_int_equal(rtm_wire_topic(out, sizeof out, S(""), S("c")), RTM_EINVAL);
    assert_int_equal(rtm_wire_topic(out, sizeof out, S("a"), S("")), RTM_EINVAL);
    assert_int_equal(rtm_wire_topic(out, sizeof out,
                                    S("a\x1F"
                                      "b"),
                                    S("c")),
                     RTM_EINVAL);
    assert_int_equal(rtm_wire_topic(out, sizeof out, S("a\0b"), S("c")), RTM_EINVAL);
    assert_int_equal(rtm_wire_topic(out, sizeof out, S("\x01hb"), S("c")), RTM_EINVAL);
    assert_int_equal(rtm_wire_topic(out, sizeof out, S("a"), S("c\0d")), RTM_EINVAL);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_PUBLISH), "publish");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_ACK), "ack");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_NODE_HB), "node_hb");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_SHARD_HB), "shard_hb");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_SYNC_REQ), "sync_req");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_SYNC), "sync");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_MEMBER), "member");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_PRESENCE_JOIN), "presence_join");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_PRESENCE_LEAVE), "presence_leave");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_SUB_COUNT), "sub_count");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_QUERY), "query");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_TERMINATE), "terminate");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_CACHE_MISS), "cache_miss");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_REPLICA), "replica");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_MOVED), "moved");
    assert_string_equal(rtm_wire_type_name((rtm_wire_type_t)16), "unknown");
    assert_string_equal(rtm_wire_type_name((rtm_wire_type_t)77), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_exact_bytes_issue3),
        cmocka_unit_test(test_every_truncation_rejected),
        cmocka_unit_test(test_encode_small_buffer),
        cmocka_unit_test(test_encode_refuses_invalid),
        cmocka_unit_test(test_wrong_bodies),
        cmocka_unit_test(test_extra_keys_keep_values),
        cmocka_unit_test(test_channel_limit),
        cmocka_unit_test(test_members_iterator_edges),
        cmocka_unit_test(test_member_limit),
        cmocka_unit_test(test_user_topic),
        cmocka_unit_test(test_replica_topic),
        cmocka_unit_test(test_raw_garbage),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_peek_id),
        cmocka_unit_test(test_topic),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
