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
