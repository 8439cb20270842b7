/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include "basic/tests.h"
#include "testrunner/testrunner-listing.h"

int main(void) {
        return 0;
}
