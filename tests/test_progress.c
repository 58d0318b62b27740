/* SPDX-License-Identifier: MIT */
/* Progress and cancellation (asdnorm_index_set_progress, asdnorm_scorer_set_progress).
 *
 * A callback that cancels at its n-th call, for n = 1, 2, … until the call completes
 * (every n on the small data; on the data large enough for two threads, every n up to
 * 12, then every STRIDE-th and the last ones): each canceled call returns
 * ASDNORM_E_CANCELED after exactly n calls, and leaves the index as it was (finalized
 * flag, estimator, density constants bitwise); the completed call reports 0 first,
 * never decreasing fractions in [0, 1], and 1 last and only last, and gives the density
 * constants (scores) of a call without a callback, bitwise. Every path: the symmetric
 * and the blocked finalize, every estimator and distance, from an open and from a
 * finalized index, scoring in one group and in several, 1 and 2 threads. The test
 * build reports at every unit (asdnorm__progress_interval_ns = 0), so every callback
 * point the code has is reached; that nothing leaks is proven by .ci/sanitize.sh and
 * .ci/valgrind.sh, which run this test. */
#define ASDNORM_TESTING 1 /* asdnorm__progress_interval_ns */

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "progress.h"
#include "testutil.h"

#define STRIDE 127

/* The callback's record of one call. */
typedef struct {
    size_t calls;
    size_t cancel_at; /* cancel at this call (1-based); 0: never */
    double last;      /* the last fraction */
    int bad;          /* a fraction outside [0, 1], decreasing, or 1 before the end */
    int after_one;    /* calls after a 1 */
    int other_thread; /* calls on another thread than the test's */
} record;

static pthread_t g_main; /* the test's thread, which makes every call */

static int on_progress(double fraction, void *user)
{
    record *r = user;
    if (!pthread_equal(pthread_self(), g_main))
        r->other_thread = 1;
    if (r->calls > 0 && r->last == 1.0)
        r->after_one = 1;
    if (!(fraction >= 0.0 && fraction <= 1.0) || (r->calls > 0 && fraction < r->last) ||
        (r->calls == 0 && fraction != 0.0))
        r->bad = 1;
    r->last = fraction;
    r->calls++;
    return r->calls == r->cancel_at;
}

/* The next cancel point to try after n. */
static size_t next_point(size_t n, int every)
{
    return every || n < 12 ? n + 1 : n + STRIDE;
}

/* ------------------------------------------------------------------------ */
/* Finalize. */

typedef struct {
    int finalized;
    asdnorm_density est;
    double param;
    double *density;
} ix_state;

static void state_take(const asdnorm_index *ix, ix_state *s)
{
    const size_t m = asdnorm_index_size(ix);
    s->finalized = asdnorm_index_is_finalized(ix);
    s->density = calloc(m, sizeof *s->density);
    if (s->finalized) {
        assert_int_equal(asdnorm_index_get_estimator(ix, &s->est, &s->param), ASDNORM_OK);
        assert_int_equal(asdnorm_index_get_density(ix, s->density, m), ASDNORM_OK);
    }
}

static void state_assert_same(const asdnorm_index *ix, const ix_state *a, const char *what,
                              size_t n)
{
    ix_state b;
    state_take(ix, &b);
    if (a->finalized != b.finalized || (a->finalized && (a->est != b.est || a->param != b.param)))
        fail_msg("%s: canceled at call %zu, the index's state changed", what, n);
    if (memcmp(a->density, b.density, asdnorm_index_size(ix) * sizeof *a->density) != 0)
        fail_msg("%s: canceled at call %zu, the density constants changed", what, n);
    free(b.density);
}

enum path { SYM, BLOCKED };

static asdnorm_index *make_index(asdnorm_distance dist, enum path path, size_t m, size_t dim,
                                 uint64_t seed)
{
    uint64_t s = seed;
    float *x = tu_gauss(&s, m, dim, 0.2, 1.0);
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(dim, dist, &ix), ASDNORM_OK);
    if (path == BLOCKED && dist == ASDNORM_DISTANCE_COSINE) {
        /* A raw row (c_j = 1, as a k-means centroid) makes cosine asymmetric: the
         * finalize takes the blocked search. */
        assert_int_equal(asdnorm_index_add(ix, x, m - 1, NULL), ASDNORM_OK);
        assert_int_equal(asdnorm__index_add_raw(ix, x + (m - 1) * dim, 1, NULL), ASDNORM_OK);
    } else {
        assert_int_equal(asdnorm_index_add(ix, x, m, NULL), ASDNORM_OK);
    }
    free(x);
    return ix;
}

/* Cancel finalize(est, param) at every point, from the state `from` (UNFINALIZED or an
 * estimator finalized first); then complete it. */
#define UNFINALIZED ((asdnorm_density)-1)

static void finalize_every_point(asdnorm_distance dist, enum path path, size_t m, size_t dim,
                                 unsigned threads, asdnorm_density from, asdnorm_density est,
                                 double param, int every)
{
    char what[128];
    snprintf(what, sizeof what, "finalize %d(%g) of %zu × %zu, distance %d, %s, %u threads, from %d",
             (int)est, param, m, dim, (int)dist, path == SYM ? "symmetric" : "blocked", threads,
             (int)from);

    /* The densities without a callback. */
    asdnorm_index *ref = make_index(dist, path, m, dim, 0x9e3779b9u + m);
    assert_int_equal(asdnorm_index_finalize(ref, est, param), ASDNORM_OK);
    double *want = malloc(m * sizeof *want);
    assert_int_equal(asdnorm_index_get_density(ref, want, m), ASDNORM_OK);
    asdnorm_index_free(ref);

    asdnorm_index *ix = make_index(dist, path, m, dim, 0x9e3779b9u + m);
    assert_int_equal(asdnorm_index_set_threads(ix, threads), ASDNORM_OK);
    if ((int)from >= 0)
        assert_int_equal(asdnorm_index_finalize(ix, from, 1), ASDNORM_OK);
    ix_state before;
    state_take(ix, &before);

    record r = {0};
    size_t canceled = 0;
    for (size_t n = 1;; n = next_point(n, every)) {
        r = (record){.cancel_at = n};
        assert_int_equal(asdnorm_index_set_progress(ix, on_progress, &r), ASDNORM_OK);
        asdnorm_status st = asdnorm_index_finalize(ix, est, param);
        if (r.bad || r.other_thread)
            fail_msg("%s: a fraction out of order or a call on another thread (call %zu)", what,
                     r.calls);
        if (st == ASDNORM_OK) {
            if (r.calls >= n)
                fail_msg("%s: the callback canceled at call %zu, the call succeeded", what, n);
            break;
        }
        if (st != ASDNORM_E_CANCELED)
            fail_msg("%s: canceled at call %zu: status %d", what, n, (int)st);
        if (r.calls != n)
            fail_msg("%s: canceled at call %zu, the callback was called %zu times", what, n,
                     r.calls);
        state_assert_same(ix, &before, what, n);
        canceled++;
    }
    if (r.last != 1.0 || r.after_one || r.calls < 2)
        fail_msg("%s: the completed call's last fraction is %g after %zu calls", what, r.last,
                 r.calls);
    double *got = malloc(m * sizeof *got);
    assert_int_equal(asdnorm_index_get_density(ix, got, m), ASDNORM_OK);
    if (memcmp(got, want, m * sizeof *got) != 0)
        fail_msg("%s: the densities differ from a finalize without a callback", what);
    print_message("  %-86s %4zu cancels\n", what, canceled);
    free(got);
    free(want);
    free(before.density);
    asdnorm_index_free(ix);
}

static void test_finalize_small(void **state)
{
    (void)state;
    const asdnorm_density est[3] = {ASDNORM_DENSITY_KNN, ASDNORM_DENSITY_GWRP,
                                    ASDNORM_DENSITY_NONE};
    const double param[3] = {3, 0.9, 0};
    for (int d = 0; d < 3; d++)
        for (int p = 0; p < (d == ASDNORM_DISTANCE_COSINE ? 2 : 1); p++)
            for (int e = 0; e < 3; e++)
                finalize_every_point((asdnorm_distance)d, (enum path)p, 40, 8, 1,
                                     e == 0 ? UNFINALIZED : ASDNORM_DENSITY_KNN, est[e], param[e],
                                     1);
    /* Several tasks of the symmetric search (groups of 512 rows), several groups of
     * the blocked one. */
    finalize_every_point(ASDNORM_DISTANCE_MSE, SYM, 1100, 8, 1, UNFINALIZED,
                         ASDNORM_DENSITY_GWRP, 0.5, 0);
    finalize_every_point(ASDNORM_DISTANCE_COSINE, BLOCKED, 1100, 8, 1, UNFINALIZED,
                         ASDNORM_DENSITY_KNN, 3, 1);
}

/* More than one task of the symmetric search (groups of 512) and one group of the
 * blocked one, with 1 and 2 threads (enough work for both to start a team,
 * lib/internal.h): the same densities, the callback on the calling thread only. */
static void test_finalize_threads(void **state)
{
    (void)state;
    for (unsigned t = 1; t <= 2; t++) {
        finalize_every_point(ASDNORM_DISTANCE_EUCLIDEAN, SYM, 1200, 96, t, UNFINALIZED,
                             ASDNORM_DENSITY_KNN, 4, 0);
        finalize_every_point(ASDNORM_DISTANCE_COSINE, BLOCKED, 1200, 96, t,
                             ASDNORM_DENSITY_GWRP, ASDNORM_DENSITY_KNN, 2, 0);
    }
}

/* ------------------------------------------------------------------------ */
/* Scoring. */

static void score_every_point(size_t m, size_t n, size_t dim, unsigned threads, int every)
{
    char what[96];
    snprintf(what, sizeof what, "score %zu tests against %zu × %zu, %u threads", n, m, dim,
             threads);
    uint64_t s = 0x5c0e + n;
    float *refs = tu_gauss(&s, m, dim, 0.1, 1.0);
    float *x = tu_gauss(&s, n, dim, 0.3, 1.2);
    asdnorm_index *ix = NULL;
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_index_new(dim, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, refs, m, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 2), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_set_threads(sc, threads), ASDNORM_OK);
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    size_t *want_nn = malloc(n * sizeof *want_nn), *got_nn = malloc(n * sizeof *got_nn);
    assert_int_equal(asdnorm_scorer_score(sc, x, n, want, want_nn), ASDNORM_OK);

    record r = {0};
    size_t canceled = 0;
    for (size_t k = 1;; k = next_point(k, every)) {
        r = (record){.cancel_at = k};
        assert_int_equal(asdnorm_scorer_set_progress(sc, on_progress, &r), ASDNORM_OK);
        asdnorm_status st = asdnorm_scorer_score(sc, x, n, got, got_nn);
        if (r.bad || r.other_thread)
            fail_msg("%s: a fraction out of order or a call on another thread (call %zu)", what,
                     r.calls);
        if (st == ASDNORM_OK)
            break;
        if (st != ASDNORM_E_CANCELED || r.calls != k)
            fail_msg("%s: canceled at call %zu: status %d after %zu calls", what, k, (int)st,
                     r.calls);
        canceled++;
    }
    if (r.last != 1.0 || r.after_one || r.calls < 2)
        fail_msg("%s: the completed call's last fraction is %g after %zu calls", what, r.last,
                 r.calls);
    if (memcmp(got, want, n * sizeof *got) != 0 || memcmp(got_nn, want_nn, n * sizeof *got_nn))
        fail_msg("%s: the scores differ from a score without a callback", what);
    /* Turned off: no call. */
    r = (record){.cancel_at = 1};
    assert_int_equal(asdnorm_scorer_set_progress(sc, NULL, &r), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, x, n, got, NULL), ASDNORM_OK);
    assert_int_equal(r.calls, 0);
    print_message("  %-86s %4zu cancels\n", what, canceled);
    free(want);
    free(got);
    free(want_nn);
    free(got_nn);
    free(refs);
    free(x);
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
}

static void test_score(void **state)
{
    (void)state;
    score_every_point(30, 5, 8, 1, 1);    /* one group */
    score_every_point(30, 1300, 8, 1, 1); /* groups of up to 512 */
}

static void test_score_threads(void **state)
{
    (void)state;
    for (unsigned t = 1; t <= 2; t++)
        score_every_point(200, 3000, 32, t, 0);
}

/* n = 0 and failed checks call nothing, nor does a clone's finalize; a callback set on
 * a NULL object is refused. */
static void test_no_call(void **state)
{
    (void)state;
    asdnorm_index *ix = make_index(ASDNORM_DISTANCE_EUCLIDEAN, SYM, 10, 4, 1);
    record r = {.cancel_at = 1};
    assert_int_equal(asdnorm_index_set_progress(ix, on_progress, &r), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 0), ASDNORM_E_ARG);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_GWRP, 2), ASDNORM_E_ARG);
    assert_int_equal(r.calls, 0);
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_set_progress(sc, on_progress, &r), ASDNORM_OK);
    float x[4] = {1, 2, 3, 4}, out = -1;
    assert_int_equal(asdnorm_scorer_score(sc, x, 1, &out, NULL), ASDNORM_E_STATE);
    assert_int_equal(asdnorm_scorer_score(sc, x, 0, &out, NULL), ASDNORM_OK);
    assert_int_equal(r.calls, 0);
    /* A clone starts without the callback. */
    asdnorm_index *copy = NULL;
    assert_int_equal(asdnorm_index_clone(ix, &copy), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(copy, ASDNORM_DENSITY_KNN, 2), ASDNORM_OK);
    assert_int_equal(r.calls, 0);
    asdnorm_index_free(copy);
    assert_int_equal(asdnorm_index_set_progress(NULL, on_progress, &r), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_scorer_set_progress(NULL, on_progress, &r), ASDNORM_E_NULL);
    assert_string_equal(asdnorm_strerror(ASDNORM_E_CANCELED), "canceled by the progress callback");
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
}

/* No argument: one thread (the 'unit' suite, also under valgrind); "threads": 1 and 2
 * threads on data large enough for a team (the 'team' suite, and TSan). */
int main(int argc, char **argv)
{
    asdnorm__progress_interval_ns = 0; /* every unit reports */
    g_main = pthread_self();
    /* Two threads of ours, also with a multithreaded OpenBLAS. */
    asdnorm_set_blas_control(1);
    const struct CMUnitTest one[] = {
        cmocka_unit_test(test_no_call),
        cmocka_unit_test(test_finalize_small),
        cmocka_unit_test(test_score),
    };
    const struct CMUnitTest threads[] = {
        cmocka_unit_test(test_finalize_threads),
        cmocka_unit_test(test_score_threads),
    };
    if (argc > 1 && strcmp(argv[1], "threads") == 0)
        return cmocka_run_group_tests_name("progress-threads", threads, NULL, NULL);
    return cmocka_run_group_tests_name("progress", one, NULL, NULL);
}
