/* rtm_json — escaping bytes into a JSON string body, into caller memory.
 *
 * Every renderer of client-visible JSON (rtm_pusher, rtm_rest error texts)
 * goes through these three functions so there is one escaping rule: `"`, `\`
 * and control bytes below 0x20 are escaped (\b \f \n \r \t in short form, the
 * rest as \u00XX); every other byte, UTF-8 included, passes through
 * unchanged. Nothing here allocates.
 *
 * rtm_json_out_t is the small writer the renderers build on: it appends into
 * caller memory and keeps counting past the end, so one routine both sizes a
 * message (out NULL, cap 0) and renders it, and the two can never disagree. */
#ifndef RTM_JSON_H
#define RTM_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Exact number of bytes rtm_json_escape writes for s[0..len) (no quotes). */
size_t rtm_json_escape_len(const char *s, size_t len);

/* Writes the escaped form of s[0..len) (no quotes) to out, which must hold
 * rtm_json_escape_len(s, len) bytes; does not NUL-terminate. Returns the
 * number of bytes written. s may be NULL when len is 0. */
size_t rtm_json_escape(char *out, const char *s, size_t len);

/* Bounded single-pass form: writes at most cap bytes of the escaped form to
 * out (out may be NULL when cap is 0) and returns the full escaped length.
 * The output is complete iff the return value is <= cap; otherwise out holds
 * an unspecified prefix. Renderers use it to escape and size in one pass. */
size_t rtm_json_escape_n(char *out, size_t cap, const char *s, size_t len);

/* Append-only writer into caller memory. Bytes past cap are counted, not
 * written; the output is complete iff n <= cap at the end. */
typedef struct {
    char *out;  /* caller memory; may be NULL when cap is 0 (count only) */
    size_t cap; /* bytes available at out */
    size_t n;   /* bytes the output needs so far; may exceed cap */
} rtm_json_out_t;

static inline rtm_json_out_t rtm_json_out(char *out, size_t cap)
{
    return (rtm_json_out_t){out, cap, 0};
}

/* Appends s[0..len) verbatim. */
void rtm_json_put(rtm_json_out_t *w, const char *s, size_t len);

/* Appends a string literal verbatim (length known at compile time). */
#define rtm_json_put_lit(w, lit) rtm_json_put((w), "" lit, sizeof(lit) - 1)

/* Appends s[0..len) escaped as a JSON string body (no quotes). */
void rtm_json_put_esc(rtm_json_out_t *w, const char *s, size_t len);

/* Appends v in decimal. */
void rtm_json_put_int(rtm_json_out_t *w, int64_t v);

/* The writer's result: the byte count when everything fitted in cap (and in
 * an int), else RTM_ETOOBIG. */
int rtm_json_out_result(const rtm_json_out_t *w);

/* Renders with `write` twice — once to count, once into an exact allocation —
 * so a renderer is written once and never sized by hand. write must produce
 * the same bytes both times. Returns the text (caller frees; never NULL) and
 * its length in *len. */
char *rtm_json_build(void (*write)(rtm_json_out_t *w, const void *ctx), const void *ctx,
                     size_t *len);

#endif
