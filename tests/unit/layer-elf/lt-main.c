/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The test programs: each needs liblta.so or liblc.so, which both define lta(). */
int lta(void);
int main(void) {
        return lta() == 42 ? 0 : 1;
}
