/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdio.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "config/config-main.h"

static void config_main_apply_log_level(const Config *c) {
        int level = log_level_from_string(config_get_string(c, "log-level"));
        if (level >= 0)
                log_set_max_level(level);
}

int config_main_load(const ConfigProgram *p, int argc, char **argv, Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *message = NULL;
        int r;

        log_setup(p->name);

        r = config_parse(p, argc, argv, /* ctx= */ NULL, &c, &message);
        if (r == -ENOMEM || (r < 0 && !message))
                return log_error_errno(r, "Failed to parse the configuration: %m");
        if (r < 0)
                return log_error_errno(r, "%s", message);

        if (config_help_requested(c)) {
                r = config_print_help(p, /* ctx= */ NULL, stdout);
                if (r < 0)
                        return log_error_errno(r, "Failed to print the help: %m");
                return 0;
        }
        if (config_version_requested(c)) {
                printf("%s %s\n", p->name, PACKAGE_VERSION);
                return 0;
        }

        config_main_apply_log_level(c);

        if (config_print_requested(c)) {
                r = config_print_effective(c, stdout);
                if (r < 0)
                        return log_error_errno(r, "Failed to print the configuration: %m");
                return 0;
        }

        *ret = TAKE_PTR(c);
        return 1;
}

int config_main_not_available(const ConfigProgram *p, const char *what) {
        log_error("%s is not available yet in this version of %s.", what, p->name);
        return EXIT_NOT_AVAILABLE;
}

int config_main_reload(const Config *old, const char *const *live, Config **ret, char ***ret_changed) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *message = NULL, *list = NULL;
        _cleanup_strv_free_ char **changed = NULL;
        int r;

        r = config_reparse(old, /* ctx= */ NULL, &c, &message);
        if (r < 0)
                return log_error_errno(r, "Failed to reload the configuration, keeping the old one: %s",
                                       message ?: strerror(-r));
        r = config_diff(old, c, &changed);
        if (r < 0)
                return log_error_errno(r, "Failed to reload the configuration, keeping the old one: %m");
        config_main_apply_log_level(c);
        list = strv_join(changed, ", ");
        if (!list)
                return log_oom();
        log_notice("Reloaded the configuration (%s%s).",
                   strv_isempty(changed) ? "nothing changed" : "changed: ", list);
        STRV_FOREACH(name, changed)
                if (!streq(*name, "log-level") && !strv_contains((char *const *) live, *name))
                        log_notice("The new value of '%s' takes effect when %s restarts.", *name,
                                   config_get_program(old)->name);

        *ret = TAKE_PTR(c);
        *ret_changed = TAKE_PTR(changed);
        return 0;
}
