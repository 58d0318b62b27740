/* SPDX-License-Identifier: MIT */
/* Local Outlier Factor in novelty mode (Breunig et al. 2000), as
 * scikit-learn's LocalOutlierFactor(novelty=True) computes it (math §3):
 *   kdist(b)     = distance from reference b to its k-th nearest other reference
 *   reach(a, b)  = max(kdist(b), d(a, b))
 *   lrd(a)       = 1 / (mean of reach(a, b) over a's k neighbours b + 1e-10)
 *   score(x)     = mean over x's k nearest references b of lrd(b) / lrd(x).
 * Both the fit (references against each other, excluded by position) and the
 * scoring use the library's one k-NN machinery (knn.c). */
#include <string.h>

#include "internal.h"

/* scikit-learn's guard against a zero mean reachability (duplicates). */
#define LRD_EPS 1e-10
/* Query rows per knn call: bounds the scratch at QUERY_BLOCK × k. */
#define QUERY_BLOCK 256

struct asdnorm_lof {
    const asdnorm_index *ix;
    size_t k;      /* neighbours, clipped to M − 1 */
    size_t m;      /* M at fit time: the index must not change afterwards */
    double *kdist; /* M */
    double *lrd;   /* M */
};

/* lrd of a point from its k neighbour distances and positions. */
static double lrd_of(const asdnorm_lof *lof, const double *dist, const size_t *idx)
{
    double s = 0;
    for (size_t t = 0; t < lof->k; t++) {
        double kd = lof->kdist[idx[t]];
        s += dist[t] > kd ? dist[t] : kd;
    }
    return 1.0 / (s / (double)lof->k + LRD_EPS);
}

asdnorm_status asdnorm_lof_new(const asdnorm_index *ix, size_t k, asdnorm_lof **out)
{
    if (!out)
        return ASDNORM_E_NULL;
    *out = NULL;
    if (!ix)
        return ASDNORM_E_NULL;
    if (k == 0)
        return ASDNORM_E_ARG;
    const size_t m = ix->size;
    if (m < 2)
        return ASDNORM_E_TOO_FEW;
    if (k > m - 1)
        k = m - 1;
    size_t mk;
    if (!asdnorm__mul_ok(m, k, &mk))
        return ASDNORM_E_OVERFLOW;

    asdnorm_status st = ASDNORM_E_NOMEM;
    struct asdnorm__knn_rows ctx = {asdnorm__mallocn(mk, sizeof(double)),
                                    asdnorm__mallocn(mk, sizeof(size_t))}; /* M × k each */
    asdnorm_lof *lof = asdnorm__calloc(1, sizeof *lof);
    if (!ctx.dist || !ctx.idx || !lof)
        goto fail;
    lof->ix = ix;
    lof->k = k;
    lof->m = m;
    lof->kdist = asdnorm__mallocn(m, sizeof *lof->kdist);
    lof->lrd = asdnorm__mallocn(m, sizeof *lof->lrd);
    if (!lof->kdist || !lof->lrd)
        goto fail;
    st = asdnorm__knn_self(ix, k, asdnorm__knn_store_row, &ctx);
    if (st != ASDNORM_OK)
        goto fail;
    /* Every k-distance first: lrd(a) needs its neighbours' k-distances. */
    for (size_t i = 0; i < m; i++)
        lof->kdist[i] = ctx.dist[i * k + k - 1];
    for (size_t i = 0; i < m; i++)
        lof->lrd[i] = lrd_of(lof, ctx.dist + i * k, ctx.idx + i * k);
    asdnorm__free(ctx.dist);
    asdnorm__free(ctx.idx);
    *out = lof;
    return ASDNORM_OK;
fail:
    asdnorm__free(ctx.dist);
    asdnorm__free(ctx.idx);
    asdnorm_lof_free(lof);
    return st;
}

void asdnorm_lof_free(asdnorm_lof *lof)
{
    if (!lof)
        return;
    asdnorm__free(lof->kdist);
    asdnorm__free(lof->lrd);
    asdnorm__free(lof);
}

/* n × dim floats fit in memory's address space: the element count and the
 * byte count both fit in size_t. */
static bool float_rows_ok(size_t n, size_t dim)
{
    size_t elems, bytes;
    return asdnorm__mul_ok(n, dim, &elems) && asdnorm__mul_ok(elems, sizeof(float), &bytes);
}

asdnorm_status asdnorm_lof_score(asdnorm_lof *lof, const float *x, size_t n, float *scores)
{
    if (!lof)
        return ASDNORM_E_NULL;
    if (n == 0)
        return ASDNORM_OK;
    if (!x || !scores)
        return ASDNORM_E_NULL;
    const asdnorm_index *ix = lof->ix;
    const size_t dim = ix->dim, k = lof->k;
    if (!float_rows_ok(n, dim))
        return ASDNORM_E_OVERFLOW;
    /* The index changed since the fit: the stored lrd no longer describe it. */
    if (ix->size != lof->m)
        return ASDNORM_E_STATE;
    asdnorm_status st = asdnorm__check_rows(x, n, dim, ix->distance, NULL);
    if (st != ASDNORM_OK)
        return st;

    const size_t rows = n < QUERY_BLOCK ? n : QUERY_BLOCK;
    size_t bk;
    if (!asdnorm__mul_ok(rows, k, &bk))
        return ASDNORM_E_OVERFLOW;
    /* Results go to a private buffer first: a failure part-way (out of
     * memory inside the k-NN pass) must leave the caller's scores untouched. */
    float *res = asdnorm__mallocn(n, sizeof *res);
    double *dist = asdnorm__mallocn(bk, sizeof *dist);
    size_t *idx = asdnorm__mallocn(bk, sizeof *idx);
    st = res && dist && idx ? ASDNORM_OK : ASDNORM_E_NOMEM;
    for (size_t i0 = 0; i0 < n && st == ASDNORM_OK; i0 += rows) {
        size_t b = n - i0 < rows ? n - i0 : rows;
        st = asdnorm__knn_query(ix, x + i0 * dim, b, k, dist, idx);
        if (st != ASDNORM_OK)
            break;
        for (size_t r = 0; r < b; r++) {
            const double *d = dist + r * k;
            const size_t *j = idx + r * k;
            double lrd_x = lrd_of(lof, d, j);
            /* scikit-learn averages the ratios lrd(b) / lrd(x). */
            double s = 0;
            for (size_t t = 0; t < k; t++)
                s += lof->lrd[j[t]] / lrd_x;
            res[i0 + r] = (float)(s / (double)k);
        }
    }
    if (st == ASDNORM_OK)
        memcpy(scores, res, n * sizeof *scores);
    asdnorm__free(res);
    asdnorm__free(dist);
    asdnorm__free(idx);
    return st;
}
