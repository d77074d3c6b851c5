/* Tests for rtm_roster: where the broker list comes from (a file re-read on
 * reload, a fixed comma list, dns:// specs). DNS answers themselves are
 * exercised by the multi-host integration test, against /etc/hosts. */
#include "rtm_roster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_file_reload(void **state)
{
    (void)state;
    char path[] = "/tmp/rtm-roster-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    s_write(path, "tcp://a:1\n");
    char err[256] = "";
    rtm_roster_t *r = rtm_roster_new("tcp://ignored:1", path, err, sizeof err);
    assert_non_null(r);
    assert_non_null(strstr(rtm_roster_what(r), path));
    char *text;
    uint64_t gen = rtm_roster_take(r, 0, &text);
    assert_string_equal(text, "tcp://a:1\n"); /* the file wins over --brokers */
    free(text);
    assert_int_equal(rtm_roster_take(r, gen, &text), gen);
    assert_null(text);
    rtm_roster_reload(r); /* same content: no new generation */
    assert_int_equal(rtm_roster_take(r, gen, &text), gen);
    s_write(path, "tcp://a:1\ntcp://b:2\n");
    rtm_roster_reload(r);
    uint64_t gen2 = rtm_roster_take(r, gen, &text);
    assert_true(gen2 != gen);
    assert_string_equal(text, "tcp://a:1\ntcp://b:2\n");
    free(text);
    unlink(path); /* unreadable: the last text is kept */
    rtm_roster_reload(r);
    assert_int_equal(rtm_roster_take(r, gen2, &text), gen2);
    rtm_roster_destroy(&r);
    assert_null(r);
    assert_null(rtm_roster_new(NULL, path, err, sizeof err));
    assert_non_null(strstr(err, "--brokers-file/RTMESH_BROKERS_FILE: cannot read"));
}

static void test_fixed_list(void **state)
{
    (void)state;
    char err[256];
    rtm_roster_t *r = rtm_roster_new("tcp://a:1,tcp://b:2", NULL, err, sizeof err);
    char *text;
    uint64_t gen = rtm_roster_take(r, 0, &text);
    assert_string_equal(text, "tcp://a:1\ntcp://b:2");
    free(text);
    rtm_roster_reload(r);
    assert_int_equal(rtm_roster_take(r, gen, &text), gen);
    rtm_roster_destroy(&r);
}

static void test_bad_dns_specs(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "dns://",       "dns://name",       "dns://name:",  "dns://:7000",
        "dns://name:0", "dns://name:65535", "dns://name:7x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        assert_null(rtm_roster_new(bad[i], NULL, err, sizeof err));
        assert_non_null(strstr(err, "is not dns://NAME:PORT"));
    }
}

/* localhost resolves from /etc/hosts, with no network: each address is named by its
 * reverse name, and 127.0.0.1 and ::1 both called localhost make one line. */
static void test_dns_names_by_reverse_lookup(void **state)
{
    (void)state;
    char err[256];
    rtm_roster_t *r = rtm_roster_new("dns://localhost:7000", NULL, err, sizeof err);
    assert_non_null(r);
    assert_string_equal(rtm_roster_what(r), "--brokers dns://localhost:7000");
    char *text;
    rtm_roster_take(r, 0, &text);
    assert_non_null(strstr(text, "tcp://localhost:7000\n"));
    assert_null(strstr(strstr(text, "tcp://localhost:7000\n") + 1, "tcp://localhost:7000\n"));
    free(text);
    rtm_roster_reload(r); /* wakes the thread; destroy stops it */
    rtm_roster_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_reload),
        cmocka_unit_test(test_fixed_list),
        cmocka_unit_test(test_bad_dns_specs),
        cmocka_unit_test(test_dns_names_by_reverse_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
