/* SPDX-License-Identifier: MIT */
/* The reference index: storage, add, finalize (density constants, docs/math.md
 * §2.2) and accessors. Every mutating call validates all of its input first and
 * mutates only when nothing can fail any more. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "progress.h"

/* Squared norms above this make float32 distance arithmetic overflow (and the
 * ratio d / ε exceed FLT_MAX): ‖x‖ ≤ 1e12 keeps every intermediate finite. */
#define MAX_SQNORM 1e24

static bool valid_distance(asdnorm_distance d)
{
    return d == ASDNORM_DISTANCE_COSINE || d == ASDNORM_DISTANCE_EUCLIDEAN ||
           d == ASDNORM_DISTANCE_MSE;
}

static asdnorm_status row_status(const float *row, size_t dim, asdnorm_distance distance)
{
    /* Finite and the squared norm: |x| ≤ FLT_MAX is false for NaN and ±∞
     * alike, and branch-free; the norm as asdnorm__norm2 sums it. */
    bool finite = true;
    for (size_t k = 0; k < dim; k++)
        finite &= fabsf(row[k]) <= FLT_MAX;
    if (!finite)
        return ASDNORM_E_NONFINITE;
    double ss = asdnorm__norm2(row, dim);
    ss *= ss;
    if (distance == ASDNORM_DISTANCE_COSINE && ss == 0.0)
        return ASDNORM_E_ZERO_VECTOR;
    if (distance != ASDNORM_DISTANCE_COSINE && ss > MAX_SQNORM)
        return ASDNORM_E_RANGE;
    return ASDNORM_OK;
}

asdnorm_status asdnorm__check_rows(const float *x, size_t n, size_t dim,
                                   asdnorm_distance distance, size_t *bad_row)
{
    /* The rows are checked in parallel; the first offending one is reported. */
    size_t first = n;
#pragma omp parallel for schedule(static) reduction(min : first) \
    if (n * dim >= ASDNORM_PARALLEL_WORK) num_threads(asdnorm__threads())
    for (size_t i = 0; i < n; i++)
        if (i < first && row_status(x + i * dim, dim, distance) != ASDNORM_OK)
            first = i;
    if (bad_row)
        *bad_row = first;
    return first < n ? row_status(x + first * dim, dim, distance) : ASDNORM_OK;
}

asdnorm_status asdnorm_check_rows(const float *x, size_t n, size_t dim,
                                  asdnorm_distance distance, size_t *bad_row)
{
    if (!x && n > 0)
        return ASDNORM_E_NULL;
    if (dim == 0)
        return ASDNORM_E_ARG;
    if (!valid_distance(distance))
        return ASDNORM_E_ENUM;
    if (!asdnorm__rows_fit(n, dim))
        return ASDNORM_E_OVERFLOW;
    return asdnorm__check_rows(x, n, dim, distance, bad_row);
}

asdnorm_status asdnorm_index_new(size_t dim, asdnorm_distance distance, asdnorm_index **out)
{
    if (!out)
        return ASDNORM_E_NULL;
    *out = NULL;
    if (dim == 0)
        return ASDNORM_E_ARG;
    if (!valid_distance(distance))
        return ASDNORM_E_ENUM;
    size_t row_bytes;
    if (!asdnorm__mul_ok(dim, sizeof(float), &row_bytes))
        return ASDNORM_E_OVERFLOW;
    asdnorm_index *ix = asdnorm__calloc(1, sizeof *ix);
    if (!ix)
        return ASDNORM_E_NOMEM;
    ix->dim = dim;
    ix->distance = distance;
    ix->estimator = ASDNORM_DENSITY_NONE;
    asdnorm__near_constants(ix);
    *out = ix;
    return ASDNORM_OK;
}

void asdnorm_index_free(asdnorm_index *ix)
{
    if (!ix)
        return;
    asdnorm__free(ix->vectors);
    asdnorm__free(ix->aux);
    asdnorm__free(ix->scale);
    asdnorm__free(ix->domains);
    asdnorm__free(ix->density);
    asdnorm__free(ix->nbr_dist);
    asdnorm__free(ix->nbr_idx);
    asdnorm__free(ix->nbr_cnt);
    asdnorm__free(ix->copy_prev);
    asdnorm__free(ix);
}

/* A copy of the first n elements of p (size bytes each) in *out; NULL for none. */
static bool dup_rows(const void *p, size_t n, size_t size, void *out)
{
    void *q = NULL;
    if (p && n > 0) {
        q = asdnorm__mallocn(n, size);
        if (!q)
            return false;
        memcpy(q, p, n * size);
    }
    memcpy(out, &q, sizeof q);
    return true;
}

asdnorm_status asdnorm_index_clone(const asdnorm_index *ix, asdnorm_index **out)
{
    if (!out)
        return ASDNORM_E_NULL;
    *out = NULL;
    if (!ix)
        return ASDNORM_E_NULL;
    asdnorm_index *c = asdnorm__calloc(1, sizeof *c);
    if (!c)
        return ASDNORM_E_NOMEM;
    /* Every scalar field, then a private copy of every array; the capacity is
     * the size (the clone grows like any index when rows are added). */
    *c = *ix;
    c->vectors = c->aux = NULL;
    c->scale = c->density = NULL;
    c->domains = NULL;
    c->nbr_dist = NULL;
    c->nbr_idx = c->nbr_cnt = NULL;
    c->copy_prev = NULL;
    c->capacity = ix->size;
    c->progress = NULL; /* a callback is the caller's, for the object it set it on */
    c->progress_user = NULL;
    const size_t m = ix->size, lists = ix->nbr_cnt ? m : 0;
    bool ok = dup_rows(ix->vectors, m, ix->dim * sizeof(float), &c->vectors) &&
              dup_rows(ix->aux, m, sizeof(float), &c->aux) &&
              dup_rows(ix->scale, m, sizeof(double), &c->scale) &&
              dup_rows(ix->domains, m, sizeof(uint8_t), &c->domains) &&
              dup_rows(ix->density, ix->finalized ? m : 0, sizeof(double), &c->density) &&
              dup_rows(ix->nbr_cnt, lists, sizeof(size_t), &c->nbr_cnt) &&
              dup_rows(ix->nbr_dist, lists, ix->nbr_cap * sizeof(double), &c->nbr_dist) &&
              dup_rows(ix->nbr_idx, lists, ix->nbr_cap * sizeof(size_t), &c->nbr_idx) &&
              dup_rows(ix->copy_prev, ix->copy_rows, sizeof(uint32_t), &c->copy_prev);
    if (!ok) {
        asdnorm_index_free(c);
        return ASDNORM_E_NOMEM;
    }
    *out = c;
    return ASDNORM_OK;
}

/* Grow every per-row array to hold `need` rows. A failure part-way leaves some
 * arrays larger than `capacity` says, with their contents intact: harmless. */
static asdnorm_status reserve(asdnorm_index *ix, size_t need)
{
    if (need <= ix->capacity)
        return ASDNORM_OK;
    size_t cap = ix->capacity < 16 ? 16 : ix->capacity;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    size_t vec_elems, vec_bytes, scale_bytes, aux_bytes;
    if (!asdnorm__mul_ok(cap, ix->dim, &vec_elems) ||
        !asdnorm__mul_ok(vec_elems, sizeof(float), &vec_bytes) ||
        !asdnorm__mul_ok(cap, sizeof(double), &scale_bytes) ||
        !asdnorm__mul_ok(cap, sizeof(float), &aux_bytes))
        return ASDNORM_E_OVERFLOW;

    float *v = asdnorm__realloc(ix->vectors, vec_bytes);
    if (!v)
        return ASDNORM_E_NOMEM;
    ix->vectors = v;
    float *a = asdnorm__realloc(ix->aux, aux_bytes);
    if (!a)
        return ASDNORM_E_NOMEM;
    ix->aux = a;
    if (ix->distance == ASDNORM_DISTANCE_COSINE) {
        double *s = asdnorm__realloc(ix->scale, scale_bytes);
        if (!s)
            return ASDNORM_E_NOMEM;
        ix->scale = s;
    }
    uint8_t *d = asdnorm__realloc(ix->domains, cap);
    if (!d)
        return ASDNORM_E_NOMEM;
    ix->domains = d;
    ix->capacity = cap;
    return ASDNORM_OK;
}

static asdnorm_status add_rows(asdnorm_index *ix, const float *x, size_t n,
                               const uint8_t *domains, bool normalize)
{
    if (!ix)
        return ASDNORM_E_NULL;
    if (n == 0)
        return ASDNORM_OK;
    if (!x)
        return ASDNORM_E_NULL;
    size_t new_size;
    if (!asdnorm__rows_fit(n, ix->dim) || __builtin_add_overflow(ix->size, n, &new_size) ||
        !asdnorm__rows_fit(new_size, ix->dim))
        return ASDNORM_E_OVERFLOW;
    if (domains)
        for (size_t i = 0; i < n; i++)
            if (domains[i] > ASDNORM_DOMAIN_TARGET)
                return ASDNORM_E_LABEL;
    asdnorm_status st = asdnorm__check_rows(x, n, ix->dim, ix->distance, NULL);
    if (st != ASDNORM_OK)
        return st;
    st = reserve(ix, new_size);
    if (st != ASDNORM_OK)
        return st;

    /* Nothing can fail from here on. Rows are independent: split them. */
    const size_t dim = ix->dim;
#pragma omp parallel for schedule(static) if (n * dim >= ASDNORM_PARALLEL_WORK) \
    num_threads(asdnorm__threads())
    for (size_t i = 0; i < n; i++) {
        const size_t j = ix->size + i;
        const float *src = x + i * dim;
        float *dst = ix->vectors + j * dim;
        if (ix->distance == ASDNORM_DISTANCE_COSINE) {
            if (normalize) {
                /* Store the row scaled by a power of two, which is exact, to a
                 * norm in [0.5, 1), and c_j = 1/‖stored‖ in double: the reference
                 * is then exactly x/‖x‖, where float-rounded unit vectors would
                 * move its direction by ~2⁻²⁴ (docs/math.md §5). */
                int e;
                (void)frexp(asdnorm__norm2(src, dim), &e);
                /* x · 2⁻ᵉ in double is exact, and its one rounding to float is
                 * ldexpf(x, −e)'s (also for subnormal results), without a libm
                 * call per element; 2⁻ᵉ itself may be outside float's range. */
                const double f = ldexp(1.0, -e);
                for (size_t k = 0; k < dim; k++)
                    dst[k] = (float)((double)src[k] * f);
                ix->scale[j] = 1.0 / asdnorm__norm2(dst, dim);
            } else {
                memcpy(dst, src, dim * sizeof *dst);
                ix->scale[j] = 1.0;
            }
            ix->aux[j] = (float)ix->scale[j];
        } else {
            memcpy(dst, src, dim * sizeof *dst);
            double nrm = asdnorm__norm2(dst, dim);
            ix->aux[j] = (float)(nrm * nrm);
        }
        ix->domains[j] = domains ? domains[i] : ASDNORM_DOMAIN_UNKNOWN;
    }
    /* The rows are stored past the end, not yet part of the index. A finalized index
     * whose densities finalize computed takes them in exactly (incr.c), changing nothing
     * when that fails; one whose densities were given cannot, and is un-finalized. */
    if (ix->finalized && ix->computed)
        return asdnorm__incr_add(ix, n);
    ix->size = new_size;
    ix->finalized = false;
    return ASDNORM_OK;
}

asdnorm_status asdnorm_index_add(asdnorm_index *ix, const float *x, size_t n,
                                 const uint8_t *domains)
{
    if (!ix)
        return ASDNORM_E_NULL;
    const int prev = asdnorm__call_threads(ix->threads);
    asdnorm_status st = add_rows(ix, x, n, domains, true);
    asdnorm__call_threads(prev);
    return st;
}

asdnorm_status asdnorm__index_add_raw(asdnorm_index *ix, const float *x, size_t n,
                                      const uint8_t *domains)
{
    return add_rows(ix, x, n, domains, false);
}

/* ---- finalize ---------------------------------------------------------------- */

/* GWRP weights r^(i−1) below 2⁻⁴⁵ of the first are not visited: the terms they
 * would add are bounded by d_max · r^L / (1 − r), far below float rounding of the
 * result unless d_max / n_j exceeds ~10⁶ (docs/math.md §2.2). */
#define GWRP_TAIL_LOG2 45.0

size_t asdnorm__gwrp_terms(double r, size_t others)
{
    if (r == 0.0)
        return 1;
    if (r == 1.0)
        return others;
    double L = ceil(GWRP_TAIL_LOG2 * log(2.0) / -log(r));
    return L >= (double)others ? others : (size_t)L;
}

size_t asdnorm__nbr_need(asdnorm_density density, double param, size_t m)
{
    if (density == ASDNORM_DENSITY_NONE || m < 2)
        return 0;
    if (density == ASDNORM_DENSITY_KNN)
        return (size_t)asdnorm__kept_param(density, param, m);
    return asdnorm__gwrp_terms(param, m - 1);
}

double asdnorm__density_of(asdnorm_density density, double param, size_t others,
                           const double *dist, size_t k)
{
    if (density == ASDNORM_DENSITY_KNN) {
        double s = 0;
        for (size_t t = 0; t < k; t++)
            s += dist[t];
        return s / (double)k;
    }
    /* GWRP: Σ r^(t) d_(t+1) / Σ r^(t) over all M − 1 others; the unvisited tail
     * (t ≥ k) is bounded below by d_(k), which is what it contributes here. */
    double w = 1.0, num = 0.0, den = 0.0;
    for (size_t t = 0; t < k; t++) {
        num += w * dist[t];
        den += w;
        w *= param;
    }
    const double tail = asdnorm__gwrp_tail(param, w, k, others);
    if (tail > 0.0) {
        num += tail * dist[k - 1];
        den += tail;
    }
    return num / den;
}

struct density_ctx {
    asdnorm_density estimator;
    double r;
    size_t others;  /* M − 1 */
    double *out;
    size_t need;    /* the entries the density uses; the search may find more */
    double *dist;   /* M × k neighbour lists, or NULL */
    size_t *idx;
};

static asdnorm_status density_row(void *vctx, size_t i, const double *dist, const size_t *idx,
                                  size_t k)
{
    struct density_ctx *ctx = vctx;
    ctx->out[i] = asdnorm__density_of(ctx->estimator, ctx->r, ctx->others, dist, ctx->need);
    if (ctx->dist) {
        memcpy(ctx->dist + i * k, dist, k * sizeof *dist);
        memcpy(ctx->idx + i * k, idx, k * sizeof *idx);
    }
    return ASDNORM_OK;
}

double asdnorm__gwrp_tail(double r, double w, size_t k, size_t others)
{
    if (k >= others || !(w > 0.0))
        return 0.0;
    /* Σ_{t=k}^{others−1} r^t = r^k (1 − r^(others−k)) / (1 − r); here 0 < r < 1. */
    return w * (1.0 - pow(r, (double)(others - k))) / (1.0 - r);
}

asdnorm_status asdnorm__ratio_floor(const asdnorm_index *ix, double *floor)
{
    /* S: 1 under cosine (its distances have no unit); else from V, the mean
     * squared Euclidean distance of the references to their centroid: √V
     * under euclidean, V / D under mse, 1 when V = 0 (all references equal).
     * Every step is exact under scaling by a power of two (docs/math.md §2.3). */
    double s = 1.0;
    if (ix->distance != ASDNORM_DISTANCE_COSINE) {
        const size_t m = ix->size, dim = ix->dim;
        const float *y = ix->vectors;
        double *mean = asdnorm__calloc(dim, sizeof *mean);
        if (!mean)
            return ASDNORM_E_NOMEM;
        for (size_t j = 0; j < m; j++)
            for (size_t k = 0; k < dim; k++)
                mean[k] += y[j * dim + k];
        for (size_t k = 0; k < dim; k++)
            mean[k] /= (double)m;
        double v = 0.0;
        for (size_t j = 0; j < m; j++) {
            double row = 0.0;
            for (size_t k = 0; k < dim; k++) {
                const double t = y[j * dim + k] - mean[k];
                row += t * t;
            }
            v += row;
        }
        asdnorm__free(mean);
        v /= (double)m;
        if (v > 0.0)
            s = ix->distance == ASDNORM_DISTANCE_EUCLIDEAN ? sqrt(v) : v / (double)dim;
    }
    *floor = ASDNORM_EPSILON * s;
    return ASDNORM_OK;
}

/* The checks finalize and set_density share: the estimator, its parameter
 * and enough references for it. */
static asdnorm_status check_estimator(const asdnorm_index *ix, asdnorm_density density,
                                      double param)
{
    if (density != ASDNORM_DENSITY_NONE && density != ASDNORM_DENSITY_KNN &&
        density != ASDNORM_DENSITY_GWRP)
        return ASDNORM_E_ENUM;
    if (density == ASDNORM_DENSITY_KNN &&
        !(param >= 1.0 && param <= 0x1p52 && param == floor(param)))
        return ASDNORM_E_ARG;
    if (density == ASDNORM_DENSITY_GWRP && !(param >= 0.0 && param <= 1.0))
        return ASDNORM_E_ARG;
    if (ix->size == 0 || (density != ASDNORM_DENSITY_NONE && ix->size < 2))
        return ASDNORM_E_TOO_FEW;
    return ASDNORM_OK;
}

/* The parameter get_estimator reports: K clipped to M − 1, r (−0 as +0, which
 * the file format stores: one encoding per index), or 0. */
double asdnorm__kept_param(asdnorm_density density, double param, size_t m)
{
    if (density == ASDNORM_DENSITY_KNN)
        return param >= (double)(m - 1) ? (double)(m - 1) : param;
    return density == ASDNORM_DENSITY_GWRP && param != 0.0 ? param : 0.0;
}

/* The one way an index becomes finalized: it takes ownership of dens (M
 * density constants, already validated) and of the neighbour lists (NULL for
 * given densities), and derives the ratio floor; then the call's progress (or
 * NULL) reports its end, and a cancel there keeps the index as it was too.
 * Fails only for lack of memory or a cancel, changing nothing then (and
 * freeing what it was given). */
static asdnorm_status install_density(asdnorm_index *ix, double *dens, asdnorm_density density,
                                      double param, bool computed, double *nd, size_t *ni,
                                      size_t *cnt, size_t cap, struct asdnorm__progress *prog)
{
    double fl;
    /* The copies are a cache derived from the rows, which a cancel leaves as they
     * are, so refreshing it before the last report changes nothing visible. */
    asdnorm_status st = asdnorm__index_copies(ix);
    if (st == ASDNORM_OK)
        st = asdnorm__ratio_floor(ix, &fl);
    if (st == ASDNORM_OK)
        st = asdnorm__progress_end(prog);
    if (st != ASDNORM_OK) {
        asdnorm__free(dens);
        asdnorm__free(nd);
        asdnorm__free(ni);
        asdnorm__free(cnt);
        return st;
    }
    asdnorm__free(ix->density);
    asdnorm__free(ix->nbr_dist);
    asdnorm__free(ix->nbr_idx);
    asdnorm__free(ix->nbr_cnt);
    ix->density = dens;
    ix->nbr_dist = nd;
    ix->nbr_idx = ni;
    ix->nbr_cnt = cnt;
    ix->nbr_cap = cap;
    ix->estimator = density;
    ix->param = asdnorm__kept_param(density, param, ix->size);
    /* The parameter incremental updates use; for given densities (no updates) the
     * reported one, as the file format stores it: one encoding per index. */
    ix->param_req = !computed || density == ASDNORM_DENSITY_NONE ? ix->param
                    : param == 0.0                               ? 0.0
                                                                 : param;
    ix->computed = computed;
    ix->floor = fl;
    ix->finalized = true;
    return ASDNORM_OK;
}

asdnorm_status asdnorm__compute_density(const asdnorm_index *ix, asdnorm_density density,
                                        double param, struct asdnorm__progress *prog,
                                        double **dens, double **dist, size_t **idx,
                                        size_t **cnt, size_t *cap)
{
    const size_t m = ix->size;
    const size_t need = asdnorm__nbr_need(density, param, m);
    const size_t room = asdnorm__nbr_cap(need, m);
    const bool keep = asdnorm__nbr_keep(m, room);
    double *d = asdnorm__calloc(m, sizeof *d);
    double *nd = keep ? asdnorm__mallocn(m * room, sizeof *nd) : NULL;
    size_t *ni = keep ? asdnorm__mallocn(m * room, sizeof *ni) : NULL;
    size_t *nc = keep ? asdnorm__mallocn(m, sizeof *nc) : NULL;
    asdnorm_status st = d && (!keep || (nd && ni && nc)) ? ASDNORM_OK : ASDNORM_E_NOMEM;
    if (st == ASDNORM_OK && density != ASDNORM_DENSITY_NONE) {
        /* With lists, the search finds room ≥ need neighbours; the first need of them are
         * the need nearest, so the densities are those of a search for need. */
        struct density_ctx ctx = {density, param, m - 1, d, need, nd, ni};
        st = asdnorm__knn_self_progress(ix, keep ? room : need, density_row, &ctx, prog);
    }
    if (st != ASDNORM_OK) {
        asdnorm__free(d);
        asdnorm__free(nd);
        asdnorm__free(ni);
        asdnorm__free(nc);
        return st;
    }
    for (size_t i = 0; keep && i < m; i++)
        nc[i] = room;
    *dens = d;
    *dist = nd;
    *idx = ni;
    *cnt = nc;
    *cap = keep ? room : 0;
    return ASDNORM_OK;
}

asdnorm_status asdnorm_index_get_floor(const asdnorm_index *ix, double *phi)
{
    if (!ix || !phi)
        return ASDNORM_E_NULL;
    if (!ix->finalized)
        return ASDNORM_E_STATE;
    *phi = ix->floor;
    return ASDNORM_OK;
}

asdnorm_status asdnorm_index_set_floor(asdnorm_index *ix, double phi)
{
    if (!ix)
        return ASDNORM_E_NULL;
    if (!ix->finalized)
        return ASDNORM_E_STATE;
    if (!(phi > 0.0 && phi <= DBL_MAX))
        return ASDNORM_E_ARG;
    ix->floor = phi;
    return ASDNORM_OK;
}

static asdnorm_status finalize(asdnorm_index *ix, asdnorm_density density, double param)
{
    asdnorm_status st = check_estimator(ix, density, param);
    if (st != ASDNORM_OK)
        return st;
    /* The search uses the copies (knn_sym.c), and so do the scorers after. */
    st = asdnorm__index_copies(ix);
    if (st != ASDNORM_OK)
        return st;
    double *dens, *nd;
    size_t *ni, *cnt, cap;
    struct asdnorm__progress prog;
    st = asdnorm__progress_begin(&prog, ix->progress, ix->progress_user);
    if (st == ASDNORM_OK)
        st = asdnorm__compute_density(ix, density, param, &prog, &dens, &nd, &ni, &cnt, &cap);
    if (st != ASDNORM_OK)
        return st;
    return install_density(ix, dens, density, param, true, nd, ni, cnt, cap, &prog);
}

asdnorm_status asdnorm_index_finalize(asdnorm_index *ix, asdnorm_density density, double param)
{
    if (!ix)
        return ASDNORM_E_NULL;
    const int prev = asdnorm__call_threads(ix->threads);
    asdnorm_status st = finalize(ix, density, param);
    asdnorm__call_threads(prev);
    return st;
}

asdnorm_status asdnorm_index_set_density(asdnorm_index *ix, asdnorm_density density,
                                         double param, const double *values, size_t n)
{
    if (!ix || !values)
        return ASDNORM_E_NULL;
    asdnorm_status st = check_estimator(ix, density, param);
    if (st != ASDNORM_OK)
        return st;
    if (n != ix->size)
        return ASDNORM_E_DIM;
    /* What finalize can produce and the file format accepts: finite, in
     * [0, FLT_MAX] (so every score is a finite float), all 0 for NONE. */
    for (size_t i = 0; i < n; i++) {
        const double v = values[i];
        if (!isfinite(v))
            return ASDNORM_E_NONFINITE;
        if (v < 0.0 || (density == ASDNORM_DENSITY_NONE && v != 0.0))
            return ASDNORM_E_ARG;
        if (v > FLT_MAX)
            return ASDNORM_E_RANGE;
    }
    double *dens = asdnorm__mallocn(n, sizeof *dens);
    if (!dens)
        return ASDNORM_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        dens[i] = values[i] == 0.0 ? 0.0 : values[i]; /* −0 stored as +0, as finalize has it */
    return install_density(ix, dens, density, param, false, NULL, NULL, NULL, 0, NULL);
}

asdnorm_status asdnorm_index_set_threads(asdnorm_index *ix, unsigned threads)
{
    if (!ix)
        return ASDNORM_E_NULL;
    if (threads > ASDNORM_MAX_THREADS)
        return ASDNORM_E_ARG;
    ix->threads = (int)threads;
    return ASDNORM_OK;
}

asdnorm_status asdnorm_index_set_progress(asdnorm_index *ix, asdnorm_progress_fn fn, void *user)
{
    if (!ix)
        return ASDNORM_E_NULL;
    ix->progress = fn;
    ix->progress_user = user;
    return ASDNORM_OK;
}

/* ---- accessors --------------------------------------------------------------- */

size_t asdnorm_index_size(const asdnorm_index *ix)
{
    return ix ? ix->size : 0;
}

size_t asdnorm_index_dim(const asdnorm_index *ix)
{
    return ix ? ix->dim : 0;
}

asdnorm_distance asdnorm_index_distance(const asdnorm_index *ix)
{
    return ix ? ix->distance : ASDNORM_DISTANCE_COSINE;
}

int asdnorm_index_is_finalized(const asdnorm_index *ix)
{
    return ix && ix->finalized;
}

asdnorm_status asdnorm_index_get_estimator(const asdnorm_index *ix, asdnorm_density *density,
                                           double *param)
{
    if (!ix || !density || !param)
        return ASDNORM_E_NULL;
    if (!ix->finalized)
        return ASDNORM_E_STATE;
    *density = ix->estimator;
    *param = ix->param;
    return ASDNORM_OK;
}

asdnorm_status asdnorm_index_get_density(const asdnorm_index *ix, double *out, size_t n)
{
    if (!ix || !out)
        return ASDNORM_E_NULL;
    if (!ix->finalized)
        return ASDNORM_E_STATE;
    if (n != ix->size)
        return ASDNORM_E_DIM;
    memcpy(out, ix->density, n * sizeof *out);
    return ASDNORM_OK;
}

asdnorm_status asdnorm_index_get_domains(const asdnorm_index *ix, uint8_t *out, size_t n)
{
    if (!ix || (!out && n > 0))
        return ASDNORM_E_NULL;
    if (n != ix->size)
        return ASDNORM_E_DIM;
    if (n > 0)
        memcpy(out, ix->domains, n);
    return ASDNORM_OK;
}

asdnorm_status asdnorm_index_get_vectors(const asdnorm_index *ix, size_t first, size_t count,
                                         float *out)
{
    if (!ix || (!out && count > 0))
        return ASDNORM_E_NULL;
    size_t end, elems, bytes;
    if (__builtin_add_overflow(first, count, &end) || end > ix->size)
        return ASDNORM_E_ARG;
    if (!asdnorm__mul_ok(count, ix->dim, &elems) ||
        !asdnorm__mul_ok(elems, sizeof(float), &bytes))
        return ASDNORM_E_OVERFLOW;
    if (count == 0)
        return ASDNORM_OK;
    if (ix->distance != ASDNORM_DISTANCE_COSINE) {
        memcpy(out, ix->vectors + first * ix->dim, bytes);
        return ASDNORM_OK;
    }
    for (size_t i = 0; i < count; i++) {
        const float *src = ix->vectors + (first + i) * ix->dim;
        const double c = ix->scale[first + i];
        for (size_t k = 0; k < ix->dim; k++)
            out[i * ix->dim + k] = (float)(src[k] * c);
    }
    return ASDNORM_OK;
}
