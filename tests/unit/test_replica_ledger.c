/* Unit tests of broker/replica_ledger.c: what a successor believes other
 * owners announced, and what it reports when it takes their channels over. A
 * fake shard (ownership, occupation, members, liveness) stands in for the
 * broker; REPLICA bodies are encoded and decoded with the real codec. */
#include "replica_ledger.h"

#include "rtm_error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S(lit)   rtm_str(lit, sizeof(lit) - 1)
#define S_MAX    16
#define SETTLE   3000
#define S_ORIGIN 1

/* The fake shard: it owns the channels listed in `owned`, holds the
 * occupation and members listed, and sees shard 1 live when `origin_live`. */
typedef struct {
    const char *owned[S_MAX];
    const char *occupied[S_MAX];
    const char *members[S_MAX]; /* "channel/user" */
    bool origin_live;
    char hooks[S_MAX][96]; /* reported: "kind channel[ user]" */
    size_t n_hooks;
} s_shard_t;

static bool s_in(const char *const *list, rtm_str_t s)
{
    for (size_t i = 0; i < S_MAX && list[i]; i++)
        if (rtm_str_eq_cstr(s, list[i]))
            return true;
    return false;
}

static bool s_owns(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    assert_true(rtm_str_eq_cstr(app, "app"));
    return s_in(((s_shard_t *)ctx)->owned, channel);
}

static bool s_occupied(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    (void)app;
    return s_in(((s_shard_t *)ctx)->occupied, channel);
}

static bool s_has_user(void *ctx, rtm_str_t app, rtm_str_t channel, rtm_str_t user_id)
{
    (void)app;
    char both[128];
    int n = snprintf(both, sizeof both, "%.*s/%.*s", (int)channel.len, channel.p, (int)user_id.len,
                     user_id.p);
    return s_in(((s_shard_t *)ctx)->members, rtm_str(both, (size_t)n));
}

static bool s_live(void *ctx, uint64_t key)
{
    return key == S_ORIGIN && ((s_shard_t *)ctx)->origin_live;
}

static void s_hook(void *ctx, const rtm_channel_hook_t *h)
{
    s_shard_t *s = ctx;
    assert_true(s->n_hooks < S_MAX);
    char *o = s->hooks[s->n_hooks++];
    int n = snprintf(o, 96, "%s %.*s", rtm_webhook_kind_name(h->kind), (int)h->channel.len,
                     h->channel.p);
    if (h->user_id.len)
        snprintf(o + n, 96 - (size_t)n, " %.*s", (int)h->user_id.len, h->user_id.p);
}

static rtm_replica_env_t s_env(s_shard_t *s)
{
    return (rtm_replica_env_t){s, s_owns, s_occupied, s_has_user, s_live, s_hook};
}

static void s_hooks_are(s_shard_t *s, const char *const *want, size_t n)
{
    assert_int_equal(s->n_hooks, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(s->hooks[i], want[i]);
    s->n_hooks = 0;
}
#define S_HOOKS(s, ...)                                                                            \
    do {                                                                                           \
        const char *const w_[] = {__VA_ARGS__};                                                    \
        s_hooks_are(s, w_, sizeof w_ / sizeof w_[0]);                                              \
    } while (0)
#define S_NO_HOOKS(s) s_hooks_are(s, NULL, 0)

/* Applies a REPLICA {shard, app, channel, count, members...} (NULL-ended),
 * encoded and decoded with the real codec. */
static int s_apply(rtm_replica_ledger_t *l, s_shard_t *s, uint32_t shard, const char *channel,
                   uint64_t count, uint64_t now_ms, ...)
{
    rtm_wire_member_t members[S_MAX];
    uint32_t n = 0;
    va_list ap;
    va_start(ap, now_ms);
    for (const char *u; (u = va_arg(ap, const char *));)
        members[n++] = (rtm_wire_member_t){rtm_str_cstr(u), rtm_str(NULL, 0), false};
    va_end(ap);
    rtm_wire_msg_t m = {.type = RTM_WIRE_REPLICA,
                        .shard = shard,
                        .app = S("app"),
                        .channel = rtm_str_cstr(channel),
                        .count = count,
                        .members = members,
                        .n_members = n};
    char buf[1024];
    int len = rtm_wire_encode(&m, buf, sizeof buf);
    assert_true(len > 0);
    rtm_wire_msg_t got;
    assert_int_equal(rtm_wire_decode(buf, (size_t)len, &got), 0);
    rtm_replica_env_t env = s_env(s);
    return rtm_replica_ledger_apply(l, &got, shard, &env, now_ms);
}

static void s_tick(rtm_replica_ledger_t *l, s_shard_t *s, uint64_t now_ms)
{
    rtm_replica_env_t env = s_env(s);
    rtm_replica_ledger_tick(l, &env, now_ms);
}

static void s_moved(rtm_replica_ledger_t *l, s_shard_t *s, uint64_t now_ms)
{
    rtm_replica_env_t env = s_env(s);
    rtm_replica_ledger_moved(l, &env, now_ms);
}

static rtm_replica_ledger_t *s_ledger(void)
{
    rtm_replica_ledger_limits_t lim = rtm_replica_ledger_default_limits();
    lim.settle_ms = SETTLE;
    return rtm_replica_ledger_new(&lim);
}

static bool s_filter(rtm_replica_ledger_t *l, s_shard_t *s, rtm_webhook_kind_t kind,
                     const char *channel, const char *user, uint64_t now_ms)
{
    rtm_channel_hook_t h = {.kind = kind,
                            .app = S("app"),
                            .channel = rtm_str_cstr(channel),
                            .user_id = rtm_str_cstr(user)};
    rtm_replica_env_t env = s_env(s);
    return rtm_replica_ledger_filter(l, &h, &env, now_ms);
}

static void test_takeover_reports_what_went(void **state)
{
    (void)state;
    s_shard_t s = {.origin_live = true};
    rtm_replica_ledger_t *l = s_ledger();
    assert_int_equal(s_apply(l, &s, 1, "gone", 1, 100, NULL), 0);
    assert_int_equal(s_apply(l, &s, 1, "presence-p", 1, 100, "ann", "bob", "cy", NULL), 0);
    assert_int_equal(s_apply(l, &s, 1, "still", 1, 100, NULL), 0);
    assert_int_equal(rtm_replica_ledger_stats(l)->channels, 3);
    assert_int_equal(rtm_replica_ledger_stats(l)->users, 3);
    /* Passive while the sender owns the channels: nothing, however long. */
    s_tick(l, &s, 100 + 10 * SETTLE);
    S_NO_HOOKS(&s);

    /* The sender dies: this shard owns them now and settles after SETTLE. */
    s.origin_live = false;
    s.owned[0] = "gone", s.owned[1] = "presence-p", s.owned[2] = "still";
    s_moved(l, &s, 50000);
    assert_int_equal(rtm_replica_ledger_stats(l)->settling, 3);
    /* Meanwhile the nodes re-announce what is still there. */
    s.occupied[0] = "presence-p", s.occupied[1] = "still";
    s.members[0] = "presence-p/ann", s.members[1] = "presence-p/cy";
    s_tick(l, &s, 50000 + SETTLE - 1);
    S_NO_HOOKS(&s);
    s_tick(l, &s, 50000 + SETTLE);
    S_HOOKS(&s, "channel_vacated gone", "member_removed presence-p bob");
    const rtm_replica_ledger_stats_t *st = rtm_replica_ledger_stats(l);
    assert_int_equal(st->settled, 3);
    assert_int_equal(st->vacated, 1);
    assert_int_equal(st->removed, 1);
    assert_int_equal(st->channels, 0);
    assert_int_equal(st->users, 0);
    assert_int_equal(st->bytes, 0);
    /* Once: settled beliefs are forgotten. */
    s_tick(l, &s, 50000 + 10 * SETTLE);
    S_NO_HOOKS(&s);
    rtm_replica_ledger_destroy(&l);
    assert_null(l);
}

static void test_filter_while_settling(void **state)
{
    (void)state;
    s_shard_t s = {.origin_live = false, .owned = {"presence-p", "c"}};
    rtm_replica_ledger_t *l = s_ledger();
    /* Owned here already: a handover settles at once. */
    assert_int_equal(s_apply(l, &s, 1, "presence-p", 1, 0, "ann", "bob", NULL), 0);
    assert_int_equal(s_apply(l, &s, 1, "c", 1, 0, NULL), 0);
    assert_int_equal(rtm_replica_ledger_stats(l)->settling, 2);
    /* What the consumer knows of is not reported again... */
    assert_false(s_filter(l, &s, RTM_WEBHOOK_CHANNEL_OCCUPIED, "c", "", 0));
    assert_false(s_filter(l, &s, RTM_WEBHOOK_MEMBER_ADDED, "presence-p", "ann", 0));
    assert_int_equal(rtm_replica_ledger_stats(l)->suppressed, 2);
    /* ...what it does not is; and other channels are not touched. */
    assert_true(s_filter(l, &s, RTM_WEBHOOK_MEMBER_ADDED, "presence-p", "dan", 0));
    assert_true(s_filter(l, &s, RTM_WEBHOOK_CHANNEL_OCCUPIED, "other", "", 0));
    assert_true(s_filter(l, &s, RTM_WEBHOOK_SUBSCRIPTION_COUNT, "c", "", 0));
    /* Changes here update the belief: bob's removal and c's vacate are not repeated. */
    assert_true(s_filter(l, &s, RTM_WEBHOOK_MEMBER_REMOVED, "presence-p", "bob", 0));
    assert_true(s_filter(l, &s, RTM_WEBHOOK_CHANNEL_VACATED, "c", "", 0));
    assert_int_equal(rtm_replica_ledger_stats(l)->users, 1);
    /* A removal of a user the belief never had goes out too (better than a ghost). */
    assert_true(s_filter(l, &s, RTM_WEBHOOK_MEMBER_REMOVED, "presence-p", "zed", 0));
    /* After a vacate, a new occupation is news again. */
    assert_true(s_filter(l, &s, RTM_WEBHOOK_CHANNEL_OCCUPIED, "c", "", 0));
    assert_false(s_filter(l, &s, RTM_WEBHOOK_CHANNEL_OCCUPIED, "c", "", 0));
    s.occupied[0] = "presence-p";
    s_tick(l, &s, SETTLE);
    S_HOOKS(&s, "member_removed presence-p ann", "channel_vacated c");
    rtm_replica_ledger_destroy(&l);
}

/* The nodes move a returning shard's channel back to it before the old owner
 * notices and hands it over: what this shard reported meanwhile is newer than
 * the handover, and neither repeated nor held back. After settle_ms the
 * memory is gone and a snapshot is taken whole. */
static void test_own_reports_override_handover(void **state)
{
    (void)state;
    s_shard_t s = {.origin_live = true, .owned = {"presence-p", "presence-q"}};
    rtm_replica_ledger_t *l = s_ledger();
    assert_true(s_filter(l, &s, RTM_WEBHOOK_MEMBER_REMOVED, "presence-p", "ann", 0));
    assert_true(s_filter(l, &s, RTM_WEBHOOK_MEMBER_REMOVED, "presence-p", "bob", 0));
    assert_true(s_filter(l, &s, RTM_WEBHOOK_CHANNEL_VACATED, "presence-p", "", 0));
    assert_true(s_filter(l, &s, RTM_WEBHOOK_MEMBER_ADDED, "presence-p", "ann", 900));
    /* The old owner hands over what it announced before the nodes moved. */
    assert_int_equal(s_apply(l, &s, 1, "presence-p", 2, 1000, "ann", "bob", NULL), 0);
    assert_int_equal(rtm_replica_ledger_stats(l)->overridden, 2); /* the vacate, bob */
    assert_true(s_filter(l, &s, RTM_WEBHOOK_CHANNEL_OCCUPIED, "presence-p", "", 1100));
    assert_false(s_filter(l, &s, RTM_WEBHOOK_MEMBER_ADDED, "presence-p", "ann", 1100));
    s.occupied[0] = "presence-p";
    s.members[0] = "presence-p/ann";
    s_tick(l, &s, 1000 + SETTLE);
    S_NO_HOOKS(&s);

    /* Reported long enough ago: the snapshot stands as sent. */
    assert_true(s_filter(l, &s, RTM_WEBHOOK_MEMBER_REMOVED, "presence-q", "cy", 5000));
    s_tick(l, &s, 5000 + SETTLE);
    assert_int_equal(s_apply(l, &s, 1, "presence-q", 1, 5000 + SETTLE, "cy", NULL), 0);
    s_tick(l, &s, 5000 + 2 * SETTLE);
    S_HOOKS(&s, "member_removed presence-q cy", "channel_vacated presence-q");
    assert_int_equal(rtm_replica_ledger_stats(l)->overridden, 2);
    rtm_replica_ledger_destroy(&l);
}

static void test_forget_and_replace(void **state)
{
    (void)state;
    s_shard_t s = {.origin_live = true};
    rtm_replica_ledger_t *l = s_ledger();
    assert_int_equal(s_apply(l, &s, 1, "presence-p", 1, 0, "ann", "bob", NULL), 0);
    /* A newer snapshot replaces the old one whole (duplicates counted once). */
    assert_int_equal(s_apply(l, &s, 1, "presence-p", 1, 0, "cy", "cy", NULL), 0);
    assert_int_equal(rtm_replica_ledger_stats(l)->users, 1);
    /* An empty snapshot from another sender does not drop it; from its sender it does. */
    assert_int_equal(s_apply(l, &s, 2, "presence-p", 0, 0, NULL), 0);
    assert_int_equal(rtm_replica_ledger_stats(l)->channels, 1);
    assert_int_equal(s_apply(l, &s, 1, "presence-p", 0, 0, NULL), 0);
    assert_int_equal(rtm_replica_ledger_stats(l)->channels, 0);
    assert_int_equal(rtm_replica_ledger_stats(l)->users, 0);
    assert_int_equal(rtm_replica_ledger_stats(l)->applied, 4);
    /* Taken over after a forget: nothing to report. */
    s.owned[0] = "presence-p";
    s.origin_live = false;
    s_moved(l, &s, 0);
    s_tick(l, &s, SETTLE);
    S_NO_HOOKS(&s);
    /* A channel that makes no topic is refused. */
    assert_int_equal(s_apply(l, &s, 1, "", 1, 0, NULL), RTM_EINVAL);
    assert_int_equal(rtm_replica_ledger_stats(l)->refused, 1);
    rtm_replica_ledger_destroy(&l);
}

static void test_moved_elsewhere(void **state)
{
    (void)state;
    s_shard_t s = {.origin_live = true, .owned = {"c"}};
    rtm_replica_ledger_t *l = s_ledger();
    assert_int_equal(s_apply(l, &s, 1, "c", 1, 0, NULL), 0); /* settles: owned */
    assert_int_equal(s_apply(l, &s, 1, "d", 1, 0, NULL), 0); /* passive */
    /* The views change: c is the sender's again (it is live): back to passive. */
    s.owned[0] = NULL;
    s_moved(l, &s, 10);
    assert_int_equal(rtm_replica_ledger_stats(l)->settling, 0);
    s_tick(l, &s, 10 * SETTLE);
    S_NO_HOOKS(&s);
    /* The sender dies and a third shard owns them: dropped, never reported. */
    s.origin_live = false;
    s_moved(l, &s, 20);
    assert_int_equal(rtm_replica_ledger_stats(l)->channels, 0);
    /* A belief that settles but is owned elsewhere at its deadline stays passive. */
    s.owned[0] = "e";
    s.origin_live = true;
    assert_int_equal(s_apply(l, &s, 1, "e", 1, 100, NULL), 0);
    s.owned[0] = NULL;
    s_tick(l, &s, 100 + SETTLE);
    S_NO_HOOKS(&s);
    assert_int_equal(rtm_replica_ledger_stats(l)->settling, 0);
    assert_int_equal(rtm_replica_ledger_stats(l)->channels, 1);
    /* A second takeover starts a new period. */
    s.owned[0] = "e";
    s_moved(l, &s, 200000);
    s_tick(l, &s, 200000 + SETTLE - 1);
    S_NO_HOOKS(&s);
    s_tick(l, &s, 200000 + SETTLE);
    S_HOOKS(&s, "channel_vacated e");
    assert_int_equal(rtm_replica_ledger_stats(l)->takeovers, 3);
    rtm_replica_ledger_destroy(&l);
}

/* docs/soak.md failure 2: a shard cut off from everything sees its peers
 * die and takes their channels over in its own view; no node re-announces
 * (it hears none), so settling would report every believed member gone.
 * Settling waits while it hears nobody; once the partition heals its peer
 * counts again and the channel goes back to it: nothing is reported. */
static void test_cut_off_takeover_waits(void **state)
{
    (void)state;
    s_shard_t s = {.origin_live = true};
    rtm_replica_ledger_t *l = s_ledger();
    assert_int_equal(s_apply(l, &s, 1, "presence-p", 1, 0, "ann", "bob", NULL), 0);
    s.origin_live = false; /* the cut: the sender looks dead, the channel is ours */
    s.owned[0] = "presence-p";
    s_moved(l, &s, 1000);
    for (uint64_t t = 1000; t <= 1000 + 4 * SETTLE; t += 500) {
        rtm_replica_ledger_postpone(l, t); /* hears nobody */
        s_tick(l, &s, t);
    }
    S_NO_HOOKS(&s);
    /* Healed at 13000: the sender counts again a second later, before the
     * postponed deadline, and owns its channel: passive, nothing reported. */
    s_tick(l, &s, 13000 + SETTLE - 1);
    S_NO_HOOKS(&s);
    s.origin_live = true;
    s.owned[0] = NULL;
    s_moved(l, &s, 14000);
    s_tick(l, &s, 14000 + 10 * SETTLE);
    S_NO_HOOKS(&s);
    assert_int_equal(rtm_replica_ledger_stats(l)->channels, 1);
    assert_int_equal(rtm_replica_ledger_stats(l)->settled, 0);
    /* The sender really died meanwhile: once heard again by the nodes this
     * shard settles settle_ms after it last heard nobody, with what they
     * re-announced. */
    s.origin_live = false;
    s.owned[0] = "presence-p";
    s_moved(l, &s, 50000);
    rtm_replica_ledger_postpone(l, 50500);
    s.members[0] = "presence-p/ann";
    s.occupied[0] = "presence-p";
    s_tick(l, &s, 50500 + SETTLE - 1);
    S_NO_HOOKS(&s);
    s_tick(l, &s, 50500 + SETTLE);
    S_HOOKS(&s, "member_removed presence-p bob");
    rtm_replica_ledger_destroy(&l);
}

static void test_owned_before_moved(void **state)
{
    (void)state;
    s_shard_t s = {.origin_live = true};
    rtm_replica_ledger_t *l = s_ledger();
    assert_int_equal(s_apply(l, &s, 1, "c", 1, 0, NULL), 0);
    /* Passive: a change elsewhere-owned passes, and starts nothing. */
    assert_true(s_filter(l, &s, RTM_WEBHOOK_CHANNEL_OCCUPIED, "c", "", 10));
    assert_int_equal(rtm_replica_ledger_stats(l)->settling, 0);
    /* This shard learns it owns c from a first subscriber's change, before the
     * live-set change reaches rtm_replica_ledger_moved: still no second occupation. */
    s.owned[0] = "c";
    assert_false(s_filter(l, &s, RTM_WEBHOOK_CHANNEL_OCCUPIED, "c", "", 100));
    assert_int_equal(rtm_replica_ledger_stats(l)->settling, 1);
    s_moved(l, &s, 500); /* keeps the deadline it has */
    s.occupied[0] = "c";
    s_tick(l, &s, 100 + SETTLE);
    S_NO_HOOKS(&s);
    assert_int_equal(rtm_replica_ledger_stats(l)->settled, 1);
    rtm_replica_ledger_destroy(&l);
}

static void s_collect(void *ctx, rtm_str_t user_id)
{
    char *out = ctx;
    strncat(out, user_id.p, user_id.len);
    strcat(out, ",");
}

static void test_belief_passed_on(void **state)
{
    (void)state;
    s_shard_t s = {.origin_live = false, .owned = {"presence-p"}};
    rtm_replica_ledger_t *l = s_ledger();
    bool occupied = false;
    char ids[64] = "";
    assert_false(
        rtm_replica_ledger_belief(l, S("app"), S("presence-p"), &occupied, s_collect, ids));
    assert_int_equal(s_apply(l, &s, 1, "presence-p", 1, 0, "bob", "ann", NULL), 0);
    assert_true(s_filter(l, &s, RTM_WEBHOOK_MEMBER_REMOVED, "presence-p", "bob", 0));
    assert_true(rtm_replica_ledger_belief(l, S("app"), S("presence-p"), &occupied, s_collect, ids));
    assert_true(occupied);
    assert_string_equal(ids, "ann,"); /* sorted, bob gone */
    assert_true(rtm_replica_ledger_belief(l, S("app"), S("presence-p"), &occupied, NULL, NULL));
    /* A passive belief is the sender's business: not passed on. */
    s.owned[0] = NULL;
    assert_int_equal(s_apply(l, &s, 1, "q", 1, 0, NULL), 0);
    assert_false(rtm_replica_ledger_belief(l, S("app"), S("q"), &occupied, NULL, NULL));
    rtm_replica_ledger_destroy(&l);
}

static void test_bounds(void **state)
{
    (void)state;
    s_shard_t s = {.origin_live = true};
    rtm_replica_ledger_limits_t lim = {.max_channels = 2, .max_bytes = 6, .settle_ms = SETTLE};
    rtm_replica_ledger_t *l = rtm_replica_ledger_new(&lim);
    assert_int_equal(s_apply(l, &s, 1, "a", 1, 0, NULL), 0);
    assert_int_equal(s_apply(l, &s, 1, "presence-b", 1, 0, "abc", NULL), 0);
    assert_int_equal(s_apply(l, &s, 1, "c", 1, 0, NULL), RTM_EUNAVAIL); /* channels */
    /* Exactly at the byte bound, then one over: the stale belief goes too. */
    assert_int_equal(s_apply(l, &s, 1, "presence-b", 1, 0, "abc", "def", NULL), 0);
    assert_int_equal(rtm_replica_ledger_stats(l)->bytes, 6);
    assert_int_equal(s_apply(l, &s, 1, "presence-b", 1, 0, "abcd", "def", NULL), RTM_EUNAVAIL);
    const rtm_replica_ledger_stats_t *st = rtm_replica_ledger_stats(l);
    assert_int_equal(st->refused, 2);
    assert_int_equal(st->channels, 1);
    assert_int_equal(st->bytes, 0);
    rtm_replica_ledger_destroy(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_takeover_reports_what_went),
        cmocka_unit_test(test_filter_while_settling),
        cmocka_unit_test(test_own_reports_override_handover),
        cmocka_unit_test(test_forget_and_replace),
        cmocka_unit_test(test_moved_elsewhere),
        cmocka_unit_test(test_cut_off_takeover_waits),
        cmocka_unit_test(test_owned_before_moved),
        cmocka_unit_test(test_belief_passed_on),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
