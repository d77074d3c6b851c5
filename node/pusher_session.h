/* pusher_session — the Pusher protocol 7 messages a client sends (ping,
 * subscribe with the authorisation each channel type needs, unsubscribe,
 * sign-in, client events) and the protocol's own timers (activity ping,
 * pong timeout, sign-in deadline). */
#ifndef RTM_PUSHER_SESSION_H
#define RTM_PUSHER_SESSION_H

#include "session.h"

#include <stddef.h>
#include <stdint.h>

/* One Pusher protocol message (a complete, UTF-8 valid text message). */
void rtm_pusher_session_message(rtm_session_t *s, const uint8_t *text, size_t len);

/* The sweep of an open WebSocket session: pings a client idle for the
 * activity timeout, closes 4201 when the ping gets no reply in time and 4009
 * when a required sign-in is late. */
void rtm_pusher_session_sweep(rtm_session_t *s, uint64_t now_ms);

#endif
