/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

#include <linux/filter.h>
#include <stddef.h>

/* Build the default job filter with libseccomp and return it as a classic BPF program, ready for
 * seccomp(SECCOMP_SET_MODE_FILTER) in a child that may not allocate.  The caller frees *ret. */
int seccomp_default_program(struct sock_filter **ret, size_t *ret_len);

/* The syscalls the default filter denies with EPERM (NULL-terminated), for documentation and tests. */
extern const char *const seccomp_denied_syscalls[];
