/* rtm_json — see rtm_json.h.
 *
 * A 256-entry table gives the extra escaped width of every byte (0, 1 or
 * 5). Escaping proceeds in chunks: while the worst case (6 bytes per input
 * byte) of the next chunk fits in the room left, that chunk is escaped with
 * no bounds checks: runs of plain bytes found with one table load per byte
 * and copied with one memcpy, and a fixed-size copy per escape; only the
 * last few bytes before cap go through the checked path. So a render into
 * an exactly-sized buffer (the broker's case: _len, one allocation, render)
 * is one unchecked pass over almost all of the data. Nothing is ever written
 * past the escaped length, even when cap is larger.
 * rtm_json_escape_n is the one writer; rtm_json_escape is its unbounded case
 * and rtm_json_escape_len sums the same table, so the lengths callers size
 * buffers with cannot disagree with what is written. */
#include "rtm_json.h"

#include <assert.h>
#include <stdlib.h>

#include "rtm_error.h"

#include <limits.h>
#include <string.h>

/* Extra bytes each input byte costs when escaped: 5 for \u00XX, 1 for a
 * short escape (\b \t \n \f \r \" \\), 0 for a byte that passes through. */
static const uint8_t s_extra[256] = {
    [0x00 ... 0x07] = 5, ['\b'] = 1, ['\t'] = 1,          ['\n'] = 1, [0x0b] = 5,
    ['\f'] = 1,          ['\r'] = 1, [0x0e ... 0x1f] = 5, ['"'] = 1,  ['\\'] = 1,
};

/* Escape sequences: \u00XX, or a short form in the first two bytes. */
static const char s_ctl[0x20][6] = {
    "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
    "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
    "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
    "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
};
static const char s_quote[6] = "\\\"";
static const char s_backslash[6] = "\\\\";

static const char *s_sequence(unsigned char c)
{
    return c < 0x20 ? s_ctl[c] : c == '"' ? s_quote : s_backslash;
}

/* Escapes p[0..k) to o with no bounds checks: o must have room for the
 * escaped form (6 * k bytes always suffice). Returns the bytes written. */
static size_t s_escape_unchecked(char *o, const unsigned char *p, size_t k)
{
    char *start = o;
    size_t i = 0;
    while (i < k) {
        size_t run = i;
        while (run < k && s_extra[p[run]] == 0)
            run++;
        memcpy(o, p + i, run - i);
        o += run - i;
        if (run == k)
            break;
        unsigned char c = p[run];
        const char *seq = s_sequence(c);
        if (s_extra[c] == 1) { /* fixed-size copies; never past the real width */
            memcpy(o, seq, 2);
            o += 2;
        } else {
            memcpy(o, seq, 6);
            o += 6;
        }
        i = run + 1;
    }
    return (size_t)(o - start);
}

size_t rtm_json_escape_n(char *out, size_t cap, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0; /* escaped bytes so far, written or not */
    size_t i = 0;
    while (i < len) {
        size_t room = n < cap ? cap - n : 0;
        size_t k = room / 6 < len - i ? room / 6 : len - i;
        if (k > 0) { /* the worst case of the next k bytes fits: no checks */
            n += s_escape_unchecked(out + n, p + i, k);
            i += k;
            continue;
        }
        unsigned char c = p[i++]; /* near or past the end: byte by byte */
        size_t w = 1 + (size_t)s_extra[c];
        const char *seq = w == 1 ? (const char *)&p[i - 1] : s_sequence(c);
        if (room)
            memcpy(out + n, seq, room < w ? room : w);
        n += w;
    }
    return n;
}

size_t rtm_json_escape_len(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += 1 + (size_t)s_extra[p[i]];
    return n;
}

size_t rtm_json_escape(char *out, const char *s, size_t len)
{
    return rtm_json_escape_n(out, SIZE_MAX, s, len);
}

void rtm_json_put(rtm_json_out_t *w, const char *s, size_t len)
{
    if (len && w->n < w->cap)
        memcpy(w->out + w->n, s, w->cap - w->n < len ? w->cap - w->n : len);
    w->n += len;
}

void rtm_json_put_esc(rtm_json_out_t *w, const char *s, size_t len)
{
    size_t room = w->n < w->cap ? w->cap - w->n : 0;
    w->n += room ? rtm_json_escape_n(w->out + w->n, room, s, len) : rtm_json_escape_len(s, len);
}

void rtm_json_put_int(rtm_json_out_t *w, int64_t v)
{
    char digits[24];
    size_t i = sizeof(digits);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        digits[--i] = '-';
    rtm_json_put(w, digits + i, sizeof(digits) - i);
}

int rtm_json_out_result(const rtm_json_out_t *w)
{
    if (w->n > w->cap || w->n > INT_MAX)
        return RTM_ETOOBIG;
    return (int)w->n;
}

char *rtm_json_build(void (*write)(rtm_json_out_t *w, const void *ctx), const void *ctx,
                     size_t *len)
{
    rtm_json_out_t count = rtm_json_out(NULL, 0);
    write(&count, ctx);
    char *text = malloc(count.n ? count.n : 1);
    if (!text)
        abort();
    rtm_json_out_t out = rtm_json_out(text, count.n);
    write(&out, ctx);
    assert(out.n == count.n); /* a renderer that differs between passes is our bug */
    *len = out.n;
    return text;
}
