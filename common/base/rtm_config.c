/* rtm_config — see rtm_config.h.
 *
 * Parsing is two passes over the table: defaults and environment first, then
 * argv on top, so a flag always wins. Unknown flags are an error (a typo must
 * not silently fall back to a default in production). */
#include "rtm_config.h"

#include "rtm_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int s_set(const rtm_opt_t *opt, void *target, const char *value, const char *key, char *err,
                 size_t err_len)
{
    char *slot = (char *)target + opt->offset;
    if (opt->type == RTM_OPT_STRING) {
        *(const char **)slot = value;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0') {
        snprintf(err, err_len, "%s: '%s' is not an integer", key, value);
        return RTM_EINVAL;
    }
    if (v < opt->min || v > opt->max) {
        snprintf(err, err_len, "%s: %ld is out of range [%ld, %ld]", key, v, opt->min, opt->max);
        return RTM_EINVAL;
    }
    *(long *)slot = v;
    return 0;
}

static const rtm_opt_t *s_find(const rtm_opt_t *opts, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

int rtm_config_parse(const rtm_opt_t *opts, size_t n_opts, void *target, int argc, char **argv,
                     char *err, size_t err_len)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return RTM_EHELP;
    for (size_t i = 0; i < n_opts; i++) {
        const char *env = opts[i].env ? getenv(opts[i].env) : NULL;
        const char *value = (env && *env) ? env : opts[i].dflt;
        const char *key = (env && *env) ? opts[i].env : opts[i].name;
        if (value && s_set(&opts[i], target, value, key, err, err_len) < 0)
            return RTM_EINVAL;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, err_len, "unexpected argument '%s'", arg);
            return RTM_EINVAL;
        }
        arg += 2;
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const rtm_opt_t *opt = s_find(opts, n_opts, arg, len);
        if (!opt) {
            snprintf(err, err_len, "unknown option '--%.*s'", (int)len, arg);
            return RTM_EINVAL;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            snprintf(err, err_len, "--%s: missing value", opt->name);
            return RTM_EINVAL;
        }
        char key[64];
        snprintf(key, sizeof key, "--%s", opt->name);
        if (s_set(opt, target, value, key, err, err_len) < 0)
            return RTM_EINVAL;
    }
    return 0;
}

void rtm_config_usage(FILE *out, const char *prog, const char *summary, const rtm_opt_t *opts,
                      size_t n_opts)
{
    fprintf(out, "usage: %s [options]\n%s\n\noptions (each flag has an environment twin):\n", prog,
            summary);
    for (size_t i = 0; i < n_opts; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s %s", opts[i].name,
                 opts[i].type == RTM_OPT_INT ? "N" : "VALUE");
        fprintf(out, "  %-22s %-22s %s", flag, opts[i].env ? opts[i].env : "", opts[i].help);
        if (opts[i].dflt)
            fprintf(out, " (default: %s)", opts[i].dflt);
        fputc('\n', out);
    }
    fprintf(out, "  %-22s %-22s %s\n", "--help", "", "print this help and exit");
}

int rtm_config_endpoint_port(const char *endpoint, char *host, size_t host_len, int *port)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return RTM_EINVAL;
    const char *h = endpoint + 6;
    const char *colon = strrchr(h, ':');
    if (!colon || colon == h || (size_t)(colon - h) >= host_len)
        return RTM_EINVAL;
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || p < 1 || p > 65534) /* egress is port + 1 */
        return RTM_EINVAL;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    *port = (int)p;
    return 0;
}
