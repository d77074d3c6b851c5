/* Tests for the broker's channel state (channel_state, member_set) and its
 * query answers (queries): presence membership, subscription counts, cache,
 * SYNC snapshots, peer loss, ownership sweeps, limits, and the JSON a REST
 * query gets. The state is pure, so every publication it asks for is
 * captured by a recording sink and checked byte for byte. */
#include "channel_state.h"
#include "queries.h"
#include "rtm_error.h"
#include "rtm_wire.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define S(lit) rtm_str(lit, sizeof lit - 1)

/* ---- a recording sink -------------------------------------------------- */

#define S_MAX_OUT 64

typedef struct {
    bool control;         /* control message, else event */
    rtm_wire_type_t type; /* control: SYNC or MEMBER */
    char channel[128];    /* the topic's channel */
    char user_id[64];     /* MEMBER; "#7" for the numeric id 7 */
    char user_info[128];  /* MEMBER */
    char exclude[32];     /* MEMBER, event */
    bool added;           /* MEMBER */
    uint64_t count;       /* SYNC */
    char cache_json[256]; /* SYNC */
    uint32_t n_members;   /* SYNC */
    char members[512];    /* SYNC: "id=info;" sorted by id ("#7" for a numeric id) */
    char json[256];       /* event */
} s_out_t;

typedef struct {
    s_out_t out[S_MAX_OUT];
    size_t n;
} s_rec_t;

static void s_copy(char *dst, size_t cap, rtm_str_t s)
{
    assert_true(s.len < cap);
    if (s.len)
        memcpy(dst, s.p, s.len);
    dst[s.len] = '\0';
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Members of a SYNC as "id=info;" in id order, so tests need not care
 * about hash order. */
static void s_members(char *dst, size_t cap, const rtm_wire_msg_t *m)
{
    char *items[16];
    char buf[16][64];
    assert_true(m->n_members <= 16);
    for (uint32_t i = 0; i < m->n_members; i++) {
        snprintf(buf[i], sizeof buf[i], "%s%.*s=%.*s;", m->members[i].user_num ? "#" : "",
                 (int)m->members[i].user_id.len, m->members[i].user_id.p,
                 (int)m->members[i].user_info.len, m->members[i].user_info.p);
        items[i] = buf[i];
    }
    qsort(items, m->n_members, sizeof items[0], s_cmp);
    dst[0] = '\0';
    for (uint32_t i = 0; i < m->n_members; i++)
        strncat(dst, items[i], cap - strlen(dst) - 1);
}

static void s_on_control(void *ctx, rtm_str_t app, rtm_str_t channel, const rtm_wire_msg_t *msg)
{
    s_rec_t *r = ctx;
    assert_true(r->n < S_MAX_OUT);
    assert_true(rtm_str_eq_cstr(app, "app"));
    s_out_t *o = &r->out[r->n++];
    memset(o, 0, sizeof *o);
    o->control = true;
    o->type = msg->type;
    s_copy(o->channel, sizeof o->channel, channel);
    assert_true(rtm_str_eq(msg->channel, channel));
    o->user_id[0] = msg->user_num ? '#' : '\0';
    s_copy(o->user_id + msg->user_num, sizeof o->user_id - 1, msg->user_id);
    s_copy(o->user_info, sizeof o->user_info, msg->user_info);
    s_copy(o->exclude, sizeof o->exclude, msg->exclude);
    o->added = msg->added;
    o->count = msg->count;
    s_copy(o->cache_json, sizeof o->cache_json, msg->cache_json);
    o->n_members = msg->n_members;
    s_members(o->members, sizeof o->members, msg);
    /* Whatever the state publishes must be encodable. */
    assert_true(rtm_wire_encoded_len(msg) > 0);
}

static void s_on_event(void *ctx, rtm_str_t app, rtm_str_t channel, rtm_str_t exclude,
                       rtm_str_t json)
{
    s_rec_t *r = ctx;
    assert_true(r->n < S_MAX_OUT);
    assert_true(rtm_str_eq_cstr(app, "app"));
    s_out_t *o = &r->out[r->n++];
    memset(o, 0, sizeof *o);
    s_copy(o->channel, sizeof o->channel, channel);
    s_copy(o->exclude, sizeof o->exclude, exclude);
    s_copy(o->json, sizeof o->json, json);
}

/* Webhook changes, recorded apart from publications as "kind channel[ user][ =count]". */
typedef struct {
    char line[S_MAX_OUT][160];
    size_t n;
} s_hooks_t;

static void s_on_hook(void *ctx, const rtm_channel_hook_t *h)
{
    s_hooks_t *r = ctx;
    assert_true(rtm_str_eq_cstr(h->app, "app"));
    if (r->n == S_MAX_OUT)
        return; /* floods: only the first ones are looked at */
    char *o = r->line[r->n++];
    int n = snprintf(o, 160, "%s%s %.*s", h->inherited ? "inherited " : "",
                     rtm_webhook_kind_name(h->kind), (int)h->channel.len, h->channel.p);
    if (h->kind == RTM_WEBHOOK_MEMBER_ADDED || h->kind == RTM_WEBHOOK_MEMBER_REMOVED)
        snprintf(o + n, 160 - (size_t)n, " %.*s", (int)h->user_id.len, h->user_id.p);
    if (h->kind == RTM_WEBHOOK_SUBSCRIPTION_COUNT)
        snprintf(o + n, 160 - (size_t)n, " =%llu", (unsigned long long)h->count);
}

typedef struct {
    rtm_channel_state_t *cs;
    s_rec_t rec;
    s_hooks_t hooks;
    rtm_channel_sink_t sink;
} s_fix_t;

static s_fix_t *s_fix(const rtm_channel_state_limits_t *lim)
{
    s_fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->cs = rtm_channel_state_new(lim);
    f->sink = (rtm_channel_sink_t){&f->rec, s_on_control, s_on_event, s_on_hook, &f->hooks};
    return f;
}

static void s_fix_free(s_fix_t *f)
{
    rtm_channel_state_destroy(&f->cs);
    assert_null(f->cs);
    free(f);
}

static const rtm_channel_state_stats_t *s_st(const s_fix_t *f)
{
    return rtm_channel_state_stats(f->cs);
}

/* ---- message helpers --------------------------------------------------- */

/* uid "#7": the numeric id 7. */
static int s_join(s_fix_t *f, uint32_t peer, const char *ch, const char *uid, const char *info,
                  const char *sid, uint32_t limit)
{
    bool num = uid[0] == '#';
    rtm_wire_msg_t m = {.type = RTM_WIRE_PRESENCE_JOIN,
                        .id = 1,
                        .app = S("app"),
                        .channel = rtm_str_cstr(ch),
                        .user_id = rtm_str_cstr(uid + num),
                        .user_num = num,
                        .user_info = rtm_str_cstr(info),
                        .exclude = rtm_str_cstr(sid),
                        .limit = limit};
    return rtm_channel_state_join(f->cs, peer, &m, &f->sink);
}

static int s_leave(s_fix_t *f, uint32_t peer, const char *ch, const char *uid, const char *sid)
{
    rtm_wire_msg_t m = {.type = RTM_WIRE_PRESENCE_LEAVE,
                        .app = S("app"),
                        .channel = rtm_str_cstr(ch),
                        .user_id = rtm_str_cstr(uid),
                        .exclude = rtm_str_cstr(sid)};
    return rtm_channel_state_leave(f->cs, peer, &m, &f->sink);
}

static int s_count(s_fix_t *f, uint32_t peer, const char *ch, uint64_t count, bool notify,
                   uint64_t now)
{
    rtm_wire_msg_t m = {.type = RTM_WIRE_SUB_COUNT,
                        .app = S("app"),
                        .channel = rtm_str_cstr(ch),
                        .count = count,
                        .notify = notify};
    return rtm_channel_state_count(f->cs, peer, &m, now, &f->sink);
}

static int s_sync(s_fix_t *f, const char *ch, uint64_t now)
{
    return rtm_channel_state_sync(f->cs, S("app"), rtm_str_cstr(ch), now, &f->sink);
}

static int s_cache(s_fix_t *f, const char *ch, const char *event, const char *data,
                   const char *json, uint64_t now)
{
    return rtm_channel_state_cache(f->cs, S("app"), rtm_str_cstr(ch), rtm_str_cstr(event),
                                   rtm_str_cstr(data), rtm_str_cstr(json), now);
}

/* The one publication recorded since the last take; fails unless exactly one. */
static s_out_t s_take1(s_fix_t *f)
{
    assert_int_equal(f->rec.n, 1);
    f->rec.n = 0;
    return f->rec.out[0];
}

static void s_none(s_fix_t *f)
{
    assert_int_equal(f->rec.n, 0);
}

static void s_assert_member(const s_out_t *o, const char *ch, const char *uid, const char *info,
                            const char *exclude, bool added)
{
    assert_true(o->control);
    assert_int_equal(o->type, RTM_WIRE_MEMBER);
    assert_string_equal(o->channel, ch);
    assert_string_equal(o->user_id, uid);
    assert_string_equal(o->user_info, info);
    assert_string_equal(o->exclude, exclude);
    assert_int_equal(o->added, added);
}

static void s_assert_count_event(const s_out_t *o, const char *ch, uint64_t n)
{
    char want[256];
    snprintf(want, sizeof want,
             "{\"event\":\"pusher_internal:subscription_count\",\"channel\":\"%s\","
             "\"data\":\"{\\\"subscription_count\\\":%llu}\"}",
             ch, (unsigned long long)n);
    assert_false(o->control);
    assert_string_equal(o->channel, ch);
    assert_string_equal(o->exclude, "");
    assert_string_equal(o->json, want);
}

/* ---- presence ---------------------------------------------------------- */

static void test_join_and_leave(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    assert_int_equal(s_join(f, 1, "presence-a", "u1", "{\"n\":1}", "1.1", 0), 0);
    s_out_t o = s_take1(f);
    s_assert_member(&o, "presence-a", "u1", "{\"n\":1}", "1.1", true);
    assert_int_equal(s_st(f)->users, 1);
    assert_int_equal(s_st(f)->conns, 1);
    assert_int_equal(s_st(f)->records, 1);
    assert_int_equal(s_st(f)->member_events, 1);

    /* Same user on another node: no event; its info is not taken. */
    assert_int_equal(s_join(f, 2, "presence-a", "u1", "{\"n\":2}", "2.1", 0), 0);
    s_none(f);
    /* A repeat of a held connection (re-announce) changes nothing. */
    assert_int_equal(s_join(f, 2, "presence-a", "u1", "{\"n\":2}", "2.1", 0), 0);
    s_none(f);
    assert_int_equal(s_st(f)->users, 1);
    assert_int_equal(s_st(f)->conns, 2);

    /* The same socket id on another peer is another connection. */
    assert_int_equal(s_join(f, 3, "presence-a", "u1", "", "2.1", 0), 0);
    assert_int_equal(s_st(f)->conns, 3);

    assert_int_equal(s_sync(f, "presence-a", 1000), 1);
    o = s_take1(f);
    assert_string_equal(o.members, "u1={\"n\":1};");

    /* Leaves: only the last connection of the user is announced. */
    assert_int_equal(s_leave(f, 1, "presence-a", "u1", "1.1"), 0);
    assert_int_equal(s_leave(f, 3, "presence-a", "u1", "2.1"), 0);
    s_none(f);
    assert_int_equal(s_leave(f, 2, "presence-a", "u1", "1.1"), RTM_ENOTFOUND); /* wrong socket */
    assert_int_equal(s_leave(f, 1, "presence-a", "u1", "2.1"), RTM_ENOTFOUND); /* wrong peer */
    assert_int_equal(s_leave(f, 2, "presence-a", "u2", "2.1"), RTM_ENOTFOUND); /* wrong user */
    assert_int_equal(s_leave(f, 2, "presence-b", "u1", "2.1"), RTM_ENOTFOUND); /* no record */
    assert_int_equal(s_leave(f, 2, "presence-a", "u1", "2.1"), 0);
    o = s_take1(f);
    s_assert_member(&o, "presence-a", "u1", "", "2.1", false);

    /* Nothing left but the open mark of the SYNC above, until it expires;
     * then the record is gone and every byte given back. */
    assert_int_equal(s_st(f)->records, 1);
    rtm_channel_state_tick(f->cs, 1000 + 10000, &f->sink);
    assert_int_equal(s_st(f)->records, 0);
    assert_int_equal(s_st(f)->users, 0);
    assert_int_equal(s_st(f)->conns, 0);
    assert_int_equal(s_st(f)->bytes, 0);
    assert_int_equal(s_leave(f, 2, "presence-a", "u1", "2.1"), RTM_ENOTFOUND);
    s_fix_free(f);
}

static void test_join_limits(void **state)
{
    (void)state;
    rtm_channel_state_limits_t lim = rtm_channel_state_default_limits();
    lim.max_members = 3;
    s_fix_t *f = s_fix(&lim);
    assert_int_equal(s_join(f, 1, "presence-a", "u1", "", "1.1", 2), 0);
    assert_int_equal(s_join(f, 1, "presence-a", "u2", "", "1.2", 2), 0);
    f->rec.n = 0;
    /* A new user past the channel's limit is refused, an existing one is not. */
    assert_int_equal(s_join(f, 1, "presence-a", "u3", "", "1.3", 2), RTM_ETOOBIG);
    assert_int_equal(s_st(f)->full, 1);
    assert_int_equal(s_join(f, 2, "presence-a", "u2", "", "2.2", 2), 0);
    s_none(f);
    assert_int_equal(s_st(f)->users, 2);
    assert_int_equal(s_st(f)->conns, 3);
    /* A larger limit admits one more; "unlimited" (0) or a larger one still
     * stops at the shard's hard cap. */
    assert_int_equal(s_join(f, 1, "presence-a", "u3", "", "1.3", 3), 0);
    assert_int_equal(s_join(f, 1, "presence-a", "u4", "", "1.4", 0), RTM_ETOOBIG);
    assert_int_equal(s_join(f, 1, "presence-a", "u4", "", "1.4", 1000), RTM_ETOOBIG);
    assert_int_equal(s_st(f)->full, 3);
    /* A refused join on a fresh channel leaves no record behind. */
    lim.max_members = 1;
    s_fix_t *g = s_fix(&lim);
    assert_int_equal(s_join(g, 1, "presence-b", "u1", "", "1.1", 0), 0);
    assert_int_equal(s_join(g, 1, "presence-b", "u2", "", "1.2", 0), RTM_ETOOBIG);
    assert_int_equal(s_leave(g, 1, "presence-b", "u1", "1.1"), 0);
    assert_int_equal(s_st(g)->records, 0);
    assert_int_equal(s_st(g)->bytes, 0);
    s_fix_free(g);
    s_fix_free(f);
}

/* A flood of joins with distinct users stays bounded by the channel limit. */
static void test_join_flood_bounded(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    int ok = 0, full = 0;
    for (int i = 0; i < 20000; i++) {
        char uid[16], sid[24];
        snprintf(uid, sizeof uid, "u%d", i);
        snprintf(sid, sizeof sid, "%d.%d", i, i);
        int rc =
            s_join(f, 1, "presence-flood", uid, "{\"x\":\"yyyyyyyyyyyyyyyyyyyyyyyy\"}", sid, 100);
        ok += rc == 0;
        full += rc == RTM_ETOOBIG;
        f->rec.n = 0;
    }
    assert_int_equal(ok, 100);
    assert_int_equal(full, 19900);
    assert_int_equal(s_st(f)->users, 100);
    assert_int_equal(s_st(f)->conns, 100);
    assert_true(s_st(f)->bytes < 100 * 1024);
    s_fix_free(f);
}

static void test_join_invalid(void **state)
{
    (void)state;
    rtm_channel_state_limits_t lim = rtm_channel_state_default_limits();
    lim.max_user_info = 8;
    s_fix_t *f = s_fix(&lim);
    static char long_id[257];
    memset(long_id, 'u', 256);
    const struct {
        const char *ch, *uid, *info, *sid;
    } bad[] = {
        {"private-a", "u", "", "1.1"},              /* not presence */
        {"presence", "u", "", "1.1"},               /* no presence- prefix */
        {"presence-a", "", "", "1.1"},              /* no user id */
        {"presence-a", long_id, "", "1.1"},         /* user id too long */
        {"presence-a", "u", "{\"a\":1234}", "1.1"}, /* info over the limit */
        {"presence-a", "u", "", ""},                /* no socket id */
        {"presence-a", "u", "", "1."},              /* not a socket id */
        {"presence-a", "u", "", "abc"},             /* not a socket id */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(s_join(f, 1, bad[i].ch, bad[i].uid, bad[i].info, bad[i].sid, 0),
                         RTM_EINVAL);
    /* An invalid topic: empty app, and a channel holding NUL. */
    rtm_wire_msg_t m = {.type = RTM_WIRE_PRESENCE_JOIN,
                        .app = S(""),
                        .channel = S("presence-a"),
                        .user_id = S("u"),
                        .exclude = S("1.1")};
    assert_int_equal(rtm_channel_state_join(f->cs, 1, &m, &f->sink), RTM_EINVAL);
    m.app = S("app");
    m.channel = S("presence-a\0x");
    assert_int_equal(rtm_channel_state_join(f->cs, 1, &m, &f->sink), RTM_EINVAL);
    m.channel = S("presence-a");
    assert_int_equal(
        rtm_channel_state_leave(f->cs, 1, &(rtm_wire_msg_t){.app = S("a\x1F"), .channel = S("c")},
                                &f->sink),
        RTM_EINVAL);
    /* The 8-byte info is exactly at the limit. */
    assert_int_equal(s_join(f, 1, "presence-a", "u", "{\"a\":12}", "1.1", 0), 0);
    assert_int_equal(s_st(f)->records, 1);
    s_fix_free(f);
}

/* ---- subscription counts ----------------------------------------------- */

static void test_counts(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    assert_int_equal(s_count(f, 1, "chat", 3, true, 1000), 0);
    s_out_t o = s_take1(f);
    s_assert_count_event(&o, "chat", 3);
    assert_int_equal(s_count(f, 2, "chat", 2, true, 1001), 0);
    o = s_take1(f);
    s_assert_count_event(&o, "chat", 5);
    /* Absolute counts: a repeat (re-announce) changes nothing. */
    assert_int_equal(s_count(f, 1, "chat", 3, true, 1002), 0);
    s_none(f);
    /* Without notify the total moves but nothing is published. */
    assert_int_equal(s_count(f, 1, "chat", 4, false, 1003), 0);
    s_none(f);
    assert_int_equal(s_sync(f, "chat", 1004), 1);
    o = s_take1(f);
    assert_int_equal(o.count, 6);
    assert_int_equal(s_count(f, 1, "chat", 0, true, 1005), 0);
    o = s_take1(f);
    s_assert_count_event(&o, "chat", 2);
    assert_int_equal(s_count(f, 2, "chat", 0, true, 1006), 0);
    o = s_take1(f);
    s_assert_count_event(&o, "chat", 0);
    assert_int_equal(s_st(f)->records, 0);
    /* A zero for a channel not held creates nothing. */
    assert_int_equal(s_count(f, 2, "chat", 0, true, 1007), 0);
    assert_int_equal(s_st(f)->records, 0);
    s_none(f);
    /* Invalid topics are refused. */
    assert_int_equal(s_count(f, 2, "", 1, true, 1008), RTM_EINVAL);
    /* Absurd counts are clamped, so hostile peers cannot wrap the total. */
    assert_int_equal(s_count(f, 1, "huge", UINT64_MAX, false, 1009), 0);
    assert_int_equal(s_count(f, 2, "huge", UINT64_MAX, false, 1009), 0);
    assert_int_equal(s_sync(f, "huge", 1010), 1);
    o = s_take1(f);
    assert_int_equal(o.count, 2ULL * UINT32_MAX);
    s_fix_free(f);
}

static void test_count_throttle(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL); /* above 100: once per 30 s */
    assert_int_equal(s_count(f, 1, "big", 150, true, 1000), 0);
    s_out_t o = s_take1(f); /* the first announcement is not held back */
    s_assert_count_event(&o, "big", 150);
    assert_int_equal(s_count(f, 2, "big", 10, true, 2000), 0);
    s_none(f);
    rtm_channel_state_tick(f->cs, 20000, &f->sink);
    s_none(f);
    assert_int_equal(s_count(f, 2, "big", 12, true, 25000), 0);
    rtm_channel_state_tick(f->cs, 31000, &f->sink);
    o = s_take1(f);
    s_assert_count_event(&o, "big", 162); /* the latest total */
    rtm_channel_state_tick(f->cs, 70000, &f->sink);
    s_none(f);
    /* A change that is undone before it is due is never announced. */
    assert_int_equal(s_count(f, 2, "big", 20, true, 32000), 0);
    assert_int_equal(s_count(f, 2, "big", 12, true, 33000), 0);
    rtm_channel_state_tick(f->cs, 90000, &f->sink);
    s_none(f);
    /* Small channels are never throttled. */
    assert_int_equal(s_count(f, 1, "small", 1, true, 90000), 0);
    assert_int_equal(s_count(f, 1, "small", 2, true, 90001), 0);
    assert_int_equal(f->rec.n, 2);
    s_fix_free(f);
}

/* ---- cache and sync ---------------------------------------------------- */

static void test_cache(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    const char *json = "{\"event\":\"e\",\"channel\":\"cache-x\",\"data\":\"d1\"}";
    assert_int_equal(s_cache(f, "chat", "e", "d", "{}", 0), 0);           /* not cache */
    assert_int_equal(s_cache(f, "cache-x", "client-e", "d", "{}", 0), 0); /* client */
    assert_int_equal(s_cache(f, "my-cache-x", "e", "d", "{}", 0), 0);     /* unanchored */
    assert_int_equal(s_st(f)->records, 0);
    assert_int_equal(s_cache(f, "cache-x", "e", "d0", "{\"old\":1}", 1000), 1);
    assert_int_equal(s_cache(f, "cache-x", "e", "d1", json, 2000), 1); /* the last one wins */
    assert_int_equal(s_st(f)->cached, 2);
    assert_int_equal(s_sync(f, "cache-x", 3000), 1);
    s_out_t o = s_take1(f);
    assert_int_equal(o.type, RTM_WIRE_SYNC);
    assert_string_equal(o.cache_json, json);
    assert_int_equal(o.count, 0);
    assert_int_equal(o.n_members, 0);

    rtm_channel_info_t info;
    assert_int_equal(rtm_channel_state_info(f->cs, S("app"), S("cache-x"), 3000, &info), 0);
    assert_true(info.cached);
    assert_true(rtm_str_eq_cstr(info.cache_event, "e"));
    assert_true(rtm_str_eq_cstr(info.cache_data, "d1"));
    assert_int_equal(info.cache_ttl_ms, 30 * 60 * 1000 - 1000);

    /* Expired: not in a SYNC any more, and the timer frees the record. */
    uint64_t end = 2000 + 30 * 60 * 1000;
    assert_int_equal(s_sync(f, "cache-x", end), 1);
    o = s_take1(f);
    assert_string_equal(o.cache_json, "");
    rtm_channel_state_tick(f->cs, end - 1, &f->sink);
    assert_int_equal(s_st(f)->records, 1);
    rtm_channel_state_tick(f->cs, end, &f->sink);
    assert_int_equal(s_st(f)->records, 0);
    assert_int_equal(s_st(f)->bytes, 0);
    s_none(f);

    /* A cached presence-cache channel keeps its record after the last leave. */
    assert_int_equal(s_join(f, 1, "presence-cache-p", "u", "", "1.1", 0), 0);
    assert_int_equal(s_cache(f, "presence-cache-p", "e", "d", "{}", 5000), 1);
    assert_int_equal(s_leave(f, 1, "presence-cache-p", "u", "1.1"), 0);
    assert_int_equal(s_st(f)->records, 1);
    s_fix_free(f);
}

static void test_sync(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    /* A channel with no state still gets an (empty) SYNC: it proves the
     * subscription to the node. */
    assert_int_equal(s_sync(f, "presence-a", 1000), 1);
    s_out_t o = s_take1(f);
    assert_int_equal(o.type, RTM_WIRE_SYNC);
    assert_string_equal(o.channel, "presence-a");
    assert_int_equal(o.count, 0);
    assert_int_equal(o.n_members, 0);
    assert_string_equal(o.cache_json, "");
    assert_int_equal(s_st(f)->records, 1); /* its open mark */

    assert_int_equal(s_join(f, 1, "presence-a", "u2", "{\"b\":2}", "1.2", 0), 0);
    assert_int_equal(s_join(f, 2, "presence-a", "u1", "", "2.1", 0), 0);
    assert_int_equal(s_count(f, 1, "presence-a", 1, false, 1000), 0);
    assert_int_equal(s_count(f, 2, "presence-a", 1, false, 1000), 0);
    f->rec.n = 0;
    assert_int_equal(s_sync(f, "presence-a", 2000), 1);
    o = s_take1(f);
    assert_int_equal(o.count, 2);
    assert_int_equal(o.n_members, 2);
    assert_string_equal(o.members, "u1=;u2={\"b\":2};");
    /* Requests within the gap are answered by that SYNC. */
    assert_int_equal(s_sync(f, "presence-a", 2099), 0);
    s_none(f);
    assert_int_equal(s_st(f)->syncs_skipped, 1);
    assert_int_equal(s_sync(f, "presence-a", 2100), 1);
    s_take1(f);
    assert_int_equal(s_sync(f, "", 2100), RTM_EINVAL);
    s_fix_free(f);
}

/* ---- peers and ownership ----------------------------------------------- */

static void test_peer_lost(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    assert_int_equal(s_count(f, 1, "chat", 2, true, 0), 0);
    assert_int_equal(s_count(f, 2, "chat", 5, true, 0), 0);
    assert_int_equal(s_count(f, 1, "quiet", 1, false, 0), 0);
    assert_int_equal(s_join(f, 1, "presence-a", "only1", "", "1.1", 0), 0);
    assert_int_equal(s_join(f, 1, "presence-a", "both", "", "1.2", 0), 0);
    assert_int_equal(s_join(f, 2, "presence-a", "both", "", "2.2", 0), 0);
    assert_int_equal(s_join(f, 2, "presence-a", "only2", "", "2.3", 0), 0);
    f->rec.n = 0;

    rtm_channel_state_peer_lost(f->cs, 1, 100, &f->sink);
    /* One count event (chat 7 -> 5) and one member_removed (only1); in
     * hash order, so find each. */
    assert_int_equal(f->rec.n, 2);
    const s_out_t *count = f->rec.out[0].control ? &f->rec.out[1] : &f->rec.out[0];
    const s_out_t *member = f->rec.out[0].control ? &f->rec.out[0] : &f->rec.out[1];
    s_assert_count_event(count, "chat", 5);
    s_assert_member(member, "presence-a", "only1", "", "", false);
    f->rec.n = 0;
    assert_int_equal(s_st(f)->records, 2); /* quiet went with its only peer */
    assert_int_equal(s_st(f)->users, 2);
    assert_int_equal(s_st(f)->conns, 2);
    /* Losing it again, or an unknown peer, does nothing. */
    rtm_channel_state_peer_lost(f->cs, 1, 100, &f->sink);
    rtm_channel_state_peer_lost(f->cs, 9, 100, &f->sink);
    s_none(f);
    rtm_channel_state_peer_lost(f->cs, 2, 100, &f->sink);
    assert_int_equal(f->rec.n, 3); /* chat 0, both and only2 removed */
    assert_int_equal(s_st(f)->records, 0);
    assert_int_equal(s_st(f)->bytes, 0);
    s_fix_free(f);
}

static bool s_owns_not_b(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    (void)ctx;
    assert_true(rtm_str_eq_cstr(app, "app"));
    return !rtm_str_has_prefix(channel, "presence-b") && !rtm_str_eq_cstr(channel, "b");
}

static void test_retain_and_peer_cap(void **state)
{
    (void)state;
    rtm_channel_state_limits_t lim = rtm_channel_state_default_limits();
    lim.max_peer_entries = 3;
    s_fix_t *f = s_fix(&lim);
    assert_int_equal(s_count(f, 1, "a", 1, false, 0), 0);
    assert_int_equal(s_count(f, 1, "b", 1, false, 0), 0);
    assert_int_equal(s_join(f, 1, "presence-b", "u", "", "1.1", 0), 0);
    f->rec.n = 0;
    /* The peer holds 3 entries: a 4th of any kind is refused, a change of
     * an existing one is not, and other peers are unaffected. */
    assert_int_equal(s_count(f, 1, "c", 1, false, 0), RTM_EUNAVAIL);
    assert_int_equal(s_join(f, 1, "presence-b", "u", "", "1.2", 0), RTM_EUNAVAIL);
    assert_int_equal(s_join(f, 1, "presence-b", "u", "", "1.1", 0), 0); /* a repeat */
    assert_int_equal(s_count(f, 1, "a", 7, false, 0), 0);
    assert_int_equal(s_count(f, 2, "c", 1, false, 0), 0);
    assert_int_equal(s_st(f)->refused, 2);
    assert_int_equal(s_st(f)->records, 4);

    /* Ownership moved: b and presence-b are dropped silently, and the
     * peer's entries with them. */
    assert_int_equal(rtm_channel_state_retain(f->cs, s_owns_not_b, NULL), 2);
    s_none(f);
    assert_int_equal(s_st(f)->records, 2);
    assert_int_equal(s_st(f)->users, 0);
    assert_int_equal(s_count(f, 1, "d", 1, false, 0), 0);
    assert_int_equal(s_count(f, 1, "e", 1, false, 0), 0);
    assert_int_equal(s_count(f, 1, "f", 1, false, 0), RTM_EUNAVAIL);
    s_fix_free(f);
}

static void test_capacity_limits(void **state)
{
    (void)state;
    rtm_channel_state_limits_t lim = rtm_channel_state_default_limits();
    lim.max_records = 2;
    s_fix_t *f = s_fix(&lim);
    assert_int_equal(s_count(f, 1, "a", 1, false, 0), 0);
    assert_int_equal(s_join(f, 1, "presence-b", "u", "", "1.1", 0), 0);
    assert_int_equal(s_count(f, 1, "c", 1, false, 0), RTM_EUNAVAIL);
    assert_int_equal(s_join(f, 1, "presence-c", "u", "", "1.1", 0), RTM_EUNAVAIL);
    assert_int_equal(s_cache(f, "cache-c", "e", "d", "{}", 0), RTM_EUNAVAIL);
    assert_int_equal(s_st(f)->refused, 3);
    assert_int_equal(s_count(f, 1, "a", 0, false, 0), 0); /* frees a record */
    assert_int_equal(s_cache(f, "cache-c", "e", "d", "{}", 0), 1);
    s_fix_free(f);

    lim = rtm_channel_state_default_limits();
    lim.max_bytes = 2048;
    f = s_fix(&lim);
    static char big[1500];
    memset(big, 'x', sizeof big - 1);
    assert_int_equal(s_cache(f, "cache-a", "e", "d", big, 0), 1);
    assert_int_equal(s_cache(f, "cache-b", "e", "d", big, 0), RTM_EUNAVAIL);
    assert_int_equal(s_cache(f, "cache-a", "e", "d", big, 0), 1); /* replacing fits */
    assert_int_equal(s_join(f, 1, "presence-a", "u", big + 1000, "1.1", 0), RTM_EUNAVAIL);
    assert_int_equal(s_st(f)->records, 1);
    s_fix_free(f);
}

/* ---- queries ----------------------------------------------------------- */

static bool s_owns_all_but_z(void *ctx, rtm_str_t app, rtm_str_t channel)
{
    (void)ctx;
    (void)app;
    return !rtm_str_has_prefix(channel, "z");
}

/* Runs a query; returns its status and copies the answer into out. */
static int s_query(s_fix_t *f, uint32_t kind, const char *ch, const char *info, uint64_t now,
                   char *out, size_t cap)
{
    rtm_wire_msg_t q = {.type = RTM_WIRE_QUERY,
                        .id = 1,
                        .app = S("app"),
                        .kind = kind,
                        .channel = rtm_str_cstr(ch),
                        .info = rtm_str_cstr(info)};
    char *json = (char *)1;
    size_t len = 99;
    int rc = rtm_queries_answer(f->cs, &q, now, s_owns_all_but_z, NULL, &json, &len);
    if (rc < 0 || len == 0)
        assert_null(json);
    if (json)
        assert_true(len > 0);
    s_copy(out, cap, rtm_str(json, len));
    free(json);
    return rc;
}

static void test_query_channels(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    char out[512];
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_CHANNELS, "", "", 0, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(s_join(f, 1, "presence-a", "u1", "", "1.1", 0), 0);
    assert_int_equal(s_join(f, 1, "presence-a", "u2", "", "1.2", 0), 0);
    assert_int_equal(s_count(f, 1, "presence-a", 2, false, 0), 0);
    assert_int_equal(s_count(f, 1, "zed", 4, false, 0), 0);           /* not owned */
    assert_int_equal(s_cache(f, "cache-only", "e", "d", "{}", 0), 1); /* not occupied */
    assert_int_equal(s_count(f, 1, "presence-z", 0, false, 0), 0);
    assert_int_equal(
        s_query(f, RTM_WIRE_QUERY_CHANNELS, "presence-", "user_count", 0, out, sizeof out), 0);
    assert_string_equal(out, "\"presence-a\":{\"user_count\":2}");
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_CHANNELS, "", " subscription_count , user_count", 0,
                             out, sizeof out),
                     0);
    assert_string_equal(out, "\"presence-a\":{\"user_count\":2,\"subscription_count\":2}");
    assert_int_equal(s_count(f, 1, "chat", 3, false, 0), 0);
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_CHANNELS, "ch", "user_count,subscription_count", 0,
                             out, sizeof out),
                     0);
    assert_string_equal(out, "\"chat\":{\"subscription_count\":3}"); /* no user_count */
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_CHANNELS, "chat", "bogus", 0, out, sizeof out), 0);
    assert_string_equal(out, "\"chat\":{}");
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_CHANNELS, "chatter", "", 0, out, sizeof out), 0);
    assert_string_equal(out, "");
    /* Two channels: a comma between them, in either order. */
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_CHANNELS, "", "", 0, out, sizeof out), 0);
    assert_true(strcmp(out, "\"presence-a\":{},\"chat\":{}") == 0 ||
                strcmp(out, "\"chat\":{},\"presence-a\":{}") == 0);
    s_fix_free(f);
}

static void test_query_channel_and_users(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    char out[512];
    const char *all = "user_count,subscription_count,cache";
    assert_int_equal(
        s_query(f, RTM_WIRE_QUERY_CHANNEL, "presence-cache-p", all, 0, out, sizeof out), 0);
    assert_string_equal(out, "{\"occupied\":false,\"user_count\":0,\"subscription_count\":0,"
                             "\"cache\":null}");
    assert_int_equal(s_join(f, 1, "presence-cache-p", "a\"b", "", "1.1", 0), 0);
    assert_int_equal(s_count(f, 1, "presence-cache-p", 2, false, 0), 0);
    assert_int_equal(s_cache(f, "presence-cache-p", "ev\"1", "{\"x\":1}", "{}", 1000), 1);
    assert_int_equal(
        s_query(f, RTM_WIRE_QUERY_CHANNEL, "presence-cache-p", all, 2500, out, sizeof out), 0);
    assert_string_equal(out, "{\"occupied\":true,\"user_count\":1,\"subscription_count\":2,"
                             "\"cache\":{\"event\":\"ev\\\"1\",\"data\":\"{\\\"x\\\":1}\","
                             "\"ttl\":1799}}");
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_CHANNEL, "presence-cache-p", "", 0, out, sizeof out),
                     0);
    assert_string_equal(out, "{\"occupied\":true}");
    /* Attributes that do not apply are left out. */
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_CHANNEL, "chat", all, 0, out, sizeof out), 0);
    assert_string_equal(out, "{\"occupied\":false,\"subscription_count\":0}");

    assert_int_equal(s_query(f, RTM_WIRE_QUERY_USERS, "presence-cache-p", "", 0, out, sizeof out),
                     0);
    assert_string_equal(out, "{\"users\":[{\"id\":\"a\\\"b\"}]}");
    assert_int_equal(s_join(f, 1, "presence-cache-p", "c", "", "1.2", 0), 0);
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_USERS, "presence-cache-p", "", 0, out, sizeof out),
                     0);
    assert_true(strcmp(out, "{\"users\":[{\"id\":\"a\\\"b\"},{\"id\":\"c\"}]}") == 0 ||
                strcmp(out, "{\"users\":[{\"id\":\"c\"},{\"id\":\"a\\\"b\"}]}") == 0);
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_USERS, "presence-empty", "", 0, out, sizeof out), 0);
    assert_string_equal(out, "{\"users\":[]}");

    /* Refusals. */
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_USERS, "chat", "", 0, out, sizeof out), RTM_EINVAL);
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_USERS, "zpresence", "", 0, out, sizeof out),
                     RTM_EINVAL);
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_CHANNEL, "zed", "", 0, out, sizeof out),
                     RTM_ENOTOWNER);
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_CHANNEL, "", "", 0, out, sizeof out), RTM_EINVAL);
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_USERS, "", "", 0, out, sizeof out), RTM_EINVAL);
    assert_int_equal(s_query(f, 0, "chat", "", 0, out, sizeof out), RTM_EINVAL);
    assert_int_equal(s_query(f, 4, "chat", "", 0, out, sizeof out), RTM_EINVAL);
    s_fix_free(f);
}

/* An id the app gave as a number keeps its type everywhere the shard hands it
 * back, while identity is its string form. */
static void test_numeric_user_ids(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    char out[512];
    assert_int_equal(s_join(f, 1, "presence-n", "#7", "", "1.1", 0), 0);
    s_out_t o = s_take1(f);
    s_assert_member(&o, "presence-n", "#7", "", "1.1", true);
    /* "7" as a string is the same user: no MEMBER, and the first connection's type stays */
    assert_int_equal(s_join(f, 2, "presence-n", "7", "", "2.1", 0), 0);
    s_none(f);
    assert_int_equal(s_query(f, RTM_WIRE_QUERY_USERS, "presence-n", "", 0, out, sizeof out), 0);
    assert_string_equal(out, "{\"users\":[{\"id\":7}]}");
    assert_int_equal(s_sync(f, "presence-n", 0), 1);
    o = s_take1(f);
    assert_string_equal(o.members, "#7=;");
    assert_int_equal(s_leave(f, 1, "presence-n", "7", "1.1"), 0);
    s_none(f);
    assert_int_equal(s_leave(f, 2, "presence-n", "7", "2.1"), 0);
    o = s_take1(f);
    s_assert_member(&o, "presence-n", "#7", "", "2.1", false);
    s_fix_free(f);
}

/* A user's channel crossing zero connections: a SYNC with its total tells the
 * nodes of the user's watchers; other changes of it publish nothing. */
static void test_user_status(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    const char *user = "#server-to-user-u";
    assert_int_equal(s_count(f, 1, user, 1, false, 0), 0);
    s_out_t o = s_take1(f);
    assert_true(o.control);
    assert_int_equal(o.type, RTM_WIRE_SYNC);
    assert_string_equal(o.channel, user);
    assert_int_equal(o.count, 1);
    assert_int_equal(s_count(f, 2, user, 2, false, 0), 0); /* still online */
    assert_int_equal(s_count(f, 1, user, 0, false, 0), 0);
    s_none(f);
    assert_int_equal(s_count(f, 2, user, 0, false, 0), 0); /* offline */
    o = s_take1(f);
    assert_int_equal(o.type, RTM_WIRE_SYNC);
    assert_int_equal(o.count, 0);
    assert_int_equal(s_count(f, 1, "chat", 1, false, 0), 0); /* not a user's: nothing */
    s_none(f);
    s_fix_free(f);
}

/* A PUBLISH with "info": each channel's attributes as Pusher defines them. */
static void test_publish_info(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    assert_int_equal(s_join(f, 1, "presence-i", "u1", "", "1.1", 0), 0);
    assert_int_equal(s_join(f, 2, "presence-i", "u1", "", "2.1", 0), 0);
    assert_int_equal(s_join(f, 2, "presence-i", "#2", "", "2.2", 0), 0);
    assert_int_equal(s_count(f, 1, "chat", 3, false, 0), 0);
    assert_int_equal(s_count(f, 2, "chat", 2, false, 0), 0);
    assert_int_equal(s_count(f, 1, "presence-i", 2, false, 0), 0);
    rtm_app_t app = {.subscription_count = true};
    rtm_wire_msg_t p = {.type = RTM_WIRE_PUBLISH,
                        .app = S("app"),
                        .n_channels = 3,
                        .info = S("user_count, subscription_count")};
    p.channels[0] = S("chat"), p.channels[1] = S("presence-i"), p.channels[2] = S("empty");
    static const struct {
        bool option;
        const char *info, *want;
    } v[] = {
        {true, "user_count, subscription_count",
         "[{\"subscription_count\":5},{\"user_count\":2},{\"subscription_count\":0}]"},
        {false, "user_count,subscription_count", "[{},{\"user_count\":2},{}]"},
        {true, "subscription_count", "[{\"subscription_count\":5},{},{\"subscription_count\":0}]"},
        {true, "bogus", "[{},{},{}]"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        app.subscription_count = v[i].option;
        p.info = rtm_str_cstr(v[i].info);
        size_t len;
        char *json = rtm_queries_publish_info(f->cs, &app, &p, 0, &len);
        assert_int_equal(len, strlen(v[i].want));
        assert_memory_equal(json, v[i].want, len);
        free(json);
    }
    s_fix_free(f);
}

/* ---- webhook changes --------------------------------------------------- */

static void s_hooks_are(s_fix_t *f, const char *const *want, size_t n)
{
    assert_int_equal(f->hooks.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(f->hooks.line[i], want[i]);
    f->hooks.n = 0;
}
#define S_HOOKS(f, ...)                                                                            \
    do {                                                                                           \
        const char *const w_[] = {__VA_ARGS__};                                                    \
        s_hooks_are(f, w_, sizeof w_ / sizeof w_[0]);                                              \
    } while (0)
#define S_NO_HOOKS(f) s_hooks_are(f, NULL, 0)

static void test_webhook_occupancy(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    /* A node SYNCs before it counts: mesh-wide 0 -> 1 is news, 1 -> 2 is not. */
    assert_int_equal(s_sync(f, "c", 1000), 1);
    assert_int_equal(s_count(f, 1, "c", 1, false, 1001), 0);
    S_HOOKS(f, "channel_occupied c");
    assert_int_equal(s_sync(f, "c", 1002), 1); /* occupied: no mark */
    assert_int_equal(s_count(f, 2, "c", 3, false, 1003), 0);
    assert_int_equal(s_count(f, 1, "c", 0, false, 1004), 0);
    S_NO_HOOKS(f);
    assert_int_equal(s_count(f, 2, "c", 0, false, 1005), 0);
    S_HOOKS(f, "channel_vacated c");

    /* Counted without a SYNC first: re-announced after a failover, taken
     * over silently; it still vacates once. */
    assert_int_equal(s_count(f, 1, "moved", 2, false, 2000), 0);
    S_HOOKS(f, "inherited channel_occupied moved");
    assert_int_equal(s_st(f)->inherited, 1);
    rtm_channel_state_peer_lost(f->cs, 1, 2001, &f->sink);
    S_HOOKS(f, "channel_vacated moved");

    /* An open mark expires. */
    assert_int_equal(s_sync(f, "late", 3000), 1);
    rtm_channel_state_tick(f->cs, 3000 + 10000, &f->sink);
    assert_int_equal(s_count(f, 1, "late", 1, false, 13001), 0);
    S_HOOKS(f, "inherited channel_occupied late");
    assert_int_equal(s_count(f, 1, "late", 0, false, 13002), 0);
    S_HOOKS(f, "channel_vacated late");

    /* With count events, every announced total is a subscription_count change too. */
    assert_int_equal(s_sync(f, "n", 14000), 1);
    assert_int_equal(s_count(f, 1, "n", 2, true, 14001), 0);
    S_HOOKS(f, "channel_occupied n", "subscription_count n =2");
    assert_int_equal(s_count(f, 1, "n", 0, true, 14002), 0);
    S_HOOKS(f, "channel_vacated n", "subscription_count n =0");
    assert_int_equal(s_st(f)->records, 0);
    s_fix_free(f);
}

static void test_webhook_members(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(NULL);
    /* A fresh join (with an id) of a new user is news; another connection is not. */
    assert_int_equal(s_join(f, 1, "presence-p", "u1", "", "1.1", 0), 0);
    S_HOOKS(f, "member_added presence-p u1");
    assert_int_equal(s_join(f, 2, "presence-p", "u1", "", "2.1", 0), 0);
    S_NO_HOOKS(f);
    /* A re-announced join (id 0) of a user new here: taken over silently. */
    rtm_wire_msg_t m = {.type = RTM_WIRE_PRESENCE_JOIN,
                        .app = S("app"),
                        .channel = S("presence-p"),
                        .user_id = S("u2"),
                        .exclude = S("2.2")};
    assert_int_equal(rtm_channel_state_join(f->cs, 2, &m, &f->sink), 0);
    S_HOOKS(f, "inherited member_added presence-p u2");
    assert_int_equal(s_st(f)->inherited, 1);
    /* The last connection of a user goes: by leaving, or with its worker. */
    assert_int_equal(s_leave(f, 1, "presence-p", "u1", "1.1"), 0);
    S_NO_HOOKS(f);
    rtm_channel_state_peer_lost(f->cs, 2, 100, &f->sink);
    assert_int_equal(f->hooks.n, 2); /* hash order */
    assert_true(!strcmp(f->hooks.line[0], "member_removed presence-p u1") ||
                !strcmp(f->hooks.line[1], "member_removed presence-p u1"));
    assert_true(!strcmp(f->hooks.line[0], "member_removed presence-p u2") ||
                !strcmp(f->hooks.line[1], "member_removed presence-p u2"));
    f->hooks.n = 0;
    assert_int_equal(s_join(f, 1, "presence-p", "u3", "", "1.3", 0), 0);
    assert_int_equal(s_leave(f, 1, "presence-p", "u3", "1.3"), 0);
    S_HOOKS(f, "member_added presence-p u3", "member_removed presence-p u3");
    s_fix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_and_leave),
        cmocka_unit_test(test_webhook_occupancy),
        cmocka_unit_test(test_webhook_members),
        cmocka_unit_test(test_join_limits),
        cmocka_unit_test(test_join_flood_bounded),
        cmocka_unit_test(test_join_invalid),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_count_throttle),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_sync),
        cmocka_unit_test(test_peer_lost),
        cmocka_unit_test(test_retain_and_peer_cap),
        cmocka_unit_test(test_capacity_limits),
        cmocka_unit_test(test_query_channels),
        cmocka_unit_test(test_query_channel_and_users),
        cmocka_unit_test(test_numeric_user_ids),
        cmocka_unit_test(test_publish_info),
        cmocka_unit_test(test_user_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
