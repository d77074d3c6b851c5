/* rtm_route — how the node's domain reaches the shard that owns a channel.
 *
 * The channel table and the quota speak to shards only through this
 * interface; the worker implements it over its upstream links (owner by
 * rendezvous hashing over the live shards), and unit tests implement it by
 * recording what is sent. */
#ifndef RTM_ROUTE_H
#define RTM_ROUTE_H

#include "rtm_str.h"
#include "rtm_wire.h"

#include <stdbool.h>
#include <stdint.h>

/* A shard's answer: status 0 when accepted, else a negative code
 * (RTM_EUNAVAIL, RTM_ETIMEDOUT, RTM_ETOOBIG, ...); json is a QUERY's answer,
 * borrowed for the call. */
typedef void (*rtm_route_ack_fn)(void *arg, int status, rtm_str_t json);

typedef struct {
    void *ctx;
    /* Sends msg, which wants no answer, to the live owner of (msg->app,
     * msg->channel). Returns 0, or RTM_EUNAVAIL when there is none or it
     * cannot take more. msg is borrowed for the call. */
    int (*send)(void *ctx, const rtm_wire_msg_t *msg);
    /* Sends msg to that owner with a new correlation id (written to
     * msg->id) and calls cb(arg, status, json) exactly once, never from
     * inside this call; a send that fails is reported the same way. */
    void (*request)(void *ctx, rtm_wire_msg_t *msg, rtm_route_ack_fn cb, void *arg);
    /* Starts (on) or stops receiving the events and control messages of a
     * channel topic (rtm_wire_topic, terminator included). */
    void (*subscribe)(void *ctx, rtm_str_t topic, bool on);
    /* Who owns (app, channel) now, as a token that stays the same while the
     * owner does (0 when no shard is live): how the table notices that a
     * channel moved. The token is the owner's rendezvous seed
     * (rtm_rendezvous_seed of its identity), so a broker that names itself
     * in a MOVED is recognised. */
    uint64_t (*owner)(void *ctx, rtm_str_t app, rtm_str_t channel);
} rtm_route_t;

#endif
