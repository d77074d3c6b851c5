/* Tests for the broker's webhook queue: batching window, one request per
 * lane in flight (per-channel order, per-URL concurrency), retries with
 * back-off until the retry period ends, final refusals, the bound on events
 * held, and the counters. The clock is passed in, so no test waits. */
#define _GNU_SOURCE /* memmem */
#include "rtm_error.h"
#include "webhook_queue.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static rtm_webhook_queue_limits_t s_lim(void)
{
    rtm_webhook_queue_limits_t l = rtm_webhook_queue_default_limits();
    l.batch_ms = 50;
    l.lanes = 2;
    l.max_events = 8;
    l.retry_for_ms = 10000;
    l.backoff_ms = 100;
    l.backoff_max_ms = 1000;
    return l;
}

static void s_push(rtm_webhook_queue_t *q, uint32_t target, const char *channel, const char *json,
                   uint64_t now)
{
    assert_int_equal(
        rtm_webhook_queue_push(q, target, rtm_str_cstr(channel), rtm_str_cstr(json), now), 0);
}

static void s_body_is(const rtm_webhook_batch_t *b, const char *want)
{
    assert_non_null(b);
    assert_int_equal(b->len, strlen(want));
    assert_memory_equal(b->body, want, b->len);
}

static void test_batching_window(void **state)
{
    (void)state;
    rtm_webhook_queue_limits_t l = s_lim();
    l.lanes = 1;
    rtm_webhook_queue_t *q = rtm_webhook_queue_new(&l, 1);
    assert_int_equal(rtm_webhook_queue_wait_ms(q, 0), UINT64_MAX);
    s_push(q, 0, "a", "{\"e\":1}", 1000);
    s_push(q, 0, "b", "{\"e\":2}", 1020);
    /* The window opened by the first event is not over yet. */
    assert_null(rtm_webhook_queue_take(q, 1049, 7));
    assert_int_equal(rtm_webhook_queue_wait_ms(q, 1010), 40);
    rtm_webhook_batch_t *b = rtm_webhook_queue_take(q, 1050, 7);
    s_body_is(b, "{\"time_ms\":7,\"events\":[{\"e\":1},{\"e\":2}]}");
    assert_int_equal(b->n_events, 2);
    assert_int_equal(b->attempt, 1);
    assert_int_equal(b->target, 0);
    /* In flight: nothing else of the lane goes, whatever waits. */
    s_push(q, 0, "a", "{\"e\":3}", 1060);
    assert_null(rtm_webhook_queue_take(q, 5000, 8));
    assert_int_equal(rtm_webhook_queue_held(q), 3);
    rtm_webhook_queue_done(q, b, RTM_WEBHOOK_DELIVERED, 1100);
    b = rtm_webhook_queue_take(q, 1110, 9);
    s_body_is(b, "{\"time_ms\":9,\"events\":[{\"e\":3}]}");
    rtm_webhook_queue_done(q, b, RTM_WEBHOOK_DELIVERED, 1120);
    const rtm_webhook_stats_t *st = rtm_webhook_queue_stats(q, 0);
    assert_int_equal(st->events, 3);
    assert_int_equal(st->sent, 3);
    assert_int_equal(st->requests, 2);
    assert_int_equal(st->latency_ms_sum, (1100 - 1000) + (1100 - 1020) + (1120 - 1060));
    assert_int_equal(st->latency_ms_max, 100);
    assert_int_equal(rtm_webhook_queue_held(q), 0);
    rtm_webhook_queue_destroy(&q);
    assert_null(q);
}

static void test_no_window_and_max_batch(void **state)
{
    (void)state;
    rtm_webhook_queue_limits_t l = s_lim();
    l.batch_ms = 0; /* every event alone, at once */
    l.lanes = 1;
    rtm_webhook_queue_t *q = rtm_webhook_queue_new(&l, 1);
    s_push(q, 0, "a", "1", 10);
    s_push(q, 0, "a", "2", 10);
    assert_int_equal(rtm_webhook_queue_wait_ms(q, 10), 0);
    rtm_webhook_batch_t *b = rtm_webhook_queue_take(q, 10, 1);
    s_body_is(b, "{\"time_ms\":1,\"events\":[1]}");
    rtm_webhook_queue_done(q, b, RTM_WEBHOOK_DELIVERED, 11);
    s_body_is(b = rtm_webhook_queue_take(q, 11, 1), "{\"time_ms\":1,\"events\":[2]}");
    rtm_webhook_queue_done(q, b, RTM_WEBHOOK_DELIVERED, 12);
    rtm_webhook_queue_destroy(&q);

    l = s_lim();
    l.max_batch = 2;
    l.lanes = 1;
    q = rtm_webhook_queue_new(&l, 1);
    for (int i = 0; i < 3; i++)
        s_push(q, 0, "a", "x", 0);
    /* A full batch goes before its window closes; the rest waits for it. */
    s_body_is(b = rtm_webhook_queue_take(q, 1, 1), "{\"time_ms\":1,\"events\":[x,x]}");
    rtm_webhook_queue_destroy(&q); /* frees what is in flight too */
}

static void test_lanes_keep_channel_order(void **state)
{
    (void)state;
    rtm_webhook_queue_limits_t l = s_lim();
    l.lanes = 4;
    l.max_events = 1000;
    rtm_webhook_queue_t *q = rtm_webhook_queue_new(&l, 1);
    char ch[16];
    for (int i = 0; i < 40; i++) {
        snprintf(ch, sizeof ch, "c%d", i % 10);
        s_push(q, 0, ch, ch, 0);
    }
    /* At most `lanes` requests in flight, each for distinct channels. */
    rtm_webhook_batch_t *flying[8];
    int n = 0;
    while (n < 8 && (flying[n] = rtm_webhook_queue_take(q, 100, 1)))
        n++;
    assert_true(n >= 2 && n <= 4);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 10; k++) {
            snprintf(ch, sizeof ch, "c%d", k);
            for (int j = i + 1; j < n; j++)
                assert_false(memmem(flying[i]->body, flying[i]->len, ch, 2) &&
                             memmem(flying[j]->body, flying[j]->len, ch, 2));
        }
    for (int i = 0; i < n; i++)
        rtm_webhook_queue_done(q, flying[i], RTM_WEBHOOK_DELIVERED, 101);
    assert_int_equal(rtm_webhook_queue_held(q), 0);
    rtm_webhook_queue_destroy(&q);
}

static void test_retries(void **state)
{
    (void)state;
    rtm_webhook_queue_limits_t l = s_lim();
    l.lanes = 1;
    rtm_webhook_queue_t *q = rtm_webhook_queue_new(&l, 2);
    s_push(q, 0, "a", "1", 0);
    rtm_webhook_batch_t *b = rtm_webhook_queue_take(q, 50, 5);
    s_body_is(b, "{\"time_ms\":5,\"events\":[1]}");
    /* Retried with the same bytes after a jittered, doubling back-off. */
    uint64_t now = 60;
    for (uint32_t attempt = 1; attempt <= 4; attempt++) {
        rtm_webhook_queue_done(q, b, RTM_WEBHOOK_RETRY, now);
        uint64_t d = 100ULL << (attempt - 1);
        uint64_t wait = rtm_webhook_queue_wait_ms(q, now);
        assert_true(wait >= d / 2 && wait <= d);
        assert_null(rtm_webhook_queue_take(q, now + wait - 1, 99));
        now += wait;
        b = rtm_webhook_queue_take(q, now, 99);
        s_body_is(b, "{\"time_ms\":5,\"events\":[1]}");
        assert_int_equal(b->attempt, attempt + 1);
    }
    /* Events queued meanwhile wait behind it: order is kept. */
    s_push(q, 0, "a", "2", now);
    rtm_webhook_queue_done(q, b, RTM_WEBHOOK_DELIVERED, now);
    s_body_is(b = rtm_webhook_queue_take(q, now + 50, 6), "{\"time_ms\":6,\"events\":[2]}");
    /* Refused (4xx): final, counted, the next goes. */
    rtm_webhook_queue_done(q, b, RTM_WEBHOOK_REFUSED, now + 60);
    const rtm_webhook_stats_t *st = rtm_webhook_queue_stats(q, 0);
    assert_int_equal(st->retried, 4);
    assert_int_equal(st->sent, 1);
    assert_int_equal(st->failed, 1);

    /* Retries end retry_for_ms after the first attempt; back-off is capped. */
    s_push(q, 1, "a", "3", 0);
    b = rtm_webhook_queue_take(q, 100, 1);
    now = 100;
    while (b) {
        rtm_webhook_queue_done(q, b, RTM_WEBHOOK_RETRY, now);
        uint64_t wait = rtm_webhook_queue_wait_ms(q, now);
        if (wait == UINT64_MAX)
            break;
        assert_true(wait <= 1000);
        now += wait;
        b = rtm_webhook_queue_take(q, now, 1);
    }
    assert_true(now >= 100 + 10000 && now < 100 + 10000 + 1000);
    assert_int_equal(rtm_webhook_queue_stats(q, 1)->failed, 1);
    assert_int_equal(rtm_webhook_queue_held(q), 0);
    rtm_webhook_queue_destroy(&q);
}

static void test_bounded(void **state)
{
    (void)state;
    rtm_webhook_queue_limits_t l = s_lim();
    rtm_webhook_queue_t *q = rtm_webhook_queue_new(&l, 2);
    for (int i = 0; i < 8; i++)
        s_push(q, i % 2, "a", "x", 0);
    assert_int_equal(rtm_webhook_queue_push(q, 1, rtm_str_cstr("b"), rtm_str_cstr("y"), 0),
                     RTM_EUNAVAIL);
    assert_int_equal(rtm_webhook_queue_stats(q, 1)->dropped, 1);
    assert_int_equal(rtm_webhook_queue_stats(q, 0)->dropped, 0);
    /* In flight still counts as held; delivered frees room. */
    rtm_webhook_batch_t *b = rtm_webhook_queue_take(q, 100, 1);
    assert_non_null(b);
    assert_int_equal(rtm_webhook_queue_held(q), 8);
    assert_int_equal(rtm_webhook_queue_target_held(q, 0), 4);
    assert_int_equal(rtm_webhook_queue_target_held(q, 1), 4);
    uint32_t n = b->n_events, t = b->target;
    rtm_webhook_queue_done(q, b, RTM_WEBHOOK_DELIVERED, 100);
    assert_int_equal(rtm_webhook_queue_held(q), 8 - n);
    assert_int_equal(rtm_webhook_queue_target_held(q, t), 4 - n);
    assert_int_equal(rtm_webhook_queue_target_held(q, 1 - t), 4);
    s_push(q, 1, "b", "y", 100);
    rtm_webhook_queue_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batching_window),
        cmocka_unit_test(test_no_window_and_max_batch),
        cmocka_unit_test(test_lanes_keep_channel_order),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
