/* Tests for rtm_channel: anchored prefix classification in pusher-js order,
 * cache detection, and name validation at and just past every limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtm_channel.h"
#include "rtm_error.h"

#include <string.h>

static rtm_str_t S(const char *s)
{
    return rtm_str_cstr(s);
}

static void test_type(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        rtm_channel_type_t type;
    } v[] = {
        {"my-channel", RTM_CH_PUBLIC},
        {"cache-x", RTM_CH_PUBLIC},
        {"private-foobar", RTM_CH_PRIVATE},
        {"private-cache-x", RTM_CH_PRIVATE},
        {"private-encrypted-bla", RTM_CH_ENCRYPTED},
        {"private-encrypted-cache-x", RTM_CH_ENCRYPTED},
        {"presence-foobar", RTM_CH_PRESENCE},
        {"presence-cache-x", RTM_CH_PRESENCE},
        {"#server-to-user-12345", RTM_CH_USER},
        /* anchored: soketi's unanchored regex would call these private */
        {"my-private-room", RTM_CH_PUBLIC},
        {"xprivate-a", RTM_CH_PUBLIC},
        {"x-presence-a", RTM_CH_PUBLIC},
        {"private-", RTM_CH_PRIVATE},
        {"private", RTM_CH_PUBLIC},
        {"Private-a", RTM_CH_PUBLIC},
        {"presence", RTM_CH_PUBLIC},
        {"private-encrypted", RTM_CH_PRIVATE},
        {"#server-to-user", RTM_CH_PUBLIC},
        {"#other", RTM_CH_PUBLIC},
        {"", RTM_CH_PUBLIC},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_int_equal(rtm_channel_type(S(v[i].name)), v[i].type);
}

static void test_cache(void **state)
{
    (void)state;
    static const char *const yes[] = {"cache-x", "private-cache-x", "presence-cache-x",
                                      "private-encrypted-cache-x", "cache-"};
    static const char *const no[] = {"x-cache-y",         "foo-cache-x", "cache",
                                     "private-x",         "presence-x",  "private-encrypted-x",
                                     "encrypted-cache-x", "Cache-x",     ""};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(rtm_channel_is_cache(S(yes[i])));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(rtm_channel_is_cache(S(no[i])));
}

static void test_validate_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int rc;
    } v[] = {
        {"foo-bar_1234@=,.;", 0},
        {"private-App.Models.User.1", 0},
        {"a", 0},
        {"#server-to-user-12345", 0},
        {"#server-to-user-a.b@c", 0},
        {"", RTM_EINVAL},
        {"#server-to-user-", RTM_EINVAL},
        {"#server-to-user-a#b", RTM_EINVAL},
        {"#server-to-user-a b", RTM_EINVAL},
        {"#channel", RTM_EINVAL},
        {"#", RTM_EINVAL},
        {"a#", RTM_EINVAL},
        {"a b", RTM_EINVAL},
        {"a/b", RTM_EINVAL},
        {"a:b", RTM_EINVAL},
        {"caf\xc3\xa9", RTM_EINVAL},
        {"a\"b", RTM_EINVAL},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_int_equal(rtm_channel_validate(S(v[i].name)), v[i].rc);
    assert_int_equal(rtm_channel_validate(rtm_str("a\0b", 3)), RTM_EINVAL);
}

/* Exactly the allowed set A-Z a-z 0-9 _ - = @ , . ; and nothing else. */
static void test_validate_every_byte(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        char name[3] = {'a', (char)c, 'b'};
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (c && strchr("_-=@,.;", c));
        assert_int_equal(rtm_channel_validate(rtm_str(name, 3)), ok ? 0 : RTM_EINVAL);
    }
}

static void test_validate_length(void **state)
{
    (void)state;
    char name[RTM_CHANNEL_MAX_LEN + 2];
    memset(name, 'x', sizeof(name));
    memcpy(name, "private-", 8);
    assert_int_equal(rtm_channel_validate(rtm_str(name, RTM_CHANNEL_MAX_LEN)), 0);
    assert_int_equal(rtm_channel_validate(rtm_str(name, RTM_CHANNEL_MAX_LEN + 1)), RTM_ETOOBIG);
    memcpy(name, RTM_CHANNEL_USER_PREFIX, sizeof(RTM_CHANNEL_USER_PREFIX) - 1);
    assert_int_equal(rtm_channel_validate(rtm_str(name, RTM_CHANNEL_MAX_LEN)), 0);
    assert_int_equal(rtm_channel_validate(rtm_str(name, RTM_CHANNEL_MAX_LEN + 1)), RTM_ETOOBIG);
    name[0] = ' '; /* over-long wins over invalid content */
    assert_int_equal(rtm_channel_validate(rtm_str(name, RTM_CHANNEL_MAX_LEN + 1)), RTM_ETOOBIG);
    assert_int_equal(rtm_channel_validate(rtm_str(name, RTM_CHANNEL_MAX_LEN)), RTM_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_validate_vectors),
        cmocka_unit_test(test_validate_every_byte),
        cmocka_unit_test(test_validate_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
