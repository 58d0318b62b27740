/* SPDX-License-Identifier: MIT */
/* Writes the seed corpus of fuzz_load (tests/fuzz/corpus/load/): small valid
 * saved indexes covering every distance and estimator, a single reference,
 * k-means centroids under cosine (c_j = 1), all three domain labels, densities
 * given by set_density, and an index updated by add and remove. This library
 * writes format version 2 (files v2-*.asdx); the version-1 seeds (the other
 * names, written by libasdnorm 0.1 from the same indexes) are kept, so that the
 * fuzzer covers both readers. Deterministic: the same files on every run and
 * platform.
 *   make-load-corpus DIR */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <asdnorm/asdnorm.h>

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Values on a coarse grid keep the files small to mutate and easy to read. */
static float *rows(uint64_t seed, size_t n, size_t dim)
{
    float *x = malloc(n * dim * sizeof *x);
    for (size_t i = 0; i < n * dim; i++)
        x[i] = (float)((int)(next(&seed) % 17) - 8) * 0.125f + 0.0625f;
    return x;
}

static int save(const char *dir, const char *name, asdnorm_index *ix)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    asdnorm_status st = asdnorm_index_save(ix, path);
    if (st != ASDNORM_OK)
        fprintf(stderr, "make-load-corpus: %s: %s\n", path, asdnorm_strerror(st));
    asdnorm_index_free(ix);
    return st == ASDNORM_OK ? 0 : 1;
}

static asdnorm_index *make(asdnorm_distance dist, size_t m, size_t dim, asdnorm_density est,
                           double param, uint64_t seed)
{
    float *y = rows(seed, m, dim);
    uint8_t *dom = malloc(m);
    for (size_t j = 0; j < m; j++)
        dom[j] = (uint8_t)(j % 3);
    asdnorm_index *ix = NULL;
    if (asdnorm_index_new(dim, dist, &ix) != ASDNORM_OK ||
        asdnorm_index_add(ix, y, m, dom) != ASDNORM_OK ||
        asdnorm_index_finalize(ix, est, param) != ASDNORM_OK) {
        fprintf(stderr, "make-load-corpus: building an index failed\n");
        exit(1);
    }
    free(y);
    free(dom);
    return ix;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make-load-corpus DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int bad = 0;
    bad |= save(dir, "v2-cosine-knn1.asdx", make(ASDNORM_DISTANCE_COSINE, 5, 3, ASDNORM_DENSITY_KNN, 1, 1));
    bad |= save(dir, "v2-cosine-gwrp.asdx", make(ASDNORM_DISTANCE_COSINE, 7, 4, ASDNORM_DENSITY_GWRP, 0.5, 2));
    bad |= save(dir, "v2-euclidean-knn3.asdx", make(ASDNORM_DISTANCE_EUCLIDEAN, 6, 2, ASDNORM_DENSITY_KNN, 3, 3));
    bad |= save(dir, "v2-euclidean-none.asdx", make(ASDNORM_DISTANCE_EUCLIDEAN, 3, 5, ASDNORM_DENSITY_NONE, 0, 4));
    bad |= save(dir, "v2-mse-gwrp1.asdx", make(ASDNORM_DISTANCE_MSE, 4, 3, ASDNORM_DENSITY_GWRP, 1.0, 5));
    bad |= save(dir, "v2-mse-one.asdx", make(ASDNORM_DISTANCE_MSE, 1, 6, ASDNORM_DENSITY_NONE, 0, 6));
    bad |= save(dir, "v2-cosine-larger.asdx", make(ASDNORM_DISTANCE_COSINE, 24, 16, ASDNORM_DENSITY_KNN, 2, 7));

    /* k-means centroids under cosine: stored as they are, c_j = 1. */
    float *y = rows(8, 12, 4);
    uint8_t dom[12];
    for (size_t j = 0; j < 12; j++)
        dom[j] = j < 9 ? 1 : 2;
    asdnorm_index *src = NULL, *means = NULL;
    if (asdnorm_index_new(4, ASDNORM_DISTANCE_COSINE, &src) != ASDNORM_OK ||
        asdnorm_index_add(src, y, 12, dom) != ASDNORM_OK ||
        asdnorm_source_means(src, 2, 1, 42, &means) != ASDNORM_OK ||
        asdnorm_index_finalize(means, ASDNORM_DENSITY_KNN, 1) != ASDNORM_OK) {
        fprintf(stderr, "make-load-corpus: source means failed\n");
        return 1;
    }
    bad |= save(dir, "v2-cosine-centroids.asdx", means);

    /* Densities given (no lists); K clipped (7 requested, 4 kept) and then grown by
     * adds; a removal. */
    asdnorm_index *given = make(ASDNORM_DISTANCE_EUCLIDEAN, 5, 3, ASDNORM_DENSITY_KNN, 1, 9);
    const double dens[5] = {0.5, 0.25, 1.0, 0.125, 2.0};
    asdnorm_index *upd = make(ASDNORM_DISTANCE_MSE, 5, 3, ASDNORM_DENSITY_KNN, 7, 10);
    float *more = rows(11, 4, 3);
    const size_t gone[2] = {1, 6};
    if (asdnorm_index_set_density(given, ASDNORM_DENSITY_KNN, 2, dens, 5) != ASDNORM_OK ||
        asdnorm_index_add(upd, more, 4, NULL) != ASDNORM_OK ||
        asdnorm_index_remove(upd, gone, 2) != ASDNORM_OK) {
        fprintf(stderr, "make-load-corpus: updates failed\n");
        return 1;
    }
    free(more);
    bad |= save(dir, "v2-euclidean-given.asdx", given);
    bad |= save(dir, "v2-mse-updated.asdx", upd);
    asdnorm_index_free(src);
    free(y);
    return bad;
}
