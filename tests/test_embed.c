/* SPDX-License-Identifier: MIT */
/* The library as a guest in its host's process (docs/embedding.md):
 *  - every allocation goes through the host's allocator, and every byte is
 *    freed; the library holds no memory of the C library's while it works;
 *  - with thread count 1, add, finalize and score start no thread (the
 *    process's threads are counted in /proc/self/task); with 2 they do, and
 *    the results are bitwise those of 1 thread;
 *  - a host thread polling OpenBLAS's thread count while the library finalizes
 *    and scores on others never sees it change;
 *  - the host-driven pattern: host threads, each with its own scorer of 1
 *    thread over a shared index, score row ranges of a batch; the result is
 *    bitwise the single call's, and the library starts no thread.
 * The allocator is installed before anything else, so every test runs on it. */
#define _GNU_SOURCE /* mallinfo2 */

#include <dirent.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "testutil.h"

/* Present when the BLAS is OpenBLAS. */
extern int openblas_get_num_threads(void) __attribute__((weak));
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern int openblas_get_parallel(void) __attribute__((weak));

#define DIM 32
#define M 3000
#define N 1500
#define BIG_N 40000 /* rows whose add splits between threads: BIG_N · DIM ≥ 2²⁰ */
#define HOST_THREADS 4

/* ------------------------------------------------------------------------ */
/* The counting allocator: a bump arena of its own (not the C library's heap),
 * each block preceded by its size, so that live bytes are known exactly. */

#define ARENA_BYTES ((size_t)1 << 30)
#define HEADER 16

static unsigned char *g_arena;
static atomic_size_t g_top;
static atomic_size_t g_calls, g_frees, g_live_blocks, g_live_bytes;
static atomic_size_t g_bad; /* calls breaking the contract (any thread: no cmocka there) */
static int g_user_tag;

static void *arena_get(void *user, size_t size)
{
    if (user != &g_user_tag || size == 0)
        atomic_fetch_add(&g_bad, 1);
    const size_t need = (size + HEADER + 15) / 16 * 16;
    const size_t at = atomic_fetch_add(&g_top, need);
    if (at + need > ARENA_BYTES)
        return NULL;
    unsigned char *p = g_arena + at;
    memcpy(p, &size, sizeof size);
    atomic_fetch_add(&g_calls, 1);
    atomic_fetch_add(&g_live_blocks, 1);
    atomic_fetch_add(&g_live_bytes, size);
    return p + HEADER;
}

static size_t block_size(const void *p)
{
    size_t size;
    memcpy(&size, (const unsigned char *)p - HEADER, sizeof size);
    return size;
}

static void *count_malloc(void *user, size_t size)
{
    return arena_get(user, size);
}

static void *count_calloc(void *user, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return arena_get(user, n * size); /* fresh anonymous pages are zero */
}

static void count_free(void *user, void *p)
{
    if (user != &g_user_tag || !p) {
        atomic_fetch_add(&g_bad, 1);
        return;
    }
    const size_t size = block_size(p);
    atomic_fetch_add(&g_frees, 1);
    atomic_fetch_sub(&g_live_blocks, 1);
    atomic_fetch_sub(&g_live_bytes, size);
    /* The arena is never reused: give the whole pages of a big block back. */
    if (size >= 1 << 16) {
        const uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        const uintptr_t b = ((uintptr_t)p + size) & ~(uintptr_t)4095;
        if (b > a)
            madvise((void *)a, b - a, MADV_DONTNEED);
    }
}

static void *count_realloc(void *user, void *p, size_t size)
{
    if (!p) {
        atomic_fetch_add(&g_bad, 1);
        return NULL;
    }
    void *q = arena_get(user, size);
    if (!q)
        return NULL;
    const size_t old = block_size(p);
    memcpy(q, p, old < size ? old : size);
    count_free(user, p);
    return q;
}

/* Bytes the C library's malloc has handed out now. */
static size_t libc_heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* ------------------------------------------------------------------------ */

static size_t process_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static float *g_refs, *g_tests, *g_big;

static asdnorm_index *make_index(unsigned threads)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_set_threads(ix, threads), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, g_refs, M, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 8), ASDNORM_OK);
    return ix;
}

/* An add big enough to split between threads, into an index that is not finalized
 * (into a finalized one it would also update the densities, a search per row). */
static void big_add(unsigned threads)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_set_threads(ix, threads), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, g_refs, M, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, g_big, BIG_N, NULL), ASDNORM_OK);
    asdnorm_index_free(ix);
}

static void score_all(const asdnorm_index *ix, unsigned threads, float *scores, size_t *nearest)
{
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_set_threads(sc, threads), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, g_tests, N, scores, nearest), ASDNORM_OK);
    asdnorm_scorer_free(sc);
}

/* The references of the first test (1 thread), compared with every later run. */
static double g_dens1[M];
static float g_scores1[N];
static size_t g_nearest1[N];

static int setup(void **state)
{
    (void)state;
    uint64_t s = 42;
    g_refs = tu_gauss(&s, M, DIM, 0.3, 1.0);
    g_tests = tu_gauss(&s, N, DIM, 0.3, 1.2);
    g_big = tu_gauss(&s, BIG_N, DIM, 0.0, 1.0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_refs);
    free(g_tests);
    free(g_big);
    return 0;
}

/* Thread count 1: add (a batch big enough to be split otherwise), finalize and
 * score start no thread, and no memory of the C library's is held meanwhile. */
static void test_one_thread_starts_none(void **state)
{
    (void)state;
    const size_t threads_before = process_threads();
    const size_t heap_before = libc_heap_bytes();
    const size_t live_before = atomic_load(&g_live_bytes);

    big_add(1);
    asdnorm_index *ix = make_index(1);
    asdnorm_scorer *sc = NULL;
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_set_threads(sc, 1), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_score(sc, g_tests, N, g_scores1, g_nearest1), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_density(ix, g_dens1, M), ASDNORM_OK);

    /* The index and the scorer live in the arena, not in the C library's heap. */
    const size_t held = atomic_load(&g_live_bytes) - live_before;
    const size_t heap = libc_heap_bytes();
    print_message("  held %zu bytes in the host's allocator, C heap %+lld bytes, threads %zu -> %zu\n",
                  held, (long long)heap - (long long)heap_before, threads_before,
                  process_threads());
    assert_true(held >= (size_t)M * DIM * sizeof(float));
    assert_true(heap < heap_before + 64 * 1024);

    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    assert_int_equal(process_threads(), threads_before);
    assert_int_equal(atomic_load(&g_live_bytes), live_before);
}

/* Thread count 2 (when OpenMP is there): threads are started, and the results
 * are bitwise those of 1 thread. */
static void test_two_threads_same_results(void **state)
{
    (void)state;
    const size_t threads_before = process_threads();
    big_add(2);
    asdnorm_index *ix;
#ifdef _OPENMP
    /* The team of the big add stays in libgomp's pool: the count can tell. */
    assert_true(process_threads() > threads_before);
#endif
    for (int control = 0; control < 2; control++) {
        assert_int_equal(asdnorm_set_blas_control(control), ASDNORM_OK);
        ix = make_index(2);
        double dens[M];
        float scores[N];
        size_t nearest[N];
        assert_int_equal(asdnorm_index_get_density(ix, dens, M), ASDNORM_OK);
        score_all(ix, 2, scores, nearest);
        assert_memory_equal(dens, g_dens1, sizeof dens);
        assert_memory_equal(scores, g_scores1, sizeof scores);
        assert_memory_equal(nearest, g_nearest1, sizeof nearest);
        asdnorm_index_free(ix);
    }
    assert_int_equal(asdnorm_set_blas_control(0), ASDNORM_OK);
}

/* ------------------------------------------------------------------------ */
/* The host's BLAS setting is never changed by default. */

static atomic_int g_stop;
static atomic_size_t g_polls, g_changed;

static void *poll_blas(void *arg)
{
    const int expect = *(const int *)arg;
    while (!atomic_load(&g_stop)) {
        if (openblas_get_num_threads() != expect)
            atomic_fetch_add(&g_changed, 1);
        atomic_fetch_add(&g_polls, 1);
    }
    return NULL;
}

struct work_arg {
    unsigned threads;
    size_t failures;
};

/* Finalize and score three times (no cmocka on this thread: failures counted). */
static void *library_work(void *arg)
{
    struct work_arg *w = arg;
    static float scores[2][N];
    float *sc_out = scores[w->threads ? 1 : 0];
    for (int rep = 0; rep < 3; rep++) {
        asdnorm_index *ix = NULL;
        asdnorm_scorer *sc = NULL;
        if (asdnorm_index_new(DIM, ASDNORM_DISTANCE_COSINE, &ix) != ASDNORM_OK ||
            asdnorm_index_set_threads(ix, w->threads) != ASDNORM_OK ||
            asdnorm_index_add(ix, g_refs, M, NULL) != ASDNORM_OK ||
            asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 8) != ASDNORM_OK ||
            asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc) != ASDNORM_OK ||
            asdnorm_scorer_set_threads(sc, w->threads) != ASDNORM_OK ||
            asdnorm_scorer_score(sc, g_tests, N, sc_out, NULL) != ASDNORM_OK ||
            memcmp(sc_out, g_scores1, sizeof scores[0]) != 0)
            w->failures++;
        asdnorm_scorer_free(sc);
        asdnorm_index_free(ix);
    }
    return NULL;
}

static void test_blas_setting_untouched(void **state)
{
    (void)state;
    if (!openblas_get_num_threads || !openblas_set_num_threads || !openblas_get_parallel ||
        openblas_get_parallel() != 1) {
        print_message("  the BLAS is not OpenBLAS with its own threads: nothing to watch\n");
        skip();
    }
    const int before = openblas_get_num_threads();
    /* The host's setting: 2 threads, which the library must leave alone. */
    openblas_set_num_threads(2);
    int expect = openblas_get_num_threads();
    atomic_store(&g_stop, 0);
    atomic_store(&g_polls, 0);
    atomic_store(&g_changed, 0);
    pthread_t poller, workers[2];
    struct work_arg args[2] = {{0, 0}, {2, 0}};
    assert_int_equal(pthread_create(&poller, NULL, poll_blas, &expect), 0);
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&workers[t], NULL, library_work, &args[t]), 0);
    for (int t = 0; t < 2; t++)
        pthread_join(workers[t], NULL);
    atomic_store(&g_stop, 1);
    pthread_join(poller, NULL);
    print_message("  %zu polls of openblas_get_num_threads(), %zu saw another value than %d\n",
                  atomic_load(&g_polls), atomic_load(&g_changed), expect);
    assert_true(atomic_load(&g_polls) > 0);
    assert_int_equal(atomic_load(&g_changed), 0);
    assert_int_equal(args[0].failures + args[1].failures, 0);
    assert_int_equal(openblas_get_num_threads(), expect);
    openblas_set_num_threads(before);
}

/* ------------------------------------------------------------------------ */
/* Host-driven parallelism: one scorer of 1 thread per host thread, each
 * scoring its own range of rows of one batch. */

struct range_arg {
    const asdnorm_index *ix;
    size_t first, count;
    float *scores;
    size_t *nearest;
    asdnorm_status st;
};

/* All host threads alive until the main thread has counted the threads. */
static pthread_barrier_t g_barrier;

static void *score_range(void *p)
{
    struct range_arg *a = p;
    asdnorm_scorer *sc = NULL;
    a->st = asdnorm_scorer_new(a->ix, ASDNORM_NORM_RATIO, &sc);
    if (a->st == ASDNORM_OK)
        a->st = asdnorm_scorer_set_threads(sc, 1);
    if (a->st == ASDNORM_OK)
        a->st = asdnorm_scorer_score(sc, g_tests + a->first * DIM, a->count,
                                     a->scores + a->first, a->nearest + a->first);
    asdnorm_scorer_free(sc);
    pthread_barrier_wait(&g_barrier);
    pthread_barrier_wait(&g_barrier);
    return NULL;
}

static void test_host_threads(void **state)
{
    (void)state;
    asdnorm_index *ix = make_index(1);
    float scores[N];
    size_t nearest[N];
    pthread_t th[HOST_THREADS];
    struct range_arg args[HOST_THREADS];
    const size_t threads_before = process_threads();
    assert_int_equal(pthread_barrier_init(&g_barrier, NULL, HOST_THREADS + 1), 0);
    for (size_t t = 0; t < HOST_THREADS; t++) {
        const size_t first = N * t / HOST_THREADS, last = N * (t + 1) / HOST_THREADS;
        args[t] = (struct range_arg){ix, first, last - first, scores, nearest, ASDNORM_E_STATE};
        assert_int_equal(pthread_create(&th[t], NULL, score_range, &args[t]), 0);
    }
    /* Every host thread has scored and still lives: the process has the host's
     * threads and no other new one (libgomp keeps a team's threads while the
     * thread that started it lives). */
    pthread_barrier_wait(&g_barrier);
    const size_t threads_during = process_threads();
    pthread_barrier_wait(&g_barrier);
    for (size_t t = 0; t < HOST_THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].st, ASDNORM_OK);
    }
    pthread_barrier_destroy(&g_barrier);
    assert_int_equal(threads_during, threads_before + HOST_THREADS);
    assert_memory_equal(scores, g_scores1, sizeof scores);
    assert_memory_equal(nearest, g_nearest1, sizeof nearest);
    asdnorm_index_free(ix);
}

/* Last: every block the library took was given back, and the allocator can
 * be changed again now that the library holds nothing. */
static void test_every_byte_freed(void **state)
{
    (void)state;
    print_message("  %zu allocations, %zu frees through the host's allocator\n",
                  atomic_load(&g_calls), atomic_load(&g_frees));
    assert_true(atomic_load(&g_calls) > 100);
    assert_int_equal(atomic_load(&g_bad), 0);
    assert_int_equal(atomic_load(&g_live_blocks), 0);
    assert_int_equal(atomic_load(&g_live_bytes), 0);
    assert_int_equal(atomic_load(&g_calls), atomic_load(&g_frees));
    /* Holding something, the allocator cannot change. */
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_set_allocator(NULL), ASDNORM_E_STATE);
    asdnorm_index_free(ix);
    assert_int_equal(asdnorm_set_allocator(NULL), ASDNORM_OK);
    const size_t calls = atomic_load(&g_calls);
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    asdnorm_index_free(ix);
    assert_int_equal(atomic_load(&g_calls), calls);
}

/* A dimension whose workspace size would wrap (512 · 2⁵⁵) is refused, and a
 * scorer at a large dimension holds a bounded workspace. */
static void test_scorer_workspace(void **state)
{
    (void)state;
    asdnorm_index *ix = NULL;
    asdnorm_scorer *sc = (asdnorm_scorer *)&sc;
    assert_int_equal(asdnorm_index_new((size_t)1 << 55, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_E_OVERFLOW);
    assert_null(sc);
    asdnorm_index_free(ix);

    const size_t dim = 100000;
    assert_int_equal(asdnorm_index_new(dim, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    const size_t before = atomic_load(&g_live_bytes);
    assert_int_equal(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
    assert_int_equal(asdnorm_scorer_set_threads(sc, 2), ASDNORM_OK);
    const size_t held = atomic_load(&g_live_bytes) - before;
    print_message("  a scorer of 2 threads at D = %zu holds %.1f MiB\n", dim, (double)held / 1048576.0);
    /* Two workspaces of at most 4 MiB of queries and 4 MiB of dot products. */
    assert_true(held <= 2 * (8u << 20) + (1u << 20));
    /* Scoring one sample works with it, exactly as brute force says. */
    float *y = calloc(2 * dim, sizeof *y), *x = calloc(dim, sizeof *x);
    assert_non_null(y);
    assert_non_null(x);
    y[0] = 1.0f;       /* reference 0: e₀ */
    y[dim + 1] = 1.0f; /* reference 1: e₁ */
    x[0] = 1.0f;
    x[1] = 3.0f;
    assert_int_equal(asdnorm_index_add(ix, y, 2, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_NONE, 0), ASDNORM_OK);
    float score;
    size_t nearest;
    assert_int_equal(asdnorm_scorer_score(sc, x, 1, &score, &nearest), ASDNORM_OK);
    assert_int_equal(nearest, 1);
    /* 0.5 · (1 − 3/√10) */
    assert_true(tu_close(score, 0.5 * (1.0 - 3.0 / sqrt(10.0)), 1e-6, 1e-7));
    free(x);
    free(y);
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
}

int main(void)
{
    g_arena = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (g_arena == MAP_FAILED)
        return 1;
    const asdnorm_allocator counting = {count_malloc, count_calloc, count_realloc, count_free,
                                        &g_user_tag};
    if (asdnorm_set_allocator(&counting) != ASDNORM_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_thread_starts_none),
        cmocka_unit_test(test_two_threads_same_results),
        cmocka_unit_test(test_blas_setting_untouched),
        cmocka_unit_test(test_host_threads),
        cmocka_unit_test(test_scorer_workspace),
        cmocka_unit_test(test_every_byte_freed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
