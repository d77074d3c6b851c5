/* libFuzzer target for rtm_ws_ext: any bytes as a Sec-WebSocket-Extensions
 * value. Parsing stays within the bytes given and is a pure function of
 * them; appending a malformed extension declines whatever was accepted. */
#include "rtm_ws_ext.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtm_str_t offers = rtm_str((const char *)data, size);
    bool accept = rtm_ws_ext_accept_deflate(offers);
    if (rtm_ws_ext_accept_deflate(offers) != accept)
        abort();
    char *spoiled = malloc(size + 3);
    if (!spoiled)
        abort();
    memcpy(spoiled, data, size);
    memcpy(spoiled + size, ", @", 3);
    if (rtm_ws_ext_accept_deflate(rtm_str(spoiled, size + 3)))
        abort();
    free(spoiled);
    return 0;
}
