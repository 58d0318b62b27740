/* SPDX-License-Identifier: MIT */
/* asdnorm_index_set_density and asdnorm_index_search_double: the two halves
 * of finalizing a reference set split into parts (python/asdnorm/dask.py).
 *  - An index given the constants a finalize computed is the finalized index:
 *    the same estimator, scores and nearest references bitwise, the same saved
 *    bytes up to what only incremental updates use (the version-2 sections
 *    after DENS, and so the file size), and it loads and scores the same.
 *  - The density constants recomputed from search_double's distances (self
 *    excluded by position, summed as docs/math.md §2.2 says) equal finalize's
 *    bitwise: double distances are enough to finalize elsewhere.
 *  - Hand-computed scores for given constants; −0 and K > M − 1 as documented. */
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

#define DIM 12
#define M 150
#define NQ 40

static const asdnorm_distance kinds[] = {ASDNORM_DISTANCE_COSINE, ASDNORM_DISTANCE_EUCLIDEAN,
                                         ASDNORM_DISTANCE_MSE};

/* Gaussian references with every fifth row an exact copy of the one before
 * (ties and zero distances). */
static float *make_refs(uint64_t *s)
{
    float *y = tu_gauss(s, M, DIM, 0.3, 1.0);
    for (size_t i = 5; i < M; i += 5)
        memcpy(y + i * DIM, y + (i - 1) * DIM, DIM * sizeof *y);
    return y;
}

static asdnorm_index *build(asdnorm_distance kind, const float *refs)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, kind, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, refs, M, NULL), ASDNORM_OK);
    return ix;
}

static void scores_of(const asdnorm_index *ix, asdnorm_norm norm, const float *q, float *sc,
                      size_t *nn)
{
    asdnorm_scorer *s = NULL;
    assert_int_equal(asdnorm_scorer_new(ix, norm, &s), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(s, q, NQ, sc, nn), ASDNORM_OK);
    asdnorm_scorer_free(s);
}

static unsigned char *serialized(const asdnorm_index *ix, size_t *len)
{
    assert_int_equal(asdnorm_index_serialize(ix, NULL, 0, len), ASDNORM_E_BUFFER);
    unsigned char *b = malloc(*len);
    assert_int_equal(asdnorm_index_serialize(ix, b, *len, len), ASDNORM_OK);
    return b;
}

/* Same estimator, same density constants, same scores (every norm), same bytes. */
static void assert_same_index(const asdnorm_index *a, const asdnorm_index *b, const float *q)
{
    asdnorm_density ea, eb;
    double pa, pb;
    assert_int_equal(asdnorm_index_get_estimator(a, &ea, &pa), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_estimator(b, &eb, &pb), ASDNORM_OK);
    assert_int_equal(ea, eb);
    assert_memory_equal(&pa, &pb, sizeof pa);
    double da[M], db[M];
    assert_int_equal(asdnorm_index_get_density(a, da, M), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_density(b, db, M), ASDNORM_OK);
    assert_memory_equal(da, db, sizeof da);
    for (int norm = 0; norm < 3; norm++) {
        float sa[NQ], sb[NQ];
        size_t na[NQ], nb[NQ];
        scores_of(a, (asdnorm_norm)norm, q, sa, na);
        scores_of(b, (asdnorm_norm)norm, q, sb, nb);
        assert_memory_equal(sa, sb, sizeof sa);
        assert_memory_equal(na, nb, sizeof na);
    }
    size_t la, lb;
    unsigned char *ba = serialized(a, &la), *bb = serialized(b, &lb);
    /* The bytes up to the end of DENS, the fifth section (docs/file-format.md §1),
     * but the file size field, 8 bytes at offset 16. */
    size_t end = 64;
    for (int s = 0; s < 5; s++) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--)
            n = n << 8 | ba[end + 8 + (size_t)i];
        end = (end + 16 + (size_t)n + 7) / 8 * 8;
    }
    assert_true(end <= la && end <= lb);
    assert_memory_equal(ba, bb, 16);
    assert_memory_equal(ba + 24, bb + 24, end - 24);
    free(ba);
    free(bb);
}

static void test_same_as_finalize(void **state)
{
    (void)state;
    const struct {
        asdnorm_density est;
        double param;
    } ests[] = {{ASDNORM_DENSITY_NONE, 0},    {ASDNORM_DENSITY_KNN, 1},
                {ASDNORM_DENSITY_KNN, 7},     {ASDNORM_DENSITY_KNN, 1000},
                {ASDNORM_DENSITY_GWRP, 0.0},  {ASDNORM_DENSITY_GWRP, 0.8},
                {ASDNORM_DENSITY_GWRP, 1.0}};
    for (size_t ki = 0; ki < 3; ki++) {
        uint64_t s = 0xde5e7ull + ki;
        float *refs = make_refs(&s);
        float *q = tu_gauss(&s, NQ, DIM, 0.3, 1.1);
        memcpy(q, refs + 7 * DIM, DIM * sizeof *q); /* a copy of a reference */
        for (size_t e = 0; e < sizeof ests / sizeof *ests; e++) {
            asdnorm_index *fin = build(kinds[ki], refs), *given = build(kinds[ki], refs);
            assert_int_equal(asdnorm_index_finalize(fin, ests[e].est, ests[e].param),
                             ASDNORM_OK);
            double dens[M];
            assert_int_equal(asdnorm_index_get_density(fin, dens, M), ASDNORM_OK);
            /* The constants themselves are right (brute force, to double rounding). */
            double want[M];
            tu_density(kinds[ki], refs, M, DIM, ests[e].est, ests[e].param, want);
            for (size_t j = 0; j < M; j++)
                assert_true(tu_close(dens[j], want[j], 1e-12, 1e-15));

            assert_int_equal(asdnorm_index_set_density(given, ests[e].est, ests[e].param, dens,
                                                       M),
                             ASDNORM_OK);
            assert_true(asdnorm_index_is_finalized(given));
            assert_same_index(fin, given, q);

            /* Saved and loaded, it is still the finalized index. */
            size_t len;
            unsigned char *b = serialized(given, &len);
            asdnorm_index *loaded = NULL;
            assert_int_equal(asdnorm_index_load_buffer(b, len, &loaded), ASDNORM_OK);
            assert_same_index(fin, loaded, q);
            asdnorm_index_free(loaded);
            free(b);

            /* add un-finalizes it: given constants cannot be updated (a finalized
             * index stays finalized, tests/test_incr.c). */
            assert_int_equal(asdnorm_index_add(given, refs, 1, NULL), ASDNORM_OK);
            assert_false(asdnorm_index_is_finalized(given));
            asdnorm_index_free(fin);
            asdnorm_index_free(given);
        }
        free(q);
        free(refs);
    }
}

/* k-NN constants recomputed from search_double over the stored references
 * themselves: k + 1 nearest, this reference dropped by position, the rest
 * summed in ascending order and divided by k, as finalize sums. */
static void test_search_double_gives_finalize(void **state)
{
    (void)state;
    enum { K = 5 };
    for (size_t ki = 0; ki < 3; ki++) {
        uint64_t s = 0x5d0ull + ki;
        float *refs = make_refs(&s);
        asdnorm_index *ix = build(kinds[ki], refs);
        double *dist = malloc(M * (K + 1) * sizeof *dist);
        size_t *ids = malloc(M * (K + 1) * sizeof *ids);
        float *fdist = malloc(M * (K + 1) * sizeof *fdist);
        size_t *fids = malloc(M * (K + 1) * sizeof *fids);
        assert_int_equal(asdnorm_index_search_double(ix, refs, M, K + 1, dist, ids), ASDNORM_OK);
        assert_int_equal(asdnorm_index_search(ix, refs, M, K + 1, fdist, fids), ASDNORM_OK);
        double mine[M];
        for (size_t i = 0; i < M; i++) {
            double sum = 0;
            size_t used = 0;
            for (size_t t = 0; t <= K && used < K; t++) {
                const size_t r = i * (K + 1) + t;
                /* the float search is this search rounded */
                assert_int_equal(fids[r], ids[r]);
                assert_true(fdist[r] == (float)dist[r]);
                assert_true(tu_close(dist[r], tu_distance(kinds[ki], refs + i * DIM,
                                                          refs + ids[r] * DIM, DIM),
                                     1e-12, 1e-15));
                if (ids[r] == i)
                    continue;
                sum += dist[r];
                used++;
            }
            mine[i] = sum / K;
        }
        assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, K), ASDNORM_OK);
        double dens[M];
        assert_int_equal(asdnorm_index_get_density(ix, dens, M), ASDNORM_OK);
        assert_memory_equal(mine, dens, sizeof dens);
        asdnorm_index_free(ix);
        free(dist);
        free(ids);
        free(fdist);
        free(fids);
        free(refs);
    }
}

/* Three references on a line, constants chosen by hand: the scores follow
 * math §2.3 with them, computed here. */
static void test_given_constants_score(void **state)
{
    (void)state;
    const float y[3] = {0.0f, 1.0f, 5.0f}, x[2] = {0.75f, 4.0f};
    const double n[3] = {0.5, 2.0, 0.25};
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(1, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, 3, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_set_density(ix, ASDNORM_DENSITY_KNN, 9, n, 3), ASDNORM_OK);
    asdnorm_density est;
    double param;
    assert_int_equal(asdnorm_index_get_estimator(ix, &est, &param), ASDNORM_OK);
    assert_int_equal(est, ASDNORM_DENSITY_KNN);
    assert_true(param == 2.0); /* K clipped to M − 1, as finalize reports it */

    asdnorm_scorer *sc = NULL;
    float s[2];
    size_t nn[2];
    /* ratio: x = 0.75 → min(0.75/0.5, 0.25/2, 4.25/0.25) = 0.125 at 1;
     *        x = 4    → min(4/0.5, 3/2, 1/0.25) = 1.5 at 1 */
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, x, 2, s, nn), ASDNORM_OK);
    assert_true(s[0] == 0.125f && nn[0] == 1);
    assert_true(s[1] == 1.5f && nn[1] == 1);
    asdnorm_scorer_free(sc);
    /* difference: x = 0.75 → min(0.25, −1.75, 4.0) = −1.75 at 1;
     *             x = 4    → min(3.5, 1.0, 0.75) = 0.75 at 2 */
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_DIFFERENCE, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, x, 2, s, nn), ASDNORM_OK);
    assert_true(s[0] == -1.75f && nn[0] == 1);
    assert_true(s[1] == 0.75f && nn[1] == 2);
    asdnorm_scorer_free(sc);

    /* −0 is stored as +0 (the file format refuses −0), and NONE takes zeros. */
    const double z[3] = {-0.0, 0.0, -0.0};
    double got[3];
    assert_int_equal(asdnorm_index_set_density(ix, ASDNORM_DENSITY_GWRP, 0.5, z, 3), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_density(ix, got, 3), ASDNORM_OK);
    for (int j = 0; j < 3; j++)
        assert_false(signbit(got[j]));
    assert_int_equal(asdnorm_index_set_density(ix, ASDNORM_DENSITY_NONE, 0, z, 3), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_estimator(ix, &est, &param), ASDNORM_OK);
    assert_int_equal(est, ASDNORM_DENSITY_NONE);
    assert_true(param == 0.0);
    asdnorm_index_free(ix);
}

/* asdnorm_index_get_floor and asdnorm_index_set_floor: finalize's φ is ε · S of the
 * references (testutil's brute force, to double rounding); a given φ is the one the ratio
 * divides by where n_j is below it (a query one step from a zero-density copy scores
 * d / φ); finalize derives φ again; bad values and states are refused, changing nothing. */
static void test_floor_given(void **state)
{
    (void)state;
    uint64_t s = 31;
    float *refs = make_refs(&s); /* row 5 is a copy of row 4: with K = 1, n = 0 for both */
    asdnorm_index *ix = build(ASDNORM_DISTANCE_MSE, refs);
    double phi = -1.0;
    assert_int_equal(asdnorm_index_get_floor(ix, &phi), ASDNORM_E_STATE);
    assert_int_equal(asdnorm_index_set_floor(ix, 1e-9), ASDNORM_E_STATE);
    assert_true(phi == -1.0);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_floor(ix, &phi), ASDNORM_OK);
    assert_true(tu_close(phi, tu_ratio_floor(ASDNORM_DISTANCE_MSE, refs, M, DIM), 1e-12, 0));

    float q[DIM];
    memcpy(q, refs + 4 * DIM, sizeof q);
    q[0] = nextafterf(q[0], INFINITY);
    const double d = tu_distance(ASDNORM_DISTANCE_MSE, q, refs + 4 * DIM, DIM);
    const double given[] = {phi, 4.0 * phi, 0.25 * phi};
    for (size_t g = 0; g < 3; g++) {
        assert_int_equal(asdnorm_index_set_floor(ix, given[g]), ASDNORM_OK);
        double back;
        assert_int_equal(asdnorm_index_get_floor(ix, &back), ASDNORM_OK);
        assert_memory_equal(&back, &given[g], sizeof back);
        asdnorm_scorer *sc = NULL;
        float score;
        size_t nn;
        assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_score(sc, q, 1, &score, &nn), ASDNORM_OK);
        asdnorm_scorer_free(sc);
        assert_int_equal(nn, 4); /* d / φ ≈ 1e-3: far below every other ratio */
        assert_true(tu_close(score, d / given[g], 1e-6, 0));
    }
    const double bad[] = {0.0, -1e-12, NAN, INFINITY};
    for (size_t b = 0; b < 4; b++)
        assert_int_equal(asdnorm_index_set_floor(ix, bad[b]), ASDNORM_E_ARG);
    double back;
    assert_int_equal(asdnorm_index_get_floor(ix, &back), ASDNORM_OK);
    assert_memory_equal(&back, &given[2], sizeof back);
    /* Finalize derives φ from the references again. */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_floor(ix, &back), ASDNORM_OK);
    assert_memory_equal(&back, &phi, sizeof back);
    assert_int_equal(asdnorm_index_get_floor(NULL, &back), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_get_floor(ix, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_set_floor(NULL, 1.0), ASDNORM_E_NULL);
    asdnorm_index_free(ix);
    free(refs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_finalize),
        cmocka_unit_test(test_search_double_gives_finalize),
        cmocka_unit_test(test_given_constants_score),
        cmocka_unit_test(test_floor_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
