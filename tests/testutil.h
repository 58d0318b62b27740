/* SPDX-License-Identifier: MIT */
/* Shared helpers for the C tests: a seeded generator and an independent,
 * double-precision brute force of the mathematics in docs/math.md, computed
 * from the caller's original (un-normalized) rows, never by the library. */
#ifndef ASDNORM_TESTUTIL_H
#define ASDNORM_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <asdnorm/asdnorm.h>

/* splitmix64: small, seeded, identical on every platform. */
static inline uint64_t tu_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double tu_uniform(uint64_t *s)
{
    return (double)(tu_next(s) >> 11) * 0x1.0p-53;
}

/* Standard normal (Box–Muller). */
static inline double tu_normal(uint64_t *s)
{
    double u = tu_uniform(s), v = tu_uniform(s);
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* n × dim floats ~ N(offset, scale²), malloc'd. */
static inline float *tu_gauss(uint64_t *s, size_t n, size_t dim, double offset, double scale)
{
    float *x = malloc(n * dim * sizeof *x);
    for (size_t i = 0; i < n * dim; i++)
        x[i] = (float)(offset + scale * tu_normal(s));
    return x;
}

/* d(x, y) of math §2.1 in double, both rows as the caller gave them (the
 * reference is normalized here for cosine, as the index stores it). */
static inline double tu_distance(asdnorm_distance kind, const float *x, const float *y, size_t dim)
{
    double xx = 0, yy = 0, dd = 0;
    for (size_t i = 0; i < dim; i++) {
        xx += (double)x[i] * x[i];
        yy += (double)y[i] * y[i];
        double d = (double)x[i] - y[i];
        dd += d * d;
    }
    switch (kind) {
    case ASDNORM_DISTANCE_COSINE: {
        /* 0.5 (1 − cos θ) = ¼ ‖x/‖x‖ − y/‖y‖‖², the form without cancellation. */
        double nx = sqrt(xx), ny = sqrt(yy), s = 0;
        for (size_t i = 0; i < dim; i++) {
            double d = x[i] / nx - y[i] / ny;
            s += d * d;
        }
        return s / 4;
    }
    case ASDNORM_DISTANCE_EUCLIDEAN: return sqrt(dd);
    case ASDNORM_DISTANCE_MSE: return dd / (double)dim;
    }
    return NAN;
}

static int tu_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Density constants of math §2.2 by brute force: full sort of every row. */
static inline void tu_density(asdnorm_distance kind, const float *y, size_t m, size_t dim,
                              asdnorm_density est, double param, double *out)
{
    double *row = malloc((m > 1 ? m - 1 : 1) * sizeof *row);
    for (size_t j = 0; j < m; j++) {
        size_t c = 0;
        for (size_t i = 0; i < m; i++)
            if (i != j)
                row[c++] = tu_distance(kind, y + j * dim, y + i * dim, dim);
        qsort(row, c, sizeof *row, tu_cmp_double);
        double n = 0;
        if (est == ASDNORM_DENSITY_KNN) {
            size_t k = (size_t)param < c ? (size_t)param : c;
            for (size_t i = 0; i < k; i++)
                n += row[i];
            n /= (double)k;
        } else if (est == ASDNORM_DENSITY_GWRP) {
            double w = 1, num = 0, den = 0;
            for (size_t i = 0; i < c; i++) {
                num += w * row[i];
                den += w;
                w *= param; /* 0^0 = 1: the first weight is 1 for any r */
            }
            n = num / den;
        }
        out[j] = n;
    }
    free(row);
}

/* The ratio's floor φ = ε · S of math §2.3 for references y as given: S = 1
 * under cosine; else V = mean squared distance of the rows to their centroid,
 * S = √V (euclidean) or V / dim (mse), and S = 1 when V = 0. */
static inline double tu_ratio_floor(asdnorm_distance kind, const float *y, size_t m, size_t dim)
{
    if (kind == ASDNORM_DISTANCE_COSINE)
        return ASDNORM_EPSILON;
    double v = 0;
    for (size_t k = 0; k < dim; k++) {
        double mean = 0;
        for (size_t j = 0; j < m; j++)
            mean += y[j * dim + k];
        mean /= (double)m;
        for (size_t j = 0; j < m; j++)
            v += (y[j * dim + k] - mean) * (y[j * dim + k] - mean);
    }
    v /= (double)m;
    if (v == 0)
        return ASDNORM_EPSILON;
    return ASDNORM_EPSILON * (kind == ASDNORM_DISTANCE_EUCLIDEAN ? sqrt(v) : v / (double)dim);
}

/* Scores of math §2.3 by brute force; nearest may be NULL. */
static inline void tu_scores(asdnorm_distance kind, const float *y, size_t m, size_t dim,
                             const double *density, asdnorm_density est, asdnorm_norm norm,
                             const float *x, size_t n, double *scores, size_t *nearest)
{
    const double floor = tu_ratio_floor(kind, y, m, dim);
    for (size_t t = 0; t < n; t++) {
        double best = INFINITY;
        size_t arg = 0;
        for (size_t j = 0; j < m; j++) {
            double d = tu_distance(kind, x + t * dim, y + j * dim, dim);
            double nj = est == ASDNORM_DENSITY_NONE ? (norm == ASDNORM_NORM_RATIO ? 1.0 : 0.0)
                                                    : density[j];
            double s = norm == ASDNORM_NORM_RATIO ? d / fmax(nj, floor)
                       : norm == ASDNORM_NORM_DIFFERENCE ? d - nj
                                                         : d;
            if (s < best) {
                best = s;
                arg = j;
            }
        }
        scores[t] = best;
        if (nearest)
            nearest[t] = arg;
    }
}

/* |a − b| ≤ rel · max(|a|, |b|) + abs_tol */
static inline int tu_close(double a, double b, double rel, double abs_tol)
{
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) + abs_tol;
}

#endif /* ASDNORM_TESTUTIL_H */
