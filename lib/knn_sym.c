/* SPDX-License-Identifier: MIT */
/* Finalize with symmetry (knn.h). When d(i, j) = d(j, i) — euclidean and mse
 * always, cosine when every row was added by asdnorm_index_add (c_j ≠ 1: both are exact unit vectors; a raw row,
 * c_j = 1, is not normalized as a reference but is as a query) — each pair
 * needs computing once. The rows are cut into groups of SYM_GROUP, and every
 * pair of groups a ≤ b is one task: the float dot products of group a's rows
 * with group b's (one sgemm; one ssyrk, the upper triangle, when a = b), into
 * the thread's buffer, scanned once while in cache: entry (i, j) is offered
 * to row i as its distance to j and to row j as its distance to i. Every row
 * keeps the k smallest upper bounds offered (their largest is U) and the list
 * of references whose lower bound was ≤ U when offered (struct symrows).
 * The float distances of the stored rows are formed symmetrically (sym_dist),
 * and one error scale E serves all rows (the largest: with qaux the largest
 * norm², euclidean and mse; cosine's does not depend on the row), so the bound
 * err(E, d̃(i, j)) holds for d(j, i) too. After the last task a row's
 * candidates are the references with lower bound ≤ its final U, whatever the
 * order of the tasks. A task holds the locks of its two groups, so no two
 * threads touch a row's state at the same time, and the threads take the
 * tasks in any order, without barriers; the result does not depend on the
 * thread count. Each row is then refined exactly (sym_end). A list that fills
 * up with references within rounding of each other is tightened with exact
 * distances (sym_tighten), and groups of exact copies are answered without a
 * search (struct copies), so the cost does not grow with how tightly the data
 * are clustered.
 * Under a split (asdnorm__knn_cross) the rows are two parts, the groups are cut
 * within each part, and only the tasks across the parts run: each row is
 * offered the other part's rows alone, every pair once.
 * Memory: per row, cap list entries of 20 bytes and k upper bounds, used only
 * while it stays below SYM_HEAP_BYTES (else the blocked search, which needs
 * per-thread heaps only), and a SYM_GROUP² buffer per thread. */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>

#include "heap.h"
#include "knn.h"

#define SYM_MARGIN 32
#define SYM_HEAP_BYTES ((size_t)256 << 20)
#define SYM_GROUP 512
/* The shares of the progress fraction (progress.h) of the tasks and of the
 * three passes of sym_end over the rows, as their times measured on
 * 20,000 × 128 (docs/embedding.md). */
#define SYM_TASKS_SHARE 0.85
#define SYM_LINK_SHARE 0.03
#define SYM_REFINE_SHARE 0.07
#define SYM_EMIT_SHARE 0.05
/* An offered entry whose float distance is below NEAR times its sgemm error
 * gets the float filter's bounds at once (sym_scan): ≈ 6 sgemm-entries' worth
 * of work, spent only inside clusters tighter than the sgemm's resolution. */
#define NEAR 16.0f

struct sent {
    float v, d; /* lower bound d̃ − e and d̃ */
    uint32_t j;
};

/* An entry's exact distance in its row's x (symrows), or one of two marks
 * until it is computed: NOT_EXACT, its bounds are the sgemm's (v = d̃ − e,
 * d = d̃), or FILTERED, its bounds are the float filter's (v lower, d upper:
 * sym_filter). Exact distances are ≥ 0, the marks are not. */
#define NOT_EXACT NAN
#define FILTERED (-1.0)

static inline bool exact_known(double x)
{
    return x >= 0.0;
}

/* Per row, across the tasks: the k smallest upper bounds seen (a max-heap,
 * whose top is U, the row's current bound on its k-th distance), and the
 * candidates, every reference whose lower bound was ≤ U when offered. U only
 * decreases, so after the last task the candidates with lower bound ≤ the
 * final U are exactly those of the whole row, whatever the order of the
 * offers. A full list is compacted (entries above the current U dropped);
 * when it is still full, more than cap references are within rounding of each
 * other (a cluster tighter than float resolution), and the list is tightened
 * (sym_tighten): every entry's exact distance is computed, only the k
 * smallest (distance, position) are kept (no other can be among the row's k
 * nearest), and the heap is rebuilt from their exact distances, so U becomes
 * the exact k-th so far. Each candidate costs one exact distance and no row
 * is ever searched twice. Without x (k too large for that, see asdnorm__knn_sym), a
 * row still full is marked to be recomputed whole at the end.
 * A row whose answer is known from exact copies (struct copies) has U = −∞
 * and is never offered anything. */
struct symrows {
    struct sent *c; /* M × cap candidates */
    double *x;      /* M × cap their exact distances, or NOT_EXACT; NULL: no tightening */
    float *ub;      /* M × k max-heaps of upper bounds */
    uint32_t *nc;   /* candidates per row */
    uint32_t *nub;  /* upper bounds per row (≤ k) */
    float *thr;     /* U per row: the heap's top once it holds k, else +∞ */
    uint8_t *over;  /* the row's list overflowed */
    size_t cap, k;
};

/* Exact copies among the references (the index's, asdnorm__index_copies): when a group of
 * bitwise-identical rows has g > k members, each member's k nearest are the k
 * lowest other members, at distance 0 exactly (nothing is nearer), and a
 * member with k lower copies is among no other row's k nearest (those lower
 * copies are at the same distance, with lower positions). Such rows are
 * "known": answered without a search; such members are "hidden": never
 * offered. Hidden members are known. */
struct copies {
    const uint32_t *prev; /* the next lower copy, or ASDNORM_NO_COPY (the index's, or own) */
    uint32_t *own;    /* prev, when computed here (an index not finalized since rows were added) */
    uint32_t *next;   /* the next higher copy, or ASDNORM_NO_COPY */
    uint32_t *first;  /* the lowest copy of the row's group */
    uint8_t *known;   /* the row's answer is its group's lowest other members */
    uint64_t *hidden; /* bitmap: the row has at least k lower copies */
    bool any_hidden;
};

/* Cut row i's list to the candidates whose lower bound is ≤ its current U;
 * returns their number. */
static size_t sym_compact(struct symrows *R, size_t i)
{
    struct sent *c = R->c + i * R->cap;
    double *x = R->x ? R->x + i * R->cap : NULL;
    const float U = R->thr[i];
    size_t r = 0;
    for (size_t t = 0; t < R->nc[i]; t++)
        if (x && exact_known(x[t]) ? x[t] <= U : c[t].v <= U) {
            if (x)
                x[r] = x[t];
            c[r++] = c[t];
        }
    R->nc[i] = (uint32_t)r;
    return r;
}

/* A double rounded up to a float. */
static float round_up(double v)
{
    float f = (float)v;
    return (double)f < v ? nextafterf(f, INFINITY) : f;
}

/* (x, j) ordering of exact candidates: by distance, ties by position. */
static bool xless(double xa, uint32_t ja, double xb, uint32_t jb)
{
    return xa < xb || (xa == xb && ja < jb);
}

/* A row's list as the heap sees it: entries c with exact distances x,
 * ordered by (x, j). */
struct xlist {
    double *x;
    struct sent *c;
};

static bool xlist_less(const void *l, size_t a, size_t b)
{
    const struct xlist *L = l;
    return xless(L->x[a], L->c[a].j, L->x[b], L->c[b].j);
}

static void xlist_swap(void *l, size_t a, size_t b)
{
    const struct xlist *L = l;
    const double tx = L->x[a];
    const struct sent tc = L->c[a];
    L->x[a] = L->x[b];
    L->c[a] = L->c[b];
    L->x[b] = tx;
    L->c[b] = tc;
}

/* A double rounded down to a float. */
static float round_down(double v)
{
    float f = (float)v;
    return (double)f > v ? nextafterf(f, -INFINITY) : f;
}

/* The float filter (docs/math.md §5) of the pair of references i and j:
 * bounds on their distance relative to the distance itself, *lo rounded
 * down, *hi up. The same for (j, i) as for (i, j). */
static void sym_filter(const asdnorm_index *ix, size_t i, size_t j, float *lo, float *hi)
{
    const size_t dim = ix->dim;
    const bool cosine = ix->distance == ASDNORM_DISTANCE_COSINE;
    const float S = asdnorm__sqdiff_f(ix->vectors + i * dim, cosine ? ix->aux[i] : 1.0f,
                                      ix->vectors + j * dim, cosine ? ix->aux[j] : 1.0f, dim);
    double dlo, dhi;
    asdnorm__near_bounds(ix, S, &dlo, &dhi);
    *lo = round_down(dlo);
    *hi = round_up(dhi);
}

/* Row i's full list, all of it below U, is tightened (docs/math.md §5):
 *  1. the float filter gives every entry that has neither an exact distance
 *     nor the filter's bounds yet bounds relative to its distance (v: lower,
 *     d: upper from now on);
 *  2. U becomes the k-th smallest upper bound (the heap is rebuilt from the
 *     list), and the entries whose lower bound exceeds it are dropped;
 *  3. if more than k remain (within the filter's resolution of each other),
 *     their exact distances are computed and only the k smallest (distance,
 *     position) kept: no other can be among the row's k nearest.
 * Called by the thread that holds the row's group. */
static void sym_tighten(const asdnorm_index *ix, struct symrows *R, size_t i)
{
    struct sent *c = R->c + i * R->cap;
    double *x = R->x + i * R->cap;
    const size_t k = R->k;
    size_t n = R->nc[i];
    for (size_t t = 0; t < n; t++)
        if (isnan(x[t])) {
            float flo, fhi;
            sym_filter(ix, i, c[t].j, &flo, &fhi);
            /* Both lower bounds hold, so the larger; kept ≤ the upper one,
             * which only matters for inconsistent stored data, so that the
             * entries behind U are never dropped. */
            c[t].v = flo > c[t].v ? flo : c[t].v;
            c[t].v = c[t].v < fhi ? c[t].v : fhi;
            c[t].d = fhi;
            x[t] = FILTERED;
        }
    /* The k smallest upper bounds: a max-heap of the first k, then every
     * further one that beats its top replaces it. */
    float *u = R->ub + i * k;
    for (size_t t = 0; t < n; t++) {
        const float up = exact_known(x[t]) ? round_up(x[t]) : c[t].d;
        if (t < k) {
            u[t] = up;
            if (t + 1 == k)
                asdnorm__heap_make(u, k, asdnorm__float_less, asdnorm__float_swap);
        } else if (up < u[0]) {
            u[0] = up;
            asdnorm__heap_down(u, k, 0, asdnorm__float_less, asdnorm__float_swap);
        }
    }
    R->nub[i] = (uint32_t)k;
    R->thr[i] = u[0];
    n = sym_compact(R, i);
    if (n == k)
        return; /* the k entries behind the heap */
    for (size_t t = 0; t < n; t++)
        if (!exact_known(x[t]))
            x[t] = asdnorm__exact_ref_distance(ix, i, c[t].j);
    /* The k smallest to the front, as above. */
    struct xlist L = {x, c};
    asdnorm__heap_make(&L, k, xlist_less, xlist_swap);
    for (size_t t = k; t < n; t++)
        if (xless(x[t], c[t].j, x[0], c[0].j)) {
            x[0] = x[t];
            c[0] = c[t];
            asdnorm__heap_down(&L, k, 0, xlist_less, xlist_swap);
        }
    for (size_t t = 0; t < k; t++)
        u[t] = round_up(x[t]);
    asdnorm__heap_make(u, k, asdnorm__float_less, asdnorm__float_swap);
    R->nc[i] = (uint32_t)k;
    R->thr[i] = u[0];
}

/* Offer reference j, float distance d with bounds [lo, ub], to row i; the
 * caller has checked lo ≤ R->thr[i]. filtered: the bounds are the float
 * filter's (d = ub). */
static inline void sym_offer(const asdnorm_index *ix, struct symrows *R, size_t i, float lo,
                             float d, float ub, size_t j, bool filtered)
{
    float *u = R->ub + i * R->k;
    const size_t n = R->nub[i];
    if (n < R->k) {
        size_t p = n; /* sift up */
        while (p > 0 && u[(p - 1) / 2] < ub) {
            u[p] = u[(p - 1) / 2];
            p = (p - 1) / 2;
        }
        u[p] = ub;
        R->nub[i] = (uint32_t)(n + 1);
        if (n + 1 == R->k)
            R->thr[i] = u[0];
    } else if (ub < u[0]) {
        u[0] = ub;
        asdnorm__heap_down(u, n, 0, asdnorm__float_less, asdnorm__float_swap);
        R->thr[i] = u[0];
    }
    if (R->over[i] || lo > R->thr[i])
        return;
    size_t nc = R->nc[i];
    if (nc == R->cap && (nc = sym_compact(R, i)) == R->cap) {
        if (!R->x) {
            R->over[i] = 1;
            return;
        }
        sym_tighten(ix, R, i);
        nc = R->nc[i];
        if (lo > R->thr[i])
            return;
    }
    R->c[i * R->cap + nc] = (struct sent){lo, d, (uint32_t)j};
    if (R->x)
        R->x[i * R->cap + nc] = filtered ? FILTERED : NOT_EXACT;
    R->nc[i] = (uint32_t)(nc + 1);
}

/* The end of a row that sym_end does not refine itself (its list overflowed,
 * or holds more than MAX_REFINE): its candidates (lower bound ≤ U), refined
 * exactly; an overflowed row's come from a fresh row of float distances, the
 * other's list sym_end has already cut to them. rowbuf (M floats) and q (dim
 * floats) are the thread's. */
static asdnorm_status sym_finish(const struct job *jb, struct scratch *s, const struct symrows *R,
                                 size_t i, float E, float *rowbuf, float *q)
{
    const asdnorm_index *ix = jb->ix;
    const size_t m = ix->size, dim = ix->dim, n = R->nc[i];
    const float *raw = ix->vectors + i * dim;
    const struct sent *c = R->c + i * R->cap;
    const float U = R->thr[i];
    float qaux;
    /* The exact distances need ‖raw‖ only under cosine; the prepared query
     * only for the overflow path's row of float distances. */
    double qnorm = ix->distance == ASDNORM_DISTANCE_COSINE ? asdnorm__norm2(raw, dim) : 1.0;
    size_t r = 0;
    if (R->over[i]) {
        /* The references row i is searched among: the other part under a split. */
        size_t first = 0, end = m;
        if (jb->split) {
            first = i < jb->split ? jb->split : 0;
            end = i < jb->split ? m : jb->split;
        }
        asdnorm__prepare_queries(ix, raw, 1, q, &qaux, &qnorm);
        asdnorm__block_distances(ix, q, &qaux, 1, 0, m, rowbuf, m);
        for (size_t j = first; j < end; j++) {
            if (j == i)
                continue;
            float lo = rowbuf[j] - asdnorm__err(ix, E, rowbuf[j]);
            if (lo <= U)
                s->heap[r++] = (struct hcand){lo, rowbuf[j], j};
        }
    } else {
        for (; r < n; r++)
            s->heap[r] = (struct hcand){c[r].v, c[r].d, c[r].j};
    }
    return asdnorm__knn_finish_row(jb, s, r, i, raw, qnorm);
}

/* A row whose candidate list holds its whole answer: not overflowed, and
 * short enough to be refined whole (as finish_row would). */
static bool listed(const struct symrows *R, size_t i)
{
    return !R->over[i] && R->nc[i] <= MAX_REFINE;
}

#define NO_LINK UINT32_MAX

/* The rows' order for the refinement: breadth first through the candidate
 * lists, so that a row is refined soon after rows that share its
 * neighbours, whose rows are then still in cache. */
static void refine_order(const struct symrows *R, size_t m, uint32_t *order, uint8_t *seen)
{
    size_t head = 0, tail = 0;
    for (size_t r = 0; r < m; r++) {
        if (seen[r])
            continue;
        seen[r] = 1;
        order[tail++] = (uint32_t)r;
        while (head < tail) {
            const size_t i = order[head++];
            if (!listed(R, i))
                continue;
            const struct sent *c = R->c + i * R->cap;
            for (size_t t = 0; t < R->nc[i]; t++)
                if (!seen[c[t].j]) {
                    seen[c[t].j] = 1;
                    order[tail++] = c[t].j;
                }
        }
    }
}

/* The end of the symmetric search, once every task is done. A listed row's
 * candidates are those with lower bound ≤ its final U (its list is cut to
 * them); d(i, j) is bitwise d(j, i) (asdnorm__exact_ref_distance), so a pair
 * in both rows' lists is refined once, by the lower row, and the other reads
 * it (link: the entry's partner, or NO_LINK). Then every row is sorted and
 * handed to the callback; the other rows are finished by sym_finish. The
 * values do not depend on the order or the threads. */
/* A known row (struct copies): the k lowest other members of its group, at
 * distance 0. */
static asdnorm_status known_row(const struct job *jb, struct scratch *s, const struct copies *cp,
                                size_t i)
{
    size_t t = 0;
    for (uint32_t j = cp->first[i]; t < jb->k; j = cp->next[j])
        if (j != i) {
            s->dist[t] = 0.0;
            s->idx[t++] = j;
        }
    return jb->fn(jb->ctx, i, s->dist, s->idx, jb->k);
}

static asdnorm_status sym_end(const struct job *jb, struct scratch *s, struct symrows *R,
                              const struct copies *cp, float E, float *rowbuf, float *qbuf,
                              bool par, int nt)
{
    const asdnorm_index *ix = jb->ix;
    const size_t m = ix->size, dim = ix->dim;
#pragma omp parallel for schedule(static) if (par) num_threads(nt)
    for (size_t i = 0; i < m; i++)
        if (!R->over[i])
            sym_compact(R, i);
    /* Entries before row i's in d and link; the total is below 2³² (the lists
     * fit in SYM_HEAP_BYTES). */
    uint32_t *off = asdnorm__mallocn(m + 1, sizeof *off);
    uint32_t *order = asdnorm__mallocn(m, sizeof *order);
    uint8_t *seen = asdnorm__calloc(m, 1);
    double *d = NULL;
    uint32_t *link = NULL;
    if (off) {
        off[0] = 0;
        for (size_t i = 0; i < m; i++)
            off[i + 1] = off[i] + (listed(R, i) ? R->nc[i] : 0);
        d = asdnorm__mallocn(off[m] ? off[m] : 1, sizeof *d);
        link = asdnorm__mallocn(off[m] ? off[m] : 1, sizeof *link);
    }
    asdnorm_status st = ASDNORM_E_NOMEM;
    if (!off || !order || !seen || !d || !link)
        goto out;

    struct asdnorm__progress *prog = jb->prog;
    asdnorm__progress_stage(prog, SYM_LINK_SHARE, m);
#pragma omp parallel for schedule(dynamic, 64) if (par) num_threads(nt)
    for (size_t i = 0; i < m; i++) {
        if (asdnorm__progress_tick(prog, 1) || !listed(R, i))
            continue;
        const struct sent *c = R->c + i * R->cap;
        for (size_t t = 0; t < R->nc[i]; t++) {
            const size_t j = c[t].j;
            uint32_t l = NO_LINK;
            if (listed(R, j)) {
                const struct sent *cj = R->c + j * R->cap;
                for (size_t u = 0; u < R->nc[j]; u++)
                    if (cj[u].j == i) {
                        l = off[j] + (uint32_t)u;
                        break;
                    }
            }
            link[off[i] + t] = l;
        }
    }
    refine_order(R, m, order, seen);
    asdnorm__progress_stage(prog, SYM_REFINE_SHARE, m);
#pragma omp parallel for schedule(dynamic, 8) if (par) num_threads(nt)
    for (size_t p = 0; p < m; p++) {
        const size_t i = order[p];
        if (asdnorm__progress_tick(prog, 1) || !listed(R, i))
            continue;
        const struct sent *c = R->c + i * R->cap;
        const double *x = R->x ? R->x + i * R->cap : NULL;
        for (size_t t = 0; t < R->nc[i]; t++)
            if (x && exact_known(x[t]))
                d[off[i] + t] = x[t];
            else if (link[off[i] + t] == NO_LINK || c[t].j > i)
                d[off[i] + t] = asdnorm__exact_ref_distance(ix, i, c[t].j);
    }

    asdnorm_status bst = ASDNORM_OK;
    asdnorm__progress_stage(prog, SYM_EMIT_SHARE, m);
#pragma omp parallel for schedule(dynamic, 16) if (par) num_threads(nt)
    for (size_t i = 0; i < m; i++) {
        if (asdnorm__progress_tick(prog, 1))
            continue;
        const int tid = asdnorm__thread_id();
        asdnorm_status rst;
        if (cp->known && cp->known[i]) {
            rst = known_row(jb, &s[tid], cp, i);
        } else if (listed(R, i)) {
            const struct sent *c = R->c + i * R->cap;
            for (size_t t = 0; t < R->nc[i]; t++) {
                const uint32_t l = link[off[i] + t];
                s[tid].cand[t].j = c[t].j;
                s[tid].cand[t].d = l != NO_LINK && c[t].j < i ? d[l] : d[off[i] + t];
            }
            rst = asdnorm__knn_emit_row(jb, &s[tid], R->nc[i], i);
        } else {
            rst = sym_finish(jb, &s[tid], R, i, E, rowbuf + (size_t)tid * m,
                             qbuf + (size_t)tid * dim);
        }
        if (rst != ASDNORM_OK) {
#pragma omp critical(asdnorm_knn_status)
            if (bst == ASDNORM_OK)
                bst = rst;
        }
    }
    st = asdnorm__progress_canceled(prog) ? ASDNORM_E_CANCELED : bst;
out:
    asdnorm__free(off);
    asdnorm__free(order);
    asdnorm__free(seen);
    asdnorm__free(d);
    asdnorm__free(link);
    return st;
}

/* The float distances of row i (aux qa) to the rows of dot products s (aux
 * aux[t]), all stored references: as asdnorm__chunk_dist but for cosine,
 * whose stored rows are not unit vectors (y_i c_i is): d̃ = ½ (1 − s·a_i·a_j),
 * symmetric in i and j and within the error scale E (docs/math.md §5). */
static inline void sym_dist(asdnorm_distance distance, const float *s, const float *aux, float qa,
                            float mse_scale, size_t n, float *d)
{
    if (distance == ASDNORM_DISTANCE_COSINE) {
        for (size_t t = 0; t < n; t++) {
            const float v = 0.5f * (1.0f - s[t] * qa * aux[t]);
            d[t] = v < 0.0f ? 0.0f : v;
        }
    } else {
        asdnorm__chunk_dist(distance, s, aux, qa, mse_scale, n, d);
    }
}

/* What the tasks share. The rows are cut into groups of SYM_GROUP from 0, and
 * under a split (jb->split) from 0 and from split, so that no group spans both
 * parts: groups 0 … ga − 1 are below part (all of them without a split). */
struct symtask {
    const asdnorm_index *ix;
    struct symrows *R;
    const struct copies *cp;
    float E, cap_e, mse_scale;
    struct asdnorm__progress *prog;
    /* Entries with d̃ < near · e get the float filter's bounds when offered
     * (0: never; the rows' lists are tightened without it). */
    float near;
    size_t part, ga;
};

/* Group g's first row and its number of rows. */
static void group_rows(const struct symtask *T, size_t g, size_t *first, size_t *n)
{
    const size_t start = g < T->ga ? 0 : T->part, end = g < T->ga ? T->part : T->ix->size;
    *first = start + (g < T->ga ? g : g - T->ga) * SYM_GROUP;
    *n = end - *first < SYM_GROUP ? end - *first : SYM_GROUP;
}

/* Bits j … j + n − 1 (n ≤ 64) of a bitmap. */
static inline uint64_t bits_at(const uint64_t *b, size_t j, size_t n)
{
    const size_t w = j / 64, o = j % 64;
    uint64_t v = b[w] >> o;
    if (o && o + n > 64)
        v |= b[w + 1] << (64 - o);
    return n == 64 ? v : v & ((UINT64_C(1) << n) - 1);
}

/* The scan of one task: buf holds the dot products of rows i0 … i0 + ni − 1
 * (buffer rows) with rows j0 … j0 + nj − 1 (columns), row stride ld; when
 * tri (i0 = j0), only its upper triangle, entries above the diagonal. Entry
 * (a, b) is offered to row i0 + a as its distance to j0 + b, and to row
 * j0 + b as its distance to i0 + a. A chunk's coarse filter gives a bit mask
 * per direction, and only the entries whose bit is set are looked at, in
 * column order: the offers, and so the rows' states, are those of a plain
 * loop over every entry. */
static void sym_scan(const struct symtask *T, const float *buf, size_t ld, size_t i0, size_t ni,
                     size_t j0, size_t nj, bool tri)
{
    const asdnorm_index *ix = T->ix;
    struct symrows *R = T->R;
    const float *aux = ix->aux;
    float *thr = R->thr;
    float d[CHUNK];
    const uint64_t *hid = T->cp->any_hidden ? T->cp->hidden : NULL;
    for (size_t a = 0; a < ni; a++) {
        const size_t i = i0 + a;
        const float *row = buf + a * ld;
        if (hid && (hid[i / 64] >> (i % 64) & 1))
            continue; /* offered to no row, and (known) offered nothing */
        for (size_t t0 = tri ? a + 1 : 0; t0 < nj; t0 += CHUNK) {
            const size_t n = nj - t0 < CHUNK ? nj - t0 : CHUNK;
            sym_dist(ix->distance, row + t0, aux + j0 + t0, aux[i], T->mse_scale, n, d);
            uint64_t mr = asdnorm__below_mask(d, n, T->cap_e, thr + i, 0);
            if (hid)
                mr &= ~bits_at(hid, j0 + t0, n);
            const uint64_t mc = asdnorm__below_mask(d, n, T->cap_e, thr + j0 + t0, 1);
            uint64_t m = mr | mc;
            while (m) {
                const size_t t = (size_t)__builtin_ctzll(m);
                const uint64_t bit = m & -m;
                m ^= bit;
                const size_t j = j0 + t0 + t;
                const float e = asdnorm__err(ix, T->E, d[t]);
                float lo = d[t] - e, dd = d[t], hi = d[t] + e;
                const bool to_i = (mr & bit) && lo <= thr[i], to_j = (mc & bit) && lo <= thr[j];
                const bool filtered = (to_i || to_j) && d[t] < T->near * e;
                if (filtered) {
                    /* Within a cluster tighter than the sgemm's resolution:
                     * one filter for both rows, bounds relative to the
                     * distance (the larger lower bound, kept ≤ the upper). */
                    float flo, fhi;
                    sym_filter(ix, i, j, &flo, &fhi);
                    hi = fhi < hi ? fhi : hi;
                    lo = flo > lo ? flo : lo;
                    lo = lo < hi ? lo : hi;
                    dd = hi;
                }
                if (to_i && lo <= thr[i])
                    sym_offer(ix, R, i, lo, dd, hi, j, filtered);
                if (to_j && lo <= thr[j])
                    sym_offer(ix, R, j, lo, dd, hi, i, filtered);
            }
        }
    }
}

/* Task (a, b) of groups a ≤ b, computed into buf and scanned. */
static void sym_task(const struct symtask *T, size_t a, size_t b, float *buf)
{
    size_t i0, ni, j0, nj;
    group_rows(T, a, &i0, &ni);
    group_rows(T, b, &j0, &nj);
    if (a == b)
        asdnorm__block_self_dots(T->ix, i0, ni, buf, nj);
    else
        asdnorm__block_dots(T->ix, T->ix->vectors + i0 * T->ix->dim, ni, j0, nj, buf, nj);
    sym_scan(T, buf, nj, i0, ni, j0, nj, a == b);
}

/* Group g's lock: taken by exchange (acquire), released by store (release),
 * so a task sees the row states that earlier tasks on its groups left. */
static bool try_lock(atomic_uchar *l)
{
    return !atomic_load_explicit(l, memory_order_relaxed) &&
           !atomic_exchange_explicit(l, 1, memory_order_acquire);
}

static void unlock(atomic_uchar *l)
{
    atomic_store_explicit(l, 0, memory_order_release);
}

/* The tasks, listed group row by group row ((0, 0), (0, 1), …, (1, 1), …),
 * taken by the team: each thread walks the list from its own starting point
 * and takes the next task not yet taken whose two groups are free. */
static void sym_tasks(const struct symtask *T, size_t tasks, const uint32_t *ta,
                      const uint32_t *tb, atomic_uchar *taken, atomic_uchar *lock,
                      atomic_size_t *left, float *buf, size_t tid, size_t team)
{
    size_t cur = tasks * tid / team;
    while (atomic_load_explicit(left, memory_order_relaxed) > 0) {
        if (asdnorm__progress_tick(T->prog, 0))
            break; /* canceled: the tasks left are not run */
        bool ran = false;
        for (size_t q = 0; q < tasks && !ran; q++) {
            const size_t t = (cur + q) % tasks;
            if (atomic_load_explicit(&taken[t], memory_order_relaxed))
                continue;
            const size_t a = ta[t], b = tb[t];
            if (!try_lock(&lock[a]))
                continue;
            if (b != a && !try_lock(&lock[b])) {
                unlock(&lock[a]);
                continue;
            }
            if (!atomic_exchange_explicit(&taken[t], 1, memory_order_relaxed)) {
                atomic_fetch_sub_explicit(left, 1, memory_order_relaxed);
                sym_task(T, a, b, buf);
                asdnorm__progress_tick(T->prog, 1);
                cur = t + 1;
                ran = true;
            }
            if (b != a)
                unlock(&lock[b]);
            unlock(&lock[a]);
        }
    }
}

static void free_copies(struct copies *cp)
{
    asdnorm__free(cp->own);
    asdnorm__free(cp->next);
    asdnorm__free(cp->first);
    asdnorm__free(cp->known);
    asdnorm__free(cp->hidden);
}

/* The known and hidden rows of struct copies, for k nearest; cp->known stays
 * NULL when no group has more than k members. */
static asdnorm_status find_known(const asdnorm_index *ix, size_t k, struct copies *cp)
{
    const size_t m = ix->size;
    size_t copies = 0;
    uint32_t *rank = NULL, *size = NULL;
    asdnorm_status st = ASDNORM_E_NOMEM;
    if (ix->copy_rows == m) {
        cp->prev = ix->copy_prev;
        copies = ix->copy_count;
        st = ASDNORM_OK;
    } else {
        cp->prev = cp->own = asdnorm__mallocn(m, sizeof *cp->own);
        if (cp->own)
            st = asdnorm__find_copies(ix, m, cp->own, &copies);
    }
    if (st != ASDNORM_OK || copies < k)
        goto out; /* no group can have more than k members */
    st = ASDNORM_E_NOMEM;
    cp->next = asdnorm__mallocn(m, sizeof *cp->next);
    cp->first = asdnorm__mallocn(m, sizeof *cp->first);
    rank = asdnorm__mallocn(m, sizeof *rank);
    size = asdnorm__calloc(m, sizeof *size);
    if (!cp->next || !cp->first || !rank || !size)
        goto out;
    for (size_t j = 0; j < m; j++) {
        const uint32_t p = cp->prev[j];
        cp->next[j] = ASDNORM_NO_COPY;
        cp->first[j] = p == ASDNORM_NO_COPY ? (uint32_t)j : cp->first[p];
        rank[j] = p == ASDNORM_NO_COPY ? 0 : rank[p] + 1;
        if (p != ASDNORM_NO_COPY)
            cp->next[p] = (uint32_t)j;
        size[cp->first[j]]++;
    }
    bool any = false;
    for (size_t j = 0; j < m && !any; j++)
        any = size[j] > k;
    st = ASDNORM_OK;
    if (!any)
        goto out;
    st = ASDNORM_E_NOMEM;
    cp->known = asdnorm__mallocn(m, sizeof *cp->known);
    cp->hidden = asdnorm__calloc(m / 64 + 2, sizeof *cp->hidden);
    if (!cp->known || !cp->hidden)
        goto out;
    for (size_t j = 0; j < m; j++) {
        cp->known[j] = size[cp->first[j]] > k;
        if (rank[j] >= k) {
            cp->hidden[j / 64] |= UINT64_C(1) << (j % 64);
            cp->any_hidden = true;
        }
    }
    st = ASDNORM_OK;
out:
    asdnorm__free(rank);
    asdnorm__free(size);
    if (st != ASDNORM_OK || !cp->known) {
        free_copies(cp);
        *cp = (struct copies){0};
    }
    return st;
}

asdnorm_status asdnorm__knn_sym(const struct job *jb, size_t cap)
{
    const asdnorm_index *ix = jb->ix;
    const size_t m = ix->size, dim = ix->dim;
    const size_t part = jb->split ? jb->split : m;
    const size_t ga = (part + SYM_GROUP - 1) / SYM_GROUP;
    const size_t gb = (m - part + SYM_GROUP - 1) / SYM_GROUP;
    const size_t groups = ga + gb;
    /* Every pair of groups a ≤ b; under a split, only the pairs across the parts. */
    const size_t tasks = jb->split ? ga * gb : groups * (groups + 1) / 2;
    const size_t gs = m < SYM_GROUP ? m : SYM_GROUP;

    const int nt = asdnorm__threads();
    /* Tightening needs a full list to stay refinable whole (listed). */
    const bool tighten = cap <= MAX_REFINE;
    struct symrows R = {asdnorm__mallocn(m * cap, sizeof(struct sent)),
                        tighten ? asdnorm__mallocn(m * cap, sizeof(double)) : NULL,
                        asdnorm__mallocn(m * jb->k, sizeof(float)),
                        asdnorm__calloc(m, sizeof(uint32_t)),
                        asdnorm__calloc(m, sizeof(uint32_t)),
                        asdnorm__mallocn(m, sizeof(float)),
                        asdnorm__calloc(m, sizeof(uint8_t)),
                        cap,
                        jb->k};
    float *bufs = asdnorm__mallocn((size_t)nt * gs * gs, sizeof *bufs);
    uint32_t *ta = asdnorm__mallocn(tasks, sizeof *ta), *tb = asdnorm__mallocn(tasks, sizeof *tb);
    atomic_uchar *taken = asdnorm__mallocn(tasks, sizeof *taken);
    atomic_uchar *lock = asdnorm__mallocn(groups, sizeof *lock);
    float *rowbuf = asdnorm__mallocn((size_t)nt * m, sizeof *rowbuf);
    float *qbuf = asdnorm__mallocn((size_t)nt * dim, sizeof *qbuf);
    struct scratch *s = asdnorm__calloc((size_t)nt, sizeof *s);
    struct copies cp = {0};
    asdnorm_status st = R.c && (R.x || !tighten) && R.ub && R.nc && R.nub && R.thr && R.over &&
                                bufs && ta && tb && taken && lock && rowbuf && qbuf && s
                            ? (jb->split ? ASDNORM_OK : find_known(ix, jb->k, &cp))
                            : ASDNORM_E_NOMEM;
    for (int t = 0; t < nt && st == ASDNORM_OK; t++) {
        s[t].ub = asdnorm__mallocn(cap, sizeof *s[t].ub);
        s[t].heap = asdnorm__mallocn(m, sizeof *s[t].heap);
        s[t].cand = asdnorm__mallocn(m, sizeof *s[t].cand);
        s[t].dist = asdnorm__mallocn(jb->k, sizeof *s[t].dist);
        s[t].idx = asdnorm__mallocn(jb->k, sizeof *s[t].idx);
        if (!s[t].ub || !s[t].heap || !s[t].cand || !s[t].dist || !s[t].idx)
            st = ASDNORM_E_NOMEM;
    }
    if (st != ASDNORM_OK)
        goto out;
    for (size_t i = 0; i < m; i++)
        R.thr[i] = cp.known && cp.known[i] ? -INFINITY : INFINITY;
    for (size_t a = 0, t = 0; a < (jb->split ? ga : groups); a++)
        for (size_t b = jb->split ? ga : a; b < groups; b++, t++) {
            ta[t] = (uint32_t)a;
            tb[t] = (uint32_t)b;
            atomic_init(&taken[t], 0);
        }
    for (size_t g = 0; g < groups; g++)
        atomic_init(&lock[g], 0);
    atomic_size_t left;
    atomic_init(&left, tasks);

    /* Every row is a query with its own aux (sym_dist), so the largest aux is
     * the largest query's too. */
    const float aux_max = asdnorm__aux_max(ix, 0, m);
    const float E = asdnorm__error_scale(ix, aux_max, aux_max);
    const struct symtask T = {ix,
                              &R,
                              &cp,
                              E,
                              asdnorm__knn_err_cap(ix, E),
                              1.0f / (float)dim,
                              jb->prog,
                              tighten ? NEAR : 0.0f,
                              part,
                              ga};

    /* One pool of threads (threads.c): each task is one single-threaded BLAS
     * call and its scan. */
    bool serial;
    const int bt = asdnorm__blas_begin(
        nt > 1 && asdnorm__worth_threads(ASDNORM_WORK_FINALIZE,
                                         (jb->split ? part * (m - part) : m * m / 2) * dim)
            ? nt
            : 1,
        &serial);
    if (bt == 0) {
        st = ASDNORM_E_NOMEM;
        goto out;
    }
    const bool par = bt > 1;
    asdnorm__progress_stage(jb->prog, SYM_TASKS_SHARE, tasks);
#pragma omp parallel num_threads(bt) if (par)
    {
        const size_t tid = (size_t)asdnorm__thread_id(), team = (size_t)asdnorm__team_size();
        sym_tasks(&T, tasks, ta, tb, taken, lock, &left, bufs + tid * gs * gs, tid, team);
    }
    st = asdnorm__progress_canceled(jb->prog) ? ASDNORM_E_CANCELED
                                              : sym_end(jb, s, &R, &cp, E, rowbuf, qbuf, par, bt);
    asdnorm__blas_end(bt, serial);
out:
    asdnorm__knn_free_scratch(s, nt);
    free_copies(&cp);
    asdnorm__free(R.c);
    asdnorm__free(R.x);
    asdnorm__free(R.ub);
    asdnorm__free(R.nc);
    asdnorm__free(R.nub);
    asdnorm__free(R.thr);
    asdnorm__free(R.over);
    asdnorm__free(bufs);
    asdnorm__free(ta);
    asdnorm__free(tb);
    asdnorm__free((void *)taken);
    asdnorm__free((void *)lock);
    asdnorm__free(rowbuf);
    asdnorm__free(qbuf);
    return st;
}

bool asdnorm__knn_sym_applies(const asdnorm_index *ix, size_t k, size_t avail, size_t *cap)
{
    const size_t m = ix->size;
    /* The per-row list: k plus a margin, at most the references a row is
     * searched among. */
    const size_t extra = k > SYM_MARGIN ? k : SYM_MARGIN;
    *cap = avail - k < extra ? avail : k + extra;
    size_t bytes;
    return m < UINT32_MAX &&
           asdnorm__mul_ok(m, *cap * (sizeof(struct sent) + sizeof(double)) + k * sizeof(float),
                           &bytes) &&
           bytes <= SYM_HEAP_BYTES && asdnorm__symmetric(ix);
}
