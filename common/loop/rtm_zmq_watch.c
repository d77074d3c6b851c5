/* rtm_zmq_watch — see rtm_zmq_watch.h.
 *
 * Three handles per socket: a poll on ZMQ_FD (wake-up only), a check that
 * drains after the owner touched the socket in this iteration (catches events
 * whose edge a send consumed), and an idle that is active while a turn ran out
 * of budget or a touch came after this iteration's check (so the loop cannot
 * block on an edge that was consumed). Under load a loop iterates several
 * times per message; asking ZMQ_EVENTS in every iteration was one poll()
 * system call per socket per iteration, most of them answering "nothing". The
 * callback is never invoked from inside rtm_zmq_watch_start or touch. */
#include "rtm_zmq_watch.h"

#include <zmq.h>

static int s_readable(void *socket)
{
    int events = 0;
    size_t len = sizeof events;
    if (zmq_getsockopt(socket, ZMQ_EVENTS, &events, &len) != 0)
        return 0;
    return (events & ZMQ_POLLIN) != 0;
}

static void s_on_idle(uv_idle_t *h);

static void s_drain(rtm_zmq_watch_t *w)
{
    if (w->closing)
        return;
    for (int n = 0;; n++) {
        /* asked after every callback, so it answers for any touch made in one */
        bool ready = s_readable(w->socket);
        w->touched = false;
        if (!ready) {
            uv_idle_stop(&w->idle);
            return;
        }
        if (n == w->budget) {
            uv_idle_start(&w->idle, s_on_idle);
            return;
        }
        w->cb(w, w->socket, w->arg);
    }
}

static void s_on_poll(uv_poll_t *h, int status, int events)
{
    s_drain(h->data);
}

static void s_on_check(uv_check_t *h)
{
    rtm_zmq_watch_t *w = h->data;
    if (w->touched)
        s_drain(w);
}

static void s_on_idle(uv_idle_t *h)
{
    s_drain(h->data);
}

void rtm_zmq_watch_kick(rtm_zmq_watch_t *w)
{
    s_drain(w);
}

void rtm_zmq_watch_touch(rtm_zmq_watch_t *w)
{
    if (w->touched || w->closing)
        return;
    w->touched = true;
    uv_idle_start(&w->idle, s_on_idle);
}

int rtm_zmq_watch_start(rtm_zmq_watch_t *w, uv_loop_t *loop, void *socket, int budget,
                        rtm_zmq_recv_cb cb, void *arg)
{
    int fd;
    size_t len = sizeof fd;
    if (zmq_getsockopt(socket, ZMQ_FD, &fd, &len) != 0)
        return -zmq_errno();
    *w = (rtm_zmq_watch_t){.socket = socket, .cb = cb, .arg = arg, .budget = budget};
    int rc = uv_poll_init(loop, &w->poll, fd);
    if (rc < 0)
        return rc;
    uv_check_init(loop, &w->check);
    uv_idle_init(loop, &w->idle);
    w->poll.data = w->check.data = w->idle.data = w;
    uv_poll_start(&w->poll, UV_READABLE, s_on_poll);
    uv_check_start(&w->check, s_on_check);
    rtm_zmq_watch_touch(w); /* messages may be queued already */
    return 0;
}

static void s_on_closed(uv_handle_t *h)
{
    rtm_zmq_watch_t *w = h->data;
    if (--w->closing == 0 && w->close_cb)
        w->close_cb(w);
}

void rtm_zmq_watch_close(rtm_zmq_watch_t *w, void (*close_cb)(rtm_zmq_watch_t *w))
{
    w->closing = 3;
    w->close_cb = close_cb;
    uv_close((uv_handle_t *)&w->poll, s_on_closed);
    uv_close((uv_handle_t *)&w->check, s_on_closed);
    uv_close((uv_handle_t *)&w->idle, s_on_closed);
}
