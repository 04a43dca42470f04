/* FNV-1a 64: the checksum of relucl's own file formats (program cache, checkpoints) and the
 * hash of their keys. Not cryptographic: it catches corruption, not tampering. */
#ifndef RELUCL_IO_CHECKSUM_H
#define RELUCL_IO_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#define RELUCL__FNV_OFFSET 0xcbf29ce484222325ull

static inline uint64_t relucl__fnv1a(uint64_t hash, const void *data, size_t size) {
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        hash ^= p[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}

/* Whether a stored checksum matches. Fuzzing builds (.ci/fuzz) accept any, so that the fuzzer
 * reaches the checks behind it; no other build defines the macro. */
static inline int relucl__checksum_ok(uint64_t computed, uint64_t stored) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)computed, (void)stored;
    return 1;
#else
    return computed == stored;
#endif
}

#endif /* RELUCL_IO_CHECKSUM_H */
