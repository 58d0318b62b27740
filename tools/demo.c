/* SPDX-License-Identifier: MIT */
/* asdnorm demo: the paper's effect on a synthetic, seeded domain-shift data set.
 *
 * The generator imitates what an embedding model does to machine sounds (the
 * paper's section 3): the source domain, which the model was trained on, forms
 * a few compact clusters with many references; a target domain (a new machine
 * setting) lands in wider clusters beside them with only a handful of
 * references. Anomalies are displaced away from their domain's cluster by a
 * similar relative amount in both domains. Within a domain, plain
 * nearest-neighbour distances separate normal from anomalous well; across
 * domains they do not, because target normals are farther from their few
 * references than source anomalies are from theirs. Dividing by each
 * reference's local density restores one scale. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "npy.h"

enum {
    DIM = 64,
    SRC_CLUSTERS = 3,
    SRC_REFS_PER_CLUSTER = 200,
    TGT_CLUSTERS = 2,
    TGT_REFS_PER_CLUSTER = 5,
    TESTS_PER_GROUP = 150 /* normals and anomalies, per domain */
};

/* Spread of a cluster around its centre, relative to the centre's unit norm. */
static const double SRC_SPREAD = 0.35, TGT_SPREAD = 0.75;
/* How far an anomaly is pushed off its cluster, in units of the domain's spread. */
static const double ANOMALY_SHIFT = 1.1;
/* How far a target cluster's centre moves away from its source cluster's. */
static const double DOMAIN_SHIFT = 0.9;

/* A printf format: the numbers come from the constants above. */
static const char demo_help[] =
    "Usage: asdnorm demo [--seed N] [--save DIR]\n"
    "\n"
    "Build a synthetic domain-shift data set in memory (%d-dim embeddings on the\n"
    "unit sphere: %d references in %d dense source clusters, %d in %d sparse,\n"
    "shifted target clusters; %d normal and %d anomalous tests per domain) and\n"
    "print, for plain k-NN, the normalized scores and the baselines, the AUC\n"
    "within the source domain, within the target domain, over both (one\n"
    "threshold for all), pAUC and the DCASE 2023 official score.\n"
    "\n"
    "  --seed N    generator seed (default 1)\n"
    "  --save DIR  also write the data set as .npy files into DIR (refs.npy,\n"
    "              ref_domains.npy, test.npy, test_labels.npy, test_domains.npy)\n"
    "              to try 'asdnorm score' and 'asdnorm eval' on it\n"
    "  -h, --help  show this help\n";

/* splitmix64: small, seeded and the same on every platform. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1) with 53 random bits. */
static double uniform(uint64_t *s)
{
    return (double)(next_u64(s) >> 11) * 0x1.0p-53;
}

/* A standard normal value (Box-Muller). */
static double gauss(uint64_t *s)
{
    double u = uniform(s), v = uniform(s);
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* Scale v (DIM values) to unit length. */
static void normalize(double *v)
{
    double n = 0;
    for (int j = 0; j < DIM; j++)
        n += v[j] * v[j];
    n = sqrt(n);
    for (int j = 0; j < DIM; j++)
        v[j] /= n;
}

/* A direction drawn uniformly on the unit sphere. */
static void random_unit(uint64_t *s, double *v)
{
    for (int j = 0; j < DIM; j++)
        v[j] = gauss(s);
    normalize(v);
}

/* A sample of the cluster around unit centre c: c + spread · (isotropic noise
 * of unit expected norm) + shift · spread · (a random unit direction), on the sphere. */
static void sample(uint64_t *s, const double *c, double spread, double shift, float *out)
{
    double v[DIM], u[DIM];
    random_unit(s, u);
    for (int j = 0; j < DIM; j++)
        v[j] = c[j] + spread * gauss(s) / sqrt((double)DIM) + shift * spread * u[j];
    normalize(v);
    for (int j = 0; j < DIM; j++)
        out[j] = (float)v[j];
}

typedef struct dataset {
    float *ref;
    uint8_t *ref_dom;
    size_t n_ref;
    float *test;
    uint8_t *test_dom, *test_lab;
    size_t n_test;
} dataset;

static void dataset_free(dataset *d)
{
    free(d->ref);
    free(d->ref_dom);
    free(d->test);
    free(d->test_dom);
    free(d->test_lab);
}

/* The synthetic data set: clusters of references per domain and tests around them,
 * the anomalies pushed off their clusters. -1 when out of memory. */
static int make_dataset(uint64_t seed, dataset *d)
{
    memset(d, 0, sizeof *d);
    d->n_ref =
        (size_t)SRC_CLUSTERS * SRC_REFS_PER_CLUSTER + (size_t)TGT_CLUSTERS * TGT_REFS_PER_CLUSTER;
    d->n_test = (size_t)2 * 2 * TESTS_PER_GROUP;
    d->ref = malloc(d->n_ref * DIM * sizeof *d->ref);
    d->ref_dom = malloc(d->n_ref);
    d->test = malloc(d->n_test * DIM * sizeof *d->test);
    d->test_dom = malloc(d->n_test);
    d->test_lab = malloc(d->n_test);
    if (!d->ref || !d->ref_dom || !d->test || !d->test_dom || !d->test_lab) {
        dataset_free(d);
        return -1;
    }
    uint64_t s = seed;
    double src[SRC_CLUSTERS][DIM], tgt[TGT_CLUSTERS][DIM];
    for (int c = 0; c < SRC_CLUSTERS; c++)
        random_unit(&s, src[c]);
    /* Each target cluster is a source cluster's centre moved by DOMAIN_SHIFT. */
    for (int c = 0; c < TGT_CLUSTERS; c++) {
        double u[DIM];
        random_unit(&s, u);
        for (int j = 0; j < DIM; j++)
            tgt[c][j] = src[c % SRC_CLUSTERS][j] + DOMAIN_SHIFT * u[j];
        normalize(tgt[c]);
    }
    size_t r = 0;
    for (int c = 0; c < SRC_CLUSTERS; c++)
        for (int i = 0; i < SRC_REFS_PER_CLUSTER; i++, r++) {
            sample(&s, src[c], SRC_SPREAD, 0, d->ref + r * DIM);
            d->ref_dom[r] = ASDNORM_DOMAIN_SOURCE;
        }
    for (int c = 0; c < TGT_CLUSTERS; c++)
        for (int i = 0; i < TGT_REFS_PER_CLUSTER; i++, r++) {
            sample(&s, tgt[c], TGT_SPREAD, 0, d->ref + r * DIM);
            d->ref_dom[r] = ASDNORM_DOMAIN_TARGET;
        }
    size_t t = 0;
    for (int dom = 1; dom <= 2; dom++)
        for (int lab = 0; lab <= 1; lab++)
            for (int i = 0; i < TESTS_PER_GROUP; i++, t++) {
                int c = dom == 1 ? i % SRC_CLUSTERS : i % TGT_CLUSTERS;
                sample(&s, dom == 1 ? src[c] : tgt[c], dom == 1 ? SRC_SPREAD : TGT_SPREAD,
                       lab ? ANOMALY_SHIFT : 0, d->test + t * DIM);
                d->test_dom[t] = (uint8_t)dom;
                d->test_lab[t] = (uint8_t)lab;
            }
    return 0;
}

typedef enum demo_kind {
    K_SCORER, /* a scorer on one of the prepared indexes */
    K_LOF,
    K_KMEANS,
    K_SMOTE,
    K_STANDARDIZE
} demo_kind;

/* The finalized indexes the methods share, so that each is finalized once. */
enum { IX_PLAIN, IX_KNN1, IX_GWRP, IX_COUNT };

typedef struct demo_method {
    const char *name;
    demo_kind kind;
    int index; /* K_SCORER: which prepared index */
    asdnorm_norm norm;
    size_t k; /* LOF neighbours, k-means clusters, SMOTE neighbours */
} demo_method;

static const demo_method methods[] = {
    {"k-NN, no normalization", K_SCORER, IX_PLAIN, ASDNORM_NORM_NONE, 0},
    {"k-NN K=1, ratio (paper)", K_SCORER, IX_KNN1, ASDNORM_NORM_RATIO, 0},
    {"k-NN K=1, difference", K_SCORER, IX_KNN1, ASDNORM_NORM_DIFFERENCE, 0},
    {"GWRP r=0.9, ratio", K_SCORER, IX_GWRP, ASDNORM_NORM_RATIO, 0},
    {"LOF k=16", K_LOF, IX_PLAIN, ASDNORM_NORM_NONE, 16},
    {"source k-means, 16 means", K_KMEANS, IX_PLAIN, ASDNORM_NORM_NONE, 16},
    {"SMOTE target, k=4", K_SMOTE, IX_PLAIN, ASDNORM_NORM_NONE, 4},
    {"domain-wise standardization", K_STANDARDIZE, IX_PLAIN, ASDNORM_NORM_NONE, 0},
};

/* Score every test against ix with norm, as doubles for the metrics. */
static asdnorm_status score_with(const asdnorm_index *ix, asdnorm_norm norm, const dataset *d,
                                 float *scores)
{
    asdnorm_scorer *sc = NULL;
    asdnorm_status st = asdnorm_scorer_new(ix, norm, &sc);
    if (st == ASDNORM_OK)
        st = asdnorm_scorer_score(sc, d->test, d->n_test, scores, NULL);
    asdnorm_scorer_free(sc);
    return st;
}

/* One row of the table: method m's scores and their metrics. */
static asdnorm_status run_method(const demo_method *m, asdnorm_index *const *ixs, const dataset *d,
                                 float *scores)
{
    asdnorm_status st = ASDNORM_OK;
    asdnorm_index *ix = NULL;
    const asdnorm_index *plain = ixs[IX_PLAIN];
    switch (m->kind) {
    case K_SCORER: return score_with(ixs[m->index], m->norm, d, scores);
    case K_LOF: {
        asdnorm_lof *lof = NULL;
        st = asdnorm_lof_new(plain, m->k, &lof);
        if (st == ASDNORM_OK)
            st = asdnorm_lof_score(lof, d->test, d->n_test, scores);
        asdnorm_lof_free(lof);
        return st;
    }
    case K_STANDARDIZE:
        return asdnorm_standardized_scores(plain, m->norm, d->test, d->n_test, scores);
    case K_KMEANS: st = asdnorm_source_means(plain, m->k, 10, 0, &ix); break;
    case K_SMOTE: st = asdnorm_smote_index(plain, 0, m->k, 0, &ix); break;
    }
    /* The baselines that change the references score as plain nearest neighbours. */
    if (st == ASDNORM_OK)
        st = asdnorm_index_finalize(ix, ASDNORM_DENSITY_NONE, 0);
    if (st == ASDNORM_OK)
        st = score_with(ix, ASDNORM_NORM_NONE, d, scores);
    asdnorm_index_free(ix);
    return st;
}

/* AUC over the tests selected by domain (0: both). */
static asdnorm_status subset_auc(const dataset *d, const float *scores, int domain, double *auc)
{
    double s[2 * 2 * TESTS_PER_GROUP];
    uint8_t l[2 * 2 * TESTS_PER_GROUP];
    size_t n = 0;
    for (size_t i = 0; i < d->n_test; i++) {
        if (domain && d->test_dom[i] != domain)
            continue;
        s[n] = scores[i];
        l[n++] = d->test_lab[i];
    }
    return asdnorm_auc(l, s, n, auc);
}

/* Write the data set as .npy files into dir (created when missing). */
static int save_dataset(const dataset *d, const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return cli_error("%s: cannot create the directory: %s", dir, strerror(errno));
    int64_t *tmp = malloc((d->n_ref > d->n_test ? d->n_ref : d->n_test) * sizeof *tmp);
    if (!tmp)
        return cli_error("out of memory");
    struct {
        const char *name;
        int is_int;
        const void *data;
        const uint8_t *u8;
        size_t rows, cols;
    } files[] = {
        {"refs.npy", 0, d->ref, NULL, d->n_ref, DIM},
        {"ref_domains.npy", 1, NULL, d->ref_dom, d->n_ref, 1},
        {"test.npy", 0, d->test, NULL, d->n_test, DIM},
        {"test_labels.npy", 1, NULL, d->test_lab, d->n_test, 1},
        {"test_domains.npy", 1, NULL, d->test_dom, d->n_test, 1},
    };
    int rc = EXIT_OK;
    for (size_t f = 0; f < sizeof files / sizeof files[0] && rc == EXIT_OK; f++) {
        const void *data = files[f].data;
        if (files[f].is_int) {
            for (size_t i = 0; i < files[f].rows; i++)
                tmp[i] = files[f].u8[i];
            data = tmp;
        }
        unsigned char *buf;
        size_t len;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, files[f].name);
        if (npy_serialize(files[f].is_int ? NPY_OUT_I8 : NPY_OUT_F4, data, files[f].is_int ? 1 : 2,
                          files[f].rows, files[f].cols, &buf, &len) != 0) {
            rc = cli_error("out of memory");
            break;
        }
        if (write_whole_file(path, buf, len) != 0)
            rc = EXIT_ERROR;
        free(buf);
    }
    free(tmp);
    return rc;
}

/* Options: EXIT_OK, or the status to exit with (-1: help printed). */
static int parse_demo_args(int argc, char **argv, uint64_t *seed, const char **save)
{
    enum { O_SEED = 1, O_SAVE };
    static const struct option opts[] = {
        {"seed", required_argument, NULL, O_SEED},
        {"save", required_argument, NULL, O_SAVE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_options_begin();
    int id;
    while ((id = cli_next("demo", argc, argv, opts)) != CLI_END) {
        switch (id) {
        case CLI_BAD: return EXIT_USAGE;
        case 'h':
            printf(demo_help, DIM, SRC_CLUSTERS * SRC_REFS_PER_CLUSTER, SRC_CLUSTERS,
                   TGT_CLUSTERS * TGT_REFS_PER_CLUSTER, TGT_CLUSTERS, TESTS_PER_GROUP,
                   TESTS_PER_GROUP);
            return -1;
        case O_SEED:
            if (parse_u64_arg("demo", "--seed", optarg, seed) != 0)
                return EXIT_USAGE;
            break;
        case O_SAVE: *save = optarg; break;
        default: break;
        }
    }
    return cli_no_arguments("demo", argc, argv);
}

/* Build the data set, score it with each method, print the table; save it. */
static int run_demo(uint64_t seed, const char *save)
{
    dataset d;
    if (make_dataset(seed, &d) != 0)
        return cli_error("out of memory");
    int status = EXIT_ERROR;
    asdnorm_index *ixs[IX_COUNT] = {NULL, NULL, NULL};
    static const asdnorm_density ix_density[IX_COUNT] = {ASDNORM_DENSITY_NONE, ASDNORM_DENSITY_KNN,
                                                         ASDNORM_DENSITY_GWRP};
    static const double ix_param[IX_COUNT] = {0, 1, 0.9};
    float *scores = malloc(d.n_test * sizeof *scores);
    double *sd = malloc(d.n_test * sizeof *sd);
    int32_t *sections = calloc(d.n_test, sizeof *sections);
    asdnorm_status st = scores && sd && sections ? ASDNORM_OK : ASDNORM_E_NOMEM;
    for (int i = 0; i < IX_COUNT && st == ASDNORM_OK; i++) {
        st = asdnorm_index_new(DIM, ASDNORM_DISTANCE_COSINE, &ixs[i]);
        if (st == ASDNORM_OK)
            st = asdnorm_index_add(ixs[i], d.ref, d.n_ref, d.ref_dom);
        if (st == ASDNORM_OK)
            st = asdnorm_index_finalize(ixs[i], ix_density[i], ix_param[i]);
    }
    if (st != ASDNORM_OK) {
        cli_message("demo: %s", asdnorm_strerror(st));
        goto done;
    }

    printf(
        "asdnorm demo: synthetic domain shift, %d-dim embeddings on the unit sphere (seed %llu)\n",
        DIM, (unsigned long long)seed);
    printf("references: %d source (%d dense clusters), %d target (%d sparse, shifted clusters)\n",
           SRC_CLUSTERS * SRC_REFS_PER_CLUSTER, SRC_CLUSTERS, TGT_CLUSTERS * TGT_REFS_PER_CLUSTER,
           TGT_CLUSTERS);
    printf("tests: %d normal and %d anomalous per domain; cosine distance\n\n", TESTS_PER_GROUP,
           TESTS_PER_GROUP);
    printf("%-30s %10s %10s %10s %8s %9s\n", "method", "AUC source", "AUC target", "AUC mixed",
           "pAUC", "official");
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        st = run_method(&methods[m], ixs, &d, scores);
        double auc_s = 0, auc_t = 0, auc_m = 0, official = 0, vals[3];
        int32_t sid;
        size_t nsec;
        if (st == ASDNORM_OK)
            st = subset_auc(&d, scores, 1, &auc_s);
        if (st == ASDNORM_OK)
            st = subset_auc(&d, scores, 2, &auc_t);
        if (st == ASDNORM_OK)
            st = subset_auc(&d, scores, 0, &auc_m);
        for (size_t i = 0; st == ASDNORM_OK && i < d.n_test; i++)
            sd[i] = scores[i];
        if (st == ASDNORM_OK)
            st = asdnorm_dcase2023(sd, d.test_lab, d.test_dom, sections, d.n_test, 0.1, 1, &sid,
                                   vals, &nsec, &official);
        if (st != ASDNORM_OK) {
            cli_message("demo: %s: %s", methods[m].name, asdnorm_strerror(st));
            goto done;
        }
        printf("%-30s %10.3f %10.3f %10.3f %8.3f %9.3f\n", methods[m].name, auc_s, auc_t, auc_m,
               vals[2], official);
    }
    printf("\nAUC source, AUC target: each domain's normals against its own anomalies.\n"
           "AUC mixed: all normals against all anomalies - one threshold for both domains.\n"
           "pAUC (FPR <= 0.1) and official (DCASE 2023: harmonic mean of AUC source and AUC\n"
           "target, each over all anomalies, and pAUC) as the challenge computes them.\n");
    if (save) {
        if (save_dataset(&d, save) != EXIT_OK)
            goto done;
        printf("\ndata set written to %s/ (refs.npy, ref_domains.npy, test.npy, "
               "test_labels.npy, test_domains.npy)\n",
               save);
    }
    status = EXIT_OK;
done:
    for (int i = 0; i < IX_COUNT; i++)
        asdnorm_index_free(ixs[i]);
    free(scores);
    free(sd);
    free(sections);
    dataset_free(&d);
    return status;
}

int cmd_demo(int argc, char **argv)
{
    uint64_t seed = 1;
    const char *save = NULL;
    int rc = parse_demo_args(argc, argv, &seed, &save);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    return run_demo(seed, save);
}
