/* SPDX-License-Identifier: MIT */
/* Model directories: `index build --ref-sections` writes DIR/section_<id>.asdx,
 * one index per section, and DIR/manifest, the list of the sections of that
 * build. A section file the manifest does not list is stale (left by an
 * earlier build with more sections): the build removes it, and `score` refuses
 * to use one. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "modeldir.h"

static const char manifest_magic[] = "# asdnorm model directory: the sections of the last build";

void section_file(const char *dir, int64_t id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/section_%lld.asdx", dir, (long long)id);
}

int manifest_write(const char *dir, const section_group *g, size_t ng)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, MANIFEST_NAME);
    membuf m;
    if (membuf_open(&m) != 0)
        return -1;
    fprintf(m.f, "%s\n", manifest_magic);
    for (size_t i = 0; i < ng; i++)
        fprintf(m.f, "section_%lld.asdx\n", (long long)g[i].id);
    return membuf_write(&m, path);
}

int section_file_id(const char *name, long long *id)
{
    if (strncmp(name, "section_", 8) != 0)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(name + 8, &end, 10);
    if (end == name + 8 || errno != 0 || strcmp(end, ".asdx") != 0)
        return 0;
    *id = v;
    return 1;
}

int remove_stale_sections(const char *dir, const section_group *g, size_t ng)
{
    DIR *d = opendir(dir);
    if (!d)
        return cli_fail("%s: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long long id;
        if (!section_file_id(e->d_name, &id) || find_group(g, ng, id))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0)
            rc = cli_error("%s: a section of an earlier build, not removed: %s", path,
                           strerror(errno));
    }
    closedir(d);
    return rc == 0 ? 0 : -1;
}

int manifest_lists(const char *dir, int64_t id)
{
    char path[4096], want[64];
    snprintf(path, sizeof path, "%s/%s", dir, MANIFEST_NAME);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    snprintf(want, sizeof want, "section_%lld.asdx", (long long)id);
    char line[256];
    int found = 0, first = 1, valid = 1;
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (first && strcmp(line, manifest_magic) != 0)
            valid = 0;
        first = 0;
        found = strcmp(line, want) == 0;
    }
    fclose(f);
    if (!valid)
        return -2;
    return found;
}

int load_section_index(const char *path, int sectioned, int64_t id, asdnorm_index **ix)
{
    char file[4096];
    if (sectioned)
        section_file(path, id, file, sizeof file);
    else
        snprintf(file, sizeof file, "%s", path);
    int listed = sectioned ? manifest_lists(path, id) : 1;
    if (listed == 0)
        return cli_fail("%s: no index for section %lld: %s/%s does not list it (a file left by an "
                        "earlier build is not used)",
                        file, (long long)id, path, MANIFEST_NAME);
    if (listed == -2)
        return cli_fail("%s/%s: not an asdnorm manifest", path, MANIFEST_NAME);
    struct stat sb;
    if (stat(file, &sb) != 0) {
        if (sectioned)
            return cli_fail("%s: no index for section %lld: %s", file, (long long)id,
                            strerror(errno));
        return cli_fail("%s: cannot open: %s", file, strerror(errno));
    }
    note_input(file);
    asdnorm_status st = asdnorm_index_load(file, ix);
    if (st == ASDNORM_OK)
        return 0;
    return cli_fail("%s: %s", file, asdnorm_strerror(st));
}

static int cmp_id(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int list_sections(const char *dir, int64_t **ids, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return cli_fail("%s: cannot open: %s", dir, strerror(errno));
    size_t cap = 16, k = 0;
    int64_t *v = malloc(cap * sizeof *v);
    struct dirent *e;
    long long id;
    while (v && (e = readdir(d)) != NULL) {
        if (!section_file_id(e->d_name, &id) || manifest_lists(dir, id) == 0)
            continue;
        if (k == cap) {
            int64_t *w = realloc(v, (cap *= 2) * sizeof *v);
            if (!w)
                free(v);
            v = w;
        }
        if (v)
            v[k++] = id;
    }
    closedir(d);
    if (!v)
        return cli_fail("out of memory");
    if (k == 0) {
        free(v);
        return cli_fail("%s: no section_<id>.asdx index listed in its %s", dir, MANIFEST_NAME);
    }
    qsort(v, k, sizeof *v, cmp_id);
    *ids = v;
    *n = k;
    return 0;
}
