/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* System calls for the container's child.  The child shares the worker's memory while the worker's threads
 * go on running, so it must not write anything of theirs; errno is thread-local, and the child runs with the
 * cloning thread's TLS.  These calls return the kernel's result (-errno on failure) and never touch errno.
 *
 * Where there is no implementation for the architecture, CHILD_RAW_SYSCALLS is 0 and glibc's syscall() is
 * used instead; the executor then clones vfork-style, with the cloning thread suspended until the child has
 * called execve, so that errno is written only while nobody else reads it. */

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#define _child_inline_ static inline __attribute__((always_inline, no_sanitize_address))

#if defined(__x86_64__)
#define CHILD_RAW_SYSCALLS 1
_child_inline_ long child_syscall6(long n, long a, long b, long c, long d, long e, long f) {
        register long r10 __asm__("r10") = d;
        register long r8 __asm__("r8") = e;
        register long r9 __asm__("r9") = f;
        long ret;

        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
        return ret;
}
#elif defined(__aarch64__)
#define CHILD_RAW_SYSCALLS 1
_child_inline_ long child_syscall6(long n, long a, long b, long c, long d, long e, long f) {
        register long x8 __asm__("x8") = n;
        register long x0 __asm__("x0") = a;
        register long x1 __asm__("x1") = b;
        register long x2 __asm__("x2") = c;
        register long x3 __asm__("x3") = d;
        register long x4 __asm__("x4") = e;
        register long x5 __asm__("x5") = f;

        __asm__ volatile("svc 0"
                         : "+r"(x0)
                         : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                         : "memory");
        return x0;
}
#else
#define CHILD_RAW_SYSCALLS 0
_child_inline_ long child_syscall6(long n, long a, long b, long c, long d, long e, long f) {
        long r = syscall(n, a, b, c, d, e, f);
        return r < 0 ? -errno : r;
}
#endif

/* child_syscall(SYS_x, args...): up to six arguments, the missing ones zero. */
#define CHILD_SYSCALL_PAD(n, a, b, c, d, e, f, ...)                                                  \
        child_syscall6((n), (long) (a), (long) (b), (long) (c), (long) (d), (long) (e), (long) (f))
#define child_syscall(...) CHILD_SYSCALL_PAD(__VA_ARGS__, 0, 0, 0, 0, 0, 0)
