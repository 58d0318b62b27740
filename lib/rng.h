/* SPDX-License-Identifier: MIT */
/* The seeded generator of the baselines: xoshiro256** (Blackman & Vigna),
 * its state filled by splitmix64. Identical on every platform, so seeded
 * results are reproducible everywhere. Each caller derives its own starting
 * value, so that modules (and k-means restarts) draw independent streams. */
#ifndef ASDNORM_RNG_H
#define ASDNORM_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} asdnorm__rng;

static inline uint64_t asdnorm__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void asdnorm__rng_init(asdnorm__rng *r, uint64_t x)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = asdnorm__splitmix64(&x);
}

static inline uint64_t asdnorm__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t asdnorm__rng_next(asdnorm__rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = asdnorm__rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = asdnorm__rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double asdnorm__rng_uniform(asdnorm__rng *r)
{
    return (double)(asdnorm__rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n ≥ 1, unbiased (rejection of the short last bucket). */
static inline uint64_t asdnorm__rng_below(asdnorm__rng *r, uint64_t n)
{
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = asdnorm__rng_next(r);
    while (v >= limit);
    return v % n;
}

#endif /* ASDNORM_RNG_H */
