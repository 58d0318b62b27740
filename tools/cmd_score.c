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
    "  -h, --help            show this help\n";

enum {
    O_REF = 1, O_TEST, O_REF_DOMAINS, O_REF_SECTIONS, O_TEST_SECTIONS, O_DISTANCE, O_DENSITY, O_K,
    O_R, O_NORM, O_METHOD, O_STANDARDIZE, O_KMEANS, O_SMOTE, O_SEED, O_OUT, O_NEAREST, O_INDEX,
    O_HELP
};

static const cli_option score_options[] = {
    {"--ref", 1, O_REF},
    {"--test", 1, O_TEST},
    {"--ref-domains", 1, O_REF_DOMAINS},
    {"--ref-sections", 1, O_REF_SECTIONS},
    {"--test-sections", 1, O_TEST_SECTIONS},
    {"--distance", 1, O_DISTANCE},
    {"--density", 1, O_DENSITY},
    {"--k", 1, O_K},
    {"--r", 1, O_R},
    {"--norm", 1, O_NORM},
    {"--method", 1, O_METHOD},
    {"--standardize", 0, O_STANDARDIZE},
    {"--source-kmeans", 1, O_KMEANS},
    {"--smote", 1, O_SMOTE},
    {"--seed", 1, O_SEED},
    {"--out", 1, O_OUT},
    {"--nearest", 1, O_NEAREST},
    {"--index", 1, O_INDEX},
    {"--help", 0, O_HELP},
    {"-h", 0, O_HELP},
    {NULL, 0, 0},
};

typedef enum method { METHOD_DENSITY, METHOD_LOF, METHOD_STANDARDIZE } method;

typedef struct score_args {
    const char *ref, *test, *ref_domains, *ref_sections, *test_sections, *out, *nearest, *index;
    build_options build;
    asdnorm_norm norm;
    method meth;
    size_t k;
    int k_given, r_given, distance_given, density_given, norm_given;
} score_args;

static int parse_score_args(int argc, char **argv, score_args *a)
{
    memset(a, 0, sizeof *a);
    a->build.distance = ASDNORM_DISTANCE_COSINE;
    a->build.density = ASDNORM_DENSITY_KNN;
    a->build.param = 1;
    a->norm = ASDNORM_NORM_RATIO;
    a->meth = METHOD_DENSITY;
    a->out = "-";
    double r = 0.9;
    cli_args it = {argc, argv, 0, 0, "score"};
    const char *v;
    int id;
    while ((id = cli_next(&it, score_options, &v)) != CLI_END) {
        switch (id) {
        case CLI_BAD: return EXIT_USAGE;
        case CLI_POSITIONAL: return cli_usage("score", "unexpected argument '%s'", v);
        case O_HELP: fputs(score_help, stdout); return -1;
        case O_REF: a->ref = v; break;
        case O_TEST: a->test = v; break;
        case O_REF_DOMAINS: a->ref_domains = v; break;
        case O_REF_SECTIONS: a->ref_sections = v; break;
        case O_TEST_SECTIONS: a->test_sections = v; break;
        case O_OUT: a->out = v; break;
        case O_NEAREST: a->nearest = v; break;
        case O_INDEX: a->index = v; break;
        case O_DISTANCE:
            if (parse_distance(v, &a->build.distance) != 0)
                return cli_usage("score", "--distance: '%s' is not cosine, euclidean or mse", v);
            a->distance_given = 1;
            break;
        case O_DENSITY:
            if (parse_density(v, &a->build.density) != 0)
                return cli_usage("score", "--density: '%s' is not none, knn or gwrp", v);
            a->density_given = 1;
            break;
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
        case O_STANDARDIZE: a->meth = METHOD_STANDARDIZE; break;
        case O_K:
            if (parse_size_arg("score", "--k", v, 1, &a->k) != 0)
                return EXIT_USAGE;
            a->k_given = 1;
            break;
        case O_R:
            if (parse_double_arg("score", "--r", v, &r) != 0)
                return EXIT_USAGE;
            if (!(r >= 0 && r <= 1))
                return cli_usage("score", "--r: %s is outside [0, 1]", v);
            a->r_given = 1;
            break;
        case O_KMEANS:
            if (parse_size_arg("score", "--source-kmeans", v, 1, &a->build.source_kmeans) != 0)
                return EXIT_USAGE;
            break;
        case O_SMOTE:
            if (parse_size_arg("score", "--smote", v, 1, &a->build.smote_k) != 0)
                return EXIT_USAGE;
            break;
        case O_SEED:
            if (parse_u64_arg("score", "--seed", v, &a->build.seed) != 0)
                return EXIT_USAGE;
            break;
        default: break;
        }
    }

    /* Combinations that cannot mean what the user wants are usage errors, not
     * silently ignored options. */
    if (!a->test)
        return cli_usage("score", "--test FILE is required");
    if (!a->ref == !a->index)
        return cli_usage("score", "give either --ref FILE or --index FILE");
    if (a->index && (a->distance_given || a->density_given || a->r_given || a->ref_domains ||
                     a->ref_sections))
        return cli_usage("score", "--index stores its distance, density and domains: "
                                    "--distance, --density, --r, --ref-domains and --ref-sections "
                                    "do not apply");
    /* Standard input can be read once. */
    const char *inputs[] = {a->ref, a->test, a->ref_domains, a->ref_sections, a->test_sections};
    const char *first_stdin = NULL;
    static const char *const input_opts[] = {"--ref", "--test", "--ref-domains", "--ref-sections",
                                             "--test-sections"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        if (!inputs[i] || strcmp(inputs[i], "-") != 0)
            continue;
        if (first_stdin)
            return cli_usage("score", "%s - and %s - both read standard input, which can be read "
                                      "once: give one of them as a file",
                             first_stdin, input_opts[i]);
        first_stdin = input_opts[i];
    }
    if (a->nearest && same_output(a->out, a->nearest))
        return cli_usage("score", "--out and --nearest name the same file");
    if (a->ref && !a->ref_sections != !a->test_sections)
        return cli_usage("score", "--ref-sections and --test-sections go together");
    if (a->build.source_kmeans && a->build.smote_k)
        return cli_usage("score", "--source-kmeans and --smote are alternative baselines");
    if (a->meth == METHOD_LOF) {
        if (a->density_given || a->r_given || a->norm_given)
            return cli_usage("score", "--method lof has no --density, --r or --norm "
                                        "(LOF uses --k neighbours and the distance)");
        if (a->nearest)
            return cli_usage("score", "--nearest is available with --method density only");
        if (!a->k_given)
            a->k = 16;
        /* LOF needs no density constants: finalize cheaply. */
        a->build.density = ASDNORM_DENSITY_NONE;
        a->build.param = 0;
    } else {
        if (a->meth == METHOD_STANDARDIZE && a->nearest)
            return cli_usage("score", "--nearest is available with --method density only");
        if (a->k_given && (a->index || a->build.density != ASDNORM_DENSITY_KNN))
            return cli_usage("score", "--k applies to --density knn (when building) and to "
                                        "--method lof");
        if (a->r_given && a->build.density != ASDNORM_DENSITY_GWRP)
            return cli_usage("score", "--r applies to --density gwrp");
        if (a->build.density == ASDNORM_DENSITY_KNN)
            a->build.param = a->k_given ? (double)a->k : 1.0;
        else if (a->build.density == ASDNORM_DENSITY_GWRP)
            a->build.param = r;
        else
            a->build.param = 0;
    }
    return EXIT_OK;
}

/* Domain and section label files, checked against the matrix they describe. */
static int load_labels(const char *path, size_t expect, const char *of, int64_t **out,
                       row_origin *origin)
{
    size_t n;
    if (load_vector_int(path, out, &n, origin) != 0)
        return -1;
    if (n != expect) {
        cli_error("%s: %zu values, but %s has %zu rows (one value per row is needed)", path, n, of,
              expect);
        free(*out);
        *out = NULL;
        row_origin_free(origin);
        return -1;
    }
    return 0;
}

static int check_domains(const int64_t *d, size_t n, const row_origin *o, uint8_t **out)
{
    uint8_t *u = malloc(n ? n : 1);
    if (u == NULL)
        return cli_fail("out of memory");
    for (size_t i = 0; i < n; i++) {
        if (d[i] < 0 || d[i] > 2) {
            char where[96];
            describe_row(o, i, where, sizeof where);
            free(u);
            return cli_fail("%s: %s: domain %lld is not 0 (unknown), 1 (source) or 2 (target)",
                         o->path, where, (long long)d[i]);
        }
        u[i] = (uint8_t)d[i];
    }
    *out = u;
    return 0;
}

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
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
        st = asdnorm_scorer_new(ix, a->norm, &sc);
        if (st == ASDNORM_OK)
            st = asdnorm_scorer_score(sc, x, n, scores, nearest);
        asdnorm_scorer_free(sc);
    } else if (a->meth == METHOD_LOF) {
        asdnorm_lof *lof = NULL;
        st = asdnorm_lof_new(ix, a->k, &lof);
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
        return cli_fail("%s: the test embeddings have another dimension than the index (%zu)", where,
                     asdnorm_index_dim(ix));
    if (st != ASDNORM_OK)
        return cli_fail("%s: scoring failed: %s", where, asdnorm_strerror(st));
    return 0;
}

int cmd_score(int argc, char **argv)
{
    score_args a;
    int rc = parse_score_args(argc, argv, &a);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;

    int status = EXIT_ERROR;
    float *ref = NULL, *test = NULL, *scores = NULL;
    int64_t *ref_dom = NULL, *ref_sec = NULL, *test_sec = NULL, *nearest_out = NULL;
    uint8_t *dom8 = NULL;
    size_t n_ref = 0, n_test = 0, dim = 0, dim_test = 0;
    row_origin o_ref = {0}, o_test = {0}, o_dom = {0}, o_rsec = {0}, o_tsec = {0};
    section_group *rg = NULL, *tg = NULL;
    size_t n_rg = 0, n_tg = 0;
    size_t *near_pos = NULL;
    int sectioned = a.test_sections != NULL;
    int index_dir = a.index && is_directory(a.index);

    struct stat sb;
    if (a.index && stat(a.index, &sb) != 0) {
        cli_error("%s: cannot open: %s", a.index, strerror(errno));
        goto done;
    }
    if (a.index && index_dir && !a.test_sections) {
        status = cli_usage("score", "--index %s is a directory of per-section indexes: give "
                                      "--test-sections",
                             a.index);
        goto done;
    }
    if (a.index && !index_dir && a.test_sections) {
        status = cli_usage("score", "--index %s is a single index: --test-sections needs a "
                                      "directory built with --ref-sections",
                             a.index);
        goto done;
    }

    if (load_matrix(a.test, &test, &n_test, &dim_test, &o_test) != 0)
        goto done;
    if (a.ref) {
        if (load_matrix(a.ref, &ref, &n_ref, &dim, &o_ref) != 0)
            goto done;
        if (dim != dim_test) {
            cli_error("%s has %zu columns but %s has %zu: references and tests need the same "
                  "embedding dimension",
                  a.ref, dim, a.test, dim_test);
            goto done;
        }
        if (check_matrix_rows(ref, n_ref, dim, a.build.distance, &o_ref) != 0)
            goto done;
        if (a.ref_domains) {
            if (load_labels(a.ref_domains, n_ref, a.ref, &ref_dom, &o_dom) != 0 ||
                check_domains(ref_dom, n_ref, &o_dom, &dom8) != 0)
                goto done;
        }
        if (a.ref_sections && load_labels(a.ref_sections, n_ref, a.ref, &ref_sec, &o_rsec) != 0)
            goto done;
        if (check_matrix_rows(test, n_test, dim, a.build.distance, &o_test) != 0)
            goto done;
    }
    if (a.test_sections &&
        load_labels(a.test_sections, n_test, a.test, &test_sec, &o_tsec) != 0)
        goto done;
    if (group_sections(test_sec, n_test, &tg, &n_tg) != 0)
        goto done;
    if (a.ref && group_sections(ref_sec, n_ref, &rg, &n_rg) != 0)
        goto done;
    if (a.ref && sectioned) {
        for (size_t s = 0; s < n_tg; s++) {
            if (!find_group(rg, n_rg, tg[s].id)) {
                char where[96];
                describe_row(&o_tsec, tg[s].rows[0], where, sizeof where);
                cli_error("%s: %s: section %lld has no references in %s", a.test_sections, where,
                      (long long)tg[s].id, a.ref_sections);
                goto done;
            }
        }
    }

    /* Refuse an output that would replace an input before the work, not after. */
    if (check_output(a.out) != 0 || (a.nearest && check_output(a.nearest) != 0))
        goto done;

    /* Zeroed: every row is written below, but an analyzer cannot see that. */
    scores = calloc(n_test, sizeof *scores);
    near_pos = calloc(n_test, sizeof *near_pos);
    nearest_out = calloc(n_test, sizeof *nearest_out);
    if (!scores || !near_pos || !nearest_out) {
        cli_error("out of memory for %zu scores", n_test);
        goto done;
    }

    for (size_t s = 0; s < n_tg; s++) {
        const section_group *t = &tg[s];
        char where[64];
        section_name(sectioned, t->id, where, sizeof where);
        asdnorm_index *ix = NULL;
        int64_t *map = NULL;
        if (a.ref) {
            const section_group *r = find_group(rg, n_rg, t->id);
            const float *xr = ref;
            float *owned = NULL;
            uint8_t *dsub = NULL;
            if (sectioned) {
                owned = gather_rows(ref, dim, r->rows, r->n);
                dsub = dom8 ? malloc(r->n) : NULL;
                if (!owned || (dom8 && !dsub)) {
                    free(owned);
                    free(dsub);
                    cli_error("out of memory");
                    goto done;
                }
                for (size_t i = 0; dsub && i < r->n; i++)
                    dsub[i] = dom8[r->rows[i]];
                xr = owned;
            }
            int br = build_section_index(xr, r->n, dim, sectioned ? dsub : dom8, r->rows, &a.build,
                                         where, &ix, &map);
            free(owned);
            free(dsub);
            if (br != 0)
                goto done;
        } else {
            if (load_index(a.index, sectioned, t->id, &ix) != 0)
                goto done;
            if (asdnorm_index_dim(ix) != dim_test) {
                cli_error("%s has %zu columns but the index %s has dimension %zu", a.test, dim_test,
                      a.index, asdnorm_index_dim(ix));
                asdnorm_index_free(ix);
                goto done;
            }
            if (check_matrix_rows(test, n_test, dim_test, asdnorm_index_distance(ix), &o_test) != 0 ||
                transform_loaded_index(&ix, &a.build, where, &map) != 0) {
                asdnorm_index_free(ix);
                goto done;
            }
        }
        const float *xt = test;
        float *owned_t = NULL, *sc = scores;
        size_t *np = near_pos;
        if (sectioned) {
            owned_t = gather_rows(test, dim_test, t->rows, t->n);
            sc = calloc(t->n, sizeof *sc);
            np = calloc(t->n, sizeof *np);
            if (!owned_t || !sc || !np) {
                free(owned_t);
                free(sc);
                free(np);
                asdnorm_index_free(ix);
                free(map);
                cli_error("out of memory");
                goto done;
            }
            xt = owned_t;
        }
        int sr = score_section(&a, ix, where, xt, t->n, sc, a.nearest ? np : NULL);
        if (sr == 0) {
            for (size_t i = 0; i < t->n; i++) {
                size_t row = sectioned ? t->rows[i] : i;
                scores[row] = sc[i];
                nearest_out[row] = a.nearest ? map[np[i]] : -1;
            }
        }
        if (sectioned) {
            free(owned_t);
            free(sc);
            free(np);
        }
        asdnorm_index_free(ix);
        free(map);
        if (sr != 0)
            goto done;
    }

    for (size_t i = 0; i < n_test; i++) {
        if (!isfinite(scores[i])) {
            char where[96];
            describe_row(&o_test, i, where, sizeof where);
            cli_warning("%s: %s: the score is not finite (%g)", a.test, where, (double)scores[i]);
            break;
        }
    }
    if (write_vector_float(a.out, "score", scores, n_test) != 0)
        goto done;
    if (a.nearest && write_vector_int(a.nearest, "nearest", nearest_out, n_test) != 0)
        goto done;
    status = EXIT_OK;
done:
    free(ref);
    free(test);
    free(scores);
    free(ref_dom);
    free(ref_sec);
    free(test_sec);
    free(nearest_out);
    free(near_pos);
    free(dom8);
    row_origin_free(&o_ref);
    row_origin_free(&o_test);
    row_origin_free(&o_dom);
    row_origin_free(&o_rsec);
    row_origin_free(&o_tsec);
    free_groups(rg, n_rg);
    free_groups(tg, n_tg);
    return status;
}
