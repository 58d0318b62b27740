/* SPDX-License-Identifier: MIT */
/* Data families on which the library's speed must not depend (issue 12), shared
 * by the benchmarks and tests/test_families.c: seeded, identical everywhere.
 *
 *   iso      isotropic Gaussian N(0, 1)
 *   loose    C clusters, centres N(0, 1), noise 0.7 per coordinate
 *   tight4   C clusters, noise √(2·10⁻⁴): nearest-neighbour cosine distance ≈ 10⁻⁴
 *   tight6   the same with noise √(2·10⁻⁶): ≈ 10⁻⁶
 *   dup30    loose, then about 30 % of the rows exact copies of earlier rows
 *   ident    every reference the same row
 *   lowrank  an 8-dimensional subspace (Gaussian coordinates) plus noise 10⁻³
 *
 * Under cosine a member of a tight cluster is c + σ·n with ‖c‖² ≈ D, so two
 * members are ≈ ½ σ² apart. Tests are drawn from the same family with another
 * seed; for dup30 about 30 % of the tests copy a reference, for ident half of
 * them are the reference itself and half lie within 10⁻³ of it. */
#ifndef ASDNORM_BENCH_FAMILIES_H
#define ASDNORM_BENCH_FAMILIES_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum family { FAM_ISO, FAM_LOOSE, FAM_TIGHT4, FAM_TIGHT6, FAM_DUP30, FAM_IDENT, FAM_LOWRANK,
              FAM_COUNT };

static const char *const family_name[FAM_COUNT] = {"iso",  "loose", "tight4", "tight6",
                                                   "dup30", "ident", "lowrank"};

/* splitmix64, and a standard normal by Box–Muller. */
static inline double fam_uniform(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1p-53;
}

static inline double fam_normal(uint64_t *s)
{
    const double u = fam_uniform(s), v = fam_uniform(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* n rows of family f (n × d floats, caller's buffer) with C clusters. The
 * centres and the low-rank basis depend only on d and C (seeded alike for
 * references and tests); seed picks the rows. refs/m: the references, which
 * the tests of dup30 and ident copy (NULL when generating references). */
static inline void family_fill(enum family f, float *x, size_t n, size_t d, size_t C,
                               uint64_t seed, const float *refs, size_t m)
{
    enum { RANK = 8 };
    uint64_t s = 12345;
    const size_t nb = f == FAM_LOWRANK ? RANK : C;
    double *base = malloc(nb * d * sizeof *base);
    for (size_t i = 0; i < nb * d; i++)
        base[i] = fam_normal(&s) / (f == FAM_LOWRANK ? sqrt((double)RANK) : 1.0);
    s = seed;
    const double sigma = f == FAM_LOOSE || f == FAM_DUP30 ? 0.7
                         : f == FAM_TIGHT4               ? sqrt(2e-4)
                         : f == FAM_TIGHT6               ? sqrt(2e-6)
                                                         : 1e-3;
    for (size_t i = 0; i < n; i++) {
        float *row = x + i * d;
        const double u = fam_uniform(&s);
        if (f == FAM_ISO) {
            for (size_t k = 0; k < d; k++)
                row[k] = (float)fam_normal(&s);
        } else if (f == FAM_LOWRANK) {
            double z[RANK];
            for (size_t r = 0; r < RANK; r++)
                z[r] = fam_normal(&s);
            for (size_t k = 0; k < d; k++) {
                double v = sigma * fam_normal(&s);
                for (size_t r = 0; r < RANK; r++)
                    v += z[r] * base[r * d + k];
                row[k] = (float)v;
            }
        } else if (f == FAM_IDENT) {
            const int exact = refs == NULL || u < 0.5;
            for (size_t k = 0; k < d; k++)
                row[k] = (float)(base[k] + (exact ? 0.0 : sigma * fam_normal(&s)));
        } else if (f == FAM_DUP30 && u < 0.3 && (refs ? m > 0 : i > 0)) {
            const size_t from = (size_t)(fam_uniform(&s) * (double)(refs ? m : i));
            memcpy(row, refs ? refs + from * d : x + from * d, d * sizeof *row);
        } else {
            const size_t c = (size_t)(fam_uniform(&s) * (double)C) % C;
            for (size_t k = 0; k < d; k++)
                row[k] = (float)(base[c * d + k] + sigma * fam_normal(&s));
        }
    }
    free(base);
}

#endif /* ASDNORM_BENCH_FAMILIES_H */
