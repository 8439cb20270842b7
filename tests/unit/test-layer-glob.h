/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* For the unit tests of the runners' layers: what a glob layer takes. */

#include <stdbool.h>
#include <stdlib.h>

#include "basic/tests.h"
#include "layer/layer-glob.h"
#include "layer/layer-template.h"
#include "spec/spec.h"

/* Whether the layer's glob, once its templates are expanded as the layer code does, takes path. */
static inline bool layer_takes(const LayerSpec *l, const char *path) {
        _cleanup_(path_glob_freep) PathGlob *g = NULL;
        _cleanup_free_ char *pattern = NULL, *message = NULL;

        ASSERT_OK(layer_template_expand(l->path, NULL, /* escape_glob= */ true, &pattern, &message));
        ASSERT_OK(path_glob_new(pattern, &g));
        return ASSERT_OK(path_glob_match(g, path)) > 0;
}
