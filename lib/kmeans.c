/* SPDX-License-Identifier: MIT */
/* k-means (k-means++ seeding, restarts, Lloyd) and the source-means baseline
 * (math §3).
 *
 * Determinism across runs, thread counts, BLAS builds and platforms: the
 * float sgemm pass only *filters* candidates. Every decision (a label, a
 * seeding potential) is taken on exact double distances computed here in a
 * fixed order, and the filter keeps every candidate whose float distance is
 * within a rigorous error bound of the best, so the true (double) minimum is
 * always among the candidates whatever order the BLAS summed in. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "rng.h"

/* One independent stream per (seed, restart), so that restart r does not
 * depend on how many numbers restart r − 1 drew. */
static void rng_seed(asdnorm__rng *r, uint64_t seed, uint64_t stream)
{
    asdnorm__rng_init(r, seed ^ (0xD1B54A32D192ED03ull * (stream + 1)));
}

/* Rows × dim of exact work below which a parallel region costs more than it
 * saves (thread wake-up dominates, more so on a loaded machine). */
#define PARALLEL_WORK ((size_t)1 << 22)

/* ---- exact distances ----------------------------------------------------------- */

/* ‖a − b‖² in double: the library's one exact kernel (sqdiff.c), the same
 * value whichever instruction set runs it. */
static double sqdist(const float *a, const float *b, size_t dim)
{
    return asdnorm__sqdiff(a, 1.0, b, 1.0, dim);
}

static double sqnorm(const float *a, size_t dim)
{
    double s = 0;
    for (size_t j = 0; j < dim; j++)
        s += (double)a[j] * a[j];
    return s;
}

/* ---- workspace ---------------------------------------------------------------- */
typedef struct {
    const float *x; /* n × dim, the caller's rows */
    size_t n, dim, k;
    size_t trials;  /* k-means++ local trials, 2 + ⌊ln k⌋ */
    size_t block;   /* rows per sgemm block in the assignment */
    double beta;    /* float error bound factor, see filter_bound() */
    double tol;     /* absolute convergence tolerance */
    double *mu;     /* dim: column means */
    float *xc;      /* n × dim: x − μ, rounded to float, for the sgemm filter */
    double *xx;     /* n: ‖xc_i‖² */
    float *cent;    /* k × dim: centroids in the caller's coordinates */
    float *cc_rows; /* max(k, trials) × dim: centred centroids or candidates */
    double *cc;     /* max(k, trials): their squared norms */
    float *gram;    /* max(block · k, trials · n): sgemm output */
    double *sums;   /* k × dim: Lloyd update accumulators */
    size_t *count;  /* k */
    size_t *label;  /* n */
    size_t *label_old; /* n */
    double *dmin;   /* n: exact squared distance to the assigned centroid */
    double *cand_d; /* trials × n: seeding, min(closest, d(x, candidate)) */
    double *cumsum; /* n */
    size_t *cand;   /* trials */
    float *best;    /* k × dim: the best restart's centroids */
} kmeans_ws;

static void ws_free(kmeans_ws *w)
{
    asdnorm__free(w->mu);
    asdnorm__free(w->xc);
    asdnorm__free(w->xx);
    asdnorm__free(w->cent);
    asdnorm__free(w->cc_rows);
    asdnorm__free(w->cc);
    asdnorm__free(w->gram);
    asdnorm__free(w->sums);
    asdnorm__free(w->count);
    asdnorm__free(w->label);
    asdnorm__free(w->label_old);
    asdnorm__free(w->dmin);
    asdnorm__free(w->cand_d);
    asdnorm__free(w->cumsum);
    asdnorm__free(w->cand);
    asdnorm__free(w->best);
}

static asdnorm_status ws_alloc(kmeans_ws *w)
{
    size_t n = w->n, dim = w->dim, k = w->k, t = w->trials;
    size_t kt = k > t ? k : t, kdim, ktdim, ndim, gk, gt, tn;
    if (!asdnorm__mul_ok(n, dim, &ndim) || !asdnorm__mul_ok(k, dim, &kdim) ||
        !asdnorm__mul_ok(kt, dim, &ktdim) || !asdnorm__mul_ok(w->block, k, &gk) ||
        !asdnorm__mul_ok(t, n, &tn))
        return ASDNORM_E_OVERFLOW;
    gt = gk > tn ? gk : tn;
    w->mu = asdnorm__mallocn(dim, sizeof *w->mu);
    w->xc = asdnorm__mallocn(ndim, sizeof *w->xc);
    w->xx = asdnorm__mallocn(n, sizeof *w->xx);
    w->cent = asdnorm__mallocn(kdim, sizeof *w->cent);
    w->cc_rows = asdnorm__mallocn(ktdim, sizeof *w->cc_rows);
    w->cc = asdnorm__mallocn(kt, sizeof *w->cc);
    w->gram = asdnorm__mallocn(gt, sizeof *w->gram);
    w->sums = asdnorm__mallocn(kdim, sizeof *w->sums);
    w->count = asdnorm__mallocn(k, sizeof *w->count);
    w->label = asdnorm__mallocn(n, sizeof *w->label);
    w->label_old = asdnorm__mallocn(n, sizeof *w->label_old);
    w->dmin = asdnorm__mallocn(n, sizeof *w->dmin);
    w->cand_d = asdnorm__mallocn(tn, sizeof *w->cand_d);
    w->cumsum = asdnorm__mallocn(n, sizeof *w->cumsum);
    w->cand = asdnorm__mallocn(t, sizeof *w->cand);
    w->best = asdnorm__mallocn(kdim, sizeof *w->best);
    if (!w->mu || !w->xc || !w->xx || !w->cent || !w->cc_rows || !w->cc || !w->gram ||
        !w->sums || !w->count || !w->label || !w->label_old || !w->dmin || !w->cand_d ||
        !w->cumsum || !w->cand || !w->best)
        return ASDNORM_E_NOMEM;
    return ASDNORM_OK;
}

/* Column means, the centred float copy (centring keeps the norms in
 * ‖x‖² + ‖c‖² − 2⟨x, c⟩ small, so the float filter is tight), and
 * scikit-learn's tolerance: tol · mean of the per-feature (population)
 * variances. */
static void ws_prepare(kmeans_ws *w, double rel_tol)
{
    size_t n = w->n, dim = w->dim;
    for (size_t j = 0; j < dim; j++)
        w->mu[j] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            w->mu[j] += w->x[i * dim + j];
    for (size_t j = 0; j < dim; j++)
        w->mu[j] /= (double)n;
    double var = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < dim; j++) {
            double d = (double)w->x[i * dim + j] - w->mu[j];
            w->xc[i * dim + j] = (float)d;
            var += d * d;
        }
        w->xx[i] = sqnorm(w->xc + i * dim, dim);
    }
    w->tol = rel_tol * var / (double)n / (double)dim;
}

/* Error bound of a float squared distance xx + cc − 2·sgemm(xc, cc): the
 * dot product of dim terms errs by at most dim·u·‖x‖‖c‖ ≤ dim·u·(xx + cc)/2
 * in any summation order (u = 2⁻²⁴, also with FMA), and rounding x − μ and
 * c − μ to float adds about 4u·(xx + cc). beta = 2(dim + 16)u covers both
 * with a factor of two to spare. */
static double filter_bound(const kmeans_ws *w, double xx, double cc)
{
    return w->beta * (xx + cc);
}

/* Centre `rows` float rows into w->cc_rows and their norms into w->cc. */
static void centre_rows(kmeans_ws *w, const float *rows, size_t count)
{
    size_t dim = w->dim;
    for (size_t c = 0; c < count; c++) {
        for (size_t j = 0; j < dim; j++)
            w->cc_rows[c * dim + j] = (float)((double)rows[c * dim + j] - w->mu[j]);
        w->cc[c] = sqnorm(w->cc_rows + c * dim, dim);
    }
}

/* E-step: every point's nearest centroid by exact double distance (ties to
 * the lowest centroid), found among the candidates the float sgemm pass
 * cannot rule out. */
static void assign(kmeans_ws *w)
{
    size_t n = w->n, dim = w->dim, k = w->k;
    centre_rows(w, w->cent, k);
    for (size_t i0 = 0; i0 < n; i0 += w->block) {
        size_t b = n - i0 < w->block ? n - i0 : w->block;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)k, (int)dim, 1.0f,
                    w->xc + i0 * dim, (int)dim, w->cc_rows, (int)dim, 0.0f, w->gram, (int)k);
        /* Rows are independent: the result does not depend on the thread count.
         * The exact pass is usually one or two candidates per row, so threads
         * pay only on big blocks. */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (b * dim >= PARALLEL_WORK) \
    num_threads(asdnorm__threads())
#endif
        for (size_t r = 0; r < b; r++) {
            size_t i = i0 + r;
            const float *g = w->gram + r * k;
            double xx = w->xx[i], upper = INFINITY;
            for (size_t c = 0; c < k; c++) {
                double approx = xx + w->cc[c] - 2.0 * (double)g[c];
                double hi = approx + filter_bound(w, xx, w->cc[c]);
                if (hi < upper)
                    upper = hi;
            }
            double best = INFINITY;
            size_t arg = 0;
            for (size_t c = 0; c < k; c++) {
                double approx = xx + w->cc[c] - 2.0 * (double)g[c];
                if (approx - filter_bound(w, xx, w->cc[c]) > upper)
                    continue;
                double d = sqdist(w->x + i * dim, w->cent + c * dim, dim);
                if (d < best) {
                    best = d;
                    arg = c;
                }
            }
            w->label[i] = arg;
            w->dmin[i] = best;
        }
    }
}

/* Give every empty cluster the point farthest from its centroid (ties to the
 * lowest index), taken only from clusters that keep at least one member, as
 * scikit-learn relocates; k ≤ n guarantees there are enough such points. */
static void relocate_empty(kmeans_ws *w)
{
    for (size_t c = 0; c < w->k; c++) {
        if (w->count[c] != 0)
            continue;
        size_t arg = w->n;
        double far = -1;
        for (size_t i = 0; i < w->n; i++)
            if (w->count[w->label[i]] > 1 && w->dmin[i] > far) {
                far = w->dmin[i];
                arg = i;
            }
        if (arg == w->n)
            return; /* unreachable when k ≤ n */
        w->count[w->label[arg]]--;
        w->label[arg] = c;
        w->count[c] = 1;
        w->dmin[arg] = 0;
    }
}

/* M-step: centroids are the means (accumulated in double, in row order) of
 * their members. Returns the total squared centroid shift. */
static double update(kmeans_ws *w)
{
    size_t n = w->n, dim = w->dim, k = w->k;
    for (size_t c = 0; c < k; c++)
        w->count[c] = 0;
    for (size_t i = 0; i < n; i++)
        w->count[w->label[i]]++;
    relocate_empty(w);
    memset(w->sums, 0, k * dim * sizeof *w->sums);
    for (size_t i = 0; i < n; i++) {
        double *s = w->sums + w->label[i] * dim;
        const float *xi = w->x + i * dim;
        for (size_t j = 0; j < dim; j++)
            s[j] += xi[j];
    }
    double shift = 0;
    for (size_t c = 0; c < k; c++) {
        for (size_t j = 0; j < dim; j++) {
            float v = (float)(w->sums[c * dim + j] / (double)w->count[c]);
            double d = (double)v - w->cent[c * dim + j];
            shift += d * d;
            w->cent[c * dim + j] = v;
        }
    }
    return shift;
}

/* First index whose cumulative sum reaches r (numpy's searchsorted, side
 * "left"), clipped to n − 1. */
static size_t search_left(const double *cumsum, size_t n, double r)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cumsum[mid] < r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n ? lo : n - 1;
}

/* Greedy k-means++ as scikit-learn seeds: the first centre uniformly, then
 * per centre `trials` candidates drawn with probability ∝ D², keeping the one
 * that lowers the potential most. closest (= w->dmin) holds exact D². */
static void seed_plusplus(kmeans_ws *w, asdnorm__rng *rng)
{
    size_t n = w->n, dim = w->dim, t = w->trials;
    double *closest = w->dmin;
    size_t first = (size_t)asdnorm__rng_below(rng, n);
    memcpy(w->cent, w->x + first * dim, dim * sizeof *w->cent);
    for (size_t i = 0; i < n; i++)
        closest[i] = sqdist(w->x + i * dim, w->x + first * dim, dim);

    for (size_t c = 1; c < w->k; c++) {
        double acc = 0;
        for (size_t i = 0; i < n; i++) {
            acc += closest[i];
            w->cumsum[i] = acc;
        }
        for (size_t q = 0; q < t; q++)
            w->cand[q] = search_left(w->cumsum, n, asdnorm__rng_uniform(rng) * acc);
        for (size_t q = 0; q < t; q++)
            memcpy(w->cc_rows + q * dim, w->xc + w->cand[q] * dim, dim * sizeof *w->cc_rows);
        for (size_t q = 0; q < t; q++)
            w->cc[q] = w->xx[w->cand[q]];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t, (int)n, (int)dim, 1.0f,
                    w->cc_rows, (int)dim, w->xc, (int)dim, 0.0f, w->gram, (int)n);
        /* min(closest, d) is exact: d is computed only where the float pass
         * cannot prove d ≥ closest. */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n * dim >= PARALLEL_WORK) \
    num_threads(asdnorm__threads())
#endif
        for (size_t i = 0; i < n; i++) {
            for (size_t q = 0; q < t; q++) {
                double approx = w->xx[i] + w->cc[q] - 2.0 * (double)w->gram[q * n + i];
                double v = closest[i];
                if (approx - filter_bound(w, w->xx[i], w->cc[q]) < v) {
                    double d = sqdist(w->x + i * dim, w->x + w->cand[q] * dim, dim);
                    if (d < v)
                        v = d;
                }
                w->cand_d[q * n + i] = v;
            }
        }
        size_t best = 0;
        double best_pot = INFINITY;
        for (size_t q = 0; q < t; q++) {
            double pot = 0;
            for (size_t i = 0; i < n; i++)
                pot += w->cand_d[q * n + i];
            if (pot < best_pot) {
                best_pot = pot;
                best = q;
            }
        }
        memcpy(closest, w->cand_d + best * n, n * sizeof *closest);
        memcpy(w->cent + c * dim, w->x + w->cand[best] * dim, dim * sizeof *w->cent);
    }
}

/* One restart: seed, Lloyd until labels are stable, the squared centroid
 * shift is within tol, or max_iter; then a last E-step so that the inertia is
 * the exact distance of every point to its nearest final centroid. */
static double run_once(kmeans_ws *w, asdnorm__rng *rng, size_t max_iter)
{
    size_t n = w->n;
    seed_plusplus(w, rng);
    for (size_t i = 0; i < n; i++)
        w->label_old[i] = SIZE_MAX;
    for (size_t it = 0; it < max_iter; it++) {
        assign(w);
        double shift = update(w);
        if (memcmp(w->label, w->label_old, n * sizeof *w->label) == 0)
            break;
        if (shift <= w->tol)
            break;
        memcpy(w->label_old, w->label, n * sizeof *w->label);
    }
    assign(w);
    double inertia = 0;
    for (size_t i = 0; i < n; i++)
        inertia += w->dmin[i];
    return inertia;
}

/* n × dim floats fit in memory's address space: the element count and the
 * byte count both fit in size_t. */
static bool float_rows_ok(size_t n, size_t dim)
{
    size_t elems, bytes;
    return asdnorm__mul_ok(n, dim, &elems) && asdnorm__mul_ok(elems, sizeof(float), &bytes);
}

asdnorm_status asdnorm_kmeans(const float *x, size_t n, size_t dim, size_t k, size_t n_init,
                              size_t max_iter, uint64_t seed, float *centroids, double *inertia)
{
    if (!x || !centroids)
        return ASDNORM_E_NULL;
    if (dim == 0 || k == 0 || n_init == 0 || max_iter == 0)
        return ASDNORM_E_ARG;
    if (k > n)
        return ASDNORM_E_DEGENERATE;
    /* sgemm takes int sizes. */
    if (!float_rows_ok(n, dim) || !float_rows_ok(k, dim) || n > INT32_MAX || dim > INT32_MAX)
        return ASDNORM_E_OVERFLOW;
    const size_t kdim = k * dim;
    /* The Euclidean limits: finite, squared norms small enough for float sgemm. */
    asdnorm_status st = asdnorm__check_rows(x, n, dim, ASDNORM_DISTANCE_EUCLIDEAN, NULL);
    if (st != ASDNORM_OK)
        return st;

    kmeans_ws w = {0};
    w.x = x;
    w.n = n;
    w.dim = dim;
    w.k = k;
    w.trials = 2 + (size_t)log((double)k);
    /* About 64k floats of sgemm output per block: stays in cache. */
    w.block = 65536 / k;
    if (w.block < 1)
        w.block = 1;
    if (w.block > 1024)
        w.block = 1024;
    if (w.block > n)
        w.block = n;
    w.beta = 2.0 * ((double)dim + 16.0) * 0x1.0p-24;
    st = ws_alloc(&w);
    /* The calling thread calls the BLAS (threads.c: under an address-space
     * limit, only when its buffer can be mapped). */
    bool serial = false;
    const int bt = st == ASDNORM_OK ? asdnorm__blas_begin(1, &serial) : 0;
    if (st == ASDNORM_OK && bt == 0)
        st = ASDNORM_E_NOMEM;
    if (st != ASDNORM_OK) {
        ws_free(&w);
        return st;
    }
    ws_prepare(&w, 1e-4);

    double best = INFINITY;
    for (size_t r = 0; r < n_init; r++) {
        asdnorm__rng rng;
        rng_seed(&rng, seed, r);
        double in = run_once(&w, &rng, max_iter);
        if (in < best) {
            best = in;
            memcpy(w.best, w.cent, kdim * sizeof *w.best);
        }
    }
    asdnorm__blas_end(bt, serial);
    memcpy(centroids, w.best, kdim * sizeof *centroids);
    if (inertia)
        *inertia = best;
    ws_free(&w);
    return ASDNORM_OK;
}

/* ---- source means ---------------------------------------------------------------- */

/* Append the references of src at positions pick[0 … count − 1] to dst exactly
 * as src stores them: the stored floats and, under cosine, src's scale c_j (a
 * row normalized at add keeps acting as an exact unit vector, a raw centroid
 * keeps c_j = 1), so that d(x, y) is bit-identical in both indexes. A
 * re-normalizing add would round the direction again. */
static asdnorm_status append_exact(asdnorm_index *dst, const asdnorm_index *src,
                                   const size_t *pick, size_t count)
{
    size_t dim = src->dim, bytes;
    if (count == 0)
        return ASDNORM_OK;
    if (!asdnorm__mul_ok(count, dim, &bytes))
        return ASDNORM_E_OVERFLOW;
    float *rows = asdnorm__mallocn(bytes, sizeof *rows);
    uint8_t *dom = asdnorm__malloc(count);
    if (!rows || !dom) {
        asdnorm__free(rows);
        asdnorm__free(dom);
        return ASDNORM_E_NOMEM;
    }
    for (size_t t = 0; t < count; t++) {
        memcpy(rows + t * dim, src->vectors + pick[t] * dim, dim * sizeof *rows);
        dom[t] = src->domains[pick[t]];
    }
    size_t base = dst->size;
    asdnorm_status st = asdnorm__index_add_raw(dst, rows, count, dom);
    if (st == ASDNORM_OK && src->distance == ASDNORM_DISTANCE_COSINE) {
        for (size_t t = 0; t < count; t++) {
            dst->aux[base + t] = src->aux[pick[t]];
            dst->scale[base + t] = src->scale[pick[t]];
        }
    }
    asdnorm__free(rows);
    asdnorm__free(dom);
    return st;
}

asdnorm_status asdnorm_source_means(const asdnorm_index *src, size_t k, size_t n_init,
                                    uint64_t seed, asdnorm_index **out)
{
    if (!out)
        return ASDNORM_E_NULL;
    *out = NULL;
    if (!src)
        return ASDNORM_E_NULL;
    if (k == 0 || n_init == 0)
        return ASDNORM_E_ARG;
    size_t m = src->size, dim = src->dim, ns = 0;
    for (size_t j = 0; j < m; j++)
        ns += src->domains[j] == ASDNORM_DOMAIN_SOURCE;
    if (ns == 0)
        return ASDNORM_E_TOO_FEW;
    if (k > ns)
        k = ns;

    size_t nsdim, kdim;
    if (!asdnorm__mul_ok(ns, dim, &nsdim) || !asdnorm__mul_ok(k, dim, &kdim))
        return ASDNORM_E_OVERFLOW;
    asdnorm_status st = ASDNORM_E_NOMEM;
    asdnorm_index *ix = NULL;
    float *rows = asdnorm__mallocn(nsdim, sizeof *rows);
    float *cent = asdnorm__mallocn(kdim, sizeof *cent);
    uint8_t *dom = asdnorm__malloc(k);
    size_t *rest = asdnorm__mallocn(m - ns, sizeof *rest);
    if (!rows || !cent || !dom || !rest)
        goto done;
    /* The references as the index means them (under cosine the unit vectors,
     * which ix->vectors holds only up to a scale factor). */
    size_t s = 0, o = 0;
    for (size_t j = 0; j < m; j++) {
        if (src->domains[j] == ASDNORM_DOMAIN_SOURCE)
            (void)asdnorm_index_get_vectors(src, j, 1, rows + (s++) * dim);
        else
            rest[o++] = j;
    }
    /* max_iter 300 as scikit-learn's KMeans. Under cosine the rows are unit
     * vectors, so a centroid's inner product with x̂ is the mean of its
     * members' (math §2.1). */
    st = asdnorm_kmeans(rows, ns, dim, k, n_init, 300, seed, cent, NULL);
    if (st != ASDNORM_OK)
        goto done;
    memset(dom, ASDNORM_DOMAIN_SOURCE, k);
    st = asdnorm_index_new(dim, src->distance, &ix);
    if (st != ASDNORM_OK)
        goto done;
    st = asdnorm__index_add_raw(ix, cent, k, dom);
    if (st == ASDNORM_OK)
        st = append_exact(ix, src, rest, m - ns);
    if (st == ASDNORM_OK) {
        *out = ix;
        ix = NULL;
    }
done:
    asdnorm_index_free(ix);
    asdnorm__free(rows);
    asdnorm__free(cent);
    asdnorm__free(dom);
    asdnorm__free(rest);
    return st;
}
