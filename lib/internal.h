/* SPDX-License-Identifier: MIT */
/* Internal interfaces shared by the modules of lib/. Nothing here is exported:
 * the shared library is built with -fvisibility=hidden and a version script. */
#ifndef ASDNORM_INTERNAL_H
#define ASDNORM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asdnorm/asdnorm.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---- allocation (alloc.c) --------------------------------------------------
 * Every allocation of the library goes through these, to the allocator the
 * host installed (asdnorm_set_allocator) or the C library's; size 0 asks for
 * 1 byte. asdnorm__mallocn(n, size) returns NULL on n·size overflow. */
void *asdnorm__malloc(size_t size);
void *asdnorm__calloc(size_t n, size_t size);
void *asdnorm__mallocn(size_t n, size_t size);
void *asdnorm__realloc(void *p, size_t size);
void asdnorm__free(void *p);

#ifdef ASDNORM_TESTING
/* Make asdnorm_index_save() use a named temporary file, as it does where O_TMPFILE is
 * missing (io.c), so that the tests cover that path too. Test-only. */
extern bool asdnorm__io_no_tmpfile;
#endif

/* a·b into *out; false on overflow. */
static inline bool asdnorm__mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* n rows of dim floats fit in memory's address range: n · dim · sizeof(float)
 * does not overflow size_t. Every public entry point taking a batch checks it. */
static inline bool asdnorm__rows_fit(size_t n, size_t dim)
{
    size_t elems, bytes;
    return asdnorm__mul_ok(n, dim, &elems) && asdnorm__mul_ok(elems, sizeof(float), &bytes);
}

/* Below this many element operations a loop runs on the calling thread alone:
 * starting a team, and libgomp's busy-waiting when the cores are shared, cost
 * more than the work (small batches took 4–20× the CPU with threads). */
#define ASDNORM_PARALLEL_WORK ((size_t)1 << 20)

/* The kinds of batch work and how much of each is worth a team of threads,
 * all in one place. ops counts element operations (multiply–adds):
 *  PASS     a pass over memory (a transform, validation, a copy): ops ≥ 2²⁰;
 *  SCORE    scoring a batch (each thread a group of tests with its own BLAS
 *           calls): n·M·D ≥ 2²⁰, and at least 2 tests;
 *  SEARCH   the blocked k-NN search (per-thread blocks, larger buffers to
 *           fill): n·M·D ≥ 2²⁴;
 *  FINALIZE the symmetric finalize (a task grid and its locks, worth it only
 *           when there are several tasks per thread): M²/2·D ≥ 2²⁶.
 * Measured on 2 cores (docs/performance.md): below these, starting the team
 * cost more than the threads saved. */
enum asdnorm__work { ASDNORM_WORK_PASS, ASDNORM_WORK_SCORE, ASDNORM_WORK_SEARCH,
                     ASDNORM_WORK_FINALIZE };

static inline bool asdnorm__worth_threads(enum asdnorm__work kind, size_t ops)
{
    switch (kind) {
    case ASDNORM_WORK_PASS: /* fall through: the same threshold */
    case ASDNORM_WORK_SCORE: return ops >= ASDNORM_PARALLEL_WORK;
    case ASDNORM_WORK_SEARCH: return ops >= 16 * ASDNORM_PARALLEL_WORK;
    case ASDNORM_WORK_FINALIZE: return ops >= 64 * ASDNORM_PARALLEL_WORK;
    }
    return false;
}

/* Split n ≥ 1 rows between nt threads in groups of at most max_rows: as few
 * groups as max_rows allows, rounded up to a multiple of nt, of equal height
 * (*rows), so that every thread gets the same number of rows (N = 1,250,
 * max_rows 512, 2 threads: 4 groups of 313, not 512 + 512 + 226 with one
 * thread doing two of them). Returns the number of groups. */
static inline size_t asdnorm__split_rows(size_t n, size_t max_rows, size_t nt, size_t *rows)
{
    size_t groups = (n + max_rows - 1) / max_rows;
    groups = (groups + nt - 1) / nt * nt;
    *rows = (n + groups - 1) / groups;
    return (n + *rows - 1) / *rows;
}

/* ---- threads (threads.c) ------------------------------------------------------
 * The number of threads a parallel region of the library would use now: the
 * thread count of the public call running on this thread, else OpenMP's
 * default; 1 inside the application's own parallel region and in a forked
 * child of a process whose library started a team. */
int asdnorm__threads(void);
/* The same number, for sizing workspaces ahead of any team. */
int asdnorm__threads_planned(void);
/* Set this thread's call thread count (0: the default) for the public call
 * about to run; returns the previous one, to be restored when it returns. */
int asdnorm__call_threads(int n);
/* This thread's number in the current team (0 outside a parallel region),
 * and the team's size (1 outside). */
int asdnorm__thread_id(void);
int asdnorm__team_size(void);
/* Around a parallel region of nt threads each calling the BLAS: the number of
 * threads it may use (1 when the BLAS has its own pool of threads and the host
 * has not allowed asdnorm_set_blas_control; fewer when the address space is
 * limited), or 0 when not even one can call the BLAS without exhausting the
 * address space (the caller returns ASDNORM_E_NOMEM). Pass the result and
 * *serialized to asdnorm__blas_end. Thread-safe. */
int asdnorm__blas_begin(int nt, bool *serialized);
void asdnorm__blas_end(int nt, bool serialized);

/* ---- the index (index.c) ---------------------------------------------------- */
struct asdnorm_index {
    size_t dim;
    int threads;     /* asdnorm_index_set_threads (0: the default) */
    asdnorm_distance distance;
    size_t size;     /* M */
    size_t capacity; /* rows allocated */
    float *vectors;  /* capacity × dim; under cosine, rows added by asdnorm_index_add are
                      * stored scaled by an exact power of two (norm in [0.5, 1)), and the
                      * reference is vectors[j] · scale[j], exactly unit length */
    /* Per reference, for the fused float pass (distance.c):
     *  cosine:         the factor c_j that makes d = 0.5 · (1 − c_j ⟨x̂, y_j⟩):
     *                  1/‖vectors[j]‖ for rows added by asdnorm_index_add (so they act
     *                  as exact unit vectors), 1 for rows added raw (k-means centroids);
     *  euclidean, mse: ‖y_j‖². */
    float *aux;
    double *scale;   /* cosine only: c_j in double, for exact refinement */
    uint8_t *domains;
    double *density; /* M density constants, valid when finalized */
    bool finalized;
    asdnorm_density estimator;
    double param;    /* K after clipping, r, or 0 */
    double floor;    /* φ = ε · S, the ratio's density floor (math §2.3), valid when finalized */
    asdnorm_progress_fn progress; /* asdnorm_index_set_progress, or NULL */
    void *progress_user;
    /* What incremental add and remove need (incr.c, docs/math.md §2.6), valid when finalized: */
    bool computed;   /* the densities were computed by finalize (not given by set_density
                      * or read from a version-1 file): add and remove keep them exact */
    double param_req; /* the parameter finalize was given: K before clipping, r, or 0 */
    size_t nbr_cap;  /* room per row of the neighbour lists; 0: no lists (NONE, or lists
                      * beyond ASDNORM_NBR_MAX_K or ASDNORM_NBR_MAX_BYTES) */
    size_t *nbr_cnt;  /* M: entries in row j's list, from the need to nbr_cap */
    double *nbr_dist; /* M × nbr_cap: row j's nbr_cnt[j] nearest other references, exact */
    size_t *nbr_idx;  /* distances ascending, ties by position; and their positions */
    /* Derived from the rows, kept by asdnorm__index_copies: the exact copies
     * among rows 0 … copy_rows − 1 (asdnorm__find_copies), copy_prev NULL
     * when there are none. */
    uint32_t *copy_prev;
    size_t copy_rows, copy_count;
    /* asdnorm__near_bounds's constants for this dimension (set by asdnorm_index_new). */
    double near_tiny, near_lo, near_hi;
};

/* A row's list holds what its density needs (K′ for k-NN, the L visited ranks for GWRP)
 * and a margin (asdnorm__nbr_cap), so that a removal leaves most lists long enough. Lists
 * are kept when they have at most ASDNORM_NBR_MAX_K entries, all exact (docs/math.md §5),
 * and take at most ASDNORM_NBR_MAX_BYTES together. Otherwise add and remove finalize from
 * scratch. */
#define ASDNORM_NBR_MAX_K ((size_t)4096)
#define ASDNORM_NBR_MAX_BYTES ((size_t)256 << 20)

/* The list length an estimator needs for m references: K′ = min(K, m − 1) for k-NN
 * (param the requested K), L (docs/math.md §2.2) for GWRP, 0 for NONE. */
size_t asdnorm__nbr_need(asdnorm_density density, double param, size_t m);
/* The room of a row's list for m references, when its density needs `need` entries:
 * need plus half as many (at least 2) for the removals, at most m − 1. */
static inline size_t asdnorm__nbr_cap(size_t need, size_t m)
{
    const size_t cap = need + (need / 2 > 2 ? need / 2 : 2);
    return need == 0 ? 0 : cap < m - 1 ? cap : m - 1;
}
/* Whether lists of room cap per row are kept for m references. */
static inline bool asdnorm__nbr_keep(size_t m, size_t cap)
{
    return cap > 0 && cap <= ASDNORM_NBR_MAX_K &&
           m <= ASDNORM_NBR_MAX_BYTES / (cap * (sizeof(double) + sizeof(size_t)) + sizeof(size_t));
}
/* One reference's density constant from its k nearest distances (ascending), with
 * others = M − 1 (GWRP's tail weight): the one formula of finalize, add, remove and
 * the loader's check. */
double asdnorm__density_of(asdnorm_density density, double param, size_t others,
                           const double *dist, size_t k);
/* K clipped to m − 1, r (−0 as +0), or 0: what get_estimator reports for m references. */
double asdnorm__kept_param(asdnorm_density density, double param, size_t m);

/* Densities of every reference of ix (size ≥ 2 unless NONE) by a full search reporting
 * to prog (may be NULL; ASDNORM_E_CANCELED when canceled), and the
 * neighbour lists when asdnorm__nbr_keep says so (*dist, *idx M × *cap, full: *cnt M
 * entries of *cap; NULL and 0 when not). On failure nothing is allocated. */
struct asdnorm__progress;
asdnorm_status asdnorm__compute_density(const asdnorm_index *ix, asdnorm_density density,
                                        double param, struct asdnorm__progress *prog,
                                        double **dens, double **dist, size_t **idx,
                                        size_t **cnt, size_t *cap);

/* Incremental updates (incr.c). asdnorm__incr_add: the n rows stored at positions
 * size … size + n − 1 (within capacity, not yet counted) join the finalized index ix,
 * whose densities are then updated exactly; on any failure nothing visible changes. */
asdnorm_status asdnorm__incr_add(asdnorm_index *ix, size_t n);

/* The distance scale S of the references and the floor φ = ASDNORM_EPSILON · S
 * (docs/math.md §2.3), from the stored references alone: finalize and the
 * loader call it, so a loaded index has its saved twin's floor bitwise.
 * ASDNORM_E_NOMEM when its D-double scratch cannot be allocated. */
asdnorm_status asdnorm__ratio_floor(const asdnorm_index *ix, double *floor);

/* The denominator of the ratio normalization: max(n_j, φ). */
static inline double asdnorm__ratio_den(const asdnorm_index *ix, double n_j)
{
    return n_j > ix->floor ? n_j : ix->floor;
}

/* A distance d normalized by a density constant n (math §2.3): d / max(n, φ),
 * d − n, or d as it is. */
static inline double asdnorm__normalize(const asdnorm_index *ix, asdnorm_norm norm, double d,
                                        double n)
{
    switch (norm) {
    case ASDNORM_NORM_RATIO: return d / asdnorm__ratio_den(ix, n);
    case ASDNORM_NORM_DIFFERENCE: return d - n;
    case ASDNORM_NORM_NONE: break;
    }
    return d;
}

/* Append rows as they are (no normalization): under cosine c_j = 1. Used by
 * asdnorm_source_means() for centroids and by the loader. Validates like add. */
asdnorm_status asdnorm__index_add_raw(asdnorm_index *ix, const float *x, size_t n,
                                      const uint8_t *domains);

/* Validate n rows for a distance (finite, non-zero under cosine, range for
 * euclidean/mse). *bad_row receives the first offending row. */
asdnorm_status asdnorm__check_rows(const float *x, size_t n, size_t dim,
                                   asdnorm_distance distance, size_t *bad_row);

/* ---- distances (distance.c) --------------------------------------------------
 * Exact distance in double between a query row q (as given by the caller, not
 * normalized) and stored reference j, following math §2.1 with the stored
 * reference's c_j. q_norm is ‖q‖₂ in double (used by cosine only; pass the
 * value from asdnorm__norm2). */
double asdnorm__exact_distance(const asdnorm_index *ix, const float *q, double q_norm, size_t j);
/* Exact distance between stored references i (as query) and j: bitwise
 * asdnorm__exact_distance(ix, row i, ‖row i‖, j), and bitwise the same for
 * (j, i) when both rows are normalized (cosine) or always (euclidean, mse). */
double asdnorm__exact_ref_distance(const asdnorm_index *ix, size_t i, size_t j);
/* Σₖ (xₖ·a − yₖ·b)² over k < dim, in double (sqdiff.c): bitwise the same
 * whichever instruction set runs it. */
double asdnorm__sqdiff(const float *x, double a, const float *y, double b, size_t dim);
/* One variant of it (0 plain C, 1 SSE2, 2 AVX2) into *out, for the tests;
 * false when this build or machine lacks it. */
bool asdnorm__sqdiff_variant(int variant, const float *x, double a, const float *y, double b,
                             size_t dim, double *out);
/* The float filter (sqdiff.c): Σₖ (xₖ·a − yₖ·b)² in float, any summation
 * order, for candidates whose sgemm bounds are too wide (clusters tighter than
 * float resolution). Its error is relative to the distance itself, not to
 * the norms: asdnorm__near_bounds turns it into rigorous bounds [*lo, *hi]
 * on the distance (docs/math.md §5) when the rows are, under cosine, a stored
 * row times aux (c_j rounded) or a prepared query times 1, both of normalized
 * rows (c_j ≠ 1), and under euclidean and mse the rows themselves, a = b = 1. */
float asdnorm__sqdiff_f(const float *x, float a, const float *y, float b, size_t dim);
void asdnorm__near_bounds(const asdnorm_index *ix, float S, double *lo, double *hi);
/* Set the index's constants for asdnorm__near_bounds (its dimension's). */
void asdnorm__near_constants(asdnorm_index *ix);
/* ‖v‖₂ in double. */
double asdnorm__norm2(const float *v, size_t dim);

/* Approximate distances of a block: queries Q (nq × dim, prepared by
 * asdnorm__prepare_queries) against references j0 … j0 + nr − 1, written to
 * out (nq × nr, row stride ld), via one sgemm and a fused transform.
 * qaux: per query, ‖q‖² (euclidean/mse); under cosine read but unused (as
 * asdnorm__prepare_queries fills it). */
void asdnorm__block_distances(const asdnorm_index *ix, const float *Q, const float *qaux,
                              size_t nq, size_t j0, size_t nr, float *out, size_t ld);
/* The same products as asdnorm__block_distances, without the transform: out
 * holds the float dot products ⟨q, y_j⟩ (one sgemm, or sgemv when nq = 1), for a
 * caller that applies asdnorm__dot_to_dist itself in the pass that reads the
 * block anyway (the scorer: one read of each block instead of two). */
void asdnorm__block_dots(const asdnorm_index *ix, const float *Q, size_t nq, size_t j0, size_t nr,
                         float *out, size_t ld);
/* The float dot products of the stored references j0 … j0 + n − 1 with each
 * other, the upper triangle only (entry (a, b), b ≥ a, is ⟨y_{j0+a}, y_{j0+b}⟩;
 * the rest of out is not written): one ssyrk, half the flops of the square. */
void asdnorm__block_self_dots(const asdnorm_index *ix, size_t j0, size_t n, float *out,
                              size_t ld);
/* The transform of asdnorm__block_distances for one pair: float dot product s
 * of the prepared query (qaux qa) and reference j (aux a) into d̃. Shared, so
 * that a fused pass computes bitwise the same d̃ (and the error bound of
 * docs/math.md §5, which covers these operations, holds unchanged).
 * mse_scale is 1/dim (mse only). */
static inline float asdnorm__dot_to_dist(asdnorm_distance distance, float s, float qa, float a,
                                         float mse_scale)
{
    if (distance == ASDNORM_DISTANCE_COSINE) {
        float d = 0.5f * (1.0f - s * a);
        return d < 0.0f ? 0.0f : d;
    }
    float d2 = qa + a - 2.0f * s;
    d2 = d2 < 0.0f ? 0.0f : d2;
    return distance == ASDNORM_DISTANCE_EUCLIDEAN ? __builtin_sqrtf(d2) : d2 * mse_scale;
}
/* asdnorm__dot_to_dist over n references (dot products s, aux values aux) of
 * one query (qaux qa) into d, with the distance constant in each loop so that
 * it vectorizes: for the passes that read a block of dot products once. */
static inline void asdnorm__chunk_dist(asdnorm_distance distance, const float *s,
                                       const float *aux, float qa, float mse_scale, size_t n,
                                       float *d)
{
    switch (distance) {
    case ASDNORM_DISTANCE_COSINE:
        for (size_t t = 0; t < n; t++)
            d[t] = asdnorm__dot_to_dist(ASDNORM_DISTANCE_COSINE, s[t], qa, aux[t], mse_scale);
        break;
    /* NOLINTNEXTLINE(bugprone-branch-clone): each loop is compiled for its case */
    case ASDNORM_DISTANCE_EUCLIDEAN:
        for (size_t t = 0; t < n; t++)
            d[t] = asdnorm__dot_to_dist(ASDNORM_DISTANCE_EUCLIDEAN, s[t], qa, aux[t], mse_scale);
        break;
    case ASDNORM_DISTANCE_MSE:
        for (size_t t = 0; t < n; t++)
            d[t] = asdnorm__dot_to_dist(ASDNORM_DISTANCE_MSE, s[t], qa, aux[t], mse_scale);
        break;
    }
}
/* Bit t of the result is set when d[t] − cap ≤ thr[t·step] (t < n ≤ 64):
 * step 1 compares with one threshold per element, step 0 with thr[0]. The
 * scans use it as a chunk's coarse filter (cap ≥ every error bound), so that
 * only the entries whose bit is set are looked at. */
static inline uint64_t asdnorm__below_mask(const float *d, size_t n, float cap,
                                           const float *thr, size_t step)
{
    uint64_t m = 0;
    size_t t = 0;
#ifdef __SSE2__
    const __m128 c = _mm_set1_ps(cap), one = _mm_set1_ps(thr[0]);
    for (; t + 4 <= n; t += 4) {
        const __m128 th = step ? _mm_loadu_ps(thr + t) : one;
        const __m128 le = _mm_cmple_ps(_mm_sub_ps(_mm_loadu_ps(d + t), c), th);
        m |= (uint64_t)_mm_movemask_ps(le) << t;
    }
#endif
    for (; t < n; t++)
        m |= (uint64_t)(d[t] - cap <= thr[t * step]) << t;
    return m;
}

/* Copy nq raw query rows into Q (normalized under cosine) and fill qaux and
 * qnorm (‖q‖₂ of the raw row, double). Rows must have been validated. */
void asdnorm__prepare_queries(const asdnorm_index *ix, const float *x, size_t nq, float *Q,
                              float *qaux, double *qnorm);

/* Rigorous bound on the error of a float distance d̃ from
 * asdnorm__block_distances (docs/math.md §5): |d̃ − d| ≤ asdnorm__err(E, d̃),
 * with E from asdnorm__error_scale for a query with qaux and references whose
 * largest aux is aux_max. Cosine and mse: E bounds |d̃ − d| directly; euclidean:
 * E bounds |d̃² − d²|, so |d̃ − d| ≤ min(√E, E / d̃). */
float asdnorm__error_scale(const asdnorm_index *ix, float qaux, float aux_max);
static inline float asdnorm__err(const asdnorm_index *ix, float E, float d)
{
    if (ix->distance != ASDNORM_DISTANCE_EUCLIDEAN)
        return E;
    float r = __builtin_sqrtf(E);
    return d > r ? E / d : r;
}
/* Largest aux over references j0 … j0 + n − 1. */
float asdnorm__aux_max(const asdnorm_index *ix, size_t j0, size_t n);

/* Exact copies among references 0 … m − 1 (m < 2³²): prev[j] is the highest
 * position i < j whose stored row is bitwise j's (vectors, aux, scale), or
 * ASDNORM_NO_COPY. Such rows have bitwise the same exact distance to anything
 * (and 0 between them unless they are raw cosine rows, c_j = 1), so a search
 * needs only some of them (docs/math.md §5).
 * *copies: how many j have a prev. ASDNORM_E_NOMEM or ASDNORM_OK. */
#define ASDNORM_NO_COPY UINT32_MAX
asdnorm_status asdnorm__find_copies(const asdnorm_index *ix, size_t m, uint32_t *prev,
                                    size_t *copies);

/* Bring the index's cache of exact copies (copy_prev, copy_rows, copy_count)
 * up to date with its rows, computing it (O(M · D)) only when rows were
 * added since: finalize, set_density and the loader call it, so the scorers
 * and the searches of a finalized index find it ready. Appending rows leaves
 * the cache valid for the rows it describes (a copy links to a lower row);
 * any other change of the rows must call asdnorm__index_drop_copies first.
 * ASDNORM_E_NOMEM (the cache then empty) or ASDNORM_OK. */
asdnorm_status asdnorm__index_copies(asdnorm_index *ix);
void asdnorm__index_drop_copies(asdnorm_index *ix);

/* Whether d(i, j) = d(j, i) bitwise for every pair of rows, so that a float bound on one
 * bounds the other: always under euclidean and mse; under cosine when every row was
 * normalized when added (c_j ≠ 1), not with raw rows such as k-means centroids. O(M). */
bool asdnorm__symmetric(const asdnorm_index *ix);

/* ---- neighbours (knn.c) --------------------------------------------------------
 * The one k-nearest-neighbour machinery, used by finalize, LOF and SMOTE.
 * Distances are exact (double, refined from the float sgemm pass), sorted
 * ascending, ties broken by position. */

/* For every reference i, its k nearest *other* references (excluded by
 * position), k ≤ M − 1. The callback receives row i's k distances and
 * positions; it may be called from several threads at once for different i.
 * Returns ASDNORM_E_NOMEM, or the first non-OK status a callback returned. */
typedef asdnorm_status (*asdnorm__knn_row_fn)(void *ctx, size_t i, const double *dist,
                                              const size_t *idx, size_t k);
/* The callback that stores row i's k distances and positions at i·k of two n × k
 * arrays (ctx: a struct asdnorm__knn_rows; rows are disjoint, so any thread may call it). */
struct asdnorm__knn_rows {
    double *dist;
    size_t *idx;
};
asdnorm_status asdnorm__knn_store_row(void *ctx, size_t i, const double *dist, const size_t *idx,
                                      size_t k);
asdnorm_status asdnorm__knn_self(const asdnorm_index *ix, size_t k, asdnorm__knn_row_fn fn,
                                 void *ctx);
/* The same, reporting to prog (progress.h: the whole of [0, 1] but its end, which
 * the caller reports), ASDNORM_E_CANCELED when canceled; prog may be NULL. */
struct asdnorm__progress;
asdnorm_status asdnorm__knn_self_progress(const asdnorm_index *ix, size_t k,
                                          asdnorm__knn_row_fn fn, void *ctx,
                                          struct asdnorm__progress *prog);
/* The references as two parts, positions 0 … split − 1 and split … M − 1: for
 * every reference, its k nearest references of the *other* part, k ≤ the size
 * of each part; each pair is computed once where d(i, j) = d(j, i) (knn_sym.c).
 * Callback as for asdnorm__knn_self. */
asdnorm_status asdnorm__knn_cross(const asdnorm_index *ix, size_t split, size_t k,
                                  asdnorm__knn_row_fn fn, void *ctx);

/* For each of n query rows (validated), its k nearest references, k ≤ M:
 * dist and idx are n × k. */
asdnorm_status asdnorm__knn_query(const asdnorm_index *ix, const float *x, size_t n, size_t k,
                                  double *dist, size_t *idx);

/* ---- leave-one-out scores (scorer.c, selfscore.c) ------------------------------
 * The scorer's index, its normalization as applied (NONE when the index has no
 * estimator) and its thread count. */
const asdnorm_index *asdnorm__scorer_index(const asdnorm_scorer *sc);
asdnorm_norm asdnorm__scorer_norm(const asdnorm_scorer *sc);
int asdnorm__scorer_threads(const asdnorm_scorer *sc);
/* Score every stored reference i (as a query, as finalize measures it) against
 * all the others j ≠ i, by position, with the density constants dens in place
 * of the index's: best[i] the exact double minimum, arg[i] the lowest position
 * attaining it. The index is finalized and has at least 2 references.
 * ASDNORM_E_NOMEM or ASDNORM_OK. */
asdnorm_status asdnorm__scorer_self(asdnorm_scorer *sc, const double *dens, double *best,
                                    size_t *arg);

/* GWRP (index.c, math §2.2): the number of ranks visited among `others`
 * other references, and the total weight of the ranks k … others − 1 beyond
 * them, given to the k-th distance (0 when none are left); w = r^k as
 * finalize computes it, by k multiplications. */
size_t asdnorm__gwrp_terms(double r, size_t others);
double asdnorm__gwrp_tail(double r, double w, size_t k, size_t others);

#endif /* ASDNORM_INTERNAL_H */
