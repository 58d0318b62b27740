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
#define _GNU_SOURCE /* O_TMPFILE (Linux), where the C library defines it */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* ---- temporary files a signal must not leave behind ----------------------------- */

/* Where the kernel can, the output is first an unnamed O_TMPFILE file in the
 * target's directory, linked into place once complete: a process killed by any
 * signal (SIGKILL too) before that leaves nothing. Otherwise, and for the
 * instant between linking it under a temporary name and renaming that over an
 * existing target, the temporary name is registered here and SIGINT, SIGTERM
 * and SIGHUP remove it (unlink is async-signal-safe) before the process dies of
 * the signal as it would have.
 *
 * For the tests only: ASDNORM_TEST_NO_TMPFILE=1 takes the named route, and
 * ASDNORM_TEST_STOP_WRITE=1 stops the process (SIGSTOP) halfway through writing
 * an output, so that a test can kill it there. */

static char *volatile pending; /* the temporary file's name, or NULL */

static void remove_pending(int sig)
{
    char *name = pending;
    if (name)
        unlink(name);
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};
enum { N_CLEANUP_SIGNALS = sizeof cleanup_signals / sizeof *cleanup_signals };

/* The signals above, blocked (how SIG_BLOCK) or unblocked (SIG_UNBLOCK). */
static void block_cleanup_signals(int how)
{
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < N_CLEANUP_SIGNALS; i++)
        sigaddset(&set, cleanup_signals[i]);
    sigprocmask(how, &set, NULL);
}

/* Install remove_pending() once; a signal ignored (as under nohup) stays ignored. */
static void install_cleanup(void)
{
    static int installed;
    if (installed)
        return;
    installed = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = remove_pending;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_CLEANUP_SIGNALS; i++)
        sigaddset(&sa.sa_mask, cleanup_signals[i]);
    for (int i = 0; i < N_CLEANUP_SIGNALS; i++) {
        struct sigaction old;
        if (sigaction(cleanup_signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(cleanup_signals[i], &sa, NULL);
    }
}

static int test_flag(const char *name)
{
    const char *v = getenv(name);
    return v && strcmp(v, "1") == 0;
}

/* ---- writing atomically --------------------------------------------------------------- */

/* One output being written: the target and the temporary file. */
typedef struct out_file {
    const char *target; /* the file to replace (a symbolic link resolved) */
    char *dir;          /* its directory */
    char *tmp;          /* "DIR/.asdnorm-XXXXXX" once the file has that name, else NULL */
    int fd;
    int anonymous; /* an O_TMPFILE file, not yet linked */
} out_file;

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

/* Replace the trailing XXXXXX of name with letters from the process id, the time
 * and a counter (for linkat(), which has no mkstemp()). */
static void fill_template(char *name)
{
    static unsigned long counter;
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long z = (unsigned long long)ts.tv_nsec ^ (unsigned long long)getpid() << 32 ^
                           (unsigned long long)++counter * 0x9E3779B97F4A7C15ull;
    char *x = name + strlen(name) - 6;
    for (int i = 0; i < 6; i++, z /= 62)
        x[i] = letters[z % 62];
}

/* Open f's temporary file: unnamed where O_TMPFILE and /proc work, else named
 * and registered for removal. errno is set on failure. */
static int open_temporary(out_file *f)
{
    f->fd = -1;
#ifdef O_TMPFILE
    if (!test_flag("ASDNORM_TEST_NO_TMPFILE") && access("/proc/self/fd", X_OK) == 0)
        f->fd = open(f->dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
#endif
    f->anonymous = f->fd >= 0;
    if (f->anonymous)
        return 0;
    char *name = temp_name_for(f->target);
    if (!name) {
        errno = ENOMEM;
        return -1;
    }
    /* No signal between the file's creation and its registration. */
    install_cleanup();
    block_cleanup_signals(SIG_BLOCK);
    f->fd = mkstemp(name);
    if (f->fd >= 0)
        pending = f->tmp = name;
    block_cleanup_signals(SIG_UNBLOCK);
    if (f->fd < 0)
        free(name);
    return f->fd >= 0 ? 0 : -1;
}

/* Give the unnamed file of f the name name (linkat through /proc). */
static int link_anonymous(const out_file *f, const char *name)
{
    char proc[48];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
    return linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW);
}

/* Link the unnamed file of f: as the target itself when there is none (no
 * window at all), else under a registered temporary name to rename. */
static int link_into_place(out_file *f)
{
    if (link_anonymous(f, f->target) == 0) {
        f->anonymous = 0;
        return 0;
    }
    if (errno != EEXIST)
        return -1;
    char *name = temp_name_for(f->target);
    if (!name) {
        errno = ENOMEM;
        return -1;
    }
    install_cleanup();
    block_cleanup_signals(SIG_BLOCK);
    int rc = -1;
    for (int attempt = 0; attempt < 100 && rc != 0; attempt++) {
        fill_template(name);
        rc = link_anonymous(f, name);
        if (rc != 0 && errno != EEXIST)
            break;
    }
    if (rc == 0)
        pending = f->tmp = name;
    block_cleanup_signals(SIG_UNBLOCK);
    if (rc != 0)
        free(name);
    f->anonymous = 0;
    return rc;
}

/* The data, halfway stopped for the tests (see above). */
static int write_data(int fd, const unsigned char *p, size_t len)
{
    if (!test_flag("ASDNORM_TEST_STOP_WRITE"))
        return write_all(fd, p, len);
    if (write_all(fd, p, len / 2) != 0)
        return -1;
    raise(SIGSTOP);
    return write_all(fd, p + len / 2, len - len / 2);
}

/* Remove the temporary name (if any) and forget it. */
static void drop_temporary(out_file *f, int unlink_it)
{
    pending = NULL;
    if (f->tmp && unlink_it)
        unlink(f->tmp);
    free(f->tmp);
    f->tmp = NULL;
}

/* fsync the directory dir, so that a rename survives a power loss.
 * The new file is in place already: a failure here changes nothing. */
static void sync_directory(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

/* Write buf to f's temporary file, flush it to disk and put it in place. errno
 * is set on failure. */
static int write_temporary(out_file *f, const void *buf, size_t len)
{
    struct stat st;
    mode_t mode = stat(f->target, &st) == 0 ? (mode_t)(st.st_mode & 07777) : new_file_mode();
    if (fchmod(f->fd, mode) != 0 || write_data(f->fd, buf, len) != 0 || fsync(f->fd) != 0)
        return -1;
    if (f->anonymous && link_into_place(f) != 0)
        return -1;
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0)
        return -1;
    if (f->tmp && rename(f->tmp, f->target) != 0)
        return -1;
    drop_temporary(f, 0);
    return 0;
}

/* Write buf to a temporary file beside path (or beside the file a symbolic link
 * names), flush it to disk and put it in place. */
static int write_atomically(const char *path, const void *buf, size_t len)
{
    /* A symbolic link is followed: the file it names is replaced, not the link. */
    char *resolved = NULL;
    struct stat lst;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        resolved = realpath(path, NULL);
        if (!resolved)
            return cli_fail("%s: %s", path, strerror(errno));
    }
    out_file f = {resolved ? resolved : path, NULL, NULL, -1, 0};
    char *copy = strdup(f.target);
    f.dir = copy ? strdup(dirname(copy)) : NULL;
    free(copy);
    int rc = -1;
    if (!f.dir) {
        cli_message("%s: out of memory", path);
    } else if (open_temporary(&f) != 0) {
        cli_message("%s: cannot create: %s", path, strerror(errno));
    } else if (write_temporary(&f, buf, len) != 0) {
        cli_message("%s: write error: %s", path, strerror(errno));
    } else {
        sync_directory(f.dir);
        rc = 0;
    }
    if (f.fd >= 0)
        close(f.fd);       /* an unnamed file vanishes with it */
    drop_temporary(&f, 1); /* the target, if it existed, is untouched */
    free(f.dir);
    free(resolved);
    return rc;
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
