/* SPDX-License-Identifier: MIT */
/* Leave-one-out scores of the references and the decision threshold from them
 * (docs/math.md §2.5).
 *
 * Reference i is scored against every other reference j, each with n_j^(−i),
 * the density constant finalize would give y_j on the index without y_i. From
 * the K″ + 1 nearest others of each y_j (K″ the number of terms of a
 * leave-one-out density: min(K, M − 2) under k-NN, the ranks GWRP visits among
 * M − 2 under GWRP), in ascending order l_0 … l_K″:
 *  - for i = l_t, t < K″, n_j^(−i) is the density of that list without entry t;
 *  - for every other i, n_j^(−i) = c_j, the density of its first K″ entries.
 * Each n_j^(−i) of the first kind is c_j's list with some entries replaced by
 * larger ones, so n_j^(−i) ≥ c_j and its term is no larger than c_j's. The
 * score of y_i is therefore min(A_i, B_i): A_i its score against the others
 * with the constants c_j (the scorer's exact pipeline with position i left
 * out, asdnorm__scorer_self), B_i the least term of the j that have i among
 * their K″ nearest (found here, row by row). Cost: one k-NN pass like
 * finalize's plus one scoring of the M references. */
#include <float.h>
#include <math.h>

#include "heap.h"
#include "internal.h"

/* Rows with this many neighbours or fewer use a stack buffer. */
#define SMALL_ROW 64

struct loo {
    const asdnorm_index *ix;
    asdnorm_norm norm;
    size_t terms;     /* K″ */
    const double *w;  /* the K″ weights: 1 (k-NN) or r^s (GWRP) */
    double tail;      /* GWRP: the weight of the ranks beyond K″, given to the last */
    double den;       /* the weights' total, tail included */
    double *c;        /* M constants c_j */
    double *bbest;    /* M: B_i, +∞ when no j has i among its nearest */
    size_t *barg;     /* M: the lowest j attaining it */
};

/* d(y_i, y_j) from row j's list value d(y_j, y_i): the same number, bitwise,
 * unless one of them is a raw row under cosine (a centroid), where the query
 * is normalized and the reference is not (math §2.1). */
static double query_distance(const asdnorm_index *ix, size_t i, size_t j, double dji)
{
    if (ix->distance == ASDNORM_DISTANCE_COSINE && (ix->scale[i] == 1.0 || ix->scale[j] == 1.0))
        return asdnorm__exact_ref_distance(ix, i, j);
    return dji;
}

/* Row j's K″ + 1 nearest others (dist, idx, k = K″ + 1): c_j, and the term of
 * y_j for each i = l_t, t < K″, offered to B_i. The leave-one-out density of
 * entry t sums the entries before t (pre, ascending) and after it (suf[t], each
 * with the weight of the rank it moves up to), so every one costs O(1). */
static asdnorm_status loo_row(void *vctx, size_t j, const double *dist, const size_t *idx,
                              size_t k)
{
    struct loo *L = vctx;
    const size_t K = L->terms;
    double small[SMALL_ROW];
    double *suf = k <= SMALL_ROW ? small : asdnorm__mallocn(k, sizeof *suf);
    if (!suf)
        return ASDNORM_E_NOMEM;
    suf[K] = 0.0;
    for (size_t t = K; t-- > 0;)
        suf[t] = suf[t + 1] + L->w[t] * dist[t + 1];
    double pre = 0.0;
    for (size_t t = 0; t < K; t++) {
        const double n = (pre + suf[t] + L->tail * dist[K]) / L->den;
        const size_t i = idx[t];
        const double s = asdnorm__normalize(L->ix, L->norm,
                                            query_distance(L->ix, i, j, dist[t]), n);
#pragma omp critical(asdnorm_loo)
        if (s < L->bbest[i] || (s == L->bbest[i] && j < L->barg[i])) {
            L->bbest[i] = s;
            L->barg[i] = j;
        }
        pre += L->w[t] * dist[t];
    }
    L->c[j] = (pre + L->tail * dist[K - 1]) / L->den;
    if (suf != small)
        asdnorm__free(suf);
    return ASDNORM_OK;
}

/* The c_j and B_i of the index's estimator (L's arrays allocated). */
static asdnorm_status reverse_terms(const asdnorm_index *ix, struct loo *L)
{
    const size_t m = ix->size;
    const bool knn = ix->estimator == ASDNORM_DENSITY_KNN;
    /* ix->param is K clipped to M − 1, so min(K, M − 2) is min(param, M − 2). */
    const size_t K = knn ? (ix->param < (double)(m - 2) ? (size_t)ix->param : m - 2)
                         : asdnorm__gwrp_terms(ix->param, m - 2);
    double *w = asdnorm__mallocn(K, sizeof *w);
    if (!w)
        return ASDNORM_E_NOMEM;
    /* The weights and their total as finalize forms them (index.c). */
    double wt = 1.0, den = 0.0;
    for (size_t s = 0; s < K; s++) {
        w[s] = knn ? 1.0 : wt;
        den += w[s];
        wt *= ix->param;
    }
    L->terms = K;
    L->w = w;
    L->tail = knn ? 0.0 : asdnorm__gwrp_tail(ix->param, wt, K, m - 2);
    L->den = den + L->tail;
    for (size_t i = 0; i < m; i++) {
        L->bbest[i] = INFINITY;
        L->barg[i] = SIZE_MAX;
    }
    asdnorm_status st = asdnorm__knn_self(ix, K + 1, loo_row, L);
    asdnorm__free(w);
    return st;
}

/* The exact leave-one-out scores into best and arg (M each). */
static asdnorm_status loo_scores(asdnorm_scorer *sc, double *best, size_t *arg)
{
    const asdnorm_index *ix = asdnorm__scorer_index(sc);
    const size_t m = ix->size;
    struct loo L = {ix, asdnorm__scorer_norm(sc), 0, NULL, 0.0, 0.0, NULL, NULL, NULL};
    if (L.norm == ASDNORM_NORM_NONE) /* the nearest other reference: no density */
        return asdnorm__scorer_self(sc, ix->density, best, arg);
    L.c = asdnorm__mallocn(m, sizeof *L.c);
    L.bbest = asdnorm__mallocn(m, sizeof *L.bbest);
    L.barg = asdnorm__mallocn(m, sizeof *L.barg);
    asdnorm_status st = L.c && L.bbest && L.barg ? ASDNORM_OK : ASDNORM_E_NOMEM;
    if (st == ASDNORM_OK)
        st = reverse_terms(ix, &L);
    if (st == ASDNORM_OK)
        st = asdnorm__scorer_self(sc, L.c, best, arg);
    for (size_t i = 0; st == ASDNORM_OK && i < m; i++)
        if (L.bbest[i] < best[i] || (L.bbest[i] == best[i] && L.barg[i] < arg[i])) {
            best[i] = L.bbest[i];
            arg[i] = L.barg[i];
        }
    asdnorm__free(L.c);
    asdnorm__free(L.bbest);
    asdnorm__free(L.barg);
    return st;
}

/* The self scores as floats into a buffer of the caller's or ours. */
static asdnorm_status self_scores(asdnorm_scorer *sc, float *scores, size_t *nearest)
{
    const asdnorm_index *ix = asdnorm__scorer_index(sc);
    if (!ix->finalized)
        return ASDNORM_E_STATE;
    const size_t m = ix->size;
    if (m < (ix->estimator == ASDNORM_DENSITY_NONE ? 2u : 3u))
        return ASDNORM_E_TOO_FEW;
    double *best = asdnorm__mallocn(m, sizeof *best);
    size_t *arg = asdnorm__mallocn(m, sizeof *arg);
    asdnorm_status st = best && arg ? loo_scores(sc, best, arg) : ASDNORM_E_NOMEM;
    for (size_t i = 0; st == ASDNORM_OK && i < m; i++) {
        /* As the scorer reports them: rounded once, beyond float's range FLT_MAX. */
        scores[i] = best[i] < FLT_MAX ? (float)best[i] : FLT_MAX;
        if (nearest)
            nearest[i] = arg[i];
    }
    asdnorm__free(best);
    asdnorm__free(arg);
    return st;
}

asdnorm_status asdnorm_scorer_self_scores(asdnorm_scorer *sc, float *scores, size_t *nearest)
{
    if (!sc || !scores)
        return ASDNORM_E_NULL;
    const int prev = asdnorm__call_threads(asdnorm__scorer_threads(sc));
    asdnorm_status st = self_scores(sc, scores, nearest);
    asdnorm__call_threads(prev);
    return st;
}

/* The number of self scores allowed above the threshold: ⌊fpr · M⌋, where a
 * product within 10⁻⁶ below an integer counts as that integer (the double
 * nearest a decimal fpr may fall a hair below it), and at most M − 1. */
static size_t allowed_above(double fpr, size_t m)
{
    const double c = floor(fpr * (double)m + 1e-6);
    return c >= (double)(m - 1) ? m - 1 : (size_t)c;
}

asdnorm_status asdnorm_scorer_threshold(asdnorm_scorer *sc, double fpr, float *threshold)
{
    if (!sc || !threshold)
        return ASDNORM_E_NULL;
    if (!(fpr > 0.0 && fpr < 1.0))
        return ASDNORM_E_ARG;
    const asdnorm_index *ix = asdnorm__scorer_index(sc);
    float *s = ix->size ? asdnorm__mallocn(ix->size, sizeof *s) : NULL;
    if (!s && ix->size)
        return ASDNORM_E_NOMEM;
    const int prev = asdnorm__call_threads(asdnorm__scorer_threads(sc));
    asdnorm_status st = self_scores(sc, s, NULL);
    asdnorm__call_threads(prev);
    if (st == ASDNORM_OK) {
        /* The smallest self score t with #{s_i > t} ≤ ⌊fpr · M⌋: the
         * (M − ⌊fpr · M⌋)-th smallest (math §2.5). */
        const size_t m = ix->size;
        asdnorm__heap_sort(s, m, asdnorm__float_less, asdnorm__float_swap);
        *threshold = s[m - 1 - allowed_above(fpr, m)];
    }
    asdnorm__free(s);
    return st;
}
