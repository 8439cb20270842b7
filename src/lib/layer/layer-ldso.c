/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <assert.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "basic/string-util.h"
#include "layer/layer-ldso.h"
#include "layer/layer-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Elf *, elf_end);

/* ---- /etc/ld.so.cache ---- */

#define CACHE_MAGIC_OLD "ld.so-1.7.0"
#define CACHE_MAGIC_NEW "glibc-ld.so.cache1.1"
#define CACHE_OLD_HEADER 16    /* magic[11], padding, u32 nlibs */
#define CACHE_OLD_ENTRY 12     /* i32 flags, u32 key, u32 value */
#define CACHE_NEW_HEADER 48    /* magic[20], u32 nlibs, u32 len_strings, u8 flags, pad[3], u32 ext, u32[3] */
#define CACHE_NEW_ENTRY 24     /* i32 flags, u32 key, u32 value, u32 osversion, u64 hwcap */

/* Entry flags (glibc's elf/cache.h): the low byte is the kind of library, the next the ABI. */
#define FLAG_ELF 0x0001
#define FLAG_ELF_LIBC6 0x0003
#define FLAG_SPARC_LIB64 0x0100
#define FLAG_X8664_LIB64 0x0300
#define FLAG_S390_LIB64 0x0400
#define FLAG_POWERPC_LIB64 0x0500
#define FLAG_X8664_LIBX32 0x0800
#define FLAG_ARM_LIBHF 0x0900
#define FLAG_AARCH64_LIB64 0x0a00
#define FLAG_ARM_LIBSF 0x0b00
#define FLAG_RISCV_FLOAT_ABI_SOFT 0x0f00
#define FLAG_RISCV_FLOAT_ABI_DOUBLE 0x1000

typedef struct LdCacheEntry {
        uint32_t flags;
        uint64_t hwcap;
        const char *key, *value;
} LdCacheEntry;

struct LdCache {
        char *data;
        LdCacheEntry *entries;
        size_t n_entries;
};

LdCache *ld_cache_free(LdCache *c) {
        if (!c)
                return NULL;
        free(c->data);
        free(c->entries);
        free(c);
        return NULL;
}

size_t ld_cache_size(const LdCache *c) {
        return c->n_entries;
}

/* A NUL-terminated string at offset off of [base, base + size), or NULL. */
static const char *cache_string(const char *base, size_t size, uint32_t off) {
        if (off >= size || !memchr(base + off, 0, size - off))
                return NULL;
        return base + off;
}

static uint32_t read_u32(const char *p) {
        uint32_t v;
        memcpy(&v, p, sizeof v);
        return v;
}

static uint64_t read_u64(const char *p) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        return v;
}

int ld_cache_parse(const void *data, size_t size, LdCache **ret) {
        _cleanup_(ld_cache_freep) LdCache *c = NULL;
        size_t start = 0;

        /* The old format may come first; the new one then follows, aligned to 8 bytes. */
        if (size >= CACHE_OLD_HEADER && memcmp(data, CACHE_MAGIC_OLD, strlen(CACHE_MAGIC_OLD)) == 0) {
                uint64_t n = read_u32((const char *) data + 12);
                start = (size_t) MIN((uint64_t) size, CACHE_OLD_HEADER + n * CACHE_OLD_ENTRY);
                start = (start + 7) & ~(size_t) 7;
        }
        if (start > size || size - start < CACHE_NEW_HEADER ||
            memcmp((const char *) data + start, CACHE_MAGIC_NEW, strlen(CACHE_MAGIC_NEW)) != 0)
                return -EBADMSG;

        c = calloc(1, sizeof(LdCache));
        if (!c)
                return -ENOMEM;
        /* String offsets are relative to the start of the new format's header. */
        size -= start;
        c->data = malloc(size + 1);
        if (!c->data)
                return -ENOMEM;
        memcpy(c->data, (const char *) data + start, size);
        c->data[size] = 0;

        const char *h = c->data;
        uint8_t endian = (uint8_t) h[28];
        bool little = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
        if (endian != 0 && endian != (little ? 2 : 3))
                return -EBADMSG;
        uint64_t n = read_u32(h + 20);
        if (n > (size - CACHE_NEW_HEADER) / CACHE_NEW_ENTRY)
                return -EBADMSG;

        c->entries = calloc(MAX(n, (uint64_t) 1), sizeof(LdCacheEntry));
        if (!c->entries)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *e = h + CACHE_NEW_HEADER + i * CACHE_NEW_ENTRY;
                LdCacheEntry *x = &c->entries[i];

                x->flags = read_u32(e);
                x->key = cache_string(h, size, read_u32(e + 4));
                x->value = cache_string(h, size, read_u32(e + 8));
                x->hwcap = read_u64(e + 16);
                if (!x->key || !x->value)
                        return -EBADMSG;
        }
        c->n_entries = n;
        *ret = TAKE_PTR(c);
        return 0;
}

int ld_cache_load(const char *path, LdCache **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_full_file(path, LD_CACHE_MAX_SIZE, &data, &size);
        if (r < 0)
                return r;
        return ld_cache_parse(data, size, ret);
}

/* glibc's _DL_CACHE_DEFAULT_ID for the ABI of such objects; 0 if we don't know the machine. */
static uint32_t cache_flags_for(int elf_class, int machine, uint32_t e_flags) {
        switch (machine) {
        case EM_X86_64:
                return FLAG_ELF_LIBC6 | (elf_class == ELFCLASS64 ? FLAG_X8664_LIB64 : FLAG_X8664_LIBX32);
        case EM_386:
                return FLAG_ELF_LIBC6;
        case EM_AARCH64:
                return FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64;
        case EM_ARM:
                return FLAG_ELF_LIBC6 |
                        ((e_flags & EF_ARM_ABI_FLOAT_HARD) ? FLAG_ARM_LIBHF : FLAG_ARM_LIBSF);
        case EM_PPC64:
                return FLAG_ELF_LIBC6 | FLAG_POWERPC_LIB64;
        case EM_S390:
                return FLAG_ELF_LIBC6 | (elf_class == ELFCLASS64 ? FLAG_S390_LIB64 : 0);
        case EM_SPARCV9:
                return FLAG_ELF_LIBC6 | FLAG_SPARC_LIB64;
        case EM_RISCV:
                if (elf_class != ELFCLASS64)
                        return 0;
                return FLAG_ELF_LIBC6 | ((e_flags & EF_RISCV_FLOAT_ABI) == EF_RISCV_FLOAT_ABI_DOUBLE ?
                                         FLAG_RISCV_FLOAT_ABI_DOUBLE : FLAG_RISCV_FLOAT_ABI_SOFT);
        default:
                return 0;
        }
}

const char *ld_cache_lookup(const LdCache *c, const char *name, int elf_class, int machine,
                            uint32_t e_flags) {
        uint32_t want = cache_flags_for(elf_class, machine, e_flags);

        if (want == 0)
                return NULL;
        for (size_t i = 0; i < c->n_entries; i++) {
                const LdCacheEntry *e = &c->entries[i];
                /* ld.so also accepts plain FLAG_ELF entries (_dl_cache_check_flags()). */
                if ((e->flags == want || e->flags == FLAG_ELF) && e->hwcap == 0 && streq(e->key, name))
                        return e->value;
        }
        return NULL;
}

/* ---- ELF objects, through libelf ---- */

typedef struct ElfInfo {
        int elf_class;
        int data;
        int machine;
        int type;
        uint32_t e_flags;
        char *interp;   /* PT_INTERP */
        char **needed;  /* DT_NEEDED, in order */
        char *soname;
        char *rpath;    /* DT_RPATH, unless there is a DT_RUNPATH */
        char *runpath;
        bool nodeflib;  /* DF_1_NODEFLIB */
} ElfInfo;

static void elf_info_done(ElfInfo *i) {
        free(i->interp);
        strv_free(i->needed);
        free(i->soname);
        free(i->rpath);
        free(i->runpath);
        *i = (ElfInfo) {};
}

typedef struct Segment {
        uint64_t vaddr, offset, filesz;
} Segment;

/* A copy of a string of the dynamic string table; NULL if out of bounds. */
static char *dyn_string(const char *raw, size_t raw_size, uint64_t strtab, uint64_t strsz, uint64_t off) {
        if (strtab >= raw_size)
                return NULL;
        uint64_t size = MIN(strsz, (uint64_t) raw_size - strtab);
        if (off >= size || !memchr(raw + strtab + off, 0, (size_t) (size - off)))
                return NULL;
        return strdup(raw + strtab + off);
}

static int read_dynamic(Elf *elf, const char *raw, size_t raw_size, const GElf_Phdr *dyn,
                        const Segment *loads, size_t n_loads, ElfInfo *info) {
        uint64_t strtab_vaddr = 0, strsz = 0, strtab = UINT64_MAX, soname = UINT64_MAX, rpath = UINT64_MAX,
                 runpath = UINT64_MAX;
        _cleanup_free_ uint64_t *needed = NULL;
        size_t n_needed = 0;
        bool have_strtab = false;

        size_t entsize = gelf_fsize(elf, ELF_T_DYN, 1, EV_CURRENT);
        if (entsize == 0 || dyn->p_offset > raw_size || dyn->p_filesz > raw_size - dyn->p_offset)
                return -ENOEXEC;
        Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t) dyn->p_offset, dyn->p_filesz, ELF_T_DYN);
        if (!d)
                return -ENOEXEC;
        size_t n = dyn->p_filesz / entsize;
        needed = calloc(MAX(n, (size_t) 1), sizeof(uint64_t));
        if (!needed)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                GElf_Dyn e;
                if (!gelf_getdyn(d, (int) i, &e))
                        return -ENOEXEC;
                if (e.d_tag == DT_NULL)
                        break;
                switch (e.d_tag) {
                case DT_NEEDED:
                        needed[n_needed++] = e.d_un.d_val;
                        break;
                case DT_STRTAB:
                        strtab_vaddr = e.d_un.d_ptr;
                        have_strtab = true;
                        break;
                case DT_STRSZ:
                        strsz = e.d_un.d_val;
                        break;
                case DT_SONAME:
                        soname = e.d_un.d_val;
                        break;
                case DT_RPATH:
                        rpath = e.d_un.d_val;
                        break;
                case DT_RUNPATH:
                        runpath = e.d_un.d_val;
                        break;
                case DT_FLAGS_1:
                        info->nodeflib = e.d_un.d_val & DF_1_NODEFLIB;
                        break;
                }
        }
        if (n_needed == 0 && soname == UINT64_MAX && rpath == UINT64_MAX && runpath == UINT64_MAX)
                return 0;
        if (!have_strtab)
                return -ENOEXEC;
        /* DT_STRTAB is an address: find the file offset through the PT_LOAD segments. */
        for (size_t i = 0; i < n_loads; i++)
                if (strtab_vaddr >= loads[i].vaddr && strtab_vaddr - loads[i].vaddr < loads[i].filesz) {
                        strtab = loads[i].offset + (strtab_vaddr - loads[i].vaddr);
                        break;
                }
        if (strtab == UINT64_MAX)
                return -ENOEXEC;

        info->needed = calloc(n_needed + 1, sizeof(char *));
        if (!info->needed)
                return -ENOMEM;
        for (size_t i = 0; i < n_needed; i++) {
                info->needed[i] = dyn_string(raw, raw_size, strtab, strsz, needed[i]);
                if (!info->needed[i] || !info->needed[i][0])
                        return -ENOEXEC;
        }
        if (soname != UINT64_MAX && !(info->soname = dyn_string(raw, raw_size, strtab, strsz, soname)))
                return -ENOEXEC;
        if (runpath != UINT64_MAX) {
                if (!(info->runpath = dyn_string(raw, raw_size, strtab, strsz, runpath)))
                        return -ENOEXEC;
        } else if (rpath != UINT64_MAX && !(info->rpath = dyn_string(raw, raw_size, strtab, strsz, rpath)))
                return -ENOEXEC;
        return 0;
}

/* The ELF file at fd, mapped: *ret_raw its bytes, and its number of program headers; -ENOEXEC if it is not
 * one. */
static int elf_open_raw(int fd, Elf **ret, const char **ret_raw, size_t *ret_raw_size, size_t *ret_phnum) {
        _cleanup_(elf_endp) Elf *elf = NULL;

        if (elf_version(EV_CURRENT) == EV_NONE)
                return -EIO;
        elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, ret_phnum) != 0)
                return -ENOEXEC;
        *ret_raw = elf_rawfile(elf, ret_raw_size);
        if (!*ret_raw)
                return -ENOEXEC;
        *ret = TAKE_PTR(elf);
        return 0;
}

/* -ENOEXEC if fd is not a well-formed ELF file. */
static int elf_info_read(int fd, ElfInfo *ret) {
        _cleanup_(elf_info_done) ElfInfo info = {};
        _cleanup_(elf_endp) Elf *elf = NULL;
        _cleanup_free_ Segment *loads = NULL;
        size_t n_loads = 0, phnum, raw_size;
        GElf_Phdr dyn = {};
        bool have_dyn = false;
        const char *raw;
        GElf_Ehdr eh;
        int r;

        r = elf_open_raw(fd, &elf, &raw, &raw_size, &phnum);
        if (r < 0)
                return r;
        if (!gelf_getehdr(elf, &eh))
                return -ENOEXEC;

        info.elf_class = gelf_getclass(elf);
        info.data = eh.e_ident[EI_DATA];
        info.machine = eh.e_machine;
        info.type = eh.e_type;
        info.e_flags = eh.e_flags;

        loads = calloc(MAX(phnum, (size_t) 1), sizeof(Segment));
        if (!loads)
                return -ENOMEM;
        for (size_t i = 0; i < phnum; i++) {
                GElf_Phdr ph;
                if (!gelf_getphdr(elf, (int) i, &ph))
                        return -ENOEXEC;
                if (ph.p_type == PT_LOAD)
                        loads[n_loads++] = (Segment) { ph.p_vaddr, ph.p_offset, ph.p_filesz };
                else if (ph.p_type == PT_DYNAMIC) {
                        dyn = ph;
                        have_dyn = true;
                } else if (ph.p_type == PT_INTERP) {
                        if (ph.p_offset > raw_size || ph.p_filesz > raw_size - ph.p_offset ||
                            ph.p_filesz < 2 ||
                            memchr(raw + ph.p_offset, 0, ph.p_filesz) != raw + ph.p_offset + ph.p_filesz - 1)
                                return -ENOEXEC;
                        free(info.interp);
                        info.interp = strdup(raw + ph.p_offset);
                        if (!info.interp)
                                return -ENOMEM;
                }
        }
        if (have_dyn) {
                r = read_dynamic(elf, raw, raw_size, &dyn, loads, n_loads, &info);
                if (r < 0)
                        return r;
        }
        *ret = info;
        info = (ElfInfo) {};
        return 0;
}

/* ---- The search ---- */

typedef struct Object {
        char *path;    /* as the loader opened it */
        char **names;  /* names that find this object: those it was requested by, and its DT_SONAME */
        dev_t dev;
        ino_t ino;
        char **rpath_dirs, **runpath_dirs; /* expanded, each ending in '/' (or "": the current directory) */
        size_t loader; /* index of the object that caused it to be loaded; SIZE_MAX for the binary */
        ElfInfo info;
} Object;

typedef struct Resolver {
        const char *binary;
        const LdCache *cache;
        /* The binary's ABI: every object must share it. */
        int elf_class, data, machine;
        uint32_t e_flags;
        char *main_origin;
        const char *platform;    /* AT_PLATFORM when the binary is for this machine, else NULL */
        char *lib;               /* what $LIB expands to */
        char **ld_library_path_dirs;
        char **default_dirs;
        Object *objects;
        size_t n_objects;
        char **reterr_message;
} Resolver;

static void resolver_done(Resolver *r) {
        for (size_t i = 0; i < r->n_objects; i++) {
                Object *o = &r->objects[i];
                free(o->path);
                strv_free(o->names);
                strv_free(o->rpath_dirs);
                strv_free(o->runpath_dirs);
                elf_info_done(&o->info);
        }
        free(r->objects);
        free(r->main_origin);
        free(r->lib);
        strv_free(r->ld_library_path_dirs);
        strv_free(r->default_dirs);
}

static const char *multiarch_triplet(const Resolver *r) {
        bool c64 = r->elf_class == ELFCLASS64, le = r->data == ELFDATA2LSB;

        switch (r->machine) {
        case EM_X86_64:
                return c64 ? "x86_64-linux-gnu" : "x86_64-linux-gnux32";
        case EM_386:
                return "i386-linux-gnu";
        case EM_AARCH64:
                return le ? "aarch64-linux-gnu" : "aarch64_be-linux-gnu";
        case EM_ARM:
                return (r->e_flags & EF_ARM_ABI_FLOAT_HARD) ? "arm-linux-gnueabihf" : "arm-linux-gnueabi";
        case EM_PPC64:
                return le ? "powerpc64le-linux-gnu" : "powerpc64-linux-gnu";
        case EM_S390:
                return c64 ? "s390x-linux-gnu" : "s390-linux-gnu";
        case EM_RISCV:
                return c64 ? "riscv64-linux-gnu" : NULL;
        case EM_LOONGARCH:
                return c64 ? "loongarch64-linux-gnu" : NULL;
        default:
                return NULL;
        }
}

static bool is_directory(const char *p) {
        struct stat st;
        return stat(p, &st) >= 0 && S_ISDIR(st.st_mode);
}

/* The default directories and $LIB, which differ between distributions: Debian's multiarch directories if
 * this machine has them, lib64 for 64-bit machines (Fedora's), and lib. */
static int resolver_setup_defaults(Resolver *r) {
        const char *triplet = multiarch_triplet(r);
        _cleanup_free_ char *multi = triplet ? strjoin("/lib/", triplet) : NULL;
        bool lib64 = r->elf_class == ELFCLASS64;
        int k;

        if (triplet && !multi)
                return -ENOMEM;
        if (multi && is_directory(multi)) {
                r->lib = strjoin("lib/", triplet);
                k = strv_consume(&r->default_dirs, strjoin("/lib/", triplet, "/"));
                if (k >= 0)
                        k = strv_consume(&r->default_dirs, strjoin("/usr/lib/", triplet, "/"));
                if (k < 0)
                        return k;
        } else
                r->lib = strdup(lib64 && is_directory("/lib64") ? "lib64" : "lib");
        if (!r->lib)
                return -ENOMEM;
        if (lib64) {
                k = strv_extend(&r->default_dirs, "/lib64/");
                if (k >= 0)
                        k = strv_extend(&r->default_dirs, "/usr/lib64/");
                if (k < 0)
                        return k;
        }
        k = strv_extend(&r->default_dirs, "/lib/");
        if (k >= 0)
                k = strv_extend(&r->default_dirs, "/usr/lib/");
        return k;
}

/* Matches a dynamic string token at p (just after a '$'): "NAME" not followed by an identifier character, or
 * "{NAME}".  Returns its length, 0 if it is not that token. */
static size_t dst_match(const char *p, const char *name) {
        size_t l = strlen(name);

        if (strncmp(p, name, l) == 0 && !(p[l] == '_' || (p[l] >= 'A' && p[l] <= 'Z') ||
                                           (p[l] >= 'a' && p[l] <= 'z') || (p[l] >= '0' && p[l] <= '9')))
                return l;
        if (p[0] == '{' && strncmp(p + 1, name, l) == 0 && p[l + 1] == '}')
                return l + 2;
        return 0;
}

/* Expands $ORIGIN, $LIB and $PLATFORM in one element of a path list.  Returns 0 and NULL in *ret if a token
 * cannot be expanded (the element is then dropped, as ld.so does). */
static int expand_dst(const Resolver *r, const char *origin, const char *s, char **ret) {
        TextBuf b = {};
        char *out = NULL;

        for (const char *p = s; *p;) {
                size_t l;
                const char *v = NULL;

                if (*p != '$') {
                        textbuf_append_char(&b, *p++);
                        continue;
                }
                if ((l = dst_match(p + 1, "ORIGIN")) > 0)
                        v = origin;
                else if ((l = dst_match(p + 1, "PLATFORM")) > 0)
                        v = r->platform;
                else if ((l = dst_match(p + 1, "LIB")) > 0)
                        v = r->lib;
                else {
                        textbuf_append_char(&b, *p++);
                        continue;
                }
                if (!v) {
                        textbuf_done(&b);
                        *ret = NULL;
                        return 0;
                }
                textbuf_append(&b, v);
                p += 1 + l;
        }
        int k = textbuf_steal(&b, &out);
        if (k < 0)
                return k;
        *ret = out;
        return 0;
}

/* Splits a DT_RPATH, DT_RUNPATH or LD_LIBRARY_PATH into directories as ld.so's fillin_rpath() does: tokens
 * expanded, trailing slashes replaced by exactly one, an empty element meaning the current directory. */
static int split_path_list(const Resolver *r, const char *origin, const char *list, const char *separators,
                           char ***ret) {
        _cleanup_strv_free_ char **dirs = NULL;
        int k;

        if (!list) {
                *ret = NULL;
                return 0;
        }
        for (const char *p = list;;) {
                size_t n = strcspn(p, separators);
                _cleanup_free_ char *elem = strndup(p, n), *x = NULL;
                if (!elem)
                        return -ENOMEM;
                if (n == 0)
                        k = strv_extend(&dirs, "");
                else {
                        k = expand_dst(r, origin, elem, &x);
                        if (k < 0)
                                return k;
                        if (x && x[0]) {
                                size_t l = strlen(x);
                                while (l > 1 && x[l - 1] == '/')
                                        l--;
                                x[l] = 0;
                                k = strv_consume(&dirs, strjoin(x, l == 1 && x[0] == '/' ? "" : "/"));
                        }
                }
                if (k < 0)
                        return k;
                if (!p[n])
                        break;
                p += n + 1;
        }
        *ret = TAKE_PTR(dirs);
        return 0;
}

static bool object_compatible(const Resolver *r, const ElfInfo *i) {
        return i->elf_class == r->elf_class && i->data == r->data && i->machine == r->machine &&
                i->type == ET_DYN;
}

/* Opens path and reads it if it is a shared object the binary can load.  Returns 1 if so, 0 if the file is
 * missing or unsuitable (the search goes on). */
static int try_candidate(const Resolver *r, const char *path, ElfInfo *ret_info, struct stat *ret_st) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        ElfInfo info = {};
        struct stat st;
        int k;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return 0;
        k = elf_info_read(fd, &info);
        if (k == -ENOEXEC)
                return 0;
        if (k < 0)
                return k;
        if (!object_compatible(r, &info)) {
                elf_info_done(&info);
                return 0;
        }
        *ret_info = info;
        *ret_st = st;
        return 1;
}

static int search_dirs(const Resolver *r, char * const *dirs, const char *name, char **ret_path,
                       ElfInfo *ret_info, struct stat *ret_st) {
        STRV_FOREACH(d, dirs) {
                _cleanup_free_ char *p = strjoin(*d, name);
                if (!p)
                        return -ENOMEM;
                int k = try_candidate(r, p, ret_info, ret_st);
                if (k < 0)
                        return k;
                if (k > 0) {
                        *ret_path = TAKE_PTR(p);
                        return 1;
                }
        }
        return 0;
}

/* Finds the object for a DT_NEEDED name of object `from`: returns 1 with a new path, info and stat, or 0. */
static int search(const Resolver *r, size_t from, const char *name, char **ret_path, ElfInfo *ret_info,
                  struct stat *ret_st) {
        const Object *o = &r->objects[from];
        int k;

        if (strchr(name, '/')) {
                _cleanup_free_ char *p = strdup(name);
                if (!p)
                        return -ENOMEM;
                k = try_candidate(r, p, ret_info, ret_st);
                if (k > 0)
                        *ret_path = TAKE_PTR(p);
                return k;
        }
        if (!o->info.runpath)
                for (size_t l = from; l != SIZE_MAX; l = r->objects[l].loader) {
                        k = search_dirs(r, r->objects[l].rpath_dirs, name, ret_path, ret_info, ret_st);
                        if (k != 0)
                                return k;
                }
        k = search_dirs(r, r->ld_library_path_dirs, name, ret_path, ret_info, ret_st);
        if (k != 0)
                return k;
        k = search_dirs(r, o->runpath_dirs, name, ret_path, ret_info, ret_st);
        if (k != 0 || o->info.nodeflib)
                return k;
        if (r->cache) {
                const char *p = ld_cache_lookup(r->cache, name, r->elf_class, r->machine, r->e_flags);
                if (p) {
                        k = try_candidate(r, p, ret_info, ret_st);
                        if (k < 0)
                                return k;
                        if (k > 0) {
                                *ret_path = strdup(p);
                                if (!*ret_path) {
                                        elf_info_done(ret_info);
                                        return -ENOMEM;
                                }
                                return 1;
                        }
                }
        }
        return search_dirs(r, r->default_dirs, name, ret_path, ret_info, ret_st);
}

/* The directory part of path, made absolute, for $ORIGIN. */
static int origin_of(const char *path, char **ret) {
        _cleanup_free_ char *abs = NULL;

        if (path[0] == '/')
                abs = strdup(path);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (!cwd)
                        return -errno;
                abs = layer_path_join(cwd, path);
        }
        if (!abs)
                return -ENOMEM;
        char *slash = strrchr(abs, '/');
        if (slash == abs)
                slash[1] = 0;
        else
                *slash = 0;
        *ret = TAKE_PTR(abs);
        return 0;
}

/* Appends an object; takes path and info. */
static int resolver_add(Resolver *r, char *path, ElfInfo *info, const struct stat *st, size_t loader,
                        const char *name, const char *origin) {
        _cleanup_free_ char *p = path, *own_origin = NULL;
        int k;

        if (r->n_objects >= LDSO_MAX_OBJECTS) {
                elf_info_done(info);
                return layer_error(r->reterr_message, E2BIG, "'%s' needs more than %d shared objects",
                                   r->binary, LDSO_MAX_OBJECTS);
        }
        Object *n = reallocarray(r->objects, r->n_objects + 1, sizeof(Object));
        if (!n) {
                elf_info_done(info);
                return -ENOMEM;
        }
        r->objects = n;
        Object *o = &r->objects[r->n_objects++];
        *o = (Object) {
                .path = TAKE_PTR(p),
                .dev = st->st_dev,
                .ino = st->st_ino,
                .loader = loader,
                .info = *info,
        };
        *info = (ElfInfo) {};

        if (name && (k = strv_extend(&o->names, name)) < 0)
                return k;
        if (o->info.soname && (k = strv_extend(&o->names, o->info.soname)) < 0)
                return k;
        if (!origin) {
                k = origin_of(o->path, &own_origin);
                if (k < 0)
                        return k;
                origin = own_origin;
        }
        k = split_path_list(r, origin, o->info.rpath, ":", &o->rpath_dirs);
        if (k < 0)
                return k;
        return split_path_list(r, origin, o->info.runpath, ":", &o->runpath_dirs);
}

static Object *find_loaded(Resolver *r, const char *name) {
        for (size_t i = 1; i < r->n_objects; i++)
                if (streq(r->objects[i].path, name) || strv_contains(r->objects[i].names, name))
                        return &r->objects[i];
        return NULL;
}

static Object *find_same_file(Resolver *r, const struct stat *st) {
        for (size_t i = 0; i < r->n_objects; i++)
                if (r->objects[i].dev == st->st_dev && r->objects[i].ino == st->st_ino)
                        return &r->objects[i];
        return NULL;
}

static int resolver_load_needed(Resolver *r, size_t from) {
        int k;

        for (size_t j = 0; r->objects[from].info.needed && r->objects[from].info.needed[j]; j++) {
                const char *name = r->objects[from].info.needed[j];
                _cleanup_free_ char *path = NULL;
                ElfInfo info = {};
                struct stat st;

                if (find_loaded(r, name))
                        continue;
                k = search(r, from, name, &path, &info, &st);
                if (k < 0)
                        return layer_error(r->reterr_message, k,
                                           "Failed to look up library '%s' needed by '%s': %m",
                                           name, r->objects[from].path);
                if (k == 0) {
                        if (from == 0)
                                return layer_error(r->reterr_message, ENOENT,
                                                   "Library '%s' needed by '%s' not found", name, r->binary);
                        return layer_error(r->reterr_message, ENOENT,
                                           "Library '%s' needed by '%s' (a dependency of '%s') not found",
                                           name, r->objects[from].path, r->binary);
                }
                Object *same = find_same_file(r, &st);
                if (same) {
                        /* The same file under another name: ld.so maps it once. */
                        elf_info_done(&info);
                        k = strv_extend(&same->names, name);
                } else
                        k = resolver_add(r, TAKE_PTR(path), &info, &st, from, name, /* origin= */ NULL);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int open_and_read(const char *path, ElfInfo *ret_info, struct stat *ret_st) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0)
                return -errno;
        if (!S_ISREG(ret_st->st_mode))
                return -ENOEXEC;
        return elf_info_read(fd, ret_info);
}

static int resolve_one(const char *binary, const char *ld_library_path, const LdCache *cache,
                       const ElfInfo *host, char ***result, char **reterr_message) {
        _cleanup_(resolver_done) Resolver r = { .binary = binary, .cache = cache,
                                               .reterr_message = reterr_message };
        _cleanup_(elf_info_done) ElfInfo info = {};
        _cleanup_free_ char *path = NULL;
        struct stat st;
        int k;

        k = open_and_read(binary, &info, &st);
        if (k == -ENOEXEC)
                return layer_error(reterr_message, k, "'%s' is not an ELF binary", binary);
        if (k < 0)
                return layer_error(reterr_message, k, "Failed to read binary '%s': %m", binary);
        if (!info.interp && !info.needed)
                return 0; /* statically linked */

        r.main_origin = realpath(binary, NULL);
        if (!r.main_origin)
                return layer_error(reterr_message, errno, "Failed to resolve '%s': %m", binary);
        char *slash = strrchr(r.main_origin, '/');
        slash[slash == r.main_origin ? 1 : 0] = 0;

        r.elf_class = info.elf_class;
        r.data = info.data;
        r.machine = info.machine;
        r.e_flags = info.e_flags;
        if (host && info.machine == host->machine && info.elf_class == host->elf_class)
                r.platform = (const char *) getauxval(AT_PLATFORM);
        k = resolver_setup_defaults(&r);
        if (k < 0)
                return k;
        k = split_path_list(&r, r.main_origin, ld_library_path, ":;", &r.ld_library_path_dirs);
        if (k < 0)
                return k;

        /* The binary is object 0, the interpreter (if any) object 1. */
        path = strdup(binary);
        if (!path)
                return -ENOMEM;
        k = resolver_add(&r, TAKE_PTR(path), &info, &st, SIZE_MAX, /* name= */ NULL, r.main_origin);
        if (k < 0)
                return k;
        const char *interp = r.objects[0].info.interp;
        if (interp) {
                if (interp[0] != '/')
                        return layer_error(reterr_message, ENOEXEC,
                                           "Interpreter '%s' of '%s' is not absolute", interp, binary);
                k = open_and_read(interp, &info, &st);
                if (k < 0)
                        return layer_error(reterr_message, k, "Failed to read interpreter '%s' of '%s': %m",
                                           interp, binary);
                path = strdup(interp);
                if (!path)
                        return -ENOMEM;
                k = resolver_add(&r, TAKE_PTR(path), &info, &st, /* loader= */ 0, interp,
                                 /* origin= */ NULL);
                if (k < 0)
                        return k;
        }

        /* Breadth first, as ld.so's _dl_map_object_deps(); the interpreter needs nothing. */
        for (size_t j = 0; j < r.n_objects; j++) {
                if (interp && j == 1)
                        continue;
                k = resolver_load_needed(&r, j);
                if (k < 0)
                        return k;
        }

        for (size_t i = 1; i < r.n_objects; i++) {
                k = strv_extend(result, r.objects[i].path);
                if (k < 0)
                        return k;
        }
        return 0;
}

int ldso_resolve(char * const *binaries, const char *ld_library_path, const LdCache *cache, char ***ret,
                 char **reterr_message) {
        _cleanup_strv_free_ char **result = NULL;
        ElfInfo host = {};
        struct stat st;
        int k;

        /* This machine's class and machine, for $PLATFORM. */
        bool have_host = open_and_read("/proc/self/exe", &host, &st) >= 0;

        STRV_FOREACH(b, binaries) {
                k = resolve_one(*b, ld_library_path, cache, have_host ? &host : NULL, &result,
                                reterr_message);
                if (k < 0) {
                        elf_info_done(&host);
                        return k;
                }
        }
        elf_info_done(&host);

        if (!result) {
                result = calloc(1, sizeof(char *));
                if (!result)
                        return -ENOMEM;
        }
        layer_strv_sort_unique(result);
        *ret = TAKE_PTR(result);
        return 0;
}

int elf_data_contains(const char *path, const char *text) {
        _cleanup_(elf_endp) Elf *elf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t phnum, raw_size, n;
        const char *raw;
        int r;

        assert(path);
        assert(text);

        n = strlen(text);
        if (n == 0)
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        r = elf_open_raw(fd, &elf, &raw, &raw_size, &phnum);
        if (r < 0)
                return r;
        for (size_t i = 0; i < phnum; i++) {
                GElf_Phdr ph;
                if (!gelf_getphdr(elf, (int) i, &ph))
                        return -ENOEXEC;
                if (ph.p_type != PT_LOAD || (ph.p_flags & PF_X) || ph.p_offset > raw_size)
                        continue;
                size_t size = MIN((size_t) ph.p_filesz, raw_size - (size_t) ph.p_offset);
                if (memmem(raw + ph.p_offset, size, text, n))
                        return 1;
        }
        return 0;
}
