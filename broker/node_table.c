/* node_table — see node_table.h.
 *
 * A uthash table keyed by the routing identity bytes. Entries are created by
 * a heartbeat and removed only by expiry or destroy, so a peer that never
 * heartbeats (publishes only) is not tracked: liveness is what heartbeats
 * prove; a peer that sends channel state without heartbeating is registered
 * by rtm_node_table_peer, so its state still expires. Peer numbers count up
 * from 1 and are never reused, so state tagged with a lost peer's number can
 * never be mistaken for a newcomer's. Names and identities come from the network, so they are
 * logged only in a sanitised form (hex for the identity, [A-Za-z0-9._:/-] for the name). */
#include "node_table.h"

#include "rtm_error.h"
#include "rtm_log.h"
#include "rtm_wire.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define S_MAX_ID   255
#define S_MAX_NAME 64

typedef struct {
    UT_hash_handle hh;     /* keyed by id[0..id_len) */
    uint64_t last_ms;      /* monotonic time of the last heartbeat (or registration) */
    uint32_t peer;         /* peer number, unique for the broker's life */
    size_t id_len;         /* routing identity length, 1..S_MAX_ID */
    char id[S_MAX_ID];     /* routing identity bytes */
    char name[S_MAX_NAME]; /* sanitised, NUL-terminated node name for logs */
} s_node_t;

struct rtm_node_table {
    s_node_t *nodes;    /* uthash head */
    uint32_t next_peer; /* number of the next peer registered */
};

rtm_node_table_t *rtm_node_table_new(void)
{
    rtm_node_table_t *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->next_peer = 1;
    return t;
}

void rtm_node_table_destroy(rtm_node_table_t **table)
{
    if (!*table)
        return;
    s_node_t *n, *tmp;
    HASH_ITER(hh, (*table)->nodes, n, tmp)
    {
        HASH_DEL((*table)->nodes, n);
        free(n);
    }
    free(*table);
    *table = NULL;
}

/* Copies src into dst (cap bytes, NUL-terminated), replacing bytes that could
 * break a key=value log line. */
static void s_sanitise(char *dst, size_t cap, rtm_str_t src)
{
    size_t n = src.len < cap - 1 ? src.len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        char c = src.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr("._:/-", c) != NULL;
        dst[i] = ok && c ? c : '?';
    }
    dst[n] = '\0';
}

/* Hex of the first 16 identity bytes, for logs. */
static void s_hex(char out[33], const s_node_t *n)
{
    static const char digits[] = "0123456789abcdef";
    size_t k = n->id_len < 16 ? n->id_len : 16;
    for (size_t i = 0; i < k; i++) {
        out[2 * i] = digits[(unsigned char)n->id[i] >> 4];
        out[2 * i + 1] = digits[(unsigned char)n->id[i] & 15];
    }
    out[2 * k] = '\0';
}

/* Finds the peer of identity, or adds it (unnamed) when add is true. *created
 * tells which; NULL with *rc set when the identity is bad or the table full. */
static s_node_t *s_lookup(rtm_node_table_t *table, rtm_str_t identity, uint64_t now_ms,
                          bool *created, int *rc)
{
    *created = false;
    if (identity.len == 0 || identity.len > S_MAX_ID) {
        *rc = RTM_EINVAL;
        return NULL;
    }
    s_node_t *n = NULL;
    HASH_FIND(hh, table->nodes, identity.p, identity.len, n);
    if (n)
        return n;
    if (HASH_COUNT(table->nodes) >= RTM_NODE_TABLE_MAX) {
        *rc = RTM_EUNAVAIL;
        return NULL;
    }
    n = calloc(1, sizeof *n);
    if (!n)
        abort();
    memcpy(n->id, identity.p, identity.len);
    n->id_len = identity.len;
    n->last_ms = now_ms;
    n->peer = table->next_peer++;
    HASH_ADD(hh, table->nodes, id, n->id_len, n);
    *created = true;
    return n;
}

static void s_log_up(const rtm_node_table_t *table, const s_node_t *n, const char *how)
{
    char hex[33];
    s_hex(hex, n);
    rtm_log(RTM_LOG_INFO, "event=node_up node=%s peer=%s peer_no=%" PRIu32 " via=%s nodes=%u",
            n->name[0] ? n->name : "-", hex, n->peer, how, HASH_COUNT(table->nodes));
}

int rtm_node_table_seen(rtm_node_table_t *table, rtm_str_t identity, rtm_str_t name,
                        uint64_t now_ms)
{
    bool created;
    int rc = 0;
    s_node_t *n = s_lookup(table, identity, now_ms, &created, &rc);
    if (!n)
        return rc;
    n->last_ms = now_ms;
    if (!n->name[0])
        s_sanitise(n->name, sizeof n->name, name);
    if (created)
        s_log_up(table, n, "heartbeat");
    return created ? 1 : 0;
}

int rtm_node_table_peer(rtm_node_table_t *table, rtm_str_t identity, uint64_t now_ms,
                        uint32_t *peer)
{
    bool created;
    int rc = 0;
    s_node_t *n = s_lookup(table, identity, now_ms, &created, &rc);
    if (!n)
        return rc;
    *peer = n->peer;
    if (created)
        s_log_up(table, n, "state");
    return created ? 1 : 0;
}

size_t rtm_node_table_expire(rtm_node_table_t *table, uint64_t now_ms, rtm_node_lost_fn lost,
                             void *ctx)
{
    size_t removed = 0;
    s_node_t *n, *tmp;
    HASH_ITER(hh, table->nodes, n, tmp)
    {
        if (rtm_wire_live(n->last_ms, now_ms))
            continue;
        char hex[33];
        s_hex(hex, n);
        rtm_log(RTM_LOG_WARN,
                "event=node_lost node=%s peer=%s peer_no=%" PRIu32 " silent_ms=%" PRIu64,
                n->name[0] ? n->name : "-", hex, n->peer, now_ms - n->last_ms);
        uint32_t peer = n->peer;
        HASH_DEL(table->nodes, n);
        free(n);
        removed++;
        if (lost)
            lost(ctx, peer);
    }
    return removed;
}

size_t rtm_node_table_count(const rtm_node_table_t *table)
{
    return HASH_COUNT(table->nodes);
}
