/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include "basic/prioq.h"

typedef struct PrioqItem {
        void *data;
        unsigned *idx;
} PrioqItem;

struct Prioq {
        PrioqItem *items;
        unsigned n, allocated;
        prioq_compare_func_t compare;
};

int prioq_new(prioq_compare_func_t compare, Prioq **ret) {
        Prioq *q = calloc(1, sizeof(Prioq));
        if (!q)
                return -ENOMEM;
        q->compare = compare;
        *ret = q;
        return 0;
}

Prioq *prioq_free(Prioq *q) {
        if (!q)
                return NULL;
        free(q->items);
        free(q);
        return NULL;
}

size_t prioq_size(const Prioq *q) {
        return q->n;
}

static void set(Prioq *q, unsigned i, PrioqItem item) {
        q->items[i] = item;
        if (item.idx)
                *item.idx = i;
}

static unsigned shift_up(Prioq *q, unsigned i) {
        PrioqItem item = q->items[i];
        while (i > 0) {
                unsigned parent = (i - 1) / 2;
                if (q->compare(item.data, q->items[parent].data) >= 0)
                        break;
                set(q, i, q->items[parent]);
                i = parent;
        }
        set(q, i, item);
        return i;
}

static void shift_down(Prioq *q, unsigned i) {
        PrioqItem item = q->items[i];
        for (;;) {
                unsigned l = 2 * i + 1, r = l + 1, best = i;
                const void *best_data = item.data;
                if (l < q->n && q->compare(q->items[l].data, best_data) < 0) {
                        best = l;
                        best_data = q->items[l].data;
                }
                if (r < q->n && q->compare(q->items[r].data, best_data) < 0)
                        best = r;
                if (best == i)
                        break;
                set(q, i, q->items[best]);
                i = best;
        }
        set(q, i, item);
}

int prioq_put(Prioq *q, void *data, unsigned *idx) {
        if (q->n >= q->allocated) {
                unsigned n = q->allocated ? q->allocated * 2 : 16;
                if (n <= q->allocated)
                        return -E2BIG;
                PrioqItem *items = reallocarray(q->items, n, sizeof(PrioqItem));
                if (!items)
                        return -ENOMEM;
                q->items = items;
                q->allocated = n;
        }
        set(q, q->n, (PrioqItem) { .data = data, .idx = idx });
        shift_up(q, q->n++);
        return 0;
}

void *prioq_peek(const Prioq *q) {
        return q->n > 0 ? q->items[0].data : NULL;
}

static void remove_at(Prioq *q, unsigned i) {
        if (q->items[i].idx)
                *q->items[i].idx = PRIOQ_IDX_NULL;
        q->n--;
        if (i == q->n)
                return;
        set(q, i, q->items[q->n]);
        /* The moved element may belong above or below. */
        if (shift_up(q, i) == i)
                shift_down(q, i);
}

void *prioq_pop(Prioq *q) {
        if (q->n == 0)
                return NULL;
        void *data = q->items[0].data;
        remove_at(q, 0);
        return data;
}

int prioq_remove(Prioq *q, void *data, unsigned *idx) {
        if (idx) {
                if (*idx == PRIOQ_IDX_NULL || *idx >= q->n || q->items[*idx].data != data)
                        return 0;
                remove_at(q, *idx);
                return 1;
        }
        for (unsigned i = 0; i < q->n; i++)
                if (q->items[i].data == data) {
                        remove_at(q, i);
                        return 1;
                }
        return 0;
}
