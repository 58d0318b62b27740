/* SPDX-License-Identifier: MIT */
/* Scoring (docs/math.md §2.3): s(x) = min_j norm(d(x, y_j), n_j).
 *
 * Tests are processed in blocks of ROWS against references in blocks of COLS:
 * one sgemm (sgemv for a single test) gives the block's dot products, then one
 * pass over the block turns each into its float distance d̃ ± e (e its rigorous
 * error bound, distance.c) and into bounds [lb, ub] on the normalized score,
 * keeps U = min ub and a list of the references whose lb was ≤ U when
 * offered, so the N × M matrix never exists. Every candidate with lb ≤ U may
 * be the true minimum; those are rescored exactly in double and the best is
 * reported (ties to the lower position). A full list (more than CAP
 * references within rounding of the minimum: clusters tighter than float
 * resolution) is first cut to the candidates still below U, and when that
 * leaves it more than half full, they are rescored at once: the best becomes
 * the row's exact result so far and lowers U to it, and the list is emptied.
 * So a row is scanned once and every reference rescored at most once,
 * however tight its cluster.
 * Exact copies (the index's, asdnorm__index_copies) of a lower reference with
 * the same density have bitwise its score for every test and can never be the
 * lowest position attaining the minimum: the scan skips them, so a bank of
 * duplicates costs what one reference costs.
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
#include "progress.h"

#define ROWS 512
#define COLS 2048
#define CAP 32   /* candidates listed per test */
#define CHUNK 64 /* references per cheap-reject chunk in scan_block */
#define Q_BYTES ((size_t)ROWS * COLS * sizeof(float)) /* a group's queries, at most */

/* One thread's buffers: a group of up to rows ≤ ROWS tests is scored by one thread. */
struct work {
    float *Q;      /* rows × dim prepared queries */
    float *qaux;   /* rows */
    double *qnorm; /* rows */
    float *block;  /* ROWS · COLS dot products (asdnorm__block_dots) */
    float *coef;   /* COLS per-reference normalization terms */
    float *pen;    /* COLS: +∞ for a skipped copy, else 0 */
    float *cv;     /* rows × CAP listed lower bounds */
    size_t *cj;    /* rows × CAP their positions */
    size_t *nc;    /* rows: listed candidates */
    float *upper;  /* rows: least upper bound seen */
    double *best;  /* rows: best exact score rescored so far (+∞: none) */
    size_t *arg;   /* rows: its position */
};

struct asdnorm_scorer {
    const asdnorm_index *ix;
    asdnorm_norm norm;
    size_t dim;
    size_t rows;     /* tests per group: ROWS, fewer when their queries exceed Q_BYTES */
    int threads;     /* asdnorm_scorer_set_threads (0: the default) */
    int nw;          /* workspaces */
    struct work *w;
    asdnorm_progress_fn progress; /* asdnorm_scorer_set_progress, or NULL */
    void *progress_user;
};

static bool work_alloc(struct work *w, size_t dim, size_t rows)
{
    w->Q = asdnorm__mallocn(rows * dim, sizeof *w->Q);
    w->qaux = asdnorm__mallocn(rows, sizeof *w->qaux);
    w->qnorm = asdnorm__mallocn(rows, sizeof *w->qnorm);
    w->block = asdnorm__mallocn((size_t)ROWS * COLS, sizeof *w->block);
    w->coef = asdnorm__mallocn(COLS, sizeof *w->coef);
    w->pen = asdnorm__mallocn(COLS, sizeof *w->pen);
    w->cv = asdnorm__mallocn(rows * CAP, sizeof *w->cv);
    w->cj = asdnorm__mallocn(rows * CAP, sizeof *w->cj);
    w->nc = asdnorm__mallocn(rows, sizeof *w->nc);
    w->upper = asdnorm__mallocn(rows, sizeof *w->upper);
    w->best = asdnorm__mallocn(rows, sizeof *w->best);
    w->arg = asdnorm__mallocn(rows, sizeof *w->arg);
    return w->Q && w->qaux && w->qnorm && w->block && w->coef && w->pen && w->cv && w->cj &&
           w->nc && w->upper && w->best && w->arg;
}

static void work_free(struct work *w)
{
    asdnorm__free(w->Q);
    asdnorm__free(w->qaux);
    asdnorm__free(w->qnorm);
    asdnorm__free(w->block);
    asdnorm__free(w->coef);
    asdnorm__free(w->pen);
    asdnorm__free(w->cv);
    asdnorm__free(w->cj);
    asdnorm__free(w->nc);
    asdnorm__free(w->upper);
    asdnorm__free(w->best);
    asdnorm__free(w->arg);
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

asdnorm_status asdnorm_scorer_set_progress(asdnorm_scorer *sc, asdnorm_progress_fn fn,
                                           void *user)
{
    if (!sc)
        return ASDNORM_E_NULL;
    sc->progress = fn;
    sc->progress_user = user;
    return ASDNORM_OK;
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

/* The widening that covers the float coefficients' rounding in score_bounds. */
static const float wide = 1.0f + 0x1p-22f;

/* Bounds [*lo, *hi] on the normalized score of a float distance d with error
 * scale E; coef is 1/max(n_j, φ) (ratio) or n_j (difference). The float
 * coefficients carry their own rounding (relative 2⁻²⁴), covered by `wide`;
 * a ratio coefficient beyond float's range is FLT_MAX (fill_coef), a lower
 * bound of it, and the score's upper bound is then +∞. */
static inline void score_bounds(const asdnorm_index *ix, asdnorm_norm norm, float E, float d,
                                float coef, float *lo, float *hi)
{
    const float e = asdnorm__err(ix, E, d);
    *lo = d - e;
    *hi = d + e;
    if (norm == ASDNORM_NORM_RATIO) {
        *lo = *lo * coef / wide;
        *hi = coef < FLT_MAX ? *hi * coef * wide : INFINITY;
    } else if (norm == ASDNORM_NORM_DIFFERENCE) {
        *lo -= coef * wide;
        *hi -= coef / wide;
    }
}

static void fill_coef(const asdnorm_index *ix, asdnorm_norm norm, size_t j0, size_t mb,
                      float *coef)
{
    const double *dens = ix->density;
    /* A floor below 1/FLT_MAX (data of a tiny scale) saturates at FLT_MAX
     * rather than +∞: (d − e)·∞ would be NaN where d = e, and lose the
     * candidate (score_bounds). */
    if (norm == ASDNORM_NORM_RATIO)
        for (size_t j = 0; j < mb; j++) {
            const double c = 1.0 / asdnorm__ratio_den(ix, dens[j0 + j]);
            coef[j] = c < FLT_MAX ? (float)c : FLT_MAX;
        }
    else if (norm == ASDNORM_NORM_DIFFERENCE)
        for (size_t j = 0; j < mb; j++)
            coef[j] = (float)dens[j0 + j];
    else
        for (size_t j = 0; j < mb; j++)
            coef[j] = 1.0f;
}

/* Reference j never attains a test's minimum at the lowest position: an
 * exact copy of a lower reference (the index's copies, which a finalized
 * index has for all its rows) whose density is bitwise the same. */
static bool skipped(const asdnorm_index *ix, asdnorm_norm norm, size_t j)
{
    if (j >= ix->copy_rows || ix->copy_prev[j] == ASDNORM_NO_COPY)
        return false;
    return norm == ASDNORM_NORM_NONE || ix->density[j] == ix->density[ix->copy_prev[j]];
}

/* A double rounded up, and down, to a float. */
static float round_up(double v)
{
    float f = (float)v;
    return (double)f < v ? nextafterf(f, INFINITY) : f;
}

static float round_down(double v)
{
    float f = (float)v;
    return (double)f > v ? nextafterf(f, -INFINITY) : f;
}

/* Bounds on the normalized score of a distance in [lo, hi] (normalize is
 * increasing in d), widened for its double rounding. */
static void near_score(const asdnorm_index *ix, asdnorm_norm norm, double lo, double hi,
                       double n, float *slo, float *shi)
{
    const double a = normalize(ix, norm, lo, n), b = normalize(ix, norm, hi, n);
    const double w = norm == ASDNORM_NORM_DIFFERENCE ? 0x1p-50 * (fabs(hi) + fabs(n)) : 0.0;
    *slo = round_down(a - fabs(a) * 0x1p-50 - w);
    *shi = round_up(b + fabs(b) * 0x1p-50 + w);
}

/* Some v[t] ≤ u, t < n. */
static bool any_below(const float *v, size_t n, float u)
{
    for (size_t t = 0; t < n; t++)
        if (v[t] <= u)
            return true;
    return false;
}

/* Rescore exactly row i's listed candidates still below U (test xi), keep the
 * best (ties to the lower position), lower U to it; the list is emptied.
 * With several candidates, the float filter (asdnorm__sqdiff_f) first gives
 * each bounds relative to its distance, which lower U and drop most of them
 * before any double work. */
static void rescore(const asdnorm_index *ix, struct work *w, asdnorm_norm norm, size_t i,
                    const float *xi)
{
    float *cv = w->cv + i * CAP;
    const size_t *cj = w->cj + i * CAP;
    const size_t n = w->nc[i], dim = ix->dim;
    const bool cosine = ix->distance == ASDNORM_DISTANCE_COSINE;
    for (size_t t = 0; t < n && n > 1; t++) {
        const size_t j = cj[t];
        if (cv[t] > w->upper[i] || (cosine && ix->scale[j] == 1.0)) /* raw rows: no filter */
            continue;
        const float S = asdnorm__sqdiff_f(w->Q + i * dim, 1.0f, ix->vectors + j * dim,
                                          cosine ? ix->aux[j] : 1.0f, dim);
        double lo, hi;
        float slo, shi;
        asdnorm__near_bounds(ix, S, &lo, &hi);
        near_score(ix, norm, lo, hi, ix->density[j], &slo, &shi);
        /* Both lower bounds hold, so the larger. */
        cv[t] = slo > cv[t] ? slo : cv[t];
        w->upper[i] = shi < w->upper[i] ? shi : w->upper[i];
    }
    /* With consistent data the entry behind U always passes; a damaged file's
     * inconsistent rows may let none pass, and then all of them are rescored,
     * so that the result is still a finite score of some reference. */
    const bool all = w->best[i] == INFINITY && !any_below(cv, n, w->upper[i]);
    for (size_t t = 0; t < n; t++) {
        if (cv[t] > w->upper[i] && !all)
            continue;
        const size_t j = cj[t];
        const double d = asdnorm__exact_distance(ix, xi, w->qnorm[i], j);
        const double s = normalize(ix, norm, d, ix->density[j]);
        if (s < w->best[i] || (s == w->best[i] && j < w->arg[i])) {
            w->best[i] = s;
            w->arg[i] = j;
            const float u = round_up(s);
            w->upper[i] = u < w->upper[i] ? u : w->upper[i];
        }
    }
    w->nc[i] = 0;
}

/* Offer reference j with score bounds [lb, ub] to row i: lower its least upper
 * bound, and list j if it can still win. A full list is cut to the entries
 * still below U, and rescored when that leaves it more than half full. */
static inline void offer(const asdnorm_index *ix, struct work *w, asdnorm_norm norm, size_t i,
                         const float *xi, float lb, float ub, size_t j)
{
    float *U = w->upper + i;
    if (ub < *U)
        *U = ub;
    if (!(lb <= *U) || lb == INFINITY) /* a skipped copy's bounds are +∞ */
        return;
    float *cv = w->cv + i * CAP;
    size_t *cj = w->cj + i * CAP;
    size_t n = w->nc[i];
    if (n == CAP) {
        size_t r = 0;
        for (size_t t = 0; t < n; t++)
            if (cv[t] <= *U) {
                cv[r] = cv[t];
                cj[r++] = cj[t];
            }
        w->nc[i] = n = r;
        if (n > CAP / 2) {
            rescore(ix, w, norm, i, xi);
            n = 0;
            if (!(lb <= *U))
                return;
        }
    }
    cv[n] = lb;
    cj[n] = j;
    w->nc[i] = n + 1;
}

/* One pass over a block of dot products (asdnorm__block_dots): each chunk of
 * CHUNK references is turned into float distances in a small local buffer (the
 * same d̃, bitwise, as asdnorm__block_distances gives), cheaply rejected, and
 * only then offered; the block is read once and never rewritten. xb: the
 * group's tests as given (for rescore). */
static void scan_block(const asdnorm_scorer *sc, struct work *w, asdnorm_norm norm,
                       const float *xb, const float *block, size_t nb, size_t j0, size_t mb,
                       size_t ld)
{
    const asdnorm_index *ix = sc->ix;
    const float *coef = w->coef;
    const float *aux = ix->aux + j0;
    const asdnorm_distance distance = ix->distance;
    const float mse_scale = 1.0f / (float)ix->dim;
    fill_coef(ix, norm, j0, mb, w->coef);
    const float aux_max = asdnorm__aux_max(ix, j0, mb);
    const bool skips = ix->copy_prev && j0 < ix->copy_rows;
    if (skips)
        for (size_t j = 0; j < mb; j++)
            w->pen[j] = skipped(ix, norm, j0 + j) ? INFINITY : 0.0f;

    for (size_t i = 0; i < nb; i++) {
        const float *dots = block + i * ld;
        const float qa = w->qaux[i];
        const float *xi = xb + i * ix->dim;
        const float E = asdnorm__error_scale(ix, qa, aux_max);
        /* cap ≥ asdnorm__err(ix, E, d) for every d: E, or √E under euclidean
         * (E/d < √E when d > √E), widened for the rounding of √ and /. With it
         * the lower bound of score_bounds is at least low(d − cap), which a
         * branch-free (vectorized) pass compares with U for a chunk of CHUNK
         * references at a time: a reference whose bound cannot reach U can
         * neither lower U nor be listed, and is skipped. */
        const float cap = distance == ASDNORM_DISTANCE_EUCLIDEAN
                              ? sqrtf(E) * (1.0f + 0x1p-20f)
                              : E;
        float row[CHUNK], low[CHUNK];
        for (size_t c0 = 0; c0 < mb; c0 += CHUNK) {
            const size_t n = mb - c0 < CHUNK ? mb - c0 : CHUNK;
            const float *cf = coef + c0;
            asdnorm__chunk_dist(distance, dots + c0, aux + c0, qa, mse_scale, n, row);
            if (skips)
                for (size_t t = 0; t < n; t++)
                    row[t] += w->pen[c0 + t];
            /* Each loop vectorizes: the chunk's cheap lower bounds, then one
             * bit per reference that may reach U (asdnorm__below_mask); only
             * those are looked at. */
            if (norm == ASDNORM_NORM_RATIO)
                for (size_t t = 0; t < n; t++)
                    low[t] = (row[t] - cap) * cf[t] / wide;
            else if (norm == ASDNORM_NORM_DIFFERENCE)
                for (size_t t = 0; t < n; t++)
                    low[t] = (row[t] - cap) - cf[t] * wide;
            else
                for (size_t t = 0; t < n; t++)
                    low[t] = row[t] - cap;
            for (uint64_t bits = asdnorm__below_mask(low, n, 0.0f, w->upper + i, 0); bits;
                 bits &= bits - 1) {
                const size_t t = (size_t)__builtin_ctzll(bits);
                float lo, hi;
                score_bounds(ix, norm, E, row[t], cf[t], &lo, &hi);
                offer(ix, w, norm, i, xi, lo, hi, j0 + c0 + t);
            }
        }
    }
}

/* Score nb ≤ ROWS tests with one workspace: the whole job of one thread. */
static void score_group(const asdnorm_scorer *sc, struct work *w, asdnorm_norm norm,
                        const float *xb, size_t nb, float *scores, size_t *nearest)
{
    const asdnorm_index *ix = sc->ix;
    const size_t m = ix->size;
    /* A single test is a matrix–vector product: give it the whole buffer. */
    const size_t cols = nb == 1 ? (size_t)ROWS * COLS : COLS;
    asdnorm__prepare_queries(ix, xb, nb, w->Q, w->qaux, w->qnorm);
    for (size_t i = 0; i < nb; i++) {
        w->nc[i] = 0;
        w->upper[i] = INFINITY;
        w->best[i] = INFINITY;
        w->arg[i] = 0;
    }
    for (size_t j0 = 0; j0 < m; j0 += cols) {
        const size_t mb = m - j0 < cols ? m - j0 : cols;
        asdnorm__block_dots(ix, w->Q, nb, j0, mb, w->block, mb);
        for (size_t c = 0; c < mb; c += COLS)
            scan_block(sc, w, norm, xb, w->block + c, nb, j0 + c, mb - c < COLS ? mb - c : COLS,
                       mb);
    }
    /* Every candidate of each test (lower bound ≤ U) rescored exactly in
     * double; the best, ties to the lower position, is the test's score. */
    for (size_t i = 0; i < nb; i++) {
        rescore(ix, w, norm, i, xb + i * ix->dim);
        /* A ratio beyond float's range (a test sample ~10²⁶ times farther
         * than the references' scale) is reported as FLT_MAX, never +inf. */
        scores[i] = w->best[i] < FLT_MAX ? (float)w->best[i] : FLT_MAX;
        if (nearest)
            nearest[i] = w->arg[i];
    }
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
    const size_t m = ix->size, dim = ix->dim;
    int nt = asdnorm__threads();
    nt = nt < sc->nw ? nt : sc->nw;
    if (nt > 1 && (n < 2 || !asdnorm__worth_threads(ASDNORM_WORK_SCORE, n * m * dim)))
        nt = 1;
    struct asdnorm__progress prog;
    st = asdnorm__progress_begin(&prog, sc->progress, sc->progress_user);
    if (st != ASDNORM_OK)
        return st;
    const size_t rows = asdnorm__progress_rows(&prog, sc->rows, m * dim);
    bool serial;
    nt = asdnorm__blas_begin(nt, &serial);
    if (nt == 0)
        return ASDNORM_E_NOMEM;
    if (nt == 1) {
        /* One test (a matrix–vector product, the BLAS's own threads split it),
         * or too little work to share: the calling thread alone. */
        asdnorm__progress_stage(&prog, 1.0, (n + rows - 1) / rows);
        for (size_t r0 = 0; r0 < n && !asdnorm__progress_canceled(&prog); r0 += rows) {
            const size_t nb = n - r0 < rows ? n - r0 : rows;
            score_group(sc, &sc->w[0], norm, x + r0 * dim, nb, scores + r0,
                        nearest ? nearest + r0 : NULL);
            asdnorm__progress_tick(&prog, 1);
        }
        asdnorm__blas_end(nt, serial);
        return asdnorm__progress_end(&prog);
    }
    /* Groups of tests, each scored whole by one thread with a single-threaded
     * BLAS call per block: one pool of threads, no switching between the
     * library's threads and the BLAS's (threads.c). A test's result does not
     * depend on its group, so not on the thread count either. */
    size_t g;
    const size_t groups = asdnorm__split_rows(n, rows, (size_t)nt, &g);
    asdnorm__progress_stage(&prog, 1.0, groups);
#pragma omp parallel num_threads(nt)
    {
        struct work *w = &sc->w[asdnorm__thread_id()];
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < groups; q++) {
            if (asdnorm__progress_tick(&prog, 0))
                continue; /* canceled: the remaining groups are skipped */
            const size_t r0 = q * g, nb = n - r0 < g ? n - r0 : g;
            score_group(sc, w, norm, x + r0 * dim, nb, scores + r0,
                        nearest ? nearest + r0 : NULL);
            asdnorm__progress_tick(&prog, 1);
        }
    }
    asdnorm__blas_end(nt, serial);
    return asdnorm__progress_end(&prog);
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
