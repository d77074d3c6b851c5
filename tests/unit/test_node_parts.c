/* Tests for the edge node's pure parts: the presence member mirror, the
 * mesh-wide connection quota, the client event rate, the /metrics text and
 * the text frames. */
#include "addr_limit.h"
#include "event_rate.h"
#include "frame.h"
#include "member_mirror.h"
#include "metrics.h"
#include "quota.h"
#include "rtm_error.h"
#include "rtm_pusher.h"
#include "rtm_wire.h"
#include "rtm_ws.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define S(lit) rtm_str(lit, sizeof lit - 1)

/* ---- member mirror ----------------------------------------------------- */

/* "id=info" per member; a numeric id is written "#id". */
static void s_join_ids(void *arg, rtm_str_t id, bool id_num, rtm_str_t info)
{
    char *out = arg;
    snprintf(out + strlen(out), 256 - strlen(out), "%s%s%.*s=%.*s", *out ? "," : "",
             id_num ? "#" : "", (int)id.len, id.p, (int)info.len, info.p ? info.p : "");
}

/* "+id=info" or "-id=info" per change of a reset. */
static void s_join_changes(void *arg, rtm_str_t id, bool id_num, rtm_str_t info, bool added)
{
    char *out = arg;
    snprintf(out + strlen(out), 256 - strlen(out), "%s%c", *out ? "," : "", added ? '+' : '-');
    s_join_ids(out + strlen(out), id, id_num, info);
}

static const char *s_members(const rtm_member_mirror_t *m)
{
    static char out[256];
    out[0] = '\0';
    rtm_member_mirror_each(m, s_join_ids, out);
    return out;
}

static void test_mirror(void **state)
{
    (void)state;
    rtm_member_mirror_t m = {0};
    assert_true(rtm_member_mirror_apply(&m, S("a"), false, S("{\"x\":1}"), true));
    assert_false(rtm_member_mirror_apply(&m, S("a"), false, S("{}"), true)); /* re-announced */
    assert_true(rtm_member_mirror_apply(&m, S("b"), false, S(""), true));
    assert_false(rtm_member_mirror_apply(&m, S("c"), false, S(""), false)); /* not a member */
    assert_false(rtm_member_mirror_apply(&m, S(""), false, S(""), true));
    char long_id[RTM_PUSHER_MAX_USER_ID + 1];
    memset(long_id, 'x', sizeof long_id);
    assert_false(rtm_member_mirror_apply(&m, rtm_str(long_id, sizeof long_id), false, S(""), true));
    assert_int_equal(m.n, 2);
    assert_string_equal(s_members(&m), "a={\"x\":1},b=");
    assert_true(rtm_member_mirror_apply(&m, S("a"), false, S(""), false));
    assert_string_equal(s_members(&m), "b=");
    /* a SYNC replaces the whole membership */
    rtm_wire_member_t mb[] = {{S("c"), S("1"), false}, {S("2"), S(""), true}};
    rtm_wire_msg_t sync = {
        .type = RTM_WIRE_SYNC, .channel = S("presence-x"), .members = mb, .n_members = 2};
    char buf[256];
    int len = rtm_wire_encode(&sync, buf, sizeof buf);
    rtm_wire_msg_t got;
    assert_int_equal(rtm_wire_decode(buf, (size_t)len, &got), 0);
    rtm_member_mirror_apply(&m, S("c"), false, S(""), true);
    char changes[256] = "";
    rtm_member_mirror_reset(&m, &got, s_join_changes, changes);
    assert_string_equal(changes, "-b=,+#2=");      /* what went, then what came: c stayed */
    assert_string_equal(s_members(&m), "c=1,#2="); /* the numeric id stays numeric */
    assert_int_equal(m.n, 2);
    /* one user whatever the type: 2 and "2" are the same member */
    assert_false(rtm_member_mirror_apply(&m, S("2"), false, S(""), true));
    assert_true(rtm_member_mirror_apply(&m, S("2"), false, S(""), false));
    assert_string_equal(s_members(&m), "c=1");
    rtm_member_mirror_clear(&m);
    assert_int_equal(m.n, 0);
    assert_null(m.members);
}

/* ---- quota ------------------------------------------------------------- */

typedef struct {
    int counts, queries;
    uint64_t last_count;
    rtm_route_ack_fn cb;
    void *arg;
    bool down;
} s_quota_route_t;

static int s_q_send(void *ctx, const rtm_wire_msg_t *msg)
{
    s_quota_route_t *r = ctx;
    if (r->down)
        return RTM_EUNAVAIL;
    assert_int_equal(msg->type, RTM_WIRE_SUB_COUNT);
    assert_true(rtm_str_eq(msg->channel, S("#connections")));
    r->counts++;
    r->last_count = msg->count;
    return 0;
}

static void s_q_request(void *ctx, rtm_wire_msg_t *msg, rtm_route_ack_fn cb, void *arg)
{
    s_quota_route_t *r = ctx;
    assert_int_equal(msg->type, RTM_WIRE_QUERY);
    r->queries++;
    r->cb = cb;
    r->arg = arg;
}

static void s_q_subscribe(void *ctx, rtm_str_t topic, bool on)
{
    fail_msg("the quota subscribes to nothing");
}

static uint64_t s_q_owner(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    fail_msg("the quota asks for no owner");
    return 0;
}

static void test_quota(void **state)
{
    (void)state;
    rtm_apps_t apps;
    char err[256];
    assert_int_equal(rtm_apps_load_single(&apps, "app1", "k", "s", err, sizeof err), 0);
    rtm_app_t *app = &apps.apps[0];
    rtm_quota_t *q = rtm_quota_new(&apps);
    s_quota_route_t rec = {0};
    rtm_route_t route = {&rec, s_q_send, s_q_request, s_q_subscribe, s_q_owner};
    /* unlimited: always admitted, nothing announced */
    assert_true(rtm_quota_take(q, app));
    rtm_quota_tick(q, &route);
    assert_int_equal(rec.counts, 0);
    app->max_connections = 3;
    assert_true(rtm_quota_take(q, app)); /* 2 here */
    rtm_quota_tick(q, &route);
    assert_int_equal(rec.counts, 1);
    assert_int_equal(rec.last_count, 2);
    assert_int_equal(rec.queries, 1);
    /* the total includes what was announced: the other nodes hold 1 */
    rec.cb(rec.arg, 0, S("{\"occupied\":true,\"subscription_count\":3}"));
    assert_false(rtm_quota_take(q, app)); /* 2 + 1 + 1 > 3 */
    rtm_quota_release(q, app);            /* 1 here */
    assert_true(rtm_quota_take(q, app));  /* 2 + 1 */
    assert_false(rtm_quota_take(q, app));
    /* a failed answer keeps the last figure; no owner: nothing asked */
    rtm_quota_tick(q, &route);
    rec.cb(rec.arg, RTM_ETIMEDOUT, S(""));
    assert_false(rtm_quota_take(q, app));
    rec.down = true;
    rtm_quota_tick(q, &route);
    assert_int_equal(rec.queries, 2);
    rtm_quota_destroy(&q);
    assert_null(q);
    rtm_apps_free(&apps);
}

/* ---- connection slots ------------------------------------------------ */

static void test_addr_limit(void **state)
{
    (void)state;
    const uint8_t a[4] = {127, 0, 0, 1}, b[4] = {127, 0, 0, 2};
    const uint8_t v6[16] = {0xfe, 0x80, [15] = 1};
    rtm_addr_limit_t *l = rtm_addr_limit_new(5, 2);
    assert_int_equal(rtm_addr_limit_take(l, a, 4), 0);
    assert_int_equal(rtm_addr_limit_take(l, a, 4), 0);
    assert_int_equal(rtm_addr_limit_take(l, a, 4), RTM_EAGAIN); /* a holds 2 */
    assert_int_equal(rtm_addr_limit_take(l, b, 4), 0);
    assert_int_equal(rtm_addr_limit_take(l, v6, 16), 0);
    assert_int_equal(rtm_addr_limit_take(l, v6, 16), 0);
    assert_int_equal(rtm_addr_limit_total(l), 5);
    assert_int_equal(rtm_addr_limit_take(l, b, 4), RTM_ETOOBIG); /* the node holds 5 */
    rtm_addr_limit_release(l, a, 4);
    assert_int_equal(rtm_addr_limit_take(l, a, 4), 0); /* a slot of a's again */
    rtm_addr_limit_release(l, b, 4);                   /* b's only one: its entry goes */
    assert_int_equal(rtm_addr_limit_total(l), 4);
    assert_int_equal(rtm_addr_limit_take(l, b, 4), 0);           /* 5 again */
    assert_int_equal(rtm_addr_limit_take(l, b, 4), RTM_ETOOBIG); /* full before b is */
    rtm_addr_limit_destroy(&l);
    assert_null(l);
    /* unlimited: nothing is refused, nothing is kept per address */
    l = rtm_addr_limit_new(0, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rtm_addr_limit_take(l, a, 4), 0);
    assert_int_equal(rtm_addr_limit_total(l), 1000);
    rtm_addr_limit_destroy(&l);
}

/* ---- client event rate -------------------------------------------------- */

static void test_event_rate(void **state)
{
    (void)state;
    rtm_event_rate_t r = {0};
    /* a burst at one instant: 10 go, the 11th and later do not */
    for (int i = 0; i < RTM_EVENT_RATE_MAX; i++)
        assert_true(rtm_event_rate_allow(&r, 5000));
    assert_false(rtm_event_rate_allow(&r, 5000));
    assert_false(rtm_event_rate_allow(&r, 5999)); /* the window is not over */
    for (int i = 0; i < RTM_EVENT_RATE_MAX; i++)  /* a whole window later: all left it */
        assert_true(rtm_event_rate_allow(&r, 6000));
    assert_false(rtm_event_rate_allow(&r, 6000));

    /* spread over a calendar second's end: still 10 in any 1000 ms, not 20 */
    rtm_event_rate_t s = {0};
    for (int i = 0; i < RTM_EVENT_RATE_MAX; i++)
        assert_true(rtm_event_rate_allow(&s, 1990 + (uint64_t)i)); /* 1990..1999 */
    for (uint64_t t = 2000; t < 2990; t += 10)
        assert_false(rtm_event_rate_allow(&s, t));
    for (int i = 0; i < RTM_EVENT_RATE_MAX; i++)
        assert_true(rtm_event_rate_allow(&s, 2990 + (uint64_t)i)); /* one per freed slot */
    assert_false(rtm_event_rate_allow(&s, 2999));

    /* one a tenth of a second goes on for ever; refusals do not use the budget */
    rtm_event_rate_t p = {0};
    for (uint64_t t = 0; t < 5000; t += 100)
        assert_true(rtm_event_rate_allow(&p, t));
    /* loop time past 2^32 ms: differences wrap */
    rtm_event_rate_t w = {0};
    uint64_t base = UINT32_MAX - 4;
    for (int i = 0; i < RTM_EVENT_RATE_MAX; i++)
        assert_true(rtm_event_rate_allow(&w, base + (uint64_t)i));
    assert_false(rtm_event_rate_allow(&w, base + 999));
    assert_true(rtm_event_rate_allow(&w, base + 1000));
}

/* ---- metrics text ------------------------------------------------------ */

static void test_metrics_render(void **state)
{
    (void)state;
    rtm_metrics_t a = {0}, b = {0};
    RTM_COUNT(&a, connections, 2);
    RTM_COUNT(&b, connections, 3);
    RTM_COUNT_ERR(&b, RTM_ERR_SLOW_CONSUMER);
    /* the channel shares, summed by broker seed across the workers */
    rtm_metrics_per_broker_set(&a.owned, 0, 11, 4);
    rtm_metrics_per_broker_set(&a.owned, 1, 0, 9); /* no live owner: nobody's */
    a.owned.n = 2;
    rtm_metrics_per_broker_set(&b.owned, 0, 11, 3);
    rtm_metrics_per_broker_set(&b.owned, 1, 12, 1);
    b.owned.n = 1; /* only the first is reported */
    /* requests waiting for each broker's ACK, the same way */
    rtm_metrics_per_broker_set(&a.pending, 0, 11, 2);
    rtm_metrics_per_broker_set(&a.pending, 1, 12, 5);
    a.pending.n = 2;
    rtm_metrics_per_broker_set(&b.pending, 0, 12, 1);
    rtm_metrics_per_broker_set(&b.pending, 1, 11, 7);
    b.pending.n = 1;
    /* publish latencies: 50 us and 1 ms (a bound belongs to its bucket) in a, 3 s in b */
    rtm_metrics_publish_observe(&a, 50000);
    rtm_metrics_publish_observe(&a, 1000000);
    rtm_metrics_publish_observe(&b, 3000000000ULL);
    const rtm_metrics_t *per[] = {&a, &b};
    rtm_metrics_shard_t shards[] = {{"tcp://h:7100", 11, true, false, "live"},
                                    {"tcp://h:7102", 0, false, true, "unlisted"},
                                    {"tcp://h:7104", 12, false, false, "dead"}};
    rtm_prom_t p;
    rtm_prom_init(&p);
    /* per app, summed across the workers (b does not count the second app) */
    rtm_apps_t apps;
    char err[256];
    assert_int_equal(rtm_apps_load_single(&apps, "app-1", "k", "s", err, sizeof err), 0);
    rtm_metrics_app_t a_apps[1] = {{.connections = 2, .messages_in = 5, .messages_out = 7}},
                      b_apps[1] = {{.connections = 3,
                                    .messages_in = 1,
                                    .messages_out = 1,
                                    .subscriptions = 4,
                                    .channels = 2,
                                    .bytes_in = 40,
                                    .bytes_out = 99}};
    /* an error counted through the app macro goes to both the node's and the app's count */
    b.apps = b_apps;
    b.n_apps = 1;
    RTM_COUNT_APP_ERR(&b, &apps.apps[0], RTM_ERR_BAD_JSON);
    a_apps[0].closes[rtm_metrics_close_index(RTM_PUSHER_RECONNECT)] = 2;
    b_apps[0].closes[rtm_metrics_close_index(RTM_PUSHER_RECONNECT)] = 1;
    b_apps[0].closes[rtm_metrics_close_index(3001)] = 1;
    a.apps = a_apps;
    a.n_apps = 1;
    b.apps = b_apps;
    b.n_apps = 1;
    rtm_metrics_render("host/1", per, 2, &apps, 1, shards, 3, &p);
    rtm_apps_free(&apps);
    const char *text = p.buf;
    assert_int_equal(p.len, strlen(text));
    assert_non_null(strstr(text, "\nrtmesh_connections 5\n"));
    assert_non_null(strstr(text, "rtmesh_node_info{node=\"host/1\"} 1\n"));
    assert_non_null(strstr(text, "rtmesh_errors_total{kind=\"slow_consumer\"} 1\n"));
    assert_non_null(strstr(text, "rtmesh_ready 1\n"));
    assert_non_null(strstr(text, "rtmesh_shard_live{shard=\"tcp://h:7100\"} 1\n"));
    assert_non_null(strstr(text, "rtmesh_shard_live{shard=\"tcp://h:7102\"} 0\n"));
    assert_non_null(strstr(text, "rtmesh_broker_list_mismatch{shard=\"tcp://h:7100\"} 0\n"));
    assert_non_null(strstr(text, "rtmesh_broker_list_mismatch{shard=\"tcp://h:7102\"} 1\n"));
    assert_non_null(strstr(text, "rtmesh_broker_state{shard=\"tcp://h:7100\",state=\"live\"} 1\n"));
    assert_non_null(
        strstr(text, "rtmesh_broker_state{shard=\"tcp://h:7102\",state=\"unlisted\"} 1\n"));
    assert_non_null(strstr(text, "rtmesh_broker_channels{shard=\"tcp://h:7100\"} 7\n"));
    assert_non_null(strstr(text, "rtmesh_broker_channels{shard=\"tcp://h:7102\"} 0\n"));
    assert_non_null(strstr(text, "rtmesh_broker_channels{shard=\"tcp://h:7104\"} 0\n"));
    assert_non_null(strstr(text, "# TYPE rtmesh_shard_pending gauge\n"));
    assert_non_null(strstr(text, "rtmesh_shard_pending{shard=\"tcp://h:7100\"} 2\n"));
    assert_non_null(strstr(text, "rtmesh_shard_pending{shard=\"tcp://h:7102\"} 0\n"));
    assert_non_null(strstr(text, "rtmesh_shard_pending{shard=\"tcp://h:7104\"} 6\n"));
    assert_non_null(strstr(text, "# TYPE rtmesh_rest_publish_seconds histogram\n"));
    assert_non_null(strstr(text, "rtmesh_rest_publish_seconds_bucket{le=\"0.0001\"} 1\n"));
    assert_non_null(strstr(text, "rtmesh_rest_publish_seconds_bucket{le=\"0.0005\"} 1\n"));
    assert_non_null(strstr(text, "rtmesh_rest_publish_seconds_bucket{le=\"0.001\"} 2\n"));
    assert_non_null(strstr(text, "rtmesh_rest_publish_seconds_bucket{le=\"2\"} 2\n"));
    assert_non_null(strstr(text, "rtmesh_rest_publish_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(text, "rtmesh_rest_publish_seconds_sum 3.00105\n"));
    assert_non_null(strstr(text, "rtmesh_rest_publish_seconds_count 3\n"));
    assert_non_null(strstr(text, "rtmesh_app_connections{app=\"app-1\"} 5\n"));
    assert_non_null(strstr(text, "rtmesh_app_messages_in_total{app=\"app-1\"} 6\n"));
    assert_non_null(strstr(text, "rtmesh_app_messages_out_total{app=\"app-1\"} 8\n"));
    assert_non_null(strstr(text, "rtmesh_app_subscriptions{app=\"app-1\"} 4\n"));
    assert_non_null(strstr(text, "rtmesh_app_bytes_out_total{app=\"app-1\"} 99\n"));
    assert_non_null(strstr(text, "rtmesh_app_bytes_in_total{app=\"app-1\"} 40\n"));
    assert_non_null(strstr(text, "rtmesh_app_channels{app=\"app-1\"} 2\n"));
    assert_non_null(strstr(text, "rtmesh_errors_total{kind=\"bad_message\"} 1\n"));
    assert_non_null(
        strstr(text, "rtmesh_app_errors_total{app=\"app-1\",kind=\"bad_message\"} 1\n"));
    /* zero counts are left out: an app times every kind is mostly zeros */
    assert_null(strstr(text, "rtmesh_app_errors_total{app=\"app-1\",kind=\"slow_consumer\"}"));
    assert_non_null(strstr(text, "# TYPE rtmesh_app_closes_total counter\n"));
    assert_non_null(strstr(text, "rtmesh_app_closes_total{app=\"app-1\",code=\"4200\"} 3\n"));
    assert_non_null(strstr(text, "rtmesh_app_closes_total{app=\"app-1\",code=\"other\"} 1\n"));
    assert_null(strstr(text, "code=\"1000\""));
    rtm_prom_free(&p);
}

/* Every close code the node sends has its own index; any other shares the last. */
static void test_close_index(void **state)
{
    (void)state;
    const int sent[] = {RTM_WS_CLOSE_NORMAL,     RTM_WS_CLOSE_PROTOCOL,    RTM_WS_CLOSE_UNSUPPORTED,
                        RTM_WS_CLOSE_BAD_DATA,   RTM_WS_CLOSE_TOO_BIG,     RTM_PUSHER_APP_UNKNOWN,
                        RTM_PUSHER_OVER_QUOTA,   RTM_PUSHER_BAD_VERSION,   RTM_PUSHER_UNSUPPORTED,
                        RTM_PUSHER_UNAUTHORIZED, RTM_PUSHER_OVER_CAPACITY, RTM_PUSHER_RECONNECT,
                        RTM_PUSHER_PONG_TIMEOUT, RTM_PUSHER_RATE_LIMITED};
    bool seen[RTM_METRICS_CLOSE_CODES] = {false};
    for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++) {
        size_t k = rtm_metrics_close_index(sent[i]);
        assert_true(k < RTM_METRICS_CLOSE_CODES - 1);
        assert_false(seen[k]);
        seen[k] = true;
    }
    const int other[] = {0, 1001, RTM_WS_CLOSE_NO_STATUS, 3000, 4000, 4999, -1};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        assert_int_equal(rtm_metrics_close_index(other[i]), RTM_METRICS_CLOSE_CODES - 1);
}

/* ---- frames ------------------------------------------------------------ */

static void test_text_frames(void **state)
{
    (void)state;
    rtm_frame_t *f = rtm_frame_text("hi", 2);
    assert_int_equal(f->len, 4);
    assert_memory_equal(f->data, "\x81\x02hi", 4);
    static char big[300];
    memset(big, 'x', sizeof big);
    rtm_frame_t *g = rtm_frame_text(big, sizeof big);
    assert_int_equal(g->len, 4 + sizeof big); /* 16-bit length form */
    assert_memory_equal(g->data, "\x81\x7e\x01\x2c", 4);
    rtm_frame_t *h = rtm_frame_ref(g);
    rtm_frame_unref(&h);
    assert_null(h);
    rtm_frame_unref(&g);
    rtm_frame_unref(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mirror),         cmocka_unit_test(test_quota),
        cmocka_unit_test(test_addr_limit),     cmocka_unit_test(test_event_rate),
        cmocka_unit_test(test_metrics_render), cmocka_unit_test(test_text_frames),
        cmocka_unit_test(test_close_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
