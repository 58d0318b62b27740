/* SPDX-License-Identifier: MIT */
/* The host's process: fork and address-space limits (docs/embedding.md).
 *  - After work on 2 threads, a forked child finalizes and scores (Python's
 *    multiprocessing forks) and gets the parent's results; libgomp's pool does
 *    not survive fork, and entering it would wait forever.
 *  - Under RLIMIT_AS, scoring returns a result or ASDNORM_E_NOMEM; OpenBLAS,
 *    which loops forever when it cannot map a thread's buffer, is not called
 *    from more threads than can get one.
 * Each case runs in a child with an alarm, and the parent waits with a
 * deadline of its own and kills it: a regression fails instead of hanging. */
#define _GNU_SOURCE

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define SANITIZED 1
#endif
#endif

#define DIM 32
#define M 3000
#define N 1500
#define BIG_N 40000 /* an add split between threads: BIG_N · DIM ≥ 2²⁰ */
#define CHILD_SECONDS 60

static float *g_refs, *g_tests, *g_big;
static float g_want[N];
static size_t g_want_nearest[N];

/* Exit statuses of a child. */
enum { CHILD_OK = 0, CHILD_FAILED = 2, CHILD_DIFFER = 3, CHILD_SKIP = 4 };

static asdnorm_status build(unsigned threads, asdnorm_index **ix)
{
    asdnorm_status st = asdnorm_index_new(DIM, ASDNORM_DISTANCE_COSINE, ix);
    if (st == ASDNORM_OK)
        st = asdnorm_index_set_threads(*ix, threads);
    if (st == ASDNORM_OK)
        st = asdnorm_index_add(*ix, g_refs, M, NULL);
    if (st == ASDNORM_OK)
        st = asdnorm_index_finalize(*ix, ASDNORM_DENSITY_KNN, 8);
    return st;
}

static asdnorm_status score(const asdnorm_index *ix, unsigned threads, float *scores,
                            size_t *nearest)
{
    asdnorm_scorer *sc = NULL;
    asdnorm_status st = asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc);
    if (st == ASDNORM_OK)
        st = asdnorm_scorer_set_threads(sc, threads);
    if (st == ASDNORM_OK)
        st = asdnorm_scorer_score(sc, g_tests, N, scores, nearest);
    asdnorm_scorer_free(sc);
    return st;
}

/* A big add on 2 threads: libgomp's pool now has a thread (when built with OpenMP). */
static void start_team(void)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(DIM, ASDNORM_DISTANCE_EUCLIDEAN, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_set_threads(ix, 2), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, g_big, BIG_N, NULL), ASDNORM_OK);
    asdnorm_index_free(ix);
}

/* Wait for child pid at most `seconds`; kill it after. Returns its exit status,
 * or -1 when it was killed or ended by a signal. */
static int wait_child(pid_t pid, int seconds)
{
    const struct timespec tick = {0, 20 * 1000 * 1000};
    for (long waited = 0; waited < seconds * 50L; waited++) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            print_message("  child ended by signal %d\n", WTERMSIG(status));
            return -1;
        }
        nanosleep(&tick, NULL);
    }
    print_message("  child still running after %d s: killed\n", seconds);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static int setup(void **state)
{
    (void)state;
    uint64_t s = 7;
    g_refs = tu_gauss(&s, M, DIM, 0.3, 1.0);
    g_tests = tu_gauss(&s, N, DIM, 0.3, 1.2);
    g_big = tu_gauss(&s, BIG_N, DIM, 0.0, 1.0);
    /* The expected results, on the calling thread alone. */
    asdnorm_index *ix = NULL;
    if (build(1, &ix) != ASDNORM_OK || score(ix, 1, g_want, g_want_nearest) != ASDNORM_OK)
        return -1;
    asdnorm_index_free(ix);
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

/* The child's work: a big add, finalize and score on 2 threads, compare.
 * Never returns. */
static void child_work(void)
{
    alarm(CHILD_SECONDS);
    start_team();
    asdnorm_index *ix = NULL;
    float scores[N];
    size_t nearest[N];
    if (build(2, &ix) != ASDNORM_OK || score(ix, 2, scores, nearest) != ASDNORM_OK)
        _exit(CHILD_FAILED);
    asdnorm_index_free(ix);
    if (memcmp(scores, g_want, sizeof scores) != 0 ||
        memcmp(nearest, g_want_nearest, sizeof nearest) != 0)
        _exit(CHILD_DIFFER);
    _exit(CHILD_OK);
}

static void fork_after_threads(int blas_control)
{
    assert_int_equal(asdnorm_set_blas_control(blas_control), ASDNORM_OK);
    start_team();
    asdnorm_index *ix = NULL;
    float scores[N];
    size_t nearest[N];
    assert_int_equal(build(2, &ix), ASDNORM_OK);
    assert_int_equal(score(ix, 2, scores, nearest), ASDNORM_OK);
    assert_memory_equal(scores, g_want, sizeof scores);
    asdnorm_index_free(ix);

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_work();
    assert_int_equal(wait_child(pid, CHILD_SECONDS + 30), CHILD_OK);
    /* And the parent still works on its threads. */
    assert_int_equal(build(2, &ix), ASDNORM_OK);
    assert_int_equal(score(ix, 2, scores, nearest), ASDNORM_OK);
    assert_memory_equal(scores, g_want, sizeof scores);
    asdnorm_index_free(ix);
    assert_int_equal(asdnorm_set_blas_control(0), ASDNORM_OK);
}

static void test_fork(void **state)
{
    (void)state;
    fork_after_threads(0);
}

/* With the library's own threads calling the BLAS (the opt-in), the parent's
 * team has run the scoring itself. */
static void test_fork_blas_control(void **state)
{
    (void)state;
    fork_after_threads(1);
}

/* A grandchild too: the child that works single-threaded forks again. */
static void test_fork_twice(void **state)
{
    (void)state;
    start_team();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(2 * CHILD_SECONDS);
        asdnorm_index *ix = NULL;
        float scores[N];
        if (build(2, &ix) != ASDNORM_OK || score(ix, 2, scores, NULL) != ASDNORM_OK)
            _exit(CHILD_FAILED);
        asdnorm_index_free(ix);
        pid_t g = fork();
        if (g < 0)
            _exit(CHILD_FAILED);
        if (g == 0)
            child_work();
        _exit(wait_child(g, CHILD_SECONDS + 10) == CHILD_OK ? CHILD_OK : CHILD_FAILED);
    }
    assert_int_equal(wait_child(pid, 2 * CHILD_SECONDS + 30), CHILD_OK);
}

/* ------------------------------------------------------------------------ */
/* Address-space limits. */

#ifndef SANITIZED
/* The process's mapped size in bytes (the first field of /proc/self/statm). */
static size_t vm_size(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!fp)
        return 0;
    if (fscanf(fp, "%lu", &pages) != 1)
        pages = 0;
    fclose(fp);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* In a child: the limit set `headroom` bytes above what is mapped now, then
 * scoring a batch on 4 threads (the library's own threads calling the BLAS:
 * the opt-in), more than have ever called the BLAS at once in this process,
 * must give the right result or ASDNORM_E_NOMEM. */
static int limited_child(size_t headroom, int *status_out)
{
    fflush(NULL);
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fd[0]);
        alarm(CHILD_SECONDS);
        asdnorm_index *ix = NULL;
        if (build(2, &ix) != ASDNORM_OK || asdnorm_set_blas_control(1) != ASDNORM_OK)
            _exit(CHILD_FAILED);
        start_team();
        asdnorm_scorer *sc = NULL;
        if (asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc) != ASDNORM_OK ||
            asdnorm_scorer_set_threads(sc, 4) != ASDNORM_OK)
            _exit(CHILD_FAILED);
        static float scores[N];
        static size_t nearest[N];
        const size_t now = vm_size();
        if (now == 0)
            _exit(CHILD_SKIP);
        struct rlimit rl = {now + headroom, now + headroom};
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(CHILD_SKIP);
        asdnorm_status st = asdnorm_scorer_score(sc, g_tests, N, scores, nearest);
        if (write(fd[1], &st, sizeof st) != sizeof st)
            _exit(CHILD_FAILED);
        if (st == ASDNORM_OK && (memcmp(scores, g_want, sizeof scores) != 0 ||
                                 memcmp(nearest, g_want_nearest, sizeof nearest) != 0))
            _exit(CHILD_DIFFER);
        _exit(CHILD_OK);
    }
    close(fd[1]);
    int rc = wait_child(pid, CHILD_SECONDS + 30);
    asdnorm_status st = ASDNORM_E_STATE;
    if (read(fd[0], &st, sizeof st) != sizeof st)
        st = ASDNORM_E_STATE;
    close(fd[0]);
    *status_out = (int)st;
    return rc;
}
#endif

static void test_address_space_limit(void **state)
{
    (void)state;
#ifdef SANITIZED
    print_message("  a sanitizer reserves terabytes of address space: not under RLIMIT_AS\n");
    skip();
#else
    /* 16 MiB more: no room for another BLAS buffer (128 MiB in OpenBLAS); 1 GiB: room. */
    static const size_t headroom[] = {(size_t)16 << 20, (size_t)200 << 20, (size_t)1 << 30};
    for (size_t h = 0; h < sizeof headroom / sizeof headroom[0]; h++) {
        int st = -1;
        int rc = limited_child(headroom[h], &st);
        if (rc == CHILD_SKIP) {
            print_message("  RLIMIT_AS cannot be set here\n");
            skip();
        }
        print_message("  %4zu MiB above the mapped size: %s\n", headroom[h] >> 20,
                      rc == CHILD_OK ? asdnorm_strerror((asdnorm_status)st) : "no result");
        assert_int_equal(rc, CHILD_OK);
        assert_true(st == ASDNORM_OK || st == ASDNORM_E_NOMEM);
        if (h == 2)
            assert_int_equal(st, ASDNORM_OK);
    }
#endif
}

int main(void)
{
    /* The limit first: its children must be able to start threads, which the
     * children of a process whose library started a team do not. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_space_limit),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_fork_blas_control),
        cmocka_unit_test(test_fork_twice),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
