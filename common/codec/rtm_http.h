/* rtm_http — HTTP/1.1 request codec for the edge's single port.
 *
 * The same listener serves WebSocket upgrades (the Pusher handshake) and the
 * REST API, so the parser takes any request and reports what both callers
 * need: method, path, query, a few headers, the de-chunked body, keep-alive
 * and whether this is a WebSocket upgrade. The writers build the 101 upgrade
 * response and plain responses into caller memory. No I/O, no allocation. */
#ifndef RTM_HTTP_H
#define RTM_HTTP_H

#include "rtm_str.h"

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define RTM_HTTP_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */

typedef struct {
    rtm_str_t method;     /* "GET", "POST", ...: static storage, not in buf */
    rtm_str_t path;       /* path only, no query, still percent-encoded */
    rtm_str_t query;      /* after '?', without it, no fragment; len 0 if none */
    rtm_str_t body;       /* de-chunked body, contiguous; len 0 if none */
    rtm_str_t upgrade;    /* header values, trimmed; len 0 if absent */
    rtm_str_t connection; /* first Connection header (tokens of all are honoured) */
    rtm_str_t ws_key;     /* Sec-WebSocket-Key */
    rtm_str_t ws_version; /* Sec-WebSocket-Version */
    rtm_str_t
        ws_extensions;      /* first Sec-WebSocket-Extensions (offers in later ones are declined) */
    rtm_str_t content_type; /* Content-Type */
    uint32_t n_headers;     /* header lines in the head */
    bool keep_alive;        /* per http_should_keep_alive (version + Connection) */
    bool is_upgrade;        /* GET + Upgrade: websocket + Connection has "upgrade" */
} rtm_http_request_t;

/* Parses one complete request from the start of buf (len bytes, which may be
 * followed by pipelined bytes of the next request). Stateless: on RTM_EAGAIN
 * the caller appends bytes and calls again with the whole grown buffer.
 *
 * Returns the bytes consumed by this request (> 0, head + body) with *req
 * filled; every slice except method borrows from buf and is valid while buf
 * is. A chunked body is compacted in place inside buf (over the chunk framing),
 * so buf is modified only when a whole request is returned.
 * RTM_EAGAIN: incomplete; buf and *req untouched.
 * RTM_EPROTO: malformed (http-parser error, HTTP/0.9 or a major version other
 * than 1, whitespace in a header name, obsolete header line folding, a
 * repeated Upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version or Content-Type
 * header); buf and *req untouched.
 * RTM_ETOOBIG: the head (request line + headers + blank line) is longer than
 * max_head bytes (http-parser also caps it at 80 KiB), or the body
 * (Content-Length, or the running total of chunk sizes) is over max_body;
 * reported as soon as it is known, before the body arrives. Also when the
 * request would not fit an int. buf and *req untouched. */
int rtm_http_parse_request(char *buf, size_t len, size_t max_head, size_t max_body,
                           rtm_http_request_t *req);

/* Sec-WebSocket-Accept for a client key: base64(SHA-1(key + RFC 6455 GUID)).
 * out (caller memory) gets RTM_HTTP_WS_ACCEPT_LEN characters and a NUL. */
void rtm_http_ws_accept(rtm_str_t key, char out[RTM_HTTP_WS_ACCEPT_LEN + 1]);

/* Writes the "HTTP/1.1 101 Switching Protocols" response (Upgrade: websocket,
 * Connection: Upgrade, Sec-WebSocket-Accept for ws_key, and
 * Sec-WebSocket-Extensions: extensions unless it is NULL) into out (cap
 * bytes, caller memory; no NUL is written). Returns its length, or
 * RTM_ETOOBIG when cap is too small (out contents then unspecified). */
int rtm_http_write_upgrade(char *out, size_t cap, rtm_str_t ws_key, const char *extensions);

/* Writes a complete response into out (cap bytes; no NUL written): status line
 * with the standard reason phrase (empty for an unregistered status),
 * Content-Type when content_type is non-NULL, Content-Length, Connection:
 * keep-alive or close, then body_len bytes of body (may be NULL when
 * body_len is 0). status must be 100..999. Returns the length, or RTM_ETOOBIG
 * when it does not fit cap or an int (out contents then unspecified). */
int rtm_http_write_response(char *out, size_t cap, int status, const char *content_type,
                            const char *body, size_t body_len, bool keep_alive);

/* Bytes of the head rtm_http_write_response writes for these parameters (the
 * body excluded), so a caller can size a buffer: head + body_len fits. */
size_t rtm_http_response_head_len(int status, const char *content_type, size_t body_len,
                                  bool keep_alive);

#endif
