/* lg_tls — the client side of TLS for the generator's connections (--tls):
 * OpenSSL 3 over memory BIOs, the socket staying the caller's.
 *
 * Ciphertext read from the socket goes in (rtm_lg_tls_input) and plaintext
 * comes out (rtm_lg_tls_read), the handshake running inside; plaintext to
 * send goes in (rtm_lg_tls_write) and rtm_lg_tls_flush writes what OpenSSL
 * produced to the socket. The server's certificate is not checked: the
 * generator measures servers it started itself. */
#ifndef RTM_LG_TLS_H
#define RTM_LG_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct rtm_lg_tls rtm_lg_tls_t;

/* The client context every connection of a run shares (caller owns). */
SSL_CTX *rtm_lg_tls_ctx_new(void);

/* A connection starting its handshake (its ClientHello waits for the
 * first flush); caller owns. */
rtm_lg_tls_t *rtm_lg_tls_new(SSL_CTX *ctx);

/* Frees t and nulls *t. */
void rtm_lg_tls_free(rtm_lg_tls_t **t);

/* Ciphertext data[0..len) from the socket (copied). */
void rtm_lg_tls_input(rtm_lg_tls_t *t, const void *data, size_t len);

/* Continues the handshake, then decrypts into out[0..cap). Returns the
 * plaintext bytes, 0 when more input is needed (rtm_lg_tls_established
 * tells whether the handshake is done), -1 when TLS failed. */
long rtm_lg_tls_read(rtm_lg_tls_t *t, void *out, size_t cap);

/* Encrypts data[0..len) (the handshake must be done). Returns 0 or -1. */
int rtm_lg_tls_write(rtm_lg_tls_t *t, const void *data, size_t len);

/* Writes to s what OpenSSL produced (handshake, records). Returns 0 or a
 * libuv error. */
int rtm_lg_tls_flush(rtm_lg_tls_t *t, uv_stream_t *s);

/* Whether the handshake is done. */
bool rtm_lg_tls_established(const rtm_lg_tls_t *t);

#endif
