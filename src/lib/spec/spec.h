/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The data model of jobs and containers, as users write them (maelstrom-run's JSON, the runners' TOML
 * directives), before inheritance is collapsed and the environment expanded; and the resolved job that
 * collapsing produces.  See spec/02 in the design.
 *
 * The front ends: spec-decode.h fills these structs from a parsed document (a TomlValue tree, which the JSON
 * reader in spec-json.h also produces, with positions), and validates them. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/macro.h"
#include "basic/time-util.h"

typedef enum Network {
        NETWORK_DISABLED, /* a new network namespace with lo down */
        NETWORK_LOOPBACK, /* a new network namespace with lo up */
        NETWORK_LOCAL,    /* the host's network namespace (local-only job) */
        _NETWORK_MAX,
        _NETWORK_INVALID = -EINVAL,
} Network;

typedef enum MountType {
        MOUNT_TMP,
        MOUNT_PROC,
        MOUNT_SYS,
        MOUNT_DEVPTS,
        MOUNT_MQUEUE,
        MOUNT_BIND,
        MOUNT_DEVICES,
        _MOUNT_TYPE_MAX,
        _MOUNT_TYPE_INVALID = -EINVAL,
} MountType;

typedef enum Device {
        DEVICE_FULL,
        DEVICE_FUSE,
        DEVICE_NULL,
        DEVICE_RANDOM,
        DEVICE_SHM,
        DEVICE_TTY,
        DEVICE_URANDOM,
        DEVICE_ZERO,
        _DEVICE_MAX,
        _DEVICE_INVALID = -EINVAL,
} Device;

typedef struct JobMount {
        MountType type;
        char *mount_point; /* absolute in the container, not "/"; NULL for MOUNT_DEVICES */
        char *local_path;  /* MOUNT_BIND: host path, relative to the project directory */
        bool read_only;    /* MOUNT_BIND */
        unsigned devices;  /* MOUNT_DEVICES: 1 << Device for each device */
} JobMount;

typedef enum LayerKind {
        LAYER_TAR,
        LAYER_GLOB,
        LAYER_PATHS,
        LAYER_STUBS,
        LAYER_SYMLINKS,
        LAYER_SHARED_LIBRARY_DEPENDENCIES,
        _LAYER_KIND_MAX,
        _LAYER_KIND_INVALID = -EINVAL,
} LayerKind;

typedef struct PrefixOptions {
        bool follow_symlinks;
        bool canonicalize;
        char *strip_prefix;   /* NULL = none */
        char *prepend_prefix; /* NULL = none */
} PrefixOptions;

typedef struct SymlinkSpec {
        char *link;
        char *target;
} SymlinkSpec;

typedef struct LayerSpec {
        LayerKind kind;
        char *path;    /* LAYER_TAR: the tar file; LAYER_GLOB: the pattern */
        char **paths;  /* LAYER_PATHS, LAYER_STUBS, LAYER_SHARED_LIBRARY_DEPENDENCIES (never NULL there) */
        SymlinkSpec *symlinks; /* LAYER_SYMLINKS */
        size_t n_symlinks;
        PrefixOptions prefix; /* LAYER_GLOB, LAYER_PATHS, LAYER_SHARED_LIBRARY_DEPENDENCIES */
        /* LAYER_SHARED_LIBRARY_DEPENDENCIES: the LD_LIBRARY_PATH to find the libraries with, instead of this
         * process's (NULL).  Set by the test runners only; no file format has it. */
        char *library_path;
        /* LAYER_GLOB: leave out the directories that a CACHEDIR.TAG marks as a cache (cargo's target
         * directories, say), as tar --exclude-caches-all does.  Set by the test runners only. */
        bool skip_cache_directories;
} LayerSpec;

/* One element of an environment list: variables (in order, "KEY=VALUE" with the value not yet expanded) that
 * replace (extend = false) or are merged over (extend = true) the candidate environment. */
typedef struct EnvironmentSpec {
        char **vars; /* never NULL once decoded */
        bool extend;
} EnvironmentSpec;

/* Which fields a child takes from its parent. */
typedef enum ContainerUse {
        USE_LAYERS = 1 << 0,
        USE_ENVIRONMENT = 1 << 1,
        USE_WORKING_DIRECTORY = 1 << 2,
        USE_ENABLE_WRITABLE_FILE_SYSTEM = 1 << 3,
        USE_MOUNTS = 1 << 4,
        USE_NETWORK = 1 << 5,
        USE_USER = 1 << 6,
        USE_GROUP = 1 << 7,
        USE_IMAGE_ALL = USE_LAYERS | USE_ENVIRONMENT | USE_WORKING_DIRECTORY,
        USE_CONTAINER_ALL = USE_LAYERS | USE_ENVIRONMENT | USE_WORKING_DIRECTORY |
                USE_ENABLE_WRITABLE_FILE_SYSTEM | USE_MOUNTS | USE_NETWORK | USE_USER | USE_GROUP,
} ContainerUse;

typedef struct ContainerParent {
        char *name;    /* an image URI (is_image) or a named container */
        bool is_image;
        unsigned use;  /* ContainerUse bits; a subset of USE_IMAGE_ALL for an image */
} ContainerParent;

/* A container spec.  Optional scalars have a *_set flag; lists distinguish "replace" (layers, environment,
 * mounts) from "append" (added_*), as the runners' directives need both.  When collapsing, a container's own
 * list is the list followed by the added list. */
typedef struct ContainerSpec {
        ContainerParent *parent; /* NULL = none */

        LayerSpec *layers;
        size_t n_layers;
        bool layers_set;
        LayerSpec *added_layers;
        size_t n_added_layers;

        EnvironmentSpec *environment;
        size_t n_environment;
        bool environment_set;
        EnvironmentSpec *added_environment;
        size_t n_added_environment;

        JobMount *mounts;
        size_t n_mounts;
        bool mounts_set;
        JobMount *added_mounts;
        size_t n_added_mounts;

        Network network;
        bool network_set;
        bool enable_writable_file_system;
        bool enable_writable_file_system_set;
        char *working_directory; /* NULL = unset */
        uid_t user;
        bool user_set;
        gid_t group;
        bool group_set;
} ContainerSpec;

typedef struct TtySpec {
        unsigned short rows, columns;
} TtySpec;

typedef struct JobSpec {
        ContainerSpec container;
        char *program;
        char **arguments;            /* argv[1..]; never NULL once parsed */
        usec_t timeout;              /* 0 = none */
        usec_t estimated_duration;   /* 0 = unknown */
        int8_t priority;
        TtySpec *tty;                /* NULL = no tty */
        bool capture_file_system_changes;
} JobSpec;

/* A job with inheritance collapsed and its environment expanded: what the client turns into the wire JobSpec
 * (after preparing the layers).  Owns everything it points to. */
typedef struct ResolvedJob {
        char *image;              /* the image the chain ends in, NULL = none */
        /* What the job takes from that image: USE_IMAGE_ALL bits, effective along the whole chain (a field
         * counts only if every link uses it). */
        unsigned image_use;
        LayerSpec *layers;        /* bottom first; with USE_LAYERS in image_use, the image's go below */
        size_t n_layers;
        char **environment;       /* "KEY=VALUE", sorted by KEY, each KEY once; never NULL */
        JobMount *mounts;         /* in the order they apply */
        size_t n_mounts;
        Network network;
        bool enable_writable_file_system;
        char *working_directory;  /* never NULL; "/" by default */
        uid_t user;
        gid_t group;
        char *program;
        char **arguments;         /* never NULL */
        usec_t timeout;           /* 0 = none */
        usec_t estimated_duration;
        int8_t priority;
        bool allocate_tty;
        TtySpec tty;              /* with allocate_tty */
        bool capture_file_system_changes;
} ResolvedJob;

/* An error in a spec: where it is and what is wrong.  Positions come from the document (for maelstrom-run's
 * stream they count over the whole stream); the message names the field. */
typedef struct SpecError {
        unsigned job;          /* 1-based position of the job in its stream; 0 = not known here */
        unsigned line, column; /* 1-based, column in characters; both 0 if there is no position */
        char field[128];       /* the field it is about, as a path ("layers[1].glob"); "" = none */
        char message[512];     /* e.g. "field 'timeout': expected a non-negative number, got a string" */
} SpecError;

/* Fills *e (if not NULL) and returns -abs(error).  A NULL field or line 0 means none. */
_printf_(6, 7) int spec_error_set(SpecError *e, int error, const char *field, unsigned line, unsigned column,
                                  const char *format, ...);
/* The same for an error found after parsing, which has no position. */
_printf_(4, 5) int spec_error_set_field(SpecError *e, int error, const char *field, const char *format, ...);
/* "job 3, line 5, column 12: <message>", leaving out the parts that are not known. */
int spec_error_format(const SpecError *e, char **ret);

/* ---- enums ---- */

const char *network_to_string(Network n);
Network network_from_string(const char *s);
const char *mount_type_to_string(MountType t);
MountType mount_type_from_string(const char *s);
const char *device_to_string(Device d);
Device device_from_string(const char *s);
/* "shared-library-dependencies"; from_string also takes "shared_library_dependencies". */
const char *layer_kind_to_string(LayerKind k);
LayerKind layer_kind_from_string(const char *s);
/* One ContainerUse bit <-> its field name ("layers", "enable_writable_file_system", ...).  from_string
 * returns the bit, or -EINVAL. */
const char *container_use_to_string(ContainerUse u);
int container_use_from_string(const char *s);

/* ---- lifecycle ---- */

void prefix_options_done(PrefixOptions *p);
void symlink_spec_done(SymlinkSpec *s);
void layer_spec_done(LayerSpec *l);
void job_mount_done(JobMount *m);
void environment_spec_done(EnvironmentSpec *e);
/* Free an array of n elements (each _done first); return NULL. */
LayerSpec *layer_specs_free(LayerSpec *l, size_t n);
JobMount *job_mounts_free(JobMount *m, size_t n);
EnvironmentSpec *environment_specs_free(EnvironmentSpec *e, size_t n);

/* Deep copies; *dst is written only on success. */
int layer_spec_copy(const LayerSpec *src, LayerSpec *dst);
int job_mount_copy(const JobMount *src, JobMount *dst);
int environment_spec_copy(const EnvironmentSpec *src, EnvironmentSpec *dst);

/* Append copies of n elements of size bytes from src to *array (of *n_array), with copy().  On failure
 * the elements copied so far stay appended (counted in *n_array). */
int spec_array_append_copies(void **array, size_t *n_array, const void *src, size_t n, size_t size,
                             int (*copy)(const void *src, void *dst));

ContainerParent *container_parent_free(ContainerParent *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(ContainerParent *, container_parent_free);

/* An empty spec: nothing set, network disabled. */
void container_spec_init(ContainerSpec *c);
void container_spec_done(ContainerSpec *c);
int container_spec_new(ContainerSpec **ret);
ContainerSpec *container_spec_free(ContainerSpec *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(ContainerSpec *, container_spec_free);

/* An empty job: no program, empty arguments, no timeout, priority 0. */
int job_spec_new(JobSpec **ret);
JobSpec *job_spec_free(JobSpec *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(JobSpec *, job_spec_free);

ResolvedJob *resolved_job_free(ResolvedJob *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(ResolvedJob *, resolved_job_free);

/* ---- collapsing ---- */

/* Named containers: the runners provide their `containers` table; NULL = no such container.  The spec
 * returned must stay valid while the collapse runs. */
typedef const ContainerSpec *(*ContainerLookupFunc)(const char *name, void *userdata);

/* What an image supplies, once the image module has resolved it. */
typedef struct ImageConfig {
        char * const *environment;     /* "KEY=VALUE"; NULL = empty */
        const char *working_directory; /* NULL = none */
} ImageConfig;

/* Most named containers a chain may go through. */
#define SPEC_CONTAINER_CHAIN_MAX 64U

/* Walk the parent chain of job (without collapsing anything): the image it ends in (NULL if none, borrowed
 * from the spec) and what the job effectively uses of it.  Errors as for job_spec_collapse(). */
int job_spec_find_image(const JobSpec *job, ContainerLookupFunc lookup, void *userdata,
                        const char **ret_image, unsigned *ret_use, SpecError *reterr);

/* Collapse the parent chain of job and expand its environment (see spec/02): scalars take the first value
 * set walking up the chain while each link uses the field, else the image's (working directory), else the
 * default; lists start with the job's and prepend each ancestor's while the chain keeps using the field.
 * lookup may be NULL (no named containers).  image describes the image the chain ends in (NULL = supplies
 * nothing). client_environment is the client's own environment for $env{}.
 *
 * Returns -EINVAL with *reterr filled for a spec error (unknown container, a cycle, no layers, a sys mount
 * with local networking, an environment expansion error), -ENOMEM, or -E2BIG if the chain is longer than
 * SPEC_CONTAINER_CHAIN_MAX. */
int job_spec_collapse(const JobSpec *job, ContainerLookupFunc lookup, void *userdata,
                      const ImageConfig *image, char * const *client_environment, ResolvedJob **ret,
                      SpecError *reterr);

/* ---- environment ---- */

/* Expand one value: $env{NAME} (from client_environment), $prev{NAME} (from prev, "KEY=VALUE" sorted by
 * KEY), each with an optional ":-default" that applies when the variable is unset or empty (the default is
 * literal text up to the '}'), and "$$" for a literal '$'.  Returns -EINVAL with *reterr (message only) for
 * a missing variable without a default, a bare '$', an unknown "$xyz{", or an unclosed '{'. */
int environment_expand_value(const char *value, char * const *prev, char * const *client_environment,
                             char **ret, SpecError *reterr);

/* Evaluate an environment list: start from initial ("KEY=VALUE", any order; NULL = empty), then for each
 * element expand its values against the candidate so far and replace it (extend false) or merge over it
 * (extend true).  The result is sorted by KEY, each KEY once (within one element, the last one wins).
 * Errors as for environment_expand_value(), naming the variable. */
int environment_evaluate(const EnvironmentSpec *elements, size_t n_elements, char * const *initial,
                         char * const *client_environment, char ***ret, SpecError *reterr);
