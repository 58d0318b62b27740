/* SPDX-License-Identifier: MIT */
/* asdnorm_lof_*: a case worked by hand, and an independent brute-force LOF in
 * double (full sort of every distance row) for random data and every distance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

struct dj {
    double d;
    size_t j;
};

static int cmp_dj(const void *a, const void *b)
{
    const struct dj *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

/* The k nearest references of q (excluding position `skip`, or none with
 * SIZE_MAX), sorted by distance then position. */
static void brute_knn(asdnorm_distance kind, const float *y, size_t m, size_t dim,
                      const float *q, size_t skip, size_t k, struct dj *out)
{
    struct dj *all = malloc(m * sizeof *all);
    size_t c = 0;
    for (size_t j = 0; j < m; j++)
        if (j != skip)
            all[c++] = (struct dj){tu_distance(kind, q, y + j * dim, dim), j};
    qsort(all, c, sizeof *all, cmp_dj);
    memcpy(out, all, k * sizeof *out);
    free(all);
}

/* scikit-learn's LocalOutlierFactor(novelty=True), −score_samples, in double. */
static void brute_lof(asdnorm_distance kind, const float *y, size_t m, size_t dim, size_t k,
                      const float *x, size_t n, double *scores)
{
    if (k > m - 1)
        k = m - 1;
    struct dj *nb = malloc(m * k * sizeof *nb);
    double *kdist = malloc(m * sizeof *kdist), *lrd = malloc(m * sizeof *lrd);
    for (size_t a = 0; a < m; a++) {
        brute_knn(kind, y, m, dim, y + a * dim, a, k, nb + a * k);
        kdist[a] = nb[a * k + k - 1].d;
    }
    for (size_t a = 0; a < m; a++) {
        double s = 0;
        for (size_t t = 0; t < k; t++)
            s += fmax(kdist[nb[a * k + t].j], nb[a * k + t].d);
        lrd[a] = 1.0 / (s / (double)k + 1e-10);
    }
    struct dj *q = malloc(k * sizeof *q);
    for (size_t i = 0; i < n; i++) {
        brute_knn(kind, y, m, dim, x + i * dim, SIZE_MAX, k, q);
        double s = 0, r = 0;
        for (size_t t = 0; t < k; t++) {
            s += fmax(kdist[q[t].j], q[t].d);
            r += lrd[q[t].j];
        }
        double lrd_x = 1.0 / (s / (double)k + 1e-10);
        scores[i] = r / (double)k / lrd_x;
    }
    free(q);
    free(nb);
    free(kdist);
    free(lrd);
}

static asdnorm_index *make_index(asdnorm_distance dist, const float *y, size_t m, size_t dim)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(dim, dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, m, NULL), ASDNORM_OK);
    return ix;
}

/* References 0, 1, 2, 10 on a line, k = 2 (the 1e-10 guard is below float
 * resolution here):
 *   neighbours  0: {1, 2}   1: {0, 2}   2: {1, 0}   10: {2, 1}
 *   kdist       0: 2        1: 1        2: 2        10: 9
 *   reach       0: max(1,1), max(2,2) → mean 1.5 → lrd 2/3
 *               1: max(2,1), max(2,1) → mean 2   → lrd 1/2
 *               2: max(1,1), max(2,2) → mean 1.5 → lrd 2/3
 *              10: max(2,8), max(1,9) → mean 8.5 → lrd 2/17
 *   x = 5:  neighbours {2 (d 3), 1 (d 4)}: reach 3, 4 → lrd 2/7;
 *           score = (2/3 + 1/2)/2 / (2/7) = 49/24
 *   x = 1:  neighbours {1 (d 0), 0 (d 1; ties with 2, which has the same kdist)}:
 *           reach max(1,0), max(2,1) → lrd 2/3; score = (1/2 + 2/3)/2 / (2/3) = 7/8
 *   x = 20: neighbours {10 (d 10), 2 (d 18)}: reach 10, 18 → lrd 1/14;
 *           score = (2/17 + 2/3)/2 · 14 = 280/51 */
static void test_line_by_hand(void **state)
{
    (void)state;
    const float y[] = {0, 1, 2, 10};
    const float x[] = {5, 1, 20};
    const double want[] = {49.0 / 24.0, 7.0 / 8.0, 280.0 / 51.0};
    asdnorm_index *ix = make_index(ASDNORM_DISTANCE_EUCLIDEAN, y, 4, 1);
    asdnorm_lof *lof = NULL;
    assert_int_equal(asdnorm_lof_new(ix, 2, &lof), ASDNORM_OK);
    float got[3];
    assert_int_equal(asdnorm_lof_score(lof, x, 3, got), ASDNORM_OK);
    for (int i = 0; i < 3; i++)
        assert_true(tu_close(got[i], want[i], 1e-6, 0));
    asdnorm_lof_free(lof);
    asdnorm_index_free(ix);
}

/* Random data, every distance, several k (including k ≥ M, clipped): equal to
 * the brute force to float rounding. */
static void test_matches_brute_force(void **state)
{
    (void)state;
    const asdnorm_distance kinds[] = {ASDNORM_DISTANCE_EUCLIDEAN, ASDNORM_DISTANCE_COSINE,
                                      ASDNORM_DISTANCE_MSE};
    const size_t ks[] = {1, 3, 10, 50};
    size_t cases = 0;
    for (size_t c = 0; c < 24; c++) {
        uint64_t s = 900 + c;
        asdnorm_distance kind = kinds[c % 3];
        size_t k = ks[(c / 3) % 4], dim = 3 + 13 * (c % 4), m = 20 + 7 * (c % 5), n = 15;
        float *y = tu_gauss(&s, m, dim, 0.3, 1.0);
        float *x = tu_gauss(&s, n, dim, 0.3, 1.5);
        asdnorm_index *ix = make_index(kind, y, m, dim);
        if (c % 2)
            assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
        asdnorm_lof *lof = NULL;
        assert_int_equal(asdnorm_lof_new(ix, k, &lof), ASDNORM_OK);
        float got[15];
        double want[15];
        assert_int_equal(asdnorm_lof_score(lof, x, n, got), ASDNORM_OK);
        brute_lof(kind, y, m, dim, k, x, n, want);
        for (size_t i = 0; i < n; i++)
            assert_true(tu_close(got[i], want[i], 2e-6, 0));
        /* A reference scored against the fit is an inlier-ish finite value. */
        assert_int_equal(asdnorm_lof_score(lof, y, 1, got), ASDNORM_OK);
        brute_lof(kind, y, m, dim, k, y, 1, want);
        assert_true(tu_close(got[0], want[0], 2e-6, 0));
        cases++;
        asdnorm_lof_free(lof);
        asdnorm_index_free(ix);
        free(y);
        free(x);
    }
    assert_int_equal(cases, 24);
}

/* k above M − 1 is clipped: the same scores as k = M − 1. */
static void test_k_clipped(void **state)
{
    (void)state;
    uint64_t s = 4;
    float *y = tu_gauss(&s, 6, 3, 0.0, 1.0);
    float *x = tu_gauss(&s, 5, 3, 0.0, 1.0);
    asdnorm_index *ix = make_index(ASDNORM_DISTANCE_EUCLIDEAN, y, 6, 3);
    asdnorm_lof *a = NULL, *b = NULL;
    assert_int_equal(asdnorm_lof_new(ix, 5, &a), ASDNORM_OK);
    assert_int_equal(asdnorm_lof_new(ix, 1000, &b), ASDNORM_OK);
    float sa[5], sb[5];
    assert_int_equal(asdnorm_lof_score(a, x, 5, sa), ASDNORM_OK);
    assert_int_equal(asdnorm_lof_score(b, x, 5, sb), ASDNORM_OK);
    assert_memory_equal(sa, sb, sizeof sa);
    asdnorm_lof_free(a);
    asdnorm_lof_free(b);
    asdnorm_index_free(ix);
    free(y);
    free(x);
}

/* Duplicate references have k-distance 0 and lrd up to 1e10 (the guard):
 * scores stay finite and match the brute force. Worked by hand with k = 1 on
 * 0, 0, 3: kdist = 0, 0, 3; lrd(0) = lrd(0') = 1/(0 + 1e-10) = 1e10,
 * lrd(3) = 1/max(0, 3) = 1/3. x = 1: neighbour 0 (d 1), reach max(0, 1) = 1,
 * lrd 1, score 1e10. */
static void test_duplicates(void **state)
{
    (void)state;
    const float y[] = {0, 0, 3};
    const float x[] = {1, 0, 3};
    asdnorm_index *ix = make_index(ASDNORM_DISTANCE_EUCLIDEAN, y, 3, 1);
    asdnorm_lof *lof = NULL;
    assert_int_equal(asdnorm_lof_new(ix, 1, &lof), ASDNORM_OK);
    float got[3];
    double want[3];
    assert_int_equal(asdnorm_lof_score(lof, x, 3, got), ASDNORM_OK);
    brute_lof(ASDNORM_DISTANCE_EUCLIDEAN, y, 3, 1, 1, x, 3, want);
    assert_true(tu_close(want[0], 1e10, 1e-9, 0));
    for (int i = 0; i < 3; i++) {
        assert_true(isfinite(got[i]));
        assert_true(tu_close(got[i], want[i], 1e-6, 0));
    }
    asdnorm_lof_free(lof);
    asdnorm_index_free(ix);
}

/* A larger batch than one internal block, through the knn machinery. */
static void test_many_queries(void **state)
{
    (void)state;
    uint64_t s = 77;
    const size_t m = 60, dim = 8, n = 700, k = 5;
    float *y = tu_gauss(&s, m, dim, 0.0, 1.0);
    float *x = tu_gauss(&s, n, dim, 0.0, 1.2);
    asdnorm_index *ix = make_index(ASDNORM_DISTANCE_COSINE, y, m, dim);
    asdnorm_lof *lof = NULL;
    assert_int_equal(asdnorm_lof_new(ix, k, &lof), ASDNORM_OK);
    float *got = malloc(n * sizeof *got);
    double *want = malloc(n * sizeof *want);
    assert_int_equal(asdnorm_lof_score(lof, x, n, got), ASDNORM_OK);
    brute_lof(ASDNORM_DISTANCE_COSINE, y, m, dim, k, x, n, want);
    for (size_t i = 0; i < n; i++)
        assert_true(tu_close(got[i], want[i], 2e-6, 0));
    asdnorm_lof_free(lof);
    asdnorm_index_free(ix);
    free(y);
    free(x);
    free(got);
    free(want);
}

static void test_bad_input(void **state)
{
    (void)state;
    const float y[] = {1, 0, 0, 1, 1, 1};
    asdnorm_index *ix = make_index(ASDNORM_DISTANCE_COSINE, y, 3, 2);
    asdnorm_index *one = make_index(ASDNORM_DISTANCE_COSINE, y, 1, 2);
    asdnorm_index *empty = NULL;
    assert_int_equal(asdnorm_index_new(2, ASDNORM_DISTANCE_EUCLIDEAN, &empty), ASDNORM_OK);
    asdnorm_lof *lof = (asdnorm_lof *)&lof;
    assert_int_equal(asdnorm_lof_new(ix, 1, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_lof_new(NULL, 1, &lof), ASDNORM_E_NULL);
    assert_null(lof);
    lof = (asdnorm_lof *)&lof;
    assert_int_equal(asdnorm_lof_new(ix, 0, &lof), ASDNORM_E_ARG);
    assert_null(lof);
    lof = (asdnorm_lof *)&lof;
    assert_int_equal(asdnorm_lof_new(one, 1, &lof), ASDNORM_E_TOO_FEW);
    assert_null(lof);
    lof = (asdnorm_lof *)&lof;
    assert_int_equal(asdnorm_lof_new(empty, 1, &lof), ASDNORM_E_TOO_FEW);
    assert_null(lof);

    assert_int_equal(asdnorm_lof_new(ix, 2, &lof), ASDNORM_OK);
    const float x[] = {1, 2, 3, 4};
    const float zero[] = {1, 2, 0, 0};
    const float nan_row[] = {1, 2, NAN, 0};
    float sc[2] = {9, 9};
    assert_int_equal(asdnorm_lof_score(NULL, x, 2, sc), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_lof_score(lof, NULL, 2, sc), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_lof_score(lof, x, 2, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_lof_score(lof, zero, 2, sc), ASDNORM_E_ZERO_VECTOR);
    assert_int_equal(asdnorm_lof_score(lof, nan_row, 2, sc), ASDNORM_E_NONFINITE);
    assert_int_equal(asdnorm_lof_score(lof, x, SIZE_MAX, sc), ASDNORM_E_OVERFLOW);
    /* n · dim fits, its byte count does not. */
    assert_int_equal(asdnorm_lof_score(lof, x, SIZE_MAX / 4 + 1, sc), ASDNORM_E_OVERFLOW);
    assert_int_equal(asdnorm_lof_score(lof, NULL, 0, NULL), ASDNORM_OK);
    assert_true(sc[0] == 9 && sc[1] == 9);
    /* The index grew after the fit: the model no longer describes it. */
    assert_int_equal(asdnorm_index_add(ix, x, 1, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_lof_score(lof, x, 2, sc), ASDNORM_E_STATE);
    assert_true(sc[0] == 9 && sc[1] == 9);
    asdnorm_lof_free(lof);
    asdnorm_lof_free(NULL);

    asdnorm_index *eu = make_index(ASDNORM_DISTANCE_EUCLIDEAN, y, 3, 2);
    assert_int_equal(asdnorm_lof_new(eu, 2, &lof), ASDNORM_OK);
    const float huge[] = {1, 2, 1e30f, 0};
    assert_int_equal(asdnorm_lof_score(lof, huge, 2, sc), ASDNORM_E_RANGE);
    assert_true(sc[0] == 9 && sc[1] == 9);
    asdnorm_lof_free(lof);
    asdnorm_index_free(eu);
    asdnorm_index_free(ix);
    asdnorm_index_free(one);
    asdnorm_index_free(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_by_hand),
        cmocka_unit_test(test_matches_brute_force),
        cmocka_unit_test(test_k_clipped),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_many_queries),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
