/* rtm_http — see rtm_http.h.
 *
 * The request parser wraps http-parser 2.9, which is incremental and keeps its
 * state in a struct; we use it statelessly instead: every call runs a fresh
 * http_parser over the buffer from the start, so a connection keeps no parser
 * state between reads (the caller keeps only the unparsed bytes), and a
 * request is reported only once it is whole. Re-parsing a growing head costs
 * little next to the syscalls that grew it, and heads are small.
 *
 * The run is split in two so the head limit is exact without touching
 * http-parser's global header-size setting: the first execute sees at most
 * max_head bytes, so a head that has not completed inside them is over the
 * limit; the second execute continues over the rest of the buffer. The parser
 * is paused in on_message_complete so it never runs into a pipelined request.
 *
 * Every slice points into buf. A chunked body arrives in pieces separated by
 * chunk framing; the final run moves each piece down behind the previous one
 * (memmove over bytes the parser has already consumed), giving a contiguous
 * body. Because that modifies buf, it happens only in a second run made after
 * the first found a complete request: an incomplete or bad request leaves buf
 * exactly as it was, which the stateless retry depends on. */
#include "rtm_http.h"

#include "rtm_error.h"

#include <assert.h>
#include <http_parser.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#define S_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* Headers we report; the others are skipped. A repeat of a single-valued one
 * is refused: we could not tell which value the peer meant. */
static const struct {
    const char *name;
    size_t offset; /* of the rtm_str_t in rtm_http_request_t */
    bool repeatable;
} s_headers[] = {
    {"upgrade", offsetof(rtm_http_request_t, upgrade), false},
    {"connection", offsetof(rtm_http_request_t, connection), true},
    {"sec-websocket-key", offsetof(rtm_http_request_t, ws_key), false},
    {"sec-websocket-version", offsetof(rtm_http_request_t, ws_version), false},
    {"sec-websocket-extensions", offsetof(rtm_http_request_t, ws_extensions), true},
    {"content-type", offsetof(rtm_http_request_t, content_type), false},
};
#define S_NHEADERS (sizeof s_headers / sizeof s_headers[0])

struct s_parse {
    rtm_http_request_t req; /* being filled */
    char *buf;              /* start of the caller's buffer */
    rtm_str_t url;          /* request target */
    size_t max_body;
    uint64_t chunked_total; /* sum of chunk sizes so far */
    int header;             /* index in s_headers of the current field, or -1 */
    int err;                /* our reason when a callback stopped the parser */
    bool last_was_value;    /* previous callback was a header value */
    bool headers_done;
    bool complete;
    bool compact;       /* move body pieces together (final run only) */
    bool needs_compact; /* the body came in non-adjacent pieces */
};

static int s_fail(http_parser *p, int err)
{
    ((struct s_parse *)p->data)->err = err;
    return -1;
}

static int s_on_url(http_parser *p, const char *at, size_t n)
{
    struct s_parse *s = p->data;
    s->url = rtm_str(at, n);
    return 0;
}

static int s_on_header_field(http_parser *p, const char *at, size_t n)
{
    struct s_parse *s = p->data;
    if (memchr(at, ' ', n) || memchr(at, '\t', n))
        return s_fail(p, RTM_EPROTO); /* Debian builds http-parser non-strict */
    if (!s->headers_done)
        s->req.n_headers++;
    s->header = -1;
    for (size_t i = 0; i < S_NHEADERS; i++) {
        if (strlen(s_headers[i].name) == n && strncasecmp(at, s_headers[i].name, n) == 0) {
            s->header = (int)i;
            break;
        }
    }
    s->last_was_value = false;
    return 0;
}

static int s_on_header_value(http_parser *p, const char *at, size_t n)
{
    struct s_parse *s = p->data;
    if (s->headers_done)
        return 0; /* chunked trailer: ignored */
    if (s->last_was_value)
        return s_fail(p, RTM_EPROTO); /* obs-fold continuation line */
    s->last_was_value = true;
    if (s->header < 0)
        return 0;
    while (n > 0 && (at[n - 1] == ' ' || at[n - 1] == '\t'))
        n--;
    rtm_str_t *slot = (rtm_str_t *)((char *)&s->req + s_headers[s->header].offset);
    if (slot->p)
        return s_headers[s->header].repeatable ? 0 : s_fail(p, RTM_EPROTO);
    *slot = rtm_str(at, n);
    return 0;
}

static int s_on_headers_complete(http_parser *p)
{
    struct s_parse *s = p->data;
    s->headers_done = true;
    if (p->http_major != 1)
        return s_fail(p, RTM_EPROTO); /* HTTP/0.9 and anything not 1.x */
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > s->max_body)
        return s_fail(p, RTM_ETOOBIG);
    rtm_http_request_t *r = &s->req;
    r->method = rtm_str_cstr(http_method_str((enum http_method)p->method));
    r->keep_alive = http_should_keep_alive(p) != 0;
    r->is_upgrade = p->method == HTTP_GET && (p->flags & F_CONNECTION_UPGRADE) &&
                    r->upgrade.len == 9 && strncasecmp(r->upgrade.p, "websocket", 9) == 0;
    return 0;
}

static int s_on_chunk_header(http_parser *p)
{
    struct s_parse *s = p->data;
    if (p->content_length > s->max_body - s->chunked_total)
        return s_fail(p, RTM_ETOOBIG);
    s->chunked_total += p->content_length;
    return 0;
}

static int s_on_body(http_parser *p, const char *at, size_t n)
{
    struct s_parse *s = p->data;
    rtm_str_t *body = &s->req.body;
    if (!body->p) {
        *body = rtm_str(at, n);
        return 0;
    }
    const char *end = body->p + body->len;
    if (at != end) {
        if (s->compact)
            memmove(s->buf + (end - s->buf), at, n);
        else
            s->needs_compact = true;
    }
    body->len += n;
    return 0;
}

static int s_on_message_complete(http_parser *p)
{
    struct s_parse *s = p->data;
    s->complete = true;
    http_parser_pause(p, 1); /* stop before a pipelined request */
    return 0;
}

static const http_parser_settings s_settings = {
    .on_url = s_on_url,
    .on_header_field = s_on_header_field,
    .on_header_value = s_on_header_value,
    .on_headers_complete = s_on_headers_complete,
    .on_body = s_on_body,
    .on_message_complete = s_on_message_complete,
    .on_chunk_header = s_on_chunk_header,
};

/* 0 while the parser is fine (or paused by us), else our error code. */
static int s_check(const http_parser *p, const struct s_parse *s)
{
    enum http_errno e = HTTP_PARSER_ERRNO(p);
    if (e == HPE_OK || e == HPE_PAUSED)
        return 0;
    if (s->err)
        return s->err;
    return e == HPE_HEADER_OVERFLOW ? RTM_ETOOBIG : RTM_EPROTO;
}

/* One run of http-parser over buf; on success *consumed is the request's
 * length. len > 0 always: http-parser takes an empty input as end of stream. */
static int s_run(struct s_parse *s, size_t len, size_t max_head, size_t *consumed)
{
    http_parser p;
    http_parser_init(&p, HTTP_REQUEST);
    p.data = s;
    size_t head_part = len < max_head ? len : max_head;
    if (head_part == 0)
        return RTM_ETOOBIG; /* max_head == 0 */
    size_t done = http_parser_execute(&p, &s_settings, s->buf, head_part);
    int rc = s_check(&p, s);
    if (rc < 0)
        return rc;
    if (!s->headers_done) /* max_head bytes seen and the head goes on: over */
        return len >= max_head ? RTM_ETOOBIG : RTM_EAGAIN;
    if (!s->complete && len > head_part) {
        done += http_parser_execute(&p, &s_settings, s->buf + head_part, len - head_part);
        if ((rc = s_check(&p, s)) < 0)
            return rc;
    }
    if (!s->complete)
        return RTM_EAGAIN;
    *consumed = done;
    return 0;
}

/* Splits the request target into path and query. Origin form ("/p?q#f") is
 * the norm; absolute form ("http://host/p?q") has its scheme and authority
 * skipped; anything else ("*", CONNECT's authority) is all path. */
static void s_split_target(rtm_str_t url, rtm_http_request_t *r)
{
    const char *p = url.p, *end = url.p + url.len;
    const char *colon = url.len && *p != '/' ? memchr(p, ':', url.len) : NULL;
    if (colon && end - colon >= 3 && colon[1] == '/' && colon[2] == '/') {
        p = colon + 3;
        while (p < end && *p != '/' && *p != '?' && *p != '#')
            p++;
    }
    const char *hash = memchr(p, '#', (size_t)(end - p));
    if (hash)
        end = hash;
    const char *q = memchr(p, '?', (size_t)(end - p));
    r->path = rtm_str(p, (size_t)((q ? q : end) - p));
    r->query = q ? rtm_str(q + 1, (size_t)(end - q - 1)) : rtm_str(NULL, 0);
}

int rtm_http_parse_request(char *buf, size_t len, size_t max_head, size_t max_body,
                           rtm_http_request_t *req)
{
    if (len == 0)
        return RTM_EAGAIN;
    struct s_parse s = {.buf = buf, .max_body = max_body, .header = -1};
    size_t consumed = 0;
    int rc = s_run(&s, len, max_head, &consumed);
    if (rc < 0)
        return rc;
    if (s.needs_compact) {
        s = (struct s_parse){.buf = buf, .max_body = max_body, .header = -1, .compact = true};
        rc = s_run(&s, len, max_head, &consumed);
        assert(rc == 0); /* same bytes ahead of the parser: same outcome */
    }
    if (consumed > INT_MAX)
        return RTM_ETOOBIG;
    s_split_target(s.url, &s.req);
    *req = s.req;
    return (int)consumed;
}

void rtm_http_ws_accept(rtm_str_t key, char out[RTM_HTTP_WS_ACCEPT_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) ||
        !EVP_DigestUpdate(ctx, key.p ? key.p : "", key.len) ||
        !EVP_DigestUpdate(ctx, S_WS_GUID, sizeof S_WS_GUID - 1) ||
        !EVP_DigestFinal_ex(ctx, md, &md_len) || md_len != 20)
        abort(); /* out of memory or a broken libcrypto */
    EVP_MD_CTX_free(ctx);
    int n = EVP_EncodeBlock((unsigned char *)out, md, (int)md_len);
    assert(n == RTM_HTTP_WS_ACCEPT_LEN);
    (void)n;
}

/* A bounded writer: counts every byte, copies only what fits, so one routine
 * both measures and writes a response head. */
struct s_out {
    char *p;
    size_t cap;
    size_t len;
};

static void s_put(struct s_out *o, const char *s, size_t n)
{
    if (n && o->len <= o->cap && n <= o->cap - o->len)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void s_puts(struct s_out *o, const char *s)
{
    s_put(o, s, strlen(s));
}

static void s_put_uint(struct s_out *o, uint64_t v)
{
    char digits[20];
    size_t i = sizeof digits;
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    s_put(o, digits + i, sizeof digits - i);
}

static const char *s_reason(int status)
{
    switch (status) {
#define S_REASON(num, name, string)                                                                \
    case num: return #string;
        HTTP_STATUS_MAP(S_REASON)
#undef S_REASON
    default: return "";
    }
}

static void s_status_line(struct s_out *o, int status)
{
    assert(status >= 100 && status <= 999);
    s_puts(o, "HTTP/1.1 ");
    s_put_uint(o, (uint64_t)status);
    s_puts(o, " ");
    s_puts(o, s_reason(status));
    s_puts(o, "\r\n");
}

/* A 1xx or 204 response carries no body and no Content-Length (RFC 9110 8.6). */
static void s_response_head(struct s_out *o, int status, const char *content_type, size_t body_len,
                            bool keep_alive)
{
    s_status_line(o, status);
    if (content_type) {
        s_puts(o, "Content-Type: ");
        s_puts(o, content_type);
        s_puts(o, "\r\n");
    }
    if (status >= 200 && status != 204) {
        s_puts(o, "Content-Length: ");
        s_put_uint(o, body_len);
        s_puts(o, "\r\n");
    }
    s_puts(o, keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
}

static int s_finish(const struct s_out *o)
{
    return o->len <= o->cap && o->len <= INT_MAX ? (int)o->len : RTM_ETOOBIG;
}

int rtm_http_write_upgrade(char *out, size_t cap, rtm_str_t ws_key, const char *extensions)
{
    char accept[RTM_HTTP_WS_ACCEPT_LEN + 1];
    rtm_http_ws_accept(ws_key, accept);
    struct s_out o = {out, cap, 0};
    s_status_line(&o, 101);
    s_puts(&o, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    s_put(&o, accept, RTM_HTTP_WS_ACCEPT_LEN);
    if (extensions) {
        s_puts(&o, "\r\nSec-WebSocket-Extensions: ");
        s_puts(&o, extensions);
    }
    s_puts(&o, "\r\n\r\n");
    return s_finish(&o);
}

int rtm_http_write_response(char *out, size_t cap, int status, const char *content_type,
                            const char *body, size_t body_len, bool keep_alive)
{
    assert(body_len == 0 || (status >= 200 && status != 204));
    struct s_out o = {out, cap, 0};
    s_response_head(&o, status, content_type, body_len, keep_alive);
    if (body_len > cap)
        return RTM_ETOOBIG;
    s_put(&o, body, body_len);
    return s_finish(&o);
}

size_t rtm_http_response_head_len(int status, const char *content_type, size_t body_len,
                                  bool keep_alive)
{
    struct s_out o = {NULL, 0, 0};
    s_response_head(&o, status, content_type, body_len, keep_alive);
    return o.len;
}
