/* rtm_prom — Prometheus text exposition format (version 0.0.4), built into
 * a growing buffer.
 *
 * A caller writes each metric family with rtm_prom_family (its # HELP and
 * # TYPE lines) followed by its samples; families are independent, so a new
 * module adds its own without touching the others. Label values are escaped
 * as the format requires (backslash, double quote, newline), so they may
 * carry app ids or other names from configuration. No I/O. */
#ifndef RTM_PROM_H
#define RTM_PROM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *buf;  /* the text so far, NUL-terminated; owned (free with rtm_prom_free) */
    size_t len; /* bytes of text, without the NUL */
    size_t cap; /* bytes allocated */
} rtm_prom_t;

/* One label of a sample: name must be a valid label name (the caller's
 * constant); value is any NUL-terminated text. Both borrowed for the call. */
typedef struct {
    const char *name;
    const char *value;
} rtm_prom_label_t;

/* Starts an empty text. Aborts on OOM, as every function here. */
void rtm_prom_init(rtm_prom_t *p);

/* Frees the buffer and resets *p to empty. Safe on an initialised or freed p. */
void rtm_prom_free(rtm_prom_t *p);

/* Writes "# HELP name help" and "# TYPE name type" (type: "counter",
 * "gauge", ...). name and type are the caller's constants; help may not
 * contain a newline (it is the caller's constant too). */
void rtm_prom_family(rtm_prom_t *p, const char *name, const char *type, const char *help);

/* Writes one sample "name{l1="v1",...} value": labels[0..n) in order (n may
 * be 0; then no braces). */
void rtm_prom_sample(rtm_prom_t *p, const char *name, const rtm_prom_label_t *labels, size_t n,
                     uint64_t value);

/* Most labels a histogram's samples carry besides le. */
#define RTM_PROM_MAX_LABELS 7

/* Writes one histogram's samples (after its rtm_prom_family, type
 * "histogram"): name_bucket{labels,le="b"} with the cumulative count for each
 * of the n_bounds ascending bounds, then le="+Inf", name_sum and name_count.
 * counts has n_bounds + 1 entries: counts[i] observations in (bounds[i-1],
 * bounds[i]], the last one above every bound. n_labels at most
 * RTM_PROM_MAX_LABELS (more are left out). */
void rtm_prom_histogram(rtm_prom_t *p, const char *name, const rtm_prom_label_t *labels,
                        size_t n_labels, const double *bounds, const uint64_t *counts,
                        size_t n_bounds, double sum);

#endif
