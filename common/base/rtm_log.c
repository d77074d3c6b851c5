/* rtm_log — see rtm_log.h. Formats into a stack buffer and issues a single
 * write(2) so concurrent worker threads produce whole lines. */
#include "rtm_log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const s_level_names[] = {"debug", "info", "warn", "error"};

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
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, fmt, ap, 0, false);
    va_end(ap);
}

void rtm_log_limited(rtm_log_limit_t *lim, uint64_t now_ms, rtm_log_level_t level, const char *fmt,
                     ...)
{
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
