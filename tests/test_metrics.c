/* SPDX-License-Identifier: MIT */
/* Metrics (docs/math.md §4): AUC, pAUC, harmonic mean, sections and the
 * DCASE scores. Expected values are derived by hand in the comments, or computed
 * here by an independent O(n²) brute force in double, or read from the official
 * DCASE baseline table in tests/data — never by the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

/* The test data directory, <source root>/tests/data (absolute, set by
 * tests/meson.build). */
#ifndef ASDNORM_TEST_DATA
#error "ASDNORM_TEST_DATA must name the tests/data directory"
#endif

#define SENTINEL (-12345.25)
#define EPS 1e-12

static const uint8_t SRC = ASDNORM_DOMAIN_SOURCE;
static const uint8_t TGT = ASDNORM_DOMAIN_TARGET;

/* ---- independent references ----------------------------------------------------- */

/* Mann–Whitney by definition: every (anomaly, normal) pair, ties half. */
static double brute_auc(const uint8_t *y, const double *s, size_t n)
{
    double u = 0, np = 0, nn = 0;
    for (size_t i = 0; i < n; i++) {
        np += y[i] == 1;
        nn += y[i] == 0;
        if (y[i] != 1)
            continue;
        for (size_t j = 0; j < n; j++)
            if (y[j] == 0)
                u += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    }
    return u / (np * nn);
}

/* The ROC curve by definition: one point per distinct score t (descending),
 * (#normals ≥ t / N, #anomalies ≥ t / P), from (0, 0); trapezoids up to FPR p,
 * the last one cut at p by linear interpolation; McClish-standardised. */
static double brute_pauc(const uint8_t *y, const double *s, size_t n, double p)
{
    double *t = malloc(n * sizeof *t);
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t k = 0; k < nt; k++)
            seen |= t[k] == s[i];
        if (!seen)
            t[nt++] = s[i];
    }
    qsort(t, nt, sizeof *t, tu_cmp_double);
    double np = 0, nn = 0;
    for (size_t i = 0; i < n; i++) {
        np += y[i] == 1;
        nn += y[i] == 0;
    }
    double area = 0, x0 = 0, y0 = 0;
    for (size_t k = nt; k-- > 0;) {
        double tp = 0, fp = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] >= t[k]) {
                tp += y[i] == 1;
                fp += y[i] == 0;
            }
        double x1 = fp / nn, y1 = tp / np;
        if (x1 > p) {
            double yp = y0 + (y1 - y0) * (p - x0) / (x1 - x0);
            area += (p - x0) * (y0 + yp) / 2;
            x0 = p;
            break;
        }
        area += (x1 - x0) * (y0 + y1) / 2;
        x0 = x1;
        y0 = y1;
    }
    free(t);
    if (p == 1.0)
        return area;
    return 0.5 * (1 + (area - p * p / 2) / (p - p * p / 2));
}

/* n / Σ 1/v, as scipy.stats.hmean computes it. */
static double naive_hmean(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += 1.0 / v[i];
    return (double)n / s;
}

/* n random labels with both classes present (anomalies with probability q) and
 * scores with heavy ties: `levels` distinct values, or continuous when 0. */
static void random_case(uint64_t *rng, size_t n, double q, unsigned levels, uint8_t *y,
                        double *s)
{
    do {
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            y[i] = tu_uniform(rng) < q;
            pos += y[i];
        }
        if (pos > 0 && pos < n)
            break;
    } while (1);
    for (size_t i = 0; i < n; i++)
        s[i] = levels ? (double)(tu_next(rng) % levels) / 10.0 : tu_normal(rng) + 0.5 * y[i];
}

/* ---- AUC: hand-derived ------------------------------------------------------------- */

/* No ties. Anomalies 0.9 and 0.4; normals 0.8, 0.3, 0.2, 0.1.
 * 0.9 beats all 4 normals, 0.4 beats 3: U = 7, AUC = 7 / (2 · 4) = 0.875. */
static const uint8_t Y1[] = {1, 0, 1, 0, 0, 0};
static const double S1[] = {0.9, 0.8, 0.4, 0.3, 0.2, 0.1};

/* Ties across classes. Anomalies 0.7 and 0.5; normals 0.7, 0.5, 0.2, 0.1.
 * 0.7 beats 0.5, 0.2, 0.1 and ties 0.7: 3.5; 0.5 beats 0.2, 0.1, ties 0.5: 2.5.
 * U = 6, AUC = 6 / 8 = 0.75. */
static const uint8_t Y2[] = {0, 1, 0, 1, 0, 0};
static const double S2[] = {0.5, 0.7, 0.7, 0.5, 0.2, 0.1};

static void auc_hand_derived(void **state)
{
    (void)state;
    double a = SENTINEL;
    assert_int_equal(asdnorm_auc(Y1, S1, 6, &a), ASDNORM_OK);
    assert_true(a == 0.875);
    assert_int_equal(asdnorm_auc(Y2, S2, 6, &a), ASDNORM_OK);
    assert_true(a == 0.75);

    /* Every score equal: each pair is a tie, U = P·N/2, AUC = 0.5. */
    const uint8_t y3[] = {1, 0, 0, 1, 0};
    const double s3[] = {2, 2, 2, 2, 2};
    assert_int_equal(asdnorm_auc(y3, s3, 5, &a), ASDNORM_OK);
    assert_true(a == 0.5);

    /* Perfect separation, then inverted: 1 and 0. */
    const uint8_t y4[] = {1, 1, 0, 0, 0};
    const double s4[] = {3, 4, 1, 2, 0};
    const double s5[] = {-3, -4, -1, -2, 0};
    assert_int_equal(asdnorm_auc(y4, s4, 5, &a), ASDNORM_OK);
    assert_true(a == 1.0);
    assert_int_equal(asdnorm_auc(y4, s5, 5, &a), ASDNORM_OK);
    assert_true(a == 0.0);

    /* -0.0 and +0.0 are the same score: one tie, AUC = 0.5. */
    const uint8_t y6[] = {1, 0};
    const double s6[] = {-0.0, 0.0};
    assert_int_equal(asdnorm_auc(y6, s6, 2, &a), ASDNORM_OK);
    assert_true(a == 0.5);

    /* Extreme finite scores: anomaly 1e308 above normals -1e308 and 1e308 (tie):
     * U = 1 + 0.5, AUC = 0.75. */
    const uint8_t y7[] = {1, 0, 0};
    const double s7[] = {1e308, -1e308, 1e308};
    assert_int_equal(asdnorm_auc(y7, s7, 3, &a), ASDNORM_OK);
    assert_true(a == 0.75);
}

/* ---- AUC: brute force on random tied inputs ---------------------------------------- */

static void auc_random_vs_brute_force(void **state)
{
    (void)state;
    uint64_t rng = 20240611;
    uint8_t y[400];
    double s[400];
    double worst = 0;
    for (int c = 0; c < 3000; c++) {
        size_t n = 2 + tu_next(&rng) % (c < 2900 ? 40 : 399);
        unsigned levels = (unsigned)(tu_next(&rng) % 12); /* 0: continuous */
        double q = 0.1 + 0.8 * tu_uniform(&rng);
        random_case(&rng, n, q, levels, y, s);
        double a = SENTINEL;
        assert_int_equal(asdnorm_auc(y, s, n, &a), ASDNORM_OK);
        worst = fmax(worst, fabs(a - brute_auc(y, s, n)));
    }
    print_message("auc: max |diff| vs brute force over 3000 cases: %.3g\n", worst);
    assert_true(worst <= EPS);
}

/* ---- pAUC ------------------------------------------------------------------------------ */

/* Y1/S1: ROC points (0,0) (0,.5) (.25,.5) (.25,1) (.5,1) (.75,1) (1,1).
 *  p = 0.1:  A = 0.1 · 0.5 = 0.05;  (0.05 − 0.005) / 0.095 = 9/19   → 0.5 · 28/19 = 14/19
 *  p = 0.25: A = 0.125, p²/2 = 1/32; (1/8 − 1/32) / (1/4 − 1/32) = 3/7 → 5/7
 *            (p sits exactly on a vertical segment)
 *  p = 0.5:  A = 0.125 + 0.25 = 0.375; (0.375 − 0.125) / 0.375 = 2/3 → 5/6
 * Y2/S2: points (0,0) (.25,.5) (.5,1) (.75,1) (1,1) — tied groups make diagonal steps.
 *  p = 0.1:  TPR at 0.1 interpolates to 0.2, A = 0.1 · 0.2 / 2 = 0.01; 0.005 / 0.095 = 1/19 → 10/19
 *  p = 0.5:  A = 0.0625 + 0.1875 = 0.25; 0.125 / 0.375 = 1/3 → 2/3 */
static void pauc_hand_derived(void **state)
{
    (void)state;
    double v = SENTINEL;
    assert_int_equal(asdnorm_pauc(Y1, S1, 6, 0.1, &v), ASDNORM_OK);
    assert_true(fabs(v - 14.0 / 19) <= EPS);
    assert_int_equal(asdnorm_pauc(Y1, S1, 6, 0.25, &v), ASDNORM_OK);
    assert_true(fabs(v - 5.0 / 7) <= EPS);
    assert_int_equal(asdnorm_pauc(Y1, S1, 6, 0.5, &v), ASDNORM_OK);
    assert_true(fabs(v - 5.0 / 6) <= EPS);
    assert_int_equal(asdnorm_pauc(Y1, S1, 6, 1.0, &v), ASDNORM_OK);
    assert_true(v == 0.875);
    assert_int_equal(asdnorm_pauc(Y2, S2, 6, 0.1, &v), ASDNORM_OK);
    assert_true(fabs(v - 10.0 / 19) <= EPS);
    assert_int_equal(asdnorm_pauc(Y2, S2, 6, 0.5, &v), ASDNORM_OK);
    assert_true(fabs(v - 2.0 / 3) <= EPS);
    assert_int_equal(asdnorm_pauc(Y2, S2, 6, 1.0, &v), ASDNORM_OK);
    assert_true(v == 0.75);

    /* All scores tied: the ROC is the diagonal, A = p²/2, pAUC = 0.5 for every p. */
    const uint8_t y3[] = {1, 0, 0, 1, 0};
    const double s3[] = {2, 2, 2, 2, 2};
    for (double p = 0.05; p < 1.0; p += 0.1) {
        assert_int_equal(asdnorm_pauc(y3, s3, 5, p, &v), ASDNORM_OK);
        assert_true(fabs(v - 0.5) <= EPS);
    }
    /* Perfect: A = p, pAUC = 1. Inverted: A = 0, pAUC = 0.5 · (1 − 0.005 / 0.095) = 9/19. */
    const uint8_t y4[] = {1, 1, 0, 0, 0};
    const double s4[] = {3, 4, 1, 2, 0};
    const double s5[] = {-3, -4, -1, -2, 0};
    assert_int_equal(asdnorm_pauc(y4, s4, 5, 0.1, &v), ASDNORM_OK);
    assert_true(fabs(v - 1.0) <= EPS);
    assert_int_equal(asdnorm_pauc(y4, s5, 5, 0.1, &v), ASDNORM_OK);
    assert_true(fabs(v - 9.0 / 19) <= EPS);
}

static void pauc_random_vs_brute_force(void **state)
{
    (void)state;
    uint64_t rng = 77;
    uint8_t y[300];
    double s[300];
    const double ps[] = {0.1, 0.05, 0.2, 0.25, 0.5, 0.9, 1.0};
    double worst = 0;
    int cases = 0;
    for (int c = 0; c < 1500; c++) {
        size_t n = 2 + tu_next(&rng) % (c < 1450 ? 40 : 299);
        unsigned levels = (unsigned)(tu_next(&rng) % 12);
        random_case(&rng, n, 0.1 + 0.8 * tu_uniform(&rng), levels, y, s);
        for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
            double v = SENTINEL;
            assert_int_equal(asdnorm_pauc(y, s, n, ps[k], &v), ASDNORM_OK);
            worst = fmax(worst, fabs(v - brute_pauc(y, s, n, ps[k])));
            cases++;
        }
    }
    print_message("pauc: max |diff| vs brute force over %d cases: %.3g\n", cases, worst);
    assert_true(worst <= EPS);
}

/* pAUC with max_fpr = 1 is the AUC, bit for bit. */
static void pauc_one_is_auc(void **state)
{
    (void)state;
    uint64_t rng = 5;
    uint8_t y[64];
    double s[64];
    for (int c = 0; c < 200; c++) {
        random_case(&rng, 64, 0.3, (unsigned)(c % 6), y, s);
        double a = SENTINEL, b = SENTINEL;
        assert_int_equal(asdnorm_auc(y, s, 64, &a), ASDNORM_OK);
        assert_int_equal(asdnorm_pauc(y, s, 64, 1.0, &b), ASDNORM_OK);
        assert_true(a == b);
    }
}

/* ---- AUC / pAUC: bad input --------------------------------------------------------------- */

static void expect_binary(const uint8_t *y, const double *s, size_t n, double p,
                          asdnorm_status want)
{
    double a = SENTINEL, b = SENTINEL;
    if (p == 1.0)
        assert_int_equal(asdnorm_auc(y, s, n, &a), want);
    assert_int_equal(asdnorm_pauc(y, s, n, p, &b), want);
    assert_true(a == SENTINEL);
    assert_true(b == SENTINEL);
}

static void auc_pauc_bad_input(void **state)
{
    (void)state;
    const uint8_t y[] = {1, 0, 1, 0};
    const double s[] = {0.5, 0.2, 0.1, 0.4};
    assert_int_equal(asdnorm_auc(y, s, 4, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_pauc(y, s, 4, 0.1, NULL), ASDNORM_E_NULL);
    expect_binary(NULL, s, 4, 1.0, ASDNORM_E_NULL);
    expect_binary(y, NULL, 4, 1.0, ASDNORM_E_NULL);
    expect_binary(NULL, NULL, 0, 0.1, ASDNORM_E_NULL);
    expect_binary(y, s, 0, 1.0, ASDNORM_E_EMPTY);
    expect_binary(y, s, 0, 0.1, ASDNORM_E_EMPTY);

    const uint8_t y_bad[] = {1, 0, 2, 0};
    const uint8_t y_255[] = {1, 0, 255, 0};
    expect_binary(y_bad, s, 4, 1.0, ASDNORM_E_LABEL);
    expect_binary(y_255, s, 4, 0.1, ASDNORM_E_LABEL);

    const double nan_s[] = {0.5, NAN, 0.1, 0.4};
    const double inf_s[] = {0.5, 0.2, INFINITY, 0.4};
    const double ninf_s[] = {-INFINITY, 0.2, 0.1, 0.4};
    expect_binary(y, nan_s, 4, 1.0, ASDNORM_E_NONFINITE);
    expect_binary(y, inf_s, 4, 0.1, ASDNORM_E_NONFINITE);
    expect_binary(y, ninf_s, 4, 1.0, ASDNORM_E_NONFINITE);

    const uint8_t all_normal[] = {0, 0, 0, 0};
    const uint8_t all_anomal[] = {1, 1, 1, 1};
    expect_binary(all_normal, s, 4, 1.0, ASDNORM_E_NO_ANOMALY);
    expect_binary(all_anomal, s, 4, 0.1, ASDNORM_E_NO_NORMAL);
    expect_binary(all_normal, s, 1, 0.1, ASDNORM_E_NO_ANOMALY);

    const double bad_p[] = {0.0, -0.0, -0.1, 1.0000000001, 2.0, NAN, INFINITY, -INFINITY};
    for (size_t k = 0; k < sizeof bad_p / sizeof *bad_p; k++)
        expect_binary(y, s, 4, bad_p[k], ASDNORM_E_ARG);
    /* The smallest positive max_fpr is valid. */
    double v = SENTINEL;
    assert_int_equal(asdnorm_pauc(y, s, 4, 0x1p-1074, &v), ASDNORM_OK);
    assert_true(isfinite(v));
}

/* ---- harmonic mean ------------------------------------------------------------------------ */

static void hmean_values(void **state)
{
    (void)state;
    double h = SENTINEL;
    /* 3 / (1 + 1/2 + 1/4) = 12/7 */
    const double v1[] = {1, 2, 4};
    assert_int_equal(asdnorm_hmean(v1, 3, &h), ASDNORM_OK);
    assert_true(fabs(h - 12.0 / 7) <= EPS);
    /* one value is itself; equal values are themselves */
    const double v2[] = {0.3};
    assert_int_equal(asdnorm_hmean(v2, 1, &h), ASDNORM_OK);
    assert_true(h == 0.3);
    const double v3[] = {0.7, 0.7, 0.7, 0.7, 0.7};
    assert_int_equal(asdnorm_hmean(v3, 5, &h), ASDNORM_OK);
    assert_true(fabs(h - 0.7) <= 1e-16);
    /* 2 / (1/a + 1/b) = 2ab / (a + b): a = 0.5, b = 0.25 → 1/3 */
    const double v4[] = {0.5, 0.25};
    assert_int_equal(asdnorm_hmean(v4, 2, &h), ASDNORM_OK);
    assert_true(fabs(h - 1.0 / 3) <= EPS);
    /* Subnormal values, whose reciprocals overflow: hmean(d, d) = d, hmean(d, 1) ≈ 2d. */
    const double d = 0x1p-1060;
    const double v5[] = {d, d};
    assert_int_equal(asdnorm_hmean(v5, 2, &h), ASDNORM_OK);
    assert_true(h == d);
    const double v6[] = {d, 1.0};
    assert_int_equal(asdnorm_hmean(v6, 2, &h), ASDNORM_OK);
    assert_true(h == 2 * d);
    /* Huge values: hmean(1e308, 1e308) = 1e308. */
    const double v7[] = {1e308, 1e308, 1e308};
    assert_int_equal(asdnorm_hmean(v7, 3, &h), ASDNORM_OK);
    assert_true(fabs(h - 1e308) <= 1e308 * 1e-15);
}

static void expect_hmean(const double *v, size_t n, asdnorm_status want)
{
    double h = SENTINEL;
    assert_int_equal(asdnorm_hmean(v, n, &h), want);
    assert_true(h == SENTINEL);
}

static void hmean_bad_input(void **state)
{
    (void)state;
    const double ok[] = {0.5, 0.6};
    assert_int_equal(asdnorm_hmean(ok, 2, NULL), ASDNORM_E_NULL);
    expect_hmean(NULL, 2, ASDNORM_E_NULL);
    expect_hmean(ok, 0, ASDNORM_E_EMPTY);
    const double nan_v[] = {0.5, NAN};
    const double inf_v[] = {INFINITY, 0.5};
    const double zero_v[] = {0.5, 0.0};
    const double neg_v[] = {-0.5, 0.5};
    const double nzero_v[] = {-0.0, 0.5};
    expect_hmean(nan_v, 2, ASDNORM_E_NONFINITE);
    expect_hmean(inf_v, 2, ASDNORM_E_NONFINITE);
    expect_hmean(neg_v, 2, ASDNORM_E_ARG);
    /* A zero gives the limit 0, as the official score does (n / Σ 1/v with 1/0 = ∞). */
    double h = SENTINEL;
    assert_int_equal(asdnorm_hmean(zero_v, 2, &h), ASDNORM_OK);
    assert_true(h == 0.0);
    h = SENTINEL;
    assert_int_equal(asdnorm_hmean(nzero_v, 2, &h), ASDNORM_OK);
    assert_true(h == 0.0);
}

/* ---- sections -------------------------------------------------------------------------------- */

static void count_sections(void **state)
{
    (void)state;
    size_t k = 999;
    const int32_t s1[] = {3, -1, 3, 7, -1};
    assert_int_equal(asdnorm_count_sections(s1, 5, &k), ASDNORM_OK);
    assert_int_equal(k, 3);
    const int32_t s2[] = {INT32_MIN, INT32_MAX, 0, INT32_MIN};
    assert_int_equal(asdnorm_count_sections(s2, 4, &k), ASDNORM_OK);
    assert_int_equal(k, 3);
    assert_int_equal(asdnorm_count_sections(s2, 1, &k), ASDNORM_OK);
    assert_int_equal(k, 1);

    k = 999;
    assert_int_equal(asdnorm_count_sections(NULL, 5, &k), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_count_sections(s1, 5, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_count_sections(s1, 0, &k), ASDNORM_E_EMPTY);
    assert_int_equal(k, 999);
}

/* ---- DCASE: hand-built --------------------------------------------------------------------------
 * Two sections, given interleaved and out of order; ids 5 and -2 (output ascending: -2, 5).
 * Section -2: anomalies 0.9, 0.6; source normals 0.5, 0.1; target normals 0.6, 0.95.
 *   AUC_source = 4/4 = 1. AUC_target: 0.9 beats 0.6 (1), 0.6 ties 0.6 (0.5): 1.5/4 = 0.375.
 *   All normals 0.95, 0.6, 0.5, 0.1: ROC (0,0) (.25,0) (.25,.5) (.5,1) (.75,1) (1,1).
 *   pAUC(0.1): A = 0 → 0.5 · (1 − 0.005/0.095) = 9/19.
 *   pAUC(0.5): A = 0.25 · (0.5 + 1)/2 = 0.1875; (0.1875 − 0.125)/0.375 = 1/6 → 7/12.
 * Section 5: anomalies 0.8, 0.3, 0.3 (domains 0 and 7: anomalies' domains are not used);
 *   source normals 0.3, 0.2; target normals 0.7, 0.1.
 *   AUC_source: 0.8 → 2, each 0.3 → 1 + 0.5: 5/6. AUC_target: 2 + 1 + 1 = 4/6 = 2/3.
 *   All normals 0.7, 0.3, 0.2, 0.1: ROC (0,0) (0,1/3) (.25,1/3) (.5,1) (.75,1) (1,1).
 *   pAUC(0.1): A = 0.1/3; (1/30 − 1/200)/0.095 = 17/57 → 37/57.
 *   pAUC(0.5): A = 0.25/3 + 0.25 · (1/3 + 1)/2 = 1/4; (1/4 − 1/8)/(3/8) = 1/3 → 2/3.
 * DCASE 2020 (domains ignored): section -2 AUC: 0.9 → 3, 0.6 → 2.5: 5.5/8 = 11/16;
 *   section 5 AUC: 0.8 → 4, each 0.3 → 2.5: 9/12 = 3/4; the pAUCs are as above. */
#define HN 13
static const double H_SCORE[HN] = {0.3, 0.9, 0.2, 0.5, 0.7, 0.6, 0.8, 0.1, 0.3, 0.6, 0.1, 0.95, 0.3};
static const uint8_t H_LABEL[HN] = {1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1};
static const uint8_t H_DOMAIN[HN] = {0, 1, 1, 1, 2, 2, 1, 1, 1, 2, 2, 2, 7};
static const int32_t H_SECTION[HN] = {5, -2, 5, -2, 5, -2, 5, -2, 5, -2, 5, -2, 5};

static void dcase2023_hand_built(void **state)
{
    (void)state;
    int32_t ids[4] = {99, 99, 99, 99};
    double values[12];
    size_t k = 0;
    double official = SENTINEL;
    assert_int_equal(asdnorm_dcase2023(H_SCORE, H_LABEL, H_DOMAIN, H_SECTION, HN, 0.1, 4, ids,
                                       values, &k, &official),
                     ASDNORM_OK);
    assert_int_equal(k, 2);
    assert_int_equal(ids[0], -2);
    assert_int_equal(ids[1], 5);
    assert_int_equal(ids[2], 99); /* nothing written past n_sections */
    const double want[6] = {1.0, 0.375, 9.0 / 19, 5.0 / 6, 2.0 / 3, 37.0 / 57};
    for (int i = 0; i < 6; i++)
        assert_true(fabs(values[i] - want[i]) <= EPS);
    double h = 6.0 / (1.0 + 8.0 / 3 + 19.0 / 9 + 6.0 / 5 + 3.0 / 2 + 57.0 / 37);
    assert_true(fabs(official - h) <= EPS);

    /* max_fpr = 0.5 changes only the pAUC column. */
    assert_int_equal(asdnorm_dcase2023(H_SCORE, H_LABEL, H_DOMAIN, H_SECTION, HN, 0.5, 2, ids,
                                       values, &k, &official),
                     ASDNORM_OK);
    const double want5[6] = {1.0, 0.375, 7.0 / 12, 5.0 / 6, 2.0 / 3, 2.0 / 3};
    for (int i = 0; i < 6; i++)
        assert_true(fabs(values[i] - want5[i]) <= EPS);
    h = 6.0 / (1.0 + 8.0 / 3 + 12.0 / 7 + 6.0 / 5 + 3.0 / 2 + 3.0 / 2);
    assert_true(fabs(official - h) <= EPS);

    /* Outputs NULL: only the count and the official score, any cap. */
    double official2 = SENTINEL;
    k = 0;
    assert_int_equal(asdnorm_dcase2023(H_SCORE, H_LABEL, H_DOMAIN, H_SECTION, HN, 0.5, 0, NULL,
                                       NULL, &k, &official2),
                     ASDNORM_OK);
    assert_int_equal(k, 2);
    assert_true(official2 == official);
    /* Only one of the outputs. */
    int32_t ids2[2] = {0, 0};
    assert_int_equal(asdnorm_dcase2023(H_SCORE, H_LABEL, H_DOMAIN, H_SECTION, HN, 0.1, 2, ids2,
                                       NULL, &k, &official2),
                     ASDNORM_OK);
    assert_true(ids2[0] == -2 && ids2[1] == 5);
}

static void dcase2020_hand_built(void **state)
{
    (void)state;
    int32_t ids[2];
    double values[4];
    size_t k = 0;
    double official = SENTINEL;
    assert_int_equal(asdnorm_dcase2020(H_SCORE, H_LABEL, H_SECTION, HN, 0.1, 2, ids, values, &k,
                                       &official),
                     ASDNORM_OK);
    assert_int_equal(k, 2);
    assert_true(ids[0] == -2 && ids[1] == 5);
    const double want[4] = {11.0 / 16, 9.0 / 19, 3.0 / 4, 37.0 / 57};
    for (int i = 0; i < 4; i++)
        assert_true(fabs(values[i] - want[i]) <= EPS);
    assert_true(fabs(official - (11.0 / 16 + 9.0 / 19 + 3.0 / 4 + 37.0 / 57) / 4) <= EPS);

    assert_int_equal(asdnorm_dcase2020(H_SCORE, H_LABEL, H_SECTION, HN, 0.5, 2, NULL, values, &k,
                                       &official),
                     ASDNORM_OK);
    const double want5[4] = {11.0 / 16, 7.0 / 12, 3.0 / 4, 2.0 / 3};
    for (int i = 0; i < 4; i++)
        assert_true(fabs(values[i] - want5[i]) <= EPS);
    assert_true(fabs(official - (11.0 / 16 + 7.0 / 12 + 3.0 / 4 + 2.0 / 3) / 4) <= EPS);
}

/* An AUC of 0 makes the harmonic mean 0 (its limit, and scipy.stats.hmean's value),
 * not an error: one section, anomalies 0.1 (below every normal), normals 0.5 (source),
 * 0.6 (target). AUC_source = AUC_target = 0; pAUC(0.1) = 9/19. */
static void dcase2023_zero_auc(void **state)
{
    (void)state;
    const double s[] = {0.1, 0.5, 0.6};
    const uint8_t y[] = {1, 0, 0};
    const uint8_t d[] = {1, 1, 2};
    const int32_t sec[] = {0, 0, 0};
    double values[3], official = SENTINEL;
    size_t k = 0;
    assert_int_equal(asdnorm_dcase2023(s, y, d, sec, 3, 0.1, 1, NULL, values, &k, &official),
                     ASDNORM_OK);
    assert_true(values[0] == 0.0 && values[1] == 0.0);
    assert_true(fabs(values[2] - 9.0 / 19) <= EPS);
    assert_true(official == 0.0);
}

/* ---- DCASE: random sections against the brute force --------------------------------------------- */

static void dcase_random_vs_brute_force(void **state)
{
    (void)state;
    const int32_t pool[] = {INT32_MIN, -40, -1, 0, 3, 17, 100000, INT32_MAX};
    enum { NP = sizeof pool / sizeof *pool, MAXN = 600 };
    uint64_t rng = 99;
    double *s = malloc(MAXN * sizeof *s), *sub = malloc(MAXN * sizeof *sub);
    uint8_t *y = malloc(MAXN), *d = malloc(MAXN), *ysub = malloc(MAXN);
    int32_t *sec = malloc(MAXN * sizeof *sec);
    double worst = 0;
    for (int c = 0; c < 150; c++) {
        /* Each section in use gets its mandatory anomaly, source and target normal
         * first; the rest is random. Then shuffle. */
        size_t used = 1 + tu_next(&rng) % NP, n = 0;
        size_t first = tu_next(&rng) % (NP - used + 1);
        for (size_t u = 0; u < used; u++)
            for (int cls = 0; cls < 3; cls++) {
                sec[n] = pool[first + u];
                y[n] = cls == 0;
                d[n] = cls == 0 ? (uint8_t)(tu_next(&rng) % 3) : cls == 1 ? SRC : TGT;
                n++;
            }
        size_t extra = tu_next(&rng) % (MAXN - n);
        for (size_t e = 0; e < extra; e++, n++) {
            sec[n] = pool[first + tu_next(&rng) % used];
            y[n] = tu_uniform(&rng) < 0.3;
            d[n] = tu_uniform(&rng) < 0.8 ? SRC : TGT;
        }
        unsigned levels = (unsigned)(tu_next(&rng) % 8);
        for (size_t i = 0; i < n; i++)
            s[i] = levels ? (double)(tu_next(&rng) % levels) : tu_normal(&rng) + 0.5 * y[i];
        for (size_t i = n; i-- > 1;) {
            size_t j = tu_next(&rng) % (i + 1);
            double ts = s[i]; s[i] = s[j]; s[j] = ts;
            uint8_t ty = y[i]; y[i] = y[j]; y[j] = ty;
            uint8_t td = d[i]; d[i] = d[j]; d[j] = td;
            int32_t tc = sec[i]; sec[i] = sec[j]; sec[j] = tc;
        }

        int32_t ids[NP];
        double values[3 * NP], values20[2 * NP], official = SENTINEL, official20 = SENTINEL;
        size_t k = 0, k20 = 0;
        assert_int_equal(asdnorm_dcase2023(s, y, d, sec, n, 0.1, NP, ids, values, &k, &official),
                         ASDNORM_OK);
        assert_int_equal(asdnorm_dcase2020(s, y, sec, n, 0.1, NP, NULL, values20, &k20,
                                           &official20),
                         ASDNORM_OK);
        assert_int_equal(k, used);
        assert_int_equal(k20, used);
        double expect[3 * NP], expect20[2 * NP], mean20 = 0;
        for (size_t u = 0; u < used; u++) {
            assert_int_equal(ids[u], pool[first + u]);
            /* source normals + all anomalies, target normals + all anomalies, everything */
            for (int part = 0; part < 3; part++) {
                size_t m = 0;
                for (size_t i = 0; i < n; i++) {
                    if (sec[i] != pool[first + u])
                        continue;
                    if (part < 2 && !y[i] && d[i] != (part == 0 ? SRC : TGT))
                        continue;
                    sub[m] = s[i];
                    ysub[m++] = y[i];
                }
                if (part < 2)
                    expect[3 * u + part] = brute_auc(ysub, sub, m);
                else {
                    expect[3 * u + 2] = brute_pauc(ysub, sub, m, 0.1);
                    expect20[2 * u] = brute_auc(ysub, sub, m);
                    expect20[2 * u + 1] = expect[3 * u + 2];
                }
            }
        }
        for (size_t v = 0; v < 3 * used; v++)
            worst = fmax(worst, fabs(values[v] - expect[v]));
        for (size_t v = 0; v < 2 * used; v++) {
            worst = fmax(worst, fabs(values20[v] - expect20[v]));
            mean20 += expect20[v] / (double)(2 * used);
        }
        int has_zero = 0;
        for (size_t v = 0; v < 3 * used; v++)
            has_zero |= expect[v] == 0;
        worst = fmax(worst, fabs(official - (has_zero ? 0.0 : naive_hmean(expect, 3 * used))));
        worst = fmax(worst, fabs(official20 - mean20));
    }
    print_message("dcase: max |diff| vs brute force over 150 data sets: %.3g\n", worst);
    assert_true(worst <= EPS);
    free(s);
    free(sub);
    free(y);
    free(d);
    free(ysub);
    free(sec);
}

/* ---- DCASE: bad input ------------------------------------------------------------------------------ */

/* Calls both editions (2020 only where domains play no part) and checks that every
 * output is untouched, except n_sections on ASDNORM_E_BUFFER. */
static void expect_dcase(const double *s, const uint8_t *y, const uint8_t *d, const int32_t *sec,
                         size_t n, double p, size_t cap, asdnorm_status want, int also_2020)
{
    int32_t ids[8] = {77, 77, 77, 77, 77, 77, 77, 77};
    double values[24];
    for (int i = 0; i < 24; i++)
        values[i] = SENTINEL;
    size_t k = 12345;
    double official = SENTINEL;
    assert_int_equal(asdnorm_dcase2023(s, y, d, sec, n, p, cap, ids, values, &k, &official), want);
    for (int i = 0; i < 8; i++)
        assert_int_equal(ids[i], 77);
    for (int i = 0; i < 24; i++)
        assert_true(values[i] == SENTINEL);
    assert_true(official == SENTINEL);
    /* (every E_BUFFER case below uses the hand-built set, which has 2 sections) */
    assert_int_equal(k, want == ASDNORM_E_BUFFER ? 2 : 12345);
    if (!also_2020)
        return;
    size_t k20 = 12345;
    assert_int_equal(asdnorm_dcase2020(s, y, sec, n, p, cap, ids, values, &k20, &official), want);
    for (int i = 0; i < 8; i++)
        assert_int_equal(ids[i], 77);
    for (int i = 0; i < 24; i++)
        assert_true(values[i] == SENTINEL);
    assert_true(official == SENTINEL);
    assert_int_equal(k20, want == ASDNORM_E_BUFFER ? 2 : 12345);
}

static void dcase_bad_input(void **state)
{
    (void)state;
    const double *s = H_SCORE;
    const uint8_t *y = H_LABEL, *d = H_DOMAIN;
    const int32_t *sec = H_SECTION;
    size_t k;
    double o;
    int32_t ids[2];
    double v[6];

    /* NULL inputs and required outputs */
    expect_dcase(NULL, y, d, sec, HN, 0.1, 2, ASDNORM_E_NULL, 1);
    expect_dcase(s, NULL, d, sec, HN, 0.1, 2, ASDNORM_E_NULL, 1);
    expect_dcase(s, y, NULL, sec, HN, 0.1, 2, ASDNORM_E_NULL, 0);
    expect_dcase(s, y, d, NULL, HN, 0.1, 2, ASDNORM_E_NULL, 1);
    assert_int_equal(asdnorm_dcase2023(s, y, d, sec, HN, 0.1, 2, ids, v, NULL, &o), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_dcase2023(s, y, d, sec, HN, 0.1, 2, ids, v, &k, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_dcase2020(s, y, sec, HN, 0.1, 2, ids, v, NULL, &o), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_dcase2020(s, y, sec, HN, 0.1, 2, ids, v, &k, NULL), ASDNORM_E_NULL);

    expect_dcase(s, y, d, sec, 0, 0.1, 2, ASDNORM_E_EMPTY, 1);

    const double bad_p[] = {0.0, -0.5, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_p / sizeof *bad_p; i++)
        expect_dcase(s, y, d, sec, HN, bad_p[i], 2, ASDNORM_E_ARG, 1);

    /* label 2 */
    uint8_t y2[HN];
    memcpy(y2, y, HN);
    y2[4] = 2;
    expect_dcase(s, y2, d, sec, HN, 0.1, 2, ASDNORM_E_LABEL, 1);

    /* a normal sample with domain 0 or 3 (anomalies with 0 and 7 are fine, see hand-built) */
    uint8_t d2[HN];
    memcpy(d2, d, HN);
    d2[2] = ASDNORM_DOMAIN_UNKNOWN;
    expect_dcase(s, y, d2, sec, HN, 0.1, 2, ASDNORM_E_LABEL, 0);
    d2[2] = 3;
    expect_dcase(s, y, d2, sec, HN, 0.1, 2, ASDNORM_E_LABEL, 0);

    double s2[HN];
    memcpy(s2, s, sizeof s2);
    s2[7] = NAN;
    expect_dcase(s2, y, d, sec, HN, 0.1, 2, ASDNORM_E_NONFINITE, 1);
    s2[7] = -INFINITY;
    expect_dcase(s2, y, d, sec, HN, 0.1, 2, ASDNORM_E_NONFINITE, 1);

    /* Section 5 loses its anomalies (indices 0, 6, 12 become source normals). */
    memcpy(y2, y, HN);
    memcpy(d2, d, HN);
    const size_t sec5_anom[] = {0, 6, 12};
    for (size_t i = 0; i < 3; i++) {
        y2[sec5_anom[i]] = 0;
        d2[sec5_anom[i]] = SRC;
    }
    expect_dcase(s, y2, d2, sec, HN, 0.1, 2, ASDNORM_E_NO_ANOMALY, 1);

    /* Section -2 loses its target normals (indices 5, 11 become source). */
    memcpy(d2, d, HN);
    d2[5] = SRC;
    d2[11] = SRC;
    expect_dcase(s, y, d2, sec, HN, 0.1, 2, ASDNORM_E_NO_NORMAL, 0);
    /* and its source normals instead (indices 3, 7) */
    memcpy(d2, d, HN);
    d2[3] = TGT;
    d2[7] = TGT;
    expect_dcase(s, y, d2, sec, HN, 0.1, 2, ASDNORM_E_NO_NORMAL, 0);
    /* Every normal of section -2 becomes an anomaly: no normals at all, both editions. */
    memcpy(y2, y, HN);
    const size_t secm2_norm[] = {3, 5, 7, 11};
    for (size_t i = 0; i < 4; i++)
        y2[secm2_norm[i]] = 1;
    expect_dcase(s, y2, d, sec, HN, 0.1, 2, ASDNORM_E_NO_NORMAL, 1);

    /* cap too small: E_BUFFER, n_sections = 2, everything else untouched */
    expect_dcase(s, y, d, sec, HN, 0.1, 1, ASDNORM_E_BUFFER, 1);
    expect_dcase(s, y, d, sec, HN, 0.1, 0, ASDNORM_E_BUFFER, 1);
    k = 0;
    o = SENTINEL;
    assert_int_equal(asdnorm_dcase2023(s, y, d, sec, HN, 0.1, 1, NULL, v, &k, &o), ASDNORM_E_BUFFER);
    assert_int_equal(k, 2);
    assert_true(o == SENTINEL);
    k = 0;
    assert_int_equal(asdnorm_dcase2020(s, y, sec, HN, 0.1, 1, ids, NULL, &k, &o), ASDNORM_E_BUFFER);
    assert_int_equal(k, 2);
    assert_true(o == SENTINEL);
}

/* ---- the official DCASE baseline table ------------------------------------------------------------ */

static int test_data_path(char *buf, size_t size, const char *name)
{
    return snprintf(buf, size, "%s/%s", ASDNORM_TEST_DATA, name) < (int)size;
}

/* One (year, system) of the table: its 3 values per machine, and its official
 * score and arithmetic mean as stated in the DCASE 2023 / 2024 evaluators' READMEs
 * (recorded in the file's trailing comment). */
typedef struct baseline_row {
    int year;
    const char *system;
    const char *official_text;
    double official, amean;
    int machines;
    double values[3 * 16];
    int n;
} baseline_row;

static void dcase_official_baselines(void **state)
{
    (void)state;
    baseline_row rows[] = {
        {2023, "baseline_MSE", "0.5925469043549957", 0.5925469043549957, 0.6114287349222227, 7,
         {0}, 0},
        {2023, "baseline_MAHALA", "0.6105082186925268", 0.6105082186925268, 0.6430834459860557,
         7, {0}, 0},
        {2024, "baseline_MSE", "0.5650830191796572", 0.5650830191796572, 0.5863391812865497, 9,
         {0}, 0},
        {2024, "baseline_MAHALA", "0.5648933421610234", 0.5648933421610234, 0.5832003898635478,
         9, {0}, 0},
    };
    enum { NR = sizeof rows / sizeof *rows };
    char path[4096];
    assert_true(test_data_path(path, sizeof path, "dcase-baseline-official-scores.csv"));
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char line[1024], comments[4096] = "";
    int data_lines = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') {
            strncat(comments, line, sizeof comments - strlen(comments) - 1);
            continue;
        }
        if (strncmp(line, "year,", 5) == 0 || line[0] == '\n')
            continue;
        int year;
        char system[64], machine[64];
        double a, b, c;
        assert_int_equal(sscanf(line, "%d,%63[^,],%63[^,],%lf,%lf,%lf", &year, system, machine,
                                &a, &b, &c),
                         6);
        data_lines++;
        int found = 0;
        for (int r = 0; r < NR; r++) {
            if (rows[r].year != year || strcmp(rows[r].system, system) != 0)
                continue;
            assert_true(rows[r].n + 3 <= (int)(sizeof rows[r].values / sizeof *rows[r].values));
            rows[r].values[rows[r].n++] = a;
            rows[r].values[rows[r].n++] = b;
            rows[r].values[rows[r].n++] = c;
            found = 1;
        }
        assert_true(found);
    }
    fclose(f);
    assert_int_equal(data_lines, 32);
    for (int r = 0; r < NR; r++) {
        /* The table is read whole: machine count, and its arithmetic mean as stated. */
        assert_int_equal(rows[r].n, 3 * rows[r].machines);
        double sum = 0;
        for (int i = 0; i < rows[r].n; i++)
            sum += rows[r].values[i];
        assert_true(fabs(sum / rows[r].n - rows[r].amean) <= 1e-12);
        /* The file states the same official score as this test. */
        assert_non_null(strstr(comments, rows[r].official_text));

        double h = SENTINEL;
        assert_int_equal(asdnorm_hmean(rows[r].values, (size_t)rows[r].n, &h), ASDNORM_OK);
        print_message("%d %s: hmean %.17g official %.17g |diff| %.3g\n", rows[r].year,
                      rows[r].system, h, rows[r].official, fabs(h - rows[r].official));
        assert_true(fabs(h - rows[r].official) <= 1e-12);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(auc_hand_derived),
        cmocka_unit_test(auc_random_vs_brute_force),
        cmocka_unit_test(pauc_hand_derived),
        cmocka_unit_test(pauc_random_vs_brute_force),
        cmocka_unit_test(pauc_one_is_auc),
        cmocka_unit_test(auc_pauc_bad_input),
        cmocka_unit_test(hmean_values),
        cmocka_unit_test(hmean_bad_input),
        cmocka_unit_test(count_sections),
        cmocka_unit_test(dcase2023_hand_built),
        cmocka_unit_test(dcase2020_hand_built),
        cmocka_unit_test(dcase2023_zero_auc),
        cmocka_unit_test(dcase_random_vs_brute_force),
        cmocka_unit_test(dcase_bad_input),
        cmocka_unit_test(dcase_official_baselines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
