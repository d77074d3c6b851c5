/* channel_table — a shard's channel records, found by (app, channel name).
 *
 * A uthash of apps, each with a uthash of records keyed by channel name, so
 * a channel-list query walks one app's channels only. The table owns the
 * record structs and their names; what a record holds (counts, members,
 * cache) is channel_state's, which must release it before removing the
 * record. Pure: no I/O. */
#ifndef RTM_CHANNEL_TABLE_H
#define RTM_CHANNEL_TABLE_H

#include "member_set.h"
#include "rtm_str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

/* One node worker's absolute subscriber count of a channel. */
typedef struct {
    uint32_t peer;  /* peer number */
    uint64_t count; /* its local subscribers, > 0 */
} rtm_channel_count_t;

/* A cache channel's last server event. */
typedef struct {
    uint64_t expires_ms;                  /* monotonic end of life */
    size_t json_len, event_len, data_len; /* lengths of the three texts in bytes[] */
    char bytes[];                         /* rendered json, event name, data */
} rtm_channel_cache_t;

typedef struct rtm_channel_app rtm_channel_app_t;

/* A channel record. Fields below `hh`/`app` are channel_state's to use;
 * the table only zeroes them on creation. */
typedef struct rtm_channel_rec {
    UT_hash_handle hh;             /* the table's: in its app's records */
    rtm_channel_app_t *app;        /* the table's: owning app */
    rtm_member_set_t *members;     /* presence members; NULL when none */
    rtm_channel_count_t *counts;   /* n_counts used of cap_counts */
    uint32_t n_counts, cap_counts; /* entries used / allocated */
    uint64_t total;                /* sum of counts */
    rtm_channel_cache_t *cache;    /* last server event of a cache channel, or NULL */
    uint64_t sync_ms;              /* when the last SYNC was emitted */
    uint64_t count_sent;           /* total announced by the last count event (0: none) */
    uint64_t count_sent_ms;        /* when it was emitted */
    bool sync_sent;                /* sync_ms is meaningful */
    bool notify;                   /* the app wants count events (from the last SUB_COUNT) */
    bool pending;                  /* on the pending-count list */
    bool opening;                  /* a node asked to SYNC it while unoccupied (open list) */
    uint64_t open_ms;              /* when: the mark expires open_mark_ms later */
    struct rtm_channel_rec *pend_prev, *pend_next;   /* pending-count list links */
    struct rtm_channel_rec *open_prev, *open_next;   /* open-mark list links (iff opening) */
    struct rtm_channel_rec *cache_prev, *cache_next; /* cache list links (iff cache) */
    uint16_t name_len;                               /* channel name length */
    char name[];                                     /* channel name bytes */
} rtm_channel_rec_t;

typedef struct rtm_channel_table rtm_channel_table_t;

/* Called for each record by rtm_channel_table_each; may remove that record
 * (and only it). Returns false to stop the walk. */
typedef bool (*rtm_channel_rec_fn)(void *ctx, rtm_channel_rec_t *rec);

/* An empty table; caller owns it. Aborts on OOM. */
rtm_channel_table_t *rtm_channel_table_new(void);

/* Frees the table, which must be empty (asserted), and sets *t to NULL. */
void rtm_channel_table_destroy(rtm_channel_table_t **t);

/* The record of (app, channel), or NULL. */
rtm_channel_rec_t *rtm_channel_table_find(const rtm_channel_table_t *t, rtm_str_t app,
                                          rtm_str_t channel);

/* Adds a zeroed record for (app, channel), which must not be in the table
 * and must be 1..UINT16_MAX bytes each (asserted). Aborts on OOM. */
rtm_channel_rec_t *rtm_channel_table_add(rtm_channel_table_t *t, rtm_str_t app, rtm_str_t channel);

/* Removes and frees rec (not what its fields point to), and its app when it
 * was the app's last record. */
void rtm_channel_table_remove(rtm_channel_table_t *t, rtm_channel_rec_t *rec);

/* Number of records. */
size_t rtm_channel_table_count(const rtm_channel_table_t *t);

/* App id and channel name of rec, borrowed while rec exists. */
rtm_str_t rtm_channel_rec_app(const rtm_channel_rec_t *rec);
rtm_str_t rtm_channel_rec_name(const rtm_channel_rec_t *rec);

/* Calls fn(ctx, rec) for every record, in no particular order, until fn
 * returns false. */
void rtm_channel_table_each(rtm_channel_table_t *t, rtm_channel_rec_fn fn, void *ctx);

/* Calls fn(ctx, rec) for every record of app; fn must not change the table. */
void rtm_channel_table_each_app(const rtm_channel_table_t *t, rtm_str_t app,
                                void (*fn)(void *ctx, const rtm_channel_rec_t *rec), void *ctx);

#endif
