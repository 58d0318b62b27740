/* SPDX-License-Identifier: MIT */
/* k nearest neighbours, the one implementation behind finalize, LOF and SMOTE.
 *
 * Query rows are processed in blocks of B: one sgemm gives the B × M float
 * distances d̃ (B chosen so the block stays within BLOCK_BYTES, so memory is
 * O(M · k + block), never M × M). Each d̃ comes with a rigorous error bound e, so
 * the true distance lies in [d̃ − e, d̃ + e]. A row keeps the c smallest lower
 * bounds in a bounded max-heap; U, the k-th smallest upper bound among them,
 * bounds the true k-th distance, so every reference with lower bound ≤ U may be
 * among the k nearest and nothing else can be. Those are recomputed exactly in
 * double (distance.c), sorted (ties by position) and the first k handed to the
 * caller. Rows are independent, so results do not depend on the thread count. */
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"

#define BLOCK_BYTES ((size_t)32 << 20)
#define MAX_BLOCK_ROWS 256
/* Heap capacity beyond k: room for the references whose float distances are
 * indistinguishable from the k-th (clusters tighter than float rounding). When
 * more than that are, the refined set is the c with the smallest lower bounds. */
#define MARGIN 256
/* Candidates beyond this many keep their float distance. Only GWRP with r near 1
 * needs more: its far terms have tiny weights, and their rounding error is
 * relative to the largest distances, not the smallest. */
#define MAX_REFINE 8192

struct hcand {
    float v; /* lower bound d̃ − e: the heap key */
    float d; /* d̃ */
    size_t j;
};

struct cand {
    double d;
    size_t j;
};

/* (v, j) ordering: by value, ties by position, so selection is deterministic. */
static bool hless(struct hcand a, struct hcand b)
{
    return a.v < b.v || (a.v == b.v && a.j < b.j);
}

static void sift_down(struct hcand *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, big = i;
        if (l < n && hless(h[big], h[l]))
            big = l;
        if (l + 1 < n && hless(h[big], h[l + 1]))
            big = l + 1;
        if (big == i)
            return;
        struct hcand t = h[i];
        h[i] = h[big];
        h[big] = t;
        i = big;
    }
}

/* The c smallest lower bounds of row[0 … m−1] (skipping column `skip`) into h,
 * unordered. E is the row's error scale (asdnorm__error_scale). */
static size_t select_smallest(const asdnorm_index *ix, const float *row, size_t m, size_t skip,
                              size_t c, float E, struct hcand *h)
{
    size_t n = 0, j = 0;
    for (; j < m && n < c; j++)
        if (j != skip)
            h[n++] = (struct hcand){row[j] - asdnorm__err(ix, E, row[j]), row[j], j};
    for (size_t i = n / 2; i-- > 0;)
        sift_down(h, n, i);
    for (; j < m; j++) {
        /* Cheap reject first: the lower bound is at least d̃ − √E or d̃ − E. */
        if (j == skip || row[j] - asdnorm__err(ix, E, row[j]) > h[0].v)
            continue;
        struct hcand e = {row[j] - asdnorm__err(ix, E, row[j]), row[j], j};
        if (hless(e, h[0])) {
            h[0] = e;
            sift_down(h, n, 0);
        }
    }
    return n;
}

/* The k-th smallest (1-based) of v[0 … n−1], 1 ≤ k ≤ n; reorders v.
 * Quickselect with a three-way partition, so runs of equal values terminate. */
static float kth_smallest(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    const size_t want = k - 1;
    for (;;) {
        const float pivot = v[lo + (hi - lo) / 2];
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            float t = v[i];
            if (t < pivot) {
                v[i++] = v[lt];
                v[lt++] = t;
            } else if (t > pivot) {
                v[i] = v[--gt];
                v[gt] = t;
            } else {
                i++;
            }
        }
        if (want < lt)
            hi = lt;
        else if (want >= gt)
            lo = gt;
        else
            return pivot;
    }
}

static int cmp_hcand(const void *a, const void *b)
{
    struct hcand x = *(const struct hcand *)a, y = *(const struct hcand *)b;
    return hless(x, y) ? -1 : hless(y, x) ? 1 : 0;
}

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

struct scratch {
    float *ub;
    struct hcand *heap;
    struct cand *cand;
    double *dist;
    size_t *idx;
};

struct job {
    const asdnorm_index *ix;
    const float *x; /* n raw query rows, or NULL for the stored references */
    size_t n, k, c;
    asdnorm__knn_row_fn fn;
    void *ctx;
};

static float max_lower(const struct hcand *h, size_t n)
{
    float mx = h[0].v;
    for (size_t t = 1; t < n; t++)
        mx = h[t].v > mx ? h[t].v : mx;
    return mx;
}

static asdnorm_status process_row(const struct job *jb, struct scratch *s, const float *row,
                                  size_t qi, const float *qraw, double qnorm, float E)
{
    const asdnorm_index *ix = jb->ix;
    const size_t skip = jb->x ? SIZE_MAX : qi;
    const size_t c = select_smallest(ix, row, ix->size, skip, jb->c, E, s->heap);
    for (size_t t = 0; t < c; t++)
        s->ub[t] = s->heap[t].d + asdnorm__err(ix, E, s->heap[t].d);
    const float U = kth_smallest(s->ub, c, jb->k);

    size_t r = 0;
    if (c == jb->c && c < ix->size - (jb->x ? 0 : 1) && max_lower(s->heap, c) <= U) {
        /* More references than the heap holds are within rounding of the k-th:
         * take every one whose lower bound allows it, from the row itself. */
        for (size_t j = 0; j < ix->size; j++) {
            if (j == skip)
                continue;
            float lo = row[j] - asdnorm__err(ix, E, row[j]);
            if (lo <= U)
                s->heap[r++] = (struct hcand){lo, row[j], j};
        }
    } else {
        for (size_t t = 0; t < c; t++)
            if (s->heap[t].v <= U)
                s->heap[r++] = s->heap[t];
    }
    if (r > MAX_REFINE)
        qsort(s->heap, r, sizeof *s->heap, cmp_hcand);
    for (size_t t = 0; t < r; t++) {
        size_t j = s->heap[t].j;
        s->cand[t].j = j;
        s->cand[t].d = t < MAX_REFINE ? asdnorm__exact_distance(ix, qraw, qnorm, j)
                                      : (double)s->heap[t].d;
    }
    qsort(s->cand, r, sizeof *s->cand, cmp_cand);
    for (size_t t = 0; t < jb->k; t++) {
        s->dist[t] = s->cand[t].d;
        s->idx[t] = s->cand[t].j;
    }
    return jb->fn(jb->ctx, qi, s->dist, s->idx, jb->k);
}

static int thread_count(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static void free_scratch(struct scratch *s, int n)
{
    if (!s)
        return;
    for (int t = 0; t < n; t++) {
        asdnorm__free(s[t].ub);
        asdnorm__free(s[t].heap);
        asdnorm__free(s[t].cand);
        asdnorm__free(s[t].dist);
        asdnorm__free(s[t].idx);
    }
    asdnorm__free(s);
}

static asdnorm_status run(const struct job *jb)
{
    const asdnorm_index *ix = jb->ix;
    const size_t m = ix->size, dim = ix->dim;
    size_t rows = BLOCK_BYTES / (m * sizeof(float));
    rows = rows < 1 ? 1 : rows > MAX_BLOCK_ROWS ? MAX_BLOCK_ROWS : rows;
    if (rows > jb->n)
        rows = jb->n;

    const int nt = thread_count();
    float *block = asdnorm__mallocn(rows * m, sizeof *block);
    float *Q = asdnorm__mallocn(rows * dim, sizeof *Q);
    float *qaux = asdnorm__mallocn(rows, sizeof *qaux);
    double *qnorm = asdnorm__mallocn(rows, sizeof *qnorm);
    struct scratch *s = asdnorm__calloc((size_t)nt, sizeof *s);
    asdnorm_status st = block && Q && qaux && qnorm && s ? ASDNORM_OK : ASDNORM_E_NOMEM;
    for (int t = 0; t < nt && st == ASDNORM_OK; t++) {
        s[t].ub = asdnorm__mallocn(jb->c, sizeof *s[t].ub);
        /* Sized for a whole row: the overflow path may keep all of it. */
        s[t].heap = asdnorm__mallocn(m, sizeof *s[t].heap);
        s[t].cand = asdnorm__mallocn(m, sizeof *s[t].cand);
        s[t].dist = asdnorm__mallocn(jb->k, sizeof *s[t].dist);
        s[t].idx = asdnorm__mallocn(jb->k, sizeof *s[t].idx);
        if (!s[t].ub || !s[t].heap || !s[t].cand || !s[t].dist || !s[t].idx)
            st = ASDNORM_E_NOMEM;
    }

    const float aux_max = asdnorm__aux_max(ix, 0, m);
    for (size_t r0 = 0; r0 < jb->n && st == ASDNORM_OK; r0 += rows) {
        const size_t nb = jb->n - r0 < rows ? jb->n - r0 : rows;
        const float *raw = (jb->x ? jb->x : ix->vectors) + r0 * dim;
        asdnorm__prepare_queries(ix, raw, nb, Q, qaux, qnorm);
        asdnorm__block_distances(ix, Q, qaux, nb, 0, m, block, m);
        asdnorm_status bst = ASDNORM_OK;
#pragma omp parallel for schedule(dynamic, 4)
        for (size_t i = 0; i < nb; i++) {
            const float E = asdnorm__error_scale(ix, qaux[i], aux_max);
            asdnorm_status rst = process_row(jb, &s[thread_id()], block + i * m, r0 + i,
                                             raw + i * dim, qnorm[i], E);
            if (rst != ASDNORM_OK) {
#pragma omp critical(asdnorm_knn_status)
                if (bst == ASDNORM_OK)
                    bst = rst;
            }
        }
        st = bst;
    }

    free_scratch(s, nt);
    asdnorm__free(block);
    asdnorm__free(Q);
    asdnorm__free(qaux);
    asdnorm__free(qnorm);
    return st;
}

static size_t with_margin(size_t k, size_t available)
{
    size_t extra = k > MARGIN ? k : MARGIN;
    return available - k < extra ? available : k + extra;
}

asdnorm_status asdnorm__knn_self(const asdnorm_index *ix, size_t k, asdnorm__knn_row_fn fn,
                                 void *ctx)
{
    if (ix->size < 2 || k < 1 || k > ix->size - 1)
        return ASDNORM_E_ARG;
    struct job jb = {ix, NULL, ix->size, k, with_margin(k, ix->size - 1), fn, ctx};
    return run(&jb);
}

struct query_out {
    double *dist;
    size_t *idx;
};

static asdnorm_status store_row(void *vctx, size_t i, const double *dist, const size_t *idx,
                                size_t k)
{
    struct query_out *o = vctx;
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
    struct query_out o = {dist, idx};
    struct job jb = {ix, x, n, k, with_margin(k, ix->size), store_row, &o};
    return run(&jb);
}
