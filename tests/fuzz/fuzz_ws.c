/* libFuzzer target for rtm_ws: parse any bytes as a client frame. A refused or
 * incomplete frame leaves the buffer alone; an accepted one accounts for its
 * length, re-masks to the input, and is incomplete one byte short. The UTF-8
 * validator is checked against a plain code-point decoder, and any close
 * payload the parser accepts re-encodes to the same code. */
#include "rtm_error.h"
#include "rtm_ws.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_MAX_PAYLOAD (1u << 20)

/* Reference: decode each code point, then check it is in range, not a
 * surrogate and encoded in the fewest bytes. */
static bool s_utf8_reference(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t n = c < 0x80           ? 1
                   : (c >> 5) == 0x6  ? 2
                   : (c >> 4) == 0xE  ? 3
                   : (c >> 3) == 0x1E ? 4
                                      : 0;
        if (n == 0 || i + n > len)
            return false;
        uint32_t cp = n == 1 ? c : (uint32_t)(c & (0x7F >> n));
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if ((n > 1 && cp < min[n]) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n;
    }
    return true;
}

static void s_check_frame(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    rtm_ws_frame_t f;
    int rc = rtm_ws_parse(buf, size, S_MAX_PAYLOAD, &f);
    if (rc <= 0) {
        if ((rc != RTM_EAGAIN && rc != RTM_EPROTO && rc != RTM_ETOOBIG) ||
            (size && memcmp(buf, data, size) != 0))
            abort();
        free(buf);
        return;
    }
    if ((size_t)rc > size || f.header_len + f.payload_len != (size_t)rc ||
        f.payload_len > S_MAX_PAYLOAD || memcmp(buf, data, f.header_len) != 0 ||
        memcmp(buf + rc, data + rc, size - (size_t)rc) != 0)
        abort();
    for (size_t i = 0; i < f.payload_len; i++)
        if ((buf[f.header_len + i] ^ f.mask[i % 4]) != data[f.header_len + i])
            abort();
    memcpy(buf, data, size);
    if (rtm_ws_parse(buf, (size_t)rc - 1, S_MAX_PAYLOAD, &f) != RTM_EAGAIN)
        abort();
    free(buf);
}

static void s_check_close(const uint8_t *data, size_t size)
{
    int code = rtm_ws_parse_close(data, size);
    if (code < 0 || code == RTM_WS_CLOSE_NO_STATUS || size - 2 > RTM_WS_MAX_CONTROL - 2 ||
        memchr(data + 2, 0, size - 2))
        return;
    char reason[RTM_WS_MAX_CONTROL];
    memcpy(reason, data + 2, size - 2);
    reason[size - 2] = '\0';
    uint8_t out[RTM_WS_CLOSE_FRAME_SIZE];
    size_t n = rtm_ws_encode_close(out, sizeof out, (uint16_t)code, reason);
    if (n != 2 + size || memcmp(out + 2, data, size) != 0 ||
        rtm_ws_parse_close(out + 2, n - 2) != code)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_check_frame(data, size);
    if (rtm_ws_utf8_valid(data, size) != s_utf8_reference(data, size))
        abort();
    s_check_close(data, size);
    return 0;
}
