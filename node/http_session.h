/* http_session — HTTP on the client port: the WebSocket handshake at
 * /app/{key}, the Pusher REST API under /apps/{id}/ (rest_session), and the
 * operational endpoints /healthz, /readyz and /metrics. */
#ifndef RTM_HTTP_SESSION_H
#define RTM_HTTP_SESSION_H

#include "rtm_str.h"
#include "session.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Consumes one whole request (head and body) from data and answers or routes
 * it. Returns the bytes consumed, RTM_EAGAIN when data holds less than a
 * request, or another negative code after answering 400/413 and closing. */
int rtm_http_session_feed(rtm_session_t *s, uint8_t *data, size_t len);

/* Answers the request: the body with its content type. A connection without
 * keep-alive is closed after. */
void rtm_http_respond(rtm_session_t *s, int status, const char *type, const char *body, size_t len);

/* Answers {"error":"<message>"} (application/json). */
void rtm_http_respond_error(rtm_session_t *s, int status, const char *message);

/* When path starts with prefix followed by a non-empty segment: the segment
 * (up to the next '/') and the rest of the path, both slices of path. */
bool rtm_http_path_segment(rtm_str_t path, const char *prefix, rtm_str_t *seg, rtm_str_t *rest);

#endif
