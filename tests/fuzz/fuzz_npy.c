/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the CLI's NPY reader (tools/io/npy.c) on arbitrary bytes.
 * Properties checked beyond "no crash, no sanitizer report": an accepted file's
 * data fits in the input, every conversion runs over all of it, and writing the
 * float32 values back out gives a file the reader accepts with the same values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    npy_view v;
    char err[NPY_ERR_LEN];
    if (npy_parse(data, size, &v, err) != 0) {
        if (memchr(err, '\0', NPY_ERR_LEN) == NULL || err[0] == '\0')
            abort(); /* every rejection explains itself */
        return 0;
    }
    if (v.count > size || v.count * v.itemsize > size || v.data < data ||
        v.data + v.count * v.itemsize != data + size)
        abort();
    size_t n = v.count ? v.count : 1;
    float *f = malloc(n * sizeof *f);
    double *d = malloc(n * sizeof *d);
    int64_t *i = malloc(n * sizeof *i);
    if (f && d && i) {
        size_t bad = 0;
        int fok = npy_to_float(&v, f, &bad, err) == 0;
        if (!fok && bad >= v.count)
            abort();
        npy_to_double(&v, d);
        bad = 0;
        if (npy_to_int64(&v, i, &bad, err) != 0 && bad >= v.count)
            abort();
        if (fok) {
            unsigned char *buf;
            size_t len;
            if (npy_serialize(NPY_OUT_F4, f, v.ndim, v.rows, v.cols, &buf, &len) == 0) {
                npy_view w;
                if (npy_parse(buf, len, &w, err) != 0 || w.rows != v.rows || w.cols != v.cols ||
                    w.ndim != v.ndim || w.count != v.count)
                    abort();
                float *g = malloc(n * sizeof *g);
                if (g) {
                    size_t bad2;
                    if (npy_to_float(&w, g, &bad2, err) != 0 ||
                        memcmp(f, g, v.count * sizeof *g) != 0)
                        abort();
                    free(g);
                }
                free(buf);
            }
        }
    }
    free(f);
    free(d);
    free(i);
    return 0;
}
