/* Tests for rtm_log's level (--log-level): parsing, and that lines below the
 * level set are not written while those at or above it are, rate-limited
 * ones included. stderr is a pipe during the test, read back whole. */
#include "rtm_error.h"
#include "rtm_log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* Runs fn with stderr going into a pipe; returns what it wrote. */
static const char *s_capture(void (*fn)(void))
{
    static char out[4096];
    int fds[2], saved = dup(STDERR_FILENO);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    dup2(fds[1], STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, sizeof out - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    return out;
}

static void test_level_parse(void **state)
{
    (void)state;
    rtm_log_level_t level = RTM_LOG_ERROR;
    assert_int_equal(rtm_log_level_parse("debug", &level), 0);
    assert_int_equal(level, RTM_LOG_DEBUG);
    assert_int_equal(rtm_log_level_parse("warn", &level), 0);
    assert_int_equal(level, RTM_LOG_WARN);
    assert_int_equal(rtm_log_level_parse("WARN", &level), RTM_EINVAL);
    assert_int_equal(rtm_log_level_parse("", &level), RTM_EINVAL);
    assert_int_equal(rtm_log_level_parse(NULL, &level), RTM_EINVAL);
    assert_int_equal(level, RTM_LOG_WARN); /* unchanged by a refusal */
    char err[128];
    assert_int_equal(rtm_log_configure("loud", err, sizeof err), RTM_EINVAL);
    assert_non_null(strstr(err, "RTMESH_LOG_LEVEL"));
    assert_non_null(strstr(err, "'loud'"));
}

static void s_lines(void)
{
    rtm_log(RTM_LOG_DEBUG, "event=d");
    rtm_log(RTM_LOG_INFO, "event=i");
    rtm_log(RTM_LOG_WARN, "event=w");
    rtm_log_limit_t lim = {.every_ms = 1000};
    rtm_log_limited(&lim, 10, RTM_LOG_INFO, "event=li"); /* below: not held back either */
    rtm_log_limited(&lim, 20, RTM_LOG_ERROR, "event=le");
}

static void test_level_filters_lines(void **state)
{
    (void)state;
    char err[128];
    const char *out = s_capture(s_lines); /* the default: info */
    assert_null(strstr(out, "event=d"));
    assert_non_null(strstr(out, "level=info event=i\n"));
    assert_non_null(strstr(out, "level=info event=li suppressed=0\n"));
    assert_non_null(strstr(out, "level=warn event=w\n"));
    assert_int_equal(rtm_log_configure("warn", err, sizeof err), 0);
    out = s_capture(s_lines);
    assert_null(strstr(out, "event=i"));
    assert_null(strstr(out, "event=li"));
    assert_non_null(strstr(out, "level=warn event=w\n"));
    assert_non_null(strstr(out, "level=error event=le suppressed=0\n"));
    assert_int_equal(rtm_log_configure("debug", err, sizeof err), 0);
    assert_non_null(strstr(s_capture(s_lines), "level=debug event=d\n"));
    rtm_log_set_level(RTM_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_level_filters_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
