/* rtm_channels — a worker's channels with local subscribers: the
 * subscription state machine of the edge node.
 *
 * Inputs: subscribe, unsubscribe, an event or a control message (SYNC,
 * MEMBER, TERMINATE) from the owning shard, a PRESENCE_JOIN's answer, a
 * change of channel owners, and a tick. Outputs: frames for subscribers and
 * terminations (the sink), messages to owning shards and topic subscriptions
 * (the route). Pure: no sockets, no clock of its own ("now" is passed in), so
 * the whole machine is unit-tested (tests/unit/test_node_channels.c).
 *
 * Channels are keyed by egress topic ("<app>\x1F<channel>\0"), so a message
 * from a shard is looked up by its topic frame as is. The first local
 * subscriber subscribes the topic: shards send a node only what somebody on
 * it wants. A subscription completes only once the channel is in sync with
 * its owner: the table asks for a SYNC (repeating every 200 ms until one
 * arrives on the channel's own topic, which proves the topic subscription is
 * in place), so every event published after subscription_succeeded is
 * delivered. SYNC carries the shard's state — count, presence members, the
 * cached event with its remaining life — which the table mirrors from then
 * on from the topic, in order. A presence subscription then waits for the
 * owner to accept its member (PRESENCE_JOIN). Subscriber counts are
 * announced to the owner once per tick, coalesced, counting only completed
 * subscriptions.
 *
 * A channel that moves to another owner while it is in sync is in doubt
 * until that owner confirms it owns the channel (a one-channel QUERY, which
 * a shard answers only for its own channels, asked again every 500 ms). A
 * node whose view of the live shards differs from the mesh's (it cannot hear
 * a broker the others hear: an asymmetric partition) routes the channel to a
 * shard that refuses it, while the broker the mesh routes to publishes events
 * this node never receives. So a channel left in doubt for 3 s is no longer in
 * sync: its subscribers are told to reconnect (the sink's reconnect), and new
 * subscriptions wait for a SYNC from whoever owns the channel in this node's
 * view, which only comes once that view agrees with the mesh again. The same
 * holds when the mesh's view changes while this node's does not (it cannot
 * hear a broker the others hear coming back): the broker it still routes the
 * channel to hands it away, says so on the channel's topic (MOVED), and the
 * channel is in doubt from then.
 *
 * What a broker sent while cut off from this node arrives after the heal,
 * held by TCP, when the node has moved its channels to other owners and
 * passed on newer events from them. The transport marks such messages held
 * (rtm_upstream_held: the broker is not heard, or only just heard again). A
 * held event was acknowledged to its publisher and is older than what the
 * subscribers have: passing it on breaks the order, dropping it silently
 * loses it, so the channel is given up on as above. A held SYNC or MEMBER
 * (a partitioned owner removing the members of nodes it judged gone) is
 * dropped: the owner this node routes to speaks for the channel. */
#ifndef RTM_CHANNELS_H
#define RTM_CHANNELS_H

#include "frame.h"
#include "metrics.h"
#include "route.h"
#include "rtm_apps.h"
#include "rtm_presence.h"
#include "rtm_str.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rtm_channels rtm_channels_t;
typedef struct rtm_channel rtm_channel_t;
typedef struct rtm_join rtm_join_t;

/* Where a subscription stands: waiting for the channel's SYNC, waiting for
 * the owner to accept its presence member, or delivering. */
typedef enum { RTM_SUB_PENDING, RTM_SUB_JOINING, RTM_SUB_ACTIVE } rtm_sub_state_t;

/* One subscription of one connection. */
typedef struct {
    rtm_channel_t *channel;   /* the channel */
    uint32_t slot;            /* our index in the channel's subscriber array */
    uint8_t state;            /* rtm_sub_state_t */
    bool silent;              /* made by sign-in: no subscription_succeeded until asked */
    bool watch;               /* a watchlist's: on a user channel, told only whether that user
                               * is online (rtm_channels_watch) */
    rtm_presence_t *presence; /* presence channels: who the connection is (owned) */
    rtm_join_t *join;         /* the PRESENCE_JOIN awaiting its answer, or NULL */
} rtm_subscription_t;

/* A connection as the table sees it, embedded in its session. The table owns
 * subs; the session sets the socket id before the first subscribe. */
typedef struct {
    rtm_subscription_t *subs; /* unordered */
    uint32_t n_subs, cap_subs;
    uint32_t n_watches; /* of n_subs, those of the watchlist */
    uint8_t socket_id_len;
    char socket_id[31]; /* "<worker prefix>.<counter>" */
    bool deflate;       /* negotiated permessage-deflate: gets broadcasts compressed */
} rtm_subscriber_t;

typedef struct {
    void *ctx;
    /* Queue f to s (take a reference; the caller keeps its own). Must not
     * change the table synchronously: a failed write closes later. */
    void (*send)(void *ctx, rtm_subscriber_t *s, rtm_frame_t *f);
    /* The app terminated s's connection (TERMINATE on its user channel):
     * close it with 4009. May unsubscribe s from inside the call. */
    void (*terminate)(void *ctx, rtm_subscriber_t *s);
    /* s is subscribed to a channel this node cannot receive (see above):
     * close its connection with 4200 so that the client reconnects and
     * subscribes again. May unsubscribe s from inside the call. */
    void (*reconnect)(void *ctx, rtm_subscriber_t *s);
} rtm_channels_sink_t;

/* An empty table whose outputs go to route and sink, whose counters go to
 * metrics, and which compresses broadcasts with deflate for the subscribers
 * that negotiated permessage-deflate (all borrowed for the table's life).
 * Caller owns; aborts on OOM. */
rtm_channels_t *rtm_channels_new(const rtm_route_t *route, const rtm_channels_sink_t *sink,
                                 rtm_metrics_t *metrics, rtm_deflate_t *deflate);

/* Frees the table (no subscriber may be left, or their subscriptions
 * dangle) and sets *chs to NULL. Sends nothing. Safe on NULL. */
void rtm_channels_destroy(rtm_channels_t **chs);

/* Subscribes s to app's channel. presence (steals; NULL for other channels)
 * says who s is on a presence channel; silent subscriptions (sign-in's user
 * channel) send nothing on success. Completion comes later, or at once when
 * the channel is already in sync. Returns 0; RTM_EINVAL when the channel
 * makes no valid topic, or s already is subscribed (an existing silent
 * subscription is made visible instead and 0 returned). */
int rtm_channels_subscribe(rtm_channels_t *chs, rtm_subscriber_t *s, const rtm_app_t *app,
                           rtm_str_t channel, rtm_presence_t *presence, bool silent,
                           uint64_t now_ms);

/* Watches user_id of app for s (its sign-in's watchlist): s gets
 * pusher_internal:watchlist_events "online" or "offline" once the user's
 * channel (#server-to-user-<user_id>) is in sync, then whenever the user
 * gains its first or loses its last signed-in connection in the mesh. A
 * watch receives none of the channel's events, is not counted as a
 * subscriber, and is not closed by the user's termination. Returns 0;
 * RTM_EINVAL when the channel makes no valid topic or s is subscribed to it
 * already. */
int rtm_channels_watch(rtm_channels_t *chs, rtm_subscriber_t *s, const rtm_app_t *app,
                       rtm_str_t user_id, uint64_t now_ms);

/* Unsubscribes s (leaving presence as it must). Returns 0, or RTM_ENOTFOUND
 * when s was not subscribed. Pusher sends no reply. */
int rtm_channels_unsubscribe(rtm_channels_t *chs, rtm_subscriber_t *s, rtm_str_t channel);

/* Drops every subscription of s and frees its array (on close). */
void rtm_channels_unsubscribe_all(rtm_channels_t *chs, rtm_subscriber_t *s);

/* s's subscription to channel, or NULL. Borrowed until the next call that
 * changes s's subscriptions. */
rtm_subscription_t *rtm_channels_find(const rtm_subscriber_t *s, rtm_str_t channel);

/* Refuses a subscription the way pusher-js and Laravel Echo report it: a
 * pusher:error (with status as its code when it is a 4xxx one, else null)
 * and a pusher:subscription_error {type, error, status}, both naming the
 * channel. The connection stays usable. */
void rtm_channels_refuse(rtm_channels_t *chs, rtm_subscriber_t *s, rtm_str_t channel,
                         const char *type, const char *message, int status);

/* An event from a shard, its JSON already framed (once per node, frame
 * borrowed: the table takes the references it keeps): queues the frame (or
 * its compressed twin, made once per table when a subscriber negotiated
 * permessage-deflate) to every active local subscriber of the topic except
 * the socket id exclude; a cache channel keeps a server event, in both
 * forms, as its cache. A held event (its broker was not heard when it
 * arrived: rtm_upstream_held) is dropped, and a channel in sync is given up
 * on as above (see channels.c). */
void rtm_channels_event(rtm_channels_t *chs, rtm_str_t topic, rtm_str_t exclude, rtm_frame_t *frame,
                        bool held, uint64_t now_ms);

/* A control message from a shard on a channel topic: SYNC, MEMBER,
 * TERMINATE or MOVED (anything else is counted as malformed). A held SYNC or
 * MEMBER is dropped. A SYNC on a presence channel in sync tells its
 * subscribers the members it adds or drops. */
void rtm_channels_control(rtm_channels_t *chs, rtm_str_t topic, rtm_str_t body, bool held,
                          uint64_t now_ms);

/* Messages for this worker were lost before it saw them (its relay inbox
 * overflowed): every channel in sync is given up on, as above. */
void rtm_channels_give_up_all(rtm_channels_t *chs);

/* The live shard set changed: re-announces counts and presence members to
 * whichever shards own the channels now, and asks a channel's new owner to
 * confirm it (see above). */
void rtm_channels_owners_changed(rtm_channels_t *chs);

/* How many of the table's channels one owner has (route's owner token). */
typedef struct {
    uint64_t owner;
    uint64_t channels;
} rtm_channels_share_t;

/* The table's channels by owner, as the route named owners at the last
 * change of owners or when each channel was made: *share is borrowed until
 * the next call into the table. Returns the number of owners (a channel
 * with no live owner counts under owner 0). */
size_t rtm_channels_shares(const rtm_channels_t *chs, const rtm_channels_share_t **share);

/* Every worker tick: announces changed counts, repeats unanswered SYNC_REQs
 * and ownership questions, gives up on channels in doubt for too long, frees
 * channels left without subscribers once their zero count is out. */
void rtm_channels_tick(rtm_channels_t *chs, uint64_t now_ms);

#endif
