/* rtm_zsession — one ZMTP 3.0 connection's protocol, either side, without
 * I/O: bytes in, bytes out, whole messages reported.
 *
 * The owner moves bytes: what arrives is appended to an input buffer and fed
 * (rtm_zsession_feed consumes every whole greeting or frame from its front);
 * what the session has to say — the greeting, the NULL or CURVE handshake
 * (rtm_zcurve), PONGs, and the messages the owner sends — is appended to an
 * output buffer the owner writes when it likes (once per loop turn). So the
 * node's libuv links (rtm_zlink) and the broker's poll-driven server
 * (broker/zserver) speak the same protocol from one implementation, and tests
 * can join a client session to a server session in memory. */
#ifndef RTM_ZSESSION_H
#define RTM_ZSESSION_H

#include "rtm_str.h"
#include "rtm_zcurve.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_ZSESSION_MAX_PARTS 4 /* frames of a message; longer ones are reported as malformed */

/* A growable byte buffer (input or output of a session). */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} rtm_zbuf_t;

/* Makes room for `more` bytes after len (out of memory aborts). */
void rtm_zbuf_reserve(rtm_zbuf_t *b, size_t more);
void rtm_zbuf_append(rtm_zbuf_t *b, const void *p, size_t len);
/* Drops the first n bytes. */
void rtm_zbuf_consume(rtm_zbuf_t *b, size_t n);
void rtm_zbuf_free(rtm_zbuf_t *b);

typedef struct {
    bool server;                   /* we accepted the connection */
    const char *socket_type;       /* ours, announced: "DEALER", "SUB", "ROUTER", "XPUB" */
    const char *const *peer_types; /* Socket-Types accepted from the peer (NULL-ended) */
    const char *identity;          /* announced Identity (a DEALER's routing id), or NULL */
    /* CURVE: a client sets server_key (the server's long-term public key) and
     * its own pair; a server sets its pair. NULL: the NULL mechanism. The
     * keys are 32 bytes, borrowed for the session's life. */
    const uint8_t *server_key, *public_key, *secret_key;
    size_t max_frame; /* a bigger frame ends the connection (RTM_ETOOBIG) */
} rtm_zsession_config_t;

typedef struct {
    void *arg;
    /* The handshake is done; peer_meta is the peer's property block
     * (Socket-Type, Identity), borrowed for the call. */
    void (*ready)(void *arg, rtm_str_t peer_meta);
    /* A whole message of n frames, borrowed for the call; frames NULL and n
     * 0 for one dropped as malformed (more than RTM_ZSESSION_MAX_PARTS). */
    void (*message)(void *arg, const rtm_str_t *frames, size_t n);
    /* Server with CURVE: whether the client's long-term key may connect;
     * NULL lets every key in. */
    bool (*authorize)(void *arg, const uint8_t key[RTM_ZCURVE_KEY_LEN]);
} rtm_zsession_events_t;

typedef struct {
    rtm_zsession_config_t cfg; /* pointers borrowed */
    const rtm_zsession_events_t *ev;
    int state;
    rtm_zcurve_t *curve;                  /* CURVE state, or NULL */
    uint8_t peer_key[RTM_ZCURVE_KEY_LEN]; /* server with CURVE: the client's key once known */
    rtm_zbuf_t parts;                     /* frames of the message being assembled */
    size_t part_len[RTM_ZSESSION_MAX_PARTS];
    size_t n_parts; /* frames so far (may pass the maximum) */
} rtm_zsession_t;

/* Starts a session with cfg (copied; its pointers borrowed) reporting to ev
 * (borrowed): writes our greeting, and a client's first handshake command,
 * into out. */
void rtm_zsession_start(rtm_zsession_t *s, const rtm_zsession_config_t *cfg,
                        const rtm_zsession_events_t *ev, rtm_zbuf_t *out);

/* Consumes every whole greeting or frame at the front of in, reporting
 * through ev and writing replies into out. Returns 0, or a negative code
 * after which the connection must be closed: RTM_EPROTO (malformed, an
 * ERROR from the peer, a Socket-Type we do not pair with, the other
 * mechanism), RTM_EVERSION (a peer older than ZMTP 3), RTM_ETOOBIG,
 * RTM_EAUTH (a CURVE box that does not open: wrong keys), RTM_EDENIED (the
 * client's key refused by authorize; an ERROR was written to out). */
int rtm_zsession_feed(rtm_zsession_t *s, rtm_zbuf_t *in, rtm_zbuf_t *out);

/* Whether the handshake is done (messages may be sent). */
bool rtm_zsession_ready(const rtm_zsession_t *s);

/* The client's long-term public key (server with CURVE, once ready), or NULL. */
const uint8_t *rtm_zsession_peer_key(const rtm_zsession_t *s);

/* Ready: writes a message of n frames into out. */
void rtm_zsession_send(rtm_zsession_t *s, const rtm_str_t *frames, size_t n, rtm_zbuf_t *out);

/* Ready: writes a PING (ttl_ds: deciseconds the peer may wait for the next
 * traffic before it gives up on us) into out. */
void rtm_zsession_ping(rtm_zsession_t *s, uint16_t ttl_ds, rtm_zbuf_t *out);

/* Frees what the session holds (its CURVE keys wiped); it may be started again. */
void rtm_zsession_end(rtm_zsession_t *s);

#endif
