/* rtm_broker_link — how a node dials a broker: the limits and the CURVE keys
 * that every node link to a broker shares (the egress hub's SUB, each
 * worker's DEALER), in one place. */
#ifndef RTM_BROKER_LINK_H
#define RTM_BROKER_LINK_H

#include "rtm_tier.h"
#include "rtm_zlink.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    bool curve; /* CURVE toward the brokers (keys below), else plain text */
    uint8_t server_key[32], public_key[32], secret_key[32];
} rtm_broker_keys_t;

/* Decodes the node's tier keys into k. Returns 0 or a negative rtm error. */
int rtm_broker_keys_load(rtm_broker_keys_t *k, const rtm_tier_keys_t *keys);

/* The options of a link of socket_type ("SUB", "DEALER"; identity: the
 * DEALER's routing id, or NULL) with k's keys, borrowed for the link's life. */
rtm_zlink_opts_t rtm_broker_link_opts(const rtm_broker_keys_t *k, const char *socket_type,
                                      const char *identity);

#endif
