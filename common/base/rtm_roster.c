/* rtm_roster — see rtm_roster.h.
 *
 * The DNS thread sleeps on a condition variable so that reload and destroy
 * wake it at once; the lookup itself runs without the lock held, so a slow
 * resolver delays only the next answer, never a consumer. A DNS answer is
 * sorted before it is compared, so the same set in another order is no
 * change. */
#include "rtm_roster.h"

#include "rtm_log.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define S_MAX_ADDRS 1024

struct rtm_roster {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* DNS thread: resolve now or stop */
    char *text;          /* current list, one endpoint per line; guarded */
    uint64_t generation; /* bumped on every change of text; guarded */
    char *file;          /* brokers file, or NULL */
    char *dns_name;      /* dns:// host to resolve, or NULL */
    int dns_port;
    bool stop, resolve_now; /* guarded */
    bool has_thread;
    int last_gai; /* last getaddrinfo result, to log changes only (DNS thread) */
    pthread_t thread;
    char what[300];
};

static void s_set_text(rtm_roster_t *r, char *text)
{
    pthread_mutex_lock(&r->lock);
    if (r->text && strcmp(r->text, text) == 0) {
        free(text);
    } else {
        free(r->text);
        r->text = text;
        r->generation++;
    }
    pthread_mutex_unlock(&r->lock);
}

static char *s_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0 && !(buf = realloc(buf, cap *= 2)))
            abort();
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line for the address ai: its PTR name, else its number. */
static char *s_name_of(const struct addrinfo *ai, int port, const char *dns_name)
{
    char host[NI_MAXHOST], line[NI_MAXHOST + 32];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0, NI_NAMEREQD) == 0) {
        snprintf(line, sizeof line, "tcp://%s:%d", host, port);
    } else {
        getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST);
        rtm_log(RTM_LOG_WARN, "event=dns_no_ptr name=%s address=%s", dns_name, host);
        snprintf(line, sizeof line, ai->ai_family == AF_INET6 ? "tcp://[%s]:%d" : "tcp://%s:%d",
                 host, port);
    }
    char *s = strdup(line);
    if (!s)
        abort();
    return s;
}

/* Resolves once; returns the sorted text, or NULL when the resolver failed. */
static char *s_resolve(rtm_roster_t *r)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(r->dns_name, NULL, &hints, &res);
    if (rc != r->last_gai && rc != 0 && rc != EAI_NONAME)
        rtm_log(RTM_LOG_WARN, "event=dns_failed name=%s error=\"%s\"", r->dns_name,
                gai_strerror(rc));
    r->last_gai = rc;
#ifdef EAI_NODATA
    if (rc == EAI_NODATA)
        rc = EAI_NONAME;
#endif
    if (rc == EAI_NONAME)
        return strdup(""); /* the name does not exist (yet): no broker */
    if (rc != 0)
        return NULL;
    char *names[S_MAX_ADDRS];
    size_t n = 0;
    for (struct addrinfo *ai = res; ai && n < S_MAX_ADDRS; ai = ai->ai_next)
        names[n++] = s_name_of(ai, r->dns_port, r->dns_name);
    freeaddrinfo(res);
    qsort(names, n, sizeof *names, s_cmp);
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(names[i]) + 1;
    char *text = malloc(len), *p = text;
    if (!text)
        abort();
    *p = '\0';
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0) /* one line per distinct name */
            p += sprintf(p, "%s\n", names[i]);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return text;
}

/* Waits RTM_ROSTER_DNS_MS or until woken; the lock is held. */
static void s_sleep(rtm_roster_t *r)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += RTM_ROSTER_DNS_MS / 1000;
    until.tv_nsec += (RTM_ROSTER_DNS_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!r->stop && !r->resolve_now && pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0) {
    }
}

static void *s_dns_thread(void *arg)
{
    rtm_roster_t *r = arg;
    pthread_mutex_lock(&r->lock);
    for (s_sleep(r); !r->stop; s_sleep(r)) {
        r->resolve_now = false;
        pthread_mutex_unlock(&r->lock);
        char *text = s_resolve(r);
        if (text)
            s_set_text(r, text);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Splits "dns://NAME:PORT"; false when it is not that. */
static bool s_parse_dns(rtm_roster_t *r, const char *src)
{
    const char *h = src + 6, *colon = strrchr(h, ':');
    if (!colon || colon == h)
        return false;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 1 || port > 65534)
        return false;
    r->dns_name = strndup(h, (size_t)(colon - h));
    if (!r->dns_name)
        abort();
    r->dns_port = (int)port;
    return true;
}

rtm_roster_t *rtm_roster_new(const char *brokers, const char *file, char *err, size_t err_len)
{
    rtm_roster_t *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    r->generation = 1;
    if (file && *file) {
        snprintf(r->what, sizeof r->what, "--brokers-file %s", file);
        r->file = strdup(file);
        r->text = s_read_file(file);
        if (!r->text) {
            snprintf(err, err_len, "--brokers-file/RTMESH_BROKERS_FILE: cannot read '%s'", file);
            rtm_roster_destroy(&r);
        }
        return r;
    }
    brokers = brokers ? brokers : "";
    if (strncmp(brokers, "dns://", 6) == 0) {
        snprintf(r->what, sizeof r->what, "--brokers %s", brokers);
        r->text = strdup("");
        if (!s_parse_dns(r, brokers)) {
            snprintf(err, err_len, "--brokers/RTMESH_BROKERS: '%s' is not dns://NAME:PORT",
                     brokers);
            rtm_roster_destroy(&r);
            return NULL;
        }
        char *first = s_resolve(r); /* at start nothing waits yet: the first answer now */
        if (first)
            s_set_text(r, first);
        /* the thread takes no signals: they belong to the process's own handling */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r->has_thread = pthread_create(&r->thread, NULL, s_dns_thread, r) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!r->has_thread)
            abort(); /* only for lack of memory or threads at start */
        return r;
    }
    snprintf(r->what, sizeof r->what, "--brokers");
    r->text = strdup(brokers);
    if (!r->text)
        abort();
    for (char *p = r->text; *p; p++) /* the lines format, like a file */
        if (*p == ',')
            *p = '\n';
    return r;
}

const char *rtm_roster_what(const rtm_roster_t *roster)
{
    return roster->what;
}

void rtm_roster_reload(rtm_roster_t *r)
{
    if (r->file) {
        char *text = s_read_file(r->file);
        if (text)
            s_set_text(r, text);
        else
            rtm_log(RTM_LOG_ERROR, "event=brokers_file_unreadable file=%s action=kept_list",
                    r->file);
    } else if (r->has_thread) {
        pthread_mutex_lock(&r->lock);
        r->resolve_now = true;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
    }
}

uint64_t rtm_roster_take(rtm_roster_t *r, uint64_t seen, char **text)
{
    pthread_mutex_lock(&r->lock);
    uint64_t gen = r->generation;
    *text = NULL;
    if (gen != seen && !(*text = strdup(r->text)))
        abort();
    pthread_mutex_unlock(&r->lock);
    return gen;
}

void rtm_roster_destroy(rtm_roster_t **roster)
{
    rtm_roster_t *r = *roster;
    if (!r)
        return;
    if (r->has_thread) {
        pthread_mutex_lock(&r->lock);
        r->stop = true;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->wake);
    free(r->text);
    free(r->file);
    free(r->dns_name);
    free(r);
    *roster = NULL;
}
