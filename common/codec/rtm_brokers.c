/* rtm_brokers — see rtm_brokers.h.
 *
 * The digest hashes the identities sorted bytewise, each followed by '\n'
 * (which no identity contains), so it depends on the set only. Lists are
 * small (a broker tier), so lookups are linear. */
#include "rtm_brokers.h"

#include "rtm_config.h"
#include "rtm_error.h"
#include "rtm_rendezvous.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

uint64_t rtm_brokers_digest(char *const *ids, uint32_t n)
{
    char **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        abort();
    if (n)
        memcpy(sorted, ids, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, s_cmp);
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    XXH3_64bits_reset(&st);
    for (uint32_t i = 0; i < n; i++) {
        XXH3_64bits_update(&st, sorted[i], strlen(sorted[i]));
        XXH3_64bits_update(&st, "\n", 1);
    }
    free(sorted);
    uint64_t d = XXH3_64bits_digest(&st);
    return d ? d : 1;
}

static bool s_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Adds one trimmed entry; returns 0 or a negative code with err set. */
static int s_add(rtm_brokers_t *l, const char *p, size_t len, const char *what, char *err,
                 size_t err_len)
{
    char *id = strndup(p, len);
    if (!id)
        abort();
    char host[256];
    int port;
    int rc = 0;
    if (strchr(id, ',') || strchr(id, '\n') ||
        rtm_config_endpoint_port(id, host, sizeof host, &port) < 0) {
        snprintf(err, err_len, "%s: '%s' is not tcp://host:port (port 1-65534)", what, id);
        rc = RTM_EINVAL;
    } else if (rtm_brokers_find(l, rtm_str_cstr(id)) >= 0) {
        snprintf(err, err_len, "%s: '%s' is listed twice", what, id);
        rc = RTM_EINVAL;
    } else if (l->n >= RTM_BROKERS_MAX) {
        snprintf(err, err_len, "%s: more than %d brokers", what, RTM_BROKERS_MAX);
        rc = RTM_ETOOBIG;
    }
    if (rc < 0) {
        free(id);
        return rc;
    }
    l->ids = realloc(l->ids, (l->n + 1) * sizeof *l->ids);
    l->seeds = realloc(l->seeds, (l->n + 1) * sizeof *l->seeds);
    if (!l->ids || !l->seeds)
        abort();
    l->ids[l->n] = id;
    l->seeds[l->n] = rtm_rendezvous_seed(rtm_str_cstr(id));
    l->n++;
    return 0;
}

int rtm_brokers_parse(rtm_brokers_t *out, const char *text, size_t len, char sep, const char *what,
                      char *err, size_t err_len)
{
    *out = (rtm_brokers_t){0};
    const char *end = text + len;
    for (const char *p = text; p < end;) {
        const char *stop = memchr(p, sep, (size_t)(end - p));
        if (!stop)
            stop = end;
        const char *a = p, *b = stop;
        p = stop + 1;
        while (a < b && s_blank(*a))
            a++;
        while (b > a && s_blank(b[-1]))
            b--;
        if (sep == '\n' && (a == b || *a == '#'))
            continue;
        int rc = s_add(out, a, (size_t)(b - a), what, err, err_len);
        if (rc < 0) {
            rtm_brokers_free(out);
            return rc;
        }
    }
    out->digest = rtm_brokers_digest(out->ids, out->n);
    return (int)out->n;
}

int rtm_brokers_find(const rtm_brokers_t *list, rtm_str_t identity)
{
    for (uint32_t i = 0; i < list->n; i++)
        if (rtm_str_eq_cstr(identity, list->ids[i]))
            return (int)i;
    return -1;
}

uint32_t rtm_brokers_diff(const rtm_brokers_t *old, const rtm_brokers_t *new_list, bool *kept_old,
                          bool *is_new)
{
    uint32_t changed = 0;
    for (uint32_t i = 0; i < old->n; i++) {
        bool kept = rtm_brokers_find(new_list, rtm_str_cstr(old->ids[i])) >= 0;
        if (kept_old)
            kept_old[i] = kept;
        changed += !kept;
    }
    for (uint32_t j = 0; j < new_list->n; j++) {
        bool added = rtm_brokers_find(old, rtm_str_cstr(new_list->ids[j])) < 0;
        if (is_new)
            is_new[j] = added;
        changed += added;
    }
    return changed;
}

void rtm_brokers_free(rtm_brokers_t *list)
{
    for (uint32_t i = 0; i < list->n; i++)
        free(list->ids[i]);
    free(list->ids);
    free(list->seeds);
    *list = (rtm_brokers_t){0};
}
