/* SPDX-License-Identifier: MIT */
/* asdnorm index build | info: build once, score many times. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "modeldir.h"
#include "refset.h"

static const char index_help[] =
    "Usage: asdnorm index build --ref FILE --out FILE.asdx [options]\n"
    "       asdnorm index build --ref FILE --ref-sections FILE --out DIR [options]\n"
    "       asdnorm index info PATH\n"
    "\n"
    "build: finalize the reference embeddings into a saved index that\n"
    "'asdnorm score --index' loads without recomputing the densities. With\n"
    "--ref-sections, DIR receives one index per section: DIR/section_<id>.asdx.\n"
    "\n"
    "  --ref FILE            reference embeddings (M x D)\n"
    "  --ref-domains FILE    per reference: 0 unknown, 1 source, 2 target\n"
    "  --ref-sections FILE   per reference: section id\n"
    "  --distance NAME       cosine | euclidean | mse (default cosine)\n"
    "  --density NAME        none | knn | gwrp (default knn)\n"
    "  --k K                 knn neighbours (default 1)\n"
    "  --r R                 GWRP weight decay in [0, 1] (default 0.9)\n"
    "  --source-kmeans K     replace the source references by K k-means centroids\n"
    "  --smote K             SMOTE the target references up to the source count\n"
    "  --seed N              seed of k-means and SMOTE (default 0)\n"
    "  --out PATH            the index file, or the directory with --ref-sections\n"
    "  --quiet               no progress bar (shown on a terminal for long work)\n"
    "\n"
    "info: size, dimension, distance, estimator, domains and density constants of\n"
    "an index file, or of every section_<id>.asdx in a directory.\n";

enum { O_REF = O_FIRST_OWN, O_REF_DOMAINS, O_REF_SECTIONS, O_OUT };

static const struct option build_options_table[] = {
    {"ref", required_argument, NULL, O_REF},
    {"ref-domains", required_argument, NULL, O_REF_DOMAINS},
    {"ref-sections", required_argument, NULL, O_REF_SECTIONS},
    {"out", required_argument, NULL, O_OUT},
    {"help", no_argument, NULL, 'h'},
    BUILD_OPTIONS,
    {NULL, 0, NULL, 0},
};

static const struct option info_options_table[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* ---- index build ------------------------------------------------------------------ */

/* Everything a run of index build holds, freed in one place. */
typedef struct build_job {
    const char *ref, *ref_domains, *ref_sections, *out;
    build_args b;
    float *x; /* n × dim references */
    size_t n, dim;
    uint8_t *dom;
    int64_t *sec;
    row_origin o_ref, o_dom, o_sec;
    section_group *g;
    size_t ng;
} build_job;

static void build_job_free(build_job *j)
{
    free(j->x);
    free(j->dom);
    free(j->sec);
    row_origin_free(&j->o_ref);
    row_origin_free(&j->o_dom);
    row_origin_free(&j->o_sec);
    free_groups(j->g, j->ng);
}

/* Options: EXIT_OK, or the status to exit with (-1: help printed). */
static int parse_build_args(int argc, char **argv, build_job *j)
{
    build_args_init(&j->b);
    cli_options_begin();
    int id, rc;
    while ((id = cli_next("index build", argc, argv, build_options_table)) != CLI_END) {
        int built = id == CLI_BAD ? -1 : parse_build_option("index build", id, optarg, &j->b);
        if (built < 0)
            return EXIT_USAGE;
        switch (built ? 0 : id) {
        case 'h': fputs(index_help, stdout); return -1;
        case O_REF: j->ref = optarg; break;
        case O_REF_DOMAINS: j->ref_domains = optarg; break;
        case O_REF_SECTIONS: j->ref_sections = optarg; break;
        case O_OUT: j->out = optarg; break;
        default: break;
        }
    }
    if ((rc = cli_no_arguments("index build", argc, argv)) != EXIT_OK)
        return rc;
    if (!j->ref || !j->out)
        return cli_usage("index build", "--ref FILE and --out PATH are required");
    return finish_build_args("index build", &j->b, NULL);
}

/* --out: a file that may be replaced, or (with --ref-sections) a directory,
 * created when missing. */
static int prepare_output(const build_job *j)
{
    if (!j->ref_sections)
        return check_output(j->out);
    struct stat od;
    if (stat(j->out, &od) == 0 && !S_ISDIR(od.st_mode))
        return cli_fail("%s: not a directory: --ref-sections writes a directory of section "
                        "indexes",
                        j->out);
    if (mkdir(j->out, 0777) != 0 && errno != EEXIST)
        return cli_fail("%s: cannot create the directory: %s", j->out, strerror(errno));
    return 0;
}

/* The references, their domains and sections, and the output checked before the work. */
static int load_build_inputs(build_job *j)
{
    if (load_matrix(j->ref, &j->x, &j->n, &j->dim, &j->o_ref) != 0 ||
        check_matrix_rows(j->x, j->n, j->dim, j->b.o.distance, &j->o_ref) != 0)
        return -1;
    if (j->ref_domains && load_domains(j->ref_domains, j->n, j->ref, &j->dom, &j->o_dom) != 0)
        return -1;
    if (j->ref_sections && load_row_values(j->ref_sections, j->n, j->ref, &j->sec, &j->o_sec) != 0)
        return -1;
    if (prepare_output(j) != 0)
        return -1;
    return group_sections(j->sec, j->n, &j->g, &j->ng);
}

/* Save ix to path, refusing a path that is an input or not a regular file. */
static int save_index(const asdnorm_index *ix, const char *path)
{
    if (check_output(path) != 0)
        return -1;
    errno = 0;
    asdnorm_status st = asdnorm_index_save(ix, path);
    if (st != ASDNORM_OK)
        return cli_fail("%s: saving the index failed: %s%s%s", path, asdnorm_strerror(st),
                        errno ? ": " : "", errno ? strerror(errno) : "");
    return 0;
}

/* Build section g's index and save it: --out, or DIR/section_<id>.asdx. */
static int build_and_save(const build_job *j, const section_group *g)
{
    char where[64], path[4096];
    section_name(j->ref_sections != NULL, g->id, where, sizeof where);
    float *xs = gather_rows(j->x, j->dim, g->rows, g->n);
    uint8_t *ds = j->dom ? malloc(g->n) : NULL;
    asdnorm_index *ix = NULL;
    int64_t *map = NULL;
    int rc = !xs || (j->dom && !ds) ? cli_fail("out of memory") : 0;
    for (size_t i = 0; rc == 0 && ds && i < g->n; i++)
        ds[i] = j->dom[g->rows[i]];
    if (rc == 0)
        rc = build_section_index(xs, g->n, j->dim, ds, g->rows, &j->b.o, where, &ix, &map);
    if (j->ref_sections)
        section_file(j->out, g->id, path, sizeof path);
    else
        snprintf(path, sizeof path, "%s", j->out);
    if (rc == 0)
        rc = save_index(ix, path);
    asdnorm_index_free(ix);
    free(map);
    free(xs);
    free(ds);
    return rc;
}

/* index build: one index, or one per section and the manifest. */
static int index_build(int argc, char **argv)
{
    build_job j;
    memset(&j, 0, sizeof j);
    int rc = parse_build_args(argc, argv, &j);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    rc = load_build_inputs(&j);
    for (size_t s = 0; rc == 0 && s < j.ng; s++)
        rc = build_and_save(&j, &j.g[s]);
    /* The manifest names this build's sections; files of an earlier build
     * with other sections go. */
    if (rc == 0 && j.ref_sections)
        rc = manifest_write(j.out, j.g, j.ng) != 0 || remove_stale_sections(j.out, j.g, j.ng) != 0;
    build_job_free(&j);
    return rc == 0 ? EXIT_OK : EXIT_ERROR;
}

/* ---- index info ------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Print one index file's description. */
static int info_one(const char *path)
{
    asdnorm_index *ix = NULL;
    asdnorm_status st = asdnorm_index_load(path, &ix);
    if (st != ASDNORM_OK)
        return cli_fail("%s: %s", path, asdnorm_strerror(st));
    size_t m = asdnorm_index_size(ix);
    asdnorm_density density = ASDNORM_DENSITY_NONE;
    double param = 0;
    asdnorm_index_get_estimator(ix, &density, &param);
    uint8_t *dom = malloc(m ? m : 1);
    double *dens = malloc((m ? m : 1) * sizeof *dens);
    if (!dom || !dens || asdnorm_index_get_domains(ix, dom, m) != ASDNORM_OK ||
        asdnorm_index_get_density(ix, dens, m) != ASDNORM_OK) {
        free(dom);
        free(dens);
        asdnorm_index_free(ix);
        return cli_fail("%s: cannot read the index's contents", path);
    }
    size_t c[3] = {0, 0, 0};
    for (size_t i = 0; i < m; i++)
        c[dom[i] <= 2 ? dom[i] : 0]++;
    printf("%s\n", path);
    printf("  references  %zu (source %zu, target %zu, unknown %zu)\n", m, c[1], c[2], c[0]);
    printf("  dimension   %zu\n", asdnorm_index_dim(ix));
    printf("  distance    %s\n", distance_name(asdnorm_index_distance(ix)));
    if (density == ASDNORM_DENSITY_KNN)
        printf("  density     knn, K = %g\n", param);
    else if (density == ASDNORM_DENSITY_GWRP)
        printf("  density     gwrp, r = %g\n", param);
    else
        printf("  density     none (plain nearest neighbour)\n");
    if (m > 0 && density != ASDNORM_DENSITY_NONE) {
        qsort(dens, m, sizeof *dens, cmp_double);
        printf("  constants   min %.6g, median %.6g, max %.6g\n", dens[0], dens[m / 2],
               dens[m - 1]);
    }
    free(dom);
    free(dens);
    asdnorm_index_free(ix);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* index info PATH: a file, or every section_<id>.asdx of a directory in name order. */
static int index_info(int argc, char **argv)
{
    cli_options_begin();
    int opt;
    while ((opt = cli_next("index info", argc, argv, info_options_table)) != CLI_END) {
        if (opt == CLI_BAD)
            return EXIT_USAGE;
        fputs(index_help, stdout); /* 'h' */
        return EXIT_OK;
    }
    if (optind >= argc)
        return cli_usage("index info", "PATH is required");
    if (optind + 1 < argc)
        return cli_usage("index info", "one PATH only");
    const char *path = argv[optind];
    struct stat sbuf;
    if (stat(path, &sbuf) != 0)
        return cli_error("%s: %s", path, strerror(errno));
    if (!S_ISDIR(sbuf.st_mode))
        return info_one(path) == 0 ? EXIT_OK : EXIT_ERROR;

    DIR *d = opendir(path);
    if (!d)
        return cli_error("%s: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int status = EXIT_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        long long id;
        if (!section_file_id(e->d_name, &id))
            continue;
        if (manifest_lists(path, id) == 0) {
            cli_warning("%s/%s: not in the manifest (left by an earlier build): not shown", path,
                        e->d_name);
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) {
                status = cli_error("out of memory");
                break;
            }
            names = nn;
            cap = nc;
        }
        size_t full = strlen(path) + len + 2;
        names[n] = malloc(full);
        if (!names[n]) {
            status = cli_error("out of memory");
            break;
        }
        snprintf(names[n], full, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (status == EXIT_OK && n == 0)
        status = cli_error("%s: no section_<id>.asdx files in this directory", path);
    if (n > 0)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && status == EXIT_OK; i++)
        if (info_one(names[i]) != 0)
            status = EXIT_ERROR;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return status;
}

/* asdnorm index build | info. */
int cmd_index(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("index", "expected 'build' or 'info'");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(index_help, stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "build") == 0)
        return index_build(argc - 1, argv + 1);
    if (strcmp(argv[1], "info") == 0)
        return index_info(argc - 1, argv + 1);
    return cli_usage("index", "unknown subcommand '%s' (expected 'build' or 'info')", argv[1]);
}
