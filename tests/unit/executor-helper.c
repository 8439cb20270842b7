/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* A tiny static program that test-executor runs inside containers, for what busybox cannot do:
 *   executor-helper syscall NAME   call NAME harmlessly, print "ok" or the errno name
 *   executor-helper tcp            listen on 127.0.0.1, connect to it, print "connected" or what failed
 *   executor-helper fds            print the open fds, space-separated
 *   executor-helper segv           die of SIGSEGV */

#include <dirent.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int report(long r) {
        if (r < 0)
                printf("%s\n", strerrorname_np(errno));
        else
                printf("ok\n");
        return 0;
}

static int do_syscall(const char *name) {
        if (strcmp(name, "keyctl") == 0)
                return report(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 0));
        if (strcmp(name, "add_key") == 0)
                return report(syscall(SYS_add_key, "user", "maelstrom-test", "x", 1, KEY_SPEC_PROCESS_KEYRING));
        if (strcmp(name, "bpf") == 0) {
                union bpf_attr attr;
                memset(&attr, 0, sizeof attr);
                attr.map_type = BPF_MAP_TYPE_ARRAY;
                attr.key_size = 4;
                attr.value_size = 4;
                attr.max_entries = 1;
                return report(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
        }
        if (strcmp(name, "perf_event_open") == 0) {
                struct perf_event_attr attr;
                memset(&attr, 0, sizeof attr);
                attr.size = sizeof attr;
                attr.type = PERF_TYPE_SOFTWARE;
                attr.config = PERF_COUNT_SW_TASK_CLOCK;
                attr.exclude_kernel = 1;
                return report(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
        }
        if (strcmp(name, "getpid") == 0)
                return report(syscall(SYS_getpid));
        fprintf(stderr, "unknown syscall %s\n", name);
        return 2;
}

static int do_tcp(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;
        int s, c;

        s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || bind(s, (struct sockaddr *) &a, sizeof a) < 0 || listen(s, 1) < 0 ||
            getsockname(s, (struct sockaddr *) &a, &l) < 0) {
                printf("listen %s\n", strerrorname_np(errno));
                return 0;
        }
        c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *) &a, sizeof a) < 0) {
                printf("connect %s\n", strerrorname_np(errno));
                return 0;
        }
        printf("connected\n");
        return 0;
}

static int do_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        const char *sep = "";
        char self[16];

        if (!d) {
                printf("opendir %s\n", strerrorname_np(errno));
                return 1;
        }
        snprintf(self, sizeof self, "%d", dirfd(d));
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && strcmp(de->d_name, self) != 0) {
                        printf("%s%s", sep, de->d_name);
                        sep = " ";
                }
        printf("\n");
        closedir(d);
        return 0;
}

int main(int argc, char *argv[]) {
        if (argc == 3 && strcmp(argv[1], "syscall") == 0)
                return do_syscall(argv[2]);
        if (argc == 2 && strcmp(argv[1], "tcp") == 0)
                return do_tcp();
        if (argc == 2 && strcmp(argv[1], "fds") == 0)
                return do_fds();
        if (argc == 2 && strcmp(argv[1], "segv") == 0) {
                volatile int *p = NULL;
                *p = 1;
        }
        fprintf(stderr, "usage: %s syscall NAME | tcp | fds | segv\n", argv[0]);
        return 2;
}
