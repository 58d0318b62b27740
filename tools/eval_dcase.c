/* SPDX-License-Identifier: MIT */
/* Reading a DCASE task 2 submission the way the official evaluators do.
 *
 * A system directory holds, per machine type and section,
 * anomaly_score_<machine>_section_<ss>_test.csv ("file,score" rows) and
 * decision_result_<machine>_section_<ss>_test.csv ("file,0|1" rows). The ground
 * truth (2021-2025 layout) is a directory with ground_truth_data/ (labels),
 * ground_truth_domain/ (0 source, 1 target) and ground_truth_attributes/ (the
 * evaluation file names against the attribute-named ones a system may have
 * scored); DCASE 2020's is one eval_data_list.csv: a line with a machine type,
 * then "file,original name,label" lines. Without ground truth, the labels and
 * domains come from development-set file names. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"
#include "eval.h"

/* ---- "name,value" files ------------------------------------------------------------ */

/* One row of a challenge CSV. */
typedef struct named_value {
    char *file;
    double value;
    size_t line;
} named_value;

/* A file of "name,value" rows, sorted by name. */
typedef struct named_list {
    const char *path;
    named_value *v;
    size_t n;
} named_list;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named_value *)a)->file, ((const named_value *)b)->file);
}

static void named_free(named_list *l)
{
    for (size_t i = 0; l->v && i < l->n; i++)
        free(l->v[i].file);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* The row for file in l, or NULL. */
static const named_value *lookup(const named_list *l, const char *file)
{
    named_value key = {(char *)file, 0, 0};
    return l->n ? bsearch(&key, l->v, l->n, sizeof key, cmp_named) : NULL;
}

static int push_named(named_list *l, size_t *cap, char *file, double value, size_t line)
{
    if (!file)
        return cli_fail("%s: out of memory", l->path);
    if (l->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        named_value *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            free(file);
            return cli_fail("%s: out of memory", l->path);
        }
        l->v = nv;
        *cap = nc;
    }
    l->v[l->n++] = (named_value){file, value, line};
    return 0;
}

/* Sort by name; a name listed twice is an error. */
static int sort_named(named_list *l)
{
    if (l->n == 0)
        return 0;
    qsort(l->v, l->n, sizeof *l->v, cmp_named);
    for (size_t i = 1; i < l->n; i++) {
        const named_value *a = &l->v[i - 1], *b = &l->v[i];
        if (strcmp(a->file, b->file) == 0)
            return cli_fail("%s: line %zu: '%s' is listed twice (also on line %zu)", l->path,
                            a->line > b->line ? a->line : b->line, b->file,
                            a->line > b->line ? b->line : a->line);
    }
    return 0;
}

/* Open path as CSV records. */
static int open_csv(const char *path, csv_reader *r)
{
    unsigned char *bytes;
    size_t len;
    if (read_whole_file(path, &bytes, &len) != 0)
        return -1;
    int rc = csv_reader_init(r, bytes, len);
    free(bytes);
    if (rc != 0)
        return cli_fail("%s: out of memory", path);
    return 0;
}

/* "name,value" rows of path into l (unsorted); a first row whose value is not a
 * number is a header. */
static int read_named_rows(const char *path, named_list *l)
{
    csv_reader r;
    l->path = path;
    if (open_csv(path, &r) != 0)
        return -1;
    size_t cap = 0;
    char err[CSV_ERR_LEN];
    int got, first = 1, rc = 0;
    while (rc == 0 && (got = csv_next(&r, err)) == 1) {
        double d = 0;
        int number = r.nfields >= 2 && csv_parse_number(r.fields[1], &d);
        if (r.nfields < 2)
            rc = cli_error("%s: line %zu: expected \"filename,value\", found %zu field", path,
                           r.record_line, r.nfields);
        else if (!number && !first)
            rc = cli_error("%s: line %zu, column 2: '%s' is not a number", path, r.record_line,
                           r.fields[1]);
        else if (number && !isfinite(d))
            rc = cli_error("%s: line %zu: the value is not finite", path, r.record_line);
        else if (number) /* else a header */
            rc = push_named(l, &cap, strdup(r.fields[0]), d, r.record_line) ? EXIT_ERROR : 0;
        first = 0;
    }
    if (rc == 0 && got < 0)
        rc = cli_error("%s: %s", path, err);
    if (rc == 0 && l->n == 0)
        rc = cli_error("%s: no \"filename,value\" rows", path);
    csv_reader_free(&r);
    if (rc != 0)
        named_free(l);
    return rc ? -1 : 0;
}

/* ---- attribute names ------------------------------------------------------------------ */

/* ground_truth_attributes/: "evaluation name,attribute name" rows; a system
 * may have scored "<attribute name>.wav". */
typedef struct name_map {
    char **from; /* "<attribute name>.wav", sorted */
    char **to;   /* the evaluation name */
    size_t n;
} name_map;

static void name_map_free(name_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->from[i]);
        free(m->to[i]);
    }
    free(m->from);
    free(m->to);
    memset(m, 0, sizeof *m);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct pair_ref {
    char *from, *to;
} pair_ref;

static int cmp_pair(const void *a, const void *b)
{
    return strcmp(((const pair_ref *)a)->from, ((const pair_ref *)b)->from);
}

/* A ground_truth_attributes file into m, sorted by attribute name. */
static int read_name_map(const char *path, name_map *m)
{
    csv_reader r;
    if (open_csv(path, &r) != 0)
        return -1;
    pair_ref *p = NULL;
    size_t n = 0, cap = 0;
    char err[CSV_ERR_LEN];
    int got, rc = 0;
    while (rc == 0 && (got = csv_next(&r, err)) == 1) {
        if (r.nfields < 2) {
            rc = cli_error("%s: line %zu: expected \"file,attribute name\"", path, r.record_line);
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            pair_ref *np = realloc(p, nc * sizeof *np);
            if (!np) {
                rc = cli_error("%s: out of memory", path);
                break;
            }
            p = np;
            cap = nc;
        }
        size_t len = strlen(r.fields[1]) + 5;
        p[n].from = malloc(len);
        p[n].to = strdup(r.fields[0]);
        if (p[n].from)
            snprintf(p[n].from, len, "%s.wav", r.fields[1]);
        n++;
        if (!p[n - 1].from || !p[n - 1].to)
            rc = cli_error("%s: out of memory", path);
    }
    if (rc == 0 && got < 0)
        rc = cli_error("%s: %s", path, err);
    csv_reader_free(&r);
    m->from = malloc((n ? n : 1) * sizeof *m->from);
    m->to = malloc((n ? n : 1) * sizeof *m->to);
    if (rc == 0 && (!m->from || !m->to))
        rc = cli_error("%s: out of memory", path);
    if (rc == 0 && n > 0)
        qsort(p, n, sizeof *p, cmp_pair);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            m->from[i] = p[i].from;
            m->to[i] = p[i].to;
        } else {
            free(p[i].from);
            free(p[i].to);
        }
    }
    m->n = rc == 0 ? n : 0;
    free(p);
    if (rc != 0)
        name_map_free(m);
    return rc ? -1 : 0;
}

/* Rename attribute-named rows of l to their evaluation names. */
static int apply_name_map(const name_map *m, named_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        char *key = l->v[i].file;
        char **hit = m->n ? bsearch(&key, m->from, m->n, sizeof key, cmp_str) : NULL;
        if (!hit)
            continue;
        char *to = strdup(m->to[hit - m->from]);
        if (!to)
            return cli_fail("%s: out of memory", l->path);
        free(l->v[i].file);
        l->v[i].file = to;
    }
    return 0;
}

/* ---- file names -------------------------------------------------------------------- */

/* One section of a submission. */
typedef struct score_file {
    char *path;     /* DIR/anomaly_score_... */
    char *decision; /* DIR/decision_result_... when it exists, else NULL */
    char *machine;
    char *section; /* "00" */
} score_file;

static void score_files_free(score_file *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].path);
        free(f[i].decision);
        free(f[i].machine);
        free(f[i].section);
    }
    free(f);
}

/* Machine types in byte order (as Python's sorted()), then sections. */
static int cmp_score_file(const void *a, const void *b)
{
    const score_file *x = a, *y = b;
    int c = strcmp(x->machine, y->machine);
    return c ? c : strcmp(x->section, y->section);
}

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* <prefix><machine>_section_<ss>…csv (or _id_<ss>…csv as in 2020): 1 and the
 * parts malloc'd, 0 when name is not such a file, -1 out of memory. */
static int parse_dcase_name(const char *name, const char *prefix, char **machine, char **section)
{
    size_t len = strlen(name), plen = strlen(prefix);
    if (strncmp(name, prefix, plen) != 0 || len < plen + 4 || strcmp(name + len - 4, ".csv") != 0)
        return 0;
    const char *m = name + plen, *sec = NULL, *p;
    size_t marker = 0;
    for (p = m; (p = strstr(p, "_section_")) != NULL; p++)
        sec = p, marker = 9;
    if (!sec)
        for (p = m; (p = strstr(p, "_id_")) != NULL; p++)
            sec = p, marker = 4;
    if (!sec || sec == m)
        return 0;
    const char *digits = sec + marker;
    size_t nd = strspn(digits, "0123456789");
    if (nd == 0)
        return 0;
    /* The DCASE baselines write anomaly_score_DCASE2023T2<machine>_…: the
     * ground truth names the machine alone. */
    if (sec - m > 11 && strncmp(m, "DCASE20", 7) == 0 && m[9] == 'T' && m[10] == '2')
        m += 11;
    *machine = strndup(m, (size_t)(sec - m));
    *section = strndup(digits, nd);
    if (!*machine || !*section) {
        free(*machine);
        free(*section);
        return -1;
    }
    return 1;
}

/* DIR/name, malloc'd. */
static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Add DIR/name (a score file) to f[*n]; its decision file when it exists. */
static int add_score_file(const char *dir, const char *name, score_file *f, size_t *n)
{
    char *machine, *section;
    int r = parse_dcase_name(name, "anomaly_score_", &machine, &section);
    if (r <= 0)
        return r == 0 ? 0 : cli_fail("out of memory");
    const char *rest = name + strlen("anomaly_score_");
    size_t dl = strlen(rest) + sizeof "decision_result_";
    char *dname = malloc(dl);
    score_file *s = &f[(*n)++];
    *s = (score_file){join(dir, name), NULL, machine, section};
    if (dname) {
        snprintf(dname, dl, "decision_result_%s", rest);
        s->decision = join(dir, dname);
        if (s->decision && !is_regular(s->decision)) {
            free(s->decision);
            s->decision = NULL;
        }
    }
    free(dname);
    if (!s->path || !dname)
        return cli_fail("out of memory");
    return 0;
}

/* Every score file of DIR, sorted by machine type and section; two files of
 * one section are an error. */
static int list_score_files(const char *dir, score_file **out, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return cli_fail("%s: %s", dir, strerror(errno));
    score_file *f = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            score_file *nf = realloc(f, nc * sizeof *nf);
            if (!nf) {
                rc = cli_error("out of memory");
                break;
            }
            f = nf;
            cap = nc;
        }
        rc = add_score_file(dir, e->d_name, f, &n);
    }
    closedir(d);
    if (rc == 0 && n == 0)
        rc = cli_error("%s: no anomaly_score_<machine>_section_<ss>_test.csv files", dir);
    if (rc == 0 && n > 0) {
        qsort(f, n, sizeof *f, cmp_score_file);
        for (size_t i = 1; i < n && rc == 0; i++)
            if (cmp_score_file(&f[i], &f[i - 1]) == 0)
                rc = cli_error("%s and %s are both scores of %s section %s", f[i - 1].path,
                               f[i].path, f[i].machine, f[i].section);
    }
    if (rc != 0) {
        score_files_free(f, n);
        return -1;
    }
    *out = f;
    *count = n;
    return 0;
}

static const score_file *find_score_file(const score_file *f, size_t n, const char *machine,
                                         const char *section)
{
    score_file key = {NULL, NULL, (char *)machine, (char *)section};
    if (n == 0)
        return NULL;
    return bsearch(&key, f, n, sizeof key, cmp_score_file);
}

/* ---- the ground truth ----------------------------------------------------------------- */

typedef struct ground_truth {
    const char *root;     /* NULL: labels and domains from the file names */
    char *labels_dir;     /* ground_truth_<machine>_section_<ss>_test.csv files */
    char *domains_dir;    /* ground_truth_domain/, or NULL */
    char *attributes_dir; /* ground_truth_attributes/, or NULL */
    named_list list2020;  /* eval_data_list.csv: "<machine>/<file>" → label */
} ground_truth;

static void ground_truth_free(ground_truth *g)
{
    free(g->labels_dir);
    free(g->domains_dir);
    free(g->attributes_dir);
    named_free(&g->list2020);
}

/* DCASE 2020's eval_data_list.csv: a machine type alone on a line, then its
 * files as "file,original name,label". */
static int read_list2020(const char *path, named_list *l)
{
    csv_reader r;
    l->path = path;
    if (open_csv(path, &r) != 0)
        return -1;
    char err[CSV_ERR_LEN], *machine = NULL;
    size_t cap = 0;
    int got, rc = 0;
    while (rc == 0 && (got = csv_next(&r, err)) == 1) {
        double label;
        if (r.nfields == 1) {
            free(machine);
            machine = strdup(r.fields[0]);
            rc = machine ? 0 : cli_error("out of memory");
        } else if (r.nfields < 3 || !machine) {
            rc = cli_error("%s: line %zu: expected a machine type alone or \"file,name,label\" "
                           "after one",
                           path, r.record_line);
        } else if (!csv_parse_number(r.fields[2], &label)) {
            rc = cli_error("%s: line %zu, column 3: '%s' is not a label", path, r.record_line,
                           r.fields[2]);
        } else {
            size_t len = strlen(machine) + strlen(r.fields[0]) + 2;
            char *key = malloc(len);
            if (key)
                snprintf(key, len, "%s/%s", machine, r.fields[0]);
            rc = push_named(l, &cap, key, label, r.record_line) ? EXIT_ERROR : 0;
        }
    }
    if (rc == 0 && got < 0)
        rc = cli_error("%s: %s", path, err);
    if (rc == 0 && l->n == 0)
        rc = cli_error("%s: no \"file,name,label\" rows", path);
    free(machine);
    csv_reader_free(&r);
    if (rc == 0 && sort_named(l) != 0)
        rc = EXIT_ERROR;
    if (rc != 0)
        named_free(l);
    return rc ? -1 : 0;
}

/* GT: a directory as the 2021-2025 evaluators have it (or the label files
 * themselves), or DCASE 2020's eval_data_list.csv (the file, or a directory
 * holding it). */
static int open_ground_truth(const char *gt, ground_truth *g)
{
    memset(g, 0, sizeof *g);
    g->root = gt;
    if (!gt)
        return 0;
    if (!is_dir(gt) && !is_regular(gt))
        return cli_fail("%s: no such ground truth directory or file", gt);
    char *list = is_dir(gt) ? join(gt, "eval_data_list.csv") : strdup(gt);
    if (!list)
        return cli_fail("out of memory");
    if (is_regular(list)) {
        int rc = read_list2020(list, &g->list2020);
        free(list); /* the list's path is needed in messages: keep gt's copy */
        g->list2020.path = gt;
        return rc;
    }
    free(list);
    char *data = join(gt, "ground_truth_data");
    g->domains_dir = join(gt, "ground_truth_domain");
    g->attributes_dir = join(gt, "ground_truth_attributes");
    if (!data || !g->domains_dir || !g->attributes_dir) {
        free(data);
        return cli_fail("out of memory");
    }
    g->labels_dir = is_dir(data) ? data : strdup(gt);
    if (g->labels_dir != data)
        free(data);
    if (!is_dir(g->domains_dir)) {
        free(g->domains_dir);
        g->domains_dir = NULL;
    }
    if (!is_dir(g->attributes_dir)) {
        free(g->attributes_dir);
        g->attributes_dir = NULL;
    }
    return g->labels_dir ? 0 : cli_fail("out of memory");
}

/* DIR/ground_truth_<machine>_section_<ss>_test.csv, malloc'd. */
static char *gt_file(const char *dir, const score_file *f)
{
    size_t n = strlen(dir) + strlen(f->machine) + strlen(f->section) + 48;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/ground_truth_%s_section_%s_test.csv", dir, f->machine, f->section);
    return p;
}

/* The section of a 2020 evaluation file name ("id_05_00000000.wav" → "05"). */
static int id_of(const char *file, char *out, size_t cap)
{
    for (const char *p = file; (p = strstr(p, "id_")) != NULL; p++) {
        size_t nd = strspn(p + 3, "0123456789");
        if (nd > 0 && nd < cap) {
            memcpy(out, p + 3, nd);
            out[nd] = '\0';
            return 1;
        }
    }
    return 0;
}

/* Remember the first missing file, and whether another one differs from it. */
static void note_missing(const char *name, char *first, size_t cap, int *missing, int *more)
{
    if (!*missing)
        snprintf(first, cap, "%s", name);
    else if (strcmp(first, name) != 0)
        *more = 1;
    *missing = 1;
}

/* Every section the ground truth has must have a score file: the official
 * evaluators refuse an incomplete submission. */
static int check_complete(const ground_truth *g, const char *dir, const score_file *f, size_t nf)
{
    int missing = 0, more = 0;
    char first[512] = "", name[512];
    if (g->list2020.n) {
        for (size_t i = 0; i < g->list2020.n; i++) {
            char machine[256], id[16];
            const char *key = g->list2020.v[i].file, *slash = strchr(key, '/');
            size_t ml = (size_t)(slash - key);
            if (ml >= sizeof machine || !id_of(slash + 1, id, sizeof id))
                continue;
            memcpy(machine, key, ml);
            machine[ml] = '\0';
            if (find_score_file(f, nf, machine, id))
                continue;
            snprintf(name, sizeof name, "anomaly_score_%s_id_%s.csv (listed in %s)", machine, id,
                     g->list2020.path);
            note_missing(name, first, sizeof first, &missing, &more);
        }
    } else if (g->root && g->labels_dir) {
        DIR *d = opendir(g->labels_dir);
        if (!d)
            return cli_fail("%s: %s", g->labels_dir, strerror(errno));
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char *machine, *section;
            if (parse_dcase_name(e->d_name, "ground_truth_", &machine, &section) != 1)
                continue;
            if (!find_score_file(f, nf, machine, section)) {
                snprintf(name, sizeof name, "anomaly_score_%s_section_%s_test.csv (%s/%s)", machine,
                         section, g->labels_dir, e->d_name);
                note_missing(name, first, sizeof first, &missing, &more);
            }
            free(machine);
            free(section);
        }
        closedir(d);
    }
    if (missing)
        return cli_fail("%s: incomplete submission: no %s%s; the official evaluator scores "
                        "only complete submissions",
                        dir, first, more ? " and more" : "");
    for (size_t i = 1; i < nf; i++)
        if (!f[i].decision != !f[0].decision)
            return cli_fail("%s: incomplete submission: %s has a decision_result file but %s "
                            "has none",
                            dir, f[f[i].decision ? i : 0].path, f[f[i].decision ? 0 : i].path);
    return 0;
}

/* ---- one section ---------------------------------------------------------------------- */

/* One section's files, read and sorted by name. */
typedef struct section_data {
    named_list scores, decisions, labels, domains;
    name_map names;
    char *label_path, *domain_path, *attribute_path;
} section_data;

static void section_data_free(section_data *d)
{
    named_free(&d->scores);
    named_free(&d->decisions);
    named_free(&d->labels);
    named_free(&d->domains);
    name_map_free(&d->names);
    free(d->label_path);
    free(d->domain_path);
    free(d->attribute_path);
}

static int read_sorted(const char *path, const name_map *m, named_list *l)
{
    if (read_named_rows(path, l) != 0)
        return -1;
    if ((m && apply_name_map(m, l) != 0) || sort_named(l) != 0) {
        named_free(l);
        return -1;
    }
    return 0;
}

/* One section's scores, decisions, labels and domains, read and sorted. */
static int read_section(const ground_truth *g, const score_file *f, section_data *d)
{
    memset(d, 0, sizeof *d);
    if (g->attributes_dir) {
        d->attribute_path = gt_file(g->attributes_dir, f);
        if (d->attribute_path && is_regular(d->attribute_path) &&
            read_name_map(d->attribute_path, &d->names) != 0)
            return -1;
    }
    if (read_sorted(f->path, &d->names, &d->scores) != 0 ||
        (f->decision && read_sorted(f->decision, &d->names, &d->decisions) != 0))
        return -1;
    if (!g->labels_dir)
        return 0;
    d->label_path = gt_file(g->labels_dir, f);
    if (!d->label_path)
        return cli_fail("out of memory");
    if (!is_regular(d->label_path))
        return cli_fail("%s: no ground truth for %s section %s: no %s", f->path, f->machine,
                        f->section, d->label_path);
    if (read_sorted(d->label_path, NULL, &d->labels) != 0)
        return -1;
    d->domain_path = g->domains_dir ? gt_file(g->domains_dir, f) : NULL;
    if (d->domain_path && is_regular(d->domain_path))
        return read_sorted(d->domain_path, NULL, &d->domains);
    return 0;
}

/* The ground truth and the scores list the same files. */
static int check_same_files(const section_data *d, const ground_truth *g, const score_file *f)
{
    if (d->labels.n) {
        for (size_t i = 0; i < d->labels.n; i++)
            if (!lookup(&d->scores, d->labels.v[i].file))
                return cli_fail("%s: no score for '%s' (line %zu of %s)", f->path,
                                d->labels.v[i].file, d->labels.v[i].line, d->label_path);
    }
    for (size_t i = 0; i < g->list2020.n; i++) {
        const char *key = g->list2020.v[i].file, *slash = strchr(key, '/');
        char id[16];
        if ((size_t)(slash - key) != strlen(f->machine) ||
            strncmp(key, f->machine, (size_t)(slash - key)) != 0 ||
            !id_of(slash + 1, id, sizeof id) || strcmp(id, f->section) != 0)
            continue;
        if (!lookup(&d->scores, slash + 1))
            return cli_fail("%s: no score for '%s' (line %zu of %s)", f->path, slash + 1,
                            g->list2020.v[i].line, g->list2020.path);
    }
    return 0;
}

/* Room for n more samples. */
static int grow(eval_set *e, size_t more, size_t *cap, int with_decisions)
{
    if (e->n + more <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 1024;
    while (nc < e->n + more)
        nc *= 2;
    double *s = realloc(e->scores, nc * sizeof *s);
    if (s)
        e->scores = s;
    uint8_t *l = realloc(e->labels, nc);
    if (l)
        e->labels = l;
    uint8_t *d = realloc(e->domains, nc);
    if (d)
        e->domains = d;
    int32_t *c = realloc(e->sections, nc * sizeof *c);
    if (c)
        e->sections = c;
    int8_t *k = with_decisions ? realloc(e->decisions, nc) : e->decisions;
    if (k)
        e->decisions = k;
    if (!s || !l || !d || !c || (with_decisions && !k))
        return cli_fail("out of memory");
    *cap = nc;
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

/* The 0/1 value l has for key; -1 after a message. */
static int binary_of(const named_list *l, const char *key, const char *what, const score_file *f,
                     const named_value *s)
{
    const named_value *v = lookup(l, key);
    if (!v)
        return cli_fail("%s: line %zu: '%s' is not in %s (no %s)", f->path, s->line, s->file,
                        l->path, what);
    if (v->value != 0 && v->value != 1)
        return cli_fail("%s: line %zu: %s %g is not 0 or 1", l->path, v->line, what, v->value);
    return (int)v->value;
}

/* 1 anomalous, 0 normal, -1 after a message. */
static int sample_label(const section_data *d, const ground_truth *g, const score_file *f,
                        const named_value *s)
{
    if (d->labels.n)
        return binary_of(&d->labels, s->file, "label", f, s);
    if (g->list2020.n) {
        size_t len = strlen(f->machine) + strlen(s->file) + 2;
        char *key = malloc(len);
        if (!key)
            return cli_fail("out of memory");
        snprintf(key, len, "%s/%s", f->machine, s->file);
        int v = binary_of(&g->list2020, key, "label", f, s);
        free(key);
        return v;
    }
    int an = has_token(s->file, "anomaly"), no = has_token(s->file, "normal");
    if (an == no)
        return cli_fail("%s: line %zu: cannot tell from '%s' whether it is normal or anomalous; "
                        "give the labels with --ground-truth DIR",
                        f->path, s->line, s->file);
    return an;
}

/* ASDNORM_DOMAIN_SOURCE / _TARGET, 0 unknown, -1 after a message. */
static int sample_domain(const section_data *d, const score_file *f, const named_value *s)
{
    if (d->domains.n) {
        int v = binary_of(&d->domains, s->file, "domain", f, s);
        return v < 0 ? -1 : v == 0 ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;
    }
    int src = has_token(s->file, "source"), tgt = has_token(s->file, "target");
    if (src == tgt)
        return 0;
    return src ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;
}

/* Append section id's samples to e. */
static int load_section(const ground_truth *g, const score_file *f, int32_t id, eval_set *e,
                        size_t *cap, int *all_domains)
{
    section_data d;
    int rc = read_section(g, f, &d);
    if (rc == 0)
        rc = check_same_files(&d, g, f);
    if (rc == 0)
        rc = grow(e, d.scores.n, cap, f->decision != NULL);
    for (size_t i = 0; rc == 0 && i < d.scores.n; i++) {
        const named_value *s = &d.scores.v[i];
        size_t k = e->n + i;
        int label = sample_label(&d, g, f, s);
        int domain = label < 0 ? -1 : sample_domain(&d, f, s);
        int decision =
            domain < 0 || !f->decision ? 0 : binary_of(&d.decisions, s->file, "decision", f, s);
        if (label < 0 || domain < 0 || decision < 0) {
            rc = -1;
            break;
        }
        e->scores[k] = s->value;
        e->labels[k] = (uint8_t)label;
        e->domains[k] = (uint8_t)domain;
        e->sections[k] = id;
        if (f->decision)
            e->decisions[k] = (int8_t)decision;
        if (domain == 0 && label == 0)
            *all_domains = 0;
    }
    if (rc == 0)
        e->n += d.scores.n;
    section_data_free(&d);
    return rc;
}

/* The names of the sections: e->names, e->machines, e->section_ids. */
static int name_sections(const score_file *f, size_t nf, eval_set *e)
{
    size_t cap = nf ? nf : 1;
    e->names = calloc(cap, sizeof *e->names);
    e->machines = calloc(cap, sizeof *e->machines);
    e->section_ids = calloc(cap, sizeof *e->section_ids);
    if (!e->names || !e->machines || !e->section_ids)
        return cli_fail("out of memory");
    e->n_names = nf;
    for (size_t s = 0; s < nf; s++) {
        size_t len = strlen(f[s].machine) + strlen(f[s].section) + 10;
        e->names[s] = malloc(len);
        e->machines[s] = strdup(f[s].machine);
        e->section_ids[s] = strdup(f[s].section);
        if (!e->names[s] || !e->machines[s] || !e->section_ids[s])
            return cli_fail("out of memory");
        snprintf(e->names[s], len, "%s_section_%s", f[s].machine, f[s].section);
    }
    return 0;
}

int load_dcase(const char *dir, const char *gt, eval_set *e)
{
    ground_truth g;
    if (open_ground_truth(gt, &g) != 0) {
        ground_truth_free(&g);
        return -1;
    }
    score_file *f = NULL;
    size_t nf = 0, cap = 0;
    int all_domains = 1;
    int rc = list_score_files(dir, &f, &nf);
    if (rc == 0)
        rc = check_complete(&g, dir, f, nf);
    if (rc == 0)
        rc = name_sections(f, nf, e);
    for (size_t s = 0; rc == 0 && s < nf; s++)
        rc = load_section(&g, &f[s], (int32_t)s, e, &cap, &all_domains);
    /* The 2023 rules need every normal sample's domain: unknown ones make them
     * unknown altogether (the 2020 rules do without). */
    if (rc == 0 && !all_domains) {
        free(e->domains);
        e->domains = NULL;
    }
    score_files_free(f, nf);
    ground_truth_free(&g);
    return rc == 0 ? 0 : -1;
}
