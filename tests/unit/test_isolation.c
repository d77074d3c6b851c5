/* Unit tests of broker/isolation.c: the departures a broker infers from its
 * node workers' silence are handed on when it still hears somebody, and
 * dropped when it turns out to hear nobody (docs/soak.md, failure 2). */
#include "isolation.h"

#include "rtm_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S_MAX 8

/* What was handed on: "kind channel[ user]". */
typedef struct {
    char got[S_MAX][96];
    size_t n;
} s_out_t;

static void s_release(void *ctx, const rtm_channel_hook_t *h)
{
    s_out_t *o = ctx;
    assert_true(o->n < S_MAX);
    char *line = o->got[o->n++];
    int n = snprintf(line, 96, "%s %.*s", rtm_webhook_kind_name(h->kind), (int)h->channel.len,
                     h->channel.p);
    if (h->user_id.len)
        snprintf(line + n, 96 - (size_t)n, " %.*s", (int)h->user_id.len, h->user_id.p);
}

static void s_out_is(s_out_t *o, const char *const *want, size_t n)
{
    assert_int_equal(o->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(o->got[i], want[i]);
    o->n = 0;
}
#define S_OUT(o, ...)                                                                              \
    do {                                                                                           \
        const char *const w_[] = {__VA_ARGS__};                                                    \
        s_out_is(o, w_, sizeof w_ / sizeof w_[0]);                                                 \
    } while (0)
#define S_NONE(o) s_out_is(o, NULL, 0)

/* Holds a departure from a buffer that is overwritten afterwards: the
 * module must keep its own copy. */
static void s_hold(rtm_isolation_t *iso, rtm_webhook_kind_t kind, const char *channel,
                   const char *user, uint64_t now_ms)
{
    char app[8] = "app", ch[64], id[64];
    snprintf(ch, sizeof ch, "%s", channel);
    snprintf(id, sizeof id, "%s", user);
    rtm_channel_hook_t h = {.kind = kind,
                            .app = rtm_str_cstr(app),
                            .channel = rtm_str_cstr(ch),
                            .user_id = rtm_str_cstr(id)};
    rtm_isolation_hold(iso, &h, now_ms);
    memset(ch, 'x', sizeof ch);
    memset(id, 'x', sizeof id);
}

/* A liveness check at now_ms hearing `peers` peers and `nodes` node workers
 * (the broker has peers listed); nobody when both are 0. */
static void s_tick(rtm_isolation_t *iso, uint64_t now_ms, uint32_t peers, uint32_t nodes,
                   s_out_t *o)
{
    rtm_isolation_hearing_t hears = {
        .has_peers = true, .peers = peers, .peers_live = peers, .nodes = nodes};
    rtm_isolation_tick(iso, now_ms, &hears, s_release, o);
}

/* What a lost node worker takes with it: ann's membership of presence-p,
 * and with it the channel's occupation. */
static void s_lose_node(rtm_isolation_t *iso, uint64_t now_ms)
{
    s_hold(iso, RTM_WEBHOOK_MEMBER_REMOVED, "presence-p", "ann", now_ms);
    s_hold(iso, RTM_WEBHOOK_CHANNEL_VACATED, "presence-p", "", now_ms);
}

/* A node worker really died: the broker still hears the others, and hands
 * its departures on RTM_WIRE_DEAD_MS later, in order. */
static void test_lost_node_while_hearing_others(void **state)
{
    (void)state;
    s_out_t o = {0};
    rtm_isolation_t *iso = rtm_isolation_new();
    s_lose_node(iso, 1000);
    assert_int_equal(rtm_isolation_stats(iso)->held, 2);
    s_tick(iso, 1000 + RTM_WIRE_DEAD_MS - 1, 1, 1, &o);
    S_NONE(&o);
    s_tick(iso, 1000 + RTM_WIRE_DEAD_MS, 1, 1, &o);
    S_OUT(&o, "member_removed presence-p ann", "channel_vacated presence-p");
    const rtm_isolation_stats_t *st = rtm_isolation_stats(iso);
    assert_int_equal(st->held, 0);
    assert_int_equal(st->released, 2);
    assert_int_equal(st->dropped, 0);
    assert_int_equal(st->cut_offs, 0);
    assert_false(rtm_isolation_cut_off(iso));
    rtm_isolation_destroy(&iso);
    assert_null(iso);
}

/* The soak's `broker-partition`: the first node workers expire a tick before
 * the broker finds it hears nobody; the rest while it hears nobody. None of
 * those departures is ever handed on, not even after the heal. */
static void test_cut_off_from_everything(void **state)
{
    (void)state;
    s_out_t o = {0};
    rtm_isolation_t *iso = rtm_isolation_new();
    /* Starting, before anybody is heard: not cut off, just alone so far. */
    s_tick(iso, 0, 0, 0, &o);
    assert_false(rtm_isolation_cut_off(iso));
    s_tick(iso, 500, 1, 1, &o);
    s_hold(iso, RTM_WEBHOOK_MEMBER_REMOVED, "presence-p", "ann", 1500);
    s_tick(iso, 1500, 1, 0, &o); /* a peer still heard */
    s_tick(iso, 2000, 0, 0, &o);
    assert_true(rtm_isolation_cut_off(iso));
    s_hold(iso, RTM_WEBHOOK_MEMBER_REMOVED, "presence-p", "bob", 2000);
    s_hold(iso, RTM_WEBHOOK_CHANNEL_VACATED, "presence-p", "", 2000);
    s_tick(iso, 2500, 0, 0, &o);
    S_NONE(&o);
    /* Healed: heard again; nothing was left to hand on. */
    s_tick(iso, 8000, 1, 1, &o);
    s_tick(iso, 8000 + 10 * RTM_WIRE_DEAD_MS, 1, 1, &o);
    S_NONE(&o);
    const rtm_isolation_stats_t *st = rtm_isolation_stats(iso);
    assert_false(rtm_isolation_cut_off(iso));
    assert_int_equal(st->held, 0);
    assert_int_equal(st->released, 0);
    assert_int_equal(st->dropped, 3);
    assert_int_equal(st->cut_offs, 1);
    /* A node lost after the heal is real again. */
    s_hold(iso, RTM_WEBHOOK_MEMBER_REMOVED, "presence-q", "cy", 20000);
    s_tick(iso, 20000 + RTM_WIRE_DEAD_MS, 1, 1, &o);
    S_OUT(&o, "member_removed presence-q cy");
    rtm_isolation_destroy(&iso);
}

/* A node is heard while departures are held: they are real, and go at once,
 * before whatever that node's message changes on their channels. */
static void test_flush_keeps_order(void **state)
{
    (void)state;
    s_out_t o = {0};
    rtm_isolation_t *iso = rtm_isolation_new();
    s_lose_node(iso, 1000);
    rtm_isolation_flush(iso, s_release, &o);
    S_OUT(&o, "member_removed presence-p ann", "channel_vacated presence-p");
    s_tick(iso, 1000 + RTM_WIRE_DEAD_MS, 1, 1, &o);
    S_NONE(&o);
    assert_int_equal(rtm_isolation_stats(iso)->released, 2);
    /* Destroying with departures held hands nothing on. */
    s_hold(iso, RTM_WEBHOOK_MEMBER_REMOVED, "presence-p", "bob", 2000);
    rtm_isolation_destroy(&iso);
    S_NONE(&o);
}

/* Healed: the nodes are heard at once, but the link to the peers may stay
 * silent for a while (TCP's back-off): taken-over channels wait to settle
 * until the peers count as live again, or, while none is heard, for at most
 * as long as the cut lasted. A broker alone in its list is never cut off. */
static void test_takeovers_wait_for_a_peer(void **state)
{
    (void)state;
    s_out_t o = {0};
    rtm_isolation_t *iso = rtm_isolation_new();
    s_tick(iso, 1000, 1, 1, &o);
    assert_false(rtm_isolation_takeovers_wait(iso));
    s_tick(iso, 2000, 0, 0, &o); /* cut off, for 6 s */
    assert_true(rtm_isolation_takeovers_wait(iso));
    s_tick(iso, 8000, 0, 1, &o); /* a node heard: no longer cut off */
    assert_false(rtm_isolation_cut_off(iso));
    assert_true(rtm_isolation_takeovers_wait(iso));
    s_tick(iso, 8000 + 6000 - 1, 0, 1, &o);
    assert_true(rtm_isolation_takeovers_wait(iso));
    s_tick(iso, 8000 + 6000, 0, 1, &o); /* as long as the cut: peers really gone */
    assert_false(rtm_isolation_takeovers_wait(iso));
    /* Another cut of 1 s; a peer heard half a second after it ends counts
     * as live only after its join delay: until then the takeovers wait. */
    s_tick(iso, 20000, 0, 0, &o);
    s_tick(iso, 21000, 0, 1, &o);
    assert_true(rtm_isolation_takeovers_wait(iso));
    rtm_isolation_hearing_t joining = {.has_peers = true, .peers = 1, .peers_live = 0, .nodes = 1};
    rtm_isolation_tick(iso, 21500, &joining, s_release, &o);
    rtm_isolation_tick(iso, 21500 + RTM_WIRE_JOIN_MS - 1, &joining, s_release, &o);
    assert_true(rtm_isolation_takeovers_wait(iso));
    s_tick(iso, 21500 + RTM_WIRE_JOIN_MS, 1, 1, &o);
    assert_false(rtm_isolation_takeovers_wait(iso));
    assert_int_equal(rtm_isolation_stats(iso)->cut_offs, 2);
    /* Alone in its list: hearing nobody is no cut-off. */
    rtm_isolation_hearing_t alone = {.has_peers = false};
    rtm_isolation_tick(iso, 30000, &alone, s_release, &o);
    assert_false(rtm_isolation_cut_off(iso));
    assert_false(rtm_isolation_takeovers_wait(iso));
    rtm_isolation_destroy(&iso);
}

/* Soak failure 7: a broker back from a cut is joining — it says so in its
 * heartbeat and refuses publishes — while cut off and for RTM_WIRE_JOIN_MS
 * after it hears somebody again, by which time the nodes route to it. A
 * broker that starts, alone or not, is not: a mesh's cold start is instant. */
static void test_joining_after_a_cut(void **state)
{
    (void)state;
    s_out_t o = {0};
    rtm_isolation_t *iso = rtm_isolation_new();
    s_tick(iso, 1000, 0, 0, &o); /* starting: nobody heard yet */
    assert_false(rtm_isolation_joining(iso, 1000));
    s_tick(iso, 1500, 1, 1, &o);
    assert_false(rtm_isolation_joining(iso, 1500));
    s_tick(iso, 5000, 0, 0, &o); /* cut off */
    assert_true(rtm_isolation_joining(iso, 5000));
    assert_true(rtm_isolation_joining(iso, 7000));
    s_tick(iso, 7800, 0, 1, &o); /* a node heard again */
    assert_true(rtm_isolation_joining(iso, 7800));
    assert_true(rtm_isolation_joining(iso, 7800 + RTM_WIRE_JOIN_MS - 1));
    assert_false(rtm_isolation_joining(iso, 7800 + RTM_WIRE_JOIN_MS));
    s_tick(iso, 20000, 0, 0, &o); /* cut off again, healed at once */
    s_tick(iso, 20500, 1, 1, &o);
    assert_true(rtm_isolation_joining(iso, 20500 + RTM_WIRE_JOIN_MS - 1));
    assert_false(rtm_isolation_joining(iso, 20500 + RTM_WIRE_JOIN_MS));
    rtm_isolation_destroy(&iso);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_node_while_hearing_others),
        cmocka_unit_test(test_cut_off_from_everything),
        cmocka_unit_test(test_flush_keeps_order),
        cmocka_unit_test(test_takeovers_wait_for_a_peer),
        cmocka_unit_test(test_joining_after_a_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
