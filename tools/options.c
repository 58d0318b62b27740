/* SPDX-License-Identifier: MIT */
/* Command-line options: getopt_long with the program's messages, option
 * values, and the options `score` and `index build` share (how references
 * become an index). */
#define _GNU_SOURCE /* getopt_long, and optind = 0 to start over */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "refset.h"

/* ---- getopt_long --------------------------------------------------------------- */

void cli_options_begin(void)
{
    optind = 0; /* GNU: start over, with a fresh argument vector */
    opterr = 0; /* messages are ours */
}

/* The long options whose name starts with arg's (up to '='): how many, and the
 * exact match if there is one. */
static size_t matches(const struct option *opts, const char *name, size_t len,
                      const struct option **exact)
{
    size_t n = 0;
    *exact = NULL;
    for (const struct option *o = opts; o->name; o++) {
        if (strncmp(o->name, name, len) != 0)
            continue;
        n++;
        if (strlen(o->name) == len)
            *exact = o;
    }
    return n;
}

/* Explain why getopt_long refused argv[optind - 1]. */
static void explain(const char *cmd, char **argv, const struct option *opts, int c)
{
    const char *arg = argv[optind - 1];
    if (c == ':') {
        cli_usage(cmd, "option '%s' needs a value", arg);
        return;
    }
    if (strncmp(arg, "--", 2) != 0) {
        cli_usage(cmd, "unknown option '-%c'", optopt ? optopt : '?');
        return;
    }
    const char *name = arg + 2;
    size_t len = strcspn(name, "=");
    const struct option *exact;
    size_t n = matches(opts, name, len, &exact);
    if (exact && exact->has_arg == no_argument && name[len] == '=')
        cli_usage(cmd, "option '--%s' takes no value", exact->name);
    else if (n > 1 && !exact)
        cli_usage(cmd, "option '%.*s' is ambiguous", (int)len + 2, arg);
    else
        cli_usage(cmd, "unknown option '%.*s'", (int)len + 2, arg);
}

int cli_next(const char *cmd, int argc, char **argv, const struct option *opts)
{
    int c = getopt_long(argc, argv, "+:h", opts, NULL);
    if (c == -1)
        return CLI_END;
    if (c == '?' || c == ':') {
        explain(cmd, argv, opts, c);
        return CLI_BAD;
    }
    return c;
}

int cli_no_arguments(const char *cmd, int argc, char **argv)
{
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    return EXIT_OK;
}

/* ---- values ---------------------------------------------------------------------- */

int parse_size_arg(const char *cmd, const char *opt, const char *s, size_t min, size_t *out)
{
    char *end;
    errno = 0;
    if (s[0] == '-' || !isdigit((unsigned char)s[0])) {
        cli_usage(cmd, "%s: '%s' is not a whole number >= %zu", opt, s, min);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE || *end != '\0' || v > SIZE_MAX || v < min) {
        cli_usage(cmd, "%s: '%s' is not a whole number >= %zu", opt, s, min);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

int parse_u64_arg(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)s[0])) {
        cli_usage(cmd, "%s: '%s' is not a non-negative whole number", opt, s);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE || *end != '\0') {
        cli_usage(cmd, "%s: '%s' is not a non-negative whole number below 2^64", opt, s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int parse_double_arg(const char *cmd, const char *opt, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v)) {
        cli_usage(cmd, "%s: '%s' is not a number", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int parse_distance(const char *s, asdnorm_distance *out)
{
    if (strcmp(s, "cosine") == 0)
        *out = ASDNORM_DISTANCE_COSINE;
    else if (strcmp(s, "euclidean") == 0)
        *out = ASDNORM_DISTANCE_EUCLIDEAN;
    else if (strcmp(s, "mse") == 0)
        *out = ASDNORM_DISTANCE_MSE;
    else
        return -1;
    return 0;
}

int parse_density(const char *s, asdnorm_density *out)
{
    if (strcmp(s, "none") == 0)
        *out = ASDNORM_DENSITY_NONE;
    else if (strcmp(s, "knn") == 0)
        *out = ASDNORM_DENSITY_KNN;
    else if (strcmp(s, "gwrp") == 0)
        *out = ASDNORM_DENSITY_GWRP;
    else
        return -1;
    return 0;
}

int parse_norm(const char *s, asdnorm_norm *out)
{
    if (strcmp(s, "ratio") == 0)
        *out = ASDNORM_NORM_RATIO;
    else if (strcmp(s, "difference") == 0)
        *out = ASDNORM_NORM_DIFFERENCE;
    else if (strcmp(s, "none") == 0)
        *out = ASDNORM_NORM_NONE;
    else
        return -1;
    return 0;
}

/* ---- the build options ------------------------------------------------------------ */

void build_args_init(build_args *b)
{
    memset(b, 0, sizeof *b);
    b->o.distance = ASDNORM_DISTANCE_COSINE;
    b->o.density = ASDNORM_DENSITY_KNN;
    b->o.param = 1;
    b->k = 1;
    b->r = 0.9;
}

int parse_build_option(const char *cmd, int id, const char *v, build_args *b)
{
    switch (id) {
    case O_DISTANCE:
        b->distance_given = 1;
        if (parse_distance(v, &b->o.distance) == 0)
            return 1;
        cli_usage(cmd, "--distance: '%s' is not cosine, euclidean or mse", v);
        return -1;
    case O_DENSITY:
        b->density_given = 1;
        if (parse_density(v, &b->o.density) == 0)
            return 1;
        cli_usage(cmd, "--density: '%s' is not none, knn or gwrp", v);
        return -1;
    case O_K: b->k_given = 1; return parse_size_arg(cmd, "--k", v, 1, &b->k) == 0 ? 1 : -1;
    case O_R:
        if (parse_double_arg(cmd, "--r", v, &b->r) != 0)
            return -1;
        b->r_given = 1;
        if (b->r >= 0 && b->r <= 1)
            return 1;
        cli_usage(cmd, "--r: %s is outside [0, 1]", v);
        return -1;
    case O_KMEANS:
        return parse_size_arg(cmd, "--source-kmeans", v, 1, &b->o.source_kmeans) == 0 ? 1 : -1;
    case O_SMOTE: return parse_size_arg(cmd, "--smote", v, 1, &b->o.smote_k) == 0 ? 1 : -1;
    case O_SEED: return parse_u64_arg(cmd, "--seed", v, &b->o.seed) == 0 ? 1 : -1;
    case O_QUIET: cli_quiet = 1; return 1;
    default: return 0;
    }
}

int finish_build_args(const char *cmd, build_args *b, const char *k_also)
{
    if (b->o.source_kmeans && b->o.smote_k)
        return cli_usage(cmd, "--source-kmeans and --smote are alternative baselines");
    if (b->k_given && b->o.density != ASDNORM_DENSITY_KNN)
        return cli_usage(cmd, "--k applies to --density knn%s", k_also ? k_also : "");
    if (b->r_given && b->o.density != ASDNORM_DENSITY_GWRP)
        return cli_usage(cmd, "--r applies to --density gwrp");
    if (b->o.density == ASDNORM_DENSITY_KNN)
        b->o.param = (double)b->k;
    else if (b->o.density == ASDNORM_DENSITY_GWRP)
        b->o.param = b->r;
    else
        b->o.param = 0;
    return EXIT_OK;
}
