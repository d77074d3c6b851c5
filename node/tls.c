/* rtm_tls — see tls.h.
 *
 * Memory BIOs of our own: the read side hands OpenSSL the caller's
 * ciphertext in place (no copy into a BIO buffer) and the write side
 * appends records straight into the frame that conn writes, so a
 * connection holds no buffer of its own between calls. With
 * SSL_MODE_RELEASE_BUFFERS OpenSSL frees its record buffers whenever they
 * are empty, which leaves an idle TLS connection with little more than its
 * SSL object. Only a record cut across two reads stays inside OpenSSL.
 *
 * Rotation: the certificate lives in an SSL_CTX that connections reference
 * (SSL_new takes a reference). A reload builds a whole new SSL_CTX, and only
 * if it loads does it replace the current one under a lock that is taken
 * once per new TLS connection, nowhere else; open connections keep theirs
 * until they close. Ticket keys move to the new context, so clients resume
 * across rotations and across workers (they share the context). */
#define _GNU_SOURCE /* timegm */
#include "tls.h"

#include "rtm_error.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

/* TLS 1.2 suites: ECDHE with AEAD only (Mozilla's "intermediate" list);
 * TLS 1.3 keeps OpenSSL's default suites, which are all modern. */
#define S_CIPHERS_TLS12                                                                            \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define S_OUT_MIN 2048 /* first size of an output frame */

struct rtm_tls {
    char *cert_file, *key_file; /* PEM files, read at every (re)load */
    pthread_mutex_t lock;       /* guards ctx: reloads against new connections */
    SSL_CTX *ctx;               /* the certificate in use; one reference is ours */
    BIO_METHOD *bio;            /* the memory BIO every connection uses */
    struct stat cert_st;        /* the files as last loaded or checked */
    struct stat key_st;
    uint64_t not_after;  /* the certificate in use expires then (Unix time); atomic */
    uint64_t reloads[2]; /* reloads that loaded, and that were refused; atomic */
};

struct rtm_tls_conn {
    SSL *ssl;
    const uint8_t *in; /* ciphertext not yet taken by OpenSSL (borrowed) */
    size_t in_len;
    rtm_frame_t *out; /* records to write; NULL while there are none */
    size_t out_cap;   /* bytes allocated for out's data */
    bool failed;      /* a fatal TLS error: nothing more is read or written */
};

/* ---- the connections' BIO ---------------------------------------------- */

static int s_bio_write(BIO *b, const char *data, int len)
{
    rtm_tls_conn_t *t = BIO_get_data(b);
    size_t used = t->out ? t->out->len : 0, need = used + (size_t)len;
    if (need > t->out_cap) {
        size_t cap = t->out_cap ? t->out_cap * 2 : S_OUT_MIN;
        while (cap < need)
            cap *= 2;
        t->out = realloc(t->out, sizeof *t->out + cap);
        if (!t->out)
            abort();
        t->out->refs = 1;
        t->out->len = (uint32_t)used;
        t->out_cap = cap;
    }
    memcpy(t->out->data + used, data, (size_t)len);
    t->out->len = (uint32_t)need;
    return len;
}

static int s_bio_read(BIO *b, char *buf, int len)
{
    rtm_tls_conn_t *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (t->in_len == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = t->in_len < (size_t)len ? t->in_len : (size_t)len;
    memcpy(buf, t->in, n);
    t->in += n;
    t->in_len -= n;
    return (int)n;
}

static long s_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    return cmd == BIO_CTRL_FLUSH; /* writes are never held back */
}

static BIO_METHOD *s_bio_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rtm_tls");
    if (!m || !BIO_meth_set_write(m, s_bio_write) || !BIO_meth_set_read(m, s_bio_read) ||
        !BIO_meth_set_ctrl(m, s_bio_ctrl))
        abort();
    return m;
}

/* ---- the certificate and settings -------------------------------------- */

/* ALPN: HTTP/1.1 when the client offers it (browsers offer h2 first); no
 * ALPN answer otherwise, as without ALPN. */
static int s_alpn(SSL *ssl, const unsigned char **out, unsigned char *out_len,
                  const unsigned char *in, unsigned int in_len, void *arg)
{
    static const unsigned char http11[] = "\x08http/1.1";
    if (SSL_select_next_proto((unsigned char **)out, out_len, http11, sizeof http11 - 1, in,
                              in_len) == OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_OK;
    return SSL_TLSEXT_ERR_NOACK;
}

/* Fails with what OpenSSL said about `what`, and clears its error queue. */
static int s_fail(char *err, size_t err_len, const char *what, const char *file)
{
    char reason[256] = "unknown error";
    unsigned long e = ERR_peek_error(); /* the first: the cause */
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    return rtm_error_fmt(err, err_len, RTM_EINVAL, "%s %s: %s", what, file, reason);
}

/* A server context with the files' certificate and key, or NULL (err). */
static SSL_CTX *s_ctx_load(const rtm_tls_t *tls, char *err, size_t err_len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        abort();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* stateless tickets only */
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_alpn_select_cb(ctx, s_alpn, NULL);
    if (!SSL_CTX_set_cipher_list(ctx, S_CIPHERS_TLS12))
        abort();
    int rc = 0;
    if (SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file) != 1)
        rc = s_fail(err, err_len, "cannot load the certificate chain", tls->cert_file);
    else if (SSL_CTX_use_PrivateKey_file(ctx, tls->key_file, SSL_FILETYPE_PEM) != 1)
        rc = s_fail(err, err_len, "cannot use with the certificate the private key",
                    tls->key_file); /* unreadable, or another pair's */
    if (rc < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* When ctx's certificate expires (Unix time; 0 when unreadable). */
static uint64_t s_not_after(SSL_CTX *ctx)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(SSL_CTX_get0_certificate(ctx)), &tm) != 1)
        return 0;
    time_t t = timegm(&tm);
    return t > 0 ? (uint64_t)t : 0;
}

static void s_stat(const char *file, struct stat *st)
{
    if (stat(file, st) < 0)
        memset(st, 0, sizeof *st);
}

int rtm_tls_new(const char *cert_file, const char *key_file, rtm_tls_t **out, char *err,
                size_t err_len)
{
    *out = NULL;
    rtm_tls_t *tls = calloc(1, sizeof *tls);
    if (!tls)
        abort();
    tls->cert_file = strdup(cert_file);
    tls->key_file = strdup(key_file);
    if (!tls->cert_file || !tls->key_file)
        abort();
    s_stat(cert_file, &tls->cert_st);
    s_stat(key_file, &tls->key_st);
    tls->ctx = s_ctx_load(tls, err, err_len);
    if (!tls->ctx) {
        free(tls->cert_file);
        free(tls->key_file);
        free(tls);
        return RTM_EINVAL;
    }
    tls->bio = s_bio_method();
    tls->not_after = s_not_after(tls->ctx);
    pthread_mutex_init(&tls->lock, NULL);
    *out = tls;
    return 0;
}

void rtm_tls_destroy(rtm_tls_t **tlsp)
{
    rtm_tls_t *tls = *tlsp;
    if (!tls)
        return;
    SSL_CTX_free(tls->ctx);
    BIO_meth_free(tls->bio);
    pthread_mutex_destroy(&tls->lock);
    free(tls->cert_file);
    free(tls->key_file);
    free(tls);
    *tlsp = NULL;
}

int rtm_tls_reload(rtm_tls_t *tls, char *err, size_t err_len)
{
    s_stat(tls->cert_file, &tls->cert_st);
    s_stat(tls->key_file, &tls->key_st);
    SSL_CTX *ctx = s_ctx_load(tls, err, err_len);
    if (!ctx) {
        __atomic_add_fetch(&tls->reloads[1], 1, __ATOMIC_RELAXED);
        return RTM_EINVAL;
    }
    __atomic_add_fetch(&tls->reloads[0], 1, __ATOMIC_RELAXED);
    __atomic_store_n(&tls->not_after, s_not_after(ctx), __ATOMIC_RELAXED);
    unsigned char keys[80]; /* ticket name, HMAC and AES keys */
    pthread_mutex_lock(&tls->lock);
    SSL_CTX *old = tls->ctx;
    if (SSL_CTX_get_tlsext_ticket_keys(old, keys, sizeof keys) == 1)
        SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof keys);
    tls->ctx = ctx;
    pthread_mutex_unlock(&tls->lock);
    OPENSSL_cleanse(keys, sizeof keys);
    SSL_CTX_free(old); /* connections using it hold their own references */
    return 0;
}

static bool s_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

bool rtm_tls_files_changed(rtm_tls_t *tls)
{
    struct stat cert, key;
    s_stat(tls->cert_file, &cert);
    s_stat(tls->key_file, &key);
    bool changed = !s_same_file(&cert, &tls->cert_st) || !s_same_file(&key, &tls->key_st);
    tls->cert_st = cert;
    tls->key_st = key;
    return changed;
}

void rtm_tls_describe(rtm_tls_t *tls, char *buf, size_t len)
{
    char cn[256] = "", until[64] = "?";
    pthread_mutex_lock(&tls->lock);
    X509 *cert = SSL_CTX_get0_certificate(tls->ctx);
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
        strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
    pthread_mutex_unlock(&tls->lock);
    snprintf(buf, len, "subject_cn=\"%s\" not_after=%s", cn, until);
}

void rtm_tls_render_metrics(rtm_tls_t *tls, rtm_prom_t *p)
{
    rtm_prom_family(p, "rtmesh_tls_certificate_expiry_seconds", "gauge",
                    "When the TLS certificate new connections get expires (Unix time).");
    rtm_prom_sample(p, "rtmesh_tls_certificate_expiry_seconds", NULL, 0,
                    __atomic_load_n(&tls->not_after, __ATOMIC_RELAXED));
    rtm_prom_family(p, "rtmesh_tls_reloads_total", "counter",
                    "Reloads of the TLS certificate (SIGHUP, the files changed) by result.");
    static const char *const results[2] = {"loaded", "refused"};
    for (int i = 0; i < 2; i++) {
        rtm_prom_label_t label = {"result", results[i]};
        rtm_prom_sample(p, "rtmesh_tls_reloads_total", &label, 1,
                        __atomic_load_n(&tls->reloads[i], __ATOMIC_RELAXED));
    }
}

/* ---- one connection ---------------------------------------------------- */

rtm_tls_conn_t *rtm_tls_conn_new(rtm_tls_t *tls)
{
    rtm_tls_conn_t *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    pthread_mutex_lock(&tls->lock);
    t->ssl = SSL_new(tls->ctx);
    pthread_mutex_unlock(&tls->lock);
    BIO *bio = BIO_new(tls->bio);
    if (!t->ssl || !bio)
        abort();
    BIO_set_data(bio, t);
    BIO_set_init(bio, 1);
    SSL_set_bio(t->ssl, bio, bio); /* one reference for both sides */
    SSL_set_accept_state(t->ssl);
    return t;
}

void rtm_tls_conn_destroy(rtm_tls_conn_t **tp)
{
    rtm_tls_conn_t *t = *tp;
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t->out);
    free(t);
    *tp = NULL;
}

void rtm_tls_conn_input(rtm_tls_conn_t *t, const uint8_t *data, size_t len)
{
    t->in = data;
    t->in_len = len;
}

int rtm_tls_conn_read(rtm_tls_conn_t *t, uint8_t *out, size_t cap)
{
    if (t->failed)
        return RTM_EPROTO;
    int n = SSL_read(t->ssl, out, cap > INT_MAX ? INT_MAX : (int)cap);
    if (n > 0)
        return n;
    int e = SSL_get_error(t->ssl, n);
    if (e == SSL_ERROR_WANT_READ) {
        t->in = NULL; /* used up; nothing borrowed any more */
        return 0;
    }
    ERR_clear_error();
    t->in = NULL;
    t->in_len = 0;
    if (e == SSL_ERROR_ZERO_RETURN)
        return UV_EOF;
    t->failed = true;
    return RTM_EPROTO;
}

int rtm_tls_conn_write(rtm_tls_conn_t *t, const uint8_t *data, size_t len)
{
    if (t->failed || !SSL_is_init_finished(t->ssl))
        return RTM_EPROTO;
    if (len == 0)
        return 0;
    if (SSL_write(t->ssl, data, len > INT_MAX ? INT_MAX : (int)len) <= 0) {
        ERR_clear_error();
        t->failed = true;
        return RTM_EPROTO;
    }
    return 0;
}

void rtm_tls_conn_shutdown(rtm_tls_conn_t *t)
{
    if (t->failed || !SSL_is_init_finished(t->ssl) ||
        (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
        return;
    SSL_shutdown(t->ssl); /* 0: our close_notify went out; the peer's is not awaited */
    ERR_clear_error();
}

rtm_frame_t *rtm_tls_conn_output(rtm_tls_conn_t *t)
{
    rtm_frame_t *f = t->out;
    t->out = NULL;
    t->out_cap = 0;
    return f;
}

bool rtm_tls_conn_has_output(const rtm_tls_conn_t *t)
{
    return t->out != NULL;
}

bool rtm_tls_conn_established(const rtm_tls_conn_t *t)
{
    return SSL_is_init_finished(t->ssl);
}

bool rtm_tls_conn_resumed(const rtm_tls_conn_t *t)
{
    return SSL_session_reused(t->ssl);
}
