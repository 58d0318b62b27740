/* SPDX-License-Identifier: MIT */
/* asdnorm calibrate: the decision threshold of each section from its normal
 * references alone (docs/math.md §2.5), for a false-alarm rate. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "modeldir.h"
#include "refset.h"

static const char calibrate_help[] =
    "Usage: asdnorm calibrate (--ref FILE | --index PATH) [options]\n"
    "\n"
    "The decision threshold for a false-alarm rate, from normal references alone:\n"
    "each reference is scored against the others, with the densities they would\n"
    "have without it (leave-one-out), and the threshold is the smallest of these\n"
    "scores with at most a fraction F of them above it. A test sample whose score\n"
    "(asdnorm score with the same method options) exceeds it is anomalous.\n"
    "One threshold per section, for source and target domains alike.\n"
    "\n"
    "Input:\n"
    "  --ref FILE            reference embeddings (M x D, .npy or .csv)\n"
    "  --ref-domains FILE    per reference: 0 unknown, 1 source, 2 target\n"
    "  --ref-sections FILE   per reference: section id (one threshold per section)\n"
    "  --index PATH          a saved index instead of --ref, or a directory of\n"
    "                        section_<id>.asdx files (asdnorm index build)\n"
    "Method (as for asdnorm score; default: cosine, knn K=1, ratio):\n"
    "  --distance NAME       cosine | euclidean | mse\n"
    "  --density NAME        none | knn | gwrp\n"
    "  --k K                 neighbours for knn (default 1)\n"
    "  --r R                 GWRP weight decay in [0, 1] (default 0.9)\n"
    "  --norm NAME           ratio | difference | none\n"
    "  --source-kmeans K     baseline: replace the source references by K centroids\n"
    "  --smote K             baseline: SMOTE the target references\n"
    "  --seed N              seed of k-means and SMOTE (default 0)\n"
    "Output:\n"
    "  --fpr F               the false-alarm rate wanted, in (0, 1) (default 0.1)\n"
    "  --json                JSON instead of CSV\n"
    "  --out FILE            where to write (default: standard output)\n"
    "  -h, --help            show this help\n";

enum { O_REF = O_FIRST_OWN, O_REF_DOMAINS, O_REF_SECTIONS, O_INDEX, O_NORM, O_FPR, O_JSON, O_OUT };

static const struct option calibrate_options[] = {
    {"ref", required_argument, NULL, O_REF},
    {"ref-domains", required_argument, NULL, O_REF_DOMAINS},
    {"ref-sections", required_argument, NULL, O_REF_SECTIONS},
    {"index", required_argument, NULL, O_INDEX},
    {"norm", required_argument, NULL, O_NORM},
    {"fpr", required_argument, NULL, O_FPR},
    {"json", no_argument, NULL, O_JSON},
    {"out", required_argument, NULL, O_OUT},
    {"help", no_argument, NULL, 'h'},
    BUILD_OPTIONS,
    {NULL, 0, NULL, 0},
};

typedef struct calibrate_args {
    const char *ref, *ref_domains, *ref_sections, *index, *out;
    build_args b;
    asdnorm_norm norm;
    double fpr;
    int json;
} calibrate_args;

/* One section's result. */
typedef struct calibration {
    int64_t id;
    size_t references;
    float threshold;
} calibration;

int parse_fpr(const char *cmd, const char *v, double *fpr)
{
    if (parse_double_arg(cmd, "--fpr", v, fpr) != 0)
        return -1;
    if (*fpr > 0 && *fpr < 1)
        return 0;
    cli_usage(cmd, "--fpr: %s is outside (0, 1)", v);
    return -1;
}

int calibrate_scorer(asdnorm_scorer *sc, double fpr, const char *where, float *threshold)
{
    asdnorm_status st = asdnorm_scorer_threshold(sc, fpr, threshold);
    if (st == ASDNORM_E_TOO_FEW)
        return cli_fail("%s: a threshold needs at least 3 references (2 with --density none)",
                        where);
    if (st != ASDNORM_OK)
        return cli_fail("%s: calibrating the threshold failed: %s", where, asdnorm_strerror(st));
    return 0;
}

/* One option of calibrate's own: EXIT_OK, or the status to exit with (-1: help). */
static int calibrate_option(calibrate_args *a, int id, const char *v)
{
    switch (id) {
    case 'h': fputs(calibrate_help, stdout); return -1;
    case O_REF: a->ref = v; break;
    case O_REF_DOMAINS: a->ref_domains = v; break;
    case O_REF_SECTIONS: a->ref_sections = v; break;
    case O_INDEX: a->index = v; break;
    case O_OUT: a->out = v; break;
    case O_JSON: a->json = 1; break;
    case O_FPR: return parse_fpr("calibrate", v, &a->fpr) == 0 ? EXIT_OK : EXIT_USAGE;
    case O_NORM:
        if (parse_norm(v, &a->norm) != 0)
            return cli_usage("calibrate", "--norm: '%s' is not ratio, difference or none", v);
        break;
    default: break;
    }
    return EXIT_OK;
}

static int parse_calibrate_args(int argc, char **argv, calibrate_args *a)
{
    memset(a, 0, sizeof *a);
    build_args_init(&a->b);
    a->norm = ASDNORM_NORM_RATIO;
    a->fpr = 0.1;
    a->out = "-";
    cli_options_begin();
    int id, rc;
    while ((id = cli_next("calibrate", argc, argv, calibrate_options)) != CLI_END) {
        if (id == CLI_BAD)
            return EXIT_USAGE;
        int built = parse_build_option("calibrate", id, optarg, &a->b);
        if (built < 0)
            return EXIT_USAGE;
        if (!built && (rc = calibrate_option(a, id, optarg)) != EXIT_OK)
            return rc;
    }
    if ((rc = cli_no_arguments("calibrate", argc, argv)) != EXIT_OK)
        return rc;
    if (!a->ref == !a->index)
        return cli_usage("calibrate", "give either --ref FILE or --index PATH");
    if (a->index && (a->b.distance_given || a->b.density_given || a->b.r_given || a->b.k_given ||
                     a->ref_domains || a->ref_sections))
        return cli_usage("calibrate", "--index stores its distance, density and domains: "
                                      "--distance, --density, --k, --r, --ref-domains and "
                                      "--ref-sections do not apply");
    if (a->ref_domains && a->ref_sections && strcmp(a->ref_domains, "-") == 0 &&
        strcmp(a->ref_sections, "-") == 0)
        return cli_usage("calibrate", "--ref-domains - and --ref-sections - both read "
                                      "standard input: give one of them as a file");
    return finish_build_args("calibrate", &a->b, NULL);
}

/* The threshold of one finalized index into c. */
static int calibrate_index(const calibrate_args *a, asdnorm_index *ix, const char *where,
                           calibration *c)
{
    asdnorm_scorer *sc = NULL;
    asdnorm_status st = asdnorm_scorer_new(ix, a->norm, &sc);
    if (st != ASDNORM_OK)
        return cli_fail("%s: %s", where, asdnorm_strerror(st));
    c->references = asdnorm_index_size(ix);
    int rc = calibrate_scorer(sc, a->fpr, where, &c->threshold);
    asdnorm_scorer_free(sc);
    return rc;
}

/* --index: one file, or every section of a model directory. */
static int calibrate_saved(const calibrate_args *a, calibration **out, size_t *n, int *sectioned)
{
    struct stat sb;
    if (stat(a->index, &sb) != 0)
        return cli_fail("%s: cannot open: %s", a->index, strerror(errno));
    *sectioned = S_ISDIR(sb.st_mode);
    int64_t one = 0, *ids = &one;
    size_t k = 1;
    if (*sectioned && list_sections(a->index, &ids, &k) != 0)
        return -1;
    calibration *c = calloc(k, sizeof *c);
    int rc = c ? 0 : cli_fail("out of memory");
    for (size_t s = 0; rc == 0 && s < k; s++) {
        char where[64];
        section_name(*sectioned, ids[s], where, sizeof where);
        asdnorm_index *ix = NULL;
        int64_t *map = NULL;
        c[s].id = ids[s];
        rc = load_section_index(a->index, *sectioned, ids[s], &ix);
        if (rc == 0)
            rc = transform_loaded_index(&ix, &a->b.o, where, &map);
        if (rc == 0)
            rc = calibrate_index(a, ix, where, &c[s]);
        asdnorm_index_free(ix);
        free(map);
    }
    if (ids != &one)
        free(ids);
    *out = c;
    *n = k;
    return rc;
}

/* One section of the reference file: its index built and calibrated. */
static int calibrate_group(const calibrate_args *a, const float *x, size_t dim, const uint8_t *dom,
                           const section_group *g, int sectioned, calibration *c)
{
    char where[64];
    section_name(sectioned, g->id, where, sizeof where);
    float *rows = gather_rows(x, dim, g->rows, g->n);
    uint8_t *d = dom ? malloc(g->n) : NULL;
    int rc = !rows || (dom && !d) ? cli_fail("out of memory") : 0;
    for (size_t i = 0; rc == 0 && d && i < g->n; i++)
        d[i] = dom[g->rows[i]];
    asdnorm_index *ix = NULL;
    int64_t *map = NULL;
    c->id = g->id;
    if (rc == 0)
        rc = build_section_index(rows, g->n, dim, d, g->rows, &a->b.o, where, &ix, &map);
    if (rc == 0)
        rc = calibrate_index(a, ix, where, c);
    asdnorm_index_free(ix);
    free(map);
    free(rows);
    free(d);
    return rc;
}

/* --ref: the references, grouped by section, one index each. */
static int calibrate_refs(const calibrate_args *a, calibration **out, size_t *n, int *sectioned)
{
    float *x = NULL;
    size_t m = 0, dim = 0, ng = 0;
    uint8_t *dom = NULL;
    int64_t *sec = NULL;
    section_group *g = NULL;
    row_origin o_ref = {0}, o_dom = {0}, o_sec = {0};
    int rc = load_matrix(a->ref, &x, &m, &dim, &o_ref);
    if (rc == 0)
        rc = check_matrix_rows(x, m, dim, a->b.o.distance, &o_ref);
    if (rc == 0 && a->ref_domains)
        rc = load_domains(a->ref_domains, m, a->ref, &dom, &o_dom);
    if (rc == 0 && a->ref_sections)
        rc = load_row_values(a->ref_sections, m, a->ref, &sec, &o_sec);
    if (rc == 0)
        rc = group_sections(sec, m, &g, &ng);
    *sectioned = a->ref_sections != NULL;
    calibration *c = rc == 0 ? calloc(ng, sizeof *c) : NULL;
    if (rc == 0 && !c)
        rc = cli_fail("out of memory");
    for (size_t s = 0; rc == 0 && s < ng; s++)
        rc = calibrate_group(a, x, dim, dom, &g[s], *sectioned, &c[s]);
    *out = c;
    *n = ng;
    free(x);
    free(dom);
    free(sec);
    free_groups(g, ng);
    row_origin_free(&o_ref);
    row_origin_free(&o_dom);
    row_origin_free(&o_sec);
    return rc;
}

/* The thresholds as CSV (section,references,threshold) or JSON. */
static int write_calibration(const calibrate_args *a, const calibration *c, size_t n, int sectioned)
{
    membuf m;
    if (membuf_open(&m) != 0)
        return -1;
    char fpr[32];
    format_double(a->fpr, fpr, sizeof fpr);
    if (a->json)
        fprintf(m.f, "{\"fpr\": %s, \"norm\": \"%s\", \"sections\": [", fpr, norm_name(a->norm));
    else
        fputs(sectioned ? "section,references,threshold\n" : "references,threshold\n", m.f);
    for (size_t s = 0; s < n; s++) {
        /* 9 significant digits read back to the same float32 */
        if (a->json)
            fprintf(m.f, "%s{\"section\": %lld, \"references\": %zu, \"threshold\": %.9g}",
                    s ? ", " : "", (long long)c[s].id, c[s].references, (double)c[s].threshold);
        else if (sectioned)
            fprintf(m.f, "%lld,%zu,%.9g\n", (long long)c[s].id, c[s].references,
                    (double)c[s].threshold);
        else
            fprintf(m.f, "%zu,%.9g\n", c[s].references, (double)c[s].threshold);
    }
    if (a->json)
        fputs("]}\n", m.f);
    return membuf_write(&m, a->out);
}

int cmd_calibrate(int argc, char **argv)
{
    calibrate_args a;
    int rc = parse_calibrate_args(argc, argv, &a);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (file_type_of(a.out) == FILE_NPY)
        return cli_usage("calibrate",
                         "--out %s: the thresholds are text (CSV or, with --json, "
                         "JSON), not .npy",
                         a.out);
    if (check_output(a.out) != 0)
        return EXIT_ERROR;
    calibration *c = NULL;
    size_t n = 0;
    int sectioned = 0;
    rc = a.index ? calibrate_saved(&a, &c, &n, &sectioned) : calibrate_refs(&a, &c, &n, &sectioned);
    if (rc == 0)
        rc = write_calibration(&a, c, n, sectioned);
    free(c);
    return rc == 0 ? EXIT_OK : EXIT_ERROR;
}
