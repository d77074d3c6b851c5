/* libFuzzer target for rtm_presence_parse and rtm_presence_parse_user: the
 * input is a client's channel_data (user_id, a string or an integer) and,
 * the same bytes, a user_data it signs in with (id, likewise). Whatever the
 * text, each returns 0 with an identity whose id is 1 to
 * RTM_PUSHER_MAX_USER_ID bytes without a NUL and whose user_info, if any, is
 * JSON text within the limit; or RTM_EINVAL (RTM_ETOOBIG for an oversized
 * user_info) with nothing to free. An identity parsed renders a member_added
 * that is JSON, and copies equal. */
#include "rtm_error.h"
#include "rtm_presence.h"
#include "rtm_pusher.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_INFO 64 /* small, so oversized user_info is reached */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool s_is_json(const char *text, size_t len)
{
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    json_decref(j);
    return j != NULL;
}

static void s_check(int rc, rtm_presence_t *p, size_t max_info, bool too_big_ok)
{
    if (rc != 0) {
        if (p || !(rc == RTM_EINVAL || (too_big_ok && rc == RTM_ETOOBIG)))
            abort();
        return;
    }
    if (!p)
        abort();
    rtm_str_t id = rtm_presence_id(p), info = rtm_presence_info(p);
    if (id.len == 0 || id.len > RTM_PUSHER_MAX_USER_ID || memchr(id.p, '\0', id.len) ||
        id.p[id.len] != '\0' || info.len > max_info || (info.len && !s_is_json(info.p, info.len)))
        abort();
    rtm_presence_t *copy = rtm_presence_copy(p);
    if (copy->id_len != p->id_len || copy->id_num != p->id_num ||
        memcmp(copy->user_id, p->user_id, p->id_len) || copy->info_len != p->info_len ||
        (info.len && memcmp(copy->user_info, info.p, info.len)))
        abort();
    size_t len = 0;
    char *added =
        rtm_presence_render_member(rtm_str_cstr("presence-fuzz"), true, id, p->id_num, info, &len);
    if (!s_is_json(added, len))
        abort();
    free(added);
    rtm_presence_free(&copy);
    rtm_presence_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtm_str_t text = rtm_str((const char *)data, size);
    rtm_presence_t *p = NULL;
    int rc = rtm_presence_parse(text, S_MAX_INFO, &p);
    s_check(rc, p, S_MAX_INFO, true);
    rc = rtm_presence_parse_user(text, &p);
    s_check(rc, p, SIZE_MAX, false);
    return 0;
}
