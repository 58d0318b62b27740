/* SPDX-License-Identifier: MIT */
/* libasdnorm benchmark: the machine's limits and the library, on the same
 * shapes, in one run; every result printed as a ratio to its limit.
 *
 *   asdnorm-bench [reps [parts]]      issue 5's measurements (default 5 reps; parts
 *                                     b = bandwidth, 0/1/2 = the three shapes,
 *                                     s = scaling, t = thread independence; all)
 *   asdnorm-bench memcheck M D K      peak RSS of finalize (cosine, KNN K) for M × D
 *   asdnorm-bench scoremem M D N      peak RSS of scoring N tests against M × D
 *
 * Timings are medians over the repetitions. Limits:
 *  - sgemm: cblas_sgemm of the full product (N × M × D), computed as 1024-row
 *    strips into one reused buffer (an N × M result would not fit for M = 50,000),
 *  - sgemv: cblas_sgemv over the M × D references,
 *  - bandwidth: a streaming read (sum) and a memcpy of a 512 MiB buffer.
 * The data are a seeded Gaussian mixture (64 clusters), like embeddings. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "asdnorm/asdnorm.h"

/* OpenBLAS's thread control, when the BLAS is OpenBLAS (weak: absent elsewhere). */
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

static int REPS = 5;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU time of the whole process (all threads): robust to other load on the
 * machine when threads do not spin, so it is printed beside the wall time. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The median CPU time of the last timed measurement. */
static double last_cpu;

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static void check(asdnorm_status st, const char *what)
{
    if (st != ASDNORM_OK) {
        fprintf(stderr, "%s: %s\n", what, asdnorm_strerror(st));
        exit(1);
    }
}

/* splitmix64 + Box–Muller: reproducible Gaussian mixture. */
static uint64_t rng_state;
static double urand(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1p-53;
}
static double grand(void)
{
    return sqrt(-2.0 * log(urand())) * cos(6.283185307179586 * urand());
}

static float *make_data(size_t n, size_t d, uint64_t seed)
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

static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &v) == 1)
            break;
    if (f)
        fclose(f);
    if (v < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        v = ru.ru_maxrss;
    }
    return v;
}

/* ---- limits -------------------------------------------------------------- */

/* Median time of the full nq × m × d product (1024-row strips). */
static double time_sgemm(const float *Q, size_t nq, const float *Y, size_t m, size_t d)
{
    const size_t strip = 1024;
    float *C = xmalloc((nq < strip ? nq : strip) * m * sizeof *C);
    double t[64], c[64];
    for (int r = 0; r < REPS + 1; r++) {
        double t0 = now(), c0 = cpu_now();
        for (size_t i0 = 0; i0 < nq; i0 += strip) {
            size_t nb = nq - i0 < strip ? nq - i0 : strip;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)m, (int)d, 1.0f,
                        Q + i0 * d, (int)d, Y, (int)d, 0.0f, C, (int)m);
        }
        if (r > 0) /* first run warms up */
            t[r - 1] = now() - t0, c[r - 1] = cpu_now() - c0;
    }
    free(C);
    last_cpu = median(c, REPS);
    return median(t, REPS);
}

static double time_sgemv(const float *Y, size_t m, size_t d, const float *q)
{
    float *out = xmalloc(m * sizeof *out);
    double t[256], c[256];
    int reps = 101;
    for (int r = 0; r < reps + 5; r++) {
        double t0 = now(), c0 = cpu_now();
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)d, 1.0f, Y, (int)d, q, 1, 0.0f,
                    out, 1);
        if (r >= 5)
            t[r - 5] = now() - t0, c[r - 5] = cpu_now() - c0;
    }
    free(out);
    last_cpu = median(c, reps);
    return median(t, reps);
}

/* Streaming read and copy bandwidth over a 512 MiB buffer, bytes/s. */
static void bandwidth(double *read_bw, double *copy_bw)
{
    const size_t n = ((size_t)512 << 20) / sizeof(float);
    float *a = xmalloc(n * sizeof *a), *b = xmalloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(i & 1023), b[i] = 0.0f;
    double tr[64], tc[64];
    volatile float sink = 0;
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
#pragma omp parallel for reduction(+ : s0, s1, s2, s3, s4, s5, s6, s7) schedule(static)
        for (size_t i = 0; i < n; i += 8) {
            s0 += a[i], s1 += a[i + 1], s2 += a[i + 2], s3 += a[i + 3];
            s4 += a[i + 4], s5 += a[i + 5], s6 += a[i + 6], s7 += a[i + 7];
        }
        tr[r] = now() - t0;
        sink = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
        t0 = now();
        memcpy(b, a, n * sizeof *a);
        tc[r] = now() - t0;
    }
    (void)sink;
    *read_bw = (double)(n * sizeof *a) / median(tr, REPS);
    *copy_bw = 2.0 * (double)(n * sizeof *a) / median(tc, REPS);
    free(a);
    free(b);
}

/* ---- the library ------------------------------------------------------------ */

static asdnorm_index *build(const float *Y, size_t m, size_t d)
{
    asdnorm_index *ix;
    check(asdnorm_index_new(d, ASDNORM_DISTANCE_COSINE, &ix), "index_new");
    check(asdnorm_index_add(ix, Y, m, NULL), "index_add");
    return ix;
}

static double time_finalize(asdnorm_index *ix, size_t k)
{
    double t[64], c[64];
    for (int r = 0; r < REPS; r++) {
        double t0 = now(), c0 = cpu_now();
        check(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, (double)k), "finalize");
        t[r] = now() - t0, c[r] = cpu_now() - c0;
    }
    last_cpu = median(c, REPS);
    return median(t, REPS);
}

static double time_score(asdnorm_scorer *sc, const float *X, size_t n, float *s, int reps)
{
    double t[1024], c[1024];
    check(asdnorm_scorer_score(sc, X, n, s, NULL), "score"); /* warm-up */
    for (int r = 0; r < reps; r++) {
        double t0 = now(), c0 = cpu_now();
        check(asdnorm_scorer_score(sc, X, n, s, NULL), "score");
        t[r] = now() - t0, c[r] = cpu_now() - c0;
    }
    last_cpu = median(c, reps);
    return median(t, reps);
}

/* Least-squares slope of log t against log x. */
static double loglog_slope(const double *x, const double *t, int n)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        double a = log(x[i]), b = log(t[i]);
        sx += a, sy += b, sxx += a * a, sxy += a * b;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    if (openblas_set_num_threads)
        openblas_set_num_threads(n);
}

static int get_threads(void)
{
    int n = 1;
#ifdef _OPENMP
    n = omp_get_max_threads();
#endif
    return n;
}

struct shape {
    size_t m, n, d;
};

static void run_shape(struct shape s, int with_single)
{
    float *Y = make_data(s.m, s.d, 1), *X = make_data(s.n, s.d, 2);
    printf("\n== M = %zu, N = %zu, D = %zu (cosine) ==\n", s.m, s.n, s.d);

    /* Limits: the library's own inputs are normalized; the products are the same shape.
     * Each line: wall ms, CPU ms (all threads), and the ratio of each to its limit. */
    double t_mm = time_sgemm(Y, s.m, Y, s.m, s.d), c_mm = last_cpu;
    double t_nm = time_sgemm(X, s.n, Y, s.m, s.d), c_nm = last_cpu;
    double f_mm = 2.0 * (double)s.m * (double)s.m * (double)s.d;
    double f_nm = 2.0 * (double)s.n * (double)s.m * (double)s.d;
    printf("limit  sgemm M×M×D         wall %9.1f ms  cpu %9.1f ms  %6.1f GFLOP/s\n",
           1e3 * t_mm, 1e3 * c_mm, 1e-9 * f_mm / t_mm);
    printf("limit  sgemm N×M×D         wall %9.1f ms  cpu %9.1f ms  %6.1f GFLOP/s\n",
           1e3 * t_nm, 1e3 * c_nm, 1e-9 * f_nm / t_nm);

    asdnorm_index *ix = build(Y, s.m, s.d);
    double t_f1 = time_finalize(ix, 1), c_f1 = last_cpu;
    double t_f16 = time_finalize(ix, 16), c_f16 = last_cpu;
    printf("asdnorm finalize K=1       wall %9.1f ms  cpu %9.1f ms  = %5.3f (cpu %5.3f) × sgemm "
           "M×M×D  (target ≤ 0.6)\n", 1e3 * t_f1, 1e3 * c_f1, t_f1 / t_mm, c_f1 / c_mm);
    printf("asdnorm finalize K=16      wall %9.1f ms  cpu %9.1f ms  = %5.3f (cpu %5.3f) × sgemm "
           "M×M×D  (target ≤ 0.6)\n", 1e3 * t_f16, 1e3 * c_f16, t_f16 / t_mm, c_f16 / c_mm);

    asdnorm_scorer *sc;
    check(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), "scorer_new");
    float *scores = xmalloc(s.n * sizeof *scores);
    double t_sc = time_score(sc, X, s.n, scores, REPS), c_sc = last_cpu;
    printf("asdnorm score N×M          wall %9.1f ms  cpu %9.1f ms  = %5.3f (cpu %5.3f) of sgemm "
           "throughput  (target ≥ 0.9)\n", 1e3 * t_sc, 1e3 * c_sc, t_nm / t_sc, c_nm / c_sc);
    printf("asdnorm finalize K=16 + score       = %5.3f (cpu %5.3f) × (sgemm M×M×D + N×M×D)\n",
           (t_f16 + t_sc) / (t_mm + t_nm), (c_f16 + c_sc) / (c_mm + c_nm));

    if (with_single) {
        double t_gemv = time_sgemv(Y, s.m, s.d, X), c_gemv = last_cpu;
        double t_one = time_score(sc, X, 1, scores, 201), c_one = last_cpu;
        printf("limit  sgemv M×D           wall %9.3f ms  cpu %9.3f ms\n", 1e3 * t_gemv,
               1e3 * c_gemv);
        printf("asdnorm score N=1          wall %9.3f ms  cpu %9.3f ms  = %5.3f (cpu %5.3f) × "
               "sgemv  (target ≤ 1.25)\n", 1e3 * t_one, 1e3 * c_one, t_one / t_gemv,
               c_one / c_gemv);
    }
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    free(scores);
    free(X);
    free(Y);
}

/* Scaling: score time against N (M, D fixed) and against M·D (N fixed). */
static void run_scaling(void)
{
    printf("\n== scaling (cosine, KNN K=16, ratio) ==\n");
    const size_t D = 512, M = 10000;
    float *Y = make_data(M, D, 1), *X = make_data(10000, D, 2);
    asdnorm_index *ix = build(Y, M, D);
    check(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 16), "finalize");
    asdnorm_scorer *sc;
    check(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), "scorer_new");
    float *s = xmalloc(10000 * sizeof *s);
    double xs[4], ts[4];
    for (int i = 0; i < 4; i++) {
        size_t n = (size_t)1250 << i;
        xs[i] = (double)n;
        ts[i] = time_score(sc, X, n, s, REPS);
        printf("score N=%5zu M=%zu D=%zu  %9.3f ms\n", n, M, D, 1e3 * ts[i]);
    }
    printf("slope of log time vs log N:   %.3f (linear = 1)\n", loglog_slope(xs, ts, 4));
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);

    const size_t N = 2000;
    for (int i = 0; i < 4; i++) {
        size_t m = (size_t)2500 << i, d = i % 2 ? 256 : 512;
        asdnorm_index *jx = build(Y, m > M ? M : m, D);
        /* grow M past the data by adding it again: shapes matter, not content */
        for (size_t have = M; have < m; have += M)
            check(asdnorm_index_add(jx, Y, m - have < M ? m - have : M, NULL), "add");
        (void)d;
        check(asdnorm_index_finalize(jx, ASDNORM_DENSITY_NONE, 0), "finalize");
        check(asdnorm_scorer_new(jx, ASDNORM_NORM_RATIO, &sc), "scorer_new");
        xs[i] = (double)m * (double)D;
        ts[i] = time_score(sc, X, N, s, REPS);
        printf("score N=%zu M=%6zu D=%zu  %9.3f ms\n", N, m, D, 1e3 * ts[i]);
        asdnorm_scorer_free(sc);
        asdnorm_index_free(jx);
    }
    printf("slope of log time vs log M·D: %.3f (linear = 1)\n", loglog_slope(xs, ts, 4));
    free(s);
    free(X);
    free(Y);
}

/* Results identical whatever the thread count: 1 thread against the default. */
static void run_threads(void)
{
    const size_t M = 4000, N = 1000, D = 256;
    float *Y = make_data(M, D, 3), *X = make_data(N, D, 4);
    double *dens[2];
    float *sc_out[2];
    size_t *near[2];
    int nts[2] = {1, get_threads()};
    for (int t = 0; t < 2; t++) {
        set_threads(nts[t]);
        asdnorm_index *ix = build(Y, M, D);
        check(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 16), "finalize");
        dens[t] = xmalloc(M * sizeof(double));
        check(asdnorm_index_get_density(ix, dens[t], M), "density");
        asdnorm_scorer *sc;
        check(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), "scorer_new");
        sc_out[t] = xmalloc(N * sizeof(float));
        near[t] = xmalloc(N * sizeof(size_t));
        check(asdnorm_scorer_score(sc, X, N, sc_out[t], near[t]), "score");
        asdnorm_scorer_free(sc);
        asdnorm_index_free(ix);
    }
    set_threads(nts[1]);
    int same = !memcmp(dens[0], dens[1], M * sizeof(double)) &&
               !memcmp(sc_out[0], sc_out[1], N * sizeof(float)) &&
               !memcmp(near[0], near[1], N * sizeof(size_t));
    printf("\nthreads: results with 1 and %d threads (BLAS + OpenMP) bitwise %s\n", nts[1],
           same ? "IDENTICAL" : "DIFFERENT");
    for (int t = 0; t < 2; t++)
        free(dens[t]), free(sc_out[t]), free(near[t]);
    free(X);
    free(Y);
}

static int memcheck(size_t m, size_t d, size_t k)
{
    float *Y = make_data(m, d, 1);
    asdnorm_index *ix = build(Y, m, d);
    free(Y); /* the index holds its own copy */
    long before = peak_rss_kib();
    double t0 = now();
    check(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, (double)k), "finalize");
    double t = now() - t0;
    long after = peak_rss_kib();
    printf("memcheck finalize M=%zu D=%zu K=%zu: peak RSS %.1f MiB (before finalize %.1f MiB, "
           "index vectors %.1f MiB), %.2f s\n",
           m, d, k, (double)after / 1024.0, (double)before / 1024.0, (double)(m * d * 4) / 1048576.0, t);
    asdnorm_index_free(ix);
    return after < 512 * 1024 ? 0 : 2;
}

static int scoremem(size_t m, size_t d, size_t n)
{
    float *Y = make_data(m, d, 1);
    asdnorm_index *ix = build(Y, m, d);
    free(Y);
    check(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 16), "finalize");
    asdnorm_scorer *sc;
    check(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), "scorer_new");
    float *X = make_data(n, d, 2), *s = xmalloc(n * sizeof *s);
    memset(s, 0, n * sizeof *s);
    long before = peak_rss_kib();
    check(asdnorm_scorer_score(sc, X, n, s, NULL), "score");
    long after = peak_rss_kib();
    printf("scoremem M=%zu D=%zu N=%zu: peak RSS %.1f MiB, growth during scoring %.1f MiB "
           "(inputs+outputs %.1f MiB, allocated before)\n",
           m, d, n, (double)after / 1024.0, (double)(after - before) / 1024.0,
           (double)(n * d * 4 + n * 4) / 1048576.0);
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    free(X);
    free(s);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 5 && !strcmp(argv[1], "memcheck"))
        return memcheck(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10),
                        strtoull(argv[4], NULL, 10));
    if (argc == 5 && !strcmp(argv[1], "scoremem"))
        return scoremem(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10),
                        strtoull(argv[4], NULL, 10));
    if (argc > 1)
        REPS = atoi(argv[1]);
    /* optional second argument: which parts, e.g. "0", "02", "s" (scaling), "t" (threads), "b" */
    const char *parts = argc > 2 ? argv[2] : "b012st";
    if (REPS < 1 || REPS > 63) {
        fprintf(stderr, "usage: %s [reps] | memcheck M D K | scoremem M D N\n", argv[0]);
        return 2;
    }
    printf("libasdnorm %s benchmark: %d OpenMP threads, BLAS threads %d, medians of %d reps\n",
           asdnorm_version(), get_threads(),
           openblas_get_num_threads ? openblas_get_num_threads() : -1, REPS);

    double rbw = 1, cbw = 1;
    if (strchr(parts, 'b'))
        bandwidth(&rbw, &cbw);
    if (strchr(parts, 'b')) {
        printf("limit  memory bandwidth: read %.2f GB/s, copy %.2f GB/s (read+write)\n", 1e-9 * rbw,
               1e-9 * cbw);
        printf("       sgemv bound M=10000 D=512 by read bandwidth: %.3f ms\n",
               1e3 * 10000.0 * 512 * 4 / rbw);
    }

    const struct shape shapes[] = {{10000, 10000, 512}, {50000, 10000, 128}, {2000, 2000, 6144}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        if (strchr(parts, (int)('0' + i)))
            run_shape(shapes[i], i == 0);
    if (strchr(parts, 's'))
        run_scaling();
    if (strchr(parts, 't'))
        run_threads();
    return 0;
}
