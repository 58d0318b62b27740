/* SPDX-License-Identifier: MIT */
/* asdnorm eval: AUC, pAUC and the DCASE official score, from score/label arrays
 * or from the DCASE challenge's own CSV files. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "eval.h"
#include "refset.h"
#include "svg.h"

static const char eval_help[] =
    "Usage: asdnorm eval --scores FILE --labels FILE [--domains FILE] [--sections FILE]\n"
    "                    [--edition 2020|2023] [--max-fpr P] [--json] [--plot FILE.svg]\n"
    "       asdnorm eval --dcase-dir DIR [--ground-truth DIR|FILE] [--result FILE.csv]\n"
    "                    [options]\n"
    "\n"
    "AUC, pAUC and the DCASE task 2 official score. FILEs are .npy or .csv.\n"
    "\n"
    "  --scores FILE        anomaly scores (higher = more anomalous)\n"
    "  --labels FILE        per sample: 1 anomalous, 0 normal\n"
    "  --domains FILE       per sample: 1 source, 2 target (needed by the 2023 rules)\n"
    "  --sections FILE      per sample: section id (default: one section, 0)\n"
    "  --dcase-dir DIR      read DIR/anomaly_score_<machine>_section_<ss>_test.csv files\n"
    "                       (\"filename,score\" rows); each machine and section is a section\n"
    "                       and decision_result_<machine>_section_<ss>_test.csv (0/1) files\n"
    "  --ground-truth DIR   ground truth for --dcase-dir: "
    "ground_truth_<machine>_section_<ss>_test.csv\n"
    "                       (\"filename,label\"), in DIR or DIR/ground_truth_data, domains in\n"
    "                       DIR/ground_truth_domain (0 source, 1 target) or from the file names,\n"
    "                       attribute file names in DIR/ground_truth_attributes; DCASE 2020:\n"
    "                       eval_data_list.csv (the FILE, or in DIR); without it, labels and\n"
    "                       domains come from the file names (the development set's\n"
    "                       normal/anomaly and source/target words)\n"
    "  --result FILE.csv    write the official evaluator's result table (--dcase-dir)\n"
    "  --edition YEAR       2020 (AUC and pAUC per section, arithmetic mean) or 2023\n"
    "                       (also 2024, 2025: AUC source, AUC target, pAUC, harmonic mean);\n"
    "                       default 2023 when domains are known, else 2020\n"
    "  --max-fpr P          pAUC limit in (0, 1] (default 0.1)\n"
    "  --json               print {\"official\": x, \"sections\": {...}} as asdnorm.metrics.dcase\n"
    "  --plot FILE.svg      draw the score histograms and ROC curves\n"
    "  --plot-fpr P         false-positive rate of the plotted threshold (default 0.1)\n"
    "  -h, --help           show this help\n";

enum {
    O_SCORES = 1,
    O_LABELS,
    O_DOMAINS,
    O_SECTIONS,
    O_EDITION,
    O_MAX_FPR,
    O_JSON,
    O_PLOT,
    O_PLOT_FPR,
    O_DCASE_DIR,
    O_GROUND_TRUTH,
    O_RESULT
};

static const struct option eval_options[] = {
    {"scores", required_argument, NULL, O_SCORES},
    {"labels", required_argument, NULL, O_LABELS},
    {"domains", required_argument, NULL, O_DOMAINS},
    {"sections", required_argument, NULL, O_SECTIONS},
    {"edition", required_argument, NULL, O_EDITION},
    {"max-fpr", required_argument, NULL, O_MAX_FPR},
    {"json", no_argument, NULL, O_JSON},
    {"plot", required_argument, NULL, O_PLOT},
    {"plot-fpr", required_argument, NULL, O_PLOT_FPR},
    {"dcase-dir", required_argument, NULL, O_DCASE_DIR},
    {"ground-truth", required_argument, NULL, O_GROUND_TRUTH},
    {"result", required_argument, NULL, O_RESULT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void eval_set_free(eval_set *e)
{
    free(e->scores);
    free(e->labels);
    free(e->domains);
    free(e->sections);
    free(e->decisions);
    for (size_t i = 0; i < e->n_names; i++) {
        free(e->names[i]);
        free(e->machines[i]);
        free(e->section_ids[i]);
    }
    free(e->names);
    free(e->machines);
    free(e->section_ids);
    row_origin_free(&e->o_scores);
    row_origin_free(&e->o_domains);
    memset(e, 0, sizeof *e);
}

static void section_label(const eval_set *e, int32_t id, char *buf, size_t cap)
{
    if (e->names && id >= 0 && (size_t)id < e->n_names)
        snprintf(buf, cap, "%s", e->names[id]);
    else
        snprintf(buf, cap, "%d", (int)id);
}

/* ---- arrays mode ------------------------------------------------------------------ */

/* Scores, all finite. */
static int load_scores(const char *path, eval_set *e)
{
    if (load_vector_double(path, &e->scores, &e->n, &e->o_scores) != 0)
        return -1;
    for (size_t i = 0; i < e->n; i++) {
        if (!isfinite(e->scores[i])) {
            char where[96];
            describe_row(&e->o_scores, i, where, sizeof where);
            return cli_fail("%s: %s: the score is %s (every score must be finite)", path, where,
                            isnan(e->scores[i]) ? "NaN" : "infinite");
        }
    }
    return 0;
}

/* Labels 0 or 1, one per score. */
static int load_labels(const char *path, const char *scores, eval_set *e)
{
    int64_t *lab = NULL;
    row_origin o = {0};
    int rc = load_row_values(path, e->n, scores, &lab, &o);
    e->labels = rc == 0 ? malloc(e->n ? e->n : 1) : NULL;
    if (rc == 0 && !e->labels)
        rc = cli_fail("out of memory");
    for (size_t i = 0; rc == 0 && i < e->n; i++) {
        if (lab[i] != 0 && lab[i] != 1) {
            char where[96];
            describe_row(&o, i, where, sizeof where);
            rc = cli_fail("%s: %s: label %lld is not 0 (normal) or 1 (anomalous)", path, where,
                          (long long)lab[i]);
        } else {
            e->labels[i] = (uint8_t)lab[i];
        }
    }
    free(lab);
    row_origin_free(&o);
    return rc;
}

/* Section ids (default: all 0), each within 32 bits. */
static int load_section_ids(const char *path, const char *scores, eval_set *e)
{
    e->sections = calloc(e->n ? e->n : 1, sizeof *e->sections);
    if (!e->sections)
        return cli_fail("out of memory");
    if (!path)
        return 0;
    int64_t *sec = NULL;
    row_origin o = {0};
    int rc = load_row_values(path, e->n, scores, &sec, &o);
    for (size_t i = 0; rc == 0 && i < e->n; i++) {
        if (sec[i] < INT32_MIN || sec[i] > INT32_MAX) {
            char where[96];
            describe_row(&o, i, where, sizeof where);
            rc = cli_fail("%s: %s: section id %lld does not fit in 32 bits", path, where,
                          (long long)sec[i]);
        } else {
            e->sections[i] = (int32_t)sec[i];
        }
    }
    free(sec);
    row_origin_free(&o);
    return rc;
}

/* Arrays mode: one value per sample in each file. Domains: 0, 1 or 2 (the
 * anomalies' are not used, but another value is a broken file either way);
 * normals need 1 or 2 under the 2023 rules, checked once the edition is known. */
static int load_arrays(const char *scores, const char *labels, const char *domains,
                       const char *sections, eval_set *e)
{
    if (load_scores(scores, e) != 0 || load_labels(labels, scores, e) != 0 ||
        (domains && load_domains(domains, e->n, scores, &e->domains, &e->o_domains) != 0) ||
        load_section_ids(sections, scores, e) != 0)
        return -1;
    for (size_t i = 0; e->domains && i < e->n; i++) {
        if (e->labels[i] == 0 && e->domains[i] == 0) {
            e->unknown_normal = i;
            break;
        }
    }
    return 0;
}

/* ---- metrics and output ------------------------------------------------------------- */

/* Name the section and the missing group before the library reports a status
 * without that detail. */
static int precheck(const eval_set *e, int edition)
{
    int64_t *sec = malloc(e->n * sizeof *sec);
    if (!sec)
        return cli_fail("out of memory");
    for (size_t i = 0; i < e->n; i++)
        sec[i] = e->sections[i];
    section_group *g;
    size_t ng;
    int rc = group_sections(sec, e->n, &g, &ng);
    free(sec);
    if (rc != 0)
        return -1;
    for (size_t s = 0; s < ng && rc == 0; s++) {
        size_t anom = 0, norm = 0, src = 0, tgt = 0;
        for (size_t i = 0; i < g[s].n; i++) {
            size_t r = g[s].rows[i];
            if (e->labels[r]) {
                anom++;
            } else {
                norm++;
                if (e->domains && e->domains[r] == ASDNORM_DOMAIN_SOURCE)
                    src++;
                if (e->domains && e->domains[r] == ASDNORM_DOMAIN_TARGET)
                    tgt++;
            }
        }
        char name[128];
        section_label(e, (int32_t)g[s].id, name, sizeof name);
        if (anom == 0)
            rc = cli_error("section %s has no anomalous samples (label 1): its AUC is undefined",
                           name);
        else if (norm == 0)
            rc =
                cli_error("section %s has no normal samples (label 0): its AUC is undefined", name);
        else if (edition != 2020 && (src == 0 || tgt == 0))
            rc = cli_error(
                "section %s has no normal samples of the %s domain (domain %d): AUC (%s) is "
                "undefined; --edition 2020 ignores domains",
                name, src == 0 ? "source" : "target", src == 0 ? 1 : 2,
                src == 0 ? "source" : "target");
        if (rc != 0)
            rc = -1;
    }
    free_groups(g, ng);
    return rc;
}

static int write_plot(const eval_set *e, const char *path, double plot_fpr, double max_fpr,
                      const char *title)
{
    svg_plot_input in = {e->scores, e->labels, e->domains, e->n, plot_fpr, max_fpr, title};
    char *svg;
    size_t len;
    if (svg_plot(&in, &svg, &len) != 0)
        return cli_fail("%s: cannot draw the plot (out of memory)", path);
    int rc = write_whole_file(path, svg, len);
    free(svg);
    return rc;
}

/* ---- the command ------------------------------------------------------------------ */

typedef struct eval_args {
    const char *scores, *labels, *domains, *sections, *plot, *dcase_dir, *gt, *result;
    int edition, json;
    double max_fpr, plot_fpr;
} eval_args;

/* One option into a; EXIT_OK, or the status to exit with (-1: help printed). */
static int eval_option(eval_args *a, int id, const char *v)
{
    switch (id) {
    case 'h': fputs(eval_help, stdout); return -1;
    case O_SCORES: a->scores = v; break;
    case O_LABELS: a->labels = v; break;
    case O_DOMAINS: a->domains = v; break;
    case O_SECTIONS: a->sections = v; break;
    case O_PLOT: a->plot = v; break;
    case O_DCASE_DIR: a->dcase_dir = v; break;
    case O_GROUND_TRUTH: a->gt = v; break;
    case O_RESULT: a->result = v; break;
    case O_JSON: a->json = 1; break;
    case O_EDITION:
        if (strcmp(v, "2020") != 0 && strcmp(v, "2023") != 0 && strcmp(v, "2024") != 0 &&
            strcmp(v, "2025") != 0)
            return cli_usage("eval", "--edition: '%s' is not 2020, 2023, 2024 or 2025", v);
        a->edition = atoi(v);
        break;
    case O_MAX_FPR:
        if (parse_double_arg("eval", "--max-fpr", v, &a->max_fpr) != 0)
            return EXIT_USAGE;
        if (!(a->max_fpr > 0 && a->max_fpr <= 1))
            return cli_usage("eval", "--max-fpr: %s is outside (0, 1]", v);
        break;
    case O_PLOT_FPR:
        if (parse_double_arg("eval", "--plot-fpr", v, &a->plot_fpr) != 0)
            return EXIT_USAGE;
        if (!(a->plot_fpr > 0 && a->plot_fpr < 1))
            return cli_usage("eval", "--plot-fpr: %s is outside (0, 1)", v);
        break;
    default: break;
    }
    return EXIT_OK;
}

/* Options and their combinations; EXIT_OK, or the status to exit with (-1: help). */
static int parse_eval_args(int argc, char **argv, eval_args *a)
{
    memset(a, 0, sizeof *a);
    a->max_fpr = 0.1;
    a->plot_fpr = 0.1;
    cli_options_begin();
    int id, rc;
    while ((id = cli_next("eval", argc, argv, eval_options)) != CLI_END) {
        if (id == CLI_BAD)
            return EXIT_USAGE;
        if ((rc = eval_option(a, id, optarg)) != EXIT_OK)
            return rc;
    }
    if ((rc = cli_no_arguments("eval", argc, argv)) != EXIT_OK)
        return rc;
    if (a->dcase_dir && (a->scores || a->labels || a->domains || a->sections))
        return cli_usage("eval", "--dcase-dir replaces --scores, --labels, --domains and "
                                 "--sections");
    if (!a->dcase_dir && (a->gt || a->result))
        return cli_usage("eval", "%s goes with --dcase-dir", a->gt ? "--ground-truth" : "--result");
    if (!a->dcase_dir && (!a->scores || !a->labels))
        return cli_usage("eval", "--scores FILE and --labels FILE are required (or "
                                 "--dcase-dir DIR)");
    if (!a->dcase_dir && a->edition > 2020 && !a->domains)
        return cli_usage("eval", "--edition %d needs --domains FILE", a->edition);
    const char *p = a->plot;
    if (p && (strlen(p) < 4 || strcasecmp(p + strlen(p) - 4, ".svg") != 0))
        return cli_usage("eval", "--plot writes SVG: name the file .svg");
    if (a->plot && a->result && same_output(a->plot, a->result))
        return cli_usage("eval", "--plot and --result name the same file");
    return EXIT_OK;
}

/* Load the samples, settle the edition and check that its metrics are defined. */
static int load_eval_set(eval_args *a, eval_set *e)
{
    memset(e, 0, sizeof *e);
    e->unknown_normal = SIZE_MAX;
    if (a->dcase_dir) {
        if (load_dcase(a->dcase_dir, a->gt, e) != 0)
            return -1;
        if (a->edition > 2020 && !e->domains)
            return cli_fail("%s: the domains of some normal samples are unknown (no source/target "
                            "word in the file name, no ground_truth_domain file): the %d rules "
                            "need them; --edition 2020 ignores domains",
                            a->dcase_dir, a->edition);
    } else if (load_arrays(a->scores, a->labels, a->domains, a->sections, e) != 0) {
        return -1;
    }
    if (a->edition == 0)
        a->edition = e->domains ? 2023 : 2020;
    if (a->edition > 2020 && e->domains && e->unknown_normal != SIZE_MAX) {
        char where[96];
        describe_row(&e->o_domains, e->unknown_normal, where, sizeof where);
        return cli_fail("%s: %s: a normal sample with domain 0 (unknown): the %d rules need 1 "
                        "(source) or 2 (target); --edition 2020 ignores domains",
                        a->domains, where, a->edition);
    }
    if (precheck(e, a->edition) != 0)
        return -1;
    /* Refuse an output that would replace an input before printing anything. */
    if ((a->plot && check_output(a->plot) != 0) || (a->result && check_output(a->result) != 0))
        return -1;
    return 0;
}

/* The per-section values of the library's DCASE functions. */
typedef struct section_scores {
    size_t n, per; /* sections, values per section (2020: 2, else 3) */
    int32_t *ids;
    double *values;
    double official;
} section_scores;

static int library_scores(const eval_set *e, const eval_args *a, section_scores *r)
{
    size_t k = 0;
    asdnorm_status st = asdnorm_count_sections(e->sections, e->n, &k);
    r->per = a->edition == 2020 ? 2 : 3;
    if (st == ASDNORM_OK) {
        r->values = calloc(k * r->per, sizeof *r->values);
        r->ids = calloc(k, sizeof *r->ids);
        if (!r->values || !r->ids)
            return cli_fail("out of memory");
    }
    if (st == ASDNORM_OK && a->edition == 2020)
        st = asdnorm_dcase2020(e->scores, e->labels, e->sections, e->n, a->max_fpr, k, r->ids,
                               r->values, &r->n, &r->official);
    else if (st == ASDNORM_OK)
        st = asdnorm_dcase2023(e->scores, e->labels, e->domains, e->sections, e->n, a->max_fpr, k,
                               r->ids, r->values, &r->n, &r->official);
    if (st != ASDNORM_OK)
        return cli_fail("computing the metrics failed: %s", asdnorm_strerror(st));
    return 0;
}

/* {"official": x, "sections": {...}}, as asdnorm.metrics.dcase returns it. */
static void print_json(const eval_set *e, const section_scores *r, int edition)
{
    static const char *const k2023[] = {"auc_source", "auc_target", "pauc"};
    static const char *const k2020[] = {"auc", "pauc"};
    const char *const *keys = edition == 2020 ? k2020 : k2023;
    size_t per = edition == 2020 ? 2 : 3;
    char num[40], name[128];
    format_double(r->official, num, sizeof num);
    printf("{\"official\": %s, \"sections\": {", num);
    for (size_t s = 0; s < r->n; s++) {
        section_label(e, r->ids[s], name, sizeof name);
        printf("%s", s ? ", " : "");
        json_string(stdout, name);
        printf(": {");
        for (size_t j = 0; j < per; j++) {
            format_double(r->values[s * per + j], num, sizeof num);
            printf("%s\"%s\": %s", j ? ", " : "", keys[j], num);
        }
        printf("}");
    }
    printf("}}\n");
}

/* The per-section table on standard output; table (DCASE mode) adds AUC (all)
 * and the official score's interval. */
static void print_text(const eval_set *e, const section_scores *r, const dcase_table *t,
                       int edition, double max_fpr)
{
    char name[128];
    int width = 7;
    for (size_t s = 0; s < r->n; s++) {
        section_label(e, r->ids[s], name, sizeof name);
        if ((int)strlen(name) > width)
            width = (int)strlen(name);
    }
    printf("DCASE %d rules, pAUC up to FPR %g: %zu samples in %zu section%s\n\n", edition, max_fpr,
           e->n, r->n, r->n == 1 ? "" : "s");
    if (edition == 2020)
        printf("%-*s  %10s  %10s\n", width, "section", "AUC", "pAUC");
    else
        printf("%-*s  %12s  %12s  %10s%s\n", width, "section", "AUC (source)", "AUC (target)",
               "pAUC", t ? "   AUC (all)" : "");
    for (size_t s = 0; s < r->n; s++) {
        section_label(e, r->ids[s], name, sizeof name);
        const double *v = r->values + s * r->per;
        if (edition == 2020)
            printf("%-*s  %10.4f  %10.4f\n", width, name, v[0], v[1]);
        else if (t)
            printf("%-*s  %12.4f  %12.4f  %10.4f  %10.4f\n", width, name, v[0], v[1], v[2],
                   t->rows[s].auc_all);
        else
            printf("%-*s  %12.4f  %12.4f  %10.4f\n", width, name, v[0], v[1], v[2]);
    }
    printf("\nofficial score (%s mean of %zu values): %.4f\n",
           edition == 2020 ? "arithmetic" : "harmonic", r->n * r->per, r->official);
    if (t && edition != 2020)
        printf("official score ci95 (jackknife over %zu samples): %.4g\n", e->n, t->ci95);
}

int cmd_eval(int argc, char **argv)
{
    eval_args a;
    int rc = parse_eval_args(argc, argv, &a);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    eval_set e;
    section_scores r = {0};
    dcase_table t = {0};
    int have_table = 0;
    rc = load_eval_set(&a, &e) != 0 || library_scores(&e, &a, &r) != 0;
    if (!rc && a.dcase_dir) {
        rc = dcase_table_compute(&e, a.edition, a.max_fpr, &t) != 0;
        have_table = !rc;
    }
    if (!rc && a.json && have_table)
        dcase_table_json(&t, &e, stdout);
    else if (!rc && a.json)
        print_json(&e, &r, a.edition);
    else if (!rc)
        print_text(&e, &r, have_table ? &t : NULL, a.edition, a.max_fpr);
    if (!rc && fflush(stdout) != 0)
        rc = cli_error("standard output: %s", strerror(errno));
    if (!rc && a.result)
        rc = dcase_table_write_csv(&t, &e, a.result) != 0;
    if (!rc && a.plot) {
        char title[512];
        snprintf(title, sizeof title, "%s: official score %.4f (DCASE %d)",
                 a.dcase_dir ? a.dcase_dir : a.scores, r.official, a.edition);
        rc = write_plot(&e, a.plot, a.plot_fpr, a.max_fpr, title) != 0;
    }
    free(r.values);
    free(r.ids);
    dcase_table_free(&t);
    eval_set_free(&e);
    return rc ? EXIT_ERROR : EXIT_OK;
}
