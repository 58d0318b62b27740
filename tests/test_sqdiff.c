/* SPDX-License-Identifier: MIT */
/* The exact-distance kernel (lib/sqdiff.c): every variant this build and
 * machine have (plain C, SSE2, AVX2) returns bitwise the same value, and that
 * value is Σ (xₖa − yₖb)² to within its own rounding, checked against a sum in
 * long double of the same terms, for lengths around every lane and tail
 * boundary and the dimensions the benchmarks use. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1p-53;
}

/* The terms summed in long double: (x·a − y·b) formed in double as the
 * kernel does (each of its roundings is part of the definition), squared and
 * added with 64-bit significands. */
static long double reference(const float *x, double a, const float *y, double b, size_t dim)
{
    long double s = 0;
    for (size_t k = 0; k < dim; k++) {
        long double d = (long double)((double)x[k] * a - (double)y[k] * b);
        s += d * d;
    }
    return s;
}

static void check_dim(size_t dim, double a, double b, bool close)
{
    float *x = malloc((dim ? dim : 1) * sizeof *x), *y = malloc((dim ? dim : 1) * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t k = 0; k < dim; k++) {
        x[k] = (float)(urand() * 2 - 1);
        /* close rows: the differences are ~1e-4 of the values, where a plain
         * dot product would cancel */
        y[k] = close ? x[k] * (float)(1 + 1e-4 * (urand() - 0.5)) : (float)(urand() * 2 - 1);
    }
    double base;
    assert_true(asdnorm__sqdiff_variant(0, x, a, y, b, dim, &base));
    for (int v = 1; v < 3; v++) {
        double got;
        if (!asdnorm__sqdiff_variant(v, x, a, y, b, dim, &got))
            continue;
        if (memcmp(&got, &base, sizeof got) != 0)
            fail_msg("dim %zu: variant %d gives %.17g, plain C %.17g", dim, v, got, base);
    }
    double disp = asdnorm__sqdiff(x, a, y, b, dim);
    assert_memory_equal(&disp, &base, sizeof disp);
    long double ref = reference(x, a, y, b, dim);
    /* dim additions of terms ≥ 0 and one rounding of each square, in double:
     * |error| ≤ (dim + 1) · 2⁻⁵³ · Σ terms */
    long double tol = (long double)(dim + 1) * 0x1p-53L * ref;
    if (fabsl((long double)base - ref) > tol)
        fail_msg("dim %zu: %.17g vs reference %.17Lg (tol %.3Lg)", dim, base, ref, tol);
    if (dim == 0)
        assert_true(base == 0.0);
    free(x);
    free(y);
}

static void test_lengths(void **state)
{
    (void)state;
    for (size_t dim = 0; dim <= 70; dim++) {
        check_dim(dim, 1.0, 1.0, false);
        check_dim(dim, 0.7310585786300049, 1.3, true);
    }
    const size_t dims[] = {127, 128, 129, 512, 1000, 6144, 6151};
    for (size_t t = 0; t < sizeof dims / sizeof *dims; t++) {
        check_dim(dims[t], 1.0, 1.0, false);
        check_dim(dims[t], 1.0 / 3.0, 2.5, false);
        check_dim(dims[t], 1.25, 1.25, true);
    }
}

/* Which variants ran: the SSE2 and AVX2 paths must be exercised where the
 * machine has them, or the test above proves nothing about them. */
static void test_variants_present(void **state)
{
    (void)state;
    float x[16] = {1}, y[16] = {0};
    double out;
    assert_true(asdnorm__sqdiff_variant(0, x, 1, y, 1, 16, &out));
#if defined(__x86_64__)
    assert_true(asdnorm__sqdiff_variant(1, x, 1, y, 1, 16, &out));
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        assert_true(asdnorm__sqdiff_variant(2, x, 1, y, 1, 16, &out));
    else
        print_message("no AVX2 on this machine: that variant is not checked\n");
#endif
    assert_false(asdnorm__sqdiff_variant(3, x, 1, y, 1, 16, &out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_variants_present),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
