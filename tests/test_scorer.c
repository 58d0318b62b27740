/* SPDX-License-Identifier: MIT */
/* Density constants, scores and nearest positions against the independent
 * double-precision brute force of testutil.h, for every distance × density ×
 * normalization, the edge cases of docs/math.md §2 (K ≥ M, r = 0, r = 1,
 * duplicates) and shapes that cross the scorer's and finalize's block edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "testutil.h"

static const asdnorm_distance distances[] = {ASDNORM_DISTANCE_COSINE,
                                             ASDNORM_DISTANCE_EUCLIDEAN, ASDNORM_DISTANCE_MSE};
static const asdnorm_norm norms[] = {ASDNORM_NORM_NONE, ASDNORM_NORM_RATIO,
                                     ASDNORM_NORM_DIFFERENCE};
static const struct {
    asdnorm_density est;
    double param;
} estimators[] = {
    {ASDNORM_DENSITY_NONE, 0},   {ASDNORM_DENSITY_KNN, 1},    {ASDNORM_DENSITY_KNN, 3},
    {ASDNORM_DENSITY_KNN, 1000}, {ASDNORM_DENSITY_GWRP, 0},   {ASDNORM_DENSITY_GWRP, 0.5},
    {ASDNORM_DENSITY_GWRP, 0.9}, {ASDNORM_DENSITY_GWRP, 1.0},
};

/* Score `x` against refs `y` with the library and with the brute force, and
 * compare densities, scores and nearest positions. Returns the largest
 * relative score error seen. */
static double check_case(asdnorm_distance dist, asdnorm_density est, double param,
                         asdnorm_norm norm, const float *y, size_t m, const float *x, size_t n,
                         size_t dim)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(dim, dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, m, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, est, param), ASDNORM_OK);

    double *dens = malloc(m * sizeof *dens), *want_dens = calloc(m, sizeof *want_dens);
    assert_int_equal(asdnorm_index_get_density(ix, dens, m), ASDNORM_OK);
    tu_density(dist, y, m, dim, est, param, want_dens);
    for (size_t j = 0; j < m; j++) {
        if (!tu_close(dens[j], want_dens[j], 1e-9, 1e-15))
            fail_msg("distance %d est %d param %g: density[%zu] = %.17g, brute force %.17g",
                     dist, est, param, j, dens[j], want_dens[j]);
    }

    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_scorer_new(ix, norm, &sc), ASDNORM_OK);
    float *s = malloc(n * sizeof *s);
    size_t *near = malloc(n * sizeof *near);
    double *want = malloc(n * sizeof *want);
    size_t *want_near = malloc(n * sizeof *want_near);
    assert_int_equal(asdnorm_scorer_score(sc, x, n, s, near), ASDNORM_OK);
    tu_scores(dist, y, m, dim, want_dens, est, norm, x, n, want, want_near);

    double worst = 0;
    for (size_t t = 0; t < n; t++) {
        double err = fabs(s[t] - want[t]) / fmax(fabs(want[t]), 1e-30);
        if (!tu_close(s[t], want[t], 1e-6, 1e-30))
            fail_msg("distance %d est %d param %g norm %d: score[%zu] = %.9g, brute force %.17g",
                     dist, est, param, norm, t, s[t], want[t]);
        if (err > worst)
            worst = err;
        if (near[t] != want_near[t]) {
            /* Only an exact tie may pick another reference: its score must be
             * the same to the float output's rounding. */
            double alt[1];
            size_t dummy;
            tu_scores(dist, y + near[t] * dim, 1, dim, want_dens + near[t], est, norm,
                      x + t * dim, 1, alt, &dummy);
            if (!tu_close(alt[0], want[t], 1e-6, 1e-30))
                fail_msg("nearest[%zu] = %zu (score %.17g), brute force %zu (score %.17g)", t,
                         near[t], alt[0], want_near[t], want[t]);
        }
    }
    /* Single-sample scoring (the matrix–vector path) gives the same numbers. */
    for (size_t t = 0; t < n; t += 7) {
        float one;
        size_t one_near;
        assert_int_equal(asdnorm_scorer_score(sc, x + t * dim, 1, &one, &one_near), ASDNORM_OK);
        assert_true(tu_close(one, want[t], 1e-6, 1e-30));
    }
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    free(dens);
    free(want_dens);
    free(s);
    free(near);
    free(want);
    free(want_near);
    return worst;
}

static void every_combination(void **state)
{
    (void)state;
    uint64_t seed = 42;
    const size_t m = 57, n = 33, dim = 13;
    float *y = tu_gauss(&seed, m, dim, 0.3, 1.0);
    float *x = tu_gauss(&seed, n, dim, 0.3, 1.1);
    double worst = 0;
    size_t cases = 0;
    for (size_t a = 0; a < sizeof distances / sizeof *distances; a++)
        for (size_t b = 0; b < sizeof estimators / sizeof *estimators; b++)
            for (size_t c = 0; c < sizeof norms / sizeof *norms; c++) {
                double w = check_case(distances[a], estimators[b].est, estimators[b].param,
                                      norms[c], y, m, x, n, dim);
                worst = w > worst ? w : worst;
                cases++;
            }
    printf("# %zu combinations, largest relative score error %.3g\n", cases, worst);
    free(y);
    free(x);
}

/* Duplicate references have density 0: the ratio uses ε and stays finite. A
 * test equal to a duplicate scores 0; one next to it has d / ε against the
 * copies, so another reference wins: the brute force says which. */
static void duplicates(void **state)
{
    (void)state;
    uint64_t seed = 7;
    const size_t m = 20, dim = 6;
    float *y = tu_gauss(&seed, m, dim, 0.0, 1.0);
    memcpy(y + 5 * dim, y + 2 * dim, dim * sizeof *y);   /* rows 2 and 5 equal */
    memcpy(y + 11 * dim, y + 2 * dim, dim * sizeof *y);  /* and 11 */
    for (size_t a = 0; a < 3; a++) {
        asdnorm_index *ix = NULL;
        assert_int_equal(asdnorm_index_new(dim, distances[a], &ix), ASDNORM_OK);
        assert_int_equal(asdnorm_index_add(ix, y, m, NULL), ASDNORM_OK);
        assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 2), ASDNORM_OK);
        double dens[20];
        assert_int_equal(asdnorm_index_get_density(ix, dens, m), ASDNORM_OK);
        /* Each of the three copies has two others at distance 0. */
        assert_true(dens[2] <= 1e-15 && dens[5] <= 1e-15 && dens[11] <= 1e-15);

        asdnorm_scorer *sc = NULL;
        assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
        float x[2 * 6];
        memcpy(x, y + 2 * dim, dim * sizeof *x);
        memcpy(x + dim, y + 2 * dim, dim * sizeof *x);
        x[dim] += 1e-3f;
        float s[2];
        size_t near[2];
        assert_int_equal(asdnorm_scorer_score(sc, x, 2, s, near), ASDNORM_OK);
        assert_true(isfinite(s[0]) && isfinite(s[1]));
        assert_true(s[0] <= 1e-3f);          /* d ≈ 0 (cosine: to double rounding / ε) */
        assert_int_equal(near[0], 2);         /* ties go to the first position */
        double want[2];
        size_t want_near[2];
        tu_scores(distances[a], y, m, dim, dens, ASDNORM_DENSITY_KNN, ASDNORM_NORM_RATIO, x + dim,
                  1, want, want_near);
        assert_true(tu_close(s[1], want[0], 1e-6, 0));
        asdnorm_scorer_free(sc);
        asdnorm_index_free(ix);
    }
    free(y);
}

/* Shapes that cross block edges: more tests than one scorer block (256), more
 * references than one column block (2048), and finalize over several row blocks. */
static void block_edges(void **state)
{
    (void)state;
    uint64_t seed = 99;
    const size_t m = 2100, n = 300, dim = 5;
    float *y = tu_gauss(&seed, m, dim, 0.5, 1.0);
    float *x = tu_gauss(&seed, n, dim, 0.5, 1.2);
    for (size_t a = 0; a < 3; a++) {
        check_case(distances[a], ASDNORM_DENSITY_KNN, 4, ASDNORM_NORM_RATIO, y, m, x, n, dim);
        check_case(distances[a], ASDNORM_DENSITY_GWRP, 0.8, ASDNORM_NORM_DIFFERENCE, y, m, x, n,
                   dim);
    }
    free(y);
    free(x);
}

/* Clustered data at a realistic embedding size, where nearest distances are
 * small next to the vectors' norms: the case float32 sgemm alone gets wrong. */
static void close_neighbours(void **state)
{
    (void)state;
    uint64_t seed = 2024;
    const size_t m = 300, n = 40, dim = 256;
    float *y = malloc(m * dim * sizeof *y), *x = malloc(n * dim * sizeof *x);
    float *centre = tu_gauss(&seed, 3, dim, 5.0, 1.0);
    for (size_t i = 0; i < m; i++)
        for (size_t k = 0; k < dim; k++)
            y[i * dim + k] = centre[(i % 3) * dim + k] + (float)(1e-3 * tu_normal(&seed));
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < dim; k++)
            x[i * dim + k] = centre[(i % 3) * dim + k] + (float)(2e-3 * tu_normal(&seed));
    double worst = 0;
    for (size_t a = 0; a < 3; a++) {
        double w = check_case(distances[a], ASDNORM_DENSITY_KNN, 1, ASDNORM_NORM_RATIO, y, m, x,
                              n, dim);
        worst = w > worst ? w : worst;
    }
    printf("# clustered 256-d data: largest relative score error %.3g\n", worst);
    free(centre);
    free(y);
    free(x);
}

/* 700 references closer together than float32 can resolve from their norms:
 * more candidates than finalize's heap and the scorer's list hold, so both take
 * their exact rescan paths. */
static void tight_cluster(void **state)
{
    (void)state;
    uint64_t seed = 31337;
    const size_t m = 700, n = 20, dim = 24;
    float *y = malloc(m * dim * sizeof *y), *x = malloc(n * dim * sizeof *x);
    float *centre = tu_gauss(&seed, 1, dim, 10.0, 1.0);
    for (size_t i = 0; i < m; i++)
        for (size_t k = 0; k < dim; k++)
            y[i * dim + k] = centre[k] * (1.0f + (float)(3e-6 * tu_normal(&seed)));
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < dim; k++)
            x[i * dim + k] = centre[k] * (1.0f + (float)(5e-6 * tu_normal(&seed)));
    for (size_t a = 0; a < 3; a++) {
        check_case(distances[a], ASDNORM_DENSITY_KNN, 1, ASDNORM_NORM_RATIO, y, m, x, n, dim);
        check_case(distances[a], ASDNORM_DENSITY_KNN, 5, ASDNORM_NORM_NONE, y, m, x, n, dim);
    }
    free(centre);
    free(y);
    free(x);
}

/* Under cosine the scores do not depend on the scale of the inputs. */
static void cosine_scale_invariance(void **state)
{
    (void)state;
    uint64_t seed = 5;
    const size_t m = 30, n = 10, dim = 8;
    float *y = tu_gauss(&seed, m, dim, 0.0, 1.0), *x = tu_gauss(&seed, n, dim, 0.0, 1.0);
    float *y2 = malloc(m * dim * sizeof *y2), *x2 = malloc(n * dim * sizeof *x2);
    for (size_t i = 0; i < m * dim; i++)
        y2[i] = y[i] * 1024.0f;
    for (size_t i = 0; i < n * dim; i++)
        x2[i] = x[i] / 64.0f;
    float s1[10], s2[10];
    for (int pass = 0; pass < 2; pass++) {
        asdnorm_index *ix = NULL;
        asdnorm_scorer *sc = NULL;
        assert_int_equal(asdnorm_index_new(dim, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
        assert_int_equal(asdnorm_index_add(ix, pass ? y2 : y, m, NULL), ASDNORM_OK);
        assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_score(sc, pass ? x2 : x, n, pass ? s2 : s1, NULL),
                         ASDNORM_OK);
        asdnorm_scorer_free(sc);
        asdnorm_index_free(ix);
    }
    for (size_t t = 0; t < n; t++)
        assert_true(tu_close(s1[t], s2[t], 1e-6, 0));
    free(y);
    free(x);
    free(y2);
    free(x2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_combination),
        cmocka_unit_test(duplicates),
        cmocka_unit_test(block_edges),
        cmocka_unit_test(close_neighbours),
        cmocka_unit_test(tight_cluster),
        cmocka_unit_test(cosine_scale_invariance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
