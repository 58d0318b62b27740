/* SPDX-License-Identifier: MIT */
/* Live updates (the header's "Threads" convention, docs/embedding.md): scoring
 * threads keep scoring while a writer thread clones the published index, adds
 * references to the clone, finalizes it if it needs to, and publishes it; the
 * old index is freed when its last user lets it go. A reader thread meanwhile
 * calls the index's read-only functions (search, densities, serialize, clone).
 *
 * Every score a reader computes must equal, bitwise, the scores the writer
 * computed on the same version before publishing it, and those equal a double
 * brute force within float rounding. .ci/tsan.sh runs this test under
 * ThreadSanitizer (OpenMP off, so every thread here is the test's own). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define DIM 24
#define M0 200     /* references of the first version */
#define BATCH 25   /* references each new version adds */
#define VERSIONS 8 /* versions the writer publishes after the first */
#define NQ 16      /* test samples every reader scores */
#define READERS 3
#define K 3

/* One published version of the index, with the scores it must give. */
typedef struct {
    asdnorm_index *ix;
    int number;
    int users; /* readers holding it, under g_lock */
    float want[NQ];
    size_t want_nearest[NQ];
} version;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static version *g_current; /* under g_lock */
static atomic_int g_done;  /* the writer has published its last version */
static float *g_refs;      /* every reference any version holds, in order */
static uint8_t g_doms[M0 + VERSIONS * BATCH];
static float *g_queries;   /* NQ × DIM */

static version *acquire(void)
{
    pthread_mutex_lock(&g_lock);
    version *v = g_current;
    v->users++;
    pthread_mutex_unlock(&g_lock);
    return v;
}

/* The last user of a version that is no longer current frees it. */
static void release(version *v)
{
    pthread_mutex_lock(&g_lock);
    bool last = --v->users == 0 && v != g_current;
    pthread_mutex_unlock(&g_lock);
    if (last) {
        asdnorm_index_free(v->ix);
        free(v);
    }
}

static void publish(version *v)
{
    pthread_mutex_lock(&g_lock);
    version *old = g_current;
    g_current = v;
    bool unused = old && old->users == 0;
    pthread_mutex_unlock(&g_lock);
    if (unused) {
        asdnorm_index_free(old->ix);
        free(old);
    }
}

/* Scores of the queries against ix with a scorer of its own, on this thread. */
static void score_all(const asdnorm_index *ix, float *scores, size_t *nearest)
{
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_set_threads(sc, 1), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, g_queries, NQ, scores, nearest), ASDNORM_OK);
    asdnorm_scorer_free(sc);
}

static version *make_version(asdnorm_index *ix, int number)
{
    if (!asdnorm_index_is_finalized(ix))
        assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, K), ASDNORM_OK);
    version *v = calloc(1, sizeof *v);
    assert_non_null(v);
    v->ix = ix;
    v->number = number;
    score_all(ix, v->want, v->want_nearest);
    return v;
}

static void *writer(void *arg)
{
    (void)arg;
    for (int n = 1; n <= VERSIONS; n++) {
        version *cur = acquire();
        asdnorm_index *next = NULL;
        assert_int_equal(asdnorm_index_clone(cur->ix, &next), ASDNORM_OK);
        release(cur);
        size_t first = M0 + (size_t)(n - 1) * BATCH;
        assert_int_equal(asdnorm_index_add(next, g_refs + first * DIM, BATCH, g_doms + first),
                         ASDNORM_OK);
        publish(make_version(next, n));
    }
    atomic_store(&g_done, 1);
    return NULL;
}

/* Scores with a scorer per version until the writer is done and the last version
 * has been scored; returns the number of versions seen. */
static void *reader(void *arg)
{
    intptr_t seen = 0;
    (void)arg;
    for (;;) {
        int done = atomic_load(&g_done);
        version *v = acquire();
        float got[NQ];
        size_t nearest[NQ];
        score_all(v->ix, got, nearest);
        if (memcmp(got, v->want, sizeof got) != 0 ||
            memcmp(nearest, v->want_nearest, sizeof nearest) != 0)
            fail_msg("reader: version %d scored differently from the writer's scores",
                     v->number);
        seen++;
        int number = v->number;
        release(v);
        if (done && number == VERSIONS)
            break;
    }
    return (void *)seen;
}

/* Read-only calls on whatever version is current, beside the scorers. */
static void *inspector(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_done)) {
        version *v = acquire();
        size_t m = asdnorm_index_size(v->ix);
        double *dens = malloc(m * sizeof *dens);
        float dist[NQ * 2];
        size_t ids[NQ * 2];
        assert_non_null(dens);
        assert_int_equal(asdnorm_index_get_density(v->ix, dens, m), ASDNORM_OK);
        assert_int_equal(asdnorm_index_search(v->ix, g_queries, NQ, 2, dist, ids), ASDNORM_OK);
        size_t need = 0;
        assert_int_equal(asdnorm_index_serialize(v->ix, NULL, 0, &need), ASDNORM_E_BUFFER);
        asdnorm_index *copy = NULL;
        assert_int_equal(asdnorm_index_clone(v->ix, &copy), ASDNORM_OK);
        assert_int_equal(asdnorm_index_size(copy), m);
        asdnorm_index_free(copy);
        free(dens);
        release(v);
    }
    return NULL;
}

static void test_live_updates(void **state)
{
    (void)state;
    uint64_t rng = 0x11fe;
    const size_t total = M0 + VERSIONS * BATCH;
    g_refs = tu_gauss(&rng, total, DIM, 0.0, 1.0);
    g_queries = tu_gauss(&rng, NQ, DIM, 0.0, 1.0);
    for (size_t i = 0; i < total; i++)
        g_doms[i] = i < M0 ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;

    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_set_threads(ix, 1), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, g_refs, M0, g_doms), ASDNORM_OK);
    publish(make_version(ix, 0));

    pthread_t w, r[READERS], insp;
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&r[i], NULL, reader, NULL), 0);
    assert_int_equal(pthread_create(&insp, NULL, inspector, NULL), 0);
    assert_int_equal(pthread_create(&w, NULL, writer, NULL), 0);
    assert_int_equal(pthread_join(w, NULL), 0);
    assert_int_equal(pthread_join(insp, NULL), 0);
    intptr_t scored = 0;
    for (int i = 0; i < READERS; i++) {
        void *seen = NULL;
        assert_int_equal(pthread_join(r[i], &seen), 0);
        scored += (intptr_t)seen;
    }

    /* The last version against a double brute force of the whole reference set. */
    version *last = g_current;
    assert_int_equal(last->number, VERSIONS);
    assert_int_equal(asdnorm_index_size(last->ix), total);
    double dens[M0 + VERSIONS * BATCH], want[NQ];
    size_t want_nearest[NQ];
    tu_density(ASDNORM_DISTANCE_COSINE, g_refs, total, DIM, ASDNORM_DENSITY_KNN, K, dens);
    tu_scores(ASDNORM_DISTANCE_COSINE, g_refs, total, DIM, dens, ASDNORM_DENSITY_KNN,
              ASDNORM_NORM_RATIO, g_queries, NQ, want, want_nearest);
    for (size_t q = 0; q < NQ; q++) {
        if (!tu_close(last->want[q], want[q], 1e-5, 1e-9))
            fail_msg("query %zu: %.9g, brute force %.17g", q, (double)last->want[q], want[q]);
        assert_int_equal(last->want_nearest[q], want_nearest[q]);
    }
    print_message("live: %d versions published, %ld scorings by %d readers\n", VERSIONS + 1,
                  (long)scored, READERS);

    publish(NULL);
    free(g_refs);
    free(g_queries);
}

/* The clone is independent of its source: adding to it changes nothing in the source,
 * and freeing the source leaves the clone whole. */
static void test_clone_independent(void **state)
{
    (void)state;
    uint64_t rng = 0xc10e;
    for (int d = 0; d < 3; d++) {
        const asdnorm_distance dist = (asdnorm_distance)d;
        float *x = tu_gauss(&rng, 60, 8, 0.5, 1.0);
        asdnorm_index *a = NULL, *b = NULL, *empty = NULL;
        assert_int_equal(asdnorm_index_new(8, dist, &a), ASDNORM_OK);
        assert_int_equal(asdnorm_index_clone(a, &empty), ASDNORM_OK);
        assert_int_equal(asdnorm_index_size(empty), 0);
        assert_int_equal(asdnorm_index_add(a, x, 50, NULL), ASDNORM_OK);
        assert_int_equal(asdnorm_index_finalize(a, ASDNORM_DENSITY_GWRP, 0.5), ASDNORM_OK);
        assert_int_equal(asdnorm_index_clone(a, &b), ASDNORM_OK);

        float sa[10], sb[10];
        size_t na[10], nb[10];
        double da[50], db[50];
        assert_int_equal(asdnorm_index_get_density(a, da, 50), ASDNORM_OK);
        assert_int_equal(asdnorm_index_get_density(b, db, 50), ASDNORM_OK);
        assert_memory_equal(da, db, sizeof da);
        asdnorm_density est;
        double param;
        assert_int_equal(asdnorm_index_get_estimator(b, &est, &param), ASDNORM_OK);
        assert_int_equal(est, ASDNORM_DENSITY_GWRP);
        assert_true(param == 0.5);

        assert_int_equal(asdnorm_index_add(b, x + 50 * 8, 10, NULL), ASDNORM_OK);
        assert_int_equal(asdnorm_index_size(a), 50);
        assert_int_equal(asdnorm_index_size(b), 60);
        assert_int_equal(asdnorm_index_finalize(b, ASDNORM_DENSITY_GWRP, 0.5), ASDNORM_OK);

        /* b now holds all 60 rows: scoring the first 10 of the 60 against b gives
         * their own copies (distance 0 under every distance); against a, what a gives. */
        asdnorm_index_free(empty);
        asdnorm_scorer *sc = NULL;
        assert_int_equal(asdnorm_scorer_new(a, ASDNORM_NORM_NONE, &sc), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_score(sc, x + 50 * 8, 10, sa, na), ASDNORM_OK);
        asdnorm_scorer_free(sc);
        asdnorm_index_free(a);
        assert_int_equal(asdnorm_scorer_new(b, ASDNORM_NORM_NONE, &sc), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_score(sc, x + 50 * 8, 10, sb, nb), ASDNORM_OK);
        asdnorm_scorer_free(sc);
        for (size_t i = 0; i < 10; i++) {
            assert_int_equal(nb[i], 50 + i);
            assert_true(sb[i] <= 1e-6f);
            assert_true(na[i] < 50);
            double want = 1e300;
            for (size_t j = 0; j < 50; j++) {
                double dd = tu_distance(dist, x + (50 + i) * 8, x + j * 8, 8);
                want = dd < want ? dd : want;
            }
            assert_true(tu_close(sa[i], want, 1e-5, 1e-7));
        }
        asdnorm_index_free(b);
        free(x);
    }
    asdnorm_index *out = (asdnorm_index *)(uintptr_t)1;
    assert_int_equal(asdnorm_index_clone(NULL, &out), ASDNORM_E_NULL);
    assert_null(out);
    assert_int_equal(asdnorm_index_clone(NULL, NULL), ASDNORM_E_NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clone_independent),
        cmocka_unit_test(test_live_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
