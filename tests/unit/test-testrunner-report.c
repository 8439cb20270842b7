/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "testrunner/testrunner-report.h"

extern char **environ;

/* Quotes, markup, controls, a NUL, invalid UTF-8 (a lone continuation byte, a truncated sequence, an
 * overlong encoding, a surrogate), U+FFFE and valid multi-byte characters. */
static const char nasty[] = "a\"b'c<d>e&f\tg\nh\ri\x01j\x1b[31mk\x7fl\0m\x80n\xc3o\xc0\xafp\xed\xa0\x80q"
                            "\xef\xbf\xber\xc3\xa9s\xf0\x9f\x98\x80t]]>u";
#define NASTY_SIZE (sizeof(nasty) - 1)

#define RESULT(p, n, o, d)                                                                              \
        (&(TestCaseResult) {                                                                    \
                .package = (char *) (p), .name = (char *) (n), .outcome = (o), .duration = (d), \
        })

static TestReport *make_report(void) {
        TestReport *r;
        TestCaseResult c;

        ASSERT_OK(test_report_new(&r));
        ASSERT_OK(test_report_add(r, RESULT("mycrate", "tests::adds", TEST_OUTCOME_OK, 12000)));

        c = *RESULT("mycrate", "tests::fails", TEST_OUTCOME_FAIL, 1500000);
        c.out = (TestOutput) { .data = (char *) nasty, .size = NASTY_SIZE };
        c.err = (TestOutput) { .data = (char *) "thread panicked\n", .size = 16, .truncated = 7 };
        c.message = (char *) "exited with status 101";
        ASSERT_OK(test_report_add(r, &c));

        ASSERT_OK(test_report_add(r, RESULT("other \"pkg\" <&>", "slow", TEST_OUTCOME_TIMEOUT,
                                                              30 * USEC_PER_SEC)));
        c = *RESULT("mycrate", "tests::broken\x80", TEST_OUTCOME_ERROR, 0);
        c.message = (char *) "no such image: <\x01>";
        ASSERT_OK(test_report_add(r, &c));
        ASSERT_OK(test_report_add(r, RESULT("other \"pkg\" <&>", "skipme", TEST_OUTCOME_IGNORED, 0)));
        ASSERT_OK(test_report_add(r, RESULT("mycrate", "later", TEST_OUTCOME_NOT_RUN, 0)));
        ASSERT_OK(test_report_add(r, RESULT(NULL, "nopackage", TEST_OUTCOME_OK, 1)));
        return r;
}

TEST(outcome_strings) {
        for (TestOutcome o = 0; o < _TEST_OUTCOME_MAX; o++)
                ASSERT_EQ(test_outcome_from_string(test_outcome_to_string(o)), o);
        ASSERT_STREQ(test_outcome_to_string(TEST_OUTCOME_TIMEOUT), "TIMEOUT");
        ASSERT_EQ(test_outcome_from_string("ok"), -EINVAL);
        ASSERT_TRUE(test_outcome_to_string(_TEST_OUTCOME_MAX) == NULL);
        ASSERT_EQ(test_event_type_from_string("finished"), TEST_EVENT_FINISHED);
}

TEST(counts_and_exit_status) {
        _cleanup_(test_report_freep) TestReport *r = make_report(), *e = NULL;
        TestCaseResult c;

        ASSERT_EQ(r->n_cases, 7u);
        ASSERT_EQ(r->counts[TEST_OUTCOME_OK], 2u);
        ASSERT_EQ(r->counts[TEST_OUTCOME_FAIL], 1u);
        ASSERT_EQ(r->counts[TEST_OUTCOME_TIMEOUT], 1u);
        ASSERT_EQ(r->counts[TEST_OUTCOME_ERROR], 1u);
        ASSERT_EQ(r->counts[TEST_OUTCOME_IGNORED], 1u);
        ASSERT_EQ(r->counts[TEST_OUTCOME_NOT_RUN], 1u);
        ASSERT_EQ(test_report_exit_status(r), 1);

        /* The report owns copies. */
        ASSERT_TRUE(r->cases[1].out.data != nasty);
        ASSERT_EQ(r->cases[1].out.size, NASTY_SIZE);
        ASSERT_TRUE(memcmp(r->cases[1].out.data, nasty, NASTY_SIZE) == 0);
        ASSERT_EQ(r->cases[1].err.truncated, 7u);

        ASSERT_OK(test_report_new(&e));
        ASSERT_EQ(test_report_exit_status(e), 0);
        ASSERT_OK(test_report_add(e, RESULT("p", "a", TEST_OUTCOME_OK, 0)));
        ASSERT_OK(test_report_add(e, RESULT("p", "b", TEST_OUTCOME_IGNORED, 0)));
        ASSERT_EQ(test_report_exit_status(e), 0);
        ASSERT_OK(test_report_add(e, RESULT("p", "c", TEST_OUTCOME_NOT_RUN, 0)));
        ASSERT_EQ(test_report_exit_status(e), 1);

        /* Bad input. */
        ASSERT_ERROR(test_report_add(e, RESULT("p", NULL, TEST_OUTCOME_OK, 0)), EINVAL);
        ASSERT_ERROR(test_report_add(e, RESULT("p", "x", _TEST_OUTCOME_MAX, 0)), EINVAL);
        ASSERT_ERROR(test_report_add(e, RESULT("p", "x", TEST_OUTCOME_ERROR, 0)), EINVAL);
        ASSERT_EQ(e->n_cases, 3u);

        /* Output beyond the cap is counted, not kept. */
        c = *RESULT("p", "big", TEST_OUTCOME_FAIL, 0);
        c.out.size = TEST_REPORT_OUTPUT_MAX + 100;
        c.out.data = calloc(1, c.out.size);
        c.out.truncated = 5;
        ASSERT_TRUE(c.out.data);
        ASSERT_OK(test_report_add(e, &c));
        free(c.out.data);
        ASSERT_EQ(e->cases[3].out.size, TEST_REPORT_OUTPUT_MAX);
        ASSERT_EQ(e->cases[3].out.truncated, 105u);
}

TEST(line) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        char buf[TEST_DURATION_STRING_MAX];
        TestCaseResult x;

        ASSERT_OK(test_case_format_line(RESULT("mycrate", "tests::adds", TEST_OUTCOME_OK, 12345),
                                        &a));
        ASSERT_STREQ(a, "mycrate tests::adds ... OK (0.012s)");
        ASSERT_OK(test_case_format_line(RESULT(NULL, "t", TEST_OUTCOME_TIMEOUT, 61 * USEC_PER_SEC + 5000),
                                        &b));
        ASSERT_STREQ(b, "t ... TIMEOUT (61.005s)");
        /* Controls and invalid UTF-8 cannot reach the terminal; valid UTF-8 does. */
        x = *RESULT("p\x1b[2J", "n\n\x80\xc3\xa9", TEST_OUTCOME_IGNORED, 0);
        ASSERT_OK(test_case_format_line(&x, &c));
        ASSERT_STREQ(c, "p\xef\xbf\xbd[2J n\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9 ... IGNORED (0.000s)");
        ASSERT_ERROR(test_case_format_line(RESULT("p", "n", TEST_OUTCOME_NOT_RUN, 0), &d),
                     EINVAL);

        ASSERT_STREQ(test_duration_format(0, buf), "0.000");
        ASSERT_STREQ(test_duration_format(999, buf), "0.000");
        ASSERT_STREQ(test_duration_format(1000, buf), "0.001");
        ASSERT_STREQ(test_duration_format(UINT64_MAX, buf), "18446744073709.551");
}

TEST(summary) {
        _cleanup_(test_report_freep) TestReport *r = make_report(), *e = NULL;
        _cleanup_free_ char *s = NULL, *t = NULL;

        ASSERT_OK(test_report_format_summary(r, &s));
        ASSERT_STREQ(s,
                     "Summary: 7 cases: 2 passed, 1 failed, 1 timed out, 1 errors, 1 ignored, 1 not run\n"
                     "Failures:\n"
                     "    FAIL mycrate tests::fails: exited with status 101\n"
                     "    TIMEOUT other \"pkg\" <&> slow\n"
                     "    ERROR mycrate tests::broken\xef\xbf\xbd: no such image: <\xef\xbf\xbd>\n");

        ASSERT_OK(test_report_new(&e));
        ASSERT_OK(test_report_add(e, RESULT("p", "c", TEST_OUTCOME_NOT_RUN, 0)));
        ASSERT_OK(test_report_format_summary(e, &t));
        ASSERT_STREQ(t,
                     "Summary: 1 cases: 0 passed, 0 failed, 0 timed out, 0 errors, 0 ignored, 1 not run\n");

        /* A build that failed is said, as its cases are in no count. */
        e->build_failed = true;
        t = mfree(t);
        ASSERT_OK(test_report_format_summary(e, &t));
        ASSERT_STREQ(t,
                     "Summary: 1 cases: 0 passed, 0 failed, 0 timed out, 0 errors, 0 ignored, 1 not run\n"
                     "The build, or the listing of a test binary, failed (see the errors above): the "
                     "cases of what was not built and listed did not run.\n");
}

/* A case of package m with size bytes of output, on stdout (out) or else on stderr (err). */
static void add_with_output(TestReport *r, const char *name, TestOutcome outcome, const char *out,
                            const char *err, size_t size) {
        TestCaseResult c = *RESULT("m", name, outcome, 0);
        TestOutput o = { .data = (char *) (out ?: err), .size = size };
        if (out)
                c.out = o;
        else
                c.err = o;
        ASSERT_OK(test_report_add(r, &c));
}

TEST(summary_hints) {
        _cleanup_(test_report_freep) TestReport *r = NULL;
        _cleanup_free_ char *s = NULL;
        static const char network[] = "dial tcp 127.0.0.1:8080: connect: network is unreachable\n";
        static const char rofs[] = "Read-only file system (os error 30)";
        static const char rofs_upper[] = "open out.txt: READ-ONLY FILE SYSTEM";
        static const char with_nul[] = "read-only\0file system";
        static const char go_exec[] = "    x_test.go:9: exec: \"sh\": executable file not found in $PATH\n";
        /* Rust's, with glibc's words in it (counted once), and Go's */
        static const char rust_lookup[] = "called `Result::unwrap()` on an `Err` value: Custom { kind: "
                                          "Uncategorized, error: \"failed to lookup address information: "
                                          "Temporary failure in name resolution\" }";
        static const char go_lookup[] = "dial tcp: lookup example.test: no such host";
        static const char go_zone[] = "    en_test.go:673: Expected '<nil>' Got 'unknown time zone "
                                      "America/Toronto'";

        ASSERT_OK(test_report_new(&r));
        add_with_output(r, "net", TEST_OUTCOME_FAIL, NULL, network, strlen(network));
        add_with_output(r, "writes", TEST_OUTCOME_FAIL, rofs, NULL, strlen(rofs));
        add_with_output(r, "writes_too", TEST_OUTCOME_FAIL, NULL, rofs_upper, strlen(rofs_upper));
        /* Not counted: a case that passed or timed out, output that only looks alike, no output. */
        add_with_output(r, "checks_it", TEST_OUTCOME_OK, rofs, NULL, strlen(rofs));
        add_with_output(r, "slow", TEST_OUTCOME_TIMEOUT, NULL, network, strlen(network));
        add_with_output(r, "nul", TEST_OUTCOME_FAIL, NULL, with_nul, sizeof(with_nul) - 1);
        ASSERT_OK(test_report_add(r, RESULT("m", "quiet", TEST_OUTCOME_FAIL, 0)));
        add_with_output(r, "runs_sh", TEST_OUTCOME_FAIL, go_exec, NULL, strlen(go_exec));
        add_with_output(r, "resolves", TEST_OUTCOME_FAIL, NULL, rust_lookup, strlen(rust_lookup));
        add_with_output(r, "looks_up", TEST_OUTCOME_FAIL, go_lookup, NULL, strlen(go_lookup));
        add_with_output(r, "zone", TEST_OUTCOME_FAIL, go_zone, NULL, strlen(go_zone));

        ASSERT_OK(test_report_format_summary(r, &s));
        ASSERT_STREQ(s,
                     "Summary: 11 cases: 1 passed, 9 failed, 1 timed out, 0 errors, 0 ignored, 0 not run\n"
                     "Failures:\n"
                     "    FAIL m net\n"
                     "    FAIL m writes\n"
                     "    FAIL m writes_too\n"
                     "    TIMEOUT m slow\n"
                     "    FAIL m nul\n"
                     "    FAIL m quiet\n"
                     "    FAIL m runs_sh\n"
                     "    FAIL m resolves\n"
                     "    FAIL m looks_up\n"
                     "    FAIL m zone\n"
                     "Hint: 1 failed case could not use the network: a case's network namespace has lo down "
                     "unless a directive sets network = \"loopback\" (lo up, still with no way out).\n"
                     "Hint: 2 failed cases could not resolve a host name: a case's container has no "
                     "/etc/hosts and no way to a name server: for \"localhost\", a directive adds a layer "
                     "with /etc/hosts (added_layers = [{ paths = [\"/etc/hosts\"] }]) and network = "
                     "\"loopback\".\n"
                     "Hint: 1 failed case ran a command that is not in the container: only the test binary and "
                     "its libraries are there unless directives add layers or mounts (the host's /usr, "
                     "read-only, say) and PATH.\n"
                     "Hint: 1 failed case found no time zone data: the container has no "
                     "/usr/share/zoneinfo unless a directive binds the host's, read-only, on a stub "
                     "directory (see the README).\n"
                     "Hint: 2 failed cases wrote to a read-only file system: a case's root is read-only; it may "
                     "write under /tmp, or a directive sets enable_writable_file_system = true.\n");
}

/* Runs python3's XML parser on path and checks the structure; 77 when python3 is missing. */
static int python_check(const char *path, const char *script) {
        char *argv[] = { (char *) "python3", (char *) "-c", (char *) script, (char *) path, NULL };
        int status;
        pid_t pid;

        if (posix_spawnp(&pid, "python3", NULL, NULL, argv, environ) != 0)
                return -ENOENT;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return -ENOENT;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EBADMSG;
}

static const char junit_check[] =
        "import sys, xml.dom.minidom\n"
        "d = xml.dom.minidom.parse(sys.argv[1])\n"
        "top = d.documentElement\n"
        "assert top.tagName == 'testsuites'\n"
        "assert top.getAttribute('name') == 'run <1> & \"x\"'\n"
        "assert (top.getAttribute('tests'), top.getAttribute('failures'), top.getAttribute('errors'),\n"
        "        top.getAttribute('skipped')) == ('7', '2', '1', '2'), top.attributes.items()\n"
        "s = top.getElementsByTagName('testsuite')\n"
        "assert [x.getAttribute('name') for x in s] == ['', 'mycrate', 'other \"pkg\" <&>']\n"
        "assert [x.getAttribute('tests') for x in s] == ['1', '4', '2']\n"
        "assert s[1].getAttribute('time') == '1.512'\n"
        "c = s[1].getElementsByTagName('testcase')\n"
        "assert [x.getAttribute('name') for x in c] == "
        "['tests::adds', 'tests::fails', 'tests::broken\\ufffd', 'later']\n"
        "f = c[1].getElementsByTagName('failure')[0]\n"
        "assert f.getAttribute('message') == 'exited with status 101' and f.getAttribute('type') == 'FAIL'\n"
        "out = c[1].getElementsByTagName('system-out')[0].firstChild.data\n"
        "want = 'a\"b\\'c<d>e&f\\tg\\nh\\ri\\ufffdj\\ufffd[31mk\\x7fl'"
        " + '\\ufffdm\\ufffdn\\ufffdo\\ufffd\\ufffdp'"
        " + '\\ufffd' * 3 + 'q\\ufffdr\\xe9s\\U0001f600t]]>u'\n"
        "assert out == want, repr(out)\n"
        "err = c[1].getElementsByTagName('system-err')[0].firstChild.data\n"
        "assert err == 'thread panicked\\n\\n[7 more bytes not kept]\\n', repr(err)\n"
        "e = c[2].getElementsByTagName('error')[0]\n"
        "assert e.getAttribute('message') == 'no such image: <\\ufffd>'\n"
        "assert c[3].getElementsByTagName('skipped')[0].getAttribute('message') == 'not run'\n"
        "t = s[2].getElementsByTagName('testcase')\n"
        "assert t[0].getElementsByTagName('failure')[0].getAttribute('type') == 'TIMEOUT'\n"
        "assert t[0].getAttribute('classname') == 'other \"pkg\" <&>'\n"
        "assert t[1].getElementsByTagName('skipped')[0].getAttribute('message') == 'ignored'\n";

static const char whitespace_check[] =
        "import sys, xml.dom.minidom\n"
        "c = xml.dom.minidom.parse(sys.argv[1]).getElementsByTagName('testcase')[0]\n"
        "assert c.getAttribute('name') == 'a\\tb\\nc\\rd\\ufffde', repr(c.getAttribute('name'))\n"
        "assert c.getAttribute('classname') == 'p\\tq'\n";

/* Our own check, for machines without python3: no byte XML 1.0 forbids, and the text is valid UTF-8. */
static void check_xml_chars(const char *s) {
        const unsigned char *u = (const unsigned char *) s;

        for (size_t i = 0; u[i]; i++) {
                ASSERT_TRUE(u[i] >= 0x20 || IN_SET(u[i], '\t', '\n', '\r'));
                ASSERT_TRUE(u[i] != 0xC0 && u[i] != 0xC1 && u[i] < 0xF5);
                ASSERT_FALSE(u[i] == 0xEF && u[i + 1] == 0xBF && (u[i + 2] == 0xBE || u[i + 2] == 0xBF));
        }
}

TEST(junit) {
        _cleanup_(test_report_freep) TestReport *r = make_report(), *e = NULL, *w = NULL;
        _cleanup_free_ char *x = NULL, *y = NULL, *dir = NULL, *path = NULL, *back = NULL;
        size_t size;
        int k;

        ASSERT_OK(test_report_format_junit(r, "run <1> & \"x\"", &x));
        check_xml_chars(x);
        ASSERT_TRUE(strstr(x, "<testsuite name=\"other &quot;pkg&quot; &lt;&amp;&gt;\""
                              " tests=\"2\" failures=\"1\""
                              " errors=\"0\" skipped=\"1\" time=\"30.000\">"));
        ASSERT_TRUE(strstr(x, "<testcase name=\"tests::adds\" classname=\"mycrate\" time=\"0.012\">"));

        dir = strdup("/tmp/test-report-XXXXXX");
        ASSERT_TRUE(dir && mkdtemp(dir));
        path = strjoin(dir, "/junit.xml");
        ASSERT_TRUE(path);
        ASSERT_OK(test_report_write_junit(r, "run <1> & \"x\"", path));
        ASSERT_OK(read_full_file(path, 1 << 24, &back, &size));
        ASSERT_STREQ(back, x);

        k = python_check(path, junit_check);
        if (k == -ENOENT)
                fprintf(stderr, "python3 missing, XML checked by hand only\n");
        else
                ASSERT_OK(k);

        /* Tab, newline and CR in attributes survive attribute-value normalization. */
        ASSERT_OK(test_report_new(&w));
        ASSERT_OK(test_report_add(w, RESULT("p\tq", "a\tb\nc\rd\x02" "e", TEST_OUTCOME_OK, 0)));
        ASSERT_OK(test_report_write_junit(w, /* name= */ NULL, path));
        k = python_check(path, whitespace_check);
        if (k != -ENOENT)
                ASSERT_OK(k);

        /* An empty run is a well-formed, empty report. */
        ASSERT_OK(test_report_new(&e));
        ASSERT_OK(test_report_format_junit(e, NULL, &y));
        ASSERT_STREQ(y, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<testsuites tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0.000\">\n"
                        "</testsuites>\n");
        (void) unlink(path);
        (void) rmdir(dir);
}

static json_object *parse_line(const char *line) {
        json_tokener *tok = json_tokener_new();
        json_object *o;
        size_t n = strlen(line);

        ASSERT_TRUE(tok);
        ASSERT_TRUE(n > 0 && line[n - 1] == '\n');
        ASSERT_TRUE(!memchr(line, '\n', n - 1));
        o = json_tokener_parse_ex(tok, line, (int) n - 1);
        ASSERT_TRUE(o);
        ASSERT_EQ(json_tokener_get_parse_end(tok), n - 1);
        json_tokener_free(tok);
        return o;
}

static const char *get_string(json_object *o, const char *key) {
        json_object *v;

        ASSERT_TRUE(json_object_object_get_ex(o, key, &v));
        ASSERT_TRUE(json_object_is_type(v, json_type_string));
        return json_object_get_string(v);
}

TEST(json_events) {
        _cleanup_(test_report_freep) TestReport *r = make_report();
        _cleanup_(test_event_writer_freep) TestEventWriter *w = NULL;
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL, *bad = NULL;
        const TestCaseResult *c = &r->cases[1];
        const char *line;
        json_object *o, *v;
        size_t size, n_lines = 0;

        dir = strdup("/tmp/test-report-XXXXXX");
        ASSERT_TRUE(dir && mkdtemp(dir));
        path = strjoin(dir, "/events.jsonl");
        ASSERT_TRUE(path);

        ASSERT_OK(test_event_writer_open(path, &w));
        ASSERT_OK(test_event_writer_queued(w, c->package, c->name));
        /* Written as it happens: the line is in the file before the writer is closed. */
        ASSERT_OK(read_full_file(path, 1 << 24, &text, &size));
        ASSERT_STREQ(text, "{\"event\":\"queued\",\"package\":\"mycrate\",\"name\":\"tests::fails\"}\n");
        text = mfree(text);
        ASSERT_OK(test_event_writer_started(w, NULL, "x/y"));
        ASSERT_OK(test_event_writer_finished(w, c));
        ASSERT_OK(test_event_writer_finished(w, &r->cases[3]));
        ASSERT_ERROR(test_event_format(TEST_EVENT_FINISHED, "p", "n", /* c= */ NULL, &bad), EINVAL);
        ASSERT_ERROR(test_event_writer_started(w, "p", NULL), EINVAL);
        w = test_event_writer_free(w);

        ASSERT_OK(read_full_file(path, 1 << 24, &text, &size));
        ASSERT_EQ(strlen(text), size); /* NULs are escaped, never raw */
        for (line = text; *line; n_lines++) {
                const char *nl = strchr(line, '\n');
                _cleanup_free_ char *one = NULL;

                ASSERT_TRUE(nl);
                one = strndup(line, nl - line + 1);
                ASSERT_TRUE(one);
                o = parse_line(one);
                switch (n_lines) {
                case 0:
                        ASSERT_STREQ(get_string(o, "event"), "queued");
                        break;
                case 1:
                        ASSERT_STREQ(get_string(o, "event"), "started");
                        ASSERT_TRUE(json_object_object_get_ex(o, "package", &v) && !v);
                        ASSERT_STREQ(get_string(o, "name"), "x/y");
                        ASSERT_TRUE(strstr(one, "\"x/y\"")); /* no "\/" */
                        break;
                case 2: {
                        /* The NUL survives; invalid UTF-8 becomes U+FFFD; valid UTF-8 stays. */
                        static const char want[] =
                                "a\"b'c<d>e&f\tg\nh\ri\x01j\x1b[31mk\x7fl\0m\xef\xbf\xbdn\xef\xbf\xbdo"
                                "\xef\xbf\xbd\xef\xbf\xbdp\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdq"
                                "\xef\xbf\xber\xc3\xa9s\xf0\x9f\x98\x80t]]>u";

                        ASSERT_STREQ(get_string(o, "event"), "finished");
                        ASSERT_STREQ(get_string(o, "outcome"), "FAIL");
                        ASSERT_STREQ(get_string(o, "message"), "exited with status 101");
                        ASSERT_TRUE(json_object_object_get_ex(o, "duration", &v));
                        ASSERT_TRUE(json_object_get_double(v) == 1.5);
                        ASSERT_TRUE(strstr(one, "\"duration\":1.500,"));
                        ASSERT_TRUE(json_object_object_get_ex(o, "stdout", &v));
                        ASSERT_EQ(json_object_get_string_len(v), sizeof(want) - 1);
                        ASSERT_TRUE(memcmp(json_object_get_string(v), want, sizeof(want) - 1) == 0);
                        ASSERT_STREQ(get_string(o, "stderr"), "thread panicked\n");
                        ASSERT_TRUE(json_object_object_get_ex(o, "stderr_truncated", &v));
                        ASSERT_EQ(json_object_get_int64(v), 7);
                        ASSERT_TRUE(json_object_object_get_ex(o, "stdout_truncated", &v));
                        ASSERT_EQ(json_object_get_int64(v), 0);
                        break;
                }
                case 3:
                        ASSERT_STREQ(get_string(o, "outcome"), "ERROR");
                        ASSERT_STREQ(get_string(o, "name"), "tests::broken\xef\xbf\xbd");
                        ASSERT_STREQ(get_string(o, "message"), "no such image: <\x01>");
                        break;
                }
                json_object_put(o);
                line = nl + 1;
        }
        ASSERT_EQ(n_lines, 4u);

        ASSERT_ERROR(test_event_writer_open("/nonexistent/dir/events", &w), ENOENT);
        (void) unlink(path);
        (void) rmdir(dir);
}

int main(void) {
        RUN(outcome_strings);
        RUN(counts_and_exit_status);
        RUN(line);
        RUN(summary);
        RUN(summary_hints);
        RUN(junit);
        RUN(json_events);
        return 0;
}
