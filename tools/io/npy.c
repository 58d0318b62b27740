/* SPDX-License-Identifier: MIT */
/* NPY reader and writer. The header is a Python dict literal; we accept exactly
 * the subset numpy writes ({'descr': str, 'fortran_order': bool, 'shape': tuple})
 * and check every size against the bytes actually present before touching data. */
#include "npy.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static int fail(char err[NPY_ERR_LEN], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, NPY_ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- header tokenizer ------------------------------------------------------ */

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int peek(cursor *c)
{
    skip_ws(c);
    return c->p < c->end ? (unsigned char)*c->p : -1;
}

static int expect(cursor *c, char ch)
{
    if (peek(c) != (unsigned char)ch)
        return -1;
    c->p++;
    return 0;
}

/* A quoted Python string without escapes (numpy never writes any in these
 * fields); copied into out (NUL-terminated) when it fits in cap - 1 bytes. */
static int parse_string(cursor *c, char *out, size_t cap)
{
    int q = peek(c);
    if (q != '\'' && q != '"')
        return -1;
    c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != (char)q) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '\\' || ch < 0x20 || ch >= 0x7f || n + 1 >= cap)
            return -1;
        out[n++] = (char)ch;
        c->p++;
    }
    if (c->p >= c->end)
        return -1;
    c->p++;
    out[n] = '\0';
    return 0;
}

static int parse_word(cursor *c, const char *word)
{
    size_t n = strlen(word);
    skip_ws(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return -1;
    /* "Truex" is not "True". */
    if ((size_t)(c->end - c->p) > n) {
        char next = c->p[n];
        if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
            (next >= '0' && next <= '9') || next == '_')
            return -1;
    }
    c->p += n;
    return 0;
}

/* A non-negative Python int (an optional 'L' suffix, as Python 2 numpy wrote),
 * checked against size_t overflow. */
static int parse_size(cursor *c, size_t *out)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return -1;
    size_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        size_t d = (size_t)(*c->p - '0');
        if (v > (SIZE_MAX - d) / 10)
            return -2;
        v = v * 10 + d;
        c->p++;
    }
    if (c->p < c->end && *c->p == 'L')
        c->p++;
    *out = v;
    return 0;
}

static int parse_descr(const char *s, npy_view *v, char err[NPY_ERR_LEN])
{
    size_t n = strlen(s);
    if (n < 3)
        return fail(err, "header: unsupported dtype '%s'", s);
    char order = s[0], kind = s[1];
    const char *digits = s + 2;
    size_t size = 0;
    for (const char *d = digits; *d; d++) {
        if (*d < '0' || *d > '9' || size > 100)
            return fail(err, "header: unsupported dtype '%s'", s);
        size = size * 10 + (size_t)(*d - '0');
    }
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return fail(err, "header: dtype '%s' has an unknown byte order '%c'", s, order);
    switch (kind) {
    case 'f':
        v->kind = NPY_KIND_FLOAT;
        if (size != 4 && size != 8)
            return fail(err, "dtype '%s' is not supported: use float32 ('<f4') or float64 ('<f8')",
                        s);
        break;
    case 'i':
    case 'u':
        v->kind = kind == 'i' ? NPY_KIND_INT : NPY_KIND_UINT;
        if (size != 1 && size != 2 && size != 4 && size != 8)
            return fail(err, "header: dtype '%s' has an invalid size", s);
        break;
    case 'b':
        v->kind = NPY_KIND_BOOL;
        if (size != 1)
            return fail(err, "header: dtype '%s' has an invalid size", s);
        break;
    default:
        return fail(err,
                    "dtype '%s' is not supported: use float32/float64 for embeddings and "
                    "scores, integers for labels",
                    s);
    }
    if (order == '|' && size != 1)
        return fail(err, "header: dtype '%s': '|' (no byte order) is only valid for 1-byte types",
                    s);
    v->itemsize = size;
    if (order == '=') {
        const uint16_t probe = 1;
        unsigned char first;
        memcpy(&first, &probe, 1);
        v->big_endian = first == 0;
    } else {
        v->big_endian = order == '>' && size > 1;
    }
    snprintf(v->descr, sizeof v->descr, "%s", s);
    return 0;
}

/* The dict literal. Keys may come in any order, each exactly once. */
/* The value of 'shape': a tuple of at most 2 sizes. */
static int parse_shape(cursor *c, size_t shape[2], int *ndim, char err[NPY_ERR_LEN])
{
    if (expect(c, '(') != 0)
        return fail(err, "header: 'shape' is not a tuple");
    *ndim = 0;
    while (peek(c) != ')') {
        size_t d;
        int r = parse_size(c, &d);
        if (r == -2)
            return fail(err, "header: a dimension of 'shape' overflows size_t");
        if (r != 0)
            return fail(err, "header: 'shape' holds something other than integers");
        if (*ndim >= 2)
            return fail(err, "arrays with more than 2 dimensions are not supported");
        shape[(*ndim)++] = d;
        if (peek(c) == ',') {
            c->p++;
            continue;
        }
        if (peek(c) != ')')
            return fail(err, "header: expected ',' or ')' in 'shape'");
        /* (n) without a comma is an int, not a tuple, in Python. */
        if (*ndim == 1)
            return fail(err, "header: 'shape' (n) is not a tuple (needs a trailing comma)");
    }
    c->p++;
    return 0;
}

static int parse_header(const char *h, size_t hlen, npy_view *v, char err[NPY_ERR_LEN])
{
    cursor c = {h, h + hlen};
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    size_t shape[2] = {0, 0};
    int ndim = 0;
    char descr[16] = "";

    if (expect(&c, '{') != 0)
        return fail(err, "header: not a Python dict literal");
    for (;;) {
        if (peek(&c) == '}')
            break;
        char key[32];
        if (parse_string(&c, key, sizeof key) != 0)
            return fail(err, "header: expected a quoted key or '}'");
        if (expect(&c, ':') != 0)
            return fail(err, "header: expected ':' after key '%s'", key);
        if (strcmp(key, "descr") == 0) {
            if (have_descr++)
                return fail(err, "header: duplicate key 'descr'");
            if (peek(&c) == '[')
                return fail(err, "structured dtypes (record arrays) are not supported");
            if (parse_string(&c, descr, sizeof descr) != 0)
                return fail(err, "header: 'descr' is not a simple dtype string");
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_order++)
                return fail(err, "header: duplicate key 'fortran_order'");
            if (parse_word(&c, "True") == 0)
                fortran = 1;
            else if (parse_word(&c, "False") == 0)
                fortran = 0;
            else
                return fail(err, "header: 'fortran_order' is not True or False");
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape++)
                return fail(err, "header: duplicate key 'shape'");
            if (parse_shape(&c, shape, &ndim, err) != 0)
                return -1;
        } else {
            return fail(err, "header: unexpected key '%s'", key);
        }
        if (peek(&c) == ',') {
            c.p++;
            continue;
        }
        if (peek(&c) != '}')
            return fail(err, "header: expected ',' or '}' after the value of '%s'", key);
    }
    c.p++;
    skip_ws(&c);
    if (c.p != c.end)
        return fail(err, "header: unexpected text after the dict");
    if (!have_descr || !have_order || !have_shape)
        return fail(err, "header: missing key '%s'",
                    !have_descr   ? "descr"
                    : !have_order ? "fortran_order"
                                  : "shape");
    if (parse_descr(descr, v, err) != 0)
        return -1;
    if (ndim == 0)
        return fail(err, "0-dimensional arrays (scalars) are not supported: expected 1-D or 2-D");
    /* Fortran order matters only with two dimensions: element (i, j) is then
     * at j · rows + i. */
    v->fortran = fortran && ndim == 2;
    v->ndim = ndim;
    v->rows = shape[0];
    v->cols = ndim == 2 ? shape[1] : 1;
    return 0;
}

int npy_parse(const void *buf, size_t len, npy_view *out, char err[NPY_ERR_LEN])
{
    const unsigned char *b = buf;
    npy_view v;
    memset(&v, 0, sizeof v);
    err[0] = '\0';
    if (buf == NULL || len < 10)
        return fail(err, "not an NPY file (too short: %zu bytes)", len);
    if (memcmp(b, npy_magic, sizeof npy_magic) != 0)
        return fail(err, "not an NPY file (no \\x93NUMPY magic)");
    unsigned major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return fail(err, "unsupported NPY format version %u.%u (1.0, 2.0 and 3.0 are)", major,
                    minor);
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else {
        if (len < 12)
            return fail(err, "truncated NPY header");
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    }
    if (hlen > len - hstart)
        return fail(err, "truncated NPY header: it claims %zu bytes, the file has %zu", hlen,
                    len - hstart);
    /* Versions 1 and 2 are latin-1, 3 is UTF-8; the keys and values we accept
     * are ASCII in all three, so any other byte is an error inside the parser. */
    if (parse_header((const char *)b + hstart, hlen, &v, err) != 0)
        return -1;
    v.version_major = (int)major;
    size_t count, bytes;
    if (__builtin_mul_overflow(v.rows, v.cols, &count) ||
        __builtin_mul_overflow(count, v.itemsize, &bytes))
        return fail(err, "shape (%zu, %zu) overflows size_t", v.rows, v.cols);
    size_t have = len - hstart - hlen;
    if (have < bytes)
        return fail(err, "truncated data: the header promises %zu bytes, the file has %zu", bytes,
                    have);
    if (have > bytes)
        return fail(err, "%zu unexpected bytes after the data (%zu bytes expected)", have - bytes,
                    bytes);
    v.count = count;
    v.data = b + hstart + hlen;
    *out = v;
    return 0;
}

/* ---- element access ---------------------------------------------------------- */

/* The raw bits of element i in row-major order. */
static uint64_t load_bits(const npy_view *v, size_t i)
{
    if (v->fortran)
        i = (i % v->cols) * v->rows + i / v->cols;
    const unsigned char *p = v->data + i * v->itemsize;
    uint64_t x = 0;
    for (size_t k = 0; k < v->itemsize; k++) {
        size_t shift = v->big_endian ? (v->itemsize - 1 - k) * 8 : k * 8;
        x |= (uint64_t)p[k] << shift;
    }
    return x;
}

static int64_t sign_extend(uint64_t x, size_t itemsize)
{
    if (itemsize == 0 || itemsize >= 8)
        return (int64_t)x;
    uint64_t sign = (uint64_t)1 << (itemsize * 8 - 1);
    /* Two's complement without implementation-defined conversions. */
    return (x & sign) ? -(int64_t)((sign << 1) - x) : (int64_t)x;
}

static double float_at(const npy_view *v, size_t i)
{
    uint64_t bits = load_bits(v, i);
    if (v->itemsize == 4) {
        uint32_t u = (uint32_t)bits;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

double npy_get_double(const npy_view *v, size_t i)
{
    uint64_t bits;
    switch (v->kind) {
    case NPY_KIND_FLOAT: return float_at(v, i);
    case NPY_KIND_INT: return (double)sign_extend(load_bits(v, i), v->itemsize);
    case NPY_KIND_UINT: return (double)load_bits(v, i);
    case NPY_KIND_BOOL: bits = load_bits(v, i); return bits != 0;
    }
    return 0;
}

int npy_to_float(const npy_view *v, float *out, size_t *bad, char err[NPY_ERR_LEN])
{
    for (size_t i = 0; i < v->count; i++) {
        double d = npy_get_double(v, i);
        if (isfinite(d) && fabs(d) > FLT_MAX) {
            *bad = i;
            return fail(err, "value %g is outside the float32 range", d);
        }
        out[i] = (float)d;
    }
    return 0;
}

void npy_to_double(const npy_view *v, double *out)
{
    for (size_t i = 0; i < v->count; i++)
        out[i] = npy_get_double(v, i);
}

int npy_to_int64(const npy_view *v, int64_t *out, size_t *bad, char err[NPY_ERR_LEN])
{
    for (size_t i = 0; i < v->count; i++) {
        if (v->kind == NPY_KIND_INT) {
            out[i] = sign_extend(load_bits(v, i), v->itemsize);
        } else if (v->kind == NPY_KIND_UINT || v->kind == NPY_KIND_BOOL) {
            uint64_t u = load_bits(v, i);
            if (v->kind == NPY_KIND_BOOL)
                u = u != 0;
            if (u > (uint64_t)INT64_MAX) {
                *bad = i;
                return fail(err, "value %llu does not fit in int64", (unsigned long long)u);
            }
            out[i] = (int64_t)u;
        } else {
            double d = float_at(v, i);
            /* 2^63 is exactly representable; anything at or above it is not an int64. */
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d)) {
                *bad = i;
                return fail(err, "value %g is not a whole number", d);
            }
            out[i] = (int64_t)d;
        }
    }
    return 0;
}

/* ---- writer ------------------------------------------------------------------- */

int npy_serialize(npy_out_type type, const void *data, int ndim, size_t rows, size_t cols,
                  unsigned char **buf, size_t *len)
{
    char dict[160];
    int n;
    const char *descr = type == NPY_OUT_F4 ? "<f4" : "<i8";
    size_t item = type == NPY_OUT_F4 ? 4 : 8;
    if (ndim == 1)
        n = snprintf(dict, sizeof dict,
                     "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }", descr, rows);
    else
        n = snprintf(dict, sizeof dict,
                     "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }", descr, rows,
                     cols);
    if (n < 0 || (size_t)n >= sizeof dict)
        return -1;
    /* numpy pads the header with spaces and a final newline so that the data
     * starts at a multiple of 64 bytes. */
    size_t hlen = (size_t)n + 1;
    size_t total_head = 10 + hlen;
    size_t pad = (64 - total_head % 64) % 64;
    hlen += pad;
    size_t count, bytes, total;
    if (ndim == 1)
        cols = 1;
    if (__builtin_mul_overflow(rows, cols, &count) || __builtin_mul_overflow(count, item, &bytes) ||
        __builtin_add_overflow(bytes, 10 + hlen, &total))
        return -1;
    unsigned char *b = malloc(total ? total : 1);
    if (b == NULL)
        return -1;
    memcpy(b, npy_magic, 6);
    b[6] = 1;
    b[7] = 0;
    b[8] = (unsigned char)(hlen & 0xff);
    b[9] = (unsigned char)(hlen >> 8);
    memcpy(b + 10, dict, (size_t)n);
    memset(b + 10 + n, ' ', pad);
    b[10 + hlen - 1] = '\n';
    unsigned char *p = b + 10 + hlen;
    for (size_t i = 0; i < count; i++) {
        uint64_t bits;
        if (type == NPY_OUT_F4) {
            uint32_t u;
            memcpy(&u, (const float *)data + i, 4);
            bits = u;
        } else {
            int64_t s;
            memcpy(&s, (const int64_t *)data + i, 8);
            memcpy(&bits, &s, 8);
        }
        for (size_t k = 0; k < item; k++)
            *p++ = (unsigned char)(bits >> (8 * k));
    }
    *buf = b;
    *len = total;
    return 0;
}
