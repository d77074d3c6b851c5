/* libFuzzer target for rtm_deflate: inflate any bytes as a compressed
 * message. The result is refused or fits the limit; an accepted message
 * compresses again to something that inflates back to it; a limit one
 * under its length refuses it. */
#include "rtm_deflate.h"
#include "rtm_error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_LIMIT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rtm_deflate_t *z;
    static uint8_t out[S_LIMIT], again[S_LIMIT];
    if (!z)
        z = rtm_deflate_new();
    int rc = rtm_deflate_inflate(z, data, size, out, S_LIMIT);
    if (rc < 0) {
        if (rc != RTM_EPROTO && rc != RTM_ETOOBIG)
            abort();
        return 0;
    }
    if (rc > S_LIMIT)
        abort();
    if (rc > 0 && rtm_deflate_inflate(z, data, size, again, (size_t)rc - 1) != RTM_ETOOBIG)
        abort();
    size_t n = (size_t)rc;
    uint8_t *plain = malloc(n ? n : 1);
    if (!plain)
        abort();
    memcpy(plain, out, n);
    const uint8_t *c;
    size_t clen = rtm_deflate_compress(z, plain, n, &c);
    uint8_t *copy = malloc(clen ? clen : 1); /* compress's buffer is reused by nothing here, */
    if (!copy)                               /* but the exact size lets ASan see overreads */
        abort();
    memcpy(copy, c, clen);
    if (rtm_deflate_inflate(z, copy, clen, again, n) != rc || memcmp(again, plain, n) != 0)
        abort();
    free(copy);
    free(plain);
    return 0;
}
