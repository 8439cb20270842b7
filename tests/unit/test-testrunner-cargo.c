/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "layer/layer-template.h"
#include "testrunner/testrunner-cargo.h"
#include "test-layer-glob.h"

/* The fixtures in tests/unit/data/cargo were captured from cargo 1.95 on a workspace in "/tmp/cargo ws" (a
 * path with a space): see the README there. */
static char *fixture(const char *name, size_t *ret_size) {
        const char *root = getenv("MAELSTROM_SOURCE_ROOT");
        _cleanup_free_ char *path = NULL;
        char *text = NULL;

        ASSERT_TRUE(root);
        path = strjoin(root, "/tests/unit/data/cargo/", name);
        ASSERT_TRUE(path);
        ASSERT_OK(read_full_file(path, 1 << 20, &text, ret_size));
        return text;
}

static CargoMetadata *metadata(void) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        CargoMetadata *m = NULL;

        text = fixture("metadata.json", &size);
        ASSERT_OK(cargo_metadata_parse(text, size, &m, NULL));
        return m;
}

TEST(metadata) {
        _cleanup_(cargo_metadata_freep) CargoMetadata *m = metadata();

        ASSERT_STREQ(m->workspace_root, "/tmp/cargo ws");
        ASSERT_STREQ(m->target_directory, "/tmp/cargo ws/target");
        ASSERT_EQ(m->n_packages, 2u);

        const CargoPackage *a = cargo_metadata_find_package(m, "path+file:///tmp/cargo%20ws/alpha#0.1.0");
        ASSERT_TRUE(a == m->packages);
        ASSERT_STREQ(a->name, "alpha");
        ASSERT_STREQ(a->version, "0.1.0");
        ASSERT_STREQ(a->manifest_path, "/tmp/cargo ws/alpha/Cargo.toml");
        ASSERT_EQ(a->n_targets, 2u);
        ASSERT_STREQ(a->targets[0].name, "alpha");
        ASSERT_EQ(a->targets[0].kind, CARGO_TARGET_LIBRARY);
        ASSERT_STREQ(a->targets[0].kinds[0], "lib");
        ASSERT_STREQ(a->targets[0].crate_types[0], "lib");
        ASSERT_STREQ(a->targets[0].src_path, "/tmp/cargo ws/alpha/src/lib.rs");
        ASSERT_TRUE(a->targets[0].test);
        ASSERT_STREQ(a->targets[1].name, "integration");
        ASSERT_EQ(a->targets[1].kind, CARGO_TARGET_TEST);
        ASSERT_STREQ(a->targets[1].crate_types[0], "bin");

        const CargoPackage *b = cargo_metadata_find_package_by_name(m, "beta");
        ASSERT_TRUE(b == m->packages + 1);
        ASSERT_STREQ(b->id, "path+file:///tmp/cargo%20ws/beta#0.2.0");
        ASSERT_EQ(b->n_targets, 1u);
        ASSERT_EQ(b->targets[0].kind, CARGO_TARGET_BINARY);
        ASSERT_TRUE(cargo_metadata_find_package(m, "alpha") == NULL);
        ASSERT_TRUE(cargo_metadata_find_package_by_name(m, "gamma") == NULL);

        /* What cargo test gives alpha's test executables at run time (as cargo 1.95 does; its fields are
         * null). */
        _cleanup_free_ char *env = strv_join(a->environment, "|");
        ASSERT_STREQ(env,
                     "CARGO_MANIFEST_DIR=/tmp/cargo ws/alpha|"
                     "CARGO_MANIFEST_PATH=/tmp/cargo ws/alpha/Cargo.toml|"
                     "CARGO_PKG_NAME=alpha|CARGO_PKG_VERSION=0.1.0|CARGO_PKG_VERSION_MAJOR=0|"
                     "CARGO_PKG_VERSION_MINOR=1|CARGO_PKG_VERSION_PATCH=0|CARGO_PKG_VERSION_PRE=|"
                     "CARGO_PKG_AUTHORS=|CARGO_PKG_DESCRIPTION=|CARGO_PKG_HOMEPAGE=|CARGO_PKG_REPOSITORY=|"
                     "CARGO_PKG_LICENSE=|CARGO_PKG_LICENSE_FILE=|CARGO_PKG_RUST_VERSION=|CARGO_PKG_README=");
}

#define ONE_PACKAGE(fields)                                                                             \
        "{\"version\":1,\"workspace_root\":\"/w\",\"target_directory\":\"/t\","                          \
        "\"workspace_members\":[\"x\"],\"packages\":[{\"id\":\"x\",\"name\":\"x\","                    \
        "\"manifest_path\":\"/w/x/Cargo.toml\",\"targets\":[]," fields "}]}"

TEST(package_environment) {
        _cleanup_(cargo_metadata_freep) CargoMetadata *m = NULL;
        _cleanup_free_ char *err = NULL;
        static const char text[] = ONE_PACKAGE(
                "\"version\":\"1.22.333-beta.1+build.5\",\"authors\":[\"A <a@x>\",\"B\"],"
                "\"description\":\"d\",\"homepage\":\"h\",\"repository\":\"r\",\"license\":\"MIT\","
                "\"license_file\":\"LICENSE\",\"rust_version\":\"1.70\",\"readme\":\"README.md\"");

        ASSERT_OK(cargo_metadata_parse(text, strlen(text), &m, &err));
        _cleanup_free_ char *env = strv_join(m->packages[0].environment, "|");
        ASSERT_STREQ(env,
                     "CARGO_MANIFEST_DIR=/w/x|CARGO_MANIFEST_PATH=/w/x/Cargo.toml|CARGO_PKG_NAME=x|"
                     "CARGO_PKG_VERSION=1.22.333-beta.1+build.5|CARGO_PKG_VERSION_MAJOR=1|"
                     "CARGO_PKG_VERSION_MINOR=22|CARGO_PKG_VERSION_PATCH=333|CARGO_PKG_VERSION_PRE=beta.1|"
                     "CARGO_PKG_AUTHORS=A <a@x>:B|CARGO_PKG_DESCRIPTION=d|CARGO_PKG_HOMEPAGE=h|"
                     "CARGO_PKG_REPOSITORY=r|CARGO_PKG_LICENSE=MIT|CARGO_PKG_LICENSE_FILE=LICENSE|"
                     "CARGO_PKG_RUST_VERSION=1.70|CARGO_PKG_README=README.md");

        /* Missing fields are empty; a version with build metadata only has no pre-release. */
        static const char bare[] = ONE_PACKAGE("\"version\":\"2.0.1+b\"");
        m = cargo_metadata_free(m);
        ASSERT_OK(cargo_metadata_parse(bare, strlen(bare), &m, &err));
        ASSERT_TRUE(strv_contains(m->packages[0].environment, "CARGO_PKG_VERSION_PATCH=1"));
        ASSERT_TRUE(strv_contains(m->packages[0].environment, "CARGO_PKG_VERSION_PRE="));
        ASSERT_TRUE(strv_contains(m->packages[0].environment, "CARGO_PKG_AUTHORS="));
        ASSERT_TRUE(strv_contains(m->packages[0].environment, "CARGO_PKG_HOMEPAGE="));

        /* A field of the wrong type is an error that names it. */
        static const char wrong[] = ONE_PACKAGE("\"version\":\"1.0.0\",\"homepage\":3");
        m = cargo_metadata_free(m);
        ASSERT_EQ(cargo_metadata_parse(wrong, strlen(wrong), &m, &err), -EBADMSG);
        ASSERT_TRUE(strstr(err, "package 'x': 'homepage' is not a string"));
}

TEST(target_kinds) {
        static const struct {
                const char *cargo;
                CargoTargetKind kind;
        } table[] = {
                { "lib", CARGO_TARGET_LIBRARY },        { "rlib", CARGO_TARGET_LIBRARY },
                { "dylib", CARGO_TARGET_LIBRARY },      { "cdylib", CARGO_TARGET_LIBRARY },
                { "staticlib", CARGO_TARGET_LIBRARY },  { "proc-macro", CARGO_TARGET_LIBRARY },
                { "bin", CARGO_TARGET_BINARY },         { "test", CARGO_TARGET_TEST },
                { "example", CARGO_TARGET_EXAMPLE },    { "bench", CARGO_TARGET_BENCHMARK },
        };
        CargoTargetKind k;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                char *kinds[] = { (char *) table[i].cargo, NULL };
                ASSERT_OK(cargo_target_kind_from_cargo(kinds, &k));
                ASSERT_EQ(k, table[i].kind);
        }
        /* A library built as several crate types: the first kind that maps. */
        char *several[] = { (char *) "custom-build", (char *) "cdylib", (char *) "rlib", NULL };
        ASSERT_OK(cargo_target_kind_from_cargo(several, &k));
        ASSERT_EQ(k, CARGO_TARGET_LIBRARY);
        char *build[] = { (char *) "custom-build", NULL }, *none[] = { NULL };
        ASSERT_ERROR(cargo_target_kind_from_cargo(build, &k), EINVAL);
        ASSERT_ERROR(cargo_target_kind_from_cargo(none, &k), EINVAL);

        /* A build script is kept, with no kind of ours. */
        const char *text =
                "{\"version\":1,\"workspace_root\":\"/w\",\"target_directory\":\"/w/t\","
                "\"workspace_members\":[\"p 1\"],"
                "\"packages\":[{\"id\":\"p 1\",\"name\":\"p\",\"version\":\"1\","
                "\"manifest_path\":\"/w/Cargo.toml\",\"targets\":[{\"name\":\"build-script-build\","
                "\"kind\":[\"custom-build\"],\"crate_types\":[\"bin\"],\"src_path\":\"/w/build.rs\"}]}]}";
        _cleanup_(cargo_metadata_freep) CargoMetadata *m = NULL;
        ASSERT_OK(cargo_metadata_parse(text, strlen(text), &m, NULL));
        ASSERT_EQ(m->packages[0].targets[0].kind, _CARGO_TARGET_KIND_INVALID);
        ASSERT_TRUE(m->packages[0].targets[0].test); /* absent: true, as cargo means it */
}

static void metadata_fails(const char *text, int error, const char *message) {
        _cleanup_(cargo_metadata_freep) CargoMetadata *m = NULL;
        _cleanup_free_ char *err = NULL;

        ASSERT_ERROR(cargo_metadata_parse(text, strlen(text), &m, &err), error);
        ASSERT_TRUE(m == NULL);
        ASSERT_CONTAINS(err, message);
}

TEST(metadata_errors) {
        metadata_fails("", EBADMSG, "not JSON");
        metadata_fails("{\"version\":1", EBADMSG, "not JSON");
        metadata_fails("{} x", EBADMSG, "trailing text");
        metadata_fails("[1]", EBADMSG, "not a JSON object");
        metadata_fails("{}", EBADMSG, "'version' is not 1");
        metadata_fails("{\"version\":2}", EBADMSG, "'version' is not 1");
        metadata_fails("{\"version\":1}", EBADMSG, "'workspace_root' is missing");
        metadata_fails("{\"version\":1,\"workspace_root\":3}", EBADMSG, "'workspace_root' is not a string");
        metadata_fails("{\"version\":1,\"workspace_root\":\"a\\u0000b\"}", EBADMSG,
                       "'workspace_root' is not a string");
        metadata_fails("{\"version\":1,\"workspace_root\":\"/w\",\"target_directory\":\"/t\"}", EBADMSG,
                       "'workspace_members' is missing");
        metadata_fails("{\"version\":1,\"workspace_root\":\"/w\",\"target_directory\":\"/t\","
                       "\"workspace_members\":[\"x\"],\"packages\":[]}", EBADMSG,
                       "workspace member 'x' is not in 'packages'");
        metadata_fails("{\"version\":1,\"workspace_root\":\"/w\",\"target_directory\":\"/t\","
                       "\"workspace_members\":[\"x\",\"x\"],\"packages\":[{\"id\":\"x\",\"name\":\"x\","
                       "\"version\":\"1\",\"manifest_path\":\"/m\",\"targets\":[]}]}", EBADMSG,
                       "workspace member 'x' is listed twice");
        metadata_fails("{\"version\":1,\"workspace_root\":\"/w\",\"target_directory\":\"/t\","
                       "\"workspace_members\":[\"x\"],\"packages\":[{\"id\":\"x\",\"name\":\"x\","
                       "\"version\":\"1\",\"manifest_path\":\"/m\","
                       "\"targets\":[{\"name\":\"t\",\"src_path\":\"/s\",\"kind\":\"lib\"}]}]}",
                       EBADMSG, "package 'x': target 1: 'kind' is not an array");
        metadata_fails("{\"version\":1,\"workspace_root\":\"/w\",\"target_directory\":\"/t\","
                       "\"workspace_members\":[\"x\"],\"packages\":[{\"id\":\"x\",\"name\":\"x\","
                       "\"version\":\"1\",\"manifest_path\":\"/m\","
                       "\"targets\":[{\"name\":\"t\",\"kind\":[\"lib\"],"
                       "\"crate_types\":[],\"src_path\":\"/s\",\"test\":\"yes\"}]}]}",
                       EBADMSG, "target 1: 'test' is not a boolean");

        /* Too deep to be metadata. */
        _cleanup_free_ char *deep = NULL;
        ASSERT_TRUE(deep = malloc(2 * 1000 + 1));
        memset(deep, '[', 1000);
        memset(deep + 1000, ']', 1000);
        deep[2000] = 0;
        metadata_fails(deep, EBADMSG, "not JSON");
}

typedef struct Events {
        char **lines; /* one string per event */
        unsigned n_artifacts, n_messages, n_finished;
        int stop_with; /* returned by the callback once set */
} Events;

static int on_event(const CargoBuildEvent *e, void *userdata) {
        Events *ev = userdata;
        _cleanup_free_ char *s = NULL;

        if (ev->stop_with < 0)
                return ev->stop_with;
        switch (e->type) {
        case CARGO_BUILD_EVENT_ARTIFACT:
                ev->n_artifacts++;
                ASSERT_TRUE(asprintf(&s, "%u artifact %s %s %s %s %s", e->line, e->package_id,
                                     e->package_name, e->target_name,
                                     cargo_target_kind_to_string(e->target_kind),
                                     e->executable) >= 0);
                break;
        case CARGO_BUILD_EVENT_BINARY:
                ASSERT_TRUE(asprintf(&s, "%u binary %s %s %s %s", e->line, e->package_id, e->package_name,
                                     e->target_name, e->executable) >= 0);
                break;
        case CARGO_BUILD_EVENT_MESSAGE:
                ev->n_messages++;
                ASSERT_TRUE(asprintf(&s, "%u message %s", e->line, e->rendered) >= 0);
                break;
        case CARGO_BUILD_EVENT_FINISHED:
                ev->n_finished++;
                ASSERT_TRUE(asprintf(&s, "%u finished %s", e->line, e->success ? "ok" : "failed") >= 0);
                break;
        case CARGO_BUILD_EVENT_BUILD_SCRIPT: {
                _cleanup_free_ char *paths = strv_join(e->linked_paths, "|");
                ASSERT_TRUE(paths);
                ASSERT_TRUE(asprintf(&s, "%u build-script %s", e->line, paths) >= 0);
                break;
        }
        case _CARGO_BUILD_EVENT_TYPE_MAX:
        case _CARGO_BUILD_EVENT_TYPE_INVALID:
                abort();
        }
        ASSERT_OK(strv_consume(&ev->lines, TAKE_PTR(s)));
        return 0;
}

/* Feeds text in pieces of chunk bytes (0: all at once); returns what finish returns. */
static int feed(const CargoMetadata *m, const char *text, size_t size, size_t chunk, Events *ev,
                char **err) {
        _cleanup_(cargo_build_parser_freep) CargoBuildParser *p = NULL;
        int r;

        ASSERT_OK(cargo_build_parser_new(m, on_event, ev, &p));
        if (chunk == 0)
                chunk = size;
        for (size_t i = 0; i < size; i += chunk) {
                r = cargo_build_parser_feed(p, text + i, MIN(chunk, size - i), err);
                if (r < 0) {
                        /* It stays failed. */
                        ASSERT_EQ(cargo_build_parser_feed(p, "\n", 1, NULL), r);
                        ASSERT_EQ(cargo_build_parser_finish(p, NULL), r);
                        return r;
                }
        }
        return cargo_build_parser_finish(p, err);
}

TEST(build_ok) {
        _cleanup_(cargo_metadata_freep) CargoMetadata *m = metadata();
        _cleanup_free_ char *text = NULL, *joined = NULL;
        size_t size;

        text = fixture("build-ok.jsonl", &size);
        /* Whole, a byte at a time, and in odd pieces: the same events. */
        for (size_t chunk = 0; chunk <= 7; chunk++) {
                _cleanup_strv_free_ char **lines = NULL;
                Events ev = {};

                ASSERT_EQ(ASSERT_OK(feed(m, text, size, chunk, &ev, NULL)), 1);
                lines = ev.lines;
                ASSERT_EQ(ev.n_artifacts, 3u);
                ASSERT_EQ(ev.n_messages, 0u);
                ASSERT_EQ(ev.n_finished, 1u);
                _cleanup_free_ char *j = strv_join(lines, "\n");
                ASSERT_TRUE(j);
                if (!joined)
                        joined = TAKE_PTR(j);
                else
                        ASSERT_STREQ(j, joined);
        }
        ASSERT_STREQ(joined,
                     "2 artifact path+file:///tmp/cargo%20ws/alpha#0.1.0 alpha alpha library "
                     "/tmp/cargo ws/target/debug/deps/alpha-e62994b938fd5803\n"
                     "3 artifact path+file:///tmp/cargo%20ws/alpha#0.1.0 alpha integration test "
                     "/tmp/cargo ws/target/debug/deps/integration-800a6e2bd2f0b5e6\n"
                     "4 artifact path+file:///tmp/cargo%20ws/beta#0.2.0 beta beta binary "
                     "/tmp/cargo ws/target/debug/deps/beta-ab12685d26b37dcd\n"
                     "5 finished ok");
}

TEST(build_failed) {
        _cleanup_(cargo_metadata_freep) CargoMetadata *m = metadata();
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        _cleanup_strv_free_ char **lines = NULL, **lines2 = NULL;
        size_t size, size2;
        Events ev = {}, ev2 = {};

        /* json-render-diagnostics: cargo printed the diagnostics itself, so only the artifacts remain. */
        text = fixture("build-fail.jsonl", &size);
        ASSERT_EQ(ASSERT_OK(feed(m, text, size, 0, &ev, NULL)), 0);
        lines = ev.lines;
        ASSERT_EQ(ev.n_artifacts, 1u);
        ASSERT_EQ(strv_length(lines), 2u);
        ASSERT_STREQ(lines[1], "3 finished failed");

        /* --message-format=json: the messages come through with their rendering. */
        text2 = fixture("build-fail-messages.jsonl", &size2);
        ASSERT_EQ(ASSERT_OK(feed(m, text2, size2, 100, &ev2, NULL)), 0);
        lines2 = ev2.lines;
        ASSERT_EQ(ev2.n_artifacts, 1u);
        ASSERT_EQ(ev2.n_messages, 2u);
        ASSERT_TRUE(startswith(lines2[1],
                               "3 message error[E0308]: mismatched types\n  --> alpha/src/lib.rs:13:30\n"));
        ASSERT_STREQ(lines2[2],
                     "4 message For more information about this error, try `rustc --explain E0308`.\n");
        ASSERT_STREQ(lines2[3], "5 finished failed");
}

static void build_fails(const CargoMetadata *m, const char *text, int error, const char *message) {
        _cleanup_free_ char *err = NULL;
        Events ev = {};

        ASSERT_EQ(feed(m, text, strlen(text), 0, &ev, &err), -error);
        strv_free(ev.lines);
        ASSERT_CONTAINS(err, message);
}

#define ALPHA "path+file:///tmp/cargo%20ws/alpha#0.1.0"
#define BINARY(id, executable)                                                                          \
        "{\"reason\":\"compiler-artifact\",\"package_id\":\"" id "\",\"target\":{\"kind\":[\"bin\"],"   \
        "\"name\":\"b\"},\"profile\":{\"test\":false},\"executable\":" executable "}\n"
#define ARTIFACT(id, profile_test, executable)                                                          \
        "{\"reason\":\"compiler-artifact\",\"package_id\":\"" id "\",\"target\":{\"kind\":[\"test\"],"  \
        "\"name\":\"t\"},\"profile\":{\"test\":" profile_test "},\"executable\":" executable "}\n"

TEST(build_errors) {
        _cleanup_(cargo_metadata_freep) CargoMetadata *m = metadata();
        build_fails(m, "", EBADMSG, "ended after 0 lines without build-finished");
        build_fails(m, "{\"reason\":\"build-script-executed\"}\n", EBADMSG, "without build-finished");
        build_fails(m, "not json\n", EBADMSG, "line 1: not JSON");
        build_fails(m, "\n{\"reason\":\"x\"} {}\n", EBADMSG, "line 2: not JSON: trailing text");
        build_fails(m, "{\"reason\":\"x\"}\n{\"reason\":\n", EBADMSG, "line 2: not JSON");
        build_fails(m, "[]\n", EBADMSG, "line 1: not a JSON object");
        /* NUL bytes are neither blank lines nor whitespace after a value. */
        Events nul = {};
        _cleanup_free_ char *nul_err = NULL;
        ASSERT_EQ(feed(m, "\0\0\n", 3, 0, &nul, &nul_err), -EBADMSG);
        ASSERT_TRUE(nul_err && strstr(nul_err, "line 1: not JSON"));
        nul_err = mfree(nul_err);
        ASSERT_EQ(feed(m, "{\"reason\":\"x\"}\0\n", 16, 0, &nul, &nul_err), -EBADMSG);
        ASSERT_TRUE(nul_err && strstr(nul_err, "line 1: not JSON: trailing text"));
        ASSERT_TRUE(nul.lines == NULL);
        build_fails(m, "{\"success\":true}\n", EBADMSG, "line 1: 'reason' is missing");
        build_fails(m, "{\"reason\":7}\n", EBADMSG, "line 1: 'reason' is not a string");
        build_fails(m, "{\"reason\":\"build-finished\"}\n", EBADMSG,
                    "line 1: build-finished: 'success' is missing");
        build_fails(m, "{\"reason\":\"build-finished\",\"success\":true}\n"
                    "{\"reason\":\"build-finished\",\"success\":true}\n",
                    EBADMSG, "line 2: 'build-finished' after build-finished");
        build_fails(m, "{\"reason\":\"compiler-message\"}\n", EBADMSG,
                    "line 1: compiler-message: 'message' is missing");
        build_fails(m, "{\"reason\":\"compiler-message\",\"message\":{\"rendered\":1}}\n", EBADMSG,
                    "line 1: compiler-message: message: 'rendered' is not a string");
        build_fails(m, ARTIFACT("nope", "true", "\"/x\""), EBADMSG,
                    "package 'nope' is not a workspace member");
        build_fails(m, "{\"reason\":\"compiler-artifact\",\"executable\":\"/x\"}\n", EBADMSG,
                    "line 1: compiler-artifact: 'profile' is missing");
        build_fails(m, "{\"reason\":\"compiler-artifact\",\"executable\":3}\n", EBADMSG,
                    "line 1: compiler-artifact: 'executable' is not a string");
        build_fails(m, "{\"reason\":\"compiler-artifact\",\"executable\":\"/x\","
                    "\"profile\":{\"test\":true}}\n",
                    EBADMSG, "line 1: compiler-artifact: 'package_id' is missing");
        build_fails(m, ARTIFACT(ALPHA, "1", "\"/x\""), EBADMSG,
                    "line 1: compiler-artifact: profile: 'test' is not a boolean");

        build_fails(m, "{\"reason\":\"compiler-artifact\",\"package_id\":\"" ALPHA "\","
                    "\"profile\":{\"test\":true},\"executable\":\"/x\",\"target\":{\"kind\":[\"test\"]}}\n",
                    EBADMSG, "line 1: compiler-artifact: target: 'name' is missing");
        build_fails(m, "{\"reason\":\"compiler-artifact\",\"package_id\":\"" ALPHA "\","
                    "\"profile\":{\"test\":true},\"executable\":\"/x\","
                    "\"target\":{\"name\":\"t\",\"kind\":[1]}}\n",
                    EBADMSG, "line 1: compiler-artifact: target: 'kind' item 1 is not a string");
        build_fails(m, "{\"reason\":\"compiler-artifact\",\"profile\":{\"test\":true},"
                    "\"executable\":\"\"}\n",
                    EBADMSG, "line 1: compiler-artifact: 'executable' is empty");
        build_fails(m, "{\"reason\":\"x\"}\n{\"reason\":\"x\",\"a\":\"\xff\"}\n", EBADMSG,
                    "line 2: not JSON");

        /* Unknown reasons, libraries, non-test executables but a member's binaries, and build scripts are
         * skipped. */
        _cleanup_free_ char *ok = strjoin(
                "{\"reason\":\"build-script-executed\",\"whatever\":[1,2]}\n\r\n\n",
                ARTIFACT(ALPHA, "true", "null"),
                ARTIFACT(ALPHA, "false", "\"/an/example\""),
                BINARY(ALPHA, "\"/bin/for/integration tests\""),
                BINARY("some-dependency", "\"/its/binary\""),
                "{\"reason\":\"compiler-artifact\",\"package_id\":\"" ALPHA "\","
                "\"target\":{\"kind\":[\"custom-build\"],"
                "\"name\":\"build-script-build\"},\"profile\":{\"test\":true},\"executable\":\"/b\"}\n",
                "{\"reason\":\"compiler-message\",\"message\":{\"level\":\"note\"}}\n",
                ARTIFACT(ALPHA, "true", "\"/with space/t-1\""),
                "{\"reason\":\"build-finished\",\"success\":true}");  /* no newline at the end */
        Events ev = {};
        ASSERT_TRUE(ok);
        ASSERT_EQ(ASSERT_OK(feed(m, ok, strlen(ok), 3, &ev, NULL)), 1);
        ASSERT_EQ(strv_length(ev.lines), 3u);
        ASSERT_STREQ(ev.lines[0], "6 binary " ALPHA " alpha b /bin/for/integration tests");
        ASSERT_STREQ(ev.lines[1], "10 artifact " ALPHA " alpha t test /with space/t-1");
        ASSERT_STREQ(ev.lines[2], "11 finished ok");
        ev.lines = strv_free(ev.lines);

        /* The callback's error stops the parser and comes back as it is. */
        ev = (Events) { .stop_with = -ECANCELED };
        ASSERT_EQ(feed(m, ok, strlen(ok), 0, &ev, NULL), -ECANCELED);

        /* A line longer than the limit. */
        _cleanup_(cargo_build_parser_freep) CargoBuildParser *p = NULL;
        _cleanup_free_ char *big = malloc(1 << 20), *err = NULL;
        ASSERT_TRUE(big);
        memset(big, ' ', 1 << 20);
        ASSERT_OK(cargo_build_parser_new(m, on_event, &ev, &p));
        int r = 0;
        for (unsigned i = 0; i <= CARGO_BUILD_LINE_MAX / (1 << 20) && r >= 0; i++)
                r = cargo_build_parser_feed(p, big, 1 << 20, &err);
        ASSERT_EQ(r, -E2BIG);
        ASSERT_STREQ(err, "line 1: longer than 16777216 bytes");
}

static char **list(const char *text, size_t size) {
        char **l = NULL;

        ASSERT_OK(cargo_test_list_parse(text, size, &l, NULL));
        ASSERT_TRUE(l);
        return l;
}

TEST(build_script) {
        _cleanup_(cargo_metadata_freep) CargoMetadata *m = metadata();
        _cleanup_strv_free_ char **lines = NULL;
        Events ev = {};
        const char *text =
                "{\"reason\":\"build-script-executed\",\"package_id\":\"" ALPHA "\","
                "\"linked_libs\":[\"foo\"],\"linked_paths\":[\"native=/t/target/debug/build/a-1/out\","
                "\"/opt/lib\",\"dependency=/d=x\",\"/odd=name\"],\"cfgs\":[],\"env\":[],"
                "\"out_dir\":\"/t/target/debug/build/a-1/out\"}\n"
                "{\"reason\":\"build-script-executed\",\"package_id\":\"" ALPHA "\",\"linked_libs\":[],"
                "\"linked_paths\":[],\"cfgs\":[],\"env\":[],\"out_dir\":\"/o\"}\n"
                "{\"reason\":\"build-finished\",\"success\":true}\n";

        /* The KIND= prefix goes, an '=' after the first '/' stays; a script that names no directory says
         * nothing. */
        ASSERT_EQ(ASSERT_OK(feed(m, text, strlen(text), 0, &ev, NULL)), 1);
        lines = ev.lines;
        _cleanup_free_ char *j = strv_join(lines, "\n");
        ASSERT_STREQ(j, "1 build-script /t/target/debug/build/a-1/out|/opt/lib|/d=x|/odd=name\n"
                        "3 finished ok");

        /* One without a list of strings is skipped. */
        const char *odd = "{\"reason\":\"build-script-executed\"}\n"
                          "{\"reason\":\"build-script-executed\",\"linked_paths\":[1]}\n"
                          "{\"reason\":\"build-finished\",\"success\":true}\n";
        Events ev2 = {};
        ASSERT_EQ(ASSERT_OK(feed(m, odd, strlen(odd), 0, &ev2, NULL)), 1);
        ASSERT_EQ(strv_length(ev2.lines), 1u);
        ASSERT_STREQ(ev2.lines[0], "3 finished ok");
        strv_free(ev2.lines);
}

TEST(test_list) {
        _cleanup_free_ char *all = NULL, *ignored = NULL, *none = NULL;
        _cleanup_strv_free_ char **a = NULL, **i = NULL, **n = NULL, **mixed = NULL;
        size_t size;

        all = fixture("list-alpha.txt", &size);
        a = list(all, size);
        ASSERT_EQ(strv_length(a), 2u);
        ASSERT_STREQ(a[0], "tests::it_adds");
        ASSERT_STREQ(a[1], "tests::slow_one");

        ignored = fixture("list-alpha-ignored.txt", &size);
        i = list(ignored, size);
        ASSERT_EQ(strv_length(i), 1u);
        ASSERT_STREQ(i[0], "tests::slow_one");

        none = fixture("list-integration-ignored.txt", &size);
        ASSERT_EQ(size, 0u);
        n = list(none, size);
        ASSERT_TRUE(strv_isempty(n));

        /* Benchmarks are not cases; CRLF, blank lines and a missing last newline are fine; names keep
         * their spaces and colons. */
        const char *text = "b::bench_it: benchmark\r\na b::c: test\r\n\nx: y: test\nlast: test";
        mixed = list(text, strlen(text));
        ASSERT_EQ(strv_length(mixed), 3u);
        ASSERT_STREQ(mixed[0], "a b::c");
        ASSERT_STREQ(mixed[1], "x: y");
        ASSERT_STREQ(mixed[2], "last");

        static const struct {
                const char *text;
                const char *message;
        } bad[] = {
                { "running 2 tests\n",
                  "line 1: expected 'NAME: test' or 'NAME: benchmark', got 'running 2 tests'" },
                { "a: test\nb: doctest\n", "line 2: expected" },
                { ": test\n", "line 1: empty test name" },
                { "a: tests\n", "line 1: expected" },
        };
        for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                _cleanup_strv_free_ char **l = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_ERROR(cargo_test_list_parse(bad[k].text, strlen(bad[k].text), &l, &err), EBADMSG);
                ASSERT_TRUE(l == NULL);
                ASSERT_TRUE(err && strstr(err, bad[k].message));
        }
        _cleanup_strv_free_ char **l = NULL;
        ASSERT_ERROR(cargo_test_list_parse("a\0b: test\n", 10, &l, NULL), EBADMSG);
}

TEST(argv) {
        _cleanup_strv_free_ char **c = NULL, **c2 = NULL, **b = NULL, **b2 = NULL;
        _cleanup_free_ char *s = NULL, *s2 = NULL, *s3 = NULL;
        char *extra[] = { (char *) "--nocapture", (char *) "--test-threads=1", (char *) "--exact",
                          (char *) "--show-output", (char *) "--no-capture", NULL };
        char *pkgs[] = { (char *) "alpha", (char *) "beta", NULL };
        char *features[] = { (char *) "a b", (char *) "c", NULL };

        ASSERT_OK(cargo_case_argv("/tmp/cargo ws/target/debug/deps/alpha-e62994b938fd5803", "tests::it_adds",
                                  extra, &c));
        ASSERT_TRUE(s = strv_join(c, "|"));
        ASSERT_STREQ(s, "/tmp/cargo ws/target/debug/deps/alpha-e62994b938fd5803|--exact|--nocapture|"
                        "tests::it_adds|--test-threads=1|--show-output");
        ASSERT_OK(cargo_case_argv("/x", "a b", /* extra_args= */ NULL, &c2));
        ASSERT_EQ(strv_length(c2), 4u);
        ASSERT_STREQ(c2[3], "a b");
        ASSERT_ERROR(cargo_case_argv("", "a", NULL, &c2), EINVAL);

        ASSERT_OK(cargo_build_argv(/* opts= */ NULL, /* packages= */ NULL, &b));
        ASSERT_TRUE(s2 = strv_join(b, " "));
        ASSERT_STREQ(s2, "cargo test --no-run --message-format=json-render-diagnostics --workspace");

        CargoBuildOptions o = {
                .features = features,
                .all_features = true,
                .no_default_features = true,
                .profile = "release",
                .target = "x86_64-unknown-linux-gnu",
                .target_dir = "/t d",
                .manifest_path = "/w/Cargo.toml",
                .frozen = true,
                .locked = true,
                .offline = true,
        };
        ASSERT_OK(cargo_build_argv(&o, pkgs, &b2));
        ASSERT_TRUE(s3 = strv_join(b2, "|"));
        ASSERT_STREQ(s3, "cargo|test|--no-run|--message-format=json-render-diagnostics|"
                         "--features|a b|--features|c|--all-features|--no-default-features|"
                         "--profile|release|--target|x86_64-unknown-linux-gnu|--target-dir|/t d|"
                         "--manifest-path|/w/Cargo.toml|--frozen|--locked|--offline|-p|alpha|-p|beta");
        char *empty_name[] = { (char *) "", NULL };
        ASSERT_ERROR(cargo_build_argv(&o, empty_name, &b2), EINVAL);
}

static void extra_args_refused(char **args, const char *needle) {
        _cleanup_free_ char *err = NULL;

        ASSERT_ERROR(cargo_extra_args_check(args, &err), EINVAL);
        ASSERT_CONTAINS(err, needle);
}

#define ARGS(...) ((char *[]) { __VA_ARGS__, NULL })

TEST(extra_args_check) {
        ASSERT_OK(cargo_extra_args_check(NULL, NULL));
        ASSERT_OK(cargo_extra_args_check(ARGS("--nocapture", "--test-threads=2", "--show-output",
                                              "--skipper", "--include-ignored", "--listing"), NULL));
        extra_args_refused(ARGS("--skip", "tests::adds"),
                           "'--skip' for the test executables: each case runs alone, as --exact NAME; to "
                           "leave cases out, use --exclude 'name.contains(NAME)'");
        extra_args_refused(ARGS("--nocapture", "--skip=slow"), "'--skip=slow' for the test executables");
        extra_args_refused(ARGS("--list"), "use --list-tests");
        extra_args_refused(ARGS("--bench"), "benchmarks are not run here");
}

TEST(case_ran_nothing) {
        /* As libtest (rust 1.95) prints it when --exact NAME matches no test, and when it ran one. */
        static const char none[] = "\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; "
                                   "0 measured; 4 filtered out; finished in 0.00s\n\n";
        static const char ran[] = "\nrunning 1 test\ntest tests::a ... ok\n\ntest result: ok. 1 passed; "
                                  "0 failed; 0 ignored; 0 measured; 3 filtered out; finished in 0.00s\n\n";

        ASSERT_TRUE(cargo_case_ran_nothing(none, strlen(none)));
        ASSERT_FALSE(cargo_case_ran_nothing(ran, strlen(ran)));
        ASSERT_FALSE(cargo_case_ran_nothing("", 0));
}

TEST(profile_dir) {
        static const struct {
                const char *target, *profile, *expected;
        } table[] = {
                { NULL, NULL, "/t/debug" },
                { NULL, "dev", "/t/debug" },
                { NULL, "test", "/t/debug" },
                { NULL, "release", "/t/release" },
                { NULL, "bench", "/t/release" },
                { NULL, "ci", "/t/ci" },
                { "aarch64-unknown-linux-gnu", "release", "/t/aarch64-unknown-linux-gnu/release" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *d = NULL;
                ASSERT_OK(cargo_profile_dir("/t", table[i].target, table[i].profile, &d));
                ASSERT_STREQ(d, table[i].expected);
        }
}

TEST(event_type_strings) {
        for (int t = 0; t < _CARGO_BUILD_EVENT_TYPE_MAX; t++)
                ASSERT_EQ(cargo_build_event_type_from_string(cargo_build_event_type_to_string(t)), t);
        ASSERT_EQ(cargo_build_event_type_from_string("nope"), _CARGO_BUILD_EVENT_TYPE_INVALID);
}

TEST(package_layer) {
        _cleanup_free_ char *prefix = NULL, *message = NULL;
        LayerSpec l = {};

        /* A member: its top's files, and its target directories with everything below them. */
        ASSERT_OK(cargo_package_layer("/w/s", "/w/s/crates/a", &l));
        ASSERT_EQ(l.kind, LAYER_GLOB);
        ASSERT_STREQ(l.path, "crates/a/{*,src/**,tests/**,benches/**,examples/**}");
        ASSERT_STREQ(l.prefix.prepend_prefix, "/w/s");
        ASSERT_TRUE(!l.prefix.strip_prefix);
        ASSERT_TRUE(l.skip_cache_directories); /* a fixture's target/ */
        ASSERT_TRUE(layer_takes(&l, "crates/a/Cargo.toml"));
        ASSERT_TRUE(layer_takes(&l, "crates/a/README.md"));
        ASSERT_TRUE(layer_takes(&l, "crates/a/src/lib.rs"));
        ASSERT_TRUE(layer_takes(&l, "crates/a/tests/res/graph.txt"));
        ASSERT_TRUE(layer_takes(&l, "crates/a/benches/b.rs"));
        ASSERT_TRUE(layer_takes(&l, "crates/a/examples/e/main.rs"));
        ASSERT_FALSE(layer_takes(&l, "crates/a/target/debug/a"));
        ASSERT_FALSE(layer_takes(&l, "crates/a/.git/index"));
        ASSERT_FALSE(layer_takes(&l, "crates/a/assets/big.bin"));
        ASSERT_FALSE(layer_takes(&l, "crates/b/src/lib.rs"));
        ASSERT_FALSE(layer_takes(&l, "crates/ab/src/lib.rs"));
        ASSERT_FALSE(layer_takes(&l, "Cargo.toml"));
        layer_spec_done(&l);

        /* The root package: not the members' directories. */
        ASSERT_OK(cargo_package_layer("/w/s", "/w/s", &l));
        ASSERT_STREQ(l.path, "{*,src/**,tests/**,benches/**,examples/**}");
        ASSERT_TRUE(layer_takes(&l, "Cargo.toml"));
        ASSERT_TRUE(layer_takes(&l, "tests/data/x"));
        ASSERT_FALSE(layer_takes(&l, "crates/a/src/lib.rs"));
        ASSERT_FALSE(layer_takes(&l, "target/tmp/x"));
        layer_spec_done(&l);

        /* Template and glob characters in the paths stay literal. */
        ASSERT_OK(cargo_package_layer("/w<x>", "/w<x>/a*b/{c,d}", &l));
        ASSERT_STREQ(l.path, "a\\*b/\\{c\\,d\\}/{*,src/**,tests/**,benches/**,examples/**}");
        ASSERT_TRUE(layer_takes(&l, "a*b/{c,d}/src/lib.rs"));
        ASSERT_FALSE(layer_takes(&l, "aXb/{c,d}/src/lib.rs"));
        ASSERT_OK(layer_template_expand(l.prefix.prepend_prefix, NULL, /* escape_glob= */ false, &prefix,
                                        &message));
        ASSERT_STREQ(prefix, "/w<x>");
        layer_spec_done(&l);

        ASSERT_ERROR(cargo_package_layer("/w/s", "/w/other", &l), EINVAL);
        ASSERT_ERROR(cargo_package_layer("/w/s", "/w/sx", &l), EINVAL);
        ASSERT_ERROR(cargo_package_layer("/w/s", "/w/s/../t", &l), EINVAL);
        ASSERT_ERROR(cargo_package_layer("w/s", "w/s/a", &l), EINVAL);
}

int main(void) {
        RUN(metadata);
        RUN(package_environment);
        RUN(target_kinds);
        RUN(metadata_errors);
        RUN(build_ok);
        RUN(build_failed);
        RUN(build_errors);
        RUN(build_script);
        RUN(test_list);
        RUN(argv);
        RUN(extra_args_check);
        RUN(case_ran_nothing);
        RUN(profile_dir);
        RUN(event_type_strings);
        RUN(package_layer);
        return 0;
}
