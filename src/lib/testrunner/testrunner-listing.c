/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "testrunner/testrunner-listing.h"
#include "toml/toml.h"

/* ---- lifecycle ---- */

static void listing_case_done(TestListingCase *c) {
        c->name = mfree(c->name);
}

static void listing_cases_free(TestListingCase *cases, size_t n) {
        for (size_t i = 0; i < n; i++)
                listing_case_done(&cases[i]);
        free(cases);
}

static void listing_artifact_done(TestListingArtifact *a) {
        a->name = mfree(a->name);
        listing_cases_free(a->cases, a->n_cases);
        a->cases = NULL;
        a->n_cases = 0;
}

static void listing_package_done(TestListingPackage *p) {
        p->name = mfree(p->name);
        for (size_t i = 0; i < p->n_artifacts; i++)
                listing_artifact_done(&p->artifacts[i]);
        p->artifacts = mfree(p->artifacts);
        p->n_artifacts = 0;
}

int test_listing_new(TestListing **ret) {
        TestListing *l = calloc(1, sizeof(TestListing));
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

TestListing *test_listing_free(TestListing *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_packages; i++)
                listing_package_done(&l->packages[i]);
        free(l->packages);
        return mfree(l);
}

/* ---- lookups ---- */

static int case_name_compare(const void *a, const void *b) {
        return strcmp(((const TestListingCase *) a)->name, ((const TestListingCase *) b)->name);
}

static TestListingPackage *find_package(const TestListing *l, const char *name) {
        for (size_t i = 0; i < l->n_packages; i++)
                if (streq(l->packages[i].name, name))
                        return &l->packages[i];
        return NULL;
}

static TestListingArtifact *find_artifact(const TestListingPackage *p, const char *name) {
        for (size_t i = 0; i < p->n_artifacts; i++)
                if (streq(p->artifacts[i].name, name))
                        return &p->artifacts[i];
        return NULL;
}

static TestListingCase *find_case(const TestListingArtifact *a, const char *name) {
        TestListingCase key = { .name = (char *) name };

        if (a->n_cases == 0)
                return NULL;
        return bsearch(&key, a->cases, a->n_cases, sizeof(TestListingCase), case_name_compare);
}

const TestListingCase *test_listing_find(const TestListing *l, const char *package, const char *artifact,
                                         const char *name) {
        const TestListingPackage *p = find_package(l, package);
        const TestListingArtifact *a = p ? find_artifact(p, artifact) : NULL;
        return a ? find_case(a, name) : NULL;
}

/* Append an element named name (strdup'ed) to *array of *n elements of size bytes, zeroed otherwise. */
static void *append_named(void **array, size_t *n, size_t size, const char *name) {
        char *copy = strdup(name);
        if (!copy)
                return NULL;
        char *a = reallocarray(*array, *n + 1, size);
        if (!a) {
                free(copy);
                return NULL;
        }
        *array = a;
        char *e = a + *n * size;
        memset(e, 0, size);
        *(char **) e = copy; /* name is the first member of packages, artifacts and cases */
        (*n)++;
        return e;
}

static int get_artifact(TestListing *l, const char *package, const char *artifact,
                        TestListingArtifact **ret) {
        TestListingPackage *p = find_package(l, package);
        if (!p) {
                p = append_named((void **) &l->packages, &l->n_packages, sizeof(TestListingPackage),
                                 package);
                if (!p)
                        return -ENOMEM;
        }
        TestListingArtifact *a = find_artifact(p, artifact);
        if (!a) {
                a = append_named((void **) &p->artifacts, &p->n_artifacts, sizeof(TestListingArtifact),
                                 artifact);
                if (!a)
                        return -ENOMEM;
        }
        *ret = a;
        return 0;
}

/* ---- updating ---- */

int test_listing_update_artifact(TestListing *l, const char *package, const char *artifact,
                                 char * const *cases) {
        TestListingArtifact *a;
        size_t n = strv_length(cases), k = 0;
        int r;

        r = get_artifact(l, package, artifact, &a);
        if (r < 0)
                return r;
        if (l->n_cases - a->n_cases + n > TEST_LISTING_CASES_MAX)
                return -E2BIG;

        TestListingCase *new_cases = calloc(MAX(n, 1u), sizeof(TestListingCase));
        if (!new_cases)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const TestListingCase *old = find_case(a, cases[i]);

                new_cases[k] = old ? *old : (TestListingCase) {};
                new_cases[k].name = strdup(cases[i]);
                if (!new_cases[k].name) {
                        listing_cases_free(new_cases, k);
                        return -ENOMEM;
                }
                k++;
        }
        qsort(new_cases, k, sizeof(TestListingCase), case_name_compare);
        /* Drop duplicates. */
        size_t m = 0;
        for (size_t i = 0; i < k; i++) {
                if (m > 0 && streq(new_cases[m - 1].name, new_cases[i].name)) {
                        listing_case_done(&new_cases[i]);
                        continue;
                }
                new_cases[m++] = new_cases[i];
        }

        l->n_cases = l->n_cases - a->n_cases + m;
        listing_cases_free(a->cases, a->n_cases);
        a->cases = new_cases;
        a->n_cases = m;
        return 0;
}

static void case_push_duration(TestListingCase *c, usec_t duration) {
        if (c->n_durations == TEST_LISTING_DURATIONS_MAX) {
                memmove(c->durations, c->durations + 1, (TEST_LISTING_DURATIONS_MAX - 1) * sizeof(usec_t));
                c->n_durations--;
        }
        c->durations[c->n_durations++] = duration;
}

int test_listing_record(TestListing *l, const char *package, const char *artifact, const char *name,
                        usec_t duration, bool failed) {
        TestListingArtifact *a;
        TestListingCase *c;
        int r;

        r = get_artifact(l, package, artifact, &a);
        if (r < 0)
                return r;
        c = find_case(a, name);
        if (!c) {
                if (l->n_cases >= TEST_LISTING_CASES_MAX)
                        return -E2BIG;
                /* Rare (a case that was not listed): insert in place. */
                c = append_named((void **) &a->cases, &a->n_cases, sizeof(TestListingCase), name);
                if (!c)
                        return -ENOMEM;
                l->n_cases++;
                size_t i = a->n_cases - 1;
                TestListingCase new_case = *c;
                while (i > 0 && strcmp(a->cases[i - 1].name, name) > 0) {
                        a->cases[i] = a->cases[i - 1];
                        i--;
                }
                a->cases[i] = new_case;
                c = &a->cases[i];
        }
        case_push_duration(c, duration);
        c->failed = failed;
        return 0;
}

/* ---- ordering ---- */

usec_t test_listing_case_estimate(const TestListingCase *c) {
        usec_t sum = 0;

        if (!c || c->n_durations == 0)
                return 0;
        for (unsigned i = 0; i < c->n_durations; i++)
                sum += c->durations[i];
        return sum / c->n_durations;
}

bool test_listing_case_is_urgent(const TestListingCase *c) {
        return !c || c->n_durations == 0 || c->failed;
}

int test_listing_case_compare(const TestListingCase *a, const TestListingCase *b) {
        bool ua = test_listing_case_is_urgent(a), ub = test_listing_case_is_urgent(b);
        usec_t ea = test_listing_case_estimate(a), eb = test_listing_case_estimate(b);

        if (ua != ub)
                return ua ? -1 : 1;
        if (ea != eb)
                return ea > eb ? -1 : 1;
        return 0;
}

/* ---- reading ---- */

static int parse_duration(const TomlValue *v, usec_t *ret) {
        double d;

        if (v->type == TOML_FLOAT)
                d = v->floating;
        else if (v->type == TOML_INTEGER)
                d = (double) v->integer;
        else
                return -EBADMSG;
        /* At most about 136 years, so that sums of a few stay far from overflowing. */
        if (!(d >= 0 && d <= (double) UINT32_MAX))
                return -EBADMSG;
        *ret = (usec_t) (d * (double) USEC_PER_SEC + 0.5);
        return 0;
}

static bool name_ok(const TomlKeyValue *kv) {
        return kv->key_len == strlen(kv->key);
}

static int parse_case(const TomlKeyValue *kv, TestListingCase *c) {
        const TomlValue *v = kv->value;

        if (v->type != TOML_TABLE || !name_ok(kv))
                return -EBADMSG;
        for (size_t i = 0; i < v->table.n; i++) {
                const TomlKeyValue *f = &v->table.items[i];

                if (streq(f->key, "durations")) {
                        if (f->value->type != TOML_ARRAY)
                                return -EBADMSG;
                        /* Keep the newest (last) ones. */
                        size_t n = f->value->array.n;
                        size_t first = n > TEST_LISTING_DURATIONS_MAX ? n - TEST_LISTING_DURATIONS_MAX : 0;
                        c->n_durations = 0;
                        for (size_t j = 0; j < n; j++) {
                                usec_t u;
                                int r = parse_duration(f->value->array.items[j], &u);
                                if (r < 0)
                                        return r;
                                if (j >= first)
                                        c->durations[c->n_durations++] = u;
                        }
                } else if (streq(f->key, "failed")) {
                        if (f->value->type != TOML_BOOL)
                                return -EBADMSG;
                        c->failed = f->value->boolean;
                } else
                        return -EBADMSG;
        }
        return 0;
}

/* A table whose only key is `key`, holding a table; *ret = NULL when the key is absent. */
static int sub_table(const TomlValue *v, const char *key, const TomlValue **ret) {
        if (v->type != TOML_TABLE)
                return -EBADMSG;
        if (v->table.n == 0) {
                *ret = NULL;
                return 0;
        }
        if (v->table.n != 1 || !streq(v->table.items[0].key, key) ||
            v->table.items[0].value->type != TOML_TABLE)
                return -EBADMSG;
        *ret = v->table.items[0].value;
        return 0;
}

static int parse_artifact(TestListing *l, TestListingArtifact *a, const TomlValue *v) {
        const TomlValue *cases;
        int r;

        r = sub_table(v, "cases", &cases);
        if (r < 0 || !cases)
                return r;
        if (cases->table.n > TEST_LISTING_CASES_MAX - l->n_cases)
                return -E2BIG;
        a->cases = calloc(MAX(cases->table.n, 1u), sizeof(TestListingCase));
        if (!a->cases)
                return -ENOMEM;
        for (size_t i = 0; i < cases->table.n; i++) {
                const TomlKeyValue *kv = &cases->table.items[i];
                TestListingCase *c = &a->cases[a->n_cases];

                r = parse_case(kv, c);
                if (r < 0)
                        return r;
                c->name = strdup(kv->key);
                if (!c->name)
                        return -ENOMEM;
                a->n_cases++;
                l->n_cases++;
        }
        qsort(a->cases, a->n_cases, sizeof(TestListingCase), case_name_compare);
        return 0;
}

static int parse_packages(TestListing *l, const TomlValue *packages) {
        int r;

        if (packages->type != TOML_TABLE)
                return -EBADMSG;
        for (size_t i = 0; i < packages->table.n; i++) {
                const TomlKeyValue *pkv = &packages->table.items[i];
                const TomlValue *artifacts;
                TestListingPackage *p;

                if (!name_ok(pkv))
                        return -EBADMSG;
                r = sub_table(pkv->value, "artifacts", &artifacts);
                if (r < 0)
                        return r;
                p = append_named((void **) &l->packages, &l->n_packages, sizeof(TestListingPackage),
                                 pkv->key);
                if (!p)
                        return -ENOMEM;
                for (size_t j = 0; artifacts && j < artifacts->table.n; j++) {
                        const TomlKeyValue *akv = &artifacts->table.items[j];
                        TestListingArtifact *a;

                        if (!name_ok(akv))
                                return -EBADMSG;
                        a = append_named((void **) &p->artifacts, &p->n_artifacts,
                                         sizeof(TestListingArtifact), akv->key);
                        if (!a)
                                return -ENOMEM;
                        r = parse_artifact(l, a, akv->value);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int listing_from_toml(const TomlValue *root, TestListing **ret) {
        _cleanup_(test_listing_freep) TestListing *l = NULL;
        const TomlKeyValue *version = toml_table_get(root, "version");
        int r;

        if (!version || version->value->type != TOML_INTEGER)
                return -EBADMSG;
        if (version->value->integer != TEST_LISTING_VERSION)
                return -EPROTO;
        r = test_listing_new(&l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < root->table.n; i++) {
                const TomlKeyValue *kv = &root->table.items[i];

                if (streq(kv->key, "packages"))
                        r = parse_packages(l, kv->value);
                else if (!streq(kv->key, "version"))
                        r = -EBADMSG;
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int test_listing_parse(const char *text, size_t size, TestListing **ret) {
        _cleanup_(toml_value_freep) TomlValue *root = NULL;
        int r;

        r = toml_parse(text, size, &root, /* reterr= */ NULL);
        if (r < 0)
                return r;
        return listing_from_toml(root, ret);
}

int test_listing_load(const char *path, TestListing **ret, int *ret_problem) {
        _cleanup_(toml_value_freep) TomlValue *root = NULL;
        TestListing *l = NULL;
        int r;

        r = toml_parse_file(path, &root, /* reterr= */ NULL);
        if (r >= 0)
                r = listing_from_toml(root, &l);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                *ret = l;
                return 0;
        }
        int problem = r;
        r = test_listing_new(&l);
        if (r < 0)
                return r;
        *ret = l;
        if (problem == -ENOENT)
                return 0;
        if (ret_problem)
                *ret_problem = problem;
        return 1;
}

/* ---- writing ---- */

static bool utf8_is_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                unsigned n, c;

                if (*p < 0x80) {
                        p++;
                        continue;
                }
                if ((*p & 0xe0) == 0xc0) {
                        n = 1;
                        c = *p & 0x1f;
                } else if ((*p & 0xf0) == 0xe0) {
                        n = 2;
                        c = *p & 0x0f;
                } else if ((*p & 0xf8) == 0xf0) {
                        n = 3;
                        c = *p & 0x07;
                } else
                        return false;
                p++;
                for (unsigned i = 0; i < n; i++, p++) {
                        if ((*p & 0xc0) != 0x80)
                                return false;
                        c = (c << 6) | (*p & 0x3f);
                }
                /* Overlong forms, surrogates, and beyond U+10FFFF. */
                if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) || (n == 3 && c < 0x10000) ||
                    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                        return false;
        }
        return true;
}

/* A TOML basic string. */
static void append_quoted(TextBuf *b, const char *s) {
        textbuf_append_char(b, '"');
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                switch (*p) {
                case '"':
                        textbuf_append(b, "\\\"");
                        break;
                case '\\':
                        textbuf_append(b, "\\\\");
                        break;
                case '\b':
                        textbuf_append(b, "\\b");
                        break;
                case '\t':
                        textbuf_append(b, "\\t");
                        break;
                case '\n':
                        textbuf_append(b, "\\n");
                        break;
                case '\f':
                        textbuf_append(b, "\\f");
                        break;
                case '\r':
                        textbuf_append(b, "\\r");
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                textbuf_appendf(b, "\\u%04X", *p);
                        else
                                textbuf_append_char(b, (char) *p);
                }
        textbuf_append_char(b, '"');
}

static void append_header(TextBuf *b, const char *package, const char *artifact, const char *name) {
        textbuf_append(b, "\n[packages.");
        append_quoted(b, package);
        if (artifact) {
                textbuf_append(b, ".artifacts.");
                append_quoted(b, artifact);
                textbuf_append(b, ".cases");
        } else
                textbuf_append(b, ".artifacts");
        if (name) {
                textbuf_append_char(b, '.');
                append_quoted(b, name);
        }
        textbuf_append(b, "]\n");
}

int test_listing_format(const TestListing *l, char **ret) {
        TextBuf b = {};

        textbuf_appendf(&b,
                        "# The test runners' record of the last runs: durations (seconds, oldest first)\n"
                        "# and outcomes, used to order the next run.  Rewritten after every run.\n"
                        "version = %d\n", TEST_LISTING_VERSION);
        for (size_t i = 0; i < l->n_packages; i++) {
                const TestListingPackage *p = &l->packages[i];

                if (!utf8_is_valid(p->name))
                        continue;
                if (p->n_artifacts == 0)
                        append_header(&b, p->name, /* artifact= */ NULL, /* name= */ NULL);
                for (size_t j = 0; j < p->n_artifacts; j++) {
                        const TestListingArtifact *a = &p->artifacts[j];

                        if (!utf8_is_valid(a->name))
                                continue;
                        if (a->n_cases == 0)
                                append_header(&b, p->name, a->name, /* name= */ NULL);
                        for (size_t k = 0; k < a->n_cases; k++) {
                                const TestListingCase *c = &a->cases[k];

                                if (!utf8_is_valid(c->name))
                                        continue;
                                append_header(&b, p->name, a->name, c->name);
                                textbuf_append(&b, "durations = [");
                                for (unsigned d = 0; d < c->n_durations; d++)
                                        textbuf_appendf(&b, "%s%" PRIu64 ".%06" PRIu64, d > 0 ? ", " : "",
                                                        c->durations[d] / USEC_PER_SEC,
                                                        c->durations[d] % USEC_PER_SEC);
                                textbuf_appendf(&b, "]\nfailed = %s\n", c->failed ? "true" : "false");
                        }
                }
        }
        return textbuf_steal(&b, ret);
}

int test_listing_save(const TestListing *l, const char *path) {
        _cleanup_free_ char *text = NULL, *dir = NULL;
        int r;

        r = test_listing_format(l, &text);
        if (r < 0)
                return r;
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        r = mkdir_p(dirname(dir), /* mode= */ 0755);
        if (r < 0)
                return r;
        return write_file_atomic(path, text, strlen(text), 0644);
}
