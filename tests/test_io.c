/* SPDX-License-Identifier: MIT */
/* Persistence (docs/file-format.md): round trips for every distance × estimator,
 * checked field by field against the documented layout and against a CRC-64
 * computed here bit by bit; bit-identical density constants, vectors, scores
 * and nearest positions after loading from a file and from a buffer; the
 * serialize size protocol; the status of every misuse; and the atomicity of
 * saving (a failed save keeps the old file and leaves no temporary file). */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testfiles.h"
#include "testutil.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* ---- the format, as docs/file-format.md states it ------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* CRC-64/XZ bit by bit, straight from its definition (no table): reflected
 * ECMA-182 polynomial, init and final XOR all ones. */
static uint64_t crc64_bitwise(const uint8_t *p, size_t n)
{
    uint64_t crc = ~(uint64_t)0;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xC96C5795D7870F42ull : crc >> 1;
    }
    return ~crc;
}

static size_t round8(size_t n)
{
    return (n + 7) / 8 * 8;
}

/* The file size of docs/file-format.md §1 for m references of dim, with neighbour
 * lists of room k per row (format version 2). */
static size_t expected_size_k(size_t m, size_t dim, asdnorm_distance dist, size_t k)
{
    return 64 + (16 + round8(m * dim * 4)) + (16 + round8(m * 4)) +
           (16 + (dist == ASDNORM_DISTANCE_COSINE ? m * 8 : 0)) + (16 + round8(m)) +
           (16 + m * 8) + (16 + 24) + (16 + (k ? 8 * m : 0)) + 2 * (16 + 8 * m * k) + 8;
}

/* The list length of docs/math.md §2.2 for a requested K or r, m references: K′, or
 * GWRP's L = ⌈45 ln 2 / −ln r⌉ (1 for r = 0, all for r = 1), at most m − 1; 0 for NONE. */
static size_t list_length(asdnorm_density est, double req, size_t m)
{
    if (est == ASDNORM_DENSITY_NONE)
        return 0;
    if (est == ASDNORM_DENSITY_KNN)
        return (size_t)req < m - 1 ? (size_t)req : m - 1;
    double L = req == 0.0 ? 1.0 : req == 1.0 ? (double)m : ceil(45.0 * log(2.0) / -log(req));
    return L >= (double)(m - 1) ? m - 1 : (size_t)L;
}

/* The room a list gets (docs/file-format.md §3): the need and half as much again, at
 * least 2 more, at most m − 1. */
static size_t list_room(size_t need, size_t m)
{
    size_t room = need + (need / 2 > 2 ? need / 2 : 2);
    return need == 0 ? 0 : room < m - 1 ? room : m - 1;
}

/* Without the lists: a version-2 file of an index with given densities. */
static size_t expected_size(size_t m, size_t dim, asdnorm_distance dist)
{
    return expected_size_k(m, dim, dist, 0);
}

static const asdnorm_distance distances[] = {ASDNORM_DISTANCE_COSINE,
                                             ASDNORM_DISTANCE_EUCLIDEAN, ASDNORM_DISTANCE_MSE};
static const asdnorm_norm norms[] = {ASDNORM_NORM_NONE, ASDNORM_NORM_RATIO,
                                     ASDNORM_NORM_DIFFERENCE};
static const struct {
    asdnorm_density est;
    double param;
} estimators[] = {
    {ASDNORM_DENSITY_NONE, 0},   {ASDNORM_DENSITY_KNN, 1},    {ASDNORM_DENSITY_KNN, 3},
    {ASDNORM_DENSITY_KNN, 1000}, {ASDNORM_DENSITY_GWRP, 0},   {ASDNORM_DENSITY_GWRP, 0.5},
    {ASDNORM_DENSITY_GWRP, 1.0},
};

enum { M = 37, DIM = 13, NQ = 29 };

/* ---- helpers ---------------------------------------------------------------- */

static char g_dir[PATH_MAX];

/* Entries of dir whose name contains ".tmp": a save's leftovers. */
static size_t temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp"))
            n++;
    closedir(d);
    return n;
}

static void write_all(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static asdnorm_index *build(asdnorm_distance dist, const float *y, size_t m, size_t dim,
                            const uint8_t *domains, asdnorm_density est, double param)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(dim, dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, m, domains), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, est, param), ASDNORM_OK);
    return ix;
}

static uint8_t *serialize(const asdnorm_index *ix, size_t *len)
{
    size_t needed = 0;
    assert_int_equal(asdnorm_index_serialize(ix, NULL, 0, &needed), ASDNORM_E_BUFFER);
    uint8_t *b = malloc(needed);
    size_t again = 0;
    assert_int_equal(asdnorm_index_serialize(ix, b, needed, &again), ASDNORM_OK);
    assert_int_equal(again, needed);
    *len = needed;
    return b;
}

/* Everything observable of two indexes is bit-identical, and so is their
 * scoring of the probes under every normalization. */
static void assert_same_index(const asdnorm_index *a, const asdnorm_index *b, const float *probe,
                              size_t nq, const char *what)
{
    size_t m = asdnorm_index_size(a), dim = asdnorm_index_dim(a);
    assert_int_equal(asdnorm_index_size(b), m);
    assert_int_equal(asdnorm_index_dim(b), dim);
    assert_int_equal(asdnorm_index_distance(b), asdnorm_index_distance(a));
    assert_true(asdnorm_index_is_finalized(b));
    asdnorm_density ea, eb;
    double pa, pb;
    assert_int_equal(asdnorm_index_get_estimator(a, &ea, &pa), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_estimator(b, &eb, &pb), ASDNORM_OK);
    assert_int_equal(ea, eb);
    assert_memory_equal(&pa, &pb, sizeof pa);

    double *da = malloc(m * sizeof *da), *db = malloc(m * sizeof *db);
    assert_int_equal(asdnorm_index_get_density(a, da, m), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_density(b, db, m), ASDNORM_OK);
    assert_memory_equal(da, db, m * sizeof *da);
    uint8_t *ga = malloc(m), *gb = malloc(m);
    assert_int_equal(asdnorm_index_get_domains(a, ga, m), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_domains(b, gb, m), ASDNORM_OK);
    assert_memory_equal(ga, gb, m);
    float *va = malloc(m * dim * sizeof *va), *vb = malloc(m * dim * sizeof *vb);
    assert_int_equal(asdnorm_index_get_vectors(a, 0, m, va), ASDNORM_OK);
    assert_int_equal(asdnorm_index_get_vectors(b, 0, m, vb), ASDNORM_OK);
    assert_memory_equal(va, vb, m * dim * sizeof *va);

    float *sa = malloc(nq * sizeof *sa), *sb = malloc(nq * sizeof *sb);
    size_t *na = malloc(nq * sizeof *na), *nb = malloc(nq * sizeof *nb);
    for (size_t k = 0; k < sizeof norms / sizeof norms[0]; k++) {
        asdnorm_scorer *sca = NULL, *scb = NULL;
        assert_int_equal(asdnorm_scorer_new(a, norms[k], &sca), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_new(b, norms[k], &scb), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_score(sca, probe, nq, sa, na), ASDNORM_OK);
        assert_int_equal(asdnorm_scorer_score(scb, probe, nq, sb, nb), ASDNORM_OK);
        if (memcmp(sa, sb, nq * sizeof *sa) != 0 || memcmp(na, nb, nq * sizeof *na) != 0)
            fail_msg("%s, norm %d: scores or nearest positions differ after loading", what,
                     norms[k]);
        /* One sample at a time (the matrix–vector path) as well. */
        for (size_t t = 0; t < nq; t += 5) {
            float one;
            size_t near;
            assert_int_equal(asdnorm_scorer_score(scb, probe + t * dim, 1, &one, &near),
                             ASDNORM_OK);
            assert_memory_equal(&one, &sa[t], sizeof one);
            assert_int_equal(near, na[t]);
        }
        asdnorm_scorer_free(sca);
        asdnorm_scorer_free(scb);
    }
    free(da);
    free(db);
    free(ga);
    free(gb);
    free(va);
    free(vb);
    free(sa);
    free(sb);
    free(na);
    free(nb);
}

/* d(y_j, y_i) between stored references as math §2.1 defines it: under cosine the
 * left one normalized, the right one as stored (a centroid need not be a unit vector). */
static double ref_distance(asdnorm_distance dist, const float *x, const float *y, size_t dim)
{
    if (dist != ASDNORM_DISTANCE_COSINE)
        return tu_distance(dist, x, y, dim);
    double xx = 0, xy = 0;
    for (size_t i = 0; i < dim; i++) {
        xx += (double)x[i] * x[i];
        xy += (double)x[i] * y[i];
    }
    return fmax(0.5 * (1.0 - xy / sqrt(xx)), 0.0);
}

/* The bytes follow docs/file-format.md, read here independently of the library. */
static void assert_layout(const uint8_t *b, size_t len, const asdnorm_index *ix)
{
    size_t m = asdnorm_index_size(ix), dim = asdnorm_index_dim(ix);
    asdnorm_distance dist = asdnorm_index_distance(ix);
    asdnorm_density est;
    double param;
    assert_int_equal(asdnorm_index_get_estimator(ix, &est, &param), ASDNORM_OK);

    /* The INCR section comes right after DENS: where the sizes of §1 put it. */
    const size_t incr = expected_size(m, dim, dist) - 8 - 3 * 16 - 24;
    assert_memory_equal(b + incr - 16, "INCR", 4);
    const uint64_t computed = le64(b + incr), lk = le64(b + incr + 8), rbits = le64(b + incr + 16);
    double req;
    memcpy(&req, &rbits, sizeof req);
    assert_true(computed <= 1);
    const size_t need = computed ? list_length(est, req, m) : 0;
    if (computed)
        assert_int_equal(lk, list_room(need, m));
    else
        assert_int_equal(lk, 0);
    assert_int_equal(len, expected_size_k(m, dim, dist, (size_t)lk));
    static const uint8_t magic[8] = {0x89, 'A', 'S', 'D', 'N', 'I', 'D', 'X'};
    assert_memory_equal(b, magic, 8);
    assert_int_equal(le32(b + 8), 2);   /* version */
    assert_int_equal(le32(b + 12), 64); /* header size */
    assert_int_equal(le64(b + 16), len);
    assert_int_equal(le32(b + 24), 0); /* flags */
    assert_int_equal(le32(b + 28), (uint32_t)dist);
    assert_int_equal(le64(b + 32), dim);
    assert_int_equal(le64(b + 40), m);
    assert_int_equal(le32(b + 48), (uint32_t)est);
    assert_int_equal(le32(b + 52), 9);
    uint64_t pbits;
    memcpy(&pbits, &param, sizeof pbits);
    assert_int_equal(le64(b + 56), pbits);

    static const char *tags[9] = {"VECT", "AUXF", "SCAL", "DOMS", "DENS",
                                  "INCR", "NBRN", "NBRD", "NBRI"};
    static const uint32_t elem[9] = {4, 4, 8, 1, 8, 8, 8, 8, 8};
    size_t count[9] = {m * dim, m, dist == ASDNORM_DISTANCE_COSINE ? m : 0, m, m, 3,
                       lk ? m : 0, m * (size_t)lk, m * (size_t)lk};
    size_t off = 64, payload[9];
    for (int s = 0; s < 9; s++) {
        assert_memory_equal(b + off, tags[s], 4);
        assert_int_equal(le32(b + off + 4), elem[s]);
        assert_int_equal(le64(b + off + 8), count[s] * elem[s]);
        payload[s] = off + 16;
        size_t end = payload[s] + count[s] * elem[s];
        for (size_t k = end; k < round8(end); k++)
            assert_int_equal(b[k], 0); /* padding */
        off = round8(end);
    }
    assert_int_equal(off + 8, len);
    assert_int_equal(le64(b + len - 8), crc64_bitwise(b, len - 8));

    /* Payloads, little-endian: the vectors as stored (under cosine the stored
     * row times its factor c_j is what the accessor gives), the density
     * constants and the labels. */
    float *v = malloc(m * dim * sizeof *v);
    assert_int_equal(asdnorm_index_get_vectors(ix, 0, m, v), ASDNORM_OK);
    for (size_t i = 0; i < m * dim; i++) {
        uint32_t u = le32(b + payload[0] + 4 * i);
        float stored;
        memcpy(&stored, &u, sizeof stored);
        if (dist == ASDNORM_DISTANCE_COSINE) {
            uint64_t cu = le64(b + payload[2] + 8 * (i / dim));
            double c;
            memcpy(&c, &cu, sizeof c);
            assert_true(c > 0 && isfinite(c));
            stored = (float)(stored * c);
        }
        assert_memory_equal(&stored, &v[i], sizeof stored);
    }
    free(v);
    double *dens = malloc(m * sizeof *dens);
    assert_int_equal(asdnorm_index_get_density(ix, dens, m), ASDNORM_OK);
    for (size_t j = 0; j < m; j++) {
        uint64_t u;
        memcpy(&u, &dens[j], sizeof u);
        assert_int_equal(le64(b + payload[4] + 8 * j), u);
    }
    free(dens);
    uint8_t *doms = malloc(m);
    assert_int_equal(asdnorm_index_get_domains(ix, doms, m), ASDNORM_OK);
    assert_memory_equal(b + payload[3], doms, m);
    free(doms);

    /* The lists: row j holds from need to room entries (then zeros); its t-th entry
     * is another row at the t-th smallest distance of the brute force, its own
     * distance, ascending, ties by position. */
    float *w = malloc(m * dim * sizeof *w);
    double *row = malloc(m * sizeof *row);
    assert_int_equal(asdnorm_index_get_vectors(ix, 0, m, w), ASDNORM_OK);
    for (size_t j = 0; j < m && lk > 0; j++) {
        size_t c = 0;
        for (size_t i = 0; i < m; i++)
            if (i != j)
                row[c++] = ref_distance(dist, w + j * dim, w + i * dim, dim);
        qsort(row, c, sizeof *row, tu_cmp_double);
        const uint64_t cnt = le64(b + payload[6] + 8 * j);
        assert_true(cnt >= need && cnt <= lk);
        for (size_t t = cnt; t < lk; t++) {
            assert_int_equal(le64(b + payload[7] + 8 * (j * lk + t)), 0);
            assert_int_equal(le64(b + payload[8] + 8 * (j * lk + t)), 0);
        }
        for (size_t t = 0; t < cnt; t++) {
            uint64_t du = le64(b + payload[7] + 8 * (j * lk + t));
            const uint64_t pos = le64(b + payload[8] + 8 * (j * lk + t));
            double d;
            memcpy(&d, &du, sizeof d);
            assert_true(pos < m && pos != j);
            const double tol = 1e-6 * row[t] + (dist == ASDNORM_DISTANCE_COSINE ? 1e-12 : 0.0);
            assert_true(fabs(d - row[t]) <= tol);
            assert_true(fabs(d - ref_distance(dist, w + j * dim, w + pos * dim, dim)) <= tol);
        }
    }
    free(w);
    free(row);
}

/* ---- tests ------------------------------------------------------------------ */

static void crc_reference(void **state)
{
    (void)state;
    /* The CRC-64/XZ check value: proves the test's own CRC is the documented one. */
    assert_int_equal(crc64_bitwise((const uint8_t *)"123456789", 9), 0x995DC9BBDF1939FAull);
}

/* Every distance × estimator: layout, file == buffer, load from both, bit-identical
 * scoring, and scores that agree with the brute force. */
static void round_trips(void **state)
{
    (void)state;
    uint64_t seed = 6;
    float *y = tu_gauss(&seed, M, DIM, 0.3, 1.0);
    float *probe = tu_gauss(&seed, NQ, DIM, 0.3, 1.2);
    uint8_t domains[M];
    for (size_t j = 0; j < M; j++)
        domains[j] = (uint8_t)(j % 3);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/index.asdx", g_dir);
    int cases = 0;

    for (size_t d = 0; d < 3; d++) {
        for (size_t e = 0; e < sizeof estimators / sizeof estimators[0]; e++) {
            char what[96];
            snprintf(what, sizeof what, "distance %d, estimator %d(%g)", distances[d],
                     estimators[e].est, estimators[e].param);
            asdnorm_index *ix = build(distances[d], y, M, DIM, domains, estimators[e].est,
                                      estimators[e].param);
            size_t len;
            uint8_t *buf = serialize(ix, &len);
            assert_layout(buf, len, ix);

            assert_int_equal(asdnorm_index_save(ix, path), ASDNORM_OK);
            size_t flen;
            uint8_t *file = tf_read_all(path, &flen);
            assert_int_equal(flen, len);
            assert_memory_equal(file, buf, len);
            free(file);
            assert_int_equal(temp_files(g_dir), 0);

            asdnorm_index *from_file = (asdnorm_index *)(uintptr_t)1;
            asdnorm_index *from_buf = (asdnorm_index *)(uintptr_t)1;
            assert_int_equal(asdnorm_index_load(path, &from_file), ASDNORM_OK);
            assert_int_equal(asdnorm_index_load_buffer(buf, len, &from_buf), ASDNORM_OK);
            assert_same_index(ix, from_file, probe, NQ, what);
            assert_same_index(ix, from_buf, probe, NQ, what);

            /* A loaded index serializes to the same bytes. */
            size_t len2;
            uint8_t *buf2 = serialize(from_buf, &len2);
            assert_int_equal(len2, len);
            assert_memory_equal(buf2, buf, len);
            free(buf2);

            /* And scores what the brute force says (the saved index is right,
             * not merely equal to itself). */
            double dens[M], want[NQ];
            size_t want_near[NQ], near[NQ];
            float got[NQ];
            double kept;
            asdnorm_density est;
            assert_int_equal(asdnorm_index_get_estimator(from_file, &est, &kept), ASDNORM_OK);
            assert_int_equal(est, estimators[e].est);
            if (est == ASDNORM_DENSITY_KNN)
                assert_true(kept == fmin(estimators[e].param, M - 1));
            tu_density(distances[d], y, M, DIM, est, estimators[e].param, dens);
            asdnorm_scorer *sc = NULL;
            assert_int_equal(asdnorm_scorer_new(from_file, ASDNORM_NORM_RATIO, &sc), ASDNORM_OK);
            assert_int_equal(asdnorm_scorer_score(sc, probe, NQ, got, near), ASDNORM_OK);
            tu_scores(distances[d], y, M, DIM, dens, est, ASDNORM_NORM_RATIO, probe, NQ, want,
                      want_near);
            for (size_t t = 0; t < NQ; t++)
                if (!tu_close(got[t], want[t], 1e-5, 1e-6))
                    fail_msg("%s: loaded score %zu = %.9g, brute force %.9g", what, t,
                             (double)got[t], want[t]);
            asdnorm_scorer_free(sc);

            asdnorm_index_free(from_file);
            asdnorm_index_free(from_buf);
            asdnorm_index_free(ix);
            free(buf);
            cases++;
        }
    }
    print_message("round trips: %d distance x estimator cases, each from a file and a buffer\n",
                  cases);
    free(y);
    free(probe);
}

/* References that are not unit vectors under cosine (k-means centroids, c_j = 1)
 * and a single reference: the saved factors, not recomputed ones, are restored. */
static void unusual_indexes(void **state)
{
    (void)state;
    uint64_t seed = 66;
    float *y = tu_gauss(&seed, 40, 8, 0.0, 1.0);
    float *probe = tu_gauss(&seed, 17, 8, 0.0, 1.0);
    uint8_t domains[40];
    for (size_t j = 0; j < 40; j++)
        domains[j] = j < 30 ? ASDNORM_DOMAIN_SOURCE : ASDNORM_DOMAIN_TARGET;

    for (size_t d = 0; d < 3; d++) {
        asdnorm_index *src = NULL, *means = NULL;
        assert_int_equal(asdnorm_index_new(8, distances[d], &src), ASDNORM_OK);
        assert_int_equal(asdnorm_index_add(src, y, 40, domains), ASDNORM_OK);
        assert_int_equal(asdnorm_source_means(src, 4, 2, 1234, &means), ASDNORM_OK);
        assert_int_equal(asdnorm_index_finalize(means, ASDNORM_DENSITY_KNN, 2), ASDNORM_OK);
        size_t len;
        uint8_t *buf = serialize(means, &len);
        assert_layout(buf, len, means);
        asdnorm_index *back = NULL;
        assert_int_equal(asdnorm_index_load_buffer(buf, len, &back), ASDNORM_OK);
        assert_same_index(means, back, probe, 17, "source means");
        asdnorm_index_free(back);
        asdnorm_index_free(means);
        asdnorm_index_free(src);
        free(buf);

        /* M = 1 with no density estimator. */
        asdnorm_index *one = build(distances[d], y, 1, 8, NULL, ASDNORM_DENSITY_NONE, 0);
        buf = serialize(one, &len);
        assert_int_equal(len, expected_size(1, 8, distances[d]));
        assert_int_equal(asdnorm_index_load_buffer(buf, len, &back), ASDNORM_OK);
        assert_same_index(one, back, probe, 17, "one reference");
        asdnorm_index_free(back);
        asdnorm_index_free(one);
        free(buf);
    }
    free(y);
    free(probe);
}

/* A saved and loaded index keeps what incremental updates need: adding to and
 * removing from the loaded one gives bitwise the index finalized from scratch
 * (for every distance and estimator, K clipped at save time included). */
static void updates_after_load(void **state)
{
    (void)state;
    uint64_t seed = 21;
    enum { M0 = 9, MORE = 5 };
    float *y = tu_gauss(&seed, M0 + MORE, DIM, 0.3, 1.0);
    memcpy(y + 4 * DIM, y + 2 * DIM, DIM * sizeof *y); /* a duplicate */
    float *probe = tu_gauss(&seed, NQ, DIM, 0.3, 1.2);
    for (size_t d = 0; d < 3; d++)
        for (size_t e = 0; e < sizeof estimators / sizeof estimators[0]; e++) {
            const asdnorm_density est = estimators[e].est;
            const double param = estimators[e].param;
            asdnorm_index *ix = build(distances[d], y, M0, DIM, NULL, est, param);
            size_t len;
            uint8_t *b = serialize(ix, &len);
            asdnorm_index *back = NULL;
            assert_int_equal(asdnorm_index_load_buffer(b, len, &back), ASDNORM_OK);
            assert_int_equal(asdnorm_index_add(back, y + M0 * DIM, MORE, NULL), ASDNORM_OK);
            asdnorm_index *want = build(distances[d], y, M0 + MORE, DIM, NULL, est, param);
            assert_same_index(back, want, probe, NQ, "add after load");
            asdnorm_index_free(want);
            const size_t gone[] = {2, 0, M0 + MORE - 1};
            assert_int_equal(asdnorm_index_remove(back, gone, 3), ASDNORM_OK);
            float *rest = malloc((M0 + MORE) * DIM * sizeof *rest);
            size_t m = 0;
            for (size_t j = 0; j < M0 + MORE; j++)
                if (j != 0 && j != 2 && j != M0 + MORE - 1)
                    memcpy(rest + m++ * DIM, y + j * DIM, DIM * sizeof *rest);
            want = build(distances[d], rest, m, DIM, NULL, est, param);
            assert_same_index(back, want, probe, NQ, "remove after add after load");
            /* …and the updated index saves and loads as itself (its lists may hold
             * fewer entries than a fresh finalize's: the file records their counts). */
            size_t la, lb;
            uint8_t *fa = serialize(back, &la);
            asdnorm_index *again = NULL;
            assert_int_equal(asdnorm_index_load_buffer(fa, la, &again), ASDNORM_OK);
            assert_same_index(again, want, probe, NQ, "updated, saved and loaded");
            uint8_t *fb = serialize(again, &lb);
            assert_int_equal(la, lb);
            assert_memory_equal(fa, fb, la);
            asdnorm_index_free(again);
            free(fa);
            free(fb);
            free(rest);
            asdnorm_index_free(want);
            asdnorm_index_free(back);
            asdnorm_index_free(ix);
            free(b);
        }
    free(y);
    free(probe);
}

/* Version-1 files (libasdnorm 0.1) still load, score as they did, and save as
 * version 2 with their densities marked given: they hold no neighbour lists, so
 * an add un-finalizes the index (as in 0.1) until it is finalized again. The
 * version-1 file is the version-2 one cut after its DENS section. */
static void version_1_files(void **state)
{
    (void)state;
    uint64_t seed = 31;
    float *y = tu_gauss(&seed, M, DIM, 0.3, 1.0);
    float *probe = tu_gauss(&seed, NQ, DIM, 0.3, 1.2);
    for (size_t d = 0; d < 3; d++) {
        asdnorm_index *ix = build(distances[d], y, M, DIM, NULL, ASDNORM_DENSITY_KNN, 3);
        size_t len;
        uint8_t *b = serialize(ix, &len);
        const size_t v1len = expected_size(M, DIM, distances[d]) - (16 + 24) - 3 * 16;
        uint8_t *v1 = malloc(v1len);
        memcpy(v1, b, v1len - 8);
        v1[8] = 1;  /* version */
        v1[52] = 5; /* sections */
        for (int i = 0; i < 8; i++)
            v1[16 + i] = (uint8_t)((uint64_t)v1len >> (8 * i));
        const uint64_t crc = crc64_bitwise(v1, v1len - 8);
        for (int i = 0; i < 8; i++)
            v1[v1len - 8 + i] = (uint8_t)(crc >> (8 * i));
        asdnorm_index *old = NULL;
        assert_int_equal(asdnorm_index_load_buffer(v1, v1len, &old), ASDNORM_OK);
        assert_same_index(old, ix, probe, NQ, "version 1");
        size_t l2;
        uint8_t *again = serialize(old, &l2);
        assert_int_equal(l2, expected_size(M, DIM, distances[d]));
        assert_int_equal(le32(again + 8), 2);
        asdnorm_index *twice = NULL;
        assert_int_equal(asdnorm_index_load_buffer(again, l2, &twice), ASDNORM_OK);
        assert_same_index(twice, ix, probe, NQ, "version 1 saved as version 2");
        assert_int_equal(asdnorm_index_add(old, y, 1, NULL), ASDNORM_OK);
        assert_false(asdnorm_index_is_finalized(old));
        assert_int_equal(asdnorm_index_finalize(old, ASDNORM_DENSITY_KNN, 3), ASDNORM_OK);
        assert_int_equal(asdnorm_index_add(old, y + DIM, 1, NULL), ASDNORM_OK);
        assert_true(asdnorm_index_is_finalized(old));
        asdnorm_index_free(twice);
        asdnorm_index_free(old);
        asdnorm_index_free(ix);
        free(again);
        free(v1);
        free(b);
    }
    free(y);
    free(probe);
}

/* The size protocol of asdnorm_index_serialize(). */
static void serialize_sizes(void **state)
{
    (void)state;
    uint64_t seed = 7;
    float *y = tu_gauss(&seed, 9, 5, 0.0, 1.0);
    asdnorm_index *ix = build(ASDNORM_DISTANCE_EUCLIDEAN, y, 9, 5, NULL, ASDNORM_DENSITY_KNN, 2);
    size_t need = 0;
    assert_int_equal(asdnorm_index_serialize(ix, NULL, 0, &need), ASDNORM_E_BUFFER);
    assert_int_equal(need, expected_size_k(9, 5, ASDNORM_DISTANCE_EUCLIDEAN, 4));

    /* Too small by one: E_BUFFER, the size is reported, the buffer is untouched. */
    uint8_t *b = malloc(need + 16);
    memset(b, 0xA5, need + 16);
    size_t got = 0;
    assert_int_equal(asdnorm_index_serialize(ix, b, need - 1, &got), ASDNORM_E_BUFFER);
    assert_int_equal(got, need);
    for (size_t i = 0; i < need + 16; i++)
        assert_int_equal(b[i], 0xA5);
    /* Larger than needed: only `need` bytes are written. */
    got = 0;
    assert_int_equal(asdnorm_index_serialize(ix, b, need + 16, &got), ASDNORM_OK);
    assert_int_equal(got, need);
    for (size_t i = need; i < need + 16; i++)
        assert_int_equal(b[i], 0xA5);
    assert_int_equal(le64(b + need - 8), crc64_bitwise(b, need - 8));

    /* Arguments. */
    got = 12345;
    assert_int_equal(asdnorm_index_serialize(NULL, b, need, &got), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_serialize(ix, b, need, NULL), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_serialize(ix, NULL, need, &got), ASDNORM_E_NULL);
    assert_int_equal(got, 12345);
    free(b);
    asdnorm_index_free(ix);
    free(y);
}

/* Un-finalized indexes cannot be saved; bad arguments get their status. */
static void states_and_arguments(void **state)
{
    (void)state;
    uint64_t seed = 8;
    float *y = tu_gauss(&seed, 6, 4, 0.0, 1.0);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/state.asdx", g_dir);

    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(4, ASDNORM_DISTANCE_COSINE, &ix), ASDNORM_OK);
    size_t need = 777;
    uint8_t b[16];
    assert_int_equal(asdnorm_index_serialize(ix, NULL, 0, &need), ASDNORM_E_STATE);
    assert_int_equal(asdnorm_index_save(ix, path), ASDNORM_E_STATE);
    assert_int_equal(asdnorm_index_add(ix, y, 6, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_serialize(ix, b, sizeof b, &need), ASDNORM_E_STATE);
    assert_int_equal(asdnorm_index_save(ix, path), ASDNORM_E_STATE);
    assert_int_equal(need, 777);
    assert_int_equal(access(path, F_OK), -1);
    /* Finalized with given densities, then modified: un-finalized again. */
    assert_int_equal(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 1), ASDNORM_OK);
    assert_int_equal(asdnorm_index_save(ix, path), ASDNORM_OK);
    double given[6] = {0};
    assert_int_equal(asdnorm_index_set_density(ix, ASDNORM_DENSITY_KNN, 1, given, 6), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, 1, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_save(ix, path), ASDNORM_E_STATE);
    assert_int_equal(asdnorm_index_serialize(ix, NULL, 0, &need), ASDNORM_E_STATE);
    assert_int_equal(temp_files(g_dir), 0);

    assert_int_equal(asdnorm_index_save(NULL, path), ASDNORM_E_NULL);
    assert_int_equal(asdnorm_index_save(ix, NULL), ASDNORM_E_NULL);
    asdnorm_index *out = (asdnorm_index *)(uintptr_t)1;
    assert_int_equal(asdnorm_index_load(NULL, &out), ASDNORM_E_NULL);
    assert_null(out);
    assert_int_equal(asdnorm_index_load(path, NULL), ASDNORM_E_NULL);
    out = (asdnorm_index *)(uintptr_t)1;
    assert_int_equal(asdnorm_index_load_buffer(NULL, 100, &out), ASDNORM_E_NULL);
    assert_null(out);
    assert_int_equal(asdnorm_index_load_buffer(b, sizeof b, NULL), ASDNORM_E_NULL);
    out = (asdnorm_index *)(uintptr_t)1;
    assert_int_equal(asdnorm_index_load_buffer(b, 0, &out), ASDNORM_E_CORRUPT);
    assert_null(out);
    asdnorm_index_free(ix);
    free(y);
}

/* Files that cannot be read or written: ASDNORM_E_IO; non-index files: E_CORRUPT. */
static void io_errors(void **state)
{
    (void)state;
    uint64_t seed = 9;
    float *y = tu_gauss(&seed, 6, 4, 0.0, 1.0);
    asdnorm_index *ix = build(ASDNORM_DISTANCE_MSE, y, 6, 4, NULL, ASDNORM_DENSITY_GWRP, 0.5);
    char path[PATH_MAX + 64];
    asdnorm_index *out = (asdnorm_index *)(uintptr_t)1;

    snprintf(path, sizeof path, "%s/missing.asdx", g_dir);
    assert_int_equal(asdnorm_index_load(path, &out), ASDNORM_E_IO);
    assert_null(out);
    out = (asdnorm_index *)(uintptr_t)1;
    assert_int_equal(asdnorm_index_load(g_dir, &out), ASDNORM_E_IO); /* a directory */
    assert_null(out);

    snprintf(path, sizeof path, "%s/no/such/dir/x.asdx", g_dir);
    assert_int_equal(asdnorm_index_save(ix, path), ASDNORM_E_IO);
    assert_int_equal(asdnorm_index_save(ix, ""), ASDNORM_E_IO);
    assert_int_equal(temp_files(g_dir), 0);

    snprintf(path, sizeof path, "%s/empty.asdx", g_dir);
    write_all(path, "", 0);
    out = (asdnorm_index *)(uintptr_t)1;
    assert_int_equal(asdnorm_index_load(path, &out), ASDNORM_E_CORRUPT);
    assert_null(out);
    snprintf(path, sizeof path, "%s/text.asdx", g_dir);
    const char text[] = "dim,M\n512,1000\n";
    write_all(path, text, sizeof text - 1);
    assert_int_equal(asdnorm_index_load(path, &out), ASDNORM_E_CORRUPT);
    assert_null(out);

    /* A relative path (the directory is "."). */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(g_dir), 0);
    assert_int_equal(asdnorm_index_save(ix, "relative.asdx"), ASDNORM_OK);
    assert_int_equal(asdnorm_index_load("relative.asdx", &out), ASDNORM_OK);
    asdnorm_index_free(out);
    assert_int_equal(temp_files("."), 0);
    assert_int_equal(chdir(cwd), 0);

    asdnorm_index_free(ix);
    free(y);
}

/* asdnorm_index_save() run without root's power to ignore permissions: as
 * is when not root, else in a child switched to uid/gid 65534 ("nobody").
 * Returns the status, or -1 when privileges could not be dropped. */
static int save_unprivileged(const asdnorm_index *ix, const char *path)
{
    if (geteuid() != 0)
        return (int)asdnorm_index_save(ix, path);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(255);
        _exit((int)asdnorm_index_save(ix, path));
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status) == 255 ? -1 : WEXITSTATUS(status);
}

/* A failed save keeps the old file byte for byte and leaves no temporary file. */
static void atomic_save(void **state)
{
    (void)state;
    uint64_t seed = 10;
    float *y = tu_gauss(&seed, 3000, 16, 0.0, 1.0); /* ≈ 200 KB saved: several chunks */
    asdnorm_index *small = build(ASDNORM_DISTANCE_COSINE, y, 20, 16, NULL, ASDNORM_DENSITY_KNN, 1);
    asdnorm_index *big =
        build(ASDNORM_DISTANCE_EUCLIDEAN, y, 3000, 16, NULL, ASDNORM_DENSITY_NONE, 0);
    char dir[PATH_MAX + 16], path[PATH_MAX + 48];
    snprintf(dir, sizeof dir, "%s/atomic", g_dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/index.asdx", dir);

    assert_int_equal(asdnorm_index_save(small, path), ASDNORM_OK);
    size_t old_len;
    uint8_t *old = tf_read_all(path, &old_len);

    /* Replacing works and leaves nothing behind. */
    assert_int_equal(asdnorm_index_save(big, path), ASDNORM_OK);
    size_t len;
    uint8_t *now = tf_read_all(path, &len);
    size_t big_len;
    uint8_t *big_bytes = serialize(big, &big_len);
    assert_int_equal(len, big_len);
    assert_memory_equal(now, big_bytes, len);
    free(now);
    assert_int_equal(temp_files(dir), 0);
    assert_int_equal(asdnorm_index_save(small, path), ASDNORM_OK);
    int failures = 0;

    /* 1. An invalid (un-finalized) index. */
    asdnorm_index *raw = NULL;
    assert_int_equal(asdnorm_index_new(16, ASDNORM_DISTANCE_MSE, &raw), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(raw, y, 5, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_save(raw, path), ASDNORM_E_STATE);
    asdnorm_index_free(raw);
    now = tf_read_all(path, &len);
    assert_int_equal(len, old_len);
    assert_memory_equal(now, old, len);
    free(now);
    failures++;

    /* 2. The disk fills up mid-write: a file-size limit makes write() fail
     *    with EFBIG after the first kilobyte. */
    struct rlimit saved;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = saved;
    lim.rlim_cur = 1024;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    asdnorm_status st = asdnorm_index_save(big, path);
    const int cause = errno; /* the OS's reason, kept for the caller */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(st, ASDNORM_E_IO);
    assert_int_equal(cause, EFBIG);
    now = tf_read_all(path, &len);
    assert_int_equal(len, old_len);
    assert_memory_equal(now, old, len);
    free(now);
    assert_int_equal(temp_files(dir), 0);
    failures++;

    /* 3. The rename fails: the target is a non-empty directory. */
    char target[PATH_MAX + 64], inner[PATH_MAX + 96];
    snprintf(target, sizeof target, "%s/a-directory", dir);
    assert_int_equal(mkdir(target, 0700), 0);
    snprintf(inner, sizeof inner, "%s/keep", target);
    write_all(inner, "x", 1);
    assert_int_equal(asdnorm_index_save(small, target), ASDNORM_E_IO);
    struct stat sb;
    assert_int_equal(stat(target, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(access(inner, F_OK), 0);
    assert_int_equal(temp_files(dir), 0);
    failures++;

    /* 4. A read-only directory. Root ignores directory permissions, so as
     *    root the save runs in a child that has dropped to user "nobody". */
    assert_int_equal(chmod(dir, 0555), 0);
    assert_int_equal(chmod(g_dir, 0711), 0);
    int rc = save_unprivileged(big, path);
    assert_int_equal(chmod(g_dir, 0700), 0);
    assert_int_equal(chmod(dir, 0700), 0);
    if (rc >= 0) {
        assert_int_equal(rc, ASDNORM_E_IO);
        now = tf_read_all(path, &len);
        assert_int_equal(len, old_len);
        assert_memory_equal(now, old, len);
        free(now);
        assert_int_equal(temp_files(dir), 0);
        failures++;
    } else {
        print_message("read-only directory case skipped: cannot drop root privileges\n");
    }

    /* The survivor still loads and is the small index. */
    asdnorm_index *back = NULL;
    assert_int_equal(asdnorm_index_load(path, &back), ASDNORM_OK);
    assert_int_equal(asdnorm_index_size(back), 20);
    asdnorm_index_free(back);
    print_message("atomic save: %d failed saves, old file intact after each\n", failures);

    free(old);
    free(big_bytes);
    asdnorm_index_free(small);
    asdnorm_index_free(big);
    free(y);
}

/* Replacing a file keeps its permissions; a new file gets 0666 & ~umask, as
 * fopen() would give it. */
static void permissions(void **state)
{
    (void)state;
#ifdef __linux__
    uint64_t seed = 11;
    float *y = tu_gauss(&seed, 4, 3, 0.0, 1.0);
    asdnorm_index *ix = build(ASDNORM_DISTANCE_COSINE, y, 4, 3, NULL, ASDNORM_DENSITY_NONE, 0);
    char path[PATH_MAX + 32];
    struct stat sb;
    static const mode_t masks[] = {022, 077, 002};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/mode%zu.asdx", g_dir, i);
        mode_t prev = umask(masks[i]);
        asdnorm_status st = asdnorm_index_save(ix, path);
        umask(prev);
        assert_int_equal(st, ASDNORM_OK);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0666 & ~masks[i]);
    }
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(asdnorm_index_save(ix, path), ASDNORM_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    asdnorm_index_free(ix);
    free(y);
#else
    skip();
#endif
}

/* ---- what the API accepts, the loader accepts ----------------------------------
 * Every check of the loader (docs/file-format.md §4) refuses a value; for each
 * one, the API either refuses that value up front or never produces it. Here,
 * field by field: the inputs at and beyond each limit go through the API, and
 * whatever it accepts is saved and must load, to the same bytes (issue 17: GWRP
 * r = −0 used to be accepted, saved, and then refused as corrupt). */

/* A finalized index survives save + load and load_buffer, byte for byte. */
static void assert_reloads(const asdnorm_index *ix, const char *what)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/audit.asdx", g_dir);
    size_t len;
    uint8_t *buf = serialize(ix, &len);
    asdnorm_index *back = NULL;
    asdnorm_status st = asdnorm_index_load_buffer(buf, len, &back);
    if (st != ASDNORM_OK)
        fail_msg("%s: accepted by the API, refused by the loader (status %d)", what, st);
    size_t len2;
    uint8_t *buf2 = serialize(back, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    asdnorm_index_free(back);
    free(buf2);
    assert_int_equal(asdnorm_index_save(ix, path), ASDNORM_OK);
    back = NULL;
    st = asdnorm_index_load(path, &back);
    if (st != ASDNORM_OK)
        fail_msg("%s: saved, then refused by the loader (status %d)", what, st);
    buf2 = serialize(back, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    asdnorm_index_free(back);
    free(buf2);
    free(buf);
}

/* An index of n rows of dim under dist, finalized with (est, param); the
 * statuses of add and finalize are returned through *st_add, *st_fin, and the
 * index only when both succeeded. */
static asdnorm_index *try_build(asdnorm_distance dist, const float *y, size_t n, size_t dim,
                                const uint8_t *domains, asdnorm_density est, double param,
                                asdnorm_status *st_add, asdnorm_status *st_fin)
{
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(dim, dist, &ix), ASDNORM_OK);
    *st_add = asdnorm_index_add(ix, y, n, domains);
    *st_fin = *st_add == ASDNORM_OK ? asdnorm_index_finalize(ix, est, param) : ASDNORM_E_STATE;
    if (*st_fin != ASDNORM_OK) {
        asdnorm_index_free(ix);
        return NULL;
    }
    return ix;
}

static void api_output_always_loads(void **state)
{
    (void)state;
    uint64_t seed = 17;
    enum { N = 6, D = 4 };
    float *y = tu_gauss(&seed, N, D, 0.0, 1.0);
    asdnorm_status sa, sf;
    int accepted = 0, refused = 0;

    /* Header: distance, estimator, D — refused by the API as the loader would. */
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(D, (asdnorm_distance)3, &ix), ASDNORM_E_ENUM);
    assert_int_equal(asdnorm_index_new(0, ASDNORM_DISTANCE_MSE, &ix), ASDNORM_E_ARG);
    assert_null(try_build(ASDNORM_DISTANCE_MSE, y, N, D, NULL, (asdnorm_density)3, 1, &sa, &sf));
    assert_int_equal(sf, ASDNORM_E_ENUM);
    /* M ≥ 1, and M ≥ 2 for k-NN and GWRP. */
    assert_null(try_build(ASDNORM_DISTANCE_MSE, y, 0, D, NULL, ASDNORM_DENSITY_NONE, 0, &sa, &sf));
    assert_int_equal(sf, ASDNORM_E_TOO_FEW);
    assert_null(try_build(ASDNORM_DISTANCE_MSE, y, 1, D, NULL, ASDNORM_DENSITY_KNN, 1, &sa, &sf));
    assert_int_equal(sf, ASDNORM_E_TOO_FEW);
    assert_null(try_build(ASDNORM_DISTANCE_MSE, y, 1, D, NULL, ASDNORM_DENSITY_GWRP, 0, &sa, &sf));
    assert_int_equal(sf, ASDNORM_E_TOO_FEW);
    refused += 7;

    /* The parameter: K an integer in [1, M − 1] after clipping, r in [0, 1]
     * and never −0, +0 exactly for none. Values the API refuses, and values
     * it accepts (each must then load, with the parameter it reports). */
    static const struct {
        asdnorm_density est;
        double param;
        asdnorm_status want;
        double kept; /* the parameter reported and saved */
    } params[] = {
        {ASDNORM_DENSITY_KNN, 0, ASDNORM_E_ARG, 0},
        {ASDNORM_DENSITY_KNN, -1, ASDNORM_E_ARG, 0},
        {ASDNORM_DENSITY_KNN, 1.5, ASDNORM_E_ARG, 0},
        {ASDNORM_DENSITY_KNN, NAN, ASDNORM_E_ARG, 0},
        {ASDNORM_DENSITY_KNN, INFINITY, ASDNORM_E_ARG, 0},
        {ASDNORM_DENSITY_KNN, 0x1p53, ASDNORM_E_ARG, 0},
        {ASDNORM_DENSITY_KNN, 1, ASDNORM_OK, 1},
        {ASDNORM_DENSITY_KNN, N - 1, ASDNORM_OK, N - 1},
        {ASDNORM_DENSITY_KNN, N, ASDNORM_OK, N - 1},
        {ASDNORM_DENSITY_KNN, 0x1p52, ASDNORM_OK, N - 1},
        {ASDNORM_DENSITY_GWRP, -0x1p-1074, ASDNORM_E_ARG, 0},
        {ASDNORM_DENSITY_GWRP, -1, ASDNORM_E_ARG, 0},
        {ASDNORM_DENSITY_GWRP, 0x1.0000000000001p0, ASDNORM_E_ARG, 0},
        {ASDNORM_DENSITY_GWRP, NAN, ASDNORM_E_ARG, 0},
        {ASDNORM_DENSITY_GWRP, -INFINITY, ASDNORM_E_ARG, 0},
        {ASDNORM_DENSITY_GWRP, -0.0, ASDNORM_OK, 0.0}, /* normalized to +0 */
        {ASDNORM_DENSITY_GWRP, 0.0, ASDNORM_OK, 0.0},
        {ASDNORM_DENSITY_GWRP, 0x1p-1074, ASDNORM_OK, 0x1p-1074},
        {ASDNORM_DENSITY_GWRP, 0.5, ASDNORM_OK, 0.5},
        {ASDNORM_DENSITY_GWRP, 1.0, ASDNORM_OK, 1.0},
        {ASDNORM_DENSITY_NONE, -0.0, ASDNORM_OK, 0.0}, /* ignored: +0 */
        {ASDNORM_DENSITY_NONE, NAN, ASDNORM_OK, 0.0},
        {ASDNORM_DENSITY_NONE, 7, ASDNORM_OK, 0.0},
    };
    for (size_t d = 0; d < 3; d++)
        for (size_t p = 0; p < sizeof params / sizeof params[0]; p++) {
            char what[96];
            snprintf(what, sizeof what, "distance %d, estimator %d, param %a", distances[d],
                     params[p].est, params[p].param);
            ix = try_build(distances[d], y, N, D, NULL, params[p].est, params[p].param, &sa, &sf);
            if (sf != params[p].want)
                fail_msg("%s: status %d, expected %d", what, sf, params[p].want);
            if (!ix) {
                refused++;
                continue;
            }
            asdnorm_density est;
            double kept;
            assert_int_equal(asdnorm_index_get_estimator(ix, &est, &kept), ASDNORM_OK);
            if (memcmp(&kept, &params[p].kept, sizeof kept) != 0)
                fail_msg("%s: reports parameter %a, expected %a", what, kept, params[p].kept);
            assert_reloads(ix, what);
            asdnorm_index_free(ix);
            accepted++;
        }

    /* Labels ≤ 2. */
    uint8_t labels[N] = {0, 1, 2, 2, 1, 3};
    assert_null(try_build(ASDNORM_DISTANCE_COSINE, y, N, D, labels, ASDNORM_DENSITY_NONE, 0, &sa,
                          &sf));
    assert_int_equal(sa, ASDNORM_E_LABEL);
    labels[N - 1] = 0;
    ix = try_build(ASDNORM_DISTANCE_COSINE, y, N, D, labels, ASDNORM_DENSITY_NONE, 0, &sa, &sf);
    assert_non_null(ix);
    assert_reloads(ix, "labels 0, 1, 2");
    asdnorm_index_free(ix);
    refused++;
    accepted++;

    /* Vectors: finite; not zero under cosine; squared norm ≤ 1e24 under
     * euclidean and mse. Rows at and beyond each limit, and rows at the ends
     * of float's range, which must give loadable factors (c_j, ‖y‖²) and
     * density constants (finite, ≥ 0, not −0, ≤ FLT_MAX). */
    static const struct {
        const char *what;
        float value; /* every element of one row */
        asdnorm_status cosine, other;
    } rows[] = {
        {"NaN", NAN, ASDNORM_E_NONFINITE, ASDNORM_E_NONFINITE},
        {"+inf", INFINITY, ASDNORM_E_NONFINITE, ASDNORM_E_NONFINITE},
        {"-inf", -INFINITY, ASDNORM_E_NONFINITE, ASDNORM_E_NONFINITE},
        {"zero", 0.0f, ASDNORM_E_ZERO_VECTOR, ASDNORM_OK},
        {"-0", -0.0f, ASDNORM_E_ZERO_VECTOR, ASDNORM_OK},
        {"FLT_MAX", FLT_MAX, ASDNORM_OK, ASDNORM_E_RANGE},
        {"-FLT_MAX", -FLT_MAX, ASDNORM_OK, ASDNORM_E_RANGE},
        {"just above the range", 5.0000005e11f, ASDNORM_OK, ASDNORM_E_RANGE},
        {"just below the range", 4.9999997e11f, ASDNORM_OK, ASDNORM_OK},
        {"smallest subnormal", 0x1p-149f, ASDNORM_OK, ASDNORM_OK},
        {"smallest normal", FLT_MIN, ASDNORM_OK, ASDNORM_OK},
        {"1e-30", 1e-30f, ASDNORM_OK, ASDNORM_OK},
    };
    static const struct {
        asdnorm_density est;
        double param;
    } ests[] = {{ASDNORM_DENSITY_NONE, 0}, {ASDNORM_DENSITY_KNN, 1}, {ASDNORM_DENSITY_GWRP, 0.5}};
    float *z = malloc(N * D * sizeof *z);
    for (size_t d = 0; d < 3; d++)
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
            for (size_t e = 0; e < 3; e++)
                for (int dup = 0; dup < 2; dup++) {
                    /* Row 2 takes the value; with dup, row 3 is a copy of it
                     * (density 0) and the others too (d = 0 to it). */
                    memcpy(z, y, N * D * sizeof *z);
                    for (size_t k = 0; k < D; k++) {
                        z[2 * D + k] = k % 2 ? rows[r].value : -rows[r].value;
                        if (dup)
                            z[3 * D + k] = z[2 * D + k];
                    }
                    char what[128];
                    snprintf(what, sizeof what, "distance %d, rows of %s%s, estimator %d",
                             distances[d], rows[r].what, dup ? " (duplicated)" : "",
                             ests[e].est);
                    ix = try_build(distances[d], z, N, D, NULL, ests[e].est, ests[e].param, &sa,
                                   &sf);
                    asdnorm_status want = distances[d] == ASDNORM_DISTANCE_COSINE
                                              ? rows[r].cosine
                                              : rows[r].other;
                    if (sa != want)
                        fail_msg("%s: add gave status %d, expected %d", what, sa, want);
                    if (!ix) {
                        assert_int_not_equal(want, ASDNORM_OK);
                        refused++;
                        continue;
                    }
                    assert_reloads(ix, what);
                    asdnorm_index_free(ix);
                    accepted++;
                }
    free(z);

    /* Raw cosine rows (k-means centroids of source_means: c_j = 1, norm ≤ 1)
     * and SMOTE's synthetic rows. */
    uint8_t doms[N] = {1, 1, 1, 2, 2, 2};
    for (size_t d = 0; d < 3; d++) {
        asdnorm_index *src = NULL, *derived = NULL;
        assert_int_equal(asdnorm_index_new(D, distances[d], &src), ASDNORM_OK);
        assert_int_equal(asdnorm_index_add(src, y, N, doms), ASDNORM_OK);
        assert_int_equal(asdnorm_source_means(src, 2, 1, 5, &derived), ASDNORM_OK);
        assert_int_equal(asdnorm_index_finalize(derived, ASDNORM_DENSITY_GWRP, -0.0), ASDNORM_OK);
        assert_reloads(derived, "source means");
        asdnorm_index_free(derived);
        assert_int_equal(asdnorm_smote_index(src, 4, 1, 5, &derived), ASDNORM_OK);
        assert_int_equal(asdnorm_index_finalize(derived, ASDNORM_DENSITY_KNN, 2), ASDNORM_OK);
        assert_reloads(derived, "SMOTE");
        asdnorm_index_free(derived);
        asdnorm_index_free(src);
        accepted += 2;
    }

    /* An index that is not finalized is never written. */
    assert_int_equal(asdnorm_index_new(D, ASDNORM_DISTANCE_MSE, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, N, NULL), ASDNORM_OK);
    size_t needed;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/unfinalized.asdx", g_dir);
    assert_int_equal(asdnorm_index_save(ix, path), ASDNORM_E_STATE);
    assert_int_equal(asdnorm_index_serialize(ix, NULL, 0, &needed), ASDNORM_E_STATE);
    asdnorm_index_free(ix);
    refused++;

    print_message("API against loader: %d accepted inputs all reload, %d refused up front\n",
                  accepted, refused);
    free(y);
}

static int setup(void **state)
{
    (void)state;
    tf_make_tmpdir(g_dir, sizeof g_dir, "io");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tf_remove_tree(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_reference),
        cmocka_unit_test(round_trips),
        cmocka_unit_test(unusual_indexes),
        cmocka_unit_test(serialize_sizes),
        cmocka_unit_test(updates_after_load),
        cmocka_unit_test(version_1_files),
        cmocka_unit_test(states_and_arguments),
        cmocka_unit_test(io_errors),
        cmocka_unit_test(atomic_save),
        cmocka_unit_test(permissions),
        cmocka_unit_test(api_output_always_loads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
