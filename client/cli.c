/* rtmesh — the command: publish through librtmesh, show the broker tier,
 * make CURVE keys.
 *
 *   rtmesh publish [--brokers LIST | --brokers-file FILE] --app APP_ID
 *                  [--socket-id ID] CHANNEL[,CHANNEL...] EVENT DATA   (DATA "-": stdin)
 *   rtmesh status  [--brokers ... ] [--app APP_ID] [--json]
 *   rtmesh keygen  PATH
 *
 * Options have RTMESH_* twins (rtm_config); the broker list and keys are the
 * same as rtmesh-node's. Exit status: 0 when done, 2 for a usage or
 * configuration error, otherwise 2 - the RTMESH_E* code (s_exit), so scripts can
 * tell an invalid event from an unreachable mesh. Errors are one line on stderr. */
#include "cli.h"

#include "rtm_config.h"
#include "rtm_error.h"
#include "rtmesh.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_ARGS 64
#define S_MAX_DATA (16u << 20) /* stdin read for DATA: the brokers refuse far less anyway */

/* Exit status of a library error (documented in --help). */
static int s_exit(int code)
{
    return code == RTMESH_ECONFIG ? 2 : code < 0 ? 2 - code : 0;
}

static const rtm_opt_t s_common[] = {
    {"brokers", "RTMESH_BROKERS", RTM_OPT_STRING, offsetof(rtm_cli_opts_t, brokers), NULL, 0, 0,
     "broker ingress endpoints: tcp://host:port,... or dns://NAME:PORT"},
    {"brokers-file", "RTMESH_BROKERS_FILE", RTM_OPT_STRING, offsetof(rtm_cli_opts_t, brokers_file),
     NULL, 0, 0, "file with one broker endpoint per line (wins over --brokers)"},
    {"app", "RTMESH_APP_ID", RTM_OPT_STRING, offsetof(rtm_cli_opts_t, app), NULL, 0, 0,
     "app id (status: ask the brokers about this app's channels)"},
    {"socket-id", NULL, RTM_OPT_STRING, offsetof(rtm_cli_opts_t, socket_id), NULL, 0, 0,
     "publish: the connection not to deliver to (\"123.456\")"},
    {"curve-secret", "RTMESH_CURVE_SECRET", RTM_OPT_STRING, offsetof(rtm_cli_opts_t, curve_secret),
     NULL, 0, 0, "this service's secret certificate (PATH_secret from rtmesh keygen)"},
    {"curve-broker", "RTMESH_CURVE_BROKER", RTM_OPT_STRING, offsetof(rtm_cli_opts_t, curve_broker),
     NULL, 0, 0, "the brokers' public certificate"},
    {"timeout-ms", "RTMESH_TIMEOUT_MS", RTM_OPT_INT, offsetof(rtm_cli_opts_t, timeout_ms), "3000",
     1, 600000, "how long to wait for the owning brokers"},
};

static void s_usage(FILE *out)
{
    fprintf(out, "usage: rtmesh publish [options] --app APP_ID CHANNEL[,CHANNEL...] EVENT DATA\n"
                 "       rtmesh status  [options] [--app APP_ID] [--json]\n"
                 "       rtmesh keygen  PATH\n\n"
                 "publish: DATA '-' reads standard input; exits 0 only when every owning\n"
                 "broker accepted the event.\n"
                 "status: every listed broker (live, epoch, list digest) and, with --app,\n"
                 "what each says of itself and of the app's channels it owns.\n"
                 "keygen: writes a CURVE certificate pair in CZMQ's format, PATH (public)\n"
                 "and PATH_secret (secret, mode 0600).\n\n");
    rtm_config_usage(out, "rtmesh", "options", s_common, sizeof s_common / sizeof s_common[0]);
    fprintf(out, "\nexit status: 0 done; 2 usage or configuration; 3 invalid name, channel\n"
                 "or socket id; 4 data over the app's limit; 5 unknown app; 6 not authorised;\n"
                 "7 no live owner; 8 timed out; 9 back-pressure; 11 protocol error.\n");
}

/* Splits argv[first..argc) into flags (with their values, into flags[]) and
 * positional arguments (into pos[]); "--json" is a switch, noted in *json. */
static int s_split(int argc, char **argv, int first, char **flags, int *n_flags, char **pos,
                   int *n_pos, bool *json)
{
    *n_flags = 1; /* flags[0] is the program name, as rtm_config_parse expects */
    *n_pos = 0;
    flags[0] = argv[0];
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (json && !strcmp(a, "--json")) {
            *json = true;
        } else if (!strncmp(a, "--", 2) || !strcmp(a, "-h")) {
            if (*n_flags >= S_MAX_ARGS - 1)
                return -1;
            flags[(*n_flags)++] = argv[i];
            bool takes = strcmp(a, "--help") && strcmp(a, "-h") && !strchr(a, '=');
            if (takes && i + 1 < argc)
                flags[(*n_flags)++] = argv[++i];
        } else {
            if (*n_pos >= S_MAX_ARGS)
                return -1;
            pos[(*n_pos)++] = argv[i];
        }
    }
    return 0;
}

int rtm_cli_parse(int argc, char **argv, int first, rtm_cli_opts_t *o, char **pos, int *n_pos,
                  bool *json)
{
    char *flags[S_MAX_ARGS];
    int n_flags;
    memset(o, 0, sizeof *o);
    if (s_split(argc, argv, first, flags, &n_flags, pos, n_pos, json) < 0) {
        fprintf(stderr, "rtmesh: too many arguments\n");
        return 2;
    }
    char err[512];
    int rc = rtm_config_parse(s_common, sizeof s_common / sizeof s_common[0], o, n_flags, flags,
                              err, sizeof err);
    if (rc == RTM_EHELP) {
        s_usage(stdout);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "rtmesh: %s\n", err);
        return 2;
    }
    return -1;
}

rtmesh_t *rtm_cli_connect(const rtm_cli_opts_t *o)
{
    rtmesh_options_t opt = {.brokers = o->brokers,
                            .brokers_file = o->brokers_file,
                            .curve_secret = o->curve_secret,
                            .curve_broker = o->curve_broker,
                            .timeout_ms = (int)o->timeout_ms};
    rtmesh_t *h;
    char err[512];
    if (rtmesh_new(&opt, &h, err, sizeof err) < 0) {
        fprintf(stderr, "rtmesh: %s\n", err);
        return NULL;
    }
    return h;
}

/* DATA from standard input: every byte up to EOF, as is. */
static char *s_read_stdin(size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            if (cap >= S_MAX_DATA)
                break;
            char *more = realloc(buf, cap *= 2);
            if (!more)
                abort();
            buf = more;
        }
    }
    *len = n;
    return buf;
}

/* Splits "a,b,c" into names[] (pointers into list, which is modified). */
static size_t s_channels(char *list, const char **names, size_t cap)
{
    size_t n = 0;
    for (char *save = NULL, *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
        if (n == cap)
            return cap + 1; /* over the limit: the library names it */
        names[n++] = c;
    }
    return n;
}

static int s_publish(int argc, char **argv)
{
    rtm_cli_opts_t o;
    char *pos[S_MAX_ARGS];
    int n_pos;
    int rc = rtm_cli_parse(argc, argv, 2, &o, pos, &n_pos, NULL);
    if (rc >= 0)
        return rc;
    if (n_pos != 3 || !o.app) {
        fprintf(stderr, "rtmesh publish: need --app APP_ID CHANNEL[,CHANNEL...] EVENT DATA "
                        "(rtmesh publish --help)\n");
        return 2;
    }
    const char *channels[RTMESH_MAX_CHANNELS + 1];
    size_t n = s_channels(pos[0], channels, RTMESH_MAX_CHANNELS + 1);
    size_t len = 0;
    char *data = !strcmp(pos[2], "-") ? s_read_stdin(&len) : NULL;
    rtmesh_event_t ev = {.channels = channels,
                         .n_channels = n,
                         .name = pos[1],
                         .data = data ? data : pos[2],
                         .data_len = data ? len : strlen(pos[2]),
                         .socket_id = o.socket_id};
    rtmesh_t *h = rtm_cli_connect(&o);
    if (!h) {
        free(data);
        return 2;
    }
    char reason[512] = "";
    rc = rtmesh_publish(h, o.app, &ev, reason, sizeof reason);
    rtmesh_destroy(&h);
    free(data);
    if (rc < 0)
        fprintf(stderr, "rtmesh publish: %s: %s\n", rtmesh_strerror(rc), reason);
    return s_exit(rc);
}

static int s_keygen(int argc, char **argv)
{
    if (argc != 3 || argv[2][0] == '-') {
        fprintf(stderr, "usage: rtmesh keygen PATH (writes PATH and PATH_secret)\n");
        return 2;
    }
    const char *path = argv[2];
    char secret[4096];
    snprintf(secret, sizeof secret, "%s_secret", path);
    if (access(path, F_OK) == 0 || access(secret, F_OK) == 0) {
        fprintf(stderr, "rtmesh keygen: %s or %s exists; not overwritten\n", path, secret);
        return 2;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        fprintf(stderr, "rtmesh keygen: no CURVE support in libzmq\n");
        return 2;
    }
    zcert_set_meta(cert, "created-by", "rtmesh keygen");
    int rc = zcert_save(cert, path); /* the secret twin gets mode 0600 (zsys) */
    zcert_destroy(&cert);
    if (rc != 0) {
        fprintf(stderr, "rtmesh keygen: cannot write %s\n", path);
        return 2;
    }
    fprintf(stderr, "rtmesh keygen: wrote %s (public) and %s (secret)\n", path, secret);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "publish"))
        return s_publish(argc, argv);
    if (!strcmp(cmd, "status"))
        return rtm_cli_status(argc, argv);
    if (!strcmp(cmd, "keygen"))
        return s_keygen(argc, argv);
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        s_usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        int v = rtmesh_version();
        printf("rtmesh %d.%d.%d\n", v / 10000, v / 100 % 100, v % 100);
        return 0;
    }
    fprintf(stderr, "rtmesh: unknown command '%s' (publish, status, keygen; rtmesh --help)\n", cmd);
    return 2;
}
