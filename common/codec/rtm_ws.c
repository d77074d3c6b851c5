/* rtm_ws — see rtm_ws.h.
 *
 * We frame WebSocket ourselves instead of using wslay: wslay's event API copies
 * every queued message per connection and keeps per-connection buffers, while
 * the edge wants one encoded frame shared by all subscribers and no buffer at
 * all for an idle connection. Framing is small enough to own.
 *
 * The parser is stateless: it looks at the buffer from the start on every call
 * and writes nothing until the whole frame is present, so a caller that gets
 * RTM_EAGAIN just appends bytes and calls again. Protocol errors are reported
 * from the first bytes that prove them (most live in the first two bytes), and
 * an oversized payload as soon as the length field is readable, so a peer
 * cannot make us buffer a frame we will refuse anyway. Unmasking XORs eight
 * bytes at a time through memcpy (alignment- and aliasing-safe; compilers emit
 * plain loads and stores). */
#include "rtm_ws.h"

#include "rtm_error.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

#define S_FIN      0x80u
#define S_RSV1     0x40u
#define S_RSV23    0x30u
#define S_OPCODE   0x0Fu
#define S_MASK     0x80u
#define S_LEN7     0x7Fu
#define S_LEN16    126u
#define S_LEN64    127u
#define S_MASK_LEN 4u

static bool s_opcode_valid(uint8_t op)
{
    switch (op) {
    case RTM_WS_CONT:
    case RTM_WS_TEXT:
    case RTM_WS_BINARY:
    case RTM_WS_CLOSE:
    case RTM_WS_PING:
    case RTM_WS_PONG: return true;
    default: return false;
    }
}

/* Checks the first two bytes; 0 when they are acceptable. */
static int s_check_start(uint8_t b0, uint8_t b1)
{
    uint8_t op = b0 & S_OPCODE;
    if ((b0 & S_RSV23) || !s_opcode_valid(op) || !(b1 & S_MASK))
        return RTM_EPROTO;
    if ((b0 & S_RSV1) && (op == RTM_WS_CONT || (op & 0x8u)))
        return RTM_EPROTO; /* RFC 7692 6: only a message's first frame says it */
    if ((op & 0x8u) && (!(b0 & S_FIN) || (b1 & S_LEN7) > RTM_WS_MAX_CONTROL))
        return RTM_EPROTO;
    return 0;
}

/* Reads the extended payload length at p (2 or 8 bytes, big-endian) and
 * rejects non-minimal encodings and a 64-bit length with the top bit set. */
static int s_read_ext_len(const uint8_t *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    if (n == 2 && v <= RTM_WS_MAX_CONTROL)
        return RTM_EPROTO;
    if (n == 8 && (v <= 0xFFFFu || (v >> 63)))
        return RTM_EPROTO;
    *out = v;
    return 0;
}

static void s_unmask(uint8_t *p, size_t n, const uint8_t mask[4])
{
    uint8_t m8[8];
    memcpy(m8, mask, 4);
    memcpy(m8 + 4, mask, 4);
    uint64_t m;
    memcpy(&m, m8, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= m;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= mask[i & 3];
}

int rtm_ws_parse(uint8_t *buf, size_t len, size_t max_payload, rtm_ws_frame_t *f)
{
    if (len < 2)
        return RTM_EAGAIN;
    int rc = s_check_start(buf[0], buf[1]);
    if (rc < 0)
        return rc;
    uint64_t payload = buf[1] & S_LEN7;
    size_t ext = payload == S_LEN16 ? 2 : payload == S_LEN64 ? 8 : 0;
    size_t header = 2 + ext + S_MASK_LEN;
    if (len < 2 + ext)
        return RTM_EAGAIN;
    if (ext && (rc = s_read_ext_len(buf + 2, ext, &payload)) < 0)
        return rc;
    if (payload > max_payload || payload > (uint64_t)INT_MAX - header)
        return RTM_ETOOBIG;
    if (len < header || len - header < payload)
        return RTM_EAGAIN;

    f->fin = buf[0] & S_FIN;
    f->compressed = buf[0] & S_RSV1;
    f->opcode = buf[0] & S_OPCODE;
    f->header_len = header;
    f->payload_len = (size_t)payload;
    memcpy(f->mask, buf + header - S_MASK_LEN, S_MASK_LEN);
    s_unmask(buf + header, f->payload_len, f->mask);
    return (int)(header + f->payload_len);
}

size_t rtm_ws_encode_header(uint8_t *out, rtm_ws_opcode_t op, size_t payload_len)
{
    out[0] = (uint8_t)(S_FIN | ((unsigned)op & S_OPCODE));
    if (payload_len <= RTM_WS_MAX_CONTROL) {
        out[1] = (uint8_t)payload_len;
        return 2;
    }
    size_t ext = payload_len <= 0xFFFFu ? 2 : 8;
    out[1] = ext == 2 ? S_LEN16 : S_LEN64;
    uint64_t v = payload_len;
    for (size_t i = ext; i > 0; i--) {
        out[1 + i] = (uint8_t)v;
        v >>= 8;
    }
    return 2 + ext;
}

size_t rtm_ws_encode_compressed_header(uint8_t *out, size_t payload_len)
{
    size_t n = rtm_ws_encode_header(out, RTM_WS_TEXT, payload_len);
    out[0] |= S_RSV1;
    return n;
}

/* Longest prefix of s, at most max bytes, that does not end inside a UTF-8
 * sequence (the reason itself is the caller's; we only avoid cutting it). */
static size_t s_utf8_prefix(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((uint8_t)s[n] & 0xC0u) == 0x80u)
        n--;
    return n;
}

size_t rtm_ws_encode_close(uint8_t *out, size_t cap, uint16_t code, const char *reason)
{
    assert(cap >= 4);
    if (code == RTM_WS_CLOSE_NO_STATUS)
        return rtm_ws_encode_header(out, RTM_WS_CLOSE, 0);
    size_t room = cap - 4 < RTM_WS_MAX_CONTROL - 2 ? cap - 4 : RTM_WS_MAX_CONTROL - 2;
    size_t rlen = reason ? s_utf8_prefix(reason, room) : 0;
    size_t h = rtm_ws_encode_header(out, RTM_WS_CLOSE, 2 + rlen);
    out[h] = (uint8_t)(code >> 8);
    out[h + 1] = (uint8_t)code;
    if (rlen)
        memcpy(out + h + 2, reason, rlen);
    return h + 2 + rlen;
}

static bool s_close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

int rtm_ws_parse_close(const uint8_t *payload, size_t len)
{
    if (len == 0)
        return RTM_WS_CLOSE_NO_STATUS;
    if (len == 1)
        return RTM_EPROTO;
    unsigned code = (unsigned)payload[0] << 8 | payload[1];
    if (!s_close_code_valid(code) || !rtm_ws_utf8_valid(payload + 2, len - 2))
        return RTM_EPROTO;
    return (int)code;
}

/* Length of the valid UTF-8 sequence starting at s[0] (a non-ASCII lead byte),
 * or 0 when it is invalid or truncated. Ranges are RFC 3629 section 4. */
static size_t s_utf8_seq(const uint8_t *s, size_t avail)
{
    uint8_t c = s[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0u) != 0x80u)
            return 0;
    return n;
}

bool rtm_ws_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080u)) {
                i += 8;
                continue;
            }
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = s_utf8_seq(s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}
