/* zserver — a ZMTP 3.0 server on one TCP port, driven from the broker's poll
 * loop: what the broker's ingress ROUTER and egress XPUB were, without
 * libzmq's I/O thread.
 *
 * It accepts connections, runs each one's protocol (rtm_zsession: greeting,
 * NULL or CURVE handshake with the allow-list, messages, PINGs), and reports
 * ready peers, their messages and their end to the layer above (ingress.c:
 * routing ids; egress.c: subscriptions). What the layer above sends to a
 * peer is queued and written by rtm_zserver_flush, once per loop turn, with
 * one write per peer for everything queued in the turn. A peer is closed
 * when it breaks the protocol, fails or does not finish its handshake within
 * S_HANDSHAKE_MS, or is silent for RTM_WIRE_ZMQ_HB_TIMEOUT_MS although we
 * PING it every RTM_WIRE_ZMQ_HB_IVL_MS — as libzmq's heartbeats did. A peer
 * whose queue passes max_out bytes is refused more (the sender counts the
 * drop) but kept: it may only be slow. */
#ifndef RTM_ZSERVER_H
#define RTM_ZSERVER_H

#include "allow_list.h"
#include "rtm_str.h"
#include "rtm_zsession.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct rtm_zserver rtm_zserver_t;
typedef struct rtm_zpeer rtm_zpeer_t;

typedef struct {
    void *arg;
    /* The handshake is done; meta is the peer's property block (borrowed). */
    void (*ready)(void *arg, rtm_zpeer_t *peer, rtm_str_t meta);
    /* A whole message (frames borrowed for the call; NULL and 0 when the peer
     * sent more frames than RTM_ZSESSION_MAX_PARTS). */
    void (*message)(void *arg, rtm_zpeer_t *peer, const rtm_str_t *frames, size_t n);
    /* A ready peer is gone (closed, failed, silent); peer is freed after. */
    void (*gone)(void *arg, rtm_zpeer_t *peer);
} rtm_zserver_events_t;

typedef struct {
    const char *name;              /* for logs: "ingress", "egress" */
    const char *socket_type;       /* announced: "ROUTER", "XPUB" */
    const char *const *peer_types; /* Socket-Types let in (NULL-ended) */
    /* CURVE server with this long-term pair (32 bytes each, copied) and the
     * allow-list (borrowed), or NULL: plain text */
    const uint8_t *public_key, *secret_key;
    rtm_allow_list_t *allow;
    size_t max_frame; /* a bigger frame closes the peer (libzmq's MAXMSGSIZE) */
    size_t max_out;   /* bytes queued per peer before sends to it are refused */
} rtm_zserver_config_t;

typedef struct {
    uint64_t accepted;         /* connections accepted */
    uint64_t handshake_failed; /* closed before ready: protocol, mechanism, keys, timeout */
    uint64_t refused;          /* CURVE keys the allow-list refused (not in handshake_failed) */
    uint64_t closed;           /* ready peers closed: EOF, error, silence, protocol */
} rtm_zserver_stats_t;

/* Binds tcp://host:port (host may be a name, an address or [v6]) and listens.
 * cfg is copied, ev borrowed. Returns the server or NULL after logging why. */
rtm_zserver_t *rtm_zserver_new(const char *host, int port, const rtm_zserver_config_t *cfg,
                               const rtm_zserver_events_t *ev);

/* Poll items for the listening socket and every peer into items[0..cap);
 * returns how many (rtm_zserver_poll_count tells how many it needs). */
size_t rtm_zserver_pollitems(const rtm_zserver_t *s, zmq_pollitem_t *items, size_t cap);
size_t rtm_zserver_poll_count(const rtm_zserver_t *s);

/* Accepts, reads and writes what items (from the last rtm_zserver_pollitems)
 * say is ready, and closes peers past their deadlines; now_ms monotonic. */
void rtm_zserver_service(rtm_zserver_t *s, const zmq_pollitem_t *items, size_t n, uint64_t now_ms);

/* Writes what every peer has queued (call once per loop turn). */
void rtm_zserver_flush(rtm_zserver_t *s);

/* Queues a message of n frames to a ready peer. Returns 0, RTM_EAGAIN when
 * max_out bytes wait for it, or RTM_EUNAVAIL when it is not ready. */
int rtm_zpeer_send(rtm_zpeer_t *peer, const rtm_str_t *frames, size_t n);

/* The layer above's pointer for this peer (NULL until set). */
void *rtm_zpeer_data(const rtm_zpeer_t *peer);
void rtm_zpeer_set_data(rtm_zpeer_t *peer, void *data);

/* With CURVE, the peer's public key as Z85 text (40 characters); else "". */
const char *rtm_zpeer_user_id(const rtm_zpeer_t *peer);

/* Closes a peer now (gone is reported); for a peer the layer above refuses. */
void rtm_zpeer_close(rtm_zpeer_t *peer);

const rtm_zserver_stats_t *rtm_zserver_stats(const rtm_zserver_t *s);

/* Writes what is queued for at most linger_ms (blocking: the broker's last
 * act when it leaves, so that every event it acknowledged goes out), then
 * closes every peer (gone is reported for the ready ones) and the listening
 * socket, frees *s and NULLs it. */
void rtm_zserver_destroy(rtm_zserver_t **s, int linger_ms);

#endif
