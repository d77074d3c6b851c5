/* rtm_error — the project's error codes.
 *
 * Negative is failure, always. OS and libuv codes (-errno, small) pass through
 * unchanged; the project's own codes live at -20000 and below so they never
 * collide with them. rtm_strerror() names both kinds. */
#ifndef RTM_ERROR_H
#define RTM_ERROR_H

enum {
    RTM_OK = 0,
    RTM_EAGAIN = -20001,    /* incremental decoder: need more input */
    RTM_EPROTO = -20002,    /* malformed input */
    RTM_ETOOBIG = -20003,   /* input over a configured limit */
    RTM_EINVAL = -20004,    /* well-formed but invalid value */
    RTM_EAUTH = -20005,     /* authentication failed */
    RTM_ENOTFOUND = -20006, /* unknown app, channel, route */
    RTM_EUNAVAIL = -20007,  /* no live shard / upstream unreachable */
    RTM_ETIMEDOUT = -20008, /* upstream did not answer in time */
    RTM_ENOTOWNER = -20009, /* shard does not own the channel */
    RTM_EVERSION = -20010,  /* unsupported wire or protocol version */
    RTM_EHELP = -20011,     /* configuration: --help was asked for */
    RTM_EDENIED = -20012,   /* a peer's key is not on the allow-list */
};

/* A static description of any code: project codes, libuv/errno codes. */
const char *rtm_strerror(int code);

#include <stddef.h>

/* Writes the printf-style message into err[0..err_len) (NUL-terminated,
 * truncated; nothing when err_len is 0) and returns code: the one-line
 * "fail with a message" of parsers that explain their refusals. */
__attribute__((format(printf, 4, 5))) int rtm_error_fmt(char *err, size_t err_len, int code,
                                                        const char *fmt, ...);

#endif
