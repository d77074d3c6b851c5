/* Tests for rtm_zmtp: the greeting libzmq 4.3 sends (bytes written by hand
 * from RFC 23), frames in both length forms and at their boundaries, every
 * frame and greeting split at every offset, reserved bits, commands and
 * property blocks. Inputs are copied into exact-size heap buffers so ASan
 * catches any read past what the parser was given. */
#include "rtm_error.h"
#include "rtm_zmtp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exact_copy.h"

/* A peer's greeting as RFC 23 lays it out: signature, version, mechanism,
 * as-server, filler. */
static void s_peer_greeting(uint8_t g[64], uint8_t major, uint8_t minor, const char *mech,
                            uint8_t server)
{
    memset(g, 0, 64);
    g[0] = 0xFF;
    g[8] = 0x01; /* libzmq writes its routing id length + 1 in the padding */
    g[9] = 0x7F;
    g[10] = major;
    g[11] = minor;
    memcpy(g + 12, mech, strlen(mech));
    g[32] = server;
}

static void test_greeting_ours(void **state)
{
    (void)state;
    uint8_t g[64];
    rtm_zmtp_greeting(g, RTM_ZMTP_CURVE, false);
    assert_int_equal(g[0], 0xFF);
    assert_int_equal(g[9], 0x7F);
    assert_int_equal(g[10], 3);
    assert_int_equal(g[11], 0);
    assert_memory_equal(g + 12, "CURVE\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
    assert_int_equal(g[32], 0);
    rtm_zmtp_mech_t mech;
    bool server = true;
    assert_int_equal(rtm_zmtp_greeting_parse(g, 64, &mech, &server), 64);
    assert_int_equal(mech, RTM_ZMTP_CURVE);
    assert_false(server);
}

static void test_greeting_peer_split(void **state)
{
    (void)state;
    uint8_t g[64];
    s_peer_greeting(g, 3, 1, "NULL", 1);
    for (size_t n = 0; n < 64; n++) {
        uint8_t *p = exact_copy(g, n);
        rtm_zmtp_mech_t mech;
        bool server;
        assert_int_equal(rtm_zmtp_greeting_parse(p, n, &mech, &server), RTM_EAGAIN);
        free(p);
    }
    rtm_zmtp_mech_t mech = RTM_ZMTP_CURVE;
    bool server = false;
    assert_int_equal(rtm_zmtp_greeting_parse(g, 64, &mech, &server), 64);
    assert_int_equal(mech, RTM_ZMTP_NULL);
    assert_true(server);
}

static void test_greeting_refused(void **state)
{
    (void)state;
    uint8_t g[64];
    rtm_zmtp_mech_t mech;
    bool server;
    s_peer_greeting(g, 2, 0, "NULL", 0);
    assert_int_equal(rtm_zmtp_greeting_parse(g, 11, &mech, &server), RTM_EVERSION);
    s_peer_greeting(g, 3, 0, "PLAIN", 0);
    assert_int_equal(rtm_zmtp_greeting_parse(g, 64, &mech, &server), RTM_EPROTO);
    s_peer_greeting(g, 3, 0, "NULLX", 0); /* a longer name that starts with ours */
    assert_int_equal(rtm_zmtp_greeting_parse(g, 64, &mech, &server), RTM_EPROTO);
    s_peer_greeting(g, 3, 0, "NULL", 0);
    g[0] = 'G'; /* an HTTP request on a tier port */
    assert_int_equal(rtm_zmtp_greeting_parse(g, 1, &mech, &server), RTM_EPROTO);
    s_peer_greeting(g, 3, 0, "NULL", 0);
    g[9] = 0x00; /* ZMTP 1.0 without a revision */
    assert_int_equal(rtm_zmtp_greeting_parse(g, 10, &mech, &server), RTM_EPROTO);
}

/* Encodes a frame of n pattern bytes, checks the header form, and parses it
 * back whole and at every split. */
static void s_frame_round_trip(size_t n, bool more, bool command, size_t want_header)
{
    uint8_t *buf = malloc(9 + n);
    assert_non_null(buf);
    size_t h = rtm_zmtp_frame_header(buf, n, more, command);
    assert_int_equal(h, want_header);
    for (size_t i = 0; i < n; i++)
        buf[h + i] = (uint8_t)(i * 7);
    size_t total = h + n;
    for (size_t cut = 0; cut < total; cut += (total > 600 ? 97 : 1)) {
        uint8_t *p = exact_copy(buf, cut);
        rtm_zmtp_frame_t f;
        assert_int_equal(rtm_zmtp_frame_parse(p, cut, 1 << 20, &f), RTM_EAGAIN);
        free(p);
    }
    uint8_t *p = exact_copy(buf, total);
    rtm_zmtp_frame_t f;
    assert_int_equal(rtm_zmtp_frame_parse(p, total, 1 << 20, &f), (long)total);
    assert_int_equal(f.len, n);
    assert_int_equal(f.more, more);
    assert_int_equal(f.command, command);
    assert_ptr_equal(f.body, p + h);
    if (n)
        assert_memory_equal(f.body, buf + h, n);
    free(p);
    free(buf);
}

static void test_frames(void **state)
{
    (void)state;
    s_frame_round_trip(0, false, false, 2);
    s_frame_round_trip(1, true, false, 2);
    s_frame_round_trip(255, false, true, 2);
    s_frame_round_trip(256, false, false, 9); /* the first long size */
    s_frame_round_trip(70000, true, false, 9);
}

static void test_frame_bytes(void **state)
{
    (void)state;
    uint8_t h[9];
    assert_int_equal(rtm_zmtp_frame_header(h, 5, true, false), 2);
    assert_int_equal(h[0], 0x01);
    assert_int_equal(h[1], 5);
    assert_int_equal(rtm_zmtp_frame_header(h, 0x10203, false, true), 9);
    const uint8_t want[9] = {0x06, 0, 0, 0, 0, 0, 0x01, 0x02, 0x03};
    assert_memory_equal(h, want, 9);
}

static void test_frame_refused(void **state)
{
    (void)state;
    rtm_zmtp_frame_t f;
    uint8_t reserved[] = {0x08, 0x00};
    assert_int_equal(rtm_zmtp_frame_parse(reserved, 2, 100, &f), RTM_EPROTO);
    uint8_t command_more[] = {0x05, 0x00};
    assert_int_equal(rtm_zmtp_frame_parse(command_more, 2, 100, &f), RTM_EPROTO);
    uint8_t big[] = {0x00, 101};
    assert_int_equal(rtm_zmtp_frame_parse(big, 2, 100, &f), RTM_ETOOBIG);
    uint8_t exact[2 + 100] = {0x00, 100};
    assert_int_equal(rtm_zmtp_frame_parse(exact, sizeof exact, 100, &f), 102);
    /* a 64-bit size with its top bit set is malformed, whatever the limit */
    uint8_t huge[9] = {0x02, 0x80, 0, 0, 0, 0, 0, 0, 0x01};
    assert_int_equal(rtm_zmtp_frame_parse(huge, 9, SIZE_MAX, &f), RTM_EPROTO);
}

static void test_commands(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n = rtm_zmtp_command(out, sizeof out, "PING", "\x00\x1e", 2);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "\x04PING\x00\x1e", 7);
    rtm_str_t name, data;
    assert_int_equal(rtm_zmtp_command_parse(rtm_str((char *)out, n), &name, &data), 0);
    assert_true(rtm_str_eq_cstr(name, "PING"));
    assert_int_equal(data.len, 2);
    assert_int_equal(rtm_zmtp_command(out, 6, "PING", "\x00\x1e", 2), 0); /* no room */
    assert_int_equal(rtm_zmtp_command_parse(rtm_str("\x05PIN", 4), &name, &data), RTM_EPROTO);
    assert_int_equal(rtm_zmtp_command_parse(rtm_str("", 0), &name, &data), RTM_EPROTO);
    assert_int_equal(rtm_zmtp_command_parse(rtm_str("\x00", 1), &name, &data), RTM_EPROTO);
}

static void test_props(void **state)
{
    (void)state;
    uint8_t block[64];
    size_t used = 0;
    assert_int_equal(rtm_zmtp_prop(block, sizeof block, &used, "Socket-Type", "SUB", 3), 0);
    assert_int_equal(rtm_zmtp_prop(block, sizeof block, &used, "Identity", "", 0), 0);
    assert_int_equal(used, 1 + 11 + 4 + 3 + 1 + 8 + 4);
    assert_memory_equal(block, "\x0bSocket-Type\x00\x00\x00\x03SUB", 19);
    rtm_str_t v;
    rtm_str_t props = rtm_str((char *)block, used);
    assert_int_equal(rtm_zmtp_prop_find(props, "socket-type", &v), 0);
    assert_true(rtm_str_eq_cstr(v, "SUB"));
    assert_int_equal(rtm_zmtp_prop_find(props, "Identity", &v), 0);
    assert_int_equal(v.len, 0);
    assert_int_equal(rtm_zmtp_prop_find(props, "User-Id", &v), RTM_ENOTFOUND);
    for (size_t cut = 1; cut < used; cut++) /* a cut block is malformed, wherever */
        if (cut != 19)
            assert_int_equal(rtm_zmtp_prop_find(rtm_str((char *)block, cut), "Identity", &v),
                             RTM_EPROTO);
    size_t full = 60;
    assert_int_equal(rtm_zmtp_prop(block, sizeof block, &full, "Identity", "abc", 3), RTM_ETOOBIG);
    assert_int_equal(full, 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting_ours),    cmocka_unit_test(test_greeting_peer_split),
        cmocka_unit_test(test_greeting_refused), cmocka_unit_test(test_frames),
        cmocka_unit_test(test_frame_bytes),      cmocka_unit_test(test_frame_refused),
        cmocka_unit_test(test_commands),         cmocka_unit_test(test_props),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
