/* rtm_tls_record — TLS 1.3 record protection (RFC 8446 §5) for one
 * connection once its handshake is over: seals plaintext into protected
 * records and opens the peer's, with the application traffic secrets the
 * handshake produced; KeyUpdate (§4.6.3) both ways.
 *
 * A pure codec: no I/O, bytes in and bytes out in caller memory. A
 * connection keeps only an rtm_tls_record_t (two secrets, keys, IVs and
 * sequence numbers: a few hundred bytes); the AEAD and KDF contexts that do
 * the work are an rtm_tls_crypto_t, one per thread, re-keyed for every
 * record. The three TLS 1.3 suites are supported: AES-128-GCM-SHA256,
 * AES-256-GCM-SHA384 and ChaCha20-Poly1305-SHA256 (libcrypto's EVP). */
#ifndef RTM_TLS_RECORD_H
#define RTM_TLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_TLS_RECORD_HEADER     5             /* type, version, length */
#define RTM_TLS_RECORD_MAX_PLAIN  16384         /* 2^14 content bytes per record */
#define RTM_TLS_RECORD_MAX_LENGTH (16384 + 256) /* largest encrypted_record */
#define RTM_TLS_RECORD_OVERHEAD   (5 + 1 + 16)  /* header, inner type, AEAD tag */
#define RTM_TLS_SECRET_MAX        48            /* SHA-384's length */

/* Content types (§5.1). */
enum {
    RTM_TLS_CHANGE_CIPHER_SPEC = 20,
    RTM_TLS_ALERT = 21,
    RTM_TLS_HANDSHAKE = 22,
    RTM_TLS_APPLICATION_DATA = 23,
};

/* Alert descriptions (§6) this codec reports. */
enum {
    RTM_TLS_ALERT_CLOSE_NOTIFY = 0,
    RTM_TLS_ALERT_UNEXPECTED_MESSAGE = 10,
    RTM_TLS_ALERT_BAD_RECORD_MAC = 20,
    RTM_TLS_ALERT_RECORD_OVERFLOW = 22,
    RTM_TLS_ALERT_DECODE_ERROR = 50,
};

typedef enum {
    RTM_TLS_AES_128_GCM_SHA256,
    RTM_TLS_AES_256_GCM_SHA384,
    RTM_TLS_CHACHA20_POLY1305_SHA256,
} rtm_tls_suite_t;

/* The AEAD and KDF contexts one thread uses for every record of every
 * connection (libcrypto state, ~2 KB). */
typedef struct rtm_tls_crypto rtm_tls_crypto_t;

/* One direction's protection: traffic secret N and what it gives. */
typedef struct {
    uint8_t secret[RTM_TLS_SECRET_MAX]; /* application traffic secret N */
    uint8_t key[32];                    /* its write key (16 or 32 bytes used) */
    uint8_t iv[12];                     /* its write IV */
    uint64_t seq;                       /* the next record's sequence number */
} rtm_tls_traffic_t;

/* A connection's record protection. */
typedef struct {
    rtm_tls_traffic_t rd; /* the peer's records */
    rtm_tls_traffic_t wr; /* ours */
    uint8_t suite;        /* an rtm_tls_suite_t */
    bool update_asked;    /* the peer asked for our KeyUpdate: owed before more data */
} rtm_tls_record_t;

/* What opening a record gave. */
typedef enum {
    RTM_TLS_OPENED_DATA,       /* application data (maybe none) */
    RTM_TLS_OPENED_KEY_UPDATE, /* the peer's KeyUpdate: its key moved on */
    RTM_TLS_OPENED_CLOSE,      /* close_notify: the peer sends nothing more */
} rtm_tls_opened_t;

/* New contexts for this thread; caller owns. Aborts when libcrypto lacks a
 * suite (out of memory, or a FIPS-only provider). */
rtm_tls_crypto_t *rtm_tls_crypto_new(void);

/* Frees *c and nulls it. */
void rtm_tls_crypto_destroy(rtm_tls_crypto_t **c);

/* The suite of a TLS 1.3 cipher suite's code point (0x1301..0x1303), and the
 * length of its secrets (its hash's). Returns 0, or RTM_EINVAL for another
 * code point. */
int rtm_tls_suite(uint16_t code_point, rtm_tls_suite_t *suite, size_t *secret_len);

/* Sets r up from the traffic secrets (read: the peer's, write: ours; each as
 * long as the suite's hash; they may be r's own rd.secret and wr.secret) and
 * the sequence numbers each direction reached under them. */
void rtm_tls_record_init(rtm_tls_record_t *r, rtm_tls_crypto_t *c, rtm_tls_suite_t suite,
                         const uint8_t *read_secret, const uint8_t *write_secret, uint64_t read_seq,
                         uint64_t write_seq);

/* Wipes r's secrets and keys. */
void rtm_tls_record_clear(rtm_tls_record_t *r);

/* Seals one record of content type `type` carrying data[0..len) (len <=
 * RTM_TLS_RECORD_MAX_PLAIN) into out, which has room for len +
 * RTM_TLS_RECORD_OVERHEAD bytes. Returns the record's length, or RTM_EPROTO
 * when the write sequence is used up (the connection must end). Type 0 (no
 * content type) seals data as the whole inner plaintext, its type and
 * padding included: how tests build any record a peer could send. */
int rtm_tls_record_seal(rtm_tls_record_t *r, rtm_tls_crypto_t *c, uint8_t type, const uint8_t *data,
                        size_t len, uint8_t *out);

/* Seals an alert record (close_notify as a warning, anything else fatal)
 * into out (room for 2 + RTM_TLS_RECORD_OVERHEAD). Returns as _seal. */
int rtm_tls_record_seal_alert(rtm_tls_record_t *r, rtm_tls_crypto_t *c, uint8_t description,
                              uint8_t *out);

/* Whether our key should move on before we seal more: the peer asked, or
 * this key protected so many records that AES-GCM's margins (§5.5) call
 * for a new one. */
bool rtm_tls_record_update_due(const rtm_tls_record_t *r);

/* Seals our KeyUpdate (update_not_requested) into out (room for 5 +
 * RTM_TLS_RECORD_OVERHEAD) and moves our key on. Returns as _seal. */
int rtm_tls_record_seal_key_update(rtm_tls_record_t *r, rtm_tls_crypto_t *c, uint8_t *out);

/* Reads the header at the start of in[0..len). Returns the whole record's
 * length (header included) once the header is there; 0 while fewer than 5
 * bytes are; RTM_EPROTO, with the alert to send in *alert, when it is not a
 * protected TLS 1.3 record (another type, version or a length over
 * RTM_TLS_RECORD_MAX_LENGTH, or too short for a tag and a type). */
int rtm_tls_record_measure(const uint8_t *in, size_t len, int *alert);

/* Opens rec[0..len), one whole record rtm_tls_record_measure accepted, into
 * out (room for len - RTM_TLS_RECORD_HEADER - 16 bytes; out may be rec +
 * RTM_TLS_RECORD_HEADER to open in place). Returns what it was (an
 * rtm_tls_opened_t) with, for data, the bytes at out[0..*n). A KeyUpdate
 * that asks for ours sets r->update_asked. RTM_EPROTO when the connection is
 * over: *alert is the alert to send, or -1 when none should be (the peer
 * sent a fatal alert). */
int rtm_tls_record_open(rtm_tls_record_t *r, rtm_tls_crypto_t *c, const uint8_t *rec, size_t len,
                        uint8_t *out, size_t *n, int *alert);

#endif
