/* libFuzzer target for the environment half of rtm_config: the input, split
 * at NUL bytes, gives the values of the table's RTMESH_* variables in order
 * (a missing or empty piece leaves the variable unset); what follows them is
 * the argument vector, which wins over the environment. Whatever it holds,
 * parsing returns 0 (every integer within its range), RTM_EHELP, or
 * RTM_EINVAL with a NUL-terminated message naming the variable or flag that
 * was wrong. fuzz_config covers the arguments alone. */
#include "rtm_config.h"
#include "rtm_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const char *name;
    long port;
    long workers;
} s_opts_t;

static const rtm_opt_t s_table[] = {
    {"name", "RTMESH_FUZZ_NAME", RTM_OPT_STRING, offsetof(s_opts_t, name), "x", 0, 0, "a string"},
    {"port", "RTMESH_FUZZ_PORT", RTM_OPT_INT, offsetof(s_opts_t, port), "6001", 1, 65535, "a port"},
    {"workers", "RTMESH_FUZZ_WORKERS", RTM_OPT_INT, offsetof(s_opts_t, workers), "0", 0, 64, "n"},
};
#define S_N_OPTS (sizeof s_table / sizeof s_table[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    char *p = text;
    for (size_t i = 0; i < S_N_OPTS; i++) {
        bool more = p <= text + size;
        if (more && *p)
            setenv(s_table[i].env, p, 1);
        else
            unsetenv(s_table[i].env);
        if (more)
            p += strlen(p) + 1;
    }
    char *argv[65] = {"fuzz"};
    int argc = 1;
    for (; argc < 64 && p <= text + size; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    s_opts_t o = {0};
    char err[256];
    memset(err, 'x', sizeof err);
    int rc = rtm_config_parse(s_table, S_N_OPTS, &o, argc, argv, err, sizeof err);
    if (rc == 0 && (o.port < 1 || o.port > 65535 || o.workers < 0 || o.workers > 64 || !o.name))
        abort();
    if (rc == RTM_EINVAL &&
        (!memchr(err, '\0', sizeof err) ||
         !(strstr(err, "RTMESH_FUZZ_") || strstr(err, "--") || strstr(err, "unexpected argument"))))
        abort();
    if (rc != 0 && rc != RTM_EHELP && rc != RTM_EINVAL)
        abort();
    for (size_t i = 0; i < S_N_OPTS; i++)
        unsetenv(s_table[i].env);
    free(text);
    return 0;
}
