/* rtm_worker — see worker.h.
 *
 * Shutdown runs on the worker's own thread: the main thread only signals the
 * async handle. The worker stops accepting, tells every WebSocket client to
 * reconnect elsewhere (4200), closes its ZeroMQ links and its handles, and
 * runs the loop until nothing is left, so uv_loop_close can prove that every
 * handle was closed. */
#include "worker.h"

#include "rtm_error.h"
#include "rtm_log.h"

#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_SWEEP_MIN_MS  250
#define S_BACKLOG       4096
#define S_STOP_GRACE_MS 1000 /* clients get this long to take their close frames */

static void s_on_flush(uv_prepare_t *h)
{
    rtm_worker_t *w = h->data;
    while (w->dirty) {
        rtm_conn_t *c = w->dirty;
        w->dirty = c->dirty_next;
        rtm_conn_flush(c);
    }
}

static void s_close_handle(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void s_on_sweep(uv_timer_t *t)
{
    rtm_worker_t *w = t->data;
    if (w->stopping) { /* the grace period is over: cut what is still draining */
        for (rtm_conn_t *c = w->conns; c; c = c->next)
            rtm_conn_abort(c);
        uv_close((uv_handle_t *)t, NULL);
        return;
    }
    uint64_t now = uv_now(&w->loop);
    for (rtm_conn_t *c = w->conns, *next; c; c = next) {
        next = c->next;
        rtm_conn_sweep(c, now);
    }
}

static void s_on_connection(uv_stream_t *listener, int status)
{
    rtm_worker_t *w = listener->data;
    if (status < 0) {
        rtm_log(RTM_LOG_WARN, "worker=%d event=accept_failed error=\"%s\"", w->index,
                uv_strerror(status));
        return;
    }
    rtm_conn_accept(w, listener);
}

/* A listening socket of our own with SO_REUSEPORT, handed to libuv (1.44 has
 * no flag for it), so every worker accepts on the same port. */
static int s_listen(rtm_worker_t *w)
{
    const rtm_node_options_t *opt = &w->node->opt;
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(opt->host, (int)opt->port, (struct sockaddr_in *)&addr);
    if (rc < 0)
        rc = uv_ip6_addr(opt->host, (int)opt->port, (struct sockaddr_in6 *)&addr);
    if (rc < 0)
        return rc;
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return uv_translate_sys_error(errno);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    socklen_t len =
        addr.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (bind(fd, (struct sockaddr *)&addr, len) < 0) {
        rc = uv_translate_sys_error(errno);
        close(fd);
        return rc;
    }
    uv_tcp_init(&w->loop, &w->listener);
    w->listener.data = w;
    rc = uv_tcp_open(&w->listener, fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&w->listener, S_BACKLOG, s_on_connection);
    return rc;
}

static void s_on_stop(uv_async_t *a)
{
    rtm_worker_t *w = a->data;
    w->stopping = true;
    for (rtm_conn_t *c = w->conns; c; c = c->next)
        rtm_conn_close(c, 4200, "Server shutting down");
    s_on_flush(&w->flush);
    rtm_upstream_close(&w->up);
    uv_close((uv_handle_t *)&w->listener, NULL);
    uv_close((uv_handle_t *)&w->flush, NULL);
    uv_close((uv_handle_t *)&w->stop_async, NULL);
    uv_timer_start(&w->sweep, s_on_sweep, S_STOP_GRACE_MS, 0);
    uv_unref((uv_handle_t *)&w->sweep); /* the loop ends early if everything closed */
}

static void s_run(void *arg)
{
    rtm_worker_t *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_walk(&w->loop, s_close_handle, NULL); /* the unreferenced sweep timer */
    uv_run(&w->loop, UV_RUN_DEFAULT);
    s_on_flush(&w->flush); /* frees connections closed while queued */
    rtm_channels_destroy(w);
    int rc = uv_loop_close(&w->loop);
    if (rc < 0)
        rtm_log(RTM_LOG_ERROR, "worker=%d event=loop_not_closed error=\"%s\"", w->index,
                uv_strerror(rc));
}

int rtm_worker_create(const rtm_node_t *node, int index, rtm_worker_t **out)
{
    *out = NULL;
    rtm_worker_t *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->index = index;
    w->node = node;
    uint32_t r;
    RAND_bytes((unsigned char *)&r, sizeof r);
    w->sid_prefix = r;
    uv_loop_init(&w->loop);
    w->loop.data = w;
    int rc = s_listen(w);
    if (rc == 0)
        rc = rtm_upstream_start(&w->up, w);
    if (rc < 0) {
        rtm_log(RTM_LOG_ERROR, "worker=%d event=start_failed error=\"%s\"", index,
                rtm_strerror(rc));
        uv_walk(&w->loop, s_close_handle, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        free(w);
        return rc;
    }
    uv_async_init(&w->loop, &w->stop_async, s_on_stop);
    w->stop_async.data = w;
    uv_prepare_init(&w->loop, &w->flush);
    w->flush.data = w;
    uv_prepare_start(&w->flush, s_on_flush);
    uv_timer_init(&w->loop, &w->sweep);
    w->sweep.data = w;
    /* a quarter of the shortest deadline the sweep enforces */
    long shortest = node->opt.activity_timeout;
    if (node->opt.pong_timeout < shortest)
        shortest = node->opt.pong_timeout;
    if (node->opt.user_auth_timeout < shortest)
        shortest = node->opt.user_auth_timeout;
    long period = shortest * 1000 / 4;
    if (period < S_SWEEP_MIN_MS)
        period = S_SWEEP_MIN_MS;
    uv_timer_start(&w->sweep, s_on_sweep, (uint64_t)period, (uint64_t)period);
    *out = w;
    return 0;
}

void rtm_worker_run(rtm_worker_t *w)
{
    if (uv_thread_create(&w->thread, s_run, w) < 0)
        abort();
}

void rtm_worker_stop(rtm_worker_t **wp)
{
    rtm_worker_t *w = *wp;
    if (!w)
        return;
    uv_async_send(&w->stop_async);
    uv_thread_join(&w->thread);
    free(w);
    *wp = NULL;
}

bool rtm_worker_node_ready(const rtm_worker_t *w)
{
    const rtm_node_t *node = w->node;
    for (int i = 0; i < node->n_workers; i++)
        if (!node->workers[i] || !__atomic_load_n(&node->workers[i]->ready, __ATOMIC_RELAXED))
            return false;
    return node->n_workers > 0;
}
