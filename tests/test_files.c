/* SPDX-License-Identifier: MIT */
/* Saving and loading against the file system's odd corners (issue 17,
 * docs/reliability.md): names of up to NAME_MAX bytes; targets that are not
 * regular files (refused, left as they were); saves killed with SIGKILL at
 * random moments (the target is always the old or the new index, whole, and
 * nothing is left behind but what the cleanup rule of docs/file-format.md §7
 * names); and loading from /dev/zero, FIFOs and endless streams, which must
 * end quickly with a status. Every save case runs twice: with O_TMPFILE and
 * with the named temporary file used where O_TMPFILE is missing. Whatever can
 * hang runs in a child with its own alarm, so that a regression fails instead
 * of hanging the suite. */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define ASDNORM_TESTING 1
#include "internal.h"
#include "testfiles.h"
#include "testutil.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(UNDER_ASAN)
/* Under AddressSanitizer an allocation beyond the memory limit must return
 * NULL, as it does without it, rather than end the program. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
#endif

/* Seconds a child may take before it counts as hung. */
enum { CHILD_TIMEOUT = 60 };

static char g_dir[PATH_MAX / 2];

/* ---- helpers ---------------------------------------------------------------- */

/* A fresh, empty directory under g_dir. */
static void fresh_dir(char *dir, size_t cap, const char *name)
{
    snprintf(dir, cap, "%s/%s", g_dir, name);
    tf_remove_tree(dir);
    assert_int_equal(mkdir(dir, 0700), 0);
}

/* The documented name of a save's temporary file: ".asdnorm-", 12 hex
 * digits, ".tmp" (docs/file-format.md §7). */
static int is_temp_name(const char *s)
{
    if (strncmp(s, ".asdnorm-", 9) != 0 || strlen(s) != 9 + 12 + 4)
        return 0;
    for (int i = 9; i < 21; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return strcmp(s + 21, ".tmp") == 0;
}

/* Entries of dir other than "." and "..", except `keep` (may be NULL); their
 * names go to names[] (up to cap). */
static size_t other_entries(const char *dir, const char *keep, char names[][NAME_MAX + 1],
                            size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            (keep && strcmp(e->d_name, keep) == 0))
            continue;
        if (n < cap)
            snprintf(names[n], NAME_MAX + 1, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static asdnorm_index *build(asdnorm_distance dist, size_t m, size_t dim, uint64_t seed,
                            asdnorm_density est, double param)
{
    float *y = tu_gauss(&seed, m, dim, 0.0, 1.0);
    asdnorm_index *ix = NULL;
    assert_int_equal(asdnorm_index_new(dim, dist, &ix), ASDNORM_OK);
    assert_int_equal(asdnorm_index_add(ix, y, m, NULL), ASDNORM_OK);
    assert_int_equal(asdnorm_index_finalize(ix, est, param), ASDNORM_OK);
    free(y);
    return ix;
}

static uint8_t *serialize(const asdnorm_index *ix, size_t *len)
{
    size_t needed = 0;
    assert_int_equal(asdnorm_index_serialize(ix, NULL, 0, &needed), ASDNORM_E_BUFFER);
    uint8_t *b = malloc(needed);
    assert_int_equal(asdnorm_index_serialize(ix, b, needed, &needed), ASDNORM_OK);
    *len = needed;
    return b;
}

/* The file at path holds exactly these bytes. */
static int file_is(const char *path, const uint8_t *bytes, size_t len)
{
    size_t n;
    uint8_t *b = tf_read_all(path, &n);
    int same = n == len && memcmp(b, bytes, len) == 0;
    free(b);
    return same;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Wait for a child; fail if it was killed (SIGALRM: its own timeout). */
static int child_status(pid_t pid, const char *what)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("%s: the child was killed by signal %d%s", what, WTERMSIG(status),
                 WTERMSIG(status) == SIGALRM ? " (its timeout: it hung)" : "");
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* ---- long names -------------------------------------------------------------- */

/* Names of 240 … 255 bytes (NAME_MAX on Linux) save and load; 256 is refused
 * by the system (ENAMETOOLONG) with nothing left behind. */
static void save_long_names(bool no_tmpfile)
{
    asdnorm__io_no_tmpfile = no_tmpfile;
    asdnorm_index *ix = build(ASDNORM_DISTANCE_MSE, 9, 5, 1, ASDNORM_DENSITY_KNN, 2);
    size_t want_len;
    uint8_t *want = serialize(ix, &want_len);
    char dir[PATH_MAX - 64], path[PATH_MAX + 300], name[NAME_MAX + 2];
    char left[4][NAME_MAX + 1];
    fresh_dir(dir, sizeof dir, "names");
    for (size_t len = 240; len <= NAME_MAX + 1; len++) {
        memset(name, 'n', len - 5);
        memcpy(name + len - 5, ".asdx", 6);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        asdnorm_status st = asdnorm_index_save(ix, path);
        if (len > NAME_MAX) {
            assert_int_equal(st, ASDNORM_E_IO);
            assert_int_equal(errno, ENAMETOOLONG);
            assert_int_equal(other_entries(dir, NULL, left, 4), 0);
            continue;
        }
        if (st != ASDNORM_OK)
            fail_msg("a name of %zu bytes: status %d (%s)", len, st, strerror(errno));
        assert_true(file_is(path, want, want_len));
        asdnorm_index *back = NULL;
        assert_int_equal(asdnorm_index_load(path, &back), ASDNORM_OK);
        assert_int_equal(asdnorm_index_size(back), 9);
        asdnorm_index_free(back);
        /* Again, over itself. */
        assert_int_equal(asdnorm_index_save(ix, path), ASDNORM_OK);
        assert_int_equal(other_entries(dir, name, left, 4), 0);
        assert_int_equal(unlink(path), 0);
    }
    free(want);
    asdnorm_index_free(ix);
    asdnorm__io_no_tmpfile = false;
}

static void long_names(void **state)
{
    (void)state;
    save_long_names(false);
    save_long_names(true);
}

/* ---- targets that are not regular files --------------------------------------- */

/* Saving to path is refused with ASDNORM_E_IO and errno `err`, and dir holds
 * nothing it did not hold before (n_before entries). */
static void assert_refused(const asdnorm_index *ix, const char *path, int err, const char *dir,
                           size_t n_before)
{
    char left[8][NAME_MAX + 1];
    errno = 0;
    asdnorm_status st = asdnorm_index_save(ix, path);
    if (st != ASDNORM_E_IO || errno != err)
        fail_msg("%s: status %d, errno %d (%s); expected ASDNORM_E_IO with errno %d", path, st,
                 errno, strerror(errno), err);
    if (dir)
        assert_int_equal(other_entries(dir, NULL, left, 8), n_before);
}

static void save_special_targets(bool no_tmpfile)
{
    asdnorm__io_no_tmpfile = no_tmpfile;
    asdnorm_index *ix = build(ASDNORM_DISTANCE_COSINE, 6, 4, 2, ASDNORM_DENSITY_NONE, 0);
    char dir[PATH_MAX - 64], path[PATH_MAX + 64], link[PATH_MAX + 64], file[PATH_MAX + 64];
    struct stat sb;
    size_t n = 0;
    fresh_dir(dir, sizeof dir, "special");

    /* A FIFO: replacing it would break whoever reads it. */
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    n++;
    assert_refused(ix, path, EINVAL, dir, n);
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));

    /* A socket. */
    char sock[PATH_MAX + 64];
    snprintf(sock, sizeof sock, "%s/sock", dir);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(sock) < sizeof addr.sun_path) {
        memcpy(addr.sun_path, sock, strlen(sock) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
        n++;
        assert_refused(ix, sock, EINVAL, dir, n);
        assert_int_equal(lstat(sock, &sb), 0);
        assert_true(S_ISSOCK(sb.st_mode));
        close(fd);
    }

    /* A directory, empty (rename() would replace an empty one). */
    snprintf(path, sizeof path, "%s/subdir", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    n++;
    assert_refused(ix, path, EISDIR, dir, n);
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));

    /* A character device: /dev/null's twin (major 1, minor 3) made here, so
     * that a regression replaces the twin, not the machine's /dev/null. */
    snprintf(path, sizeof path, "%s/null", dir);
    if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        n++;
        assert_refused(ix, path, EINVAL, dir, n);
        assert_int_equal(lstat(path, &sb), 0);
        assert_true(S_ISCHR(sb.st_mode));
        assert_true(sb.st_rdev == makedev(1, 3));
    } else {
        print_message("character device case skipped: mknod: %s\n", strerror(errno));
    }
    /* /dev/null itself only when not root: then a regression could not
     * replace it either (it would fail with EACCES instead of EINVAL). */
    if (geteuid() != 0) {
        assert_refused(ix, "/dev/null", EINVAL, NULL, 0);
        assert_int_equal(lstat("/dev/null", &sb), 0);
        assert_true(S_ISCHR(sb.st_mode));
    }

    /* The symbolic-link policy is unchanged: a link is replaced, not
     * followed, whatever it points to. */
    snprintf(path, sizeof path, "%s/fifo", dir);
    snprintf(link, sizeof link, "%s/to-fifo", dir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(asdnorm_index_save(ix, link), ASDNORM_OK);
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    snprintf(file, sizeof file, "%s/regular", dir);
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    fputs("keep", f);
    fclose(f);
    snprintf(link, sizeof link, "%s/to-regular", dir);
    assert_int_equal(symlink(file, link), 0);
    assert_int_equal(asdnorm_index_save(ix, link), ASDNORM_OK);
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_true(file_is(file, (const uint8_t *)"keep", 4));
    n += 3;
    char left[16][NAME_MAX + 1];
    assert_int_equal(other_entries(dir, NULL, left, 16), n);

    asdnorm_index_free(ix);
    asdnorm__io_no_tmpfile = false;
}

static void special_targets(void **state)
{
    (void)state;
    save_special_targets(false);
    save_special_targets(true);
}

/* ---- saves killed with SIGKILL --------------------------------------------------- */

enum { KILLS = 8 };

/* A child saves a ≈ 12 MB index over an old one and is killed with SIGKILL at
 * a random moment of its save. After each kill: the target is the old or the
 * new index, byte for byte; with O_TMPFILE nothing else is in the directory
 * (except, should the kill land between the link and the rename, a complete
 * copy under a temporary name); without it, only files named as the cleanup
 * rule says, which the test then removes as that rule allows. */
static void kill_saves(bool no_tmpfile)
{
    asdnorm_index *small = build(ASDNORM_DISTANCE_EUCLIDEAN, 12, 384, 3, ASDNORM_DENSITY_NONE, 0);
    asdnorm_index *big =
        build(ASDNORM_DISTANCE_EUCLIDEAN, 8192, 384, 4, ASDNORM_DENSITY_NONE, 0);
    size_t old_len, new_len;
    uint8_t *old_bytes = serialize(small, &old_len), *new_bytes = serialize(big, &new_len);
    char dir[PATH_MAX - 64], path[PATH_MAX + 64], other[PATH_MAX + NAME_MAX + 8];
    char left[64][NAME_MAX + 1];
    fresh_dir(dir, sizeof dir, "kill");
    snprintf(path, sizeof path, "%s/index.asdx", dir);

    /* Without O_TMPFILE in this directory's file system (or without /proc)
     * the library falls back to the named file, and so does the promise. */
    if (!no_tmpfile) {
        int fd = -1;
#ifdef O_TMPFILE
        if (access("/proc/self/fd", X_OK) == 0)
            fd = open(dir, O_TMPFILE | O_WRONLY, 0600);
#endif
        if (fd >= 0) {
            close(fd);
        } else {
            print_message("no O_TMPFILE here: the named-file promise applies\n");
            no_tmpfile = true;
        }
    }

    /* How long one save takes here, to spread the kills over it. */
    asdnorm__io_no_tmpfile = no_tmpfile;
    double t0 = now_seconds();
    assert_int_equal(asdnorm_index_save(big, path), ASDNORM_OK);
    const double took = now_seconds() - t0;
    asdnorm__io_no_tmpfile = false;

    uint64_t seed = 77 + no_tmpfile;
    int kept_old = 0, got_new = 0, partial_left = 0, complete_left = 0;
    for (int it = 0; it < KILLS; it++) {
        assert_int_equal(asdnorm_index_save(small, path), ASDNORM_OK);
        fflush(stdout);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            asdnorm__io_no_tmpfile = no_tmpfile;
            alarm(CHILD_TIMEOUT);
            _exit((int)asdnorm_index_save(big, path));
        }
        const double delay = 1.2 * took * tu_uniform(&seed);
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);

        if (file_is(path, old_bytes, old_len))
            kept_old++;
        else if (file_is(path, new_bytes, new_len))
            got_new++;
        else
            fail_msg("kill %d: the target is neither the old nor the new index", it);
        size_t n = other_entries(dir, "index.asdx", left, 64);
        assert_true(n <= 64);
        for (size_t i = 0; i < n; i++) {
            if (!is_temp_name(left[i]))
                fail_msg("kill %d: a stray file '%s'", it, left[i]);
            snprintf(other, sizeof other, "%s/%s", dir, left[i]);
            const int complete = file_is(other, new_bytes, new_len);
            if (!no_tmpfile && !complete)
                fail_msg("kill %d: O_TMPFILE save left a partial file '%s'", it, left[i]);
            complete ? complete_left++ : partial_left++;
            assert_int_equal(unlink(other), 0); /* the cleanup rule */
        }
    }
    print_message("%s: %d kills over %.0f ms saves: target old %d, new %d; leftovers: %d partial, "
                  "%d complete\n",
                  no_tmpfile ? "named temporary file" : "O_TMPFILE", KILLS, 1e3 * took, kept_old,
                  got_new, partial_left, complete_left);
    free(old_bytes);
    free(new_bytes);
    asdnorm_index_free(small);
    asdnorm_index_free(big);
}

static void killed_saves(void **state)
{
    (void)state;
    kill_saves(false);
    kill_saves(true);
}

/* ---- loading from special files and streams -------------------------------------- */

/* Load path in a child with a timeout; its exit code is the status, and 100
 * more when the index loaded but differs from `want`. */
static int load_in_child(const char *path, const uint8_t *want, size_t want_len, rlim_t as_limit)
{
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(CHILD_TIMEOUT);
        if (as_limit) {
            struct rlimit lim = {as_limit, as_limit};
            if (setrlimit(RLIMIT_AS, &lim) != 0)
                _exit(99);
        }
        asdnorm_index *ix = NULL;
        asdnorm_status st = asdnorm_index_load(path, &ix);
        if (st == ASDNORM_OK && want) {
            size_t len = 0;
            uint8_t *b = malloc(want_len);
            if (!b || asdnorm_index_serialize(ix, b, want_len, &len) != ASDNORM_OK ||
                len != want_len || memcmp(b, want, len) != 0)
                _exit(100);
        }
        _exit((int)st);
    }
    return child_status(pid, path);
}

/* A writer child: opens the FIFO, writes `len` bytes of `head`, then, with
 * endless set, zeros until the reader goes away (SIGPIPE ends it). */
static pid_t fifo_writer(const char *fifo, const uint8_t *head, size_t len, bool endless)
{
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(CHILD_TIMEOUT);
        int fd = open(fifo, O_WRONLY);
        if (fd < 0)
            _exit(1);
        for (size_t off = 0; off < len;) {
            ssize_t w = write(fd, head + off, len - off);
            if (w <= 0)
                _exit(0);
            off += (size_t)w;
        }
        static const uint8_t zeros[1 << 16];
        while (endless)
            if (write(fd, zeros, sizeof zeros) < 0)
                _exit(0);
        close(fd);
        _exit(0);
    }
    return pid;
}

static void stop_writer(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void endless_inputs(void **state)
{
    (void)state;
    asdnorm_index *ix = build(ASDNORM_DISTANCE_COSINE, 40, 24, 5, ASDNORM_DENSITY_KNN, 3);
    size_t len;
    uint8_t *bytes = serialize(ix, &len);
    char dir[PATH_MAX - 64], fifo[PATH_MAX + 16];
    fresh_dir(dir, sizeof dir, "streams");
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);

    /* Regular files: reading the header first changes no status. Truncations
     * (at every offset of the header and the first section header, then a
     * sample, then the last bytes), extensions and every one-byte change of
     * the header load from a file with the status asdnorm_index_load_buffer()
     * gives their bytes; only the intact file loads. */
    char file[PATH_MAX + 16];
    snprintf(file, sizeof file, "%s/cut.asdx", dir);
    uint8_t *variant = calloc(len + 4, 1);
    for (size_t v = 0; v < len + 4 + 64; v++) {
        size_t n = v < len + 4 ? v : len;
        if (v > 96 && v < len - 8 && v % 61 != 0)
            continue;
        memcpy(variant, bytes, len);
        if (v >= len + 4)
            variant[v - len - 4] ^= 0x5a;
        unlink(file); /* a new file each time: rewriting one in place flushes it on ext4 */
        FILE *f = fopen(file, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(variant, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
        asdnorm_index *a = NULL, *c = NULL;
        asdnorm_status from_buf = asdnorm_index_load_buffer(variant, n, &a);
        asdnorm_status from_file = asdnorm_index_load(file, &c);
        if (from_buf != from_file)
            fail_msg("variant %zu (%zu bytes): load_buffer %d, load %d", v, n, from_buf,
                     from_file);
        assert_true((from_file == ASDNORM_OK) == (v == len));
        asdnorm_index_free(a);
        asdnorm_index_free(c);
    }
    free(variant);

    /* /dev/zero: the magic is wrong after 8 bytes. */
    double t0 = now_seconds();
    assert_int_equal(load_in_child("/dev/zero", NULL, 0, 0), ASDNORM_E_CORRUPT);
    print_message("/dev/zero refused in %.3f s\n", now_seconds() - t0);

    /* An endless stream of zeros through a FIFO. */
    pid_t w = fifo_writer(fifo, NULL, 0, true);
    assert_int_equal(load_in_child(fifo, NULL, 0, 0), ASDNORM_E_CORRUPT);
    stop_writer(w);

    /* A whole index through a FIFO loads, and is the index. */
    w = fifo_writer(fifo, bytes, len, false);
    assert_int_equal(load_in_child(fifo, bytes, len, 0), ASDNORM_OK);
    stop_writer(w);

    /* A whole index followed by an endless stream: refused after one byte
     * past its declared end. */
    w = fifo_writer(fifo, bytes, len, true);
    assert_int_equal(load_in_child(fifo, NULL, 0, 0), ASDNORM_E_CORRUPT);
    stop_writer(w);

    /* A stream that ends early. */
    w = fifo_writer(fifo, bytes, len / 2, false);
    assert_int_equal(load_in_child(fifo, NULL, 0, 0), ASDNORM_E_CORRUPT);
    stop_writer(w);

    /* A header whose file size disagrees with its M and D: refused after
     * the header, whatever follows. */
    uint8_t head[64];
    memcpy(head, bytes, sizeof head);
    head[16] ^= 8; /* file size ± 8 */
    w = fifo_writer(fifo, head, sizeof head, true);
    assert_int_equal(load_in_child(fifo, NULL, 0, 0), ASDNORM_E_CORRUPT);
    stop_writer(w);

    /* A consistent header declaring 2⁴⁰ bytes (M = 2²⁸, D = 2¹⁰, mse), then
     * zeros forever: read up to what it declares, so under a memory limit
     * it ends with ASDNORM_E_NOMEM (docs/reliability.md). The limit: this
     * process's address space now plus 256 MB. */
    memset(head, 0, sizeof head);
    memcpy(head, "\x89" "ASDNIDX", 8);
    head[8] = 1;
    head[12] = 64;
    const uint64_t m = (uint64_t)1 << 28, dim = (uint64_t)1 << 10;
    const uint64_t size = 64 + (16 + 4 * m * dim) + (16 + 4 * m) + 16 + (16 + m) + (16 + 8 * m) + 8;
    for (int i = 0; i < 8; i++) {
        head[16 + i] = (uint8_t)(size >> (8 * i));
        head[32 + i] = (uint8_t)(dim >> (8 * i));
        head[40 + i] = (uint8_t)(m >> (8 * i));
    }
    head[28] = 2;
    head[52] = 5;
    /* valgrind keeps the program's memory itself and does not apply the
     * limit to it: there the case is skipped. */
    const char *preload = getenv("LD_PRELOAD");
    const bool valgrind = preload && strstr(preload, "vgpreload");
    FILE *statm = valgrind ? NULL : fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (valgrind)
        print_message("the memory-limit case is skipped under valgrind\n");
    if (statm && fscanf(statm, "%lu", &pages) == 1) {
        const rlim_t limit = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)256 << 20);
        w = fifo_writer(fifo, head, sizeof head, true);
        t0 = now_seconds();
        assert_int_equal(load_in_child(fifo, NULL, 0, limit), ASDNORM_E_NOMEM);
        print_message("a stream declaring 2^40 bytes: ASDNORM_E_NOMEM under the limit in %.2f s\n",
                      now_seconds() - t0);
        stop_writer(w);
    }
    if (statm)
        fclose(statm);

    free(bytes);
    asdnorm_index_free(ix);
}

static int setup(void **state)
{
    (void)state;
    tf_make_tmpdir(g_dir, sizeof g_dir, "files");
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
        cmocka_unit_test(long_names),
        cmocka_unit_test(special_targets),
        cmocka_unit_test(killed_saves),
        cmocka_unit_test(endless_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
