/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Layers on the client: each layer spec becomes a layer the worker can use, either a tar file or a manifest
 * (docs/manifest.md) written into the manifest directory, with the list of blobs (file contents) it needs.
 *
 * How each kind of spec is built:
 *   tar      the file, relative to the project directory; it must be a regular file.
 *   glob     every regular file and symbolic link under the project directory whose relative path matches
 *            (layer/layer-glob.h has the syntax).  Directories are walked, never added; symbolic links are
 *            never walked into (with follow_symlinks, one to a directory gives an empty directory); other
 *            file types are skipped.
 *   paths    each path (relative to the project directory, or absolute): a file, a symbolic link (as a
 *            link), or a directory (just an empty directory, not its contents).
 *   stubs    empty files (mode 0644), or empty directories (mode 0755) for paths ending in '/', after brace
 *            expansion ("/dev/{null,zero}"); a backslash escapes the next character.
 *   symlinks symbolic links.
 *   shared-library-dependencies
 *            the libraries and program interpreters the ELF binaries need (layer/layer-ldso.h), at the paths
 *            the loader opens them by, symbolic links followed; not the binaries.
 *
 * For glob, paths and shared-library-dependencies, the prefix options then make the path in the layer, in
 * this order: follow_symlinks (store what a symbolic link points to rather than the link), canonicalize (the
 * absolute host path, its directories resolved; the last component is kept so that a link or a library
 * keeps the name it is looked up by), strip_prefix (remove leading whole components if they match;
 * otherwise leave the path alone), prepend_prefix.  Paths in the layer are absolute: a relative one is
 * taken relative to "/".  "." and ".." components are resolved lexically.  Parent directories need no
 * entry: the worker creates them.
 *
 * Every path in a spec (tar, glob, paths, stubs, both sides of symlinks, binaries, strip_prefix and
 * prepend_prefix) may hold template variables (layer/layer-template.h).
 *
 * Manifest entries take mode and mtime (seconds) from the file system; stubs and symlinks have mtime 0.  The
 * same inputs always give the same manifest bytes, so the same digest. */

#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"
#include "digest/digest.h"
#include "layer/layer-digest-cache.h"
#include "manifest/manifest.h"
#include "spec/spec.h"

#define LAYER_MAX_ENTRIES MANIFEST_MAX_ENTRIES
#define LAYER_MAX_DEPTH 256 /* directory levels a glob walks down */

typedef enum BuiltLayerKind {
        BUILT_LAYER_TAR,
        BUILT_LAYER_MANIFEST,
        _BUILT_LAYER_KIND_MAX,
        _BUILT_LAYER_KIND_INVALID = -EINVAL,
} BuiltLayerKind;

const char *built_layer_kind_to_string(BuiltLayerKind k);
BuiltLayerKind built_layer_kind_from_string(const char *s);

/* The contents of one or more regular files of a manifest. */
typedef struct LayerBlob {
        Digest digest;
        uint64_t size;
        /* Absolute path on this machine to read the data from.  For an empty stub file with no empty file of
         * the project to point at, this is "/dev/null", which reads as empty too. */
        char *path;
} LayerBlob;

typedef struct BuiltLayer {
        BuiltLayerKind kind;
        Digest digest;    /* of the tar file, or of the manifest */
        char *path;       /* absolute: the tar file, or the manifest "<manifest_dir>/<hex>.manifest" */
        LayerBlob *blobs; /* manifests: one per distinct content, sorted by digest */
        size_t n_blobs;
} BuiltLayer;

BuiltLayer *built_layer_free(BuiltLayer *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(BuiltLayer *, built_layer_free);

/* Builds one layer.  project_dir: relative paths in the spec are relative to it.  vars: template
 * variables, a strv of "name=value" (may be NULL).  cache: file digests, shared by all layers of a run.
 * manifest_dir: where manifests are written (created if missing; each written atomically under a temporary
 * name then renamed, and not rewritten if already there).  LD_LIBRARY_PATH and /etc/ld.so.cache are this
 * process's.
 *
 * Errors come with *reterr_message (if reterr_message is not NULL) naming the path or variable: -ENOENT for
 * a missing file, library or variable, -EINVAL for a bad pattern or path, -E2BIG past LAYER_MAX_ENTRIES or
 * another limit, -EEXIST for one path given two different contents, and the file system's errors. */
int layer_build(const LayerSpec *spec, const char *project_dir, char * const *vars, DigestCache *cache,
                const char *manifest_dir, BuiltLayer **ret, char **reterr_message);
