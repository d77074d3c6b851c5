/* rtm_roster — where a process's broker list comes from, kept current.
 *
 * Three sources, as text with one broker endpoint per line (rtm_brokers
 * parses and checks it; the roster only fetches it):
 *   - a brokers file (--brokers-file): read at start and again on every
 *     rtm_roster_reload (the process calls it on SIGHUP);
 *   - "dns://NAME:PORT" (--brokers): NAME is resolved by a thread of the
 *     roster's own every RTM_ROSTER_DNS_MS (and at once on reload), so no
 *     event loop ever waits for DNS. Each address NAME resolves to is named
 *     by its reverse (PTR) name, "tcp://<ptr-name>:PORT": a Kubernetes
 *     headless Service resolves to its ready pods' IPs, and the DNS spec gives
 *     each StatefulSet pod the PTR <pod>.<service>.<ns>.svc.<zone>, so the
 *     identity is the pod's stable name, not its IP. An address without a
 *     PTR name is listed by its IP (logged). NAME not existing is an empty
 *     list; a failing resolver keeps the last list;
 *   - a fixed comma list (--brokers): never changes.
 * Consumers poll rtm_roster_take with the generation they last saw; the
 * roster is shared between threads (a mutex guards the text). */
#ifndef RTM_ROSTER_H
#define RTM_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#define RTM_ROSTER_DNS_MS 2000 /* DNS re-resolution period */

typedef struct rtm_roster rtm_roster_t;

/* A roster reading `file` when non-NULL and non-empty, else following
 * `brokers` (a comma list or dns://NAME:PORT). Returns it (caller owns; free
 * with rtm_roster_destroy) or NULL with a message naming the key in err: the
 * file cannot be read, or a dns:// source is not dns://NAME:PORT. A DNS
 * roster resolves once before it returns (blocking: call it before any loop
 * runs) and starts empty when that fails. */
rtm_roster_t *rtm_roster_new(const char *brokers, const char *file, char *err, size_t err_len);

/* What the text came from, for messages: "--brokers-file FILE",
 * "--brokers dns://..." or "--brokers". Borrowed for the roster's life. */
const char *rtm_roster_what(const rtm_roster_t *roster);

/* Re-reads the file (a read failure is logged and keeps the last text) or
 * asks the DNS thread to resolve now. A fixed list does not change. */
void rtm_roster_reload(rtm_roster_t *roster);

/* The current generation (starts at 1, bumped whenever the text changes).
 * When it differs from seen, *text is a newly allocated copy of the text
 * (caller frees), else NULL. Thread-safe. */
uint64_t rtm_roster_take(rtm_roster_t *roster, uint64_t seen, char **text);

/* Stops the DNS thread (waiting for a lookup in progress), frees the roster
 * and sets *roster to NULL. Safe on NULL. */
void rtm_roster_destroy(rtm_roster_t **roster);

#endif
