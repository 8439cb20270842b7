/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/log.h"
#include "basic/parse-util.h"
#include "basic/prioq.h"
#include "basic/process-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"

TEST(parse_size) {
        uint64_t v;

        ASSERT_OK(parse_size("0", &v));
        ASSERT_EQ(v, 0);
        ASSERT_OK(parse_size("1 GB", &v));
        ASSERT_EQ(v, 1000000000);
        ASSERT_OK(parse_size("512 MiB", &v));
        ASSERT_EQ(v, 512 * 1024 * 1024);
        ASSERT_OK(parse_size("3KiB", &v));
        ASSERT_EQ(v, 3072);
        ASSERT_OK(parse_size("7 B", &v));
        ASSERT_EQ(v, 7);
        ASSERT_OK(parse_size("2 TB", &v));
        ASSERT_EQ(v, 2000000000000);
        ASSERT_OK(parse_size("1 TiB", &v));
        ASSERT_EQ(v, (uint64_t) 1 << 40);
        ASSERT_OK(parse_size("5 kb", &v));
        ASSERT_EQ(v, 5000);
        ASSERT_ERROR(parse_size("", &v), EINVAL);
        ASSERT_ERROR(parse_size("GB", &v), EINVAL);
        ASSERT_ERROR(parse_size("1 XB", &v), EINVAL);
        ASSERT_ERROR(parse_size("-1", &v), EINVAL);
        ASSERT_ERROR(parse_size("1.5 GB", &v), EINVAL);
        ASSERT_ERROR(parse_size(" 1", &v), EINVAL);
        ASSERT_ERROR(parse_size("99999999999999999999", &v), ERANGE);
        ASSERT_ERROR(parse_size("100000000 TiB", &v), ERANGE);
}

TEST(safe_ato) {
        uint64_t u;
        int64_t i;
        unsigned x;

        ASSERT_OK(safe_atou64("18446744073709551615", &u));
        ASSERT_EQ(u == UINT64_MAX, 1);
        ASSERT_ERROR(safe_atou64("18446744073709551616", &u), ERANGE);
        ASSERT_ERROR(safe_atou64("12a", &u), EINVAL);
        ASSERT_ERROR(safe_atou64("", &u), EINVAL);
        ASSERT_ERROR(safe_atou64("+1", &u), EINVAL);
        ASSERT_OK(safe_atoi64("-9223372036854775808", &i));
        ASSERT_EQ(i, INT64_MIN);
        ASSERT_ERROR(safe_atoi64("9223372036854775808", &i), ERANGE);
        ASSERT_ERROR(safe_atou("4294967296", &x), ERANGE);
}

TEST(parse_boolean) {
        bool b;

        ASSERT_OK(parse_boolean("true", &b));
        ASSERT_TRUE(b);
        ASSERT_OK(parse_boolean("false", &b));
        ASSERT_FALSE(b);
        ASSERT_ERROR(parse_boolean("maybe", &b), EINVAL);
        ASSERT_ERROR(parse_boolean("", &b), EINVAL);
}

TEST(strv) {
        _cleanup_strv_free_ char **l = NULL, **e = NULL;
        _cleanup_free_ char *j = NULL;

        ASSERT_OK(strv_split_whitespace("  a\tbb \n c  ", &l));
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_STREQ(l[0], "a");
        ASSERT_STREQ(l[1], "bb");
        ASSERT_STREQ(l[2], "c");
        ASSERT_TRUE(strv_contains(l, "bb"));
        ASSERT_FALSE(strv_contains(l, "b"));
        ASSERT_TRUE(strv_equal(l, ((char *[]) { "a", "bb", "c", NULL })));
        ASSERT_FALSE(strv_equal(l, ((char *[]) { "a", "bb", NULL })));
        ASSERT_FALSE(strv_equal(l, ((char *[]) { "a", "bb", "c", "d", NULL })));
        ASSERT_FALSE(strv_equal(l, ((char *[]) { "a", "b", "c", NULL })));
        ASSERT_TRUE(strv_equal(NULL, ((char *[]) { NULL })));
        ASSERT_FALSE(strv_equal(NULL, l));
        j = strv_join(l, ",");
        ASSERT_STREQ(j, "a,bb,c");

        ASSERT_OK(strv_split_whitespace("   ", &e));
        ASSERT_TRUE(e != NULL);
        ASSERT_EQ(strv_length(e), 0);
        free(j);
        j = strv_join(e, ",");
        ASSERT_STREQ(j, "");

        ASSERT_OK(strv_extendf(&e, "%s=%d", "n", 7));
        ASSERT_OK(strv_extendf(&e, "%.*s", 2, "xyz"));
        ASSERT_TRUE(strv_equal(e, ((char *[]) { "n=7", "xy", NULL })));
}

TEST(path_is_under) {
        ASSERT_TRUE(path_is_under("/a/b", "/a"));
        ASSERT_TRUE(path_is_under("/a", "/a"));
        ASSERT_TRUE(path_is_under("/a/b", "/a/"));
        ASSERT_TRUE(path_is_under("/a", "/"));
        ASSERT_FALSE(path_is_under("/ab", "/a"));
        ASSERT_FALSE(path_is_under("/a", "/a/b"));
        ASSERT_FALSE(path_is_under("/b/a", "/a"));
}

TEST(strbuf) {
        TextBuf b = {};
        _cleanup_free_ char *s = NULL;

        for (int i = 0; i < 1000; i++)
                textbuf_appendf(&b, "%d,", i % 10);
        textbuf_append_char(&b, '!');
        ASSERT_OK(textbuf_steal(&b, &s));
        ASSERT_EQ(strlen(s), 2001);
        ASSERT_TRUE(startswith(s, "0,1,2,"));
        ASSERT_EQ(s[2000], '!');
}

TEST(files) {
        char dir[] = "/tmp/test-basic-XXXXXX";
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t size;

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        path = strjoin(dir, "/f");
        ASSERT_OK(write_file_atomic(path, "hello\n", 6, 0644));
        ASSERT_OK(read_full_file(path, 1024, &data, &size));
        ASSERT_EQ(size, 6);
        ASSERT_STREQ(data, "hello\n");
        data = mfree(data);
        ASSERT_ERROR(read_full_file(path, 3, &data, &size), E2BIG);
        ASSERT_ERROR(read_full_file("/nonexistent/file", 10, &data, &size), ENOENT);
        ASSERT_OK(unlink(path));

        /* mkdir -p */
        _cleanup_free_ char *deep = strjoin(dir, "/a/b/c");
        ASSERT_OK(mkdir_p(deep, 0755));
        ASSERT_OK(mkdir_p(deep, 0755));
        _cleanup_free_ char *file = strjoin(dir, "/a/f");
        ASSERT_OK(write_file_atomic(file, "", 0, 0644));
        ASSERT_ERROR(mkdir_p(file, 0755), ENOTDIR);
        _cleanup_free_ char *under = strjoin(file, "/x");
        ASSERT_ERROR(mkdir_p(under, 0755), ENOTDIR);
        _cleanup_free_ char *cmd = strjoin("rm -rf ", dir);
        ASSERT_EQ(system(cmd), 0);
}

TEST(log_levels) {
        ASSERT_EQ(log_level_from_string("debug"), LOG_DEBUG);
        ASSERT_EQ(log_level_from_string("error"), LOG_ERR);
        ASSERT_ERROR(log_level_from_string("loud"), EINVAL);
        ASSERT_STREQ(log_level_to_string(LOG_WARNING), "warning");

        log_set_max_level(LOG_WARNING);
        /* Filtered out, but still returns the error. */
        ASSERT_EQ(log_debug_errno(ENOENT, "not shown"), -ENOENT);
        ASSERT_EQ(log_warning_errno(EIO, "shown: %m"), -EIO);
        log_set_max_level(LOG_INFO);
}

typedef struct Item {
        int key, seq;
        unsigned idx;
} Item;

static int item_compare(const void *a, const void *b) {
        const Item *x = a, *y = b;
        if (x->key != y->key)
                return x->key < y->key ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

TEST(prioq) {
        _cleanup_(prioq_freep) Prioq *q = NULL;
        static Item items[2000];
        unsigned seed = 1;

        ASSERT_OK(prioq_new(item_compare, &q));
        ASSERT_TRUE(prioq_pop(q) == NULL);
        for (int i = 0; i < 2000; i++) {
                seed = seed * 1103515245 + 12345;
                items[i] = (Item) { .key = (int) (seed >> 16) % 100, .seq = i };
                ASSERT_OK(prioq_put(q, &items[i], &items[i].idx));
        }
        /* Remove every third through its index; they must not come out. */
        for (int i = 0; i < 2000; i += 3)
                ASSERT_EQ(prioq_remove(q, &items[i], &items[i].idx), 1);
        ASSERT_EQ(prioq_remove(q, &items[0], &items[0].idx), 0);
        ASSERT_EQ(prioq_size(q), 2000 - 667);

        const Item *prev = NULL;
        size_t n = 0;
        for (Item *it; (it = prioq_pop(q)); n++) {
                ASSERT_TRUE(it->seq % 3 != 0);
                ASSERT_EQ(it->idx, PRIOQ_IDX_NULL);
                if (prev)
                        ASSERT_TRUE(item_compare(prev, it) < 0);
                prev = it;
        }
        ASSERT_EQ(n, 2000 - 667);
}

TEST(process) {
        _cleanup_free_ char *out = NULL;
        size_t size;

        /* Output, exit code, working directory, stdin from /dev/null, an unblocked signal mask. */
        char *echo[] = { (char *) "sh", (char *) "-c",
                         (char *) "pwd; cat; grep SigBlk /proc/self/status; exit 3", NULL };
        sigset_t mask, old;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, &old);
        ASSERT_EQ(process_capture(echo, "/tmp", NULL, 4096, &out, &size), 3);
        sigprocmask(SIG_SETMASK, &old, NULL);
        ASSERT_STREQ(out, "/tmp\nSigBlk:\t0000000000000000\n");
        ASSERT_EQ(size, strlen(out));
        out = mfree(out);

        char *killed[] = { (char *) "sh", (char *) "-c", (char *) "kill -TERM $$", NULL };
        ASSERT_EQ(process_capture(killed, NULL, NULL, 4096, &out, NULL), 128 + SIGTERM);
        out = mfree(out);

        char *big[] = { (char *) "sh", (char *) "-c", (char *) "yes | head -c 100000", NULL };
        ASSERT_ERROR(process_capture(big, NULL, NULL, 1000, &out, NULL), E2BIG);
        ASSERT_TRUE(!out);

        char *missing[] = { (char *) "/nonexistent/program", NULL };
        ASSERT_ERROR(process_capture(missing, NULL, NULL, 1000, &out, NULL), ENOENT);
        char *none[] = { NULL };
        ASSERT_ERROR(process_capture(none, NULL, NULL, 1000, &out, NULL), EINVAL);

        /* With PROCESS_STDERR_TO_PIPE both streams come through the pipe, in the order written. */
        char *both[] = { (char *) "sh", (char *) "-c", (char *) "echo out; echo err >&2; echo out2", NULL };
        _cleanup_close_ int fd = -EBADF;
        bool signaled;
        int status;
        pid_t pid;
        ASSERT_OK(process_spawn_pipe_full(both, NULL, NULL, PROCESS_STDERR_TO_PIPE, &pid, &fd));
        ASSERT_OK(read_full_fd(fd, 4096, &out, &size));
        ASSERT_OK(process_wait(pid, &status, &signaled));
        ASSERT_EQ(status, 0);
        ASSERT_FALSE(signaled);
        ASSERT_STREQ(out, "out\nerr\nout2\n");
        out = mfree(out);

        /* process_capture_full(): stderr kept apart, whatever the exit status; only its beginning when it
         * is long. */
        _cleanup_free_ char *err = NULL;
        ASSERT_EQ(process_capture_full(both, NULL, NULL, 4096, &out, &size, &err), 0);
        ASSERT_STREQ(out, "out\nout2\n");
        ASSERT_STREQ(err, "err\n");
        out = mfree(out);
        err = mfree(err);
        char *failing[] = { (char *) "sh", (char *) "-c", (char *) "echo why >&2; exit 101", NULL };
        ASSERT_EQ(process_capture_full(failing, NULL, NULL, 4096, &out, NULL, &err), 101);
        ASSERT_STREQ(out, "");
        ASSERT_STREQ(err, "why\n");
        out = mfree(out);
        err = mfree(err);
        char *chatty[] = { (char *) "sh", (char *) "-c",
                           (char *) "echo first >&2; yes | head -c 3000000 >&2", NULL };
        ASSERT_EQ(process_capture_full(chatty, NULL, NULL, 4096, &out, NULL, &err), 0);
        ASSERT_EQ(strlen(err), (size_t) PROCESS_STDERR_SIZE_MAX);
        ASSERT_TRUE(startswith(err, "first\ny\ny\n"));

        out = mfree(out);

        /* process_capture_wait(): the second half, for a child started apart (fd is its). */
        char *later[] = { (char *) "sh", (char *) "-c", (char *) "echo later; exit 4", NULL };
        _cleanup_close_ int later_fd = -EBADF;
        ASSERT_OK(process_spawn_pipe(later, NULL, NULL, &pid, &later_fd));
        ASSERT_EQ(process_capture_wait(pid, TAKE_FD(later_fd), 4096, &out, &size), 4);
        ASSERT_STREQ(out, "later\n");
        out = mfree(out);
        char *flood[] = { (char *) "sh", (char *) "-c", (char *) "yes | head -c 100000", NULL };
        ASSERT_OK(process_spawn_pipe(flood, NULL, NULL, &pid, &later_fd));
        ASSERT_ERROR(process_capture_wait(pid, TAKE_FD(later_fd), 1000, &out, NULL), E2BIG);
        ASSERT_TRUE(!out);
        ASSERT_EQ(waitpid(pid, NULL, WNOHANG), -1); /* reaped */

        /* process_terminate(): stops and reaps a child, and forgets it. */
        char *sleeper[] = { (char *) "sleep", (char *) "60", NULL };
        _cleanup_close_ int sleeper_fd = -EBADF;
        ASSERT_OK(process_spawn_pipe(sleeper, NULL, NULL, &pid, &sleeper_fd));
        pid_t child = pid;
        process_terminate(&pid);
        ASSERT_EQ(pid, 0);
        ASSERT_EQ(waitpid(child, NULL, WNOHANG), -1); /* reaped already */
        ASSERT_EQ(errno, ECHILD);
        process_terminate(&pid); /* nothing to do */
}

TEST(sched_batch) {
        /* process_sched_batch(): we run as SCHED_BATCH, what we start as we were started. */
        char *policy[] = { (char *) "sh", (char *) "-c", (char *) "cut -d ' ' -f 41 /proc/self/stat", NULL };
        _cleanup_free_ char *out = NULL;
        int before = sched_getscheduler(0);

        ASSERT_TRUE(before >= 0);
        if (before != SCHED_OTHER) {
                ASSERT_EQ(process_sched_batch(), 0); /* chrt's (or a unit's) choice stays */
                ASSERT_FALSE(process_sched_batch_entered());
                ASSERT_EQ(sched_getscheduler(0), before);
                return;
        }
        ASSERT_FALSE(process_sched_batch_entered());
        ASSERT_EQ(process_sched_batch(), 1);
        ASSERT_EQ(process_sched_batch(), 1); /* once is enough */
        ASSERT_TRUE(process_sched_batch_entered());
        ASSERT_EQ(sched_getscheduler(0), SCHED_BATCH);
        ASSERT_EQ(process_capture(policy, NULL, NULL, 4096, &out, NULL), 0);
        ASSERT_STREQ(out, "0\n"); /* SCHED_OTHER */
}

int main(void) {
        RUN(process);
        RUN(prioq);
        RUN(parse_size);
        RUN(safe_ato);
        RUN(parse_boolean);
        RUN(strv);
        RUN(path_is_under);
        RUN(strbuf);
        RUN(files);
        RUN(log_levels);
        RUN(sched_batch); /* last: we run as SCHED_BATCH after it */
        return 0;
}
