/* rtm_log — see rtm_log.h. Formats into a stack buffer and issues a single
 * write(2) so concurrent worker threads produce whole lines. */
#include "rtm_log.h"

#include "rtm_error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const s_level_names[] = {"debug", "info", "warn", "error"};

static int s_min_level = RTM_LOG_INFO; /* written with relaxed atomics: set at start */

void rtm_log_set_level(rtm_log_level_t level)
{
    __atomic_store_n(&s_min_level, (int)level, __ATOMIC_RELAXED);
}

int rtm_log_level_parse(const char *text, rtm_log_level_t *level)
{
    for (int i = RTM_LOG_DEBUG; i <= RTM_LOG_ERROR; i++)
        if (text && strcmp(text, s_level_names[i]) == 0) {
            *level = (rtm_log_level_t)i;
            return 0;
        }
    return RTM_EINVAL;
}

int rtm_log_configure(const char *text, char *err, size_t err_len)
{
    rtm_log_level_t level;
    if (rtm_log_level_parse(text, &level) < 0) {
        snprintf(err, err_len,
                 "--log-level / RTMESH_LOG_LEVEL: '%s' is not debug, info, warn or error",
                 text ? text : "");
        return RTM_EINVAL;
    }
    rtm_log_set_level(level);
    return 0;
}

static bool s_below(rtm_log_level_t level)
{
    return (int)level < __atomic_load_n(&s_min_level, __ATOMIC_RELAXED);
}

__attribute__((format(printf, 2, 0))) static void
s_vlog(rtm_log_level_t level, const char *fmt, va_list ap, uint64_t suppressed, bool limited)
{
    char line[1024];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "ts=%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ level=%s ", (long)(tv.tv_usec / 1000),
                  s_level_names[level]);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    n += m;
    if (limited && n < (int)sizeof line - 2)
        n += snprintf(line + n, sizeof line - (size_t)n - 1, " suppressed=%" PRIu64, suppressed);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
    (void)ignored;
}

void rtm_log(rtm_log_level_t level, const char *fmt, ...)
{
    if (s_below(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, fmt, ap, 0, false);
    va_end(ap);
}

void rtm_log_limited(rtm_log_limit_t *lim, uint64_t now_ms, rtm_log_level_t level, const char *fmt,
                     ...)
{
    if (s_below(level))
        return;
    if (lim->last_ms && now_ms - lim->last_ms < lim->every_ms) {
        lim->suppressed++;
        return;
    }
    lim->last_ms = now_ms ? now_ms : 1;
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, fmt, ap, lim->suppressed, true);
    va_end(ap);
    lim->suppressed = 0;
}
