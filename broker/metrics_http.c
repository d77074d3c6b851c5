/* metrics_http — see metrics_http.h.
 *
 * Connections live in a fixed array (no allocation per connection but the
 * answer). Every socket is non-blocking and every call on it is made once
 * per poll report, so a turn of the loop costs at most one read or one write
 * per connection. service() handles the connections first and accepts last:
 * the items it is given were laid out before any of that changed the array.
 * A closed slot is compacted away at the end of the call. */
#define _GNU_SOURCE /* accept4: non-blocking from the start, no extra fcntl */
#include "metrics_http.h"

#include "rtm_error.h"
#include "rtm_http.h"
#include "rtm_log.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_HEAD_MAX 4096 /* bytes of one request */
#define S_LIFE_MS  5000 /* longest a connection may take */

typedef struct {
    int fd;               /* -1: the slot is free */
    uint64_t opened_ms;   /* accepted at */
    char in[S_HEAD_MAX];  /* the request so far */
    size_t in_len;        /* bytes of in */
    char *out;            /* the answer, owned; NULL until there is one */
    size_t out_len, sent; /* bytes of out / written so far */
} s_conn_t;

struct rtm_metrics_http {
    int listen_fd;                          /* bound and listening, non-blocking */
    rtm_metrics_http_render_fn render;      /* the text of GET /metrics */
    void *ctx;                              /* its context */
    s_conn_t conns[RTM_METRICS_HTTP_CONNS]; /* n_conns used, in poll order */
    size_t n_conns;
    rtm_metrics_http_stats_t st; /* counters */
};

static int s_listen(const char *host, int port)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        rtm_log(RTM_LOG_ERROR, "event=metrics_listen_failed host=%s port=%d error=\"%s\"", host,
                port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
                        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0)) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        rtm_log(RTM_LOG_ERROR, "event=metrics_listen_failed host=%s port=%d error=\"%s\"", host,
                port, strerror(err));
    return fd;
}

rtm_metrics_http_t *rtm_metrics_http_new(const char *host, int port,
                                         rtm_metrics_http_render_fn render, void *ctx)
{
    int fd = s_listen(host, port);
    if (fd < 0)
        return NULL;
    rtm_metrics_http_t *mh = calloc(1, sizeof *mh);
    if (!mh)
        abort();
    mh->listen_fd = fd;
    mh->render = render;
    mh->ctx = ctx;
    rtm_log(RTM_LOG_INFO, "event=metrics_listening host=%s port=%d", host, port);
    return mh;
}

static void s_close(s_conn_t *c)
{
    close(c->fd);
    c->fd = -1;
    free(c->out);
    c->out = NULL;
}

void rtm_metrics_http_destroy(rtm_metrics_http_t **mhp)
{
    rtm_metrics_http_t *mh = *mhp;
    if (!mh)
        return;
    for (size_t i = 0; i < mh->n_conns; i++)
        s_close(&mh->conns[i]);
    close(mh->listen_fd);
    free(mh);
    *mhp = NULL;
}

size_t rtm_metrics_http_sockets(const rtm_metrics_http_t *mh)
{
    return 1 + mh->n_conns;
}

size_t rtm_metrics_http_pollitems(const rtm_metrics_http_t *mh, zmq_pollitem_t *items, size_t cap)
{
    if (cap == 0)
        return 0;
    items[0] = (zmq_pollitem_t){NULL, mh->listen_fd, ZMQ_POLLIN, 0};
    size_t n = 1;
    for (size_t i = 0; i < mh->n_conns && n < cap; i++) {
        const s_conn_t *c = &mh->conns[i];
        items[n++] = (zmq_pollitem_t){NULL, c->fd, c->out ? ZMQ_POLLOUT : ZMQ_POLLIN, 0};
    }
    return n;
}

/* Writes what is left of c's answer; closes c when it is all out or the peer is gone. */
static void s_write(s_conn_t *c)
{
    ssize_t n = send(c->fd, c->out + c->sent, c->out_len - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0)
        c->sent += (size_t)n;
    if ((n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
        c->sent == c->out_len)
        s_close(c);
}

/* Sets c's answer to status with body (copied, may be NULL) and starts writing it. */
static void s_answer(rtm_metrics_http_t *mh, s_conn_t *c, int status, const char *type,
                     const char *body, size_t len)
{
    size_t cap = rtm_http_response_head_len(status, type, len, false) + len;
    if (!(c->out = malloc(cap)))
        abort();
    int n = rtm_http_write_response(c->out, cap, status, type, body, len, false);
    if (n < 0) { /* sized above: cannot happen */
        s_close(c);
        return;
    }
    c->out_len = (size_t)n;
    c->sent = 0;
    mh->st.requests++;
    s_write(c);
}

static void s_request(rtm_metrics_http_t *mh, s_conn_t *c)
{
    rtm_http_request_t req;
    int rc = rtm_http_parse_request(c->in, c->in_len, S_HEAD_MAX, 0, &req);
    if (rc == RTM_EAGAIN && c->in_len < sizeof c->in)
        return; /* more to come */
    const char *plain = "text/plain; charset=utf-8";
    if (rc == RTM_EAGAIN || rc == RTM_ETOOBIG) {
        mh->st.bad++;
        s_answer(mh, c, 431, plain, "request too large\n", 18);
    } else if (rc < 0) {
        mh->st.bad++;
        s_answer(mh, c, 400, plain, "bad request\n", 12);
    } else if (!rtm_str_eq_cstr(req.path, "/metrics") && !rtm_str_eq_cstr(req.path, "/healthz")) {
        s_answer(mh, c, 404, plain, "not found: try /metrics or /healthz\n", 36);
    } else if (!rtm_str_eq_cstr(req.method, "GET")) {
        s_answer(mh, c, 405, plain, "only GET\n", 9);
    } else if (rtm_str_eq_cstr(req.path, "/healthz")) {
        s_answer(mh, c, 200, plain, "ok\n", 3); /* answered from the loop: the loop runs */
    } else {
        char *text = NULL;
        size_t len = mh->render(mh->ctx, &text);
        s_answer(mh, c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
        free(text);
    }
}

static void s_read(rtm_metrics_http_t *mh, s_conn_t *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        s_close(c); /* the client went away before its answer */
        return;
    }
    if (n < 0)
        return;
    c->in_len += (size_t)n;
    s_request(mh, c);
}

static void s_accept(rtm_metrics_http_t *mh, uint64_t now_ms)
{
    for (;;) {
        int fd = accept4(mh->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN: none left; anything else: try at the next report */
        if (mh->n_conns == RTM_METRICS_HTTP_CONNS) {
            close(fd);
            mh->st.refused++;
            continue;
        }
        s_conn_t *c = &mh->conns[mh->n_conns++];
        c->fd = fd;
        c->opened_ms = now_ms;
        c->in_len = 0;
        c->out = NULL;
    }
}

void rtm_metrics_http_service(rtm_metrics_http_t *mh, const zmq_pollitem_t *items, size_t n,
                              uint64_t now_ms)
{
    for (size_t i = 1; i < n && i - 1 < mh->n_conns; i++) {
        s_conn_t *c = &mh->conns[i - 1];
        if (c->fd != items[i].fd || !items[i].revents)
            continue;
        if (items[i].revents & ZMQ_POLLERR)
            s_close(c);
        else if (c->out)
            s_write(c);
        else
            s_read(mh, c);
    }
    size_t kept = 0;
    for (size_t i = 0; i < mh->n_conns; i++) {
        s_conn_t *c = &mh->conns[i];
        if (c->fd >= 0 && now_ms - c->opened_ms >= S_LIFE_MS) {
            s_close(c);
            mh->st.timeouts++;
        }
        if (c->fd >= 0)
            mh->conns[kept++] = *c; /* struct copy: out moves with it */
    }
    mh->n_conns = kept;
    if (n > 0 && (items[0].revents & ZMQ_POLLIN))
        s_accept(mh, now_ms);
}

const rtm_metrics_http_stats_t *rtm_metrics_http_stats(const rtm_metrics_http_t *mh)
{
    return &mh->st;
}
