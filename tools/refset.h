/* SPDX-License-Identifier: MIT */
/* Reference sets for `score` and `index build`: grouping rows by section and
 * building one finalized index per section, with the baselines that replace or
 * add references (source k-means means, SMOTE). */
#ifndef ASDNORM_TOOLS_REFSET_H
#define ASDNORM_TOOLS_REFSET_H

#include <stddef.h>
#include <stdint.h>

#include <asdnorm/asdnorm.h>

/* The rows of one section, in file order. */
typedef struct section_group {
    int64_t id;
    size_t *rows;
    size_t n;
} section_group;

/* Group n rows by section id (NULL: one group, id 0, of all rows), groups in
 * ascending id order. -1 when out of memory (after printing a message). */
int group_sections(const int64_t *sections, size_t n, section_group **groups, size_t *ngroups);
void free_groups(section_group *groups, size_t ngroups);
/* The group with this id, or NULL. */
const section_group *find_group(const section_group *groups, size_t ngroups, int64_t id);

/* Copy the listed rows of an n × dim matrix into a new contiguous buffer. */
float *gather_rows(const float *x, size_t dim, const size_t *rows, size_t n);

typedef struct build_options {
    asdnorm_distance distance;
    asdnorm_density density;
    double param;         /* K for knn, r for gwrp */
    size_t source_kmeans; /* 0: off; else k-means clusters replacing the source references */
    size_t smote_k;       /* 0: off; else SMOTE k_neighbors, target grown to the source count */
    uint64_t seed;
} build_options;

/* The options `score` and `index build` share: how references become an index,
 * and --quiet (no progress bar) (options.c). Their getopt_long entries are
 * BUILD_OPTIONS. */
enum { O_DISTANCE = 256, O_DENSITY, O_K, O_R, O_KMEANS, O_SMOTE, O_SEED, O_QUIET, O_FIRST_OWN };

/* clang-format off */
#define BUILD_OPTIONS                                        \
    {"distance", required_argument, NULL, O_DISTANCE},      \
    {"density", required_argument, NULL, O_DENSITY},        \
    {"k", required_argument, NULL, O_K},                    \
    {"r", required_argument, NULL, O_R},                    \
    {"source-kmeans", required_argument, NULL, O_KMEANS},   \
    {"smote", required_argument, NULL, O_SMOTE},            \
    {"seed", required_argument, NULL, O_SEED},              \
    {"quiet", no_argument, NULL, O_QUIET}
/* clang-format on */

typedef struct build_args {
    build_options o;
    size_t k; /* --k (default 1) */
    double r; /* --r (default 0.9) */
    int k_given, r_given, distance_given, density_given;
} build_args;

void build_args_init(build_args *b);
/* 1 when id is a build option (parsed into b), 0 when it is not, -1 after a usage error. */
int parse_build_option(const char *cmd, int id, const char *v, build_args *b);
/* Combinations and the estimator's parameter: EXIT_OK or EXIT_USAGE after a message.
 * k_also ends the message of a misplaced --k (NULL: nothing). */
int finish_build_args(const char *cmd, build_args *b, const char *k_also);

/* What a "section" is called in messages: "section 3", or "the references"
 * when the file has no sections. */
void section_name(int sectioned, int64_t id, char *buf, size_t cap);

/* Build an index from m rows (already validated), apply the baseline that
 * changes the references, and finalize it. origin_rows[i] is the reference
 * file's row of x's row i. On success *map (malloc'd, asdnorm_index_size
 * entries) gives, per index position, the reference file row or -1 for a
 * synthetic or centroid reference. Prints its errors naming `where`. */
int build_section_index(const float *x, size_t m, size_t dim, const uint8_t *domains,
                        const size_t *origin_rows, const build_options *o, const char *where,
                        asdnorm_index **out, int64_t **map);

/* Apply source k-means / SMOTE (when set) to a loaded, finalized index and
 * finalize the result with the loaded estimator. *map maps positions of the new
 * index to positions of the loaded one (-1 for new references). */
int transform_loaded_index(asdnorm_index **ix, const build_options *o, const char *where,
                           int64_t **map);

/* Finalize with a progress bar for long runs; prints errors naming where. */
int finalize_index(asdnorm_index *ix, asdnorm_density density, double param, const char *where);

#endif /* ASDNORM_TOOLS_REFSET_H */
