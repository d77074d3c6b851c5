/* egress — see egress.h.
 *
 * Only the first frame of a message can be refused: XPUB checks the
 * high-water mark per whole message, and a pipe counts a message only once
 * its last frame is written, so once the first frame is accepted the rest are
 * too — sending them without DONTWAIT never waits, and a message is never
 * left half-sent. Bodies are encoded straight into the zmq_msg_t that is
 * sent, at exactly rtm_wire_encoded_len bytes. */
#include "egress.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void rtm_egress_event(rtm_egress_t *eg, rtm_str_t topic, rtm_str_t exclude, zmq_msg_t *json)
{
    if (zmq_send(eg->xpub, topic.p, topic.len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        eg->drops++; /* EAGAIN: a matching subscriber pipe is full */
        zmq_msg_close(json);
        return;
    }
    zmq_send(eg->xpub, exclude.p, exclude.len, ZMQ_SNDMORE);
    if (zmq_msg_send(json, eg->xpub, 0) < 0) {
        zmq_msg_close(json);
        eg->drops++;
        return;
    }
    eg->published++;
}

int rtm_egress_control(rtm_egress_t *eg, rtm_str_t topic, const rtm_wire_msg_t *msg, bool heartbeat)
{
    int len = rtm_wire_encoded_len(msg);
    assert(len > 0);
    zmq_msg_t body;
    if (zmq_msg_init_size(&body, (size_t)len) != 0)
        abort();
    int n = rtm_wire_encode(msg, zmq_msg_data(&body), (size_t)len);
    assert(n == len);
    (void)n;
    if (zmq_send(eg->xpub, topic.p, topic.len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_msg_send(&body, eg->xpub, 0) < 0) {
        zmq_msg_close(&body);
        eg->drops++;
        return -1;
    }
    if (!heartbeat)
        eg->controls++;
    return 0;
}

static void s_control(void *ctx, rtm_str_t app, rtm_str_t channel, const rtm_wire_msg_t *msg)
{
    char topic[RTM_WIRE_MAX_TOPIC];
    int n = rtm_wire_topic(topic, sizeof topic, app, channel);
    assert(n > 0); /* the state only holds valid topics */
    rtm_egress_control(ctx, rtm_str(topic, (size_t)n), msg, false);
}

static void s_event(void *ctx, rtm_str_t app, rtm_str_t channel, rtm_str_t exclude, rtm_str_t json)
{
    char topic[RTM_WIRE_MAX_TOPIC];
    int n = rtm_wire_topic(topic, sizeof topic, app, channel);
    assert(n > 0);
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, json.len) != 0)
        abort();
    memcpy(zmq_msg_data(&msg), json.p, json.len);
    rtm_egress_event(ctx, rtm_str(topic, (size_t)n), exclude, &msg);
}

rtm_channel_sink_t rtm_egress_sink(rtm_egress_t *eg)
{
    return (rtm_channel_sink_t){.ctx = eg, .control = s_control, .event = s_event};
}
