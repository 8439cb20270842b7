/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Template variables in the paths of layer specs: "<build-dir>/foo" with build-dir = "/proj/target/debug"
 * gives "/proj/target/debug/foo".  "<<" is a literal "<"; a ">" outside a variable is literal. */

#include <stdbool.h>

#include "basic/macro.h"

#define LAYER_TEMPLATE_MAX 65536 /* bytes of an expanded template */

/* vars: a strv of "name=value" (may be NULL).  With escape_glob, each value is backslash-escaped so that the
 * glob metacharacters in it match literally.  Errors, with *reterr_message naming the variable or position:
 * -ENOENT for an unknown variable, -EINVAL for an unclosed "<", -E2BIG past LAYER_TEMPLATE_MAX. */
int layer_template_expand(const char *s, char * const *vars, bool escape_glob, char **ret,
                          char **reterr_message);
