/* rtm_upstream — see upstream.h.
 *
 * Liveness is judged per worker from the brokers' egress heartbeats (which
 * the node's egress hub hears once and hands every worker, with the time it
 * heard them) and the replies its DEALER gets to its own heartbeats, so a
 * worker never routes to a shard the node cannot hear or it cannot reach. Requests are kept in a
 * hash by id and in a list in send order; all requests share one timeout, so
 * the list is also deadline order and expiry only looks at its head. A request
 * that fails before it is sent still waits for the next tick to report, so a
 * callback never runs inside the call that made the request.
 *
 * A stamped PUBLISH is never given up sooner than RTM_WIRE_HOLD_MS after its
 * stamp was heard, so that its broker refuses it if it arrives later
 * (rtm_wire.h): when its broker falls silent it is held until then, still
 * answered by an ACK that comes meanwhile, then refused. Its deadline moves
 * earlier, so it may wait behind earlier requests (answered in a round trip,
 * or held themselves). */
#include "upstream.h"

#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_rendezvous.h"
#include "rtm_tier.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define S_REQUEST_MS RTM_WIRE_REQUEST_MS /* a shard that has not acked by then is unavailable */

struct rtm_pending {
    UT_hash_handle hh;
    uint64_t id;
    uint64_t deadline_ms; /* given up then (reported at the first tick when no earlier one waits) */
    uint64_t hold_ms;     /* a stamped PUBLISH: not given up before this (RTM_WIRE_HOLD_MS) */
    int status;           /* preset when the send failed or its broker fell silent; 1 = waiting */
    rtm_upstream_ack_cb cb;
    void *arg;
    const rtm_shard_link_t *link; /* where it went; NULL once that link is freed */
    rtm_pending_t *next;          /* send order */
};

static uint64_t s_now(const rtm_upstream_t *up)
{
    return uv_now(up->loop);
}

static void s_finish(rtm_upstream_t *up, rtm_pending_t *p, int status, rtm_str_t json)
{
    HASH_DEL(up->pending, p);
    p->status = status;
    p->cb(p->arg, status, json);
    /* the list unlinks lazily from the head: mark done, free there */
    p->cb = NULL;
}

/* Answers, unavailable, the requests still waiting on `link`: at once, or a
 * stamped PUBLISH at its hold (or forgets the link they went to, when `answer`
 * is false: it is being freed). */
static void s_drop_requests(rtm_upstream_t *up, const rtm_shard_link_t *link, bool answer,
                            uint64_t now)
{
    for (rtm_pending_t *p = up->oldest; p; p = p->next) {
        if (p->link != link || !p->cb)
            continue;
        if (answer && p->status == 1 && p->hold_ms > now) {
            p->status = RTM_EUNAVAIL; /* an ACK meanwhile still answers it */
            p->deadline_ms = p->hold_ms;
        } else if (answer && p->status == 1) {
            s_finish(up, p, RTM_EUNAVAIL, rtm_str(NULL, 0));
        } else if (!answer) {
            p->link = NULL;
        }
    }
}

static void s_expire(rtm_upstream_t *up, uint64_t now, bool all)
{
    while (up->oldest) {
        rtm_pending_t *p = up->oldest;
        if (p->cb) {
            if (!all && p->deadline_ms > now)
                break;
            s_finish(up, p, p->status == 1 ? (all ? RTM_EUNAVAIL : RTM_ETIMEDOUT) : p->status,
                     rtm_str(NULL, 0));
        }
        up->oldest = p->next;
        if (!up->oldest)
            up->newest = NULL;
        free(p);
    }
}

/* Queues msg on the link's DEALER for this loop turn's write. */
static int s_send(rtm_shard_link_t *link, const rtm_wire_msg_t *msg)
{
    char stack[16384], *buf; /* most bodies: no allocation */
    int len = rtm_wire_encode_buf(msg, stack, sizeof stack, &buf);
    if (len < 0)
        return len;
    rtm_str_t frame = rtm_str(buf, (size_t)len);
    int rc = rtm_zlink_send(link->ingress, &frame, 1);
    if (buf != stack)
        free(buf);
    return rc;
}

/* Reports when the live set or the list changed: owners may have moved. */
static void s_check_owners(rtm_upstream_t *up)
{
    rtm_upstream_live(up, up->alive);
    if (!up->owners_dirty &&
        memcmp(up->alive, up->was_alive, up->n_shards * sizeof *up->alive) == 0)
        return;
    up->owners_dirty = false;
    uint64_t now = s_now(up);
    for (uint32_t i = 0; i < up->n_shards; i++) { /* each worker's own view */
        const rtm_shard_link_t *l = up->shards[i];
        if (up->was_alive[i] == up->alive[i])
            continue;
        rtm_log(up->alive[i] ? RTM_LOG_INFO : RTM_LOG_WARN,
                "event=shard_%s shard=%u broker=%s epoch=%llu worker=%s",
                up->alive[i] ? "up" : "down", i, l->identity, (unsigned long long)l->epoch, up->id);
        /* A silent broker will not answer what it was sent: refuse it now, not at
         * S_REQUEST_MS. One that is leaving or unlisted still acknowledges. */
        if (!up->alive[i] &&
            (!rtm_wire_live(l->last_hb_ms, now) || !rtm_wire_live(l->last_reply_ms, now)))
            s_drop_requests(up, l, true, now);
    }
    memcpy(up->was_alive, up->alive, up->n_shards * sizeof *up->alive);
    up->ev->owners_changed(up->ev->ctx);
}

static void s_reap(rtm_upstream_t *up, uint64_t now, bool all);

void rtm_upstream_tick(rtm_upstream_t *up)
{
    uint64_t now = s_now(up);
    if (!up->last_hb_sent_ms || now - up->last_hb_sent_ms >= RTM_WIRE_HB_MS) {
        up->last_hb_sent_ms = now;
        rtm_wire_msg_t hb = {
            .type = RTM_WIRE_NODE_HB, .node = rtm_str_cstr(up->id), .digest = up->digest};
        for (uint32_t i = 0; i < up->n_shards; i++) {
            s_send(up->shards[i], &hb); /* EAGAIN: shard unreachable, liveness shows it */
        }
    }
    s_expire(up, now, false);
    s_reap(up, now, false);
    s_check_owners(up);
}

/* Notes whether a broker's list agrees with ours; logs and counts a change. */
static void s_digest(rtm_upstream_t *up, rtm_shard_link_t *link, uint64_t digest)
{
    bool mismatch = digest != 0 && digest != up->digest;
    if (mismatch == link->mismatch)
        return;
    link->mismatch = mismatch;
    if (mismatch)
        RTM_COUNT(up->metrics, broker_list_mismatches, 1);
    rtm_log(mismatch ? RTM_LOG_WARN : RTM_LOG_INFO,
            "event=%s broker=%s broker_digest=%016llx digest=%016llx worker=%s",
            mismatch ? "broker_list_mismatch" : "broker_list_agrees", link->identity,
            (unsigned long long)digest, (unsigned long long)up->digest, up->id);
}

/* The heartbeat number a broker's SHARD_HB carried, heard at now: the
 * newest kept (an egress heartbeat handed on by the hub may have been heard
 * before a reply this worker read since). */
static void s_heard_beat(rtm_shard_link_t *link, uint64_t beat, uint64_t now)
{
    if (now < link->beat_ms)
        return;
    link->beat = beat;
    link->beat_ms = now;
}

static void s_on_ingress(void *arg, rtm_zlink_t *zl, const rtm_str_t *frames, size_t n)
{
    rtm_shard_link_t *link = arg;
    rtm_upstream_t *up = link->up;
    rtm_wire_msg_t msg;
    /* a body is one frame: a message of any other shape is malformed */
    int rc = n == 1 ? rtm_wire_decode(frames[0].p, frames[0].len, &msg) : RTM_EPROTO;
    if (rc < 0) {
        RTM_COUNT_ERR(up->metrics, RTM_ERR_UPSTREAM_BAD);
    } else if (msg.type == RTM_WIRE_SHARD_HB) {
        link->last_reply_ms = s_now(up);
        s_heard_beat(link, msg.beat, link->last_reply_ms);
        s_digest(up, link, msg.digest);
    } else if (msg.type == RTM_WIRE_ACK) {
        link->last_reply_ms = s_now(up);
        rtm_pending_t *p;
        HASH_FIND(hh, up->pending, &msg.id, sizeof msg.id, p);
        if (p)
            s_finish(up, p, msg.status, msg.json);
    }
}

/* The link a heartbeat names: by identity, or for a broker that predates
 * identities by its index (the old fixed-list contract); NULL if unlisted. */
static rtm_shard_link_t *s_link_of(rtm_upstream_t *up, const rtm_wire_msg_t *msg)
{
    if (msg->broker.len == 0)
        return msg->shard < up->n_shards ? up->shards[msg->shard] : NULL;
    for (uint32_t i = 0; i < up->n_shards; i++)
        if (rtm_str_eq_cstr(msg->broker, up->shards[i]->identity))
            return up->shards[i];
    for (rtm_shard_link_t *r = up->retired; r; r = r->next)
        if (rtm_str_eq_cstr(msg->broker, r->identity))
            return r;
    return NULL;
}

/* The link's place in the current list (for logs). */
static uint32_t s_index_of(const rtm_upstream_t *up, const rtm_shard_link_t *link)
{
    uint32_t i = 0;
    while (i < up->n_shards && up->shards[i] != link)
        i++;
    return i;
}

void rtm_upstream_heartbeat(rtm_upstream_t *up, rtm_str_t body, uint64_t now)
{
    rtm_wire_msg_t msg;
    rtm_shard_link_t *s = NULL;
    if (rtm_wire_decode(body.p, body.len, &msg) < 0 || msg.type != RTM_WIRE_SHARD_HB ||
        !(s = s_link_of(up, &msg))) {
        /* an unlisted sender is a heartbeat still queued from a broker just
         * removed, or a broker whose --self is not written as we list it */
        RTM_COUNT_ERR(up->metrics, RTM_ERR_UPSTREAM_BAD);
        return;
    }
    /* a restart quicker than the dead time: logged here; it is routed to again
     * (shard_up) once it has been heard for RTM_WIRE_JOIN_MS */
    if (rtm_wire_live(s->last_hb_ms, now) && s->epoch != msg.epoch && !s->retired)
        rtm_log(RTM_LOG_INFO, "event=shard_restarted shard=%u broker=%s epoch=%llu worker=%s",
                s_index_of(up, s), s->identity, (unsigned long long)msg.epoch, up->id);
    bool unlisted = msg.broker.len > 0 && msg.shard == RTM_WIRE_UNLISTED;
    if (!rtm_wire_live(s->last_hb_ms, now) || s->epoch != msg.epoch || (s->unlisted && !unlisted) ||
        (msg.joining && !s->joining)) {
        /* heard (again): a broker back after silence, a restart or a leave is
         * routed to only RTM_WIRE_JOIN_MS later, when every node's SUB has
         * reconnected to its egress (the first hearing at start is not,
         * unless the broker says it is joining a mesh that ran without it) */
        s->joining |= s->last_hb_ms != 0 || msg.joining;
        s->first_hb_ms = now;
    }
    s->epoch = msg.epoch;
    s_heard_beat(s, msg.beat, now);
    s->last_hb_ms = now;
    s->unlisted = unlisted;
    s_digest(up, s, msg.digest);
}

/* A lost link needs nothing: liveness follows the heartbeats and replies. */
static void s_on_link_state(void *arg, rtm_zlink_t *zl, bool ready, int why)
{
    rtm_shard_link_t *link = arg;
    rtm_log(RTM_LOG_DEBUG, "event=tier_link_%s broker=%s link=ingress error=\"%s\" worker=%s",
            ready ? "up" : "down", link->identity, ready ? "" : rtm_strerror(why), link->up->id);
}

static void s_free_link(rtm_shard_link_t *link)
{
    s_drop_requests(link->up, link, false, 0);
    rtm_zlink_close(&link->ingress);
    free(link->identity);
    free(link);
}

/* An unlisted broker may still acknowledge publishes that nodes which have
 * not re-read their list yet send it (and the egress hub stays subscribed
 * there): the link is retired (no longer routed to, its heartbeats still
 * heard) and closed only once the broker has fallen silent (s_reap). */
static void s_retire(rtm_upstream_t *up, rtm_shard_link_t *link)
{
    link->retired = true;
    link->next = up->retired;
    up->retired = link;
}

/* Takes a retired link back when its broker is listed again. */
static rtm_shard_link_t *s_unretire(rtm_upstream_t *up, const char *identity)
{
    for (rtm_shard_link_t **pp = &up->retired; *pp; pp = &(*pp)->next) {
        rtm_shard_link_t *link = *pp;
        if (strcmp(link->identity, identity) != 0)
            continue;
        *pp = link->next;
        link->next = NULL;
        link->retired = false;
        return link;
    }
    return NULL;
}

/* Closes the retired links whose broker is silent (or all of them). */
static void s_reap(rtm_upstream_t *up, uint64_t now, bool all)
{
    for (rtm_shard_link_t **pp = &up->retired; *pp;) {
        rtm_shard_link_t *link = *pp;
        if (!all && rtm_wire_live(link->last_hb_ms, now)) {
            pp = &link->next;
            continue;
        }
        *pp = link->next;
        if (!all)
            rtm_log(RTM_LOG_INFO, "event=broker_retired broker=%s worker=%s", link->identity,
                    up->id);
        s_free_link(link);
    }
}

/* The DEALER to the broker `identity` (a checked tcp://host:port). */
static rtm_shard_link_t *s_link_new(rtm_upstream_t *up, const char *identity)
{
    rtm_shard_link_t *link = calloc(1, sizeof *link);
    if (!link || !(link->identity = strdup(identity)))
        abort();
    link->up = up;
    link->ingress_ev = (rtm_zlink_events_t){link, s_on_ingress, s_on_link_state};
    /* a stable identity lets the broker keep this worker's state across a
     * TCP reconnect (ROUTER_HANDOVER); unique per worker and process start */
    rtm_zlink_opts_t o = rtm_broker_link_opts(&up->keys, "DEALER", up->id);
    link->ingress = rtm_zlink_new(up->loop, identity, &o, &link->ingress_ev);
    return link;
}

uint32_t rtm_upstream_set_brokers(rtm_upstream_t *up, const rtm_brokers_t *list)
{
    uint32_t n = list->n, changed = 0;
    rtm_shard_link_t **links = calloc(n ? n : 1, sizeof *links);
    uint64_t *seeds = calloc(n ? n : 1, sizeof *seeds);
    bool *alive = calloc(n ? n : 1, sizeof *alive), *was = calloc(n ? n : 1, sizeof *was);
    if (!links || !seeds || !alive || !was)
        abort();
    for (uint32_t i = 0; i < up->n_shards; i++) { /* keep or close the links we have */
        rtm_shard_link_t *link = up->shards[i];
        int at = rtm_brokers_find(list, rtm_str_cstr(link->identity));
        if (at >= 0) {
            links[at] = link;
            was[at] = up->was_alive[i];
            continue;
        }
        changed++;
        up->owners_dirty |= up->was_alive[i];
        rtm_log(RTM_LOG_INFO, "event=broker_unlisted broker=%s worker=%s", link->identity, up->id);
        s_retire(up, link);
    }
    for (uint32_t i = 0; i < n; i++) { /* connect the brokers we lack */
        seeds[i] = list->seeds[i];
        if (links[i])
            continue;
        changed++;
        rtm_log(RTM_LOG_INFO, "event=broker_listed broker=%s worker=%s", list->ids[i], up->id);
        if ((links[i] = s_unretire(up, list->ids[i])))
            continue;
        links[i] = s_link_new(up, list->ids[i]);
        links[i]->seed = list->seeds[i];
        links[i]->joining = up->started; /* the first list is not joining: nobody routes yet */
    }
    free(up->shards);
    free(up->seeds);
    free(up->alive);
    free(up->was_alive);
    up->shards = links;
    up->seeds = seeds;
    up->alive = alive;
    up->was_alive = was;
    up->n_shards = n;
    if (up->digest != list->digest) { /* re-judge every broker's list against ours */
        up->digest = list->digest;
        for (uint32_t i = 0; i < n; i++)
            links[i]->mismatch = false;
    }
    if (changed)
        rtm_log(RTM_LOG_INFO, "event=broker_list brokers=%u changed=%u digest=%016llx worker=%s", n,
                changed, (unsigned long long)up->digest, up->id);
    return changed;
}

int rtm_upstream_start(rtm_upstream_t *up, uv_loop_t *loop, const rtm_brokers_t *list,
                       const rtm_tier_keys_t *keys, const char *id, const rtm_upstream_events_t *ev,
                       rtm_metrics_t *metrics)
{
    *up = (rtm_upstream_t){.loop = loop, .ev = ev, .metrics = metrics, .next_id = 1};
    snprintf(up->id, sizeof up->id, "%s", id);
    int rc = rtm_broker_keys_load(&up->keys, keys);
    if (rc < 0)
        return rc;
    rtm_upstream_set_brokers(up, list);
    up->started = true;
    return 0;
}

const char *rtm_upstream_identity(const rtm_upstream_t *up, uint32_t shard)
{
    return up->shards[shard]->identity;
}

size_t rtm_upstream_brokers(rtm_upstream_t *up, rtm_metrics_shard_t **out)
{
    uint64_t now = s_now(up);
    size_t n = up->n_shards;
    for (rtm_shard_link_t *r = up->retired; r; r = r->next)
        n++;
    rtm_metrics_shard_t *m = calloc(n ? n : 1, sizeof *m);
    if (!m)
        abort();
    rtm_upstream_live(up, up->alive);
    for (uint32_t i = 0; i < up->n_shards; i++) {
        const rtm_shard_link_t *l = up->shards[i];
        bool heard = rtm_wire_live(l->last_hb_ms, now);
        m[i] = (rtm_metrics_shard_t){l->identity, up->seeds[i], up->alive[i], l->mismatch,
                                     up->alive[i]          ? "live"
                                     : heard && l->joining ? "joining"
                                                           : "dead"};
    }
    size_t i = up->n_shards;
    for (rtm_shard_link_t *r = up->retired; r; r = r->next)
        m[i++] = (rtm_metrics_shard_t){r->identity, 0, false, r->mismatch, "unlisted"};
    *out = m;
    return n;
}

/* The link of the broker whose seed is `broker`, listed or retired; NULL if none. */
static const rtm_shard_link_t *s_link_by_seed(const rtm_upstream_t *up, uint64_t broker)
{
    for (uint32_t i = 0; i < up->n_shards; i++)
        if (up->shards[i]->seed == broker)
            return up->shards[i];
    for (const rtm_shard_link_t *r = up->retired; r; r = r->next)
        if (r->seed == broker)
            return r;
    return NULL;
}

bool rtm_upstream_held(const rtm_upstream_t *up, uint64_t broker, uint64_t heard_ms)
{
    const rtm_shard_link_t *from = s_link_by_seed(up, broker);
    return !from || !rtm_wire_live(from->last_hb_ms, heard_ms) ||
           (from->joining && heard_ms - from->first_hb_ms < RTM_WIRE_DEAD_MS);
}

uint32_t rtm_upstream_mismatched(const rtm_upstream_t *up)
{
    uint64_t now = s_now(up);
    uint32_t n = 0;
    for (uint32_t i = 0; i < up->n_shards; i++)
        n += up->shards[i]->mismatch && rtm_wire_live(up->shards[i]->last_hb_ms, now);
    return n;
}

uint32_t rtm_upstream_live(rtm_upstream_t *up, bool *alive)
{
    uint64_t now = s_now(up);
    uint32_t n = 0;
    for (uint32_t i = 0; i < up->n_shards; i++) {
        /* both paths: a broker heard on its egress whose ingress does not
         * answer (its DEALER still reconnecting after a partition, or an
         * asymmetric partition) would refuse every request routed to it */
        const rtm_shard_link_t *l = up->shards[i];
        bool live = rtm_wire_live(l->last_hb_ms, now) && rtm_wire_live(l->last_reply_ms, now) &&
                    !l->unlisted && (!l->joining || now - l->first_hb_ms >= RTM_WIRE_JOIN_MS);
        if (alive)
            alive[i] = live;
        n += live;
    }
    return n;
}

int rtm_upstream_owner(rtm_upstream_t *up, rtm_str_t app, rtm_str_t channel)
{
    rtm_upstream_live(up, up->alive);
    return rtm_rendezvous_owner(app, channel, up->seeds, up->alive, up->n_shards);
}

int rtm_upstream_send(rtm_upstream_t *up, uint32_t shard, const rtm_wire_msg_t *msg)
{
    return shard < up->n_shards && s_send(up->shards[shard], msg) == 0 ? 0 : RTM_EUNAVAIL;
}

bool rtm_upstream_ready(const rtm_upstream_t *up)
{
    uint64_t now = s_now(up);
    bool any = false;
    for (uint32_t i = 0; i < up->n_shards; i++) {
        const rtm_shard_link_t *s = up->shards[i];
        if (!rtm_wire_live(s->last_hb_ms, now))
            continue;
        if (!s->last_reply_ms || now - s->last_reply_ms >= RTM_WIRE_DEAD_MS)
            return false;
        any = true;
    }
    return any;
}

void rtm_upstream_request(rtm_upstream_t *up, uint32_t shard, rtm_wire_msg_t *msg,
                          rtm_upstream_ack_cb cb, void *arg)
{
    rtm_pending_t *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    uint64_t now = s_now(up);
    p->id = up->next_id++;
    p->deadline_ms = now + S_REQUEST_MS;
    p->cb = cb;
    p->arg = arg;
    rtm_shard_link_t *link = shard < up->n_shards ? up->shards[shard] : NULL;
    p->link = link;
    msg->id = p->id;
    if (link) /* a broker stalled since, or reading it late, refuses it */
        msg->beat = link->beat;
    p->status = 1;
    HASH_ADD(hh, up->pending, id, sizeof p->id, p); /* before sending: the ack may be fast */
    /* a stamped PUBLISH is held at least RTM_WIRE_HOLD_MS after its stamp was
     * heard, and not sent on a stamp RTM_WIRE_STAMP_MS old (rtm_wire.h) */
    bool stamped = link && msg->type == RTM_WIRE_PUBLISH && msg->beat;
    if (stamped)
        p->hold_ms = link->beat_ms + RTM_WIRE_HOLD_MS;
    if (!link || (stamped && now - link->beat_ms >= RTM_WIRE_STAMP_MS) || s_send(link, msg) < 0) {
        p->status = RTM_EUNAVAIL; /* reported at the next tick */
        p->deadline_ms = now;
    }
    if (up->newest)
        up->newest->next = p;
    else
        up->oldest = p;
    up->newest = p;
}

void rtm_upstream_close(rtm_upstream_t *up)
{
    s_expire(up, 0, true);
    s_reap(up, 0, true);
    for (uint32_t i = 0; i < up->n_shards; i++)
        s_free_link(up->shards[i]);
    free(up->shards);
    free(up->seeds);
    free(up->alive);
    free(up->was_alive);
    up->shards = NULL;
    up->n_shards = 0;
}

size_t rtm_upstream_pending(const rtm_upstream_t *up, uint64_t *counts, size_t cap)
{
    size_t n = up->n_shards < cap ? up->n_shards : cap;
    memset(counts, 0, n * sizeof *counts);
    for (const rtm_pending_t *p = up->oldest; p; p = p->next) {
        if (!p->cb || p->status != 1) /* answered, or its send failed: waits for nothing */
            continue;
        for (size_t i = 0; i < n; i++)
            if (up->shards[i] == p->link) {
                counts[i]++;
                break;
            }
    }
    return n;
}
