/* rtm_tls_record — see rtm_tls_record.h.
 *
 * A protected record (RFC 8446 §5.2) is a 5-byte header (application_data,
 * 0x0303, length) and the AEAD sealing of content ‖ content type ‖ zero
 * padding, with the header as additional data and the key's IV XOR the
 * 64-bit sequence number as nonce. Keys and IVs come from a traffic secret
 * by HKDF-Expand-Label (§7.1, §7.3), which libcrypto's "TLS13-KDF" computes
 * exactly as libssl does; KeyUpdate replaces a secret with its "traffic upd"
 * expansion (§7.2).
 *
 * Why per-thread contexts: an EVP_CIPHER_CTX with GCM's tables is larger
 * than everything else a connection keeps, and re-keying one costs less
 * than 200 ns, so one context per suite per thread serves every record. */
#include "rtm_tls_record.h"

#include "rtm_error.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdlib.h>
#include <string.h>

#define S_TAG        16
#define S_IV         12
#define S_KEY_UPDATE 24 /* the KeyUpdate handshake message type */
/* Records one key may protect before we move it on: AES-GCM's safety margin
 * is 2^24.5 records (§5.5); ChaCha20-Poly1305 has no such limit, but one
 * rule for all is simpler and costs a KeyUpdate every 16M records. */
#define S_KEY_RECORDS          (1ull << 24)
#define S_ALERT_ILLEGAL_PARAMS 47
#define S_ALERT_USER_CANCELED  90

static const struct {
    uint16_t code_point;
    const char *cipher, *digest;
    uint8_t key_len, secret_len;
} s_suites[] = {
    [RTM_TLS_AES_128_GCM_SHA256] = {0x1301, "AES-128-GCM", "SHA256", 16, 32},
    [RTM_TLS_AES_256_GCM_SHA384] = {0x1302, "AES-256-GCM", "SHA384", 32, 48},
    [RTM_TLS_CHACHA20_POLY1305_SHA256] = {0x1303, "ChaCha20-Poly1305", "SHA256", 32, 32},
};
#define S_SUITES (sizeof s_suites / sizeof s_suites[0])

struct rtm_tls_crypto {
    EVP_CIPHER_CTX *aead[S_SUITES]; /* per suite, its cipher set; keyed per record */
    EVP_KDF_CTX *kdf;               /* TLS13-KDF */
};

rtm_tls_crypto_t *rtm_tls_crypto_new(void)
{
    rtm_tls_crypto_t *c = calloc(1, sizeof *c);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_TLS1_3_KDF, NULL);
    if (!c || !kdf || !(c->kdf = EVP_KDF_CTX_new(kdf)))
        abort();
    EVP_KDF_free(kdf); /* the context holds its own reference */
    for (size_t i = 0; i < S_SUITES; i++) {
        EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, s_suites[i].cipher, NULL);
        c->aead[i] = EVP_CIPHER_CTX_new();
        if (!cipher || !c->aead[i] ||
            EVP_CipherInit_ex2(c->aead[i], cipher, NULL, NULL, 1, NULL) != 1)
            abort();
        EVP_CIPHER_free(cipher);
    }
    return c;
}

void rtm_tls_crypto_destroy(rtm_tls_crypto_t **cp)
{
    rtm_tls_crypto_t *c = *cp;
    if (!c)
        return;
    for (size_t i = 0; i < S_SUITES; i++)
        EVP_CIPHER_CTX_free(c->aead[i]);
    EVP_KDF_CTX_free(c->kdf);
    free(c);
    *cp = NULL;
}

int rtm_tls_suite(uint16_t code_point, rtm_tls_suite_t *suite, size_t *secret_len)
{
    for (size_t i = 0; i < S_SUITES; i++)
        if (s_suites[i].code_point == code_point) {
            *suite = (rtm_tls_suite_t)i;
            *secret_len = s_suites[i].secret_len;
            return 0;
        }
    return RTM_EINVAL;
}

/* ---- the key schedule -------------------------------------------------- */

/* HKDF-Expand-Label(secret, label, "", len) with the suite's hash. */
static void s_expand(rtm_tls_crypto_t *c, uint8_t suite, const uint8_t *secret, const char *label,
                     uint8_t *out, size_t len)
{
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)s_suites[suite].digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret,
                                          s_suites[suite].secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, "tls13 ", 6),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)label, strlen(label)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA, "", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_KDF_derive(c->kdf, out, len, params) != 1)
        abort();
}

/* t from traffic secret `secret` (it may be t's own), sequence numbers from 0. */
static void s_traffic(rtm_tls_crypto_t *c, uint8_t suite, rtm_tls_traffic_t *t,
                      const uint8_t *secret)
{
    memmove(t->secret, secret, s_suites[suite].secret_len);
    s_expand(c, suite, t->secret, "key", t->key, s_suites[suite].key_len);
    s_expand(c, suite, t->secret, "iv", t->iv, S_IV);
    t->seq = 0;
}

/* Traffic secret N+1 from N (§7.2). */
static void s_update(rtm_tls_crypto_t *c, uint8_t suite, rtm_tls_traffic_t *t)
{
    uint8_t next[RTM_TLS_SECRET_MAX];
    s_expand(c, suite, t->secret, "traffic upd", next, s_suites[suite].secret_len);
    s_traffic(c, suite, t, next);
    OPENSSL_cleanse(next, sizeof next);
}

void rtm_tls_record_init(rtm_tls_record_t *r, rtm_tls_crypto_t *c, rtm_tls_suite_t suite,
                         const uint8_t *read_secret, const uint8_t *write_secret, uint64_t read_seq,
                         uint64_t write_seq)
{
    r->suite = (uint8_t)suite;
    r->update_asked = false;
    s_traffic(c, r->suite, &r->rd, read_secret);
    s_traffic(c, r->suite, &r->wr, write_secret);
    r->rd.seq = read_seq;
    r->wr.seq = write_seq;
}

void rtm_tls_record_clear(rtm_tls_record_t *r)
{
    OPENSSL_cleanse(r, sizeof *r);
}

/* ---- sealing ----------------------------------------------------------- */

/* The per-record nonce (§5.3): the IV XOR the sequence number. Keys the
 * suite's context with it for sealing (enc 1) or opening (0). */
static EVP_CIPHER_CTX *s_key(rtm_tls_crypto_t *c, uint8_t suite, const rtm_tls_traffic_t *t,
                             int enc)
{
    uint8_t nonce[S_IV];
    memcpy(nonce, t->iv, S_IV);
    for (int i = 0; i < 8; i++)
        nonce[S_IV - 1 - i] ^= (uint8_t)(t->seq >> (8 * i));
    EVP_CIPHER_CTX *x = c->aead[suite];
    if (EVP_CipherInit_ex2(x, NULL, t->key, nonce, enc, NULL) != 1)
        abort();
    return x;
}

static void s_header(uint8_t *out, size_t body)
{
    out[0] = RTM_TLS_APPLICATION_DATA;
    out[1] = 3;
    out[2] = 3;
    out[3] = (uint8_t)(body >> 8);
    out[4] = (uint8_t)body;
}

int rtm_tls_record_seal(rtm_tls_record_t *r, rtm_tls_crypto_t *c, uint8_t type, const uint8_t *data,
                        size_t len, uint8_t *out)
{
    if (r->wr.seq == UINT64_MAX)
        return RTM_EPROTO;
    size_t body = len + 1 + S_TAG;
    s_header(out, body);
    EVP_CIPHER_CTX *x = s_key(c, r->suite, &r->wr, 1);
    uint8_t *p = out + RTM_TLS_RECORD_HEADER;
    int n;
    if (EVP_CipherUpdate(x, NULL, &n, out, RTM_TLS_RECORD_HEADER) != 1)
        abort();
    if (len > 0) {
        if (EVP_CipherUpdate(x, p, &n, data, (int)len) != 1)
            abort();
        p += n;
    }
    if (EVP_CipherUpdate(x, p, &n, &type, 1) != 1)
        abort();
    p += n;
    if (EVP_CipherFinal_ex(x, p, &n) != 1)
        abort();
    p += n;
    if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, S_TAG, p) != 1 ||
        p + S_TAG != out + RTM_TLS_RECORD_HEADER + body)
        abort();
    r->wr.seq++;
    return (int)(RTM_TLS_RECORD_HEADER + body);
}

int rtm_tls_record_seal_alert(rtm_tls_record_t *r, rtm_tls_crypto_t *c, uint8_t description,
                              uint8_t *out)
{
    const uint8_t alert[2] = {description == RTM_TLS_ALERT_CLOSE_NOTIFY ? 1 : 2, description};
    return rtm_tls_record_seal(r, c, RTM_TLS_ALERT, alert, sizeof alert, out);
}

bool rtm_tls_record_update_due(const rtm_tls_record_t *r)
{
    return r->update_asked || r->wr.seq >= S_KEY_RECORDS;
}

int rtm_tls_record_seal_key_update(rtm_tls_record_t *r, rtm_tls_crypto_t *c, uint8_t *out)
{
    static const uint8_t key_update[5] = {S_KEY_UPDATE, 0, 0, 1, 0}; /* update_not_requested */
    int n = rtm_tls_record_seal(r, c, RTM_TLS_HANDSHAKE, key_update, sizeof key_update, out);
    if (n > 0) {
        s_update(c, r->suite, &r->wr);
        r->update_asked = false;
    }
    return n;
}

/* ---- opening ----------------------------------------------------------- */

int rtm_tls_record_measure(const uint8_t *in, size_t len, int *alert)
{
    if (len >= 1 && in[0] != RTM_TLS_APPLICATION_DATA) { /* in clear after the handshake */
        *alert = RTM_TLS_ALERT_UNEXPECTED_MESSAGE;
        return RTM_EPROTO;
    }
    if (len >= 3 && (in[1] != 3 || in[2] != 3)) {
        *alert = RTM_TLS_ALERT_DECODE_ERROR;
        return RTM_EPROTO;
    }
    if (len < RTM_TLS_RECORD_HEADER)
        return 0;
    size_t body = (size_t)in[3] << 8 | in[4];
    if (body > RTM_TLS_RECORD_MAX_LENGTH) {
        *alert = RTM_TLS_ALERT_RECORD_OVERFLOW;
        return RTM_EPROTO;
    }
    if (body < S_TAG + 1) { /* no room for a tag and a content type */
        *alert = RTM_TLS_ALERT_DECODE_ERROR;
        return RTM_EPROTO;
    }
    return (int)(RTM_TLS_RECORD_HEADER + body);
}

static int s_fail(int *alert, int description)
{
    *alert = description;
    return RTM_EPROTO;
}

/* The peer's KeyUpdate, the only handshake message accepted after the
 * handshake; it must fill its record (§5.1: no message may span a key
 * change). */
static int s_key_update(rtm_tls_record_t *r, rtm_tls_crypto_t *c, const uint8_t *msg, size_t len,
                        int *alert)
{
    if (len == 0 || msg[0] != S_KEY_UPDATE)
        return s_fail(alert, RTM_TLS_ALERT_UNEXPECTED_MESSAGE);
    if (len != 5 || msg[1] != 0 || msg[2] != 0 || msg[3] != 1)
        return s_fail(alert, RTM_TLS_ALERT_DECODE_ERROR);
    if (msg[4] > 1)
        return s_fail(alert, S_ALERT_ILLEGAL_PARAMS);
    s_update(c, r->suite, &r->rd);
    r->update_asked = r->update_asked || msg[4] == 1;
    return RTM_TLS_OPENED_KEY_UPDATE;
}

int rtm_tls_record_open(rtm_tls_record_t *r, rtm_tls_crypto_t *c, const uint8_t *rec, size_t len,
                        uint8_t *out, size_t *n, int *alert)
{
    *n = 0;
    size_t inner = len - RTM_TLS_RECORD_HEADER - S_TAG; /* content, type, padding */
    if (r->rd.seq == UINT64_MAX)
        return s_fail(alert, RTM_TLS_ALERT_UNEXPECTED_MESSAGE);
    EVP_CIPHER_CTX *x = s_key(c, r->suite, &r->rd, 0);
    int got;
    if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, S_TAG,
                            (void *)(rec + RTM_TLS_RECORD_HEADER + inner)) != 1 ||
        EVP_CipherUpdate(x, NULL, &got, rec, RTM_TLS_RECORD_HEADER) != 1 ||
        EVP_CipherUpdate(x, out, &got, rec + RTM_TLS_RECORD_HEADER, (int)inner) != 1 ||
        EVP_CipherFinal_ex(x, out + got, &got) != 1)
        return s_fail(alert, RTM_TLS_ALERT_BAD_RECORD_MAC);
    r->rd.seq++;
    if (inner > RTM_TLS_RECORD_MAX_PLAIN + 1)
        return s_fail(alert, RTM_TLS_ALERT_RECORD_OVERFLOW);
    while (inner > 0 && out[inner - 1] == 0) /* padding */
        inner--;
    if (inner == 0) /* no content type */
        return s_fail(alert, RTM_TLS_ALERT_UNEXPECTED_MESSAGE);
    size_t content = inner - 1;
    switch (out[content]) {
    case RTM_TLS_APPLICATION_DATA: *n = content; return RTM_TLS_OPENED_DATA;
    case RTM_TLS_HANDSHAKE: return s_key_update(r, c, out, content, alert);
    case RTM_TLS_ALERT:
        if (content != 2)
            return s_fail(alert, RTM_TLS_ALERT_DECODE_ERROR);
        if (out[1] == RTM_TLS_ALERT_CLOSE_NOTIFY)
            return RTM_TLS_OPENED_CLOSE;
        if (out[1] == S_ALERT_USER_CANCELED) /* a close_notify follows (§6.1) */
            return RTM_TLS_OPENED_DATA;
        return s_fail(alert, -1); /* the peer's error: nothing to answer */
    default:                      /* change_cipher_spec, or no such type */
        return s_fail(alert, RTM_TLS_ALERT_UNEXPECTED_MESSAGE);
    }
}
