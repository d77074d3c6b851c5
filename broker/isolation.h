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
 * the broker never heard nobody meanwhile; otherwise they are dropped. The
 * channels it took over in its own view likewise wait to settle while it is
 * cut off and until its peers count again (rtm_isolation_takeovers_wait),
 * and it does not count as rejoined until RTM_WIRE_JOIN_MS after the cut
 * (rtm_isolation_joining).
 * Pure: the clock and what the broker hears are passed in. */
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

/* What the broker hears at a liveness check, after expiring the silent. */
typedef struct {
    bool has_peers;      /* its list names other brokers (alone, it cannot tell a cut) */
    uint32_t peers;      /* listed peers heard within RTM_WIRE_DEAD_MS */
    uint32_t peers_live; /* of those, the ones counted live (past their join delay) */
    uint32_t nodes;      /* node workers heard within RTM_WIRE_DEAD_MS */
} rtm_isolation_hearing_t;

/* The broker's hearing at now_ms. When it hears nobody (no node worker and
 * no peer, although it has peers) and has heard somebody before (a broker
 * starting is alone, not cut off), everything held is dropped and it counts
 * as cut off until a tick says otherwise. Else each change held for
 * RTM_WIRE_DEAD_MS goes to release(ctx, ...), in the order held. Call at
 * every liveness check. */
void rtm_isolation_tick(rtm_isolation_t *iso, uint64_t now_ms, const rtm_isolation_hearing_t *hears,
                        rtm_isolation_release_fn release, void *ctx);

/* Hands everything held to release(ctx, ...) now, in order: the broker heard
 * a node, and a newer change of a channel must not overtake an older one. */
void rtm_isolation_flush(rtm_isolation_t *iso, rtm_isolation_release_fn release, void *ctx);

/* Whether the last tick found the broker hearing nobody. */
bool rtm_isolation_cut_off(const rtm_isolation_t *iso);

/* Whether the broker is (re)joining the mesh at now_ms, as of the last tick:
 * while it is cut off and for RTM_WIRE_JOIN_MS after the cut ends. Every
 * other process hears it again only about then, and routes to it only
 * RTM_WIRE_JOIN_MS later, once all are subscribed at its egress; until then
 * it says so in its heartbeat (so a process that never heard it before does
 * not route to it either) and refuses publishes (docs/wire.md §4). */
bool rtm_isolation_joining(const rtm_isolation_t *iso, uint64_t now_ms);

/* Whether the channels this broker took over must wait to settle, as of the
 * last tick: while it is cut off (its takeovers are its own view), and after,
 * until every peer it hears again counts as live (the channels then go back
 * to their owners), or, while it hears no peer at all, for as long as the
 * cut lasted (TCP's retransmission back-off can keep a healed link silent
 * about that long, while the nodes are heard already). */
bool rtm_isolation_takeovers_wait(const rtm_isolation_t *iso);

/* Current counters; borrowed until the next call on iso. */
const rtm_isolation_stats_t *rtm_isolation_stats(const rtm_isolation_t *iso);

#endif
