/* SPDX-License-Identifier: MIT */
/* Distance kernels (docs/math.md §2.1).
 *
 * Two tiers. The bulk of the work is one float32 sgemm per block followed by a
 * fused transform into distances: fast, but its rounding error is absolute
 * (about 2⁻²⁴·‖x‖‖y‖·√dim), so small distances lose their relative accuracy and
 * duplicates do not come out as 0. It is therefore used only to *select*
 * candidates; the distances that end up in a density constant or a score are
 * recomputed exactly in double by asdnorm__exact_distance (docs/math.md §5). */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "internal.h"

double asdnorm__norm2(const float *v, size_t dim)
{
    /* Four partial sums in a fixed order: independent chains (a single one
     * waits on every addition), and the same result on every call. The
     * products are exact in double. */
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= dim; i += 4) {
        s0 += (double)v[i] * v[i];
        s1 += (double)v[i + 1] * v[i + 1];
        s2 += (double)v[i + 2] * v[i + 2];
        s3 += (double)v[i + 3] * v[i + 3];
    }
    for (; i < dim; i++)
        s0 += (double)v[i] * v[i];
    return sqrt((s0 + s1) + (s2 + s3));
}

static double clamp01(double v)
{
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

/* The distance of query q to reference j; qi = 1/‖q‖ (cosine only). */
static double exact(const asdnorm_index *ix, const float *q, double qi, size_t j)
{
    const size_t dim = ix->dim;
    const float *y = ix->vectors + j * dim;
    if (ix->distance == ASDNORM_DISTANCE_COSINE) {
        /* 0.5 · (1 − ⟨x̂, ŷ⟩) = ¼ ‖x̂ − ŷ‖² + ¼ (1 − ‖ŷ‖²): no cancellation for
         * close vectors, where 1 − cos θ would lose half the digits. ŷ = c_j y_j
         * is exactly unit for normalized rows (c_j > 1, see index.c), so the
         * second term is only computed for raw rows (c_j = 1: centroids). */
        const double c = ix->scale[j];
        if (c != 1.0)
            return clamp01(0.25 * asdnorm__sqdiff(q, qi, y, c, dim));
        double ss = 0, yy = 0;
        for (size_t i = 0; i < dim; i++) {
            double yc = (double)y[i] * c, d = (double)q[i] * qi - yc;
            ss += d * d;
            yy += yc * yc;
        }
        return clamp01(0.25 * ss + 0.25 * (1.0 - yy));
    }
    /* × 1 is exact: the plain (qₖ − yₖ)². */
    const double ss = asdnorm__sqdiff(q, 1.0, y, 1.0, dim);
    return ix->distance == ASDNORM_DISTANCE_EUCLIDEAN ? sqrt(ss) : ss / (double)dim;
}

double asdnorm__exact_distance(const asdnorm_index *ix, const float *q, double q_norm, size_t j)
{
    return exact(ix, q, ix->distance == ASDNORM_DISTANCE_COSINE ? 1.0 / q_norm : 1.0, j);
}

double asdnorm__exact_ref_distance(const asdnorm_index *ix, size_t i, size_t j)
{
    const float *q = ix->vectors + i * ix->dim;
    double qi = 1.0;
    /* A normalized row's c_i is 1/‖stored row‖, computed as below (index.c),
     * so the two agree bitwise; a raw row (c_i = 1) needs its norm. */
    if (ix->distance == ASDNORM_DISTANCE_COSINE)
        qi = ix->scale[i] != 1.0 ? ix->scale[i] : 1.0 / asdnorm__norm2(q, ix->dim);
    return exact(ix, q, qi, j);
}

/* γ_D = D·u / (1 − D·u), u = 2⁻²⁴: the classical bound on the rounding error of
 * a float dot product of length D, relative to Σ|q_k y_k| (Higham, Accuracy and
 * Stability of Numerical Algorithms, §3.1); blocked and FMA sgemm kernels stay
 * within it. The extra units of u cover the float norms, the normalization of
 * the query and the few operations of the transform. */
float asdnorm__error_scale(const asdnorm_index *ix, float qaux, float aux_max)
{
    const double u = 0x1p-24, du = (double)ix->dim * u;
    const double gamma = du / (1.0 - du);
    if (ix->distance == ASDNORM_DISTANCE_COSINE)
        return (float)(0.5 * (gamma + 2 * u) + 3 * u) * 1.0001f;
    double e2 = (gamma + 6 * u) * ((double)qaux + (double)aux_max) * 1.0001;
    return (float)(ix->distance == ASDNORM_DISTANCE_MSE ? e2 / (double)ix->dim : e2);
}

float asdnorm__aux_max(const asdnorm_index *ix, size_t j0, size_t n)
{
    float mx = 0.0f;
    for (size_t j = j0; j < j0 + n; j++)
        mx = ix->aux[j] > mx ? ix->aux[j] : mx;
    return mx;
}

void asdnorm__prepare_queries(const asdnorm_index *ix, const float *x, size_t nq, float *Q,
                              float *qaux, double *qnorm)
{
    const size_t dim = ix->dim;
    for (size_t i = 0; i < nq; i++) {
        const float *src = x + i * dim;
        float *dst = Q + i * dim;
        double nrm = asdnorm__norm2(src, dim);
        qnorm[i] = nrm;
        if (ix->distance == ASDNORM_DISTANCE_COSINE) {
            double inv = 1.0 / nrm;
            for (size_t k = 0; k < dim; k++)
                dst[k] = (float)(src[k] * inv);
            qaux[i] = 1.0f;
        } else {
            memcpy(dst, src, dim * sizeof *dst);
            qaux[i] = (float)(nrm * nrm);
        }
    }
}

void asdnorm__block_dots(const asdnorm_index *ix, const float *Q, size_t nq, size_t j0, size_t nr,
                         float *out, size_t ld)
{
    const size_t dim = ix->dim;
    const float *Y = ix->vectors + j0 * dim;
    /* BLAS takes int dimensions; callers keep blocks far below INT_MAX. */
    if (nq == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)nr, (int)dim, 1.0f, Y, (int)dim, Q, 1,
                    0.0f, out, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)nr, (int)dim, 1.0f,
                    Q, (int)dim, Y, (int)dim, 0.0f, out, (int)ld);
}

void asdnorm__block_self_dots(const asdnorm_index *ix, size_t j0, size_t n, float *out,
                              size_t ld)
{
    const size_t dim = ix->dim;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)dim, 1.0f,
                ix->vectors + j0 * dim, (int)dim, 0.0f, out, (int)ld);
}

void asdnorm__block_distances(const asdnorm_index *ix, const float *Q, const float *qaux,
                              size_t nq, size_t j0, size_t nr, float *out, size_t ld)
{
    const float *aux = ix->aux + j0;
    asdnorm__block_dots(ix, Q, nq, j0, nr, out, ld);

    /* The transform is a pass over the whole block: split its rows between the
     * threads (element-wise, so the values do not depend on the split; one
     * thread when called from inside the library's own parallel region, where
     * asdnorm__threads() is 1). Each row is transformed in place by the same
     * code the fused scans use (asdnorm__chunk_dist), so the values are bitwise
     * theirs. qaux is unused under cosine. */
    const float mse_scale = 1.0f / (float)ix->dim;
#pragma omp parallel for schedule(static) \
    if (nq >= 16 && asdnorm__worth_threads(ASDNORM_WORK_PASS, nq * nr)) \
    num_threads(asdnorm__threads())
    for (size_t i = 0; i < nq; i++) {
        float *row = out + i * ld;
        asdnorm__chunk_dist(ix->distance, row, aux, qaux[i], mse_scale, nr, row);
    }
}

/* A hash of reference j's stored row (its bits), for asdnorm__find_copies. */
static uint64_t row_hash(const asdnorm_index *ix, size_t j)
{
    const uint32_t *w = (const uint32_t *)(const void *)(ix->vectors + j * ix->dim);
    uint64_t h[4] = {0x243f6a8885a308d3u, 0x13198a2e03707344u, 0xa4093822299f31d0u,
                     0x082efa98ec4e6c89u};
    size_t k = 0;
    for (; k + 4 <= ix->dim; k += 4)
        for (size_t t = 0; t < 4; t++)
            h[t] = (h[t] ^ w[k + t]) * 0x100000001b3u;
    for (; k < ix->dim; k++)
        h[0] = (h[0] ^ w[k]) * 0x100000001b3u;
    uint64_t r = h[0] ^ (h[1] >> 1) ^ (h[2] >> 2) ^ (h[3] >> 3);
    r ^= r >> 33;
    r *= 0xff51afd7ed558ccdu;
    return r ^ (r >> 29);
}

/* References i and j are stored alike: every computation treats them alike. */
static bool same_row(const asdnorm_index *ix, size_t i, size_t j)
{
    const size_t dim = ix->dim;
    /* aux and c_j are finite and never −0 (index.c), so == is bitwise here. */
    if (memcmp(ix->vectors + i * dim, ix->vectors + j * dim, dim * sizeof(float)) != 0 ||
        ix->aux[i] != ix->aux[j])
        return false;
    return ix->distance != ASDNORM_DISTANCE_COSINE || ix->scale[i] == ix->scale[j];
}

asdnorm_status asdnorm__find_copies(const asdnorm_index *ix, size_t m, uint32_t *prev,
                                    size_t *copies)
{
    /* Open addressing, at most half full; a slot holds the last row seen with
     * its contents, so a chain of copies links each to the one before. */
    size_t cap = 16;
    while (cap < 2 * m)
        cap *= 2;
    uint32_t *slot = asdnorm__mallocn(cap, sizeof *slot);
    if (!slot)
        return ASDNORM_E_NOMEM;
    for (size_t t = 0; t < cap; t++)
        slot[t] = ASDNORM_NO_COPY;
    size_t n = 0;
    for (size_t j = 0; j < m; j++) {
        size_t t = (size_t)row_hash(ix, j) & (cap - 1);
        while (slot[t] != ASDNORM_NO_COPY && !same_row(ix, slot[t], j))
            t = (t + 1) & (cap - 1);
        prev[j] = slot[t];
        n += slot[t] != ASDNORM_NO_COPY;
        slot[t] = (uint32_t)j;
    }
    asdnorm__free(slot);
    *copies = n;
    return ASDNORM_OK;
}

void asdnorm__index_drop_copies(asdnorm_index *ix)
{
    asdnorm__free(ix->copy_prev);
    ix->copy_prev = NULL;
    ix->copy_rows = ix->copy_count = 0;
}

asdnorm_status asdnorm__index_copies(asdnorm_index *ix)
{
    const size_t m = ix->size;
    if (ix->copy_rows == m || m >= UINT32_MAX)
        return ASDNORM_OK;
    asdnorm__index_drop_copies(ix);
    uint32_t *prev = asdnorm__mallocn(m, sizeof *prev);
    size_t copies = 0;
    if (!prev || asdnorm__find_copies(ix, m, prev, &copies) != ASDNORM_OK) {
        asdnorm__free(prev);
        return ASDNORM_E_NOMEM;
    }
    if (copies == 0) {
        asdnorm__free(prev);
        prev = NULL;
    }
    ix->copy_prev = prev;
    ix->copy_rows = m;
    ix->copy_count = copies;
    return ASDNORM_OK;
}

void asdnorm__near_constants(asdnorm_index *ix)
{
    /* S = Σ fl(tₖ²) with tₖ the float difference of the scaled rows: each
     * tₖ within u (relative) of the exact difference of the rounded rows, and
     * S within γ_{D+2} of Σ tₖ² (any summation order), plus (D + 1)·2⁻¹⁴⁸
     * for squares and sums in the subnormal range. So the norm of the exact
     * difference is at least √((S − tiny) / (1 + γ)) / (1 + u) and at most
     * √((S + tiny) / (1 − γ)) / (1 − u): one factor under the root each,
     * rounded outwards here (by far more than the few roundings of computing
     * it), so that a call costs a multiplication and a square root. */
    const double u = 0x1p-24, du = (double)(ix->dim + 2) * u;
    const double gamma = du / (1.0 - du);
    ix->near_tiny = (double)(ix->dim + 1) * 0x1p-148;
    ix->near_lo = 1.0 / ((1.0 + gamma) * (1.0 + u) * (1.0 + u)) * (1.0 - 0x1p-48);
    ix->near_hi = 1.0 / ((1.0 - gamma) * (1.0 - u) * (1.0 - u)) * (1.0 + 0x1p-48);
}

void asdnorm__near_bounds(const asdnorm_index *ix, float S, double *lo, double *hi)
{
    if (!(S < INFINITY)) {
        *lo = 0.0;
        *hi = INFINITY;
        return;
    }
    /* The bounds on the norm (asdnorm__near_constants). */
    double rlo = sqrt(fmax((double)S - ix->near_tiny, 0.0) * ix->near_lo);
    double rhi = sqrt(((double)S + ix->near_tiny) * ix->near_hi);
    if (ix->distance == ASDNORM_DISTANCE_COSINE) {
        /* The rows are the unit vectors rounded: each coordinate within 2u + u²
         * (relative) of the exact one's, so the two differ by at most 5u in norm. */
        const double eta = 5.0 * 0x1p-24;
        rlo = fmax(rlo - eta, 0.0);
        rhi += eta;
        *lo = 0.25 * rlo * rlo;
        *hi = 0.25 * rhi * rhi;
    } else if (ix->distance == ASDNORM_DISTANCE_EUCLIDEAN) {
        *lo = rlo;
        *hi = rhi;
    } else {
        *lo = rlo * rlo / (double)ix->dim;
        *hi = rhi * rhi / (double)ix->dim;
    }
    /* the few double roundings above */
    *lo *= 1.0 - 0x1p-48;
    *hi *= 1.0 + 0x1p-48;
}

bool asdnorm__symmetric(const asdnorm_index *ix)
{
    if (ix->distance != ASDNORM_DISTANCE_COSINE)
        return true;
    for (size_t j = 0; j < ix->size; j++)
        if (ix->scale[j] == 1.0)
            return false;
    return true;
}
