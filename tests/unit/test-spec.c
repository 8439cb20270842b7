/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "basic/string-util.h"
#include "basic/tests.h"
#include "spec/spec-decode.h"
#include "spec/spec-json.h"
#include "spec/spec.h"
#include "toml/toml.h"

/* JSON in C strings: tests write ' for ", and J() turns them into ". */
static char *J(const char *s) {
        char *c = strdup(s);
        ASSERT_TRUE(c);
        for (char *p = c; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return c;
}

/* ---- collecting what the reader delivers ---- */

#define MAX_JOBS 64

typedef struct Collected {
        size_t n;
        unsigned job[MAX_JOBS];
        JobSpec *spec[MAX_JOBS];
        SpecError error[MAX_JOBS];
        int stop_after; /* return -ECANCELED once this many were delivered; 0 = never */
} Collected;

static int collect(JobSpecReader *r, unsigned job, JobSpec *spec, const SpecError *error, void *userdata) {
        Collected *c = userdata;

        ASSERT_TRUE(c->n < MAX_JOBS);
        ASSERT_TRUE(!spec != !error);
        c->job[c->n] = job;
        c->spec[c->n] = spec;
        if (error)
                c->error[c->n] = *error;
        c->n++;
        if (c->stop_after > 0 && c->n >= (size_t) c->stop_after)
                return -ECANCELED;
        return 0;
}

static void collected_done(Collected *c) {
        for (size_t i = 0; i < c->n; i++)
                job_spec_free(c->spec[i]);
        *c = (Collected) {};
}

/* Feed text in pieces of step bytes (0 = all at once), then finish. Returns the result of the first failing
 * call, or 0. */
static int feed_text(const char *text, size_t len, size_t step, Collected *c, SpecError *fatal) {
        _cleanup_(job_spec_reader_freep) JobSpecReader *r = NULL;
        int q;

        ASSERT_OK(job_spec_reader_new(collect, c, &r));
        if (step == 0)
                step = MAX(len, (size_t) 1);
        for (size_t i = 0; i < len; i += step) {
                q = job_spec_reader_feed(r, text + i, MIN(step, len - i), fatal);
                if (q < 0)
                        return q;
        }
        return job_spec_reader_finish(r, fatal);
}

/* The one job of a text that must be good. */
static JobSpec *parse_ok(const char *single_quoted) {
        _cleanup_free_ char *text = J(single_quoted);
        Collected c = {};
        SpecError fatal = {};

        ASSERT_OK(feed_text(text, strlen(text), 0, &c, &fatal));
        ASSERT_EQ(c.n, 1);
        if (!c.spec[0]) {
                _cleanup_free_ char *m = NULL;
                ASSERT_OK(spec_error_format(&c.error[0], &m));
                fprintf(stderr, "unexpected job error: %s\n", m);
        }
        ASSERT_TRUE(c.spec[0]);
        return c.spec[0];
}

/* The one job of a text must fail, at line:column, and the whole message must contain needle. */
static void check_job_error(const char *single_quoted, unsigned line, unsigned column, const char *needle) {
        _cleanup_free_ char *text = J(single_quoted), *m = NULL;
        Collected c = {};
        SpecError fatal = {};

        ASSERT_OK(feed_text(text, strlen(text), 0, &c, &fatal));
        ASSERT_EQ(c.n, 1);
        ASSERT_TRUE(!c.spec[0]);
        ASSERT_OK(spec_error_format(&c.error[0], &m));
        fprintf(stderr, "    %s\n", m);
        ASSERT_EQ(c.error[0].job, 1);
        ASSERT_EQ(c.error[0].line, line);
        ASSERT_EQ(c.error[0].column, column);
        if (!strstr(m, needle))
                fprintf(stderr, "message does not contain \"%s\"\n", needle);
        ASSERT_TRUE(strstr(m, needle));
        collected_done(&c);
}

/* A text whose reading must fail as a whole. */
static void check_fatal(const char *text, size_t len, size_t step, int error, unsigned line, unsigned column,
                        const char *needle, size_t jobs_before) {
        _cleanup_free_ char *m = NULL;
        Collected c = {};
        SpecError fatal = {};

        ASSERT_ERROR(feed_text(text, len, step, &c, &fatal), error);
        ASSERT_OK(spec_error_format(&fatal, &m));
        fprintf(stderr, "    %s\n", m);
        ASSERT_EQ(fatal.line, line);
        ASSERT_EQ(fatal.column, column);
        if (!strstr(m, needle))
                fprintf(stderr, "message does not contain \"%s\"\n", needle);
        ASSERT_TRUE(strstr(m, needle));
        ASSERT_EQ(c.n, jobs_before);
        collected_done(&c);
}

#define LAYER "'layers': [{'tar': 'a.tar'}]"

/* ---- enums ---- */

TEST(enums) {
        for (Network n = 0; n < _NETWORK_MAX; n++)
                ASSERT_EQ(network_from_string(network_to_string(n)), n);
        for (MountType t = 0; t < _MOUNT_TYPE_MAX; t++)
                ASSERT_EQ(mount_type_from_string(mount_type_to_string(t)), t);
        for (Device d = 0; d < _DEVICE_MAX; d++)
                ASSERT_EQ(device_from_string(device_to_string(d)), d);
        for (LayerKind k = 0; k < _LAYER_KIND_MAX; k++)
                ASSERT_EQ(layer_kind_from_string(layer_kind_to_string(k)), k);
        for (SpecField f = 0; f < _SPEC_FIELD_MAX; f++)
                ASSERT_EQ(spec_field_from_string(spec_field_to_string(f)), f);
        for (unsigned b = 1; b <= USE_GROUP; b <<= 1)
                ASSERT_EQ(container_use_from_string(container_use_to_string(b)), (int) b);

        ASSERT_STREQ(network_to_string(NETWORK_LOOPBACK), "loopback");
        ASSERT_STREQ(mount_type_to_string(MOUNT_DEVPTS), "devpts");
        ASSERT_STREQ(device_to_string(DEVICE_URANDOM), "urandom");
        ASSERT_STREQ(layer_kind_to_string(LAYER_SHARED_LIBRARY_DEPENDENCIES), "shared-library-dependencies");
        ASSERT_EQ(layer_kind_from_string("shared_library_dependencies"), LAYER_SHARED_LIBRARY_DEPENDENCIES);
        ASSERT_STREQ(container_use_to_string(USE_ENABLE_WRITABLE_FILE_SYSTEM),
                     "enable_writable_file_system");

        ASSERT_ERROR(network_from_string("Local"), EINVAL);
        ASSERT_ERROR(network_from_string(NULL), EINVAL);
        ASSERT_ERROR(mount_type_from_string("tmpfs"), EINVAL);
        ASSERT_ERROR(device_from_string(""), EINVAL);
        ASSERT_ERROR(layer_kind_from_string("shared-library_dependencies"), EINVAL);
        ASSERT_ERROR(container_use_from_string("program"), EINVAL);
        ASSERT_EQ(spec_field_from_string("programm"), _SPEC_FIELD_INVALID);
        ASSERT_TRUE(network_to_string(_NETWORK_MAX) == NULL);
        ASSERT_TRUE(network_to_string(_NETWORK_INVALID) == NULL);
        ASSERT_TRUE(container_use_to_string(USE_LAYERS | USE_MOUNTS) == NULL);
        ASSERT_TRUE(container_use_to_string(0) == NULL);
}

/* ---- fields ---- */

TEST(minimal_job) {
        _cleanup_(job_spec_freep) JobSpec *j = parse_ok("{'program': 'echo', " LAYER "}");

        ASSERT_STREQ(j->program, "echo");
        ASSERT_TRUE(j->arguments && !j->arguments[0]);
        ASSERT_EQ(j->timeout, 0);
        ASSERT_EQ(j->priority, 0);
        ASSERT_TRUE(!j->tty);
        ASSERT_TRUE(!j->container.parent);
        ASSERT_EQ(j->container.n_layers, 1);
        ASSERT_TRUE(j->container.layers_set);
        ASSERT_EQ(j->container.layers[0].kind, LAYER_TAR);
        ASSERT_STREQ(j->container.layers[0].path, "a.tar");
        ASSERT_FALSE(j->container.network_set);
        ASSERT_FALSE(j->container.user_set);
        ASSERT_FALSE(j->container.group_set);
        ASSERT_FALSE(j->container.enable_writable_file_system_set);
        ASSERT_FALSE(j->container.environment_set);
        ASSERT_FALSE(j->container.mounts_set);
        ASSERT_TRUE(!j->container.working_directory);
}

TEST(all_fields) {
        _cleanup_(job_spec_freep) JobSpec *j = parse_ok(
                "{\n"
                "  'program': '/bin/sh',\n"
                "  'arguments': ['-c', 'echo \\'hi\\' \\u00e9', ''],\n"
                "  'environment': {'A': '1', 'B': '$env{HOME}'},\n"
                "  'layers': [\n"
                "    {'tar': 'base.tar'},\n"
                "    {'glob': 'src/**/*.py', 'strip_prefix': 'src/', 'prepend_prefix': '/app/'},\n"
                "    {'paths': ['a', '/abs/b'], 'follow_symlinks': true, 'canonicalize': true},\n"
                "    {'stubs': ['/dev/{null,zero}', '/tmp/']},\n"
                "    {'symlinks': [{'link': '/a', 'target': '/b'}, {'link': '/c', 'target': 'rel'}]},\n"
                "    {'shared-library-dependencies': ['/bin/bash'], 'prepend_prefix': '/x'},\n"
                "    {'shared_library_dependencies': []}\n"
                "  ],\n"
                "  'mounts': [\n"
                "    {'type': 'tmp', 'mount_point': '/tmp'},\n"
                "    {'type': 'proc', 'mount_point': '/proc'},\n"
                "    {'type': 'sys', 'mount_point': '/sys'},\n"
                "    {'type': 'devpts', 'mount_point': '/dev/pts'},\n"
                "    {'type': 'mqueue', 'mount_point': '/dev/mqueue'},\n"
                "    {'mount_point': '/data', 'type': 'bind', 'local_path': 'data', 'read_only': true},\n"
                "    {'type': 'devices', 'devices': ['null', 'zero', 'full', 'zero']}\n"
                "  ],\n"
                "  'network': 'loopback',\n"
                "  'enable_writable_file_system': true,\n"
                "  'working_directory': '/work',\n"
                "  'user': 1000,\n"
                "  'group': 4294967294,\n"
                "  'timeout': 2.5,\n"
                "  'priority': -128\n"
                "}");
        const ContainerSpec *c = &j->container;

        ASSERT_STREQ(j->program, "/bin/sh");
        ASSERT_EQ(strv_length(j->arguments), 3);
        ASSERT_STREQ(j->arguments[1], "echo \"hi\" \xc3\xa9");
        ASSERT_STREQ(j->arguments[2], "");
        ASSERT_EQ(c->n_environment, 1);
        ASSERT_FALSE(c->environment[0].extend);
        ASSERT_EQ(strv_length(c->environment[0].vars), 2);
        ASSERT_STREQ(c->environment[0].vars[0], "A=1");
        ASSERT_STREQ(c->environment[0].vars[1], "B=$env{HOME}");

        ASSERT_EQ(c->n_layers, 7);
        ASSERT_EQ(c->layers[0].kind, LAYER_TAR);
        ASSERT_EQ(c->layers[1].kind, LAYER_GLOB);
        ASSERT_STREQ(c->layers[1].path, "src/**/*.py");
        ASSERT_STREQ(c->layers[1].prefix.strip_prefix, "src/");
        ASSERT_STREQ(c->layers[1].prefix.prepend_prefix, "/app/");
        ASSERT_FALSE(c->layers[1].prefix.follow_symlinks);
        ASSERT_EQ(c->layers[2].kind, LAYER_PATHS);
        ASSERT_EQ(strv_length(c->layers[2].paths), 2);
        ASSERT_STREQ(c->layers[2].paths[1], "/abs/b");
        ASSERT_TRUE(c->layers[2].prefix.follow_symlinks);
        ASSERT_TRUE(c->layers[2].prefix.canonicalize);
        ASSERT_TRUE(!c->layers[2].prefix.strip_prefix);
        ASSERT_EQ(c->layers[3].kind, LAYER_STUBS);
        ASSERT_STREQ(c->layers[3].paths[0], "/dev/{null,zero}");
        ASSERT_EQ(c->layers[4].kind, LAYER_SYMLINKS);
        ASSERT_EQ(c->layers[4].n_symlinks, 2);
        ASSERT_STREQ(c->layers[4].symlinks[1].link, "/c");
        ASSERT_STREQ(c->layers[4].symlinks[1].target, "rel");
        ASSERT_EQ(c->layers[5].kind, LAYER_SHARED_LIBRARY_DEPENDENCIES);
        ASSERT_STREQ(c->layers[5].paths[0], "/bin/bash");
        ASSERT_STREQ(c->layers[5].prefix.prepend_prefix, "/x");
        ASSERT_EQ(c->layers[6].kind, LAYER_SHARED_LIBRARY_DEPENDENCIES);
        ASSERT_TRUE(c->layers[6].paths && !c->layers[6].paths[0]);

        ASSERT_EQ(c->n_mounts, 7);
        ASSERT_EQ(c->mounts[0].type, MOUNT_TMP);
        ASSERT_STREQ(c->mounts[0].mount_point, "/tmp");
        ASSERT_EQ(c->mounts[3].type, MOUNT_DEVPTS);
        ASSERT_EQ(c->mounts[4].type, MOUNT_MQUEUE);
        ASSERT_EQ(c->mounts[5].type, MOUNT_BIND);
        ASSERT_STREQ(c->mounts[5].local_path, "data");
        ASSERT_STREQ(c->mounts[5].mount_point, "/data");
        ASSERT_TRUE(c->mounts[5].read_only);
        ASSERT_EQ(c->mounts[6].type, MOUNT_DEVICES);
        ASSERT_TRUE(!c->mounts[6].mount_point);
        ASSERT_EQ(c->mounts[6].devices, (1U << DEVICE_NULL) | (1U << DEVICE_ZERO) | (1U << DEVICE_FULL));

        ASSERT_TRUE(c->network_set);
        ASSERT_EQ(c->network, NETWORK_LOOPBACK);
        ASSERT_TRUE(c->enable_writable_file_system_set && c->enable_writable_file_system);
        ASSERT_STREQ(c->working_directory, "/work");
        ASSERT_TRUE(c->user_set);
        ASSERT_EQ(c->user, 1000);
        ASSERT_TRUE(c->group_set);
        ASSERT_EQ(c->group, 4294967294U);
        ASSERT_EQ(j->timeout, 2500000);
        ASSERT_EQ(j->priority, -128);
}

TEST(scalar_values) {
        JobSpec *j;

        j = parse_ok("{'program': 'x', 'timeout': 0, 'priority': 127, 'user': 0, 'group': 0, " LAYER "}");
        ASSERT_EQ(j->timeout, 0);
        ASSERT_EQ(j->priority, 127);
        ASSERT_TRUE(j->container.user_set && j->container.user == 0);
        job_spec_free(j);

        /* A tiny timeout rounds up rather than becoming "none". */
        j = parse_ok("{'program': 'x', 'timeout': 1e-9, " LAYER "}");
        ASSERT_EQ(j->timeout, 1);
        job_spec_free(j);
        j = parse_ok("{'program': 'x', 'timeout': 4294967295, 'network': 'local', " LAYER "}");
        ASSERT_EQ(j->timeout, (usec_t) UINT32_MAX * USEC_PER_SEC);
        ASSERT_EQ(j->container.network, NETWORK_LOCAL);
        job_spec_free(j);
        j = parse_ok("{'program': 'x', 'network': 'disabled', 'enable_writable_file_system': false, "
                     LAYER "}");
        ASSERT_TRUE(j->container.network_set);
        ASSERT_EQ(j->container.network, NETWORK_DISABLED);
        ASSERT_TRUE(j->container.enable_writable_file_system_set);
        ASSERT_FALSE(j->container.enable_writable_file_system);
        job_spec_free(j);
}

TEST(invalid_fields) {
        /* Each of these fails at the value (or key) at line 1, the given column. */
        static const struct {
                const char *text;
                unsigned column;
                const char *needle;
        } cases[] = {
                { "{'program': 5}", 13, "field 'program': expected a string, got a number" },
                { "{'program': ''}", 13, "field 'program': must not be empty" },
                { "{'program': 'a\\u0000b'}", 13, "field 'program': contains a NUL character" },
                { "{'program': 'x', 'arguments': 'a'}", 31,
                  "field 'arguments': expected an array of strings, got a string" },
                { "{'program': 'x', 'arguments': ['a', 1]}", 37,
                  "field 'arguments[1]': expected a string, got a number" },
                { "{'program': 'x', 'timeout': '5'}", 29,
                  "job 1, line 1, column 29: field 'timeout': expected a non-negative number, got a "
                  "string" },
                { "{'program': 'x', 'timeout': -1}", 29,
                  "field 'timeout': expected a non-negative number, got -1" },
                { "{'program': 'x', 'timeout': -0.5}", 29,
                  "field 'timeout': expected a non-negative number, got -0.5" },
                { "{'program': 'x', 'timeout': 4294967296}", 29,
                  "field 'timeout': expected at most 4294967295 seconds, got 4294967296" },
                { "{'program': 'x', 'timeout': NaN}", 29, "expected a non-negative number, got nan" },
                { "{'program': 'x', 'timeout': Infinity}", 29,
                  "expected at most 4294967295 seconds, got inf" },
                { "{'program': 'x', 'timeout': true}", 29, "got a boolean" },
                { "{'program': 'x', 'priority': 128}", 30,
                  "field 'priority': expected an integer from -128 to 127, got 128" },
                { "{'program': 'x', 'priority': -129}", 30, "got -129" },
                { "{'program': 'x', 'priority': 1.5}", 30,
                  "field 'priority': expected an integer from -128 to 127, got a number" },
                { "{'program': 'x', 'user': -1}", 26,
                  "field 'user': expected an integer from 0 to 4294967294, got -1" },
                { "{'program': 'x', 'user': 4294967295}", 26, "got 4294967295" },
                { "{'program': 'x', 'user': 99999999999999999999}", 26, "got 9223372036854775807" },
                { "{'program': 'x', 'user': '0'}", 26,
                  "field 'user': expected an integer from 0 to 4294967294, got a string" },
                { "{'program': 'x', 'group': 1e3}", 27,
                  "field 'group': expected an integer from 0 to 4294967294, got a number" },
                { "{'program': 'x', 'network': 'host'}", 29,
                  "field 'network': unknown network 'host' (expected disabled, loopback or local)" },
                { "{'program': 'x', 'network': 1}", 29, "field 'network': expected a string, got a number" },
                { "{'program': 'x', 'enable_writable_file_system': 'yes'}", 49,
                  "field 'enable_writable_file_system': expected a boolean, got a string" },
                { "{'program': 'x', 'working_directory': 'rel'}", 39,
                  "field 'working_directory': expected an absolute path, got 'rel'" },
                { "{'program': 'x', 'working_directory': ''}", 39,
                  "field 'working_directory': must not be empty" },
                { "{'program': 'x', 'working_directory': {}}", 39,
                  "expected an absolute path, got an object" },
                { "{'program': 'x', 'layers': {}}", 28,
                  "field 'layers': expected an array of layers, got an object" },
                { "{'program': 'x', 'mounts': [1]}", 29,
                  "field 'mounts[0]': expected an object, got a number" },
                { "{'program': 'x', 'environment': 'A=1'}", 33,
                  "field 'environment': expected an object or an array, got a string" },
                { "{'program': 'x', 'image': 5}", 27,
                  "field 'image': expected a string or an object, got a number" },
                { "{'program': 'x', 'parent': ''}", 28, "field 'parent': must not be empty" },
                { "{'program': 'x', 'programm': 'y'}", 18,
                  "job 1, line 1, column 18: unknown field 'programm'" },
                { "{'program': 'x', 'added_environment': {}}", 18, "unknown field 'added_environment'" },
                { "{'program': 'x', 'added_mounts': []}", 18, "unknown field 'added_mounts'" },
                { "{'program': 'x', 'estimated_duration': 3}", 18, "unknown field 'estimated_duration'" },
                { "{'program': 'x', 'timeout': null}", 29, "field 'timeout': null is not allowed" },
                { "{'program': 'x', 'arguments': ['a', null]}", 37,
                  "field 'arguments[1]': null is not allowed" },
                { "{'arguments': []}", 1, "job 1, line 1, column 1: missing field 'program'" },
                { "{}", 1, "missing field 'program'" },
                { "{'program': 'x', 'program': 'y'}", 18, "duplicate field 'program'" },
                { "{'program': 'x', 'layers': [{'tar': 'a', 'tar': 'b'}]}", 42,
                  "duplicate field 'layers[0].tar'" },
                { "{'program': 'x', 'environment': {'A': '1', '\\u0041': '2'}}", 44,
                  "duplicate field 'environment.A'" },
                { "{'program': 'x', 'a': {'b': [1, 2], 'b': {'c': 3}}}", 37, "duplicate field 'a.b'" },
                { "{'\\u0070rogram': 5}", 18, "field 'program': expected a string" },
                { "{'program': 'x', 'p\\u0000': 5}", 18, "a field name contains a NUL character" },
                { "{'program': 'x', 'image': 'i', 'parent': 'p'}", 32,
                  "field 'parent': 'image' and 'parent' cannot be used together" },
                { "[1, 2]", 1, "job 1, line 1, column 1: expected a job object, got an array" },
                { "'x'", 1, "expected a job object, got a string" },
                { "true", 1, "expected a job object, got a boolean" },
                { "null ", 1, "expected a job object, got null" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_job_error(cases[i].text, 1, cases[i].column, cases[i].needle);

        /* Single-quoted keys are accepted by json-c; we are stricter (this one is written with a real '). */
        Collected c = {};
        SpecError fatal = {};
        const char *text = "{\"program\": \"x\", 'user': 1}";
        ASSERT_OK(feed_text(text, strlen(text), 0, &c, &fatal));
        ASSERT_EQ(c.n, 1);
        ASSERT_TRUE(!c.spec[0]);
        ASSERT_EQ(c.error[0].column, 18);
        ASSERT_TRUE(strstr(c.error[0].message, "field names must be in double quotes"));
        collected_done(&c);
}

TEST(layers) {
        static const struct {
                const char *layer;
                const char *needle;
        } bad[] = {
                { "{'tar': 'a', 'glob': '*'}",
                  "field 'layers[0]': a layer has only one of tar, glob, paths, stubs, symlinks and "
                  "shared-library-dependencies, but 'glob' follows 'tar'" },
                { "{}",
                  "field 'layers[0]': expected one of tar, glob, paths, stubs, symlinks or "
                  "shared-library-dependencies" },
                { "{'strip_prefix': 'a'}", "expected one of tar" },
                { "{'tar': 'a', 'strip_prefix': 'x'}",
                  "field 'layers[0].strip_prefix': not allowed in a 'tar' layer" },
                { "{'stubs': ['/a'], 'follow_symlinks': true}",
                  "field 'layers[0].follow_symlinks': not allowed in a 'stubs' layer" },
                { "{'symlinks': [], 'canonicalize': true}", "not allowed in a 'symlinks' layer" },
                { "{'tar': 'a', 'tarr': 'b'}", "unknown field 'layers[0].tarr'" },
                { "{'tar': ''}", "field 'layers[0].tar': must not be empty" },
                { "{'tar': ['a']}", "field 'layers[0].tar': expected a string, got an array" },
                { "{'glob': 5}", "field 'layers[0].glob': expected a string, got a number" },
                { "{'paths': 'a'}", "field 'layers[0].paths': expected an array of strings, got a string" },
                { "{'paths': ['a', '']}", "field 'layers[0].paths[1]': must not be empty" },
                { "{'stubs': ['tmp/']}",
                  "field 'layers[0].stubs[0]': expected an absolute path, got 'tmp/'" },
                { "{'symlinks': [{'link': '/a'}]}",
                  "field 'layers[0].symlinks[0]': missing field 'target'" },
                { "{'symlinks': [{'target': '/a'}]}", "missing field 'link'" },
                { "{'symlinks': [{'link': 'a', 'target': '/b'}]}",
                  "field 'layers[0].symlinks[0].link': expected an absolute path" },
                { "{'symlinks': [{'link': '/', 'target': '/b'}]}",
                  "field 'layers[0].symlinks[0].link': cannot be the root directory" },
                { "{'symlinks': [{'link': '/a', 'target': '/b', 'x': 1}]}",
                  "unknown field 'layers[0].symlinks[0].x'" },
                { "{'symlinks': ['/a']}",
                  "field 'layers[0].symlinks[0]': expected an object, got a string" },
                { "{'symlinks': {}}", "field 'layers[0].symlinks': expected an array, got an object" },
                { "{'shared-library-dependencies': [1]}",
                  "field 'layers[0].shared-library-dependencies[0]': expected a string" },
                { "{'paths': [], 'follow_symlinks': 1}",
                  "field 'layers[0].follow_symlinks': expected a boolean, got a number" },
                { "{'paths': [], 'prepend_prefix': true}",
                  "field 'layers[0].prepend_prefix': expected a string, got a boolean" },
                { "'a.tar'", "field 'layers[0]': expected an object, got a string" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;
                ASSERT_TRUE(asprintf(&text, "{'program': 'x', 'layers': [%s]}", bad[i].layer) > 0);
                /* Every error is somewhere inside the layer, which starts at column 29. */
                _cleanup_free_ char *t = J(text), *m = NULL;
                Collected c = {};
                SpecError fatal = {};
                ASSERT_OK(feed_text(t, strlen(t), 0, &c, &fatal));
                ASSERT_EQ(c.n, 1);
                ASSERT_TRUE(!c.spec[0]);
                ASSERT_OK(spec_error_format(&c.error[0], &m));
                fprintf(stderr, "    %s\n", m);
                ASSERT_EQ(c.error[0].line, 1);
                ASSERT_TRUE(c.error[0].column >= 29);
                ASSERT_TRUE(c.error[0].column < 29 + strlen(bad[i].layer));
                if (!strstr(m, bad[i].needle))
                        fprintf(stderr, "message does not contain \"%s\"\n", bad[i].needle);
                ASSERT_TRUE(strstr(m, bad[i].needle));
                collected_done(&c);
        }

        /* Exact positions: of the second kind key, of a bad element, of the layer object itself. */
        check_job_error("{'program': 'x', 'layers': [{'tar': 'a', 'glob': '*'}]}", 1, 42,
                        "but 'glob' follows 'tar'");
        check_job_error("{'program': 'x', 'layers': [{'tar': 'a'}, {'paths': ['a', 7]}]}", 1, 59,
                        "field 'layers[1].paths[1]': expected a string, got a number");
        check_job_error("{'program': 'x', 'layers': [{'tar': 'a'},\n {}]}", 2, 2,
                        "field 'layers[1]': expected one of");
}

TEST(mounts) {
        static const struct {
                const char *mount;
                unsigned column;
                const char *needle;
        } bad[] = {
                { "{'mount_point': '/tmp'}", 29, "field 'mounts[0]': missing field 'type'" },
                { "{'type': 'tmpfs', 'mount_point': '/tmp'}", 38,
                  "field 'mounts[0].type': unknown mount type 'tmpfs' (expected tmp, proc, sys, devpts, "
                  "mqueue, bind or devices)" },
                { "{'type': 3}", 38, "field 'mounts[0].type': expected a string, got a number" },
                { "{'type': 'tmp'}", 29, "field 'mounts[0]': missing field 'mount_point'" },
                { "{'type': 'proc', 'mount_point': 'proc'}", 61,
                  "field 'mounts[0].mount_point': expected an absolute path, got 'proc'" },
                { "{'type': 'tmp', 'mount_point': '/'}", 60,
                  "field 'mounts[0].mount_point': cannot be the root directory" },
                { "{'type': 'tmp', 'mount_point': '//./a/..'}", 60, "cannot be the root directory" },
                { "{'type': 'tmp', 'mount_point': '/tmp', 'local_path': 'x'}", 68,
                  "field 'mounts[0].local_path': not allowed in a 'tmp' mount" },
                { "{'type': 'sys', 'mount_point': '/sys', 'read_only': true}", 68,
                  "field 'mounts[0].read_only': not allowed in a 'sys' mount" },
                { "{'type': 'bind', 'mount_point': '/a'}", 29,
                  "field 'mounts[0]': missing field 'local_path'" },
                { "{'type': 'bind', 'mount_point': '/a', 'local_path': ''}", 81,
                  "field 'mounts[0].local_path': must not be empty" },
                { "{'type': 'bind', 'mount_point': '/a', 'local_path': 'a', 'read_only': 'no'}", 99,
                  "field 'mounts[0].read_only': expected a boolean, got a string" },
                { "{'type': 'devices'}", 29, "field 'mounts[0]': missing field 'devices'" },
                { "{'type': 'devices', 'devices': ['null', 'sda']}", 69,
                  "field 'mounts[0].devices[1]': unknown device 'sda' (expected full, fuse, null, random, "
                  "shm, tty, urandom or zero)" },
                { "{'type': 'devices', 'devices': 'null'}", 60,
                  "field 'mounts[0].devices': expected an array of device names, got a string" },
                { "{'type': 'devices', 'devices': [], 'mount_point': '/dev'}", 64,
                  "field 'mounts[0].mount_point': not allowed in a 'devices' mount" },
                { "{'type': 'tmp', 'mount_point': '/tmp', 'size': 5}", 68,
                  "unknown field 'mounts[0].size'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;
                ASSERT_TRUE(asprintf(&text, "{'program': 'x', 'mounts': [%s]}", bad[i].mount) > 0);
                check_job_error(text, 1, bad[i].column, bad[i].needle);
        }

        _cleanup_(job_spec_freep) JobSpec *j = parse_ok(
                "{'program': 'x', " LAYER ", 'mounts': [{'type': 'devices', 'devices': []}, "
                "{'type': 'bind', 'mount_point': '/a', 'local_path': '../b'}]}");
        ASSERT_EQ(j->container.n_mounts, 2);
        ASSERT_EQ(j->container.mounts[0].devices, 0);
        ASSERT_FALSE(j->container.mounts[1].read_only);
}

TEST(environment_forms) {
        JobSpec *j;

        j = parse_ok("{'program': 'x', " LAYER ", 'environment': [{'vars': {'A': 'a'}, 'extend': true}, "
                     "{'vars': {}}, {'extend': false, 'vars': {'B': ''}}]}");
        ASSERT_EQ(j->container.n_environment, 3);
        ASSERT_TRUE(j->container.environment[0].extend);
        ASSERT_STREQ(j->container.environment[0].vars[0], "A=a");
        ASSERT_FALSE(j->container.environment[1].extend);
        ASSERT_TRUE(j->container.environment[1].vars && !j->container.environment[1].vars[0]);
        ASSERT_STREQ(j->container.environment[2].vars[0], "B=");
        job_spec_free(j);

        j = parse_ok("{'program': 'x', " LAYER ", 'environment': []}");
        ASSERT_TRUE(j->container.environment_set);
        ASSERT_EQ(j->container.n_environment, 0);
        job_spec_free(j);

        check_job_error("{'program': 'x', 'environment': {'A=B': '1'}}", 1, 34,
                        "field 'environment': invalid variable name 'A=B'");
        check_job_error("{'program': 'x', 'environment': {'': '1'}}", 1, 34, "invalid variable name ''");
        check_job_error("{'program': 'x', 'environment': {'A': 1}}", 1, 39,
                        "field 'environment.A': expected a string, got a number");
        check_job_error("{'program': 'x', 'environment': [{'extend': true}]}", 1, 34,
                        "field 'environment[0]': missing field 'vars'");
        check_job_error("{'program': 'x', 'environment': [{'vars': {}, 'extend': 1}]}", 1, 57,
                        "field 'environment[0].extend': expected a boolean, got a number");
        check_job_error("{'program': 'x', 'environment': [{'vars': [], 'extend': true}]}", 1, 43,
                        "field 'environment[0].vars': expected an object, got an array");
        check_job_error("{'program': 'x', 'environment': [{'vars': {}, 'x': 1}]}", 1, 47,
                        "unknown field 'environment[0].x'");
        check_job_error("{'program': 'x', 'environment': [['A', 'B']]}", 1, 34,
                        "field 'environment[0]': expected an object, got an array");
}

TEST(parents) {
        JobSpec *j;

        j = parse_ok("{'program': 'x', 'image': 'docker://alpine'}");
        ASSERT_TRUE(j->container.parent);
        ASSERT_TRUE(j->container.parent->is_image);
        ASSERT_STREQ(j->container.parent->name, "docker://alpine");
        ASSERT_EQ(j->container.parent->use, USE_IMAGE_ALL);
        job_spec_free(j);

        j = parse_ok("{'program': 'x', 'image': {'name': 'oci:dir', 'use': ['environment', 'environment']}, "
                     LAYER "}");
        ASSERT_EQ(j->container.parent->use, USE_ENVIRONMENT);
        job_spec_free(j);

        j = parse_ok("{'program': 'x', 'image': {'use': [], 'name': 'oci:dir'}, " LAYER ", "
                     "'environment': {'A': 'b'}, 'working_directory': '/w'}");
        ASSERT_EQ(j->container.parent->use, 0);
        job_spec_free(j);

        j = parse_ok("{'program': 'x', 'parent': 'base'}");
        ASSERT_FALSE(j->container.parent->is_image);
        ASSERT_STREQ(j->container.parent->name, "base");
        ASSERT_EQ(j->container.parent->use, USE_CONTAINER_ALL);
        job_spec_free(j);

        j = parse_ok("{'program': 'x', 'parent': {'name': 'base', 'use': ['network', 'user', 'mounts']}, "
                     LAYER "}");
        ASSERT_EQ(j->container.parent->use, USE_NETWORK | USE_USER | USE_MOUNTS);
        job_spec_free(j);

        check_job_error("{'program': 'x', 'image': {'use': ['layers']}}", 1, 27,
                        "field 'image': missing field 'name'");
        check_job_error("{'program': 'x', 'image': {'name': 'a', 'use': ['network']}}", 1, 49,
                        "field 'image.use[0]': 'network' cannot be taken from an image (expected layers, "
                        "environment or working_directory)");
        check_job_error("{'program': 'x', 'parent': {'name': 'a', 'use': ['layers', 'netwrk']}}", 1, 60,
                        "field 'parent.use[1]': unknown field 'netwrk' (expected layers, "
                        "enable_writable_file_system, environment, working_directory, mounts, network, user "
                        "or group)");
        check_job_error("{'program': 'x', 'parent': {'name': 'a', 'use': 'layers'}}", 1, 49,
                        "field 'parent.use': expected an array of field names, got a string");
        check_job_error("{'program': 'x', 'parent': {'name': 7}}", 1, 37,
                        "field 'parent.name': expected a string");
        check_job_error("{'program': 'x', 'parent': {'name': 'a', 'tag': 'b'}}", 1, 42,
                        "unknown field 'parent.tag'");
        check_job_error("{'parent': 'p', 'image': 'i', 'program': 'x'}", 1, 17,
                        "field 'image': 'image' and 'parent' cannot be used together");
}

TEST(conflicts) {
        JobSpec *j;

        check_job_error("{'program': 'x', 'image': 'docker://a', 'layers': [{'tar': 'a'}]}", 1, 41,
                        "field 'layers': cannot be used with an image whose layers are used");
        check_job_error("{'program': 'x', 'image': {'name': 'docker://a', 'use': ['layers']}, 'layers': []}",
                        1, 70, "field 'layers': cannot be used");
        check_job_error("{'program': 'x', " LAYER ", 'added_layers': [{'tar': 'b'}]}", 1, 48,
                        "field 'added_layers': needs an image or parent whose layers are used");
        check_job_error("{'program': 'x', 'image': {'name': 'docker://a', 'use': ['environment']}, "
                        LAYER ", 'added_layers': []}", 1, 105,
                        "field 'added_layers': needs an image or parent");
        check_job_error("{'program': 'x', 'environment': {'A': 'b'}, 'image': 'docker://a'}", 1, 18,
                        "field 'environment': the map form would replace the environment of the image");
        check_job_error("{'program': 'x', 'image': 'docker://a', 'working_directory': '/w'}", 1, 41,
                        "field 'working_directory': cannot be used with an image whose working directory is "
                        "used");

        /* The same fields are fine when the image does not supply them. */
        j = parse_ok("{'program': 'x', 'image': {'name': 'docker://a', 'use': ['environment']}, " LAYER ", "
                     "'working_directory': '/w'}");
        job_spec_free(j);
        j = parse_ok("{'program': 'x', "
                     "'image': {'name': 'docker://a', 'use': ['layers', 'working_directory']}, "
                     "'environment': {'A': 'b'}, 'added_layers': [{'tar': 'b'}]}");
        ASSERT_EQ(j->container.n_added_layers, 1);
        ASSERT_FALSE(j->container.layers_set);
        job_spec_free(j);
        /* The list form extends the image's environment. */
        j = parse_ok("{'program': 'x', 'image': 'docker://a', "
                     "'environment': [{'vars': {'A': 'b'}, 'extend': true}]}");
        job_spec_free(j);
        /* added_layers with a named parent whose layers are used. */
        j = parse_ok("{'program': 'x', 'parent': {'name': 'p', 'use': ['layers']}, 'added_layers': [], "
                     LAYER "}");
        job_spec_free(j);
}

/* ---- the stream ---- */

TEST(stream_chunks) {
        const char *text =
                "{\"program\": \"a\", \"layers\": [{\"tar\": \"x\"}]}{\"program\": \"b\", \"layers\": []}\n"
                "  \t\r\n{\"program\": \"c\", \"arguments\": [\"}{\", \"\\\"]\"]}\n\n"
                "{\"program\": \"d\"}    ";
        const char *programs[] = { "a", "b", "c", "d" };

        /* All at once, then in pieces of every size from 1 byte up: the same jobs in the same order. */
        for (size_t step = 0; step <= 24; step++) {
                Collected c = {};
                SpecError fatal = {};

                ASSERT_OK(feed_text(text, strlen(text), step, &c, &fatal));
                ASSERT_EQ(c.n, 4);
                for (size_t i = 0; i < 4; i++) {
                        ASSERT_EQ(c.job[i], i + 1);
                        ASSERT_TRUE(c.spec[i]);
                        ASSERT_STREQ(c.spec[i]->program, programs[i]);
                }
                ASSERT_STREQ(c.spec[2]->arguments[0], "}{");
                ASSERT_STREQ(c.spec[2]->arguments[1], "\"]");
                collected_done(&c);
        }

        /* Nothing at all, or only whitespace: no jobs, no error. */
        Collected c = {};
        SpecError fatal = {};
        ASSERT_OK(feed_text("", 0, 0, &c, &fatal));
        ASSERT_OK(feed_text(" \n\t\r\n ", 6, 1, &c, &fatal));
        ASSERT_EQ(c.n, 0);
}

/* Each job is delivered as soon as its object is complete, before the next byte arrives. */
TEST(stream_eager) {
        _cleanup_(job_spec_reader_freep) JobSpecReader *r = NULL;
        Collected c = {};
        const char *a = "{\"program\": \"a\"}", *b = "\n{\"program\": \"b\"";

        ASSERT_OK(job_spec_reader_new(collect, &c, &r));
        for (size_t i = 0; i < strlen(a); i++) {
                ASSERT_EQ(c.n, 0);
                ASSERT_OK(job_spec_reader_feed(r, a + i, 1, NULL));
        }
        ASSERT_EQ(c.n, 1);
        ASSERT_OK(job_spec_reader_feed(r, b, strlen(b), NULL));
        ASSERT_EQ(c.n, 1);
        ASSERT_EQ(job_spec_reader_jobs(r), 2);
        ASSERT_OK(job_spec_reader_feed(r, "}", 1, NULL));
        ASSERT_EQ(c.n, 2);
        ASSERT_OK(job_spec_reader_finish(r, NULL));
        ASSERT_EQ(c.n, 2);
        collected_done(&c);
}

TEST(stream_bad_job_alone) {
        const char *text =
                "{\"program\": \"a\"}\n"
                "{\"program\": \"b\", \"timeout\": \"5\"}\n"
                "{\"programm\": \"c\"}\n"
                "{\"program\": \"d\", \"network\": \"local\"}\n";

        for (size_t step = 0; step <= 3; step++) {
                Collected c = {};
                SpecError fatal = {};
                _cleanup_free_ char *m1 = NULL, *m2 = NULL;

                ASSERT_OK(feed_text(text, strlen(text), step, &c, &fatal));
                ASSERT_EQ(c.n, 4);
                ASSERT_TRUE(c.spec[0] && c.spec[3]);
                ASSERT_TRUE(!c.spec[1] && !c.spec[2]);
                ASSERT_EQ(c.error[1].job, 2);
                ASSERT_EQ(c.error[2].job, 3);
                ASSERT_OK(spec_error_format(&c.error[1], &m1));
                ASSERT_OK(spec_error_format(&c.error[2], &m2));
                ASSERT_STREQ(m1, "job 2, line 2, column 29: field 'timeout': expected a non-negative "
                                 "number, got a string");
                ASSERT_STREQ(m2, "job 3, line 3, column 2: unknown field 'programm'");
                ASSERT_STREQ(c.error[1].field, "timeout");
                ASSERT_STREQ(c.error[2].field, "programm");
                ASSERT_STREQ(c.spec[3]->program, "d");
                collected_done(&c);
        }
}

TEST(stream_positions) {
        _cleanup_free_ char *m = NULL;
        Collected c = {};
        SpecError fatal = {};
        /* Lines and columns count over the whole stream, columns in characters. */
        const char *text =
                "{\"program\": \"a\"}\n"
                "\n"
                "  {\"program\": \"\xc3\xa9\xe2\x82\xac\", \"arguments\": [],\n"
                "   \"layers\": [{\"tar\": \"\xf0\x9f\x98\x80\"}, {\"tar\": 1}]}"
                "   {\n"
                "\"program\": \"x\",\n"
                "\"user\": 1, \"network\": \"none\"}";

        ASSERT_OK(feed_text(text, strlen(text), 0, &c, &fatal));
        ASSERT_EQ(c.n, 3);
        ASSERT_OK(spec_error_format(&c.error[1], &m));
        ASSERT_STREQ(m, "job 2, line 4, column 37: field 'layers[1].tar': expected a string, got a number");
        m = mfree(m);
        ASSERT_OK(spec_error_format(&c.error[2], &m));
        ASSERT_STREQ(m, "job 3, line 6, column 23: field 'network': unknown network 'none' (expected "
                        "disabled, loopback or local)");
        collected_done(&c);

        /* Missing program: the position of the object. */
        text = "{\"program\": \"a\"} \n   {\"user\": 5}";
        ASSERT_OK(feed_text(text, strlen(text), 1, &c, &fatal));
        ASSERT_EQ(c.n, 2);
        ASSERT_EQ(c.error[1].line, 2);
        ASSERT_EQ(c.error[1].column, 4);
        ASSERT_STREQ(c.error[1].field, "program");
        collected_done(&c);
}

TEST(stream_syntax_errors) {
        const char *t;

        /* An object followed by garbage: the first job stands, then the reading stops. */
        t = "{\"program\": \"a\"} x {\"program\": \"b\"}";
        check_fatal(t, strlen(t), 0, EBADMSG, 1, 18, "job 2, line 1, column 18: malformed JSON", 1);
        check_fatal(t, strlen(t), 1, EBADMSG, 1, 18, "malformed JSON", 1);

        t = "{\"program\": \"a\",\n \"user\": 1,,}";
        check_fatal(t, strlen(t), 0, EBADMSG, 2, 12, "job 1, line 2, column 12: malformed JSON", 0);
        t = "{\"program\": \"a\",}";
        check_fatal(t, strlen(t), 0, EBADMSG, 1, 17, "malformed JSON", 0);
        t = "{\"program\" \"a\"}";
        check_fatal(t, strlen(t), 0, EBADMSG, 1, 12, "malformed JSON", 0);
        t = "{\"program\": 'a'}";
        check_fatal(t, strlen(t), 3, EBADMSG, 1, 13, "malformed JSON", 0);
        t = "{\"program\": \"a\"}\n{\"timeout\": 01}";
        check_fatal(t, strlen(t), 0, EBADMSG, 2, 15, "job 2, line 2, column 15: malformed JSON", 1);
        t = "{\"program\": \"a\" /* comment */}";
        check_fatal(t, strlen(t), 0, EBADMSG, 1, 17, "malformed JSON", 0);
        t = "{\"program\": TRUE}";
        check_fatal(t, strlen(t), 0, EBADMSG, 1, 13, "malformed JSON", 0);
        t = "{\"program\": \"\xc3\xa9\xff\"}";
        check_fatal(t, strlen(t), 0, EBADMSG, 1, 15, "malformed JSON", 0);
        t = "]";
        check_fatal(t, strlen(t), 0, EBADMSG, 1, 1, "job 1, line 1, column 1: malformed JSON", 0);

        /* A NUL byte, inside a string or between objects. */
        check_fatal("{\"program\": \"a\0\"}", 17, 0, EBADMSG, 1, 15, "malformed JSON: a NUL byte", 0);
        check_fatal("{\"program\": \"a\"}\n\0", 18, 1, EBADMSG, 2, 1,
                    "job 2, line 2, column 1: malformed JSON: a NUL byte", 1);

        /* The end of the input in the middle of an object. */
        t = "{\"program\": \"a\"}\n  {\"program\": \"b\",\n";
        check_fatal(t, strlen(t), 0, EBADMSG, 3, 1,
                    "job 2, line 3, column 1: malformed JSON: unexpected end of input in the value that "
                    "starts at line 2, column 3", 1);
        t = "{\"program\": \"a\"}{";
        check_fatal(t, strlen(t), 1, EBADMSG, 1, 18, "unexpected end of input", 1);
        t = "{\"program\": \"a";
        check_fatal(t, strlen(t), 0, EBADMSG, 1, 15, "unexpected end of input", 0);
}

TEST(stream_top_level_values) {
        Collected c = {};
        SpecError fatal = {};
        /* Values other than objects are bad jobs, and the stream goes on; a number needs the end to be seen.
         */
        const char *t = "1 \"s\" [] {\"program\": \"a\"} null 2.5";

        ASSERT_OK(feed_text(t, strlen(t), 1, &c, &fatal));
        ASSERT_EQ(c.n, 6);
        ASSERT_TRUE(strstr(c.error[0].message, "expected a job object, got a number"));
        ASSERT_EQ(c.error[0].column, 1);
        ASSERT_TRUE(strstr(c.error[1].message, "got a string"));
        ASSERT_EQ(c.error[1].column, 3);
        ASSERT_TRUE(strstr(c.error[2].message, "got an array"));
        ASSERT_TRUE(c.spec[3]);
        ASSERT_TRUE(strstr(c.error[4].message, "got null"));
        ASSERT_EQ(c.error[4].column, 27);
        ASSERT_TRUE(strstr(c.error[5].message, "got a number"));
        ASSERT_EQ(c.error[5].job, 6);
        ASSERT_EQ(c.error[5].column, 32);
        collected_done(&c);
}

TEST(stream_limits) {
        _cleanup_(job_spec_reader_freep) JobSpecReader *r = NULL;
        _cleanup_free_ char *big = NULL;
        Collected c = {};
        SpecError e = {};
        const char *ok = "{\"program\": \"a\"}";
        size_t n = strlen(ok);

        ASSERT_OK(job_spec_reader_new(collect, &c, &r));
        ASSERT_ERROR(job_spec_reader_set_limits(r, 0, 5), EINVAL);
        ASSERT_ERROR(job_spec_reader_set_limits(r, 100, 0), EINVAL);
        ASSERT_OK(job_spec_reader_set_limits(r, n, 3));
        /* Exactly the limit is fine, one byte more is not. */
        ASSERT_OK(job_spec_reader_feed(r, ok, n, &e));
        ASSERT_EQ(c.n, 1);
        ASSERT_ERROR(job_spec_reader_feed(r, "\n{\"program\": \"ab\"}", n + 2, &e), E2BIG);
        ASSERT_EQ(e.job, 2);
        ASSERT_EQ(e.line, 2);
        ASSERT_EQ(e.column, 1);
        ASSERT_TRUE(strstr(e.message, "object larger than 16 bytes"));
        /* Once failed, it stays failed. */
        e = (SpecError) {};
        ASSERT_ERROR(job_spec_reader_feed(r, ok, n, &e), E2BIG);
        ASSERT_TRUE(strstr(e.message, "object larger than 16 bytes"));
        ASSERT_ERROR(job_spec_reader_finish(r, NULL), E2BIG);
        ASSERT_ERROR(job_spec_reader_set_limits(r, 100, 3), EINVAL);
        ASSERT_EQ(c.n, 1);
        collected_done(&c);
        r = job_spec_reader_free(r);

        /* Depth: 3 levels are fine, 4 are not. */
        ASSERT_OK(job_spec_reader_new(collect, &c, &r));
        ASSERT_OK(job_spec_reader_set_limits(r, 1000, 3));
        const char *d3 = "{\"program\": \"a\", \"layers\": [{\"tar\": \"x\"}]}";
        const char *d4 = "{\"program\": \"a\", \"layers\": [{\"paths\": [\"x\"]}]}";
        ASSERT_OK(job_spec_reader_feed(r, d3, strlen(d3), &e));
        ASSERT_EQ(c.n, 1);
        ASSERT_ERROR(job_spec_reader_feed(r, d4, strlen(d4), &e), E2BIG);
        ASSERT_TRUE(strstr(e.message, "nested deeper than 3 levels"));
        ASSERT_EQ(e.column, strlen(d3) + 40); /* the "x" */
        collected_done(&c);
        r = job_spec_reader_free(r);

        /* The default size limit, in 64 KiB chunks. */
        size_t size = JOB_SPEC_READER_OBJECT_SIZE_MAX + 100;
        big = malloc(size);
        ASSERT_TRUE(big);
        memset(big, ' ', size);
        memcpy(big, "{\"program\": \"a\", \"arguments\": [\"", 32);
        check_fatal(big, size, 65536, E2BIG, 1, 1, "object larger than 16777216 bytes", 0);
        /* Whitespace between objects does not count. */
        memset(big, ' ', size);
        memcpy(big + size - n, ok, n);
        ASSERT_OK(feed_text(big, size, 65536, &c, &e));
        ASSERT_EQ(c.n, 1);
        ASSERT_TRUE(c.spec[0]);
        collected_done(&c);
}

TEST(stream_callback_stops) {
        _cleanup_(job_spec_reader_freep) JobSpecReader *r = NULL;
        Collected c = { .stop_after = 2 };
        SpecError e = {};
        const char *t = "{\"program\": \"a\"}{\"program\": \"b\"}{\"program\": \"c\"}";

        ASSERT_OK(job_spec_reader_new(collect, &c, &r));
        ASSERT_ERROR(job_spec_reader_feed(r, t, strlen(t), &e), ECANCELED);
        ASSERT_EQ(c.n, 2);
        /* And it stays stopped. */
        ASSERT_ERROR(job_spec_reader_feed(r, t, strlen(t), &e), ECANCELED);
        ASSERT_STREQ(e.message, "reading was stopped");
        ASSERT_ERROR(job_spec_reader_finish(r, &e), ECANCELED);
        ASSERT_EQ(c.n, 2);
        collected_done(&c);
}

/* ---- collapsing ---- */

typedef struct Containers {
        const char *names[128];
        ContainerSpec *specs[128];
        size_t n;
} Containers;

static const ContainerSpec *containers_lookup(const char *name, void *userdata) {
        Containers *c = userdata;
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->names[i], name))
                        return c->specs[i];
        return NULL;
}

/* Named containers from a TOML document: a table of container tables, as the runners have them. */
static void containers_parse(Containers *c, const char *toml) {
        _cleanup_(toml_value_freep) TomlValue *doc = NULL;
        TomlError te = {};
        SpecError e = {};

        if (toml_parse(toml, strlen(toml), &doc, &te) < 0)
                fprintf(stderr, "%u:%u: %s\n", te.line, te.column, te.message);
        ASSERT_TRUE(doc);
        for (size_t i = 0; i < doc->table.n; i++) {
                int r = container_spec_decode(doc->table.items[i].value, SPEC_SYNTAX_TOML, &c->specs[c->n],
                                              &e);
                if (r < 0)
                        fprintf(stderr, "%u:%u: %s\n", e.line, e.column, e.message);
                ASSERT_OK(r);
                ASSERT_TRUE(c->n < ELEMENTSOF(c->names));
                c->names[c->n] = strdup(doc->table.items[i].key);
                c->n++;
        }
}

static void containers_done(Containers *c) {
        for (size_t i = 0; i < c->n; i++) {
                free((char *) c->names[i]);
                container_spec_free(c->specs[i]);
        }
        *c = (Containers) {};
}

static ResolvedJob *collapse_ok(const char *job_json, Containers *c, const ImageConfig *image,
                                char **environ_) {
        _cleanup_(job_spec_freep) JobSpec *j = parse_ok(job_json);
        ResolvedJob *r = NULL;
        SpecError e = {};

        int q = job_spec_collapse(j, containers_lookup, c, image, environ_, &r, &e);
        if (q < 0)
                fprintf(stderr, "collapse failed: %s\n", e.message);
        ASSERT_OK(q);
        return r;
}

static void check_collapse_error(const char *job_json, Containers *c, int error, const char *field,
                                 const char *message) {
        _cleanup_(job_spec_freep) JobSpec *j = parse_ok(job_json);
        ResolvedJob *r = NULL;
        SpecError e = {};

        ASSERT_ERROR(job_spec_collapse(j, containers_lookup, c, NULL, NULL, &r, &e), error);
        fprintf(stderr, "    %s\n", e.message);
        ASSERT_TRUE(!r);
        ASSERT_STREQ(e.field, field);
        ASSERT_STREQ(e.message, message);
        ASSERT_EQ(e.line, 0);
}

TEST(collapse_defaults) {
        _cleanup_(resolved_job_freep) ResolvedJob *r = collapse_ok(
                "{'program': 'p', 'arguments': ['a'], 'timeout': 3, 'priority': 5, " LAYER "}",
                /* c= */ NULL, /* image= */ NULL, /* environ_= */ NULL);

        ASSERT_TRUE(!r->image);
        ASSERT_EQ(r->image_use, 0);
        ASSERT_EQ(r->n_layers, 1);
        ASSERT_STREQ(r->layers[0].path, "a.tar");
        ASSERT_TRUE(r->environment && !r->environment[0]);
        ASSERT_EQ(r->n_mounts, 0);
        ASSERT_EQ(r->network, NETWORK_DISABLED);
        ASSERT_FALSE(r->enable_writable_file_system);
        ASSERT_STREQ(r->working_directory, "/");
        ASSERT_EQ(r->user, 0);
        ASSERT_EQ(r->group, 0);
        ASSERT_STREQ(r->program, "p");
        ASSERT_EQ(strv_length(r->arguments), 1);
        ASSERT_EQ(r->timeout, 3 * USEC_PER_SEC);
        ASSERT_EQ(r->priority, 5);
        ASSERT_FALSE(r->allocate_tty);

        /* With no named containers at all (maelstrom-run), a parent is unknown. */
        _cleanup_(job_spec_freep) JobSpec *j = parse_ok("{'program': 'x', 'parent': 'base'}");
        ResolvedJob *x = NULL;
        SpecError e = {};
        ASSERT_ERROR(job_spec_collapse(j, NULL, NULL, NULL, NULL, &x, &e), EINVAL);
        ASSERT_STREQ(e.message, "unknown container 'base'");
}

static const char *const chain_toml =
        "[base]\n"
        "layers = [{tar = 'base.tar'}]\n"
        "environment = {PATH = '/bin', A = 'base'}\n"
        "mounts = [{type = 'proc', mount_point = '/proc'}]\n"
        "network = 'loopback'\n"
        "enable_writable_file_system = true\n"
        "working_directory = '/base'\n"
        "user = 1\n"
        "group = 2\n"
        "\n"
        "[mid]\n"
        "parent = 'base'\n"
        "layers = [{tar = 'mid.tar'}]\n"
        "added_layers = [{glob = 'mid/*'}]\n"
        "added_environment = [{vars = {B = '$prev{A}-mid'}, extend = true}]\n"
        "mounts = [{type = 'tmp', mount_point = '/tmp'}]\n"
        "user = 10\n"
        "\n"
        "[partial]\n"
        "parent = {name = 'base', use = ['layers', 'network']}\n"
        "layers = [{tar = 'partial.tar'}]\n"
        "\n"
        "[img]\n"
        "image = {name = 'docker://alpine', use = ['layers', 'environment', 'working_directory']}\n"
        "added_layers = [{tar = 'img.tar'}]\n"
        "\n"
        "[on_img]\n"
        "parent = {name = 'img', use = ['layers', 'environment']}\n"
        "\n"
        "[cycle_a]\n"
        "parent = 'cycle_b'\n"
        "[cycle_b]\n"
        "parent = 'cycle_c'\n"
        "[cycle_c]\n"
        "parent = 'cycle_a'\n"
        "[self]\n"
        "parent = 'self'\n"
        "[dangling]\n"
        "parent = 'nowhere'\n"
        "[sys]\n"
        "mounts = [{type = 'sys', mount_point = '/sys'}]\n"
        "layers = [{tar = 'sys.tar'}]\n";

TEST(collapse_chain) {
        Containers c = {};
        ResolvedJob *r;

        containers_parse(&c, chain_toml);

        /* Everything from the whole chain. */
        r = collapse_ok("{'program': 'p', 'parent': 'mid', " LAYER "}", &c, NULL, NULL);
        ASSERT_EQ(r->n_layers, 4);
        ASSERT_STREQ(r->layers[0].path, "base.tar");
        ASSERT_STREQ(r->layers[1].path, "mid.tar");
        ASSERT_STREQ(r->layers[2].path, "mid/*");
        ASSERT_STREQ(r->layers[3].path, "a.tar");
        ASSERT_EQ(r->n_mounts, 2);
        ASSERT_EQ(r->mounts[0].type, MOUNT_PROC);
        ASSERT_EQ(r->mounts[1].type, MOUNT_TMP);
        ASSERT_EQ(strv_length(r->environment), 3);
        ASSERT_STREQ(r->environment[0], "A=base");
        ASSERT_STREQ(r->environment[1], "B=base-mid");
        ASSERT_STREQ(r->environment[2], "PATH=/bin");
        ASSERT_EQ(r->network, NETWORK_LOOPBACK);
        ASSERT_TRUE(r->enable_writable_file_system);
        ASSERT_STREQ(r->working_directory, "/base");
        ASSERT_EQ(r->user, 10); /* the nearest */
        ASSERT_EQ(r->group, 2);
        resolved_job_free(r);

        /* The job's own scalars win. */
        r = collapse_ok("{'program': 'p', 'parent': 'mid', 'user': 7, 'network': 'disabled', "
                        "'enable_writable_file_system': false, 'working_directory': '/job'}",
                        &c, NULL, NULL);
        ASSERT_EQ(r->user, 7);
        ASSERT_EQ(r->network, NETWORK_DISABLED);
        ASSERT_FALSE(r->enable_writable_file_system);
        ASSERT_STREQ(r->working_directory, "/job");
        ASSERT_EQ(r->n_layers, 3);
        resolved_job_free(r);

        /* A use subset on the job's link: only those fields come from above. */
        r = collapse_ok("{'program': 'p', 'parent': {'name': 'mid', 'use': ['user', 'mounts']}, " LAYER "}",
                        &c, NULL, NULL);
        ASSERT_EQ(r->user, 10);
        ASSERT_EQ(r->n_mounts, 2);
        ASSERT_EQ(r->n_layers, 1);
        ASSERT_EQ(r->group, 0);
        ASSERT_EQ(r->network, NETWORK_DISABLED);
        ASSERT_STREQ(r->working_directory, "/");
        ASSERT_TRUE(!r->environment[0]);
        resolved_job_free(r);

        /* A use subset further up: partial takes only layers and network from base. */
        r = collapse_ok("{'program': 'p', 'parent': 'partial'}", &c, NULL, NULL);
        ASSERT_EQ(r->n_layers, 2);
        ASSERT_STREQ(r->layers[0].path, "base.tar");
        ASSERT_STREQ(r->layers[1].path, "partial.tar");
        ASSERT_EQ(r->network, NETWORK_LOOPBACK);
        ASSERT_EQ(r->user, 0);
        ASSERT_EQ(r->n_mounts, 0);
        ASSERT_FALSE(r->enable_writable_file_system);
        ASSERT_TRUE(!r->environment[0]);
        resolved_job_free(r);

        /* The job uses only mounts from partial, which has none and does not take base's. */
        r = collapse_ok("{'program': 'p', 'parent': {'name': 'partial', 'use': ['mounts', 'network']}, "
                        LAYER "}", &c, NULL, NULL);
        ASSERT_EQ(r->n_mounts, 0);
        ASSERT_EQ(r->network, NETWORK_LOOPBACK);
        resolved_job_free(r);

        containers_done(&c);
}

TEST(collapse_image) {
        Containers c = {};
        ResolvedJob *r;
        const char *img_env[] = { "PATH=/usr/bin", "LANG=C", "PATH=/img/bin", NULL };
        ImageConfig image = { .environment = (char **) img_env, .working_directory = "/img" };
        const char *image_name;
        unsigned use;
        SpecError e = {};

        containers_parse(&c, chain_toml);

        /* A chain that ends in an image: what the job uses of it is what every link uses. */
        r = collapse_ok("{'program': 'p', 'parent': 'on_img', "
                        "'environment': [{'vars': {'P': '$prev{PATH}:/x'}, 'extend': true}]}",
                        &c, &image, NULL);
        ASSERT_STREQ(r->image, "docker://alpine");
        ASSERT_EQ(r->image_use, USE_LAYERS | USE_ENVIRONMENT);
        ASSERT_EQ(r->n_layers, 1);
        ASSERT_STREQ(r->layers[0].path, "img.tar");
        ASSERT_STREQ(r->working_directory, "/"); /* on_img does not use working_directory */
        ASSERT_EQ(strv_length(r->environment), 3);
        ASSERT_STREQ(r->environment[0], "LANG=C");
        ASSERT_STREQ(r->environment[1], "P=/img/bin:/x");
        ASSERT_STREQ(r->environment[2], "PATH=/img/bin");
        resolved_job_free(r);

        _cleanup_(job_spec_freep) JobSpec *j = parse_ok("{'program': 'p', 'parent': 'on_img'}");
        ASSERT_OK(job_spec_find_image(j, containers_lookup, &c, &image_name, &use, &e));
        ASSERT_STREQ(image_name, "docker://alpine");
        ASSERT_EQ(use, USE_LAYERS | USE_ENVIRONMENT);

        /* Directly on an image: its working directory; no layers needed. */
        r = collapse_ok("{'program': 'p', 'image': 'docker://alpine'}", &c, &image, NULL);
        ASSERT_STREQ(r->working_directory, "/img");
        ASSERT_EQ(r->n_layers, 0);
        ASSERT_EQ(strv_length(r->environment), 2);
        resolved_job_free(r);

        /* Without the image's configuration (not resolved yet): nothing from it. */
        r = collapse_ok("{'program': 'p', 'image': 'docker://alpine'}", &c, NULL, NULL);
        ASSERT_STREQ(r->working_directory, "/");
        ASSERT_TRUE(!r->environment[0]);
        resolved_job_free(r);

        /* An image whose layers are not used supplies none. */
        r = collapse_ok("{'program': 'p', "
                        "'image': {'name': 'docker://alpine', 'use': ['working_directory']}, "
                        "'environment': {'A': 'b'}, " LAYER "}", &c, &image, NULL);
        ASSERT_EQ(r->image_use, USE_WORKING_DIRECTORY);
        ASSERT_STREQ(r->working_directory, "/img");
        ASSERT_EQ(strv_length(r->environment), 1);
        resolved_job_free(r);
        check_collapse_error("{'program': 'p', "
                             "'image': {'name': 'docker://alpine', 'use': ['environment']}}",
                             &c, EINVAL, "layers",
                             "no layers: a job needs at least one layer, or an image whose layers it uses");

        containers_done(&c);
}

TEST(collapse_errors) {
        Containers c = {};

        containers_parse(&c, chain_toml);
        check_collapse_error("{'program': 'p', 'parent': 'cycle_a'}", &c, EINVAL, "parent",
                             "containers inherit from each other in a cycle: 'cycle_a' -> 'cycle_b' -> "
                             "'cycle_c' -> 'cycle_a'");
        check_collapse_error("{'program': 'p', 'parent': {'name': 'self', 'use': []}}", &c, EINVAL, "parent",
                             "containers inherit from each other in a cycle: 'self' -> 'self'");
        check_collapse_error("{'program': 'p', 'parent': 'dangling'}", &c, EINVAL, "parent",
                             "unknown container 'nowhere'");
        check_collapse_error("{'program': 'p', 'parent': 'nope'}", &c, EINVAL, "parent",
                             "unknown container 'nope'");
        check_collapse_error("{'program': 'p'}", &c, EINVAL, "layers",
                             "no layers: a job needs at least one layer, or an image whose layers it uses");
        check_collapse_error("{'program': 'p', 'parent': 'sys', 'network': 'local'}", &c, EINVAL, "mounts",
                             "the 'sys' mount on '/sys' is not compatible with local networking");
        /* Fine when the job does not take the mount. */
        ResolvedJob *r = collapse_ok("{'program': 'p', 'parent': {'name': 'sys', 'use': ['layers']}, "
                                     "'network': 'local'}", &c, NULL, NULL);
        resolved_job_free(r);
        check_collapse_error("{'program': 'p', 'environment': {'A': '$env{NOPE_NOT_SET}'}, " LAYER "}", &c,
                             EINVAL, "environment",
                             "environment variable 'A': $env{NOPE_NOT_SET} is not set and has no default "
                             "(write $env{NOPE_NOT_SET:-default})");
        containers_done(&c);

        /* Chains up to the limit work; longer ones fail. */
        TextBuf b = {};
        _cleanup_free_ char *toml = NULL;
        for (unsigned i = 0; i <= SPEC_CONTAINER_CHAIN_MAX; i++)
                textbuf_appendf(&b, "[c%u]\nparent = 'c%u'\n", i, i + 1);
        textbuf_appendf(&b, "[c%u]\nlayers = [{tar = 'x'}]\n", SPEC_CONTAINER_CHAIN_MAX + 1);
        ASSERT_OK(textbuf_steal(&b, &toml));
        containers_parse(&c, toml);
        r = collapse_ok("{'program': 'p', 'parent': 'c2'}", &c, NULL, NULL);
        ASSERT_EQ(r->n_layers, 1);
        resolved_job_free(r);
        check_collapse_error("{'program': 'p', 'parent': 'c1'}", &c, E2BIG, "parent",
                             "containers inherit through more than 64 levels");
        containers_done(&c);
}

/* ---- environment ---- */

static void check_expand(const char *value, const char *expected) {
        char *prev[] = { (char *) "A=a", (char *) "E=", (char *) "PATH=/bin", NULL };
        char *env[] = { (char *) "HOME=/home/u", (char *) "EMPTY=", (char *) "HOME=/second", NULL };
        _cleanup_free_ char *out = NULL;
        SpecError e = {};

        int r = environment_expand_value(value, prev, env, &out, &e);
        if (r < 0)
                fprintf(stderr, "expanding '%s': %s\n", value, e.message);
        ASSERT_OK(r);
        ASSERT_STREQ(out, expected);
}

static void check_expand_error(const char *value, const char *message) {
        char *prev[] = { (char *) "A=a", NULL };
        char *env[] = { (char *) "HOME=/home/u", NULL };
        _cleanup_free_ char *out = NULL;
        SpecError e = {};

        ASSERT_ERROR(environment_expand_value(value, prev, env, &out, &e), EINVAL);
        fprintf(stderr, "    '%s': %s\n", value, e.message);
        ASSERT_TRUE(!out);
        ASSERT_STREQ(e.message, message);
}

TEST(expand) {
        check_expand("", "");
        check_expand("plain text", "plain text");
        check_expand("$env{HOME}", "/home/u");
        check_expand("x$env{HOME}y$prev{A}z", "x/home/uyaz");
        check_expand("$prev{PATH}:/usr/bin", "/bin:/usr/bin");
        check_expand("$$", "$");
        check_expand("$$env{HOME}", "$env{HOME}");
        check_expand("a$$$$b", "a$$b");
        check_expand("$$$env{HOME}", "$/home/u");
        /* Defaults: when unset or empty. */
        check_expand("$env{NOPE:-dflt}", "dflt");
        check_expand("$env{EMPTY:-dflt}", "dflt");
        check_expand("$env{HOME:-dflt}", "/home/u");
        check_expand("$prev{E:-d}", "d");
        check_expand("$prev{A:-d}", "a");
        check_expand("$prev{NOPE:-}", "");
        check_expand("$prev{NOPE:-a:-b $x}", "a:-b $x");
        /* Set but empty, without a default: empty. */
        check_expand("[$env{EMPTY}]", "[]");
        check_expand("[$prev{E}]", "[]");
        check_expand("\xc3\xa9$env{HOME}\xc3\xa9", "\xc3\xa9/home/u\xc3\xa9");

        check_expand_error("$env{NOPE}",
                           "$env{NOPE} is not set and has no default (write $env{NOPE:-default})");
        check_expand_error("x $prev{HOME}",
                           "$prev{HOME} is not set and has no default (write $prev{HOME:-default})");
        check_expand_error("a $ b",
                           "'$' at character 3 is not followed by $, env{ or prev{ (write $$ for a literal "
                           "'$')");
        check_expand_error("trailing $",
                           "'$' at character 10 is not followed by $, env{ or prev{ (write $$ for a literal "
                           "'$')");
        check_expand_error("$HOME",
                           "'$' at character 1 is not followed by $, env{ or prev{ (write $$ for a literal "
                           "'$')");
        check_expand_error("\xc3\xa9$xyz{A}",
                           "unknown expansion '$xyz{' at character 2 (expected $env{ or $prev{)");
        check_expand_error("$ENV{A}", "unknown expansion '$ENV{' at character 1 (expected $env{ or $prev{)");
        check_expand_error("ab$env{HOME", "unclosed '{' at character 7 (in '$env{')");
        check_expand_error("$prev{", "unclosed '{' at character 6 (in '$prev{')");
        check_expand_error("$env{}", "empty variable name in '$env{' at character 1");
        check_expand_error("$env{:-x}", "empty variable name in '$env{' at character 1");
}

TEST(environment_evaluate) {
        char *client[] = { (char *) "USER=me", (char *) "HOME=/h", NULL };
        char *initial[] = { (char *) "Z=z", (char *) "PATH=/img", (char *) "A=img", NULL };
        char **out = NULL;
        SpecError e = {};

        char *v1[] = { (char *) "A=$prev{A}+1", (char *) "B=$env{USER}", NULL };
        char *v2[] = { (char *) "C=$prev{B}/$prev{A}", (char *) "PATH=$prev{PATH}:/x", NULL };
        char *v3[] = { (char *) "D=d", (char *) "D=$prev{D:-first}", NULL };
        EnvironmentSpec els[] = {
                { .vars = v1, .extend = true },
                { .vars = v2, .extend = true },
        };

        /* Extending twice from the image's environment, $prev seeing only what came before the element. */
        ASSERT_OK(environment_evaluate(els, 2, initial, client, &out, &e));
        ASSERT_EQ(strv_length(out), 5);
        ASSERT_STREQ(out[0], "A=img+1");
        ASSERT_STREQ(out[1], "B=me");
        ASSERT_STREQ(out[2], "C=me/img+1");
        ASSERT_STREQ(out[3], "PATH=/img:/x");
        ASSERT_STREQ(out[4], "Z=z");
        out = strv_free(out);

        /* Replacing: the earlier candidate is gone, but $prev still saw it. */
        els[1].extend = false;
        ASSERT_OK(environment_evaluate(els, 2, initial, client, &out, &e));
        ASSERT_EQ(strv_length(out), 2);
        ASSERT_STREQ(out[0], "C=me/img+1");
        ASSERT_STREQ(out[1], "PATH=/img:/x");
        out = strv_free(out);

        /* Within one element, values expand against the candidate before it; the last of a name wins. */
        EnvironmentSpec one = { .vars = v3, .extend = false };
        ASSERT_OK(environment_evaluate(&one, 1, NULL, client, &out, &e));
        ASSERT_EQ(strv_length(out), 1);
        ASSERT_STREQ(out[0], "D=first");
        out = strv_free(out);

        /* Nothing at all: empty, sorted initial with the last duplicate kept. */
        ASSERT_OK(environment_evaluate(NULL, 0, initial, NULL, &out, &e));
        ASSERT_EQ(strv_length(out), 3);
        ASSERT_STREQ(out[0], "A=img");
        ASSERT_STREQ(out[2], "Z=z");
        out = strv_free(out);
        char *dups[] = { (char *) "P=1", (char *) "P=2", NULL };
        ASSERT_OK(environment_evaluate(NULL, 0, dups, NULL, &out, &e));
        ASSERT_EQ(strv_length(out), 1);
        ASSERT_STREQ(out[0], "P=2");
        out = strv_free(out);

        /* An error names the variable, and nothing is returned. */
        char *bad[] = { (char *) "OK=1", (char *) "GREETING=hello $env{NAME}", NULL };
        EnvironmentSpec b = { .vars = bad, .extend = true };
        ASSERT_ERROR(environment_evaluate(&b, 1, initial, client, &out, &e), EINVAL);
        ASSERT_TRUE(!out);
        ASSERT_STREQ(e.field, "environment");
        ASSERT_STREQ(e.message,
                     "environment variable 'GREETING': $env{NAME} is not set and has no default (write "
                     "$env{NAME:-default})");
        char *bad2[] = { (char *) "X=$(cmd)", NULL };
        b.vars = bad2;
        ASSERT_ERROR(environment_evaluate(&b, 1, NULL, client, &out, &e), EINVAL);
        ASSERT_STREQ(e.message,
                     "environment variable 'X': '$' at character 1 is not followed by $, env{ or prev{ "
                     "(write $$ for a literal '$')");

        /* Many variables: lookups stay fast (sorted), and the result is sorted. */
        size_t n = 20000;
        char **many = calloc(n + 1, sizeof(char *));
        ASSERT_TRUE(many);
        for (size_t i = 0; i < n; i++)
                ASSERT_TRUE(asprintf(&many[i], "V%zu=$prev{V%zu:-%zu}", (i * 7919) % n, (i * 7919) % n, i) >
                            0);
        EnvironmentSpec m[2] = { { .vars = many, .extend = false }, { .vars = many, .extend = true } };
        ASSERT_OK(environment_evaluate(m, 2, NULL, NULL, &out, &e));
        ASSERT_EQ(strv_length(out), n);
        for (size_t i = 1; i < n; i++) {
                size_t ka = strcspn(out[i - 1], "="), kb = strcspn(out[i], "=");
                int d = memcmp(out[i - 1], out[i], MIN(ka, kb));
                ASSERT_TRUE(d < 0 || (d == 0 && ka < kb));
        }
        ASSERT_TRUE(strv_contains(out, "V7919=1"));
        out = strv_free(out);
        strv_free(many);
}

/* ---- containers from TOML, and the lifecycle helpers ---- */

TEST(container_decode_toml) {
        _cleanup_(toml_value_freep) TomlValue *doc = NULL;
        _cleanup_(container_spec_freep) ContainerSpec *c = NULL;
        SpecError e = {};
        const char *t =
                "[c]\n"
                "parent = 'base'\n"
                "added_layers = [{paths = ['a']}]\n"
                "added_environment = {X = '1'}\n"
                "added_mounts = [{type = 'tmp', mount_point = '/t'}]\n"
                "user = 3\n"
                "[bad]\n"
                "program = 'x'\n"
                "[bad2]\n"
                "user = 1.5\n"
                "[bad3]\n"
                "image = 'a'\n"
                "parent = 'b'\n";

        ASSERT_OK(toml_parse(t, strlen(t), &doc, NULL));
        ASSERT_OK(container_spec_decode(doc->table.items[0].value, SPEC_SYNTAX_TOML, &c, &e));
        ASSERT_EQ(c->n_added_layers, 1);
        ASSERT_EQ(c->n_added_environment, 1);
        ASSERT_EQ(c->n_added_mounts, 1);
        ASSERT_FALSE(c->layers_set);
        ASSERT_EQ(c->user, 3);

        /* added_* append, plain lists replace. */
        const TomlValue *layers = toml_table_get(doc->table.items[0].value, "added_layers")->value;
        ASSERT_OK(container_spec_decode_field(c, SPEC_FIELD_ADDED_LAYERS, layers, SPEC_SYNTAX_TOML, &e));
        ASSERT_EQ(c->n_added_layers, 2);
        ASSERT_OK(container_spec_decode_field(c, SPEC_FIELD_LAYERS, layers, SPEC_SYNTAX_TOML, &e));
        ASSERT_OK(container_spec_decode_field(c, SPEC_FIELD_LAYERS, layers, SPEC_SYNTAX_TOML, &e));
        ASSERT_EQ(c->n_layers, 1);
        ASSERT_TRUE(c->layers_set);
        ASSERT_ERROR(container_spec_decode_field(c, SPEC_FIELD_PROGRAM, doc, SPEC_SYNTAX_TOML, &e), EINVAL);

        ContainerSpec *x = NULL;
        ASSERT_ERROR(container_spec_decode(doc->table.items[1].value, SPEC_SYNTAX_TOML, &x, &e), EINVAL);
        ASSERT_STREQ(e.message, "unknown field 'program'");
        ASSERT_EQ(e.line, 8);
        ASSERT_EQ(e.column, 1);
        ASSERT_ERROR(container_spec_decode(doc->table.items[2].value, SPEC_SYNTAX_TOML, &x, &e), EINVAL);
        ASSERT_STREQ(e.message, "field 'user': expected an integer from 0 to 4294967294, got a float");
        ASSERT_EQ(e.line, 10);
        ASSERT_EQ(e.column, 8);
        ASSERT_ERROR(container_spec_decode(doc->table.items[3].value, SPEC_SYNTAX_TOML, &x, &e), EINVAL);
        ASSERT_STREQ(e.message, "field 'parent': 'image' and 'parent' cannot be used together");
        ASSERT_EQ(e.line, 13);
        ASSERT_TRUE(!x);
}

TEST(copies) {
        _cleanup_(job_spec_freep) JobSpec *j = parse_ok(
                "{'program': 'x', 'layers': [{'symlinks': [{'link': '/a', 'target': 'b'}]}, "
                "{'glob': '*', 'strip_prefix': 's', 'follow_symlinks': true}, {'stubs': ['/s']}], "
                "'mounts': [{'type': 'bind', 'mount_point': '/m', 'local_path': 'l', 'read_only': true}]}");
        LayerSpec l[3];
        JobMount m;

        for (size_t i = 0; i < 3; i++)
                ASSERT_OK(layer_spec_copy(&j->container.layers[i], &l[i]));
        ASSERT_EQ(l[0].n_symlinks, 1);
        ASSERT_STREQ(l[0].symlinks[0].target, "b");
        ASSERT_TRUE(l[0].symlinks != j->container.layers[0].symlinks);
        ASSERT_STREQ(l[1].prefix.strip_prefix, "s");
        ASSERT_TRUE(l[1].prefix.follow_symlinks);
        ASSERT_STREQ(l[2].paths[0], "/s");
        for (size_t i = 0; i < 3; i++)
                layer_spec_done(&l[i]);
        /* And the runners' own fields. */
        LayerSpec runners = { .kind = LAYER_GLOB, .path = (char *) "*", .skip_cache_directories = true };
        ASSERT_OK(layer_spec_copy(&runners, &l[0]));
        ASSERT_TRUE(l[0].skip_cache_directories);
        layer_spec_done(&l[0]);
        ASSERT_OK(job_mount_copy(&j->container.mounts[0], &m));
        ASSERT_STREQ(m.local_path, "l");
        ASSERT_TRUE(m.read_only);
        job_mount_done(&m);
        job_mount_done(&m); /* idempotent */

        ASSERT_TRUE(job_spec_free(NULL) == NULL);
        ASSERT_TRUE(container_spec_free(NULL) == NULL);
        ASSERT_TRUE(resolved_job_free(NULL) == NULL);
        ASSERT_TRUE(layer_specs_free(NULL, 3) == NULL);

        SpecError e = { .job = 4, .line = 2, .column = 9 };
        snprintf(e.message, sizeof(e.message), "oops");
        _cleanup_free_ char *s = NULL;
        ASSERT_OK(spec_error_format(&e, &s));
        ASSERT_STREQ(s, "job 4, line 2, column 9: oops");
        s = mfree(s);
        e.line = 0;
        ASSERT_OK(spec_error_format(&e, &s));
        ASSERT_STREQ(s, "job 4: oops");
        s = mfree(s);
        e.job = 0;
        ASSERT_OK(spec_error_format(&e, &s));
        ASSERT_STREQ(s, "oops");
}

int main(void) {
        RUN(enums);
        RUN(minimal_job);
        RUN(all_fields);
        RUN(scalar_values);
        RUN(invalid_fields);
        RUN(layers);
        RUN(mounts);
        RUN(environment_forms);
        RUN(parents);
        RUN(conflicts);
        RUN(stream_chunks);
        RUN(stream_eager);
        RUN(stream_bad_job_alone);
        RUN(stream_positions);
        RUN(stream_syntax_errors);
        RUN(stream_top_level_values);
        RUN(stream_limits);
        RUN(stream_callback_stops);
        RUN(collapse_defaults);
        RUN(collapse_chain);
        RUN(collapse_image);
        RUN(collapse_errors);
        RUN(expand);
        RUN(environment_evaluate);
        RUN(container_decode_toml);
        RUN(copies);
        return 0;
}
