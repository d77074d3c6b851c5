/* Tests for broker/shard_view: membership of a changing broker list, liveness
 * by heartbeat, ownership over identities, list digests, owners and successors
 * by rendezvous over the live brokers, and the count of webhook events that
 * died with a peer (counted by the live broker with the smallest seed only). */
#include "shard_view.h"

#include "rtm_error.h"
#include "rtm_rendezvous.h"
#include "rtm_wire.h"

#include <stdio.h>
#include <stdlib.h>
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
    assert_int_equal(rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 9, 0, false, 0, 1000), 0);
    assert_int_equal(rtm_shard_view_live(v), 1); /* heard, not yet counted */
    assert_int_equal(rtm_shard_view_heard(v, 1000), 1);
    assert_int_equal(s_owned(v, 1000), 1000);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 9, 0, false, 0, 1500);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 9, 0, false, 0, 2000); /* 2 periods: counted */
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
    assert_int_equal(
        rtm_shard_view_heartbeat(v, rtm_str_cstr("tcp://d:7000"), 1, 0, false, 0, 2100),
        RTM_ENOTFOUND);
    assert_int_equal(rtm_shard_view_heartbeat(v, rtm_str_cstr(A), 1, 0, false, 0, 2100),
                     RTM_EINVAL);
    /* B silent past the dead time: A owns everything again */
    assert_int_equal(s_owned(v, 2000 + RTM_WIRE_DEAD_MS), 1000);
    assert_int_equal(rtm_shard_view_live(v), 1);
    assert_int_equal(rtm_shard_view_heard(v, 2000 + RTM_WIRE_DEAD_MS), 0);
    /* C, listed at run time, counts only RTM_WIRE_JOIN_MS (and the grace) after it is
     * first heard */
    enum { T = 4000, JOINED = T + RTM_WIRE_JOIN_MS + 2 * RTM_WIRE_HB_MS };
    assert_int_equal(rtm_shard_view_heartbeat(v, rtm_str_cstr(C), 3, 0, false, 0, T), 0);
    for (uint64_t t = T + 500; t < JOINED; t += 500)
        rtm_shard_view_heartbeat(v, rtm_str_cstr(C), 3, 0, false, 0, t);
    assert_int_equal(rtm_shard_view_live(v), 1);
    assert_int_equal(rtm_shard_view_heard(v, JOINED - 1), 1); /* joining, heard */
    assert_int_equal(s_owned(v, JOINED - 1), 1000);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(C), 3, 0, false, 0, JOINED);
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
    rtm_shard_view_heartbeat(v, rtm_str_cstr(C), 3, 0, true, 0, JOINED + 100);
    assert_int_equal(rtm_shard_view_live(v), 1);
    assert_int_equal(rtm_shard_view_heard(v, JOINED + 100), 0);
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
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 1, ours, false, 0, 1000);
    assert_int_equal(rtm_shard_view_mismatched(v), 0);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 1, ours + 1, false, 0, 1500);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 1, ours + 1, false, 0, 2000);
    assert_int_equal(rtm_shard_view_mismatched(v), 1);
    assert_int_equal(rtm_shard_view_mismatches(v), 1); /* counted once per change */
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 1, 0, false, 0, 2500); /* "not told" is no claim */
    assert_int_equal(rtm_shard_view_mismatched(v), 0);
    rtm_shard_view_heartbeat(v, rtm_str_cstr(B), 1, ours + 1, false, 0, 3000);
    assert_int_equal(rtm_shard_view_mismatches(v), 2);
    rtm_shard_view_destroy(&v);
}

/* Heartbeats of broker id every period from `from` to `to` included. */
static void s_hear(rtm_shard_view_t *v, const char *id, uint64_t epoch, uint64_t held,
                   uint64_t from, uint64_t to)
{
    for (uint64_t t = from; t <= to; t += RTM_WIRE_HB_MS)
        assert_int_equal(rtm_shard_view_heartbeat(v, rtm_str_cstr(id), epoch, 0, false, held, t),
                         0);
}

/* The identity at out[i] of a ranking. */
static const char *s_id(const rtm_shard_view_t *v, uint32_t index)
{
    return rtm_shard_view_list(v)->ids[index];
}

static void test_successor(void **state)
{
    (void)state;
    rtm_shard_view_t *v = rtm_shard_view_new(B);
    s_set(v, A "\n" B "\n" C "\n");
    uint32_t out[3];
    /* Alone: it owns everything and nobody succeeds it. */
    assert_int_equal(rtm_shard_view_ranked(v, rtm_str_cstr("app"), rtm_str_cstr("c"), 1000, out, 3),
                     1);
    assert_string_equal(s_id(v, out[0]), B);
    s_hear(v, A, 7, 0, 1000, 2000);
    s_hear(v, C, 8, 0, 1000, 2000);
    assert_int_equal(rtm_shard_view_live(v), 3);
    /* All live: owner and successor are the first two by weight over the identities. */
    const rtm_brokers_t *l = rtm_shard_view_list(v);
    char name[32], succ[50][16];
    for (int i = 0; i < 50; i++) {
        rtm_str_t ch = rtm_str(name, (size_t)snprintf(name, sizeof name, "ch-%d", i));
        uint32_t want[3];
        assert_int_equal(rtm_rendezvous_ranked(rtm_str_cstr("app"), ch, l->seeds, NULL, 3, want, 3),
                         3);
        assert_int_equal(rtm_shard_view_ranked(v, rtm_str_cstr("app"), ch, 2000, out, 2), 2);
        assert_int_equal(out[0], want[0]);
        assert_int_equal(out[1], want[1]);
        snprintf(succ[i], sizeof succ[i], "%s", s_id(v, out[1]));
    }
    /* The same brokers in another order: the same owners and successors by identity. */
    s_set(v, C "\n" B "\n" A "\n");
    for (int i = 0; i < 50; i++) {
        rtm_str_t ch = rtm_str(name, (size_t)snprintf(name, sizeof name, "ch-%d", i));
        assert_int_equal(rtm_shard_view_ranked(v, rtm_str_cstr("app"), ch, 2100, out, 2), 2);
        assert_string_equal(s_id(v, out[1]), succ[i]);
    }
    /* Liveness by seed, whatever the index. */
    assert_true(rtm_shard_view_is_live(v, rtm_rendezvous_seed(rtm_str_cstr(A))));
    assert_true(rtm_shard_view_is_live(v, rtm_rendezvous_seed(rtm_str_cstr(B))));
    assert_false(rtm_shard_view_is_live(v, rtm_rendezvous_seed(rtm_str_cstr("tcp://d:7000"))));
    /* A silent: it is neither owner nor successor any more. */
    s_hear(v, C, 8, 0, 2500, 4000);
    rtm_shard_view_refresh(v, 4000);
    assert_false(rtm_shard_view_is_live(v, rtm_rendezvous_seed(rtm_str_cstr(A))));
    for (int i = 0; i < 50; i++) {
        rtm_str_t ch = rtm_str(name, (size_t)snprintf(name, sizeof name, "ch-%d", i));
        assert_int_equal(rtm_shard_view_ranked(v, rtm_str_cstr("app"), ch, 4000, out, 3), 2);
        assert_string_not_equal(s_id(v, out[0]), A);
        assert_string_not_equal(s_id(v, out[1]), A);
    }
    rtm_shard_view_destroy(&v);
    assert_null(v);
}

static int s_by_seed(const void *x, const void *y)
{
    uint64_t a = rtm_rendezvous_seed(rtm_str_cstr(*(const char *const *)x));
    uint64_t b = rtm_rendezvous_seed(rtm_str_cstr(*(const char *const *)y));
    return a < b ? -1 : a > b;
}

static void test_webhooks_lost(void **state)
{
    (void)state;
    /* lo < mid < hi by seed; this is mid: it counts a loss only while lo is not live. */
    const char *ids[3] = {A, B, C};
    qsort(ids, 3, sizeof ids[0], s_by_seed);
    const char *lo = ids[0], *mid = ids[1], *hi = ids[2];
    rtm_shard_view_t *v = rtm_shard_view_new(mid);
    s_set(v, A "\n" B "\n" C "\n");
    s_hear(v, lo, 1, 5, 1000, 2000);
    s_hear(v, hi, 1, 40, 1000, 2000);
    assert_int_equal(rtm_shard_view_live(v), 3);
    /* hi dies while lo lives: lo counts it, not this one. */
    s_hear(v, lo, 1, 5, 2500, 3500);
    rtm_shard_view_refresh(v, 2000 + RTM_WIRE_DEAD_MS + 1);
    assert_false(rtm_shard_view_is_live(v, rtm_rendezvous_seed(rtm_str_cstr(hi))));
    assert_int_equal(rtm_shard_view_webhooks_lost(v), 0);
    /* lo dies holding 5: this one has the smallest seed among the live now. */
    rtm_shard_view_refresh(v, 3500 + RTM_WIRE_DEAD_MS + 1);
    assert_int_equal(rtm_shard_view_live(v), 1);
    assert_int_equal(rtm_shard_view_webhooks_lost(v), 5);
    /* lo comes back (joining), holds another number, and dies: its last heartbeat counts. */
    enum { BACK = 10000, LIVE = BACK + RTM_WIRE_JOIN_MS + 2 * RTM_WIRE_HB_MS };
    s_hear(v, lo, 2, 0, BACK, LIVE - RTM_WIRE_HB_MS);
    s_hear(v, lo, 2, 3, LIVE, LIVE);
    assert_int_equal(rtm_shard_view_live(v), 2);
    rtm_shard_view_refresh(v, LIVE + RTM_WIRE_DEAD_MS + 1);
    assert_int_equal(rtm_shard_view_webhooks_lost(v), 8);
    rtm_shard_view_destroy(&v);

    /* The order of the list does not matter; an unlisted broker never counts. */
    v = rtm_shard_view_new(lo);
    s_set(v, C "\n" A "\n" B "\n");
    s_hear(v, hi, 1, 40, 1000, 2000);
    rtm_shard_view_refresh(v, 2000 + RTM_WIRE_DEAD_MS + 1);
    assert_int_equal(rtm_shard_view_webhooks_lost(v), 40);
    rtm_shard_view_destroy(&v);
    v = rtm_shard_view_new("tcp://d:7000");
    s_set(v, A "\n" B "\n");
    s_hear(v, A, 1, 40, 1000, 2000);
    rtm_shard_view_refresh(v, 2000 + RTM_WIRE_DEAD_MS + 1);
    assert_int_equal(rtm_shard_view_webhooks_lost(v), 0);
    rtm_shard_view_destroy(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unlisted_owns_nothing),
        cmocka_unit_test(test_membership_and_liveness),
        cmocka_unit_test(test_digest_mismatch),
        cmocka_unit_test(test_successor),
        cmocka_unit_test(test_webhooks_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
