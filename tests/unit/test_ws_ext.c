/* Tests for rtm_ws_ext: which Sec-WebSocket-Extensions values get
 * permessage-deflate, by RFC 7692 7.1's rules and the offers browsers and
 * the ws package send, and every value cut at every offset. */
#include "rtm_ws_ext.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const struct {
    const char *offers;
    bool accept;
} s_cases[] = {
    {"", false},
    {"permessage-deflate", true},                                /* Firefox, Safari */
    {"permessage-deflate; client_max_window_bits", true},        /* Chromium, ws */
    {"permessage-deflate; client_max_window_bits=10", true},     /* we inflate with 15 */
    {"permessage-deflate; client_max_window_bits=\"8\"", true},  /* quoted token */
    {"permessage-deflate; client_max_window_bits=16", false},    /* out of range */
    {"permessage-deflate; client_max_window_bits=7", false},     /* out of range */
    {"permessage-deflate; client_max_window_bits=09", false},    /* leading zero */
    {"permessage-deflate; server_max_window_bits=15", true},     /* what we use */
    {"permessage-deflate; server_max_window_bits=10", false},    /* smaller: declined */
    {"permessage-deflate; server_max_window_bits", false},       /* needs a value */
    {"permessage-deflate; server_no_context_takeover", true},    /* what we do */
    {"permessage-deflate; client_no_context_takeover", true},    /* what we ask */
    {"permessage-deflate; server_no_context_takeover=1", false}, /* takes no value */
    {"permessage-deflate; client_no_context_takeover; client_no_context_takeover", false},
    {"permessage-deflate; client_max_window_bits; client_max_window_bits=9", false},
    {"permessage-deflate; mystery", false},                                      /* unknown */
    {"permessage-deflate; server_max_window_bits=10, permessage-deflate", true}, /* fallback */
    {"x-webkit-deflate-frame", false},
    {"foo; bar=baz, permessage-deflate; client_max_window_bits", true},
    {"foo; bar=\"a\\\"b\"", false},                                  /* not a token */
    {"  permessage-deflate  ;  client_max_window_bits = 12 ", true}, /* OWS */
    {"permessage-deflate;", false},                                  /* cut */
    {"permessage-deflate, ", false},
    {"permessage-deflate,,permessage-deflate", false},
    {"permessage-deflate; client_max_window_bits=\"1 0\"", false},
    {"permessage-deflate; client_max_window_bits=\"10", false},
    {"permessage-deflate; client_max_window_bits=", false},
    {"permessage-deflate, garbage@", false}, /* malformed anywhere: nothing accepted */
    {"permessage-deflate garbage", false},
};

static void test_offers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        bool got = rtm_ws_ext_accept_deflate(rtm_str_cstr(s_cases[i].offers));
        if (got != s_cases[i].accept)
            fail_msg("\"%s\": got %d want %d", s_cases[i].offers, got, s_cases[i].accept);
    }
}

/* Every prefix is parsed within its own bytes (ASan: exact-size copies) and
 * a cut offer is never taken for a different one. */
static void test_every_prefix(void **state)
{
    (void)state;
    const char *full = "foo; bar=\"baz\", permessage-deflate; client_max_window_bits=12";
    size_t n = strlen(full);
    for (size_t cut = 0; cut <= n; cut++) {
        char *p = malloc(cut ? cut : 1);
        assert_non_null(p);
        memcpy(p, full, cut);
        bool got = rtm_ws_ext_accept_deflate(rtm_str(p, cut));
        /* valid and acceptable only when whole, or cut after the offer's name
         * or after its value-less client_max_window_bits */
        size_t name_end = strlen("foo; bar=\"baz\", permessage-deflate");
        bool want =
            cut == n || cut == name_end || cut == name_end + strlen("; client_max_window_bits");
        if (got != want)
            fail_msg("cut at %zu: got %d want %d", cut, got, want);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offers),
        cmocka_unit_test(test_every_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
