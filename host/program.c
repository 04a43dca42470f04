/* Device programs: built once per context from the embedded sources, with the compiled binary
 * cached on disk so the next process skips the compiler. Also kernel lookup and launching. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EMBEDDED(name)                                                                         \
    extern const unsigned char relucl_kernel_##name[];                                         \
    extern const size_t relucl_kernel_##name##_size;
EMBEDDED(activation_math)
EMBEDDED(activation)
EMBEDDED(dense)
EMBEDDED(loss)
EMBEDDED(optim)
EMBEDDED(random)
EMBEDDED(data)
EMBEDDED(conv)
EMBEDDED(pool)
EMBEDDED(stats)
#undef EMBEDDED

/* A program is one or two embedded files: kernels that apply activations get the shared
 * formulas (kernels/activation_math.cl) in front. */
typedef struct program_source {
    const char *name;
    int parts;
    const unsigned char *text[2];
    const size_t *size[2];
} program_source;

#define PART(name) relucl_kernel_##name
#define SIZE(name) &relucl_kernel_##name##_size
#define ONE(name) {#name, 1, {PART(name), NULL}, {SIZE(name), NULL}}
#define WITH_MATH(name)                                                                        \
    {#name, 2, {PART(activation_math), PART(name)}, {SIZE(activation_math), SIZE(name)}}
static const program_source sources[RELUCL_PROGRAM_COUNT] = {
    [RELUCL_PROGRAM_ACTIVATION] = WITH_MATH(activation), [RELUCL_PROGRAM_DENSE] = WITH_MATH(dense),
    [RELUCL_PROGRAM_LOSS] = ONE(loss),                   [RELUCL_PROGRAM_OPTIM] = ONE(optim),
    [RELUCL_PROGRAM_RANDOM] = ONE(random),               [RELUCL_PROGRAM_DATA] = ONE(data),
    [RELUCL_PROGRAM_CONV] = WITH_MATH(conv),             [RELUCL_PROGRAM_POOL] = ONE(pool),
    [RELUCL_PROGRAM_STATS] = ONE(stats),
};
#undef PART
#undef SIZE
#undef ONE
#undef WITH_MATH

/* No fast-math: it would license dropping NaN and Inf, which the activations must keep. */
static const char build_options[] = "-cl-std=CL1.2";

/* Cache file layout (host byte order; a cache never leaves its machine):
 * magic "RELUCLPB", u32 format version, u32 zero, u64 key, u64 binary size, u64 checksum of
 * the binary (FNV-1a), then the binary itself. */
#define PATH_SIZE 1024
#define CACHE_MAGIC "RELUCLPB"
#define CACHE_VERSION 1u

typedef struct cache_header {
    char magic[8];
    uint32_t version, reserved;
    uint64_t key, size, checksum;
} cache_header;

uint64_t relucl_fnv1a(uint64_t hash, const void *data, size_t size) {
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        hash ^= p[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}

static uint64_t hash_string(uint64_t hash, const char *s) {
    return relucl_fnv1a(hash, s, strlen(s) + 1); /* the NUL separates fields */
}

/* The key covers everything that could make an old binary wrong for this build. */
static uint64_t cache_key(relucl_context *ctx, const program_source *src) {
    char text[512];
    uint64_t key = RELUCL_FNV_OFFSET;
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
    key = hash_string(key, build_options);
    key = hash_string(key, RELUCL_VERSION_STRING);
    for (int i = 0; i < src->parts; i++)
        key = relucl_fnv1a(key, src->text[i], *src->size[i]);
    return key;
}

/* Creates dir and its parents; 0 on success. */
static int make_dirs(const char *dir) {
    char path[PATH_SIZE];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return -1;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* $RELUCL_CACHE_DIR (empty turns caching off), else $XDG_CACHE_HOME/relucl, else
 * ~/.cache/relucl. Returns 0 when there is no cache directory. */
static int cache_dir(char *dir, size_t size) {
    const char *env = getenv("RELUCL_CACHE_DIR");
    int n;
    if (env)
        n = snprintf(dir, size, "%s", env);
    else if (getenv("XDG_CACHE_HOME") && getenv("XDG_CACHE_HOME")[0])
        n = snprintf(dir, size, "%s/relucl", getenv("XDG_CACHE_HOME"));
    else if (getenv("HOME") && getenv("HOME")[0])
        n = snprintf(dir, size, "%s/.cache/relucl", getenv("HOME"));
    else
        return 0;
    return n > 0 && (size_t)n < size;
}

int relucl_program_cache_path(relucl_context *ctx, relucl_program_id id, char *path,
                              size_t size) {
    char dir[PATH_SIZE - 64];
    if (id >= RELUCL_PROGRAM_COUNT || !cache_dir(dir, sizeof dir))
        return 0;
    uint64_t key = cache_key(ctx, &sources[id]);
    int n = snprintf(path, size, "%s/%s-%016llx.bin", dir, sources[id].name,
                     (unsigned long long)key);
    return n > 0 && (size_t)n < size;
}

/* Reads a cache file and returns its binary (malloc'd) if every check passes, else NULL. */
static unsigned char *cache_load(const char *path, uint64_t key, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    cache_header h;
    unsigned char *binary = NULL;
    int ok = fread(&h, sizeof h, 1, f) == 1 && memcmp(h.magic, CACHE_MAGIC, 8) == 0 &&
             h.version == CACHE_VERSION && h.key == key && h.size > 0 && h.size < (1ull << 31);
    if (ok && (binary = malloc((size_t)h.size)) != NULL) {
        int extra = 0;
        ok = fread(binary, 1, (size_t)h.size, f) == h.size && fread(&extra, 1, 1, f) == 0 &&
             relucl_fnv1a(RELUCL_FNV_OFFSET, binary, (size_t)h.size) == h.checksum;
    }
    fclose(f);
    if (!ok || !binary) {
        free(binary);
        return NULL;
    }
    *size = (size_t)h.size;
    return binary;
}

/* Writes to a temporary file beside the target and renames it over, so a reader never sees a
 * half-written entry. Failures are ignored: the cache only saves time. */
static int cache_store(const char *path, uint64_t key, const unsigned char *binary,
                       size_t size) {
    char dir[PATH_SIZE], tmp[PATH_SIZE];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return 0;
    char *slash = strrchr(dir, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    if (make_dirs(dir) != 0)
        return 0;
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
        return 0;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return 0;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        return 0;
    }
    cache_header h = {CACHE_MAGIC, CACHE_VERSION, 0, key, size,
                      relucl_fnv1a(RELUCL_FNV_OFFSET, binary, size)};
    int ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(binary, 1, size, f) == size;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return 0;
    }
    return 1;
}

static relucl_status build_failure(relucl_context *ctx, const char *fn, const char *name,
                                   cl_program program, cl_int err) {
    char log[RELUCL_ERROR_SIZE - 256];
    log[0] = '\0';
    size_t used = 0;
    clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, &used);
    log[sizeof log - 1] = '\0';
    return relucl_fail(ctx, RELUCL_ERROR_BUILD, fn, "building kernels/%s.cl failed (%s): %s", name,
                       relucl_cl_error_name(err), log);
}

relucl_status relucl_program_build_source(relucl_context *ctx, const char *fn, const char *name,
                                          cl_uint parts, const char **text, const size_t *size,
                                          cl_program *out) {
    cl_int err = CL_SUCCESS;
    cl_program program = clCreateProgramWithSource(ctx->cl, parts, text, size, &err);
    if (err != CL_SUCCESS)
        return relucl_fail_cl(ctx, fn, "clCreateProgramWithSource", err);
    err = clBuildProgram(program, 1, &ctx->device, build_options, NULL, NULL);
    if (err != CL_SUCCESS) {
        relucl_status status = build_failure(ctx, fn, name, program, err);
        clReleaseProgram(program);
        return status;
    }
    *out = program;
    return RELUCL_OK;
}

static cl_program build_from_binary(relucl_context *ctx, const unsigned char *binary,
                                    size_t size) {
    cl_int err = CL_SUCCESS, binary_status = CL_SUCCESS;
    cl_program program = clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &size, &binary,
                                                   &binary_status, &err);
    if (err != CL_SUCCESS || binary_status != CL_SUCCESS)
        return NULL;
    if (clBuildProgram(program, 1, &ctx->device, build_options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(program);
        return NULL;
    }
    return program;
}

static void store_binary(relucl_context *ctx, cl_program program, const char *path,
                         uint64_t key) {
    size_t size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) !=
            CL_SUCCESS ||
        size == 0)
        return;
    unsigned char *binary = malloc(size);
    if (!binary)
        return;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binary, &binary, NULL) ==
            CL_SUCCESS &&
        cache_store(path, key, binary, size))
        ctx->cache.stored++;
    free(binary);
}

relucl_status relucl_program_get(relucl_context *ctx, const char *fn, relucl_program_id id,
                                 cl_program *out) {
    if (ctx->programs[id]) {
        *out = ctx->programs[id];
        return RELUCL_OK;
    }
    const program_source *src = &sources[id];
    char path[PATH_SIZE];
    int cached = relucl_program_cache_path(ctx, id, path, sizeof path);
    uint64_t key = cache_key(ctx, src);
    cl_program program = NULL;
    if (cached) {
        size_t size = 0;
        unsigned char *binary = cache_load(path, key, &size);
        if (binary) {
            program = build_from_binary(ctx, binary, size);
            free(binary);
        }
        if (program)
            ctx->cache.hits++;
        else if (access(path, F_OK) == 0)
            ctx->cache.rejected++; /* present but corrupt, stale or unloadable: rebuilt below */
    }
    if (!program) {
        ctx->cache.misses++;
        const char *text[2] = {(const char *)src->text[0], (const char *)src->text[1]};
        size_t size[2] = {*src->size[0], src->parts > 1 ? *src->size[1] : 0};
        relucl_status status = relucl_program_build_source(ctx, fn, src->name,
                                                           (cl_uint)src->parts, text, size,
                                                           &program);
        if (status != RELUCL_OK)
            return status;
        if (cached)
            store_binary(ctx, program, path, key);
    }
    ctx->programs[id] = program;
    *out = program;
    return RELUCL_OK;
}

relucl_status relucl_kernel_get(relucl_context *ctx, const char *fn, relucl_program_id id,
                                const char *name, cl_kernel *out) {
    for (int i = 0; i < ctx->kernel_count; i++) {
        if (strcmp(ctx->kernels[i].name, name) == 0) {
            *out = ctx->kernels[i].kernel;
            return RELUCL_OK;
        }
    }
    if (ctx->kernel_count == RELUCL_MAX_KERNELS)
        return relucl_fail(ctx, RELUCL_ERROR_UNSUPPORTED, fn, "more than %d kernels in use",
                           RELUCL_MAX_KERNELS);
    cl_program program;
    relucl_status status = relucl_program_get(ctx, fn, id, &program);
    if (status != RELUCL_OK)
        return status;
    cl_int err = CL_SUCCESS;
    cl_kernel kernel = clCreateKernel(program, name, &err);
    if (err != CL_SUCCESS)
        return relucl_fail_cl(ctx, fn, name, err);
    ctx->kernels[ctx->kernel_count++] = (relucl_kernel_slot){name, kernel};
    *out = kernel;
    return RELUCL_OK;
}

void relucl_program_release_all(relucl_context *ctx) {
    for (int i = 0; i < ctx->kernel_count; i++)
        clReleaseKernel(ctx->kernels[i].kernel);
    ctx->kernel_count = 0;
    for (int i = 0; i < RELUCL_PROGRAM_COUNT; i++) {
        if (ctx->programs[i])
            clReleaseProgram(ctx->programs[i]);
        ctx->programs[i] = NULL;
    }
}

relucl_status relucl_set_args(relucl_context *ctx, const char *fn, cl_kernel kernel,
                              const relucl_arg *args, int count) {
    for (int i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS)
            return relucl_fail_cl(ctx, fn, "clSetKernelArg", err);
    }
    return RELUCL_OK;
}

static size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

relucl_status relucl_launch_1d(relucl_context *ctx, const char *fn, cl_kernel kernel,
                               size_t items, size_t local) {
    if (items == 0)
        return RELUCL_OK;
    if (local == 0)
        local = ctx->max_work_group < 256 ? ctx->max_work_group : 256;
    size_t global = round_up(items, local);
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, kernel, 1, NULL, &global, &local, 0, NULL,
                                        NULL);
    return err == CL_SUCCESS ? RELUCL_OK : relucl_fail_cl(ctx, fn, "clEnqueueNDRangeKernel", err);
}

relucl_status relucl_launch_2d(relucl_context *ctx, const char *fn, cl_kernel kernel,
                               const size_t global[2], const size_t local[2]) {
    if (global[0] == 0 || global[1] == 0)
        return RELUCL_OK;
    size_t rounded[2] = {round_up(global[0], local[0]), round_up(global[1], local[1])};
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, kernel, 2, NULL, rounded, local, 0, NULL,
                                        NULL);
    return err == CL_SUCCESS ? RELUCL_OK : relucl_fail_cl(ctx, fn, "clEnqueueNDRangeKernel", err);
}
