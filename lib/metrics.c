/* SPDX-License-Identifier: MIT */
/* Metrics as the DCASE challenge computes them (docs/math.md §4):
 * AUC (Mann–Whitney, ties counted half), pAUC (scikit-learn's roc_auc_score with
 * max_fpr), the harmonic mean, and the DCASE 2020 / 2023 official scores.
 *
 * Every metric works on the two classes' scores sorted ascending, walked from the
 * highest score down one tie group at a time: a tie group is one point of the ROC
 * curve, exactly as scikit-learn places its thresholds at the distinct scores. */
#include <math.h>
#include <string.h>

#include "heap.h"
#include "internal.h"

/* ---- sorting ----------------------------------------------------------------
 * Heapsort: O(n log n) in the worst case, in place, and no allocation hidden in
 * the C library's qsort (every allocation must go through asdnorm__malloc so
 * that the out-of-memory tests see it). Inputs are validated finite: no NaN. */

static bool double_less(const void *a, size_t i, size_t j)
{
    return ((const double *)a)[i] < ((const double *)a)[j];
}

static void double_swap(void *a, size_t i, size_t j)
{
    double *v = a, t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static void sort_doubles(double *a, size_t n)
{
    asdnorm__heap_sort(a, n, double_less, double_swap);
}

/* ---- the ROC walk -------------------------------------------------------------
 * pos[0 … n_pos) and neg[0 … n_neg) ascending. Each step consumes the samples of
 * both classes tied at the highest remaining score. Ties compare with ==, so
 * -0.0 and +0.0 are one group, as np.diff(y_score) != 0 decides in scikit-learn. */
typedef struct roc_walk {
    const double *pos, *neg;
    size_t i, j; /* samples of each class not consumed yet */
} roc_walk;

static bool roc_next(roc_walk *w, size_t *d_pos, size_t *d_neg)
{
    if (w->i == 0 && w->j == 0)
        return false;
    /* The highest remaining score of either class. */
    const bool take_pos = w->i > 0 && (w->j == 0 || w->pos[w->i - 1] > w->neg[w->j - 1]);
    const double v = take_pos ? w->pos[w->i - 1] : w->neg[w->j - 1];
    size_t p = 0, q = 0;
    while (w->i > 0 && w->pos[w->i - 1] == v) {
        w->i--;
        p++;
    }
    while (w->j > 0 && w->neg[w->j - 1] == v) {
        w->j--;
        q++;
    }
    *d_pos = p;
    *d_neg = q;
    return true;
}

/* Mann–Whitney U / (n_pos · n_neg). U counts, per anomaly, the normals scored
 * lower plus half those tied. Kept in double: counts and halves are exact up to
 * 2^52, i.e. for any n_pos · n_neg a machine can hold, and it never overflows. */
static double auc_sorted(const double *pos, size_t n_pos, const double *neg, size_t n_neg)
{
    roc_walk w = {pos, neg, n_pos, n_neg};
    size_t dp, dn, below = n_neg;
    double u = 0;
    while (roc_next(&w, &dp, &dn)) {
        below -= dn;
        u += (double)dp * ((double)below + 0.5 * (double)dn);
    }
    return u / ((double)n_pos * (double)n_neg);
}

/* scikit-learn's _binary_roc_auc_score: trapezoids over the ROC points up to the
 * first FPR above p, linear interpolation (np.interp) at p, McClish
 * standardisation 0.5 · (1 + (A − p²/2) / (p − p²/2)). FPR and TPR are computed
 * as sklearn does (count / total, in double) so that the segment containing p is
 * the same one. scikit-learn returns the plain AUC for max_fpr = 1. */
static double pauc_sorted(const double *pos, size_t n_pos, const double *neg, size_t n_neg,
                          double p)
{
    if (p == 1.0)
        return auc_sorted(pos, n_pos, neg, n_neg);
    roc_walk w = {pos, neg, n_pos, n_neg};
    size_t dp, dn, tps = 0, fps = 0;
    double area = 0, f0 = 0, t0 = 0;
    /* The last point is FPR = 1 > p, so the loop always ends at the break. */
    while (roc_next(&w, &dp, &dn)) {
        tps += dp;
        fps += dn;
        double f = (double)fps / (double)n_neg, t = (double)tps / (double)n_pos;
        if (f > p) {
            double tp = (t - t0) / (f - f0) * (p - f0) + t0;
            area += (p - f0) * (tp + t0) * 0.5;
            break;
        }
        area += (f - f0) * (t + t0) * 0.5;
        f0 = f;
        t0 = t;
    }
    double min_area = 0.5 * p * p;
    return 0.5 * (1.0 + (area - min_area) / (p - min_area));
}

/* ---- validation ---------------------------------------------------------------- */

/* max_fpr in (0, 1]; NaN fails both comparisons. */
static asdnorm_status check_max_fpr(double p)
{
    return p > 0 && p <= 1 ? ASDNORM_OK : ASDNORM_E_ARG;
}

static asdnorm_status check_labels(const uint8_t *labels, size_t n, size_t *n_pos)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] > 1)
            return ASDNORM_E_LABEL;
        c += labels[i];
    }
    *n_pos = c;
    return ASDNORM_OK;
}

static asdnorm_status check_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return ASDNORM_E_NONFINITE;
    return ASDNORM_OK;
}

/* ---- AUC and pAUC ---------------------------------------------------------------- */

/* The common body of asdnorm_auc (p = 1) and asdnorm_pauc. */
static asdnorm_status binary_metric(const uint8_t *labels, const double *scores, size_t n,
                                    double p, double *out)
{
    if (!labels || !scores || !out)
        return ASDNORM_E_NULL;
    if (n == 0)
        return ASDNORM_E_EMPTY;
    size_t n_pos;
    asdnorm_status st = check_labels(labels, n, &n_pos);
    if (st == ASDNORM_OK)
        st = check_finite(scores, n);
    if (st != ASDNORM_OK)
        return st;
    if (n_pos == 0)
        return ASDNORM_E_NO_ANOMALY;
    if (n_pos == n)
        return ASDNORM_E_NO_NORMAL;

    /* Anomalies at the front, normals behind them, each part sorted. */
    double *buf = asdnorm__mallocn(n, sizeof *buf);
    if (!buf)
        return ASDNORM_E_NOMEM;
    size_t a = 0, b = n_pos;
    for (size_t i = 0; i < n; i++)
        buf[labels[i] ? a++ : b++] = scores[i];
    sort_doubles(buf, n_pos);
    sort_doubles(buf + n_pos, n - n_pos);
    *out = pauc_sorted(buf, n_pos, buf + n_pos, n - n_pos, p);
    asdnorm__free(buf);
    return ASDNORM_OK;
}

asdnorm_status asdnorm_auc(const uint8_t *labels, const double *scores, size_t n, double *auc)
{
    return binary_metric(labels, scores, n, 1.0, auc);
}

asdnorm_status asdnorm_pauc(const uint8_t *labels, const double *scores, size_t n,
                            double max_fpr, double *pauc)
{
    if (!labels || !scores || !pauc)
        return ASDNORM_E_NULL;
    if (check_max_fpr(max_fpr) != ASDNORM_OK)
        return ASDNORM_E_ARG;
    return binary_metric(labels, scores, n, max_fpr, pauc);
}

/* ---- harmonic mean ------------------------------------------------------------------- */

/* Harmonic mean of n ≥ 1 finite values ≥ 0. Scaled by the smallest value m:
 * n · m / Σ m / v_i, so that 1/v cannot overflow for a subnormal v and the sum
 * lies in [1, n]. A zero gives 0, the limit, which is also what
 * scipy.stats.hmean (used by the DCASE evaluators) returns: an AUC can be 0. */
static double hmean_of(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        m = fmin(m, v[i]);
    if (m == 0)
        return 0;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += m / v[i];
    return m * ((double)n / s);
}

asdnorm_status asdnorm_hmean(const double *values, size_t n, double *out)
{
    if (!values || !out)
        return ASDNORM_E_NULL;
    if (n == 0)
        return ASDNORM_E_EMPTY;
    asdnorm_status st = check_finite(values, n);
    if (st != ASDNORM_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        if (values[i] < 0)
            return ASDNORM_E_ARG;
    *out = hmean_of(values, n); /* a zero (also −0) gives 0, as in the official score */
    return ASDNORM_OK;
}

/* ---- sections ------------------------------------------------------------------------ */

/* The distinct ids, ascending, through a sorted copy (int32 is exact in double,
 * so the one sort serves). *ids is allocated here. */
static asdnorm_status distinct_sections(const int32_t *sections, size_t n, int32_t **ids,
                                        size_t *n_ids)
{
    double *keys = asdnorm__mallocn(n, sizeof *keys);
    if (!keys)
        return ASDNORM_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        keys[i] = sections[i];
    sort_doubles(keys, n);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (keys[i] != keys[k - 1])
            keys[k++] = keys[i];
    if (ids) {
        *ids = asdnorm__mallocn(k, sizeof **ids);
        if (!*ids) {
            asdnorm__free(keys);
            return ASDNORM_E_NOMEM;
        }
        for (size_t i = 0; i < k; i++)
            (*ids)[i] = (int32_t)keys[i];
    }
    asdnorm__free(keys);
    *n_ids = k;
    return ASDNORM_OK;
}

asdnorm_status asdnorm_count_sections(const int32_t *sections, size_t n, size_t *n_sections)
{
    if (!sections || !n_sections)
        return ASDNORM_E_NULL;
    if (n == 0)
        return ASDNORM_E_EMPTY;
    return distinct_sections(sections, n, NULL, n_sections);
}

/* Position of id in ids[0 … k), which holds it. */
static size_t section_rank(const int32_t *ids, size_t k, int32_t id)
{
    size_t lo = 0, hi = k;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] <= id)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* The samples grouped by section (a counting sort on the section's rank):
 * the samples of section s are order[start[s] … start[s + 1]). */
typedef struct section_groups {
    size_t k;      /* number of sections */
    int32_t *ids;  /* k ids, ascending */
    size_t *start; /* k + 1 offsets into order */
    size_t *order; /* n sample indices */
} section_groups;

static void groups_free(section_groups *g)
{
    asdnorm__free(g->ids);
    asdnorm__free(g->start);
    asdnorm__free(g->order);
}

static asdnorm_status groups_build(const int32_t *sections, size_t n, section_groups *g)
{
    *g = (section_groups){0};
    asdnorm_status st = distinct_sections(sections, n, &g->ids, &g->k);
    if (st != ASDNORM_OK)
        return st;
    g->start = asdnorm__calloc(g->k + 1, sizeof *g->start);
    g->order = asdnorm__mallocn(n, sizeof *g->order);
    if (!g->start || !g->order) {
        groups_free(g);
        return ASDNORM_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        g->start[section_rank(g->ids, g->k, sections[i]) + 1]++;
    for (size_t s = 0; s < g->k; s++)
        g->start[s + 1] += g->start[s];
    /* Place with start[s] as the cursor; it ends at start[s + 1], so shift back. */
    for (size_t i = 0; i < n; i++)
        g->order[g->start[section_rank(g->ids, g->k, sections[i])]++] = i;
    memmove(g->start + 1, g->start, g->k * sizeof *g->start);
    g->start[0] = 0;
    return ASDNORM_OK;
}

/* ---- DCASE scores ------------------------------------------------------------------------ */

/* A DCASE data set. domains is NULL for 2020 (one class of normals). */
typedef struct dcase_input {
    const double *scores;
    const uint8_t *labels;
    const uint8_t *domains;
    size_t n;
    double max_fpr;
} dcase_input;

/* 0 anomaly, 1 source normal, 2 target normal (2020: every normal is 1). */
static unsigned sample_class(const dcase_input *in, size_t i)
{
    return in->labels[i] ? 0u : in->domains ? in->domains[i] : 1u;
}

static asdnorm_status dcase_validate(const dcase_input *in)
{
    if (in->n == 0)
        return ASDNORM_E_EMPTY;
    size_t n_pos;
    asdnorm_status st = check_labels(in->labels, in->n, &n_pos);
    if (st != ASDNORM_OK)
        return st;
    /* Anomalies' domains are not used, so any value is accepted for them. */
    if (in->domains)
        for (size_t i = 0; i < in->n; i++)
            if (!in->labels[i] && in->domains[i] != ASDNORM_DOMAIN_SOURCE &&
                in->domains[i] != ASDNORM_DOMAIN_TARGET)
                return ASDNORM_E_LABEL;
    return check_finite(in->scores, in->n);
}

/* Every section has anomalies and normals of each class a metric uses; the
 * first section (ascending id) that lacks one decides the status. */
static asdnorm_status dcase_check_classes(const dcase_input *in, const section_groups *g)
{
    for (size_t s = 0; s < g->k; s++) {
        size_t count[3] = {0, 0, 0};
        for (size_t r = g->start[s]; r < g->start[s + 1]; r++)
            count[sample_class(in, g->order[r])]++;
        if (count[0] == 0)
            return ASDNORM_E_NO_ANOMALY;
        if (count[1] == 0 || (in->domains && count[2] == 0))
            return ASDNORM_E_NO_NORMAL;
    }
    return ASDNORM_OK;
}

/* Merge two ascending arrays into out. */
static void merge_sorted(const double *a, size_t na, const double *b, size_t nb, double *out)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb)
        out[k++] = b[j] < a[i] ? b[j++] : a[i++];
    while (i < na)
        out[k++] = a[i++];
    while (j < nb)
        out[k++] = b[j++];
}

/* One section's row: {AUC_source, AUC_target, pAUC} (2023) or {AUC, pAUC} (2020).
 * scratch holds 2 · (section size) doubles: the classes side by side, then all
 * normals merged for the pAUC, which is over every sample of the section. */
static void dcase_section(const dcase_input *in, const section_groups *g, size_t s,
                          double *scratch, double *row)
{
    size_t first = g->start[s], size = g->start[s + 1] - first;
    size_t count[3] = {0, 0, 0};
    for (size_t r = first; r < first + size; r++)
        count[sample_class(in, g->order[r])]++;
    size_t at[3] = {0, count[0], count[0] + count[1]};
    for (size_t r = first; r < first + size; r++) {
        size_t i = g->order[r];
        scratch[at[sample_class(in, i)]++] = in->scores[i];
    }
    double *pos = scratch, *src = scratch + count[0], *tgt = src + count[1];
    sort_doubles(pos, count[0]);
    sort_doubles(src, count[1]);
    sort_doubles(tgt, count[2]);
    if (!in->domains) {
        row[0] = auc_sorted(pos, count[0], src, count[1]);
        row[1] = pauc_sorted(pos, count[0], src, count[1], in->max_fpr);
        return;
    }
    double *neg = scratch + size;
    merge_sorted(src, count[1], tgt, count[2], neg);
    row[0] = auc_sorted(pos, count[0], src, count[1]);
    row[1] = auc_sorted(pos, count[0], tgt, count[2]);
    row[2] = pauc_sorted(pos, count[0], neg, count[1] + count[2], in->max_fpr);
}

/* The body of both editions: validate everything, then group, check, and only
 * when nothing can fail any more, compute and write the outputs. Errors in the
 * data come before ASDNORM_E_BUFFER, so that a caller does not grow its buffers
 * only to learn that the data cannot be scored. */
static asdnorm_status dcase_run(const dcase_input *in, const int32_t *sections, size_t cap,
                                int32_t *section_ids, double *values, size_t *n_sections,
                                double *official)
{
    if (check_max_fpr(in->max_fpr) != ASDNORM_OK)
        return ASDNORM_E_ARG;
    asdnorm_status st = dcase_validate(in);
    if (st != ASDNORM_OK)
        return st;
    section_groups g;
    st = groups_build(sections, in->n, &g);
    if (st != ASDNORM_OK)
        return st;
    st = dcase_check_classes(in, &g);
    if (st == ASDNORM_OK && (section_ids || values) && cap < g.k) {
        *n_sections = g.k;
        st = ASDNORM_E_BUFFER;
    }
    size_t width = in->domains ? 3 : 2, n_values = 0;
    double *scratch = NULL, *rows = NULL;
    if (st == ASDNORM_OK) {
        scratch = asdnorm__mallocn(in->n, 2 * sizeof *scratch);
        if (asdnorm__mul_ok(g.k, width, &n_values))
            rows = asdnorm__mallocn(n_values, sizeof *rows);
        if (!scratch || !rows)
            st = ASDNORM_E_NOMEM;
    }
    if (st == ASDNORM_OK) {
        for (size_t s = 0; s < g.k; s++)
            dcase_section(in, &g, s, scratch, rows + s * width);
        if (in->domains) {
            *official = hmean_of(rows, n_values);
        } else {
            double sum = 0;
            for (size_t v = 0; v < n_values; v++)
                sum += rows[v];
            *official = sum / (double)n_values;
        }
        if (section_ids)
            memcpy(section_ids, g.ids, g.k * sizeof *section_ids);
        if (values)
            memcpy(values, rows, n_values * sizeof *values);
        *n_sections = g.k;
    }
    asdnorm__free(scratch);
    asdnorm__free(rows);
    groups_free(&g);
    return st;
}

asdnorm_status asdnorm_dcase2023(const double *scores, const uint8_t *labels,
                                 const uint8_t *domains, const int32_t *sections, size_t n,
                                 double max_fpr, size_t cap, int32_t *section_ids, double *values,
                                 size_t *n_sections, double *official)
{
    if (!scores || !labels || !domains || !sections || !n_sections || !official)
        return ASDNORM_E_NULL;
    dcase_input in = {scores, labels, domains, n, max_fpr};
    return dcase_run(&in, sections, cap, section_ids, values, n_sections, official);
}

asdnorm_status asdnorm_dcase2020(const double *scores, const uint8_t *labels,
                                 const int32_t *sections, size_t n, double max_fpr, size_t cap,
                                 int32_t *section_ids, double *values, size_t *n_sections,
                                 double *official)
{
    if (!scores || !labels || !sections || !n_sections || !official)
        return ASDNORM_E_NULL;
    dcase_input in = {scores, labels, NULL, n, max_fpr};
    return dcase_run(&in, sections, cap, section_ids, values, n_sections, official);
}
