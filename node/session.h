/* Protocol sessions over a connection's bytes: HTTP (REST API and the
 * WebSocket handshake) and WebSocket (the Pusher protocol).
 *
 * A feed function consumes one request or one frame from data and returns the
 * bytes consumed (> 0), RTM_EAGAIN when data holds less than a whole unit, or
 * another negative code after it has started closing the connection. data is
 * the connection's own or the worker's buffer and may be modified in place
 * (WebSocket unmasking). */
#ifndef RTM_SESSION_H
#define RTM_SESSION_H

#include "conn.h"
#include "rtm_http.h"

#include <stddef.h>
#include <stdint.h>

int rtm_http_session_feed(rtm_conn_t *c, uint8_t *data, size_t len);
int rtm_ws_session_feed(rtm_conn_t *c, uint8_t *data, size_t len);

/* After the 101 response: assigns the socket id and greets the client (or
 * refuses an unknown app key with 4001). */
void rtm_ws_session_open(rtm_conn_t *c, rtm_str_t app_key);

/* Sends a Pusher message the connection's WebSocket: pusher:error with a
 * code (0 renders null) and optional channel. */
void rtm_ws_session_error(rtm_conn_t *c, int code, const char *message, rtm_str_t channel);

/* Refuses a subscription the way pusher-js and Laravel Echo report it: a
 * pusher:error and a pusher:subscription_error {type, error, status}, both on
 * the channel. The connection stays usable. */
void rtm_ws_session_refuse(rtm_conn_t *c, rtm_str_t channel, const char *type, const char *message,
                           int status);

/* One Pusher protocol message (a complete, UTF-8 valid text message). */
void rtm_pusher_session_message(rtm_conn_t *c, const uint8_t *text, size_t len);

/* Answers an HTTP request: the body with its content type, or an error as
 * {"error":"<message>"}. A connection without keep-alive is closed after. */
void rtm_http_respond(rtm_conn_t *c, int status, const char *type, const char *body, size_t len);
void rtm_http_respond_error(rtm_conn_t *c, int status, const char *message);

/* When path starts with prefix followed by a non-empty segment: the segment
 * (up to the next '/') and the rest of the path, both slices of path. */
bool rtm_http_path_segment(rtm_str_t path, const char *prefix, rtm_str_t *seg, rtm_str_t *rest);

/* A request under /apps/{app_id}/: authenticates it and serves route (the
 * path after the app id). */
void rtm_rest_api_handle(rtm_conn_t *c, const rtm_http_request_t *req, rtm_str_t app_id,
                         rtm_str_t route);

/* The REST call of c is gone: detaches it (connection closing). */
void rtm_rest_call_detach(rtm_conn_t *c);

#endif
