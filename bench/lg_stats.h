/* lg_stats — the load generator's measurements: a latency histogram, the
 * wall clock, and CPU time and resident memory of server processes read from
 * /proc. */
#ifndef RTM_LG_STATS_H
#define RTM_LG_STATS_H

#include <stddef.h>
#include <stdint.h>

#define RTM_LG_HIST_SUB 64 /* sub-buckets per power of two: <= 1.6% error */
#define RTM_LG_HIST_EXP 40 /* powers of two covered (values up to 2^40 us) */
#define RTM_LG_MAX_PIDS 16

/* Log-linear histogram of non-negative integers (microseconds here). */
typedef struct {
    uint64_t count[RTM_LG_HIST_EXP * RTM_LG_HIST_SUB];
    uint64_t n;   /* values recorded */
    uint64_t max; /* largest value recorded */
    uint64_t sum; /* for the mean */
} rtm_lg_hist_t;

/* CPU and memory of a set of processes at one moment. */
typedef struct {
    double cpu_s;    /* utime + stime summed over the pids, seconds */
    long rss_kb;     /* VmRSS summed over the pids */
    long tcp_inuse;  /* the machine's TCP sockets in use (/proc/net/sockstat) */
    long tcp_mem_kb; /* pages the kernel holds for TCP buffers, in KiB (sockstat "mem") */
    long slab_kb;    /* the kernel's slab memory (/proc/meminfo Slab): socket structures */
    uint64_t at_us;  /* when sampled (rtm_lg_now_us) */
} rtm_lg_proc_t;

/* Wall clock in microseconds since the epoch (CLOCK_REALTIME, so separate
 * processes on one machine can compare stamps). */
uint64_t rtm_lg_now_us(void);

void rtm_lg_hist_add(rtm_lg_hist_t *h, uint64_t v);

/* The value at quantile q (0..1): the upper bound of the bucket holding it
 * (exact below RTM_LG_HIST_SUB); 0 when the histogram is empty. */
uint64_t rtm_lg_hist_quantile(const rtm_lg_hist_t *h, double q);

/* The non-empty buckets as "upper:count,upper:count,..." (upper = the
 * bucket's largest value), newly allocated: the caller frees it. */
char *rtm_lg_hist_format(const rtm_lg_hist_t *h);

/* Parses a comma list of pids (NULL or "" gives 0 pids) into pids[] (at
 * most RTM_LG_MAX_PIDS). Returns the count or -1 on a malformed list. */
int rtm_lg_parse_pids(const char *list, int pids[RTM_LG_MAX_PIDS]);

/* Samples /proc/<pid>/stat and /proc/<pid>/status of every pid, and the
 * machine's socket and slab figures, into *out. A pid that vanished
 * contributes nothing. */
void rtm_lg_proc_sample(const int *pids, int n, rtm_lg_proc_t *out);

/* This process's own user + system CPU seconds (getrusage). */
double rtm_lg_self_cpu_s(void);

#endif
