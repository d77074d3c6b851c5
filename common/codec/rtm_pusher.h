/* rtm_pusher — Pusher protocol 7 messages: client→server decode and
 * server→client renders.
 *
 * Decoding parses one WebSocket text frame with jansson and hands out slices
 * that borrow from the parsed tree. Rendering writes the exact client-visible
 * JSON text into caller memory, never allocating: the broker renders each
 * event once and every subscriber gets the same bytes. Every render has a
 * _len companion that returns the exact rendered length (same code path), so
 * a caller can allocate exactly once. Server→client `data` is string-encoded
 * (the protocol's double-encoding rule) except in pusher:error and
 * pusher:signin_success, whose data is an object. */
#ifndef RTM_PUSHER_H
#define RTM_PUSHER_H

#include "rtm_str.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The Pusher error and close codes rtmesh sends (the protocol reference):
 * 4000-4099 the client must not reconnect as it was, 4100-4199 it
 * reconnects after a back-off, 4200-4299 it reconnects at once, 4300-4399
 * refuse one message and keep the connection. */
typedef enum {
    RTM_PUSHER_APP_UNKNOWN = 4001,     /* no app with that key */
    RTM_PUSHER_APP_DISABLED = 4003,    /* the app is disabled */
    RTM_PUSHER_OVER_QUOTA = 4004,      /* the app is over its connection quota */
    RTM_PUSHER_BAD_VERSION = 4006,     /* the protocol parameter is not a version number */
    RTM_PUSHER_UNSUPPORTED = 4007,     /* a protocol version this server does not speak */
    RTM_PUSHER_UNAUTHORIZED = 4009,    /* refused, not signed in in time, or terminated */
    RTM_PUSHER_OVER_CAPACITY = 4100,   /* a limit was reached: try again later */
    RTM_PUSHER_RECONNECT = 4200,       /* the server is going away: reconnect now */
    RTM_PUSHER_PONG_TIMEOUT = 4201,    /* no reply to our ping */
    RTM_PUSHER_RATE_LIMITED = 4301,    /* client events sent too fast */
    RTM_PUSHER_WATCHLIST_LIMIT = 4302, /* more watched user ids than allowed */
} rtm_pusher_code_t;

/* Longest user id either tier accepts, in bytes (Pusher documents 128). */
#define RTM_PUSHER_MAX_USER_ID 128

/* Fixed frames; sizeof(RTM_PUSHER_PONG) - 1 is the length. */
#define RTM_PUSHER_PONG "{\"event\":\"pusher:pong\",\"data\":{}}"
#define RTM_PUSHER_PING "{\"event\":\"pusher:ping\",\"data\":{}}"

/* A decoded client→server message. Every rtm_str_t borrows from root and is
 * valid until rtm_pusher_msg_clear; a field not present has len 0 (and p
 * NULL). */
typedef struct {
    json_t *root;      /* owned; freed by rtm_pusher_msg_clear */
    rtm_str_t event;   /* "event" (required string) */
    rtm_str_t channel; /* top-level "channel" when it is a string (client events) */
    json_t *data;      /* borrowed "data": object, string, other, or NULL when absent.
                        * For subscribe/unsubscribe/signin always the data object
                        * (a string-encoded object has been parsed and put in its place). */
    /* pusher:subscribe / pusher:unsubscribe / pusher:signin fields of data: */
    rtm_str_t sub_channel;  /* data.channel (subscribe/unsubscribe: required) */
    rtm_str_t auth;         /* data.auth (subscribe: optional; signin: required) */
    rtm_str_t channel_data; /* data.channel_data (subscribe: optional) */
    rtm_str_t user_data;    /* data.user_data (signin: required) */
} rtm_pusher_msg_t;

/* Parses one text frame text[0..len) into msg (overwritten; need not be
 * initialised). Returns 0 and fills msg, which the caller then owns and must
 * release with rtm_pusher_msg_clear. Errors leave msg holding nothing to free
 * (clearing it is still allowed):
 *   RTM_EPROTO  invalid JSON, not an object, "event" missing or not a string;
 *   RTM_EINVAL  pusher:subscribe / pusher:unsubscribe whose data (an object,
 *               or a string holding a JSON object) lacks a string "channel",
 *               or has an "auth" or "channel_data" that is neither a string
 *               nor null (null counts as absent); pusher:signin whose data
 *               lacks a string "auth" or a string "user_data".
 * Other events are not checked beyond the envelope. */
int rtm_pusher_parse(const char *text, size_t len, rtm_pusher_msg_t *msg);

/* Releases what msg owns and zeroes it. Safe on a zeroed or cleared msg. */
void rtm_pusher_msg_clear(rtm_pusher_msg_t *msg);

/* True when s is a socket id: ^[0-9]+\.[0-9]+$ (what the server SDKs require). */
bool rtm_socket_id_valid(rtm_str_t s);

/* Renders. Each writes into out[0..cap) (not NUL-terminated) and returns the
 * number of bytes written, or RTM_ETOOBIG when cap is too small (out then
 * holds an unspecified prefix). Strings are JSON-escaped as needed. Each
 * _len companion returns the exact length the render needs. */

/* {"event":E,"channel":C,"data":"<D escaped>"}: a channel event; data is
 * the raw string posted to the REST API, string-encoded. channel len 0:
 * the "channel" member is omitted. */
int rtm_pusher_render_event(char *out, size_t cap, rtm_str_t event, rtm_str_t channel,
                            rtm_str_t data);
size_t rtm_pusher_event_len(rtm_str_t event, rtm_str_t channel, rtm_str_t data);

/* As rtm_pusher_render_event, plus ,"user_id":U when user_id.len > 0: a
 * client event relayed on a presence channel. data is the client's data as
 * JSON text (string-encoded like any event; pusher-js parses it back). */
int rtm_pusher_render_client_event(char *out, size_t cap, rtm_str_t event, rtm_str_t channel,
                                   rtm_str_t data, rtm_str_t user_id);
size_t rtm_pusher_client_event_len(rtm_str_t event, rtm_str_t channel, rtm_str_t data,
                                   rtm_str_t user_id);

/* {"event":"pusher:connection_established","data":"{\"socket_id\":\"S\",
 * \"activity_timeout\":T}"}. The render returns RTM_EINVAL when socket_id is
 * not rtm_socket_id_valid or activity_timeout <= 0 (pusher-js refuses a zero
 * timeout); the _len companion does not validate. */
int rtm_pusher_render_connection_established(char *out, size_t cap, rtm_str_t socket_id,
                                             int activity_timeout);
size_t rtm_pusher_connection_established_len(rtm_str_t socket_id, int activity_timeout);

/* {"event":"pusher:error","channel":C,"data":{"code":N,"message":M}}: code 0
 * renders "code":null; channel len 0 omits "channel"; message is a
 * NUL-terminated string (NULL renders ""). */
int rtm_pusher_render_error(char *out, size_t cap, int code, const char *message,
                            rtm_str_t channel);
size_t rtm_pusher_error_len(int code, const char *message, rtm_str_t channel);

/* {"event":"pusher_internal:subscription_succeeded","channel":C,"data":"{}"}
 * (non-presence channels; for presence use rtm_pusher_render_event with the
 * presence payload as data). */
int rtm_pusher_render_subscription_succeeded(char *out, size_t cap, rtm_str_t channel);
size_t rtm_pusher_subscription_succeeded_len(rtm_str_t channel);

/* {"event":"pusher:subscription_error","channel":C,"data":{"type":T,
 * "error":M,"status":N}}: how pusher-js and Laravel Echo learn that a
 * subscription was refused. type and message are NUL-terminated. */
int rtm_pusher_render_subscription_error(char *out, size_t cap, rtm_str_t channel, const char *type,
                                         const char *message, int status);
size_t rtm_pusher_subscription_error_len(rtm_str_t channel, const char *type, const char *message,
                                         int status);

/* {"event":"pusher:cache_miss","channel":C}: a cache channel has no event. */
int rtm_pusher_render_cache_miss(char *out, size_t cap, rtm_str_t channel);
size_t rtm_pusher_cache_miss_len(rtm_str_t channel);

/* {"event":"pusher:signin_success","data":{"user_data":"<U escaped>"}}:
 * user_data is the exact string the client signed in with. */
int rtm_pusher_render_signin_success(char *out, size_t cap, rtm_str_t user_data);
size_t rtm_pusher_signin_success_len(rtm_str_t user_data);

#endif
