/* SPDX-License-Identifier: MIT */
/* asdnorm_smote and asdnorm_smote_index. Neighbours are recomputed here by
 * brute force in double; every synthetic sample must lie on a segment from a
 * row to one of that row's k nearest other rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

/* Is j among the k nearest other rows of i? (Euclidean, by brute force; a
 * tie at the k-th place admits every tied row.) */
static int is_knn(const float *x, size_t n, size_t dim, size_t k, size_t i, size_t j)
{
    if (i == j)
        return 0;
    double dij = tu_distance(ASDNORM_DISTANCE_EUCLIDEAN, x + i * dim, x + j * dim, dim);
    size_t closer = 0;
    for (size_t t = 0; t < n; t++)
        if (t != i && t != j &&
            tu_distance(ASDNORM_DISTANCE_EUCLIDEAN, x + i * dim, x + t * dim, dim) < dij)
            closer++;
    return closer < k;
}

/* If s = x_i + u (x_j − x_i) for some u in [0, 1] (to float rounding), u; else −1. */
static double on_segment(const float *a, const float *b, const float *s, size_t dim)
{
    size_t big = 0;
    double span = 0, scale = 0;
    for (size_t d = 0; d < dim; d++) {
        double v = fabs((double)b[d] - a[d]);
        if (v > span) {
            span = v;
            big = d;
        }
        scale = fmax(scale, fmax(fabs(a[d]), fabs(b[d])));
    }
    double u = span > 0 ? ((double)s[big] - a[big]) / ((double)b[big] - a[big]) : 0.0;
    if (u < -1e-6 || u > 1 + 1e-6)
        return -1;
    for (size_t d = 0; d < dim; d++)
        if (fabs((double)s[d] - (a[d] + u * ((double)b[d] - a[d]))) > 1e-6 * (scale + 1))
            return -1;
    return u;
}

/* Every sample lies on a segment from some row to one of its k nearest. */
static void assert_smote_property(const float *x, size_t n, size_t dim, size_t k,
                                  const float *out, size_t n_new)
{
    for (size_t s = 0; s < n_new; s++) {
        int found = 0;
        for (size_t i = 0; i < n && !found; i++)
            for (size_t j = 0; j < n && !found; j++)
                found = is_knn(x, n, dim, k, i, j) &&
                        on_segment(x + i * dim, x + j * dim, out + s * dim, dim) >= 0;
        assert_true(found);
    }
}

/* 1-D, worked by hand with k = 1: the nearest other point of 0 is 1 (d 1), of
 * 1 is 0 (d 1 < 9), of 10 is 12 (d 2), of 12 is 10. Samples therefore lie in
 * [0, 1] ∪ [10, 12] and never strictly between 1 and 10; each half is chosen
 * with probability 1/2, and within [0, 1] the value is uniform. */
static void test_one_dimension_by_hand(void **state)
{
    (void)state;
    const float x[] = {0, 1, 10, 12};
    enum { N_NEW = 4000 };
    float *out = malloc(N_NEW * sizeof *out);
    assert_int_equal(asdnorm_smote(x, 4, 1, N_NEW, 1, 7, out), ASDNORM_OK);
    size_t low = 0, quart[4] = {0, 0, 0, 0};
    double mean_low = 0;
    for (size_t s = 0; s < N_NEW; s++) {
        float v = out[s];
        assert_true((v >= 0 && v <= 1) || (v >= 10 && v <= 12));
        if (v <= 1) {
            low++;
            mean_low += v;
            quart[v < 0.25f ? 0 : v < 0.5f ? 1 : v < 0.75f ? 2 : 3]++;
        }
    }
    /* Binomial(4000, 1/2): σ ≈ 32; 5σ bounds. Uniform on [0, 1]: quarters of
     * ≈ 500 each (σ ≈ 19), mean 0.5 (σ ≈ 0.0065). */
    assert_true(low > 2000 - 160 && low < 2000 + 160);
    mean_low /= (double)low;
    assert_true(fabs(mean_low - 0.5) < 0.04);
    for (int q = 0; q < 4; q++)
        assert_true(quart[q] > low / 4 - 100 && quart[q] < low / 4 + 100);
    free(out);
}

/* Random data: the segment property against brute-force neighbours, for
 * several k, dims and seeds. */
static void test_segments_to_k_nearest(void **state)
{
    (void)state;
    const size_t dims[] = {2, 7, 33};
    for (size_t c = 0; c < 6; c++) {
        uint64_t s = 500 + c;
        size_t dim = dims[c % 3], n = 12 + 5 * c, k = 1 + c % 4, n_new = 60;
        float *x = tu_gauss(&s, n, dim, 1.0, 2.0);
        float *out = malloc(n_new * dim * sizeof *out);
        assert_int_equal(asdnorm_smote(x, n, dim, n_new, k, c, out), ASDNORM_OK);
        assert_smote_property(x, n, dim, k, out, n_new);
        free(x);
        free(out);
    }
}

/* The same seed gives the same bytes; another seed other samples. */
static void test_determinism(void **state)
{
    (void)state;
    uint64_t s = 9;
    const size_t n = 20, dim = 5, n_new = 30;
    float *x = tu_gauss(&s, n, dim, 0.0, 1.0);
    float a[150], b[150], c[150];
    assert_int_equal(asdnorm_smote(x, n, dim, n_new, 4, 1234, a), ASDNORM_OK);
    assert_int_equal(asdnorm_smote(x, n, dim, n_new, 4, 1234, b), ASDNORM_OK);
    assert_int_equal(asdnorm_smote(x, n, dim, n_new, 4, 1235, c), ASDNORM_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    free(x);
}

/* k above n − 1 is clipped: with 3 rows every other row is a neighbour. Rows
 * that are duplicates give zero-length segments, not NaN. */
static void test_clipping_and_duplicates(void **state)
{
    (void)state;
    const float x[] = {0, 0, 4, 0, 0, 3};
    float out[2 * 50];
    assert_int_equal(asdnorm_smote(x, 3, 2, 50, 100, 3, out), ASDNORM_OK);
    assert_smote_property(x, 3, 2, 2, out, 50);

    const float dup[] = {1, 1, 1, 1, 1, 1};
    assert_int_equal(asdnorm_smote(dup, 3, 2, 50, 2, 3, out), ASDNORM_OK);
    for (size_t i = 0; i < 100; i++)
        assert_true(out[i] == 1.0f);
}

static void test_smote_bad_input(void **state)
{
    (void)state;
    const float x[] = {0, 0, 1, 1, 2, 2};
    float out[4] = {5, 5, 5, 5};
    const float sentinel[4] = {5, 5, 5, 5};
    assert_int_equal(asdnorm_smote(NULL, 3, 2, 2, 1, 0, out), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_smote(x, 3, 2, 2, 1, 0, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_smote(x, 3, 0, 2, 1, 0, out), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_smote(x, 3, 2, 2, 0, 0, out), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_smote(x, 1, 2, 2, 1, 0, out), ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_smote(x, 0, 2, 2, 1, 0, out), ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_smote(x, 3, 2, SIZE_MAX, 1, 0, out), ASDNORM_E_OVERFLOW);
    assert_int_equal(asdnorm_smote(x, SIZE_MAX / 2, 4, 2, 1, 0, out), ASDNORM_E_OVERFLOW);
    /* Element counts that fit whose byte counts do not. */
    assert_int_equal(asdnorm_smote(x, SIZE_MAX / 8, 4, 2, 1, 0, out), ASDNORM_E_OVERFLOW);
    assert_int_equal(asdnorm_smote(x, 3, 4, SIZE_MAX / 8, 1, 0, out), ASDNORM_E_OVERFLOW);
    const float nan_row[] = {0, 0, NAN, 1, 2, 2};
    const float huge[] = {0, 0, 1e30f, 1, 2, 2};
    assert_int_equal(asdnorm_smote(nan_row, 3, 2, 2, 1, 0, out), ASDNORM_E_NONFINITE);
    assert_int_equal(asdnorm_smote(huge, 3, 2, 2, 1, 0, out), ASDNORM_E_RANGE);
    assert_memory_equal(out, sentinel, sizeof out);
    /* n_new = 0 writes nothing (out may be NULL) but still checks the rows. */
    assert_int_equal(asdnorm_smote(x, 3, 2, 0, 1, 0, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_smote(nan_row, 3, 2, 0, 1, 0, NULL), ASDNORM_E_NONFINITE);
}

/* ---- smote_index ------------------------------------------------------------- */

static asdnorm_index *make_index(asdnorm_distance dist, const float *y, const uint8_t *dom,
                                 size_t m, size_t dim)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(dim, dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, m, dom), ASDNORM_OK);
    return ix;
}

/* Euclidean: every reference of src in order, then (n_new = 0) as many
 * synthetic target rows as bring the target domain up to the source domain's
 * size; they are what asdnorm_smote makes of the target rows with the same
 * seed, and lie on segments between target neighbours. */
static void test_index_euclidean(void **state)
{
    (void)state;
    uint64_t s = 31;
    const size_t dim = 4, m = 27, k = 3;
    float *y = tu_gauss(&s, m, dim, 0.0, 1.0);
    uint8_t dom[27];
    float tgt[5 * 4];
    size_t nt = 0;
    for (size_t i = 0; i < m; i++) {
        dom[i] = i % 5 == 2 ? ASDNORM_DOMAIN_TARGET : i < 25 ? ASDNORM_DOMAIN_SOURCE
                                                             : ASDNORM_DOMAIN_UNKNOWN;
        if (dom[i] == ASDNORM_DOMAIN_TARGET)
            memcpy(tgt + (nt++) * dim, y + i * dim, dim * sizeof *y);
    }
    assert_int_equal(nt, 5); /* 2, 7, 12, 17, 22; sources: 20; unknown: 25, 26 */
    asdnorm_index *ix = make_index(ASDNORM_DISTANCE_EUCLIDEAN, y, dom, m, dim);
    asdnorm_index *out = NULL;
    assert_int_equal(asdnorm_smote_index(ix, 0, k, 99, &out), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(out), m + 15);
    assert_int_equal(asdnorm_index_is_finalized(out), 0);
    float *v = malloc((m + 15) * dim * sizeof *v);
    uint8_t od[42];
    assert_int_equal(asdnorm_index_get_vectors(out, 0, m + 15, v), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_domains(out, od, m + 15), ASDNORM_OK);
    assert_memory_equal(v, y, m * dim * sizeof *y);
    assert_memory_equal(od, dom, m);
    for (size_t i = m; i < m + 15; i++)
        assert_int_equal(od[i], ASDNORM_DOMAIN_TARGET);
    float want[15 * 4];
    assert_int_equal(asdnorm_smote(tgt, nt, dim, 15, k, 99, want), ASDNORM_OK);
    assert_memory_equal(v + m * dim, want, sizeof want);
    assert_smote_property(tgt, nt, dim, k, v + m * dim, 15);
    asdnorm_index_free(out);

    /* An explicit n_new. */
    assert_int_equal(asdnorm_smote_index(ix, 4, k, 99, &out), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(out), m + 4);
    asdnorm_index_free(out);
    asdnorm_index_free(ix);
    free(y);
    free(v);
}

/* Cosine: the references of src are kept bit-for-bit; the synthetic rows are
 * SMOTE of the target unit vectors, re-normalized. */
static void test_index_cosine(void **state)
{
    (void)state;
    uint64_t s = 41;
    const size_t dim = 8, m = 14, k = 2;
    float *y = tu_gauss(&s, m, dim, 0.5, 1.0);
    uint8_t dom[14];
    for (size_t i = 0; i < m; i++)
        dom[i] = i < 10 ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;
    asdnorm_index *ix = make_index(ASDNORM_DISTANCE_COSINE, y, dom, m, dim);
    asdnorm_index *out = NULL;
    assert_int_equal(asdnorm_smote_index(ix, 0, k, 5, &out), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(out), m + 6);
    float a[14 * 8], b[20 * 8];
    assert_int_equal(asdnorm_index_get_vectors(ix, 0, m, a), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_vectors(out, 0, m + 6, b), ASDNORM_OK);
    assert_memory_equal(a, b, sizeof a);

    /* Unit target vectors as the index means them, SMOTE, normalize. */
    float want[6 * 8];
    assert_int_equal(asdnorm_smote(a + 10 * dim, 4, dim, 6, k, 5, want), ASDNORM_OK);
    for (size_t t = 0; t < 6; t++) {
        double nw = 0, nb = 0;
        for (size_t d = 0; d < dim; d++) {
            nw += (double)want[t * dim + d] * want[t * dim + d];
            nb += (double)b[(m + t) * dim + d] * b[(m + t) * dim + d];
        }
        assert_true(fabs(sqrt(nb) - 1.0) < 1e-6);
        for (size_t d = 0; d < dim; d++)
            assert_true(tu_close(b[(m + t) * dim + d], want[t * dim + d] / sqrt(nw), 1e-5, 1e-6));
    }

    /* Scores against the copied references are bit-identical: with the plain
     * nearest neighbour, a query whose nearest reference in out is an
     * original one has the same score and position as in src. */
    float *q = tu_gauss(&s, 20, dim, 0.5, 1.0);
    asdnorm_index *both[2] = {ix, out};
    float sco[2][20];
    size_t near[2][20];
    for (int w = 0; w < 2; w++) {
        asdnorm_scorer *sc = NULL;
        assert_int_equal(asdnorm_index_finalize(both[w], ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_new(both[w], ASDNORM_NORM_NONE, &sc), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_score(sc, q, 20, sco[w], near[w]), ASDNORM_OK);
        asdnorm_scorer_free(sc);
    }
    size_t same = 0;
    for (size_t t = 0; t < 20; t++) {
        if (near[1][t] < m) {
            same++;
            assert_int_equal(near[1][t], near[0][t]);
            assert_true(sco[1][t] == sco[0][t]);
        } else {
            assert_true(sco[1][t] <= sco[0][t]);
        }
    }
    assert_true(same >= 10);
    free(q);
    asdnorm_index_free(out);
    asdnorm_index_free(ix);
    free(y);
}

static void test_index_bad_input(void **state)
{
    (void)state;
    const float y[] = {1, 0, 0, 1, 1, 1, 2, 1};
    const uint8_t one_target[] = {1, 1, 2, 0}, two[] = {1, 2, 2, 1};
    asdnorm_index *few = make_index(ASDNORM_DISTANCE_COSINE, y, one_target, 4, 2);
    asdnorm_index *ok = make_index(ASDNORM_DISTANCE_COSINE, y, two, 4, 2);
    asdnorm_index *out = (asdnorm_index *)&out;
    assert_int_equal(asdnorm_smote_index(ok, 0, 1, 0, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_smote_index(NULL, 0, 1, 0, &out), ASDNORM_E_NULL);
    assert_null(out);
    out = (asdnorm_index *)&out;
    assert_int_equal(asdnorm_smote_index(ok, 0, 0, 0, &out), ASDNORM_E_ARG);
    assert_null(out);
    out = (asdnorm_index *)&out;
    assert_int_equal(asdnorm_smote_index(few, 0, 1, 0, &out), ASDNORM_E_TOO_FEW);
    assert_null(out);
    /* Two targets, two sources: nothing to add, a copy. */
    assert_int_equal(asdnorm_smote_index(ok, 0, 1, 0, &out), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(out), 4);
    asdnorm_index_free(out);
    assert_int_equal(asdnorm_index_size(ok), 4);
    asdnorm_index_free(ok);
    asdnorm_index_free(few);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_dimension_by_hand),
        cmocka_unit_test(test_segments_to_k_nearest),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_clipping_and_duplicates),
        cmocka_unit_test(test_smote_bad_input),
        cmocka_unit_test(test_index_euclidean),
        cmocka_unit_test(test_index_cosine),
        cmocka_unit_test(test_index_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
