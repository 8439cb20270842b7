/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* A static program that jobs run inside test containers (test-executor's and maelstrom-run's), to report
 * what they see and do what busybox cannot: built with -static and no project code, so that it runs on a
 * layer that holds nothing but itself.  Commands that report (syscall, tcp, connect, write, ...) exit 0
 * whatever they report. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static int usage(void) {
        fprintf(stderr, "usage: job-helper COMMAND [ARG...]\n");
        return 2;
}

/* Reports how a call went; the job succeeds either way, as reporting is its work. */
static int print_errno(const char *what, int r) {
        if (r < 0)
                printf("%s: %s\n", what, strerrorname_np(errno));
        else
                printf("%s: ok\n", what);
        return 0;
}

/* Call a system call harmlessly; print "ok" or the errno's name. */
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
                return report(syscall(SYS_add_key, "user", "maelstrom-test", "x", 1,
                                      KEY_SPEC_PROCESS_KEYRING));
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

static void fill(int fd, long n, char c) {
        char buf[65536];
        memset(buf, c, sizeof buf);
        while (n > 0) {
                ssize_t k = write(fd, buf, n < (long) sizeof buf ? (size_t) n : sizeof buf);
                if (k <= 0)
                        exit(3);
                n -= k;
        }
}

/* An abstract unix socket address: "@name". */
static socklen_t abstract_address(struct sockaddr_un *a, const char *name) {
        size_t l = strlen(name);
        memset(a, 0, sizeof *a);
        a->sun_family = AF_UNIX;
        if (l > sizeof a->sun_path - 1)
                l = sizeof a->sun_path - 1;
        memcpy(a->sun_path + 1, name, l);
        return (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + l);
}

static int unix_listen(const char *name) {
        struct sockaddr_un a;
        socklen_t l = abstract_address(&a, name);
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0 || bind(s, (struct sockaddr *) &a, l) < 0 || listen(s, 1) < 0)
                return -1;
        return s;
}

static int tcp_listen(int port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || bind(s, (struct sockaddr *) &a, sizeof a) < 0 || listen(s, 1) < 0)
                return -1;
        return s;
}

/* Report that we listen, then stay (that many seconds) or exit, closing it. */
static int report_listening(int s, const char *seconds) {
        if (s < 0) {
                printf("listen %s\n", strerrorname_np(errno));
                return 0;
        }
        printf("listening\n");
        fflush(stdout);
        if (seconds)
                usleep((useconds_t) (atof(seconds) * 1e6));
        return 0;
}

/* Get (and set, with set) the flags of lo through an ioctl, which needs no netlink. */
static int lo_flags(int set, short *flags) {
        struct ifreq r = {};
        int s = socket(AF_UNIX, SOCK_DGRAM, 0), k;
        strcpy(r.ifr_name, "lo");
        if (s < 0 || ioctl(s, SIOCGIFFLAGS, &r) < 0)
                return -1;
        if (set) {
                r.ifr_flags = (short) (*flags >= 0 ? r.ifr_flags | *flags : r.ifr_flags & *flags);
                k = ioctl(s, SIOCSIFFLAGS, &r);
        } else {
                *flags = r.ifr_flags;
                k = 0;
        }
        close(s);
        return k;
}

static int network_command(int argc, char **argv) {
        const char *cmd = argv[1];

        if (strcmp(cmd, "netns") == 0) {
                /* The network namespace's cookie: unique to it, and readable without privileges. */
                uint64_t cookie = 0;
                socklen_t l = sizeof cookie;
                int s = socket(AF_UNIX, SOCK_DGRAM, 0);
                if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &l) < 0) {
                        printf("netns %s\n", strerrorname_np(errno));
                        return 1;
                }
                printf("netns=%llu\n", (unsigned long long) cookie);
                return 0;
        }
        if (strcmp(cmd, "unix-listen") == 0 && (argc == 3 || argc == 4))
                return report_listening(unix_listen(argv[2]), argc == 4 ? argv[3] : NULL);
        if (strcmp(cmd, "tcp-listen") == 0 && (argc == 3 || argc == 4))
                return report_listening(tcp_listen(atoi(argv[2])), argc == 4 ? argv[3] : NULL);
        if (strcmp(cmd, "unix-connect") == 0 && argc == 3) {
                struct sockaddr_un a;
                socklen_t l = abstract_address(&a, argv[2]);
                int s = socket(AF_UNIX, SOCK_STREAM, 0);
                return print_errno("unix-connect", connect(s, (struct sockaddr *) &a, l));
        }
        if (strcmp(cmd, "unix-leak") == 0 && argc == 3) {
                /* Leave the listening socket alive after we are gone: in flight in a socket that holds
                 * itself (a cycle only the kernel's garbage collector frees). */
                int s = unix_listen(argv[2]), p[2];
                char buf[CMSG_SPACE(2 * sizeof(int))] = {};
                struct iovec iov = { .iov_base = (void *) "x", .iov_len = 1 };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
                                     .msg_controllen = sizeof buf };
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                if (s < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0)
                        return 1;
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(2 * sizeof(int));
                memcpy(CMSG_DATA(c), (int[]) { s, p[1] }, 2 * sizeof(int));
                if (sendmsg(p[0], &mh, 0) < 0)
                        return 1;
                printf("leaked\n");
                return 0;
        }
        if (strcmp(cmd, "tcp-time-wait") == 0 && argc == 3) {
                /* A connection that we close first, so that our end stays in TIME_WAIT. */
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(argv[2])),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                int l = tcp_listen(atoi(argv[2])), c = socket(AF_INET, SOCK_STREAM, 0), s;
                char b;
                if (l < 0 || c < 0 || connect(c, (struct sockaddr *) &a, sizeof a) < 0 ||
                    (s = accept(l, NULL, NULL)) < 0) {
                        printf("tcp %s\n", strerrorname_np(errno));
                        return 0;
                }
                close(s);
                (void) read(c, &b, 1); /* end of file: the FIN arrived */
                close(c);
                printf("time-wait\n");
                return 0;
        }
        if (strcmp(cmd, "lo") == 0) {
                short flags;
                if (lo_flags(0, &flags) < 0)
                        printf("lo %s\n", strerrorname_np(errno));
                else
                        printf("lo %s\n", flags & IFF_UP ? "up" : "down");
                return 0;
        }
        if (strcmp(cmd, "lo-set") == 0 && argc == 3) {
                short flags = strcmp(argv[2], "up") == 0 ? IFF_UP : (short) ~IFF_UP;
                return print_errno("lo-set", lo_flags(1, &flags));
        }
        if (strcmp(cmd, "sysctl") == 0 && argc == 4) {
                /* Write a value to a file of /proc/sys (or /sys). */
                int fd = open(argv[2], O_WRONLY);
                if (fd >= 0 && write(fd, argv[3], strlen(argv[3])) < 0) {
                        int e = errno;
                        close(fd);
                        errno = e;
                        fd = -1;
                }
                return print_errno("sysctl", fd);
        }
        return -1;
}

int main(int argc, char **argv) {
        if (argc < 2)
                return usage();
        const char *cmd = argv[1];

        if (strcmp(cmd, "exit") == 0 && argc == 3)
                return atoi(argv[2]);
        if (strcmp(cmd, "segv") == 0) {
                volatile int *p = NULL;
                return *p;
        }
        if (strcmp(cmd, "abort") == 0)
                abort();
        if (strcmp(cmd, "kill-self") == 0 && argc == 3) {
                /* With the signal's default action: a PID 1 outlives it. */
                if (kill(getpid(), atoi(argv[2])) < 0)
                        return print_errno("kill", -1);
                printf("alive\n");
                return 3;
        }
        if (strcmp(cmd, "fds") == 0) {
                /* Without /proc: probe every descriptor number. */
                const char *sep = "";
                for (int fd = 0; fd < 4096; fd++)
                        if (fcntl(fd, F_GETFD) >= 0) {
                                printf("%s%d", sep, fd);
                                sep = " ";
                        }
                printf("\n");
                return 0;
        }
        if (strcmp(cmd, "ids") == 0) {
                printf("pid=%d ppid=%d sid=%d pgid=%d uid=%d gid=%d\n", (int) getpid(), (int) getppid(),
                       (int) getsid(0), (int) getpgid(0), (int) getuid(), (int) getgid());
                return 0;
        }
        if (strcmp(cmd, "stdin") == 0) {
                char buf[4096];
                long total = 0;
                ssize_t k;
                while ((k = read(STDIN_FILENO, buf, sizeof buf)) > 0)
                        total += k;
                printf("stdin: %ld bytes, %s\n", total, k == 0 ? "eof" : strerrorname_np(errno));
                return 0;
        }
        if (strcmp(cmd, "output") == 0 && argc == 4) {
                fill(STDOUT_FILENO, atol(argv[2]), 'o');
                fill(STDERR_FILENO, atol(argv[3]), 'e');
                return 0;
        }
        if (strcmp(cmd, "syscall") == 0 && argc == 3)
                return do_syscall(argv[2]);
        if (strcmp(cmd, "orphan") == 0 && argc == 3) {
                /* Leave behind a grandchild that ignores every catchable signal and sleeps, named (comm)
                 * after the marker so the host can look for it. */
                pid_t p = fork();
                if (p < 0)
                        return 1;
                if (p == 0) {
                        if (fork() == 0) {
                                for (int s = 1; s < NSIG; s++)
                                        signal(s, SIG_IGN);
                                setsid();
                                prctl(PR_SET_NAME, argv[2]);
                                for (;;)
                                        pause();
                        }
                        _exit(0);
                }
                waitpid(p, NULL, 0);
                printf("orphaned\n");
                fflush(stdout);
                return 0;
        }
        if (strcmp(cmd, "ignore-term") == 0) {
                /* Children that ignore SIGTERM and SIGINT, and a parent that waits for them forever. */
                for (int i = 0; i < 3; i++)
                        if (fork() == 0) {
                                signal(SIGTERM, SIG_IGN);
                                signal(SIGINT, SIG_IGN);
                                signal(SIGHUP, SIG_IGN);
                                for (;;)
                                        pause();
                        }
                printf("started\n");
                fflush(stdout);
                while (wait(NULL) > 0 || errno == EINTR)
                        ;
                return 0;
        }
        if (strcmp(cmd, "connect") == 0 && argc == 4) {
                struct sockaddr_in a = { .sin_family = AF_INET,
                                         .sin_port = htons((uint16_t) atoi(argv[3])) };
                if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1)
                        return usage();
                int fd = socket(AF_INET, SOCK_STREAM, 0);
                return print_errno("connect", connect(fd, (struct sockaddr *) &a, sizeof a));
        }
        if (strcmp(cmd, "tcp") == 0) {
                /* Listen on 127.0.0.1 and connect to ourselves. */
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                socklen_t l = sizeof a;
                int s = socket(AF_INET, SOCK_STREAM, 0);
                if (s < 0 || bind(s, (struct sockaddr *) &a, sizeof a) < 0 || listen(s, 1) < 0 ||
                    getsockname(s, (struct sockaddr *) &a, &l) < 0) {
                        printf("listen %s\n", strerrorname_np(errno));
                        return 0;
                }
                int c = socket(AF_INET, SOCK_STREAM, 0);
                if (c < 0 || connect(c, (struct sockaddr *) &a, sizeof a) < 0) {
                        printf("connect %s\n", strerrorname_np(errno));
                        return 0;
                }
                printf("connected\n");
                return 0;
        }
        if (strcmp(cmd, "interfaces") == 0) {
                struct if_nameindex *ifs = if_nameindex();
                int s = socket(AF_INET, SOCK_DGRAM, 0);
                for (struct if_nameindex *i = ifs; i && i->if_name; i++) {
                        struct ifreq r = {};
                        strncpy(r.ifr_name, i->if_name, IFNAMSIZ - 1);
                        ioctl(s, SIOCGIFFLAGS, &r);
                        printf("%s %s\n", i->if_name, (r.ifr_flags & IFF_UP) ? "up" : "down");
                }
                return 0;
        }
        if (strcmp(cmd, "write") == 0 && argc == 3) {
                int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd >= 0 && write(fd, "written\n", 8) < 0)
                        return print_errno("write", -1); /* opened, but the file refused it */
                return print_errno("write", fd);
        }
        if (strcmp(cmd, "tty") == 0) {
                printf("isatty=%d name=%s\n", isatty(STDIN_FILENO), ttyname(STDIN_FILENO) ?: "none");
                return 0;
        }
        if (strcmp(cmd, "env") == 0) {
                extern char **environ;
                for (char **e = environ; *e; e++)
                        printf("%s\n", *e);
                return 0;
        }
        /* Try to undo a mount, or make one: print "ok" or the errno's name. */
        if (strcmp(cmd, "umount") == 0 && argc == 3)
                return print_errno("umount", umount2(argv[2], 0));
        if (strcmp(cmd, "remount-rw") == 0 && argc == 3)
                return print_errno("remount-rw", mount(NULL, argv[2], NULL, MS_REMOUNT | MS_BIND, NULL));
        if (strcmp(cmd, "remount-sb-rw") == 0 && argc == 3) /* the file system itself, not the mount */
                return print_errno("remount-sb-rw", mount(NULL, argv[2], NULL, MS_REMOUNT, NULL));
        if (strcmp(cmd, "tmpfs") == 0 && argc == 3)
                return print_errno("tmpfs", mount("tmpfs", argv[2], "tmpfs", 0, NULL));
        int r = network_command(argc, argv);
        if (r >= 0)
                return r;
        if (strcmp(cmd, "args") == 0) {
                for (int i = 0; i < argc; i++)
                        printf("[%s]\n", argv[i]);
                return 0;
        }
        return usage();
}
