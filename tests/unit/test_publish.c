/* Tests for rtm_publish: the rules every publisher obeys (REST API and
 * broker ingress), each at and just past its limit, in their order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtm_error.h"
#include "rtm_publish.h"

#include <string.h>

static rtm_str_t S(const char *s)
{
    return rtm_str_cstr(s);
}

static const rtm_str_t s_one[] = {{"chat", 4}};

static rtm_publish_event_t s_event(void)
{
    return (rtm_publish_event_t){
        .name = S("e"), .data = S("{}"), .channels = s_one, .n_channels = 1};
}

static int s_check(const rtm_publish_event_t *ev, const rtm_publish_limits_t *lim, char *err)
{
    return rtm_publish_check(ev, lim, "batch[1].", err, 256);
}

static void test_accepts(void **state)
{
    (void)state;
    char err[256];
    rtm_publish_event_t ev = s_event();
    assert_int_equal(s_check(&ev, NULL, err), 0);
    ev.socket_id = S("123.456");
    assert_int_equal(s_check(&ev, NULL, err), 0);
    ev.socket_id = rtm_str(NULL, 0); /* absent */
    ev.data = rtm_str(NULL, 0);      /* empty data is an event too */
    assert_int_equal(s_check(&ev, NULL, err), 0);
}

static void test_name(void **state)
{
    (void)state;
    char err[256], name[RTM_PUBLISH_MAX_NAME + 2];
    memset(name, 'n', sizeof name);
    rtm_publish_event_t ev = s_event();
    ev.name = rtm_str(name, RTM_PUBLISH_MAX_NAME);
    assert_int_equal(s_check(&ev, NULL, err), 0);
    ev.name = rtm_str(name, RTM_PUBLISH_MAX_NAME + 1);
    assert_int_equal(s_check(&ev, NULL, err), RTM_EINVAL);
    assert_string_equal(err, "batch[1].name: must be 1 to 200 bytes");
    ev.name = rtm_str("", 0);
    assert_int_equal(s_check(&ev, NULL, err), RTM_EINVAL);
}

static void test_data_per_app(void **state)
{
    (void)state;
    char err[256];
    rtm_app_t app = {.max_event_payload = 4};
    rtm_publish_limits_t lim = rtm_publish_limits(&app);
    assert_int_equal(lim.max_data, 4);
    assert_int_equal(lim.max_channels, RTM_PUBLISH_MAX_CHANNELS);
    rtm_publish_event_t ev = s_event();
    ev.data = S("1234");
    assert_int_equal(s_check(&ev, &lim, err), 0);
    ev.data = S("12345");
    assert_int_equal(s_check(&ev, &lim, err), RTM_ETOOBIG);
    assert_string_equal(err, "batch[1].data: 5 bytes is over the limit of 4 bytes");
    ev.name = S(""); /* the name is checked first */
    assert_int_equal(s_check(&ev, &lim, err), RTM_EINVAL);
}

static void test_channels(void **state)
{
    (void)state;
    char err[256];
    rtm_publish_event_t ev = s_event();
    ev.n_channels = 0;
    assert_int_equal(s_check(&ev, NULL, err), RTM_EINVAL);
    assert_string_equal(err, "batch[1].channels: must not be empty");

    rtm_str_t many[3] = {S("a"), S("b"), S("c")};
    rtm_publish_limits_t lim = RTM_PUBLISH_LIMITS_DEFAULT;
    lim.max_channels = 2;
    ev.channels = many;
    ev.n_channels = 3;
    assert_int_equal(s_check(&ev, &lim, err), RTM_EINVAL);
    assert_string_equal(err, "batch[1].channels: 3 channels is over the limit of 2");
    ev.n_channels = 2;
    assert_int_equal(s_check(&ev, &lim, err), 0);

    many[1] = S("bad channel");
    assert_int_equal(s_check(&ev, NULL, err), RTM_EINVAL);
    assert_non_null(strstr(err, "batch[1].channels[1]: invalid channel name"));
    many[1] = S("#server-to-user-7"); /* publishable, as in the REST API */
    assert_int_equal(s_check(&ev, NULL, err), 0);
}

static void test_encrypted_alone(void **state)
{
    (void)state;
    char err[256];
    rtm_str_t two[2] = {S("private-encrypted-a"), S("b")};
    rtm_publish_event_t ev = s_event();
    ev.channels = two;
    ev.n_channels = 2;
    assert_int_equal(s_check(&ev, NULL, err), RTM_EINVAL);
    assert_string_equal(err,
                        "batch[1].channels: an encrypted channel must be triggered on its own");
    ev.n_channels = 1;
    assert_int_equal(s_check(&ev, NULL, err), 0);
}

static void test_socket_id(void **state)
{
    (void)state;
    char err[256];
    rtm_publish_event_t ev = s_event();
    static const char *const bad[] = {"", "1", "1.", ".1", "a.b", "1.2.3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ev.socket_id = rtm_str(bad[i], strlen(bad[i])); /* present, even when empty */
        assert_int_equal(s_check(&ev, NULL, err), RTM_EINVAL);
    }
    assert_string_equal(err, "batch[1].socket_id: must match ^\\d+\\.\\d+$");
    assert_int_equal(rtm_publish_check(&ev, NULL, NULL, NULL, 0), RTM_EINVAL); /* no err */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),         cmocka_unit_test(test_name),
        cmocka_unit_test(test_data_per_app),    cmocka_unit_test(test_channels),
        cmocka_unit_test(test_encrypted_alone), cmocka_unit_test(test_socket_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
