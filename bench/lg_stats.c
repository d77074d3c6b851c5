/* lg_stats — see lg_stats.h.
 *
 * The histogram is log-linear, HdrHistogram in miniature: values below
 * RTM_LG_HIST_SUB have a bucket each, above that every power of two is split
 * into RTM_LG_HIST_SUB equal buckets, so any quantile is within 1/64 of the
 * truth with a fixed 20 KiB table and one shift per value. Server CPU comes
 * from /proc/<pid>/stat (all threads of the process) and memory from VmRSS:
 * the figures `top` shows, readable for any process of the same user. */
#include "lg_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t rtm_lg_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static size_t s_bucket(uint64_t v)
{
    if (v < RTM_LG_HIST_SUB)
        return (size_t)v;
    int top = 63 - __builtin_clzll(v); /* v >= 64: top >= 6 */
    int shift = top - 6;               /* keep 6 bits below the leading one */
    size_t idx = (size_t)(top - 5) * RTM_LG_HIST_SUB + (size_t)((v >> shift) & 63u);
    size_t last = RTM_LG_HIST_EXP * RTM_LG_HIST_SUB - 1;
    return idx > last ? last : idx;
}

static uint64_t s_bucket_upper(size_t idx)
{
    if (idx < RTM_LG_HIST_SUB)
        return idx;
    int top = (int)(idx / RTM_LG_HIST_SUB) + 5;
    uint64_t sub = idx % RTM_LG_HIST_SUB;
    int shift = top - 6;
    return ((((uint64_t)1 << 6 | sub) + 1) << shift) - 1; /* inclusive */
}

void rtm_lg_hist_add(rtm_lg_hist_t *h, uint64_t v)
{
    h->count[s_bucket(v)]++;
    h->n++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

uint64_t rtm_lg_hist_quantile(const rtm_lg_hist_t *h, double q)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->n);
    if (rank >= h->n)
        rank = h->n - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < RTM_LG_HIST_EXP * RTM_LG_HIST_SUB; i++) {
        seen += h->count[i];
        if (seen > rank) {
            uint64_t up = s_bucket_upper(i);
            return up > h->max ? h->max : up;
        }
    }
    return h->max;
}

char *rtm_lg_hist_format(const rtm_lg_hist_t *h)
{
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        abort();
    out[0] = '\0';
    for (size_t i = 0; i < RTM_LG_HIST_EXP * RTM_LG_HIST_SUB; i++) {
        if (!h->count[i])
            continue;
        char one[48];
        int n = snprintf(one, sizeof one, "%s%llu:%llu", len ? "," : "",
                         (unsigned long long)s_bucket_upper(i), (unsigned long long)h->count[i]);
        if (len + (size_t)n + 1 > cap) {
            cap = (len + (size_t)n + 1) * 2;
            out = realloc(out, cap);
            if (!out)
                abort();
        }
        memcpy(out + len, one, (size_t)n + 1);
        len += (size_t)n;
    }
    return out;
}

int rtm_lg_parse_pids(const char *list, int pids[RTM_LG_MAX_PIDS])
{
    int n = 0;
    const char *p = list;
    while (p && *p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v <= 0 || n == RTM_LG_MAX_PIDS || (*end && *end != ','))
            return -1;
        pids[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return n;
}

/* utime + stime in clock ticks: fields 14 and 15, counted after the
 * parenthesised command name (which may itself hold spaces). */
static double s_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long s_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* "TCP: inuse N orphan N tw N alloc N mem N" and "Slab: N kB". */
static void s_kernel(rtm_lg_proc_t *out)
{
    char line[256];
    long pages = 0;
    FILE *f = fopen("/proc/net/sockstat", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "TCP: inuse %ld orphan %*d tw %*d alloc %*d mem %ld", &out->tcp_inuse,
                   &pages) == 2)
            break;
    if (f)
        fclose(f);
    out->tcp_mem_kb = pages * (sysconf(_SC_PAGESIZE) / 1024);
    f = fopen("/proc/meminfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Slab: %ld kB", &out->slab_kb) == 1)
            break;
    if (f)
        fclose(f);
}

void rtm_lg_proc_sample(const int *pids, int n, rtm_lg_proc_t *out)
{
    *out = (rtm_lg_proc_t){0};
    s_kernel(out);
    out->cpu_s = 0;
    out->rss_kb = 0;
    for (int i = 0; i < n; i++) {
        out->cpu_s += s_cpu_s(pids[i]);
        out->rss_kb += s_rss_kb(pids[i]);
    }
    out->at_us = rtm_lg_now_us();
}

double rtm_lg_self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}
