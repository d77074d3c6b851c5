/* Tests for the node's TLS layer (node/tls.c) against OpenSSL's own client, all in memory:
 * the handshake with its bytes delivered one at a time, ALPN, data both ways, protocol
 * versions refused for good, both sides' close_notify, loading refusals that name the file,
 * rotation (new certificate for new connections, the old kept when the new pair is bad,
 * tickets that still resume), the files' change detection and the suite the server chooses.
 * Certificates are made at run time (tests/tools/test_cert.c). */
#include "rtm_error.h"
#include "test_cert.h"
#include "tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define S_TEMPLATE "/tmp/test_tls_XXXXXX"

typedef struct {
    char cert[sizeof S_TEMPLATE], key[sizeof S_TEMPLATE];
} s_pair_t;

static s_pair_t s_pair(const char *cn)
{
    s_pair_t p = {S_TEMPLATE, S_TEMPLATE};
    rtm_test_cert_pair(p.cert, p.key, cn, NULL);
    return p;
}

static void s_unlink(const s_pair_t *p)
{
    unlink(p->cert);
    unlink(p->key);
}

/* An OpenSSL client in memory and the node's side of the same connection. */
typedef struct {
    SSL *ssl;
    BIO *in, *out; /* the client's: bytes from the server, bytes to it */
    rtm_tls_conn_t *server;
    uint8_t plain[4096]; /* what the server decrypted */
    size_t plain_len;
    int last; /* the server's last read result */
} s_link_t;

static s_link_t *s_link_new(rtm_tls_t *tls, SSL_CTX *client)
{
    s_link_t *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->ssl = SSL_new(client);
    l->in = BIO_new(BIO_s_mem());
    l->out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(l->in, -1);
    SSL_set_bio(l->ssl, l->in, l->out);
    SSL_set_connect_state(l->ssl);
    l->server = rtm_tls_conn_new(tls);
    return l;
}

static void s_link_free(s_link_t *l)
{
    SSL_free(l->ssl);
    rtm_tls_conn_destroy(&l->server);
    assert_null(l->server);
    free(l);
}

/* Client bytes to the server, `piece` at a time; the server's plaintext is collected. */
static void s_to_server(s_link_t *l, size_t piece)
{
    char *data;
    long len = BIO_get_mem_data(l->out, &data);
    for (long off = 0; off < len; off += (long)piece) {
        size_t n = (size_t)(len - off) < piece ? (size_t)(len - off) : piece;
        rtm_tls_conn_input(l->server, (const uint8_t *)data + off, n);
        while ((l->last = rtm_tls_conn_read(l->server, l->plain + l->plain_len,
                                            sizeof l->plain - l->plain_len)) > 0)
            l->plain_len += (size_t)l->last;
    }
    (void)BIO_reset(l->out);
}

/* The server's records to the client; false when there were none. */
static bool s_to_client(s_link_t *l)
{
    rtm_frame_t *f = rtm_tls_conn_output(l->server);
    if (!f)
        return false;
    assert_int_equal(f->refs, 1);
    assert_int_equal(BIO_write(l->in, f->data, (int)f->len), (int)f->len);
    rtm_frame_unref(&f);
    assert_false(rtm_tls_conn_has_output(l->server));
    return true;
}

/* Runs the handshake, the client's bytes delivered `piece` at a time; true when done. */
static bool s_handshake(s_link_t *l, size_t piece)
{
    for (int round = 0; round < 10 && !SSL_is_init_finished(l->ssl); round++) {
        int r = SSL_do_handshake(l->ssl);
        if (r <= 0 && SSL_get_error(l->ssl, r) != SSL_ERROR_WANT_READ)
            break; /* the client gave up (the server's alert) */
        s_to_server(l, piece);
        s_to_client(l);
    }
    ERR_clear_error();
    return SSL_is_init_finished(l->ssl) && rtm_tls_conn_established(l->server);
}

static SSL_CTX *s_client_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return ctx;
}

static const char *s_peer_cn(s_link_t *l, char *buf, size_t len)
{
    X509 *peer = SSL_get1_peer_certificate(l->ssl);
    assert_non_null(peer);
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, (int)len);
    X509_free(peer);
    return buf;
}

/* The node's certificate "node-a" loaded, and an OpenSSL client context. */
typedef struct {
    s_pair_t pair;
    rtm_tls_t *tls;
    SSL_CTX *client;
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    char err[256];
    f->pair = s_pair("node-a");
    if (rtm_tls_new(f->pair.cert, f->pair.key, &f->tls, err, sizeof err) < 0)
        return -1;
    f->client = s_client_ctx();
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *f = *state;
    SSL_CTX_free(f->client);
    rtm_tls_destroy(&f->tls);
    s_unlink(&f->pair);
    free(f);
    return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_handshake_byte_by_byte_alpn_and_data(void **state)
{
    s_fixture_t *f = *state;
    rtm_tls_t *tls = f->tls;
    SSL_CTX *client = f->client;
    static const unsigned char alpn[] = "\x02h2\x08http/1.1";
    SSL_CTX_set_alpn_protos(client, alpn, sizeof alpn - 1);
    for (size_t piece = 1; piece <= 4096; piece *= 4) {
        s_link_t *l = s_link_new(tls, client);
        assert_true(s_handshake(l, piece));
        assert_false(rtm_tls_conn_resumed(l->server));
        assert_true(rtm_tls_conn_offloaded(l->server)); /* TLS 1.3 */
        const unsigned char *proto;
        unsigned proto_len;
        SSL_get0_alpn_selected(l->ssl, &proto, &proto_len);
        assert_int_equal(proto_len, 8);
        assert_memory_equal(proto, "http/1.1", 8);

        assert_int_equal(SSL_write(l->ssl, "GET / HTTP/1.1\r\n\r\n", 18), 18);
        s_to_server(l, piece);
        assert_int_equal(l->plain_len, 18);
        assert_memory_equal(l->plain, "GET / HTTP/1.1\r\n\r\n", 18);
        assert_int_equal(l->last, 0); /* input used up */

        assert_int_equal(rtm_tls_conn_write(l->server, (const uint8_t *)"pong", 4), 0);
        assert_int_equal(rtm_tls_conn_write(l->server, (const uint8_t *)"!", 1), 0);
        assert_true(s_to_client(l));
        char got[16] = "";
        int n = SSL_read(l->ssl, got, sizeof got);
        n += SSL_read(l->ssl, got + n, (int)sizeof got - n);
        assert_int_equal(n, 5);
        assert_memory_equal(got, "pong!", 5);
        s_link_free(l);
    }
}

static void test_old_protocols_and_garbage_fail_for_good(void **state)
{
    s_fixture_t *f = *state;
    rtm_tls_t *tls = f->tls;
    SSL_CTX *client = f->client;
    SSL_CTX_set_security_level(client, 0);
    SSL_CTX_set_min_proto_version(client, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(client, TLS1_1_VERSION);
    s_link_t *l = s_link_new(tls, client);
    assert_false(s_handshake(l, 4096));
    assert_int_equal(l->last, RTM_EPROTO);
    s_to_client(l); /* an alert, if OpenSSL wrote one */
    rtm_tls_conn_input(l->server, (const uint8_t *)"x", 1);
    uint8_t out[16];
    assert_int_equal(rtm_tls_conn_read(l->server, out, sizeof out), RTM_EPROTO);
    assert_int_equal(rtm_tls_conn_write(l->server, (const uint8_t *)"x", 1), RTM_EPROTO);
    rtm_tls_conn_shutdown(l->server);
    assert_false(rtm_tls_conn_has_output(l->server)); /* no close_notify after a failure */
    s_link_free(l);

    rtm_tls_conn_t *t = rtm_tls_conn_new(tls);
    static const uint8_t garbage[] = {0x16, 0x03, 0x01, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
    rtm_tls_conn_input(t, garbage, sizeof garbage);
    assert_int_equal(rtm_tls_conn_read(t, out, sizeof out), RTM_EPROTO);
    assert_int_equal(rtm_tls_conn_write(t, (const uint8_t *)"x", 1), RTM_EPROTO);
    rtm_tls_conn_destroy(&t);
}

static void test_close_notify_both_ways(void **state)
{
    s_fixture_t *f = *state;
    rtm_tls_t *tls = f->tls;
    SSL_CTX *client = f->client;

    s_link_t *l = s_link_new(tls, client); /* the server closes */
    assert_true(s_handshake(l, 4096));
    rtm_tls_conn_shutdown(l->server);
    assert_true(s_to_client(l));
    rtm_tls_conn_shutdown(l->server); /* once only */
    assert_false(rtm_tls_conn_has_output(l->server));
    char buf[8];
    assert_true(SSL_read(l->ssl, buf, sizeof buf) <= 0);
    assert_int_equal(SSL_get_error(l->ssl, 0), SSL_ERROR_ZERO_RETURN);
    assert_int_equal(rtm_tls_conn_write(l->server, (const uint8_t *)"x", 1), RTM_EPROTO);
    s_link_free(l);

    l = s_link_new(tls, client); /* the client closes */
    assert_true(s_handshake(l, 4096));
    SSL_shutdown(l->ssl);
    s_to_server(l, 4096);
    assert_int_equal(l->last, UV_EOF);
    s_link_free(l);
}

static void test_loading_refusals_name_the_file(void **state)
{
    s_pair_t a = s_pair("node-a"), b = s_pair("node-b");
    rtm_tls_t *tls = (rtm_tls_t *)&tls;
    char err[512];
    assert_int_equal(rtm_tls_new("/nonexistent/cert.pem", a.key, &tls, err, sizeof err),
                     RTM_EINVAL);
    assert_null(tls);
    assert_non_null(strstr(err, "certificate chain /nonexistent/cert.pem"));
    assert_int_equal(rtm_tls_new(a.cert, b.key, &tls, err, sizeof err), RTM_EINVAL);
    assert_non_null(strstr(err, b.key));
    assert_int_equal(rtm_tls_new(a.key, a.key, &tls, err, sizeof err), RTM_EINVAL);
    assert_non_null(strstr(err, "certificate chain"));
    s_unlink(&a);
    s_unlink(&b);
}

/* Replaces path's content with src's by a rename, as certbot and Kubernetes do. */
static void s_replace(const char *path, const char *src)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *in = fopen(src, "r"), *out = fopen(tmp, "w");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_reload_new_certificate_old_kept_tickets_resume(void **state)
{
    s_fixture_t *f = *state;
    rtm_tls_t *tls = f->tls;
    SSL_CTX *client = f->client;
    const s_pair_t live = f->pair, next = s_pair("node-b");
    char err[512], cn[64];
    assert_false(rtm_tls_files_changed(tls));
    SSL_CTX_set_max_proto_version(client, TLS1_2_VERSION); /* the session at once */

    s_link_t *before = s_link_new(tls, client);
    assert_true(s_handshake(before, 4096));
    SSL_SESSION *session = SSL_get1_session(before->ssl);
    assert_non_null(session);

    s_replace(live.key, next.key);
    s_replace(live.cert, next.cert);
    assert_true(rtm_tls_files_changed(tls));
    assert_false(rtm_tls_files_changed(tls)); /* seen once */
    assert_int_equal(rtm_tls_reload(tls, err, sizeof err), 0);
    char what[320];
    rtm_tls_describe(tls, what, sizeof what);
    assert_non_null(strstr(what, "subject_cn=\"node-b\""));

    s_link_t *after = s_link_new(tls, client);
    assert_true(s_handshake(after, 4096));
    assert_string_equal(s_peer_cn(after, cn, sizeof cn), "node-b");
    s_link_t *resumed = s_link_new(tls, client);
    SSL_set_session(resumed->ssl, session);
    assert_true(s_handshake(resumed, 4096));
    assert_true(rtm_tls_conn_resumed(resumed->server)); /* the ticket keys moved */
    /* The connection opened before goes on with its certificate. */
    assert_int_equal(rtm_tls_conn_write(before->server, (const uint8_t *)"still", 5), 0);
    assert_true(s_to_client(before));
    char buf[8];
    assert_int_equal(SSL_read(before->ssl, buf, sizeof buf), 5);
    assert_string_equal(s_peer_cn(before, cn, sizeof cn), "node-a");

    s_replace(live.cert, live.key); /* a key where the certificate should be */
    assert_int_equal(rtm_tls_reload(tls, err, sizeof err), RTM_EINVAL);
    assert_non_null(strstr(err, live.cert));
    s_link_t *kept = s_link_new(tls, client);
    assert_true(s_handshake(kept, 4096));
    assert_string_equal(s_peer_cn(kept, cn, sizeof cn), "node-b");

    SSL_SESSION_free(session);
    s_link_free(before);
    s_link_free(after);
    s_link_free(resumed);
    s_link_free(kept);
    s_unlink(&next);

    rtm_prom_t text;
    rtm_prom_init(&text);
    rtm_tls_render_metrics(tls, &text);
    assert_non_null(strstr(text.buf, "rtmesh_tls_reloads_total{result=\"loaded\"} 1\n"));
    assert_non_null(strstr(text.buf, "rtmesh_tls_reloads_total{result=\"refused\"} 1\n"));
    const char *expiry = strstr(text.buf, "\nrtmesh_tls_certificate_expiry_seconds ");
    assert_non_null(expiry);
    long long until = atoll(expiry + strlen("\nrtmesh_tls_certificate_expiry_seconds "));
    assert_true(until > (long long)time(NULL) && until <= (long long)time(NULL) + 86400);
    rtm_prom_free(&text);
}

/* ---- TLS 1.3 offloaded: OpenSSL's client against our records ----------- */

#define S_BULK 70000

/* The client's pending bytes to the server `piece` at a time, read `cap` at a
 * time into got (from *got_len on); returns the server's last read result. */
static int s_bulk_to_server(s_link_t *l, size_t piece, size_t cap, uint8_t *got, size_t *got_len)
{
    char *data;
    long len = BIO_get_mem_data(l->out, &data);
    int r = 0;
    for (long off = 0; off < len; off += (long)piece) {
        size_t n = (size_t)(len - off) < piece ? (size_t)(len - off) : piece;
        rtm_tls_conn_input(l->server, (const uint8_t *)data + off, n);
        while ((r = rtm_tls_conn_read(l->server, got + *got_len, cap)) > 0) {
            assert_true((size_t)r <= cap);
            *got_len += (size_t)r;
            assert_true(*got_len <= S_BULK);
        }
        if (r < 0)
            break;
    }
    (void)BIO_reset(l->out);
    return r;
}

/* Everything the client can read now, into got from *got_len on. */
static void s_client_reads(s_link_t *l, uint8_t *got, size_t *got_len)
{
    int n;
    while ((n = SSL_read(l->ssl, got + *got_len, (int)(S_BULK - *got_len))) > 0)
        *got_len += (size_t)n;
    assert_int_equal(SSL_get_error(l->ssl, n), SSL_ERROR_WANT_READ);
}

static void s_fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31 + seed);
}

/* Data both ways in every suite, records of every size (a write over 2^14
 * bytes makes two), delivered whole and byte by byte into small and large
 * reads, a KeyUpdate the client asks to be answered mid-stream, and both
 * close_notify. */
static void test_offloaded_every_suite_key_update_close(void **state)
{
    s_fixture_t *f = *state;
    static const char *const suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                         "TLS_CHACHA20_POLY1305_SHA256"};
    static const size_t sizes[] = {1, 5, 100, 16384, 16385, 20000};
    static uint8_t sent[S_BULK], got[S_BULK];
    for (size_t s = 0; s < 3; s++) {
        SSL_CTX_set_ciphersuites(f->client, suites[s]);
        s_link_t *l = s_link_new(f->tls, f->client);
        assert_true(s_handshake(l, 4096));
        assert_true(rtm_tls_conn_offloaded(l->server));
        assert_string_equal(SSL_CIPHER_get_name(SSL_get_current_cipher(l->ssl)), suites[s]);
        size_t total = 0, got_len = 0;
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            s_fill(sent + total, sizes[i], (unsigned)(i + s));
            assert_int_equal(SSL_write(l->ssl, sent + total, (int)sizes[i]), (int)sizes[i]);
            total += sizes[i];
            if (i == 2) /* the client moves its key on and asks for ours */
                assert_int_equal(SSL_key_update(l->ssl, SSL_KEY_UPDATE_REQUESTED), 1);
            size_t piece = i % 2 ? 1 : 100000, cap = i % 3 ? 7 : S_BULK - got_len;
            assert_int_equal(s_bulk_to_server(l, piece, cap, got, &got_len), 0);
            assert_int_equal(got_len, total);
        }
        assert_memory_equal(got, sent, total);
        assert_int_equal(SSL_get_key_update_type(l->ssl), SSL_KEY_UPDATE_NONE); /* it went */

        /* the server's answer to the KeyUpdate, then data under its new key */
        size_t out_len = 0;
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            s_fill(sent + out_len, sizes[i], (unsigned)(7 * i + s));
            assert_int_equal(rtm_tls_conn_write(l->server, sent + out_len, sizes[i]), 0);
            out_len += sizes[i];
        }
        assert_true(s_to_client(l));
        got_len = 0;
        s_client_reads(l, got, &got_len);
        assert_int_equal(got_len, out_len);
        assert_memory_equal(got, sent, out_len);

        /* a second KeyUpdate, not asking: the server follows without answering */
        assert_int_equal(SSL_key_update(l->ssl, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
        assert_int_equal(SSL_write(l->ssl, "after", 5), 5);
        got_len = 0;
        assert_int_equal(s_bulk_to_server(l, 3, S_BULK, got, &got_len), 0);
        assert_int_equal(got_len, 5);
        assert_false(rtm_tls_conn_has_output(l->server));

        /* close_notify both ways */
        SSL_shutdown(l->ssl);
        assert_int_equal(s_bulk_to_server(l, 4096, S_BULK, got, &got_len), UV_EOF);
        rtm_tls_conn_shutdown(l->server);
        rtm_tls_conn_shutdown(l->server); /* once only */
        assert_true(s_to_client(l));
        char buf[8];
        assert_true(SSL_read(l->ssl, buf, sizeof buf) <= 0);
        assert_int_equal(SSL_get_error(l->ssl, 0), SSL_ERROR_ZERO_RETURN);
        assert_int_equal(rtm_tls_conn_write(l->server, (const uint8_t *)"x", 1), RTM_EPROTO);
        s_link_free(l);
    }
}

/* A tampered record ends an offloaded connection with bad_record_mac, which
 * OpenSSL's client understands; nothing is read or written afterwards. */
static void test_offloaded_tampered_record_fails_for_good(void **state)
{
    s_fixture_t *f = *state;
    s_link_t *l = s_link_new(f->tls, f->client);
    assert_true(s_handshake(l, 4096));
    assert_true(rtm_tls_conn_offloaded(l->server));
    assert_int_equal(SSL_write(l->ssl, "hello", 5), 5);
    char *data;
    long len = BIO_get_mem_data(l->out, &data);
    data[len - 1] ^= 0x80; /* the tag's last byte */
    size_t got_len = 0;
    static uint8_t got[S_BULK];
    assert_int_equal(s_bulk_to_server(l, 4096, S_BULK, got, &got_len), RTM_EPROTO);
    assert_int_equal(got_len, 0);
    assert_true(s_to_client(l)); /* the alert */
    char buf[8];
    assert_true(SSL_read(l->ssl, buf, sizeof buf) <= 0);
    assert_int_equal(SSL_get_error(l->ssl, 0), SSL_ERROR_SSL);
    assert_int_equal(ERR_GET_REASON(ERR_peek_error()), SSL_R_SSLV3_ALERT_BAD_RECORD_MAC);
    ERR_clear_error();
    rtm_tls_conn_input(l->server, (const uint8_t *)"x", 1);
    assert_int_equal(rtm_tls_conn_read(l->server, got, sizeof got), RTM_EPROTO);
    assert_int_equal(rtm_tls_conn_write(l->server, (const uint8_t *)"x", 1), RTM_EPROTO);
    rtm_tls_conn_shutdown(l->server);
    assert_false(rtm_tls_conn_has_output(l->server));
    s_link_free(l);
}

/* The suite is the server's choice: AES-128-GCM with SHA-256 for OpenSSL's
 * default client, which asks for AES-256-GCM-SHA384 first (the cheaper
 * handshake); ChaCha20 for a client that puts it first; whatever one suite a
 * client offers. In TLS 1.2 as well. */
static void test_server_chooses_the_suite(void **state)
{
    s_fixture_t *f = *state;
    static const struct {
        int version;
        const char *offer, *chosen; /* offer: NULL for OpenSSL's default */
    } cases[] = {
        {TLS1_3_VERSION, NULL, "TLS_AES_128_GCM_SHA256"},
        {TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384",
         "TLS_CHACHA20_POLY1305_SHA256"},
        {TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"},
        {TLS1_2_VERSION, NULL, "ECDHE-ECDSA-AES128-GCM-SHA256"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        SSL_CTX *client = s_client_ctx();
        SSL_CTX_set_max_proto_version(client, cases[i].version);
        if (cases[i].offer)
            assert_int_equal(SSL_CTX_set_ciphersuites(client, cases[i].offer), 1);
        s_link_t *l = s_link_new(f->tls, client);
        assert_true(s_handshake(l, 4096));
        assert_string_equal(SSL_CIPHER_get_name(SSL_get_current_cipher(l->ssl)), cases[i].chosen);
        s_link_free(l);
        SSL_CTX_free(client);
    }
}

/* A session the client got (from a NewSessionTicket in TLS 1.3): counted in
 * the int the connection's app data points to. */
static int s_count_ticket(SSL *ssl, SSL_SESSION *session)
{
    (*(int *)SSL_get_app_data(ssl))++;
    return 0; /* not kept: the test takes the connection's own */
}

/* TLS 1.2 stays with OpenSSL; a TLS 1.3 client gets one ticket, and its
 * resumed session is offloaded too. */
static void test_tls12_kept_tls13_resumed_offloaded(void **state)
{
    s_fixture_t *f = *state;
    SSL_CTX_set_max_proto_version(f->client, TLS1_2_VERSION);
    s_link_t *l = s_link_new(f->tls, f->client);
    assert_true(s_handshake(l, 4096));
    assert_false(rtm_tls_conn_offloaded(l->server));
    s_link_free(l);

    SSL_CTX_set_max_proto_version(f->client, TLS1_3_VERSION);
    SSL_CTX_set_session_cache_mode(f->client, SSL_SESS_CACHE_CLIENT); /* for s_count_ticket */
    SSL_CTX_sess_set_new_cb(f->client, s_count_ticket);
    l = s_link_new(f->tls, f->client);
    int tickets = 0;
    SSL_set_app_data(l->ssl, &tickets);
    assert_true(s_handshake(l, 4096));
    char buf[8];
    assert_true(SSL_read(l->ssl, buf, sizeof buf) <= 0); /* takes the ticket */
    assert_int_equal(tickets, 1); /* one, not OpenSSL's default two: the offload counts them */
    SSL_CTX_sess_set_new_cb(f->client, NULL);
    SSL_SESSION *session = SSL_get1_session(l->ssl);
    assert_true(SSL_SESSION_is_resumable(session));
    SSL_shutdown(l->ssl); /* freed open, the client would drop the session */
    s_link_free(l);
    l = s_link_new(f->tls, f->client);
    SSL_set_session(l->ssl, session);
    assert_true(s_handshake(l, 4096));
    assert_true(rtm_tls_conn_resumed(l->server));
    assert_true(rtm_tls_conn_offloaded(l->server));
    assert_int_equal(rtm_tls_conn_write(l->server, (const uint8_t *)"resumed", 7), 0);
    assert_true(s_to_client(l));
    assert_int_equal(SSL_read(l->ssl, buf, sizeof buf), 7);
    SSL_SESSION_free(session);
    s_link_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handshake_byte_by_byte_alpn_and_data, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_old_protocols_and_garbage_fail_for_good, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_close_notify_both_ways, s_setup, s_teardown),
        cmocka_unit_test(test_loading_refusals_name_the_file),
        cmocka_unit_test_setup_teardown(test_reload_new_certificate_old_kept_tickets_resume,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_offloaded_every_suite_key_update_close, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_offloaded_tampered_record_fails_for_good, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_tls12_kept_tls13_resumed_offloaded, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_server_chooses_the_suite, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
