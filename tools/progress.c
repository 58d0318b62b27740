/* SPDX-License-Identifier: MIT */
/* A progress bar for long library calls: percentage, elapsed time and ETA on
 * stderr, fed by the library's progress callback (asdnorm_index_set_progress,
 * asdnorm_scorer_set_progress), only when stderr is a terminal and --quiet was
 * not given. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_quiet;

#define BAR_WIDTH 24
/* Quick work shows nothing: the bar appears after SHOW_AFTER seconds and is
 * redrawn at most every REDRAW seconds. */
#define SHOW_AFTER 0.5
#define REDRAW     0.1

struct progress {
    struct timespec start;
    double drawn; /* when the bar was last drawn (seconds since start) */
    int shown;    /* the bar has been drawn */
    char message[160];
};

/* Seconds since t0 on the monotonic clock. */
static double elapsed_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) * 1e-9;
}

progress *progress_begin(const char *message)
{
    if (cli_quiet || !isatty(STDERR_FILENO))
        return NULL;
    progress *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL; /* no bar, the work goes on */
    snprintf(p->message, sizeof p->message, "%s", message);
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    return p;
}

/* "12 s", "3 min 05 s", "1 h 02 min". */
static void format_seconds(double s, char *buf, size_t cap)
{
    const long t = (long)(s + 0.5);
    if (t < 60)
        snprintf(buf, cap, "%ld s", t);
    else if (t < 3600)
        snprintf(buf, cap, "%ld min %02ld s", t / 60, t % 60);
    else
        snprintf(buf, cap, "%ld h %02ld min", t / 3600, t / 60 % 60);
}

int progress_report(double fraction, void *user)
{
    progress *p = user;
    if (p == NULL)
        return 0;
    const double t = elapsed_since(&p->start);
    if (t < SHOW_AFTER || (p->shown && t - p->drawn < REDRAW) || fraction >= 1.0)
        return 0;
    char bar[BAR_WIDTH + 1], eta[32] = "", took[32];
    const int filled = (int)(fraction * BAR_WIDTH);
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    if (fraction > 0.01) {
        format_seconds(t * (1.0 - fraction) / fraction, eta, sizeof eta);
    }
    format_seconds(t, took, sizeof took);
    /* \033[K clears what a longer line before left. */
    fprintf(stderr, "\rasdnorm: %s [%s] %3d%% %s%s%s\033[K", p->message, bar,
            (int)(fraction * 100.0), took, eta[0] ? ", ETA " : "", eta);
    fflush(stderr);
    p->shown = 1;
    p->drawn = t;
    return 0;
}

void progress_end(progress *p)
{
    if (p == NULL)
        return;
    if (p->shown) {
        char took[32];
        format_seconds(elapsed_since(&p->start), took, sizeof took);
        fprintf(stderr, "\rasdnorm: %s done in %s\033[K\n", p->message, took);
    }
    free(p);
}
