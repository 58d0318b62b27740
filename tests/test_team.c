/* SPDX-License-Identifier: MIT */
/* The library's own threads: finalize and batch scoring split their work
 * between OpenMP threads (scoring: groups of tests, each on one thread with a
 * single-threaded BLAS call per block). Whatever the thread count, every
 * density constant, score, nearest position and LOF score (its test-side
 * search is the non-symmetric neighbour path) must be bitwise the same, and
 * the densities and scores equal to a double brute force within float
 * rounding (LOF itself is checked against scikit-learn in test_lof.c); the
 * leave-one-out scores too (against a brute force in test_selfscore.c). The data hold a cluster
 * tighter than float resolution and exact duplicates, so that rows whose
 * candidate lists overflow (the rescan paths) run inside the worker threads.
 * When the BLAS is OpenBLAS, its thread count must be what it was before.
 * Each count runs with the library's threads calling the BLAS themselves
 * (asdnorm_set_blas_control(1), or a single-threaded BLAS), and 1 and 2 also
 * in the default mode, where an OpenBLAS with threads of its own splits the
 * BLAS calls instead. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "testutil.h"

/* Present when the BLAS is OpenBLAS. */
extern int openblas_get_num_threads(void) __attribute__((weak));

#define DIM 64
#define M 1500
#define N 900
/* M² / 2 · DIM (finalize) and N · M · DIM (scoring) above the library's
 * thresholds for using threads (64 · 2²⁰ and 2²⁰ element operations). */
#define CLUSTER 40

static const int k_threads[] = {1, 2, 1, 2, 3, 4};
static const int k_control[] = {0, 0, 1, 1, 1, 1}; /* asdnorm_set_blas_control */
#define NT (sizeof k_threads / sizeof k_threads[0])

/* Configuration t of the lists above. */
static void set_config(size_t t)
{
#ifdef _OPENMP
    omp_set_num_threads(k_threads[t]);
#endif
    assert_int_equal(asdnorm_set_blas_control(k_control[t]), ASDNORM_OK);
}

/* References: a Gaussian mixture, CLUSTER rows within 2⁻³⁰ (relative) of one
 * point, and 5 exact duplicates. Tests: the same mixture, and 30 tests near
 * the tight cluster. */
static void make_data(uint64_t *seed, float **y, float **x)
{
    float *ref = tu_gauss(seed, M, DIM, 0.0, 1.0);
    float *tst = tu_gauss(seed, N, DIM, 0.0, 1.0);
    float *base = ref; /* row 0 */
    for (size_t i = 0; i < M; i++)
        for (size_t k = 0; k < DIM; k++)
            ref[i * DIM + k] += (float)(i % 7) * 0.5f; /* 7 clusters */
    for (size_t c = 1; c <= CLUSTER; c++)
        for (size_t k = 0; k < DIM; k++)
            ref[(7 * c) * DIM + k] = base[k] * (1.0f + (float)((c * 31 + k) % 5) * 0x1p-23f);
    for (size_t c = 0; c < 5; c++)
        memcpy(ref + (M - 1 - c) * DIM, ref + 100 * DIM, DIM * sizeof *ref);
    for (size_t t = 0; t < 30; t++)
        for (size_t k = 0; k < DIM; k++)
            tst[(t * 29) * DIM + k] = base[k] + 1e-3f * tst[(t * 29) * DIM + k];
    *y = ref;
    *x = tst;
}

static void check_config(asdnorm_distance dist, asdnorm_density est, double param,
                         asdnorm_norm norm)
{
    uint64_t seed = 0x7ea3 + (uint64_t)dist * 31 + (uint64_t)norm;
    float *y, *x;
    make_data(&seed, &y, &x);

    double *dens[NT];
    float *scores[NT], *lof[NT], *self[NT];
    size_t *nearest[NT], *self_near[NT];
    const int before = openblas_get_num_threads ? openblas_get_num_threads() : 0;
    for (size_t t = 0; t < NT; t++) {
        set_config(t);
        asdnorm_index *ix = NULL;
        asdnorm_scorer *sc = NULL;
        assert_int_equal(asdnorm_index_new(DIM, dist, &ix), ASDNORM_OK);
        assert_int_equal(asdnorm_index_add(ix, y, M, NULL), ASDNORM_OK);
        assert_int_equal(asdnorm_index_finalize(ix, est, param), ASDNORM_OK);
        dens[t] = malloc(M * sizeof *dens[t]);
        assert_int_equal(asdnorm_index_get_density(ix, dens[t], M), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_new(ix, norm, &sc), ASDNORM_OK);
        scores[t] = malloc(N * sizeof *scores[t]);
        nearest[t] = malloc(N * sizeof *nearest[t]);
        assert_int_equal(asdnorm_scorer_score(sc, x, N, scores[t], nearest[t]), ASDNORM_OK);
        /* The leave-one-out scores: a k-NN pass whose rows update shared
         * minima, and the scorer's groups with a position left out. */
        self[t] = malloc(M * sizeof *self[t]);
        self_near[t] = malloc(M * sizeof *self_near[t]);
        assert_int_equal(asdnorm_scorer_self_scores(sc, self[t], self_near[t]), ASDNORM_OK);
        /* LOF's test-side neighbour search is the non-symmetric path. */
        asdnorm_lof *lm = NULL;
        assert_int_equal(asdnorm_lof_new(ix, 7, &lm), ASDNORM_OK);
        lof[t] = malloc(N * sizeof *lof[t]);
        assert_int_equal(asdnorm_lof_score(lm, x, N, lof[t]), ASDNORM_OK);
        asdnorm_lof_free(lm);
        if (openblas_get_num_threads)
            assert_int_equal(openblas_get_num_threads(), before);
        asdnorm_scorer_free(sc);
        asdnorm_index_free(ix);
    }
    set_config(NT - 1);
    assert_int_equal(asdnorm_set_blas_control(0), ASDNORM_OK);

    for (size_t t = 1; t < NT; t++) {
        assert_memory_equal(dens[t], dens[0], M * sizeof *dens[0]);
        assert_memory_equal(scores[t], scores[0], N * sizeof *scores[0]);
        assert_memory_equal(nearest[t], nearest[0], N * sizeof *nearest[0]);
        assert_memory_equal(lof[t], lof[0], N * sizeof *lof[0]);
        assert_memory_equal(self[t], self[0], M * sizeof *self[0]);
        assert_memory_equal(self_near[t], self_near[0], M * sizeof *self_near[0]);
    }

    double *want_dens = malloc(M * sizeof *want_dens);
    double *want = malloc(N * sizeof *want);
    tu_density(dist, y, M, DIM, est, param, want_dens);
    /* Absolute slack: the brute force normalizes cosine rows by division, off
     * by double rounding (≈ 1e-16 · ‖x̂ − ŷ‖) from the library's exact unit
     * vectors, which shows on near-duplicates; GWRP does not visit ranks whose
     * weight is below 2⁻⁴⁵ (docs/math.md §2.2: error ≤ 2⁻⁴⁵ · d_max / (1 − r),
     * d_max ≤ 1 under cosine, the only distance GWRP is used with here). */
    const double slack = est == ASDNORM_DENSITY_GWRP ? 0x1p-45 / (1.0 - param) : 1e-20;
    for (size_t j = 0; j < M; j++)
        if (!tu_close(dens[0][j], want_dens[j], 1e-12, slack))
            fail_msg("density %zu: %.17g, brute force %.17g", j, dens[0][j], want_dens[j]);
    tu_scores(dist, y, M, DIM, want_dens, est, norm, x, N, want, NULL);
    for (size_t i = 0; i < N; i++)
        if (!tu_close(scores[0][i], want[i], 0x1p-23, 0))
            fail_msg("score %zu: %.9g, brute force %.17g", i, (double)scores[0][i], want[i]);

    for (size_t t = 0; t < NT; t++) {
        free(dens[t]);
        free(scores[t]);
        free(nearest[t]);
        free(lof[t]);
        free(self[t]);
        free(self_near[t]);
    }
    free(want_dens);
    free(want);
    free(y);
    free(x);
}

static void test_cosine_ratio(void **state)
{
    (void)state;
    check_config(ASDNORM_DISTANCE_COSINE, ASDNORM_DENSITY_KNN, 5, ASDNORM_NORM_RATIO);
}

static void test_cosine_difference(void **state)
{
    (void)state;
    check_config(ASDNORM_DISTANCE_COSINE, ASDNORM_DENSITY_GWRP, 0.6, ASDNORM_NORM_DIFFERENCE);
}

static void test_euclidean_ratio(void **state)
{
    (void)state;
    check_config(ASDNORM_DISTANCE_EUCLIDEAN, ASDNORM_DENSITY_KNN, 1, ASDNORM_NORM_RATIO);
}

static void test_mse_none(void **state)
{
    (void)state;
    check_config(ASDNORM_DISTANCE_MSE, ASDNORM_DENSITY_KNN, 16, ASDNORM_NORM_NONE);
}

/* Finalize takes each strip's columns in windows of 16,384: M = 17,000 needs
 * two windows for the first strips. Densities against the brute force and
 * across thread counts. */
static void test_many_windows(void **state)
{
    (void)state;
    enum { BIG = 17000, BDIM = 4 };
    uint64_t seed = 0x5eed;
    float *y = tu_gauss(&seed, BIG, BDIM, 0.0, 1.0);
    memcpy(y + 16900 * BDIM, y + 3 * BDIM, BDIM * sizeof *y); /* a duplicate across windows */
    double *dens[NT];
    for (size_t t = 0; t < NT; t++) {
        set_config(t);
        asdnorm_index *ix = NULL;
        assert_int_equal(asdnorm_index_new(BDIM, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
        assert_int_equal(asdnorm_index_add(ix, y, BIG, NULL), ASDNORM_OK);
        assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 3), ASDNORM_OK);
        dens[t] = malloc(BIG * sizeof *dens[t]);
        assert_int_equal(asdnorm_index_get_density(ix, dens[t], BIG), ASDNORM_OK);
        asdnorm_index_free(ix);
    }
    set_config(NT - 1);
    assert_int_equal(asdnorm_set_blas_control(0), ASDNORM_OK);
    for (size_t t = 1; t < NT; t++)
        assert_memory_equal(dens[t], dens[0], BIG * sizeof *dens[0]);
    /* Brute force for every 37th row and the duplicated pair: the mean of
     * the 3 smallest distances to the other rows. */
    for (size_t j = 0; j < BIG; j++) {
        if (j % 37 != 0 && j != 3 && j != 16900)
            continue;
        double best[3] = {INFINITY, INFINITY, INFINITY};
        for (size_t i = 0; i < BIG; i++) {
            if (i == j)
                continue;
            double d = tu_distance(ASDNORM_DISTANCE_EUCLIDEAN, y + j * BDIM, y + i * BDIM, BDIM);
            for (int r = 0; r < 3; r++)
                if (d < best[r]) {
                    double t = best[r];
                    best[r] = d;
                    d = t;
                }
        }
        const double want = (best[0] + best[1] + best[2]) / 3;
        if (!tu_close(dens[0][j], want, 1e-12, 0))
            fail_msg("density %zu: %.17g, brute force %.17g", j, dens[0][j], want);
    }
    for (size_t t = 0; t < NT; t++)
        free(dens[t]);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cosine_ratio),
        cmocka_unit_test(test_cosine_difference),
        cmocka_unit_test(test_euclidean_ratio),
        cmocka_unit_test(test_mse_none),
        cmocka_unit_test(test_many_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
