/* Tests for rtm_ws: RFC 6455 section 5.7 vectors, every frame split at every
 * offset, length-form boundaries, payload limit, malformed frames, UTF-8 and
 * close frames. Prefixes are copied into exact-size heap buffers so ASan
 * catches any read past what the parser was given. */
#include "rtm_error.h"
#include "rtm_ws.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exact_copy.h"

static const uint8_t s_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* RFC 6455 5.7: a single-frame masked text message "Hello". */
static const uint8_t s_hello_masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                         0x7f, 0x9f, 0x4d, 0x51, 0x58};

/* Builds a masked client frame by hand (no rtm_ws code involved); returns its
 * length. out must hold 14 + n bytes. */
static size_t s_client_frame(uint8_t *out, uint8_t b0, const uint8_t *payload, size_t n)
{
    size_t h = 0;
    out[h++] = b0;
    if (n <= 125) {
        out[h++] = (uint8_t)(0x80 | n);
    } else if (n <= 0xFFFF) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    memcpy(out + h, s_mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        out[h + i] = payload[i] ^ s_mask[i % 4];
    return h + n;
}

static uint8_t *s_pattern(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 131 + 7);
    return p;
}

static void test_rfc_masked_hello(void **state)
{
    (void)state;
    uint8_t buf[sizeof s_hello_masked];
    memcpy(buf, s_hello_masked, sizeof buf);
    rtm_ws_frame_t f;
    assert_int_equal(rtm_ws_parse(buf, sizeof buf, 125, &f), 11);
    assert_true(f.fin);
    assert_int_equal(f.opcode, RTM_WS_TEXT);
    assert_int_equal(f.header_len, 6);
    assert_int_equal(f.payload_len, 5);
    assert_memory_equal(f.mask, s_mask, 4);
    assert_memory_equal(buf + 6, "Hello", 5);

    /* The masked pong of 5.7 carries the same body. */
    uint8_t pong[sizeof s_hello_masked];
    memcpy(pong, s_hello_masked, sizeof pong);
    pong[0] = 0x8a;
    assert_int_equal(rtm_ws_parse(pong, sizeof pong, 125, &f), 11);
    assert_int_equal(f.opcode, RTM_WS_PONG);
    assert_memory_equal(pong + 6, "Hello", 5);
}

/* RFC 6455 5.7: 256 bytes (16-bit form) and 64 KiB (64-bit form) binary. */
static void test_rfc_extended_lengths(void **state)
{
    (void)state;
    static const uint8_t h16[] = {0x82, 0xFE, 0x01, 0x00};
    static const uint8_t h64[] = {0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    struct {
        const uint8_t *head;
        size_t head_len, n;
    } cases[] = {{h16, sizeof h16, 256}, {h64, sizeof h64, 65536}};
    for (size_t c = 0; c < 2; c++) {
        size_t n = cases[c].n;
        uint8_t *payload = s_pattern(n);
        uint8_t *frame = malloc(14 + n);
        assert_non_null(frame);
        size_t len = s_client_frame(frame, 0x82, payload, n);
        assert_memory_equal(frame, cases[c].head, cases[c].head_len);
        rtm_ws_frame_t f;
        assert_int_equal(rtm_ws_parse(frame, len, n, &f), (int)len);
        assert_int_equal(f.header_len, cases[c].head_len + 4);
        assert_int_equal(f.payload_len, n);
        assert_int_equal(f.opcode, RTM_WS_BINARY);
        assert_memory_equal(frame + f.header_len, payload, n);
        free(frame);
        free(payload);
    }
}

static void s_expect_eagain(const uint8_t *frame, size_t k, size_t max)
{
    uint8_t *part = exact_copy(frame, k);
    rtm_ws_frame_t f = {0};
    assert_int_equal(rtm_ws_parse(part, k, max, &f), RTM_EAGAIN);
    assert_memory_equal(part, frame, k);
    assert_int_equal(f.payload_len, 0);
    free(part);
}

/* Every proper prefix is RTM_EAGAIN and leaves the bytes alone; the whole
 * frame parses and unmasks to the original payload. */
static void s_check_split(uint8_t b0, size_t n)
{
    uint8_t *payload = s_pattern(n);
    uint8_t *frame = malloc(14 + n);
    assert_non_null(frame);
    size_t len = s_client_frame(frame, b0, payload, n);
    size_t step = len > 4096 ? 61 : 1; /* keep the 64 KiB cases quick */
    for (size_t k = 0; k < len; k += k < 16 ? 1 : step)
        s_expect_eagain(frame, k, n);
    s_expect_eagain(frame, len - 1, n);
    uint8_t *whole = exact_copy(frame, len);
    rtm_ws_frame_t f;
    assert_int_equal(rtm_ws_parse(whole, len, n, &f), (int)len);
    assert_int_equal(f.fin, (b0 & 0x80) != 0);
    assert_int_equal(f.opcode, b0 & 0x0F);
    assert_int_equal(f.payload_len, n);
    assert_memory_equal(whole + f.header_len, payload, n);
    free(whole);
    free(frame);
    free(payload);
}

static void test_split_every_offset(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof s_hello_masked; k++)
        s_expect_eagain(s_hello_masked, k, 125);
    static const size_t sizes[] = {0, 1, 7, 8, 9, 125, 126, 127, 1000, 65535, 65536, 70001};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        s_check_split(0x82, sizes[i]);
    s_check_split(0x01, 3); /* first fragment, not fin */
    s_check_split(0x80, 2); /* final continuation */
    s_check_split(0x89, 125);
    s_check_split(0x88, 2);
}

/* Unmasking must be right for every length and buffer alignment, across the
 * word loop and the byte tail. */
static void test_unmask_lengths_and_alignment(void **state)
{
    (void)state;
    uint8_t *payload = s_pattern(64);
    uint8_t frame[14 + 64 + 8];
    for (size_t n = 0; n <= 64; n++) {
        for (size_t off = 0; off < 8; off++) {
            size_t len = s_client_frame(frame + off, 0x82, payload, n);
            rtm_ws_frame_t f;
            assert_int_equal(rtm_ws_parse(frame + off, len, 64, &f), (int)len);
            assert_memory_equal(frame + off + f.header_len, payload, n);
        }
    }
    free(payload);
}

static void test_pipelined_frames(void **state)
{
    (void)state;
    uint8_t buf[2 * sizeof s_hello_masked];
    memcpy(buf, s_hello_masked, sizeof s_hello_masked);
    memcpy(buf + sizeof s_hello_masked, s_hello_masked, sizeof s_hello_masked);
    rtm_ws_frame_t f;
    assert_int_equal(rtm_ws_parse(buf, sizeof buf, 125, &f), 11);
    assert_memory_equal(buf + 11, s_hello_masked, 11); /* next frame untouched */
    assert_int_equal(rtm_ws_parse(buf + 11, 11, 125, &f), 11);
    assert_memory_equal(buf + 17, "Hello", 5);
}

static void s_expect_toobig(const uint8_t *frame, size_t k, size_t max)
{
    uint8_t *part = exact_copy(frame, k);
    rtm_ws_frame_t f;
    assert_int_equal(rtm_ws_parse(part, k, max, &f), RTM_ETOOBIG);
    assert_memory_equal(part, frame, k);
    free(part);
}

static void test_max_payload(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 5, 125, 126, 65535, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *payload = s_pattern(n);
        uint8_t *frame = malloc(14 + n);
        assert_non_null(frame);
        size_t len = s_client_frame(frame, 0x82, payload, n);
        size_t ext = n <= 125 ? 0 : n <= 0xFFFF ? 2 : 8;
        /* One over: refused as soon as the length is readable, even when the
         * rest of the header and the payload have not arrived. */
        if (n > 0) {
            for (size_t k = 2 + ext; k <= 2 + ext + 4; k++)
                s_expect_toobig(frame, k, n - 1);
            s_expect_toobig(frame, len, n - 1);
        }
        /* Exactly at the limit: accepted. */
        rtm_ws_frame_t f;
        assert_int_equal(rtm_ws_parse(frame, len, n, &f), (int)len);
        assert_int_equal(f.payload_len, n);
        assert_memory_equal(frame + f.header_len, payload, n);
        free(frame);
        free(payload);
    }
}

struct s_bad {
    const char *name;
    uint8_t bytes[16];
    size_t len;
    int want;
};

static void test_malformed(void **state)
{
    (void)state;
    static const struct s_bad bad[] = {
        {"unmasked text (RFC 5.7 server frame)",
         {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'},
         7,
         RTM_EPROTO},
        {"unmasked, header only", {0x81, 0x05}, 2, RTM_EPROTO},
        {"rsv1 on a continuation", {0x40, 0x80, 1, 2, 3, 4}, 6, RTM_EPROTO},
        {"rsv1 on a ping", {0xC9, 0x80, 1, 2, 3, 4}, 6, RTM_EPROTO},
        {"rsv1 on a close", {0xC8, 0x80, 1, 2, 3, 4}, 6, RTM_EPROTO},
        {"rsv1 and rsv2", {0xE1, 0x80, 1, 2, 3, 4}, 6, RTM_EPROTO},
        {"rsv2", {0xA1, 0x80, 1, 2, 3, 4}, 6, RTM_EPROTO},
        {"rsv3", {0x91, 0x80, 1, 2, 3, 4}, 6, RTM_EPROTO},
        {"opcode 3", {0x83, 0x80, 1, 2, 3, 4}, 6, RTM_EPROTO},
        {"opcode 7", {0x87, 0x80, 1, 2, 3, 4}, 6, RTM_EPROTO},
        {"opcode 11", {0x8B, 0x80, 1, 2, 3, 4}, 6, RTM_EPROTO},
        {"opcode 15", {0x8F, 0x80, 1, 2, 3, 4}, 6, RTM_EPROTO},
        {"ping 126 bytes", {0x89, 0xFE, 0x00, 0x7E}, 4, RTM_EPROTO},
        {"close 64-bit form", {0x88, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0}, 10, RTM_EPROTO},
        {"ping not fin", {0x09, 0x80, 1, 2, 3, 4}, 6, RTM_EPROTO},
        {"close not fin", {0x08, 0x82, 1, 2, 3, 4, 5, 6}, 8, RTM_EPROTO},
        {"pong not fin", {0x0A, 0x80}, 2, RTM_EPROTO},
        {"16-bit form for 125", {0x82, 0xFE, 0x00, 0x7D, 1, 2, 3, 4}, 8, RTM_EPROTO},
        {"16-bit form for 0", {0x82, 0xFE, 0x00, 0x00}, 4, RTM_EPROTO},
        {"64-bit form for 65535", {0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 10, RTM_EPROTO},
        {"64-bit form for 126", {0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0x00, 0x7E}, 10, RTM_EPROTO},
        {"64-bit top bit", {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, RTM_EPROTO},
        {"64-bit all ones",
         {0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
         10,
         RTM_EPROTO},
        {"2^62 (fits no int)", {0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0}, 10, RTM_ETOOBIG},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *b = exact_copy(bad[i].bytes, bad[i].len);
        rtm_ws_frame_t f = {0};
        int rc = rtm_ws_parse(b, bad[i].len, SIZE_MAX, &f);
        if (rc != bad[i].want)
            fail_msg("%s: got %d want %d", bad[i].name, rc, bad[i].want);
        assert_memory_equal(b, bad[i].bytes, bad[i].len);
        assert_int_equal(f.payload_len, 0);
        free(b);
    }
}

/* RSV1 on a message's first frame is reported for the caller to judge
 * (RFC 7692: "compressed"); the RFC 7692 7.2.3.1 "Hello", masked. */
static void test_rsv1_reported(void **state)
{
    (void)state;
    uint8_t b[] = {0xC1,     0x87,     1,        2,        3,        4,       0xf2 ^ 1,
                   0x48 ^ 2, 0xcd ^ 3, 0xc9 ^ 4, 0xc9 ^ 1, 0x07 ^ 2, 0x00 ^ 3};
    rtm_ws_frame_t f;
    assert_int_equal(rtm_ws_parse(b, sizeof b, 100, &f), (int)sizeof b);
    assert_true(f.compressed);
    assert_true(f.fin);
    assert_int_equal(f.opcode, RTM_WS_TEXT);
    static const uint8_t deflated[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    assert_memory_equal(b + f.header_len, deflated, sizeof deflated);
    uint8_t fragment[] = {0x41, 0x80, 1, 2, 3, 4}; /* RSV1, no FIN: a compressed first fragment */
    assert_int_equal(rtm_ws_parse(fragment, sizeof fragment, 100, &f), 6);
    assert_true(f.compressed);
    assert_false(f.fin);
    uint8_t plain[] = {0x81, 0x80, 1, 2, 3, 4};
    assert_int_equal(rtm_ws_parse(plain, sizeof plain, 100, &f), 6);
    assert_false(f.compressed);
}

static void test_encode_compressed_header(void **state)
{
    (void)state;
    uint8_t h[RTM_WS_MAX_HEADER];
    assert_int_equal(rtm_ws_encode_compressed_header(h, 7), 2);
    assert_int_equal(h[0], 0xC1);
    assert_int_equal(h[1], 7);
    assert_int_equal(rtm_ws_encode_compressed_header(h, 300), 4);
    assert_int_equal(h[0], 0xC1);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], 300);
}

/* Valid boundary lengths in the extended forms must not be mistaken for
 * non-minimal encodings. */
static void test_minimal_length_boundaries(void **state)
{
    (void)state;
    uint8_t b16[] = {0x82, 0xFE, 0x00, 0x7E, 0, 0, 0, 0};
    rtm_ws_frame_t f;
    assert_int_equal(rtm_ws_parse(b16, sizeof b16, 1000, &f), RTM_EAGAIN);
    uint8_t b64[] = {0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0, 0, 0, 0};
    assert_int_equal(rtm_ws_parse(b64, sizeof b64, 100000, &f), RTM_EAGAIN);
}

static void test_encode_header(void **state)
{
    (void)state;
    struct {
        rtm_ws_opcode_t op;
        size_t n;
        size_t len;
        uint8_t bytes[10];
    } v[] = {
        {RTM_WS_TEXT, 5, 2, {0x81, 0x05}}, /* RFC 5.7 unmasked "Hello" */
        {RTM_WS_PING, 5, 2, {0x89, 0x05}}, /* RFC 5.7 unmasked ping */
        {RTM_WS_TEXT, 0, 2, {0x81, 0x00}},
        {RTM_WS_TEXT, 125, 2, {0x81, 0x7D}},
        {RTM_WS_TEXT, 126, 4, {0x81, 0x7E, 0x00, 0x7E}},
        {RTM_WS_BINARY, 256, 4, {0x82, 0x7E, 0x01, 0x00}}, /* RFC 5.7 */
        {RTM_WS_TEXT, 65535, 4, {0x81, 0x7E, 0xFF, 0xFF}},
        {RTM_WS_BINARY, 65536, 10, {0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}}, /* RFC 5.7 */
        {RTM_WS_TEXT, 0x123456789Aull, 10, {0x81, 0x7F, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9A}},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t out[RTM_WS_MAX_HEADER];
        memset(out, 0xEE, sizeof out);
        assert_int_equal(rtm_ws_encode_header(out, v[i].op, v[i].n), v[i].len);
        assert_memory_equal(out, v[i].bytes, v[i].len);
        assert_int_equal(out[v[i].len], 0xEE); /* nothing written past the header */
    }
}

/* A server header turned into a client frame (mask bit and key added) parses
 * back to the same opcode and length. */
static void test_encode_parse_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *payload = s_pattern(n);
        uint8_t *frame = malloc(RTM_WS_MAX_HEADER + n);
        assert_non_null(frame);
        size_t h = rtm_ws_encode_header(frame, RTM_WS_BINARY, n);
        frame[1] |= 0x80;
        memcpy(frame + h, s_mask, 4);
        for (size_t j = 0; j < n; j++)
            frame[h + 4 + j] = payload[j] ^ s_mask[j % 4];
        rtm_ws_frame_t f;
        assert_int_equal(rtm_ws_parse(frame, h + 4 + n, n, &f), (int)(h + 4 + n));
        assert_int_equal(f.opcode, RTM_WS_BINARY);
        assert_int_equal(f.payload_len, n);
        assert_memory_equal(frame + h + 4, payload, n);
        free(frame);
        free(payload);
    }
}

struct s_utf8 {
    const char *s;
    size_t len;
    bool ok;
};

#define U(lit, ok)                                                                                 \
    {                                                                                              \
        lit, sizeof(lit) - 1, ok                                                                   \
    }

static void test_utf8(void **state)
{
    (void)state;
    static const struct s_utf8 v[] = {
        U("", true),
        U("hello", true),
        U("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", true), /* κόσμε */
        U("\xc2\x80", true),                                     /* U+0080 */
        U("\xdf\xbf", true),                                     /* U+07FF */
        U("\xe0\xa0\x80", true),                                 /* U+0800 */
        U("\xed\x9f\xbf", true),                                 /* U+D7FF */
        U("\xee\x80\x80", true),                                 /* U+E000 */
        U("\xef\xbf\xbf", true),                                 /* U+FFFF */
        U("\xf0\x90\x80\x80", true),                             /* U+10000 */
        U("\xf4\x8f\xbf\xbf", true),                             /* U+10FFFF */
        U("0123456789abcdef\xe2\x82\xac"
          "0123456789",
          true), /* € after the fast path */
        U("\xf0\x9f\x98\x80 pusher \xf0\x9f\x98\x80", true),
        U("\x80", false), /* lone continuation */
        U("\xbf", false),
        U("\xc0\x80", false),                 /* overlong NUL */
        U("\xc1\xbf", false),                 /* overlong */
        U("hello\xc0\xafworld", false),       /* overlong '/' */
        U("\xe0\x80\x80", false),             /* overlong 3-byte */
        U("\xe0\x9f\xbf", false),             /* overlong U+07FF */
        U("\xf0\x80\x80\x80", false),         /* overlong 4-byte */
        U("\xf0\x8f\xbf\xbf", false),         /* overlong U+FFFF */
        U("\xed\xa0\x80", false),             /* U+D800 */
        U("\xed\xbf\xbf", false),             /* U+DFFF */
        U("\xed\xa0\x80\xed\xb0\x80", false), /* surrogate pair */
        U("\xf4\x90\x80\x80", false),         /* U+110000 */
        U("\xf5\x80\x80\x80", false),
        U("\xf8\x88\x80\x80\x80", false), /* 5-byte form */
        U("\xfe", false),
        U("\xff", false),
        U("\xc2", false), /* truncated */
        U("\xe1\x80", false),
        U("\xf1\x80\x80", false),
        U("\xc2\x41", false), /* bad continuation */
        U("\xe1\x80\x41", false),
        U("\xf1\x80\x80\x41", false),
        U("01234567\xff", false), /* after a fast-path word */
        U("0123456\xc2", false),
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        if (rtm_ws_utf8_valid((const uint8_t *)v[i].s, v[i].len) != v[i].ok)
            fail_msg("utf8 case %zu: want %s", i, v[i].ok ? "valid" : "invalid");
    }
}

static void test_parse_close(void **state)
{
    (void)state;
    struct {
        const char *p;
        size_t len;
        int want;
    } v[] = {
        {"", 0, 1005},
        {"\x03", 1, RTM_EPROTO},
        {"\x03\xe8", 2, 1000},
        {"\x03\xe8"
         "bye",
         5, 1000},
        {"\x03\xe9", 2, 1001},
        {"\x03\xeb", 2, 1003},
        {"\x03\xef", 2, 1007},
        {"\x03\xf6", 2, 1014},
        {"\x0b\xb8", 2, 3000},
        {"\x0f\xa1"
         "Application only accepts SSL",
         30, 4001},
        {"\x13\x87", 2, 4999},
        {"\x00\x00", 2, RTM_EPROTO},
        {"\x03\xe7", 2, RTM_EPROTO}, /* 999 */
        {"\x03\xec", 2, RTM_EPROTO}, /* 1004 */
        {"\x03\xed", 2, RTM_EPROTO}, /* 1005 */
        {"\x03\xee", 2, RTM_EPROTO}, /* 1006 */
        {"\x03\xf7", 2, RTM_EPROTO}, /* 1015 */
        {"\x07\xd0", 2, RTM_EPROTO}, /* 2000 */
        {"\x0b\xb7", 2, RTM_EPROTO}, /* 2999 */
        {"\x13\x88", 2, RTM_EPROTO}, /* 5000 */
        {"\xff\xff", 2, RTM_EPROTO},
        {"\x03\xe8\xc0\xaf", 4, RTM_EPROTO}, /* non-UTF-8 reason */
        {"\x03\xe8\xce", 3, RTM_EPROTO},     /* truncated reason */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int rc = rtm_ws_parse_close((const uint8_t *)v[i].p, v[i].len);
        if (rc != v[i].want)
            fail_msg("close case %zu: got %d want %d", i, rc, v[i].want);
    }
}

static void test_encode_close(void **state)
{
    (void)state;
    uint8_t out[RTM_WS_CLOSE_FRAME_SIZE + 8];
    const char *reason = "Application only accepts SSL";
    size_t n = rtm_ws_encode_close(out, RTM_WS_CLOSE_FRAME_SIZE, 4001, reason);
    assert_int_equal(n, 2 + 2 + strlen(reason));
    assert_memory_equal(out, "\x88\x1e\x0f\xa1", 4);
    assert_memory_equal(out + 4, reason, strlen(reason));
    assert_int_equal(rtm_ws_parse_close(out + 2, n - 2), 4001);

    n = rtm_ws_encode_close(out, sizeof out, 1000, NULL);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "\x88\x02\x03\xe8", 4);

    /* An empty close is echoed as an empty close. */
    n = rtm_ws_encode_close(out, sizeof out, RTM_WS_CLOSE_NO_STATUS, "ignored");
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\x88\x00", 2);

    /* A long reason is cut to fit 125 bytes of payload. */
    char longr[300];
    memset(longr, 'x', sizeof longr - 1);
    longr[sizeof longr - 1] = '\0';
    n = rtm_ws_encode_close(out, RTM_WS_CLOSE_FRAME_SIZE, 1011, longr);
    assert_int_equal(n, RTM_WS_CLOSE_FRAME_SIZE);
    assert_int_equal(out[1], 125);

    /* ...at a character boundary: a 2-byte character straddling byte 123 of
     * the reason is dropped whole, and the result is still valid. */
    memset(longr, 'x', sizeof longr - 1);
    longr[122] = (char)0xc3;
    longr[123] = (char)0xa9; /* é at reason bytes 122..123 */
    n = rtm_ws_encode_close(out, RTM_WS_CLOSE_FRAME_SIZE, 1011, longr);
    assert_int_equal(n, 2 + 2 + 122);
    assert_int_equal(rtm_ws_parse_close(out + 2, n - 2), 1011);

    /* ...and to fit a small cap. */
    memset(out, 0xEE, sizeof out);
    n = rtm_ws_encode_close(out, 10, 1000, "abcdefghij");
    assert_int_equal(n, 10);
    assert_memory_equal(out + 4, "abcdef", 6);
    assert_int_equal(out[10], 0xEE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_masked_hello),
        cmocka_unit_test(test_rfc_extended_lengths),
        cmocka_unit_test(test_split_every_offset),
        cmocka_unit_test(test_unmask_lengths_and_alignment),
        cmocka_unit_test(test_pipelined_frames),
        cmocka_unit_test(test_max_payload),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_rsv1_reported),
        cmocka_unit_test(test_encode_compressed_header),
        cmocka_unit_test(test_minimal_length_boundaries),
        cmocka_unit_test(test_encode_header),
        cmocka_unit_test(test_encode_parse_round_trip),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_parse_close),
        cmocka_unit_test(test_encode_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
