/* rtm_ws_ext — see rtm_ws_ext.h.
 *
 * The grammar (RFC 6455 9.1, with RFC 7230's OWS around separators):
 *   extension-list = extension *( OWS "," OWS extension )
 *   extension      = token *( OWS ";" OWS param )
 *   param          = token [ OWS "=" OWS ( token / quoted-string ) ]
 * A quoted value must be a token once unescaped (RFC 6455 9.1). The whole
 * value is checked even after an acceptable offer, so a malformed header is
 * declined as a whole rather than accepted from its valid start. */
#include "rtm_ws_ext.h"

#include <string.h>

#define S_MAX_VALUE 16 /* longest parameter value we keep (ours are "8".."15") */

typedef struct {
    const char *p, *end;
} s_cursor_t;

/* What one permessage-deflate offer asked for. */
typedef struct {
    bool server_no_context, client_no_context, server_bits, client_bits;
    bool acceptable; /* nothing in it makes us decline it */
} s_offer_t;

static bool s_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void s_ows(s_cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static bool s_at(s_cursor_t *c, char ch)
{
    s_ows(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        s_ows(c);
        return true;
    }
    return false;
}

static rtm_str_t s_token(s_cursor_t *c)
{
    const char *start = c->p;
    while (c->p < c->end && s_tchar(*c->p))
        c->p++;
    return rtm_str(start, (size_t)(c->p - start));
}

/* A token or quoted-string value, unescaped into out (S_MAX_VALUE + 1 bytes,
 * NUL-terminated; a longer value is cut, which no value we accept is).
 * False on bad syntax or a quoted value that is not a token. */
static bool s_value(s_cursor_t *c, char *out)
{
    size_t n = 0;
    if (c->p < c->end && *c->p == '"') {
        c->p++;
        while (c->p < c->end && *c->p != '"') {
            if (*c->p == '\\' && ++c->p == c->end)
                return false;
            if (!s_tchar(*c->p))
                return false;
            if (n < S_MAX_VALUE)
                out[n++] = *c->p;
            c->p++;
        }
        if (c->p == c->end || n == 0)
            return false;
        c->p++;
    } else {
        rtm_str_t t = s_token(c);
        if (t.len == 0)
            return false;
        n = t.len < S_MAX_VALUE ? t.len : S_MAX_VALUE;
        memcpy(out, t.p, n);
    }
    out[n] = '\0';
    return true;
}

/* A window size: "8" to "15", no leading zero. */
static int s_window_bits(const char *v)
{
    if (strcmp(v, "8") == 0 || strcmp(v, "9") == 0)
        return v[0] - '0';
    if (v[0] == '1' && v[1] >= '0' && v[1] <= '5' && v[2] == '\0')
        return 10 + (v[1] - '0');
    return 0;
}

/* Applies one parameter of a permessage-deflate offer (value NULL: none). */
static void s_param(s_offer_t *o, rtm_str_t name, const char *value)
{
    bool *seen = rtm_str_eq_cstr(name, "server_no_context_takeover")   ? &o->server_no_context
                 : rtm_str_eq_cstr(name, "client_no_context_takeover") ? &o->client_no_context
                 : rtm_str_eq_cstr(name, "server_max_window_bits")     ? &o->server_bits
                 : rtm_str_eq_cstr(name, "client_max_window_bits")     ? &o->client_bits
                                                                       : NULL;
    if (!seen || *seen) { /* unknown or repeated */
        o->acceptable = false;
        return;
    }
    *seen = true;
    if (seen == &o->server_bits) /* needs a value, and we compress with 15 */
        o->acceptable &= value && s_window_bits(value) == 15;
    else if (seen == &o->client_bits) /* a value is optional; we inflate with 15 */
        o->acceptable &= !value || s_window_bits(value) != 0;
    else
        o->acceptable &= !value;
}

/* Parses one extension; false on bad syntax. *accept is set when it is a
 * permessage-deflate offer we accept. */
static bool s_extension(s_cursor_t *c, bool *accept)
{
    rtm_str_t name = s_token(c);
    if (name.len == 0)
        return false;
    bool deflate = rtm_str_eq_cstr(name, "permessage-deflate");
    s_offer_t offer = {.acceptable = true};
    while (s_at(c, ';')) {
        rtm_str_t param = s_token(c);
        if (param.len == 0)
            return false;
        char value[S_MAX_VALUE + 1];
        bool has_value = s_at(c, '=');
        if (has_value && !s_value(c, value))
            return false;
        if (deflate)
            s_param(&offer, param, has_value ? value : NULL);
    }
    *accept = deflate && offer.acceptable;
    return true;
}

bool rtm_ws_ext_accept_deflate(rtm_str_t offers)
{
    s_cursor_t c = {offers.p, offers.p + offers.len};
    s_ows(&c);
    if (c.p == c.end)
        return false;
    bool accepted = false;
    do {
        bool accept = false;
        if (!s_extension(&c, &accept))
            return false;
        accepted |= accept;
    } while (s_at(&c, ','));
    return c.p == c.end && accepted;
}
