/* SPDX-License-Identifier: MIT */
/* asdnorm_index_search: the k nearest references of each query against a
 * double-precision brute force (testutil.h), on random, clustered and
 * duplicated references, every distance, k from 1 to M; ties to the lower
 * position; bad input refused with the outputs untouched. */
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

#define DIM 24
#define M 300
#define NQ 70

/* Brute force: query q's references sorted by (double distance, position). */
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

static void brute(asdnorm_distance kind, const float *refs, size_t m, const float *q, cand *out)
{
    for (size_t j = 0; j < m; j++) {
        out[j].d = tu_distance(kind, q, refs + j * DIM, DIM);
        out[j].j = j;
    }
    qsort(out, m, sizeof *out, cand_cmp);
}

/* The library's float distance is the exact distance rounded once: within one
 * float ulp of the brute force's double (whose own error is ~1e-15 relative). */
static int float_of(double want, float got)
{
    float w = (float)want;
    return got == w || got == nextafterf(w, INFINITY) || got == nextafterf(w, -INFINITY);
}

/* References: Gaussian (family 0); 6 tight clusters (1); a third of the rows
 * exact copies of earlier rows, some copied 4 times (2). */
static float *make_refs(int family, uint64_t *s)
{
    float *y = tu_gauss(s, M, DIM, 0.2, 1.0);
    if (family == 1) {
        float *c = tu_gauss(s, 6, DIM, 0.0, 3.0);
        for (size_t i = 0; i < M; i++)
            for (size_t t = 0; t < DIM; t++)
                y[i * DIM + t] = c[(i % 6) * DIM + t] + 1e-3f * y[i * DIM + t];
        free(c);
    } else if (family == 2) {
        for (size_t i = 2; i < M; i += 3)
            memcpy(y + i * DIM, y + (i % 7 == 2 ? 0 : i - 1) * DIM, DIM * sizeof *y);
    }
    return y;
}

/* Every query's k nearest, for several k, against the brute force. */
static void check_ks(const asdnorm_index *ix, asdnorm_distance kind, int family,
                     const float *refs, const float *q)
{
    cand *want = malloc(M * sizeof *want);
    const size_t ks[] = {1, 2, 7, 16, M};
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
        const size_t k = ks[ki];
        float *dist = malloc(NQ * k * sizeof *dist);
        size_t *ids = malloc(NQ * k * sizeof *ids);
        assert_int_equal(asdnorm_index_search(ix, q, NQ, k, dist, ids), ASDNORM_OK);
        for (size_t i = 0; i < NQ; i++) {
            brute(kind, refs, M, q + i * DIM, want);
            for (size_t t = 0; t < k; t++) {
                if (ids[i * k + t] != want[t].j || !float_of(want[t].d, dist[i * k + t]))
                    fail_msg("distance %d family %d k %zu query %zu rank %zu: got (%zu, %.9g), "
                             "want (%zu, %.9g)", (int)kind, family, k, i, t, ids[i * k + t],
                             (double)dist[i * k + t], want[t].j, want[t].d);
            }
        }
        free(dist);
        free(ids);
    }
    free(want);
}

static void check_family(asdnorm_distance kind, int family)
{
    uint64_t s = 0x5ea2c4ull + (uint64_t)(3 * family + (int)kind);
    float *refs = make_refs(family, &s);
    /* Queries: fresh points, and exact copies of references (distance 0). */
    float *q = tu_gauss(&s, NQ, DIM, 0.1, 1.2);
    for (size_t i = 0; i < NQ; i += 5)
        memcpy(q + i * DIM, refs + ((i * 37) % M) * DIM, DIM * sizeof *q);

    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, kind, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, refs, M, NULL), ASDNORM_OK);

    check_ks(ix, kind, family, refs, q);
    /* Finalizing changes nothing about distances (a finalized index knows its
     * exact copies, and the search leaves out those that cannot be among the k). */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 3), ASDNORM_OK);
    check_ks(ix, kind, family, refs, q);
    float d1[NQ];
    size_t i1[NQ];
    float sc[NQ];
    size_t nearest[NQ];
    assert_int_equal(asdnorm_index_search(ix, q, NQ, 1, d1, i1), ASDNORM_OK);
    /* k = 1 is the plain nearest neighbour the scorer finds without normalization. */
    asdnorm_scorer *sco = NULL;
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_NONE, &sco), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sco, q, NQ, sc, nearest), ASDNORM_OK);
    assert_memory_equal(i1, nearest, sizeof i1);
    assert_memory_equal(d1, sc, sizeof d1);
    asdnorm_scorer_free(sco);

    asdnorm_index_free(ix);
    free(q);
    free(refs);
}

static void test_exact_cosine(void **state)
{
    (void)state;
    for (int f = 0; f < 3; f++)
        check_family(ASDNORM_DISTANCE_COSINE, f);
}

static void test_exact_euclidean(void **state)
{
    (void)state;
    for (int f = 0; f < 3; f++)
        check_family(ASDNORM_DISTANCE_EUCLIDEAN, f);
}

static void test_exact_mse(void **state)
{
    (void)state;
    for (int f = 0; f < 3; f++)
        check_family(ASDNORM_DISTANCE_MSE, f);
}

/* Every reference identical: all distances tie, so the ids are 0, 1, …, k − 1. */
static void test_all_identical(void **state)
{
    (void)state;
    enum { MI = 40, K = 12 };
    float row[DIM], refs[MI * DIM], q[2 * DIM];
    for (size_t t = 0; t < DIM; t++)
        row[t] = (float)t - 5.5f;
    for (size_t i = 0; i < MI; i++)
        memcpy(refs + i * DIM, row, sizeof row);
    memcpy(q, row, sizeof row);
    for (size_t t = 0; t < DIM; t++)
        q[DIM + t] = row[t] + 1.0f;
    for (int kind = 0; kind < 3; kind++) {
        asdnorm_index *ix = NULL;
        assert_int_equal(asdnorm_index_new(DIM, (asdnorm_distance)kind, &ix), ASDNORM_OK);
        assert_int_equal(asdnorm_index_add(ix, refs, MI, NULL), ASDNORM_OK);
        /* before and after finalize (which finds the copies) */
        for (int fin = 0; fin < 2; fin++) {
            if (fin)
                assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 3), ASDNORM_OK);
            float dist[2 * K];
            size_t ids[2 * K];
            assert_int_equal(asdnorm_index_search(ix, q, 2, K, dist, ids), ASDNORM_OK);
            const double far = tu_distance((asdnorm_distance)kind, q + DIM, row, DIM);
            for (size_t t = 0; t < K; t++) {
                assert_int_equal(ids[t], t);
                assert_int_equal(ids[K + t], t);
                assert_true(dist[t] == 0.0f);
                assert_true(float_of(far, dist[K + t]));
            }
        }
        asdnorm_index_free(ix);
    }
}

static void test_errors_change_nothing(void **state)
{
    (void)state;
    uint64_t s = 77;
    float *refs = tu_gauss(&s, 10, DIM, 0.0, 1.0);
    float q[2 * DIM];
    memcpy(q, refs, sizeof q);
    asdnorm_index *ix = NULL, *empty = NULL;
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_EUCLIDEAN, &empty), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, refs, 10, NULL), ASDNORM_OK);

    float dist[2 * 3];
    size_t ids[2 * 3];
    for (size_t t = 0; t < 6; t++) {
        dist[t] = -7.0f;
        ids[t] = 12345;
    }
#define UNTOUCHED()                                                                            \
    for (size_t t = 0; t < 6; t++) {                                                           \
        assert_true(dist[t] == -7.0f);                                                         \
        assert_int_equal(ids[t], 12345);                                                       \
    }
    assert_int_equal(asdnorm_index_search(NULL, q, 2, 3, dist, ids), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_search(ix, NULL, 2, 3, dist, ids), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_search(ix, q, 2, 3, NULL, ids), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_search(ix, q, 2, 3, dist, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_search(empty, q, 2, 1, dist, ids), ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_index_search(ix, q, 2, 0, dist, ids), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_index_search(ix, q, 2, 11, dist, ids), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_index_search(ix, q, SIZE_MAX / 2, 3, dist, ids), ASDNORM_E_OVERFLOW);
    UNTOUCHED();
    /* n = 0 succeeds and writes nothing, with or without buffers. */
    assert_int_equal(asdnorm_index_search(ix, NULL, 0, 3, NULL, NULL), ASDNORM_OK);
    /* One bad row in the second query refuses the whole batch. */
    q[DIM + 3] = NAN;
    assert_int_equal(asdnorm_index_search(ix, q, 2, 3, dist, ids), ASDNORM_E_NONFINITE);
    UNTOUCHED();
    memset(q + DIM, 0, DIM * sizeof *q);
    assert_int_equal(asdnorm_index_search(ix, q, 2, 3, dist, ids), ASDNORM_E_ZERO_VECTOR);
    UNTOUCHED();
    q[DIM] = 1e30f;
    assert_int_equal(asdnorm_index_add(empty, refs, 10, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_search(empty, q, 2, 3, dist, ids), ASDNORM_E_RANGE);
    UNTOUCHED();
#undef UNTOUCHED
    /* The index is unchanged: the first query still finds itself at distance 0. */
    assert_int_equal(asdnorm_index_search(ix, q, 1, 3, dist, ids), ASDNORM_OK);
    assert_int_equal(ids[0], 0);
    assert_true(dist[0] == 0.0f);
    asdnorm_index_free(ix);
    asdnorm_index_free(empty);
    free(refs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_cosine),
        cmocka_unit_test(test_exact_euclidean),
        cmocka_unit_test(test_exact_mse),
        cmocka_unit_test(test_all_identical),
        cmocka_unit_test(test_errors_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
