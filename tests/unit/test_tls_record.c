/* Tests for rtm_tls_record: RFC 8448 §3's keys and records as known answers,
 * round trips in all three suites (in place and not, empty to full-size),
 * every byte tampered with, KeyUpdate both ways, padding, headers and
 * lengths exactly at their limits and one over, the peer's alerts, inner
 * types refused after the handshake, and sequence numbers used up. Records
 * are opened from exact-size heap copies so ASan catches a read past them. */
#include "rtm_error.h"
#include "rtm_tls_record.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exact_copy.h"

/* ---- RFC 8448 §3, the simple 1-RTT handshake ---------------------------- */

static const uint8_t s_client_secret[32] = {
    0x9e, 0x40, 0x64, 0x6c, 0xe7, 0x9a, 0x7f, 0x9d, 0xc0, 0x5a, 0xf8, 0x88, 0x9b, 0xce, 0x65, 0x52,
    0x87, 0x5a, 0xfa, 0x0b, 0x06, 0xdf, 0x00, 0x87, 0xf7, 0x92, 0xeb, 0xb7, 0xc1, 0x75, 0x04, 0xa5};
static const uint8_t s_server_secret[32] = {
    0xa1, 0x1a, 0xf9, 0xf0, 0x55, 0x31, 0xf8, 0x56, 0xad, 0x47, 0x11, 0x6b, 0x45, 0xa9, 0x50, 0x32,
    0x82, 0x04, 0xb4, 0xf4, 0x4b, 0xfb, 0x6b, 0x3a, 0x4b, 0x4f, 0x1f, 0x3f, 0xcb, 0x63, 0x16, 0x43};
static const uint8_t s_client_key[16] = {0x17, 0x42, 0x2d, 0xda, 0x59, 0x6e, 0xd5, 0xd9,
                                         0xac, 0xd8, 0x90, 0xe3, 0xc6, 0x3f, 0x50, 0x51};
static const uint8_t s_client_iv[12] = {0x5b, 0x78, 0x92, 0x3d, 0xee, 0x08,
                                        0x57, 0x90, 0x33, 0xe5, 0x23, 0xd9};
static const uint8_t s_server_key[16] = {0x9f, 0x02, 0x28, 0x3b, 0x6c, 0x9c, 0x07, 0xef,
                                         0xc2, 0x6b, 0xb9, 0xf2, 0xac, 0x92, 0xe3, 0x56};
static const uint8_t s_server_iv[12] = {0xcf, 0x78, 0x2b, 0x88, 0xdd, 0x83,
                                        0x54, 0x9a, 0xad, 0xf1, 0xe9, 0x84};
/* {client} send application_data record: 00 01 .. 31 (sequence 0). */
static const uint8_t s_client_data_record[72] = {
    0x17, 0x03, 0x03, 0x00, 0x43, 0xa2, 0x3f, 0x70, 0x54, 0xb6, 0x2c, 0x94, 0xd0, 0xaf, 0xfa,
    0xfe, 0x82, 0x28, 0xba, 0x55, 0xcb, 0xef, 0xac, 0xea, 0x42, 0xf9, 0x14, 0xaa, 0x66, 0xbc,
    0xab, 0x3f, 0x2b, 0x98, 0x19, 0xa8, 0xa5, 0xb4, 0x6b, 0x39, 0x5b, 0xd5, 0x4a, 0x9a, 0x20,
    0x44, 0x1e, 0x2b, 0x62, 0x97, 0x4e, 0x1f, 0x5a, 0x62, 0x92, 0xa2, 0x97, 0x70, 0x14, 0xbd,
    0x1e, 0x3d, 0xea, 0xe6, 0x3a, 0xee, 0xbb, 0x21, 0x69, 0x49, 0x15, 0xe4};
/* {server} send application_data record: the same 50 bytes (sequence 1, after
 * the NewSessionTicket). */
static const uint8_t s_server_data_record[72] = {
    0x17, 0x03, 0x03, 0x00, 0x43, 0x2e, 0x93, 0x7e, 0x11, 0xef, 0x4a, 0xc7, 0x40, 0xe5, 0x38,
    0xad, 0x36, 0x00, 0x5f, 0xc4, 0xa4, 0x69, 0x32, 0xfc, 0x32, 0x25, 0xd0, 0x5f, 0x82, 0xaa,
    0x1b, 0x36, 0xe3, 0x0e, 0xfa, 0xf9, 0x7d, 0x90, 0xe6, 0xdf, 0xfc, 0x60, 0x2d, 0xcb, 0x50,
    0x1a, 0x59, 0xa8, 0xfc, 0xc4, 0x9c, 0x4b, 0xf2, 0xe5, 0xf0, 0xa2, 0x1c, 0x00, 0x47, 0xc2,
    0xab, 0xf3, 0x32, 0x54, 0x0d, 0xd0, 0x32, 0xe1, 0x67, 0xc2, 0x95, 0x5d};
/* {client} send alert record: close_notify (sequence 1). */
static const uint8_t s_client_close_record[24] = {0x17, 0x03, 0x03, 0x00, 0x13, 0xc9, 0x87, 0x27,
                                                  0x60, 0x65, 0x56, 0x66, 0xb7, 0x4d, 0x7f, 0xf1,
                                                  0x15, 0x3e, 0xfd, 0x6d, 0xb6, 0xd0, 0xb0, 0xe3};
/* {server} send alert record: close_notify (sequence 2). */
static const uint8_t s_server_close_record[24] = {0x17, 0x03, 0x03, 0x00, 0x13, 0xb5, 0x8f, 0xd6,
                                                  0x71, 0x66, 0xeb, 0xf5, 0x99, 0xd2, 0x47, 0x20,
                                                  0xcf, 0xbe, 0x7e, 0xfa, 0x7a, 0x88, 0x64, 0xa9};

#define S_BIG (RTM_TLS_RECORD_MAX_PLAIN + 2 * RTM_TLS_RECORD_OVERHEAD + 300)

static rtm_tls_crypto_t *s_crypto;
static uint8_t s_buf[S_BIG], s_plain[S_BIG], s_data[S_BIG];

static int s_setup(void **state)
{
    s_crypto = rtm_tls_crypto_new();
    for (size_t i = 0; i < sizeof s_data; i++)
        s_data[i] = (uint8_t)(i * 7 + 1);
    return 0;
}

static int s_teardown(void **state)
{
    rtm_tls_crypto_destroy(&s_crypto);
    return s_crypto != NULL;
}

/* Opens rec[0..len) from an exact copy after measuring it; returns what
 * _open returned, the plaintext in s_plain[0..*n). */
static int s_open(rtm_tls_record_t *r, const uint8_t *rec, size_t len, size_t *n, int *alert)
{
    int m = rtm_tls_record_measure(rec, len, alert);
    if (m < 0)
        return m;
    assert_int_equal(m, len);
    uint8_t *copy = exact_copy(rec, len);
    int got = rtm_tls_record_open(r, s_crypto, copy, len, s_plain, n, alert);
    free(copy);
    return got;
}

/* A server (reads the client's records) and the client facing it. */
static void s_pair(rtm_tls_suite_t suite, rtm_tls_record_t *server, rtm_tls_record_t *client)
{
    uint8_t a[48], b[48];
    for (int i = 0; i < 48; i++) {
        a[i] = (uint8_t)(i + 1);
        b[i] = (uint8_t)(0xf0 - i);
    }
    rtm_tls_record_init(server, s_crypto, suite, a, b, 0, 0);
    rtm_tls_record_init(client, s_crypto, suite, b, a, 0, 0);
}

static void test_rfc8448_keys_and_records(void **state)
{
    rtm_tls_suite_t suite;
    size_t secret_len, n;
    int alert = 0;
    assert_int_equal(rtm_tls_suite(0x1301, &suite, &secret_len), 0);
    assert_int_equal(suite, RTM_TLS_AES_128_GCM_SHA256);
    assert_int_equal(secret_len, 32);
    rtm_tls_record_t r;
    rtm_tls_record_init(&r, s_crypto, suite, s_client_secret, s_server_secret, 0, 1);
    assert_memory_equal(r.rd.key, s_client_key, 16);
    assert_memory_equal(r.rd.iv, s_client_iv, 12);
    assert_memory_equal(r.wr.key, s_server_key, 16);
    assert_memory_equal(r.wr.iv, s_server_iv, 12);

    uint8_t payload[50];
    for (int i = 0; i < 50; i++)
        payload[i] = (uint8_t)i;
    assert_int_equal(s_open(&r, s_client_data_record, 72, &n, &alert), RTM_TLS_OPENED_DATA);
    assert_int_equal(n, 50);
    assert_memory_equal(s_plain, payload, 50);
    assert_int_equal(
        rtm_tls_record_seal(&r, s_crypto, RTM_TLS_APPLICATION_DATA, payload, 50, s_buf), 72);
    assert_memory_equal(s_buf, s_server_data_record, 72);
    assert_int_equal(s_open(&r, s_client_close_record, 24, &n, &alert), RTM_TLS_OPENED_CLOSE);
    assert_int_equal(rtm_tls_record_seal_alert(&r, s_crypto, RTM_TLS_ALERT_CLOSE_NOTIFY, s_buf),
                     24);
    assert_memory_equal(s_buf, s_server_close_record, 24);
    rtm_tls_record_clear(&r);
    assert_int_equal(rtm_tls_suite(0x1304, &suite, &secret_len), RTM_EINVAL); /* CCM: not ours */
}

static void test_round_trips_every_suite(void **state)
{
    static const size_t sizes[] = {0, 1, 100, 4096, RTM_TLS_RECORD_MAX_PLAIN};
    for (int suite = 0; suite < 3; suite++) {
        rtm_tls_record_t server, client;
        s_pair((rtm_tls_suite_t)suite, &server, &client);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t len = sizes[i], n;
            int alert;
            int m = rtm_tls_record_seal(&client, s_crypto, RTM_TLS_APPLICATION_DATA, s_data, len,
                                        s_buf);
            assert_int_equal(m, len + RTM_TLS_RECORD_OVERHEAD);
            assert_int_equal(s_open(&server, s_buf, (size_t)m, &n, &alert), RTM_TLS_OPENED_DATA);
            assert_int_equal(n, len);
            assert_memory_equal(s_plain, s_data, len);
            /* the other way, opened in place */
            m = rtm_tls_record_seal(&server, s_crypto, RTM_TLS_APPLICATION_DATA, s_data, len,
                                    s_buf);
            assert_int_equal(rtm_tls_record_measure(s_buf, (size_t)m, &alert), m);
            assert_int_equal(rtm_tls_record_open(&client, s_crypto, s_buf, (size_t)m,
                                                 s_buf + RTM_TLS_RECORD_HEADER, &n, &alert),
                             RTM_TLS_OPENED_DATA);
            assert_int_equal(n, len);
            assert_memory_equal(s_buf + RTM_TLS_RECORD_HEADER, s_data, len);
        }
        assert_int_equal(server.rd.seq, 5);
        assert_int_equal(server.wr.seq, 5);
    }
}

static void test_every_byte_tampered_fails(void **state)
{
    rtm_tls_record_t server, client;
    s_pair(RTM_TLS_CHACHA20_POLY1305_SHA256, &server, &client);
    uint8_t rec[64];
    int m = rtm_tls_record_seal(&client, s_crypto, RTM_TLS_APPLICATION_DATA, s_data, 20, rec);
    for (int i = 0; i < m; i++) {
        uint8_t bad[64];
        memcpy(bad, rec, (size_t)m);
        bad[i] ^= 0x01;
        size_t n;
        int alert = 0;
        int len = rtm_tls_record_measure(bad, (size_t)m, &alert);
        if (len < 0) { /* the type or version byte */
            assert_true(i < 3);
            continue;
        }
        if (len != m) /* the length changed: not this record any more */
            continue;
        assert_int_equal(s_open(&server, bad, (size_t)m, &n, &alert), RTM_EPROTO);
        assert_int_equal(alert, RTM_TLS_ALERT_BAD_RECORD_MAC);
        assert_int_equal(server.rd.seq, 0); /* nothing consumed */
    }
    size_t n;
    int alert;
    assert_int_equal(s_open(&server, rec, (size_t)m, &n, &alert), RTM_TLS_OPENED_DATA);
    assert_int_equal(s_open(&server, rec, (size_t)m, &n, &alert), RTM_EPROTO); /* a replay */
    assert_int_equal(alert, RTM_TLS_ALERT_BAD_RECORD_MAC);
}

static void test_key_update_both_ways(void **state)
{
    rtm_tls_record_t server, client;
    s_pair(RTM_TLS_AES_256_GCM_SHA384, &server, &client);
    size_t n;
    int alert, m;
    uint8_t secret[48];
    memcpy(secret, server.rd.secret, 48);
    /* the client updates its key and asks for ours (sealed by hand) */
    static const uint8_t requested[5] = {24, 0, 0, 1, 1};
    m = rtm_tls_record_seal(&client, s_crypto, RTM_TLS_HANDSHAKE, requested, 5, s_buf);
    rtm_tls_record_seal_key_update(&client, s_crypto, s_buf + m); /* its own key moves on */
    assert_int_equal(s_open(&server, s_buf, (size_t)m, &n, &alert), RTM_TLS_OPENED_KEY_UPDATE);
    assert_memory_not_equal(server.rd.secret, secret, 48);
    assert_memory_equal(server.rd.secret, client.wr.secret, 48);
    assert_int_equal(server.rd.seq, 0);
    assert_true(rtm_tls_record_update_due(&server));
    m = rtm_tls_record_seal(&client, s_crypto, RTM_TLS_APPLICATION_DATA, s_data, 10, s_buf);
    assert_int_equal(s_open(&server, s_buf, (size_t)m, &n, &alert), RTM_TLS_OPENED_DATA);
    assert_int_equal(n, 10);
    /* the server answers with its own, not asking */
    m = rtm_tls_record_seal_key_update(&server, s_crypto, s_buf);
    assert_int_equal(m, 5 + RTM_TLS_RECORD_OVERHEAD);
    assert_false(rtm_tls_record_update_due(&server));
    assert_int_equal(s_open(&client, s_buf, (size_t)m, &n, &alert), RTM_TLS_OPENED_KEY_UPDATE);
    assert_false(rtm_tls_record_update_due(&client));
    m = rtm_tls_record_seal(&server, s_crypto, RTM_TLS_APPLICATION_DATA, s_data, 10, s_buf);
    assert_int_equal(s_open(&client, s_buf, (size_t)m, &n, &alert), RTM_TLS_OPENED_DATA);
    assert_memory_equal(s_plain, s_data, 10);
    /* after 2^24 records the key moves on unasked */
    server.wr.seq = (1ull << 24) - 1;
    assert_false(rtm_tls_record_update_due(&server));
    server.wr.seq++;
    assert_true(rtm_tls_record_update_due(&server));
}

/* The client seals inner[0..len) as it stands (type byte and padding
 * included: content type 0 appends only a zero); the server opens it. */
static int s_inner(const uint8_t *inner, size_t len, size_t *n, int *alert)
{
    rtm_tls_record_t server, client;
    s_pair(RTM_TLS_AES_128_GCM_SHA256, &server, &client);
    int m = rtm_tls_record_seal(&client, s_crypto, 0, inner, len, s_buf);
    return s_open(&server, s_buf, (size_t)m, n, alert);
}

static void test_padding_and_inner_types(void **state)
{
    size_t n;
    int alert = 0;
    static const uint8_t padded[] = {'h', 'i', 23, 0, 0, 0};
    assert_int_equal(s_inner(padded, sizeof padded, &n, &alert), RTM_TLS_OPENED_DATA);
    assert_int_equal(n, 2);
    assert_memory_equal(s_plain, "hi", 2);
    static const uint8_t empty_data[] = {23};
    assert_int_equal(s_inner(empty_data, 1, &n, &alert), RTM_TLS_OPENED_DATA);
    assert_int_equal(n, 0);
    static const uint8_t all_zero[] = {0, 0, 0};
    assert_int_equal(s_inner(all_zero, sizeof all_zero, &n, &alert), RTM_EPROTO);
    assert_int_equal(alert, RTM_TLS_ALERT_UNEXPECTED_MESSAGE);
    static const uint8_t ccs[] = {1, 20};
    assert_int_equal(s_inner(ccs, sizeof ccs, &n, &alert), RTM_EPROTO);
    assert_int_equal(alert, RTM_TLS_ALERT_UNEXPECTED_MESSAGE);
    static const uint8_t unknown_type[] = {'x', 99};
    assert_int_equal(s_inner(unknown_type, sizeof unknown_type, &n, &alert), RTM_EPROTO);
    assert_int_equal(alert, RTM_TLS_ALERT_UNEXPECTED_MESSAGE);
    /* handshake: a NewSessionTicket from a client, a KeyUpdate with a bad request or length */
    static const uint8_t ticket[] = {4, 0, 0, 1, 0, 22};
    assert_int_equal(s_inner(ticket, sizeof ticket, &n, &alert), RTM_EPROTO);
    assert_int_equal(alert, RTM_TLS_ALERT_UNEXPECTED_MESSAGE);
    static const uint8_t bad_request[] = {24, 0, 0, 1, 2, 22};
    assert_int_equal(s_inner(bad_request, sizeof bad_request, &n, &alert), RTM_EPROTO);
    assert_int_equal(alert, 47); /* illegal_parameter */
    static const uint8_t trailing[] = {24, 0, 0, 1, 0, 24, 22};
    assert_int_equal(s_inner(trailing, sizeof trailing, &n, &alert), RTM_EPROTO);
    assert_int_equal(alert, RTM_TLS_ALERT_DECODE_ERROR);
    static const uint8_t cut[] = {24, 0, 0, 1, 22};
    assert_int_equal(s_inner(cut, sizeof cut, &n, &alert), RTM_EPROTO);
    assert_int_equal(alert, RTM_TLS_ALERT_DECODE_ERROR);
    /* alerts: the peer's error ends it with nothing to answer; user_canceled is passed over */
    static const uint8_t fatal[] = {2, 40, 21};
    assert_int_equal(s_inner(fatal, sizeof fatal, &n, &alert), RTM_EPROTO);
    assert_int_equal(alert, -1);
    static const uint8_t canceled[] = {1, 90, 21};
    assert_int_equal(s_inner(canceled, sizeof canceled, &n, &alert), RTM_TLS_OPENED_DATA);
    assert_int_equal(n, 0);
    static const uint8_t long_alert[] = {1, 0, 0, 21};
    assert_int_equal(s_inner(long_alert, sizeof long_alert, &n, &alert), RTM_EPROTO);
    assert_int_equal(alert, RTM_TLS_ALERT_DECODE_ERROR);
}

static void test_plaintext_limit_exact_and_one_over(void **state)
{
    rtm_tls_record_t server, client;
    s_pair(RTM_TLS_AES_128_GCM_SHA256, &server, &client);
    size_t n;
    int alert;
    int m = rtm_tls_record_seal(&client, s_crypto, RTM_TLS_APPLICATION_DATA, s_data,
                                RTM_TLS_RECORD_MAX_PLAIN, s_buf);
    assert_int_equal(s_open(&server, s_buf, (size_t)m, &n, &alert), RTM_TLS_OPENED_DATA);
    assert_int_equal(n, RTM_TLS_RECORD_MAX_PLAIN);
    m = rtm_tls_record_seal(&client, s_crypto, RTM_TLS_APPLICATION_DATA, s_data,
                            RTM_TLS_RECORD_MAX_PLAIN + 1, s_buf); /* as a peer might */
    assert_int_equal(s_open(&server, s_buf, (size_t)m, &n, &alert), RTM_EPROTO);
    assert_int_equal(alert, RTM_TLS_ALERT_RECORD_OVERFLOW);
}

static void test_headers(void **state)
{
    int alert = 0;
    uint8_t h[5] = {23, 3, 3, 0, 0};
    for (size_t len = 0; len < 5; len++) /* a good header's prefixes: more needed */
        assert_int_equal(rtm_tls_record_measure(h, len, &alert), 0);
    size_t max = RTM_TLS_RECORD_MAX_LENGTH;
    h[3] = (uint8_t)(max >> 8);
    h[4] = (uint8_t)max;
    assert_int_equal(rtm_tls_record_measure(h, 5, &alert), 5 + max);
    h[4]++;
    assert_int_equal(rtm_tls_record_measure(h, 5, &alert), RTM_EPROTO);
    assert_int_equal(alert, RTM_TLS_ALERT_RECORD_OVERFLOW);
    h[3] = 0;
    h[4] = 17; /* a tag and a type */
    assert_int_equal(rtm_tls_record_measure(h, 5, &alert), 22);
    h[4] = 16;
    assert_int_equal(rtm_tls_record_measure(h, 5, &alert), RTM_EPROTO);
    assert_int_equal(alert, RTM_TLS_ALERT_DECODE_ERROR);
    static const uint8_t types[] = {20, 21, 22, 24, 0};
    for (size_t i = 0; i < sizeof types; i++) { /* said by the first byte already */
        assert_int_equal(rtm_tls_record_measure(&types[i], 1, &alert), RTM_EPROTO);
        assert_int_equal(alert, RTM_TLS_ALERT_UNEXPECTED_MESSAGE);
    }
    static const uint8_t tls10[] = {23, 3, 1};
    assert_int_equal(rtm_tls_record_measure(tls10, 3, &alert), RTM_EPROTO);
    assert_int_equal(alert, RTM_TLS_ALERT_DECODE_ERROR);
}

static void test_sequence_used_up(void **state)
{
    rtm_tls_record_t server, client;
    s_pair(RTM_TLS_AES_128_GCM_SHA256, &server, &client);
    server.wr.seq = UINT64_MAX;
    assert_int_equal(
        rtm_tls_record_seal(&server, s_crypto, RTM_TLS_APPLICATION_DATA, s_data, 1, s_buf),
        RTM_EPROTO);
    int m = rtm_tls_record_seal(&client, s_crypto, RTM_TLS_APPLICATION_DATA, s_data, 1, s_buf);
    server.rd.seq = UINT64_MAX;
    size_t n;
    int alert;
    assert_int_equal(s_open(&server, s_buf, (size_t)m, &n, &alert), RTM_EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8448_keys_and_records),
        cmocka_unit_test(test_round_trips_every_suite),
        cmocka_unit_test(test_every_byte_tampered_fails),
        cmocka_unit_test(test_key_update_both_ways),
        cmocka_unit_test(test_padding_and_inner_types),
        cmocka_unit_test(test_plaintext_limit_exact_and_one_over),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_sequence_used_up),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
