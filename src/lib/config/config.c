/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "basic/parse-util.h"
#include "basic/string-util.h"
#include "config/config-file.h"
#include "config/config.h"

extern char **environ;

typedef struct ConfigSetting {
        const ConfigValueDef *def;
        ConfigSource source;
        char *origin; /* the file or environment variable it came from */
        unsigned line;
        char *string; /* strings, and sizes as written */
        uint64_t number; /* numbers and sizes */
        bool boolean;
        char **list;
        bool cli_list_started; /* a repeated list flag appends after the first one replaced */
} ConfigSetting;

/* One option as found on the command line, applied once files and environment are in. */
typedef struct CliAssignment {
        ConfigSetting *setting;
        char *option; /* as the user wrote it, for messages */
        char *value;  /* NULL for a bare boolean flag */
} CliAssignment;

struct Config {
        const ConfigProgram *program;
        ConfigSetting *settings;
        size_t n_settings;
        char **positional;
        bool help, version, print;
        char *config_file; /* -c */
        CliAssignment *cli;
        size_t n_cli;
        char **main_args; /* the var-args after "--", for the main list */
        char **argv;      /* the command line parsed, for config_reparse() */
};

static const char *const config_value_type_table[_CONFIG_VALUE_TYPE_MAX] = {
        [CONFIG_VALUE_STRING] = "string",
        [CONFIG_VALUE_NUMBER] = "number",
        [CONFIG_VALUE_BOOL] = "boolean",
        [CONFIG_VALUE_SIZE] = "size",
        [CONFIG_VALUE_LIST] = "list of strings",
};

const char *config_value_type_to_string(ConfigValueType t) {
        if (t < 0 || t >= _CONFIG_VALUE_TYPE_MAX)
                return NULL;
        return config_value_type_table[t];
}

static const char *const config_source_table[_CONFIG_SOURCE_MAX] = {
        [CONFIG_SOURCE_UNSET] = "unset",
        [CONFIG_SOURCE_DEFAULT] = "default",
        [CONFIG_SOURCE_FILE] = "file",
        [CONFIG_SOURCE_ENV] = "environment",
        [CONFIG_SOURCE_PROGRAM_ENV] = "environment",
        [CONFIG_SOURCE_COMMAND_LINE] = "command line",
};

const char *config_source_to_string(ConfigSource s) {
        if (s < 0 || s >= _CONFIG_SOURCE_MAX)
                return NULL;
        return config_source_table[s];
}

#define FOREACH_VALUE_DEF(d, p)                                                         \
        for (const ConfigValueDef *const *_set_ = (p)->value_sets; *_set_; _set_++)     \
                for (const ConfigValueDef *d = *_set_; d->name; d++)

static void setting_clear(ConfigSetting *s) {
        s->origin = mfree(s->origin);
        s->string = mfree(s->string);
        s->list = strv_free(s->list);
        s->number = 0;
        s->boolean = false;
        s->line = 0;
        s->source = CONFIG_SOURCE_UNSET;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_settings; i++)
                setting_clear(&c->settings[i]);
        free(c->settings);
        for (size_t i = 0; i < c->n_cli; i++) {
                free(c->cli[i].option);
                free(c->cli[i].value);
        }
        free(c->cli);
        strv_free(c->main_args);
        strv_free(c->positional);
        strv_free(c->argv);
        free(c->config_file);
        free(c);
        return NULL;
}

static _printf_(2, 3) int set_error(char **reterr_message, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(reterr_message, fmt, ap) < 0)
                *reterr_message = NULL;
        va_end(ap);
        return -EINVAL;
}

static ConfigSetting *config_find(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_settings; i++)
                if (streq(c->settings[i].def->name, name))
                        return &c->settings[i];
        return NULL;
}

static ConfigSetting *config_find_long(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_settings; i++) {
                const ConfigValueDef *d = c->settings[i].def;
                if (d->flags & CONFIG_MAIN_LIST)
                        continue;
                if (streq(d->name, name) || streq_ptr(d->alias, name))
                        return &c->settings[i];
        }
        return NULL;
}

static ConfigSetting *config_find_short(const Config *c, char opt) {
        for (size_t i = 0; i < c->n_settings; i++)
                if (c->settings[i].def->short_opt == opt && !(c->settings[i].def->flags & CONFIG_MAIN_LIST))
                        return &c->settings[i];
        return NULL;
}

static ConfigSetting *config_get_setting(const Config *c, const char *name) {
        ConfigSetting *s = config_find(c, name);
        assert(s); /* asking for a value the program does not declare is a programming error */
        return s;
}

/* Describes where a value came from, for messages and --print-config. */
static char *setting_origin_describe(const ConfigSetting *s) {
        char *t = NULL;

        switch (s->source) {
        case CONFIG_SOURCE_FILE:
                if (asprintf(&t, "%s:%u", s->origin, s->line) < 0)
                        return NULL;
                return t;
        case CONFIG_SOURCE_ENV:
        case CONFIG_SOURCE_PROGRAM_ENV:
                return strjoin("environment variable ", s->origin);
        case CONFIG_SOURCE_COMMAND_LINE:
        case CONFIG_SOURCE_DEFAULT:
        case CONFIG_SOURCE_UNSET:
                return strdup(config_source_to_string(s->source));
        case _CONFIG_SOURCE_MAX:
        case _CONFIG_SOURCE_INVALID:
                break;
        }
        return strdup("?");
}

static int setting_set_origin(ConfigSetting *s, ConfigSource source, const char *origin, unsigned line) {
        char *o = NULL;

        if (origin) {
                o = strdup(origin);
                if (!o)
                        return -ENOMEM;
        }
        free(s->origin);
        s->origin = o;
        s->source = source;
        s->line = line;
        return 0;
}

static const char size_units_hint[] =
        "expected a number of bytes with an optional unit: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB";

/* Parse and check a scalar from text.  where describes the source for messages ("option --slots",
 * "environment variable MAELSTROM_SLOTS", "/etc/x.conf:3: key 'slots'"). */
static int setting_assign_text(ConfigSetting *s, const char *text, ConfigSource source, const char *origin,
                               unsigned line, const char *where, char **reterr_message) {
        const ConfigValueDef *d = s->def;
        uint64_t n = 0;
        bool b = false;
        int r;

        switch (d->type) {
        case CONFIG_VALUE_STRING:
                if (d->choices) {
                        bool ok = false;
                        for (const char *const *ch = d->choices; *ch; ch++)
                                ok = ok || streq(*ch, text);
                        if (!ok) {
                                _cleanup_free_ char *l = strv_join((char **) d->choices, ", ");
                                return set_error(reterr_message,
                                                 "%s: invalid value '%s' for '%s' (expected one of: %s)",
                                                 where, text, d->name, strna(l));
                        }
                }
                break;
        case CONFIG_VALUE_NUMBER:
                r = safe_atou64(text, &n);
                if (r < 0)
                        return set_error(reterr_message, "%s: invalid number '%s' for '%s'%s", where, text,
                                         d->name,
                                         r == -ERANGE ? " (out of range)"
                                                      : " (expected a non-negative integer)");
                if (n < d->min || (d->max > 0 && n > d->max))
                        return set_error(reterr_message,
                                         "%s: number %" PRIu64 " for '%s' is out of range "
                                         "(%" PRIu64 "..%" PRIu64 ")",
                                         where, n, d->name, d->min, d->max > 0 ? d->max : UINT64_MAX);
                break;
        case CONFIG_VALUE_SIZE:
                r = parse_size(text, &n);
                if (r < 0)
                        return set_error(reterr_message, "%s: invalid size '%s' for '%s' (%s)", where, text,
                                         d->name, r == -ERANGE ? "out of range" : size_units_hint);
                break;
        case CONFIG_VALUE_BOOL:
                r = parse_boolean(text, &b);
                if (r < 0)
                        return set_error(reterr_message,
                                         "%s: invalid boolean '%s' for '%s' (expected true or false)", where,
                                         text, d->name);
                break;
        case CONFIG_VALUE_LIST: {
                /* Lists from text (the environment) are whitespace-separated; empty or blank is the empty
                 * list. */
                _cleanup_strv_free_ char **l = NULL;
                r = strv_split_whitespace(text, &l);
                if (r < 0)
                        return r;
                setting_clear(s);
                s->list = TAKE_PTR(l);
                return setting_set_origin(s, source, origin, line);
        }
        case _CONFIG_VALUE_TYPE_MAX:
        case _CONFIG_VALUE_TYPE_INVALID:
                assert(false);
        }

        char *copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        setting_clear(s);
        s->string = copy;
        s->number = n;
        s->boolean = b;
        return setting_set_origin(s, source, origin, line);
}

static int setting_assign_list(ConfigSetting *s, char *const *l, ConfigSource source, const char *origin,
                               unsigned line) {
        char **copy = strv_copy(l);
        if (!copy)
                return -ENOMEM;
        setting_clear(s);
        s->list = copy;
        return setting_set_origin(s, source, origin, line);
}

static int setting_apply_default(ConfigSetting *s) {
        _cleanup_free_ char *computed = NULL;
        const char *text = s->def->default_value;
        _cleanup_free_ char *error = NULL;
        int r;

        if (s->def->default_fn) {
                r = s->def->default_fn(&computed);
                if (r < 0)
                        return r;
                text = computed;
        }

        if (!text) {
                setting_clear(s);
                if (s->def->type == CONFIG_VALUE_LIST) {
                        s->list = calloc(1, sizeof(char *));
                        if (!s->list)
                                return -ENOMEM;
                        s->source = CONFIG_SOURCE_DEFAULT;
                }
                return 0;
        }

        r = setting_assign_text(s, text, CONFIG_SOURCE_DEFAULT, NULL, 0, "default", &error);
        /* A bad built-in default is a programming error. */
        assert(r != -EINVAL);
        return r;
}

/* ---- files ---- */

typedef struct FileContext {
        Config *config;
} FileContext;

static int config_file_value(const ConfigFileValue *v, void *userdata, char **reterr_message) {
        FileContext *fc = userdata;
        _cleanup_free_ char *where = NULL;
        ConfigSetting *s;
        const char *expected = NULL;

        s = config_find(fc->config, v->key);
        if (!s || (s->def->flags & CONFIG_CLI_ONLY))
                return set_error(reterr_message, "%s:%u: unknown key '%s'%s", v->path, v->line, v->key,
                                 s ? " (it is a command-line option only)" : "");

        if (asprintf(&where, "%s:%u: key '%s'", v->path, v->line, v->key) < 0)
                return -ENOMEM;

        switch (s->def->type) {
        case CONFIG_VALUE_STRING:
                if (v->kind == CONFIG_FILE_VALUE_STRING)
                        return setting_assign_text(s, v->string, CONFIG_SOURCE_FILE, v->path, v->line, where,
                                                   reterr_message);
                expected = "a string";
                break;
        case CONFIG_VALUE_NUMBER:
        case CONFIG_VALUE_SIZE:
                if (v->kind == CONFIG_FILE_VALUE_INTEGER) {
                        char buf[32];
                        if (v->integer < 0)
                                return set_error(reterr_message, "%s: negative number %" PRIi64 " for '%s'",
                                                 where, v->integer, v->key);
                        snprintf(buf, sizeof buf, "%" PRIi64, v->integer);
                        return setting_assign_text(s, buf, CONFIG_SOURCE_FILE, v->path, v->line, where,
                                                   reterr_message);
                }
                if (s->def->type == CONFIG_VALUE_SIZE && v->kind == CONFIG_FILE_VALUE_STRING)
                        return setting_assign_text(s, v->string, CONFIG_SOURCE_FILE, v->path, v->line, where,
                                                   reterr_message);
                expected = s->def->type == CONFIG_VALUE_SIZE
                                   ? "a size (an integer, or a string such as \"1 GB\")"
                                   : "an integer";
                break;
        case CONFIG_VALUE_BOOL:
                if (v->kind == CONFIG_FILE_VALUE_BOOL)
                        return setting_assign_text(s, v->boolean ? "true" : "false", CONFIG_SOURCE_FILE,
                                                   v->path, v->line, where, reterr_message);
                expected = "a boolean";
                break;
        case CONFIG_VALUE_LIST:
                if (v->kind == CONFIG_FILE_VALUE_STRING_LIST)
                        return setting_assign_list(s, v->list, CONFIG_SOURCE_FILE, v->path, v->line);
                expected = "a list of strings";
                break;
        case _CONFIG_VALUE_TYPE_MAX:
        case _CONFIG_VALUE_TYPE_INVALID:
                assert(false);
        }

        return set_error(reterr_message, "%s: wrong type: expected %s, got %s", where, expected,
                         v->kind_name);
}

static int config_read_file(Config *c, const char *path, bool must_exist, char **reterr_message) {
        FileContext fc = { .config = c };
        int r;

        switch (c->program->file_format) {
        case CONFIG_FILE_TOML:
                r = config_file_read_toml(path, config_file_value, &fc, reterr_message);
                break;
        case CONFIG_FILE_LIBCONFIG:
                r = config_file_read_libconfig(path, config_file_value, &fc, reterr_message);
                break;
        case _CONFIG_FILE_FORMAT_MAX:
        case _CONFIG_FILE_FORMAT_INVALID:
        default:
                assert(false);
                return -EINVAL;
        }
        if (r == -ENOENT) {
                if (!must_exist)
                        return 0;
                (void) set_error(reterr_message, "configuration file '%s' does not exist", path);
                return -ENOENT;
        }
        if (r == -EBADMSG)
                return -EINVAL;
        return r;
}

static const char *env_lookup(const ConfigContext *ctx, const char *name) {
        char **env = ctx && ctx->environ ? ctx->environ : environ;
        size_t l = strlen(name);

        for (char **e = env; e && *e; e++)
                if (strneq(*e, name, l) && (*e)[l] == '=')
                        return *e + l + 1;
        return NULL;
}

static char *xdg_dir(const ConfigContext *ctx, const char *var, const char *home_suffix) {
        const char *v = env_lookup(ctx, var);
        /* The XDG spec says relative paths are invalid and must be ignored. */
        if (v && v[0] == '/')
                return strdup(v);
        const char *home = env_lookup(ctx, "HOME");
        if (!home || home[0] != '/')
                return NULL;
        return strjoin(home, home_suffix);
}

int config_default_files(const ConfigProgram *p, const ConfigContext *ctx, char ***ret) {
        _cleanup_strv_free_ char **files = calloc(1, sizeof(char *));
        _cleanup_free_ char *home = NULL;
        _cleanup_free_ char *suffix = NULL;
        int r;

        if (!files)
                return -ENOMEM;

        /* Clients: maelstrom/<dir>/config.toml; daemons: maelstrom/<dir>.conf. */
        suffix = p->file_format == CONFIG_FILE_TOML ? strjoin("/maelstrom/", p->dir_name, "/config.toml")
                                                    : strjoin("/maelstrom/", p->dir_name, ".conf");
        if (!suffix)
                return -ENOMEM;

        bool xdg = p->file_format == CONFIG_FILE_TOML || (ctx ? ctx->uid : getuid()) != 0;
        if (xdg) {
                home = xdg_dir(ctx, "XDG_CONFIG_HOME", "/.config");
                if (home) {
                        r = strv_consume(&files, strjoin(home, suffix));
                        if (r < 0)
                                return r;
                }

                const char *d = env_lookup(ctx, "XDG_CONFIG_DIRS");
                for (const char *q = isempty(d) ? "/etc/xdg" : d; q && *q;) {
                        const char *e = strchrnul(q, ':');
                        if (e > q && q[0] == '/') {
                                _cleanup_free_ char *dir = strndup(q, (size_t) (e - q));
                                if (!dir)
                                        return -ENOMEM;
                                r = strv_consume(&files, strjoin(dir, suffix));
                                if (r < 0)
                                        return r;
                        }
                        q = *e ? e + 1 : e;
                }
        }

        if (p->file_format == CONFIG_FILE_LIBCONFIG) {
                const char *sysconf = ctx && ctx->sysconf_dir ? ctx->sysconf_dir : SYSCONF_MAELSTROM_DIR;
                r = strv_consume(&files, strjoin(sysconf, "/", p->dir_name, ".conf"));
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(files);
        return 0;
}

/* ---- command line ---- */

static int cli_add(Config *c, ConfigSetting *s, const char *option, const char *value) {
        CliAssignment *n = reallocarray(c->cli, c->n_cli + 1, sizeof(CliAssignment));
        if (!n)
                return -ENOMEM;
        c->cli = n;
        c->cli[c->n_cli] = (CliAssignment) { .setting = s };
        c->cli[c->n_cli].option = strdup(option);
        c->cli[c->n_cli].value = value ? strdup(value) : NULL;
        c->n_cli++;
        if (!c->cli[c->n_cli - 1].option || (value && !c->cli[c->n_cli - 1].value))
                return -ENOMEM;
        return 0;
}

/* The habit that a command-line word ("-run=x", "--release", "-v") names, if the program has one. */
static const ConfigHabit *config_find_habit(const Config *c, const char *word) {
        word += strspn(word, "-");
        size_t n = strcspn(word, "=");

        for (const ConfigHabit *h = c->program->habits; h && h->name; h++)
                if (strlen(h->name) == n && strneq(h->name, word, n))
                        return h;
        return NULL;
}

static int unknown_option(const Config *c, const char *option, char **reterr_message) {
        const ConfigHabit *h = config_find_habit(c, option);

        if (h)
                return set_error(reterr_message, "unknown option '%s' (%s)", option, h->hint);
        return set_error(reterr_message, "unknown option '%s' (see --help)", option);
}

static ConfigSetting *config_main_list(const Config *c) {
        for (size_t i = 0; i < c->n_settings; i++)
                if (c->settings[i].def->flags & CONFIG_MAIN_LIST)
                        return &c->settings[i];
        return NULL;
}

/* Collect "--" var-args: into the main list if the program has one, else as positional arguments. */
static int cli_rest(Config *c, int argc, char *const *argv, int i, char **reterr_message) {
        ConfigSetting *main_list = config_main_list(c);
        int r;

        if (main_list) {
                /* Kept aside and assigned last, as the command line has the highest priority. */
                c->main_args = calloc(1, sizeof(char *));
                if (!c->main_args)
                        return -ENOMEM;
                for (; i < argc; i++) {
                        r = strv_extend(&c->main_args, argv[i]);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        if (c->program->positional == CONFIG_POSITIONAL_NONE && i < argc)
                return set_error(reterr_message, "unexpected argument '%s'", argv[i]);
        for (; i < argc; i++) {
                r = strv_extend(&c->positional, argv[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cli_value(Config *c, ConfigSetting *s, const char *option, const char *inline_value, int argc,
                     char *const *argv, int *i, char **reterr_message) {
        if (s->def->type == CONFIG_VALUE_BOOL)
                return cli_add(c, s, option, inline_value);
        if (inline_value)
                return cli_add(c, s, option, inline_value);
        if (*i + 1 >= argc)
                return set_error(reterr_message, "option %s requires an argument", option);
        (*i)++;
        return cli_add(c, s, option, argv[*i]);
}

enum {
        BUILTIN_NONE,
        BUILTIN_HELP,
        BUILTIN_VERSION,
        BUILTIN_PRINT,
        BUILTIN_CONFIG_FILE,
};

static int builtin_long(const char *name) {
        if (streq(name, "help"))
                return BUILTIN_HELP;
        if (streq(name, "version"))
                return BUILTIN_VERSION;
        if (streq(name, "print-config"))
                return BUILTIN_PRINT;
        if (streq(name, "config-file"))
                return BUILTIN_CONFIG_FILE;
        return BUILTIN_NONE;
}

static int builtin_short(char o) {
        switch (o) {
        case 'h':
                return BUILTIN_HELP;
        case 'P':
                return BUILTIN_PRINT;
        case 'c':
                return BUILTIN_CONFIG_FILE;
        default:
                return BUILTIN_NONE;
        }
}

static int cli_builtin(Config *c, int b, const char *option, const char *inline_value, int argc,
                       char *const *argv, int *i, char **reterr_message) {
        switch (b) {
        case BUILTIN_HELP:
                c->help = true;
                return 0;
        case BUILTIN_VERSION:
                c->version = true;
                return 0;
        case BUILTIN_PRINT:
                c->print = true;
                return 0;
        case BUILTIN_CONFIG_FILE:
                if (!inline_value) {
                        if (*i + 1 >= argc)
                                return set_error(reterr_message, "option %s requires an argument", option);
                        inline_value = argv[++(*i)];
                }
                free(c->config_file);
                c->config_file = strdup(inline_value);
                return c->config_file ? 0 : -ENOMEM;
        default:
                assert(false);
                return -EINVAL;
        }
}

static int config_parse_command_line(Config *c, int argc, char *const *argv, char **reterr_message) {
        int r;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (streq(a, "--"))
                        return cli_rest(c, argc, argv, i + 1, reterr_message);

                if (a[0] == '-' && a[1] == '-') {
                        _cleanup_free_ char *name = NULL, *option = NULL;
                        const char *eq = strchr(a + 2, '=');
                        const char *inline_value = eq ? eq + 1 : NULL;

                        name = eq ? strndup(a + 2, (size_t) (eq - a - 2)) : strdup(a + 2);
                        if (!name)
                                return -ENOMEM;
                        option = strjoin("--", name);
                        if (!option)
                                return -ENOMEM;

                        int b = builtin_long(name);
                        if (b != BUILTIN_NONE) {
                                if (inline_value && b != BUILTIN_CONFIG_FILE)
                                        return set_error(reterr_message, "option %s takes no argument",
                                                         option);
                                r = cli_builtin(c, b, option, inline_value, argc, argv, &i, reterr_message);
                        } else {
                                ConfigSetting *s = config_find_long(c, name);
                                if (!s)
                                        return unknown_option(c, option, reterr_message);
                                r = cli_value(c, s, option, inline_value, argc, argv, &i, reterr_message);
                        }
                        if (r < 0)
                                return r;
                        continue;
                }

                if (a[0] == '-' && a[1] != 0) {
                        /* A long option with one dash ("-short", "-timeout=5", as Go's flags are spelled),
                         * which the cluster below would take for short options ("-s hort"). */
                        if (a[2] != 0 && a[2] != '=') {
                                _cleanup_free_ char *name = strndup(a + 1, strcspn(a + 1, "="));
                                if (!name)
                                        return -ENOMEM;
                                if (config_find_long(c, name) || builtin_long(name) != BUILTIN_NONE)
                                        return set_error(reterr_message,
                                                         "unknown option '%s' (did you mean '-%s'?)", a, a);
                                /* Or one of the flags of the tool we stand in for ("-run", "-count=1"). */
                                if (config_find_habit(c, a))
                                        return unknown_option(c, a, reterr_message);
                        }
                        /* A cluster of short options: flags may be combined, and the first one that takes an
                         * argument takes the rest of the cluster or the next argument. */
                        for (const char *o = a + 1; *o; o++) {
                                char option[3] = { '-', *o, 0 };
                                const char *rest = o[1] ? o + 1 : NULL;
                                int b = builtin_short(*o);
                                ConfigSetting *s = NULL;
                                bool takes_arg;

                                if (b == BUILTIN_NONE) {
                                        s = config_find_short(c, *o);
                                        if (!s)
                                                return unknown_option(c, option, reterr_message);
                                        takes_arg = s->def->type != CONFIG_VALUE_BOOL;
                                } else
                                        takes_arg = b == BUILTIN_CONFIG_FILE;

                                if (takes_arg) {
                                        r = b != BUILTIN_NONE
                                                ? cli_builtin(c, b, option, rest, argc, argv, &i,
                                                              reterr_message)
                                                : cli_value(c, s, option, rest, argc, argv, &i,
                                                            reterr_message);
                                        if (r < 0)
                                                return r;
                                        break;
                                }
                                r = b != BUILTIN_NONE ? cli_builtin(c, b, option, NULL, argc, argv, &i,
                                                                    reterr_message)
                                                      : cli_add(c, s, option, NULL);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }

                /* A positional argument. */
                switch (c->program->positional) {
                case CONFIG_POSITIONAL_NONE:
                        if (config_main_list(c) && config_find_long(c, "include")) {
                                /* cargo test NAME, or nextest's: a filter on the case names. */
                                static const char *const delimiters[] = { "()", "[]", "{}", "<>" };
                                const char *d = NULL;
                                if (strchr(a, '/')) /* a path, or go's "./..." */
                                        return set_error(reterr_message,
                                                         "unexpected argument '%s' (to select what runs, "
                                                         "use --include PATTERN; arguments for the tests "
                                                         "go after '--')", a);
                                for (size_t k = 0; k < ELEMENTSOF(delimiters) && !d; k++)
                                        if (!strpbrk(a, delimiters[k]))
                                                d = delimiters[k];
                                if (d)
                                        return set_error(reterr_message,
                                                         "unexpected argument '%s' (to run the cases "
                                                         "whose name contains it: --include "
                                                         "'name.contains%c%s%c'; arguments for the "
                                                         "tests go after '--')",
                                                         a, d[0], a, d[1]);
                        }
                        return set_error(reterr_message, "unexpected argument '%s'%s", a,
                                         config_main_list(c) ? " (put arguments for the tests after '--')"
                                                             : "");
                case CONFIG_POSITIONAL_INTERLEAVED:
                        r = strv_extend(&c->positional, a);
                        if (r < 0)
                                return r;
                        break;
                case CONFIG_POSITIONAL_STOP:
                        return cli_rest(c, argc, argv, i, reterr_message);
                case _CONFIG_POSITIONAL_MAX:
                case _CONFIG_POSITIONAL_INVALID:
                        assert(false);
                }
        }
        return 0;
}

static int config_apply_cli(Config *c, char **reterr_message) {
        int r;

        for (size_t i = 0; i < c->n_cli; i++) {
                CliAssignment *a = &c->cli[i];
                ConfigSetting *s = a->setting;
                _cleanup_free_ char *where = strjoin("option ", a->option);

                if (!where)
                        return -ENOMEM;

                if (s->def->type == CONFIG_VALUE_LIST) {
                        /* Repeated flags build the list; the first replaces what files and environment
                         * said. */
                        if (!s->cli_list_started) {
                                r = setting_assign_list(s, NULL, CONFIG_SOURCE_COMMAND_LINE, NULL, 0);
                                if (r < 0)
                                        return r;
                                s->cli_list_started = true;
                        }
                        r = strv_extend(&s->list, a->value);
                        if (r < 0)
                                return r;
                        continue;
                }

                r = setting_assign_text(s, a->value ?: "true", CONFIG_SOURCE_COMMAND_LINE, NULL, 0, where,
                                        reterr_message);
                if (r < 0)
                        return r;
        }

        ConfigSetting *main_list = config_main_list(c);
        if (main_list && c->main_args)
                return setting_assign_list(main_list, c->main_args, CONFIG_SOURCE_COMMAND_LINE, NULL, 0);
        return 0;
}

int config_env_names(const ConfigProgram *p, const ConfigValueDef *d, char **ret_program,
                     char **ret_generic) {
        _cleanup_free_ char *upper = strdup(d->name), *program = NULL, *generic = NULL;

        if (!upper)
                return -ENOMEM;
        for (char *q = upper; *q; q++)
                *q = *q == '-' ? '_' : (char) toupper((unsigned char) *q);

        program = strjoin(p->env_prefix, upper);
        generic = strjoin("MAELSTROM_", upper);
        if (!program || !generic)
                return -ENOMEM;

        *ret_program = TAKE_PTR(program);
        *ret_generic = TAKE_PTR(generic);
        return 0;
}

static int config_apply_env(Config *c, const ConfigContext *ctx, bool program_specific,
                            char **reterr_message) {
        int r;

        for (size_t i = 0; i < c->n_settings; i++) {
                ConfigSetting *s = &c->settings[i];
                _cleanup_free_ char *pname = NULL, *gname = NULL, *where = NULL;

                if (s->def->flags & CONFIG_CLI_ONLY)
                        continue;
                r = config_env_names(c->program, s->def, &pname, &gname);
                if (r < 0)
                        return r;

                const char *name = program_specific ? pname : gname;
                const char *v = env_lookup(ctx, name);
                if (!v)
                        continue;

                where = strjoin("environment variable ", name);
                if (!where)
                        return -ENOMEM;

                if (s->def->type == CONFIG_VALUE_STRING && isempty(v) && !s->def->choices) {
                        /* An empty string value unsets it (e.g. MAELSTROM_BROKER= for standalone mode). */
                        setting_clear(s);
                        r = setting_set_origin(s, program_specific ? CONFIG_SOURCE_PROGRAM_ENV
                                                                   : CONFIG_SOURCE_ENV,
                                               name, 0);
                } else
                        r = setting_assign_text(s, v, program_specific ? CONFIG_SOURCE_PROGRAM_ENV
                                                                       : CONFIG_SOURCE_ENV,
                                                name, 0, where, reterr_message);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_parse(const ConfigProgram *p, int argc, char *const *argv, const ConfigContext *ctx, Config **ret,
                 char **reterr_message) {
        _cleanup_(config_freep) Config *c = NULL;
        size_t n = 0;
        int r;

        *reterr_message = NULL;

        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        c->program = p;
        c->positional = calloc(1, sizeof(char *));
        c->argv = calloc(argc + 1, sizeof(char *));
        if (!c->positional || !c->argv)
                return -ENOMEM;
        for (int i = 0; i < argc; i++) {
                c->argv[i] = strdup(argv[i]);
                if (!c->argv[i])
                        return -ENOMEM;
        }

        FOREACH_VALUE_DEF(d, p)
                n++;
        c->settings = calloc(n, sizeof(ConfigSetting));
        if (!c->settings)
                return -ENOMEM;
        FOREACH_VALUE_DEF(d, p) {
                /* Each name appears once per program; a duplicate is a programming error. */
                assert(!config_find(c, d->name));
                c->settings[c->n_settings++].def = d;
        }

        r = config_parse_command_line(c, argc, argv, reterr_message);
        if (r < 0)
                return r;

        /* --help and --version work whatever the files and environment say. */
        if (c->help || c->version) {
                *ret = TAKE_PTR(c);
                return 0;
        }

        for (size_t i = 0; i < c->n_settings; i++) {
                r = setting_apply_default(&c->settings[i]);
                if (r < 0)
                        return r;
        }

        if (c->config_file) {
                if (!streq(c->config_file, "-")) {
                        r = config_read_file(c, c->config_file, /* must_exist= */ true, reterr_message);
                        if (r < 0)
                                return r;
                }
        } else {
                _cleanup_strv_free_ char **files = NULL;
                r = config_default_files(p, ctx, &files);
                if (r < 0)
                        return r;
                /* Highest priority first in the list, so read from the end: later files override. */
                for (size_t i = strv_length(files); i > 0; i--) {
                        r = config_read_file(c, files[i - 1], /* must_exist= */ false, reterr_message);
                        if (r < 0)
                                return r;
                }
        }

        r = config_apply_env(c, ctx, /* program_specific= */ false, reterr_message);
        if (r < 0)
                return r;
        r = config_apply_env(c, ctx, /* program_specific= */ true, reterr_message);
        if (r < 0)
                return r;
        r = config_apply_cli(c, reterr_message);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int config_reparse(const Config *c, const ConfigContext *ctx, Config **ret, char **reterr_message) {
        return config_parse(c->program, (int) strv_length(c->argv), c->argv, ctx, ret, reterr_message);
}

static bool setting_equal(const ConfigSetting *a, const ConfigSetting *b) {
        switch (a->def->type) {
        case CONFIG_VALUE_STRING:
                return streq_ptr(a->string, b->string);
        case CONFIG_VALUE_NUMBER:
        case CONFIG_VALUE_SIZE:
                return a->number == b->number && !!a->string == !!b->string;
        case CONFIG_VALUE_BOOL:
                return a->boolean == b->boolean;
        case CONFIG_VALUE_LIST:
                return strv_equal(a->list, b->list);
        case _CONFIG_VALUE_TYPE_MAX:
        case _CONFIG_VALUE_TYPE_INVALID:
                break;
        }
        assert(!"unknown value type");
        return false;
}

int config_diff(const Config *a, const Config *b, char ***ret) {
        _cleanup_strv_free_ char **names = calloc(1, sizeof(char *));

        assert(a->program == b->program);
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_settings; i++)
                if (!setting_equal(&a->settings[i], &b->settings[i]) &&
                    strv_extend(&names, a->settings[i].def->name) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(names);
        return 0;
}

/* ---- accessors ---- */

bool config_help_requested(const Config *c) {
        return c->help;
}

bool config_version_requested(const Config *c) {
        return c->version;
}

bool config_print_requested(const Config *c) {
        return c->print;
}

bool config_is_set(const Config *c, const char *name) {
        ConfigSetting *s = config_get_setting(c, name);
        if (s->def->type == CONFIG_VALUE_LIST)
                return !!s->list;
        return !!s->string;
}

const char *config_get_string(const Config *c, const char *name) {
        ConfigSetting *s = config_get_setting(c, name);
        assert(s->def->type == CONFIG_VALUE_STRING);
        return s->string;
}

uint64_t config_get_number(const Config *c, const char *name) {
        ConfigSetting *s = config_get_setting(c, name);
        assert(IN_SET(s->def->type, CONFIG_VALUE_NUMBER, CONFIG_VALUE_SIZE));
        return s->number;
}

bool config_get_bool(const Config *c, const char *name) {
        ConfigSetting *s = config_get_setting(c, name);
        assert(s->def->type == CONFIG_VALUE_BOOL);
        return s->boolean;
}

char *const *config_get_list(const Config *c, const char *name) {
        static char *const empty[] = { NULL };
        ConfigSetting *s = config_get_setting(c, name);
        assert(s->def->type == CONFIG_VALUE_LIST);
        return s->list ?: empty;
}

ConfigSource config_get_source(const Config *c, const char *name) {
        return config_get_setting(c, name)->source;
}

const ConfigProgram *config_get_program(const Config *c) {
        return c->program;
}

char *const *config_get_positional(const Config *c) {
        return c->positional;
}

/* ---- output ---- */

static void toml_quote(TextBuf *b, const char *s) {
        textbuf_append_char(b, '"');
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\') {
                        textbuf_append_char(b, '\\');
                        textbuf_append_char(b, (char) *p);
                } else if (*p < 0x20 || *p == 0x7f)
                        textbuf_appendf(b, "\\u%04x", *p);
                else
                        textbuf_append_char(b, (char) *p);
        }
        textbuf_append_char(b, '"');
}

static const char *value_metavar(const ConfigValueDef *d) {
        if (d->metavar)
                return d->metavar;
        switch (d->type) {
        case CONFIG_VALUE_STRING:
                return "STRING";
        case CONFIG_VALUE_NUMBER:
                return "NUMBER";
        case CONFIG_VALUE_SIZE:
                return "SIZE";
        case CONFIG_VALUE_LIST:
                return "STRING";
        case CONFIG_VALUE_BOOL:
        case _CONFIG_VALUE_TYPE_MAX:
        case _CONFIG_VALUE_TYPE_INVALID:
                break;
        }
        return NULL;
}

static int print_value_help(const ConfigProgram *p, const ConfigValueDef *d, FILE *f) {
        _cleanup_free_ char *pname = NULL, *gname = NULL;
        TextBuf head = {};
        _cleanup_free_ char *h = NULL;
        int r;

        textbuf_append(&head, "  ");
        if (d->flags & CONFIG_MAIN_LIST)
                textbuf_appendf(&head, "-- %s...", value_metavar(d));
        else {
                if (d->short_opt)
                        textbuf_appendf(&head, "-%c, ", d->short_opt);
                textbuf_appendf(&head, "--%s", d->name);
                if (d->alias)
                        textbuf_appendf(&head, ", --%s", d->alias);
                if (d->type != CONFIG_VALUE_BOOL)
                        textbuf_appendf(&head, " %s", value_metavar(d));
        }
        r = textbuf_steal(&head, &h);
        if (r < 0)
                return r;

        fprintf(f, "%s\n          %s\n", h, d->help);

        TextBuf t = {};
        _cleanup_free_ char *type_line = NULL;
        textbuf_appendf(&t, "type: %s", config_value_type_to_string(d->type));
        if (d->type == CONFIG_VALUE_LIST)
                textbuf_append(&t, (d->flags & CONFIG_MAIN_LIST) ? " (the arguments after --)"
                                                                : " (repeat the option for each element)");
        if (d->choices) {
                _cleanup_free_ char *l = strv_join((char **) d->choices, ", ");
                textbuf_appendf(&t, " (one of: %s)", strempty(l));
        }
        if (d->type == CONFIG_VALUE_NUMBER && (d->min > 0 || d->max > 0)) {
                if (d->max > 0)
                        textbuf_appendf(&t, " (%" PRIu64 "..%" PRIu64 ")", d->min, d->max);
                else
                        textbuf_appendf(&t, " (at least %" PRIu64 ")", d->min);
        }
        textbuf_append(&t, "; default: ");
        if (d->default_doc)
                textbuf_append(&t, d->default_doc);
        else if (d->default_value && d->type == CONFIG_VALUE_STRING)
                toml_quote(&t, d->default_value);
        else if (d->default_value)
                textbuf_append(&t, d->default_value);
        else if (d->type == CONFIG_VALUE_LIST)
                textbuf_append(&t, "empty");
        else
                textbuf_append(&t, "unset");
        r = textbuf_steal(&t, &type_line);
        if (r < 0)
                return r;
        fprintf(f, "          %s\n", type_line);

        if (d->flags & CONFIG_CLI_ONLY)
                fprintf(f, "          command line only\n");
        else {
                r = config_env_names(p, d, &pname, &gname);
                if (r < 0)
                        return r;
                fprintf(f, "          env: %s, %s\n", pname, gname);
        }
        return 0;
}

int config_print_help(const ConfigProgram *p, const ConfigContext *ctx, FILE *f) {
        _cleanup_strv_free_ char **files = NULL;
        int r;

        fprintf(f, "Usage: %s %s\n\n%s\n\n", p->name, p->usage, p->description);
        fprintf(f, "Options:\n"
                   "  -h, --help\n          Print this help and exit\n"
                   "  --version\n          Print the version and exit\n"
                   "  -P, --print-config\n          Print the effective value of every configuration value, "
                   "with where it came from, and exit\n"
                   "  -c, --config-file PATH\n          Read only this configuration file (\"-\": none)\n");

        FOREACH_VALUE_DEF(d, p)
                if (d->flags & CONFIG_CLI_ONLY) {
                        r = print_value_help(p, d, f);
                        if (r < 0)
                                return r;
                }

        fprintf(f, "\nConfiguration values (command line > %s<VALUE> > MAELSTROM_<VALUE> > "
                "configuration files):\n", p->env_prefix);
        FOREACH_VALUE_DEF(d, p)
                if (!(d->flags & CONFIG_CLI_ONLY)) {
                        r = print_value_help(p, d, f);
                        if (r < 0)
                                return r;
                }

        r = config_default_files(p, ctx, &files);
        if (r < 0)
                return r;
        fprintf(f, "\nConfiguration files (%s; the first found overrides the later ones):\n",
                p->file_format == CONFIG_FILE_TOML ? "TOML" : "libconfig");
        STRV_FOREACH(file, files)
                fprintf(f, "  %s\n", *file);
        return 0;
}

int config_print_effective(const Config *c, FILE *f) {
        for (size_t i = 0; i < c->n_settings; i++) {
                const ConfigSetting *s = &c->settings[i];
                const ConfigValueDef *d = s->def;
                _cleanup_free_ char *origin = setting_origin_describe(s), *text = NULL;
                TextBuf b = {};
                int r;

                if (!origin)
                        return -ENOMEM;

                if (d->flags & CONFIG_CLI_ONLY)
                        continue;

                if (d->type == CONFIG_VALUE_LIST && s->list) {
                        textbuf_appendf(&b, "%s = [", d->name);
                        STRV_FOREACH(e, s->list) {
                                if (e != s->list)
                                        textbuf_append(&b, ", ");
                                toml_quote(&b, *e);
                        }
                        textbuf_append(&b, "]");
                } else if (!s->string)
                        textbuf_appendf(&b, "# %s is not set", d->name);
                else if (IN_SET(d->type, CONFIG_VALUE_STRING, CONFIG_VALUE_SIZE)) {
                        textbuf_appendf(&b, "%s = ", d->name);
                        toml_quote(&b, s->string);
                } else
                        textbuf_appendf(&b, "%s = %s", d->name, s->string);

                textbuf_appendf(&b, "  # %s", origin);
                r = textbuf_steal(&b, &text);
                if (r < 0)
                        return r;
                fprintf(f, "%s\n", text);
        }
        return 0;
}
