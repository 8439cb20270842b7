/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "layer/layer-digest-cache.h"
#include "layer/layer-glob.h"
#include "layer/layer-ldso.h"
#include "layer/layer-template.h"
#include "layer/layer-util.h"
#include "layer/layer.h"

static bool have_ldd = true;

/* ---- helpers ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -errno : 0;
}

static void rm_rf(const char *path) {
        (void) nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

static char *make_temp_dir(void) {
        char *d = strdup("/tmp/test-layer-XXXXXX");
        ASSERT_TRUE(d);
        ASSERT_TRUE(mkdtemp(d));
        return d;
}

static char *join(const char *a, const char *b) {
        char *s = layer_path_join(a, b);
        ASSERT_TRUE(s);
        return s;
}

static void write_file(const char *dir, const char *rel, const char *content) {
        _cleanup_free_ char *p = join(dir, rel), *parent = strdup(p);
        ASSERT_TRUE(parent);
        *strrchr(parent, '/') = 0;
        ASSERT_OK(mkdir_p(parent, /* mode= */ 0755));
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(loop_write(fd, content, strlen(content)));
}

/* Sets the mtime of a file an hour back (or forward), so that the digest cache may save it. */
static void set_mtime(const char *path, time_t delta) {
        struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, {} };
        ASSERT_TRUE(clock_gettime(CLOCK_REALTIME, &ts[1]) >= 0);
        ts[1].tv_sec += delta;
        ASSERT_TRUE(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) >= 0);
}

static int backdate_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (flag == FTW_F)
                set_mtime(path, -3600);
        return 0;
}

static void backdate_tree(const char *dir) {
        ASSERT_TRUE(nftw(dir, backdate_one, 64, FTW_PHYS) == 0);
}

/* The test project:
 *   src/a.c  src/b.h  src/sub/c.c  data/x.txt  empty  layer.tar
 *   link-to-a -> src/a.c    dangling -> nowhere */
static char *make_project(void) {
        char *d = make_temp_dir();
        write_file(d, "src/a.c", "int a;\n");
        write_file(d, "src/b.h", "extern int a;\n");
        write_file(d, "src/sub/c.c", "int c;\n");
        write_file(d, "data/x.txt", "x\n");
        write_file(d, "empty", "");
        write_file(d, "layer.tar", "not really a tar, but bytes to hash\n");
        _cleanup_free_ char *l = join(d, "link-to-a"), *dl = join(d, "dangling");
        ASSERT_TRUE(symlink("src/a.c", l) >= 0);
        ASSERT_TRUE(symlink("nowhere", dl) >= 0);
        backdate_tree(d);
        return d;
}

static Manifest *read_manifest(const BuiltLayer *l) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        Manifest *m = NULL;
        Digest d;

        ASSERT_EQ(l->kind, BUILT_LAYER_MANIFEST);
        ASSERT_OK(read_full_file(l->path, MANIFEST_MAX_ENTRIES * 64UL, &data, &size));
        digest_buffer(data, size, &d);
        ASSERT_TRUE(digest_equal(&d, &l->digest));
        ASSERT_OK(manifest_parse(data, size, &m));
        return m;
}

static const ManifestEntry *find_entry(const Manifest *m, const char *path) {
        for (size_t i = 0; i < m->n_entries; i++)
                if (streq(m->entries[i].path, path))
                        return &m->entries[i];
        return NULL;
}

/* The manifest's paths, sorted, joined by spaces. */
static char *manifest_paths(const Manifest *m) {
        TextBuf b = {};
        char *s = NULL;
        for (size_t i = 0; i < m->n_entries; i++) {
                if (i > 0)
                        textbuf_append_char(&b, ' ');
                textbuf_append(&b, m->entries[i].path);
        }
        ASSERT_OK(textbuf_steal(&b, &s));
        return s;
}

typedef struct Env {
        char *project, *manifests;
        DigestCache *cache;
} Env;

static void env_setup(Env *e) {
        e->project = make_project();
        e->manifests = make_temp_dir();
        ASSERT_OK(digest_cache_new(&e->cache));
}

static void env_done(Env *e) {
        rm_rf(e->project);
        rm_rf(e->manifests);
        free(e->project);
        free(e->manifests);
        digest_cache_free(e->cache);
}

static char *const test_vars[] = { "build-dir=/proj/target/debug", "data=data", "glob=s*c", NULL };

static BuiltLayer *build(Env *e, const LayerSpec *spec) {
        _cleanup_free_ char *msg = NULL;
        BuiltLayer *l = NULL;
        int r = layer_build(spec, e->project, test_vars, e->cache, e->manifests, &l, &msg);
        if (r < 0)
                fprintf(stderr, "layer_build: %s\n", strna(msg));
        ASSERT_OK(r);
        return l;
}

/* Builds spec as a manifest layer and returns its paths joined by spaces. */
static char *build_paths(Env *e, const LayerSpec *spec) {
        _cleanup_(built_layer_freep) BuiltLayer *l = build(e, spec);
        _cleanup_(manifest_freep) Manifest *m = read_manifest(l);
        return manifest_paths(m);
}

/* Expects spec to fail with error, with a message containing needle. */
static void build_fails(Env *e, const LayerSpec *spec, int error, const char *needle) {
        _cleanup_free_ char *msg = NULL;
        BuiltLayer *l = NULL;
        int r = layer_build(spec, e->project, test_vars, e->cache, e->manifests, &l, &msg);
        fprintf(stderr, "expected failure: %s\n", strna(msg));
        ASSERT_ERROR(r, error);
        ASSERT_TRUE(!l);
        ASSERT_TRUE(msg && strstr(msg, needle));
}

/* ---- paths, templates, brace expansion, globs ---- */

TEST(path_simplify) {
        static const char *const cases[][2] = {
                { "/a/b/../c", "/a/c" },   { "/a/./b//c/", "/a/b/c" }, { "/..", "/" },
                { "/a/../..", "/" },       { "a/..", "." },            { "../a", "../a" },
                { "a/../../b", "../b" },   { "x/../..", ".." },        { "/", "/" },
                { "./a/./", "a" },         { "a/b/../../..", ".." },   { "/a/..b/c", "/a/..b/c" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = NULL;
                ASSERT_OK(layer_path_simplify(cases[i][0], &s));
                ASSERT_STREQ(s, cases[i][1]);
        }
}

TEST(template) {
        static const struct {
                const char *in;
                bool glob;
                const char *out; /* NULL: an error */
                int error;
        } cases[] = {
                { "<build-dir>/foo", false, "/proj/target/debug/foo", 0 },
                { "a<<b>", false, "a<b>", 0 },
                { "<<<data>>", false, "<data>", 0 },
                { "no variables > here", false, "no variables > here", 0 },
                { "<glob>/*", true, "s\\*c/*", 0 },
                { "<glob>/*", false, "s*c/*", 0 },
                { "", false, "", 0 },
                { "<nope>/x", false, NULL, ENOENT },
                { "<>", false, NULL, ENOENT },
                { "a/<data", false, NULL, EINVAL },
                { "<", false, NULL, EINVAL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = NULL, *msg = NULL;
                int r = layer_template_expand(cases[i].in, test_vars, cases[i].glob, &s, &msg);
                if (cases[i].out) {
                        ASSERT_OK(r);
                        ASSERT_STREQ(s, cases[i].out);
                } else {
                        ASSERT_ERROR(r, cases[i].error);
                        ASSERT_TRUE(msg && strstr(msg, cases[i].in));
                }
        }
        _cleanup_free_ char *s = NULL, *msg = NULL;
        ASSERT_ERROR(layer_template_expand("x/<nope>", test_vars, /* escape_glob= */ false, &s, &msg),
                     ENOENT);
        ASSERT_TRUE(strstr(msg, "'<nope>'"));
}

static void check_braces(const char *in, BraceFlags flags, const char *expected) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL;

        ASSERT_OK(brace_expand(in, flags, &l));
        joined = strv_join(l, " ");
        ASSERT_STREQ(joined, expected);
}

TEST(brace_expand) {
        _cleanup_strv_free_ char **l = NULL;

        check_braces("/dev/{null,zero}", /* flags= */ 0, "/dev/null /dev/zero");
        check_braces("/{proc,sys,tmp}/", /* flags= */ 0, "/proc/ /sys/ /tmp/");
        check_braces("a{b,c{d,e}}f", /* flags= */ 0, "abf acdf acef");
        check_braces("{a,b}{1,2}", /* flags= */ 0, "a1 a2 b1 b2");
        check_braces("a{,b}", /* flags= */ 0, "a ab");
        check_braces("a{b}c", /* flags= */ 0, "abc");
        check_braces("plain", /* flags= */ 0, "plain");
        check_braces("\\{a,b\\}", /* flags= */ 0, "\\{a,b\\}");
        check_braces("x{a\\,b,c}", /* flags= */ 0, "xa\\,b xc");
        /* In a glob, braces inside a class are literal. */
        check_braces("[{]{a,b}", BRACE_GLOB, "[{]a [{]b");
        check_braces("[]{]x", BRACE_GLOB, "[]{]x");
        /* Outside globs, '[' is nothing special. */
        ASSERT_ERROR(brace_expand("[{]{a,b}", /* flags= */ 0, &l), EINVAL);

        ASSERT_ERROR(brace_expand("{a,b", /* flags= */ 0, &l), EINVAL);
        ASSERT_ERROR(brace_expand("a}", /* flags= */ 0, &l), EINVAL);
        ASSERT_ERROR(brace_expand("{a,{b}", /* flags= */ 0, &l), EINVAL);
        /* 2^13 = 8192 results. */
        ASSERT_ERROR(brace_expand("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}",
                                  /* flags= */ 0, &l), E2BIG);
        ASSERT_OK(brace_expand("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}",
                               /* flags= */ 0, &l));
        ASSERT_EQ(strv_length(l), 4096);
}

TEST(glob_match) {
        static const struct {
                const char *pattern, *path;
                bool match;
        } cases[] = {
                { "*.c", "a.c", true },
                { "*.c", ".hidden.c", true },
                { "*.c", "d/a.c", false },
                { "*.c", "a.h", false },
                { "?.c", "a.c", true },
                { "?.c", "ab.c", false },
                { "a*b*c", "aXXbYYc", true },
                { "a*b*c", "aXXbYY", false },
                /* ** across directories */
                { "**/x", "x", true },
                { "**/x", "a/b/x", true },
                { "**/x", "a/b/y", false },
                { "**/x", "xx", false },
                { "a/**", "a", false },
                { "a/**", "a/b", true },
                { "a/**", "a/b/c", true },
                { "a/**", "b/a/c", false },
                { "a/**/b", "a/b", true },
                { "a/**/b", "a/x/y/b", true },
                { "a/**/b", "a/x/y/c", false },
                { "**", "anything", true },
                { "**", "any/thing/deep", true },
                { "**/**/x", "x", true },
                { "**/*.c", "src/sub/c.c", true },
                { "a**b", "aXb", true }, /* not alone in its component: just '*' */
                { "a**b", "aX/b", false },
                /* classes */
                { "[abc].txt", "b.txt", true },
                { "[abc].txt", "d.txt", false },
                { "[!abc].txt", "d.txt", true },
                { "[!abc].txt", "a.txt", false },
                { "[^a].txt", "a.txt", false },
                { "[a-c]?", "bz", true },
                { "[a-c]?", "dz", false },
                { "[[:digit:]]*", "9lives", true },
                { "[[:digit:]]*", "lives", false },
                { "[]]", "]", true },
                /* braces */
                { "{src,include}/**/*.{c,h}", "src/x/y.c", true },
                { "{src,include}/**/*.{c,h}", "include/z.h", true },
                { "{src,include}/**/*.{c,h}", "lib/z.h", false },
                { "{src,include}/**/*.{c,h}", "src/y.o", false },
                { "{a/{b,c},d}/x", "a/c/x", true },
                { "{a/{b,c},d}/x", "d/x", true },
                { "{a/{b,c},d}/x", "a/x", false },
                { "x.{,o}", "x.", true },
                { "x.{,o}", "x.o", true },
                /* escapes */
                { "\\*.c", "*.c", true },
                { "\\*.c", "a.c", false },
                { "\\{a,b\\}", "{a,b}", true },
                { "\\{a,b\\}", "a", false },
                { "[*]x", "*x", true },
                { "[*]x", "ax", false },
                { "a\\?", "a?", true },
                { "a\\?", "ab", false },
                /* normalisation */
                { "a/./b", "a/b", true },
                { "/a//b/", "a/b", true },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(path_glob_freep) PathGlob *g = NULL;
                ASSERT_OK(path_glob_new(cases[i].pattern, &g));
                int r = ASSERT_OK(path_glob_match(g, cases[i].path));
                if (r != cases[i].match)
                        fprintf(stderr, "glob '%s' on '%s': got %d\n", cases[i].pattern, cases[i].path, r);
                ASSERT_EQ(r, cases[i].match);
        }

        PathGlob *g = NULL;
        ASSERT_ERROR(path_glob_new("{a", &g), EINVAL);
}

TEST(glob_pruning) {
        _cleanup_(path_glob_freep) PathGlob *g = NULL;
        _cleanup_(path_glob_state_done) PathGlobState s0 = {}, src = {}, lib = {}, file = {};

        ASSERT_OK(path_glob_new("src/*.c", &g));
        ASSERT_OK(path_glob_state_start(g, &s0));
        ASSERT_TRUE(path_glob_state_can_continue(g, &s0));
        ASSERT_OK(path_glob_state_step(g, &s0, "lib", &lib));
        ASSERT_FALSE(path_glob_state_can_continue(g, &lib));
        ASSERT_FALSE(path_glob_state_matches(g, &lib));
        ASSERT_OK(path_glob_state_step(g, &s0, "src", &src));
        ASSERT_TRUE(path_glob_state_can_continue(g, &src));
        ASSERT_FALSE(path_glob_state_matches(g, &src));
        ASSERT_OK(path_glob_state_step(g, &src, "a.c", &file));
        ASSERT_TRUE(path_glob_state_matches(g, &file));
        ASSERT_FALSE(path_glob_state_can_continue(g, &file));
}

/* ---- layer kinds ---- */

TEST(tar) {
        _cleanup_(env_done) Env e = {};
        _cleanup_free_ char *tar = NULL;
        Digest d;

        env_setup(&e);
        tar = join(e.project, "layer.tar");
        LayerSpec spec = { .kind = LAYER_TAR, .path = "layer.tar" };
        _cleanup_(built_layer_freep) BuiltLayer *l = build(&e, &spec);
        ASSERT_EQ(l->kind, BUILT_LAYER_TAR);
        ASSERT_STREQ(l->path, tar);
        ASSERT_OK(digest_file(tar, &d, /* ret_size= */ NULL));
        ASSERT_TRUE(digest_equal(&d, &l->digest));
        ASSERT_EQ(l->n_blobs, 0);
        ASSERT_STREQ(built_layer_kind_to_string(l->kind), "tar");
        ASSERT_EQ(built_layer_kind_from_string("manifest"), BUILT_LAYER_MANIFEST);

        /* Absolute, and through a template. */
        LayerSpec spec2 = { .kind = LAYER_TAR, .path = tar };
        _cleanup_(built_layer_freep) BuiltLayer *l2 = build(&e, &spec2);
        ASSERT_TRUE(digest_equal(&l2->digest, &l->digest));

        spec.path = "missing.tar";
        build_fails(&e, &spec, ENOENT, "missing.tar");
        spec.path = "src";
        build_fails(&e, &spec, EINVAL, "not a regular file");
        spec.path = "<nope>.tar";
        build_fails(&e, &spec, ENOENT, "<nope>");
}

TEST(glob) {
        _cleanup_(env_done) Env e = {};
        _cleanup_free_ char *ac = NULL;
        Digest d;

        env_setup(&e);
        LayerSpec spec = { .kind = LAYER_GLOB, .path = "src/**/*.c" };
        _cleanup_(built_layer_freep) BuiltLayer *l = build(&e, &spec);
        _cleanup_(manifest_freep) Manifest *m = read_manifest(l);
        _cleanup_free_ char *paths = manifest_paths(m);
        ASSERT_STREQ(paths, "src/a.c src/sub/c.c");

        /* The manifest is named by its digest, and nothing else is left in the directory. */
        char hex[DIGEST_HEX_SIZE];
        digest_to_hex(&l->digest, hex);
        _cleanup_free_ char *name = strjoin(hex, ".manifest"), *expected = join(e.manifests, name);
        ASSERT_STREQ(l->path, expected);
        _cleanup_strv_free_ char **listing = NULL;
        DIR *dir = opendir(e.manifests);
        ASSERT_TRUE(dir);
        for (struct dirent *de; (de = readdir(dir));)
                if (de->d_name[0] != '.')
                        ASSERT_OK(strv_extend(&listing, de->d_name));
        closedir(dir);
        ASSERT_EQ(strv_length(listing), 1);
        ASSERT_STREQ(listing[0], name);

        /* Entries: mode, size, digest; blobs with host paths. */
        const ManifestEntry *a = find_entry(m, "src/a.c");
        ASSERT_TRUE(a);
        ASSERT_EQ(a->type, MANIFEST_FILE);
        ASSERT_EQ(a->mode, 0644);
        ASSERT_EQ(a->size, strlen("int a;\n"));
        ac = join(e.project, "src/a.c");
        ASSERT_OK(digest_file(ac, &d, /* ret_size= */ NULL));
        ASSERT_TRUE(digest_equal(&a->digest, &d));
        struct stat st;
        ASSERT_TRUE(stat(ac, &st) >= 0);
        ASSERT_EQ(a->mtime, st.st_mtim.tv_sec);
        ASSERT_EQ(l->n_blobs, 2);
        bool found = false;
        for (size_t i = 0; i < l->n_blobs; i++)
                if (digest_equal(&l->blobs[i].digest, &d)) {
                        ASSERT_STREQ(l->blobs[i].path, ac);
                        ASSERT_EQ(l->blobs[i].size, a->size);
                        found = true;
                }
        ASSERT_TRUE(found);
        ASSERT_TRUE(memcmp(l->blobs[0].digest.bytes, l->blobs[1].digest.bytes, DIGEST_SIZE) < 0);

        /* Symbolic links match as links, or as their targets' content with follow_symlinks. */
        LayerSpec links = { .kind = LAYER_GLOB, .path = "{link-to-a,src/a.c}" };
        _cleanup_(built_layer_freep) BuiltLayer *ll = build(&e, &links);
        _cleanup_(manifest_freep) Manifest *lm = read_manifest(ll);
        const ManifestEntry *link = find_entry(lm, "link-to-a");
        ASSERT_TRUE(link);
        ASSERT_EQ(link->type, MANIFEST_SYMLINK);
        ASSERT_STREQ(link->target, "src/a.c");
        ASSERT_EQ(ll->n_blobs, 1);
        links.prefix.follow_symlinks = true;
        _cleanup_(built_layer_freep) BuiltLayer *lf = build(&e, &links);
        _cleanup_(manifest_freep) Manifest *fm = read_manifest(lf);
        link = find_entry(fm, "link-to-a");
        ASSERT_EQ(link->type, MANIFEST_FILE);
        ASSERT_TRUE(digest_equal(&link->digest, &d));
        ASSERT_EQ(lf->n_blobs, 1); /* the same content twice is one blob */

        /* Directories are walked, not added; "**" takes everything, even what is hidden. */
        LayerSpec all = { .kind = LAYER_GLOB, .path = "**" };
        free(paths);
        paths = build_paths(&e, &all);
        ASSERT_STREQ(paths, "dangling data/x.txt empty layer.tar link-to-a src/a.c src/b.h src/sub/c.c");
        LayerSpec none = { .kind = LAYER_GLOB, .path = "nothing/**" };
        free(paths);
        paths = build_paths(&e, &none);
        ASSERT_STREQ(paths, "");
        /* Classes, braces, and a template (whose value is escaped). */
        LayerSpec fancy = { .kind = LAYER_GLOB, .path = "{<data>,src}/[!a]*.{txt,h}" };
        free(paths);
        paths = build_paths(&e, &fancy);
        ASSERT_STREQ(paths, "data/x.txt src/b.h");

        spec.path = "src/{a";
        build_fails(&e, &spec, EINVAL, "src/{a");
        links.path = "dangling";
        build_fails(&e, &links, ENOENT, "dangling");
}

TEST(glob_with_files_that_come_and_go) {
        /* A file or directory that the walk lists and that is gone when it gets to it (an editor's swap
         * file, a test's scratch file) is simply not in the layer: the layer does not fail.  A child makes
         * and removes files and directories as fast as it can while layers of them are built. */
        _cleanup_(env_done) Env e = {};
        env_setup(&e);
        _cleanup_free_ char *churn = join(e.project, "churn");
        ASSERT_TRUE(mkdir(churn, 0755) >= 0);
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                char path[PATH_MAX];
                for (unsigned i = 0; i < 2000000; i++) {
                        snprintf(path, sizeof(path), "%s/f%u", churn, i % 64);
                        if (i % 3 == 0) {
                                (void) mkdir(path, 0755);
                                (void) rmdir(path);
                        } else {
                                int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                                if (fd >= 0)
                                        close(fd);
                                (void) unlink(path);
                        }
                }
                _exit(0);
        }
        LayerSpec spec = { .kind = LAYER_GLOB, .path = "churn/**" };
        unsigned failed = 0;
        for (unsigned i = 0; i < 300; i++) {
                _cleanup_free_ char *msg = NULL;
                BuiltLayer *l = NULL;
                int r = layer_build(&spec, e.project, test_vars, e.cache, e.manifests, &l, &msg);
                if (r < 0) {
                        if (failed++ == 0)
                                fprintf(stderr, "layer_build: %s\n", strna(msg));
                } else
                        built_layer_free(l);
        }
        kill(pid, SIGKILL);
        ASSERT_TRUE(waitpid(pid, NULL, 0) == pid);
        ASSERT_EQ(failed, 0U);
}

TEST(glob_skips_cache_directories) {
        /* With skip_cache_directories, a directory whose CACHEDIR.TAG has the specification's signature (as
         * cargo writes into its target directories) is left out; a tag without it is not one. */
        _cleanup_(env_done) Env e = {};
        env_setup(&e);
        write_file(e.project, "fix/src/main.rs", "fn main() {}\n");
        write_file(e.project, "fix/target/CACHEDIR.TAG",
                   "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag.\n");
        write_file(e.project, "fix/target/debug/fix", "binary\n");
        write_file(e.project, "fix/other/CACHEDIR.TAG", "Signature: not the one\n");
        write_file(e.project, "fix/other/kept", "kept\n");

        LayerSpec spec = { .kind = LAYER_GLOB, .path = "fix/**", .skip_cache_directories = true };
        _cleanup_free_ char *skipped = build_paths(&e, &spec);
        ASSERT_STREQ(skipped, "fix/other/CACHEDIR.TAG fix/other/kept fix/src/main.rs");
        spec.skip_cache_directories = false;
        _cleanup_free_ char *all = build_paths(&e, &spec);
        ASSERT_STREQ(all, "fix/other/CACHEDIR.TAG fix/other/kept fix/src/main.rs fix/target/CACHEDIR.TAG "
                          "fix/target/debug/fix");
}

TEST(glob_does_not_descend_needlessly) {
        _cleanup_(env_done) Env e = {};
        _cleanup_free_ char *deep = NULL;

        env_setup(&e);
        /* A tree deeper than LAYER_MAX_DEPTH: a walk that entered it would fail. */
        deep = join(e.project, "deep");
        ASSERT_TRUE(mkdir(deep, 0755) >= 0);
        int fd = open(deep, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        for (int i = 0; i < LAYER_MAX_DEPTH + 10; i++) {
                ASSERT_TRUE(mkdirat(fd, "d", 0755) >= 0);
                int n = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                ASSERT_TRUE(n >= 0);
                safe_close(fd);
                fd = n;
        }
        safe_close(fd);

        LayerSpec spec = { .kind = LAYER_GLOB, .path = "src/**" };
        _cleanup_free_ char *paths = build_paths(&e, &spec);
        ASSERT_STREQ(paths, "src/a.c src/b.h src/sub/c.c");
        spec.path = "deep/d/x";
        free(paths);
        paths = build_paths(&e, &spec);
        ASSERT_STREQ(paths, "");
        spec.path = "**/nothing";
        build_fails(&e, &spec, ELOOP, "deep/d/d");
}

TEST(paths) {
        _cleanup_(env_done) Env e = {};
        _cleanup_free_ char *abs = NULL, *abs_link = NULL, *expected = NULL;

        env_setup(&e);
        abs = join(e.project, "link-to-a");
        LayerSpec spec = { .kind = LAYER_PATHS,
                          .paths = (char *[]) { "src", "<data>/x.txt", abs, "./empty", NULL } };
        _cleanup_(built_layer_freep) BuiltLayer *l = build(&e, &spec);
        _cleanup_(manifest_freep) Manifest *m = read_manifest(l);

        const ManifestEntry *src = find_entry(m, "src");
        ASSERT_TRUE(src);
        ASSERT_EQ(src->type, MANIFEST_DIRECTORY); /* just the directory */
        ASSERT_EQ(src->mode, 0755);
        ASSERT_TRUE(!find_entry(m, "src/a.c"));
        ASSERT_EQ(find_entry(m, "data/x.txt")->type, MANIFEST_FILE);
        abs_link = strdup(abs + 1);
        const ManifestEntry *link = find_entry(m, abs_link);
        ASSERT_TRUE(link);
        ASSERT_EQ(link->type, MANIFEST_SYMLINK);
        const ManifestEntry *empty = find_entry(m, "empty");
        ASSERT_EQ(empty->type, MANIFEST_FILE);
        ASSERT_EQ(empty->size, 0);
        ASSERT_EQ(m->n_entries, 4);
        /* Blobs: x.txt and the empty file, at their host paths. */
        ASSERT_EQ(l->n_blobs, 2);
        expected = join(e.project, "empty");
        ASSERT_TRUE(streq(l->blobs[0].path, expected) || streq(l->blobs[1].path, expected));

        /* The same path twice is fine; missing paths are errors naming them. */
        LayerSpec twice = { .kind = LAYER_PATHS, .paths = (char *[]) { "empty", "empty", NULL } };
        _cleanup_free_ char *paths = build_paths(&e, &twice);
        ASSERT_STREQ(paths, "empty");
        LayerSpec missing = { .kind = LAYER_PATHS, .paths = (char *[]) { "empty", "no/such/file", NULL } };
        build_fails(&e, &missing, ENOENT, "no/such/file");
        LayerSpec outside = { .kind = LAYER_PATHS, .paths = (char *[]) { "/", NULL } };
        build_fails(&e, &outside, EINVAL, "'/'");
}

TEST(stubs) {
        _cleanup_(env_done) Env e = {};

        env_setup(&e);
        LayerSpec spec = {
                .kind = LAYER_STUBS,
                .paths = (char *[]) { "/dev/{null,zero}", "/{proc,sys,tmp}/", "x/{a,b/{c,d}}",
                                     "/odd\\{name\\}", NULL },
        };
        _cleanup_(built_layer_freep) BuiltLayer *l = build(&e, &spec);
        _cleanup_(manifest_freep) Manifest *m = read_manifest(l);
        _cleanup_free_ char *paths = manifest_paths(m);
        ASSERT_STREQ(paths, "dev/null dev/zero odd{name} proc sys tmp x/a x/b/c x/b/d");
        const ManifestEntry *null = find_entry(m, "dev/null"), *proc = find_entry(m, "proc");
        Digest empty;
        digest_buffer("", /* size= */ 0, &empty);
        ASSERT_EQ(null->type, MANIFEST_FILE);
        ASSERT_EQ(null->size, 0);
        ASSERT_EQ(null->mode, 0644);
        ASSERT_EQ(null->mtime, 0);
        ASSERT_TRUE(digest_equal(&null->digest, &empty));
        ASSERT_EQ(proc->type, MANIFEST_DIRECTORY);
        ASSERT_EQ(proc->mode, 0755);
        /* One blob, the empty one, readable at /dev/null. */
        ASSERT_EQ(l->n_blobs, 1);
        ASSERT_TRUE(digest_equal(&l->blobs[0].digest, &empty));
        ASSERT_STREQ(l->blobs[0].path, "/dev/null");

        LayerSpec clash = { .kind = LAYER_STUBS, .paths = (char *[]) { "/a", "/a/", NULL } };
        build_fails(&e, &clash, EEXIST, "/a");
        LayerSpec bad = { .kind = LAYER_STUBS, .paths = (char *[]) { "/dev/{null", NULL } };
        build_fails(&e, &bad, EINVAL, "/dev/{null");
}

TEST(symlinks) {
        _cleanup_(env_done) Env e = {};

        env_setup(&e);
        LayerSpec spec = {
                .kind = LAYER_SYMLINKS,
                .symlinks = (SymlinkSpec[]) { { "/lib", "usr/lib" }, { "a/b/c", "<build-dir>/x" } },
                .n_symlinks = 2,
        };
        _cleanup_(built_layer_freep) BuiltLayer *l = build(&e, &spec);
        _cleanup_(manifest_freep) Manifest *m = read_manifest(l);
        ASSERT_EQ(m->n_entries, 2);
        ASSERT_STREQ(find_entry(m, "lib")->target, "usr/lib");
        ASSERT_STREQ(find_entry(m, "a/b/c")->target, "/proj/target/debug/x");
        ASSERT_EQ(find_entry(m, "a/b/c")->mtime, 0);
        ASSERT_EQ(l->n_blobs, 0);

        spec.symlinks[1].target = "";
        build_fails(&e, &spec, EINVAL, "empty");
}

TEST(prefix_options) {
        _cleanup_(env_done) Env e = {};
        _cleanup_free_ char *real = NULL, *alias = NULL, *paths = NULL, *expected = NULL, *strip = NULL;

        env_setup(&e);
        LayerSpec spec = { .kind = LAYER_GLOB, .path = "src/**" };

        spec.prefix.strip_prefix = "src";
        paths = build_paths(&e, &spec);
        ASSERT_STREQ(paths, "a.c b.h sub/c.c");
        /* Whole components only. */
        spec.prefix.strip_prefix = "sr";
        free(paths);
        paths = build_paths(&e, &spec);
        ASSERT_STREQ(paths, "src/a.c src/b.h src/sub/c.c");
        spec.prefix.strip_prefix = "src/sub/";
        free(paths);
        paths = build_paths(&e, &spec);
        ASSERT_STREQ(paths, "c.c src/a.c src/b.h");

        spec.prefix.strip_prefix = "src";
        spec.prefix.prepend_prefix = "/opt/<data>";
        free(paths);
        paths = build_paths(&e, &spec);
        ASSERT_STREQ(paths, "opt/data/a.c opt/data/b.h opt/data/sub/c.c");

        /* canonicalize: the host path with its directories resolved, through a symlinked project directory;
         * then strip_prefix applies to that. */
        real = realpath(e.project, NULL);
        alias = strjoin(e.project, "-alias");
        ASSERT_TRUE(symlink(e.project, alias) >= 0);
        char *saved = e.project;
        e.project = alias;
        LayerSpec canon = { .kind = LAYER_PATHS, .paths = (char *[]) { "link-to-a", NULL } };
        canon.prefix.canonicalize = true;
        free(paths);
        paths = build_paths(&e, &canon);
        expected = strjoin(real + 1, "/link-to-a");
        ASSERT_STREQ(paths, expected);
        strip = strjoin(real, "/");
        canon.prefix.strip_prefix = strip;
        canon.prefix.prepend_prefix = "/p";
        free(paths);
        paths = build_paths(&e, &canon);
        ASSERT_STREQ(paths, "p/link-to-a");
        e.project = saved;
        (void) unlink(alias);

        /* follow_symlinks comes first: the link keeps its name, with the target's content. */
        canon.prefix.follow_symlinks = true;
        _cleanup_(built_layer_freep) BuiltLayer *l = build(&e, &canon);
        _cleanup_(manifest_freep) Manifest *m = read_manifest(l);
        ASSERT_EQ(m->n_entries, 1);
        ASSERT_STREQ(m->entries[0].path, "p/link-to-a");
        ASSERT_EQ(m->entries[0].type, MANIFEST_FILE);
        ASSERT_EQ(m->entries[0].size, strlen("int a;\n"));

        /* Two files onto one path is an error. */
        LayerSpec clash = { .kind = LAYER_GLOB, .path = "{src/a.c,src/sub/c.c}" };
        clash.prefix.strip_prefix = "src";
        clash.prefix.prepend_prefix = "x";
        free(paths);
        paths = build_paths(&e, &clash);
        ASSERT_STREQ(paths, "x/a.c x/sub/c.c");
        write_file(e.project, "a.c", "another a.c\n");
        LayerSpec clash2 = { .kind = LAYER_PATHS, .paths = (char *[]) { "src/a.c", "a.c", NULL } };
        clash2.prefix.strip_prefix = "src";
        build_fails(&e, &clash2, EEXIST, "'/a.c' is in the layer twice");
}

TEST(determinism) {
        _cleanup_(env_done) Env e = {};
        _cleanup_(digest_cache_freep) DigestCache *other = NULL;
        _cleanup_free_ char *d1 = NULL, *d2 = NULL;
        size_t s1, s2;

        env_setup(&e);
        LayerSpec spec = { .kind = LAYER_GLOB, .path = "**" };
        _cleanup_(built_layer_freep) BuiltLayer *a = build(&e, &spec);
        ASSERT_OK(read_full_file(a->path, 1 << 20, &d1, &s1));
        (void) unlink(a->path);

        /* Another cache, and the same again. */
        ASSERT_OK(digest_cache_new(&other));
        DigestCache *saved = e.cache;
        e.cache = other;
        _cleanup_(built_layer_freep) BuiltLayer *b = build(&e, &spec);
        e.cache = saved;
        ASSERT_TRUE(digest_equal(&a->digest, &b->digest));
        ASSERT_STREQ(a->path, b->path);
        ASSERT_OK(read_full_file(b->path, 1 << 20, &d2, &s2));
        ASSERT_EQ(s1, s2);
        ASSERT_TRUE(memcmp(d1, d2, s1) == 0);

        /* A different content gives a different digest. */
        write_file(e.project, "src/a.c", "int a = 1;\n");
        _cleanup_(built_layer_freep) BuiltLayer *c = build(&e, &spec);
        ASSERT_FALSE(digest_equal(&a->digest, &c->digest));
}

/* ---- the digest cache ---- */

TEST(digest_cache) {
        _cleanup_(env_done) Env e = {};
        _cleanup_free_ char *cache_file = NULL, *data = NULL, *ac = NULL;
        size_t size;

        env_setup(&e);
        cache_file = join(e.manifests, "cached-digests");
        LayerSpec all = { .kind = LAYER_GLOB, .path = "**" };
        LayerSpec some = { .kind = LAYER_PATHS, .paths = (char *[]) { "src/a.c", "layer.tar", NULL } };
        LayerSpec tar = { .kind = LAYER_TAR, .path = "layer.tar" };

        /* Each file is hashed once per process, however many layers name it. */
        built_layer_free(build(&e, &all));
        ASSERT_EQ(digest_cache_n_hashed(e.cache), 6); /* the regular files */
        built_layer_free(build(&e, &all));
        built_layer_free(build(&e, &some));
        built_layer_free(build(&e, &tar));
        ASSERT_EQ(digest_cache_n_hashed(e.cache), 6);
        ASSERT_EQ(digest_cache_size(e.cache), 6);

        /* Saved and loaded: an unchanged tree hashes nothing. */
        ASSERT_OK(digest_cache_save(e.cache, cache_file));
        e.cache = digest_cache_free(e.cache);
        ASSERT_OK(digest_cache_new(&e.cache));
        ASSERT_OK(digest_cache_load(e.cache, cache_file));
        ASSERT_EQ(digest_cache_size(e.cache), 6);
        ASSERT_ERROR(digest_cache_load(e.cache, cache_file), EBUSY);
        _cleanup_(built_layer_freep) BuiltLayer *before = build(&e, &all);
        ASSERT_EQ(digest_cache_n_hashed(e.cache), 0);

        /* A touched file is hashed again; so is one replaced by another of the same size and mtime (a new
         * inode). */
        ac = join(e.project, "src/a.c");
        set_mtime(ac, -1800);
        built_layer_free(build(&e, &all));
        ASSERT_EQ(digest_cache_n_hashed(e.cache), 1);
        _cleanup_free_ char *tmp = join(e.project, "src/a.c.new");
        struct stat st;
        ASSERT_TRUE(stat(ac, &st) >= 0);
        write_file(e.project, "src/a.c.new", "int b;\n");
        struct timespec ts[2] = { st.st_atim, st.st_mtim };
        ASSERT_TRUE(utimensat(AT_FDCWD, tmp, ts, 0) >= 0);
        ASSERT_TRUE(rename(tmp, ac) >= 0);
        _cleanup_(built_layer_freep) BuiltLayer *after = build(&e, &all);
        ASSERT_EQ(digest_cache_n_hashed(e.cache), 2);
        ASSERT_FALSE(digest_equal(&before->digest, &after->digest));

        /* A file modified just now is not saved: a second change within the same timestamp tick would go
         * unseen.  In this process it is still remembered. */
        write_file(e.project, "src/b.h", "int fresh;\n");
        built_layer_free(build(&e, &all));
        ASSERT_EQ(digest_cache_n_hashed(e.cache), 3);
        built_layer_free(build(&e, &all));
        ASSERT_EQ(digest_cache_n_hashed(e.cache), 3);
        ASSERT_OK(digest_cache_save(e.cache, cache_file));
        e.cache = digest_cache_free(e.cache);
        ASSERT_OK(digest_cache_new(&e.cache));
        ASSERT_OK(digest_cache_load(e.cache, cache_file));
        ASSERT_EQ(digest_cache_size(e.cache), 5);
        built_layer_free(build(&e, &all));
        ASSERT_EQ(digest_cache_n_hashed(e.cache), 1);

        /* A corrupt file is ignored: the cache starts empty. */
        ASSERT_OK(read_full_file(cache_file, 1 << 20, &data, &size));
        for (size_t i = 0; i < size; i += size / 7 + 1) {
                data[i] ^= 0x20;
                ASSERT_OK(write_file_atomic(cache_file, data, size, /* mode= */ 0644));
                data[i] ^= 0x20;
                e.cache = digest_cache_free(e.cache);
                ASSERT_OK(digest_cache_new(&e.cache));
                ASSERT_ERROR(digest_cache_load(e.cache, cache_file), EBADMSG);
                ASSERT_EQ(digest_cache_size(e.cache), 0);
        }
        for (size_t cut = 0; cut < size; cut += 13) {
                ASSERT_OK(write_file_atomic(cache_file, data, cut, /* mode= */ 0644));
                e.cache = digest_cache_free(e.cache);
                ASSERT_OK(digest_cache_new(&e.cache));
                ASSERT_ERROR(digest_cache_load(e.cache, cache_file), EBADMSG);
                ASSERT_EQ(digest_cache_size(e.cache), 0);
        }
        built_layer_free(build(&e, &all));
        ASSERT_EQ(digest_cache_n_hashed(e.cache), 6);
        /* And intact again, it loads (without the fresh src/b.h, as saved). */
        ASSERT_OK(write_file_atomic(cache_file, data, size, /* mode= */ 0644));
        e.cache = digest_cache_free(e.cache);
        ASSERT_OK(digest_cache_new(&e.cache));
        ASSERT_OK(digest_cache_load(e.cache, cache_file));
        ASSERT_EQ(digest_cache_size(e.cache), 5);

        /* A missing file is no error. */
        (void) unlink(cache_file);
        e.cache = digest_cache_free(e.cache);
        ASSERT_OK(digest_cache_new(&e.cache));
        ASSERT_OK(digest_cache_load(e.cache, cache_file));
        ASSERT_EQ(digest_cache_size(e.cache), 0);
}

TEST(digest_cache_ageing) {
        _cleanup_(env_done) Env e = {};
        _cleanup_free_ char *cache_file = NULL;

        env_setup(&e);
        cache_file = join(e.manifests, "cached-digests");
        LayerSpec all = { .kind = LAYER_GLOB, .path = "**" };
        built_layer_free(build(&e, &all));
        ASSERT_OK(digest_cache_save(e.cache, cache_file));

        /* Entries nobody uses are dropped after DIGEST_CACHE_MAX_AGE saves. */
        for (int i = 0; i <= DIGEST_CACHE_MAX_AGE; i++) {
                e.cache = digest_cache_free(e.cache);
                ASSERT_OK(digest_cache_new(&e.cache));
                ASSERT_OK(digest_cache_load(e.cache, cache_file));
                ASSERT_EQ(digest_cache_size(e.cache), 6);
                ASSERT_OK(digest_cache_save(e.cache, cache_file));
        }
        e.cache = digest_cache_free(e.cache);
        ASSERT_OK(digest_cache_new(&e.cache));
        ASSERT_OK(digest_cache_load(e.cache, cache_file));
        ASSERT_EQ(digest_cache_size(e.cache), 0);
}

/* A file that a child appends a byte to: once, delay_usec after the returned pipe's byte (the child stops at
 * the end of that pipe), or, with every_usec, again and again until killed. */
static pid_t append_later(const char *path, unsigned delay_usec, unsigned every_usec, int *ret_go) {
        int p[2];
        ASSERT_TRUE(pipe2(p, O_CLOEXEC) >= 0);
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                char go;
                close(p[1]);
                if (read(p[0], &go, 1) != 1)
                        _exit(0);
                usleep(delay_usec);
                do {
                        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
                        if (fd < 0 || write(fd, "x", 1) != 1)
                                _exit(1);
                        close(fd);
                } while (every_usec > 0 && usleep(every_usec) == 0);
                _exit(0);
        }
        close(p[0]);
        *ret_go = p[1];
        return pid;
}

TEST(file_that_changes_while_hashed) {
        /* A file written while it is hashed (an editor saving in place) is hashed again: the layer has
         * what the file holds after the change, rather than failing.  128 MiB take well over the child's
         * 5 ms to hash. */
        _cleanup_(env_done) Env e = {};
        env_setup(&e);
        const size_t size = 128U << 20;
        _cleanup_free_ char *zeros = calloc(1, size), *big = join(e.project, "big");
        ASSERT_TRUE(zeros);
        ASSERT_OK(write_file_atomic(big, zeros, size, /* mode= */ 0644));
        LayerSpec spec = { .kind = LAYER_PATHS, .paths = (char *[]) { "big", NULL } };

        int go;
        pid_t pid = append_later(big, 5000, /* every_usec= */ 0, &go);
        ASSERT_EQ(write(go, "", 1), 1);
        close(go);
        _cleanup_(built_layer_freep) BuiltLayer *l = build(&e, &spec);
        int status;
        ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        _cleanup_(manifest_freep) Manifest *m = read_manifest(l);
        const ManifestEntry *entry = find_entry(m, "big");
        ASSERT_TRUE(entry);
        ASSERT_EQ(entry->size, (uint64_t) size + 1);
        _cleanup_(digest_cache_freep) DigestCache *fresh = NULL;
        ASSERT_OK(digest_cache_new(&fresh));
        struct stat st;
        ASSERT_TRUE(stat(big, &st) >= 0);
        Digest d;
        ASSERT_OK(digest_cache_get(fresh, big, &st, &d));
        ASSERT_TRUE(digest_equal(&d, &entry->digest));

        /* One that never stops changing fails its layer, saying so.  (Once it has changed: until then the
         * cache knows its digest.) */
        pid = append_later(big, 0, /* every_usec= */ 2000, &go);
        ASSERT_EQ(write(go, "", 1), 1);
        close(go);
        for (unsigned i = 0; i < 5000 && st.st_size == (off_t) size + 1; i++) {
                usleep(1000);
                ASSERT_TRUE(stat(big, &st) >= 0);
        }
        ASSERT_TRUE(st.st_size > (off_t) size + 1);
        _cleanup_free_ char *msg = NULL;
        BuiltLayer *none = NULL;
        int r = layer_build(&spec, e.project, test_vars, e.cache, e.manifests, &none, &msg);
        kill(pid, SIGKILL);
        ASSERT_TRUE(waitpid(pid, NULL, 0) == pid);
        ASSERT_ERROR(r, EBUSY);
        ASSERT_CONTAINS(strna(msg), "big' kept changing while it was hashed");
}

/* ---- ld.so ---- */

/* What ldd says: the paths of the libraries and the interpreter, sorted and unique; *ret_missing gets the
 * first library it did not find. */
static int ldd(const char *binary, char ***ret, char **ret_missing) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *cmd = NULL, *line = NULL;
        size_t n = 0;

        ASSERT_TRUE(asprintf(&cmd, "ldd '%s' 2>/dev/null", binary) >= 0);
        FILE *f = popen(cmd, "re");
        ASSERT_TRUE(f);
        *ret_missing = NULL;
        while (getline(&line, &n, f) > 0) {
                char *s = line + strspn(line, " \t"), *arrow = strstr(s, " => ");
                if (arrow) {
                        if (startswith(arrow + 4, "not found")) {
                                if (!*ret_missing)
                                        *ret_missing = strndup(s, (size_t) (arrow - s));
                                continue;
                        }
                        s = arrow + 4;
                }
                if (s[0] != '/')
                        continue;
                char *e = strstr(s, " (");
                ASSERT_OK(strv_consume(&l, strndup(s, e ? (size_t) (e - s) : strcspn(s, "\n"))));
        }
        int status = pclose(f);
        if (!l)
                l = calloc(1, sizeof(char *));
        layer_strv_sort_unique(l);
        *ret = TAKE_PTR(l);
        return status;
}

static int resolve(const char *binary, const char *ld_library_path, const LdCache *cache, char ***ret,
                   char **reterr_message) {
        return ldso_resolve((char *[]) { (char *) binary, NULL }, ld_library_path, cache, ret,
                            reterr_message);
}

static LdCache *system_cache(void) {
        LdCache *c = NULL;
        if (ld_cache_load("/etc/ld.so.cache", &c) < 0)
                return NULL;
        return c;
}

/* Resolves binary and compares with ldd. */
static void compare_with_ldd(const char *binary) {
        _cleanup_strv_free_ char **ours = NULL, **theirs = NULL;
        _cleanup_free_ char *msg = NULL, *missing = NULL, *a = NULL, *b = NULL;
        _cleanup_(ld_cache_freep) LdCache *cache = system_cache();

        fprintf(stderr, "--- %s\n", binary);
        int r = resolve(binary, getenv("LD_LIBRARY_PATH"), cache, &ours, &msg);
        if (r < 0)
                fprintf(stderr, "ldso_resolve: %s\n", strna(msg));
        ASSERT_OK(r);
        (void) ldd(binary, &theirs, &missing);
        ASSERT_TRUE(!missing);
        a = strv_join(ours, "\n");
        b = strv_join(theirs, "\n");
        fprintf(stderr, "%s\n", a);
        ASSERT_STREQ(a, b);
}

static char *layer_elf_path(const char *name) {
        const char *root = getenv("MAELSTROM_BUILD_ROOT");
        ASSERT_TRUE(root);
        char *p = strjoin(root, "/tests/unit/layer-elf/", name);
        ASSERT_TRUE(p);
        char *real = realpath(p, NULL);
        ASSERT_TRUE(real);
        free(p);
        return real;
}

TEST(ld_cache) {
        _cleanup_(ld_cache_freep) LdCache *c = system_cache(), *bad = NULL;
        _cleanup_free_ char *data = NULL;
        size_t size;

        if (!c) {
                fprintf(stderr, "no readable /etc/ld.so.cache here, skipping\n");
                return;
        }
        ASSERT_TRUE(ld_cache_size(c) > 0);
        ASSERT_OK(read_full_file("/etc/ld.so.cache", LD_CACHE_MAX_SIZE, &data, &size));
        /* Truncated anywhere in the header or the entries: rejected, never read out of bounds. */
        for (size_t cut = 0; cut < MIN(size, (size_t) 4096); cut += 7)
                if (ld_cache_parse(data, cut, &bad) >= 0)
                        bad = ld_cache_free(bad);
        ASSERT_ERROR(ld_cache_parse(data, 40, &bad), EBADMSG);
        ASSERT_ERROR(ld_cache_parse("garbage", 7, &bad), EBADMSG);
#if defined(__x86_64__)
        const char *libc = ld_cache_lookup(c, "libc.so.6", ELFCLASS64, EM_X86_64, /* e_flags= */ 0);
        ASSERT_TRUE(libc && libc[0] == '/');
        /* Another ABI's entries do not count. */
        ASSERT_TRUE(!ld_cache_lookup(c, "libc.so.6", ELFCLASS64, EM_AARCH64, /* e_flags= */ 0));
        ASSERT_TRUE(!ld_cache_lookup(c, "libnonexistent.so.42", ELFCLASS64, EM_X86_64, /* e_flags= */ 0));
#endif
}

TEST(ldso_like_ldd) {
        static const char *const system_binaries[] = {
                "/bin/sh", "/usr/bin/python3", "/usr/bin/perl", "/usr/bin/ssh", "/usr/bin/gcc",
                "/usr/bin/openssl",
                "/usr/bin/meson",
        };
        _cleanup_free_ char *self = realpath("/proc/self/exe", NULL);

        if (!have_ldd)
                return;
        for (size_t i = 0; i < ELEMENTSOF(system_binaries); i++) {
                _cleanup_free_ char *real = realpath(system_binaries[i], NULL);
                _cleanup_close_ int fd = real ? open(real, O_RDONLY | O_CLOEXEC) : -EBADF;
                char magic[4];
                /* Only ELF files: /usr/bin/meson is a script, say. */
                if (fd >= 0 && read(fd, magic, 4) == 4 && memcmp(magic, ELFMAG, 4) == 0)
                        compare_with_ldd(system_binaries[i]);
        }
        /* This test itself: under the sanitizers it needs their runtimes too. */
        compare_with_ldd(self);

        /* (Not libraries: ldd names the loader after the one it runs, where a library has no PT_INTERP.) */
        const char *const ours[] = { "rpath-exe", "runpath-own-exe", "dotdot-exe" };
        for (size_t i = 0; i < ELEMENTSOF(ours); i++) {
                _cleanup_free_ char *p = layer_elf_path(ours[i]);
                compare_with_ldd(p);
        }
}

TEST(ldso_search_order) {
        _cleanup_(ld_cache_freep) LdCache *cache = system_cache();
        _cleanup_free_ char *rpath_exe = layer_elf_path("rpath-exe"),
                            *runpath_exe = layer_elf_path("runpath-exe"),
                            *own = layer_elf_path("runpath-own-exe"), *dir = strdup(rpath_exe);
        _cleanup_free_ char *lta = NULL, *ltb = NULL, *lc = NULL, *msg = NULL;
        _cleanup_strv_free_ char **l = NULL;

        *strrchr(dir, '/') = 0;
        lta = join(dir, "liblta.so");
        ltb = join(dir, "sub/libltb.so");
        lc = join(dir, "liblc.so");

        /* DT_RPATH serves the whole chain below the binary. */
        ASSERT_OK(resolve(rpath_exe, /* ld_library_path= */ NULL, cache, &l, &msg));
        ASSERT_TRUE(strv_contains(l, lta));
        ASSERT_TRUE(strv_contains(l, ltb));
        ASSERT_FALSE(strv_contains(l, rpath_exe)); /* not the binary itself */
        l = strv_free(l);

        /* DT_RUNPATH serves only its own object: liblta.so's need of libltb.so is not met. */
        ASSERT_ERROR(resolve(runpath_exe, /* ld_library_path= */ NULL, cache, &l, &msg), ENOENT);
        fprintf(stderr, "expected failure: %s\n", msg);
        ASSERT_TRUE(strstr(msg, "'libltb.so'") && strstr(msg, "liblta.so") && strstr(msg, "runpath-exe"));
        if (have_ldd) {
                _cleanup_strv_free_ char **theirs = NULL;
                _cleanup_free_ char *missing = NULL;
                (void) ldd(runpath_exe, &theirs, &missing);
                ASSERT_STREQ(missing, "libltb.so");
        }

        /* An object's own DT_RUNPATH. */
        ASSERT_OK(resolve(own, /* ld_library_path= */ NULL, cache, &l, &msg));
        ASSERT_TRUE(strv_contains(l, lc));
        ASSERT_TRUE(strv_contains(l, ltb));
        l = strv_free(l);
        /* Paths are kept as the loader builds them, ".." and all. */
        _cleanup_free_ char *dotdot = layer_elf_path("dotdot-exe");
        _cleanup_free_ char *dd_lc = strjoin(dir, "/../layer-elf/./liblc.so");
        _cleanup_free_ char *dd_ltb = strjoin(dir, "/../layer-elf/./sub/libltb.so");
        ASSERT_OK(resolve(dotdot, /* ld_library_path= */ NULL, cache, &l, &msg));
        ASSERT_TRUE(strv_contains(l, dd_lc));
        ASSERT_TRUE(strv_contains(l, dd_ltb));
        l = strv_free(l);
        /* A library as the starting point works too. */
        ASSERT_OK(resolve(lc, /* ld_library_path= */ NULL, cache, &l, &msg));
        ASSERT_TRUE(strv_contains(l, ltb));
        ASSERT_FALSE(strv_contains(l, lc));
        l = strv_free(l);

        /* LD_LIBRARY_PATH, with an empty element and a trailing slash, reaches what the runpath misses. */
        _cleanup_free_ char *llp = strjoin("::", dir, "/sub//");
        ASSERT_OK(resolve(runpath_exe, llp, cache, &l, &msg));
        ASSERT_TRUE(strv_contains(l, ltb));
        l = strv_free(l);

        /* Moved away from its libraries, the binary cannot find them. */
        _cleanup_free_ char *tmp = make_temp_dir(), *copy = join(tmp, "rpath-exe"), *bytes = NULL;
        size_t size;
        ASSERT_OK(read_full_file(rpath_exe, 1 << 26, &bytes, &size));
        ASSERT_OK(write_file_atomic(copy, bytes, size, /* mode= */ 0755));
        ASSERT_ERROR(resolve(copy, /* ld_library_path= */ NULL, cache, &l, &msg), ENOENT);
        fprintf(stderr, "expected failure: %s\n", msg);
        ASSERT_TRUE(strstr(msg, "'liblta.so'") && strstr(msg, copy));
        /* Unless LD_LIBRARY_PATH says where; ldd agrees. */
        _cleanup_free_ char *llp2 = strjoin(dir, ":", dir, "/sub");
        ASSERT_TRUE(setenv("LD_LIBRARY_PATH", llp2, 1) >= 0);
        if (have_ldd)
                compare_with_ldd(copy);
        ASSERT_TRUE(unsetenv("LD_LIBRARY_PATH") >= 0);

        /* Not ELF; missing; static. */
        _cleanup_free_ char *text = join(tmp, "script");
        ASSERT_OK(write_file_atomic(text, "#!/bin/sh\n", /* size= */ 10, /* mode= */ 0755));
        ASSERT_ERROR(resolve(text, /* ld_library_path= */ NULL, cache, &l, &msg), ENOEXEC);
        ASSERT_TRUE(strstr(msg, text));
        _cleanup_free_ char *none = join(tmp, "none");
        ASSERT_ERROR(resolve(none, /* ld_library_path= */ NULL, cache, &l, &msg), ENOENT);
        ASSERT_TRUE(strstr(msg, none));
        if (access("/sbin/ldconfig", R_OK) >= 0) {
                _cleanup_strv_free_ char **theirs = NULL;
                _cleanup_free_ char *missing = NULL;
                ASSERT_OK(resolve("/sbin/ldconfig", /* ld_library_path= */ NULL, cache, &l, &msg));
                if (have_ldd) {
                        (void) ldd("/sbin/ldconfig", &theirs, &missing);
                        ASSERT_EQ(strv_length(theirs), strv_length(l));
                }
                l = strv_free(l);
        }
        rm_rf(tmp);
}

TEST(shared_library_dependencies_layer) {
        _cleanup_(env_done) Env e = {};
        _cleanup_free_ char *rpath_exe = layer_elf_path("rpath-exe"), *dir = strdup(rpath_exe), *msg = NULL;
        _cleanup_strv_free_ char **libs = NULL;
        _cleanup_(ld_cache_freep) LdCache *cache = system_cache();

        env_setup(&e);
        *strrchr(dir, '/') = 0;
        char *vars[] = { NULL, NULL };
        ASSERT_TRUE(asprintf(&vars[0], "elf=%s", dir) >= 0);
        LayerSpec spec = { .kind = LAYER_SHARED_LIBRARY_DEPENDENCIES,
                          .paths = (char *[]) { "<elf>/rpath-exe", NULL } };
        BuiltLayer *l = NULL;
        ASSERT_OK(layer_build(&spec, e.project, vars, e.cache, e.manifests, &l, &msg));
        free(vars[0]);
        _cleanup_(manifest_freep) Manifest *m = read_manifest(l);

        /* Each library at the path the loader opens (simplified), a regular file with the real content. */
        ASSERT_OK(resolve(rpath_exe, /* ld_library_path= */ NULL, cache, &libs, &msg));
        ASSERT_EQ(m->n_entries, strv_length(libs));
        STRV_FOREACH(p, libs) {
                _cleanup_free_ char *s = NULL;
                Digest d;
                ASSERT_OK(layer_path_simplify(*p, &s));
                const ManifestEntry *x = find_entry(m, s + 1);
                ASSERT_TRUE(x);
                ASSERT_EQ(x->type, MANIFEST_FILE);
                ASSERT_OK(digest_file(*p, &d, /* ret_size= */ NULL));
                ASSERT_TRUE(digest_equal(&d, &x->digest));
        }
        _cleanup_free_ char *ltb = join(dir + 1, "sub/libltb.so");
        ASSERT_TRUE(find_entry(m, ltb));
        ASSERT_TRUE(!find_entry(m, rpath_exe + 1));
        ASSERT_EQ(l->n_blobs, m->n_entries);
        built_layer_free(l);

        /* In the layer, ".." and "." are resolved. */
        _cleanup_free_ char *dotdot = layer_elf_path("dotdot-exe"), *lc = join(dir + 1, "liblc.so");
        LayerSpec dd = { .kind = LAYER_SHARED_LIBRARY_DEPENDENCIES, .paths = (char *[]) { dotdot, NULL } };
        _cleanup_free_ char *ddpaths = build_paths(&e, &dd);
        ASSERT_TRUE(strstr(ddpaths, lc) && strstr(ddpaths, ltb) && !strstr(ddpaths, ".."));

        /* strip_prefix and prepend_prefix apply too. */
        spec.paths = (char *[]) { rpath_exe, NULL };
        spec.prefix.strip_prefix = dir;
        spec.prefix.prepend_prefix = "/usr/lib";
        _cleanup_free_ char *paths = build_paths(&e, &spec);
        ASSERT_TRUE(strstr(paths, "usr/lib/liblta.so") && strstr(paths, "usr/lib/sub/libltb.so"));

        LayerSpec bad = { .kind = LAYER_SHARED_LIBRARY_DEPENDENCIES,
                         .paths = (char *[]) { "data/x.txt", NULL } };
        build_fails(&e, &bad, ENOEXEC, "data/x.txt");
}

TEST(elf_data_contains) {
        /* A string literal of this very test is in its read-only data; the same bytes reversed (made at run
         * time, so that no literal holds them) are not anywhere. */
        static const char literal[] = "elf_data_contains: a literal of the test (9f3a)";
        char reversed[sizeof(literal)];
        for (size_t i = 0; i < sizeof(literal) - 1; i++)
                reversed[i] = literal[sizeof(literal) - 2 - i];
        reversed[sizeof(literal) - 1] = 0;
        ASSERT_EQ(elf_data_contains("/proc/self/exe", literal), 1);
        ASSERT_EQ(elf_data_contains("/proc/self/exe", reversed), 0);
        ASSERT_ERROR(elf_data_contains("/proc/self/exe", ""), EINVAL);
        ASSERT_ERROR(elf_data_contains("/proc/self/cmdline", "x"), ENOEXEC);
        ASSERT_ERROR(elf_data_contains("/nonexistent/binary", "x"), ENOENT);
}

int main(void) {
        if (access("/usr/bin/ldd", X_OK) < 0 && access("/bin/ldd", X_OK) < 0) {
                fprintf(stderr, "ldd is missing: the comparisons with it are skipped\n");
                have_ldd = false;
        }

        RUN(path_simplify);
        RUN(template);
        RUN(brace_expand);
        RUN(glob_match);
        RUN(glob_pruning);
        RUN(tar);
        RUN(glob);
        RUN(glob_with_files_that_come_and_go);
        RUN(glob_skips_cache_directories);
        RUN(glob_does_not_descend_needlessly);
        RUN(paths);
        RUN(stubs);
        RUN(symlinks);
        RUN(prefix_options);
        RUN(determinism);
        RUN(digest_cache);
        RUN(digest_cache_ageing);
        RUN(file_that_changes_while_hashed);
        RUN(ld_cache);
        RUN(ldso_like_ldd);
        RUN(ldso_search_order);
        RUN(shared_library_dependencies_layer);
        RUN(elf_data_contains);
        return have_ldd ? 0 : EXIT_TEST_SKIP;
}
