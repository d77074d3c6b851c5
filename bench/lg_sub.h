/* lg_sub — one subscriber: a WebSocket client speaking Pusher protocol 7.
 *
 * Connects from its own loopback source address, upgrades, waits for
 * pusher:connection_established, subscribes to one public channel, then
 * counts every event whose data carries a publish timestamp ("t=<us>") and
 * records its publish -> deliver latency. Answers pusher:ping and WebSocket
 * pings so servers keep idle connections. With opt.deflate it offers
 * permessage-deflate and inflates the (unfragmented) messages that arrive
 * compressed. */
#ifndef RTM_LG_SUB_H
#define RTM_LG_SUB_H

#include "loadgen.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct rtm_lg_sub {
    uv_tcp_t tcp;           /* the socket; tcp.data points back here */
    rtm_lg_t *lg;           /* owning generator */
    struct rtm_lg_tls *tls; /* --tls: the connection's TLS; NULL: clear text */
    uint8_t *in;            /* partial input (handshake or frame); NULL when none */
    uint32_t in_len, in_cap;
    uint32_t channel; /* channel index relative to opt.channel_base */
    uint8_t state;    /* see lg_sub.c */
    bool inited;      /* tcp initialised: must be closed */
};

/* Starts connecting subscriber index (0-based) of lg; s is lg's memory,
 * zeroed. Progress and failure are reported through lg's counters and
 * rtm_lg_connect_progress. */
void rtm_lg_sub_start(rtm_lg_t *lg, rtm_lg_sub_t *s, long index);

/* Closes the connection (if open) without counting it as lost; the handle's
 * memory is released in the close callback (s itself stays lg's). */
void rtm_lg_sub_close(rtm_lg_sub_t *s);

/* Writes a masked (client) WebSocket text frame of len bytes of text into
 * out (cap >= len + 8). Returns the frame length. */
size_t rtm_lg_ws_client_frame(uint8_t *out, size_t cap, const char *text, size_t len,
                              uint32_t mask);

/* Parses one unmasked (server) frame at the start of buf. Returns the frame
 * length with *op, *compressed (RSV1), *payload and *payload_len set; 0 when
 * buf holds less than a frame; -1 for a masked frame or one larger than max. */
long rtm_lg_ws_server_frame(const uint8_t *buf, size_t len, size_t max, uint8_t *op,
                            bool *compressed, const uint8_t **payload, size_t *payload_len);

#endif
