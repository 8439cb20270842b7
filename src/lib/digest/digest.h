/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#pragma once

/* SHA-256 digests, through OpenSSL's libcrypto.  Artifacts (blobs, tars, manifests) are named by them. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "basic/macro.h"

#define DIGEST_SIZE 32
#define DIGEST_HEX_SIZE (DIGEST_SIZE * 2 + 1)

typedef struct Digest {
        uint8_t bytes[DIGEST_SIZE];
} Digest;

static inline bool digest_equal(const Digest *a, const Digest *b) {
        return memcmp(a->bytes, b->bytes, DIGEST_SIZE) == 0;
}

void digest_buffer(const void *data, size_t size, Digest *ret);
/* Reads fd from its current position to the end. */
int digest_fd(int fd, Digest *ret, uint64_t *ret_size);
int digest_file(const char *path, Digest *ret, uint64_t *ret_size);

/* Incremental: for data that arrives in pieces (uploads, fetches). */
typedef struct DigestContext DigestContext;
int digest_context_new(DigestContext **ret);
void digest_context_update(DigestContext *c, const void *data, size_t size);
void digest_context_final(DigestContext *c, Digest *ret);
DigestContext *digest_context_free(DigestContext *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(DigestContext *, digest_context_free);

/* Lower-case hex, NUL-terminated. */
void digest_to_hex(const Digest *d, char ret[static DIGEST_HEX_SIZE]);
/* Exactly 64 hex digits (either case); -EINVAL otherwise. */
int digest_from_hex(const char *s, Digest *ret);
/* From 32 raw bytes (a protobuf field); -EBADMSG if the size is wrong. */
int digest_from_bytes(const void *data, size_t size, Digest *ret);
