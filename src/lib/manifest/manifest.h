/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Our layer manifest, version 1 (docs/manifest.md): a list of files, directories and symbolic links; each
 * regular file's data is a separate blob named by its SHA-256. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/macro.h"
#include "digest/digest.h"

#define MANIFEST_VERSION 1
#define MANIFEST_MAX_ENTRIES 1000000
#define MANIFEST_MAX_PATH 4096

typedef enum ManifestEntryType {
        MANIFEST_FILE = 1,
        MANIFEST_DIRECTORY = 2,
        MANIFEST_SYMLINK = 3,
        _MANIFEST_ENTRY_TYPE_INVALID = -EINVAL,
} ManifestEntryType;

typedef struct ManifestEntry {
        ManifestEntryType type;
        mode_t mode;    /* permission bits, 07777 at most */
        uint64_t size;  /* regular files */
        int64_t mtime;  /* seconds */
        char *path;     /* relative, normalised: "usr/bin/foo" */
        Digest digest;  /* regular files */
        char *target;   /* symbolic links */
} ManifestEntry;

typedef struct Manifest {
        ManifestEntry *entries;
        size_t n_entries;
} Manifest;

int manifest_new(Manifest **ret);
Manifest *manifest_free(Manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manifest *, manifest_free);

/* Adds a copy of e.  The path may be given absolute ("/usr/bin/foo") or relative; it is normalised
 * (duplicate slashes removed) and must not contain "." or ".." components (-EINVAL). */
int manifest_add(Manifest *m, const ManifestEntry *e);

/* Sorts the entries by path and writes the binary form; -EEXIST if a path was added twice. */
int manifest_serialize(Manifest *m, char **ret, size_t *ret_size);
/* -EBADMSG for anything malformed (see docs/manifest.md). */
int manifest_parse(const void *data, size_t size, Manifest **ret);

/* Normalise a path for a manifest: strips leading and duplicate slashes and a trailing slash; -EINVAL for an
 * empty result, "." or ".." components, a NUL, or more than MANIFEST_MAX_PATH bytes. */
int manifest_normalize_path(const char *path, char **ret);
