/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/process-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "layer/layer-glob.h"
#include "layer/layer-template.h"
#include "testrunner/testrunner-go.h"
#include "test-layer-glob.h"

/* Captured from go 1.26 (`go list -e -json=Dir,ImportPath,Name,TestGoFiles,XTestGoFiles,Module,Error ./...`)
 * on a module with a package whose clause differs from its directory, one with a syntax error, and one
 * without tests; trimmed of nothing. */
static const char GO_LIST[] =
        "{\n"
        "\t\"Dir\": \"/tmp/gt/m\",\n"
        "\t\"ImportPath\": \"example.com/m\",\n"
        "\t\"Name\": \"m\",\n"
        "\t\"Module\": {\n"
        "\t\t\"Path\": \"example.com/m\",\n"
        "\t\t\"Main\": true,\n"
        "\t\t\"Dir\": \"/tmp/gt/m\",\n"
        "\t\t\"GoMod\": \"/tmp/gt/m/go.mod\",\n"
        "\t\t\"GoVersion\": \"1.22\"\n"
        "\t},\n"
        "\t\"XTestGoFiles\": [\n"
        "\t\t\"m_test.go\"\n"
        "\t]\n"
        "}\n"
        "{\n"
        "\t\"Dir\": \"/tmp/gt/m/empty\",\n"
        "\t\"ImportPath\": \"example.com/m/empty\",\n"
        "\t\"Module\": {\n"
        "\t\t\"Path\": \"example.com/m\",\n"
        "\t\t\"Main\": true,\n"
        "\t\t\"Dir\": \"/tmp/gt/m\",\n"
        "\t\t\"GoMod\": \"/tmp/gt/m/go.mod\",\n"
        "\t\t\"GoVersion\": \"1.22\"\n"
        "\t},\n"
        "\t\"Error\": {\n"
        "\t\t\"ImportStack\": [\n"
        "\t\t\t\"example.com/m/empty\"\n"
        "\t\t],\n"
        "\t\t\"Pos\": \"empty/e.go:1:1\",\n"
        "\t\t\"Err\": \"expected 'package', found pack\"\n"
        "\t}\n"
        "}\n"
        "{\n"
        "\t\"Dir\": \"/tmp/gt/m/lib\",\n"
        "\t\"ImportPath\": \"example.com/m/lib\",\n"
        "\t\"Name\": \"lib\",\n"
        "\t\"Module\": {\n"
        "\t\t\"Path\": \"example.com/m\",\n"
        "\t\t\"Main\": true,\n"
        "\t\t\"Dir\": \"/tmp/gt/m\",\n"
        "\t\t\"GoMod\": \"/tmp/gt/m/go.mod\",\n"
        "\t\t\"GoVersion\": \"1.22\"\n"
        "\t}\n"
        "}\n"
        "{\n"
        "\t\"Dir\": \"/tmp/gt/m/pkg/a\",\n"
        "\t\"ImportPath\": \"example.com/m/pkg/a\",\n"
        "\t\"Name\": \"alpha\",\n"
        "\t\"Module\": {\n"
        "\t\t\"Path\": \"example.com/m\",\n"
        "\t\t\"Main\": true,\n"
        "\t\t\"Dir\": \"/tmp/gt/m\",\n"
        "\t\t\"GoMod\": \"/tmp/gt/m/go.mod\",\n"
        "\t\t\"GoVersion\": \"1.22\"\n"
        "\t},\n"
        "\t\"TestGoFiles\": [\n"
        "\t\t\"a_test.go\",\n"
        "\t\t\"b_test.go\"\n"
        "\t]\n"
        "}\n";

TEST(list_parse) {
        _cleanup_(go_package_list_freep) GoPackageList *l = NULL;

        ASSERT_OK(go_list_parse(GO_LIST, strlen(GO_LIST), &l, NULL));
        ASSERT_EQ(l->n_packages, 4u);

        const GoPackage *root = l->packages;
        ASSERT_STREQ(root->import_path, "example.com/m");
        ASSERT_STREQ(root->dir, "/tmp/gt/m");
        ASSERT_STREQ(root->name, "m");
        ASSERT_TRUE(strv_isempty(root->test_go_files));
        ASSERT_STREQ(root->xtest_go_files[0], "m_test.go");
        ASSERT_STREQ(root->module_path, "example.com/m");
        ASSERT_STREQ(root->module_dir, "/tmp/gt/m");
        ASSERT_TRUE(!root->error);
        ASSERT_TRUE(go_package_has_tests(root));
        ASSERT_STREQ(go_package_path(root), "");
        ASSERT_STREQ(go_package_relative_dir(root), "");

        const GoPackage *empty = l->packages + 1;
        ASSERT_TRUE(!empty->name);
        ASSERT_STREQ(empty->error, "expected 'package', found pack");
        ASSERT_FALSE(go_package_has_tests(empty));

        const GoPackage *lib = l->packages + 2;
        ASSERT_FALSE(go_package_has_tests(lib));
        ASSERT_TRUE(lib->test_go_files && lib->xtest_go_files);

        const GoPackage *a = l->packages + 3;
        ASSERT_STREQ(a->name, "alpha");
        ASSERT_EQ(strv_length(a->test_go_files), 2u);
        ASSERT_STREQ(go_package_path(a), "pkg/a");
        ASSERT_STREQ(go_package_relative_dir(a), "pkg/a");
}

TEST(list_parse_edges) {
        _cleanup_(go_package_list_freep) GoPackageList *l = NULL;
        _cleanup_free_ char *message = NULL;

        /* Nothing (./... matched no packages), whitespace, and objects with no separator. */
        ASSERT_OK(go_list_parse("", 0, &l, NULL));
        ASSERT_EQ(l->n_packages, 0u);
        l = go_package_list_free(l);
        ASSERT_OK(go_list_parse(" \n\t", 3, &l, NULL));
        ASSERT_EQ(l->n_packages, 0u);
        l = go_package_list_free(l);
        const char *two = "{\"ImportPath\":\"x\"}{\"ImportPath\":\"y\",\"Unknown\":[1,{}]}";
        ASSERT_OK(go_list_parse(two, strlen(two), &l, NULL));
        ASSERT_EQ(l->n_packages, 2u);
        ASSERT_STREQ(l->packages[1].import_path, "y");
        /* Not in a module (GOPATH mode): no package path. */
        ASSERT_TRUE(!l->packages[0].module_path);
        ASSERT_TRUE(!go_package_path(&l->packages[0]));
        ASSERT_TRUE(!go_package_relative_dir(&l->packages[0]));
        l = go_package_list_free(l);

        static const struct {
                const char *text;
                const char *message;
        } bad[] = {
                { "{\"Dir\":\"/x\"}", "go list: package 1: 'ImportPath' is missing" },
                { "{\"ImportPath\":\"x\"} {\"ImportPath\":5}",
                  "go list: package 2: 'ImportPath' is not a string" },
                { "{\"ImportPath\":\"\"}", "go list: package 1: 'ImportPath' is empty" },
                { "[1]", "go list: package 1: not a JSON object" },
                { "{\"ImportPath\":\"x\"", "go list: package 1: not JSON: unexpected end of data" },
                { "{\"ImportPath\":\"x\",\"TestGoFiles\":[\"a\",2]}",
                  "go list: package 1: 'TestGoFiles' item 2 is not a string" },
                { "{\"ImportPath\":\"x\",\"Module\":{\"Path\":\"m\"}}",
                  "go list: package 1: Module: 'Dir' is missing" },
                { "{\"ImportPath\":\"x\",\"Error\":{}}", "go list: package 1: Error: 'Err' is missing" },
                { "{\"ImportPath\":\"a\\u0000b\"}", "go list: package 1: 'ImportPath' is not a string" },
                { "{\"ImportPath\":\"x\"} garbage", "go list: package 2: not JSON: unexpected character" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                message = mfree(message);
                ASSERT_ERROR(go_list_parse(bad[i].text, strlen(bad[i].text), &l, &message), EBADMSG);
                ASSERT_TRUE(!l);
                fprintf(stderr, "  %s\n", message);
                ASSERT_TRUE(message && strstr(message, bad[i].message) == message);
        }

        /* Deep nesting is refused, not recursed into. */
        _cleanup_(textbuf_done) TextBuf deep = {};
        textbuf_append(&deep, "{\"ImportPath\":\"x\",\"y\":");
        for (int i = 0; i < 1000; i++)
                textbuf_append_char(&deep, '[');
        ASSERT_ERROR(go_list_parse(deep.data, deep.len, &l, NULL), EBADMSG);
        ASSERT_ERROR(go_list_parse("", GO_LIST_SIZE_MAX + 1, &l, &message), E2BIG);
}

TEST(list_argv) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL;

        ASSERT_OK(go_list_argv(&l));
        joined = strv_join(l, " ");
        ASSERT_STREQ(joined,
                     "go list -e -json=Dir,ImportPath,Name,TestGoFiles,XTestGoFiles,Module,Error ./...");
}

TEST(module_find) {
        char root[] = "/tmp/test-go-module-XXXXXX";
        _cleanup_free_ char *found = NULL, *deep = NULL, *gomod = NULL, *a = NULL, *b = NULL, *slash = NULL;

        ASSERT_TRUE(mkdtemp(root));
        a = strjoin(root, "/a");
        b = strjoin(root, "/a/b");
        deep = strjoin(root, "/a/b/c");
        slash = strjoin(root, "/a//");
        ASSERT_OK(mkdir_p(deep, 0755));
        gomod = strjoin(root, "/a/go.mod");
        ASSERT_OK(write_file_atomic(gomod, "module m\n", 9, 0644));

        ASSERT_OK(go_module_find(deep, &found));
        ASSERT_STREQ(found, a);
        found = mfree(found);

        /* Trailing slashes, and the module root itself. */
        ASSERT_OK(go_module_find(slash, &found));
        ASSERT_STREQ(found, a);
        found = mfree(found);

        /* A directory named go.mod does not count; the nearest file does. */
        free(gomod);
        gomod = strjoin(root, "/a/b/go.mod");
        ASSERT_OK(mkdir_p(gomod, 0755));
        ASSERT_OK(go_module_find(deep, &found));
        ASSERT_STREQ(found, a);
        found = mfree(found);
        ASSERT_OK(rmdir(gomod));
        ASSERT_OK(write_file_atomic(gomod, "module m/b\n", 11, 0644));
        ASSERT_OK(go_module_find(deep, &found));
        ASSERT_STREQ(found, b);
        found = mfree(found);

        ASSERT_ERROR(go_module_find(root, &found), ENOENT);
        ASSERT_ERROR(go_module_find("relative/dir", &found), EINVAL);

        char *rm[] = { (char *) "rm", (char *) "-rf", root, NULL };
        _cleanup_free_ char *out = NULL;
        ASSERT_EQ(process_capture(rm, NULL, NULL, 4096, &out, NULL), 0);
}

TEST(binary_name) {
        /* As go test -c -o DIR/ names them (checked against go 1.26). */
        static const struct {
                const char *import_path, *name;
        } table[] = {
                { "example.com/m", "m.test" },
                { "example.com/m/pkg/a", "a.test" },
                { "example.com/m/my_pkg", "my_pkg.test" },
                { "m", "m.test" },
                { "github.com/pelletier/go-toml/v2", "go-toml.test" },
                { "example.com/m/v10", "m.test" },
                { "example.com/m/v1", "v1.test" },
                { "example.com/m/v0", "v0.test" },
                { "example.com/m/v02", "v02.test" },
                { "example.com/m/v2x", "v2x.test" },
                { "example.com/m/v", "v.test" },
                { "v2", "v2.test" },
                { "example.com/m/v2/sub", "sub.test" },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *name = NULL;
                ASSERT_OK(go_binary_name(table[i].import_path, &name));
                ASSERT_STREQ(name, table[i].name);
        }
        char *name = NULL;
        ASSERT_ERROR(go_binary_name("", &name), EINVAL);
        ASSERT_ERROR(go_binary_name("m/", &name), EINVAL);
}

TEST(binary_slots) {
        char *names[] = { (char *) "util.test", (char *) "a.test", (char *) "util.test", (char *) "b.test",
                          (char *) "util.test", (char *) "a.test" };
        unsigned slots[ELEMENTSOF(names)];

        ASSERT_OK(go_binary_slots(names, ELEMENTSOF(names), slots));
        static const unsigned expected[] = { 0, 0, 1, 0, 2, 1 };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                ASSERT_EQ(slots[i], expected[i]);
        ASSERT_OK(go_binary_slots(NULL, 0, NULL));
}

TEST(build_argv) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL;
        char *one[] = { (char *) "m/a", NULL }, *two[] = { (char *) "m", (char *) "m/b", NULL };
        char *none[] = { NULL }, *empty[] = { (char *) "", NULL };

        ASSERT_OK(go_build_argv(NULL, "/c/bin/0/a.test", one, &l));
        joined = strv_join(l, " ");
        ASSERT_STREQ(joined, "go test -c -o /c/bin/0/a.test m/a");
        l = strv_free(l);
        joined = mfree(joined);
        ASSERT_OK(go_build_argv("off", "/c/bin/1/", two, &l));
        joined = strv_join(l, " ");
        ASSERT_STREQ(joined, "go test -c -o /c/bin/1/ -vet=off m m/b");
        l = strv_free(l);
        ASSERT_ERROR(go_build_argv(NULL, "", one, &l), EINVAL);
        ASSERT_ERROR(go_build_argv(NULL, "/o", none, &l), EINVAL);
        ASSERT_ERROR(go_build_argv(NULL, "/o", NULL, &l), EINVAL);
        ASSERT_ERROR(go_build_argv(NULL, "/o", empty, &l), EINVAL);
}

static bool endswith_verdict(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && streq(s + n - k, suffix);
}

/* Writes v into p as an n-byte field in the given byte order. */
static void put(uint8_t *p, size_t n, uint64_t v, bool big_endian) {
        for (size_t i = 0; i < n; i++)
                p[big_endian ? n - 1 - i : i] = (uint8_t) (v >> 8 * i);
}

/* A minimal ELF file as go links one: the header, two program headers (a PT_LOAD, then a PT_NOTE), and at
 * note_offset the notes "GNU" (type 3) and then "Go" (type 4) whose content is id.  Returns its size. */
static size_t make_elf(uint8_t *buf, size_t size, bool wide, bool big_endian, size_t note_offset,
                       const char *id) {
        size_t ph = wide ? 64 : 52, ph_size = wide ? 56 : 32, id_size = strlen(id);
        uint8_t *n = buf + note_offset;

        memset(buf, 0, size);
        memcpy(buf, "\x7f" "ELF", 4);
        buf[4] = wide ? 2 : 1;
        buf[5] = big_endian ? 2 : 1;
        put(buf + (wide ? 0x20 : 0x1c), wide ? 8 : 4, ph, big_endian);
        put(buf + (wide ? 0x36 : 0x2a), 2, ph_size, big_endian);
        put(buf + (wide ? 0x38 : 0x2c), 2, 2, big_endian);
        put(buf + ph, 4, 1, big_endian); /* PT_LOAD */
        put(buf + ph + ph_size, 4, 4, big_endian); /* PT_NOTE */
        put(buf + ph + ph_size + (wide ? 8 : 4), wide ? 8 : 4, note_offset, big_endian);
        put(buf + ph + ph_size + (wide ? 0x20 : 0x10), wide ? 8 : 4, 16 + 20 + 16 + ((id_size + 3) & ~3U),
            big_endian);
        /* "GNU", type 3, 20 bytes */
        put(n, 4, 4, big_endian);
        put(n + 4, 4, 20, big_endian);
        put(n + 8, 4, 3, big_endian);
        memcpy(n + 12, "GNU", 4);
        n += 16 + 20;
        put(n, 4, 4, big_endian);
        put(n + 4, 4, id_size, big_endian);
        put(n + 8, 4, 4, big_endian);
        memcpy(n + 12, "Go\0", 4);
        memcpy(n + 16, id, id_size);
        return note_offset + 16 + 20 + 16 + ((id_size + 3) & ~3U);
}

TEST(build_id) {
        static const char id[] = "aB-_/cD09/xyz";
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *found = NULL, *path = NULL, *long_id = NULL;
        char dir[] = "/tmp/test-go-build-id-XXXXXX";
        size_t size = GO_BUILD_ID_SEARCH_SIZE + 4096, n;

        buf = malloc(size);
        ASSERT_TRUE(buf);
        for (int wide = 0; wide < 2; wide++)
                for (int big_endian = 0; big_endian < 2; big_endian++) {
                        n = make_elf(buf, size, wide, big_endian, 0xf5c, id);
                        ASSERT_OK(go_build_id_find(buf, n, &found));
                        ASSERT_STREQ(found, id);
                        found = mfree(found);
                        /* Cut short anywhere inside the notes: not found. */
                        ASSERT_ERROR(go_build_id_find(buf, n - 1, &found), ENOENT);
                        ASSERT_ERROR(go_build_id_find(buf, 0xf5c + 20, &found), ENOENT);
                }

        /* Not ELF, or no Go note. */
        n = make_elf(buf, size, true, false, 0x200, id);
        ASSERT_ERROR(go_build_id_find(buf, 3, &found), ENOENT);
        buf[0] = 'x';
        ASSERT_ERROR(go_build_id_find(buf, n, &found), ENOENT);
        buf[0] = 0x7f;
        buf[0x200 + 36 + 12] = 'X';
        ASSERT_ERROR(go_build_id_find(buf, n, &found), ENOENT);
        buf[0x200 + 36 + 12] = 'G';
        buf[0x200 + 36 + 8] = 5;
        ASSERT_ERROR(go_build_id_find(buf, n, &found), ENOENT);
        buf[0x200 + 36 + 8] = 4;
        ASSERT_OK(go_build_id_find(buf, n, &found));
        found = mfree(found);
        /* A program header table past the data, or a note's size past its segment. */
        put(buf + 0x20, 8, size * 2, false);
        ASSERT_ERROR(go_build_id_find(buf, n, &found), ENOENT);
        put(buf + 0x20, 8, 64, false);
        put(buf + 0x200 + 36 + 4, 4, 1U << 31, false);
        ASSERT_ERROR(go_build_id_find(buf, n, &found), ENOENT);

        /* Empty, with a NUL, too long. */
        n = make_elf(buf, size, true, false, 0x200, "");
        ASSERT_ERROR(go_build_id_find(buf, n, &found), EBADMSG);
        n = make_elf(buf, size, true, false, 0x200, "abcd");
        buf[0x200 + 36 + 16 + 1] = 0;
        ASSERT_ERROR(go_build_id_find(buf, n, &found), EBADMSG);
        long_id = malloc(GO_BUILD_ID_MAX + 2);
        ASSERT_TRUE(long_id);
        memset(long_id, 'a', GO_BUILD_ID_MAX + 1);
        long_id[GO_BUILD_ID_MAX + 1] = 0;
        n = make_elf(buf, size, true, false, 0x200, long_id);
        ASSERT_ERROR(go_build_id_find(buf, n, &found), E2BIG);
        long_id[GO_BUILD_ID_MAX] = 0;
        n = make_elf(buf, size, true, false, 0x200, long_id);
        ASSERT_OK(go_build_id_find(buf, n, &found));
        ASSERT_EQ(strlen(found), (size_t) GO_BUILD_ID_MAX);
        found = mfree(found);
        ASSERT_TRUE(found == NULL);

        /* From a file: only its first GO_BUILD_ID_SEARCH_SIZE bytes count. */
        ASSERT_TRUE(mkdtemp(dir));
        path = strjoin(dir, "/x.test");
        ASSERT_ERROR(go_binary_build_id(path, &found), ENOENT);
        n = make_elf(buf, size, true, false, GO_BUILD_ID_SEARCH_SIZE - 68, id);
        ASSERT_OK(write_file_atomic(path, buf, size, 0755));
        ASSERT_OK(go_binary_build_id(path, &found));
        ASSERT_STREQ(found, id);
        found = mfree(found);
        n = make_elf(buf, size, true, false, GO_BUILD_ID_SEARCH_SIZE - 40, id);
        ASSERT_OK(write_file_atomic(path, buf, size, 0755));
        ASSERT_ERROR(go_binary_build_id(path, &found), ENOENT);

        ASSERT_OK(unlink(path));
        ASSERT_OK(rmdir(dir));
}

TEST(build_failure_message) {
        _cleanup_free_ char *m = NULL;

        /* A compile error: go test -c prints no verdict. */
        const char *compile = "# example.com/m/bad [example.com/m/bad.test]\n"
                              "bad/b_test.go:3:39: cannot use \"s\" (untyped string constant) as int "
                              "value\n";
        ASSERT_OK(go_build_failure_message(compile, "example.com/m/bad", &m));
        ASSERT_TRUE(startswith(m, compile));
        ASSERT_STREQ(m + strlen(compile), "FAIL\texample.com/m/bad [build failed]\n");
        m = mfree(m);

        /* A setup failure: go printed its own. */
        const char *setup = "# example.com/m/broken\n"
                            "broken/b.go:2:8: no required module provides package nonexistent.example/x\n"
                            "FAIL\texample.com/m/broken [setup failed]\n"
                            "FAIL";
        ASSERT_OK(go_build_failure_message(setup, "example.com/m/broken", &m));
        ASSERT_TRUE(startswith(m, setup));
        ASSERT_STREQ(m + strlen(setup), "\n");
        m = mfree(m);

        /* Another package's verdict does not count; no output at all gives the verdict alone. */
        ASSERT_OK(go_build_failure_message("FAIL\texample.com/m/other [setup failed]\n", "example.com/m",
                                           &m));
        ASSERT_TRUE(endswith_verdict(m, "FAIL\texample.com/m [build failed]\n"));
        m = mfree(m);
        ASSERT_OK(go_build_failure_message("", "m", &m));
        ASSERT_STREQ(m, "FAIL\tm [build failed]\n");
}

TEST(test_list_parse) {
        _cleanup_strv_free_ char **cases = NULL;
        _cleanup_free_ char *joined = NULL, *message = NULL;

        /* What a binary printed for tests, a benchmark, a fuzz target and an example, after a TestMain
         * that printed two lines of its own. */
        const char *text = "setting up the database\n"
                           "Test setup: done\r\n"
                           "TestAdd\n"
                           "TestSkip\r\n"
                           "\n"
                           "BenchmarkAdd\n"
                           "FuzzParse\n"
                           "ExampleAdd\n"
                           "Example_second\n"
                           "Test_\xce\xb1\n"
                           "TestBad\xff\n"
                           "Testing 1 2 3\n"
                           "TestLast";
        ASSERT_OK(go_test_list_parse(text, strlen(text), &cases, &message));
        joined = strv_join(cases, ",");
        ASSERT_STREQ(joined, "TestAdd,TestSkip,FuzzParse,ExampleAdd,Example_second,Test_\xce\xb1,TestLast");
        cases = strv_free(cases);

        ASSERT_OK(go_test_list_parse("", 0, &cases, NULL));
        ASSERT_TRUE(cases && !cases[0]);
        cases = strv_free(cases);
        ASSERT_OK(go_test_list_parse("Test\0X\n", 7, &cases, NULL));
        ASSERT_TRUE(cases && !cases[0]);
        cases = strv_free(cases);

        ASSERT_ERROR(go_test_list_parse("", GO_TEST_LIST_SIZE_MAX + 1, &cases, &message), E2BIG);
        ASSERT_TRUE(strstr(message, "larger than"));
}

TEST(regex_quote) {
        _cleanup_free_ char *q = NULL;

        ASSERT_OK(go_regex_quote("TestA", &q));
        ASSERT_STREQ(q, "TestA");
        q = mfree(q);
        ASSERT_OK(go_regex_quote("a.b+c*d?e(f)g|h[i]j{k}l^m$n\\o", &q));
        ASSERT_STREQ(q, "a\\.b\\+c\\*d\\?e\\(f\\)g\\|h\\[i\\]j\\{k\\}l\\^m\\$n\\\\o");
        q = mfree(q);
        ASSERT_OK(go_regex_quote("", &q));
        ASSERT_STREQ(q, "");
}

TEST(case_argv) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL;

        ASSERT_OK(go_case_argv("/m_a.test", "TestAdd", NULL, &l));
        joined = strv_join(l, " ");
        ASSERT_STREQ(joined, "/m_a.test -test.run ^TestAdd$ -test.timeout=0 -test.v");
        l = strv_free(l);
        joined = mfree(joined);

        char *extra[] = { (char *) "-test.count=1", (char *) "--", (char *) "x y", NULL };
        GoCaseOptions o = { .short_mode = true, .fullpath = true, .extra_args = extra };
        ASSERT_OK(go_case_argv("/b.test", "Test_\xce\xb1", &o, &l));
        ASSERT_EQ(strv_length(l), 10u);
        ASSERT_STREQ(l[2], "^Test_\xce\xb1$");
        joined = strv_join(l + 3, " ");
        ASSERT_STREQ(joined, "-test.timeout=0 -test.v -test.short -test.fullpath -test.count=1 -- x y");
        l = strv_free(l);

        ASSERT_ERROR(go_case_argv("", "TestA", NULL, &l), EINVAL);
        ASSERT_ERROR(go_case_argv("/x", "", NULL, &l), EINVAL);
}

static GoCaseResult result_of(const char *output, const char *name) {
        GoCaseResult r = _GO_CASE_RESULT_INVALID;
        int k = go_case_result(output, strlen(output), name, &r);
        return k < 0 ? (GoCaseResult) k : r;
}

static void extra_args_refused(char **args, const char *needle) {
        _cleanup_free_ char *err = NULL;

        ASSERT_ERROR(go_extra_args_check(args, &err), EINVAL);
        ASSERT_CONTAINS(err, needle);
}

#define ARGS(...) ((char *[]) { __VA_ARGS__, NULL })

TEST(extra_args_check) {
        ASSERT_OK(go_extra_args_check(NULL, NULL));
        ASSERT_OK(go_extra_args_check(ARGS("-test.v", "-update", "-test.count=2", "-listen=:0", "run",
                                           "-runner", "--", "-x"), NULL));
        extra_args_refused(ARGS("-test.run", "TestA"),
                           "'-test.run' for the test binaries: each case runs alone, with -test.run "
                           "'^Name$'; to select cases by a regular expression, use --include "
                           "'name.matches(REGEX)'");
        extra_args_refused(ARGS("-v", "--test.run=^TestA$"), "'--test.run=^TestA$' for the test binaries");
        extra_args_refused(ARGS("-run", "TestA"), "use --include 'name.matches(REGEX)'");
        extra_args_refused(ARGS("-test.skip=TestB"), "use --exclude 'name.matches(REGEX)'");
        extra_args_refused(ARGS("-test.list", "."), "use --list-tests");
        extra_args_refused(ARGS("-test.bench=."), "benchmarks are not run here");
        extra_args_refused(ARGS("-fuzz", "FuzzX"), "fuzzing is not run here");
}

TEST(case_ran_nothing) {
        /* As go 1.26 prints it on standard error when -test.run matches no test. */
        static const char none[] = "testing: warning: no tests to run\n";
        static const char ran[] = "=== RUN   TestA\n--- PASS: TestA (0.00s)\nPASS\n";
        static const char said[] = "=== RUN   TestA\n    a_test.go:3: testing: warning: no tests to run\n"
                                   "--- PASS: TestA (0.00s)\nPASS\n";

        ASSERT_TRUE(go_case_ran_nothing(none, strlen(none)));
        ASSERT_FALSE(go_case_ran_nothing(ran, strlen(ran)));
        ASSERT_FALSE(go_case_ran_nothing(said, strlen(said)));
        ASSERT_FALSE(go_case_ran_nothing("", 0));
}

TEST(case_result) {
        /* As go 1.26 prints them with -test.v. */
        const char *skip = "=== RUN   TestSkip\n"
                           "    a_test.go:4: because\n"
                           "--- SKIP: TestSkip (0.00s)\n"
                           "PASS\n";
        const char *subtests = "=== RUN   TestSub\n"
                               "=== RUN   TestSub/x\n"
                               "    a_test.go:5: s\n"
                               "=== RUN   TestSub/y\n"
                               "--- PASS: TestSub (0.00s)\n"
                               "    --- SKIP: TestSub/x (0.00s)\n"
                               "    --- PASS: TestSub/y (0.00s)\n"
                               "PASS\n";
        const char *fail = "=== RUN   TestF\n"
                           "    f_test.go:9: wrong\n"
                           "--- FAIL: TestF (0.01s)\n"
                           "FAIL\n";
        /* The test printed a look-alike line before its real result. */
        const char *printed = "=== RUN   TestP\n"
                              "--- SKIP: TestP (fake)\n"
                              "--- PASS: TestP (0.00s)\n"
                              "PASS\n";

        ASSERT_EQ(result_of(skip, "TestSkip"), GO_CASE_SKIP);
        ASSERT_EQ(result_of(subtests, "TestSub"), GO_CASE_PASS);
        ASSERT_EQ(result_of(fail, "TestF"), GO_CASE_FAIL);
        ASSERT_EQ(result_of(printed, "TestP"), GO_CASE_PASS);
        /* Another name, a prefix of the name, or no result line at all. */
        ASSERT_EQ(result_of(skip, "TestSki"), -ENOENT);
        ASSERT_EQ(result_of(skip, "TestSkipX"), -ENOENT);
        ASSERT_EQ(result_of(subtests, "TestSub/x"), -ENOENT);
        ASSERT_EQ(result_of("testing: warning: no tests to run\nPASS\n", "TestA"), -ENOENT);
        ASSERT_EQ(result_of("", "TestA"), -ENOENT);
        /* Output cut off after the result line, without a newline. */
        ASSERT_EQ(result_of("--- SKIP: TestA (0.00s)", "TestA"), GO_CASE_SKIP);
        ASSERT_EQ(result_of("--- SKIP: TestA", "TestA"), -ENOENT);

        ASSERT_STREQ(go_case_result_to_string(GO_CASE_SKIP), "skip");
        ASSERT_EQ(go_case_result_from_string("fail"), GO_CASE_FAIL);
        ASSERT_EQ(go_case_result_from_string("ok"), _GO_CASE_RESULT_INVALID);
}

TEST(container_dir) {
        _cleanup_free_ char *d = NULL;

        ASSERT_OK(go_container_dir("example.com/m", "", &d));
        ASSERT_STREQ(d, "/go/src/example.com/m");
        d = mfree(d);
        ASSERT_OK(go_container_dir("example.com/m", NULL, &d));
        ASSERT_STREQ(d, "/go/src/example.com/m");
        d = mfree(d);
        ASSERT_OK(go_container_dir("m", "pkg/a", &d));
        ASSERT_STREQ(d, "/go/src/m/pkg/a");
        d = mfree(d);

        static const char *const bad_modules[] = { "", "/abs", "a//b", "a/./b", "../x", "x/..", "x/" };
        for (size_t i = 0; i < ELEMENTSOF(bad_modules); i++)
                ASSERT_ERROR(go_container_dir(bad_modules[i], "", &d), EINVAL);
        ASSERT_ERROR(go_container_dir(NULL, "", &d), EINVAL);
        static const char *const bad_dirs[] = { "/abs", "a/../../b", "..", "a/" };
        for (size_t i = 0; i < ELEMENTSOF(bad_dirs); i++)
                ASSERT_ERROR(go_container_dir("m", bad_dirs[i], &d), EINVAL);
        ASSERT_TRUE(!d);
}

TEST(package_layer) {
        _cleanup_free_ char *prefix = NULL, *message = NULL;
        LayerSpec l = {};

        ASSERT_OK(go_package_layer("/go/src/example.com/m", "pkg/a", &l));
        ASSERT_EQ(l.kind, LAYER_GLOB);
        ASSERT_STREQ(l.path, "{pkg/a/{*,testdata/**},pkg/testdata/**,testdata/**}");
        ASSERT_STREQ(l.prefix.prepend_prefix, "/go/src/example.com/m");
        ASSERT_TRUE(!l.prefix.strip_prefix);
        ASSERT_FALSE(l.prefix.follow_symlinks);
        ASSERT_TRUE(l.skip_cache_directories);
        /* The package's files and testdata/ below it, and the testdata/ above it, nothing else. */
        ASSERT_TRUE(layer_takes(&l, "pkg/a/a.go"));
        ASSERT_TRUE(layer_takes(&l, "pkg/a/.hidden"));
        ASSERT_TRUE(layer_takes(&l, "pkg/a/testdata/golden.txt"));
        ASSERT_TRUE(layer_takes(&l, "pkg/a/testdata/fuzz/FuzzX/seed1"));
        ASSERT_TRUE(layer_takes(&l, "pkg/testdata/shared.txt"));
        ASSERT_TRUE(layer_takes(&l, "testdata/deep/shared.txt"));
        ASSERT_FALSE(layer_takes(&l, "pkg/a/sub/b.go"));
        ASSERT_FALSE(layer_takes(&l, "pkg/a/sub/testdata/x"));
        ASSERT_FALSE(layer_takes(&l, "pkg/b.go"));
        ASSERT_FALSE(layer_takes(&l, "pkg/ab/a.go"));
        ASSERT_FALSE(layer_takes(&l, "pkg/ab/testdata/x"));
        ASSERT_FALSE(layer_takes(&l, "go.mod"));
        layer_spec_done(&l);

        ASSERT_OK(go_package_layer("/home/u/src/m", "", &l));
        ASSERT_STREQ(l.path, "{*,testdata/**}");
        ASSERT_STREQ(l.prefix.prepend_prefix, "/home/u/src/m");
        ASSERT_TRUE(layer_takes(&l, "go.mod"));
        ASSERT_TRUE(layer_takes(&l, "testdata/x/y"));
        ASSERT_FALSE(layer_takes(&l, "pkg/a.go"));
        layer_spec_done(&l);

        /* Template and glob characters in the paths stay literal. */
        ASSERT_OK(go_package_layer("/src/m<x>", "a*b/[c]/{d,e}/f?\\g/<h>", &l));
        ASSERT_STREQ(l.path, "{a\\*b/\\[c\\]/\\{d\\,e\\}/f\\?\\\\g/<<h>/{*,testdata/**},"
                             "a\\*b/\\[c\\]/\\{d\\,e\\}/f\\?\\\\g/testdata/**,"
                             "a\\*b/\\[c\\]/\\{d\\,e\\}/testdata/**,a\\*b/\\[c\\]/testdata/**,"
                             "a\\*b/testdata/**,testdata/**}");
        ASSERT_TRUE(layer_takes(&l, "a*b/[c]/testdata/x"));
        ASSERT_FALSE(layer_takes(&l, "aXb/[c]/testdata/x"));
        ASSERT_TRUE(layer_takes(&l, "a*b/[c]/{d,e}/f?\\g/<h>/x.go"));
        ASSERT_FALSE(layer_takes(&l, "aXb/[c]/{d,e}/f?\\g/<h>/x.go"));
        ASSERT_FALSE(layer_takes(&l, "a*b/c/d/fX\\g/<h>/x.go"));
        ASSERT_OK(layer_template_expand(l.prefix.prepend_prefix, NULL, /* escape_glob= */ false, &prefix,
                                        &message));
        ASSERT_STREQ(prefix, "/src/m<x>");
        layer_spec_done(&l);

        ASSERT_ERROR(go_package_layer("", "a", &l), EINVAL);
        ASSERT_ERROR(go_package_layer("m", "a", &l), EINVAL);
        ASSERT_ERROR(go_package_layer("/m", "../a", &l), EINVAL);
}

int main(void) {
        RUN(list_parse);
        RUN(list_parse_edges);
        RUN(list_argv);
        RUN(module_find);
        RUN(binary_name);
        RUN(binary_slots);
        RUN(build_argv);
        RUN(build_id);
        RUN(build_failure_message);
        RUN(test_list_parse);
        RUN(regex_quote);
        RUN(case_argv);
        RUN(extra_args_check);
        RUN(case_ran_nothing);
        RUN(case_result);
        RUN(container_dir);
        RUN(package_layer);
        return EXIT_SUCCESS;
}
