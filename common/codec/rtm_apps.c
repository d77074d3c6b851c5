/* rtm_apps — see apps.h. Lookups are linear: a mesh serves a handful of apps
 * and each lookup happens once per connection or REST request, never per
 * message. Validation is strict because app ids end up in ZeroMQ topics. */
#include "rtm_apps.h"

#include "rtm_error.h"

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
                       .max_presence_members = 100};
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
    snprintf(where, sizeof where, "%s: app #%zu", path, index);
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
    return s_add(apps, app, where, err, err_len);
}

int rtm_apps_load_file(rtm_apps_t *apps, const char *path, char *err, size_t err_len)
{
    *apps = (rtm_apps_t){0};
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        snprintf(err, err_len, "--apps %s: line %d: %s", path, jerr.line, jerr.text);
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
    }
    free(apps->apps);
    *apps = (rtm_apps_t){0};
}
