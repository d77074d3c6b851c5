/* rtm_frame — see frame.h. Only the payload and the compressed twin need code of their own. */
#include "frame.h"

/* Where the payload of a server text frame starts: after a header of 2, 4 or
 * 10 bytes, as its length field says (server frames carry no mask). */
static size_t s_header_len(const rtm_frame_t *f)
{
    uint8_t len7 = f->data[1] & 0x7Fu;
    return len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
}

rtm_str_t rtm_frame_payload(const rtm_frame_t *f)
{
    size_t hdr = s_header_len(f);
    return rtm_str((const char *)f->data + hdr, f->len - hdr);
}

rtm_frame_t *rtm_frame_deflate(rtm_deflate_t *z, const rtm_frame_t *plain)
{
    size_t hdr = s_header_len(plain), len = plain->len - hdr;
    if (len < RTM_DEFLATE_MIN_LEN)
        return NULL;
    const uint8_t *packed;
    size_t n = rtm_deflate_compress(z, plain->data + hdr, len, &packed);
    if (n >= len)
        return NULL;
    rtm_frame_t *f = rtm_frame_new(RTM_WS_MAX_HEADER + n);
    size_t h = rtm_ws_encode_compressed_header(f->data, n);
    memcpy(f->data + h, packed, n);
    f->len = (uint32_t)(h + n);
    return f;
}
