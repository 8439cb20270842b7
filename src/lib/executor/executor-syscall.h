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

/* clone(flags, stack_top, parent_tid) whose child runs fn(arg) on the new stack and exits with its return
 * value; returns the child's pid, or -errno, in the caller.  stack_top must be 16-byte aligned.  Only where
 * CHILD_CLONE is 1; elsewhere it fails with -ENOSYS. */
#if defined(__x86_64__)
#define CHILD_CLONE 1
_child_inline_ long child_clone(unsigned long flags, void *stack_top, int *parent_tid, int (*fn)(void *),
                                void *arg) {
        register long r10 __asm__("r10") = 0; /* child_tid */
        register long r8 __asm__("r8") = 0;   /* tls */
        register void *r12 __asm__("r12") = (void *) fn;
        register void *r13 __asm__("r13") = arg;
        long ret;

        /* The child comes back from the syscall on the new stack with the same registers: it must not return
         * into the compiled code (whose frame is on the old stack), so it calls fn from here, like glibc's
         * clone(). */
        __asm__ volatile("syscall\n\t"
                         "testq %%rax, %%rax\n\t"
                         "jnz 1f\n\t"
                         "xorl %%ebp, %%ebp\n\t"
                         "movq %%r13, %%rdi\n\t"
                         "callq *%%r12\n\t"
                         "movq %%rax, %%rdi\n\t"
                         "movl %[exit], %%eax\n\t"
                         "syscall\n\t"
                         "ud2\n"
                         "1:\n\t"
                         : "=a"(ret)
                         : "a"((long) SYS_clone), "D"(flags), "S"(stack_top), "d"(parent_tid), "r"(r10),
                           "r"(r8), "r"(r12), "r"(r13), [exit] "i"(SYS_exit)
                         : "rcx", "r11", "memory");
        return ret;
}
#else
#define CHILD_CLONE 0
_child_inline_ long child_clone(unsigned long flags, void *stack_top, int *parent_tid, int (*fn)(void *),
                                void *arg) {
        return -ENOSYS;
}
#endif

/* child_syscall(SYS_x, args...): up to six arguments, the missing ones zero. */
#define CHILD_SYSCALL_PAD(n, a, b, c, d, e, f, ...)                                                  \
        child_syscall6((n), (long) (a), (long) (b), (long) (c), (long) (d), (long) (e), (long) (f))
#define child_syscall(...) CHILD_SYSCALL_PAD(__VA_ARGS__, 0, 0, 0, 0, 0, 0)
