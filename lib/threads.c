/* SPDX-License-Identifier: MIT */
/* One pool of threads on the cores.
 *
 * The library's batch work runs on its own (OpenMP) threads, each calling the
 * BLAS on its own block. A multithreaded BLAS would then start its own workers
 * inside every call, and two pools would share the cores: OpenBLAS's pthreads
 * build keeps its idle workers spinning (sched_yield) for a while after every
 * call, libgomp spin-waits after every region, and on a 2-core machine each
 * steals the core the other needs (docs/performance.md measures it). So while
 * the library's own threads call the BLAS, a BLAS with its own pthreads is
 * asked to run single-threaded, and its thread count is restored when the last
 * such call in the process returns.
 *
 * Handled: OpenBLAS (found by its weak symbols, whichever libblas.so.3 it is
 * installed as). Its OpenMP build needs nothing (a call from inside a parallel
 * region runs single-threaded there), its serial build neither. Another BLAS
 * is called as it is. The setting is process-wide: a BLAS call made by the
 * application's other threads meanwhile also runs single-threaded. */
#include <pthread.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"

/* Present when the BLAS is OpenBLAS (weak: null otherwise). */
extern int openblas_get_num_threads(void) __attribute__((weak));
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern int openblas_get_parallel(void) __attribute__((weak));

int asdnorm__threads(void)
{
#ifdef _OPENMP
    return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    return 1;
#endif
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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int users; /* library calls currently running with the BLAS serialized */
static int saved; /* the BLAS's thread count before the first of them */

/* OpenBLAS with its own pthreads (openblas_get_parallel() == 1). */
static bool controllable(void)
{
    return openblas_get_num_threads && openblas_set_num_threads && openblas_get_parallel &&
           openblas_get_parallel() == 1;
}

bool asdnorm__blas_serial_begin(void)
{
    if (!controllable())
        return false;
    pthread_mutex_lock(&lock);
    if (users++ == 0) {
        saved = openblas_get_num_threads();
        if (saved > 1)
            openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&lock);
    return true;
}

void asdnorm__blas_serial_end(bool began)
{
    if (!began)
        return;
    pthread_mutex_lock(&lock);
    if (--users == 0 && saved > 1)
        openblas_set_num_threads(saved);
    pthread_mutex_unlock(&lock);
}
