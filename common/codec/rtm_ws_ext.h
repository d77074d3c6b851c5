/* rtm_ws_ext — the WebSocket extension negotiation of the handshake
 * (RFC 6455 9.1): which permessage-deflate offer (RFC 7692) the server
 * accepts, and what it answers.
 *
 * rtmesh compresses each server message on its own, so that one compressed
 * frame serves every subscriber, and inflates each client message on its own,
 * so that a connection keeps no inflate state: it always answers with
 * server_no_context_takeover and client_no_context_takeover (RFC 7692
 * 7.1.1.2 lets a server ask that of any client). Offers are taken in order;
 * one is declined when RFC 7692 7.1 says it must be (an unknown parameter, a
 * repeated one, a bad value) and when it limits the server's window below
 * the 32 KiB we compress with (server_max_window_bits under 15), since a
 * frame shared by every subscriber is compressed one way. Pure: no I/O. */
#ifndef RTM_WS_EXT_H
#define RTM_WS_EXT_H

#include "rtm_str.h"

#include <stdbool.h>

/* The Sec-WebSocket-Extensions value of the 101 response to an accepted offer. */
#define RTM_WS_EXT_DEFLATE_RESPONSE                                                                \
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

/* Whether offers (a Sec-WebSocket-Extensions value; empty when the client
 * sent none) holds a permessage-deflate offer we accept. A value that is not
 * valid extension-list syntax declines every offer in it (the handshake goes
 * on without compression). */
bool rtm_ws_ext_accept_deflate(rtm_str_t offers);

#endif
