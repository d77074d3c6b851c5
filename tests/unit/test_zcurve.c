/* Tests for rtm_zcurve: Z85 vectors, our client against our server (metadata,
 * MESSAGE both ways, every handshake and MESSAGE byte flipped, every prefix,
 * replayed nonces, commands out of order), then both sides against libzmq
 * over TCP on 127.0.0.1, so byte compatibility is checked against the
 * reference implementation and not only against ourselves. The ZMTP framing
 * for that (greeting and frames) is written here, small and blocking, with
 * socket timeouts so nothing can hang. */
#define _GNU_SOURCE /* memmem */
#include "rtm_error.h"
#include "rtm_zcurve.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zmq.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include "exact_copy.h"

#define S_CAP 2048 /* room for any handshake command in these tests */

/* ---- helpers ----------------------------------------------------------- */

/* Appends the ZMTP property name=value to a property block; returns its new length. */
static size_t s_prop(uint8_t *block, size_t len, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    block[len++] = (uint8_t)n;
    memcpy(block + len, name, n);
    len += n;
    uint32_t be = htonl((uint32_t)v);
    memcpy(block + len, &be, 4);
    memcpy(block + len + 4, value, v);
    return len + 4 + v;
}

static size_t s_props(uint8_t *block, const char *socket_type)
{
    size_t len = s_prop(block, 0, "Socket-Type", socket_type);
    return s_prop(block, len, "X-Test", "rtm");
}

/* Whether a property block holds name=value. */
static bool s_has_prop(rtm_str_t b, const char *name, const char *value)
{
    const uint8_t *p = (const uint8_t *)b.p, *end = p + b.len;
    while (end - p > 5) {
        size_t n = *p++;
        if ((size_t)(end - p) < n + 4)
            return false;
        bool match = n == strlen(name) && memcmp(p, name, n) == 0;
        p += n;
        uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        p += 4;
        if ((size_t)(end - p) < v)
            return false;
        if (match)
            return v == strlen(value) && memcmp(p, value, v) == 0;
        p += v;
    }
    return false;
}

/* ---- Z85 --------------------------------------------------------------- */

static void test_z85_rfc_vector(void **state)
{
    (void)state;
    static const uint8_t hello[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    uint8_t key[32];
    assert_int_equal(rtm_zcurve_key_z85("HelloWorldHelloWorldHelloWorldHelloWorld", key), 0);
    for (size_t i = 0; i < 4; i++)
        assert_memory_equal(key + 8 * i, hello, 8);
}

/* The key pair of libzmq's own CURVE tests: Z85 text, and the secret's
 * public key must be the decoded public key. */
static void test_z85_known_pair(void **state)
{
    (void)state;
    uint8_t pub[32], sec[32], derived[32];
    assert_int_equal(rtm_zcurve_key_z85("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", pub), 0);
    assert_int_equal(rtm_zcurve_key_z85("D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs", sec), 0);
    assert_int_equal(crypto_scalarmult_base(derived, sec), 0);
    assert_memory_equal(derived, pub, 32);
}

/* libsodium keys through libzmq's encoder (an independent one) and back. */
static void test_z85_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < 64; i++) {
        uint8_t key[32], back[32];
        char text[41];
        randombytes_buf(key, sizeof key);
        if (i == 0)
            memset(key, 0xFF, sizeof key);
        if (i == 1)
            memset(key, 0, sizeof key);
        assert_non_null(zmq_z85_encode(text, key, sizeof key));
        assert_int_equal(rtm_zcurve_key_z85(text, back), 0);
        assert_memory_equal(back, key, 32);
    }
}

static void test_z85_invalid(void **state)
{
    (void)state;
    uint8_t key[32];
    const char *good = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    assert_int_equal(rtm_zcurve_key_z85(NULL, key), RTM_EINVAL);
    assert_int_equal(rtm_zcurve_key_z85("", key), RTM_EINVAL);
    char text[64];
    memcpy(text, good, 39);
    text[39] = 0; /* one short */
    assert_int_equal(rtm_zcurve_key_z85(text, key), RTM_EINVAL);
    snprintf(text, sizeof text, "%sA", good); /* one over */
    assert_int_equal(rtm_zcurve_key_z85(text, key), RTM_EINVAL);
    static const char bad[] = {' ', '"', '\'', ',', ';', '\\', '_', '`', '|', '~', '\x7f', '\x80'};
    for (size_t i = 0; i < sizeof bad; i++) {
        for (size_t at = 0; at < 40; at += 13) {
            snprintf(text, sizeof text, "%s", good);
            text[at] = bad[i];
            assert_int_equal(rtm_zcurve_key_z85(text, key), RTM_EINVAL);
        }
    }
    /* "%%%%%" is 82 * (85^5 - 1) / 84, more than 32 bits; "%nSc0" is 2^32 - 1 */
    snprintf(text, sizeof text, "%%%%%%%%%%%s", good + 5);
    assert_int_equal(strlen(text), 40);
    assert_int_equal(rtm_zcurve_key_z85(text, key), RTM_EINVAL);
    memcpy(text, "%nSc1", 5); /* 2^32 */
    assert_int_equal(rtm_zcurve_key_z85(text, key), RTM_EINVAL);
    memcpy(text, "%nSc0", 5);
    assert_int_equal(rtm_zcurve_key_z85(text, key), 0);
    assert_memory_equal(key, "\xff\xff\xff\xff", 4);
}

/* ---- our client against our server ------------------------------------- */

enum { S_HELLO, S_WELCOME, S_INITIATE, S_READY, S_NCMD };

typedef struct {
    uint8_t cpub[32], csec[32], spub[32], ssec[32];
    uint8_t cmeta[64], smeta[64];
    size_t cmeta_len, smeta_len;
    rtm_zcurve_t *cli, *srv;
    uint8_t cmd[S_NCMD][S_CAP]; /* the handshake commands as sent */
    size_t cmd_len[S_NCMD];
    rtm_str_t cli_peer_meta, srv_peer_meta;
} s_pair_t;

/* Fresh keys and both sides; the client is told server_key (NULL: the right one). */
static s_pair_t *s_pair_new(const uint8_t *server_key)
{
    s_pair_t *p = calloc(1, sizeof *p);
    assert_non_null(p);
    crypto_box_keypair(p->cpub, p->csec);
    crypto_box_keypair(p->spub, p->ssec);
    p->cmeta_len = s_props(p->cmeta, "DEALER");
    p->smeta_len = s_props(p->smeta, "ROUTER");
    p->cli = rtm_zcurve_client_new(server_key ? server_key : p->spub, p->cpub, p->csec, p->cmeta,
                                   p->cmeta_len);
    p->srv = rtm_zcurve_server_new(p->spub, p->ssec, p->smeta, p->smeta_len);
    return p;
}

static void s_pair_free(s_pair_t *p)
{
    rtm_zcurve_destroy(&p->cli);
    rtm_zcurve_destroy(&p->srv);
    free(p);
}

/* Runs the handshake correctly up to (not including) the delivery of command
 * `upto` (S_NCMD: to the end), recording every command produced. */
static void s_pair_run(s_pair_t *p, int upto)
{
    int rc = rtm_zcurve_step(p->cli, NULL, 0, p->cmd[S_HELLO], S_CAP, &p->cmd_len[S_HELLO], NULL);
    assert_int_equal(rc, RTM_ZCURVE_CONTINUE);
    assert_int_equal(p->cmd_len[S_HELLO], 200);
    if (upto == S_HELLO)
        return;
    rc = rtm_zcurve_step(p->srv, p->cmd[S_HELLO], p->cmd_len[S_HELLO], p->cmd[S_WELCOME], S_CAP,
                         &p->cmd_len[S_WELCOME], NULL);
    assert_int_equal(rc, RTM_ZCURVE_CONTINUE);
    assert_int_equal(p->cmd_len[S_WELCOME], 168);
    if (upto == S_WELCOME)
        return;
    rc = rtm_zcurve_step(p->cli, p->cmd[S_WELCOME], p->cmd_len[S_WELCOME], p->cmd[S_INITIATE],
                         S_CAP, &p->cmd_len[S_INITIATE], NULL);
    assert_int_equal(rc, RTM_ZCURVE_CONTINUE);
    assert_int_equal(p->cmd_len[S_INITIATE], 257 + p->cmeta_len);
    if (upto == S_INITIATE)
        return;
    size_t n = 99;
    rc = rtm_zcurve_step(p->srv, p->cmd[S_INITIATE], p->cmd_len[S_INITIATE], p->cmd[S_READY], S_CAP,
                         &n, NULL);
    assert_int_equal(rc, RTM_ZCURVE_AUTH);
    assert_int_equal(n, 0);
    assert_memory_equal(rtm_zcurve_peer_key(p->srv), p->cpub, 32);
    rc = rtm_zcurve_accept(p->srv, p->cmd[S_READY], S_CAP, &p->cmd_len[S_READY], &p->srv_peer_meta);
    assert_int_equal(rc, RTM_ZCURVE_READY);
    assert_int_equal(p->cmd_len[S_READY], 30 + p->smeta_len);
    if (upto == S_READY)
        return;
    uint8_t out[S_CAP];
    rc = rtm_zcurve_step(p->cli, p->cmd[S_READY], p->cmd_len[S_READY], out, S_CAP, &n,
                         &p->cli_peer_meta);
    assert_int_equal(rc, RTM_ZCURVE_READY);
    assert_int_equal(n, 0);
}

/* Delivers command k (bytes given) to the side that expects it. */
static int s_deliver(s_pair_t *p, int k, const uint8_t *in, size_t len)
{
    uint8_t out[S_CAP];
    size_t n;
    rtm_zcurve_t *to = k == S_HELLO || k == S_INITIATE ? p->srv : p->cli;
    int rc = rtm_zcurve_step(to, in, len, out, S_CAP, &n, NULL);
    if (rc < 0)
        assert_int_equal(n, 0);
    return rc;
}

static void test_handshake_and_metadata(void **state)
{
    (void)state;
    s_pair_t *p = s_pair_new(NULL);
    s_pair_run(p, S_NCMD);
    assert_memory_equal(p->cmd[S_HELLO], "\x05HELLO\x01\x00", 8);
    for (int i = 8; i < 80; i++)
        assert_int_equal(p->cmd[S_HELLO][i], 0);
    assert_memory_equal(p->cmd[S_WELCOME], "\x07WELCOME", 8);
    assert_memory_equal(p->cmd[S_INITIATE], "\x08INITIATE", 9);
    assert_memory_equal(p->cmd[S_READY], "\x05READY", 6);
    /* short nonces: HELLO 1, INITIATE 2 (client), READY 1 (server) */
    assert_memory_equal(p->cmd[S_HELLO] + 112, "\0\0\0\0\0\0\0\x01", 8);
    assert_memory_equal(p->cmd[S_INITIATE] + 105, "\0\0\0\0\0\0\0\x02", 8);
    assert_memory_equal(p->cmd[S_READY] + 6, "\0\0\0\0\0\0\0\x01", 8);
    assert_true(rtm_str_eq(p->srv_peer_meta, rtm_str((char *)p->cmeta, p->cmeta_len)));
    assert_true(rtm_str_eq(p->cli_peer_meta, rtm_str((char *)p->smeta, p->smeta_len)));
    assert_true(s_has_prop(p->srv_peer_meta, "Socket-Type", "DEALER"));
    assert_true(s_has_prop(p->cli_peer_meta, "Socket-Type", "ROUTER"));
    /* metadata must not travel in clear */
    assert_null(memmem(p->cmd[S_INITIATE], p->cmd_len[S_INITIATE], "Socket-Type", 11));
    assert_null(memmem(p->cmd[S_READY], p->cmd_len[S_READY], "Socket-Type", 11));
    s_pair_free(p);
}

static void test_empty_metadata(void **state)
{
    (void)state;
    uint8_t cpub[32], csec[32], spub[32], ssec[32], a[S_CAP], b[S_CAP];
    size_t alen, blen;
    rtm_str_t meta = rtm_str("x", 1);
    crypto_box_keypair(cpub, csec);
    crypto_box_keypair(spub, ssec);
    rtm_zcurve_t *cli = rtm_zcurve_client_new(spub, cpub, csec, NULL, 0);
    rtm_zcurve_t *srv = rtm_zcurve_server_new(spub, ssec, NULL, 0);
    assert_int_equal(rtm_zcurve_step(cli, NULL, 0, a, S_CAP, &alen, NULL), 0);
    assert_int_equal(rtm_zcurve_step(srv, a, alen, b, S_CAP, &blen, NULL), 0);
    assert_int_equal(rtm_zcurve_step(cli, b, blen, a, S_CAP, &alen, NULL), 0);
    assert_int_equal(alen, 257);
    assert_int_equal(rtm_zcurve_step(srv, a, alen, b, S_CAP, &blen, NULL), RTM_ZCURVE_AUTH);
    assert_int_equal(rtm_zcurve_accept(srv, b, S_CAP, &blen, &meta), RTM_ZCURVE_READY);
    assert_int_equal(meta.len, 0);
    assert_int_equal(blen, 30);
    meta = rtm_str("x", 1);
    assert_int_equal(rtm_zcurve_step(cli, b, blen, a, S_CAP, &alen, &meta), RTM_ZCURVE_READY);
    assert_int_equal(meta.len, 0);
    rtm_zcurve_destroy(&cli);
    rtm_zcurve_destroy(&srv);
}

/* Encodes with `from`, decodes a copy with `to`, checks the frame came through. */
static void s_round_trip(rtm_zcurve_t *from, rtm_zcurve_t *to, uint8_t flags, size_t len)
{
    uint8_t *data = malloc(len ? len : 1), *body = malloc(len + RTM_ZCURVE_MSG_OVERHEAD);
    assert_true(data && body);
    randombytes_buf(data, len);
    size_t n = rtm_zcurve_encode(from, flags, data, len, body);
    assert_int_equal(n, len + RTM_ZCURVE_MSG_OVERHEAD);
    assert_memory_equal(body, "\x07MESSAGE", 8);
    if (len >= 16)
        assert_null(memmem(body, n, data, 16));
    uint8_t *exact = exact_copy(body, n), *got, got_flags = 0xFF;
    size_t got_len;
    assert_int_equal(rtm_zcurve_decode(to, exact, n, &got_flags, &got, &got_len), 0);
    assert_int_equal(got_flags, flags);
    assert_int_equal(got_len, len);
    assert_true(got >= exact && got + got_len <= exact + n);
    if (len)
        assert_memory_equal(got, data, len);
    free(exact);
    free(data);
    free(body);
}

static void test_message_round_trips(void **state)
{
    (void)state;
    s_pair_t *p = s_pair_new(NULL);
    s_pair_run(p, S_NCMD);
    static const size_t lens[] = {0, 1, 15, 16, 17, 255, 256, 65536, 1 << 20};
    static const uint8_t flags[] = {0, RTM_ZCURVE_MORE, RTM_ZCURVE_COMMAND,
                                    RTM_ZCURVE_MORE | RTM_ZCURVE_COMMAND};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        s_round_trip(p->cli, p->srv, flags[i % 4], lens[i]);
        s_round_trip(p->srv, p->cli, flags[(i + 1) % 4], lens[i]);
    }
    /* client messages are sealed with ...MESSAGEC, server ones with ...MESSAGES:
     * a body reflected back to its sender does not open */
    uint8_t body[64], *d, f;
    size_t n = rtm_zcurve_encode(p->cli, 0, (const uint8_t *)"echo", 4, body), len;
    assert_int_equal(rtm_zcurve_decode(p->cli, body, n, &f, &d, &len), RTM_EAUTH);
    s_pair_free(p);
}

static void test_message_nonces(void **state)
{
    (void)state;
    s_pair_t *p = s_pair_new(NULL);
    s_pair_run(p, S_NCMD);
    uint8_t m1[64], m2[64], copy[64], *d, f;
    size_t n1 = rtm_zcurve_encode(p->cli, 0, (const uint8_t *)"one", 3, m1);
    size_t n2 = rtm_zcurve_encode(p->cli, 0, (const uint8_t *)"two", 3, m2), len;
    assert_memory_equal(m1 + 8, "\0\0\0\0\0\0\0\x03", 8); /* after HELLO 1, INITIATE 2 */
    assert_memory_equal(m2 + 8, "\0\0\0\0\0\0\0\x04", 8);
    memcpy(copy, m2, n2);
    assert_int_equal(rtm_zcurve_decode(p->srv, copy, n2, &f, &d, &len), 0);
    memcpy(copy, m1, n1); /* older than the last one: reordered */
    assert_int_equal(rtm_zcurve_decode(p->srv, copy, n1, &f, &d, &len), RTM_EAUTH);
    memcpy(copy, m2, n2); /* the same again: replayed */
    assert_int_equal(rtm_zcurve_decode(p->srv, copy, n2, &f, &d, &len), RTM_EAUTH);
    /* the server's first message carries 2 (after READY 1) */
    size_t n = rtm_zcurve_encode(p->srv, 0, (const uint8_t *)"x", 1, m1);
    assert_memory_equal(m1 + 8, "\0\0\0\0\0\0\0\x02", 8);
    assert_int_equal(rtm_zcurve_decode(p->cli, m1, n, &f, &d, &len), 0);
    s_pair_free(p);
}

/* Every byte of a MESSAGE flipped, every prefix and one byte more: refused. */
static void test_message_tampered_truncated(void **state)
{
    (void)state;
    s_pair_t *p = s_pair_new(NULL);
    s_pair_run(p, S_NCMD);
    uint8_t body[64], *d, f;
    size_t n = rtm_zcurve_encode(p->srv, RTM_ZCURVE_MORE, (const uint8_t *)"payload", 7, body), len;
    for (size_t i = 0; i < n; i++) {
        uint8_t *t = exact_copy(body, n);
        t[i] ^= 0x01;
        int rc = rtm_zcurve_decode(p->cli, t, n, &f, &d, &len);
        assert_int_equal(rc, i < 8 ? RTM_EPROTO : RTM_EAUTH);
        free(t);
    }
    for (size_t k = 0; k < n; k++) {
        uint8_t *t = exact_copy(body, k);
        int rc = rtm_zcurve_decode(p->cli, t, k, &f, &d, &len);
        assert_int_equal(rc, k < RTM_ZCURVE_MSG_OVERHEAD ? RTM_EPROTO : RTM_EAUTH);
        free(t);
    }
    uint8_t longer[65];
    memcpy(longer, body, n);
    longer[n] = 0;
    assert_int_equal(rtm_zcurve_decode(p->cli, longer, n + 1, &f, &d, &len), RTM_EAUTH);
    /* still usable with the genuine body */
    assert_int_equal(rtm_zcurve_decode(p->cli, body, n, &f, &d, &len), 0);
    assert_int_equal(f, RTM_ZCURVE_MORE);
    assert_int_equal(len, 7);
    assert_memory_equal(d, "payload", 7);
    s_pair_free(p);
}

static void test_wrong_server_key(void **state)
{
    (void)state;
    uint8_t other[32], other_sec[32];
    crypto_box_keypair(other, other_sec);
    s_pair_t *p = s_pair_new(other);
    s_pair_run(p, S_HELLO);
    assert_int_equal(s_deliver(p, S_HELLO, p->cmd[S_HELLO], p->cmd_len[S_HELLO]), RTM_EAUTH);
    s_pair_free(p);
}

/* Whether byte i of command k may be changed without the step noticing:
 * HELLO's anti-amplification padding, which libzmq does not read either. */
static bool s_ignored_byte(int k, size_t i)
{
    return k == S_HELLO && i >= 8 && i < 80;
}

/* Every byte of every handshake command flipped: the name is a protocol
 * error, the version too, anything else a box that does not open. */
static void test_handshake_tampered(void **state)
{
    (void)state;
    for (int k = 0; k < S_NCMD; k++) {
        s_pair_t *ref = s_pair_new(NULL);
        s_pair_run(ref, S_NCMD);
        size_t name_len = (size_t)ref->cmd[k][0] + 1;
        for (size_t i = 0; i < ref->cmd_len[k]; i++) {
            if (s_ignored_byte(k, i))
                continue;
            s_pair_t *p = s_pair_new(NULL);
            s_pair_run(p, k);
            uint8_t *t = exact_copy(p->cmd[k], p->cmd_len[k]);
            t[i] ^= 0x20;
            int rc = s_deliver(p, k, t, p->cmd_len[k]);
            bool proto = i < name_len || (k == S_HELLO && (i == 6 || i == 7));
            assert_int_equal(rc, proto ? RTM_EPROTO : RTM_EAUTH);
            free(t);
            s_pair_free(p);
        }
        s_pair_free(ref);
    }
}

/* Every command cut short at every length, and one byte longer: HELLO and
 * WELCOME have one size, INITIATE and READY a minimum past which the box
 * does not open. Each prefix goes to a fresh pair (a failed side stays
 * failed), in an exact-size copy so ASan sees any read past it. */
static void test_handshake_truncated(void **state)
{
    (void)state;
    static const size_t min_len[S_NCMD] = {200, 168, 257, 30};
    for (int k = 0; k < S_NCMD; k++) {
        for (size_t cut = 0;; cut++) {
            s_pair_t *p = s_pair_new(NULL);
            s_pair_run(p, k);
            size_t len = p->cmd_len[k];
            if (cut > len + 1) {
                s_pair_free(p);
                break;
            }
            if (cut != len) {
                uint8_t *t = calloc(1, cut ? cut : 1);
                assert_non_null(t);
                memcpy(t, p->cmd[k], cut < len ? cut : len);
                bool proto = cut < min_len[k] || k < S_INITIATE;
                assert_int_equal(s_deliver(p, k, t, cut), proto ? RTM_EPROTO : RTM_EAUTH);
                free(t);
            }
            s_pair_free(p);
        }
    }
}

static const uint8_t s_error_cmd[] = "\x05"
                                     "ERROR\x03"
                                     "400";

/* Each command where it does not belong, and ERROR from the server. */
static void test_wrong_command_each_state(void **state)
{
    (void)state;
    s_pair_t *ref = s_pair_new(NULL);
    s_pair_run(ref, S_NCMD);
    uint8_t out[S_CAP];
    size_t n;
    /* client: before HELLO, waiting for WELCOME, waiting for READY, ready */
    for (int at = 0; at < 4; at++) {
        const int client_at[4] = {S_HELLO, S_WELCOME, S_READY, S_NCMD};
        for (int k = -1; k < S_NCMD; k++) {
            bool expected = (at == 1 && k == S_WELCOME) || (at == 2 && k == S_READY);
            if (expected)
                continue;
            s_pair_t *p = s_pair_new(NULL);
            if (at > 0)
                s_pair_run(p, client_at[at]);
            const uint8_t *in = k < 0 ? s_error_cmd : ref->cmd[k];
            size_t len = k < 0 ? sizeof s_error_cmd - 1 : ref->cmd_len[k];
            assert_int_equal(rtm_zcurve_step(p->cli, in, len, out, S_CAP, &n, NULL), RTM_EPROTO);
            assert_int_equal(n, 0);
            /* and failed for good */
            assert_int_equal(rtm_zcurve_step(p->cli, NULL, 0, out, S_CAP, &n, NULL), RTM_EPROTO);
            s_pair_free(p);
        }
    }
    /* server: waiting for HELLO, for INITIATE, judging (AUTH), ready */
    for (int at = 0; at < 4; at++) {
        const int server_at[4] = {S_HELLO, S_INITIATE, S_READY, S_NCMD};
        for (int k = -1; k < S_NCMD; k++) {
            if ((at == 0 && k == S_HELLO) || (at == 1 && k == S_INITIATE))
                continue;
            s_pair_t *p = s_pair_new(NULL);
            s_pair_run(p, server_at[at]);
            if (at == 2) { /* undo accept: a fresh run stopping at AUTH */
                s_pair_free(p);
                p = s_pair_new(NULL);
                s_pair_run(p, S_INITIATE);
                assert_int_equal(
                    s_deliver(p, S_INITIATE, p->cmd[S_INITIATE], p->cmd_len[S_INITIATE]),
                    RTM_ZCURVE_AUTH);
            }
            const uint8_t *in = k < 0 ? s_error_cmd : ref->cmd[k];
            size_t len = k < 0 ? sizeof s_error_cmd - 1 : ref->cmd_len[k];
            assert_int_equal(rtm_zcurve_step(p->srv, in, len, out, S_CAP, &n, NULL), RTM_EPROTO);
            s_pair_free(p);
        }
    }
    /* a command from another connection: right name, wrong keys */
    s_pair_t *p = s_pair_new(NULL);
    s_pair_run(p, S_INITIATE);
    assert_int_equal(s_deliver(p, S_INITIATE, ref->cmd[S_INITIATE], ref->cmd_len[S_INITIATE]),
                     RTM_EAUTH);
    s_pair_free(p);
    p = s_pair_new(NULL);
    s_pair_run(p, S_READY);
    assert_int_equal(s_deliver(p, S_READY, ref->cmd[S_READY], ref->cmd_len[S_READY]), RTM_EAUTH);
    s_pair_free(p);
    s_pair_free(ref);
}

/* ---- a client written here from RFC 26 with libsodium alone ----------- */

/* It can send what our client never would: a HELLO whose signature box holds
 * something other than zeros, an INITIATE claiming another client's key with
 * a vouch it cannot make, an INITIATE nonce that does not increase. */
typedef struct {
    uint8_t spub[32];               /* the server's long-term key */
    uint8_t cn_pub[32], cn_sec[32]; /* C', c' */
    uint8_t cn_srv[32], cookie[96]; /* S' and the cookie, from WELCOME */
    rtm_zcurve_t *srv;              /* our server under test */
} s_mini_t;

static void s_put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* HELLO with `sig` (64 bytes) as the signature's plaintext and nonce 1 to a
 * fresh server; returns the server's answer, and opens its WELCOME. */
static int s_mini_hello(s_mini_t *m, const uint8_t sig[64])
{
    uint8_t hello[200] = "\x05HELLO\x01\x00", nonce[24] = "CurveZMQHELLO---", out[S_CAP];
    size_t n;
    crypto_box_keypair(m->cn_pub, m->cn_sec);
    memcpy(hello + 80, m->cn_pub, 32);
    s_put64(hello + 112, 1);
    s_put64(nonce + 16, 1);
    assert_int_equal(crypto_box_easy(hello + 120, sig, 64, nonce, m->spub, m->cn_sec), 0);
    int rc = rtm_zcurve_step(m->srv, hello, sizeof hello, out, S_CAP, &n, NULL);
    if (rc < 0)
        return rc;
    assert_int_equal(n, 168);
    uint8_t plain[128];
    memcpy(nonce, "WELCOME-", 8);
    memcpy(nonce + 8, out + 8, 16);
    assert_int_equal(crypto_box_open_easy(plain, out + 24, 144, nonce, m->spub, m->cn_sec), 0);
    memcpy(m->cn_srv, plain, 32);
    memcpy(m->cookie, plain + 32, 96);
    return rc;
}

/* INITIATE claiming client key cpub, its vouch Box[vouch](vouch_sec->S'),
 * with short nonce `n`; returns the server's answer. */
static int s_mini_initiate(s_mini_t *m, const uint8_t *cpub, const uint8_t *vouch_sec,
                           const uint8_t vouch[64], uint64_t n)
{
    uint8_t cmd[257] = "\x08INITIATE", plain[128], nonce[24] = "VOUCH---", out[S_CAP];
    memcpy(plain, cpub, 32);
    randombytes_buf(nonce + 8, 16);
    memcpy(plain + 32, nonce + 8, 16);
    assert_int_equal(crypto_box_easy(plain + 48, vouch, 64, nonce, m->cn_srv, vouch_sec), 0);
    memcpy(cmd + 9, m->cookie, 96);
    s_put64(cmd + 105, n);
    memcpy(nonce, "CurveZMQINITIATE", 16);
    s_put64(nonce + 16, n);
    assert_int_equal(crypto_box_easy(cmd + 113, plain, 128, nonce, m->cn_srv, m->cn_sec), 0);
    size_t len;
    return rtm_zcurve_step(m->srv, cmd, sizeof cmd, out, S_CAP, &len, NULL);
}

static void s_mini_new(s_mini_t *m)
{
    uint8_t ssec[32];
    crypto_box_keypair(m->spub, ssec);
    m->srv = rtm_zcurve_server_new(m->spub, ssec, NULL, 0);
}

static void test_independent_hello(void **state)
{
    (void)state;
    uint8_t zero[64] = {0}, nonzero[64] = {0};
    nonzero[63] = 1;
    s_mini_t m;
    s_mini_new(&m);
    assert_int_equal(s_mini_hello(&m, zero), RTM_ZCURVE_CONTINUE);
    rtm_zcurve_destroy(&m.srv);
    s_mini_new(&m); /* the box opens, but it does not sign 64 zero bytes */
    assert_int_equal(s_mini_hello(&m, nonzero), RTM_EAUTH);
    rtm_zcurve_destroy(&m.srv);
}

/* The vouch proves the client holds the secret of the key it claims. */
static void test_independent_initiate(void **state)
{
    (void)state;
    uint8_t zero[64] = {0}, cpub[32], csec[32], other_pub[32], other_sec[32], vouch[64];
    crypto_box_keypair(cpub, csec);
    crypto_box_keypair(other_pub, other_sec);
    for (int k = 0; k < 6; k++) {
        s_mini_t m;
        s_mini_new(&m);
        assert_int_equal(s_mini_hello(&m, zero), RTM_ZCURVE_CONTINUE);
        memcpy(vouch, m.cn_pub, 32);
        memcpy(vouch + 32, m.spub, 32);
        const uint8_t *vsec = k == 1 ? other_sec : csec; /* 1: claims cpub, cannot vouch */
        if (k == 2)
            vouch[0] ^= 1; /* vouches for another C' */
        if (k == 3)
            vouch[63] ^= 1;                       /* vouches for another S */
        uint64_t n = k == 4 ? 1 : k == 5 ? 0 : 2; /* 4, 5: not above HELLO's nonce */
        int rc = s_mini_initiate(&m, cpub, vsec, vouch, n);
        assert_int_equal(rc, k == 0 ? RTM_ZCURVE_AUTH : RTM_EAUTH);
        if (k == 0)
            assert_memory_equal(rtm_zcurve_peer_key(m.srv), cpub, 32);
        rtm_zcurve_destroy(&m.srv);
    }
}

static void test_destroy(void **state)
{
    (void)state;
    s_pair_t *p = s_pair_new(NULL);
    s_pair_run(p, S_NCMD);
    rtm_zcurve_destroy(&p->cli);
    assert_null(p->cli);
    rtm_zcurve_destroy(&p->cli); /* NULL-safe */
    rtm_zcurve_destroy(NULL);
    s_pair_free(p);
}

/* ---- libzmq over TCP --------------------------------------------------- */

#define S_TIMEOUT_MS 5000

static void s_timeouts(int fd)
{
    struct timeval tv = {S_TIMEOUT_MS / 1000, 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
}

static bool s_read_all(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void s_write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

/* ZMTP 3.x greeting for CURVE; checks the peer's signature, version and mechanism. */
static void s_greeting_minor(int fd, bool as_server, uint8_t minor)
{
    uint8_t g[64] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, minor}, peer[64];
    memcpy(g + 12, "CURVE", 5);
    g[32] = as_server;
    s_write_all(fd, g, sizeof g);
    assert_true(s_read_all(fd, peer, sizeof peer));
    assert_int_equal(peer[0], 0xFF);
    assert_int_equal(peer[9] & 1, 1);
    assert_int_equal(peer[10], 3);
    assert_memory_equal(peer + 12, "CURVE\0", 6);
    /* no check of peer[32]: libzmq 4.3 sends as-server 0 on both sides */
}

#define S_F_MORE    0x01
#define S_F_LONG    0x02
#define S_F_COMMAND 0x04

static void s_send_frame(int fd, uint8_t flags, const uint8_t *body, size_t len)
{
    uint8_t h[9];
    size_t hl;
    if (len > 255) {
        h[0] = flags | S_F_LONG;
        for (int i = 0; i < 8; i++)
            h[1 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        hl = 9;
    } else {
        h[0] = flags;
        h[1] = (uint8_t)len;
        hl = 2;
    }
    s_write_all(fd, h, hl);
    s_write_all(fd, body, len);
}

/* One frame into a malloc'd *body; returns its length, or -1 on EOF / timeout. */
static ssize_t s_recv_frame(int fd, uint8_t *flags, uint8_t **body)
{
    uint8_t h[8];
    uint64_t len = 0;
    if (!s_read_all(fd, flags, 1))
        return -1;
    size_t ln = *flags & S_F_LONG ? 8 : 1;
    if (!s_read_all(fd, h, ln))
        return -1;
    for (size_t i = 0; i < ln; i++)
        len = len << 8 | h[i];
    assert_true(len < (1u << 24));
    *body = malloc(len ? len : 1);
    assert_non_null(*body);
    if (!s_read_all(fd, *body, len)) {
        free(*body);
        return -1;
    }
    return (ssize_t)len;
}

/* Receives one command frame and steps c with it. */
static int s_step_frame(int fd, rtm_zcurve_t *c, uint8_t *out, size_t *out_len, rtm_str_t *meta)
{
    uint8_t flags, *body;
    ssize_t n = s_recv_frame(fd, &flags, &body);
    assert_true(n >= 0);
    assert_int_equal(flags & ~S_F_LONG, S_F_COMMAND);
    int rc = rtm_zcurve_step(c, body, (size_t)n, out, S_CAP, out_len, meta);
    free(body);
    return rc;
}

static void s_send_bin(int fd, rtm_zcurve_t *c, uint8_t flags, const void *data, size_t len)
{
    uint8_t *body = malloc(len + RTM_ZCURVE_MSG_OVERHEAD);
    assert_non_null(body);
    size_t n = rtm_zcurve_encode(c, flags, data, len, body);
    s_send_frame(fd, 0, body, n); /* a data frame, as libzmq sends MESSAGE */
    free(body);
}

static void s_send_msg(int fd, rtm_zcurve_t *c, uint8_t flags, const char *text)
{
    s_send_bin(fd, c, flags, text, strlen(text));
}

/* Receives one MESSAGE and checks it carried want (len bytes) with flags. */
static void s_expect_bin(int fd, rtm_zcurve_t *c, uint8_t want_flags, const void *want,
                         size_t want_len)
{
    uint8_t flags, *body, *data, inner;
    size_t len;
    ssize_t n = s_recv_frame(fd, &flags, &body);
    assert_true(n >= 0);
    assert_int_equal(flags & ~S_F_LONG, 0);
    assert_int_equal(rtm_zcurve_decode(c, body, (size_t)n, &inner, &data, &len), 0);
    assert_int_equal(inner, want_flags);
    assert_int_equal(len, want_len);
    assert_memory_equal(data, want, len);
    free(body);
}

static void s_expect_msg(int fd, rtm_zcurve_t *c, uint8_t want_flags, const char *text)
{
    s_expect_bin(fd, c, want_flags, text, strlen(text));
}

static void s_zmq_keys(void *sock, int server, const char *server_pub, const char *pub,
                       const char *sec)
{
    int ms = S_TIMEOUT_MS, zero = 0;
    assert_int_equal(zmq_setsockopt(sock, ZMQ_RCVTIMEO, &ms, sizeof ms), 0);
    assert_int_equal(zmq_setsockopt(sock, ZMQ_SNDTIMEO, &ms, sizeof ms), 0);
    assert_int_equal(zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero), 0);
    if (server) {
        assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &server, sizeof server), 0);
    } else {
        assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_pub, 40), 0);
        assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40), 0);
    }
    assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40), 0);
}

static int s_tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    s_timeouts(fd);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Binds the libzmq socket (options already set) to an ephemeral port on
 * 127.0.0.1, connects to it and exchanges greetings (ZMTP 3.minor). */
static int s_connect_to(void *sock, uint8_t minor)
{
    char endpoint[64];
    size_t sz = sizeof endpoint;
    assert_int_equal(zmq_bind(sock, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, endpoint, &sz), 0);
    int fd = s_tcp_connect((uint16_t)atoi(strrchr(endpoint, ':') + 1));
    s_greeting_minor(fd, false, minor);
    return fd;
}

/* Our client's whole handshake over fd: HELLO, WELCOME, INITIATE, READY. */
static void s_client_handshake(int fd, rtm_zcurve_t *c, rtm_str_t *peer_meta)
{
    uint8_t out[S_CAP];
    size_t n;
    assert_int_equal(rtm_zcurve_step(c, NULL, 0, out, S_CAP, &n, NULL), RTM_ZCURVE_CONTINUE);
    s_send_frame(fd, S_F_COMMAND, out, n);                                     /* HELLO */
    assert_int_equal(s_step_frame(fd, c, out, &n, NULL), RTM_ZCURVE_CONTINUE); /* WELCOME */
    s_send_frame(fd, S_F_COMMAND, out, n);                                     /* INITIATE */
    assert_int_equal(s_step_frame(fd, c, out, &n, peer_meta), RTM_ZCURVE_READY);
    assert_int_equal(n, 0);
}

static void s_zmq_recv_expect(void *sock, const char *text, bool more)
{
    char buf[256];
    int n = zmq_recv(sock, buf, sizeof buf, 0);
    assert_int_equal(n, (int)strlen(text));
    assert_memory_equal(buf, text, (size_t)n);
    int rcvmore;
    size_t sz = sizeof rcvmore;
    assert_int_equal(zmq_getsockopt(sock, ZMQ_RCVMORE, &rcvmore, &sz), 0);
    assert_int_equal(rcvmore, more);
}

/* Our client against a libzmq ROUTER with ZMQ_CURVE_SERVER. */
static void test_interop_client_libzmq_server(void **state)
{
    (void)state;
    char spub[41], ssec[41], cpub_z[41], csec_z[41];
    assert_int_equal(zmq_curve_keypair(spub, ssec), 0);
    assert_int_equal(zmq_curve_keypair(cpub_z, csec_z), 0);
    uint8_t skey[32], cpub[32], csec[32], meta[64];
    assert_int_equal(rtm_zcurve_key_z85(spub, skey), 0);
    assert_int_equal(rtm_zcurve_key_z85(cpub_z, cpub), 0);
    assert_int_equal(rtm_zcurve_key_z85(csec_z, csec), 0);
    void *ctx = zmq_ctx_new(), *router = zmq_socket(ctx, ZMQ_ROUTER);
    s_zmq_keys(router, 1, NULL, NULL, ssec);
    int fd = s_connect_to(router, 0);

    size_t meta_len = s_props(meta, "DEALER");
    rtm_zcurve_t *c = rtm_zcurve_client_new(skey, cpub, csec, meta, meta_len);
    rtm_str_t peer_meta;
    s_client_handshake(fd, c, &peer_meta);
    assert_true(s_has_prop(peer_meta, "Socket-Type", "ROUTER"));

    /* to libzmq: a two-part message, then a single frame */
    s_send_msg(fd, c, RTM_ZCURVE_MORE, "part one");
    s_send_msg(fd, c, 0, "part two");
    uint8_t id[256];
    int id_len = zmq_recv(router, id, sizeof id, 0);
    assert_true(id_len > 0);
    s_zmq_recv_expect(router, "part one", true);
    s_zmq_recv_expect(router, "part two", false);

    /* from libzmq: routed back to us */
    assert_int_equal(zmq_send(router, id, (size_t)id_len, ZMQ_SNDMORE), id_len);
    assert_int_equal(zmq_send(router, "reply a", 7, ZMQ_SNDMORE), 7);
    assert_int_equal(zmq_send(router, "reply b", 7, 0), 7);
    s_expect_msg(fd, c, RTM_ZCURVE_MORE, "reply a");
    s_expect_msg(fd, c, 0, "reply b");

    rtm_zcurve_destroy(&c);
    close(fd);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

/* Our client with the wrong server key: libzmq drops the connection. */
static void test_interop_client_wrong_key(void **state)
{
    (void)state;
    char spub[41], ssec[41];
    assert_int_equal(zmq_curve_keypair(spub, ssec), 0);
    uint8_t wrong[32], wsec[32], cpub[32], csec[32], out[S_CAP];
    crypto_box_keypair(wrong, wsec);
    crypto_box_keypair(cpub, csec);
    void *ctx = zmq_ctx_new(), *router = zmq_socket(ctx, ZMQ_ROUTER);
    s_zmq_keys(router, 1, NULL, NULL, ssec);
    int fd = s_connect_to(router, 0);
    size_t n;
    rtm_zcurve_t *c = rtm_zcurve_client_new(wrong, cpub, csec, NULL, 0);
    assert_int_equal(rtm_zcurve_step(c, NULL, 0, out, S_CAP, &n, NULL), RTM_ZCURVE_CONTINUE);
    s_send_frame(fd, S_F_COMMAND, out, n);
    uint8_t flags, *body = NULL;
    assert_int_equal(s_recv_frame(fd, &flags, &body), -1); /* closed, no WELCOME */
    rtm_zcurve_destroy(&c);
    close(fd);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

/* Receives MESSAGEs until one is not a command; returns how many PINGs
 * (COMMAND-flagged "\x04PING" frames from libzmq's heartbeat) came first. */
static int s_expect_msg_after_pings(int fd, rtm_zcurve_t *c, const char *text)
{
    for (int pings = 0;; pings++) {
        uint8_t flags, *body, *data, inner;
        size_t len;
        ssize_t n = s_recv_frame(fd, &flags, &body);
        assert_true(n >= 0);
        assert_int_equal(rtm_zcurve_decode(c, body, (size_t)n, &inner, &data, &len), 0);
        if (inner == RTM_ZCURVE_COMMAND) {
            assert_true(len >= 5 && memcmp(data, "\x04PING", 5) == 0);
            free(body);
            continue;
        }
        assert_int_equal(inner, 0);
        assert_int_equal(len, strlen(text));
        assert_memory_equal(data, text, len);
        free(body);
        return pings;
    }
}

/* ZMTP 3.1 against a libzmq XPUB: the subscription travels as a SUBSCRIBE
 * command inside a MESSAGE (flag COMMAND), libzmq's heartbeat PINGs come back
 * the same way, then a publication. */
static void test_interop_client_libzmq_xpub(void **state)
{
    (void)state;
    char spub[41], ssec[41];
    assert_int_equal(zmq_curve_keypair(spub, ssec), 0);
    uint8_t skey[32], cpub[32], csec[32], meta[64];
    assert_int_equal(rtm_zcurve_key_z85(spub, skey), 0);
    crypto_box_keypair(cpub, csec);
    void *ctx = zmq_ctx_new(), *xpub = zmq_socket(ctx, ZMQ_XPUB);
    s_zmq_keys(xpub, 1, NULL, NULL, ssec);
    int ivl = 50, timeout = S_TIMEOUT_MS;
    assert_int_equal(zmq_setsockopt(xpub, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl), 0);
    assert_int_equal(zmq_setsockopt(xpub, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout), 0);
    int fd = s_connect_to(xpub, 1);

    size_t meta_len = s_props(meta, "SUB");
    rtm_zcurve_t *c = rtm_zcurve_client_new(skey, cpub, csec, meta, meta_len);
    rtm_str_t peer_meta;
    s_client_handshake(fd, c, &peer_meta);
    assert_true(s_has_prop(peer_meta, "Socket-Type", "XPUB"));

    usleep(200 * 1000); /* a few heartbeat intervals: PINGs are queued for us */
    s_send_msg(fd, c, RTM_ZCURVE_COMMAND,
               "\x09SUBSCRIBE"
               "news");
    char sub[16];
    assert_int_equal(zmq_recv(xpub, sub, sizeof sub, 0), 5);
    assert_memory_equal(sub, "\x01news", 5);
    assert_int_equal(zmq_send(xpub, "news flash", 10, 0), 10);
    assert_true(s_expect_msg_after_pings(fd, c, "news flash") > 0);

    rtm_zcurve_destroy(&c);
    close(fd);
    zmq_close(xpub);
    zmq_ctx_term(ctx);
}

/* A listening socket on 127.0.0.1 with an ephemeral port. */
static int s_listen(uint16_t *port)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    s_timeouts(lfd); /* accept() honours SO_RCVTIMEO */
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return lfd;
}

/* A libzmq DEALER (CURVE client) connected to our listener; returns our end. */
static int s_zmq_dealer(void *ctx, void **dealer, const char *server_pub, const char *pub,
                        const char *sec)
{
    uint16_t port;
    int lfd = s_listen(&port);
    char endpoint[64];
    *dealer = zmq_socket(ctx, ZMQ_DEALER);
    s_zmq_keys(*dealer, 0, server_pub, pub, sec);
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%u", port);
    assert_int_equal(zmq_connect(*dealer, endpoint), 0);
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    close(lfd);
    s_timeouts(fd);
    s_greeting_minor(fd, true, 0);
    return fd;
}

/* Our server against a libzmq DEALER with ZMQ_CURVE_SERVERKEY. */
static void test_interop_server_libzmq_client(void **state)
{
    (void)state;
    char spub_z[41], ssec_z[41], cpub_z[41], csec_z[41];
    assert_int_equal(zmq_curve_keypair(spub_z, ssec_z), 0);
    assert_int_equal(zmq_curve_keypair(cpub_z, csec_z), 0);
    uint8_t spub[32], ssec[32], cpub[32], meta[64], out[S_CAP];
    assert_int_equal(rtm_zcurve_key_z85(spub_z, spub), 0);
    assert_int_equal(rtm_zcurve_key_z85(ssec_z, ssec), 0);
    assert_int_equal(rtm_zcurve_key_z85(cpub_z, cpub), 0);
    void *ctx = zmq_ctx_new(), *dealer;
    int fd = s_zmq_dealer(ctx, &dealer, spub_z, cpub_z, csec_z);

    size_t meta_len = s_props(meta, "ROUTER"), n;
    rtm_zcurve_t *s = rtm_zcurve_server_new(spub, ssec, meta, meta_len);
    assert_int_equal(s_step_frame(fd, s, out, &n, NULL), RTM_ZCURVE_CONTINUE); /* HELLO */
    s_send_frame(fd, S_F_COMMAND, out, n);                                     /* WELCOME */
    assert_int_equal(s_step_frame(fd, s, out, &n, NULL), RTM_ZCURVE_AUTH);     /* INITIATE */
    assert_memory_equal(rtm_zcurve_peer_key(s), cpub, 32);
    rtm_str_t peer_meta;
    assert_int_equal(rtm_zcurve_accept(s, out, S_CAP, &n, &peer_meta), RTM_ZCURVE_READY);
    assert_true(s_has_prop(peer_meta, "Socket-Type", "DEALER"));
    s_send_frame(fd, S_F_COMMAND, out, n); /* READY */

    assert_int_equal(zmq_send(dealer, "ping 1", 6, ZMQ_SNDMORE), 6);
    assert_int_equal(zmq_send(dealer, "ping 2", 6, 0), 6);
    s_expect_msg(fd, s, RTM_ZCURVE_MORE, "ping 1");
    s_expect_msg(fd, s, 0, "ping 2");
    s_send_msg(fd, s, RTM_ZCURVE_MORE, "pong 1");
    s_send_msg(fd, s, 0, "pong 2");
    s_zmq_recv_expect(dealer, "pong 1", true);
    s_zmq_recv_expect(dealer, "pong 2", false);

    /* large frames (8-byte ZMTP lengths) both ways */
    size_t big_len = 300000;
    uint8_t *big = malloc(big_len);
    assert_non_null(big);
    randombytes_buf(big, big_len);
    assert_int_equal(zmq_send(dealer, big, big_len, 0), (int)big_len);
    s_expect_bin(fd, s, 0, big, big_len);
    big[0] ^= 0xFF;
    s_send_bin(fd, s, 0, big, big_len);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_int_equal(zmq_msg_recv(&msg, dealer, 0), (int)big_len);
    assert_memory_equal(zmq_msg_data(&msg), big, big_len);
    zmq_msg_close(&msg);
    free(big);

    rtm_zcurve_destroy(&s);
    close(fd);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
}

/* A libzmq client that has the wrong server key: our step refuses its HELLO
 * and the DEALER never delivers anything. */
static void test_interop_server_wrong_key(void **state)
{
    (void)state;
    char spub_z[41], ssec_z[41], wpub_z[41], wsec_z[41], cpub_z[41], csec_z[41];
    assert_int_equal(zmq_curve_keypair(spub_z, ssec_z), 0);
    assert_int_equal(zmq_curve_keypair(wpub_z, wsec_z), 0);
    assert_int_equal(zmq_curve_keypair(cpub_z, csec_z), 0);
    uint8_t spub[32], ssec[32], out[S_CAP];
    assert_int_equal(rtm_zcurve_key_z85(spub_z, spub), 0);
    assert_int_equal(rtm_zcurve_key_z85(ssec_z, ssec), 0);
    void *ctx = zmq_ctx_new(), *dealer;
    int fd = s_zmq_dealer(ctx, &dealer, wpub_z, cpub_z, csec_z);
    rtm_zcurve_t *s = rtm_zcurve_server_new(spub, ssec, NULL, 0);
    size_t n;
    assert_int_equal(s_step_frame(fd, s, out, &n, NULL), RTM_EAUTH);
    assert_int_equal(n, 0);
    close(fd);
    int ms = 300;
    assert_int_equal(zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &ms, sizeof ms), 0);
    char buf[16];
    assert_int_equal(zmq_recv(dealer, buf, sizeof buf, 0), -1);
    assert_int_equal(zmq_errno(), EAGAIN);
    rtm_zcurve_destroy(&s);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_z85_rfc_vector),
        cmocka_unit_test(test_z85_known_pair),
        cmocka_unit_test(test_z85_round_trip),
        cmocka_unit_test(test_z85_invalid),
        cmocka_unit_test(test_handshake_and_metadata),
        cmocka_unit_test(test_empty_metadata),
        cmocka_unit_test(test_message_round_trips),
        cmocka_unit_test(test_message_nonces),
        cmocka_unit_test(test_message_tampered_truncated),
        cmocka_unit_test(test_wrong_server_key),
        cmocka_unit_test(test_handshake_tampered),
        cmocka_unit_test(test_handshake_truncated),
        cmocka_unit_test(test_wrong_command_each_state),
        cmocka_unit_test(test_independent_hello),
        cmocka_unit_test(test_independent_initiate),
        cmocka_unit_test(test_destroy),
        cmocka_unit_test(test_interop_client_libzmq_server),
        cmocka_unit_test(test_interop_client_wrong_key),
        cmocka_unit_test(test_interop_client_libzmq_xpub),
        cmocka_unit_test(test_interop_server_libzmq_client),
        cmocka_unit_test(test_interop_server_wrong_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
