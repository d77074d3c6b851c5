/* rtm_zmtp — see rtm_zmtp.h.
 *
 * We greet as ZMTP 3.0, not 3.1: every libzmq since 4.0 speaks it, and a 3.0
 * peer sends subscriptions as message frames (0x01/0x00 + topic), so a
 * publisher of ours need only read those. A 3.1 peer may still send PING,
 * SUBSCRIBE and CANCEL commands; the link answers what it knows. Sizes of
 * 2^63 and more and reserved flag bits are malformed, never truncated. */
#include "rtm_zmtp.h"

#include "rtm_error.h"

#include <ctype.h>
#include <string.h>

#define S_MECH_AT   12
#define S_MECH_LEN  20
#define S_SERVER_AT 32

static const char *const s_mechs[] = {[RTM_ZMTP_NULL] = "NULL", [RTM_ZMTP_CURVE] = "CURVE"};

void rtm_zmtp_greeting(uint8_t out[RTM_ZMTP_GREETING_LEN], rtm_zmtp_mech_t mech, bool as_server)
{
    memset(out, 0, RTM_ZMTP_GREETING_LEN);
    out[0] = 0xFF;
    out[9] = 0x7F;
    out[10] = 3; /* version 3.0 */
    out[11] = 0;
    memcpy(out + S_MECH_AT, s_mechs[mech], strlen(s_mechs[mech]));
    out[S_SERVER_AT] = as_server;
}

int rtm_zmtp_greeting_parse(const uint8_t *p, size_t len, rtm_zmtp_mech_t *mech, bool *as_server)
{
    if (len >= 1 && p[0] != 0xFF)
        return RTM_EPROTO;
    if (len >= 10 && !(p[9] & 0x01))
        return RTM_EPROTO; /* ZMTP 1.0 without a revision */
    if (len >= 11 && p[10] < 3)
        return RTM_EVERSION;
    if (len < RTM_ZMTP_GREETING_LEN)
        return RTM_EAGAIN;
    for (size_t i = 0; i < sizeof s_mechs / sizeof s_mechs[0]; i++) {
        char padded[S_MECH_LEN] = {0}; /* the name, NUL-padded to the field */
        memcpy(padded, s_mechs[i], strlen(s_mechs[i]));
        if (memcmp(p + S_MECH_AT, padded, S_MECH_LEN) == 0) {
            *mech = (rtm_zmtp_mech_t)i;
            *as_server = p[S_SERVER_AT] == 1;
            return RTM_ZMTP_GREETING_LEN;
        }
    }
    return RTM_EPROTO;
}

long rtm_zmtp_frame_parse(uint8_t *p, size_t len, size_t max, rtm_zmtp_frame_t *f)
{
    if (len < 1)
        return RTM_EAGAIN;
    uint8_t flags = p[0];
    if (flags & ~(RTM_ZMTP_MORE | RTM_ZMTP_LONG | RTM_ZMTP_COMMAND))
        return RTM_EPROTO;
    if ((flags & RTM_ZMTP_COMMAND) && (flags & RTM_ZMTP_MORE))
        return RTM_EPROTO;
    size_t header = flags & RTM_ZMTP_LONG ? 9 : 2;
    if (len < header)
        return RTM_EAGAIN;
    uint64_t size = p[1];
    if (flags & RTM_ZMTP_LONG) {
        size = 0;
        for (int i = 1; i <= 8; i++)
            size = size << 8 | p[i];
    }
    if (size >> 63)
        return RTM_EPROTO;
    if (size > max)
        return RTM_ETOOBIG;
    if (len - header < size)
        return RTM_EAGAIN;
    *f = (rtm_zmtp_frame_t){p + header, (size_t)size, flags & RTM_ZMTP_MORE,
                            flags & RTM_ZMTP_COMMAND};
    return (long)(header + size);
}

size_t rtm_zmtp_frame_header(uint8_t out[RTM_ZMTP_HEADER_MAX], size_t len, bool more, bool command)
{
    out[0] = (uint8_t)((more ? RTM_ZMTP_MORE : 0) | (command ? RTM_ZMTP_COMMAND : 0));
    if (len <= 255) {
        out[1] = (uint8_t)len;
        return 2;
    }
    out[0] |= RTM_ZMTP_LONG;
    for (int i = 8; i >= 1; i--, len >>= 8)
        out[i] = (uint8_t)(len & 0xFF);
    return 9;
}

int rtm_zmtp_command_parse(rtm_str_t body, rtm_str_t *name, rtm_str_t *data)
{
    if (body.len < 1 || (size_t)(uint8_t)body.p[0] + 1 > body.len || body.p[0] == 0)
        return RTM_EPROTO;
    size_t n = (uint8_t)body.p[0];
    *name = rtm_str(body.p + 1, n);
    *data = rtm_str(body.p + 1 + n, body.len - 1 - n);
    return 0;
}

size_t rtm_zmtp_command(uint8_t *out, size_t cap, const char *name, const void *data, size_t len)
{
    size_t n = strlen(name);
    if (n == 0 || n > 255 || 1 + n + len > cap)
        return 0;
    out[0] = (uint8_t)n;
    memcpy(out + 1, name, n);
    if (len)
        memcpy(out + 1 + n, data, len);
    return 1 + n + len;
}

int rtm_zmtp_prop(uint8_t *out, size_t cap, size_t *used, const char *name, const void *value,
                  size_t len)
{
    size_t n = strlen(name);
    if (n == 0 || n > 255 || len > UINT32_MAX || *used + 1 + n + 4 + len > cap)
        return RTM_ETOOBIG;
    uint8_t *q = out + *used;
    *q++ = (uint8_t)n;
    memcpy(q, name, n);
    q += n;
    for (int i = 3; i >= 0; i--)
        *q++ = (uint8_t)(len >> (8 * i));
    if (len)
        memcpy(q, value, len);
    *used += 1 + n + 4 + len;
    return 0;
}

static bool s_name_eq(rtm_str_t a, const char *b)
{
    if (a.len != strlen(b))
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (tolower((unsigned char)a.p[i]) != tolower((unsigned char)b[i]))
            return false;
    return true;
}

int rtm_zmtp_prop_find(rtm_str_t props, const char *name, rtm_str_t *value)
{
    const uint8_t *p = (const uint8_t *)props.p, *end = p + props.len;
    int rc = RTM_ENOTFOUND;
    while (p < end) {
        size_t n = *p++;
        if (n == 0 || (size_t)(end - p) < n + 4)
            return RTM_EPROTO;
        rtm_str_t key = rtm_str((const char *)p, n);
        p += n;
        size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        p += 4;
        if ((size_t)(end - p) < len)
            return RTM_EPROTO;
        if (rc == RTM_ENOTFOUND && s_name_eq(key, name)) {
            *value = rtm_str((const char *)p, len);
            rc = 0;
        }
        p += len;
    }
    return rc;
}
