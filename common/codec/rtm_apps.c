/* rtm_apps — see apps.h. Lookups are linear: a mesh serves a handful of apps
 * and each lookup happens once per connection or REST request, never per
 * message. Validation is strict because app ids end up in ZeroMQ topics. */
#include "rtm_apps.h"

#include "rtm_error.h"

#include <strings.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RTM_APPS_MAX_ID)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static char *s_dup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

/* Defaults of every per-app option (Pusher's limits). */
static rtm_app_t s_defaults(void)
{
    return (rtm_app_t){.max_event_payload = 10 * 1024,
                       .max_presence_member_size = 1024,
                       .max_presence_members = 100,
                       .compression = true};
}

static int s_add(rtm_apps_t *apps, rtm_app_t app, const char *where, char *err, size_t err_len)
{
    if (!app.id || !s_valid_id(app.id)) {
        snprintf(err, err_len, "%s: id must be 1-%d characters of A-Z a-z 0-9 _ -", where,
                 RTM_APPS_MAX_ID);
        return RTM_EINVAL;
    }
    if (!app.key || !*app.key || strlen(app.key) > 128) {
        snprintf(err, err_len, "%s: key must be a non-empty string of at most 128 bytes", where);
        return RTM_EINVAL;
    }
    if (!app.secret || !*app.secret) {
        snprintf(err, err_len, "%s: secret must be a non-empty string", where);
        return RTM_EINVAL;
    }
    for (size_t i = 0; i < apps->n; i++) {
        if (!strcmp(apps->apps[i].id, app.id) || !strcmp(apps->apps[i].key, app.key)) {
            snprintf(err, err_len, "%s: id or key already used by another app", where);
            return RTM_EINVAL;
        }
    }
    rtm_app_t *grown = realloc(apps->apps, (apps->n + 1) * sizeof *grown);
    if (!grown)
        abort();
    apps->apps = grown;
    app.id = s_dup(app.id);
    app.key = s_dup(app.key);
    app.secret = s_dup(app.secret);
    app.index = apps->n;
    apps->apps[apps->n++] = app;
    return 0;
}

int rtm_apps_load_single(rtm_apps_t *apps, const char *id, const char *key, const char *secret,
                         char *err, size_t err_len)
{
    *apps = (rtm_apps_t){0};
    rtm_app_t app = s_defaults();
    app.id = (char *)id;
    app.key = (char *)key;
    app.secret = (char *)secret;
    return s_add(apps, app, "RTMESH_APP_ID/KEY/SECRET", err, err_len);
}

/* ---- publishers --------------------------------------------------------- */

/* A CURVE public key as CZMQ writes it: 40 characters of the Z85 alphabet. */
static bool s_z85_key(const char *k)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    return strlen(k) == 40 && strspn(k, z85) == 40;
}

/* Parses "publishers" into app (which then owns them). */
static int s_load_publishers(rtm_app_t *app, json_t *v, const char *where, char *err,
                             size_t err_len)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (!json_is_array(v)) {
        snprintf(err, err_len, "%s: publishers must be an array of CURVE public keys", where);
        return RTM_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *k = json_string_value(json_array_get(v, i));
        if (!k || !s_z85_key(k)) {
            snprintf(err, err_len,
                     "%s: publishers[%zu] must be a CURVE public key: the 40-character "
                     "public-key of a certificate from rtmesh keygen",
                     where, i);
            return RTM_EINVAL;
        }
    }
    app->publishers = calloc(n ? n : 1, sizeof *app->publishers);
    if (!app->publishers)
        abort();
    for (size_t i = 0; i < n; i++)
        memcpy(app->publishers[i], json_string_value(json_array_get(v, i)), 41);
    app->n_publishers = n;
    return 0;
}

static bool s_names(const rtm_app_t *app, const char *key)
{
    for (size_t i = 0; i < app->n_publishers; i++)
        if (!strcmp(app->publishers[i], key))
            return true;
    return false;
}

bool rtm_apps_key_allowed(const rtm_apps_t *apps, const rtm_app_t *app, const char *key)
{
    if (!key || !*key || s_names(app, key))
        return true;
    for (size_t i = 0; i < apps->n; i++)
        if (s_names(&apps->apps[i], key))
            return false; /* a service key, not for this app */
    return true;
}

/* ---- webhooks ---------------------------------------------------------- */

static const char *const s_kind_names[RTM_WEBHOOK_KINDS] = {
    "channel_occupied", "channel_vacated", "member_added",      "member_removed",
    "client_event",     "cache_miss",      "subscription_count"};

const char *rtm_webhook_kind_name(rtm_webhook_kind_t kind)
{
    return (unsigned)kind < RTM_WEBHOOK_KINDS ? s_kind_names[kind] : NULL;
}

bool rtm_webhook_wants(const rtm_webhook_t *hook, rtm_webhook_kind_t kind, rtm_str_t channel)
{
    if ((unsigned)kind >= RTM_WEBHOOK_KINDS || !(hook->kinds & (1u << kind)))
        return false;
    if (hook->starts_with && !rtm_str_has_prefix(channel, hook->starts_with))
        return false;
    size_t n = hook->ends_with ? strlen(hook->ends_with) : 0;
    return !hook->ends_with ||
           (channel.len >= n && memcmp(channel.p + channel.len - n, hook->ends_with, n) == 0);
}

static void s_free_webhooks(rtm_webhook_t *hooks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(hooks[i].url);
        for (size_t h = 0; h < hooks[i].n_headers; h++)
            free(hooks[i].headers[h]);
        free(hooks[i].headers);
        free(hooks[i].starts_with);
        free(hooks[i].ends_with);
    }
    free(hooks);
}

/* http:// or https://, a host of URL characters, an optional port, then a
 * path without spaces or control bytes. libcurl parses it for real; this
 * refuses at start what could only fail at the first event. */
static bool s_valid_url(const char *url)
{
    size_t skip = !strncmp(url, "http://", 7) ? 7 : !strncmp(url, "https://", 8) ? 8 : 0;
    if (!skip || strlen(url) > 2048)
        return false;
    const char *host = url + skip;
    size_t host_len = strcspn(host, ":/?#");
    if (host_len == 0 || strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789.-_[]") < host_len)
        return false;
    const char *p = host + host_len;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/' && *end != '?'))
            return false;
        p = end;
    }
    for (; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* Headers rtmesh sets itself (or HTTP framing needs): never configurable. */
static const char *const s_reserved_headers[] = {
    "X-Pusher-Key", "X-Pusher-Signature", "Content-Type", "Content-Length",
    "Host",         "Transfer-Encoding",  "Expect"};

static int s_load_headers(rtm_webhook_t *hook, json_t *v, const char *where, char *err,
                          size_t err_len)
{
    if (!json_is_object(v)) {
        snprintf(err, err_len, "%s.headers must be an object of strings", where);
        return RTM_EINVAL;
    }
    hook->headers = calloc(json_object_size(v) + 1, sizeof *hook->headers);
    if (!hook->headers)
        abort();
    const char *name;
    json_t *value;
    json_object_foreach(v, name, value)
    {
        size_t n = strlen(name);
        if (n == 0 || n > 128 ||
            strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789!#$%&'*+-.^_`|~") != n) {
            snprintf(err, err_len, "%s.headers: '%.128s' is not a valid header name", where, name);
            return RTM_EINVAL;
        }
        for (size_t i = 0; i < sizeof s_reserved_headers / sizeof s_reserved_headers[0]; i++) {
            if (!strcasecmp(name, s_reserved_headers[i])) {
                snprintf(err, err_len, "%s.headers: '%s' is set by rtmesh and cannot be overridden",
                         where, name);
                return RTM_EINVAL;
            }
        }
        const char *text = json_string_value(value);
        if (!text || strlen(text) > 4096 || strpbrk(text, "\r\n")) {
            snprintf(err, err_len, "%s.headers.%s must be a string without line breaks", where,
                     name);
            return RTM_EINVAL;
        }
        char *line = malloc(n + 2 + strlen(text) + 1);
        if (!line)
            abort();
        sprintf(line, "%s: %s", name, text);
        hook->headers[hook->n_headers++] = line;
    }
    return 0;
}

static int s_load_kinds(rtm_webhook_t *hook, json_t *v, const char *where, char *err,
                        size_t err_len)
{
    if (!json_is_array(v) || json_array_size(v) == 0) {
        snprintf(err, err_len, "%s.event_types must be a non-empty array of event names", where);
        return RTM_EINVAL;
    }
    size_t i;
    json_t *name;
    json_array_foreach(v, i, name)
    {
        int k = 0;
        while (k < RTM_WEBHOOK_KINDS &&
               !(json_is_string(name) && !strcmp(json_string_value(name), s_kind_names[k])))
            k++;
        if (k == RTM_WEBHOOK_KINDS) {
            char *text = json_dumps(name, JSON_ENCODE_ANY);
            snprintf(err, err_len,
                     "%s.event_types[%zu]: unknown event type %.64s (channel_occupied, "
                     "channel_vacated, member_added, member_removed, client_event, cache_miss, "
                     "subscription_count)",
                     where, i, text ? text : "?");
            free(text);
            return RTM_EINVAL;
        }
        hook->kinds |= 1u << k;
    }
    return 0;
}

static int s_load_filter(rtm_webhook_t *hook, json_t *v, const char *where, char *err,
                         size_t err_len)
{
    if (!json_is_object(v)) {
        snprintf(err, err_len, "%s.filter must be an object", where);
        return RTM_EINVAL;
    }
    const char *k;
    json_t *text;
    json_object_foreach(v, k, text)
    {
        char **field = !strcmp(k, "channel_name_starts_with") ? &hook->starts_with
                       : !strcmp(k, "channel_name_ends_with") ? &hook->ends_with
                                                              : NULL;
        if (!field) {
            snprintf(err, err_len, "%s.filter: unknown key '%s'", where, k);
            return RTM_EINVAL;
        }
        if (!json_is_string(text)) {
            snprintf(err, err_len, "%s.filter.%s must be a string", where, k);
            return RTM_EINVAL;
        }
        *field = s_dup(json_string_value(text));
    }
    return 0;
}

static int s_load_webhook(rtm_webhook_t *hook, json_t *v, const char *where, char *err,
                          size_t err_len)
{
    if (!json_is_object(v)) {
        snprintf(err, err_len, "%s must be an object", where);
        return RTM_EINVAL;
    }
    const char *k;
    json_t *field;
    json_object_foreach(v, k, field)
    {
        int rc = 0;
        if (!strcmp(k, "url")) {
            if (!json_is_string(field) || !s_valid_url(json_string_value(field))) {
                snprintf(err, err_len, "%s.url must be an http:// or https:// URL", where);
                return RTM_EINVAL;
            }
            hook->url = s_dup(json_string_value(field));
        } else if (!strcmp(k, "event_types")) {
            rc = s_load_kinds(hook, field, where, err, err_len);
        } else if (!strcmp(k, "headers")) {
            rc = s_load_headers(hook, field, where, err, err_len);
        } else if (!strcmp(k, "filter")) {
            rc = s_load_filter(hook, field, where, err, err_len);
        } else {
            snprintf(err, err_len, "%s: unknown key '%s'", where, k);
            rc = RTM_EINVAL;
        }
        if (rc < 0)
            return rc;
    }
    if (!hook->url || !hook->kinds) {
        snprintf(err, err_len, "%s: url and event_types are required", where);
        return RTM_EINVAL;
    }
    return 0;
}

/* Parses "webhooks" into app (which then owns them, also on failure). */
static int s_load_webhooks(rtm_app_t *app, json_t *v, const char *where, char *err, size_t err_len)
{
    if (!json_is_array(v)) {
        snprintf(err, err_len, "%s: webhooks must be an array", where);
        return RTM_EINVAL;
    }
    size_t n = json_array_size(v);
    app->webhooks = calloc(n ? n : 1, sizeof *app->webhooks);
    if (!app->webhooks)
        abort();
    for (size_t i = 0; i < n; i++) {
        char at[600];
        snprintf(at, sizeof at, "%s: webhooks[%zu]", where, i);
        app->n_webhooks = i + 1;
        if (s_load_webhook(&app->webhooks[i], json_array_get(v, i), at, err, err_len) < 0)
            return RTM_EINVAL;
    }
    return 0;
}

/* The options an apps-file entry may carry besides id, key and secret. */
typedef struct {
    const char *name;
    bool is_bool;
    long min, max, scale; /* integers: accepted range, multiplier into the field */
    size_t offset;
    size_t size; /* of the field: bool, uint32_t or size_t */
} s_option_t;

#define S_INT(name, min, max, scale, field)                                                        \
    {                                                                                              \
        name, false, min, max, scale, offsetof(rtm_app_t, field), sizeof(((rtm_app_t *)0)->field)  \
    }
#define S_BOOL(name, field)                                                                        \
    {                                                                                              \
        name, true, 0, 1, 1, offsetof(rtm_app_t, field), sizeof(bool)                              \
    }
static const s_option_t s_options[] = {
    S_INT("max_event_payload_kb", 1, 1024, 1024, max_event_payload),
    S_INT("max_presence_member_kb", 1, 64, 1024, max_presence_member_size),
    S_INT("max_presence_members", 1, 100000, 1, max_presence_members),
    S_INT("max_connections", 0, 10000000, 1, max_connections),
    S_BOOL("enable_client_messages", enable_client_messages),
    S_BOOL("enable_user_authentication", enable_user_authentication),
    S_BOOL("subscription_count", subscription_count),
    S_BOOL("compression", compression),
};
#define S_N_OPTIONS (sizeof s_options / sizeof s_options[0])

static int s_set_option(rtm_app_t *app, const s_option_t *o, json_t *v, const char *where,
                        char *err, size_t err_len)
{
    char *field = (char *)app + o->offset;
    if (o->is_bool) {
        if (!json_is_boolean(v)) {
            snprintf(err, err_len, "%s: %s must be true or false", where, o->name);
            return RTM_EINVAL;
        }
        *(bool *)field = json_is_true(v);
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < o->min || json_integer_value(v) > o->max) {
        snprintf(err, err_len, "%s: %s must be an integer %ld-%ld", where, o->name, o->min, o->max);
        return RTM_EINVAL;
    }
    uint64_t value = (uint64_t)json_integer_value(v) * (uint64_t)o->scale;
    if (o->size == sizeof(uint32_t))
        *(uint32_t *)field = (uint32_t)value;
    else
        *(size_t *)field = (size_t)value;
    return 0;
}

static int s_load_entry(rtm_apps_t *apps, json_t *entry, size_t index, const char *path, char *err,
                        size_t err_len)
{
    char where[512];
    const char *id = json_string_value(json_object_get(entry, "id"));
    snprintf(where, sizeof where, "%s: app #%zu%s%.64s%s", path, index, id ? " '" : "",
             id ? id : "", id ? "'" : "");
    if (!json_is_object(entry)) {
        snprintf(err, err_len, "%s: must be an object", where);
        return RTM_EINVAL;
    }
    rtm_app_t app = s_defaults();
    const char *k;
    json_t *v;
    json_object_foreach(entry, k, v)
    {
        if (!strcmp(k, "id") || !strcmp(k, "key") || !strcmp(k, "secret")) {
            if (!json_is_string(v)) {
                snprintf(err, err_len, "%s: %s must be a string", where, k);
                return RTM_EINVAL;
            }
            continue;
        }
        if (!strcmp(k, "webhooks") || !strcmp(k, "publishers"))
            continue; /* below, once the rest is known good: they allocate */
        if (!strcmp(k, "enabled")) {
            if (!json_is_boolean(v)) {
                snprintf(err, err_len, "%s: enabled must be true or false", where);
                return RTM_EINVAL;
            }
            app.disabled = json_is_false(v);
            continue;
        }
        size_t i = 0;
        while (i < S_N_OPTIONS && strcmp(s_options[i].name, k))
            i++;
        if (i == S_N_OPTIONS) {
            snprintf(err, err_len, "%s: unknown key '%s'", where, k);
            return RTM_EINVAL;
        }
        if (s_set_option(&app, &s_options[i], v, where, err, err_len) < 0)
            return RTM_EINVAL;
    }
    app.id = (char *)json_string_value(json_object_get(entry, "id"));
    app.key = (char *)json_string_value(json_object_get(entry, "key"));
    app.secret = (char *)json_string_value(json_object_get(entry, "secret"));
    json_t *hooks = json_object_get(entry, "webhooks");
    json_t *publishers = json_object_get(entry, "publishers");
    int rc = hooks ? s_load_webhooks(&app, hooks, where, err, err_len) : 0;
    if (rc == 0 && publishers)
        rc = s_load_publishers(&app, publishers, where, err, err_len);
    if (rc == 0)
        rc = s_add(apps, app, where, err, err_len);
    if (rc < 0) {
        s_free_webhooks(app.webhooks, app.n_webhooks);
        free(app.publishers);
    }
    return rc;
}

/* The apps of a parsed document (root may be NULL: jerr says why). */
static int s_load_root(rtm_apps_t *apps, json_t *root, const json_error_t *jerr, const char *path,
                       char *err, size_t err_len)
{
    *apps = (rtm_apps_t){0};
    if (!root) {
        snprintf(err, err_len, "--apps %s: line %d: %s", path, jerr->line, jerr->text);
        return RTM_EINVAL;
    }
    int rc = 0;
    if (!json_is_array(root) || json_array_size(root) == 0) {
        snprintf(err, err_len, "--apps %s: must be a non-empty JSON array of apps", path);
        rc = RTM_EINVAL;
    }
    for (size_t i = 0; rc == 0 && i < json_array_size(root); i++)
        rc = s_load_entry(apps, json_array_get(root, i), i, path, err, err_len);
    json_decref(root);
    if (rc < 0)
        rtm_apps_free(apps);
    return rc;
}

int rtm_apps_load_file(rtm_apps_t *apps, const char *path, char *err, size_t err_len)
{
    json_error_t jerr;
    return s_load_root(apps, json_load_file(path, 0, &jerr), &jerr, path, err, err_len);
}

int rtm_apps_load_text(rtm_apps_t *apps, rtm_str_t text, const char *name, char *err,
                       size_t err_len)
{
    json_error_t jerr;
    return s_load_root(apps, json_loadb(text.p, text.len, 0, &jerr), &jerr, name, err, err_len);
}

size_t rtm_apps_take_enabled(rtm_apps_t *live, const rtm_apps_t *fresh)
{
    size_t changed = 0;
    for (size_t i = 0; i < live->n; i++) {
        rtm_app_t *app = &live->apps[i];
        const rtm_app_t *now = rtm_apps_by_id(fresh, rtm_str_cstr(app->id));
        if (now && now->disabled != app->disabled) {
            __atomic_store_n(&app->disabled, now->disabled, __ATOMIC_RELAXED);
            changed++;
        }
    }
    return changed;
}

const rtm_app_t *rtm_apps_by_key(const rtm_apps_t *apps, rtm_str_t key)
{
    for (size_t i = 0; i < apps->n; i++)
        if (rtm_str_eq_cstr(key, apps->apps[i].key))
            return &apps->apps[i];
    return NULL;
}

const rtm_app_t *rtm_apps_by_id(const rtm_apps_t *apps, rtm_str_t id)
{
    for (size_t i = 0; i < apps->n; i++)
        if (rtm_str_eq_cstr(id, apps->apps[i].id))
            return &apps->apps[i];
    return NULL;
}

void rtm_apps_free(rtm_apps_t *apps)
{
    for (size_t i = 0; i < apps->n; i++) {
        free(apps->apps[i].id);
        free(apps->apps[i].key);
        free(apps->apps[i].secret);
        s_free_webhooks(apps->apps[i].webhooks, apps->apps[i].n_webhooks);
        free(apps->apps[i].publishers);
    }
    free(apps->apps);
    *apps = (rtm_apps_t){0};
}
