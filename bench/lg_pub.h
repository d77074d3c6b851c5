/* lg_pub — one publisher: a keep-alive HTTP/1.1 connection that sends
 * signed POST /apps/<id>/events requests, one at a time, or with --brokers a
 * librtmesh handle that publishes the same events over ZeroMQ (lg_zpub.h).
 *
 * Each event goes to the next channel round robin; its data is
 * "t=<publish time us>;s=<sequence>" plus optional padding, the stamp the
 * subscribers measure latency from. A publish owes one delivery per
 * subscriber of its channel, counted into lg->expected when it is sent. */
#ifndef RTM_LG_PUB_H
#define RTM_LG_PUB_H

#include "loadgen.h"

#include <http_parser.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct rtm_lg_zpub; /* lg_zpub.h */

struct rtm_lg_pub {
    uv_tcp_t tcp;           /* tcp.data points back here */
    struct rtm_lg_zpub *z;  /* publishing through librtmesh (--brokers): no tcp */
    struct rtm_lg_tls *tls; /* --tls: the connection's TLS; NULL: clear text */
    rtm_lg_t *lg;           /* owning generator */
    http_parser parser;     /* response parser, kept across keep-alive responses */
    uint64_t sent_us;       /* when the request in flight was sent */
    uint32_t owed;          /* deliveries the request in flight added to expected */
    bool inited;            /* tcp initialised: must be closed */
    bool ready;             /* connected and no request in flight */
    bool busy;              /* a request in flight */
    bool reconnect;         /* closing to reconnect (server closed or said close) */
};

/* Connects publisher index (0-based); p is lg's zeroed memory. */
void rtm_lg_pub_start(rtm_lg_t *lg, rtm_lg_pub_t *p, long index);

/* Sends one publish. Only call while p->ready. */
void rtm_lg_pub_send(rtm_lg_pub_t *p);

/* Closes the connection (if open). */
void rtm_lg_pub_close(rtm_lg_pub_t *p);

/* The publish in flight was answered: accepted (ok) or not; counts it and
 * frees the publisher for the next one. */
void rtm_lg_pub_answered(rtm_lg_pub_t *p, bool ok);

/* Writes what follows the stamp in event seq's data for shape ("pad":
 * payload bytes of 'x'; "dashboard", "chat": JSON text, quotes escaped for
 * the JSON string it goes in) into out (cap bytes, NUL-terminated). Returns
 * its length, or -1 for an unknown shape or when it does not fit. */
int rtm_lg_pub_shape(const char *shape, long payload, uint64_t seq, char *out, size_t cap);

/* Writes the signed request for one event into out (cap bytes): body, then
 * its MD5 and HMAC signature over "POST\n<path>\n<sorted params>" at Unix time
 * now_s. Returns the length, or -1 when it does not fit. */
int rtm_lg_pub_request(char *out, size_t cap, const rtm_lg_options_t *o, const char *channel,
                       const char *data, long now_s);

#endif
