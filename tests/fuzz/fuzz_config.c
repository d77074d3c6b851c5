/* libFuzzer target for rtm_config: the input, split at NUL bytes, is an
 * argument vector parsed against a table with every option kind. Whatever
 * it holds, parsing returns 0 (every integer within its range), RTM_EHELP,
 * or RTM_EINVAL with a NUL-terminated message. The environment is the
 * process's own and is left alone. */
#include "rtm_config.h"
#include "rtm_error.h"

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
        argv[argc++] = p;
    argv[argc] = NULL;
    s_opts_t o = {0};
    char err[256];
    memset(err, 'x', sizeof err);
    int rc = rtm_config_parse(s_table, sizeof s_table / sizeof s_table[0], &o, argc, argv, err,
                              sizeof err);
    if (rc == 0 && (o.port < 1 || o.port > 65535 || o.workers < 0 || o.workers > 64 || !o.name))
        abort();
    if (rc != 0 && rc != RTM_EHELP && (rc != RTM_EINVAL || !memchr(err, '\0', sizeof err)))
        abort();
    free(text);
    return 0;
}
