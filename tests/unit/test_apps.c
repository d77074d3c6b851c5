/* Tests for rtm_apps' "publishers": which CURVE keys may send for which app
 * (service keys are limited to the apps that name them, other keys are not),
 * and the refusal of keys that are no Z85 public key; and "enabled", the one
 * flag a reload of the apps file changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtm_apps.h"
#include "rtm_error.h"

#include <string.h>

#define KEY_A "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define KEY_B "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define KEY_N "E&d!4Cz1)*u5?E0i7H+t>b6RC%^[!K<0}L-J3DZ)" /* a node's: named nowhere */

static rtm_apps_t s_load(const char *text, int want)
{
    rtm_apps_t apps;
    char err[512];
    assert_int_equal(rtm_apps_load_text(&apps, rtm_str_cstr(text), "t", err, sizeof err), want);
    return apps;
}

static void test_service_keys_limited_to_their_apps(void **state)
{
    (void)state;
    rtm_apps_t apps =
        s_load("[{\"id\":\"a\",\"key\":\"ka\",\"secret\":\"s\",\"publishers\":[\"" KEY_A
               "\"]},{\"id\":\"b\",\"key\":\"kb\",\"secret\":\"s\",\"publishers\":[\"" KEY_B
               "\",\"" KEY_A "\"]},{\"id\":\"c\",\"key\":\"kc\",\"secret\":\"s\"}]",
               0);
    const rtm_app_t *a = rtm_apps_by_id(&apps, rtm_str_cstr("a"));
    const rtm_app_t *b = rtm_apps_by_id(&apps, rtm_str_cstr("b"));
    const rtm_app_t *c = rtm_apps_by_id(&apps, rtm_str_cstr("c"));
    assert_int_equal(a->n_publishers, 1);
    assert_string_equal(a->publishers[0], KEY_A);
    assert_true(rtm_apps_key_allowed(&apps, a, KEY_A));
    assert_true(rtm_apps_key_allowed(&apps, b, KEY_A));
    assert_false(rtm_apps_key_allowed(&apps, a, KEY_B)); /* b's service, not a's */
    assert_false(rtm_apps_key_allowed(&apps, c, KEY_B)); /* an app naming nobody: no services */
    assert_true(rtm_apps_key_allowed(&apps, a, KEY_N));  /* nodes and brokers: every app */
    assert_true(rtm_apps_key_allowed(&apps, c, KEY_N));
    assert_true(rtm_apps_key_allowed(&apps, a, NULL)); /* no CURVE */
    assert_true(rtm_apps_key_allowed(&apps, a, ""));
    rtm_apps_free(&apps);
}

/* "compression" is on unless an app turns it off; it must be a boolean. */
static void test_compression_option(void **state)
{
    (void)state;
    rtm_apps_t apps =
        s_load("[{\"id\":\"a\",\"key\":\"ka\",\"secret\":\"s\"},"
               "{\"id\":\"b\",\"key\":\"kb\",\"secret\":\"s\",\"compression\":false}]",
               0);
    assert_true(rtm_apps_by_id(&apps, rtm_str_cstr("a"))->compression);
    assert_false(rtm_apps_by_id(&apps, rtm_str_cstr("b"))->compression);
    rtm_apps_free(&apps);
    s_load("[{\"id\":\"a\",\"key\":\"ka\",\"secret\":\"s\",\"compression\":\"no\"}]", RTM_EINVAL);
}

static void test_bad_publishers_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[{\"id\":\"a\",\"key\":\"k\",\"secret\":\"s\",\"publishers\":\"" KEY_A "\"}]",
        "[{\"id\":\"a\",\"key\":\"k\",\"secret\":\"s\",\"publishers\":[\"short\"]}]",
        "[{\"id\":\"a\",\"key\":\"k\",\"secret\":\"s\",\"publishers\":[1]}]",
        /* 40 characters, one outside the Z85 alphabet */
        "[{\"id\":\"a\",\"key\":\"k\",\"secret\":\"s\",\"publishers\":"
        "[\"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{h\\\\\"]}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rtm_apps_t apps;
        char err[512] = "";
        assert_int_equal(rtm_apps_load_text(&apps, rtm_str_cstr(bad[i]), "t", err, sizeof err),
                         RTM_EINVAL);
        assert_non_null(strstr(err, "publishers"));
    }
}

static void test_enabled_and_its_reload(void **state)
{
    (void)state;
    rtm_apps_t live = s_load("[{\"id\":\"a\",\"key\":\"ka\",\"secret\":\"s\"},"
                             "{\"id\":\"b\",\"key\":\"kb\",\"secret\":\"s\",\"enabled\":false},"
                             "{\"id\":\"c\",\"key\":\"kc\",\"secret\":\"s\",\"enabled\":true}]",
                             0);
    const rtm_app_t *a = rtm_apps_by_id(&live, rtm_str_cstr("a"));
    const rtm_app_t *b = rtm_apps_by_id(&live, rtm_str_cstr("b"));
    const rtm_app_t *c = rtm_apps_by_id(&live, rtm_str_cstr("c"));
    assert_true(rtm_app_enabled(a)); /* the default */
    assert_false(rtm_app_enabled(b));
    assert_true(rtm_app_enabled(c));
    /* the file again: a disabled, b enabled, c not listed (kept), d new (ignored), and a
     * secret changed (needs a restart: ignored) */
    rtm_apps_t fresh = s_load("[{\"id\":\"a\",\"key\":\"ka\",\"secret\":\"new\",\"enabled\":false},"
                              "{\"id\":\"b\",\"key\":\"kb\",\"secret\":\"s\"},"
                              "{\"id\":\"d\",\"key\":\"kd\",\"secret\":\"s\",\"enabled\":false}]",
                              0);
    assert_int_equal(rtm_apps_take_enabled(&live, &fresh), 2);
    assert_false(rtm_app_enabled(a));
    assert_true(rtm_app_enabled(b));
    assert_true(rtm_app_enabled(c));
    assert_string_equal(a->secret, "s");
    assert_null(rtm_apps_by_id(&live, rtm_str_cstr("d")));
    assert_int_equal(rtm_apps_take_enabled(&live, &fresh), 0); /* nothing changes twice */
    rtm_apps_free(&fresh);
    rtm_apps_free(&live);
    s_load("[{\"id\":\"a\",\"key\":\"ka\",\"secret\":\"s\",\"enabled\":\"no\"}]", RTM_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_keys_limited_to_their_apps),
        cmocka_unit_test(test_compression_option),
        cmocka_unit_test(test_bad_publishers_refused),
        cmocka_unit_test(test_enabled_and_its_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
