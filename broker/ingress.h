/* ingress — the broker's ROUTER: its ingress zserver, with routing ids.
 *
 * A peer is known by its routing id: the Identity it announced (a node
 * worker's stable id, docs/wire.md §1), or one we make up for a peer that
 * announced none (0x00 + a 4-byte counter, as libzmq's ROUTER does; an
 * announced id never starts with 0x00). A peer that connects with the id of
 * one already here takes it over (libzmq's ROUTER_HANDOVER): the old
 * connection is closed, so a node worker that reconnects stays the same peer
 * and keeps its channel state. Replies go to an id; one for an id that is not
 * connected is refused (libzmq's ROUTER_MANDATORY), so the broker counts it. */
#ifndef RTM_INGRESS_H
#define RTM_INGRESS_H

#include "zserver.h"

typedef struct rtm_ingress rtm_ingress_t;

/* A message of n frames from the peer `identity`; user_id: its CURVE key as
 * Z85 text, or "" (all borrowed for the call). */
typedef void (*rtm_ingress_cb)(void *arg, rtm_str_t identity, const rtm_str_t *frames, size_t n,
                               const char *user_id);

/* The ROUTER on tcp://host:port with cfg (socket_type and peer_types are set
 * here). Returns it, or NULL after logging why. */
rtm_ingress_t *rtm_ingress_new(const char *host, int port, const rtm_zserver_config_t *cfg,
                               rtm_ingress_cb cb, void *arg);

/* Queues body as a one-frame message to the peer `identity`. Returns 0,
 * RTM_ENOTFOUND (no such peer connected) or RTM_EAGAIN (its queue is full). */
int rtm_ingress_reply(rtm_ingress_t *in, rtm_str_t identity, rtm_str_t body);

/* Its server, for the poll loop (items, service, flush). */
rtm_zserver_t *rtm_ingress_server(rtm_ingress_t *in);

/* Destroys the server (no linger) and frees *in; NULL-safe. */
void rtm_ingress_destroy(rtm_ingress_t **in);

#endif
