/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* A priority queue: a binary heap of pointers.  Each element may keep its own position (an unsigned the
 * queue updates), so that it can be removed in O(log n). */

#include <stddef.h>

#include "basic/macro.h"

/* Negative if a comes out before b. */
typedef int (*prioq_compare_func_t)(const void *a, const void *b);

typedef struct Prioq Prioq;

#define PRIOQ_IDX_NULL ((unsigned) -1)

int prioq_new(prioq_compare_func_t compare, Prioq **ret);
/* Frees the queue, not the elements. */
Prioq *prioq_free(Prioq *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(Prioq *, prioq_free);

/* idx (may be NULL) is where the element keeps its position; it is PRIOQ_IDX_NULL once the element is
 * out. */
int prioq_put(Prioq *q, void *data, unsigned *idx);
void *prioq_peek(const Prioq *q);
void *prioq_pop(Prioq *q);
/* Removes data, found through its idx (or by a scan without one).  Returns 1 if it was there. */
int prioq_remove(Prioq *q, void *data, unsigned *idx);
size_t prioq_size(const Prioq *q);
