/* Tests for rtm_json: the escaper every client-visible JSON text goes
 * through, checked against fixed vectors, against jansson's parser (every
 * byte value round-trips), and for the bounded and counting forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtm_error.h"
#include "rtm_json.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *in;
    size_t in_len;
    const char *out;
} vec_t;

#define V(in, out)                                                                                 \
    {                                                                                              \
        in, sizeof(in) - 1, out                                                                    \
    }

static const vec_t s_vectors[] = {
    V("", ""),
    V("plain", "plain"),
    V("\"", "\\\""),
    V("\\", "\\\\"),
    V("/", "/"),
    V("\b\f\n\r\t", "\\b\\f\\n\\r\\t"),
    V("\x00", "\\u0000"),
    V("\x01\x1f", "\\u0001\\u001f"),
    V("\x0b\x0e", "\\u000b\\u000e"),
    V("\x7f", "\x7f"),
    V("a\"b\\c", "a\\\"b\\\\c"),
    V("{\"some\":\"data\"}", "{\\\"some\\\":\\\"data\\\"}"),
    V("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
    V("\xff\xfe", "\xff\xfe"), /* not UTF-8: passed through, not our job to fix */
};

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s_vectors) / sizeof(s_vectors[0]); i++) {
        const vec_t *v = &s_vectors[i];
        size_t want = strlen(v->out);
        char buf[128];
        memset(buf, '#', sizeof(buf));
        assert_int_equal(rtm_json_escape_len(v->in, v->in_len), want);
        assert_int_equal(rtm_json_escape(buf, v->in, v->in_len), want);
        assert_memory_equal(buf, v->out, want);
        assert_int_equal(buf[want], '#'); /* nothing past the count */
    }
}

/* Every single byte below 0x80, escaped and quoted, parses back to itself. */
static void test_every_ascii_byte_round_trips(void **state)
{
    (void)state;
    for (int c = 0; c < 0x80; c++) {
        char in = (char)c, text[16];
        text[0] = '"';
        size_t n = rtm_json_escape(text + 1, &in, 1);
        text[1 + n] = '"';
        json_error_t jerr;
        json_t *j = json_loadb(text, n + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        assert_non_null(j);
        assert_int_equal(json_string_length(j), 1);
        assert_int_equal((unsigned char)json_string_value(j)[0], c);
        json_decref(j);
    }
}

/* A long mixed string round-trips through jansson and its length agrees. */
static void test_long_round_trip(void **state)
{
    (void)state;
    char in[4096];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (char)((i * 7 + 3) % 0x80);
    size_t n = rtm_json_escape_len(in, sizeof(in));
    char *text = malloc(n + 2);
    text[0] = '"';
    assert_int_equal(rtm_json_escape(text + 1, in, sizeof(in)), n);
    text[n + 1] = '"';
    json_t *j = json_loadb(text, n + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    assert_non_null(j);
    assert_int_equal(json_string_length(j), sizeof(in));
    assert_memory_equal(json_string_value(j), in, sizeof(in));
    json_decref(j);
    free(text);
}

/* The bounded form writes exactly min(cap, full) bytes of the full output and
 * always reports the full length. */
static void test_bounded_every_cap(void **state)
{
    (void)state;
    static const char in[] = "a\"\x01\n\xc3\xa9z\\";
    char full[64];
    size_t n = rtm_json_escape(full, in, sizeof(in) - 1);
    for (size_t cap = 0; cap <= n + 1; cap++) {
        char buf[64];
        memset(buf, '#', sizeof(buf));
        assert_int_equal(rtm_json_escape_n(cap ? buf : NULL, cap, in, sizeof(in) - 1), n);
        size_t w = cap < n ? cap : n;
        assert_memory_equal(buf, full, w);
        assert_int_equal(buf[w], '#');
    }
}

static void test_writer(void **state)
{
    (void)state;
    char buf[64];
    rtm_json_out_t w = rtm_json_out(buf, sizeof(buf));
    rtm_json_put_lit(&w, "{\"n\":");
    rtm_json_put_int(&w, INT64_MIN);
    rtm_json_put_lit(&w, ",\"s\":\"");
    rtm_json_put_esc(&w, "a\"b", 3);
    rtm_json_put_lit(&w, "\"}");
    static const char want[] = "{\"n\":-9223372036854775808,\"s\":\"a\\\"b\"}";
    assert_int_equal(rtm_json_out_result(&w), sizeof(want) - 1);
    assert_memory_equal(buf, want, sizeof(want) - 1);

    static const int64_t ints[] = {0, 7, -1, 10, 120, INT64_MAX};
    static const char *const texts[] = {"0", "7", "-1", "10", "120", "9223372036854775807"};
    for (size_t i = 0; i < 6; i++) {
        w = rtm_json_out(buf, sizeof(buf));
        rtm_json_put_int(&w, ints[i]);
        assert_int_equal(rtm_json_out_result(&w), strlen(texts[i]));
        assert_memory_equal(buf, texts[i], strlen(texts[i]));
    }
}

/* Counting mode (no buffer) gives the length; a buffer one byte short gives
 * RTM_ETOOBIG and is not overrun. */
static void test_writer_count_and_overflow(void **state)
{
    (void)state;
    rtm_json_out_t c = rtm_json_out(NULL, 0);
    rtm_json_put_lit(&c, "ab");
    rtm_json_put_esc(&c, "\n\x02", 2);
    rtm_json_put_int(&c, -42);
    assert_int_equal(c.n, 2 + 2 + 6 + 3);
    assert_int_equal(rtm_json_out_result(&c), RTM_ETOOBIG);
    for (size_t cap = 0; cap <= c.n; cap++) {
        char buf[32];
        memset(buf, '#', sizeof(buf));
        rtm_json_out_t w = rtm_json_out(buf, cap);
        rtm_json_put_lit(&w, "ab");
        rtm_json_put_esc(&w, "\n\x02", 2);
        rtm_json_put_int(&w, -42);
        assert_int_equal(w.n, c.n);
        assert_int_equal(rtm_json_out_result(&w), cap == c.n ? (int)c.n : RTM_ETOOBIG);
        assert_int_equal(buf[cap], '#');
    }
}

static void s_write_sample(rtm_json_out_t *w, const void *ctx)
{
    rtm_json_put_lit(w, "{\"n\":");
    rtm_json_put_int(w, *(const int64_t *)ctx);
    rtm_json_put_lit(w, ",\"s\":\"");
    rtm_json_put_esc(w, "a\"b", 3);
    rtm_json_put_lit(w, "\"}");
}

static void s_write_nothing(rtm_json_out_t *w, const void *ctx)
{
    (void)w;
    (void)ctx;
}

/* rtm_json_build allocates exactly what the renderer writes. */
static void test_build(void **state)
{
    (void)state;
    int64_t n = -1234567;
    size_t len = 99;
    char *text = rtm_json_build(s_write_sample, &n, &len);
    const char want[] = "{\"n\":-1234567,\"s\":\"a\\\"b\"}";
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(text, want, len);
    free(text);
    text = rtm_json_build(s_write_nothing, NULL, &len);
    assert_non_null(text);
    assert_int_equal(len, 0);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),         cmocka_unit_test(test_every_ascii_byte_round_trips),
        cmocka_unit_test(test_long_round_trip), cmocka_unit_test(test_bounded_every_cap),
        cmocka_unit_test(test_writer),          cmocka_unit_test(test_writer_count_and_overflow),
        cmocka_unit_test(test_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
