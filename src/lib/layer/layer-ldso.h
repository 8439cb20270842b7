/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The shared libraries that ELF binaries need, found the way glibc's dynamic loader (ld.so) finds them on
 * this machine.  For each DT_NEEDED name of an object, in breadth-first order from the binary:
 *
 *   1. a name with a '/' is a path;
 *   2. an object already loaded under that name (or with that DT_SONAME, or the same file) is reused; the
 *      program interpreter (PT_INTERP) counts as loaded from the start;
 *   3. if the object has no DT_RUNPATH: the DT_RPATH of the object, then of the object that loaded it, and
 *      so on up to the binary (an object's DT_RPATH is ignored when it has a DT_RUNPATH);
 *   4. LD_LIBRARY_PATH;
 *   5. the object's own DT_RUNPATH;
 *   6. /etc/ld.so.cache, for the binary's ELF class and machine (unless DF_1_NODEFLIB);
 *   7. the default directories: /lib/TRIPLET and /usr/lib/TRIPLET (Debian's multiarch), /lib64 and
 *      /usr/lib64 for 64-bit machines, /lib and /usr/lib (unless DF_1_NODEFLIB).
 *
 * $ORIGIN (the directory of the binary, symlinks resolved, or of the library as found), $LIB and $PLATFORM
 * are expanded in DT_RPATH, DT_RUNPATH and LD_LIBRARY_PATH; an element whose token cannot be expanded is
 * dropped.  A candidate of another ELF class or machine is skipped, as ld.so does.  The glibc-hwcaps and
 * legacy hwcap subdirectories (x86-64-v3, tls, ...) are not searched, and cache entries for them are
 * ignored: the baseline library is chosen, which runs on any machine of the architecture. */

#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"

#define LDSO_MAX_OBJECTS 4096           /* objects loaded for one binary */
#define LD_CACHE_MAX_SIZE (64U << 20)   /* bytes of /etc/ld.so.cache */

/* /etc/ld.so.cache, the "glibc-ld.so.cache1.1" format (alone, or after the old "ld.so-1.7.0" one). */
typedef struct LdCache LdCache;

/* -EBADMSG if malformed. */
int ld_cache_parse(const void *data, size_t size, LdCache **ret);
int ld_cache_load(const char *path, LdCache **ret);
LdCache *ld_cache_free(LdCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(LdCache *, ld_cache_free);
size_t ld_cache_size(const LdCache *c);
/* The path the cache gives for library name, for objects of ELF class elf_class (ELFCLASS32, ELFCLASS64),
 * machine (EM_*) and e_flags; NULL if none. */
const char *ld_cache_lookup(const LdCache *c, const char *name, int elf_class, int machine,
                            uint32_t e_flags);

/* binaries: absolute paths, or relative to the current directory.  ld_library_path: the value of
 * LD_LIBRARY_PATH (NULL if unset).  cache: NULL for none.  On success *ret is the sorted list, without
 * duplicates, of the paths of the libraries and program interpreters, exactly as the loader opens them (not
 * simplified; "$ORIGIN/../lib" gives ".../bin/../lib/..."), without the binaries; a static binary adds
 * nothing.  Errors, with *reterr_message saying which binary or library: -ENOENT for a library that cannot
 * be found or a missing binary or interpreter, -ENOEXEC for a binary that is not ELF or malformed, -E2BIG
 * past LDSO_MAX_OBJECTS. */
int ldso_resolve(char * const *binaries, const char *ld_library_path, const LdCache *cache, char ***ret,
                 char **reterr_message);

/* Whether the bytes of text (without its NUL) are in a loaded segment of the ELF file at path that is not
 * executable: its read-only data, where a string literal lives (env!("CARGO_TARGET_TMPDIR"), say), or its
 * initialised data.  > 0 yes, 0 no, -ENOEXEC if the file is not ELF, other negative errno if unreadable. */
int elf_data_contains(const char *path, const char *text);
