/* libFuzzer target for rtm_zcurve. Input: [target, mode, payload...]. A real
 * handshake between our client and our server (fixed long-term keys) runs up
 * to the command `target` names (HELLO to a fresh server, WELCOME to a client
 * after HELLO, INITIATE, READY, or a MESSAGE either way on a ready pair); that
 * command is then replaced by the payload (mode bit 0 set: raw bytes) or has
 * the payload XORed into it (bit 0 clear; bit 1 set: cut or padded to the
 * payload's length), and goes to the side that expects it.
 *
 * Properties: the step or decode never crashes and returns only documented
 * codes; a command that differs from the genuine one is refused (a raw HELLO
 * may open, since HELLO is replayable to any server with that key; HELLO's
 * padding is not read); the genuine one is accepted and a MESSAGE gives back
 * what was sent; a failed step writes nothing and leaves the side failed.
 *
 * Seeds (tests/fuzz/seeds/zcurve) come from this file built with
 * -DFUZZ_ZCURVE_WRITE_SEEDS, whose main() writes real commands captured
 * from a handshake: cc -DFUZZ_ZCURVE_WRITE_SEEDS -Icommon/codec -Icommon/base
 * tests/fuzz/fuzz_zcurve.c common/codec/rtm_zcurve.c -lsodium && ./a.out DIR */
#include "rtm_error.h"
#include "rtm_zcurve.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { T_HELLO, T_WELCOME, T_INITIATE, T_READY, T_MSG_TO_SERVER, T_MSG_TO_CLIENT, T_N };

#define S_CAP     1024
#define S_RAW     0x01
#define S_SETLEN  0x02
#define S_MSG     "frame"
#define S_MSG_LEN 5

static const uint8_t s_meta[] = "\x0bSocket-Type\0\0\0\x06"
                                "DEALER";

typedef struct {
    rtm_zcurve_t *cli, *srv;
    uint8_t cpub[32];   /* the client's long-term public key */
    uint8_t cmd[S_CAP]; /* the genuine command of the target */
    size_t len;
} s_run_t;

static void s_check(bool ok)
{
    if (!ok)
        abort();
}

static void s_run_new(s_run_t *r)
{
    uint8_t seed[32], csec[32], spub[32], ssec[32];
    s_check(sodium_init() >= 0);
    memset(seed, 'c', sizeof seed);
    crypto_box_seed_keypair(r->cpub, csec, seed);
    memset(seed, 's', sizeof seed);
    crypto_box_seed_keypair(spub, ssec, seed);
    r->cli = rtm_zcurve_client_new(spub, r->cpub, csec, s_meta, sizeof s_meta - 1);
    r->srv = rtm_zcurve_server_new(spub, ssec, s_meta, sizeof s_meta - 1);
}

/* Runs the handshake genuinely until the command of `target` is in r->cmd. */
static void s_run_to(s_run_t *r, int target)
{
    uint8_t other[S_CAP];
    size_t n;
    s_check(rtm_zcurve_step(r->cli, NULL, 0, r->cmd, S_CAP, &r->len, NULL) == 0);
    if (target == T_HELLO)
        return;
    s_check(rtm_zcurve_step(r->srv, r->cmd, r->len, other, S_CAP, &n, NULL) == 0);
    if (target == T_WELCOME) {
        memcpy(r->cmd, other, n);
        r->len = n;
        return;
    }
    s_check(rtm_zcurve_step(r->cli, other, n, r->cmd, S_CAP, &r->len, NULL) == 0);
    if (target == T_INITIATE)
        return;
    s_check(rtm_zcurve_step(r->srv, r->cmd, r->len, other, S_CAP, &n, NULL) == RTM_ZCURVE_AUTH);
    s_check(rtm_zcurve_accept(r->srv, r->cmd, S_CAP, &r->len, NULL) == RTM_ZCURVE_READY);
    if (target == T_READY)
        return;
    s_check(rtm_zcurve_step(r->cli, r->cmd, r->len, other, S_CAP, &n, NULL) == RTM_ZCURVE_READY);
    rtm_zcurve_t *from = target == T_MSG_TO_SERVER ? r->cli : r->srv;
    r->len = rtm_zcurve_encode(from, RTM_ZCURVE_MORE, (const uint8_t *)S_MSG, S_MSG_LEN, r->cmd);
}

/* The command to deliver, in an exact-size heap buffer; *changed: whether it
 * differs from the genuine one in a byte that is read. */
static uint8_t *s_mutate(const s_run_t *r, int target, uint8_t mode, const uint8_t *p, size_t plen,
                         size_t *len, bool *changed)
{
    if (mode & S_RAW)
        *len = plen;
    else
        *len = mode & S_SETLEN ? plen : (plen > r->len ? plen : r->len);
    uint8_t *cmd = malloc(*len ? *len : 1);
    s_check(cmd != NULL);
    *changed = *len != r->len;
    for (size_t i = 0; i < *len; i++) {
        uint8_t g = i < r->len ? r->cmd[i] : 0;
        cmd[i] = mode & S_RAW ? p[i] : (uint8_t)(g ^ (i < plen ? p[i] : 0));
        bool ignored = target == T_HELLO && i >= 8 && i < 80;
        if (cmd[i] != g && !ignored)
            *changed = true;
    }
    return cmd;
}

static void s_deliver_command(s_run_t *r, int target, uint8_t *cmd, size_t len, bool changed)
{
    static const int want[4] = {RTM_ZCURVE_CONTINUE, RTM_ZCURVE_CONTINUE, RTM_ZCURVE_AUTH,
                                RTM_ZCURVE_READY};
    rtm_zcurve_t *to = target == T_HELLO || target == T_INITIATE ? r->srv : r->cli;
    uint8_t out[S_CAP];
    size_t n = 99;
    rtm_str_t meta;
    int rc = rtm_zcurve_step(to, cmd, len, out, S_CAP, &n, &meta);
    if (rc >= 0) {
        s_check(rc == want[target] && (!changed || target == T_HELLO));
        if (rc == RTM_ZCURVE_READY)
            s_check(rtm_str_eq(meta, rtm_str((const char *)s_meta, sizeof s_meta - 1)));
        if (rc == RTM_ZCURVE_AUTH)
            s_check(memcmp(rtm_zcurve_peer_key(r->srv), r->cpub, 32) == 0 && n == 0);
        return;
    }
    s_check((rc == RTM_EPROTO || rc == RTM_EAUTH) && changed && n == 0);
    s_check(rtm_zcurve_step(to, r->cmd, r->len, out, S_CAP, &n, NULL) == RTM_EPROTO && n == 0);
}

static void s_deliver_message(s_run_t *r, int target, uint8_t *body, size_t len, bool changed)
{
    rtm_zcurve_t *to = target == T_MSG_TO_SERVER ? r->srv : r->cli;
    uint8_t flags, *data;
    size_t n;
    int rc = rtm_zcurve_decode(to, body, len, &flags, &data, &n);
    if (rc == 0) {
        s_check(!changed && flags == RTM_ZCURVE_MORE && n == S_MSG_LEN);
        s_check(data == body + RTM_ZCURVE_MSG_OVERHEAD && memcmp(data, S_MSG, n) == 0);
        return;
    }
    s_check((rc == RTM_EPROTO || rc == RTM_EAUTH) && changed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int target = data[0] % T_N;
    s_run_t r;
    s_run_new(&r);
    s_run_to(&r, target);
    size_t len;
    bool changed;
    uint8_t *cmd = s_mutate(&r, target, data[1], data + 2, size - 2, &len, &changed);
    if (target < T_MSG_TO_SERVER)
        s_deliver_command(&r, target, cmd, len, changed);
    else
        s_deliver_message(&r, target, cmd, len, changed);
    free(cmd);
    rtm_zcurve_destroy(&r.cli);
    rtm_zcurve_destroy(&r.srv);
    s_check(r.cli == NULL && r.srv == NULL);
    return 0;
}

#ifdef FUZZ_ZCURVE_WRITE_SEEDS
#include <stdio.h>

static void s_write(const char *dir, const char *name, int target, uint8_t mode, const uint8_t *p,
                    size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    s_check(f != NULL);
    uint8_t head[2] = {(uint8_t)target, mode};
    s_check(fwrite(head, 1, 2, f) == 2 && fwrite(p, 1, len, f) == len && fclose(f) == 0);
}

int main(int argc, char **argv)
{
    static const char *names[T_N] = {"hello", "welcome",   "initiate",
                                     "ready", "message-c", "message-s"};
    s_check(argc == 2);
    for (int t = 0; t < T_N; t++) {
        s_run_t r;
        char name[64];
        s_run_new(&r);
        s_run_to(&r, t);
        snprintf(name, sizeof name, "raw-%s", names[t]);
        s_write(argv[1], name, t, S_RAW, r.cmd, r.len);
        uint8_t flip[40] = {0};
        flip[sizeof flip - 1] = 0x80; /* one bit in the box, or in HELLO's padding */
        snprintf(name, sizeof name, "xor-%s", names[t]);
        s_write(argv[1], name, t, 0, flip, sizeof flip);
        rtm_zcurve_destroy(&r.cli);
        rtm_zcurve_destroy(&r.srv);
    }
    return 0;
}
#endif
