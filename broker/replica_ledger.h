/* replica_ledger — what other shards announced to webhooks, kept by the
 * shard that takes their channels over when they die.
 *
 * Each owner sends its successor (the shard that would own the channel if the
 * owner were gone) the webhook-visible state it has announced: whether the
 * channel is occupied and which presence users are members (REPLICA,
 * docs/wire.md §11). The successor keeps the latest snapshot per channel, a
 * "belief" of what the app's webhook consumer was told. While the sender owns
 * the channel the belief is passive. When this shard becomes the owner (the
 * sender died, or handed the channel over), the belief settles: for
 * settle_ms the shard waits for the nodes to re-announce what is still there,
 * then reports channel_vacated / member_removed once for what the consumer
 * was told is there and no longer is, and nothing for what still is. While a
 * belief settles it also filters the shard's own changes of that channel: an
 * occupation or a member the consumer already knows of is not reported again
 * (a first subscriber's SYNC that beats the other nodes' re-announcements),
 * and a vacate or removal updates the belief so that settling does not repeat
 * it.
 *
 * Pure: no sockets, no clock of its own; "now" is passed in and the shard's
 * own state is reached through rtm_replica_env_t. Memory is bounded by
 * max_channels beliefs and max_bytes of user ids: a snapshot over the bounds
 * is refused and counted (that channel then settles as if nobody had been
 * announced: its vacate / removals from the outage are lost). */
#ifndef RTM_REPLICA_LEDGER_H
#define RTM_REPLICA_LEDGER_H

#include "channel_state.h"
#include "rtm_str.h"
#include "rtm_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t max_channels; /* beliefs held at once */
    uint64_t max_bytes;    /* user id bytes held over all beliefs */
    uint64_t settle_ms;    /* after taking a channel over, wait this long for the nodes */
} rtm_replica_ledger_limits_t;

/* Defaults: 1,000,000 channels, 256 MiB of user ids, 3 s settling (the
 * nodes notice a dead shard within RTM_WIRE_DEAD_MS and re-announce on their
 * next 100 ms tick; the rest is margin for a liveness disagreement). */
rtm_replica_ledger_limits_t rtm_replica_ledger_default_limits(void);

/* Counters since creation (gauges are current values). */
typedef struct {
    uint64_t channels;   /* gauge: beliefs held */
    uint64_t settling;   /* gauge: of those, settling now */
    uint64_t users;      /* gauge: believed members over all beliefs */
    uint64_t bytes;      /* gauge: user id bytes held */
    uint64_t applied;    /* REPLICA snapshots applied (forgets included) */
    uint64_t refused;    /* snapshots refused by a bound, or invalid */
    uint64_t takeovers;  /* beliefs that started settling */
    uint64_t settled;    /* beliefs settled here (this shard owned the channel at the end) */
    uint64_t vacated;    /* channel_vacated reported by settling */
    uint64_t removed;    /* member_removed reported by settling */
    uint64_t suppressed; /* occupations and members not reported: already announced */
    uint64_t overridden; /* snapshot facts this shard's own later reports replaced */
} rtm_replica_ledger_stats_t;

/* What settling needs from the shard. Called synchronously; pointer
 * arguments are valid for the call only. */
typedef struct {
    void *ctx;
    /* Does this shard own (app, channel) now? */
    bool (*owns)(void *ctx, rtm_str_t app, rtm_str_t channel);
    /* Is (app, channel) occupied at this shard (subscription total > 0)? */
    bool (*occupied)(void *ctx, rtm_str_t app, rtm_str_t channel);
    /* Is user_id a presence member of (app, channel) at this shard? */
    bool (*has_user)(void *ctx, rtm_str_t app, rtm_str_t channel, rtm_str_t user_id);
    /* Is the broker keyed `key` (rtm_rendezvous_seed of its identity) live?
     * Beliefs from a dead sender that this shard does not own are dropped:
     * another shard took the channel over. */
    bool (*live)(void *ctx, uint64_t key);
    /* Report a change (channel_vacated or member_removed) to webhooks. */
    void (*hook)(void *ctx, const rtm_channel_hook_t *hook);
} rtm_replica_env_t;

typedef struct rtm_replica_ledger rtm_replica_ledger_t;

/* An empty ledger (limits NULL: the defaults); caller owns it. Aborts on OOM. */
rtm_replica_ledger_t *rtm_replica_ledger_new(const rtm_replica_ledger_limits_t *limits);

/* Frees everything and sets *l to NULL. Reports nothing. Safe on NULL. */
void rtm_replica_ledger_destroy(rtm_replica_ledger_t **l);

/* A REPLICA from the broker keyed `origin` (decoded: members are read with
 * rtm_wire_members_next). count > 0 or members: replaces the belief of the
 * channel with this snapshot — less what this shard reported itself in the
 * last settle_ms (a vacate, removals), which is newer — and starts settling it at now_ms when env
 * says this shard owns the channel (a handover; a belief settling already
 * keeps its deadline). count 0 without members: forgets the channel's
 * belief if it came from that sender. Returns 0; RTM_EINVAL for a channel
 * that makes no valid topic; RTM_EUNAVAIL when a bound refuses it (the old
 * belief is dropped too: it is stale). Both counted in `refused`. */
int rtm_replica_ledger_apply(rtm_replica_ledger_t *l, const rtm_wire_msg_t *msg, uint64_t origin,
                             const rtm_replica_env_t *env, uint64_t now_ms);

/* The live shard set changed: every belief of a channel this shard now owns
 * starts settling (deadline now_ms + settle_ms); a settling one this shard
 * no longer owns goes back to passive; a passive one whose sender is dead is
 * dropped (someone else owns the channel now). */
void rtm_replica_ledger_moved(rtm_replica_ledger_t *l, const rtm_replica_env_t *env,
                              uint64_t now_ms);

/* A change this shard's channel_state reports for a channel it owns, at
 * now_ms; a vacate or removal reported is remembered for settle_ms. A
 * passive belief of the channel starts settling first (this shard may have
 * learnt that it owns the channel from this very change, before
 * rtm_replica_ledger_moved). While the belief settles: an occupation or
 * member_added the belief holds already returns false (do not report it
 * again); a vacate or member_removed updates the belief and returns true.
 * Otherwise true. */
bool rtm_replica_ledger_filter(rtm_replica_ledger_t *l, const rtm_channel_hook_t *hook,
                               const rtm_replica_env_t *env, uint64_t now_ms);

/* Settles every belief whose period is over: when this shard still owns the
 * channel, reports member_removed for each believed member it does not hold
 * and then channel_vacated when the channel was believed occupied and is not
 * here; then forgets the belief. A belief of a channel owned elsewhere goes
 * back to passive. Call every few hundred ms. */
void rtm_replica_ledger_tick(rtm_replica_ledger_t *l, const rtm_replica_env_t *env,
                             uint64_t now_ms);

/* This shard hears nobody at now_ms (isolation.h): the channels it took
 * over are its own view's, not the mesh's. Every settling belief waits
 * settle_ms from now, so it settles only once this shard has heard the mesh
 * for settle_ms: by then the channel went back to its owner (the belief is
 * passive again) or the nodes re-announced what is still there. */
void rtm_replica_ledger_postpone(rtm_replica_ledger_t *l, uint64_t now_ms);

/* The settling belief of (app, channel), for passing on to this shard's own
 * successor (so a successor that dies while settling loses nothing): returns
 * false when there is none; else sets *occupied and calls each(ctx,
 * user_id) (each may be NULL) for every believed member still held. */
bool rtm_replica_ledger_belief(const rtm_replica_ledger_t *l, rtm_str_t app, rtm_str_t channel,
                               bool *occupied, void (*each)(void *ctx, rtm_str_t user_id),
                               void *ctx);

/* Current counters; borrowed until the next call on l. */
const rtm_replica_ledger_stats_t *rtm_replica_ledger_stats(const rtm_replica_ledger_t *l);

#endif
