/* cli_status — `rtmesh status`: the broker tier as a service sees it.
 *
 * Everything comes from what brokers already say: their heartbeats (live,
 * epoch, list digest, webhooks held), and with --app their answers to QUERY
 * kind 4 (their own counters: nodes seen, channel records, presence users
 * and connections, publishes) and kind 1 (the app's occupied channels each
 * owns). Exit status 0 when every listed broker is live, 1 otherwise (or 2
 * for a usage error), so a script can wait for a mesh to come up. */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_BROKERS 256

/* The counters a broker reports of itself (QUERY kind 4), or NULL. */
static json_t *s_stats(rtmesh_t *h, const char *identity, const char *app)
{
    char *text;
    if (rtmesh_query(h, identity, app, 4, NULL, &text) < 0)
        return NULL;
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    return json_is_object(o) ? o : (json_decref(o), NULL);
}

/* The number of the app's occupied channels the broker owns (QUERY kind 1,
 * a fragment of members), or -1 when it does not answer. */
static long s_channels(rtmesh_t *h, const char *identity, const char *app)
{
    char *text;
    if (rtmesh_query(h, identity, app, 1, "", &text) < 0)
        return -1;
    size_t len = strlen(text);
    char *wrapped = malloc(len + 3);
    if (!wrapped)
        abort();
    snprintf(wrapped, len + 3, "{%s}", text);
    free(text);
    json_t *o = json_loads(wrapped, 0, NULL);
    free(wrapped);
    long n = json_is_object(o) ? (long)json_object_size(o) : -1;
    json_decref(o);
    return n;
}

static json_int_t s_num(const json_t *stats, const char *key)
{
    return json_integer_value(json_object_get(stats, key));
}

static const char *s_state(const rtmesh_broker_info_t *b)
{
    return b->live                  ? "live"
           : b->heard && b->answers ? "joining"
           : b->heard               ? "unreachable"
                                    : "dead";
}

static json_t *s_broker_json(const rtmesh_broker_info_t *b, json_t *stats, long channels)
{
    char digest[17];
    snprintf(digest, sizeof digest, "%016llx", b->digest);
    json_t *o =
        json_pack("{s:s, s:s, s:b, s:b, s:b, s:I, s:s, s:b, s:I}", "identity", b->identity, "state",
                  s_state(b), "live", b->live, "heard", b->heard, "answers", b->answers, "epoch",
                  (json_int_t)b->epoch, "digest", digest, "list_mismatch", b->list_mismatch,
                  "webhooks_held", (json_int_t)b->webhooks_held);
    if (stats)
        json_object_set(o, "stats", stats);
    if (channels >= 0)
        json_object_set_new(o, "channels", json_integer(channels));
    return o;
}

static void s_broker_text(const rtmesh_broker_info_t *b, json_t *stats, long channels)
{
    printf("%-40s %-11s epoch=%llu digest=%016llx%s", b->identity, s_state(b), b->epoch, b->digest,
           b->list_mismatch ? " LIST-DIFFERS" : "");
    if (stats)
        printf(" nodes=%lld records=%lld users=%lld presence_conns=%lld published=%lld",
               (long long)s_num(stats, "nodes"), (long long)s_num(stats, "records"),
               (long long)s_num(stats, "users"), (long long)s_num(stats, "presence_conns"),
               (long long)s_num(stats, "published"));
    if (channels >= 0)
        printf(" channels=%ld", channels);
    printf("\n");
}

int rtm_cli_status(int argc, char **argv)
{
    rtm_cli_opts_t o;
    char *pos[64];
    int n_pos;
    bool as_json = false;
    int rc = rtm_cli_parse(argc, argv, 2, &o, pos, &n_pos, &as_json);
    if (rc >= 0)
        return rc;
    if (n_pos) {
        fprintf(stderr, "rtmesh status: unexpected argument '%s'\n", pos[0]);
        return 2;
    }
    rtmesh_t *h = rtm_cli_connect(&o);
    if (!h)
        return 2;
    static rtmesh_broker_info_t info[S_MAX_BROKERS];
    unsigned long long digest;
    size_t n = rtmesh_brokers(h, info, S_MAX_BROKERS, &digest);
    size_t shown = n < S_MAX_BROKERS ? n : S_MAX_BROKERS, live = 0;
    json_t *all = json_array();
    if (!as_json)
        printf("brokers=%zu digest=%016llx%s\n", n, digest,
               o.app ? "" : " (--app APP_ID for each broker's counters and channels)");
    for (size_t i = 0; i < shown; i++) {
        json_t *stats = o.app && info[i].answers ? s_stats(h, info[i].identity, o.app) : NULL;
        long channels = o.app && info[i].answers ? s_channels(h, info[i].identity, o.app) : -1;
        live += info[i].live != 0;
        if (as_json)
            json_array_append_new(all, s_broker_json(&info[i], stats, channels));
        else
            s_broker_text(&info[i], stats, channels);
        json_decref(stats);
    }
    if (as_json) {
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", digest);
        json_t *top =
            json_pack("{s:s, s:I, s:o}", "digest", hex, "live", (json_int_t)live, "brokers", all);
        char *text = json_dumps(top, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(top);
    } else {
        json_decref(all);
    }
    rtmesh_destroy(&h);
    return n > 0 && live == n ? 0 : 1;
}
