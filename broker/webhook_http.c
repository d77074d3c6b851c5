/* webhook_http — see webhook_http.h.
 *
 * The sockets libcurl watches are a small array of {fd, what}, updated by
 * the socket callback; the timer callback gives a relative timeout, kept as
 * an absolute monotonic deadline. A request's header list and error buffer
 * live in a s_req_t reachable from its easy handle (CURLOPT_PRIVATE) and are
 * freed when the transfer is reported finished. */
#include "webhook_http.h"

#include "rtm_error.h"
#include "rtm_log.h"

#include <curl/curl.h>
#include <utlist.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    curl_socket_t fd; /* the socket */
    int what;         /* CURL_POLL_IN / _OUT / _INOUT */
} s_sock_t;

typedef struct s_req {
    CURL *easy;                 /* the transfer, owned */
    struct curl_slist *headers; /* owned */
    void *req;                  /* the caller's */
    struct s_req *prev, *next;  /* every request in flight (for destroy) */
    char error[CURL_ERROR_SIZE];
} s_req_t;

struct rtm_webhook_http {
    CURLM *multi;                  /* owned */
    long timeout_ms;               /* per request */
    rtm_webhook_http_done_fn done; /* completion callback */
    void *ctx;                     /* its context */
    s_sock_t *socks;               /* watched sockets */
    size_t n_socks, cap_socks;     /* used / allocated */
    bool timer_on;                 /* libcurl wants its timer */
    uint64_t timer_at_ms;          /* then, monotonic */
    size_t active;                 /* requests in flight */
    s_req_t *reqs;                 /* the requests in flight */
};

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int s_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy, (void)socketp;
    rtm_webhook_http_t *h = userp;
    size_t i = 0;
    while (i < h->n_socks && h->socks[i].fd != fd)
        i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < h->n_socks)
            h->socks[i] = h->socks[--h->n_socks];
        return 0;
    }
    if (i == h->n_socks) {
        if (h->n_socks == h->cap_socks) {
            h->cap_socks = h->cap_socks ? h->cap_socks * 2 : 8;
            h->socks = realloc(h->socks, h->cap_socks * sizeof *h->socks);
            if (!h->socks)
                abort();
        }
        h->n_socks++;
    }
    h->socks[i] = (s_sock_t){fd, what};
    return 0;
}

static int s_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    rtm_webhook_http_t *h = userp;
    h->timer_on = timeout_ms >= 0;
    h->timer_at_ms = s_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    return 0;
}

/* The response body is of no interest: only the status counts. */
static size_t s_discard(char *p, size_t size, size_t n, void *userp)
{
    (void)p, (void)userp;
    return size * n;
}

rtm_webhook_http_t *rtm_webhook_http_new(long timeout_ms, rtm_webhook_http_done_fn done, void *ctx)
{
    rtm_webhook_http_t *h = calloc(1, sizeof *h);
    if (!h)
        abort();
    h->multi = curl_multi_init();
    if (!h->multi) {
        rtm_log(RTM_LOG_ERROR, "event=webhook_http_failed reason=\"curl_multi_init\"");
        free(h);
        return NULL;
    }
    h->timeout_ms = timeout_ms;
    h->done = done;
    h->ctx = ctx;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, s_on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, s_on_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;
}

/* Ends r's transfer and frees what it holds but r itself. */
static void s_finish(rtm_webhook_http_t *h, s_req_t *r)
{
    curl_multi_remove_handle(h->multi, r->easy);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    DL_DELETE(h->reqs, r);
    h->active--;
}

void rtm_webhook_http_destroy(rtm_webhook_http_t **hp)
{
    rtm_webhook_http_t *h = *hp;
    if (!h)
        return;
    while (h->reqs) {
        s_req_t *r = h->reqs;
        s_finish(h, r);
        free(r);
    }
    curl_multi_cleanup(h->multi);
    free(h->socks);
    free(h);
    *hp = NULL;
}

int rtm_webhook_http_post(rtm_webhook_http_t *h, const char *url, const char *const *headers,
                          size_t n, const char *body, size_t len, void *req)
{
    s_req_t *r = calloc(1, sizeof *r);
    CURL *easy = curl_easy_init();
    if (!r || !easy)
        abort();
    r->req = req;
    r->easy = easy;
    /* An empty Expect: stops libcurl waiting for "100 Continue" on big bodies. */
    r->headers = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; i < n; i++)
        r->headers = curl_slist_append(r->headers, headers[i]);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "rtmesh-webhooks");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, r->error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, r);
    if (!r->headers || curl_multi_add_handle(h->multi, easy) != CURLM_OK) {
        curl_slist_free_all(r->headers);
        curl_easy_cleanup(easy);
        free(r);
        return RTM_EUNAVAIL;
    }
    DL_APPEND(h->reqs, r);
    h->active++;
    return 0;
}

size_t rtm_webhook_http_pollitems(const rtm_webhook_http_t *h, zmq_pollitem_t *items, size_t cap)
{
    size_t n = h->n_socks < cap ? h->n_socks : cap;
    for (size_t i = 0; i < n; i++) {
        int what = h->socks[i].what;
        items[i] = (zmq_pollitem_t){NULL, h->socks[i].fd,
                                    (short)(((what & CURL_POLL_IN) ? ZMQ_POLLIN : 0) |
                                            ((what & CURL_POLL_OUT) ? ZMQ_POLLOUT : 0)),
                                    0};
    }
    return n;
}

size_t rtm_webhook_http_sockets(const rtm_webhook_http_t *h)
{
    return h->n_socks;
}

long rtm_webhook_http_wait_ms(const rtm_webhook_http_t *h, uint64_t now_ms)
{
    if (!h->timer_on)
        return -1;
    return h->timer_at_ms <= now_ms ? 0 : (long)(h->timer_at_ms - now_ms);
}

void rtm_webhook_http_service(rtm_webhook_http_t *h, const zmq_pollitem_t *items, size_t n,
                              uint64_t now_ms)
{
    int running;
    for (size_t i = 0; i < n; i++) {
        short ev = items[i].revents;
        if (!ev)
            continue;
        int flags = ((ev & ZMQ_POLLIN) ? CURL_CSELECT_IN : 0) |
                    ((ev & ZMQ_POLLOUT) ? CURL_CSELECT_OUT : 0) |
                    ((ev & ZMQ_POLLERR) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(h->multi, items[i].fd, flags, &running);
    }
    if (h->timer_on && h->timer_at_ms <= now_ms) {
        h->timer_on = false; /* the action re-arms it when needed */
        curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode result = m->data.result;
        long status = 0;
        if (result == CURLE_OK)
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        s_req_t *r = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
        s_finish(h, r);
        const char *why = result == CURLE_OK ? ""
                          : r->error[0]      ? r->error
                                             : curl_easy_strerror(result);
        h->done(h->ctx, r->req, status, why);
        free(r);
    }
}

size_t rtm_webhook_http_active(const rtm_webhook_http_t *h)
{
    return h->active;
}
