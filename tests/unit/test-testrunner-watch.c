/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "basic/tests.h"
#include "testrunner/testrunner-watch.h"

static void touch(const char *dir, const char *name) {
        _cleanup_free_ char *path = strjoin(dir, "/", name);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(loop_write(fd, "x", 1));
}

/* Waits up to a second for events, then reads them. */
static int settle(TestWatch *w) {
        struct pollfd p = { .fd = test_watch_fd(w), .events = POLLIN };
        (void) poll(&p, 1, 1000);
        return test_watch_process(w);
}

TEST(watch) {
        _cleanup_(test_watch_freep) TestWatch *w = NULL;
        char root[] = "/tmp/test-watch-XXXXXX";

        ASSERT_TRUE(mkdtemp(root) != NULL);
        _cleanup_free_ char *target = strjoin(root, "/target"), *src = strjoin(root, "/src"),
                            *deep = strjoin(root, "/target/debug"), *fresh = strjoin(root, "/src/new"),
                            *git = strjoin(root, "/.git"), *git_objects = strjoin(root, "/.git/objects"),
                            *hg = strjoin(root, "/src/.hg");
        ASSERT_OK(mkdir_p(deep, 0755));
        ASSERT_OK(mkdir_p(src, 0755));
        ASSERT_OK(mkdir_p(git_objects, 0755));

        char *ignore[] = { target, NULL };
        ASSERT_OK(test_watch_new(root, ignore, &w));
        ASSERT_EQ(test_watch_process(w), 0);

        /* Inside the ignored tree: nothing. */
        touch(deep, "artifact");
        touch(target, "lock");
        ASSERT_EQ(settle(w), 0);

        /* Version control and editors' scratch files: nothing, in a directory there from the start or made
         * since. */
        touch(git, "index");
        touch(git_objects, "ab12");
        ASSERT_OK(mkdir_p(hg, 0755));
        touch(hg, "dirstate");
        touch(src, ".lib.rs.swp");
        touch(src, "4913");
        touch(src, "lib.rs~");
        touch(src, ".#lib.rs");
        touch(src, "#lib.rs#");
        ASSERT_EQ(settle(w), 0);

        /* A source file. */
        touch(src, "lib.rs");
        ASSERT_EQ(settle(w), 1);
        ASSERT_EQ(test_watch_process(w), 0);

        /* A new directory is watched as well. */
        ASSERT_OK(mkdir_p(fresh, 0755));
        ASSERT_EQ(settle(w), 1);
        touch(fresh, "mod.rs");
        ASSERT_EQ(settle(w), 1);

        char *argv[] = { (char *) "rm", (char *) "-rf", root, NULL };
        pid_t pid = fork();
        if (pid == 0) {
                execvp(argv[0], argv);
                _exit(127);
        }
        ASSERT_TRUE(pid > 0);
        int status;
        ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
}

int main(void) {
        RUN(watch);
        return 0;
}
