/* SPDX-License-Identifier: MIT */
/**
 * @file asdnorm.h
 * @brief libasdnorm: local-density anomaly-score normalization.
 *
 * The one public header of libasdnorm. A function not declared here does not
 * exist for users. The mathematics is restated in docs/math.md; the section
 * names below ("math §2.1") refer to it.
 *
 * Conventions that hold for every function:
 *  - Every fallible function returns an ::asdnorm_status; 0 (::ASDNORM_OK) is
 *    success and results are written through out-parameters only then.
 *  - A failed call changes nothing: handles and out-parameters are left exactly
 *    as they were (constructors set `*out` to NULL on failure).
 *  - Matrices are row-major float32: "n × dim floats" means `x[i * dim + j]`.
 *  - The library never retains a caller's buffer; it frees what it allocates
 *    in the matching `*_free`, and `*_free(NULL)` does nothing.
 *  - Threads: functions taking a `const asdnorm_index *` only read it, and any
 *    number of them may run at once on one index, together with the scoring of
 *    any number of its scorers (each scorer, and each ::asdnorm_lof, used by one
 *    thread at a time). A function taking a non-const index (add, remove,
 *    finalize, set_*, free) needs the index to itself: no other
 *    call may use that index, or a scorer of it, meanwhile. To update the
 *    references of an index that is scoring, clone it (asdnorm_index_clone()),
 *    modify the clone, and publish it to the scoring threads, which create new
 *    scorers for it and drop the old index when the last scorer of it is freed
 *    (docs/embedding.md, "Live updates", and examples/monitor.c).
 *  - The library's own threads: finalize, the nearest-neighbour searches of
 *    LOF and SMOTE, the self scores, and the scoring of more than one test run on an OpenMP
 *    team started by the calling thread, as many threads as the object allows
 *    (asdnorm_index_set_threads(), asdnorm_scorer_set_threads(); by default
 *    OpenMP's, OMP_NUM_THREADS), each calling the BLAS on its own block. The
 *    library never changes the BLAS's or OpenMP's settings unless the host
 *    allows it (asdnorm_set_blas_control()): with an OpenBLAS that has a pool
 *    of threads of its own, those steps run on the calling thread and the
 *    BLAS's threads split each call. Adding and checking rows split large
 *    batches between the team's threads. With 1 thread no thread is started.
 *    A forked child of a process whose library started threads runs on its
 *    calling thread only. Results never depend on the number of threads.
 *    docs/embedding.md lists everything the library does to its host.
 */
#ifndef ASDNORM_ASDNORM_H
#define ASDNORM_ASDNORM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ASDNORM_BUILDING) && defined(__GNUC__)
#define ASDNORM_API __attribute__((visibility("default")))
#else
#define ASDNORM_API
#endif

/* ------------------------------------------------------------------------ */
/** @name Version
 * The compile-time version of this header; asdnorm_version_number() gives the
 * version of the library actually loaded, so a program can compare the two.
 * @{ */
#define ASDNORM_VERSION_MAJOR 0
#define ASDNORM_VERSION_MINOR 2
#define ASDNORM_VERSION_PATCH 0
#define ASDNORM_VERSION_STRING "0.2.0"
/** MAJOR * 10000 + MINOR * 100 + PATCH. */
#define ASDNORM_VERSION_NUMBER \
    (ASDNORM_VERSION_MAJOR * 10000 + ASDNORM_VERSION_MINOR * 100 + ASDNORM_VERSION_PATCH)

/** The loaded library's version as "MAJOR.MINOR.PATCH". Never NULL. @since 0.1.0 */
ASDNORM_API const char *asdnorm_version(void);
/** The loaded library's ASDNORM_VERSION_NUMBER. @since 0.1.0 */
ASDNORM_API unsigned asdnorm_version_number(void);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Status codes
 * Values are pinned: a code never changes meaning. New codes are appended.
 * @{ */
typedef enum asdnorm_status {
    ASDNORM_OK = 0,
    ASDNORM_E_NULL = 1,        /**< a required pointer argument is NULL */
    ASDNORM_E_ARG = 2,         /**< an argument is outside its valid range (dim 0, K 0, r outside [0, 1] or NaN, max_fpr outside (0, 1]) */
    ASDNORM_E_ENUM = 3,        /**< an enum argument has an unknown value */
    ASDNORM_E_OVERFLOW = 4,    /**< a size computation (n × dim, …) would overflow size_t */
    ASDNORM_E_NONFINITE = 5,   /**< the input contains NaN or ±Inf */
    ASDNORM_E_ZERO_VECTOR = 6, /**< a zero vector under the cosine distance */
    ASDNORM_E_LABEL = 7,       /**< a label outside its set (domain not 0/1/2, anomaly label not 0/1) */
    ASDNORM_E_STATE = 8,       /**< the object is in the wrong state (scoring an index that is not finalized) */
    ASDNORM_E_TOO_FEW = 9,     /**< too few references or samples for the operation (finalize with < 2 when neighbours are needed, empty index, standardization or SMOTE with < 2) */
    ASDNORM_E_DIM = 10,        /**< dimension or length mismatch */
    ASDNORM_E_NOMEM = 11,      /**< memory allocation failed */
    ASDNORM_E_IO = 12,         /**< a file could not be opened, read, written or renamed */
    ASDNORM_E_CORRUPT = 13,    /**< a saved index is malformed, truncated or fails its checksum */
    ASDNORM_E_VERSION = 14,    /**< a saved index has a format version this library cannot read */
    ASDNORM_E_RANGE = 15,      /**< a finite value is too large to compute with (euclidean/mse: a squared norm above 1e24) */
    ASDNORM_E_EMPTY = 16,      /**< no samples (n = 0) where at least one is required */
    ASDNORM_E_NO_ANOMALY = 17, /**< a metric needs anomalous samples and there are none (in a section) */
    ASDNORM_E_NO_NORMAL = 18,  /**< a metric needs normal samples (of a domain) and there are none (in a section) */
    ASDNORM_E_DEGENERATE = 19, /**< the data make the result undefined (zero variance in standardization, fewer points than clusters) */
    ASDNORM_E_BUFFER = 20,     /**< an output buffer is too small; the required size is reported */
    ASDNORM_E_CANCELED = 21    /**< the progress callback canceled the call; nothing changed (@since 0.2.0) */
} asdnorm_status;

/** A static English message for @p status; never NULL, also for unknown values. @since 0.1.0 */
ASDNORM_API const char *asdnorm_strerror(asdnorm_status status);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Options
 * @{ */
/** Distance between a test sample x and a reference y (math §2.1). */
typedef enum asdnorm_distance {
    ASDNORM_DISTANCE_COSINE = 0,    /**< 0.5 · (1 − ⟨x/‖x‖, y⟩); references stored L2-normalized */
    ASDNORM_DISTANCE_EUCLIDEAN = 1, /**< ‖x − y‖₂ */
    ASDNORM_DISTANCE_MSE = 2        /**< ‖x − y‖₂² / dim */
} asdnorm_distance;

/** Estimator of each reference's local density constant n_j (math §2.2). */
typedef enum asdnorm_density {
    ASDNORM_DENSITY_NONE = 0, /**< n_j = 1 (ratio) or 0 (difference): plain nearest neighbour */
    ASDNORM_DENSITY_KNN = 1,  /**< mean distance to the K nearest other references; param = K ≥ 1 (an integer, clipped to M − 1) */
    ASDNORM_DENSITY_GWRP = 2  /**< rank-weighted mean of the distances to all other references, weights r^(i−1); param = r ∈ [0, 1] */
} asdnorm_density;

/** How a distance is normalized by the reference's density (math §2.3). */
typedef enum asdnorm_norm {
    ASDNORM_NORM_NONE = 0,      /**< s(x) = min_j d(x, y_j) */
    ASDNORM_NORM_RATIO = 1,     /**< s(x) = min_j d(x, y_j) / max(n_j, ASDNORM_EPSILON · S), S the index's distance scale */
    ASDNORM_NORM_DIFFERENCE = 2 /**< s(x) = min_j (d(x, y_j) − n_j) */
} asdnorm_norm;

/** Domain labels of references and test samples (stored as uint8_t). */
enum asdnorm_domain {
    ASDNORM_DOMAIN_UNKNOWN = 0,
    ASDNORM_DOMAIN_SOURCE = 1,
    ASDNORM_DOMAIN_TARGET = 2
};

/** The relative floor of a density constant in the ratio normalization (math §2.3):
 *  the ratio divides by max(n_j, ε · S), where S is the index's own distance scale —
 *  1 under cosine; under euclidean √V, under mse V / dim, with V the mean squared
 *  Euclidean distance of the references to their centroid (1 when V = 0). Duplicate
 *  references (density 0) give large finite scores instead of inf/NaN. S scales with the
 *  data, so the ratio scores do not depend on the data's units: scaling every embedding
 *  by a power of two changes no ratio score, rank or nearest reference, bitwise; by any
 *  other positive factor, only as far as rounding the scaled inputs to float moves near
 *  ties. S is derived from the references at finalize and load; it is not stored. */
#define ASDNORM_EPSILON 1e-12
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Embedding
 * How the library shares its host's process (docs/embedding.md).
 * @{ */

/** The largest thread count asdnorm_index_set_threads() and asdnorm_scorer_set_threads() accept. */
#define ASDNORM_MAX_THREADS 1024

/** Memory functions of the host, for asdnorm_set_allocator(): `malloc_fn`, `calloc_fn`,
 *  `realloc_fn` and `free_fn` follow the C library's contracts and each receives `user`
 *  first. The library never asks for 0 bytes, never passes NULL to `realloc_fn` or
 *  `free_fn`, and frees every block with the allocator that made it. */
typedef struct asdnorm_allocator asdnorm_allocator;
struct asdnorm_allocator {
    void *(*malloc_fn)(void *user, size_t size);
    void *(*calloc_fn)(void *user, size_t n, size_t size);
    void *(*realloc_fn)(void *user, void *p, size_t size);
    void (*free_fn)(void *user, void *p);
    void *user; /* passed to every function as is */
};

/**
 * Route every allocation of the library through the host's functions, process-wide.
 * Call it while the library holds no memory (before creating anything, or after freeing
 * everything), and not while another thread calls the library. The struct is copied.
 * Allocations made by the BLAS and the OpenMP runtime (buffers, thread stacks) are theirs.
 * @param[in] allocator  the functions, or NULL to return to the C library's
 * @return ASDNORM_OK, ASDNORM_E_NULL (a function pointer is NULL), ASDNORM_E_STATE (the library
 *         holds memory allocated with the current allocator; nothing changes)
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_set_allocator(const asdnorm_allocator *allocator);

/**
 * Allow the library to set a multithreaded OpenBLAS (its pthreads build) to one thread,
 * process-wide, while the library's own threads call it, and to restore the previous count
 * when the last such call returns (the behaviour of 0.1). BLAS calls made meanwhile by the
 * host's other threads then run on one thread. Without it (the default) the library never
 * changes the BLAS's settings, and the steps whose threads call the BLAS run on the calling
 * thread with the BLAS's own threads; a host that sets OpenBLAS to one thread itself
 * (OPENBLAS_NUM_THREADS=1 or openblas_set_num_threads(1)) gets the library's threads for
 * them without this. docs/performance.md measures the difference.
 * @param[in] allow  1 to allow, 0 (the default) to forbid
 * @return ASDNORM_OK, ASDNORM_E_ARG (not 0 or 1)
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_set_blas_control(int allow);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Progress and cancellation
 * A long call (finalize, batch scoring) reports how far it is to a callback set on its
 * object, and stops when the callback asks it to (docs/embedding.md).
 *  - The callback receives the fraction of the call's work done, in [0, 1]: 0 first, then
 *    fractions that never decrease, and 1 last, once the work is done (1 only then). Calls
 *    are at least 20 ms apart, beside the first and the last, and at most one unit of the
 *    calling thread's work apart: a group of test rows against every reference when
 *    scoring (while a callback is set, groups are cut to about 2^29 multiply-adds, some
 *    30 ms on one core), a block of up to 512 × 512 reference pairs, a group of query rows
 *    or one row of the refinement when finalizing (docs/embedding.md measures it: at most
 *    11 ms for 20,000 × 128 references, 31 ms for scoring 20,000 rows against them). A call
 *    that fails its argument checks, or has nothing to do (scoring n = 0 rows), calls
 *    nothing.
 *  - It is called only on the thread that called the library, never from the library's own
 *    threads and never concurrently with itself, so it may take the locks its thread holds
 *    (Python's GIL) and may be slow; the library's other threads keep working meanwhile.
 *    It must not call the library on the object that reports.
 *  - A nonzero return cancels: the other threads stop at their next block boundary and the
 *    call returns ::ASDNORM_E_CANCELED, after its last callback (the callback is not called
 *    again). A canceled call changes nothing, as every failed call: the index keeps its
 *    references, finalized state and densities; the scorer's outputs are then unspecified.
 *    Returning nonzero at the final 1 cancels too.
 *  - Set the callback only while no other thread uses the object (the setting is not
 *    synchronized); a finalized index shared by scoring threads reports nothing itself, each
 *    scorer reports its own calls.
 * @{ */

/**
 * A progress callback: @p fraction of the call's work is done; @p user is the pointer given
 * with it. Return 0 to continue, anything else to cancel the call.
 * @since 0.2.0
 */
typedef int (*asdnorm_progress_fn)(double fraction, void *user);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Reference index
 * A set of reference embeddings with one density constant each.
 * Lifecycle: new → add (any number of times) → finalize → score (through a
 * scorer). add and remove after finalize keep the index finalized, its density constants
 * updated exactly (since 0.2.0; see asdnorm_index_add()).
 * A finalized index may be shared read-only by any number of threads.
 * @{ */
typedef struct asdnorm_index asdnorm_index;

/**
 * Create an empty index.
 * @param[in]  dim       embedding dimension, ≥ 1
 * @param[in]  distance  one of ::asdnorm_distance
 * @param[out] out       the new index; NULL on failure
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG (dim 0), ASDNORM_E_ENUM,
 *         ASDNORM_E_OVERFLOW (dim · sizeof(float) overflows), ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_index_new(size_t dim, asdnorm_distance distance,
                                             asdnorm_index **out);

/** Free an index and everything it owns. NULL does nothing. @since 0.1.0 */
ASDNORM_API void asdnorm_index_free(asdnorm_index *ix);

/**
 * A deep copy of an index: its references, domains, distance, thread count, and, when it
 * is finalized, its estimator and density constants and the neighbour lists that keep them
 * exact through asdnorm_index_add() and asdnorm_index_remove(), so the copy scores and
 * updates bitwise like the original. It only reads @p ix, so it may run while other threads score with scorers of
 * @p ix: the way to update an index that is in use (see "Threads" above).
 * Memory: a copy of the index's data; time O(M · dim).
 * @param[in]  ix   the index
 * @param[out] out  the copy; NULL on failure
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_NOMEM
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_index_clone(const asdnorm_index *ix, asdnorm_index **out);

/**
 * Append n references. Under cosine each row is stored L2-normalized.
 * All rows are validated before any is added: one bad row adds nothing.
 *
 * On an index that is not finalized, the rows are appended. On an index finalized by
 * asdnorm_index_finalize() (or loaded from a version-2 file of one), the index stays
 * finalized (since 0.2.0) and its density constants and ratio floor become exactly those a
 * finalize of all M + n references with the same estimator and requested parameter would
 * compute (bitwise: docs/math.md §2.6); a K that was clipped to M − 1 grows with M up to the
 * K requested. Cost O(n · M · D) time, with the neighbour lists the index keeps (O(M · K′)
 * memory; for GWRP the L ranks of math §2.2); where no lists are kept (more than 4096 entries
 * per row, or more than 256 MB of lists) the densities are computed by a full finalize,
 * O(M² · D). On an index finalized with asdnorm_index_set_density() or loaded from a version-1
 * file (densities given, not computed here), the index becomes un-finalized as in 0.1.
 * On any failure (ASDNORM_E_NOMEM included) the index is unchanged.
 * @param[in,out] ix       the index
 * @param[in]     x        n × dim floats, row-major (may be NULL when n is 0)
 * @param[in]     n        number of rows; 0 is a no-op that succeeds
 * @param[in]     domains  n domain labels (::asdnorm_domain), or NULL for all UNKNOWN
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_OVERFLOW, ASDNORM_E_NONFINITE,
 *         ASDNORM_E_ZERO_VECTOR (cosine), ASDNORM_E_RANGE (euclidean/mse),
 *         ASDNORM_E_LABEL, ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_index_add(asdnorm_index *ix, const float *x, size_t n,
                                             const uint8_t *domains);

/**
 * Compute the density constant of every reference (math §2.2). Finalizing
 * again with another estimator recomputes them.
 * Memory: O(M · K + block), never an M × M matrix.
 * @param[in,out] ix       the index
 * @param[in]     density  one of ::asdnorm_density
 * @param[in]     param    K for KNN (an integer ≥ 1, clipped to M − 1), r ∈ [0, 1] for GWRP,
 *                         ignored for NONE
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ENUM, ASDNORM_E_ARG (K < 1 or not an
 *         integer, r outside [0, 1] or NaN), ASDNORM_E_TOO_FEW (no references; fewer than 2
 *         for KNN and GWRP), ASDNORM_E_NOMEM, ASDNORM_E_CANCELED (asdnorm_index_set_progress())
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_index_finalize(asdnorm_index *ix, asdnorm_density density,
                                                  double param);

/**
 * How many threads asdnorm_index_add() and asdnorm_index_finalize() on this index may use.
 * 0 (the default) means OpenMP's default (OMP_NUM_THREADS, or the number of cores); 1 runs
 * them on the calling thread without starting any thread. Results do not depend on it.
 * @param[in] threads  0 … ::ASDNORM_MAX_THREADS
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG (above the maximum)
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_index_set_threads(asdnorm_index *ix, unsigned threads);

/**
 * The progress callback of asdnorm_index_finalize() (every estimator and path) on this
 * index (Progress and cancellation, above); NULL @p fn turns it off (the default). Adding to
 * or removing from a finalized index reports too. Not saved with the index, nor copied by
 * asdnorm_index_clone().
 * @param[in] fn    the callback, or NULL
 * @param[in] user  passed to every call of @p fn as is
 * @return ASDNORM_OK, ASDNORM_E_NULL (@p ix is NULL)
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_index_set_progress(asdnorm_index *ix, asdnorm_progress_fn fn,
                                                      void *user);

/**
 * Remove the references at @p positions (any order); the remaining ones keep their order
 * (a reference at position p moves to p minus the number of removed positions below p).
 * On an index finalized by asdnorm_index_finalize() (or loaded from a version-2 file of
 * one) the density constants and ratio floor become exactly those a finalize of the
 * remaining references would compute (docs/math.md §2.6): a reference keeps its neighbour
 * list minus the removed ones, and one left with fewer than it needs is searched again
 * among the remaining references. Cost O(M · D) plus O(M · D) per reference searched again
 * (a full finalize where no lists are kept, see asdnorm_index_add()). An index whose
 * densities were given (asdnorm_index_set_density(), a version-1 file) becomes
 * un-finalized; an index that is not finalized just loses the rows (it may become empty).
 * A scorer of the index stays valid (the index must not be modified while it scores).
 * On any failure the index is unchanged.
 * @param[in,out] ix         the index
 * @param[in]     positions  n distinct positions, each < asdnorm_index_size() (may be NULL
 *                           when n is 0)
 * @param[in]     n          number of positions; 0 is a no-op that succeeds
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG (a position out of range or repeated),
 *         ASDNORM_E_TOO_FEW (a finalized index would keep fewer than 2 references under KNN
 *         or GWRP, or none under NONE), ASDNORM_E_NOMEM, ASDNORM_E_CANCELED (the index's
 *         progress callback, asdnorm_index_set_progress(), canceled)
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_index_remove(asdnorm_index *ix, const size_t *positions,
                                                size_t n);

/** Number of references M (0 for NULL). @since 0.1.0 */
ASDNORM_API size_t asdnorm_index_size(const asdnorm_index *ix);
/** Embedding dimension (0 for NULL). @since 0.1.0 */
ASDNORM_API size_t asdnorm_index_dim(const asdnorm_index *ix);
/** The index's distance (ASDNORM_DISTANCE_COSINE for NULL). @since 0.1.0 */
ASDNORM_API asdnorm_distance asdnorm_index_distance(const asdnorm_index *ix);
/** 1 when the index is finalized and can be scored against, else 0 (also for NULL). @since 0.1.0 */
ASDNORM_API int asdnorm_index_is_finalized(const asdnorm_index *ix);

/**
 * The estimator and parameter of the last successful finalize.
 * @param[out] density  the estimator
 * @param[out] param    its parameter (K after clipping to M − 1, r, or 0 for NONE)
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_STATE (not finalized)
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_index_get_estimator(const asdnorm_index *ix,
                                                       asdnorm_density *density, double *param);

/**
 * Copy the density constants n_j. After finalizing with ::ASDNORM_DENSITY_NONE they are
 * all 0 (the scorer then uses the plain distance, as if n_j were 1 for ratio, 0 for difference).
 * @param[out] out  n doubles
 * @param[in]  n    must equal asdnorm_index_size()
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_DIM, ASDNORM_E_STATE (not finalized)
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_index_get_density(const asdnorm_index *ix, double *out,
                                                     size_t n);

/**
 * Copy the domain labels.
 * @param[out] out  n labels
 * @param[in]  n    must equal asdnorm_index_size()
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_DIM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_index_get_domains(const asdnorm_index *ix, uint8_t *out,
                                                     size_t n);

/**
 * Copy stored reference vectors first … first + count − 1 (normalized under cosine).
 * @param[out] out  count × dim floats
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG (range outside the index), ASDNORM_E_OVERFLOW
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_index_get_vectors(const asdnorm_index *ix, size_t first,
                                                     size_t count, float *out);

/**
 * Check rows the way asdnorm_index_add() and asdnorm_scorer_score() do, and report the
 * first offending row, so that a program can tell its user where the bad value is.
 * @param[in]  x         n × dim floats
 * @param[out] bad_row   index of the first offending row, or n when all are valid; may be NULL
 * @return ASDNORM_OK or the status the offending row would cause (ASDNORM_E_NONFINITE,
 *         ASDNORM_E_ZERO_VECTOR, ASDNORM_E_RANGE), ASDNORM_E_NULL, ASDNORM_E_ARG, ASDNORM_E_ENUM,
 *         ASDNORM_E_OVERFLOW
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_check_rows(const float *x, size_t n, size_t dim,
                                              asdnorm_distance distance, size_t *bad_row);

/**
 * Exact k-nearest-neighbour search: for each of n query rows, the k references
 * nearest to it under the index's distance (math §2.1), in ascending order of
 * distance, ties to the lower position. The distances are the exact ones the
 * scorer uses (double, docs/math.md §5), rounded to float; the index need not be
 * finalized. On failure @p dist and @p ids are left as they were.
 * Threads: like scoring, a search only reads the index (any number of threads
 * may search one index at once) and runs on the library's threads for large n.
 * @param[in]  ix    the index, with at least k references
 * @param[in]  x     n × dim floats (dim of the index), validated as asdnorm_index_add() does
 * @param[in]  n     number of queries; 0 succeeds and writes nothing
 * @param[in]  k     neighbours per query, 1 ≤ k ≤ asdnorm_index_size()
 * @param[out] dist  n × k floats: row i holds query i's k distances, ascending
 * @param[out] ids   n × k positions of those references
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG (k 0 or above the index size),
 *         ASDNORM_E_TOO_FEW (empty index), ASDNORM_E_OVERFLOW, ASDNORM_E_NONFINITE,
 *         ASDNORM_E_ZERO_VECTOR (cosine), ASDNORM_E_RANGE (euclidean/mse), ASDNORM_E_NOMEM
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_index_search(const asdnorm_index *ix, const float *x,
                                                size_t n, size_t k, float *dist, size_t *ids);

/**
 * asdnorm_index_search() with the exact distances in double, not rounded to float: the
 * values finalize sums into the density constants (math §2.2). For a program that computes
 * density constants itself from searches of parts of the references (a reference set split
 * between machines) and then gives them to asdnorm_index_set_density().
 * @param[out] dist  n × k doubles: row i holds query i's k distances, ascending
 * @return as asdnorm_index_search()
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_index_search_double(const asdnorm_index *ix, const float *x,
                                                       size_t n, size_t k, double *dist,
                                                       size_t *ids);

/**
 * Finalize with density constants computed elsewhere: the index becomes finalized with
 * @p values as its n_j, as if asdnorm_index_finalize(ix, density, param) had computed them
 * (for example from searches of a reference set split into parts, one part per index). An
 * index given the constants a finalize computed scores, saves and loads bit-identically to
 * the finalized one, except that it keeps no neighbour lists: asdnorm_index_add() and
 * asdnorm_index_remove() un-finalize it instead of updating the constants, and its file
 * says the constants were given (docs/file-format.md §3). @p density and @p param are checked as asdnorm_index_finalize() checks
 * them (K is clipped to M − 1 likewise) and are what asdnorm_index_get_estimator() then
 * reports; they do not change the values.
 * @param[in,out] ix       the index, with at least 1 reference (2 for KNN and GWRP)
 * @param[in]     density  one of ::asdnorm_density
 * @param[in]     param    as for asdnorm_index_finalize()
 * @param[in]     values   n density constants, each finite and in [0, FLT_MAX] (−0 is stored
 *                         as +0); all 0 for ::ASDNORM_DENSITY_NONE
 * @param[in]     n        must equal asdnorm_index_size()
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ENUM, ASDNORM_E_ARG (param as for finalize;
 *         a negative value; a non-zero value for NONE), ASDNORM_E_TOO_FEW, ASDNORM_E_DIM
 *         (n is not the size), ASDNORM_E_NONFINITE, ASDNORM_E_RANGE (a value above FLT_MAX),
 *         ASDNORM_E_NOMEM
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_index_set_density(asdnorm_index *ix, asdnorm_density density,
                                                     double param, const double *values,
                                                     size_t n);

/**
 * The exact k nearest neighbours of every reference among the other references: the lists
 * finalize sums into the density constants (math §2.2), exact double distances, ascending,
 * ties to the lower position, each pair of references computed once where the distance is
 * symmetric (as finalize does). With @p split = 0, reference i's k nearest references j ≠ i.
 * With 0 < @p split < M, the references are two parts, positions 0 … split − 1 and
 * split … M − 1, and each reference's k nearest are those of the *other* part only: for a
 * reference set split between machines, two parts put in one index give both parts' lists
 * against each other in one pass (merged with the lists of the other parts, they give the
 * global lists; asdnorm_index_set_density() takes the constants). The index need not be
 * finalized; it is only read. On failure @p dist and @p ids are left as they were.
 * @param[in]  ix     the index, with at least 2 references
 * @param[in]  split  0, or the first position of the second part, 1 ≤ split < M
 * @param[in]  k      neighbours per reference: 1 ≤ k ≤ M − 1 (split 0), else at most the
 *                    size of each part
 * @param[out] dist   M × k doubles: row i holds reference i's k distances, ascending
 * @param[out] ids    M × k positions of those references
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_TOO_FEW (fewer than 2 references),
 *         ASDNORM_E_ARG (split ≥ M, k out of range), ASDNORM_E_OVERFLOW, ASDNORM_E_NOMEM
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_index_neighbours(const asdnorm_index *ix, size_t split,
                                                    size_t k, double *dist, size_t *ids);

/**
 * The ratio normalization's density floor φ of a finalized index (math §2.3): ε · S of its
 * own references, or the value asdnorm_index_set_floor() gave it.
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_STATE (not finalized)
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_index_get_floor(const asdnorm_index *ix, double *phi);

/**
 * Give a finalized index the ratio floor φ of a larger reference set it is a part of (math
 * §2.3: φ = ε · S of the whole set), so that its ratio scores are those of the whole set's
 * index: for a reference set split into parts, one index per part (asdnorm.dask computes S
 * of the whole set in the library's order of operations). φ is not saved: finalize,
 * asdnorm_index_set_density(), asdnorm_index_add(), asdnorm_index_remove() and loading
 * derive it from the index's own references again.
 * Not while another thread reads the index.
 * @param[in] phi  finite and > 0
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_STATE (not finalized), ASDNORM_E_ARG (phi
 *         not finite, or ≤ 0)
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_index_set_floor(asdnorm_index *ix, double phi);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Persistence
 * A finalized index saved to a file or a memory buffer, in the versioned
 * little-endian format of docs/file-format.md, with a checksum over the whole file.
 * A loaded index is finalized and scores bit-identically to the one saved.
 * @{ */

/**
 * Save a finalized index atomically: written to an unnamed file (O_TMPFILE; where that is
 * missing, a file named `.asdnorm-XXXXXXXXXXXX.tmp`) in the same directory, flushed to disk,
 * and linked or renamed over @p path, whose directory is then flushed too: a crash or power
 * loss leaves the old file or the new one, whole (docs/file-format.md §7). @p path may be
 * absent, a regular file (its permissions are kept) or a symbolic link (replaced, not
 * followed); anything else is refused and left as it is: ASDNORM_E_IO with errno EISDIR for
 * a directory, EINVAL for a device, FIFO or socket.
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_STATE (not finalized), ASDNORM_E_IO (errno
 *         holds the cause), ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_index_save(const asdnorm_index *ix, const char *path);

/**
 * Load an index saved by asdnorm_index_save(). Every field, size and the checksum are
 * checked before anything is trusted; a file that fails any check gives no index.
 * The header is read and checked first, then exactly the size it declares: /dev/zero or
 * a stream of garbage fails after 64 bytes, a stream longer than it declares one byte
 * past its end (ASDNORM_E_CORRUPT). @p path may be a pipe or a device.
 * @param[out] out  the loaded, finalized index; NULL on failure
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_IO, ASDNORM_E_CORRUPT, ASDNORM_E_VERSION, ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_index_load(const char *path, asdnorm_index **out);

/**
 * Load an index from @p len bytes at @p buf (the bytes of a saved file). @p buf is not retained.
 * @return as asdnorm_index_load(), without ASDNORM_E_IO
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_index_load_buffer(const void *buf, size_t len,
                                                     asdnorm_index **out);

/**
 * Serialize a finalized index into a caller buffer (the bytes asdnorm_index_save() writes).
 * @param[out] buf     len bytes, or NULL with len 0 to query the size (the query returns
 *                     ASDNORM_E_BUFFER with *needed set)
 * @param[in]  len     size of buf in bytes
 * @param[out] needed  the serialized size in bytes
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_STATE, ASDNORM_E_BUFFER (len < *needed;
 *         *needed is still set), ASDNORM_E_OVERFLOW
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_index_serialize(const asdnorm_index *ix, void *buf, size_t len,
                                                   size_t *needed);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Scorer
 * Scores test samples against a finalized index. It owns its scratch memory
 * (allocated once, independent of the number of test samples), so scoring
 * allocates nothing. One scorer per thread; many scorers may share one index.
 * The index must outlive the scorer and must not be modified while it scores.
 * @{ */
typedef struct asdnorm_scorer asdnorm_scorer;

/**
 * Create a scorer for an index, with its scratch memory.
 * @param[in]  ix    the index (need not be finalized yet; it must be when scoring)
 * @param[in]  norm  one of ::asdnorm_norm
 * @param[out] out   the new scorer; NULL on failure
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ENUM, ASDNORM_E_OVERFLOW (dim above INT_MAX,
 *         the BLAS's limit), ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_scorer_new(const asdnorm_index *ix, asdnorm_norm norm,
                                              asdnorm_scorer **out);

/** Free a scorer. NULL does nothing. @since 0.1.0 */
ASDNORM_API void asdnorm_scorer_free(asdnorm_scorer *sc);

/**
 * How many threads asdnorm_scorer_score() may use. 0 (the default) means OpenMP's default
 * (OMP_NUM_THREADS, or the number of cores); 1 scores on the calling thread without
 * starting any thread. The scorer keeps one workspace (at most about 8 MiB beside a
 * group's queries) per thread it may use, so this allocates or frees workspaces; a host
 * that scores on its own threads gives each thread its own scorer with 1 thread
 * (docs/embedding.md). Results do not depend on it.
 * @param[in] threads  0 … ::ASDNORM_MAX_THREADS
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG (above the maximum),
 *         ASDNORM_E_NOMEM (nothing changes)
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_scorer_set_threads(asdnorm_scorer *sc, unsigned threads);

/**
 * The progress callback of asdnorm_scorer_score() on this scorer (Progress and
 * cancellation, above); NULL @p fn turns it off (the default). A canceled score returns
 * ::ASDNORM_E_CANCELED with @p scores and @p nearest partly written.
 * @param[in] fn    the callback, or NULL
 * @param[in] user  passed to every call of @p fn as is
 * @return ASDNORM_OK, ASDNORM_E_NULL (@p sc is NULL)
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_scorer_set_progress(asdnorm_scorer *sc,
                                                       asdnorm_progress_fn fn, void *user);

/**
 * Anomaly scores of n test samples (higher = more anomalous), math §2.3.
 * @param[in]  x        n × dim floats (dim of the index)
 * @param[in]  n        number of test samples; 0 succeeds and writes nothing
 * @param[out] scores   n floats
 * @param[out] nearest  n positions of the reference attaining the minimum (the lowest such
 *                      position when several attain it exactly), or NULL
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_STATE (index not finalized), ASDNORM_E_OVERFLOW,
 *         ASDNORM_E_NONFINITE, ASDNORM_E_ZERO_VECTOR (cosine), ASDNORM_E_RANGE, ASDNORM_E_NOMEM
 *         (only under an address-space limit, RLIMIT_AS, too tight for the BLAS's buffer),
 *         ASDNORM_E_CANCELED (asdnorm_scorer_set_progress())
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_scorer_score(asdnorm_scorer *sc, const float *x, size_t n,
                                                float *scores, size_t *nearest);

/**
 * Leave-one-out scores of the references (math §2.5): reference i scored, with the scorer's
 * normalization, against every other reference j ≠ i (by position: a duplicate of i stays),
 * each with the density constant n_j^(−i) that finalize would give it on the index without
 * reference i (k-NN: i left out of j's neighbours and the next one taken, K clipped to M − 2;
 * GWRP likewise; NONE: the plain distance). The floor φ of the ratio is the index's. A
 * self score is what a new normal sample scores, so their distribution calibrates a
 * threshold (asdnorm_scorer_threshold()). Exact like asdnorm_scorer_score(): the double
 * values rounded once, ties to the lower position, the same for any thread count.
 * Cost: about a finalize plus a scoring of the M references (docs/guide.md); memory O(M).
 * @param[out] scores   M floats (M = asdnorm_index_size())
 * @param[out] nearest  M positions of the reference attaining each minimum, or NULL
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_STATE (index not finalized),
 *         ASDNORM_E_TOO_FEW (M < 3 under KNN and GWRP, M < 2 under NONE), ASDNORM_E_NOMEM
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_scorer_self_scores(asdnorm_scorer *sc, float *scores,
                                                      size_t *nearest);

/**
 * A decision threshold from the normal references alone (math §2.5): the smallest self score
 * t (asdnorm_scorer_self_scores()) with #{i : s_i > t} ≤ ⌊fpr · M⌋, so that a sample is
 * declared anomalous when its score exceeds t and about a fraction fpr of normal samples
 * are. One threshold for both domains: the normalization is what makes it fit both.
 * Computes the self scores on every call.
 * @param[in]  fpr        the false-alarm rate wanted, in (0, 1)
 * @param[out] threshold  the threshold, a score
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG (fpr outside (0, 1) or NaN),
 *         ASDNORM_E_STATE, ASDNORM_E_TOO_FEW, ASDNORM_E_NOMEM
 * @since 0.2.0
 */
ASDNORM_API asdnorm_status asdnorm_scorer_threshold(asdnorm_scorer *sc, double fpr,
                                                    float *threshold);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Metrics
 * As the DCASE challenge computes them (math §4). Labels: 1 anomalous, 0 normal.
 * @{ */

/**
 * Area under the ROC curve, ties counted half (Mann–Whitney U / (n₊ n₋)); O(n log n).
 * @param[in]  labels  n labels, 0 or 1
 * @param[in]  scores  n scores, higher = more anomalous
 * @param[out] auc     the AUC in [0, 1]
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_EMPTY, ASDNORM_E_LABEL, ASDNORM_E_NONFINITE,
 *         ASDNORM_E_NO_ANOMALY, ASDNORM_E_NO_NORMAL, ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_auc(const uint8_t *labels, const double *scores, size_t n,
                                       double *auc);

/**
 * Partial AUC up to false-positive rate @p max_fpr, McClish-standardized, equal to
 * scikit-learn's roc_auc_score(labels, scores, max_fpr=max_fpr); max_fpr = 1 gives the AUC.
 * @param[in] max_fpr  in (0, 1]; DCASE uses 0.1
 * @return as asdnorm_auc(), and ASDNORM_E_ARG for max_fpr
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_pauc(const uint8_t *labels, const double *scores, size_t n,
                                        double max_fpr, double *pauc);

/**
 * Harmonic mean of n values ≥ 0 (the DCASE aggregation). A zero gives 0, the limit, as
 * scipy.stats.hmean (which the DCASE evaluators use) and the official scores of
 * asdnorm_dcase2023() give it (0.1 refused a zero with ASDNORM_E_ARG).
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_EMPTY, ASDNORM_E_NONFINITE, ASDNORM_E_ARG (a value < 0)
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_hmean(const double *values, size_t n, double *out);

/**
 * Number of distinct section ids among n samples.
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_EMPTY, ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_count_sections(const int32_t *sections, size_t n,
                                                  size_t *n_sections);

/**
 * DCASE 2023/2024/2025 task 2 score. Per section s (ascending ids): AUC_source over the
 * section's source-domain normals and all its anomalies, AUC_target likewise with the
 * target-domain normals, pAUC(max_fpr) over all the section's samples. The official score is
 * the harmonic mean of those 3 · n_sections values.
 * @param[in]  scores, labels, domains, sections  n values each (domains 1 source / 2 target;
 *             every normal sample must have domain 1 or 2; anomalies' domains are not used)
 * @param[in]  max_fpr     the pAUC limit, in (0, 1]; DCASE uses 0.1
 * @param[in]  cap         rows available in section_ids / values
 * @param[out] section_ids cap ids, or NULL
 * @param[out] values      cap × 3 doubles {AUC_source, AUC_target, pAUC}, or NULL
 * @param[out] n_sections  number of sections (set even when ASDNORM_E_BUFFER is returned)
 * @param[out] official    the official score
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_EMPTY, ASDNORM_E_LABEL, ASDNORM_E_NONFINITE,
 *         ASDNORM_E_ARG, ASDNORM_E_NO_ANOMALY, ASDNORM_E_NO_NORMAL (a section lacks normals of a
 *         domain), ASDNORM_E_BUFFER (cap < n_sections with non-NULL outputs), ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_dcase2023(const double *scores, const uint8_t *labels,
                                             const uint8_t *domains, const int32_t *sections,
                                             size_t n, double max_fpr, size_t cap,
                                             int32_t *section_ids, double *values,
                                             size_t *n_sections, double *official);

/**
 * DCASE 2020 task 2 score (no domains): per section AUC and pAUC(max_fpr); the official score
 * is the arithmetic mean of the per-section AUCs and pAUCs.
 * @param[out] values  cap × 2 doubles {AUC, pAUC}, or NULL
 * @return as asdnorm_dcase2023()
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_dcase2020(const double *scores, const uint8_t *labels,
                                             const int32_t *sections, size_t n, double max_fpr,
                                             size_t cap, int32_t *section_ids, double *values,
                                             size_t *n_sections, double *official);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Baselines
 * The methods the paper compares against (math §3). Seeded functions are
 * deterministic across runs, thread counts and platforms.
 * @{ */

/**
 * k-means with k-means++ seeding, @p n_init restarts and Lloyd iterations; the run with the
 * lowest inertia (sum of squared Euclidean distances to the nearest centroid) is kept.
 * @param[in]  x          n × dim floats
 * @param[in]  k          clusters, 1 ≤ k ≤ n
 * @param[in]  n_init     restarts, ≥ 1
 * @param[in]  max_iter   Lloyd iterations per restart, ≥ 1 (scikit-learn uses 300)
 * @param[in]  seed       random seed
 * @param[out] centroids  k × dim floats
 * @param[out] inertia    the kept run's inertia, or NULL
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG, ASDNORM_E_OVERFLOW, ASDNORM_E_NONFINITE,
 *         ASDNORM_E_RANGE, ASDNORM_E_DEGENERATE (k > n), ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_kmeans(const float *x, size_t n, size_t dim, size_t k,
                                          size_t n_init, size_t max_iter, uint64_t seed,
                                          float *centroids, double *inertia);

/**
 * Source means: a new, un-finalized index whose source-domain references are replaced by the
 * k centroids of asdnorm_kmeans() over them (stored as they are, not re-normalized, so that
 * under cosine d(x, c) is the mean cosine distance from x to the cluster's members), followed by
 * every non-source reference of @p src unchanged. k is clipped to the number of source references.
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG, ASDNORM_E_TOO_FEW (no source references),
 *         ASDNORM_E_OVERFLOW, ASDNORM_E_ZERO_VECTOR (a zero centroid under cosine), ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_source_means(const asdnorm_index *src, size_t k, size_t n_init,
                                                uint64_t seed, asdnorm_index **out);

/**
 * SMOTE: n_new synthetic samples x_i + u · (x_nn − x_i), x_i drawn uniformly from the n rows,
 * x_nn drawn uniformly from its k nearest other rows (Euclidean), u ~ U[0, 1).
 * @param[in]  x            n × dim floats, n ≥ 2
 * @param[in]  k_neighbors  ≥ 1, clipped to n − 1
 * @param[out] out          n_new × dim floats
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG, ASDNORM_E_OVERFLOW, ASDNORM_E_NONFINITE,
 *         ASDNORM_E_RANGE, ASDNORM_E_TOO_FEW (n < 2), ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_smote(const float *x, size_t n, size_t dim, size_t n_new,
                                         size_t k_neighbors, uint64_t seed, float *out);

/**
 * SMOTE on an index: a new, un-finalized index holding every reference of @p src followed by
 * n_new synthetic target-domain references made from src's target references (re-normalized
 * under cosine). n_new = 0 means "up to the number of source references".
 * @return as asdnorm_smote(), and ASDNORM_E_TOO_FEW (fewer than 2 target references),
 *         ASDNORM_E_ZERO_VECTOR (a synthetic row of zero length under cosine)
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_smote_index(const asdnorm_index *src, size_t n_new,
                                               size_t k_neighbors, uint64_t seed,
                                               asdnorm_index **out);

/**
 * Domain-wise standardization (transductive: needs the whole test batch). For each domain
 * label d present among @p ix's references (unknown, 0, counts as a domain of its own), score the batch against that domain's references alone,
 * as an index of its own finalized with @p ix's estimator, normalized with @p norm: s_d(x).
 * Each s_d is standardized by its mean and unbiased standard deviation over the batch and the
 * final score is the minimum over d.
 * @param[in]  ix      a finalized index
 * @param[in]  x       n × dim floats, n ≥ 2
 * @param[out] scores  n floats
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ENUM, ASDNORM_E_STATE, ASDNORM_E_TOO_FEW
 *         (n < 2, or a domain too small for the estimator), ASDNORM_E_DEGENERATE (zero
 *         variance), the scoring statuses, ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_standardized_scores(const asdnorm_index *ix, asdnorm_norm norm,
                                                       const float *x, size_t n, float *scores);

/** Local Outlier Factor in novelty mode, fitted on an index's references. */
typedef struct asdnorm_lof asdnorm_lof;

/**
 * Fit LOF (Breunig et al. 2000) on the references of @p ix with the index's distance:
 * k-distance and local reachability density of each reference (neighbours exclude itself).
 * The index need not be finalized; it must outlive the LOF and not change while it is used.
 * @param[in] k  neighbours, ≥ 1, clipped to M − 1 (as scikit-learn does)
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG, ASDNORM_E_OVERFLOW, ASDNORM_E_TOO_FEW (M < 2),
 *         ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_lof_new(const asdnorm_index *ix, size_t k, asdnorm_lof **out);

/** Free a LOF model. NULL does nothing. @since 0.1.0 */
ASDNORM_API void asdnorm_lof_free(asdnorm_lof *lof);

/**
 * LOF scores of n test samples: mean lrd of the k nearest references / lrd(x), equal to
 * scikit-learn's -LocalOutlierFactor(novelty=True).score_samples(x) (higher = more anomalous).
 * @return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_OVERFLOW, ASDNORM_E_NONFINITE,
 *         ASDNORM_E_ZERO_VECTOR, ASDNORM_E_RANGE, ASDNORM_E_STATE (the index changed size since
 *         the fit), ASDNORM_E_NOMEM
 * @since 0.1.0
 */
ASDNORM_API asdnorm_status asdnorm_lof_score(asdnorm_lof *lof, const float *x, size_t n,
                                             float *scores);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* ASDNORM_ASDNORM_H */
