/* Unit tests of broker/replica_outbox.c: what an owner sends its channels'
 * successors, coalesced, re-routed when the live shards change, handed over
 * when a channel moves, retried when the egress refuses. A recording route
 * stands in for the shard view and the egress. This shard is shard 0. */
#include "replica_outbox.h"

#include "rtm_error.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define S(lit) rtm_str(lit, sizeof(lit) - 1)
#define S_MAX  16

typedef struct {
    int owner;            /* of every channel */
    int successor;        /* of every channel */
    bool announced;       /* what send and announced say about every channel but "empty*" */
    int refuse;           /* sends to refuse before accepting again */
    char sent[S_MAX][64]; /* "to=N channel" or "forget to=N channel" */
    size_t n_sent;
} s_route_t;

static bool s_is_empty(rtm_str_t channel)
{
    return rtm_str_has_prefix(channel, "empty");
}

#define S_NOBODY (-1) /* no broker */

/* This broker is key 0; the others are keyed by their number. */
static bool s_target(void *ctx, rtm_str_t app, rtm_str_t channel, bool *mine, uint64_t *to)
{
    (void)channel;
    assert_true(rtm_str_eq_cstr(app, "app"));
    const s_route_t *r = ctx;
    *mine = r->owner == 0;
    int t = *mine ? r->successor : r->owner;
    if (t == S_NOBODY)
        return false;
    *to = (uint64_t)t;
    return true;
}

static int s_send(void *ctx, rtm_str_t app, rtm_str_t channel, uint64_t to, bool forget)
{
    (void)app;
    s_route_t *r = ctx;
    if (r->refuse > 0) {
        r->refuse--;
        return -1;
    }
    assert_true(r->n_sent < S_MAX);
    snprintf(r->sent[r->n_sent++], 64, "%sto=%" PRIu64 " %.*s", forget ? "forget " : "", to,
             (int)channel.len, channel.p);
    return !forget && r->announced && !s_is_empty(channel) ? 1 : 0;
}

static bool s_announced(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    (void)app;
    return ((s_route_t *)ctx)->announced && !s_is_empty(channel);
}

static rtm_replica_route_t s_route(s_route_t *r)
{
    return (rtm_replica_route_t){r, s_target, s_send, s_announced};
}

static void s_sent_are(s_route_t *r, const char *const *want, size_t n)
{
    assert_int_equal(r->n_sent, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(r->sent[i], want[i]);
    r->n_sent = 0;
}
#define S_SENT(r, ...)                                                                             \
    do {                                                                                           \
        const char *const w_[] = {__VA_ARGS__};                                                    \
        s_sent_are(r, w_, sizeof w_ / sizeof w_[0]);                                               \
    } while (0)
#define S_NONE(r) s_sent_are(r, NULL, 0)

static size_t s_flush(rtm_replica_outbox_t *o, s_route_t *r, size_t budget)
{
    rtm_replica_route_t route = s_route(r);
    return rtm_replica_outbox_flush(o, &route, budget);
}

static const rtm_replica_outbox_stats_t *s_st(const rtm_replica_outbox_t *o)
{
    return rtm_replica_outbox_stats(o);
}

static void test_coalesced_to_successor(void **state)
{
    (void)state;
    s_route_t r = {.owner = 0, .successor = 1, .announced = true};
    rtm_replica_outbox_t *o = rtm_replica_outbox_new(100);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rtm_replica_outbox_mark(o, S("app"), S("c")), 0);
    assert_int_equal(rtm_replica_outbox_mark(o, S("app"), S("d")), 0);
    assert_int_equal(s_st(o)->marked, 2);
    assert_int_equal(s_flush(o, &r, SIZE_MAX), 0);
    S_SENT(&r, "to=1 c", "to=1 d"); /* one snapshot per channel, in marking order */
    assert_int_equal(s_flush(o, &r, SIZE_MAX), 0);
    S_NONE(&r);
    /* Emptied: the empty snapshot goes and the channel is no longer tracked. */
    r.announced = false;
    rtm_replica_outbox_mark(o, S("app"), S("c"));
    s_flush(o, &r, SIZE_MAX);
    S_SENT(&r, "to=1 c");
    assert_int_equal(s_st(o)->channels, 1);
    assert_int_equal(s_st(o)->sent, 3);
    rtm_replica_outbox_destroy(&o);
    assert_null(o);
}

static void test_rerouted_and_handed_over(void **state)
{
    (void)state;
    s_route_t r = {.owner = 0, .successor = 1, .announced = true};
    rtm_replica_outbox_t *o = rtm_replica_outbox_new(100);
    rtm_replica_outbox_mark(o, S("app"), S("c"));
    s_flush(o, &r, SIZE_MAX);
    S_SENT(&r, "to=1 c");
    /* The successor died: the new one gets the snapshot, the old one a forget. */
    r.successor = 2;
    rtm_replica_outbox_mark_all(o);
    s_flush(o, &r, SIZE_MAX);
    S_SENT(&r, "forget to=1 c", "to=2 c");
    assert_int_equal(s_st(o)->forgets, 1);
    /* Alone: nobody to tell, but still tracked while something is announced... */
    r.successor = S_NOBODY;
    rtm_replica_outbox_mark_all(o);
    s_flush(o, &r, SIZE_MAX);
    S_SENT(&r, "forget to=2 c");
    assert_int_equal(s_st(o)->channels, 1);
    /* ...so a shard that comes up is told. */
    r.successor = 1;
    rtm_replica_outbox_mark_all(o);
    s_flush(o, &r, SIZE_MAX);
    S_SENT(&r, "to=1 c");
    /* Shard 1 comes back as the owner: the snapshot is handed to it (it was
     * the successor too, so no forget) and the channel is not tracked here. */
    r.owner = 1;
    rtm_replica_outbox_mark_all(o);
    s_flush(o, &r, SIZE_MAX);
    S_SENT(&r, "to=1 c");
    assert_int_equal(s_st(o)->handed, 1);
    assert_int_equal(s_st(o)->channels, 0);
    /* A channel alone with nothing announced is not tracked. */
    r.owner = 0;
    r.successor = S_NOBODY;
    rtm_replica_outbox_mark(o, S("app"), S("empty-1"));
    s_flush(o, &r, SIZE_MAX);
    S_NONE(&r);
    assert_int_equal(s_st(o)->channels, 0);
    rtm_replica_outbox_destroy(&o);
}

static void test_refused_and_budget(void **state)
{
    (void)state;
    s_route_t r = {.owner = 0, .successor = 1, .announced = true};
    rtm_replica_outbox_t *o = rtm_replica_outbox_new(100);
    rtm_replica_outbox_mark(o, S("app"), S("a"));
    rtm_replica_outbox_mark(o, S("app"), S("b"));
    rtm_replica_outbox_mark(o, S("app"), S("c"));
    /* The egress is full: everything waits for the next flush. */
    r.refuse = 1;
    assert_int_equal(s_flush(o, &r, SIZE_MAX), 3);
    S_NONE(&r);
    assert_int_equal(s_st(o)->retried, 1);
    /* A budget of 2: the oldest two go. */
    assert_int_equal(s_flush(o, &r, 2), 1);
    S_SENT(&r, "to=1 a", "to=1 b");
    assert_int_equal(s_flush(o, &r, 2), 0);
    S_SENT(&r, "to=1 c");
    /* A refused forget keeps the channel marked, with its old destination. */
    r.successor = 2;
    rtm_replica_outbox_mark(o, S("app"), S("a"));
    r.refuse = 1;
    s_flush(o, &r, SIZE_MAX);
    S_NONE(&r);
    s_flush(o, &r, SIZE_MAX);
    S_SENT(&r, "forget to=1 a", "to=2 a");
    rtm_replica_outbox_destroy(&o);
}

static void test_resend_and_bound(void **state)
{
    (void)state;
    s_route_t r = {.owner = 0, .successor = 1, .announced = true};
    rtm_replica_outbox_t *o = rtm_replica_outbox_new(2);
    rtm_replica_outbox_mark(o, S("app"), S("a"));
    rtm_replica_outbox_mark(o, S("app"), S("b"));
    assert_int_equal(rtm_replica_outbox_mark(o, S("app"), S("c")), RTM_EUNAVAIL);
    assert_int_equal(s_st(o)->refused, 1);
    s_flush(o, &r, SIZE_MAX);
    S_SENT(&r, "to=1 a", "to=1 b");
    /* Shard 2 resubscribing changes nothing; shard 1 gets everything again. */
    rtm_replica_outbox_resend(o, 2);
    s_flush(o, &r, SIZE_MAX);
    S_NONE(&r);
    rtm_replica_outbox_resend(o, 1);
    s_flush(o, &r, SIZE_MAX);
    S_SENT(&r, "to=1 a", "to=1 b");
    rtm_replica_outbox_destroy(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coalesced_to_successor),
        cmocka_unit_test(test_rerouted_and_handed_over),
        cmocka_unit_test(test_refused_and_budget),
        cmocka_unit_test(test_resend_and_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
