/* lg_sub — see lg_sub.h.
 *
 * Input is parsed straight from the loop's shared read buffer; only the
 * bytes of an incomplete frame are copied into the connection's own buffer,
 * so 20,000 idle subscribers hold no buffers at all (the generator measures
 * servers, it must stay lean itself). Writes go out with uv_try_write and
 * fall back to a copied uv_write only when the socket is full. Server frames
 * are never masked; ours always are (RFC 6455 5.1). With --tls, what is
 * read is decrypted first (into a second shared buffer) and what is sent is
 * encrypted; the upgrade request waits for the TLS handshake. */
#define _GNU_SOURCE /* memmem */
#include "lg_sub.h"

#include "lg_tls.h"

#include "rtm_ws.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define S_MAX_FRAME (1u << 20)

enum { S_CONNECTING = 1, S_UPGRADING, S_OPEN, S_SUBSCRIBING, S_SUBSCRIBED, S_CLOSED };

typedef struct {
    uv_write_t req;
    uint8_t data[];
} s_write_t;

static void s_on_write(uv_write_t *req, int status)
{
    free(req);
}

static void s_fail(rtm_lg_sub_t *s);

static void s_send_raw(rtm_lg_sub_t *s, const void *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
    if (n == (int)len)
        return;
    if (n < 0 && n != UV_EAGAIN) {
        s_fail(s);
        return;
    }
    size_t done = n > 0 ? (size_t)n : 0;
    s_write_t *w = malloc(sizeof *w + len - done);
    if (!w)
        abort();
    memcpy(w->data, (const uint8_t *)data + done, len - done);
    b = uv_buf_init((char *)w->data, (unsigned)(len - done));
    if (uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, s_on_write) < 0) {
        free(w);
        s_fail(s);
    }
}

static void s_send(rtm_lg_sub_t *s, const void *data, size_t len)
{
    if (!s->tls)
        s_send_raw(s, data, len);
    else if (rtm_lg_tls_write(s->tls, data, len) < 0 ||
             rtm_lg_tls_flush(s->tls, (uv_stream_t *)&s->tcp) < 0)
        s_fail(s);
}

size_t rtm_lg_ws_client_frame(uint8_t *out, size_t cap, const char *text, size_t len, uint32_t mask)
{
    size_t h = rtm_ws_encode_header(out, RTM_WS_TEXT, len);
    out[1] |= 0x80u; /* MASK bit */
    memcpy(out + h, &mask, 4);
    const uint8_t *key = out + h;
    for (size_t i = 0; i < len && h + 4 + i < cap; i++)
        out[h + 4 + i] = (uint8_t)text[i] ^ key[i & 3];
    return h + 4 + len;
}

long rtm_lg_ws_server_frame(const uint8_t *buf, size_t len, size_t max, uint8_t *op,
                            bool *compressed, const uint8_t **payload, size_t *payload_len)
{
    if (len < 2)
        return 0;
    if (buf[1] & 0x80u)
        return -1;
    size_t h = 2, n = buf[1] & 0x7Fu;
    if (n == 126) {
        if (len < 4)
            return 0;
        n = (size_t)buf[2] << 8 | buf[3];
        h = 4;
    } else if (n == 127) {
        if (len < 10)
            return 0;
        n = 0;
        for (int i = 2; i < 10; i++)
            n = n << 8 | buf[i];
        h = 10;
    }
    if (n > max)
        return -1;
    if (len - h < n)
        return 0;
    *op = buf[0] & 0x0Fu;
    *compressed = buf[0] & 0x40u;
    *payload = buf + h;
    *payload_len = n;
    return (long)(h + n);
}

static void s_send_text(rtm_lg_sub_t *s, const char *text, size_t len)
{
    uint8_t frame[512];
    if (len + RTM_WS_MAX_HEADER > sizeof frame)
        return;
    uint32_t mask = (uint32_t)(uintptr_t)s * 2654435761u;
    s_send(s, frame, rtm_lg_ws_client_frame(frame, sizeof frame, text, len, mask));
}

static void s_on_close(uv_handle_t *h)
{
    rtm_lg_sub_t *s = h->data;
    rtm_lg_tls_free(&s->tls);
    free(s->in);
    s->in = NULL;
    s->in_len = s->in_cap = 0;
}

static void s_close_handle(rtm_lg_sub_t *s)
{
    if (s->inited && !uv_is_closing((uv_handle_t *)&s->tcp))
        uv_close((uv_handle_t *)&s->tcp, s_on_close);
    s->state = S_CLOSED;
}

/* The connection ended on the server's or the network's initiative. */
static void s_fail(rtm_lg_sub_t *s)
{
    rtm_lg_t *lg = s->lg;
    if (s->state == S_CLOSED)
        return;
    if (s->state == S_SUBSCRIBED) {
        lg->subscribed--;
        lg->chan_subs[s->channel]--;
        if (lg->phase != RTM_LG_DONE)
            lg->conn_lost++;
        s_close_handle(s);
        return;
    }
    lg->conn_failed++;
    lg->in_flight--;
    s_close_handle(s);
    rtm_lg_connect_progress(lg);
}

void rtm_lg_sub_close(rtm_lg_sub_t *s)
{
    if (s->state == S_SUBSCRIBED) {
        s->lg->subscribed--;
        s->lg->chan_subs[s->channel]--;
    } else if (s->state != S_CLOSED && s->state != 0) {
        s->lg->in_flight--;
    }
    s_close_handle(s);
}

static void s_subscribe(rtm_lg_sub_t *s)
{
    const rtm_lg_options_t *o = &s->lg->opt;
    char msg[256];
    int n = snprintf(msg, sizeof msg,
                     "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"%s%ld\"}}", o->prefix,
                     o->channel_base + (long)s->channel);
    s->state = S_SUBSCRIBING;
    s_send_text(s, msg, (size_t)n);
}

static void s_on_delivery(rtm_lg_sub_t *s, const char *t, const char *end)
{
    rtm_lg_t *lg = s->lg;
    uint64_t stamp = 0;
    for (t += 3; t < end && *t >= '0' && *t <= '9'; t++)
        stamp = stamp * 10 + (uint64_t)(*t - '0');
    if (lg->opt.expect && lg->phase == RTM_LG_DRAIN && !lg->first_stamp_us)
        rtm_lg_proc_sample(lg->pids, lg->n_pids, &lg->proc_held); /* every process holds all */
    if (!lg->first_stamp_us || stamp < lg->first_stamp_us)
        lg->first_stamp_us = stamp;
    uint64_t now = rtm_lg_now_us();
    rtm_lg_hist_add(&lg->latency, now > stamp ? now - stamp : 0);
    lg->delivered++;
    lg->t_last_delivery_us = now;
}

static bool s_is_event(const char *ev, const char *end, const char *name)
{
    size_t n = strlen(name);
    return (size_t)(end - ev) > n && memcmp(ev, name, n) == 0 && ev[n] == '"';
}

static void s_on_message(rtm_lg_sub_t *s, const char *m, size_t len)
{
    const char *end = m + len;
    const char *t = memmem(m, len, "\"t=", 3);
    if (t) {
        s_on_delivery(s, t, end);
        return;
    }
    const char *ev = memmem(m, len, "\"event\":\"", 9);
    if (!ev)
        return;
    ev += 9;
    rtm_lg_t *lg = s->lg;
    if (s_is_event(ev, end, "pusher:connection_established") && s->state == S_OPEN) {
        s_subscribe(s);
    } else if (s_is_event(ev, end, "pusher_internal:subscription_succeeded") &&
               s->state == S_SUBSCRIBING) {
        s->state = S_SUBSCRIBED;
        lg->chan_subs[s->channel]++;
        lg->subscribed++;
        lg->in_flight--;
        rtm_lg_connect_progress(lg);
    } else if (s_is_event(ev, end, "pusher:ping")) {
        static const char pong[] = "{\"event\":\"pusher:pong\",\"data\":{}}";
        s_send_text(s, pong, sizeof pong - 1);
    } else if (s_is_event(ev, end, "pusher:error")) {
        lg->pusher_errors++;
        if (s->state != S_SUBSCRIBED)
            s_fail(s);
    }
}

static void s_on_control(rtm_lg_sub_t *s, uint8_t op, const uint8_t *p, size_t len)
{
    if (op == RTM_WS_PING && len <= RTM_WS_MAX_CONTROL) {
        uint8_t frame[RTM_WS_MAX_HEADER + RTM_WS_MAX_CONTROL];
        uint32_t mask = 0x5a5a5a5au;
        size_t n = rtm_lg_ws_client_frame(frame, sizeof frame, (const char *)p, len, mask);
        frame[0] = (uint8_t)(0x80u | RTM_WS_PONG);
        s_send(s, frame, n);
    } else if (op == RTM_WS_CLOSE) {
        s_fail(s);
    }
}

/* A compressed message: inflated (it must have been offered) and handled. */
static void s_on_compressed(rtm_lg_sub_t *s, const uint8_t *p, size_t len)
{
    static uint8_t text[S_MAX_FRAME]; /* one loop, one thread */
    rtm_lg_t *lg = s->lg;
    int n = lg->inflater ? rtm_deflate_inflate(lg->inflater, p, len, text, sizeof text) : -1;
    if (n < 0) {
        s_fail(s);
        return;
    }
    lg->compressed++;
    s_on_message(s, (const char *)text, (size_t)n);
}

/* Handles every whole frame in buf; returns the bytes consumed, or -1 after
 * closing the connection. */
static long s_on_frames(rtm_lg_sub_t *s, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (off < len && s->state != S_CLOSED) {
        uint8_t op;
        bool compressed;
        const uint8_t *p;
        size_t plen;
        long n =
            rtm_lg_ws_server_frame(buf + off, len - off, S_MAX_FRAME, &op, &compressed, &p, &plen);
        if (n == 0)
            break;
        if (n < 0) {
            s_fail(s);
            return -1;
        }
        if (op == RTM_WS_TEXT && compressed)
            s_on_compressed(s, p, plen);
        else if (op == RTM_WS_TEXT)
            s_on_message(s, (const char *)p, plen);
        else if (op >= RTM_WS_CLOSE)
            s_on_control(s, op, p, plen);
        off += (size_t)n;
    }
    return s->state == S_CLOSED ? -1 : (long)off;
}

/* Upgrade response: returns the head length once complete and accepted, 0
 * while incomplete, -1 (connection failed) when refused. */
static long s_on_upgrade(rtm_lg_sub_t *s, const uint8_t *buf, size_t len)
{
    const uint8_t *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return len > 8192 ? -1 : 0;
    size_t head = (size_t)(end - buf) + 4;
    if (len < 12 || memcmp(buf + 9, "101", 3) != 0 ||
        !memmem(buf, head, s->lg->ws_accept, strlen(s->lg->ws_accept))) {
        s_fail(s);
        return -1;
    }
    s->state = S_OPEN;
    return (long)head;
}

static long s_consume(rtm_lg_sub_t *s, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    if (s->state == S_UPGRADING) {
        long n = s_on_upgrade(s, buf, len);
        if (n <= 0)
            return n;
        off = (size_t)n;
    }
    long n = s_on_frames(s, buf + off, len - off);
    return n < 0 ? -1 : (long)off + n;
}

static void s_keep(rtm_lg_sub_t *s, const uint8_t *rest, size_t len)
{
    if (len == 0) {
        free(s->in);
        s->in = NULL;
        s->in_len = s->in_cap = 0;
        return;
    }
    if (len > s->in_cap) { /* rest is in the shared read buffer, not in s->in */
        size_t cap = len < 4096 ? 4096 : len;
        free(s->in);
        s->in = malloc(cap);
        if (!s->in)
            abort();
        s->in_cap = (uint32_t)cap;
    }
    memmove(s->in, rest, len);
    s->in_len = (uint32_t)len;
}

static void s_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char shared[256 * 1024]; /* one loop, one thread: reads never overlap */
    *b = uv_buf_init(shared, sizeof shared);
}

/* Plaintext input: after what was kept of the last, parsed as far as whole. */
static void s_on_input(rtm_lg_sub_t *s, const uint8_t *data, size_t len)
{
    if (s->in_len) { /* finish the partial frame first: append, then parse the whole */
        if (s->in_len + len > s->in_cap) {
            size_t cap = (s->in_len + len) * 2;
            s->in = realloc(s->in, cap);
            if (!s->in)
                abort();
            s->in_cap = (uint32_t)cap;
        }
        memcpy(s->in + s->in_len, data, len);
        data = s->in;
        len = s->in_len + len;
    }
    long used = s_consume(s, data, len);
    if (used >= 0)
        s_keep(s, data + used, len - (size_t)used);
}

/* Decrypts and handles what arrived; sends the upgrade once the handshake is done. */
static void s_on_tls_input(rtm_lg_sub_t *s, const uint8_t *data, size_t len)
{
    static uint8_t plain[256 * 1024]; /* one loop, one thread */
    bool established = rtm_lg_tls_established(s->tls);
    rtm_lg_tls_input(s->tls, data, len);
    long n;
    while (s->state != S_CLOSED && (n = rtm_lg_tls_read(s->tls, plain, sizeof plain)) != 0) {
        if (n < 0) {
            s_fail(s);
            return;
        }
        s_on_input(s, plain, (size_t)n);
    }
    if (s->state == S_CLOSED)
        return;
    if (rtm_lg_tls_flush(s->tls, (uv_stream_t *)&s->tcp) < 0)
        s_fail(s);
    else if (!established && rtm_lg_tls_established(s->tls))
        s_send(s, s->lg->ws_request, s->lg->ws_request_len);
}

static void s_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    rtm_lg_sub_t *s = st->data;
    if (nread < 0) {
        s_fail(s);
        return;
    }
    if (nread == 0 || s->state == S_CLOSED)
        return;
    if (s->lg->phase == RTM_LG_PUBLISH || s->lg->phase == RTM_LG_DRAIN)
        s->lg->rx_bytes += (uint64_t)nread; /* on the wire: compressed, encrypted */
    if (s->tls)
        s_on_tls_input(s, (const uint8_t *)b->base, (size_t)nread);
    else
        s_on_input(s, (const uint8_t *)b->base, (size_t)nread);
}

static void s_on_connect(uv_connect_t *req, int status)
{
    rtm_lg_sub_t *s = req->data;
    free(req);
    if (s->state == S_CLOSED)
        return;
    if (status < 0) {
        s_fail(s);
        return;
    }
    s->state = S_UPGRADING;
    if (s->lg->tls_ctx) { /* the upgrade follows the handshake */
        s->tls = rtm_lg_tls_new(s->lg->tls_ctx);
        if (rtm_lg_tls_flush(s->tls, (uv_stream_t *)&s->tcp) < 0)
            s_fail(s);
    } else {
        s_send(s, s->lg->ws_request, s->lg->ws_request_len);
    }
    if (s->state != S_CLOSED)
        uv_read_start((uv_stream_t *)&s->tcp, s_alloc, s_on_read);
}

void rtm_lg_sub_start(rtm_lg_t *lg, rtm_lg_sub_t *s, long index)
{
    s->lg = lg;
    s->channel = (uint32_t)(index % lg->opt.channels);
    s->state = S_CONNECTING;
    lg->in_flight++;
    if (uv_tcp_init_ex(lg->loop, &s->tcp, AF_INET) < 0) {
        s_fail(s);
        return;
    }
    s->inited = true;
    s->tcp.data = s;
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno((uv_handle_t *)&s->tcp, &fd) == 0)
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    uv_tcp_nodelay(&s->tcp, 1);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr =
        htonl(0x7F000002u + (uint32_t)(lg->opt.source_base + index % lg->opt.sources));
    uv_connect_t *req = malloc(sizeof *req);
    if (!req)
        abort();
    req->data = s;
    if (uv_tcp_bind(&s->tcp, (const struct sockaddr *)&src, 0) < 0 ||
        uv_tcp_connect(req, &s->tcp, (const struct sockaddr *)&lg->server, s_on_connect) < 0) {
        free(req);
        s_fail(s);
    }
}
