/* SPDX-License-Identifier: MIT */
/* Out of memory: for every operation that allocates, make allocation n = 1, 2, …
 * fail (an allocator installed with asdnorm_set_allocator, the path every
 * allocation of the library takes) until the call succeeds. Each
 * failure must return ASDNORM_E_NOMEM, leave the handle and the out-parameters
 * exactly as they were (a score computed afterwards equals the reference), and
 * leak nothing: this test proves the last under ASan (.ci/sanitize.sh) and
 * valgrind (.ci/valgrind.sh), which fail on any leak at exit.
 *
 * The allocator counts the calling thread's allocations only, so OpenMP regions run
 * on one thread here (omp_set_num_threads(1)); test_omp_worker_allocations reports
 * whether the library allocates inside parallel regions at all. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp under -std=c11 */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"
#include "testfiles.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* The failing allocator: per thread, a count of allocations and the one to fail. */

static _Thread_local size_t fail_at; /* 0: never fail */
static _Thread_local size_t counter;

/* Make the n-th allocation from now fail (1 = the next one); 0 disables.
 * Returns how many allocations were made since the last call. */
static size_t alloc_fail_at(size_t n)
{
    size_t made = counter;
    counter = 0;
    fail_at = n;
    return made;
}

static bool inject_failure(void)
{
    counter++;
    return fail_at != 0 && counter == fail_at;
}

static void *fail_malloc(void *user, size_t size)
{
    (void)user;
    return inject_failure() ? NULL : malloc(size);
}

static void *fail_calloc(void *user, size_t n, size_t size)
{
    (void)user;
    return inject_failure() ? NULL : calloc(n, size);
}

static void *fail_realloc(void *user, void *p, size_t size)
{
    (void)user;
    return inject_failure() ? NULL : realloc(p, size);
}

static void fail_free(void *user, void *p)
{
    (void)user;
    free(p);
}

#define DIM 6
#define M 48
#define NPROBE 9

static size_t g_injected;   /* failures injected in all operations */
static size_t g_operations; /* operations driven to success */
#ifdef _OPENMP
static int g_omp_threads = 1; /* OpenMP threads the environment allows */
#endif

/* ------------------------------------------------------------------------ */
/* The driver. */

typedef asdnorm_status (*op_fn)(void *ctx);
typedef void (*check_fn)(void *ctx);

/* Run op with allocation n failing, n = 1, 2, … until no failure is injected
 * (the call made fewer than n allocations); then it must succeed. on_fail
 * checks that nothing changed after each failure. Returns the failures. */
static size_t inject(const char *what, op_fn op, check_fn on_fail, void *ctx)
{
    size_t failures = 0;
    for (size_t n = 1;; n++) {
        alloc_fail_at(n);
        asdnorm_status st = op(ctx);
        size_t made = alloc_fail_at(0);
        if (made < n) {
            if (st != ASDNORM_OK)
                fail_msg("%s: status %d (%s) without an injected failure (%zu allocations)",
                         what, (int)st, asdnorm_strerror(st), made);
            break;
        }
        if (st != ASDNORM_E_NOMEM)
            fail_msg("%s: allocation %zu of %zu failed, but the status is %d (%s)", what, n, made,
                     (int)st, asdnorm_strerror(st));
        failures++;
        if (on_fail)
            on_fail(ctx);
    }
    print_message("  %-44s %3zu allocation failures injected\n", what, failures);
    g_injected += failures;
    g_operations++;
    return failures;
}

/* Allocations a call makes on the calling thread. */
static size_t count_allocations(op_fn op, void *ctx)
{
    alloc_fail_at(0);
    asdnorm_status st = op(ctx);
    size_t made = alloc_fail_at(0);
    assert_int_equal(st, ASDNORM_OK);
    return made;
}

/* ------------------------------------------------------------------------ */
/* Data. */

static float *g_refs;   /* M × DIM */
static uint8_t g_doms[M];
static float *g_extra;  /* 7 × DIM, rows to add */
static uint8_t g_extra_doms[7];
static float *g_probe;  /* NPROBE × DIM */

/* Metric data: two sections, source and target normals, anomalies. */
#define NMET 40
static double g_mscores[NMET];
static uint8_t g_mlabels[NMET], g_mdomains[NMET];
static int32_t g_msections[NMET];

static int setup(void **state)
{
    (void)state;
    uint64_t s = 0x5eed0007ull;
    g_refs = tu_gauss(&s, M, DIM, 0.3, 1.0);
    for (size_t i = 0; i < M; i++)
        g_doms[i] = (uint8_t)(i % 3 == 0 ? ASDNORM_DOMAIN_TARGET : ASDNORM_DOMAIN_SOURCE);
    g_extra = tu_gauss(&s, 7, DIM, 0.1, 1.0);
    for (size_t i = 0; i < 7; i++)
        g_extra_doms[i] = (uint8_t)(i % 3);
    g_probe = tu_gauss(&s, NPROBE, DIM, 0.2, 1.3);
    for (size_t i = 0; i < NMET; i++) {
        g_msections[i] = i < NMET / 2 ? 3 : 7;
        g_mlabels[i] = (uint8_t)(i % 4 == 3);
        g_mdomains[i] = (uint8_t)(i % 2 ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET);
        g_mscores[i] = tu_uniform(&s) + 0.4 * g_mlabels[i];
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_refs);
    free(g_extra);
    free(g_probe);
    print_message("oom: %zu allocation failures injected over %zu operations, "
                  "each returned ASDNORM_E_NOMEM and changed nothing\n",
                  g_injected, g_operations);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Snapshots of everything observable about an index. */

typedef struct {
    size_t size, dim;
    asdnorm_distance distance;
    int finalized;
    asdnorm_density est;
    double param;
    double *density;
    uint8_t *domains;
    float *vectors;
    float probe_scores[NPROBE];
    size_t probe_nearest[NPROBE];
} snap;

static void snap_take(const asdnorm_index *ix, snap *s)
{
    memset(s, 0, sizeof *s);
    alloc_fail_at(0);
    s->size = asdnorm_index_size(ix);
    s->dim = asdnorm_index_dim(ix);
    s->distance = asdnorm_index_distance(ix);
    s->finalized = asdnorm_index_is_finalized(ix);
    s->domains = malloc(s->size + 1);
    s->vectors = malloc((s->size * s->dim + 1) * sizeof(float));
    assert_int_equal(asdnorm_index_get_domains(ix, s->domains, s->size), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_vectors(ix, 0, s->size, s->vectors), ASDNORM_OK);
    if (s->finalized) {
        s->density = malloc((s->size + 1) * sizeof(double));
        assert_int_equal(asdnorm_index_get_estimator(ix, &s->est, &s->param), ASDNORM_OK);
        assert_int_equal(asdnorm_index_get_density(ix, s->density, s->size), ASDNORM_OK);
        asdnorm_scorer *sc = NULL;
        asdnorm_norm norm = s->est == ASDNORM_DENSITY_NONE ? ASDNORM_NORM_NONE : ASDNORM_NORM_RATIO;
        assert_int_equal(asdnorm_scorer_new(ix, norm, &sc), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_score(sc, g_probe, NPROBE, s->probe_scores,
                                              s->probe_nearest), ASDNORM_OK);
        asdnorm_scorer_free(sc);
    }
}

static void snap_free(snap *s)
{
    free(s->density);
    free(s->domains);
    free(s->vectors);
    memset(s, 0, sizeof *s);
}

static void snap_assert_equal(const snap *a, const snap *b, const char *what)
{
    if (a->size != b->size || a->dim != b->dim || a->distance != b->distance ||
        a->finalized != b->finalized)
        fail_msg("%s: index changed: size %zu→%zu dim %zu→%zu distance %d→%d finalized %d→%d",
                 what, a->size, b->size, a->dim, b->dim, (int)a->distance, (int)b->distance,
                 a->finalized, b->finalized);
    if (memcmp(a->domains, b->domains, a->size) != 0)
        fail_msg("%s: domain labels changed", what);
    if (memcmp(a->vectors, b->vectors, a->size * a->dim * sizeof(float)) != 0)
        fail_msg("%s: reference vectors changed", what);
    if (a->finalized) {
        if (a->est != b->est || memcmp(&a->param, &b->param, sizeof a->param) != 0)
            fail_msg("%s: estimator changed: %d/%g → %d/%g", what, (int)a->est, a->param,
                     (int)b->est, b->param);
        if (memcmp(a->density, b->density, a->size * sizeof(double)) != 0)
            fail_msg("%s: density constants changed", what);
        if (memcmp(a->probe_scores, b->probe_scores, sizeof a->probe_scores) != 0 ||
            memcmp(a->probe_nearest, b->probe_nearest, sizeof a->probe_nearest) != 0)
            fail_msg("%s: scores against the index changed", what);
    }
}

static asdnorm_index *make_index(asdnorm_distance dist, asdnorm_density est, double param)
{
    asdnorm_index *ix = NULL;
    alloc_fail_at(0);
    assert_int_equal(asdnorm_index_new(DIM, dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, g_refs, M, g_doms), ASDNORM_OK);
    if ((int)est >= 0)
        assert_int_equal(asdnorm_index_finalize(ix, est, param), ASDNORM_OK);
    return ix;
}

#define UNFINALIZED ((asdnorm_density)-1)

static const char *dist_name(asdnorm_distance d)
{
    return d == ASDNORM_DISTANCE_COSINE ? "cosine" : d == ASDNORM_DISTANCE_EUCLIDEAN ? "euclidean"
                                                                                     : "mse";
}

static const char *est_name(asdnorm_density e)
{
    return e == ASDNORM_DENSITY_NONE ? "none" : e == ASDNORM_DENSITY_KNN ? "knn" : "gwrp";
}

static const asdnorm_density k_est[3] = {ASDNORM_DENSITY_NONE, ASDNORM_DENSITY_KNN,
                                         ASDNORM_DENSITY_GWRP};
static const double k_param[3] = {0, 4, 0.5};

/* ------------------------------------------------------------------------ */
/* Index: new, add, finalize. */

typedef struct {
    asdnorm_index *ix;
    snap before;
    const char *what;
    asdnorm_distance dist;
    asdnorm_density est;
    double param;
    asdnorm_index *out;
} index_ctx;

static void index_unchanged(void *p)
{
    index_ctx *c = p;
    snap now;
    snap_take(c->ix, &now);
    snap_assert_equal(&c->before, &now, c->what);
    snap_free(&now);
}

static asdnorm_status op_new(void *p)
{
    index_ctx *c = p;
    return asdnorm_index_new(DIM, c->dist, &c->out);
}

static void new_failed(void *p)
{
    index_ctx *c = p;
    assert_null(c->out);
    c->out = (asdnorm_index *)(uintptr_t)0x1;
}

static asdnorm_status op_add(void *p)
{
    index_ctx *c = p;
    return asdnorm_index_add(c->ix, g_extra, 7, g_extra_doms);
}

static asdnorm_status op_finalize(void *p)
{
    index_ctx *c = p;
    return asdnorm_index_finalize(c->ix, c->est, c->param);
}

static void test_index_new(void **state)
{
    (void)state;
    for (int d = 0; d < 3; d++) {
        index_ctx c = {.dist = (asdnorm_distance)d,
                       .out = (asdnorm_index *)(uintptr_t)0x1};
        char what[64];
        snprintf(what, sizeof what, "index_new (%s)", dist_name(c.dist));
        c.what = what;
        inject(what, op_new, new_failed, &c);
        assert_non_null(c.out);
        assert_int_equal(asdnorm_index_size(c.out), 0);
        assert_int_equal(asdnorm_index_dim(c.out), DIM);
        asdnorm_index_free(c.out);
    }
}

static void test_index_add(void **state)
{
    (void)state;
    for (int d = 0; d < 3; d++) {
        /* Into an empty index, an un-finalized one and a finalized one. */
        for (int kind = 0; kind < 3; kind++) {
            index_ctx c = {.dist = (asdnorm_distance)d};
            char what[64];
            alloc_fail_at(0);
            if (kind == 0)
                assert_int_equal(asdnorm_index_new(DIM, c.dist, &c.ix), ASDNORM_OK);
            else
                c.ix = make_index(c.dist, kind == 1 ? UNFINALIZED : ASDNORM_DENSITY_KNN, 3);
            snprintf(what, sizeof what, "add 7 to %s index (%s)",
                     kind == 0 ? "an empty" : kind == 1 ? "an open" : "a finalized",
                     dist_name(c.dist));
            c.what = what;
            snap_take(c.ix, &c.before);
            inject(what, op_add, index_unchanged, &c);

            /* It worked: the rows are appended and the index is open again. */
            size_t m0 = c.before.size;
            assert_int_equal(asdnorm_index_size(c.ix), m0 + 7);
            assert_int_equal(asdnorm_index_is_finalized(c.ix), 0);
            float got[7 * DIM];
            uint8_t doms[M + 7];
            float *old = malloc((m0 * DIM + 1) * sizeof *old);
            assert_int_equal(asdnorm_index_get_vectors(c.ix, 0, m0, old), ASDNORM_OK);
            assert_memory_equal(old, c.before.vectors, m0 * DIM * sizeof *old);
            free(old);
            assert_int_equal(asdnorm_index_get_vectors(c.ix, m0, 7, got), ASDNORM_OK);
            for (size_t r = 0; r < 7; r++) {
                const float *row = g_extra + r * DIM;
                double norm = 0;
                for (size_t j = 0; j < DIM; j++)
                    norm += (double)row[j] * row[j];
                norm = c.dist == ASDNORM_DISTANCE_COSINE ? sqrt(norm) : 1.0;
                for (size_t j = 0; j < DIM; j++)
                    if (!tu_close(got[r * DIM + j], row[j] / norm, 1e-6, 1e-7))
                        fail_msg("%s: stored row %zu differs from the added one", what, r);
            }
            assert_int_equal(asdnorm_index_get_domains(c.ix, doms, m0 + 7), ASDNORM_OK);
            assert_memory_equal(doms + m0, g_extra_doms, 7);
            snap_free(&c.before);
            asdnorm_index_free(c.ix);
        }
    }
}

/* A progress callback that lets the call go on and keeps the last fraction
 * (asdnorm_index_set_progress): the progress paths run under the failures too. */
static int keep_last(double fraction, void *user)
{
    *(double *)user = fraction;
    return 0;
}

static void test_index_finalize(void **state)
{
    (void)state;
    for (int d = 0; d < 3; d++) {
        for (int e = 0; e < 3; e++) {
            /* From open, and re-finalizing a finalized index with another estimator. */
            for (int kind = 0; kind < 2; kind++) {
                index_ctx c = {.dist = (asdnorm_distance)d, .est = k_est[e],
                               .param = k_param[e]};
                char what[80];
                c.ix = make_index(c.dist, kind == 0 ? UNFINALIZED : k_est[(e + 1) % 3],
                                  k_param[(e + 1) % 3]);
                snprintf(what, sizeof what, "finalize %s %s index (%s)%s", est_name(c.est),
                         kind == 0 ? "an open" : "a finalized", dist_name(c.dist),
                         d == 1 ? ", progress" : "");
                c.what = what;
                double last = -1.0;
                if (d == 1)
                    assert_int_equal(asdnorm_index_set_progress(c.ix, keep_last, &last),
                                     ASDNORM_OK);
                snap_take(c.ix, &c.before);
                inject(what, op_finalize, index_unchanged, &c);
                assert_int_equal(asdnorm_index_is_finalized(c.ix), 1);
                if (d == 1 && last != 1.0)
                    fail_msg("%s: the last progress reported is %g, not 1", what, last);

                /* Independent density constants. */
                double want[M], got[M];
                tu_density(c.dist, g_refs, M, DIM, c.est, c.param, want);
                assert_int_equal(asdnorm_index_get_density(c.ix, got, M), ASDNORM_OK);
                for (size_t j = 0; j < M; j++)
                    if (!tu_close(got[j], want[j], 1e-6, 1e-9))
                        fail_msg("%s: n_%zu = %.17g, brute force %.17g", what, j, got[j],
                                 want[j]);
                snap_free(&c.before);
                asdnorm_index_free(c.ix);
            }
        }
    }
}

static asdnorm_status op_clone(void *p)
{
    index_ctx *c = p;
    return asdnorm_index_clone(c->ix, &c->out);
}

/* A failed clone leaves the source as it was and *out NULL; the successful one is
 * equal to its source (the snapshot compares sizes, rows, domains and densities). */
static void test_index_clone(void **state)
{
    (void)state;
    for (int d = 0; d < 3; d++) {
        for (int kind = 0; kind < 2; kind++) {
            index_ctx c = {.dist = (asdnorm_distance)d};
            char what[80];
            c.ix = make_index(c.dist, kind == 0 ? UNFINALIZED : ASDNORM_DENSITY_KNN, 4);
            snprintf(what, sizeof what, "clone %s index (%s)",
                     kind == 0 ? "an open" : "a finalized", dist_name(c.dist));
            c.what = what;
            snap_take(c.ix, &c.before);
            inject(what, op_clone, new_failed, &c);
            assert_non_null(c.out);
            index_unchanged(&c);
            snap copy;
            snap_take(c.out, &copy);
            snap_assert_equal(&c.before, &copy, what);
            snap_free(&copy);
            snap_free(&c.before);
            asdnorm_index_free(c.out);
            asdnorm_index_free(c.ix);
        }
    }
}

/* The same with the OpenMP threads the environment allows: the per-thread
 * scratch is then allocated (on this thread) once per thread. */
static void test_index_finalize_threads(void **state)
{
    (void)state;
#ifdef _OPENMP
    if (g_omp_threads < 2) {
        print_message("  OpenMP limited to 1 thread: nothing more to inject\n");
        return;
    }
    omp_set_num_threads(g_omp_threads);
    for (int e = 1; e < 3; e++) {
        index_ctx c = {.dist = ASDNORM_DISTANCE_COSINE, .est = k_est[e], .param = k_param[e]};
        char what[80];
        c.ix = make_index(c.dist, UNFINALIZED, 0);
        snprintf(what, sizeof what, "finalize %s, %d OpenMP threads", est_name(c.est),
                 g_omp_threads);
        c.what = what;
        snap_take(c.ix, &c.before);
        inject(what, op_finalize, index_unchanged, &c);
        assert_int_equal(asdnorm_index_is_finalized(c.ix), 1);
        snap_free(&c.before);
        asdnorm_index_free(c.ix);
    }
    omp_set_num_threads(1);
#else
    print_message("  built without OpenMP\n");
#endif
}

/* ------------------------------------------------------------------------ */
/* Scorer: creation and scoring. */

typedef struct {
    asdnorm_index *ix;
    snap before;
    const char *what;
    asdnorm_norm norm;
    asdnorm_scorer *sc;
    float scores[NPROBE];
    size_t nearest[NPROBE];
} scorer_ctx;

static asdnorm_status op_scorer_new(void *p)
{
    scorer_ctx *c = p;
    return asdnorm_scorer_new(c->ix, c->norm, &c->sc);
}

static void scorer_new_failed(void *p)
{
    scorer_ctx *c = p;
    assert_null(c->sc);
    c->sc = (asdnorm_scorer *)(uintptr_t)0x1;
    snap now;
    snap_take(c->ix, &now);
    snap_assert_equal(&c->before, &now, c->what);
    snap_free(&now);
}

static asdnorm_status op_score(void *p)
{
    scorer_ctx *c = p;
    return asdnorm_scorer_score(c->sc, g_probe, NPROBE, c->scores, c->nearest);
}

static void score_failed(void *p)
{
    scorer_ctx *c = p;
    for (size_t i = 0; i < NPROBE; i++)
        if (c->scores[i] != -7.0f || c->nearest[i] != 77)
            fail_msg("%s: a failed score wrote its outputs", c->what);
}

static void test_scorer(void **state)
{
    (void)state;
    for (int d = 0; d < 3; d++) {
        for (int e = 0; e < 3; e++) {
            for (int nm = 0; nm < 3; nm++) {
                scorer_ctx c = {.norm = (asdnorm_norm)nm, .sc = (asdnorm_scorer *)(uintptr_t)0x1};
                char what[80];
                c.ix = make_index((asdnorm_distance)d, k_est[e], k_param[e]);
                snap_take(c.ix, &c.before);
                snprintf(what, sizeof what, "scorer_new norm %d, %s, %s", nm, est_name(k_est[e]),
                         dist_name((asdnorm_distance)d));
                c.what = what;
                inject(what, op_scorer_new, scorer_new_failed, &c);
                assert_non_null(c.sc);

                for (size_t i = 0; i < NPROBE; i++) {
                    c.scores[i] = -7.0f;
                    c.nearest[i] = 77;
                }
                snprintf(what, sizeof what, "scorer_score norm %d, %s, %s%s", nm,
                         est_name(k_est[e]), dist_name((asdnorm_distance)d),
                         nm == 1 ? ", progress" : "");
                double last = -1.0;
                if (nm == 1)
                    assert_int_equal(asdnorm_scorer_set_progress(c.sc, keep_last, &last),
                                     ASDNORM_OK);
                inject(what, op_score, score_failed, &c);
                if (nm == 1 && last != 1.0)
                    fail_msg("%s: the last progress reported is %g, not 1", what, last);
                /* The header: scoring allocates nothing. */
                size_t made = count_allocations(op_score, &c);
                if (made != 0)
                    fail_msg("%s: scoring made %zu allocations; the header says none", what, made);

                double want[NPROBE], density[M];
                tu_density((asdnorm_distance)d, g_refs, M, DIM, k_est[e], k_param[e], density);
                tu_scores((asdnorm_distance)d, g_refs, M, DIM, density, k_est[e], c.norm, g_probe,
                          NPROBE, want, NULL);
                for (size_t i = 0; i < NPROBE; i++)
                    if (!tu_close(c.scores[i], want[i], 1e-5, 1e-6))
                        fail_msg("%s: score %zu = %.9g, brute force %.9g", what, i,
                                 (double)c.scores[i], want[i]);
                asdnorm_scorer_free(c.sc);
                snap_free(&c.before);
                asdnorm_index_free(c.ix);
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Persistence: save over an existing file, load from a file and a buffer. */

typedef struct {
    asdnorm_index *ix;   /* finalized, saved */
    snap before;
    const char *what;
    char dir[PATH_MAX], path[PATH_MAX + 32];
    unsigned char *old;  /* the bytes at path before saving */
    size_t old_len;
    unsigned char *buf;
    size_t len;
    asdnorm_index *out;
} io_ctx;

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static asdnorm_status op_save(void *p)
{
    io_ctx *c = p;
    return asdnorm_index_save(c->ix, c->path);
}

static void save_failed(void *p)
{
    io_ctx *c = p;
    size_t len;
    unsigned char *now = tf_read_all(c->path, &len);
    if (len != c->old_len || memcmp(now, c->old, len) != 0)
        fail_msg("%s: a failed save changed the file it would have replaced", c->what);
    free(now);
    if (dir_entries(c->dir) != 1)
        fail_msg("%s: a failed save left %zu files in its directory", c->what,
                 dir_entries(c->dir));
    snap s;
    snap_take(c->ix, &s);
    snap_assert_equal(&c->before, &s, c->what);
    snap_free(&s);
}

static asdnorm_status op_load(void *p)
{
    io_ctx *c = p;
    return asdnorm_index_load(c->path, &c->out);
}

static asdnorm_status op_load_buffer(void *p)
{
    io_ctx *c = p;
    return asdnorm_index_load_buffer(c->buf, c->len, &c->out);
}

static void load_failed(void *p)
{
    io_ctx *c = p;
    assert_null(c->out);
    c->out = (asdnorm_index *)(uintptr_t)0x1;
}

static asdnorm_status op_serialize(void *p)
{
    io_ctx *c = p;
    size_t needed = 0;
    asdnorm_status st = asdnorm_index_serialize(c->ix, c->buf, c->len, &needed);
    if (st == ASDNORM_OK)
        assert_int_equal(needed, c->len);
    return st;
}

static void test_io(void **state)
{
    (void)state;
    for (int d = 0; d < 3; d++) {
        for (int e = 0; e < 3; e++) {
            io_ctx c = {0};
            char what[80];
            const char *tmp = getenv("TMPDIR");
            snprintf(c.dir, sizeof c.dir, "%s/asdnorm-oom-XXXXXX", tmp && *tmp ? tmp : "/tmp");
            assert_non_null(mkdtemp(c.dir));
            snprintf(c.path, sizeof c.path, "%s/index.asdn", c.dir);

            /* An older index already at the path: a failed save must keep it. */
            asdnorm_index *older = make_index((asdnorm_distance)d, ASDNORM_DENSITY_NONE, 0);
            assert_int_equal(asdnorm_index_add(older, g_extra, 7, NULL), ASDNORM_OK);
            assert_int_equal(asdnorm_index_finalize(older, ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
            assert_int_equal(asdnorm_index_save(older, c.path), ASDNORM_OK);
            asdnorm_index_free(older);
            c.old = tf_read_all(c.path, &c.old_len);

            c.ix = make_index((asdnorm_distance)d, k_est[e], k_param[e]);
            snap_take(c.ix, &c.before);
            snprintf(what, sizeof what, "save %s %s", est_name(k_est[e]),
                     dist_name((asdnorm_distance)d));
            c.what = what;
            inject(what, op_save, save_failed, &c);
            assert_int_equal(dir_entries(c.dir), 1);

            /* The saved bytes are the serialized bytes. */
            size_t needed = 0;
            assert_int_equal(asdnorm_index_serialize(c.ix, NULL, 0, &needed), ASDNORM_E_BUFFER);
            c.len = needed;
            c.buf = malloc(c.len);
            snprintf(what, sizeof what, "serialize %s %s", est_name(k_est[e]),
                     dist_name((asdnorm_distance)d));
            inject(what, op_serialize, NULL, &c);
            size_t flen;
            unsigned char *fbytes = tf_read_all(c.path, &flen);
            assert_int_equal(flen, c.len);
            assert_memory_equal(fbytes, c.buf, flen);
            free(fbytes);

            /* Load from the file and from the buffer: bit-identical to the saved index. */
            for (int from = 0; from < 2; from++) {
                c.out = (asdnorm_index *)(uintptr_t)0x1;
                snprintf(what, sizeof what, "load %s %s %s", from ? "buffer" : "file",
                         est_name(k_est[e]), dist_name((asdnorm_distance)d));
                inject(what, from ? op_load_buffer : op_load, load_failed, &c);
                assert_non_null(c.out);
                snap loaded;
                snap_take(c.out, &loaded);
                snap_assert_equal(&c.before, &loaded, what);
                snap_free(&loaded);
                asdnorm_index_free(c.out);
            }

            free(c.buf);
            free(c.old);
            snap_free(&c.before);
            asdnorm_index_free(c.ix);
            assert_int_equal(unlink(c.path), 0);
            assert_int_equal(rmdir(c.dir), 0);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Baselines. */

#define KM_K 4
#define SM_NEW 11

typedef struct {
    asdnorm_index *ix;
    snap before;
    const char *what;
    /* kmeans */
    float centroids[KM_K * DIM];
    double inertia;
    /* smote */
    float synth[SM_NEW * DIM];
    /* lof */
    asdnorm_lof *lof;
    float scores[NPROBE];
    float ref_scores[NPROBE];
    /* constructors of indexes */
    asdnorm_index *out;
    size_t k;
} base_ctx;

static void fill_f(float *p, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        p[i] = v;
}

static int all_f(const float *p, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&p[i], &v, sizeof v) != 0)
            return 0;
    return 1;
}

static asdnorm_status op_kmeans(void *p)
{
    base_ctx *c = p;
    return asdnorm_kmeans(g_refs, M, DIM, KM_K, 3, 50, 1234, c->centroids, &c->inertia);
}

static void kmeans_failed(void *p)
{
    base_ctx *c = p;
    if (!all_f(c->centroids, KM_K * DIM, -3.0f) || c->inertia != -5.0)
        fail_msg("%s: a failed call wrote its outputs", c->what);
}

static asdnorm_status op_smote(void *p)
{
    base_ctx *c = p;
    return asdnorm_smote(g_refs, M, DIM, SM_NEW, 5, 99, c->synth);
}

static void smote_failed(void *p)
{
    base_ctx *c = p;
    if (!all_f(c->synth, SM_NEW * DIM, -3.0f))
        fail_msg("%s: a failed call wrote its outputs", c->what);
}

static void ix_unchanged(base_ctx *c)
{
    snap now;
    snap_take(c->ix, &now);
    snap_assert_equal(&c->before, &now, c->what);
    snap_free(&now);
}

static asdnorm_status op_lof_new(void *p)
{
    base_ctx *c = p;
    return asdnorm_lof_new(c->ix, c->k, &c->lof);
}

static void lof_new_failed(void *p)
{
    base_ctx *c = p;
    assert_null(c->lof);
    c->lof = (asdnorm_lof *)(uintptr_t)0x1;
    ix_unchanged(c);
}

static asdnorm_status op_lof_score(void *p)
{
    base_ctx *c = p;
    return asdnorm_lof_score(c->lof, g_probe, NPROBE, c->scores);
}

static void lof_score_failed(void *p)
{
    base_ctx *c = p;
    if (!all_f(c->scores, NPROBE, -3.0f))
        fail_msg("%s: a failed call wrote its outputs", c->what);
    /* The model is still usable and gives the same scores. */
    float again[NPROBE];
    alloc_fail_at(0);
    assert_int_equal(asdnorm_lof_score(c->lof, g_probe, NPROBE, again), ASDNORM_OK);
    assert_memory_equal(again, c->ref_scores, sizeof again);
}

static asdnorm_status op_source_means(void *p)
{
    base_ctx *c = p;
    return asdnorm_source_means(c->ix, c->k, 2, 42, &c->out);
}

static asdnorm_status op_smote_index(void *p)
{
    base_ctx *c = p;
    return asdnorm_smote_index(c->ix, 0, 3, 42, &c->out);
}

static void index_ctor_failed(void *p)
{
    base_ctx *c = p;
    assert_null(c->out);
    c->out = (asdnorm_index *)(uintptr_t)0x1;
    ix_unchanged(c);
}

static asdnorm_status op_standardized(void *p)
{
    base_ctx *c = p;
    return asdnorm_standardized_scores(c->ix, ASDNORM_NORM_RATIO, g_probe, NPROBE, c->scores);
}

static void standardized_failed(void *p)
{
    base_ctx *c = p;
    if (!all_f(c->scores, NPROBE, -3.0f))
        fail_msg("%s: a failed call wrote its outputs", c->what);
    ix_unchanged(c);
}

static void test_kmeans_smote(void **state)
{
    (void)state;
    base_ctx c = {0};
    float ref_c[KM_K * DIM], ref_s[SM_NEW * DIM];
    double ref_inertia;
    alloc_fail_at(0);
    assert_int_equal(asdnorm_kmeans(g_refs, M, DIM, KM_K, 3, 50, 1234, ref_c, &ref_inertia),
                     ASDNORM_OK);
    assert_int_equal(asdnorm_smote(g_refs, M, DIM, SM_NEW, 5, 99, ref_s), ASDNORM_OK);

    fill_f(c.centroids, KM_K * DIM, -3.0f);
    c.inertia = -5.0;
    c.what = "kmeans";
    inject(c.what, op_kmeans, kmeans_failed, &c);
    assert_memory_equal(c.centroids, ref_c, sizeof ref_c);
    assert_memory_equal(&c.inertia, &ref_inertia, sizeof ref_inertia);

    fill_f(c.synth, SM_NEW * DIM, -3.0f);
    c.what = "smote";
    inject(c.what, op_smote, smote_failed, &c);
    assert_memory_equal(c.synth, ref_s, sizeof ref_s);
}

static void test_index_baselines(void **state)
{
    (void)state;
    for (int d = 0; d < 3; d++) {
        base_ctx c = {0};
        char what[80];
        c.what = what;
        c.ix = make_index((asdnorm_distance)d, ASDNORM_DENSITY_KNN, 3);
        snap_take(c.ix, &c.before);

        /* lof_new, then lof_score with that model. */
        asdnorm_lof *ref_lof = NULL;
        alloc_fail_at(0);
        assert_int_equal(asdnorm_lof_new(c.ix, 5, &ref_lof), ASDNORM_OK);
        assert_int_equal(asdnorm_lof_score(ref_lof, g_probe, NPROBE, c.ref_scores), ASDNORM_OK);
        asdnorm_lof_free(ref_lof);

        c.k = 5;
        c.lof = (asdnorm_lof *)(uintptr_t)0x1;
        snprintf(what, sizeof what, "lof_new %s", dist_name((asdnorm_distance)d));
        inject(what, op_lof_new, lof_new_failed, &c);
        assert_non_null(c.lof);
        fill_f(c.scores, NPROBE, -3.0f);
        snprintf(what, sizeof what, "lof_score %s", dist_name((asdnorm_distance)d));
        inject(what, op_lof_score, lof_score_failed, &c);
        assert_memory_equal(c.scores, c.ref_scores, sizeof c.scores);
        asdnorm_lof_free(c.lof);

        /* source_means and smote_index: the same index as without failures. */
        for (int which = 0; which < 2; which++) {
            asdnorm_index *ref = NULL;
            alloc_fail_at(0);
            c.k = 3;
            if (which == 0)
                assert_int_equal(asdnorm_source_means(c.ix, c.k, 2, 42, &ref), ASDNORM_OK);
            else
                assert_int_equal(asdnorm_smote_index(c.ix, 0, 3, 42, &ref), ASDNORM_OK);
            snap want;
            snap_take(ref, &want);
            asdnorm_index_free(ref);

            c.out = (asdnorm_index *)(uintptr_t)0x1;
            snprintf(what, sizeof what, "%s %s", which ? "smote_index" : "source_means",
                     dist_name((asdnorm_distance)d));
            inject(what, which ? op_smote_index : op_source_means, index_ctor_failed, &c);
            assert_non_null(c.out);
            snap got;
            snap_take(c.out, &got);
            snap_assert_equal(&want, &got, what);
            snap_free(&got);
            snap_free(&want);
            asdnorm_index_free(c.out);
        }

        /* standardized_scores */
        float ref_std[NPROBE];
        alloc_fail_at(0);
        assert_int_equal(asdnorm_standardized_scores(c.ix, ASDNORM_NORM_RATIO, g_probe, NPROBE,
                                                     ref_std),
                         ASDNORM_OK);
        fill_f(c.scores, NPROBE, -3.0f);
        snprintf(what, sizeof what, "standardized_scores %s", dist_name((asdnorm_distance)d));
        inject(what, op_standardized, standardized_failed, &c);
        assert_memory_equal(c.scores, ref_std, sizeof ref_std);

        snap_free(&c.before);
        asdnorm_index_free(c.ix);
    }
}

/* ------------------------------------------------------------------------ */
/* Metrics. */

typedef struct {
    const char *what;
    double value;
    double pvalue;
    size_t n_sections;
    int32_t ids[4];
    double values[12];
    double official;
} met_ctx;

static void met_fill(met_ctx *c)
{
    c->value = c->pvalue = c->official = -9.0;
    c->n_sections = 99;
    for (int i = 0; i < 4; i++)
        c->ids[i] = -9;
    for (int i = 0; i < 12; i++)
        c->values[i] = -9.0;
}

static void met_failed(void *p)
{
    met_ctx *c = p;
    met_ctx fresh = {.what = c->what};
    met_fill(&fresh);
    if (memcmp(c, &fresh, sizeof *c) != 0)
        fail_msg("%s: a failed call wrote its outputs", c->what);
}

static asdnorm_status op_auc(void *p)
{
    met_ctx *c = p;
    return asdnorm_auc(g_mlabels, g_mscores, NMET, &c->value);
}

static asdnorm_status op_pauc(void *p)
{
    met_ctx *c = p;
    return asdnorm_pauc(g_mlabels, g_mscores, NMET, 0.1, &c->pvalue);
}

static asdnorm_status op_hmean(void *p)
{
    met_ctx *c = p;
    return asdnorm_hmean(g_mscores, NMET, &c->value);
}

static asdnorm_status op_count_sections(void *p)
{
    met_ctx *c = p;
    return asdnorm_count_sections(g_msections, NMET, &c->n_sections);
}

static asdnorm_status op_dcase2023(void *p)
{
    met_ctx *c = p;
    return asdnorm_dcase2023(g_mscores, g_mlabels, g_mdomains, g_msections, NMET, 0.1, 4, c->ids,
                             c->values, &c->n_sections, &c->official);
}

static asdnorm_status op_dcase2020(void *p)
{
    met_ctx *c = p;
    return asdnorm_dcase2020(g_mscores, g_mlabels, g_msections, NMET, 0.1, 4, c->ids, c->values,
                             &c->n_sections, &c->official);
}

/* Mann–Whitney AUC by brute force over all pairs. */
static double brute_auc(const uint8_t *labels, const double *scores, size_t n)
{
    double num = 0, pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (labels[i] == 1 && labels[j] == 0) {
                pairs++;
                num += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
            }
    return num / pairs;
}

static void test_metrics(void **state)
{
    (void)state;
    struct {
        const char *what;
        op_fn op;
    } ops[] = {
        {"auc", op_auc},
        {"pauc", op_pauc},
        {"hmean", op_hmean},
        {"count_sections", op_count_sections},
        {"dcase2023", op_dcase2023},
        {"dcase2020", op_dcase2020},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        met_ctx c = {.what = ops[i].what}, ref = {.what = ops[i].what};
        met_fill(&ref);
        alloc_fail_at(0);
        assert_int_equal(ops[i].op(&ref), ASDNORM_OK);
        met_fill(&c);
        inject(c.what, ops[i].op, met_failed, &c);
        assert_memory_equal(&c, &ref, sizeof c);
        if (ops[i].op == op_auc)
            assert_true(tu_close(c.value, brute_auc(g_mlabels, g_mscores, NMET), 1e-12, 0));
        if (ops[i].op == op_count_sections)
            assert_int_equal(c.n_sections, 2);
    }
}

/* ------------------------------------------------------------------------ */
/* Whether the library allocates inside OpenMP worker threads, where the
 * thread-local counter does not reach. Each worker of libgomp's pool keeps its
 * own counter; a parallel region of ours reads them after the call. */

#ifdef _OPENMP
static size_t worker_allocations(op_fn op, void *ctx, int threads)
{
    omp_set_num_threads(threads);
    size_t total = 0;
#pragma omp parallel reduction(+ : total)
    total += alloc_fail_at(0);
    asdnorm_status st = op(ctx);
    assert_int_equal(st, ASDNORM_OK);
    size_t workers = 0;
#pragma omp parallel reduction(+ : workers)
    {
        size_t made = alloc_fail_at(0);
        if (omp_get_thread_num() != 0)
            workers += made;
    }
    omp_set_num_threads(1);
    (void)total;
    return workers;
}

typedef struct {
    asdnorm_index *ix;
    float scores[NPROBE];
    float centroids[KM_K * DIM];
    float synth[SM_NEW * DIM];
    double inertia;
    asdnorm_index *out;
    asdnorm_lof *lof;
} omp_ctx;

static asdnorm_status omp_finalize_knn(void *p)
{
    omp_ctx *c = p;
    return asdnorm_index_finalize(c->ix, ASDNORM_DENSITY_KNN, 4);
}

static asdnorm_status omp_finalize_gwrp(void *p)
{
    omp_ctx *c = p;
    return asdnorm_index_finalize(c->ix, ASDNORM_DENSITY_GWRP, 0.5);
}

static asdnorm_status omp_kmeans(void *p)
{
    omp_ctx *c = p;
    return asdnorm_kmeans(g_refs, M, DIM, KM_K, 3, 50, 1234, c->centroids, &c->inertia);
}

static asdnorm_status omp_smote(void *p)
{
    omp_ctx *c = p;
    return asdnorm_smote(g_refs, M, DIM, SM_NEW, 5, 99, c->synth);
}

static asdnorm_status omp_lof(void *p)
{
    omp_ctx *c = p;
    asdnorm_status st = asdnorm_lof_new(c->ix, 5, &c->lof);
    if (st == ASDNORM_OK)
        st = asdnorm_lof_score(c->lof, g_probe, NPROBE, c->scores);
    asdnorm_lof_free(c->lof);
    return st;
}

static asdnorm_status omp_standardized(void *p)
{
    omp_ctx *c = p;
    return asdnorm_standardized_scores(c->ix, ASDNORM_NORM_RATIO, g_probe, NPROBE, c->scores);
}

static asdnorm_status omp_source_means(void *p)
{
    omp_ctx *c = p;
    asdnorm_status st = asdnorm_source_means(c->ix, 3, 2, 42, &c->out);
    asdnorm_index_free(c->out);
    return st;
}
#endif

static void test_omp_worker_allocations(void **state)
{
    (void)state;
#ifdef _OPENMP
    if (g_omp_threads < 2) {
        /* OMP_NUM_THREADS=1 (as under valgrind, where libgomp's pool threads,
         * alive at exit, would show as possibly lost memory): nothing to ask. */
        print_message("  OpenMP limited to 1 thread: worker allocations not examined\n");
        return;
    }
    omp_ctx c = {0};
    c.ix = make_index(ASDNORM_DISTANCE_COSINE, ASDNORM_DENSITY_KNN, 3);
    struct {
        const char *what;
        op_fn op;
    } ops[] = {
        {"finalize knn", omp_finalize_knn}, {"finalize gwrp", omp_finalize_gwrp},
        {"kmeans", omp_kmeans},             {"smote", omp_smote},
        {"lof_new + lof_score", omp_lof},   {"standardized_scores", omp_standardized},
        {"source_means", omp_source_means},
    };
    size_t found = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t w = worker_allocations(ops[i].op, &c, g_omp_threads);
        if (w) {
            print_message("  NOTE: %s allocates %zu times inside OpenMP worker threads\n",
                          ops[i].what, w);
            found++;
        }
    }
    print_message("  OpenMP worker-thread allocations: %s\n",
                  found ? "found (see the notes above)" : "none");
    asdnorm_index_free(c.ix);
#else
    print_message("  built without OpenMP: no worker threads\n");
#endif
}

int main(void)
{
    const asdnorm_allocator failing = {fail_malloc, fail_calloc, fail_realloc, fail_free, NULL};
    if (asdnorm_set_allocator(&failing) != ASDNORM_OK)
        return 1;
#ifdef _OPENMP
    /* One thread: every allocation happens on this thread, where the allocator counts. */
    g_omp_threads = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_new),
        cmocka_unit_test(test_index_add),
        cmocka_unit_test(test_index_finalize),
        cmocka_unit_test(test_index_finalize_threads),
        cmocka_unit_test(test_index_clone),
        cmocka_unit_test(test_scorer),
        cmocka_unit_test(test_io),
        cmocka_unit_test(test_kmeans_smote),
        cmocka_unit_test(test_index_baselines),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_omp_worker_allocations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
