/* SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "basic/fd-util.h"
#include "digest/digest.h"

struct DigestContext {
        EVP_MD_CTX *ctx;
};

/* libcrypto fails only on allocation failure or misuse; neither is a condition callers can handle better
 * than by aborting at once, as a wrong digest would be far worse. */
static void check(int ok) {
        if (!ok)
                abort();
}

int digest_context_new(DigestContext **ret) {
        DigestContext *c = calloc(1, sizeof(DigestContext));
        if (!c)
                return -ENOMEM;
        c->ctx = EVP_MD_CTX_new();
        if (!c->ctx) {
                free(c);
                return -ENOMEM;
        }
        check(EVP_DigestInit_ex(c->ctx, EVP_sha256(), NULL));
        *ret = c;
        return 0;
}

void digest_context_update(DigestContext *c, const void *data, size_t size) {
        check(EVP_DigestUpdate(c->ctx, data, size));
}

void digest_context_final(DigestContext *c, Digest *ret) {
        unsigned n = 0;
        check(EVP_DigestFinal_ex(c->ctx, ret->bytes, &n));
        check(n == DIGEST_SIZE);
        /* Ready for another round. */
        check(EVP_DigestInit_ex(c->ctx, EVP_sha256(), NULL));
}

DigestContext *digest_context_free(DigestContext *c) {
        if (!c)
                return NULL;
        EVP_MD_CTX_free(c->ctx);
        free(c);
        return NULL;
}

void digest_buffer(const void *data, size_t size, Digest *ret) {
        unsigned n = 0;
        check(EVP_Digest(data, size, ret->bytes, &n, EVP_sha256(), NULL));
        check(n == DIGEST_SIZE);
}

int digest_fd(int fd, Digest *ret, uint64_t *ret_size) {
        _cleanup_(digest_context_freep) DigestContext *c = NULL;
        uint8_t buf[128 * 1024];
        uint64_t total = 0;
        int r;

        r = digest_context_new(&c);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t k = read(fd, buf, sizeof buf);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                digest_context_update(c, buf, (size_t) k);
                total += (uint64_t) k;
        }
        digest_context_final(c, ret);
        if (ret_size)
                *ret_size = total;
        return 0;
}

int digest_file(const char *path, Digest *ret, uint64_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return digest_fd(fd, ret, ret_size);
}

void digest_to_hex(const Digest *d, char ret[static DIGEST_HEX_SIZE]) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < DIGEST_SIZE; i++) {
                ret[2 * i] = hex[d->bytes[i] >> 4];
                ret[2 * i + 1] = hex[d->bytes[i] & 15];
        }
        ret[2 * DIGEST_SIZE] = 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int digest_from_hex(const char *s, Digest *ret) {
        Digest d;

        if (strlen(s) != 2 * DIGEST_SIZE)
                return -EINVAL;
        for (size_t i = 0; i < DIGEST_SIZE; i++) {
                int a = unhex(s[2 * i]), b = unhex(s[2 * i + 1]);
                if (a < 0 || b < 0)
                        return -EINVAL;
                d.bytes[i] = (uint8_t) (a << 4 | b);
        }
        *ret = d;
        return 0;
}

int digest_from_bytes(const void *data, size_t size, Digest *ret) {
        if (size != DIGEST_SIZE)
                return -EBADMSG;
        memcpy(ret->bytes, data, DIGEST_SIZE);
        return 0;
}
