/* SPDX-License-Identifier: MIT */
/* What the two k-nearest-neighbour searches share (knn.c): the candidate
 * types, a thread's buffers, the job, and the end of a row (exact refinement,
 * sort, callback). The searches: knn_block.c (query rows in blocks against all
 * references: knn queries, and finalize when symmetry cannot be used) and
 * knn_sym.c (finalize with each pair computed once). */
#ifndef ASDNORM_KNN_H
#define ASDNORM_KNN_H

#include <math.h>

#include "internal.h"
#include "progress.h"

/* Candidates beyond this many keep their float distance. Only GWRP with r near 1
 * needs more: its far terms have tiny weights, and their rounding error is
 * relative to the largest distances, not the smallest. */
#define MAX_REFINE 8192
/* The blocked search's heap capacity beyond k: room for the references whose
 * float distances are indistinguishable from the k-th (clusters tighter than
 * float rounding). When more than that are, its row is taken whole. */
#define MARGIN 256
/* Columns per cheap-reject chunk. */
#define CHUNK 64

struct hcand {
    float v; /* lower bound d̃ − e: the heap key */
    float d; /* d̃ */
    size_t j;
};

struct cand {
    double d;
    size_t j;
};

/* (v, j) ordering: by value, ties by position, so selection is deterministic. */
static inline bool hless(struct hcand a, struct hcand b)
{
    return a.v < b.v || (a.v == b.v && a.j < b.j);
}

/* The heap's access to arrays of struct hcand (heap.h). */
static inline bool hcand_less(const void *h, size_t a, size_t b)
{
    return hless(((const struct hcand *)h)[a], ((const struct hcand *)h)[b]);
}

static inline void hcand_swap(void *h, size_t a, size_t b)
{
    struct hcand *v = h, t = v[a];
    v[a] = v[b];
    v[b] = t;
}

/* An upper bound on asdnorm__err(ix, E, d) for every d: E (cosine, mse) or √E
 * (euclidean: E/d < √E when d > √E), widened to cover the rounding of √ and /.
 * Since d̃ − err ≥ d̃ − cap, d̃ − cap > t proves the lower bound exceeds t. */
static inline float asdnorm__knn_err_cap(const asdnorm_index *ix, float E)
{
    return ix->distance == ASDNORM_DISTANCE_EUCLIDEAN ? sqrtf(E) * (1.0f + 0x1p-20f) : E;
}

/* One thread's buffers. */
struct scratch {
    float *ub;
    struct hcand *heap;
    struct cand *cand;
    double *dist;
    size_t *idx;
    /* the blocked search only: a group's queries and its block of distances */
    float *block, *Q, *qaux;
    double *qnorm;
};

struct job {
    const asdnorm_index *ix;
    const float *x; /* n raw query rows, or NULL for the stored references q0 … q0 + n − 1 */
    size_t n, k, c;
    asdnorm__knn_row_fn fn;
    void *ctx;
    struct asdnorm__progress *prog; /* the call's progress (progress.h), or NULL */
    size_t q0;     /* with x NULL: the first stored row queried; rows are reported as q0 + i */
    size_t lo, hi; /* the references searched, positions lo … hi − 1 (a stored query row
                    * among them is skipped) */
    size_t split;  /* the symmetric search only: 0, or rows below split are searched among
                    * the rows from split on and those among the rows below it */
};

/* Refine the r candidates in s->heap exactly and emit the row (knn.c). */
asdnorm_status asdnorm__knn_finish_row(const struct job *jb, struct scratch *s, size_t r,
                                       size_t qi, const float *qraw, double qnorm);
/* Sort the r refined candidates in s->cand (ties by position) and hand the
 * first k to the callback (knn.c). */
asdnorm_status asdnorm__knn_emit_row(const struct job *jb, struct scratch *s, size_t r, size_t qi);
void asdnorm__knn_free_scratch(struct scratch *s, int n);

/* The blocked search (knn_block.c). */
asdnorm_status asdnorm__knn_blocked(const struct job *jb);
/* Finalize with symmetry (knn_sym.c): *cap, the per-row list size it would
 * use, when the symmetric search applies (d(i, j) = d(j, i), and its lists fit
 * its memory budget); avail: the most references a row is searched among. */
bool asdnorm__knn_sym_applies(const asdnorm_index *ix, size_t k, size_t avail, size_t *cap);
asdnorm_status asdnorm__knn_sym(const struct job *jb, size_t cap);

#endif /* ASDNORM_KNN_H */
