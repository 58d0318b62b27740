/* SPDX-License-Identifier: MIT */
/* Concurrency: 8 threads share one finalized index, each with its own scorer
 * (and its own LOF model), scoring a batch they all share and batches of their
 * own, repeatedly; every result must be bit-identical (memcmp) to a
 * single-threaded run. .ci/tsan.sh runs this test under ThreadSanitizer.
 * Worker threads never call cmocka (its assertions longjmp): they count
 * mismatches and the main thread asserts. */
#define _POSIX_C_SOURCE 200809L /* pthread barriers under -std=c11 */

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define THREADS 8
#define REPEATS 3
#define DIM 24
#define M 300
#define NSHARED 64
#define NOWN(t) (29 + 5 * (size_t)(t)) /* distinct sizes, distinct rows */

typedef struct {
    asdnorm_distance dist;
    asdnorm_density est;
    double param;
    asdnorm_norm norm;
} config;

static const config k_configs[] = {
    {ASDNORM_DISTANCE_COSINE, ASDNORM_DENSITY_KNN, 5, ASDNORM_NORM_RATIO},
    {ASDNORM_DISTANCE_COSINE, ASDNORM_DENSITY_GWRP, 0.7, ASDNORM_NORM_DIFFERENCE},
    {ASDNORM_DISTANCE_EUCLIDEAN, ASDNORM_DENSITY_KNN, 5, ASDNORM_NORM_RATIO},
    {ASDNORM_DISTANCE_EUCLIDEAN, ASDNORM_DENSITY_GWRP, 0.7, ASDNORM_NORM_DIFFERENCE},
    {ASDNORM_DISTANCE_MSE, ASDNORM_DENSITY_KNN, 5, ASDNORM_NORM_RATIO},
    {ASDNORM_DISTANCE_MSE, ASDNORM_DENSITY_NONE, 0, ASDNORM_NORM_NONE},
};

/* What every thread reads, and the single-threaded answers. */
typedef struct {
    const config *cfg;
    const asdnorm_index *ix;
    const float *shared; /* NSHARED × DIM */
    const float *own[THREADS];
    float *ref_shared;
    size_t *ref_shared_nn;
    float *ref_own[THREADS];
    size_t *ref_own_nn[THREADS];
    float *ref_lof;      /* LOF scores of the shared batch */
    float *ref_std;      /* standardized scores of the shared batch */
    double *ref_density;
    pthread_barrier_t start;
} world;

typedef struct {
    world *w;
    int id;
    asdnorm_status status; /* first failure */
    size_t mismatches;
    size_t compared; /* samples compared with the single-threaded run */
} worker;

static void note_status(worker *me, asdnorm_status st)
{
    if (st != ASDNORM_OK && me->status == ASDNORM_OK)
        me->status = st;
}

static void compare(worker *me, const void *got, const void *want, size_t bytes, size_t samples)
{
    if (memcmp(got, want, bytes) != 0)
        me->mismatches++;
    me->compared += samples;
}

static void *work(void *p)
{
    worker *me = p;
    world *w = me->w;
    size_t nmax = NOWN(THREADS - 1) > NSHARED ? NOWN(THREADS - 1) : NSHARED;
    float *scores = malloc(nmax * sizeof *scores);
    size_t *nearest = malloc(nmax * sizeof *nearest);
    asdnorm_scorer *sc = NULL;
    asdnorm_lof *lof = NULL;

    /* Construction also runs concurrently on the shared index. */
    note_status(me, asdnorm_scorer_new(w->ix, w->cfg->norm, &sc));
    note_status(me, asdnorm_lof_new(w->ix, 7, &lof));
    pthread_barrier_wait(&w->start);
    if (me->status != ASDNORM_OK)
        goto out;

    for (int r = 0; r < REPEATS; r++) {
        /* The batch everyone scores. */
        note_status(me, asdnorm_scorer_score(sc, w->shared, NSHARED, scores, nearest));
        compare(me, scores, w->ref_shared, NSHARED * sizeof *scores, NSHARED);
        compare(me, nearest, w->ref_shared_nn, NSHARED * sizeof *nearest, 0);

        /* Its own batch, then a neighbour's (other threads score it meanwhile). */
        for (int k = 0; k < 2; k++) {
            int b = (me->id + k * (r + 1)) % THREADS;
            note_status(me, asdnorm_scorer_score(sc, w->own[b], NOWN(b), scores,
                                                 k ? NULL : nearest));
            compare(me, scores, w->ref_own[b], NOWN(b) * sizeof *scores, NOWN(b));
            if (!k)
                compare(me, nearest, w->ref_own_nn[b], NOWN(b) * sizeof *nearest, 0);
        }

        /* Other readers of the shared index, once each (they are slower, and
         * run under valgrind too): LOF, standardization, the getters. */
        if (r == me->id % REPEATS) {
            note_status(me, asdnorm_lof_score(lof, w->shared, NSHARED, scores));
            compare(me, scores, w->ref_lof, NSHARED * sizeof *scores, NSHARED);
            note_status(me, asdnorm_standardized_scores(w->ix, w->cfg->norm, w->shared, NSHARED,
                                                        scores));
            compare(me, scores, w->ref_std, NSHARED * sizeof *scores, NSHARED);
        }
        double density[M];
        note_status(me, asdnorm_index_get_density(w->ix, density, M));
        compare(me, density, w->ref_density, sizeof density, 0);
        if (me->status != ASDNORM_OK)
            break;
    }
out:
    asdnorm_lof_free(lof);
    asdnorm_scorer_free(sc);
    free(scores);
    free(nearest);
    return NULL;
}

static size_t g_compared;

static void run_config(const config *cfg, uint64_t seed)
{
    uint64_t s = seed;
    world w = {.cfg = cfg};
    float *refs = tu_gauss(&s, M, DIM, 0.2, 1.0);
    uint8_t doms[M];
    for (size_t i = 0; i < M; i++)
        doms[i] = (uint8_t)(i % 4 == 0 ? ASDNORM_DOMAIN_TARGET : ASDNORM_DOMAIN_SOURCE);
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, cfg->dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, refs, M, doms), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, cfg->est, cfg->param), ASDNORM_OK);
    w.ix = ix;

    float *shared = tu_gauss(&s, NSHARED, DIM, 0.1, 1.2);
    w.shared = shared;
    float *own[THREADS];
    for (int t = 0; t < THREADS; t++)
        w.own[t] = own[t] = tu_gauss(&s, NOWN(t), DIM, 0.3 * t / THREADS, 1.0);

    /* The single-threaded answers, one scorer for everything. */
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_scorer_new(ix, cfg->norm, &sc), ASDNORM_OK);
    w.ref_shared = malloc(NSHARED * sizeof(float));
    w.ref_shared_nn = malloc(NSHARED * sizeof(size_t));
    assert_int_equal(asdnorm_scorer_score(sc, shared, NSHARED, w.ref_shared, w.ref_shared_nn),
                     ASDNORM_OK);
    for (int t = 0; t < THREADS; t++) {
        w.ref_own[t] = malloc(NOWN(t) * sizeof(float));
        w.ref_own_nn[t] = malloc(NOWN(t) * sizeof(size_t));
        assert_int_equal(asdnorm_scorer_score(sc, own[t], NOWN(t), w.ref_own[t], w.ref_own_nn[t]),
                         ASDNORM_OK);
    }
    asdnorm_scorer_free(sc);
    asdnorm_lof *lof = NULL;
    w.ref_lof = malloc(NSHARED * sizeof(float));
    assert_int_equal(asdnorm_lof_new(ix, 7, &lof), ASDNORM_OK);
    assert_int_equal(asdnorm_lof_score(lof, shared, NSHARED, w.ref_lof), ASDNORM_OK);
    asdnorm_lof_free(lof);
    w.ref_std = malloc(NSHARED * sizeof(float));
    assert_int_equal(asdnorm_standardized_scores(ix, cfg->norm, shared, NSHARED, w.ref_std),
                     ASDNORM_OK);
    w.ref_density = malloc(M * sizeof(double));
    assert_int_equal(asdnorm_index_get_density(ix, w.ref_density, M), ASDNORM_OK);

    /* The reference run itself agrees with the brute force of docs/math.md. */
    double *bd = malloc(M * sizeof *bd), *bs = malloc(NSHARED * sizeof *bs);
    tu_density(cfg->dist, refs, M, DIM, cfg->est, cfg->param, bd);
    tu_scores(cfg->dist, refs, M, DIM, bd, cfg->est, cfg->norm, shared, NSHARED, bs, NULL);
    for (size_t i = 0; i < NSHARED; i++)
        if (!tu_close(w.ref_shared[i], bs[i], 1e-5, 1e-6))
            fail_msg("distance %d: single-threaded score %zu = %.9g, brute force %.9g",
                     (int)cfg->dist, i, (double)w.ref_shared[i], bs[i]);
    free(bd);
    free(bs);

    /* Now all at once. */
    pthread_t tid[THREADS];
    worker wk[THREADS];
    assert_int_equal(pthread_barrier_init(&w.start, NULL, THREADS), 0);
    for (int t = 0; t < THREADS; t++) {
        wk[t] = (worker){.w = &w, .id = t};
        assert_int_equal(pthread_create(&tid[t], NULL, work, &wk[t]), 0);
    }
    size_t compared = 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(tid[t], NULL), 0);
        if (wk[t].status != ASDNORM_OK)
            fail_msg("distance %d, thread %d: status %d (%s)", (int)cfg->dist, t,
                     (int)wk[t].status, asdnorm_strerror(wk[t].status));
        if (wk[t].mismatches)
            fail_msg("distance %d, thread %d: %zu results differ from the single-threaded run",
                     (int)cfg->dist, t, wk[t].mismatches);
        compared += wk[t].compared;
    }
    pthread_barrier_destroy(&w.start);
    print_message("  distance %d, density %d, norm %d: %d threads, %zu samples compared, "
                  "all bit-identical\n",
                  (int)cfg->dist, (int)cfg->est, (int)cfg->norm, THREADS, compared);
    g_compared += compared;

    free(w.ref_shared);
    free(w.ref_shared_nn);
    for (int t = 0; t < THREADS; t++) {
        free(w.ref_own[t]);
        free(w.ref_own_nn[t]);
        free(own[t]);
    }
    free(w.ref_lof);
    free(w.ref_std);
    free(w.ref_density);
    free(shared);
    free(refs);
    asdnorm_index_free(ix);
}

static void test_shared_index(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_configs / sizeof k_configs[0]; i++)
        run_config(&k_configs[i], 0x7417ea5ull + i);
    print_message("threads: %d threads x %zu samples compared (%zu in all), "
                  "bit-identical to one thread\n",
                  THREADS, g_compared / THREADS, g_compared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
