/* IDX files (the MNIST format), plain or gzip-compressed, read through zlib's gzFile API, which
 * passes a file that does not start with the gzip magic (1f 8b) through unchanged.
 *
 * Layout: magic 00 00 TT NN (TT the element type, NN the number of dimensions), NN big-endian
 * uint32 dimensions, then the elements, row-major. Only unsigned bytes (TT = 08) are loaded.
 *
 * Choices the header leaves open:
 * - A zero dimension is allowed: the array is empty and so must the body be. data is then a
 *   1-byte allocation, so a loaded relucl_idx always has non-NULL data. Dims past ndim are 1.
 * - The body may declare at most IDX_MAX_BYTES (4 GiB); more, or a product that overflows,
 *   is RELUCL_ERROR_FORMAT. The buffer grows as data arrives, so a header that claims more
 *   than the file holds costs no more memory than the data actually there.
 * - A gzip stream that is corrupt or cut short (bad deflate data, bad CRC or length, missing
 *   trailer) is RELUCL_ERROR_FORMAT; only an operating-system error is RELUCL_ERROR_IO.
 * - Bytes after the uncompressed data are an error. zlib itself ignores non-gzip bytes after
 *   the end of a complete gzip stream (that data's CRC and length were still checked). */
#include "relucl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAGIC_UBYTE 0x08
#define IDX_MAX_BYTES ((uint64_t)1 << 32)
#define IDX_CHUNK ((size_t)1 << 24)       /* gzread takes an unsigned length and returns int */
#define IDX_FIRST_ALLOC ((size_t)1 << 20) /* the body buffer starts here and doubles */

typedef struct idx_reader {
    gzFile gz;
    const char *path; /* the prefix of every message */
    char *message;
    size_t message_size;
} idx_reader;

#ifdef __GNUC__
__attribute__((format(printf, 3, 4)))
#endif
static relucl_status
idx_fail(const idx_reader *r, relucl_status status, const char *format, ...) {
    if (!r->message || r->message_size == 0)
        return status;
    int used = snprintf(r->message, r->message_size, "%s: ", r->path);
    if (used < 0 || (size_t)used >= r->message_size)
        return status;
    va_list args;
    va_start(args, format);
    vsnprintf(r->message + used, r->message_size - (size_t)used, format, args);
    va_end(args);
    return status;
}

static const char *type_name(int type) {
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    }
    return NULL;
}

/* Reads up to n bytes; fewer only at the end of the file or on an error (see stream_status). */
static size_t read_some(gzFile gz, unsigned char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t want = n - got < IDX_CHUNK ? n - got : IDX_CHUNK;
        int k = gzread(gz, buf + got, (unsigned)want);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}

/* After a short read: RELUCL_OK for a clean end of file, otherwise why the read stopped.
 * where says how far the reading got ("in the header", "after 10 of 30 data bytes"). */
static relucl_status stream_status(const idx_reader *r, const char *where) {
    int code = Z_OK;
    int saved_errno = errno;
    const char *text = gzerror(r->gz, &code);
    if (code == Z_OK)
        return RELUCL_OK;
    if (code == Z_ERRNO)
        return idx_fail(r, RELUCL_ERROR_IO, "read error %s: %s", where, strerror(saved_errno));
    if (code == Z_MEM_ERROR)
        return idx_fail(r, RELUCL_ERROR_OUT_OF_MEMORY, "out of host memory for zlib");
    /* zlib's text starts with the path it was opened with; ours already does. */
    size_t len = strlen(r->path);
    if (strncmp(text, r->path, len) == 0 && text[len] == ':' && text[len + 1] == ' ')
        text += len + 2;
    return idx_fail(r, RELUCL_ERROR_FORMAT, "bad gzip stream (%s) %s", text, where);
}

static relucl_status read_dims(const idx_reader *r, int type, int ndim, relucl_idx *idx) {
    unsigned char raw[4 * RELUCL_MAX_DIMS];
    size_t want = 4 * (size_t)ndim, got = read_some(r->gz, raw, want);
    if (got < want) {
        relucl_status status = stream_status(r, "in the header");
        return status ? status
                      : idx_fail(r, RELUCL_ERROR_FORMAT,
                                 "header cut short: %zu of %zu bytes for %d dimensions", 4 + got,
                                 4 + want, ndim);
    }
    if (type != IDX_MAGIC_UBYTE)
        return idx_fail(r, RELUCL_ERROR_UNSUPPORTED,
                        "element type %s (0x%02X): only unsigned byte (0x08) is supported",
                        type_name(type), (unsigned)type);
    for (int i = 0; i < RELUCL_MAX_DIMS; i++)
        idx->dims[i] = 1;
    for (int i = 0; i < ndim; i++) {
        const unsigned char *p = raw + 4 * i;
        idx->dims[i] = (size_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
                                (uint32_t)p[3]);
    }
    idx->ndim = ndim;
    return RELUCL_OK;
}

/* Magic, type, rank and dimensions; *count is the number of data bytes they declare. */
static relucl_status read_header(const idx_reader *r, relucl_idx *idx, size_t *count) {
    unsigned char magic[4];
    size_t got = read_some(r->gz, magic, 4);
    if (got < 4) {
        relucl_status status = stream_status(r, "in the header");
        return status ? status
                      : idx_fail(r, RELUCL_ERROR_FORMAT,
                                 "too short for an IDX header: %zu of 4 magic bytes", got);
    }
    if (magic[0] != 0 || magic[1] != 0)
        return idx_fail(r, RELUCL_ERROR_FORMAT,
                        "not an IDX file: magic %02X %02X %02X %02X, expected 00 00 <type> <rank>",
                        magic[0], magic[1], magic[2], magic[3]);
    if (!type_name(magic[2]))
        return idx_fail(r, RELUCL_ERROR_FORMAT, "unknown element type 0x%02X in the magic",
                        magic[2]);
    if (magic[3] < 1 || magic[3] > RELUCL_MAX_DIMS)
        return idx_fail(r, RELUCL_ERROR_FORMAT, "%d dimensions: expected 1 to %d", magic[3],
                        RELUCL_MAX_DIMS);
    relucl_status status = read_dims(r, magic[2], magic[3], idx);
    if (status)
        return status;
    uint64_t limit = SIZE_MAX < IDX_MAX_BYTES ? (uint64_t)SIZE_MAX : IDX_MAX_BYTES, total = 1;
    for (int i = 0; i < idx->ndim; i++)
        if (idx->dims[i] == 0)
            limit = 0; /* an empty array: the product is 0 however large the others are */
    for (int i = 0; i < idx->ndim && limit > 0; i++) {
        if (total > limit / idx->dims[i]) {
            char dims[64] = "";
            for (int j = 0, used = 0; j < idx->ndim && used >= 0 && used < 64; j++)
                used += snprintf(dims + used, sizeof dims - (size_t)used, j ? " x %zu" : "%zu",
                                 idx->dims[j]);
            return idx_fail(r, RELUCL_ERROR_FORMAT,
                            "dimensions %s declare more than the "
                            "%llu-byte limit",
                            dims, (unsigned long long)limit);
        }
        total *= idx->dims[i];
    }
    *count = limit > 0 ? (size_t)total : 0;
    return RELUCL_OK;
}

/* Exactly count bytes into a new buffer, grown as the data arrives. */
static relucl_status read_body(const idx_reader *r, size_t count, unsigned char **out) {
    size_t cap = count < IDX_FIRST_ALLOC ? count : IDX_FIRST_ALLOC, have = 0;
    unsigned char *data = malloc(cap > 0 ? cap : 1);
    if (!data)
        return idx_fail(r, RELUCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    for (;;) {
        have += read_some(r->gz, data + have, cap - have);
        if (have < cap) {
            char where[96];
            snprintf(where, sizeof where, "after %zu of %zu data bytes", have, count);
            relucl_status status = stream_status(r, where);
            free(data);
            return status ? status
                          : idx_fail(r, RELUCL_ERROR_FORMAT,
                                     "expected %zu data bytes, file has %zu", count, have);
        }
        if (cap == count)
            break;
        size_t next = cap > count / 2 ? count : 2 * cap;
        unsigned char *grown = realloc(data, next);
        if (!grown) {
            free(data);
            return idx_fail(r, RELUCL_ERROR_OUT_OF_MEMORY, "out of host memory for %zu bytes",
                            next);
        }
        data = grown;
        cap = next;
    }
    *out = data;
    return RELUCL_OK;
}

/* Nothing may follow the data; reading to the end also makes zlib check the CRC and length. */
static relucl_status expect_end(const idx_reader *r, size_t count) {
    unsigned char scratch[4096];
    size_t extra = 0, got;
    do {
        got = read_some(r->gz, scratch, sizeof scratch);
        extra += got;
    } while (got == sizeof scratch);
    if (extra > 0)
        return idx_fail(r, RELUCL_ERROR_FORMAT,
                        "expected %zu data bytes, file has %zu more after them", count, extra);
    char where[64];
    snprintf(where, sizeof where, "after the %zu data bytes", count);
    return stream_status(r, where);
}

relucl_status relucl_idx_load(const char *path, relucl_idx *out, char *message,
                              size_t message_size) {
    idx_reader r = {NULL, "relucl_idx_load", message, message_size};
    if (message && message_size > 0)
        message[0] = '\0';
    if (!path)
        return idx_fail(&r, RELUCL_ERROR_INVALID_ARGUMENT, "path: is NULL");
    if (!out)
        return idx_fail(&r, RELUCL_ERROR_INVALID_ARGUMENT, "out: is NULL");
    r.path = path;
    errno = 0;
    r.gz = gzopen(path, "rb");
    if (!r.gz)
        return idx_fail(&r, RELUCL_ERROR_IO, "cannot open: %s",
                        errno ? strerror(errno) : "out of host memory");
    gzbuffer(r.gz, 1u << 17);
    relucl_idx idx = {0};
    size_t count = 0;
    relucl_status status = read_header(&r, &idx, &count);
    if (status == RELUCL_OK)
        status = read_body(&r, count, &idx.data);
    if (status == RELUCL_OK)
        status = expect_end(&r, count);
    gzclose(r.gz);
    if (status != RELUCL_OK) {
        free(idx.data);
        return status;
    }
    *out = idx;
    return RELUCL_OK;
}

void relucl_idx_free(relucl_idx *idx) {
    if (!idx)
        return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}
