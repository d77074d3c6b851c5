/* Unit tests of broker/shard_view.c: liveness from heartbeats, owners and
 * successors by rendezvous over the live shards, and the count of webhook
 * events that died with a peer (counted by the lowest live shard only). */
#include "shard_view.h"

#include "rtm_rendezvous.h"
#include "rtm_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#define S(lit) rtm_str(lit, sizeof(lit) - 1)

static void test_successor(void **state)
{
    (void)state;
    rtm_shard_view_t *v = rtm_shard_view_new(1, 3);
    /* Alone: it owns everything and nobody succeeds it. */
    assert_int_equal(rtm_shard_view_owner(v, S("app"), S("c"), 1000), 1);
    assert_int_equal(rtm_shard_view_successor(v, S("app"), S("c"), 1000), -1);
    assert_int_equal(rtm_shard_view_heartbeat(v, 0, 7, 0, 1000), 0);
    assert_int_equal(rtm_shard_view_heartbeat(v, 2, 8, 0, 1000), 0);
    /* All live: owner and successor are the first two by weight, whoever this is. */
    char name[32];
    for (int i = 0; i < 50; i++) {
        rtm_str_t ch = rtm_str(name, (size_t)snprintf(name, sizeof name, "ch-%d", i));
        int owner = rtm_rendezvous_owner(S("app"), ch, NULL, 3);
        assert_int_equal(rtm_shard_view_owner(v, S("app"), ch, 1001), owner);
        bool others[3] = {true, false, true};
        int next = rtm_shard_view_successor(v, S("app"), ch, 1001);
        assert_int_equal(next, rtm_rendezvous_owner(S("app"), ch, others, 3));
        assert_int_not_equal(next, 1);
    }
    /* Asking for a successor leaves this shard live. */
    assert_true(rtm_shard_view_is_live(v, 1));
    assert_int_equal(rtm_shard_view_live(v), 3);
    assert_false(rtm_shard_view_is_live(v, 3));
    rtm_shard_view_destroy(&v);
    assert_null(v);
}

static void test_webhooks_lost(void **state)
{
    (void)state;
    /* Shard 1 of 3: it counts a loss only while no lower shard is live. */
    rtm_shard_view_t *v = rtm_shard_view_new(1, 3);
    rtm_shard_view_heartbeat(v, 0, 1, 5, 1000);
    rtm_shard_view_heartbeat(v, 2, 1, 40, 1000);
    rtm_shard_view_refresh(v, 1000);
    assert_int_equal(rtm_shard_view_live(v), 3);
    /* Shard 2 dies while shard 0 lives: shard 0 counts it, not this one. */
    rtm_shard_view_heartbeat(v, 0, 1, 5, 2000);
    rtm_shard_view_refresh(v, 1000 + RTM_WIRE_DEAD_MS);
    assert_false(rtm_shard_view_is_live(v, 2));
    assert_int_equal(rtm_shard_view_webhooks_lost(v), 0);
    /* Shard 0 dies holding 5: this is the lowest live one now. */
    rtm_shard_view_refresh(v, 2000 + RTM_WIRE_DEAD_MS);
    assert_int_equal(rtm_shard_view_live(v), 1);
    assert_int_equal(rtm_shard_view_webhooks_lost(v), 5);
    /* It comes back with another number, and dies with it: the last heartbeat counts. */
    rtm_shard_view_heartbeat(v, 0, 2, 0, 10000);
    rtm_shard_view_heartbeat(v, 0, 2, 3, 10400);
    rtm_shard_view_refresh(v, 10400 + RTM_WIRE_DEAD_MS);
    assert_int_equal(rtm_shard_view_webhooks_lost(v), 8);
    rtm_shard_view_destroy(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_successor),
        cmocka_unit_test(test_webhooks_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
