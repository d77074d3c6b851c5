/* rtm_log — one line per event, key=value, to stderr.
 *
 * Callers pass their own context (worker id, peer) in the format; nothing
 * here is global. Never log payloads, secrets or signatures. */
#ifndef RTM_LOG_H
#define RTM_LOG_H

typedef enum { RTM_LOG_DEBUG, RTM_LOG_INFO, RTM_LOG_WARN, RTM_LOG_ERROR } rtm_log_level_t;

/* Writes "ts=<iso8601> level=<lvl> <formatted>\n" to stderr in one write(2),
 * so lines from several threads never interleave. */
void rtm_log(rtm_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
