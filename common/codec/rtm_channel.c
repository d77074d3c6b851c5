/* rtm_channel — see rtm_channel.h.
 *
 * The allowed-character set is a const 256-entry table, so validation is one
 * pass with no branches on character classes. Length is checked before
 * content so an over-long name is always reported as over limit. The only
 * place `#` may appear is the leading byte of a server-to-user name, the one
 * shape pusher-js itself generates (PHP SDK's `\A#?[-a-zA-Z0-9_=@,.;]+\z`,
 * narrowed to the user prefix). */
#include "rtm_channel.h"

#include "rtm_error.h"

#include <stdint.h>

/* 1 for every byte allowed in a channel name: A-Z a-z 0-9 _ - = @ , . ; */
static const uint8_t s_allowed[256] = {
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['_'] = 1, ['-'] = 1,
    ['='] = 1,         ['@'] = 1,         [','] = 1,         ['.'] = 1, [';'] = 1,
};

rtm_channel_type_t rtm_channel_type(rtm_str_t name)
{
    if (rtm_str_has_prefix(name, "private-encrypted-"))
        return RTM_CH_ENCRYPTED;
    if (rtm_str_has_prefix(name, "private-"))
        return RTM_CH_PRIVATE;
    if (rtm_str_has_prefix(name, "presence-"))
        return RTM_CH_PRESENCE;
    if (rtm_str_has_prefix(name, RTM_CHANNEL_USER_PREFIX))
        return RTM_CH_USER;
    return RTM_CH_PUBLIC;
}

bool rtm_channel_is_cache(rtm_str_t name)
{
    return rtm_str_has_prefix(name, "cache-") || rtm_str_has_prefix(name, "private-cache-") ||
           rtm_str_has_prefix(name, "presence-cache-") ||
           rtm_str_has_prefix(name, "private-encrypted-cache-");
}

int rtm_channel_validate(rtm_str_t name)
{
    if (name.len > RTM_CHANNEL_MAX_LEN)
        return RTM_ETOOBIG;
    size_t i = 0;
    if (rtm_str_has_prefix(name, RTM_CHANNEL_USER_PREFIX)) {
        i = sizeof(RTM_CHANNEL_USER_PREFIX) - 1;
        if (name.len == i)
            return RTM_EINVAL; /* no user id */
    }
    if (name.len == 0)
        return RTM_EINVAL;
    for (; i < name.len; i++)
        if (!s_allowed[(unsigned char)name.p[i]])
            return RTM_EINVAL;
    return 0;
}
