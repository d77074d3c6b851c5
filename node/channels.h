/* rtm_channels — a worker's table of channels that have local subscribers.
 *
 * Keyed by the egress topic ("<app>\x1F<channel>\0"), so a message arriving
 * from a shard is looked up by its topic frame as is. The first local
 * subscriber subscribes the worker's SUB socket to the topic: shards send a
 * node only what somebody on it wants.
 *
 * Subscriptions complete only once the channel is in sync with its owning
 * shard: the worker asks the owner for a SYNC (repeating until one arrives on
 * the channel's own topic, which proves the SUB subscription is in place), so
 * every event published after pusher_internal:subscription_succeeded is
 * delivered. SYNC carries the shard's state — presence members, the cached
 * event — which the channel mirrors from then on from its topic, in order.
 * Subscriber counts are announced to the owner once per tick, coalesced. */
#ifndef RTM_CHANNELS_H
#define RTM_CHANNELS_H

#include "rtm_apps.h"
#include "conn.h"
#include "frame.h"
#include "rtm_str.h"

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

typedef struct rtm_worker rtm_worker_t;
typedef struct rtm_conn rtm_conn_t;
typedef struct rtm_member rtm_member_t;

typedef struct {
    rtm_conn_t *conn; /* subscriber */
    uint32_t slot;    /* this channel's index in conn->subs */
    bool active;      /* subscription succeeded: events are delivered */
} rtm_sub_t;

typedef struct rtm_channel {
    UT_hash_handle hh;
    const rtm_app_t *app;
    rtm_sub_t *subs; /* local subscribers, unordered */
    uint32_t n_subs, cap_subs;
    uint32_t n_active;     /* subscribers whose subscription succeeded: the count announced */
    rtm_member_t *members; /* presence: mesh-wide members, mirrored (uthash by id) */
    uint32_t n_members;
    rtm_frame_t *cache;   /* cache channels: last server event, framed; NULL = none */
    uint64_t cache_ms;    /* when it arrived */
    uint64_t sync_req_ms; /* last SYNC_REQ sent; 0 = never */
    bool synced;          /* a SYNC arrived: mirror valid, subscriptions complete */
    bool presence;        /* presence- channel */
    bool is_cache;        /* one of the cache- channel kinds */
    bool announce;        /* subscriber count changed since the last tick */
    uint16_t name_off;    /* channel name starts at topic + name_off */
    uint16_t topic_len;   /* bytes of topic including the NUL terminator */
    char topic[];         /* "<app>\x1F<channel>\0" */
} rtm_channel_t;

/* The channel's name, a slice of its topic. */
static inline rtm_str_t rtm_channel_name(const rtm_channel_t *ch)
{
    return rtm_str(ch->topic + ch->name_off, (size_t)(ch->topic_len - ch->name_off - 1));
}

/* Subscribes c to app's channel. presence (steals; NULL for other channels)
 * says who c is on a presence channel. silent subscriptions (sign-in's user
 * channel) send nothing on success. Completion is asynchronous (or immediate
 * when the channel is already in sync). Returns 0; RTM_EINVAL when c already
 * is subscribed (an existing silent subscription is made visible instead and
 * 0 returned). */
int rtm_channels_subscribe(rtm_worker_t *w, rtm_conn_t *c, const rtm_app_t *app, rtm_str_t channel,
                           rtm_presence_t *presence, bool silent);

/* Unsubscribes c. Returns 0, or RTM_ENOTFOUND when c was not subscribed. */
int rtm_channels_unsubscribe(rtm_worker_t *w, rtm_conn_t *c, rtm_str_t channel);

/* c's subscription to a channel of its app, or NULL. Borrowed. */
rtm_conn_sub_t *rtm_channels_find(rtm_conn_t *c, rtm_str_t channel);

/* Drops every subscription of c (on close). */
void rtm_channels_unsubscribe_all(rtm_worker_t *w, rtm_conn_t *c);

/* Fan-out of an event from a shard: frames the client JSON once and queues it
 * to every active local subscriber of the topic except the excluded socket. */
void rtm_channels_deliver(rtm_worker_t *w, rtm_str_t topic, rtm_str_t exclude, rtm_str_t json);

/* A control message from a shard on a channel topic (SYNC, MEMBER, TERMINATE). */
void rtm_channels_control(rtm_worker_t *w, rtm_str_t topic, rtm_str_t body);

/* Every upstream tick: announces changed counts, repeats unanswered SYNC_REQs,
 * frees channels left without subscribers. */
void rtm_channels_tick(rtm_worker_t *w);

/* The live shard set changed: re-announces counts and presence members to
 * whichever shards own the channels now. */
void rtm_channels_owners_changed(rtm_worker_t *w);

/* Frees the table (worker shutdown, after every connection is gone). */
void rtm_channels_destroy(rtm_worker_t *w);

#endif
