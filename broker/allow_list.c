/* allow_list — see allow_list.h. zcertstore_lookup re-reads the directory
 * when it changed, so revoking a key takes effect at the next handshake; a
 * connection already in keeps going, as it did behind libzmq's ZAP. */
#include "allow_list.h"

#include "rtm_log.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rtm_allow_list {
    zcertstore_t *store; /* the allowed public certificates */
    char own[41];        /* the broker tier's public key */
    rtm_allow_list_stats_t stats;
};

rtm_allow_list_t *rtm_allow_list_new(const char *own, const char *allow_dir)
{
    zdir_t *dir = allow_dir && *allow_dir ? zdir_new(allow_dir, NULL) : NULL;
    if (!dir) {
        rtm_log(RTM_LOG_ERROR,
                "event=bad_config key=--curve-allow dir=\"%s\" reason=\"not a readable directory\"",
                allow_dir ? allow_dir : "");
        return NULL;
    }
    zdir_destroy(&dir);
    rtm_allow_list_t *a = calloc(1, sizeof *a);
    if (!a || !(a->store = zcertstore_new(allow_dir)))
        abort();
    snprintf(a->own, sizeof a->own, "%s", own);
    return a;
}

bool rtm_allow_list_check(rtm_allow_list_t *a, const uint8_t key[32])
{
    char text[41];
    zmq_z85_encode(text, key, 32);
    bool ok = strcmp(text, a->own) == 0 || zcertstore_lookup(a->store, text) != NULL;
    if (ok)
        a->stats.allowed++;
    else
        a->stats.refused++;
    return ok;
}

const rtm_allow_list_stats_t *rtm_allow_list_stats(const rtm_allow_list_t *a)
{
    return &a->stats;
}

void rtm_allow_list_destroy(rtm_allow_list_t **ap)
{
    rtm_allow_list_t *a = *ap;
    if (!a)
        return;
    zcertstore_destroy(&a->store);
    free(a);
    *ap = NULL;
}
