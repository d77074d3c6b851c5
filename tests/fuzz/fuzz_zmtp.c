/* libFuzzer target for rtm_zmtp: read any bytes as a peer's stream — a
 * greeting, then frames — as the links do. A frame the parser accepts must
 * lie inside the input and re-encode to the same header; a command frame's
 * body must split or be refused, and a property block must be walked to its
 * end or refused, without reading past it. */
#include "rtm_error.h"
#include "rtm_zmtp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_MAX_FRAME (1u << 20)

static void s_command(const rtm_zmtp_frame_t *f)
{
    rtm_str_t name, props, value;
    if (rtm_zmtp_command_parse(rtm_str((const char *)f->body, f->len), &name, &props) < 0)
        return;
    if (name.len == 0 || name.p + name.len + props.len != (const char *)f->body + f->len)
        abort();
    int rc = rtm_zmtp_prop_find(props, "Socket-Type", &value);
    if (rc == 0 && (value.p < props.p || value.p + value.len > props.p + props.len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1); /* exact size: ASan sees any overread */
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    rtm_zmtp_mech_t mech;
    bool server;
    int rc = rtm_zmtp_greeting_parse(buf, size, &mech, &server);
    size_t at = rc == RTM_ZMTP_GREETING_LEN ? RTM_ZMTP_GREETING_LEN : 0;
    for (;;) {
        rtm_zmtp_frame_t f;
        long n = rtm_zmtp_frame_parse(buf + at, size - at, S_MAX_FRAME, &f);
        if (n < 0)
            break;
        if ((size_t)n > size - at || f.body + f.len != buf + at + (size_t)n)
            abort();
        uint8_t head[RTM_ZMTP_HEADER_MAX];
        size_t h = rtm_zmtp_frame_header(head, f.len, f.more, f.command);
        size_t parsed = (size_t)(f.body - (buf + at));
        if (h != parsed && !(parsed == 9 && f.len <= 255))
            abort(); /* only a short size may come in either form */
        if (head[0] != (buf[at] & ~RTM_ZMTP_LONG) && head[0] != buf[at])
            abort();
        if (f.command)
            s_command(&f);
        at += (size_t)n;
    }
    free(buf);
    return 0;
}
