/* SPDX-License-Identifier: MIT */
/* k nearest neighbours, the one implementation behind finalize, LOF and SMOTE.
 *
 * Every search works in two tiers (docs/math.md §5): float distances d̃ from
 * one sgemm per block, each with a rigorous error bound e, so the true
 * distance lies in [d̃ − e, d̃ + e]; a row's U, the k-th smallest upper bound,
 * bounds its true k-th distance, so every reference with lower bound ≤ U may
 * be among the k nearest and nothing else can be. Those are recomputed exactly
 * in double (distance.c), sorted (ties by position) and the first k handed to
 * the caller, so the results do not depend on the order of the work, nor on
 * the thread count. Two searches (knn.h): the blocked one (knn_block.c) and,
 * for finalize when d(i, j) = d(j, i), the symmetric one (knn_sym.c), each
 * pair computed once; their results are the same. This file: the end of a
 * row, shared by both, and the entry points. */
#include <stdlib.h>

#include "heap.h"
#include "knn.h"

/* (d, j) ordering of refined candidates: by distance, ties by position. */
static bool cand_less(const void *c, size_t a, size_t b)
{
    const struct cand *x = (const struct cand *)c + a, *y = (const struct cand *)c + b;
    return x->d < y->d || (x->d == y->d && x->j < y->j);
}

static void cand_swap(void *c, size_t a, size_t b)
{
    struct cand *v = c, t = v[a];
    v[a] = v[b];
    v[b] = t;
}

asdnorm_status asdnorm__knn_emit_row(const struct job *jb, struct scratch *s, size_t r, size_t qi)
{
    asdnorm__heap_sort(s->cand, r, cand_less, cand_swap);
    for (size_t t = 0; t < jb->k; t++) {
        s->dist[t] = s->cand[t].d;
        s->idx[t] = s->cand[t].j;
    }
    return jb->fn(jb->ctx, qi, s->dist, s->idx, jb->k);
}

asdnorm_status asdnorm__knn_finish_row(const struct job *jb, struct scratch *s, size_t r,
                                       size_t qi, const float *qraw, double qnorm)
{
    const asdnorm_index *ix = jb->ix;
    if (r > MAX_REFINE)
        asdnorm__heap_sort(s->heap, r, hcand_less, hcand_swap);
    for (size_t t = 0; t < r; t++) {
        size_t j = s->heap[t].j;
        s->cand[t].j = j;
        s->cand[t].d = t < MAX_REFINE ? asdnorm__exact_distance(ix, qraw, qnorm, j)
                                      : (double)s->heap[t].d;
    }
    return asdnorm__knn_emit_row(jb, s, r, qi);
}

void asdnorm__knn_free_scratch(struct scratch *s, int n)
{
    if (!s)
        return;
    for (int t = 0; t < n; t++) {
        asdnorm__free(s[t].ub);
        asdnorm__free(s[t].heap);
        asdnorm__free(s[t].cand);
        asdnorm__free(s[t].dist);
        asdnorm__free(s[t].idx);
        asdnorm__free(s[t].block);
        asdnorm__free(s[t].Q);
        asdnorm__free(s[t].qaux);
        asdnorm__free(s[t].qnorm);
    }
    asdnorm__free(s);
}

static size_t with_margin(size_t k, size_t available)
{
    size_t extra = k > MARGIN ? k : MARGIN;
    return available - k < extra ? available : k + extra;
}

asdnorm_status asdnorm__knn_store_row(void *vctx, size_t i, const double *dist,
                                      const size_t *idx, size_t k)
{
    struct asdnorm__knn_rows *o = vctx;
    for (size_t t = 0; t < k; t++) {
        o->dist[i * k + t] = dist[t];
        o->idx[i * k + t] = idx[t];
    }
    return ASDNORM_OK;
}

asdnorm_status asdnorm__knn_query(const asdnorm_index *ix, const float *x, size_t n, size_t k,
                                  double *dist, size_t *idx)
{
    if (ix->size < 1 || k < 1 || k > ix->size)
        return ASDNORM_E_ARG;
    if (n == 0)
        return ASDNORM_OK;
    struct asdnorm__knn_rows o = {dist, idx};
    struct job jb = {ix,   x, n, k, with_margin(k, ix->size), asdnorm__knn_store_row, &o,
                     NULL, 0, 0, ix->size, 0};
    return asdnorm__knn_blocked(&jb);
}

asdnorm_status asdnorm__knn_self(const asdnorm_index *ix, size_t k, asdnorm__knn_row_fn fn,
                                 void *ctx)
{
    return asdnorm__knn_self_progress(ix, k, fn, ctx, NULL);
}

asdnorm_status asdnorm__knn_self_progress(const asdnorm_index *ix, size_t k,
                                          asdnorm__knn_row_fn fn, void *ctx,
                                          struct asdnorm__progress *prog)
{
    if (ix->size < 2 || k < 1 || k > ix->size - 1)
        return ASDNORM_E_ARG;
    const size_t m = ix->size;
    struct job jb = {ix, NULL, m, k, with_margin(k, m - 1), fn, ctx, prog, 0, 0, m, 0};
    size_t cap;
    if (asdnorm__knn_sym_applies(ix, k, m - 1, &cap))
        return asdnorm__knn_sym(&jb, cap);
    return asdnorm__knn_blocked(&jb);
}

asdnorm_status asdnorm__knn_cross(const asdnorm_index *ix, size_t split, size_t k,
                                  asdnorm__knn_row_fn fn, void *ctx)
{
    const size_t m = ix->size;
    if (split < 1 || split >= m || k < 1 || k > split || k > m - split)
        return ASDNORM_E_ARG;
    size_t cap;
    if (asdnorm__knn_sym_applies(ix, k, split > m - split ? split : m - split, &cap)) {
        struct job jb = {ix,   NULL, m, k, with_margin(k, m - 1), fn, ctx,
                         NULL, 0,    0, m, split};
        return asdnorm__knn_sym(&jb, cap);
    }
    /* Each part's rows against the other part, one blocked search each. */
    struct job a = {ix,  NULL, split, k, with_margin(k, m - split), fn, ctx,
                    NULL, 0,    split, m, 0};
    asdnorm_status st = asdnorm__knn_blocked(&a);
    if (st != ASDNORM_OK)
        return st;
    struct job b = {ix,  NULL,  m - split, k, with_margin(k, split), fn, ctx,
                    NULL, split, 0,         split, 0};
    return asdnorm__knn_blocked(&b);
}
