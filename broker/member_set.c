/* member_set — see member_set.h.
 *
 * A uthash table of members keyed by user id; each member owns one
 * allocation holding its id and info bytes and a small growable array of its
 * connections. Users with many connections are rare (a user usually has one
 * or two tabs open), so a linear scan of a member's connections is cheaper
 * than a second hash. Invariants: every member has at least one connection;
 * a (peer, socket id) appears at most once per member; `bytes` is the exact
 * sum of what s_member_bytes reports for the members. */
#include "member_set.h"

#include "rtm_error.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef struct {
    uint32_t peer;                /* peer number of the node worker */
    uint8_t sid_len;              /* socket id length, 1..RTM_MEMBER_SID_MAX */
    char sid[RTM_MEMBER_SID_MAX]; /* socket id bytes */
} s_conn_t;

typedef struct {
    UT_hash_handle hh;  /* in set->members, keyed by text[0..id_len) */
    s_conn_t *conns;    /* n_conns used of cap_conns */
    uint32_t n_conns;   /* >= 1 while the member is in the set */
    uint32_t cap_conns; /* allocated entries of conns */
    uint32_t id_len;    /* user id bytes at text */
    uint32_t info_len;  /* user info bytes at text + id_len */
    bool id_num;        /* the app gave the id as a JSON integer */
    char text[];        /* user id (its string form), then user info */
} s_member_t;

struct rtm_member_set {
    s_member_t *members; /* uthash head */
    uint32_t users;      /* HASH_COUNT(members), kept for const access */
    size_t conns;        /* connections over all members */
    size_t bytes;        /* heap bytes held, see s_member_bytes */
};

static size_t s_member_bytes(const s_member_t *m)
{
    return sizeof *m + m->id_len + m->info_len + (size_t)m->cap_conns * sizeof(s_conn_t);
}

rtm_member_set_t *rtm_member_set_new(void)
{
    rtm_member_set_t *set = calloc(1, sizeof *set);
    if (!set)
        abort();
    set->bytes = sizeof *set;
    return set;
}

static void s_free_member(rtm_member_set_t *set, s_member_t *m)
{
    HASH_DEL(set->members, m);
    set->users--;
    set->conns -= m->n_conns;
    set->bytes -= s_member_bytes(m);
    free(m->conns);
    free(m);
}

void rtm_member_set_destroy(rtm_member_set_t **set)
{
    if (!*set)
        return;
    s_member_t *m, *tmp;
    HASH_ITER(hh, (*set)->members, m, tmp)
    {
        s_free_member(*set, m);
    }
    free(*set);
    *set = NULL;
}

static s_member_t *s_find(const rtm_member_set_t *set, rtm_str_t user_id)
{
    s_member_t *m = NULL;
    HASH_FIND(hh, set->members, user_id.p, user_id.len, m);
    return m;
}

/* Index of (peer, sid) in m's connections, or -1. */
static long s_conn_index(const s_member_t *m, uint32_t peer, rtm_str_t sid)
{
    for (uint32_t i = 0; i < m->n_conns; i++) {
        const s_conn_t *c = &m->conns[i];
        if (c->peer == peer && c->sid_len == sid.len && memcmp(c->sid, sid.p, sid.len) == 0)
            return (long)i;
    }
    return -1;
}

static void s_add_conn(rtm_member_set_t *set, s_member_t *m, uint32_t peer, rtm_str_t sid)
{
    if (m->n_conns == m->cap_conns) {
        uint32_t cap = m->cap_conns ? m->cap_conns * 2 : 1;
        s_conn_t *grown = realloc(m->conns, cap * sizeof *grown);
        if (!grown)
            abort();
        set->bytes += (size_t)(cap - m->cap_conns) * sizeof *grown;
        m->conns = grown;
        m->cap_conns = cap;
    }
    s_conn_t *c = &m->conns[m->n_conns++];
    c->peer = peer;
    c->sid_len = (uint8_t)sid.len;
    memcpy(c->sid, sid.p, sid.len);
    set->conns++;
}

/* The member as callers see it; slices into m. */
static rtm_wire_member_t s_view(const s_member_t *m)
{
    return (rtm_wire_member_t){rtm_str(m->text, m->id_len),
                               rtm_str(m->text + m->id_len, m->info_len), m->id_num};
}

static s_member_t *s_new_member(rtm_member_set_t *set, const rtm_wire_member_t *mb)
{
    rtm_str_t user_id = mb->user_id, user_info = mb->user_info;
    s_member_t *m = calloc(1, sizeof *m + user_id.len + user_info.len);
    if (!m)
        abort();
    m->id_len = (uint32_t)user_id.len;
    m->info_len = (uint32_t)user_info.len;
    m->id_num = mb->user_num;
    memcpy(m->text, user_id.p, user_id.len);
    if (user_info.len)
        memcpy(m->text + user_id.len, user_info.p, user_info.len);
    HASH_ADD(hh, set->members, text[0], m->id_len, m);
    set->users++;
    set->bytes += s_member_bytes(m);
    return m;
}

int rtm_member_set_join(rtm_member_set_t *set, uint32_t peer, const rtm_wire_member_t *member,
                        rtm_str_t socket_id, uint32_t max_users)
{
    assert(member->user_id.len > 0 && member->user_id.len <= UINT32_MAX &&
           member->user_info.len <= UINT32_MAX);
    assert(socket_id.len > 0 && socket_id.len <= RTM_MEMBER_SID_MAX);
    s_member_t *m = s_find(set, member->user_id);
    if (!m && set->users >= max_users)
        return RTM_ETOOBIG;
    int rc = 0;
    if (!m) {
        m = s_new_member(set, member);
        rc = 1;
    }
    if (s_conn_index(m, peer, socket_id) < 0)
        s_add_conn(set, m, peer, socket_id);
    return rc;
}

bool rtm_member_set_has_user(const rtm_member_set_t *set, rtm_str_t user_id)
{
    return s_find(set, user_id) != NULL;
}

bool rtm_member_set_has(const rtm_member_set_t *set, uint32_t peer, rtm_str_t user_id,
                        rtm_str_t socket_id)
{
    const s_member_t *m = s_find(set, user_id);
    return m && s_conn_index(m, peer, socket_id) >= 0;
}

/* Removes connection i of m; frees m (after gone) when it was the last.
 * Returns 1 when m was removed. */
static int s_remove_conn(rtm_member_set_t *set, s_member_t *m, uint32_t i, rtm_member_gone_fn gone,
                         void *ctx)
{
    m->conns[i] = m->conns[--m->n_conns];
    set->conns--;
    if (m->n_conns > 0)
        return 0;
    if (gone) {
        rtm_wire_member_t view = s_view(m);
        gone(ctx, &view);
    }
    s_free_member(set, m);
    return 1;
}

int rtm_member_set_leave(rtm_member_set_t *set, uint32_t peer, rtm_str_t user_id,
                         rtm_str_t socket_id, rtm_member_gone_fn gone, void *ctx)
{
    s_member_t *m = s_find(set, user_id);
    long i = m ? s_conn_index(m, peer, socket_id) : -1;
    if (i < 0)
        return RTM_ENOTFOUND;
    return s_remove_conn(set, m, (uint32_t)i, gone, ctx);
}

size_t rtm_member_set_drop_peer(rtm_member_set_t *set, uint32_t peer, rtm_member_gone_fn gone,
                                void *ctx)
{
    size_t removed = 0;
    s_member_t *m, *tmp;
    HASH_ITER(hh, set->members, m, tmp)
    {
        uint32_t i = 0;
        while (i < m->n_conns) {
            if (m->conns[i].peer != peer) {
                i++;
                continue;
            }
            removed++;
            if (s_remove_conn(set, m, i, gone, ctx))
                break; /* m is freed */
        }
    }
    return removed;
}

void rtm_member_set_each_conn(const rtm_member_set_t *set, void (*each)(void *ctx, uint32_t peer),
                              void *ctx)
{
    for (const s_member_t *m = set->members; m; m = m->hh.next)
        for (uint32_t i = 0; i < m->n_conns; i++)
            each(ctx, m->conns[i].peer);
}

void rtm_member_set_each(const rtm_member_set_t *set, rtm_member_each_fn each, void *ctx)
{
    for (const s_member_t *m = set->members; m; m = m->hh.next) {
        rtm_wire_member_t view = s_view(m);
        each(ctx, &view);
    }
}

uint32_t rtm_member_set_users(const rtm_member_set_t *set)
{
    return set->users;
}

size_t rtm_member_set_conns(const rtm_member_set_t *set)
{
    return set->conns;
}

size_t rtm_member_set_bytes(const rtm_member_set_t *set)
{
    return set->bytes;
}
