/* lg_pub — see lg_pub.h.
 *
 * The request is signed exactly as the Pusher server SDKs sign it (MD5 of the
 * body, HMAC-SHA256 of the sorted query), so the server does the full work of
 * verifying a real publish. The response is read with http-parser in
 * response mode, which copes with Content-Length and chunked bodies alike.
 * With --tls the connection is ready once its TLS handshake is done. */
#include "lg_pub.h"

#include "lg_tls.h"
#include "lg_zpub.h"
#include "rtm_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_REQ_MAX (RTM_LG_MAX_PAYLOAD + 1024)

typedef struct {
    uv_write_t req;
    char data[];
} s_write_t;

/* A dashboard update: 24 metrics of a host, about 2 KB as clients see it
 * (quotes escaped, inside the event's data string), numbers moving with seq. */
static int s_dashboard(char *out, size_t cap, uint64_t seq)
{
    int n = snprintf(out, cap, "{\\\"host\\\":\\\"web-17\\\",\\\"metrics\\\":[");
    for (int i = 0; i < 24 && n > 0 && (size_t)n < cap; i++)
        n += snprintf(out + n, cap - (size_t)n,
                      "%s{\\\"name\\\":\\\"http_requests_%d\\\",\\\"value\\\":%llu.%02d,"
                      "\\\"unit\\\":\\\"req/s\\\",\\\"trend\\\":\\\"%s\\\",\\\"p95\\\":%d}",
                      i ? "," : "", i, (unsigned long long)(1000 + i * 37 + seq % 100), i * 7 % 100,
                      i % 3 ? "up" : "down", 20 + i * 3);
    if (n > 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, "]}");
    return n > 0 && (size_t)n < cap ? n : -1;
}

int rtm_lg_pub_shape(const char *shape, long payload, uint64_t seq, char *out, size_t cap)
{
    int n = -1;
    if (strcmp(shape, "dashboard") == 0)
        return s_dashboard(out, cap, seq);
    if (strcmp(shape, "chat") == 0)
        n = snprintf(out, cap,
                     "{\\\"user\\\":\\\"alice\\\",\\\"text\\\":\\\"see you at the standup "
                     "in five minutes, bring the numbers\\\",\\\"seq\\\":%llu}",
                     (unsigned long long)seq);
    else if (strcmp(shape, "pad") == 0 && payload >= 0 && (size_t)payload < cap) {
        memset(out, 'x', (size_t)payload);
        out[payload] = '\0';
        n = (int)payload;
    }
    return n >= 0 && (size_t)n < cap ? n : -1;
}

static void s_on_write(uv_write_t *req, int status)
{
    free(req);
}

int rtm_lg_pub_request(char *out, size_t cap, const rtm_lg_options_t *o, const char *channel,
                       const char *data, long now_s)
{
    char body[RTM_LG_MAX_PAYLOAD + 256], md5[33], sig[65], path[160], tosign[512];
    int blen = snprintf(body, sizeof body,
                        "{\"name\":\"bench\",\"channel\":\"%s\",\"data\":\"%s\"}", channel, data);
    if (blen < 0 || (size_t)blen >= sizeof body)
        return -1;
    rtm_md5_hex(rtm_str(body, (size_t)blen), md5);
    snprintf(path, sizeof path, "/apps/%s/events", o->app_id);
    char query[256];
    int qlen =
        snprintf(query, sizeof query, "auth_key=%s&auth_timestamp=%ld&auth_version=1.0&body_md5=%s",
                 o->app_key, now_s, md5);
    int slen = snprintf(tosign, sizeof tosign, "POST\n%s\n%s", path, query);
    if (qlen < 0 || (size_t)qlen >= sizeof query || slen < 0 || (size_t)slen >= sizeof tosign)
        return -1;
    rtm_hmac_sha256_hex(rtm_str_cstr(o->app_secret), rtm_str(tosign, (size_t)slen), sig);
    int n = snprintf(out, cap,
                     "POST %s?%s&auth_signature=%s HTTP/1.1\r\nHost: %s:%ld\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                     path, query, sig, o->host, o->port, blen, body);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static void s_on_closed(uv_handle_t *h)
{
    rtm_lg_pub_t *p = h->data;
    rtm_lg_t *lg = p->lg;
    p->inited = false;
    rtm_lg_tls_free(&p->tls);
    if (p->reconnect && lg->phase != RTM_LG_DONE) {
        lg->pub_reconnects++;
        rtm_lg_pub_start(lg, p, 0);
    }
}

/* The connection ended: a request in flight failed; reconnect unless the run
 * is over (servers that answer "Connection: close" get here every time). */
static void s_lost(rtm_lg_pub_t *p)
{
    rtm_lg_t *lg = p->lg;
    if (p->busy) {
        lg->publish_err++;
        lg->expected -= p->owed;
        p->busy = false;
    }
    p->ready = false;
    p->reconnect = true;
    rtm_lg_pub_close(p);
}

void rtm_lg_pub_answered(rtm_lg_pub_t *p, bool ok)
{
    rtm_lg_t *lg = p->lg;
    rtm_lg_hist_add(&lg->rest_latency, rtm_lg_now_us() - p->sent_us);
    if (ok) {
        lg->publish_ok++;
    } else {
        lg->publish_err++;
        lg->expected -= p->owed;
    }
    p->busy = false;
    p->ready = true;
    if (p->z && lg->phase == RTM_LG_PUBLISH && lg->opt.rate == 0)
        rtm_lg_pub_send(p); /* flat out (REST does this once the response is read) */
}

static int s_on_complete(http_parser *hp)
{
    rtm_lg_pub_t *p = hp->data;
    if (!p->busy)
        return 0;
    rtm_lg_pub_answered(p, hp->status_code == 200);
    p->ready = http_should_keep_alive(hp) != 0;
    if (!p->ready)
        p->reconnect = true;
    return 0;
}

static const http_parser_settings s_settings = {.on_message_complete = s_on_complete};

static void s_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char shared[64 * 1024];
    *b = uv_buf_init(shared, sizeof shared);
}

/* Parses response bytes; false when the connection is to go. */
static bool s_on_response(rtm_lg_pub_t *p, const char *data, size_t len)
{
    size_t n = http_parser_execute(&p->parser, &s_settings, data, len);
    return n == len && HTTP_PARSER_ERRNO(&p->parser) == HPE_OK && !p->reconnect;
}

/* Decrypts and parses; the connection is ready once the handshake is done. */
static bool s_on_tls_response(rtm_lg_pub_t *p, const char *data, size_t len)
{
    static char plain[64 * 1024];
    bool established = rtm_lg_tls_established(p->tls);
    rtm_lg_tls_input(p->tls, data, len);
    long n;
    while ((n = rtm_lg_tls_read(p->tls, plain, sizeof plain)) > 0)
        if (!s_on_response(p, plain, (size_t)n))
            return false;
    if (n < 0 || rtm_lg_tls_flush(p->tls, (uv_stream_t *)&p->tcp) < 0)
        return false;
    if (!established && rtm_lg_tls_established(p->tls))
        p->ready = true;
    return true;
}

static void s_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    rtm_lg_pub_t *p = st->data;
    if (nread < 0) {
        s_lost(p);
        return;
    }
    if (!(p->tls ? s_on_tls_response(p, b->base, (size_t)nread)
                 : s_on_response(p, b->base, (size_t)nread))) {
        s_lost(p);
        return;
    }
    if (p->ready && p->lg->phase == RTM_LG_PUBLISH && p->lg->opt.rate == 0)
        rtm_lg_pub_send(p); /* flat out: the next request as soon as one is answered */
}

void rtm_lg_pub_send(rtm_lg_pub_t *p)
{
    rtm_lg_t *lg = p->lg;
    const rtm_lg_options_t *o = &lg->opt;
    long cpc = lg->opt.conns / (lg->opt.channels ? lg->opt.channels : 1);
    uint64_t lag_limit = (uint64_t)o->max_lag * (uint64_t)(cpc > 0 ? cpc : 1);
    if (o->rate == 0 && o->max_lag > 0 && lg->expected - lg->delivered >= lag_limit)
        return; /* the tick retries once deliveries catch up */
    uint64_t ch = lg->next_channel++ % (uint64_t)o->channels;
    char channel[128], data[RTM_LG_MAX_PAYLOAD + 64];
    snprintf(channel, sizeof channel, "%s%ld", o->prefix, o->channel_base + (long)ch);
    uint64_t now = rtm_lg_now_us();
    int dl = snprintf(data, sizeof data, "t=%llu;s=%llu;", (unsigned long long)now,
                      (unsigned long long)lg->published);
    int sl =
        rtm_lg_pub_shape(o->shape, o->payload, lg->published, data + dl, sizeof data - (size_t)dl);
    dl += sl > 0 ? sl : 0;
    s_write_t *w = NULL;
    int len = 0;
    if (!p->z) { /* REST: the signed request (librtmesh's thread makes its own message) */
        if (!(w = malloc(sizeof *w + S_REQ_MAX)))
            abort();
        len = rtm_lg_pub_request(w->data, S_REQ_MAX, o, channel, data, (long)(now / 1000000u));
        if (len < 0) {
            free(w);
            return;
        }
    }
    p->owed = lg->chan_subs[ch];
    p->sent_us = now;
    p->busy = true;
    p->ready = false;
    lg->expected += p->owed;
    lg->published++;
    if (p->z) {
        rtm_lg_zpub_send(p->z, channel, data, (size_t)dl);
        return;
    }
    if (p->tls) {
        int rc = rtm_lg_tls_write(p->tls, w->data, (size_t)len);
        free(w);
        if (rc < 0 || rtm_lg_tls_flush(p->tls, (uv_stream_t *)&p->tcp) < 0)
            s_lost(p);
        return;
    }
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&p->tcp, &b, 1, s_on_write) < 0) {
        free(w);
        s_lost(p);
    }
}

static void s_on_connect(uv_connect_t *req, int status)
{
    rtm_lg_pub_t *p = req->data;
    free(req);
    if (status < 0) { /* no retry: a server that refuses is down, not busy */
        if (status != UV_ECANCELED)
            fprintf(stderr, "loadgen: publisher connect failed: %s\n", uv_strerror(status));
        p->reconnect = false;
        rtm_lg_pub_close(p);
        return;
    }
    if (p->lg->tls_ctx) { /* ready once the handshake is done */
        p->tls = rtm_lg_tls_new(p->lg->tls_ctx);
        if (rtm_lg_tls_flush(p->tls, (uv_stream_t *)&p->tcp) < 0) {
            s_lost(p);
            return;
        }
    } else {
        p->ready = true;
    }
    uv_read_start((uv_stream_t *)&p->tcp, s_alloc, s_on_read);
}

void rtm_lg_pub_start(rtm_lg_t *lg, rtm_lg_pub_t *p, long index)
{
    p->lg = lg;
    if (lg->opt.brokers) {
        p->ready = (p->z = rtm_lg_zpub_new(p)) != NULL;
        return;
    }
    p->reconnect = p->busy = p->ready = false;
    http_parser_init(&p->parser, HTTP_RESPONSE);
    p->parser.data = p;
    uv_tcp_init(lg->loop, &p->tcp);
    p->inited = true;
    p->tcp.data = p;
    uv_tcp_nodelay(&p->tcp, 1);
    uv_connect_t *req = malloc(sizeof *req);
    if (!req)
        abort();
    req->data = p;
    if (uv_tcp_connect(req, &p->tcp, (const struct sockaddr *)&lg->server, s_on_connect) < 0) {
        free(req);
        rtm_lg_pub_close(p);
    }
}

void rtm_lg_pub_close(rtm_lg_pub_t *p)
{
    p->ready = false;
    if (p->z) {
        rtm_lg_zpub_close(p->z);
        p->z = NULL;
        return;
    }
    if (p->lg->phase == RTM_LG_DONE)
        p->reconnect = false;
    if (p->inited && !uv_is_closing((uv_handle_t *)&p->tcp))
        uv_close((uv_handle_t *)&p->tcp, s_on_closed);
}
