/* Tests for rtm_pusher: decoding of every client→server message pusher-js
 * sends (frames from the protocol reference), rejection of malformed and
 * truncated frames, and the server→client renders — exact bytes, exact
 * _len, refusal to overrun a short buffer, and render→parse round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtm_error.h"
#include "rtm_pusher.h"

#include <stdlib.h>
#include <string.h>

static rtm_str_t S(const char *s)
{
    return rtm_str_cstr(s);
}

static void assert_str(rtm_str_t got, const char *want)
{
    if (!want) {
        assert_int_equal(got.len, 0);
        assert_null(got.p);
        return;
    }
    assert_int_equal(got.len, strlen(want));
    assert_memory_equal(got.p, want, got.len);
}

static int parse(const char *text, rtm_pusher_msg_t *m)
{
    return rtm_pusher_parse(text, strlen(text), m);
}

/* ---- decode ---- */

typedef struct {
    const char *text;
    const char *event, *channel, *sub_channel, *auth, *channel_data, *user_data;
} parse_vec_t;

static const parse_vec_t s_valid[] = {
    {"{\"event\":\"pusher:subscribe\",\"data\":{\"auth\":\"\",\"channel\":\"my-channel\"}}",
     "pusher:subscribe", NULL, "my-channel", "", NULL, NULL},
    {"{\"event\":\"pusher:subscribe\",\"data\":{\"auth\":\"278d425bdf160c739803:"
     "58df8b0c36d6982b82c3"
     "ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4\",\"channel\":\"private-foobar\"}}",
     "pusher:subscribe", NULL, "private-foobar",
     "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4", NULL,
     NULL},
    {"{\"event\":\"pusher:subscribe\",\"data\":{\"auth\":\"k:s\",\"channel_data\":\"{\\\"user_"
     "id\\\":"
     "\\\"10\\\",\\\"user_info\\\":{\\\"name\\\":\\\"Mr. "
     "Pusher\\\"}}\",\"channel\":\"presence-foobar\"}}",
     "pusher:subscribe", NULL, "presence-foobar", "k:s",
     "{\"user_id\":\"10\",\"user_info\":{\"name\":\"Mr. Pusher\"}}", NULL},
    /* data as a string holding the object (old clients) */
    {"{\"event\":\"pusher:subscribe\",\"data\":\"{\\\"channel\\\":\\\"c1\\\",\\\"auth\\\":"
     "\\\"a\\\"}\"}",
     "pusher:subscribe", NULL, "c1", "a", NULL, NULL},
    {"{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"no-auth\"}}", "pusher:subscribe",
     NULL, "no-auth", NULL, NULL, NULL},
    {"{\"event\":\"pusher:unsubscribe\",\"data\":{\"channel\":\"my-channel\"}}",
     "pusher:unsubscribe", NULL, "my-channel", NULL, NULL, NULL},
    {"{\"event\":\"pusher:ping\",\"data\":{}}", "pusher:ping", NULL, NULL, NULL, NULL, NULL},
    {"{\"event\":\"pusher:pong\"}", "pusher:pong", NULL, NULL, NULL, NULL, NULL},
    {"{\"event\":\"pusher:signin\",\"data\":{\"auth\":\"k:sig\",\"user_data\":\"{\\\"id\\\":"
     "\\\"12345\\\"}\"}}",
     "pusher:signin", NULL, NULL, "k:sig", NULL, "{\"id\":\"12345\"}"},
    {"{\"event\":\"client-typing\",\"data\":{\"name\":\"Ada\"},\"channel\":\"private-chat\"}",
     "client-typing", "private-chat", NULL, NULL, NULL, NULL},
    {"{\"event\":\"client-x\",\"channel\":7,\"data\":\"s\"}", "client-x", NULL, NULL, NULL, NULL,
     NULL},
    {" {\"event\" : \"e\\u0000\\n\", \"unknown\":[1,2]} ", "e\0\n", NULL, NULL, NULL, NULL, NULL},
};

static void test_parse_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s_valid) / sizeof(s_valid[0]); i++) {
        const parse_vec_t *v = &s_valid[i];
        rtm_pusher_msg_t m;
        assert_int_equal(parse(v->text, &m), 0);
        assert_non_null(m.root);
        if (i == sizeof(s_valid) / sizeof(s_valid[0]) - 1)
            assert_true(rtm_str_eq(m.event, rtm_str("e\0\n", 3)));
        else
            assert_str(m.event, v->event);
        assert_str(m.channel, v->channel);
        assert_str(m.sub_channel, v->sub_channel);
        assert_str(m.auth, v->auth);
        assert_str(m.channel_data, v->channel_data);
        assert_str(m.user_data, v->user_data);
        rtm_pusher_msg_clear(&m);
        assert_null(m.root);
        rtm_pusher_msg_clear(&m); /* twice is fine */
    }
}

static void test_parse_data_member(void **state)
{
    (void)state;
    rtm_pusher_msg_t m;
    assert_int_equal(parse(s_valid[9].text, &m), 0); /* client event: data is the object */
    assert_true(json_is_object(m.data));
    assert_string_equal(json_string_value(json_object_get(m.data, "name")), "Ada");
    rtm_pusher_msg_clear(&m);
    assert_int_equal(parse(s_valid[3].text, &m), 0); /* string data replaced by its object */
    assert_true(json_is_object(m.data));
    assert_ptr_equal(m.data, json_object_get(m.root, "data"));
    rtm_pusher_msg_clear(&m);
    assert_int_equal(parse(s_valid[7].text, &m), 0); /* absent */
    assert_null(m.data);
    rtm_pusher_msg_clear(&m);
    assert_int_equal(parse(s_valid[10].text, &m), 0); /* non-subscribe string stays a string */
    assert_true(json_is_string(m.data));
    rtm_pusher_msg_clear(&m);
}

/* null is absent for every optional field: what pusher-js sends when a custom
 * authorizer answers {"auth":...,"channel_data":null}, and public channels
 * subscribed with auth null, empty or absent. */
static void test_parse_null_is_absent(void **state)
{
    (void)state;
    static const parse_vec_t v[] = {
        {"{\"event\":\"pusher:subscribe\",\"data\":{\"auth\":\"k:s\",\"channel_data\":null,"
         "\"channel\":\"private-c\"}}",
         "pusher:subscribe", NULL, "private-c", "k:s", NULL, NULL},
        {"{\"event\":\"pusher:subscribe\",\"data\":{\"auth\":null,\"channel\":\"public\"}}",
         "pusher:subscribe", NULL, "public", NULL, NULL, NULL},
        {"{\"event\":\"pusher:subscribe\",\"data\":{\"auth\":null,\"channel_data\":null,"
         "\"channel\":\"public\"}}",
         "pusher:subscribe", NULL, "public", NULL, NULL, NULL},
        {"{\"event\":\"pusher:subscribe\",\"data\":\"{\\\"auth\\\":null,\\\"channel\\\":"
         "\\\"c\\\"}\"}",
         "pusher:subscribe", NULL, "c", NULL, NULL, NULL},
        {"{\"event\":\"pusher:unsubscribe\",\"data\":{\"auth\":null,\"channel\":\"c\"}}",
         "pusher:unsubscribe", NULL, "c", NULL, NULL, NULL},
        {"{\"event\":\"client-x\",\"channel\":null,\"data\":null}", "client-x", NULL, NULL, NULL,
         NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        rtm_pusher_msg_t m;
        assert_int_equal(parse(v[i].text, &m), 0);
        assert_str(m.event, v[i].event);
        assert_str(m.channel, v[i].channel);
        assert_str(m.sub_channel, v[i].sub_channel);
        assert_str(m.auth, v[i].auth);
        assert_str(m.channel_data, v[i].channel_data);
        assert_str(m.user_data, v[i].user_data);
        rtm_pusher_msg_clear(&m);
    }
}

static void test_parse_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int rc;
    } v[] = {
        {"", RTM_EPROTO},
        {"not json", RTM_EPROTO},
        {"[]", RTM_EPROTO},
        {"[{\"event\":\"pusher:ping\"}]", RTM_EPROTO},
        {"\"pusher:ping\"", RTM_EPROTO},
        {"42", RTM_EPROTO},
        {"null", RTM_EPROTO},
        {"{}", RTM_EPROTO},
        {"{\"data\":{}}", RTM_EPROTO},
        {"{\"event\":null}", RTM_EPROTO},
        {"{\"event\":7}", RTM_EPROTO},
        {"{\"event\":{\"a\":1}}", RTM_EPROTO},
        {"{\"event\":\"e\"} trailing", RTM_EPROTO},
        {"{\"event\":\"e\",}", RTM_EPROTO},
        {"{\"event\":\"\xff\"}", RTM_EPROTO}, /* not UTF-8 */
        {"{\"event\":\"pusher:subscribe\"}", RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":null}", RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":[]}", RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":{}}", RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":1}}", RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":null}}", RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"c\",\"auth\":1}}", RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"c\",\"auth\":[]}}", RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"c\",\"channel_data\":7}}",
         RTM_EINVAL},
        {"{\"event\":\"pusher:signin\",\"data\":{\"auth\":null,\"user_data\":\"{}\"}}", RTM_EINVAL},
        {"{\"event\":\"pusher:signin\",\"data\":{\"auth\":\"k:s\",\"user_data\":null}}",
         RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"c\",\"channel_data\":{}}}",
         RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":\"{\\\"channel\\\":\"}", RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":\"[\\\"c\\\"]\"}", RTM_EINVAL},
        {"{\"event\":\"pusher:subscribe\",\"data\":\"\"}", RTM_EINVAL},
        {"{\"event\":\"pusher:unsubscribe\",\"data\":{\"auth\":\"\"}}", RTM_EINVAL},
        {"{\"event\":\"pusher:unsubscribe\",\"data\":\"x\"}", RTM_EINVAL},
        {"{\"event\":\"pusher:signin\",\"data\":{\"auth\":\"k:s\"}}", RTM_EINVAL},
        {"{\"event\":\"pusher:signin\",\"data\":{\"user_data\":\"{}\"}}", RTM_EINVAL},
        {"{\"event\":\"pusher:signin\",\"data\":{\"auth\":\"k:s\",\"user_data\":{\"id\":\"1\"}}}",
         RTM_EINVAL},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        rtm_pusher_msg_t m;
        memset(&m, 0x5a, sizeof(m));
        assert_int_equal(parse(v[i].text, &m), v[i].rc);
        assert_null(m.root); /* nothing to free; ASan checks the leak */
        assert_int_equal(m.event.len, 0);
        rtm_pusher_msg_clear(&m);
    }
}

/* Every proper prefix of a valid frame is rejected cleanly (and leak-free). */
static void test_parse_every_truncation(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s_valid) / sizeof(s_valid[0]); i++) {
        const char *t = s_valid[i].text;
        size_t len = strlen(t);
        while (len && t[len - 1] == ' ')
            len--; /* a prefix that only drops trailing blanks is still the whole frame */
        for (size_t cut = 0; cut < len; cut++) {
            char *copy = malloc(cut ? cut : 1); /* exact size: ASan catches over-reads */
            memcpy(copy, t, cut);
            rtm_pusher_msg_t m;
            assert_int_equal(rtm_pusher_parse(copy, cut, &m), RTM_EPROTO);
            assert_null(m.root);
            free(copy);
        }
    }
}

static void test_socket_id(void **state)
{
    (void)state;
    static const char *const ok[] = {"1.2",       "123.456",
                                     "1234.1234", "45481.3166671",
                                     "0.0",       "18446744073709551615.18446744073709551615"};
    static const char *const bad[] = {"",     ".",     "1.",   ".1",    "1",    "12",
                                      "a.b",  "1.2.3", "1..2", " 1.2",  "1.2 ", "-1.2",
                                      "1.-2", "1,2",   "+1.2", "1.2\n", "١.٢"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_true(rtm_socket_id_valid(S(ok[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(rtm_socket_id_valid(S(bad[i])));
    assert_false(rtm_socket_id_valid(rtm_str("1.2\0", 4)));
    assert_false(rtm_socket_id_valid(rtm_str(NULL, 0)));
}

/* ---- render ---- */

/* Checks one render: exact text, _len agrees, every shorter buffer gives
 * RTM_ETOOBIG without writing past it, and the text is valid JSON. */
typedef int (*render_fn)(char *out, size_t cap, const void *arg);

static void check_render(render_fn fn, const void *arg, size_t len_fn_value, const char *want)
{
    size_t n = strlen(want);
    assert_int_equal(len_fn_value, n);
    char *buf = malloc(n + 1);
    memset(buf, '#', n + 1);
    assert_int_equal(fn(buf, n + 1, arg), (int)n);
    assert_memory_equal(buf, want, n);
    assert_int_equal(buf[n], '#');
    for (size_t cap = 0; cap < n; cap++) {
        char *small = malloc(cap + 1); /* exact: ASan catches any write past cap */
        assert_int_equal(fn(small, cap, arg), RTM_ETOOBIG);
        free(small);
    }
    json_t *j = json_loadb(buf, n, JSON_ALLOW_NUL, NULL);
    assert_non_null(j);
    json_decref(j);
    free(buf);
}

typedef struct {
    rtm_str_t event, channel, data, user_id;
} ev_arg_t;

static int r_event(char *out, size_t cap, const void *a)
{
    const ev_arg_t *e = a;
    return rtm_pusher_render_event(out, cap, e->event, e->channel, e->data);
}

static int r_client_event(char *out, size_t cap, const void *a)
{
    const ev_arg_t *e = a;
    return rtm_pusher_render_client_event(out, cap, e->event, e->channel, e->data, e->user_id);
}

static void test_render_event(void **state)
{
    (void)state;
    ev_arg_t a = {S("my-event"), S("my-channel"), S("{\"some\":\"data\"}"), S("")};
    check_render(r_event, &a, rtm_pusher_event_len(a.event, a.channel, a.data),
                 "{\"event\":\"my-event\",\"channel\":\"my-channel\",\"data\":\"{\\\"some\\\":"
                 "\\\"data\\\"}\"}");
    ev_arg_t b = {S("e"), S("private-encrypted-x"), S(""), S("")};
    check_render(r_event, &b, rtm_pusher_event_len(b.event, b.channel, b.data),
                 "{\"event\":\"e\",\"channel\":\"private-encrypted-x\",\"data\":\"\"}");
    ev_arg_t c = {S("pusher_internal:member_removed"), S("presence-x"), S("{\"user_id\":\"11\"}"),
                  S("")};
    check_render(r_event, &c, rtm_pusher_event_len(c.event, c.channel, c.data),
                 "{\"event\":\"pusher_internal:member_removed\",\"channel\":\"presence-x\","
                 "\"data\":\"{\\\"user_id\\\":\\\"11\\\"}\"}");
    ev_arg_t d = {S("e\"v"), S(""), S("line\nbreak\t\x01"), S("")}; /* no channel */
    check_render(r_event, &d, rtm_pusher_event_len(d.event, d.channel, d.data),
                 "{\"event\":\"e\\\"v\",\"data\":\"line\\nbreak\\t\\u0001\"}");
}

static void test_render_client_event(void **state)
{
    (void)state;
    ev_arg_t a = {S("client-typing"), S("presence-chat"), S("{\"name\":\"Ada\"}"), S("10")};
    check_render(r_client_event, &a,
                 rtm_pusher_client_event_len(a.event, a.channel, a.data, a.user_id),
                 "{\"event\":\"client-typing\",\"channel\":\"presence-chat\",\"data\":"
                 "\"{\\\"name\\\":\\\"Ada\\\"}\",\"user_id\":\"10\"}");
    ev_arg_t b = {S("client-typing"), S("private-chat"), S("{}"), S("")};
    check_render(r_client_event, &b,
                 rtm_pusher_client_event_len(b.event, b.channel, b.data, b.user_id),
                 "{\"event\":\"client-typing\",\"channel\":\"private-chat\",\"data\":\"{}\"}");
}

/* data survives render → parse: same event, channel and data bytes. */
static void round_trip(rtm_str_t data)
{
    rtm_str_t ev = S("my-event"), ch = S("private-App.Models.User.1");
    size_t need = rtm_pusher_event_len(ev, ch, data);
    char *out = malloc(need);
    assert_int_equal(rtm_pusher_render_event(out, need, ev, ch, data), (int)need);
    rtm_pusher_msg_t m;
    assert_int_equal(rtm_pusher_parse(out, need, &m), 0);
    assert_true(rtm_str_eq(m.event, ev));
    assert_true(rtm_str_eq(m.channel, ch));
    assert_true(json_is_string(m.data));
    assert_int_equal(json_string_length(m.data), data.len);
    if (data.len)
        assert_memory_equal(json_string_value(m.data), data.p, data.len);
    rtm_pusher_msg_clear(&m);
    free(out);
}

/* Every ASCII byte (NUL and controls included) and UTF-8 text round-trip.
 * Cuts inside a UTF-8 sequence are not tried: they are not JSON strings, and
 * REST data always comes out of jansson as valid UTF-8. */
static void test_event_round_trip(void **state)
{
    (void)state;
    char data[256];
    size_t n = 0;
    for (int c = 0; c < 0x80; c++)
        data[n++] = (char)c;
    for (size_t len = 0; len <= n; len++)
        round_trip(rtm_str(data, len));
    static const char utf8[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \\\"\\u0041";
    memcpy(data + n, utf8, sizeof(utf8) - 1);
    round_trip(rtm_str(data, n + sizeof(utf8) - 1));
}

typedef struct {
    rtm_str_t sid;
    int timeout;
} est_arg_t;

static int r_established(char *out, size_t cap, const void *a)
{
    const est_arg_t *e = a;
    return rtm_pusher_render_connection_established(out, cap, e->sid, e->timeout);
}

static void test_render_connection_established(void **state)
{
    (void)state;
    est_arg_t a = {S("1.2"), 120};
    check_render(r_established, &a, rtm_pusher_connection_established_len(a.sid, a.timeout),
                 "{\"event\":\"pusher:connection_established\",\"data\":\"{\\\"socket_id\\\":"
                 "\\\"1.2\\\",\\\"activity_timeout\\\":120}\"}");
    est_arg_t b = {S("45481.3166671"), 30};
    check_render(r_established, &b, rtm_pusher_connection_established_len(b.sid, b.timeout),
                 "{\"event\":\"pusher:connection_established\",\"data\":\"{\\\"socket_id\\\":"
                 "\\\"45481.3166671\\\",\\\"activity_timeout\\\":30}\"}");

    /* the inner string is itself the JSON pusher-js parses */
    char buf[256];
    int n = rtm_pusher_render_connection_established(buf, sizeof(buf), b.sid, b.timeout);
    json_t *j = json_loadb(buf, (size_t)n, 0, NULL);
    json_t *inner = json_loads(json_string_value(json_object_get(j, "data")), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(inner, "socket_id")), "45481.3166671");
    assert_int_equal(json_integer_value(json_object_get(inner, "activity_timeout")), 30);
    json_decref(inner);
    json_decref(j);

    assert_int_equal(rtm_pusher_render_connection_established(buf, sizeof(buf), S("1.2"), 0),
                     RTM_EINVAL);
    assert_int_equal(rtm_pusher_render_connection_established(buf, sizeof(buf), S("1.2"), -5),
                     RTM_EINVAL);
    assert_int_equal(rtm_pusher_render_connection_established(buf, sizeof(buf), S("1.2\""), 120),
                     RTM_EINVAL);
    assert_int_equal(rtm_pusher_render_connection_established(buf, sizeof(buf), S(""), 120),
                     RTM_EINVAL);
}

typedef struct {
    int code;
    const char *message;
    rtm_str_t channel;
} err_arg_t;

static int r_error(char *out, size_t cap, const void *a)
{
    const err_arg_t *e = a;
    return rtm_pusher_render_error(out, cap, e->code, e->message, e->channel);
}

static void test_render_error(void **state)
{
    (void)state;
    err_arg_t a = {4001, "Application does not exist", S("")};
    check_render(r_error, &a, rtm_pusher_error_len(a.code, a.message, a.channel),
                 "{\"event\":\"pusher:error\",\"data\":{\"code\":4001,\"message\":"
                 "\"Application does not exist\"}}");
    err_arg_t b = {0, "Existing subscription to channel presence-channel", S("")};
    check_render(r_error, &b, rtm_pusher_error_len(b.code, b.message, b.channel),
                 "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":"
                 "\"Existing subscription to channel presence-channel\"}}");
    err_arg_t c = {4301, "Client event \"x\"\nrejected", S("private-x")};
    check_render(r_error, &c, rtm_pusher_error_len(c.code, c.message, c.channel),
                 "{\"event\":\"pusher:error\",\"channel\":\"private-x\",\"data\":{\"code\":4301,"
                 "\"message\":\"Client event \\\"x\\\"\\nrejected\"}}");
    err_arg_t d = {-1, NULL, S("")};
    check_render(r_error, &d, rtm_pusher_error_len(d.code, d.message, d.channel),
                 "{\"event\":\"pusher:error\",\"data\":{\"code\":-1,\"message\":\"\"}}");
}

static int r_succeeded(char *out, size_t cap, const void *a)
{
    return rtm_pusher_render_subscription_succeeded(out, cap, *(const rtm_str_t *)a);
}

static int r_signin(char *out, size_t cap, const void *a)
{
    return rtm_pusher_render_signin_success(out, cap, *(const rtm_str_t *)a);
}

typedef struct {
    rtm_str_t channel;
    const char *type, *message;
    int status;
} refusal_arg_t;

static int r_subscription_error(char *out, size_t cap, const void *a)
{
    const refusal_arg_t *r = a;
    return rtm_pusher_render_subscription_error(out, cap, r->channel, r->type, r->message,
                                                r->status);
}

static int r_cache_miss(char *out, size_t cap, const void *a)
{
    return rtm_pusher_render_cache_miss(out, cap, *(const rtm_str_t *)a);
}

static void test_render_refusal_and_cache_miss(void **state)
{
    (void)state;
    refusal_arg_t r = {S("presence-\"x\""), "AuthError", "Invalid signature", 401};
    check_render(
        r_subscription_error, &r,
        rtm_pusher_subscription_error_len(r.channel, r.type, r.message, r.status),
        "{\"event\":\"pusher:subscription_error\",\"channel\":\"presence-\\\"x\\\"\","
        "\"data\":{\"type\":\"AuthError\",\"error\":\"Invalid signature\",\"status\":401}}");
    rtm_str_t ch = S("cache-\nx");
    check_render(r_cache_miss, &ch, rtm_pusher_cache_miss_len(ch),
                 "{\"event\":\"pusher:cache_miss\",\"channel\":\"cache-\\nx\"}");
}

static void test_render_succeeded_and_signin(void **state)
{
    (void)state;
    rtm_str_t ch = S("my-channel");
    check_render(r_succeeded, &ch, rtm_pusher_subscription_succeeded_len(ch),
                 "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"my-channel\","
                 "\"data\":\"{}\"}");
    rtm_str_t ud = S("{\"id\":\"12345\"}");
    check_render(r_signin, &ud, rtm_pusher_signin_success_len(ud),
                 "{\"event\":\"pusher:signin_success\",\"data\":{\"user_data\":"
                 "\"{\\\"id\\\":\\\"12345\\\"}\"}}");
}

static void test_ping_pong_constants(void **state)
{
    (void)state;
    static const char *const frames[] = {RTM_PUSHER_PING, RTM_PUSHER_PONG};
    static const char *const names[] = {"pusher:ping", "pusher:pong"};
    for (size_t i = 0; i < 2; i++) {
        rtm_pusher_msg_t m;
        assert_int_equal(parse(frames[i], &m), 0);
        assert_str(m.event, names[i]);
        assert_true(json_is_object(m.data));
        assert_int_equal(json_object_size(m.data), 0);
        rtm_pusher_msg_clear(&m);
    }
    assert_int_equal(sizeof(RTM_PUSHER_PONG) - 1,
                     strlen("{\"event\":\"pusher:pong\",\"data\":{}}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_data_member),
        cmocka_unit_test(test_parse_null_is_absent),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_every_truncation),
        cmocka_unit_test(test_socket_id),
        cmocka_unit_test(test_render_event),
        cmocka_unit_test(test_render_client_event),
        cmocka_unit_test(test_event_round_trip),
        cmocka_unit_test(test_render_connection_established),
        cmocka_unit_test(test_render_error),
        cmocka_unit_test(test_render_succeeded_and_signin),
        cmocka_unit_test(test_render_refusal_and_cache_miss),
        cmocka_unit_test(test_ping_pong_constants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
