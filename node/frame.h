/* rtm_frame — an immutable, reference-counted byte buffer queued for writing.
 *
 * A broadcast event is framed once per node (by the egress hub, node/egress_hub.h)
 * into one rtm_frame_t and every pending write to every subscriber on every
 * worker holds a reference to it: no per-delivery copy or allocation. Its
 * compressed twin (rtm_frame_deflate), for the subscribers that negotiated
 * permessage-deflate, is made once per worker. Frames cross threads once
 * built, so the count is atomic: a reference is taken from one already held
 * (relaxed), and the last drop must see every write to the frame (acq_rel).
 * The bytes themselves are never written after the frame is handed on. */
#ifndef RTM_FRAME_H
#define RTM_FRAME_H

#include "rtm_deflate.h"
#include "rtm_str.h"
#include "rtm_ws.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t refs; /* owners: the creator plus every queued write; atomic */
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

/* A WebSocket text frame for a len-byte payload: the header is written and
 * *body is where the caller writes the payload. One reference. */
static inline rtm_frame_t *rtm_frame_new_text(size_t len, char **body)
{
    rtm_frame_t *f = rtm_frame_new(RTM_WS_MAX_HEADER + len);
    size_t hdr = rtm_ws_encode_header(f->data, RTM_WS_TEXT, len);
    f->len = (uint32_t)(hdr + len);
    *body = (char *)f->data + hdr;
    return f;
}

/* A WebSocket text frame holding a copy of text[0..len). One reference. */
static inline rtm_frame_t *rtm_frame_text(const char *text, size_t len)
{
    char *body;
    rtm_frame_t *f = rtm_frame_new_text(len, &body);
    if (len)
        memcpy(body, text, len);
    return f;
}

/* The compressed twin of the text frame plain (which the caller keeps): a
 * new frame (one reference) holding plain's payload compressed as a
 * permessage-deflate message (RSV1 set), or NULL when the payload is
 * shorter than RTM_DEFLATE_MIN_LEN or would not get smaller (send plain). */
rtm_frame_t *rtm_frame_deflate(rtm_deflate_t *z, const rtm_frame_t *plain);

/* The payload of the server text frame f: borrowed while f is referenced. */
rtm_str_t rtm_frame_payload(const rtm_frame_t *f);

static inline rtm_frame_t *rtm_frame_ref(rtm_frame_t *f)
{
    __atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED);
    return f;
}

/* Drops one reference; frees on the last and nulls the caller's pointer. */
static inline void rtm_frame_unref(rtm_frame_t **f)
{
    if (*f && __atomic_sub_fetch(&(*f)->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(*f);
    *f = NULL;
}

#endif
