/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "basic/fd-util.h"
#include "basic/string-table.h"
#include "basic/string-util.h"
#include "testrunner/testrunner-report.h"
#include "testrunner/testrunner-utf8.h"

static const char *const test_outcome_table[_TEST_OUTCOME_MAX] = {
        [TEST_OUTCOME_OK] = "OK",
        [TEST_OUTCOME_FAIL] = "FAIL",
        [TEST_OUTCOME_TIMEOUT] = "TIMEOUT",
        [TEST_OUTCOME_ERROR] = "ERROR",
        [TEST_OUTCOME_IGNORED] = "IGNORED",
        [TEST_OUTCOME_NOT_RUN] = "NOT_RUN",
};
DEFINE_STRING_TABLE_LOOKUP(test_outcome, TestOutcome);

static const char *const test_event_type_table[_TEST_EVENT_TYPE_MAX] = {
        [TEST_EVENT_QUEUED] = "queued",
        [TEST_EVENT_STARTED] = "started",
        [TEST_EVENT_FINISHED] = "finished",
};
DEFINE_STRING_TABLE_LOOKUP(test_event_type, TestEventType);

static bool outcome_is_failure(TestOutcome o) {
        return IN_SET(o, TEST_OUTCOME_FAIL, TEST_OUTCOME_TIMEOUT, TEST_OUTCOME_ERROR);
}

/* ---- text that is not ours ---- */

typedef enum TextMode {
        TEXT_XML_ATTRIBUTE,
        TEXT_XML_BODY,
        TEXT_JSON,
        TEXT_TERMINAL,
        TEXT_TERMINAL_LINES, /* TEXT_TERMINAL keeping newline and tab */
} TextMode;

#define REPLACEMENT_CHARACTER "\xef\xbf\xbd" /* U+FFFD */

/* What character c (0x110000 and above: a byte of invalid UTF-8) becomes in mode, or NULL to keep it. */
static const char *text_replacement(uint32_t c, TextMode mode) {
        if (c > 0x10FFFF)
                return REPLACEMENT_CHARACTER;

        switch (mode) {
        case TEXT_XML_ATTRIBUTE:
        case TEXT_XML_BODY:
                switch (c) {
                case '&':
                        return "&amp;";
                case '<':
                        return "&lt;";
                case '>':
                        return "&gt;";
                case '"':
                        return "&quot;";
                case '\r':
                        return "&#13;";
                case '\t':
                        return mode == TEXT_XML_ATTRIBUTE ? "&#9;" : NULL;
                case '\n':
                        return mode == TEXT_XML_ATTRIBUTE ? "&#10;" : NULL;
                }
                if (c < 0x20 || c == 0xFFFE || c == 0xFFFF)
                        return REPLACEMENT_CHARACTER;
                return NULL;
        case TEXT_JSON:
                return NULL;
        case TEXT_TERMINAL:
        case TEXT_TERMINAL_LINES:
                if (mode == TEXT_TERMINAL_LINES && (c == '\n' || c == '\t'))
                        return NULL;
                /* C0, DEL and C1 (which some terminals take as CSI and friends). */
                if (c < 0x20 || (c >= 0x7F && c < 0xA0))
                        return REPLACEMENT_CHARACTER;
                return NULL;
        }
        return NULL;
}

static void text_append(TextBuf *b, const char *s, size_t n, TextMode mode) {
        size_t kept = 0; /* start of the run of bytes copied as they are */

        for (size_t i = 0; i < n;) {
                const char *e;
                uint32_t c;
                size_t l;

                l = utf8_decode(s + i, n - i, &c);
                e = text_replacement(c, mode);
                if (e) {
                        textbuf_append_len(b, s + kept, i - kept);
                        textbuf_append(b, e);
                        kept = i + l;
                }
                i += l;
        }
        textbuf_append_len(b, s + kept, n - kept);
}

static void text_append_str(TextBuf *b, const char *s, TextMode mode) {
        text_append(b, strempty(s), strlen(strempty(s)), mode);
}

void test_text_append_terminal(TextBuf *b, const char *s, size_t n, bool keep_lines) {
        assert(b);
        assert(s || n == 0);

        text_append(b, s ?: "", n, keep_lines ? TEXT_TERMINAL_LINES : TEXT_TERMINAL);
}

const char *test_duration_format(usec_t d, char buf[static TEST_DURATION_STRING_MAX]) {
        (void) snprintf(buf, TEST_DURATION_STRING_MAX, "%" PRIu64 ".%03" PRIu64,
                        d / USEC_PER_SEC, d % USEC_PER_SEC / USEC_PER_MSEC);
        return buf;
}

/* ---- the report ---- */

int test_report_new(TestReport **ret) {
        TestReport *r;

        assert(ret);

        r = calloc(1, sizeof(TestReport));
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

void test_case_result_done(TestCaseResult *c) {
        c->package = mfree(c->package);
        c->name = mfree(c->name);
        c->message = mfree(c->message);
        c->out.data = mfree(c->out.data);
        c->err.data = mfree(c->err.data);
}

TestReport *test_report_free(TestReport *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_cases; i++)
                test_case_result_done(&r->cases[i]);
        free(r->cases);
        return mfree(r);
}

TestOutput test_output_capped(const TestOutput *o) {
        size_t size = o->data ? MIN(o->size, (size_t) TEST_REPORT_OUTPUT_MAX) : 0;

        return (TestOutput) {
                .data = (char *) o->data,
                .size = size,
                .truncated = o->truncated + ((o->data ? o->size : 0) - size),
        };
}

static int output_copy(const TestOutput *o, TestOutput *ret) {
        TestOutput c = test_output_capped(o);
        char *data;

        data = malloc(c.size + 1);
        if (!data)
                return -ENOMEM;
        if (c.size > 0)
                memcpy(data, c.data, c.size);
        data[c.size] = 0;
        c.data = data;
        *ret = c;
        return 0;
}

static int strdup_null(const char *s, char **ret) {
        char *copy = NULL;

        if (s) {
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
        }
        *ret = copy;
        return 0;
}

int test_case_result_copy(const TestCaseResult *c, TestCaseResult *ret) {
        _cleanup_(test_case_result_done) TestCaseResult copy = {};
        int k;

        k = strdup_null(c->package, &copy.package);
        if (k >= 0)
                k = strdup_null(c->name, &copy.name);
        if (k >= 0)
                k = strdup_null(c->message, &copy.message);
        if (k >= 0)
                k = output_copy(&c->out, &copy.out);
        if (k >= 0)
                k = output_copy(&c->err, &copy.err);
        if (k < 0)
                return k;
        copy.outcome = c->outcome;
        copy.duration = c->duration;
        *ret = copy;
        copy = (TestCaseResult) {};
        return 0;
}

int test_report_add(TestReport *r, const TestCaseResult *c) {
        int k;

        assert(r);
        assert(c);

        if (!c->name || c->outcome < 0 || c->outcome >= _TEST_OUTCOME_MAX)
                return -EINVAL;
        if (c->outcome == TEST_OUTCOME_ERROR && isempty(c->message))
                return -EINVAL;
        if (r->n_cases >= TEST_REPORT_CASES_MAX)
                return -E2BIG;

        if (r->n_cases >= r->n_allocated) {
                size_t n = MAX(r->n_allocated * 2, (size_t) 64);
                TestCaseResult *cases = reallocarray(r->cases, n, sizeof(TestCaseResult));

                if (!cases)
                        return -ENOMEM;
                r->cases = cases;
                r->n_allocated = n;
        }

        k = test_case_result_copy(c, &r->cases[r->n_cases]);
        if (k < 0)
                return k;
        r->n_cases++;
        r->counts[c->outcome]++;
        return 0;
}

int test_report_exit_status(const TestReport *r) {
        assert(r);

        return r->counts[TEST_OUTCOME_OK] + r->counts[TEST_OUTCOME_IGNORED] == r->n_cases ? 0 : 1;
}

/* ---- the simple UI ---- */

void test_case_append_name(TextBuf *b, const char *package, const char *name) {
        assert(b);

        if (!isempty(package)) {
                text_append_str(b, package, TEXT_TERMINAL);
                textbuf_append_char(b, ' ');
        }
        text_append_str(b, name, TEXT_TERMINAL);
}

int test_case_format_line(const TestCaseResult *c, char **ret) {
        _cleanup_(textbuf_done) TextBuf b = {};
        char d[TEST_DURATION_STRING_MAX];

        assert(c);
        assert(ret);

        if (!c->name || c->outcome < 0 || c->outcome >= _TEST_OUTCOME_MAX ||
            c->outcome == TEST_OUTCOME_NOT_RUN)
                return -EINVAL;

        test_case_append_name(&b, c->package, c->name);
        textbuf_appendf(&b, " ... %s (%ss)", test_outcome_to_string(c->outcome),
                        test_duration_format(c->duration, d));
        return textbuf_steal(&b, ret);
}

/* What a failed case's output says when it needed what the default container leaves out, and what gives it:
 * said once after the failures, with how many cases it was. */
static const struct {
        const char *symptoms[3]; /* any of them in its stdout or stderr, ignoring case */
        const char *what, *hint;
} container_hints[] = {
        { { "network is unreachable", "cannot assign requested address", NULL },
          "could not use the network",
          "a case's network namespace has lo down unless a directive sets network = \"loopback\" (lo up, "
          "still with no way out)" },
        /* glibc's (EAI_AGAIN, also through Rust and Python), Rust's own words, Go's */
        { { "temporary failure in name resolution", "failed to lookup address information", "no such host" },
          "could not resolve a host name",
          "a case's container has no /etc/hosts and no way to a name server: for \"localhost\", a directive "
          "adds a layer with /etc/hosts (added_layers = [{ paths = [\"/etc/hosts\"] }]) and network = "
          "\"loopback\"" },
        { { "executable file not found in $path", NULL, NULL },
          "ran a command that is not in the container",
          "only the test binary and its libraries are there unless directives add layers or mounts (the "
          "host's /usr, read-only, say) and PATH" },
        /* Go's time.LoadLocation, Python's zoneinfo, Rust's jiff */
        { { "unknown time zone", "no time zone found with key", "in time zone database" },
          "found no time zone data",
          "the container has no /usr/share/zoneinfo unless a directive binds the host's, read-only, on a "
          "stub directory (see the README)" },
        { { "read-only file system", NULL, NULL },
          "wrote to a read-only file system",
          "a case's root is read-only; it may write under /tmp, or a directive sets "
          "enable_writable_file_system = true" },
};

static bool output_contains(const TestOutput *o, const char *needle) {
        size_t n = strlen(needle);

        for (size_t i = 0; o->data && n <= o->size && i <= o->size - n; i++)
                if (strncasecmp(o->data + i, needle, n) == 0)
                        return true;
        return false;
}

static void append_container_hints(TextBuf *b, const TestReport *r) {
        for (size_t h = 0; h < ELEMENTSOF(container_hints); h++) {
                size_t n = 0;

                for (size_t i = 0; i < r->n_cases; i++) {
                        const TestCaseResult *c = &r->cases[i];
                        if (c->outcome != TEST_OUTCOME_FAIL)
                                continue;
                        for (size_t k = 0; k < ELEMENTSOF(container_hints[h].symptoms); k++) {
                                const char *sym = container_hints[h].symptoms[k];
                                if (sym && (output_contains(&c->out, sym) || output_contains(&c->err, sym))) {
                                        n++;
                                        break;
                                }
                        }
                }
                if (n > 0)
                        textbuf_appendf(b, "Hint: %zu failed case%s %s: %s.\n", n, n == 1 ? "" : "s",
                                        container_hints[h].what, container_hints[h].hint);
        }
}

int test_report_format_summary(const TestReport *r, char **ret) {
        _cleanup_(textbuf_done) TextBuf b = {};

        assert(r);
        assert(ret);

        textbuf_appendf(&b, "Summary: %zu cases: %zu passed, %zu failed, %zu timed out, %zu errors, "
                        "%zu ignored, %zu not run\n",
                        r->n_cases, r->counts[TEST_OUTCOME_OK], r->counts[TEST_OUTCOME_FAIL],
                        r->counts[TEST_OUTCOME_TIMEOUT], r->counts[TEST_OUTCOME_ERROR],
                        r->counts[TEST_OUTCOME_IGNORED], r->counts[TEST_OUTCOME_NOT_RUN]);

        if (r->build_failed)
                textbuf_append(&b, "The build, or the listing of a test binary, failed (see the errors "
                               "above): the cases of what was not built and listed did not run.\n");
        if (r->counts[TEST_OUTCOME_FAIL] + r->counts[TEST_OUTCOME_TIMEOUT] +
            r->counts[TEST_OUTCOME_ERROR] == 0)
                return textbuf_steal(&b, ret);

        textbuf_append(&b, "Failures:\n");
        for (size_t i = 0; i < r->n_cases; i++) {
                const TestCaseResult *c = &r->cases[i];

                if (!outcome_is_failure(c->outcome))
                        continue;
                textbuf_appendf(&b, "    %s ", test_outcome_to_string(c->outcome));
                test_case_append_name(&b, c->package, c->name);
                if (!isempty(c->message)) {
                        textbuf_append(&b, ": ");
                        text_append_str(&b, c->message, TEXT_TERMINAL);
                }
                textbuf_append_char(&b, '\n');
        }
        append_container_hints(&b, r);
        return textbuf_steal(&b, ret);
}

/* ---- JUnit XML ---- */

typedef struct JUnitCounts {
        size_t tests, failures, errors, skipped;
        usec_t time;
} JUnitCounts;

static void junit_counts_add(JUnitCounts *n, const TestCaseResult *c) {
        n->tests++;
        n->failures += IN_SET(c->outcome, TEST_OUTCOME_FAIL, TEST_OUTCOME_TIMEOUT);
        n->errors += c->outcome == TEST_OUTCOME_ERROR;
        n->skipped += IN_SET(c->outcome, TEST_OUTCOME_IGNORED, TEST_OUTCOME_NOT_RUN);
        n->time += c->duration;
}

static void junit_append_counts(TextBuf *b, const JUnitCounts *n) {
        char d[TEST_DURATION_STRING_MAX];

        textbuf_appendf(b, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%s\"",
                        n->tests, n->failures, n->errors, n->skipped, test_duration_format(n->time, d));
}

static void junit_append_attribute(TextBuf *b, const char *attribute, const char *value) {
        textbuf_appendf(b, " %s=\"", attribute);
        text_append_str(b, value, TEXT_XML_ATTRIBUTE);
        textbuf_append_char(b, '"');
}

static void junit_append_output(TextBuf *b, const char *element, const TestOutput *o) {
        TestOutput c = test_output_capped(o);

        if (c.size == 0 && c.truncated == 0)
                return;
        textbuf_appendf(b, "      <%s>", element);
        text_append(b, c.data, c.size, TEXT_XML_BODY);
        if (c.truncated > 0)
                textbuf_appendf(b, "\n[%" PRIu64 " more bytes not kept]\n", c.truncated);
        textbuf_appendf(b, "</%s>\n", element);
}

static void junit_append_case(TextBuf *b, const TestCaseResult *c) {
        char d[TEST_DURATION_STRING_MAX];

        textbuf_append(b, "    <testcase");
        junit_append_attribute(b, "name", c->name);
        junit_append_attribute(b, "classname", c->package);
        textbuf_appendf(b, " time=\"%s\">\n", test_duration_format(c->duration, d));

        switch (c->outcome) {
        case TEST_OUTCOME_OK:
                break;
        case TEST_OUTCOME_FAIL:
        case TEST_OUTCOME_TIMEOUT:
                textbuf_append(b, "      <failure");
                junit_append_attribute(b, "message", c->message ?:
                                       c->outcome == TEST_OUTCOME_FAIL ? "failed" : "timed out");
                textbuf_appendf(b, " type=\"%s\"/>\n", test_outcome_to_string(c->outcome));
                break;
        case TEST_OUTCOME_ERROR:
                textbuf_append(b, "      <error");
                junit_append_attribute(b, "message", c->message);
                textbuf_append(b, " type=\"ERROR\"/>\n");
                break;
        case TEST_OUTCOME_IGNORED:
        case TEST_OUTCOME_NOT_RUN:
                textbuf_append(b, "      <skipped");
                junit_append_attribute(b, "message",
                                       c->outcome == TEST_OUTCOME_IGNORED ? "ignored" : "not run");
                textbuf_append(b, "/>\n");
                break;
        case _TEST_OUTCOME_MAX:
        case _TEST_OUTCOME_INVALID:
                assert(false); /* test_report_add() refuses them */
        }

        junit_append_output(b, "system-out", &c->out);
        junit_append_output(b, "system-err", &c->err);
        textbuf_append(b, "    </testcase>\n");
}

static int junit_compare(const void *a, const void *b, void *userdata) {
        const TestReport *r = userdata;
        size_t i = *(const size_t *) a, j = *(const size_t *) b;
        int k;

        k = strcmp(strempty(r->cases[i].package), strempty(r->cases[j].package));
        if (k != 0)
                return k;
        return i < j ? -1 : i > j;
}

int test_report_format_junit(const TestReport *r, const char *name, char **ret) {
        _cleanup_(textbuf_done) TextBuf b = {};
        _cleanup_free_ size_t *order = NULL;
        JUnitCounts total = {};

        assert(r);
        assert(ret);

        /* Group the cases by package, keeping the order in which they finished. */
        order = calloc(MAX(r->n_cases, (size_t) 1), sizeof(size_t));
        if (!order)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_cases; i++) {
                order[i] = i;
                junit_counts_add(&total, &r->cases[i]);
        }
        qsort_r(order, r->n_cases, sizeof(size_t), junit_compare, (void *) r);

        textbuf_append(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
        if (name)
                junit_append_attribute(&b, "name", name);
        junit_append_counts(&b, &total);
        textbuf_append(&b, ">\n");

        for (size_t i = 0, end; i < r->n_cases; i = end) {
                const char *package = strempty(r->cases[order[i]].package);
                JUnitCounts n = {};

                for (end = i; end < r->n_cases; end++) {
                        if (!streq(strempty(r->cases[order[end]].package), package))
                                break;
                        junit_counts_add(&n, &r->cases[order[end]]);
                }

                textbuf_append(&b, "  <testsuite");
                junit_append_attribute(&b, "name", package);
                junit_append_counts(&b, &n);
                textbuf_append(&b, ">\n");
                for (size_t j = i; j < end; j++)
                        junit_append_case(&b, &r->cases[order[j]]);
                textbuf_append(&b, "  </testsuite>\n");
        }
        textbuf_append(&b, "</testsuites>\n");
        return textbuf_steal(&b, ret);
}

int test_report_write_junit(const TestReport *r, const char *name, const char *path) {
        _cleanup_free_ char *text = NULL;
        int k;

        assert(path);

        k = test_report_format_junit(r, name, &text);
        if (k < 0)
                return k;
        return write_file_atomic(path, text, strlen(text), 0644);
}

/* ---- JSON events ---- */

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* Adds value (taking it) as key; value NULL means an allocation failed. */
static int json_add(json_object *o, const char *key, json_object *value) {
        if (!value)
                return -ENOMEM;
        if (json_object_object_add(o, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

/* A JSON string of the n bytes at s, invalid UTF-8 replaced. */
static json_object *json_string_lossy(const char *s, size_t n) {
        _cleanup_(textbuf_done) TextBuf b = {};

        text_append(&b, s ?: "", s ? n : 0, TEXT_JSON);
        if (b.oom || b.len > INT_MAX)
                return NULL;
        return json_object_new_string_len(b.data ?: "", (int) b.len);
}

static json_object *json_string_lossy_or_null(const char *s, bool *oom) {
        json_object *o;

        if (isempty(s))
                return NULL;
        o = json_string_lossy(s, strlen(s));
        if (!o)
                *oom = true;
        return o;
}

static int json_add_output(json_object *o, const char *key, const char *key_truncated,
                           const TestOutput *out) {
        TestOutput c = test_output_capped(out);
        int k;

        k = json_add(o, key, json_string_lossy(c.data, c.size));
        if (k < 0)
                return k;
        return json_add(o, key_truncated,
                        json_object_new_int64((int64_t) MIN(c.truncated, (uint64_t) INT64_MAX)));
}

int test_event_format(TestEventType t, const char *package, const char *name, const TestCaseResult *c,
                      char **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        char d[TEST_DURATION_STRING_MAX];
        json_object *p;
        const char *s;
        bool oom = false;
        char *line;
        int k;

        assert(ret);

        if (t < 0 || t >= _TEST_EVENT_TYPE_MAX || !name)
                return -EINVAL;
        if (t == TEST_EVENT_FINISHED && (!c || c->outcome < 0 || c->outcome >= _TEST_OUTCOME_MAX))
                return -EINVAL;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        k = json_add(o, "event", json_object_new_string(test_event_type_to_string(t)));
        if (k < 0)
                return k;
        /* json_object_object_add() takes NULL as JSON null. */
        p = json_string_lossy_or_null(package, &oom);
        if (oom || json_object_object_add(o, "package", p) < 0) {
                json_object_put(p);
                return -ENOMEM;
        }
        k = json_add(o, "name", json_string_lossy(name, strlen(name)));
        if (k < 0)
                return k;

        if (t == TEST_EVENT_FINISHED) {
                k = json_add(o, "outcome", json_object_new_string(test_outcome_to_string(c->outcome)));
                if (k < 0)
                        return k;
                /* The duration as written, not as a double rounds it. */
                test_duration_format(c->duration, d);
                k = json_add(o, "duration",
                             json_object_new_double_s((double) c->duration / USEC_PER_SEC, d));
                if (k < 0)
                        return k;
                k = json_add_output(o, "stdout", "stdout_truncated", &c->out);
                if (k < 0)
                        return k;
                k = json_add_output(o, "stderr", "stderr_truncated", &c->err);
                if (k < 0)
                        return k;
                if (!isempty(c->message)) {
                        k = json_add(o, "message", json_string_lossy(c->message, strlen(c->message)));
                        if (k < 0)
                                return k;
                }
        }

        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        line = strjoin(s, "\n");
        if (!line)
                return -ENOMEM;
        *ret = line;
        return 0;
}

struct TestEventWriter {
        int fd;
};

int test_event_writer_open(const char *path, TestEventWriter **ret) {
        _cleanup_close_ int fd = -EBADF;
        TestEventWriter *w;

        assert(path);
        assert(ret);

        fd = RET_NERRNO(open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644));
        if (fd < 0)
                return fd;
        w = calloc(1, sizeof(TestEventWriter));
        if (!w)
                return -ENOMEM;
        w->fd = TAKE_FD(fd);
        *ret = w;
        return 0;
}

TestEventWriter *test_event_writer_free(TestEventWriter *w) {
        if (!w)
                return NULL;
        safe_close(w->fd);
        return mfree(w);
}

static int event_write(TestEventWriter *w, TestEventType t, const char *package, const char *name,
                       const TestCaseResult *c) {
        _cleanup_free_ char *line = NULL;
        int k;

        assert(w);

        k = test_event_format(t, package, name, c, &line);
        if (k < 0)
                return k;
        /* One write per line: a reader following the file never sees half a line from us. */
        return loop_write(w->fd, line, strlen(line));
}

int test_event_writer_queued(TestEventWriter *w, const char *package, const char *name) {
        return event_write(w, TEST_EVENT_QUEUED, package, name, /* c= */ NULL);
}

int test_event_writer_started(TestEventWriter *w, const char *package, const char *name) {
        return event_write(w, TEST_EVENT_STARTED, package, name, /* c= */ NULL);
}

int test_event_writer_finished(TestEventWriter *w, const TestCaseResult *c) {
        assert(c);

        return event_write(w, TEST_EVENT_FINISHED, c->package, c->name, c);
}
