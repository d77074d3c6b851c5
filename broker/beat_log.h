/* beat_log — when this broker sent its recent heartbeats, to judge the stamp
 * ("beat") a sender puts on a PUBLISH: the number of the broker's last
 * heartbeat it heard. The rule and why it is exact are in rtm_wire.h
 * (RTM_WIRE_STALE_MS) and docs/wire.md §3. Plain data, no allocation. */
#ifndef RTM_BEAT_LOG_H
#define RTM_BEAT_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* Heartbeats remembered. Consecutive heartbeats are scheduled RTM_WIRE_HB_MS
 * apart (one late one may be followed sooner by the next), so the oldest one
 * kept was sent at least (RTM_BEAT_LOG_LEN - 2) * RTM_WIRE_HB_MS = 3000 ms
 * ago, past RTM_WIRE_STALE_MS: a stamp older than the log is stale too. */
#define RTM_BEAT_LOG_LEN 8

typedef struct {
    uint64_t last;                      /* number of the last heartbeat sent (1, 2, ...); 0: none */
    uint64_t sent_ms[RTM_BEAT_LOG_LEN]; /* when heartbeat n was sent: sent_ms[n % LEN] */
} rtm_beat_log_t;

/* Numbers the heartbeat about to be sent at now_ms and returns its number. */
uint64_t rtm_beat_log_next(rtm_beat_log_t *log, uint64_t now_ms);

/* Whether a PUBLISH stamped with beat may be published at now_ms: its
 * heartbeat was sent by this start of the broker less than RTM_WIRE_STALE_MS
 * ago. False for a beat above the last one sent (an earlier start's) or older
 * than the log, and for 0 (an unstamped PUBLISH, from a sender older than
 * stamps, is not judged: the caller publishes it without asking). */
bool rtm_beat_log_fresh(const rtm_beat_log_t *log, uint64_t beat, uint64_t now_ms);

#endif
