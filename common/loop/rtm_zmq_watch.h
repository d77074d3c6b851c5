/* rtm_zmq_watch — a ZeroMQ socket inside a libuv loop.
 *
 * ZMQ_FD is edge-triggered and any zmq call (a send included) can consume its
 * notification, so the fd only wakes the loop: readiness is always decided by
 * ZMQ_EVENTS, re-checked after every wake-up and after every zmq call the
 * owner made on the socket (rtm_zmq_watch_touch, checked in the same loop
 * iteration). Asking ZMQ_EVENTS costs a poll() on the socket's mailbox, so it
 * is not asked in iterations where nothing could have changed. Each turn
 * delivers at most `budget` messages; when more remain an idle handle keeps
 * the loop from blocking so other handles get their turn. */
#ifndef RTM_ZMQ_WATCH_H
#define RTM_ZMQ_WATCH_H

#include <stdbool.h>
#include <uv.h>

typedef struct rtm_zmq_watch rtm_zmq_watch_t;

/* Called once per readable message: it must receive exactly one (multipart)
 * message from the socket with ZMQ_DONTWAIT. */
typedef void (*rtm_zmq_recv_cb)(rtm_zmq_watch_t *w, void *socket, void *arg);

struct rtm_zmq_watch {
    uv_poll_t poll;   /* wakes the loop when ZMQ_FD signals */
    uv_check_t check; /* re-checks ZMQ_EVENTS in an iteration that touched the socket */
    uv_idle_t idle;   /* active while messages are left over, or a touch is unchecked */
    void *socket;     /* borrowed zmq socket */
    rtm_zmq_recv_cb cb;
    void *arg;
    int budget;   /* messages per turn */
    int closing;  /* handles left to close */
    bool touched; /* a zmq call since the last drain may have consumed the edge */
    void (*close_cb)(rtm_zmq_watch_t *w);
};

/* Starts watching `socket` (borrowed; must outlive the watch) on `loop`.
 * Returns 0 or a negative libuv/errno code. */
int rtm_zmq_watch_start(rtm_zmq_watch_t *w, uv_loop_t *loop, void *socket, int budget,
                        rtm_zmq_recv_cb cb, void *arg);

/* Closes the watch's handles; close_cb (may be NULL) runs once all are closed,
 * after which the socket may be closed and w freed. */
void rtm_zmq_watch_close(rtm_zmq_watch_t *w, void (*close_cb)(rtm_zmq_watch_t *w));

/* Drains now (up to the budget). */
void rtm_zmq_watch_kick(rtm_zmq_watch_t *w);

/* Notes a zmq call on the socket (send, connect, setsockopt) made outside
 * the watch's callback: it may have consumed the fd's edge, so readiness is
 * re-checked later in this loop iteration (never inside this call), and the
 * loop does not block before it is. Call after every such call. */
void rtm_zmq_watch_touch(rtm_zmq_watch_t *w);

#endif
