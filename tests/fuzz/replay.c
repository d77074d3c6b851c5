/* replay — runs a libFuzzer target without libFuzzer: every seed file given on
 * the command line, and every prefix of it, goes through
 * LLVMFuzzerTestOneInput. Built with the normal compiler (under ASan+UBSan in
 * `make test`), it keeps the fuzz targets compiling and their seed corpora
 * passing in CI; real fuzzing uses the same sources with clang's
 * -fsanitize=fuzzer (RTM_FUZZ=ON). A target reports a broken property by
 * aborting, which fails the test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_replay(const char *path, size_t *runs)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    uint8_t *buf = malloc(1 << 20);
    if (!buf)
        abort();
    size_t len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    for (size_t n = 0; n <= len; n++) {    /* every prefix, the whole input last */
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
        if (!copy)
            abort();
        memcpy(copy, buf, n);
        LLVMFuzzerTestOneInput(copy, n);
        free(copy);
        (*runs)++;
    }
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    size_t runs = 0;
    for (int i = 1; i < argc; i++)
        if (s_replay(argv[i], &runs) < 0)
            return 1;
    printf("replay: %d seed files, %zu inputs, no failure\n", argc - 1, runs);
    return argc > 1 ? 0 : 1; /* no seeds would be a test that cannot fail */
}
