/* Tests for rtm_webhook (event and body JSON, byte for byte, Pusher's field
 * names) and the webhook part of rtm_apps: loading "webhooks" from an apps
 * file, filters and event types, and refusals that name the app and key. */
#include "rtm_apps.h"
#include "rtm_error.h"
#include "rtm_webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define S(lit) rtm_str(lit, sizeof lit - 1)

static void s_event_is(const rtm_webhook_event_t *ev, const char *want)
{
    size_t len;
    char *json = rtm_webhook_render_event(ev, &len);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(json, want, len);
    free(json);
}

static void test_events(void **state)
{
    (void)state;
    s_event_is(&(rtm_webhook_event_t){.kind = RTM_WEBHOOK_CHANNEL_OCCUPIED, .channel = S("c")},
               "{\"name\":\"channel_occupied\",\"channel\":\"c\"}");
    s_event_is(&(rtm_webhook_event_t){.kind = RTM_WEBHOOK_CHANNEL_VACATED, .channel = S("c")},
               "{\"name\":\"channel_vacated\",\"channel\":\"c\"}");
    s_event_is(&(rtm_webhook_event_t){.kind = RTM_WEBHOOK_CACHE_MISS, .channel = S("cache-c")},
               "{\"name\":\"cache_miss\",\"channel\":\"cache-c\"}");
    s_event_is(&(rtm_webhook_event_t){.kind = RTM_WEBHOOK_MEMBER_ADDED,
                                      .channel = S("presence-p"),
                                      .user_id = S("u\"1")},
               "{\"name\":\"member_added\",\"channel\":\"presence-p\",\"user_id\":\"u\\\"1\"}");
    s_event_is(&(rtm_webhook_event_t){.kind = RTM_WEBHOOK_MEMBER_REMOVED,
                                      .channel = S("presence-p"),
                                      .user_id = S("7")},
               "{\"name\":\"member_removed\",\"channel\":\"presence-p\",\"user_id\":\"7\"}");
    /* an id the app gave as a JSON integer is handed back as one */
    s_event_is(&(rtm_webhook_event_t){.kind = RTM_WEBHOOK_MEMBER_ADDED,
                                      .channel = S("presence-p"),
                                      .user_id = S("7"),
                                      .user_num = true},
               "{\"name\":\"member_added\",\"channel\":\"presence-p\",\"user_id\":7}");
    s_event_is(&(rtm_webhook_event_t){.kind = RTM_WEBHOOK_SUBSCRIPTION_COUNT,
                                      .channel = S("c"),
                                      .count = 12},
               "{\"name\":\"subscription_count\",\"channel\":\"c\",\"subscription_count\":12}");
    /* Client events: data as sent (a string), the sender, user_id only when given. */
    s_event_is(&(rtm_webhook_event_t){.kind = RTM_WEBHOOK_CLIENT_EVENT,
                                      .channel = S("private-c"),
                                      .event = S("client-x"),
                                      .data = S("{\"a\":1}"),
                                      .socket_id = S("1.2")},
               "{\"name\":\"client_event\",\"channel\":\"private-c\",\"event\":\"client-x\","
               "\"data\":\"{\\\"a\\\":1}\",\"socket_id\":\"1.2\"}");
    s_event_is(&(rtm_webhook_event_t){.kind = RTM_WEBHOOK_CLIENT_EVENT,
                                      .channel = S("presence-c"),
                                      .event = S("client-x"),
                                      .data = S(""),
                                      .socket_id = S("1.2"),
                                      .user_id = S("u")},
               "{\"name\":\"client_event\",\"channel\":\"presence-c\",\"event\":\"client-x\","
               "\"data\":\"\",\"socket_id\":\"1.2\",\"user_id\":\"u\"}");
}

static void test_body(void **state)
{
    (void)state;
    rtm_str_t ev[] = {S("{\"a\":1}"), S("{\"b\":2}")};
    size_t len;
    char *body = rtm_webhook_render_body(1700000000123ULL, ev, 2, &len);
    const char *want = "{\"time_ms\":1700000000123,\"events\":[{\"a\":1},{\"b\":2}]}";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(body, want, len);
    free(body);
    body = rtm_webhook_render_body(0, NULL, 0, &len);
    assert_int_equal(len, strlen("{\"time_ms\":0,\"events\":[]}"));
    free(body);
}

/* Loads an apps file holding `json`; returns the rc, err filled. */
static int s_load(const char *json, rtm_apps_t *apps, char *err, size_t cap)
{
    char path[] = "/tmp/rtm-test-apps-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    err[0] = '\0';
    int rc = rtm_apps_load_file(apps, path, err, cap);
    unlink(path);
    return rc;
}

#define S_APP "\"id\":\"a1\",\"key\":\"k1\",\"secret\":\"s1\""

static void test_apps_webhooks(void **state)
{
    (void)state;
    rtm_apps_t apps;
    char err[512];
    assert_int_equal(
        s_load("[{" S_APP ",\"webhooks\":[{\"url\":\"http://127.0.0.1:9/hook?t=1\","
               "\"event_types\":[\"channel_occupied\",\"member_added\"],"
               "\"headers\":{\"X-Token\":\"abc\"},"
               "\"filter\":{\"channel_name_starts_with\":\"presence-\","
               "\"channel_name_ends_with\":\"-x\"}},"
               "{\"url\":\"https://hooks.example.com/\",\"event_types\":[\"client_event\"]}]},"
               "{\"id\":\"a2\",\"key\":\"k2\",\"secret\":\"s2\"}]",
               &apps, err, sizeof err),
        0);
    assert_int_equal(apps.n, 2);
    const rtm_app_t *a = &apps.apps[0];
    assert_int_equal(a->n_webhooks, 2);
    assert_string_equal(a->webhooks[0].url, "http://127.0.0.1:9/hook?t=1");
    assert_int_equal(a->webhooks[0].n_headers, 1);
    assert_string_equal(a->webhooks[0].headers[0], "X-Token: abc");
    const rtm_webhook_t *h = &a->webhooks[0];
    assert_true(rtm_webhook_wants(h, RTM_WEBHOOK_CHANNEL_OCCUPIED, S("presence-a-x")));
    assert_true(rtm_webhook_wants(h, RTM_WEBHOOK_MEMBER_ADDED, S("presence--x")));
    assert_false(rtm_webhook_wants(h, RTM_WEBHOOK_CHANNEL_VACATED, S("presence-a-x")));
    assert_false(rtm_webhook_wants(h, RTM_WEBHOOK_CHANNEL_OCCUPIED, S("private-a-x")));
    assert_false(rtm_webhook_wants(h, RTM_WEBHOOK_CHANNEL_OCCUPIED, S("presence-a-y")));
    assert_false(rtm_webhook_wants(h, RTM_WEBHOOK_CHANNEL_OCCUPIED, S("-x")));
    assert_true(rtm_webhook_wants(&a->webhooks[1], RTM_WEBHOOK_CLIENT_EVENT, S("any")));
    assert_int_equal(apps.apps[1].n_webhooks, 0);
    assert_null(apps.apps[1].webhooks);
    rtm_apps_free(&apps);
    for (int k = 0; k < RTM_WEBHOOK_KINDS; k++)
        assert_non_null(rtm_webhook_kind_name((rtm_webhook_kind_t)k));
    assert_null(rtm_webhook_kind_name(RTM_WEBHOOK_KINDS));
}

static void test_apps_webhooks_refused(void **state)
{
    (void)state;
    static const struct {
        const char *hooks; /* the "webhooks" value */
        const char *says;  /* a part of the message */
    } bad[] = {
        {"{}", "webhooks must be an array"},
        {"[1]", "webhooks[0] must be an object"},
        {"[{\"url\":\"ftp://x/\",\"event_types\":[\"cache_miss\"]}]", "webhooks[0].url"},
        {"[{\"url\":\"http:///x\",\"event_types\":[\"cache_miss\"]}]", "webhooks[0].url"},
        {"[{\"url\":\"http://h:99999/\",\"event_types\":[\"cache_miss\"]}]", "webhooks[0].url"},
        {"[{\"url\":\"http://h/a b\",\"event_types\":[\"cache_miss\"]}]", "webhooks[0].url"},
        {"[{\"url\":7,\"event_types\":[\"cache_miss\"]}]", "webhooks[0].url"},
        {"[{\"url\":\"http://h/\",\"event_types\":[\"channel_occupied\",\"nope\"]}]",
         "webhooks[0].event_types[1]: unknown event type \"nope\""},
        {"[{\"url\":\"http://h/\",\"event_types\":[]}]", "webhooks[0].event_types"},
        {"[{\"url\":\"http://h/\",\"event_types\":\"cache_miss\"}]", "webhooks[0].event_types"},
        {"[{\"url\":\"http://h/\"}]", "url and event_types are required"},
        {"[{\"url\":\"http://h/\",\"event_types\":[\"cache_miss\"],\"headers\":{\"X-Pusher-"
         "Signature\":\"x\"}}]",
         "'X-Pusher-Signature' is set by rtmesh and cannot be overridden"},
        {"[{\"url\":\"http://h/\",\"event_types\":[\"cache_miss\"],\"headers\":{\"content-type\":"
         "\"x\"}}]",
         "cannot be overridden"},
        {"[{\"url\":\"http://h/\",\"event_types\":[\"cache_miss\"],\"headers\":{\"A\":1}}]",
         "headers.A must be a string"},
        {"[{\"url\":\"http://h/\",\"event_types\":[\"cache_miss\"],\"headers\":{\"A b\":\"1\"}}]",
         "not a valid header name"},
        {"[{\"url\":\"http://h/\",\"event_types\":[\"cache_miss\"],\"filter\":{\"x\":\"1\"}}]",
         "filter: unknown key 'x'"},
        {"[{\"url\":\"http://h/\",\"event_types\":[\"cache_miss\"],\"filter\":{"
         "\"channel_name_starts_with\":1}}]",
         "filter.channel_name_starts_with must be a string"},
        {"[{\"url\":\"http://h/\",\"event_types\":[\"cache_miss\"],\"batch\":1}]",
         "webhooks[0]: unknown key 'batch'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[1024], err[512];
        snprintf(json, sizeof json, "[{" S_APP ",\"webhooks\":%s}]", bad[i].hooks);
        rtm_apps_t apps;
        assert_int_equal(s_load(json, &apps, err, sizeof err), RTM_EINVAL);
        if (!strstr(err, bad[i].says) || !strstr(err, "app #0 'a1'"))
            fail_msg("case %zu: '%s' does not say '%s' and name the app", i, err, bad[i].says);
        assert_int_equal(apps.n, 0);
    }
    /* A later bad key of the same app frees the webhooks already parsed. */
    char err[512];
    rtm_apps_t apps;
    assert_int_equal(s_load("[{" S_APP ",\"webhooks\":[{\"url\":\"http://h/\",\"event_types\":["
                            "\"cache_miss\"]}],\"nope\":1}]",
                            &apps, err, sizeof err),
                     RTM_EINVAL);
    assert_non_null(strstr(err, "unknown key 'nope'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_body),
        cmocka_unit_test(test_apps_webhooks),
        cmocka_unit_test(test_apps_webhooks_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
