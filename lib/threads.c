/* SPDX-License-Identifier: MIT */
/* The library's threads, and what they do to the host (docs/embedding.md).
 *
 * Batch work runs on an OpenMP team started by the calling thread, as many
 * threads as the object's thread count asks (asdnorm_index_set_threads,
 * asdnorm_scorer_set_threads) or else OpenMP's default; with 1, or inside the
 * application's own parallel region, everything runs on the calling thread.
 *
 * One pool of threads on the cores. In the regions where each thread calls the
 * BLAS on its own block, a BLAS with a thread pool of its own would start its
 * workers inside every call, and the two pools would share the cores: OpenBLAS's
 * pthreads build keeps its idle workers spinning (sched_yield) for a while after
 * every call, libgomp spin-waits after every region, and each steals the core
 * the other needs (docs/performance.md measures it). OpenBLAS 0.3.21 (Debian 12)
 * cannot be told per call or per thread to run single-threaded: its thread count
 * is a process-wide setting. So, unless the host allows the library to change
 * that setting (asdnorm_set_blas_control), such a region runs on the calling
 * thread alone and the BLAS's own threads split its calls; the other regions
 * keep their team. When the BLAS is single-threaded (OpenBLAS's serial or OpenMP
 * builds, OpenBLAS set to one thread by the host, another BLAS) nothing changes.
 *
 * A forked child of a process whose library started a team runs every region
 * on its calling thread: libgomp's pool does not survive fork (its threads are
 * gone, and the next team would wait for them forever).
 *
 * Under a finite address-space limit (RLIMIT_AS), OpenBLAS loops forever when it
 * cannot map the buffer a thread needs for a call; regions that call the BLAS
 * then check first that one buffer per thread can still be mapped, use fewer
 * threads when not, and fail with ASDNORM_E_NOMEM when not even one can. */
#define _GNU_SOURCE /* MAP_NORESERVE */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"

/* Present when the BLAS is OpenBLAS (weak: null otherwise). */
extern int openblas_get_num_threads(void) __attribute__((weak));
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern int openblas_get_parallel(void) __attribute__((weak));

/* The thread count of the public call running on this thread (0: default). */
static _Thread_local int call_threads;

/* The process that started the library's first team (0: none yet). */
static atomic_int team_pid;

/* Set by asdnorm_set_blas_control. */
static atomic_int blas_control;

int asdnorm__call_threads(int n)
{
    int prev = call_threads;
    call_threads = n;
    return prev;
}

/* Whether this process is a fork of one in which the library started a team. */
static bool forked(void)
{
    int pid = atomic_load_explicit(&team_pid, memory_order_relaxed);
    return pid != 0 && pid != (int)getpid();
}

int asdnorm__threads_planned(void)
{
#ifdef _OPENMP
    if (omp_in_parallel() || forked())
        return 1;
    return call_threads > 0 ? call_threads : omp_get_max_threads();
#else
    return 1;
#endif
}

/* ---- address space -------------------------------------------------------
 * Under a finite RLIMIT_AS, what a team needs is checked before it starts, by
 * mapping it (PROT_NONE, which counts against the limit) and releasing it at
 * once: libgomp ends the process when it cannot create a thread, and OpenBLAS
 * loops forever when it cannot map a thread's buffer. Best effort: the host's
 * own threads and BLAS calls hold address space too. */
static bool address_space_limited(void)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
}

/* The largest k ≤ n for which k blocks of `bytes` can be mapped now. */
static int mappable(int n, size_t bytes)
{
    for (int k = n; k > 0; k--) {
        void *p = mmap(NULL, (size_t)k * bytes, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED) {
            munmap(p, (size_t)k * bytes);
            return k;
        }
    }
    return 0;
}

/* The stack of a new thread: the C library's default, RLIMIT_STACK (8 MiB
 * when unlimited), and a guard page. */
static size_t thread_stack(void)
{
    struct rlimit rl;
    size_t size = (size_t)8 << 20;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        size = (size_t)rl.rlim_cur;
    return size + 4096;
}

int asdnorm__threads(void)
{
    int n = asdnorm__threads_planned();
    if (n <= 1)
        return n;
    /* A team may start now: from here on, a fork's child is on its own. */
    int none = 0;
    atomic_compare_exchange_strong(&team_pid, &none, (int)getpid());
    /* Room for every other thread's stack, whether the pool has it already
     * or not (libgomp keeps one pool per thread that starts teams). */
    if (address_space_limited())
        n = 1 + mappable(n - 1, thread_stack());
    return n;
}

int asdnorm__thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

int asdnorm__team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

asdnorm_status asdnorm_set_blas_control(int allow)
{
    if (allow != 0 && allow != 1)
        return ASDNORM_E_ARG;
    atomic_store(&blas_control, allow);
    return ASDNORM_OK;
}

/* OpenBLAS with its own pthreads (openblas_get_parallel() == 1), set to more
 * than one thread: each call from a thread of ours would start its workers. */
static bool blas_has_pool(void)
{
    return openblas_get_num_threads && openblas_set_num_threads && openblas_get_parallel &&
           openblas_get_parallel() == 1 && openblas_get_num_threads() > 1;
}

/* ---- the opt-in: OpenBLAS set to one thread while our threads call it ---- */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int users; /* library calls currently running with the BLAS serialized */
static int saved; /* the BLAS's thread count before the first of them */

static void serial_begin(void)
{
    pthread_mutex_lock(&lock);
    if (users++ == 0) {
        saved = openblas_get_num_threads();
        if (saved > 1)
            openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&lock);
}

static void serial_end(void)
{
    pthread_mutex_lock(&lock);
    if (--users == 0 && saved > 1)
        openblas_set_num_threads(saved);
    pthread_mutex_unlock(&lock);
}

/* ---- BLAS buffers ---------------------------------------------------------
 * OpenBLAS maps one buffer of BLAS_BUFFER bytes (128 MiB in Debian's builds)
 * for each thread inside a level-3 call and keeps it for later calls. Before
 * more threads of ours call the BLAS at once than ever before, under a finite
 * RLIMIT_AS, a buffer for each additional one must be mappable. */
#define BLAS_BUFFER ((size_t)128 << 20)

static atomic_int blas_active; /* threads of ours in regions calling the BLAS now */
static atomic_int blas_most;   /* the most there have been at once */

/* How many of nt more threads can get a buffer (0 to nt). */
static int fitting_threads(int nt)
{
    const int have = atomic_load(&blas_most) - atomic_load(&blas_active);
    if (nt <= have || !address_space_limited())
        return nt;
    const int base = have > 0 ? have : 0;
    return base + mappable(nt - base, BLAS_BUFFER);
}

int asdnorm__blas_begin(int nt, bool *serialized)
{
    *serialized = false;
    if (nt > 1 && blas_has_pool()) {
        if (atomic_load(&blas_control)) {
            serial_begin();
            *serialized = true;
        } else {
            nt = 1;
        }
    }
    nt = fitting_threads(nt);
    if (nt == 0) {
        if (*serialized)
            serial_end();
        *serialized = false;
        return 0;
    }
    const int now = atomic_fetch_add(&blas_active, nt) + nt;
    int most = atomic_load(&blas_most);
    while (now > most && !atomic_compare_exchange_weak(&blas_most, &most, now))
        ;
    return nt;
}

void asdnorm__blas_end(int nt, bool serialized)
{
    if (nt > 0)
        atomic_fetch_sub(&blas_active, nt);
    if (serialized)
        serial_end();
}
