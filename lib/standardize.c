/* SPDX-License-Identifier: MIT */
/* Domain-wise standardization (Saengthong & Shinozaki 2025; math §3):
 * s(x) = min over the domains d present among the references of
 * (s_d(x) − μ_d) / σ_d, where s_d scores x against domain d's references
 * alone (an index of its own, finalized with the same estimator) and μ_d, σ_d
 * are the batch mean and unbiased standard deviation of s_d. */
#include <math.h>
#include <string.h>

#include "internal.h"

static bool valid_norm(asdnorm_norm norm)
{
    return norm == ASDNORM_NORM_NONE || norm == ASDNORM_NORM_RATIO ||
           norm == ASDNORM_NORM_DIFFERENCE;
}

/* A new index holding the references of ix whose positions are in pick,
 * exactly as ix stores them: raw rows and, under cosine, ix's scale c_j.
 * Re-adding them through the public add would normalize again, which turns a
 * raw k-means centroid (asdnorm_source_means) into a unit vector and changes
 * what its distance means. */
static asdnorm_status sub_index(const asdnorm_index *ix, const size_t *pick, size_t count,
                                float *rows, uint8_t *dom, asdnorm_index **out)
{
    const size_t dim = ix->dim;
    for (size_t t = 0; t < count; t++) {
        memcpy(rows + t * dim, ix->vectors + pick[t] * dim, dim * sizeof *rows);
        dom[t] = ix->domains[pick[t]];
    }
    asdnorm_index *sub = NULL;
    asdnorm_status st = asdnorm_index_new(dim, ix->distance, &sub);
    if (st == ASDNORM_OK)
        st = asdnorm__index_add_raw(sub, rows, count, dom);
    if (st == ASDNORM_OK && ix->distance == ASDNORM_DISTANCE_COSINE)
        for (size_t t = 0; t < count; t++) {
            sub->aux[t] = ix->aux[pick[t]];
            sub->scale[t] = ix->scale[pick[t]];
        }
    /* The same estimator; finalize clips K to this domain's M_d − 1. */
    if (st == ASDNORM_OK)
        st = asdnorm_index_finalize(sub, ix->estimator, ix->param);
    if (st != ASDNORM_OK) {
        asdnorm_index_free(sub);
        return st;
    }
    *out = sub;
    return ASDNORM_OK;
}

/* s_d for the batch into s (n floats). */
static asdnorm_status domain_scores(const asdnorm_index *sub, asdnorm_norm norm, const float *x,
                                    size_t n, float *s)
{
    asdnorm_scorer *sc = NULL;
    asdnorm_status st = asdnorm_scorer_new(sub, norm, &sc);
    if (st == ASDNORM_OK)
        st = asdnorm_scorer_score(sc, x, n, s, NULL);
    asdnorm_scorer_free(sc);
    return st;
}

/* n × dim floats fit in memory's address space: the element count and the
 * byte count both fit in size_t. */
static bool float_rows_ok(size_t n, size_t dim)
{
    size_t elems, bytes;
    return asdnorm__mul_ok(n, dim, &elems) && asdnorm__mul_ok(elems, sizeof(float), &bytes);
}

asdnorm_status asdnorm_standardized_scores(const asdnorm_index *ix, asdnorm_norm norm,
                                           const float *x, size_t n, float *scores)
{
    if (!ix || !x || !scores)
        return ASDNORM_E_NULL;
    if (!valid_norm(norm))
        return ASDNORM_E_ENUM;
    if (!ix->finalized)
        return ASDNORM_E_STATE;
    if (n < 2)
        return ASDNORM_E_TOO_FEW;
    const size_t m = ix->size, dim = ix->dim;
    size_t total;
    if (!float_rows_ok(n, dim) || !asdnorm__mul_ok(m, dim, &total))
        return ASDNORM_E_OVERFLOW;
    /* Reject a bad batch before building any sub-index. */
    asdnorm_status st = asdnorm__check_rows(x, n, dim, ix->distance, NULL);
    if (st != ASDNORM_OK)
        return st;

    double *best = asdnorm__mallocn(n, sizeof *best);
    float *s = asdnorm__mallocn(n, sizeof *s);
    size_t *pick = asdnorm__mallocn(m, sizeof *pick);
    float *rows = asdnorm__mallocn(total, sizeof *rows);
    uint8_t *dom = asdnorm__malloc(m);
    st = best && s && pick && rows && dom ? ASDNORM_OK : ASDNORM_E_NOMEM;
    for (size_t i = 0; i < n && st == ASDNORM_OK; i++)
        best[i] = INFINITY;

    for (unsigned d = ASDNORM_DOMAIN_UNKNOWN; d <= ASDNORM_DOMAIN_TARGET && st == ASDNORM_OK;
         d++) {
        size_t count = 0;
        for (size_t j = 0; j < m; j++)
            if (ix->domains[j] == d)
                pick[count++] = j;
        if (count == 0)
            continue;
        asdnorm_index *sub = NULL;
        st = sub_index(ix, pick, count, rows, dom, &sub);
        if (st == ASDNORM_OK)
            st = domain_scores(sub, norm, x, n, s);
        asdnorm_index_free(sub);
        if (st != ASDNORM_OK)
            break;
        double mean = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            mean += s[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            ss += ((double)s[i] - mean) * ((double)s[i] - mean);
        double sd = sqrt(ss / (double)(n - 1));
        if (!(sd > 0) || !isfinite(sd)) {
            st = ASDNORM_E_DEGENERATE;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            double z = ((double)s[i] - mean) / sd;
            if (z < best[i])
                best[i] = z;
        }
    }
    if (st == ASDNORM_OK)
        for (size_t i = 0; i < n; i++)
            scores[i] = (float)best[i];
    asdnorm__free(best);
    asdnorm__free(s);
    asdnorm__free(pick);
    asdnorm__free(rows);
    asdnorm__free(dom);
    return st;
}
