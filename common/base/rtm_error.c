/* rtm_error — names for the project's error codes; see rtm_error.h. */
#include "rtm_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *rtm_strerror(int code)
{
    switch (code) {
    case RTM_OK: return "ok";
    case RTM_EAGAIN: return "need more input";
    case RTM_EPROTO: return "malformed input";
    case RTM_ETOOBIG: return "over limit";
    case RTM_EINVAL: return "invalid value";
    case RTM_EAUTH: return "authentication failed";
    case RTM_ENOTFOUND: return "not found";
    case RTM_EUNAVAIL: return "unavailable";
    case RTM_ETIMEDOUT: return "timed out";
    case RTM_ENOTOWNER: return "not the owner";
    case RTM_EVERSION: return "unsupported version";
    case RTM_EHELP: return "help requested";
    case RTM_EDENIED: return "key not allowed";
    default: break;
    }
    if (code < 0 && code > -4096)
        return strerror(-code); /* libuv codes are -errno on Unix */
    return "unknown error";
}

int rtm_error_fmt(char *err, size_t err_len, int code, const char *fmt, ...)
{
    if (err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return code;
}
