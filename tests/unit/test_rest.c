/* Tests for rtm_rest: query-string decoding, the string to sign and request
 * verification against the reference §5.3 vectors (Pusher docs worked
 * example, node SDK, signature gem) with Pusher's error texts, and trigger
 * bodies at and one past every limit, malformed and truncated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtm_error.h"
#include "rtm_rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rtm_str_t S(const char *s)
{
    return rtm_str_cstr(s);
}

static void assert_str(rtm_str_t got, const char *want)
{
    assert_int_equal(got.len, strlen(want));
    assert_memory_equal(got.p, want, got.len);
}

/* ---- query strings ---- */

static void test_query_parse(void **state)
{
    (void)state;
    rtm_query_t q;
    assert_int_equal(rtm_query_parse(S("Auth_Key=foo&Name=Something+else&a%2Bb=c%20d%26e&flag&"
                                       "empty=&&x=1=2&info=user_count,subscription_count"),
                                     &q),
                     0);
    assert_int_equal(q.n, 7);
    assert_str(q.params[0].key, "auth_key");
    assert_str(rtm_query_get(&q, "auth_key"), "foo");
    assert_str(rtm_query_get(&q, "name"), "Something else");
    assert_str(rtm_query_get(&q, "a+b"), "c d&e");
    assert_str(rtm_query_get(&q, "x"), "1=2");
    assert_str(rtm_query_get(&q, "info"), "user_count,subscription_count");
    rtm_str_t flag = rtm_query_get(&q, "flag"), empty = rtm_query_get(&q, "empty");
    assert_non_null(flag.p); /* present, empty */
    assert_int_equal(flag.len, 0);
    assert_non_null(empty.p);
    assert_int_equal(empty.len, 0);
    rtm_str_t absent = rtm_query_get(&q, "absent");
    assert_null(absent.p);
    assert_int_equal(absent.len, 0);
    assert_null(rtm_query_get(&q, "Name").p); /* lookups use the lower-cased key */
    rtm_query_free(&q);
    assert_null(q.buf);
    rtm_query_free(&q);

    assert_int_equal(rtm_query_parse(S(""), &q), 0);
    assert_int_equal(q.n, 0);
    assert_null(rtm_query_get(&q, "a").p);
    rtm_query_free(&q);
    assert_int_equal(rtm_query_parse(S("&&&"), &q), 0);
    assert_int_equal(q.n, 0);
    rtm_query_free(&q);
    assert_int_equal(rtm_query_parse(S("%41=%e2%82%ac&b=%00"), &q), 0);
    assert_str(rtm_query_get(&q, "a"), "\xe2\x82\xac");
    assert_true(rtm_str_eq(rtm_query_get(&q, "b"), rtm_str("\0", 1)));
    rtm_query_free(&q);
}

static void test_query_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"%",     "a=%",   "a=%4",    "a=%4g",
                                      "a=%g4", "%zz=1", "a=1&b=%", "a=x%"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rtm_query_t q;
        assert_int_equal(rtm_query_parse(S(bad[i]), &q), RTM_EPROTO);
        assert_null(q.buf);
        assert_int_equal(q.n, 0);
    }
}

static void test_query_limit(void **state)
{
    (void)state;
    char qs[512];
    size_t n = 0;
    for (int i = 0; i < RTM_QUERY_MAX + 1; i++)
        n += (size_t)snprintf(qs + n, sizeof(qs) - n, "%sk%d=v", i ? "&" : "", i);
    rtm_query_t q;
    char *last = strrchr(qs, '&');
    assert_int_equal(rtm_query_parse(rtm_str(qs, (size_t)(last - qs)), &q), 0);
    assert_int_equal(q.n, RTM_QUERY_MAX);
    assert_str(rtm_query_get(&q, "k31"), "v");
    rtm_query_free(&q);
    assert_int_equal(rtm_query_parse(rtm_str(qs, n), &q), RTM_ETOOBIG);
    assert_null(q.buf);
}

/* ---- string to sign and verification ---- */

#define DOCS_SECRET "7ad3773142a6692b25b8"
#define DOCS_BODY                                                                                  \
    "{\"name\":\"foo\",\"channels\":[\"project-3\"],\"data\":\"{\\\"some\\\":\\\"data\\\"}\"}"
#define DOCS_QUERY                                                                                 \
    "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5="           \
    "ec365a775a4cd0599faeb73354201b6f&auth_signature="                                             \
    "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
#define DOCS_STS                                                                                   \
    "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version="  \
    "1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"
#define DOCS_NOW 1353088179

static void check_sts(const char *method, const char *path, const char *qs, const char *want)
{
    rtm_query_t q;
    assert_int_equal(rtm_query_parse(S(qs), &q), 0);
    size_t n = strlen(want);
    assert_int_equal(rtm_rest_string_to_sign_len(S(method), S(path), &q), n);
    char *buf = malloc(n + 1);
    memset(buf, '#', n + 1);
    assert_int_equal(rtm_rest_string_to_sign(buf, n + 1, S(method), S(path), &q), (int)n);
    assert_memory_equal(buf, want, n);
    assert_int_equal(buf[n], '#');
    for (size_t cap = 0; cap < n; cap++) {
        char *small = malloc(cap + 1); /* ASan: no write past cap */
        assert_int_equal(rtm_rest_string_to_sign(small, cap, S(method), S(path), &q), RTM_ETOOBIG);
        free(small);
    }
    free(buf);
    rtm_query_free(&q);
}

static void test_string_to_sign(void **state)
{
    (void)state;
    check_sts("POST", "/apps/3/events", DOCS_QUERY, DOCS_STS);
    check_sts("post", "/apps/3/events", DOCS_QUERY, DOCS_STS); /* method upper-cased */
    /* docs: keys lower-cased, sorted, values not escaped */
    check_sts("GET", "/p", "Name=Something+else&auth_key=foo",
              "GET\n/p\nauth_key=foo&name=Something else");
    /* gem spec */
    check_sts("POST", "/some/path",
              "query=params&go=here&auth_version=1.0&auth_key=key&auth_timestamp=1234",
              "POST\n/some/path\nauth_key=key&auth_timestamp=1234&auth_version=1.0&go=here&"
              "query=params");
    /* bytewise order ('_' 0x5f sorts after 'Z' but before 'a'), equal keys keep
     * their order, flags render as key= */
    check_sts("GET", "/", "b=2&a_b=1&a=3&c[]=y&c[]=x&flag",
              "GET\n/\na=3&a_b=1&b=2&c[]=y&c[]=x&flag=");
    check_sts("GET", "/", "", "GET\n/\n");
    check_sts("GET", "/", "auth_signature=x", "GET\n/\n");
}

static int verify(const char *method, const char *path, const char *qs, const char *body,
                  const char *secret, int64_t now, char *err, size_t err_len)
{
    rtm_query_t q;
    assert_int_equal(rtm_query_parse(S(qs), &q), 0);
    int rc = rtm_rest_verify(S(method), S(path), &q, S(body), S(secret), now, err, err_len);
    rtm_query_free(&q);
    return rc;
}

static void test_verify_docs_example(void **state)
{
    (void)state;
    char err[512];
    const char *p = "/apps/3/events";
    assert_int_equal(verify("POST", p, DOCS_QUERY, DOCS_BODY, DOCS_SECRET, DOCS_NOW, err, 512), 0);
    assert_int_equal(
        verify("POST", p, DOCS_QUERY, DOCS_BODY, DOCS_SECRET, DOCS_NOW + 599, err, 512), 0);
    assert_int_equal(
        verify("POST", p, DOCS_QUERY, DOCS_BODY, DOCS_SECRET, DOCS_NOW - 599, err, 512), 0);
    assert_int_equal(
        verify("POST", p, DOCS_QUERY, DOCS_BODY, DOCS_SECRET, DOCS_NOW + 600, err, 512), RTM_EAUTH);
    assert_string_equal(err, "Timestamp expired: Given timestamp (2012-11-16T17:49:39Z) not within "
                             "600s of server time (2012-11-16T17:59:39Z)");
    assert_int_equal(
        verify("POST", p, DOCS_QUERY, DOCS_BODY, DOCS_SECRET, DOCS_NOW - 600, err, 512), RTM_EAUTH);
    assert_non_null(strstr(err, "Timestamp expired"));

    /* every flipped body byte is caught by body_md5 */
    char body[] = DOCS_BODY;
    for (size_t i = 0; i < sizeof(body) - 1; i++) {
        body[i] ^= 0x20;
        assert_int_equal(verify("POST", p, DOCS_QUERY, body, DOCS_SECRET, DOCS_NOW, err, 512),
                         RTM_EAUTH);
        assert_non_null(strstr(err, "body_md5"));
        body[i] ^= 0x20;
    }
    /* wrong secret, method or path: the signature */
    assert_int_equal(
        verify("POST", p, DOCS_QUERY, DOCS_BODY, "7ad3773142a6692b25b9", DOCS_NOW, err, 512),
        RTM_EAUTH);
    assert_string_equal(err,
                        "Invalid signature: you should have sent HmacSHA256Hex(\"POST\\n/apps/3/"
                        "events\\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&"
                        "auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f\", "
                        "your_secret_key), but you sent \"da454824c97ba181a32ccc17a72625ba02771f50b"
                        "50e1e7430e47a1f3f457e6c\"");
    assert_int_equal(verify("PUT", p, DOCS_QUERY, DOCS_BODY, DOCS_SECRET, DOCS_NOW, err, 512),
                     RTM_EAUTH);
    assert_int_equal(
        verify("POST", "/apps/4/events", DOCS_QUERY, DOCS_BODY, DOCS_SECRET, DOCS_NOW, err, 512),
        RTM_EAUTH);
    /* an extra parameter is signed too */
    assert_int_equal(
        verify("POST", p, DOCS_QUERY "&info=x", DOCS_BODY, DOCS_SECRET, DOCS_NOW, err, 512),
        RTM_EAUTH);
    assert_non_null(strstr(err, "Invalid signature"));
    /* a flipped signature byte */
    char qs[] = DOCS_QUERY;
    qs[sizeof(qs) - 2] ^= 0x01;
    assert_int_equal(verify("POST", p, qs, DOCS_BODY, DOCS_SECRET, DOCS_NOW, err, 512), RTM_EAUTH);
    assert_non_null(strstr(err, "Invalid signature"));
}

static void test_verify_other_vectors(void **state)
{
    (void)state;
    char err[512];
    /* node SDK create_signed_query_string.js */
    assert_int_equal(verify("GET", "/event",
                            "auth_key=f00d&auth_timestamp=1234567890&auth_version=1.0&body_md5="
                            "165d5e6d7ca8f73b3853ce45addf42fc&auth_signature="
                            "a650196dc427ebe837226f8565ca9232198c6d1b9455eaa72374a9dc0b620e7b",
                            "example body", "tofu", 1234567890, err, sizeof(err)),
                     0);
    /* signature gem spec */
    assert_int_equal(verify("POST", "/some/path",
                            "query=params&go=here&auth_version=1.0&auth_key=key&auth_timestamp=1234"
                            "&auth_signature="
                            "3b237953a5ba6619875cbb2a2d43e8da9ef5824e8a2c689f6284ac85bc1ea0db",
                            "", "secret", 1234, err, sizeof(err)),
                     0);
    assert_int_equal(verify("POST", "/some/path",
                            "query=params&auth_version=1.0&auth_key=key&auth_timestamp=1234"
                            "&auth_signature="
                            "da078fcedd72941b6c873caa40d0d6b2000ebfc700cee802b128dd20f72e74e9",
                            "", "secret", 1234, err, sizeof(err)),
                     0);
    /* percent-encoded values are signed decoded, as the gem sees them */
    assert_int_equal(verify("POST", "/some/path",
                            "query=par%61ms&auth_version=1.0&auth_key=key&auth_timestamp=1234"
                            "&auth_signature="
                            "da078fcedd72941b6c873caa40d0d6b2000ebfc700cee802b128dd20f72e74e9",
                            "", "secret", 1234, err, sizeof(err)),
                     0);
}

/* Each check in order, with its message. */
static void test_verify_errors(void **state)
{
    (void)state;
    static const struct {
        const char *qs, *body, *msg;
    } v[] = {
        {"auth_key=k&auth_timestamp=100&auth_version=1.0", "", "Signature required"},
        {"auth_signature=x&auth_timestamp=100", "", "Version required"},
        {"auth_signature=x&auth_version=2.0&auth_timestamp=100", "", "Version not supported"},
        {"auth_signature=x&auth_version=&auth_timestamp=100", "", "Version not supported"},
        {"auth_signature=x&auth_version=1.0", "", "Timestamp required"},
        {"auth_signature=x&auth_version=1.0&auth_timestamp=", "", "Invalid timestamp"},
        {"auth_signature=x&auth_version=1.0&auth_timestamp=12a", "", "Invalid timestamp"},
        {"auth_signature=x&auth_version=1.0&auth_timestamp=99999999999999999999", "",
         "Invalid timestamp"},
        {"auth_signature=x&auth_version=1.0&auth_timestamp=-1000", "", "Timestamp expired"},
        {"auth_signature=x&auth_version=1.0&auth_timestamp=100", "{}", "body_md5 required"},
        {"auth_signature=x&auth_version=1.0&auth_timestamp=100&body_md5="
         "99914b932bd37a50b983c5e7c90ae93c",
         "{}", "Invalid body_md5"},
        {"auth_signature=x&auth_version=1.0&auth_timestamp=100&body_md5=x", "", "Invalid body_md5"},
        {"auth_signature=x&auth_version=1.0&auth_timestamp=100&body_md5="
         "99914b932bd37a50b983c5e7c90ae93b",
         "{}", "Invalid signature"},
        {"auth_signature=&auth_version=1.0&auth_timestamp=100", "", "Invalid signature"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char err[256] = "";
        assert_int_equal(verify("POST", "/p", v[i].qs, v[i].body, "s", 100, err, sizeof(err)),
                         RTM_EAUTH);
        if (strncmp(err, v[i].msg, strlen(v[i].msg)) != 0)
            fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, err, v[i].msg);
    }
}

/* A short or absent error buffer is never overrun and stays terminated. */
static void test_verify_error_buffer(void **state)
{
    (void)state;
    for (size_t len = 1; len < 64; len++) {
        char *err = malloc(len);
        assert_int_equal(
            verify("POST", "/apps/3/events", DOCS_QUERY, DOCS_BODY, "wrong", DOCS_NOW, err, len),
            RTM_EAUTH);
        assert_int_equal(strlen(err), len - 1);
        assert_int_equal(
            verify("POST", "/apps/3/events", DOCS_QUERY, DOCS_BODY, DOCS_SECRET, 0, err, len),
            RTM_EAUTH);
        assert_true(strlen(err) < len);
        free(err);
    }
    assert_int_equal(
        verify("POST", "/apps/3/events", DOCS_QUERY, DOCS_BODY, "wrong", DOCS_NOW, NULL, 0),
        RTM_EAUTH);
}

/* ---- trigger bodies ---- */

static int trigger(const char *body, bool batch, rtm_rest_trigger_t *t, char *err)
{
    return rtm_rest_parse_trigger(S(body), NULL, batch, t, err, 256);
}

static void test_trigger_events(void **state)
{
    (void)state;
    rtm_rest_trigger_t t;
    char err[256];
    assert_int_equal(trigger(DOCS_BODY, false, &t, err), 0);
    assert_int_equal(t.n, 1);
    assert_str(t.events[0].name, "foo");
    assert_str(t.events[0].data, "{\"some\":\"data\"}");
    assert_int_equal(t.events[0].n_channels, 1);
    assert_str(t.events[0].channels[0], "project-3");
    assert_null(t.events[0].socket_id.p);
    assert_null(t.events[0].info.p);
    rtm_rest_trigger_clear(&t);
    assert_null(t.root);
    rtm_rest_trigger_clear(&t);

    assert_int_equal(trigger("{\"name\":\"my-event\",\"data\":\"\",\"channels\":[\"ch-1\",\"ch-2\","
                             "\"ch-1\"],\"socket_id\":\"123.456\",\"info\":\"user_count,"
                             "subscription_count\",\"extra\":[1]}",
                             false, &t, err),
                     0);
    assert_str(t.events[0].data, "");
    assert_non_null(t.events[0].data.p);
    assert_int_equal(t.events[0].n_channels, 2); /* duplicate dropped */
    assert_str(t.events[0].channels[1], "ch-2");
    assert_str(t.events[0].socket_id, "123.456");
    assert_str(t.events[0].info, "user_count,subscription_count");
    rtm_rest_trigger_clear(&t);

    assert_int_equal(
        trigger("{\"name\":\"e\",\"data\":\"d\\u0000x\",\"channel\":\"private-encrypted-"
                "x\",\"socket_id\":null}",
                false, &t, err),
        0);
    assert_true(rtm_str_eq(t.events[0].data, rtm_str("d\0x", 3)));
    assert_str(t.events[0].channels[0], "private-encrypted-x");
    assert_null(t.events[0].socket_id.p);
    rtm_rest_trigger_clear(&t);

    /* null is absent for every optional member: channels or channel, info */
    assert_int_equal(trigger("{\"name\":\"e\",\"data\":\"d\",\"channels\":null,\"channel\":\"c\","
                             "\"info\":null}",
                             false, &t, err),
                     0);
    assert_str(t.events[0].channels[0], "c");
    assert_null(t.events[0].info.p);
    rtm_rest_trigger_clear(&t);
    assert_int_equal(
        trigger("{\"name\":\"e\",\"data\":\"d\",\"channels\":[\"a\"],\"channel\":null}", false, &t,
                err),
        0);
    assert_str(t.events[0].channels[0], "a");
    rtm_rest_trigger_clear(&t);
    assert_int_equal(trigger("{\"name\":\"e\",\"data\":\"d\",\"channels\":null,\"channel\":null}",
                             false, &t, err),
                     RTM_EPROTO);
    assert_non_null(strstr(err, "channels: required"));

    assert_int_equal(
        trigger("{\"name\":\"e\",\"data\":\"d\",\"channels\":[\"#server-to-user-42\"]}", false, &t,
                err),
        0);
    rtm_rest_trigger_clear(&t);
}

/* The answers to triggers that asked for "info", from each channel's attributes. */
static void test_render_trigger_info(void **state)
{
    (void)state;
    rtm_rest_trigger_t t;
    char err[256];
    assert_int_equal(trigger("{\"name\":\"e\",\"data\":\"d\",\"channels\":[\"a=q\",\"presence-b\"],"
                             "\"info\":\"user_count\"}",
                             false, &t, err),
                     0);
    char *attrs[RTM_REST_MAX_BATCH][RTM_REST_MAX_CHANNELS] = {{NULL, "{\"user_count\":2}"}};
    size_t len;
    char *json = rtm_rest_render_trigger_info(&t, false, attrs, &len);
    const char *want = "{\"channels\":{\"a=q\":{},\"presence-b\":{\"user_count\":2}}}";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(json, want, len);
    free(json);
    rtm_rest_trigger_clear(&t);
    assert_int_equal(trigger("{\"batch\":[{\"channel\":\"c\",\"name\":\"e\",\"data\":\"\"},"
                             "{\"channel\":\"d\",\"name\":\"e\",\"data\":\"\",\"info\":\"x\"}]}",
                             true, &t, err),
                     0);
    char *battrs[RTM_REST_MAX_BATCH][RTM_REST_MAX_CHANNELS] = {{NULL},
                                                               {"{\"subscription_count\":1}"}};
    json = rtm_rest_render_trigger_info(&t, true, battrs, &len);
    want = "{\"batch\":[{},{\"subscription_count\":1}]}";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(json, want, len);
    free(json);
    rtm_rest_trigger_clear(&t);
}

static void test_trigger_batch(void **state)
{
    (void)state;
    rtm_rest_trigger_t t;
    char err[256];
    assert_int_equal(trigger("{\"batch\":[{\"channel\":\"ch-1\",\"name\":\"e1\",\"data\":\"{}\","
                             "\"socket_id\":\"123.456\",\"info\":\"subscription_count\"},"
                             "{\"channel\":\"presence-x\",\"name\":\"e2\",\"data\":\"x\"}]}",
                             true, &t, err),
                     0);
    assert_int_equal(t.n, 2);
    assert_str(t.events[0].channels[0], "ch-1");
    assert_str(t.events[0].socket_id, "123.456");
    assert_str(t.events[1].name, "e2");
    assert_str(t.events[1].channels[0], "presence-x");
    assert_null(t.events[1].socket_id.p);
    rtm_rest_trigger_clear(&t);
    assert_int_equal(trigger("{\"batch\":[]}", true, &t, err), 0);
    assert_int_equal(t.n, 0);
    rtm_rest_trigger_clear(&t);
    /* a batch body is not an /events body and vice versa */
    assert_int_equal(trigger("{\"batch\":[]}", false, &t, err), RTM_EPROTO);
    assert_int_equal(trigger(DOCS_BODY, true, &t, err), RTM_EPROTO);
}

typedef struct {
    const char *body;
    bool batch;
    int rc;
    const char *field; /* must appear in err */
} bad_vec_t;

static const bad_vec_t s_bad[] = {
    {"", false, RTM_EPROTO, "JSON"},
    {"not json", false, RTM_EPROTO, "JSON"},
    {"[]", false, RTM_EPROTO, "JSON object"},
    {"\"x\"", false, RTM_EPROTO, "JSON object"},
    {"{\"data\":\"d\",\"channel\":\"c\"}", false, RTM_EPROTO, "name"},
    {"{\"name\":1,\"data\":\"d\",\"channel\":\"c\"}", false, RTM_EPROTO, "name"},
    {"{\"name\":\"\",\"data\":\"d\",\"channel\":\"c\"}", false, RTM_EINVAL, "name"},
    {"{\"name\":\"e\",\"channel\":\"c\"}", false, RTM_EPROTO, "data"},
    {"{\"name\":\"e\",\"data\":{\"a\":1},\"channel\":\"c\"}", false, RTM_EPROTO, "data"},
    {"{\"name\":\"e\",\"data\":null,\"channel\":\"c\"}", false, RTM_EPROTO, "data"},
    {"{\"name\":\"e\",\"data\":\"d\"}", false, RTM_EPROTO, "channels"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channels\":\"c\"}", false, RTM_EPROTO, "channels"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channel\":[\"c\"]}", false, RTM_EPROTO, "channel"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channels\":[\"c\",2]}", false, RTM_EPROTO, "channels[1]"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channels\":[]}", false, RTM_EINVAL, "channels"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channels\":[\"a b\"]}", false, RTM_EINVAL, "channels[0]"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channel\":\"#foo\"}", false, RTM_EINVAL, "channels[0]"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channel\":\"\"}", false, RTM_EINVAL, "channels[0]"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channels\":[\"private-encrypted-a\",\"b\"]}", false,
     RTM_EINVAL, "encrypted"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channel\":\"c\",\"socket_id\":\"1.\"}", false, RTM_EINVAL,
     "socket_id"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channel\":\"c\",\"socket_id\":\"a.b\"}", false, RTM_EINVAL,
     "socket_id"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channel\":\"c\",\"socket_id\":\"1.2.3\"}", false, RTM_EINVAL,
     "socket_id"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channel\":\"c\",\"socket_id\":\"\"}", false, RTM_EINVAL,
     "socket_id"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channel\":\"c\",\"socket_id\":1.2}", false, RTM_EPROTO,
     "socket_id"},
    {"{\"name\":\"e\",\"data\":\"d\",\"channel\":\"c\",\"info\":[]}", false, RTM_EPROTO, "info"},
    {"{}", true, RTM_EPROTO, "batch"},
    {"{\"batch\":{}}", true, RTM_EPROTO, "batch"},
    {"{\"batch\":[1]}", true, RTM_EPROTO, "batch[0]"},
    {"{\"batch\":[{\"channel\":\"c\",\"name\":\"e\",\"data\":\"d\"},{\"channel\":\"c\","
     "\"name\":\"e\"}]}",
     true, RTM_EPROTO, "batch[1].data"},
    {"{\"batch\":[{\"channel\":\"c\",\"name\":\"e\",\"data\":\"d\"},{\"channel\":\"a b\","
     "\"name\":\"e\",\"data\":\"d\"}]}",
     true, RTM_EINVAL, "batch[1].channels[0]"},
};

static void test_trigger_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s_bad) / sizeof(s_bad[0]); i++) {
        rtm_rest_trigger_t t;
        char err[256] = "";
        memset(&t, 0x5a, sizeof(t));
        int rc = trigger(s_bad[i].body, s_bad[i].batch, &t, err);
        if (rc != s_bad[i].rc || !strstr(err, s_bad[i].field))
            fail_msg("case %zu: rc %d err \"%s\"", i, rc, err);
        assert_null(t.root);
        assert_int_equal(t.n, 0);
        rtm_rest_trigger_clear(&t);
    }
}

/* Every proper prefix of a valid body is rejected as malformed. */
static void test_trigger_every_truncation(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        bool batch;
    } v[] = {
        {DOCS_BODY, false},
        {"{\"batch\":[{\"channel\":\"ch-1\",\"name\":\"e1\",\"data\":\"{}\"},{\"channel\":\"b\","
         "\"name\":\"e2\",\"data\":\"\",\"socket_id\":\"1.2\"}]}",
         true},
    };
    for (size_t i = 0; i < 2; i++) {
        size_t len = strlen(v[i].body);
        for (size_t cut = 0; cut < len; cut++) {
            char *copy = malloc(cut ? cut : 1);
            memcpy(copy, v[i].body, cut);
            rtm_rest_trigger_t t;
            char err[128];
            assert_int_equal(
                rtm_rest_parse_trigger(rtm_str(copy, cut), NULL, v[i].batch, &t, err, 128),
                RTM_EPROTO);
            assert_null(t.root);
            free(copy);
        }
    }
}

/* A body of `n` events (batch) or one event, with data_len bytes of data and
 * n_channels channels named name_len bytes each. */
static char *make_body(bool batch, size_t n, size_t data_len, size_t n_channels, size_t name_len)
{
    size_t cap = 64 + n * (data_len + 64 + n_channels * (name_len + 8));
    char *b = malloc(cap), *p = b;
    p += sprintf(p, "%s", batch ? "{\"batch\":[" : "");
    for (size_t e = 0; e < n; e++) {
        p += sprintf(p, "%s{\"name\":\"e\",\"data\":\"", e ? "," : "");
        memset(p, 'd', data_len);
        p += data_len;
        p += sprintf(p, "\",\"channels\":[");
        for (size_t c = 0; c < n_channels; c++) {
            p += sprintf(p, "%s\"%03zu", c ? "," : "", c);
            memset(p, 'c', name_len - 3);
            p += name_len - 3;
            *p++ = '"';
        }
        p += sprintf(p, "]}");
    }
    p += sprintf(p, "%s", batch ? "]}" : "");
    assert_true((size_t)(p - b) < cap);
    return b;
}

static int parse_made(bool batch, size_t n, size_t data_len, size_t n_channels, size_t name_len,
                      const rtm_rest_limits_t *lim)
{
    char *body = make_body(batch, n, data_len, n_channels, name_len);
    rtm_rest_trigger_t t;
    char err[128];
    int rc = rtm_rest_parse_trigger(S(body), lim, batch, &t, err, sizeof(err));
    if (rc == 0) {
        assert_int_equal(t.n, n);
        /* indexed by what the parser returned (checked equal above): n itself
         * may exceed the array in the calls that expect a refusal */
        const rtm_rest_event_t *last = &t.events[t.n - 1];
        assert_int_equal(last->data.len, data_len);
        assert_int_equal(last->n_channels, n_channels);
        assert_int_equal(last->channels[last->n_channels - 1].len, name_len);
        rtm_rest_trigger_clear(&t);
    } else {
        assert_null(t.root);
    }
    free(body);
    return rc;
}

static void test_trigger_limits(void **state)
{
    (void)state;
    assert_int_equal(parse_made(false, 1, 10240, 1, 8, NULL), 0);
    assert_int_equal(parse_made(false, 1, 10241, 1, 8, NULL), RTM_ETOOBIG);
    assert_int_equal(parse_made(false, 1, 10, 100, 8, NULL), 0);
    assert_int_equal(parse_made(false, 1, 10, 101, 8, NULL), RTM_EINVAL);
    assert_int_equal(parse_made(false, 1, 10, 2, 200, NULL), 0);
    assert_int_equal(parse_made(false, 1, 10, 2, 201, NULL), RTM_EINVAL);
    assert_int_equal(parse_made(true, 10, 10240, 1, 8, NULL), 0);
    assert_int_equal(parse_made(true, 11, 10, 1, 8, NULL), RTM_EINVAL);
    assert_int_equal(parse_made(true, 10, 10241, 1, 8, NULL), RTM_ETOOBIG);

    /* configured limits, and limits above the array sizes clamped */
    rtm_rest_limits_t lim = {.max_data = 5, .max_channels = 2, .max_batch = 3, .max_name = 1};
    assert_int_equal(parse_made(false, 1, 5, 2, 8, &lim), 0);
    assert_int_equal(parse_made(false, 1, 6, 2, 8, &lim), RTM_ETOOBIG);
    assert_int_equal(parse_made(false, 1, 5, 3, 8, &lim), RTM_EINVAL);
    assert_int_equal(parse_made(true, 3, 5, 1, 8, &lim), 0);
    assert_int_equal(parse_made(true, 4, 5, 1, 8, &lim), RTM_EINVAL);
    rtm_rest_limits_t big = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
    assert_int_equal(parse_made(false, 1, 20000, 100, 8, &big), 0);
    assert_int_equal(parse_made(false, 1, 10, 101, 8, &big), RTM_EINVAL);
    assert_int_equal(parse_made(true, 11, 10, 1, 8, &big), RTM_EINVAL);

    /* event name: 200 bytes OK, 201 rejected */
    char body[512];
    rtm_rest_trigger_t t;
    char err[128];
    for (size_t len = 199; len <= 201; len++) {
        char name[202];
        memset(name, 'n', len);
        name[len] = '\0';
        snprintf(body, sizeof(body), "{\"name\":\"%s\",\"data\":\"\",\"channel\":\"c\"}", name);
        int rc = rtm_rest_parse_trigger(S(body), NULL, false, &t, err, sizeof(err));
        assert_int_equal(rc, len <= 200 ? 0 : RTM_EINVAL);
        if (rc == 0)
            rtm_rest_trigger_clear(&t);
        else
            assert_non_null(strstr(err, "name"));
    }
}

static void test_info_attributes(void **state)
{
    (void)state;
    assert_int_equal(rtm_rest_info(S("")), 0);
    assert_int_equal(rtm_rest_info(S("user_count")), RTM_REST_INFO_USER_COUNT);
    assert_int_equal(rtm_rest_info(S(" subscription_count , cache")),
                     RTM_REST_INFO_SUBSCRIPTION_COUNT | RTM_REST_INFO_CACHE);
    assert_int_equal(rtm_rest_info(S("user_counts,,cach,user_count")), RTM_REST_INFO_USER_COUNT);
}

static void test_error_and_channels_bodies(void **state)
{
    (void)state;
    const char *msg = "bad \"q\"\x01";
    char out[128];
    size_t len = rtm_rest_error_len(msg);
    assert_int_equal(rtm_rest_render_error(out, sizeof out, msg), (int)len);
    assert_memory_equal(out, "{\"error\":\"bad \\\"q\\\"\\u0001\"}", len);
    assert_int_equal(rtm_rest_render_error(out, len - 1, msg), RTM_ETOOBIG);
    rtm_str_t parts[] = {S("\"a\":{}"), S(""), S("\"b\":{},\"c\":{}")};
    len = rtm_rest_channels_len(parts, 3);
    assert_int_equal(rtm_rest_render_channels(out, sizeof out, parts, 3), (int)len);
    assert_memory_equal(out, "{\"channels\":{\"a\":{},\"b\":{},\"c\":{}}}", len);
    len = rtm_rest_channels_len(parts + 1, 1);
    assert_int_equal(rtm_rest_render_channels(out, sizeof out, parts + 1, 1), (int)len);
    assert_memory_equal(out, "{\"channels\":{}}", len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_parse),
        cmocka_unit_test(test_query_malformed),
        cmocka_unit_test(test_query_limit),
        cmocka_unit_test(test_string_to_sign),
        cmocka_unit_test(test_verify_docs_example),
        cmocka_unit_test(test_verify_other_vectors),
        cmocka_unit_test(test_verify_errors),
        cmocka_unit_test(test_verify_error_buffer),
        cmocka_unit_test(test_trigger_events),
        cmocka_unit_test(test_trigger_batch),
        cmocka_unit_test(test_render_trigger_info),
        cmocka_unit_test(test_trigger_malformed),
        cmocka_unit_test(test_trigger_every_truncation),
        cmocka_unit_test(test_trigger_limits),
        cmocka_unit_test(test_info_attributes),
        cmocka_unit_test(test_error_and_channels_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
