/* Library-private declarations shared by the host modules. Nothing here is exported. */
#ifndef RELUCL_INTERNAL_H
#define RELUCL_INTERNAL_H

#include "relucl.h"

#include <stdint.h>

/* Device programs, one per kernels/<name>.cl file; built lazily, once per context. */
typedef enum relucl_program_id {
    RELUCL_PROGRAM_ACTIVATION,
    RELUCL_PROGRAM_DENSE,
    RELUCL_PROGRAM_LOSS,
    RELUCL_PROGRAM_OPTIM,
    RELUCL_PROGRAM_RANDOM,
    RELUCL_PROGRAM_DATA,
    RELUCL_PROGRAM_CONV,
    RELUCL_PROGRAM_POOL,
    RELUCL_PROGRAM_STATS,
    RELUCL_PROGRAM_COUNT
} relucl_program_id;

#define RELUCL_ERROR_SIZE 8192
#define RELUCL_MAX_KERNELS 64

typedef struct relucl_kernel_slot {
    const char *name; /* a string literal from the calling module */
    cl_kernel kernel;
} relucl_kernel_slot;

/* What the program cache did in this context; tests read it. */
typedef struct relucl_cache_stats {
    unsigned hits, misses, rejected, stored;
} relucl_cache_stats;

struct relucl_context {
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    cl_program programs[RELUCL_PROGRAM_COUNT];
    relucl_kernel_slot kernels[RELUCL_MAX_KERNELS];
    int kernel_count;
    size_t max_work_group;
    relucl_cache_stats cache;
    cl_mem workspace; /* convolution scratch, grown on demand, reused (conv.c) */
    size_t workspace_size, workspace_limit;
    int tuning_applied;                     /* tune.c: GEMM parameters handed to CLBlast */
    unsigned tuning_builtin, tuning_user, tuning_rejected; /* sets applied / refused; tests */
    char tuning_note[512];                  /* why a user tuning file was ignored, or "" */
    char device_name[256];
    char error[RELUCL_ERROR_SIZE];
};

/* ---- error.c ---- */
/* Records "fn: message" as the context's error (when ctx is not NULL) and returns status. */
relucl_status relucl_fail(relucl_context *ctx, relucl_status status, const char *fn,
                          const char *format, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* "CL_OUT_OF_RESOURCES" and so on; "CL_UNKNOWN_ERROR" for codes it does not know. */
const char *relucl_cl_error_name(cl_int code);
/* Maps an OpenCL failure to a status (allocation failures become OUT_OF_MEMORY) and records
 * "fn: what: CL_NAME (code)". */
relucl_status relucl_fail_cl(relucl_context *ctx, const char *fn, const char *what, cl_int code);

/* ---- validate.c: argument checks that run before anything is enqueued ---- */
/* NULL ctx cannot carry a message; the status alone tells the caller. Clears the old error. */
relucl_status relucl_check_context(relucl_context *ctx);
/* Checks a tensor argument named `name`: not NULL, a buffer, 1 <= ndim <= 4, no overflow,
 * offset + count within the buffer's CL_MEM_SIZE. Stores the element count in *count. */
relucl_status relucl_check_tensor(relucl_context *ctx, const char *fn, const char *name,
                                  const relucl_tensor *t, size_t *count);
/* Same element count in both tensors. */
relucl_status relucl_check_same_count(relucl_context *ctx, const char *fn, const char *a_name,
                                      size_t a_count, const char *b_name, size_t b_count);
/* An output may be exactly its input (in place) when allow_same, and must not otherwise
 * overlap it. */
relucl_status relucl_check_overlap(relucl_context *ctx, const char *fn, const char *out_name,
                                   const relucl_tensor *out, const char *in_name,
                                   const relucl_tensor *in, int allow_same);
/* A float parameter: finite, and > 0 when positive is set. */
relucl_status relucl_check_param(relucl_context *ctx, const char *fn, const char *name, float v,
                                 int positive);

/* ---- activation.c ---- */
/* The kind is known and alpha suits it (finite; > 0 for ELU and clipped ReLU). RELUCL_PRELU
 * passes only where the caller supplies a slope (allow_prelu). */
relucl_status relucl_check_activation(relucl_context *ctx, const char *fn, relucl_activation act,
                                      int allow_prelu);

/* ---- program.c ---- */
/* The program for id, built (or loaded from the on-disk cache) on first use. */
relucl_status relucl_program_get(relucl_context *ctx, const char *fn, relucl_program_id id,
                                 cl_program *out);
/* A kernel by name from program id, created once per context and reused. */
relucl_status relucl_kernel_get(relucl_context *ctx, const char *fn, relucl_program_id id,
                                const char *name, cl_kernel *out);
/* The cache file path a program would use, for tests; returns 0 if caching is off. */
int relucl_program_cache_path(relucl_context *ctx, relucl_program_id id, char *path,
                              size_t size);
void relucl_program_release_all(relucl_context *ctx);
/* Compiles source text for the context's device: the embedded programs use it and tests give
 * it deliberately broken ones. Build failures carry the build log. */
relucl_status relucl_program_build_source(relucl_context *ctx, const char *fn, const char *name,
                                          cl_uint parts, const char **text, const size_t *size,
                                          cl_program *out);

/* ---- gemm.c, dense.c: pieces other modules reuse ---- */
/* Maps a CLBlast status to RELUCL_ERROR_BLAS with CLBlast's name and code in the message. */
relucl_status relucl_blas_status(relucl_context *ctx, const char *fn, int code);
/* relucl_gemm / relucl_gemm_batched (ndim 2 or 3) with errors reported against fn. */
relucl_status relucl_gemm_in(relucl_context *ctx, const char *fn, int ndim, relucl_transpose ta,
                             relucl_transpose tb, float alpha, const relucl_tensor *a,
                             const relucl_tensor *b, float beta, const relucl_tensor *c);
/* Hands the context's GEMM tuning sets (user file, else built-in; see tune.c) to CLBlast, once
 * per context, before its first GEMM. Never fails a GEMM: a broken file is ignored and noted
 * in ctx->tuning_note. */
relucl_status relucl_tuning_apply(relucl_context *ctx, const char *fn);
/* t *= factor on the device (t already checked). */
relucl_status relucl_scale(relucl_context *ctx, const char *fn, const relucl_tensor *t,
                           float factor);

/* ---- launch helpers (program.c) ---- */
/* Kernel arguments, set in order; any failure is recorded against fn. */
typedef struct relucl_arg {
    size_t size;
    const void *value;
} relucl_arg;
#define RELUCL_ARG(v) ((relucl_arg){sizeof(v), &(v)})
#define RELUCL_LOCAL(bytes) ((relucl_arg){(bytes), NULL})
relucl_status relucl_set_args(relucl_context *ctx, const char *fn, cl_kernel kernel,
                              const relucl_arg *args, int count);
/* Enqueues kernel over `items` work-items (rounded up to a whole number of groups of
 * `local`, or of the library's default group size when local is 0; the kernel guards the
 * tail itself). */
relucl_status relucl_launch_1d(relucl_context *ctx, const char *fn, cl_kernel kernel,
                               size_t items, size_t local);
relucl_status relucl_launch_2d(relucl_context *ctx, const char *fn, cl_kernel kernel,
                               const size_t global[2], const size_t local[2]);

/* ---- hashing (program.c) ---- */
uint64_t relucl_fnv1a(uint64_t hash, const void *data, size_t size);
#define RELUCL_FNV_OFFSET 0xcbf29ce484222325ull

#endif /* RELUCL_INTERNAL_H */
