/* SPDX-License-Identifier: MIT */
/* Incremental updates against a full finalize (docs/performance.md, "Incremental
 * add and remove"): a finalized M × D index (default 20,000 × 64, cosine, the
 * benchmarks' Gaussian mixture) takes 100 new references, then loses 1 % of its
 * references at random positions. Each repetition times, back to back, a full
 * finalize of the index and the two updates; printed are the medians of the
 * per-repetition ratios update / finalize, for k-NN K = 1, K = 16 and GWRP
 * r = 0.9. The target: ≤ 0.1 each. Never a test: timings depend on the
 * machine; the ratios are measured in one run.
 *   asdnorm-bench-incr [M] [D] [reps] */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asdnorm/asdnorm.h>

#include "common.h"

static void check(asdnorm_status st, const char *what)
{
    if (st != ASDNORM_OK) {
        fprintf(stderr, "%s: %s\n", what, asdnorm_strerror(st));
        exit(1);
    }
}

static void print_ratio(const char *what, double *r, int n, double full)
{
    double med = median(r, n); /* sorts r */
    printf("   %-34s median %6.4f  (range %6.4f – %6.4f; finalize %.0f ms)  target ≤ 0.1\n",
           what, med, r[0], r[n - 1], 1e3 * full);
}

int main(int argc, char **argv)
{
    const size_t m = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    const size_t d = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
    const int reps = argc > 3 ? atoi(argv[3]) : 3;
    enum { ADD = 100 };
    const size_t nrm = m / 100;
    float *Y = make_data(m + ADD, d, 7);
    size_t *gone = xmalloc(nrm * sizeof *gone);
    const struct {
        asdnorm_density est;
        double param;
        const char *name;
    } ests[] = {{ASDNORM_DENSITY_KNN, 1, "k-NN K = 1"},
                {ASDNORM_DENSITY_KNN, 16, "k-NN K = 16"},
                {ASDNORM_DENSITY_GWRP, 0.9, "GWRP r = 0.9"}};
    printf("== incremental updates: M = %zu, D = %zu, cosine; add %d, remove %zu (1 %%); "
           "%d repetitions ==\n", m, d, (int)ADD, nrm, reps);
    for (size_t e = 0; e < sizeof ests / sizeof *ests; e++) {
        double *ra = xmalloc((size_t)reps * sizeof *ra), *rr = xmalloc((size_t)reps * sizeof *rr);
        double full = 0;
        printf("%s\n", ests[e].name);
        for (int rep = 0; rep < reps; rep++) {
            asdnorm_index *ix;
            check(asdnorm_index_new(d, ASDNORM_DISTANCE_COSINE, &ix), "index_new");
            check(asdnorm_index_add(ix, Y, m, NULL), "index_add");
            double t0 = now();
            check(asdnorm_index_finalize(ix, ests[e].est, ests[e].param), "finalize");
            double t1 = now();
            check(asdnorm_index_add(ix, Y + m * d, ADD, NULL), "add to a finalized index");
            double t2 = now();
            /* 1 % of the positions, distinct, in random order. */
            rng_state = 1000 + (uint64_t)rep;
            unsigned char *taken = calloc(m + ADD, 1);
            for (size_t t = 0; t < nrm; t++) {
                size_t p;
                do
                    p = (size_t)(urand() * (double)(m + ADD)) % (m + ADD);
                while (taken[p]);
                taken[p] = 1;
                gone[t] = p;
            }
            free(taken);
            double t3 = now();
            check(asdnorm_index_remove(ix, gone, nrm), "remove");
            double t4 = now();
            if (!asdnorm_index_is_finalized(ix)) {
                fprintf(stderr, "the index is no longer finalized\n");
                return 1;
            }
            ra[rep] = (t2 - t1) / (t1 - t0);
            rr[rep] = (t4 - t3) / (t1 - t0);
            full += (t1 - t0) / reps;
            asdnorm_index_free(ix);
        }
        print_ratio("add 100 / finalize", ra, reps, full);
        print_ratio("remove 1 % / finalize", rr, reps, full);
        free(ra);
        free(rr);
    }
    free(Y);
    free(gone);
    return 0;
}
