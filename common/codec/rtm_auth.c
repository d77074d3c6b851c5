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

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define S_SHA256_LEN   32
#define S_SHA256_BLOCK 64

static void s_hex(const unsigned char *bin, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[bin[i] >> 4];
        out[2 * i + 1] = hex[bin[i] & 0xF];
    }
    out[2 * n] = '\0';
}

/* The digests, fetched once per process. A fetch (what EVP_sha256() and a
 * MAC by name do implicitly on every use) is a locked lookup in OpenSSL's
 * provider tables and was the larger part of a REST signature check; the
 * fetched algorithms are immutable and shared by every thread, like a const
 * table. */
static pthread_once_t s_fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *s_sha256, *s_md5;

static void s_fetch(void)
{
    s_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    s_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    if (!s_sha256 || !s_md5)
        abort();
}

static const EVP_MD *s_digest(EVP_MD **which)
{
    pthread_once(&s_fetch_once, s_fetch);
    return *which;
}

static void s_digest_init(EVP_MD_CTX *ctx, const EVP_MD *md, const unsigned char *pad, size_t n)
{
    if (!EVP_DigestInit_ex2(ctx, md, NULL) || !EVP_DigestUpdate(ctx, pad, n))
        abort();
}

/* Hex HMAC-SHA256 over the concatenation of parts[0..n): RFC 2104 on one
 * digest context, H((K ^ opad) || H((K ^ ipad) || msg)), K the key padded to
 * the block size (hashed first when longer). */
static void s_hmac_parts(rtm_str_t key, const rtm_str_t *parts, size_t n, char out[65])
{
    const EVP_MD *md = s_digest(&s_sha256);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char k[S_SHA256_BLOCK] = {0}, pad[S_SHA256_BLOCK], inner[S_SHA256_LEN];
    unsigned char mac[S_SHA256_LEN];
    unsigned int len = 0;
    if (!ctx)
        abort();
    if (key.len > sizeof k) {
        if (!EVP_Digest(key.p, key.len, k, &len, md, NULL))
            abort();
    } else if (key.len) {
        memcpy(k, key.p, key.len);
    }
    for (size_t i = 0; i < sizeof k; i++)
        pad[i] = k[i] ^ 0x36;
    s_digest_init(ctx, md, pad, sizeof pad);
    for (size_t i = 0; i < n; i++)
        if (parts[i].len && !EVP_DigestUpdate(ctx, parts[i].p, parts[i].len))
            abort();
    if (!EVP_DigestFinal_ex(ctx, inner, &len) || len != sizeof inner)
        abort();
    for (size_t i = 0; i < sizeof k; i++)
        pad[i] = k[i] ^ 0x5c;
    s_digest_init(ctx, md, pad, sizeof pad);
    if (!EVP_DigestUpdate(ctx, inner, sizeof inner) || !EVP_DigestFinal_ex(ctx, mac, &len) ||
        len != sizeof mac)
        abort();
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    s_hex(mac, sizeof mac, out);
}

void rtm_hmac_sha256_hex(rtm_str_t key, rtm_str_t msg, char out[65])
{
    s_hmac_parts(key, &msg, 1, out);
}

void rtm_md5_hex(rtm_str_t data, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(data.len ? data.p : "", data.len, md, &md_len, s_digest(&s_md5), NULL) ||
        md_len != 16)
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
