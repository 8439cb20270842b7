/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Helpers for the unit tests: each test is one executable, exit 0 = pass, 77 = skip. */

#undef NDEBUG
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"

#define EXIT_TEST_SKIP 77

static inline const char *test_errno_name(int r) {
        const char *n = strerrorname_np(abs(r));
        return n ?: "unknown errno";
}

#define ASSERT_OK(expr)                                                                         \
        ({                                                                                      \
                typeof(expr) _r_ = (expr);                                                      \
                if (_r_ < 0) {                                                                  \
                        fprintf(stderr, "%s:%d: '%s' failed: -%s\n", __FILE__, __LINE__, #expr, \
                                test_errno_name((int) _r_));                                    \
                        abort();                                                                \
                }                                                                               \
                _r_;                                                                            \
        })

#define ASSERT_ERROR(expr, e)                                                                   \
        ({                                                                                      \
                int _r_ = (expr);                                                               \
                if (_r_ != -(e)) {                                                              \
                        fprintf(stderr, "%s:%d: '%s' returned %d (%s), expected -%s\n", __FILE__, \
                                __LINE__, #expr, _r_, _r_ < 0 ? test_errno_name(_r_) : "success", \
                                test_errno_name(e));                                            \
                        abort();                                                                \
                }                                                                               \
        })

#define ASSERT_TRUE(expr)                                                                       \
        ({                                                                                      \
                if (!(expr)) {                                                                  \
                        fprintf(stderr, "%s:%d: '%s' is false\n", __FILE__, __LINE__, #expr);   \
                        abort();                                                                \
                }                                                                               \
        })
#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))

#define ASSERT_EQ(a, b)                                                                         \
        ({                                                                                      \
                intmax_t _a_ = (intmax_t) (a), _b_ = (intmax_t) (b);                            \
                if (_a_ != _b_) {                                                               \
                        fprintf(stderr, "%s:%d: '%s == %s' failed: %jd != %jd\n", __FILE__,      \
                                __LINE__, #a, #b, _a_, _b_);                                    \
                        abort();                                                                \
                }                                                                               \
        })

#define ASSERT_STREQ(a, b)                                                                      \
        ({                                                                                      \
                const char *_a_ = (a), *_b_ = (b);                                              \
                if (!streq_ptr(_a_, _b_)) {                                                     \
                        fprintf(stderr, "%s:%d: '%s == %s' failed: \"%s\" != \"%s\"\n", __FILE__, \
                                __LINE__, #a, #b, _a_ ?: "(null)", _b_ ?: "(null)");            \
                        abort();                                                                \
                }                                                                               \
        })

#define ASSERT_CONTAINS(haystack, needle)                                                      \
        ({                                                                                      \
                const char *_h_ = (haystack), *_n_ = (needle);                                  \
                if (!_h_ || !strstr(_h_, _n_)) {                                                \
                        fprintf(stderr, "%s:%d: '%s' lacks '%s'\n", __FILE__, __LINE__,          \
                                _h_ ?: "(null)", _n_);                                          \
                        abort();                                                                \
                }                                                                               \
        })

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                               \
        ({                                                                                      \
                fprintf(stderr, "=== %s\n", #name);                                             \
                test_##name();                                                                  \
        })
