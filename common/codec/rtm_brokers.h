/* rtm_brokers — a broker list: who the broker tier is made of.
 *
 * A list is a set of broker identities; an identity is the broker's ingress
 * endpoint exactly as written ("tcp://host:port", its egress is port + 1).
 * Identities are compared as bytes, so every process must write a broker the
 * same way (the same file or the same DNS name). Lists come from a comma list
 * (--brokers), from the lines of a brokers file (blank lines and # comments
 * ignored) or from DNS discovery, all as text; a list with a bad or repeated
 * entry is refused whole, naming the entry. The digest identifies the set,
 * whatever the order: heartbeats carry it so processes can tell when their
 * lists disagree. Pure: no I/O. */
#ifndef RTM_BROKERS_H
#define RTM_BROKERS_H

#include "rtm_str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_BROKERS_MAX 1024 /* most brokers in one list */

typedef struct {
    char **ids;      /* n identities, NUL-terminated, owned */
    uint64_t *seeds; /* n rendezvous seeds (rtm_rendezvous_seed of ids[i]), owned */
    uint32_t n;
    uint64_t digest; /* of the set of ids: equal sets, equal digests; never 0 */
} rtm_brokers_t;

/* Parses text[0..len): entries separated by `sep` (',' for --brokers, '\n'
 * for a file or a DNS answer). Around each entry spaces, tabs and CR are
 * trimmed; with sep '\n', empty lines and lines starting with '#' are
 * skipped. Every entry must be tcp://host:port with port 1-65534, and none may
 * repeat. On success returns the count (0 is allowed: an empty list) and
 * *out owns the list; on failure returns RTM_EINVAL or RTM_ETOOBIG with a
 * message naming `what` and the entry in err, and *out is empty. */
int rtm_brokers_parse(rtm_brokers_t *out, const char *text, size_t len, char sep, const char *what,
                      char *err, size_t err_len);

/* Index of identity in list, or -1. */
int rtm_brokers_find(const rtm_brokers_t *list, rtm_str_t identity);

/* The digest of a set of n identities (order-independent); never 0, which
 * on the wire means "not told". Aborts on OOM. */
uint64_t rtm_brokers_digest(char *const *ids, uint32_t n);

/* Compares two lists as sets: marks kept_old[i] for every entry of old also
 * in new, is_new[j] for every entry of new not in old (either array may be
 * NULL). Returns the number of entries that changed (added + removed). */
uint32_t rtm_brokers_diff(const rtm_brokers_t *old, const rtm_brokers_t *new_list, bool *kept_old,
                          bool *is_new);

/* Frees what list owns and leaves it empty. Safe on an empty list. */
void rtm_brokers_free(rtm_brokers_t *list);

#endif
