/* SPDX-License-Identifier: MIT */
/* The progress callback on a large finalize and a large batch score: how many calls,
 * the largest gap between two calls (the header promises at most one unit of the
 * calling thread's work, docs/embedding.md), in wall time and in the calling
 * thread's CPU time (its work: on a busy machine the wall time also counts the
 * time other processes took the core), and the CPU time with a callback against
 * the CPU time without in the same run (the cost of reporting).
 *
 *   OPENBLAS_NUM_THREADS=1 asdnorm-progress-gap [M [DIM [THREADS]]]   default 20000 128 1
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <asdnorm/asdnorm.h>

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of the whole process (every thread's work). */
static double cpu(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

typedef struct {
    size_t calls;
    double last_t, last_c, max_gap, max_gap_at, max_cpu_gap;
} gaps;

static void gaps_start(gaps *g)
{
    *g = (gaps){0};
    g->last_t = now();
    g->last_c = clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static int on_progress(double fraction, void *user)
{
    gaps *g = user;
    const double t = now(), c = clock_s(CLOCK_THREAD_CPUTIME_ID);
    if (t - g->last_t > g->max_gap) {
        g->max_gap = t - g->last_t;
        g->max_gap_at = fraction;
    }
    if (c - g->last_c > g->max_cpu_gap)
        g->max_cpu_gap = c - g->last_c;
    g->last_t = t;
    g->last_c = c;
    g->calls++;
    return 0;
}

static float *gauss(size_t n, size_t dim, uint64_t seed)
{
    float *x = malloc(n * dim * sizeof *x);
    uint64_t s = seed;
    for (size_t i = 0; i < n * dim; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        /* a sum of uniforms: roughly normal, cheap */
        double u = (double)((s >> 11) & 0xfffff) / 0x100000 + (double)(s >> 44) / 0x100000;
        x[i] = (float)(u - 1.0);
    }
    return x;
}

int main(int argc, char **argv)
{
    const size_t m = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    const size_t dim = argc > 2 ? strtoul(argv[2], NULL, 10) : 128;
    const unsigned threads = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1;
    float *x = gauss(m, dim, 1);
    asdnorm_index *ix = NULL;
    if (asdnorm_index_new(dim, ASDNORM_DISTANCE_COSINE, &ix) != ASDNORM_OK ||
        asdnorm_index_add(ix, x, m, NULL) != ASDNORM_OK ||
        asdnorm_index_set_threads(ix, threads) != ASDNORM_OK)
        return 1;

    double c0 = cpu();
    if (asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 5) != ASDNORM_OK)
        return 1;
    const double plain = cpu() - c0;
    gaps g;
    asdnorm_index_set_progress(ix, on_progress, &g);
    c0 = cpu();
    gaps_start(&g);
    if (asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 5) != ASDNORM_OK)
        return 1;
    const double with = cpu() - c0;
    printf("finalize %zu × %zu, threads %u: CPU %.2f s without a callback, %.2f s with "
           "(ratio %.3f); %zu calls, largest gap %.1f ms of the calling thread's CPU time, "
           "%.1f ms wall (before fraction %.3f)\n",
           m, dim, threads, plain, with, with / plain, g.calls, 1e3 * g.max_cpu_gap,
           1e3 * g.max_gap, g.max_gap_at);

    asdnorm_scorer *sc = NULL;
    float *q = gauss(m, dim, 2), *scores = malloc(m * sizeof *scores);
    if (asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc) != ASDNORM_OK ||
        asdnorm_scorer_set_threads(sc, threads) != ASDNORM_OK)
        return 1;
    c0 = cpu();
    if (asdnorm_scorer_score(sc, q, m, scores, NULL) != ASDNORM_OK)
        return 1;
    const double splain = cpu() - c0;
    asdnorm_scorer_set_progress(sc, on_progress, &g);
    c0 = cpu();
    gaps_start(&g);
    if (asdnorm_scorer_score(sc, q, m, scores, NULL) != ASDNORM_OK)
        return 1;
    const double swith = cpu() - c0;
    printf("score %zu tests against %zu × %zu, threads %u: CPU %.2f s without a callback, "
           "%.2f s with (ratio %.3f); %zu calls, largest gap %.1f ms of the calling thread's "
           "CPU time, %.1f ms wall (before fraction %.3f)\n",
           m, m, dim, threads, splain, swith, swith / splain, g.calls, 1e3 * g.max_cpu_gap,
           1e3 * g.max_gap, g.max_gap_at);
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    free(x);
    free(q);
    free(scores);
    return 0;
}
