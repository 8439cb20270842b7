/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <endian.h>

#include "basic/string-util.h"
#include "manifest/manifest.h"

static const char manifest_magic[8] = { 'M', 'A', 'E', 'L', 'M', 'N', 'F', 'S' };

int manifest_new(Manifest **ret) {
        Manifest *m = calloc(1, sizeof(Manifest));
        if (!m)
                return -ENOMEM;
        *ret = m;
        return 0;
}

static void manifest_entry_done(ManifestEntry *e) {
        e->path = mfree(e->path);
        e->target = mfree(e->target);
}

Manifest *manifest_free(Manifest *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_entries; i++)
                manifest_entry_done(&m->entries[i]);
        free(m->entries);
        free(m);
        return NULL;
}

int manifest_normalize_path(const char *path, char **ret) {
        TextBuf b = {};
        char *s = NULL;
        size_t n = 0;

        for (const char *p = path; *p;) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                const char *e = strchrnul(p, '/');
                size_t l = (size_t) (e - p);
                if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.')) {
                        textbuf_done(&b);
                        return -EINVAL;
                }
                if (n++ > 0)
                        textbuf_append_char(&b, '/');
                textbuf_append_len(&b, p, l);
                p = e;
        }
        if (n == 0 || b.len > MANIFEST_MAX_PATH) {
                textbuf_done(&b);
                return -EINVAL;
        }
        int r = textbuf_steal(&b, &s);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

static int entry_compare(const void *a, const void *b) {
        return strcmp(((const ManifestEntry *) a)->path, ((const ManifestEntry *) b)->path);
}

static bool entry_type_valid(int t) {
        return IN_SET(t, MANIFEST_FILE, MANIFEST_DIRECTORY, MANIFEST_SYMLINK);
}

int manifest_add(Manifest *m, const ManifestEntry *e) {
        _cleanup_free_ char *path = NULL, *target = NULL;
        int r;

        if (!entry_type_valid(e->type) || (e->mode & ~(mode_t) 07777))
                return -EINVAL;
        if (e->type == MANIFEST_SYMLINK && isempty(e->target))
                return -EINVAL;
        if (m->n_entries >= MANIFEST_MAX_ENTRIES)
                return -E2BIG;

        r = manifest_normalize_path(e->path, &path);
        if (r < 0)
                return r;

        if (e->type == MANIFEST_SYMLINK) {
                target = strdup(e->target);
                if (!target)
                        return -ENOMEM;
        }

        ManifestEntry *n = reallocarray(m->entries, m->n_entries + 1, sizeof(ManifestEntry));
        if (!n)
                return -ENOMEM;
        m->entries = n;
        m->entries[m->n_entries++] = (ManifestEntry) {
                .type = e->type,
                .mode = e->mode,
                .size = e->type == MANIFEST_FILE ? e->size : 0,
                .mtime = e->mtime,
                .path = TAKE_PTR(path),
                .digest = e->digest,
                .target = TAKE_PTR(target),
        };
        return 0;
}

static void put_u8(TextBuf *b, uint8_t v) {
        textbuf_append_len(b, (const char *) &v, 1);
}

static void put_u16(TextBuf *b, uint16_t v) {
        v = htole16(v);
        textbuf_append_len(b, (const char *) &v, sizeof v);
}

static void put_u32(TextBuf *b, uint32_t v) {
        v = htole32(v);
        textbuf_append_len(b, (const char *) &v, sizeof v);
}

static void put_u64(TextBuf *b, uint64_t v) {
        v = htole64(v);
        textbuf_append_len(b, (const char *) &v, sizeof v);
}

int manifest_serialize(Manifest *m, char **ret, size_t *ret_size) {
        TextBuf b = {};
        char *data = NULL;

        /* An empty manifest has no array at all, and qsort() must not be given NULL. */
        if (m->n_entries > 0)
                qsort(m->entries, m->n_entries, sizeof(ManifestEntry), entry_compare);
        for (size_t i = 1; i < m->n_entries; i++)
                if (streq(m->entries[i - 1].path, m->entries[i].path))
                        return -EEXIST;

        textbuf_append_len(&b, manifest_magic, sizeof manifest_magic);
        put_u32(&b, MANIFEST_VERSION);
        put_u32(&b, (uint32_t) m->n_entries);
        for (size_t i = 0; i < m->n_entries; i++) {
                const ManifestEntry *e = &m->entries[i];
                size_t pl = strlen(e->path);

                put_u8(&b, (uint8_t) e->type);
                put_u32(&b, (uint32_t) e->mode);
                put_u64(&b, e->size);
                put_u64(&b, (uint64_t) e->mtime);
                put_u16(&b, (uint16_t) pl);
                textbuf_append_len(&b, e->path, pl);
                if (e->type == MANIFEST_FILE)
                        textbuf_append_len(&b, (const char *) e->digest.bytes, DIGEST_SIZE);
                else if (e->type == MANIFEST_SYMLINK) {
                        size_t tl = strlen(e->target);
                        if (tl > UINT16_MAX) {
                                textbuf_done(&b);
                                return -E2BIG;
                        }
                        put_u16(&b, (uint16_t) tl);
                        textbuf_append_len(&b, e->target, tl);
                }
        }

        size_t size = b.len;
        int r = textbuf_steal(&b, &data);
        if (r < 0)
                return r;
        *ret = data;
        *ret_size = size;
        return 0;
}

typedef struct Reader {
        const uint8_t *p, *end;
} Reader;

static bool take(Reader *r, void *out, size_t n) {
        if ((size_t) (r->end - r->p) < n)
                return false;
        memcpy(out, r->p, n);
        r->p += n;
        return true;
}

static bool take_string(Reader *r, size_t n, char **ret) {
        if ((size_t) (r->end - r->p) < n || memchr(r->p, 0, n))
                return false;
        *ret = strndup((const char *) r->p, n);
        r->p += n;
        return true;
}

int manifest_parse(const void *data, size_t size, Manifest **ret) {
        _cleanup_(manifest_freep) Manifest *m = NULL;
        Reader rd = { .p = data, .end = (const uint8_t *) data + size };
        char magic[sizeof manifest_magic];
        uint32_t version, n;
        int r;

        if (!take(&rd, magic, sizeof magic) || memcmp(magic, manifest_magic, sizeof magic) != 0)
                return -EBADMSG;
        if (!take(&rd, &version, 4) || le32toh(version) != MANIFEST_VERSION)
                return -EBADMSG;
        if (!take(&rd, &n, 4))
                return -EBADMSG;
        n = le32toh(n);
        if (n > MANIFEST_MAX_ENTRIES)
                return -EBADMSG;
        /* Each entry takes at least 24 bytes: don't let a lying count make us allocate. */
        if ((uint64_t) n * 24 > size)
                return -EBADMSG;

        r = manifest_new(&m);
        if (r < 0)
                return r;
        m->entries = calloc(n ?: 1, sizeof(ManifestEntry));
        if (!m->entries)
                return -ENOMEM;

        for (uint32_t i = 0; i < n; i++) {
                ManifestEntry *e = &m->entries[i];
                uint8_t type;
                uint32_t mode;
                uint64_t sz, mtime;
                uint16_t pl, tl;
                _cleanup_free_ char *raw = NULL;

                if (!take(&rd, &type, 1) || !take(&rd, &mode, 4) || !take(&rd, &sz, 8) ||
                    !take(&rd, &mtime, 8) || !take(&rd, &pl, 2))
                        return -EBADMSG;
                if (!entry_type_valid(type) || le32toh(mode) > 07777)
                        return -EBADMSG;
                if (!take_string(&rd, le16toh(pl), &raw))
                        return -EBADMSG;
                if (!raw)
                        return -ENOMEM;

                /* The stored path must already be in normal form. */
                r = manifest_normalize_path(raw, &e->path);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 || !streq(e->path, raw))
                        return -EBADMSG;
                m->n_entries++;

                e->type = type;
                e->mode = le32toh(mode);
                e->size = le64toh(sz);
                e->mtime = (int64_t) le64toh(mtime);
                if (type == MANIFEST_FILE) {
                        if (!take(&rd, e->digest.bytes, DIGEST_SIZE))
                                return -EBADMSG;
                } else {
                        if (e->size != 0)
                                return -EBADMSG;
                        if (type == MANIFEST_SYMLINK) {
                                if (!take(&rd, &tl, 2) || le16toh(tl) == 0)
                                        return -EBADMSG;
                                if (!take_string(&rd, le16toh(tl), &e->target))
                                        return -EBADMSG;
                                if (!e->target)
                                        return -ENOMEM;
                        }
                }
        }
        if (rd.p != rd.end)
                return -EBADMSG;

        /* Paths are unique: sort a copy of the order and compare neighbours. */
        _cleanup_free_ ManifestEntry *sorted = calloc(n ?: 1, sizeof(ManifestEntry));
        if (!sorted)
                return -ENOMEM;
        memcpy(sorted, m->entries, n * sizeof(ManifestEntry));
        qsort(sorted, n, sizeof(ManifestEntry), entry_compare);
        for (uint32_t i = 1; i < n; i++)
                if (streq(sorted[i - 1].path, sorted[i].path))
                        return -EBADMSG;

        *ret = TAKE_PTR(m);
        return 0;
}
