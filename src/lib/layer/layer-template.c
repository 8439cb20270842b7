/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include "basic/string-util.h"
#include "layer/layer-template.h"
#include "layer/layer-util.h"

static const char *lookup(char * const *vars, const char *name, size_t n) {
        STRV_FOREACH(v, vars)
                if (strncmp(*v, name, n) == 0 && (*v)[n] == '=')
                        return *v + n + 1;
        return NULL;
}

int layer_template_expand(const char *s, char * const *vars, bool escape_glob, char **ret,
                          char **reterr_message) {
        TextBuf b = {};
        char *out = NULL;
        int r;

        for (const char *p = s; *p;) {
                if (*p != '<') {
                        const char *e = strchrnul(p, '<');
                        textbuf_append_len(&b, p, (size_t) (e - p));
                        p = e;
                } else if (p[1] == '<') {
                        textbuf_append_char(&b, '<');
                        p += 2;
                } else {
                        const char *e = strchr(p + 1, '>');
                        if (!e) {
                                textbuf_done(&b);
                                return layer_error(reterr_message, EINVAL,
                                                   "Unclosed '<' at position %zu in '%s' ('<<' is a '<')",
                                                   (size_t) (p - s) + 1, s);
                        }
                        size_t n = (size_t) (e - p - 1);
                        const char *value = lookup(vars, p + 1, n);
                        if (!value) {
                                textbuf_done(&b);
                                return layer_error(reterr_message, ENOENT,
                                                   "Unknown template variable '<%.*s>' in '%s'",
                                                   (int) n, p + 1, s);
                        }
                        for (const char *v = value; *v; v++) {
                                if (escape_glob && strchr("*?[]{}\\,", *v))
                                        textbuf_append_char(&b, '\\');
                                textbuf_append_char(&b, *v);
                        }
                        p = e + 1;
                }
                if (b.len > LAYER_TEMPLATE_MAX) {
                        textbuf_done(&b);
                        return layer_error(reterr_message, E2BIG,
                                           "Expansion of '%s' is longer than %d bytes", s,
                                           LAYER_TEMPLATE_MAX);
                }
        }
        r = textbuf_steal(&b, &out);
        if (r < 0)
                return r;
        *ret = out;
        return 0;
}
