/* Tests for librtmesh's pure half (client/route.c): the liveness rule a
 * service shares with the nodes, owners over the live brokers, the mapping of
 * broker answers to RTMESH_E* codes, and the checks before sending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "route.h"
#include "rtm_error.h"
#include "rtm_rendezvous.h"
#include "rtm_wire.h"

#include <stdio.h>
#include <string.h>

static rtm_str_t S(const char *s)
{
    return rtm_str_cstr(s);
}

/* A link heard on its egress and answering on its ingress at t. */
static void s_up(rtm_client_link_t *l, uint64_t epoch, uint64_t t)
{
    rtm_client_link_heard(l, epoch, false, false, t);
    l->last_reply_ms = t;
}

static void test_live_needs_both_paths(void **state)
{
    (void)state;
    rtm_client_link_t l = {0};
    assert_false(rtm_client_link_live(&l, 1000));
    rtm_client_link_heard(&l, 7, false, false, 1000);
    assert_false(rtm_client_link_live(&l, 1000)); /* egress heard, ingress not answering */
    l.last_reply_ms = 1000;
    assert_true(rtm_client_link_live(&l, 1000)); /* first hearing at start: no join wait */
    assert_true(rtm_client_link_live(&l, 1000 + RTM_WIRE_DEAD_MS - 1));
    assert_false(rtm_client_link_live(&l, 1000 + RTM_WIRE_DEAD_MS)); /* silent: dead */
}

static void test_leaving_owns_nothing(void **state)
{
    (void)state;
    rtm_client_link_t l = {0};
    s_up(&l, 7, 1000);
    rtm_client_link_heard(&l, 7, true, false, 1100); /* SIGTERM: "I own nothing" */
    assert_false(rtm_client_link_live(&l, 1100));
}

static void test_back_joins(void **state)
{
    (void)state;
    rtm_client_link_t l = {0};
    s_up(&l, 7, 1000);
    s_up(&l, 8, 1200); /* a restart: new epoch */
    assert_false(rtm_client_link_live(&l, 1200));
    assert_false(rtm_client_link_live(&l, 1200 + RTM_WIRE_JOIN_MS - 1));
    l.last_reply_ms = l.last_hb_ms = 1200 + RTM_WIRE_JOIN_MS;
    assert_true(rtm_client_link_live(&l, 1200 + RTM_WIRE_JOIN_MS));

    rtm_client_link_t added = {.joining = true}; /* listed at run time */
    s_up(&added, 3, 5000);
    assert_false(rtm_client_link_live(&added, 5000));
    added.last_reply_ms = added.last_hb_ms = 5000 + RTM_WIRE_JOIN_MS;
    assert_true(rtm_client_link_live(&added, 5000 + RTM_WIRE_JOIN_MS));
}

/* Soak failure 7: a handle that starts while a broker is back from a cut (or
 * a restart) hears it for the first time, but the nodes route its channels
 * elsewhere for RTM_WIRE_JOIN_MS: its heartbeat says it is joining, and the
 * handle waits as the nodes do. A heartbeat that starts saying so later
 * starts the wait then; one that stops saying so does not end it. */
static void test_says_joining(void **state)
{
    (void)state;
    rtm_client_link_t l = {0};
    for (uint64_t t = 1000; t < 1000 + RTM_WIRE_JOIN_MS; t += RTM_WIRE_HB_MS) {
        rtm_client_link_heard(&l, 7, false, t < 2000, t); /* says so for a second */
        l.last_reply_ms = t;
        assert_false(rtm_client_link_live(&l, t));
    }
    s_up(&l, 7, 1000 + RTM_WIRE_JOIN_MS);
    assert_true(rtm_client_link_live(&l, 1000 + RTM_WIRE_JOIN_MS));

    rtm_client_link_t later = {0};
    s_up(&later, 7, 1000);
    assert_true(rtm_client_link_live(&later, 1000));
    rtm_client_link_heard(&later, 7, false, true, 1500);
    later.last_reply_ms = 1500;
    assert_false(rtm_client_link_live(&later, 1500));
    for (uint64_t t = 2000; t < 1500 + RTM_WIRE_JOIN_MS; t += RTM_WIRE_HB_MS)
        s_up(&later, 7, t);
    assert_false(rtm_client_link_live(&later, 1500 + RTM_WIRE_JOIN_MS - 1));
    s_up(&later, 7, 1500 + RTM_WIRE_JOIN_MS);
    assert_true(rtm_client_link_live(&later, 1500 + RTM_WIRE_JOIN_MS));
}

/* The owner is the rendezvous choice among the live links, as nodes compute it. */
static void test_owner_over_live(void **state)
{
    (void)state;
    const char *ids[3] = {"tcp://a:1", "tcp://b:1", "tcp://c:1"};
    uint64_t seeds[3];
    rtm_client_link_t links[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        seeds[i] = rtm_rendezvous_seed(S(ids[i]));
        s_up(&links[i], 1, 100);
    }
    bool alive[3];
    assert_int_equal(rtm_client_owner(S("app"), S("x"), links, seeds, alive, 3, 50), -1);
    int moved = 0;
    for (int c = 0; c < 200; c++) {
        char ch[16];
        snprintf(ch, sizeof ch, "chat-%d", c);
        int all = rtm_client_owner(S("app"), S(ch), links, seeds, alive, 3, 100);
        assert_int_equal(all, rtm_rendezvous_owner(S("app"), S(ch), seeds, NULL, 3));
        links[1].last_reply_ms = 0; /* b stops answering: only its share moves */
        int without = rtm_client_owner(S("app"), S(ch), links, seeds, alive, 3, 100);
        assert_int_not_equal(without, 1);
        if (all != 1)
            assert_int_equal(without, all);
        moved += all == 1;
        links[1].last_reply_ms = 100;
    }
    assert_true(moved > 0);
}

static void test_error_mapping(void **state)
{
    (void)state;
    static const struct {
        int status, code;
        bool retry;
    } v[] = {
        {0, RTMESH_OK, false},
        {RTM_ENOTFOUND, RTMESH_ENOAPP, false},
        {RTM_EINVAL, RTMESH_EINVAL, false},
        {RTM_ETOOBIG, RTMESH_ETOOBIG, false},
        {RTM_EAUTH, RTMESH_EAUTH, false},
        {RTM_ENOTOWNER, RTMESH_ENOOWNER, true},
        {RTM_EUNAVAIL, RTMESH_ENOOWNER, true},
        {RTM_ETIMEDOUT, RTMESH_ETIMEDOUT, false},
        {RTM_EPROTO, RTMESH_EPROTO, false},
        {RTM_EVERSION, RTMESH_EPROTO, false},
        {-12345, RTMESH_EPROTO, false},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(rtm_client_error(v[i].status), v[i].code);
        assert_int_equal(rtm_client_retryable(v[i].status), v[i].retry);
    }
    for (int c = RTMESH_EPROTO; c <= 0; c++) /* every code has a name */
        assert_string_not_equal(rtmesh_strerror(c), "unknown error");
}

static void test_check_event(void **state)
{
    (void)state;
    char why[256];
    const char *one[] = {"chat"};
    rtmesh_event_t ev = {
        .channels = one, .n_channels = 1, .name = "e", .data = "{}", .data_len = 2};
    assert_int_equal(rtm_client_check_event(&ev, -1, why, sizeof why), 0);
    ev.data = NULL;
    assert_int_equal(rtm_client_check_event(&ev, -1, why, sizeof why), RTMESH_EINVAL);
    ev.data_len = 0;
    assert_int_equal(rtm_client_check_event(&ev, -1, why, sizeof why), 0);
    ev.socket_id = "12";
    assert_int_equal(rtm_client_check_event(&ev, 3, why, sizeof why), RTMESH_EINVAL);
    assert_string_equal(why, "batch[3].socket_id: must match ^\\d+\\.\\d+$");
    ev.socket_id = NULL;
    const char *bad[] = {"ok", "no spaces"};
    ev.channels = bad;
    ev.n_channels = 2;
    assert_int_equal(rtm_client_check_event(&ev, -1, why, sizeof why), RTMESH_EINVAL);
    const char *many[RTMESH_MAX_CHANNELS + 1];
    for (size_t i = 0; i < RTMESH_MAX_CHANNELS + 1; i++)
        many[i] = "c";
    ev.channels = many;
    ev.n_channels = RTMESH_MAX_CHANNELS + 1;
    assert_int_equal(rtm_client_check_event(&ev, -1, why, sizeof why), RTMESH_ETOOBIG);
    ev.n_channels = 1;
    char big[20000];
    memset(big, 'x', sizeof big); /* the payload limit is the app's: the brokers judge it */
    ev.data = big;
    ev.data_len = sizeof big;
    assert_int_equal(rtm_client_check_event(&ev, -1, why, sizeof why), 0);
    assert_int_equal(rtm_client_check_event(NULL, -1, why, sizeof why), RTMESH_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_needs_both_paths),
        cmocka_unit_test(test_leaving_owns_nothing),
        cmocka_unit_test(test_back_joins),
        cmocka_unit_test(test_says_joining),
        cmocka_unit_test(test_owner_over_live),
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_check_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
