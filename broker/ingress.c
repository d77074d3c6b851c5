/* ingress — see ingress.h. The routing ids live in a hash (uthash) keyed by
 * their bytes; each entry is the peer's data pointer, freed when the peer is
 * gone, so a lookup never finds a closed peer. */
#include "ingress.h"

#include "rtm_error.h"
#include "rtm_zmtp.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define S_ID_MAX 255 /* ZMTP's routing ids are 1..255 bytes */

typedef struct {
    UT_hash_handle hh;
    rtm_zpeer_t *peer;
    size_t len;
    uint8_t id[S_ID_MAX];
} s_route_t;

struct rtm_ingress {
    rtm_zserver_t *server;
    rtm_zserver_events_t ev;
    rtm_ingress_cb cb;
    void *arg;
    s_route_t *routes;
    uint32_t next_id; /* for peers that announce no routing id */
};

static const char *const s_peer_types[] = {"DEALER", "REQ", "ROUTER", NULL};

static void s_on_ready(void *arg, rtm_zpeer_t *peer, rtm_str_t meta)
{
    rtm_ingress_t *in = arg;
    s_route_t *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    rtm_str_t id;
    if (rtm_zmtp_prop_find(meta, "Identity", &id) == 0 && id.len > 0 && id.len <= S_ID_MAX &&
        id.p[0] != 0) {
        memcpy(r->id, id.p, id.len);
        r->len = id.len;
    } else {
        uint32_t n = ++in->next_id;
        r->id[0] = 0;
        memcpy(r->id + 1, &n, sizeof n);
        r->len = 1 + sizeof n;
    }
    s_route_t *old;
    HASH_FIND(hh, in->routes, r->id, r->len, old);
    if (old) /* handover: the newcomer takes the id */
        rtm_zpeer_close(old->peer);
    r->peer = peer;
    HASH_ADD(hh, in->routes, id, r->len, r);
    rtm_zpeer_set_data(peer, r);
}

static void s_on_gone(void *arg, rtm_zpeer_t *peer)
{
    rtm_ingress_t *in = arg;
    s_route_t *r = rtm_zpeer_data(peer);
    HASH_DEL(in->routes, r);
    free(r);
}

static void s_on_message(void *arg, rtm_zpeer_t *peer, const rtm_str_t *frames, size_t n)
{
    rtm_ingress_t *in = arg;
    const s_route_t *r = rtm_zpeer_data(peer);
    in->cb(in->arg, rtm_str((const char *)r->id, r->len), frames, n, rtm_zpeer_user_id(peer));
}

rtm_ingress_t *rtm_ingress_new(const char *host, int port, const rtm_zserver_config_t *cfg,
                               rtm_ingress_cb cb, void *arg)
{
    rtm_ingress_t *in = calloc(1, sizeof *in);
    if (!in)
        abort();
    in->cb = cb;
    in->arg = arg;
    in->ev = (rtm_zserver_events_t){in, s_on_ready, s_on_message, s_on_gone};
    rtm_zserver_config_t c = *cfg;
    c.socket_type = "ROUTER";
    c.peer_types = s_peer_types;
    if (!(in->server = rtm_zserver_new(host, port, &c, &in->ev))) {
        free(in);
        return NULL;
    }
    return in;
}

int rtm_ingress_reply(rtm_ingress_t *in, rtm_str_t identity, rtm_str_t body)
{
    s_route_t *r;
    HASH_FIND(hh, in->routes, identity.p, identity.len, r);
    if (!r)
        return RTM_ENOTFOUND;
    return rtm_zpeer_send(r->peer, &body, 1);
}

rtm_zserver_t *rtm_ingress_server(rtm_ingress_t *in)
{
    return in->server;
}

void rtm_ingress_destroy(rtm_ingress_t **inp)
{
    rtm_ingress_t *in = *inp;
    if (!in)
        return;
    rtm_zserver_destroy(&in->server, 0); /* every route goes with its peer */
    free(in);
    *inp = NULL;
}
