/* SPDX-License-Identifier: MIT */
/* SMOTE (Chawla et al. 2002) on raw rows and on an index's target domain
 * (math §3). Neighbours come from the library's one k-NN machinery, run on a
 * temporary Euclidean index. */
#include <string.h>

#include "internal.h"
#include "rng.h"

/* A different stream constant from kmeans.c: the same seed given to both
 * baselines need not produce correlated draws. */
static void rng_seed(asdnorm__rng *r, uint64_t seed)
{
    asdnorm__rng_init(r, seed ^ 0x5EED5307E5EED530ull);
}

/* ---- neighbours ---------------------------------------------------------------- */
struct nn_ctx {
    size_t *nbr; /* n × k positions */
};

/* Rows are disjoint, so concurrent calls for different i are safe. */
static asdnorm_status keep_row(void *vctx, size_t i, const double *dist, const size_t *idx,
                               size_t k)
{
    (void)dist;
    struct nn_ctx *ctx = vctx;
    memcpy(ctx->nbr + i * k, idx, k * sizeof *idx);
    return ASDNORM_OK;
}

/* The k nearest other rows (Euclidean, by position) of each of n rows into a
 * new n × k array. Adding the rows to the index validates them (non-finite,
 * range). */
static asdnorm_status neighbours(const float *x, size_t n, size_t dim, size_t k, size_t **out)
{
    asdnorm_index *ix = NULL;
    asdnorm_status st = asdnorm_index_new(dim, ASDNORM_DISTANCE_EUCLIDEAN, &ix);
    if (st != ASDNORM_OK)
        return st;
    st = asdnorm_index_add(ix, x, n, NULL);
    size_t nk = 0;
    if (st == ASDNORM_OK && !asdnorm__mul_ok(n, k, &nk))
        st = ASDNORM_E_OVERFLOW;
    size_t *nbr = NULL;
    if (st == ASDNORM_OK) {
        nbr = asdnorm__mallocn(nk, sizeof *nbr);
        if (!nbr)
            st = ASDNORM_E_NOMEM;
    }
    if (st == ASDNORM_OK) {
        struct nn_ctx ctx = {nbr};
        st = asdnorm__knn_self(ix, k, keep_row, &ctx);
    }
    asdnorm_index_free(ix);
    if (st != ASDNORM_OK) {
        asdnorm__free(nbr);
        return st;
    }
    *out = nbr;
    return ASDNORM_OK;
}

/* n_new samples x_i + u (x_nn − x_i). Like imbalanced-learn, one draw picks a
 * (row, neighbour) pair uniformly among the n · k, which is a uniform row and
 * a uniform one of its k neighbours; u ~ U[0, 1) follows. Computed in double
 * and rounded once. */
static void synthesize(const float *x, size_t n, size_t dim, const size_t *nbr, size_t k,
                       size_t n_new, uint64_t seed, float *out)
{
    asdnorm__rng rng;
    rng_seed(&rng, seed);
    for (size_t s = 0; s < n_new; s++) {
        size_t pick = (size_t)asdnorm__rng_below(&rng, (uint64_t)n * k);
        const float *a = x + (pick / k) * dim;
        const float *b = x + nbr[pick] * dim;
        double u = asdnorm__rng_uniform(&rng);
        float *o = out + s * dim;
        for (size_t j = 0; j < dim; j++)
            o[j] = (float)((double)a[j] + u * ((double)b[j] - a[j]));
    }
}

/* n × dim floats fit in memory's address space: the element count and the
 * byte count both fit in size_t. */
static bool float_rows_ok(size_t n, size_t dim)
{
    size_t elems, bytes;
    return asdnorm__mul_ok(n, dim, &elems) && asdnorm__mul_ok(elems, sizeof(float), &bytes);
}

asdnorm_status asdnorm_smote(const float *x, size_t n, size_t dim, size_t n_new,
                             size_t k_neighbors, uint64_t seed, float *out)
{
    if (!x || (!out && n_new > 0))
        return ASDNORM_E_NULL;
    if (dim == 0 || k_neighbors == 0)
        return ASDNORM_E_ARG;
    if (!float_rows_ok(n, dim) || !float_rows_ok(n_new, dim))
        return ASDNORM_E_OVERFLOW;
    if (n < 2)
        return ASDNORM_E_TOO_FEW;
    size_t k = k_neighbors < n - 1 ? k_neighbors : n - 1;
    if (n_new == 0)
        return asdnorm__check_rows(x, n, dim, ASDNORM_DISTANCE_EUCLIDEAN, NULL);
    size_t *nbr = NULL;
    asdnorm_status st = neighbours(x, n, dim, k, &nbr);
    if (st != ASDNORM_OK)
        return st;
    synthesize(x, n, dim, nbr, k, n_new, seed, out);
    asdnorm__free(nbr);
    return ASDNORM_OK;
}

/* Append every reference of src to dst exactly as src stores it: raw rows,
 * and under cosine src's scale c_j, so that distances to them are
 * bit-identical in both indexes (a re-normalization would round again, and
 * would turn a raw k-means centroid into a unit vector). */
static asdnorm_status append_all_exact(asdnorm_index *dst, const asdnorm_index *src)
{
    size_t base = dst->size;
    asdnorm_status st = asdnorm__index_add_raw(dst, src->vectors, src->size, src->domains);
    if (st == ASDNORM_OK && src->distance == ASDNORM_DISTANCE_COSINE)
        for (size_t j = 0; j < src->size; j++) {
            dst->aux[base + j] = src->aux[j];
            dst->scale[base + j] = src->scale[j];
        }
    return st;
}

asdnorm_status asdnorm_smote_index(const asdnorm_index *src, size_t n_new, size_t k_neighbors,
                                   uint64_t seed, asdnorm_index **out)
{
    if (!out)
        return ASDNORM_E_NULL;
    *out = NULL;
    if (!src)
        return ASDNORM_E_NULL;
    if (k_neighbors == 0)
        return ASDNORM_E_ARG;
    size_t m = src->size, dim = src->dim, nt = 0, ns = 0;
    for (size_t j = 0; j < m; j++) {
        nt += src->domains[j] == ASDNORM_DOMAIN_TARGET;
        ns += src->domains[j] == ASDNORM_DOMAIN_SOURCE;
    }
    if (nt < 2)
        return ASDNORM_E_TOO_FEW;
    /* 0: oversample the target domain up to the source domain's size. */
    if (n_new == 0)
        n_new = ns > nt ? ns - nt : 0;
    size_t ntdim, newdim;
    if (!asdnorm__mul_ok(nt, dim, &ntdim) || !asdnorm__mul_ok(n_new, dim, &newdim))
        return ASDNORM_E_OVERFLOW;

    asdnorm_status st = ASDNORM_E_NOMEM;
    asdnorm_index *ix = NULL;
    size_t *nbr = NULL;
    float *rows = asdnorm__mallocn(ntdim, sizeof *rows);
    float *syn = asdnorm__mallocn(newdim, sizeof *syn);
    uint8_t *dom = asdnorm__malloc(n_new);
    if (!rows || !syn || !dom)
        goto done;
    for (size_t j = 0, t = 0; j < m; j++)
        if (src->domains[j] == ASDNORM_DOMAIN_TARGET)
            (void)asdnorm_index_get_vectors(src, j, 1, rows + (t++) * dim);
    /* The references as the index means them: under cosine unit vectors
     * (ix->vectors holds them only up to a scale factor), among which the
     * Euclidean neighbours are the cosine neighbours. */
    if (n_new > 0) {
        size_t k = k_neighbors < nt - 1 ? k_neighbors : nt - 1;
        st = neighbours(rows, nt, dim, k, &nbr);
        if (st != ASDNORM_OK)
            goto done;
        synthesize(rows, nt, dim, nbr, k, n_new, seed, syn);
    }
    memset(dom, ASDNORM_DOMAIN_TARGET, n_new);
    st = asdnorm_index_new(dim, src->distance, &ix);
    if (st == ASDNORM_OK)
        st = append_all_exact(ix, src);
    /* The public add re-normalizes the synthetic rows under cosine. */
    if (st == ASDNORM_OK)
        st = asdnorm_index_add(ix, syn, n_new, dom);
    if (st == ASDNORM_OK) {
        *out = ix;
        ix = NULL;
    }
done:
    asdnorm_index_free(ix);
    asdnorm__free(nbr);
    asdnorm__free(rows);
    asdnorm__free(syn);
    asdnorm__free(dom);
    return st;
}
