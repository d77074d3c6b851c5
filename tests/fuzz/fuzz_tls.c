/* libFuzzer target for the node's TLS layer (node/tls.c): any bytes as what a client sends
 * first, fed in pieces as reads would bring them (the first byte of the input sets the piece
 * size). Whatever comes in, a read returns at most what fits, fails for good once it failed,
 * and what the connection writes back is a whole frame; the node's own certificate (made at
 * start, an EC key signing itself) is loaded from files like the node's. */
#include "rtm_error.h"
#include "test_cert.h"
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rtm_tls_t *s_tls(void)
{
    static rtm_tls_t *tls;
    if (!tls) {
        char cert[] = "/tmp/fuzz_tls_crtXXXXXX", key[] = "/tmp/fuzz_tls_keyXXXXXX", err[256];
        rtm_test_cert_pair(cert, key, "fuzz", NULL);
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
