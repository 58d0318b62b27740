/* SPDX-License-Identifier: MIT */
/* A growing text buffer for the files the CLI writes (CSV, SVG). An allocation
 * failure is remembered and reported once, at the end. */
#ifndef ASDNORM_TOOLS_STRBUF_H
#define ASDNORM_TOOLS_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *p;     /* NUL-terminated text, or NULL while empty */
    size_t len;
    size_t cap;
    int failed;  /* an append ran out of memory (or overflowed) */
} strbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void sb_printf(strbuf *s, const char *fmt, ...);
/* Append text with &, <, >, " and ' escaped for XML. */
void sb_xml(strbuf *s, const char *text);
void sb_free(strbuf *s);

#endif /* ASDNORM_TOOLS_STRBUF_H */
