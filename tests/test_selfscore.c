/* SPDX-License-Identifier: MIT */
/* asdnorm_scorer_self_scores and asdnorm_scorer_threshold (docs/math.md §2.5)
 * against a brute force in long double that computes, for every reference i
 * and every other j, the density of y_j on the references without y_i from
 * scratch, then the minimum: random, clustered and duplicated data, every
 * distance, k-NN (K = 1, 3, clipped), GWRP (r = 0, 0.5, 1), NONE, every
 * normalization, raw centroids; the same results for any thread count; the
 * threshold on hand-derived cases; bad arguments refused, outputs untouched. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define DIM 8

/* d(x, y) of math §2.1 in long double, x the query: under cosine x is
 * normalized, and y too unless raw (a centroid, used as stored). */
static long double ld_distance(asdnorm_distance kind, const float *x, const float *y, bool raw)
{
    long double xx = 0, yy = 0, dd = 0;
    for (size_t k = 0; k < DIM; k++) {
        xx += (long double)x[k] * x[k];
        yy += (long double)y[k] * y[k];
        dd += ((long double)x[k] - y[k]) * ((long double)x[k] - y[k]);
    }
    if (kind == ASDNORM_DISTANCE_EUCLIDEAN)
        return sqrtl(dd);
    if (kind == ASDNORM_DISTANCE_MSE)
        return dd / DIM;
    const long double nx = sqrtl(xx), ny = raw ? 1.0L : sqrtl(yy);
    long double s = 0;
    for (size_t k = 0; k < DIM; k++) {
        const long double t = x[k] / nx - y[k] / ny;
        s += t * t;
    }
    return s / 4 + (raw ? (1 - yy) / 4 : 0);
}

/* The references and what the brute force derives from them. */
struct brute {
    asdnorm_distance kind;
    size_t m;
    long double *d; /* m × m: d[a·m + b] = d(y_a, y_b), y_a the query */
    size_t *order;  /* m × (m − 1): per row, the others by (distance, position) */
    long double phi;
};

static const long double *cmp_row;

static int cmp_by_row(const void *a, const void *b)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (cmp_row[x] != cmp_row[y])
        return cmp_row[x] < cmp_row[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static struct brute brute_new(asdnorm_distance kind, const float *y, const bool *raw, size_t m)
{
    struct brute b = {kind, m, malloc(m * m * sizeof(long double)),
                      malloc(m * (m - 1) * sizeof(size_t)), 0};
    for (size_t a = 0; a < m; a++)
        for (size_t c = 0; c < m; c++)
            b.d[a * m + c] = ld_distance(kind, y + a * DIM, y + c * DIM, raw && raw[c]);
    for (size_t a = 0; a < m; a++) {
        size_t *o = b.order + a * (m - 1), n = 0;
        for (size_t c = 0; c < m; c++)
            if (c != a)
                o[n++] = c;
        cmp_row = b.d + a * m;
        qsort(o, n, sizeof *o, cmp_by_row);
    }
    b.phi = tu_ratio_floor(kind, y, m, DIM); /* the index's φ, kept */
    return b;
}

static void brute_free(struct brute *b)
{
    free(b->d);
    free(b->order);
}

/* n_j^(−i): y_j's density on the references without y_i, from its sorted row. */
static long double loo_density(const struct brute *b, size_t j, size_t i, asdnorm_density est,
                               double param)
{
    const size_t *o = b->order + j * (b->m - 1);
    long double num = 0, den = 0, w = 1;
    size_t used = 0;
    const size_t kk = est == ASDNORM_DENSITY_KNN && param < (double)(b->m - 2) ? (size_t)param
                                                                               : b->m - 2;
    for (size_t t = 0; t < b->m - 1 && used < kk; t++) {
        if (o[t] == i)
            continue;
        num += (est == ASDNORM_DENSITY_KNN ? 1 : w) * b->d[j * b->m + o[t]];
        den += est == ASDNORM_DENSITY_KNN ? 1 : w;
        w *= param;
        used++;
    }
    return num / den;
}

/* The term of reference j in y_i's leave-one-out score. */
static long double loo_term(const struct brute *b, size_t i, size_t j, asdnorm_density est,
                            double param, asdnorm_norm norm)
{
    const long double d = b->d[i * b->m + j];
    if (est == ASDNORM_DENSITY_NONE || norm == ASDNORM_NORM_NONE)
        return d;
    const long double n = loo_density(b, j, i, est, param);
    return norm == ASDNORM_NORM_RATIO ? d / (n > b->phi ? n : b->phi) : d - n;
}

/* The library's self scores and nearest against the brute force, on one thread:
 * this test runs under valgrind (the 'unit' suite), where an OpenMP team's threads
 * outlive the test and their stacks count as leaks. tests/test_team.c checks that
 * 1-4 threads give the same self scores bitwise. */
static void check(const struct brute *b, asdnorm_index *ix, asdnorm_density est, double param,
                  asdnorm_norm norm)
{
    const size_t m = b->m;
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_scorer_new(ix, norm, &sc), ASDNORM_OK);
    float *s1 = malloc(m * sizeof *s1);
    size_t *n1 = malloc(m * sizeof *n1);
    assert_int_equal(asdnorm_scorer_set_threads(sc, 1), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_self_scores(sc, s1, n1), ASDNORM_OK);
    /* The scale of the terms, for an absolute tolerance (difference scores near 0). */
    long double scale = 0;
    for (size_t t = 0; t < m * m; t++)
        scale = b->d[t] > scale ? b->d[t] : scale;
    for (size_t i = 0; i < m; i++) {
        long double best = INFINITY;
        for (size_t j = 0; j < m; j++)
            if (j != i) {
                const long double v = loo_term(b, i, j, est, param, norm);
                best = v < best ? v : best;
            }
        const long double tol = 4e-7L * fabsl(best) + 1e-11L * scale;
        if (best > FLT_MAX)
            best = FLT_MAX;
        if (!(fabsl((long double)s1[i] - best) <= tol))
            fail_msg("kind %d est %d param %g norm %d: self score %zu is %.9g, brute %.12Lg",
                     (int)b->kind, (int)est, param, (int)norm, i, (double)s1[i], best);
        assert_true(n1[i] != i && n1[i] < m);
        const long double at = loo_term(b, i, n1[i], est, param, norm);
        if (!(at - best <= tol))
            fail_msg("kind %d est %d norm %d: nearest %zu of %zu scores %.12Lg, best %.12Lg",
                     (int)b->kind, (int)est, (int)norm, n1[i], i, at, best);
    }
    free(s1);
    free(n1);
    asdnorm_scorer_free(sc);
}

static const struct {
    asdnorm_density est;
    double param;
} estimators[] = {
    {ASDNORM_DENSITY_KNN, 1},    {ASDNORM_DENSITY_KNN, 3},    {ASDNORM_DENSITY_KNN, 1000},
    {ASDNORM_DENSITY_GWRP, 0.0}, {ASDNORM_DENSITY_GWRP, 0.5}, {ASDNORM_DENSITY_GWRP, 1.0},
    {ASDNORM_DENSITY_NONE, 0},
};

/* Every estimator and normalization on the references y (m rows). */
static void check_all(asdnorm_distance kind, const float *y, size_t m)
{
    struct brute b = brute_new(kind, y, NULL, m);
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, kind, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, m, NULL), ASDNORM_OK);
    for (size_t e = 0; e < sizeof estimators / sizeof *estimators; e++) {
        assert_int_equal(asdnorm_index_finalize(ix, estimators[e].est, estimators[e].param),
                         ASDNORM_OK);
        for (int norm = 0; norm < 3; norm++)
            check(&b, ix, estimators[e].est, estimators[e].param, (asdnorm_norm)norm);
    }
    asdnorm_index_free(ix);
    brute_free(&b);
}

/* The data families, m rows each. */
static float *family(int f, size_t m, uint64_t seed)
{
    uint64_t s = seed;
    float *y = tu_gauss(&s, m, DIM, 0.3, 1.0);
    if (f == 1) /* a dense source cluster and a sparse target one */
        for (size_t i = 0; i < m; i++)
            for (size_t k = 0; k < DIM; k++)
                y[i * DIM + k] = i < m * 4 / 5 ? 1.0f + 0.01f * y[i * DIM + k]
                                               : (k == 0 ? -2.0f : 0.5f) + 0.3f * y[i * DIM + k];
    if (f == 2) { /* copies: a group of 5 (more than K + 1), pairs, a triple */
        for (size_t c = 1; c < 5; c++)
            memcpy(y + (7 * c) * DIM, y, DIM * sizeof *y);
        memcpy(y + 3 * DIM, y + 4 * DIM, DIM * sizeof *y);
        memcpy(y + (m - 1) * DIM, y + 2 * DIM, DIM * sizeof *y);
        memcpy(y + (m - 2) * DIM, y + 2 * DIM, DIM * sizeof *y);
    }
    return y;
}

static void test_brute(asdnorm_distance kind)
{
    for (int f = 0; f < 3; f++) {
        float *y = family(f, 50, 1000 + (uint64_t)f);
        check_all(kind, y, 50);
        free(y);
    }
    /* The smallest sets: M = 3 (K″ = 1) and 4. */
    for (size_t m = 3; m <= 4; m++) {
        float *y = family(0, m, 7 + m);
        check_all(kind, y, m);
        free(y);
    }
}

static void test_brute_cosine(void **state)
{
    (void)state;
    test_brute(ASDNORM_DISTANCE_COSINE);
}

static void test_brute_euclidean(void **state)
{
    (void)state;
    test_brute(ASDNORM_DISTANCE_EUCLIDEAN);
}

static void test_brute_mse(void **state)
{
    (void)state;
    test_brute(ASDNORM_DISTANCE_MSE);
}

/* More references than one block of the scorer (2048), tightly clustered. */
static void test_large(void **state)
{
    (void)state;
    const size_t m = 2100;
    float *y = family(1, m, 99);
    struct brute b = brute_new(ASDNORM_DISTANCE_EUCLIDEAN, y, NULL, m);
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, m, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 3), ASDNORM_OK);
    check(&b, ix, ASDNORM_DENSITY_KNN, 3, ASDNORM_NORM_RATIO);
    asdnorm_index_free(ix);
    brute_free(&b);
    free(y);
}

/* Raw rows under cosine (the centroids of source means): d(y_i, y_j) is not
 * d(y_j, y_i), and a centroid is not at distance 0 from itself. */
static void test_raw_centroids(void **state)
{
    (void)state;
    const size_t m0 = 60, k = 8;
    float *y0 = family(1, m0, 5);
    uint8_t dom[60];
    for (size_t i = 0; i < m0; i++)
        dom[i] = i < 48 ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;
    asdnorm_index *src = NULL, *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_COSINE, &src), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(src, y0, m0, dom), ASDNORM_OK);
    assert_int_equal(asdnorm_source_means(src, k, 2, 3, &ix), ASDNORM_OK);
    const size_t m = asdnorm_index_size(ix);
    assert_int_equal(m, k + 12);
    float y[20 * DIM];
    bool raw[20];
    assert_int_equal(asdnorm_index_get_vectors(ix, 0, k, y), ASDNORM_OK);
    memcpy(y + k * DIM, y0 + 48 * DIM, 12 * DIM * sizeof *y);
    for (size_t i = 0; i < m; i++)
        raw[i] = i < k;
    struct brute b = brute_new(ASDNORM_DISTANCE_COSINE, y, raw, m);
    for (size_t e = 0; e < sizeof estimators / sizeof *estimators; e++) {
        assert_int_equal(asdnorm_index_finalize(ix, estimators[e].est, estimators[e].param),
                         ASDNORM_OK);
        for (int norm = 0; norm < 3; norm++)
            check(&b, ix, estimators[e].est, estimators[e].param, (asdnorm_norm)norm);
    }
    brute_free(&b);
    asdnorm_index_free(ix);
    asdnorm_index_free(src);
    free(y0);
}

/* 1-D euclidean references 0, 1, 3, 6, 10, k-NN K = 1, ratio. Densities
 * without i, by hand: i = 0: n(1) = 2 (its nearest is then 3), n(3) = 2,
 * n(6) = 3, n(10) = 4, terms 1/2, 3/2, 6/3, 10/4: 1/2 at 1. i = 1: n(0) = 3,
 * n(3) = 3, n(6) = 3, n(10) = 4: 1/3 at 0. i = 3: n(0) = n(1) = 1, n(6) = 4,
 * n(10) = 4: 3/4 at 6. i = 6: n(3) = 2, n(10) = 7: 4/7 at 10. i = 10:
 * n(6) = 3: 4/3 at 6. Sorted: 1/3, 1/2, 4/7, 3/4, 4/3. */
static void test_hand(void **state)
{
    (void)state;
    const float y[5] = {0, 1, 3, 6, 10};
    asdnorm_index *ix = NULL;
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_index_new(1, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, 5, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    float s[5], t;
    size_t near[5];
    assert_int_equal(asdnorm_scorer_self_scores(sc, s, near), ASDNORM_OK);
    const float want[5] = {0.5f, (float)(1.0 / 3), 0.75f, (float)(4.0 / 7), (float)(4.0 / 3)};
    const size_t want_near[5] = {1, 0, 3, 4, 3};
    for (size_t i = 0; i < 5; i++) {
        assert_true(s[i] == want[i]);
        assert_int_equal(near[i], want_near[i]);
    }
    /* ⌊fpr · 5⌋ scores may lie above: 0 → the largest, 1 → the 4th smallest … */
    const struct {
        double fpr;
        float t;
    } q[] = {{0.01, (float)(4.0 / 3)}, {0.19, (float)(4.0 / 3)}, {0.2, 0.75f},
             {0.39, 0.75f},            {0.4, (float)(4.0 / 7)}, {0.6, 0.5f},
             {0.8, (float)(1.0 / 3)},  {0.99, (float)(1.0 / 3)}};
    for (size_t c = 0; c < sizeof q / sizeof *q; c++) {
        assert_int_equal(asdnorm_scorer_threshold(sc, q[c].fpr, &t), ASDNORM_OK);
        assert_true(t == q[c].t);
    }
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
}

/* Ties: without a density the self scores are the nearest-neighbour distances
 * 1, 1, 2, 3, 4, 4 (references 0, 1, 3, 6, 10, 14). 0.5 · 6 allows 3 above:
 * t = 2 (3, 4, 4 above); 1/6 allows 1, but the two 4s tie, so t = 4 with none
 * above; 0.34 · 6 = 2.04 allows 2: t = 3. */
static void test_quantile_ties(void **state)
{
    (void)state;
    const float y[6] = {0, 1, 3, 6, 10, 14};
    asdnorm_index *ix = NULL;
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_index_new(1, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, 6, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    float t;
    assert_int_equal(asdnorm_scorer_threshold(sc, 0.5, &t), ASDNORM_OK);
    assert_true(t == 2.0f);
    assert_int_equal(asdnorm_scorer_threshold(sc, 1.0 / 6, &t), ASDNORM_OK);
    assert_true(t == 4.0f);
    assert_int_equal(asdnorm_scorer_threshold(sc, 0.34, &t), ASDNORM_OK);
    assert_true(t == 3.0f);
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
}

/* fpr · M computed in double a hair below an integer counts as it: references
 * i² (i < 100) have nearest-neighbour distances 1, 1, 3, 5, …, 197 (2i − 1);
 * 0.57 · 100 is 56.99999999999999 in double and allows 57 above: t is the 43rd
 * smallest, 83 (85 with 56); 0.3 · 100 allows 30: the 70th, 137. */
static void test_quantile_rounding(void **state)
{
    (void)state;
    float y[100];
    for (size_t i = 0; i < 100; i++)
        y[i] = (float)(i * i);
    asdnorm_index *ix = NULL;
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_index_new(1, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, 100, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 2), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_NONE, &sc), ASDNORM_OK);
    float t;
    assert_true(0.57 * 100 < 57.0);
    assert_int_equal(asdnorm_scorer_threshold(sc, 0.57, &t), ASDNORM_OK);
    assert_true(t == 83.0f);
    assert_int_equal(asdnorm_scorer_threshold(sc, 0.3, &t), ASDNORM_OK);
    assert_true(t == 137.0f);
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
}

static void test_errors(void **state)
{
    (void)state;
    uint64_t seed = 3;
    float *y = tu_gauss(&seed, 4, DIM, 0.0, 1.0);
    asdnorm_index *ix = NULL;
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    float s[4] = {-7, -7, -7, -7}, t = -7;
    size_t near[4] = {9, 9, 9, 9};
#define UNTOUCHED()                                                                            \
    for (size_t i = 0; i < 4; i++) {                                                           \
        assert_true(s[i] == -7.0f);                                                            \
        assert_int_equal(near[i], 9);                                                          \
    }                                                                                          \
    assert_true(t == -7.0f)
    assert_int_equal(asdnorm_scorer_self_scores(NULL, s, near), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_scorer_self_scores(sc, NULL, near), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_scorer_self_scores(sc, s, near), ASDNORM_E_STATE); /* empty */
    assert_int_equal(asdnorm_scorer_threshold(NULL, 0.1, &t), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_scorer_threshold(sc, 0.1, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_scorer_threshold(sc, 0.1, &t), ASDNORM_E_STATE);
    /* Not finalized after an add. */
    assert_int_equal(asdnorm_index_add(ix, y, 2, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_self_scores(sc, s, near), ASDNORM_E_STATE);
    /* Two references: too few for a leave-one-out density, enough without one. */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_self_scores(sc, s, near), ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_scorer_threshold(sc, 0.1, &t), ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_GWRP, 0.5), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_self_scores(sc, s, near), ASDNORM_E_TOO_FEW);
    UNTOUCHED();
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_self_scores(sc, s, near), ASDNORM_OK);
    assert_int_equal(near[0], 1);
    assert_int_equal(near[1], 0);
    assert_true(s[0] == s[1] && s[0] > 0);
    /* fpr outside (0, 1) or NaN. */
    const double bad[] = {0.0, -0.0, 1.0, -0.1, 1.5, NAN, INFINITY};
    float t2 = -7;
    for (size_t c = 0; c < sizeof bad / sizeof *bad; c++)
        assert_int_equal(asdnorm_scorer_threshold(sc, bad[c], &t2), ASDNORM_E_ARG);
    assert_true(t2 == -7.0f);
#undef UNTOUCHED
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    /* One reference: too few even without a density. */
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_MSE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, 1, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_NONE, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_self_scores(sc, s, NULL), ASDNORM_E_TOO_FEW);
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brute_cosine), cmocka_unit_test(test_brute_euclidean),
        cmocka_unit_test(test_brute_mse),    cmocka_unit_test(test_large),
        cmocka_unit_test(test_raw_centroids), cmocka_unit_test(test_hand),
        cmocka_unit_test(test_quantile_ties), cmocka_unit_test(test_quantile_rounding),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
