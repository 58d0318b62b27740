/* SPDX-License-Identifier: MIT */
/* Messages, option parsing, file loading and writing. */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "csv.h"
#include "npy.h"

/* ---- messages ------------------------------------------------------------------- */

static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
    fflush(stdout); /* what was printed before comes first */
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_message(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("asdnorm: ", fmt, ap);
    va_end(ap);
}

void cli_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("asdnorm: warning: ", fmt, ap);
    va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "asdnorm%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'asdnorm%s%s --help' for more information.\n", cmd ? " " : "",
            cmd ? cmd : "");
    return EXIT_USAGE;
}

const char *distance_name(asdnorm_distance d)
{
    switch (d) {
    case ASDNORM_DISTANCE_COSINE: return "cosine";
    case ASDNORM_DISTANCE_EUCLIDEAN: return "euclidean";
    case ASDNORM_DISTANCE_MSE: return "mse";
    }
    return "?";
}

const char *density_name(asdnorm_density d)
{
    switch (d) {
    case ASDNORM_DENSITY_NONE: return "none";
    case ASDNORM_DENSITY_KNN: return "knn";
    case ASDNORM_DENSITY_GWRP: return "gwrp";
    }
    return "?";
}

const char *norm_name(asdnorm_norm n)
{
    switch (n) {
    case ASDNORM_NORM_NONE: return "none";
    case ASDNORM_NORM_RATIO: return "ratio";
    case ASDNORM_NORM_DIFFERENCE: return "difference";
    }
    return "?";
}

void format_double(double v, char *buf, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* ---- files ---------------------------------------------------------------------- */

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

file_type file_type_of(const char *path)
{
    if (strcmp(path, "-") == 0)
        return FILE_CSV;
    if (has_suffix(path, ".npy"))
        return FILE_NPY;
    if (has_suffix(path, ".csv"))
        return FILE_CSV;
    return FILE_UNKNOWN;
}

void describe_row(const row_origin *o, size_t row, char *buf, size_t cap)
{
    if (o->lines)
        snprintf(buf, cap, "line %zu", o->lines[row]);
    else
        snprintf(buf, cap, "row %zu (0-based)", row);
}

void describe_cell(const row_origin *o, size_t row, size_t col, char *buf, size_t cap)
{
    if (o->lines)
        snprintf(buf, cap, "line %zu, column %zu", o->lines[row], col + 1);
    else
        snprintf(buf, cap, "row %zu, column %zu (0-based)", row, col);
}

void row_origin_free(row_origin *o)
{
    free(o->lines);
    o->lines = NULL;
}

/* An NPY shape as numpy prints it: "(n,)" or "(n, m)". */
static void shape_text(const npy_view *v, char *buf, size_t cap)
{
    if (v->ndim == 1)
        snprintf(buf, cap, "(%zu,)", v->rows);
    else
        snprintf(buf, cap, "(%zu, %zu)", v->rows, v->cols);
}

/* A loaded numeric file before conversion. */
typedef struct loaded {
    unsigned char *bytes; /* the file */
    npy_view npy;         /* NPY */
    csv_table csv;        /* CSV */
    int is_csv;
    size_t rows, cols;
    int ndim;
} loaded;

static void loaded_free(loaded *l)
{
    free(l->bytes);
    csv_table_free(&l->csv);
}

/* Read and parse path as NPY or CSV (by its name), with at least one row. */
static int load_any(const char *path, loaded *l, row_origin *origin)
{
    memset(l, 0, sizeof *l);
    origin->path = path;
    origin->lines = NULL;
    file_type t = file_type_of(path);
    if (t == FILE_UNKNOWN)
        return cli_fail("%s: unknown file type: name it .npy (numpy) or .csv", path);
    size_t len;
    if (read_whole_file(path, &l->bytes, &len) != 0)
        return -1;
    if (t == FILE_NPY) {
        char err[NPY_ERR_LEN];
        if (npy_parse(l->bytes, len, &l->npy, err) != 0) {
            cli_message("%s: %s", path, err);
            loaded_free(l);
            return -1;
        }
        l->rows = l->npy.rows;
        l->cols = l->npy.cols;
        l->ndim = l->npy.ndim;
    } else {
        char err[CSV_ERR_LEN];
        if (csv_read_numbers(l->bytes, len, &l->csv, err) != 0) {
            cli_message("%s: %s", path, err);
            loaded_free(l);
            return -1;
        }
        free(l->bytes);
        l->bytes = NULL;
        l->is_csv = 1;
        l->rows = l->csv.rows;
        l->cols = l->csv.cols;
        l->ndim = 2;
        origin->lines = l->csv.lines;
        l->csv.lines = NULL; /* owned by origin now */
    }
    if (l->rows == 0) {
        cli_message("%s: no data rows", path);
        loaded_free(l);
        row_origin_free(origin);
        return -1;
    }
    return 0;
}

int load_matrix(const char *path, float **x, size_t *n, size_t *dim, row_origin *origin)
{
    loaded l;
    if (load_any(path, &l, origin) != 0)
        return -1;
    if (!l.is_csv && l.ndim != 2) {
        cli_message("%s: expected a 2-D array (samples x dimensions), found shape (%zu,); "
                    "save x.reshape(1, -1) for a single sample",
                    path, l.rows);
        goto fail;
    }
    if (l.cols == 0) {
        cli_message("%s: the rows have no columns (shape (%zu, 0))", path, l.rows);
        goto fail;
    }
    size_t count;
    if (__builtin_mul_overflow(l.rows, l.cols, &count) || count > SIZE_MAX / sizeof(float)) {
        cli_message("%s: too large", path);
        goto fail;
    }
    float *out = malloc(count * sizeof *out);
    if (out == NULL) {
        cli_message("%s: out of memory (%zu x %zu floats)", path, l.rows, l.cols);
        goto fail;
    }
    if (l.is_csv) {
        for (size_t i = 0; i < count; i++) {
            double d = l.csv.values[i];
            if (isfinite(d) && fabs(d) > FLT_MAX) {
                char where[96];
                describe_cell(origin, i / l.cols, i % l.cols, where, sizeof where);
                cli_message("%s: %s: value %g is outside the float32 range", path, where, d);
                free(out);
                goto fail;
            }
            out[i] = (float)d;
        }
    } else {
        char err[NPY_ERR_LEN];
        size_t bad;
        if (npy_to_float(&l.npy, out, &bad, err) != 0) {
            char where[96];
            describe_cell(origin, bad / l.cols, bad % l.cols, where, sizeof where);
            cli_message("%s: %s: %s", path, where, err);
            free(out);
            goto fail;
        }
    }
    *x = out;
    *n = l.rows;
    *dim = l.cols;
    loaded_free(&l);
    return 0;
fail:
    loaded_free(&l);
    row_origin_free(origin);
    return -1;
}

/* A vector: 1-D, (n, 1), or a one-column CSV. */
static int check_vector_shape(const char *path, const loaded *l)
{
    if (l->is_csv && l->cols != 1)
        return cli_fail("%s: expected one column of values, found %zu columns", path, l->cols);
    if (!l->is_csv && l->ndim == 2 && l->cols != 1) {
        char s[64];
        shape_text(&l->npy, s, sizeof s);
        return cli_fail("%s: expected a 1-D array, found shape %s", path, s);
    }
    return 0;
}

int load_vector_double(const char *path, double **v, size_t *n, row_origin *origin)
{
    loaded l;
    if (load_any(path, &l, origin) != 0)
        return -1;
    if (check_vector_shape(path, &l) != 0)
        goto fail;
    double *out = malloc((l.rows ? l.rows : 1) * sizeof *out);
    if (out == NULL) {
        cli_message("%s: out of memory", path);
        goto fail;
    }
    if (l.is_csv)
        memcpy(out, l.csv.values, l.rows * sizeof *out);
    else
        npy_to_double(&l.npy, out);
    *v = out;
    *n = l.rows;
    loaded_free(&l);
    return 0;
fail:
    loaded_free(&l);
    row_origin_free(origin);
    return -1;
}

int load_vector_int(const char *path, int64_t **v, size_t *n, row_origin *origin)
{
    loaded l;
    if (load_any(path, &l, origin) != 0)
        return -1;
    if (check_vector_shape(path, &l) != 0)
        goto fail;
    int64_t *out = malloc((l.rows ? l.rows : 1) * sizeof *out);
    if (out == NULL) {
        cli_message("%s: out of memory", path);
        goto fail;
    }
    if (l.is_csv) {
        for (size_t i = 0; i < l.rows; i++) {
            double d = l.csv.values[i];
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d)) {
                char where[96];
                describe_row(origin, i, where, sizeof where);
                cli_message("%s: %s: %g is not a whole number (labels and ids are integers)", path,
                            where, d);
                free(out);
                goto fail;
            }
            out[i] = (int64_t)d;
        }
    } else {
        char err[NPY_ERR_LEN];
        size_t bad;
        if (npy_to_int64(&l.npy, out, &bad, err) != 0) {
            char where[96];
            describe_row(origin, bad, where, sizeof where);
            cli_message("%s: %s: %s (labels and ids are integers)", path, where, err);
            free(out);
            goto fail;
        }
    }
    *v = out;
    *n = l.rows;
    loaded_free(&l);
    return 0;
fail:
    loaded_free(&l);
    row_origin_free(origin);
    return -1;
}

int load_row_values(const char *path, size_t expect, const char *of, int64_t **out,
                    row_origin *origin)
{
    size_t n;
    if (load_vector_int(path, out, &n, origin) != 0)
        return -1;
    if (n == expect)
        return 0;
    free(*out);
    *out = NULL;
    row_origin_free(origin);
    return cli_fail("%s: %zu values, but %s has %zu rows (one value per row is needed)", path, n,
                    of, expect);
}

int check_domain_values(const int64_t *d, size_t n, const row_origin *o, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i] < 0 || d[i] > 2) {
            char where[96];
            describe_row(o, i, where, sizeof where);
            return cli_fail("%s: %s: domain %lld is not 0 (unknown), 1 (source) or 2 (target)",
                            o->path, where, (long long)d[i]);
        }
        out[i] = (uint8_t)d[i];
    }
    return 0;
}

int load_domains(const char *path, size_t expect, const char *of, uint8_t **out, row_origin *origin)
{
    int64_t *d = NULL;
    if (load_row_values(path, expect, of, &d, origin) != 0 || !d)
        return -1;
    *out = malloc(expect ? expect : 1);
    int rc = *out ? check_domain_values(d, expect, origin, *out) : cli_fail("out of memory");
    free(d);
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int check_matrix_rows(const float *x, size_t n, size_t dim, asdnorm_distance distance,
                      const row_origin *origin)
{
    size_t bad = n;
    asdnorm_status st = asdnorm_check_rows(x, n, dim, distance, &bad);
    if (st == ASDNORM_OK)
        return 0;
    char where[96];
    if (bad >= n) {
        cli_message("%s: %s", origin->path, asdnorm_strerror(st));
        return -1;
    }
    const float *row = x + bad * dim;
    switch (st) {
    case ASDNORM_E_NONFINITE:
        for (size_t j = 0; j < dim; j++) {
            if (!isfinite(row[j])) {
                describe_cell(origin, bad, j, where, sizeof where);
                cli_message("%s: %s: value is %s (every value must be finite)", origin->path, where,
                            isnan(row[j]) ? "NaN"
                            : row[j] > 0  ? "+inf"
                                          : "-inf");
                return -1;
            }
        }
        break;
    case ASDNORM_E_ZERO_VECTOR:
        describe_row(origin, bad, where, sizeof where);
        cli_message("%s: %s: all zeros, which has no direction under the cosine distance "
                    "(remove the row or use --distance euclidean)",
                    origin->path, where);
        return -1;
    case ASDNORM_E_RANGE:
        describe_row(origin, bad, where, sizeof where);
        cli_message("%s: %s: values too large to compute with (squared norm beyond the library's "
                    "limit under the "
                    "%s distance); rescale the embeddings",
                    origin->path, where, distance_name(distance));
        return -1;
    default: break;
    }
    describe_row(origin, bad, where, sizeof where);
    cli_message("%s: %s: %s", origin->path, where, asdnorm_strerror(st));
    return -1;
}

/* A vector as .npy (float32 or int64) or as CSV with a header line name. */
static int write_vector(const char *path, const char *name, const void *v, size_t n, int is_int)
{
    file_type t = file_type_of(path);
    if (t == FILE_UNKNOWN)
        return cli_fail(
            "%s: unknown output type: name it .npy or .csv (or '-' for standard output)", path);
    if (t == FILE_NPY) {
        unsigned char *buf;
        size_t len;
        if (npy_serialize(is_int ? NPY_OUT_I8 : NPY_OUT_F4, v, 1, n, 1, &buf, &len) != 0)
            return cli_fail("%s: out of memory", path);
        int r = write_whole_file(path, buf, len);
        free(buf);
        return r;
    }
    membuf m;
    if (membuf_open(&m) != 0)
        return -1;
    fprintf(m.f, "%s\n", name);
    for (size_t i = 0; i < n; i++) {
        if (is_int)
            fprintf(m.f, "%lld\n", (long long)((const int64_t *)v)[i]);
        else /* 9 significant digits read back to the same float32 */
            fprintf(m.f, "%.9g\n", (double)((const float *)v)[i]);
    }
    return membuf_write(&m, path);
}

int write_vector_float(const char *path, const char *name, const float *v, size_t n)
{
    return write_vector(path, name, v, n, 0);
}

int write_vector_int(const char *path, const char *name, const int64_t *v, size_t n)
{
    return write_vector(path, name, v, n, 1);
}
