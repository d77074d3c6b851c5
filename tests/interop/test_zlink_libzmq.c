/* rtm_zlink against libzmq itself: the node's loop-driven DEALER and SUB must
 * work with any libzmq ROUTER and XPUB, plain and CURVE, as the libzmq
 * sockets they replaced did. libzmq runs its own threads, so one test thread
 * pumps the libuv loop and polls the libzmq sockets in turns until what is
 * awaited happens; the deadline only bounds a broken run, no assertion
 * depends on it. */
#include "rtm_str.h"
#include "rtm_zlink.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>
#include <zmq.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define S_DEADLINE_MS 10000
#define S_MAX_FRAME   65536

typedef struct {
    bool ready;
    int messages;
    char last[256]; /* the last message's frames joined with '|' */
} s_seen_t;

static void s_on_message(void *arg, rtm_zlink_t *link, const rtm_str_t *frames, size_t n)
{
    (void)link;
    s_seen_t *seen = arg;
    seen->messages++;
    seen->last[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(seen->last + strlen(seen->last), sizeof seen->last - strlen(seen->last), "%s%.*s",
                 i ? "|" : "", (int)frames[i].len, frames[i].p);
}

static void s_on_state(void *arg, rtm_zlink_t *link, bool ready, int why)
{
    (void)link;
    (void)why;
    ((s_seen_t *)arg)->ready = ready;
}

typedef struct {
    void *zctx;
    uv_loop_t loop;
    s_seen_t seen;
    rtm_zlink_events_t ev;
    rtm_zlink_t *link; /* closed by the teardown, also after a failed assertion */
} s_fixture_t;

static int s_setup(void **state)
{
    static s_fixture_t f;
    memset(&f, 0, sizeof f);
    f.zctx = zmq_ctx_new();
    uv_loop_init(&f.loop);
    f.ev = (rtm_zlink_events_t){.arg = &f.seen, .message = s_on_message, .state = s_on_state};
    *state = &f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *f = *state;
    rtm_zlink_close(&f->link);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* closed links free their handles */
    assert_int_equal(uv_loop_close(&f->loop), 0);
    zmq_ctx_term(f->zctx);
    return 0;
}

/* Binds a libzmq socket of type on an ephemeral loopback port; writes its endpoint. */
static void *s_bind(s_fixture_t *f, int type, char *endpoint, size_t cap)
{
    void *s = zmq_socket(f->zctx, type);
    assert_non_null(s);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(s, "tcp://127.0.0.1:*"), 0);
    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &cap);
    return s;
}

/* Turns the loop and polls sock until done(f) or the deadline; returns done(f). When sock has
 * a message, its frames are joined with '|' into got (if given) before done is asked again. */
static bool s_pump(s_fixture_t *f, void *sock, char *got, size_t cap, bool (*done)(s_fixture_t *))
{
    uint64_t end = uv_hrtime() / 1000000 + S_DEADLINE_MS;
    while (!done(f) && uv_hrtime() / 1000000 < end) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 5) == 1 && got) {
            got[0] = '\0';
            int more = 1;
            for (int i = 0; more; i++) {
                char frame[128];
                int n = zmq_recv(sock, frame, sizeof frame - 1, 0);
                assert_true(n >= 0);
                size_t off = strlen(got);
                snprintf(got + off, cap - off, "%s%.*s", i ? "|" : "", n, frame);
                size_t len = sizeof more;
                zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len);
            }
        }
    }
    return done(f);
}

static bool s_ready(s_fixture_t *f)
{
    return f->seen.ready;
}
static bool s_got_message(s_fixture_t *f)
{
    return f->seen.messages > 0;
}

static char s_got[256];
static bool s_router_got(s_fixture_t *f)
{
    (void)f;
    return s_got[0] != '\0';
}

/* DEALER → ROUTER with the identity we announce, and the reply back. */
static void s_dealer_round_trip(s_fixture_t *f, void *router, const char *endpoint,
                                const rtm_zlink_opts_t *o)
{
    f->link = rtm_zlink_new(&f->loop, endpoint, o, &f->ev);
    assert_true(s_pump(f, router, NULL, 0, s_ready));
    rtm_str_t frames[] = {rtm_str_cstr("publish"), rtm_str_cstr("body")};
    assert_int_equal(rtm_zlink_send(f->link, frames, 2), 0);
    s_got[0] = '\0';
    assert_true(s_pump(f, router, s_got, sizeof s_got, s_router_got));
    assert_string_equal(s_got, "node-7|publish|body");

    zmq_send(router, "node-7", 6, ZMQ_SNDMORE);
    zmq_send(router, "ack", 3, 0);
    assert_true(s_pump(f, router, NULL, 0, s_got_message));
    assert_string_equal(f->seen.last, "ack");
}

static void test_dealer_with_libzmq_router(void **state)
{
    s_fixture_t *f = *state;
    char endpoint[64];
    void *router = s_bind(f, ZMQ_ROUTER, endpoint, sizeof endpoint);
    rtm_zlink_opts_t o = {.socket_type = "DEALER",
                          .identity = "node-7",
                          .max_frame = S_MAX_FRAME,
                          .max_out = 1 << 20};
    s_dealer_round_trip(f, router, endpoint, &o);
    zmq_close(router);
}

/* What libzmq's CURVE server is given and what our client is given. */
typedef struct {
    uint8_t server_pub[32], server_sec[32], client_pub[32], client_sec[32];
} s_keys_t;

static void s_make_keys(s_keys_t *k)
{
    crypto_box_keypair(k->server_pub, k->server_sec);
    crypto_box_keypair(k->client_pub, k->client_sec);
}

/* Our DEALER as a CURVE client with k's client pair, trusting server_key. */
static rtm_zlink_opts_t s_curve_dealer(const s_keys_t *k, const uint8_t *server_key)
{
    return (rtm_zlink_opts_t){.socket_type = "DEALER",
                              .identity = "node-7",
                              .server_key = server_key,
                              .public_key = k->client_pub,
                              .secret_key = k->client_sec,
                              .max_frame = S_MAX_FRAME,
                              .max_out = 1 << 20};
}

static void *s_curve_router(s_fixture_t *f, const s_keys_t *k, char *endpoint, size_t cap)
{
    void *router = zmq_socket(f->zctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, k->server_sec, 32);
    assert_int_equal(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &cap);
    return router;
}

static void test_dealer_with_libzmq_curve_router(void **state)
{
    s_fixture_t *f = *state;
    s_keys_t k;
    s_make_keys(&k);
    char endpoint[64];
    void *router = s_curve_router(f, &k, endpoint, sizeof endpoint);
    rtm_zlink_opts_t o = s_curve_dealer(&k, k.server_pub);
    s_dealer_round_trip(f, router, endpoint, &o);
    zmq_close(router);
}

/* A client that trusts another server key is refused by libzmq's CURVE server (its monitor
 * says so) and never becomes ready. */
static void *s_monitor;
static bool s_failed; /* latched: the events are read once */
static bool s_handshake_failed(s_fixture_t *f)
{
    (void)f;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, s_monitor, ZMQ_DONTWAIT) >= 0) {
        uint16_t event;
        memcpy(&event, zmq_msg_data(&m), sizeof event);
        s_failed |=
            (event & (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                      ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) != 0;
        int more = 1;
        size_t len = sizeof more;
        while (zmq_getsockopt(s_monitor, ZMQ_RCVMORE, &more, &len) == 0 && more)
            zmq_msg_recv(&m, s_monitor, 0);
    }
    zmq_msg_close(&m);
    return s_failed;
}

static void test_wrong_server_key_is_refused(void **state)
{
    s_fixture_t *f = *state;
    s_keys_t k, other;
    s_make_keys(&k);
    s_make_keys(&other);
    char endpoint[64];
    void *router = s_curve_router(f, &k, endpoint, sizeof endpoint);
    assert_int_equal(zmq_socket_monitor(router, "inproc://zlink-monitor",
                                        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL),
                     0);
    s_monitor = zmq_socket(f->zctx, ZMQ_PAIR);
    assert_int_equal(zmq_connect(s_monitor, "inproc://zlink-monitor"), 0);

    rtm_zlink_opts_t o = s_curve_dealer(&k, other.server_pub);
    f->link = rtm_zlink_new(&f->loop, endpoint, &o, &f->ev);
    assert_true(s_pump(f, router, NULL, 0, s_handshake_failed));
    assert_false(f->seen.ready);
    rtm_str_t frame = rtm_str_cstr("x");
    assert_int_not_equal(rtm_zlink_send(f->link, &frame, 1), 0);
    zmq_close(s_monitor);
    zmq_close(router);
}

/* SUB → XPUB: the subscription arrives as libzmq's XPUB reports it, and only matching
 * messages are delivered. */
static void test_sub_with_libzmq_xpub(void **state)
{
    s_fixture_t *f = *state;
    char endpoint[64];
    void *xpub = s_bind(f, ZMQ_XPUB, endpoint, sizeof endpoint);
    rtm_zlink_opts_t o = {.socket_type = "SUB", .max_frame = S_MAX_FRAME, .max_out = 1 << 20};
    f->link = rtm_zlink_new(&f->loop, endpoint, &o, &f->ev);
    assert_true(s_pump(f, xpub, NULL, 0, s_ready));

    rtm_str_t subscribe = rtm_str_cstr("\x01"
                                       "chan-a");
    assert_int_equal(rtm_zlink_send(f->link, &subscribe, 1), 0);
    s_got[0] = '\0';
    assert_true(s_pump(f, xpub, s_got, sizeof s_got, s_router_got));
    assert_string_equal(s_got, "\x01"
                               "chan-a");

    zmq_send(xpub, "chan-b", 6, ZMQ_SNDMORE); /* filtered out by the XPUB */
    zmq_send(xpub, "not for us", 10, 0);
    zmq_send(xpub, "chan-a", 6, ZMQ_SNDMORE);
    zmq_send(xpub, "event", 5, 0);
    assert_true(s_pump(f, xpub, NULL, 0, s_got_message));
    assert_int_equal(f->seen.messages, 1);
    assert_string_equal(f->seen.last, "chan-a|event");
    zmq_close(xpub);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dealer_with_libzmq_router, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dealer_with_libzmq_curve_router, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_server_key_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sub_with_libzmq_xpub, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
