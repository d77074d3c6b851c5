/* replica — keeps what webhooks announced alive across a shard failure.
 *
 * Glue between the broker and the two pure halves: replica_outbox (what this
 * shard, as owner, still has to tell each channel's successor) and
 * replica_ledger (what other owners told this shard, settled when their
 * channels become this shard's). Snapshots are read from channel_state,
 * merged with a belief still settling here (so a successor that dies while
 * settling passes it on), and sent as REPLICA control messages on the
 * egress, on the receiving broker's replica topic, named by a hash of its
 * identity so it outlives any change of the list (docs/wire.md §11): every
 * broker's SUB is connected to every other broker's egress already, and the
 * XPUB tells this shard when a peer (re)subscribes, which is when it must be
 * told everything again. Only apps with webhooks are replicated, and never
 * the reserved '#' channels. */
#ifndef RTM_REPLICA_H
#define RTM_REPLICA_H

#include "channel_state.h"
#include "egress.h"
#include "replica_ledger.h"
#include "replica_outbox.h"
#include "rtm_apps.h"
#include "shard_view.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *self;                   /* this broker's identity, borrowed */
    const rtm_apps_t *apps;             /* borrowed for the replica's life */
    rtm_channel_state_t *state;         /* borrowed: read for snapshots and settling */
    rtm_shard_view_t *view;             /* borrowed: owners, successors, liveness */
    rtm_egress_t *egress;               /* borrowed: where REPLICA messages go */
    rtm_replica_ledger_limits_t ledger; /* bounds and settling period */
    uint32_t max_channels;              /* channels the outbox tracks at most */
    /* Sends a change settling found (channel_vacated, member_removed) to
     * webhooks; called with hook_ctx. */
    void (*deliver)(void *hook_ctx, const rtm_channel_hook_t *hook);
    void *hook_ctx;
} rtm_replica_config_t;

/* Counters of both halves, and of the glue. */
typedef struct {
    rtm_replica_outbox_stats_t out;
    rtm_replica_ledger_stats_t in;
    uint64_t unheard;   /* snapshots sent to a broker not subscribed (lost) */
    uint64_t malformed; /* REPLICA messages refused */
} rtm_replica_stats_t;

typedef struct rtm_replica rtm_replica_t;

/* A replica for cfg (copied; its pointers borrowed); caller owns it. Aborts on OOM. */
rtm_replica_t *rtm_replica_new(const rtm_replica_config_t *cfg);

/* Frees it and sets *r to NULL. Safe on NULL. */
void rtm_replica_destroy(rtm_replica_t **r);

/* A change channel_state reported for a channel this shard owns. Notes it
 * for the successor, and returns whether it goes out as a webhook: not when
 * inherited, nor when a settling belief says it was announced already. */
bool rtm_replica_hook(rtm_replica_t *r, const rtm_channel_hook_t *hook, uint64_t now_ms);

/* A REPLICA a peer shard sent this one (decoded, its buffer valid for the call). */
void rtm_replica_receive(rtm_replica_t *r, const rtm_wire_msg_t *msg, uint64_t now_ms);

/* A (un)subscription message read from the egress XPUB (first byte 1 or 0,
 * then the topic). Returns true when it was a replica topic's. */
bool rtm_replica_subscription(rtm_replica_t *r, const char *msg, size_t len);

/* The live shard set changed. Call before the state drops what it no longer
 * owns: snapshots of channels that move to another owner are handed over
 * from the state as it still is. */
void rtm_replica_moved(rtm_replica_t *r, uint64_t now_ms);

/* Sends what is marked and settles what is due. Call every ~100 ms. */
void rtm_replica_tick(rtm_replica_t *r, uint64_t now_ms);

/* This shard hears nobody at now_ms: taken-over channels wait to settle
 * (rtm_replica_ledger_postpone). */
void rtm_replica_postpone(rtm_replica_t *r, uint64_t now_ms);

/* Counters, filled into *st. */
void rtm_replica_stats(const rtm_replica_t *r, rtm_replica_stats_t *st);

#endif
