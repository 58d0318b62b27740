/* SPDX-License-Identifier: MIT */
/* The one binary max-heap of lib/, for every selection and sort (no qsort:
 * glibc's may allocate behind the library's allocator, which the out-of-memory
 * tests must see, and its order of equal elements is unspecified).
 *
 * The caller's elements are reached through two functions of the positions,
 * less(ctx, a, b) (element a orders before element b) and swap(ctx, a, b), so
 * one code serves arrays of numbers, arrays of structs and parallel arrays.
 * Everything is static inline: where the two functions are known constants,
 * the compiler inlines them into the loops. */
#ifndef ASDNORM_HEAP_H
#define ASDNORM_HEAP_H

#include <stdbool.h>
#include <stddef.h>

typedef bool (*asdnorm__heap_less)(const void *ctx, size_t a, size_t b);
typedef void (*asdnorm__heap_swap)(void *ctx, size_t a, size_t b);

/* The two functions for a plain array of floats. */
static inline bool asdnorm__float_less(const void *f, size_t a, size_t b)
{
    return ((const float *)f)[a] < ((const float *)f)[b];
}

static inline void asdnorm__float_swap(void *f, size_t a, size_t b)
{
    float *v = f, t = v[a];
    v[a] = v[b];
    v[b] = t;
}

/* Restore the max-heap order of elements 0 … n − 1 below position i. */
static inline void asdnorm__heap_down(void *ctx, size_t n, size_t i, asdnorm__heap_less less,
                                      asdnorm__heap_swap swap)
{
    for (;;) {
        const size_t l = 2 * i + 1;
        size_t big = i;
        if (l < n && less(ctx, big, l))
            big = l;
        if (l + 1 < n && less(ctx, big, l + 1))
            big = l + 1;
        if (big == i)
            return;
        swap(ctx, i, big);
        i = big;
    }
}

/* Make elements 0 … n − 1 a max-heap: the largest at position 0. */
static inline void asdnorm__heap_make(void *ctx, size_t n, asdnorm__heap_less less,
                                      asdnorm__heap_swap swap)
{
    for (size_t i = n / 2; i-- > 0;)
        asdnorm__heap_down(ctx, n, i, less, swap);
}

/* Sort elements 0 … n − 1 ascending (heapsort: O(n log n), no memory). */
static inline void asdnorm__heap_sort(void *ctx, size_t n, asdnorm__heap_less less,
                                      asdnorm__heap_swap swap)
{
    asdnorm__heap_make(ctx, n, less, swap);
    for (size_t end = n; end > 1; end--) {
        swap(ctx, 0, end - 1);
        asdnorm__heap_down(ctx, end - 1, 0, less, swap);
    }
}

#endif /* ASDNORM_HEAP_H */
