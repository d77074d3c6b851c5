/* libFuzzer target for rtm_brokers_parse: a broker list as a brokers file or
 * a DNS answer gives it (lines) or as --brokers does (commas); the first byte
 * chooses (odd: lines), the rest is the text. Whatever the text, parsing
 * returns the count with every identity tcp://host:port, found at its own
 * index, with its rendezvous seed and the set's non-zero digest; or
 * RTM_EINVAL / RTM_ETOOBIG with a NUL-terminated message and an empty list.
 * A parsed list differs from itself in nothing and from the empty list in
 * every entry. */
#include "rtm_brokers.h"
#include "rtm_error.h"
#include "rtm_rendezvous.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_check_list(rtm_brokers_t *list, int rc)
{
    if ((uint32_t)rc != list->n || list->n > RTM_BROKERS_MAX || list->digest == 0 ||
        list->digest != rtm_brokers_digest(list->ids, list->n))
        abort();
    for (uint32_t i = 0; i < list->n; i++) {
        rtm_str_t id = rtm_str_cstr(list->ids[i]);
        if (strncmp(list->ids[i], "tcp://", 6) != 0 || rtm_brokers_find(list, id) != (int)i ||
            list->seeds[i] != rtm_rendezvous_seed(id))
            abort();
    }
    rtm_brokers_t empty = {0};
    if (rtm_brokers_diff(list, list, NULL, NULL) != 0 ||
        rtm_brokers_diff(&empty, list, NULL, NULL) != list->n)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char sep = (data[0] & 1) ? '\n' : ',';
    rtm_brokers_t list;
    memset(&list, 0xa5, sizeof list); /* parse must set every field */
    char err[256];
    memset(err, 'x', sizeof err);
    int rc =
        rtm_brokers_parse(&list, (const char *)data + 1, size - 1, sep, "fuzz", err, sizeof err);
    if (rc >= 0)
        s_check_list(&list, rc);
    else if ((rc != RTM_EINVAL && rc != RTM_ETOOBIG) || !memchr(err, '\0', sizeof err) ||
             list.n != 0 || list.ids || list.seeds)
        abort();
    rtm_brokers_free(&list);
    return 0;
}
