/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _pure_ __attribute__((pure))
#define _public_ __attribute__((visibility("default")))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define STRINGIFY(x) #x
#define XSTRINGIFY(x) STRINGIFY(x)

#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* The structure of type that holds *ptr as its member. */
#define container_of(ptr, type, member) ((type *) ((char *) (ptr) - offsetof(type, member)))

/* Take ownership of a pointer or fd: returns it and leaves the null form behind. */
#define TAKE_GENERIC(var, type, nullvalue)                      \
        ({                                                      \
                type *_pvar_ = &(var);                          \
                type _var_ = *_pvar_;                           \
                type _nullvalue_ = nullvalue;                   \
                *_pvar_ = _nullvalue_;                          \
                _var_;                                          \
        })
#define TAKE_PTR(p) TAKE_GENERIC(p, typeof(p), NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -EBADF)

/* Turn a libc "-1 and errno" result into a negative errno; pass other values through. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EINVAL;
}
#define RET_NERRNO(expr)                                        \
        ({                                                      \
                typeof(expr) _r_ = (expr);                      \
                _r_ < 0 ? negative_errno() : (int) _r_;         \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                 \
        static inline void func##p(type *p) {                   \
                if (*p)                                         \
                        func(*p);                               \
        }

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)

static inline const char *strempty(const char *s) {
        return s ?: "";
}
static inline const char *strna(const char *s) {
        return s ?: "n/a";
}
static inline bool isempty(const char *s) {
        return !s || !s[0];
}

/* Returns a pointer just past the prefix, or NULL. */
static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

/* Whether path is dir or under it, both absolute and without "." or ".." elements ("/a/b" is under "/a",
 * "/ab" is not; everything is under "/"). */
static inline bool path_is_under(const char *path, const char *dir) {
        const char *rest = startswith(path, dir);
        return rest && (*rest == '/' || *rest == 0 || (rest > path && rest[-1] == '/'));
}

/* Turn a boolean result into an errno-style error: for the places where a libc call returns NULL on
 * ENOMEM. */
#define SYNTHETIC_ERRNO(e) (-abs(e))

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

#define IN_SET(x, first, ...)                                                   \
        ({                                                                      \
                bool _found_ = false;                                           \
                typeof(first) _arr_[] = { first, __VA_ARGS__ };                 \
                for (size_t _i_ = 0; _i_ < ELEMENTSOF(_arr_); _i_++)            \
                        if ((x) == _arr_[_i_]) {                                \
                                _found_ = true;                                 \
                                break;                                          \
                        }                                                       \
                _found_;                                                        \
        })
