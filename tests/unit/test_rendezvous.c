/* Tests for rtm_rendezvous: which shard owns a channel.
 *
 * The owners and weights below were computed once and pinned: every node and
 * broker must compute the same map, across machines and versions, so any
 * change to the hash (function, seed, key layout) must fail here. */
#include "rtm_rendezvous.h"

#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static const struct {
    const char *app, *channel;
    int owner2, owner4; /* owner over 2 and 4 live shards */
} s_pinned[] = {
    {"app-1", "chat-1", 1, 3},        {"app-1", "chat-10", 1, 1},
    {"app-1", "presence-room", 1, 3}, {"12345", "private-orders", 0, 0},
    {"my_app", "my-channel", 0, 2},   {"app-2", "chat-1", 0, 0},
};

static void test_pinned_owners(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_pinned / sizeof s_pinned[0]; i++) {
        rtm_str_t app = rtm_str_cstr(s_pinned[i].app);
        rtm_str_t ch = rtm_str_cstr(s_pinned[i].channel);
        assert_int_equal(rtm_rendezvous_owner(app, ch, NULL, 2), s_pinned[i].owner2);
        assert_int_equal(rtm_rendezvous_owner(app, ch, NULL, 4), s_pinned[i].owner4);
        bool all[4] = {true, true, true, true};
        assert_int_equal(rtm_rendezvous_owner(app, ch, all, 4), s_pinned[i].owner4);
    }
}

static void test_pinned_weights(void **state)
{
    (void)state;
    assert_int_equal(rtm_rendezvous_weight(rtm_str_cstr("app-1"), rtm_str_cstr("chat-1"), 0),
                     0x19715bd1ee72ff06ULL);
    assert_int_equal(rtm_rendezvous_weight(rtm_str_cstr("my_app"), rtm_str_cstr("my-channel"), 0),
                     0xf7970200e3e111ceULL);
    /* The separator is part of the key: "ab"+"c" and "a"+"bc" differ. */
    assert_int_not_equal(rtm_rendezvous_weight(rtm_str_cstr("ab"), rtm_str_cstr("c"), 0),
                         rtm_rendezvous_weight(rtm_str_cstr("a"), rtm_str_cstr("bc"), 0));
}

static void test_even_spread(void **state)
{
    (void)state;
    enum { N = 10000, SHARDS = 4 };
    int count[SHARDS] = {0};
    for (int i = 0; i < N; i++) {
        char ch[32];
        int n = snprintf(ch, sizeof ch, "channel-%d", i);
        int o = rtm_rendezvous_owner(rtm_str_cstr("app-1"), rtm_str(ch, (size_t)n), NULL, SHARDS);
        assert_true(o >= 0 && o < SHARDS);
        count[o]++;
    }
    for (int s = 0; s < SHARDS; s++) {
        assert_true(count[s] >= N / SHARDS * 85 / 100);
        assert_true(count[s] <= N / SHARDS * 115 / 100);
    }
}

/* Losing shard 2 moves exactly the channels it owned; the rest stay put. */
static void test_removal_moves_only_that_shard(void **state)
{
    (void)state;
    enum { N = 10000, SHARDS = 4, GONE = 2 };
    bool alive[SHARDS] = {true, true, false, true};
    int moved = 0;
    for (int i = 0; i < N; i++) {
        char ch[32];
        rtm_str_t c = rtm_str(ch, (size_t)snprintf(ch, sizeof ch, "room.%d", i));
        rtm_str_t app = rtm_str_cstr("42");
        int before = rtm_rendezvous_owner(app, c, NULL, SHARDS);
        int after = rtm_rendezvous_owner(app, c, alive, SHARDS);
        assert_int_not_equal(after, GONE);
        if (before != GONE)
            assert_int_equal(after, before);
        else
            moved++;
    }
    assert_true(moved > 0);
}

static void test_no_live_shard(void **state)
{
    (void)state;
    bool none[3] = {false, false, false};
    rtm_str_t app = rtm_str_cstr("app-1"), ch = rtm_str_cstr("chat-1");
    assert_int_equal(rtm_rendezvous_owner(app, ch, none, 3), -1);
    assert_int_equal(rtm_rendezvous_owner(app, ch, NULL, 0), -1);
    bool one[3] = {false, true, false};
    assert_int_equal(rtm_rendezvous_owner(app, ch, one, 3), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_owners), cmocka_unit_test(test_pinned_weights),
        cmocka_unit_test(test_even_spread),   cmocka_unit_test(test_removal_moves_only_that_shard),
        cmocka_unit_test(test_no_live_shard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
