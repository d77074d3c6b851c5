/* rtmesh-feed — a service publishing a live feed through librtmesh.
 *
 *   rtmesh-feed APP_ID CHANNEL COUNT [INTERVAL_MS]
 *
 * Publishes COUNT price ticks {"seq":N,"price":P} as event "tick" on CHANNEL,
 * one every INTERVAL_MS (default 1000), to the brokers named by the usual
 * environment: RTMESH_BROKERS or RTMESH_BROKERS_FILE, and with CURVE
 * RTMESH_CURVE_SECRET + RTMESH_CURVE_BROKER. Every pusher-js client
 * subscribed to CHANNEL, on any node, receives the ticks in order. A tick
 * the mesh refuses is reported and ends the feed (exit 1); SIGHUP re-reads
 * the brokers file, SIGINT/SIGTERM stop it.
 *
 * Build it against an installed librtmesh:
 *   cc feed.c $(pkg-config --cflags --libs rtmesh) -o rtmesh-feed */
#include <rtmesh.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t s_stop, s_reload;

static void s_on_signal(int sig)
{
    if (sig == SIGHUP)
        s_reload = 1;
    else
        s_stop = 1;
}

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal cuts it short: the loop looks at s_stop */
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s APP_ID CHANNEL COUNT [INTERVAL_MS]\n", argv[0]);
        return 2;
    }
    const char *app = argv[1], *channel = argv[2];
    long count = strtol(argv[3], NULL, 10);
    long interval = argc == 5 ? strtol(argv[4], NULL, 10) : 1000;
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    signal(SIGHUP, s_on_signal);

    rtmesh_t *mesh;
    char err[512];
    if (rtmesh_new(NULL, &mesh, err, sizeof err) < 0) { /* everything from the environment */
        fprintf(stderr, "rtmesh-feed: %s\n", err);
        return 2;
    }
    int rc = 0;
    double price = 100.0;
    for (long seq = 1; seq <= count && !s_stop; seq++) {
        if (s_reload) {
            s_reload = 0;
            rtmesh_reload(mesh);
        }
        price += (double)(seq % 7) - 3.0; /* a feed that moves */
        char data[64];
        int len = snprintf(data, sizeof data, "{\"seq\":%ld,\"price\":%.2f}", seq, price);
        const char *channels[] = {channel};
        rtmesh_event_t tick = {.channels = channels,
                               .n_channels = 1,
                               .name = "tick",
                               .data = data,
                               .data_len = (size_t)len};
        char why[256];
        rc = rtmesh_publish(mesh, app, &tick, why, sizeof why);
        if (rc < 0) {
            fprintf(stderr, "rtmesh-feed: tick %ld: %s: %s\n", seq, rtmesh_strerror(rc), why);
            break;
        }
        if (seq < count)
            s_sleep_ms(interval);
    }
    rtmesh_destroy(&mesh);
    return rc < 0 ? 1 : 0;
}
