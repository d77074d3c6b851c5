/* rtmesh-loadgen — the shared state of one load generator process.
 *
 * One libuv loop drives N subscriber WebSockets (lg_sub.c) and P keep-alive
 * REST publishers (lg_pub.c) against any Pusher protocol 7 server. The run
 * goes through fixed phases; loadgen.c owns the phase clock and the report,
 * the two modules only count into the shared counters below. */
#ifndef RTM_LOADGEN_H
#define RTM_LOADGEN_H

#include "lg_stats.h"

#include "rtm_deflate.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define RTM_LG_MAX_PAYLOAD 8192 /* bytes of padding per event, at most */

typedef struct rtm_lg_sub rtm_lg_sub_t;
typedef struct rtm_lg_pub rtm_lg_pub_t;

/* Flags and environment twins (RTMESH_LG_*); immutable once parsed. */
typedef struct {
    const char *host;       /* server address (IPv4) */
    long port;              /* server port */
    const char *app_id;     /* REST path /apps/<app_id>/events */
    const char *app_key;    /* WebSocket path /app/<app_key>, REST auth_key */
    const char *app_secret; /* REST signing secret */
    long conns;             /* subscriber connections */
    long channels;          /* channels; connection i subscribes to channel i % channels */
    long channel_base;      /* first channel index (several processes, disjoint sets) */
    const char *prefix;     /* channel name prefix */
    long sources;           /* source addresses 127.0.0.(2+source_base) .. on, this many */
    long source_base;       /* first source address offset (several processes, disjoint sets) */
    long concurrency;       /* handshakes in flight during the connect phase */
    long publishers;        /* keep-alive REST publisher connections */
    long rate;              /* publishes per second over all publishers; 0 = flat out */
    long duration;          /* seconds of publishing */
    long max_publishes;     /* stop publishing after this many; 0 = no limit */
    long payload;           /* bytes of padding in each event's data (shape "pad") */
    const char *shape;      /* what follows the stamp in the data: "pad", "dashboard", "chat" */
    long deflate;           /* 1: subscribers offer permessage-deflate */
    long max_lag;           /* flat out: publishes not yet fully delivered, at most */
    long drain_ms;          /* after publishing: wait this long at most for stragglers */
    long hold;              /* seconds to hold the subscribed connections before publishing */
    long expect;            /* events another process publishes that every subscriber awaits */
    long connect_timeout;   /* seconds the connect phase may take */
    const char *pids;       /* comma list of server pids to sample in /proc */
    const char *label;      /* free text copied into the report */
    const char *json;       /* file to append the JSON record to */
    const char *ready;      /* file created once every connection is subscribed */
    const char *brokers;    /* publish through librtmesh to these brokers; NULL: REST */
    long tls;               /* 1: subscribers and REST publishers speak TLS (wss://, https://) */
} rtm_lg_options_t;

typedef enum {
    RTM_LG_CONNECT, /* opening and subscribing connections */
    RTM_LG_HOLD,    /* all subscribed; holding (idle scenario) */
    RTM_LG_PUBLISH, /* publishers running */
    RTM_LG_DRAIN,   /* waiting for the last deliveries */
    RTM_LG_DONE,    /* closing everything */
} rtm_lg_phase_t;

typedef struct {
    rtm_lg_options_t opt;
    uv_loop_t *loop;
    rtm_lg_phase_t phase;
    struct sockaddr_in server; /* resolved opt.host:opt.port */
    char ws_request[512];      /* the upgrade request every subscriber sends */
    size_t ws_request_len;
    char ws_accept[32];         /* Sec-WebSocket-Accept the server must answer with */
    struct ssl_ctx_st *tls_ctx; /* --tls 1: every connection's TLS client context; else NULL */

    rtm_lg_sub_t *subs;  /* opt.conns subscribers */
    long next_sub;       /* next subscriber to start connecting */
    long in_flight;      /* handshakes started, not yet subscribed or failed */
    long subscribed;     /* currently subscribed */
    long conn_failed;    /* connections that failed before subscribing */
    long conn_lost;      /* subscribed connections the server closed */
    uint32_t *chan_subs; /* subscribers per channel (index relative to channel_base) */

    rtm_lg_pub_t *pubs;      /* opt.publishers publishers */
    uint64_t published;      /* publishes sent */
    uint64_t publish_ok;     /* answered 200 */
    uint64_t publish_err;    /* answered otherwise, or lost */
    uint64_t pub_reconnects; /* publisher reconnections (servers without keep-alive) */
    uint64_t expected;       /* deliveries owed by the publishes sent */
    uint64_t delivered;      /* events received */
    uint64_t pusher_errors;  /* pusher:error messages received */
    uint64_t rx_bytes;       /* bytes subscribers read while publishing and draining */
    uint64_t compressed;     /* events that arrived compressed (permessage-deflate) */
    rtm_deflate_t *inflater; /* opt.deflate: inflates them */
    uint64_t next_channel;   /* round robin over channels */

    uint64_t first_stamp_us;    /* earliest publish stamp among the events received */
    rtm_lg_hist_t latency;      /* publish -> deliver, microseconds */
    rtm_lg_hist_t rest_latency; /* REST request -> response, microseconds */
    uint64_t t_start_us, t_connected_us, t_publish_us, t_publish_end_us, t_last_delivery_us;
    int pids[RTM_LG_MAX_PIDS]; /* opt.pids parsed */
    int n_pids;
    rtm_lg_proc_t proc_start, proc_connected, proc_held, proc_end; /* held: see loadgen.c */
    double self_cpu_start, self_cpu_connected, self_cpu_publish, self_cpu_end; /* our own CPU s */
    uv_timer_t tick;
} rtm_lg_t;

/* Called by lg_sub.c each time a handshake finishes (subscribed or failed):
 * starts more connections and ends the connect phase after the last. */
void rtm_lg_connect_progress(rtm_lg_t *lg);

#endif
