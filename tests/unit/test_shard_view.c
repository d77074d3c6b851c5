/* Tests for broker/shard_view: membership of a changing broker list, liveness
 * by heartbeat, ownership over identities, list digests. */
#include "shard_view.h"

#include "rtm_error.h"
#include "rtm_rendezvous.h"
#include "rtm_wire.h"

#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define A "tcp://a:7000"
#define B "tcp://b:7000"
#define C "tcp://c:7000"

static void s_set(rtm_shard_view_t *v, const char *text)
{
    rtm_brokers_t l;
    char err[256];
    assert_true(rtm_brokers_parse(&l, text, strlen(text), '\n', "test", err, sizeof err) >= 0);
    rtm_shard_view_set_list(v, &l);
    assert_int_equal(l.n, 0); /* stolen */
}

/* How many of 1000 channels v owns at now. */
static int s_owned(rtm_shard_view_t *v, uint64_t now)
{
    int n = 0;
    for (int i = 0; i < 1000; i++) {
        char ch[32];
        rtm_str_t c = rtm_str(ch, (size_t)snprintf(ch, sizeof ch, "c-%d", i));
        n += rtm_shard_view_owns(v, rtm_str_cstr("app"), c, now);
    }
    return n;
}

static void test_unlisted_owns_nothing(void **state)
{
    (void)state;
    rtm_shard_view_t *v = rtm_shard_view_new(C);
    assert_int_equal(s_owned(v, 1000), 0);
    s_set(v, A "\n" B "\n");
    assert_int_equal(rtm_shard_view_self_index(v), -1);
    assert_int_equal(rtm_shard_view_live(v), 0);
    assert_int_equal(s_owned(v, 1000), 0);
    s_set(v, A "\n" B "\n" C "\n"); /* listed: alone alive, it owns everything */
    assert_int_equal(rtm_shard_view_self_index(v), 2);
    assert_int_equal(rtm_shard_view_live(v), 1);
    assert_int_equal(s_owned(v, 1000), 1000);
    rtm_shard_view_destroy(&v);
    assert_null(v);
}

/* A peer's heartbeat takes its share; the share follows rendezvous over the
 * identities; a removed peer gives it back; kept peers keep their liveness. */
static void test_membership_and_liveness(void **state)
{
    (void)state;
    rtm_shard_view_t *v = rtm_shard_view_new(A);
    s_set(v, A "\n" B "\n");
    uint64_t gen = rtm_shard_view_generation(v);
    assert_int_equal(rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 9, 0, false, 1000), 0);
    assert_int_equal(rtm_shard_view_live(v), 1); /* heard, not yet counted */
    assert_int_equal(s_owned(v, 1000), 1000);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 9, 0, false, 1500);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 9, 0, false, 2000); /* 2 periods: counted */
    assert_true(rtm_shard_view_generation(v) != gen);
    assert_int_equal(rtm_shard_view_live(v), 2);
    int mine = s_owned(v, 2000);
    assert_true(mine > 350 && mine < 650);
    uint64_t seeds[2] = {rtm_rendezvous_seed(rtm_str_cstr(A)),
                         rtm_rendezvous_seed(rtm_str_cstr(B))};
    assert_int_equal(
        rtm_shard_view_owns(v, rtm_str_cstr("app"), rtm_str_cstr("c-1"), 2000),
        rtm_rendezvous_owner(rtm_str_cstr("app"), rtm_str_cstr("c-1"), seeds, NULL, 2) == 0);
    /* C added (not heard yet), order changed: B stays live, nothing moves */
    gen = rtm_shard_view_generation(v);
    s_set(v, C "\n" B "\n" A "\n");
    assert_true(rtm_shard_view_generation(v) != gen);
    assert_int_equal(rtm_shard_view_live(v), 2);
    assert_int_equal(s_owned(v, 2100), mine);
    /* heartbeats from an unlisted broker or from ourselves are refused */
    assert_int_equal(rtm_shard_view_heartbeat(v, rtm_str_cstr("tcp://d:7000"), 1, 0, false, 2100),
                     RTM_ENOTFOUND);
    assert_int_equal(rtm_shard_view_heartbeat(v, rtm_str_cstr(A), 1, 0, false, 2100), RTM_EINVAL);
    /* B silent past the dead time: A owns everything again */
    assert_int_equal(s_owned(v, 2000 + RTM_WIRE_DEAD_MS), 1000);
    assert_int_equal(rtm_shard_view_live(v), 1);
    /* C, listed at run time, counts only RTM_WIRE_JOIN_MS (and the grace) after it is
     * first heard */
    enum { T = 4000, JOINED = T + RTM_WIRE_JOIN_MS + 2 * RTM_WIRE_HB_MS };
    assert_int_equal(rtm_shard_view_heartbeat(v, rtm_str_cstr(C), 3, 0, false, T), 0);
    for (uint64_t t = T + 500; t < JOINED; t += 500)
        rtm_shard_view_heartbeat(v, rtm_str_cstr(C), 3, 0, false, t);
    assert_int_equal(rtm_shard_view_live(v), 1);
    assert_int_equal(s_owned(v, JOINED - 1), 1000);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(C), 3, 0, false, JOINED);
    assert_int_equal(rtm_shard_view_live(v), 2);
    assert_true(s_owned(v, JOINED) < 700);
    /* ranked: the owner first, then the successor */
    uint32_t rank[3];
    assert_int_equal(
        rtm_shard_view_ranked(v, rtm_str_cstr("app"), rtm_str_cstr("c-1"), JOINED, rank, 3), 2);
    assert_int_equal(rtm_shard_view_owns(v, rtm_str_cstr("app"), rtm_str_cstr("c-1"), JOINED),
                     rank[0] == (uint32_t)rtm_shard_view_self_index(v));
    assert_int_not_equal(rank[0], rank[1]);
    /* a peer that says it owns nothing (unlisted there, or leaving) is not live at once */
    rtm_shard_view_heartbeat(v, rtm_str_cstr(C), 3, 0, true, JOINED + 100);
    assert_int_equal(rtm_shard_view_live(v), 1);
    assert_int_equal(s_owned(v, JOINED + 100), 1000);
    /* the same set again is no change */
    gen = rtm_shard_view_generation(v);
    s_set(v, A "\n" B "\n" C "\n");
    assert_int_equal(rtm_shard_view_generation(v), gen);
    rtm_shard_view_destroy(&v);
}

static void test_digest_mismatch(void **state)
{
    (void)state;
    rtm_shard_view_t *v = rtm_shard_view_new(A);
    s_set(v, A "\n" B "\n");
    uint64_t ours = rtm_shard_view_list(v)->digest;
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 1, ours, false, 1000);
    assert_int_equal(rtm_shard_view_mismatched(v), 0);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 1, ours + 1, false, 1500);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 1, ours + 1, false, 2000);
    assert_int_equal(rtm_shard_view_mismatched(v), 1);
    assert_int_equal(rtm_shard_view_mismatches(v), 1);               /* counted once per change */
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 1, 0, false, 2500); /* "not told" is no claim */
    assert_int_equal(rtm_shard_view_mismatched(v), 0);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 1, ours + 1, false, 3000);
    assert_int_equal(rtm_shard_view_mismatches(v), 2);
    rtm_shard_view_destroy(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unlisted_owns_nothing),
        cmocka_unit_test(test_membership_and_liveness),
        cmocka_unit_test(test_digest_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
