/* SPDX-License-Identifier: MIT */
/* The blocked k-nearest-neighbour search (knn.h): query rows are processed in
 * blocks of B, one sgemm giving the B × M float distances d̃ (B chosen so the
 * block stays within BLOCK_BYTES: memory O(M · k + block), never M × M). A
 * row keeps the c smallest lower bounds in a bounded max-heap; U is the k-th
 * smallest of their upper bounds, and the candidates (lower bound ≤ U) are
 * refined by asdnorm__knn_finish_row. Rows are independent. A reference with
 * at least k exact copies at lower positions (k + 1 in a search among the
 * references themselves, where a row's own position is left out) is never
 * among a row's k nearest — those copies are as near and come first — and is
 * left out of every row (hidden_refs), so that a bank of identical rows costs
 * what k of them cost. */
#include <math.h>
#include <stdint.h>

#include "heap.h"
#include "knn.h"

#define BLOCK_BYTES ((size_t)32 << 20)
#define MAX_BLOCK_ROWS 256

/* 1 when some v[t] − cap ≤ thr, t < n. Branch-free, so it vectorizes. */
static inline int any_below(const float *v, size_t n, float cap, float thr)
{
    int any = 0;
    for (size_t t = 0; t < n; t++)
        any |= v[t] - cap <= thr;
    return any;
}

/* The c smallest lower bounds of row[0 … m−1] (skipping column `skip`) into h,
 * unordered, each with its reference's position j0 + column. E is the row's
 * error scale (asdnorm__error_scale). */
static size_t select_smallest(const asdnorm_index *ix, const float *row, size_t m, size_t skip,
                              size_t j0, size_t c, float E, struct hcand *h)
{
    size_t n = 0, j = 0;
    for (; j < m && n < c; j++)
        if (j != skip)
            h[n++] = (struct hcand){row[j] - asdnorm__err(ix, E, row[j]), row[j], j0 + j};
    asdnorm__heap_make(h, n, hcand_less, hcand_swap);
    const float cap = asdnorm__knn_err_cap(ix, E);
    while (j < m) {
        /* Cheap reject of a whole chunk first (vectorized), then per element. */
        const size_t end = m - j < CHUNK ? m : j + CHUNK;
        if (!any_below(row + j, end - j, cap, h[0].v)) {
            j = end;
            continue;
        }
        for (; j < end; j++) {
            if (j == skip || row[j] - asdnorm__err(ix, E, row[j]) > h[0].v)
                continue;
            struct hcand e = {row[j] - asdnorm__err(ix, E, row[j]), row[j], j0 + j};
            if (hless(e, h[0])) {
                h[0] = e;
                asdnorm__heap_down(h, n, 0, hcand_less, hcand_swap);
            }
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

static float max_lower(const struct hcand *h, size_t n)
{
    float mx = h[0].v;
    for (size_t t = 1; t < n; t++)
        mx = h[t].v > mx ? h[t].v : mx;
    return mx;
}

/* Row qi (a position in the stored rows when jb->x is NULL) against the
 * references jb->lo … jb->hi − 1, whose float distances are row[0 …]. */
static asdnorm_status process_row(const struct job *jb, struct scratch *s, const float *row,
                                  size_t qi, const float *qraw, double qnorm, float E)
{
    const asdnorm_index *ix = jb->ix;
    const size_t m = jb->hi - jb->lo;
    /* The query row itself, by column, when it is among the references. */
    const size_t skip = !jb->x && qi >= jb->lo && qi < jb->hi ? qi - jb->lo : SIZE_MAX;
    const size_t c = select_smallest(ix, row, m, skip, jb->lo, jb->c, E, s->heap);
    for (size_t t = 0; t < c; t++)
        s->ub[t] = s->heap[t].d + asdnorm__err(ix, E, s->heap[t].d);
    const float U = kth_smallest(s->ub, c, jb->k);

    size_t r = 0;
    if (c == jb->c && c < m - (skip != SIZE_MAX) && max_lower(s->heap, c) <= U) {
        /* More references than the heap holds are within rounding of the k-th:
         * take every one whose lower bound allows it, from the row itself. */
        for (size_t j = 0; j < m; j++) {
            if (j == skip)
                continue;
            float lo = row[j] - asdnorm__err(ix, E, row[j]);
            if (lo <= U)
                s->heap[r++] = (struct hcand){lo, row[j], jb->lo + j};
        }
    } else {
        for (size_t t = 0; t < c; t++)
            if (s->heap[t].v <= U)
                s->heap[r++] = s->heap[t];
    }
    return asdnorm__knn_finish_row(jb, s, r, qi, qraw, qnorm);
}

/* The references that are never among a row's k nearest: those with at least
 * `lower` exact copies at lower positions (the index's copies, when they
 * describe every row). *hidden (caller frees) lists them, *nh how many;
 * NULL and 0 when there are none. */
static asdnorm_status hidden_refs(const asdnorm_index *ix, size_t lower, uint32_t **hidden,
                                  size_t *nh)
{
    const size_t m = ix->size;
    *hidden = NULL;
    *nh = 0;
    if (ix->copy_rows != m || ix->copy_count < lower)
        return ASDNORM_OK;
    uint32_t *rank = asdnorm__mallocn(m, sizeof *rank);
    if (!rank)
        return ASDNORM_E_NOMEM;
    size_t n = 0;
    for (size_t j = 0; j < m; j++) {
        const uint32_t p = ix->copy_prev[j];
        rank[j] = p == ASDNORM_NO_COPY ? 0 : rank[p] + 1;
        n += rank[j] >= lower;
    }
    asdnorm_status st = ASDNORM_OK;
    if (n > 0) {
        *hidden = asdnorm__mallocn(n, sizeof **hidden);
        if (*hidden) {
            for (size_t j = 0; j < m; j++)
                if (rank[j] >= lower)
                    (*hidden)[(*nh)++] = (uint32_t)j;
        } else {
            st = ASDNORM_E_NOMEM;
        }
    }
    asdnorm__free(rank);
    return st;
}

/* Query rows in groups, each group on one thread (its own block, single-
 * threaded BLAS calls: threads.c): for each, one sgemm against all M
 * references, then process_row on every row. */
asdnorm_status asdnorm__knn_blocked(const struct job *jb)
{
    const asdnorm_index *ix = jb->ix;
    const size_t m = jb->hi - jb->lo, dim = ix->dim, n = jb->n;
    int nt = asdnorm__threads();
    if (nt > 1 && !asdnorm__worth_threads(ASDNORM_WORK_SEARCH, n * m * dim))
        nt = 1;
    /* Group height: the threads' blocks together within BLOCK_BYTES. */
    size_t rows = BLOCK_BYTES / (m * sizeof(float) * (size_t)nt);
    rows = rows < 1 ? 1 : rows > MAX_BLOCK_ROWS ? MAX_BLOCK_ROWS : rows;
    rows = asdnorm__progress_rows(jb->prog, rows, m * dim);
    const size_t groups = asdnorm__split_rows(n, rows, (size_t)nt, &rows);

    struct scratch *s = asdnorm__calloc((size_t)nt, sizeof *s);
    asdnorm_status st = s ? ASDNORM_OK : ASDNORM_E_NOMEM;
    for (int t = 0; t < nt && st == ASDNORM_OK; t++) {
        s[t].ub = asdnorm__mallocn(jb->c, sizeof *s[t].ub);
        /* Sized for a whole row: the overflow path may keep all of it. */
        s[t].heap = asdnorm__mallocn(m, sizeof *s[t].heap);
        s[t].cand = asdnorm__mallocn(m, sizeof *s[t].cand);
        s[t].dist = asdnorm__mallocn(jb->k, sizeof *s[t].dist);
        s[t].idx = asdnorm__mallocn(jb->k, sizeof *s[t].idx);
        s[t].block = asdnorm__mallocn(rows * m, sizeof *s[t].block);
        s[t].Q = asdnorm__mallocn(rows * dim, sizeof *s[t].Q);
        s[t].qaux = asdnorm__mallocn(rows, sizeof *s[t].qaux);
        s[t].qnorm = asdnorm__mallocn(rows, sizeof *s[t].qnorm);
        if (!s[t].ub || !s[t].heap || !s[t].cand || !s[t].dist || !s[t].idx || !s[t].block ||
            !s[t].Q || !s[t].qaux || !s[t].qnorm)
            st = ASDNORM_E_NOMEM;
    }
    uint32_t *hidden = NULL;
    size_t nh = 0;
    /* Only when every reference is searched: a copy's lower copies must be among
     * the references searched for it to be left out (not so in a split's parts). */
    if (st == ASDNORM_OK && jb->lo == 0 && jb->hi == ix->size)
        st = hidden_refs(ix, jb->k + (jb->x ? 0 : 1), &hidden, &nh);
    if (st != ASDNORM_OK) {
        asdnorm__knn_free_scratch(s, nt);
        return st;
    }

    const float aux_max = asdnorm__aux_max(ix, jb->lo, m);
    size_t bad = SIZE_MAX; /* the lowest row whose callback failed, and its status */
    asdnorm_status bst = ASDNORM_OK;
    bool serial;
    const int bt = asdnorm__blas_begin(nt, &serial);
    if (bt == 0) {
        asdnorm__knn_free_scratch(s, nt);
        asdnorm__free(hidden);
        return ASDNORM_E_NOMEM;
    }
    asdnorm__progress_stage(jb->prog, 1.0, groups);
#pragma omp parallel for schedule(dynamic, 1) num_threads(bt) if (bt > 1)
    for (size_t g = 0; g < groups; g++) {
        if (asdnorm__progress_tick(jb->prog, 0))
            continue; /* canceled: the remaining groups are skipped */
        struct scratch *w = &s[asdnorm__thread_id()];
        const size_t r0 = g * rows, nb = n - r0 < rows ? n - r0 : rows;
        const float *raw = (jb->x ? jb->x : ix->vectors + jb->q0 * dim) + r0 * dim;
        asdnorm__prepare_queries(ix, raw, nb, w->Q, w->qaux, w->qnorm);
        asdnorm__block_distances(ix, w->Q, w->qaux, nb, jb->lo, m, w->block, m);
        for (size_t i = 0; i < nb; i++)
            for (size_t h = 0; h < nh; h++)
                w->block[i * m + hidden[h]] = INFINITY; /* never a candidate */
        for (size_t i = 0; i < nb; i++) {
            const float E = asdnorm__error_scale(ix, w->qaux[i], aux_max);
            const size_t qi = jb->q0 + r0 + i;
            asdnorm_status rst = process_row(jb, w, w->block + i * m, qi, raw + i * dim,
                                             w->qnorm[i], E);
            if (rst != ASDNORM_OK) {
#pragma omp critical(asdnorm_knn_status)
                if (qi < bad) {
                    bad = qi;
                    bst = rst;
                }
                break;
            }
        }
        asdnorm__progress_tick(jb->prog, 1);
    }
    asdnorm__blas_end(bt, serial);
    asdnorm__knn_free_scratch(s, nt);
    asdnorm__free(hidden);
    return asdnorm__progress_canceled(jb->prog) ? ASDNORM_E_CANCELED : bst;
}

