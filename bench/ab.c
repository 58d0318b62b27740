/* SPDX-License-Identifier: MIT */
/* Compare two builds of libasdnorm in one process, for changes smaller than
 * the machine's drift (shared 2-core machines drift by ±15 % within a minute,
 * so two benchmark runs made minutes apart cannot resolve a 5 % change).
 *
 *   asdnorm-ab LIB_A LIB_B finalize|score M N D K [reps [family]]
 *
 * Both libraries (paths to libasdnorm.so files of two builds, e.g. the
 * current tree's and a worktree of the last commit) are dlopen'ed with
 * RTLD_LOCAL, so each has its own copy of everything; each builds a cosine
 * index of the same seeded M × D data (the loose clusters of issue 5, or a
 * family of bench/families.h by name) and finalizes it with k-NN K. Then the
 * timed call — finalize again, or scoring N tests (ratio) — alternates A, B,
 * A, B …, reps times each (default 9), and the program prints both medians
 * and the median (and range) of the per-pair ratios B / A. Results must agree:
 * the densities and scores of A and B are compared bitwise, and a difference
 * is reported (expected only when a change is meant to alter results).
 * AB_BLAS_CONTROL=a, b or ab in the environment calls asdnorm_set_blas_control(1)
 * in A, B or both (libraries of 0.2 and later). AB_CLOCK=cpu times the process's
 * CPU time (all threads) instead of the wall clock: with OMP_NUM_THREADS=1 it is
 * the one thread's work, which other tenants of a loaded machine disturb less. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <string.h>

#include "asdnorm/asdnorm.h"
#include "common.h"
#include "families.h"

struct lib {
    asdnorm_status (*index_new)(size_t, asdnorm_distance, asdnorm_index **);
    asdnorm_status (*index_add)(asdnorm_index *, const float *, size_t, const uint8_t *);
    asdnorm_status (*finalize)(asdnorm_index *, asdnorm_density, double);
    asdnorm_status (*get_density)(const asdnorm_index *, double *, size_t);
    asdnorm_status (*scorer_new)(const asdnorm_index *, asdnorm_norm, asdnorm_scorer **);
    asdnorm_status (*score)(asdnorm_scorer *, const float *, size_t, float *, size_t *);
    asdnorm_index *ix;
    asdnorm_scorer *sc;
    void *handle;
};

static void *sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p) {
        fprintf(stderr, "%s: %s\n", name, dlerror());
        exit(1);
    }
    return p;
}

static void load(struct lib *L, const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        exit(1);
    }
    L->handle = h;
    /* POSIX: function pointers round-trip through void * (dlsym's contract). */
    *(void **)&L->index_new = sym(h, "asdnorm_index_new");
    *(void **)&L->index_add = sym(h, "asdnorm_index_add");
    *(void **)&L->finalize = sym(h, "asdnorm_index_finalize");
    *(void **)&L->get_density = sym(h, "asdnorm_index_get_density");
    *(void **)&L->scorer_new = sym(h, "asdnorm_scorer_new");
    *(void **)&L->score = sym(h, "asdnorm_scorer_score");
}

static void ok(asdnorm_status st, const char *what)
{
    if (st != ASDNORM_OK) {
        fprintf(stderr, "%s failed: status %d\n", what, (int)st);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 8 || (strcmp(argv[3], "finalize") && strcmp(argv[3], "score"))) {
        fprintf(stderr, "usage: %s LIB_A LIB_B finalize|score M N D K [reps [family]]\n",
                argv[0]);
        return 2;
    }
    const int fin = !strcmp(argv[3], "finalize");
    const size_t m = strtoul(argv[4], NULL, 10), n = strtoul(argv[5], NULL, 10);
    const size_t d = strtoul(argv[6], NULL, 10);
    const double k = strtod(argv[7], NULL);
    const int reps = argc > 8 ? atoi(argv[8]) : 9;
    if (m < 2 || n < 1 || d < 1 || k < 1 || reps < 1 || reps > 999) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct lib lib[2];
    load(&lib[0], argv[1]);
    load(&lib[1], argv[2]);
    /* AB_BLAS_CONTROL=a, b or ab: call asdnorm_set_blas_control(1) (0.2) in those. */
    const char *ctl = getenv("AB_BLAS_CONTROL");
    for (int l = 0; ctl && l < 2; l++)
        if (strchr(ctl, "ab"[l])) {
            asdnorm_status (*set)(int);
            *(void **)&set = sym(lib[l].handle, "asdnorm_set_blas_control");
            ok(set(1), "asdnorm_set_blas_control");
        }
    int fam = -1;
    for (int f = 0; argc > 9 && f < FAM_COUNT; f++)
        if (!strcmp(argv[9], family_name[f]))
            fam = f;
    if (argc > 9 && fam < 0) {
        fprintf(stderr, "unknown family %s\n", argv[9]);
        return 2;
    }
    float *Y, *X;
    if (fam < 0) {
        Y = make_data(m, d, 1);
        X = make_data(n, d, 2);
    } else {
        Y = xmalloc(m * d * sizeof *Y);
        X = xmalloc(n * d * sizeof *X);
        family_fill((enum family)fam, Y, m, d, 64, 1, NULL, 0);
        family_fill((enum family)fam, X, n, d, 64, 2, Y, m);
    }
    float *s[2] = {xmalloc(n * sizeof(float)), xmalloc(n * sizeof(float))};
    double *dens[2] = {xmalloc(m * sizeof(double)), xmalloc(m * sizeof(double))};
    for (int l = 0; l < 2; l++) {
        struct lib *L = &lib[l];
        ok(L->index_new(d, ASDNORM_DISTANCE_COSINE, &L->ix), "index_new");
        ok(L->index_add(L->ix, Y, m, NULL), "index_add");
        ok(L->finalize(L->ix, ASDNORM_DENSITY_KNN, k), "finalize");
        ok(L->scorer_new(L->ix, ASDNORM_NORM_RATIO, &L->sc), "scorer_new");
    }
    double *t[2] = {xmalloc((size_t)reps * sizeof(double)), xmalloc((size_t)reps * sizeof(double))};
    double *ratio = xmalloc((size_t)reps * sizeof(double));
    const char *clk = getenv("AB_CLOCK");
    double (*clock_fn)(void) = clk && strcmp(clk, "cpu") == 0 ? cpu_now : now;
    for (int r = 0; r < reps; r++) {
        for (int l = 0; l < 2; l++) {
            struct lib *L = &lib[l];
            double t0 = clock_fn();
            if (fin)
                ok(L->finalize(L->ix, ASDNORM_DENSITY_KNN, k), "finalize");
            else
                ok(L->score(L->sc, X, n, s[l], NULL), "score");
            t[l][r] = clock_fn() - t0;
        }
        ratio[r] = t[1][r] / t[0][r];
    }
    int same = 1;
    if (fin) {
        for (int l = 0; l < 2; l++)
            ok(lib[l].get_density(lib[l].ix, dens[l], m), "get_density");
        same = !memcmp(dens[0], dens[1], m * sizeof(double));
    } else {
        same = !memcmp(s[0], s[1], n * sizeof(float));
    }
    const double ta = median(t[0], reps), tb = median(t[1], reps), rm = median(ratio, reps);
    printf("%s M=%zu N=%zu D=%zu K=%g, %d pairs: A %.1f ms, B %.1f ms; B/A median %.3f "
           "(range %.3f-%.3f); results %s\n",
           argv[3], m, n, d, k, reps, 1e3 * ta, 1e3 * tb, rm, ratio[0], ratio[reps - 1],
           same ? "bitwise identical" : "DIFFER");
    return 0;
}
