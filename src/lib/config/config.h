/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The configuration system shared by every program.
 *
 * Each configuration value is declared once, in a ConfigValueDef: name, type, default, short option and a
 * one-line help.  A program is a ConfigProgram listing the sets of values it has.  config_parse() resolves
 * every value from, highest priority first: the command line, MAELSTROM_<PROG>_<VALUE>, MAELSTROM_<VALUE>,
 * then the configuration files (TOML config.toml for clients, libconfig <daemon>.conf for the daemons), and
 * remembers where each value came from. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "basic/macro.h"

typedef enum ConfigValueType {
        CONFIG_VALUE_STRING,
        CONFIG_VALUE_NUMBER, /* unsigned 64-bit integer */
        CONFIG_VALUE_BOOL,
        CONFIG_VALUE_SIZE,   /* bytes: "1 GB", "512 MiB" or a plain number */
        CONFIG_VALUE_LIST,   /* list of strings */
        _CONFIG_VALUE_TYPE_MAX,
        _CONFIG_VALUE_TYPE_INVALID = -EINVAL,
} ConfigValueType;

typedef enum ConfigFlags {
        CONFIG_CLI_ONLY = 1 << 0,  /* an option of the command line only: no environment, not in files */
        CONFIG_MAIN_LIST = 1 << 1, /* the list given as var-args after "--" (no flag of its own) */
} ConfigFlags;

typedef struct ConfigValueDef {
        const char *name;          /* kebab-case: "cache-size" */
        ConfigValueType type;
        char short_opt;            /* 0 = none */
        const char *alias;         /* another long option name, or NULL */
        const char *metavar;       /* argument name in --help; NULL = derived from the type */
        const char *default_value; /* as a user would write it; NULL = unset (or computed) */
        /* A default computed at run time (one slot per CPU, XDG directories).  Returns 0 and sets *ret (NULL
         * = unset), or -errno.  default_doc describes it in --help. */
        int (*default_fn)(char **ret);
        const char *default_doc;
        const char *const *choices; /* strings only: the allowed values, NULL-terminated */
        uint64_t min, max;          /* numbers only: the range; max 0 = no upper bound */
        const char *help;
        ConfigFlags flags;
} ConfigValueDef;

typedef enum ConfigFileFormat {
        CONFIG_FILE_TOML,      /* clients: maelstrom/<dir>/config.toml in the XDG config directories */
        CONFIG_FILE_LIBCONFIG, /* daemons: /etc/maelstrom/<dir>.conf, plus XDG for a non-root user */
        _CONFIG_FILE_FORMAT_MAX,
        _CONFIG_FILE_FORMAT_INVALID = -EINVAL,
} ConfigFileFormat;

typedef enum ConfigPositional {
        CONFIG_POSITIONAL_NONE,       /* positional arguments are an error */
        CONFIG_POSITIONAL_INTERLEAVED, /* allowed anywhere among the options (e.g. a verb) */
        CONFIG_POSITIONAL_STOP,       /* the first positional argument ends option parsing (a command
                                       * line) */
        _CONFIG_POSITIONAL_MAX,
        _CONFIG_POSITIONAL_INVALID = -EINVAL,
} ConfigPositional;

/* A flag of the tool that a program stands in for (go test's -run, cargo's --release), and what to use
 * instead: a command line that uses it fails with the hint, whatever its dashes or value. */
typedef struct ConfigHabit {
        const char *name; /* without dashes: "run" */
        const char *hint; /* "a go test flag: to select cases by a regular expression, use ..." */
} ConfigHabit;

typedef struct ConfigProgram {
        const char *name;       /* "maelstrom-run" */
        const char *dir_name;   /* "run": the directory (clients) or file (daemons) name of its config */
        const char *env_prefix; /* "MAELSTROM_RUN_" */
        ConfigFileFormat file_format;
        ConfigPositional positional;
        const char *usage;       /* what follows the program name in the usage line */
        const char *description; /* a paragraph for --help */
        const ConfigValueDef *const *value_sets; /* NULL-terminated; each set ends with an entry whose
                                                  * name is NULL */
        const ConfigHabit *habits; /* NULL, or ends with an entry whose name is NULL */
} ConfigProgram;

typedef enum ConfigSource {
        CONFIG_SOURCE_UNSET,
        CONFIG_SOURCE_DEFAULT,
        CONFIG_SOURCE_FILE,
        CONFIG_SOURCE_ENV,         /* the generic MAELSTROM_<VALUE> */
        CONFIG_SOURCE_PROGRAM_ENV, /* MAELSTROM_<PROG>_<VALUE> */
        CONFIG_SOURCE_COMMAND_LINE,
        _CONFIG_SOURCE_MAX,
        _CONFIG_SOURCE_INVALID = -EINVAL,
} ConfigSource;

typedef struct Config Config;

/* The environment and identity config_parse() looks at; tests pass their own. */
typedef struct ConfigContext {
        char **environ; /* NULL = the process environment */
        uid_t uid;      /* decides whether a daemon also reads the XDG files */
        const char *sysconf_dir; /* NULL = the compiled-in /etc/maelstrom */
} ConfigContext;

/* Parse the command line, the environment and the files.  On a usage or configuration error returns -EINVAL
 * (or -ENOENT for a missing -c file, -ENOMEM) and sets *reterr_message to a message that names the file and
 * line, the environment variable or the option, and the value's name. */
int config_parse(const ConfigProgram *p, int argc, char *const *argv, const ConfigContext *ctx, Config **ret,
                 char **reterr_message);
Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

/* Parses again as config_parse() did for c: its program and command line, with the files and the environment
 * of now (a daemon's SIGHUP).  Returns as config_parse() does. */
int config_reparse(const Config *c, const ConfigContext *ctx, Config **ret, char **reterr_message);
/* The names of the values whose effective values differ between a and b (of the same program), in the
 * program's order: a strv, empty when nothing changed. */
int config_diff(const Config *a, const Config *b, char ***ret);

/* Requests that config_parse() records rather than acts on. */
bool config_help_requested(const Config *c);
bool config_version_requested(const Config *c);
bool config_print_requested(const Config *c);

/* Accessors.  name must be one of the program's values (a programming error otherwise). */
bool config_is_set(const Config *c, const char *name);
const char *config_get_string(const Config *c, const char *name); /* NULL if unset */
uint64_t config_get_number(const Config *c, const char *name);    /* also sizes; 0 if unset */
bool config_get_bool(const Config *c, const char *name);
char *const *config_get_list(const Config *c, const char *name);   /* never NULL */
ConfigSource config_get_source(const Config *c, const char *name);
const ConfigProgram *config_get_program(const Config *c);
/* Positional arguments (see ConfigPositional); never NULL. */
char *const *config_get_positional(const Config *c);

/* The files a program reads when no -c is given, highest priority first. */
int config_default_files(const ConfigProgram *p, const ConfigContext *ctx, char ***ret);

/* Output for --help, --print-config and --version. */
int config_print_help(const ConfigProgram *p, const ConfigContext *ctx, FILE *f);
int config_print_effective(const Config *c, FILE *f);

const char *config_value_type_to_string(ConfigValueType t);
const char *config_source_to_string(ConfigSource s);
/* "MAELSTROM_RUN_CACHE_SIZE" and "MAELSTROM_CACHE_SIZE". */
int config_env_names(const ConfigProgram *p, const ConfigValueDef *d, char **ret_program,
                     char **ret_generic);
