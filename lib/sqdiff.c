/* SPDX-License-Identifier: MIT */
/* The kernel of every exact distance: Σₖ (xₖ·a − yₖ·b)² in double for float
 * rows x and y (docs/math.md §5).
 *
 * The sum is kept in LANES partial sums: element k of the first
 * dim − dim mod LANES goes to lane k mod LANES, the t-th element of the tail
 * to lane t, and the lanes are added by a fixed tree. Every variant below does
 * exactly these IEEE operations (float → double conversions, which are exact,
 * then ×, −, ×, + in double, never fused) in this order, so all of them return
 * bitwise the same value, and the widest the machine has is picked at run time.
 * Sixteen independent chains keep the adders busy; four were latency-bound. */
#include "internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#define HAVE_SSE2 1
#if defined(__GNUC__) && !defined(__INTEL_COMPILER)
#include <immintrin.h>
#define HAVE_AVX2 1
#endif
#endif

#define LANES 16

static double lanes_total(double *s)
{
    for (size_t w = LANES / 2; w > 0; w /= 2)
        for (size_t t = 0; t < w; t++)
            s[t] += s[t + w];
    return s[0];
}

/* The tail after the main loop's i elements, lane by lane, and the total. */
static double finish(const float *x, double a, const float *y, double b, size_t i, size_t dim,
                     double *s)
{
    for (size_t t = 0; i < dim; i++, t++) {
        double d = (double)x[i] * a - (double)y[i] * b;
        s[t] += d * d;
    }
    return lanes_total(s);
}

static double sqdiff_c(const float *x, double a, const float *y, double b, size_t dim)
{
    double s[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= dim; i += LANES)
        for (size_t t = 0; t < LANES; t++) {
            double d = (double)x[i + t] * a - (double)y[i + t] * b;
            s[t] += d * d;
        }
    return finish(x, a, y, b, i, dim, s);
}

#ifdef HAVE_SSE2
/* Lanes 2r and 2r + 1 in register r. */
static double sqdiff_sse2(const float *x, double a, const float *y, double b, size_t dim)
{
    __m128d acc[LANES / 2];
    for (size_t r = 0; r < LANES / 2; r++)
        acc[r] = _mm_setzero_pd();
    const __m128d va = _mm_set1_pd(a), vb = _mm_set1_pd(b);
    size_t i = 0;
    for (; i + LANES <= dim; i += LANES)
        for (size_t q = 0; q < LANES / 4; q++) {
            const __m128 xf = _mm_loadu_ps(x + i + 4 * q), yf = _mm_loadu_ps(y + i + 4 * q);
            const __m128d d0 = _mm_sub_pd(_mm_mul_pd(_mm_cvtps_pd(xf), va),
                                          _mm_mul_pd(_mm_cvtps_pd(yf), vb));
            const __m128d d1 = _mm_sub_pd(_mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(xf, xf)), va),
                                          _mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(yf, yf)), vb));
            acc[2 * q] = _mm_add_pd(acc[2 * q], _mm_mul_pd(d0, d0));
            acc[2 * q + 1] = _mm_add_pd(acc[2 * q + 1], _mm_mul_pd(d1, d1));
        }
    double s[LANES];
    for (size_t r = 0; r < LANES / 2; r++)
        _mm_storeu_pd(s + 2 * r, acc[r]);
    return finish(x, a, y, b, i, dim, s);
}
#endif

#ifdef HAVE_AVX2
/* Lanes 4r … 4r + 3 in register r. */
__attribute__((target("avx2"))) static double sqdiff_avx2(const float *x, double a, const float *y,
                                                          double b, size_t dim)
{
    __m256d acc[LANES / 4];
    for (size_t r = 0; r < LANES / 4; r++)
        acc[r] = _mm256_setzero_pd();
    const __m256d va = _mm256_set1_pd(a), vb = _mm256_set1_pd(b);
    size_t i = 0;
    for (; i + LANES <= dim; i += LANES)
        for (size_t r = 0; r < LANES / 4; r++) {
            const __m256d xv = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * r));
            const __m256d yv = _mm256_cvtps_pd(_mm_loadu_ps(y + i + 4 * r));
            const __m256d d = _mm256_sub_pd(_mm256_mul_pd(xv, va), _mm256_mul_pd(yv, vb));
            acc[r] = _mm256_add_pd(acc[r], _mm256_mul_pd(d, d));
        }
    double s[LANES];
    for (size_t r = 0; r < LANES / 4; r++)
        _mm256_storeu_pd(s + 4 * r, acc[r]);
    return finish(x, a, y, b, i, dim, s);
}
#endif

bool asdnorm__sqdiff_variant(int variant, const float *x, double a, const float *y, double b,
                             size_t dim, double *out)
{
    switch (variant) {
    case 0:
        *out = sqdiff_c(x, a, y, b, dim);
        return true;
#ifdef HAVE_SSE2
    case 1:
        *out = sqdiff_sse2(x, a, y, b, dim);
        return true;
#endif
#ifdef HAVE_AVX2
    case 2:
        if (!__builtin_cpu_supports("avx2"))
            return false;
        *out = sqdiff_avx2(x, a, y, b, dim);
        return true;
#endif
    default:
        return false;
    }
}

double asdnorm__sqdiff(const float *x, double a, const float *y, double b, size_t dim)
{
#ifdef HAVE_AVX2
    if (__builtin_cpu_supports("avx2"))
        return sqdiff_avx2(x, a, y, b, dim);
#endif
#ifdef HAVE_SSE2
    return sqdiff_sse2(x, a, y, b, dim);
#else
    return sqdiff_c(x, a, y, b, dim);
#endif
}

/* ---- the float filter ----------------------------------------------------------
 * Σₖ fl(fl(xₖ·a) − fl(yₖ·b))² summed in float, in any order, fused or not (its
 * error bound, asdnorm__near_bounds, holds for every order, and a fused
 * operation only removes roundings): a cheap first look at a
 * candidate whose sgemm bound is too wide, never a result. */
static float sqdiff_f_c(const float *x, float a, const float *y, float b, size_t dim)
{
    float s[8] = {0};
    size_t i = 0;
    for (; i + 8 <= dim; i += 8)
        for (size_t t = 0; t < 8; t++) {
            const float d = x[i + t] * a - y[i + t] * b;
            s[t] += d * d;
        }
    for (size_t t = 0; i < dim; i++, t++) {
        const float d = x[i] * a - y[i] * b;
        s[t] += d * d;
    }
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

#ifdef HAVE_AVX2
/* Fused: tₖ = fl(xₖ·a − fl(yₖ·b)) and the squares added by FMA, each one
 * rounding where the plain form has two, so within the same bound; four
 * accumulators, so the additions' latency does not bind. */
__attribute__((target("avx2,fma"))) static float sqdiff_f_fma(const float *x, float a,
                                                              const float *y, float b,
                                                              size_t dim)
{
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    size_t i = 0;
    for (; i + 32 <= dim; i += 32)
        for (size_t r = 0; r < 4; r++) {
            const __m256 yb = _mm256_mul_ps(_mm256_loadu_ps(y + i + 8 * r), vb);
            const __m256 d = _mm256_fmsub_ps(_mm256_loadu_ps(x + i + 8 * r), va, yb);
            acc[r] = _mm256_fmadd_ps(d, d, acc[r]);
        }
    for (; i + 8 <= dim; i += 8) {
        const __m256 yb = _mm256_mul_ps(_mm256_loadu_ps(y + i), vb);
        const __m256 d = _mm256_fmsub_ps(_mm256_loadu_ps(x + i), va, yb);
        acc[0] = _mm256_fmadd_ps(d, d, acc[0]);
    }
    float s[8];
    _mm256_storeu_ps(s, _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (size_t t = 0; i < dim; i++, t++) {
        const float d = x[i] * a - y[i] * b;
        s[t] += d * d;
    }
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}
#endif

float asdnorm__sqdiff_f(const float *x, float a, const float *y, float b, size_t dim)
{
#ifdef HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return sqdiff_f_fma(x, a, y, b, dim);
#endif
    return sqdiff_f_c(x, a, y, b, dim);
}
