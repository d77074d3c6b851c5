/* zap — see zap.h.
 *
 * A ZAP request is [version "1.0"][request id][domain][address][routing id]
 * [mechanism][credentials...] and is answered, always (the REP socket waits
 * for it), with [version][request id][status code][status text][user id]
 * [metadata]. With CURVE the one credential is the client's 32-byte public
 * key. Anything but a well-formed CURVE request in our domain is refused. */
#include "zap.h"

#include "rtm_log.h"

#include <czmq.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01" /* RFC 27: one per context */
#define S_MONITORS     2                        /* ingress and egress */
#define S_FRAMES       8                        /* frames of a request we look at */
#define S_BUDGET       256                      /* requests or events per turn */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* libzmq 4.3 draft option; refused harmlessly without it */
#endif

struct rtm_zap {
    void *ctx;                  /* borrowed */
    void *rep;                  /* the ZAP handler */
    void *monitors[S_MONITORS]; /* PAIRs reading the server sockets' monitors */
    size_t n_monitors;
    zcertstore_t *store; /* the allowed public certificates */
    char own[41];        /* the broker tier's public key */
    rtm_zap_stats_t stats;
};

rtm_zap_t *rtm_zap_new(void *ctx, const rtm_tier_keys_t *keys, const char *allow_dir)
{
    /* a missing directory would be an empty store that fills once the
     * directory appears: refuse it at start, it is a typo */
    zdir_t *dir = allow_dir && *allow_dir ? zdir_new(allow_dir, NULL) : NULL;
    if (!dir) {
        rtm_log(RTM_LOG_ERROR,
                "event=bad_config key=--curve-allow dir=\"%s\" reason=\"not a readable directory\"",
                allow_dir ? allow_dir : "");
        return NULL;
    }
    zdir_destroy(&dir);
    rtm_zap_t *z = calloc(1, sizeof *z);
    if (!z)
        abort();
    z->ctx = ctx;
    snprintf(z->own, sizeof z->own, "%s", keys->public_key);
    z->store = zcertstore_new(allow_dir);
    int zero = 0;
    if (!z->store || !(z->rep = zmq_socket(ctx, ZMQ_REP)) ||
        zmq_setsockopt(z->rep, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_bind(z->rep, S_ZAP_ENDPOINT) < 0) {
        rtm_log(RTM_LOG_ERROR, "event=zap_failed error=\"%s\"", zmq_strerror(errno));
        rtm_zap_destroy(&z);
        return NULL;
    }
    return z;
}

int rtm_zap_serve(rtm_zap_t *z, void *sock, const char *what)
{
    int one = 1; /* no answer from a handler means no entry, never "anyone" */
    zmq_setsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one);
    if (z->n_monitors == S_MONITORS)
        return -1; /* two server sockets: not reached */
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://rtmesh-monitor-%s", what);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    void *pair = NULL;
    int zero = 0;
    if (zmq_socket_monitor(sock, ep, events) < 0 || !(pair = zmq_socket(z->ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(pair, ZMQ_LINGER, &zero, sizeof zero) < 0 || zmq_connect(pair, ep) < 0) {
        rtm_log(RTM_LOG_ERROR, "event=monitor_failed socket=%s error=\"%s\"", what,
                zmq_strerror(errno));
        if (pair)
            zmq_close(pair);
        return -1;
    }
    z->monitors[z->n_monitors++] = pair;
    return 0;
}

size_t rtm_zap_pollitems(rtm_zap_t *z, zmq_pollitem_t *items, size_t cap)
{
    size_t n = 0;
    if (n < cap)
        items[n++] = (zmq_pollitem_t){z->rep, 0, ZMQ_POLLIN, 0};
    for (size_t i = 0; i < z->n_monitors && n < cap; i++)
        items[n++] = (zmq_pollitem_t){z->monitors[i], 0, ZMQ_POLLIN, 0};
    return n;
}

static bool s_frame_is(zmq_msg_t *f, const char *text)
{
    return zmq_msg_size(f) == strlen(text) && !memcmp(zmq_msg_data(f), text, zmq_msg_size(f));
}

/* The decision on one request (frames f[0..n)): 200 with the client's key
 * as user id, or 400. */
static bool s_decide(rtm_zap_t *z, zmq_msg_t *f, int n, char key[41])
{
    if (n != 7 || !s_frame_is(&f[0], "1.0") || !s_frame_is(&f[2], RTM_TIER_ZAP_DOMAIN) ||
        !s_frame_is(&f[5], "CURVE") || zmq_msg_size(&f[6]) != 32)
        return false;
    zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
    return !strcmp(key, z->own) || zcertstore_lookup(z->store, key) != NULL;
}

static void s_reply(rtm_zap_t *z, zmq_msg_t *request_id, bool ok, const char *user)
{
    zmq_send(z->rep, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(z->rep, zmq_msg_data(request_id), zmq_msg_size(request_id), ZMQ_SNDMORE);
    zmq_send(z->rep, ok ? "200" : "400", 3, ZMQ_SNDMORE);
    const char *text = ok ? "OK" : "key not allowed";
    zmq_send(z->rep, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(z->rep, user, ok ? strlen(user) : 0, ZMQ_SNDMORE);
    zmq_send(z->rep, "", 0, 0);
}

/* Reads one request and answers it; false when none was waiting. */
static bool s_request(rtm_zap_t *z)
{
    zmq_msg_t f[S_FRAMES];
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t *m = &f[n < S_FRAMES ? n : S_FRAMES - 1];
        if (n >= S_FRAMES)
            zmq_msg_close(m); /* more frames than any request has: keep reading, refuse */
        zmq_msg_init(m);
        if (zmq_msg_recv(m, z->rep, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(m);
            if (n == 0)
                return false;
            break;
        }
        more = zmq_msg_more(m);
        n++;
    }
    int kept = n < S_FRAMES ? n : S_FRAMES;
    char key[41] = "";
    bool ok = s_decide(z, f, n, key);
    if (ok)
        z->stats.allowed++;
    else
        z->stats.refused++;
    zmq_msg_t empty;
    zmq_msg_init(&empty);
    s_reply(z, kept > 1 ? &f[1] : &empty, ok, key);
    zmq_msg_close(&empty);
    for (int i = 0; i < kept; i++)
        zmq_msg_close(&f[i]);
    return true;
}

/* Reads one monitor event of pair; false when none was waiting. */
static bool s_event(rtm_zap_t *z, void *pair)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, pair, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return false;
    }
    if (zmq_msg_size(&m) >= 2) {
        uint16_t event;
        memcpy(&event, zmq_msg_data(&m), sizeof event);
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
            event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            z->stats.handshake_failed++;
    }
    while (zmq_msg_more(&m)) /* the endpoint frame */
        zmq_msg_recv(&m, pair, ZMQ_DONTWAIT);
    zmq_msg_close(&m);
    return true;
}

void rtm_zap_service(rtm_zap_t *z)
{
    for (int i = 0; i < S_BUDGET && s_request(z); i++)
        ;
    for (size_t k = 0; k < z->n_monitors; k++)
        for (int i = 0; i < S_BUDGET && s_event(z, z->monitors[k]); i++)
            ;
}

const rtm_zap_stats_t *rtm_zap_stats(const rtm_zap_t *z)
{
    return &z->stats;
}

void rtm_zap_destroy(rtm_zap_t **zp)
{
    rtm_zap_t *z = *zp;
    if (!z)
        return;
    for (size_t i = 0; i < z->n_monitors; i++)
        zmq_close(z->monitors[i]);
    if (z->rep)
        zmq_close(z->rep);
    zcertstore_destroy(&z->store);
    free(z);
    *zp = NULL;
}
