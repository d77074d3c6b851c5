/* libFuzzer target for rtm_wire: decode any bytes; whatever decodes must
 * re-encode to a body that decodes to the same message (the encoder and the
 * decoder agree), a decoded SYNC's or REPLICA's members must iterate without error, and
 * the id peek and topic split must survive any input. */
#include "rtm_wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_same_str(rtm_str_t a, rtm_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* The fields the encoder writes for m's type, the others zeroed: what a
 * decode of the re-encoded body must give back. */
static rtm_wire_msg_t s_project(const rtm_wire_msg_t *m)
{
    rtm_wire_msg_t p = {.type = m->type};
    switch (m->type) {
    case RTM_WIRE_PUBLISH:
        p = *m;
        p.status = 0, p.node = p.user_info = p.channel = p.json = p.cache_json = rtm_str(NULL, 0);
        p.shard = 0, p.epoch = p.count = 0, p.limit = p.kind = p.n_members = 0;
        p.added = p.notify = p.user_num = false;
        p.members_raw = rtm_str(NULL, 0);
        break;
    case RTM_WIRE_ACK: p.id = m->id, p.status = m->status, p.json = m->json; break;
    case RTM_WIRE_NODE_HB: p.node = m->node; break;
    case RTM_WIRE_SHARD_HB: p.shard = m->shard, p.epoch = m->epoch, p.count = m->count; break;
    case RTM_WIRE_SYNC_REQ:
    case RTM_WIRE_CACHE_MISS: p.app = m->app, p.channel = m->channel; break;
    case RTM_WIRE_SYNC:
        p.channel = m->channel, p.count = m->count, p.cache_json = m->cache_json;
        p.n_members = m->n_members;
        break;
    case RTM_WIRE_MEMBER:
        p.channel = m->channel, p.user_id = m->user_id, p.user_info = m->user_info;
        p.exclude = m->exclude, p.added = m->added, p.user_num = m->user_num;
        break;
    case RTM_WIRE_PRESENCE_JOIN:
        p.id = m->id, p.user_info = m->user_info, p.limit = m->limit, p.user_num = m->user_num;
    /* fallthrough */
    case RTM_WIRE_PRESENCE_LEAVE:
        p.app = m->app, p.channel = m->channel, p.user_id = m->user_id, p.exclude = m->exclude;
        break;
    case RTM_WIRE_SUB_COUNT:
        p.app = m->app, p.channel = m->channel, p.count = m->count, p.notify = m->notify;
        break;
    case RTM_WIRE_QUERY:
        p.id = m->id, p.app = m->app, p.kind = m->kind, p.channel = m->channel, p.info = m->info;
        break;
    case RTM_WIRE_TERMINATE: p.app = m->app, p.user_id = m->user_id; break;
    case RTM_WIRE_REPLICA:
        p.shard = m->shard, p.app = m->app, p.channel = m->channel, p.count = m->count;
        p.n_members = m->n_members;
        break;
    case RTM_WIRE_MOVED: p.channel = m->channel, p.broker = m->broker; break;
    }
    return p;
}

static int s_same(const rtm_wire_msg_t *a, const rtm_wire_msg_t *b)
{
    const rtm_str_t sa[] = {a->app,       a->name,    a->data, a->exclude,    a->node, a->user_id,
                            a->user_info, a->channel, a->json, a->cache_json, a->info};
    const rtm_str_t sb[] = {b->app,       b->name,    b->data, b->exclude,    b->node, b->user_id,
                            b->user_info, b->channel, b->json, b->cache_json, b->info};
    for (size_t i = 0; i < sizeof sa / sizeof sa[0]; i++)
        if (!s_same_str(sa[i], sb[i]))
            return 0;
    int same = a->type == b->type && a->id == b->id && a->status == b->status &&
               a->shard == b->shard && a->epoch == b->epoch && a->count == b->count &&
               a->limit == b->limit && a->kind == b->kind && a->added == b->added &&
               a->notify == b->notify && a->user_num == b->user_num &&
               a->n_members == b->n_members && a->n_channels == b->n_channels;
    for (uint32_t i = 0; same && i < a->n_channels; i++)
        same = s_same_str(a->channels[i], b->channels[i]);
    return same;
}

/* The members a decoded message's walk yields: those of a SYNC or REPLICA. Any
 * other type may carry a "members" key (every known key decodes whatever the
 * type), but its walk is empty and the encoder drops it. */
static uint32_t s_walked(const rtm_wire_msg_t *m)
{
    return m->type == RTM_WIRE_SYNC || m->type == RTM_WIRE_REPLICA ? m->n_members : 0;
}

/* Collects a decoded message's walked members into a heap array (caller frees). */
static rtm_wire_member_t *s_members(const rtm_wire_msg_t *m)
{
    rtm_wire_member_t *mb = calloc(m->n_members + 1, sizeof *mb);
    if (!mb)
        abort();
    rtm_wire_members_iter_t it;
    rtm_wire_members_begin(&it, m);
    uint32_t n = 0;
    int rc;
    while ((rc = rtm_wire_members_next(&it, &mb[n])) == 1)
        if (++n > s_walked(m) || mb[n - 1].user_id.len == 0)
            abort();
    if (rc != 0 || n != s_walked(m))
        abort(); /* decode validated every member */
    return mb;
}

static void s_check_round_trip(const rtm_wire_msg_t *decoded)
{
    rtm_wire_msg_t m = *decoded;
    rtm_wire_member_t *mb = s_members(&m);
    m.members = mb;
    int n = rtm_wire_encoded_len(&m);
    if (n < 0)
        abort(); /* everything the decoder accepts must be encodable */
    char *buf = malloc((size_t)n);
    if (!buf || rtm_wire_encode(&m, buf, (size_t)n) != n)
        abort();
    rtm_wire_msg_t again, want = s_project(decoded);
    if (rtm_wire_decode(buf, (size_t)n, &again) != 0 || !s_same(&again, &want))
        abort();
    rtm_wire_member_t *mb2 = s_members(&again);
    for (uint32_t i = 0; i < s_walked(&m); i++)
        if (!s_same_str(mb[i].user_id, mb2[i].user_id) ||
            !s_same_str(mb[i].user_info, mb2[i].user_info) || mb[i].user_num != mb2[i].user_num)
            abort();
    free(mb2);
    free(mb);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    rtm_wire_msg_t m;
    if (rtm_wire_decode(buf, size, &m) == 0)
        s_check_round_trip(&m);
    uint64_t id;
    (void)rtm_wire_peek_id(buf, size, &id);
    return 0;
}
