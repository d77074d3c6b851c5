/* rtm_zmq_watch — a ZeroMQ socket inside a libuv loop.
 *
 * ZMQ_FD is edge-triggered and any zmq call (a send included) can consume its
 * notification, so the fd only wakes the loop: readiness is always decided by
 * ZMQ_EVENTS, re-checked after every wake-up and once per loop iteration (check
 * handle). Each turn delivers at most `budget` messages; when more remain an
 * idle handle keeps the loop from blocking so other handles get their turn. */
#ifndef RTM_ZMQ_WATCH_H
#define RTM_ZMQ_WATCH_H

#include <uv.h>

typedef struct rtm_zmq_watch rtm_zmq_watch_t;

/* Called once per readable message: it must receive exactly one (multipart)
 * message from the socket with ZMQ_DONTWAIT. */
typedef void (*rtm_zmq_recv_cb)(rtm_zmq_watch_t *w, void *socket, void *arg);

struct rtm_zmq_watch {
    uv_poll_t poll;   /* wakes the loop when ZMQ_FD signals */
    uv_check_t check; /* re-checks ZMQ_EVENTS every iteration */
    uv_idle_t idle;   /* active while messages are left over after a turn */
    void *socket;     /* borrowed zmq socket */
    rtm_zmq_recv_cb cb;
    void *arg;
    int budget;  /* messages per turn */
    int closing; /* handles left to close */
    void (*close_cb)(rtm_zmq_watch_t *w);
};

/* Starts watching `socket` (borrowed; must outlive the watch) on `loop`.
 * Returns 0 or a negative libuv/errno code. */
int rtm_zmq_watch_start(rtm_zmq_watch_t *w, uv_loop_t *loop, void *socket, int budget,
                        rtm_zmq_recv_cb cb, void *arg);

/* Closes the watch's handles; close_cb (may be NULL) runs once all are closed,
 * after which the socket may be closed and w freed. */
void rtm_zmq_watch_close(rtm_zmq_watch_t *w, void (*close_cb)(rtm_zmq_watch_t *w));

/* Drains now (up to the budget). Call after sending on the socket from loop
 * code, since a send may have consumed the fd's edge. */
void rtm_zmq_watch_kick(rtm_zmq_watch_t *w);

#endif
