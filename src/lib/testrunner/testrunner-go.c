/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The parsing half of maelstrom-go-test's adapter: see testrunner-go.h. */

#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-table.h"
#include "basic/string-util.h"
#include "testrunner/testrunner-go.h"
#include "testrunner/testrunner-parse.h"
#include "testrunner/testrunner-utf8.h"

int go_module_find(const char *start, char **ret) {
        _cleanup_free_ char *dir = NULL;

        assert(start);
        assert(ret);

        if (start[0] != '/')
                return -EINVAL;
        dir = strdup(start);
        if (!dir)
                return -ENOMEM;
        /* Without trailing slashes (but keep "/"). */
        for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
                dir[n - 1] = 0;

        for (;;) {
                _cleanup_free_ char *gomod = strjoin(streq(dir, "/") ? "" : dir, "/go.mod");
                struct stat st;

                if (!gomod)
                        return -ENOMEM;
                if (stat(gomod, &st) >= 0 && S_ISREG(st.st_mode)) {
                        *ret = TAKE_PTR(dir);
                        return 0;
                }
                if (streq(dir, "/"))
                        return -ENOENT;
                char *slash = strrchr(dir, '/');
                if (slash == dir)
                        slash[1] = 0;
                else
                        *slash = 0;
        }
}

static void go_package_done(GoPackage *p) {
        free(p->import_path);
        free(p->dir);
        free(p->name);
        strv_free(p->test_go_files);
        strv_free(p->xtest_go_files);
        free(p->module_path);
        free(p->module_dir);
        free(p->error);
}

GoPackageList *go_package_list_free(GoPackageList *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_packages; i++)
                go_package_done(l->packages + i);
        free(l->packages);
        return mfree(l);
}

int go_list_argv(char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        assert(ret);

        if (strv_extend(&l, "go") < 0 || strv_extend(&l, "list") < 0 || strv_extend(&l, "-e") < 0 ||
            strv_extend(&l, "-json=Dir,ImportPath,Name,TestGoFiles,XTestGoFiles,Module,Error") < 0 ||
            strv_extend(&l, "./...") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

/* An optional string member, copied: NULL when absent. */
static int read_optional_string(json_object *o, const char *context, const char *key, char **ret,
                                char **reterr) {
        if (!test_json_member(o, key)) {
                *ret = NULL;
                return 0;
        }
        return test_json_read_string(o, context, key, ret, reterr);
}

/* An optional array of strings: an empty strv when absent. */
static int read_optional_strv(json_object *o, const char *context, const char *key, char ***ret,
                              char **reterr) {
        if (!test_json_member(o, key)) {
                *ret = calloc(1, sizeof(char *));
                return *ret ? 0 : -ENOMEM;
        }
        return test_json_read_strv(o, context, key, ret, reterr);
}

static int parse_package(json_object *j, const char *context, GoPackage *p, char **reterr) {
        json_object *module, *error;
        int r;

        if (!json_object_is_type(j, json_type_object))
                return test_fail(reterr, -EBADMSG, "%s: not a JSON object", context);
        r = test_json_read_string(j, context, "ImportPath", &p->import_path, reterr);
        if (r < 0)
                return r;
        if (isempty(p->import_path))
                return test_fail(reterr, -EBADMSG, "%s: 'ImportPath' is empty", context);
        r = read_optional_string(j, context, "Dir", &p->dir, reterr);
        if (r < 0)
                return r;
        r = read_optional_string(j, context, "Name", &p->name, reterr);
        if (r < 0)
                return r;
        r = read_optional_strv(j, context, "TestGoFiles", &p->test_go_files, reterr);
        if (r < 0)
                return r;
        r = read_optional_strv(j, context, "XTestGoFiles", &p->xtest_go_files, reterr);
        if (r < 0)
                return r;

        module = test_json_member(j, "Module");
        if (module) {
                _cleanup_free_ char *mc = strjoin(context, ": Module");
                if (!mc)
                        return -ENOMEM;
                const TestJsonStringField fields[] = {
                        { "Path", &p->module_path },
                        { "Dir", &p->module_dir },
                };
                r = test_json_read_strings(module, mc, fields, ELEMENTSOF(fields), reterr);
                if (r < 0)
                        return r;
        }

        error = test_json_member(j, "Error");
        if (error) {
                _cleanup_free_ char *ec = strjoin(context, ": Error");
                if (!ec)
                        return -ENOMEM;
                r = test_json_read_string(error, ec, "Err", &p->error, reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}

int go_list_parse(const char *text, size_t size, GoPackageList **ret, char **reterr_message) {
        _cleanup_(go_package_list_freep) GoPackageList *l = NULL;
        size_t offset = 0, allocated = 0;
        int r;

        assert(text || size == 0);
        assert(ret);

        if (size > GO_LIST_SIZE_MAX)
                return test_fail(reterr_message, -E2BIG, "go list: output larger than %u bytes",
                                 GO_LIST_SIZE_MAX);
        l = calloc(1, sizeof(GoPackageList));
        if (!l)
                return -ENOMEM;

        for (;;) {
                _cleanup_(test_json_putp) json_object *j = NULL;
                _cleanup_free_ char *context = NULL;
                const char *reason = NULL;

                if (asprintf(&context, "go list: package %zu", l->n_packages + 1) < 0)
                        return -ENOMEM;
                r = test_json_parse_next(text, size, &offset, &j, &reason);
                if (r == -EBADMSG)
                        return test_fail(reterr_message, r, "%s: not JSON: %s", context, reason);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                if (l->n_packages >= GO_PACKAGES_MAX)
                        return test_fail(reterr_message, -E2BIG, "go list: more than %u packages",
                                         GO_PACKAGES_MAX);
                if (l->n_packages >= allocated) {
                        size_t a = MAX(allocated * 2, 16U);
                        GoPackage *p = reallocarray(l->packages, a, sizeof(GoPackage));
                        if (!p)
                                return -ENOMEM;
                        l->packages = p;
                        allocated = a;
                }
                GoPackage *p = l->packages + l->n_packages++;
                *p = (GoPackage) {};
                r = parse_package(j, context, p, reterr_message);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

bool go_package_has_tests(const GoPackage *p) {
        assert(p);
        return !strv_isempty(p->test_go_files) || !strv_isempty(p->xtest_go_files);
}

/* s minus prefix and a slash; "" when s equals prefix; NULL when s is not below prefix. */
static const char *path_below(const char *s, const char *prefix) {
        size_t n;

        if (!s || !prefix)
                return NULL;
        n = strlen(prefix);
        while (n > 1 && prefix[n - 1] == '/')
                n--;
        if (strncmp(s, prefix, n) != 0)
                return NULL;
        if (s[n] == 0)
                return s + n;
        if (s[n] != '/' && !(n == 1 && prefix[0] == '/'))
                return NULL;
        return s + n + (s[n] == '/');
}

const char *go_package_path(const GoPackage *p) {
        assert(p);
        return path_below(p->import_path, p->module_path);
}

const char *go_package_relative_dir(const GoPackage *p) {
        assert(p);
        return path_below(p->dir, p->module_dir);
}

/* A major version suffix of a module path: "v" then digits, not "v0" nor "v1" nor "v01". */
static bool is_version_element(const char *s, size_t n) {
        if (n < 2 || s[0] != 'v' || s[1] == '0' || (s[1] == '1' && n == 2))
                return false;
        for (size_t i = 1; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

int go_binary_name(const char *import_path, char **ret) {
        const char *slash, *elem;
        size_t n;

        assert(import_path);
        assert(ret);

        if (isempty(import_path) || import_path[strlen(import_path) - 1] == '/')
                return -EINVAL;
        slash = strrchr(import_path, '/');
        elem = slash ? slash + 1 : import_path;
        n = strlen(elem);
        if (slash && is_version_element(elem, n)) {
                const char *before = slash;
                while (before > import_path && before[-1] != '/')
                        before--;
                n = slash - before;
                elem = before;
        }
        char *s = strndup(elem, n);
        if (!s)
                return -ENOMEM;
        char *name = strjoin(s, ".test");
        free(s);
        if (!name)
                return -ENOMEM;
        *ret = name;
        return 0;
}

typedef struct SlotItem {
        const char *name;
        size_t index;
} SlotItem;

static int slot_item_compare(const void *a, const void *b) {
        const SlotItem *x = a, *y = b;
        int r = strcmp(x->name, y->name);

        if (r != 0)
                return r;
        return x->index < y->index ? -1 : x->index > y->index;
}

int go_binary_slots(char *const *names, size_t n, unsigned *ret) {
        _cleanup_free_ SlotItem *items = NULL;

        assert(names || n == 0);
        assert(ret || n == 0);

        items = calloc(MAX(n, (size_t) 1), sizeof(SlotItem));
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                items[i] = (SlotItem) { .name = names[i], .index = i };
        qsort(items, n, sizeof(SlotItem), slot_item_compare);
        for (size_t i = 0; i < n; i++)
                ret[items[i].index] = i > 0 && streq(items[i].name, items[i - 1].name)
                        ? ret[items[i - 1].index] + 1 : 0;
        return 0;
}

static uint64_t align4(uint64_t n) {
        return (n + 3) & ~(uint64_t) 3;
}

/* An unsigned field of n bytes at data + offset, in the file's byte order; false if it is past size. */
static bool elf_field(const uint8_t *data, size_t size, uint64_t offset, size_t n, bool big_endian,
                      uint64_t *ret) {
        uint64_t v = 0;

        if (offset > size || n > size - offset)
                return false;
        for (size_t i = 0; i < n; i++)
                v |= (uint64_t) data[offset + i] << 8 * (big_endian ? n - 1 - i : i);
        *ret = v;
        return true;
}

/* The "Go" note of type 4 among the notes at [offset, offset + n) of data. */
static int elf_find_go_note(const uint8_t *data, size_t size, uint64_t offset, uint64_t n, bool big_endian,
                            char **ret) {
        uint64_t end, name_size, desc_size, type;

        if (offset > size || n > size - offset)
                return -ENOENT;
        end = offset + n;
        while (end - offset >= 12) {
                if (!elf_field(data, end, offset, 4, big_endian, &name_size) ||
                    !elf_field(data, end, offset + 4, 4, big_endian, &desc_size) ||
                    !elf_field(data, end, offset + 8, 4, big_endian, &type))
                        break;
                uint64_t name = offset + 12, desc = name + align4(name_size);
                if (desc > end || align4(desc_size) > end - desc)
                        break;
                if (name_size == 4 && type == 4 && memcmp(data + name, "Go\0\0", 4) == 0) {
                        if (desc_size > GO_BUILD_ID_MAX)
                                return -E2BIG;
                        if (desc_size == 0 || memchr(data + desc, 0, desc_size))
                                return -EBADMSG;
                        char *s = strndup((const char *) data + desc, desc_size);
                        if (!s)
                                return -ENOMEM;
                        *ret = s;
                        return 0;
                }
                offset = desc + align4(desc_size);
        }
        return -ENOENT;
}

int go_build_id_find(const void *data, size_t size, char **ret) {
        const uint8_t *d = data;
        uint64_t ph_offset, ph_size, ph_count;
        bool big_endian, wide;

        assert(data || size == 0);
        assert(ret);

        if (size < 16 || memcmp(d, "\x7f" "ELF", 4) != 0 || !IN_SET(d[4], 1, 2) || !IN_SET(d[5], 1, 2))
                return -ENOENT;
        wide = d[4] == 2;
        big_endian = d[5] == 2;
        if (!elf_field(d, size, wide ? 0x20 : 0x1c, wide ? 8 : 4, big_endian, &ph_offset) ||
            !elf_field(d, size, wide ? 0x36 : 0x2a, 2, big_endian, &ph_size) ||
            !elf_field(d, size, wide ? 0x38 : 0x2c, 2, big_endian, &ph_count) || ph_offset > size)
                return -ENOENT;

        for (uint64_t i = 0; i < ph_count; i++) {
                uint64_t ph = ph_offset + i * ph_size, type, offset, n;
                int r;

                if (!elf_field(d, size, ph, 4, big_endian, &type) ||
                    !elf_field(d, size, ph + (wide ? 8 : 4), wide ? 8 : 4, big_endian, &offset) ||
                    !elf_field(d, size, ph + (wide ? 0x20 : 0x10), wide ? 8 : 4, big_endian, &n))
                        break;
                if (type != 4) /* PT_NOTE */
                        continue;
                r = elf_find_go_note(d, size, offset, n, big_endian, ret);
                if (r != -ENOENT)
                        return r;
        }
        return -ENOENT;
}

int go_binary_build_id(const char *path, char **ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0;

        assert(path);
        assert(ret);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        buf = malloc(GO_BUILD_ID_SEARCH_SIZE);
        if (!buf)
                return -ENOMEM;
        while (size < GO_BUILD_ID_SEARCH_SIZE) {
                ssize_t k = read(fd, buf + size, GO_BUILD_ID_SEARCH_SIZE - size);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                size += (size_t) k;
        }
        return go_build_id_find(buf, size, ret);
}

int go_build_argv(const char *vet, const char *output, char *const *import_paths, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *vet_arg = NULL;

        assert(ret);

        if (isempty(output) || strv_isempty(import_paths))
                return -EINVAL;
        STRV_FOREACH(p, import_paths)
                if (isempty(*p))
                        return -EINVAL;
        if (vet) {
                vet_arg = strjoin("-vet=", vet);
                if (!vet_arg)
                        return -ENOMEM;
        }
        if (strv_extend(&l, "go") < 0 || strv_extend(&l, "test") < 0 || strv_extend(&l, "-c") < 0 ||
            strv_extend(&l, "-o") < 0 || strv_extend(&l, output) < 0 ||
            (vet_arg && strv_extend(&l, vet_arg) < 0) || strv_extend_strv(&l, import_paths) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int go_build_failure_message(const char *output, const char *import_path, char **ret) {
        _cleanup_(textbuf_done) TextBuf b = {};
        _cleanup_free_ char *verdict = NULL;
        bool found = false;

        assert(output);
        assert(import_path);
        assert(ret);

        verdict = strjoin("FAIL\t", import_path, " [");
        if (!verdict)
                return -ENOMEM;
        for (const char *p = output; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (startswith(p, verdict)) {
                        found = true;
                        break;
                }

        textbuf_append(&b, output);
        if (b.len > 0 && b.data[b.len - 1] != '\n')
                textbuf_append_char(&b, '\n');
        if (!found)
                textbuf_appendf(&b, "FAIL\t%s [build failed]\n", import_path);
        return textbuf_steal(&b, ret);
}

static bool is_ascii_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A Go identifier: a letter or '_', then letters, digits and '_'; any valid non-ASCII character counts as a
 * letter. */
static bool is_go_identifier(const char *s, size_t n) {
        if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
                return false;
        for (size_t i = 0; i < n;) {
                uint32_t c;
                size_t k = utf8_decode(s + i, n - i, &c);

                if (c >= 0x110000 || (c < 0x80 && !is_ascii_alnum((char) c) && c != '_'))
                        return false;
                i += k;
        }
        return true;
}

static bool has_prefix(const char *s, size_t n, const char *prefix) {
        size_t k = strlen(prefix);
        return n >= k && memcmp(s, prefix, k) == 0;
}

int go_test_list_parse(const char *text, size_t size, char ***ret, char **reterr_message) {
        _cleanup_(test_names_done) TestNames cases = {};
        const char *line, *end = text + size;
        size_t n;
        int r;

        assert(text || size == 0);
        assert(ret);

        if (size > GO_TEST_LIST_SIZE_MAX)
                return test_fail(reterr_message, -E2BIG, "test list: larger than %u bytes",
                                 GO_TEST_LIST_SIZE_MAX);

        for (const char *p = text; test_next_line(&p, end, &line, &n);) {
                bool is_case = has_prefix(line, n, "Test") || has_prefix(line, n, "Fuzz") ||
                        has_prefix(line, n, "Example");
                if (!is_case || !is_go_identifier(line, n))
                        continue;
                r = test_names_add(&cases, line, n, GO_TEST_LIST_CASES_MAX);
                if (r == -E2BIG)
                        return test_fail(reterr_message, r, "test list: more than %u cases",
                                         GO_TEST_LIST_CASES_MAX);
                if (r < 0)
                        return r;
        }
        return test_names_steal(&cases, ret);
}

int go_regex_quote(const char *s, char **ret) {
        _cleanup_(textbuf_done) TextBuf b = {};

        assert(s);
        assert(ret);

        for (; *s; s++) {
                if (strchr("\\.+*?()|[]{}^$", *s))
                        textbuf_append_char(&b, '\\');
                textbuf_append_char(&b, *s);
        }
        return textbuf_steal(&b, ret);
}

int go_case_argv(const char *program, const char *name, const GoCaseOptions *o, char ***ret) {
        static const GoCaseOptions none = {};
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *quoted = NULL, *run = NULL;
        int r;

        assert(ret);

        if (isempty(program) || isempty(name))
                return -EINVAL;
        if (!o)
                o = &none;
        r = go_regex_quote(name, &quoted);
        if (r < 0)
                return r;
        run = strjoin("^", quoted, "$");
        if (!run)
                return -ENOMEM;
        if (strv_extend(&l, program) < 0 || strv_extend(&l, "-test.run") < 0 || strv_extend(&l, run) < 0 ||
            strv_extend(&l, "-test.timeout=0") < 0 || strv_extend(&l, "-test.v") < 0 ||
            (o->short_mode && strv_extend(&l, "-test.short") < 0) ||
            (o->fullpath && strv_extend(&l, "-test.fullpath") < 0) ||
            strv_extend_strv(&l, o->extra_args) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int go_extra_args_check(char *const *args, char **reterr_message) {
        static const struct {
                const char *name, *hint;
        } taken[] = {
                { "run", GO_HINT_RUN },
                { "skip", GO_HINT_SKIP },
                { "list", "to list the cases, use --list-tests" },
                { "bench", GO_HINT_BENCH },
                { "benchtime", GO_HINT_BENCH },
                { "benchmem", GO_HINT_BENCH },
                { "fuzz", GO_HINT_FUZZ },
                { "fuzztime", GO_HINT_FUZZ },
        };

        STRV_FOREACH(a, args) {
                if ((*a)[0] != '-' || streq(*a, "--"))
                        continue;
                const char *name = *a + strspn(*a, "-");
                size_t n = strcspn(name, "=");
                const char *bare = startswith(name, "test.") ? name + 5 : name;
                n -= bare - name;
                for (size_t i = 0; i < ELEMENTSOF(taken); i++)
                        if (strlen(taken[i].name) == n && strneq(bare, taken[i].name, n))
                                return test_fail(reterr_message, -EINVAL,
                                                 "'%s' for the test binaries: each case runs alone, with "
                                                 "-test.run '^Name$'; %s",
                                                 *a, taken[i].hint);
        }
        return 0;
}

static const char *const go_case_result_table[_GO_CASE_RESULT_MAX] = {
        [GO_CASE_PASS] = "pass",
        [GO_CASE_FAIL] = "fail",
        [GO_CASE_SKIP] = "skip",
};

DEFINE_STRING_TABLE_LOOKUP(go_case_result, GoCaseResult);

int go_case_result(const char *output, size_t size, const char *name, GoCaseResult *ret) {
        static const struct {
                const char *prefix;
                GoCaseResult result;
        } table[] = {
                { "--- PASS: ", GO_CASE_PASS },
                { "--- FAIL: ", GO_CASE_FAIL },
                { "--- SKIP: ", GO_CASE_SKIP },
        };
        GoCaseResult found = _GO_CASE_RESULT_INVALID;
        size_t name_len;

        assert(output || size == 0);
        assert(name);
        assert(ret);

        name_len = strlen(name);
        for (const char *p = output, *end = output + size; p < end; ) {
                const char *nl = memchr(p, '\n', end - p);
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);

                for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                        size_t k = strlen(table[i].prefix);
                        if (n >= k + name_len + 2 && memcmp(p, table[i].prefix, k) == 0 &&
                            memcmp(p + k, name, name_len) == 0 && memcmp(p + k + name_len, " (", 2) == 0)
                                found = table[i].result;
                }
                p = nl ? nl + 1 : end;
        }
        if (found < 0)
                return -ENOENT;
        *ret = found;
        return 0;
}

bool go_case_ran_nothing(const char *output, size_t size) {
        return test_has_line_starting_with(output, size, "testing: warning: no tests to run");
}

int go_container_dir(const char *module_path, const char *relative_dir, char **ret) {
        char *s;

        assert(ret);

        if (!test_path_is_clean_relative(module_path, /* empty_ok= */ false) ||
            !test_path_is_clean_relative(relative_dir, /* empty_ok= */ true))
                return -EINVAL;
        if (isempty(relative_dir))
                s = strjoin(GO_CONTAINER_ROOT "/", module_path);
        else
                s = strjoin(GO_CONTAINER_ROOT "/", module_path, "/", relative_dir);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int go_package_layer(const char *module_root, const char *relative_dir, LayerSpec *ret) {
        _cleanup_(textbuf_done) TextBuf glob = {}, prefix = {};

        assert(ret);

        if (!module_root || module_root[0] != '/' ||
            !test_path_is_clean_relative(relative_dir, /* empty_ok= */ true))
                return -EINVAL;

        if (isempty(relative_dir))
                textbuf_append(&glob, "{*,testdata/**}");
        else {
                /* The package's own, then each testdata/ above it (tests read ../testdata too): for pkg/a,
                 * pkg/a/{*,testdata/(all)}, pkg/testdata/(all) and testdata/(all), in one brace group. */
                _cleanup_free_ char *up = strdup(relative_dir);
                if (!up)
                        return -ENOMEM;
                textbuf_append_char(&glob, '{');
                test_append_layer_escaped(&glob, relative_dir, /* glob= */ true);
                textbuf_append(&glob, "/{*,testdata/**}");
                for (char *slash; (slash = strrchr(up, '/'));) {
                        *slash = 0;
                        textbuf_append_char(&glob, ',');
                        test_append_layer_escaped(&glob, up, /* glob= */ true);
                        textbuf_append(&glob, "/testdata/**");
                }
                textbuf_append(&glob, ",testdata/**}");
        }
        test_append_layer_escaped(&prefix, module_root, /* glob= */ false);
        return test_glob_layer(&glob, &prefix, ret);
}
