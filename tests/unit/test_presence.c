/* Tests for rtm_presence: identities from channel_data and user_data, and the
 * presence messages rendered from a member walk. */
#include "rtm_error.h"
#include "rtm_presence.h"
#include "rtm_pusher.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define S(lit) rtm_str(lit, sizeof lit - 1)

/* Compares a render's text (json, len bytes) with want, then frees json. */
static void s_assert_rendered(char *json, size_t len, const char *want)
{
    assert_int_equal(len, strlen(want));
    assert_memory_equal(json, want, len);
    free(json);
}

static void test_parse_channel_data(void **state)
{
    (void)state;
    rtm_presence_t *p;
    assert_int_equal(rtm_presence_parse(S("{\"user_id\":\"u1\",\"user_info\":{\"a\": 1}}"), 64, &p),
                     0);
    assert_string_equal(p->user_id, "u1");
    assert_true(rtm_str_eq(rtm_presence_info(p), S("{\"a\":1}")));
    rtm_presence_t *copy = rtm_presence_copy(p);
    assert_true(rtm_str_eq(rtm_presence_id(copy), S("u1")));
    assert_true(rtm_str_eq(rtm_presence_info(copy), S("{\"a\":1}")));
    rtm_presence_free(&copy);
    rtm_presence_free(&p);
    assert_null(p);
    assert_int_equal(rtm_presence_parse(S("{\"user_id\":42}"), 64, &p), 0);
    assert_string_equal(p->user_id, "42");
    assert_true(p->id_num);
    assert_null(p->user_info);
    rtm_presence_free(&p);
    /* user_info null is no user_info */
    assert_int_equal(rtm_presence_parse(S("{\"user_id\":\"u\",\"user_info\":null}"), 64, &p), 0);
    assert_null(p->user_info);
    assert_int_equal(p->info_len, 0);
    rtm_presence_free(&p);
    /* limits: exactly RTM_PUSHER_MAX_USER_ID bytes, and one over */
    char data[512], id[RTM_PUSHER_MAX_USER_ID + 2];
    memset(id, 'u', sizeof id - 1);
    id[RTM_PUSHER_MAX_USER_ID] = '\0';
    snprintf(data, sizeof data, "{\"user_id\":\"%s\"}", id);
    assert_int_equal(rtm_presence_parse(rtm_str_cstr(data), 64, &p), 0);
    rtm_presence_free(&p);
    id[RTM_PUSHER_MAX_USER_ID] = 'u';
    id[RTM_PUSHER_MAX_USER_ID + 1] = '\0';
    snprintf(data, sizeof data, "{\"user_id\":\"%s\"}", id);
    assert_int_equal(rtm_presence_parse(rtm_str_cstr(data), 64, &p), RTM_EINVAL);
    assert_null(p);
    assert_int_equal(rtm_presence_parse(S("{\"user_id\":\"u\",\"user_info\":\"12345\"}"), 6, &p),
                     RTM_ETOOBIG);
    assert_int_equal(rtm_presence_parse(S("{\"user_id\":\"u\",\"user_info\":\"12345\"}"), 7, &p),
                     0);
    rtm_presence_free(&p);
    static const char *const bad[] = {"",
                                      "[]",
                                      "{\"user_id\":\"\"}",
                                      "{\"user_id\":true}",
                                      "{\"user_id\":\"a\\u0000b\"}",
                                      "{\"id\":\"u\"}",
                                      "{\"user_id\":\"u\",\"user_id\":\"v\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(rtm_presence_parse(rtm_str_cstr(bad[i]), 64, &p), RTM_EINVAL);
}

static void test_parse_user_data(void **state)
{
    (void)state;
    rtm_presence_t *p;
    assert_int_equal(rtm_presence_parse_user(S("{\"id\":\"u1\",\"user_info\":{\"n\":\"x\"}}"), &p),
                     0);
    assert_string_equal(p->user_id, "u1");
    assert_false(p->id_num);
    rtm_presence_free(&p);
    /* Laravel's shape: an integer id, known by its string form */
    assert_int_equal(
        rtm_presence_parse_user(S("{\"id\":7,\"name\":\"Taylor\",\"user_info\":{\"n\":1}}"), &p),
        0);
    assert_string_equal(p->user_id, "7");
    assert_true(p->id_num);
    rtm_presence_t *copy = rtm_presence_copy(p);
    assert_true(copy->id_num);
    rtm_presence_free(&copy);
    rtm_presence_free(&p);
    static const char *const bad[] = {"{\"id\":7.5}", "{\"id\":true}", "{\"id\":null}",
                                      "{\"id\":\"\"}", "{\"user_id\":\"u1\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(rtm_presence_parse_user(rtm_str_cstr(bad[i]), &p), RTM_EINVAL);
}

static void test_watchlist(void **state)
{
    (void)state;
    char **ids;
    size_t n;
    assert_int_equal(
        rtm_presence_parse_watchlist(S("{\"id\":\"me\",\"watchlist\":[\"a\",7,\"\",true,"
                                       "{},\"b\"]}"),
                                     &ids, &n),
        6);
    assert_int_equal(n, 3); /* empty, boolean and object entries are no user */
    assert_string_equal(ids[0], "a");
    assert_string_equal(ids[1], "7");
    assert_string_equal(ids[2], "b");
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    static const char *const none[] = {"{\"id\":\"me\"}", "{\"id\":\"me\",\"watchlist\":null}",
                                       "{\"id\":\"me\",\"watchlist\":\"a\"}", "not json"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        assert_int_equal(rtm_presence_parse_watchlist(rtm_str_cstr(none[i]), &ids, &n), 0);
        assert_null(ids);
        assert_int_equal(n, 0);
    }
    /* exactly at the limit, and one over: the first RTM_WATCHLIST_MAX kept */
    char text[2048] = "{\"watchlist\":[";
    for (int i = 0; i <= RTM_WATCHLIST_MAX; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%d", i ? "," : "", i);
    strcat(text, "]}");
    assert_int_equal(rtm_presence_parse_watchlist(rtm_str_cstr(text), &ids, &n),
                     RTM_WATCHLIST_MAX + 1);
    assert_int_equal(n, RTM_WATCHLIST_MAX);
    assert_string_equal(ids[RTM_WATCHLIST_MAX - 1], "99");
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    size_t len;
    char *json = rtm_presence_render_watchlist_event(true, S("u\"1"), &len);
    const char *want = "{\"event\":\"pusher_internal:watchlist_events\",\"data\":\"{\\\"events\\\":"
                       "[{\\\"name\\\":\\\"online\\\",\\\"user_ids\\\":[\\\"u\\\\\\\"1\\\"]}]}\"}";
    s_assert_rendered(json, len, want);
}

typedef struct {
    const char *id, *info;
    bool num; /* the id is a number */
} s_member_t;

typedef struct {
    const s_member_t *m;
    size_t n;
    int walks; /* how often the renderer walked the set */
} s_set_t;

static void s_each(const void *set, rtm_presence_visit_fn visit, void *arg)
{
    s_set_t *s = (s_set_t *)set;
    s->walks++;
    for (size_t i = 0; i < s->n; i++)
        visit(arg, rtm_str_cstr(s->m[i].id), s->m[i].num, rtm_str_cstr(s->m[i].info));
}

static void test_render_succeeded(void **state)
{
    (void)state;
    rtm_presence_t *self;
    assert_int_equal(
        rtm_presence_parse(S("{\"user_id\":\"me\",\"user_info\":{\"n\":1}}"), 64, &self), 0);
    /* self first; a member with self's id (another connection of mine) once */
    static const s_member_t members[] = {
        {"bob", "{\"n\":2}", false}, {"me", "{\"n\":1}", false}, {"\"q\"", "", false}};
    s_set_t set = {members, 3, 0};
    size_t len;
    char *json = rtm_presence_render_succeeded(S("presence-r"), self, s_each, &set, &len);
    const char *want =
        "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"presence-r\",\"data\":"
        "\"{\\\"presence\\\":{\\\"ids\\\":[\\\"me\\\",\\\"bob\\\",\\\"\\\\\\\"q\\\\\\\"\\\"],"
        "\\\"hash\\\":{\\\"me\\\":{\\\"n\\\":1},\\\"bob\\\":{\\\"n\\\":2},"
        "\\\"\\\\\\\"q\\\\\\\"\\\":"
        "null},\\\"count\\\":3}}\"}";
    s_assert_rendered(json, len, want);
    /* alone */
    s_set_t empty = {NULL, 0, 0};
    json = rtm_presence_render_succeeded(S("presence-r"), self, s_each, &empty, &len);
    assert_non_null(strstr(json, "\\\"count\\\":1}"));
    free(json);
    rtm_presence_free(&self);
    /* integer ids: numbers in "ids", strings as "hash" keys (JSON keys are strings) */
    assert_int_equal(rtm_presence_parse(S("{\"user_id\":1}"), 64, &self), 0);
    static const s_member_t numeric[] = {{"2", "", true}, {"1", "", false}, {"x", "", false}};
    s_set_t nset = {numeric, 3, 0};
    json = rtm_presence_render_succeeded(S("presence-r"), self, s_each, &nset, &len);
    want =
        "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"presence-r\",\"data\":"
        "\"{\\\"presence\\\":{\\\"ids\\\":[1,2,\\\"x\\\"],"
        "\\\"hash\\\":{\\\"1\\\":null,\\\"2\\\":null,\\\"x\\\":null},\\\"count\\\":3}}\"}";
    s_assert_rendered(json, len, want);
    rtm_presence_free(&self);
}

/* Renders a member_added (added) or member_removed of presence-r and
 * compares it with want. */
static void s_assert_member(bool added, rtm_str_t id, bool id_num, rtm_str_t info, const char *want)
{
    size_t len;
    char *json = rtm_presence_render_member(S("presence-r"), added, id, id_num, info, &len);
    s_assert_rendered(json, len, want);
}

static void test_render_member(void **state)
{
    (void)state;
    s_assert_member(true, S("u1"), false, S(""),
                    "{\"event\":\"pusher_internal:member_added\",\"channel\":\"presence-r\","
                    "\"data\":\"{\\\"user_id\\\":\\\"u1\\\",\\\"user_info\\\":null}\"}");
    s_assert_member(false, S("u1"), false, S("{\"x\":1}"),
                    "{\"event\":\"pusher_internal:member_removed\",\"channel\":\"presence-r\","
                    "\"data\":\"{\\\"user_id\\\":\\\"u1\\\"}\"}");
    /* an integer id is handed back as a number */
    s_assert_member(true, S("42"), true, S("{\"x\":1}"),
                    "{\"event\":\"pusher_internal:member_added\",\"channel\":\"presence-r\","
                    "\"data\":\"{\\\"user_id\\\":42,\\\"user_info\\\":{\\\"x\\\":1}}\"}");
    s_assert_member(false, S("42"), true, S(""),
                    "{\"event\":\"pusher_internal:member_removed\",\"channel\":\"presence-r\","
                    "\"data\":\"{\\\"user_id\\\":42}\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_channel_data), cmocka_unit_test(test_parse_user_data),
        cmocka_unit_test(test_watchlist),          cmocka_unit_test(test_render_succeeded),
        cmocka_unit_test(test_render_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
