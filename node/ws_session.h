/* ws_session — the WebSocket layer of a client connection: framing, control
 * frames, close codes, and the greeting that opens a Pusher session. */
#ifndef RTM_WS_SESSION_H
#define RTM_WS_SESSION_H

#include "rtm_str.h"
#include "session.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes of the largest client message, as sent or once inflated. */
#define RTM_WS_SESSION_MAX_MESSAGE (64 * 1024)

/* After the 101 response: assigns the socket id and greets the client of
 * app (borrowed; NULL when the key named no app), or refuses a malformed
 * (4006) or unsupported (4007) "protocol" in query (a missing one is
 * accepted, as Pusher does), an unknown app key (4001) or an app over its
 * quota (4004). */
void rtm_ws_session_open(rtm_session_t *s, const rtm_app_t *app, rtm_str_t query);

/* Consumes one frame from data (unmasked in place). Returns the bytes
 * consumed, RTM_EAGAIN when data holds less than a frame, or another
 * negative code after closing for a protocol violation. */
int rtm_ws_session_feed(rtm_session_t *s, uint8_t *data, size_t len);

/* Closes with a WebSocket close frame carrying code and reason (queued
 * frames are written first); a Pusher code (4000-4999) is preceded by
 * pusher:error with the same code and reason as message. Idempotent. */
void rtm_ws_session_close(rtm_session_t *s, uint16_t code, const char *reason);

/* Sends pusher:error with a code (0 renders null) and an optional channel. */
void rtm_ws_session_error(rtm_session_t *s, int code, const char *message, rtm_str_t channel);

#endif
