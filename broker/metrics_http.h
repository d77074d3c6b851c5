/* metrics_http — a minimal HTTP/1.1 endpoint for GET /metrics and GET
 * /healthz (200 "ok": the loop that answers is running), served from the
 * broker's zmq_poll loop without ever blocking it.
 *
 * One non-blocking listening socket and at most RTM_METRICS_HTTP_CONNS
 * connections, each joining the poll set as a plain file descriptor. A
 * connection reads one request (head at most 4 KiB, no body), is answered
 * with the text the render callback returns (200), 404 for another path, 405
 * for another method, 400 / 431 for a bad or oversized request, and closed
 * once the answer is written (Connection: close). A connection that has not
 * finished within 5 s is closed, so a slow or silent client holds a slot,
 * never the loop. Parsing is rtm_http's. */
#ifndef RTM_METRICS_HTTP_H
#define RTM_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define RTM_METRICS_HTTP_CONNS 16 /* connections served at once; more are closed at accept */

/* Renders the metrics text into a new buffer (*out, caller frees); returns its length. */
typedef size_t (*rtm_metrics_http_render_fn)(void *ctx, char **out);

typedef struct {
    uint64_t requests; /* answered, any status */
    uint64_t refused;  /* connections closed at accept: all slots taken */
    uint64_t timeouts; /* connections closed for taking longer than 5 s */
    uint64_t bad;      /* requests answered 400 / 431 */
} rtm_metrics_http_stats_t;

typedef struct rtm_metrics_http rtm_metrics_http_t;

/* Listens on host:port (host a name or address) and answers with render(ctx,
 * ...) (borrowed for the endpoint's life). Returns the endpoint (caller owns
 * it), or NULL after logging why (address in use, no such host). */
rtm_metrics_http_t *rtm_metrics_http_new(const char *host, int port,
                                         rtm_metrics_http_render_fn render, void *ctx);

/* Closes every socket, frees everything and sets *mh to NULL. Safe on NULL. */
void rtm_metrics_http_destroy(rtm_metrics_http_t **mh);

/* Poll items it needs now (at most cap; returns how many: the listener, then
 * each connection), and how many that is. */
size_t rtm_metrics_http_pollitems(const rtm_metrics_http_t *mh, zmq_pollitem_t *items, size_t cap);
size_t rtm_metrics_http_sockets(const rtm_metrics_http_t *mh);

/* Acts on the items (as filled by the last rtm_metrics_http_pollitems, with
 * revents from zmq_poll): reads, answers, writes, accepts, and closes what is
 * done or too old at now_ms (monotonic). */
void rtm_metrics_http_service(rtm_metrics_http_t *mh, const zmq_pollitem_t *items, size_t n,
                              uint64_t now_ms);

/* Counters since creation. */
const rtm_metrics_http_stats_t *rtm_metrics_http_stats(const rtm_metrics_http_t *mh);

#endif
