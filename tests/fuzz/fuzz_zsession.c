/* libFuzzer target for rtm_zsession: what a stranger may send to a broker's
 * ports. The first byte picks the server's mechanism (NULL or CURVE) and how
 * the rest is cut into reads; the rest is fed to a fresh server session as
 * it would arrive. Whatever it says, the session must not read past its
 * input, must consume only what it was given, and must report only messages
 * of 1..RTM_ZSESSION_MAX_PARTS frames (or the malformed mark). */
#include "rtm_error.h"
#include "rtm_zsession.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_ready(void *arg, rtm_str_t meta)
{
    (void)arg, (void)meta;
}

static void s_message(void *arg, const rtm_str_t *frames, size_t n)
{
    (void)arg;
    if ((n == 0) != (frames == NULL) || n > RTM_ZSESSION_MAX_PARTS)
        abort();
}

static bool s_authorize(void *arg, const uint8_t key[32])
{
    (void)arg;
    return key[0] & 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pub[32], sec[32];
    static const char *const peers[] = {"DEALER", "SUB", NULL};
    if (!pub[0] && !pub[1]) {
        if (sodium_init() < 0)
            abort();
        crypto_box_keypair(pub, sec);
    }
    if (size < 1)
        return 0;
    bool curve = data[0] & 1;
    size_t step = 1 + (data[0] >> 1); /* bytes per read */
    rtm_zsession_events_t ev = {NULL, s_ready, s_message, s_authorize};
    rtm_zsession_config_t cfg = {.server = true,
                                 .socket_type = "ROUTER",
                                 .peer_types = peers,
                                 .public_key = curve ? pub : NULL,
                                 .secret_key = curve ? sec : NULL,
                                 .max_frame = 1 << 16};
    rtm_zsession_t s;
    rtm_zbuf_t in = {0}, out = {0};
    rtm_zsession_start(&s, &cfg, &ev, &out);
    int rc = 0;
    for (size_t at = 1; at < size && rc == 0; at += step) {
        size_t n = size - at < step ? size - at : step;
        size_t before = in.len + n;
        rtm_zbuf_append(&in, data + at, n);
        rc = rtm_zsession_feed(&s, &in, &out);
        if (in.len > before)
            abort();
    }
    rtm_zsession_end(&s);
    rtm_zbuf_free(&in);
    rtm_zbuf_free(&out);
    return 0;
}
