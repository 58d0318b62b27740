/* SPDX-License-Identifier: MIT */
/* libasdnorm benchmark: the machine's limits and the library, on the same
 * shapes, in one run; every result printed as a ratio to its limit.
 *
 *   asdnorm-bench [reps [parts]]      issue 5's measurements (default 5 reps; parts
 *                                     b = bandwidth, 0/1/2 = the three shapes,
 *                                     s = scaling, t = thread independence; all)
 *   asdnorm-bench REPS f [M N D]      the data families (bench/families.h, and the
 *                                     Office-Caltech DeCAF features): finalize and
 *                                     scoring, K = 1 and 16, as ratios to sgemm and to
 *                                     the isotropic family (default 10000 10000 512)
 *   asdnorm-bench REPS m              score time against M on tight clusters
 *   asdnorm-bench memcheck M D K      peak RSS of finalize (cosine, KNN K) for M × D
 *   asdnorm-bench scoremem M D N      peak RSS of scoring N tests against M × D
 *
 * The library may set OpenBLAS to one thread while its own threads call it
 * (asdnorm_set_blas_control(1), as the asdnorm command does: a benchmark owns
 * its process); ASDNORM_BENCH_BLAS=default measures the library's default
 * instead (with OpenBLAS's own threads, the steps that call the BLAS run on
 * the calling thread: docs/embedding.md).
 *
 * Timings are medians over the repetitions; each repetition runs a limit and
 * the library back to back, and ratios are medians of per-repetition ratios
 * (with their range). Limits:
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
#include "common.h"
#include "families.h"

/* OpenBLAS's thread control, when the BLAS is OpenBLAS (weak: absent elsewhere). */
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

static int REPS = 5;

/* CPU time (common.h's cpu_now) is robust to other load on the machine when
 * threads do not spin, so it is printed beside the wall time. */

/* The median CPU time of the last timed measurement. */
static double last_cpu;

static void check(asdnorm_status st, const char *what)
{
    if (st != ASDNORM_OK) {
        fprintf(stderr, "%s: %s\n", what, asdnorm_strerror(st));
        exit(1);
    }
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

/* One timed call: wall and CPU seconds into *t and *c. */
#define TIMED(t, c, call)                                                       \
    do {                                                                        \
        double t0_ = now(), c0_ = cpu_now();                                    \
        call;                                                                   \
        *(t) = now() - t0_, *(c) = cpu_now() - c0_;                             \
    } while (0)

/* The limit: the full nq × m × d product, as 1024-row strips into one reused
 * buffer C (a 50,000 × 50,000 result would not fit). */
static void sgemm_strips(const float *Q, size_t nq, const float *Y, size_t m, size_t d, float *C)
{
    const size_t strip = 1024;
    for (size_t i0 = 0; i0 < nq; i0 += strip) {
        size_t nb = nq - i0 < strip ? nq - i0 : strip;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)m, (int)d, 1.0f,
                    Q + i0 * d, (int)d, Y, (int)d, 0.0f, C, (int)m);
    }
}

static void print_ratio(const char *what, const double *r, int n, const char *target)
{
    double v[256];
    memcpy(v, r, (size_t)n * sizeof *v);
    double med = median(v, n); /* sorts v */
    printf("   %-44s median %5.3f  (range %5.3f – %5.3f)  %s\n", what, med, v[0], v[n - 1],
           target);
}

/* Each repetition measures the limits and the library back to back (sgemm
 * M×M×D, finalize K = 1 and 16, sgemm N×M×D, scoring), so that a ratio compares
 * two runs made under the same conditions: the machine's speed drifts by
 * ±15 % over a minute (shared caches, memory, other tenants). The ratios are
 * the medians of the per-repetition ratios, with their range; the times are
 * medians. Single-sample scoring: see below. */
static void run_shape(struct shape s, int with_single)
{
    float *Y = make_data(s.m, s.d, 1), *X = make_data(s.n, s.d, 2);
    printf("\n== M = %zu, N = %zu, D = %zu (cosine) ==\n", s.m, s.n, s.d);
    const size_t strip = 1024;
    size_t rows = s.m > s.n ? s.m : s.n;
    float *C = xmalloc((rows < strip ? rows : strip) * s.m * sizeof *C);
    float *scores = xmalloc(s.n * sizeof *scores);
    asdnorm_index *ix = build(Y, s.m, s.d);
    asdnorm_scorer *sc;
    check(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), "scorer_new");

    enum { MM, F1, F16, NM, SC, NT_ };
    double t[NT_][64], c[NT_][64], r_f1[64], r_f16[64], r_sc[64], r_all[64];
    for (int r = -1; r < REPS; r++) { /* r = −1 warms up */
        double tt[NT_], cc[NT_];
        TIMED(&tt[MM], &cc[MM], sgemm_strips(Y, s.m, Y, s.m, s.d, C));
        TIMED(&tt[F1], &cc[F1],
              check(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1.0), "finalize"));
        TIMED(&tt[F16], &cc[F16],
              check(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 16.0), "finalize"));
        TIMED(&tt[NM], &cc[NM], sgemm_strips(X, s.n, Y, s.m, s.d, C));
        TIMED(&tt[SC], &cc[SC], check(asdnorm_scorer_score(sc, X, s.n, scores, NULL), "score"));
        if (r < 0)
            continue;
        for (int k = 0; k < NT_; k++)
            t[k][r] = tt[k], c[k][r] = cc[k];
        r_f1[r] = tt[F1] / tt[MM];
        r_f16[r] = tt[F16] / tt[MM];
        r_sc[r] = tt[NM] / tt[SC];
        r_all[r] = (tt[F16] + tt[SC]) / (tt[MM] + tt[NM]);
    }
    double f_mm = 2.0 * (double)s.m * (double)s.m * (double)s.d;
    double f_nm = 2.0 * (double)s.n * (double)s.m * (double)s.d;
    static const char *const name[NT_] = {"limit  sgemm M×M×D", "asdnorm finalize K=1",
                                          "asdnorm finalize K=16", "limit  sgemm N×M×D",
                                          "asdnorm score N×M"};
    for (int k = 0; k < NT_; k++) {
        double tm = median(t[k], REPS), cm = median(c[k], REPS);
        printf("%-26s wall %9.1f ms  cpu %9.1f ms", name[k], 1e3 * tm, 1e3 * cm);
        if (k == MM || k == NM)
            printf("  %6.1f GFLOP/s", 1e-9 * (k == MM ? f_mm : f_nm) / tm);
        printf("\n");
    }
    print_ratio("finalize K=1 / sgemm M×M×D", r_f1, REPS, "(target ≤ 0.6)");
    print_ratio("finalize K=16 / sgemm M×M×D", r_f16, REPS, "(target ≤ 0.6)");
    print_ratio("score: fraction of sgemm N×M×D throughput", r_sc, REPS, "(target ≥ 0.9)");
    print_ratio("finalize K=16 + score / both sgemms", r_all, REPS, "");

    if (with_single) {
        /* Alternating runs of 25 sgemv calls and 25 scoring calls, the first 5 of each
         * run warming the caches (the index holds its own copy of the references:
         * alternating single calls would stream both copies from memory). */
        enum { RUNS = 15, CALLS = 25, WARM = 5 };
        double tg[RUNS], to[RUNS], ro[RUNS], v[CALLS];
        float *out = xmalloc(s.m * sizeof *out);
        for (int r = 0; r < RUNS; r++) {
            double cpu;
            for (int k = 0; k < CALLS; k++)
                TIMED(&v[k], &cpu,
                      cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)s.m, (int)s.d, 1.0f, Y,
                                  (int)s.d, X + (size_t)k * s.d, 1, 0.0f, out, 1));
            tg[r] = median(v + WARM, CALLS - WARM);
            for (int k = 0; k < CALLS; k++)
                TIMED(&v[k], &cpu,
                      check(asdnorm_scorer_score(sc, X + (size_t)k * s.d, 1, scores, NULL),
                            "score"));
            to[r] = median(v + WARM, CALLS - WARM);
            ro[r] = to[r] / tg[r];
        }
        free(out);
        printf("%-26s wall %9.3f ms\n", "limit  sgemv M×D", 1e3 * median(tg, RUNS));
        printf("%-26s wall %9.3f ms\n", "asdnorm score N=1", 1e3 * median(to, RUNS));
        print_ratio("score N=1 / sgemv (runs of 20)", ro, RUNS, "(target ≤ 1.25)");
    }
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    free(C);
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

/* ---- data families (issue 12) ----------------------------------------------- */

/* A float32 .npy file (C or Fortran order, 2-d) into a new row-major array. */
static float *load_npy(const char *path, size_t *rows, size_t *cols)
{
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    if (!f || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fprintf(stderr, "%s: not a .npy file\n", path);
        exit(1);
    }
    const size_t hl = pre[8] | (size_t)pre[9] << 8;
    char *h = xmalloc(hl + 1);
    if (fread(h, 1, hl, f) != hl) {
        fprintf(stderr, "%s: short header\n", path);
        exit(1);
    }
    h[hl] = 0;
    const char *sh = strstr(h, "'shape': (");
    if (!strstr(h, "'<f4'") || !sh || sscanf(sh, "'shape': (%zu, %zu)", rows, cols) != 2) {
        fprintf(stderr, "%s: not a 2-d float32 array\n", path);
        exit(1);
    }
    const int fortran = strstr(h, "'fortran_order': True") != NULL;
    free(h);
    const size_t n = *rows * *cols;
    float *raw = xmalloc(n * sizeof *raw), *x = xmalloc(n * sizeof *x);
    if (fread(raw, sizeof *raw, n, f) != n) {
        fprintf(stderr, "%s: short data\n", path);
        exit(1);
    }
    fclose(f);
    for (size_t i = 0; i < *rows; i++)
        for (size_t k = 0; k < *cols; k++)
            x[i * *cols + k] = fortran ? raw[k * *rows + i] : raw[i * *cols + k];
    free(raw);
    return x;
}

#ifndef ASDNORM_TEST_DATA
#define ASDNORM_TEST_DATA "tests/data"
#endif

/* One family's measurements, medians over the repetitions. */
struct famres {
    double mm, nm, f[2], s[2];  /* sgemm M×M×D, N×M×D; finalize, score for K = 1, 16 */
    double rel[2];              /* (finalize + score) / (both sgemms), K = 1, 16 */
    double single, sgemv;       /* one test: scoring and sgemv */
};

static void run_family(const char *name, const float *Y, size_t m, const float *X, size_t n,
                       size_t d, struct famres *out)
{
    const size_t strip = 1024, rows = m > n ? m : n;
    float *C = xmalloc((rows < strip ? rows : strip) * m * sizeof *C);
    float *scores = xmalloc(n * sizeof *scores);
    asdnorm_index *ix = build(Y, m, d);
    asdnorm_scorer *sc;
    check(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), "scorer_new");
    static const double ks[2] = {1, 16};
    double mm[64], nm[64], f[2][64], s[2][64], rel[2][64];
    for (int r = -1; r < REPS; r++) { /* r = −1 warms up */
        double tmm, tnm, tf[2], ts[2], cpu;
        TIMED(&tmm, &cpu, sgemm_strips(Y, m, Y, m, d, C));
        TIMED(&tnm, &cpu, sgemm_strips(X, n, Y, m, d, C));
        for (int q = 0; q < 2; q++) {
            TIMED(&tf[q], &cpu,
                  check(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, ks[q]), "finalize"));
            TIMED(&ts[q], &cpu, check(asdnorm_scorer_score(sc, X, n, scores, NULL), "score"));
        }
        if (r < 0)
            continue;
        mm[r] = tmm, nm[r] = tnm;
        for (int q = 0; q < 2; q++) {
            f[q][r] = tf[q], s[q][r] = ts[q];
            rel[q][r] = (tf[q] + ts[q]) / (tmm + tnm);
        }
    }
    out->mm = median(mm, REPS), out->nm = median(nm, REPS);
    for (int q = 0; q < 2; q++) {
        out->f[q] = median(f[q], REPS), out->s[q] = median(s[q], REPS);
        out->rel[q] = median(rel[q], REPS);
    }
    /* One test: alternating runs of sgemv and scoring calls (see run_shape). */
    enum { RUNS = 7, CALLS = 25, WARM = 5 };
    double tg[RUNS], to[RUNS], v[CALLS], cpu;
    float *o = xmalloc(m * sizeof *o);
    for (int r = 0; r < RUNS; r++) {
        for (int k = 0; k < CALLS; k++)
            TIMED(&v[k], &cpu,
                  cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)d, 1.0f, Y, (int)d,
                              X + (size_t)(k % n) * d, 1, 0.0f, o, 1));
        tg[r] = median(v + WARM, CALLS - WARM);
        for (int k = 0; k < CALLS; k++)
            TIMED(&v[k], &cpu,
                  check(asdnorm_scorer_score(sc, X + (size_t)(k % n) * d, 1, scores, NULL),
                        "score"));
        to[r] = median(v + WARM, CALLS - WARM);
    }
    out->sgemv = median(tg, RUNS), out->single = median(to, RUNS);
    free(o);
    printf("%-8s %7.1f %7.1f | %7.1f %7.1f %7.1f %7.1f | %6.3f %6.3f | %7.3f %7.3f\n", name,
           1e3 * out->mm, 1e3 * out->nm, 1e3 * out->f[0], 1e3 * out->s[0], 1e3 * out->f[1],
           1e3 * out->s[1], out->rel[0], out->rel[1], 1e3 * out->single,
           out->single / out->sgemv);
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    free(C);
    free(scores);
}

/* Every family at M × D references and N tests (cosine, k-NN, ratio), then the
 * DeCAF features (references: DSLR, tests: webcam, D = 4,096). The ratio to the
 * isotropic family is taken between sgemm-relative times, so that the
 * machine's drift between two families does not enter it. */
static void run_families(size_t m, size_t n, size_t d)
{
    printf("\n== data families: M = %zu, N = %zu, D = %zu (cosine, k-NN, ratio; ms, medians "
           "of %d) ==\n",
           m, n, d, REPS);
    printf("%-8s %7s %7s | %7s %7s %7s %7s | %6s %6s | %7s %7s | %s\n", "family", "sgemmMM",
           "sgemmNM", "fin K1", "scoreK1", "fin K16", "scorK16", "rel K1", "relK16", "1 test",
           "/sgemv", "vs iso K1 / K16 (target ≤ 1.3)");
    struct famres iso = {0};
    float *Y = xmalloc(m * d * sizeof *Y), *X = xmalloc(n * d * sizeof *X);
    for (int f = 0; f < FAM_COUNT; f++) {
        family_fill((enum family)f, Y, m, d, 64, 1, NULL, 0);
        family_fill((enum family)f, X, n, d, 64, 2, Y, m);
        struct famres r;
        run_family(family_name[f], Y, m, X, n, d, &r);
        if (f == FAM_ISO)
            iso = r;
        printf("%-8s vs iso: K=1 %.3f, K=16 %.3f   (rel = (finalize + score) / (both sgemms))\n",
               "", r.rel[0] / iso.rel[0], r.rel[1] / iso.rel[1]);
    }
    free(Y);
    free(X);
    size_t my, dy, nx, dx;
    float *DY = load_npy(ASDNORM_TEST_DATA "/office-caltech10/decaf_dslr_x.npy", &my, &dy);
    float *DX = load_npy(ASDNORM_TEST_DATA "/office-caltech10/decaf_webcam_x.npy", &nx, &dx);
    if (dy != dx) {
        fprintf(stderr, "decaf: dimensions differ\n");
        exit(1);
    }
    struct famres r;
    run_family("decaf", DY, my, DX, nx, dy, &r);
    free(DY);
    free(DX);
}

/* Score time against M on tight clusters (N, D fixed): the slope of log time. */
static void run_tight_scaling(void)
{
    const size_t N = 2000, D = 512;
    printf("\n== tight clusters (tight4), score time against M: N = %zu, D = %zu ==\n", N, D);
    float *X = xmalloc(N * D * sizeof *X), *s = xmalloc(N * sizeof *s);
    double xs[4], ts[4];
    for (int i = 0; i < 4; i++) {
        const size_t m = (size_t)2500 << i;
        float *Y = xmalloc(m * D * sizeof *Y);
        family_fill(FAM_TIGHT4, Y, m, D, 64, 1, NULL, 0);
        family_fill(FAM_TIGHT4, X, N, D, 64, 2, Y, m);
        asdnorm_index *ix = build(Y, m, D);
        check(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 16), "finalize");
        asdnorm_scorer *sc;
        check(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), "scorer_new");
        xs[i] = (double)m;
        ts[i] = time_score(sc, X, N, s, REPS);
        printf("score N=%zu M=%6zu  %9.3f ms\n", N, m, 1e3 * ts[i]);
        asdnorm_scorer_free(sc);
        asdnorm_index_free(ix);
        free(Y);
    }
    printf("slope of log time vs log M: %.3f (target ≤ 1.1)\n", loglog_slope(xs, ts, 4));
    free(X);
    free(s);
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
    /* The scorer's workspaces (one per thread, allocated by scorer_new) become
     * resident when first used: the first call's growth is bounded by their
     * size whatever N; a second call must not grow at all. */
    long before = peak_rss_kib();
    check(asdnorm_scorer_score(sc, X, n, s, NULL), "score");
    long after = peak_rss_kib();
    check(asdnorm_scorer_score(sc, X, n, s, NULL), "score");
    long again = peak_rss_kib();
    printf("scoremem M=%zu D=%zu N=%zu: peak RSS %.1f MiB, growth during the first scoring "
           "%.1f MiB (workspaces touched), during the second %.1f MiB "
           "(inputs+outputs %.1f MiB, allocated before)\n",
           m, d, n, (double)again / 1024.0, (double)(after - before) / 1024.0,
           (double)(again - after) / 1024.0, (double)(n * d * 4 + n * 4) / 1048576.0);
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
    const size_t fm = argc > 5 ? strtoull(argv[3], NULL, 10) : 10000;
    const size_t fn = argc > 5 ? strtoull(argv[4], NULL, 10) : 10000;
    const size_t fd = argc > 5 ? strtoull(argv[5], NULL, 10) : 512;
    if (REPS < 1 || REPS > 63) {
        fprintf(stderr, "usage: %s [reps [parts [M N D]]] | memcheck M D K | scoremem M D N\n",
                argv[0]);
        return 2;
    }
    const char *mode = getenv("ASDNORM_BENCH_BLAS");
    const int control = !mode || strcmp(mode, "default") != 0;
    check(asdnorm_set_blas_control(control), "set_blas_control");
    printf("libasdnorm %s benchmark: %d OpenMP threads, BLAS threads %d, medians of %d reps, "
           "%s\n",
           asdnorm_version(), get_threads(),
           openblas_get_num_threads ? openblas_get_num_threads() : -1, REPS,
           control ? "asdnorm_set_blas_control(1)" : "the library's default BLAS mode");

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
    if (strchr(parts, 'f'))
        run_families(fm, fn, fd);
    if (strchr(parts, 'm'))
        run_tight_scaling();
    return 0;
}
