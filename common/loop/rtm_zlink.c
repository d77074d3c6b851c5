/* rtm_zlink — see rtm_zlink.h.
 *
 * The protocol is rtm_zsession's; this module moves its bytes. States:
 * IDLE (waiting to redial) → DIALING (resolving, connecting) → CONNECTED
 * (the session runs: greeting, handshake, messages); any failure closes the
 * TCP handle, and the close callback arms the 100 ms redial. One uv_tcp_t is
 * reused: a new connection starts only after the old handle's close
 * callback, so at most one exists.
 *
 * Input is read into one growing buffer that the session consumes whole
 * frames from. Output goes to `out`; the prepare handle writes it before the
 * loop next polls. What the kernel does not take is moved to `wbuf` and
 * written with uv_write, and nothing else is written until that completes,
 * so bytes stay in order. */
#include "rtm_zlink.h"

#include "rtm_config.h"
#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_wire.h"
#include "rtm_zsession.h"

#include <stdlib.h>
#include <string.h>

#define S_REDIAL_MS   100 /* libzmq's ZMQ_RECONNECT_IVL */
#define S_READ_MIN    65536
#define S_PING_TTL_DS (RTM_WIRE_ZMQ_HB_TIMEOUT_MS / 100) /* deciseconds, as PING says */

typedef enum { S_IDLE, S_DIALING, S_CONNECTED } s_state_t;

struct rtm_zlink {
    uv_loop_t *loop;
    char *endpoint;
    char host[256];
    int port;
    rtm_zsession_config_t cfg; /* identity and keys point into this struct's copies */
    char *identity;
    uint8_t server_key[32], public_key[32], secret_key[32];
    size_t max_out;
    const rtm_zlink_events_t *ev;
    rtm_zsession_events_t session_ev;
    rtm_zsession_t session;
    s_state_t state;
    bool closing;
    bool tcp_open;  /* tcp is initialised and not yet closed */
    bool writing;   /* a uv_write of wbuf is in flight */
    bool resolving; /* a uv_getaddrinfo is in flight */
    int handles;    /* open handles (timer, prepare, tcp) and requests (resolve) */
    uv_tcp_t tcp;
    uv_timer_t timer;   /* redial, connect timeout, then heartbeats while connected */
    uv_prepare_t flush; /* writes `out` once per loop turn */
    uv_connect_t connect;
    uv_getaddrinfo_t resolve;
    uv_write_t write;
    rtm_zbuf_t in, out, wbuf;
    uint64_t last_in_ms;         /* when the peer last sent anything */
    rtm_log_limit_t refused_log; /* handshake failures: a line per 10 s at most */
};

static const char *const s_peer_types_dealer[] = {"ROUTER", NULL};
static const char *const s_peer_types_sub[] = {"XPUB", "PUB", NULL};

/* ---- output ------------------------------------------------------------------------------- */

static void s_on_flush(uv_prepare_t *h);

static void s_want_flush(rtm_zlink_t *l)
{
    if (l->out.len)
        uv_prepare_start(&l->flush, s_on_flush); /* a no-op while it is active */
}

static void s_fail(rtm_zlink_t *l, int why);

static void s_on_written(uv_write_t *req, int status)
{
    rtm_zlink_t *l = req->data;
    l->writing = false;
    l->wbuf.len = 0;
    if (status < 0 && status != UV_ECANCELED && l->tcp_open)
        s_fail(l, status);
    else
        s_want_flush(l);
}

static void s_on_flush(uv_prepare_t *h)
{
    rtm_zlink_t *l = h->data;
    uv_prepare_stop(h);
    if (l->writing || !l->out.len || !l->tcp_open)
        return;
    uv_buf_t buf = uv_buf_init((char *)l->out.p, (unsigned)l->out.len);
    int n = uv_try_write((uv_stream_t *)&l->tcp, &buf, 1);
    if (n == UV_EAGAIN)
        n = 0;
    if (n < 0) {
        s_fail(l, n);
        return;
    }
    if ((size_t)n == l->out.len) {
        l->out.len = 0;
        return;
    }
    rtm_zbuf_t rest = l->wbuf; /* the kernel is full: hand the rest to uv_write */
    l->wbuf = l->out;
    l->out = rest;
    l->out.len = 0;
    buf = uv_buf_init((char *)l->wbuf.p + n, (unsigned)(l->wbuf.len - (size_t)n));
    l->writing = true;
    l->write.data = l;
    int rc = uv_write(&l->write, (uv_stream_t *)&l->tcp, &buf, 1, s_on_written);
    if (rc < 0) {
        l->writing = false;
        s_fail(l, rc);
    }
}

/* ---- connection life ---------------------------------------------------------------------- */

static void s_dial(rtm_zlink_t *l);

static void s_on_timer(uv_timer_t *t);

/* Frees a closing link once nothing of it is open any more. */
static void s_release(rtm_zlink_t *l)
{
    if (!l->closing || l->handles > 0)
        return;
    rtm_zsession_end(&l->session);
    rtm_zbuf_free(&l->in), rtm_zbuf_free(&l->out), rtm_zbuf_free(&l->wbuf);
    free(l->identity), free(l->endpoint);
    free(l);
}

/* Every handle's close callback; the TCP handle's, outside rtm_zlink_close,
 * arms the redial. */
static void s_on_closed(uv_handle_t *h)
{
    rtm_zlink_t *l = h->data;
    l->handles--;
    if (l->closing)
        s_release(l);
    else
        uv_timer_start(&l->timer, s_on_timer, S_REDIAL_MS, 0);
}

/* Ends the current connection (why < 0); reported when it was ready. */
static void s_fail(rtm_zlink_t *l, int why)
{
    bool was_ready = rtm_zlink_ready(l);
    l->state = S_IDLE;
    l->in.len = l->out.len = 0;
    rtm_zsession_end(&l->session);
    uv_timer_stop(&l->timer);
    if (l->tcp_open) {
        l->tcp_open = false;
        uv_close((uv_handle_t *)&l->tcp, s_on_closed);
    } else {
        uv_timer_start(&l->timer, s_on_timer, S_REDIAL_MS, 0);
    }
    if (why == RTM_EAUTH || why == RTM_EPROTO || why == RTM_EVERSION || why == RTM_ETOOBIG)
        rtm_log_limited(&l->refused_log, uv_now(l->loop), RTM_LOG_WARN,
                        "event=tier_link_refused endpoint=%s error=\"%s\"", l->endpoint,
                        rtm_strerror(why));
    if (was_ready)
        l->ev->state(l->ev->arg, l, false, why);
}

static void s_on_timer(uv_timer_t *t)
{
    rtm_zlink_t *l = t->data;
    if (l->state == S_IDLE) {
        s_dial(l);
        return;
    }
    if (l->state == S_DIALING) {
        s_fail(l, RTM_ETIMEDOUT); /* no SYN-ACK: a partition, or a host that is gone */
        return;
    }
    if (uv_now(l->loop) - l->last_in_ms >= RTM_WIRE_ZMQ_HB_TIMEOUT_MS) {
        s_fail(l, RTM_ETIMEDOUT); /* the peer's host vanished, or it stalled */
        return;
    }
    if (rtm_zlink_ready(l)) {
        rtm_zsession_ping(&l->session, S_PING_TTL_DS, &l->out);
        s_want_flush(l);
    }
}

static void s_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void s_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    rtm_zlink_t *l = h->data;
    rtm_zbuf_reserve(&l->in, S_READ_MIN);
    *buf = uv_buf_init((char *)l->in.p + l->in.len, (unsigned)(l->in.cap - l->in.len));
}

static void s_on_connected(uv_connect_t *req, int status)
{
    rtm_zlink_t *l = req->data;
    if (l->closing)
        return;
    if (status < 0) {
        s_fail(l, status);
        return;
    }
    uv_tcp_nodelay(&l->tcp, 1);
    uv_tcp_keepalive(&l->tcp, 1, RTM_WIRE_TCP_KEEPALIVE_S);
    l->last_in_ms = uv_now(l->loop);
    l->state = S_CONNECTED;
    rtm_zsession_start(&l->session, &l->cfg, &l->session_ev, &l->out); /* greeting and more */
    s_want_flush(l);
    uv_read_start((uv_stream_t *)&l->tcp, s_on_alloc, s_on_read);
    uv_timer_start(&l->timer, s_on_timer, RTM_WIRE_ZMQ_HB_IVL_MS, RTM_WIRE_ZMQ_HB_IVL_MS);
}

static void s_connect(rtm_zlink_t *l, const struct sockaddr *addr)
{
    int rc = uv_tcp_init(l->loop, &l->tcp);
    if (rc < 0) {
        s_fail(l, rc);
        return;
    }
    l->tcp.data = l;
    l->tcp_open = true;
    l->handles++;
    l->connect.data = l;
    if ((rc = uv_tcp_connect(&l->connect, &l->tcp, addr, s_on_connected)) < 0)
        s_fail(l, rc);
    else
        uv_timer_start(&l->timer, s_on_timer, RTM_WIRE_ZMQ_HB_TIMEOUT_MS, 0);
}

static void s_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    rtm_zlink_t *l = req->data;
    l->handles--;
    l->resolving = false;
    if (l->closing) {
        uv_freeaddrinfo(res);
        s_release(l);
        return;
    }
    if (status < 0 || !res)
        s_fail(l, status < 0 ? status : UV_EAI_NONAME);
    else
        s_connect(l, res->ai_addr);
    uv_freeaddrinfo(res);
}

static void s_dial(rtm_zlink_t *l)
{
    l->state = S_DIALING;
    struct sockaddr_storage addr;
    if (uv_ip4_addr(l->host, l->port, (struct sockaddr_in *)&addr) == 0 ||
        uv_ip6_addr(l->host, l->port, (struct sockaddr_in6 *)&addr) == 0) {
        s_connect(l, (struct sockaddr *)&addr);
        return;
    }
    char port[8];
    snprintf(port, sizeof port, "%d", l->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    l->resolve.data = l;
    int rc = uv_getaddrinfo(l->loop, &l->resolve, s_on_resolved, l->host, port, &hints);
    if (rc < 0) {
        s_fail(l, rc);
        return;
    }
    l->handles++;
    l->resolving = true;
}

/* ---- input -------------------------------------------------------------------------------- */

static void s_on_ready(void *arg, rtm_str_t peer_meta)
{
    rtm_zlink_t *l = arg;
    l->ev->state(l->ev->arg, l, true, 0);
}

static void s_on_message(void *arg, const rtm_str_t *frames, size_t n)
{
    rtm_zlink_t *l = arg;
    if (!l->closing) /* closed from an earlier callback of this read */
        l->ev->message(l->ev->arg, l, frames, n);
}

static void s_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    rtm_zlink_t *l = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        s_fail(l, (int)nread);
        return;
    }
    l->in.len += (size_t)nread;
    l->last_in_ms = uv_now(l->loop);
    int rc = rtm_zsession_feed(&l->session, &l->in, &l->out);
    if (l->closing || !l->tcp_open)
        return;
    if (rc < 0)
        s_fail(l, rc);
    else
        s_want_flush(l); /* PONGs and handshake replies */
}

/* ---- API ---------------------------------------------------------------------------------- */

rtm_zlink_t *rtm_zlink_new(uv_loop_t *loop, const char *endpoint, const rtm_zlink_opts_t *opts,
                           const rtm_zlink_events_t *ev)
{
    rtm_zlink_t *l = calloc(1, sizeof *l);
    if (!l || !(l->endpoint = strdup(endpoint)) ||
        (opts->identity && !(l->identity = strdup(opts->identity))))
        abort();
    l->loop = loop;
    l->ev = ev;
    l->max_out = opts->max_out;
    l->refused_log.every_ms = 10000;
    l->session_ev = (rtm_zsession_events_t){l, s_on_ready, s_on_message, NULL};
    bool dealer = strcmp(opts->socket_type, "DEALER") == 0;
    l->cfg = (rtm_zsession_config_t){.socket_type = opts->socket_type,
                                     .peer_types = dealer ? s_peer_types_dealer : s_peer_types_sub,
                                     .identity = l->identity,
                                     .max_frame = opts->max_frame};
    if (opts->server_key) {
        memcpy(l->server_key, opts->server_key, 32);
        memcpy(l->public_key, opts->public_key, 32);
        memcpy(l->secret_key, opts->secret_key, 32);
        l->cfg.server_key = l->server_key;
        l->cfg.public_key = l->public_key;
        l->cfg.secret_key = l->secret_key;
    }
    char host[256];
    rtm_config_endpoint_port(endpoint, host, sizeof host, &l->port);
    size_t n = strlen(host); /* [::1] → ::1 for the resolver */
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
        snprintf(l->host, sizeof l->host, "%.*s", (int)(n - 2), host + 1);
    else
        snprintf(l->host, sizeof l->host, "%s", host);
    uv_timer_init(loop, &l->timer);
    uv_prepare_init(loop, &l->flush);
    l->timer.data = l->flush.data = l;
    l->handles = 2;
    s_dial(l);
    return l;
}

bool rtm_zlink_ready(const rtm_zlink_t *link)
{
    return link->state == S_CONNECTED && rtm_zsession_ready(&link->session);
}

int rtm_zlink_send(rtm_zlink_t *link, const rtm_str_t *frames, size_t n)
{
    if (!rtm_zlink_ready(link))
        return RTM_EUNAVAIL;
    if (link->out.len + link->wbuf.len >= link->max_out)
        return RTM_EAGAIN;
    rtm_zsession_send(&link->session, frames, n, &link->out);
    s_want_flush(link);
    return 0;
}

void rtm_zlink_close(rtm_zlink_t **link)
{
    rtm_zlink_t *l = *link;
    *link = NULL;
    if (!l)
        return;
    l->closing = true;
    if (l->resolving)
        uv_cancel((uv_req_t *)&l->resolve); /* its callback frees, if it is the last */
    if (l->tcp_open) {
        l->tcp_open = false;
        uv_close((uv_handle_t *)&l->tcp, s_on_closed);
    }
    uv_close((uv_handle_t *)&l->timer, s_on_closed);
    uv_close((uv_handle_t *)&l->flush, s_on_closed);
}
