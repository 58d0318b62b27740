/* SPDX-License-Identifier: MIT */
/* The density floor is scale-free (docs/math.md §2.3, issue 17): scaling every
 * embedding — references and test samples — by a positive factor leaves the
 * ranks of the scores and the nearest references unchanged, under every
 * distance, estimator and normalization; by a power of two, bitwise (ratio
 * scores equal, difference and plain scores scaled exactly). The data hold
 * duplicate references (density 0, so the floor is what they are divided by)
 * and test samples equal to them, and the factors take the densities of mse
 * far below the old fixed ε = 1e-12. Each scaled problem is also checked
 * against the brute force of tests/testutil.h, which implements the floor
 * independently. */
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "testutil.h"

enum { M = 48, D = 8, N = 64, DUPS = 4 };

/* 2⁻⁵⁰ puts the mse floor near 10⁻⁴², below 1/FLT_MAX: there the scorer's float
 * ratio coefficients saturate at FLT_MAX and its upper bounds are +∞
 * (lib/scorer.c, fill_coef), so the floored references are rescored exactly. */
static const double factors[] = {1e-6, 1e-3, 1e3, 0x1p-20, 0x1p10, 0x1p-50};

static const asdnorm_distance distances[] = {ASDNORM_DISTANCE_COSINE,
                                             ASDNORM_DISTANCE_EUCLIDEAN, ASDNORM_DISTANCE_MSE};
static const asdnorm_norm norms[] = {ASDNORM_NORM_RATIO, ASDNORM_NORM_DIFFERENCE,
                                     ASDNORM_NORM_NONE};
static const struct {
    asdnorm_density est;
    double param;
} estimators[] = {{ASDNORM_DENSITY_KNN, 1}, {ASDNORM_DENSITY_KNN, 3}, {ASDNORM_DENSITY_GWRP, 0.5}};

/* References: two clusters of different spread, and DUPS copies of the first
 * DUPS rows. Tests: around the references, the last two equal to a copy. */
static void make_data(float *y, float *x)
{
    uint64_t s = 2026;
    for (size_t j = 0; j < M - DUPS; j++)
        for (size_t k = 0; k < D; k++)
            y[j * D + k] = (float)((j % 2 ? 3.0 : -1.0) + (j % 2 ? 0.2 : 1.0) * tu_normal(&s));
    memcpy(y + (M - DUPS) * D, y, DUPS * D * sizeof *y);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < D; k++)
            x[i * D + k] = (float)((i % 2 ? 3.0 : -1.0) + (i % 2 ? 0.4 : 1.5) * tu_normal(&s));
    memcpy(x + (N - 2) * D, y + (M - 1) * D, D * sizeof *x);
    memcpy(x + (N - 1) * D, y + (M - 2) * D, D * sizeof *x);
}

/* Scores and nearest references from the library. */
static void lib_scores(asdnorm_distance dist, const float *y, const float *x,
                       asdnorm_density est, double param, asdnorm_norm norm, float *scores,
                       size_t *nearest)
{
    asdnorm_index *ix = NULL;
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_index_new(D, dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, M, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, est, param), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(ix, norm, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, x, N, scores, nearest), ASDNORM_OK);
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
}

/* For each test, the gap between its best and second-best normalized score
 * (brute force, double), relative to the best: where it is tiny, rounding the
 * scaled inputs may swap the two, which is not the floor's doing. */
static void margins(asdnorm_distance dist, const float *y, const float *x, asdnorm_density est,
                    double param, asdnorm_norm norm, double *margin)
{
    double dens[M];
    tu_density(dist, y, M, D, est, param, dens);
    const double floor = tu_ratio_floor(dist, y, M, D);
    for (size_t i = 0; i < N; i++) {
        double b1 = INFINITY, b2 = INFINITY;
        for (size_t j = 0; j < M; j++) {
            double d = tu_distance(dist, x + i * D, y + j * D, D);
            double s = norm == ASDNORM_NORM_RATIO        ? d / fmax(dens[j], floor)
                       : norm == ASDNORM_NORM_DIFFERENCE ? d - dens[j]
                                                         : d;
            /* copies of one reference tie by definition, ranks or not */
            if (j >= M - DUPS && memcmp(y + j * D, y + (j - (M - DUPS)) * D, D * 4) == 0)
                continue;
            if (s < b1) {
                b2 = b1;
                b1 = s;
            } else if (s < b2) {
                b2 = s;
            }
        }
        margin[i] = (b2 - b1) / fmax(fabs(b1), 1e-300);
    }
}

static void scaling(void **state)
{
    (void)state;
    float y[M * D], x[N * D], ys[M * D], xs[N * D];
    make_data(y, x);
    float s1[N], sc[N];
    size_t n1[N], nc[N], want_near[N];
    double want[N], margin[N], dens[M];
    long pairs = 0, pairs_skipped = 0, rows = 0, rows_skipped = 0, bitwise = 0;

    for (size_t d = 0; d < 3; d++)
        for (size_t e = 0; e < 3; e++)
            for (size_t q = 0; q < 3; q++) {
                const asdnorm_distance dist = distances[d];
                const asdnorm_norm norm = norms[q];
                lib_scores(dist, y, x, estimators[e].est, estimators[e].param, norm, s1, n1);
                margins(dist, y, x, estimators[e].est, estimators[e].param, norm, margin);
                for (size_t f = 0; f < sizeof factors / sizeof factors[0]; f++) {
                    const double c = factors[f];
                    char what[128];
                    snprintf(what, sizeof what, "distance %d, estimator %d(%g), norm %d, x %g",
                             dist, estimators[e].est, estimators[e].param, norm, c);
                    for (size_t i = 0; i < M * D; i++)
                        ys[i] = (float)(y[i] * c);
                    for (size_t i = 0; i < N * D; i++)
                        xs[i] = (float)(x[i] * c);
                    lib_scores(dist, ys, xs, estimators[e].est, estimators[e].param, norm, sc,
                               nc);

                    /* The scaled problem is still computed exactly. */
                    tu_density(dist, ys, M, D, estimators[e].est, estimators[e].param, dens);
                    tu_scores(dist, ys, M, D, dens, estimators[e].est, norm, xs, N, want,
                              want_near);
                    for (size_t i = 0; i < N; i++) {
                        if (!tu_close(sc[i], want[i], 2e-6, 1e-30))
                            fail_msg("%s: score %zu = %.9g, brute force %.9g", what, i,
                                     (double)sc[i], want[i]);
                        if (nc[i] != want_near[i] && margin[i] > 1e-4)
                            fail_msg("%s: nearest %zu = %zu, brute force %zu", what, i, nc[i],
                                     want_near[i]);
                    }

                    /* A power of two scales every input exactly: ratio scores
                     * bitwise equal, the others scaled exactly with the
                     * distance (c, c² under mse, 1 under cosine), nearest
                     * references equal. */
                    if (frexp(c, &(int){0}) == 0.5) {
                        const double unit = dist == ASDNORM_DISTANCE_COSINE ? 1.0
                                            : dist == ASDNORM_DISTANCE_MSE  ? c * c
                                                                            : c;
                        for (size_t i = 0; i < N; i++) {
                            const float w = norm == ASDNORM_NORM_RATIO &&
                                                    estimators[e].est != ASDNORM_DENSITY_NONE
                                                ? s1[i]
                                                : (float)(s1[i] * unit);
                            if (memcmp(&sc[i], &w, sizeof w) != 0 || nc[i] != n1[i])
                                fail_msg("%s: test %zu: score %a (want %a), nearest %zu (want %zu)",
                                         what, i, (double)sc[i], (double)w, nc[i], n1[i]);
                        }
                        bitwise++;
                    }

                    /* Any factor: the same nearest references and the same
                     * ranks, wherever the unscaled problem is not a near tie. */
                    for (size_t i = 0; i < N; i++) {
                        rows++;
                        if (margin[i] <= 1e-4) {
                            rows_skipped++;
                            continue;
                        }
                        if (nc[i] != n1[i])
                            fail_msg("%s: test %zu: nearest %zu, unscaled %zu", what, i, nc[i],
                                     n1[i]);
                    }
                    for (size_t i = 0; i < N; i++)
                        for (size_t j = i + 1; j < N; j++) {
                            pairs++;
                            const double a = s1[i], b = s1[j];
                            if (a != b && fabs(a - b) <= 1e-4 * fmax(fabs(a), fabs(b))) {
                                pairs_skipped++;
                                continue;
                            }
                            if ((a < b) != (sc[i] < sc[j]) || (a == b) != (sc[i] == sc[j]))
                                fail_msg("%s: tests %zu and %zu change order: %.9g, %.9g "
                                         "unscaled; %.9g, %.9g scaled",
                                         what, i, j, a, b, (double)sc[i], (double)sc[j]);
                        }
                }
            }
    print_message("scaling: %ld nearest references (%ld near ties skipped), %ld pairs of ranks "
                  "(%ld near ties skipped), %ld power-of-two cases bitwise\n",
                  rows, rows_skipped, pairs, pairs_skipped, bitwise);
    /* The checks are not vacuous. */
    assert_true(rows_skipped * 20 < rows);
    assert_true(pairs_skipped * 20 < pairs);
}

/* Scores beyond float's range are FLT_MAX, never +inf: a test sample 10¹¹
 * away from duplicated references spread over 10⁻⁶ under mse (d / φ ≈ 10⁴⁶),
 * with the nearest reference still exact. */
static void far_beyond_float(void **state)
{
    (void)state;
    uint64_t s = 5;
    float *y = tu_gauss(&s, 16, 4, 0.0, 1e-6);
    memcpy(y + 8 * 4, y, 8 * 4 * sizeof *y); /* all duplicated: every n_j = 0, floored */
    float x[2 * 4] = {1e11f, -1e11f, 1e11f, 1e11f, 2e-6f, 0, 0, 0};
    for (size_t d = 1; d < 3; d++) {
        asdnorm_index *ix = NULL;
        asdnorm_scorer *sc = NULL;
        assert_int_equal(asdnorm_index_new(4, distances[d], &ix), ASDNORM_OK);
        assert_int_equal(asdnorm_index_add(ix, y, 16, NULL), ASDNORM_OK);
        assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
        float got[2];
        size_t near[2], want_near[2];
        double dens[16], want[2];
        assert_int_equal(asdnorm_scorer_score(sc, x, 2, got, near), ASDNORM_OK);
        tu_density(distances[d], y, 16, 4, ASDNORM_DENSITY_KNN, 1, dens);
        tu_scores(distances[d], y, 16, 4, dens, ASDNORM_DENSITY_KNN, ASDNORM_NORM_RATIO, x, 2,
                  want, want_near);
        if (distances[d] == ASDNORM_DISTANCE_MSE)
            assert_true(want[0] > 1e40); /* the case is there */
        if (want[0] > FLT_MAX)
            assert_true(got[0] == FLT_MAX);
        else
            assert_true(tu_close(got[0], want[0], 2e-6, 0));
        assert_true(tu_close(got[1], want[1], 2e-6, 0));
        assert_int_equal(near[0], want_near[0]);
        assert_int_equal(near[1], want_near[1]);
        asdnorm_scorer_free(sc);
        asdnorm_index_free(ix);
    }
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scaling),
        cmocka_unit_test(far_beyond_float),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
