/* SPDX-License-Identifier: MIT */
/* Exactness on every data family of bench/families.h (issue 12): isotropic,
 * loose clusters, tight clusters (nearest-neighbour cosine distance ≈ 10⁻⁴ and
 * ≈ 10⁻⁶), 30 % exact duplicates, all references identical, and a low-rank
 * family. For every distance, k-NN K = 1 and 16, ratio and difference:
 *  - the density constants equal a double brute force within double rounding;
 *  - the scores equal it within float rounding of the exact score, and the
 *    nearest position attains the minimum, the lowest position when references
 *    tie exactly (bitwise identical rows);
 *  - all of them are bitwise the same with 1 and 2 threads.
 * The clusters hold more references than any candidate list of the library,
 * so the paths for rows with many candidates within float rounding run.
 * Separately: all-identical and duplicated references with K ≥ the number of
 * copies. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../bench/families.h"
#include "testutil.h"

#define M 1000
#define N 240
#define DIM 160 /* M² / 2 · DIM above the library's threshold for finalize's threads */
#define CLUSTERS 8

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

/* Rows in double, normalized under cosine: the brute force's own copy. */
static double *prepared(asdnorm_distance dist, const float *x, size_t n, size_t dim)
{
    double *p = malloc(n * dim * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        double ss = 0;
        for (size_t k = 0; k < dim; k++)
            ss += (double)x[i * dim + k] * x[i * dim + k];
        const double s = dist == ASDNORM_DISTANCE_COSINE ? 1.0 / sqrt(ss) : 1.0;
        for (size_t k = 0; k < dim; k++)
            p[i * dim + k] = x[i * dim + k] * s;
    }
    return p;
}

/* math §2.1 on prepared rows: ¼‖x̂ − ŷ‖² (cosine, no cancellation), ‖x − y‖,
 * ‖x − y‖² / D, in double. */
static double bf_distance(asdnorm_distance dist, const double *a, const double *b, size_t dim)
{
    double s = 0;
    for (size_t k = 0; k < dim; k++) {
        const double d = a[k] - b[k];
        s += d * d;
    }
    switch (dist) {
    case ASDNORM_DISTANCE_COSINE: return s / 4;
    case ASDNORM_DISTANCE_EUCLIDEAN: return sqrt(s);
    case ASDNORM_DISTANCE_MSE: return s / (double)dim;
    }
    return NAN;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* k-NN density constants from the m × m distance matrix D. */
static void bf_density(const double *D, size_t m, size_t k, double *out)
{
    double *row = malloc(m * sizeof *row);
    for (size_t j = 0; j < m; j++) {
        size_t c = 0;
        for (size_t i = 0; i < m; i++)
            if (i != j)
                row[c++] = D[j * m + i];
        qsort(row, c, sizeof *row, cmp_double);
        const size_t kk = k < c ? k : c;
        double s = 0;
        for (size_t i = 0; i < kk; i++)
            s += row[i];
        out[j] = s / (double)kk;
    }
    free(row);
}

static double bf_score(asdnorm_norm norm, double d, double n)
{
    return norm == ASDNORM_NORM_RATIO ? d / fmax(n, ASDNORM_EPSILON) : d - n;
}

struct result {
    double *dens;
    float *scores[2]; /* ratio, difference */
    size_t *nearest[2];
};

static const asdnorm_norm k_norms[2] = {ASDNORM_NORM_RATIO, ASDNORM_NORM_DIFFERENCE};

static void run_library(asdnorm_distance dist, const float *y, size_t m, const float *x,
                        size_t n, size_t dim, size_t k, struct result *r)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(dim, dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, m, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, (double)k), ASDNORM_OK);
    r->dens = malloc(m * sizeof *r->dens);
    assert_int_equal(asdnorm_index_get_density(ix, r->dens, m), ASDNORM_OK);
    for (int q = 0; q < 2; q++) {
        asdnorm_scorer *sc = NULL;
        assert_int_equal(asdnorm_scorer_new(ix, k_norms[q], &sc), ASDNORM_OK);
        r->scores[q] = malloc(n * sizeof *r->scores[q]);
        r->nearest[q] = malloc(n * sizeof *r->nearest[q]);
        assert_int_equal(asdnorm_scorer_score(sc, x, n, r->scores[q], r->nearest[q]),
                         ASDNORM_OK);
        /* One test at a time is the matrix–vector path. */
        for (size_t t = 0; t < n; t += 37) {
            float s1;
            size_t j1;
            assert_int_equal(asdnorm_scorer_score(sc, x + t * dim, 1, &s1, &j1), ASDNORM_OK);
            assert_memory_equal(&s1, &r->scores[q][t], sizeof s1);
            assert_int_equal(j1, r->nearest[q][t]);
        }
        asdnorm_scorer_free(sc);
    }
    asdnorm_index_free(ix);
}

static void free_result(struct result *r)
{
    free(r->dens);
    for (int q = 0; q < 2; q++) {
        free(r->scores[q]);
        free(r->nearest[q]);
    }
}

/* The library's results against the brute force: D the m × m reference
 * distances, DX the n × m test distances. */
static void check_against(const char *what, const struct result *r, const double *D,
                          const double *DX, const float *y, size_t m, size_t n, size_t dim,
                          size_t k)
{
    double *want = malloc(m * sizeof *want);
    bf_density(D, m, k, want);
    double dmax = 0;
    for (size_t j = 0; j < m; j++) {
        if (!tu_close(r->dens[j], want[j], 1e-12, 1e-300))
            fail_msg("%s: density %zu: %.17g, brute force %.17g", what, j, r->dens[j], want[j]);
        dmax = fmax(dmax, want[j]);
    }
    for (int q = 0; q < 2; q++) {
        for (size_t t = 0; t < n; t++) {
            const double *row = DX + t * m;
            double best = INFINITY;
            size_t arg = 0;
            for (size_t j = 0; j < m; j++) {
                const double s = bf_score(k_norms[q], row[j], want[j]);
                if (s < best) {
                    best = s;
                    arg = j;
                }
            }
            /* Difference: d − n cancels; its rounding is relative to d and n. */
            const double tol = k_norms[q] == ASDNORM_NORM_DIFFERENCE ? 1e-12 * (dmax + row[arg])
                                                                     : 0.0;
            if (!tu_close(r->scores[q][t], best, 0x1p-23, tol))
                fail_msg("%s norm %d: score %zu: %.9g, brute force %.17g", what, (int)k_norms[q],
                         t, (double)r->scores[q][t], best);
            const size_t got = r->nearest[q][t];
            assert_true(got < m);
            if (got == arg)
                continue;
            /* Another reference may attain the minimum within double rounding,
             * but never an exact copy of the brute force's (lower) choice. */
            const double s = bf_score(k_norms[q], row[got], want[got]);
            if (!tu_close(s, best, 1e-12, tol) ||
                (got > arg && !memcmp(y + got * dim, y + arg * dim, dim * sizeof *y)))
                fail_msg("%s norm %d: nearest %zu: %zu (score %.17g), brute force %zu (%.17g)",
                         what, (int)k_norms[q], t, got, s, arg, best);
        }
    }
    free(want);
}

static void check_same(const struct result *a, const struct result *b, size_t m, size_t n)
{
    assert_memory_equal(a->dens, b->dens, m * sizeof *a->dens);
    for (int q = 0; q < 2; q++) {
        assert_memory_equal(a->scores[q], b->scores[q], n * sizeof *a->scores[q]);
        assert_memory_equal(a->nearest[q], b->nearest[q], n * sizeof *a->nearest[q]);
    }
}

/* One family: every distance, K = 1 and 16, with 1 and 2 threads. */
static void check_family(enum family f)
{
    float *y = malloc((size_t)M * DIM * sizeof *y), *x = malloc((size_t)N * DIM * sizeof *x);
    family_fill(f, y, M, DIM, CLUSTERS, 1 + (uint64_t)f, NULL, 0);
    family_fill(f, x, N, DIM, CLUSTERS, 101 + (uint64_t)f, y, M);
    double *D = malloc((size_t)M * M * sizeof *D), *DX = malloc((size_t)N * M * sizeof *DX);
    for (int dist = 0; dist < 3; dist++) {
        double *py = prepared((asdnorm_distance)dist, y, M, DIM);
        double *px = prepared((asdnorm_distance)dist, x, N, DIM);
        for (size_t i = 0; i < M; i++) {
            D[i * M + i] = 0;
            for (size_t j = i + 1; j < M; j++)
                D[i * M + j] = D[j * M + i] =
                    bf_distance((asdnorm_distance)dist, py + i * DIM, py + j * DIM, DIM);
        }
        for (size_t t = 0; t < N; t++)
            for (size_t j = 0; j < M; j++)
                DX[t * M + j] = bf_distance((asdnorm_distance)dist, px + t * DIM, py + j * DIM, DIM);
        static const size_t ks[] = {1, 16};
        for (size_t q = 0; q < 2; q++) {
            char what[64];
            snprintf(what, sizeof what, "%s distance %d K %zu", family_name[f], dist, ks[q]);
            struct result r1, r2;
            set_threads(1);
            run_library((asdnorm_distance)dist, y, M, x, N, DIM, ks[q], &r1);
            set_threads(2);
            run_library((asdnorm_distance)dist, y, M, x, N, DIM, ks[q], &r2);
            check_same(&r1, &r2, M, N);
            check_against(what, &r2, D, DX, y, M, N, DIM, ks[q]);
            free_result(&r1);
            free_result(&r2);
        }
        free(py);
        free(px);
    }
    free(D);
    free(DX);
    free(y);
    free(x);
}

static void test_iso(void **state)
{
    (void)state;
    check_family(FAM_ISO);
}

static void test_loose(void **state)
{
    (void)state;
    check_family(FAM_LOOSE);
}

static void test_tight4(void **state)
{
    (void)state;
    check_family(FAM_TIGHT4);
}

static void test_tight6(void **state)
{
    (void)state;
    check_family(FAM_TIGHT6);
}

static void test_dup30(void **state)
{
    (void)state;
    check_family(FAM_DUP30);
}

static void test_ident(void **state)
{
    (void)state;
    check_family(FAM_IDENT);
}

static void test_lowrank(void **state)
{
    (void)state;
    check_family(FAM_LOWRANK);
}

/* Groups of exact copies with K ≥ the number of copies: m rows, row i a copy
 * of row i mod g, so every group holds m / g copies. Every density is then
 * the mean of the K smallest distances, the copies' zeros among them; the
 * nearest reference of a test equal to a row is the group's lowest position. */
static void check_copies(asdnorm_distance dist, size_t m, size_t g, size_t k)
{
    enum { CD = 24 };
    uint64_t seed = 0xd0b + m + g + k;
    float *base = tu_gauss(&seed, g, CD, 0.0, 1.0);
    float *y = malloc(m * CD * sizeof *y);
    for (size_t i = 0; i < m; i++)
        memcpy(y + i * CD, base + (i % g) * CD, CD * sizeof *y);
    double *py = prepared(dist, y, m, CD);
    double *D = malloc(m * m * sizeof *D);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++)
            D[i * m + j] = bf_distance(dist, py + i * CD, py + j * CD, CD);
    const size_t kk = k < m - 1 ? k : m - 1;
    for (int threads = 1; threads <= 2; threads++) {
        set_threads(threads);
        struct result r;
        /* The tests: the rows of the last group, i.e. copies of references. */
        run_library(dist, y, m, y + (m - g) * CD, g, CD, k, &r);
        char what[64];
        snprintf(what, sizeof what, "copies m %zu g %zu K %zu", m, g, k);
        check_against(what, &r, D, D + (m - g) * m, y, m, g, CD, kk);
        for (int q = 0; q < 2; q++)
            for (size_t t = 0; t < g; t++)
                assert_int_equal(r.nearest[q][t], t); /* the lowest copy of group t */
        free_result(&r);
    }
    free(base);
    free(y);
    free(py);
    free(D);
}

static void test_copies(void **state)
{
    (void)state;
    for (int dist = 0; dist < 3; dist++) {
        check_copies((asdnorm_distance)dist, 12, 1, 11);  /* all identical, K = M − 1 */
        check_copies((asdnorm_distance)dist, 12, 1, 16);  /* K clipped to M − 1 */
        check_copies((asdnorm_distance)dist, 40, 1, 16);  /* all identical, K < copies */
        check_copies((asdnorm_distance)dist, 60, 12, 5);  /* 5 copies each, K = 5 */
        check_copies((asdnorm_distance)dist, 60, 12, 16); /* K > copies */
        check_copies((asdnorm_distance)dist, 300, 100, 1);
    }
}

/* The exact copies a finalized index keeps (asdnorm__index_copies) belong to
 * it: a clone scores like its original after the original is gone, and adding
 * rows to the clone and finalizing again updates its copies, not the
 * original's. The tests are copies of references: nearest = the lowest copy. */
static void test_clone_copies(void **state)
{
    (void)state;
    enum { CM = 40, CG = 8, CD = 16 };
    uint64_t seed = 0xc10e;
    float *base = tu_gauss(&seed, CG, CD, 0.0, 1.0);
    float y[CM * CD];
    for (size_t i = 0; i < CM; i++)
        memcpy(y + i * CD, base + (i % CG) * CD, CD * sizeof *y);
    asdnorm_index *a = NULL, *b = NULL;
    assert_int_equal(asdnorm_index_new(CD, ASDNORM_DISTANCE_COSINE, &a), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(a, y, CM - CG, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(a, ASDNORM_DENSITY_KNN, 2), ASDNORM_OK);
    assert_int_equal(asdnorm_index_clone(a, &b), ASDNORM_OK);
    float sa[CG], sb[CG];
    size_t na[CG], nb[CG];
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_scorer_new(a, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, y, CG, sa, na), ASDNORM_OK);
    asdnorm_scorer_free(sc);
    asdnorm_index_free(a);
    assert_int_equal(asdnorm_scorer_new(b, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, y, CG, sb, nb), ASDNORM_OK);
    assert_memory_equal(sa, sb, sizeof sa);
    assert_memory_equal(na, nb, sizeof na);
    for (size_t t = 0; t < CG; t++)
        assert_int_equal(nb[t], t);
    /* more copies, then finalize again: still the lowest copy, at score 0 */
    assert_int_equal(asdnorm_index_add(b, y + (CM - CG) * CD, CG, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(b, ASDNORM_DENSITY_KNN, 2), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, y, CG, sb, nb), ASDNORM_OK);
    for (size_t t = 0; t < CG; t++) {
        assert_int_equal(nb[t], t);
        assert_true(sb[t] == 0.0f);
    }
    asdnorm_scorer_free(sc);
    asdnorm_index_free(b);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso),   cmocka_unit_test(test_loose),
        cmocka_unit_test(test_tight4), cmocka_unit_test(test_tight6),
        cmocka_unit_test(test_dup30), cmocka_unit_test(test_ident),
        cmocka_unit_test(test_lowrank), cmocka_unit_test(test_copies),
        cmocka_unit_test(test_clone_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
