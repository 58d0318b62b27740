/* SPDX-License-Identifier: MIT */
/* Score test embeddings against normal references with libasdnorm.
 * Build: cc score.c $(pkg-config --cflags --libs asdnorm) -o score
 * Run:   ./score [seed]   (random data: 200 source refs, 5 shifted target refs) */
#include <stdio.h>
#include <stdlib.h>

#include <asdnorm/asdnorm.h>

#define DIM 16
#define N_SRC 200
#define N_TGT 5
#define N_TEST 6

/* On failure, print the library's message and leave through `done` (frees everything). */
#define CHECK(call) do { st = (call); if (st != ASDNORM_OK) { \
    fprintf(stderr, "%s: %s\n", #call, asdnorm_strerror(st)); goto done; } } while (0)

static float noise(uint32_t *s) /* xorshift32, uniform in [-0.5, 0.5): enough for a demo */
{
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return (float)(*s >> 8) / 16777216.0f - 0.5f;
}

int main(int argc, char **argv)
{
    uint32_t seed = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) | 1u : 1u;
    static float refs[(N_SRC + N_TGT) * DIM], tests[N_TEST * DIM], scores[N_TEST];
    static uint8_t domains[N_SRC + N_TGT];
    size_t nearest[N_TEST];
    for (int i = 0; i < N_SRC + N_TGT; i++) { /* source around +e0, target around +e1 */
        domains[i] = i < N_SRC ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;
        for (int j = 0; j < DIM; j++)
            refs[i * DIM + j] = noise(&seed) + (j == (i < N_SRC ? 0 : 1) ? 3.0f : 0.0f);
    }
    for (int i = 0; i < N_TEST; i++) /* 2 source-like, 2 target-like, 2 anomalies (+e2) */
        for (int j = 0; j < DIM; j++)
            tests[i * DIM + j] = noise(&seed) + (j == i / 2 ? 3.0f : 0.0f);

    asdnorm_index *ix = NULL;
    asdnorm_scorer *sc = NULL;
    asdnorm_status st;
    CHECK(asdnorm_index_new(DIM, ASDNORM_DISTANCE_COSINE, &ix));
    CHECK(asdnorm_index_add(ix, refs, N_SRC + N_TGT, domains));
    CHECK(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1.0)); /* the paper's default */
    CHECK(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc));
    CHECK(asdnorm_scorer_score(sc, tests, N_TEST, scores, nearest));
    printf("libasdnorm %s\ntest  score   nearest reference (domain)\n", asdnorm_version());
    for (int i = 0; i < N_TEST; i++)
        printf("%4d  %6.3f  %4zu (%s)\n", i, scores[i], nearest[i],
               domains[nearest[i]] == ASDNORM_DOMAIN_SOURCE ? "source" : "target");
done:
    asdnorm_scorer_free(sc);
    asdnorm_index_free(ix);
    return st == ASDNORM_OK ? 0 : 1;
}
