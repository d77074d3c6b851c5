/* exact_copy — a heap copy of exactly n bytes, so that AddressSanitizer
 * catches a codec reading one byte past its input (a stack or static buffer
 * would hide it). Include after cmocka.h. */
#ifndef RTM_TEST_EXACT_COPY_H
#define RTM_TEST_EXACT_COPY_H

#include <stdlib.h>
#include <string.h>

/* A copy of p[0..n) in a buffer of n bytes (1 when n is 0); caller frees. */
static inline void *exact_copy(const void *p, size_t n)
{
    void *d = malloc(n ? n : 1);
    assert_non_null(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

#endif
