/* rtmesh.h — librtmesh, the C client library for services that publish into
 * an rtmesh mesh over ZeroMQ, without HTTP, signing or JSON round trips.
 *
 * A handle connects to the broker tier (the same broker lists as rtmesh-node:
 * a comma list, dns://NAME:PORT, or a brokers file) and follows it as it
 * changes. Each event goes to the broker that owns each of its channels
 * (rendezvous hashing over the live brokers, as the nodes compute it) and a
 * publish returns only once every owner accepted it, or with a negative error.
 * The brokers apply the REST API's rules and the app's limits from their apps
 * file; the pusher-js clients subscribed to the channels on any node receive
 * the event exactly as if it came through POST /apps/{app}/events.
 *
 * Threads: a handle runs one I/O thread of its own, which keeps the brokers'
 * liveness current between calls. Every function may be called from any
 * thread; calls on one handle are serialised (one publish at a time per
 * handle: use one handle per publishing thread for parallelism), and
 * rtmesh_destroy must not race with other calls on the same handle.
 *
 * Errors: every function that can fail returns 0 or one of the negative
 * RTMESH_E* codes below; rtmesh_strerror names them. Where a broker refused
 * an event it also says why, in words, into the caller's `reason` buffer.
 *
 * Memory: the library copies what it needs from every argument during the
 * call; nothing the caller passes is kept after a call returns.
 *
 * Wire format: docs/wire.md of the rtmesh sources. Link with
 * `pkg-config --cflags --libs rtmesh`. */
#ifndef RTMESH_H
#define RTMESH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RTMESH_VERSION_MAJOR 0
#define RTMESH_VERSION_MINOR 1
#define RTMESH_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH: what this header declares. */
#define RTMESH_VERSION                                                                             \
    (RTMESH_VERSION_MAJOR * 10000 + RTMESH_VERSION_MINOR * 100 + RTMESH_VERSION_PATCH)

/* Error codes: negative, stable across versions of one major. */
enum {
    RTMESH_OK = 0,
    RTMESH_EINVAL = -1,    /* an invalid argument: a channel or event name, a socket id, an
                            * encrypted channel among several, a NULL or empty list */
    RTMESH_ETOOBIG = -2,   /* data over the app's max_event_payload, or more than
                            * RTMESH_MAX_CHANNELS channels or RTMESH_MAX_BATCH events */
    RTMESH_ENOAPP = -3,    /* the brokers serve no app with this id */
    RTMESH_EAUTH = -4,     /* this service's key may not publish (to this app) */
    RTMESH_ENOOWNER = -5,  /* no live broker owns a channel: nothing reachable is listed */
    RTMESH_ETIMEDOUT = -6, /* an owner did not answer within the timeout */
    RTMESH_EAGAIN = -7,    /* back-pressure: an owner's queue is full; retry later */
    RTMESH_ECONFIG = -8,   /* bad options: the broker list, a key file */
    RTMESH_EPROTO = -9,    /* a broker answered what this library does not understand */
};

#define RTMESH_MAX_CHANNELS 100 /* channels per event (Pusher's limit) */
#define RTMESH_MAX_BATCH    10  /* events per rtmesh_publish_batch (Pusher's limit) */

/* The version of the library actually loaded (RTMESH_VERSION of its build). */
int rtmesh_version(void);

/* A static English name of an RTMESH_E* code ("unknown error" otherwise). */
const char *rtmesh_strerror(int code);

typedef struct rtmesh rtmesh_t;

/* How a handle connects. Zero-initialise, then set what you need; every string
 * is copied by rtmesh_new. NULL strings fall back to the environment variable
 * named beside them, as for rtmesh-node. */
typedef struct {
    const char *brokers;      /* "tcp://h:p,tcp://h:p" or "dns://NAME:PORT"; RTMESH_BROKERS */
    const char *brokers_file; /* one endpoint per line, re-read by rtmesh_reload; takes
                               * precedence over brokers; RTMESH_BROKERS_FILE */
    const char *curve_secret; /* this service's secret certificate (CZMQ format, as written by
                               * `rtmesh keygen`); RTMESH_CURVE_SECRET. NULL and unset: plain
                               * text (the brokers must run without keys) */
    const char *curve_broker; /* the brokers' public certificate; RTMESH_CURVE_BROKER; needed
                               * with curve_secret */
    int timeout_ms;           /* how long a publish waits for its owners; 0: 3000 */
} rtmesh_options_t;

/* Creates a handle and starts its I/O thread. Returns 0 and *out (caller owns
 * it; free with rtmesh_destroy), or RTMESH_ECONFIG with a message naming the
 * option in err (NUL-terminated, truncated to err_len; err may be NULL when
 * err_len is 0) and *out NULL. With dns:// the first resolution happens here
 * (blocking). The brokers are heard within about a second; a publish made
 * earlier waits for them (within its timeout). opt may be NULL (all from the
 * environment). */
int rtmesh_new(const rtmesh_options_t *opt, rtmesh_t **out, char *err, size_t err_len);

/* Re-reads the brokers file, or resolves dns:// now (what SIGHUP does for the
 * servers); a fixed list does not change. The library installs no signal
 * handler: call this from yours. */
void rtmesh_reload(rtmesh_t *h);

/* Stops the I/O thread (a publish in progress on another thread must have
 * returned), closes the sockets, frees the handle and sets *h to NULL. Safe
 * on NULL and on *h NULL. */
void rtmesh_destroy(rtmesh_t **h);

/* One event. Every pointer is borrowed for the call. */
typedef struct {
    const char *const *channels; /* n_channels channel names, NUL-terminated; 1..100 */
    size_t n_channels;
    const char *name;      /* event name, 1..200 bytes, NUL-terminated */
    const char *data;      /* data_len bytes (usually JSON text), delivered as is; may be NULL
                            * when data_len is 0 */
    size_t data_len;       /* at most the app's max_event_payload (10 KiB by default) */
    const char *socket_id; /* "123.456": the connection that must not receive it; NULL: none */
} rtmesh_event_t;

/* Publishes ev to app_id's channels. Returns 0 once every owning broker
 * accepted it (published on its egress: delivery to subscribers is
 * at-most-once, as in Pusher); otherwise a negative RTMESH_E* code, with the
 * broker's reason (or the library's) in reason (NUL-terminated, truncated to
 * reason_len; reason may be NULL when reason_len is 0). A channel whose owner
 * moved is re-routed within the timeout. After RTMESH_ETIMEDOUT or
 * RTMESH_EAGAIN some owners may have published the event and others not. */
int rtmesh_publish(rtmesh_t *h, const char *app_id, const rtmesh_event_t *ev, char *reason,
                   size_t reason_len);

/* Publishes evs[0..n) (1..RTMESH_MAX_BATCH events) together: all are sent
 * before any answer is awaited, like POST /batch_events. Returns 0 when every
 * owner accepted every event, else the error of the first event (in array
 * order) that failed, with its reason; the other events may have been
 * published. An invalid event found before sending fails the call with
 * nothing sent. */
int rtmesh_publish_batch(rtmesh_t *h, const char *app_id, const rtmesh_event_t *evs, size_t n,
                         char *reason, size_t reason_len);

/* What the handle knows of one broker (rtmesh_brokers). */
typedef struct {
    char identity[256];          /* its ingress endpoint as listed */
    int live;                    /* 1 when publishes are routed to it */
    int heard;                   /* 1 when its egress heartbeats arrive */
    int answers;                 /* 1 when it answers this handle's heartbeats on its ingress */
    unsigned long long epoch;    /* its start time (ms since the epoch); 0: never heard */
    unsigned long long digest;   /* the digest of its broker list; 0: not told */
    int list_mismatch;           /* 1 when that digest differs from this handle's list */
    unsigned webhooks_held;      /* webhook events it holds, from its heartbeat */
    unsigned long long heard_ms; /* ms since its last egress heartbeat; 0: never heard */
} rtmesh_broker_info_t;

/* Fills out[0..cap) with the listed brokers, in list order, and returns how
 * many are listed (which may be more than cap), and this handle's list digest
 * in *digest when digest is not NULL. */
size_t rtmesh_brokers(rtmesh_t *h, rtmesh_broker_info_t *out, size_t cap,
                      unsigned long long *digest);

/* Asks broker `identity` (as in rtmesh_broker_info_t) a question in the wire
 * format's QUERY (docs/wire.md §8: kind 1 channel list with `channel` as the
 * prefix, 2 one channel, 3 users; 4 the broker's own counters as a JSON
 * object, `channel` ignored) for app_id, and waits for the answer. Returns 0
 * with the JSON text in *json (newly allocated, caller frees with free(3)),
 * or a negative RTMESH_E* code with *json NULL. */
int rtmesh_query(rtmesh_t *h, const char *identity, const char *app_id, unsigned kind,
                 const char *channel, char **json);

#ifdef __cplusplus
}
#endif

#endif
