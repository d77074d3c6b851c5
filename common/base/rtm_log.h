/* rtm_log — one line per event, key=value, to stderr.
 *
 * Callers pass their own context (worker id, peer) in the format; nothing
 * here is global. Never log payloads, secrets or signatures. */
#ifndef RTM_LOG_H
#define RTM_LOG_H

#include <stdint.h>

typedef enum { RTM_LOG_DEBUG, RTM_LOG_INFO, RTM_LOG_WARN, RTM_LOG_ERROR } rtm_log_level_t;

/* Writes "ts=<iso8601> level=<lvl> <formatted>\n" to stderr in one write(2),
 * so lines from several threads never interleave. */
void rtm_log(rtm_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A rate limit for lines that peers can cause: at most one line per
 * every_ms; the lines held back are counted and the next line that passes
 * ends with suppressed=N. Zero-initialise and set every_ms. */
typedef struct {
    uint64_t every_ms;   /* the period */
    uint64_t last_ms;    /* when the last line passed; 0: never */
    uint64_t suppressed; /* lines held back since */
} rtm_log_limit_t;

/* rtm_log through lim at monotonic time now_ms. */
void rtm_log_limited(rtm_log_limit_t *lim, uint64_t now_ms, rtm_log_level_t level, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

#endif
