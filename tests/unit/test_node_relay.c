/* rtm_relay: messages handed from one loop to another arrive whole, once and
 * in order, what waits is handled in one turn, and a closed inbox drops what it
 * is given without touching the stopped loop. */
#include "relay.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define S_MESSAGES 10000

typedef struct {
    uv_loop_t loop;
    rtm_relay_inbox_t in;
    uv_timer_t watchdog;
    uint32_t handled, out_of_order;
    uint64_t last_heard;
} s_consumer_t;

static void s_handle(void *ctx, const rtm_relay_msg_t *m)
{
    s_consumer_t *c = ctx;
    if (c->handled && m->heard_ms != c->last_heard + 1)
        c->out_of_order++;
    /* the event's frame is the JSON, framed once by the producer */
    assert_true(rtm_str_eq(rtm_frame_payload(m->frame), m->body));
    assert_true(rtm_str_eq(m->topic, rtm_str_cstr("app|chat")));
    c->last_heard = m->heard_ms;
    if (++c->handled == S_MESSAGES) {
        rtm_relay_inbox_close(&c->in);
        uv_close((uv_handle_t *)&c->watchdog, NULL);
    }
}

static void s_on_watchdog(uv_timer_t *t)
{
    fail_msg("the consumer did not get every message");
}

static void s_consume(void *arg)
{
    s_consumer_t *c = arg;
    uv_run(&c->loop, UV_RUN_DEFAULT);
}

static rtm_relay_msg_t *s_event(uint64_t n)
{
    char json[64];
    snprintf(json, sizeof json, "{\"event\":\"e\",\"data\":\"%llu\"}", (unsigned long long)n);
    rtm_relay_msg_t *m = rtm_relay_msg_new(RTM_RELAY_EVENT, rtm_str_cstr("app|chat"),
                                           rtm_str_cstr("1.2"), rtm_str_cstr(json));
    m->heard_ms = n;
    return m;
}

static void test_every_message_once_in_order_across_threads(void **state)
{
    s_consumer_t c = {0};
    uv_loop_init(&c.loop);
    rtm_relay_inbox_init(&c.in);
    assert_int_equal(rtm_relay_inbox_open(&c.in, &c.loop, s_handle, &c), 0);
    uv_timer_init(&c.loop, &c.watchdog);
    uv_timer_start(&c.watchdog, s_on_watchdog, 10000, 0);
    uv_thread_t consumer;
    uv_thread_create(&consumer, s_consume, &c);
    rtm_relay_batch_t b = {0};
    for (uint64_t n = 1; n <= S_MESSAGES; n++) { /* batches of 1 to 7 while the consumer runs */
        rtm_relay_batch_add(&b, s_event(n));
        if (n % 7 == 0 || n % 5 == 0 || n == S_MESSAGES)
            assert_true(rtm_relay_inbox_add(&c.in, &b));
        assert_true(b.n == 0 || (n % 7 && n % 5));
    }
    uv_thread_join(&consumer);
    assert_int_equal(c.handled, S_MESSAGES);
    assert_int_equal(c.out_of_order, 0);
    /* closed by its consumer: more is dropped, and the stopped loop is not woken */
    rtm_relay_batch_add(&b, s_event(1));
    assert_false(rtm_relay_inbox_add(&c.in, &b));
    assert_int_equal(b.n, 0);
    rtm_relay_batch_free(&b);
    assert_int_equal(uv_loop_close(&c.loop), 0);
    rtm_relay_inbox_destroy(&c.in);
}

static void s_count(void *ctx, const rtm_relay_msg_t *m)
{
    ((s_consumer_t *)ctx)->handled++;
}

static void s_on_turn(uv_timer_t *t)
{
    s_consumer_t *c = t->data;
    rtm_relay_inbox_close(&c->in);
    uv_close((uv_handle_t *)t, NULL);
}

static void test_appends_before_the_consumer_runs_are_handled_in_one_turn(void **state)
{
    s_consumer_t c = {0};
    uv_loop_init(&c.loop);
    rtm_relay_inbox_init(&c.in);
    rtm_relay_inbox_open(&c.in, &c.loop, s_count, &c);
    rtm_relay_batch_t b = {0};
    for (int round = 0; round < 3; round++) { /* three appends before the loop runs */
        for (uint64_t n = 0; n < 100; n++)
            rtm_relay_batch_add(&b, s_event(n));
        rtm_relay_inbox_add(&c.in, &b);
    }
    uv_run(&c.loop, UV_RUN_NOWAIT); /* one turn handles all 300 */
    assert_int_equal(c.handled, 300);
    uv_timer_init(&c.loop, &c.watchdog);
    c.watchdog.data = &c;
    uv_timer_start(&c.watchdog, s_on_turn, 0, 0);
    uv_run(&c.loop, UV_RUN_DEFAULT);
    assert_int_equal(c.handled, 300); /* nothing handled twice */
    rtm_relay_batch_free(&b);
    assert_int_equal(uv_loop_close(&c.loop), 0);
    rtm_relay_inbox_destroy(&c.in);
}

static void test_a_message_holds_copies_and_frames_only_events(void **state)
{
    char topic[] = "app|chat", body[] = "{\"n\":1}";
    rtm_relay_msg_t *m = rtm_relay_msg_new(RTM_RELAY_CONTROL, rtm_str_cstr(topic), rtm_str(NULL, 0),
                                           rtm_str_cstr(body));
    topic[0] = body[0] = 'X'; /* the message is the producer's no more */
    assert_true(rtm_str_eq(m->topic, rtm_str_cstr("app|chat")));
    assert_true(rtm_str_eq(m->body, rtm_str_cstr("{\"n\":1}")));
    assert_int_equal(m->exclude.len, 0);
    assert_null(m->frame);
    rtm_relay_msg_t *held = rtm_relay_msg_ref(m);
    rtm_relay_msg_unref(&m);
    assert_null(m);
    assert_true(rtm_str_eq(held->body, rtm_str_cstr("{\"n\":1}"))); /* alive while referenced */
    rtm_relay_msg_unref(&held);
    m = s_event(7);
    rtm_frame_t *f = rtm_frame_ref(m->frame); /* a worker's queued write outlives the message */
    rtm_relay_msg_unref(&m);
    assert_int_equal(f->data[0], 0x81); /* FIN + text */
    assert_true(rtm_str_eq(rtm_frame_payload(f), rtm_str_cstr("{\"event\":\"e\",\"data\":\"7\"}")));
    rtm_frame_unref(&f);
}

/* A bounded inbox whose consumer fell behind: what fits is handled, in
 * order; everything after the first drop is dropped but heartbeats; the
 * consumer hears how many it lost after handling the rest, and the next
 * append, once it has taken its inbox, goes through again. */
typedef struct {
    uint32_t events, heartbeats;
    uint64_t lost, lost_after; /* lost: the count told; lost_after: handled before it */
} s_lossy_t;

static void s_lossy_handle(void *ctx, const rtm_relay_msg_t *m)
{
    s_lossy_t *l = ctx;
    if (m->kind == RTM_RELAY_HEARTBEAT)
        l->heartbeats++;
    else
        l->events++;
}

static void s_lossy_lost(void *ctx, uint64_t dropped)
{
    s_lossy_t *l = ctx;
    l->lost += dropped;
    l->lost_after = l->events + l->heartbeats;
}

static void test_a_bounded_inbox_drops_what_overflows_and_says_so(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    rtm_relay_inbox_t in;
    rtm_relay_inbox_init(&in);
    s_lossy_t l = {0};
    rtm_relay_msg_t *probe = s_event(0);
    size_t each = sizeof *probe + probe->topic.len + probe->exclude.len + probe->body.len;
    rtm_relay_msg_unref(&probe);
    rtm_relay_inbox_limit(&in, 3 * each, s_lossy_lost); /* room for three events */
    assert_int_equal(rtm_relay_inbox_open(&in, &loop, s_lossy_handle, &l), 0);
    rtm_relay_batch_t b = {0};
    for (uint64_t n = 1; n <= 5; n++)
        rtm_relay_batch_add(&b, s_event(n));
    rtm_relay_inbox_add(&in, &b);
    rtm_relay_batch_add(&b, rtm_relay_msg_new(RTM_RELAY_HEARTBEAT, rtm_str(NULL, 0),
                                              rtm_str(NULL, 0), rtm_str_cstr("{}")));
    rtm_relay_batch_add(&b, s_event(6));
    rtm_relay_inbox_add(&in, &b);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(l.events, 3);
    assert_int_equal(l.heartbeats, 1);
    assert_int_equal(l.lost, 3);         /* events 4, 5 and 6 */
    assert_int_equal(l.lost_after, 4);   /* after what was handled */
    rtm_relay_batch_add(&b, s_event(7)); /* taken: room again */
    rtm_relay_inbox_add(&in, &b);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(l.events, 4);
    assert_int_equal(l.lost, 3);
    rtm_relay_inbox_close(&in);
    uv_run(&loop, UV_RUN_DEFAULT);
    rtm_relay_batch_free(&b);
    assert_int_equal(uv_loop_close(&loop), 0);
    rtm_relay_inbox_destroy(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_message_once_in_order_across_threads),
        cmocka_unit_test(test_appends_before_the_consumer_runs_are_handled_in_one_turn),
        cmocka_unit_test(test_a_message_holds_copies_and_frames_only_events),
        cmocka_unit_test(test_a_bounded_inbox_drops_what_overflows_and_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
