/* SPDX-License-Identifier: MIT */
#include "strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int reserve(strbuf *s, size_t extra)
{
    if (s->failed)
        return -1;
    if (extra > SIZE_MAX - s->len - 1) {
        s->failed = 1;
        return -1;
    }
    size_t need = s->len + extra + 1;
    if (need <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            s->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(s->p, cap);
    if (p == NULL) {
        s->failed = 1;
        return -1;
    }
    s->p = p;
    s->cap = cap;
    return 0;
}

void sb_printf(strbuf *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        s->failed = 1;
        return;
    }
    if (reserve(s, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

void sb_xml(strbuf *s, const char *text)
{
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '&': sb_printf(s, "&amp;"); break;
        case '<': sb_printf(s, "&lt;"); break;
        case '>': sb_printf(s, "&gt;"); break;
        case '"': sb_printf(s, "&quot;"); break;
        case '\'': sb_printf(s, "&apos;"); break;
        default:
            /* Control characters are not allowed in XML 1.0 text. */
            if ((unsigned char)*c < 0x20 && *c != '\t' && *c != '\n')
                sb_printf(s, "?");
            else
                sb_printf(s, "%c", *c);
        }
    }
}

void sb_free(strbuf *s)
{
    free(s->p);
    s->p = NULL;
    s->len = s->cap = 0;
    s->failed = 0;
}
