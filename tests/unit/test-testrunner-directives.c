/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "spec/spec.h"
#include "testrunner/testrunner-directives.h"

static TestSpecFile *parse_ok(TestRunnerKind kind, const char *text) {
        TestSpecError e = {};
        TestSpecFile *f = NULL;
        int r = test_spec_file_parse(kind, text, strlen(text), /* file_name= */ NULL, &f, &e);
        if (r < 0)
                fprintf(stderr, "unexpected error: %u:%u: %s\n", e.line, e.column, e.message);
        ASSERT_OK(r);
        return f;
}

/* Parse text expecting an error; return the formatted message. */
static char *parse_error(TestRunnerKind kind, const char *text, int error) {
        TestSpecError e = {};
        TestSpecFile *f = NULL;
        char *m = NULL;

        ASSERT_ERROR(test_spec_file_parse(kind, text, strlen(text), /* file_name= */ NULL, &f, &e), error);
        ASSERT_TRUE(!f);
        ASSERT_OK(test_spec_error_format(&e, &m));
        fprintf(stderr, "  (expected) %s\n", m);
        return m;
}

/* The filter matches when it names the case: "all" matches everything, else the text must be equal. */
static int match_name(const TestDirective *d, size_t index, void *userdata) {
        return streq(d->filter, "all") || streq(d->filter, (const char *) userdata);
}

static TestCandidate *apply(const TestSpecFile *f, const char *case_name) {
        TestCandidate *c = NULL;
        ASSERT_OK(test_spec_file_apply(f, match_name, (void *) case_name, &c));
        return c;
}

static ResolvedJob *collapse(const TestSpecFile *f, const TestCandidate *c, char * const *client_env) {
        _cleanup_(job_spec_freep) JobSpec *j = NULL;
        ResolvedJob *rj = NULL;
        SpecError se = {};

        ASSERT_OK(job_spec_new(&j));
        j->program = strdup("/test");
        ASSERT_TRUE(j->program);
        /* Move the candidate's container in (the candidate keeps nothing). */
        j->container = c->container;
        int r = job_spec_collapse(j, test_spec_file_lookup_container, (void *) f, /* image= */ NULL,
                                  client_env, &rj, &se);
        container_spec_init(&j->container);
        if (r < 0)
                fprintf(stderr, "collapse: %s\n", se.message);
        ASSERT_OK(r);
        return rj;
}

TEST(kinds) {
        ASSERT_STREQ(test_runner_kind_to_string(TEST_RUNNER_GO), "go");
        ASSERT_EQ(test_runner_kind_from_string("pytest"), TEST_RUNNER_PYTEST);
        ASSERT_EQ(test_runner_kind_from_string("ruby"), -EINVAL);
        ASSERT_STREQ(test_runner_spec_file_name(TEST_RUNNER_CARGO), "cargo-maelstrom.toml");
        ASSERT_STREQ(test_runner_spec_file_name(TEST_RUNNER_GO), "maelstrom-go-test.toml");
        ASSERT_STREQ(test_runner_spec_file_name(TEST_RUNNER_PYTEST), "maelstrom-pytest.toml");
        ASSERT_TRUE(!test_runner_spec_file_name(_TEST_RUNNER_KIND_MAX));
}

TEST(every_field) {
        _cleanup_(test_spec_file_freep) TestSpecFile *f = parse_ok(TEST_RUNNER_CARGO,
                "[[directives]]\n"
                "filter = 'package.equals(foo)'\n"
                "image = { name = 'docker://alpine', use = ['layers'] }\n"
                "added_layers = [{ tar = 'a.tar' }]\n"
                "environment = { A = '1' }\n"
                "added_environment = { B = '2' }\n"
                "added_mounts = [{ type = 'tmp', mount_point = '/tmp' }]\n"
                "network = 'loopback'\n"
                "enable_writable_file_system = true\n"
                "working_directory = '/work'\n"
                "user = 1000\n"
                "group = 100\n"
                "ignore = true\n"
                "timeout = 1.5\n"
                "include_shared_libraries = false\n"
                "[[directives]]\n"
                "parent = 'base'\n"
                "layers = [{ stubs = ['/tmp/'] }]\n"
                "mounts = [{ type = 'proc', mount_point = '/proc' }]\n"
                "environment = [{ vars = { C = '3' }, extend = true }]\n");
        ASSERT_EQ(f->n_directives, 2u);
        ASSERT_EQ(f->n_containers, 0u);

        const TestDirective *d = &f->directives[0];
        ASSERT_EQ(d->line, 1u);
        ASSERT_STREQ(d->filter, "package.equals(foo)");
        ASSERT_EQ(d->filter_line, 2u);
        ASSERT_EQ(d->filter_column, 10u);
        ASSERT_TRUE(d->container.parent && d->container.parent->is_image);
        ASSERT_STREQ(d->container.parent->name, "docker://alpine");
        ASSERT_EQ(d->container.parent->use, USE_LAYERS);
        ASSERT_EQ(d->container.n_added_layers, 1u);
        ASSERT_EQ(d->container.added_layers[0].kind, LAYER_TAR);
        ASSERT_TRUE(d->container.environment_set);
        ASSERT_FALSE(d->container.environment[0].extend);
        /* The map form of added_environment merges. */
        ASSERT_EQ(d->container.n_added_environment, 1u);
        ASSERT_TRUE(d->container.added_environment[0].extend);
        ASSERT_STREQ(d->container.added_environment[0].vars[0], "B=2");
        ASSERT_EQ(d->container.n_added_mounts, 1u);
        ASSERT_FALSE(d->container.mounts_set);
        ASSERT_EQ(d->container.network, NETWORK_LOOPBACK);
        ASSERT_TRUE(d->container.enable_writable_file_system_set);
        ASSERT_TRUE(d->container.enable_writable_file_system);
        ASSERT_STREQ(d->container.working_directory, "/work");
        ASSERT_TRUE(d->container.user_set && d->container.user == 1000);
        ASSERT_TRUE(d->container.group_set && d->container.group == 100);
        ASSERT_TRUE(d->ignore_set && d->ignore);
        ASSERT_TRUE(d->timeout_set);
        ASSERT_EQ(d->timeout, 1500000u);
        ASSERT_TRUE(d->include_shared_libraries_set && !d->include_shared_libraries);

        d = &f->directives[1];
        ASSERT_EQ(d->line, 16u);
        ASSERT_TRUE(!d->filter);
        ASSERT_TRUE(d->container.parent && !d->container.parent->is_image);
        ASSERT_EQ(d->container.parent->use, USE_CONTAINER_ALL);
        ASSERT_TRUE(d->container.layers_set && d->container.n_layers == 1);
        ASSERT_TRUE(d->container.mounts_set && d->container.mounts[0].type == MOUNT_PROC);
        ASSERT_TRUE(d->container.environment[0].extend);
        ASSERT_FALSE(d->ignore_set || d->timeout_set || d->include_shared_libraries_set);
}

TEST(errors) {
        static const struct {
                TestRunnerKind kind;
                const char *text;
                const char *message; /* the start of the formatted error; NULL = not checked */
        } bad[] = {
                { TEST_RUNNER_CARGO,
                  "[[directives]]\nlayers = []\n[[directives]]\nfilter = 'all'\nlayer = []\n",
                  "cargo-maelstrom.toml:5:1: directive 2: unknown key 'layer'" },
                /* Errors from the spec module keep their position, and get the directive. */
                { TEST_RUNNER_GO, "[[directives]]\nnetwork = 'internet'\n",
                  "maelstrom-go-test.toml:2:11: directive 1: field 'network': unknown network" },
                { TEST_RUNNER_GO, "[[directives]]\nlayers = [{ tar = 'a', glob = 'b' }]\n",
                  "maelstrom-go-test.toml:2:24: directive 1: field 'layers[0]'" },
                { TEST_RUNNER_GO, "[[directives]]\ninclude_shared_libraries = true\n",
                  "maelstrom-go-test.toml:2:1: directive 1: key 'include_shared_libraries' is only for "
                  "cargo-maelstrom" },
                { TEST_RUNNER_PYTEST, "[[directives]]\ninclude_shared_libraries = true\n",
                  "maelstrom-pytest.toml:2:1: directive 1: key 'include_shared_libraries'" },
                { TEST_RUNNER_CARGO, "[[directives]]\nignore = 'yes'\n",
                  "cargo-maelstrom.toml:2:10: directive 1: field 'ignore': expected a boolean, got string" },
                { TEST_RUNNER_CARGO, "[[directives]]\ntimeout = -1\n",
                  "cargo-maelstrom.toml:2:11: directive 1: field 'timeout'" },
                { TEST_RUNNER_CARGO, "[[directives]]\nfilter = 3\n",
                  "cargo-maelstrom.toml:2:10: directive 1: field 'filter'" },
                { TEST_RUNNER_CARGO, "[[directives]]\nimage = 'docker://a'\nparent = 'b'\n",
                  "cargo-maelstrom.toml:3:1: directive 1: 'image' and 'parent' cannot be used together" },
                { TEST_RUNNER_CARGO, "directive = []\n",
                  "cargo-maelstrom.toml:1:1: unknown key 'directive'" },
                { TEST_RUNNER_CARGO, "directives = 3\n",
                  "cargo-maelstrom.toml:1:14: 'directives': expected" },
                { TEST_RUNNER_CARGO, "directives = [3]\n",
                  "cargo-maelstrom.toml:1:15: directive 1: expected" },
                { TEST_RUNNER_CARGO, "[containers.a]\nlayerz = []\n",
                  "cargo-maelstrom.toml:2:1: container 'a': unknown key 'layerz'" },
                { TEST_RUNNER_CARGO, "[containers.a]\nuser = -1\n",
                  "cargo-maelstrom.toml:2:8: container 'a': field 'user'" },
                { TEST_RUNNER_CARGO, "[containers.a]\nimage = 'docker://x'\nparent = 'b'\n",
                  "cargo-maelstrom.toml:3:1: container 'a': 'image' and 'parent'" },
                { TEST_RUNNER_CARGO, "containers = { a = 1 }\n",
                  "cargo-maelstrom.toml:1:20: container 'a'" },
                { TEST_RUNNER_CARGO, "containers = 1\n", "cargo-maelstrom.toml:1:14: 'containers'" },
                /* TOML syntax errors keep the parser's position. */
                { TEST_RUNNER_CARGO, "[[directives]]\nfilter = \n", "cargo-maelstrom.toml:2:10: " },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *m = parse_error(bad[i].kind, bad[i].text, EINVAL);
                ASSERT_TRUE(strncmp(m, bad[i].message, strlen(bad[i].message)) == 0);
        }

        /* Limits. */
        _cleanup_free_ char *many = NULL, *m = NULL;
        TextBuf b = {};
        for (unsigned i = 0; i <= TEST_SPEC_DIRECTIVES_MAX; i++)
                textbuf_append(&b, "[[directives]]\n");
        ASSERT_OK(textbuf_steal(&b, &many));
        m = parse_error(TEST_RUNNER_CARGO, many, E2BIG);
        ASSERT_STREQ(m, "cargo-maelstrom.toml:1:1: more than 4096 directives");
}

TEST(load) {
        char path[] = "/tmp/test-testrunner-directives-XXXXXX";
        _cleanup_close_ int fd = mkstemp(path);
        const char *text = "[[directives]]\nlayerz = []\n";
        TestSpecFile *f = NULL;
        TestSpecError e = {};
        _cleanup_free_ char *m = NULL;

        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(loop_write(fd, text, strlen(text)));
        ASSERT_ERROR(test_spec_file_load(TEST_RUNNER_CARGO, path, &f, &e), EINVAL);
        ASSERT_OK(test_spec_error_format(&e, &m));
        ASSERT_TRUE(strncmp(m, path, strlen(path)) == 0);
        ASSERT_TRUE(strstr(m, ":2:1: directive 1: unknown key 'layerz'"));
        ASSERT_OK(unlink(path));
        ASSERT_ERROR(test_spec_file_load(TEST_RUNNER_CARGO, path, &f, &e), ENOENT);
}

TEST(fold_rules) {
        _cleanup_(test_spec_file_freep) TestSpecFile *f = parse_ok(TEST_RUNNER_CARGO,
                "[[directives]]\n"                                   /* 0: all */
                "layers = [{ tar = 'base.tar' }]\n"
                "added_layers = [{ tar = 'extra0.tar' }]\n"
                "mounts = [{ type = 'tmp', mount_point = '/tmp' }]\n"
                "environment = { A = '1' }\n"
                "network = 'loopback'\n"
                "user = 5\n"
                "timeout = 10\n"
                "[[directives]]\n"                                   /* 1: x */
                "filter = 'x'\n"
                "added_layers = [{ tar = 'x1.tar' }, { tar = 'x2.tar' }]\n"
                "added_mounts = [{ type = 'proc', mount_point = '/proc' }]\n"
                "added_environment = { B = '2' }\n"
                "working_directory = '/x'\n"
                "ignore = true\n"
                "[[directives]]\n"                                   /* 2: y replaces */
                "filter = 'y'\n"
                "layers = [{ tar = 'y.tar' }]\n"
                "mounts = []\n"
                "environment = { C = '3' }\n"
                "network = 'local'\n"
                "timeout = 0\n"
                "include_shared_libraries = true\n"
                "[[directives]]\n"                                   /* 3: z resets */
                "filter = 'z'\n"
                "image = 'docker://alpine'\n"
                "added_layers = [{ tar = 'z.tar' }]\n"
                "[[directives]]\n"                                   /* 4: all, after */
                "filter = 'all'\n"
                "added_layers = [{ tar = 'last.tar' }]\n"
                "group = 7\n");
        _cleanup_(test_candidate_freep) TestCandidate *n = apply(f, "none");
        _cleanup_(test_candidate_freep) TestCandidate *x = apply(f, "x");
        _cleanup_(test_candidate_freep) TestCandidate *y = apply(f, "y");
        _cleanup_(test_candidate_freep) TestCandidate *z = apply(f, "z");

        /* Only the unfiltered directive and "all". */
        ASSERT_TRUE(!n->container.parent);
        ASSERT_EQ(n->container.n_layers, 1u);
        ASSERT_STREQ(n->container.layers[0].path, "base.tar");
        ASSERT_EQ(n->container.n_added_layers, 2u);
        ASSERT_STREQ(n->container.added_layers[0].path, "extra0.tar");
        ASSERT_STREQ(n->container.added_layers[1].path, "last.tar");
        ASSERT_EQ(n->container.n_mounts, 1u);
        ASSERT_EQ(n->container.network, NETWORK_LOOPBACK);
        ASSERT_EQ(n->container.user, 5u);
        ASSERT_TRUE(n->container.group_set && n->container.group == 7);
        ASSERT_EQ(n->timeout, 10 * USEC_PER_SEC);
        ASSERT_FALSE(n->ignore);
        ASSERT_FALSE(n->include_shared_libraries_set);

        /* added_* append in order; scalars overwrite; ignore carries. */
        ASSERT_EQ(x->container.n_layers, 1u);
        ASSERT_EQ(x->container.n_added_layers, 4u);
        ASSERT_STREQ(x->container.added_layers[0].path, "extra0.tar");
        ASSERT_STREQ(x->container.added_layers[1].path, "x1.tar");
        ASSERT_STREQ(x->container.added_layers[2].path, "x2.tar");
        ASSERT_STREQ(x->container.added_layers[3].path, "last.tar");
        ASSERT_EQ(x->container.n_mounts + x->container.n_added_mounts, 2u);
        ASSERT_EQ(x->container.added_mounts[0].type, MOUNT_PROC);
        ASSERT_EQ(x->container.n_environment + x->container.n_added_environment, 2u);
        ASSERT_STREQ(x->container.working_directory, "/x");
        ASSERT_TRUE(x->ignore);
        ASSERT_EQ(x->timeout, 10 * USEC_PER_SEC);

        /* Replacing drops what was gathered, added entries included. */
        ASSERT_EQ(y->container.n_layers, 1u);
        ASSERT_STREQ(y->container.layers[0].path, "y.tar");
        ASSERT_EQ(y->container.n_added_layers, 1u);
        ASSERT_STREQ(y->container.added_layers[0].path, "last.tar");
        ASSERT_TRUE(y->container.mounts_set);
        ASSERT_EQ(y->container.n_mounts + y->container.n_added_mounts, 0u);
        ASSERT_EQ(y->container.n_environment, 1u);
        ASSERT_EQ(y->container.n_added_environment, 0u);
        ASSERT_STREQ(y->container.environment[0].vars[0], "C=3");
        ASSERT_EQ(y->container.network, NETWORK_LOCAL);
        ASSERT_EQ(y->timeout, 0u);
        ASSERT_TRUE(y->include_shared_libraries_set && y->include_shared_libraries);

        /* image resets every other container field, but not the directive-only ones. */
        ASSERT_TRUE(z->container.parent && z->container.parent->is_image);
        ASSERT_STREQ(z->container.parent->name, "docker://alpine");
        ASSERT_FALSE(z->container.layers_set);
        ASSERT_EQ(z->container.n_layers, 0u);
        ASSERT_EQ(z->container.n_added_layers, 2u);
        ASSERT_STREQ(z->container.added_layers[0].path, "z.tar");
        ASSERT_STREQ(z->container.added_layers[1].path, "last.tar");
        ASSERT_EQ(z->container.n_mounts + z->container.n_environment, 0u);
        ASSERT_FALSE(z->container.network_set);
        ASSERT_FALSE(z->container.user_set);
        ASSERT_TRUE(z->container.group_set);
        ASSERT_EQ(z->timeout, 10 * USEC_PER_SEC);
}

static int match_fail(const TestDirective *d, size_t index, void *userdata) {
        ASSERT_EQ(index, 1u);
        return -ENOTRECOVERABLE;
}

TEST(match_error) {
        _cleanup_(test_spec_file_freep) TestSpecFile *f = parse_ok(TEST_RUNNER_GO,
                "[[directives]]\nuser = 1\n[[directives]]\nfilter = 'a'\nuser = 2\n");
        TestCandidate *c = NULL;
        ASSERT_ERROR(test_spec_file_apply(f, match_fail, NULL, &c), ENOTRECOVERABLE);
        ASSERT_TRUE(!c);
}

TEST(containers) {
        /* Declared in any order, referencing each other. */
        _cleanup_(test_spec_file_freep) TestSpecFile *f = parse_ok(TEST_RUNNER_CARGO,
                "[[directives]]\n"
                "parent = 'top'\n"
                "added_layers = [{ tar = 'own.tar' }]\n"
                "[containers.top]\n"
                "parent = { name = 'bottom', use = ['layers', 'environment'] }\n"
                "added_layers = [{ tar = 'top.tar' }]\n"
                "added_environment = { T = 'top' }\n"
                "user = 9\n"
                "[containers.bottom]\n"
                "layers = [{ tar = 'bottom.tar' }]\n"
                "environment = { B = 'bottom', T = 'bottom' }\n"
                "user = 3\n"
                "[containers.loop1]\n"
                "parent = 'loop2'\n"
                "[containers.loop2]\n"
                "parent = 'loop1'\n");
        ASSERT_EQ(f->n_containers, 4u);
        ASSERT_STREQ(f->containers[0].name, "top");
        ASSERT_EQ(f->containers[0].line, 4u);
        ASSERT_TRUE(test_spec_file_lookup_container("bottom", f) == f->containers[1].spec);
        ASSERT_TRUE(!test_spec_file_lookup_container("nope", f));

        _cleanup_(test_candidate_freep) TestCandidate *c = apply(f, "any");
        _cleanup_(resolved_job_freep) ResolvedJob *rj = collapse(f, c, /* client_env= */ NULL);
        ASSERT_EQ(rj->n_layers, 3u);
        ASSERT_STREQ(rj->layers[0].path, "bottom.tar");
        ASSERT_STREQ(rj->layers[1].path, "top.tar");
        ASSERT_STREQ(rj->layers[2].path, "own.tar");
        ASSERT_EQ(strv_length(rj->environment), 2u);
        ASSERT_STREQ(rj->environment[0], "B=bottom");
        ASSERT_STREQ(rj->environment[1], "T=top");
        ASSERT_EQ(rj->user, 9u);

        /* A cycle is reported by collapsing. */
        _cleanup_(test_spec_file_freep) TestSpecFile *g = parse_ok(TEST_RUNNER_CARGO,
                "[[directives]]\nparent = 'loop1'\n"
                "[containers.loop1]\nparent = 'loop2'\n[containers.loop2]\nparent = 'loop1'\n");
        _cleanup_(test_candidate_freep) TestCandidate *gc = apply(g, "any");
        _cleanup_(job_spec_freep) JobSpec *j = NULL;
        ResolvedJob *bad = NULL;
        SpecError se = {};
        ASSERT_OK(job_spec_new(&j));
        j->program = strdup("/t");
        j->container = gc->container;
        ASSERT_ERROR(job_spec_collapse(j, test_spec_file_lookup_container, g, /* image= */ NULL,
                                       /* client_environment= */ NULL, &bad, &se),
                     EINVAL);
        container_spec_init(&j->container);
        ASSERT_TRUE(strstr(se.message, "cycle"));
}

static void check_base(const ResolvedJob *rj) {
        bool stubs = false;

        for (size_t i = 0; i < rj->n_layers; i++)
                if (rj->layers[i].kind == LAYER_STUBS) {
                        ASSERT_EQ(strv_length(rj->layers[i].paths), 2u);
                        ASSERT_STREQ(rj->layers[i].paths[0], "/{proc,sys,tmp}/");
                        ASSERT_STREQ(rj->layers[i].paths[1], "/dev/{full,null,random,urandom,zero}");
                        stubs = true;
                }
        ASSERT_TRUE(stubs);
        ASSERT_EQ(rj->n_mounts, 4u);
        ASSERT_EQ(rj->mounts[0].type, MOUNT_TMP);
        ASSERT_STREQ(rj->mounts[0].mount_point, "/tmp");
        ASSERT_EQ(rj->mounts[1].type, MOUNT_PROC);
        ASSERT_STREQ(rj->mounts[1].mount_point, "/proc");
        ASSERT_EQ(rj->mounts[2].type, MOUNT_SYS);
        ASSERT_STREQ(rj->mounts[2].mount_point, "/sys");
        ASSERT_EQ(rj->mounts[3].type, MOUNT_DEVICES);
        ASSERT_EQ(rj->mounts[3].devices, (1u << DEVICE_FULL) | (1u << DEVICE_NULL) | (1u << DEVICE_RANDOM) |
                  (1u << DEVICE_URANDOM) | (1u << DEVICE_ZERO));
        ASSERT_EQ(rj->network, NETWORK_DISABLED);
        ASSERT_FALSE(rj->enable_writable_file_system);
}

TEST(defaults) {
        char *client_env[] = { (char *) "RUST_BACKTRACE=full", NULL };

        for (TestRunnerKind k = 0; k < _TEST_RUNNER_KIND_MAX; k++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_(test_spec_file_freep) TestSpecFile *f = NULL;

                ASSERT_OK(test_spec_file_default_text(k, /* pytest_image= */ NULL, &text));
                ASSERT_TRUE(text[0] == '#'); /* commented */
                ASSERT_TRUE(strstr(text, test_runner_spec_file_name(k)));
                f = parse_ok(k, text);
                ASSERT_EQ(f->n_containers, 0u);
                for (size_t i = 0; i < f->n_directives; i++)
                        ASSERT_TRUE(!f->directives[i].filter);

                _cleanup_(test_candidate_freep) TestCandidate *c = apply(f, "any");
                ASSERT_FALSE(c->ignore);
                ASSERT_EQ(c->timeout, 0u);
                ASSERT_FALSE(c->include_shared_libraries_set);
                _cleanup_(resolved_job_freep) ResolvedJob *rj = collapse(f, c, client_env);
                check_base(rj);

                switch (k) {
                case TEST_RUNNER_CARGO:
                        ASSERT_TRUE(!rj->image);
                        ASSERT_EQ(rj->n_layers, 1u);
                        ASSERT_EQ(strv_length(rj->environment), 2u);
                        ASSERT_STREQ(rj->environment[0], "RUST_BACKTRACE=full");
                        ASSERT_STREQ(rj->environment[1], "RUST_LIB_BACKTRACE=0");
                        ASSERT_TRUE(c->container.n_added_environment == 1 &&
                                    c->container.added_environment[0].extend);
                        break;
                case TEST_RUNNER_GO:
                        ASSERT_TRUE(!rj->image);
                        ASSERT_EQ(rj->n_layers, 1u);
                        ASSERT_EQ(strv_length(rj->environment), 0u);
                        break;
                case TEST_RUNNER_PYTEST:
                        ASSERT_STREQ(rj->image, "docker://python:3.12-slim");
                        ASSERT_EQ(rj->image_use, USE_IMAGE_ALL);
                        ASSERT_EQ(rj->n_layers, 2u);
                        ASSERT_EQ(rj->layers[1].kind, LAYER_GLOB);
                        ASSERT_STREQ(rj->layers[1].path, "**/{*.py,*.pyc,*.pyi,pyproject.toml}");
                        ASSERT_EQ(strv_length(rj->environment), 1u);
                        ASSERT_STREQ(rj->environment[0], "PYTEST_XDIST_AUTO_NUM_WORKERS=1");
                        break;
                case _TEST_RUNNER_KIND_MAX:
                case _TEST_RUNNER_KIND_INVALID:
                        abort();
                }

                /* test_spec_file_default() gives the same. */
                _cleanup_(test_spec_file_freep) TestSpecFile *g = NULL;
                ASSERT_OK(test_spec_file_default(k, NULL, &g));
                ASSERT_EQ(g->n_directives, f->n_directives);
        }

        /* A configured Python image. */
        _cleanup_(test_spec_file_freep) TestSpecFile *p = NULL;
        ASSERT_OK(test_spec_file_default(TEST_RUNNER_PYTEST, "docker://python:3.11", &p));
        ASSERT_STREQ(p->directives[0].container.parent->name, "docker://python:3.11");
        char *t = NULL;
        ASSERT_ERROR(test_spec_file_default_text(TEST_RUNNER_PYTEST, "bad\"image", &t), EINVAL);
        ASSERT_ERROR(test_spec_file_default_text(TEST_RUNNER_PYTEST, "bad\x01", &t), EINVAL);
        ASSERT_ERROR(test_spec_file_default_text(TEST_RUNNER_PYTEST, "", &t), EINVAL);
        ASSERT_ERROR(test_spec_file_default_text(_TEST_RUNNER_KIND_MAX, NULL, &t), EINVAL);
}

int main(void) {
        RUN(kinds);
        RUN(every_field);
        RUN(errors);
        RUN(load);
        RUN(fold_rules);
        RUN(match_error);
        RUN(containers);
        RUN(defaults);
        return 0;
}
