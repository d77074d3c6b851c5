/* rtm_deflate — whole-message DEFLATE as permessage-deflate (RFC 7692)
 * carries it, with no context taken over between messages.
 *
 * Compression turns one message payload into the bytes of one compressed
 * WebSocket message (raw DEFLATE, sync-flushed, its final 00 00 FF FF
 * removed); inflation does the reverse with a hard limit on the inflated
 * size, so a small frame cannot make us allocate or hold much (a
 * compression bomb). Each message is compressed and inflated on its own, so
 * one rtm_deflate_t serves every connection of a thread. Pure: no I/O, the
 * caller owns every buffer. Not thread-safe: one per thread. */
#ifndef RTM_DEFLATE_H
#define RTM_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct rtm_deflate rtm_deflate_t;

/* Payloads shorter than this are sent as they are: below it deflate saves
 * too little (under ~10 %, and under 64 bytes it grows the message) to be
 * worth the receiver's inflate (docs/operations.md, "Compression"). */
#define RTM_DEFLATE_MIN_LEN 128

/* A compressor and an inflater (about 300 KiB, zlib's). Caller owns;
 * aborts on OOM. */
rtm_deflate_t *rtm_deflate_new(void);

/* Frees z and sets *z to NULL. Safe on NULL. */
void rtm_deflate_destroy(rtm_deflate_t **z);

/* Compresses in[0..len). Returns the compressed length and sets *out to the
 * compressed bytes, borrowed from z until its next call (so the caller can
 * size its own buffer exactly, and keep the plain message when the
 * compressed one is not smaller). */
size_t rtm_deflate_compress(rtm_deflate_t *z, const uint8_t *in, size_t len, const uint8_t **out);

/* Inflates the compressed message in[0..len) into out (limit bytes, caller
 * memory, limit <= INT_MAX). Returns the inflated length (<= limit), RTM_ETOOBIG as soon as
 * the message would inflate to more than limit bytes (the rest is not
 * inflated), or RTM_EPROTO when in is not a valid compressed message
 * (corrupt data, a block that ends the stream before the input does, or
 * input that stops inside a block). */
int rtm_deflate_inflate(rtm_deflate_t *z, const uint8_t *in, size_t len, uint8_t *out,
                        size_t limit);

#endif
