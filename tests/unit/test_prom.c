/* Tests for rtm_prom: families and samples byte for byte, label escaping,
 * growth past the first allocation, and free/reuse. */
#include "rtm_prom.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_family_and_samples(void **state)
{
    (void)state;
    rtm_prom_t p;
    rtm_prom_init(&p);
    assert_string_equal(p.buf, "");
    rtm_prom_family(&p, "rtmesh_x_total", "counter", "Things seen.");
    rtm_prom_sample(&p, "rtmesh_x_total", NULL, 0, 0);
    const rtm_prom_label_t labels[] = {{"shard", "3"}, {"kind", "bad"}};
    rtm_prom_sample(&p, "rtmesh_x_total", labels, 2, UINT64_MAX);
    assert_string_equal(p.buf, "# HELP rtmesh_x_total Things seen.\n"
                               "# TYPE rtmesh_x_total counter\n"
                               "rtmesh_x_total 0\n"
                               "rtmesh_x_total{shard=\"3\",kind=\"bad\"} 18446744073709551615\n");
    assert_int_equal(p.len, strlen(p.buf));
    rtm_prom_free(&p);
    assert_null(p.buf);
    rtm_prom_free(&p); /* twice is safe */
}

static void test_label_values_are_escaped(void **state)
{
    (void)state;
    rtm_prom_t p;
    rtm_prom_init(&p);
    const rtm_prom_label_t label = {"app", "a\"b\\c\nd"};
    rtm_prom_sample(&p, "m", &label, 1, 7);
    assert_string_equal(p.buf, "m{app=\"a\\\"b\\\\c\\nd\"} 7\n");
    rtm_prom_free(&p);
}

static void test_grows_past_first_buffer(void **state)
{
    (void)state;
    rtm_prom_t p;
    rtm_prom_init(&p);
    char value[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(value, sizeof value, "app-%d", i);
        const rtm_prom_label_t label = {"app", value};
        rtm_prom_sample(&p, "rtmesh_grow", &label, 1, (uint64_t)i);
    }
    assert_true(p.len > 4096);
    assert_int_equal(p.len, strlen(p.buf));
    assert_non_null(strstr(p.buf, "rtmesh_grow{app=\"app-0\"} 0\n"));
    assert_non_null(strstr(p.buf, "rtmesh_grow{app=\"app-1999\"} 1999\n"));
    rtm_prom_free(&p);
}

static void test_histogram(void **state)
{
    (void)state;
    rtm_prom_t p;
    rtm_prom_init(&p);
    const double bounds[] = {0.001, 0.25, 2};
    const uint64_t counts[] = {3, 0, 1, 2}; /* 2 above every bound */
    const rtm_prom_label_t label = {"app", "a"};
    rtm_prom_histogram(&p, "rtmesh_h_seconds", &label, 1, bounds, counts, 3, 7.5);
    rtm_prom_histogram(&p, "rtmesh_h_seconds", NULL, 0, bounds, counts, 0, 0.25);
    assert_string_equal(p.buf, "rtmesh_h_seconds_bucket{app=\"a\",le=\"0.001\"} 3\n"
                               "rtmesh_h_seconds_bucket{app=\"a\",le=\"0.25\"} 3\n"
                               "rtmesh_h_seconds_bucket{app=\"a\",le=\"2\"} 4\n"
                               "rtmesh_h_seconds_bucket{app=\"a\",le=\"+Inf\"} 6\n"
                               "rtmesh_h_seconds_sum{app=\"a\"} 7.5\n"
                               "rtmesh_h_seconds_count{app=\"a\"} 6\n"
                               "rtmesh_h_seconds_bucket{le=\"+Inf\"} 3\n"
                               "rtmesh_h_seconds_sum 0.25\n"
                               "rtmesh_h_seconds_count 3\n");
    rtm_prom_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_and_samples),
        cmocka_unit_test(test_label_values_are_escaped),
        cmocka_unit_test(test_grows_past_first_buffer),
        cmocka_unit_test(test_histogram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
