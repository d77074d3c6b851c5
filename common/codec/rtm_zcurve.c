/* rtm_zcurve — see rtm_zcurve.h; RFC 26 (CurveZMQ) and ZMTP-CURVE are the
 * protocol, libzmq 4.3's curve_client / curve_server the byte layouts.
 *
 * Every box on the wire is a NaCl box without its leading BOXZEROBYTES, which
 * is exactly what libsodium's *_easy functions produce and take (MAC, then
 * ciphertext), so commands are built in the caller's `out` and sealed in
 * place: the plaintext is written 16 bytes past where the box starts and
 * crypto_box_easy_afternm overwrites it from there (libsodium allows the
 * ciphertext to overlap the message). MESSAGE bodies are opened in place the
 * same way, so the data never leaves the caller's buffer.
 *
 * Short nonces start at 1 and increase by one per box we send (client: HELLO
 * 1, INITIATE 2, messages from 3; server: READY 1, messages from 2), as libzmq
 * does; the peer's are remembered from HELLO/INITIATE/READY and every MESSAGE
 * must carry a larger one, which stops replay and reordering. The server
 * keeps no state a cookie could replace, but it still sends one (C' and s'
 * sealed with a key made fresh for this connection) and checks it in
 * INITIATE, because a libzmq client echoes whatever WELCOME gave it.
 *
 * Invariants: a failed step leaves the object in S_FAILED, where every later
 * step fails; keys, the cookie key and the precomputed box key live only in
 * the object and are wiped on destroy (the short-term secret and the cookie
 * key as soon as the handshake no longer needs them); peer input is
 * length-checked before any byte of it is read. */
#include "rtm_zcurve.h"

#include "rtm_error.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define S_KEY    RTM_ZCURVE_KEY_LEN
#define S_MAC    crypto_box_MACBYTES   /* 16 */
#define S_NONCE  crypto_box_NONCEBYTES /* 24 */
#define S_PREFIX 16                    /* long prefix of a short (8-byte) nonce */

/* Command sizes (name included) and where their fields start. */
#define S_HELLO_LEN    200 /* name 6, version 2, padding 72, C' 32, nonce 8, box 80 */
#define S_WELCOME_LEN  168 /* name 8, nonce 16, box 144 [S' 32, cookie 96] */
#define S_COOKIE_LEN   96  /* nonce 16, secretbox 80 [C' 32, s' 32] */
#define S_INITIATE_MIN 257 /* name 9, cookie 96, nonce 8, box 144 + metadata */
#define S_INITIATE_BOX 113 /* offset of the box [C 32, vouch nonce 16, vouch 80, metadata] */
#define S_VOUCH_LEN    80  /* box [C' 32, S 32] */
#define S_READY_MIN    30  /* name 6, nonce 8, box 16 + metadata */
#define S_MSG_HEAD     16  /* name 8, nonce 8 */

typedef enum {
    S_CLIENT_HELLO,    /* client: nothing sent yet */
    S_CLIENT_WELCOME,  /* client: HELLO sent */
    S_CLIENT_READY,    /* client: INITIATE sent */
    S_SERVER_HELLO,    /* server: nothing received yet */
    S_SERVER_INITIATE, /* server: WELCOME sent */
    S_SERVER_AUTH,     /* server: INITIATE verified, waiting for rtm_zcurve_accept */
    S_READY,           /* either side: MESSAGEs flow */
    S_FAILED,          /* a step failed; the connection is to be closed */
} s_state_t;

struct rtm_zcurve {
    s_state_t state;
    bool server;                  /* which side we are: picks the MESSAGE nonce prefixes */
    uint8_t pub[S_KEY];           /* our long-term public key (C or S) */
    uint8_t sec[S_KEY];           /* our long-term secret key */
    uint8_t peer[S_KEY];          /* client: S, given; server: C, from INITIATE */
    uint8_t cn_pub[S_KEY];        /* our short-term public key (C' or S') */
    uint8_t cn_sec[S_KEY];        /* our short-term secret key */
    uint8_t cn_peer[S_KEY];       /* the peer's short-term public key */
    uint8_t precom[S_KEY];        /* crypto_box_beforenm(cn_peer, cn_sec) */
    uint8_t cookie[S_COOKIE_LEN]; /* client: the cookie WELCOME carried */
    uint8_t cookie_key[S_KEY];    /* server: this connection's cookie key */
    uint64_t nonce;               /* our next short nonce */
    uint64_t peer_nonce;          /* the peer's last accepted short nonce */
    uint8_t *meta;                /* our property block (owned), sent in INITIATE / READY */
    size_t meta_len;              /* its length */
    uint8_t *peer_plain;          /* the peer's opened INITIATE / READY box (owned) */
    size_t peer_meta_off;         /* where its property block starts in peer_plain */
    size_t peer_meta_len;         /* and its length */
};

/* ---- helpers ----------------------------------------------------------- */

static void *s_alloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        abort();
    return p;
}

static void s_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t s_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* A full nonce from a 16-byte prefix and a short nonce. */
static void s_short_nonce(uint8_t nonce[S_NONCE], const char *prefix, uint64_t n)
{
    memcpy(nonce, prefix, S_PREFIX);
    s_put_u64(nonce + S_PREFIX, n);
}

/* A full nonce from an 8-byte prefix and 16 bytes (random, or the peer's). */
static void s_long_nonce(uint8_t nonce[S_NONCE], const char *prefix, const uint8_t *tail)
{
    memcpy(nonce, prefix, 8);
    memcpy(nonce + 8, tail, 16);
}

/* Whether the command body names `name` (its length byte included). */
static bool s_is(const uint8_t *in, size_t len, const char *name)
{
    size_t n = strlen(name);
    return in && len >= n && memcmp(in, name, n) == 0;
}

static rtm_zcurve_t *s_new(const uint8_t pub[S_KEY], const uint8_t sec[S_KEY], const uint8_t *meta,
                           size_t meta_len)
{
    assert(pub && sec && (meta || meta_len == 0));
    if (sodium_init() < 0)
        abort();
    rtm_zcurve_t *c = s_alloc(sizeof *c);
    memcpy(c->pub, pub, S_KEY);
    memcpy(c->sec, sec, S_KEY);
    crypto_box_keypair(c->cn_pub, c->cn_sec);
    c->nonce = 1;
    c->meta = s_alloc(meta_len);
    if (meta_len)
        memcpy(c->meta, meta, meta_len);
    c->meta_len = meta_len;
    return c;
}

/* Keeps the opened box of INITIATE / READY (plain_len bytes at plain) whose
 * property block starts at meta_off. */
static void s_keep_peer_plain(rtm_zcurve_t *c, uint8_t *plain, size_t plain_len, size_t meta_off)
{
    assert(!c->peer_plain && meta_off <= plain_len);
    c->peer_plain = plain;
    c->peer_meta_off = meta_off;
    c->peer_meta_len = plain_len - meta_off;
}

static rtm_str_t s_peer_meta(const rtm_zcurve_t *c)
{
    return rtm_str((const char *)c->peer_plain + c->peer_meta_off, c->peer_meta_len);
}

/* ---- public: lifetime -------------------------------------------------- */

rtm_zcurve_t *rtm_zcurve_client_new(const uint8_t server_key[RTM_ZCURVE_KEY_LEN],
                                    const uint8_t pub[RTM_ZCURVE_KEY_LEN],
                                    const uint8_t sec[RTM_ZCURVE_KEY_LEN], const uint8_t *meta,
                                    size_t meta_len)
{
    assert(server_key);
    rtm_zcurve_t *c = s_new(pub, sec, meta, meta_len);
    memcpy(c->peer, server_key, S_KEY);
    c->state = S_CLIENT_HELLO;
    return c;
}

rtm_zcurve_t *rtm_zcurve_server_new(const uint8_t pub[RTM_ZCURVE_KEY_LEN],
                                    const uint8_t sec[RTM_ZCURVE_KEY_LEN], const uint8_t *meta,
                                    size_t meta_len)
{
    rtm_zcurve_t *c = s_new(pub, sec, meta, meta_len);
    c->server = true;
    c->state = S_SERVER_HELLO;
    return c;
}

void rtm_zcurve_destroy(rtm_zcurve_t **c)
{
    if (!c || !*c)
        return;
    rtm_zcurve_t *z = *c;
    if (z->peer_plain) {
        sodium_memzero(z->peer_plain, z->peer_meta_off + z->peer_meta_len);
        free(z->peer_plain);
    }
    sodium_memzero(z->meta, z->meta_len);
    free(z->meta);
    sodium_memzero(z, sizeof *z);
    free(z);
    *c = NULL;
}

/* ---- Z85 (RFC 32) ------------------------------------------------------ */

static const char s_z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            ".-:+=^!/*?&<>()[]{}@%$#";

int rtm_zcurve_key_z85(const char *z85, uint8_t key[RTM_ZCURVE_KEY_LEN])
{
    assert(key);
    size_t n = 0;
    while (z85 && n <= 40 && z85[n])
        n++;
    if (n != 40)
        return RTM_EINVAL;
    for (size_t g = 0; g < 8; g++) {
        uint64_t v = 0;
        for (size_t i = 0; i < 5; i++) {
            const char *d = memchr(s_z85, z85[g * 5 + i], 85);
            if (!d)
                return RTM_EINVAL;
            v = v * 85 + (uint64_t)(d - s_z85);
        }
        if (v > UINT32_MAX) /* "%%%%%" and its like: more than 32 bits */
            return RTM_EINVAL;
        for (size_t i = 0; i < 4; i++)
            key[g * 4 + i] = (uint8_t)(v >> (24 - 8 * i));
    }
    return 0;
}

/* ---- client ------------------------------------------------------------ */

/* HELLO: version 1.0, 72 bytes of anti-amplification padding, C', short
 * nonce and Box[64 zero bytes](C'->S). */
static int s_client_hello(rtm_zcurve_t *c, uint8_t *out, size_t cap, size_t *out_len)
{
    assert(cap >= S_HELLO_LEN);
    uint64_t n = c->nonce++;
    uint8_t nonce[S_NONCE];
    s_short_nonce(nonce, "CurveZMQHELLO---", n);
    memset(out, 0, S_HELLO_LEN);
    memcpy(out, "\x05HELLO\x01\x00", 8);
    memcpy(out + 80, c->cn_pub, S_KEY);
    s_put_u64(out + 112, n);
    /* the 64 zero bytes sealed in place at 136 (zeroed above) */
    if (crypto_box_easy(out + 120, out + 136, 64, nonce, c->peer, c->cn_sec) != 0)
        return RTM_EAUTH; /* S is a low-order point: no server has it */
    *out_len = S_HELLO_LEN;
    c->state = S_CLIENT_WELCOME;
    return RTM_ZCURVE_CONTINUE;
}

/* INITIATE: the cookie, a short nonce and Box[C, vouch nonce, vouch,
 * metadata](C'->S'), where vouch = Box[C', S](C->S'). */
static int s_client_initiate(rtm_zcurve_t *c, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t len = S_INITIATE_MIN + c->meta_len;
    assert(cap >= len);
    uint8_t *plain = out + S_INITIATE_BOX + S_MAC;
    uint8_t vouch_plain[2 * S_KEY], nonce[S_NONCE];
    memcpy(vouch_plain, c->cn_pub, S_KEY);
    memcpy(vouch_plain + S_KEY, c->peer, S_KEY);
    memcpy(plain, c->pub, S_KEY);
    randombytes_buf(plain + 32, 16);
    s_long_nonce(nonce, "VOUCH---", plain + 32);
    if (crypto_box_easy(plain + 48, vouch_plain, sizeof vouch_plain, nonce, c->cn_peer, c->sec))
        return RTM_EAUTH;
    if (c->meta_len)
        memcpy(plain + 128, c->meta, c->meta_len);
    uint64_t n = c->nonce++;
    s_short_nonce(nonce, "CurveZMQINITIATE", n);
    crypto_box_easy_afternm(out + S_INITIATE_BOX, plain, 128 + c->meta_len, nonce, c->precom);
    memcpy(out, "\x08INITIATE", 9);
    memcpy(out + 9, c->cookie, S_COOKIE_LEN);
    s_put_u64(out + 105, n);
    *out_len = len;
    c->state = S_CLIENT_READY;
    return RTM_ZCURVE_CONTINUE;
}

/* WELCOME: a random nonce and Box[S', cookie](S->C'); answered by INITIATE. */
static int s_client_welcome(rtm_zcurve_t *c, const uint8_t *in, size_t len, uint8_t *out,
                            size_t cap, size_t *out_len)
{
    if (!s_is(in, len, "\x07WELCOME"))
        return RTM_EPROTO; /* ERROR, or anything else */
    if (len != S_WELCOME_LEN)
        return RTM_EPROTO;
    uint8_t nonce[S_NONCE], plain[S_KEY + S_COOKIE_LEN];
    s_long_nonce(nonce, "WELCOME-", in + 8);
    if (crypto_box_open_easy(plain, in + 24, 144, nonce, c->peer, c->cn_sec) != 0)
        return RTM_EAUTH;
    memcpy(c->cn_peer, plain, S_KEY);
    memcpy(c->cookie, plain + S_KEY, S_COOKIE_LEN);
    sodium_memzero(plain, sizeof plain);
    if (crypto_box_beforenm(c->precom, c->cn_peer, c->cn_sec) != 0)
        return RTM_EAUTH; /* S' is a low-order point */
    return s_client_initiate(c, out, cap, out_len);
}

/* READY: a short nonce and Box[metadata](S'->C'). */
static int s_client_ready(rtm_zcurve_t *c, const uint8_t *in, size_t len, rtm_str_t *peer_meta)
{
    if (!s_is(in, len, "\x05READY") || len < S_READY_MIN)
        return RTM_EPROTO;
    uint64_t n = s_get_u64(in + 6);
    uint8_t nonce[S_NONCE];
    s_short_nonce(nonce, "CurveZMQREADY---", n);
    size_t plain_len = len - S_READY_MIN;
    uint8_t *plain = s_alloc(plain_len);
    if (crypto_box_open_easy_afternm(plain, in + 14, len - 14, nonce, c->precom) != 0) {
        free(plain);
        return RTM_EAUTH;
    }
    c->peer_nonce = n;
    s_keep_peer_plain(c, plain, plain_len, 0);
    if (peer_meta)
        *peer_meta = s_peer_meta(c);
    sodium_memzero(c->cn_sec, S_KEY); /* precom is all MESSAGE needs */
    c->state = S_READY;
    return RTM_ZCURVE_READY;
}

/* ---- server ------------------------------------------------------------ */

/* WELCOME: Box[S', cookie](S->C'), cookie = nonce + SecretBox[C', s'](K)
 * with K fresh for this connection. */
static void s_server_welcome(rtm_zcurve_t *c, uint8_t *out, size_t cap, size_t *out_len)
{
    assert(cap >= S_WELCOME_LEN);
    uint8_t cookie_plain[2 * S_KEY], nonce[S_NONCE];
    uint8_t *plain = out + 24 + S_MAC; /* [S' 32, cookie nonce 16, cookie box 80] */
    memcpy(cookie_plain, c->cn_peer, S_KEY);
    memcpy(cookie_plain + S_KEY, c->cn_sec, S_KEY);
    crypto_secretbox_keygen(c->cookie_key);
    memcpy(plain, c->cn_pub, S_KEY);
    randombytes_buf(plain + 32, 16);
    s_long_nonce(nonce, "COOKIE--", plain + 32);
    crypto_secretbox_easy(plain + 48, cookie_plain, sizeof cookie_plain, nonce, c->cookie_key);
    sodium_memzero(cookie_plain, sizeof cookie_plain);
    memcpy(out, "\x07WELCOME", 8);
    randombytes_buf(out + 8, 16);
    s_long_nonce(nonce, "WELCOME-", out + 8);
    /* C' opened our HELLO box, so it is not a low-order point */
    int rc = crypto_box_easy(out + 24, plain, 128, nonce, c->cn_peer, c->sec);
    assert(rc == 0);
    (void)rc;
    *out_len = S_WELCOME_LEN;
}

static int s_server_hello(rtm_zcurve_t *c, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                          size_t *out_len)
{
    if (!s_is(in, len, "\x05HELLO") || len != S_HELLO_LEN)
        return RTM_EPROTO;
    if (in[6] != 1 || in[7] != 0)
        return RTM_EPROTO; /* CurveZMQ 1.0 only */
    uint64_t n = s_get_u64(in + 112);
    uint8_t nonce[S_NONCE], plain[64], zero[64] = {0};
    s_short_nonce(nonce, "CurveZMQHELLO---", n);
    if (crypto_box_open_easy(plain, in + 120, 80, nonce, in + 80, c->sec) != 0 ||
        sodium_memcmp(plain, zero, sizeof plain) != 0)
        return RTM_EAUTH;
    memcpy(c->cn_peer, in + 80, S_KEY);
    if (crypto_box_beforenm(c->precom, c->cn_peer, c->cn_sec) != 0)
        return RTM_EAUTH;
    c->peer_nonce = n;
    s_server_welcome(c, out, cap, out_len);
    c->state = S_SERVER_INITIATE;
    return RTM_ZCURVE_CONTINUE;
}

/* The cookie INITIATE echoes must open with this connection's cookie key and
 * hold this connection's C' and s'. */
static bool s_cookie_ok(const rtm_zcurve_t *c, const uint8_t cookie[S_COOKIE_LEN])
{
    uint8_t nonce[S_NONCE], plain[2 * S_KEY];
    s_long_nonce(nonce, "COOKIE--", cookie);
    bool ok = crypto_secretbox_open_easy(plain, cookie + 16, 80, nonce, c->cookie_key) == 0 &&
              sodium_memcmp(plain, c->cn_peer, S_KEY) == 0 &&
              sodium_memcmp(plain + S_KEY, c->cn_sec, S_KEY) == 0;
    sodium_memzero(plain, sizeof plain);
    return ok;
}

/* The vouch in an opened INITIATE box must be Box[C', S](C->S'). */
static bool s_vouch_ok(const rtm_zcurve_t *c, const uint8_t *plain)
{
    uint8_t nonce[S_NONCE], vouch[2 * S_KEY];
    s_long_nonce(nonce, "VOUCH---", plain + 32);
    return crypto_box_open_easy(vouch, plain + 48, S_VOUCH_LEN, nonce, plain, c->cn_sec) == 0 &&
           sodium_memcmp(vouch, c->cn_peer, S_KEY) == 0 &&
           sodium_memcmp(vouch + S_KEY, c->pub, S_KEY) == 0;
}

static int s_server_initiate(rtm_zcurve_t *c, const uint8_t *in, size_t len)
{
    if (!s_is(in, len, "\x08INITIATE") || len < S_INITIATE_MIN)
        return RTM_EPROTO;
    uint64_t n = s_get_u64(in + 105);
    if (!s_cookie_ok(c, in + 9) || n <= c->peer_nonce)
        return RTM_EAUTH;
    uint8_t nonce[S_NONCE];
    s_short_nonce(nonce, "CurveZMQINITIATE", n);
    size_t plain_len = len - S_INITIATE_BOX - S_MAC;
    uint8_t *plain = s_alloc(plain_len);
    if (crypto_box_open_easy_afternm(plain, in + S_INITIATE_BOX, len - S_INITIATE_BOX, nonce,
                                     c->precom) != 0 ||
        !s_vouch_ok(c, plain)) {
        free(plain);
        return RTM_EAUTH;
    }
    memcpy(c->peer, plain, S_KEY);
    c->peer_nonce = n;
    s_keep_peer_plain(c, plain, plain_len, 128);
    sodium_memzero(c->cookie_key, S_KEY); /* one INITIATE per cookie */
    c->state = S_SERVER_AUTH;
    return RTM_ZCURVE_AUTH;
}

const uint8_t *rtm_zcurve_peer_key(const rtm_zcurve_t *c)
{
    assert(c && (c->state == S_SERVER_AUTH || (c->state == S_READY && c->server)));
    return c->peer;
}

int rtm_zcurve_accept(rtm_zcurve_t *c, uint8_t *out, size_t cap, size_t *out_len,
                      rtm_str_t *peer_meta)
{
    assert(c && c->state == S_SERVER_AUTH && out_len);
    size_t len = S_READY_MIN + c->meta_len;
    assert(cap >= len);
    uint64_t n = c->nonce++;
    uint8_t nonce[S_NONCE];
    s_short_nonce(nonce, "CurveZMQREADY---", n);
    memcpy(out, "\x05READY", 6);
    s_put_u64(out + 6, n);
    if (c->meta_len)
        memcpy(out + 14 + S_MAC, c->meta, c->meta_len);
    crypto_box_easy_afternm(out + 14, out + 14 + S_MAC, c->meta_len, nonce, c->precom);
    *out_len = len;
    if (peer_meta)
        *peer_meta = s_peer_meta(c);
    sodium_memzero(c->cn_sec, S_KEY); /* precom is all MESSAGE needs */
    c->state = S_READY;
    return RTM_ZCURVE_READY;
}

/* ---- handshake dispatch ------------------------------------------------ */

int rtm_zcurve_step(rtm_zcurve_t *c, const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                    size_t *out_len, rtm_str_t *peer_meta)
{
    assert(c && out && out_len && (in || in_len == 0));
    *out_len = 0;
    if (peer_meta)
        *peer_meta = rtm_str(NULL, 0);
    int rc;
    switch (c->state) {
    case S_CLIENT_HELLO: rc = in_len ? RTM_EPROTO : s_client_hello(c, out, cap, out_len); break;
    case S_CLIENT_WELCOME: rc = s_client_welcome(c, in, in_len, out, cap, out_len); break;
    case S_CLIENT_READY: rc = s_client_ready(c, in, in_len, peer_meta); break;
    case S_SERVER_HELLO: rc = s_server_hello(c, in, in_len, out, cap, out_len); break;
    case S_SERVER_INITIATE: rc = s_server_initiate(c, in, in_len); break;
    default: rc = RTM_EPROTO; /* a command after the handshake, or after a failure */
    }
    if (rc < 0) {
        *out_len = 0;
        c->state = S_FAILED;
    }
    return rc;
}

/* ---- MESSAGE ----------------------------------------------------------- */

/* MESSAGE body: "\x07MESSAGE", short nonce, Box[flags, data](C'->S' or
 * S'->C'), the nonce prefixed by the sender's side. */
size_t rtm_zcurve_encode(rtm_zcurve_t *c, uint8_t flags, const uint8_t *data, size_t len,
                         uint8_t *out)
{
    assert(c && c->state == S_READY && out && (data || len == 0));
    assert((flags & ~(RTM_ZCURVE_MORE | RTM_ZCURVE_COMMAND)) == 0);
    assert(c->nonce != UINT64_MAX);
    uint64_t n = c->nonce++;
    uint8_t nonce[S_NONCE];
    s_short_nonce(nonce, c->server ? "CurveZMQMESSAGES" : "CurveZMQMESSAGEC", n);
    if (len)
        memmove(out + RTM_ZCURVE_MSG_OVERHEAD, data, len);
    out[S_MSG_HEAD + S_MAC] = flags;
    crypto_box_easy_afternm(out + S_MSG_HEAD, out + S_MSG_HEAD + S_MAC, len + 1, nonce, c->precom);
    memcpy(out, "\x07MESSAGE", 8);
    s_put_u64(out + 8, n);
    return len + RTM_ZCURVE_MSG_OVERHEAD;
}

int rtm_zcurve_decode(rtm_zcurve_t *c, uint8_t *body, size_t body_len, uint8_t *flags,
                      uint8_t **data, size_t *len)
{
    assert(c && c->state == S_READY && flags && data && len && (body || body_len == 0));
    if (!s_is(body, body_len, "\x07MESSAGE") || body_len < RTM_ZCURVE_MSG_OVERHEAD)
        return RTM_EPROTO;
    uint64_t n = s_get_u64(body + 8);
    if (n <= c->peer_nonce)
        return RTM_EAUTH; /* replayed or reordered */
    uint8_t nonce[S_NONCE];
    s_short_nonce(nonce, c->server ? "CurveZMQMESSAGEC" : "CurveZMQMESSAGES", n);
    if (crypto_box_open_easy_afternm(body + S_MSG_HEAD + S_MAC, body + S_MSG_HEAD,
                                     body_len - S_MSG_HEAD, nonce, c->precom) != 0)
        return RTM_EAUTH;
    c->peer_nonce = n;
    *flags = body[S_MSG_HEAD + S_MAC] & (RTM_ZCURVE_MORE | RTM_ZCURVE_COMMAND);
    *data = body + RTM_ZCURVE_MSG_OVERHEAD;
    *len = body_len - RTM_ZCURVE_MSG_OVERHEAD;
    return 0;
}
