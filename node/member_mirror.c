/* rtm_member_mirror — see member_mirror.h. A uthash of members, each one
 * allocation holding its id; user_info in a second one when present. */
#include "member_mirror.h"

#include "rtm_pusher.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct rtm_mirror_member {
    UT_hash_handle hh;
    char *info; /* compact JSON text, or NULL */
    uint32_t info_len;
    uint16_t id_len;
    bool id_num; /* the app gave the id as a JSON integer */
    char id[];   /* key: the id's string form */
};

static void s_free(rtm_mirror_member_t *mb)
{
    free(mb->info);
    free(mb);
}

static rtm_mirror_member_t *s_find(const rtm_member_mirror_t *m, rtm_str_t user_id)
{
    rtm_mirror_member_t *mb;
    HASH_FIND(hh, m->members, user_id.p, user_id.len, mb);
    return mb;
}

bool rtm_member_mirror_apply(rtm_member_mirror_t *m, rtm_str_t user_id, bool id_num, rtm_str_t info,
                             bool added)
{
    rtm_mirror_member_t *mb = s_find(m, user_id);
    if (mb && !added) {
        HASH_DEL(m->members, mb);
        s_free(mb);
        m->n--;
        return true;
    }
    if (mb || !added || user_id.len == 0 || user_id.len > RTM_PUSHER_MAX_USER_ID)
        return false;
    mb = calloc(1, sizeof *mb + user_id.len + 1);
    if (!mb)
        abort();
    memcpy(mb->id, user_id.p, user_id.len);
    mb->id_len = (uint16_t)user_id.len;
    mb->id_num = id_num;
    if (info.len) {
        mb->info = malloc(info.len);
        if (!mb->info)
            abort();
        memcpy(mb->info, info.p, info.len);
        mb->info_len = (uint32_t)info.len;
    }
    HASH_ADD(hh, m->members, id[0], mb->id_len, mb);
    m->n++;
    return true;
}

void rtm_member_mirror_clear(rtm_member_mirror_t *m)
{
    rtm_mirror_member_t *mb, *tmp;
    HASH_ITER(hh, m->members, mb, tmp)
    {
        HASH_DEL(m->members, mb);
        s_free(mb);
    }
    m->n = 0;
}

void rtm_member_mirror_reset(rtm_member_mirror_t *m, const rtm_wire_msg_t *sync,
                             rtm_member_change_fn changed, void *arg)
{
    rtm_member_mirror_t old = *m;
    *m = (rtm_member_mirror_t){0};
    rtm_wire_members_iter_t it;
    rtm_wire_members_begin(&it, sync);
    rtm_wire_member_t w;
    while (rtm_wire_members_next(&it, &w) == 1)
        rtm_member_mirror_apply(m, w.user_id, w.user_num, w.user_info, true);
    for (const rtm_mirror_member_t *mb = old.members; changed && mb; mb = mb->hh.next) {
        rtm_str_t id = rtm_str(mb->id, mb->id_len);
        if (!s_find(m, id))
            changed(arg, id, mb->id_num, rtm_str(mb->info, mb->info_len), false);
    }
    for (const rtm_mirror_member_t *mb = m->members; changed && mb; mb = mb->hh.next) {
        rtm_str_t id = rtm_str(mb->id, mb->id_len);
        if (!s_find(&old, id))
            changed(arg, id, mb->id_num, rtm_str(mb->info, mb->info_len), true);
    }
    rtm_member_mirror_clear(&old);
}

void rtm_member_mirror_each(const void *set, rtm_presence_visit_fn visit, void *arg)
{
    const rtm_member_mirror_t *m = set;
    for (const rtm_mirror_member_t *mb = m->members; mb; mb = mb->hh.next)
        visit(arg, rtm_str(mb->id, mb->id_len), mb->id_num, rtm_str(mb->info, mb->info_len));
}
