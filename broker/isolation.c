/* isolation — see isolation.h; docs/architecture.md "Webhooks" tells why.
 *
 * Held changes are a list in the order held (every one is held at a monotonic
 * now, so the head is always the oldest and a tick stops at the first one not
 * yet due). Each is one allocation: the entry with its app, channel and user
 * id copied after it. At most a departure per channel and member a lost node
 * worker held, and only for RTM_WIRE_DEAD_MS. */
#include "isolation.h"

#include "rtm_wire.h"

#include <stdlib.h>
#include <string.h>
#include <utlist.h>

typedef struct s_held {
    rtm_channel_hook_t hook;    /* its slices point into bytes[] */
    uint64_t due_ms;            /* handed on at this time unless dropped first */
    struct s_held *prev, *next; /* held list, oldest first */
    char bytes[];               /* app, channel, user id */
} s_held_t;

struct rtm_isolation {
    s_held_t *held;           /* oldest first */
    bool cut_off;             /* the last tick found the broker hearing nobody */
    bool heard;               /* somebody was heard since creation */
    uint64_t cut_start_ms;    /* when the last cut-off began */
    uint64_t cut_end_ms;      /* when it ended */
    bool recovering;          /* the last cut ended, its peers not all counted again */
    rtm_isolation_stats_t st; /* counters since creation */
};

rtm_isolation_t *rtm_isolation_new(void)
{
    rtm_isolation_t *iso = calloc(1, sizeof *iso);
    if (!iso)
        abort();
    return iso;
}

static void s_free(rtm_isolation_t *iso, s_held_t *h)
{
    DL_DELETE(iso->held, h);
    iso->st.held--;
    free(h);
}

/* Hands h on (release given) or drops it, counted either way, and frees it. */
static void s_settle(rtm_isolation_t *iso, s_held_t *h, rtm_isolation_release_fn release, void *ctx)
{
    if (release) {
        release(ctx, &h->hook);
        iso->st.released++;
    } else {
        iso->st.dropped++;
    }
    s_free(iso, h);
}

/* Drops (counted) or hands on everything held. */
static void s_clear(rtm_isolation_t *iso, rtm_isolation_release_fn release, void *ctx)
{
    s_held_t *h, *tmp;
    DL_FOREACH_SAFE(iso->held, h, tmp)
    {
        s_settle(iso, h, release, ctx);
    }
}

void rtm_isolation_destroy(rtm_isolation_t **iso)
{
    if (!iso || !*iso)
        return;
    s_clear(*iso, NULL, NULL);
    free(*iso);
    *iso = NULL;
}

static rtm_str_t s_copy(char **at, rtm_str_t s)
{
    rtm_str_t c = rtm_str(*at, s.len);
    if (s.len)
        memcpy(*at, s.p, s.len);
    *at += s.len;
    return c;
}

void rtm_isolation_hold(rtm_isolation_t *iso, const rtm_channel_hook_t *hook, uint64_t now_ms)
{
    if (iso->cut_off) {
        iso->st.dropped++;
        return;
    }
    s_held_t *h = malloc(sizeof *h + hook->app.len + hook->channel.len + hook->user_id.len);
    if (!h)
        abort();
    char *at = h->bytes;
    h->hook = *hook;
    h->hook.app = s_copy(&at, hook->app);
    h->hook.channel = s_copy(&at, hook->channel);
    h->hook.user_id = s_copy(&at, hook->user_id);
    h->due_ms = now_ms + RTM_WIRE_DEAD_MS;
    DL_APPEND(iso->held, h);
    iso->st.held++;
}

/* Whether a cut that ended is still being recovered from: until every peer
 * heard again counts as live (a peer back from silence counts only
 * RTM_WIRE_JOIN_MS after it is heard), or, while no peer is heard at all, for
 * as long as the cut lasted (TCP's retransmission back-off can keep a healed
 * link to a peer silent about that long while the nodes are heard already). */
static bool s_recovering(const rtm_isolation_t *iso, const rtm_isolation_hearing_t *hears,
                         uint64_t now_ms)
{
    if (hears->peers == 0)
        return now_ms - iso->cut_end_ms < iso->cut_end_ms - iso->cut_start_ms;
    return hears->peers_live < hears->peers;
}

void rtm_isolation_tick(rtm_isolation_t *iso, uint64_t now_ms, const rtm_isolation_hearing_t *hears,
                        rtm_isolation_release_fn release, void *ctx)
{
    bool nobody = hears->has_peers && hears->peers == 0 && hears->nodes == 0;
    if (nobody && iso->heard) {
        if (!iso->cut_off) {
            iso->st.cut_offs++;
            iso->cut_start_ms = now_ms;
        }
        iso->cut_off = true;
        s_clear(iso, NULL, NULL);
    } else {
        if (iso->cut_off) {
            iso->cut_end_ms = now_ms;
            iso->recovering = true;
        }
        iso->cut_off = false;
        iso->heard = iso->heard || !nobody;
        s_held_t *h, *tmp;
        DL_FOREACH_SAFE(iso->held, h, tmp)
        {
            if (now_ms < h->due_ms)
                break; /* oldest first: the rest are later */
            s_settle(iso, h, release, ctx);
        }
    }
    iso->recovering = iso->recovering && s_recovering(iso, hears, now_ms);
}

void rtm_isolation_flush(rtm_isolation_t *iso, rtm_isolation_release_fn release, void *ctx)
{
    s_clear(iso, release, ctx);
}

bool rtm_isolation_cut_off(const rtm_isolation_t *iso)
{
    return iso->cut_off;
}

bool rtm_isolation_joining(const rtm_isolation_t *iso, uint64_t now_ms)
{
    return iso->cut_off || (iso->st.cut_offs > 0 && now_ms - iso->cut_end_ms < RTM_WIRE_JOIN_MS);
}

bool rtm_isolation_takeovers_wait(const rtm_isolation_t *iso)
{
    return iso->cut_off || iso->recovering;
}

const rtm_isolation_stats_t *rtm_isolation_stats(const rtm_isolation_t *iso)
{
    return &iso->st;
}
