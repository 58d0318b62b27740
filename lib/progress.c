/* SPDX-License-Identifier: MIT */
/* Progress reporting and cancellation (progress.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, CLOCK_MONOTONIC under -std=c11 */
#include <time.h>

#include "progress.h"

#ifdef ASDNORM_TESTING
uint64_t asdnorm__progress_interval_ns = ASDNORM_PROGRESS_INTERVAL_NS;
#define INTERVAL asdnorm__progress_interval_ns
#else
#define INTERVAL ASDNORM_PROGRESS_INTERVAL_NS
#endif

/* Fractions from here on are left to asdnorm__progress_end, which reports 1. */
#define BELOW_ONE (1.0 - 0x1p-30)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Hand f (≥ every fraction reported before) to the callback; a nonzero
 * return cancels the call. */
static bool call(struct asdnorm__progress *p, double f)
{
    p->last = f;
    if (p->fn(f, p->user) == 0)
        return false;
    atomic_store_explicit(&p->canceled, true, memory_order_relaxed);
    return true;
}

asdnorm_status asdnorm__progress_begin(struct asdnorm__progress *p, asdnorm_progress_fn fn,
                                       void *user)
{
    p->fn = fn;
    p->user = user;
    p->owner = pthread_self();
    p->base = p->span = 0.0;
    p->total = 0;
    atomic_init(&p->done, 0);
    atomic_init(&p->canceled, false);
    p->last = 0.0;
    if (!fn)
        return ASDNORM_OK;
    p->next = now_ns() + INTERVAL;
    return call(p, 0.0) ? ASDNORM_E_CANCELED : ASDNORM_OK;
}

void asdnorm__progress_stage(struct asdnorm__progress *p, double span, size_t total)
{
    if (!p)
        return;
    p->base += p->span;
    p->span = span;
    p->total = total;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
}

bool asdnorm__progress_report(struct asdnorm__progress *p)
{
    const uint64_t t = now_ns();
    if (t < p->next)
        return false;
    const size_t done = atomic_load_explicit(&p->done, memory_order_relaxed);
    double f = p->base;
    if (p->total > 0)
        f += p->span * (double)(done < p->total ? done : p->total) / (double)p->total;
    if (f >= BELOW_ONE)
        return false; /* all done: the end reports 1 */
    p->next = t + INTERVAL;
    return call(p, f < p->last ? p->last : f);
}

asdnorm_status asdnorm__progress_end(struct asdnorm__progress *p)
{
    if (!p || !p->fn)
        return ASDNORM_OK;
    if (atomic_load_explicit(&p->canceled, memory_order_relaxed) || call(p, 1.0))
        return ASDNORM_E_CANCELED;
    return ASDNORM_OK;
}
