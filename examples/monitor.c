/* SPDX-License-Identifier: MIT */
/* A machine monitor (docs/guide.md, "Monitoring"): score each new batch of
 * recordings, raise an alarm above a threshold calibrated from the normal
 * references alone, add the recordings an operator confirmed as normal, age out
 * the oldest target references, and recalibrate.
 *
 * The machine ran in a source condition for a long time (many references) and
 * has just moved to a target condition (a few references). Each hour brings 60
 * recordings of the target condition, 10 of the source one and 2 anomalies; the
 * operator confirms 8 of the target recordings as normal. The bank keeps at
 * most 30 target references.
 *
 * Build: cc monitor.c $(pkg-config --cflags --libs asdnorm) -lm -o monitor
 * Run:   ./monitor [seed] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <asdnorm/asdnorm.h>

#define DIM 16
#define N_SRC 400    /* source references at deployment */
#define N_TGT 3      /* target references at deployment */
#define MAX_TGT 30   /* target references kept */
#define HOURS 8
#define PER_HOUR 72  /* 60 target, 10 source, 2 anomalies */
#define CONFIRMED 8  /* target recordings confirmed normal per hour */
#define FPR 0.05     /* the false-alarm rate the operator accepts */

/* On failure, print the library's message and leave through `done`. */
#define CHECK(call) do { st = (call); if (st != ASDNORM_OK) { \
    fprintf(stderr, "%s: %s\n", #call, asdnorm_strerror(st)); goto done; } } while (0)

static double uniform(uint64_t *s) /* xorshift64*, in (0, 1) */
{
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ull) >> 11) * 0x1.0p-53 + 0x1.0p-54;
}

/* A recording's embedding: the condition's direction, its own wobble, and noise.
 * kind 0: source condition, 1: target condition (a different, sparser mode),
 * 2: anomaly (a direction normal recordings never take). */
static void record(uint64_t *s, int kind, float *x)
{
    static const double spread[3] = {0.25, 0.6, 0.4};
    for (int j = 0; j < DIM; j++) {
        double g = sqrt(-2.0 * log(uniform(s))) * cos(6.283185307179586 * uniform(s));
        x[j] = (float)((j == kind ? 3.0 : 0.0) + (kind == 1 && j == 0 ? 1.5 : 0.0) +
                       spread[kind] * g);
    }
}

/* The positions of the oldest target references beyond MAX_TGT. References are
 * appended in time order, so the oldest target rows come first. */
static size_t too_old(const asdnorm_index *ix, size_t *positions)
{
    size_t m = asdnorm_index_size(ix), n_tgt = 0, n = 0;
    uint8_t *dom = malloc(m);
    if (!dom || asdnorm_index_get_domains(ix, dom, m) != ASDNORM_OK) {
        free(dom);
        return 0;
    }
    for (size_t j = 0; j < m; j++)
        n_tgt += dom[j] == ASDNORM_DOMAIN_TARGET;
    for (size_t j = 0; j < m && n_tgt - n > MAX_TGT; j++)
        if (dom[j] == ASDNORM_DOMAIN_TARGET)
            positions[n++] = j;
    free(dom);
    return n;
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) | 1u : 1u;
    static float refs[(N_SRC + N_TGT) * DIM], batch[PER_HOUR * DIM], scores[PER_HOUR];
    static uint8_t domains[N_SRC + N_TGT], confirmed_dom[CONFIRMED];
    static int kind[PER_HOUR];
    static size_t old[PER_HOUR];
    for (int i = 0; i < N_SRC + N_TGT; i++) {
        domains[i] = i < N_SRC ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;
        record(&seed, i < N_SRC ? 0 : 1, refs + i * DIM);
    }
    for (int i = 0; i < CONFIRMED; i++)
        confirmed_dom[i] = ASDNORM_DOMAIN_TARGET;

    asdnorm_index *ix = NULL;
    asdnorm_scorer *sc = NULL;
    asdnorm_status st;
    float threshold;
    CHECK(asdnorm_index_new(DIM, ASDNORM_DISTANCE_COSINE, &ix));
    CHECK(asdnorm_index_add(ix, refs, N_SRC + N_TGT, domains));
    CHECK(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1.0)); /* the paper's default */
    CHECK(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc));
    CHECK(asdnorm_scorer_threshold(sc, FPR, &threshold));

    printf("libasdnorm %s: monitoring at a requested false-alarm rate of %.0f %%\n",
           asdnorm_version(), 100 * FPR);
    printf("hour  references (target)  threshold  false alarms source  target  anomalies found\n");
    for (int hour = 1; hour <= HOURS; hour++) {
        /* This hour's recordings, scored one batch at a time. */
        for (int i = 0; i < PER_HOUR; i++) {
            kind[i] = i < 60 ? 1 : i < 70 ? 0 : 2;
            record(&seed, kind[i], batch + i * DIM);
        }
        CHECK(asdnorm_scorer_score(sc, batch, PER_HOUR, scores, NULL));
        int alarms[3] = {0, 0, 0};
        for (int i = 0; i < PER_HOUR; i++)
            alarms[kind[i]] += scores[i] > threshold;
        const size_t m = asdnorm_index_size(ix);
        printf("%4d  %10zu (%6zu)  %9.3f  %12d/10  %5d/60  %9d/2\n", hour, m,
               m - N_SRC, threshold, alarms[0], alarms[1], alarms[2]);

        /* The operator confirmed the first CONFIRMED target recordings as normal:
         * they join the bank, whose densities are updated, not recomputed. Then the
         * oldest target references beyond MAX_TGT leave it, and the threshold is
         * recalibrated on the new bank. */
        CHECK(asdnorm_index_add(ix, batch, CONFIRMED, confirmed_dom));
        const size_t n_old = too_old(ix, old);
        CHECK(asdnorm_index_remove(ix, old, n_old));
        CHECK(asdnorm_scorer_threshold(sc, FPR, &threshold));
    }
done:
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    return st == ASDNORM_OK ? 0 : 1;
}
