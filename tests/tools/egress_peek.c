/* egress_peek — a plain-text SUB on a broker's egress, for
 * tests/integration/curve.test.js: what a stranger reading the egress gets.
 *
 * Usage: egress_peek EGRESS MS
 * Subscribes to everything (heartbeats, every channel topic) for MS
 * milliseconds and prints the number of messages received. Against a broker
 * without keys that is at least its heartbeats; against CURVE, 0. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zmq.h>

static long s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: egress_peek EGRESS MS\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(sub, argv[1]) < 0) {
        fprintf(stderr, "egress_peek: %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 2;
    }
    long end = s_now_ms() + strtol(argv[2], NULL, 10), got = 0;
    for (long now = s_now_ms(); now < end; now = s_now_ms()) {
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, end - now) > 0) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            while (zmq_msg_recv(&m, sub, ZMQ_DONTWAIT) >= 0)
                got += !zmq_msg_more(&m); /* whole messages */
            zmq_msg_close(&m);
        }
    }
    printf("%ld\n", got);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return 0;
}
