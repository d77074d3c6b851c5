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

/* The REST call of c is gone: detaches it (connection closing). */
void rtm_rest_call_detach(rtm_conn_t *c);

#endif
