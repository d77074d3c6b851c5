/* rtm_apps — the applications the mesh serves, loaded once at start.
 *
 * Both tiers read the same apps file. The table is immutable after loading
 * and shared read-only by every thread, but for one flag: whether an app is
 * enabled, which a reload of the file (rtm_apps_take_enabled) may change
 * while threads read it (rtm_app_enabled).
 * Apps come from a JSON file (an array of {id, key, secret, ...options}) or,
 * without one, from RTMESH_APP_ID / _KEY / _SECRET. */
#ifndef RTM_APPS_H
#define RTM_APPS_H

#include "rtm_str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_APPS_MAX_ID 64 /* bytes of an app id */

/* The webhook events Pusher defines, in its names (rtm_webhook_kind_name). */
typedef enum {
    RTM_WEBHOOK_CHANNEL_OCCUPIED,
    RTM_WEBHOOK_CHANNEL_VACATED,
    RTM_WEBHOOK_MEMBER_ADDED,
    RTM_WEBHOOK_MEMBER_REMOVED,
    RTM_WEBHOOK_CLIENT_EVENT,
    RTM_WEBHOOK_CACHE_MISS,
    RTM_WEBHOOK_SUBSCRIPTION_COUNT,
    RTM_WEBHOOK_KINDS /* number of kinds */
} rtm_webhook_kind_t;

/* "channel_occupied", ...; NULL for a value out of range. */
const char *rtm_webhook_kind_name(rtm_webhook_kind_t kind);

/* One entry of an app's "webhooks" (soketi's names): where to POST which
 * events. Everything is owned by the table. */
typedef struct {
    char *url;         /* http:// or https:// URL */
    uint32_t kinds;    /* bit (1u << kind) set for every event type sent */
    char **headers;    /* n_headers extra "Name: value" lines; never the signature headers */
    size_t n_headers;  /* entries of headers */
    char *starts_with; /* filter.channel_name_starts_with; NULL: any */
    char *ends_with;   /* filter.channel_name_ends_with; NULL: any */
} rtm_webhook_t;

/* Does the webhook take events of this kind on this channel? */
bool rtm_webhook_wants(const rtm_webhook_t *hook, rtm_webhook_kind_t kind, rtm_str_t channel);

typedef struct {
    char *id;                 /* app id: [A-Za-z0-9_-]{1,64}; part of REST paths and topics */
    char *key;                /* public key clients connect with */
    char *secret;             /* signing secret; never logged */
    size_t max_event_payload; /* bytes of event data accepted (default 10 KiB) */
    size_t max_presence_member_size; /* bytes of a presence user_info (default 1 KiB) */
    uint32_t max_presence_members;   /* distinct users per presence channel (default 100) */
    uint32_t max_connections;        /* across the whole mesh; 0 = unlimited */
    bool enable_client_messages;     /* client-* events relayed (default false) */
    bool enable_user_authentication; /* connections must sign in (default false) */
    bool subscription_count;         /* pusher_internal:subscription_count sent (default false) */
    bool disabled;                   /* "enabled": false; changes on reload: rtm_app_enabled */
    bool compression;        /* permessage-deflate for clients that offer it (default true) */
    char (*publishers)[41];  /* n_publishers CURVE public keys (Z85) of the services
                              * that may publish to this app, owned; NULL when none */
    size_t n_publishers;     /* entries of publishers */
    rtm_webhook_t *webhooks; /* n_webhooks entries, owned; NULL when none */
    size_t n_webhooks;       /* entries of webhooks */
    size_t index;            /* position in the table (per-app counters) */
} rtm_app_t;

typedef struct {
    rtm_app_t *apps; /* owned array */
    size_t n;
} rtm_apps_t;

/* Loads apps from a JSON file. Returns 0, or RTM_EINVAL with err naming the
 * offending entry and key. */
int rtm_apps_load_file(rtm_apps_t *apps, const char *path, char *err, size_t err_len);

/* The same from the text of an apps file; name stands for the path in
 * messages. */
int rtm_apps_load_text(rtm_apps_t *apps, rtm_str_t text, const char *name, char *err,
                       size_t err_len);

/* One app from explicit values (the environment defaults). Same validation. */
int rtm_apps_load_single(rtm_apps_t *apps, const char *id, const char *key, const char *secret,
                         char *err, size_t err_len);

/* Whether the app is enabled now (another thread may change it on reload). */
static inline bool rtm_app_enabled(const rtm_app_t *app)
{
    return !__atomic_load_n(&app->disabled, __ATOMIC_RELAXED);
}

/* Takes the enabled state of every app of live from the app with the same id
 * in fresh (the apps file loaded again); an app fresh does not list keeps its
 * state, and nothing else of live changes (other edits of the file need a
 * restart). Safe while other threads read live. Returns the number of apps
 * whose state changed. */
size_t rtm_apps_take_enabled(rtm_apps_t *live, const rtm_apps_t *fresh);

/* Borrowed lookups; NULL when unknown. */
const rtm_app_t *rtm_apps_by_key(const rtm_apps_t *apps, rtm_str_t key);
const rtm_app_t *rtm_apps_by_id(const rtm_apps_t *apps, rtm_str_t id);

/* Service keys: a CURVE public key (Z85 text) named in any app's
 * "publishers" is a service's, and may reach only the apps that name it; a
 * key named nowhere (a node's, a broker's) is not limited by app. True when
 * the peer with this key may send messages for app; key NULL or empty (no
 * CURVE) is never limited. */
bool rtm_apps_key_allowed(const rtm_apps_t *apps, const rtm_app_t *app, const char *key);

void rtm_apps_free(rtm_apps_t *apps);

#endif
