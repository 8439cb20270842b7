/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/* The default seccomp filter of jobs.  It allows everything except system calls that test jobs never need
 * and that widen the kernel's attack surface, which fail with EPERM (not a kill, so that a program probing
 * for a feature sees an ordinary error).  The list, and why each is there:
 *
 *   kexec_load, kexec_file_load            replace the running kernel
 *   init_module, finit_module,             load or unload kernel code
 *   delete_module, create_module,
 *   query_module, get_kernel_syms
 *   bpf                                    eBPF programs and maps: a large verifier/JIT surface
 *   add_key, request_key, keyctl           the kernel keyrings are not namespaced
 *   perf_event_open                        performance counters: a frequent source of kernel bugs and
 *                                          of side channels on the host
 *   userfaultfd                            used to widen kernel race windows in exploits
 *   open_by_handle_at                      opens files by handle, bypassing the mount tree (the classic
 *                                          container escape); name_to_handle_at only reads a handle and
 *                                          is used by ordinary tools, so it stays allowed
 *   lookup_dcookie                         profiling interface, obsolete
 *   acct                                   process accounting for the whole system
 *   swapon, swapoff                        host swap
 *   reboot                                 in a PID namespace it only kills the job, but jobs never need it
 *   iopl, ioperm                           raw I/O port access
 *   quotactl, quotactl_fd                  host disk quotas
 *   nfsservctl, _sysctl, uselib, ustat,    obsolete interfaces with a history of bugs
 *   sysfs, vm86, vm86old
 *
 * io_uring, ptrace, unshare/clone of namespaces and mount stay allowed: test suites use them.  The filter
 * covers the native architecture and, on x86-64, the i386 and x32 ABIs too (a filter for one ABI only
 * would leave the others open, and libseccomp kills callers of an architecture the filter lacks). */

#include <assert.h>
#include <errno.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/macro.h"
#include "executor/executor-seccomp.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);

const char *const seccomp_denied_syscalls[] = {
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "create_module",
        "query_module",
        "get_kernel_syms",
        "bpf",
        "add_key",
        "request_key",
        "keyctl",
        "perf_event_open",
        "userfaultfd",
        "open_by_handle_at",
        "lookup_dcookie",
        "acct",
        "swapon",
        "swapoff",
        "reboot",
        "iopl",
        "ioperm",
        "quotactl",
        "quotactl_fd",
        "nfsservctl",
        "_sysctl",
        "uselib",
        "ustat",
        "sysfs",
        "vm86",
        "vm86old",
        NULL,
};

/* The largest program we accept back from libseccomp; the kernel's limit is BPF_MAXINSNS (4096). */
#define SECCOMP_PROGRAM_MAX (4096 * sizeof(struct sock_filter))

int seccomp_default_program(struct sock_filter **ret, size_t *ret_len) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        assert(ret);
        assert(ret_len);

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;

#if defined(__x86_64__)
        for (const uint32_t *a = (const uint32_t[]) { SCMP_ARCH_X86, SCMP_ARCH_X32, 0 }; *a; a++) {
                r = seccomp_arch_add(ctx, *a);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
#endif

        for (const char *const *name = seccomp_denied_syscalls; *name; name++) {
                int nr = seccomp_syscall_resolve_name(*name);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* unknown to this libseccomp: no architecture has it */
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                if (r < 0)
                        return r;
        }

        fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        r = read_full_fd(fd, SECCOMP_PROGRAM_MAX, &data, &size);
        if (r < 0)
                return r;
        if (size == 0 || size % sizeof(struct sock_filter) != 0)
                return -EBADMSG;

        *ret = (struct sock_filter *) TAKE_PTR(data);
        *ret_len = size / sizeof(struct sock_filter);
        return 0;
}
