/* webhook_http — POSTs over libcurl's multi interface, driven by the
 * broker's zmq_poll loop instead of a loop of curl's own.
 *
 * libcurl tells us (CURLMOPT_SOCKETFUNCTION) which sockets it wants watched
 * for what, and (CURLMOPT_TIMERFUNCTION) when it wants to be called without
 * I/O; we hand those sockets to zmq_poll as plain file descriptors and call
 * curl_multi_socket_action for the ready ones and for an expired timer.
 * Nothing here blocks: name resolution runs in libcurl's threaded resolver,
 * and each transfer has a total timeout. A thin transport: it knows nothing
 * of batches, retries or signatures — the caller passes the headers and
 * body, and gets the HTTP status (or the transport error) back. */
#ifndef RTM_WEBHOOK_HTTP_H
#define RTM_WEBHOOK_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct rtm_webhook_http rtm_webhook_http_t;

/* A finished request: status is the HTTP status, or 0 when there was no
 * response, with error saying why (libcurl's text; borrowed for the call).
 * Called from rtm_webhook_http_service only, never from post. */
typedef void (*rtm_webhook_http_done_fn)(void *ctx, void *req, long status, const char *error);

/* A transport whose requests time out after timeout_ms; caller owns it.
 * done(ctx, ...) is called once per posted request. NULL when libcurl
 * cannot be set up (logged). curl_global_init must have been called. */
rtm_webhook_http_t *rtm_webhook_http_new(long timeout_ms, rtm_webhook_http_done_fn done, void *ctx);

/* Abandons every request in flight (done is not called) and frees
 * everything; sets *h to NULL. Safe on NULL. */
void rtm_webhook_http_destroy(rtm_webhook_http_t **h);

/* Starts POSTing body[0..len) to url with the n header lines ("Name:
 * value"; copied). body is borrowed until done is called for req. Returns 0,
 * or a negative error (then done is not called). */
int rtm_webhook_http_post(rtm_webhook_http_t *h, const char *url, const char *const *headers,
                          size_t n, const char *body, size_t len, void *req);

/* Writes a zmq_pollitem_t for each socket libcurl watches into items (at
 * most cap) and returns how many it wrote. */
size_t rtm_webhook_http_pollitems(const rtm_webhook_http_t *h, zmq_pollitem_t *items, size_t cap);

/* Sockets libcurl watches now (the room pollitems needs). */
size_t rtm_webhook_http_sockets(const rtm_webhook_http_t *h);

/* Milliseconds until libcurl wants its timer serviced (0: now), or -1 for
 * no timer. now_ms is the monotonic clock. */
long rtm_webhook_http_wait_ms(const rtm_webhook_http_t *h, uint64_t now_ms);

/* Lets libcurl act on the n items (as filled by pollitems, after zmq_poll
 * set revents) and on its timer, then reports finished requests to done. */
void rtm_webhook_http_service(rtm_webhook_http_t *h, const zmq_pollitem_t *items, size_t n,
                              uint64_t now_ms);

/* Requests in flight. */
size_t rtm_webhook_http_active(const rtm_webhook_http_t *h);

#endif
