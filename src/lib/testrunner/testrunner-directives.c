/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/string-table.h"
#include "basic/string-util.h"
#include "spec/spec-decode.h"
#include "testrunner/testrunner-directives.h"
#include "toml/toml.h"

static const char * const test_runner_kind_table[_TEST_RUNNER_KIND_MAX] = {
        [TEST_RUNNER_CARGO] = "cargo",
        [TEST_RUNNER_GO] = "go",
        [TEST_RUNNER_PYTEST] = "pytest",
};

static const char * const spec_file_name_table[_TEST_RUNNER_KIND_MAX] = {
        [TEST_RUNNER_CARGO] = "cargo-maelstrom.toml",
        [TEST_RUNNER_GO] = "maelstrom-go-test.toml",
        [TEST_RUNNER_PYTEST] = "maelstrom-pytest.toml",
};

DEFINE_STRING_TABLE_LOOKUP(test_runner_kind, TestRunnerKind);

const char *test_runner_spec_file_name(TestRunnerKind k) {
        return string_table_lookup_to_string(spec_file_name_table, ELEMENTSOF(spec_file_name_table), k);
}

/* ---- errors ---- */

/* Fills *e (if not NULL); returns -abs(error). */
_printf_(6, 7) static int error_set(TestSpecError *e, int error, unsigned directive, unsigned line,
                                    unsigned column, const char *format, ...) {
        if (e) {
                va_list ap;
                int k = 0;

                e->line = line;
                e->column = column;
                e->directive = directive;
                if (directive > 0)
                        k = snprintf(e->message, sizeof(e->message), "directive %u: ", directive);
                va_start(ap, format);
                (void) vsnprintf(e->message + k, sizeof(e->message) - k, format, ap);
                va_end(ap);
        }
        return -abs(error);
}

static int error_from_spec(TestSpecError *e, unsigned directive, const char *container,
                           const SpecError *se) {
        if (container)
                return error_set(e, EINVAL, directive, se->line, se->column, "container '%.64s': %s",
                                 container, se->message);
        return error_set(e, EINVAL, directive, se->line, se->column, "%s", se->message);
}

int test_spec_error_format(const TestSpecError *e, char **ret) {
        TextBuf b = {};

        textbuf_append(&b, e->file);
        if (e->line > 0)
                textbuf_appendf(&b, "%s%u:%u", isempty(e->file) ? "" : ":", e->line, e->column);
        if (b.len > 0)
                textbuf_append(&b, ": ");
        textbuf_append(&b, e->message);
        return textbuf_steal(&b, ret);
}

/* ---- lifecycle ---- */

static void test_directive_done(TestDirective *d) {
        d->filter = mfree(d->filter);
        container_spec_done(&d->container);
}

TestSpecFile *test_spec_file_free(TestSpecFile *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_containers; i++) {
                free(f->containers[i].name);
                container_spec_free(f->containers[i].spec);
        }
        free(f->containers);
        for (size_t i = 0; i < f->n_directives; i++)
                test_directive_done(&f->directives[i]);
        free(f->directives);
        return mfree(f);
}

TestCandidate *test_candidate_free(TestCandidate *c) {
        if (!c)
                return NULL;
        container_spec_done(&c->container);
        return mfree(c);
}

const ContainerSpec *test_spec_file_lookup_container(const char *name, void *userdata) {
        const TestSpecFile *f = userdata;

        for (size_t i = 0; i < f->n_containers; i++)
                if (streq(f->containers[i].name, name))
                        return f->containers[i].spec;
        return NULL;
}

/* ---- decoding ---- */

/* One container field, with the runners' reading of added_environment: its map form is merged over the
 * environment (extend), not a replacement, so that `added_environment = { K = "v" }` adds a variable. */
static int decode_container_field(ContainerSpec *c, SpecField f, const TomlValue *v, SpecError *se) {
        size_t n_before = c->n_added_environment;
        int r;

        r = container_spec_decode_field(c, f, v, SPEC_SYNTAX_TOML, se);
        if (r < 0)
                return r;
        if (f == SPEC_FIELD_ADDED_ENVIRONMENT && v->type == TOML_TABLE)
                for (size_t i = n_before; i < c->n_added_environment; i++)
                        c->added_environment[i].extend = true;
        return 0;
}

static int decode_container(const char *name, const TomlValue *v, ContainerSpec **ret, TestSpecError *e) {
        _cleanup_(container_spec_freep) ContainerSpec *c = NULL;
        const TomlKeyValue *parent_kv = NULL;
        SpecError se = {};
        int r;

        if (v->type != TOML_TABLE)
                return error_set(e, EINVAL, /* directive= */ 0, v->line, v->column,
                                 "container '%.64s': expected a table, got %s", name,
                                 toml_type_to_string(v->type));
        r = container_spec_new(&c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->table.n; i++) {
                const TomlKeyValue *kv = &v->table.items[i];
                SpecField f = spec_field_from_string(kv->key);

                if (!spec_field_is_container(f))
                        return error_set(e, EINVAL, /* directive= */ 0, kv->line, kv->column,
                                         "container '%.64s': unknown key '%.64s'", name, kv->key);
                if (IN_SET(f, SPEC_FIELD_IMAGE, SPEC_FIELD_PARENT)) {
                        if (parent_kv)
                                return error_set(e, EINVAL, /* directive= */ 0, kv->line, kv->column,
                                                 "container '%.64s': 'image' and 'parent' cannot be used "
                                                 "together", name);
                        parent_kv = kv;
                }
                r = decode_container_field(c, f, kv->value, &se);
                if (r == -EINVAL)
                        return error_from_spec(e, /* directive= */ 0, name, &se);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

static int decode_bool(const TomlKeyValue *kv, unsigned directive, bool *ret, TestSpecError *e) {
        if (kv->value->type != TOML_BOOL)
                return error_set(e, EINVAL, directive, kv->value->line, kv->value->column,
                                 "field '%s': expected a boolean, got %s", kv->key,
                                 toml_type_to_string(kv->value->type));
        *ret = kv->value->boolean;
        return 0;
}

static int decode_directive(TestRunnerKind kind, const TomlValue *v, unsigned index, JobSpec *scratch,
                            TestDirective *d, TestSpecError *e) {
        const TomlKeyValue *parent_kv = NULL;
        SpecError se = {};
        int r;

        if (v->type != TOML_TABLE)
                return error_set(e, EINVAL, index, v->line, v->column, "expected a table, got %s",
                                 toml_type_to_string(v->type));
        d->line = v->line;
        d->column = v->column;

        for (size_t i = 0; i < v->table.n; i++) {
                const TomlKeyValue *kv = &v->table.items[i];
                SpecField f = spec_field_from_string(kv->key);

                if (spec_field_is_container(f)) {
                        if (IN_SET(f, SPEC_FIELD_IMAGE, SPEC_FIELD_PARENT)) {
                                if (parent_kv)
                                        return error_set(e, EINVAL, index, kv->line, kv->column,
                                                         "'image' and 'parent' cannot be used together");
                                parent_kv = kv;
                        }
                        r = decode_container_field(&d->container, f, kv->value, &se);
                        if (r == -EINVAL)
                                return error_from_spec(e, index, /* container= */ NULL, &se);
                } else if (streq(kv->key, "filter")) {
                        if (kv->value->type != TOML_STRING ||
                            kv->value->string.len != strlen(kv->value->string.data))
                                return error_set(e, EINVAL, index, kv->value->line, kv->value->column,
                                                 "field 'filter': expected a pattern string, got %s",
                                                 toml_type_to_string(kv->value->type));
                        d->filter = strdup(kv->value->string.data);
                        if (!d->filter)
                                return -ENOMEM;
                        d->filter_line = kv->value->line;
                        d->filter_column = kv->value->column;
                        r = 0;
                } else if (streq(kv->key, "ignore")) {
                        r = decode_bool(kv, index, &d->ignore, e);
                        d->ignore_set = r >= 0;
                } else if (streq(kv->key, "timeout")) {
                        r = job_spec_decode_field(scratch, SPEC_FIELD_TIMEOUT, kv->value, SPEC_SYNTAX_TOML,
                                                  &se);
                        if (r == -EINVAL)
                                return error_from_spec(e, index, /* container= */ NULL, &se);
                        d->timeout = scratch->timeout;
                        d->timeout_set = r >= 0;
                } else if (streq(kv->key, "include_shared_libraries")) {
                        if (kind != TEST_RUNNER_CARGO)
                                return error_set(e, EINVAL, index, kv->line, kv->column,
                                                 "key 'include_shared_libraries' is only for "
                                                 "cargo-maelstrom");
                        r = decode_bool(kv, index, &d->include_shared_libraries, e);
                        d->include_shared_libraries_set = r >= 0;
                } else
                        return error_set(e, EINVAL, index, kv->line, kv->column, "unknown key '%.64s'",
                                         kv->key);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int decode_containers(TestSpecFile *f, const TomlValue *v, TestSpecError *e) {
        if (v->type != TOML_TABLE)
                return error_set(e, EINVAL, /* directive= */ 0, v->line, v->column,
                                 "'containers': expected a table, got %s", toml_type_to_string(v->type));
        if (v->table.n > TEST_SPEC_CONTAINERS_MAX)
                return error_set(e, E2BIG, /* directive= */ 0, v->line, v->column,
                                 "more than %u containers", TEST_SPEC_CONTAINERS_MAX);
        f->containers = calloc(MAX(v->table.n, 1u), sizeof(TestNamedContainer));
        if (!f->containers)
                return -ENOMEM;
        for (size_t i = 0; i < v->table.n; i++) {
                const TomlKeyValue *kv = &v->table.items[i];
                TestNamedContainer *c = &f->containers[f->n_containers];
                int r;

                if (kv->key_len == 0 || kv->key_len != strlen(kv->key))
                        return error_set(e, EINVAL, /* directive= */ 0, kv->line, kv->column,
                                         "invalid container name");
                r = decode_container(kv->key, kv->value, &c->spec, e);
                if (r < 0)
                        return r;
                f->n_containers++;
                c->name = strdup(kv->key);
                if (!c->name)
                        return -ENOMEM;
                c->line = kv->line;
                c->column = kv->column;
        }
        return 0;
}

static int decode_directives(TestSpecFile *f, const TomlValue *v, TestSpecError *e) {
        _cleanup_(job_spec_freep) JobSpec *scratch = NULL;
        int r;

        if (v->type != TOML_ARRAY)
                return error_set(e, EINVAL, /* directive= */ 0, v->line, v->column,
                                 "'directives': expected an array of tables, got %s",
                                 toml_type_to_string(v->type));
        if (v->array.n > TEST_SPEC_DIRECTIVES_MAX)
                return error_set(e, E2BIG, /* directive= */ 0, v->line, v->column,
                                 "more than %u directives", TEST_SPEC_DIRECTIVES_MAX);
        r = job_spec_new(&scratch);
        if (r < 0)
                return r;
        f->directives = calloc(MAX(v->array.n, 1u), sizeof(TestDirective));
        if (!f->directives)
                return -ENOMEM;
        for (size_t i = 0; i < v->array.n; i++) {
                TestDirective *d = &f->directives[i];

                container_spec_init(&d->container);
                f->n_directives++;
                r = decode_directive(f->kind, v->array.items[i], i + 1, scratch, d, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int spec_file_decode(TestRunnerKind kind, const TomlValue *root, TestSpecFile **ret,
                            TestSpecError *e) {
        _cleanup_(test_spec_file_freep) TestSpecFile *f = NULL;
        int r;

        f = calloc(1, sizeof(TestSpecFile));
        if (!f)
                return -ENOMEM;
        f->kind = kind;
        for (size_t i = 0; i < root->table.n; i++) {
                const TomlKeyValue *kv = &root->table.items[i];

                if (streq(kv->key, "containers"))
                        r = decode_containers(f, kv->value, e);
                else if (streq(kv->key, "directives"))
                        r = decode_directives(f, kv->value, e);
                else
                        r = error_set(e, EINVAL, /* directive= */ 0, kv->line, kv->column,
                                      "unknown key '%.64s' (expected 'containers' or 'directives')",
                                      kv->key);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(f);
        return 0;
}

static void error_set_file(TestSpecError *e, TestRunnerKind kind, const char *file_name) {
        if (e)
                snprintf(e->file, sizeof(e->file), "%s",
                         file_name ?: strempty(test_runner_spec_file_name(kind)));
}

static int spec_file_from_toml(TestRunnerKind kind, int r, const TomlValue *root, const TomlError *te,
                               TestSpecFile **ret, TestSpecError *reterr) {
        if (r == -EBADMSG)
                return error_set(reterr, EINVAL, /* directive= */ 0, te->line, te->column, "%s",
                                 te->message);
        if (r < 0)
                return r;
        return spec_file_decode(kind, root, ret, reterr);
}

int test_spec_file_parse(TestRunnerKind kind, const char *text, size_t size, const char *file_name,
                         TestSpecFile **ret, TestSpecError *reterr) {
        _cleanup_(toml_value_freep) TomlValue *root = NULL;
        TomlError te = {};
        int r;

        assert(kind >= 0 && kind < _TEST_RUNNER_KIND_MAX);
        error_set_file(reterr, kind, file_name);
        r = toml_parse(text, size, &root, &te);
        return spec_file_from_toml(kind, r, root, &te, ret, reterr);
}

int test_spec_file_load(TestRunnerKind kind, const char *path, TestSpecFile **ret, TestSpecError *reterr) {
        _cleanup_(toml_value_freep) TomlValue *root = NULL;
        TomlError te = {};
        int r;

        assert(kind >= 0 && kind < _TEST_RUNNER_KIND_MAX);
        error_set_file(reterr, kind, path);
        r = toml_parse_file(path, &root, &te);
        if (r < 0 && r != -EBADMSG && reterr)
                error_set(reterr, r, /* directive= */ 0, /* line= */ 0, /* column= */ 0, "%s", te.message);
        return spec_file_from_toml(kind, r, root, &te, ret, reterr);
}

/* ---- the defaults ---- */

#define DEFAULT_PYTEST_IMAGE "docker://python:3.12-slim"

#define DEFAULT_HEADER                                                                                  \
        "# %s: how each test case becomes a job.\n"                                                     \
        "#\n"                                                                                           \
        "# [containers.NAME] tables declare named containers that directives (or other containers)\n" \
        "# can use as 'parent'.  Each [[directives]] table below applies, in order, to every test case\n" \
        "# its 'filter' pattern matches (no filter = every case).  A directive that sets 'image' or\n"  \
        "# 'parent' starts the container afresh; 'layers', 'environment' and 'mounts' replace what the\n" \
        "# directives before gave; 'added_layers', 'added_environment' and 'added_mounts' add to it.\n" \
        "# Directives also take 'ignore' (report the case as ignored), 'timeout' (seconds)%s.\n"        \
        "%s"                                                                                            \
        "\n"

#define DEFAULT_BASE_COMMENT                                                                            \
        "# A minimal file system: empty mount points for /proc, /sys and /tmp and the usual devices,\n" \
        "# with a fresh tmpfs on /tmp, procfs, sysfs, and the host's devices bound on their stubs.\n"

#define DEFAULT_STUBS "{ stubs = [\"/{proc,sys,tmp}/\", \"/dev/{full,null,random,urandom,zero}\"] }"

#define DEFAULT_MOUNTS                                                                                  \
        "mounts = [\n"                                                                                  \
        "    { type = \"tmp\", mount_point = \"/tmp\" },\n"                                             \
        "    { type = \"proc\", mount_point = \"/proc\" },\n"                                           \
        "    { type = \"sys\", mount_point = \"/sys\" },\n"                                             \
        "    { type = \"devices\", devices = [\"full\", \"null\", \"random\", \"urandom\", \"zero\"] },\n" \
        "]\n"

/* Whether an image name can be written in a TOML basic string as it is. */
static bool image_name_is_plain(const char *s) {
        if (isempty(s))
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
                        return false;
        return true;
}

int test_spec_file_default_text(TestRunnerKind kind, const char *pytest_image, char **ret) {
        const char *name = test_runner_spec_file_name(kind);
        TextBuf b = {};

        if (!name)
                return -EINVAL;
        if (kind == TEST_RUNNER_PYTEST && pytest_image && !image_name_is_plain(pytest_image))
                return -EINVAL;
        textbuf_appendf(&b, DEFAULT_HEADER, name,
                        kind == TEST_RUNNER_CARGO ?
                        ",\n# and 'include_shared_libraries' (put the test binary's shared libraries in the\n"
                        "# container; the default unless the container is based on an image)" : "",
                        kind == TEST_RUNNER_CARGO ?
                        "# After the directives, a case's container also has its test binary at '/', and its\n"
                        "# package's files (those at its top, and src/, tests/, benches/ and examples/) at their\n"
                        "# paths, that directory being the working directory unless 'working_directory' says\n"
                        "# otherwise (not for a package under /tmp, nor a container based on a parent).\n" :
                        kind == TEST_RUNNER_GO ?
                        "# After the directives, a case's container also has its test binary at '/', and its\n"
                        "# package's directory (its files and testdata/) at its path, the working\n"
                        "# directory unless 'working_directory' says otherwise (at /go/src/<import\n"
                        "# path> for a module under /tmp, or a container based on a parent).\n" : "");

        switch (kind) {
        case TEST_RUNNER_CARGO:
        case TEST_RUNNER_GO:
                textbuf_append(&b,
                               "[[directives]]\n"
                               DEFAULT_BASE_COMMENT
                               "layers = [\n"
                               "    " DEFAULT_STUBS ",\n"
                               "]\n"
                               DEFAULT_MOUNTS);
                if (kind == TEST_RUNNER_CARGO)
                        textbuf_append(&b,
                                       "\n"
                                       "[[directives]]\n"
                                       "# Pass the client's backtrace settings on (0 if unset).\n"
                                       "added_environment = { RUST_BACKTRACE = \"$env{RUST_BACKTRACE:-0}\", "
                                       "RUST_LIB_BACKTRACE = \"$env{RUST_LIB_BACKTRACE:-0}\" }\n");
                break;

        case TEST_RUNNER_PYTEST:
                textbuf_appendf(&b,
                                "[[directives]]\n"
                                "# Every case runs on a Python image: its layers, environment and working\n"
                                "# directory.\n"
                                "image = \"%s\"\n"
                                DEFAULT_BASE_COMMENT
                                "# Then the project's Python sources and pyproject.toml files.\n"
                                "added_layers = [\n"
                                "    " DEFAULT_STUBS ",\n"
                                "    { glob = \"**/{*.py,*.pyc,*.pyi,pyproject.toml}\" },\n"
                                "]\n"
                                DEFAULT_MOUNTS
                                "# pytest-xdist would start a worker per CPU in each job: one is enough.\n"
                                "added_environment = { PYTEST_XDIST_AUTO_NUM_WORKERS = \"1\" }\n",
                                pytest_image ?: DEFAULT_PYTEST_IMAGE);
                break;

        case _TEST_RUNNER_KIND_MAX:
        case _TEST_RUNNER_KIND_INVALID:
                textbuf_done(&b);
                return -EINVAL;
        }
        return textbuf_steal(&b, ret);
}

int test_spec_file_default(TestRunnerKind kind, const char *pytest_image, TestSpecFile **ret) {
        _cleanup_free_ char *text = NULL;
        TestSpecError e = {};
        int r;

        r = test_spec_file_default_text(kind, pytest_image, &text);
        if (r < 0)
                return r;
        r = test_spec_file_parse(kind, text, strlen(text), /* file_name= */ NULL, ret, &e);
        if (r < 0)
                log_debug("Default spec file does not parse: %s", e.message);
        return r;
}

/* ---- folding ---- */

/* How to copy and free the elements of one kind of container list. */
typedef struct ListOps {
        size_t size;
        int (*copy)(const void *src, void *dst);
        void (*free_list)(void *a, size_t n);
} ListOps;

static int copy_layer(const void *src, void *dst) {
        return layer_spec_copy(src, dst);
}

static void free_layers(void *a, size_t n) {
        layer_specs_free(a, n);
}

static int copy_mount(const void *src, void *dst) {
        return job_mount_copy(src, dst);
}

static void free_mounts(void *a, size_t n) {
        job_mounts_free(a, n);
}

static int copy_environment(const void *src, void *dst) {
        return environment_spec_copy(src, dst);
}

static void free_environment(void *a, size_t n) {
        environment_specs_free(a, n);
}

static const ListOps layer_ops = { sizeof(LayerSpec), copy_layer, free_layers };
static const ListOps mount_ops = { sizeof(JobMount), copy_mount, free_mounts };
static const ListOps environment_ops = { sizeof(EnvironmentSpec), copy_environment, free_environment };

/* One list of the candidate (list, n, set; added, n_added) and the directive's (d_*): the directive's list
 * replaces everything gathered so far, its added list is appended. */
static int fold_list(void **list, size_t *n, bool *set, void **added, size_t *n_added, const void *d_list,
                     size_t d_n, bool d_set, const void *d_added, size_t d_n_added, const ListOps *ops) {
        int r;

        if (d_set) {
                ops->free_list(*list, *n);
                ops->free_list(*added, *n_added);
                *list = *added = NULL;
                *n = *n_added = 0;
                *set = true;
                r = spec_array_append_copies(list, n, d_list, d_n, ops->size, ops->copy);
                if (r < 0)
                        return r;
        }
        return spec_array_append_copies(added, n_added, d_added, d_n_added, ops->size, ops->copy);
}

static int parent_copy(const ContainerParent *src, ContainerParent **ret) {
        _cleanup_(container_parent_freep) ContainerParent *p = calloc(1, sizeof(ContainerParent));
        if (!p)
                return -ENOMEM;
        *p = (ContainerParent) { .is_image = src->is_image, .use = src->use, .name = strdup(src->name) };
        if (!p->name)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}

static int fold_directive(ContainerSpec *c, const ContainerSpec *d) {
        int r;

        if (d->parent) {
                container_spec_done(c);
                r = parent_copy(d->parent, &c->parent);
                if (r < 0)
                        return r;
        }

        r = fold_list((void **) &c->layers, &c->n_layers, &c->layers_set, (void **) &c->added_layers,
                      &c->n_added_layers, d->layers, d->n_layers, d->layers_set, d->added_layers,
                      d->n_added_layers, &layer_ops);
        if (r < 0)
                return r;
        r = fold_list((void **) &c->environment, &c->n_environment, &c->environment_set,
                      (void **) &c->added_environment, &c->n_added_environment, d->environment,
                      d->n_environment, d->environment_set, d->added_environment, d->n_added_environment,
                      &environment_ops);
        if (r < 0)
                return r;
        r = fold_list((void **) &c->mounts, &c->n_mounts, &c->mounts_set, (void **) &c->added_mounts,
                      &c->n_added_mounts, d->mounts, d->n_mounts, d->mounts_set, d->added_mounts,
                      d->n_added_mounts, &mount_ops);
        if (r < 0)
                return r;

        if (d->network_set) {
                c->network = d->network;
                c->network_set = true;
        }
        if (d->enable_writable_file_system_set) {
                c->enable_writable_file_system = d->enable_writable_file_system;
                c->enable_writable_file_system_set = true;
        }
        if (d->working_directory) {
                char *wd = strdup(d->working_directory);
                if (!wd)
                        return -ENOMEM;
                free(c->working_directory);
                c->working_directory = wd;
        }
        if (d->user_set) {
                c->user = d->user;
                c->user_set = true;
        }
        if (d->group_set) {
                c->group = d->group;
                c->group_set = true;
        }
        return 0;
}

int test_spec_file_apply(const TestSpecFile *f, TestDirectiveMatchFunc match, void *userdata,
                         TestCandidate **ret) {
        _cleanup_(test_candidate_freep) TestCandidate *c = NULL;
        int r;

        c = calloc(1, sizeof(TestCandidate));
        if (!c)
                return -ENOMEM;
        container_spec_init(&c->container);

        for (size_t i = 0; i < f->n_directives; i++) {
                const TestDirective *d = &f->directives[i];

                if (d->filter) {
                        r = match(d, i, userdata);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                continue;
                }
                r = fold_directive(&c->container, &d->container);
                if (r < 0)
                        return r;
                if (d->ignore_set)
                        c->ignore = d->ignore;
                if (d->timeout_set)
                        c->timeout = d->timeout;
                if (d->include_shared_libraries_set) {
                        c->include_shared_libraries = d->include_shared_libraries;
                        c->include_shared_libraries_set = true;
                }
        }
        *ret = TAKE_PTR(c);
        return 0;
}
