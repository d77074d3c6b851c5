/* rtm_zlink — one ZMTP 3.0 connection to a libzmq peer, driven from a libuv
 * loop: a DEALER or SUB that needs no libzmq I/O thread.
 *
 * A link dials a `tcp://host:port` endpoint, speaks the greeting and the
 * NULL or CURVE handshake (rtm_zmtp, rtm_zcurve), then carries multipart
 * messages both ways. What it is sent is queued and written once per loop
 * turn (one write for everything queued in the turn), so a message costs no
 * thread hand-off and no system call of its own. A lost connection, a
 * protocol error (rtm_zsession does the protocol) or a peer silent for RTM_WIRE_ZMQ_HB_TIMEOUT_MS
 * (we PING every RTM_WIRE_ZMQ_HB_IVL_MS, as libzmq's heartbeats do) closes it, and it redials 100
 * ms later, resolving the host name again — what a libzmq socket with the tier's options does. Like
 * ZMQ_IMMEDIATE, nothing is queued while the link is not ready. The link knows no socket semantics
 * beyond the Socket-Type and Identity it announces: a SUB's subscriptions are messages its owner
 * sends (0x01 + topic) and sends again on every `ready`. */
#ifndef RTM_ZLINK_H
#define RTM_ZLINK_H

#include "rtm_str.h"
#include "rtm_zsession.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct rtm_zlink rtm_zlink_t;

typedef struct {
    void *arg;
    /* A whole message of n frames, borrowed for the call; frames NULL and n 0
     * for a message the link dropped as malformed (too many frames). */
    void (*message)(void *arg, rtm_zlink_t *link, const rtm_str_t *frames, size_t n);
    /* The handshake completed (ready) or a ready connection was lost (!ready;
     * why: a negative libuv or RTM code). Never called from rtm_zlink_close. */
    void (*state)(void *arg, rtm_zlink_t *link, bool ready, int why);
} rtm_zlink_events_t;

typedef struct {
    const char *socket_type; /* announced: "DEALER", "SUB" */
    const char *identity;    /* routing id announced (DEALER), or NULL */
    /* CURVE client when server_key is set: 32-byte keys, copied */
    const uint8_t *server_key, *public_key, *secret_key;
    size_t max_frame; /* a frame over this closes the connection */
    size_t max_out;   /* bytes queued at most; more is refused (RTM_EAGAIN) */
} rtm_zlink_opts_t;

/* Starts dialing endpoint (copied; a checked tcp://host:port) on loop with
 * opts (copied) and reports through ev (borrowed for the link's life).
 * Caller owns the link: rtm_zlink_close. Out of memory aborts. */
rtm_zlink_t *rtm_zlink_new(uv_loop_t *loop, const char *endpoint, const rtm_zlink_opts_t *opts,
                           const rtm_zlink_events_t *ev);

/* Whether the handshake is done and messages can be sent. */
bool rtm_zlink_ready(const rtm_zlink_t *link);

/* Queues a message of n frames (copied) for this loop turn's write. Returns 0,
 * RTM_EUNAVAIL when not ready, or RTM_EAGAIN when max_out bytes wait. */
int rtm_zlink_send(rtm_zlink_t *link, const rtm_str_t *frames, size_t n);

/* Closes the connection, drops what is queued and frees the link once its
 * handles are closed; no callback runs after this call. Sets *link to NULL. */
void rtm_zlink_close(rtm_zlink_t **link);

#endif
