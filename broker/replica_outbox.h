/* replica_outbox — which channels' webhook-visible state this shard still
 * has to send to their successor, and where each was sent last.
 *
 * The owner of a channel keeps its successor (the shard that would own the
 * channel if the owner died: the rendezvous choice among the other live
 * shards) told what webhooks have announced about it (replica_ledger.h). A
 * change only marks the channel; a flush sends one snapshot per marked
 * channel, so a busy channel costs one REPLICA per flush however many
 * changes it had. The outbox remembers where each channel's snapshot went,
 * so that when the successor changes the old one is told to forget it, and
 * when the channel moves to another owner (a shard came back) its snapshot is
 * handed to that owner, which settles it. A send the egress refuses keeps the
 * channel marked for the next flush.
 *
 * Pure: what a snapshot holds, who owns a channel and the sending itself are
 * the caller's (rtm_replica_route_t). Memory is bounded: at most max_channels
 * channels are tracked; marks beyond are refused and counted. */
#ifndef RTM_REPLICA_OUTBOX_H
#define RTM_REPLICA_OUTBOX_H

#include "rtm_str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Channels tracked at most by default. */
#define RTM_REPLICA_OUTBOX_MAX 1000000

typedef struct {
    uint64_t channels; /* gauge: channels tracked */
    uint64_t marked;   /* gauge: of those, waiting for a flush */
    uint64_t sent;     /* snapshots sent (handovers included) */
    uint64_t forgets;  /* forget messages sent to a former successor */
    uint64_t handed;   /* snapshots handed to a channel's new owner */
    uint64_t retried;  /* sends refused by the egress, left for the next flush */
    uint64_t refused;  /* marks refused: max_channels tracked */
} rtm_replica_outbox_stats_t;

/* What a flush asks the shard. Called synchronously; pointer arguments are
 * valid for the call only. */
typedef struct {
    void *ctx;
    /* Where (app, channel)'s snapshot goes now. Sets *mine to whether this
     * broker owns the channel among the live brokers and *to to the key
     * (rtm_rendezvous_seed of the identity) of its successor when it does,
     * of its owner when it does not. Returns false when there is no such
     * broker (this one is alone, or none is live): *to is then unset. */
    bool (*target)(void *ctx, rtm_str_t app, rtm_str_t channel, bool *mine, uint64_t *to);
    /* Sends the channel's snapshot to the broker keyed `to` — or, when forget, the empty
     * snapshot that makes it drop the channel. Returns 1 when sent with
     * something announced, 0 when sent and nothing is announced (the empty
     * snapshot went: the channel is not tracked further), -1 when the egress
     * refused it. */
    int (*send)(void *ctx, rtm_str_t app, rtm_str_t channel, uint64_t to, bool forget);
    /* Is anything announced about (app, channel)? (Asked when there is no
     * successor to send to: an untracked channel is marked again when it
     * changes.) */
    bool (*announced)(void *ctx, rtm_str_t app, rtm_str_t channel);
} rtm_replica_route_t;

typedef struct rtm_replica_outbox rtm_replica_outbox_t;

/* An empty outbox tracking at most max_channels channels; caller owns it.
 * Aborts on OOM. */
rtm_replica_outbox_t *rtm_replica_outbox_new(uint32_t max_channels);

/* Frees everything and sets *o to NULL. Safe on NULL. */
void rtm_replica_outbox_destroy(rtm_replica_outbox_t **o);

/* The webhook-visible state of (app, channel) may have changed: send it at
 * the next flush. Returns 0, or RTM_EUNAVAIL (counted) when a new channel
 * would pass max_channels. app and channel are copied. */
int rtm_replica_outbox_mark(rtm_replica_outbox_t *o, rtm_str_t app, rtm_str_t channel);

/* The live shard set changed: every tracked channel may have a new
 * successor or owner; all are marked. */
void rtm_replica_outbox_mark_all(rtm_replica_outbox_t *o);

/* The broker keyed `key` subscribed to its replica topic anew (it restarted or
 * reconnected, and lost what it was sent or may have): every channel last
 * sent to it is marked. */
void rtm_replica_outbox_resend(rtm_replica_outbox_t *o, uint64_t key);

/* Sends the marked channels, at most budget of them, oldest mark first. For each: when this
 * shard owns it, its snapshot goes to its successor (a former successor
 * first gets a forget); when another shard owns it now, its snapshot is
 * handed to that owner and the channel is no longer tracked. Returns the
 * number of channels still marked. */
size_t rtm_replica_outbox_flush(rtm_replica_outbox_t *o, const rtm_replica_route_t *route,
                                size_t budget);

/* Current counters; borrowed until the next call on o. */
const rtm_replica_outbox_stats_t *rtm_replica_outbox_stats(const rtm_replica_outbox_t *o);

#endif
