/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "layer/layer-glob.h"
#include "layer/layer-ldso.h"
#include "layer/layer-template.h"
#include "layer/layer-util.h"
#include "layer/layer.h"

#define LD_SO_CACHE "/etc/ld.so.cache"

static const char *const built_layer_kind_table[_BUILT_LAYER_KIND_MAX] = {
        [BUILT_LAYER_TAR] = "tar",
        [BUILT_LAYER_MANIFEST] = "manifest",
};

const char *built_layer_kind_to_string(BuiltLayerKind k) {
        if (k < 0 || k >= _BUILT_LAYER_KIND_MAX)
                return NULL;
        return built_layer_kind_table[k];
}

BuiltLayerKind built_layer_kind_from_string(const char *s) {
        for (int k = 0; k < _BUILT_LAYER_KIND_MAX; k++)
                if (streq(built_layer_kind_table[k], s))
                        return k;
        return _BUILT_LAYER_KIND_INVALID;
}

BuiltLayer *built_layer_free(BuiltLayer *l) {
        if (!l)
                return NULL;
        free(l->path);
        for (size_t i = 0; i < l->n_blobs; i++)
                free(l->blobs[i].path);
        free(l->blobs);
        free(l);
        return NULL;
}

typedef struct LayerEntry {
        ManifestEntry m; /* m.path is normalised (relative) */
        char *host_path; /* regular files: where the data is; NULL for stubs */
} LayerEntry;

typedef struct Builder {
        const LayerSpec *spec;
        char *project_dir; /* absolute */
        char * const *vars;
        DigestCache *cache;
        bool follow_symlinks, canonicalize;
        char *strip_prefix, *prepend_prefix; /* expanded and simplified; NULL = none */
        LayerEntry *entries;
        size_t n_entries, n_allocated;
        char **reterr_message;
} Builder;

static void layer_entry_done(LayerEntry *e) {
        free(e->m.path);
        free(e->m.target);
        free(e->host_path);
}

static void builder_done(Builder *b) {
        for (size_t i = 0; i < b->n_entries; i++)
                layer_entry_done(&b->entries[i]);
        free(b->entries);
        free(b->project_dir);
        free(b->strip_prefix);
        free(b->prepend_prefix);
}

/* Takes the strings of e, also on failure. */
static int builder_push(Builder *b, LayerEntry *e) {
        if (b->n_entries >= LAYER_MAX_ENTRIES) {
                layer_entry_done(e);
                return layer_error(b->reterr_message, E2BIG, "Layer has more than %d entries",
                                   LAYER_MAX_ENTRIES);
        }
        if (b->n_entries == b->n_allocated) {
                size_t n = MAX(b->n_allocated * 2, (size_t) 64);
                LayerEntry *a = reallocarray(b->entries, n, sizeof(LayerEntry));
                if (!a) {
                        layer_entry_done(e);
                        return -ENOMEM;
                }
                b->entries = a;
                b->n_allocated = n;
        }
        b->entries[b->n_entries++] = *e;
        *e = (LayerEntry) {};
        return 0;
}

/* A path in the layer: "." and ".." resolved lexically, then in manifest form (relative, normalised). */
static int layer_path_normalize(Builder *b, const char *path, char **ret) {
        _cleanup_free_ char *s = NULL, *abs = strjoin("/", path);
        int r;

        if (!abs)
                return -ENOMEM;
        r = layer_path_simplify(abs, &s);
        if (r < 0)
                return r;
        r = manifest_normalize_path(s, ret);
        if (r == -EINVAL)
                return layer_error(b->reterr_message, r,
                                   "Path '%s' cannot be in a layer (it is the root or too long)", path);
        return r;
}

static int template(Builder *b, const char *s, bool glob, char **ret) {
        return layer_template_expand(s, b->vars, glob, ret, b->reterr_message);
}

/* A path of the spec: its templates expanded (*ret_path, if not NULL), and as a path on this machine,
 * relative ones being relative to the project directory (*ret_host). */
static int expand_spec_path(Builder *b, const char *s, char **ret_path, char **ret_host) {
        _cleanup_free_ char *path = NULL, *joined = NULL;
        int r;

        r = template(b, s, /* glob= */ false, &path);
        if (r < 0)
                return r;
        joined = path[0] == '/' ? strdup(path) : layer_path_join(b->project_dir, path);
        if (!joined)
                return -ENOMEM;
        r = layer_path_simplify(joined, ret_host);
        if (r < 0)
                return r;
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

/* The canonical form of an absolute host path: its directory resolved, its last component kept. */
static int canonicalize(Builder *b, const char *host_path, char **ret) {
        const char *slash = strrchr(host_path, '/');
        const char *base = slash + 1;
        _cleanup_free_ char *dir = NULL, *real = NULL;

        if (isempty(base) || streq(base, ".") || streq(base, "..")) {
                real = realpath(host_path, NULL);
                if (!real)
                        return layer_error(b->reterr_message, errno, "Failed to canonicalize '%s': %m",
                                           host_path);
                *ret = TAKE_PTR(real);
                return 0;
        }
        dir = strndup(host_path, (size_t) MAX(slash - host_path, 1));
        if (!dir)
                return -ENOMEM;
        real = realpath(dir, NULL);
        if (!real)
                return layer_error(b->reterr_message, errno, "Failed to canonicalize '%s': %m", host_path);
        *ret = layer_path_join(real, base);
        return *ret ? 0 : -ENOMEM;
}

/* Applies canonicalize, strip_prefix and prepend_prefix (follow_symlinks is the caller's) to spec_path, the
 * path as the spec gives it, whose file is at host_path; the result is in manifest form. */
static int apply_prefix_options(Builder *b, const char *host_path, const char *spec_path, char **ret) {
        _cleanup_free_ char *p = NULL, *joined = NULL;
        int r;

        if (b->canonicalize)
                r = canonicalize(b, host_path, &p);
        else
                r = layer_path_simplify(spec_path, &p);
        if (r < 0)
                return r;

        if (b->strip_prefix) {
                const char *rest = startswith(p, b->strip_prefix);
                size_t l = strlen(b->strip_prefix);
                /* Whole components only: "a" strips "a/b" but not "ab". */
                if (rest && (*rest == '/' || *rest == 0 || (l > 0 && b->strip_prefix[l - 1] == '/'))) {
                        char *s = strdup(rest);
                        if (!s)
                                return -ENOMEM;
                        free(p);
                        p = s;
                }
        }
        if (b->prepend_prefix) {
                joined = layer_path_join(b->prepend_prefix, p);
                if (!joined)
                        return -ENOMEM;
                free(p);
                p = TAKE_PTR(joined);
        }
        return layer_path_normalize(b, p, ret);
}

static int readlink_malloc(const char *path, char **ret) {
        _cleanup_free_ char *buf = malloc(PATH_MAX + 1);
        if (!buf)
                return -ENOMEM;
        ssize_t n = readlink(path, buf, PATH_MAX + 1);
        if (n < 0)
                return -errno;
        if (n > PATH_MAX)
                return -ENAMETOOLONG;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Adds the file at host_path (a regular file, directory or symbolic link) as spec_path after the prefix
 * options. */
static int add_host_path(Builder *b, const char *host_path, const char *spec_path, bool follow) {
        LayerEntry e = {};
        struct stat st;
        int r;

        if ((follow ? stat(host_path, &st) : lstat(host_path, &st)) < 0) {
                if (errno == ENOENT)
                        return layer_error(b->reterr_message, errno, "'%s' does not exist%s", host_path,
                                           follow ? " (or is a symbolic link to nothing)" : "");
                return layer_error(b->reterr_message, errno, "Failed to stat '%s': %m", host_path);
        }
        r = apply_prefix_options(b, host_path, spec_path, &e.m.path);
        if (r < 0)
                return r;
        e.m.mode = st.st_mode & 07777;
        e.m.mtime = st.st_mtim.tv_sec;

        if (S_ISREG(st.st_mode)) {
                e.m.type = MANIFEST_FILE;
                r = digest_cache_get(b->cache, host_path, &st, &e.m.digest);
                if (r >= 0) {
                        e.m.size = (uint64_t) st.st_size;
                        e.m.mode = st.st_mode & 07777;
                        e.m.mtime = st.st_mtim.tv_sec;
                        e.host_path = strdup(host_path);
                        if (!e.host_path)
                                r = -ENOMEM;
                } else if (r == -EBUSY)
                        r = layer_error(b->reterr_message, r, "'%s' kept changing while it was hashed",
                                        host_path);
                else
                        r = layer_error(b->reterr_message, r, "Failed to hash '%s': %m", host_path);
        } else if (S_ISDIR(st.st_mode))
                e.m.type = MANIFEST_DIRECTORY;
        else if (S_ISLNK(st.st_mode)) {
                e.m.type = MANIFEST_SYMLINK;
                e.m.mode = 0777;
                r = readlink_malloc(host_path, &e.m.target);
                if (r < 0)
                        r = layer_error(b->reterr_message, r, "Failed to read symbolic link '%s': %m",
                                        host_path);
        } else
                r = layer_error(b->reterr_message, EINVAL,
                                "'%s' is not a regular file, directory or symbolic link", host_path);
        if (r < 0) {
                layer_entry_done(&e);
                return r;
        }
        return builder_push(b, &e);
}

/* ---- glob ---- */

typedef struct Walk {
        Builder *b;
        const PathGlob *glob;
        const char *pattern;
        TextBuf rel; /* the relative path of the current directory, "" at the top */
} Walk;

static int walk_dir(Walk *w, int dir_fd, const PathGlobState *state, unsigned depth);

/* After r from adding or opening name: 0 instead when r is ENOENT and name is no longer there, with the
 * message dropped.  A glob takes what is there as the walk goes; an entry that vanished between the listing
 * of its directory and its turn (an editor's swap file, a test's scratch file) is simply not in the layer. */
static int walk_skip_vanished(Walk *w, int dir_fd, const char *name, int r) {
        if (r != -ENOENT || faccessat(dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) >= 0 || errno != ENOENT)
                return r;
        if (w->b->reterr_message)
                *w->b->reterr_message = mfree(*w->b->reterr_message);
        return 0;
}

/* Whether the directory holds a CACHEDIR.TAG that starts with the signature of the Cache Directory Tagging
 * Specification (https://bford.info/cachedir/). */
static bool is_cache_directory(int fd) {
        static const char signature[] = "Signature: 8a477f597d28d172789f06886806bc55";
        char buf[sizeof(signature) - 1];
        _cleanup_close_ int tag = openat(fd, "CACHEDIR.TAG", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);

        return tag >= 0 && read(tag, buf, sizeof(buf)) == (ssize_t) sizeof(buf) &&
                memcmp(buf, signature, sizeof(buf)) == 0;
}

static int walk_entry(Walk *w, int dir_fd, const char *name, unsigned char d_type,
                      const PathGlobState *state, unsigned depth) {
        _cleanup_(path_glob_state_done) PathGlobState next = {};
        size_t saved = w->rel.len;
        int r;

        r = path_glob_state_step(w->glob, state, name, &next);
        if (r < 0)
                return r;
        bool matches = path_glob_state_matches(w->glob, &next);
        bool deeper = path_glob_state_can_continue(w->glob, &next);
        if (!matches && !deeper)
                return 0;

        if (d_type == DT_UNKNOWN) {
                struct stat st;
                if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return walk_skip_vanished(w, dir_fd, name,
                                                  layer_error(w->b->reterr_message, errno,
                                                              "Failed to stat '%s/%s': %m",
                                                              w->rel.data ?: ".", name));
                d_type = S_ISDIR(st.st_mode) ? DT_DIR :
                         S_ISREG(st.st_mode) ? DT_REG :
                         S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
        }
        if (!IN_SET(d_type, DT_DIR, DT_REG, DT_LNK))
                return 0; /* sockets, devices, fifos: nothing a layer can hold */
        if (d_type == DT_DIR ? !deeper : !matches)
                return 0;

        if (w->rel.len > 0)
                textbuf_append_char(&w->rel, '/');
        textbuf_append(&w->rel, name);
        if (w->rel.oom)
                return -ENOMEM;

        if (d_type == DT_DIR) {
                _cleanup_close_ int fd = openat(dir_fd, name,
                                                O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        r = walk_skip_vanished(w, dir_fd, name,
                                               layer_error(w->b->reterr_message, errno,
                                                           "Failed to open directory '%s': %m", w->rel.data));
                else if (w->b->spec->skip_cache_directories && is_cache_directory(fd))
                        r = 0;
                else
                        r = walk_dir(w, TAKE_FD(fd), &next, depth + 1);
        } else {
                _cleanup_free_ char *host = layer_path_join(w->b->project_dir, w->rel.data);
                r = host ? add_host_path(w->b, host, w->rel.data, w->b->follow_symlinks) : -ENOMEM;
                r = walk_skip_vanished(w, dir_fd, name, r);
        }
        w->rel.len = saved;
        if (w->rel.data)
                w->rel.data[saved] = 0;
        return r;
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* Takes dir_fd. */
static int walk_dir(Walk *w, int dir_fd, const PathGlobState *state, unsigned depth) {
        _cleanup_(closedirp) DIR *d = NULL;
        int r;

        if (depth > LAYER_MAX_DEPTH) {
                safe_close(dir_fd);
                return layer_error(w->b->reterr_message, ELOOP,
                                   "Glob '%s': '%s' is more than %d directories deep",
                                   w->pattern, w->rel.data, LAYER_MAX_DEPTH);
        }
        d = fdopendir(dir_fd);
        if (!d) {
                r = -errno;
                safe_close(dir_fd);
                return layer_error(w->b->reterr_message, r, "Failed to read directory '%s': %m",
                                   w->rel.len > 0 ? w->rel.data : w->b->project_dir);
        }
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return layer_error(w->b->reterr_message, errno,
                                                   "Failed to read directory '%s': %m",
                                                   w->rel.len > 0 ? w->rel.data : w->b->project_dir);
                        return 0;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = walk_entry(w, dirfd(d), de->d_name, de->d_type, state, depth);
                if (r < 0)
                        return r;
        }
}

static int build_glob(Builder *b) {
        _cleanup_(path_glob_freep) PathGlob *g = NULL;
        _cleanup_(path_glob_state_done) PathGlobState start = {};
        _cleanup_free_ char *pattern = NULL;
        int r;

        if (!b->spec->path)
                return layer_error(b->reterr_message, EINVAL, "Glob layer without a pattern");
        r = template(b, b->spec->path, /* glob= */ true, &pattern);
        if (r < 0)
                return r;
        r = path_glob_new(pattern, &g);
        if (r == -EINVAL)
                return layer_error(b->reterr_message, r, "Glob '%s' has an unbalanced brace", pattern);
        if (r == -E2BIG)
                return layer_error(b->reterr_message, r, "Glob '%s' expands to more than %d alternatives",
                                   pattern, BRACE_EXPAND_MAX);
        if (r < 0)
                return r;
        r = path_glob_state_start(g, &start);
        if (r < 0)
                return r;

        int fd = open(b->project_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return layer_error(b->reterr_message, errno, "Failed to open project directory '%s': %m",
                                   b->project_dir);
        Walk w = { .b = b, .glob = g, .pattern = pattern };
        r = walk_dir(&w, fd, &start, /* depth= */ 0);
        textbuf_done(&w.rel);
        return r;
}

/* ---- the other kinds ---- */

static int build_paths(Builder *b) {
        int r;

        STRV_FOREACH(p, b->spec->paths) {
                _cleanup_free_ char *path = NULL, *host = NULL;
                r = expand_spec_path(b, *p, &path, &host);
                if (r < 0)
                        return r;
                r = add_host_path(b, host, path, b->follow_symlinks);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void unescape(char *s) {
        char *t = s;
        for (; *s; s++) {
                if (*s == '\\' && s[1])
                        s++;
                *t++ = *s;
        }
        *t = 0;
}

static int build_stubs(Builder *b) {
        int r;

        STRV_FOREACH(p, b->spec->paths) {
                _cleanup_free_ char *path = NULL;
                _cleanup_strv_free_ char **expanded = NULL;

                r = template(b, *p, /* glob= */ false, &path);
                if (r < 0)
                        return r;
                r = brace_expand(path, /* flags= */ 0, &expanded);
                if (r == -EINVAL)
                        return layer_error(b->reterr_message, r, "Stub '%s' has an unbalanced brace", path);
                if (r == -E2BIG)
                        return layer_error(b->reterr_message, r, "Stub '%s' expands to more than %d paths",
                                           path, BRACE_EXPAND_MAX);
                if (r < 0)
                        return r;
                STRV_FOREACH(x, expanded) {
                        size_t l = strlen(*x);
                        bool dir = l > 0 && (*x)[l - 1] == '/' && !(l > 1 && (*x)[l - 2] == '\\');
                        LayerEntry e = {
                                .m.type = dir ? MANIFEST_DIRECTORY : MANIFEST_FILE,
                                .m.mode = dir ? 0755 : 0644,
                        };
                        unescape(*x);
                        if (!dir)
                                digest_buffer("", /* size= */ 0, &e.m.digest);
                        r = layer_path_normalize(b, *x, &e.m.path);
                        if (r < 0)
                                return r;
                        r = builder_push(b, &e);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int build_symlinks(Builder *b) {
        int r;

        for (size_t i = 0; i < b->spec->n_symlinks; i++) {
                const SymlinkSpec *s = &b->spec->symlinks[i];
                _cleanup_free_ char *link = NULL;
                LayerEntry e = { .m.type = MANIFEST_SYMLINK, .m.mode = 0777 };

                if (isempty(s->link) || isempty(s->target))
                        return layer_error(b->reterr_message, EINVAL,
                                           "Symbolic link with an empty link or target");
                r = template(b, s->link, /* glob= */ false, &link);
                if (r < 0)
                        return r;
                r = template(b, s->target, /* glob= */ false, &e.m.target);
                if (r < 0)
                        return r;
                r = layer_path_normalize(b, link, &e.m.path);
                if (r < 0) {
                        layer_entry_done(&e);
                        return r;
                }
                r = builder_push(b, &e);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int build_shared_library_dependencies(Builder *b) {
        _cleanup_strv_free_ char **binaries = NULL, **libraries = NULL;
        _cleanup_(ld_cache_freep) LdCache *cache = NULL;
        int r;

        STRV_FOREACH(p, b->spec->paths) {
                char *host = NULL;
                r = expand_spec_path(b, *p, /* ret_path= */ NULL, &host);
                if (r < 0)
                        return r;
                r = strv_consume(&binaries, host);
                if (r < 0)
                        return r;
        }

        /* ld.so goes on without a cache it cannot read, and so do we. */
        r = ld_cache_load(LD_SO_CACHE, &cache);
        if (r < 0)
                log_debug_errno(r, "Ignoring %s: %m", LD_SO_CACHE);
        r = ldso_resolve(binaries, b->spec->library_path ?: getenv("LD_LIBRARY_PATH"), cache, &libraries,
                         b->reterr_message);
        if (r < 0)
                return r;
        STRV_FOREACH(l, libraries) {
                _cleanup_free_ char *simple = NULL;
                r = layer_path_simplify(*l, &simple);
                if (r < 0)
                        return r;
                /* The real content, at the path the loader looks for. */
                r = add_host_path(b, *l, simple, /* follow= */ true);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int build_tar(Builder *b, BuiltLayer *l) {
        struct stat st;
        int r;

        if (!b->spec->path)
                return layer_error(b->reterr_message, EINVAL, "Tar layer without a path");
        r = expand_spec_path(b, b->spec->path, /* ret_path= */ NULL, &l->path);
        if (r < 0)
                return r;
        if (stat(l->path, &st) < 0) {
                if (errno == ENOENT)
                        return layer_error(b->reterr_message, errno, "Layer tar file '%s' does not exist",
                                           l->path);
                return layer_error(b->reterr_message, errno, "Failed to stat layer tar file '%s': %m",
                                   l->path);
        }
        if (!S_ISREG(st.st_mode))
                return layer_error(b->reterr_message, EINVAL, "Layer tar file '%s' is not a regular file",
                                   l->path);
        r = digest_cache_get(b->cache, l->path, &st, &l->digest);
        if (r == -EBUSY)
                return layer_error(b->reterr_message, r,
                                   "Layer tar file '%s' kept changing while it was hashed", l->path);
        if (r < 0)
                return layer_error(b->reterr_message, r, "Failed to hash layer tar file '%s': %m", l->path);
        l->kind = BUILT_LAYER_TAR;
        return 0;
}

/* ---- the manifest ---- */

static int entry_compare(const void *a, const void *b) {
        return strcmp(((const LayerEntry *) a)->m.path, ((const LayerEntry *) b)->m.path);
}

static bool entries_equal(const LayerEntry *a, const LayerEntry *b) {
        return a->m.type == b->m.type && a->m.mode == b->m.mode && a->m.size == b->m.size &&
                a->m.mtime == b->m.mtime && digest_equal(&a->m.digest, &b->m.digest) &&
                streq_ptr(a->m.target, b->m.target);
}

/* Sorts the entries by path; a path given twice the same way is kept once, given two ways is an error. */
static int builder_sort_unique(Builder *b) {
        size_t k = 0;

        if (b->n_entries == 0)
                return 0;
        qsort(b->entries, b->n_entries, sizeof(LayerEntry), entry_compare);
        for (size_t i = 0; i < b->n_entries; i++) {
                if (k > 0 && streq(b->entries[k - 1].m.path, b->entries[i].m.path)) {
                        if (!entries_equal(&b->entries[k - 1], &b->entries[i]))
                                return layer_error(b->reterr_message, EEXIST,
                                                   "'/%s' is in the layer twice, with different contents",
                                                   b->entries[i].m.path);
                        layer_entry_done(&b->entries[i]);
                        continue;
                }
                b->entries[k++] = b->entries[i];
        }
        b->n_entries = k;
        return 0;
}

static int blob_compare(const void *a, const void *b) {
        return memcmp(((const LayerBlob *) a)->digest.bytes, ((const LayerBlob *) b)->digest.bytes,
                      DIGEST_SIZE);
}

static int builder_blobs(Builder *b, BuiltLayer *l) {
        size_t n = 0;

        l->blobs = calloc(MAX(b->n_entries, (size_t) 1), sizeof(LayerBlob));
        if (!l->blobs)
                return -ENOMEM;
        for (size_t i = 0; i < b->n_entries; i++) {
                const LayerEntry *e = &b->entries[i];
                if (e->m.type != MANIFEST_FILE)
                        continue;
                l->blobs[n] = (LayerBlob) { .digest = e->m.digest, .size = e->m.size };
                l->blobs[n].path = strdup(e->host_path ?: "/dev/null");
                if (!l->blobs[n].path)
                        return -ENOMEM;
                n++;
        }
        l->n_blobs = n;

        /* One per content: of equal ones, a real file rather than /dev/null, else the first by path. */
        qsort(l->blobs, n, sizeof(LayerBlob), blob_compare);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (k > 0 && digest_equal(&l->blobs[k - 1].digest, &l->blobs[i].digest)) {
                        if (streq(l->blobs[k - 1].path, "/dev/null") &&
                            !streq(l->blobs[i].path, "/dev/null")) {
                                free(l->blobs[k - 1].path);
                                l->blobs[k - 1].path = TAKE_PTR(l->blobs[i].path);
                        }
                        free(l->blobs[i].path);
                        continue;
                }
                l->blobs[k++] = l->blobs[i];
        }
        l->n_blobs = k;
        return 0;
}

static bool file_has_contents(const char *path, const char *data, size_t size) {
        _cleanup_free_ char *old = NULL;
        size_t old_size;

        return read_full_file(path, size, &old, &old_size) >= 0 && old_size == size &&
                memcmp(old, data, size) == 0;
}

static int builder_write_manifest(Builder *b, const char *manifest_dir, BuiltLayer *l) {
        _cleanup_(manifest_freep) Manifest *m = NULL;
        _cleanup_free_ char *data = NULL, *dir = NULL, *name = NULL;
        char hex[DIGEST_HEX_SIZE];
        size_t size;
        int r;

        r = builder_sort_unique(b);
        if (r < 0)
                return r;
        r = manifest_new(&m);
        if (r < 0)
                return r;
        for (size_t i = 0; i < b->n_entries; i++) {
                r = manifest_add(m, &b->entries[i].m);
                if (r < 0)
                        return layer_error(b->reterr_message, r, "Failed to add '/%s' to the manifest: %m",
                                           b->entries[i].m.path);
        }
        r = manifest_serialize(m, &data, &size);
        if (r < 0)
                return layer_error(b->reterr_message, r, "Failed to serialize the manifest: %m");
        digest_buffer(data, size, &l->digest);

        r = layer_path_make_absolute(manifest_dir, &dir);
        if (r < 0)
                return r;
        digest_to_hex(&l->digest, hex);
        name = strjoin(hex, ".manifest");
        if (!name)
                return -ENOMEM;
        l->path = layer_path_join(dir, name);
        if (!l->path)
                return -ENOMEM;
        if (!file_has_contents(l->path, data, size)) {
                r = mkdir_p(dir, /* mode= */ 0755);
                if (r < 0)
                        return layer_error(b->reterr_message, r,
                                           "Failed to create manifest directory '%s': %m", dir);
                r = write_file_atomic(l->path, data, size, /* mode= */ 0644);
                if (r < 0)
                        return layer_error(b->reterr_message, r, "Failed to write manifest '%s': %m",
                                           l->path);
        }
        l->kind = BUILT_LAYER_MANIFEST;
        return builder_blobs(b, l);
}

static int builder_setup_prefix(Builder *b) {
        const PrefixOptions *p = &b->spec->prefix;
        _cleanup_free_ char *s = NULL;
        int r;

        if (!IN_SET(b->spec->kind, LAYER_GLOB, LAYER_PATHS, LAYER_SHARED_LIBRARY_DEPENDENCIES))
                return 0;
        b->follow_symlinks = p->follow_symlinks;
        b->canonicalize = p->canonicalize;
        if (!isempty(p->strip_prefix)) {
                r = template(b, p->strip_prefix, /* glob= */ false, &s);
                if (r < 0)
                        return r;
                r = layer_path_simplify(s, &b->strip_prefix);
                if (r < 0)
                        return r;
                s = mfree(s);
        }
        if (!isempty(p->prepend_prefix)) {
                r = template(b, p->prepend_prefix, /* glob= */ false, &s);
                if (r < 0)
                        return r;
                b->prepend_prefix = TAKE_PTR(s);
        }
        return 0;
}

int layer_build(const LayerSpec *spec, const char *project_dir, char * const *vars, DigestCache *cache,
                const char *manifest_dir, BuiltLayer **ret, char **reterr_message) {
        _cleanup_(built_layer_freep) BuiltLayer *l = NULL;
        _cleanup_(builder_done) Builder b = {
                .spec = spec,
                .vars = vars,
                .cache = cache,
                .reterr_message = reterr_message,
        };
        int r;

        r = layer_path_make_absolute(project_dir, &b.project_dir);
        if (r < 0)
                return r;
        l = calloc(1, sizeof(BuiltLayer));
        if (!l)
                return -ENOMEM;
        r = builder_setup_prefix(&b);
        if (r < 0)
                return r;

        switch (spec->kind) {
        case LAYER_TAR:
                r = build_tar(&b, l);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(l);
                return 0;
        case LAYER_GLOB:
                r = build_glob(&b);
                break;
        case LAYER_PATHS:
                r = build_paths(&b);
                break;
        case LAYER_STUBS:
                r = build_stubs(&b);
                break;
        case LAYER_SYMLINKS:
                r = build_symlinks(&b);
                break;
        case LAYER_SHARED_LIBRARY_DEPENDENCIES:
                r = build_shared_library_dependencies(&b);
                break;
        case _LAYER_KIND_MAX:
        case _LAYER_KIND_INVALID:
                return layer_error(reterr_message, EINVAL, "Unknown layer kind %d", (int) spec->kind);
        }
        if (r < 0)
                return r;
        r = builder_write_manifest(&b, manifest_dir, l);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}
