/* rtm_quota — see quota.h. here[i] is this node's count of app i, elsewhere[i]
 * the other nodes' as of the last answer. */
#include "quota.h"

#include "rtm_error.h"

#include <jansson.h>
#include <stdlib.h>

#define S_CHANNEL "#connections"

struct rtm_quota {
    const rtm_apps_t *apps;
    uint64_t *here;      /* per app (by index): connections on this node; atomic */
    uint64_t *elsewhere; /* per app: connections on the other nodes; atomic */
};

typedef struct {
    rtm_quota_t *q;
    size_t app;         /* index */
    uint64_t announced; /* this node's count the total includes */
} s_ask_t;

rtm_quota_t *rtm_quota_new(const rtm_apps_t *apps)
{
    rtm_quota_t *q = calloc(1, sizeof *q);
    if (!q)
        abort();
    q->apps = apps;
    q->here = calloc(apps->n ? apps->n : 1, sizeof *q->here);
    q->elsewhere = calloc(apps->n ? apps->n : 1, sizeof *q->elsewhere);
    if (!q->here || !q->elsewhere)
        abort();
    return q;
}

void rtm_quota_destroy(rtm_quota_t **q)
{
    if (!*q)
        return;
    free((*q)->here);
    free((*q)->elsewhere);
    free(*q);
    *q = NULL;
}

static void s_on_total(void *arg, int status, rtm_str_t json)
{
    s_ask_t *ask = arg;
    json_t *root = status == 0 ? json_loadb(json.p, json.len, 0, NULL) : NULL;
    json_t *total = json_object_get(root, "subscription_count");
    if (json_is_integer(total) && (uint64_t)json_integer_value(total) >= ask->announced)
        __atomic_store_n(&ask->q->elsewhere[ask->app],
                         (uint64_t)json_integer_value(total) - ask->announced, __ATOMIC_RELAXED);
    /* on failure the last figure stands until the next tick */
    json_decref(root);
    free(ask);
}

void rtm_quota_tick(rtm_quota_t *q, const rtm_route_t *route)
{
    for (size_t i = 0; i < q->apps->n; i++) {
        const rtm_app_t *app = &q->apps->apps[i];
        if (!app->max_connections)
            continue;
        rtm_str_t app_id = rtm_str_cstr(app->id), channel = rtm_str_cstr(S_CHANNEL);
        uint64_t here = __atomic_load_n(&q->here[i], __ATOMIC_RELAXED);
        rtm_wire_msg_t count = {
            .type = RTM_WIRE_SUB_COUNT, .app = app_id, .channel = channel, .count = here};
        if (route->send(route->ctx, &count) < 0)
            continue;
        s_ask_t *ask = malloc(sizeof *ask);
        if (!ask)
            abort();
        *ask = (s_ask_t){q, i, here};
        rtm_wire_msg_t query = {.type = RTM_WIRE_QUERY,
                                .app = app_id,
                                .channel = channel,
                                .kind = RTM_WIRE_QUERY_CHANNEL,
                                .info = rtm_str_cstr("subscription_count")};
        route->request(route->ctx, &query, s_on_total, ask);
    }
}

bool rtm_quota_take(rtm_quota_t *q, const rtm_app_t *app)
{
    uint64_t here = __atomic_add_fetch(&q->here[app->index], 1, __ATOMIC_RELAXED);
    uint64_t elsewhere = __atomic_load_n(&q->elsewhere[app->index], __ATOMIC_RELAXED);
    if (!app->max_connections || here + elsewhere <= app->max_connections)
        return true;
    __atomic_sub_fetch(&q->here[app->index], 1, __ATOMIC_RELAXED);
    return false;
}

void rtm_quota_release(rtm_quota_t *q, const rtm_app_t *app)
{
    __atomic_sub_fetch(&q->here[app->index], 1, __ATOMIC_RELAXED);
}
