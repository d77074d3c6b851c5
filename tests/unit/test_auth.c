/* Tests for rtm_auth: every signature vector of the protocol reference §4.1
 * (Pusher docs and node SDK), digest vectors, and the ways an auth string
 * can be wrong (key, secret, a flipped byte, truncation, missing data). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtm_auth.h"
#include "rtm_error.h"

#include <string.h>

static rtm_str_t S(const char *s)
{
    return rtm_str_cstr(s);
}

#define DOCS_KEY    "278d425bdf160c739803"
#define DOCS_SECRET "7ad3773142a6692b25b8"
#define DOCS_SOCKET "1234.1234"

#define K16   "kkkkkkkkkkkkkkkk"
#define K64   K16 K16 K16 K16
#define AA16  "\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa"
#define AA131 AA16 AA16 AA16 AA16 AA16 AA16 AA16 AA16 "\xaa\xaa\xaa"

static void test_hmac_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *key, *msg, *hex;
    } v[] = {
        {DOCS_SECRET, "1234.1234:private-foobar",
         "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"},
        {DOCS_SECRET, "1234.1234::user::{\"id\":\"12345\"}",
         "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"},
        {"secret", "{\"hello\":\"world\"}", /* webhook vector, reference §6 */
         "2677ad3e7c090b2fa2c0fb13020d66d5420879b8316eb356a2d60fb9073bc778"},
        {"7ad3773142a6692b25b8",
         "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_"
         "version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f",
         "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"},
        {"", "", "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
        /* RFC 4231 case 1, and keys at the block size, one over it (hashed first) and
         * RFC 4231 case 6 (131 bytes) */
        {"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b",
         "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {K64, "at the block size",
         "698dfd0ca7cd968b11e7d054dc30533166228883a0bdc67419b55fc93cdc07b9"},
        {K64 "k", "one over the block size",
         "3a27c57d31479cf51b5895e69d321927a9142cbcc0a244c86b0e8c9579b83cb1"},
        {AA131, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char out[65];
        memset(out, '#', sizeof(out));
        rtm_hmac_sha256_hex(S(v[i].key), S(v[i].msg), out);
        assert_string_equal(out, v[i].hex);
    }
}

static void test_md5_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *data, *hex;
    } v[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"{}", "99914b932bd37a50b983c5e7c90ae93b"},
        {"example body", "165d5e6d7ca8f73b3853ce45addf42fc"},
        {"{\"name\":\"foo\",\"channels\":[\"project-3\"],\"data\":\"{\\\"some\\\":\\\"data\\\"}\"}",
         "ec365a775a4cd0599faeb73354201b6f"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char out[33];
        rtm_md5_hex(S(v[i].data), out);
        assert_string_equal(out, v[i].hex);
    }
}

static void test_consttime_eq(void **state)
{
    (void)state;
    assert_true(rtm_consttime_eq(S("abc"), S("abc")));
    assert_true(rtm_consttime_eq(S(""), S("")));
    assert_true(rtm_consttime_eq(rtm_str(NULL, 0), S("")));
    assert_false(rtm_consttime_eq(S("abc"), S("abd")));
    assert_false(rtm_consttime_eq(S("abc"), S("xbc")));
    assert_false(rtm_consttime_eq(S("abc"), S("ab")));
    assert_false(rtm_consttime_eq(S("ab"), S("abc")));
    assert_false(rtm_consttime_eq(S(""), S("a")));
    assert_true(rtm_consttime_eq(rtm_str("a\0b", 3), rtm_str("a\0b", 3)));
    assert_false(rtm_consttime_eq(rtm_str("a\0b", 3), rtm_str("a\0c", 3)));
}

typedef struct {
    const char *key, *secret, *socket, *channel, *channel_data, *auth;
} chan_vec_t;

static const chan_vec_t s_channel_vectors[] = {
    {DOCS_KEY, DOCS_SECRET, DOCS_SOCKET, "private-foobar", "",
     DOCS_KEY ":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"},
    {DOCS_KEY, DOCS_SECRET, DOCS_SOCKET, "presence-foobar",
     "{\"user_id\":10,\"user_info\":{\"name\":\"Mr. Pusher\"}}",
     DOCS_KEY ":afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c"},
    /* node SDK: authorizeChannel with a third argument signs it even for
     * non-presence channels (string 123.456:private-encrypted-bla:"foo") */
    {"f00d", "tofu", "123.456", "private-encrypted-bla", "\"foo\"",
     "f00d:962c48b78bf93d98ff4c92ee7dff04865821455b7b401e9d60a9e0a90af2c105"},
    {"f00d", "tofu", "123.456", "bla", "\"foo\"",
     "f00d:013ad3da0d88e0df6ae0a8184bef50b9c3933f2344499e6e3d1ad67fad799e20"},
};

typedef struct {
    const char *key, *secret, *socket, *user_data, *auth;
} user_vec_t;

static const user_vec_t s_user_vectors[] = {
    {DOCS_KEY, DOCS_SECRET, DOCS_SOCKET, "{\"id\":\"12345\"}",
     DOCS_KEY ":4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"},
    {"aaaa", "tofu", "123.456", "{\"id\":\"45678\"}",
     "aaaa:f4b1fdeea7c93e32648c7230e32b172057c5623cace6cfce791c6e7035e0babd"},
    {"aaaa", "tofu", "123.456", "{\"id\":\"55555\",\"user_name\":\"test\"}",
     "aaaa:b8a9f173455903792ae2b788add0c4c78ad7372b3ae7fb5769479276a1993743"},
    {"11111", "1", "123.456", "{\"id\":\"45678\"}",
     "11111:79bddf29fe8e2153dd5d8d569b3f45e5aeb26ae2eb4758879d844791b466cfa2"},
    {"11111", "2", "123.456", "{\"id\":\"45678\"}",
     "11111:a542498ffa6faf6de7c17a8106b923c042319bd73acfd1d274df32e269b55d1f"},
};

static int check_chan(const chan_vec_t *v, const char *auth, size_t auth_len)
{
    return rtm_auth_check_channel(S(v->key), S(v->secret), S(v->socket), S(v->channel),
                                  S(v->channel_data), rtm_str(auth, auth_len));
}

static int check_user(const user_vec_t *v, const char *auth, size_t auth_len)
{
    return rtm_auth_check_user(S(v->key), S(v->secret), S(v->socket), S(v->user_data),
                               rtm_str(auth, auth_len));
}

/* Every vector passes; flipping any single byte of the auth string, or
 * cutting it anywhere, or adding a byte fails. */
static void test_channel_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s_channel_vectors) / sizeof(s_channel_vectors[0]); i++) {
        const chan_vec_t *v = &s_channel_vectors[i];
        char auth[128];
        size_t n = strlen(v->auth);
        memcpy(auth, v->auth, n + 1);
        assert_int_equal(check_chan(v, auth, n), 0);
        for (size_t k = 0; k < n; k++) {
            auth[k] ^= 0x01;
            assert_int_equal(check_chan(v, auth, n), RTM_EAUTH);
            auth[k] ^= 0x01;
            assert_int_equal(check_chan(v, auth, k), RTM_EAUTH);
        }
        auth[n] = '0';
        assert_int_equal(check_chan(v, auth, n + 1), RTM_EAUTH);
    }
}

static void test_user_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s_user_vectors) / sizeof(s_user_vectors[0]); i++) {
        const user_vec_t *v = &s_user_vectors[i];
        char auth[128];
        size_t n = strlen(v->auth);
        memcpy(auth, v->auth, n + 1);
        assert_int_equal(check_user(v, auth, n), 0);
        for (size_t k = 0; k < n; k++) {
            auth[k] ^= 0x01;
            assert_int_equal(check_user(v, auth, n), RTM_EAUTH);
            auth[k] ^= 0x01;
            assert_int_equal(check_user(v, auth, k), RTM_EAUTH);
        }
    }
}

/* The signature binds socket id, channel, channel data, key and secret. */
static void test_channel_binding(void **state)
{
    (void)state;
    const chan_vec_t *priv = &s_channel_vectors[0], *pres = &s_channel_vectors[1];
    rtm_str_t key = S(DOCS_KEY), secret = S(DOCS_SECRET), sock = S(DOCS_SOCKET);
    rtm_str_t none = rtm_str(NULL, 0);
    assert_int_equal(
        rtm_auth_check_channel(key, secret, sock, S("private-foobar"), none, S(priv->auth)), 0);
    assert_int_equal(rtm_auth_check_channel(key, secret, S("1234.1235"), S("private-foobar"), none,
                                            S(priv->auth)),
                     RTM_EAUTH);
    assert_int_equal(
        rtm_auth_check_channel(key, secret, sock, S("private-foobaz"), none, S(priv->auth)),
        RTM_EAUTH);
    assert_int_equal(rtm_auth_check_channel(key, S("7ad3773142a6692b25b9"), sock,
                                            S("private-foobar"), none, S(priv->auth)),
                     RTM_EAUTH);
    /* right signature, wrong key prefix */
    assert_int_equal(rtm_auth_check_channel(S("278d425bdf160c739804"), secret, sock,
                                            S("private-foobar"), none, S(priv->auth)),
                     RTM_EAUTH);
    /* presence: dropping or altering channel_data breaks it; adding it to a
     * private auth breaks that */
    assert_int_equal(
        rtm_auth_check_channel(key, secret, sock, S("presence-foobar"), none, S(pres->auth)),
        RTM_EAUTH);
    assert_int_equal(rtm_auth_check_channel(key, secret, sock, S("presence-foobar"),
                                            S("{\"user_id\":11,\"user_info\":{\"name\":\"Mr. "
                                              "Pusher\"}}"),
                                            S(pres->auth)),
                     RTM_EAUTH);
    assert_int_equal(
        rtm_auth_check_channel(key, secret, sock, S("private-foobar"), S("{}"), S(priv->auth)),
        RTM_EAUTH);
    /* a bare signature, an empty auth (public channels send ""), "key:" */
    const char *sig = priv->auth + strlen(DOCS_KEY) + 1;
    assert_int_equal(rtm_auth_check_channel(key, secret, sock, S("private-foobar"), none, S(sig)),
                     RTM_EAUTH);
    assert_int_equal(rtm_auth_check_channel(key, secret, sock, S("private-foobar"), none, S("")),
                     RTM_EAUTH);
    assert_int_equal(
        rtm_auth_check_channel(key, secret, sock, S("private-foobar"), none, S(DOCS_KEY ":")),
        RTM_EAUTH);
    /* upper-case hex is not what Pusher signs */
    char upper[128];
    strcpy(upper, priv->auth);
    for (char *p = upper + strlen(DOCS_KEY) + 1; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_int_equal(rtm_auth_check_channel(key, secret, sock, S("private-foobar"), none, S(upper)),
                     RTM_EAUTH);
}

/* The user signature is not a channel signature: "::user::" separates. */
static void test_user_binding(void **state)
{
    (void)state;
    const user_vec_t *v = &s_user_vectors[0];
    assert_int_equal(rtm_auth_check_channel(S(v->key), S(v->secret), S(v->socket), S(":user:"),
                                            S(v->user_data), S(v->auth)),
                     0); /* same bytes signed: proves the exact string is socket::user::data */
    assert_int_equal(rtm_auth_check_user(S(v->key), S(v->secret), S(v->socket),
                                         S("{\"id\":\"12346\"}"), S(v->auth)),
                     RTM_EAUTH);
    assert_int_equal(
        rtm_auth_check_user(S(v->key), S(v->secret), S("1234.1235"), S(v->user_data), S(v->auth)),
        RTM_EAUTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_vectors), cmocka_unit_test(test_md5_vectors),
        cmocka_unit_test(test_consttime_eq), cmocka_unit_test(test_channel_vectors),
        cmocka_unit_test(test_user_vectors), cmocka_unit_test(test_channel_binding),
        cmocka_unit_test(test_user_binding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
