/* rtm_webhook — the JSON of Pusher webhooks, into fresh memory.
 *
 * A webhook request body is {"time_ms":T,"events":[...]} and each event an
 * object named after its kind, with Pusher's fields:
 *
 *   {"name":"channel_occupied","channel":C}        (channel_vacated, cache_miss alike)
 *   {"name":"member_added","channel":C,"user_id":U} (member_removed alike)
 *   {"name":"client_event","channel":C,"event":E,"data":D,"socket_id":S[,"user_id":U]}
 *   {"name":"subscription_count","channel":C,"subscription_count":N}
 *
 * Events are rendered once, when they happen, and a body is assembled from
 * the rendered texts when a batch is sent, so the bytes signed are exactly
 * the bytes posted. Pure: no I/O, no clock. */
#ifndef RTM_WEBHOOK_H
#define RTM_WEBHOOK_H

#include "rtm_apps.h"
#include "rtm_str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    rtm_webhook_kind_t kind; /* which event */
    rtm_str_t channel;       /* every kind */
    rtm_str_t user_id;       /* member_added/removed; client_event on presence (may be empty) */
    bool user_num;           /* member_added/removed: the app gave the id as a JSON integer */
    rtm_str_t event;         /* client_event: its name */
    rtm_str_t data;          /* client_event: its data, as sent */
    rtm_str_t socket_id;     /* client_event: the sender */
    uint64_t count;          /* subscription_count */
} rtm_webhook_event_t;

/* The event's JSON object. Returns it (caller frees; never NULL) with its
 * length in *len. Aborts on OOM. */
char *rtm_webhook_render_event(const rtm_webhook_event_t *ev, size_t *len);

/* {"time_ms":time_ms,"events":[events[0],...]} from n rendered events
 * (copied verbatim). Returns it (caller frees; never NULL) with its length
 * in *len. Aborts on OOM. */
char *rtm_webhook_render_body(uint64_t time_ms, const rtm_str_t *events, size_t n, size_t *len);

#endif
