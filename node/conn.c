/* rtm_conn — connection I/O; see conn.h.
 *
 * Reading: while a connection has no partial input it reads into the worker's
 * shared buffer and keeps nothing; only the unconsumed tail of a read (half a
 * frame, half a request) is copied into a per-connection buffer, which is
 * freed as soon as it empties. Idle connections therefore hold no buffer.
 *
 * Writing: rtm_conn_send only queues a frame reference and puts the
 * connection on the worker's dirty list; the worker flushes every dirty
 * connection once per loop turn (a prepare handle, just before polling), so
 * all frames due to one connection in a turn leave in one writev. A flush
 * first tries uv_try_write, which needs no allocation; only what the kernel
 * would not take goes to uv_write. Sends never close a connection
 * synchronously — a failed write is recorded and closed at flush time — so a
 * fan-out can walk a subscriber list while sending. */
#include "conn.h"

#include "rtm_error.h"
#include "rtm_log.h"
#include "presence.h"
#include "quota.h"
#include "rtm_pusher.h"
#include "rtm_ws.h"
#include "session.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#define S_MAX_INPUT     (300 * 1024) /* an HTTP head + body, or a max frame */
#define S_HTTP_IDLE_MS  30000        /* handshake or keep-alive idle limit */
#define S_CLOSE_WAIT_MS 5000         /* a closing peer gets this long to drain */

enum { S_FAIL_NONE, S_FAIL_IO, S_FAIL_SLOW };

typedef struct {
    uv_write_t req;
    uint8_t n;
    rtm_frame_t *frames[RTM_CONN_PEND];
} s_write_t;

static void s_release_pending(rtm_conn_t *c)
{
    for (uint8_t i = 0; i < c->n_pend; i++)
        rtm_frame_unref(&c->pend[i]);
    c->n_pend = 0;
}

static void s_on_write(uv_write_t *req, int status)
{
    s_write_t *wr = (s_write_t *)req;
    rtm_conn_t *c = req->handle->data;
    for (uint8_t i = 0; i < wr->n; i++)
        rtm_frame_unref(&wr->frames[i]);
    free(wr);
    if (status < 0 && status != UV_ECANCELED)
        rtm_conn_close(c, 0, NULL);
}

/* Writes the queued frames. Returns 0, a libuv error, or RTM_ETOOBIG when the
 * unsent backlog would pass the connection's limit (a slow consumer). */
static int s_flush(rtm_conn_t *c)
{
    if (c->n_pend == 0)
        return 0;
    uv_buf_t bufs[RTM_CONN_PEND];
    size_t total = 0;
    for (uint8_t i = 0; i < c->n_pend; i++) {
        bufs[i] = uv_buf_init((char *)c->pend[i]->data, c->pend[i]->len);
        total += c->pend[i]->len;
    }
    size_t done = 0;
    if (c->tcp.write_queue_size == 0) {
        int r = uv_try_write((uv_stream_t *)&c->tcp, bufs, c->n_pend);
        if (r < 0 && r != UV_EAGAIN) {
            s_release_pending(c);
            return r;
        }
        done = r > 0 ? (size_t)r : 0;
    }
    if (done == total) {
        s_release_pending(c);
        return 0;
    }
    if (c->tcp.write_queue_size + (total - done) > (size_t)c->w->node->opt.max_outbound_kb * 1024) {
        s_release_pending(c);
        return RTM_ETOOBIG;
    }
    s_write_t *wr = malloc(sizeof *wr);
    if (!wr)
        abort();
    wr->n = 0;
    for (uint8_t i = 0; i < c->n_pend; i++) {
        if (done >= bufs[i].len) { /* fully written by uv_try_write */
            done -= bufs[i].len;
            rtm_frame_unref(&c->pend[i]);
            continue;
        }
        bufs[wr->n] = uv_buf_init(bufs[i].base + done, (unsigned)(bufs[i].len - done));
        done = 0;
        wr->frames[wr->n++] = c->pend[i];
    }
    c->n_pend = 0;
    int r = uv_write(&wr->req, (uv_stream_t *)&c->tcp, bufs, wr->n, s_on_write);
    if (r < 0) {
        for (uint8_t i = 0; i < wr->n; i++)
            rtm_frame_unref(&wr->frames[i]);
        free(wr);
    }
    return r;
}

static void s_mark_dirty(rtm_conn_t *c)
{
    if (!c->dirty) {
        c->dirty = true;
        c->dirty_next = c->w->dirty;
        c->w->dirty = c;
    }
}

static void s_queue(rtm_conn_t *c, rtm_frame_t *f)
{
    if (c->fail)
        return;
    if (c->n_pend == RTM_CONN_PEND) {
        int r = s_flush(c);
        if (r < 0) {
            c->fail = r == RTM_ETOOBIG ? S_FAIL_SLOW : S_FAIL_IO;
            s_mark_dirty(c);
            return;
        }
    }
    c->pend[c->n_pend++] = rtm_frame_ref(f);
    s_mark_dirty(c);
}

void rtm_conn_send(rtm_conn_t *c, rtm_frame_t *f)
{
    if (c->state != RTM_CONN_CLOSING)
        s_queue(c, f);
}

void rtm_conn_send_text(rtm_conn_t *c, const char *text, size_t len)
{
    rtm_frame_t *f = rtm_frame_new(RTM_WS_MAX_HEADER + len);
    size_t hdr = rtm_ws_encode_header(f->data, RTM_WS_TEXT, len);
    memcpy(f->data + hdr, text, len);
    f->len = (uint32_t)(hdr + len);
    rtm_conn_send(c, f);
    RTM_COUNT(&c->w->metrics, messages_out_total, 1);
    RTM_COUNT(&c->w->metrics, bytes_out_total, f->len);
    rtm_frame_unref(&f);
}

void rtm_conn_flush(rtm_conn_t *c)
{
    c->dirty = false;
    if (c->closed) { /* closed while queued for this flush: freeing was left to us */
        free(c);
        return;
    }
    uint8_t why = c->fail;
    int r = why ? 0 : s_flush(c);
    if (r == RTM_ETOOBIG)
        why = S_FAIL_SLOW;
    else if (r < 0)
        why = S_FAIL_IO;
    if (why == S_FAIL_SLOW) {
        RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_SLOW_CONSUMER);
        rtm_conn_close(c, 4100, "Too slow to keep up");
    } else if (why == S_FAIL_IO) {
        rtm_conn_close(c, 0, NULL);
    }
}

static void s_on_closed(uv_handle_t *h)
{
    rtm_conn_t *c = h->data;
    rtm_worker_t *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s_release_pending(c);
    free(c->in);
    free(c->msg);
    rtm_presence_free(&c->user);
    c->closed = true;
    if (!c->dirty) /* else the worker's dirty list still points here */
        free(c);
}

static void s_on_shutdown(uv_shutdown_t *req, int status)
{
    rtm_conn_t *c = req->handle->data;
    free(req);
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, s_on_closed);
}

void rtm_conn_close(rtm_conn_t *c, uint16_t ws_code, const char *reason)
{
    if (c->state == RTM_CONN_CLOSING)
        return;
    if (ws_code && c->state == RTM_CONN_WS && !c->fail) {
        rtm_frame_t *f = rtm_frame_new(RTM_WS_MAX_HEADER + RTM_WS_CLOSE_FRAME_SIZE);
        f->len = (uint32_t)rtm_ws_encode_close(f->data, RTM_WS_MAX_HEADER + RTM_WS_CLOSE_FRAME_SIZE,
                                               ws_code, reason ? reason : "");
        s_queue(c, f);
        rtm_frame_unref(&f);
    }
    if (c->counted) {
        RTM_COUNT(&c->w->metrics, connections, -1);
        rtm_quota_release(c->w, c->app);
    }
    c->counted = false;
    c->state = RTM_CONN_CLOSING;
    c->deadline_ms = uv_now(&c->w->loop) + S_CLOSE_WAIT_MS;
    rtm_channels_unsubscribe_all(c->w, c);
    rtm_rest_call_detach(c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (s_flush(c) < 0)
        s_release_pending(c);
    uv_shutdown_t *req = malloc(sizeof *req);
    if (!req)
        abort();
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, s_on_shutdown) < 0) {
        free(req);
        uv_close((uv_handle_t *)&c->tcp, s_on_closed);
    }
}

void rtm_conn_abort(rtm_conn_t *c)
{
    if (c->state != RTM_CONN_CLOSING)
        rtm_conn_close(c, 0, NULL);
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, s_on_closed);
}

/* Runs the session for the buffered bytes; returns how many it consumed. */
static size_t s_process(rtm_conn_t *c, uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len && c->state != RTM_CONN_CLOSING && !c->rest) {
        int r = c->state == RTM_CONN_HTTP ? rtm_http_session_feed(c, data + off, len - off)
                                          : rtm_ws_session_feed(c, data + off, len - off);
        if (r < 0)
            break;
        off += (size_t)r;
    }
    return off;
}

/* Keeps the unconsumed tail of data (which may be c->in itself). */
static void s_keep_tail(rtm_conn_t *c, uint8_t *data, size_t len, size_t used)
{
    size_t tail = len - used;
    if (tail == 0 || c->state == RTM_CONN_CLOSING) {
        free(c->in);
        c->in = NULL;
        c->in_len = c->in_cap = 0;
        return;
    }
    if (data == c->in) {
        memmove(c->in, c->in + used, tail);
    } else {
        c->in_cap = tail < 4096 ? 4096 : (uint32_t)tail;
        c->in = malloc(c->in_cap);
        if (!c->in)
            abort();
        memcpy(c->in, data + used, tail);
    }
    c->in_len = (uint32_t)tail;
}

static void s_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    rtm_conn_t *c = h->data;
    if (!c->in_len) {
        *buf = uv_buf_init((char *)c->w->rbuf, sizeof c->w->rbuf);
        return;
    }
    if (c->in_cap - c->in_len < 4096 && c->in_cap < S_MAX_INPUT) {
        c->in_cap = c->in_cap * 2 > S_MAX_INPUT ? S_MAX_INPUT : c->in_cap * 2;
        c->in = realloc(c->in, c->in_cap);
        if (!c->in)
            abort();
    }
    *buf = uv_buf_init((char *)c->in + c->in_len, c->in_cap - c->in_len);
}

static void s_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    rtm_conn_t *c = s->data;
    if (n < 0) {
        rtm_conn_close(c, 0, NULL);
        return;
    }
    if (n == 0)
        return;
    RTM_COUNT(&c->w->metrics, bytes_in_total, (uint64_t)n);
    c->last_rx_ms = uv_now(&c->w->loop);
    c->pinged = false;
    uint8_t *data = (uint8_t *)buf->base;
    size_t len = (size_t)n;
    if (data != c->w->rbuf) {
        c->in_len += (uint32_t)n;
        data = c->in;
        len = c->in_len;
        if (len == S_MAX_INPUT) { /* the codecs' limits make this unreachable */
            RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_OVERSIZE);
            rtm_conn_close(c, 1009, "Input too large");
            return;
        }
    }
    s_keep_tail(c, data, len, s_process(c, data, len));
}

void rtm_conn_pause(rtm_conn_t *c)
{
    uv_read_stop((uv_stream_t *)&c->tcp);
}

void rtm_conn_resume(rtm_conn_t *c)
{
    if (c->state == RTM_CONN_CLOSING)
        return;
    if (c->in_len)
        s_keep_tail(c, c->in, c->in_len, s_process(c, c->in, c->in_len));
    if (c->state != RTM_CONN_CLOSING && !c->rest)
        uv_read_start((uv_stream_t *)&c->tcp, s_alloc, s_on_read);
}

void rtm_conn_accept(rtm_worker_t *w, uv_stream_t *listener)
{
    rtm_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->w = w;
    uv_tcp_init(&w->loop, &c->tcp);
    c->tcp.data = c;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0) {
        c->state = RTM_CONN_CLOSING;
        uv_close((uv_handle_t *)&c->tcp, s_on_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->last_rx_ms = uv_now(&w->loop);
    uv_read_start((uv_stream_t *)&c->tcp, s_alloc, s_on_read);
}

void rtm_conn_sweep(rtm_conn_t *c, uint64_t now_ms)
{
    const rtm_node_options_t *opt = &c->w->node->opt;
    switch (c->state) {
    case RTM_CONN_HTTP:
        if (!c->rest && now_ms - c->last_rx_ms >= S_HTTP_IDLE_MS)
            rtm_conn_close(c, 0, NULL);
        break;
    case RTM_CONN_WS:
        if (!c->pinged && now_ms - c->last_rx_ms >= (uint64_t)opt->activity_timeout * 1000) {
            rtm_conn_send_text(c, RTM_PUSHER_PING, sizeof RTM_PUSHER_PING - 1);
            c->pinged = true;
            c->deadline_ms = now_ms + (uint64_t)opt->pong_timeout * 1000;
        } else if (c->pinged && now_ms >= c->deadline_ms) {
            RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_PONG_TIMEOUT);
            rtm_conn_close(c, 4201, "Pong reply not received");
        } else if (c->signin_deadline_ms && now_ms >= c->signin_deadline_ms) {
            RTM_COUNT_ERR(&c->w->metrics, RTM_ERR_BAD_AUTH);
            rtm_conn_close(c, 4009, "Connection not signed in in time");
        }
        break;
    default:
        if (now_ms >= c->deadline_ms)
            rtm_conn_abort(c);
    }
}
