/* rtm_deflate — see rtm_deflate.h.
 *
 * zlib rather than libdeflate: both took the same time for a 2 KB and a
 * 200 B Pusher event compressed whole (docs/operations.md, "Compression"),
 * and zlib's sync flush ends a message exactly as RFC 7692 7.2.1 asks (an
 * empty stored block, whose 00 00 FF FF we drop), while libdeflate can only
 * end the stream with a final block, which some receivers take as the end
 * of their inflate stream. zlib also inflates into a bounded buffer and
 * tells where it stopped, which the limit needs.
 *
 * Level 1: for whole messages of a few KB it compresses within 5 % of
 * level 6 in about 60 % of the time. The compressor writes into a buffer of
 * its own, grown to deflateBound, so the caller can allocate exactly what
 * the compressed message needs.
 *
 * Inflation follows RFC 7692 7.2.2: the message, then 00 00 FF FF, into the
 * caller's buffer. A message is valid when all of it was inflated and
 * inflate stopped between blocks (the appended empty stored block ends one).
 * A block with BFINAL set (RFC 7692 7.2.3.4) ends zlib's stream: the
 * inflater is reset and continues with the bytes after it, and a message
 * that ends with such a block is whole without the appended bytes. */
#include "rtm_deflate.h"

#include "rtm_error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <zlib.h>

#define S_LEVEL       1
#define S_WINDOW_BITS (-15) /* raw DEFLATE, 32 KiB window */
#define S_MEM_LEVEL   8

static const uint8_t s_tail[4] = {0x00, 0x00, 0xFF, 0xFF};

struct rtm_deflate {
    z_stream def; /* compressor, reset before every message */
    z_stream inf; /* inflater, reset before every message */
    uint8_t *buf; /* compressor output */
    size_t cap;   /* bytes of buf */
};

rtm_deflate_t *rtm_deflate_new(void)
{
    rtm_deflate_t *z = calloc(1, sizeof *z);
    if (!z ||
        deflateInit2(&z->def, S_LEVEL, Z_DEFLATED, S_WINDOW_BITS, S_MEM_LEVEL,
                     Z_DEFAULT_STRATEGY) != Z_OK ||
        inflateInit2(&z->inf, S_WINDOW_BITS) != Z_OK)
        abort();
    return z;
}

void rtm_deflate_destroy(rtm_deflate_t **z)
{
    if (!*z)
        return;
    deflateEnd(&(*z)->def);
    inflateEnd(&(*z)->inf);
    free((*z)->buf);
    free(*z);
    *z = NULL;
}

size_t rtm_deflate_compress(rtm_deflate_t *z, const uint8_t *in, size_t len, const uint8_t **out)
{
    size_t need = deflateBound(&z->def, (uLong)len) + sizeof s_tail;
    if (need > z->cap) {
        free(z->buf);
        z->buf = malloc(need);
        if (!z->buf)
            abort();
        z->cap = need;
    }
    deflateReset(&z->def);
    z->def.next_in = (Bytef *)in;
    z->def.avail_in = (uInt)len;
    z->def.next_out = z->buf;
    z->def.avail_out = (uInt)z->cap;
    int rc = deflate(&z->def, Z_SYNC_FLUSH);
    if (rc != Z_OK || z->def.avail_in != 0)
        abort(); /* deflateBound guarantees the room: our own bug */
    *out = z->buf;
    return z->cap - z->def.avail_out - sizeof s_tail; /* a sync flush ends with s_tail */
}

/* Inflates in[0..len) into the remaining output, a block at a time
 * (Z_BLOCK), so that zlib's state tells afterwards whether the input ended
 * between blocks. Returns 1 when it ended just after a final block, 0 when
 * anywhere else, or a negative code. */
static int s_inflate(z_stream *s, const uint8_t *in, size_t len)
{
    s->next_in = (Bytef *)in;
    s->avail_in = (uInt)len;
    while (s->avail_in > 0) {
        int rc = inflate(s, Z_BLOCK);
        if (rc == Z_STREAM_END) { /* a final block: what follows starts anew */
            if (s->avail_in == 0)
                return 1;
            inflateReset(s);
            continue;
        }
        if (rc == Z_MEM_ERROR)
            abort();
        if (rc == Z_BUF_ERROR) /* no progress: out of room, or corrupt */
            return s->avail_out == 0 ? RTM_ETOOBIG : RTM_EPROTO;
        if (rc != Z_OK)
            return RTM_EPROTO;
    }
    return 0;
}

int rtm_deflate_inflate(rtm_deflate_t *z, const uint8_t *in, size_t len, uint8_t *out, size_t limit)
{
    z_stream *s = &z->inf;
    inflateReset(s);
    s->next_out = out;
    s->avail_out = (uInt)limit;
    int rc = s_inflate(s, in, len);
    bool at_end = rc == 1; /* ended by a final block: the tail would follow the stream */
    if (rc == 0)
        rc = s_inflate(s, s_tail, sizeof s_tail);
    if (rc < 0)
        return rc;
    /* data_type 128: stopped between blocks, not inside one (a cut message) */
    bool between = at_end || (s->data_type & 128);
    if (s->avail_out == 0 && !at_end) { /* exactly at the limit: is there more? */
        uint8_t more;
        s->next_out = &more;
        s->avail_out = 1;
        inflate(s, Z_BLOCK);
        if (s->avail_out == 0)
            return RTM_ETOOBIG;
        s->avail_out = 0;
    }
    if (!between)
        return RTM_EPROTO;
    return (int)(limit - s->avail_out);
}
