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
    "\n"
    "info: size, dimension, distance, estimator, domains and density constants of\n"
    "an index file, or of every section_<id>.asdx in a directory.\n";

enum {
    O_REF = 1, O_REF_DOMAINS, O_REF_SECTIONS, O_DISTANCE, O_DENSITY, O_K, O_R, O_KMEANS, O_SMOTE,
    O_SEED, O_OUT, O_HELP
};

static const cli_option build_options_table[] = {
    {"--ref", 1, O_REF},
    {"--ref-domains", 1, O_REF_DOMAINS},
    {"--ref-sections", 1, O_REF_SECTIONS},
    {"--distance", 1, O_DISTANCE},
    {"--density", 1, O_DENSITY},
    {"--k", 1, O_K},
    {"--r", 1, O_R},
    {"--source-kmeans", 1, O_KMEANS},
    {"--smote", 1, O_SMOTE},
    {"--seed", 1, O_SEED},
    {"--out", 1, O_OUT},
    {"--help", 0, O_HELP},
    {"-h", 0, O_HELP},
    {NULL, 0, 0},
};

static const cli_option info_options_table[] = {
    {"--help", 0, O_HELP},
    {"-h", 0, O_HELP},
    {NULL, 0, 0},
};

static int save_index(const asdnorm_index *ix, const char *path)
{
    if (check_output(path) != 0)
        return -1;
    asdnorm_status st = asdnorm_index_save(ix, path);
    if (st != ASDNORM_OK)
        return cli_fail("%s: saving the index failed: %s%s%s", path, asdnorm_strerror(st),
                     errno ? ": " : "", errno ? strerror(errno) : "");
    return 0;
}

static int index_build(int argc, char **argv)
{
    const char *ref = NULL, *ref_domains = NULL, *ref_sections = NULL, *out = NULL;
    build_options b = {ASDNORM_DISTANCE_COSINE, ASDNORM_DENSITY_KNN, 1, 0, 0, 0};
    size_t k = 1;
    double r = 0.9;
    int k_given = 0, r_given = 0;
    cli_args it = {argc, argv, 0, 0, "index build"};
    const char *v;
    int id;
    while ((id = cli_next(&it, build_options_table, &v)) != CLI_END) {
        switch (id) {
        case CLI_BAD: return EXIT_USAGE;
        case CLI_POSITIONAL: return cli_usage("index build", "unexpected argument '%s'", v);
        case O_HELP: fputs(index_help, stdout); return EXIT_OK;
        case O_REF: ref = v; break;
        case O_REF_DOMAINS: ref_domains = v; break;
        case O_REF_SECTIONS: ref_sections = v; break;
        case O_OUT: out = v; break;
        case O_DISTANCE:
            if (parse_distance(v, &b.distance) != 0)
                return cli_usage("index build", "--distance: '%s' is not cosine, euclidean or mse", v);
            break;
        case O_DENSITY:
            if (parse_density(v, &b.density) != 0)
                return cli_usage("index build", "--density: '%s' is not none, knn or gwrp", v);
            break;
        case O_K:
            if (parse_size_arg("index build", "--k", v, 1, &k) != 0)
                return EXIT_USAGE;
            k_given = 1;
            break;
        case O_R:
            if (parse_double_arg("index build", "--r", v, &r) != 0)
                return EXIT_USAGE;
            if (!(r >= 0 && r <= 1))
                return cli_usage("index build", "--r: %s is outside [0, 1]", v);
            r_given = 1;
            break;
        case O_KMEANS:
            if (parse_size_arg("index build", "--source-kmeans", v, 1, &b.source_kmeans) != 0)
                return EXIT_USAGE;
            break;
        case O_SMOTE:
            if (parse_size_arg("index build", "--smote", v, 1, &b.smote_k) != 0)
                return EXIT_USAGE;
            break;
        case O_SEED:
            if (parse_u64_arg("index build", "--seed", v, &b.seed) != 0)
                return EXIT_USAGE;
            break;
        default: break;
        }
    }
    if (!ref || !out)
        return cli_usage("index build", "--ref FILE and --out PATH are required");
    if (k_given && b.density != ASDNORM_DENSITY_KNN)
        return cli_usage("index build", "--k applies to --density knn");
    if (r_given && b.density != ASDNORM_DENSITY_GWRP)
        return cli_usage("index build", "--r applies to --density gwrp");
    if (b.source_kmeans && b.smote_k)
        return cli_usage("index build", "--source-kmeans and --smote are alternative baselines");
    b.param = b.density == ASDNORM_DENSITY_KNN ? (double)k
            : b.density == ASDNORM_DENSITY_GWRP ? r
                                                : 0;

    int status = EXIT_ERROR;
    float *x = NULL;
    int64_t *dom = NULL, *sec = NULL;
    uint8_t *dom8 = NULL;
    size_t n = 0, dim = 0;
    row_origin o_ref = {0}, o_dom = {0}, o_sec = {0};
    section_group *g = NULL;
    size_t ng = 0;
    if (load_matrix(ref, &x, &n, &dim, &o_ref) != 0 ||
        check_matrix_rows(x, n, dim, b.distance, &o_ref) != 0)
        goto done;
    if (ref_domains) {
        size_t nd;
        if (load_vector_int(ref_domains, &dom, &nd, &o_dom) != 0)
            goto done;
        if (nd != n) {
            cli_error("%s: %zu values, but %s has %zu rows (one value per row is needed)", ref_domains,
                  nd, ref, n);
            goto done;
        }
        dom8 = malloc(n);
        if (!dom8) {
            cli_error("out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            if (dom[i] < 0 || dom[i] > 2) {
                char where[96];
                describe_row(&o_dom, i, where, sizeof where);
                cli_error("%s: %s: domain %lld is not 0 (unknown), 1 (source) or 2 (target)",
                      ref_domains, where, (long long)dom[i]);
                goto done;
            }
            dom8[i] = (uint8_t)dom[i];
        }
    }
    if (ref_sections) {
        size_t ns;
        if (load_vector_int(ref_sections, &sec, &ns, &o_sec) != 0)
            goto done;
        if (ns != n) {
            cli_error("%s: %zu values, but %s has %zu rows (one value per row is needed)",
                  ref_sections, ns, ref, n);
            goto done;
        }
        struct stat od;
        if (stat(out, &od) == 0 && !S_ISDIR(od.st_mode)) {
            cli_error("%s: not a directory: --ref-sections writes a directory of section indexes",
                      out);
            goto done;
        }
        if (mkdir(out, 0777) != 0 && errno != EEXIST) {
            cli_error("%s: cannot create the directory: %s", out, strerror(errno));
            goto done;
        }
    }
    if (group_sections(sec, n, &g, &ng) != 0)
        goto done;
    for (size_t s = 0; s < ng; s++) {
        char where[64], path[4096];
        section_name(ref_sections != NULL, g[s].id, where, sizeof where);
        float *xs = gather_rows(x, dim, g[s].rows, g[s].n);
        uint8_t *ds = dom8 ? malloc(g[s].n) : NULL;
        if (!xs || (dom8 && !ds)) {
            free(xs);
            free(ds);
            cli_error("out of memory");
            goto done;
        }
        for (size_t i = 0; ds && i < g[s].n; i++)
            ds[i] = dom8[g[s].rows[i]];
        asdnorm_index *ix = NULL;
        int64_t *map = NULL;
        int br = build_section_index(xs, g[s].n, dim, ds, g[s].rows, &b, where, &ix, &map);
        free(xs);
        free(ds);
        free(map);
        if (br != 0)
            goto done;
        if (ref_sections)
            section_file(out, g[s].id, path, sizeof path);
        else
            snprintf(path, sizeof path, "%s", out);
        errno = 0;
        int sv = save_index(ix, path);
        asdnorm_index_free(ix);
        if (sv != 0)
            goto done;
    }
    /* The manifest names this build's sections; files of an earlier build
     * with other sections go. */
    if (ref_sections &&
        (manifest_write(out, g, ng) != 0 || remove_stale_sections(out, g, ng) != 0))
        goto done;
    status = EXIT_OK;
done:
    free(x);
    free(dom);
    free(sec);
    free(dom8);
    row_origin_free(&o_ref);
    row_origin_free(&o_dom);
    row_origin_free(&o_sec);
    free_groups(g, ng);
    return status;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

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
        printf("  constants   min %.6g, median %.6g, max %.6g\n", dens[0], dens[m / 2], dens[m - 1]);
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

static int index_info(int argc, char **argv)
{
    const char *path = NULL;
    cli_args it = {argc, argv, 0, 0, "index info"};
    const char *v;
    int id;
    while ((id = cli_next(&it, info_options_table, &v)) != CLI_END) {
        if (id == CLI_BAD)
            return EXIT_USAGE;
        if (id == O_HELP) {
            fputs(index_help, stdout);
            return EXIT_OK;
        }
        if (path)
            return cli_usage("index info", "one PATH only");
        path = v;
    }
    if (!path)
        return cli_usage("index info", "PATH is required");
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
        if (strncmp(e->d_name, "section_", 8) != 0 || len < 13 || strcmp(e->d_name + len - 5, ".asdx") != 0)
            continue;
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

int cmd_index(int argc, char **argv)
{
    if (argc < 1)
        return cli_usage("index", "expected 'build' or 'info'");
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(index_help, stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[0], "build") == 0)
        return index_build(argc - 1, argv + 1);
    if (strcmp(argv[0], "info") == 0)
        return index_info(argc - 1, argv + 1);
    return cli_usage("index", "unknown subcommand '%s' (expected 'build' or 'info')", argv[0]);
}
