/* SPDX-License-Identifier: MIT */
/* Every entry point, every invalid argument. Each row of the table calls one
 * public function with one invalid argument and checks
 *   - the exact status the header documents,
 *   - that nothing changed: every index of the fixture (size, dim, distance,
 *     finalized flag, estimator, density constants, domain labels, vectors),
 *     the scores of its scorers and LOF models, and the files of its directory,
 *   - that out-parameters are untouched, except that constructors set *out
 *     to NULL (and the few outputs the header says are set on that status).
 * A fresh fixture is built for every row. The functions declared in the
 * public header are read from it at run time and each must be exercised. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, strdup under -std=c11 */

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testfiles.h"
#include "testutil.h"

#define DIM 4
#define NX 6 /* rows of the test batches */
#define NREF 8

#define COS ASDNORM_DISTANCE_COSINE
#define EUC ASDNORM_DISTANCE_EUCLIDEAN
#define MSE ASDNORM_DISTANCE_MSE

/* Sizes that make n × dim (× sizeof(float)) overflow size_t with DIM = 4. */
#define N_OVF (SIZE_MAX / 2)       /* n · dim overflows */
#define N_OVF_BYTES (SIZE_MAX / 8) /* n · dim fits, n · dim · 4 bytes does not */

/* Positions for asdnorm_index_remove: all, one out of range, one repeated. */
static const size_t RM_ALL[NREF + 1] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
static const size_t RM_OUT[2] = {1, NREF};
static const size_t RM_TWICE[3] = {3, 1, 3};

/* ------------------------------------------------------------------------ */
/* The fixture: handles in every state, batches with one defect each. */

typedef struct {
    asdnorm_index *cos;    /* cosine, NREF refs, finalized KNN K = 2 */
    asdnorm_index *euc;    /* euclidean, NREF refs, finalized GWRP r = 0.5 */
    asdnorm_index *mse;    /* mse, NREF refs, finalized NONE */
    asdnorm_index *open;   /* cosine, NREF refs, never finalized */
    asdnorm_index *empty;  /* cosine, no refs */
    asdnorm_index *one;    /* euclidean, 1 ref, not finalized */
    asdnorm_index *nosrc;  /* cosine, 4 target refs, finalized NONE */
    asdnorm_index *onetgt; /* cosine, 5 source + 1 target, finalized KNN K = 2 */
    asdnorm_index *all[8];
    asdnorm_scorer *sc_cos, *sc_euc, *sc_mse, *sc_open;
    asdnorm_lof *lof_cos, *lof_euc;

    float x[NX * DIM];       /* valid */
    float x_nan[NX * DIM];   /* row 2 NaN */
    float x_inf[NX * DIM];   /* row 3 +Inf */
    float x_ninf[NX * DIM];  /* row 0 −Inf */
    float x_zero[NX * DIM];  /* row 1 zero */
    float x_big[NX * DIM];   /* row 4 with a squared norm of 1e38 */
    float x_same[NX * DIM];  /* all rows equal */
    uint8_t doms_bad3[NX];   /* last label 3 */
    uint8_t doms_bad255[NX]; /* first label 255 */

    /* metrics: 12 samples, sections 0 and 1, each 2 source normals,
     * 2 target normals, 2 anomalies */
    double ms[12];
    double ms_nan[12], ms_inf[12];
    uint8_t ml[12], ml_bad[12], ml_all0[12], ml_all1[12], ml_sec1_noanom[12],
        ml_sec1_allanom[12];
    uint8_t md[12], md_bad0[12], md_bad3[12], md_sec1_notgt[12];
    int32_t msec[12];
    double hv[5], hv_nan[5], hv_inf[5], hv_neg[5];
    /* density constants for asdnorm_index_set_density: valid, and one defect each */
    double dn[NREF], dn_nan[NREF], dn_inf[NREF], dn_neg[NREF], dn_big[NREF];

    char dir[PATH_MAX];
    char path_ok[PATH_MAX + 32];      /* a saved index */
    char path_empty[PATH_MAX + 32];   /* an empty file */
    char path_garbage[PATH_MAX + 32]; /* 300 bytes of garbage */
    char path_missing[PATH_MAX + 32]; /* does not exist */
    char path_new[PATH_MAX + 32];     /* does not exist; a save target */
    char path_nodir[PATH_MAX + 32];   /* in a directory that does not exist */
    char subdir[PATH_MAX + 32];       /* a directory inside dir: saving over it fails */
    unsigned char ser[2048];
    size_t ser_len;
    unsigned char garbage[300];
} fixture;

/* Out-parameters, all prefilled with 0xA5 bytes. */
typedef struct {
    asdnorm_index *ix;
    asdnorm_scorer *sc;
    asdnorm_lof *lof;
    asdnorm_density density;
    double param;
    double dbl[16];
    uint8_t u8[16];
    float f[64];
    size_t z[16];
    size_t needed;
    size_t bad_row;
    int32_t ids[4];
    double values[12];
    size_t n_sections;
    double official;
    unsigned char buf[2048];
} outs;

static void fill_rows(float *x, uint64_t *s)
{
    for (size_t i = 0; i < NX * DIM; i++)
        x[i] = (float)(0.5 + tu_normal(s));
}

static asdnorm_index *mk(asdnorm_distance d, const float *x, size_t n, const uint8_t *doms,
                         int est, double param)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, d, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, x, n, doms), ASDNORM_OK);
    if (est >= 0)
        assert_int_equal(asdnorm_index_finalize(ix, (asdnorm_density)est, param), ASDNORM_OK);
    return ix;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void fixture_new(fixture *f)
{
    memset(f, 0, sizeof *f);
    uint64_t s = 0xab1e5eedull;
    float refs[NREF * DIM];
    uint8_t doms[NREF] = {1, 1, 2, 1, 2, 1, 2, 1};
    for (size_t i = 0; i < NREF * DIM; i++)
        refs[i] = (float)(0.3 + tu_normal(&s));
    uint8_t tgt[4] = {2, 2, 2, 2}, st[6] = {1, 1, 1, 1, 1, 2};

    f->cos = mk(COS, refs, NREF, doms, ASDNORM_DENSITY_KNN, 2);
    f->euc = mk(EUC, refs, NREF, doms, ASDNORM_DENSITY_GWRP, 0.5);
    f->mse = mk(MSE, refs, NREF, doms, ASDNORM_DENSITY_NONE, 0);
    f->open = mk(COS, refs, NREF, doms, -1, 0);
    f->empty = mk(COS, NULL, 0, NULL, -1, 0);
    f->one = mk(EUC, refs, 1, NULL, -1, 0);
    f->nosrc = mk(COS, refs, 4, tgt, ASDNORM_DENSITY_NONE, 0);
    f->onetgt = mk(COS, refs, 6, st, ASDNORM_DENSITY_KNN, 2);
    asdnorm_index *all[8] = {f->cos, f->euc, f->mse, f->open, f->empty, f->one, f->nosrc,
                             f->onetgt};
    memcpy(f->all, all, sizeof all);

    assert_int_equal(asdnorm_scorer_new(f->cos, ASDNORM_NORM_RATIO, &f->sc_cos), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(f->euc, ASDNORM_NORM_DIFFERENCE, &f->sc_euc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(f->mse, ASDNORM_NORM_NONE, &f->sc_mse), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(f->open, ASDNORM_NORM_RATIO, &f->sc_open), ASDNORM_OK);
    assert_int_equal(asdnorm_lof_new(f->cos, 3, &f->lof_cos), ASDNORM_OK);
    assert_int_equal(asdnorm_lof_new(f->euc, 3, &f->lof_euc), ASDNORM_OK);

    fill_rows(f->x, &s);
    memcpy(f->x_nan, f->x, sizeof f->x);
    f->x_nan[2 * DIM + 1] = NAN;
    memcpy(f->x_inf, f->x, sizeof f->x);
    f->x_inf[3 * DIM + 3] = INFINITY;
    memcpy(f->x_ninf, f->x, sizeof f->x);
    f->x_ninf[0] = -INFINITY;
    memcpy(f->x_zero, f->x, sizeof f->x);
    memset(f->x_zero + 1 * DIM, 0, DIM * sizeof(float));
    memcpy(f->x_big, f->x, sizeof f->x);
    f->x_big[4 * DIM + 2] = 1e19f;
    for (size_t i = 0; i < NX; i++)
        memcpy(f->x_same + i * DIM, f->x, DIM * sizeof(float));
    for (size_t i = 0; i < NX; i++)
        f->doms_bad3[i] = f->doms_bad255[i] = (uint8_t)(i % 3);
    f->doms_bad3[NX - 1] = 3;
    f->doms_bad255[0] = 255;

    for (int i = 0; i < 12; i++) {
        int j = i % 6; /* 0, 1 source normal; 2, 3 target normal; 4, 5 anomaly */
        f->msec[i] = i / 6;
        f->ml[i] = (uint8_t)(j >= 4);
        f->md[i] = (uint8_t)(j < 2 ? 1 : j < 4 ? 2 : 1);
        f->ms[i] = 0.1 * (i % 5) + 0.5 * f->ml[i] + 0.01 * i;
        f->ml_all0[i] = 0;
        f->ml_all1[i] = 1;
    }
    memcpy(f->ms_nan, f->ms, sizeof f->ms);
    f->ms_nan[7] = NAN;
    memcpy(f->ms_inf, f->ms, sizeof f->ms);
    f->ms_inf[1] = -INFINITY;
    memcpy(f->ml_bad, f->ml, sizeof f->ml);
    f->ml_bad[3] = 2;
    memcpy(f->ml_sec1_noanom, f->ml, sizeof f->ml);
    f->ml_sec1_noanom[10] = f->ml_sec1_noanom[11] = 0; /* their domain is 1 */
    memcpy(f->ml_sec1_allanom, f->ml, sizeof f->ml);
    for (int i = 6; i < 12; i++)
        f->ml_sec1_allanom[i] = 1;
    memcpy(f->md_bad0, f->md, sizeof f->md);
    f->md_bad0[2] = 0;
    memcpy(f->md_bad3, f->md, sizeof f->md);
    f->md_bad3[8] = 3;
    memcpy(f->md_sec1_notgt, f->md, sizeof f->md);
    f->md_sec1_notgt[8] = f->md_sec1_notgt[9] = 1;
    for (int i = 0; i < 5; i++)
        f->hv[i] = f->hv_nan[i] = f->hv_inf[i] = f->hv_neg[i] = 0.5 + 0.1 * i;
    f->hv_nan[1] = NAN;
    f->hv_inf[4] = INFINITY;
    f->hv_neg[3] = -0.25;
    for (int i = 0; i < NREF; i++)
        f->dn[i] = f->dn_nan[i] = f->dn_inf[i] = f->dn_neg[i] = f->dn_big[i] = 0.25 + 0.125 * i;
    f->dn_nan[5] = NAN;
    f->dn_inf[0] = INFINITY;
    f->dn_neg[7] = -1e-300;
    f->dn_big[3] = 1e39;

    tf_make_tmpdir(f->dir, sizeof f->dir, "api");
    snprintf(f->path_ok, sizeof f->path_ok, "%s/ok.asdn", f->dir);
    snprintf(f->path_empty, sizeof f->path_empty, "%s/empty.asdn", f->dir);
    snprintf(f->path_garbage, sizeof f->path_garbage, "%s/garbage.asdn", f->dir);
    snprintf(f->path_missing, sizeof f->path_missing, "%s/missing.asdn", f->dir);
    snprintf(f->path_new, sizeof f->path_new, "%s/new.asdn", f->dir);
    snprintf(f->path_nodir, sizeof f->path_nodir, "%s/no/such/dir.asdn", f->dir);
    snprintf(f->subdir, sizeof f->subdir, "%s/subdir", f->dir);
    assert_int_equal(mkdir(f->subdir, 0700), 0);
    write_file(f->path_empty, "", 0);
    for (size_t i = 0; i < sizeof f->garbage; i++)
        f->garbage[i] = (unsigned char)(tu_next(&s) >> 56);
    write_file(f->path_garbage, f->garbage, sizeof f->garbage);
    size_t needed = 0;
    assert_int_equal(asdnorm_index_serialize(f->cos, NULL, 0, &needed), ASDNORM_E_BUFFER);
    assert_true(needed > 0 && needed <= sizeof f->ser && needed <= sizeof(((outs *)0)->buf));
    assert_int_equal(asdnorm_index_serialize(f->cos, f->ser, needed, &f->ser_len), ASDNORM_OK);
    assert_int_equal(f->ser_len, needed);
    /* The bytes asdnorm_index_save() writes (test_oom checks that they are the
     * serialized ones); written here without its fsync, 250 times per run. */
    write_file(f->path_ok, f->ser, f->ser_len);
}

static void fixture_free(fixture *f)
{
    asdnorm_scorer_free(f->sc_cos);
    asdnorm_scorer_free(f->sc_euc);
    asdnorm_scorer_free(f->sc_mse);
    asdnorm_scorer_free(f->sc_open);
    asdnorm_lof_free(f->lof_cos);
    asdnorm_lof_free(f->lof_euc);
    for (int i = 0; i < 8; i++)
        asdnorm_index_free(f->all[i]);
    assert_int_equal(access(f->dir, F_OK), 0);
    tf_remove_tree(f->dir);
}

/* ------------------------------------------------------------------------ */
/* Everything observable, before and after a call. */

typedef struct {
    size_t size, dim;
    asdnorm_distance distance;
    int finalized;
    asdnorm_density est;
    double param;
    double density[NREF];
    uint8_t domains[NREF];
    float vectors[NREF * DIM];
} ix_state;

typedef struct {
    ix_state ix[8];
    float sc_cos[NX], sc_euc[NX], sc_mse[NX], lof_cos[NX], lof_euc[NX];
    size_t nn_cos[NX];
    asdnorm_status open_status;
    char files[512]; /* "name:size;" of the directory, sorted by readdir order */
    unsigned char saved[2048];
    size_t saved_len;
} world_state;

static void take_ix(const asdnorm_index *ix, ix_state *s)
{
    memset(s, 0, sizeof *s);
    s->size = asdnorm_index_size(ix);
    s->dim = asdnorm_index_dim(ix);
    s->distance = asdnorm_index_distance(ix);
    s->finalized = asdnorm_index_is_finalized(ix);
    assert_true(s->size <= NREF);
    assert_int_equal(asdnorm_index_get_domains(ix, s->domains, s->size), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_vectors(ix, 0, s->size, s->vectors), ASDNORM_OK);
    if (s->finalized) {
        assert_int_equal(asdnorm_index_get_estimator(ix, &s->est, &s->param), ASDNORM_OK);
        assert_int_equal(asdnorm_index_get_density(ix, s->density, s->size), ASDNORM_OK);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void take_world(const fixture *f, world_state *w)
{
    memset(w, 0, sizeof *w);
    for (int i = 0; i < 8; i++)
        take_ix(f->all[i], &w->ix[i]);
    assert_int_equal(asdnorm_scorer_score(f->sc_cos, f->x, NX, w->sc_cos, w->nn_cos), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(f->sc_euc, f->x, NX, w->sc_euc, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(f->sc_mse, f->x, NX, w->sc_mse, NULL), ASDNORM_OK);
    float tmp[NX];
    w->open_status = asdnorm_scorer_score(f->sc_open, f->x, NX, tmp, NULL);
    assert_int_equal(asdnorm_lof_score(f->lof_cos, f->x, NX, w->lof_cos), ASDNORM_OK);
    assert_int_equal(asdnorm_lof_score(f->lof_euc, f->x, NX, w->lof_euc), ASDNORM_OK);

    DIR *d = opendir(f->dir);
    assert_non_null(d);
    char *names[32];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 32)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    for (int i = 0; i < n; i++) {
        char p[PATH_MAX + 300], item[300];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", f->dir, names[i]);
        assert_int_equal(stat(p, &st), 0);
        snprintf(item, sizeof item, "%s:%lld;", names[i], (long long)st.st_size);
        strncat(w->files, item, sizeof w->files - strlen(w->files) - 1);
        free(names[i]);
    }
    FILE *fp = fopen(f->path_ok, "rb");
    assert_non_null(fp);
    w->saved_len = fread(w->saved, 1, sizeof w->saved, fp);
    fclose(fp);
}

/* A row that fails is reported and counted; the other rows still run. */
static size_t g_row_failures;

static void row_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("FAIL %s\n", msg);
    g_row_failures++;
}

static void assert_world_equal(const world_state *a, const world_state *b, const char *name)
{
    static const char *ix_names[8] = {"cos", "euc", "mse", "open", "empty", "one", "nosrc",
                                      "onetgt"};
    for (int i = 0; i < 8; i++) {
        const ix_state *p = &a->ix[i], *q = &b->ix[i];
        if (p->size != q->size || p->dim != q->dim || p->distance != q->distance ||
            p->finalized != q->finalized)
            row_error("%s: index %s changed: size %zu→%zu, dim %zu→%zu, distance %d→%d, "
                     "finalized %d→%d",
                     name, ix_names[i], p->size, q->size, p->dim, q->dim, (int)p->distance,
                     (int)q->distance, p->finalized, q->finalized);
        if (memcmp(p, q, sizeof *p) != 0)
            row_error("%s: index %s changed (estimator, density, domains or vectors)", name,
                     ix_names[i]);
    }
    if (memcmp(a->sc_cos, b->sc_cos, sizeof a->sc_cos) != 0 ||
        memcmp(a->nn_cos, b->nn_cos, sizeof a->nn_cos) != 0 ||
        memcmp(a->sc_euc, b->sc_euc, sizeof a->sc_euc) != 0 ||
        memcmp(a->sc_mse, b->sc_mse, sizeof a->sc_mse) != 0)
        row_error("%s: a scorer's results changed", name);
    if (a->open_status != b->open_status)
        row_error("%s: the scorer of the open index now returns %d, was %d", name,
                 (int)b->open_status, (int)a->open_status);
    if (memcmp(a->lof_cos, b->lof_cos, sizeof a->lof_cos) != 0 ||
        memcmp(a->lof_euc, b->lof_euc, sizeof a->lof_euc) != 0)
        row_error("%s: a LOF model's results changed", name);
    if (strcmp(a->files, b->files) != 0)
        row_error("%s: the directory changed: [%s] → [%s]", name, a->files, b->files);
    if (a->saved_len != b->saved_len || memcmp(a->saved, b->saved, a->saved_len) != 0)
        row_error("%s: the saved file changed", name);
}

/* ------------------------------------------------------------------------ */
/* The table. X(name, expected status, out kind, aux, call).
 * Out kinds: what the call may write despite failing. */

enum out_kind {
    O_NONE,     /* nothing */
    O_IX,       /* *out index set to NULL */
    O_SC,       /* *out scorer set to NULL */
    O_LOF,      /* *out LOF set to NULL */
    O_BADROW,   /* bad_row set to aux */
    O_NEEDED,   /* needed set to the serialized size */
    O_NSECTIONS /* n_sections set to aux */
};

#define ARGS f->x, NX
#define BAD(k) (asdnorm_distance)(k)
#define BADD(k) (asdnorm_density)(k)
#define BADN(k) (asdnorm_norm)(k)
#define KNN ASDNORM_DENSITY_KNN
#define GWRP ASDNORM_DENSITY_GWRP
#define NONE ASDNORM_DENSITY_NONE
#define RATIO ASDNORM_NORM_RATIO
#define D23(sc, lab, dom, sec, n, fpr, cap, ids, vals, nsec, off) \
    asdnorm_dcase2023(sc, lab, dom, sec, n, fpr, cap, ids, vals, nsec, off)

/* Progress callbacks that cancel: at the first call (0), and at the last (1), when the
 * work is done; a call made with one set for it alone. */
static int cancel_first(double fraction, void *user)
{
    (void)fraction;
    (void)user;
    return 1;
}

static int cancel_last(double fraction, void *user)
{
    (void)user;
    return fraction == 1.0;
}

static asdnorm_status finalize_canceled(asdnorm_index *ix, asdnorm_progress_fn fn,
                                        asdnorm_density density, double param)
{
    assert_int_equal(asdnorm_index_set_progress(ix, fn, NULL), ASDNORM_OK);
    asdnorm_status st = asdnorm_index_finalize(ix, density, param);
    assert_int_equal(asdnorm_index_set_progress(ix, NULL, NULL), ASDNORM_OK);
    return st;
}

static asdnorm_status score_canceled(asdnorm_scorer *sc, const float *x, size_t n, float *scores,
                                     size_t *nearest)
{
    assert_int_equal(asdnorm_scorer_set_progress(sc, cancel_first, NULL), ASDNORM_OK);
    asdnorm_status st = asdnorm_scorer_score(sc, x, n, scores, nearest);
    assert_int_equal(asdnorm_scorer_set_progress(sc, NULL, NULL), ASDNORM_OK);
    return st;
}

/* clang-format off */
#define CASES(X) \
    /* index_new */ \
    X(new_out_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_new(DIM, COS, NULL)) \
    X(new_dim0,            ASDNORM_E_ARG,  O_IX, 0, asdnorm_index_new(0, COS, &o->ix)) \
    X(new_distance_3,      ASDNORM_E_ENUM, O_IX, 0, asdnorm_index_new(DIM, BAD(3), &o->ix)) \
    X(new_distance_99,     ASDNORM_E_ENUM, O_IX, 0, asdnorm_index_new(DIM, BAD(99), &o->ix)) \
    X(new_distance_neg,    ASDNORM_E_ENUM, O_IX, 0, asdnorm_index_new(DIM, BAD(-1), &o->ix)) \
    /* index_add */ \
    X(add_ix_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_add(NULL, f->x, NX, NULL)) \
    X(add_x_null,          ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_add(f->cos, NULL, NX, NULL)) \
    X(add_x_null_open,     ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_add(f->open, NULL, 1, NULL)) \
    X(add_overflow,        ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_index_add(f->cos, f->x, N_OVF, NULL)) \
    X(add_overflow_bytes,  ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_index_add(f->euc, f->x, N_OVF_BYTES, NULL)) \
    X(add_overflow_total,  ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_index_add(f->mse, f->x, SIZE_MAX / 16, NULL)) \
    X(add_nan,             ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_index_add(f->cos, f->x_nan, NX, NULL)) \
    X(add_inf,             ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_index_add(f->euc, f->x_inf, NX, NULL)) \
    X(add_ninf,            ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_index_add(f->mse, f->x_ninf, NX, NULL)) \
    X(add_nan_open,        ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_index_add(f->open, f->x_nan, NX, NULL)) \
    X(add_nan_empty,       ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_index_add(f->empty, f->x_nan, NX, NULL)) \
    X(add_zero_cosine,     ASDNORM_E_ZERO_VECTOR, O_NONE, 0, asdnorm_index_add(f->cos, f->x_zero, NX, NULL)) \
    X(add_big_euclidean,   ASDNORM_E_RANGE, O_NONE, 0, asdnorm_index_add(f->euc, f->x_big, NX, NULL)) \
    X(add_big_mse,         ASDNORM_E_RANGE, O_NONE, 0, asdnorm_index_add(f->mse, f->x_big, NX, NULL)) \
    X(add_label_3,         ASDNORM_E_LABEL, O_NONE, 0, asdnorm_index_add(f->cos, f->x, NX, f->doms_bad3)) \
    X(add_label_255,       ASDNORM_E_LABEL, O_NONE, 0, asdnorm_index_add(f->open, f->x, NX, f->doms_bad255)) \
    X(add_n0_noop,         ASDNORM_OK, O_NONE, 0, asdnorm_index_add(f->cos, NULL, 0, NULL)) \
    /* index_finalize */ \
    X(fin_ix_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_finalize(NULL, KNN, 2)) \
    X(fin_density_3,       ASDNORM_E_ENUM, O_NONE, 0, asdnorm_index_finalize(f->cos, BADD(3), 2)) \
    X(fin_density_99,      ASDNORM_E_ENUM, O_NONE, 0, asdnorm_index_finalize(f->open, BADD(99), 2)) \
    X(fin_density_neg,     ASDNORM_E_ENUM, O_NONE, 0, asdnorm_index_finalize(f->cos, BADD(-1), 2)) \
    X(fin_knn_k0,          ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_finalize(f->cos, KNN, 0)) \
    X(fin_knn_k_frac,      ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_finalize(f->cos, KNN, 1.5)) \
    X(fin_knn_k_neg,       ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_finalize(f->euc, KNN, -2)) \
    X(fin_knn_k_nan,       ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_finalize(f->open, KNN, NAN)) \
    X(fin_knn_k_inf,       ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_finalize(f->cos, KNN, INFINITY)) \
    X(fin_gwrp_r_neg,      ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_finalize(f->cos, GWRP, -0.1)) \
    X(fin_gwrp_r_above1,   ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_finalize(f->euc, GWRP, 1.1)) \
    X(fin_gwrp_r_nan,      ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_finalize(f->mse, GWRP, NAN)) \
    X(fin_gwrp_r_inf,      ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_finalize(f->open, GWRP, INFINITY)) \
    X(fin_gwrp_r_ninf,     ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_finalize(f->cos, GWRP, -INFINITY)) \
    X(fin_empty_none,      ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_finalize(f->empty, NONE, 0)) \
    X(fin_empty_knn,       ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_finalize(f->empty, KNN, 1)) \
    X(fin_one_knn,         ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_finalize(f->one, KNN, 1)) \
    X(fin_one_gwrp,        ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_finalize(f->one, GWRP, 0.5)) \
    /* index_get_estimator */ \
    X(est_ix_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_get_estimator(NULL, &o->density, &o->param)) \
    X(est_density_null,    ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_get_estimator(f->cos, NULL, &o->param)) \
    X(est_param_null,      ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_get_estimator(f->cos, &o->density, NULL)) \
    X(est_open,            ASDNORM_E_STATE, O_NONE, 0, asdnorm_index_get_estimator(f->open, &o->density, &o->param)) \
    X(est_empty,           ASDNORM_E_STATE, O_NONE, 0, asdnorm_index_get_estimator(f->empty, &o->density, &o->param)) \
    /* index_get_density */ \
    X(dens_ix_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_get_density(NULL, o->dbl, NREF)) \
    X(dens_out_null,       ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_get_density(f->cos, NULL, NREF)) \
    X(dens_n_small,        ASDNORM_E_DIM, O_NONE, 0, asdnorm_index_get_density(f->cos, o->dbl, NREF - 1)) \
    X(dens_n_large,        ASDNORM_E_DIM, O_NONE, 0, asdnorm_index_get_density(f->euc, o->dbl, NREF + 1)) \
    X(dens_n0,             ASDNORM_E_DIM, O_NONE, 0, asdnorm_index_get_density(f->mse, o->dbl, 0)) \
    X(dens_open,           ASDNORM_E_STATE, O_NONE, 0, asdnorm_index_get_density(f->open, o->dbl, NREF)) \
    X(dens_empty,          ASDNORM_E_STATE, O_NONE, 0, asdnorm_index_get_density(f->empty, o->dbl, 0)) \
    /* index_get_domains */ \
    X(dom_ix_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_get_domains(NULL, o->u8, NREF)) \
    X(dom_out_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_get_domains(f->cos, NULL, NREF)) \
    X(dom_n_small,         ASDNORM_E_DIM, O_NONE, 0, asdnorm_index_get_domains(f->cos, o->u8, NREF - 1)) \
    X(dom_n_large,         ASDNORM_E_DIM, O_NONE, 0, asdnorm_index_get_domains(f->open, o->u8, NREF + 1)) \
    X(dom_n0,              ASDNORM_E_DIM, O_NONE, 0, asdnorm_index_get_domains(f->euc, o->u8, 0)) \
    /* index_get_vectors */ \
    X(vec_ix_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_get_vectors(NULL, 0, 1, o->f)) \
    X(vec_out_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_get_vectors(f->cos, 0, 1, NULL)) \
    X(vec_past_end,        ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_get_vectors(f->cos, NREF - 1, 2, o->f)) \
    X(vec_first_is_size,   ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_get_vectors(f->open, NREF, 1, o->f)) \
    X(vec_first_wraps,     ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_get_vectors(f->euc, SIZE_MAX, 2, o->f)) \
    X(vec_empty,           ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_get_vectors(f->empty, 0, 1, o->f)) \
    X(vec_count_huge,      ASDNORM_E_ARG, O_NONE, ASDNORM_E_OVERFLOW, asdnorm_index_get_vectors(f->cos, 0, N_OVF, o->f)) \
    /* check_rows */ \
    X(rows_x_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_check_rows(NULL, NX, DIM, COS, &o->bad_row)) \
    X(rows_dim0,           ASDNORM_E_ARG, O_NONE, 0, asdnorm_check_rows(f->x, NX, 0, COS, &o->bad_row)) \
    X(rows_distance_3,     ASDNORM_E_ENUM, O_NONE, 0, asdnorm_check_rows(f->x, NX, DIM, BAD(3), &o->bad_row)) \
    X(rows_distance_99,    ASDNORM_E_ENUM, O_NONE, 0, asdnorm_check_rows(f->x, NX, DIM, BAD(99), &o->bad_row)) \
    X(rows_overflow,       ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_check_rows(f->x, N_OVF, DIM, COS, &o->bad_row)) \
    /* index_search (k = 2: NX × 2 outputs fit o->f and o->z) */ \
    X(search_ix_null,      ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_search(NULL, f->x, NX, 2, o->f, o->z)) \
    X(search_x_null,       ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_search(f->cos, NULL, NX, 2, o->f, o->z)) \
    X(search_dist_null,    ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_search(f->cos, f->x, NX, 2, NULL, o->z)) \
    X(search_ids_null,     ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_search(f->open, f->x, NX, 2, o->f, NULL)) \
    X(search_empty,        ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_search(f->empty, f->x, NX, 1, o->f, o->z)) \
    X(search_k0,           ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_search(f->cos, f->x, NX, 0, o->f, o->z)) \
    X(search_k_above_m,    ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_search(f->euc, f->x, NX, NREF + 1, o->f, o->z)) \
    X(search_overflow,     ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_index_search(f->mse, f->x, N_OVF, 2, o->f, o->z)) \
    X(search_nan,          ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_index_search(f->cos, f->x_nan, NX, 2, o->f, o->z)) \
    X(search_zero_cosine,  ASDNORM_E_ZERO_VECTOR, O_NONE, 0, asdnorm_index_search(f->cos, f->x_zero, NX, 2, o->f, o->z)) \
    X(search_big_mse,      ASDNORM_E_RANGE, O_NONE, 0, asdnorm_index_search(f->mse, f->x_big, NX, 2, o->f, o->z)) \
    /* index_search_double */ \
    X(searchd_ix_null,     ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_search_double(NULL, f->x, NX, 2, o->dbl, o->z)) \
    X(searchd_x_null,      ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_search_double(f->cos, NULL, NX, 2, o->dbl, o->z)) \
    X(searchd_dist_null,   ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_search_double(f->euc, f->x, NX, 2, NULL, o->z)) \
    X(searchd_ids_null,    ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_search_double(f->open, f->x, NX, 2, o->dbl, NULL)) \
    X(searchd_empty,       ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_search_double(f->empty, f->x, NX, 1, o->dbl, o->z)) \
    X(searchd_k0,          ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_search_double(f->cos, f->x, NX, 0, o->dbl, o->z)) \
    X(searchd_k_above_m,   ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_search_double(f->mse, f->x, NX, NREF + 1, o->dbl, o->z)) \
    X(searchd_overflow,    ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_index_search_double(f->euc, f->x, N_OVF_BYTES, 2, o->dbl, o->z)) \
    X(searchd_inf,         ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_index_search_double(f->euc, f->x_inf, NX, 2, o->dbl, o->z)) \
    X(searchd_zero_cosine, ASDNORM_E_ZERO_VECTOR, O_NONE, 0, asdnorm_index_search_double(f->open, f->x_zero, NX, 2, o->dbl, o->z)) \
    X(searchd_big_euc,     ASDNORM_E_RANGE, O_NONE, 0, asdnorm_index_search_double(f->euc, f->x_big, NX, 2, o->dbl, o->z)) \
    /* index_clone */ \
    X(clone_ix_null,       ASDNORM_E_NULL, O_IX, 0, asdnorm_index_clone(NULL, &o->ix)) \
    X(clone_out_null,      ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_clone(f->cos, NULL)) \
    /* index_set_density */ \
    X(setd_ix_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_set_density(NULL, KNN, 2, f->dn, NREF)) \
    X(setd_values_null,    ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_set_density(f->cos, KNN, 2, NULL, NREF)) \
    X(setd_density_3,      ASDNORM_E_ENUM, O_NONE, 0, asdnorm_index_set_density(f->cos, BADD(3), 2, f->dn, NREF)) \
    X(setd_density_neg,    ASDNORM_E_ENUM, O_NONE, 0, asdnorm_index_set_density(f->open, BADD(-1), 2, f->dn, NREF)) \
    X(setd_knn_k0,         ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_density(f->cos, KNN, 0, f->dn, NREF)) \
    X(setd_knn_k_frac,     ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_density(f->open, KNN, 2.5, f->dn, NREF)) \
    X(setd_knn_k_nan,      ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_density(f->euc, KNN, NAN, f->dn, NREF)) \
    X(setd_gwrp_r_above1,  ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_density(f->euc, GWRP, 1.5, f->dn, NREF)) \
    X(setd_gwrp_r_neg,     ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_density(f->mse, GWRP, -0.5, f->dn, NREF)) \
    X(setd_empty,          ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_set_density(f->empty, NONE, 0, f->dn, 0)) \
    X(setd_one_knn,        ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_set_density(f->one, KNN, 1, f->dn, 1)) \
    X(setd_one_gwrp,       ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_set_density(f->one, GWRP, 0.5, f->dn, 1)) \
    X(setd_n_small,        ASDNORM_E_DIM, O_NONE, 0, asdnorm_index_set_density(f->cos, KNN, 2, f->dn, NREF - 1)) \
    X(setd_n_large,        ASDNORM_E_DIM, O_NONE, 0, asdnorm_index_set_density(f->open, GWRP, 0.5, f->dn, NREF + 1)) \
    X(setd_nan,            ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_index_set_density(f->cos, KNN, 2, f->dn_nan, NREF)) \
    X(setd_inf,            ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_index_set_density(f->open, GWRP, 0.5, f->dn_inf, NREF)) \
    X(setd_negative,       ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_density(f->euc, GWRP, 0.5, f->dn_neg, NREF)) \
    X(setd_none_nonzero,   ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_density(f->mse, NONE, 0, f->dn, NREF)) \
    X(setd_above_flt_max,  ASDNORM_E_RANGE, O_NONE, 0, asdnorm_index_set_density(f->cos, KNN, 3, f->dn_big, NREF)) \
    /* index_remove */ \
    X(rm_ix_null,          ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_remove(NULL, RM_ALL, 1)) \
    X(rm_pos_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_remove(f->cos, NULL, 1)) \
    X(rm_out_of_range,     ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_remove(f->cos, RM_OUT, 2)) \
    X(rm_repeated,         ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_remove(f->euc, RM_TWICE, 3)) \
    X(rm_more_than_size,   ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_remove(f->open, RM_ALL, NREF + 1)) \
    X(rm_from_empty,       ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_remove(f->empty, RM_ALL, 1)) \
    X(rm_knn_one_left,     ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_remove(f->cos, RM_ALL, NREF - 1)) \
    X(rm_gwrp_one_left,    ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_remove(f->euc, RM_ALL + 1, NREF - 1)) \
    X(rm_none_all,         ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_remove(f->mse, RM_ALL, NREF)) \
    X(rm_n0_noop,          ASDNORM_OK, O_NONE, 0, asdnorm_index_remove(f->cos, NULL, 0)) \
    /* index_neighbours (NREF × 2 outputs fit o->dbl and o->z) */ \
    X(nb_ix_null,          ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_neighbours(NULL, 0, 2, o->dbl, o->z)) \
    X(nb_dist_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_neighbours(f->cos, 0, 2, NULL, o->z)) \
    X(nb_ids_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_neighbours(f->open, 4, 2, o->dbl, NULL)) \
    X(nb_empty,            ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_neighbours(f->empty, 0, 1, o->dbl, o->z)) \
    X(nb_one,              ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_index_neighbours(f->one, 0, 1, o->dbl, o->z)) \
    X(nb_k0,               ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_neighbours(f->euc, 0, 0, o->dbl, o->z)) \
    X(nb_k_m,              ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_neighbours(f->mse, 0, NREF, o->dbl, o->z)) \
    X(nb_split_m,          ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_neighbours(f->cos, NREF, 1, o->dbl, o->z)) \
    X(nb_k_above_part,     ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_neighbours(f->euc, NREF - 2, 3, o->dbl, o->z)) \
    /* index_get_floor, index_set_floor */ \
    X(getf_ix_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_get_floor(NULL, o->dbl)) \
    X(getf_out_null,       ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_get_floor(f->cos, NULL)) \
    X(getf_open,           ASDNORM_E_STATE, O_NONE, 0, asdnorm_index_get_floor(f->open, o->dbl)) \
    X(setf_ix_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_set_floor(NULL, 1e-9)) \
    X(setf_open,           ASDNORM_E_STATE, O_NONE, 0, asdnorm_index_set_floor(f->open, 1e-9)) \
    X(setf_zero,           ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_floor(f->euc, 0.0)) \
    X(setf_neg,            ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_floor(f->mse, -1.0)) \
    X(setf_nan,            ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_floor(f->cos, NAN)) \
    X(setf_inf,            ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_floor(f->euc, INFINITY)) \
    X(rows_overflow_bytes, ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_check_rows(f->x, N_OVF_BYTES, DIM, EUC, &o->bad_row)) \
    X(rows_nan,            ASDNORM_E_NONFINITE, O_BADROW, 2, asdnorm_check_rows(f->x_nan, NX, DIM, COS, &o->bad_row)) \
    X(rows_inf,            ASDNORM_E_NONFINITE, O_BADROW, 3, asdnorm_check_rows(f->x_inf, NX, DIM, EUC, &o->bad_row)) \
    X(rows_ninf,           ASDNORM_E_NONFINITE, O_BADROW, 0, asdnorm_check_rows(f->x_ninf, NX, DIM, MSE, &o->bad_row)) \
    X(rows_zero_cosine,    ASDNORM_E_ZERO_VECTOR, O_BADROW, 1, asdnorm_check_rows(f->x_zero, NX, DIM, COS, &o->bad_row)) \
    X(rows_big_euclidean,  ASDNORM_E_RANGE, O_BADROW, 4, asdnorm_check_rows(f->x_big, NX, DIM, EUC, &o->bad_row)) \
    X(rows_big_mse,        ASDNORM_E_RANGE, O_BADROW, 4, asdnorm_check_rows(f->x_big, NX, DIM, MSE, &o->bad_row)) \
    X(rows_nan_no_out,     ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_check_rows(f->x_nan, NX, DIM, COS, NULL)) \
    /* index_save */ \
    X(save_ix_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_save(NULL, f->path_new)) \
    X(save_path_null,      ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_save(f->cos, NULL)) \
    X(save_open,           ASDNORM_E_STATE, O_NONE, 0, asdnorm_index_save(f->open, f->path_new)) \
    X(save_open_over,      ASDNORM_E_STATE, O_NONE, 0, asdnorm_index_save(f->open, f->path_ok)) \
    X(save_empty,          ASDNORM_E_STATE, O_NONE, 0, asdnorm_index_save(f->empty, f->path_new)) \
    X(save_no_dir,         ASDNORM_E_IO, O_NONE, 0, asdnorm_index_save(f->cos, f->path_nodir)) \
    X(save_over_dir,       ASDNORM_E_IO, O_NONE, 0, asdnorm_index_save(f->cos, f->subdir)) \
    X(save_path_empty,     ASDNORM_E_IO, O_NONE, 0, asdnorm_index_save(f->cos, "")) \
    /* index_load */ \
    X(load_path_null,      ASDNORM_E_NULL, O_IX, 0, asdnorm_index_load(NULL, &o->ix)) \
    X(load_out_null,       ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_load(f->path_ok, NULL)) \
    X(load_missing,        ASDNORM_E_IO, O_IX, 0, asdnorm_index_load(f->path_missing, &o->ix)) \
    X(load_no_dir,         ASDNORM_E_IO, O_IX, 0, asdnorm_index_load(f->path_nodir, &o->ix)) \
    X(load_directory,      ASDNORM_E_IO, O_IX, 0, asdnorm_index_load(f->dir, &o->ix)) \
    X(load_empty_file,     ASDNORM_E_CORRUPT, O_IX, 0, asdnorm_index_load(f->path_empty, &o->ix)) \
    X(load_garbage,        ASDNORM_E_CORRUPT, O_IX, 0, asdnorm_index_load(f->path_garbage, &o->ix)) \
    /* index_load_buffer */ \
    X(lbuf_buf_null,       ASDNORM_E_NULL, O_IX, 0, asdnorm_index_load_buffer(NULL, 100, &o->ix)) \
    X(lbuf_out_null,       ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_load_buffer(f->ser, f->ser_len, NULL)) \
    X(lbuf_len0,           ASDNORM_E_CORRUPT, O_IX, 0, asdnorm_index_load_buffer(f->ser, 0, &o->ix)) \
    X(lbuf_truncated,      ASDNORM_E_CORRUPT, O_IX, 0, asdnorm_index_load_buffer(f->ser, f->ser_len - 1, &o->ix)) \
    X(lbuf_garbage,        ASDNORM_E_CORRUPT, O_IX, 0, asdnorm_index_load_buffer(f->garbage, sizeof f->garbage, &o->ix)) \
    /* index_serialize */ \
    X(ser_ix_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_serialize(NULL, o->buf, sizeof o->buf, &o->needed)) \
    X(ser_needed_null,     ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_serialize(f->cos, o->buf, sizeof o->buf, NULL)) \
    X(ser_buf_null_len,    ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_serialize(f->cos, NULL, 100, &o->needed)) \
    X(ser_open,            ASDNORM_E_STATE, O_NONE, 0, asdnorm_index_serialize(f->open, o->buf, sizeof o->buf, &o->needed)) \
    X(ser_too_small,       ASDNORM_E_BUFFER, O_NEEDED, 0, asdnorm_index_serialize(f->cos, o->buf, f->ser_len - 1, &o->needed)) \
    X(ser_query,           ASDNORM_E_BUFFER, O_NEEDED, 0, asdnorm_index_serialize(f->cos, NULL, 0, &o->needed)) \
    /* scorer_new */ \
    X(scn_ix_null,         ASDNORM_E_NULL, O_SC, 0, asdnorm_scorer_new(NULL, RATIO, &o->sc)) \
    X(scn_out_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_scorer_new(f->cos, RATIO, NULL)) \
    X(scn_norm_3,          ASDNORM_E_ENUM, O_SC, 0, asdnorm_scorer_new(f->cos, BADN(3), &o->sc)) \
    X(scn_norm_99,         ASDNORM_E_ENUM, O_SC, 0, asdnorm_scorer_new(f->open, BADN(99), &o->sc)) \
    X(scn_norm_neg,        ASDNORM_E_ENUM, O_SC, 0, asdnorm_scorer_new(f->euc, BADN(-1), &o->sc)) \
    /* scorer_score */ \
    /* thread counts, allocator, BLAS control (0.2) */ \
    X(ixthr_null,          ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_set_threads(NULL, 1)) \
    X(ixthr_too_many,      ASDNORM_E_ARG, O_NONE, 0, asdnorm_index_set_threads(f->cos, ASDNORM_MAX_THREADS + 1)) \
    X(scthr_null,          ASDNORM_E_NULL, O_NONE, 0, asdnorm_scorer_set_threads(NULL, 1)) \
    /* progress: set on NULL; a finalize or score that the callback cancels */ \
    X(ixprog_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_index_set_progress(NULL, cancel_first, NULL)) \
    X(scprog_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_scorer_set_progress(NULL, cancel_first, NULL)) \
    X(fin_cancel_first,    ASDNORM_E_CANCELED, O_NONE, 0, finalize_canceled(f->cos, cancel_first, GWRP, 0.5)) \
    X(fin_cancel_last,     ASDNORM_E_CANCELED, O_NONE, 0, finalize_canceled(f->cos, cancel_last, GWRP, 0.5)) \
    X(fin_cancel_last_euc, ASDNORM_E_CANCELED, O_NONE, 0, finalize_canceled(f->euc, cancel_last, KNN, 3)) \
    X(fin_cancel_last_mse, ASDNORM_E_CANCELED, O_NONE, 0, finalize_canceled(f->mse, cancel_last, KNN, 1)) \
    X(fin_cancel_last_open, ASDNORM_E_CANCELED, O_NONE, 0, finalize_canceled(f->open, cancel_last, NONE, 0)) \
    X(score_cancel_first,  ASDNORM_E_CANCELED, O_NONE, 0, score_canceled(f->sc_cos, f->x, NX, o->f, o->z)) \
    X(scthr_too_many,      ASDNORM_E_ARG, O_NONE, 0, asdnorm_scorer_set_threads(f->sc_cos, ASDNORM_MAX_THREADS + 1)) \
    X(alloc_no_free,       ASDNORM_E_NULL, O_NONE, 0, asdnorm_set_allocator(&k_no_free)) \
    X(alloc_in_use,        ASDNORM_E_STATE, O_NONE, 0, asdnorm_set_allocator(NULL)) \
    X(blas_control_2,      ASDNORM_E_ARG, O_NONE, 0, asdnorm_set_blas_control(2)) \
    X(blas_control_neg,    ASDNORM_E_ARG, O_NONE, 0, asdnorm_set_blas_control(-1)) \
    X(score_sc_null,       ASDNORM_E_NULL, O_NONE, 0, asdnorm_scorer_score(NULL, f->x, NX, o->f, o->z)) \
    X(score_x_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_scorer_score(f->sc_cos, NULL, NX, o->f, o->z)) \
    X(score_scores_null,   ASDNORM_E_NULL, O_NONE, 0, asdnorm_scorer_score(f->sc_cos, f->x, NX, NULL, o->z)) \
    X(score_not_final,     ASDNORM_E_STATE, O_NONE, 0, asdnorm_scorer_score(f->sc_open, f->x, NX, o->f, o->z)) \
    X(score_overflow,      ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_scorer_score(f->sc_cos, f->x, N_OVF, o->f, o->z)) \
    X(score_overflow_bytes, ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_scorer_score(f->sc_euc, f->x, N_OVF_BYTES, o->f, o->z)) \
    X(score_nan,           ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_scorer_score(f->sc_cos, f->x_nan, NX, o->f, o->z)) \
    X(score_inf,           ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_scorer_score(f->sc_euc, f->x_inf, NX, o->f, o->z)) \
    X(score_ninf,          ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_scorer_score(f->sc_mse, f->x_ninf, NX, o->f, NULL)) \
    X(score_zero_cosine,   ASDNORM_E_ZERO_VECTOR, O_NONE, 0, asdnorm_scorer_score(f->sc_cos, f->x_zero, NX, o->f, o->z)) \
    X(score_big_euclidean, ASDNORM_E_RANGE, O_NONE, 0, asdnorm_scorer_score(f->sc_euc, f->x_big, NX, o->f, o->z)) \
    X(score_big_mse,       ASDNORM_E_RANGE, O_NONE, 0, asdnorm_scorer_score(f->sc_mse, f->x_big, NX, o->f, o->z)) \
    X(score_n0,            ASDNORM_OK, O_NONE, 0, asdnorm_scorer_score(f->sc_cos, f->x, 0, o->f, o->z)) \
    /* scorer_self_scores, scorer_threshold (0.2) */ \
    X(self_sc_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_scorer_self_scores(NULL, o->f, o->z)) \
    X(self_scores_null,    ASDNORM_E_NULL, O_NONE, 0, asdnorm_scorer_self_scores(f->sc_cos, NULL, o->z)) \
    X(self_not_final,      ASDNORM_E_STATE, O_NONE, 0, asdnorm_scorer_self_scores(f->sc_open, o->f, o->z)) \
    X(thr_sc_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_scorer_threshold(NULL, 0.1, o->f)) \
    X(thr_out_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_scorer_threshold(f->sc_euc, 0.1, NULL)) \
    X(thr_fpr_0,           ASDNORM_E_ARG, O_NONE, 0, asdnorm_scorer_threshold(f->sc_cos, 0.0, o->f)) \
    X(thr_fpr_1,           ASDNORM_E_ARG, O_NONE, 0, asdnorm_scorer_threshold(f->sc_euc, 1.0, o->f)) \
    X(thr_fpr_nan,         ASDNORM_E_ARG, O_NONE, 0, asdnorm_scorer_threshold(f->sc_mse, NAN, o->f)) \
    X(thr_not_final,       ASDNORM_E_STATE, O_NONE, 0, asdnorm_scorer_threshold(f->sc_open, 0.1, o->f)) \
    /* auc */ \
    X(auc_labels_null,     ASDNORM_E_NULL, O_NONE, 0, asdnorm_auc(NULL, f->ms, 12, &o->official)) \
    X(auc_scores_null,     ASDNORM_E_NULL, O_NONE, 0, asdnorm_auc(f->ml, NULL, 12, &o->official)) \
    X(auc_out_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_auc(f->ml, f->ms, 12, NULL)) \
    X(auc_n0,              ASDNORM_E_EMPTY, O_NONE, 0, asdnorm_auc(f->ml, f->ms, 0, &o->official)) \
    X(auc_label_2,         ASDNORM_E_LABEL, O_NONE, 0, asdnorm_auc(f->ml_bad, f->ms, 12, &o->official)) \
    X(auc_nan,             ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_auc(f->ml, f->ms_nan, 12, &o->official)) \
    X(auc_inf,             ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_auc(f->ml, f->ms_inf, 12, &o->official)) \
    X(auc_no_anomaly,      ASDNORM_E_NO_ANOMALY, O_NONE, 0, asdnorm_auc(f->ml_all0, f->ms, 12, &o->official)) \
    X(auc_no_normal,       ASDNORM_E_NO_NORMAL, O_NONE, 0, asdnorm_auc(f->ml_all1, f->ms, 12, &o->official)) \
    /* pauc */ \
    X(pauc_labels_null,    ASDNORM_E_NULL, O_NONE, 0, asdnorm_pauc(NULL, f->ms, 12, 0.1, &o->official)) \
    X(pauc_scores_null,    ASDNORM_E_NULL, O_NONE, 0, asdnorm_pauc(f->ml, NULL, 12, 0.1, &o->official)) \
    X(pauc_out_null,       ASDNORM_E_NULL, O_NONE, 0, asdnorm_pauc(f->ml, f->ms, 12, 0.1, NULL)) \
    X(pauc_n0,             ASDNORM_E_EMPTY, O_NONE, 0, asdnorm_pauc(f->ml, f->ms, 0, 0.1, &o->official)) \
    X(pauc_label_2,        ASDNORM_E_LABEL, O_NONE, 0, asdnorm_pauc(f->ml_bad, f->ms, 12, 0.1, &o->official)) \
    X(pauc_nan,            ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_pauc(f->ml, f->ms_nan, 12, 0.1, &o->official)) \
    X(pauc_no_anomaly,     ASDNORM_E_NO_ANOMALY, O_NONE, 0, asdnorm_pauc(f->ml_all0, f->ms, 12, 0.1, &o->official)) \
    X(pauc_no_normal,      ASDNORM_E_NO_NORMAL, O_NONE, 0, asdnorm_pauc(f->ml_all1, f->ms, 12, 0.1, &o->official)) \
    X(pauc_fpr_0,          ASDNORM_E_ARG, O_NONE, 0, asdnorm_pauc(f->ml, f->ms, 12, 0.0, &o->official)) \
    X(pauc_fpr_neg,        ASDNORM_E_ARG, O_NONE, 0, asdnorm_pauc(f->ml, f->ms, 12, -0.1, &o->official)) \
    X(pauc_fpr_above1,     ASDNORM_E_ARG, O_NONE, 0, asdnorm_pauc(f->ml, f->ms, 12, 1.1, &o->official)) \
    X(pauc_fpr_nan,        ASDNORM_E_ARG, O_NONE, 0, asdnorm_pauc(f->ml, f->ms, 12, NAN, &o->official)) \
    X(pauc_fpr_inf,        ASDNORM_E_ARG, O_NONE, 0, asdnorm_pauc(f->ml, f->ms, 12, INFINITY, &o->official)) \
    /* hmean */ \
    X(hmean_values_null,   ASDNORM_E_NULL, O_NONE, 0, asdnorm_hmean(NULL, 5, &o->official)) \
    X(hmean_out_null,      ASDNORM_E_NULL, O_NONE, 0, asdnorm_hmean(f->hv, 5, NULL)) \
    X(hmean_n0,            ASDNORM_E_EMPTY, O_NONE, 0, asdnorm_hmean(f->hv, 0, &o->official)) \
    X(hmean_nan,           ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_hmean(f->hv_nan, 5, &o->official)) \
    X(hmean_inf,           ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_hmean(f->hv_inf, 5, &o->official)) \
    X(hmean_negative,      ASDNORM_E_ARG, O_NONE, 0, asdnorm_hmean(f->hv_neg, 5, &o->official)) \
    /* count_sections */ \
    X(count_sections_null, ASDNORM_E_NULL, O_NONE, 0, asdnorm_count_sections(NULL, 12, &o->n_sections)) \
    X(count_out_null,      ASDNORM_E_NULL, O_NONE, 0, asdnorm_count_sections(f->msec, 12, NULL)) \
    X(count_n0,            ASDNORM_E_EMPTY, O_NONE, 0, asdnorm_count_sections(f->msec, 0, &o->n_sections)) \
    /* dcase2023 */ \
    X(d23_scores_null,     ASDNORM_E_NULL, O_NONE, 0, D23(NULL, f->ml, f->md, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_labels_null,     ASDNORM_E_NULL, O_NONE, 0, D23(f->ms, NULL, f->md, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_domains_null,    ASDNORM_E_NULL, O_NONE, 0, D23(f->ms, f->ml, NULL, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_sections_null,   ASDNORM_E_NULL, O_NONE, 0, D23(f->ms, f->ml, f->md, NULL, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_nsec_null,       ASDNORM_E_NULL, O_NONE, 0, D23(f->ms, f->ml, f->md, f->msec, 12, 0.1, 4, o->ids, o->values, NULL, &o->official)) \
    X(d23_official_null,   ASDNORM_E_NULL, O_NONE, 0, D23(f->ms, f->ml, f->md, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, NULL)) \
    X(d23_n0,              ASDNORM_E_EMPTY, O_NONE, 0, D23(f->ms, f->ml, f->md, f->msec, 0, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_label_2,         ASDNORM_E_LABEL, O_NONE, 0, D23(f->ms, f->ml_bad, f->md, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_domain_0,        ASDNORM_E_LABEL, O_NONE, 0, D23(f->ms, f->ml, f->md_bad0, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_domain_3,        ASDNORM_E_LABEL, O_NONE, 0, D23(f->ms, f->ml, f->md_bad3, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_nan,             ASDNORM_E_NONFINITE, O_NONE, 0, D23(f->ms_nan, f->ml, f->md, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_inf,             ASDNORM_E_NONFINITE, O_NONE, 0, D23(f->ms_inf, f->ml, f->md, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_fpr_0,           ASDNORM_E_ARG, O_NONE, 0, D23(f->ms, f->ml, f->md, f->msec, 12, 0.0, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_fpr_above1,      ASDNORM_E_ARG, O_NONE, 0, D23(f->ms, f->ml, f->md, f->msec, 12, 1.5, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_fpr_nan,         ASDNORM_E_ARG, O_NONE, 0, D23(f->ms, f->ml, f->md, f->msec, 12, NAN, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_no_anomaly,      ASDNORM_E_NO_ANOMALY, O_NONE, 0, D23(f->ms, f->ml_sec1_noanom, f->md, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_no_target,       ASDNORM_E_NO_NORMAL, O_NONE, 0, D23(f->ms, f->ml, f->md_sec1_notgt, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_no_normal,       ASDNORM_E_NO_NORMAL, O_NONE, 0, D23(f->ms, f->ml_sec1_allanom, f->md, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_cap_small,       ASDNORM_E_BUFFER, O_NSECTIONS, 2, D23(f->ms, f->ml, f->md, f->msec, 12, 0.1, 1, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d23_cap_small_ids,   ASDNORM_E_BUFFER, O_NSECTIONS, 2, D23(f->ms, f->ml, f->md, f->msec, 12, 0.1, 1, o->ids, NULL, &o->n_sections, &o->official)) \
    X(d23_cap0_values,     ASDNORM_E_BUFFER, O_NSECTIONS, 2, D23(f->ms, f->ml, f->md, f->msec, 12, 0.1, 0, NULL, o->values, &o->n_sections, &o->official)) \
    /* dcase2020 */ \
    X(d20_scores_null,     ASDNORM_E_NULL, O_NONE, 0, asdnorm_dcase2020(NULL, f->ml, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d20_labels_null,     ASDNORM_E_NULL, O_NONE, 0, asdnorm_dcase2020(f->ms, NULL, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d20_sections_null,   ASDNORM_E_NULL, O_NONE, 0, asdnorm_dcase2020(f->ms, f->ml, NULL, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d20_nsec_null,       ASDNORM_E_NULL, O_NONE, 0, asdnorm_dcase2020(f->ms, f->ml, f->msec, 12, 0.1, 4, o->ids, o->values, NULL, &o->official)) \
    X(d20_official_null,   ASDNORM_E_NULL, O_NONE, 0, asdnorm_dcase2020(f->ms, f->ml, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, NULL)) \
    X(d20_n0,              ASDNORM_E_EMPTY, O_NONE, 0, asdnorm_dcase2020(f->ms, f->ml, f->msec, 0, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d20_label_2,         ASDNORM_E_LABEL, O_NONE, 0, asdnorm_dcase2020(f->ms, f->ml_bad, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d20_nan,             ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_dcase2020(f->ms_nan, f->ml, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d20_fpr_neg,         ASDNORM_E_ARG, O_NONE, 0, asdnorm_dcase2020(f->ms, f->ml, f->msec, 12, -1.0, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d20_no_anomaly,      ASDNORM_E_NO_ANOMALY, O_NONE, 0, asdnorm_dcase2020(f->ms, f->ml_sec1_noanom, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d20_no_normal,       ASDNORM_E_NO_NORMAL, O_NONE, 0, asdnorm_dcase2020(f->ms, f->ml_sec1_allanom, f->msec, 12, 0.1, 4, o->ids, o->values, &o->n_sections, &o->official)) \
    X(d20_cap_small,       ASDNORM_E_BUFFER, O_NSECTIONS, 2, asdnorm_dcase2020(f->ms, f->ml, f->msec, 12, 0.1, 1, o->ids, o->values, &o->n_sections, &o->official)) \
    /* kmeans */ \
    X(km_x_null,           ASDNORM_E_NULL, O_NONE, 0, asdnorm_kmeans(NULL, NX, DIM, 2, 1, 10, 1, o->f, &o->official)) \
    X(km_centroids_null,   ASDNORM_E_NULL, O_NONE, 0, asdnorm_kmeans(f->x, NX, DIM, 2, 1, 10, 1, NULL, &o->official)) \
    X(km_dim0,             ASDNORM_E_ARG, O_NONE, 0, asdnorm_kmeans(f->x, NX, 0, 2, 1, 10, 1, o->f, &o->official)) \
    X(km_k0,               ASDNORM_E_ARG, O_NONE, 0, asdnorm_kmeans(f->x, NX, DIM, 0, 1, 10, 1, o->f, &o->official)) \
    X(km_n_init0,          ASDNORM_E_ARG, O_NONE, 0, asdnorm_kmeans(f->x, NX, DIM, 2, 0, 10, 1, o->f, &o->official)) \
    X(km_max_iter0,        ASDNORM_E_ARG, O_NONE, 0, asdnorm_kmeans(f->x, NX, DIM, 2, 1, 0, 1, o->f, &o->official)) \
    X(km_k_above_n,        ASDNORM_E_DEGENERATE, O_NONE, 0, asdnorm_kmeans(f->x, NX, DIM, NX + 1, 1, 10, 1, o->f, &o->official)) \
    X(km_overflow,         ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_kmeans(f->x, N_OVF, DIM, 2, 1, 10, 1, o->f, &o->official)) \
    X(km_overflow_bytes,   ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_kmeans(f->x, N_OVF_BYTES, DIM, 2, 1, 10, 1, o->f, NULL)) \
    X(km_nan,              ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_kmeans(f->x_nan, NX, DIM, 2, 1, 10, 1, o->f, &o->official)) \
    X(km_inf,              ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_kmeans(f->x_inf, NX, DIM, 2, 1, 10, 1, o->f, NULL)) \
    /* source_means */ \
    X(sm_src_null,         ASDNORM_E_NULL, O_IX, 0, asdnorm_source_means(NULL, 2, 1, 1, &o->ix)) \
    X(sm_out_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_source_means(f->cos, 2, 1, 1, NULL)) \
    X(sm_k0,               ASDNORM_E_ARG, O_IX, 0, asdnorm_source_means(f->cos, 0, 1, 1, &o->ix)) \
    X(sm_n_init0,          ASDNORM_E_ARG, O_IX, 0, asdnorm_source_means(f->euc, 2, 0, 1, &o->ix)) \
    X(sm_no_source,        ASDNORM_E_TOO_FEW, O_IX, 0, asdnorm_source_means(f->nosrc, 2, 1, 1, &o->ix)) \
    X(sm_empty,            ASDNORM_E_TOO_FEW, O_IX, 0, asdnorm_source_means(f->empty, 2, 1, 1, &o->ix)) \
    /* smote */ \
    X(smote_x_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_smote(NULL, NX, DIM, 3, 2, 1, o->f)) \
    X(smote_out_null,      ASDNORM_E_NULL, O_NONE, 0, asdnorm_smote(f->x, NX, DIM, 3, 2, 1, NULL)) \
    X(smote_dim0,          ASDNORM_E_ARG, O_NONE, 0, asdnorm_smote(f->x, NX, 0, 3, 2, 1, o->f)) \
    X(smote_k0,            ASDNORM_E_ARG, O_NONE, 0, asdnorm_smote(f->x, NX, DIM, 3, 0, 1, o->f)) \
    X(smote_n1,            ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_smote(f->x, 1, DIM, 3, 2, 1, o->f)) \
    X(smote_n0,            ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_smote(f->x, 0, DIM, 3, 2, 1, o->f)) \
    X(smote_nan,           ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_smote(f->x_nan, NX, DIM, 3, 2, 1, o->f)) \
    X(smote_overflow,      ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_smote(f->x, N_OVF, DIM, 3, 2, 1, o->f)) \
    X(smote_overflow_bytes, ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_smote(f->x, N_OVF_BYTES, DIM, 3, 2, 1, o->f)) \
    X(smote_overflow_new,  ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_smote(f->x, NX, DIM, N_OVF, 2, 1, o->f)) \
    X(smote_overflow_new_bytes, ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_smote(f->x, NX, DIM, N_OVF_BYTES, 2, 1, o->f)) \
    /* smote_index */ \
    X(smi_src_null,        ASDNORM_E_NULL, O_IX, 0, asdnorm_smote_index(NULL, 3, 2, 1, &o->ix)) \
    X(smi_out_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_smote_index(f->cos, 3, 2, 1, NULL)) \
    X(smi_k0,              ASDNORM_E_ARG, O_IX, 0, asdnorm_smote_index(f->cos, 3, 0, 1, &o->ix)) \
    X(smi_one_target,      ASDNORM_E_TOO_FEW, O_IX, 0, asdnorm_smote_index(f->onetgt, 3, 2, 1, &o->ix)) \
    X(smi_empty,           ASDNORM_E_TOO_FEW, O_IX, 0, asdnorm_smote_index(f->empty, 3, 2, 1, &o->ix)) \
    /* standardized_scores */ \
    X(std_ix_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_standardized_scores(NULL, RATIO, f->x, NX, o->f)) \
    X(std_x_null,          ASDNORM_E_NULL, O_NONE, 0, asdnorm_standardized_scores(f->cos, RATIO, NULL, NX, o->f)) \
    X(std_scores_null,     ASDNORM_E_NULL, O_NONE, 0, asdnorm_standardized_scores(f->cos, RATIO, f->x, NX, NULL)) \
    X(std_norm_3,          ASDNORM_E_ENUM, O_NONE, 0, asdnorm_standardized_scores(f->cos, BADN(3), f->x, NX, o->f)) \
    X(std_norm_99,         ASDNORM_E_ENUM, O_NONE, 0, asdnorm_standardized_scores(f->euc, BADN(99), f->x, NX, o->f)) \
    X(std_not_final,       ASDNORM_E_STATE, O_NONE, 0, asdnorm_standardized_scores(f->open, RATIO, f->x, NX, o->f)) \
    X(std_n1,              ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_standardized_scores(f->cos, RATIO, f->x, 1, o->f)) \
    X(std_domain_too_small, ASDNORM_E_TOO_FEW, O_NONE, 0, asdnorm_standardized_scores(f->onetgt, RATIO, f->x, NX, o->f)) \
    X(std_nan,             ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_standardized_scores(f->cos, RATIO, f->x_nan, NX, o->f)) \
    X(std_zero_cosine,     ASDNORM_E_ZERO_VECTOR, O_NONE, 0, asdnorm_standardized_scores(f->cos, RATIO, f->x_zero, NX, o->f)) \
    X(std_big_euclidean,   ASDNORM_E_RANGE, O_NONE, 0, asdnorm_standardized_scores(f->euc, RATIO, f->x_big, NX, o->f)) \
    X(std_overflow,        ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_standardized_scores(f->cos, RATIO, f->x, N_OVF, o->f)) \
    X(std_overflow_bytes,  ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_standardized_scores(f->euc, RATIO, f->x, N_OVF_BYTES, o->f)) \
    X(std_zero_variance,   ASDNORM_E_DEGENERATE, O_NONE, 0, asdnorm_standardized_scores(f->euc, RATIO, f->x_same, NX, o->f)) \
    /* lof_new */ \
    X(lof_ix_null,         ASDNORM_E_NULL, O_LOF, 0, asdnorm_lof_new(NULL, 2, &o->lof)) \
    X(lof_out_null,        ASDNORM_E_NULL, O_NONE, 0, asdnorm_lof_new(f->cos, 2, NULL)) \
    X(lof_k0,              ASDNORM_E_ARG, O_LOF, 0, asdnorm_lof_new(f->cos, 0, &o->lof)) \
    X(lof_one_ref,         ASDNORM_E_TOO_FEW, O_LOF, 0, asdnorm_lof_new(f->one, 2, &o->lof)) \
    X(lof_empty,           ASDNORM_E_TOO_FEW, O_LOF, 0, asdnorm_lof_new(f->empty, 2, &o->lof)) \
    /* lof_score */ \
    X(lofs_lof_null,       ASDNORM_E_NULL, O_NONE, 0, asdnorm_lof_score(NULL, f->x, NX, o->f)) \
    X(lofs_x_null,         ASDNORM_E_NULL, O_NONE, 0, asdnorm_lof_score(f->lof_cos, NULL, NX, o->f)) \
    X(lofs_scores_null,    ASDNORM_E_NULL, O_NONE, 0, asdnorm_lof_score(f->lof_cos, f->x, NX, NULL)) \
    X(lofs_overflow,       ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_lof_score(f->lof_cos, f->x, N_OVF, o->f)) \
    X(lofs_overflow_bytes, ASDNORM_E_OVERFLOW, O_NONE, 0, asdnorm_lof_score(f->lof_euc, f->x, N_OVF_BYTES, o->f)) \
    X(lofs_nan,            ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_lof_score(f->lof_cos, f->x_nan, NX, o->f)) \
    X(lofs_inf,            ASDNORM_E_NONFINITE, O_NONE, 0, asdnorm_lof_score(f->lof_euc, f->x_inf, NX, o->f)) \
    X(lofs_zero_cosine,    ASDNORM_E_ZERO_VECTOR, O_NONE, 0, asdnorm_lof_score(f->lof_cos, f->x_zero, NX, o->f)) \
    X(lofs_big_euclidean,  ASDNORM_E_RANGE, O_NONE, 0, asdnorm_lof_score(f->lof_euc, f->x_big, NX, o->f))
/* clang-format on */

/* An allocator without its free function. */
static void *no_malloc(void *user, size_t size)
{
    (void)user;
    (void)size;
    return NULL;
}
static void *no_calloc(void *user, size_t n, size_t size)
{
    (void)user;
    (void)n;
    (void)size;
    return NULL;
}
static void *no_realloc(void *user, void *p, size_t size)
{
    (void)user;
    (void)p;
    (void)size;
    return NULL;
}
static const asdnorm_allocator k_no_free = {no_malloc, no_calloc, no_realloc, NULL, NULL};

typedef asdnorm_status (*case_fn)(fixture *f, outs *o);

typedef struct {
    const char *name;
    const char *call; /* the call as written, to find the function's name */
    case_fn fn;
    asdnorm_status expect;
    enum out_kind out;
    size_t aux; /* O_BADROW, O_NSECTIONS: the value; O_NONE: an alternative status, or 0 */
} table_row;

#define DEFINE_CASE(name, expect, out, aux, call)            \
    static asdnorm_status case_##name(fixture *f, outs *o)   \
    {                                                        \
        (void)f;                                             \
        (void)o;                                             \
        return call;                                         \
    }
CASES(DEFINE_CASE)

#define ROW(name, expect, out, aux, call) {#name, #call, case_##name, expect, out, aux},
static const table_row k_table[] = {CASES(ROW)};
#define NROWS (sizeof k_table / sizeof k_table[0])

/* The function a row calls: the identifier before the first '('. D23 is dcase2023. */
static void row_function(const table_row *r, char *out, size_t cap)
{
    const char *p = r->call;
    size_t n = strcspn(p, "(");
    if (strncmp(p, "D23", 3) == 0) {
        p = "asdnorm_dcase2023";
        n = strlen(p);
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* ------------------------------------------------------------------------ */

static void run_row(const table_row *r)
{
    fixture *f = malloc(sizeof *f);
    outs *o = malloc(sizeof *o), *pristine = malloc(sizeof *pristine);
    world_state *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    fixture_new(f);
    memset(o, 0xA5, sizeof *o);
    memset(pristine, 0xA5, sizeof *pristine);
    take_world(f, before);

    asdnorm_status st = r->fn(f, o);
    int alt_ok = r->out == O_NONE && r->aux != 0 && st == (asdnorm_status)r->aux;
    if (st != r->expect && !alt_ok)
        row_error("%s: %s returned %d (%s), expected %d (%s)", r->name, r->call, (int)st,
                 asdnorm_strerror(st), (int)r->expect, asdnorm_strerror(r->expect));

    switch (r->out) {
    case O_IX:
        if (o->ix != NULL)
            row_error("%s: a failed constructor left *out = %p, not NULL", r->name, (void *)o->ix);
        o->ix = pristine->ix;
        break;
    case O_SC:
        if (o->sc != NULL)
            row_error("%s: a failed constructor left *out = %p, not NULL", r->name, (void *)o->sc);
        o->sc = pristine->sc;
        break;
    case O_LOF:
        if (o->lof != NULL)
            row_error("%s: a failed constructor left *out = %p, not NULL", r->name, (void *)o->lof);
        o->lof = pristine->lof;
        break;
    case O_BADROW:
        if (o->bad_row != r->aux)
            row_error("%s: bad_row = %zu, expected %zu", r->name, o->bad_row, r->aux);
        o->bad_row = pristine->bad_row;
        break;
    case O_NEEDED:
        if (o->needed != f->ser_len)
            row_error("%s: *needed = %zu, expected %zu", r->name, o->needed, f->ser_len);
        o->needed = pristine->needed;
        break;
    case O_NSECTIONS:
        if (o->n_sections != r->aux)
            row_error("%s: *n_sections = %zu, expected %zu", r->name, o->n_sections, r->aux);
        o->n_sections = pristine->n_sections;
        break;
    case O_NONE:
        break;
    }
    if (memcmp(o, pristine, sizeof *o) != 0) {
        const unsigned char *a = (const unsigned char *)o, *b = (const unsigned char *)pristine;
        size_t at = 0;
        while (a[at] == b[at])
            at++;
        row_error("%s: the failed call wrote an out-parameter (byte %zu of the outs)", r->name, at);
    }
    take_world(f, after);
    assert_world_equal(before, after, r->name);

    fixture_free(f);
    free(f);
    free(o);
    free(pristine);
    free(before);
    free(after);
}

static void test_table(void **state)
{
    (void)state;
    /* For debugging: ASDNORM_TABLE_SKIP="row,row" leaves rows out (a crashing one). */
    const char *skip = getenv("ASDNORM_TABLE_SKIP");
    size_t skipped = 0;
    for (size_t i = 0; i < NROWS; i++) {
        if (skip && *skip) {
            const char *p = strstr(skip, k_table[i].name);
            size_t len = strlen(k_table[i].name);
            if (p && (p == skip || p[-1] == ',') && (p[len] == ',' || p[len] == '\0')) {
                print_message("  skipped %s (ASDNORM_TABLE_SKIP)\n", k_table[i].name);
                skipped++;
                continue;
            }
        }
        run_row(&k_table[i]);
    }
    if (skipped)
        g_row_failures += skipped;
    if (g_row_failures)
        fail_msg("%zu failures in %zu table rows", g_row_failures, NROWS);
    print_message("  %zu table rows: exact status, nothing changed\n", NROWS);
}

/* ------------------------------------------------------------------------ */
/* Functions without a status: NULL handles and version. */

static void test_null_handles(void **state)
{
    (void)state;
    assert_int_equal(asdnorm_index_size(NULL), 0);
    assert_int_equal(asdnorm_index_dim(NULL), 0);
    assert_int_equal(asdnorm_index_distance(NULL), ASDNORM_DISTANCE_COSINE);
    assert_int_equal(asdnorm_index_is_finalized(NULL), 0);
    asdnorm_index_free(NULL);
    asdnorm_scorer_free(NULL);
    asdnorm_lof_free(NULL);
}

static void test_version(void **state)
{
    (void)state;
    assert_non_null(asdnorm_version());
    assert_string_equal(asdnorm_version(), ASDNORM_VERSION_STRING);
    assert_int_equal(asdnorm_version_number(), ASDNORM_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", ASDNORM_VERSION_MAJOR, ASDNORM_VERSION_MINOR,
             ASDNORM_VERSION_PATCH);
    assert_string_equal(asdnorm_version(), want);
}

static void test_strerror(void **state)
{
    (void)state;
    enum { LAST = ASDNORM_E_BUFFER };
    const char *msg[LAST + 1];
    for (int s = 0; s <= LAST; s++) {
        msg[s] = asdnorm_strerror((asdnorm_status)s);
        if (msg[s] == NULL || msg[s][0] == '\0')
            fail_msg("asdnorm_strerror(%d) is NULL or empty", s);
        for (int t = 0; t < s; t++)
            if (strcmp(msg[s], msg[t]) == 0)
                fail_msg("asdnorm_strerror(%d) and (%d) are both \"%s\"", t, s, msg[s]);
    }
    const int unknown[] = {LAST + 1, 99, 1000, -1, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *m = asdnorm_strerror((asdnorm_status)unknown[i]);
        if (m == NULL || m[0] == '\0')
            fail_msg("asdnorm_strerror(%d) is NULL or empty", unknown[i]);
        for (int t = 0; t <= LAST; t++)
            if (strcmp(m, msg[t]) == 0)
                fail_msg("asdnorm_strerror(%d), an unknown code, reads as code %d: \"%s\"",
                         unknown[i], t, m);
    }
}

/* Failed calls that are easy to get wrong beyond the table: a finalized index
 * that a failed add or finalize must leave finalized, with every row checked. */
static void test_failed_add_keeps_finalized(void **state)
{
    (void)state;
    fixture *f = malloc(sizeof *f);
    fixture_new(f);
    /* Rows 0 … 4 valid, row 5 bad: nothing at all may be added. */
    float x[NX * DIM];
    memcpy(x, f->x, sizeof x);
    x[5 * DIM] = NAN;
    assert_int_equal(asdnorm_index_add(f->cos, x, NX, NULL), ASDNORM_E_NONFINITE);
    assert_int_equal(asdnorm_index_size(f->cos), NREF);
    assert_int_equal(asdnorm_index_is_finalized(f->cos), 1);
    /* The scorer still works against it. */
    float s[NX];
    assert_int_equal(asdnorm_scorer_score(f->sc_cos, f->x, NX, s, NULL), ASDNORM_OK);
    fixture_free(f);
    free(f);
}

/* Every function the header declares is called by this file. */
static void test_coverage(void **state)
{
    (void)state;
    /* ASDNORM_TEST_DATA is <source root>/tests/data, which need not exist. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", ASDNORM_TEST_DATA);
    char *cut = strstr(path, "/tests/data");
    assert_non_null(cut);
    snprintf(cut, sizeof path - (size_t)(cut - path), "/include/asdnorm/asdnorm.h");
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    static char text[1 << 17];
    size_t len = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[len] = '\0';

    /* Called outside the table, above. */
    static const char *other[] = {
        "asdnorm_version",    "asdnorm_version_number", "asdnorm_strerror",
        "asdnorm_index_free", "asdnorm_scorer_free",    "asdnorm_lof_free",
        "asdnorm_index_size", "asdnorm_index_dim",      "asdnorm_index_distance",
        "asdnorm_index_is_finalized",
    };
    size_t declared = 0, missing = 0;
    const char *p = text;
    while ((p = strstr(p, "ASDNORM_API")) != NULL) {
        p += strlen("ASDNORM_API");
        const char *paren = strchr(p, '(');
        if (paren == NULL)
            break;
        /* A declaration has only a type and a name before its '(' (the macro's own
         * definitions and the text after them do not). */
        if (strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ *\t\n") <
            (size_t)(paren - p))
            continue;
        const char *end = paren;
        while (end > p && (end[-1] == ' ' || end[-1] == '\n'))
            end--;
        const char *start = end;
        while (start > p && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
                             (start[-1] >= '0' && start[-1] <= '9')))
            start--;
        char name[80];
        size_t n = (size_t)(end - start);
        if (n == 0 || n >= sizeof name)
            continue;
        memcpy(name, start, n);
        name[n] = '\0';
        if (strncmp(name, "asdnorm_", 8) != 0)
            continue;
        declared++;
        int found = 0;
        for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
            found |= strcmp(other[i], name) == 0;
        size_t rows = 0;
        for (size_t i = 0; i < NROWS; i++) {
            char fn[80];
            row_function(&k_table[i], fn, sizeof fn);
            rows += strcmp(fn, name) == 0;
        }
        if (!found && rows == 0) {
            print_message("  %s: no invalid-argument row\n", name);
            missing++;
        }
    }
    assert_true(declared >= 37);
    if (missing)
        fail_msg("%zu public functions have no row in the table", missing);
    print_message("api_table: %zu public functions, %zu invalid-argument rows, "
                  "each with its exact status and nothing changed\n",
                  declared, NROWS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_null_handles),
        cmocka_unit_test(test_failed_add_keeps_finalized),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_coverage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
