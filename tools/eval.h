/* SPDX-License-Identifier: MIT */
/* asdnorm eval: the samples to evaluate (from arrays or from a DCASE submission
 * directory, eval_dcase.c) and the official evaluator's result table
 * (eval_table.c). */
#ifndef ASDNORM_TOOLS_EVAL_H
#define ASDNORM_TOOLS_EVAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

/* Everything the metrics need, from either kind of input. */
typedef struct eval_set {
    size_t n;
    double *scores;
    uint8_t *labels;
    uint8_t *domains;  /* ASDNORM_DOMAIN_SOURCE / _TARGET (0 unknown); NULL when unknown */
    int32_t *sections; /* arrays: the ids; DCASE: the index of the section's name */
    int8_t *decisions; /* DCASE: 1 anomalous, 0 normal, from decision_result files; or NULL */
    /* DCASE mode: per section index, sorted by machine type then section. */
    size_t n_names;
    char **names;        /* "<machine>_section_<ss>" */
    char **machines;     /* "<machine>" */
    char **section_ids;  /* "<ss>" */
    row_origin o_scores; /* arrays mode, for messages */
    row_origin o_domains;
    size_t unknown_normal; /* the first normal sample with domain 0, or SIZE_MAX */
} eval_set;

void eval_set_free(eval_set *e);

/* Read a DCASE submission: DIR/anomaly_score_<machine>_section_<ss>_test.csv
 * (and decision_result_… files when present), with labels and domains from the
 * ground truth gt (a directory as the official evaluators have it, or the DCASE
 * 2020 eval_data_list.csv), or from development-set file names when gt is NULL.
 * An incomplete submission is refused. -1 after printing a message. */
int load_dcase(const char *dir, const char *gt, eval_set *e);

/* ---- the result table ---------------------------------------------------------- */

/* The columns of a mean row: AUC, pAUC, precision, recall, F1. */
enum { MEAN_COLUMNS = 5 };

/* Arithmetic mean, harmonic mean, source harmonic mean, target harmonic mean. */
typedef struct mean_rows {
    double v[4][MEAN_COLUMNS];
} mean_rows;

/* One section's row of the table (NaN where a value is unavailable). */
typedef struct section_row {
    double auc_all, auc[2], pauc; /* auc[0] source, auc[1] target */
    double precision[2], recall[2], f1[2];
} section_row;

typedef struct dcase_table {
    int edition;       /* 2020 or 2023 (2023-2025 share one table) */
    int has_decisions; /* precision, recall and F1 are known */
    size_t n_sections;
    section_row *rows;
    size_t n_machines;
    size_t *machine_start; /* n_machines + 1 section offsets */
    mean_rows *machine_means;
    mean_rows overall;
    double official;
    double ci95; /* 2023: the official score's jackknife 95 % interval; NaN for 2020 */
} dcase_table;

/* Compute the table of a DCASE submission (e from load_dcase()). -1 after a message. */
int dcase_table_compute(const eval_set *e, int edition, double max_fpr, dcase_table *t);
void dcase_table_free(dcase_table *t);

/* The table as the official evaluator writes its result CSV. */
int dcase_table_write_csv(const dcase_table *t, const eval_set *e, const char *path);
/* The same numbers as one JSON object on out: "official", "official_ci95",
 * "sections" (by name), "machine_types" and "overall" (their mean rows). */
void dcase_table_json(const dcase_table *t, const eval_set *e, FILE *out);

/* A JSON string literal of s. */
void json_string(FILE *out, const char *s);

/* Student's t distribution: the p-quantile with dof degrees of freedom. */
double student_t_quantile(double p, double dof);

#endif /* ASDNORM_TOOLS_EVAL_H */
