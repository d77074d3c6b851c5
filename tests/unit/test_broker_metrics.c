/* Unit tests of broker/broker_metrics.c: the Prometheus text of the
 * broker's webhook counters, per app, and of its replica. */
#include "broker_metrics.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static bool s_has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

static void test_render(void **state)
{
    (void)state;
    rtm_webhooks_app_stats_t apps[2] = {
        {.app_id = "app-1",
         .sum = {.events = 10,
                 .sent = 7,
                 .failed = 1,
                 .dropped = 2,
                 .requests = 3,
                 .retried = 4,
                 .latency_ms_sum = 700,
                 .latency_ms_max = 250},
         .held = 5},
        {.app_id = "app_2"},
    };
    rtm_broker_metrics_t m = {.broker = "tcp://127.0.0.1:7000",
                              .shard = 3,
                              .apps = apps,
                              .n_apps = 2,
                              .peer_webhooks_lost = 9};
    m.replica.in.vacated = 6;
    m.replica.in.removed = 8;
    m.replica.out.sent = 11;
    rtm_prom_t p;
    rtm_prom_init(&p);
    rtm_broker_metrics_render(&m, &p);
    char *text = p.buf;
    size_t len = p.len;
    assert_int_equal(len, strlen(text));
    const char *want[] = {
        "rtmesh_broker_info{broker=\"tcp://127.0.0.1:7000\",shard=\"3\"} 1",
        "# TYPE rtmesh_webhook_sent_total counter",
        "rtmesh_webhook_events_total{app=\"app-1\"} 10",
        "rtmesh_webhook_sent_total{app=\"app-1\"} 7",
        "rtmesh_webhook_failed_total{app=\"app-1\"} 1",
        "rtmesh_webhook_retried_total{app=\"app-1\"} 4",
        "rtmesh_webhook_dropped_total{app=\"app-1\"} 2",
        "rtmesh_webhook_requests_total{app=\"app-1\"} 3",
        "rtmesh_webhook_held{app=\"app-1\"} 5",
        "rtmesh_webhook_latency_max_ms{app=\"app-1\"} 250",
        "# TYPE rtmesh_webhook_latency_ms summary",
        "rtmesh_webhook_latency_ms_sum{app=\"app-1\"} 700",
        "rtmesh_webhook_latency_ms_count{app=\"app-1\"} 7",
        "rtmesh_webhook_sent_total{app=\"app_2\"} 0",
        "rtmesh_webhook_latency_ms_count{app=\"app_2\"} 0",
        "rtmesh_webhook_replica_sent_total 11",
        "rtmesh_webhook_outage_vacated_total 6",
        "rtmesh_webhook_outage_removed_total 8",
        "rtmesh_webhook_peer_lost_total 9",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_true(s_has_line(text, want[i]) || (fprintf(stderr, "missing: %s\n", want[i]), 0));
    /* Every line is a comment or "name[{labels}] value", and the text ends with a newline. */
    assert_int_equal(text[len - 1], '\n');
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char *space = strrchr(line, ' ');
        assert_non_null(space);
        char *end;
        strtoull(space + 1, &end, 10);
        assert_int_equal(*end, '\0');
    }
    rtm_prom_free(&p);
}

static void test_no_apps(void **state)
{
    (void)state;
    rtm_broker_metrics_t m = {.broker = "tcp://127.0.0.1:7000", .shard = -1};
    rtm_prom_t p;
    rtm_prom_init(&p);
    rtm_broker_metrics_render(&m, &p);
    const char *text = p.buf;
    /* The families are declared, with no samples; the shard-wide ones have theirs. */
    assert_true(s_has_line(text, "# TYPE rtmesh_webhook_sent_total counter"));
    assert_null(strstr(text, "rtmesh_webhook_sent_total{"));
    assert_true(s_has_line(text, "rtmesh_webhook_peer_lost_total 0"));
    rtm_prom_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_no_apps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
