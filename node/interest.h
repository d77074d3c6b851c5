/* rtm_interest — which workers of the node want which egress topics.
 *
 * The node subscribes a topic at the brokers' egress once for all its
 * workers (node/egress_hub.h): this table says when — the first worker that
 * wants a topic subscribes it, the last that drops it cancels it — and to
 * whom what arrives on a topic is handed. A worker wants a topic or not (its
 * channel table asks once per channel, rtm_route_t.subscribe), so a topic's
 * workers are a set, not counts. Pure: no I/O, no threads (the hub's loop
 * owns it). */
#ifndef RTM_INTEREST_H
#define RTM_INTEREST_H

#include "rtm_str.h"

#include <stdbool.h>
#include <stdint.h>

/* Workers are numbered 0..RTM_INTEREST_MAX_WORKERS-1 (a bit each). */
#define RTM_INTEREST_MAX_WORKERS 64

typedef struct rtm_interest rtm_interest_t;

/* An empty table. Caller owns; aborts on OOM. */
rtm_interest_t *rtm_interest_new(void);

/* Frees the table and sets *t to NULL. Safe on NULL. */
void rtm_interest_destroy(rtm_interest_t **t);

/* Marks worker (below RTM_INTEREST_MAX_WORKERS) as wanting topic (on) or no
 * longer (off); again the same is no change. Returns true when the topic
 * became wanted by its first worker (on) or lost its last one (off): when to
 * subscribe or cancel it at the brokers. */
bool rtm_interest_set(rtm_interest_t *t, rtm_str_t topic, unsigned worker, bool on);

/* The workers that want topic, bit i for worker i; 0 when none. */
uint64_t rtm_interest_of(const rtm_interest_t *t, rtm_str_t topic);

/* Calls fn(arg, topic) for every topic some worker wants (topic borrowed for
 * the call); fn must not change the table. */
void rtm_interest_each(const rtm_interest_t *t, void (*fn)(void *arg, rtm_str_t topic), void *arg);

#endif
