/* rtm_interest: when the node subscribes a topic at the brokers (its first
 * worker) and cancels it (its last), and to whom a topic's messages go. */
#include "interest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static rtm_str_t s_topic(const char *t)
{
    return rtm_str(t, strlen(t) + 1); /* the terminator is part of a topic */
}

static void test_first_want_and_last_drop_change_the_brokers(void **state)
{
    rtm_interest_t *t = rtm_interest_new();
    rtm_str_t a = s_topic("app|chat");
    assert_true(rtm_interest_set(t, a, 3, true));   /* first: subscribe */
    assert_false(rtm_interest_set(t, a, 5, true));  /* already subscribed */
    assert_false(rtm_interest_set(t, a, 3, false)); /* worker 5 still wants it */
    assert_true(rtm_interest_set(t, a, 5, false));  /* last: cancel */
    assert_int_equal(rtm_interest_of(t, a), 0);
    assert_true(rtm_interest_set(t, a, 0, true)); /* wanted again: subscribe again */
    rtm_interest_destroy(&t);
    assert_null(t);
}

static void test_repeats_and_strangers_change_nothing(void **state)
{
    rtm_interest_t *t = rtm_interest_new();
    rtm_str_t a = s_topic("app|chat");
    assert_false(rtm_interest_set(t, a, 1, false)); /* never wanted */
    assert_true(rtm_interest_set(t, a, 1, true));
    assert_false(rtm_interest_set(t, a, 1, true));  /* a set, not a count */
    assert_false(rtm_interest_set(t, a, 2, false)); /* worker 2 never wanted it */
    assert_int_equal(rtm_interest_of(t, a), UINT64_C(1) << 1);
    assert_true(rtm_interest_set(t, a, 1, false)); /* one drop undoes both wants */
    rtm_interest_destroy(&t);
}

static void test_workers_of_a_topic_across_all_64(void **state)
{
    rtm_interest_t *t = rtm_interest_new();
    rtm_str_t a = s_topic("app|a"), b = s_topic("app|b");
    for (unsigned w = 0; w < RTM_INTEREST_MAX_WORKERS; w++)
        rtm_interest_set(t, a, w, true);
    rtm_interest_set(t, b, 63, true);
    rtm_interest_set(t, b, 0, true);
    assert_int_equal(rtm_interest_of(t, a), UINT64_MAX);
    assert_int_equal(rtm_interest_of(t, b), (UINT64_C(1) << 63) | 1);
    /* a topic is matched whole, never as a prefix (a libzmq SUB would) */
    assert_int_equal(rtm_interest_of(t, rtm_str(a.p, a.len - 1)), 0);
    assert_int_equal(rtm_interest_of(t, s_topic("app|c")), 0);
    rtm_interest_destroy(&t);
}

static void s_collect(void *arg, rtm_str_t topic)
{
    char *seen = arg;
    strcat(seen, topic.p + 4); /* after "app|" */
}

static void test_each_lists_exactly_the_wanted_topics(void **state)
{
    rtm_interest_t *t = rtm_interest_new();
    char seen[16] = "";
    rtm_interest_each(t, s_collect, seen);
    assert_string_equal(seen, "");
    rtm_interest_set(t, s_topic("app|a"), 0, true);
    rtm_interest_set(t, s_topic("app|b"), 1, true);
    rtm_interest_set(t, s_topic("app|c"), 2, true);
    rtm_interest_set(t, s_topic("app|b"), 1, false);
    rtm_interest_each(t, s_collect, seen); /* what a reconnected link subscribes again */
    assert_int_equal(strlen(seen), 2);
    assert_non_null(strchr(seen, 'a'));
    assert_non_null(strchr(seen, 'c'));
    rtm_interest_destroy(&t);
    rtm_interest_destroy(&t); /* safe on NULL */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_want_and_last_drop_change_the_brokers),
        cmocka_unit_test(test_repeats_and_strangers_change_nothing),
        cmocka_unit_test(test_workers_of_a_topic_across_all_64),
        cmocka_unit_test(test_each_lists_exactly_the_wanted_topics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
