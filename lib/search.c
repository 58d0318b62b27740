/* SPDX-License-Identifier: MIT */
/* Exact k-nearest-neighbour search of query rows among the references, and of
 * the references among each other (asdnorm_index_neighbours): the public face
 * of the k-NN machinery (knn.c) that finalize, LOF and SMOTE use.
 * Distances are exact doubles (docs/math.md §5), rounded to float for the
 * caller of asdnorm_index_search, as they are for asdnorm_index_search_double;
 * ties go to the lower position. */
#include <string.h>

#include "internal.h"

/* Query rows per knn call: bounds the double scratch at QUERY_BLOCK × k. */
#define QUERY_BLOCK 256

/* The search of both public functions: dist is n × k floats, or doubles when
 * dbl is set. */
static asdnorm_status search(const asdnorm_index *ix, const float *x, size_t n, size_t k,
                             void *dist, bool dbl, size_t *ids)
{
    if (!ix)
        return ASDNORM_E_NULL;
    if (ix->size == 0)
        return ASDNORM_E_TOO_FEW;
    if (k < 1 || k > ix->size)
        return ASDNORM_E_ARG;
    if (n == 0)
        return ASDNORM_OK;
    if (!x || !dist || !ids)
        return ASDNORM_E_NULL;
    const size_t dim = ix->dim;
    const size_t elem = dbl ? sizeof(double) : sizeof(float);
    size_t nk, out_bytes;
    if (!asdnorm__rows_fit(n, dim) || !asdnorm__mul_ok(n, k, &nk) ||
        !asdnorm__mul_ok(nk, elem + sizeof(size_t), &out_bytes))
        return ASDNORM_E_OVERFLOW;
    asdnorm_status st = asdnorm__check_rows(x, n, dim, ix->distance, NULL);
    if (st != ASDNORM_OK)
        return st;

    /* The results go to private buffers first, so that a failure part-way
     * (out of memory inside the k-NN pass) leaves the caller's untouched. */
    const size_t rows = n < QUERY_BLOCK ? n : QUERY_BLOCK;
    unsigned char *fd = asdnorm__mallocn(nk, elem);
    size_t *fi = asdnorm__mallocn(nk, sizeof *fi);
    double *bd = asdnorm__mallocn(rows * k, sizeof *bd);
    st = fd && fi && bd ? ASDNORM_OK : ASDNORM_E_NOMEM;
    for (size_t i0 = 0; i0 < n && st == ASDNORM_OK; i0 += rows) {
        const size_t b = n - i0 < rows ? n - i0 : rows;
        st = asdnorm__knn_query(ix, x + i0 * dim, b, k, bd, fi + i0 * k);
        if (st == ASDNORM_OK && dbl)
            memcpy((double *)(void *)fd + i0 * k, bd, b * k * sizeof *bd);
        else if (st == ASDNORM_OK)
            for (size_t t = 0; t < b * k; t++)
                ((float *)(void *)fd)[i0 * k + t] = (float)bd[t];
    }
    if (st == ASDNORM_OK) {
        memcpy(dist, fd, nk * elem);
        memcpy(ids, fi, nk * sizeof *ids);
    }
    asdnorm__free(fd);
    asdnorm__free(fi);
    asdnorm__free(bd);
    return st;
}

asdnorm_status asdnorm_index_search(const asdnorm_index *ix, const float *x, size_t n, size_t k,
                                    float *dist, size_t *ids)
{
    return search(ix, x, n, k, dist, false, ids);
}

asdnorm_status asdnorm_index_search_double(const asdnorm_index *ix, const float *x, size_t n,
                                           size_t k, double *dist, size_t *ids)
{
    return search(ix, x, n, k, dist, true, ids);
}

asdnorm_status asdnorm_index_neighbours(const asdnorm_index *ix, size_t split, size_t k,
                                        double *dist, size_t *ids)
{
    if (!ix)
        return ASDNORM_E_NULL;
    const size_t m = ix->size;
    if (m < 2)
        return ASDNORM_E_TOO_FEW;
    /* The most neighbours every reference has: the others, or the smaller part. */
    const size_t most = split == 0 ? m - 1 : split < m - split ? split : m - split;
    if (split >= m || k < 1 || k > most)
        return ASDNORM_E_ARG;
    if (!dist || !ids)
        return ASDNORM_E_NULL;
    size_t mk, bytes;
    if (!asdnorm__mul_ok(m, k, &mk) ||
        !asdnorm__mul_ok(mk, sizeof(double) + sizeof(size_t), &bytes))
        return ASDNORM_E_OVERFLOW;
    /* Private buffers first, as in search: a failure leaves the caller's untouched. */
    struct asdnorm__knn_rows o = {asdnorm__mallocn(mk, sizeof *o.dist),
                                  asdnorm__mallocn(mk, sizeof *o.idx)};
    asdnorm_status st = o.dist && o.idx ? ASDNORM_OK : ASDNORM_E_NOMEM;
    if (st == ASDNORM_OK)
        st = split == 0 ? asdnorm__knn_self(ix, k, asdnorm__knn_store_row, &o)
                        : asdnorm__knn_cross(ix, split, k, asdnorm__knn_store_row, &o);
    if (st == ASDNORM_OK) {
        memcpy(dist, o.dist, mk * sizeof *dist);
        memcpy(ids, o.idx, mk * sizeof *ids);
    }
    asdnorm__free(o.dist);
    asdnorm__free(o.idx);
    return st;
}
