/* SPDX-License-Identifier: MIT */
/* asdnorm_kmeans and asdnorm_source_means. Expected values are worked out by
 * hand or recomputed here by brute force in double, never by the library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#define MAX_ITER 300

static double sqd(const float *a, const float *b, size_t dim)
{
    double s = 0;
    for (size_t j = 0; j < dim; j++) {
        double d = (double)a[j] - b[j];
        s += d * d;
    }
    return s;
}

/* Σ_i min_c ‖x_i − c‖² and the nearest centroid of each row (ties: lowest). */
static double brute_inertia(const float *x, size_t n, size_t dim, const float *c, size_t k,
                            size_t *label)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double best = INFINITY;
        size_t arg = 0;
        for (size_t j = 0; j < k; j++) {
            double d = sqd(x + i * dim, c + j * dim, dim);
            if (d < best) {
                best = d;
                arg = j;
            }
        }
        total += best;
        if (label)
            label[i] = arg;
    }
    return total;
}

/* Position of row r among the k rows of c, or k. */
static size_t find_row(const float *c, size_t k, size_t dim, const float *r)
{
    for (size_t j = 0; j < k; j++)
        if (memcmp(c + j * dim, r, dim * sizeof *r) == 0)
            return j;
    return k;
}

/* Three well-separated blobs of four points each, symmetric about their centres,
 * so the optimum is known by hand:
 *   A = (0,0) (0,2) (2,0) (2,2)         centre (1,1),     each d² = 1+1 = 2  → 8
 *   B = (99,100) (101,100) (100,99) (100,101)  centre (100,100), each d² = 1 → 4
 *   C = (−53,80) (−47,80) (−50,77) (−50,83)    centre (−50,80),  each d² = 9 → 36
 * inertia 48, and every centre is exact in float. */
static void test_blobs_known_centroids(void **state)
{
    (void)state;
    const float x[] = {0, 0, 0, 2, 2, 0, 2, 2,          99, 100, 101, 100, 100, 99, 100, 101,
                       -53, 80, -47, 80, -50, 77, -50, 83};
    const float want[] = {1, 1, 100, 100, -50, 80};
    for (uint64_t seed = 0; seed < 5; seed++) {
        float c[6];
        double inertia = -1;
        assert_int_equal(asdnorm_kmeans(x, 12, 2, 3, 10, MAX_ITER, seed, c, &inertia), ASDNORM_OK);
        assert_true(inertia == 48.0);
        for (size_t j = 0; j < 3; j++)
            assert_true(find_row(c, 3, 2, want + 2 * j) < 3);
    }
}

/* k = 1: the centroid is the column mean and the inertia the total scatter. */
static void test_single_cluster_is_mean(void **state)
{
    (void)state;
    uint64_t s = 11;
    const size_t n = 57, dim = 9;
    float *x = tu_gauss(&s, n, dim, 3.0, 2.0);
    float c[9];
    double inertia;
    assert_int_equal(asdnorm_kmeans(x, n, dim, 1, 3, MAX_ITER, 5, c, &inertia), ASDNORM_OK);
    float mu[9];
    for (size_t j = 0; j < dim; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++)
            m += x[i * dim + j];
        mu[j] = (float)(m / (double)n);
        assert_true(tu_close(c[j], m / (double)n, 1e-6, 1e-6));
    }
    double scatter = 0;
    for (size_t i = 0; i < n; i++)
        scatter += sqd(x + i * dim, mu, dim);
    assert_true(tu_close(inertia, scatter, 1e-6, 0));
    free(x);
}

/* k = n distinct points: every point is its own centroid, inertia 0. */
static void test_k_equals_n(void **state)
{
    (void)state;
    uint64_t s = 3;
    const size_t n = 9, dim = 4;
    float *x = tu_gauss(&s, n, dim, 0.0, 1.0);
    float c[36];
    double inertia = -1;
    assert_int_equal(asdnorm_kmeans(x, n, dim, n, 2, MAX_ITER, 1, c, &inertia), ASDNORM_OK);
    assert_true(inertia == 0.0);
    for (size_t i = 0; i < n; i++)
        assert_true(find_row(c, n, dim, x + i * dim) < n);
    free(x);
}

/* Random Gaussian mixtures: the reported inertia is the exact brute-force
 * Σ min ‖x − c‖² over the returned centroids, and the centroids are a Lloyd
 * fixed point: each is the mean of the rows nearest to it. */
static void test_inertia_and_fixed_point(void **state)
{
    (void)state;
    const size_t dims[] = {2, 17, 64};
    for (size_t case_ = 0; case_ < 9; case_++) {
        uint64_t s = 100 + case_;
        size_t dim = dims[case_ % 3], k = 2 + case_ % 5, per = 20 + case_ * 3, n = k * per;
        float *x = malloc(n * dim * sizeof *x);
        for (size_t b = 0; b < k; b++) {
            float *blob = tu_gauss(&s, per, dim, 0.0, 1.0);
            double off[64];
            for (size_t j = 0; j < dim; j++)
                off[j] = 12.0 * tu_normal(&s);
            for (size_t i = 0; i < per; i++)
                for (size_t j = 0; j < dim; j++)
                    x[(b * per + i) * dim + j] = (float)(blob[i * dim + j] + off[j]);
            free(blob);
        }
        float *c = malloc(k * dim * sizeof *c);
        size_t *label = malloc(n * sizeof *label);
        double inertia;
        assert_int_equal(asdnorm_kmeans(x, n, dim, k, 4, MAX_ITER, case_, c, &inertia),
                         ASDNORM_OK);
        double brute = brute_inertia(x, n, dim, c, k, label);
        assert_true(tu_close(inertia, brute, 1e-12, 0));
        for (size_t j = 0; j < k; j++) {
            size_t members = 0;
            for (size_t i = 0; i < n; i++)
                members += label[i] == j;
            assert_true(members > 0);
            for (size_t d = 0; d < dim; d++) {
                double m = 0;
                for (size_t i = 0; i < n; i++)
                    if (label[i] == j)
                        m += x[i * dim + d];
                /* Lloyd stops at a relative centre shift of 1e-4 of the data
                 * variance at worst; separated blobs converge exactly. */
                assert_true(tu_close(c[j * dim + d], m / (double)members, 1e-5, 1e-4));
            }
        }
        free(x);
        free(c);
        free(label);
    }
}

/* Restart 0 of n_init = 8 is the same run as n_init = 1 with the same seed,
 * and the best restart is kept: never worse. */
static void test_more_restarts_never_worse(void **state)
{
    (void)state;
    uint64_t s = 77;
    const size_t n = 150, dim = 5;
    float *x = malloc(n * dim * sizeof *x);
    for (size_t i = 0; i < n * dim; i++)
        x[i] = (float)tu_uniform(&s);
    float c1[8 * 5], c8[8 * 5];
    for (uint64_t seed = 0; seed < 4; seed++) {
        double in1, in8;
        assert_int_equal(asdnorm_kmeans(x, n, dim, 8, 1, MAX_ITER, seed, c1, &in1), ASDNORM_OK);
        assert_int_equal(asdnorm_kmeans(x, n, dim, 8, 8, MAX_ITER, seed, c8, &in8), ASDNORM_OK);
        assert_true(in8 <= in1);
        assert_true(tu_close(in8, brute_inertia(x, n, dim, c8, 8, NULL), 1e-12, 0));
    }
    free(x);
}

/* Same seed: bit-identical. Another seed: a different local optimum on
 * unstructured data (fixed by the seeded generator, so this is stable). */
static void test_determinism(void **state)
{
    (void)state;
    uint64_t s = 5;
    const size_t n = 200, dim = 3, k = 6;
    float *x = malloc(n * dim * sizeof *x);
    for (size_t i = 0; i < n * dim; i++)
        x[i] = (float)tu_uniform(&s);
    float a[18], b[18], c[18];
    double ia, ib, ic;
    assert_int_equal(asdnorm_kmeans(x, n, dim, k, 1, MAX_ITER, 42, a, &ia), ASDNORM_OK);
    assert_int_equal(asdnorm_kmeans(x, n, dim, k, 1, MAX_ITER, 42, b, &ib), ASDNORM_OK);
    assert_int_equal(asdnorm_kmeans(x, n, dim, k, 1, MAX_ITER, 43, c, &ic), ASDNORM_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_true(ia == ib);
    assert_memory_not_equal(a, c, sizeof a);
    free(x);
}

/* Fewer distinct points than clusters: empty clusters are relocated without
 * NaN, every centroid is one of the distinct points, inertia 0. */
static void test_duplicates_and_empty_clusters(void **state)
{
    (void)state;
    const float x[] = {1, 2, 1, 2, 5, 5, 1, 2, 5, 5, 5, 5}; /* (1,2)×3, (5,5)×3 */
    float c[6];
    double inertia = -1;
    assert_int_equal(asdnorm_kmeans(x, 6, 2, 3, 4, MAX_ITER, 9, c, &inertia), ASDNORM_OK);
    assert_true(inertia == 0.0);
    const float p[] = {1, 2}, q[] = {5, 5};
    assert_true(find_row(c, 3, 2, p) < 3);
    assert_true(find_row(c, 3, 2, q) < 3);
    for (size_t j = 0; j < 3; j++)
        assert_true(memcmp(c + 2 * j, p, sizeof p) == 0 || memcmp(c + 2 * j, q, sizeof q) == 0);

    const float same[] = {3, -1, 3, -1, 3, -1, 3, -1};
    float c2[4];
    assert_int_equal(asdnorm_kmeans(same, 4, 2, 2, 2, MAX_ITER, 0, c2, &inertia), ASDNORM_OK);
    assert_true(inertia == 0.0);
    for (size_t j = 0; j < 4; j++)
        assert_true(c2[j] == same[j]);
}

static void test_kmeans_bad_input(void **state)
{
    (void)state;
    const float x[] = {0, 0, 1, 1, 2, 2};
    float c[4] = {7, 7, 7, 7};
    const float sentinel[4] = {7, 7, 7, 7};
    double inertia = 7;
    assert_int_equal(asdnorm_kmeans(NULL, 3, 2, 2, 1, 10, 0, c, &inertia), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_kmeans(x, 3, 2, 2, 1, 10, 0, NULL, &inertia), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_kmeans(x, 3, 0, 2, 1, 10, 0, c, &inertia), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_kmeans(x, 3, 2, 0, 1, 10, 0, c, &inertia), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_kmeans(x, 3, 2, 2, 0, 10, 0, c, &inertia), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_kmeans(x, 3, 2, 2, 1, 0, 0, c, &inertia), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_kmeans(x, 3, 2, 4, 1, 10, 0, c, &inertia), ASDNORM_E_DEGENERATE);
    assert_int_equal(asdnorm_kmeans(x, 0, 2, 1, 1, 10, 0, c, &inertia), ASDNORM_E_DEGENERATE);
    /* n · dim overflows: rejected before any row is read. */
    assert_int_equal(asdnorm_kmeans(x, SIZE_MAX / 2, 4, 2, 1, 10, 0, c, &inertia),
                     ASDNORM_E_OVERFLOW);
    /* n · dim fits, n · dim · sizeof(float) bytes does not. */
    assert_int_equal(asdnorm_kmeans(x, SIZE_MAX / 8, 4, 2, 1, 10, 0, c, &inertia),
                     ASDNORM_E_OVERFLOW);
    const float nan_row[] = {0, 0, NAN, 1, 2, 2};
    const float inf_row[] = {0, 0, 1, 1, 2, -INFINITY};
    const float huge[] = {0, 0, 1e30f, 1, 2, 2};
    assert_int_equal(asdnorm_kmeans(nan_row, 3, 2, 2, 1, 10, 0, c, &inertia),
                     ASDNORM_E_NONFINITE);
    assert_int_equal(asdnorm_kmeans(inf_row, 3, 2, 2, 1, 10, 0, c, &inertia),
                     ASDNORM_E_NONFINITE);
    assert_int_equal(asdnorm_kmeans(huge, 3, 2, 2, 1, 10, 0, c, &inertia), ASDNORM_E_RANGE);
    assert_memory_equal(c, sentinel, sizeof c);
    assert_true(inertia == 7);
    /* inertia may be NULL. */
    assert_int_equal(asdnorm_kmeans(x, 3, 2, 2, 1, 10, 0, c, NULL), ASDNORM_OK);
}

/* ---- source means ------------------------------------------------------------ */

/* Euclidean: the k-means centroids of the source rows (source domain), then
 * every other reference unchanged and in order; the result is not finalized. */
static void test_source_means_layout(void **state)
{
    (void)state;
    uint64_t s = 21;
    const size_t dim = 6, ns = 40, m = 48;
    float *y = tu_gauss(&s, m, dim, 0.0, 1.0);
    for (size_t i = 0; i < 20; i++)
        y[i * dim] += 25.0f; /* two source blobs */
    uint8_t dom[48];
    for (size_t i = 0; i < m; i++)
        dom[i] = i < ns ? ASDNORM_DOMAIN_SOURCE : (i % 3 == 0 ? ASDNORM_DOMAIN_UNKNOWN
                                                               : ASDNORM_DOMAIN_TARGET);
    /* Interleave: move two non-source rows to the front to check ordering. */
    asdnorm_index *ix = NULL, *out = NULL;
    assert_int_equal(asdnorm_index_new(dim, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y + ns * dim, 2, dom + ns), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, ns, dom), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y + (ns + 2) * dim, m - ns - 2, dom + ns + 2),
                     ASDNORM_OK);
    assert_int_equal(asdnorm_source_means(ix, 2, 5, 123, &out), ASDNORM_OK);
    assert_non_null(out);
    assert_int_equal(asdnorm_index_size(out), 2 + (m - ns));
    assert_int_equal(asdnorm_index_is_finalized(out), 0);
    assert_int_equal(asdnorm_index_distance(out), ASDNORM_DISTANCE_EUCLIDEAN);

    float want[12], got[12];
    assert_int_equal(asdnorm_kmeans(y, ns, dim, 2, 5, MAX_ITER, 123, want, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_vectors(out, 0, 2, got), ASDNORM_OK);
    assert_memory_equal(want, got, sizeof want);

    uint8_t od[10];
    assert_int_equal(asdnorm_index_get_domains(out, od, 10), ASDNORM_OK);
    assert_int_equal(od[0], ASDNORM_DOMAIN_SOURCE);
    assert_int_equal(od[1], ASDNORM_DOMAIN_SOURCE);
    float row[6];
    const size_t order[] = {40, 41, 42, 43, 44, 45, 46, 47};
    for (size_t t = 0; t < 8; t++) {
        assert_int_equal(od[2 + t], dom[order[t]]);
        assert_int_equal(asdnorm_index_get_vectors(out, 2 + t, 1, row), ASDNORM_OK);
        assert_memory_equal(row, y + order[t] * dim, sizeof row);
    }
    asdnorm_index_free(out);

    /* k above the number of source rows is clipped: every source row is a centroid. */
    assert_int_equal(asdnorm_source_means(ix, 1000, 2, 1, &out), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(out), m);
    float *c = malloc(ns * dim * sizeof *c);
    assert_int_equal(asdnorm_index_get_vectors(out, 0, ns, c), ASDNORM_OK);
    for (size_t i = 0; i < ns; i++)
        assert_true(find_row(c, ns, dim, y + i * dim) < ns);
    free(c);
    asdnorm_index_free(out);
    asdnorm_index_free(ix);
    free(y);
}

/* Cosine: a centroid is stored as it is (not unit length), so its distance is
 * the mean cosine distance to the cluster's members:
 *   0.5 (1 − ⟨x̂, (1/m) Σ ŷ_j⟩) = (1/m) Σ 0.5 (1 − ⟨x̂, ŷ_j⟩).
 * Target references are copied with their scale, so scores against them are
 * bit-identical to scores against the original index. */
static void test_source_means_cosine(void **state)
{
    (void)state;
    uint64_t s = 8;
    const size_t dim = 16, ns = 30, nt = 6, nq = 12;
    float *src = tu_gauss(&s, ns, dim, 0.0, 0.1);
    for (size_t i = 0; i < ns; i++)
        src[i * dim] += 1.0f;
    float *tgt = tu_gauss(&s, nt, dim, 0.0, 0.1);
    for (size_t i = 0; i < nt; i++)
        tgt[i * dim + 1] += 1.0f;
    float *q = tu_gauss(&s, nq, dim, 0.0, 0.1);
    for (size_t i = 0; i < nq; i++)
        q[i * dim] += 1.0f;

    asdnorm_index *ix = NULL, *out = NULL;
    assert_int_equal(asdnorm_index_new(dim, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    uint8_t sd[30], td[6];
    memset(sd, ASDNORM_DOMAIN_SOURCE, sizeof sd);
    memset(td, ASDNORM_DOMAIN_TARGET, sizeof td);
    assert_int_equal(asdnorm_index_add(ix, src, ns, sd), ASDNORM_OK);
    assert_int_equal(asdnorm_source_means(ix, 1, 3, 0, &out), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(out, ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_scorer_new(out, ASDNORM_NORM_NONE, &sc), ASDNORM_OK);
    float got[12];
    assert_int_equal(asdnorm_scorer_score(sc, q, nq, got, NULL), ASDNORM_OK);
    for (size_t t = 0; t < nq; t++) {
        double mean = 0;
        for (size_t j = 0; j < ns; j++)
            mean += tu_distance(ASDNORM_DISTANCE_COSINE, q + t * dim, src + j * dim, dim);
        mean /= (double)ns;
        assert_true(tu_close(got[t], mean, 1e-5, 1e-6));
    }
    asdnorm_scorer_free(sc);
    asdnorm_index_free(out);

    /* With targets: queries near the targets find a target in both indexes. */
    assert_int_equal(asdnorm_index_add(ix, tgt, nt, td), ASDNORM_OK);
    for (size_t i = 0; i < nq; i++) {
        q[i * dim] -= 1.0f;
        q[i * dim + 1] += 1.0f;
    }
    assert_int_equal(asdnorm_source_means(ix, 3, 3, 0, &out), ASDNORM_OK);
    asdnorm_index *both[2] = {ix, out};
    float sco[2][12];
    size_t near[2][12];
    for (int b = 0; b < 2; b++) {
        assert_int_equal(asdnorm_index_finalize(both[b], ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_new(both[b], ASDNORM_NORM_NONE, &sc), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_score(sc, q, nq, sco[b], near[b]), ASDNORM_OK);
        asdnorm_scorer_free(sc);
    }
    for (size_t t = 0; t < nq; t++) {
        assert_true(near[0][t] >= ns);
        assert_int_equal(near[1][t], near[0][t] - ns + 3);
        assert_true(sco[0][t] == sco[1][t]);
    }
    asdnorm_index_free(out);
    asdnorm_index_free(ix);
    free(src);
    free(tgt);
    free(q);
}

static void test_source_means_bad_input(void **state)
{
    (void)state;
    const float y[] = {1, 0, 0, 1, 1, 1};
    const uint8_t tgt[] = {2, 2, 0}, mix[] = {1, 2, 1};
    asdnorm_index *ix = NULL, *none = NULL;
    asdnorm_index *out = (asdnorm_index *)&out; /* a non-NULL sentinel */
    assert_int_equal(asdnorm_index_new(2, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_new(2, ASDNORM_DISTANCE_COSINE, &none), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(none, y, 3, tgt), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, 3, mix), ASDNORM_OK);

    assert_int_equal(asdnorm_source_means(ix, 1, 1, 0, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_source_means(NULL, 1, 1, 0, &out), ASDNORM_E_NULL);
    assert_null(out);
    out = (asdnorm_index *)&out;
    assert_int_equal(asdnorm_source_means(ix, 0, 1, 0, &out), ASDNORM_E_ARG);
    assert_null(out);
    out = (asdnorm_index *)&out;
    assert_int_equal(asdnorm_source_means(ix, 1, 0, 0, &out), ASDNORM_E_ARG);
    assert_null(out);
    out = (asdnorm_index *)&out;
    assert_int_equal(asdnorm_source_means(none, 1, 1, 0, &out), ASDNORM_E_TOO_FEW);
    assert_null(out);
    /* The source index is untouched by a successful call too. */
    assert_int_equal(asdnorm_source_means(ix, 1, 1, 0, &out), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(ix), 3);
    assert_int_equal(asdnorm_index_size(out), 2);
    asdnorm_index_free(out);
    asdnorm_index_free(ix);
    asdnorm_index_free(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blobs_known_centroids),
        cmocka_unit_test(test_single_cluster_is_mean),
        cmocka_unit_test(test_k_equals_n),
        cmocka_unit_test(test_inertia_and_fixed_point),
        cmocka_unit_test(test_more_restarts_never_worse),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_duplicates_and_empty_clusters),
        cmocka_unit_test(test_kmeans_bad_input),
        cmocka_unit_test(test_source_means_layout),
        cmocka_unit_test(test_source_means_cosine),
        cmocka_unit_test(test_source_means_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
