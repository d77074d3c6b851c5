/* rtm_prom — see rtm_prom.h. The buffer doubles as it grows; every write
 * keeps it NUL-terminated so the text can be handed out at any point. */
#include "rtm_prom.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FIRST_CAP 4096

void rtm_prom_init(rtm_prom_t *p)
{
    p->cap = S_FIRST_CAP;
    p->len = 0;
    p->buf = malloc(p->cap);
    if (!p->buf)
        abort();
    p->buf[0] = '\0';
}

void rtm_prom_free(rtm_prom_t *p)
{
    free(p->buf);
    *p = (rtm_prom_t){0};
}

/* Makes room for n more bytes and the NUL. */
static void s_reserve(rtm_prom_t *p, size_t n)
{
    if (p->len + n + 1 <= p->cap)
        return;
    size_t cap = p->cap ? p->cap : S_FIRST_CAP;
    while (p->len + n + 1 > cap)
        cap *= 2;
    p->buf = realloc(p->buf, cap);
    if (!p->buf)
        abort();
    p->cap = cap;
}

static void s_put(rtm_prom_t *p, const char *s, size_t n)
{
    s_reserve(p, n);
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

static void s_puts(rtm_prom_t *p, const char *s)
{
    s_put(p, s, strlen(s));
}

static void s_printf(rtm_prom_t *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort(); /* only a bad format string: our bug */
    s_reserve(p, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(p->buf + p->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    p->len += (size_t)n;
}

/* A label value, escaped: \ → \\, " → \", newline → \n. */
static void s_put_value(rtm_prom_t *p, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            s_put(p, "\\\\", 2);
        else if (*v == '"')
            s_put(p, "\\\"", 2);
        else if (*v == '\n')
            s_put(p, "\\n", 2);
        else
            s_put(p, v, 1);
    }
}

void rtm_prom_family(rtm_prom_t *p, const char *name, const char *type, const char *help)
{
    s_printf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{labels} without the value. */
static void s_series(rtm_prom_t *p, const char *name, const rtm_prom_label_t *labels, size_t n)
{
    s_puts(p, name);
    for (size_t i = 0; i < n; i++) {
        s_puts(p, i == 0 ? "{" : ",");
        s_puts(p, labels[i].name);
        s_put(p, "=\"", 2);
        s_put_value(p, labels[i].value);
        s_put(p, "\"", 1);
    }
    if (n > 0)
        s_put(p, "}", 1);
}

void rtm_prom_sample(rtm_prom_t *p, const char *name, const rtm_prom_label_t *labels, size_t n,
                     uint64_t value)
{
    s_series(p, name, labels, n);
    s_printf(p, " %" PRIu64 "\n", value);
}

void rtm_prom_histogram(rtm_prom_t *p, const char *name, const rtm_prom_label_t *labels,
                        size_t n_labels, const double *bounds, const uint64_t *counts,
                        size_t n_bounds, double sum)
{
    rtm_prom_label_t with_le[RTM_PROM_MAX_LABELS + 1];
    if (n_labels > RTM_PROM_MAX_LABELS)
        n_labels = RTM_PROM_MAX_LABELS;
    if (n_labels)
        memcpy(with_le, labels, n_labels * sizeof *labels);
    char series[256], le[32];
    snprintf(series, sizeof series, "%s_bucket", name);
    uint64_t total = 0;
    for (size_t i = 0; i <= n_bounds; i++) {
        total += counts[i];
        if (i < n_bounds)
            snprintf(le, sizeof le, "%g", bounds[i]);
        with_le[n_labels] = (rtm_prom_label_t){"le", i < n_bounds ? le : "+Inf"};
        rtm_prom_sample(p, series, with_le, n_labels + 1, total);
    }
    snprintf(series, sizeof series, "%s_sum", name);
    s_series(p, series, labels, n_labels);
    s_printf(p, " %.9g\n", sum);
    snprintf(series, sizeof series, "%s_count", name);
    rtm_prom_sample(p, series, labels, n_labels, total);
}
