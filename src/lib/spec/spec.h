/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* The data model of jobs and containers, as users write them (maelstrom-run's JSON, the runners' TOML
 * directives), before inheritance is collapsed and the environment expanded.  See spec/02 in the design. */

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
        char *mount_point; /* absolute in the container; not for MOUNT_DEVICES */
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
        char **paths;  /* LAYER_PATHS, LAYER_STUBS, LAYER_SHARED_LIBRARY_DEPENDENCIES */
        SymlinkSpec *symlinks; /* LAYER_SYMLINKS */
        size_t n_symlinks;
        PrefixOptions prefix; /* LAYER_GLOB, LAYER_PATHS, LAYER_SHARED_LIBRARY_DEPENDENCIES */
} LayerSpec;

/* One element of an environment list: variables (in order, "KEY=VALUE" with the value not yet expanded) that
 * replace (extend = false) or are merged over (extend = true) the candidate environment. */
typedef struct EnvironmentSpec {
        char **vars;
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
        unsigned use;  /* ContainerUse bits */
} ContainerParent;

/* A container spec.  Optional scalars have a *_set flag; lists distinguish "replace" (layers, environment,
 * mounts) from "append" (added_*), as the runners' directives need both. */
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
