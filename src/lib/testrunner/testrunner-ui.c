/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fd-util.h"
#include "basic/string-table.h"
#include "basic/string-util.h"
#include "testrunner/testrunner-ui.h"
#include "testrunner/testrunner-utf8.h"

static const char *const test_ui_kind_table[_TEST_UI_KIND_MAX] = {
        [TEST_UI_SIMPLE] = "simple",
        [TEST_UI_QUIET] = "quiet",
        [TEST_UI_FANCY] = "fancy",
};
DEFINE_STRING_TABLE_LOOKUP(test_ui_kind, TestUiKind);

int test_ui_kind_resolve(const char *ui, bool quiet, bool is_terminal, TestUiKind *ret) {
        TestUiKind k;

        assert(ret);

        if (!ui || streq(ui, "auto"))
                k = is_terminal ? TEST_UI_FANCY : TEST_UI_SIMPLE;
        else {
                k = test_ui_kind_from_string(ui);
                if (k < 0)
                        return k;
        }
        *ret = quiet ? TEST_UI_QUIET : k;
        return 0;
}

/* Estimates beyond a day are taken as a day: sums over TEST_REPORT_CASES_MAX cases cannot overflow. */
#define ESTIMATE_MAX (24 * 3600 * USEC_PER_SEC)
/* Sizes beyond these are taken as these: they bound what one redraw formats. */
#define COLUMNS_MAX 4096U
#define ROWS_MAX 1024U
/* A progress bar narrower than this (without its brackets) is left out; the status line's is at most
 * BAR_STATUS_MAX wide, fancy's takes the whole width. */
#define BAR_MIN 10U
#define BAR_STATUS_MAX 40U

/* A case queued or running. */
typedef struct UiCase {
        uint64_t id;
        usec_t estimate; /* 0 = unknown */
        usec_t started;  /* when running */
        char *label;     /* fancy only: "package name", terminal-safe */
        bool used;       /* in CaseMap: the slot holds a case */
} UiCase;

/* The queued cases by id: open addressing with linear probing, at most half full. */
typedef struct CaseMap {
        UiCase *slots;
        size_t n_slots; /* 0 or a power of two */
        size_t n_used;
} CaseMap;

struct TestUi {
        TestUiKind kind; /* fancy only on a terminal: otherwise it is simple */
        int fd;
        bool is_terminal;
        unsigned columns, rows;
        char *phase; /* terminal-safe */

        CaseMap queued;
        UiCase *running; /* in the order they started */
        size_t n_running, n_running_allocated;

        size_t n_total; /* queued, or finished without having been queued */
        size_t n_finished;
        size_t counts[_TEST_OUTCOME_MAX];

        /* Fancy's progress: the estimates of the queued cases, and of those of them that finished. */
        usec_t known_sum, done_known_sum;
        size_t n_known, n_unknown, n_done_unknown;
        usec_t first_started; /* USEC_INFINITY until a case started */
        usec_t now;           /* the latest time we were told */

        /* What is on the screen below the printed lines: the status line or live region, and its lines. */
        TextBuf shown;
        unsigned shown_lines;
        bool dirty;          /* an event may have changed it */
        usec_t next_change;  /* fancy: when an elapsed time shown changes next */
        bool finished;       /* test_ui_finish() was called: draw nothing more */
        bool broken_pipe;    /* the reader went away: write nothing more */
};

/* ---- the queued cases ---- */

static size_t case_map_home(const CaseMap *m, uint64_t id) {
        /* The splitmix64 finalizer: engines may well hand out consecutive ids. */
        id = (id ^ (id >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        id = (id ^ (id >> 27)) * UINT64_C(0x94d049bb133111eb);
        id ^= id >> 31;
        return (size_t) id & (m->n_slots - 1);
}

static UiCase *case_map_find(CaseMap *m, uint64_t id) {
        if (m->n_slots == 0)
                return NULL;
        for (size_t i = case_map_home(m, id);; i = (i + 1) & (m->n_slots - 1)) {
                if (!m->slots[i].used)
                        return NULL;
                if (m->slots[i].id == id)
                        return &m->slots[i];
        }
}

static void case_map_place(CaseMap *m, const UiCase *c) {
        size_t i = case_map_home(m, c->id);

        while (m->slots[i].used)
                i = (i + 1) & (m->n_slots - 1);
        m->slots[i] = *c;
        m->slots[i].used = true;
        m->n_used++;
}

/* Adds c (taking its label). -EEXIST: a case with its id is queued already. */
static int case_map_put(CaseMap *m, const UiCase *c) {
        if (case_map_find(m, c->id))
                return -EEXIST;

        if ((m->n_used + 1) * 2 > m->n_slots) {
                CaseMap bigger = { .n_slots = MAX(m->n_slots * 2, (size_t) 64) };

                bigger.slots = calloc(bigger.n_slots, sizeof(UiCase));
                if (!bigger.slots)
                        return -ENOMEM;
                for (size_t i = 0; i < m->n_slots; i++)
                        if (m->slots[i].used)
                                case_map_place(&bigger, &m->slots[i]);
                free(m->slots);
                *m = bigger;
        }
        case_map_place(m, c);
        return 0;
}

/* Removes the case in slot s (from case_map_find()) and returns it. */
static UiCase case_map_take(CaseMap *m, UiCase *s) {
        size_t mask = m->n_slots - 1, hole = (size_t) (s - m->slots);
        UiCase c = *s;

        /* Backward-shift deletion: a later member of the probe run moves into the hole unless its home
         * lies after the hole (cyclically), so that every case stays reachable from its home. */
        for (size_t j = (hole + 1) & mask; m->slots[j].used; j = (j + 1) & mask)
                if (((j - case_map_home(m, m->slots[j].id)) & mask) >= ((j - hole) & mask)) {
                        m->slots[hole] = m->slots[j];
                        hole = j;
                }
        m->slots[hole] = (UiCase) {};
        m->n_used--;
        return c;
}

static void case_map_done(CaseMap *m) {
        for (size_t i = 0; i < m->n_slots; i++)
                free(m->slots[i].label);
        m->slots = mfree(m->slots);
        m->n_slots = m->n_used = 0;
}

/* ---- the object ---- */

static void ui_set_size(TestUi *u, unsigned columns, unsigned rows) {
        u->columns = MIN(columns ?: 80, COLUMNS_MAX);
        u->rows = MIN(rows ?: 24, ROWS_MAX);
}

int test_ui_new(const TestUiOptions *o, TestUi **ret) {
        TestUi *u;

        assert(o);
        assert(ret);

        if (o->kind < 0 || o->kind >= _TEST_UI_KIND_MAX || o->fd < 0)
                return -EINVAL;

        u = calloc(1, sizeof(TestUi));
        if (!u)
                return -ENOMEM;
        u->kind = o->kind == TEST_UI_FANCY && !o->is_terminal ? TEST_UI_SIMPLE : o->kind;
        u->fd = o->fd;
        u->is_terminal = o->is_terminal;
        ui_set_size(u, o->columns, o->rows);
        u->first_started = USEC_INFINITY;
        u->next_change = USEC_INFINITY;
        u->dirty = true;
        *ret = u;
        return 0;
}

TestUi *test_ui_free(TestUi *u) {
        if (!u)
                return NULL;
        case_map_done(&u->queued);
        for (size_t i = 0; i < u->n_running; i++)
                free(u->running[i].label);
        free(u->running);
        free(u->phase);
        textbuf_done(&u->shown);
        return mfree(u);
}

static void ui_set_now(TestUi *u, usec_t now) {
        u->now = MAX(u->now, now);
}

/* ---- formatting ---- */

/* The widest line we draw: one column short of the terminal, so that no terminal wraps it. */
static size_t line_max(const TestUi *u) {
        return MAX(u->columns, 2U) - 1;
}

/* Appends as much of s as fits into max_columns; returns the columns appended. */
static size_t append_fitted(TextBuf *b, const char *s, size_t max_columns) {
        size_t columns, n;

        n = utf8_prefix_columns(s, strlen(s), max_columns, &columns);
        textbuf_append_len(b, s, n);
        return columns;
}

static void append_repeated(TextBuf *b, char c, size_t n) {
        for (size_t i = 0; i < n; i++)
                textbuf_append_char(b, c);
}

/* "[=====>    ]" with inner columns between the brackets. */
static void append_bar(TextBuf *b, double fraction, size_t inner) {
        size_t filled = (size_t) (MIN(MAX(fraction, 0.0), 1.0) * (double) inner);

        textbuf_append_char(b, '[');
        append_repeated(b, '=', filled);
        if (filled < inner) {
                textbuf_append_char(b, '>');
                append_repeated(b, ' ', inner - filled - 1);
        }
        textbuf_append_char(b, ']');
}

/* A bar of at most bar_max inner columns, a space and text, in at most max_columns, text cut to fit.  The
 * bar leaves room for the first keep bytes of text (ASCII), and is left out when that leaves it less than
 * BAR_MIN. */
static void append_bar_line(TextBuf *b, double fraction, const char *text, size_t keep, size_t bar_max,
                            size_t max_columns) {
        if (max_columns >= keep + BAR_MIN + 3) {
                size_t inner = MIN(max_columns - keep - 3, bar_max);

                append_bar(b, fraction, inner);
                textbuf_append_char(b, ' ');
                max_columns -= inner + 3;
        }
        (void) append_fitted(b, text, max_columns);
}

static size_t ui_failed(const TestUi *u) {
        return u->counts[TEST_OUTCOME_FAIL] + u->counts[TEST_OUTCOME_TIMEOUT] +
               u->counts[TEST_OUTCOME_ERROR];
}

static void append_phase(TextBuf *b, const TestUi *u) {
        if (u->phase) {
                textbuf_append(b, "  ");
                textbuf_append(b, u->phase);
        }
}

/* simple and quiet: "[=====>    ] 12/100 done, 1 failed, 3 running  building" (the phase is cut first). */
static void format_status(TestUi *u, TextBuf *b) {
        _cleanup_(textbuf_done) TextBuf text = {};
        size_t keep;

        textbuf_appendf(&text, "%zu/%zu done, %zu failed, %zu running", u->n_finished, u->n_total,
                        ui_failed(u), u->n_running);
        keep = text.len;
        append_phase(&text, u);
        if (text.oom) {
                b->oom = true;
                return;
        }
        append_bar_line(b, u->n_total > 0 ? (double) u->n_finished / (double) u->n_total : 0.0, text.data,
                        keep, BAR_STATUS_MAX, line_max(u));
}

static usec_t ui_mean_estimate(const TestUi *u) {
        return u->n_known > 0 ? u->known_sum / u->n_known : USEC_PER_SEC;
}

static usec_t case_weight(const TestUi *u, const UiCase *c) {
        return c->estimate > 0 ? c->estimate : ui_mean_estimate(u);
}

/* Fancy's progress: the fraction of the estimated work done (running cases count for the time they ran,
 * up to their estimate), and the time left at the rate seen since the first case started (USEC_INFINITY:
 * not known yet). */
static void ui_progress(const TestUi *u, double *ret_fraction, usec_t *ret_left) {
        usec_t mean = ui_mean_estimate(u);
        double total, done;

        total = (double) u->known_sum + (double) u->n_unknown * (double) mean;
        done = (double) u->done_known_sum + (double) u->n_done_unknown * (double) mean;
        for (size_t i = 0; i < u->n_running; i++) {
                const UiCase *c = &u->running[i];

                if (u->now > c->started)
                        done += (double) MIN(u->now - c->started, case_weight(u, c));
        }

        *ret_left = USEC_INFINITY;
        if (total <= 0) {
                *ret_fraction = u->n_total > 0 && u->n_finished >= u->n_total ? 1.0 : 0.0;
                return;
        }
        *ret_fraction = MIN(done / total, 1.0);
        if (done >= total)
                *ret_left = 0;
        else if (done > 0 && u->first_started != USEC_INFINITY && u->now > u->first_started)
                *ret_left = (usec_t) ((double) (u->now - u->first_started) * (total - done) / done);
}

static void append_duration(TextBuf *b, usec_t t) {
        uint64_t s = (t + USEC_PER_SEC / 2) / USEC_PER_SEC;

        if (s >= 3600)
                textbuf_appendf(b, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
        else if (s >= 60)
                textbuf_appendf(b, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
        else
                textbuf_appendf(b, "%" PRIu64 "s", s);
}

/* Appends line, cut to the width, and a newline. */
static void append_line(TextBuf *b, const TestUi *u, const TextBuf *line) {
        if (line->oom) {
                b->oom = true;
                return;
        }
        (void) append_fitted(b, line->data ?: "", line_max(u));
        textbuf_append_char(b, '\n');
}

/* "   12s mycrate tests::slow", and when that number changes next. */
static void append_running(TextBuf *b, const TestUi *u, const UiCase *c, usec_t *next_change) {
        uint64_t elapsed = u->now > c->started ? (u->now - c->started) / USEC_PER_SEC : 0;
        _cleanup_(textbuf_done) TextBuf line = {};

        textbuf_appendf(&line, "%5" PRIu64 "s ", elapsed);
        textbuf_append(&line, c->label ?: "");
        append_line(b, u, &line);
        *next_change = MIN(*next_change, c->started + (elapsed + 1) * USEC_PER_SEC);
}

/* "12/100 done: 9 passed, 1 failed, 1 ignored, 3 running  building" */
static void append_counts(TextBuf *b, const TestUi *u) {
        static const struct {
                TestOutcome outcome;
                const char *what;
        } optional[] = {
                { TEST_OUTCOME_TIMEOUT, "timed out" },
                { TEST_OUTCOME_ERROR, "errors" },
                { TEST_OUTCOME_IGNORED, "ignored" },
                { TEST_OUTCOME_NOT_RUN, "not run" },
        };
        _cleanup_(textbuf_done) TextBuf line = {};

        textbuf_appendf(&line, "%zu/%zu done: %zu passed, %zu failed", u->n_finished, u->n_total,
                        u->counts[TEST_OUTCOME_OK], u->counts[TEST_OUTCOME_FAIL]);
        for (size_t i = 0; i < ELEMENTSOF(optional); i++)
                if (u->counts[optional[i].outcome] > 0)
                        textbuf_appendf(&line, ", %zu %s", u->counts[optional[i].outcome], optional[i].what);
        textbuf_appendf(&line, ", %zu running", u->n_running);
        append_phase(&line, u);
        append_line(b, u, &line);
}

/* "[=====>        ] 34%, 1m12s left" */
static void append_progress(TextBuf *b, const TestUi *u) {
        _cleanup_(textbuf_done) TextBuf text = {};
        double fraction;
        usec_t left;

        ui_progress(u, &fraction, &left);
        textbuf_appendf(&text, "%u%%", (unsigned) (fraction * 100));
        if (left != USEC_INFINITY) {
                textbuf_append(&text, ", ");
                append_duration(&text, left);
                textbuf_append(&text, " left");
        }
        if (text.oom) {
                b->oom = true;
                return;
        }
        append_bar_line(b, fraction, text.data, text.len, SIZE_MAX, line_max(u));
}

/* fancy: the running cases that fit (longest-running first), the counts, and the bar with the time left;
 * at most a third of the rows (the bar alone when that is one).  No newline after the last line. */
static void format_region(TestUi *u, TextBuf *b) {
        size_t lines = MAX(u->rows / 3, 1U), room = lines >= 2 ? lines - 2 : 0, shown;
        usec_t next_change = USEC_INFINITY;

        shown = MIN(u->n_running, room);
        if (shown < u->n_running && shown > 0)
                shown--; /* leave the last line to say how many more */
        for (size_t i = 0; i < shown; i++)
                append_running(b, u, &u->running[i], &next_change);
        if (shown < u->n_running && room > 0) {
                _cleanup_(textbuf_done) TextBuf more = {};

                textbuf_appendf(&more, "      ... and %zu more running", u->n_running - shown);
                append_line(b, u, &more);
        }
        if (lines >= 2)
                append_counts(b, u);
        append_progress(b, u);

        /* When no running case is shown, the bar and the time left still move with time. */
        if (shown == 0 && u->n_running > 0)
                next_change = u->now + USEC_PER_SEC;
        u->next_change = next_change;
}

static unsigned count_lines(const TextBuf *b) {
        unsigned n = 1;

        for (size_t i = 0; i < b->len; i++)
                n += b->data[i] == '\n';
        return n;
}

/* ---- writing ---- */

static int ui_write(TestUi *u, const TextBuf *b) {
        int k;

        if (b->oom)
                return -ENOMEM;
        if (u->broken_pipe || b->len == 0)
                return 0;
        k = loop_write(u->fd, b->data, b->len);
        if (k == -EPIPE) {
                u->broken_pipe = true;
                return 0;
        }
        return k;
}

/* Erases the status line or live region, leaving the cursor at the start of its first line. */
static void append_erase(TextBuf *b, const TestUi *u) {
        if (u->shown_lines == 0)
                return;
        if (u->shown_lines > 1)
                textbuf_appendf(b, "\033[%uA", u->shown_lines - 1);
        textbuf_append(b, u->kind == TEST_UI_FANCY ? "\r\033[J" : "\r\033[K");
}

/* Prints above (whole lines; NULL: none) and, on a terminal, redraws the status line or live region below
 * it, in one write.  Without above, writes only if what is shown changed. */
static int ui_emit(TestUi *u, const TextBuf *above) {
        _cleanup_(textbuf_done) TextBuf out = {}, region = {};
        bool live = u->is_terminal && !u->finished;
        int k;

        if (live) {
                if (u->kind == TEST_UI_FANCY)
                        format_region(u, &region);
                else
                        format_status(u, &region);
                if (region.oom)
                        return -ENOMEM;
                u->dirty = false;
        }
        if (!above || above->len == 0) {
                if (!live)
                        return 0;
                if (u->shown_lines > 0 && u->shown.len == region.len &&
                    memcmp(u->shown.data, region.data, region.len) == 0)
                        return 0;
        }

        if (live)
                append_erase(&out, u);
        if (above)
                textbuf_append_len(&out, above->data ?: "", above->len);
        if (live)
                textbuf_append_len(&out, region.data ?: "", region.len);
        k = ui_write(u, &out);
        if (k < 0)
                return k;

        if (live) {
                textbuf_done(&u->shown);
                u->shown = region;
                region = (TextBuf) {};
                u->shown_lines = count_lines(&u->shown);
        }
        return 0;
}

/* ---- events ---- */

void test_ui_set_size(TestUi *u, unsigned columns, unsigned rows) {
        assert(u);

        ui_set_size(u, columns, rows);
        u->dirty = true;
}

int test_ui_set_phase(TestUi *u, const char *phase) {
        _cleanup_(textbuf_done) TextBuf b = {};
        char *p = NULL;
        int k;

        assert(u);

        if (phase) {
                test_text_append_terminal(&b, phase, strlen(phase), /* keep_lines= */ false);
                k = textbuf_steal(&b, &p);
                if (k < 0)
                        return k;
        }
        if (streq_ptr(p, u->phase)) {
                free(p);
                return 0;
        }
        free(u->phase);
        u->phase = p;
        u->dirty = true;
        return 0;
}

int test_ui_message(TestUi *u, const char *text) {
        _cleanup_(textbuf_done) TextBuf b = {};
        size_t n;

        assert(u);
        assert(text);

        n = strlen(text);
        test_text_append_terminal(&b, text, n, /* keep_lines= */ true);
        if (n == 0 || text[n - 1] != '\n')
                textbuf_append_char(&b, '\n');
        return ui_emit(u, &b);
}

int test_ui_case_queued(TestUi *u, uint64_t id, const char *package, const char *name, usec_t estimate) {
        _cleanup_free_ char *label = NULL;
        UiCase c;
        int k;

        assert(u);

        if (!name)
                return -EINVAL;
        if (u->n_total >= TEST_REPORT_CASES_MAX)
                return -E2BIG;

        if (u->kind == TEST_UI_FANCY) {
                _cleanup_(textbuf_done) TextBuf b = {};

                test_case_append_name(&b, package, name);
                k = textbuf_steal(&b, &label);
                if (k < 0)
                        return k;
        }

        c = (UiCase) {
                .id = id,
                .estimate = MIN(estimate, ESTIMATE_MAX),
                .label = label,
        };
        k = case_map_put(&u->queued, &c);
        if (k < 0)
                return k;
        TAKE_PTR(label);

        if (c.estimate > 0) {
                u->known_sum += c.estimate;
                u->n_known++;
        } else
                u->n_unknown++;
        u->n_total++;
        u->dirty = true;
        return 0;
}

int test_ui_case_started(TestUi *u, uint64_t id, usec_t now) {
        UiCase *s, c;
        size_t i;

        assert(u);

        s = case_map_find(&u->queued, id);
        if (!s)
                return -ENOENT;

        if (u->n_running >= u->n_running_allocated) {
                size_t n = MAX(u->n_running_allocated * 2, (size_t) 16);
                UiCase *running = reallocarray(u->running, n, sizeof(UiCase));

                if (!running)
                        return -ENOMEM;
                u->running = running;
                u->n_running_allocated = n;
        }

        c = case_map_take(&u->queued, s);
        c.started = now;
        ui_set_now(u, now);
        u->first_started = MIN(u->first_started, now);

        /* Keep the order in which they started, whatever order the times come in. */
        for (i = u->n_running; i > 0 && u->running[i - 1].started > now; i--)
                ;
        memmove(u->running + i + 1, u->running + i, (u->n_running - i) * sizeof(UiCase));
        u->running[i] = c;
        u->n_running++;
        u->dirty = true;
        return 0;
}

static bool outcome_is_failure(TestOutcome o) {
        return IN_SET(o, TEST_OUTCOME_FAIL, TEST_OUTCOME_TIMEOUT, TEST_OUTCOME_ERROR);
}

/* Forgets the queued or running case id now that it finished; false if it was neither. */
static bool ui_forget_case(TestUi *u, uint64_t id) {
        UiCase *s, c;
        size_t i;

        for (i = 0; i < u->n_running; i++)
                if (u->running[i].id == id)
                        break;
        if (i < u->n_running) {
                c = u->running[i];
                memmove(u->running + i, u->running + i + 1, (u->n_running - i - 1) * sizeof(UiCase));
                u->n_running--;
        } else {
                s = case_map_find(&u->queued, id);
                if (!s)
                        return false;
                c = case_map_take(&u->queued, s);
        }

        if (c.estimate > 0)
                u->done_known_sum += c.estimate;
        else
                u->n_done_unknown++;
        free(c.label);
        return true;
}

/* "---- NAME stdout ----" and the captured bytes, when there are any. */
static void append_output(TextBuf *b, const TestCaseResult *r, const char *stream, const TestOutput *o) {
        TestOutput c = test_output_capped(o);

        if (c.size == 0 && c.truncated == 0)
                return;
        textbuf_append(b, "---- ");
        test_case_append_name(b, r->package, r->name);
        textbuf_appendf(b, " %s ----\n", stream);
        test_text_append_terminal(b, c.data, c.size, /* keep_lines= */ true);
        if (c.size > 0 && c.data[c.size - 1] != '\n')
                textbuf_append_char(b, '\n');
        if (c.truncated > 0)
                textbuf_appendf(b, "[%" PRIu64 " more bytes not kept]\n", c.truncated);
}

/* The case's line and, for a failure, its message (indented) and output. */
static int append_finished(TextBuf *b, const TestCaseResult *r) {
        _cleanup_free_ char *line = NULL;
        int k;

        k = test_case_format_line(r, &line);
        if (k < 0)
                return k;
        textbuf_append(b, line);
        textbuf_append_char(b, '\n');
        if (!outcome_is_failure(r->outcome))
                return 0;

        if (!isempty(r->message)) {
                textbuf_append(b, "    ");
                test_text_append_terminal(b, r->message, strlen(r->message), /* keep_lines= */ false);
                textbuf_append_char(b, '\n');
        }
        append_output(b, r, "stdout", &r->out);
        append_output(b, r, "stderr", &r->err);
        return 0;
}

int test_ui_case_finished(TestUi *u, uint64_t id, const TestCaseResult *result, usec_t now) {
        _cleanup_(textbuf_done) TextBuf b = {};
        int k;

        assert(u);
        assert(result);

        if (!result->name || result->outcome < 0 || result->outcome >= _TEST_OUTCOME_MAX)
                return -EINVAL;

        ui_set_now(u, now);
        if (!ui_forget_case(u, id))
                u->n_total++;
        u->n_finished++;
        u->counts[result->outcome]++;
        u->dirty = true;

        /* quiet prints no case; fancy only failures; nobody prints NOT_RUN, which has no line. */
        if (u->kind == TEST_UI_QUIET || result->outcome == TEST_OUTCOME_NOT_RUN)
                return 0;
        if (u->kind == TEST_UI_FANCY && !outcome_is_failure(result->outcome))
                return 0;

        k = append_finished(&b, result);
        if (k < 0)
                return k;
        return ui_emit(u, &b);
}

int test_ui_tick(TestUi *u, usec_t now) {
        assert(u);

        ui_set_now(u, now);
        if (!u->is_terminal || u->finished)
                return 0;
        if (!u->dirty && (u->kind != TEST_UI_FANCY || u->now < u->next_change))
                return 0;
        return ui_emit(u, /* above= */ NULL);
}

int test_ui_finish(TestUi *u, const TestReport *report) {
        _cleanup_(textbuf_done) TextBuf b = {};
        _cleanup_free_ char *summary = NULL;
        int k;

        assert(u);

        if (report) {
                k = test_report_format_summary(report, &summary);
                if (k < 0)
                        return k;
        }

        if (u->is_terminal && !u->finished)
                append_erase(&b, u);
        if (summary)
                textbuf_append(&b, summary);
        u->finished = true;
        u->shown_lines = 0;
        textbuf_done(&u->shown);
        return ui_write(u, &b);
}
