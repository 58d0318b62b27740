/* SPDX-License-Identifier: MIT */
/* What the benchmark programs share: a monotonic clock, a CPU clock, medians, and the
 * seeded data (a 64-cluster Gaussian mixture, like embeddings). */
#ifndef ASDNORM_BENCH_COMMON_H
#define ASDNORM_BENCH_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The CPU time of the whole process, all threads. */
static inline double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* splitmix64 + Box–Muller: reproducible Gaussian mixture. */
static uint64_t rng_state;
static inline double urand(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1p-53;
}
static inline double grand(void)
{
    return sqrt(-2.0 * log(urand())) * cos(6.283185307179586 * urand());
}

static inline float *make_data(size_t n, size_t d, uint64_t seed)
{
    enum { C = 64 };
    rng_state = 12345; /* same centers for references and tests */
    float *ctr = xmalloc(C * d * sizeof *ctr);
    for (size_t i = 0; i < C * d; i++)
        ctr[i] = (float)grand();
    rng_state = seed;
    float *x = xmalloc(n * d * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)(urand() * C) % C;
        for (size_t k = 0; k < d; k++)
            x[i * d + k] = ctr[c * d + k] + 0.7f * (float)grand();
    }
    free(ctr);
    return x;
}

#endif /* ASDNORM_BENCH_COMMON_H */
