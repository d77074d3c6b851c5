/* libFuzzer target for the node's TLS layer (node/tls.c): any bytes as what a client sends
 * first, fed in pieces as reads would bring them (the first byte of the input sets the piece
 * size). Whatever comes in, a read returns at most what fits, fails for good once it failed,
 * and what the connection writes back is a whole frame; the node's own certificate (made at
 * start, an EC key signing itself) is loaded from files like the node's. */
#include "rtm_error.h"
#include "tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes a fresh self-signed P-256 certificate and its key to two temporary files. */
static void s_make_pair(char *cert, char *key)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"fuzz", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, pkey);
    X509_sign(x, pkey, EVP_sha256());
    int fc = mkstemp(cert), fk = mkstemp(key);
    FILE *c = fdopen(fc, "w"), *k = fdopen(fk, "w");
    if (!pkey || !x || !c || !k || !PEM_write_X509(c, x) ||
        !PEM_write_PrivateKey(k, pkey, NULL, NULL, 0, NULL, NULL))
        abort();
    fclose(c);
    fclose(k);
    X509_free(x);
    EVP_PKEY_free(pkey);
}

static rtm_tls_t *s_tls(void)
{
    static rtm_tls_t *tls;
    if (!tls) {
        char cert[] = "/tmp/fuzz_tls_crtXXXXXX", key[] = "/tmp/fuzz_tls_keyXXXXXX", err[256];
        s_make_pair(cert, key);
        if (rtm_tls_new(cert, key, &tls, err, sizeof err) < 0)
            abort();
        unlink(cert);
        unlink(key);
    }
    return tls;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t piece = data[0] ? data[0] : 1;
    rtm_tls_conn_t *t = rtm_tls_conn_new(s_tls());
    uint8_t out[512];
    bool failed = false;
    for (size_t off = 1; off < size; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        rtm_tls_conn_input(t, data + off, n);
        int r;
        while ((r = rtm_tls_conn_read(t, out, sizeof out)) > 0)
            if ((size_t)r > sizeof out || failed)
                abort();
        if (failed && r != RTM_EPROTO)
            abort(); /* a failed connection stays failed */
        failed = failed || r == RTM_EPROTO;
        rtm_frame_t *f = rtm_tls_conn_output(t);
        if (f && (f->refs != 1 || f->len == 0))
            abort();
        rtm_frame_unref(&f);
    }
    rtm_tls_conn_destroy(&t);
    return 0;
}
