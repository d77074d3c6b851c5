/* Tests for rtm_brokers: broker lists (parsing, digest, diffing). */
#include "rtm_brokers.h"

#include "rtm_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static int s_parse(rtm_brokers_t *l, const char *text, char sep, char *err)
{
    return rtm_brokers_parse(l, text, strlen(text), sep, "--brokers-file f", err, 256);
}

static void test_file_lines(void **state)
{
    (void)state;
    char err[256] = "";
    rtm_brokers_t l;
    const char *text = "# the broker tier\n"
                       "tcp://10.0.0.1:7000\r\n"
                       "\n"
                       "   tcp://broker-1.brokers:7000  \n"
                       "\t# retired: tcp://10.0.0.3:7000\n"
                       "tcp://[::1]:7100"; /* no final newline */
    assert_int_equal(s_parse(&l, text, '\n', err), 3);
    assert_string_equal(l.ids[0], "tcp://10.0.0.1:7000");
    assert_string_equal(l.ids[1], "tcp://broker-1.brokers:7000");
    assert_string_equal(l.ids[2], "tcp://[::1]:7100");
    assert_int_equal(rtm_brokers_find(&l, rtm_str_cstr("tcp://broker-1.brokers:7000")), 1);
    assert_int_equal(rtm_brokers_find(&l, rtm_str_cstr("tcp://broker-1.brokers:700")), -1);
    assert_int_not_equal(l.digest, 0);
    rtm_brokers_free(&l);
    assert_int_equal(l.n, 0);
    assert_null(l.ids);
}

static void test_comma_list_and_empty(void **state)
{
    (void)state;
    char err[256] = "";
    rtm_brokers_t l;
    assert_int_equal(s_parse(&l, "tcp://a:1,tcp://b:2", ',', err), 2);
    assert_string_equal(l.ids[1], "tcp://b:2");
    rtm_brokers_free(&l);
    assert_int_equal(s_parse(&l, "\n# nobody yet\n\n", '\n', err), 0);
    assert_int_equal(l.n, 0);
    assert_int_not_equal(l.digest, 0);
    rtm_brokers_free(&l);
}

static void test_bad_entries_name_the_entry(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        char sep;
        const char *says;
    } bad[] = {
        {"tcp://a:1\nudp://b:2\n", '\n', "'udp://b:2' is not tcp://host:port"},
        {"tcp://a:1\ntcp://a:1\n", '\n', "'tcp://a:1' is listed twice"},
        {"tcp://a:65535", '\n', "'tcp://a:65535' is not"}, /* egress would be 65536 */
        {"tcp://a:0", '\n', "is not"},
        {"tcp://:7000", '\n', "is not"},
        {"tcp://a:1,,tcp://b:2", ',', "'' is not"},
        {"tcp://a:1 # comment", '\n', "is not"}, /* only whole-line comments */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        rtm_brokers_t l;
        assert_int_equal(s_parse(&l, bad[i].text, bad[i].sep, err), RTM_EINVAL);
        assert_non_null(strstr(err, bad[i].says));
        assert_non_null(strstr(err, "--brokers-file f"));
        assert_int_equal(l.n, 0);
    }
}

static void test_too_many(void **state)
{
    (void)state;
    size_t cap = (RTM_BROKERS_MAX + 1) * 24;
    char *text = malloc(cap), *p = text;
    for (int i = 0; i < RTM_BROKERS_MAX; i++)
        p += sprintf(p, "tcp://h%d:7000\n", i);
    char err[256];
    rtm_brokers_t l;
    assert_int_equal(s_parse(&l, text, '\n', err), RTM_BROKERS_MAX); /* exactly at the limit */
    rtm_brokers_free(&l);
    sprintf(p, "tcp://one-more:7000\n");
    assert_int_equal(s_parse(&l, text, '\n', err), RTM_ETOOBIG);
    free(text);
}

/* The digest identifies the set: the order does not matter, any change does. */
static void test_digest(void **state)
{
    (void)state;
    char err[256];
    rtm_brokers_t a, b, c, d;
    s_parse(&a, "tcp://a:1\ntcp://b:2\ntcp://c:3\n", '\n', err);
    s_parse(&b, "tcp://c:3,tcp://a:1,tcp://b:2", ',', err);
    s_parse(&c, "tcp://a:1\ntcp://b:2\n", '\n', err);
    s_parse(&d, "tcp://a:1\ntcp://b:2\ntcp://c:4\n", '\n', err);
    assert_int_equal(a.digest, b.digest);
    assert_int_not_equal(a.digest, c.digest);
    assert_int_not_equal(a.digest, d.digest);
    /* the separator is part of it: {"ab"} is not {"a", "b"} even as bytes */
    char *one[] = {"tcp://a:1tcp://b:2"}, *two[] = {"tcp://a:1", "tcp://b:2"};
    assert_int_not_equal(rtm_brokers_digest(one, 1), rtm_brokers_digest(two, 2));
    assert_int_equal(rtm_brokers_digest(two, 2), c.digest);
    rtm_brokers_free(&a);
    rtm_brokers_free(&b);
    rtm_brokers_free(&c);
    rtm_brokers_free(&d);
}

static void test_diff(void **state)
{
    (void)state;
    char err[256];
    rtm_brokers_t old, new_list;
    s_parse(&old, "tcp://a:1\ntcp://b:2\ntcp://c:3\n", '\n', err);
    s_parse(&new_list, "tcp://d:4\ntcp://c:3\ntcp://a:1\n", '\n', err);
    bool kept[3], added[3];
    assert_int_equal(rtm_brokers_diff(&old, &new_list, kept, added), 2);
    assert_true(kept[0] && !kept[1] && kept[2]);
    assert_true(added[0] && !added[1] && !added[2]);
    assert_int_equal(rtm_brokers_diff(&old, &old, NULL, NULL), 0);
    rtm_brokers_t empty;
    s_parse(&empty, "", '\n', err);
    assert_int_equal(rtm_brokers_diff(&old, &empty, kept, NULL), 3);
    assert_true(!kept[0] && !kept[1] && !kept[2]);
    rtm_brokers_free(&old);
    rtm_brokers_free(&new_list);
    rtm_brokers_free(&empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_lines),
        cmocka_unit_test(test_comma_list_and_empty),
        cmocka_unit_test(test_bad_entries_name_the_entry),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
