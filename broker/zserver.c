/* zserver — see zserver.h.
 *
 * Peers live in an array in accept order; the poll items a turn was given
 * index it, so a peer closed during the turn is only marked (its descriptor
 * closed at once, `gone` reported at once) and removed from the array at the
 * end of service or flush. A read takes what one read() gives (64 KiB at
 * most): a short read means the socket is drained, and a long one is read on
 * at the next turn (poll is level-triggered), so an idle-free turn costs one
 * read per ready peer, not one more that says EAGAIN. */
#define _GNU_SOURCE /* accept4 */
#include "zserver.h"

#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_READ_CHUNK    65536
#define S_ACCEPT_BUDGET 64
#define S_HANDSHAKE_MS  5000 /* from accept to ready, whatever the peer sends */
#define S_PING_TTL_DS   (RTM_WIRE_ZMQ_HB_TIMEOUT_MS / 100)
#define S_EOF           0 /* a peer that closed or reset: not worth a log line */

struct rtm_zpeer {
    rtm_zserver_t *srv;
    int fd; /* -1 once closed */
    rtm_zsession_t session;
    rtm_zsession_events_t ev; /* arg: this peer */
    rtm_zbuf_t in, out;
    uint64_t accepted_ms, last_in_ms;
    bool ready;
    bool blocked; /* the kernel refused part of out: wait for POLLOUT */
    void *data;   /* the layer above's */
    char user_id[41];
};

struct rtm_zserver {
    rtm_zserver_config_t cfg;
    uint8_t public_key[32], secret_key[32];
    const rtm_zserver_events_t *ev;
    int listen_fd;
    rtm_zpeer_t **peers;
    size_t n_peers, cap_peers;
    bool swept;            /* peers were closed since the last sweep */
    uint64_t now_ms;       /* as of the last service */
    uint64_t next_ping_ms; /* when ready peers are PINGed next */
    rtm_zserver_stats_t stats;
    rtm_log_limit_t refused_log;
};

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- peers -------------------------------------------------------------------------------- */

static void s_close(rtm_zpeer_t *p, int why)
{
    rtm_zserver_t *s = p->srv;
    if (p->fd < 0)
        return;
    if (!p->ready && p->out.len) /* an ERROR for a refused key: best effort, no wait */
        (void)!send(p->fd, p->out.p, p->out.len, MSG_NOSIGNAL);
    close(p->fd);
    p->fd = -1;
    s->swept = true;
    if (!p->ready) {
        if (why != RTM_EDENIED)
            s->stats.handshake_failed++;
        else
            s->stats.refused++;
        if (why != S_EOF)
            rtm_log_limited(&s->refused_log, s->now_ms, RTM_LOG_WARN,
                            "event=tier_peer_refused socket=%s error=\"%s\"", s->cfg.name,
                            rtm_strerror(why));
        return;
    }
    s->stats.closed++;
    s->ev->gone(s->ev->arg, p);
}

static void s_free_peer(rtm_zpeer_t *p)
{
    rtm_zsession_end(&p->session);
    rtm_zbuf_free(&p->in);
    rtm_zbuf_free(&p->out);
    free(p);
}

/* Drops the closed peers from the array. */
static void s_sweep(rtm_zserver_t *s)
{
    if (!s->swept)
        return;
    s->swept = false;
    size_t k = 0;
    for (size_t i = 0; i < s->n_peers; i++) {
        if (s->peers[i]->fd >= 0)
            s->peers[k++] = s->peers[i];
        else
            s_free_peer(s->peers[i]);
    }
    s->n_peers = k;
}

static void s_on_ready(void *arg, rtm_str_t meta)
{
    rtm_zpeer_t *p = arg;
    const uint8_t *key = rtm_zsession_peer_key(&p->session);
    if (key)
        zmq_z85_encode(p->user_id, key, 32);
    p->ready = true;
    p->srv->ev->ready(p->srv->ev->arg, p, meta);
}

static void s_on_message(void *arg, const rtm_str_t *frames, size_t n)
{
    rtm_zpeer_t *p = arg;
    if (p->fd >= 0) /* closed by an earlier message of this read */
        p->srv->ev->message(p->srv->ev->arg, p, frames, n);
}

static bool s_authorize(void *arg, const uint8_t key[32])
{
    rtm_zpeer_t *p = arg;
    return rtm_allow_list_check(p->srv->cfg.allow, key);
}

static void s_accept_one(rtm_zserver_t *s, int fd)
{
    int one = 1, idle = RTM_WIRE_TCP_KEEPALIVE_S;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof idle);
    rtm_zpeer_t *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->srv = s;
    p->fd = fd;
    p->accepted_ms = p->last_in_ms = s->now_ms;
    p->ev = (rtm_zsession_events_t){p, s_on_ready, s_on_message, s->cfg.allow ? s_authorize : NULL};
    rtm_zsession_config_t cfg = {.server = true,
                                 .socket_type = s->cfg.socket_type,
                                 .peer_types = s->cfg.peer_types,
                                 .max_frame = s->cfg.max_frame};
    if (s->cfg.public_key) {
        cfg.public_key = s->public_key;
        cfg.secret_key = s->secret_key;
    }
    rtm_zsession_start(&p->session, &cfg, &p->ev, &p->out);
    if (s->n_peers == s->cap_peers) {
        s->cap_peers = s->cap_peers ? s->cap_peers * 2 : 16;
        if (!(s->peers = realloc(s->peers, s->cap_peers * sizeof *s->peers)))
            abort();
    }
    s->peers[s->n_peers++] = p;
    s->stats.accepted++;
}

static void s_accept(rtm_zserver_t *s)
{
    for (int i = 0; i < S_ACCEPT_BUDGET; i++) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            s_accept_one(s, fd);
            continue;
        }
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            rtm_log_limited(&s->refused_log, s->now_ms, RTM_LOG_WARN,
                            "event=accept_failed socket=%s error=\"%s\"", s->cfg.name,
                            strerror(errno));
        return;
    }
}

static void s_read(rtm_zpeer_t *p)
{
    rtm_zbuf_reserve(&p->in, S_READ_CHUNK);
    ssize_t n = read(p->fd, p->in.p + p->in.len, S_READ_CHUNK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        s_close(p, S_EOF);
        return;
    }
    p->in.len += (size_t)n;
    p->last_in_ms = p->srv->now_ms;
    int rc = rtm_zsession_feed(&p->session, &p->in, &p->out);
    if (rc < 0)
        s_close(p, rc);
}

/* MSG_NOSIGNAL: a peer that closed and then reset the connection (a node killed while the
 * broker still wrote to it) makes the next write fail with EPIPE, which must close that peer,
 * not raise SIGPIPE and end the broker. */
static void s_write(rtm_zpeer_t *p)
{
    ssize_t n = send(p->fd, p->out.p, p->out.len, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        s_close(p, S_EOF);
        return;
    }
    if (n > 0)
        rtm_zbuf_consume(&p->out, (size_t)n);
    p->blocked = p->out.len > 0;
}

/* Deadlines and heartbeats of one peer. */
static void s_check(rtm_zserver_t *s, rtm_zpeer_t *p, bool ping)
{
    if (!p->ready && s->now_ms - p->accepted_ms >= S_HANDSHAKE_MS)
        s_close(p, RTM_ETIMEDOUT);
    else if (p->ready && s->now_ms - p->last_in_ms >= RTM_WIRE_ZMQ_HB_TIMEOUT_MS)
        s_close(p, RTM_ETIMEDOUT);
    else if (p->ready && ping)
        rtm_zsession_ping(&p->session, S_PING_TTL_DS, &p->out);
}

/* ---- API ---------------------------------------------------------------------------------- */

static int s_listen(const char *host, int port)
{
    char h[256], service[8];
    size_t len = strlen(host); /* [::1] → ::1 */
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        snprintf(h, sizeof h, "%.*s", (int)(len - 2), host + 1);
    else
        snprintf(h, sizeof h, "%s", host);
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
    int rc = getaddrinfo(strcmp(h, "*") == 0 ? NULL : h, service, &hints, &res);
    if (rc != 0)
        return -EADDRNOTAVAIL;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return rc;
    }
    freeaddrinfo(res);
    return fd;
}

rtm_zserver_t *rtm_zserver_new(const char *host, int port, const rtm_zserver_config_t *cfg,
                               const rtm_zserver_events_t *ev)
{
    int fd = s_listen(host, port);
    if (fd < 0) {
        rtm_log(RTM_LOG_ERROR, "event=bind_failed socket=%s endpoint=tcp://%s:%d error=\"%s\"",
                cfg->name, host, port, strerror(-fd));
        return NULL;
    }
    rtm_zserver_t *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->cfg = *cfg;
    if (cfg->public_key) {
        memcpy(s->public_key, cfg->public_key, 32);
        memcpy(s->secret_key, cfg->secret_key, 32);
        s->cfg.public_key = s->public_key;
        s->cfg.secret_key = s->secret_key;
    }
    s->ev = ev;
    s->listen_fd = fd;
    s->refused_log.every_ms = 1000;
    s->now_ms = s_now_ms();
    s->next_ping_ms = s->now_ms + RTM_WIRE_ZMQ_HB_IVL_MS;
    return s;
}

size_t rtm_zserver_poll_count(const rtm_zserver_t *s)
{
    return 1 + s->n_peers;
}

size_t rtm_zserver_pollitems(const rtm_zserver_t *s, zmq_pollitem_t *items, size_t cap)
{
    size_t n = 0;
    if (n < cap)
        items[n++] = (zmq_pollitem_t){NULL, s->listen_fd, ZMQ_POLLIN, 0};
    for (size_t i = 0; i < s->n_peers && n < cap; i++) {
        const rtm_zpeer_t *p = s->peers[i];
        items[n++] = (zmq_pollitem_t){NULL, p->fd, ZMQ_POLLIN | (p->blocked ? ZMQ_POLLOUT : 0), 0};
    }
    return n;
}

void rtm_zserver_service(rtm_zserver_t *s, const zmq_pollitem_t *items, size_t n, uint64_t now_ms)
{
    s->now_ms = now_ms;
    size_t known = s->n_peers; /* items index the peers as they were */
    for (size_t i = 1; i < n && i - 1 < known; i++) {
        rtm_zpeer_t *p = s->peers[i - 1];
        if (p->fd >= 0 && (items[i].revents & ZMQ_POLLOUT))
            s_write(p);
        if (p->fd >= 0 && (items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
            s_read(p);
    }
    if (n > 0 && (items[0].revents & ZMQ_POLLIN))
        s_accept(s);
    bool ping = now_ms >= s->next_ping_ms;
    if (ping)
        s->next_ping_ms = now_ms + RTM_WIRE_ZMQ_HB_IVL_MS;
    for (size_t i = 0; i < s->n_peers; i++)
        if (s->peers[i]->fd >= 0)
            s_check(s, s->peers[i], ping);
    s_sweep(s);
}

void rtm_zserver_flush(rtm_zserver_t *s)
{
    for (size_t i = 0; i < s->n_peers; i++) {
        rtm_zpeer_t *p = s->peers[i];
        if (p->fd >= 0 && p->out.len && !p->blocked)
            s_write(p);
    }
    s_sweep(s);
}

int rtm_zpeer_send(rtm_zpeer_t *p, const rtm_str_t *frames, size_t n)
{
    if (p->fd < 0 || !p->ready)
        return RTM_EUNAVAIL;
    if (p->out.len >= p->srv->cfg.max_out)
        return RTM_EAGAIN;
    rtm_zsession_send(&p->session, frames, n, &p->out);
    return 0;
}

void *rtm_zpeer_data(const rtm_zpeer_t *p)
{
    return p->data;
}

void rtm_zpeer_set_data(rtm_zpeer_t *p, void *data)
{
    p->data = data;
}

const char *rtm_zpeer_user_id(const rtm_zpeer_t *p)
{
    return p->user_id;
}

void rtm_zpeer_close(rtm_zpeer_t *p)
{
    s_close(p, RTM_EPROTO);
}

const rtm_zserver_stats_t *rtm_zserver_stats(const rtm_zserver_t *s)
{
    return &s->stats;
}

/* Blocks up to linger_ms writing what the peers have queued. */
static void s_linger(rtm_zserver_t *s, int linger_ms)
{
    uint64_t until = s_now_ms() + (uint64_t)(linger_ms > 0 ? linger_ms : 0);
    for (;;) {
        rtm_zserver_flush(s);
        struct pollfd fds[256];
        nfds_t n = 0;
        for (size_t i = 0; i < s->n_peers && n < 256; i++)
            if (s->peers[i]->fd >= 0 && s->peers[i]->out.len)
                fds[n++] = (struct pollfd){s->peers[i]->fd, POLLOUT, 0};
        uint64_t now = s_now_ms();
        if (n == 0 || now >= until)
            return;
        poll(fds, n, (int)(until - now));
        for (size_t i = 0; i < s->n_peers; i++)
            s->peers[i]->blocked = false;
    }
}

void rtm_zserver_destroy(rtm_zserver_t **sp, int linger_ms)
{
    rtm_zserver_t *s = *sp;
    if (!s)
        return;
    s_linger(s, linger_ms);
    for (size_t i = 0; i < s->n_peers; i++) {
        rtm_zpeer_t *p = s->peers[i];
        if (p->fd >= 0 && p->ready)
            s->ev->gone(s->ev->arg, p); /* the layer above frees what it keeps */
        if (p->fd >= 0)
            close(p->fd);
        s_free_peer(p);
    }
    free(s->peers);
    close(s->listen_fd);
    free(s);
    *sp = NULL;
}
