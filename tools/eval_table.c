/* SPDX-License-Identifier: MIT */
/* The official DCASE task 2 evaluator's result table, computed from a
 * submission (eval_dcase.c) with the library's AUC and pAUC.
 *
 * 2023-2025 (one layout): per section AUC (all), AUC (source), AUC (target),
 * pAUC, and from the decision_result files precision, recall and F1 score per
 * domain; per machine type and over everything the arithmetic mean, the
 * harmonic mean and the source / target harmonic means of AUC, pAUC,
 * precision, recall and F1 (the values clipped below at the machine epsilon,
 * as the evaluator does); the official score, the harmonic mean of every
 * section's AUC (source), AUC (target) and pAUC; and its 95 % confidence
 * interval: the mean of the jackknife intervals of the AUC and the pAUC of
 * all samples pooled (Mesaros et al., IEEE/ACM TASLP 27(6), 2019, §IV).
 * 2020: per section AUC and pAUC, per machine type their averages; the
 * official score is the mean of all. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

/* ---- Student's t quantile ----------------------------------------------------------- */

/* The continued fraction of the regularized incomplete beta function
 * (modified Lentz's method). */
static double beta_fraction(double a, double b, double x)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    d = 1 / (fabs(d) < tiny ? tiny : d);
    double h = d;
    for (int m = 1; m <= 100000; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        c = 1 + aa / c;
        d = 1 / (fabs(d) < tiny ? tiny : d);
        c = fabs(c) < tiny ? tiny : c;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        c = 1 + aa / c;
        d = 1 / (fabs(d) < tiny ? tiny : d);
        c = fabs(c) < tiny ? tiny : c;
        double step = d * c;
        h *= step;
        if (fabs(step - 1) < 1e-16)
            break;
    }
    return h;
}

/* I_x(a, b), the regularized incomplete beta function. */
static double incomplete_beta(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2))
        return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

/* P(T > t) for t ≥ 0. */
static double t_upper_tail(double t, double dof)
{
    return 0.5 * incomplete_beta(dof / 2, 0.5, dof / (dof + t * t));
}

double student_t_quantile(double p, double dof)
{
    if (p == 0.5)
        return 0;
    if (p < 0.5)
        return -student_t_quantile(1 - p, dof);
    double tail = 1 - p, lo = 0, hi = 1;
    while (t_upper_tail(hi, dof) > tail && hi < 1e300)
        hi *= 2;
    /* The tail falls as t grows: bisect until the interval cannot shrink. */
    for (int i = 0; i < 2000; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi)
            break;
        if (t_upper_tail(mid, dof) > tail)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* ---- per section ---------------------------------------------------------------------- */

/* AUC or pAUC (max_fpr < 1) of the samples rows[0..m); NaN when undefined. */
static double subset_metric(const eval_set *e, const size_t *rows, size_t m, double max_fpr,
                            double *s, uint8_t *l)
{
    for (size_t i = 0; i < m; i++) {
        s[i] = e->scores[rows[i]];
        l[i] = e->labels[rows[i]];
    }
    double v = NAN;
    asdnorm_status st = max_fpr < 1 ? asdnorm_pauc(l, s, m, max_fpr, &v) : asdnorm_auc(l, s, m, &v);
    return st == ASDNORM_OK ? v : NAN;
}

/* Precision, recall and F1 of the decisions of domain d's samples. */
static void decision_scores(const eval_set *e, const size_t *rows, size_t m, uint8_t d,
                            section_row *r, int k)
{
    double tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < m; i++) {
        size_t j = rows[i];
        if (e->domains[j] != d)
            continue;
        tp += e->labels[j] && e->decisions[j];
        fp += !e->labels[j] && e->decisions[j];
        fn += e->labels[j] && !e->decisions[j];
    }
    r->precision[k] = tp / fmax(tp + fp, DBL_EPSILON);
    r->recall[k] = tp / fmax(tp + fn, DBL_EPSILON);
    r->f1[k] =
        2 * r->precision[k] * r->recall[k] / fmax(r->precision[k] + r->recall[k], DBL_EPSILON);
}

/* One section's row; rows: its samples; work: room for them. */
static void section_metrics(const eval_set *e, int edition, double max_fpr, const size_t *rows,
                            size_t m, size_t *sub, double *s, uint8_t *l, section_row *r)
{
    r->auc_all = subset_metric(e, rows, m, 1, s, l);
    r->pauc = subset_metric(e, rows, m, max_fpr, s, l);
    for (int k = 0; k < 2; k++) {
        r->auc[k] = r->precision[k] = r->recall[k] = r->f1[k] = NAN;
        if (edition == 2020)
            continue;
        /* The domain's normal samples and all the anomalies. */
        uint8_t d = k == 0 ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;
        size_t n = 0;
        for (size_t i = 0; i < m; i++)
            if (e->labels[rows[i]] || e->domains[rows[i]] == d)
                sub[n++] = rows[i];
        r->auc[k] = subset_metric(e, sub, n, 1, s, l);
        if (e->decisions)
            decision_scores(e, rows, m, d, r, k);
    }
}

/* ---- means ------------------------------------------------------------------------------ */

/* The evaluator's harmonic mean of v[0..n): the library's, of the values
 * floored at the machine epsilon (v is changed). */
static double floored_hmean(double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = fmax(v[i], DBL_EPSILON);
    double h = NAN;
    return asdnorm_hmean(v, n, &h) == ASDNORM_OK ? h : NAN;
}

/* The arithmetic mean of v[0..n), added left to right. */
static double arithmetic_mean(const double *v, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return sum / (double)n;
}

/* Column c of section row r: domain k's value (the pAUC for both). */
static double column(const section_row *r, int c, int k)
{
    return c == 0   ? r->auc[k]
           : c == 1 ? r->pauc
           : c == 2 ? r->precision[k]
           : c == 3 ? r->recall[k]
                    : r->f1[k];
}

/* The mean rows of sections [a, b): column c over the sources then the targets
 * (2020: the average of the AUCs and of the pAUCs); NaN without decisions. */
static void mean_rows_of(const dcase_table *t, size_t a, size_t b, double *work, mean_rows *out)
{
    size_t s = b - a;
    for (int c = 0; c < MEAN_COLUMNS; c++) {
        if (t->edition == 2020) {
            for (size_t i = 0; i < s; i++)
                work[i] = c == 0 ? t->rows[a + i].auc_all : t->rows[a + i].pauc;
            out->v[0][c] = c < 2 ? arithmetic_mean(work, s) : NAN;
            continue;
        }
        for (size_t i = 0; i < s; i++)
            for (int k = 0; k < 2; k++)
                work[(size_t)k * s + i] = column(&t->rows[a + i], c, k);
        if (s == 0 || isnan(work[0])) { /* no decisions: no precision, recall or F1 */
            for (int r = 0; r < 4; r++)
                out->v[r][c] = NAN;
            continue;
        }
        out->v[0][c] = arithmetic_mean(work, 2 * s);
        /* floored_hmean() floors in place: the source half, the target half, then both. */
        out->v[2][c] = floored_hmean(work, s);
        out->v[3][c] = floored_hmean(work + s, s);
        out->v[1][c] = floored_hmean(work, 2 * s);
    }
}

/* ---- the confidence interval ---------------------------------------------------------------- */

/* The jackknife 95 % interval of the AUC (max_fpr 1) or pAUC of all samples. */
static double jackknife_ci95(const eval_set *e, double max_fpr, double *s, uint8_t *l,
                             double *theta)
{
    size_t n = e->n;
    for (size_t i = 0; i < n; i++) {
        /* Sample i left out: the others in order. */
        size_t k = 0;
        for (size_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            s[k] = e->scores[j];
            l[k++] = e->labels[j];
        }
        asdnorm_status st = max_fpr < 1 ? asdnorm_pauc(l, s, k, max_fpr, &theta[i])
                                        : asdnorm_auc(l, s, k, &theta[i]);
        if (st != ASDNORM_OK)
            return NAN;
    }
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        mean += theta[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (theta[i] - mean) * (theta[i] - mean);
    double sigma = sqrt(ss / ((double)n * (double)(n - 1)));
    return student_t_quantile(0.975, (double)(n - 1)) * sigma;
}

/* ---- the table ---------------------------------------------------------------------------- */

void dcase_table_free(dcase_table *t)
{
    free(t->rows);
    free(t->machine_start);
    free(t->machine_means);
    memset(t, 0, sizeof *t);
}

/* Machine types: runs of equal names among the sorted sections. */
static int find_machines(const eval_set *e, dcase_table *t)
{
    t->machine_start = malloc((e->n_names + 1) * sizeof *t->machine_start);
    if (!t->machine_start)
        return -1;
    for (size_t s = 0; s < e->n_names; s++)
        if (s == 0 || strcmp(e->machines[s], e->machines[s - 1]) != 0)
            t->machine_start[t->n_machines++] = s;
    t->machine_start[t->n_machines] = e->n_names;
    t->machine_means = calloc(t->n_machines, sizeof *t->machine_means);
    return t->machine_means ? 0 : -1;
}

/* The official score from the section rows (work: room for 3 values a section). */
static double official_score(const dcase_table *t, double *work)
{
    size_t count = 0;
    for (size_t s = 0; s < t->n_sections; s++) {
        const section_row *r = &t->rows[s];
        if (t->edition == 2020) {
            work[count++] = r->auc_all;
            work[count++] = r->pauc;
        } else {
            work[count++] = r->auc[0];
            work[count++] = r->auc[1];
            work[count++] = r->pauc;
        }
    }
    return t->edition == 2020 ? arithmetic_mean(work, count) : floored_hmean(work, count);
}

int dcase_table_compute(const eval_set *e, int edition, double max_fpr, dcase_table *t)
{
    memset(t, 0, sizeof *t);
    t->edition = edition == 2020 ? 2020 : 2023;
    t->has_decisions = e->decisions != NULL && edition != 2020;
    t->n_sections = e->n_names;
    size_t n = e->n ? e->n : 1, ns = e->n_names ? e->n_names : 1;
    t->rows = calloc(ns, sizeof *t->rows);
    size_t *rows = malloc(n * sizeof *rows), *sub = malloc(n * sizeof *sub);
    /* work: the jackknife's n values, a mean row's 2 per section, the official score's 3. */
    size_t nw = n > 3 * ns ? n : 3 * ns;
    double *s = malloc(n * sizeof *s), *work = malloc(nw * sizeof *work);
    uint8_t *l = malloc(n);
    int rc = !t->rows || !rows || !sub || !s || !work || !l || find_machines(e, t) != 0;
    for (size_t k = 0; !rc && k < e->n_names; k++) {
        size_t m = 0;
        for (size_t i = 0; i < e->n; i++)
            if (e->sections[i] == (int32_t)k)
                rows[m++] = i;
        section_metrics(e, t->edition, max_fpr, rows, m, sub, s, l, &t->rows[k]);
    }
    for (size_t k = 0; !rc && k < t->n_machines; k++)
        mean_rows_of(t, t->machine_start[k], t->machine_start[k + 1], work, &t->machine_means[k]);
    if (!rc) {
        mean_rows_of(t, 0, t->n_sections, work, &t->overall);
        t->official = official_score(t, work);
        t->ci95 = NAN;
        if (t->edition != 2020)
            t->ci95 =
                0.5 * (jackknife_ci95(e, 1, s, l, work) + jackknife_ci95(e, max_fpr, s, l, work));
    }
    free(rows);
    free(sub);
    free(s);
    free(work);
    free(l);
    if (rc) {
        dcase_table_free(t);
        return cli_fail("out of memory computing the result table");
    }
    return 0;
}

/* ---- output ------------------------------------------------------------------------------- */

/* A number as Python's str(float) writes it ("1.0", "0.25", "1e-05"); NaN as
 * the empty string (pandas' empty cell). */
static void number(double v, char *buf, size_t cap)
{
    if (isnan(v)) {
        buf[0] = '\0';
        return;
    }
    format_double(v, buf, cap);
    size_t len = strlen(buf);
    if (strspn(buf, "-0123456789") == len)
        snprintf(buf + len, cap - len, ".0");
}

/* Numbers as further CSV fields. */
static void csv_numbers(FILE *b, const double *v, size_t n)
{
    char num[40];
    for (size_t i = 0; i < n; i++) {
        number(v[i], num, sizeof num);
        fprintf(b, ",%s", num);
    }
}

static const char *const mean_names[4] = {"arithmetic mean", "harmonic mean",
                                          "source harmonic mean", "target harmonic mean"};

/* The four mean rows, with suffix after each name ("" or " over all …"). */
static void csv_means(FILE *b, const mean_rows *m, const char *suffix)
{
    fprintf(b, ",,AUC,pAUC,precision,recall,F1 score\n");
    for (int r = 0; r < 4; r++) {
        /* A name with a comma is quoted, as Python's csv module does. */
        const char *q = strchr(suffix, ',') ? "\"" : "";
        fprintf(b, "%s%s%s%s,", q, mean_names[r], suffix, q);
        csv_numbers(b, m->v[r], MEAN_COLUMNS);
        fprintf(b, "\n");
    }
    fprintf(b, "\n");
}

/* The 2023-2025 table: per machine type its sections and mean rows, then the
 * rows over everything and the official score with its interval. */
static void csv_2023(FILE *b, const dcase_table *t, const eval_set *e)
{
    for (size_t k = 0; k < t->n_machines; k++) {
        fprintf(b,
                "%s\nsection,AUC (all),AUC (source),AUC (target),pAUC,precision (source),"
                "precision (target),recall (source),recall (target),F1 score (source),"
                "F1 score (target)\n",
                e->machines[t->machine_start[k]]);
        for (size_t s = t->machine_start[k]; s < t->machine_start[k + 1]; s++) {
            const section_row *r = &t->rows[s];
            double v[] = {r->auc_all,      r->auc[0],    r->auc[1],    r->pauc,  r->precision[0],
                          r->precision[1], r->recall[0], r->recall[1], r->f1[0], r->f1[1]};
            fprintf(b, "%s", e->section_ids[s]);
            csv_numbers(b, v, sizeof v / sizeof *v);
            fprintf(b, "\n");
        }
        csv_means(b, &t->machine_means[k], "");
    }
    csv_means(b, &t->overall, " over all machine types, sections, and domains");
    char num[40];
    number(t->official, num, sizeof num);
    fprintf(b, "official score,,%s\n", num);
    number(t->ci95, num, sizeof num);
    fprintf(b, "official score ci95,,%s\n\n", num);
}

/* The 2020 table: per machine type its sections and their average. */
static void csv_2020(FILE *b, const dcase_table *t, const eval_set *e)
{
    for (size_t k = 0; k < t->n_machines; k++) {
        fprintf(b, "%s\nid,AUC,pAUC\n", e->machines[t->machine_start[k]]);
        for (size_t s = t->machine_start[k]; s < t->machine_start[k + 1]; s++) {
            double v[] = {t->rows[s].auc_all, t->rows[s].pauc};
            fprintf(b, "%s", e->section_ids[s]);
            csv_numbers(b, v, 2);
            fprintf(b, "\n");
        }
        fprintf(b, "Average");
        csv_numbers(b, t->machine_means[k].v[0], 2);
        fprintf(b, "\n\n");
    }
}

int dcase_table_write_csv(const dcase_table *t, const eval_set *e, const char *path)
{
    membuf m;
    if (membuf_open(&m) != 0)
        return -1;
    if (t->edition == 2020)
        csv_2020(m.f, t, e);
    else
        csv_2023(m.f, t, e);
    return membuf_write(&m, path);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const char *c = s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if ((unsigned char)*c < 0x20)
            fprintf(out, "\\u%04x", (unsigned)(unsigned char)*c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

/* "key": value pairs; NaN is null. */
static void json_members(FILE *out, const char *const *keys, const double *v, size_t n)
{
    char num[40];
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            snprintf(num, sizeof num, "null");
        else
            format_double(v[i], num, sizeof num);
        fprintf(out, "%s\"%s\": %s", i ? ", " : "", keys[i], num);
    }
}

/* "sections": every section's row by name. */
static void json_sections(FILE *out, const dcase_table *t, const eval_set *e)
{
    static const char *const k2023[] = {
        "auc_source",       "auc_target",    "pauc",          "auc_all",   "precision_source",
        "precision_target", "recall_source", "recall_target", "f1_source", "f1_target"};
    static const char *const k2020[] = {"auc", "pauc"};
    fprintf(out, "\"sections\": {");
    for (size_t s = 0; s < t->n_sections; s++) {
        const section_row *r = &t->rows[s];
        fprintf(out, "%s", s ? ", " : "");
        json_string(out, e->names[s]);
        fprintf(out, ": {");
        if (t->edition == 2020) {
            double v[] = {r->auc_all, r->pauc};
            json_members(out, k2020, v, 2);
        } else {
            double v[] = {r->auc[0],       r->auc[1],    r->pauc,      r->auc_all, r->precision[0],
                          r->precision[1], r->recall[0], r->recall[1], r->f1[0],   r->f1[1]};
            json_members(out, k2023, v, t->has_decisions ? 10 : 4);
        }
        fprintf(out, "}");
    }
    fprintf(out, "}");
}

/* {"arithmetic_mean": {"auc": …, …}, …} */
static void json_means(FILE *out, const dcase_table *t, const mean_rows *m)
{
    static const char *const rows[] = {"arithmetic_mean", "harmonic_mean", "source_harmonic_mean",
                                       "target_harmonic_mean"};
    static const char *const cols[] = {"auc", "pauc", "precision", "recall", "f1"};
    if (t->edition == 2020) {
        fprintf(out, "{\"average\": {");
        json_members(out, cols, m->v[0], 2);
        fprintf(out, "}}");
        return;
    }
    fprintf(out, "{");
    for (int r = 0; r < 4; r++) {
        fprintf(out, "%s\"%s\": {", r ? ", " : "", rows[r]);
        json_members(out, cols, m->v[r], t->has_decisions ? MEAN_COLUMNS : 2);
        fprintf(out, "}");
    }
    fprintf(out, "}");
}

void dcase_table_json(const dcase_table *t, const eval_set *e, FILE *out)
{
    char num[40];
    format_double(t->official, num, sizeof num);
    fprintf(out, "{\"official\": %s, ", num);
    if (t->edition != 2020) {
        static const char *const ci[] = {"official_ci95"};
        json_members(out, ci, &t->ci95, 1);
        fprintf(out, ", ");
    }
    json_sections(out, t, e);
    fprintf(out, ", \"machine_types\": {");
    for (size_t k = 0; k < t->n_machines; k++) {
        fprintf(out, "%s", k ? ", " : "");
        json_string(out, e->machines[t->machine_start[k]]);
        fprintf(out, ": ");
        json_means(out, t, &t->machine_means[k]);
    }
    fprintf(out, "}");
    if (t->edition != 2020) {
        fprintf(out, ", \"overall\": ");
        json_means(out, t, &t->overall);
    }
    fprintf(out, "}\n");
}
