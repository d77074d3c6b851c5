/* rtm_ws — WebSocket (RFC 6455) framing, server side.
 *
 * A pure frame codec: the parser takes the bytes of one client frame and
 * validates and unmasks it in place; the encoders write unmasked server frame
 * headers into caller memory, so a broadcast frame can be encoded once and its
 * bytes shared by every connection. Message reassembly (continuation frames),
 * ping/pong and the closing handshake belong to the connection layer above. */
#ifndef RTM_WS_H
#define RTM_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_WS_MAX_HEADER       14                       /* max header bytes incl. mask */
#define RTM_WS_MAX_CONTROL      125                      /* max control frame payload */
#define RTM_WS_CLOSE_FRAME_SIZE (2 + RTM_WS_MAX_CONTROL) /* largest close frame */

/* RFC 6455 close codes rtmesh uses (Pusher's own are rtm_pusher_code_t). */
enum {
    RTM_WS_CLOSE_NORMAL = 1000,
    RTM_WS_CLOSE_PROTOCOL = 1002,    /* a protocol violation */
    RTM_WS_CLOSE_UNSUPPORTED = 1003, /* a data type we do not accept (binary) */
    RTM_WS_CLOSE_NO_STATUS = 1005,   /* received only: a close frame without a code */
    RTM_WS_CLOSE_BAD_DATA = 1007,    /* text that is not UTF-8 */
    RTM_WS_CLOSE_TOO_BIG = 1009,     /* a frame or message over the limit */
};

typedef enum {
    RTM_WS_CONT = 0,
    RTM_WS_TEXT = 1,
    RTM_WS_BINARY = 2,
    RTM_WS_CLOSE = 8,
    RTM_WS_PING = 9,
    RTM_WS_PONG = 10,
} rtm_ws_opcode_t;

typedef struct {
    bool fin;           /* final fragment of the message */
    bool compressed;    /* RSV1: the first frame of a compressed message (RFC 7692) */
    uint8_t opcode;     /* an rtm_ws_opcode_t value */
    size_t header_len;  /* bytes before the payload: 6, 8 or 14 for a client frame */
    size_t payload_len; /* payload bytes, at buf + header_len */
    uint8_t mask[4];    /* the masking key the payload was unmasked with */
} rtm_ws_frame_t;

/* Parses one client frame from the start of buf (len bytes; bytes after the
 * frame are left alone).
 *
 * Returns the total frame bytes (header + payload, > 0) when the whole frame is
 * in buf: *f is filled and the payload, at buf + f->header_len, has been
 * unmasked IN PLACE (the caller keeps ownership of buf; the payload stays in it).
 * RTM_EAGAIN: buf holds less than a whole frame; neither buf nor *f is modified.
 * RSV1 is reported (f->compressed) on the first frame of a data message;
 * whether the connection negotiated compression is the caller's to judge.
 * RTM_EPROTO: unmasked frame, RSV2 or RSV3 set, RSV1 on a control or
 * continuation frame, reserved opcode, control frame
 * with payload > 125 or without FIN, non-minimal length encoding, or 64-bit
 * length with the top bit set. Reported as soon as the bytes that show it are
 * in buf.
 * RTM_ETOOBIG: payload_len > max_payload (or the frame would not fit an int),
 * reported as soon as the header is complete, before the payload arrives.
 * On any error *f and buf are untouched. */
int rtm_ws_parse(uint8_t *buf, size_t len, size_t max_payload, rtm_ws_frame_t *f);

/* Writes an unmasked server frame header with FIN set for a payload of
 * payload_len bytes into out (caller memory, >= RTM_WS_MAX_HEADER bytes).
 * Returns the header length: 2 (payload <= 125), 4 (<= 65535) or 10. */
size_t rtm_ws_encode_header(uint8_t *out, rtm_ws_opcode_t op, size_t payload_len);

/* The same for the first (and only) frame of a compressed text message:
 * RSV1 set (RFC 7692 6). */
size_t rtm_ws_encode_compressed_header(uint8_t *out, size_t payload_len);

/* Writes a whole close frame into out (cap bytes, cap >= 4; cap >=
 * RTM_WS_CLOSE_FRAME_SIZE always fits): header, 2-byte big-endian code, then
 * reason (NUL-terminated, may be NULL) truncated at a UTF-8 character boundary
 * so the payload fits both 125 bytes and cap. code RTM_WS_CLOSE_NO_STATUS
 * (1005, what rtm_ws_parse_close returns for an empty close) writes a close
 * frame with an empty payload, as 1005 must never be sent. Returns the frame
 * length. */
size_t rtm_ws_encode_close(uint8_t *out, size_t cap, uint16_t code, const char *reason);

/* Validates the (unmasked) payload of a close frame. Returns the status code
 * (1000..4999), RTM_WS_CLOSE_NO_STATUS (1005) when the payload is empty, or
 * RTM_EPROTO for a 1-byte payload, a code that may not appear on the wire
 * (RFC 6455 7.4: allowed are 1000-1003, 1007-1014, 3000-4999) or a reason
 * that is not valid UTF-8. */
int rtm_ws_parse_close(const uint8_t *payload, size_t len);

/* Strict UTF-8 validation of len bytes at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no truncated sequence at the end).
 * A whole message is validated at once: a character split across the frames
 * of a fragmented message must be validated after reassembly. */
bool rtm_ws_utf8_valid(const uint8_t *s, size_t len);

#endif
