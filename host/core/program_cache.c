/* The on-disk cache of compiled programs: the next process loads a binary instead of running
 * the device compiler. Every entry is checked before use; a bad one is simply rebuilt. */
#include "core/core.h"
#include "io/atomic_file.h"
#include "io/checksum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Entry layout (host byte order; a cache never leaves its machine): magic "RELUCLPB",
 * u32 format version, u32 zero, u64 key, u64 binary size, u64 checksum of the binary
 * (FNV-1a), then the binary itself. */
#define PATH_SIZE 1024
#define CACHE_MAGIC "RELUCLPB"
#define CACHE_VERSION 1u

typedef struct cache_header {
    char magic[8];
    uint32_t version, reserved;
    uint64_t key, size, checksum;
} cache_header;

static uint64_t hash_string(uint64_t hash, const char *s) {
    return relucl__fnv1a(hash, s, strlen(s) + 1); /* the NUL separates fields */
}

/* The key covers everything that could make an old binary wrong for this build. */
static uint64_t cache_key(relucl_context *ctx, const relucl__program_source *src) {
    char text[512];
    uint64_t key = RELUCL__FNV_OFFSET;
    static const cl_platform_info platform_fields[] = {CL_PLATFORM_NAME, CL_PLATFORM_VERSION};
    static const cl_device_info device_fields[] = {CL_DEVICE_NAME, CL_DEVICE_VERSION,
                                                   CL_DRIVER_VERSION, CL_DEVICE_VENDOR};
    for (size_t i = 0; i < sizeof platform_fields / sizeof *platform_fields; i++) {
        text[0] = '\0';
        clGetPlatformInfo(ctx->platform, platform_fields[i], sizeof text - 1, text, NULL);
        key = hash_string(key, text);
    }
    for (size_t i = 0; i < sizeof device_fields / sizeof *device_fields; i++) {
        text[0] = '\0';
        clGetDeviceInfo(ctx->device, device_fields[i], sizeof text - 1, text, NULL);
        key = hash_string(key, text);
    }
    key = hash_string(key, ctx->build_options);
    key = hash_string(key, relucl_version());
    for (unsigned i = 0; i < src->parts; i++)
        key = relucl__fnv1a(key, src->text[i], *src->size[i]);
    return key;
}

int relucl__cache_dir(char *dir, size_t size) {
    const char *env = getenv("RELUCL_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (env)
        n = snprintf(dir, size, "%s", env);
    else if (xdg && xdg[0])
        n = snprintf(dir, size, "%s/relucl", xdg);
    else if (home && home[0])
        n = snprintf(dir, size, "%s/.cache/relucl", home);
    else
        return 0;
    return n > 0 && (size_t)n < size;
}

int relucl__program_cache_path(relucl_context *ctx, relucl__program_id id, char *path,
                               size_t size) {
    char dir[PATH_SIZE - 64];
    if (id >= RELUCL_PROGRAM_COUNT || !relucl__cache_dir(dir, sizeof dir))
        return 0;
    uint64_t key = cache_key(ctx, &relucl__programs[id]);
    int n = snprintf(path, size, "%s/%s-%016llx.bin", dir, relucl__programs[id].name,
                     (unsigned long long)key);
    return n > 0 && (size_t)n < size;
}

unsigned char *relucl__cache_entry_read(FILE *f, uint64_t key, size_t *size) {
    cache_header h;
    unsigned char *binary = NULL;
    /* The header must describe exactly the rest of the file before anything is allocated. */
    long length = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    int ok = length >= (long)sizeof h && fseek(f, 0, SEEK_SET) == 0 &&
             fread(&h, sizeof h, 1, f) == 1 && memcmp(h.magic, CACHE_MAGIC, 8) == 0 &&
             h.version == CACHE_VERSION && h.key == key && h.size > 0 &&
             h.size == (uint64_t)length - sizeof h;
    if (ok && (binary = malloc((size_t)h.size)) != NULL) {
        int extra = 0;
        ok = fread(binary, 1, (size_t)h.size, f) == h.size && fread(&extra, 1, 1, f) == 0 &&
             relucl__checksum_ok(relucl__fnv1a(RELUCL__FNV_OFFSET, binary, (size_t)h.size),
                                 h.checksum);
    }
    if (!ok || !binary) {
        free(binary);
        return NULL;
    }
    *size = (size_t)h.size;
    return binary;
}

static unsigned char *read_entry(const char *path, uint64_t key, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *binary = relucl__cache_entry_read(f, key, size);
    fclose(f);
    return binary;
}

static cl_program build_from_binary(relucl_context *ctx, const unsigned char *binary, size_t size) {
    cl_int err = CL_SUCCESS, binary_status = CL_SUCCESS;
    cl_program program =
        clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &size, &binary, &binary_status, &err);
    if (err != CL_SUCCESS || binary_status != CL_SUCCESS)
        return NULL;
    if (clBuildProgram(program, 1, &ctx->device, ctx->build_options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(program);
        return NULL;
    }
    return program;
}

cl_program relucl__program_cache_load(relucl_context *ctx, relucl__program_id id) {
    char path[PATH_SIZE];
    if (!relucl__program_cache_path(ctx, id, path, sizeof path))
        return NULL;
    size_t size = 0;
    unsigned char *binary = read_entry(path, cache_key(ctx, &relucl__programs[id]), &size);
    cl_program program = binary ? build_from_binary(ctx, binary, size) : NULL;
    free(binary);
    if (program)
        ctx->cache.hits++;
    else if (access(path, F_OK) == 0)
        ctx->cache.rejected++; /* present but corrupt, stale or unloadable: to be rebuilt */
    return program;
}

/* Header and binary in one buffer, written atomically: a reader never sees half an entry. */
static int write_entry(const char *path, uint64_t key, const unsigned char *binary, size_t size) {
    cache_header h = {CACHE_MAGIC, CACHE_VERSION, 0,
                      key,         size,          relucl__fnv1a(RELUCL__FNV_OFFSET, binary, size)};
    unsigned char *entry = malloc(sizeof h + size);
    if (!entry)
        return 0;
    memcpy(entry, &h, sizeof h);
    memcpy(entry + sizeof h, binary, size);
    int ok = relucl__make_parent_dirs(path) == 0 &&
             relucl__atomic_write(path, entry, sizeof h + size) == 0;
    free(entry);
    return ok;
}

void relucl__program_cache_store(relucl_context *ctx, relucl__program_id id, cl_program program) {
    char path[PATH_SIZE];
    size_t size = 0;
    if (!relucl__program_cache_path(ctx, id, path, sizeof path) ||
        clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) !=
            CL_SUCCESS ||
        size == 0)
        return;
    unsigned char *binary = malloc(size);
    if (!binary)
        return;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binary, &binary, NULL) ==
            CL_SUCCESS &&
        write_entry(path, cache_key(ctx, &relucl__programs[id]), binary, size))
        ctx->cache.stored++;
    free(binary);
}
