/* SPDX-License-Identifier: MIT */
/* The library's allocator. One place, so that the test build can inject
 * failures (tests/test_oom.c) and every size multiplication is checked. */
#include <stdlib.h>

#include "internal.h"

#ifdef ASDNORM_TESTING
/* Test-only global state: the test build is never installed or shared. */
static _Thread_local size_t fail_at;   /* 0: never fail */
static _Thread_local size_t counter;

size_t asdnorm__alloc_fail_at(size_t n)
{
    size_t made = counter;
    counter = 0;
    fail_at = n;
    return made;
}

static bool inject_failure(void)
{
    counter++;
    return fail_at != 0 && counter == fail_at;
}
#else
static inline bool inject_failure(void)
{
    return false;
}
#endif

void *asdnorm__malloc(size_t size)
{
    if (inject_failure())
        return NULL;
    return malloc(size ? size : 1);
}

void *asdnorm__calloc(size_t n, size_t size)
{
    if (inject_failure())
        return NULL;
    if (n == 0 || size == 0)
        n = size = 1;
    return calloc(n, size);
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
    if (inject_failure())
        return NULL;
    return realloc(p, size ? size : 1);
}

void asdnorm__free(void *p)
{
    free(p);
}
