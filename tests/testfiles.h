/* SPDX-License-Identifier: MIT */
/* File helpers of the tests that save and load: a private temporary
 * directory, its removal, and a whole file read into memory. Include after
 * <cmocka.h> (the helpers assert). */
#ifndef ASDNORM_TESTFILES_H
#define ASDNORM_TESTFILES_H

#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new empty directory $TMPDIR/asdnorm-<name>-XXXXXX (/tmp without TMPDIR). */
static inline void tf_make_tmpdir(char *dir, size_t cap, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, cap, "%s/asdnorm-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    assert_non_null(mkdtemp(dir));
}

/* Remove dir and everything below it (directories made unreadable by a test
 * are given their permissions back first); a missing dir is not an error. */
static inline void tf_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[PATH_MAX + 256];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
            continue; /* cannot be one of the tests' own files */
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            chmod(p, 0700);
            tf_remove_tree(p);
        } else {
            unlink(p);
        }
    }
    closedir(d);
    rmdir(dir);
}

/* The whole file at path (malloc'ed; the caller frees it), its size in *len. */
static inline uint8_t *tf_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    for (;;) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        b = realloc(b, cap);
    }
    assert_int_equal(ferror(f), 0);
    fclose(f);
    *len = n;
    return b;
}

#endif /* ASDNORM_TESTFILES_H */
