/* rtm_tls — TLS termination for client connections (OpenSSL 3, memory
 * only: the library never touches a socket).
 *
 * rtm_tls_t is the node's one certificate and its settings: TLS 1.2 and
 * 1.3 only, a modern cipher list, ALPN http/1.1, session tickets, no
 * renegotiation, buffers released while idle. It is shared by every worker
 * and can be reloaded from its files at any time (SIGHUP, or the files
 * changed): connections opened afterwards get the new certificate, open ones
 * keep theirs, and a new pair that does not load is refused whole.
 *
 * rtm_tls_conn_t is one connection's TLS state between the socket and the
 * session: ciphertext read from the socket goes in (rtm_tls_conn_input) and
 * plaintext comes out (rtm_tls_conn_read); plaintext to send goes in
 * (rtm_tls_conn_write) and the records to write to the socket come out as
 * one frame (rtm_tls_conn_output). The handshake runs inside those calls. A
 * TLS 1.3 connection leaves OpenSSL once its handshake is done and protects
 * its records itself (rtm_tls_record), keeping a few hundred bytes instead
 * of OpenSSL's ~14 KB; TLS 1.2 stays with OpenSSL. A connection belongs to
 * one worker thread. */
#ifndef RTM_TLS_H
#define RTM_TLS_H

#include "frame.h"
#include "rtm_prom.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first byte of a TLS record carrying a handshake (a ClientHello):
 * never the first byte of an HTTP request. */
#define RTM_TLS_HANDSHAKE_BYTE 0x16

typedef struct rtm_tls rtm_tls_t;
typedef struct rtm_tls_conn rtm_tls_conn_t;

/* Loads cert_file (PEM: the certificate, then its chain) and key_file (PEM
 * private key matching it); both paths are copied. Returns 0 and *out
 * (caller owns), or RTM_EINVAL with the reason in err and *out NULL. */
int rtm_tls_new(const char *cert_file, const char *key_file, rtm_tls_t **out, char *err,
                size_t err_len);

/* Frees tls and nulls *tls, once the connections of the calling thread are
 * gone (those of other threads may stay open: they keep what they use, and
 * their thread's AEAD contexts went when the thread ended). */
void rtm_tls_destroy(rtm_tls_t **tls);

/* Loads the files again; new connections get the new certificate, the
 * session ticket keys stay (tickets issued before still resume). Returns 0,
 * or RTM_EINVAL with the reason in err and the certificate in use kept.
 * Thread-safe. */
int rtm_tls_reload(rtm_tls_t *tls, char *err, size_t err_len);

/* Whether either file changed (another inode, size or modification time,
 * following symlinks, as certbot and Kubernetes Secret volumes replace them)
 * since the last rtm_tls_new, reload or call of this. Main thread only. */
bool rtm_tls_files_changed(rtm_tls_t *tls);

/* The certificate file's subject and expiry, for the log: "CN=...,
 * notAfter=..." into buf (NUL-terminated, truncated). Thread-safe. */
void rtm_tls_describe(rtm_tls_t *tls, char *buf, size_t len);

/* Appends to p the certificate's expiry (rtmesh_tls_certificate_expiry_seconds,
 * Unix time) and the reloads by result (rtmesh_tls_reloads_total{result}).
 * Thread-safe. */
void rtm_tls_render_metrics(rtm_tls_t *tls, rtm_prom_t *p);

/* A server-side connection with the certificate in use now (thread-safe);
 * caller owns. */
rtm_tls_conn_t *rtm_tls_conn_new(rtm_tls_t *tls);

/* Frees t and nulls *t. */
void rtm_tls_conn_destroy(rtm_tls_conn_t **t);

/* Ciphertext data[0..len) to decrypt, borrowed until rtm_tls_conn_read
 * returns 0 or an error. */
void rtm_tls_conn_input(rtm_tls_conn_t *t, const uint8_t *data, size_t len);

/* Decrypts into out[0..cap) (cap > 0), running the handshake as needed.
 * Returns the plaintext bytes (> 0); 0 once the input is used up (a partial
 * record is kept inside); UV_EOF when the peer closed the TLS session; or
 * RTM_EPROTO when the peer's bytes are not TLS we accept (a garbage,
 * truncated or refused ClientHello, a bad record): an alert to send may be
 * in the output, and the connection is over. */
int rtm_tls_conn_read(rtm_tls_conn_t *t, uint8_t *out, size_t cap);

/* Encrypts data[0..len) into the output. Returns 0, or RTM_EPROTO when the
 * connection cannot send (handshake not done, or failed). */
int rtm_tls_conn_write(rtm_tls_conn_t *t, const uint8_t *data, size_t len);

/* Appends a close_notify alert to the output, once the handshake is done and
 * nothing failed; nothing otherwise, or when it was sent already. Nothing
 * can be written after it. */
void rtm_tls_conn_shutdown(rtm_tls_conn_t *t);

/* The records produced since the last call (handshake, data, alerts) as one
 * frame with one reference (caller owns), or NULL when there are none. */
rtm_frame_t *rtm_tls_conn_output(rtm_tls_conn_t *t);

/* Whether records wait in the output. */
bool rtm_tls_conn_has_output(const rtm_tls_conn_t *t);

/* Whether the handshake is done, and whether it resumed an earlier session. */
bool rtm_tls_conn_established(const rtm_tls_conn_t *t);
bool rtm_tls_conn_resumed(const rtm_tls_conn_t *t);

/* Whether the connection left OpenSSL after its TLS 1.3 handshake and
 * protects its records itself (tls.c says why); TLS 1.2 ones never do. */
bool rtm_tls_conn_offloaded(const rtm_tls_conn_t *t);

#endif
