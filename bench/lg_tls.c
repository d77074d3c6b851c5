/* lg_tls — see lg_tls.h. Memory BIOs keep their buffers between calls: the
 * generator trades a few KiB per connection for the simplest code, as it
 * measures the server's memory, not its own. No session resumption: every
 * connection pays a full handshake, as a first visit does. */
#include "lg_tls.h"

#include <limits.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

struct rtm_lg_tls {
    SSL *ssl;
    BIO *in;  /* ciphertext from the server (owned by ssl) */
    BIO *out; /* ciphertext to send (owned by ssl) */
};

typedef struct {
    uv_write_t req;
    char data[];
} s_write_t;

SSL_CTX *rtm_lg_tls_ctx_new(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        abort();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

rtm_lg_tls_t *rtm_lg_tls_new(SSL_CTX *ctx)
{
    rtm_lg_tls_t *t = calloc(1, sizeof *t);
    if (!t || !(t->ssl = SSL_new(ctx)) || !(t->in = BIO_new(BIO_s_mem())) ||
        !(t->out = BIO_new(BIO_s_mem())))
        abort();
    BIO_set_mem_eof_return(t->in, -1); /* empty: "retry", not end of file */
    SSL_set_bio(t->ssl, t->in, t->out);
    SSL_set_connect_state(t->ssl);
    SSL_set_tlsext_host_name(t->ssl, "localhost");
    SSL_do_handshake(t->ssl); /* writes the ClientHello */
    return t;
}

void rtm_lg_tls_free(rtm_lg_tls_t **tp)
{
    if (!*tp)
        return;
    SSL_free((*tp)->ssl);
    free(*tp);
    *tp = NULL;
}

void rtm_lg_tls_input(rtm_lg_tls_t *t, const void *data, size_t len)
{
    BIO_write(t->in, data, (int)len);
}

long rtm_lg_tls_read(rtm_lg_tls_t *t, void *out, size_t cap)
{
    int n = SSL_read(t->ssl, out, cap > INT_MAX ? INT_MAX : (int)cap); /* handshakes first */
    if (n > 0)
        return n;
    if (SSL_get_error(t->ssl, n) == SSL_ERROR_WANT_READ)
        return 0;
    ERR_clear_error();
    return -1;
}

int rtm_lg_tls_write(rtm_lg_tls_t *t, const void *data, size_t len)
{
    return SSL_write(t->ssl, data, (int)len) == (int)len ? 0 : -1;
}

static void s_on_write(uv_write_t *req, int status)
{
    free(req);
}

int rtm_lg_tls_flush(rtm_lg_tls_t *t, uv_stream_t *s)
{
    char *data;
    long len = BIO_get_mem_data(t->out, &data);
    if (len <= 0)
        return 0;
    uv_buf_t b = uv_buf_init(data, (unsigned)len);
    int n = s->write_queue_size ? UV_EAGAIN : uv_try_write(s, &b, 1);
    int rc = 0;
    if (n < 0 && n != UV_EAGAIN) {
        rc = n;
    } else if (n < len) {
        size_t done = n > 0 ? (size_t)n : 0, rest = (size_t)len - done;
        s_write_t *w = malloc(sizeof *w + rest);
        if (!w)
            abort();
        memcpy(w->data, data + done, rest);
        b = uv_buf_init(w->data, (unsigned)rest);
        if ((rc = uv_write(&w->req, s, &b, 1, s_on_write)) < 0)
            free(w);
    }
    (void)BIO_reset(t->out);
    return rc;
}

bool rtm_lg_tls_established(const rtm_lg_tls_t *t)
{
    return SSL_is_init_finished(t->ssl);
}
