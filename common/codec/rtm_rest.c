/* rtm_rest — see rtm_rest.h.
 *
 * Query strings are decoded once into a single owned buffer no longer than
 * the input (decoding only shrinks), so every key and value is a slice of it
 * and rtm_query_free has one thing to free. Lower-casing keys at parse time
 * makes lookups and the signature's sort plain byte compares.
 *
 * Request verification follows the mloughran/signature gem, whose messages
 * are the ones the real API returns, in the check order the gem uses; its
 * string to sign is built with the same rtm_json_out_t writer used for
 * sizing, so the buffer it needs is computed, not guessed. The signature is
 * the last check and is compared in constant time.
 *
 * Trigger bodies are parsed with jansson; every slice in the result borrows
 * from the tree the trigger owns. Type errors (EPROTO) are told apart from
 * invalid values (EINVAL) and the 413-worthy data size (ETOOBIG), each with
 * a message that names the field, because the SDKs show the body verbatim. */
#include "rtm_rest.h"

#include "rtm_apps.h"
#include "rtm_auth.h"
#include "rtm_channel.h"
#include "rtm_error.h"
#include "rtm_json.h"
#include "rtm_pusher.h"
#include "rtm_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A REST trigger becomes wire messages as is: every channel of an event fits
 * one PUBLISH, and every valid channel of every valid app id fits a topic
 * ("<app id>" 0x1F "<channel>" 0x00). */
_Static_assert(RTM_REST_MAX_CHANNELS <= RTM_WIRE_MAX_CHANNELS, "a trigger fits one PUBLISH");
_Static_assert(RTM_APPS_MAX_ID + 1 + RTM_CHANNEL_MAX_LEN + 1 <= RTM_WIRE_MAX_TOPIC,
               "a channel fits a topic");

/* ---- query strings ---- */

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..len) (%XX, '+' as space) to dst; returns the decoded
 * length, or -1 on a bad escape. dst may alias nothing in src. */
static long s_url_decode(const char *src, size_t len, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? s_hexval(src[i + 1]) : -1;
            int lo = hi >= 0 ? s_hexval(src[i + 2]) : -1;
            if (lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        dst[o++] = c;
    }
    return (long)o;
}

/* Decodes one "key[=value]" pair into q->buf at *used as the next param. */
static int s_query_pair(rtm_query_t *q, const char *pair, size_t len, size_t *used)
{
    if (q->n == RTM_QUERY_MAX)
        return RTM_ETOOBIG;
    const char *eq = memchr(pair, '=', len);
    size_t klen = eq ? (size_t)(eq - pair) : len;
    char *key = q->buf + *used;
    long kn = s_url_decode(pair, klen, key);
    if (kn < 0)
        return RTM_EPROTO;
    for (long i = 0; i < kn; i++)
        if (key[i] >= 'A' && key[i] <= 'Z')
            key[i] = (char)(key[i] - 'A' + 'a');
    char *value = key + kn;
    long vn = eq ? s_url_decode(eq + 1, len - klen - 1, value) : 0;
    if (vn < 0)
        return RTM_EPROTO;
    q->params[q->n].key = rtm_str(key, (size_t)kn);
    q->params[q->n].value = rtm_str(value, (size_t)vn);
    q->n++;
    *used += (size_t)(kn + vn);
    return 0;
}

int rtm_query_parse(rtm_str_t qs, rtm_query_t *q)
{
    memset(q, 0, sizeof(*q));
    if (qs.len == 0)
        return 0;
    q->buf = malloc(qs.len + 1); /* +1: an empty trailing value still gets a non-NULL p */
    if (!q->buf)
        abort();
    size_t used = 0;
    const char *p = qs.p, *end = qs.p + qs.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        size_t len = amp ? (size_t)(amp - p) : (size_t)(end - p);
        int rc = len ? s_query_pair(q, p, len, &used) : 0;
        if (rc != 0) {
            rtm_query_free(q);
            return rc;
        }
        p += len + 1;
    }
    return 0;
}

rtm_str_t rtm_query_get(const rtm_query_t *q, const char *key)
{
    rtm_str_t k = rtm_str_cstr(key);
    for (size_t i = 0; i < q->n; i++)
        if (rtm_str_eq(q->params[i].key, k))
            return q->params[i].value;
    return rtm_str(NULL, 0);
}

void rtm_query_free(rtm_query_t *q)
{
    free(q->buf);
    memset(q, 0, sizeof(*q));
}

/* ---- request signing ---- */

static int s_keycmp(rtm_str_t a, rtm_str_t b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

static void s_build_sts(rtm_json_out_t *w, rtm_str_t method, rtm_str_t path, const rtm_query_t *q)
{
    for (size_t i = 0; i < method.len; i++) {
        char c = method.p[i];
        c = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
        rtm_json_put(w, &c, 1);
    }
    rtm_json_put_lit(w, "\n");
    rtm_json_put(w, path.p, path.len);
    rtm_json_put_lit(w, "\n");

    size_t order[RTM_QUERY_MAX], n = 0; /* stable insertion sort by key */
    for (size_t i = 0; i < q->n; i++) {
        if (rtm_str_eq_cstr(q->params[i].key, "auth_signature"))
            continue;
        size_t j = n++;
        while (j > 0 && s_keycmp(q->params[order[j - 1]].key, q->params[i].key) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            rtm_json_put_lit(w, "&");
        rtm_json_put(w, q->params[order[i]].key.p, q->params[order[i]].key.len);
        rtm_json_put_lit(w, "=");
        rtm_json_put(w, q->params[order[i]].value.p, q->params[order[i]].value.len);
    }
}

int rtm_rest_string_to_sign(char *out, size_t cap, rtm_str_t method, rtm_str_t path,
                            const rtm_query_t *q)
{
    rtm_json_out_t w = rtm_json_out(out, cap);
    s_build_sts(&w, method, path, q);
    return rtm_json_out_result(&w);
}

size_t rtm_rest_string_to_sign_len(rtm_str_t method, rtm_str_t path, const rtm_query_t *q)
{
    rtm_json_out_t w = rtm_json_out(NULL, 0);
    s_build_sts(&w, method, path, q);
    return w.n;
}

/* Strict decimal integer with optional '-', at most 18 digits. */
static bool s_parse_i64(rtm_str_t s, int64_t *v)
{
    size_t i = s.len && s.p[0] == '-';
    if (s.len == i || s.len - i > 18)
        return false;
    int64_t x = 0;
    for (; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        x = x * 10 + (s.p[i] - '0');
    }
    *v = s.p[0] == '-' ? -x : x;
    return true;
}

/* ISO 8601 UTC ("%Y-%m-%dT%H:%M:%SZ"), or the number when out of range. */
static void s_iso8601(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "%lld", (long long)t);
}

static int s_check_timestamp(rtm_str_t ts, int64_t now, char *err, size_t err_len)
{
    int64_t t;
    if (!ts.p)
        return rtm_error_fmt(err, err_len, RTM_EAUTH, "Timestamp required");
    if (!s_parse_i64(ts, &t))
        return rtm_error_fmt(err, err_len, RTM_EAUTH,
                             "Invalid timestamp: auth_timestamp must be an integer");
    int64_t d = t > now ? t - now : now - t;
    if (d >= RTM_REST_TIMESTAMP_WINDOW) {
        char given[32], server[32];
        s_iso8601(t, given);
        s_iso8601(now, server);
        return rtm_error_fmt(
            err, err_len, RTM_EAUTH,
            "Timestamp expired: Given timestamp (%s) not within %ds of server time (%s)", given,
            RTM_REST_TIMESTAMP_WINDOW, server);
    }
    return 0;
}

static int s_check_body_md5(rtm_str_t sent, rtm_str_t body, char *err, size_t err_len)
{
    if (!sent.p && body.len == 0)
        return 0;
    if (!sent.p)
        return rtm_error_fmt(err, err_len, RTM_EAUTH, "body_md5 required: the request has a body");
    char md5[33];
    rtm_md5_hex(body, md5);
    if (!rtm_str_eq(sent, rtm_str(md5, 32)))
        return rtm_error_fmt(err, err_len, RTM_EAUTH,
                             "Invalid body_md5: it is not the MD5 of the request body (%s)", md5);
    return 0;
}

/* "Invalid signature: ..." with the string to sign and the sent signature
 * escaped (as Ruby's inspect shows them), truncated to err_len. */
static int s_fail_signature(char *err, size_t err_len, rtm_str_t sts, rtm_str_t sig)
{
    if (err_len == 0)
        return RTM_EAUTH;
    rtm_json_out_t w = rtm_json_out(err, err_len - 1);
    rtm_json_put_lit(&w, "Invalid signature: you should have sent HmacSHA256Hex(\"");
    rtm_json_put_esc(&w, sts.p, sts.len);
    rtm_json_put_lit(&w, "\", your_secret_key), but you sent \"");
    rtm_json_put_esc(&w, sig.p, sig.len);
    rtm_json_put_lit(&w, "\"");
    err[w.n < w.cap ? w.n : w.cap] = '\0';
    return RTM_EAUTH;
}

int rtm_rest_verify(rtm_str_t method, rtm_str_t path, const rtm_query_t *q, rtm_str_t body,
                    rtm_str_t secret, int64_t now, char *err, size_t err_len)
{
    rtm_str_t sig = rtm_query_get(q, "auth_signature");
    if (!sig.p)
        return rtm_error_fmt(err, err_len, RTM_EAUTH, "Signature required");
    rtm_str_t version = rtm_query_get(q, "auth_version");
    if (!version.p)
        return rtm_error_fmt(err, err_len, RTM_EAUTH, "Version required");
    if (!rtm_str_eq_cstr(version, "1.0"))
        return rtm_error_fmt(err, err_len, RTM_EAUTH, "Version not supported");
    int rc = s_check_timestamp(rtm_query_get(q, "auth_timestamp"), now, err, err_len);
    if (rc == 0)
        rc = s_check_body_md5(rtm_query_get(q, "body_md5"), body, err, err_len);
    if (rc != 0)
        return rc;

    size_t len = rtm_rest_string_to_sign_len(method, path, q);
    char *sts = malloc(len + 1);
    if (!sts)
        abort();
    rtm_json_out_t w = rtm_json_out(sts, len);
    s_build_sts(&w, method, path, q);
    char expect[65];
    rtm_hmac_sha256_hex(secret, rtm_str(sts, len), expect);
    rc = rtm_consttime_eq(sig, rtm_str(expect, 64))
             ? 0
             : s_fail_signature(err, err_len, rtm_str(sts, len), sig);
    free(sts);
    return rc;
}

/* ---- trigger bodies ---- */

/* Context for one event's errors: the field prefix ("" or "batch[i].") */
typedef struct {
    char *err;
    size_t err_len;
    char at[32];
} s_ctx_t;

static rtm_str_t s_jstr(const json_t *v)
{
    return rtm_str(json_string_value(v), json_string_length(v));
}

/* The channels member (a list, or one "channel") into ev, duplicates removed;
 * their names are checked with the rest of the event (rtm_publish_check). */
static int s_parse_channels(json_t *obj, const rtm_rest_limits_t *lim, rtm_rest_event_t *ev,
                            s_ctx_t *c)
{
    json_t *list = json_object_get(obj, "channels");
    json_t *one = json_object_get(obj, "channel");
    if (json_is_null(list)) /* null counts as absent, as for every optional member */
        list = NULL;
    if (json_is_null(one))
        one = NULL;
    if (!list && !one)
        return rtm_error_fmt(c->err, c->err_len, RTM_EPROTO, "%schannels: required (or channel)",
                             c->at);
    if (!list) {
        if (!json_is_string(one))
            return rtm_error_fmt(c->err, c->err_len, RTM_EPROTO, "%schannel: must be a string",
                                 c->at);
        list = one; /* handled below as a list of one */
    } else if (!json_is_array(list)) {
        return rtm_error_fmt(c->err, c->err_len, RTM_EPROTO,
                             "%schannels: must be an array of strings", c->at);
    }
    size_t n = json_is_array(list) ? json_array_size(list) : 1;
    if (n > lim->max_channels) /* before storing: channels[] holds at most that many */
        return rtm_error_fmt(c->err, c->err_len, RTM_EINVAL,
                             "%schannels: %zu channels is over the limit of %zu", c->at, n,
                             lim->max_channels);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_is_array(list) ? json_array_get(list, i) : list;
        if (!json_is_string(v))
            return rtm_error_fmt(c->err, c->err_len, RTM_EPROTO,
                                 "%schannels[%zu]: must be a string", c->at, i);
        rtm_str_t name = s_jstr(v);
        bool dup = false;
        for (size_t j = 0; j < ev->n_channels && !dup; j++)
            dup = rtm_str_eq(ev->channels[j], name);
        if (!dup)
            ev->channels[ev->n_channels++] = name;
    }
    return 0;
}

/* Optional string member: absent or null leaves *dst empty. */
static int s_opt_string(json_t *obj, const char *key, rtm_str_t *dst, s_ctx_t *c)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return rtm_error_fmt(c->err, c->err_len, RTM_EPROTO, "%s%s: must be a string", c->at, key);
    *dst = s_jstr(v);
    return 0;
}

/* One event object (the /events body or a batch item) into ev: the members'
 * types here, their values by the rules every publisher obeys. */
static int s_parse_event(json_t *obj, const rtm_rest_limits_t *lim, rtm_rest_event_t *ev,
                         s_ctx_t *c)
{
    memset(ev, 0, sizeof(*ev));
    json_t *name = json_object_get(obj, "name");
    if (!json_is_string(name))
        return rtm_error_fmt(c->err, c->err_len, RTM_EPROTO, "%sname: required, must be a string",
                             c->at);
    ev->name = s_jstr(name);
    json_t *data = json_object_get(obj, "data");
    if (!json_is_string(data))
        return rtm_error_fmt(c->err, c->err_len, RTM_EPROTO, "%sdata: required, must be a string",
                             c->at);
    ev->data = s_jstr(data);
    int rc = s_parse_channels(obj, lim, ev, c);
    if (rc == 0)
        rc = s_opt_string(obj, "socket_id", &ev->socket_id, c);
    if (rc == 0)
        rc = s_opt_string(obj, "info", &ev->info, c);
    if (rc == 0) {
        rtm_publish_event_t pe = {ev->name, ev->data, ev->socket_id, ev->channels, ev->n_channels};
        rc = rtm_publish_check(&pe, lim, c->at, c->err, c->err_len);
    }
    return rc;
}

static int s_parse_batch(json_t *root, const rtm_rest_limits_t *lim, rtm_rest_trigger_t *out,
                         s_ctx_t *c)
{
    json_t *batch = json_object_get(root, "batch");
    if (!json_is_array(batch))
        return rtm_error_fmt(c->err, c->err_len, RTM_EPROTO, "batch: required, must be an array");
    size_t n = json_array_size(batch);
    if (n > lim->max_batch)
        return rtm_error_fmt(c->err, c->err_len, RTM_EINVAL,
                             "batch: %zu events is over the limit of %zu", n, lim->max_batch);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(batch, i);
        if (!json_is_object(item))
            return rtm_error_fmt(c->err, c->err_len, RTM_EPROTO, "batch[%zu]: must be an object",
                                 i);
        snprintf(c->at, sizeof(c->at), "batch[%zu].", i);
        int rc = s_parse_event(item, lim, &out->events[i], c);
        if (rc != 0)
            return rc;
        out->n = i + 1;
    }
    return 0;
}

static rtm_rest_limits_t s_clamp(const rtm_rest_limits_t *lim)
{
    rtm_rest_limits_t l = lim ? *lim : RTM_REST_LIMITS_DEFAULT;
    if (l.max_channels > RTM_REST_MAX_CHANNELS)
        l.max_channels = RTM_REST_MAX_CHANNELS;
    if (l.max_batch > RTM_REST_MAX_BATCH)
        l.max_batch = RTM_REST_MAX_BATCH;
    return l;
}

int rtm_rest_parse_trigger(rtm_str_t body, const rtm_rest_limits_t *lim, bool batch,
                           rtm_rest_trigger_t *out, char *err, size_t err_len)
{
    s_ctx_t c = {err, err_len, ""};
    rtm_rest_limits_t l = s_clamp(lim);
    out->root = NULL;
    out->n = 0;
    json_t *root = body.len ? json_loadb(body.p, body.len, JSON_ALLOW_NUL, NULL) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        return rtm_error_fmt(err, err_len, RTM_EPROTO, "Request body must be a JSON object");
    }
    out->root = root;
    int rc;
    if (batch) {
        rc = s_parse_batch(root, &l, out, &c);
    } else {
        rc = s_parse_event(root, &l, &out->events[0], &c);
        out->n = rc == 0;
    }
    if (rc != 0)
        rtm_rest_trigger_clear(out);
    return rc;
}

void rtm_rest_trigger_clear(rtm_rest_trigger_t *t)
{
    json_decref(t->root);
    t->root = NULL;
    t->n = 0;
}

unsigned rtm_rest_info(rtm_str_t info)
{
    unsigned want = 0;
    size_t i = 0;
    while (i < info.len) {
        size_t end = i;
        while (end < info.len && info.p[end] != ',')
            end++;
        size_t a = i, b = end;
        while (a < b && info.p[a] == ' ')
            a++;
        while (b > a && info.p[b - 1] == ' ')
            b--;
        rtm_str_t tok = rtm_str(info.p + a, b - a);
        want |= rtm_str_eq_cstr(tok, "user_count")           ? RTM_REST_INFO_USER_COUNT
                : rtm_str_eq_cstr(tok, "subscription_count") ? RTM_REST_INFO_SUBSCRIPTION_COUNT
                : rtm_str_eq_cstr(tok, "cache")              ? RTM_REST_INFO_CACHE
                                                             : 0;
        i = end + 1;
    }
    return want;
}

typedef struct {
    const rtm_rest_trigger_t *t;
    bool batch;
    char *(*attrs)[RTM_REST_MAX_CHANNELS];
} s_trigger_info_t;

static void s_put_attrs(rtm_json_out_t *w, const char *attrs)
{
    if (attrs)
        rtm_json_put(w, attrs, strlen(attrs));
    else
        rtm_json_put_lit(w, "{}");
}

static void s_build_trigger_info(rtm_json_out_t *w, const void *ctx)
{
    const s_trigger_info_t *ti = ctx;
    if (ti->batch) {
        rtm_json_put_lit(w, "{\"batch\":[");
        for (size_t e = 0; e < ti->t->n; e++) {
            if (e)
                rtm_json_put_lit(w, ",");
            s_put_attrs(w, ti->attrs[e][0]);
        }
        rtm_json_put_lit(w, "]}");
        return;
    }
    const rtm_rest_event_t *ev = &ti->t->events[0];
    rtm_json_put_lit(w, "{\"channels\":{");
    for (size_t i = 0; ti->t->n && i < ev->n_channels; i++) {
        if (i)
            rtm_json_put_lit(w, ",");
        rtm_json_put_lit(w, "\"");
        rtm_json_put_esc(w, ev->channels[i].p, ev->channels[i].len);
        rtm_json_put_lit(w, "\":");
        s_put_attrs(w, ti->attrs[0][i]);
    }
    rtm_json_put_lit(w, "}}");
}

char *rtm_rest_render_trigger_info(const rtm_rest_trigger_t *t, bool batch,
                                   char *(*attrs)[RTM_REST_MAX_CHANNELS], size_t *len)
{
    s_trigger_info_t ti = {t, batch, attrs};
    return rtm_json_build(s_build_trigger_info, &ti, len);
}

static void s_build_error(rtm_json_out_t *w, const char *message)
{
    rtm_json_put_lit(w, "{\"error\":\"");
    rtm_json_put_esc(w, message, strlen(message));
    rtm_json_put_lit(w, "\"}");
}

int rtm_rest_render_error(char *out, size_t cap, const char *message)
{
    rtm_json_out_t w = rtm_json_out(out, cap);
    s_build_error(&w, message);
    return rtm_json_out_result(&w);
}

size_t rtm_rest_error_len(const char *message)
{
    rtm_json_out_t w = rtm_json_out(NULL, 0);
    s_build_error(&w, message);
    return w.n;
}

static void s_build_channels(rtm_json_out_t *w, const rtm_str_t *fragments, size_t n)
{
    rtm_json_put_lit(w, "{\"channels\":{");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (!fragments[i].len)
            continue;
        if (!first)
            rtm_json_put_lit(w, ",");
        first = false;
        rtm_json_put(w, fragments[i].p, fragments[i].len);
    }
    rtm_json_put_lit(w, "}}");
}

int rtm_rest_render_channels(char *out, size_t cap, const rtm_str_t *fragments, size_t n)
{
    rtm_json_out_t w = rtm_json_out(out, cap);
    s_build_channels(&w, fragments, n);
    return rtm_json_out_result(&w);
}

size_t rtm_rest_channels_len(const rtm_str_t *fragments, size_t n)
{
    rtm_json_out_t w = rtm_json_out(NULL, 0);
    s_build_channels(&w, fragments, n);
    return w.n;
}
