/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>

#include "basic/string-util.h"
#include "basic/string-table.h"
#include "spec/spec.h"

/* ---- errors ---- */

static int spec_error_setv(SpecError *e, int error, const char *field, unsigned line, unsigned column,
                           const char *format, va_list ap) {
        if (e) {
                e->line = line;
                e->column = line > 0 ? column : 0;
                snprintf(e->field, sizeof(e->field), "%s", strempty(field));
                vsnprintf(e->message, sizeof(e->message), format, ap);
        }
        return -abs(error);
}

int spec_error_set(SpecError *e, int error, const char *field, unsigned line, unsigned column,
                   const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        int r = spec_error_setv(e, error, field, line, column, format, ap);
        va_end(ap);
        return r;
}

int spec_error_set_field(SpecError *e, int error, const char *field, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        int r = spec_error_setv(e, error, field, /* line= */ 0, /* column= */ 0, format, ap);
        va_end(ap);
        return r;
}

int spec_error_format(const SpecError *e, char **ret) {
        TextBuf b = {};

        if (e->job > 0)
                textbuf_appendf(&b, "job %u", e->job);
        if (e->line > 0)
                textbuf_appendf(&b, "%sline %u, column %u", e->job > 0 ? ", " : "", e->line, e->column);
        if (b.len > 0)
                textbuf_append(&b, ": ");
        textbuf_append(&b, e->message);
        return textbuf_steal(&b, ret);
}

/* ---- enums ---- */

static const char *const network_table[_NETWORK_MAX] = {
        [NETWORK_DISABLED] = "disabled",
        [NETWORK_LOOPBACK] = "loopback",
        [NETWORK_LOCAL] = "local",
};

static const char *const mount_type_table[_MOUNT_TYPE_MAX] = {
        [MOUNT_TMP] = "tmp",
        [MOUNT_PROC] = "proc",
        [MOUNT_SYS] = "sys",
        [MOUNT_DEVPTS] = "devpts",
        [MOUNT_MQUEUE] = "mqueue",
        [MOUNT_BIND] = "bind",
        [MOUNT_DEVICES] = "devices",
};

static const char *const device_table[_DEVICE_MAX] = {
        [DEVICE_FULL] = "full",
        [DEVICE_FUSE] = "fuse",
        [DEVICE_NULL] = "null",
        [DEVICE_RANDOM] = "random",
        [DEVICE_SHM] = "shm",
        [DEVICE_TTY] = "tty",
        [DEVICE_URANDOM] = "urandom",
        [DEVICE_ZERO] = "zero",
};

static const char *const layer_kind_table[_LAYER_KIND_MAX] = {
        [LAYER_TAR] = "tar",
        [LAYER_GLOB] = "glob",
        [LAYER_PATHS] = "paths",
        [LAYER_STUBS] = "stubs",
        [LAYER_SYMLINKS] = "symlinks",
        [LAYER_SHARED_LIBRARY_DEPENDENCIES] = "shared-library-dependencies",
};

/* Indexed by bit number. */
static const char *const container_use_table[] = {
        "layers",
        "environment",
        "working_directory",
        "enable_writable_file_system",
        "mounts",
        "network",
        "user",
        "group",
};

DEFINE_STRING_TABLE_LOOKUP(network, Network);
DEFINE_STRING_TABLE_LOOKUP(mount_type, MountType);
DEFINE_STRING_TABLE_LOOKUP(device, Device);

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(layer_kind, LayerKind);

LayerKind layer_kind_from_string(const char *s) {
        if (streq_ptr(s, "shared_library_dependencies"))
                return LAYER_SHARED_LIBRARY_DEPENDENCIES;
        return string_table_lookup_from_string(layer_kind_table, ELEMENTSOF(layer_kind_table), s);
}

const char *container_use_to_string(ContainerUse u) {
        /* Exactly one bit. */
        if (u <= 0 || (u & (u - 1)) != 0)
                return NULL;
        return string_table_lookup_to_string(container_use_table, ELEMENTSOF(container_use_table),
                                             __builtin_ctz(u));
}

int container_use_from_string(const char *s) {
        int i = string_table_lookup_from_string(container_use_table, ELEMENTSOF(container_use_table), s);
        return i < 0 ? i : 1 << i;
}

/* ---- lifecycle ---- */

void prefix_options_done(PrefixOptions *p) {
        p->strip_prefix = mfree(p->strip_prefix);
        p->prepend_prefix = mfree(p->prepend_prefix);
}

void symlink_spec_done(SymlinkSpec *s) {
        s->link = mfree(s->link);
        s->target = mfree(s->target);
}

void layer_spec_done(LayerSpec *l) {
        l->path = mfree(l->path);
        l->paths = strv_free(l->paths);
        for (size_t i = 0; i < l->n_symlinks; i++)
                symlink_spec_done(&l->symlinks[i]);
        l->symlinks = mfree(l->symlinks);
        l->n_symlinks = 0;
        prefix_options_done(&l->prefix);
        l->library_path = mfree(l->library_path);
}

void job_mount_done(JobMount *m) {
        m->mount_point = mfree(m->mount_point);
        m->local_path = mfree(m->local_path);
}

void environment_spec_done(EnvironmentSpec *e) {
        e->vars = strv_free(e->vars);
}

LayerSpec *layer_specs_free(LayerSpec *l, size_t n) {
        for (size_t i = 0; l && i < n; i++)
                layer_spec_done(&l[i]);
        return mfree(l);
}

JobMount *job_mounts_free(JobMount *m, size_t n) {
        for (size_t i = 0; m && i < n; i++)
                job_mount_done(&m[i]);
        return mfree(m);
}

EnvironmentSpec *environment_specs_free(EnvironmentSpec *e, size_t n) {
        for (size_t i = 0; e && i < n; i++)
                environment_spec_done(&e[i]);
        return mfree(e);
}

/* strdup() that keeps NULL: returns false only on ENOMEM. */
static bool strdup_null(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return !s || *ret;
}

static bool strv_copy_null(char * const *l, char ***ret) {
        *ret = l ? strv_copy(l) : NULL;
        return !l || *ret;
}

int layer_spec_copy(const LayerSpec *src, LayerSpec *dst) {
        _cleanup_(layer_spec_done) LayerSpec c = {
                .kind = src->kind,
                .prefix.follow_symlinks = src->prefix.follow_symlinks,
                .prefix.canonicalize = src->prefix.canonicalize,
                .skip_cache_directories = src->skip_cache_directories,
        };

        if (!strdup_null(src->path, &c.path) || !strv_copy_null(src->paths, &c.paths) ||
            !strdup_null(src->prefix.strip_prefix, &c.prefix.strip_prefix) ||
            !strdup_null(src->prefix.prepend_prefix, &c.prefix.prepend_prefix) ||
            !strdup_null(src->library_path, &c.library_path))
                return -ENOMEM;
        if (src->n_symlinks > 0) {
                c.symlinks = calloc(src->n_symlinks, sizeof(SymlinkSpec));
                if (!c.symlinks)
                        return -ENOMEM;
                while (c.n_symlinks < src->n_symlinks) {
                        const SymlinkSpec *o = &src->symlinks[c.n_symlinks];
                        SymlinkSpec *s = &c.symlinks[c.n_symlinks++];
                        if (!strdup_null(o->link, &s->link) || !strdup_null(o->target, &s->target))
                                return -ENOMEM;
                }
        }

        *dst = c;
        c = (LayerSpec) {};
        return 0;
}

int job_mount_copy(const JobMount *src, JobMount *dst) {
        _cleanup_(job_mount_done) JobMount c = *src;

        c.mount_point = c.local_path = NULL;
        if (!strdup_null(src->mount_point, &c.mount_point) || !strdup_null(src->local_path, &c.local_path))
                return -ENOMEM;
        *dst = c;
        c = (JobMount) {};
        return 0;
}

int environment_spec_copy(const EnvironmentSpec *src, EnvironmentSpec *dst) {
        EnvironmentSpec c = { .extend = src->extend };

        if (!strv_copy_null(src->vars, &c.vars))
                return -ENOMEM;
        *dst = c;
        return 0;
}

ContainerParent *container_parent_free(ContainerParent *p) {
        if (!p)
                return NULL;
        free(p->name);
        return mfree(p);
}

void container_spec_init(ContainerSpec *c) {
        *c = (ContainerSpec) {
                .network = NETWORK_DISABLED,
        };
}

void container_spec_done(ContainerSpec *c) {
        c->parent = container_parent_free(c->parent);
        c->layers = layer_specs_free(c->layers, c->n_layers);
        c->added_layers = layer_specs_free(c->added_layers, c->n_added_layers);
        c->environment = environment_specs_free(c->environment, c->n_environment);
        c->added_environment = environment_specs_free(c->added_environment, c->n_added_environment);
        c->mounts = job_mounts_free(c->mounts, c->n_mounts);
        c->added_mounts = job_mounts_free(c->added_mounts, c->n_added_mounts);
        c->working_directory = mfree(c->working_directory);
        container_spec_init(c);
}

int container_spec_new(ContainerSpec **ret) {
        ContainerSpec *c = malloc(sizeof(ContainerSpec));
        if (!c)
                return -ENOMEM;
        container_spec_init(c);
        *ret = c;
        return 0;
}

ContainerSpec *container_spec_free(ContainerSpec *c) {
        if (!c)
                return NULL;
        container_spec_done(c);
        return mfree(c);
}

int job_spec_new(JobSpec **ret) {
        _cleanup_(job_spec_freep) JobSpec *j = calloc(1, sizeof(JobSpec));
        if (!j)
                return -ENOMEM;
        container_spec_init(&j->container);
        j->arguments = calloc(1, sizeof(char *));
        if (!j->arguments)
                return -ENOMEM;
        *ret = TAKE_PTR(j);
        return 0;
}

JobSpec *job_spec_free(JobSpec *j) {
        if (!j)
                return NULL;
        container_spec_done(&j->container);
        free(j->program);
        strv_free(j->arguments);
        free(j->tty);
        return mfree(j);
}

ResolvedJob *resolved_job_free(ResolvedJob *j) {
        if (!j)
                return NULL;
        free(j->image);
        layer_specs_free(j->layers, j->n_layers);
        strv_free(j->environment);
        job_mounts_free(j->mounts, j->n_mounts);
        free(j->working_directory);
        free(j->program);
        strv_free(j->arguments);
        return mfree(j);
}

int spec_array_append_copies(void **array, size_t *n_array, const void *src, size_t n, size_t size,
                             int (*copy)(const void *src, void *dst)) {
        if (n == 0)
                return 0;
        void *a = reallocarray(*array, *n_array + n, size);
        if (!a)
                return -ENOMEM;
        *array = a;
        for (size_t i = 0; i < n; i++) {
                int r = copy((const char *) src + i * size, (char *) a + (*n_array) * size);
                if (r < 0)
                        return r;
                (*n_array)++;
        }
        return 0;
}
