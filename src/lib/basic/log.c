/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/log.h"

/* The log state is the one kind of global the style guide allows besides arg_*. */
static int log_max_level = LOG_INFO;
static int log_journal = -1; /* -1: not yet checked */
static const char *log_program = NULL;

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_setup(const char *program_name) {
        log_program = program_name;
        log_journal = stderr_is_journal();
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

bool log_get_journal(void) {
        if (log_journal < 0)
                log_journal = stderr_is_journal();
        return log_journal;
}

const char *log_get_program(void) {
        return log_program;
}

static const struct {
        const char *name;
        int level;
} log_levels[] = {
        { "error", LOG_ERR },
        { "warning", LOG_WARNING },
        { "info", LOG_INFO },
        { "debug", LOG_DEBUG },
        /* accepted aliases */
        { "err", LOG_ERR },
        { "warn", LOG_WARNING },
        { "notice", LOG_NOTICE },
};

int log_level_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(log_levels); i++)
                if (streq(s, log_levels[i].name))
                        return log_levels[i].level;
        return -EINVAL;
}

const char *log_level_to_string(int level) {
        for (size_t i = 0; i < ELEMENTSOF(log_levels); i++)
                if (log_levels[i].level == level)
                        return log_levels[i].name;
        return NULL;
}

int log_internal(int level, int error, const char *format, ...) {
        char buf[2048];
        va_list ap;

        if (log_journal < 0)
                log_journal = stderr_is_journal();

        /* %m in the format refers to the error we were passed, not to whatever errno happens to be. */
        errno = abs(error);
        va_start(ap, format);
        (void) vsnprintf(buf, sizeof buf, format, ap);
        va_end(ap);

        if (log_journal)
                fprintf(stderr, "<%d>%s\n", level, buf);
        else if (log_program)
                fprintf(stderr, "%s: %s\n", log_program, buf);
        else
                fprintf(stderr, "%s\n", buf);

        return -abs(error);
}
