/* SPDX-License-Identifier: MIT */
/* The NPY file format (numpy.lib.format, versions 1.0, 2.0 and 3.0): a strict
 * reader that parses from a memory buffer and trusts nothing in the header, and
 * a writer for the CLI's outputs (float32 scores, int64 positions).
 *
 * Supported: dtypes f4, f8 (either byte order), integers i1 i2 i4 i8 u1 u2 u4 u8
 * and b1, C or Fortran order, 1-D and 2-D shapes. Elements are addressed in row-major
 * order whatever the order in the file. */
#ifndef ASDNORM_TOOLS_NPY_H
#define ASDNORM_TOOLS_NPY_H

#include <stddef.h>
#include <stdint.h>

typedef enum npy_kind {
    NPY_KIND_FLOAT, /* 'f' */
    NPY_KIND_INT,   /* 'i' */
    NPY_KIND_UINT,  /* 'u' */
    NPY_KIND_BOOL   /* 'b' */
} npy_kind;

/* A parsed array: a view into the caller's buffer (never copied). */
typedef struct npy_view {
    int version_major; /* 1, 2 or 3 */
    npy_kind kind;
    size_t itemsize;           /* bytes per element: 1, 2, 4 or 8 */
    int big_endian;            /* 1 for '>' (multi-byte types only) */
    char descr[16];            /* the dtype string as in the header, for messages */
    int ndim;                  /* 1 or 2 */
    size_t rows;               /* shape[0] */
    size_t cols;               /* shape[1], or 1 for a 1-D array */
    size_t count;              /* rows · cols elements */
    int fortran;               /* column-major data (fortran_order True, 2-D) */
    const unsigned char *data; /* count · itemsize bytes, possibly unaligned */
} npy_view;

/* Room for any message of this module (the caller prefixes the file name). */
#define NPY_ERR_LEN 256

/* Parse the len bytes at buf as an NPY file. On failure returns -1 and writes a
 * message (without the file name) to err; the data must fill the rest of the
 * buffer exactly (a truncated or over-long file is an error). */
int npy_parse(const void *buf, size_t len, npy_view *out, char err[NPY_ERR_LEN]);

/* Element i (0 ≤ i < count, row-major) converted to double; integers above 2^53
 * round. Never fails. */
double npy_get_double(const npy_view *v, size_t i);

/* Convert all elements to float32. A float64 value outside the float32 range
 * (finite but |x| > FLT_MAX) is an error: returns -1, sets *bad to its element
 * index and writes err. NaN and infinities are copied (the caller checks rows). */
int npy_to_float(const npy_view *v, float *out, size_t *bad, char err[NPY_ERR_LEN]);

/* Convert all elements to double (float32 widened exactly). Never fails. */
void npy_to_double(const npy_view *v, double *out);

/* Convert all elements to int64: a float must be a whole number within range
 * (labels saved as 0.0/1.0 are fine), a uint64 must fit. -1, *bad, err on failure. */
int npy_to_int64(const npy_view *v, int64_t *out, size_t *bad, char err[NPY_ERR_LEN]);

/* What npy_write stores. */
typedef enum npy_out_type { NPY_OUT_F4, NPY_OUT_I8 } npy_out_type;

/* Serialize an array as NPY version 1.0, little endian, C order: ndim 1 gives
 * shape (rows,), ndim 2 gives (rows, cols). data holds rows · cols floats (F4)
 * or int64_t (I8). The result is malloc'd into *buf / *len. -1 on overflow or
 * out of memory. */
int npy_serialize(npy_out_type type, const void *data, int ndim, size_t rows, size_t cols,
                  unsigned char **buf, size_t *len);

#endif /* ASDNORM_TOOLS_NPY_H */
