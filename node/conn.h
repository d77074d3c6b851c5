/* rtm_conn — client TCP connections of one worker: bytes in, corked writes,
 * close. The transport under every session; it knows no protocol.
 *
 * A connection set (rtm_conns_t) accepts connections and owns their memory:
 * each is one allocation of conn_size bytes that starts with rtm_conn_t, so
 * a session embeds the connection as its first member (container style).
 * It reports through callbacks: opened, input (feed), and closing. Input is
 * read into the set's shared buffer and only an unconsumed tail (half a
 * frame, half a request) is kept per connection, so idle connections hold no
 * buffer. Writes are corked: a frame is queued with a reference and every
 * connection that got frames during a loop turn is written once, with one
 * writev, just before the loop polls. A connection whose unsent backlog
 * passes the limit is closed (reported as RTM_ETOOBIG). Nothing is freed
 * inside the call that asked for a close: memory goes in the close callback,
 * or at the next flush when the flush list still points at it.
 *
 * TLS: when the set has a certificate (tls), a connection whose first byte
 * starts a TLS handshake speaks TLS from then on, and one that starts
 * otherwise stays in clear text, on the same port. TLS sits between the
 * socket and the callbacks: sessions see the same plaintext either way. */
#ifndef RTM_CONN_H
#define RTM_CONN_H

#include "frame.h"
#include "metrics.h"
#include "tls.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define RTM_CONN_PEND 8                /* frames corked per turn before an early flush */
#define RTM_CONN_RBUF (64 * 1024 + 64) /* one read: a max frame plus its header */

typedef struct rtm_conn rtm_conn_t;

typedef struct {
    /* Accepted: the session sets itself up (its bytes after rtm_conn_t are zero). */
    void (*opened)(rtm_conn_t *c);
    /* Input data[0..len), the connection's own or the set's buffer, which may
     * be modified in place. Returns bytes consumed (> 0), RTM_EAGAIN when
     * data holds less than a whole unit, or another negative code once the
     * session stopped reading (closing, or paused). */
    int (*feed)(rtm_conn_t *c, uint8_t *data, size_t len);
    /* Closing started, once per connection: why is 0 when the session asked,
     * RTM_ETOOBIG for a backlog over the limit, else the libuv error (UV_EOF:
     * the peer closed). The session releases what it holds; the memory is
     * the set's. */
    void (*closing)(rtm_conn_t *c, int why);
} rtm_conn_events_t;

struct rtm_conn {
    uv_tcp_t tcp;                 /* the socket; tcp.data points back here */
    struct rtm_conns *set;        /* owning set */
    struct rtm_conn *prev, *next; /* the set's list of connections */
    struct rtm_conn *dirty_next;  /* the set's flush list */
    rtm_tls_conn_t *tls;          /* TLS state; NULL: clear text */
    uint8_t *in;                  /* partial input (plaintext); NULL while nothing is pending */
    uint32_t in_len, in_cap;
    rtm_frame_t *pend[RTM_CONN_PEND]; /* frames queued this turn, written as one writev */
    uint8_t n_pend;
    int fail;             /* a write failed during a send (its error): close at flush */
    bool dirty;           /* on the flush list */
    bool closing;         /* close started: reads stopped, sends dropped */
    bool closed;          /* handle closed; memory freed by the pending flush */
    bool paused;          /* the session takes no input (rtm_conn_pause) */
    bool stopped;         /* paused with enough buffered: the socket is not read either */
    bool resume;          /* process buffered input at the next flush */
    bool sniffed;         /* the first byte told TLS from clear text */
    uint64_t last_rx_ms;  /* loop time of the last input */
    uint64_t close_by_ms; /* closing: hard-close time */
};

typedef struct rtm_conns {
    uv_loop_t *loop;
    const rtm_conn_events_t *ev;
    size_t conn_size;    /* bytes allocated per connection, rtm_conn_t first */
    size_t max_outbound; /* unsent bytes per connection before it is closed */
    rtm_metrics_t *metrics;
    rtm_tls_t *tls;                /* the certificate (borrowed); NULL: clear text only */
    void *data;                    /* the owner's context (sessions: rtm_sessions_t) */
    uv_prepare_t flush;            /* writes everything corked during the turn, before polling */
    rtm_conn_t *all;               /* every connection not yet freed */
    rtm_conn_t *dirty;             /* connections with frames to flush or input to resume */
    uint8_t rbuf[RTM_CONN_RBUF];   /* shared read buffer for connections without partial input */
    uint8_t cipher[RTM_CONN_RBUF]; /* shared read buffer for TLS connections' ciphertext */
} rtm_conns_t;

/* Initialises cs on loop (all borrowed for cs's life) and starts its flush
 * handle. conn_size >= sizeof(rtm_conn_t). Set cs->tls afterwards to accept
 * TLS. */
void rtm_conns_init(rtm_conns_t *cs, uv_loop_t *loop, size_t conn_size, const rtm_conn_events_t *ev,
                    size_t max_outbound, rtm_metrics_t *metrics);

/* Takes over fd, a connected, non-blocking TCP socket (steals it; closed on
 * failure); opened runs when it is set up. */
void rtm_conns_adopt(rtm_conns_t *cs, int fd);

/* Cuts connections that have been closing for too long (a peer that will
 * not drain) and calls open_fn(c, now_ms) for every open one. open_fn may
 * close c. */
void rtm_conns_sweep(rtm_conns_t *cs, uint64_t now_ms, void (*open_fn)(rtm_conn_t *c, uint64_t));

/* Calls fn(c, arg) for every open connection; fn may close c. */
void rtm_conns_each(rtm_conns_t *cs, void (*fn)(rtm_conn_t *c, void *arg), void *arg);

/* Closes every connection now, dropping what is unsent. */
void rtm_conns_abort_all(rtm_conns_t *cs);

/* Shutdown, once every connection was asked to close: writes what is
 * queued, then closes the flush handle. */
void rtm_conns_stop(rtm_conns_t *cs);

/* After the loop ended (every connection closed): frees what the flush list
 * still held. */
void rtm_conns_release(rtm_conns_t *cs);

/* Queues a frame (takes a new reference; the caller keeps its own), written
 * at the end of the loop turn with the connection's other frames. Dropped
 * once the connection is closing or a write failed. */
void rtm_conn_send(rtm_conn_t *c, rtm_frame_t *f);

/* Starts closing: queued frames are still written, then the socket is shut
 * down and closed. Idempotent; closing runs at once (why 0). */
void rtm_conn_close(rtm_conn_t *c);

/* Closes now, dropping unsent frames. */
void rtm_conn_abort(rtm_conn_t *c);

/* Stops feeding the session (a REST request waits for shards): what
 * arrives meanwhile is buffered, and the socket is read no more once that
 * passes a pipelining allowance. resume makes the next flush — after the
 * current callback, never inside it — feed what was buffered, then read
 * again if reading had stopped. */
void rtm_conn_pause(rtm_conn_t *c);
void rtm_conn_resume(rtm_conn_t *c);

#endif
