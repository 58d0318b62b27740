/* SPDX-License-Identifier: MIT */
/* Damaged saved indexes (docs/file-format.md): truncation at every byte offset,
 * a flip of every bit of small files and of the header, section headers and
 * trailer of a larger one plus a sample of its body, random multi-byte damage,
 * and flips behind a recomputed checksum. Every load must return a specific
 * status (ASDNORM_E_CORRUPT, or ASDNORM_E_VERSION for the version field),
 * never crash, never hand out an index. Then hand-made files with a VALID
 * checksum and one bad field each, to show that the field checks stand on
 * their own behind the checksum. Each case loads from an exactly sized heap
 * copy, so that a sanitizer build catches any read past the end. */
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "testutil.h"

/* ---- the format, as docs/file-format.md states it ------------------------- */

enum { HEADER = 64, OFF_VERSION = 8, OFF_HEADER_SIZE = 12, OFF_FILE_SIZE = 16, OFF_FLAGS = 24,
       OFF_DISTANCE = 28, OFF_DIM = 32, OFF_COUNT = 40, OFF_ESTIMATOR = 48, OFF_NSECTIONS = 52,
       OFF_PARAM = 56 };

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_f64(uint8_t *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    put64(p, u);
}

static void put_f32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put32(p, u);
}

static float get_f32(const uint8_t *p)
{
    uint32_t u = le32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* CRC-64/XZ, bit by bit from its definition. */
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

/* Recompute the trailer: the damage is then visible to the field checks only. */
static void reseal(uint8_t *b, size_t len)
{
    put64(b + len - 8, crc64_bitwise(b, len - 8));
}

/* Offset of a section's 16-byte header, walking the section table. */
static size_t section(const uint8_t *b, const char *tag)
{
    size_t off = HEADER;
    for (int s = 0; s < 9; s++) {
        if (memcmp(b + off, tag, 4) == 0)
            return off;
        off = (off + 16 + (size_t)le64(b + off + 8) + 7) / 8 * 8;
    }
    fail_msg("no section %s", tag);
    return 0;
}

static size_t payload(const uint8_t *b, const char *tag)
{
    return section(b, tag) + 16;
}

/* ---- fixtures ------------------------------------------------------------------ */

static float *g_probe;
enum { NPROBE = 9 };

static asdnorm_index *build(asdnorm_distance dist, size_t m, size_t dim, asdnorm_density est,
                            double param, uint64_t seed)
{
    float *y = tu_gauss(&seed, m, dim, 0.2, 1.0);
    uint8_t *dom = malloc(m);
    for (size_t j = 0; j < m; j++)
        dom[j] = (uint8_t)(j % 3);
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(dim, dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, m, dom), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, est, param), ASDNORM_OK);
    free(y);
    free(dom);
    return ix;
}

static uint8_t *saved(asdnorm_distance dist, size_t m, size_t dim, asdnorm_density est,
                      double param, uint64_t seed, size_t *len)
{
    asdnorm_index *ix = build(dist, m, dim, est, param, seed);
    size_t need = 0;
    assert_int_equal(asdnorm_index_serialize(ix, NULL, 0, &need), ASDNORM_E_BUFFER);
    uint8_t *b = malloc(need);
    assert_int_equal(asdnorm_index_serialize(ix, b, need, &need), ASDNORM_OK);
    asdnorm_index_free(ix);
    *len = need;
    return b;
}

/* Load len bytes of b from an exact-size copy. */
static asdnorm_status load_copy(const uint8_t *b, size_t len, asdnorm_index **out)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (len)
        memcpy(copy, b, len);
    *out = (asdnorm_index *)(uintptr_t)1; /* must become NULL on failure */
    asdnorm_status st = asdnorm_index_load_buffer(copy, len, out);
    free(copy);
    return st;
}

/* The load must fail with exactly `want`. */
static void expect(const uint8_t *b, size_t len, asdnorm_status want, const char *what)
{
    asdnorm_index *out;
    asdnorm_status st = load_copy(b, len, &out);
    if (st != want)
        fail_msg("%s: status %d (%s), expected %d (%s)", what, st, asdnorm_strerror(st), want,
                 asdnorm_strerror(want));
    if (out != NULL)
        fail_msg("%s: a failed load left *out = %p", what, (void *)out);
}

/* A loaded index, however odd, scores finite values (under normalization
 * `norm`, every one when norm is 3). */
static void assert_usable(asdnorm_index *ix, int norm_wanted, const char *what)
{
    size_t dim = asdnorm_index_dim(ix);
    assert_true(dim <= 64);
    assert_true(asdnorm_index_is_finalized(ix));
    for (int norm = 0; norm < 3; norm++) {
        if (norm_wanted != 3 && norm != norm_wanted)
            continue;
        asdnorm_scorer *sc = NULL;
        assert_int_equal(asdnorm_scorer_new(ix, (asdnorm_norm)norm, &sc), ASDNORM_OK);
        float s[NPROBE];
        size_t near[NPROBE];
        /* One sample at a time, as a monitoring program scores. */
        for (size_t t = 0; t < NPROBE; t++)
            assert_int_equal(asdnorm_scorer_score(sc, g_probe + t * dim, 1, s + t, near + t),
                             ASDNORM_OK);
        for (size_t t = 0; t < NPROBE; t++) {
            if (!isfinite(s[t]) || near[t] >= asdnorm_index_size(ix))
                fail_msg("%s: score %g, nearest %zu", what, (double)s[t], near[t]);
        }
        asdnorm_scorer_free(sc);
    }
}

/* ---- tests ---------------------------------------------------------------------- */

static const asdnorm_distance distances[] = {ASDNORM_DISTANCE_COSINE,
                                             ASDNORM_DISTANCE_EUCLIDEAN, ASDNORM_DISTANCE_MSE};

/* Every prefix shorter than the file, and the file with bytes appended. */
static void truncation(void **state)
{
    (void)state;
    size_t offsets = 0, extended = 0;
    for (int d = 0; d < 3; d++) {
        size_t len;
        uint8_t *b = d == 0 ? saved(distances[d], 6, 4, ASDNORM_DENSITY_KNN, 1, 1, &len)
                            : saved(distances[d], 64, 32, ASDNORM_DENSITY_GWRP, 0.5, 2, &len);
        char what[96];
        for (size_t cut = 0; cut < len; cut++) {
            snprintf(what, sizeof what, "distance %d truncated to %zu of %zu", d, cut, len);
            expect(b, cut, ASDNORM_E_CORRUPT, what);
            offsets++;
        }
        uint8_t *longer = malloc(len + 64);
        memcpy(longer, b, len);
        uint64_t s = 3;
        for (size_t extra = 1; extra <= 64; extra++) {
            longer[len + extra - 1] = extra % 2 ? 0 : (uint8_t)tu_next(&s);
            snprintf(what, sizeof what, "distance %d extended by %zu", d, extra);
            expect(longer, len + extra, ASDNORM_E_CORRUPT, what);
            extended++;
        }
        /* The intact file does load: the cases above fail for their damage. */
        asdnorm_index *ix;
        assert_int_equal(load_copy(b, len, &ix), ASDNORM_OK);
        asdnorm_index_free(ix);
        free(longer);
        free(b);
    }
    print_message("truncated at %zu byte offsets, extended %zu times: all ASDNORM_E_CORRUPT\n",
                  offsets, extended);
}

/* The status a single flipped bit must give: the version field is read before
 * the checksum (a later version may define the rest differently). */
static asdnorm_status flip_status(size_t byte)
{
    return byte >= OFF_VERSION && byte < OFF_VERSION + 4 ? ASDNORM_E_VERSION : ASDNORM_E_CORRUPT;
}

static void flip_and_expect(uint8_t *b, size_t len, size_t bit, const char *name)
{
    char what[96];
    b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    snprintf(what, sizeof what, "%s: bit %zu of byte %zu flipped", name, bit % 8, bit / 8);
    expect(b, len, flip_status(bit / 8), what);
    b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

static void bit_flips(void **state)
{
    (void)state;
    size_t flips = 0, versions = 0;
    /* Small files: every bit. */
    for (int d = 0; d < 3; d++) {
        size_t len;
        uint8_t *b = saved(distances[d], 6, 4, ASDNORM_DENSITY_KNN, 1, 10 + (uint64_t)d, &len);
        for (size_t bit = 0; bit < 8 * len; bit++) {
            flip_and_expect(b, len, bit, "small file");
            flips++;
            versions += flip_status(bit / 8) == ASDNORM_E_VERSION;
        }
        free(b);
    }
    size_t small = flips;

    /* A larger file: every bit of the header, the five section headers and the
     * trailer, and a sample of the payload bits. */
    size_t len;
    uint8_t *b = saved(ASDNORM_DISTANCE_COSINE, 64, 32, ASDNORM_DENSITY_GWRP, 0.9, 20, &len);
    static const char *tags[5] = {"VECT", "AUXF", "SCAL", "DOMS", "DENS"};
    for (size_t bit = 0; bit < 8 * HEADER; bit++, flips++)
        flip_and_expect(b, len, bit, "header");
    for (int s = 0; s < 5; s++) {
        size_t off = section(b, tags[s]);
        for (size_t bit = 8 * off; bit < 8 * (off + 16); bit++, flips++)
            flip_and_expect(b, len, bit, tags[s]);
    }
    for (size_t bit = 8 * (len - 8); bit < 8 * len; bit++, flips++)
        flip_and_expect(b, len, bit, "trailer");
    size_t structural = flips - small;
    uint64_t s = 21;
    enum { SAMPLE = 4096 };
    for (int i = 0; i < SAMPLE; i++, flips++)
        flip_and_expect(b, len, HEADER * 8 + tu_next(&s) % (8 * (len - HEADER - 8)), "body");
    free(b);
    print_message("bits flipped: %zu (every bit of 3 small files: %zu, of whose %zu in the "
                  "version field gave ASDNORM_E_VERSION; header, section headers and trailer "
                  "of a %zu-byte file: %zu; body sample: %d); all rejected\n",
                  flips, small, versions, len, structural, SAMPLE);
}

/* Several bytes damaged at once, and zeroed blocks. */
static void random_damage(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = saved(ASDNORM_DISTANCE_EUCLIDEAN, 40, 16, ASDNORM_DENSITY_KNN, 3, 30, &len);
    uint8_t *c = malloc(len);
    uint64_t s = 31;
    size_t cases = 0;
    for (int i = 0; i < 3000; i++) {
        memcpy(c, b, len);
        int nbytes = 1 + (int)(tu_next(&s) % 16);
        for (int k = 0; k < nbytes; k++) {
            size_t at = tu_next(&s) % len;
            c[at] ^= (uint8_t)(1 + tu_next(&s) % 255); /* never a no-op */
        }
        asdnorm_index *out;
        asdnorm_status st = load_copy(c, len, &out);
        /* A later XOR may have undone an earlier one on the same byte. */
        if (memcmp(c, b, len) == 0) {
            assert_int_equal(st, ASDNORM_OK);
            asdnorm_index_free(out);
            continue;
        }
        if (st != ASDNORM_E_CORRUPT && st != ASDNORM_E_VERSION)
            fail_msg("random damage case %d: status %d", i, st);
        assert_null(out);
        cases++;
    }
    for (size_t at = 0; at + 64 <= len; at += 61) {
        memcpy(c, b, len);
        memset(c + at, 0, 64);
        if (memcmp(c, b, len) == 0)
            continue;
        asdnorm_index *out;
        asdnorm_status st = load_copy(c, len, &out);
        assert_true(st == ASDNORM_E_CORRUPT || st == ASDNORM_E_VERSION);
        assert_null(out);
        cases++;
    }
    print_message("randomly damaged files: %zu, all rejected\n", cases);
    free(c);
    free(b);
}

/* Every bit flipped behind a recomputed checksum: the structure (header,
 * section headers, padding) must still be rejected by the field checks; a
 * payload value may change into another valid one, and then the loaded index
 * must be usable. */
static void flips_behind_checksum(void **state)
{
    (void)state;
    size_t rejected = 0, accepted = 0;
    for (int d = 0; d < 3; d++) {
        size_t len;
        uint8_t *b = saved(distances[d], 6, 4, ASDNORM_DENSITY_KNN, 1, 40 + (uint64_t)d, &len);
        static const char *tags[9] = {"VECT", "AUXF", "SCAL", "DOMS", "DENS",
                                      "INCR", "NBRN", "NBRD", "NBRI"};
        /* Which bytes are payload values (the rest is structure). */
        uint8_t *is_value = calloc(len, 1);
        for (int s = 0; s < 9; s++) {
            size_t off = section(b, tags[s]);
            for (size_t k = 0; k < le64(b + off + 8); k++)
                is_value[off + 16 + k] = 1;
        }
        for (size_t bit = 0; bit < 8 * (len - 8); bit++) {
            size_t byte = bit / 8;
            b[byte] ^= (uint8_t)(1u << (bit % 8));
            reseal(b, len);
            asdnorm_index *out;
            asdnorm_status st = load_copy(b, len, &out);
            char what[96];
            snprintf(what, sizeof what, "distance %d, resealed flip of bit %zu of byte %zu", d,
                     bit % 8, byte);
            if (st == ASDNORM_OK) {
                if (!is_value[byte])
                    fail_msg("%s: a structural flip was accepted", what);
                assert_usable(out, (int)(accepted % 3), what);
                asdnorm_index_free(out);
                accepted++;
            } else {
                if (st != flip_status(byte))
                    fail_msg("%s: status %d", what, st);
                assert_null(out);
                rejected++;
            }
            b[byte] ^= (uint8_t)(1u << (bit % 8));
        }
        reseal(b, len);
        free(is_value);
        free(b);
    }
    print_message("flips behind a valid checksum: %zu rejected by the field checks, %zu "
                  "payload flips gave another valid index (scored, all finite)\n",
                  rejected, accepted);
}

/* One bad field at a time, checksum valid. */
typedef struct {
    const uint8_t *base;
    size_t len;
    uint8_t *b;
    size_t cases;
} crafted;

static uint8_t *start(crafted *c)
{
    memcpy(c->b, c->base, c->len);
    return c->b;
}

static void check(crafted *c, asdnorm_status want, const char *what)
{
    reseal(c->b, c->len);
    expect(c->b, c->len, want, what);
    c->cases++;
}

static void crafted_files(void **state)
{
    (void)state;
    size_t len_cos, len_euc, len_none;
    /* cosine, KNN K = 1, M = 6, dim = 4 */
    uint8_t *cos = saved(ASDNORM_DISTANCE_COSINE, 6, 4, ASDNORM_DENSITY_KNN, 1, 50, &len_cos);
    uint8_t *euc = saved(ASDNORM_DISTANCE_EUCLIDEAN, 6, 4, ASDNORM_DENSITY_GWRP, 0.5, 51, &len_euc);
    uint8_t *none = saved(ASDNORM_DISTANCE_MSE, 6, 4, ASDNORM_DENSITY_NONE, 0, 52, &len_none);
    const size_t most = len_cos > len_euc ? len_cos : len_euc;
    crafted c = {cos, len_cos, malloc(most + 8), 0};
    assert_true(len_none <= most);
    uint8_t *b;

    /* Positive controls: resealing is harmless, and a valid change of a value
     * loads with that value, so the cases below reach the checks they aim at. */
    b = start(&c);
    reseal(b, c.len);
    asdnorm_index *ix;
    assert_int_equal(load_copy(b, c.len, &ix), ASDNORM_OK);
    asdnorm_index_free(ix);
    b[payload(b, "DOMS") + 1] = 2;
    reseal(b, c.len);
    assert_int_equal(load_copy(b, c.len, &ix), ASDNORM_OK);
    uint8_t doms[6];
    assert_int_equal(asdnorm_index_get_domains(ix, doms, 6), ASDNORM_OK);
    assert_int_equal(doms[1], 2);
    asdnorm_index_free(ix);

    /* Magic, version, sizes. */
    b = start(&c), b[7] = 'Y';
    check(&c, ASDNORM_E_CORRUPT, "wrong magic");
    b = start(&c), put32(b + OFF_VERSION, 99);
    check(&c, ASDNORM_E_VERSION, "version 99");
    b = start(&c), put32(b + OFF_VERSION, 0);
    check(&c, ASDNORM_E_VERSION, "version 0");
    b = start(&c), put32(b + OFF_VERSION, 3);
    expect(b, c.len, ASDNORM_E_VERSION, "version 3, checksum not recomputed");
    b = start(&c), put32(b + OFF_VERSION, 1);
    check(&c, ASDNORM_E_CORRUPT, "a version-2 file labelled version 1");
    b = start(&c), put32(b + OFF_VERSION, 99);
    expect(b, 12, ASDNORM_E_VERSION, "version 99, nothing after it");
    b = start(&c), put32(b + OFF_HEADER_SIZE, 72);
    check(&c, ASDNORM_E_CORRUPT, "header size 72");
    b = start(&c), put64(b + OFF_FILE_SIZE, c.len - 1);
    check(&c, ASDNORM_E_CORRUPT, "file size one short");
    b = start(&c), put64(b + OFF_FILE_SIZE, UINT64_MAX);
    check(&c, ASDNORM_E_CORRUPT, "file size 2^64 - 1");
    b = start(&c), put32(b + OFF_FLAGS, 1);
    check(&c, ASDNORM_E_CORRUPT, "unknown flag");
    b = start(&c), put32(b + OFF_NSECTIONS, 6);
    check(&c, ASDNORM_E_CORRUPT, "6 sections");

    /* Enums. */
    b = start(&c), put32(b + OFF_DISTANCE, 3);
    check(&c, ASDNORM_E_CORRUPT, "unknown distance 3");
    b = start(&c), put32(b + OFF_DISTANCE, UINT32_MAX);
    check(&c, ASDNORM_E_CORRUPT, "unknown distance 2^32 - 1");
    b = start(&c), put32(b + OFF_DISTANCE, ASDNORM_DISTANCE_EUCLIDEAN);
    check(&c, ASDNORM_E_CORRUPT, "cosine file labelled euclidean (scale section present)");
    b = start(&c), put32(b + OFF_ESTIMATOR, 3);
    check(&c, ASDNORM_E_CORRUPT, "unknown estimator 3");

    /* Dimensions. */
    b = start(&c), put64(b + OFF_DIM, 0);
    check(&c, ASDNORM_E_CORRUPT, "dim 0");
    b = start(&c), put64(b + OFF_COUNT, 0);
    check(&c, ASDNORM_E_CORRUPT, "M 0");
    b = start(&c), put64(b + OFF_DIM, (uint64_t)1 << 62);
    check(&c, ASDNORM_E_CORRUPT, "huge dim 2^62");
    b = start(&c), put64(b + OFF_DIM, UINT64_MAX);
    check(&c, ASDNORM_E_CORRUPT, "dim 2^64 - 1");
    b = start(&c), put64(b + OFF_DIM, (uint64_t)1 << 33), put64(b + OFF_COUNT, (uint64_t)1 << 32);
    check(&c, ASDNORM_E_CORRUPT, "M * dim overflows");
    b = start(&c), put64(b + OFF_DIM, (uint64_t)1 << 61), put64(b + OFF_COUNT, 4);
    check(&c, ASDNORM_E_CORRUPT, "M * dim * 4 overflows");
    b = start(&c), put64(b + OFF_DIM, 8), put64(b + OFF_COUNT, 3);
    check(&c, ASDNORM_E_CORRUPT, "M and dim swapped for the same product");

    /* The estimator's parameter (M = 6: K in 1 … 5). */
    static const double bad_k[] = {0.0, 1.5, 6.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_k / sizeof bad_k[0]; i++) {
        char what[48];
        snprintf(what, sizeof what, "KNN with K = %g", bad_k[i]);
        b = start(&c), put_f64(b + OFF_PARAM, bad_k[i]);
        check(&c, ASDNORM_E_CORRUPT, what);
    }
    static const double bad_r[] = {1.5, -0.1, NAN};
    for (size_t i = 0; i < sizeof bad_r / sizeof bad_r[0]; i++) {
        char what[48];
        snprintf(what, sizeof what, "GWRP with r = %g", bad_r[i]);
        b = start(&c), put32(b + OFF_ESTIMATOR, ASDNORM_DENSITY_GWRP), put_f64(b + OFF_PARAM, bad_r[i]);
        check(&c, ASDNORM_E_CORRUPT, what);
    }
    b = start(&c), put32(b + OFF_ESTIMATOR, ASDNORM_DENSITY_NONE), put_f64(b + OFF_PARAM, 2.0);
    check(&c, ASDNORM_E_CORRUPT, "NONE with a parameter");
    /* −0.0 where the library never stores it: files stay canonical. */
    b = start(&c), put32(b + OFF_ESTIMATOR, ASDNORM_DENSITY_NONE), put_f64(b + OFF_PARAM, -0.0);
    check(&c, ASDNORM_E_CORRUPT, "NONE with parameter -0");
    b = start(&c), put32(b + OFF_ESTIMATOR, ASDNORM_DENSITY_GWRP), put_f64(b + OFF_PARAM, -0.0);
    check(&c, ASDNORM_E_CORRUPT, "GWRP with r = -0");

    /* Section table. */
    b = start(&c), b[section(b, "VECT") + 3] = 'X';
    check(&c, ASDNORM_E_CORRUPT, "section tag VECX");
    b = start(&c), put32(b + section(b, "AUXF") + 4, 8);
    check(&c, ASDNORM_E_CORRUPT, "element size 8 for float32");
    b = start(&c), put64(b + section(b, "DENS") + 8, 6 * 8 - 8);
    check(&c, ASDNORM_E_CORRUPT, "density section one value short");
    b = start(&c), b[payload(b, "DOMS") + 6] = 1;
    check(&c, ASDNORM_E_CORRUPT, "non-zero padding");
    /* Trailing bytes inside the checksum, file size updated. */
    memcpy(c.b, c.base, c.len - 8);
    memset(c.b + c.len - 8, 0, 8);
    put64(c.b + OFF_FILE_SIZE, c.len + 8);
    put64(c.b + c.len, crc64_bitwise(c.b, c.len));
    expect(c.b, c.len + 8, ASDNORM_E_CORRUPT, "8 extra bytes before the trailer");
    c.cases++;

    /* Values. */
    static const double bad_density[] = {NAN, INFINITY, -INFINITY, -1.0, 1e300, -0.0};
    for (size_t i = 0; i < sizeof bad_density / sizeof bad_density[0]; i++) {
        char what[48];
        snprintf(what, sizeof what, "density %g", bad_density[i]);
        b = start(&c), put_f64(b + payload(b, "DENS") + 8 * 3, bad_density[i]);
        check(&c, ASDNORM_E_CORRUPT, what);
    }
    b = start(&c), b[payload(b, "DOMS") + 2] = 7;
    check(&c, ASDNORM_E_CORRUPT, "domain 7");
    b = start(&c), b[payload(b, "DOMS")] = 3;
    check(&c, ASDNORM_E_CORRUPT, "domain 3");
    b = start(&c), put_f32(b + payload(b, "VECT") + 4 * 5, NAN);
    check(&c, ASDNORM_E_CORRUPT, "NaN in a vector");
    b = start(&c), put_f32(b + payload(b, "VECT") + 4 * 23, -INFINITY);
    check(&c, ASDNORM_E_CORRUPT, "-inf in a vector");
    b = start(&c), memset(b + payload(b, "VECT") + 4 * 4, 0, 16);
    check(&c, ASDNORM_E_CORRUPT, "zero vector under cosine");
    b = start(&c);
    for (int k = 0; k < 4; k++) {
        size_t at = payload(b, "VECT") + 4 * (8 + (size_t)k);
        put_f32(b + at, 3.0f * get_f32(b + at));
    }
    check(&c, ASDNORM_E_CORRUPT, "cosine reference of norm > 1");
    static const double bad_scale[] = {0.0, -1.0, NAN, INFINITY, 1e300};
    for (size_t i = 0; i < sizeof bad_scale / sizeof bad_scale[0]; i++) {
        char what[48];
        snprintf(what, sizeof what, "cosine scale %g (aux to match)", bad_scale[i]);
        b = start(&c);
        put_f64(b + payload(b, "SCAL") + 8, bad_scale[i]);
        put_f32(b + payload(b, "AUXF") + 4, (float)bad_scale[i]);
        check(&c, ASDNORM_E_CORRUPT, what);
    }
    b = start(&c), put_f64(b + payload(b, "SCAL") + 8, 3.0), put_f32(b + payload(b, "AUXF") + 4, 3.0f);
    check(&c, ASDNORM_E_CORRUPT, "cosine scale 3: c_j * |y_j| >= 1.5");
    b = start(&c), put_f32(b + payload(b, "AUXF"), 0.5f);
    check(&c, ASDNORM_E_CORRUPT, "aux differs from (float) scale");

    /* Euclidean: the squared norms must match the vectors; the range limit holds. */
    c.base = euc;
    c.len = len_euc;
    b = start(&c), put_f32(b + payload(b, "AUXF") + 4 * 2, 2.0f * get_f32(b + payload(b, "AUXF") + 8));
    check(&c, ASDNORM_E_CORRUPT, "euclidean aux not the squared norm");
    b = start(&c), put_f32(b + payload(b, "VECT"), get_f32(b + payload(b, "VECT")) + 1.0f);
    check(&c, ASDNORM_E_CORRUPT, "euclidean vector changed, aux not");
    b = start(&c);
    for (int k = 0; k < 4; k++)
        put_f32(b + payload(b, "VECT") + 4 * (size_t)k, 1e13f);
    put_f32(b + payload(b, "AUXF"), 4e26f);
    check(&c, ASDNORM_E_CORRUPT, "euclidean squared norm 4e26 (above the add limit)");
    b = start(&c), put_f32(b + payload(b, "AUXF") + 4, NAN);
    check(&c, ASDNORM_E_CORRUPT, "euclidean aux NaN");
    /* The same payloads labelled mse form a valid file: nothing ties them to euclidean. */
    b = start(&c), put32(b + OFF_DISTANCE, ASDNORM_DISTANCE_MSE);
    reseal(b, c.len);
    assert_int_equal(load_copy(b, c.len, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_distance(ix), ASDNORM_DISTANCE_MSE);
    asdnorm_index_free(ix);

    /* NONE stores zero density constants. */
    c.base = none;
    c.len = len_none;
    b = start(&c), put_f64(b + payload(b, "DENS"), 0.25);
    check(&c, ASDNORM_E_CORRUPT, "NONE with a non-zero density constant");

    /* What incremental updates need (version 2): INCR and the neighbour lists.
     * cos: KNN K = 1, room 3 per row (entry t of row j at 8 · (3j + t)); euc:
     * GWRP r = 0.5, 5 entries per row (the room is M − 1). */
    c.base = cos;
    c.len = len_cos;
    b = start(&c), put64(b + payload(b, "INCR"), 2);
    check(&c, ASDNORM_E_CORRUPT, "INCR: origin 2");
    b = start(&c), put64(b + payload(b, "INCR"), 0);
    check(&c, ASDNORM_E_CORRUPT, "INCR: densities given, yet lists");
    b = start(&c), put64(b + payload(b, "INCR") + 8, 2);
    check(&c, ASDNORM_E_CORRUPT, "INCR: room 2, the sections hold 3");
    b = start(&c), put64(b + payload(b, "NBRN") + 8, 0);
    check(&c, ASDNORM_E_CORRUPT, "row 1 holds no entry, its density needs 1");
    b = start(&c), put64(b + payload(b, "NBRN") + 8, 4);
    check(&c, ASDNORM_E_CORRUPT, "row 1 holds 4 entries, the room is 3");
    b = start(&c), put64(b + payload(b, "NBRN") + 8, 2);
    check(&c, ASDNORM_E_CORRUPT, "row 1 holds 2 entries, its third is not zero");
    /* A row may hold fewer entries than the room (after a removal): valid. */
    b = start(&c), put64(b + payload(b, "NBRN") + 8, 2);
    put64(b + payload(b, "NBRD") + 8 * 5, 0), put64(b + payload(b, "NBRI") + 8 * 5, 0);
    reseal(b, c.len);
    assert_int_equal(load_copy(b, c.len, &ix), ASDNORM_OK);
    asdnorm_index_free(ix);
    static const double bad_req[] = {0.0, 1.5, 7.0, -1.0, NAN};
    for (size_t i = 0; i < sizeof bad_req / sizeof bad_req[0]; i++) {
        char what[48];
        snprintf(what, sizeof what, "INCR: requested K = %g for K' = 1", bad_req[i]);
        b = start(&c), put_f64(b + payload(b, "INCR") + 16, bad_req[i]);
        check(&c, ASDNORM_E_CORRUPT, what);
    }
    b = start(&c), put64(b + payload(b, "NBRI") + 8 * 2, 6);
    check(&c, ASDNORM_E_CORRUPT, "a neighbour at position M");
    b = start(&c), put64(b + payload(b, "NBRI") + 8 * 2, UINT64_MAX);
    check(&c, ASDNORM_E_CORRUPT, "a neighbour at position 2^64 - 1");
    b = start(&c), put64(b + payload(b, "NBRI") + 8 * 6, 2);
    check(&c, ASDNORM_E_CORRUPT, "row 2 its own neighbour");
    static const double bad_dist[] = {NAN, INFINITY, -1.0, -0.0};
    for (size_t i = 0; i < sizeof bad_dist / sizeof bad_dist[0]; i++) {
        char what[48];
        snprintf(what, sizeof what, "neighbour distance %g", bad_dist[i]);
        b = start(&c), put_f64(b + payload(b, "NBRD") + 8 * 3, bad_dist[i]);
        check(&c, ASDNORM_E_CORRUPT, what);
    }
    b = start(&c);
    {
        const size_t at = payload(b, "NBRD") + 8 * 3;
        put64(b + at, le64(b + at) + 1); /* one ulp more than the density says */
    }
    check(&c, ASDNORM_E_CORRUPT, "a neighbour distance that does not give the density");

    c.base = euc;
    c.len = len_euc;
    b = start(&c);
    {
        /* swap entries 0 and 1 of row 0 (distances and positions) */
        uint8_t t[8];
        const size_t d = payload(b, "NBRD"), p = payload(b, "NBRI");
        memcpy(t, b + d, 8), memcpy(b + d, b + d + 8, 8), memcpy(b + d + 8, t, 8);
        memcpy(t, b + p, 8), memcpy(b + p, b + p + 8, 8), memcpy(b + p + 8, t, 8);
    }
    check(&c, ASDNORM_E_CORRUPT, "a list out of order");
    b = start(&c);
    {
        /* row 1: entry 1 names entry 0's position, at entry 0's distance */
        const size_t d = payload(b, "NBRD") + 8 * 5, p = payload(b, "NBRI") + 8 * 5;
        memcpy(b + d + 8, b + d, 8);
        memcpy(b + p + 8, b + p, 8);
    }
    check(&c, ASDNORM_E_CORRUPT, "a position twice in a list");
    b = start(&c), put64(b + payload(b, "INCR") + 8, 4);
    check(&c, ASDNORM_E_CORRUPT, "GWRP: room 4, L is 5");
    b = start(&c), put_f64(b + payload(b, "INCR") + 16, 0.25);
    check(&c, ASDNORM_E_CORRUPT, "GWRP: requested r not the stored one");

    print_message("hand-made files with a valid checksum and one bad field: %zu, each "
                  "rejected with its expected status\n", c.cases);
    free(c.b);
    free(cos);
    free(euc);
    free(none);
}

static int setup(void **state)
{
    (void)state;
    uint64_t s = 99;
    g_probe = tu_gauss(&s, NPROBE, 4, 0.1, 1.0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_probe);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(truncation),
        cmocka_unit_test(bit_flips),
        cmocka_unit_test(random_damage),
        cmocka_unit_test(flips_behind_checksum),
        cmocka_unit_test(crafted_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
