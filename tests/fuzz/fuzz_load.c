/* SPDX-License-Identifier: MIT */
/* libFuzzer target: asdnorm_index_load_buffer() on arbitrary bytes.
 * Beyond "no crash, no sanitizer report", it checks the loader's contract:
 *  - a rejected input gets ASDNORM_E_CORRUPT or ASDNORM_E_VERSION (or
 *    ASDNORM_E_NOMEM) and no index;
 *  - an accepted input is canonical: serializing the loaded index gives the
 *    input back byte for byte (the trailer aside: this build's library lets a
 *    wrong checksum through, see lib/io.c, so that the fuzzer gets past it);
 *    a version-1 input comes back as version 2, which must load and give
 *    itself back byte for byte;
 *  - the loaded index scores finite values with in-range nearest positions
 *    (under one normalization per input, picked by the last trailer byte: a
 *    scorer's scratch memory is large, and the fuzzer mutates that byte). */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <asdnorm/asdnorm.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void score(const asdnorm_index *ix, asdnorm_norm norm)
{
    size_t dim = asdnorm_index_dim(ix), m = asdnorm_index_size(ix);
    float *x = malloc(2 * dim * sizeof *x);
    if (!x)
        abort();
    /* Two fixed queries, never zero, of moderate norm. */
    for (size_t k = 0; k < dim; k++) {
        x[k] = (float)((int)((k * 7 + 3) % 11) - 5) * 0.25f + 0.1f;
        x[dim + k] = (float)((int)(k % 5) - 2) * 0.5f - 0.05f;
    }
    asdnorm_scorer *sc = NULL;
    if (asdnorm_scorer_new(ix, norm, &sc) != ASDNORM_OK)
        abort();
    float s[2];
    size_t near[2];
    /* One at a time (matrix–vector path), then both (matrix path). */
    for (int pass = 0; pass < 2; pass++) {
        asdnorm_status st = pass == 0 ? asdnorm_scorer_score(sc, x, 1, s, near)
                                      : asdnorm_scorer_score(sc, x, 2, s, near);
        if (st != ASDNORM_OK)
            abort();
        for (int t = 0; t <= pass; t++)
            if (!isfinite(s[t]) || near[t] >= m)
                abort();
    }
    asdnorm_scorer_free(sc);
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    asdnorm_index *ix = (asdnorm_index *)(uintptr_t)1;
    asdnorm_status st = asdnorm_index_load_buffer(data, size, &ix);
    if (st != ASDNORM_OK) {
        if (ix != NULL)
            abort();
        if (st != ASDNORM_E_CORRUPT && st != ASDNORM_E_VERSION && st != ASDNORM_E_NOMEM)
            abort();
        return 0;
    }
    if (ix == NULL || !asdnorm_index_is_finalized(ix))
        abort();

    size_t need = 0;
    const bool v1 = size >= 12 && data[8] == 1 && data[9] == 0 && data[10] == 0 && data[11] == 0;
    if (asdnorm_index_serialize(ix, NULL, 0, &need) != ASDNORM_E_BUFFER || (!v1 && need != size) ||
        size < 8)
        abort();
    uint8_t *again = malloc(need);
    if (!again || asdnorm_index_serialize(ix, again, need, &need) != ASDNORM_OK ||
        (!v1 && memcmp(again, data, size - 8) != 0))
        abort();
    if (v1) {
        /* Version 1 in, version 2 out: that file is canonical itself. */
        asdnorm_index *ix2 = NULL;
        size_t need2 = 0;
        uint8_t *third = malloc(need);
        if (!third || asdnorm_index_load_buffer(again, need, &ix2) != ASDNORM_OK ||
            asdnorm_index_serialize(ix2, third, need, &need2) != ASDNORM_OK || need2 != need ||
            memcmp(third, again, need) != 0)
            abort();
        asdnorm_index_free(ix2);
        free(third);
    }
    free(again);

    score(ix, (asdnorm_norm)(data[size - 1] % 3));
    asdnorm_index_free(ix);
    return 0;
}
