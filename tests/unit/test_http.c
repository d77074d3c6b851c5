/* Tests for rtm_http: the pusher-js handshake and RFC 6455 accept key, REST
 * requests with plain and chunked bodies, keep-alive rules, pipelining, every
 * request split at every offset, head and body limits at and one over, and
 * malformed input; response writers byte for byte. Inputs are copied into
 * exact-size heap buffers so ASan catches any read past len. */
#include "rtm_error.h"
#include "rtm_http.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exact_copy.h"

#define HANDSHAKE                                                                                  \
    "GET /app/app-key?protocol=7&client=js&version=8.6.0&flash=false HTTP/1.1\r\n"                 \
    "Host: ws.example.com:6001\r\n"                                                                \
    "Upgrade: websocket\r\n"                                                                       \
    "Connection: Upgrade\r\n"                                                                      \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                                              \
    "Sec-WebSocket-Version: 13\r\n"                                                                \
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"                     \
    "Sec-WebSocket-Extensions: x-later\r\n"                                                        \
    "\r\n"

#define EVENT_BODY "{\"name\":\"my-event\",\"channel\":\"my-channel\",\"data\":\"{}\"}"

#define POST_CL                                                                                    \
    "POST /apps/1/events?auth_key=k&auth_timestamp=1&auth_version=1.0 HTTP/1.1\r\n"                \
    "Host: api.example.com\r\n"                                                                    \
    "Content-Type: application/json\r\n"                                                           \
    "Content-Length: 54\r\n"                                                                       \
    "\r\n" EVENT_BODY

#define POST_CHUNKED                                                                               \
    "POST /apps/1/events HTTP/1.1\r\n"                                                             \
    "Host: api.example.com\r\n"                                                                    \
    "Content-Type: application/json\r\n"                                                           \
    "Transfer-Encoding: chunked\r\n"                                                               \
    "\r\n"                                                                                         \
    "5\r\nhello\r\n"                                                                               \
    "6;ext=1\r\n world\r\n"                                                                        \
    "0\r\n"                                                                                        \
    "Content-Type: text/evil\r\n"                                                                  \
    "\r\n"

static int s_parse(const char *text, size_t len, size_t max_head, size_t max_body,
                   rtm_http_request_t *req, char **keep)
{
    char *b = exact_copy(text, len);
    int rc = rtm_http_parse_request(b, len, max_head, max_body, req);
    *keep = b; /* slices point into it */
    return rc;
}

static void s_assert_str(rtm_str_t s, const char *want)
{
    if (!rtm_str_eq_cstr(s, want))
        fail_msg("got \"%.*s\" want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static void test_pusher_handshake(void **state)
{
    (void)state;
    rtm_http_request_t r;
    char *b;
    assert_int_equal(s_parse(HANDSHAKE, strlen(HANDSHAKE), 8192, 0, &r, &b),
                     (int)strlen(HANDSHAKE));
    s_assert_str(r.method, "GET");
    s_assert_str(r.path, "/app/app-key");
    s_assert_str(r.query, "protocol=7&client=js&version=8.6.0&flash=false");
    s_assert_str(r.upgrade, "websocket");
    s_assert_str(r.connection, "Upgrade");
    s_assert_str(r.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
    s_assert_str(r.ws_version, "13");
    s_assert_str(r.ws_extensions, "permessage-deflate; client_max_window_bits"); /* the first */
    assert_int_equal(r.content_type.len, 0);
    assert_int_equal(r.body.len, 0);
    assert_true(r.is_upgrade);
    assert_true(r.keep_alive);

    char accept[RTM_HTTP_WS_ACCEPT_LEN + 1];
    rtm_http_ws_accept(r.ws_key, accept);
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 1.3 */
    free(b);
}

static void test_upgrade_detection(void **state)
{
    (void)state;
    struct {
        const char *req;
        bool upgrade;
    } v[] = {
        {"GET /app/k HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\r\n",
         true},
        {"GET /app/k HTTP/1.1\r\nconnection: upgrade\r\nupgrade: websocket  \r\n\r\n", true},
        {"GET /app/k HTTP/1.1\r\nConnection: keep-alive\r\nConnection: upgrade\r\n"
         "Upgrade: websocket\r\n\r\n",
         true},
        {"GET /app/k HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", false},
        {"GET /app/k HTTP/1.1\r\nConnection: Upgrade\r\n\r\n", false},
        {"GET /app/k HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n", false},
        {"GET /app/k HTTP/1.1\r\nUpgrade: websocketx\r\nConnection: Upgrade\r\n\r\n", false},
        {"POST /app/k HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Content-Length: 0\r\n\r\n",
         false},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        rtm_http_request_t r;
        char *b;
        size_t len = strlen(v[i].req);
        int rc = s_parse(v[i].req, len, 8192, 1024, &r, &b);
        if (rc != (int)len || r.is_upgrade != v[i].upgrade)
            fail_msg("case %zu: rc %d is_upgrade %d", i, rc, r.is_upgrade);
        free(b);
    }
}

static void test_post_content_length(void **state)
{
    (void)state;
    assert_int_equal(strlen(EVENT_BODY), 54);
    rtm_http_request_t r;
    char *b;
    assert_int_equal(s_parse(POST_CL, strlen(POST_CL), 8192, 10240, &r, &b), (int)strlen(POST_CL));
    s_assert_str(r.method, "POST");
    s_assert_str(r.path, "/apps/1/events");
    s_assert_str(r.query, "auth_key=k&auth_timestamp=1&auth_version=1.0");
    s_assert_str(r.content_type, "application/json");
    s_assert_str(r.body, EVENT_BODY);
    assert_false(r.is_upgrade);
    assert_true(r.keep_alive);
    free(b);
}

static void test_post_chunked(void **state)
{
    (void)state;
    rtm_http_request_t r;
    char *b;
    size_t len = strlen(POST_CHUNKED);
    assert_int_equal(s_parse(POST_CHUNKED, len, 8192, 11, &r, &b), (int)len);
    s_assert_str(r.body, "hello world");
    s_assert_str(r.content_type, "application/json"); /* not clobbered by the trailer */
    assert_true(r.keep_alive);
    free(b);

    /* Many one-byte chunks compact into one slice. */
    const char *many = "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n2\r\nde\r\n0\r\n\r\n";
    assert_int_equal(s_parse(many, strlen(many), 8192, 5, &r, &b), (int)strlen(many));
    s_assert_str(r.body, "abcde");
    s_assert_str(r.method, "PUT");
    free(b);
}

static void test_keep_alive(void **state)
{
    (void)state;
    struct {
        const char *req;
        bool keep_alive;
    } v[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", false},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        rtm_http_request_t r;
        char *b;
        assert_int_equal(s_parse(v[i].req, strlen(v[i].req), 8192, 0, &r, &b),
                         (int)strlen(v[i].req));
        if (r.keep_alive != v[i].keep_alive)
            fail_msg("case %zu: keep_alive %d", i, r.keep_alive);
        free(b);
    }
}

static void test_pipelined(void **state)
{
    (void)state;
    const char *firsts[] = {HANDSHAKE, POST_CL, POST_CHUNKED, "GET /a HTTP/1.1\r\n\r\n"};
    const char *second = "GET /second?x=1 HTTP/1.1\r\nHost: b\r\n\r\n";
    for (size_t i = 0; i < sizeof firsts / sizeof firsts[0]; i++) {
        size_t l1 = strlen(firsts[i]), l2 = strlen(second);
        char *b = malloc(l1 + l2);
        assert_non_null(b);
        memcpy(b, firsts[i], l1);
        memcpy(b + l1, second, l2);
        rtm_http_request_t r;
        assert_int_equal(rtm_http_parse_request(b, l1 + l2, 8192, 1024, &r), (int)l1);
        assert_memory_equal(b + l1, second, l2); /* compaction stays inside the first */
        assert_int_equal(rtm_http_parse_request(b + l1, l2, 8192, 1024, &r), (int)l2);
        s_assert_str(r.path, "/second");
        s_assert_str(r.query, "x=1");
        free(b);
    }
}

/* Every proper prefix is RTM_EAGAIN and leaves the bytes alone. */
static void test_split_every_offset(void **state)
{
    (void)state;
    const char *reqs[] = {HANDSHAKE, POST_CL, POST_CHUNKED, "\r\nGET / HTTP/1.0\r\n\r\n"};
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        size_t len = strlen(reqs[i]);
        for (size_t k = 0; k < len; k++) {
            char *b = exact_copy(reqs[i], k);
            rtm_http_request_t r = {0};
            int rc = rtm_http_parse_request(b, k, 8192, 1024, &r);
            if (rc != RTM_EAGAIN)
                fail_msg("request %zu prefix %zu: %d", i, k, rc);
            assert_memory_equal(b, reqs[i], k);
            assert_null(r.path.p);
            free(b);
        }
        rtm_http_request_t r;
        char *b;
        assert_int_equal(s_parse(reqs[i], len, 8192, 1024, &r, &b), (int)len);
        free(b);
    }
}

static void test_head_limit(void **state)
{
    (void)state;
    const char *reqs[] = {HANDSHAKE, POST_CL};
    for (size_t i = 0; i < 2; i++) {
        size_t len = strlen(reqs[i]);
        size_t head = (size_t)(strstr(reqs[i], "\r\n\r\n") + 4 - reqs[i]);
        rtm_http_request_t r;
        char *b;
        /* Exactly at the limit; the body does not count. */
        assert_int_equal(s_parse(reqs[i], len, head, 1024, &r, &b), (int)len);
        free(b);
        /* One over: refused once max_head bytes are in without the end of
         * the head, and for the whole request. */
        assert_int_equal(s_parse(reqs[i], head - 1, head - 1, 1024, &r, &b), RTM_ETOOBIG);
        free(b);
        assert_int_equal(s_parse(reqs[i], len, head - 1, 1024, &r, &b), RTM_ETOOBIG);
        free(b);
        /* Fewer bytes than the limit: still waiting. */
        assert_int_equal(s_parse(reqs[i], head - 2, head - 1, 1024, &r, &b), RTM_EAGAIN);
        free(b);
    }
    rtm_http_request_t r;
    char *b;
    assert_int_equal(s_parse("GET / HTTP/1.1\r\n\r\n", 18, 0, 0, &r, &b), RTM_ETOOBIG);
    free(b);
}

static void test_body_limit(void **state)
{
    (void)state;
    size_t len = strlen(POST_CL);
    size_t head = len - 54;
    rtm_http_request_t r;
    char *b;
    assert_int_equal(s_parse(POST_CL, len, 8192, 54, &r, &b), (int)len);
    free(b);
    /* One over: known from Content-Length before any body byte arrives. */
    assert_int_equal(s_parse(POST_CL, head, 8192, 53, &r, &b), RTM_ETOOBIG);
    free(b);
    assert_int_equal(s_parse(POST_CL, head - 1, 8192, 53, &r, &b), RTM_EAGAIN);
    free(b);

    /* Chunked: the running total of chunk sizes; "hello world" is 11. */
    len = strlen(POST_CHUNKED);
    assert_int_equal(s_parse(POST_CHUNKED, len, 8192, 11, &r, &b), (int)len);
    free(b);
    const char *second_size = strstr(POST_CHUNKED, "6;ext");
    size_t upto = (size_t)(second_size - POST_CHUNKED) + strlen("6;ext=1\r\n");
    assert_int_equal(s_parse(POST_CHUNKED, upto, 8192, 10, &r, &b), RTM_ETOOBIG);
    free(b);
    assert_int_equal(s_parse(POST_CHUNKED, upto - 10, 8192, 10, &r, &b), RTM_EAGAIN);
    free(b);
    const char *huge = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "1\r\na\r\nfffffffffffffff\r\n";
    assert_int_equal(s_parse(huge, strlen(huge), 8192, 1024, &r, &b), RTM_ETOOBIG);
    free(b);
}

static void test_targets_and_headers(void **state)
{
    (void)state;
    struct {
        const char *req;
        const char *path, *query;
    } v[] = {
        {"GET /a%20b?c=d#frag HTTP/1.1\r\n\r\n", "/a%20b", "c=d"},
        {"GET /a#f?notquery HTTP/1.1\r\n\r\n", "/a", ""},
        {"GET /? HTTP/1.1\r\n\r\n", "/", ""},
        {"GET http://h.example:80/p/q?x=y HTTP/1.1\r\n\r\n", "/p/q", "x=y"},
        {"OPTIONS * HTTP/1.1\r\n\r\n", "*", ""},
        {"\r\nGET /lead HTTP/1.1\r\n\r\n", "/lead", ""},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        rtm_http_request_t r;
        char *b;
        assert_int_equal(s_parse(v[i].req, strlen(v[i].req), 8192, 0, &r, &b),
                         (int)strlen(v[i].req));
        s_assert_str(r.path, v[i].path);
        s_assert_str(r.query, v[i].query);
        free(b);
    }
    const char *h = "GET / HTTP/1.1\r\nsec-websocket-key:  abc \t\r\nX-Other: 1\r\n"
                    "CONTENT-TYPE: text/plain\r\n\r\n";
    rtm_http_request_t r;
    char *b;
    assert_int_equal(s_parse(h, strlen(h), 8192, 0, &r, &b), (int)strlen(h));
    s_assert_str(r.ws_key, "abc");
    s_assert_str(r.content_type, "text/plain");
    free(b);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS ClientHello */
        "GET /\r\n\r\n",                                /* HTTP/0.9 */
        "GET / HTTP/2.0\r\n\r\n",
        "GET / FOO/1.1\r\n\r\n",
        "GET / HTTP/1.1 extra\r\n\r\n",
        "GET  HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost\r\n\r\n",
        "GET / HTTP/1.1\r\nHo st: a\r\n\r\n",
        "GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n", /* obs-fold */
        "GET / HTTP/1.1\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Key: b\r\n\r\n",
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nUpgrade: websocket\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
        "POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = strlen(bad[i]);
        char *b = exact_copy(bad[i], len);
        rtm_http_request_t r = {0};
        int rc = rtm_http_parse_request(b, len, 8192, 1024, &r);
        if (rc != RTM_EPROTO)
            fail_msg("case %zu (%s): %d", i, bad[i], rc);
        assert_memory_equal(b, bad[i], len);
        assert_null(r.path.p);
        free(b);
    }
}

static void test_write_upgrade(void **state)
{
    (void)state;
    const char *want = "HTTP/1.1 101 Switching Protocols\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                       "\r\n";
    size_t n = strlen(want);
    char *out = malloc(n);
    assert_non_null(out);
    rtm_str_t key = rtm_str_cstr("dGhlIHNhbXBsZSBub25jZQ==");
    assert_int_equal(rtm_http_write_upgrade(out, n, key, NULL), (int)n);
    assert_memory_equal(out, want, n);
    assert_int_equal(rtm_http_write_upgrade(out, n - 1, key, NULL), RTM_ETOOBIG);
    free(out);
    const char *ext = "HTTP/1.1 101 Switching Protocols\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                      "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                      "\r\n";
    n = strlen(ext);
    out = malloc(n);
    assert_non_null(out);
    assert_int_equal(rtm_http_write_upgrade(out, n, key, "permessage-deflate"), (int)n);
    assert_memory_equal(out, ext, n);
    assert_int_equal(rtm_http_write_upgrade(out, n - 1, key, "permessage-deflate"), RTM_ETOOBIG);
    free(out);
}

static void test_write_response(void **state)
{
    (void)state;
    struct {
        int status;
        const char *ct, *body;
        bool ka;
        const char *want;
    } v[] = {
        {200, "application/json", "{}", true,
         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
         "Connection: keep-alive\r\n\r\n{}"},
        {404, NULL, "", false,
         "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
        {413, "text/plain", "too big", true,
         "HTTP/1.1 413 Payload Too Large\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n"
         "Connection: keep-alive\r\n\r\ntoo big"},
        {503, NULL, "", true,
         "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
         "Connection: keep-alive\r\n\r\n"},
        {204, NULL, "", true, "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n"},
        {299, NULL, "", false, "HTTP/1.1 299 \r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t blen = strlen(v[i].body), n = strlen(v[i].want);
        assert_int_equal(rtm_http_response_head_len(v[i].status, v[i].ct, blen, v[i].ka), n - blen);
        char *out = malloc(n);
        assert_non_null(out);
        int rc = rtm_http_write_response(out, n, v[i].status, v[i].ct, blen ? v[i].body : NULL,
                                         blen, v[i].ka);
        assert_int_equal(rc, (int)n);
        assert_memory_equal(out, v[i].want, n);
        assert_int_equal(
            rtm_http_write_response(out, n - 1, v[i].status, v[i].ct, v[i].body, blen, v[i].ka),
            RTM_ETOOBIG);
        free(out);
    }
    char small[8];
    assert_int_equal(rtm_http_write_response(small, sizeof small, 200, NULL, "x", SIZE_MAX, true),
                     RTM_ETOOBIG);
}

/* A second published key/accept pair (Wikipedia), and the empty key. */
static void test_ws_accept_vectors(void **state)
{
    (void)state;
    char accept[RTM_HTTP_WS_ACCEPT_LEN + 1];
    rtm_http_ws_accept(rtm_str_cstr("x3JJHMbDL1EzLkh9GBhXDw=="), accept);
    assert_string_equal(accept, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    rtm_http_ws_accept(rtm_str(NULL, 0), accept);
    assert_int_equal(strlen(accept), RTM_HTTP_WS_ACCEPT_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pusher_handshake),    cmocka_unit_test(test_upgrade_detection),
        cmocka_unit_test(test_post_content_length), cmocka_unit_test(test_post_chunked),
        cmocka_unit_test(test_keep_alive),          cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_split_every_offset),  cmocka_unit_test(test_head_limit),
        cmocka_unit_test(test_body_limit),          cmocka_unit_test(test_targets_and_headers),
        cmocka_unit_test(test_malformed),           cmocka_unit_test(test_write_upgrade),
        cmocka_unit_test(test_write_response),      cmocka_unit_test(test_ws_accept_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
