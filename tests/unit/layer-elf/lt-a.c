/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* liblta.so and liblc.so: libraries that need libltb.so. */
int ltb(void);
int lta(void);
int lta(void) {
        return ltb() + 1;
}
