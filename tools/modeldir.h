/* SPDX-License-Identifier: MIT */
/* Model directories of per-section indexes and their manifest (modeldir.c). */
#ifndef ASDNORM_TOOLS_MODELDIR_H
#define ASDNORM_TOOLS_MODELDIR_H

#include <stddef.h>
#include <stdint.h>

#include "refset.h"

#define MANIFEST_NAME "manifest"

/* DIR/section_<id>.asdx into buf. */
void section_file(const char *dir, int64_t id, char *buf, size_t cap);

/* 1 and *id when name is "section_<id>.asdx", else 0. */
int section_file_id(const char *name, long long *id);

/* Write DIR/manifest listing the sections of g (atomically). -1 after a message. */
int manifest_write(const char *dir, const section_group *g, size_t ng);

/* Remove every DIR/section_<id>.asdx whose id is not in g. -1 after a message. */
int remove_stale_sections(const char *dir, const section_group *g, size_t ng);

/* 1 when DIR/manifest lists section id, 0 when it does not, -1 when there is no
 * manifest (a directory built before manifests), -2 when it is not a manifest. */
int manifest_lists(const char *dir, int64_t id);

/* Load PATH (a file), or DIR/section_<id>.asdx when sectioned (refusing one
 * the manifest does not list). -1 after a message. */
int load_section_index(const char *path, int sectioned, int64_t id, asdnorm_index **ix);
/* The ids of DIR's section files that its manifest lists, ascending (all of
 * them without a manifest). -1 after a message (none at all is an error). */
int list_sections(const char *dir, int64_t **ids, size_t *n);
#endif /* ASDNORM_TOOLS_MODELDIR_H */
