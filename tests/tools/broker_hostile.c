/* broker_hostile — what a stranger who can reach a broker's ports may send,
 * for tests/integration/broker-hostile.test.js.
 *
 * Usage: broker_hostile INGRESS EGRESS APP
 * Sends on the ingress (as a DEALER): empty and over-long multipart
 * messages, random bytes, truncated and huge MessagePack, unknown message
 * types, broker-to-node types, valid messages for an unknown app, and a
 * flood of valid counts for many channels of APP; on the egress (as an XSUB):
 * frames that are no subscription and a flood of subscriptions; and on both
 * ports raw TCP bytes that are no ZMTP at all. Prints what it sent, one line
 * per kind, and exits 0 when every send was taken. */
#include "rtm_wire.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#define S(lit) rtm_str(lit, sizeof lit - 1)

static int s_sent;

static void s_send(void *sock, const void *data, size_t len, int more)
{
    if (zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0) < 0) {
        fprintf(stderr, "broker_hostile: send: %s\n", zmq_strerror(zmq_errno()));
        exit(1);
    }
    s_sent++;
}

static void s_send_msg(void *sock, const rtm_wire_msg_t *m, size_t cut)
{
    char buf[4096];
    int n = rtm_wire_encode(m, buf, sizeof buf);
    if (n < 0) {
        fprintf(stderr, "broker_hostile: encode failed\n");
        exit(1);
    }
    s_send(sock, buf, cut && cut < (size_t)n ? cut : (size_t)n, 0);
}

/* Raw bytes that are not ZMTP to tcp://host:port. */
static void s_raw_tcp(const char *endpoint)
{
    char host[256];
    int port;
    if (sscanf(endpoint, "tcp://%255[^:]:%d", host, &port) != 2)
        exit(2);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    for (int i = 0; i < 20; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
            exit(1);
        static const char junk[] = "GET / HTTP/1.1\r\n\r\n\xff\x00\x01\x7f garbage \x00\x00";
        ssize_t w = write(fd, junk, sizeof junk - 1 - (size_t)(i % 7));
        (void)w;
        close(fd);
    }
    printf("raw_tcp %s 20 connections\n", endpoint);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: broker_hostile INGRESS EGRESS APP\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, hwm = 0;
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "hostile", 7);
    zmq_connect(dealer, argv[1]);

    char junk[64 * 1024];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 131 + 7);
    s_send(dealer, "", 0, 0); /* an empty body */
    for (int i = 0; i < 50; i++)
        s_send(dealer, "x", 1, i < 49); /* 50 frames */
    for (int i = 0; i < 200; i++)
        s_send(dealer, junk + i, (size_t)(i * 37) % 3000 + 1, 0); /* random bytes */
    printf("ingress frames 251\n");

    rtm_wire_msg_t pub = {.type = RTM_WIRE_PUBLISH,
                          .id = 1,
                          .app = rtm_str_cstr(argv[3]),
                          .name = S("e"),
                          .data = S("d"),
                          .n_channels = 1};
    pub.channels[0] = S("hostile");
    for (size_t cut = 1; cut < 20; cut++)
        s_send_msg(dealer, &pub, cut); /* truncated MessagePack */
    /* a map header claiming 2^32-1 entries, then a megabyte of nothing */
    char *huge = calloc(1, 1 << 20);
    huge[0] = (char)0xdf;
    memset(huge + 1, 0xff, 4);
    s_send(dealer, huge, 1 << 20, 0);
    free(huge);
    printf("ingress msgpack 20\n");

    rtm_wire_msg_t sync = {.type = RTM_WIRE_SYNC, .channel = S("c"), .count = 1};
    rtm_wire_msg_t ack = {.type = RTM_WIRE_ACK, .id = 5};
    s_send_msg(dealer, &sync, 0); /* broker-to-node types */
    s_send_msg(dealer, &ack, 0);
    static const char unknown_type[] = "\x82\xa1v\x01\xa1t\x63"; /* {v:1, t:99} */
    s_send(dealer, unknown_type, sizeof unknown_type - 1, 0);
    rtm_wire_msg_t stranger = pub;
    stranger.app = S("no-such-app");
    for (int i = 0; i < 50; i++)
        s_send_msg(dealer, &stranger, 0); /* valid, for an unknown app */
    printf("ingress types 53\n");

    /* a flood of valid counts: bounded by the broker's per-peer limit */
    for (int i = 0; i < 20000; i++) {
        char ch[32];
        snprintf(ch, sizeof ch, "flood-%d", i);
        rtm_wire_msg_t count = {.type = RTM_WIRE_SUB_COUNT,
                                .app = rtm_str_cstr(argv[3]),
                                .channel = rtm_str_cstr(ch),
                                .count = (uint64_t)i + 1};
        s_send_msg(dealer, &count, 0);
    }
    printf("ingress flood 20000\n");

    void *xsub = zmq_socket(ctx, ZMQ_XSUB);
    zmq_setsockopt(xsub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(xsub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_connect(xsub, argv[2]);
    for (int i = 0; i < 100; i++)
        s_send(xsub, junk + i, (size_t)i % 200, 0); /* not subscriptions */
    for (int i = 0; i < 20000; i++) {
        char sub[64];
        int n = snprintf(sub, sizeof sub,
                         "%c%s\x1F"
                         "ch-%d",
                         i % 3 ? 1 : 0, argv[3], i);
        s_send(xsub, sub, (size_t)n + 1, 0);
    }
    printf("egress messages 20100\n");

    sleep(2); /* let the pipes drain before the sockets go */
    zmq_close(xsub);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
    s_raw_tcp(argv[1]);
    s_raw_tcp(argv[2]);
    printf("sent %d zmq frames\n", s_sent);
    return 0;
}
