/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/string-util.h"
#include "layer/layer-util.h"

int layer_error(char **reterr_message, int error, const char *format, ...) {
        va_list ap;
        char *s = NULL;

        error = abs(error);
        if (reterr_message) {
                errno = error;
                va_start(ap, format);
                if (vasprintf(&s, format, ap) < 0)
                        s = NULL;
                va_end(ap);
                free(*reterr_message);
                *reterr_message = s;
        }
        return -error;
}

char *layer_path_join(const char *a, const char *b) {
        size_t la = strlen(a);

        while (*b == '/')
                b++;
        if (la == 0)
                return strdup(b);
        return strjoin(a, a[la - 1] == '/' ? "" : "/", b);
}

static bool ends_with_dotdot(const char *out, size_t len, size_t base) {
        return len - base >= 2 && out[len - 1] == '.' && out[len - 2] == '.' &&
                (len - base == 2 || out[len - 3] == '/');
}

int layer_path_simplify(const char *path, char **ret) {
        bool absolute = path[0] == '/';
        size_t n = strlen(path);
        _cleanup_free_ char *out = malloc(n + 2);
        size_t len = 0;

        if (!out)
                return -ENOMEM;
        if (absolute)
                out[len++] = '/';
        size_t base = len; /* ".." never removes anything before this */

        size_t l;
        for (const char *p, *rest = path; (p = layer_path_next_component(&rest, &l));) {
                if (l == 1 && p[0] == '.') {
                        /* nothing */
                } else if (l == 2 && p[0] == '.' && p[1] == '.' && len > base &&
                           !ends_with_dotdot(out, len, base)) {
                        /* Drop the last component. */
                        while (len > base && out[len - 1] != '/')
                                len--;
                        if (len > base)
                                len--;
                } else if (!(l == 2 && p[0] == '.' && p[1] == '.' && absolute)) {
                        /* A component, or a ".." that a relative path keeps ("/.." is "/"). */
                        if (len > base)
                                out[len++] = '/';
                        memcpy(out + len, p, l);
                        len += l;
                }
        }
        if (len == 0)
                out[len++] = '.';
        out[len] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

const char *layer_path_next_component(const char **p, size_t *ret_len) {
        const char *s = *p + strspn(*p, "/");

        if (!*s)
                return NULL;
        *ret_len = strcspn(s, "/");
        *p = s + *ret_len;
        return s;
}

static int strv_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

void layer_strv_sort_unique(char **l) {
        size_t n = strv_length(l), k = 0;

        if (n == 0)
                return;
        qsort(l, n, sizeof(char *), strv_compare);
        for (size_t i = 0; i < n; i++) {
                if (k > 0 && streq(l[k - 1], l[i]))
                        free(l[i]);
                else
                        l[k++] = l[i];
        }
        l[k] = NULL;
}

int layer_path_make_absolute(const char *path, char **ret) {
        _cleanup_free_ char *cwd = NULL, *joined = NULL;

        if (path[0] == '/')
                return layer_path_simplify(path, ret);
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return -errno;
        joined = layer_path_join(cwd, path);
        if (!joined)
                return -ENOMEM;
        return layer_path_simplify(joined, ret);
}
