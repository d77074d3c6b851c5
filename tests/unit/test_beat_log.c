/* Tests for broker/beat_log: a PUBLISH's stamp is fresh while its heartbeat
 * was sent less than RTM_WIRE_STALE_MS ago by this start of the broker; and
 * the rule of rtm_wire.h, checked over every send and read time: a PUBLISH
 * its sender gave up on (RTM_WIRE_HOLD_MS after hearing the stamp) is never
 * fresh, and one read within RTM_WIRE_STAMP_MS plus a round trip of its
 * heartbeat always is. */
#include "beat_log.h"

#include "rtm_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* n heartbeats on the broker's schedule (s_timers): every RTM_WIRE_HB_MS from
 * 1000, the fourth sent `late` ms after its time (a slow loop turn); a turn
 * more than a period late restarts the schedule from itself. */
static void s_send(rtm_beat_log_t *log, int n, uint64_t late)
{
    uint64_t next = 1000;
    for (int k = 0; k < n; k++) {
        uint64_t now = next + (k == 3 ? late : 0);
        rtm_beat_log_next(log, now);
        next += RTM_WIRE_HB_MS;
        if (next <= now)
            next = now + RTM_WIRE_HB_MS;
    }
}

static void test_fresh_until_stale_ms(void **state)
{
    (void)state;
    rtm_beat_log_t log = {0};
    assert_int_equal(rtm_beat_log_next(&log, 1000), 1);
    assert_int_equal(rtm_beat_log_next(&log, 1500), 2);
    assert_true(rtm_beat_log_fresh(&log, 1, 1000));
    assert_true(rtm_beat_log_fresh(&log, 1, 1000 + RTM_WIRE_STALE_MS - 1));
    assert_false(rtm_beat_log_fresh(&log, 1, 1000 + RTM_WIRE_STALE_MS));
    assert_true(rtm_beat_log_fresh(&log, 2, 1000 + RTM_WIRE_STALE_MS));
}

static void test_unknown_beats(void **state)
{
    (void)state;
    rtm_beat_log_t log = {0};
    assert_false(rtm_beat_log_fresh(&log, 1, 1000)); /* nothing sent yet */
    s_send(&log, 3, 0);
    assert_false(rtm_beat_log_fresh(&log, 0, 2000)); /* unstamped: not judged here */
    assert_false(rtm_beat_log_fresh(&log, 4, 2000)); /* an earlier start's */
    assert_true(rtm_beat_log_fresh(&log, 3, 2000));
}

static void test_older_than_the_log(void **state)
{
    (void)state;
    rtm_beat_log_t log = {0};
    s_send(&log, RTM_BEAT_LOG_LEN + 1, 0);
    uint64_t last = RTM_BEAT_LOG_LEN + 1;
    /* the time of beat 1 was overwritten by the last one: stale, whatever the time */
    assert_false(rtm_beat_log_fresh(&log, last - RTM_BEAT_LOG_LEN, 0));
    /* the oldest one kept: its own time, long past */
    assert_false(
        rtm_beat_log_fresh(&log, last - RTM_BEAT_LOG_LEN + 1, 1000 + last * RTM_WIRE_HB_MS));
}

/* Every heartbeat s of a schedule with one late turn, heard at h (T_s to
 * T_s + 100 ms later), a PUBLISH stamped with it read at r: fresh whenever
 * r is within RTM_WIRE_STAMP_MS + 200 ms of h (normal operation: sent less
 * than RTM_WIRE_STAMP_MS after h, a round trip of at most 300 ms), never at or
 * after the sender's give-up, h + RTM_WIRE_HOLD_MS or later. */
static void test_given_up_never_fresh(void **state)
{
    (void)state;
    for (uint64_t late = 0; late < RTM_WIRE_DEAD_MS; late += 100) {
        rtm_beat_log_t log = {0};
        s_send(&log, 12, late);
        for (uint64_t s = log.last - 4; s <= log.last; s++) {
            uint64_t sent = log.sent_ms[s % RTM_BEAT_LOG_LEN];
            for (uint64_t h = sent; h <= sent + 100; h += 25) {
                for (uint64_t r = h; r < h + RTM_WIRE_STAMP_MS + 200; r += 25)
                    assert_true(rtm_beat_log_fresh(&log, s, r));
                for (uint64_t r = h + RTM_WIRE_HOLD_MS; r < h + 4 * RTM_WIRE_HOLD_MS; r += 25)
                    assert_false(rtm_beat_log_fresh(&log, s, r));
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_until_stale_ms),
        cmocka_unit_test(test_unknown_beats),
        cmocka_unit_test(test_older_than_the_log),
        cmocka_unit_test(test_given_up_never_fresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
