/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the CLI's CSV readers (tools/io/csv.c) on arbitrary bytes: the
 * numeric table reader used for embeddings, labels and scores, and the record
 * reader used for the DCASE challenge's "filename,score" files.
 * Properties: an accepted table is rectangular with one line number per row, in
 * increasing order; the record reader ends (no endless loop) with fields that are
 * NUL-terminated strings inside its copy of the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csv_table t;
    char err[CSV_ERR_LEN];
    if (csv_read_numbers(data, size, &t, err) == 0) {
        if (t.rows > 0 && (t.cols == 0 || t.values == NULL || t.lines == NULL))
            abort();
        for (size_t r = 1; r < t.rows; r++)
            if (t.lines[r] <= t.lines[r - 1])
                abort();
        volatile double sink = 0;
        for (size_t k = 0; k < t.rows * t.cols; k++)
            sink += t.values[k];
        (void)sink;
        csv_table_free(&t);
    } else if (err[0] == '\0') {
        abort(); /* every rejection explains itself */
    }

    csv_reader r;
    if (csv_reader_init(&r, data, size) != 0)
        return 0;
    size_t records = 0;
    while (csv_next(&r, err) == 1) {
        if (r.nfields == 0 || ++records > size + 1)
            abort();
        for (size_t i = 0; i < r.nfields; i++) {
            const char *f = r.fields[i];
            if (f < r.buf || f > r.buf + r.len || strlen(f) > r.len)
                abort();
            double v;
            (void)csv_parse_number(f, &v);
        }
    }
    csv_reader_free(&r);
    return 0;
}
