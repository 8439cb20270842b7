/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* Filling the spec structs from a parsed document, with validation.  The document is a TomlValue tree: the
 * runners' TOML files are parsed into one directly, and maelstrom-run's JSON reader (spec-json.h) converts
 * each object into one, keeping the line and column of every key and value.  So both front ends share the
 * field names, the value rules and the error messages; only the words for types differ ("object"/"number" in
 * JSON, "table"/"integer"/"float" in TOML).
 *
 * Every error is -EINVAL with *reterr filled: the position of the offending key or value, the field path
 * ("layers[1].glob"), and a message such as "field 'timeout': expected a non-negative number, got a string".
 */

#include "spec/spec.h"
#include "toml/toml.h"

typedef enum SpecField {
        /* Container fields. */
        SPEC_FIELD_IMAGE,
        SPEC_FIELD_PARENT,
        SPEC_FIELD_LAYERS,
        SPEC_FIELD_ADDED_LAYERS,
        SPEC_FIELD_ENVIRONMENT,
        SPEC_FIELD_ADDED_ENVIRONMENT,
        SPEC_FIELD_MOUNTS,
        SPEC_FIELD_ADDED_MOUNTS,
        SPEC_FIELD_NETWORK,
        SPEC_FIELD_ENABLE_WRITABLE_FILE_SYSTEM,
        SPEC_FIELD_WORKING_DIRECTORY,
        SPEC_FIELD_USER,
        SPEC_FIELD_GROUP,
        /* Job fields. */
        SPEC_FIELD_PROGRAM,
        SPEC_FIELD_ARGUMENTS,
        SPEC_FIELD_TIMEOUT,
        SPEC_FIELD_PRIORITY,
        _SPEC_FIELD_MAX,
        _SPEC_FIELD_INVALID = -EINVAL,
} SpecField;

typedef enum SpecSyntax {
        SPEC_SYNTAX_JSON,
        SPEC_SYNTAX_TOML,
        _SPEC_SYNTAX_MAX,
        _SPEC_SYNTAX_INVALID = -EINVAL,
} SpecSyntax;

/* The largest timeout accepted, in seconds. */
#define SPEC_TIMEOUT_MAX_SEC UINT32_MAX

const char *spec_field_to_string(SpecField f);
SpecField spec_field_from_string(const char *s);
static inline bool spec_field_is_container(SpecField f) {
        return f >= SPEC_FIELD_IMAGE && f <= SPEC_FIELD_GROUP;
}

/* Decode the value of one container field into c.  image and parent replace c->parent; layers, environment
 * and mounts replace the list and mark it set; added_* append to c's added list; scalars are set. */
int container_spec_decode_field(ContainerSpec *c, SpecField field, const TomlValue *v, SpecSyntax syntax,
                                SpecError *reterr);
/* The same for any field of a job (container fields go to j->container). */
int job_spec_decode_field(JobSpec *j, SpecField field, const TomlValue *v, SpecSyntax syntax,
                          SpecError *reterr);

/* A whole container spec, as the runners' `containers` table holds them: every container field (added_*
 * included); unknown fields are errors; image and parent exclude each other. */
int container_spec_decode(const TomlValue *table, SpecSyntax syntax, ContainerSpec **ret, SpecError *reterr);

/* One object of maelstrom-run's stream (spec/03): the fields image, parent, program, arguments, environment,
 * layers, added_layers, mounts, network, enable_writable_file_system, working_directory, user, group,
 * timeout and priority; program is required; unknown fields are errors; and the rules between fields: image
 * and parent exclude each other; layers, the map form of environment, and working_directory conflict with an
 * image from which the job uses that field; added_layers needs an image or parent whose layers are used. */
int job_spec_decode(const TomlValue *object, JobSpec **ret, SpecError *reterr);
