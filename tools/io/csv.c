/* SPDX-License-Identifier: MIT */
/* CSV reader. Fields are unquoted in place in a private copy of the input, so a
 * record costs no allocation beyond its array of field pointers. */
#include "csv.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char err[CSV_ERR_LEN], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, CSV_ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

int csv_reader_init(csv_reader *r, const void *data, size_t len)
{
    memset(r, 0, sizeof *r);
    if (len == SIZE_MAX)
        return -1;
    r->buf = malloc(len + 1);
    if (r->buf == NULL)
        return -1;
    if (len)
        memcpy(r->buf, data, len);
    r->buf[len] = '\0';
    r->len = len;
    r->line = 1;
    /* Spreadsheets often start UTF-8 CSV files with a byte order mark. */
    if (len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
    /* Classic Mac OS ended lines with a lone \r: read it as a line end. */
    for (size_t i = 0; i < len; i++)
        if (r->buf[i] == '\r' && r->buf[i + 1] != '\n')
            r->buf[i] = '\n';
    return 0;
}

void csv_reader_free(csv_reader *r)
{
    free(r->buf);
    free(r->fields);
    memset(r, 0, sizeof *r);
}

static int push_field(csv_reader *r, char *f)
{
    if (r->nfields == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        if (cap < r->cap || cap > SIZE_MAX / sizeof *r->fields)
            return -1;
        char **p = realloc(r->fields, cap * sizeof *p);
        if (p == NULL)
            return -1;
        r->fields = p;
        r->cap = cap;
    }
    r->fields[r->nfields++] = f;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Skip blank lines and comment lines; 1 when a record starts at pos. */
static int skip_empty(csv_reader *r)
{
    while (r->pos < r->len) {
        size_t p = r->pos;
        while (p < r->len && is_blank(r->buf[p]))
            p++;
        if (p < r->len && r->buf[p] != '\n' && r->buf[p] != '#')
            return 1;
        if (p < r->len && r->buf[p] == '#')
            while (p < r->len && r->buf[p] != '\n')
                p++;
        if (p >= r->len) {
            r->pos = r->len;
            return 0;
        }
        r->pos = p + 1; /* past '\n' */
        r->line++;
    }
    return 0;
}

int csv_next(csv_reader *r, char err[CSV_ERR_LEN])
{
    r->nfields = 0;
    if (!skip_empty(r))
        return 0;
    char *b = r->buf;
    r->record_line = r->line;
    for (;;) {
        size_t p = r->pos;
        while (p < r->len && (b[p] == ' ' || b[p] == '\t'))
            p++;
        char *field;
        char delim;
        if (p < r->len && b[p] == '"') {
            size_t quote_line = r->line;
            size_t out = p;
            p++;
            field = b + out;
            for (;;) {
                if (p >= r->len)
                    return fail(err, "line %zu: unterminated quoted field", quote_line);
                char c = b[p];
                if (c == '\0')
                    return fail(err, "line %zu: NUL byte (is this a binary file?)", r->line);
                if (c == '"') {
                    if (p + 1 < r->len && b[p + 1] == '"') {
                        b[out++] = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (c == '\n')
                    r->line++;
                b[out++] = c;
                p++;
            }
            while (p < r->len && is_blank(b[p]))
                p++;
            delim = '\0';
            if (p < r->len)
                delim = b[p];
            if (delim != ',' && delim != '\n' && delim != '\0')
                return fail(err, "line %zu: unexpected text after a closing quote", r->line);
            /* out < p: the terminator never overwrites the delimiter we read. */
            b[out] = '\0';
        } else {
            size_t start = p;
            while (p < r->len && b[p] != ',' && b[p] != '\n') {
                if (b[p] == '\0')
                    return fail(err, "line %zu: NUL byte (is this a binary file?)", r->line);
                p++;
            }
            delim = '\0';
            if (p < r->len)
                delim = b[p];
            size_t end = p;
            while (end > start && is_blank(b[end - 1]))
                end--;
            field = b + start;
            b[end] = '\0'; /* end ≤ p: at worst overwrites the delimiter, already read */
        }
        if (push_field(r, field) != 0)
            return fail(err, "line %zu: out of memory", r->line);
        if (delim == ',') {
            r->pos = p + 1;
            continue;
        }
        if (delim == '\n') {
            r->pos = p + 1;
            r->line++;
        } else {
            r->pos = r->len;
        }
        return 1;
    }
}

int csv_parse_number(const char *s, double *v)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return 0;
    char *end;
    double d = strtod(s, &end);
    if (end == s)
        return 0;
    while (*end == ' ' || *end == '\t' || *end == '\r')
        end++;
    if (*end != '\0')
        return 0;
    *v = d;
    return 1;
}

void csv_table_free(csv_table *t)
{
    free(t->values);
    free(t->lines);
    memset(t, 0, sizeof *t);
}

/* Show at most 40 characters of a field in a message. */
static void excerpt(const char *s, char out[48])
{
    size_t n = strlen(s);
    if (n > 40)
        snprintf(out, 48, "%.37s...", s);
    else
        snprintf(out, 48, "%s", s);
}

/* Room for twice as many rows. */
static int grow_rows(csv_table *t, size_t *cap_rows, size_t line, char err[CSV_ERR_LEN])
{
    size_t cap = *cap_rows ? *cap_rows * 2 : 64, cells;
    if (cap < *cap_rows || __builtin_mul_overflow(cap, t->cols, &cells) ||
        cells > SIZE_MAX / sizeof(double))
        return fail(err, "line %zu: too many values", line);
    double *v = realloc(t->values, cells * sizeof *v);
    if (v == NULL)
        return fail(err, "out of memory");
    t->values = v;
    size_t *l = realloc(t->lines, cap * sizeof *l);
    if (l == NULL)
        return fail(err, "out of memory");
    t->lines = l;
    *cap_rows = cap;
    return 0;
}

/* The numbers of the current record into out; an empty field or text is an
 * error naming its line and column. */
static int parse_row(const csv_reader *r, double *out, char err[CSV_ERR_LEN])
{
    for (size_t j = 0; j < r->nfields; j++) {
        double d;
        if (csv_parse_number(r->fields[j], &d)) {
            out[j] = d;
            continue;
        }
        char ex[48];
        excerpt(r->fields[j], ex);
        const char *p = r->fields[j];
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return fail(err, "line %zu, column %zu: empty field", r->record_line, j + 1);
        return fail(err, "line %zu, column %zu: '%s' is not a number", r->record_line, j + 1, ex);
    }
    return 0;
}

/* The first record of a numeric table: 0 data (all numbers), 1 a header (no
 * number, no empty field), -1 neither, with err naming the line and field. */
static int first_record_kind(const csv_reader *r, char err[CSV_ERR_LEN])
{
    size_t numbers = 0, empty = 0, texts = 0, first_empty = 0, first_text = 0, first_number = 0;
    for (size_t j = 0; j < r->nfields; j++) {
        double v;
        const char *p = r->fields[j];
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0') {
            if (empty++ == 0)
                first_empty = j;
        } else if (csv_parse_number(p, &v)) {
            if (numbers++ == 0)
                first_number = j;
        } else if (texts++ == 0) {
            first_text = j;
        }
    }
    if (numbers == r->nfields)
        return 0;
    if (numbers == 0 && empty == 0)
        return 1;
    if (empty > 0)
        return fail(err,
                    "line %zu, column %zu: empty field in the first row (a header needs a name "
                    "in every column, a data row a number)",
                    r->record_line, first_empty + 1);
    char ex[48];
    excerpt(r->fields[first_text], ex);
    return fail(err,
                "line %zu: the first row mixes numbers (column %zu) and text ('%s', column %zu): "
                "neither a header nor a data row",
                r->record_line, first_number + 1, ex, first_text + 1);
}

int csv_read_numbers(const void *data, size_t len, csv_table *out, char err[CSV_ERR_LEN])
{
    csv_reader r;
    csv_table t;
    memset(&t, 0, sizeof t);
    err[0] = '\0';
    if (csv_reader_init(&r, data, len) != 0)
        return fail(err, "out of memory");
    size_t cap_rows = 0, width_line = 0;
    int status = -1;
    for (;;) {
        int got = csv_next(&r, err);
        if (got < 0)
            goto done;
        if (got == 0)
            break;
        if (t.cols == 0) {
            /* The first record fixes the width. It is data when every field is
             * a number, a header when none is a number and none is empty; a
             * mixture is an error rather than a data row silently dropped. */
            t.cols = r.nfields;
            width_line = r.record_line;
            int kind = first_record_kind(&r, err);
            if (kind < 0)
                goto done;
            if (kind == 1) {
                t.has_header = 1;
                continue;
            }
        } else if (r.nfields != t.cols) {
            fail(err, "line %zu has %zu field%s, expected %zu (as on line %zu)", r.record_line,
                 r.nfields, r.nfields == 1 ? "" : "s", t.cols, width_line);
            goto done;
        }
        if (t.rows == cap_rows && grow_rows(&t, &cap_rows, r.record_line, err) != 0)
            goto done;
        if (t.values == NULL || t.lines == NULL) /* cannot happen; for the analyzer */
            goto done;
        if (parse_row(&r, t.values + t.rows * t.cols, err) != 0)
            goto done;
        t.lines[t.rows] = r.record_line;
        t.rows++;
    }
    status = 0;
done:
    csv_reader_free(&r);
    if (status != 0) {
        csv_table_free(&t);
        return -1;
    }
    *out = t;
    return 0;
}
