/* rtm_zsession — see rtm_zsession.h.
 *
 * States: GREETING (ours is written at start; theirs is awaited) →
 * HANDSHAKE (command frames only: NULL's READY both ways, or CURVE's HELLO,
 * WELCOME, INITIATE, READY) → READY. With CURVE every frame after the
 * handshake travels inside a MESSAGE, which libzmq 4.3 sends in a data frame
 * (not a command frame, as RFC 26 would have it) and reads in either; we do
 * as libzmq does. A CURVE frame is opened in place and cannot be parsed
 * twice, so the frames of a multipart message are copied into `parts` as
 * they complete; a single-frame message (the common case on the ingress) is
 * reported straight from the input buffer. A peer that greets with the
 * other mechanism is refused: a plain-text peer never reaches a CURVE
 * server's messages, and the reverse. libzmq's CURVE server sends as-server
 * 0 in its greeting, so that flag is not checked. */
#include "rtm_zsession.h"

#include "rtm_error.h"
#include "rtm_zmtp.h"

#include <stdlib.h>
#include <string.h>

enum { S_GREETING, S_HANDSHAKE, S_READY };

#define S_META_MAX 512

void rtm_zbuf_reserve(rtm_zbuf_t *b, size_t more)
{
    if (b->cap - b->len >= more)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more)
        cap *= 2;
    if (!(b->p = realloc(b->p, cap)))
        abort();
    b->cap = cap;
}

void rtm_zbuf_append(rtm_zbuf_t *b, const void *p, size_t len)
{
    rtm_zbuf_reserve(b, len);
    if (len)
        memcpy(b->p + b->len, p, len);
    b->len += len;
}

void rtm_zbuf_consume(rtm_zbuf_t *b, size_t n)
{
    if (n == 0)
        return;
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

void rtm_zbuf_free(rtm_zbuf_t *b)
{
    free(b->p);
    *b = (rtm_zbuf_t){0};
}

/* ---- writing ------------------------------------------------------------------------------ */

/* One frame, inside a MESSAGE once a CURVE handshake is done. */
static void s_frame(rtm_zsession_t *s, const void *data, size_t len, bool more, bool command,
                    rtm_zbuf_t *out)
{
    uint8_t head[RTM_ZMTP_HEADER_MAX];
    if (s->curve && s->state == S_READY) {
        size_t body = len + RTM_ZCURVE_MSG_OVERHEAD;
        rtm_zbuf_append(out, head, rtm_zmtp_frame_header(head, body, false, false));
        rtm_zbuf_reserve(out, body);
        uint8_t flags = (more ? RTM_ZCURVE_MORE : 0) | (command ? RTM_ZCURVE_COMMAND : 0);
        out->len += rtm_zcurve_encode(s->curve, flags, data, len, out->p + out->len);
        return;
    }
    rtm_zbuf_append(out, head, rtm_zmtp_frame_header(head, len, more, command));
    rtm_zbuf_append(out, data, len);
}

static void s_command(rtm_zsession_t *s, const char *name, const void *data, size_t len,
                      rtm_zbuf_t *out)
{
    uint8_t body[S_META_MAX + 16];
    size_t n = rtm_zmtp_command(body, sizeof body, name, data, len);
    if (n)
        s_frame(s, body, n, false, true, out);
}

/* Our property block: Socket-Type, and Identity when we have one. */
static size_t s_meta(const rtm_zsession_t *s, uint8_t *out, size_t cap)
{
    size_t used = 0;
    const char *type = s->cfg.socket_type;
    rtm_zmtp_prop(out, cap, &used, "Socket-Type", type, strlen(type));
    if (s->cfg.identity)
        rtm_zmtp_prop(out, cap, &used, "Identity", s->cfg.identity, strlen(s->cfg.identity));
    return used;
}

void rtm_zsession_start(rtm_zsession_t *s, const rtm_zsession_config_t *cfg,
                        const rtm_zsession_events_t *ev, rtm_zbuf_t *out)
{
    *s = (rtm_zsession_t){.cfg = *cfg, .ev = ev, .state = S_GREETING};
    uint8_t meta[S_META_MAX];
    size_t meta_len = s_meta(s, meta, sizeof meta);
    bool curve = cfg->server ? cfg->public_key != NULL : cfg->server_key != NULL;
    if (curve && cfg->server)
        s->curve = rtm_zcurve_server_new(cfg->public_key, cfg->secret_key, meta, meta_len);
    else if (curve)
        s->curve = rtm_zcurve_client_new(cfg->server_key, cfg->public_key, cfg->secret_key, meta,
                                         meta_len);
    uint8_t greeting[RTM_ZMTP_GREETING_LEN];
    rtm_zmtp_greeting(greeting, curve ? RTM_ZMTP_CURVE : RTM_ZMTP_NULL, curve && cfg->server);
    rtm_zbuf_append(out, greeting, sizeof greeting);
    if (cfg->server)
        return; /* the client speaks first */
    if (!curve) {
        s_command(s, "READY", meta, meta_len, out);
        return;
    }
    uint8_t hello[RTM_ZCURVE_CMD_MAX];
    size_t n = 0;
    rtm_zcurve_step(s->curve, NULL, 0, hello, sizeof hello, &n, NULL);
    s_frame(s, hello, n, false, true, out);
}

bool rtm_zsession_ready(const rtm_zsession_t *s)
{
    return s->state == S_READY;
}

const uint8_t *rtm_zsession_peer_key(const rtm_zsession_t *s)
{
    return s->cfg.server && s->curve && s->state == S_READY ? s->peer_key : NULL;
}

void rtm_zsession_send(rtm_zsession_t *s, const rtm_str_t *frames, size_t n, rtm_zbuf_t *out)
{
    for (size_t i = 0; i < n; i++)
        s_frame(s, frames[i].p, frames[i].len, i + 1 < n, false, out);
}

void rtm_zsession_ping(rtm_zsession_t *s, uint16_t ttl_ds, rtm_zbuf_t *out)
{
    uint8_t ttl[2] = {(uint8_t)(ttl_ds >> 8), (uint8_t)ttl_ds};
    s_command(s, "PING", ttl, sizeof ttl, out);
}

void rtm_zsession_end(rtm_zsession_t *s)
{
    rtm_zcurve_destroy(&s->curve);
    rtm_zbuf_free(&s->parts);
    s->n_parts = 0;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Whether the peer's property block names a Socket-Type we pair with. */
static bool s_pairs(const rtm_zsession_t *s, rtm_str_t meta)
{
    rtm_str_t type;
    if (rtm_zmtp_prop_find(meta, "Socket-Type", &type) < 0)
        return false;
    if (!s->cfg.peer_types)
        return true;
    for (const char *const *t = s->cfg.peer_types; *t; t++)
        if (rtm_str_eq_cstr(type, *t))
            return true;
    return false;
}

/* The handshake is over: READY of our own when we are the NULL server. */
static int s_ready(rtm_zsession_t *s, rtm_str_t peer_meta, rtm_zbuf_t *out)
{
    if (!s_pairs(s, peer_meta))
        return RTM_EPROTO;
    if (s->cfg.server && !s->curve) {
        uint8_t meta[S_META_MAX];
        s_command(s, "READY", meta, s_meta(s, meta, sizeof meta), out);
    }
    s->state = S_READY;
    s->ev->ready(s->ev->arg, peer_meta);
    return 0;
}

/* CURVE's INITIATE checked: the allow-list decides, READY or ERROR follows. */
static int s_authorize(rtm_zsession_t *s, rtm_zbuf_t *out)
{
    memcpy(s->peer_key, rtm_zcurve_peer_key(s->curve), RTM_ZCURVE_KEY_LEN);
    if (s->ev->authorize && !s->ev->authorize(s->ev->arg, s->peer_key)) {
        static const char reason[] = "\x03"
                                     "400"; /* libzmq's ZAP refusal reads the same */
        s_command(s, "ERROR", reason, sizeof reason - 1, out);
        return RTM_EDENIED;
    }
    uint8_t ready[RTM_ZCURVE_CMD_MAX + S_META_MAX];
    size_t n = 0;
    rtm_str_t meta;
    rtm_zcurve_accept(s->curve, ready, sizeof ready, &n, &meta);
    s_frame(s, ready, n, false, true, out);
    return s_ready(s, meta, out);
}

static int s_handshake(rtm_zsession_t *s, const uint8_t *body, size_t len, rtm_zbuf_t *out)
{
    rtm_str_t name, data;
    if (!s->curve) {
        if (rtm_zmtp_command_parse(rtm_str((const char *)body, len), &name, &data) < 0 ||
            !rtm_str_eq_cstr(name, "READY"))
            return RTM_EPROTO; /* an ERROR, or a peer off script */
        return s_ready(s, data, out);
    }
    uint8_t reply[RTM_ZCURVE_CMD_MAX + S_META_MAX];
    size_t n = 0;
    rtm_str_t meta = rtm_str(NULL, 0);
    int rc = rtm_zcurve_step(s->curve, body, len, reply, sizeof reply, &n, &meta);
    if (rc < 0)
        return rc;
    if (n)
        s_frame(s, reply, n, false, true, out);
    if (rc == RTM_ZCURVE_AUTH)
        return s_authorize(s, out);
    return rc == RTM_ZCURVE_READY ? s_ready(s, meta, out) : 0;
}

/* A command once ready: PING is answered; an ERROR ends the connection;
 * the rest (PONG, 3.1's SUBSCRIBE and CANCEL, which we do not ask for) only
 * prove the peer alive. */
static int s_command_in(rtm_zsession_t *s, const uint8_t *body, size_t len, rtm_zbuf_t *out)
{
    rtm_str_t name, data;
    if (rtm_zmtp_command_parse(rtm_str((const char *)body, len), &name, &data) < 0)
        return RTM_EPROTO;
    if (rtm_str_eq_cstr(name, "PING") && data.len >= 2 && data.len <= 2 + 16)
        s_command(s, "PONG", data.p + 2, data.len - 2, out); /* the context comes back */
    else if (rtm_str_eq_cstr(name, "ERROR"))
        return RTM_EPROTO;
    else if (rtm_str_eq_cstr(name, "SUBSCRIBE") || rtm_str_eq_cstr(name, "CANCEL")) {
        /* a 3.1 peer's subscription: reported like a 3.0 one (0x01/0x00 + topic) */
        uint8_t *sub = (uint8_t *)data.p - 1; /* the name's last byte, no longer needed */
        *sub = rtm_str_eq_cstr(name, "SUBSCRIBE") ? 1 : 0;
        rtm_str_t f = rtm_str((const char *)sub, data.len + 1);
        s->ev->message(s->ev->arg, &f, 1);
    }
    return 0;
}

/* A frame of message data: reported whole with its siblings. */
static void s_data(rtm_zsession_t *s, const uint8_t *data, size_t len, bool more)
{
    if (s->n_parts == 0 && !more) { /* a single-frame message: no copy */
        rtm_str_t f = rtm_str((const char *)data, len);
        s->ev->message(s->ev->arg, &f, 1);
        return;
    }
    if (s->n_parts < RTM_ZSESSION_MAX_PARTS) {
        s->part_len[s->n_parts] = len;
        rtm_zbuf_append(&s->parts, data, len);
    }
    if (++s->n_parts, more)
        return;
    if (s->n_parts > RTM_ZSESSION_MAX_PARTS) {
        s->ev->message(s->ev->arg, NULL, 0);
    } else {
        rtm_str_t f[RTM_ZSESSION_MAX_PARTS];
        const char *base = s->parts.p ? (const char *)s->parts.p : ""; /* all frames empty */
        size_t at = 0;
        for (size_t i = 0; i < s->n_parts; at += s->part_len[i++])
            f[i] = rtm_str(base + at, s->part_len[i]);
        s->ev->message(s->ev->arg, f, s->n_parts);
    }
    s->n_parts = 0;
    s->parts.len = 0;
}

static int s_frame_in(rtm_zsession_t *s, rtm_zmtp_frame_t *f, rtm_zbuf_t *out)
{
    if (s->state == S_HANDSHAKE)
        return f->command ? s_handshake(s, f->body, f->len, out) : RTM_EPROTO;
    uint8_t flags = (f->more ? RTM_ZCURVE_MORE : 0) | (f->command ? RTM_ZCURVE_COMMAND : 0);
    uint8_t *data = f->body;
    size_t len = f->len;
    if (s->curve) { /* every frame after the handshake is a MESSAGE */
        int rc = rtm_zcurve_decode(s->curve, f->body, f->len, &flags, &data, &len);
        if (rc < 0)
            return rc;
    }
    if (flags & RTM_ZCURVE_COMMAND)
        return s_command_in(s, data, len, out);
    s_data(s, data, len, flags & RTM_ZCURVE_MORE);
    return 0;
}

static int s_greeting_in(rtm_zsession_t *s, const rtm_zbuf_t *in, size_t *at)
{
    rtm_zmtp_mech_t mech;
    bool as_server;
    int rc = rtm_zmtp_greeting_parse(in->p, in->len, &mech, &as_server);
    if (rc == RTM_EAGAIN)
        return 0;
    if (rc < 0)
        return rc;
    if (mech != (s->curve ? RTM_ZMTP_CURVE : RTM_ZMTP_NULL))
        return RTM_EPROTO; /* one side has keys, the other not */
    *at = RTM_ZMTP_GREETING_LEN;
    s->state = S_HANDSHAKE;
    return 0;
}

int rtm_zsession_feed(rtm_zsession_t *s, rtm_zbuf_t *in, rtm_zbuf_t *out)
{
    size_t at = 0;
    int rc = s->state == S_GREETING ? s_greeting_in(s, in, &at) : 0;
    while (rc == 0 && s->state != S_GREETING) {
        rtm_zmtp_frame_t f;
        long n = rtm_zmtp_frame_parse(in->p + at, in->len - at, s->cfg.max_frame, &f);
        if (n == RTM_EAGAIN)
            break;
        if (n < 0) {
            rc = (int)n;
            break;
        }
        at += (size_t)n;
        rc = s_frame_in(s, &f, out);
    }
    rtm_zbuf_consume(in, at);
    return rc;
}
