/* rtm_auth — see rtm_auth.h.
 *
 * The string to sign is fed to the MAC in parts (socket id, separators,
 * channel, channel data) so no buffer has to be sized for a client-chosen
 * channel_data. The app key prefix of an auth string is public and compared
 * plainly; only the signature part goes through the constant-time compare.
 * OpenSSL failures here can only mean out of memory or a broken library, so
 * they abort rather than fail open. */
#include "rtm_auth.h"

#include "rtm_error.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>

#define S_SHA256_LEN 32

static void s_hex(const unsigned char *bin, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[bin[i] >> 4];
        out[2 * i + 1] = hex[bin[i] & 0xF];
    }
    out[2 * n] = '\0';
}

/* Hex HMAC-SHA256 over the concatenation of parts[0..n). */
static void s_hmac_parts(rtm_str_t key, const rtm_str_t *parts, size_t n, char out[65])
{
    static const unsigned char empty[1];
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    unsigned char md[S_SHA256_LEN];
    size_t md_len = 0;
    const unsigned char *k = key.len ? (const unsigned char *)key.p : empty;
    if (!ctx || !EVP_MAC_init(ctx, k, key.len, params))
        abort();
    for (size_t i = 0; i < n; i++)
        if (parts[i].len && !EVP_MAC_update(ctx, (const unsigned char *)parts[i].p, parts[i].len))
            abort();
    if (!EVP_MAC_final(ctx, md, &md_len, sizeof(md)) || md_len != sizeof(md))
        abort();
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    s_hex(md, sizeof(md), out);
}

void rtm_hmac_sha256_hex(rtm_str_t key, rtm_str_t msg, char out[65])
{
    s_hmac_parts(key, &msg, 1, out);
}

void rtm_md5_hex(rtm_str_t data, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(data.len ? data.p : "", data.len, md, &md_len, EVP_md5(), NULL) || md_len != 16)
        abort();
    s_hex(md, md_len, out);
}

bool rtm_consttime_eq(rtm_str_t a, rtm_str_t b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int diff = n ? CRYPTO_memcmp(a.p, b.p, n) : 0;
    return (a.len == b.len) & (diff == 0);
}

/* 0 when auth is "<app_key>:<hex HMAC of parts>", else RTM_EAUTH. */
static int s_check(rtm_str_t app_key, rtm_str_t secret, const rtm_str_t *parts, size_t n,
                   rtm_str_t auth)
{
    if (auth.len <= app_key.len || auth.p[app_key.len] != ':' ||
        !rtm_str_eq(rtm_str(auth.p, app_key.len), app_key))
        return RTM_EAUTH;
    char expect[65];
    s_hmac_parts(secret, parts, n, expect);
    rtm_str_t sent = rtm_str(auth.p + app_key.len + 1, auth.len - app_key.len - 1);
    return rtm_consttime_eq(sent, rtm_str(expect, 64)) ? 0 : RTM_EAUTH;
}

int rtm_auth_check_channel(rtm_str_t app_key, rtm_str_t secret, rtm_str_t socket_id,
                           rtm_str_t channel, rtm_str_t channel_data, rtm_str_t auth)
{
    rtm_str_t parts[] = {socket_id, rtm_str(":", 1), channel, rtm_str(":", 1), channel_data};
    return s_check(app_key, secret, parts, channel_data.len ? 5 : 3, auth);
}

int rtm_auth_check_user(rtm_str_t app_key, rtm_str_t secret, rtm_str_t socket_id,
                        rtm_str_t user_data, rtm_str_t auth)
{
    rtm_str_t parts[] = {socket_id, rtm_str("::user::", 8), user_data};
    return s_check(app_key, secret, parts, 3, auth);
}
