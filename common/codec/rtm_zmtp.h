/* rtm_zmtp — ZMTP 3.0 framing (ZeroMQ RFC 23), pure: the greeting, frames,
 * commands and property blocks; no I/O.
 *
 * What a libzmq 4.x peer reads and writes on a TCP connection: a 64-byte
 * greeting naming the security mechanism, the mechanism's handshake as
 * command frames (NULL: one READY each way; CURVE: rtm_zcurve), then message
 * frames. A frame is a flags byte (MORE, LONG, COMMAND), a 1- or 8-byte
 * big-endian size and the body. Decoders never copy: frames point into the
 * caller's buffer. */
#ifndef RTM_ZMTP_H
#define RTM_ZMTP_H

#include "rtm_str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_ZMTP_GREETING_LEN 64
#define RTM_ZMTP_HEADER_MAX   9 /* flags + 8-byte size */

#define RTM_ZMTP_MORE    0x01
#define RTM_ZMTP_LONG    0x02
#define RTM_ZMTP_COMMAND 0x04

typedef enum { RTM_ZMTP_NULL, RTM_ZMTP_CURVE } rtm_zmtp_mech_t;

/* Writes our greeting: version 3.0, mechanism, as-server flag. */
void rtm_zmtp_greeting(uint8_t out[RTM_ZMTP_GREETING_LEN], rtm_zmtp_mech_t mech, bool as_server);

/* Reads a peer's greeting from the first len bytes of p. Returns
 * RTM_ZMTP_GREETING_LEN once whole, RTM_EAGAIN while incomplete (a prefix that
 * can still become one), RTM_EVERSION for a peer older than ZMTP 3, RTM_EPROTO
 * for anything else or a mechanism other than NULL and CURVE. */
int rtm_zmtp_greeting_parse(const uint8_t *p, size_t len, rtm_zmtp_mech_t *mech, bool *as_server);

typedef struct {
    uint8_t *body; /* points into the parsed buffer */
    size_t len;
    bool more;    /* another frame of the same message follows */
    bool command; /* a command frame (handshake, PING, ...), not message data */
} rtm_zmtp_frame_t;

/* Parses the frame at p (len bytes available). Returns the bytes it takes
 * (header + body) when whole, RTM_EAGAIN when incomplete, RTM_ETOOBIG when its
 * body is over max (known from the header alone), RTM_EPROTO for reserved
 * flag bits, a command with MORE or a size of 2^63 or more. */
long rtm_zmtp_frame_parse(uint8_t *p, size_t len, size_t max, rtm_zmtp_frame_t *f);

/* Writes the header of a frame with a body of len bytes. Returns its length
 * (2 or 9). */
size_t rtm_zmtp_frame_header(uint8_t out[RTM_ZMTP_HEADER_MAX], size_t len, bool more, bool command);

/* Splits a command body into its name and data (both borrowed from body).
 * Returns 0 or RTM_EPROTO. */
int rtm_zmtp_command_parse(rtm_str_t body, rtm_str_t *name, rtm_str_t *data);

/* Writes the command body `name` + data (len bytes) into out (cap bytes).
 * Returns its length, or 0 when it does not fit. */
size_t rtm_zmtp_command(uint8_t *out, size_t cap, const char *name, const void *data, size_t len);

/* Appends the property name = value (len bytes) to a property block (READY,
 * INITIATE metadata) at out + *used, cap bytes in all. Returns 0, or
 * RTM_ETOOBIG when it does not fit (nothing written). */
int rtm_zmtp_prop(uint8_t *out, size_t cap, size_t *used, const char *name, const void *value,
                  size_t len);

/* Finds property `name` (case-insensitive, as ZMTP says) in a block. Returns
 * 0 with *value borrowed from props, RTM_ENOTFOUND, or RTM_EPROTO when the
 * block is malformed. */
int rtm_zmtp_prop_find(rtm_str_t props, const char *name, rtm_str_t *value);

#endif
