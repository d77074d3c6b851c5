/* rtm_tier — what every libzmq socket between tiers gets (broker ↔ broker,
 * service ↔ broker: librtmesh), in one place, and the CURVE keys of all three
 * processes. The node's links and the brokers' servers speak ZMTP from their
 * own loops (rtm_zlink, broker/zserver) with the same timings.
 *
 * docs/wire.md §1 says why: LINGER 0 so nothing hangs on close, IPV6 so
 * [::1] endpoints work, ZeroMQ heartbeats (RTM_WIRE_ZMQ_HB_*) and TCP
 * keepalive so a peer whose host vanished without a FIN is dropped and
 * redialled. Links libzmq; above the codecs. */
#ifndef RTM_TIER_H
#define RTM_TIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A new socket of `type` from ctx with the tier options set. Returns it
 * (caller owns it: zmq_close), or NULL after logging why. */
void *rtm_tier_socket(void *ctx, int type);

struct rtm_wire_msg; /* rtm_wire.h */

/* Encodes msg (rtm_wire) as one frame and sends it on sock without waiting.
 * Returns 0, the encoder's error, or -errno of zmq_send (-EAGAIN: the peer's
 * queue is full or, with ZMQ_IMMEDIATE, it is not connected). */
int rtm_tier_send(void *sock, const struct rtm_wire_msg *msg);

/* A process's CURVE keys, as Z85 text (40 characters + NUL). All empty: no
 * keys, plain text. Never logged. */
typedef struct {
    char public_key[41]; /* ours */
    char secret_key[41]; /* ours */
    char server_key[41]; /* the brokers' public key (equal to ours on a broker) */
} rtm_tier_keys_t;

/* Whether keys holds keys (CURVE on). */
bool rtm_tier_keys_on(const rtm_tier_keys_t *keys);

/* keys as the 32-byte keys our own ZMTP CURVE client takes (rtm_zlink):
 * the brokers' public key, ours, our secret one. Returns 1 (CURVE on), 0 (no
 * keys: plain text, nothing written) or RTM_EINVAL (a key that is not Z85). */
int rtm_tier_keys_binary(const rtm_tier_keys_t *keys, uint8_t server[32], uint8_t public_key[32],
                         uint8_t secret[32]);

/* Loads keys from certificates in CZMQ's format (zcert, as `rtmesh keygen`
 * writes them): secret_path is this process's secret certificate
 * ("PATH_secret"), broker_path the brokers' public one. On a broker
 * (broker_required false) broker_path may be NULL: the tier's server key is
 * its own. Both NULL: no keys (0, keys empty). Returns 0, or RTM_EINVAL with
 * a message naming `secret_flag` or `broker_flag` (the option names to show,
 * e.g. "--curve-secret/RTMESH_CURVE_SECRET") and the path, never a key: a
 * file that is missing or not a certificate, a secret certificate without its
 * secret key, one of the two without the other where both are required. */
int rtm_tier_keys_load(rtm_tier_keys_t *keys, const char *secret_path, const char *secret_flag,
                       const char *broker_path, const char *broker_flag, bool broker_required,
                       char *err, size_t err_len);

/* Sets keys on a connecting socket (DEALER, SUB): CURVE client of the
 * brokers. Nothing without keys. */
void rtm_tier_secure_client(void *sock, const rtm_tier_keys_t *keys);

#endif
