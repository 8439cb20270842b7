/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* libltb.so: a library found only through someone's search path (see meson.build). */
int ltb(void);
int ltb(void) {
        return 41;
}
