/* Tests for rtm_wire: the node <-> broker msgpack bodies and egress topics.
 *
 * Bodies with wrong types, duplicates and extra keys are built with msgpack-c's
 * packer, an independent encoder, so the hand-written decoder is checked
 * against the reference implementation and not only against itself. */
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

static void s_assert_same(const rtm_wire_msg_t *got, const rtm_wire_msg_t *want)
{
    assert_int_equal(got->type, want->type);
    switch (want->type) {
    case RTM_WIRE_PUBLISH:
        assert_int_equal(got->id, want->id);
        s_assert_str(got->app, want->app);
        s_assert_str(got->name, want->name);
        s_assert_str(got->data, want->data);
        s_assert_str(got->exclude, want->exclude);
        assert_int_equal(got->n_channels, want->n_channels);
        for (uint32_t i = 0; i < want->n_channels; i++)
            s_assert_str(got->channels[i], want->channels[i]);
        break;
    case RTM_WIRE_ACK:
        assert_int_equal(got->id, want->id);
        assert_int_equal(got->status, want->status);
        break;
    case RTM_WIRE_NODE_HB: s_assert_str(got->node, want->node); break;
    case RTM_WIRE_SHARD_HB:
        assert_int_equal(got->shard, want->shard);
        assert_int_equal(got->epoch, want->epoch);
        break;
    }
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

/* One message of every type, with edge values. */
static rtm_wire_msg_t s_vectors[8];

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
    return n;
}

/* A tiny body builder over msgpack-c: each entry is a key and a value kind. */
typedef enum { V_UINT, V_INT, V_STR, V_BIN, V_NIL, V_FLOAT, V_STRS, V_INTS, V_MAP } s_vk_t;

typedef struct {
    const char *key; /* NULL: the key is the integer 1 instead of a str */
    s_vk_t kind;
    int64_t i;     /* V_UINT (as unsigned), V_INT; V_STRS/V_INTS: element count */
    const char *s; /* V_STR, V_BIN; V_STRS element */
} s_kv_t;

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
    m = (rtm_wire_msg_t){.type = (rtm_wire_type_t)9};
    assert_int_equal(rtm_wire_encode(&m, out, sizeof out), RTM_EINVAL);
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
    {"t unknown", {{"v", V_UINT, 1, 0}, {"t", V_UINT, 9, 0}}, 2, RTM_EPROTO},
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

    rtm_str_t app, ch;
    assert_int_equal(rtm_wire_topic_split(rtm_str(out, (size_t)n), &app, &ch), 0);
    s_assert_str(app, S("app-1"));
    s_assert_str(ch, S("chat-1"));
    assert_true(app.p == out && ch.p == out + 6);

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

static void test_topic_split_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *b;
        size_t n;
    } bad[] = {
        {"", 0},
        {"a\x1F"
         "c",
         3},          /* no terminator */
        {"abc\0", 4}, /* no separator */
        {"\x1F"
         "chat\0",
         6},              /* empty app */
        {"app\x1F\0", 5}, /* empty channel */
        {"a\x1F"
         "c\0d\0",
         6}, /* NUL inside the channel */
        {RTM_WIRE_HB_TOPIC, RTM_WIRE_HB_TOPIC_LEN},
        {"\x01h\x1F"
         "b\0",
         6}, /* heartbeat-prefixed */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rtm_str_t app = {0}, ch = {0};
        assert_int_equal(rtm_wire_topic_split(rtm_str(bad[i].b, bad[i].n), &app, &ch), RTM_EPROTO);
    }
    assert_int_equal(RTM_WIRE_HB_TOPIC_LEN, 3);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_PUBLISH), "publish");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_ACK), "ack");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_NODE_HB), "node_hb");
    assert_string_equal(rtm_wire_type_name(RTM_WIRE_SHARD_HB), "shard_hb");
    assert_string_equal(rtm_wire_type_name((rtm_wire_type_t)77), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_every_truncation_rejected),
        cmocka_unit_test(test_encode_small_buffer),
        cmocka_unit_test(test_encode_refuses_invalid),
        cmocka_unit_test(test_wrong_bodies),
        cmocka_unit_test(test_extra_keys_keep_values),
        cmocka_unit_test(test_channel_limit),
        cmocka_unit_test(test_raw_garbage),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_peek_id),
        cmocka_unit_test(test_topic),
        cmocka_unit_test(test_topic_split_rejects),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
