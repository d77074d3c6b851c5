/* Tests for rtm_deflate: the RFC 7692 7.2.3 vectors, round trips of many
 * sizes, the inflate limit exactly at and one over, a compression bomb,
 * and malformed and truncated input. Inputs are copied into exact-size heap
 * buffers so ASan catches a read past what the codec was given. */
#include "rtm_deflate.h"
#include "rtm_error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exact_copy.h"

/* Inflates a heap copy of in[0..len) with the given limit into a heap
 * buffer of exactly limit bytes; the result is at out (caller frees). */
static int s_inflate(rtm_deflate_t *z, const uint8_t *in, size_t len, size_t limit, uint8_t **out)
{
    uint8_t *copy = exact_copy(in, len);
    *out = malloc(limit ? limit : 1);
    assert_non_null(*out);
    int rc = rtm_deflate_inflate(z, copy, len, *out, limit);
    free(copy);
    return rc;
}

/* RFC 7692 7.2.3.1, .3, .4 and .5: "Hello" compressed four ways. */
static void test_rfc_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint8_t bytes[16];
        size_t len;
    } v[] = {
        {"7.2.3.1 one block", {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, 7},
        {"7.2.3.3 no compression",
         {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00},
         11},
        {"7.2.3.4 BFINAL set", {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, 8},
        {"7.2.3.5 two blocks",
         {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00},
         13},
    };
    rtm_deflate_t *z = rtm_deflate_new();
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t *out;
        int rc = s_inflate(z, v[i].bytes, v[i].len, 100, &out);
        if (rc != 5 || memcmp(out, "Hello", 5) != 0)
            fail_msg("%s: got %d", v[i].name, rc);
        free(out);
    }
    rtm_deflate_destroy(&z);
    assert_null(z);
}

/* JSON-like text of n bytes: repetitive, as Pusher events are. */
static uint8_t *s_json(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n;) {
        char item[64];
        int k = snprintf(item, sizeof item, "{\"name\":\"metric_%zu\",\"value\":%zu},", i % 97,
                         (i * 7919) % 10007);
        for (int j = 0; j < k && i < n; j++)
            p[i++] = (uint8_t)item[j];
    }
    return p;
}

static void test_round_trip(void **state)
{
    (void)state;
    rtm_deflate_t *z = rtm_deflate_new();
    static const size_t sizes[] = {0, 1, 2, 5, 125, 126, 127, 128, 200, 2048, 65535, 65536, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *in = s_json(n);
        const uint8_t *c;
        size_t clen = rtm_deflate_compress(z, in, n, &c);
        uint8_t *copy = exact_copy(c, clen);
        if (clen >= 4)
            assert_false(memcmp(copy + clen - 4, "\x00\x00\xff\xff", 4) == 0); /* tail removed */
        if (n >= 2048)
            assert_true(clen * 3 < n); /* repetitive JSON compresses well */
        uint8_t *out;
        int rc = s_inflate(z, copy, clen, n, &out);
        if (rc != (int)n || (n && memcmp(out, in, n) != 0))
            fail_msg("size %zu: got %d", n, rc);
        free(out);
        free(copy);
        free(in);
    }
    rtm_deflate_destroy(&z);
}

/* Exactly at the limit inflates; one under it is refused, and so is a
 * message that inflates a thousandfold (a compression bomb). */
static void test_limit(void **state)
{
    (void)state;
    rtm_deflate_t *z = rtm_deflate_new();
    static const size_t sizes[] = {1, 100, 4096, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *in = s_json(n);
        const uint8_t *c;
        size_t clen = rtm_deflate_compress(z, in, n, &c);
        uint8_t *copy = exact_copy(c, clen), *out;
        assert_int_equal(s_inflate(z, copy, clen, n, &out), (int)n);
        free(out);
        assert_int_equal(s_inflate(z, copy, clen, n - 1, &out), RTM_ETOOBIG);
        free(out);
        free(copy);
        free(in);
    }
    size_t big = 16u << 20;
    uint8_t *zeros = calloc(1, big);
    assert_non_null(zeros);
    const uint8_t *c;
    size_t clen = rtm_deflate_compress(z, zeros, big, &c);
    assert_true(clen < big / 100);
    uint8_t *bomb = exact_copy(c, clen), *out;
    assert_int_equal(s_inflate(z, bomb, clen, 64 * 1024, &out), RTM_ETOOBIG);
    free(out);
    free(bomb);
    free(zeros);
    rtm_deflate_destroy(&z);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint8_t bytes[8];
        size_t len;
    } bad[] = {
        {"empty (a stored block cut in its length)", {0}, 0},
        {"reserved block type 3", {0x06, 0x00}, 2},
        {"stored block whose NLEN is not ~LEN", {0x00, 0x05, 0x00, 0x00, 0x00}, 5},
        {"stored block cut in its length", {0x00, 0x05}, 2},
        {"dynamic block with 288 length codes", {0xFD, 0xFF, 0xFF}, 3},
    };
    rtm_deflate_t *z = rtm_deflate_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *out;
        int rc = s_inflate(z, bad[i].bytes, bad[i].len, 1000, &out);
        if (rc != RTM_EPROTO)
            fail_msg("%s: got %d", bad[i].name, rc);
        free(out);
    }
    /* after errors, the inflater is as good as new */
    static const uint8_t hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    uint8_t *out;
    assert_int_equal(s_inflate(z, hello, sizeof hello, 5, &out), 5);
    free(out);
    rtm_deflate_destroy(&z);
}

/* A compressed message cut at every offset inflates within its own bytes
 * and its limit, or is refused. It is not always refused: the 00 00 FF FF
 * appended to every message (RFC 7692 7.2.2) ends a cut Huffman block about
 * half the time here, so DEFLATE cannot tell such a cut from a whole
 * message; the UTF-8 and Pusher JSON checks above it refuse what it lets
 * through. */
static void test_truncated_every_offset(void **state)
{
    (void)state;
    rtm_deflate_t *z = rtm_deflate_new();
    uint8_t *in = s_json(3000);
    const uint8_t *c;
    size_t clen = rtm_deflate_compress(z, in, 3000, &c);
    uint8_t *whole = exact_copy(c, clen);
    for (size_t cut = 0; cut < clen; cut++) {
        uint8_t *out;
        int rc = s_inflate(z, whole, cut, 3000, &out);
        if (rc != RTM_EPROTO && rc != RTM_ETOOBIG && (rc < 0 || rc > 3000))
            fail_msg("cut at %zu: got %d", cut, rc);
        free(out);
    }
    uint8_t *out;
    assert_int_equal(s_inflate(z, whole, clen, 3000, &out), 3000);
    assert_memory_equal(out, in, 3000);
    free(out);
    free(whole);
    free(in);
    rtm_deflate_destroy(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_vectors),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncated_every_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
