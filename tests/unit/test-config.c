/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "config/config-values.h"
#include "config/config.h"

static const char *const colours[] = { "red", "green", NULL };

static const ConfigValueDef test_values[] = {
        { .name = "name", .type = CONFIG_VALUE_STRING, .short_opt = 'n', .default_value = "dflt",
          .help = "a string" },
        { .name = "count", .type = CONFIG_VALUE_NUMBER, .short_opt = 'k', .default_value = "3", .max = 100,
          .help = "n" },
        { .name = "flag", .type = CONFIG_VALUE_BOOL, .short_opt = 'f', .default_value = "false",
          .help = "a flag" },
        { .name = "other-flag", .type = CONFIG_VALUE_BOOL, .short_opt = 'o', .default_value = "false",
          .help = "b" },
        { .name = "size", .type = CONFIG_VALUE_SIZE, .default_value = "1 GB", .help = "a size" },
        { .name = "items", .type = CONFIG_VALUE_LIST, .short_opt = 'I', .help = "a list" },
        { .name = "colour", .type = CONFIG_VALUE_STRING, .choices = colours, .help = "a choice" },
        { .name = "unset", .type = CONFIG_VALUE_STRING, .help = "unset by default" },
        { .name = "cli-only", .type = CONFIG_VALUE_BOOL, .flags = CONFIG_CLI_ONLY,
          .help = "only on the command line" },
        { .name = "rest", .type = CONFIG_VALUE_LIST, .flags = CONFIG_MAIN_LIST, .help = "the var-args" },
        {},
};

static const ConfigValueDef *const test_sets[] = { config_values_common, test_values, NULL };

/* The flags of a tool that a program stands in for; "n" and "flag" are also its own, which win. */
static const ConfigHabit habits[] = {
        { "nap", "a nap hint" },
        { "v", "a v hint" },
        { "n", "never shown" },
        { "flag", "never shown either" },
        {},
};

static const ConfigProgram client = {
        .name = "maelstrom-test",
        .dir_name = "test",
        .env_prefix = "MAELSTROM_TEST_",
        .file_format = CONFIG_FILE_TOML,
        .usage = "[OPTIONS]",
        .description = "A test program.",
        .value_sets = test_sets,
        .habits = habits,
};

static const ConfigProgram daemon_program = {
        .name = "maelstrom-testd",
        .dir_name = "testd",
        .env_prefix = "MAELSTROM_TESTD_",
        .file_format = CONFIG_FILE_LIBCONFIG,
        .usage = "[OPTIONS]",
        .description = "A test daemon.",
        .value_sets = test_sets,
};

static char tmpdir[] = "/tmp/test-config-XXXXXX";

static void write_file(const char *rel, const char *content) {
        _cleanup_free_ char *p = strjoin(tmpdir, "/", rel);
        for (char *s = strchr(p + strlen(tmpdir) + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                (void) mkdir(p, 0755);
                *s = '/';
        }
        ASSERT_OK(write_file_atomic(p, content, strlen(content), 0644));
}

static char *path_of(const char *rel) {
        return strjoin(tmpdir, "/", rel);
}

/* Parse with an environment of our own: XDG_CONFIG_HOME=<tmp>/home, XDG_CONFIG_DIRS=<tmp>/dirs, plus
 * extra. */
static int parse(const ConfigProgram *p, uid_t uid, char **extra_env, char **argv, Config **ret,
                 char **reterr) {
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *home = strjoin("XDG_CONFIG_HOME=", tmpdir, "/home");
        _cleanup_free_ char *dirs = strjoin("XDG_CONFIG_DIRS=", tmpdir, "/dirs1:", tmpdir, "/dirs2");
        _cleanup_free_ char *sysconf = strjoin(tmpdir, "/etc");

        ASSERT_OK(strv_extend(&env, home));
        ASSERT_OK(strv_extend(&env, dirs));
        ASSERT_OK(strv_extend_strv(&env, extra_env));

        ConfigContext ctx = { .environ = env, .uid = uid, .sysconf_dir = sysconf };
        return config_parse(p, (int) strv_length(argv), argv, &ctx, ret, reterr);
}

#define ARGV(...) ((char *[]) { "prog", __VA_ARGS__, NULL })
#define NOARGS ((char *[]) { "prog", NULL })
#define ENV(...) ((char *[]) { __VA_ARGS__, NULL })
#define NOENV ((char *[]) { NULL })

static void expect_error(const ConfigProgram *p, char **env, char **argv, const char *needle) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;
        int r = parse(p, 1000, env, argv, &c, &err);
        if (r >= 0 || !err || !strstr(err, needle)) {
                fprintf(stderr, "expected an error containing '%s', got r=%d '%s'\n", needle, r, strna(err));
                abort();
        }
}

TEST(defaults) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;

        ASSERT_OK(parse(&client, 1000, NOENV, NOARGS, &c, &err));
        ASSERT_STREQ(config_get_string(c, "name"), "dflt");
        ASSERT_EQ(config_get_number(c, "count"), 3);
        ASSERT_FALSE(config_get_bool(c, "flag"));
        ASSERT_EQ(config_get_number(c, "size"), 1000000000);
        ASSERT_EQ(strv_length(config_get_list(c, "items")), 0);
        ASSERT_FALSE(config_is_set(c, "unset"));
        ASSERT_TRUE(config_get_string(c, "unset") == NULL);
        ASSERT_STREQ(config_get_string(c, "log-level"), "info");
        ASSERT_EQ(config_get_source(c, "name"), CONFIG_SOURCE_DEFAULT);
        ASSERT_EQ(config_get_source(c, "unset"), CONFIG_SOURCE_UNSET);
}

/* The whole precedence chain for a client: file < generic env < program env < command line, and -c -. */
TEST(client_precedence) {
        write_file("dirs2/maelstrom/test/config.toml", "name = \"from-dirs2\"\ncount = 10\n");
        write_file("dirs1/maelstrom/test/config.toml", "name = \"from-dirs1\"\n");
        write_file("home/maelstrom/test/config.toml",
                   "# comment\nname = \"from-home\"\nsize = \"512 MiB\"\nitems = [\"a\", \"b\"]\n");

        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_OK(parse(&client, 1000, NOENV, NOARGS, &c, &err));
                /* XDG_CONFIG_HOME beats XDG_CONFIG_DIRS, and the first of those beats the second. */
                ASSERT_STREQ(config_get_string(c, "name"), "from-home");
                ASSERT_EQ(config_get_source(c, "name"), CONFIG_SOURCE_FILE);
                ASSERT_EQ(config_get_number(c, "count"), 10);
                ASSERT_EQ(config_get_number(c, "size"), 512 * 1024 * 1024);
                ASSERT_EQ(strv_length(config_get_list(c, "items")), 2);
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_OK(parse(&client, 1000, ENV("MAELSTROM_NAME=generic", "MAELSTROM_ITEMS=x y  z"),
                                NOARGS, &c, &err));
                ASSERT_STREQ(config_get_string(c, "name"), "generic");
                ASSERT_EQ(config_get_source(c, "name"), CONFIG_SOURCE_ENV);
                ASSERT_EQ(strv_length(config_get_list(c, "items")), 3);
                ASSERT_STREQ(config_get_list(c, "items")[2], "z");
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_OK(parse(&client, 1000, ENV("MAELSTROM_TEST_NAME=program", "MAELSTROM_NAME=generic"),
                                NOARGS, &c, &err));
                ASSERT_STREQ(config_get_string(c, "name"), "program");
                ASSERT_EQ(config_get_source(c, "name"), CONFIG_SOURCE_PROGRAM_ENV);
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_OK(parse(&client, 1000, ENV("MAELSTROM_TEST_NAME=program", "MAELSTROM_NAME=generic"),
                                ARGV("--name", "cli"), &c, &err));
                ASSERT_STREQ(config_get_string(c, "name"), "cli");
                ASSERT_EQ(config_get_source(c, "name"), CONFIG_SOURCE_COMMAND_LINE);
                /* Untouched values still come from the file. */
                ASSERT_EQ(config_get_number(c, "count"), 10);
        }
        {
                /* -c - reads no file: back to the defaults, but the environment still counts. */
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_OK(parse(&client, 1000, ENV("MAELSTROM_COUNT=7"), ARGV("-c", "-"), &c, &err));
                ASSERT_STREQ(config_get_string(c, "name"), "dflt");
                ASSERT_EQ(config_get_number(c, "count"), 7);
        }
        {
                /* -c FILE reads only that file. */
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL, *only = path_of("only.toml");
                write_file("only.toml", "count = 42\n");
                ASSERT_OK(parse(&client, 1000, NOENV, ARGV("--config-file", only), &c, &err));
                ASSERT_STREQ(config_get_string(c, "name"), "dflt");
                ASSERT_EQ(config_get_number(c, "count"), 42);
        }
        expect_error(&client, NOENV, ARGV("-c", "/nonexistent/x.toml"), "/nonexistent/x.toml");
}

/* The same chain for a daemon reading libconfig files. */
TEST(daemon_precedence) {
        write_file("etc/testd.conf", "name = \"from-etc\";\ncount = 11;\nsize = 2048;\n");
        write_file("home/maelstrom/testd.conf", "name = \"from-home\";\nitems = [\"p\", \"q\"];\n");

        {
                /* As root: only /etc/maelstrom. */
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_OK(parse(&daemon_program, 0, NOENV, NOARGS, &c, &err));
                ASSERT_STREQ(config_get_string(c, "name"), "from-etc");
                ASSERT_EQ(config_get_number(c, "count"), 11);
                ASSERT_EQ(config_get_number(c, "size"), 2048);
                ASSERT_EQ(strv_length(config_get_list(c, "items")), 0);
        }
        {
                /* Not root: the XDG file overrides /etc/maelstrom. */
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_OK(parse(&daemon_program, 1000, NOENV, NOARGS, &c, &err));
                ASSERT_STREQ(config_get_string(c, "name"), "from-home");
                ASSERT_EQ(config_get_number(c, "count"), 11);
                ASSERT_EQ(strv_length(config_get_list(c, "items")), 2);
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_OK(parse(&daemon_program, 0, ENV("MAELSTROM_COUNT=12"), NOARGS, &c, &err));
                ASSERT_EQ(config_get_number(c, "count"), 12);
                ASSERT_EQ(config_get_source(c, "count"), CONFIG_SOURCE_ENV);
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_OK(parse(&daemon_program, 0, ENV("MAELSTROM_COUNT=12", "MAELSTROM_TESTD_COUNT=13"),
                                NOARGS, &c, &err));
                ASSERT_EQ(config_get_number(c, "count"), 13);
                ASSERT_EQ(config_get_source(c, "count"), CONFIG_SOURCE_PROGRAM_ENV);
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_OK(parse(&daemon_program, 0, ENV("MAELSTROM_TESTD_COUNT=13"), ARGV("--count=14"), &c,
                                &err));
                ASSERT_EQ(config_get_number(c, "count"), 14);
                ASSERT_EQ(config_get_source(c, "count"), CONFIG_SOURCE_COMMAND_LINE);
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;
                ASSERT_OK(parse(&daemon_program, 0, NOENV, ARGV("-c", "-"), &c, &err));
                ASSERT_STREQ(config_get_string(c, "name"), "dflt");
                ASSERT_EQ(config_get_number(c, "count"), 3);
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL, *only = path_of("only.conf");
                write_file("only.conf", "count = 50;\n");
                ASSERT_OK(parse(&daemon_program, 1000, NOENV, ARGV("-c", only), &c, &err));
                ASSERT_STREQ(config_get_string(c, "name"), "dflt");
                ASSERT_EQ(config_get_number(c, "count"), 50);
        }
}

TEST(command_line) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;

        ASSERT_OK(parse(&client, 1000, ENV("MAELSTROM_ITEMS=from env"),
                        ARGV("-fo", "-k5", "-I", "one", "--items=two", "--size", "3KiB", "--colour=green",
                             "--cli-only", "--", "x", "--y"),
                        &c, &err));
        ASSERT_TRUE(config_get_bool(c, "flag"));
        ASSERT_TRUE(config_get_bool(c, "other-flag"));
        ASSERT_TRUE(config_get_bool(c, "cli-only"));
        ASSERT_EQ(config_get_number(c, "count"), 5);
        ASSERT_EQ(config_get_number(c, "size"), 3072);
        ASSERT_STREQ(config_get_string(c, "colour"), "green");
        /* Repeated flags build the list, replacing the environment's. */
        ASSERT_EQ(strv_length(config_get_list(c, "items")), 2);
        ASSERT_STREQ(config_get_list(c, "items")[0], "one");
        ASSERT_STREQ(config_get_list(c, "items")[1], "two");
        /* The main list takes everything after "--", options included. */
        ASSERT_EQ(strv_length(config_get_list(c, "rest")), 2);
        ASSERT_STREQ(config_get_list(c, "rest")[1], "--y");
        ASSERT_EQ(strv_length(config_get_positional(c)), 0);

        config_free(TAKE_PTR(c));
        ASSERT_OK(parse(&client, 1000, NOENV, ARGV("--flag=false", "-f", "--flag=false"), &c, &err));
        ASSERT_FALSE(config_get_bool(c, "flag"));
}

TEST(help_and_version) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;

        /* --help works even with a broken configuration file. */
        write_file("home/maelstrom/test/config.toml", "this is = not toml\n");
        ASSERT_OK(parse(&client, 1000, NOENV, ARGV("--help"), &c, &err));
        ASSERT_TRUE(config_help_requested(c));
        config_free(TAKE_PTR(c));
        ASSERT_OK(parse(&client, 1000, NOENV, ARGV("--version"), &c, &err));
        ASSERT_TRUE(config_version_requested(c));
        expect_error(&client, NOENV, NOARGS, "home/maelstrom/test/config.toml:1:");
        write_file("home/maelstrom/test/config.toml", "\n");

        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        ASSERT_TRUE(f != NULL);
        ASSERT_OK(config_print_help(&client, NULL, f));
        fclose(f);
        ASSERT_TRUE(strstr(text, "MAELSTROM_TEST_SIZE, MAELSTROM_SIZE"));
        ASSERT_TRUE(strstr(text, "MAELSTROM_TEST_LOG_LEVEL, MAELSTROM_LOG_LEVEL"));
        ASSERT_TRUE(strstr(text, "type: size; default: 1 GB"));
        ASSERT_TRUE(strstr(text, "-k, --count NUMBER"));
        ASSERT_TRUE(strstr(text, "command line only"));
        ASSERT_TRUE(strstr(text, "/maelstrom/test/config.toml"));
        free(text);
}

TEST(print_config) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL, *only = path_of("p.toml");
        char *text = NULL;
        size_t size = 0;

        write_file("p.toml", "\n\nname = \"a \\\"q\\\"\"\n");
        ASSERT_OK(parse(&client, 1000, ENV("MAELSTROM_TEST_COUNT=9"), ARGV("-c", only, "-I", "x"), &c,
                        &err));
        FILE *f = open_memstream(&text, &size);
        ASSERT_TRUE(f != NULL);
        ASSERT_OK(config_print_effective(c, f));
        fclose(f);
        fputs(text, stderr);
        _cleanup_free_ char *want = strjoin("name = \"a \\\"q\\\"\"  # ", only, ":3\n");
        ASSERT_TRUE(strstr(text, want));
        ASSERT_TRUE(strstr(text, "count = 9  # environment variable MAELSTROM_TEST_COUNT\n"));
        ASSERT_TRUE(strstr(text, "size = \"1 GB\"  # default\n"));
        ASSERT_TRUE(strstr(text, "items = [\"x\"]  # command line\n"));
        ASSERT_TRUE(strstr(text, "# unset is not set"));
        ASSERT_FALSE(strstr(text, "cli-only"));
        free(text);
}

TEST(errors) {
        _cleanup_free_ char *t = path_of("bad.toml"), *l = path_of("bad.conf");
        _cleanup_free_ char *tl = NULL, *ll = NULL;

        write_file("bad.toml", "name = \"x\"\n\ncount = \"many\"\n");
        tl = strjoin(t, ":3: key 'count': wrong type: expected an integer, got a string");
        expect_error(&client, NOENV, ARGV("-c", t), tl);

        write_file("bad.toml", "name = \"x\"\ncolor = \"red\"\n");
        free(tl);
        tl = strjoin(t, ":2: unknown key 'color'");
        expect_error(&client, NOENV, ARGV("-c", t), tl);

        write_file("bad.toml", "size = \"12 parsecs\"\n");
        free(tl);
        tl = strjoin(t, ":1: key 'size': invalid size '12 parsecs'");
        expect_error(&client, NOENV, ARGV("-c", t), tl);

        write_file("bad.toml", "count = -4\n");
        expect_error(&client, NOENV, ARGV("-c", t), ":1: key 'count': negative number");
        write_file("bad.toml", "count = 101\n");
        expect_error(&client, NOENV, ARGV("-c", t),
                     ":1: key 'count': number 101 for 'count' is out of range");
        write_file("bad.toml", "cli-only = true\n");
        expect_error(&client, NOENV, ARGV("-c", t),
                     "unknown key 'cli-only' (it is a command-line option only)");
        write_file("bad.toml", "[name]\nx = 1\n");
        expect_error(&client, NOENV, ARGV("-c", t),
                     ":1: key 'name': wrong type: expected a string, got a table");
        write_file("bad.toml", "items = [\"a\", 1]\n");
        expect_error(&client, NOENV, ARGV("-c", t), "key 'items': wrong type: expected a list of strings");
        write_file("bad.toml", "colour = \"blue\"\n");
        expect_error(&client, NOENV, ARGV("-c", t),
                     "invalid value 'blue' for 'colour' (expected one of: red, green)");

        write_file("bad.conf", "name = \"x\";\n\ncount = \"many\";\n");
        ll = strjoin(l, ":3: key 'count': wrong type: expected an integer, got a string");
        expect_error(&daemon_program, NOENV, ARGV("-c", l), ll);
        write_file("bad.conf", "flag = true;\nbogus = 1;\n");
        free(ll);
        ll = strjoin(l, ":2: unknown key 'bogus'");
        expect_error(&daemon_program, NOENV, ARGV("-c", l), ll);
        write_file("bad.conf", "size = \"1 XB\";\n");
        expect_error(&daemon_program, NOENV, ARGV("-c", l), ":1: key 'size': invalid size '1 XB'");
        write_file("bad.conf", "count = = 3;\n");
        expect_error(&daemon_program, NOENV, ARGV("-c", l), "bad.conf:1: syntax error");

        expect_error(&client, ENV("MAELSTROM_COUNT=abc"), NOARGS,
                     "environment variable MAELSTROM_COUNT: invalid number 'abc' for 'count'");
        expect_error(&client, ENV("MAELSTROM_TEST_FLAG=yes please"), NOARGS,
                     "environment variable MAELSTROM_TEST_FLAG: invalid boolean");
        expect_error(&client, NOENV, ARGV("--count", "1x"), "option --count: invalid number '1x'");
        expect_error(&client, NOENV, ARGV("--size=big"), "option --size: invalid size 'big'");
        expect_error(&client, NOENV, ARGV("--nope"), "unknown option '--nope'");
        expect_error(&client, NOENV, ARGV("-z"), "unknown option '-z'");
        expect_error(&client, NOENV, ARGV("--count"), "option --count requires an argument");
        expect_error(&client, NOENV, ARGV("stray"), "unexpected argument 'stray'");
        /* A long option with one dash, as Go spells its flags, is not read as a cluster of short ones. */
        expect_error(&client, NOENV, ARGV("-count=1"),
                     "unknown option '-count=1' (did you mean '--count=1'?)");
        expect_error(&client, NOENV, ARGV("-help"), "unknown option '-help' (did you mean '--help'?)");
        expect_error(&client, NOENV, ARGV("--rest", "x"), "unknown option '--rest'");
        expect_error(&client, NOENV, ARGV("--help=yes"), "option --help takes no argument");
}

TEST(habits) {
        /* Whatever its dashes and value; "-nap=3" would otherwise be -n with the value "ap=3". */
        expect_error(&client, NOENV, ARGV("-nap=3"), "unknown option '-nap=3' (a nap hint)");
        expect_error(&client, NOENV, ARGV("-nap", "3"), "unknown option '-nap' (a nap hint)");
        expect_error(&client, NOENV, ARGV("--nap=3"), "unknown option '--nap' (a nap hint)");
        expect_error(&client, NOENV, ARGV("-v"), "unknown option '-v' (a v hint)");
        expect_error(&client, NOENV, ARGV("-fv"), "unknown option '-v' (a v hint)");
        expect_error(&client, NOENV, ARGV("-z"), "unknown option '-z' (see --help)");
        expect_error(&client, NOENV, ARGV("--zz"), "unknown option '--zz' (see --help)");
        expect_error(&client, NOENV, ARGV("-flag"), "unknown option '-flag' (did you mean '--flag'?)");
        /* A program without them says nothing more. */
        expect_error(&daemon_program, NOENV, ARGV("-v"), "unknown option '-v' (see --help)");

        /* The program's own options win. */
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;
        ASSERT_OK(parse(&client, 1000, NOENV, ARGV("-n", "x", "--flag"), &c, &err));
        ASSERT_STREQ(config_get_string(c, "name"), "x");
        ASSERT_TRUE(config_get_bool(c, "flag"));
}

TEST(positional) {
        static const ConfigProgram stop = {
                .name = "p", .dir_name = "p", .env_prefix = "P_", .file_format = CONFIG_FILE_TOML,
                .positional = CONFIG_POSITIONAL_STOP, .usage = "", .description = "",
                .value_sets = test_sets,
        };
        static const ConfigValueDef no_main[] = {
                { .name = "flag", .type = CONFIG_VALUE_BOOL, .short_opt = 'f', .default_value = "false",
                  .help = "f" },
                {},
        };
        static const ConfigValueDef *const sets[] = { config_values_common, no_main, NULL };
        static const ConfigProgram verb = {
                .name = "v", .dir_name = "v", .env_prefix = "V_", .file_format = CONFIG_FILE_TOML,
                .positional = CONFIG_POSITIONAL_INTERLEAVED, .usage = "", .description = "",
                .value_sets = sets,
        };
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;

        /* The first positional argument ends the options: "-f" after it is the job's. */
        ASSERT_OK(parse(&stop, 1000, NOENV, ARGV("-o", "ls", "-f"), &c, &err));
        ASSERT_TRUE(config_get_bool(c, "other-flag"));
        ASSERT_FALSE(config_get_bool(c, "flag"));
        /* This program has a main list, so positional arguments went there. */
        ASSERT_EQ(strv_length(config_get_list(c, "rest")), 2);

        config_free(TAKE_PTR(c));
        ASSERT_OK(parse(&verb, 1000, NOENV, ARGV("status", "-f", "--", "more"), &c, &err));
        ASSERT_TRUE(config_get_bool(c, "flag"));
        ASSERT_EQ(strv_length(config_get_positional(c)), 2);
        ASSERT_STREQ(config_get_positional(c)[0], "status");
        ASSERT_STREQ(config_get_positional(c)[1], "more");
}

TEST(default_files) {
        _cleanup_strv_free_ char **files = NULL;
        ConfigContext ctx = { .environ = ENV("HOME=/home/u"), .uid = 1000, .sysconf_dir = "/etc/maelstrom" };

        ASSERT_OK(config_default_files(&client, &ctx, &files));
        ASSERT_EQ(strv_length(files), 2);
        ASSERT_STREQ(files[0], "/home/u/.config/maelstrom/test/config.toml");
        ASSERT_STREQ(files[1], "/etc/xdg/maelstrom/test/config.toml");
        files = strv_free(files);

        ASSERT_OK(config_default_files(&daemon_program, &ctx, &files));
        ASSERT_EQ(strv_length(files), 3);
        ASSERT_STREQ(files[0], "/home/u/.config/maelstrom/testd.conf");
        ASSERT_STREQ(files[1], "/etc/xdg/maelstrom/testd.conf");
        ASSERT_STREQ(files[2], "/etc/maelstrom/testd.conf");
        files = strv_free(files);

        ctx.uid = 0;
        ASSERT_OK(config_default_files(&daemon_program, &ctx, &files));
        ASSERT_EQ(strv_length(files), 1);
        ASSERT_STREQ(files[0], "/etc/maelstrom/testd.conf");
}

static void rm_rf(const char *path) {
        _cleanup_free_ char *cmd = strjoin("rm -rf -- '", path, "'");
        /* Test cleanup only. */
        if (cmd && system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", path);
}

TEST(reparse_and_diff) {
        _cleanup_(config_freep) Config *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        _cleanup_strv_free_ char **changed = NULL, **none = NULL;
        _cleanup_free_ char *err = NULL, *file = path_of("reload.conf");

        write_file("reload.conf", "count = 5;\nname = \"one\";\n");
        ASSERT_OK(parse(&daemon_program, 0, NOENV, ARGV("-c", file, "--flag", "--size", "2 MB"), &a, &err));
        ASSERT_EQ(config_get_number(a, "count"), 5);

        /* The same command line, the file of now; the command line still wins over the file. */
        write_file("reload.conf",
                   "count = 7;\nname = \"one\";\nflag = false;\nsize = 4096;\nitems = [\"x\"];\n");
        ASSERT_OK(config_reparse(a, /* ctx= */ NULL, &b, &err));
        ASSERT_EQ(config_get_number(b, "count"), 7);
        ASSERT_TRUE(config_get_bool(b, "flag"));
        ASSERT_EQ(config_get_number(b, "size"), 2000000);
        ASSERT_OK(config_diff(a, b, &changed));
        ASSERT_TRUE(strv_equal(changed, ((char *[]) { "count", "items", NULL })));
        ASSERT_OK(config_diff(b, b, &none));
        ASSERT_TRUE(strv_isempty(none) && none);

        /* A broken file: an error that names it, and the caller keeps what it has. */
        write_file("reload.conf", "count = ;\n");
        ASSERT_ERROR(config_reparse(a, /* ctx= */ NULL, &c, &err), EINVAL);
        ASSERT_TRUE(err && strstr(err, "reload.conf"));
        ASSERT_TRUE(!c);
        err = mfree(err);
        write_file("reload.conf", "count = 1000;\n");
        ASSERT_ERROR(config_reparse(a, /* ctx= */ NULL, &d, &err), EINVAL);
        ASSERT_TRUE(err && strstr(err, "count"));
}

int main(void) {
        ASSERT_TRUE(mkdtemp(tmpdir) != NULL);

        RUN(defaults);
        RUN(client_precedence);
        RUN(daemon_precedence);
        RUN(command_line);
        RUN(help_and_version);
        RUN(print_config);
        RUN(errors);
        RUN(habits);
        RUN(positional);
        RUN(default_files);
        RUN(reparse_and_diff);

        rm_rf(tmpdir);
        return 0;
}
