/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "basic/macro.h"
#include "basic/parse-util.h"

int safe_atou64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        for (; *s; s++) {
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                unsigned d = (unsigned) (*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

int safe_atoi64(const char *s, int64_t *ret) {
        bool neg = false;
        uint64_t u;
        int r;

        if (!s)
                return -EINVAL;
        if (*s == '-' || *s == '+') {
                neg = *s == '-';
                s++;
        }
        r = safe_atou64(s, &u);
        if (r < 0)
                return r;
        if (neg) {
                if (u > (uint64_t) INT64_MAX + 1)
                        return -ERANGE;
                *ret = u == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) u;
        } else {
                if (u > INT64_MAX)
                        return -ERANGE;
                *ret = (int64_t) u;
        }
        return 0;
}

int safe_atou(const char *s, unsigned *ret) {
        uint64_t u;
        int r = safe_atou64(s, &u);
        if (r < 0)
                return r;
        if (u > UINT_MAX)
                return -ERANGE;
        *ret = (unsigned) u;
        return 0;
}

int parse_boolean(const char *s, bool *ret) {
        static const char *const yes[] = { "true", "yes", "on", "1" },
                          *const no[] = { "false", "no", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(s, yes[i])) {
                        *ret = true;
                        return 0;
                }
                if (streq(s, no[i])) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } units[] = {
                { "B", 1 },
                { "KB", UINT64_C(1000) },
                { "MB", UINT64_C(1000) * 1000 },
                { "GB", UINT64_C(1000) * 1000 * 1000 },
                { "TB", UINT64_C(1000) * 1000 * 1000 * 1000 },
                { "KiB", UINT64_C(1) << 10 },
                { "MiB", UINT64_C(1) << 20 },
                { "GiB", UINT64_C(1) << 30 },
                { "TiB", UINT64_C(1) << 40 },
        };
        uint64_t v = 0, factor = 1;
        const char *p = s;

        if (!s || !isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                unsigned d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p) {
                bool found = false;
                /* Units are matched exactly as documented, but case-insensitively, as users write "1 gb"
                 * too. */
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (strcasecmp(p, units[i].suffix) == 0) {
                                factor = units[i].factor;
                                found = true;
                                break;
                        }
                if (!found)
                        return -EINVAL;
        }
        if (factor > 1 && v > UINT64_MAX / factor)
                return -ERANGE;
        *ret = v * factor;
        return 0;
}
