/* exact_copy — a heap copy of exactly n bytes, so that AddressSanitizer
 * catches a codec reading one byte past its input (a stack or static buffer
 * would hide it). Include after cmocka.h. */
#ifndef RTM_TEST_EXACT_COPY_H
#define RTM_TEST_EXACT_COPY_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    assert_non_null(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

#endif
