/* SPDX-License-Identifier: MIT */
/* Incremental add and remove on a finalized index (docs/math.md §2.6): after
 * every update the densities, the reported estimator and the scores must be
 * bitwise those of an index of the same rows finalized from scratch, and
 * within double rounding of the brute force of testutil.h. */
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define D 8

enum data { RANDOM, CLUSTERED, DUPLICATED };

/* m rows of a kind of data: random normals; four tight clusters; 6 distinct
 * rows each repeated (so copies: K below, at and above the number of copies). */
static float *make_rows(enum data kind, size_t m, uint64_t *seed)
{
    float *x = tu_gauss(seed, m, D, 0.0, 1.0);
    if (kind == CLUSTERED)
        for (size_t i = 0; i < m; i++)
            for (size_t k = 0; k < D; k++)
                x[i * D + k] = (float)((double)(i % 4 == k % 4) * 3.0 + 1e-3 * x[i * D + k]);
    if (kind == DUPLICATED)
        for (size_t i = 6; i < m; i++)
            memcpy(x + i * D, x + (i % 6) * D, D * sizeof *x);
    return x;
}

struct est {
    asdnorm_density density;
    double param;
};

static const struct est ESTIMATORS[] = {
    {ASDNORM_DENSITY_KNN, 1},   {ASDNORM_DENSITY_KNN, 3},    {ASDNORM_DENSITY_KNN, 7},
    {ASDNORM_DENSITY_KNN, 500}, {ASDNORM_DENSITY_GWRP, 0},   {ASDNORM_DENSITY_GWRP, 0.5},
    {ASDNORM_DENSITY_GWRP, 0.9}, {ASDNORM_DENSITY_GWRP, 1},  {ASDNORM_DENSITY_NONE, 0},
};
static const asdnorm_distance DISTANCES[] = {ASDNORM_DISTANCE_COSINE, ASDNORM_DISTANCE_EUCLIDEAN,
                                             ASDNORM_DISTANCE_MSE};

static asdnorm_index *build(asdnorm_distance dist, const float *x, size_t m, struct est e)
{
    asdnorm_index *ix;
    assert_int_equal(asdnorm_index_new(D, dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, x, m, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, e.density, e.param), ASDNORM_OK);
    return ix;
}

/* ix (updated) against a finalize from scratch of its m rows x: densities and
 * estimator bitwise, ratio scores and nearest references bitwise, and the
 * densities within rounding of the brute force. */
static void expect_scratch(const asdnorm_index *ix, asdnorm_distance dist, const float *x, size_t m,
                           struct est e, uint64_t *seed)
{
    assert_true(asdnorm_index_is_finalized(ix));
    assert_int_equal(asdnorm_index_size(ix), m);
    asdnorm_index *ref = build(dist, x, m, e);
    double *a = malloc(m * sizeof *a), *b = malloc(m * sizeof *b), *bf = malloc(m * sizeof *bf);
    assert_int_equal(asdnorm_index_get_density(ix, a, m), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_density(ref, b, m), ASDNORM_OK);
    tu_density(dist, x, m, D, e.density, e.param, bf);
    for (size_t j = 0; j < m; j++) {
        if (memcmp(&a[j], &b[j], sizeof a[j]) != 0)
            fail_msg("row %zu of %zu: incremental %.17g, from scratch %.17g", j, m, a[j], b[j]);
        assert_true(fabs(a[j] - bf[j]) <= 1e-9 * fmax(bf[j], 1e-3));
    }
    asdnorm_density de, dr;
    double pe, pr;
    assert_int_equal(asdnorm_index_get_estimator(ix, &de, &pe), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_estimator(ref, &dr, &pr), ASDNORM_OK);
    assert_int_equal(de, dr);
    assert_true(pe == pr);

    /* Scores: the same floor and densities give the same scores. */
    enum { NQ = 5 };
    float *q = tu_gauss(seed, NQ, D, 0.0, 1.0);
    memcpy(q, x, D * sizeof *q); /* one query on a reference */
    float sa[NQ], sb[NQ];
    size_t na[NQ], nb[NQ];
    asdnorm_scorer *sca, *scb;
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sca), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(ref, ASDNORM_NORM_RATIO, &scb), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sca, q, NQ, sa, na), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(scb, q, NQ, sb, nb), ASDNORM_OK);
    assert_memory_equal(sa, sb, sizeof sa);
    assert_memory_equal(na, nb, sizeof na);
    asdnorm_scorer_free(sca);
    asdnorm_scorer_free(scb);
    asdnorm_index_free(ref);
    free(q);
    free(a);
    free(b);
    free(bf);
}

/* Add in batches of 1, 5 and 24 rows (the last with copies of old rows) to a
 * finalized index of 30, for every data kind, distance and estimator. */
static void add_matches_scratch(void **state)
{
    (void)state;
    uint64_t seed = 13;
    const size_t m0 = 30, batches[] = {1, 5, 24};
    for (int kind = RANDOM; kind <= DUPLICATED; kind++)
        for (size_t di = 0; di < 3; di++)
            for (size_t ei = 0; ei < sizeof ESTIMATORS / sizeof *ESTIMATORS; ei++) {
                const struct est e = ESTIMATORS[ei];
                float *x = make_rows((enum data)kind, m0 + 30, &seed);
                /* the last batch repeats old rows */
                memcpy(x + (m0 + 6) * D, x + 3 * D, 4 * D * sizeof *x);
                asdnorm_index *ix = build(DISTANCES[di], x, m0, e);
                size_t m = m0;
                for (size_t b = 0; b < 3; b++) {
                    assert_int_equal(asdnorm_index_add(ix, x + m * D, batches[b], NULL),
                                     ASDNORM_OK);
                    m += batches[b];
                    expect_scratch(ix, DISTANCES[di], x, m, e, &seed);
                }
                asdnorm_index_free(ix);
                free(x);
            }
}

/* K clipped to M − 1 at finalize grows back as references are added. */
static void add_grows_clipped_k(void **state)
{
    (void)state;
    uint64_t seed = 5;
    float *x = make_rows(RANDOM, 12, &seed);
    const struct est e = {ASDNORM_DENSITY_KNN, 6};
    asdnorm_index *ix = build(ASDNORM_DISTANCE_EUCLIDEAN, x, 3, e);
    asdnorm_density d;
    double k;
    assert_int_equal(asdnorm_index_get_estimator(ix, &d, &k), ASDNORM_OK);
    assert_true(k == 2.0);
    for (size_t m = 3; m < 12; m++) {
        assert_int_equal(asdnorm_index_add(ix, x + m * D, 1, NULL), ASDNORM_OK);
        assert_int_equal(asdnorm_index_get_estimator(ix, &d, &k), ASDNORM_OK);
        assert_true(k == (m < 6 ? (double)m : 6.0));
        expect_scratch(ix, ASDNORM_DISTANCE_EUCLIDEAN, x, m + 1, e, &seed);
    }
    /* …and shrinks again on removal. */
    const size_t first[] = {0, 11, 5, 6, 7, 8, 9};
    assert_int_equal(asdnorm_index_remove(ix, first, 7), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_estimator(ix, &d, &k), ASDNORM_OK);
    assert_true(k == 4.0);
    float rest[5 * D];
    const size_t keep[] = {1, 2, 3, 4, 10};
    for (size_t t = 0; t < 5; t++)
        memcpy(rest + t * D, x + keep[t] * D, D * sizeof *rest);
    expect_scratch(ix, ASDNORM_DISTANCE_EUCLIDEAN, rest, 5, e, &seed);
    asdnorm_index_free(ix);
    free(x);
}

/* x without the rows named in pos (n of them), in order, into out; returns its size. */
static size_t without(const float *x, size_t m, const size_t *pos, size_t n, float *out)
{
    size_t w = 0;
    for (size_t j = 0; j < m; j++) {
        bool gone = false;
        for (size_t t = 0; t < n; t++)
            gone |= pos[t] == j;
        if (!gone)
            memcpy(out + w++ * D, x + j * D, D * sizeof *out);
    }
    return w;
}

/* The position of the reference that is the nearest of most others (K = 1). */
static size_t popular(asdnorm_distance dist, const float *x, size_t m)
{
    size_t *hits = calloc(m, sizeof *hits), best = 0;
    for (size_t j = 0; j < m; j++) {
        size_t arg = j == 0 ? 1 : 0;
        for (size_t i = 0; i < m; i++)
            if (i != j && tu_distance(dist, x + j * D, x + i * D, D) <
                              tu_distance(dist, x + j * D, x + arg * D, D))
                arg = i;
        hits[arg]++;
    }
    for (size_t j = 1; j < m; j++)
        best = hits[j] > hits[best] ? j : best;
    free(hits);
    return best;
}

/* Removals, one after another on one index: the first row, the last, a copy,
 * the row that was most others' nearest, then a batch in any order. */
static void remove_matches_scratch(void **state)
{
    (void)state;
    uint64_t seed = 29;
    const size_t m0 = 40;
    for (int kind = RANDOM; kind <= DUPLICATED; kind++)
        for (size_t di = 0; di < 3; di++)
            for (size_t ei = 0; ei < sizeof ESTIMATORS / sizeof *ESTIMATORS; ei++) {
                const struct est e = ESTIMATORS[ei];
                float *x = make_rows((enum data)kind, m0, &seed);
                float *y = malloc(m0 * D * sizeof *y);
                asdnorm_index *ix = build(DISTANCES[di], x, m0, e);
                size_t m = m0;
                for (int step = 0; step < 5; step++) {
                    size_t pos[6], n = 1;
                    switch (step) {
                    case 0: pos[0] = 0; break;
                    case 1: pos[0] = m - 1; break;
                    case 2: pos[0] = 7; break; /* under DUPLICATED, a copy of row 1 */
                    case 3: pos[0] = popular(DISTANCES[di], x, m); break;
                    default:
                        n = 6;
                        memcpy(pos, (size_t[]){20, 3, 11, 4, 30, 2}, sizeof pos);
                    }
                    assert_int_equal(asdnorm_index_remove(ix, pos, n), ASDNORM_OK);
                    m = without(x, m, pos, n, y);
                    memcpy(x, y, m * D * sizeof *x);
                    expect_scratch(ix, DISTANCES[di], x, m, e, &seed);
                }
                /* Then add again: the lists kept through removals serve the add. */
                float *z = make_rows((enum data)kind, 3, &seed);
                memcpy(x + m * D, z, 3 * D * sizeof *x);
                assert_int_equal(asdnorm_index_add(ix, z, 3, NULL), ASDNORM_OK);
                expect_scratch(ix, DISTANCES[di], x, m + 3, e, &seed);
                free(z);
                asdnorm_index_free(ix);
                free(x);
                free(y);
            }
}

/* GWRP with more references than the L ranks it visits (r = 0.9: L = 297), so
 * the tail weight, which depends on M, changes on every update. */
static void gwrp_tail(void **state)
{
    (void)state;
    uint64_t seed = 41;
    const size_t m0 = 320;
    float *x = make_rows(RANDOM, m0 + 10, &seed);
    const struct est e = {ASDNORM_DENSITY_GWRP, 0.9};
    asdnorm_index *ix = build(ASDNORM_DISTANCE_COSINE, x, m0, e);
    assert_int_equal(asdnorm_index_add(ix, x + m0 * D, 10, NULL), ASDNORM_OK);
    expect_scratch(ix, ASDNORM_DISTANCE_COSINE, x, m0 + 10, e, &seed);
    const size_t pos[] = {5, 100, 200, 329};
    float *y = malloc((m0 + 10) * D * sizeof *y);
    size_t m = without(x, m0 + 10, pos, 4, y);
    assert_int_equal(asdnorm_index_remove(ix, pos, 4), ASDNORM_OK);
    expect_scratch(ix, ASDNORM_DISTANCE_COSINE, y, m, e, &seed);
    asdnorm_index_free(ix);
    free(x);
    free(y);
}

/* Bad positions: ASDNORM_E_ARG (or E_NULL, E_TOO_FEW), and the index as it was. */
static void remove_refuses(void **state)
{
    (void)state;
    uint64_t seed = 3;
    float *x = make_rows(RANDOM, 10, &seed);
    asdnorm_index *ix = build(ASDNORM_DISTANCE_MSE, x, 10, (struct est){ASDNORM_DENSITY_KNN, 2});
    double before[10], after[10];
    assert_int_equal(asdnorm_index_get_density(ix, before, 10), ASDNORM_OK);
    const size_t out_of_range[] = {1, 10}, repeated[] = {4, 2, 4}, max[] = {SIZE_MAX};
    size_t all[10];
    for (size_t j = 0; j < 10; j++)
        all[j] = j;
    assert_int_equal(asdnorm_index_remove(NULL, all, 1), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_remove(ix, NULL, 1), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_remove(ix, out_of_range, 2), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_index_remove(ix, repeated, 3), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_index_remove(ix, max, 1), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_index_remove(ix, all, 11), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_index_remove(ix, all, 9), ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_index_remove(ix, all, 10), ASDNORM_E_TOO_FEW);
    assert_int_equal(asdnorm_index_remove(ix, NULL, 0), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(ix), 10);
    assert_true(asdnorm_index_is_finalized(ix));
    assert_int_equal(asdnorm_index_get_density(ix, after, 10), ASDNORM_OK);
    assert_memory_equal(before, after, sizeof before);
    float v[10 * D];
    assert_int_equal(asdnorm_index_get_vectors(ix, 0, 10, v), ASDNORM_OK);
    assert_memory_equal(v, x, sizeof v);
    /* Removing 8 of 10 leaves 2: allowed. */
    assert_int_equal(asdnorm_index_remove(ix, all + 1, 8), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(ix), 2);
    assert_true(asdnorm_index_is_finalized(ix));
    asdnorm_index_free(ix);

    /* An index that is not finalized just loses rows, down to none. */
    asdnorm_index *raw;
    assert_int_equal(asdnorm_index_new(D, ASDNORM_DISTANCE_COSINE, &raw), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(raw, x, 10, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_remove(raw, (size_t[]){9, 0}, 2), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(raw), 8);
    float got[8 * D], want[8 * D];
    assert_int_equal(asdnorm_index_get_vectors(raw, 0, 8, got), ASDNORM_OK);
    for (size_t t = 0; t < 8 * D; t++) {
        const float *row = x + (t / D + 1) * D;
        double nrm = 0;
        for (size_t k = 0; k < D; k++)
            nrm += (double)row[k] * row[k];
        want[t] = (float)(row[t % D] / sqrt(nrm));
        assert_true(fabsf(got[t] - want[t]) <= 1e-6f);
    }
    assert_int_equal(asdnorm_index_remove(raw, all, 8), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(raw), 0);
    assert_false(asdnorm_index_is_finalized(raw));
    asdnorm_index_free(raw);
    free(x);
}

/* Densities given by set_density cannot be updated: add and remove
 * un-finalize, as add did in 0.1. NONE stays finalized (nothing to update). */
static void given_densities_unfinalize(void **state)
{
    (void)state;
    uint64_t seed = 8;
    float *x = make_rows(RANDOM, 12, &seed);
    asdnorm_index *ix;
    assert_int_equal(asdnorm_index_new(D, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, x, 10, NULL), ASDNORM_OK);
    double vals[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_int_equal(asdnorm_index_set_density(ix, ASDNORM_DENSITY_KNN, 1, vals, 10), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, x + 10 * D, 1, NULL), ASDNORM_OK);
    assert_false(asdnorm_index_is_finalized(ix));
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, x + 11 * D, 1, NULL), ASDNORM_OK);
    assert_true(asdnorm_index_is_finalized(ix));
    double *v = calloc(11, sizeof *v);
    assert_int_equal(asdnorm_index_set_density(ix, ASDNORM_DENSITY_KNN, 1, vals, 10),
                     ASDNORM_E_DIM);
    free(v);
    double v12[12] = {0};
    assert_int_equal(asdnorm_index_set_density(ix, ASDNORM_DENSITY_KNN, 1, v12, 12), ASDNORM_OK);
    assert_int_equal(asdnorm_index_remove(ix, (size_t[]){0}, 1), ASDNORM_OK);
    assert_false(asdnorm_index_is_finalized(ix));
    asdnorm_index_free(ix);
    free(x);
}

/* A scorer made before a removal skips exact copies by a cache of their
 * positions: after the removal it must score as a new scorer does. */
static void scorer_survives_removal(void **state)
{
    (void)state;
    uint64_t seed = 17;
    float *x = make_rows(DUPLICATED, 24, &seed);
    asdnorm_index *ix = build(ASDNORM_DISTANCE_EUCLIDEAN, x, 24,
                              (struct est){ASDNORM_DENSITY_KNN, 1});
    asdnorm_scorer *old, *fresh;
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_NONE, &old), ASDNORM_OK);
    assert_int_equal(asdnorm_index_remove(ix, (size_t[]){0, 1, 2}, 3), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_NONE, &fresh), ASDNORM_OK);
    float s1[6], s2[6];
    size_t n1[6], n2[6];
    assert_int_equal(asdnorm_scorer_score(old, x, 6, s1, n1), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(fresh, x, 6, s2, n2), ASDNORM_OK);
    assert_memory_equal(s1, s2, sizeof s1);
    assert_memory_equal(n1, n2, sizeof n1);
    /* rows 0–2 are gone: their copies at 6, 7, 8 are now at 3, 4, 5 */
    assert_int_equal(n1[0], 3);
    assert_int_equal(n1[3], 0);
    asdnorm_scorer_free(old);
    asdnorm_scorer_free(fresh);
    asdnorm_index_free(ix);
    free(x);
}

/* A clone carries the neighbour lists: adding to and removing from it gives the
 * index finalized from scratch, and the original is left as it was. */
static void clone_updates_exactly(void **state)
{
    (void)state;
    uint64_t seed = 23;
    float *x = make_rows(CLUSTERED, 40, &seed);
    const struct est e = {ASDNORM_DENSITY_KNN, 4};
    asdnorm_index *ix = build(ASDNORM_DISTANCE_MSE, x, 30, e), *c = NULL;
    assert_int_equal(asdnorm_index_clone(ix, &c), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(c, x + 30 * D, 10, NULL), ASDNORM_OK);
    expect_scratch(c, ASDNORM_DISTANCE_MSE, x, 40, e, &seed);
    expect_scratch(ix, ASDNORM_DISTANCE_MSE, x, 30, e, &seed);
    const size_t gone[] = {0, 39};
    float *y = malloc(40 * D * sizeof *y);
    size_t m = without(x, 40, gone, 2, y);
    assert_int_equal(asdnorm_index_remove(c, gone, 2), ASDNORM_OK);
    expect_scratch(c, ASDNORM_DISTANCE_MSE, y, m, e, &seed);
    asdnorm_index_free(c);
    asdnorm_index_free(ix);
    free(x);
    free(y);
}

static int cancel_at_once(double fraction, void *user)
{
    (void)fraction;
    ++*(int *)user;
    return 1;
}

/* A progress callback that cancels: add and remove on a finalized index return
 * ASDNORM_E_CANCELED and change nothing (the rows, the densities). */
static void cancel_changes_nothing(void **state)
{
    (void)state;
    uint64_t seed = 31;
    float *x = make_rows(RANDOM, 24, &seed);
    asdnorm_index *ix = build(ASDNORM_DISTANCE_EUCLIDEAN, x, 20,
                              (struct est){ASDNORM_DENSITY_KNN, 2});
    double before[20], after[20];
    assert_int_equal(asdnorm_index_get_density(ix, before, 20), ASDNORM_OK);
    int calls = 0;
    assert_int_equal(asdnorm_index_set_progress(ix, cancel_at_once, &calls), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, x + 20 * D, 4, NULL), ASDNORM_E_CANCELED);
    assert_int_equal(asdnorm_index_remove(ix, (size_t[]){3, 5}, 2), ASDNORM_E_CANCELED);
    assert_int_equal(calls, 2);
    assert_int_equal(asdnorm_index_size(ix), 20);
    assert_true(asdnorm_index_is_finalized(ix));
    assert_int_equal(asdnorm_index_get_density(ix, after, 20), ASDNORM_OK);
    assert_memory_equal(before, after, sizeof before);
    assert_int_equal(asdnorm_index_set_progress(ix, NULL, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, x + 20 * D, 4, NULL), ASDNORM_OK);
    expect_scratch(ix, ASDNORM_DISTANCE_EUCLIDEAN, x, 24, (struct est){ASDNORM_DENSITY_KNN, 2},
                   &seed);
    asdnorm_index_free(ix);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_matches_scratch),
        cmocka_unit_test(add_grows_clipped_k),
        cmocka_unit_test(remove_matches_scratch),
        cmocka_unit_test(gwrp_tail),
        cmocka_unit_test(remove_refuses),
        cmocka_unit_test(given_densities_unfinalize),
        cmocka_unit_test(scorer_survives_removal),
        cmocka_unit_test(clone_updates_exactly),
        cmocka_unit_test(cancel_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
