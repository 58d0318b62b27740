/* SPDX-License-Identifier: MIT */
/* Sections and per-section indexes. */
#include "refset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct keyed {
    int64_t key;
    size_t row;
} keyed;

/* By section id, then by row. */
static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row); /* keep file order within a section */
}

int group_sections(const int64_t *sections, size_t n, section_group **groups, size_t *ngroups)
{
    *groups = NULL;
    *ngroups = 0;
    keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (k == NULL)
        return cli_fail("out of memory grouping %zu rows by section", n);
    for (size_t i = 0; i < n; i++) {
        k[i].key = sections ? sections[i] : 0;
        k[i].row = i;
    }
    if (sections)
        qsort(k, n, sizeof *k, cmp_keyed);
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || k[i].key != k[i - 1].key)
            count++;
    section_group *g = calloc(count ? count : 1, sizeof *g);
    size_t *rows = malloc((n ? n : 1) * sizeof *rows);
    if (g == NULL || rows == NULL) {
        free(g);
        free(rows);
        free(k);
        return cli_fail("out of memory grouping %zu rows by section", n);
    }
    /* All groups share one rows array; the first group owns it. */
    size_t gi = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && k[i].key != k[i - 1].key)
            gi++;
        if (g[gi].n == 0) {
            g[gi].id = k[i].key;
            g[gi].rows = rows + i;
        }
        rows[i] = k[i].row;
        g[gi].n++;
    }
    if (count == 0)
        free(rows);
    free(k);
    *groups = g;
    *ngroups = count;
    return 0;
}

void free_groups(section_group *groups, size_t ngroups)
{
    if (groups && ngroups)
        free(groups[0].rows);
    free(groups);
}

const section_group *find_group(const section_group *groups, size_t ngroups, int64_t id)
{
    size_t lo = 0, hi = ngroups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (groups[mid].id == id)
            return &groups[mid];
        if (groups[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

float *gather_rows(const float *x, size_t dim, const size_t *rows, size_t n)
{
    size_t count;
    if (__builtin_mul_overflow(n, dim, &count) || count > SIZE_MAX / sizeof(float))
        return NULL;
    float *out = malloc((count ? count : 1) * sizeof *out);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * dim, x + rows[i] * dim, dim * sizeof *out);
    return out;
}

void section_name(int sectioned, int64_t id, char *buf, size_t cap)
{
    if (sectioned)
        snprintf(buf, cap, "section %lld", (long long)id);
    else
        snprintf(buf, cap, "the references");
}

int finalize_index(asdnorm_index *ix, asdnorm_density density, double param, const char *where)
{
    char msg[128];
    size_t m = asdnorm_index_size(ix);
    if (strncmp(where, "section", 7) == 0)
        snprintf(msg, sizeof msg, "computing the densities of %zu references (%s)", m, where);
    else
        snprintf(msg, sizeof msg, "computing the densities of %zu references", m);
    progress *p = progress_begin(msg);
    asdnorm_index_set_progress(ix, p ? progress_report : NULL, p);
    asdnorm_status st = asdnorm_index_finalize(ix, density, param);
    asdnorm_index_set_progress(ix, NULL, NULL);
    progress_end(p);
    if (st == ASDNORM_OK)
        return 0;
    if (st == ASDNORM_E_TOO_FEW)
        return cli_fail("%s: %zu reference%s: the %s density needs at least 2 (use --density none)",
                        where, m, m == 1 ? "" : "s", density_name(density));
    return cli_fail("%s: computing the densities failed: %s", where, asdnorm_strerror(st));
}

static size_t count_domain(const asdnorm_index *ix, uint8_t which)
{
    size_t m = asdnorm_index_size(ix), c = 0;
    uint8_t *d = malloc(m ? m : 1);
    if (d == NULL || asdnorm_index_get_domains(ix, d, m) != ASDNORM_OK) {
        free(d);
        return 0;
    }
    for (size_t i = 0; i < m; i++)
        c += d[i] == which;
    free(d);
    return c;
}

/* Source means then SMOTE (the caller allows one of them). map has
 * asdnorm_index_size(*ix) entries and is replaced to match the new index. */
static int apply_baselines(asdnorm_index **ix, const build_options *o, const char *where,
                           int64_t **map)
{
    asdnorm_index *next = NULL;
    size_t m = asdnorm_index_size(*ix);
    if (o->source_kmeans) {
        size_t n_src = count_domain(*ix, ASDNORM_DOMAIN_SOURCE);
        asdnorm_status st = asdnorm_source_means(*ix, o->source_kmeans, 10, o->seed, &next);
        if (st == ASDNORM_E_TOO_FEW || (st == ASDNORM_OK && n_src == 0)) {
            asdnorm_index_free(next);
            return cli_fail("%s: --source-kmeans needs source-domain references (domain 1 in "
                            "--ref-domains); there are none",
                            where);
        }
        if (st != ASDNORM_OK)
            return cli_fail("%s: source k-means failed: %s", where, asdnorm_strerror(st));
        /* The new index holds the centroids, then every non-source reference in order. */
        size_t m2 = asdnorm_index_size(next), n_other = m - n_src, n_cent = m2 - n_other;
        int64_t *map2 = malloc((m2 ? m2 : 1) * sizeof *map2);
        uint8_t *dom = malloc(m ? m : 1);
        if (map2 == NULL || dom == NULL || asdnorm_index_get_domains(*ix, dom, m) != ASDNORM_OK) {
            free(map2);
            free(dom);
            asdnorm_index_free(next);
            return cli_fail("%s: out of memory", where);
        }
        size_t p = 0;
        for (; p < n_cent; p++)
            map2[p] = -1;
        for (size_t i = 0; i < m; i++)
            if (dom[i] != ASDNORM_DOMAIN_SOURCE)
                map2[p++] = (*map)[i];
        free(dom);
        free(*map);
        *map = map2;
    } else if (o->smote_k) {
        size_t n_tgt = count_domain(*ix, ASDNORM_DOMAIN_TARGET);
        asdnorm_status st = asdnorm_smote_index(*ix, 0, o->smote_k, o->seed, &next);
        if (st == ASDNORM_E_TOO_FEW)
            return cli_fail("%s: --smote needs at least 2 target-domain references (domain 2 in "
                            "--ref-domains); there %s %zu",
                            where, n_tgt == 1 ? "is" : "are", n_tgt);
        if (st != ASDNORM_OK)
            return cli_fail("%s: SMOTE failed: %s", where, asdnorm_strerror(st));
        size_t m2 = asdnorm_index_size(next);
        int64_t *map2 = realloc(*map, (m2 ? m2 : 1) * sizeof *map2);
        if (map2 == NULL) {
            asdnorm_index_free(next);
            return cli_fail("%s: out of memory", where);
        }
        for (size_t p = m; p < m2; p++)
            map2[p] = -1;
        *map = map2;
    } else {
        return 0;
    }
    asdnorm_index_free(*ix);
    *ix = next;
    return 0;
}

int build_section_index(const float *x, size_t m, size_t dim, const uint8_t *domains,
                        const size_t *origin_rows, const build_options *o, const char *where,
                        asdnorm_index **out, int64_t **map)
{
    asdnorm_index *ix = NULL;
    int64_t *mp = NULL;
    asdnorm_status st = asdnorm_index_new(dim, o->distance, &ix);
    if (st != ASDNORM_OK)
        return cli_fail("%s: creating the index failed: %s", where, asdnorm_strerror(st));
    st = asdnorm_index_add(ix, x, m, domains);
    if (st != ASDNORM_OK) {
        asdnorm_index_free(ix);
        return cli_fail("%s: adding the references failed: %s", where, asdnorm_strerror(st));
    }
    mp = calloc(m ? m : 1, sizeof *mp);
    if (mp == NULL) {
        asdnorm_index_free(ix);
        return cli_fail("%s: out of memory", where);
    }
    for (size_t i = 0; i < m; i++)
        mp[i] = (int64_t)origin_rows[i];
    if (apply_baselines(&ix, o, where, &mp) != 0 ||
        finalize_index(ix, o->density, o->param, where) != 0) {
        asdnorm_index_free(ix);
        free(mp);
        return -1;
    }
    *out = ix;
    *map = mp;
    return 0;
}

int transform_loaded_index(asdnorm_index **ix, const build_options *o, const char *where,
                           int64_t **map)
{
    size_t m = asdnorm_index_size(*ix);
    int64_t *mp = calloc(m ? m : 1, sizeof *mp);
    if (mp == NULL)
        return cli_fail("%s: out of memory", where);
    for (size_t i = 0; i < m; i++)
        mp[i] = (int64_t)i;
    if (o->source_kmeans || o->smote_k) {
        asdnorm_density density;
        double param;
        asdnorm_status st = asdnorm_index_get_estimator(*ix, &density, &param);
        if (st != ASDNORM_OK) {
            free(mp);
            return cli_fail("%s: %s", where, asdnorm_strerror(st));
        }
        if (apply_baselines(ix, o, where, &mp) != 0 ||
            finalize_index(*ix, density, param, where) != 0) {
            free(mp);
            return -1;
        }
    }
    *map = mp;
    return 0;
}
