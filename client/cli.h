/* cli — what the rtmesh command's subcommands share (cli.c): options and
 * connecting. rtm_cli_status is `rtmesh status` (cli_status.c). */
#ifndef RTM_CLI_H
#define RTM_CLI_H

#include "rtmesh.h"

#include <stdbool.h>

typedef struct {
    const char *brokers, *brokers_file; /* the broker list, as for rtmesh-node */
    const char *app;                    /* --app / RTMESH_APP_ID */
    const char *socket_id;              /* publish --socket-id */
    const char *curve_secret, *curve_broker;
    long timeout_ms;
} rtm_cli_opts_t;

/* Parses the options of argv[first..argc) into o and the positional arguments
 * into pos[0..*n_pos) (at most 64; borrowed from argv); "--json" sets *json
 * when json is not NULL (else it is an unknown option). Returns -1 to go on,
 * or the exit status to return now (0 after --help, 2 after an error, which
 * it printed). */
int rtm_cli_parse(int argc, char **argv, int first, rtm_cli_opts_t *o, char **pos, int *n_pos,
                  bool *json);

/* A handle for o, or NULL after printing why. */
rtmesh_t *rtm_cli_connect(const rtm_cli_opts_t *o);

/* rtmesh status: returns the exit status. */
int rtm_cli_status(int argc, char **argv);

#endif
