/* SPDX-License-Identifier: MIT */
/* Shared pieces of the asdnorm command-line program: exit codes, messages,
 * option parsing, loading and writing NPY/CSV files, progress on a terminal. */
#ifndef ASDNORM_TOOLS_CLI_H
#define ASDNORM_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <asdnorm/asdnorm.h>

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* "asdnorm: <message>" on stderr. */
void cli_message(const char *fmt, ...) CLI_PRINTF(1, 2);
/* cli_message() as an expression with the value to return: EXIT_ERROR from a
 * command (`return cli_error(...)`), -1 from a helper (`return cli_fail(...)`).
 * Macros, so that a reader (and the static analyzer) sees the value. */
#define cli_error(...) (cli_message(__VA_ARGS__), EXIT_ERROR)
#define cli_fail(...)  (cli_message(__VA_ARGS__), -1)
/* "asdnorm <cmd>: <message>" and a hint to --help on stderr; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);
/* "asdnorm: warning: <message>" on stderr. */
void cli_warning(const char *fmt, ...) CLI_PRINTF(1, 2);

/* ---- options (options.c) ----------------------------------------------------- */

#include <getopt.h>

enum { CLI_END = -1, CLI_BAD = -3 };

/* Before the first cli_next() of a command. */
void cli_options_begin(void);
/* getopt_long over a command's arguments (argv[0]: the command's name): the next
 * option's val (its value in optarg; 'h' for -h), CLI_END when no option is left
 * (the operands start at argv[optind]), or CLI_BAD after printing a usage error. */
int cli_next(const char *cmd, int argc, char **argv, const struct option *opts);
/* EXIT_OK when no operand follows the options, else a usage error. */
int cli_no_arguments(const char *cmd, int argc, char **argv);

/* Parse option values; each prints a usage error and returns -1 when invalid. */
int parse_size_arg(const char *cmd, const char *opt, const char *s, size_t min, size_t *out);
int parse_double_arg(const char *cmd, const char *opt, const char *s, double *out);
int parse_u64_arg(const char *cmd, const char *opt, const char *s, uint64_t *out);

int parse_distance(const char *s, asdnorm_distance *out);
int parse_density(const char *s, asdnorm_density *out);
int parse_norm(const char *s, asdnorm_norm *out);
const char *distance_name(asdnorm_distance d);
const char *density_name(asdnorm_density d);
const char *norm_name(asdnorm_norm n);

/* ---- files -------------------------------------------------------------------- */

typedef enum file_type { FILE_NPY, FILE_CSV, FILE_UNKNOWN } file_type;

/* By extension (case-insensitive .npy / .csv); "-" is CSV on stdin/stdout. */
file_type file_type_of(const char *path);

/* files.c: no command ever destroys data.
 *
 * Read a whole file ("-": stdin) and remember it as an input. On failure prints
 * "asdnorm: PATH: reason" and returns -1. */
int read_whole_file(const char *path, unsigned char **buf, size_t *len);
/* Remember a file read by other means (an index the library loads). */
void note_input(const char *path);
/* 0 when path may be written: it does not exist, or it is a regular file that is
 * neither an input nor an output already written; otherwise prints why and -1. */
int check_output(const char *path);
/* Whether two output names denote the same file (existing or not). */
int same_output(const char *a, const char *b);
/* Write len bytes to path ("-": stdout) after check_output(): into a temporary
 * file in the same directory, then renamed over path, so that a failure leaves
 * an existing file untouched. */
int write_whole_file(const char *path, const void *buf, size_t len);

/* A text built in memory with fprintf (open_memstream), then written with
 * membuf_write(): an allocation failure shows there, once. */
typedef struct membuf {
    FILE *f;
    char *text;
    size_t len;
} membuf;

/* -1 after a message when out of memory. */
int membuf_open(membuf *m);
/* Close m and write its text to path (write_whole_file()); m is freed either way. */
int membuf_write(membuf *m, const char *path);

/* Where each row of a loaded file came from, so that messages can point at it:
 * NPY rows by their 0-based index, CSV rows by their 1-based line number. */
typedef struct row_origin {
    const char *path;
    size_t *lines; /* CSV: the line of each row; NULL for NPY */
} row_origin;

/* "line 14" or "row 12 (0-based)". */
void describe_row(const row_origin *o, size_t row, char *buf, size_t cap);
/* "line 14, column 3" (both 1-based) or "row 12, column 2 (0-based)". */
void describe_cell(const row_origin *o, size_t row, size_t col, char *buf, size_t cap);
void row_origin_free(row_origin *o);

/* An n × dim float32 matrix (n, dim ≥ 1) from a 2-D NPY or a CSV. Every failure
 * is printed, naming the file, the row and the column where there is one; origin
 * receives the rows' positions in the file for later messages. */
int load_matrix(const char *path, float **x, size_t *n, size_t *dim, row_origin *origin);
/* A vector (n ≥ 1): 1-D NPY, (n, 1) NPY, or a one-column CSV. Integers must be
 * whole numbers (an integer dtype, or floats such as 0.0 / 1.0). */
int load_vector_double(const char *path, double **v, size_t *n, row_origin *origin);
int load_vector_int(const char *path, int64_t **v, size_t *n, row_origin *origin);

/* A vector of integers with one value per row of `of` (expect rows). */
int load_row_values(const char *path, size_t expect, const char *of, int64_t **out,
                    row_origin *origin);
/* Domains 0 (unknown), 1 (source), 2 (target) into out (n bytes); a value
 * outside them is an error naming its row. */
int check_domain_values(const int64_t *d, size_t n, const row_origin *o, uint8_t *out);
/* load_row_values() and check_domain_values(): *out gets expect bytes. */
int load_domains(const char *path, size_t expect, const char *of, uint8_t **out,
                 row_origin *origin);

/* Check the rows of a matrix the way the library will (asdnorm_check_rows) and,
 * for a bad row, name the file, the row, the column and the problem. */
int check_matrix_rows(const float *x, size_t n, size_t dim, asdnorm_distance distance,
                      const row_origin *origin);

/* Write a vector as .npy (float32 / int64) or CSV (with a header line `name`). */
int write_vector_float(const char *path, const char *name, const float *v, size_t n);
int write_vector_int(const char *path, const char *name, const int64_t *v, size_t n);

/* ---- progress ------------------------------------------------------------------ */

/* progress.c: a bar with the percentage, the elapsed time and an ETA on stderr
 * while a long library call runs, only when stderr is a terminal and not
 * cli_quiet (--quiet). progress_begin never fails: it returns NULL (no bar)
 * instead. progress_report is the library's progress callback for a bar
 * (asdnorm_index_set_progress(ix, progress_report, p)); NULL p draws nothing. */
extern int cli_quiet;
typedef struct progress progress;
progress *progress_begin(const char *message);
int progress_report(double fraction, void *user);
void progress_end(progress *p);

/* ---- commands ------------------------------------------------------------------ */

int cmd_score(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_demo(int argc, char **argv);

/* Shortest decimal that reads back to the same double (as Python's repr). */
void format_double(double v, char *buf, size_t cap);

#endif /* ASDNORM_TOOLS_CLI_H */
