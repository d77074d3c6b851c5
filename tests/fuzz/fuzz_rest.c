/* libFuzzer target for rtm_rest. The first byte picks what the rest of the
 * input is: a query string (parsed, signed, verified against a fixed secret
 * with the input as body), an /events body, or a /batch_events body. Every
 * result must be one of the documented codes, leak-free, and a parsed
 * trigger must respect the default limits. */
#include "rtm_channel.h"
#include "rtm_error.h"
#include "rtm_rest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_query(rtm_str_t in)
{
    rtm_query_t q;
    int rc = rtm_query_parse(in, &q);
    if (rc != 0) {
        if ((rc != RTM_EPROTO && rc != RTM_ETOOBIG) || q.buf)
            abort();
        return;
    }
    rtm_str_t method = rtm_str("post", 4), path = rtm_str("/apps/1/events", 14);
    size_t need = rtm_rest_string_to_sign_len(method, path, &q);
    char *sts = malloc(need);
    if (rtm_rest_string_to_sign(sts, need, method, path, &q) != (int)need)
        abort();
    free(sts);
    char err[128];
    rc = rtm_rest_verify(method, path, &q, in, rtm_str("secret", 6), 1353088179, err, sizeof(err));
    if (rc != 0 && (rc != RTM_EAUTH || strlen(err) >= sizeof(err)))
        abort();
    rtm_query_free(&q);
}

static void s_trigger(rtm_str_t in, bool batch)
{
    rtm_rest_trigger_t t;
    char err[128];
    int rc = rtm_rest_parse_trigger(in, NULL, batch, &t, err, sizeof(err));
    if (rc != 0) {
        if ((rc != RTM_EPROTO && rc != RTM_EINVAL && rc != RTM_ETOOBIG) || t.root)
            abort();
        return;
    }
    if ((!batch && t.n != 1) || t.n > RTM_REST_MAX_BATCH)
        abort();
    for (size_t i = 0; i < t.n; i++) {
        const rtm_rest_event_t *e = &t.events[i];
        if (e->data.len > RTM_REST_MAX_DATA || e->name.len == 0 ||
            e->name.len > RTM_REST_MAX_NAME || e->n_channels == 0 ||
            e->n_channels > RTM_REST_MAX_CHANNELS)
            abort();
        for (size_t c = 0; c < e->n_channels; c++)
            if (rtm_channel_validate(e->channels[c]) != 0)
                abort();
    }
    rtm_rest_trigger_clear(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    rtm_str_t in = rtm_str((const char *)data + 1, size - 1);
    switch (data[0] % 3) {
    case 0: s_query(in); break;
    case 1: s_trigger(in, false); break;
    default: s_trigger(in, true); break;
    }
    return 0;
}
