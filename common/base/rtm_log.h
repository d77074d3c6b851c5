/* rtm_log — one line per event, key=value, to stderr.
 *
 * Callers pass their own context (worker id, peer) in the format; the only
 * process-wide state is the least level written, set once at start
 * (--log-level). Never log payloads, secrets or signatures. */
#ifndef RTM_LOG_H
#define RTM_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { RTM_LOG_DEBUG, RTM_LOG_INFO, RTM_LOG_WARN, RTM_LOG_ERROR } rtm_log_level_t;

/* Makes level the least level written (default RTM_LOG_INFO): lines below
 * it are dropped. Call before starting threads; later calls are seen by them
 * eventually. */
void rtm_log_set_level(rtm_log_level_t level);

/* Reads "debug", "info", "warn" or "error" into *level. Returns 0, or
 * RTM_EINVAL for anything else (*level unchanged). */
int rtm_log_level_parse(const char *text, rtm_log_level_t *level);

/* --log-level / RTMESH_LOG_LEVEL: parses text and sets the level. Returns 0,
 * or RTM_EINVAL with a message naming the option in err. */
int rtm_log_configure(const char *text, char *err, size_t err_len);

/* Writes "ts=<iso8601> level=<lvl> <formatted>\n" to stderr in one write(2),
 * so lines from several threads never interleave; nothing below the level
 * set. */
void rtm_log(rtm_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A rate limit for lines that peers can cause: at most one line per
 * every_ms; the lines held back are counted and the next line that passes
 * ends with suppressed=N. Zero-initialise and set every_ms. */
typedef struct {
    uint64_t every_ms;   /* the period */
    uint64_t last_ms;    /* when the last line passed; 0: never */
    uint64_t suppressed; /* lines held back since */
} rtm_log_limit_t;

/* rtm_log through lim at monotonic time now_ms (a line below the level set
 * neither passes nor counts as held back). */
void rtm_log_limited(rtm_log_limit_t *lim, uint64_t now_ms, rtm_log_level_t level, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

#endif
