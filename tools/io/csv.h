/* SPDX-License-Identifier: MIT */
/* CSV: a record reader (RFC 4180 quoting, \n, \r\n or \r line ends, a UTF-8 byte
 * order mark skipped, blank lines and lines starting with '#' skipped — numpy's
 * savetxt writes its header that way) and, on top of it, a reader of numeric
 * tables with an optional header row. Both parse from a memory buffer. */
#ifndef ASDNORM_TOOLS_CSV_H
#define ASDNORM_TOOLS_CSV_H

#include <stddef.h>

#define CSV_ERR_LEN 256

/* Record reader over a private, mutable copy of the input. */
typedef struct csv_reader {
    char *buf; /* the copy, NUL-terminated; fields point into it */
    size_t len;
    size_t pos;
    size_t line;   /* 1-based line where the next record starts */
    char **fields; /* the current record's fields (NUL-terminated, unquoted) */
    size_t nfields;
    size_t cap;
    size_t record_line; /* 1-based line where the current record started */
} csv_reader;

/* Copy len bytes. -1 when out of memory. */
int csv_reader_init(csv_reader *r, const void *data, size_t len);
void csv_reader_free(csv_reader *r);

/* The next non-blank, non-comment record: 1 when there is one (fields,
 * nfields and record_line are set), 0 at the end, -1 on a malformed record
 * (an unterminated quote, text after a closing quote) with a message in err. */
int csv_next(csv_reader *r, char err[CSV_ERR_LEN]);

/* A numeric table. */
typedef struct csv_table {
    size_t rows, cols;
    double *values; /* rows × cols, row-major */
    size_t *lines;  /* rows: the 1-based line number of each data row */
    int has_header; /* the first record was all names */
} csv_table;

/* Parse numbers. The first record is data when all its fields are numbers, a
 * header when none is a number and none is empty, and an error otherwise. Every data row must have
 * the header's (or the first row's) number of fields; every field must be a number (strtod syntax,
 * surrounding blanks allowed, "nan" and "inf" included — the caller rejects them where they
 * matter). On failure returns -1 with err naming the line and column. A file
 * without data rows gives rows = 0. */
int csv_read_numbers(const void *data, size_t len, csv_table *out, char err[CSV_ERR_LEN]);
void csv_table_free(csv_table *t);

/* Whether s (blanks around it allowed) is a whole number for strtod; *v gets it. */
int csv_parse_number(const char *s, double *v);

#endif /* ASDNORM_TOOLS_CSV_H */
