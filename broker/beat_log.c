/* beat_log — see beat_log.h.
 *
 * The broker judges a stamp by its own clock alone: when it sent the stamped
 * heartbeat and when the PUBLISH is read. Counting heartbeats since would be
 * wrong after a late loop turn (the count lags the clock), and comparing with
 * the sender's clock would need the clocks set alike; the interval from the
 * heartbeat to the read needs neither. */
#include "beat_log.h"

#include "rtm_wire.h"

uint64_t rtm_beat_log_next(rtm_beat_log_t *log, uint64_t now_ms)
{
    log->last++;
    log->sent_ms[log->last % RTM_BEAT_LOG_LEN] = now_ms;
    return log->last;
}

bool rtm_beat_log_fresh(const rtm_beat_log_t *log, uint64_t beat, uint64_t now_ms)
{
    if (beat == 0 || beat > log->last || log->last - beat >= RTM_BEAT_LOG_LEN)
        return false;
    return now_ms - log->sent_ms[beat % RTM_BEAT_LOG_LEN] < RTM_WIRE_STALE_MS;
}
