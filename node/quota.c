/* rtm_quota — see quota.h. The per-app figures live in the process context
 * (node->app_connections: this node's count; node->app_elsewhere: the other
 * nodes', refreshed by worker 0) and are read and written atomically, since
 * every worker admits connections. */
#include "quota.h"

#include "rtm_error.h"
#include "worker.h"

#include <jansson.h>
#include <stdlib.h>

#define S_CHANNEL "#connections"

typedef struct {
    rtm_worker_t *w;
    size_t app;         /* index */
    uint64_t announced; /* this node's count the total includes */
} s_ask_t;

static void s_on_total(void *arg, int status, rtm_str_t json)
{
    s_ask_t *ask = arg;
    const rtm_node_t *node = ask->w->node;
    json_t *root = status == 0 ? json_loadb(json.p, json.len, 0, NULL) : NULL;
    json_t *total = json_object_get(root, "subscription_count");
    if (json_is_integer(total) && (uint64_t)json_integer_value(total) >= ask->announced)
        __atomic_store_n(&node->app_elsewhere[ask->app],
                         (uint64_t)json_integer_value(total) - ask->announced, __ATOMIC_RELAXED);
    /* on failure the last figure stands until the next tick */
    json_decref(root);
    free(ask);
}

void rtm_quota_tick(rtm_worker_t *w)
{
    const rtm_node_t *node = w->node;
    for (size_t i = 0; i < node->apps.n; i++) {
        const rtm_app_t *app = &node->apps.apps[i];
        if (!app->max_connections)
            continue;
        rtm_str_t app_id = rtm_str_cstr(app->id), channel = rtm_str_cstr(S_CHANNEL);
        int owner = rtm_upstream_owner(&w->up, app_id, channel);
        if (owner < 0)
            continue;
        uint64_t here = __atomic_load_n(&node->app_connections[i], __ATOMIC_RELAXED);
        rtm_wire_msg_t count = {
            .type = RTM_WIRE_SUB_COUNT, .app = app_id, .channel = channel, .count = here};
        if (rtm_upstream_send(&w->up, (uint32_t)owner, &count) < 0)
            continue;
        s_ask_t *ask = malloc(sizeof *ask);
        if (!ask)
            abort();
        *ask = (s_ask_t){w, i, here};
        rtm_wire_msg_t query = {.type = RTM_WIRE_QUERY,
                                .app = app_id,
                                .channel = channel,
                                .kind = RTM_WIRE_QUERY_CHANNEL,
                                .info = rtm_str_cstr("subscription_count")};
        rtm_upstream_request(&w->up, (uint32_t)owner, &query, s_on_total, ask);
    }
}

bool rtm_quota_take(rtm_worker_t *w, const rtm_app_t *app)
{
    const rtm_node_t *node = w->node;
    uint64_t here = __atomic_add_fetch(&node->app_connections[app->index], 1, __ATOMIC_RELAXED);
    uint64_t elsewhere = __atomic_load_n(&node->app_elsewhere[app->index], __ATOMIC_RELAXED);
    if (!app->max_connections || here + elsewhere <= app->max_connections)
        return true;
    __atomic_sub_fetch(&node->app_connections[app->index], 1, __ATOMIC_RELAXED);
    return false;
}

void rtm_quota_release(rtm_worker_t *w, const rtm_app_t *app)
{
    __atomic_sub_fetch(&w->node->app_connections[app->index], 1, __ATOMIC_RELAXED);
}
