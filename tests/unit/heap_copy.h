/* heap_copy — codec input copied into a heap buffer of exactly its size, so
 * that AddressSanitizer reports a codec reading past the length it was given.
 * For the cmocka unit tests; include after <cmocka.h>. */
#ifndef RTM_TEST_HEAP_COPY_H
#define RTM_TEST_HEAP_COPY_H

#include <stdlib.h>
#include <string.h>

/* A copy of p[0..n) in a buffer of n bytes (1 when n is 0); caller frees. */
static inline void *heap_copy(const void *p, size_t n)
{
    void *d = malloc(n ? n : 1);
    assert_non_null(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

#endif
