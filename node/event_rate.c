/* rtm_event_rate — see event_rate.h.
 *
 * A sliding window, not a counter reset every calendar second: a counter
 * lets a burst straddling the second's end through twice (20 events within
 * a few milliseconds), and a client could not tell from the clock when its
 * budget comes back. Keeping the last allowed times costs 44 bytes per
 * connection and one comparison per event. */
#include "event_rate.h"

bool rtm_event_rate_allow(rtm_event_rate_t *r, uint64_t now_ms)
{
    uint32_t now = (uint32_t)now_ms;
    if (r->n == RTM_EVENT_RATE_MAX && now - r->at[r->next] < RTM_EVENT_RATE_WINDOW_MS)
        return false;
    r->at[r->next] = now;
    r->next = (uint8_t)((r->next + 1) % RTM_EVENT_RATE_MAX);
    if (r->n < RTM_EVENT_RATE_MAX)
        r->n++;
    return true;
}
