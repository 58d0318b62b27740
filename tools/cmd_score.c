/* SPDX-License-Identifier: MIT */
/* asdnorm score: anomaly scores of test embeddings against reference embeddings. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "modeldir.h"
#include "refset.h"

static const char score_help[] =
    "Usage: asdnorm score (--ref FILE | --index FILE) --test FILE [options]\n"
    "\n"
    "Anomaly scores of test embeddings (higher = more anomalous) against normal\n"
    "reference embeddings, one index per section. FILEs are .npy or .csv.\n"
    "\n"
    "Input:\n"
    "  --ref FILE            reference embeddings (M x D, float32/float64)\n"
    "  --test FILE           test embeddings (N x D)\n"
    "  --ref-domains FILE    per reference: 0 unknown, 1 source, 2 target\n"
    "  --ref-sections FILE   per reference: section id (integer)\n"
    "  --test-sections FILE  per test sample: section id\n"
    "  --index PATH          a saved index (asdnorm index build) instead of --ref;\n"
    "                        a directory of section_<id>.asdx files with --test-sections\n"
    "Method (default: the paper's cosine, knn K=1, ratio):\n"
    "  --distance NAME       cosine | euclidean | mse\n"
    "  --density NAME        none | knn | gwrp\n"
    "  --k K                 neighbours for knn (default 1) and for lof (default 16)\n"
    "  --r R                 GWRP weight decay in [0, 1] (default 0.9)\n"
    "  --norm NAME           ratio | difference | none\n"
    "  --method NAME         density | lof | standardize (--standardize is the same)\n"
    "  --source-kmeans K     baseline: replace the source references by K k-means centroids\n"
    "  --smote K             baseline: SMOTE the target references up to the source count,\n"
    "                        with K nearest neighbours\n"
    "  --seed N              seed of k-means and SMOTE (default 0)\n"
    "Output:\n"
    "  --out FILE            scores (.npy float32 or .csv; default: CSV on standard output)\n"
    "  --nearest FILE        per test sample, the reference row that attained the minimum\n"
    "                        (-1 for a centroid or synthetic reference)\n"
    "  --quiet               no progress bar (shown on a terminal for long work)\n"
    "  -h, --help            show this help\n";

enum {
    O_REF = O_FIRST_OWN,
    O_TEST,
    O_REF_DOMAINS,
    O_REF_SECTIONS,
    O_TEST_SECTIONS,
    O_NORM,
    O_METHOD,
    O_STANDARDIZE,
    O_OUT,
    O_NEAREST,
    O_INDEX
};

static const struct option score_options[] = {
    {"ref", required_argument, NULL, O_REF},
    {"test", required_argument, NULL, O_TEST},
    {"ref-domains", required_argument, NULL, O_REF_DOMAINS},
    {"ref-sections", required_argument, NULL, O_REF_SECTIONS},
    {"test-sections", required_argument, NULL, O_TEST_SECTIONS},
    {"norm", required_argument, NULL, O_NORM},
    {"method", required_argument, NULL, O_METHOD},
    {"standardize", no_argument, NULL, O_STANDARDIZE},
    {"out", required_argument, NULL, O_OUT},
    {"nearest", required_argument, NULL, O_NEAREST},
    {"index", required_argument, NULL, O_INDEX},
    {"help", no_argument, NULL, 'h'},
    BUILD_OPTIONS,
    {NULL, 0, NULL, 0},
};

typedef enum method { METHOD_DENSITY, METHOD_LOF, METHOD_STANDARDIZE } method;

typedef struct score_args {
    const char *ref, *test, *ref_domains, *ref_sections, *test_sections, *out, *nearest, *index;
    build_args b;
    asdnorm_norm norm;
    method meth;
    int norm_given;
} score_args;

/* One option of score's own into a: EXIT_OK, or the status to exit with (-1: help). */
static int score_option(score_args *a, int id, const char *v)
{
    switch (id) {
    case 'h': fputs(score_help, stdout); return -1;
    case O_REF: a->ref = v; break;
    case O_TEST: a->test = v; break;
    case O_REF_DOMAINS: a->ref_domains = v; break;
    case O_REF_SECTIONS: a->ref_sections = v; break;
    case O_TEST_SECTIONS: a->test_sections = v; break;
    case O_OUT: a->out = v; break;
    case O_NEAREST: a->nearest = v; break;
    case O_INDEX: a->index = v; break;
    case O_STANDARDIZE: a->meth = METHOD_STANDARDIZE; break;
    case O_NORM:
        if (parse_norm(v, &a->norm) != 0)
            return cli_usage("score", "--norm: '%s' is not ratio, difference or none", v);
        a->norm_given = 1;
        break;
    case O_METHOD:
        if (strcmp(v, "density") == 0)
            a->meth = METHOD_DENSITY;
        else if (strcmp(v, "lof") == 0)
            a->meth = METHOD_LOF;
        else if (strcmp(v, "standardize") == 0)
            a->meth = METHOD_STANDARDIZE;
        else
            return cli_usage("score", "--method: '%s' is not density, lof or standardize", v);
        break;
    default: break;
    }
    return EXIT_OK;
}

/* Standard input can be read once. */
static int check_stdin_once(const score_args *a)
{
    const char *inputs[] = {a->ref, a->test, a->ref_domains, a->ref_sections, a->test_sections};
    static const char *const names[] = {"--ref", "--test", "--ref-domains", "--ref-sections",
                                        "--test-sections"};
    const char *first = NULL;
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        if (!inputs[i] || strcmp(inputs[i], "-") != 0)
            continue;
        if (first)
            return cli_usage("score",
                             "%s - and %s - both read standard input, which can be read "
                             "once: give one of them as a file",
                             first, names[i]);
        first = names[i];
    }
    return EXIT_OK;
}

/* The method's options: LOF takes --k and no density; the others build with
 * the build options. */
static int check_method(score_args *a)
{
    build_args *b = &a->b;
    if (a->meth != METHOD_DENSITY && a->nearest)
        return cli_usage("score", "--nearest is available with --method density only");
    if (a->meth != METHOD_LOF) {
        if (a->index && b->k_given)
            return cli_usage("score", "--k applies to --density knn (when building) and to "
                                      "--method lof");
        return finish_build_args("score", b, " (when building) and to --method lof");
    }
    if (b->density_given || b->r_given || a->norm_given)
        return cli_usage("score", "--method lof has no --density, --r or --norm "
                                  "(LOF uses --k neighbours and the distance)");
    if (b->o.source_kmeans && b->o.smote_k)
        return cli_usage("score", "--source-kmeans and --smote are alternative baselines");
    if (!b->k_given)
        b->k = 16;
    /* LOF needs no density constants: finalize cheaply. */
    b->o.density = ASDNORM_DENSITY_NONE;
    b->o.param = 0;
    return EXIT_OK;
}

/* Options and their combinations; EXIT_OK, or the status to exit with (-1: help).
 * Combinations that cannot mean what the user wants are usage errors, not
 * silently ignored options. */
static int parse_score_args(int argc, char **argv, score_args *a)
{
    memset(a, 0, sizeof *a);
    build_args_init(&a->b);
    a->norm = ASDNORM_NORM_RATIO;
    a->meth = METHOD_DENSITY;
    a->out = "-";
    cli_options_begin();
    int id, rc;
    while ((id = cli_next("score", argc, argv, score_options)) != CLI_END) {
        if (id == CLI_BAD)
            return EXIT_USAGE;
        int built = parse_build_option("score", id, optarg, &a->b);
        if (built < 0)
            return EXIT_USAGE;
        if (!built && (rc = score_option(a, id, optarg)) != EXIT_OK)
            return rc;
    }
    if ((rc = cli_no_arguments("score", argc, argv)) != EXIT_OK)
        return rc;
    if (!a->test)
        return cli_usage("score", "--test FILE is required");
    if (!a->ref == !a->index)
        return cli_usage("score", "give either --ref FILE or --index FILE");
    if (a->index && (a->b.distance_given || a->b.density_given || a->b.r_given || a->ref_domains ||
                     a->ref_sections))
        return cli_usage("score", "--index stores its distance, density and domains: "
                                  "--distance, --density, --r, --ref-domains and --ref-sections "
                                  "do not apply");
    if ((rc = check_stdin_once(a)) != EXIT_OK)
        return rc;
    if (a->nearest && same_output(a->out, a->nearest))
        return cli_usage("score", "--out and --nearest name the same file");
    if (a->ref && !a->ref_sections != !a->test_sections)
        return cli_usage("score", "--ref-sections and --test-sections go together");
    return check_method(a);
}

/* Load PATH (a file) or DIR/section_<id>.asdx. */
static int load_index(const char *path, int sectioned, int64_t id, asdnorm_index **ix)
{
    char file[4096];
    if (sectioned)
        section_file(path, id, file, sizeof file);
    else
        snprintf(file, sizeof file, "%s", path);
    int listed = sectioned ? manifest_lists(path, id) : 1;
    if (listed == 0)
        return cli_fail("%s: no index for section %lld: %s/%s does not list it (a file left by an "
                        "earlier build is not used)",
                        file, (long long)id, path, MANIFEST_NAME);
    if (listed == -2)
        return cli_fail("%s/%s: not an asdnorm manifest", path, MANIFEST_NAME);
    struct stat sb;
    if (stat(file, &sb) != 0) {
        if (sectioned)
            return cli_fail("%s: no index for section %lld: %s", file, (long long)id,
                            strerror(errno));
        return cli_fail("%s: cannot open: %s", file, strerror(errno));
    }
    note_input(file);
    asdnorm_status st = asdnorm_index_load(file, ix);
    if (st == ASDNORM_OK)
        return 0;
    return cli_fail("%s: %s", file, asdnorm_strerror(st));
}

/* Score one section's tests against its index. */
static int score_section(const score_args *a, asdnorm_index *ix, const char *where, const float *x,
                         size_t n, float *scores, size_t *nearest)
{
    asdnorm_status st;
    if (a->meth == METHOD_DENSITY) {
        asdnorm_scorer *sc = NULL;
        char msg[160];
        if (strncmp(where, "section", 7) == 0)
            snprintf(msg, sizeof msg, "scoring %zu test samples (%s)", n, where);
        else
            snprintf(msg, sizeof msg, "scoring %zu test samples", n);
        progress *p = progress_begin(msg);
        st = asdnorm_scorer_new(ix, a->norm, &sc);
        if (st == ASDNORM_OK && p)
            st = asdnorm_scorer_set_progress(sc, progress_report, p);
        if (st == ASDNORM_OK)
            st = asdnorm_scorer_score(sc, x, n, scores, nearest);
        asdnorm_scorer_free(sc);
        progress_end(p);
    } else if (a->meth == METHOD_LOF) {
        asdnorm_lof *lof = NULL;
        st = asdnorm_lof_new(ix, a->b.k, &lof);
        if (st == ASDNORM_E_TOO_FEW) {
            asdnorm_lof_free(lof);
            return cli_fail("%s: LOF needs at least 2 references, there is %zu", where,
                            asdnorm_index_size(ix));
        }
        if (st == ASDNORM_OK)
            st = asdnorm_lof_score(lof, x, n, scores);
        asdnorm_lof_free(lof);
    } else {
        st = asdnorm_standardized_scores(ix, a->norm, x, n, scores);
        if (st == ASDNORM_E_TOO_FEW)
            return cli_fail("%s: --method standardize needs at least 2 test samples and, in each "
                            "domain, enough references for the density estimator (%zu test "
                            "samples here)",
                            where, n);
        if (st == ASDNORM_E_DEGENERATE)
            return cli_fail("%s: --method standardize: the scores of a domain have zero variance "
                            "over the test samples",
                            where);
    }
    if (st == ASDNORM_E_DIM)
        return cli_fail("%s: the test embeddings have another dimension than the index (%zu)",
                        where, asdnorm_index_dim(ix));
    if (st != ASDNORM_OK)
        return cli_fail("%s: scoring failed: %s", where, asdnorm_strerror(st));
    return 0;
}

/* ---- the job -------------------------------------------------------------------- */

/* Everything a run of score holds, freed in one place. */
typedef struct score_job {
    score_args a;
    float *ref, *test; /* n_ref × dim, n_test × dim */
    size_t n_ref, n_test, dim;
    uint8_t *ref_dom;
    int64_t *ref_sec, *test_sec;
    row_origin o_ref, o_test, o_dom, o_rsec, o_tsec;
    section_group *rg, *tg; /* references and tests by section */
    size_t n_rg, n_tg;
    int sectioned;
    float *scores;    /* n_test */
    int64_t *nearest; /* n_test: reference file rows, -1 for synthetic ones */
} score_job;

static void score_job_free(score_job *j)
{
    free(j->ref);
    free(j->test);
    free(j->ref_dom);
    free(j->ref_sec);
    free(j->test_sec);
    row_origin_free(&j->o_ref);
    row_origin_free(&j->o_test);
    row_origin_free(&j->o_dom);
    row_origin_free(&j->o_rsec);
    row_origin_free(&j->o_tsec);
    free_groups(j->rg, j->n_rg);
    free_groups(j->tg, j->n_tg);
    free(j->scores);
    free(j->nearest);
}

/* --index: a file, or a directory of sections given --test-sections. */
static int check_index_kind(const score_job *j)
{
    const score_args *a = &j->a;
    struct stat sb;
    if (stat(a->index, &sb) != 0)
        return cli_error("%s: cannot open: %s", a->index, strerror(errno));
    if (S_ISDIR(sb.st_mode) && !a->test_sections)
        return cli_usage("score",
                         "--index %s is a directory of per-section indexes: give "
                         "--test-sections",
                         a->index);
    if (!S_ISDIR(sb.st_mode) && a->test_sections)
        return cli_usage("score",
                         "--index %s is a single index: --test-sections needs a "
                         "directory built with --ref-sections",
                         a->index);
    return EXIT_OK;
}

/* The references and their domain and section files, checked against the tests. */
static int load_references(score_job *j)
{
    const score_args *a = &j->a;
    size_t dim;
    if (load_matrix(a->ref, &j->ref, &j->n_ref, &dim, &j->o_ref) != 0)
        return -1;
    if (dim != j->dim)
        return cli_fail("%s has %zu columns but %s has %zu: references and tests need the same "
                        "embedding dimension",
                        a->ref, dim, a->test, j->dim);
    if (check_matrix_rows(j->ref, j->n_ref, dim, a->b.o.distance, &j->o_ref) != 0 ||
        check_matrix_rows(j->test, j->n_test, dim, a->b.o.distance, &j->o_test) != 0)
        return -1;
    if (a->ref_domains &&
        load_domains(a->ref_domains, j->n_ref, a->ref, &j->ref_dom, &j->o_dom) != 0)
        return -1;
    if (a->ref_sections &&
        load_row_values(a->ref_sections, j->n_ref, a->ref, &j->ref_sec, &j->o_rsec) != 0)
        return -1;
    if (group_sections(j->ref_sec, j->n_ref, &j->rg, &j->n_rg) != 0)
        return -1;
    /* Every test section needs references. */
    for (size_t s = 0; j->sectioned && s < j->n_tg; s++) {
        if (find_group(j->rg, j->n_rg, j->tg[s].id))
            continue;
        char where[96];
        describe_row(&j->o_tsec, j->tg[s].rows[0], where, sizeof where);
        return cli_fail("%s: %s: section %lld has no references in %s", a->test_sections, where,
                        (long long)j->tg[s].id, a->ref_sections);
    }
    return 0;
}

/* Every input, then the outputs checked before the work. */
static int load_inputs(score_job *j)
{
    const score_args *a = &j->a;
    if (load_matrix(a->test, &j->test, &j->n_test, &j->dim, &j->o_test) != 0)
        return -1;
    if (a->test_sections &&
        load_row_values(a->test_sections, j->n_test, a->test, &j->test_sec, &j->o_tsec) != 0)
        return -1;
    if (group_sections(j->test_sec, j->n_test, &j->tg, &j->n_tg) != 0)
        return -1;
    if (a->ref && load_references(j) != 0)
        return -1;
    /* Refuse an output that would replace an input before the work, not after. */
    if (check_output(a->out) != 0 || (a->nearest && check_output(a->nearest) != 0))
        return -1;
    /* Zeroed: every row is written below, but an analyzer cannot see that. */
    j->scores = calloc(j->n_test, sizeof *j->scores);
    j->nearest = calloc(j->n_test, sizeof *j->nearest);
    if (!j->scores || !j->nearest)
        return cli_fail("out of memory for %zu scores", j->n_test);
    return 0;
}

/* Section t's index, built from the references or loaded; *map: index
 * positions to reference file rows (-1 for synthetic references). */
static int section_index(score_job *j, const section_group *t, const char *where,
                         asdnorm_index **ix, int64_t **map)
{
    const score_args *a = &j->a;
    if (a->index) {
        if (load_index(a->index, j->sectioned, t->id, ix) != 0)
            return -1;
        if (asdnorm_index_dim(*ix) != j->dim)
            return cli_fail("%s has %zu columns but the index %s has dimension %zu", a->test,
                            j->dim, a->index, asdnorm_index_dim(*ix));
        if (check_matrix_rows(j->test, j->n_test, j->dim, asdnorm_index_distance(*ix),
                              &j->o_test) != 0)
            return -1;
        return transform_loaded_index(ix, &a->b.o, where, map);
    }
    /* One section uses the references as they are; several, copies of theirs. */
    const section_group *r = find_group(j->rg, j->n_rg, t->id);
    float *x = j->sectioned ? gather_rows(j->ref, j->dim, r->rows, r->n) : NULL;
    uint8_t *d = j->sectioned && j->ref_dom ? malloc(r->n) : NULL;
    int rc = j->sectioned && (!x || (j->ref_dom && !d)) ? cli_fail("out of memory") : 0;
    for (size_t i = 0; rc == 0 && d && i < r->n; i++)
        d[i] = j->ref_dom[r->rows[i]];
    if (rc == 0)
        rc = build_section_index(j->sectioned ? x : j->ref, r->n, j->dim,
                                 j->sectioned ? d : j->ref_dom, r->rows, &a->b.o, where, ix, map);
    free(x);
    free(d);
    return rc;
}

/* Score the tests of section t into j->scores and j->nearest. */
static int score_group(score_job *j, const section_group *t)
{
    char where[64];
    section_name(j->sectioned, t->id, where, sizeof where);
    asdnorm_index *ix = NULL;
    int64_t *map = NULL;
    float *x = j->sectioned ? gather_rows(j->test, j->dim, t->rows, t->n) : NULL;
    float *sc = calloc(t->n, sizeof *sc);
    size_t *np = calloc(t->n, sizeof *np);
    int rc = (j->sectioned && !x) || !sc || !np ? cli_fail("out of memory") : 0;
    if (rc == 0)
        rc = section_index(j, t, where, &ix, &map);
    if (rc == 0)
        rc = score_section(&j->a, ix, where, j->sectioned ? x : j->test, t->n, sc,
                           j->a.nearest ? np : NULL);
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        j->scores[t->rows[i]] = sc[i];
        j->nearest[t->rows[i]] = j->a.nearest ? map[np[i]] : -1;
    }
    asdnorm_index_free(ix);
    free(map);
    free(x);
    free(sc);
    free(np);
    return rc;
}

static int write_outputs(const score_job *j)
{
    for (size_t i = 0; i < j->n_test; i++) {
        if (!isfinite(j->scores[i])) {
            char where[96];
            describe_row(&j->o_test, i, where, sizeof where);
            cli_warning("%s: %s: the score is not finite (%g)", j->a.test, where,
                        (double)j->scores[i]);
            break;
        }
    }
    if (write_vector_float(j->a.out, "score", j->scores, j->n_test) != 0)
        return -1;
    if (j->a.nearest && write_vector_int(j->a.nearest, "nearest", j->nearest, j->n_test) != 0)
        return -1;
    return 0;
}

int cmd_score(int argc, char **argv)
{
    score_job j;
    memset(&j, 0, sizeof j);
    int rc = parse_score_args(argc, argv, &j.a);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    j.sectioned = j.a.test_sections != NULL;
    if (j.a.index && (rc = check_index_kind(&j)) != EXIT_OK)
        return rc;
    rc = load_inputs(&j);
    for (size_t s = 0; rc == 0 && s < j.n_tg; s++)
        rc = score_group(&j, &j.tg[s]);
    if (rc == 0)
        rc = write_outputs(&j);
    score_job_free(&j);
    return rc == 0 ? EXIT_OK : EXIT_ERROR;
}
