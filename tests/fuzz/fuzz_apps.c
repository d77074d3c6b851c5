/* libFuzzer target for rtm_apps: an apps file (apps, per-app options,
 * webhooks). Whatever the text, loading returns 0 with a table whose apps
 * have valid ids, keys and secrets, or RTM_EINVAL with a NUL-terminated
 * message naming what was wrong and nothing left to free. */
#include "rtm_apps.h"
#include "rtm_error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtm_apps_t apps;
    char err[512];
    memset(err, 'x', sizeof err);
    int rc = rtm_apps_load_text(&apps, rtm_str((const char *)data, size), "fuzz", err, sizeof err);
    if (rc == 0) {
        if (apps.n == 0)
            abort();
        for (size_t i = 0; i < apps.n; i++) {
            const rtm_app_t *a = &apps.apps[i];
            if (!a->id || !*a->id || strlen(a->id) > RTM_APPS_MAX_ID || !a->key || !*a->key ||
                !a->secret || !*a->secret || a->index != i ||
                rtm_apps_by_id(&apps, rtm_str_cstr(a->id)) != a)
                abort();
        }
        rtm_apps_free(&apps);
    } else if (rc != RTM_EINVAL || !memchr(err, '\0', sizeof err) || apps.n || apps.apps) {
        abort();
    }
    return 0;
}
