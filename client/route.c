/* route — see route.h.
 *
 * Kept apart from the sockets so that the rules deciding where an event goes
 * and what the caller is told can be tested without a broker; the sockets
 * side (rtmesh.c) only feeds it heartbeats and answers. */
#include "route.h"

#include "rtm_error.h"
#include "rtm_publish.h"
#include "rtm_rendezvous.h"
#include "rtm_wire.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void rtm_client_link_heard(rtm_client_link_t *l, uint64_t epoch, bool unlisted, bool joining,
                           uint64_t now)
{
    bool again = !rtm_wire_live(l->last_hb_ms, now) || l->epoch != epoch ||
                 (l->unlisted && !unlisted) || (joining && !l->joining);
    if (again) {
        /* back after silence, a restart or a leave, or saying it is back (we
         * never heard it go: a handle just started): the nodes subscribe at
         * its egress meanwhile, so it is routed to only once they have */
        l->joining |= l->last_hb_ms != 0 || joining;
        l->first_hb_ms = now;
    }
    l->epoch = epoch;
    l->last_hb_ms = now;
    l->unlisted = unlisted;
}

bool rtm_client_link_live(const rtm_client_link_t *l, uint64_t now)
{
    return rtm_wire_live(l->last_hb_ms, now) && rtm_wire_live(l->last_reply_ms, now) &&
           !l->unlisted && (!l->joining || now - l->first_hb_ms >= RTM_WIRE_JOIN_MS);
}

int rtm_client_owner(rtm_str_t app, rtm_str_t channel, const rtm_client_link_t *links,
                     const uint64_t *seeds, bool *alive, uint32_t n, uint64_t now)
{
    for (uint32_t i = 0; i < n; i++)
        alive[i] = rtm_client_link_live(&links[i], now);
    return rtm_rendezvous_owner(app, channel, seeds, alive, n);
}

int rtm_client_error(int status)
{
    switch (status) {
    case 0: return RTMESH_OK;
    case RTM_ENOTFOUND: return RTMESH_ENOAPP;
    case RTM_EINVAL: return RTMESH_EINVAL;
    case RTM_ETOOBIG: return RTMESH_ETOOBIG;
    case RTM_EAUTH: return RTMESH_EAUTH;
    case RTM_ENOTOWNER:
    case RTM_EUNAVAIL: return RTMESH_ENOOWNER;
    case RTM_ETIMEDOUT: return RTMESH_ETIMEDOUT;
    default: return RTMESH_EPROTO;
    }
}

bool rtm_client_retryable(int status)
{
    return status == RTM_ENOTOWNER || status == RTM_EUNAVAIL;
}

int rtm_client_check_event(const rtmesh_event_t *ev, long at_index, char *reason, size_t reason_len)
{
    char at[32] = "";
    if (at_index >= 0)
        snprintf(at, sizeof at, "batch[%ld].", at_index);
    if (!ev || !ev->name || (!ev->channels && ev->n_channels) || (!ev->data && ev->data_len))
        return rtm_error_fmt(reason, reason_len, RTMESH_EINVAL, "%sevent: a NULL pointer", at);
    if (ev->n_channels > RTMESH_MAX_CHANNELS)
        return rtm_error_fmt(reason, reason_len, RTMESH_ETOOBIG,
                             "%schannels: %zu channels is over the limit of %d", at, ev->n_channels,
                             RTMESH_MAX_CHANNELS);
    rtm_str_t channels[RTMESH_MAX_CHANNELS];
    for (size_t i = 0; i < ev->n_channels; i++) {
        if (!ev->channels[i])
            return rtm_error_fmt(reason, reason_len, RTMESH_EINVAL, "%schannels[%zu]: NULL", at, i);
        channels[i] = rtm_str_cstr(ev->channels[i]);
    }
    rtm_publish_limits_t lim = RTM_PUBLISH_LIMITS_DEFAULT;
    lim.max_data = SIZE_MAX; /* the app's limit: the brokers know it */
    rtm_publish_event_t pe = {.name = rtm_str_cstr(ev->name),
                              .data = rtm_str(ev->data, ev->data_len),
                              .socket_id =
                                  ev->socket_id ? rtm_str_cstr(ev->socket_id) : rtm_str(NULL, 0),
                              .channels = channels,
                              .n_channels = ev->n_channels};
    int rc = rtm_publish_check(&pe, &lim, at, reason, reason_len);
    return rc < 0 ? rtm_client_error(rc) : 0;
}
