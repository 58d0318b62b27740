/* SPDX-License-Identifier: MIT */
/* SVG plot of score distributions and ROC curves. Pure text generation (into
 * an open_memstream buffer): no library, so the picture is the same wherever
 * the tool runs. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Canvas layout in px. */
enum { W = 980, H = 430 };
static const double HX0 = 70, HX1 = 580, HY0 = 60, HY1 = 360;  /* histogram panel */
static const double RX0 = 650, RX1 = 940, RY0 = 70, RY1 = 360; /* ROC panel (square) */

typedef struct group {
    const char *id, *name, *color;
    double *v; /* sorted scores */
    size_t n;
} group;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Value at quantile q of sorted v (linear interpolation). */
static double quantile(const double *v, size_t n, double q)
{
    if (n == 1)
        return v[0];
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i >= n - 1)
        return v[n - 1];
    double f = pos - (double)i;
    return v[i] * (1 - f) + v[i + 1] * f;
}

/* About 5 round tick values covering [lo, hi]. */
static double tick_step(double lo, double hi)
{
    double span = hi - lo;
    if (!(span > 0))
        return 1;
    double raw = span / 5;
    double mag = pow(10, floor(log10(raw)));
    double r = raw / mag;
    double step = r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10;
    return step * mag;
}

/* text with &, <, >, " and ' escaped for XML. */
static void xml_text(FILE *s, const char *text)
{
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '&': fputs("&amp;", s); break;
        case '<': fputs("&lt;", s); break;
        case '>': fputs("&gt;", s); break;
        case '"': fputs("&quot;", s); break;
        case '\'': fputs("&apos;", s); break;
        default: fputc(*c, s); break;
        }
    }
}

/* A text element; text is escaped. */
static void axis_label(FILE *s, double x, double y, const char *anchor, const char *text)
{
    fprintf(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, y, anchor);
    xml_text(s, text);
    fprintf(s, "</text>\n");
}

/* Fraction of sorted v strictly above t. */
static double frac_above(const double *v, size_t n, double t)
{
    if (n == 0)
        return 0;
    size_t lo = 0, hi = n; /* first index with v > t */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] > t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (double)(n - lo) / (double)n;
}

/* ROC of anomalies (pos) against normals (neg), both sorted ascending, as an SVG
 * path in the ROC panel; points closer than half a pixel are merged. */
static void roc_path(FILE *s, const char *id, const char *color, const char *dash,
                     const double *neg, size_t nn, const double *pos, size_t np, double width)
{
    double sx = RX1 - RX0, sy = RY1 - RY0;
    fprintf(s, "<path id=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s d=\"M%.1f %.1f",
            id, color, width, dash, RX0, RY1);
    /* Sweep the threshold from the top score down; tied scores move together. */
    size_t i = nn, j = np; /* remaining counts at or below the threshold */
    double lx = RX0, ly = RY1;
    while (i > 0 || j > 0) {
        double t = -INFINITY;
        if (i > 0)
            t = neg[i - 1];
        if (j > 0 && pos[j - 1] > t)
            t = pos[j - 1];
        while (i > 0 && neg[i - 1] == t)
            i--;
        while (j > 0 && pos[j - 1] == t)
            j--;
        double fpr = (double)(nn - i) / (double)nn, tpr = (double)(np - j) / (double)np;
        double x = RX0 + fpr * sx, y = RY1 - tpr * sy;
        if (fabs(x - lx) + fabs(y - ly) >= 0.5 || (i == 0 && j == 0)) {
            fprintf(s, " L%.1f %.1f", x, y);
            lx = x;
            ly = y;
        }
    }
    fprintf(s, "\"/>\n");
}

/* Counts of g's scores in bins equal bins over [lo, hi]; values outside go to
 * the edge bins. NULL when out of memory. */
static size_t *bin_counts(const group *g, double lo, double hi, size_t bins)
{
    size_t *count = calloc(bins, sizeof *count);
    if (count == NULL)
        return NULL;
    double bw = (hi - lo) / (double)bins;
    for (size_t i = 0; i < g->n; i++) {
        double f = (g->v[i] - lo) / bw;
        size_t b = f <= 0 ? 0 : f >= (double)bins ? bins - 1 : (size_t)f;
        count[b]++;
    }
    return count;
}

/* The tallest bar of g as a density (1 when out of memory). */
static double max_density(const group *g, double lo, double hi, size_t bins)
{
    if (g->n == 0)
        return 0;
    size_t *count = bin_counts(g, lo, hi, bins);
    if (count == NULL)
        return 1;
    double bw = (hi - lo) / (double)bins, best = 0;
    for (size_t b = 0; b < bins; b++)
        best = fmax(best, (double)count[b] / ((double)g->n * bw));
    free(count);
    return best;
}

/* ---- layout: the groups, the threshold and the axes' ranges ------------------------ */

typedef struct plot {
    group g[3];      /* normal source (or all normals), normal target, anomalous */
    double *buf;     /* the groups' sorted scores, one after the other */
    double *normals; /* all normal scores, sorted */
    size_t n_norm;
    double thr;    /* the one threshold */
    double lo, hi; /* the score axis */
    int clipped;   /* the axis leaves out the extreme 1 % */
    size_t bins;
    double ymax; /* the density axis */
} plot;

static void plot_free(plot *p)
{
    free(p->buf);
    free(p->normals);
}

/* Split the scores into the three groups, sorted. */
static int make_groups(const svg_plot_input *in, plot *p)
{
    group init[3] = {
        {in->domains ? "hist-source" : "hist-normal", in->domains ? "normal, source" : "normal",
         "#1f77b4", NULL, 0},
        {"hist-target", "normal, target", "#ff7f0e", NULL, 0},
        {"hist-anomaly", "anomalous", "#d62728", NULL, 0},
    };
    memcpy(p->g, init, sizeof init);
    p->buf = malloc(in->n * sizeof *p->buf);
    if (p->buf == NULL)
        return -1;
    for (size_t i = 0; i < in->n; i++)
        p->g[in->labels[i] ? 2 : (in->domains && in->domains[i] == 2) ? 1 : 0].n++;
    p->g[0].v = p->buf;
    p->g[1].v = p->buf + p->g[0].n;
    p->g[2].v = p->g[1].v + p->g[1].n;
    size_t fill[3] = {0, 0, 0};
    for (size_t i = 0; i < in->n; i++) {
        int k = in->labels[i] ? 2 : (in->domains && in->domains[i] == 2) ? 1 : 0;
        p->g[k].v[fill[k]++] = in->scores[i];
    }
    for (int k = 0; k < 3; k++)
        qsort(p->g[k].v, p->g[k].n, sizeof(double), cmp_double);
    p->n_norm = p->g[0].n + p->g[1].n;
    return p->n_norm == 0 || p->g[2].n == 0 ? -1 : 0;
}

/* The one threshold: the smallest normal score with at most fpr of the normals
 * above it (score > threshold means "anomalous"). */
static int find_threshold(const svg_plot_input *in, plot *p)
{
    p->normals = malloc(p->n_norm * sizeof *p->normals);
    if (p->normals == NULL)
        return -1;
    memcpy(p->normals, p->g[0].v, p->g[0].n * sizeof(double));
    memcpy(p->normals + p->g[0].n, p->g[1].v, p->g[1].n * sizeof(double));
    qsort(p->normals, p->n_norm, sizeof(double), cmp_double);
    size_t k_thr = (size_t)ceil((1.0 - in->fpr) * (double)p->n_norm);
    p->thr = p->normals[k_thr < 1 ? 0 : k_thr - 1];
    return 0;
}

/* The score axis and the bins. Heavy tails (a ratio score near a duplicate
 * reference) would squash the histograms into one bin: the axis is clipped to
 * the central 99 % and the rest counted into the edge bins. */
static int score_axis(const svg_plot_input *in, plot *p)
{
    size_t n = in->n;
    double *all = malloc(n * sizeof *all);
    if (all == NULL)
        return -1;
    memcpy(all, in->scores, n * sizeof *all);
    qsort(all, n, sizeof(double), cmp_double);
    p->lo = all[0];
    p->hi = all[n - 1];
    double qlo = quantile(all, n, 0.005), qhi = quantile(all, n, 0.995);
    free(all);
    if (qhi > qlo && p->hi - p->lo > 4 * (qhi - qlo)) {
        p->lo = qlo;
        p->hi = qhi;
        p->clipped = 1;
    }
    if (!(p->hi > p->lo)) {
        double pad = fabs(p->lo) > 0 ? fabs(p->lo) * 0.05 : 0.5;
        p->lo -= pad;
        p->hi += pad;
    }
    double margin = (p->hi - p->lo) * 0.03;
    p->lo -= margin;
    p->hi += margin;
    p->bins = (size_t)fmin(60, fmax(10, 2 * sqrt((double)n)));
    for (int k = 0; k < 3; k++)
        p->ymax = fmax(p->ymax, max_density(&p->g[k], p->lo, p->hi, p->bins));
    if (!(p->ymax > 0))
        p->ymax = 1;
    p->ymax *= 1.45; /* headroom above the tallest bar for the legend */
    return 0;
}

/* ---- the histogram panel ---------------------------------------------------------------- */

static int histogram(FILE *s, const plot *p, const group *g)
{
    fprintf(s, "<g id=\"%s\">\n", g->id);
    if (g->n > 0) {
        size_t *count = bin_counts(g, p->lo, p->hi, p->bins);
        if (count == NULL)
            return -1;
        /* Densities, so that a domain with few samples is as visible as a large one. */
        double bw = (p->hi - p->lo) / (double)p->bins;
        double sx = (HX1 - HX0) / (double)p->bins, sy = HY1 - HY0;
        fprintf(s,
                "<path fill=\"%s\" fill-opacity=\"0.25\" stroke=\"%s\" stroke-width=\"1.5\" "
                "d=\"M%.1f %.1f",
                g->color, g->color, HX0, HY1);
        for (size_t b = 0; b < p->bins; b++) {
            double dens = (double)count[b] / ((double)g->n * bw);
            double y = HY1 - fmin(dens / p->ymax, 1.0) * sy;
            fprintf(s, " L%.1f %.1f L%.1f %.1f", HX0 + (double)b * sx, y,
                    HX0 + (double)(b + 1) * sx, y);
        }
        fprintf(s, " L%.1f %.1f Z\"/>\n", HX1, HY1);
        free(count);
    }
    fprintf(s, "</g>\n");
    return 0;
}

/* The histogram panel's frame, score ticks and axis titles. */
static void histogram_axes(FILE *s, const plot *p)
{
    fprintf(s,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#444\"/>\n",
            HX0, HY0, HX1 - HX0, HY1 - HY0);
    double step = tick_step(p->lo, p->hi);
    /* Integer tick indices: adding step repeatedly would accumulate rounding. */
    double first = ceil(p->lo / step), last = floor(p->hi / step);
    for (double k = first; k <= last && k - first < 20; k++) {
        double t = k * step;
        double x = HX0 + (t - p->lo) / (p->hi - p->lo) * (HX1 - HX0);
        char lab[32];
        snprintf(lab, sizeof lab, "%.4g", fabs(t) < step * 1e-9 ? 0.0 : t);
        fprintf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x,
                HY1, x, HY1 + 5);
        axis_label(s, x, HY1 + 18, "middle", lab);
    }
    axis_label(s, (HX0 + HX1) / 2, HY1 + 38, "middle",
               p->clipped ? "anomaly score (axis clipped to the central 99%)" : "anomaly score");
    fprintf(s,
            "<text transform=\"translate(%.1f %.1f) rotate(-90)\" "
            "text-anchor=\"middle\">density</text>\n",
            HX0 - 15, (HY0 + HY1) / 2);
}

/* What the one threshold does to each group, on a white ground so that the
 * threshold line does not run through its text. */
static void threshold_legend(FILE *s, const svg_plot_input *in, const plot *p)
{
    double ly = HY0 + 16;
    char line[160];
    fprintf(s,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"300\" height=\"%d\" fill=\"white\" "
            "fill-opacity=\"0.85\"/>\n",
            HX0 + 4, HY0 + 3, in->domains ? 74 : 57);
    snprintf(line, sizeof line, "one threshold at %.3g%% FPR on all normals:", 100 * in->fpr);
    axis_label(s, HX0 + 10, ly, "start", line);
    for (int k = 0; k < 3; k++) {
        if (k == 1 && !in->domains)
            continue;
        const group *g = &p->g[k];
        ly += 17;
        snprintf(line, sizeof line, "%s (n=%zu): %.1f%% %s", g->name, g->n,
                 100 * frac_above(g->v, g->n, p->thr), k == 2 ? "detected" : "false alarms");
        fprintf(s,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\" "
                "fill-opacity=\"0.5\" stroke=\"%s\"/>\n",
                HX0 + 10, ly - 10, g->color, g->color);
        axis_label(s, HX0 + 28, ly, "start", line);
    }
}

/* The left panel: histograms, the threshold and its legend. */
static int histogram_panel(FILE *s, const svg_plot_input *in, const plot *p)
{
    fprintf(s, "<g id=\"histograms\">\n");
    histogram_axes(s, p);
    for (int k = 0; k < 3; k++)
        if ((k != 1 || in->domains) && histogram(s, p, &p->g[k]) != 0)
            return -1;
    double tx = HX0 + (p->thr - p->lo) / (p->hi - p->lo) * (HX1 - HX0);
    tx = fmin(fmax(tx, HX0), HX1);
    char thr_text[48];
    snprintf(thr_text, sizeof thr_text, "threshold %.4g", p->thr);
    fprintf(s,
            "<line id=\"threshold\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"black\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n",
            tx, HY0, tx, HY1);
    axis_label(s, tx, HY0 - 6, "middle", thr_text);
    threshold_legend(s, in, p);
    fprintf(s, "</g>\n");
    return 0;
}

/* ---- the ROC panel ----------------------------------------------------------------------- */

static void roc_axes(FILE *s, const svg_plot_input *in)
{
    double px = RX0 + in->max_fpr * (RX1 - RX0);
    fprintf(s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#eeeeee\"/>\n",
            RX0, RY0, px - RX0, RY1 - RY0);
    fprintf(s,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#444\"/>\n",
            RX0, RY0, RX1 - RX0, RY1 - RY0);
    fprintf(s,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" "
            "stroke-dasharray=\"3 3\"/>\n",
            RX0, RY1, RX1, RY0);
    for (int i = 0; i <= 5; i++) {
        double f = i / 5.0;
        char lab[16];
        snprintf(lab, sizeof lab, "%.1f", f);
        double x = RX0 + f * (RX1 - RX0), y = RY1 - f * (RY1 - RY0);
        fprintf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x,
                RY1, x, RY1 + 5);
        axis_label(s, x, RY1 + 18, "middle", lab);
        fprintf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n",
                RX0 - 5, y, RX0, y);
        axis_label(s, RX0 - 8, y + 4, "end", lab);
    }
    axis_label(s, (RX0 + RX1) / 2, RY1 + 38, "middle", "false-positive rate");
    fprintf(s,
            "<text transform=\"translate(%.1f %.1f) rotate(-90)\" "
            "text-anchor=\"middle\">true-positive rate</text>\n",
            RX0 - 35, (RY0 + RY1) / 2);
    char pl[48];
    snprintf(pl, sizeof pl, "pAUC range (FPR < %.3g)", in->max_fpr);
    axis_label(s, RX0 + 4, RY0 - 6, "start", pl);
}

/* The key of the curves, bottom right. */
static void roc_key(FILE *s, const svg_plot_input *in, const plot *p)
{
    double ky = RY1 - 60;
    axis_label(s, RX1 - 110, ky, "start", "all normals");
    fprintf(s,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\" "
            "stroke-width=\"2\"/>\n",
            RX1 - 135, ky - 4, RX1 - 115, ky - 4);
    for (int k = 0; in->domains && k < 2; k++) {
        ky += 16;
        axis_label(s, RX1 - 110, ky, "start", k == 0 ? "source normals" : "target normals");
        fprintf(s,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n",
                RX1 - 135, ky - 4, RX1 - 115, ky - 4, p->g[k].color);
    }
}

/* The right panel: ROC curves of all, source and target normals against the
 * anomalies, and the threshold's operating point. */
static void roc_panel(FILE *s, const svg_plot_input *in, const plot *p)
{
    const group *g = p->g;
    fprintf(s, "<g id=\"roc-panel\">\n");
    roc_axes(s, in);
    static const char dash[] = " stroke-dasharray=\"5 3\"";
    if (in->domains && g[0].n > 0)
        roc_path(s, "roc-source", g[0].color, dash, g[0].v, g[0].n, g[2].v, g[2].n, 1.5);
    if (in->domains && g[1].n > 0)
        roc_path(s, "roc-target", g[1].color, dash, g[1].v, g[1].n, g[2].v, g[2].n, 1.5);
    roc_path(s, "roc", "black", "", p->normals, p->n_norm, g[2].v, g[2].n, 2.0);
    /* The threshold's operating point on the pooled curve. */
    double opx = RX0 + frac_above(p->normals, p->n_norm, p->thr) * (RX1 - RX0);
    double opy = RY1 - frac_above(g[2].v, g[2].n, p->thr) * (RY1 - RY0);
    fprintf(s, "<circle id=\"operating-point\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"black\"/>\n",
            opx, opy);
    roc_key(s, in, p);
    fprintf(s, "</g>\n");
}

/* ---- the document -------------------------------------------------------------------------- */

int svg_plot(const svg_plot_input *in, char **svg, size_t *len)
{
    if (in->n == 0 || !(in->fpr > 0 && in->fpr < 1))
        return -1;
    plot p;
    memset(&p, 0, sizeof p);
    if (make_groups(in, &p) != 0 || find_threshold(in, &p) != 0 || score_axis(in, &p) != 0) {
        plot_free(&p);
        return -1;
    }
    char *text = NULL;
    size_t size = 0;
    FILE *s = open_memstream(&text, &size);
    if (s == NULL) {
        plot_free(&p);
        return -1;
    }
    fprintf(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
            "font-size=\"12\">\n",
            W, H, W, H);
    fprintf(s, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    fprintf(s,
            "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" "
            "font-weight=\"bold\">",
            W / 2);
    xml_text(s, in->title ? in->title : "anomaly scores");
    fprintf(s, "</text>\n");
    int rc = histogram_panel(s, in, &p);
    roc_panel(s, in, &p);
    fprintf(s, "</svg>\n");
    plot_free(&p);
    /* A write that ran out of memory shows as an error of the stream. */
    if (ferror(s))
        rc = -1;
    if (fclose(s) != 0)
        rc = -1;
    if (rc != 0) {
        free(text);
        return -1;
    }
    *svg = text;
    *len = size;
    return 0;
}
