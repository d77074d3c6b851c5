/* rtm_addr_limit — how many TCP connections the node holds, in all and per
 * client address, against the configured maxima.
 *
 * One table per node process, shared by its workers: every worker accepts,
 * so taking and releasing a slot locks a mutex. That is on the accept path
 * only (once per connection), never on the data path. Addresses are the raw
 * bytes of the peer's IPv4 (4) or IPv6 (16) address; an address is held in
 * the table only while it has connections. */
#ifndef RTM_ADDR_LIMIT_H
#define RTM_ADDR_LIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct rtm_addr_limit rtm_addr_limit_t;

/* A table admitting max_total connections in all and max_per_addr from one
 * address (0: unlimited). Caller owns. */
rtm_addr_limit_t *rtm_addr_limit_new(uint32_t max_total, uint32_t max_per_addr);

/* Frees *l and sets it to NULL. Safe on NULL. */
void rtm_addr_limit_destroy(rtm_addr_limit_t **l);

/* Takes a slot for one connection from addr[0..len) (len <= 16). Returns 0;
 * RTM_ETOOBIG when the node holds max_total; RTM_EAGAIN when addr holds
 * max_per_addr. Thread-safe. */
int rtm_addr_limit_take(rtm_addr_limit_t *l, const void *addr, size_t len);

/* Gives back a slot taken for addr. Thread-safe. */
void rtm_addr_limit_release(rtm_addr_limit_t *l, const void *addr, size_t len);

/* Connections held now (all addresses). */
uint32_t rtm_addr_limit_total(rtm_addr_limit_t *l);

#endif
