/* rtm_rest — the Pusher HTTP REST API request codec: query strings, request
 * signatures, and the bodies of POST /events and POST /batch_events.
 *
 * Pure: no I/O. The node's HTTP layer hands in the method, path, raw query
 * string and raw body; this module says whether the request is authentic and
 * what it asks for, with Pusher's own error texts. */
#ifndef RTM_REST_H
#define RTM_REST_H

#include "rtm_publish.h"
#include "rtm_str.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_QUERY_MAX             32                       /* query parameters per request */
#define RTM_REST_MAX_CHANNELS     RTM_PUBLISH_MAX_CHANNELS /* channels per /events trigger */
#define RTM_REST_MAX_BATCH        RTM_PUBLISH_MAX_BATCH    /* events per /batch_events */
#define RTM_REST_MAX_DATA         RTM_PUBLISH_MAX_DATA     /* bytes of data per event */
#define RTM_REST_MAX_NAME         RTM_PUBLISH_MAX_NAME     /* bytes of event name */
#define RTM_REST_TIMESTAMP_WINDOW 600 /* seconds auth_timestamp may differ from now */

/* A decoded query string. Keys are lower-cased; keys and values are
 * percent-decoded with '+' as space. Every slice points into buf. */
typedef struct {
    char *buf; /* owned decoded bytes; freed by rtm_query_free (NULL when n is 0) */
    struct {
        rtm_str_t key, value;
    } params[RTM_QUERY_MAX]; /* in order of appearance; duplicates kept */
    size_t n;                /* number of params */
} rtm_query_t;

/* Parses qs (the part after '?', without it) into q (overwritten; need not
 * be initialised). Pairs are separated by '&' (empty pairs skipped); a pair
 * without '=' has an empty value. Returns 0, after which the caller must
 * rtm_query_free(q); or RTM_EPROTO for a '%' not followed by two hex digits,
 * RTM_ETOOBIG for more than RTM_QUERY_MAX params — q then owns nothing. */
int rtm_query_parse(rtm_str_t qs, rtm_query_t *q);

/* The value of the first param named key (lower-case, NUL-terminated).
 * Absent: {NULL, 0}; present but empty: p non-NULL, len 0. Borrowed from q. */
rtm_str_t rtm_query_get(const rtm_query_t *q, const char *key);

/* Releases q's buffer and zeroes it. Safe on a zeroed or freed q. */
void rtm_query_free(rtm_query_t *q);

/* Pusher's string to sign: METHOD (upper-cased) "\n" PATH "\n" then every
 * param except auth_signature as key=value, sorted bytewise by key (params
 * with equal keys keep their order), joined by '&', not re-escaped. Writes
 * into out[0..cap) (not NUL-terminated); returns the length, or RTM_ETOOBIG
 * when cap is too small. The _len companion returns the exact length. */
int rtm_rest_string_to_sign(char *out, size_t cap, rtm_str_t method, rtm_str_t path,
                            const rtm_query_t *q);
size_t rtm_rest_string_to_sign_len(rtm_str_t method, rtm_str_t path, const rtm_query_t *q);

/* Authenticates a REST request signed with secret, at time now (Unix
 * seconds). Checks, in order, and returns RTM_EAUTH with Pusher's message in
 * err (NUL-terminated, truncated to err_len; err may be NULL when err_len is
 * 0) at the first that fails:
 *   auth_signature present          "Signature required"
 *   auth_version present, == "1.0"  "Version required" / "Version not supported"
 *   auth_timestamp present, integer "Timestamp required" / "Invalid timestamp: ..."
 *   |auth_timestamp - now| < 600    "Timestamp expired: Given timestamp (<iso>) not
 *                                    within 600s of server time (<iso>)"
 *   body_md5 (required when body is non-empty; checked whenever present)
 *                                   equals md5(body)
 *   auth_signature == HMAC          "Invalid signature: you should have sent
 *                                    HmacSHA256Hex(\"<string to sign>\", your_secret_key),
 *                                    but you sent \"<sig>\"" (compared in constant time)
 * Returns 0 when all pass. Does not look at auth_key: the caller used it to
 * find secret. */
int rtm_rest_verify(rtm_str_t method, rtm_str_t path, const rtm_query_t *q, rtm_str_t body,
                    rtm_str_t secret, int64_t now, char *err, size_t err_len);

/* One event to trigger. Slices borrow from the owning rtm_rest_trigger_t. */
typedef struct {
    rtm_str_t name;      /* event name, 1..max_name bytes */
    rtm_str_t data;      /* raw data string, may be empty; <= max_data bytes */
    rtm_str_t socket_id; /* connection to exclude; len 0 (p NULL) when absent */
    rtm_str_t info;      /* "info" attribute list as sent; len 0 (p NULL) when absent */
    rtm_str_t channels[RTM_REST_MAX_CHANNELS]; /* valid names, duplicates removed */
    size_t n_channels;                         /* 1..max_channels */
} rtm_rest_event_t;

typedef struct {
    json_t *root;                                /* owned; freed by rtm_rest_trigger_clear */
    rtm_rest_event_t events[RTM_REST_MAX_BATCH]; /* events[0] only for /events */
    size_t n;                                    /* number of events (0..max_batch for batch) */
} rtm_rest_trigger_t;

/* Limits applied by rtm_rest_parse_trigger (the rules every publisher obeys,
 * rtm_publish); values above the RTM_REST_MAX_* array sizes are clamped to them. */
typedef rtm_publish_limits_t rtm_rest_limits_t;
#define RTM_REST_LIMITS_DEFAULT RTM_PUBLISH_LIMITS_DEFAULT

/* Parses a trigger body into out (overwritten; need not be initialised).
 * batch false — POST /events: {"name","data","channels":[...] | "channel",
 * "socket_id"?, "info"?}. batch true — POST /batch_events:
 * {"batch":[{"channel" | "channels","name","data","socket_id"?,"info"?},...]}.
 * data must be a string (may be ""); null counts as absent for channels,
 * channel, socket_id and info; other members are ignored. lim NULL means RTM_REST_LIMITS_DEFAULT.
 * Returns 0 with out filled (caller must rtm_rest_trigger_clear it), or, with
 * a message naming the field in err (NUL-terminated, truncated to err_len;
 * err may be NULL when err_len is 0) and out owning nothing:
 *   RTM_EPROTO  (HTTP 400) not JSON, not an object, wrong member types, a
 *               missing name, data, channels/channel or batch;
 *   RTM_EINVAL  (HTTP 400) invalid or over-long channel name, empty channel
 *               list, more than max_channels channels, an encrypted channel
 *               among several, socket_id not ^\d+\.\d+$, empty or over-long
 *               name, more than max_batch events;
 *   RTM_ETOOBIG (HTTP 413) data longer than max_data bytes. */
int rtm_rest_parse_trigger(rtm_str_t body, const rtm_rest_limits_t *lim, bool batch,
                           rtm_rest_trigger_t *out, char *err, size_t err_len);

/* Releases what t owns and zeroes its count and root. Safe on a cleared t. */
void rtm_rest_trigger_clear(rtm_rest_trigger_t *t);

/* The attributes a REST "info" parameter asks for: a comma list whose names
 * may have spaces around them; unknown names are ignored (Pusher does). */
enum {
    RTM_REST_INFO_USER_COUNT = 1,
    RTM_REST_INFO_SUBSCRIPTION_COUNT = 2,
    RTM_REST_INFO_CACHE = 4,
};
unsigned rtm_rest_info(rtm_str_t info);

/* The answer to a trigger that asked for "info": attrs[e][i] is the
 * attributes object (JSON text, NUL-terminated; NULL renders {}) of channel i
 * of event e, as the channel's owner answered it. batch false:
 * {"channels":{"<channel>":{...},...}} over the channels of events[0]; batch
 * true: {"batch":[{...},...]}, one object per event (its first channel's:
 * Pusher's batch events name one channel each). Returns the text (caller
 * frees; never NULL) with its length in *len. Aborts on OOM. */
char *rtm_rest_render_trigger_info(const rtm_rest_trigger_t *t, bool batch,
                                   char *(*attrs)[RTM_REST_MAX_CHANNELS], size_t *len);

/* {"error":"<message>"}: every REST refusal's body. message is NUL-terminated
 * and may quote the client's request (it is escaped). */
int rtm_rest_render_error(char *out, size_t cap, const char *message);
size_t rtm_rest_error_len(const char *message);

/* {"channels":{<fragments joined by ",">}}: a channel list gathered from every
 * shard, each fragment a comma list of "name":{...} members (empty ones are
 * skipped). */
int rtm_rest_render_channels(char *out, size_t cap, const rtm_str_t *fragments, size_t n);
size_t rtm_rest_channels_len(const rtm_str_t *fragments, size_t n);

#endif
