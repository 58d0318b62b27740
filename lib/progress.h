/* SPDX-License-Identifier: MIT */
/* Progress reporting and cancellation (asdnorm_index_set_progress,
 * asdnorm_scorer_set_progress): the one mechanism behind every long call.
 *
 * A call that reports keeps a struct asdnorm__progress on its stack, started
 * by asdnorm__progress_begin (which reports 0) and ended by
 * asdnorm__progress_end (which reports 1). Its work is cut into stages, each
 * a share of [0, 1] counted in units (groups of tests, tasks, rows); every
 * thread of the team calls asdnorm__progress_tick once per unit done, at the
 * outer loop's block boundaries. The host's callback runs only on the
 * calling thread, the one that began the call (OpenMP's master thread of the
 * call's teams), never concurrently, and at most every
 * ASDNORM_PROGRESS_INTERVAL_NS; the other threads only count units and poll
 * the cancel flag (relaxed atomics). Once the callback has returned nonzero
 * every tick returns true on every thread: the loops skip their remaining
 * units, and the call returns ASDNORM_E_CANCELED without changing its object.
 * A NULL progress, or one begun without a callback, reports nothing and is
 * never canceled, so the searches shared with LOF and SMOTE take NULL. */
#ifndef ASDNORM_PROGRESS_H
#define ASDNORM_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asdnorm/asdnorm.h"

/* The least time between two reports of one call, beside the first (0) and
 * the last (1): 20 ms, so a slow callback (a Python function, a terminal
 * redraw) costs nothing measurable, yet a cancel is seen within one unit of
 * the calling thread's work after it. */
#define ASDNORM_PROGRESS_INTERVAL_NS ((uint64_t)20000000)

#ifdef ASDNORM_TESTING
/* The interval in force; tests set it to 0 to be called at every unit. */
extern uint64_t asdnorm__progress_interval_ns;
#endif

struct asdnorm__progress {
    asdnorm_progress_fn fn; /* NULL: nothing is reported, nothing canceled */
    void *user;
    pthread_t owner;        /* the calling thread, the only one that calls fn */
    double base, span;      /* the current stage's share: [base, base + span] */
    size_t total;           /* its units */
    atomic_size_t done;     /* its units done, counted by every thread */
    double last;            /* the last fraction reported */
    uint64_t next;          /* no report before this time (monotonic, ns) */
    atomic_bool canceled;
};

/* Begin a call on the calling thread: reports 0 when fn is set.
 * ASDNORM_OK, or ASDNORM_E_CANCELED when the callback cancels at once. */
asdnorm_status asdnorm__progress_begin(struct asdnorm__progress *p, asdnorm_progress_fn fn,
                                       void *user);
/* The next stage: the following `span` of [0, 1], in `total` units. Only on
 * the calling thread, outside the team's regions. */
void asdnorm__progress_stage(struct asdnorm__progress *p, double span, size_t total);
/* The end, on the calling thread: reports 1. ASDNORM_OK, or
 * ASDNORM_E_CANCELED when the call was canceled before or is now. */
asdnorm_status asdnorm__progress_end(struct asdnorm__progress *p);
/* The report behind asdnorm__progress_tick (progress.c). */
bool asdnorm__progress_report(struct asdnorm__progress *p);

/* The call was canceled. Any thread. */
static inline bool asdnorm__progress_canceled(struct asdnorm__progress *p)
{
    return p && atomic_load_explicit(&p->canceled, memory_order_relaxed);
}

/* `units` more of the stage done (0: none, just a chance to report). Any
 * thread; only the calling thread reports. True when the call is canceled:
 * the caller skips the rest of its work. */
static inline bool asdnorm__progress_tick(struct asdnorm__progress *p, size_t units)
{
    if (!p || !p->fn)
        return false;
    if (units)
        atomic_fetch_add_explicit(&p->done, units, memory_order_relaxed);
    if (atomic_load_explicit(&p->canceled, memory_order_relaxed))
        return true;
    return pthread_equal(pthread_self(), p->owner) && asdnorm__progress_report(p);
}

/* A unit of work reported on: about 2²⁹ multiply–adds, ~30 ms on one core
 * (bench/progress_gap.c, docs/embedding.md). */
#define ASDNORM_PROGRESS_UNIT_OPS ((size_t)1 << 29)

/* The rows of a group of a batch: max_rows, or with a callback fewer, so that a
 * group of rows of ops_per_row multiply–adds each stays within a unit and the
 * calling thread reports at least that often. The results do not depend on the
 * groups. */
static inline size_t asdnorm__progress_rows(const struct asdnorm__progress *p, size_t max_rows,
                                            size_t ops_per_row)
{
    if (!p || !p->fn || ops_per_row == 0)
        return max_rows;
    const size_t rows = ASDNORM_PROGRESS_UNIT_OPS / ops_per_row;
    return rows < 1 ? 1 : rows < max_rows ? rows : max_rows;
}

#endif /* ASDNORM_PROGRESS_H */
