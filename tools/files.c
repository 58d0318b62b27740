/* SPDX-License-Identifier: MIT */
/* Reading and writing whole files without ever destroying data.
 *
 * Every file the program reads is remembered by device and inode, so that an
 * output that is the same file as an input is refused whatever its name (a
 * hard link, "./x" against "x", standard input redirected from it). Outputs
 * are written to a temporary file in the target's directory and renamed over
 * the target only once complete, so a failed write (a full disk, a signal)
 * leaves an existing file as it was. A target that exists and is not a regular
 * file (a device, a FIFO, a directory) is never replaced. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* ---- the files read so far ----------------------------------------------------- */

typedef struct file_id {
    dev_t dev;
    ino_t ino;
    char *path;    /* as the user named it, for messages */
    int is_output; /* written by this run */
} file_id;

static file_id *known;
static size_t n_known, cap_known;

/* Add a file's identity; pipes and terminals have none worth keeping. */
static void remember(const struct stat *st, const char *path, int is_output)
{
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
        return; /* a pipe or a terminal cannot be replaced by an output */
    for (size_t i = 0; i < n_known; i++)
        if (known[i].dev == st->st_dev && known[i].ino == st->st_ino)
            return;
    if (n_known == cap_known) {
        size_t cap = cap_known ? cap_known * 2 : 16;
        file_id *k = realloc(known, cap * sizeof *k);
        if (!k)
            return; /* then the check below is weaker, but nothing breaks */
        known = k;
        cap_known = cap;
    }
    char *copy = strdup(path);
    if (!copy)
        return;
    known[n_known++] = (file_id){st->st_dev, st->st_ino, copy, is_output};
}

static void note_file(const char *path, int is_output)
{
    struct stat st;
    if (strcmp(path, "-") == 0) {
        if (fstat(STDIN_FILENO, &st) == 0)
            remember(&st, "standard input", is_output);
    } else if (stat(path, &st) == 0) {
        remember(&st, path, is_output);
    }
}

void note_input(const char *path)
{
    note_file(path, 0);
}

/* The file read or written before that st is, or NULL. */
static const file_id *known_as(const struct stat *st)
{
    for (size_t i = 0; i < n_known; i++)
        if (known[i].dev == st->st_dev && known[i].ino == st->st_ino)
            return &known[i];
    return NULL;
}

/* ---- reading --------------------------------------------------------------------- */

int read_whole_file(const char *path, unsigned char **buf, size_t *len)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) {
        cli_message("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    note_input(path);
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    int ok = b != NULL;
    if (!ok)
        cli_message("%s: out of memory", path);
    while (ok) {
        if (n == cap) {
            unsigned char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (nb == NULL) {
                cli_message("%s: out of memory reading the file", path);
                ok = 0;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                cli_message("%s: read error: %s", path, strerror(errno));
                ok = 0;
            }
            break;
        }
    }
    if (!is_stdin)
        fclose(f);
    if (!ok) {
        free(b);
        return -1;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* ---- writing --------------------------------------------------------------------- */

int check_output(const char *path)
{
    if (strcmp(path, "-") == 0)
        return 0;
    struct stat st;
    if (stat(path, &st) != 0)
        return 0; /* a new file (a missing directory is reported when writing) */
    if (!S_ISREG(st.st_mode))
        return cli_fail("%s: not a regular file: refusing to replace it", path);
    const file_id *f = known_as(&st);
    if (f && f->is_output)
        return cli_fail("%s: already written as another output of this command", path);
    if (f && strcmp(f->path, path) == 0)
        return cli_fail("%s is also an input: refusing to overwrite it", path);
    if (f)
        return cli_fail("%s is the same file as the input %s: refusing to overwrite it", path,
                        f->path);
    return 0;
}

int same_output(const char *a, const char *b)
{
    if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
        return 0;
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea != eb)
        return 0;
    /* Neither exists yet: the same directory and the same name. */
    char *ca = strdup(a), *cb = strdup(b);
    int same = 0;
    if (ca && cb && strcmp(basename(ca), basename(cb)) == 0) {
        char *da = strdup(a), *db = strdup(b);
        struct stat dsa, dsb;
        if (da && db && stat(dirname(da), &dsa) == 0 && stat(dirname(db), &dsb) == 0)
            same = dsa.st_dev == dsb.st_dev && dsa.st_ino == dsb.st_ino;
        free(da);
        free(db);
    }
    free(ca);
    free(cb);
    return same;
}

/* The mode a new file gets from fopen(): 0666 less the umask. */
static mode_t new_file_mode(void)
{
    mode_t mask = umask(0);
    umask(mask);
    return (mode_t)(0666 & ~mask);
}

/* Write all len bytes to fd. */
static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* "DIR/.asdnorm-XXXXXX" next to path: a short name, whatever the length of path's. */
static char *temp_name_for(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    static const char pattern[] = ".asdnorm-XXXXXX";
    char *t = malloc(dlen + sizeof pattern);
    if (t) {
        memcpy(t, path, dlen);
        memcpy(t + dlen, pattern, sizeof pattern);
    }
    return t;
}

/* fsync the directory holding path, so that a rename survives a power loss.
 * The new file is in place already: a failure here changes nothing. */
static void sync_directory_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(copy);
}

/* Write buf to a temporary file beside path (or beside the file a symbolic link
 * names), flush it to disk and rename it over the target. */
static int write_atomically(const char *path, const void *buf, size_t len)
{
    /* A symbolic link is followed: the file it names is replaced, not the link. */
    char *resolved = NULL;
    struct stat lst, st;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        resolved = realpath(path, NULL);
        if (!resolved)
            return cli_fail("%s: %s", path, strerror(errno));
    }
    const char *target = resolved ? resolved : path;
    char *tmp = temp_name_for(target);
    if (!tmp) {
        free(resolved);
        return cli_fail("%s: out of memory", path);
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        cli_message("%s: cannot create: %s", path, strerror(errno));
        free(tmp);
        free(resolved);
        return -1;
    }
    mode_t mode = stat(target, &st) == 0 ? (mode_t)(st.st_mode & 07777) : new_file_mode();
    int ok = fchmod(fd, mode) == 0 && write_all(fd, buf, len) == 0 && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && rename(tmp, target) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp); /* the target, if it existed, is untouched */
        cli_message("%s: write error: %s", path, strerror(saved));
    } else {
        sync_directory_of(target);
    }
    free(tmp);
    free(resolved);
    return ok ? 0 : -1;
}

int write_whole_file(const char *path, const void *buf, size_t len)
{
    if (strcmp(path, "-") == 0) {
        if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
            cli_message("standard output: write error: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    if (check_output(path) != 0 || write_atomically(path, buf, len) != 0)
        return -1;
    /* A second output to the same file would replace this one. */
    note_file(path, 1);
    return 0;
}

/* ---- texts built in memory -------------------------------------------------------- */

int membuf_open(membuf *m)
{
    m->text = NULL;
    m->len = 0;
    m->f = open_memstream(&m->text, &m->len);
    return m->f ? 0 : cli_fail("out of memory");
}

int membuf_write(membuf *m, const char *path)
{
    int failed = ferror(m->f);
    if (fclose(m->f) != 0)
        failed = 1;
    int rc = failed ? cli_fail("%s: out of memory", path) : write_whole_file(path, m->text, m->len);
    free(m->text);
    m->text = NULL;
    return rc;
}
