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
 * across rotations and across workers (they share the context).
 *
 * Offload after a TLS 1.3 handshake: an idle OpenSSL 3.0 SSL object holds
 * ~14.8 KB however it is set up, more than everything else a connection
 * keeps, and this kernel has no kTLS to hand the records to. So OpenSSL runs
 * the handshake only: the moment a TLS 1.3 handshake is complete, the
 * connection keeps the application traffic secrets OpenSSL logged (the
 * keylog callback; never written anywhere), checks how many records OpenSSL
 * already protected with them, frees the SSL and protects records itself
 * with rtm_tls_record (a few hundred bytes per connection, the AEAD contexts
 * shared by the thread). TLS 1.2 connections, and any TLS 1.3 one whose
 * offload cannot be checked, keep their SSL. */
#define _GNU_SOURCE /* timegm */
#include "tls.h"

#include "rtm_error.h"
#include "rtm_tls_record.h"

#include <limits.h>
#include <openssl/crypto.h>
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
 * TLS 1.3: OpenSSL's default suites, all modern. Both in our order, not the
 * client's: OpenSSL clients ask for AES-256-GCM-SHA384 first, and its SHA-384
 * transcript and key schedule cost a full handshake ~10% more server CPU than
 * SHA-256, which CPUs with SHA extensions run in hardware (bench/PROFILE.md).
 * A client that puts ChaCha20 first (no AES in hardware) still gets it. */
#define S_CIPHERS_TLS12                                                                            \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define S_SUITES_TLS13 "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define S_OUT_MIN      2048 /* first size of an output frame */

struct rtm_tls {
    char *cert_file, *key_file; /* PEM files, read at every (re)load */
    pthread_mutex_t lock;       /* guards ctx: reloads against new connections */
    SSL_CTX *ctx;               /* the certificate in use; one reference is ours */
    BIO_METHOD *bio;            /* the memory BIO every connection uses */
    struct stat cert_st;        /* the files as last loaded or checked */
    struct stat key_st;
    uint64_t not_after;   /* the certificate in use expires then (Unix time); atomic */
    uint64_t reloads[2];  /* reloads that loaded, and that were refused; atomic */
    pthread_key_t crypto; /* each thread's rtm_tls_crypto_t, made at its first connection */
};

/* Which application traffic secrets the keylog callback brought. */
enum { S_CLIENT_SECRET = 1, S_SERVER_SECRET = 2 };

struct rtm_tls_conn {
    SSL *ssl;                 /* the handshake, and TLS 1.2 throughout; NULL once offloaded */
    rtm_tls_crypto_t *crypto; /* the thread's AEAD contexts (borrowed) */
    rtm_tls_record_t rec;     /* TLS 1.3: the secrets logged, then the record keys */
    const uint8_t *in;        /* ciphertext not yet taken (borrowed) */
    size_t in_len;
    rtm_frame_t *out;   /* records to write; NULL while there are none */
    size_t out_cap;     /* bytes allocated for out's data */
    uint8_t *held;      /* offloaded: a record cut across reads, or the plaintext of one
                           that did not fit the reader's buffer; NULL when none */
    uint32_t held_len;  /* bytes of the record gathered, or of the plaintext left */
    uint32_t held_end;  /* the record's length (its header's until that is in), or where
                           the plaintext left ends */
    uint32_t out_total; /* handshake: bytes written so far */
    uint32_t key_mark;  /* handshake: out_total when our application secret came */
    uint8_t secrets;    /* handshake: the S_*_SECRET logged */
    uint8_t secret_len; /* their length */
    bool held_plain;    /* held is plaintext */
    bool resumed;       /* offloaded: the handshake resumed a session */
    bool sent_close;    /* offloaded: our close_notify went out */
    bool eof;           /* offloaded: the peer's close_notify came */
    bool failed;        /* a fatal TLS error: nothing more is read or written */
};

/* ---- the connections' BIO ---------------------------------------------- */

/* Appends len bytes to the output; returns where they go. */
static uint8_t *s_out_room(rtm_tls_conn_t *t, size_t len)
{
    size_t used = t->out ? t->out->len : 0, need = used + len;
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
    t->out->len = (uint32_t)need;
    return t->out->data + used;
}

static int s_bio_write(BIO *b, const char *data, int len)
{
    rtm_tls_conn_t *t = BIO_get_data(b);
    memcpy(s_out_room(t, (size_t)len), data, (size_t)len);
    t->out_total += (uint32_t)len;
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

/* OpenSSL's key log, one line per secret ("LABEL <client random> <secret>",
 * hex): the connection keeps its TLS 1.3 application traffic secrets for
 * the offload, and notes where in its output our own came into use. */
static void s_keylog(const SSL *ssl, const char *line)
{
    static const char *const labels[2] = {"CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 "};
    rtm_tls_conn_t *t = SSL_get_app_data(ssl);
    for (int i = 0; t && i < 2; i++) {
        if (strncmp(line, labels[i], strlen(labels[i])) != 0)
            continue;
        rtm_tls_traffic_t *dst = i == 0 ? &t->rec.rd : &t->rec.wr;
        const char *hex = strrchr(line, ' ') + 1;
        size_t len;
        if (OPENSSL_hexstr2buf_ex(dst->secret, sizeof dst->secret, &len, hex, '\0') != 1)
            return; /* longer than any suite's: no offload */
        t->secrets |= i == 0 ? S_CLIENT_SECRET : S_SERVER_SECRET;
        t->secret_len = (uint8_t)len;
        if (i == 1)
            t->key_mark = t->out_total;
    }
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
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* stateless tickets only */
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_alpn_select_cb(ctx, s_alpn, NULL);
    SSL_CTX_set_keylog_callback(ctx, s_keylog);
    if (!SSL_CTX_set_cipher_list(ctx, S_CIPHERS_TLS12) ||
        !SSL_CTX_set_ciphersuites(ctx, S_SUITES_TLS13))
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

static void s_crypto_free(void *crypto)
{
    rtm_tls_crypto_destroy((rtm_tls_crypto_t **)&crypto);
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
    if (pthread_key_create(&tls->crypto, s_crypto_free) != 0)
        abort();
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
    s_crypto_free(pthread_getspecific(tls->crypto)); /* other threads' went when they ended */
    pthread_key_delete(tls->crypto);
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

static rtm_tls_crypto_t *s_thread_crypto(rtm_tls_t *tls)
{
    rtm_tls_crypto_t *c = pthread_getspecific(tls->crypto);
    if (!c) {
        c = rtm_tls_crypto_new();
        if (pthread_setspecific(tls->crypto, c) != 0)
            abort();
    }
    return c;
}

rtm_tls_conn_t *rtm_tls_conn_new(rtm_tls_t *tls)
{
    rtm_tls_conn_t *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->crypto = s_thread_crypto(tls);
    pthread_mutex_lock(&tls->lock);
    t->ssl = SSL_new(tls->ctx);
    pthread_mutex_unlock(&tls->lock);
    BIO *bio = BIO_new(tls->bio);
    if (!t->ssl || !bio)
        abort();
    BIO_set_data(bio, t);
    BIO_set_init(bio, 1);
    SSL_set_bio(t->ssl, bio, bio); /* one reference for both sides */
    SSL_set_app_data(t->ssl, t);   /* for the keylog callback */
    SSL_set_accept_state(t->ssl);
    return t;
}

static void s_drop_held(rtm_tls_conn_t *t)
{
    free(t->held);
    t->held = NULL;
    t->held_plain = false;
}

void rtm_tls_conn_destroy(rtm_tls_conn_t **tp)
{
    rtm_tls_conn_t *t = *tp;
    if (!t)
        return;
    SSL_free(t->ssl);
    rtm_tls_record_clear(&t->rec);
    free(t->held);
    free(t->out);
    free(t);
    *tp = NULL;
}

void rtm_tls_conn_input(rtm_tls_conn_t *t, const uint8_t *data, size_t len)
{
    t->in = data;
    t->in_len = len;
}

/* ---- the offload ------------------------------------------------------- */

/* The records OpenSSL protected with our application secret (its
 * NewSessionTickets), counted in the output from where the secret came into
 * use; *last: where the last of them starts. False when that cannot be told
 * (some already left with an earlier output). */
static bool s_records_sent(rtm_tls_conn_t *t, uint64_t *sent, size_t *last)
{
    size_t len = t->out ? t->out->len : 0, start = t->out_total - len, off = 0;
    if (t->key_mark < start)
        return false;
    size_t mark = t->key_mark - start; /* in the output */
    const uint8_t *d = len ? t->out->data : NULL;
    bool aligned = mark == len; /* a record starts at the mark, or nothing came after it */
    uint64_t n = 0;
    while (off + RTM_TLS_RECORD_HEADER <= len) {
        aligned = aligned || off == mark;
        if (off >= mark) {
            *last = off;
            n++;
        }
        off += RTM_TLS_RECORD_HEADER + ((size_t)d[off + 3] << 8 | d[off + 4]);
    }
    *sent = n;
    return off == len && aligned;
}

/* Proves the count: the last record, at `last` in the output, opens with
 * t->rec's write key (already derived) at sequence number sent - 1. */
static bool s_last_record_ours(rtm_tls_conn_t *t, uint64_t sent, size_t last)
{
    if (sent == 0)
        return true;
    const uint8_t *d = t->out->data;
    size_t len = t->out->len;
    rtm_tls_record_t own = t->rec; /* our key as if we were reading it */
    own.rd = t->rec.wr;
    own.rd.seq = sent - 1;
    int alert, rec_len = rtm_tls_record_measure(d + last, len - last, &alert);
    uint8_t *plain = rec_len > 0 ? malloc((size_t)rec_len) : NULL;
    size_t got; /* a NewSessionTicket: authentic when refused for anything but its tag */
    bool opened = plain && (size_t)rec_len == len - last &&
                  (rtm_tls_record_open(&own, t->crypto, d + last, (size_t)rec_len, plain, &got,
                                       &alert) >= 0 ||
                   alert != RTM_TLS_ALERT_BAD_RECORD_MAC);
    free(plain);
    rtm_tls_record_clear(&own);
    return opened;
}

/* Once OpenSSL completed a handshake: a TLS 1.3 connection whose secrets
 * came and whose records add up continues without its SSL. OpenSSL read
 * nothing past the client's Finished (no read-ahead, nothing pending), so
 * the client's first application record is still in our input, and its
 * sequence number is 0. The keys are derived once, before the proof, which
 * uses ours; a connection that fails it keeps its SSL and never uses them. */
static void s_offload(rtm_tls_conn_t *t)
{
    const SSL_CIPHER *cipher = SSL_get_current_cipher(t->ssl);
    rtm_tls_suite_t suite;
    size_t secret_len, last = 0;
    uint64_t sent;
    if (SSL_version(t->ssl) != TLS1_3_VERSION ||
        t->secrets != (S_CLIENT_SECRET | S_SERVER_SECRET) || SSL_has_pending(t->ssl) || !cipher ||
        rtm_tls_suite(SSL_CIPHER_get_protocol_id(cipher), &suite, &secret_len) < 0 ||
        secret_len != t->secret_len || !s_records_sent(t, &sent, &last))
        return;
    rtm_tls_record_init(&t->rec, t->crypto, suite, t->rec.rd.secret, t->rec.wr.secret, 0, sent);
    if (!s_last_record_ours(t, sent, last))
        return;
    t->resumed = SSL_session_reused(t->ssl);
    SSL_free(t->ssl); /* and our BIO with it */
    t->ssl = NULL;
}

/* ---- records of our own, once offloaded ----------------------------- */

/* Room in the output for a record of len content bytes. */
static uint8_t *s_record_room(rtm_tls_conn_t *t, size_t len)
{
    return s_out_room(t, len + RTM_TLS_RECORD_OVERHEAD);
}

/* Settles a seal's result n into the room s_record_room(t, len) made: the
 * room is taken back when sealing failed. Returns n. */
static int s_sealed(rtm_tls_conn_t *t, int n, size_t len)
{
    if (n >= 0)
        return n;
    t->out->len -= (uint32_t)(len + RTM_TLS_RECORD_OVERHEAD);
    if (t->out->len == 0)
        free(rtm_tls_conn_output(t));
    return n;
}

static int s_seal_alert(rtm_tls_conn_t *t, uint8_t description)
{
    uint8_t *p = s_record_room(t, 2);
    return s_sealed(t, rtm_tls_record_seal_alert(&t->rec, t->crypto, description, p), 2);
}

/* The connection is over: an alert to send (>= 0) goes out first. */
static int s_conn_fail(rtm_tls_conn_t *t, int alert)
{
    if (alert >= 0 && !t->sent_close)
        s_seal_alert(t, (uint8_t)alert);
    t->failed = true;
    s_drop_held(t);
    rtm_tls_record_clear(&t->rec);
    return RTM_EPROTO;
}

/* Our KeyUpdate, when the peer asked for one or our key is worn. */
static int s_update_if_due(rtm_tls_conn_t *t)
{
    if (!rtm_tls_record_update_due(&t->rec) || t->sent_close)
        return 0;
    uint8_t *p = s_record_room(t, 5);
    return s_sealed(t, rtm_tls_record_seal_key_update(&t->rec, t->crypto, p), 5) < 0
               ? s_conn_fail(t, -1)
               : 0;
}

/* The next whole record: where it is whole in the input, it is returned in
 * place; a cut one is gathered in t->held. Returns its length, 0 when the
 * input is used up before it is whole, or RTM_EPROTO with *alert. */
static int s_next_record(rtm_tls_conn_t *t, const uint8_t **rec, int *alert)
{
    if (!t->held) {
        int len = rtm_tls_record_measure(t->in, t->in_len, alert);
        if (len < 0)
            return len;
        if (len > 0 && (size_t)len <= t->in_len) {
            *rec = t->in;
            t->in += len;
            t->in_len -= (size_t)len;
            return len;
        }
        if (t->in_len == 0)
            return 0;
        t->held_end = len > 0 ? (uint32_t)len : RTM_TLS_RECORD_HEADER;
        t->held = malloc(t->held_end);
        t->held_len = 0;
        if (!t->held)
            abort();
    }
    for (;;) {
        size_t take = t->held_end - t->held_len;
        take = take < t->in_len ? take : t->in_len;
        if (take == 0)
            return 0;
        memcpy(t->held + t->held_len, t->in, take);
        t->in += take;
        t->in_len -= take;
        t->held_len += (uint32_t)take;
        if (t->held_len < t->held_end)
            return 0;
        if (t->held_end > RTM_TLS_RECORD_HEADER) {
            *rec = t->held;
            return (int)t->held_end;
        }
        int len = rtm_tls_record_measure(t->held, t->held_len, alert); /* the header is in */
        if (len < 0)
            return len;
        t->held_end = (uint32_t)len;
        t->held = realloc(t->held, t->held_end);
        if (!t->held)
            abort();
    }
}

/* Hands out what is left of a record's plaintext held for a small reader. */
static int s_serve_held(rtm_tls_conn_t *t, uint8_t *out, size_t cap)
{
    size_t n = t->held_len < cap ? t->held_len : cap;
    memcpy(out, t->held + t->held_end - t->held_len, n);
    t->held_len -= (uint32_t)n;
    if (t->held_len == 0)
        s_drop_held(t);
    return (int)n;
}

/* Opens records until one gives data (returns its length), the input is
 * used up (0), the peer closed (UV_EOF) or something failed (RTM_EPROTO). */
static int s_record_read(rtm_tls_conn_t *t, uint8_t *out, size_t cap)
{
    for (;;) {
        if (t->held_plain)
            return s_serve_held(t, out, cap);
        if (t->eof)
            return UV_EOF;
        const uint8_t *rec;
        int alert, len = s_next_record(t, &rec, &alert);
        if (len <= 0)
            return len == 0 ? 0 : s_conn_fail(t, alert);
        /* open into the reader's buffer when the record surely fits, else in place in held */
        bool fits = cap >= (size_t)len - RTM_TLS_RECORD_OVERHEAD + 1;
        if (!fits && rec != t->held) {
            t->held = malloc((size_t)len);
            if (!t->held)
                abort();
            memcpy(t->held, rec, (size_t)len);
            rec = t->held;
        }
        uint8_t *dst = fits ? out : t->held + RTM_TLS_RECORD_HEADER;
        size_t n;
        int what = rtm_tls_record_open(&t->rec, t->crypto, rec, (size_t)len, dst, &n, &alert);
        if (what < 0)
            return s_conn_fail(t, alert);
        if (!fits && what == RTM_TLS_OPENED_DATA && n > 0) {
            t->held_plain = true;
            t->held_len = (uint32_t)n;
            t->held_end = RTM_TLS_RECORD_HEADER + (uint32_t)n;
            continue;
        }
        if (rec == t->held)
            s_drop_held(t);
        if (what == RTM_TLS_OPENED_DATA && n > 0)
            return (int)n;
        if (what == RTM_TLS_OPENED_CLOSE)
            t->eof = true;
        else if (what == RTM_TLS_OPENED_KEY_UPDATE && s_update_if_due(t) < 0)
            return RTM_EPROTO;
    }
}

static int s_record_write(rtm_tls_conn_t *t, const uint8_t *data, size_t len)
{
    if (t->sent_close)
        return RTM_EPROTO;
    while (len > 0) {
        if (s_update_if_due(t) < 0)
            return RTM_EPROTO;
        size_t n = len < RTM_TLS_RECORD_MAX_PLAIN ? len : RTM_TLS_RECORD_MAX_PLAIN;
        uint8_t *p = s_record_room(t, n);
        if (s_sealed(t,
                     rtm_tls_record_seal(&t->rec, t->crypto, RTM_TLS_APPLICATION_DATA, data, n, p),
                     n) < 0)
            return s_conn_fail(t, -1);
        data += n;
        len -= n;
    }
    return 0;
}

/* ---- the connection's calls --------------------------------------------- */

/* What an SSL call's result r <= 0 means for the reader. */
static int s_ssl_result(rtm_tls_conn_t *t, int r)
{
    int e = SSL_get_error(t->ssl, r);
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

int rtm_tls_conn_read(rtm_tls_conn_t *t, uint8_t *out, size_t cap)
{
    if (t->failed)
        return RTM_EPROTO;
    if (t->ssl && !SSL_is_init_finished(t->ssl)) {
        int r = SSL_do_handshake(t->ssl);
        if (r <= 0)
            return s_ssl_result(t, r);
        s_offload(t);
    }
    if (!t->ssl)
        return s_record_read(t, out, cap);
    int n = SSL_read(t->ssl, out, cap > INT_MAX ? INT_MAX : (int)cap);
    return n > 0 ? n : s_ssl_result(t, n);
}

int rtm_tls_conn_write(rtm_tls_conn_t *t, const uint8_t *data, size_t len)
{
    if (t->failed || (t->ssl && !SSL_is_init_finished(t->ssl)))
        return RTM_EPROTO;
    if (len == 0)
        return 0;
    if (!t->ssl)
        return s_record_write(t, data, len);
    if (SSL_write(t->ssl, data, len > INT_MAX ? INT_MAX : (int)len) <= 0) {
        ERR_clear_error();
        t->failed = true;
        return RTM_EPROTO;
    }
    return 0;
}

void rtm_tls_conn_shutdown(rtm_tls_conn_t *t)
{
    if (t->failed)
        return;
    if (!t->ssl) {
        if (!t->sent_close && s_seal_alert(t, RTM_TLS_ALERT_CLOSE_NOTIFY) > 0)
            t->sent_close = true;
        return;
    }
    if (!SSL_is_init_finished(t->ssl) || (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
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
    return !t->ssl || SSL_is_init_finished(t->ssl);
}

bool rtm_tls_conn_resumed(const rtm_tls_conn_t *t)
{
    return t->ssl ? SSL_session_reused(t->ssl) : t->resumed;
}

bool rtm_tls_conn_offloaded(const rtm_tls_conn_t *t)
{
    return !t->ssl;
}
