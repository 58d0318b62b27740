/* SPDX-License-Identifier: MIT */
/* The picture of domain mismatch (the paper's Figure 1): histograms of the
 * anomaly scores of normal source, normal target and anomalous samples with the
 * one decision threshold that gives the chosen false-positive rate on all
 * normals, and the ROC curves, as a standalone SVG document. */
#ifndef ASDNORM_TOOLS_SVG_H
#define ASDNORM_TOOLS_SVG_H

#include <stddef.h>
#include <stdint.h>

typedef struct svg_plot_input {
    const double *scores;   /* n finite scores, higher = more anomalous */
    const uint8_t *labels;  /* n labels: 1 anomalous, 0 normal */
    const uint8_t *domains; /* n domains (1 source, 2 target) or NULL: normals as one group */
    size_t n;
    double fpr;        /* the threshold's false-positive rate on the normals, in (0, 1) */
    double max_fpr;    /* the pAUC range shaded on the ROC plot, in (0, 1] */
    const char *title; /* a line of text above the plots (escaped here) */
} svg_plot_input;

/* Render into a malloc'd, NUL-terminated document (*svg, *len). Needs at least
 * one normal and one anomalous sample. Returns 0, or -1 when out of memory or
 * the input cannot be plotted. Element ids the tests rely on: hist-source,
 * hist-target (or hist-normal without domains), hist-anomaly, threshold, roc. */
int svg_plot(const svg_plot_input *in, char **svg, size_t *len);

#endif /* ASDNORM_TOOLS_SVG_H */
