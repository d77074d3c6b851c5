/* rest_session — the Pusher HTTP API under /apps/{app_id}/: triggering
 * events, channel queries, and terminating a user's connections. */
#ifndef RTM_REST_SESSION_H
#define RTM_REST_SESSION_H

#include "rtm_http.h"
#include "rtm_str.h"
#include "session.h"

/* A request under /apps/{app_id}/: authenticates it and serves route (the
 * path after the app id). While it waits for shards the connection reads
 * nothing more, so pipelined requests are answered in order. */
void rtm_rest_session_handle(rtm_session_t *s, const rtm_http_request_t *req, rtm_str_t app_id,
                             rtm_str_t route);

/* The worker's tick: publishes a shard refused because another owns some of
 * their channels (owners moving) are sent to the owners as of now. */
void rtm_rest_session_tick(rtm_sessions_t *ctx);

/* Frees the publish buffers kept for reuse: when the worker's loop is over. */
void rtm_rest_session_free_spares(rtm_sessions_t *ctx);

/* The connection is closing: its waiting call, if any, answers nobody. */
void rtm_rest_session_detach(rtm_session_t *s);

#endif
