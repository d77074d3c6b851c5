/* rtm_relay — see relay.h.
 *
 * The consumer swaps the queued array with its own empty one under the lock
 * and handles the messages outside it, so a producer never waits for a
 * handler and a handler may append to other inboxes (or its own) freely. The
 * consumer updates its loop's time before handling: a message carries the
 * hub's read time, taken before it was appended, so the consumer's clock is
 * then never behind it (liveness arithmetic on unsigned times relies on
 * that). */
#include "relay.h"

#include <stdlib.h>
#include <string.h>

/* Copies s to *at, moving *at past it; the copy. */
static rtm_str_t s_copy(char **at, rtm_str_t s)
{
    rtm_str_t copy = rtm_str(*at, s.len);
    if (s.len)
        memcpy(*at, s.p, s.len);
    *at += s.len;
    return copy;
}

rtm_relay_msg_t *rtm_relay_msg_new(rtm_relay_kind_t kind, rtm_str_t topic, rtm_str_t exclude,
                                   rtm_str_t body)
{
    bool framed = kind == RTM_RELAY_EVENT;
    size_t copied = topic.len + exclude.len + (framed ? 0 : body.len);
    rtm_relay_msg_t *m = malloc(sizeof *m + copied);
    if (!m)
        abort();
    *m = (rtm_relay_msg_t){.refs = 1, .kind = (uint8_t)kind};
    char *at = m->data;
    m->topic = s_copy(&at, topic);
    m->exclude = s_copy(&at, exclude);
    if (framed) {
        m->frame = rtm_frame_text(body.p, body.len);
        m->body = rtm_frame_payload(m->frame);
    } else {
        m->body = s_copy(&at, body);
    }
    return m;
}

void rtm_relay_msg_unref(rtm_relay_msg_t **mp)
{
    rtm_relay_msg_t *m = *mp;
    *mp = NULL;
    if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    rtm_frame_unref(&m->frame);
    free(m);
}

void rtm_relay_batch_add(rtm_relay_batch_t *b, rtm_relay_msg_t *m)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        if (!(b->items = realloc(b->items, b->cap * sizeof *b->items)))
            abort();
    }
    b->items[b->n++] = m;
}

static void s_batch_drop(rtm_relay_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        rtm_relay_msg_unref(&b->items[i]);
    b->n = 0;
}

void rtm_relay_batch_free(rtm_relay_batch_t *b)
{
    s_batch_drop(b);
    free(b->items);
    *b = (rtm_relay_batch_t){0};
}

void rtm_relay_inbox_init(rtm_relay_inbox_t *in)
{
    *in = (rtm_relay_inbox_t){0};
    pthread_mutex_init(&in->lock, NULL);
}

void rtm_relay_inbox_limit(rtm_relay_inbox_t *in, size_t max_bytes, rtm_relay_lost_fn lost)
{
    in->max_bytes = max_bytes;
    in->lost = lost;
}

/* The bytes m holds (an event's body is its frame's payload: counted once). */
static size_t s_bytes(const rtm_relay_msg_t *m)
{
    return sizeof *m + m->topic.len + m->exclude.len + m->body.len;
}

static void s_on_wake(uv_async_t *a)
{
    rtm_relay_inbox_t *in = a->data;
    uv_update_time(a->loop);
    pthread_mutex_lock(&in->lock);
    rtm_relay_batch_t got = in->queued;
    in->queued = in->taken; /* empty, its array kept for the producers */
    uint64_t dropped = in->dropped;
    in->queued_bytes = 0;
    in->dropped = 0;
    pthread_mutex_unlock(&in->lock);
    in->taken = got;
    for (size_t i = 0; i < got.n; i++)
        in->handle(in->ctx, got.items[i]);
    s_batch_drop(&in->taken);
    if (dropped)
        in->lost(in->ctx, dropped);
}

int rtm_relay_inbox_open(rtm_relay_inbox_t *in, uv_loop_t *loop, rtm_relay_handle_fn handle,
                         void *ctx)
{
    in->handle = handle;
    in->ctx = ctx;
    int rc = uv_async_init(loop, &in->wake, s_on_wake);
    if (rc < 0)
        return rc;
    in->wake.data = in;
    pthread_mutex_lock(&in->lock);
    in->open = true;
    pthread_mutex_unlock(&in->lock);
    return 0;
}

bool rtm_relay_inbox_add(rtm_relay_inbox_t *in, rtm_relay_batch_t *b)
{
    pthread_mutex_lock(&in->lock);
    bool open = in->open;
    for (size_t i = 0; open && i < b->n; i++) {
        rtm_relay_msg_t *m = b->items[i];
        size_t bytes = s_bytes(m);
        bool over = in->max_bytes && (in->dropped || in->queued_bytes + bytes > in->max_bytes);
        if (over && m->kind != RTM_RELAY_HEARTBEAT) {
            in->dropped++;
            rtm_relay_msg_unref(&m);
            continue;
        }
        in->queued_bytes += bytes;
        rtm_relay_batch_add(&in->queued, m);
    }
    if (open) {
        b->n = 0;
        uv_async_send(&in->wake); /* under the lock: close cannot run meanwhile */
    }
    pthread_mutex_unlock(&in->lock);
    s_batch_drop(b); /* closed: the messages go nowhere */
    return open;
}

void rtm_relay_inbox_close(rtm_relay_inbox_t *in)
{
    pthread_mutex_lock(&in->lock);
    bool was_open = in->open;
    in->open = false;
    pthread_mutex_unlock(&in->lock);
    if (was_open)
        uv_close((uv_handle_t *)&in->wake, NULL);
}

void rtm_relay_inbox_destroy(rtm_relay_inbox_t *in)
{
    rtm_relay_batch_free(&in->queued);
    rtm_relay_batch_free(&in->taken);
    pthread_mutex_destroy(&in->lock);
}
