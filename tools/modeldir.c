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
