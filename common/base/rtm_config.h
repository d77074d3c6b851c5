/* rtm_config — table-driven command-line and environment configuration.
 *
 * Each binary declares a const table of options; every option is a flag
 * (--name VALUE) with an environment twin (RTMESH_NAME). Precedence: flag,
 * then environment, then the table's default. Values are parsed into the
 * caller's struct at the given offsets, so the result is one plain struct
 * the binary treats as immutable once parsed. Errors name the key. */
#ifndef RTM_CONFIG_H
#define RTM_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    RTM_OPT_STRING, /* const char * at offset; borrowed from argv/environ/default */
    RTM_OPT_INT,    /* long at offset, checked against [min, max] */
} rtm_opt_type_t;

typedef struct {
    const char *name;    /* flag without dashes: "port" is --port */
    const char *env;     /* environment twin: "RTMESH_PORT" */
    rtm_opt_type_t type; /* how the value is parsed */
    size_t offset;       /* where in the target struct the value goes */
    const char *dflt;    /* default as text; NULL: string stays NULL / int stays 0 */
    long min, max;       /* accepted range for RTM_OPT_INT */
    const char *help;    /* one line for --help */
} rtm_opt_t;

/* Parses argv and the environment into target. Returns 0; RTM_EHELP when
 * --help or -h was given (nothing else parsed); or RTM_EINVAL with a message
 * naming the flag/env key written to err. */
int rtm_config_parse(const rtm_opt_t *opts, size_t n_opts, void *target, int argc, char **argv,
                     char *err, size_t err_len);

/* Prints usage: every flag with its environment twin, default and help. */
void rtm_config_usage(FILE *out, const char *prog, const char *summary, const rtm_opt_t *opts,
                      size_t n_opts);

/* Splits "tcp://host:port" into host (caller memory, host_len) and port. */
int rtm_config_endpoint_port(const char *endpoint, char *host, size_t host_len, int *port);

#endif
