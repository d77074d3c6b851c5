/* rtm_apps — see apps.h. Lookups are linear: a node serves a handful of apps
 * and each lookup happens once per connection or REST request, never per
 * message. Validation is strict because app ids end up in ZeroMQ topics. */
#include "apps.h"

#include "rtm_error.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_MAX_PAYLOAD 10240

static int s_valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
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

static int s_add(rtm_apps_t *apps, const char *id, const char *key, const char *secret,
                 size_t max_payload, const char *where, char *err, size_t err_len)
{
    if (!id || !s_valid_id(id)) {
        snprintf(err, err_len, "%s: id must be 1-64 characters of A-Z a-z 0-9 _ -", where);
        return RTM_EINVAL;
    }
    if (!key || !*key || strlen(key) > 128) {
        snprintf(err, err_len, "%s: key must be a non-empty string of at most 128 bytes", where);
        return RTM_EINVAL;
    }
    if (!secret || !*secret) {
        snprintf(err, err_len, "%s: secret must be a non-empty string", where);
        return RTM_EINVAL;
    }
    for (size_t i = 0; i < apps->n; i++) {
        if (!strcmp(apps->apps[i].id, id) || !strcmp(apps->apps[i].key, key)) {
            snprintf(err, err_len, "%s: id or key already used by another app", where);
            return RTM_EINVAL;
        }
    }
    rtm_app_t *grown = realloc(apps->apps, (apps->n + 1) * sizeof *grown);
    if (!grown)
        abort();
    apps->apps = grown;
    apps->apps[apps->n++] = (rtm_app_t){s_dup(id), s_dup(key), s_dup(secret), max_payload};
    return 0;
}

int rtm_apps_load_single(rtm_apps_t *apps, const char *id, const char *key, const char *secret,
                         char *err, size_t err_len)
{
    *apps = (rtm_apps_t){0};
    return s_add(apps, id, key, secret, S_DEFAULT_MAX_PAYLOAD, "RTMESH_APP_ID/KEY/SECRET", err,
                 err_len);
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
    const char *known[] = {"id", "key", "secret", "max_event_payload_kb"};
    const char *k;
    json_t *v;
    json_object_foreach(entry, k, v)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i], k))
            i++;
        if (i == sizeof known / sizeof known[0]) {
            snprintf(err, err_len, "%s: unknown key '%s'", where, k);
            return RTM_EINVAL;
        }
    }
    size_t max_payload = S_DEFAULT_MAX_PAYLOAD;
    json_t *kb = json_object_get(entry, "max_event_payload_kb");
    if (kb) {
        if (!json_is_integer(kb) || json_integer_value(kb) < 1 || json_integer_value(kb) > 1024) {
            snprintf(err, err_len, "%s: max_event_payload_kb must be an integer 1-1024", where);
            return RTM_EINVAL;
        }
        max_payload = (size_t)json_integer_value(kb) * 1024;
    }
    return s_add(apps, json_string_value(json_object_get(entry, "id")),
                 json_string_value(json_object_get(entry, "key")),
                 json_string_value(json_object_get(entry, "secret")), max_payload, where, err,
                 err_len);
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
