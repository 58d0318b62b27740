/* SPDX-License-Identifier: MIT */
/* Saving and loading finalized indexes: the format of docs/file-format.md.
 *
 * Writing goes through one emitter for both the memory buffer and the file,
 * so asdnorm_index_save() writes exactly the bytes asdnorm_index_serialize()
 * produces. Every value is written little-endian explicitly; structs are never
 * dumped. Loading validates the whole input (magic, version, sizes, checksum,
 * every field and every value) before the index is built, so a bad file never
 * yields a half-made index. */
#define _GNU_SOURCE /* O_TMPFILE (Linux), where the C library defines it */

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ---- format constants (docs/file-format.md §2) ---------------------------- */

static const uint8_t MAGIC[8] = {0x89, 'A', 'S', 'D', 'N', 'I', 'D', 'X'};
enum {
    FORMAT_VERSION = 1,
    HEADER_SIZE = 64,
    SECTION_HEADER_SIZE = 16,
    TRAILER_SIZE = 8,
    N_SECTIONS = 5,
    ALIGN = 8,
};

/* Header field offsets. */
enum {
    H_MAGIC = 0,
    H_VERSION = 8,
    H_HEADER_SIZE = 12,
    H_FILE_SIZE = 16,
    H_FLAGS = 24,
    H_DISTANCE = 28,
    H_DIM = 32,
    H_COUNT = 40,
    H_ESTIMATOR = 48,
    H_NSECTIONS = 52,
    H_PARAM = 56,
};

/* The sections, in their fixed order. */
enum { S_VECT, S_AUXF, S_SCAL, S_DOMS, S_DENS };
static const char SECTION_TAG[N_SECTIONS][4] = {
    {'V', 'E', 'C', 'T'}, {'A', 'U', 'X', 'F'}, {'S', 'C', 'A', 'L'},
    {'D', 'O', 'M', 'S'}, {'D', 'E', 'N', 'S'},
};
static const uint32_t SECTION_ELEM[N_SECTIONS] = {4, 4, 8, 1, 8};

/* ---- CRC-64/XZ -------------------------------------------------------------
 * The ECMA-182 polynomial, reflected (0xC96C5795D7870F42), initial value and
 * final XOR all ones: the CRC of xz and of Go's hash/crc64 with the ECMA table.
 * Chosen over a 64-bit hash because a CRC *guarantees* the detection of every
 * single-bit error and every burst of up to 64 bits (the usual disk and
 * transfer corruptions), on top of a 2^-64 miss rate for random damage, and
 * because independent implementations exist to check files with.
 * Check value: CRC of "123456789" = 0x995DC9BBDF1939FA. */
static const uint64_t CRC64_TABLE[256] = {
    0x0000000000000000u, 0xb32e4cbe03a75f6fu, 0xf4843657a840a05bu, 0x47aa7ae9abe7ff34u,
    0x7bd0c384ff8f5e33u, 0xc8fe8f3afc28015cu, 0x8f54f5d357cffe68u, 0x3c7ab96d5468a107u,
    0xf7a18709ff1ebc66u, 0x448fcbb7fcb9e309u, 0x0325b15e575e1c3du, 0xb00bfde054f94352u,
    0x8c71448d0091e255u, 0x3f5f08330336bd3au, 0x78f572daa8d1420eu, 0xcbdb3e64ab761d61u,
    0x7d9ba13851336649u, 0xceb5ed8652943926u, 0x891f976ff973c612u, 0x3a31dbd1fad4997du,
    0x064b62bcaebc387au, 0xb5652e02ad1b6715u, 0xf2cf54eb06fc9821u, 0x41e11855055bc74eu,
    0x8a3a2631ae2dda2fu, 0x39146a8fad8a8540u, 0x7ebe1066066d7a74u, 0xcd905cd805ca251bu,
    0xf1eae5b551a2841cu, 0x42c4a90b5205db73u, 0x056ed3e2f9e22447u, 0xb6409f5cfa457b28u,
    0xfb374270a266cc92u, 0x48190ecea1c193fdu, 0x0fb374270a266cc9u, 0xbc9d3899098133a6u,
    0x80e781f45de992a1u, 0x33c9cd4a5e4ecdceu, 0x7463b7a3f5a932fau, 0xc74dfb1df60e6d95u,
    0x0c96c5795d7870f4u, 0xbfb889c75edf2f9bu, 0xf812f32ef538d0afu, 0x4b3cbf90f69f8fc0u,
    0x774606fda2f72ec7u, 0xc4684a43a15071a8u, 0x83c230aa0ab78e9cu, 0x30ec7c140910d1f3u,
    0x86ace348f355aadbu, 0x3582aff6f0f2f5b4u, 0x7228d51f5b150a80u, 0xc10699a158b255efu,
    0xfd7c20cc0cdaf4e8u, 0x4e526c720f7dab87u, 0x09f8169ba49a54b3u, 0xbad65a25a73d0bdcu,
    0x710d64410c4b16bdu, 0xc22328ff0fec49d2u, 0x85895216a40bb6e6u, 0x36a71ea8a7ace989u,
    0x0adda7c5f3c4488eu, 0xb9f3eb7bf06317e1u, 0xfe5991925b84e8d5u, 0x4d77dd2c5823b7bau,
    0x64b62bcaebc387a1u, 0xd7986774e864d8ceu, 0x90321d9d438327fau, 0x231c512340247895u,
    0x1f66e84e144cd992u, 0xac48a4f017eb86fdu, 0xebe2de19bc0c79c9u, 0x58cc92a7bfab26a6u,
    0x9317acc314dd3bc7u, 0x2039e07d177a64a8u, 0x67939a94bc9d9b9cu, 0xd4bdd62abf3ac4f3u,
    0xe8c76f47eb5265f4u, 0x5be923f9e8f53a9bu, 0x1c4359104312c5afu, 0xaf6d15ae40b59ac0u,
    0x192d8af2baf0e1e8u, 0xaa03c64cb957be87u, 0xeda9bca512b041b3u, 0x5e87f01b11171edcu,
    0x62fd4976457fbfdbu, 0xd1d305c846d8e0b4u, 0x96797f21ed3f1f80u, 0x2557339fee9840efu,
    0xee8c0dfb45ee5d8eu, 0x5da24145464902e1u, 0x1a083bacedaefdd5u, 0xa9267712ee09a2bau,
    0x955cce7fba6103bdu, 0x267282c1b9c65cd2u, 0x61d8f8281221a3e6u, 0xd2f6b4961186fc89u,
    0x9f8169ba49a54b33u, 0x2caf25044a02145cu, 0x6b055fede1e5eb68u, 0xd82b1353e242b407u,
    0xe451aa3eb62a1500u, 0x577fe680b58d4a6fu, 0x10d59c691e6ab55bu, 0xa3fbd0d71dcdea34u,
    0x6820eeb3b6bbf755u, 0xdb0ea20db51ca83au, 0x9ca4d8e41efb570eu, 0x2f8a945a1d5c0861u,
    0x13f02d374934a966u, 0xa0de61894a93f609u, 0xe7741b60e174093du, 0x545a57dee2d35652u,
    0xe21ac88218962d7au, 0x5134843c1b317215u, 0x169efed5b0d68d21u, 0xa5b0b26bb371d24eu,
    0x99ca0b06e7197349u, 0x2ae447b8e4be2c26u, 0x6d4e3d514f59d312u, 0xde6071ef4cfe8c7du,
    0x15bb4f8be788911cu, 0xa6950335e42fce73u, 0xe13f79dc4fc83147u, 0x521135624c6f6e28u,
    0x6e6b8c0f1807cf2fu, 0xdd45c0b11ba09040u, 0x9aefba58b0476f74u, 0x29c1f6e6b3e0301bu,
    0xc96c5795d7870f42u, 0x7a421b2bd420502du, 0x3de861c27fc7af19u, 0x8ec62d7c7c60f076u,
    0xb2bc941128085171u, 0x0192d8af2baf0e1eu, 0x4638a2468048f12au, 0xf516eef883efae45u,
    0x3ecdd09c2899b324u, 0x8de39c222b3eec4bu, 0xca49e6cb80d9137fu, 0x7967aa75837e4c10u,
    0x451d1318d716ed17u, 0xf6335fa6d4b1b278u, 0xb199254f7f564d4cu, 0x02b769f17cf11223u,
    0xb4f7f6ad86b4690bu, 0x07d9ba1385133664u, 0x4073c0fa2ef4c950u, 0xf35d8c442d53963fu,
    0xcf273529793b3738u, 0x7c0979977a9c6857u, 0x3ba3037ed17b9763u, 0x888d4fc0d2dcc80cu,
    0x435671a479aad56du, 0xf0783d1a7a0d8a02u, 0xb7d247f3d1ea7536u, 0x04fc0b4dd24d2a59u,
    0x3886b22086258b5eu, 0x8ba8fe9e8582d431u, 0xcc0284772e652b05u, 0x7f2cc8c92dc2746au,
    0x325b15e575e1c3d0u, 0x8175595b76469cbfu, 0xc6df23b2dda1638bu, 0x75f16f0cde063ce4u,
    0x498bd6618a6e9de3u, 0xfaa59adf89c9c28cu, 0xbd0fe036222e3db8u, 0x0e21ac88218962d7u,
    0xc5fa92ec8aff7fb6u, 0x76d4de52895820d9u, 0x317ea4bb22bfdfedu, 0x8250e80521188082u,
    0xbe2a516875702185u, 0x0d041dd676d77eeau, 0x4aae673fdd3081deu, 0xf9802b81de97deb1u,
    0x4fc0b4dd24d2a599u, 0xfceef8632775faf6u, 0xbb44828a8c9205c2u, 0x086ace348f355aadu,
    0x34107759db5dfbaau, 0x873e3be7d8faa4c5u, 0xc094410e731d5bf1u, 0x73ba0db070ba049eu,
    0xb86133d4dbcc19ffu, 0x0b4f7f6ad86b4690u, 0x4ce50583738cb9a4u, 0xffcb493d702be6cbu,
    0xc3b1f050244347ccu, 0x709fbcee27e418a3u, 0x3735c6078c03e797u, 0x841b8ab98fa4b8f8u,
    0xadda7c5f3c4488e3u, 0x1ef430e13fe3d78cu, 0x595e4a08940428b8u, 0xea7006b697a377d7u,
    0xd60abfdbc3cbd6d0u, 0x6524f365c06c89bfu, 0x228e898c6b8b768bu, 0x91a0c532682c29e4u,
    0x5a7bfb56c35a3485u, 0xe955b7e8c0fd6beau, 0xaeffcd016b1a94deu, 0x1dd181bf68bdcbb1u,
    0x21ab38d23cd56ab6u, 0x9285746c3f7235d9u, 0xd52f0e859495caedu, 0x6601423b97329582u,
    0xd041dd676d77eeaau, 0x636f91d96ed0b1c5u, 0x24c5eb30c5374ef1u, 0x97eba78ec690119eu,
    0xab911ee392f8b099u, 0x18bf525d915feff6u, 0x5f1528b43ab810c2u, 0xec3b640a391f4fadu,
    0x27e05a6e926952ccu, 0x94ce16d091ce0da3u, 0xd3646c393a29f297u, 0x604a2087398eadf8u,
    0x5c3099ea6de60cffu, 0xef1ed5546e415390u, 0xa8b4afbdc5a6aca4u, 0x1b9ae303c601f3cbu,
    0x56ed3e2f9e224471u, 0xe5c372919d851b1eu, 0xa26908783662e42au, 0x114744c635c5bb45u,
    0x2d3dfdab61ad1a42u, 0x9e13b115620a452du, 0xd9b9cbfcc9edba19u, 0x6a978742ca4ae576u,
    0xa14cb926613cf817u, 0x1262f598629ba778u, 0x55c88f71c97c584cu, 0xe6e6c3cfcadb0723u,
    0xda9c7aa29eb3a624u, 0x69b2361c9d14f94bu, 0x2e184cf536f3067fu, 0x9d36004b35545910u,
    0x2b769f17cf112238u, 0x9858d3a9ccb67d57u, 0xdff2a94067518263u, 0x6cdce5fe64f6dd0cu,
    0x50a65c93309e7c0bu, 0xe388102d33392364u, 0xa4226ac498dedc50u, 0x170c267a9b79833fu,
    0xdcd7181e300f9e5eu, 0x6ff954a033a8c131u, 0x28532e49984f3e05u, 0x9b7d62f79be8616au,
    0xa707db9acf80c06du, 0x14299724cc279f02u, 0x5383edcd67c06036u, 0xe0ada17364673f59u,
};

/* The CRC register before the final XOR: start with UINT64_MAX, update, and
 * return ~reg. */
static uint64_t crc64_update(uint64_t reg, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        reg = CRC64_TABLE[(reg ^ p[i]) & 0xffu] ^ (reg >> 8);
    return reg;
}

/* ---- little-endian encoding ------------------------------------------------ */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double f64_from(const uint8_t *p)
{
    uint64_t u = rd64(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static float f32_from(const uint8_t *p)
{
    uint32_t u = rd32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* On a little-endian host with IEEE floats of the usual sizes, the in-memory
 * bytes of float/double arrays are already the file's bytes: copy them in one
 * go. Elsewhere, the byte-by-byte path is used (-DASDNORM_IO_BYTEWISE forces
 * it, to test it on a little-endian machine). */
#if !defined(ASDNORM_IO_BYTEWISE) && defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__FLOAT_WORD_ORDER__) && \
    __FLOAT_WORD_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_IS_LE 1
#else
#define HOST_IS_LE 0
#endif
_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE binary32/binary64 expected");

/* ---- layout ----------------------------------------------------------------- */

static size_t pad8(size_t n)
{
    return (ALIGN - n % ALIGN) % ALIGN;
}

/* Number of elements of each section for an index of m references of dim. */
static bool section_counts(size_t m, size_t dim, asdnorm_distance distance,
                           size_t count[N_SECTIONS])
{
    if (!asdnorm__mul_ok(m, dim, &count[S_VECT]))
        return false;
    count[S_AUXF] = m;
    count[S_SCAL] = distance == ASDNORM_DISTANCE_COSINE ? m : 0;
    count[S_DOMS] = m;
    count[S_DENS] = m;
    return true;
}

/* Total file size in bytes; false when it does not fit in size_t. */
static bool file_size(const size_t count[N_SECTIONS], size_t *out)
{
    size_t total = HEADER_SIZE;
    for (int s = 0; s < N_SECTIONS; s++) {
        size_t bytes;
        if (!asdnorm__mul_ok(count[s], SECTION_ELEM[s], &bytes))
            return false;
        size_t add = SECTION_HEADER_SIZE + bytes;
        if (add < bytes || total + add < total)
            return false;
        total += add;
        if (total + pad8(total) < total)
            return false;
        total += pad8(total);
    }
    if (total + TRAILER_SIZE < total)
        return false;
    *out = total + TRAILER_SIZE;
    return true;
}

/* ---- the emitter -------------------------------------------------------------
 * Bytes go to a buffer; in file mode the buffer is a chunk flushed to fd when
 * full. The CRC register and the offset follow every byte emitted. */
typedef struct emitter {
    uint8_t *buf;
    size_t cap;
    size_t pos;
    int fd; /* -1: memory mode, buf holds the whole output */
    uint64_t crc;
    size_t offset;
    bool failed;
} emitter;

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        if (w == 0)
            return false;
        p += (size_t)w;
        n -= (size_t)w;
    }
    return true;
}

static void em_flush(emitter *e)
{
    if (e->fd >= 0 && e->pos > 0 && !e->failed) {
        if (!write_all(e->fd, e->buf, e->pos))
            e->failed = true;
        e->pos = 0;
    }
}

/* Emit n bytes; with crc false they are not covered by the checksum (the trailer). */
static void em_raw(emitter *e, const void *src, size_t n, bool crc)
{
    const uint8_t *p = src;
    if (crc)
        e->crc = crc64_update(e->crc, p, n);
    e->offset += n;
    while (n > 0 && !e->failed) {
        if (e->pos == e->cap)
            em_flush(e);
        if (e->failed)
            break;
        size_t take = e->cap - e->pos < n ? e->cap - e->pos : n;
        memcpy(e->buf + e->pos, p, take);
        e->pos += take;
        p += take;
        n -= take;
    }
}

static void em_bytes(emitter *e, const void *src, size_t n)
{
    em_raw(e, src, n, true);
}

static void em_u32(emitter *e, uint32_t v)
{
    uint8_t b[4];
    wr32(b, v);
    em_bytes(e, b, sizeof b);
}

static void em_u64(emitter *e, uint64_t v)
{
    uint8_t b[8];
    wr64(b, v);
    em_bytes(e, b, sizeof b);
}

static void em_pad(emitter *e)
{
    static const uint8_t zeros[ALIGN];
    em_bytes(e, zeros, pad8(e->offset));
}

static void em_f32s(emitter *e, const float *a, size_t n)
{
#if HOST_IS_LE
    em_bytes(e, a, n * sizeof *a);
#else
    uint8_t chunk[1024];
    while (n > 0) {
        size_t k = n < sizeof chunk / 4 ? n : sizeof chunk / 4;
        for (size_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, &a[i], sizeof u);
            wr32(chunk + 4 * i, u);
        }
        em_bytes(e, chunk, 4 * k);
        a += k;
        n -= k;
    }
#endif
}

static void em_f64s(emitter *e, const double *a, size_t n)
{
#if HOST_IS_LE
    em_bytes(e, a, n * sizeof *a);
#else
    uint8_t chunk[1024];
    while (n > 0) {
        size_t k = n < sizeof chunk / 8 ? n : sizeof chunk / 8;
        for (size_t i = 0; i < k; i++)
            wr64(chunk + 8 * i, f64_bits(a[i]));
        em_bytes(e, chunk, 8 * k);
        a += k;
        n -= k;
    }
#endif
}

static void em_section_header(emitter *e, int s, size_t count)
{
    em_bytes(e, SECTION_TAG[s], 4);
    em_u32(e, SECTION_ELEM[s]);
    em_u64(e, (uint64_t)count * SECTION_ELEM[s]);
}

/* Emit the whole file for a finalized index; total is its precomputed size. */
static void emit_index(emitter *e, const asdnorm_index *ix, const size_t count[N_SECTIONS],
                       size_t total)
{
    uint8_t h[HEADER_SIZE] = {0};
    memcpy(h + H_MAGIC, MAGIC, sizeof MAGIC);
    wr32(h + H_VERSION, FORMAT_VERSION);
    wr32(h + H_HEADER_SIZE, HEADER_SIZE);
    wr64(h + H_FILE_SIZE, (uint64_t)total);
    wr32(h + H_FLAGS, 0);
    wr32(h + H_DISTANCE, (uint32_t)ix->distance);
    wr64(h + H_DIM, (uint64_t)ix->dim);
    wr64(h + H_COUNT, (uint64_t)ix->size);
    wr32(h + H_ESTIMATOR, (uint32_t)ix->estimator);
    wr32(h + H_NSECTIONS, N_SECTIONS);
    wr64(h + H_PARAM, f64_bits(ix->param));
    em_bytes(e, h, sizeof h);

    em_section_header(e, S_VECT, count[S_VECT]);
    em_f32s(e, ix->vectors, count[S_VECT]);
    em_pad(e);
    em_section_header(e, S_AUXF, count[S_AUXF]);
    em_f32s(e, ix->aux, count[S_AUXF]);
    em_pad(e);
    em_section_header(e, S_SCAL, count[S_SCAL]);
    if (count[S_SCAL] > 0)
        em_f64s(e, ix->scale, count[S_SCAL]);
    em_pad(e);
    em_section_header(e, S_DOMS, count[S_DOMS]);
    em_bytes(e, ix->domains, count[S_DOMS]);
    em_pad(e);
    em_section_header(e, S_DENS, count[S_DENS]);
    em_f64s(e, ix->density, count[S_DENS]);
    em_pad(e);

    uint8_t t[TRAILER_SIZE];
    wr64(t, ~e->crc);
    em_raw(e, t, sizeof t, false);
    em_flush(e);
}

/* Sizes of a finalized index's file; ASDNORM_E_OVERFLOW when it cannot be
 * addressed (only possible on 32-bit hosts). */
static asdnorm_status layout_of(const asdnorm_index *ix, size_t count[N_SECTIONS], size_t *total)
{
    if (!section_counts(ix->size, ix->dim, ix->distance, count) || !file_size(count, total))
        return ASDNORM_E_OVERFLOW;
    return ASDNORM_OK;
}

/* ---- serialize ------------------------------------------------------------- */

ASDNORM_API asdnorm_status asdnorm_index_serialize(const asdnorm_index *ix, void *buf, size_t len,
                                                   size_t *needed)
{
    if (!ix || !needed || (!buf && len > 0))
        return ASDNORM_E_NULL;
    if (!ix->finalized)
        return ASDNORM_E_STATE;
    size_t count[N_SECTIONS], total;
    asdnorm_status st = layout_of(ix, count, &total);
    if (st != ASDNORM_OK)
        return st;
    *needed = total;
    /* One rule, the header's: len < *needed is ASDNORM_E_BUFFER, which makes
     * (NULL, 0) the size query. */
    if (len < total)
        return ASDNORM_E_BUFFER;
    emitter e = {.buf = buf, .cap = total, .fd = -1, .crc = UINT64_MAX};
    emit_index(&e, ix, count, total);
    return ASDNORM_OK;
}

/* ---- save ------------------------------------------------------------------- */

enum { CHUNK = 1 << 16 };

/* The permission bits a new file would get from open(…, 0666): 0666 & ~umask.
 * umask() itself cannot be read without setting it (racy in a threaded
 * program), so it is read from /proc/self/status (Linux ≥ 4.7); elsewhere new
 * files stay private (0600, as they were created). */
static mode_t default_file_mode(void)
{
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0)
        return 0600;
    char text[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof text - 1 && (r = read(fd, text + n, sizeof text - 1 - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    text[n] = '\0';
    const char *p = strstr(text, "\nUmask:");
    if (!p)
        return 0600;
    p += strlen("\nUmask:");
    while (*p == ' ' || *p == '\t')
        p++;
    mode_t mask = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '7' && digits < 6; p++, digits++)
        mask = (mode_t)(mask * 8 + (mode_t)(*p - '0'));
    if (digits == 0)
        return 0600;
    return (mode_t)(0666 & ~mask);
}

/* fsync a directory; file systems that cannot do it (EINVAL) have nothing to sync. */
static bool fsync_dir(int dfd)
{
    if (fsync(dfd) == 0)
        return true;
    return errno == EINVAL || errno == ENOTSUP || errno == EROFS;
}

/* A temporary file's name: short and independent of the target's, so that a
 * target name of up to NAME_MAX bytes can be saved; hidden; and matched by the
 * cleanup rule of docs/file-format.md §7: ".asdnorm-", 12 hex digits, ".tmp". */
enum { TMP_NAME_SIZE = 32 };

#ifdef ASDNORM_TESTING
bool asdnorm__io_no_tmpfile;
#endif

static void temp_name(char name[TMP_NAME_SIZE])
{
    static uint64_t counter;
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 40 ^
                 __atomic_add_fetch(&counter, 0x9E3779B97F4A7C15u, __ATOMIC_RELAXED);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    snprintf(name, TMP_NAME_SIZE, ".asdnorm-%012llx.tmp", (unsigned long long)(z >> 16));
}

/* Give the open file fd the name `name` in the directory dfd (linkat through
 * /proc, which also names an O_TMPFILE file). */
static int link_fd(int fd, int dfd, const char *name)
{
    char proc[48];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW);
}

ASDNORM_API asdnorm_status asdnorm_index_save(const asdnorm_index *ix, const char *path)
{
    if (!ix || !path)
        return ASDNORM_E_NULL;
    if (!ix->finalized)
        return ASDNORM_E_STATE;
    size_t count[N_SECTIONS], total;
    if (layout_of(ix, count, &total) != ASDNORM_OK)
        return ASDNORM_E_NOMEM; /* cannot even be addressed, let alone written */
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (*base == '\0') {
        errno = path[0] != '\0' ? EISDIR : ENOENT;
        return ASDNORM_E_IO;
    }

    /* Everything that can fail for lack of memory comes first, before the
     * file system is touched. */
    size_t dlen = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 1;
    char *dir = asdnorm__malloc(dlen + 1);
    uint8_t *chunk = asdnorm__malloc(CHUNK);
    if (!dir || !chunk) {
        asdnorm__free(dir);
        asdnorm__free(chunk);
        return ASDNORM_E_NOMEM;
    }
    if (slash)
        memcpy(dir, path, dlen);
    else
        dir[0] = '.';
    dir[dlen] = '\0';

    asdnorm_status st = ASDNORM_E_IO;
    int fd = -1;
    char tmp[TMP_NAME_SIZE];
    bool named = false;   /* tmp names our file: remove it on failure */
    bool created = false; /* our file was linked as the (new) target itself */
    /* The directory is opened before anything changes so that the only step
     * that can fail after the rename is its fsync. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        goto done;

    /* The target may be absent, a regular file, or a symbolic link (which is
     * replaced, not followed). Anything else — a device, a FIFO, a socket, a
     * directory — is refused before anything is written: replacing
     * /dev/null with a regular file is never what the caller meant. */
    struct stat old;
    const bool exists = fstatat(dfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT)
        goto done;
    if (exists && !S_ISREG(old.st_mode) && !S_ISLNK(old.st_mode)) {
        errno = S_ISDIR(old.st_mode) ? EISDIR : EINVAL;
        goto done;
    }
    /* Replacing a file keeps its permissions; a new file gets the mode
     * fopen() would have given it. */
    struct stat target;
    const mode_t mode = exists && fstatat(dfd, base, &target, 0) == 0 && S_ISREG(target.st_mode)
                            ? (mode_t)(target.st_mode & 07777)
                            : default_file_mode();

    /* An unnamed file (O_TMPFILE): a crash before it is linked leaves
     * nothing behind. Where the kernel, the file system or /proc cannot do
     * that, a named temporary file, removed on every failure we survive. */
#ifdef O_TMPFILE
#ifdef ASDNORM_TESTING
    if (!asdnorm__io_no_tmpfile && access("/proc/self/fd", X_OK) == 0)
#else
    if (access("/proc/self/fd", X_OK) == 0)
#endif
        fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
#endif
    const bool anonymous = fd >= 0;
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        temp_name(tmp);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            goto done;
    }
    if (fd < 0)
        goto done;
    named = !anonymous;
    if (fchmod(fd, mode) != 0)
        goto done;

    emitter e = {.buf = chunk, .cap = CHUNK, .fd = fd, .crc = UINT64_MAX};
    emit_index(&e, ix, count, total);
    if (e.failed || e.offset != total)
        goto done;
    if (fsync(fd) != 0)
        goto done;
    if (anonymous) {
        /* No file to replace: link it as the target, with no window at all.
         * Else link it under a temporary name and rename that over the
         * target: a crash between the two calls leaves a complete file
         * under the temporary name. */
        if (!exists && link_fd(fd, dfd, base) == 0) {
            created = true;
        } else {
            if (!exists && errno != EEXIST)
                goto done;
            for (int attempt = 0; !named && attempt < 100; attempt++) {
                temp_name(tmp);
                if (link_fd(fd, dfd, tmp) == 0)
                    named = true;
                else if (errno != EEXIST)
                    goto done;
            }
            if (!named)
                goto done;
        }
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0)
        goto done;
    if (!created) {
        if (renameat(dfd, tmp, dfd, base) != 0)
            goto done;
        named = false;
    }
    created = false;
    /* The new file is in place; without the directory fsync a crash could
     * still bring back the old name → old inode mapping. */
    st = fsync_dir(dfd) ? ASDNORM_OK : ASDNORM_E_IO;

done:;
    /* errno keeps the cause of the failure for the caller, not the cleanup's. */
    const int cause = errno;
    if (fd >= 0)
        close(fd);
    if (named)
        unlinkat(dfd, tmp, 0);
    if (created)
        unlinkat(dfd, base, 0);
    if (dfd >= 0)
        close(dfd);
    asdnorm__free(dir);
    asdnorm__free(chunk);
    errno = cause;
    return st;
}

/* ---- load ------------------------------------------------------------------- */

/* Where each section's payload is, once the layout has been validated. */
typedef struct layout {
    size_t dim, m;
    asdnorm_distance distance;
    asdnorm_density estimator;
    double param;
    size_t count[N_SECTIONS];
    size_t offset[N_SECTIONS];
} layout;

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* The magic, then the version, in the first n bytes. The version comes
 * before the checksum: a later version may define the rest of the file,
 * checksum included, differently. */
static asdnorm_status check_magic_version(const uint8_t *b, size_t n)
{
    if (n < sizeof MAGIC || memcmp(b + H_MAGIC, MAGIC, sizeof MAGIC) != 0)
        return ASDNORM_E_CORRUPT;
    if (n < H_VERSION + 4)
        return ASDNORM_E_CORRUPT;
    return rd32(b + H_VERSION) == FORMAT_VERSION ? ASDNORM_OK : ASDNORM_E_VERSION;
}

/* Magic, version, sizes, checksum, header fields and the section table.
 * Reads only inside [b, b + len). */
static asdnorm_status check_layout(const uint8_t *b, size_t len, layout *lo)
{
    asdnorm_status st = check_magic_version(b, len);
    if (st != ASDNORM_OK)
        return st;
    if (len < HEADER_SIZE + TRAILER_SIZE)
        return ASDNORM_E_CORRUPT;
    if (rd32(b + H_HEADER_SIZE) != HEADER_SIZE || rd64(b + H_FILE_SIZE) != (uint64_t)len)
        return ASDNORM_E_CORRUPT;
    size_t body = len - TRAILER_SIZE;
    bool crc_ok = ~crc64_update(UINT64_MAX, b, body) == rd64(b + body);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (!crc_ok)
        return ASDNORM_E_CORRUPT;
#else
    /* The fuzz build (tests/fuzz/) lets a wrong checksum through, so that the
     * fuzzer reaches the field checks behind it instead of stopping here. */
    (void)crc_ok;
#endif

    /* Behind a valid checksum the fields are still checked: the file may have
     * been made by something other than this library. */
    uint32_t flags = rd32(b + H_FLAGS);
    uint32_t distance = rd32(b + H_DISTANCE);
    uint32_t estimator = rd32(b + H_ESTIMATOR);
    uint64_t dim = rd64(b + H_DIM), m = rd64(b + H_COUNT);
    double param = f64_from(b + H_PARAM);
    if (flags != 0 || rd32(b + H_NSECTIONS) != N_SECTIONS)
        return ASDNORM_E_CORRUPT;
    if (distance > ASDNORM_DISTANCE_MSE || estimator > ASDNORM_DENSITY_GWRP)
        return ASDNORM_E_CORRUPT;
    if (dim == 0 || m == 0 || dim > SIZE_MAX || m > SIZE_MAX)
        return ASDNORM_E_CORRUPT;
    switch ((asdnorm_density)estimator) {
    case ASDNORM_DENSITY_NONE: /* +0.0 exactly: finalize stores 0 */
        if (f64_bits(param) != 0)
            return ASDNORM_E_CORRUPT;
        break;
    case ASDNORM_DENSITY_KNN: /* K, after clipping to M − 1 */
        if (!(param >= 1.0 && param <= (double)(m - 1) && param == floor(param)))
            return ASDNORM_E_CORRUPT;
        break;
    case ASDNORM_DENSITY_GWRP:
        if (m < 2 || !(param >= 0.0 && param <= 1.0) || signbit(param))
            return ASDNORM_E_CORRUPT;
        break;
    }
    lo->dim = (size_t)dim;
    lo->m = (size_t)m;
    lo->distance = (asdnorm_distance)distance;
    lo->estimator = (asdnorm_density)estimator;
    lo->param = param;
    if (!section_counts(lo->m, lo->dim, lo->distance, lo->count))
        return ASDNORM_E_CORRUPT;

    size_t off = HEADER_SIZE;
    for (int s = 0; s < N_SECTIONS; s++) {
        if (body - off < SECTION_HEADER_SIZE)
            return ASDNORM_E_CORRUPT;
        const uint8_t *h = b + off;
        size_t bytes;
        if (memcmp(h, SECTION_TAG[s], 4) != 0 || rd32(h + 4) != SECTION_ELEM[s] ||
            !asdnorm__mul_ok(lo->count[s], SECTION_ELEM[s], &bytes) ||
            rd64(h + 8) != (uint64_t)bytes)
            return ASDNORM_E_CORRUPT;
        off += SECTION_HEADER_SIZE;
        if (body - off < bytes)
            return ASDNORM_E_CORRUPT;
        lo->offset[s] = off;
        off += bytes;
        size_t pad = pad8(off);
        if (body - off < pad || !all_zero(b + off, pad))
            return ASDNORM_E_CORRUPT;
        off += pad;
    }
    if (off != body)
        return ASDNORM_E_CORRUPT;
    return ASDNORM_OK;
}

/* Norms of cosine references may exceed 1 by rounding only. */
#define COSINE_NORM_MAX (1.0 + 0x1p-10)

/* The per-reference values: labels, density constants, the distance factors
 * and the vectors, each checked against what asdnorm_index_add() and
 * asdnorm_index_finalize() can produce (lib/index.c). Where those never store
 * −0.0 it is refused too, so that every accepted file is byte for byte the
 * serialization of the index it loads (tests/fuzz/fuzz_load.c checks this). */
static asdnorm_status check_values(const uint8_t *b, const layout *lo)
{
    const bool cosine = lo->distance == ASDNORM_DISTANCE_COSINE;
    const uint8_t *v = b + lo->offset[S_VECT];
    for (size_t j = 0; j < lo->m; j++) {
        if (b[lo->offset[S_DOMS] + j] > ASDNORM_DOMAIN_TARGET)
            return ASDNORM_E_CORRUPT;
        /* Distances are ≥ 0, so are their means; NONE stores zeros. The
         * ceiling keeps every score (d − n_j, d / n_j) a finite float. */
        double n_j = f64_from(b + lo->offset[S_DENS] + 8 * j);
        if (!(n_j >= 0.0 && n_j <= FLT_MAX) || signbit(n_j) ||
            (lo->estimator == ASDNORM_DENSITY_NONE && n_j != 0.0))
            return ASDNORM_E_CORRUPT;

        double ss = 0.0;
        for (size_t k = 0; k < lo->dim; k++, v += 4) {
            float y = f32_from(v);
            if (!isfinite(y))
                return ASDNORM_E_CORRUPT;
            ss += (double)y * y;
        }
        float aux = f32_from(b + lo->offset[S_AUXF] + 4 * j);
        if (cosine) {
            /* c_j scales a dot product: a positive finite factor, kept in
             * float as aux = (float)c_j. */
            double c = f64_from(b + lo->offset[S_SCAL] + 8 * j);
            if (!(isfinite(c) && c > 0.0 && isfinite(aux) && aux > 0.0f && aux == (float)c))
                return ASDNORM_E_CORRUPT;
            /* The reference c_j·y_j is a unit vector (normalized at add) or a
             * mean of unit vectors (a centroid): its norm is at most 1, and so
             * is the stored row's (docs/file-format.md §4). Bounding both keeps
             * the float pass of the scorer far from overflow. */
            double nrm = sqrt(ss);
            if (!(nrm <= COSINE_NORM_MAX && c * nrm <= COSINE_NORM_MAX))
                return ASDNORM_E_CORRUPT;
        } else {
            /* aux = ‖y_j‖² rounded to float; the tolerance leaves room for a
             * different summation order in another version of the library. */
            if (!(isfinite(aux) && fabs((double)aux - ss) <= 1e-5 * ss + 1e-37) ||
                signbit(aux))
                return ASDNORM_E_CORRUPT;
        }
    }
    return ASDNORM_OK;
}

static void decode_f32s(float *dst, const uint8_t *src, size_t n)
{
#if HOST_IS_LE
    memcpy(dst, src, n * sizeof *dst);
#else
    for (size_t i = 0; i < n; i++)
        dst[i] = f32_from(src + 4 * i);
#endif
}

static void decode_f64s(double *dst, const uint8_t *src, size_t n)
{
#if HOST_IS_LE
    memcpy(dst, src, n * sizeof *dst);
#else
    for (size_t i = 0; i < n; i++)
        dst[i] = f64_from(src + 8 * i);
#endif
}

ASDNORM_API asdnorm_status asdnorm_index_load_buffer(const void *buf, size_t len,
                                                     asdnorm_index **out)
{
    if (!out)
        return ASDNORM_E_NULL;
    *out = NULL;
    if (!buf)
        return ASDNORM_E_NULL;
    const uint8_t *b = buf;
    layout lo;
    asdnorm_status st = check_layout(b, len, &lo);
    if (st == ASDNORM_OK)
        st = check_values(b, &lo);
    if (st != ASDNORM_OK)
        return st;

    /* Valid: decode into arrays of our own, check the rows the way add does,
     * then hand the arrays to a new index. */
    size_t m = lo.m;
    float *vectors = asdnorm__mallocn(lo.count[S_VECT], sizeof *vectors);
    float *aux = asdnorm__mallocn(m, sizeof *aux);
    double *scale = lo.distance == ASDNORM_DISTANCE_COSINE ? asdnorm__mallocn(m, sizeof *scale)
                                                           : NULL;
    uint8_t *domains = asdnorm__malloc(m);
    double *density = asdnorm__mallocn(m, sizeof *density);
    asdnorm_index *ix = NULL;
    if (!vectors || !aux || !domains || !density ||
        (lo.distance == ASDNORM_DISTANCE_COSINE && !scale)) {
        st = ASDNORM_E_NOMEM;
        goto fail;
    }
    decode_f32s(vectors, b + lo.offset[S_VECT], lo.count[S_VECT]);
    decode_f32s(aux, b + lo.offset[S_AUXF], m);
    if (scale)
        decode_f64s(scale, b + lo.offset[S_SCAL], m);
    memcpy(domains, b + lo.offset[S_DOMS], m);
    decode_f64s(density, b + lo.offset[S_DENS], m);

    size_t bad;
    if (asdnorm__check_rows(vectors, m, lo.dim, lo.distance, &bad) != ASDNORM_OK) {
        st = ASDNORM_E_CORRUPT;
        goto fail;
    }

    st = asdnorm_index_new(lo.dim, lo.distance, &ix);
    if (st != ASDNORM_OK)
        goto fail;
    /* An empty index may own initial storage; ours replaces it. */
    asdnorm__free(ix->vectors);
    asdnorm__free(ix->aux);
    asdnorm__free(ix->scale);
    asdnorm__free(ix->domains);
    asdnorm__free(ix->density);
    ix->vectors = vectors;
    ix->aux = aux;
    ix->scale = scale;
    ix->domains = domains;
    ix->density = density;
    ix->size = m;
    ix->capacity = m;
    ix->estimator = lo.estimator;
    ix->param = lo.param;
    ix->finalized = true;
    /* The floor is derived from the stored vectors, as finalize derives it:
     * it is not part of the file. */
    st = asdnorm__ratio_floor(ix, &ix->floor);
    if (st == ASDNORM_OK)
        st = asdnorm__index_copies(ix);
    if (st != ASDNORM_OK) {
        asdnorm_index_free(ix);
        return st;
    }
    *out = ix;
    return ASDNORM_OK;

fail:
    asdnorm__free(vectors);
    asdnorm__free(aux);
    asdnorm__free(scale);
    asdnorm__free(domains);
    asdnorm__free(density);
    return st;
}

/* Read n bytes into p; fewer only at end of file (*got says how many). */
static bool read_full(int fd, uint8_t *p, size_t n, size_t *got)
{
    size_t k = 0;
    while (k < n) {
        ssize_t r = read(fd, p + k, n - k);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        if (r == 0)
            break;
        k += (size_t)r;
    }
    *got = k;
    return true;
}

/* The checks of check_layout that the header alone allows, with the same
 * statuses, and the file size it declares, which must be the size its
 * distance, D and M imply: what a reader must know before it reads on. */
static asdnorm_status check_head(const uint8_t *h, size_t n, size_t *declared)
{
    asdnorm_status st = check_magic_version(h, n);
    if (st != ASDNORM_OK)
        return st;
    if (n < HEADER_SIZE || rd32(h + H_HEADER_SIZE) != HEADER_SIZE)
        return ASDNORM_E_CORRUPT;
    uint64_t dim = rd64(h + H_DIM), m = rd64(h + H_COUNT);
    uint32_t distance = rd32(h + H_DISTANCE);
    size_t count[N_SECTIONS], total;
    if (distance > ASDNORM_DISTANCE_MSE || dim == 0 || m == 0 || dim > SIZE_MAX ||
        m > SIZE_MAX || !section_counts((size_t)m, (size_t)dim, (asdnorm_distance)distance, count) ||
        !file_size(count, &total) || rd64(h + H_FILE_SIZE) != (uint64_t)total || total == SIZE_MAX)
        return ASDNORM_E_CORRUPT;
    *declared = total;
    return ASDNORM_OK;
}

/* Read a saved index from fd: the header first, checked; then the size it
 * declares and one byte more, to see that the file ends there. A regular
 * file must have the declared size; anything else (a pipe, a device, a /proc
 * file) is read into a buffer that grows with what arrives, so an endless or
 * short stream costs at most twice what it delivered (or 1 MB), and never
 * more than the declared size. */
static asdnorm_status read_index_fd(int fd, uint8_t **data, size_t *len)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return ASDNORM_E_IO;
    if (S_ISDIR(sb.st_mode)) {
        errno = EISDIR;
        return ASDNORM_E_IO;
    }
    uint8_t head[HEADER_SIZE];
    size_t n, declared;
    if (!read_full(fd, head, sizeof head, &n))
        return ASDNORM_E_IO;
    asdnorm_status st = check_head(head, n, &declared);
    if (st != ASDNORM_OK)
        return st;
    const bool sized = S_ISREG(sb.st_mode) && sb.st_size > 0;
    if (sized && (uintmax_t)sb.st_size != (uintmax_t)declared)
        return ASDNORM_E_CORRUPT;
    const size_t want = declared + 1;
    size_t cap = sized || want < ((size_t)1 << 20) ? want : (size_t)1 << 20;
    uint8_t *p = asdnorm__malloc(cap);
    if (!p)
        return ASDNORM_E_NOMEM;
    memcpy(p, head, sizeof head);
    n = sizeof head;
    for (;;) {
        size_t got;
        if (!read_full(fd, p + n, cap - n, &got)) {
            asdnorm__free(p);
            return ASDNORM_E_IO;
        }
        n += got;
        if (n < cap || cap == want)
            break;
        size_t ncap = cap <= want / 2 ? cap * 2 : want;
        uint8_t *q = asdnorm__realloc(p, ncap);
        if (!q) {
            asdnorm__free(p);
            return ASDNORM_E_NOMEM;
        }
        p = q;
        cap = ncap;
    }
    if (n > declared) { /* data after the declared end */
        asdnorm__free(p);
        return ASDNORM_E_CORRUPT;
    }
    *data = p;
    *len = n;
    return ASDNORM_OK;
}

static asdnorm_status read_file(const char *path, uint8_t **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ASDNORM_E_IO;
    asdnorm_status st = read_index_fd(fd, data, len);
    const int cause = errno;
    close(fd);
    errno = cause;
    return st;
}

ASDNORM_API asdnorm_status asdnorm_index_load(const char *path, asdnorm_index **out)
{
    if (!out)
        return ASDNORM_E_NULL;
    *out = NULL;
    if (!path)
        return ASDNORM_E_NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    asdnorm_status st = read_file(path, &data, &len);
    if (st != ASDNORM_OK)
        return st;
    st = asdnorm_index_load_buffer(data, len, out);
    asdnorm__free(data);
    return st;
}
