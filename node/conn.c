/* rtm_conn — connection I/O; see conn.h.
 *
 * Reading: while a connection has no partial input it reads into the set's
 * shared buffer and keeps nothing; only the unconsumed tail of a read is
 * copied into a per-connection buffer, which is freed as soon as it empties.
 *
 * Writing: rtm_conn_send only queues a frame reference and puts the
 * connection on the flush list; the prepare handle flushes every listed
 * connection once per loop turn, just before polling, so all frames due to
 * one connection in a turn leave in one writev. A flush first tries
 * uv_try_write, which needs no allocation; only what the kernel would not
 * take goes to uv_write. Sends never close a connection synchronously — a
 * failed write is recorded and closed at flush time — so a fan-out can walk
 * a subscriber list while sending. The same list carries connections whose
 * reading was resumed, so their buffered input is fed outside the callback
 * that resumed them.
 *
 * TLS: ciphertext is read into the set's cipher buffer and decrypted into
 * the buffers clear text is read into, so what follows — the session's
 * feed, the kept tail — is the same code for both. At flush the queued
 * frames are encrypted into one frame of records, handshake bytes first, and
 * written like any frame. The handshake needs no state of its own here: the
 * session's handshake deadline runs from accept to the first request, so it
 * covers the TLS handshake too. */
#include "conn.h"

#include "rtm_error.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_INPUT     (300 * 1024) /* an HTTP head + body, or a max frame */
#define S_CLOSE_WAIT_MS 5000         /* a closing peer gets this long to drain */
/* Input a paused connection may buffer before its socket is read no more. A
 * pause is the common case (every REST request waits for its shards), and
 * stopping at once would cost two epoll_ctl calls per request; one read more
 * (at most RTM_CONN_RBUF, decrypted or not) keeps it under S_MAX_INPUT. */
#define S_PAUSED_INPUT (64 * 1024)

typedef struct {
    uv_write_t req;
    uint8_t n;
    rtm_frame_t *frames[RTM_CONN_PEND];
} s_write_t;

static void s_close(rtm_conn_t *c, int why);

static void s_release_pending(rtm_conn_t *c)
{
    for (uint8_t i = 0; i < c->n_pend; i++)
        rtm_frame_unref(&c->pend[i]);
    c->n_pend = 0;
}

/* TLS: replaces the queued frames by the records that carry them, after
 * the handshake's, and before close_notify once closing. Returns 0 or
 * RTM_EPROTO (the session cannot send). */
static int s_encrypt(rtm_conn_t *c)
{
    int r = 0;
    for (uint8_t i = 0; i < c->n_pend && r == 0; i++)
        r = rtm_tls_conn_write(c->tls, c->pend[i]->data, c->pend[i]->len);
    s_release_pending(c);
    if (c->closing)
        rtm_tls_conn_shutdown(c->tls);
    rtm_frame_t *records = rtm_tls_conn_output(c->tls);
    if (records)
        c->pend[c->n_pend++] = records; /* takes its reference */
    return r;
}

static void s_on_write(uv_write_t *req, int status)
{
    s_write_t *wr = (s_write_t *)req;
    rtm_conn_t *c = req->handle->data;
    for (uint8_t i = 0; i < wr->n; i++)
        rtm_frame_unref(&wr->frames[i]);
    free(wr);
    if (status < 0 && status != UV_ECANCELED)
        s_close(c, status);
}

/* Writes the queued frames. Returns 0, a libuv error, or RTM_ETOOBIG when the
 * unsent backlog would pass the connection's limit (a slow consumer). */
static int s_flush(rtm_conn_t *c)
{
    if (c->tls) {
        int r = s_encrypt(c);
        if (r < 0)
            return r;
    }
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
    if (c->tcp.write_queue_size + (total - done) > c->set->max_outbound) {
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
        c->dirty_next = c->set->dirty;
        c->set->dirty = c;
    }
}

static void s_queue(rtm_conn_t *c, rtm_frame_t *f)
{
    if (c->fail)
        return;
    if (c->n_pend == RTM_CONN_PEND) {
        int r = s_flush(c);
        if (r < 0) {
            c->fail = r;
            s_mark_dirty(c);
            return;
        }
    }
    c->pend[c->n_pend++] = rtm_frame_ref(f);
    s_mark_dirty(c);
}

void rtm_conn_send(rtm_conn_t *c, rtm_frame_t *f)
{
    if (!c->closing)
        s_queue(c, f);
}

static void s_on_closed(uv_handle_t *h)
{
    rtm_conn_t *c = h->data;
    rtm_conns_t *cs = c->set;
    if (c->prev)
        c->prev->next = c->next;
    else
        cs->all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s_release_pending(c);
    rtm_tls_conn_destroy(&c->tls);
    free(c->in);
    c->closed = true;
    if (!c->dirty) /* else the flush list still points here */
        free(c);
}

static void s_on_shutdown(uv_shutdown_t *req, int status)
{
    rtm_conn_t *c = req->handle->data;
    free(req);
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, s_on_closed);
}

static void s_close(rtm_conn_t *c, int why)
{
    if (c->closing)
        return;
    c->closing = true;
    c->close_by_ms = uv_now(c->set->loop) + S_CLOSE_WAIT_MS;
    c->set->ev->closing(c, why);
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (c->fail || s_flush(c) < 0)
        s_release_pending(c);
    uv_shutdown_t *req = malloc(sizeof *req);
    if (!req)
        abort();
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, s_on_shutdown) < 0) {
        free(req);
        uv_close((uv_handle_t *)&c->tcp, s_on_closed);
    }
}

void rtm_conn_close(rtm_conn_t *c)
{
    s_close(c, 0);
}

void rtm_conn_abort(rtm_conn_t *c)
{
    if (!c->closing)
        s_close(c, 0);
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, s_on_closed);
}

/* Feeds the session the buffered bytes; returns how many it consumed. */
static size_t s_process(rtm_conn_t *c, uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len && !c->closing && !c->paused) {
        int r = c->set->ev->feed(c, data + off, len - off);
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
    if (tail == 0 || c->closing) {
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

/* Where the next input (plaintext) goes: the shared buffer, or after the
 * partial input, which grows up to the limit. */
static void s_input_space(rtm_conn_t *c, uv_buf_t *buf)
{
    if (!c->in_len) {
        *buf = uv_buf_init((char *)c->set->rbuf, sizeof c->set->rbuf);
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

static void s_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    rtm_conn_t *c = h->data;
    if (c->tls)
        *buf = uv_buf_init((char *)c->set->cipher, sizeof c->set->cipher);
    else
        s_input_space(c, buf);
}

/* Feeds n bytes of input that arrived where s_input_space said; keeps the
 * unconsumed tail. */
static void s_input_arrived(rtm_conn_t *c, uint8_t *data, size_t n)
{
    size_t len = n;
    if (data != c->set->rbuf) {
        c->in_len += (uint32_t)n;
        data = c->in;
        len = c->in_len;
        if (len == S_MAX_INPUT) { /* the sessions' limits make this unreachable */
            RTM_COUNT_ERR(c->set->metrics, RTM_ERR_OVERSIZE);
            rtm_conn_abort(c);
            return;
        }
    }
    s_keep_tail(c, data, len, s_process(c, data, len));
}

/* Decrypts ciphertext data[0..len) and feeds the plaintext on; the
 * handshake's answers wait in the TLS output for the flush. */
static void s_decrypt(rtm_conn_t *c, const uint8_t *data, size_t len)
{
    bool established = rtm_tls_conn_established(c->tls);
    rtm_tls_conn_input(c->tls, data, len);
    int r;
    do {
        uv_buf_t buf;
        s_input_space(c, &buf);
        r = rtm_tls_conn_read(c->tls, (uint8_t *)buf.base, buf.len);
        if (r > 0)
            s_input_arrived(c, (uint8_t *)buf.base, (size_t)r);
    } while (r > 0 && !c->closing);
    if (!established && rtm_tls_conn_established(c->tls)) {
        RTM_COUNT(c->set->metrics, tls_handshakes_total, 1);
        if (rtm_tls_conn_resumed(c->tls))
            RTM_COUNT(c->set->metrics, tls_resumed_total, 1);
        if (rtm_tls_conn_offloaded(c->tls))
            RTM_COUNT(c->set->metrics, tls_offloaded_total, 1);
    }
    if (r == RTM_EPROTO)
        RTM_COUNT_ERR(c->set->metrics, RTM_ERR_TLS);
    if (r < 0)
        s_close(c, r); /* the alert OpenSSL wrote, if any, is flushed first */
    else if (rtm_tls_conn_has_output(c->tls))
        s_mark_dirty(c);
}

/* The first byte of a connection on a set with a certificate: a TLS
 * handshake makes it a TLS connection, its bytes moved to the cipher buffer. */
static uint8_t *s_sniff(rtm_conn_t *c, uint8_t *data, size_t n)
{
    c->sniffed = true;
    if (data[0] != RTM_TLS_HANDSHAKE_BYTE)
        return data;
    c->tls = rtm_tls_conn_new(c->set->tls);
    memcpy(c->set->cipher, data, n);
    return c->set->cipher;
}

static void s_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    rtm_conn_t *c = s->data;
    if (n < 0) {
        if (c->tls && !rtm_tls_conn_established(c->tls)) /* a truncated handshake */
            RTM_COUNT_ERR(c->set->metrics, RTM_ERR_TLS);
        s_close(c, (int)n);
        return;
    }
    if (n == 0)
        return;
    RTM_COUNT(c->set->metrics, bytes_in_total, (uint64_t)n);
    c->last_rx_ms = uv_now(c->set->loop);
    uint8_t *data = (uint8_t *)buf->base;
    if (c->set->tls && !c->sniffed)
        data = s_sniff(c, data, (size_t)n);
    if (c->tls)
        s_decrypt(c, data, (size_t)n);
    else
        s_input_arrived(c, data, (size_t)n);
    if (c->paused && !c->closing && c->in_len >= S_PAUSED_INPUT) {
        c->stopped = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
}

void rtm_conn_pause(rtm_conn_t *c)
{
    c->paused = true;
}

void rtm_conn_resume(rtm_conn_t *c)
{
    if (c->closing)
        return;
    c->paused = false;
    c->resume = true;
    s_mark_dirty(c);
}

/* Feeds what arrived while paused, then reads again if reading had
 * stopped, unless paused anew. */
static void s_resume_now(rtm_conn_t *c)
{
    if (c->in_len)
        s_keep_tail(c, c->in, c->in_len, s_process(c, c->in, c->in_len));
    if (!c->closing && !c->paused && c->stopped) {
        c->stopped = false;
        uv_read_start((uv_stream_t *)&c->tcp, s_alloc, s_on_read);
    }
}

/* Writes what one connection has queued; closes it when that failed. */
static void s_flush_one(rtm_conn_t *c)
{
    int r = c->fail ? c->fail : s_flush(c);
    if (r < 0) {
        c->fail = r;
        s_close(c, r);
    }
}

static void s_on_prepare(uv_prepare_t *h)
{
    rtm_conns_t *cs = h->data;
    while (cs->dirty) {
        rtm_conn_t *c = cs->dirty;
        cs->dirty = c->dirty_next;
        c->dirty = false;
        if (c->closed) { /* closed while listed: freeing was left to us */
            free(c);
            continue;
        }
        if (c->resume) {
            c->resume = false;
            s_resume_now(c);
        }
        if (!c->dirty) /* else listed again by its own input: flushed then */
            s_flush_one(c);
    }
}

void rtm_conns_init(rtm_conns_t *cs, uv_loop_t *loop, size_t conn_size, const rtm_conn_events_t *ev,
                    size_t max_outbound, rtm_metrics_t *metrics)
{
    cs->loop = loop;
    cs->ev = ev;
    cs->conn_size = conn_size;
    cs->max_outbound = max_outbound;
    cs->metrics = metrics;
    cs->all = cs->dirty = NULL;
    uv_prepare_init(loop, &cs->flush);
    cs->flush.data = cs;
    uv_prepare_start(&cs->flush, s_on_prepare);
}

void rtm_conns_adopt(rtm_conns_t *cs, int fd)
{
    rtm_conn_t *c = calloc(1, cs->conn_size);
    if (!c)
        abort();
    c->set = cs;
    uv_tcp_init(cs->loop, &c->tcp);
    c->tcp.data = c;
    c->next = cs->all;
    if (cs->all)
        cs->all->prev = c;
    cs->all = c;
    if (uv_tcp_open(&c->tcp, fd) < 0) {
        close(fd);
        c->closing = true; /* never opened: nothing to report */
        uv_close((uv_handle_t *)&c->tcp, s_on_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->last_rx_ms = uv_now(cs->loop);
    cs->ev->opened(c);
    if (!c->closing)
        uv_read_start((uv_stream_t *)&c->tcp, s_alloc, s_on_read);
}

void rtm_conns_sweep(rtm_conns_t *cs, uint64_t now_ms, void (*open_fn)(rtm_conn_t *c, uint64_t))
{
    for (rtm_conn_t *c = cs->all, *next; c; c = next) {
        next = c->next;
        if (!c->closing)
            open_fn(c, now_ms);
        else if (now_ms >= c->close_by_ms)
            rtm_conn_abort(c);
    }
}

void rtm_conns_each(rtm_conns_t *cs, void (*fn)(rtm_conn_t *c, void *arg), void *arg)
{
    for (rtm_conn_t *c = cs->all, *next; c; c = next) {
        next = c->next;
        if (!c->closing)
            fn(c, arg);
    }
}

void rtm_conns_abort_all(rtm_conns_t *cs)
{
    for (rtm_conn_t *c = cs->all; c; c = c->next)
        rtm_conn_abort(c);
}

void rtm_conns_stop(rtm_conns_t *cs)
{
    s_on_prepare(&cs->flush);
    uv_close((uv_handle_t *)&cs->flush, NULL);
}

void rtm_conns_release(rtm_conns_t *cs)
{
    while (cs->dirty) {
        rtm_conn_t *c = cs->dirty;
        cs->dirty = c->dirty_next;
        c->dirty = false;
        if (c->closed)
            free(c);
    }
}
