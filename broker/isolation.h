/* isolation — departures this broker inferred from silence, held until it
 * knows the silence was not its own.
 *
 * A broker judges a node worker gone when it falls silent, and reports the
 * channels and members that went with it. A broker cut off from everything
 * (a partition of its host, a stall) hears every node and every peer fall
 * silent at once: the departures it infers are its own isolation, not the
 * mesh's. The nodes meanwhile route its channels to the others, which take
 * them over silently and report what really leaves; the cut-off broker's
 * reports, delivered by its retries after the heal, would tell the webhook
 * consumer that members who never left are gone (docs/soak.md, failure 2).
 *
 * So such departures are held for RTM_WIRE_DEAD_MS, by which time every
 * silence that began with theirs has been judged too, and handed on only if
 * the broker never heard nobody meanwhile; otherwise they are dropped. Pure:
 * the clock and whether the broker hears anybody are passed in. */
#ifndef RTM_ISOLATION_H
#define RTM_ISOLATION_H

#include "channel_state.h"

#include <stdbool.h>
#include <stdint.h>

/* Counters since creation (gauges are current values). */
typedef struct {
    uint64_t held;     /* gauge: departures held now */
    uint64_t released; /* departures handed on: the broker still heard somebody */
    uint64_t dropped;  /* departures dropped: inferred while the broker heard nobody */
    uint64_t cut_offs; /* times the broker found it heard nobody */
} rtm_isolation_stats_t;

/* Where a held departure goes when it is handed on; hook is valid for the
 * call only. */
typedef void (*rtm_isolation_release_fn)(void *ctx, const rtm_channel_hook_t *hook);

typedef struct rtm_isolation rtm_isolation_t;

/* Nothing held, not cut off; caller owns it. Aborts on OOM. */
rtm_isolation_t *rtm_isolation_new(void);

/* Frees what is held (handing nothing on) and sets *iso to NULL. Safe on NULL. */
void rtm_isolation_destroy(rtm_isolation_t **iso);

/* A change inferred at now_ms from a node worker's silence (hook copied).
 * Dropped at once while the broker is cut off; otherwise held. */
void rtm_isolation_hold(rtm_isolation_t *iso, const rtm_channel_hook_t *hook, uint64_t now_ms);

/* Whether the broker hears anybody at now_ms: heard_nobody when it hears no
 * node worker and no listed peer although it has peers. Then, unless nobody
 * was ever heard (a broker starting), everything held is dropped and the
 * broker counts as cut off until a call says otherwise. Else each change held
 * for RTM_WIRE_DEAD_MS goes to release(ctx, ...), in the order held. Call at
 * every liveness check, after expiring the silent. */
void rtm_isolation_tick(rtm_isolation_t *iso, uint64_t now_ms, bool heard_nobody,
                        rtm_isolation_release_fn release, void *ctx);

/* Hands everything held to release(ctx, ...) now, in order: the broker heard
 * a node, and a newer change of a channel must not overtake an older one. */
void rtm_isolation_flush(rtm_isolation_t *iso, rtm_isolation_release_fn release, void *ctx);

/* Whether the last tick found the broker hearing nobody. */
bool rtm_isolation_cut_off(const rtm_isolation_t *iso);

/* Current counters; borrowed until the next call on iso. */
const rtm_isolation_stats_t *rtm_isolation_stats(const rtm_isolation_t *iso);

#endif
