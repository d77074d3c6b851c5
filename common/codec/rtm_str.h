/* rtm_str — a borrowed byte slice, the currency of every codec.
 *
 * Codecs hand out slices that point into the caller's input buffer instead of
 * copying; a slice is valid exactly as long as the buffer it came from. */
#ifndef RTM_STR_H
#define RTM_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct {
    const char *p; /* first byte; not NUL-terminated in general */
    size_t len;    /* number of bytes */
} rtm_str_t;

static inline rtm_str_t rtm_str(const char *p, size_t len)
{
    return (rtm_str_t){p, len};
}

static inline rtm_str_t rtm_str_cstr(const char *s)
{
    return (rtm_str_t){s, s ? strlen(s) : 0};
}

static inline bool rtm_str_eq(rtm_str_t a, rtm_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool rtm_str_eq_cstr(rtm_str_t a, const char *s)
{
    return rtm_str_eq(a, rtm_str_cstr(s));
}

static inline bool rtm_str_has_prefix(rtm_str_t a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && memcmp(a.p, prefix, n) == 0;
}

#endif
