/* SPDX-License-Identifier: MIT */
/* asdnorm_standardized_scores: a case worked by hand, and the standardization
 * recomputed from brute-force per-domain scores (tests/testutil.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

/* min over the domains present of (s_d − mean) / unbiased std, every s_d by
 * brute force from the caller's rows of that domain. */
static void brute_standardized(asdnorm_distance kind, const float *y, const uint8_t *dom,
                               size_t m, size_t dim, asdnorm_density est, double param,
                               asdnorm_norm norm, const float *x, size_t n, double *out)
{
    float *sub = malloc(m * dim * sizeof *sub);
    double *dens = malloc(m * sizeof *dens), *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++)
        out[i] = INFINITY;
    for (uint8_t d = 0; d <= 2; d++) {
        size_t md = 0;
        for (size_t j = 0; j < m; j++)
            if (dom[j] == d)
                memcpy(sub + (md++) * dim, y + j * dim, dim * sizeof *sub);
        if (md == 0)
            continue;
        tu_density(kind, sub, md, dim, est, param, dens);
        tu_scores(kind, sub, md, dim, dens, est, norm, x, n, s, NULL);
        double mean = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            mean += s[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            ss += (s[i] - mean) * (s[i] - mean);
        double sd = sqrt(ss / (double)(n - 1));
        for (size_t i = 0; i < n; i++)
            out[i] = fmin(out[i], (s[i] - mean) / sd);
    }
    free(sub);
    free(dens);
    free(s);
}

static asdnorm_index *make_index(asdnorm_distance dist, const float *y, const uint8_t *dom,
                                 size_t m, size_t dim)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(dim, dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, m, dom), ASDNORM_OK);
    return ix;
}

/* 1-D, Euclidean, plain nearest neighbour: source {0}, target {10}, batch
 * x = 1, 2, 9, 13.
 *   s_source = 1, 2, 9, 13: mean 6.25, Σ dev² = 5.25² + 4.25² + 2.75² + 6.75² = 98.75
 *   s_target = 9, 8, 1, 3:  mean 5.25, Σ dev² = 3.75² + 2.75² + 4.25² + 2.25² = 44.75
 *   σ_source = √(98.75/3), σ_target = √(44.75/3) (unbiased)
 *   score = min((s_source − 6.25)/σ_source, (s_target − 5.25)/σ_target):
 *     x = 1:  min(−5.25/σs,  3.75/σt) = −5.25/σs
 *     x = 2:  min(−4.25/σs,  2.75/σt) = −4.25/σs
 *     x = 9:  min( 2.75/σs, −4.25/σt) = −4.25/σt
 *     x = 13: min( 6.75/σs, −2.25/σt) = −2.25/σt */
static void test_by_hand(void **state)
{
    (void)state;
    const float y[] = {0, 10};
    const uint8_t dom[] = {ASDNORM_DOMAIN_SOURCE, ASDNORM_DOMAIN_TARGET};
    const float x[] = {1, 2, 9, 13};
    const double ss = sqrt(98.75 / 3), st = sqrt(44.75 / 3);
    const double want[] = {-5.25 / ss, -4.25 / ss, -4.25 / st, -2.25 / st};
    asdnorm_index *ix = make_index(ASDNORM_DISTANCE_EUCLIDEAN, y, dom, 2, 1);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
    float got[4];
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_NONE, x, 4, got), ASDNORM_OK);
    for (int i = 0; i < 4; i++)
        assert_true(tu_close(got[i], want[i], 1e-6, 1e-7));
    asdnorm_index_free(ix);
}

/* Random sections: every distance, estimator and normalization against the
 * brute force. Domains: many source, a few target, sometimes unknown. */
static void test_matches_brute_force(void **state)
{
    (void)state;
    const asdnorm_distance kinds[] = {ASDNORM_DISTANCE_COSINE, ASDNORM_DISTANCE_EUCLIDEAN,
                                      ASDNORM_DISTANCE_MSE};
    const asdnorm_density ests[] = {ASDNORM_DENSITY_NONE, ASDNORM_DENSITY_KNN,
                                    ASDNORM_DENSITY_KNN, ASDNORM_DENSITY_GWRP};
    const double params[] = {0, 1, 4, 0.6};
    const asdnorm_norm norms[] = {ASDNORM_NORM_RATIO, ASDNORM_NORM_DIFFERENCE,
                                  ASDNORM_NORM_NONE};
    size_t cases = 0;
    for (size_t c = 0; c < 36; c++) {
        uint64_t s = 3000 + c;
        asdnorm_distance kind = kinds[c % 3];
        asdnorm_density est = ests[(c / 3) % 4];
        double param = params[(c / 3) % 4];
        asdnorm_norm norm = norms[(c / 12) % 3];
        size_t dim = 4 + 11 * (c % 3), ns = 30, nt = 3 + c % 3, nu = c % 2 ? 5 : 0;
        size_t m = ns + nt + nu, n = 25;
        float *y = tu_gauss(&s, m, dim, 0.2, 1.0);
        uint8_t *dom = malloc(m);
        for (size_t j = 0; j < m; j++) {
            dom[j] = j < ns ? ASDNORM_DOMAIN_SOURCE
                            : j < ns + nt ? ASDNORM_DOMAIN_TARGET : ASDNORM_DOMAIN_UNKNOWN;
            if (dom[j] == ASDNORM_DOMAIN_TARGET)
                y[j * dim] += 2.0f; /* a shifted, sparse target domain */
        }
        float *x = tu_gauss(&s, n, dim, 0.2, 1.3);
        asdnorm_index *ix = make_index(kind, y, dom, m, dim);
        assert_int_equal(asdnorm_index_finalize(ix, est, param), ASDNORM_OK);
        float got[25];
        double want[25];
        assert_int_equal(asdnorm_standardized_scores(ix, norm, x, n, got), ASDNORM_OK);
        brute_standardized(kind, y, dom, m, dim, est, param, norm, x, n, want);
        for (size_t i = 0; i < n; i++)
            assert_true(tu_close(got[i], want[i], 1e-4, 1e-4));
        /* The index is left as it was: still finalized with its estimator. */
        asdnorm_density e2;
        double p2;
        assert_int_equal(asdnorm_index_get_estimator(ix, &e2, &p2), ASDNORM_OK);
        assert_int_equal(e2, est);
        cases++;
        asdnorm_index_free(ix);
        free(y);
        free(dom);
        free(x);
    }
    assert_int_equal(cases, 36);
}

/* A source-means index under cosine: its centroids are not unit vectors and
 * must stay so in the per-domain index, so that s_source(x) is
 * min_c 0.5 (1 − ⟨x̂, c⟩) with the raw centroid c. */
static void test_raw_centroids_kept(void **state)
{
    (void)state;
    uint64_t s = 55;
    const size_t dim = 6, ns = 24, nt = 4, n = 20, k = 3;
    float *y = tu_gauss(&s, ns + nt, dim, 0.5, 1.0);
    uint8_t dom[28];
    for (size_t j = 0; j < ns + nt; j++)
        dom[j] = j < ns ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;
    float *x = tu_gauss(&s, n, dim, 0.5, 1.0);
    asdnorm_index *src = make_index(ASDNORM_DISTANCE_COSINE, y, dom, ns + nt, dim);
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_source_means(src, k, 2, 1, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
    float c[3 * 6];
    assert_int_equal(asdnorm_index_get_vectors(ix, 0, k, c), ASDNORM_OK);
    double norm_c0 = 0;
    for (size_t d = 0; d < dim; d++)
        norm_c0 += (double)c[d] * c[d];
    assert_true(sqrt(norm_c0) < 0.999); /* a mean of distinct unit vectors */

    double s_src[20], s_tgt[20], want[20];
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * dim;
        double xx = 0;
        for (size_t d = 0; d < dim; d++)
            xx += (double)xi[d] * xi[d];
        s_src[i] = INFINITY;
        for (size_t j = 0; j < k; j++) {
            double dot = 0;
            for (size_t d = 0; d < dim; d++)
                dot += (double)xi[d] * c[j * dim + d];
            s_src[i] = fmin(s_src[i], 0.5 * (1.0 - dot / sqrt(xx)));
        }
        s_tgt[i] = INFINITY;
        for (size_t j = ns; j < ns + nt; j++)
            s_tgt[i] = fmin(s_tgt[i], tu_distance(ASDNORM_DISTANCE_COSINE, xi, y + j * dim, dim));
    }
    double *sd[2] = {s_src, s_tgt};
    for (size_t i = 0; i < n; i++)
        want[i] = INFINITY;
    for (int d = 0; d < 2; d++) {
        double mean = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            mean += sd[d][i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            ss += (sd[d][i] - mean) * (sd[d][i] - mean);
        for (size_t i = 0; i < n; i++)
            want[i] = fmin(want[i], (sd[d][i] - mean) / sqrt(ss / (double)(n - 1)));
    }
    float got[20];
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_NONE, x, n, got), ASDNORM_OK);
    for (size_t i = 0; i < n; i++)
        assert_true(tu_close(got[i], want[i], 1e-4, 1e-4));
    asdnorm_index_free(ix);
    asdnorm_index_free(src);
    free(y);
    free(x);
}

static void test_bad_input(void **state)
{
    (void)state;
    const float y[] = {1, 0, 0, 1, 1, 1};
    const uint8_t dom[] = {1, 1, 2};
    const float x[] = {1, 2, 2, 1, 3, 1};
    asdnorm_index *ix = make_index(ASDNORM_DISTANCE_COSINE, y, dom, 3, 2);
    float sc[3] = {4, 4, 4};
    /* Not finalized yet. */
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_RATIO, x, 3, sc),
                     ASDNORM_E_STATE);
    /* The target domain has one reference: too few for a k-NN density. */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_RATIO, x, 3, sc),
                     ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
    assert_int_equal(asdnorm_standardized_scores(NULL, ASDNORM_NORM_RATIO, x, 3, sc),
                     ASDNORM_E_NULL);
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_RATIO, NULL, 3, sc),
                     ASDNORM_E_NULL);
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_RATIO, x, 3, NULL),
                     ASDNORM_E_NULL);
    assert_int_equal(asdnorm_standardized_scores(ix, (asdnorm_norm)7, x, 3, sc),
                     ASDNORM_E_ENUM);
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_RATIO, x, 1, sc),
                     ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_RATIO, x, SIZE_MAX, sc),
                     ASDNORM_E_OVERFLOW);
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_RATIO, x, SIZE_MAX / 4 + 1, sc),
                     ASDNORM_E_OVERFLOW); /* the elements fit, the bytes do not */
    const float zero[] = {1, 2, 0, 0, 3, 1};
    const float nan_row[] = {1, 2, 2, NAN, 3, 1};
    const float same[] = {1, 2, 1, 2, 1, 2};
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_RATIO, zero, 3, sc),
                     ASDNORM_E_ZERO_VECTOR);
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_RATIO, nan_row, 3, sc),
                     ASDNORM_E_NONFINITE);
    /* Identical test samples: zero variance. */
    assert_int_equal(asdnorm_standardized_scores(ix, ASDNORM_NORM_RATIO, same, 3, sc),
                     ASDNORM_E_DEGENERATE);
    assert_true(sc[0] == 4 && sc[1] == 4 && sc[2] == 4);

    asdnorm_index *eu = make_index(ASDNORM_DISTANCE_EUCLIDEAN, y, dom, 3, 2);
    assert_int_equal(asdnorm_index_finalize(eu, ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
    const float huge[] = {1, 2, 1e30f, 0, 3, 1};
    assert_int_equal(asdnorm_standardized_scores(eu, ASDNORM_NORM_RATIO, huge, 3, sc),
                     ASDNORM_E_RANGE);
    assert_true(sc[0] == 4 && sc[1] == 4 && sc[2] == 4);
    asdnorm_index_free(eu);
    asdnorm_index_free(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_hand),
        cmocka_unit_test(test_matches_brute_force),
        cmocka_unit_test(test_raw_centroids_kept),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
