/* SPDX-License-Identifier: MIT */
/* The index's life cycle and accessors: add, finalize, re-finalize, add after
 * finalize, K clipping, what is stored (cosine rows normalized, domains). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

static void state_machine(void **state)
{
    (void)state;
    uint64_t seed = 1;
    const size_t dim = 4;
    float *y = tu_gauss(&seed, 10, dim, 0.0, 1.0);
    const uint8_t dom[10] = {1, 1, 1, 1, 1, 1, 2, 2, 2, 0};
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(dim, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(ix), 0);
    assert_int_equal(asdnorm_index_dim(ix), dim);
    assert_int_equal(asdnorm_index_distance(ix), ASDNORM_DISTANCE_EUCLIDEAN);
    assert_false(asdnorm_index_is_finalized(ix));

    /* Nothing to finalize yet. */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_NONE, 0), ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_index_add(ix, y, 1, dom), ASDNORM_OK);
    /* One reference: enough for NONE, not for estimators that need neighbours. */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_GWRP, 0.5), ASDNORM_E_TOO_FEW);
    assert_false(asdnorm_index_is_finalized(ix));
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_NONE, 123), ASDNORM_OK);
    assert_true(asdnorm_index_is_finalized(ix));

    /* Add keeps a finalized index finalized (its densities updated, here NONE's)… */
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y + dim, 1, dom + 1), ASDNORM_OK);
    assert_true(asdnorm_index_is_finalized(ix));
    /* …unless its densities were given: scoring needs a finalized index. */
    const double zeros[2] = {0, 0};
    assert_int_equal(asdnorm_index_set_density(ix, ASDNORM_DENSITY_NONE, 0, zeros, 2), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y + 2 * dim, 8, dom + 2), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(ix), 10);
    assert_false(asdnorm_index_is_finalized(ix));
    float s[2];
    assert_int_equal(asdnorm_scorer_score(sc, y, 2, s, NULL), ASDNORM_E_STATE);
    asdnorm_density est;
    double param;
    assert_int_equal(asdnorm_index_get_estimator(ix, &est, &param), ASDNORM_E_STATE);
    double dens[10];
    assert_int_equal(asdnorm_index_get_density(ix, dens, 10), ASDNORM_E_STATE);

    /* K beyond M − 1 is clipped, and reported clipped. */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 50), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_estimator(ix, &est, &param), ASDNORM_OK);
    assert_int_equal(est, ASDNORM_DENSITY_KNN);
    assert_true(param == 9.0);
    assert_int_equal(asdnorm_index_get_density(ix, dens, 10), ASDNORM_OK);
    double want[10];
    tu_density(ASDNORM_DISTANCE_EUCLIDEAN, y, 10, dim, ASDNORM_DENSITY_KNN, 9, want);
    for (int j = 0; j < 10; j++)
        assert_true(tu_close(dens[j], want[j], 1e-12, 0));

    /* Finalizing again with another estimator recomputes the constants. */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_GWRP, 0.0), ASDNORM_OK);
    tu_density(ASDNORM_DISTANCE_EUCLIDEAN, y, 10, dim, ASDNORM_DENSITY_KNN, 1, want);
    assert_int_equal(asdnorm_index_get_density(ix, dens, 10), ASDNORM_OK);
    for (int j = 0; j < 10; j++)   /* GWRP r = 0 is the nearest neighbour: K = 1 */
        assert_true(tu_close(dens[j], want[j], 1e-12, 0));
    assert_int_equal(asdnorm_index_get_estimator(ix, &est, &param), ASDNORM_OK);
    assert_int_equal(est, ASDNORM_DENSITY_GWRP);
    assert_true(param == 0.0);
    assert_int_equal(asdnorm_scorer_score(sc, y, 2, s, NULL), ASDNORM_OK);

    uint8_t got[10];
    assert_int_equal(asdnorm_index_get_domains(ix, got, 10), ASDNORM_OK);
    assert_memory_equal(got, dom, 10);
    float back[10 * 4];
    assert_int_equal(asdnorm_index_get_vectors(ix, 0, 10, back), ASDNORM_OK);
    assert_memory_equal(back, y, sizeof back);   /* euclidean: stored as given */

    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    free(y);
}

/* Cosine stores each row as its unit direction; domains default to unknown. */
static void cosine_storage(void **state)
{
    (void)state;
    const float x[2 * 3] = {3, 0, 4, 0, -2e-30f, 0};
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(3, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, x, 2, NULL), ASDNORM_OK);
    float back[6];
    assert_int_equal(asdnorm_index_get_vectors(ix, 0, 2, back), ASDNORM_OK);
    const float unit[6] = {0.6f, 0, 0.8f, 0, -1, 0};
    for (int i = 0; i < 6; i++)
        assert_true(fabsf(back[i] - unit[i]) <= 1e-7f);
    uint8_t d[2];
    assert_int_equal(asdnorm_index_get_domains(ix, d, 2), ASDNORM_OK);
    assert_int_equal(d[0], ASDNORM_DOMAIN_UNKNOWN);
    assert_int_equal(d[1], ASDNORM_DOMAIN_UNKNOWN);
    /* Orthogonal unit vectors: cosine distance 0.5, so K = 1 density 0.5 each. */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
    double dens[2];
    assert_int_equal(asdnorm_index_get_density(ix, dens, 2), ASDNORM_OK);
    assert_true(fabs(dens[0] - 0.5) < 1e-15 && fabs(dens[1] - 0.5) < 1e-15);
    asdnorm_index_free(ix);
}

/* Hand-derived: points 0, 1, 3, 7 on a line (euclidean). */
static void hand_derived(void **state)
{
    (void)state;
    const float x[4] = {0, 1, 3, 7};
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(1, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, x, 4, NULL), ASDNORM_OK);
    double dens[4];
    /* K = 2: 0 → {1, 3}: 2;  1 → {1, 2}: 1.5;  3 → {2, 3}: 2.5;  7 → {4, 6}: 5 */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 2), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_density(ix, dens, 4), ASDNORM_OK);
    assert_true(dens[0] == 2.0 && dens[1] == 1.5 && dens[2] == 2.5 && dens[3] == 5.0);
    /* GWRP r = 0.5: 0 → (1 + 0.5·3 + 0.25·7)/1.75 = 4.25/1.75;
     * 7 → (4 + 0.5·6 + 0.25·7)/1.75 = 8.75/1.75 = 5. r = 1: plain means,
     * 0 → (1 + 3 + 7)/3, 1 → (1 + 2 + 6)/3 = 3. */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_GWRP, 0.5), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_density(ix, dens, 4), ASDNORM_OK);
    assert_true(fabs(dens[0] - 4.25 / 1.75) < 1e-15 && fabs(dens[3] - 5.0) < 1e-15);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_GWRP, 1.0), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_density(ix, dens, 4), ASDNORM_OK);
    assert_true(fabs(dens[0] - 11.0 / 3) < 1e-15 && fabs(dens[1] - 3.0) < 1e-15);

    /* Scores of x = 2 with K = 1 densities (1, 1, 2, 4):
     * ratio: min(2/1, 1/1, 1/2, 5/4) = 0.5 at 3;  difference: min(1, 0, −1, 1) = −1 at 3. */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
    const float t = 2;
    float s;
    size_t near;
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, &t, 1, &s, &near), ASDNORM_OK);
    assert_true(s == 0.5f && near == 2);
    asdnorm_scorer_free(sc);
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_DIFFERENCE, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, &t, 1, &s, &near), ASDNORM_OK);
    assert_true(s == -1.0f && near == 2);
    asdnorm_scorer_free(sc);
    /* none: the plain nearest neighbour, distance 1 (to 1 and to 3: first wins). */
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_NONE, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, &t, 1, &s, &near), ASDNORM_OK);
    assert_true(s == 1.0f && near == 1);
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
}

/* A failed add changes nothing: one NaN row in a batch adds no row. */
static void failed_add_changes_nothing(void **state)
{
    (void)state;
    uint64_t seed = 3;
    float *y = tu_gauss(&seed, 6, 3, 0.0, 1.0);
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(3, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, 3, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
    double before[3], after[3];
    assert_int_equal(asdnorm_index_get_density(ix, before, 3), ASDNORM_OK);
    y[3 * 3 + 4] = NAN;
    assert_int_equal(asdnorm_index_add(ix, y + 9, 3, NULL), ASDNORM_E_NONFINITE);
    y[3 * 3 + 4] = 0;
    const uint8_t bad[3] = {1, 2, 3};
    assert_int_equal(asdnorm_index_add(ix, y + 9, 3, bad), ASDNORM_E_LABEL);
    const float zero[3] = {0, 0, 0};
    assert_int_equal(asdnorm_index_add(ix, zero, 1, NULL), ASDNORM_E_ZERO_VECTOR);
    assert_int_equal(asdnorm_index_size(ix), 3);
    assert_true(asdnorm_index_is_finalized(ix));
    assert_int_equal(asdnorm_index_get_density(ix, after, 3), ASDNORM_OK);
    assert_memory_equal(before, after, sizeof before);
    asdnorm_index_free(ix);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_machine),
        cmocka_unit_test(cosine_storage),
        cmocka_unit_test(hand_derived),
        cmocka_unit_test(failed_add_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
