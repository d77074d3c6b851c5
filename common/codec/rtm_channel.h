/* rtm_channel — Pusher channel names: type, cache flag, validity.
 *
 * Classification uses the same anchored prefix tests as pusher-js, in the
 * same order, so server and client always agree on whether a channel needs
 * auth (soketi's unanchored regexes make `my-private-room` private; we do
 * not). */
#ifndef RTM_CHANNEL_H
#define RTM_CHANNEL_H

#include "rtm_str.h"

#include <stdbool.h>

/* Longest accepted channel name in bytes (node SDK and soketi; docs say 164). */
#define RTM_CHANNEL_MAX_LEN 200

/* Prefix of the server-to-user channel pusher-js joins after sign-in. */
#define RTM_CHANNEL_USER_PREFIX "#server-to-user-"

typedef enum {
    RTM_CH_PUBLIC,    /* no prefix, or cache- : no auth */
    RTM_CH_PRIVATE,   /* private- (and private-cache-): socket_id:channel signature */
    RTM_CH_ENCRYPTED, /* private-encrypted- (and its cache-): signed like private */
    RTM_CH_PRESENCE,  /* presence- (and presence-cache-): signature over channel_data too */
    RTM_CH_USER,      /* #server-to-user-<id>: only for a connection signed in as <id> */
} rtm_channel_type_t;

/* Type by anchored prefix, first match wins: private-encrypted-, private-,
 * presence-, #server-to-user-; anything else is public. Does not validate. */
rtm_channel_type_t rtm_channel_type(rtm_str_t name);

/* True for cache channels: anchored cache-, private-cache-, presence-cache-,
 * private-encrypted-cache-. */
bool rtm_channel_is_cache(rtm_str_t name);

/* 0 when name is a valid channel name; RTM_ETOOBIG when longer than
 * RTM_CHANNEL_MAX_LEN bytes; RTM_EINVAL when empty or when it holds a byte
 * outside A-Z a-z 0-9 _ - = @ , . ; — except that a name starting with
 * RTM_CHANNEL_USER_PREFIX followed by at least one allowed byte is valid. */
int rtm_channel_validate(rtm_str_t name);

#endif
