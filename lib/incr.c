/* SPDX-License-Identifier: MIT */
/* Incremental updates of a finalized index (docs/math.md §2.6): adding
 * references (asdnorm_index_add on a finalized index, through
 * asdnorm__incr_add) and removing them (asdnorm_index_remove), with the
 * densities kept exactly those of a finalize of the new reference set.
 *
 * What makes it exact: finalize keeps every reference's list of its c nearest
 * other references, exact double distances in ascending order, ties by
 * position (index.c), where c is at least what the density needs (K′ for
 * k-NN, L for GWRP) and at most the room asdnorm__nbr_cap gives. After an add,
 * an old row's list is the c smallest (distance, position) of its old list and
 * the new rows (more than c only when the old list held every other row, up to
 * the new room); a new row's list comes from an exact search over all rows.
 * After a removal, a row's list minus the removed rows is still its nearest
 * among the remaining ones, as far as it goes: only rows left with fewer
 * entries than their density needs are searched again (the room beyond the
 * need makes that rare: a removal of 1 % of the rows leaves almost every list
 * long enough). The distances are computed by the same function as in
 * finalize (asdnorm__exact_ref_distance, bitwise the same as the searches'),
 * and every density is summed from its list by the same function in the same
 * order (asdnorm__density_of), so the densities are bitwise those of a
 * finalize from scratch.
 *
 * Both operations allocate everything, work in chunks of rows on private
 * copies, and change the index only at their commit point at the end: a
 * failure part-way (out of memory) leaves the index as it was. The long
 * parts are loops over chunks — offer_new_rows (ADD_CHUNK old rows at a
 * time), search_rows (QUERY_GROUP rows), or a full finalize — so a progress
 * report that may cancel fits at the top of each chunk: returning from there
 * frees the private copies and changes nothing. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "progress.h"

/* Old rows per chunk of the add's float pass, new rows per group of it, and
 * query rows per exact search: bounds the scratch (a group × chunk block of
 * floats, a group × (k + 1) list of results). Each chunk is a point where
 * progress can be reported. */
#define ADD_CHUNK 2048
#define ADD_GROUP 256
#define QUERY_GROUP 4096

/* (d, j) < (e, i): the order of the lists, by distance then position. */
static inline bool before(double d, size_t j, double e, size_t i)
{
    return d < e || (d == e && j < i);
}

/* Put (d, j) into the sorted list of *n entries (capacity k) where it belongs;
 * the last entry falls off a full list. The caller has checked that (d, j)
 * comes before the last entry of a full list. */
static void insert(double *dist, size_t *idx, size_t *n, size_t k, double d, size_t j)
{
    size_t t = *n < k ? *n : k - 1;
    while (t > 0 && before(d, j, dist[t - 1], idx[t - 1])) {
        dist[t] = dist[t - 1];
        idx[t] = idx[t - 1];
        t--;
    }
    dist[t] = d;
    idx[t] = j;
    if (*n < k)
        (*n)++;
}

/* The exact lists of rows rows[0 … n−1] of ix (stored references) among all of
 * ix's other rows: k entries each into dist/idx (row t at t·k). One search
 * for k + 1 neighbours (fewer when ix has no more rows) per group, dropping
 * the row itself: what is left is its k nearest others, ties by position, as
 * finalize's search finds them. */
static asdnorm_status search_rows(const asdnorm_index *ix, const size_t *rows, size_t n, size_t k,
                                  double *dist, size_t *idx)
{
    const size_t dim = ix->dim, kq = k + 1 < ix->size ? k + 1 : ix->size;
    const size_t g = n < QUERY_GROUP ? n : QUERY_GROUP;
    float *q = asdnorm__mallocn(g * dim, sizeof *q);
    double *qd = asdnorm__mallocn(g * kq, sizeof *qd);
    size_t *qi = asdnorm__mallocn(g * kq, sizeof *qi);
    asdnorm_status st = q && qd && qi ? ASDNORM_OK : ASDNORM_E_NOMEM;
    for (size_t r0 = 0; r0 < n && st == ASDNORM_OK; r0 += g) {
        const size_t b = n - r0 < g ? n - r0 : g;
        for (size_t t = 0; t < b; t++)
            memcpy(q + t * dim, ix->vectors + rows[r0 + t] * dim, dim * sizeof *q);
        st = asdnorm__knn_query(ix, q, b, kq, qd, qi);
        for (size_t t = 0; t < b && st == ASDNORM_OK; t++) {
            const size_t self = rows[r0 + t];
            double *od = dist + (r0 + t) * k;
            size_t *oi = idx + (r0 + t) * k, w = 0;
            for (size_t u = 0; u < kq && w < k; u++)
                if (qi[t * kq + u] != self) {
                    od[w] = qd[t * kq + u];
                    oi[w++] = qi[t * kq + u];
                }
        }
    }
    asdnorm__free(q);
    asdnorm__free(qd);
    asdnorm__free(qi);
    return st;
}

/* The new rows m0 … m1 − 1 of v offered to the lists of the old rows 0 … m0 − 1
 * (cnt[i] entries of at most lim[i], stride k each). A float pass (one sgemm per group of new
 * rows and chunk of old ones, with the rigorous bounds of docs/math.md §5) rules
 * out the pairs whose lower bound exceeds the row's current k-th distance; the
 * others get their exact distance and are inserted. A new row can enter a full
 * list only when strictly nearer than its last entry, as its position is higher. */
static asdnorm_status offer_new_rows(const asdnorm_index *v, size_t m0, double *nd, size_t *ni,
                                     size_t *cnt, const size_t *lim, size_t k)
{
    const size_t dim = v->dim, n = v->size - m0;
    const bool filter = asdnorm__symmetric(v);
    const size_t g = n < ADD_GROUP ? n : ADD_GROUP, c = m0 < ADD_CHUNK ? m0 : ADD_CHUNK;
    float *Q = asdnorm__mallocn(g * dim, sizeof *Q);
    float *qaux = asdnorm__mallocn(g, sizeof *qaux);
    double *qnorm = asdnorm__mallocn(g, sizeof *qnorm);
    float *block = asdnorm__mallocn(g * c, sizeof *block);
    float *E = asdnorm__mallocn(g, sizeof *E);
    if (!Q || !qaux || !qnorm || !block || !E) {
        asdnorm__free(Q);
        asdnorm__free(qaux);
        asdnorm__free(qnorm);
        asdnorm__free(block);
        asdnorm__free(E);
        return ASDNORM_E_NOMEM;
    }
    const float aux_max = asdnorm__aux_max(v, 0, m0);
    for (size_t t0 = 0; t0 < n; t0 += g) {
        const size_t b = n - t0 < g ? n - t0 : g;
        if (filter) {
            asdnorm__prepare_queries(v, v->vectors + (m0 + t0) * dim, b, Q, qaux, qnorm);
            for (size_t t = 0; t < b; t++)
                E[t] = asdnorm__error_scale(v, qaux[t], aux_max);
        }
        for (size_t j0 = 0; j0 < m0; j0 += c) {
            const size_t nr = m0 - j0 < c ? m0 - j0 : c;
            if (filter)
                asdnorm__block_distances(v, Q, qaux, b, j0, nr, block, nr);
            for (size_t i = j0; i < j0 + nr; i++) {
                double *ld = nd + i * k;
                size_t *li = ni + i * k;
                const size_t room = lim[i];
                for (size_t t = 0; t < b; t++) {
                    const size_t j = m0 + t0 + t;
                    if (cnt[i] == room && filter) {
                        /* The lower bound, with a margin for the double rounding of the
                         * exact values: a pair it rules out is farther than the last. */
                        const float dt = block[t * nr + (i - j0)];
                        const double lo = (double)dt - (double)asdnorm__err(v, E[t], dt);
                        if (lo > ld[room - 1] * (1.0 + 0x1p-30))
                            continue;
                    }
                    const double d = asdnorm__exact_ref_distance(v, i, j);
                    if (cnt[i] < room || before(d, j, ld[room - 1], li[room - 1]))
                        insert(ld, li, &cnt[i], room, d, j);
                }
            }
        }
    }
    asdnorm__free(Q);
    asdnorm__free(qaux);
    asdnorm__free(qnorm);
    asdnorm__free(block);
    asdnorm__free(E);
    return ASDNORM_OK;
}

/* The new state of a finalized index, built aside and then committed: densities,
 * lists (room cap per row, cnt entries each) and floor. */
struct next {
    double *dens, *nd;
    size_t *ni, *cnt, cap;
    double floor;
};

static void next_free(struct next *x)
{
    asdnorm__free(x->dens);
    asdnorm__free(x->nd);
    asdnorm__free(x->ni);
    asdnorm__free(x->cnt);
}

static asdnorm_status next_alloc(struct next *x, size_t m, size_t cap)
{
    x->cap = cap;
    x->dens = asdnorm__mallocn(m, sizeof *x->dens);
    x->nd = asdnorm__mallocn(m * cap, sizeof *x->nd);
    x->ni = asdnorm__mallocn(m * cap, sizeof *x->ni);
    x->cnt = asdnorm__mallocn(m, sizeof *x->cnt);
    return x->dens && x->nd && x->ni && x->cnt ? ASDNORM_OK : ASDNORM_E_NOMEM;
}

/* The densities of all rows of v from the first `need` entries of their lists. */
static void densities_from_lists(const asdnorm_index *v, const struct next *x, size_t need)
{
    for (size_t i = 0; i < v->size; i++)
        x->dens[i] = asdnorm__density_of(v->estimator, v->param_req, v->size - 1,
                                         x->nd + i * x->cap, need);
}

/* Densities for the references of v (whose estimator and param_req are the
 * index's) by a full finalize: where no lists are kept, or NONE. */
static asdnorm_status full_pass(const asdnorm_index *v, struct next *x,
                                struct asdnorm__progress *prog)
{
    return asdnorm__compute_density(v, v->estimator, v->param_req, prog, &x->dens, &x->nd,
                                     &x->ni, &x->cnt, &x->cap);
}

/* The commit point of add and remove: ix takes x's densities and lists, and the
 * size and estimator parameter of a finalize of its m references. */
static void commit(asdnorm_index *ix, struct next *x, size_t m)
{
    asdnorm__free(ix->density);
    asdnorm__free(ix->nbr_dist);
    asdnorm__free(ix->nbr_idx);
    asdnorm__free(ix->nbr_cnt);
    ix->density = x->dens;
    ix->nbr_dist = x->nd;
    ix->nbr_idx = x->ni;
    ix->nbr_cnt = x->cnt;
    ix->nbr_cap = x->cap;
    ix->floor = x->floor;
    ix->size = m;
    ix->param = asdnorm__kept_param(ix->estimator, ix->param_req, m);
}

asdnorm_status asdnorm__incr_add(asdnorm_index *ix, size_t n)
{
    const size_t m0 = ix->size, m = m0 + n, c0 = ix->nbr_cap;
    asdnorm_index v = *ix; /* the index with the new rows: a view until the commit */
    v.size = m;
    struct next x = {0};
    const size_t need = asdnorm__nbr_need(ix->estimator, ix->param_req, m);
    const size_t cap = asdnorm__nbr_cap(need, m);
    /* The index's progress callback (asdnorm_index_set_progress) sees the call begin
     * and end, and the full pass's stages when there is one; a cancel changes nothing. */
    struct asdnorm__progress prog;
    asdnorm_status st = asdnorm__progress_begin(&prog, ix->progress, ix->progress_user);
    if (st != ASDNORM_OK) {
        /* canceled at once */
    } else if (c0 == 0 || !asdnorm__nbr_keep(m, cap)) {
        /* NONE (nothing to update but the floor), or no lists: from scratch. */
        st = full_pass(&v, &x, &prog);
    } else {
        size_t *lim = asdnorm__mallocn(m0, sizeof *lim);
        size_t *rows = asdnorm__mallocn(n, sizeof *rows);
        st = next_alloc(&x, m, cap);
        st = st == ASDNORM_OK && lim && rows ? ASDNORM_OK : ASDNORM_E_NOMEM;
        if (st == ASDNORM_OK) {
            /* Old rows start from their lists; a list that held every other row
             * may grow to the new room, any other keeps its length (cap ≥ c0, and
             * the need grows only where the list held every other row)… */
            for (size_t i = 0; i < m0; i++) {
                const size_t c = ix->nbr_cnt[i];
                memcpy(x.nd + i * cap, ix->nbr_dist + i * c0, c * sizeof *x.nd);
                memcpy(x.ni + i * cap, ix->nbr_idx + i * c0, c * sizeof *x.ni);
                x.cnt[i] = c;
                lim[i] = c == m0 - 1 ? cap : c;
            }
            /* …and are offered the new rows; new rows are searched among all. */
            st = offer_new_rows(&v, m0, x.nd, x.ni, x.cnt, lim, cap);
            for (size_t t = 0; t < n; t++) {
                rows[t] = m0 + t;
                x.cnt[m0 + t] = cap;
            }
            if (st == ASDNORM_OK)
                st = search_rows(&v, rows, n, cap, x.nd + m0 * cap, x.ni + m0 * cap);
            if (st == ASDNORM_OK)
                densities_from_lists(&v, &x, need);
        }
        asdnorm__free(lim);
        asdnorm__free(rows);
    }
    if (st == ASDNORM_OK)
        st = asdnorm__ratio_floor(&v, &x.floor);
    if (st == ASDNORM_OK)
        st = asdnorm__progress_end(&prog);
    if (st != ASDNORM_OK) {
        next_free(&x);
        return st;
    }
    commit(ix, &x, m);
    return ASDNORM_OK;
}

/* ---- removal ---------------------------------------------------------------- */

/* The index's rows without the removed ones, in order, in new arrays. */
struct rows {
    float *vectors, *aux;
    double *scale;
    uint8_t *domains;
};

static void rows_free(struct rows *r)
{
    asdnorm__free(r->vectors);
    asdnorm__free(r->aux);
    asdnorm__free(r->scale);
    asdnorm__free(r->domains);
}

static asdnorm_status compact_rows(const asdnorm_index *ix, const size_t *newpos, size_t m,
                                   struct rows *r)
{
    const size_t dim = ix->dim, cap = m ? m : 1;
    r->vectors = asdnorm__mallocn(cap * dim, sizeof *r->vectors);
    r->aux = asdnorm__mallocn(cap, sizeof *r->aux);
    r->scale = ix->scale ? asdnorm__mallocn(cap, sizeof *r->scale) : NULL;
    r->domains = asdnorm__malloc(cap);
    if (!r->vectors || !r->aux || (ix->scale && !r->scale) || !r->domains) {
        rows_free(r);
        return ASDNORM_E_NOMEM;
    }
    for (size_t j = 0; j < ix->size; j++) {
        const size_t p = newpos[j];
        if (p == SIZE_MAX)
            continue;
        memcpy(r->vectors + p * dim, ix->vectors + j * dim, dim * sizeof *r->vectors);
        r->aux[p] = ix->aux[j];
        if (ix->scale)
            r->scale[p] = ix->scale[j];
        r->domains[p] = ix->domains[j];
    }
    return ASDNORM_OK;
}

/* The lists of the remaining rows of v (m rows, room x->cap) from the index's old
 * lists: a row keeps its surviving entries, renumbered (up to the new room); a row
 * left with fewer than its density needs is searched again, to the full room. */
static asdnorm_status lists_after_removal(const asdnorm_index *ix, const asdnorm_index *v,
                                          const size_t *newpos, size_t need, struct next *x)
{
    const size_t m = v->size, c0 = ix->nbr_cap, k = x->cap;
    size_t *redo = asdnorm__mallocn(m, sizeof *redo);
    if (!redo)
        return ASDNORM_E_NOMEM;
    size_t nredo = 0;
    for (size_t j = 0; j < ix->size; j++) {
        const size_t p = newpos[j];
        if (p == SIZE_MAX)
            continue;
        size_t w = 0;
        for (size_t t = 0; t < ix->nbr_cnt[j] && w < k; t++) {
            const size_t q = newpos[ix->nbr_idx[j * c0 + t]];
            if (q != SIZE_MAX) {
                x->nd[p * k + w] = ix->nbr_dist[j * c0 + t];
                x->ni[p * k + w++] = q;
            }
        }
        x->cnt[p] = w < need ? k : w;
        if (w < need)
            redo[nredo++] = p;
    }
    /* The rows to search again, in groups, each result to its row's list. */
    asdnorm_status st = ASDNORM_OK;
    double *rd = NULL;
    size_t *ri = NULL;
    const size_t g = nredo < QUERY_GROUP ? nredo : QUERY_GROUP;
    if (nredo > 0) {
        rd = asdnorm__mallocn(g * k, sizeof *rd);
        ri = asdnorm__mallocn(g * k, sizeof *ri);
        st = rd && ri ? ASDNORM_OK : ASDNORM_E_NOMEM;
    }
    for (size_t r0 = 0; r0 < nredo && st == ASDNORM_OK; r0 += g) {
        const size_t b = nredo - r0 < g ? nredo - r0 : g;
        st = search_rows(v, redo + r0, b, k, rd, ri);
        for (size_t t = 0; t < b && st == ASDNORM_OK; t++) {
            memcpy(x->nd + redo[r0 + t] * k, rd + t * k, k * sizeof *rd);
            memcpy(x->ni + redo[r0 + t] * k, ri + t * k, k * sizeof *ri);
        }
    }
    asdnorm__free(rd);
    asdnorm__free(ri);
    asdnorm__free(redo);
    return st;
}

static asdnorm_status remove_rows(asdnorm_index *ix, const size_t *positions, size_t n)
{
    if (n == 0)
        return ASDNORM_OK;
    if (!positions)
        return ASDNORM_E_NULL;
    const size_t m0 = ix->size;
    if (n > m0)
        return ASDNORM_E_ARG;
    for (size_t t = 0; t < n; t++)
        if (positions[t] >= m0)
            return ASDNORM_E_ARG;
    const size_t m = m0 - n;
    if (ix->finalized && ix->computed &&
        (m == 0 || (ix->estimator != ASDNORM_DENSITY_NONE && m < 2)))
        return ASDNORM_E_TOO_FEW;

    /* newpos: each row's position after the removal, SIZE_MAX for removed rows;
     * a position named twice is found while marking. */
    size_t *newpos = asdnorm__calloc(m0, sizeof *newpos);
    if (!newpos)
        return ASDNORM_E_NOMEM;
    for (size_t t = 0; t < n; t++) {
        if (newpos[positions[t]] == SIZE_MAX) {
            asdnorm__free(newpos);
            return ASDNORM_E_ARG;
        }
        newpos[positions[t]] = SIZE_MAX;
    }
    for (size_t j = 0, p = 0; j < m0; j++)
        if (newpos[j] != SIZE_MAX)
            newpos[j] = p++;

    struct rows r;
    asdnorm_status st = compact_rows(ix, newpos, m, &r);
    if (st != ASDNORM_OK) {
        asdnorm__free(newpos);
        return st;
    }
    asdnorm_index v = *ix; /* the remaining rows: a view until the commit */
    v.size = m;
    v.capacity = m ? m : 1;
    v.vectors = r.vectors;
    v.aux = r.aux;
    v.scale = r.scale;
    v.domains = r.domains;

    struct next x = {0};
    if (ix->finalized && ix->computed) {
        const size_t need = asdnorm__nbr_need(ix->estimator, ix->param_req, m);
        const size_t cap = asdnorm__nbr_cap(need, m);
        struct asdnorm__progress prog;
        st = asdnorm__progress_begin(&prog, ix->progress, ix->progress_user);
        if (st != ASDNORM_OK) {
            /* canceled at once */
        } else if (ix->nbr_cap == 0 || !asdnorm__nbr_keep(m, cap)) {
            st = full_pass(&v, &x, &prog);
        } else {
            st = next_alloc(&x, m, cap);
            if (st == ASDNORM_OK)
                st = lists_after_removal(ix, &v, newpos, need, &x);
            if (st == ASDNORM_OK)
                densities_from_lists(&v, &x, need);
        }
        if (st == ASDNORM_OK)
            st = asdnorm__ratio_floor(&v, &x.floor);
        if (st == ASDNORM_OK)
            st = asdnorm__progress_end(&prog);
    }
    asdnorm__free(newpos);
    if (st != ASDNORM_OK) {
        next_free(&x);
        rows_free(&r);
        return st;
    }

    /* The commit point: nothing can fail from here on. */
    asdnorm__free(ix->vectors);
    asdnorm__free(ix->aux);
    asdnorm__free(ix->scale);
    asdnorm__free(ix->domains);
    ix->vectors = r.vectors;
    ix->aux = r.aux;
    ix->scale = r.scale;
    ix->domains = r.domains;
    ix->capacity = v.capacity;
    asdnorm__index_drop_copies(ix); /* rows moved: the cache of exact copies is stale */
    if (ix->finalized && ix->computed) {
        commit(ix, &x, m);
    } else {
        /* Given densities (set_density, a version-1 file) cannot be updated. */
        ix->size = m;
        ix->finalized = false;
    }
    return ASDNORM_OK;
}

asdnorm_status asdnorm_index_remove(asdnorm_index *ix, const size_t *positions, size_t n)
{
    if (!ix)
        return ASDNORM_E_NULL;
    const int prev = asdnorm__call_threads(ix->threads);
    asdnorm_status st = remove_rows(ix, positions, n);
    asdnorm__call_threads(prev);
    return st;
}
