/* Tests for rtm_rendezvous: which broker owns a channel.
 *
 * The seeds, owners and weights below were computed once and pinned: every
 * node and broker must compute the same map, across machines and versions, so
 * any change to the hash (function, seed, key layout) must fail here. */
#include "rtm_rendezvous.h"

#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define N_IDS 4
static const char *const s_ids[N_IDS] = {
    "tcp://broker-0.brokers:7000", "tcp://broker-1.brokers:7000", "tcp://broker-2.brokers:7000",
    "tcp://broker-3.brokers:7000"};

static void s_seeds(uint64_t *seeds, const char *const *ids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        seeds[i] = rtm_rendezvous_seed(rtm_str_cstr(ids[i]));
}

static const struct {
    const char *app, *channel;
    int owner2, owner4; /* owner over the first 2 and all 4 identities */
} s_pinned[] = {
    {"app-1", "chat-1", 0, 0},        {"app-1", "chat-10", 0, 0},
    {"app-1", "presence-room", 1, 3}, {"12345", "private-orders", 1, 3},
    {"my_app", "my-channel", 1, 1},   {"app-2", "chat-1", 0, 3},
};

static void test_pinned_owners(void **state)
{
    (void)state;
    uint64_t seeds[N_IDS];
    s_seeds(seeds, s_ids, N_IDS);
    for (size_t i = 0; i < sizeof s_pinned / sizeof s_pinned[0]; i++) {
        rtm_str_t app = rtm_str_cstr(s_pinned[i].app);
        rtm_str_t ch = rtm_str_cstr(s_pinned[i].channel);
        assert_int_equal(rtm_rendezvous_owner(app, ch, seeds, NULL, 2), s_pinned[i].owner2);
        assert_int_equal(rtm_rendezvous_owner(app, ch, seeds, NULL, 4), s_pinned[i].owner4);
        bool all[N_IDS] = {true, true, true, true};
        assert_int_equal(rtm_rendezvous_owner(app, ch, seeds, all, 4), s_pinned[i].owner4);
    }
}

static void test_pinned_weights(void **state)
{
    (void)state;
    uint64_t seed = rtm_rendezvous_seed(rtm_str_cstr(s_ids[0]));
    assert_int_equal(seed, 0xc41d2af3a8225f20ULL);
    assert_int_equal(rtm_rendezvous_weight(rtm_str_cstr("app-1"), rtm_str_cstr("chat-1"), seed),
                     0xadd060c06725d5a9ULL);
    /* The separator is part of the key: "ab"+"c" and "a"+"bc" differ. */
    assert_int_not_equal(rtm_rendezvous_weight(rtm_str_cstr("ab"), rtm_str_cstr("c"), seed),
                         rtm_rendezvous_weight(rtm_str_cstr("a"), rtm_str_cstr("bc"), seed));
}

static int s_owner(int i, const uint64_t *seeds, const bool *alive, uint32_t n)
{
    char ch[32];
    rtm_str_t c = rtm_str(ch, (size_t)snprintf(ch, sizeof ch, "room.%d", i));
    return rtm_rendezvous_owner(rtm_str_cstr("42"), c, seeds, alive, n);
}

static void test_even_spread(void **state)
{
    (void)state;
    enum { N = 10000 };
    uint64_t seeds[N_IDS];
    s_seeds(seeds, s_ids, N_IDS);
    int count[N_IDS] = {0};
    for (int i = 0; i < N; i++) {
        int o = s_owner(i, seeds, NULL, N_IDS);
        assert_true(o >= 0 && o < N_IDS);
        count[o]++;
    }
    for (int s = 0; s < N_IDS; s++) {
        assert_true(count[s] >= N / N_IDS * 85 / 100);
        assert_true(count[s] <= N / N_IDS * 115 / 100);
    }
}

/* Losing broker 2 moves exactly the channels it owned; the rest stay put. */
static void test_removal_moves_only_that_broker(void **state)
{
    (void)state;
    enum { N = 10000, GONE = 2 };
    uint64_t seeds[N_IDS];
    s_seeds(seeds, s_ids, N_IDS);
    bool alive[N_IDS] = {true, true, false, true};
    int moved = 0;
    for (int i = 0; i < N; i++) {
        int before = s_owner(i, seeds, NULL, N_IDS);
        int after = s_owner(i, seeds, alive, N_IDS);
        assert_int_not_equal(after, GONE);
        if (before != GONE)
            assert_int_equal(after, before);
        else
            moved++;
    }
    assert_true(moved > 0);
}

/* Listing a new broker moves channels only to it, about 1/n of them; and
 * the owner is the same whatever the order of the list (by identity). */
static void test_addition_and_order(void **state)
{
    (void)state;
    enum { N = 10000 };
    const char *const grown[N_IDS + 1] = {s_ids[3], "tcp://10.0.0.9:7000", s_ids[1], s_ids[0],
                                          s_ids[2]}; /* another order, one more */
    uint64_t seeds[N_IDS], seeds5[N_IDS + 1];
    s_seeds(seeds, s_ids, N_IDS);
    s_seeds(seeds5, grown, N_IDS + 1);
    int moved = 0;
    for (int i = 0; i < N; i++) {
        const char *before = s_ids[s_owner(i, seeds, NULL, N_IDS)];
        const char *after = grown[s_owner(i, seeds5, NULL, N_IDS + 1)];
        if (strcmp(before, after) != 0) {
            assert_string_equal(after, "tcp://10.0.0.9:7000");
            moved++;
        }
    }
    assert_true(moved > N / 5 * 85 / 100 && moved < N / 5 * 115 / 100);
}

/* The ranked list starts with the owner; its runner-up is the owner once
 * the owner is gone (the successor). */
static void test_ranked(void **state)
{
    (void)state;
    uint64_t seeds[N_IDS];
    s_seeds(seeds, s_ids, N_IDS);
    for (int i = 0; i < 1000; i++) {
        char ch[32];
        rtm_str_t c = rtm_str(ch, (size_t)snprintf(ch, sizeof ch, "room.%d", i));
        rtm_str_t app = rtm_str_cstr("42");
        uint32_t rank[N_IDS + 1] = {0};
        assert_int_equal(rtm_rendezvous_ranked(app, c, seeds, NULL, N_IDS, rank, N_IDS + 1), N_IDS);
        assert_int_equal(rank[0], rtm_rendezvous_owner(app, c, seeds, NULL, N_IDS));
        bool alive[N_IDS] = {true, true, true, true};
        for (int k = 0; k < N_IDS - 1; k++) { /* remove the best, the next one takes over */
            alive[rank[k]] = false;
            assert_int_equal(rank[k + 1], rtm_rendezvous_owner(app, c, seeds, alive, N_IDS));
        }
        uint32_t two[2];
        assert_int_equal(rtm_rendezvous_ranked(app, c, seeds, NULL, N_IDS, two, 2), 2);
        assert_int_equal(two[0], rank[0]);
        assert_int_equal(two[1], rank[1]);
    }
}

static void test_no_live_broker(void **state)
{
    (void)state;
    uint64_t seeds[3];
    s_seeds(seeds, s_ids, 3);
    bool none[3] = {false, false, false};
    rtm_str_t app = rtm_str_cstr("app-1"), ch = rtm_str_cstr("chat-1");
    assert_int_equal(rtm_rendezvous_owner(app, ch, seeds, none, 3), -1);
    assert_int_equal(rtm_rendezvous_owner(app, ch, seeds, NULL, 0), -1);
    uint32_t out[2];
    assert_int_equal(rtm_rendezvous_ranked(app, ch, seeds, none, 3, out, 2), 0);
    bool one[3] = {false, true, false};
    assert_int_equal(rtm_rendezvous_owner(app, ch, seeds, one, 3), 1);
    assert_int_equal(rtm_rendezvous_ranked(app, ch, seeds, one, 3, out, 2), 1);
    assert_int_equal(out[0], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_owners),
        cmocka_unit_test(test_pinned_weights),
        cmocka_unit_test(test_even_spread),
        cmocka_unit_test(test_removal_moves_only_that_broker),
        cmocka_unit_test(test_addition_and_order),
        cmocka_unit_test(test_ranked),
        cmocka_unit_test(test_no_live_broker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
