/* channel_state — what a broker shard knows about channels: per-peer
 * subscription counts, presence members, the cache channel's last event.
 *
 * One record per (app, channel) with any state, created by the first message
 * that gives it some and freed as soon as it holds none. Pure: no sockets and
 * no clock of its own. Everything that must be published is handed to a sink
 * the caller provides (broker.c sends it on the egress), and "now" is passed
 * in, so the module is unit-tested without ZeroMQ. Channel state is soft:
 * nodes re-announce it (absolute counts, idempotent joins) after any
 * failover, so whatever a limit refuses or a sweep drops converges again.
 * docs/wire.md §7 is the behaviour this implements. */
#ifndef RTM_CHANNEL_STATE_H
#define RTM_CHANNEL_STATE_H

#include "member_set.h"
#include "rtm_apps.h"
#include "rtm_str.h"
#include "rtm_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rtm_channel_state rtm_channel_state_t;

/* Bounds on what hostile or runaway peers can make the shard hold. */
typedef struct {
    uint32_t max_records;      /* channel records held at once */
    uint32_t max_peer_entries; /* presence connections + count entries one peer may hold */
    uint32_t max_members;      /* distinct users of one presence channel, whatever the
                                  PRESENCE_JOIN limit (at most RTM_WIRE_MAX_MEMBERS) */
    uint32_t max_user_info;    /* largest user_info accepted, bytes */
    uint64_t max_bytes;        /* presence + cache bytes held */
    uint64_t cache_ttl_ms;     /* life of a cached event */
    uint64_t sync_gap_ms;      /* SYNCs of one channel at most this often (< node retry) */
    uint64_t count_big;        /* above this many subscribers, counts are throttled */
    uint64_t count_every_ms;   /* ... to one subscription_count event per this period */
    uint64_t open_mark_ms;     /* a SYNC_REQ makes the next occupation news for this long */
} rtm_channel_state_limits_t;

/* The defaults: 1,000,000 records; 1,000,000 entries per peer;
 * RTM_WIRE_MAX_MEMBERS members; 64 KiB user_info; 1 GiB; 30 min cache TTL;
 * 100 ms SYNC gap; counts above 100 subscribers at most every 30 s (Pusher's
 * documented behaviour); open marks live 10 s. */
rtm_channel_state_limits_t rtm_channel_state_default_limits(void);

/* Counters since creation (gauges are current values). */
typedef struct {
    uint64_t records;       /* gauge: channel records */
    uint64_t users;         /* gauge: presence users over all channels */
    uint64_t conns;         /* gauge: presence connections over all channels */
    uint64_t bytes;         /* gauge: presence + cache bytes */
    uint64_t refused;       /* state refused by a capacity limit (records, per peer, bytes) */
    uint64_t full;          /* joins refused: the presence channel was at its limit */
    uint64_t syncs;         /* SYNC messages emitted */
    uint64_t syncs_skipped; /* SYNC requests answered by a SYNC sent < sync_gap_ms ago */
    uint64_t member_events; /* MEMBER messages emitted */
    uint64_t count_events;  /* subscription_count events emitted */
    uint64_t cached;        /* events stored as a channel's cache */
    uint64_t hooks;         /* webhook changes handed to the sink */
    uint64_t inherited;     /* occupations and members taken over from re-announcements:
                               no webhook (the previous owner announced them); handed to
                               the hook with `inherited` set, not counted in `hooks` */
} rtm_channel_state_stats_t;

/* A mesh-wide change a webhook may report (webhooks.c decides whether one
 * goes out). Occupation and membership are judged here, where the state is:
 *
 * - channel_occupied: the total went from 0 to more, and a node asked for a
 *   SYNC of the channel while it was unoccupied (an "open mark"). A node
 *   worker always SYNCs before it first counts a channel, and re-announces
 *   after a failover without SYNCing, so a channel that moved here with its
 *   subscribers is taken over without a second channel_occupied;
 * - channel_vacated: the total went from more than 0 to 0 (also when a node
 *   worker was lost);
 * - member_added: a user's first connection, joined with an id (a fresh
 *   join; re-announcements carry id 0 and are taken over silently);
 * - member_removed: a user's last connection went (left, or its worker lost);
 * - subscription_count: with every subscription_count event (same throttle).
 *
 * An occupation or member taken over from a re-announcement is handed to the
 * hook too, with `inherited` set: it is no webhook, but it is part of what
 * webhooks have announced (the previous owner did), which the owner keeps
 * its successor told of (replica_outbox.h). */
typedef struct {
    rtm_webhook_kind_t kind; /* one of the five above */
    rtm_str_t app, channel;  /* the channel */
    rtm_str_t user_id;       /* member events */
    bool user_num;           /* member events: the app gave the id as a JSON integer */
    uint64_t count;          /* subscription_count: the total */
    bool inherited;          /* occupied / member_added taken over: not to be sent */
} rtm_channel_hook_t;

/* Where publications go. Both are called synchronously, from inside the
 * state call that causes them; every pointer argument is valid for the call
 * only. app and channel name the topic (rtm_wire_topic of them is valid:
 * the state checked it). */
typedef struct {
    void *ctx;
    /* A 2-frame control body on the channel's topic: SYNC or MEMBER. */
    void (*control)(void *ctx, rtm_str_t app, rtm_str_t channel, const rtm_wire_msg_t *msg);
    /* A rendered client event [topic][exclude][json] (subscription_count). */
    void (*event)(void *ctx, rtm_str_t app, rtm_str_t channel, rtm_str_t exclude, rtm_str_t json);
    /* A webhook-worthy change, called with hook_ctx; NULL: not wanted. */
    void (*hook)(void *hook_ctx, const rtm_channel_hook_t *hook);
    void *hook_ctx;
} rtm_channel_sink_t;

/* Does this shard own (app, channel) right now? */
typedef bool (*rtm_channel_owns_fn)(void *ctx, rtm_str_t app, rtm_str_t channel);

/* An empty state with the given limits (NULL: the defaults); caller owns it.
 * Aborts on OOM. */
rtm_channel_state_t *rtm_channel_state_new(const rtm_channel_state_limits_t *limits);

/* Frees everything and sets *cs to NULL. Publishes nothing. Safe on NULL. */
void rtm_channel_state_destroy(rtm_channel_state_t **cs);

/* PRESENCE_JOIN from peer: adds connection (peer, msg->exclude) of
 * msg->user_id to the presence channel msg->channel of msg->app, keeping
 * msg->user_info when the user is new, and emits MEMBER added (exclude = the
 * joining socket) when it is. A repeated join of the same connection changes
 * nothing. Returns 0; RTM_ETOOBIG when the user is new and the channel has
 * min(msg->limit or unlimited, max_members) users; RTM_EINVAL when the
 * channel is not a presence channel, the topic is invalid, the user id is
 * empty or over RTM_PUSHER_MAX_USER_ID bytes, the user_info over max_user_info, or the socket
 * id not a Pusher socket id; RTM_EUNAVAIL when a capacity limit refuses it. */
int rtm_channel_state_join(rtm_channel_state_t *cs, uint32_t peer, const rtm_wire_msg_t *msg,
                           const rtm_channel_sink_t *sink);

/* PRESENCE_LEAVE from peer: removes connection (peer, msg->exclude) of
 * msg->user_id; emits MEMBER removed (exclude = that socket) when it was the
 * user's last. Returns 0, RTM_ENOTFOUND when there is no such connection,
 * RTM_EINVAL for an invalid topic. */
int rtm_channel_state_leave(rtm_channel_state_t *cs, uint32_t peer, const rtm_wire_msg_t *msg,
                            const rtm_channel_sink_t *sink);

/* SUB_COUNT from peer: sets peer's absolute subscriber count of the channel
 * (0 removes it; larger than UINT32_MAX counts as UINT32_MAX). When msg->notify and the mesh-wide
 * total changed, emits the pusher_internal:subscription_count event, at once or — above count_big
 * subscribers — at most every count_every_ms (the latest total, from
 * rtm_channel_state_tick). Returns 0, RTM_EINVAL for an invalid topic,
 * RTM_EUNAVAIL when a capacity limit refuses a new entry. */
int rtm_channel_state_count(rtm_channel_state_t *cs, uint32_t peer, const rtm_wire_msg_t *msg,
                            uint64_t now_ms, const rtm_channel_sink_t *sink);

/* A server event published on (app, channel): when the channel is a cache
 * channel and the event is not a client event (name "client-..."), keeps
 * json (the exact rendered client text), event and data as its cache for
 * cache_ttl_ms. All are copied. Returns 1 when stored, 0 when not a cache
 * event, RTM_EUNAVAIL when a capacity limit refuses it. */
int rtm_channel_state_cache(rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel,
                            rtm_str_t event, rtm_str_t data, rtm_str_t json, uint64_t now_ms);

/* SYNC_REQ: emits a SYNC snapshot (total count, unexpired cache with its
 * remaining life, members)
 * on the channel's topic, unless one was emitted less than sync_gap_ms ago
 * (its requester retries later, and by then the gap is over). When the
 * channel is unoccupied, marks it open (see rtm_channel_hook_t) for
 * open_mark_ms. Returns 1 when emitted, 0 when skipped, RTM_EINVAL for an
 * invalid topic. */
int rtm_channel_state_sync(rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel,
                           uint64_t now_ms, const rtm_channel_sink_t *sink);

/* The node worker `peer` is gone: drops its counts (emitting new totals as
 * rtm_channel_state_count does) and its presence connections (MEMBER removed
 * with an empty exclude for users left with none). */
void rtm_channel_state_peer_lost(rtm_channel_state_t *cs, uint32_t peer, uint64_t now_ms,
                                 const rtm_channel_sink_t *sink);

/* Ownership moved: drops, silently, every record owns() says this shard no
 * longer owns (the new owner rebuilds it from the nodes' re-announcements).
 * Returns the number of records dropped. */
size_t rtm_channel_state_retain(rtm_channel_state_t *cs, rtm_channel_owns_fn owns, void *ctx);

/* Timers: emits throttled subscription counts that are due, drops caches
 * and open marks that expired. Call every few hundred ms. */
void rtm_channel_state_tick(rtm_channel_state_t *cs, uint64_t now_ms,
                            const rtm_channel_sink_t *sink);

/* What a query may read about one channel. Slices are borrowed until the
 * next mutating call. */
typedef struct {
    rtm_str_t name;         /* channel name */
    uint64_t subscriptions; /* mesh-wide subscription count */
    uint32_t users;         /* distinct presence users */
    bool cached;            /* an unexpired cached event exists */
    rtm_str_t cache_event;  /* its event name */
    rtm_str_t cache_data;   /* its data, as published */
    uint64_t cache_ttl_ms;  /* its remaining life */
} rtm_channel_info_t;

/* Fills *info for (app, channel). Returns 0, or RTM_ENOTFOUND when the shard
 * holds nothing for it (not occupied, no cache). */
int rtm_channel_state_info(const rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel,
                           uint64_t now_ms, rtm_channel_info_t *info);

/* Calls each(ctx, info) for every channel of app the shard holds a record
 * for, in no particular order. The state must not change during the walk. */
void rtm_channel_state_each(const rtm_channel_state_t *cs, rtm_str_t app, uint64_t now_ms,
                            void (*each)(void *ctx, const rtm_channel_info_t *info), void *ctx);

/* Calls each(ctx, member) for every presence member of
 * (app, channel); nothing when there is none. */
void rtm_channel_state_each_user(const rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel,
                                 rtm_member_each_fn each, void *ctx);

/* True when user_id is a presence member of (app, channel). */
bool rtm_channel_state_has_user(const rtm_channel_state_t *cs, rtm_str_t app, rtm_str_t channel,
                                rtm_str_t user_id);

/* Current counters; borrowed until the next call on cs. */
const rtm_channel_state_stats_t *rtm_channel_state_stats(const rtm_channel_state_t *cs);

#endif
