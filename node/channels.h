/* rtm_channels — a worker's table of channels that have local subscribers.
 *
 * Keyed by the egress topic ("<app>\x1F<channel>\0"), so an event arriving from
 * a shard is looked up by its topic frame as is. The first local subscriber
 * subscribes the worker's SUB socket to the topic, the last one unsubscribes
 * it: shards send a node only what somebody on it wants. Subscriber lists are
 * arrays with back-indices on both sides, so subscribe and unsubscribe are
 * O(1) and a fan-out is one pass over contiguous memory. */
#ifndef RTM_CHANNELS_H
#define RTM_CHANNELS_H

#include "rtm_str.h"

#include <uthash.h>
#include <stdint.h>

typedef struct rtm_worker rtm_worker_t;
typedef struct rtm_conn rtm_conn_t;

typedef struct {
    rtm_conn_t *conn; /* subscriber */
    uint32_t slot;    /* this channel's index in conn->subs */
} rtm_sub_t;

typedef struct rtm_channel {
    UT_hash_handle hh;
    rtm_sub_t *subs; /* local subscribers, unordered */
    uint32_t n_subs, cap_subs;
    uint16_t topic_len; /* bytes of topic including the NUL terminator */
    char topic[];       /* "<app>\x1F<channel>\0" */
} rtm_channel_t;

/* Subscribes c to app's channel. Returns 0, or RTM_EINVAL when c already is. */
int rtm_channels_subscribe(rtm_worker_t *w, rtm_conn_t *c, rtm_str_t app, rtm_str_t channel);

/* Unsubscribes c. Returns 0, or RTM_ENOTFOUND when c was not subscribed. */
int rtm_channels_unsubscribe(rtm_worker_t *w, rtm_conn_t *c, rtm_str_t app, rtm_str_t channel);

/* Drops every subscription of c (on close). */
void rtm_channels_unsubscribe_all(rtm_worker_t *w, rtm_conn_t *c);

/* Fan-out of an event from a shard: frames the client JSON once and queues it
 * to every local subscriber of the topic except the excluded socket id. */
void rtm_channels_deliver(rtm_worker_t *w, rtm_str_t topic, rtm_str_t exclude, rtm_str_t json);

/* Frees the table (worker shutdown, after every connection is gone). */
void rtm_channels_destroy(rtm_worker_t *w);

#endif
