/* rtm_event_rate — how many client events one connection may send: at most
 * RTM_EVENT_RATE_MAX in any window of RTM_EVENT_RATE_WINDOW_MS (Pusher's 10
 * per second), judged per event, not per calendar second.
 *
 * It keeps the times of the last RTM_EVENT_RATE_MAX events it allowed, in a
 * ring: an event is allowed when the oldest of them is a whole window old.
 * Times are the loop's milliseconds truncated to 32 bits; differences are
 * taken modulo 2^32, so a ring untouched for 49 days can refuse one event
 * wrongly, never allow one too many within a window. Zeroed memory is an
 * empty ring. */
#ifndef RTM_EVENT_RATE_H
#define RTM_EVENT_RATE_H

#include <stdbool.h>
#include <stdint.h>

#define RTM_EVENT_RATE_MAX       10
#define RTM_EVENT_RATE_WINDOW_MS 1000

typedef struct {
    uint32_t at[RTM_EVENT_RATE_MAX]; /* when the allowed events came, oldest at `next` */
    uint8_t next;                    /* the slot the next allowed event overwrites */
    uint8_t n;                       /* slots in use (fills up to RTM_EVENT_RATE_MAX) */
} rtm_event_rate_t;

/* Whether an event at now_ms may go; an allowed one is recorded, a refused
 * one is not (it does not count against later events). */
bool rtm_event_rate_allow(rtm_event_rate_t *r, uint64_t now_ms);

#endif
