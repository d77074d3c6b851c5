/* libFuzzer target for rtm_tls_record's opener. The first byte picks the
 * suite (its value mod 3) and the mode (bit 7):
 *   clear: the rest is what a peer sends, records measured and opened in turn
 *     until one fails (random bytes fail authentication: the headers and
 *     lengths are what this exercises);
 *   set: the rest is inner plaintexts (content, type, padding), each one
 *     length byte then its bytes, sealed by a peer holding the same keys, so
 *     they authenticate and the inner parsing (padding, content types,
 *     KeyUpdate, alerts) is what gets exercised.
 * Whatever comes in: a measured length is a whole header's and within the
 * limits, data fits the room the caller gave, a refusal names an alert
 * description of the codec's (or none), a failed record consumes no sequence
 * number, and after a KeyUpdate both sides still agree on the keys. */
#include "rtm_error.h"
#include "rtm_tls_record.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rtm_tls_crypto_t *s_crypto(void)
{
    static rtm_tls_crypto_t *c;
    if (!c)
        c = rtm_tls_crypto_new();
    return c;
}

static bool s_known_alert(int alert)
{
    return alert == -1 || alert == RTM_TLS_ALERT_UNEXPECTED_MESSAGE ||
           alert == RTM_TLS_ALERT_BAD_RECORD_MAC || alert == RTM_TLS_ALERT_RECORD_OVERFLOW ||
           alert == RTM_TLS_ALERT_DECODE_ERROR || alert == 47 /* illegal_parameter */;
}

/* Opens rec[0..len) (measured) as the server; false when the connection is over. */
static bool s_open(rtm_tls_record_t *server, rtm_tls_record_t *client, const uint8_t *rec,
                   size_t len)
{
    rtm_tls_crypto_t *c = s_crypto();
    uint8_t *plain = malloc(len);
    if (!plain)
        abort();
    size_t n;
    int alert = 0;
    uint64_t seq = server->rd.seq;
    int what = rtm_tls_record_open(server, c, rec, len, plain, &n, &alert);
    free(plain);
    if (what < 0) {
        if (!s_known_alert(alert) ||
            (alert == RTM_TLS_ALERT_BAD_RECORD_MAC && server->rd.seq != seq))
            abort();
        return false;
    }
    if (n > len - RTM_TLS_RECORD_OVERHEAD + 1 || (what != RTM_TLS_OPENED_DATA && n != 0))
        abort();
    if (what == RTM_TLS_OPENED_KEY_UPDATE) {
        uint8_t scratch[5 + RTM_TLS_RECORD_OVERHEAD];
        rtm_tls_record_seal_key_update(client, c, scratch); /* the peer's own key moves on */
        if (memcmp(server->rd.key, client->wr.key, sizeof server->rd.key) != 0)
            abort();
    }
    return what != RTM_TLS_OPENED_CLOSE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    rtm_tls_suite_t suite = (rtm_tls_suite_t)(data[0] % 3);
    bool sealed = data[0] & 0x80;
    uint8_t a[RTM_TLS_SECRET_MAX], b[RTM_TLS_SECRET_MAX];
    for (int i = 0; i < RTM_TLS_SECRET_MAX; i++) {
        a[i] = (uint8_t)i;
        b[i] = (uint8_t)(255 - i);
    }
    rtm_tls_record_t server = {0}, client = {0}; /* key bytes a suite leaves unused: 0 */
    rtm_tls_record_init(&server, s_crypto(), suite, a, b, 0, 0);
    rtm_tls_record_init(&client, s_crypto(), suite, b, a, 0, 0);
    size_t off = 1;
    bool open = true;
    while (open && off < size) {
        if (sealed) {
            size_t len = data[off++];
            len = len < size - off ? len : size - off;
            uint8_t rec[255 + RTM_TLS_RECORD_OVERHEAD];
            /* content type 0 adds only a zero: the inner plaintext is the input's */
            int n = rtm_tls_record_seal(&client, s_crypto(), 0, data + off, len, rec);
            if (n != (int)(len + RTM_TLS_RECORD_OVERHEAD))
                abort();
            off += len;
            open = s_open(&server, &client, rec, (size_t)n);
            continue;
        }
        int alert = 0, len = rtm_tls_record_measure(data + off, size - off, &alert);
        if (len < 0) {
            if (!s_known_alert(alert))
                abort();
            break;
        }
        if (len == 0) {
            if (size - off >= RTM_TLS_RECORD_HEADER)
                abort();
            break;
        }
        if (len < RTM_TLS_RECORD_OVERHEAD ||
            len > RTM_TLS_RECORD_HEADER + RTM_TLS_RECORD_MAX_LENGTH)
            abort();
        if ((size_t)len > size - off)
            break; /* cut: the caller would wait for the rest */
        open = s_open(&server, &client, data + off, (size_t)len);
        off += (size_t)len;
    }
    rtm_tls_record_clear(&server);
    rtm_tls_record_clear(&client);
    return 0;
}
