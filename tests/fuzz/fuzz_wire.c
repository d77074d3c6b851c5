/* libFuzzer target for rtm_wire: decode any bytes; whatever decodes must
 * re-encode to a body that decodes to the same message (the encoder and the
 * decoder agree), and the id peek and topic split must survive any input. */
#include "rtm_wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_same_str(rtm_str_t a, rtm_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void s_check_round_trip(const rtm_wire_msg_t *m)
{
    int n = rtm_wire_encoded_len(m);
    if (n < 0)
        abort(); /* everything the decoder accepts must be encodable */
    char *buf = malloc((size_t)n);
    if (!buf || rtm_wire_encode(m, buf, (size_t)n) != n)
        abort();
    rtm_wire_msg_t again;
    if (rtm_wire_decode(buf, (size_t)n, &again) != 0 || again.type != m->type)
        abort();
    int same = 1;
    switch (m->type) {
    case RTM_WIRE_PUBLISH:
        same = again.id == m->id && s_same_str(again.app, m->app) &&
               s_same_str(again.name, m->name) && s_same_str(again.data, m->data) &&
               s_same_str(again.exclude, m->exclude) && again.n_channels == m->n_channels;
        for (uint32_t i = 0; same && i < m->n_channels; i++)
            same = s_same_str(again.channels[i], m->channels[i]);
        break;
    case RTM_WIRE_ACK: same = again.id == m->id && again.status == m->status; break;
    case RTM_WIRE_NODE_HB: same = s_same_str(again.node, m->node); break;
    case RTM_WIRE_SHARD_HB: same = again.shard == m->shard && again.epoch == m->epoch; break;
    }
    if (!same)
        abort();
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    rtm_wire_msg_t m;
    if (rtm_wire_decode(buf, size, &m) == 0)
        s_check_round_trip(&m);
    uint64_t id;
    (void)rtm_wire_peek_id(buf, size, &id);
    rtm_str_t app, channel;
    if (rtm_wire_topic_split(rtm_str(buf, size), &app, &channel) == 0) {
        char topic[512];
        int n = rtm_wire_topic(topic, sizeof topic, app, channel);
        if (n > 0 && ((size_t)n != size || memcmp(topic, buf, size) != 0))
            abort(); /* split and build are inverses */
    }
    return 0;
}
