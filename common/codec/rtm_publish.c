/* rtm_publish — see rtm_publish.h.
 *
 * One function, so that the node's REST parser and the broker's ingress say
 * the same thing about the same event: the broker is the last line, and the
 * messages are the REST API's, so a service sees the errors a REST client
 * would. */
#include "rtm_publish.h"

#include "rtm_channel.h"
#include "rtm_error.h"
#include "rtm_pusher.h"

rtm_publish_limits_t rtm_publish_limits(const rtm_app_t *app)
{
    rtm_publish_limits_t lim = RTM_PUBLISH_LIMITS_DEFAULT;
    lim.max_data = app->max_event_payload;
    return lim;
}

static int s_check_channels(const rtm_publish_event_t *ev, const rtm_publish_limits_t *lim,
                            const char *at, char *err, size_t err_len)
{
    if (ev->n_channels == 0)
        return rtm_error_fmt(err, err_len, RTM_EINVAL, "%schannels: must not be empty", at);
    if (ev->n_channels > lim->max_channels)
        return rtm_error_fmt(err, err_len, RTM_EINVAL,
                             "%schannels: %zu channels is over the limit of %zu", at,
                             ev->n_channels, lim->max_channels);
    bool encrypted = false;
    for (size_t i = 0; i < ev->n_channels; i++) {
        if (rtm_channel_validate(ev->channels[i]) != 0)
            return rtm_error_fmt(err, err_len, RTM_EINVAL,
                                 "%schannels[%zu]: invalid channel name (1 to %d bytes of "
                                 "A-Z a-z 0-9 _ - = @ , . ;)",
                                 at, i, RTM_CHANNEL_MAX_LEN);
        encrypted |= rtm_channel_type(ev->channels[i]) == RTM_CH_ENCRYPTED;
    }
    if (encrypted && ev->n_channels > 1)
        return rtm_error_fmt(err, err_len, RTM_EINVAL,
                             "%schannels: an encrypted channel must be triggered on its own", at);
    return 0;
}

int rtm_publish_check(const rtm_publish_event_t *ev, const rtm_publish_limits_t *lim,
                      const char *at, char *err, size_t err_len)
{
    rtm_publish_limits_t l = lim ? *lim : RTM_PUBLISH_LIMITS_DEFAULT;
    at = at ? at : "";
    if (ev->name.len == 0 || ev->name.len > l.max_name)
        return rtm_error_fmt(err, err_len, RTM_EINVAL, "%sname: must be 1 to %zu bytes", at,
                             l.max_name);
    if (ev->data.len > l.max_data)
        return rtm_error_fmt(err, err_len, RTM_ETOOBIG,
                             "%sdata: %zu bytes is over the limit of %zu bytes", at, ev->data.len,
                             l.max_data);
    int rc = s_check_channels(ev, &l, at, err, err_len);
    if (rc == 0 && ev->socket_id.p && !rtm_socket_id_valid(ev->socket_id))
        rc = rtm_error_fmt(err, err_len, RTM_EINVAL, "%ssocket_id: must match ^\\d+\\.\\d+$", at);
    return rc;
}
