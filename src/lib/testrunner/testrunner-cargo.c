/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The parsing half of cargo-maelstrom's adapter: see testrunner-cargo.h.  json-c parses each document (the
 * metadata, or one line of build messages) into a tree; the readers of testrunner-parse.h pick the
 * fields. */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/string-table.h"
#include "basic/string-util.h"
#include "testrunner/testrunner-cargo.h"
#include "testrunner/testrunner-parse.h"

/* Appends suffix to *s; NULL on ENOMEM (then *s is unchanged). */
static char *strextend(char **s, const char *suffix) {
        char *n = strjoin(*s, suffix);

        if (!n)
                return NULL;
        free(*s);
        return *s = n;
}

int cargo_target_kind_from_cargo(char * const *kinds, CargoTargetKind *ret) {
        static const struct {
                const char *cargo;
                CargoTargetKind kind;
        } table[] = {
                { "lib",        CARGO_TARGET_LIBRARY   },
                { "rlib",       CARGO_TARGET_LIBRARY   },
                { "dylib",      CARGO_TARGET_LIBRARY   },
                { "cdylib",     CARGO_TARGET_LIBRARY   },
                { "staticlib",  CARGO_TARGET_LIBRARY   },
                { "proc-macro", CARGO_TARGET_LIBRARY   },
                { "bin",        CARGO_TARGET_BINARY    },
                { "test",       CARGO_TARGET_TEST      },
                { "example",    CARGO_TARGET_EXAMPLE   },
                { "bench",      CARGO_TARGET_BENCHMARK },
        };

        assert(ret);

        STRV_FOREACH(k, kinds)
                for (size_t i = 0; i < ELEMENTSOF(table); i++)
                        if (streq(*k, table[i].cargo)) {
                                *ret = table[i].kind;
                                return 0;
                        }
        return -EINVAL;
}

static void cargo_target_done(CargoTarget *t) {
        free(t->name);
        strv_free(t->kinds);
        strv_free(t->crate_types);
        free(t->src_path);
}

static void cargo_package_done(CargoPackage *p) {
        free(p->id);
        free(p->name);
        free(p->version);
        free(p->manifest_path);
        for (size_t i = 0; i < p->n_targets; i++)
                cargo_target_done(p->targets + i);
        free(p->targets);
        strv_free(p->environment);
}

CargoMetadata *cargo_metadata_free(CargoMetadata *m) {
        if (!m)
                return NULL;
        free(m->workspace_root);
        free(m->target_directory);
        for (size_t i = 0; i < m->n_packages; i++)
                cargo_package_done(m->packages + i);
        free(m->packages);
        return mfree(m);
}

static int parse_target(json_object *j, const char *context, CargoTarget *t, char **reterr) {
        int r;

        const TestJsonStringField fields[] = {
                { "name", &t->name },
                { "src_path", &t->src_path },
        };
        r = test_json_read_strings(j, context, fields, ELEMENTSOF(fields), reterr);
        if (r < 0)
                return r;
        r = test_json_read_strv(j, context, "kind", &t->kinds, reterr);
        if (r < 0)
                return r;
        r = test_json_read_strv(j, context, "crate_types", &t->crate_types, reterr);
        if (r < 0)
                return r;
        /* Older cargo leaves "test" out: it defaulted to true. */
        t->test = true;
        if (test_json_member(j, "test")) {
                r = test_json_read_bool(j, context, "test", &t->test, reterr);
                if (r < 0)
                        return r;
        }
        if (cargo_target_kind_from_cargo(t->kinds, &t->kind) < 0)
                t->kind = _CARGO_TARGET_KIND_INVALID;
        return 0;
}

/* A field that may be missing or null (""), or else a string. */
static int read_optional_string(json_object *j, const char *context, const char *key, char **ret,
                                char **reterr) {
        json_object *v = test_json_member(j, key);

        if (!v || json_object_is_type(v, json_type_null)) {
                *ret = strdup("");
                return *ret ? 0 : -ENOMEM;
        }
        return test_json_read_string(j, context, key, ret, reterr);
}

static int package_environment(json_object *j, const char *context, CargoPackage *p, char **reterr) {
        static const struct {
                const char *key, *var;
        } optional[] = {
                { "description", "CARGO_PKG_DESCRIPTION" },   { "homepage", "CARGO_PKG_HOMEPAGE" },
                { "repository", "CARGO_PKG_REPOSITORY" },     { "license", "CARGO_PKG_LICENSE" },
                { "license_file", "CARGO_PKG_LICENSE_FILE" }, { "rust_version", "CARGO_PKG_RUST_VERSION" },
                { "readme", "CARGO_PKG_README" },
        };
        _cleanup_strv_free_ char **env = NULL, **authors = NULL;
        _cleanup_free_ char *dir = NULL, *joined = NULL;
        const char *slash = strrchr(p->manifest_path, '/');
        int r;

        /* The version's parts as semver has them: MAJOR.MINOR.PATCH[-PRE][+BUILD]. */
        size_t major = strcspn(p->version, ".-+");
        const char *minor = p->version[major] == '.' ? p->version + major + 1 : "";
        size_t n_minor = strcspn(minor, ".-+");
        const char *patch = minor[n_minor] == '.' ? minor + n_minor + 1 : "";
        size_t n_patch = strcspn(patch, "-+");
        const char *pre = patch[n_patch] == '-' ? patch + n_patch + 1 : "";
        size_t n_pre = strcspn(pre, "+");

        if (test_json_member(j, "authors")) {
                r = test_json_read_strv(j, context, "authors", &authors, reterr);
                if (r < 0)
                        return r;
        }
        dir = slash ? strndup(p->manifest_path, MAX(slash - p->manifest_path, 1)) : strdup(".");
        joined = strv_join(authors, ":");
        if (!dir || !joined)
                return -ENOMEM;
        if (strv_extendf(&env, "CARGO_MANIFEST_DIR=%s", dir) < 0 ||
            strv_extendf(&env, "CARGO_MANIFEST_PATH=%s", p->manifest_path) < 0 ||
            strv_extendf(&env, "CARGO_PKG_NAME=%s", p->name) < 0 ||
            strv_extendf(&env, "CARGO_PKG_VERSION=%s", p->version) < 0 ||
            strv_extendf(&env, "CARGO_PKG_VERSION_MAJOR=%.*s", (int) major, p->version) < 0 ||
            strv_extendf(&env, "CARGO_PKG_VERSION_MINOR=%.*s", (int) n_minor, minor) < 0 ||
            strv_extendf(&env, "CARGO_PKG_VERSION_PATCH=%.*s", (int) n_patch, patch) < 0 ||
            strv_extendf(&env, "CARGO_PKG_VERSION_PRE=%.*s", (int) n_pre, pre) < 0 ||
            strv_extendf(&env, "CARGO_PKG_AUTHORS=%s", joined) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(optional); i++) {
                _cleanup_free_ char *v = NULL;
                r = read_optional_string(j, context, optional[i].key, &v, reterr);
                if (r < 0)
                        return r;
                if (strv_extendf(&env, "%s=%s", optional[i].var, v) < 0)
                        return -ENOMEM;
        }
        p->environment = TAKE_PTR(env);
        return 0;
}

static int parse_package(json_object *j, const char *id, CargoPackage *p, char **reterr) {
        _cleanup_free_ char *context = NULL;
        int r;

        context = strjoin("package '", id, "'");
        if (!context)
                return -ENOMEM;
        p->id = strdup(id);
        if (!p->id)
                return -ENOMEM;
        const TestJsonStringField fields[] = {
                { "name", &p->name },
                { "version", &p->version },
                { "manifest_path", &p->manifest_path },
        };
        r = test_json_read_strings(j, context, fields, ELEMENTSOF(fields), reterr);
        if (r < 0)
                return r;
        r = package_environment(j, context, p, reterr);
        if (r < 0)
                return r;

        json_object *targets;
        r = test_json_get_member(j, context, "targets", json_type_array, &targets, reterr);
        if (r < 0)
                return r;
        size_t n = json_object_array_length(targets);
        if (n > CARGO_TARGETS_MAX)
                return test_fail(reterr, -E2BIG, "%s: more than %u targets", context, CARGO_TARGETS_MAX);
        p->targets = calloc(MAX(n, 1U), sizeof(CargoTarget));
        if (!p->targets)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *tc = NULL;
                json_object *t = json_object_array_get_idx(targets, i);

                if (asprintf(&tc, "%s: target %zu", context, i + 1) < 0)
                        return -ENOMEM;
                if (!json_object_is_type(t, json_type_object))
                        return test_fail(reterr, -EBADMSG, "%s is not an object", tc);
                p->n_targets++;
                r = parse_target(t, tc, p->targets + i, reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cargo_metadata_parse(const char *text, size_t size, CargoMetadata **ret, char **reterr_message) {
        _cleanup_(cargo_metadata_freep) CargoMetadata *m = NULL;
        _cleanup_(test_json_putp) json_object *j = NULL;
        const char *reason = NULL, *context = "cargo metadata";
        int r;

        assert(ret);

        if (size > CARGO_METADATA_SIZE_MAX)
                return test_fail(reterr_message, -E2BIG, "%s: output larger than %u bytes", context,
                                 CARGO_METADATA_SIZE_MAX);
        r = test_json_parse_one(text, size, &j, &reason);
        if (r == -EBADMSG)
                return test_fail(reterr_message, r, "%s: not JSON: %s", context, reason);
        if (r < 0)
                return r;
        if (!json_object_is_type(j, json_type_object))
                return test_fail(reterr_message, -EBADMSG, "%s: not a JSON object", context);

        json_object *version = test_json_member(j, "version");
        if (!version || !json_object_is_type(version, json_type_int) || json_object_get_int64(version) != 1)
                return test_fail(reterr_message, -EBADMSG, "%s: 'version' is not 1 (use --format-version 1)",
                                 context);

        m = calloc(1, sizeof(CargoMetadata));
        if (!m)
                return -ENOMEM;
        const TestJsonStringField fields[] = {
                { "workspace_root", &m->workspace_root },
                { "target_directory", &m->target_directory },
        };
        r = test_json_read_strings(j, context, fields, ELEMENTSOF(fields), reterr_message);
        if (r < 0)
                return r;

        json_object *members, *packages;
        r = test_json_get_member(j, context, "workspace_members", json_type_array, &members, reterr_message);
        if (r < 0)
                return r;
        r = test_json_get_member(j, context, "packages", json_type_array, &packages, reterr_message);
        if (r < 0)
                return r;

        size_t n_members = json_object_array_length(members);
        size_t n_packages = json_object_array_length(packages);
        if (n_members > CARGO_PACKAGES_MAX)
                return test_fail(reterr_message, -E2BIG, "%s: more than %u workspace members", context,
                                 CARGO_PACKAGES_MAX);
        m->packages = calloc(MAX(n_members, 1U), sizeof(CargoPackage));
        if (!m->packages)
                return -ENOMEM;

        for (size_t i = 0; i < n_members; i++) {
                json_object *id = json_object_array_get_idx(members, i), *found = NULL;
                if (!test_json_is_plain_string(id))
                        return test_fail(reterr_message, -EBADMSG,
                                         "%s: 'workspace_members' item %zu is not a string", context, i + 1);
                const char *ids = json_object_get_string(id);
                if (cargo_metadata_find_package(m, ids))
                        return test_fail(reterr_message, -EBADMSG,
                                         "%s: workspace member '%s' is listed twice", context, ids);

                /* With --no-deps the packages come in the members' order, so look there first. */
                for (size_t k = 0; k < n_packages && !found; k++) {
                        json_object *p = json_object_array_get_idx(packages, (i + k) % n_packages);
                        json_object *pid = test_json_member(p, "id");
                        if (pid && test_json_is_plain_string(pid) && streq(json_object_get_string(pid), ids))
                                found = p;
                }
                if (!found)
                        return test_fail(reterr_message, -EBADMSG,
                                         "%s: workspace member '%s' is not in 'packages'", context, ids);
                m->n_packages++;
                r = parse_package(found, ids, m->packages + i, reterr_message);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(m);
        return 0;
}

const CargoPackage *cargo_metadata_find_package(const CargoMetadata *m, const char *id) {
        assert(m);
        assert(id);

        for (size_t i = 0; i < m->n_packages; i++)
                if (streq_ptr(m->packages[i].id, id))
                        return m->packages + i;
        return NULL;
}

const CargoPackage *cargo_metadata_find_package_by_name(const CargoMetadata *m, const char *name) {
        assert(m);
        assert(name);

        for (size_t i = 0; i < m->n_packages; i++)
                if (streq_ptr(m->packages[i].name, name))
                        return m->packages + i;
        return NULL;
}

static const char *const cargo_build_event_type_table[_CARGO_BUILD_EVENT_TYPE_MAX] = {
        [CARGO_BUILD_EVENT_ARTIFACT] = "artifact",
        [CARGO_BUILD_EVENT_BINARY] = "binary",
        [CARGO_BUILD_EVENT_MESSAGE] = "message",
        [CARGO_BUILD_EVENT_FINISHED] = "finished",
        [CARGO_BUILD_EVENT_BUILD_SCRIPT] = "build-script",
};

DEFINE_STRING_TABLE_LOOKUP(cargo_build_event_type, CargoBuildEventType);

struct CargoBuildParser {
        const CargoMetadata *metadata;
        CargoBuildEventFunc callback;
        void *userdata;

        TextBuf pending; /* the start of a line whose newline has not come yet */
        unsigned line;   /* lines completed so far */
        bool finished, success;
        int failed;      /* once an error happened: it */
};

int cargo_build_parser_new(const CargoMetadata *metadata, CargoBuildEventFunc callback, void *userdata,
                           CargoBuildParser **ret) {
        assert(metadata);
        assert(callback);
        assert(ret);

        CargoBuildParser *p = calloc(1, sizeof(CargoBuildParser));
        if (!p)
                return -ENOMEM;
        p->metadata = metadata;
        p->callback = callback;
        p->userdata = userdata;
        *ret = p;
        return 0;
}

CargoBuildParser *cargo_build_parser_free(CargoBuildParser *p) {
        if (!p)
                return NULL;
        textbuf_done(&p->pending);
        return mfree(p);
}

static int build_artifact(CargoBuildParser *p, json_object *j, const char *line_context, CargoBuildEvent *e,
                          char **reterr) {
        _cleanup_free_ char *context = NULL, *profile_context = NULL, *target_context = NULL;
        _cleanup_strv_free_ char **kinds = NULL;
        json_object *profile, *target;
        bool test;
        int r;

        context = strjoin(line_context, ": compiler-artifact");
        if (!context)
                return -ENOMEM;

        /* Test executables, and the binaries that integration tests use, built outside the test profile;
         * libraries have no executable. */
        if (!test_json_member(j, "executable"))
                return 0;
        r = test_json_get_string(j, context, "executable", &e->executable, reterr);
        if (r < 0)
                return r;
        r = test_json_get_member(j, context, "profile", json_type_object, &profile, reterr);
        if (r < 0)
                return r;
        profile_context = strjoin(context, ": profile");
        if (!profile_context)
                return -ENOMEM;
        r = test_json_read_bool(profile, profile_context, "test", &test, reterr);
        if (r < 0)
                return r;
        if (isempty(e->executable))
                return test_fail(reterr, -EBADMSG, "%s: 'executable' is empty", context);

        r = test_json_get_string(j, context, "package_id", &e->package_id, reterr);
        if (r < 0)
                return r;
        const CargoPackage *pkg = cargo_metadata_find_package(p->metadata, e->package_id);
        if (!pkg && !test)
                return 0; /* some other package's binary: not for our tests */
        if (!pkg)
                return test_fail(reterr, -EBADMSG, "%s: package '%s' is not a workspace member", context,
                                 e->package_id);
        e->package_name = pkg->name;

        r = test_json_get_member(j, context, "target", json_type_object, &target, reterr);
        if (r < 0)
                return r;
        target_context = strjoin(context, ": target");
        if (!target_context)
                return -ENOMEM;
        r = test_json_get_string(target, target_context, "name", &e->target_name, reterr);
        if (r < 0)
                return r;
        r = test_json_read_strv(target, target_context, "kind", &kinds, reterr);
        if (r < 0)
                return r;
        r = cargo_target_kind_from_cargo(kinds, &e->target_kind);
        if (r < 0) {
                /* Build scripts and such: not something we run. */
                log_debug("%s: executable '%s' of unknown kind, ignoring.", context, e->executable);
                return 0;
        }
        if (!test && e->target_kind != CARGO_TARGET_BINARY)
                return 0; /* an example: cargo test builds them, and runs none */

        e->type = test ? CARGO_BUILD_EVENT_ARTIFACT : CARGO_BUILD_EVENT_BINARY;
        return p->callback(e, p->userdata);
}

static int build_line(CargoBuildParser *p, const char *line, size_t size, char **reterr) {
        _cleanup_(test_json_putp) json_object *j = NULL;
        _cleanup_free_ char *context = NULL;
        const char *reason = NULL;
        CargoBuildEvent e = {
                .type = _CARGO_BUILD_EVENT_TYPE_INVALID,
                .line = p->line,
                .target_kind = _CARGO_TARGET_KIND_INVALID,
        };
        int r;

        /* Skip empty lines (and a \r before the newline). */
        bool blank = true;
        for (size_t i = 0; i < size && blank; i++)
                blank = test_json_is_space(line[i]);
        if (blank)
                return 0;

        if (asprintf(&context, "line %u", p->line) < 0)
                return -ENOMEM;
        r = test_json_parse_one(line, size, &j, &reason);
        if (r == -EBADMSG)
                return test_fail(reterr, r, "%s: not JSON: %s", context, reason);
        if (r < 0)
                return r;
        if (!json_object_is_type(j, json_type_object))
                return test_fail(reterr, -EBADMSG, "%s: not a JSON object", context);
        r = test_json_get_string(j, context, "reason", &reason, reterr);
        if (r < 0)
                return r;
        if (p->finished)
                return test_fail(reterr, -EBADMSG, "%s: '%s' after build-finished", context, reason);

        if (streq(reason, "compiler-artifact"))
                return build_artifact(p, j, context, &e, reterr);

        if (streq(reason, "compiler-message")) {
                json_object *message;
                if (!strextend(&context, ": compiler-message"))
                        return -ENOMEM;
                r = test_json_get_member(j, context, "message", json_type_object, &message, reterr);
                if (r < 0)
                        return r;
                if (!test_json_member(message, "rendered")) /* rustc renders nothing for some notes */
                        return 0;
                if (!strextend(&context, ": message"))
                        return -ENOMEM;
                r = test_json_get_string(message, context, "rendered", &e.rendered, reterr);
                if (r < 0)
                        return r;
                e.type = CARGO_BUILD_EVENT_MESSAGE;
                return p->callback(&e, p->userdata);
        }

        if (streq(reason, "build-script-executed")) {
                _cleanup_strv_free_ char **paths = NULL;
                _cleanup_free_ char *why = NULL;
                /* Only a help to find libraries: one cargo did not fill in is skipped. */
                r = test_json_read_strv(j, context, "linked_paths", &paths, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        log_debug("%s: ignoring a build-script-executed message: %s", context, strna(why));
                        return 0;
                }
                /* "native=/dir", "dependency=/dir", ... or a bare "/dir", as rustc's -L takes them. */
                STRV_FOREACH(path, paths) {
                        const char *eq = strchr(*path, '='), *slash = strchr(*path, '/');
                        if (eq && (!slash || eq < slash))
                                memmove(*path, eq + 1, strlen(eq + 1) + 1);
                }
                if (strv_isempty(paths))
                        return 0;
                e.linked_paths = paths;
                e.type = CARGO_BUILD_EVENT_BUILD_SCRIPT;
                return p->callback(&e, p->userdata);
        }

        if (streq(reason, "build-finished")) {
                if (!strextend(&context, ": build-finished"))
                        return -ENOMEM;
                r = test_json_read_bool(j, context, "success", &e.success, reterr);
                if (r < 0)
                        return r;
                p->finished = true;
                p->success = e.success;
                e.type = CARGO_BUILD_EVENT_FINISHED;
                return p->callback(&e, p->userdata);
        }

        log_debug("line %u: ignoring message with reason '%s'.", p->line, reason);
        return 0;
}

int cargo_build_parser_feed(CargoBuildParser *p, const char *data, size_t size, char **reterr_message) {
        int r;

        assert(p);
        assert(data || size == 0);

        if (p->failed < 0)
                return test_fail(reterr_message, p->failed, "the build messages already failed to parse");

        while (size > 0) {
                const char *nl = memchr(data, '\n', size);
                size_t n = nl ? (size_t) (nl - data) : size;

                if (p->pending.len + n > CARGO_BUILD_LINE_MAX)
                        return p->failed = test_fail(reterr_message, -E2BIG, "line %u: longer than %u bytes",
                                                     p->line + 1, CARGO_BUILD_LINE_MAX);
                if (!nl) {
                        textbuf_append_len(&p->pending, data, n);
                        if (p->pending.oom)
                                return p->failed = -ENOMEM;
                        return 0;
                }

                p->line++;
                if (p->pending.len == 0)
                        r = build_line(p, data, n, reterr_message);
                else {
                        textbuf_append_len(&p->pending, data, n);
                        if (p->pending.oom)
                                return p->failed = -ENOMEM;
                        r = build_line(p, p->pending.data, p->pending.len, reterr_message);
                        p->pending.len = 0;
                }
                if (r < 0)
                        return p->failed = r;
                data += n + 1;
                size -= n + 1;
        }
        return 0;
}

int cargo_build_parser_finish(CargoBuildParser *p, char **reterr_message) {
        int r;

        assert(p);

        if (p->failed < 0)
                return test_fail(reterr_message, p->failed, "the build messages already failed to parse");
        if (p->pending.len > 0) {
                p->line++;
                r = build_line(p, p->pending.data, p->pending.len, reterr_message);
                p->pending.len = 0;
                if (r < 0)
                        return p->failed = r;
        }
        if (!p->finished)
                return p->failed = test_fail(reterr_message, -EBADMSG,
                                             "cargo's messages ended after %u lines without build-finished",
                                             p->line);
        return p->success;
}

int cargo_test_list_parse(const char *text, size_t size, char ***ret, char **reterr_message) {
        _cleanup_(test_names_done) TestNames cases = {};
        const char *line, *end = text + size;
        unsigned number = 0;
        size_t n;
        int r;

        assert(text || size == 0);
        assert(ret);

        if (size > CARGO_LIST_SIZE_MAX)
                return test_fail(reterr_message, -E2BIG, "test list: larger than %u bytes",
                                 CARGO_LIST_SIZE_MAX);

        for (const char *p = text; test_next_line(&p, end, &line, &n);) {
                number++;
                if (n == 0)
                        continue;
                if (memchr(line, '\0', n))
                        return test_fail(reterr_message, -EBADMSG, "test list: line %u: contains a NUL byte",
                                         number);

                /* NAME: test, NAME: benchmark.  Names hold "::" but never ": ", so the suffix decides. */
                size_t name_len;
                bool is_test;
                if (n >= 6 && memcmp(line + n - 6, ": test", 6) == 0) {
                        name_len = n - 6;
                        is_test = true;
                } else if (n >= 11 && memcmp(line + n - 11, ": benchmark", 11) == 0) {
                        name_len = n - 11;
                        is_test = false;
                } else
                        return test_fail(reterr_message, -EBADMSG,
                                         "test list: line %u: expected 'NAME: test' or 'NAME: benchmark', "
                                         "got '%.*s'", number, (int) MIN(n, 200U), line);
                if (name_len == 0)
                        return test_fail(reterr_message, -EBADMSG, "test list: line %u: empty test name",
                                         number);

                if (!is_test)
                        continue;
                r = test_names_add(&cases, line, name_len, CARGO_LIST_CASES_MAX);
                if (r == -E2BIG)
                        return test_fail(reterr_message, r, "test list: more than %u cases",
                                         CARGO_LIST_CASES_MAX);
                if (r < 0)
                        return r;
        }
        return test_names_steal(&cases, ret);
}

int cargo_case_argv(const char *exe, const char *case_name, char * const *extra_args, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        assert(case_name);
        assert(ret);

        if (isempty(exe))
                return -EINVAL;
        if (strv_extend(&l, exe) < 0 ||
            strv_extend(&l, "--exact") < 0 ||
            strv_extend(&l, "--nocapture") < 0 ||
            strv_extend(&l, case_name) < 0)
                return -ENOMEM;
        /* What is there already: libtest refuses an option given twice ("cargo test -- --nocapture"). */
        static char *const given[] = { (char *) "--exact", (char *) "--nocapture", (char *) "--no-capture",
                                       NULL };
        STRV_FOREACH(a, extra_args)
                if (!strv_contains(given, *a) && strv_extend(&l, *a) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

bool cargo_case_ran_nothing(const char *output, size_t size) {
        return test_has_line_starting_with(output, size, "test result: ok. 0 passed; 0 failed;");
}

int cargo_extra_args_check(char * const *args, char **reterr_message) {
        static const struct {
                const char *option, *hint;
        } taken[] = {
                { "--skip", "to leave cases out, use --exclude 'name.contains(NAME)'" },
                { "--list", "to list the cases, use --list-tests" },
                { "--bench", "benchmarks are not run here; cargo bench runs them" },
        };

        STRV_FOREACH(a, args) {
                size_t n = strcspn(*a, "=");
                for (size_t i = 0; i < ELEMENTSOF(taken); i++)
                        if (strlen(taken[i].option) == n && strneq(*a, taken[i].option, n))
                                return test_fail(reterr_message, -EINVAL,
                                                 "'%s' for the test executables: each case runs alone, "
                                                 "as --exact NAME; %s",
                                                 *a, taken[i].hint);
        }
        return 0;
}

/* Appends "option value" when value is set. */
static int extend_option(char ***l, const char *option, const char *value) {
        if (!value)
                return 0;
        if (strv_extend(l, option) < 0 || strv_extend(l, value) < 0)
                return -ENOMEM;
        return 0;
}

int cargo_build_argv(const CargoBuildOptions *opts, char * const *packages, char ***ret) {
        static const CargoBuildOptions none = {};
        _cleanup_strv_free_ char **l = NULL;

        assert(ret);

        if (!opts)
                opts = &none;
        STRV_FOREACH(p, packages)
                if (isempty(*p))
                        return -EINVAL;

        if (strv_extend(&l, "cargo") < 0 ||
            strv_extend(&l, "test") < 0 ||
            strv_extend(&l, "--no-run") < 0 ||
            strv_extend(&l, "--message-format=json-render-diagnostics") < 0)
                return -ENOMEM;
        STRV_FOREACH(f, opts->features)
                if (extend_option(&l, "--features", *f) < 0)
                        return -ENOMEM;
        if ((opts->all_features && strv_extend(&l, "--all-features") < 0) ||
            (opts->no_default_features && strv_extend(&l, "--no-default-features") < 0) ||
            extend_option(&l, "--profile", opts->profile) < 0 ||
            extend_option(&l, "--target", opts->target) < 0 ||
            extend_option(&l, "--target-dir", opts->target_dir) < 0 ||
            extend_option(&l, "--manifest-path", opts->manifest_path) < 0 ||
            (opts->frozen && strv_extend(&l, "--frozen") < 0) ||
            (opts->locked && strv_extend(&l, "--locked") < 0) ||
            (opts->offline && strv_extend(&l, "--offline") < 0))
                return -ENOMEM;
        if (strv_isempty(packages)) {
                if (strv_extend(&l, "--workspace") < 0)
                        return -ENOMEM;
        } else
                STRV_FOREACH(p, packages)
                        if (extend_option(&l, "-p", *p) < 0)
                                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int cargo_profile_dir(const char *target_directory, const char *target, const char *profile, char **ret) {
        const char *dir;
        char *s;

        assert(target_directory);
        assert(ret);

        if (!profile || streq(profile, "dev") || streq(profile, "test"))
                dir = "debug";
        else if (streq(profile, "release") || streq(profile, "bench"))
                dir = "release";
        else
                dir = profile;

        if (isempty(target))
                s = strjoin(target_directory, "/", dir);
        else
                s = strjoin(target_directory, "/", target, "/", dir);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int cargo_package_layer(const char *workspace_root, const char *package_dir, LayerSpec *ret) {
        _cleanup_(textbuf_done) TextBuf glob = {}, prefix = {};
        const char *rest;

        assert(workspace_root);
        assert(package_dir);
        assert(ret);

        if (workspace_root[0] != '/' || package_dir[0] != '/' || !path_is_under(package_dir, workspace_root))
                return -EINVAL;
        rest = package_dir + strlen(workspace_root);
        rest += strspn(rest, "/");
        if (!test_path_is_clean_relative(rest, /* empty_ok= */ true) ||
            !test_path_is_clean_relative(workspace_root + 1, /* empty_ok= */ true))
                return -EINVAL;
        if (!isempty(rest)) {
                test_append_layer_escaped(&glob, rest, /* glob= */ true);
                textbuf_append_char(&glob, '/');
        }
        textbuf_append(&glob, "{*,src/**,tests/**,benches/**,examples/**}");
        test_append_layer_escaped(&prefix, workspace_root, /* glob= */ false);
        return test_glob_layer(&glob, &prefix, ret);
}
