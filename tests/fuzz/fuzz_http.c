/* libFuzzer target for rtm_http: parse any bytes as a request. A refused or
 * incomplete request leaves the buffer alone; an accepted one is incomplete
 * one byte short, its slices lie inside the bytes it consumed, and its body
 * respects the limit. Head length and written response must agree. */
#include "rtm_error.h"
#include "rtm_http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_MAX_HEAD 4096
#define S_MAX_BODY 4096

static void s_check_inside(rtm_str_t s, const char *buf, int consumed)
{
    if (s.len && (s.p < buf || s.p + s.len > buf + consumed))
        abort();
}

static void s_check_response(const rtm_http_request_t *r)
{
    static char out[S_MAX_BODY + 512];
    size_t head = rtm_http_response_head_len(200, "application/json", r->body.len, r->keep_alive);
    int n = rtm_http_write_response(out, sizeof out, 200, "application/json", r->body.p,
                                    r->body.len, r->keep_alive);
    if (n < 0 || (size_t)n != head + r->body.len ||
        (r->body.len && memcmp(out + head, r->body.p, r->body.len) != 0))
        abort();
    if (r->ws_key.len && rtm_http_write_upgrade(out, sizeof out, r->ws_key, NULL) <= 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    rtm_http_request_t r;
    int rc = rtm_http_parse_request(buf, size, S_MAX_HEAD, S_MAX_BODY, &r);
    if (rc <= 0) {
        if ((rc != RTM_EAGAIN && rc != RTM_EPROTO && rc != RTM_ETOOBIG) ||
            (size && memcmp(buf, data, size) != 0))
            abort();
        free(buf);
        return 0;
    }
    if ((size_t)rc > size || r.body.len > S_MAX_BODY || r.method.len == 0 ||
        memcmp(buf + rc, data + rc, size - (size_t)rc) != 0)
        abort();
    const rtm_str_t slices[] = {r.path,       r.query,  r.body,       r.upgrade,
                                r.connection, r.ws_key, r.ws_version, r.content_type};
    for (size_t i = 0; i < sizeof slices / sizeof slices[0]; i++)
        s_check_inside(slices[i], buf, rc);
    if (r.is_upgrade && !rtm_str_eq_cstr(r.method, "GET"))
        abort();
    s_check_response(&r);

    memcpy(buf, data, size);
    if (rtm_http_parse_request(buf, (size_t)rc - 1, S_MAX_HEAD, S_MAX_BODY, &r) != RTM_EAGAIN)
        abort();
    free(buf);
    return 0;
}
