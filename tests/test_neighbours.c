/* SPDX-License-Identifier: MIT */
/* asdnorm_index_neighbours: every reference's k nearest other references, and
 * with a split those of the other part only.
 *  - Against a double-precision brute force (testutil.h): positions exactly
 *    (ties to the lower position), distances to 1e-12, on Gaussian, clustered
 *    and duplicated references under every distance, k from 1 to the most
 *    allowed, splits at the ends and inside a group of the search.
 *  - split = 0 gives finalize's lists: their k-NN mean is finalize's density
 *    bitwise.
 *  - A reference set in two parts: each part's own lists merged with the
 *    cross lists are the whole set's lists, bitwise (what asdnorm.dask does).
 *  - Bad arguments refused, outputs untouched. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define DIM 10
#define M 1100 /* more than two of the symmetric search's groups of 512 */

typedef struct {
    double d;
    size_t j;
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

/* Gaussian (family 0); 7 tight clusters (1); every third row a copy of an
 * earlier one, many of row 0 (2). */
static float *make_refs(int family, uint64_t *s)
{
    float *y = tu_gauss(s, M, DIM, 0.2, 1.0);
    if (family == 1) {
        float *c = tu_gauss(s, 7, DIM, 0.0, 3.0);
        for (size_t i = 0; i < M; i++)
            for (size_t t = 0; t < DIM; t++)
                y[i * DIM + t] = c[(i % 7) * DIM + t] + 1e-3f * y[i * DIM + t];
        free(c);
    } else if (family == 2) {
        for (size_t i = 2; i < M; i += 3)
            memcpy(y + i * DIM, y + (i % 4 == 2 ? 0 : i - 1) * DIM, DIM * sizeof *y);
    }
    return y;
}

static asdnorm_index *build(asdnorm_distance kind, const float *refs, size_t m)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, kind, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, refs, m, NULL), ASDNORM_OK);
    return ix;
}

/* The brute force of reference i: the others (split 0) or the other part's,
 * by (distance, position). Returns their number. */
static size_t brute(asdnorm_distance kind, const float *refs, size_t split, size_t i, cand *out)
{
    size_t lo = 0, hi = M, n = 0;
    if (split) {
        lo = i < split ? split : 0;
        hi = i < split ? M : split;
    }
    for (size_t j = lo; j < hi; j++)
        if (j != i)
            out[n++] = (cand){tu_distance(kind, refs + i * DIM, refs + j * DIM, DIM), j};
    qsort(out, n, sizeof *out, cand_cmp);
    return n;
}

static void check(asdnorm_distance kind, int family)
{
    uint64_t s = 0x9e1b0u + (uint64_t)(3 * family + (int)kind);
    float *refs = make_refs(family, &s);
    asdnorm_index *ix = build(kind, refs, M);
    cand *want = malloc(M * sizeof *want);
    const size_t splits[] = {0, 1, 700, M - 1};
    const size_t ks[] = {1, 4, 16, 299};
    enum { NK = sizeof ks / sizeof *ks };
    for (size_t si = 0; si < sizeof splits / sizeof *splits; si++) {
        const size_t split = splits[si];
        const size_t most = split == 0 ? M - 1 : split < M - split ? split : M - split;
        double *dist[NK] = {0};
        size_t *ids[NK] = {0};
        size_t nk = 0;
        for (; nk < NK && ks[nk] <= most; nk++) {
            dist[nk] = malloc(M * ks[nk] * sizeof **dist);
            ids[nk] = malloc(M * ks[nk] * sizeof **ids);
            assert_int_equal(asdnorm_index_neighbours(ix, split, ks[nk], dist[nk], ids[nk]),
                             ASDNORM_OK);
        }
        for (size_t i = 0; i < M; i++) {
            brute(kind, refs, split, i, want);
            for (size_t ki = 0; ki < nk; ki++) {
                const size_t k = ks[ki];
                for (size_t t = 0; t < k; t++)
                    if (ids[ki][i * k + t] != want[t].j ||
                        !tu_close(dist[ki][i * k + t], want[t].d, 1e-12, 1e-15))
                        fail_msg("distance %d family %d split %zu k %zu row %zu rank %zu: "
                                 "got (%zu, %.17g), want (%zu, %.17g)", (int)kind, family,
                                 split, k, i, t, ids[ki][i * k + t], dist[ki][i * k + t],
                                 want[t].j, want[t].d);
            }
        }
        for (size_t ki = 0; ki < nk; ki++) {
            free(dist[ki]);
            free(ids[ki]);
        }
    }
    asdnorm_index_free(ix);
    free(want);
    free(refs);
}

static void test_cosine(void **state)
{
    (void)state;
    for (int f = 0; f < 3; f++)
        check(ASDNORM_DISTANCE_COSINE, f);
}

static void test_euclidean(void **state)
{
    (void)state;
    for (int f = 0; f < 3; f++)
        check(ASDNORM_DISTANCE_EUCLIDEAN, f);
}

static void test_mse(void **state)
{
    (void)state;
    for (int f = 0; f < 3; f++)
        check(ASDNORM_DISTANCE_MSE, f);
}

/* The lists of a set in two parts A = rows 0 … S − 1 and B = rows S … M − 1:
 * A's own lists (an index of A alone) merged with A's cross lists give the
 * whole set's lists, bitwise, and the k-NN mean of those is finalize's. */
static void test_parts_merge_to_finalize(void **state)
{
    (void)state;
    enum { K = 16, S = 430 };
    for (int kind = 0; kind < 3; kind++) {
        uint64_t s = 4242u + (uint64_t)kind;
        float *refs = make_refs(2, &s);
        asdnorm_index *ix = build((asdnorm_distance)kind, refs, M);
        asdnorm_index *a = build((asdnorm_distance)kind, refs, S);
        asdnorm_index *b = build((asdnorm_distance)kind, refs + S * DIM, M - S);
        static double whole_d[M * K], cross_d[M * K], own_d[M * K];
        static size_t whole_j[M * K], cross_j[M * K], own_j[M * K];
        assert_int_equal(asdnorm_index_neighbours(ix, 0, K, whole_d, whole_j), ASDNORM_OK);
        assert_int_equal(asdnorm_index_neighbours(ix, S, K, cross_d, cross_j), ASDNORM_OK);
        assert_int_equal(asdnorm_index_neighbours(a, 0, K, own_d, own_j), ASDNORM_OK);
        assert_int_equal(asdnorm_index_neighbours(b, 0, K, own_d + S * K, own_j + S * K),
                         ASDNORM_OK);
        for (size_t t = S * K; t < M * K; t++)
            own_j[t] += S; /* B's positions in the whole set */

        assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, K), ASDNORM_OK);
        double dens[M];
        assert_int_equal(asdnorm_index_get_density(ix, dens, M), ASDNORM_OK);
        for (size_t i = 0; i < M; i++) {
            cand c[2 * K];
            for (size_t t = 0; t < K; t++) {
                c[t] = (cand){own_d[i * K + t], own_j[i * K + t]};
                c[K + t] = (cand){cross_d[i * K + t], cross_j[i * K + t]};
            }
            qsort(c, 2 * K, sizeof *c, cand_cmp);
            double sum = 0.0;
            for (size_t t = 0; t < K; t++) {
                assert_memory_equal(&c[t].d, &whole_d[i * K + t], sizeof(double));
                assert_int_equal(c[t].j, whole_j[i * K + t]);
                sum += whole_d[i * K + t];
            }
            const double mean = sum / K;
            assert_memory_equal(&mean, &dens[i], sizeof mean);
        }
        asdnorm_index_free(ix);
        asdnorm_index_free(a);
        asdnorm_index_free(b);
        free(refs);
    }
}

static void test_errors_change_nothing(void **state)
{
    (void)state;
    uint64_t s = 5;
    float *refs = tu_gauss(&s, 6, DIM, 0.0, 1.0);
    asdnorm_index *ix = build(ASDNORM_DISTANCE_EUCLIDEAN, refs, 6);
    asdnorm_index *one = build(ASDNORM_DISTANCE_EUCLIDEAN, refs, 1);
    double dist[30];
    size_t ids[30];
    for (size_t t = 0; t < 30; t++) {
        dist[t] = -7.0;
        ids[t] = 12345;
    }
    assert_int_equal(asdnorm_index_neighbours(NULL, 0, 2, dist, ids), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_neighbours(ix, 0, 2, NULL, ids), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_neighbours(ix, 0, 2, dist, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_neighbours(one, 0, 1, dist, ids), ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_index_neighbours(ix, 0, 0, dist, ids), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_index_neighbours(ix, 0, 6, dist, ids), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_index_neighbours(ix, 6, 1, dist, ids), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_index_neighbours(ix, 2, 3, dist, ids), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_index_neighbours(ix, 4, 3, dist, ids), ASDNORM_E_ARG);
    for (size_t t = 0; t < 30; t++) {
        assert_true(dist[t] == -7.0);
        assert_int_equal(ids[t], 12345);
    }
    /* The largest k each form allows. */
    assert_int_equal(asdnorm_index_neighbours(ix, 0, 5, dist, ids), ASDNORM_OK);
    assert_int_equal(asdnorm_index_neighbours(ix, 3, 3, dist, ids), ASDNORM_OK);
    asdnorm_index_free(ix);
    asdnorm_index_free(one);
    free(refs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cosine),
        cmocka_unit_test(test_euclidean),
        cmocka_unit_test(test_mse),
        cmocka_unit_test(test_parts_merge_to_finalize),
        cmocka_unit_test(test_errors_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
