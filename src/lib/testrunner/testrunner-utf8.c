/* SPDX-License-Identifier: MIT OR Apache-2.0 */

#include "testrunner/testrunner-utf8.h"

static size_t utf8_invalid(const unsigned char *u, uint32_t *ret) {
        *ret = 0x110000 + u[0];
        return 1;
}

size_t utf8_decode(const char *s, size_t n, uint32_t *ret) {
        const unsigned char *u = (const unsigned char *) s;
        size_t len;
        uint32_t c, min;

        if (u[0] < 0x80) {
                *ret = u[0];
                return 1;
        }
        /* The length, the lead byte's payload and the smallest character that needs that length. */
        if ((u[0] & 0xE0) == 0xC0) {
                len = 2;
                c = u[0] & 0x1F;
                min = 0x80;
        } else if ((u[0] & 0xF0) == 0xE0) {
                len = 3;
                c = u[0] & 0x0F;
                min = 0x800;
        } else if ((u[0] & 0xF8) == 0xF0) {
                len = 4;
                c = u[0] & 0x07;
                min = 0x10000;
        } else
                return utf8_invalid(u, ret);
        if (len > n)
                return utf8_invalid(u, ret);
        for (size_t i = 1; i < len; i++) {
                if ((u[i] & 0xC0) != 0x80)
                        return utf8_invalid(u, ret);
                c = (c << 6) | (u[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                return utf8_invalid(u, ret);
        *ret = c;
        return len;
}

unsigned utf8_column(const char *s, size_t pos) {
        unsigned column = 1;
        uint32_t c;

        for (size_t i = 0; i < pos; column++)
                i += utf8_decode(s + i, pos - i, &c);
        return column;
}

unsigned utf8_char_columns(uint32_t c) {
        /* Ranges of wide characters, after Markus Kuhn's wcwidth(), widened to whole emoji blocks. */
        static const struct {
                uint32_t first, last;
        } wide[] = {
                { 0x1100, 0x115F },   { 0x231A, 0x231B },   { 0x2329, 0x232A },   { 0x23E9, 0x23FA },
                { 0x25FD, 0x25FE },   { 0x2600, 0x27BF },   { 0x2B1B, 0x2B1C },   { 0x2B50, 0x2B55 },
                { 0x2E80, 0x303E },   { 0x3040, 0xA4CF },   { 0xA960, 0xA97F },   { 0xAC00, 0xD7A3 },
                { 0xF900, 0xFAFF },   { 0xFE10, 0xFE19 },   { 0xFE30, 0xFE6F },   { 0xFF00, 0xFF60 },
                { 0xFFE0, 0xFFE6 },   { 0x16FE0, 0x18CFF }, { 0x1AFF0, 0x1B2FF }, { 0x1F000, 0x1FAFF },
                { 0x20000, 0x2FFFD }, { 0x30000, 0x3FFFD },
        };

        if (c < wide[0].first)
                return 1;
        for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]) && wide[i].first <= c; i++)
                if (c <= wide[i].last)
                        return 2;
        return 1;
}

size_t utf8_prefix_columns(const char *s, size_t n, size_t max_columns, size_t *ret_columns) {
        size_t i = 0, columns = 0;

        while (i < n) {
                uint32_t c;
                size_t l = utf8_decode(s + i, n - i, &c);
                unsigned w = utf8_char_columns(c);

                if (columns + w > max_columns)
                        break;
                columns += w;
                i += l;
        }
        if (ret_columns)
                *ret_columns = columns;
        return i;
}
