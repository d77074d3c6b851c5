/* allow_list — who may reach this broker's CURVE ports: the allow-list of
 * public certificates, asked by the broker's ZMTP servers (zserver) about
 * every client that completes a CURVE handshake.
 *
 * A client is let in when its public key is in the directory --curve-allow
 * names (a CZMQ zcertstore, re-read when the directory changes: keys are
 * added and revoked without a restart) or is the broker tier's own (other
 * brokers). The key, as Z85 text, becomes the connection's user id, which the
 * broker checks on every ingress message to limit service keys to their apps
 * (rtm_apps_key_allowed). Before the broker spoke ZMTP itself this was a ZAP
 * handler (RFC 27) with socket monitors for the failed handshakes; now the
 * servers ask it directly and count their own failures. No key is logged. */
#ifndef RTM_ALLOW_LIST_H
#define RTM_ALLOW_LIST_H

#include <stdbool.h>
#include <stdint.h>

typedef struct rtm_allow_list rtm_allow_list_t;

typedef struct {
    uint64_t allowed; /* clients let in */
    uint64_t refused; /* clients with a key not allowed */
} rtm_allow_list_stats_t;

/* The list of allow_dir, with the tier's own public key (own, Z85 text)
 * allowed. Returns it (caller owns it) or NULL after logging why (a
 * directory that cannot be read: refused at start, it is a typo). */
rtm_allow_list_t *rtm_allow_list_new(const char *own, const char *allow_dir);

/* Whether the 32-byte public key may connect; counted. */
bool rtm_allow_list_check(rtm_allow_list_t *a, const uint8_t key[32]);

const rtm_allow_list_stats_t *rtm_allow_list_stats(const rtm_allow_list_t *a);

/* Frees *a and sets it to NULL; NULL-safe. */
void rtm_allow_list_destroy(rtm_allow_list_t **a);

#endif
