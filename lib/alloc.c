/* SPDX-License-Identifier: MIT */
/* The library's allocator. Every allocation of the library goes through here:
 * to the host's functions when it installed them (asdnorm_set_allocator), else
 * to the C library's; every size multiplication is checked. The out-of-memory
 * test (tests/test_oom.c) injects its failures through the same path, with an
 * allocator of its own.
 *
 * One process-wide allocator rather than one per object: the library allocates
 * in functions that have no object (the metrics, k-means, SMOTE) and in objects
 * made from other objects (source means, SMOTE on an index, a loaded index),
 * and a host's memory policy is the process's; so, as SQLite and libuv do, it
 * is installed once, before the library holds any memory. */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

static void *std_malloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void *std_calloc(void *user, size_t n, size_t size)
{
    (void)user;
    return calloc(n, size);
}

static void *std_realloc(void *user, void *p, size_t size)
{
    (void)user;
    return realloc(p, size);
}

static void std_free(void *user, void *p)
{
    (void)user;
    free(p);
}

static const asdnorm_allocator std = {std_malloc, std_calloc, std_realloc, std_free, NULL};
static asdnorm_allocator mem = {std_malloc, std_calloc, std_realloc, std_free, NULL};

/* Blocks the library holds now: the allocator may change only at 0. */
static atomic_size_t live;

asdnorm_status asdnorm_set_allocator(const asdnorm_allocator *a)
{
    if (a && (!a->malloc_fn || !a->calloc_fn || !a->realloc_fn || !a->free_fn))
        return ASDNORM_E_NULL;
    if (atomic_load(&live) != 0)
        return ASDNORM_E_STATE;
    mem = a ? *a : std;
    return ASDNORM_OK;
}

static void *counted(void *p)
{
    if (p)
        atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return p;
}

void *asdnorm__malloc(size_t size)
{
    return counted(mem.malloc_fn(mem.user, size ? size : 1));
}

void *asdnorm__calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0)
        n = size = 1;
    return counted(mem.calloc_fn(mem.user, n, size));
}

void *asdnorm__mallocn(size_t n, size_t size)
{
    size_t total;
    if (!asdnorm__mul_ok(n, size, &total))
        return NULL;
    return asdnorm__malloc(total);
}

void *asdnorm__realloc(void *p, size_t size)
{
    if (!p)
        return asdnorm__malloc(size);
    return mem.realloc_fn(mem.user, p, size ? size : 1);
}

void asdnorm__free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
    mem.free_fn(mem.user, p);
}
