/* Tests for rtm_zsession: a client session joined to a server session in
 * memory, with the NULL and the CURVE mechanism — handshake, messages of one
 * and several frames both ways, PING answered, every byte stream fed split at
 * every offset — and the refusals: a key not allowed, a wrong server key,
 * the other mechanism, a Socket-Type that does not pair, too many frames. */
#include "rtm_error.h"
#include "rtm_zmtp.h"
#include "rtm_zsession.h"

#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
    int ready;
    rtm_str_t meta_type; /* Socket-Type seen at ready (copied into type) */
    char type[16];
    char identity[32];
    int messages;
    size_t last_n;
    char last[4][64]; /* frames of the last message, NUL-terminated copies */
    bool allow;
    uint8_t seen_key[32];
} s_side_t;

static void s_ready(void *arg, rtm_str_t meta)
{
    s_side_t *s = arg;
    rtm_str_t v;
    s->ready++;
    if (rtm_zmtp_prop_find(meta, "Socket-Type", &v) == 0)
        snprintf(s->type, sizeof s->type, "%.*s", (int)v.len, v.p);
    if (rtm_zmtp_prop_find(meta, "Identity", &v) == 0)
        snprintf(s->identity, sizeof s->identity, "%.*s", (int)v.len, v.p);
}

static void s_message(void *arg, const rtm_str_t *frames, size_t n)
{
    s_side_t *s = arg;
    s->messages++;
    s->last_n = n;
    for (size_t i = 0; i < n && i < 4; i++)
        snprintf(s->last[i], sizeof s->last[i], "%.*s", (int)frames[i].len, frames[i].p);
}

static bool s_authorize(void *arg, const uint8_t key[32])
{
    s_side_t *s = arg;
    memcpy(s->seen_key, key, 32);
    return s->allow;
}

typedef struct {
    rtm_zsession_t cli, srv;
    rtm_zsession_events_t cli_ev, srv_ev;
    s_side_t c, s;
    rtm_zbuf_t to_srv, to_cli; /* bytes in flight each way */
    uint8_t spub[32], ssec[32], cpub[32], csec[32];
} s_pair_t;

static const char *const s_dealer_peers[] = {"ROUTER", NULL};
static const char *const s_router_peers[] = {"DEALER", NULL};

/* Moves every byte in flight, `step` bytes at a time (0: all at once);
 * returns the first error either side reports, or 0. */
static int s_pump(s_pair_t *p, size_t step)
{
    rtm_zbuf_t in_srv = {0}, in_cli = {0};
    int rc = 0;
    while (rc == 0 && (p->to_srv.len || p->to_cli.len)) {
        size_t n = step && p->to_srv.len > step ? step : p->to_srv.len;
        rtm_zbuf_append(&in_srv, p->to_srv.p, n);
        rtm_zbuf_consume(&p->to_srv, n);
        rc = rtm_zsession_feed(&p->srv, &in_srv, &p->to_cli);
        if (rc)
            break;
        n = step && p->to_cli.len > step ? step : p->to_cli.len;
        rtm_zbuf_append(&in_cli, p->to_cli.p, n);
        rtm_zbuf_consume(&p->to_cli, n);
        rc = rtm_zsession_feed(&p->cli, &in_cli, &p->to_srv);
    }
    rtm_zbuf_free(&in_srv);
    rtm_zbuf_free(&in_cli);
    return rc;
}

static void s_start(s_pair_t *p, bool curve, const uint8_t *server_key, bool srv_curve)
{
    memset(p, 0, sizeof *p);
    crypto_box_keypair(p->spub, p->ssec);
    crypto_box_keypair(p->cpub, p->csec);
    p->s.allow = true;
    p->cli_ev = (rtm_zsession_events_t){&p->c, s_ready, s_message, NULL};
    p->srv_ev = (rtm_zsession_events_t){&p->s, s_ready, s_message, s_authorize};
    rtm_zsession_config_t cc = {.socket_type = "DEALER",
                                .peer_types = s_dealer_peers,
                                .identity = "w1",
                                .max_frame = 1 << 20};
    rtm_zsession_config_t sc = {.server = true,
                                .socket_type = "ROUTER",
                                .peer_types = s_router_peers,
                                .max_frame = 1 << 20};
    if (curve) {
        cc.server_key = server_key ? server_key : p->spub;
        cc.public_key = p->cpub;
        cc.secret_key = p->csec;
    }
    if (srv_curve) {
        sc.public_key = p->spub;
        sc.secret_key = p->ssec;
    }
    rtm_zsession_start(&p->cli, &cc, &p->cli_ev, &p->to_srv);
    rtm_zsession_start(&p->srv, &sc, &p->srv_ev, &p->to_cli);
}

static void s_end(s_pair_t *p)
{
    rtm_zsession_end(&p->cli);
    rtm_zsession_end(&p->srv);
    rtm_zbuf_free(&p->to_srv);
    rtm_zbuf_free(&p->to_cli);
}

static void s_talk(s_pair_t *p, size_t step)
{
    assert_int_equal(s_pump(p, step), 0);
    assert_true(rtm_zsession_ready(&p->cli));
    assert_true(rtm_zsession_ready(&p->srv));
    assert_string_equal(p->s.type, "DEALER");
    assert_string_equal(p->s.identity, "w1");
    assert_string_equal(p->c.type, "ROUTER");
    rtm_str_t one = rtm_str("publish", 7);
    rtm_zsession_send(&p->cli, &one, 1, &p->to_srv);
    rtm_str_t three[3] = {rtm_str("topic", 5), rtm_str("", 0), rtm_str("{\"a\":1}", 7)};
    rtm_zsession_send(&p->srv, three, 3, &p->to_cli);
    rtm_zsession_ping(&p->cli, 30, &p->to_srv); /* answered, never reported */
    assert_int_equal(s_pump(p, step), 0);
    assert_int_equal(p->s.messages, 1);
    assert_string_equal(p->s.last[0], "publish");
    assert_int_equal(p->c.messages, 1);
    assert_int_equal(p->c.last_n, 3);
    assert_string_equal(p->c.last[0], "topic");
    assert_string_equal(p->c.last[1], "");
    assert_string_equal(p->c.last[2], "{\"a\":1}");
}

static void test_null(void **state)
{
    (void)state;
    for (size_t step = 0; step <= 70; step += (step < 10 ? 1 : 30)) {
        s_pair_t p;
        s_start(&p, false, NULL, false);
        s_talk(&p, step);
        assert_null(rtm_zsession_peer_key(&p.srv));
        s_end(&p);
    }
}

static void test_curve(void **state)
{
    (void)state;
    for (size_t step = 0; step <= 70; step += (step < 10 ? 1 : 30)) {
        s_pair_t p;
        s_start(&p, true, NULL, true);
        s_talk(&p, step);
        assert_memory_equal(rtm_zsession_peer_key(&p.srv), p.cpub, 32);
        s_end(&p);
    }
}

static void test_curve_key_denied(void **state)
{
    (void)state;
    s_pair_t p;
    s_start(&p, true, NULL, true);
    p.s.allow = false;
    assert_int_equal(s_pump(&p, 0), RTM_EDENIED);
    assert_memory_equal(p.s.seen_key, p.cpub, 32);
    assert_false(rtm_zsession_ready(&p.srv));
    assert_int_equal(p.s.ready, 0);
    /* the ERROR the server wrote ends the client too */
    rtm_zbuf_t in = {0};
    rtm_zbuf_append(&in, p.to_cli.p, p.to_cli.len);
    assert_int_equal(rtm_zsession_feed(&p.cli, &in, &p.to_srv), RTM_EPROTO);
    rtm_zbuf_free(&in);
    s_end(&p);
}

static void test_curve_wrong_server_key(void **state)
{
    (void)state;
    uint8_t other[32], other_sec[32];
    crypto_box_keypair(other, other_sec);
    s_pair_t p;
    s_start(&p, true, other, true);
    int rc = s_pump(&p, 0);
    assert_true(rc == RTM_EAUTH || rc == RTM_EPROTO);
    assert_int_equal(p.s.ready + p.c.ready, 0);
    s_end(&p);
}

static void test_mechanism_mismatch(void **state)
{
    (void)state;
    s_pair_t p;
    s_start(&p, false, NULL, true); /* plain client, CURVE server */
    assert_int_equal(s_pump(&p, 0), RTM_EPROTO);
    s_end(&p);
    s_start(&p, true, NULL, false); /* CURVE client, plain server */
    assert_int_equal(s_pump(&p, 0), RTM_EPROTO);
    s_end(&p);
}

static void test_socket_type_refused(void **state)
{
    (void)state;
    s_pair_t p;
    s_start(&p, false, NULL, false);
    p.cli.cfg.socket_type = "PUB"; /* READY already written as DEALER: restart as PUB */
    rtm_zsession_end(&p.cli);
    p.to_srv.len = 0;
    rtm_zsession_config_t cc = {.socket_type = "PUB", .max_frame = 1 << 20};
    rtm_zsession_start(&p.cli, &cc, &p.cli_ev, &p.to_srv);
    assert_int_equal(s_pump(&p, 0), RTM_EPROTO);
    assert_int_equal(p.s.ready, 0);
    s_end(&p);
}

static void test_too_many_frames(void **state)
{
    (void)state;
    s_pair_t p;
    s_start(&p, false, NULL, false);
    assert_int_equal(s_pump(&p, 0), 0);
    rtm_str_t f[6] = {rtm_str("a", 1), rtm_str("b", 1), rtm_str("c", 1),
                      rtm_str("d", 1), rtm_str("e", 1), rtm_str("f", 1)};
    rtm_zsession_send(&p.cli, f, 6, &p.to_srv);
    rtm_zsession_send(&p.cli, f, 2, &p.to_srv); /* the next message is whole again */
    assert_int_equal(s_pump(&p, 0), 0);
    assert_int_equal(p.s.messages, 2);
    assert_int_equal(p.s.last_n, 2);
    assert_string_equal(p.s.last[1], "b");
    s_end(&p);
}

static void test_frame_too_big(void **state)
{
    (void)state;
    s_pair_t p;
    s_start(&p, false, NULL, false);
    assert_int_equal(s_pump(&p, 0), 0);
    p.srv.cfg.max_frame = 10; /* after the handshake, whose READY is longer */
    rtm_str_t big = rtm_str("0123456789A", 11);
    rtm_zsession_send(&p.cli, &big, 1, &p.to_srv);
    assert_int_equal(s_pump(&p, 0), RTM_ETOOBIG);
    s_end(&p);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null),
        cmocka_unit_test(test_curve),
        cmocka_unit_test(test_curve_key_denied),
        cmocka_unit_test(test_curve_wrong_server_key),
        cmocka_unit_test(test_mechanism_mismatch),
        cmocka_unit_test(test_socket_type_refused),
        cmocka_unit_test(test_too_many_frames),
        cmocka_unit_test(test_frame_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
