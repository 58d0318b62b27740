/* SPDX-License-Identifier: MIT */
/* Scoring (docs/math.md §2.3): s(x) = min_j norm(d(x, y_j), n_j).
 *
 * Tests are processed in blocks of ROWS against references in blocks of COLS:
 * one sgemm (sgemv for a single test) gives the block's dot products, then one
 * pass over the block turns each into its float distance d̃ ± e (e its rigorous
 * error bound, distance.c) and into bounds [lb, ub] on the normalized score,
 * keeps U = min ub and the TOP smallest lb per test, so the N × M matrix never
 * exists. Every candidate with lb ≤ U may be the true minimum; those are
 * rescored exactly in double and the best is reported (ties to the lower position). When more than TOP references
 * are within rounding of the minimum (clusters tighter than float resolution),
 * the row is rescanned and every one of them is rescored: the result is exact
 * either way, only slower for such rows.
 * A batch is split into groups of up to ROWS tests, each scored whole by one
 * thread (its own workspace, single-threaded BLAS calls: threads.c), so the
 * scan and refinement run on every core and only one pool of threads is busy.
 * All memory is allocated in asdnorm_scorer_new (and asdnorm_scorer_set_threads),
 * one workspace per thread of at most about 8 MiB whatever the dimension (the
 * group height shrinks as it grows): scoring allocates nothing. */
#include <float.h>
#include <limits.h>
#include <math.h>

#include "internal.h"

#define ROWS 512
#define COLS 2048
#define TOP 16
#define CHUNK 64 /* references per cheap-reject chunk in scan_block */
#define Q_BYTES ((size_t)ROWS * COLS * sizeof(float)) /* a group's queries, at most */

/* One thread's buffers: a group of up to rows ≤ ROWS tests is scored by one thread. */
struct work {
    float *Q;      /* rows × dim prepared queries */
    float *qaux;   /* rows */
    double *qnorm; /* rows */
    float *block;  /* ROWS · COLS dot products (asdnorm__block_dots); after the scan,
                    * one test's float distances for rescan_row */
    float *coef;   /* COLS per-reference normalization terms */
    float *topv;   /* rows × TOP lower bounds, ascending */
    size_t *topj;  /* rows × TOP positions */
    float *upper;  /* rows: least upper bound seen */
};

struct asdnorm_scorer {
    const asdnorm_index *ix;
    asdnorm_norm norm;
    size_t dim;
    size_t rows;     /* tests per group: ROWS, fewer when their queries exceed Q_BYTES */
    int threads;     /* asdnorm_scorer_set_threads (0: the default) */
    int nw;          /* workspaces */
    struct work *w;
};

static bool work_alloc(struct work *w, size_t dim, size_t rows)
{
    w->Q = asdnorm__mallocn(rows * dim, sizeof *w->Q);
    w->qaux = asdnorm__mallocn(rows, sizeof *w->qaux);
    w->qnorm = asdnorm__mallocn(rows, sizeof *w->qnorm);
    w->block = asdnorm__mallocn((size_t)ROWS * COLS, sizeof *w->block);
    w->coef = asdnorm__mallocn(COLS, sizeof *w->coef);
    w->topv = asdnorm__mallocn(rows * TOP, sizeof *w->topv);
    w->topj = asdnorm__mallocn(rows * TOP, sizeof *w->topj);
    w->upper = asdnorm__mallocn(rows, sizeof *w->upper);
    return w->Q && w->qaux && w->qnorm && w->block && w->coef && w->topv && w->topj &&
           w->upper;
}

static void work_free(struct work *w)
{
    asdnorm__free(w->Q);
    asdnorm__free(w->qaux);
    asdnorm__free(w->qnorm);
    asdnorm__free(w->block);
    asdnorm__free(w->coef);
    asdnorm__free(w->topv);
    asdnorm__free(w->topj);
    asdnorm__free(w->upper);
}

/* Make the scorer's workspaces nw: the new ones allocated first, so that a
 * failure changes nothing. */
static asdnorm_status resize_work(asdnorm_scorer *sc, int nw)
{
    if (nw == sc->nw)
        return ASDNORM_OK;
    struct work *w = asdnorm__calloc((size_t)nw, sizeof *w);
    if (!w)
        return ASDNORM_E_NOMEM;
    for (int t = sc->nw; t < nw; t++)
        if (!work_alloc(&w[t], sc->dim, sc->rows)) {
            for (int u = sc->nw; u <= t; u++)
                work_free(&w[u]);
            asdnorm__free(w);
            return ASDNORM_E_NOMEM;
        }
    for (int t = 0; t < sc->nw; t++) {
        if (t < nw)
            w[t] = sc->w[t];
        else
            work_free(&sc->w[t]);
    }
    asdnorm__free(sc->w);
    sc->w = w;
    sc->nw = nw;
    return ASDNORM_OK;
}

asdnorm_status asdnorm_scorer_new(const asdnorm_index *ix, asdnorm_norm norm,
                                  asdnorm_scorer **out)
{
    if (!out)
        return ASDNORM_E_NULL;
    *out = NULL;
    if (!ix)
        return ASDNORM_E_NULL;
    if (norm != ASDNORM_NORM_NONE && norm != ASDNORM_NORM_RATIO &&
        norm != ASDNORM_NORM_DIFFERENCE)
        return ASDNORM_E_ENUM;
    /* The BLAS takes int dimensions. */
    if (ix->dim > INT_MAX)
        return ASDNORM_E_OVERFLOW;
    asdnorm_scorer *sc = asdnorm__calloc(1, sizeof *sc);
    if (!sc)
        return ASDNORM_E_NOMEM;
    sc->ix = ix;
    sc->norm = norm;
    sc->dim = ix->dim;
    const size_t rows = Q_BYTES / (ix->dim * sizeof(float));
    sc->rows = rows < 1 ? 1 : rows > ROWS ? ROWS : rows;
    asdnorm_status st = resize_work(sc, asdnorm__threads_planned());
    if (st != ASDNORM_OK) {
        asdnorm__free(sc);
        return st;
    }
    *out = sc;
    return ASDNORM_OK;
}

asdnorm_status asdnorm_scorer_set_threads(asdnorm_scorer *sc, unsigned threads)
{
    if (!sc)
        return ASDNORM_E_NULL;
    if (threads > ASDNORM_MAX_THREADS)
        return ASDNORM_E_ARG;
    const int prev = asdnorm__call_threads((int)threads);
    const int nw = asdnorm__threads_planned();
    asdnorm__call_threads(prev);
    asdnorm_status st = resize_work(sc, nw);
    if (st == ASDNORM_OK)
        sc->threads = (int)threads;
    return st;
}

void asdnorm_scorer_free(asdnorm_scorer *sc)
{
    if (!sc)
        return;
    for (int t = 0; t < sc->nw; t++)
        work_free(&sc->w[t]);
    asdnorm__free(sc->w);
    asdnorm__free(sc);
}

/* The normalization actually applied: with no density estimator every
 * normalization reduces to the plain distance (n_j = 1 or 0). */
static asdnorm_norm effective_norm(const asdnorm_scorer *sc)
{
    return sc->ix->estimator == ASDNORM_DENSITY_NONE ? ASDNORM_NORM_NONE : sc->norm;
}

static double normalize(const asdnorm_index *ix, asdnorm_norm norm, double d, double n)
{
    switch (norm) {
    case ASDNORM_NORM_RATIO: return d / asdnorm__ratio_den(ix, n);
    case ASDNORM_NORM_DIFFERENCE: return d - n;
    case ASDNORM_NORM_NONE: break;
    }
    return d;
}

/* Offer reference j with score bounds [lb, ub] to a row: lower its least upper
 * bound, and keep j among the TOP smallest lower bounds if it can still win. */
static inline void offer(float *tv, size_t *tj, float *U, float lb, float ub, size_t j)
{
    if (ub < *U)
        *U = ub;
    if (!(lb < tv[TOP - 1]) || lb > *U)
        return;
    size_t p = TOP - 1;
    while (p > 0 && lb < tv[p - 1]) {
        tv[p] = tv[p - 1];
        tj[p] = tj[p - 1];
        p--;
    }
    tv[p] = lb;
    tj[p] = j;
}

/* The widening that covers the float coefficients' rounding in score_bounds. */
static const float wide = 1.0f + 0x1p-22f;

/* Bounds [*lo, *hi] on the normalized score of a float distance d with error
 * scale E; coef is P/max(n_j, φ) (ratio, P of fill_coef) or n_j (difference). The float
 * coefficients carry their own rounding (relative 2⁻²⁴), covered by `wide`. */
static inline void score_bounds(const asdnorm_index *ix, asdnorm_norm norm, float E, float d,
                                float coef, float *lo, float *hi)
{
    const float e = asdnorm__err(ix, E, d);
    *lo = d - e;
    *hi = d + e;
    if (norm == ASDNORM_NORM_RATIO) {
        *lo = *lo * coef / wide;
        *hi = *hi * coef * wide;
    } else if (norm == ASDNORM_NORM_DIFFERENCE) {
        *lo -= coef * wide;
        *hi -= coef / wide;
    }
}

static void fill_coef(const asdnorm_index *ix, asdnorm_norm norm, size_t j0, size_t mb,
                      float *coef)
{
    const double *dens = ix->density;
    if (norm == ASDNORM_NORM_RATIO) {
        /* The float pass compares ratio scores times a power of two P: 1, or
         * less when φ < 2⁻¹⁰⁰, so that P/φ stays a float (ranks, and which
         * bounds reach U, do not change with P). */
        const double unit = ix->floor < 0x1p-100 ? ldexp(1.0, ilogb(ix->floor) + 100) : 1.0;
        for (size_t j = 0; j < mb; j++)
            coef[j] = (float)(unit / asdnorm__ratio_den(ix, dens[j0 + j]));
    } else if (norm == ASDNORM_NORM_DIFFERENCE)
        for (size_t j = 0; j < mb; j++)
            coef[j] = (float)dens[j0 + j];
    else
        for (size_t j = 0; j < mb; j++)
            coef[j] = 1.0f;
}

/* One pass over a block of dot products (asdnorm__block_dots): each chunk of
 * CHUNK references is turned into float distances in a small local buffer (the
 * same d̃, bitwise, as asdnorm__block_distances gives), cheaply rejected, and
 * only then offered; the block is read once and never rewritten. */
static void scan_block(const asdnorm_index *ix, struct work *w, asdnorm_norm norm,
                       const float *block, size_t nb, size_t j0, size_t mb, size_t ld)
{
    const float *coef = w->coef;
    const float *aux = ix->aux + j0;
    const asdnorm_distance distance = ix->distance;
    const float mse_scale = 1.0f / (float)ix->dim;
    fill_coef(ix, norm, j0, mb, w->coef);
    const float aux_max = asdnorm__aux_max(ix, j0, mb);

    for (size_t i = 0; i < nb; i++) {
        const float *dots = block + i * ld;
        const float qa = w->qaux[i];
        float *tv = w->topv + i * TOP;
        size_t *tj = w->topj + i * TOP;
        float *U = w->upper + i;
        const float E = asdnorm__error_scale(ix, qa, aux_max);
        /* cap ≥ asdnorm__err(ix, E, d) for every d: E, or √E under euclidean
         * (E/d < √E when d > √E), widened for the rounding of √ and /. With it
         * the lower bound of score_bounds is at least low(d − cap), which a
         * branch-free (vectorized) pass compares with U for a chunk of CHUNK
         * references at a time: a chunk none of whose lower bounds can reach
         * U can neither lower U nor enter the TOP list, and is skipped. */
        const float cap = distance == ASDNORM_DISTANCE_EUCLIDEAN
                              ? sqrtf(E) * (1.0f + 0x1p-20f)
                              : E;
        float row[CHUNK];
        for (size_t c0 = 0; c0 < mb; c0 += CHUNK) {
            const size_t n = mb - c0 < CHUNK ? mb - c0 : CHUNK;
            const float *cf = coef + c0;
            asdnorm__chunk_dist(distance, dots + c0, aux + c0, qa, mse_scale, n, row);
            const float u = *U;
            int any = 0;
            if (norm == ASDNORM_NORM_RATIO)
                for (size_t t = 0; t < n; t++)
                    any |= (row[t] - cap) * cf[t] / wide <= u;
            else if (norm == ASDNORM_NORM_DIFFERENCE)
                for (size_t t = 0; t < n; t++)
                    any |= (row[t] - cap) - cf[t] * wide <= u;
            else
                for (size_t t = 0; t < n; t++)
                    any |= row[t] - cap <= u;
            if (!any)
                continue;
            for (size_t t = 0; t < n; t++) {
                float lo, hi;
                score_bounds(ix, norm, E, row[t], cf[t], &lo, &hi);
                offer(tv, tj, U, lo, hi, j0 + c0 + t);
            }
        }
    }
}

/* Row i's TOP list overflowed: rescore exactly every reference whose lower
 * bound does not exceed U, recomputing the row's float distances block by block. */
static double rescan_row(const asdnorm_index *ix, struct work *w, asdnorm_norm norm, size_t i,
                         const float *xi, size_t *arg)
{
    const size_t m = ix->size;
    const float U = w->upper[i];
    double best = INFINITY;
    /* The group's scan is over: its block and coefficient buffers are free. */
    float *dist = w->block;
    for (size_t j0 = 0; j0 < m; j0 += COLS) {
        const size_t mb = m - j0 < COLS ? m - j0 : COLS;
        asdnorm__block_distances(ix, w->Q + i * ix->dim, w->qaux + i, 1, j0, mb, dist, mb);
        const float E = asdnorm__error_scale(ix, w->qaux[i], asdnorm__aux_max(ix, j0, mb));
        fill_coef(ix, norm, j0, mb, w->coef);
        for (size_t j = 0; j < mb; j++) {
            float lo, hi;
            score_bounds(ix, norm, E, dist[j], w->coef[j], &lo, &hi);
            if (lo > U)
                continue;
            double d = asdnorm__exact_distance(ix, xi, w->qnorm[i], j0 + j);
            double s = normalize(ix, norm, d, ix->density[j0 + j]);
            if (s < best) { /* ascending j: ties keep the lower position */
                best = s;
                *arg = j0 + j;
            }
        }
    }
    return best;
}

/* Every candidate of each test (lower bound ≤ U) rescored exactly in double;
 * the best, ties to the lower position, is the test's score. */
static void refine(const asdnorm_index *ix, struct work *w, asdnorm_norm norm, const float *x,
                   size_t nb, float *scores, size_t *nearest)
{
    for (size_t i = 0; i < nb; i++) {
        const float *tv = w->topv + i * TOP;
        const size_t *tj = w->topj + i * TOP;
        double best = INFINITY;
        size_t arg = tj[0];
        if (tv[TOP - 1] <= w->upper[i]) {
            /* overflowed: more than TOP references within rounding of the minimum */
            best = rescan_row(ix, w, norm, i, x + i * ix->dim, &arg);
        } else {
            for (size_t t = 0; t < TOP && tv[t] <= w->upper[i]; t++) {
                size_t j = tj[t];
                double d = asdnorm__exact_distance(ix, x + i * ix->dim, w->qnorm[i], j);
                double s = normalize(ix, norm, d, ix->density[j]);
                if (s < best || (s == best && j < arg)) {
                    best = s;
                    arg = j;
                }
            }
        }
        /* A ratio beyond float's range (a test sample ~10²⁶ times farther
         * than the references' scale) is reported as FLT_MAX, never +inf. */
        scores[i] = best < FLT_MAX ? (float)best : FLT_MAX;
        if (nearest)
            nearest[i] = arg;
    }
}

/* Score nb ≤ ROWS tests with one workspace: the whole job of one thread. */
static void score_group(const asdnorm_index *ix, struct work *w, asdnorm_norm norm,
                        const float *xb, size_t nb, float *scores, size_t *nearest)
{
    const size_t m = ix->size;
    /* A single test is a matrix–vector product: give it the whole buffer. */
    const size_t cols = nb == 1 ? (size_t)ROWS * COLS : COLS;
    asdnorm__prepare_queries(ix, xb, nb, w->Q, w->qaux, w->qnorm);
    for (size_t i = 0; i < nb * TOP; i++) {
        w->topv[i] = INFINITY;
        w->topj[i] = 0;
    }
    for (size_t i = 0; i < nb; i++)
        w->upper[i] = INFINITY;
    for (size_t j0 = 0; j0 < m; j0 += cols) {
        const size_t mb = m - j0 < cols ? m - j0 : cols;
        asdnorm__block_dots(ix, w->Q, nb, j0, mb, w->block, mb);
        for (size_t c = 0; c < mb; c += COLS)
            scan_block(ix, w, norm, w->block + c, nb, j0 + c, mb - c < COLS ? mb - c : COLS, mb);
    }
    refine(ix, w, norm, xb, nb, scores, nearest);
}

static asdnorm_status score(asdnorm_scorer *sc, const float *x, size_t n, float *scores,
                            size_t *nearest)
{
    if (n == 0)
        return ASDNORM_OK;
    if (!x || !scores)
        return ASDNORM_E_NULL;
    const asdnorm_index *ix = sc->ix;
    if (!ix->finalized)
        return ASDNORM_E_STATE;
    if (!asdnorm__rows_fit(n, ix->dim))
        return ASDNORM_E_OVERFLOW;
    asdnorm_status st = asdnorm__check_rows(x, n, ix->dim, ix->distance, NULL);
    if (st != ASDNORM_OK)
        return st;

    const asdnorm_norm norm = effective_norm(sc);
    const size_t m = ix->size, dim = ix->dim, rows = sc->rows;
    int nt = asdnorm__threads();
    nt = nt < sc->nw ? nt : sc->nw;
    if (nt > 1 && (n < 2 || n * m * dim < ASDNORM_PARALLEL_WORK))
        nt = 1;
    bool serial;
    nt = asdnorm__blas_begin(nt, &serial);
    if (nt == 0)
        return ASDNORM_E_NOMEM;
    if (nt == 1) {
        /* One test (a matrix–vector product, the BLAS's own threads split it),
         * or too little work to share: the calling thread alone. */
        for (size_t r0 = 0; r0 < n; r0 += rows) {
            const size_t nb = n - r0 < rows ? n - r0 : rows;
            score_group(ix, &sc->w[0], norm, x + r0 * dim, nb, scores + r0,
                        nearest ? nearest + r0 : NULL);
        }
        asdnorm__blas_end(nt, serial);
        return ASDNORM_OK;
    }
    /* Groups of tests, each scored whole by one thread with a single-threaded
     * BLAS call per block: one pool of threads, no switching between the
     * library's threads and the BLAS's (threads.c). A test's result does not
     * depend on its group, so not on the thread count either. */
    size_t g;
    const size_t groups = asdnorm__split_rows(n, rows, (size_t)nt, &g);
#pragma omp parallel num_threads(nt)
    {
        struct work *w = &sc->w[asdnorm__thread_id()];
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < groups; q++) {
            const size_t r0 = q * g, nb = n - r0 < g ? n - r0 : g;
            score_group(ix, w, norm, x + r0 * dim, nb, scores + r0,
                        nearest ? nearest + r0 : NULL);
        }
    }
    asdnorm__blas_end(nt, serial);
    return ASDNORM_OK;
}

asdnorm_status asdnorm_scorer_score(asdnorm_scorer *sc, const float *x, size_t n, float *scores,
                                    size_t *nearest)
{
    if (!sc)
        return ASDNORM_E_NULL;
    const int prev = asdnorm__call_threads(sc->threads);
    asdnorm_status st = score(sc, x, n, scores, nearest);
    asdnorm__call_threads(prev);
    return st;
}
