/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include "digest/digest-map.h"

typedef struct Slot {
        Digest key;
        void *value;
        bool used;
} Slot;

struct DigestMap {
        Slot *slots;
        size_t n_slots; /* a power of two */
        size_t n_used;
        void (*free_value)(void *);
};

static size_t slot_of(const DigestMap *m, const Digest *d) {
        uint64_t h;
        memcpy(&h, d->bytes, sizeof h);
        return (size_t) h & (m->n_slots - 1);
}

int digest_map_new(void (*free_value)(void *), DigestMap **ret) {
        DigestMap *m = calloc(1, sizeof(DigestMap));
        if (!m)
                return -ENOMEM;
        m->n_slots = 16;
        m->slots = calloc(m->n_slots, sizeof(Slot));
        if (!m->slots) {
                free(m);
                return -ENOMEM;
        }
        m->free_value = free_value;
        *ret = m;
        return 0;
}

DigestMap *digest_map_free(DigestMap *m) {
        if (!m)
                return NULL;
        if (m->free_value)
                for (size_t i = 0; i < m->n_slots; i++)
                        if (m->slots[i].used)
                                m->free_value(m->slots[i].value);
        free(m->slots);
        free(m);
        return NULL;
}

static Slot *find(const DigestMap *m, const Digest *d) {
        for (size_t i = slot_of(m, d);; i = (i + 1) & (m->n_slots - 1)) {
                Slot *s = &m->slots[i];
                if (!s->used || digest_equal(&s->key, d))
                        return s;
        }
}

static int grow(DigestMap *m) {
        Slot *old = m->slots;
        size_t n_old = m->n_slots;

        m->slots = calloc(n_old * 2, sizeof(Slot));
        if (!m->slots) {
                m->slots = old;
                return -ENOMEM;
        }
        m->n_slots = n_old * 2;
        for (size_t i = 0; i < n_old; i++)
                if (old[i].used)
                        *find(m, &old[i].key) = old[i];
        free(old);
        return 0;
}

int digest_map_put(DigestMap *m, const Digest *d, void *value) {
        if ((m->n_used + 1) * 4 > m->n_slots * 3) {
                int r = grow(m);
                if (r < 0)
                        return r;
        }
        Slot *s = find(m, d);
        if (s->used) {
                if (m->free_value && s->value != value)
                        m->free_value(s->value);
                s->value = value;
                return 0;
        }
        *s = (Slot) { .key = *d, .value = value, .used = true };
        m->n_used++;
        return 1;
}

void *digest_map_get(const DigestMap *m, const Digest *d) {
        Slot *s = find(m, d);
        return s->used ? s->value : NULL;
}

void *digest_map_remove(DigestMap *m, const Digest *d) {
        size_t mask = m->n_slots - 1, hole, j;
        Slot *s = find(m, d);
        void *value;

        if (!s->used)
                return NULL;
        value = s->value;
        /* Backward shift: each later slot of the probe run moves into the hole unless its home slot lies
         * cyclically in (hole, slot], where it would no longer be found. */
        hole = j = (size_t) (s - m->slots);
        for (;;) {
                j = (j + 1) & mask;
                if (!m->slots[j].used)
                        break;
                size_t home = slot_of(m, &m->slots[j].key);
                bool stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
                if (stays)
                        continue;
                m->slots[hole] = m->slots[j];
                hole = j;
        }
        m->slots[hole] = (Slot) {};
        m->n_used--;
        return value;
}

size_t digest_map_size(const DigestMap *m) {
        return m->n_used;
}
