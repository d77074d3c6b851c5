/* rtm_zcurve — the CurveZMQ security mechanism of ZMTP 3 (RFC 26 / ZMTP-CURVE),
 * both sides, as a pure state machine: command bodies in, command bodies out.
 *
 * No I/O: the caller (a ZMTP link over libuv or poll) reads frames, hands each
 * command body (the bytes after the ZMTP frame header: name length, name,
 * data) to rtm_zcurve_step during the handshake, and sends the body it writes
 * as a command frame. Once ready, every ZMTP frame travels as a MESSAGE
 * command (rtm_zcurve_encode / rtm_zcurve_decode). libsodium does the
 * crypto; what goes on the wire is byte for byte what libzmq 4.3 sends and
 * expects, so either side talks to a libzmq peer.
 *
 * Metadata (INITIATE from the client, READY from the server) is a ZMTP
 * property block (rtm_zmtp_props) built by the caller. */
#ifndef RTM_ZCURVE_H
#define RTM_ZCURVE_H

#include "rtm_str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_ZCURVE_KEY_LEN 32
/* Bytes a MESSAGE body adds to the frame it carries: name (8), nonce (8),
 * MAC (16), flags (1). */
#define RTM_ZCURVE_MSG_OVERHEAD 33
/* Room a handshake command needs in `out`, metadata excluded. */
#define RTM_ZCURVE_CMD_MAX 512

/* Flags of a frame carried in a MESSAGE (the ZMTP frame's MORE and COMMAND). */
#define RTM_ZCURVE_MORE    0x01
#define RTM_ZCURVE_COMMAND 0x02

typedef struct rtm_zcurve rtm_zcurve_t;

/* What rtm_zcurve_step returns when it does not fail. */
enum {
    RTM_ZCURVE_CONTINUE = 0, /* send *out_len bytes (if any) and wait for the next command */
    RTM_ZCURVE_READY = 1,    /* handshake done; send *out_len bytes (if any); encode/decode now */
    RTM_ZCURVE_AUTH = 2,     /* server only: INITIATE verified; judge rtm_zcurve_peer_key, then
                              * rtm_zcurve_accept (or close the connection) */
};

/* Decodes 40 characters of Z85 text into a 32-byte key. Returns 0, or
 * RTM_EINVAL when z85 is not 40 valid Z85 characters. */
int rtm_zcurve_key_z85(const char *z85, uint8_t key[RTM_ZCURVE_KEY_LEN]);

/* A client of the server whose long-term public key is server_key, with the
 * long-term pair (pub, sec); meta (copied) is sent in INITIATE. Caller owns:
 * rtm_zcurve_destroy. Out of memory aborts. */
rtm_zcurve_t *rtm_zcurve_client_new(const uint8_t server_key[RTM_ZCURVE_KEY_LEN],
                                    const uint8_t pub[RTM_ZCURVE_KEY_LEN],
                                    const uint8_t sec[RTM_ZCURVE_KEY_LEN], const uint8_t *meta,
                                    size_t meta_len);

/* A server with the long-term pair (pub, sec); meta (copied) is sent in READY. */
rtm_zcurve_t *rtm_zcurve_server_new(const uint8_t pub[RTM_ZCURVE_KEY_LEN],
                                    const uint8_t sec[RTM_ZCURVE_KEY_LEN], const uint8_t *meta,
                                    size_t meta_len);

/* Frees *c (its keys wiped) and sets *c to NULL; NULL-safe. */
void rtm_zcurve_destroy(rtm_zcurve_t **c);

/* One handshake step. in/in_len: the peer's command body, or NULL/0 for the
 * client's first step (HELLO). Writes the next command body to send into out
 * (cap bytes, at least RTM_ZCURVE_CMD_MAX + the metadata) and its length into
 * *out_len (0: nothing to send). When it returns RTM_ZCURVE_READY,
 * *peer_meta (may be NULL) is the peer's property block, opened from its box
 * and so borrowed from c (not from `in`) until c is destroyed. Returns a value
 * of the enum above, RTM_EPROTO for a command that is malformed, unexpected
 * at this point, or an ERROR from the peer, or RTM_EAUTH for a box that does
 * not open (wrong key, tampered, replayed nonce). After a failure the
 * connection must be closed. */
int rtm_zcurve_step(rtm_zcurve_t *c, const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                    size_t *out_len, rtm_str_t *peer_meta);

/* Server, after RTM_ZCURVE_AUTH: the client's long-term public key. */
const uint8_t *rtm_zcurve_peer_key(const rtm_zcurve_t *c);

/* Server, after RTM_ZCURVE_AUTH and a positive verdict: writes READY into out
 * like rtm_zcurve_step and sets *peer_meta to the client's INITIATE metadata
 * (borrowed from c until it is destroyed). Returns RTM_ZCURVE_READY. */
int rtm_zcurve_accept(rtm_zcurve_t *c, uint8_t *out, size_t cap, size_t *out_len,
                      rtm_str_t *peer_meta);

/* Ready: wraps one frame (flags RTM_ZCURVE_MORE / _COMMAND, len bytes of
 * data) into a MESSAGE command body in out, which must hold
 * len + RTM_ZCURVE_MSG_OVERHEAD bytes. Returns the body's length. */
size_t rtm_zcurve_encode(rtm_zcurve_t *c, uint8_t flags, const uint8_t *data, size_t len,
                         uint8_t *out);

/* Ready: opens a MESSAGE command body in place. On success *flags, *data and
 * *len describe the frame it carried (data points into body). Returns 0,
 * RTM_EPROTO (not a MESSAGE, too short) or RTM_EAUTH (the box does not open,
 * or its nonce is not above the last one). */
int rtm_zcurve_decode(rtm_zcurve_t *c, uint8_t *body, size_t body_len, uint8_t *flags,
                      uint8_t **data, size_t *len);

#endif
