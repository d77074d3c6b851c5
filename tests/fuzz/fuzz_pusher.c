/* libFuzzer target for rtm_pusher: any frame either parses or is rejected
 * with RTM_EPROTO / RTM_EINVAL, leak-free; a parsed event re-rendered as a
 * channel event parses back to the same event, channel and data, and the
 * render's length matches its _len companion. */
#include "rtm_error.h"
#include "rtm_pusher.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_check_round_trip(const rtm_pusher_msg_t *m)
{
    rtm_str_t d = json_is_string(m->data)
                      ? rtm_str(json_string_value(m->data), json_string_length(m->data))
                      : rtm_str(NULL, 0);
    size_t need = rtm_pusher_event_len(m->event, m->channel, d);
    char *out = malloc(need);
    if (rtm_pusher_render_event(out, need, m->event, m->channel, d) != (int)need)
        abort();
    if (need > 0 && rtm_pusher_render_event(out, need - 1, m->event, m->channel, d) != RTM_ETOOBIG)
        abort();
    rtm_pusher_msg_t back;
    if (rtm_pusher_parse(out, need, &back) != 0)
        abort();
    json_t *bd = back.data;
    if (!rtm_str_eq(back.event, m->event) || !rtm_str_eq(back.channel, m->channel) ||
        !json_is_string(bd) ||
        !rtm_str_eq(rtm_str(json_string_value(bd), json_string_length(bd)), d))
        abort();
    rtm_pusher_msg_clear(&back);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtm_pusher_msg_t m;
    int rc = rtm_pusher_parse((const char *)data, size, &m);
    if (rc != 0) {
        if ((rc != RTM_EPROTO && rc != RTM_EINVAL) || m.root)
            abort();
        return 0;
    }
    if (!m.event.p)
        abort();
    /* Events re-rendered as pusher:subscribe etc. would be re-validated as
     * control messages with string data; only round-trip the others. */
    if (!rtm_str_has_prefix(m.event, "pusher:"))
        s_check_round_trip(&m);
    (void)rtm_socket_id_valid(m.sub_channel);
    rtm_pusher_msg_clear(&m);
    return 0;
}
