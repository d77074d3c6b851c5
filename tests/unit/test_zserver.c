/* Tests for rtm_zserver, driven as the broker's loop drives it, with a libzmq
 * DEALER as the real peer on 127.0.0.1. Every wait is on an event (a poll
 * result, a received message), with a generous ceiling so nothing can hang. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "zserver.h"

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <zmq.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define S_GUARD_MS 5000 /* ceiling on any wait: a hang guard, not a timing */

typedef struct {
    rtm_zpeer_t *peer; /* the ready peer, NULL once gone */
    int gone;
} s_events_t;

static void s_on_ready(void *arg, rtm_zpeer_t *peer, rtm_str_t meta)
{
    (void)meta;
    ((s_events_t *)arg)->peer = peer;
}

static void s_on_message(void *arg, rtm_zpeer_t *peer, const rtm_str_t *frames, size_t n)
{
    (void)arg, (void)peer, (void)frames, (void)n;
}

static void s_on_gone(void *arg, rtm_zpeer_t *peer)
{
    s_events_t *e = arg;
    assert_ptr_equal(peer, e->peer);
    e->peer = NULL;
    e->gone++;
}

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One turn of the broker's loop: poll, service, flush. */
static void s_turn(rtm_zserver_t *s)
{
    zmq_pollitem_t items[4];
    size_t n = rtm_zserver_pollitems(s, items, 4);
    assert_true(zmq_poll(items, (int)n, 100) >= 0);
    rtm_zserver_service(s, items, n, s_now_ms());
    rtm_zserver_flush(s);
}

/* The descriptor of item i (0: the listening socket, 1: the first peer). */
static int s_fd(const rtm_zserver_t *s, size_t i)
{
    zmq_pollitem_t items[4];
    assert_true(rtm_zserver_pollitems(s, items, 4) > i);
    return items[i].fd;
}

/* Waits until fd reports one of events (POLLERR and POLLHUP always count). */
static void s_wait_fd(int fd, short events)
{
    struct pollfd p = {fd, events, 0};
    assert_int_equal(poll(&p, 1, S_GUARD_MS), 1);
}

static void s_send(rtm_zpeer_t *peer, const char *text)
{
    rtm_str_t frame = rtm_str(text, strlen(text));
    assert_int_equal(rtm_zpeer_send(peer, &frame, 1), 0);
}

/* A node that closed its connection while the broker still had something for it (soak seed
 * 2984453756): the first write after its FIN goes out and its kernel answers with RST; the
 * next write fails with EPIPE, which must close that peer, not raise SIGPIPE and end the
 * broker. */
static void test_write_to_closed_peer(void **state)
{
    (void)state;
    /* As the broker: SIGPIPE kills, whatever disposition the test runner passed down. */
    signal(SIGPIPE, SIG_DFL);
    static const char *const peer_types[] = {"DEALER", NULL};
    rtm_zserver_config_t cfg = {.name = "test",
                                .socket_type = "ROUTER",
                                .peer_types = peer_types,
                                .max_frame = 1024,
                                .max_out = 1 << 20};
    s_events_t e = {0};
    rtm_zserver_events_t ev = {&e, s_on_ready, s_on_message, s_on_gone};
    rtm_zserver_t *s = rtm_zserver_new("127.0.0.1", 0, &cfg, &ev);
    assert_non_null(s);
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    assert_int_equal(getsockname(s_fd(s, 0), (struct sockaddr *)&addr, &len), 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", ntohs(addr.sin_port));

    void *ctx = zmq_ctx_new();
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, guard = S_GUARD_MS;
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &guard, sizeof guard);
    assert_int_equal(zmq_connect(dealer, endpoint), 0);
    for (uint64_t until = s_now_ms() + S_GUARD_MS; !e.peer && s_now_ms() < until;)
        s_turn(s);
    assert_non_null(e.peer);
    /* The dealer has read all we sent, so its close is a FIN, not an RST for unread data. */
    s_send(e.peer, "hello");
    rtm_zserver_flush(s);
    char buf[8];
    assert_int_equal(zmq_recv(dealer, buf, sizeof buf, 0), 5);
    zmq_close(dealer);
    zmq_ctx_term(ctx); /* returns once the connection is closed */

    int fd = s_fd(s, 1);
    s_wait_fd(fd, POLLRDHUP); /* the FIN, left unread as in a turn that only writes */
    s_send(e.peer, "one");
    rtm_zserver_flush(s); /* goes out; the closed end answers RST */
    s_wait_fd(fd, 0);     /* the RST */
    assert_int_equal(e.gone, 0);
    s_send(e.peer, "two");
    rtm_zserver_flush(s); /* EPIPE: before MSG_NOSIGNAL, SIGPIPE ended the process here */
    assert_int_equal(e.gone, 1);
    assert_int_equal(rtm_zserver_stats(s)->closed, 1);
    assert_int_equal(rtm_zserver_poll_count(s), 1);
    rtm_zserver_destroy(&s, 0);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_to_closed_peer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
