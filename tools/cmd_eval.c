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
#include "csv.h"
#include "refset.h"
#include "svg.h"

static const char eval_help[] =
    "Usage: asdnorm eval --scores FILE --labels FILE [--domains FILE] [--sections FILE]\n"
    "                    [--edition 2020|2023] [--max-fpr P] [--json] [--plot FILE.svg]\n"
    "       asdnorm eval --dcase-dir DIR [--ground-truth DIR] [options]\n"
    "\n"
    "AUC, pAUC and the DCASE task 2 official score. FILEs are .npy or .csv.\n"
    "\n"
    "  --scores FILE        anomaly scores (higher = more anomalous)\n"
    "  --labels FILE        per sample: 1 anomalous, 0 normal\n"
    "  --domains FILE       per sample: 1 source, 2 target (needed by the 2023 rules)\n"
    "  --sections FILE      per sample: section id (default: one section, 0)\n"
    "  --dcase-dir DIR      read DIR/anomaly_score_<machine>_section_<ss>_test.csv files\n"
    "                       (\"filename,score\" rows); each machine and section is a section\n"
    "  --ground-truth DIR   ground truth for --dcase-dir: ground_truth_<machine>_section_<ss>_test.csv\n"
    "                       (\"filename,label\"), in DIR or DIR/ground_truth_data, domains in\n"
    "                       DIR/ground_truth_domain (0 source, 1 target) or from the file names;\n"
    "                       without it, labels and domains come from the file names\n"
    "                       (the development set's normal/anomaly and source/target words)\n"
    "  --edition YEAR       2020 (AUC and pAUC per section, arithmetic mean) or 2023\n"
    "                       (also 2024, 2025: AUC source, AUC target, pAUC, harmonic mean);\n"
    "                       default 2023 when domains are known, else 2020\n"
    "  --max-fpr P          pAUC limit in (0, 1] (default 0.1)\n"
    "  --json               print {\"official\": x, \"sections\": {...}} as asdnorm.metrics.dcase\n"
    "  --plot FILE.svg      draw the score histograms and ROC curves\n"
    "  --plot-fpr P         false-positive rate of the plotted threshold (default 0.1)\n"
    "  -h, --help           show this help\n";

enum {
    O_SCORES = 1, O_LABELS, O_DOMAINS, O_SECTIONS, O_EDITION, O_MAX_FPR, O_JSON, O_PLOT,
    O_PLOT_FPR, O_DCASE_DIR, O_GROUND_TRUTH, O_HELP
};

static const cli_option eval_options[] = {
    {"--scores", 1, O_SCORES},
    {"--labels", 1, O_LABELS},
    {"--domains", 1, O_DOMAINS},
    {"--sections", 1, O_SECTIONS},
    {"--edition", 1, O_EDITION},
    {"--max-fpr", 1, O_MAX_FPR},
    {"--json", 0, O_JSON},
    {"--plot", 1, O_PLOT},
    {"--plot-fpr", 1, O_PLOT_FPR},
    {"--dcase-dir", 1, O_DCASE_DIR},
    {"--ground-truth", 1, O_GROUND_TRUTH},
    {"--help", 0, O_HELP},
    {"-h", 0, O_HELP},
    {NULL, 0, 0},
};

/* Everything the metrics need, from either kind of input. */
typedef struct eval_set {
    size_t n;
    double *scores;
    uint8_t *labels;
    uint8_t *domains;   /* NULL when unknown */
    int32_t *sections;
    char **names;       /* DCASE mode: the name of section id i; NULL: the id itself */
    size_t n_names;
    row_origin o_scores; /* arrays mode, for messages */
    row_origin o_domains;
    size_t unknown_normal; /* the first normal sample with domain 0, or SIZE_MAX */
} eval_set;

static void eval_set_free(eval_set *e)
{
    free(e->scores);
    free(e->labels);
    free(e->domains);
    free(e->sections);
    for (size_t i = 0; i < e->n_names; i++)
        free(e->names[i]);
    free(e->names);
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

static int mismatch(const char *a, size_t na, const char *b, size_t nb)
{
    return cli_error("%s has %zu values but %s has %zu: one value per sample is needed", b, nb, a, na);
}

static int load_arrays(const char *scores, const char *labels, const char *domains,
                       const char *sections, eval_set *e)
{
    int64_t *lab = NULL, *dom = NULL, *sec = NULL;
    row_origin o_lab = {0}, o_sec = {0};
    row_origin *o_dom_p = &e->o_domains;
    size_t n, m;
    int rc = -1;
    if (load_vector_double(scores, &e->scores, &n, &e->o_scores) != 0)
        return -1;
    e->n = n;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(e->scores[i])) {
            char where[96];
            describe_row(&e->o_scores, i, where, sizeof where);
            return cli_error("%s: %s: the score is %s (every score must be finite)", scores, where,
                         isnan(e->scores[i]) ? "NaN" : "infinite"),
                   -1;
        }
    }
    if (load_vector_int(labels, &lab, &m, &o_lab) != 0)
        goto done;
    if (m != n) {
        mismatch(scores, n, labels, m);
        goto done;
    }
    e->labels = malloc(n ? n : 1);
    e->sections = malloc((n ? n : 1) * sizeof *e->sections);
    if (!e->labels || !e->sections) {
        cli_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (lab[i] != 0 && lab[i] != 1) {
            char where[96];
            describe_row(&o_lab, i, where, sizeof where);
            cli_error("%s: %s: label %lld is not 0 (normal) or 1 (anomalous)", labels, where,
                  (long long)lab[i]);
            goto done;
        }
        e->labels[i] = (uint8_t)lab[i];
        e->sections[i] = 0;
    }
    if (domains) {
        if (load_vector_int(domains, &dom, &m, o_dom_p) != 0)
            goto done;
        if (m != n) {
            mismatch(scores, n, domains, m);
            goto done;
        }
        e->domains = malloc(n);
        if (!e->domains) {
            cli_error("out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            /* Anomalies' domains are not used by the metrics, but a value outside
             * {0, 1, 2} is a broken file either way; normals need 1 or 2 under the
             * 2023 rules (checked once the edition is known). */
            if (dom[i] < 0 || dom[i] > 2) {
                char where[96];
                describe_row(o_dom_p, i, where, sizeof where);
                cli_error("%s: %s: domain %lld is not 0 (unknown), 1 (source) or 2 (target)",
                          domains, where, (long long)dom[i]);
                goto done;
            }
            if (e->labels[i] == 0 && dom[i] == 0 && e->unknown_normal == SIZE_MAX)
                e->unknown_normal = i;
            e->domains[i] = (uint8_t)dom[i];
        }
    }
    if (sections) {
        if (load_vector_int(sections, &sec, &m, &o_sec) != 0)
            goto done;
        if (m != n) {
            mismatch(scores, n, sections, m);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            if (sec[i] < INT32_MIN || sec[i] > INT32_MAX) {
                char where[96];
                describe_row(&o_sec, i, where, sizeof where);
                cli_error("%s: %s: section id %lld does not fit in 32 bits", sections, where,
                      (long long)sec[i]);
                goto done;
            }
            e->sections[i] = (int32_t)sec[i];
        }
    }
    rc = 0;
done:
    free(lab);
    free(dom);
    free(sec);
    row_origin_free(&o_lab);
    row_origin_free(&o_sec);
    return rc;
}

/* ---- DCASE mode ------------------------------------------------------------------- */

/* One row of a challenge CSV. */
typedef struct named_value {
    char *file;
    double value;
    size_t line;
} named_value;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named_value *)a)->file, ((const named_value *)b)->file);
}

static void free_named(named_value *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].file);
    free(v);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* "filename,value" rows, sorted by filename; a first row whose value is not a
 * number is a header. Duplicate file names are an error. */
static int read_named_csv(const char *path, named_value **out, size_t *count)
{
    unsigned char *bytes;
    size_t len;
    if (read_whole_file(path, &bytes, &len) != 0)
        return -1;
    csv_reader r;
    if (csv_reader_init(&r, bytes, len) != 0) {
        free(bytes);
        return cli_error("%s: out of memory", path), -1;
    }
    free(bytes);
    named_value *v = NULL;
    size_t n = 0, cap = 0;
    char err[CSV_ERR_LEN];
    int got, first = 1, rc = -1;
    while ((got = csv_next(&r, err)) == 1) {
        double d;
        if (r.nfields < 2) {
            cli_error("%s: line %zu: expected \"filename,value\", found %zu field", path, r.record_line,
                  r.nfields);
            goto done;
        }
        if (!csv_parse_number(r.fields[1], &d)) {
            if (first) {
                first = 0;
                continue;
            }
            cli_error("%s: line %zu, column 2: '%s' is not a number", path, r.record_line, r.fields[1]);
            goto done;
        }
        first = 0;
        if (!isfinite(d)) {
            cli_error("%s: line %zu: the value is not finite", path, r.record_line);
            goto done;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            named_value *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                cli_error("%s: out of memory", path);
                goto done;
            }
            v = nv;
            cap = nc;
        }
        v[n].file = dup_str(r.fields[0]);
        if (!v[n].file) {
            cli_error("%s: out of memory", path);
            goto done;
        }
        v[n].value = d;
        v[n].line = r.record_line;
        n++;
    }
    if (got < 0) {
        cli_error("%s: %s", path, err);
        goto done;
    }
    if (n == 0) {
        cli_error("%s: no \"filename,value\" rows", path);
        goto done;
    }
    qsort(v, n, sizeof *v, cmp_named);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i].file, v[i - 1].file) == 0) {
            cli_error("%s: line %zu: '%s' is listed twice (also on line %zu)", path,
                  v[i].line > v[i - 1].line ? v[i].line : v[i - 1].line, v[i].file,
                  v[i].line > v[i - 1].line ? v[i - 1].line : v[i].line);
            goto done;
        }
    }
    rc = 0;
done:
    csv_reader_free(&r);
    if (rc != 0) {
        free_named(v, n);
        return -1;
    }
    *out = v;
    *count = n;
    return 0;
}

/* Does the file name hold this word as an '_'/'-'/'.'/'/'-separated token? */
static int has_token(const char *name, const char *word)
{
    size_t w = strlen(word);
    for (const char *p = name; (p = strstr(p, word)) != NULL; p++) {
        int before = p == name || strchr("_-./\\", p[-1]) != NULL;
        int after = p[w] == '\0' || strchr("_-./\\", p[w]) != NULL;
        if (before && after)
            return 1;
    }
    return 0;
}

/* A score file of the challenge: its machine and section. */
typedef struct score_file {
    char *path;
    char *machine;
    char *section; /* "00" */
    char *key;     /* "<machine>_section_<ss>" */
} score_file;

static int cmp_score_file(const void *a, const void *b)
{
    return strcmp(((const score_file *)a)->key, ((const score_file *)b)->key);
}

/* anomaly_score_<machine>_section_<ss>_test*.csv (or _id_<ss>*.csv as in 2020). */
static int parse_score_name(const char *name, char **machine, char **section)
{
    const char *prefix = "anomaly_score_";
    size_t len = strlen(name);
    if (strncmp(name, prefix, strlen(prefix)) != 0 || len < 4 || strcmp(name + len - 4, ".csv") != 0)
        return 0;
    const char *m = name + strlen(prefix);
    const char *sec = NULL, *p;
    size_t marker = 0;
    for (p = m; (p = strstr(p, "_section_")) != NULL; p++)
        sec = p, marker = 9;
    if (!sec)
        for (p = m; (p = strstr(p, "_id_")) != NULL; p++)
            sec = p, marker = 4;
    if (!sec || sec == m)
        return 0;
    const char *digits = sec + marker;
    size_t nd = 0;
    while (digits[nd] >= '0' && digits[nd] <= '9')
        nd++;
    if (nd == 0)
        return 0;
    /* The DCASE baseline writes anomaly_score_DCASE2023T2<machine>_...: the
     * ground truth files name the machine alone. */
    if (sec - m > 11 && strncmp(m, "DCASE20", 7) == 0 && m[11 - 2] == 'T' && m[11 - 1] == '2')
        m += 11;
    *machine = malloc((size_t)(sec - m) + 1);
    *section = malloc(nd + 1);
    if (!*machine || !*section) {
        free(*machine);
        free(*section);
        return -1;
    }
    memcpy(*machine, m, (size_t)(sec - m));
    (*machine)[sec - m] = '\0';
    memcpy(*section, digits, nd);
    (*section)[nd] = '\0';
    return 1;
}

static int list_score_files(const char *dir, score_file **out, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return cli_error("%s: %s", dir, strerror(errno)), -1;
    score_file *f = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        char *machine, *section;
        int r = parse_score_name(e->d_name, &machine, &section);
        if (r == 0)
            continue;
        if (r < 0) {
            rc = cli_error("out of memory");
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            score_file *nf = realloc(f, nc * sizeof *nf);
            if (!nf) {
                free(machine);
                free(section);
                rc = cli_error("out of memory");
                break;
            }
            f = nf;
            cap = nc;
        }
        size_t pl = strlen(dir) + strlen(e->d_name) + 2;
        size_t kl = strlen(machine) + strlen(section) + 10;
        f[n].path = malloc(pl);
        f[n].key = malloc(kl);
        f[n].machine = machine;
        f[n].section = section;
        n++;
        if (!f[n - 1].path || !f[n - 1].key) {
            rc = cli_error("out of memory");
            break;
        }
        snprintf(f[n - 1].path, pl, "%s/%s", dir, e->d_name);
        snprintf(f[n - 1].key, kl, "%s_section_%s", machine, section);
    }
    closedir(d);
    if (rc == 0 && n == 0)
        rc = cli_error("%s: no anomaly_score_<machine>_section_<ss>_test.csv files", dir);
    if (rc == 0 && n > 0) {
        qsort(f, n, sizeof *f, cmp_score_file);
        for (size_t i = 1; i < n; i++)
            if (strcmp(f[i].key, f[i - 1].key) == 0)
                rc = cli_error("%s and %s are both scores of %s", f[i - 1].path, f[i].path, f[i].key);
    }
    if (rc != 0) {
        for (size_t i = 0; i < n; i++) {
            free(f[i].path);
            free(f[i].machine);
            free(f[i].section);
            free(f[i].key);
        }
        free(f);
        return -1;
    }
    *out = f;
    *count = n;
    return 0;
}

/* The first existing file among candidates, or NULL. */
static const char *first_existing(char cand[][4096], int n)
{
    for (int i = 0; i < n; i++)
        if (file_exists(cand[i]))
            return cand[i];
    return NULL;
}

/* Find value for file in sorted v, or NULL. */
static const named_value *lookup(const named_value *v, size_t n, const char *file)
{
    named_value key = {(char *)file, 0, 0};
    return bsearch(&key, v, n, sizeof *v, cmp_named);
}

static int load_dcase(const char *dir, const char *gt, eval_set *e)
{
    score_file *files = NULL;
    size_t nf = 0;
    if (list_score_files(dir, &files, &nf) != 0)
        return -1;
    int rc = -1;
    size_t cap = 0;
    int all_domains = 1;
    e->names = calloc(nf ? nf : 1, sizeof *e->names);
    if (!e->names) {
        cli_error("out of memory");
        goto done;
    }
    e->n_names = nf;
    for (size_t s = 0; s < nf; s++) {
        e->names[s] = dup_str(files[s].key);
        if (!e->names[s]) {
            cli_error("out of memory");
            goto done;
        }
        named_value *sc = NULL, *lab = NULL, *dom = NULL;
        size_t nsc = 0, nlab = 0, ndom = 0;
        if (read_named_csv(files[s].path, &sc, &nsc) != 0)
            goto done;
        const char *gt_path = NULL, *dom_path = NULL;
        char cand[2][4096], dcand[1][4096];
        if (gt) {
            snprintf(cand[0], sizeof cand[0], "%s/ground_truth_data/ground_truth_%s_section_%s_test.csv",
                     gt, files[s].machine, files[s].section);
            snprintf(cand[1], sizeof cand[1], "%s/ground_truth_%s_section_%s_test.csv", gt,
                     files[s].machine, files[s].section);
            snprintf(dcand[0], sizeof dcand[0],
                     "%s/ground_truth_domain/ground_truth_%s_section_%s_test.csv", gt,
                     files[s].machine, files[s].section);
            gt_path = first_existing(cand, 2);
            if (!gt_path) {
                cli_error("%s: no ground truth for %s: looked for %s and %s", files[s].path,
                      files[s].key, cand[0], cand[1]);
                free_named(sc, nsc);
                goto done;
            }
            if (read_named_csv(gt_path, &lab, &nlab) != 0) {
                free_named(sc, nsc);
                goto done;
            }
            dom_path = first_existing(dcand, 1);
            if (dom_path && read_named_csv(dom_path, &dom, &ndom) != 0) {
                free_named(sc, nsc);
                free_named(lab, nlab);
                goto done;
            }
            if (nlab != nsc) {
                /* Name the first file present on one side only. */
                for (size_t i = 0; i < nlab; i++) {
                    if (!lookup(sc, nsc, lab[i].file)) {
                        cli_error("%s: no score for '%s' (line %zu of %s)", files[s].path, lab[i].file,
                              lab[i].line, gt_path);
                        goto mismatch;
                    }
                }
                for (size_t i = 0; i < nsc; i++) {
                    if (!lookup(lab, nlab, sc[i].file)) {
                        cli_error("%s: line %zu: '%s' is not in the ground truth %s", files[s].path,
                              sc[i].line, sc[i].file, gt_path);
                        goto mismatch;
                    }
                }
            mismatch:
                free_named(sc, nsc);
                free_named(lab, nlab);
                free_named(dom, ndom);
                goto done;
            }
        }
        if (e->n + nsc > cap) {
            size_t nc = cap ? cap : 1024;
            while (nc < e->n + nsc)
                nc *= 2;
            double *s2 = realloc(e->scores, nc * sizeof *s2);
            if (s2)
                e->scores = s2;
            uint8_t *l2 = realloc(e->labels, nc);
            if (l2)
                e->labels = l2;
            uint8_t *d2 = realloc(e->domains, nc);
            if (d2)
                e->domains = d2;
            int32_t *c2 = realloc(e->sections, nc * sizeof *c2);
            if (c2)
                e->sections = c2;
            if (!s2 || !l2 || !d2 || !c2) {
                cli_error("out of memory");
                free_named(sc, nsc);
                free_named(lab, nlab);
                free_named(dom, ndom);
                goto done;
            }
            cap = nc;
        }
        int bad = 0;
        for (size_t i = 0; i < nsc && !bad; i++) {
            size_t k = e->n + i;
            e->scores[k] = sc[i].value;
            e->sections[k] = (int32_t)s;
            if (gt) {
                const named_value *l = lookup(lab, nlab, sc[i].file);
                if (!l) {
                    bad = cli_error("%s: line %zu: '%s' is not in the ground truth %s", files[s].path,
                                sc[i].line, sc[i].file, gt_path);
                    break;
                }
                if (l->value != 0 && l->value != 1) {
                    bad = cli_error("%s: line %zu: label %g is not 0 (normal) or 1 (anomalous)",
                                gt_path, l->line, l->value);
                    break;
                }
                e->labels[k] = (uint8_t)l->value;
            } else {
                int an = has_token(sc[i].file, "anomaly"), no = has_token(sc[i].file, "normal");
                if (an == no) {
                    bad = cli_error("%s: line %zu: cannot tell from '%s' whether it is normal or "
                                "anomalous; give the labels with --ground-truth DIR",
                                files[s].path, sc[i].line, sc[i].file);
                    break;
                }
                e->labels[k] = (uint8_t)an;
            }
            uint8_t d = 0;
            const named_value *dv = dom ? lookup(dom, ndom, sc[i].file) : NULL;
            if (dom && !dv) {
                bad = cli_error("%s: no domain for '%s' (line %zu of %s)", dom_path, sc[i].file,
                            sc[i].line, files[s].path);
                break;
            }
            if (dv) {
                if (dv->value != 0 && dv->value != 1) {
                    bad = cli_error("%s: line %zu: domain %g is not 0 (source) or 1 (target)",
                                dom_path, dv->line, dv->value);
                    break;
                }
                d = dv->value == 0 ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;
            } else if (has_token(sc[i].file, "source") != has_token(sc[i].file, "target")) {
                d = has_token(sc[i].file, "source") ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;
            }
            e->domains[k] = d;
            if (d == 0 && e->labels[k] == 0)
                all_domains = 0;
        }
        e->n += nsc;
        free_named(sc, nsc);
        free_named(lab, nlab);
        free_named(dom, ndom);
        if (bad)
            goto done;
    }
    if (!all_domains) {
        free(e->domains);
        e->domains = NULL;
    }
    rc = 0;
done:
    for (size_t i = 0; i < nf; i++) {
        free(files[i].path);
        free(files[i].machine);
        free(files[i].section);
        free(files[i].key);
    }
    free(files);
    return rc;
}

/* ---- metrics and output ------------------------------------------------------------- */

/* Name the section and the missing group before the library reports a status
 * without that detail. */
static int precheck(const eval_set *e, int edition)
{
    int64_t *sec = malloc(e->n * sizeof *sec);
    if (!sec)
        return cli_error("out of memory"), -1;
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
            rc = cli_error("section %s has no anomalous samples (label 1): its AUC is undefined", name);
        else if (norm == 0)
            rc = cli_error("section %s has no normal samples (label 0): its AUC is undefined", name);
        else if (edition != 2020 && (src == 0 || tgt == 0))
            rc = cli_error("section %s has no normal samples of the %s domain (domain %d): AUC (%s) is "
                       "undefined; --edition 2020 ignores domains",
                       name, src == 0 ? "source" : "target", src == 0 ? 1 : 2,
                       src == 0 ? "source" : "target");
        if (rc != 0)
            rc = -1;
    }
    free_groups(g, ng);
    return rc;
}

/* AUC over one section's samples (for the table's "AUC (all)"). */
static double section_auc(const eval_set *e, int32_t id)
{
    size_t m = 0;
    for (size_t i = 0; i < e->n; i++)
        m += e->sections[i] == id;
    double *s = malloc((m ? m : 1) * sizeof *s);
    uint8_t *l = malloc(m ? m : 1);
    double auc = NAN;
    if (s && l) {
        size_t k = 0;
        for (size_t i = 0; i < e->n; i++) {
            if (e->sections[i] == id) {
                s[k] = e->scores[i];
                l[k++] = e->labels[i];
            }
        }
        if (asdnorm_auc(l, s, m, &auc) != ASDNORM_OK)
            auc = NAN;
    }
    free(s);
    free(l);
    return auc;
}

static void json_string(const char *s)
{
    putchar('"');
    for (const char *c = s; *c; c++) {
        if (*c == '"' || *c == '\\')
            printf("\\%c", *c);
        else if ((unsigned char)*c < 0x20)
            printf("\\u%04x", (unsigned)(unsigned char)*c);
        else
            putchar(*c);
    }
    putchar('"');
}

static int write_plot(const eval_set *e, const char *path, double plot_fpr, double max_fpr,
                      const char *title)
{
    svg_plot_input in = {e->scores, e->labels, e->domains, e->n, plot_fpr, max_fpr, title};
    char *svg;
    size_t len;
    if (svg_plot(&in, &svg, &len) != 0)
        return cli_error("%s: cannot draw the plot (out of memory)", path), -1;
    int rc = write_whole_file(path, svg, len);
    free(svg);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    const char *scores = NULL, *labels = NULL, *domains = NULL, *sections = NULL, *plot = NULL;
    const char *dcase_dir = NULL, *gt = NULL;
    int edition = 0, json = 0;
    double max_fpr = 0.1, plot_fpr = 0.1;
    cli_args it = {argc, argv, 0, 0, "eval"};
    const char *v;
    int id;
    while ((id = cli_next(&it, eval_options, &v)) != CLI_END) {
        switch (id) {
        case CLI_BAD: return EXIT_USAGE;
        case CLI_POSITIONAL: return cli_usage("eval", "unexpected argument '%s'", v);
        case O_HELP: fputs(eval_help, stdout); return EXIT_OK;
        case O_SCORES: scores = v; break;
        case O_LABELS: labels = v; break;
        case O_DOMAINS: domains = v; break;
        case O_SECTIONS: sections = v; break;
        case O_PLOT: plot = v; break;
        case O_DCASE_DIR: dcase_dir = v; break;
        case O_GROUND_TRUTH: gt = v; break;
        case O_JSON: json = 1; break;
        case O_EDITION:
            if (strcmp(v, "2020") == 0)
                edition = 2020;
            else if (strcmp(v, "2023") == 0 || strcmp(v, "2024") == 0 || strcmp(v, "2025") == 0)
                edition = atoi(v);
            else
                return cli_usage("eval", "--edition: '%s' is not 2020, 2023, 2024 or 2025", v);
            break;
        case O_MAX_FPR:
            if (parse_double_arg("eval", "--max-fpr", v, &max_fpr) != 0)
                return EXIT_USAGE;
            if (!(max_fpr > 0 && max_fpr <= 1))
                return cli_usage("eval", "--max-fpr: %s is outside (0, 1]", v);
            break;
        case O_PLOT_FPR:
            if (parse_double_arg("eval", "--plot-fpr", v, &plot_fpr) != 0)
                return EXIT_USAGE;
            if (!(plot_fpr > 0 && plot_fpr < 1))
                return cli_usage("eval", "--plot-fpr: %s is outside (0, 1)", v);
            break;
        default: break;
        }
    }
    if (dcase_dir) {
        if (scores || labels || domains || sections)
            return cli_usage("eval", "--dcase-dir replaces --scores, --labels, --domains and "
                                       "--sections");
    } else {
        if (gt)
            return cli_usage("eval", "--ground-truth goes with --dcase-dir");
        if (!scores || !labels)
            return cli_usage("eval", "--scores FILE and --labels FILE are required (or "
                                       "--dcase-dir DIR)");
        if (edition > 2020 && !domains)
            return cli_usage("eval", "--edition %d needs --domains FILE", edition);
    }
    if (plot && (strlen(plot) < 4 || strcasecmp(plot + strlen(plot) - 4, ".svg") != 0))
        return cli_usage("eval", "--plot writes SVG: name the file .svg");

    eval_set e;
    memset(&e, 0, sizeof e);
    e.unknown_normal = SIZE_MAX;
    int status = EXIT_ERROR;
    double *values = NULL;
    int32_t *ids = NULL;
    if (dcase_dir) {
        if (load_dcase(dcase_dir, gt, &e) != 0)
            goto done;
        if (edition > 2020 && !e.domains) {
            cli_error("%s: the domains of some normal samples are unknown (no source/target word in "
                  "the file name, no ground_truth_domain file): the %d rules need them; "
                  "--edition 2020 ignores domains",
                  dcase_dir, edition);
            goto done;
        }
    } else if (load_arrays(scores, labels, domains, sections, &e) != 0) {
        goto done;
    }
    if (edition == 0)
        edition = e.domains ? 2023 : 2020;
    if (edition > 2020 && e.domains && e.unknown_normal != SIZE_MAX) {
        char where[96];
        describe_row(&e.o_domains, e.unknown_normal, where, sizeof where);
        cli_error("%s: %s: a normal sample with domain 0 (unknown): the %d rules need 1 (source) "
                  "or 2 (target); --edition 2020 ignores domains",
                  domains, where, edition);
        goto done;
    }
    if (precheck(&e, edition) != 0)
        goto done;
    /* Refuse an output that would replace an input before printing anything. */
    if (plot && check_output(plot) != 0)
        goto done;

    size_t k = 0;
    asdnorm_status st = asdnorm_count_sections(e.sections, e.n, &k);
    size_t per = edition == 2020 ? 2 : 3;
    if (st == ASDNORM_OK) {
        values = malloc(k * per * sizeof *values);
        ids = malloc(k * sizeof *ids);
        if (!values || !ids) {
            cli_error("out of memory");
            goto done;
        }
    }
    double official = 0;
    size_t nsec = 0;
    if (st == ASDNORM_OK && edition == 2020)
        st = asdnorm_dcase2020(e.scores, e.labels, e.sections, e.n, max_fpr, k, ids, values, &nsec,
                               &official);
    else if (st == ASDNORM_OK)
        st = asdnorm_dcase2023(e.scores, e.labels, e.domains, e.sections, e.n, max_fpr, k, ids,
                               values, &nsec, &official);
    if (st != ASDNORM_OK) {
        cli_error("computing the metrics failed: %s", asdnorm_strerror(st));
        goto done;
    }

    char num[40], name[128];
    if (json) {
        format_double(official, num, sizeof num);
        printf("{\"official\": %s, \"sections\": {", num);
        for (size_t s = 0; s < nsec; s++) {
            section_label(&e, ids[s], name, sizeof name);
            printf("%s", s ? ", " : "");
            json_string(name);
            printf(": {");
            static const char *const k2023[] = {"auc_source", "auc_target", "pauc"};
            static const char *const k2020[] = {"auc", "pauc"};
            for (size_t j = 0; j < per; j++) {
                format_double(values[s * per + j], num, sizeof num);
                printf("%s\"%s\": %s", j ? ", " : "", edition == 2020 ? k2020[j] : k2023[j], num);
            }
            printf("}");
        }
        printf("}}\n");
    } else {
        size_t width = 7;
        for (size_t s = 0; s < nsec; s++) {
            section_label(&e, ids[s], name, sizeof name);
            if (strlen(name) > width)
                width = strlen(name);
        }
        printf("DCASE %d rules, pAUC up to FPR %g: %zu samples in %zu section%s\n\n",
               edition, max_fpr, e.n, nsec, nsec == 1 ? "" : "s");
        if (edition == 2020)
            printf("%-*s  %10s  %10s\n", (int)width, "section", "AUC", "pAUC");
        else
            printf("%-*s  %12s  %12s  %10s  %10s\n", (int)width, "section", "AUC (source)",
                   "AUC (target)", "pAUC", "AUC (all)");
        for (size_t s = 0; s < nsec; s++) {
            section_label(&e, ids[s], name, sizeof name);
            const double *r = values + s * per;
            if (edition == 2020)
                printf("%-*s  %10.4f  %10.4f\n", (int)width, name, r[0], r[1]);
            else
                printf("%-*s  %12.4f  %12.4f  %10.4f  %10.4f\n", (int)width, name, r[0], r[1], r[2],
                       section_auc(&e, ids[s]));
        }
        printf("\nofficial score (%s mean of %zu values): %.4f\n",
               edition == 2020 ? "arithmetic" : "harmonic", nsec * per, official);
    }
    if (fflush(stdout) != 0) {
        cli_error("standard output: %s", strerror(errno));
        goto done;
    }
    if (plot) {
        char title[512];
        snprintf(title, sizeof title, "%s: official score %.4f (DCASE %d)",
                 dcase_dir ? dcase_dir : scores, official, edition);
        if (write_plot(&e, plot, plot_fpr, max_fpr, title) != 0)
            goto done;
    }
    status = EXIT_OK;
done:
    free(values);
    free(ids);
    eval_set_free(&e);
    return status;
}
