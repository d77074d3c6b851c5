/* libFuzzer target for rtm_config, both halves: the input, split at NUL bytes,
 * is an environment and an argument vector. A piece NAME=VALUE whose NAME is
 * one of the table's variables (RTMESH_FUZZ_NAME, _PORT, _WORKERS) sets it;
 * every other piece is the next argument, and arguments win over the
 * environment.
 * Whatever it holds, parsing returns 0 (every integer within its range),
 * RTM_EHELP, or RTM_EINVAL with a NUL-terminated message naming the variable
 * or flag that was wrong. The table's variables are unset after each input. */
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

/* Sets the table's variable a piece NAME=VALUE names; false for any other piece. */
static bool s_set_env(const char *piece)
{
    const char *eq = strchr(piece, '=');
    for (size_t i = 0; eq && i < S_N_OPTS; i++) {
        size_t len = strlen(s_table[i].env);
        if ((size_t)(eq - piece) == len && !strncmp(piece, s_table[i].env, len)) {
            setenv(s_table[i].env, eq + 1, 1);
            return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[65] = {"fuzz"};
    int argc = 1;
    for (char *p = text; argc < 64 && p <= text + size; p += strlen(p) + 1)
        if (!s_set_env(p))
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
