/* route — librtmesh's pure half: when a broker counts as live, which live
 * broker owns a channel, what a broker's answer means to the caller, and the
 * checks an event passes before it is sent.
 *
 * The liveness rule is the node's (docs/wire.md §4), so a service routes
 * exactly where a node would and the owner accepts: a broker is live while
 * both its egress heartbeats and its replies to our heartbeats are fresh,
 * it does not say it owns nothing, and — when it was listed at run time,
 * came back after silence, a restart or a leave, or says it is joining — it
 * has been heard for RTM_WIRE_JOIN_MS. No I/O, no clock of its own: times are passed in. */
#ifndef RTM_CLIENT_ROUTE_H
#define RTM_CLIENT_ROUTE_H

#include "rtm_str.h"
#include "rtmesh.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a handle knows of one listed broker. Zero-initialise. */
typedef struct {
    uint64_t last_hb_ms;    /* last egress heartbeat; 0: never */
    uint64_t last_reply_ms; /* last reply on its ingress (the request path works); 0: never */
    uint64_t first_hb_ms;   /* when it was (re)heard: the start of a join */
    uint64_t epoch;         /* its start time, from its heartbeat */
    uint64_t digest;        /* its list digest, from its heartbeat; 0: not told */
    uint64_t held;          /* webhook events it holds, from its heartbeat */
    uint64_t beat;          /* number of its last heartbeat heard, stamped on publishes */
    bool joining;           /* routed to only RTM_WIRE_JOIN_MS after first_hb_ms */
    bool unlisted;          /* its last heartbeat said it owns nothing */
} rtm_client_link_t;

/* A heartbeat from the link's egress at now: epoch, whether it says it
 * owns nothing (RTM_WIRE_UNLISTED with an identity) and whether it says it
 * is joining (SHARD_HB "joining": back in a mesh that ran without it, which
 * makes even the first hearing a join). Set `joining` on a link listed after
 * the first list before it is heard: its first hearing is a join too. */
void rtm_client_link_heard(rtm_client_link_t *l, uint64_t epoch, bool unlisted, bool joining,
                           uint64_t now);

/* Is the link routed to at now? */
bool rtm_client_link_live(const rtm_client_link_t *l, uint64_t now);

/* The index of the live link (links[0..n), whose identities have the
 * rendezvous seeds seeds[0..n), as in rtm_brokers_t) owning app's channel at
 * now, or -1 when none is live. alive is scratch of n entries. */
int rtm_client_owner(rtm_str_t app, rtm_str_t channel, const rtm_client_link_t *links,
                     const uint64_t *seeds, bool *alive, uint32_t n, uint64_t now);

/* The RTMESH_E* code for a broker's ACK status (0 stays 0): RTM_ENOTFOUND
 * (unknown app) -> ENOAPP, RTM_EINVAL -> EINVAL, RTM_ETOOBIG -> ETOOBIG,
 * RTM_EAUTH -> EAUTH, RTM_ENOTOWNER and RTM_EUNAVAIL -> ENOOWNER,
 * RTM_ETIMEDOUT -> ETIMEDOUT, anything else -> EPROTO. */
int rtm_client_error(int status);

/* Whether a refusal is worth routing again within the timeout (the owner
 * moved, or the broker was momentarily unavailable). */
bool rtm_client_retryable(int status);

/* Checks ev the way the brokers will, except the payload limit (which is the
 * app's, known to the brokers only): RTMESH_EINVAL for NULL pointers, bad
 * names, a bad socket id or an encrypted channel among several,
 * RTMESH_ETOOBIG for more than RTMESH_MAX_CHANNELS channels; 0 when it may be
 * sent. The reason goes to reason[0..reason_len) (may be NULL when 0), with
 * "batch[i]." before it when at_index >= 0. */
int rtm_client_check_event(const rtmesh_event_t *ev, long at_index, char *reason,
                           size_t reason_len);

#endif
