/* rtm_process — see rtm_process.h. A server holds one descriptor per client,
 * and the usual soft default (1024) is far below what the hard limit allows,
 * so both binaries take the whole hard limit at start. */
#include "rtm_process.h"

#include "rtm_log.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

long rtm_process_raise_nofile(const char *binary)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0) {
        rtm_log(RTM_LOG_WARN, "event=nofile binary=%s error=\"%s\"", binary, strerror(errno));
        return -1;
    }
    rlim_t before = lim.rlim_cur;
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
            lim.rlim_cur = before;
    }
    rtm_log(RTM_LOG_INFO, "event=nofile binary=%s soft_was=%llu soft=%llu hard=%llu", binary,
            (unsigned long long)before, (unsigned long long)lim.rlim_cur,
            (unsigned long long)lim.rlim_max);
    return (long)lim.rlim_cur;
}
