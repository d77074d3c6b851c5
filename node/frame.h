/* rtm_frame — an immutable, reference-counted byte buffer queued for writing.
 *
 * A broadcast event is framed once per worker into one rtm_frame_t and every
 * pending write to every subscriber holds a reference to it: no per-delivery
 * copy or allocation. Frames never cross threads (each worker frames what its
 * own SUB socket receives), so the count is a plain integer. */
#ifndef RTM_FRAME_H
#define RTM_FRAME_H

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint32_t refs; /* owners: the creator plus every queued write */
    uint32_t len;  /* bytes used in data */
    uint8_t data[];
} rtm_frame_t;

/* A frame with room for len bytes and one reference (the caller's). */
static inline rtm_frame_t *rtm_frame_new(size_t len)
{
    rtm_frame_t *f = malloc(sizeof *f + len);
    if (!f)
        abort();
    f->refs = 1;
    f->len = (uint32_t)len;
    return f;
}

static inline rtm_frame_t *rtm_frame_ref(rtm_frame_t *f)
{
    f->refs++;
    return f;
}

/* Drops one reference; frees on the last and nulls the caller's pointer. */
static inline void rtm_frame_unref(rtm_frame_t **f)
{
    if (*f && --(*f)->refs == 0)
        free(*f);
    *f = NULL;
}

#endif
