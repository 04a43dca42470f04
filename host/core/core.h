/* The runtime every other part of relucl builds on: the context, errors, argument checks,
 * device programs and the one kernel launch path. Library-private; nothing here is exported. */
#ifndef RELUCL_CORE_H
#define RELUCL_CORE_H

#include "constants.h" /* kernels/constants.h: numbers shared with the kernels */
#include "relucl.h"
#include "relucl_programs.h" /* RELUCL_PROGRAM_<NAME>, generated from kernels/programs.cmake */

#include <stdint.h>
#include <stdio.h>

#define RELUCL_ERROR_SIZE 8192
#define RELUCL_MAX_KERNELS 64

/* Kernel arguments pass size_t values (offsets, counts) where the kernels take ulong. */
_Static_assert(sizeof(size_t) == sizeof(cl_ulong), "relucl needs a 64-bit size_t");

typedef struct relucl__profile relucl__profile; /* profile.c */

typedef struct relucl__kernel_slot {
    const char *name; /* a string literal from the calling module */
    cl_kernel kernel;
} relucl__kernel_slot;

/* What the program cache did in this context; tests read it. */
typedef struct relucl__cache_stats {
    unsigned hits, misses, rejected, stored;
} relucl__cache_stats;

struct relucl_context {
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue; /* every relucl command goes here, in order */
    int own_queue; /* 1 when queue is relucl's own beside a caller's out-of-order queue */
    cl_program programs[RELUCL_PROGRAM_COUNT];
    relucl__kernel_slot kernels[RELUCL_MAX_KERNELS];
    int kernel_count;
    size_t max_work_group;
    /* The kernel forms written for CPUs (a CPU device, or RELUCL_KERNELS=cpu): 16-wide
     * element-wise kernels (ops/activation.c, ops/prelu.c) and relucl's own GEMM. */
    int wide;
    /* Lanes of the own GEMM's vectors, 8 or 16: the device's native float width (AVX2 or
     * AVX-512 under PoCL), or RELUCL_GEMM_LANES. Register blocks are sized to fit. */
    unsigned gemm_lanes;
    char build_options[96]; /* RELUCL__BUILD_OPTIONS, the GEMM lanes, ctx->wide, prefetch */
    cl_ulong max_alloc; /* CL_DEVICE_MAX_MEM_ALLOC_SIZE: the largest single buffer */
    cl_ulong local_mem; /* CL_DEVICE_LOCAL_MEM_SIZE: the own GEMM's panels fit in it */
    relucl__cache_stats cache;
    cl_mem workspace; /* convolution scratch, grown on demand, reused (ops/conv_gemm.c) */
    size_t workspace_size, workspace_limit;
    int tuning_applied; /* blas/tuning.c: GEMM parameters given to CLBlast */
    int gemm_own;       /* blas/gemm_own.c: 1 own kernels, -1 CLBlast, 0 not decided yet */
    cl_mem filter_scratch; /* ops/conv_gemm.c: a filter gradient's dw^T, summed over GEMMs */
    size_t filter_scratch_size;
    unsigned tuning_builtin, tuning_user, tuning_rejected; /* sets applied / refused; tests */
    relucl__profile *profile; /* profile.c: per-kernel times being gathered, or NULL */
    char tuning_note[512]; /* why a user tuning file was ignored, or "" */
    char device_name[256];
    char error[RELUCL_ERROR_SIZE];
};

/* Returns from the calling function with the status of expr unless it is RELUCL_OK. */
#define RELUCL__TRY(expr)                                                                          \
    do {                                                                                           \
        relucl_status relucl__status = (expr);                                                     \
        if (relucl__status != RELUCL_OK)                                                           \
            return relucl__status;                                                                 \
    } while (0)

/* ---- error.c --------------------------------------------------------------------------- */
/* Records "fn: message" as the context's error (when ctx is not NULL) and returns status. */
relucl_status relucl__fail(relucl_context *ctx, relucl_status status, const char *fn,
                           const char *format, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* "CL_OUT_OF_RESOURCES" and so on; "CL_UNKNOWN_ERROR" for codes it does not know. */
const char *relucl__cl_error_name(cl_int code);
/* Maps an OpenCL failure to a status (allocation failures become OUT_OF_MEMORY) and records
 * "fn: what: CL_NAME (code)". */
relucl_status relucl__fail_cl(relucl_context *ctx, const char *fn, const char *what, cl_int code);

/* ---- validate.c: argument checks that run before anything is enqueued ------------------ */
/* NULL ctx cannot carry a message; the status alone tells the caller. Clears the old error. */
relucl_status relucl__check_context(relucl_context *ctx);
/* The element count of dims[0..ndim), or SIZE_MAX when it overflows a float buffer's bytes. */
size_t relucl__dims_count(int ndim, const size_t *dims);
/* Checks a tensor argument named `name`: not NULL, a buffer, 1 <= ndim <= 4, no overflow,
 * offset + count within the buffer's CL_MEM_SIZE. Stores the element count in *count. */
relucl_status relucl__check_tensor(relucl_context *ctx, const char *fn, const char *name,
                                   const relucl_tensor *t, size_t *count);
/* Same element count in both tensors. */
relucl_status relucl__check_same_count(relucl_context *ctx, const char *fn, const char *a_name,
                                       size_t a_count, const char *b_name, size_t b_count);
/* An output may be exactly its input (in place) when allow_same, and must not otherwise
 * overlap it. NULL tensors pass. */
relucl_status relucl__check_overlap(relucl_context *ctx, const char *fn, const char *out_name,
                                    const relucl_tensor *out, const char *in_name,
                                    const relucl_tensor *in, int allow_same);
/* out (when not NULL) overlaps none of the `count` tensors in list (NULL entries pass). */
relucl_status relucl__check_apart(relucl_context *ctx, const char *fn, const char *out_name,
                                  const relucl_tensor *out, int count, const char *const *names,
                                  const relucl_tensor *const *list);
/* A float parameter: finite, and > 0 when positive is set. */
relucl_status relucl__check_param(relucl_context *ctx, const char *fn, const char *name, float v,
                                  int positive);

/* ---- program.c, program_cache.c -------------------------------------------------------- */
/* The OpenCL build options every program starts from (ctx->build_options adds the device's
 * GEMM lanes, RELUCL_CPU_KERNELS (ctx->wide) and RELUCL_PREFETCH; all are part of the cache
 * key). No fast-math: it would license dropping NaN and Inf, which the activations must keep. */
#define RELUCL__BUILD_OPTIONS "-cl-std=CL1.2"
/* The program for id, built (or loaded from the on-disk cache) on first use. */
relucl_status relucl__program_get(relucl_context *ctx, const char *fn, relucl__program_id id,
                                  cl_program *out);
/* A kernel by name from program id, created once per context and reused. */
relucl_status relucl__kernel_get(relucl_context *ctx, const char *fn, relucl__program_id id,
                                 const char *name, cl_kernel *out);
void relucl__program_release_all(relucl_context *ctx);
/* Compiles source text for the context's device: the embedded programs use it and tests give
 * it deliberately broken ones. Build failures carry the build log. */
relucl_status relucl__program_build_source(relucl_context *ctx, const char *fn, const char *name,
                                           cl_uint parts, const char **text, const size_t *size,
                                           cl_program *out);
/* The folder of relucl's caches: $RELUCL_CACHE_DIR (empty turns caching off), else
 * $XDG_CACHE_HOME/relucl, else ~/.cache/relucl. Returns 0 when there is none. */
int relucl__cache_dir(char *dir, size_t size);
/* The cache file path a program would use, for tests; returns 0 if caching is off. */
int relucl__program_cache_path(relucl_context *ctx, relucl__program_id id, char *path, size_t size);
/* A compiled program from the cache, or NULL (absent, corrupt, stale or unloadable), with the
 * outcome counted in ctx->cache. */
cl_program relucl__program_cache_load(relucl_context *ctx, relucl__program_id id);
/* One cache entry from f: its binary (malloc'd) when the header matches key and describes the
 * rest of the file exactly and the checksum agrees, else NULL. */
unsigned char *relucl__cache_entry_read(FILE *f, uint64_t key, size_t *size);
/* Stores program's binary for the next process; failures only cost time later. */
void relucl__program_cache_store(relucl_context *ctx, relucl__program_id id, cl_program program);

/* ---- launch.c: the one place that enqueues kernels ------------------------------------ */
/* One kernel argument: the size and address of its value. */
typedef struct relucl__arg {
    size_t size;
    const void *value;
} relucl__arg;
#define RELUCL__ARG(v) ((relucl__arg){sizeof(v), &(v)})
#define RELUCL__MEM(m) ((relucl__arg){sizeof(cl_mem), &(cl_mem){(m)}})
#define RELUCL__ULONG(v) ((relucl__arg){sizeof(cl_ulong), &(cl_ulong){(cl_ulong)(v)}})
#define RELUCL__INT(v) ((relucl__arg){sizeof(cl_int), &(cl_int){(cl_int)(v)}})
#define RELUCL__UINT(v) ((relucl__arg){sizeof(cl_uint), &(cl_uint){(cl_uint)(v)}})
#define RELUCL__FLOAT(v) ((relucl__arg){sizeof(cl_float), &(cl_float){(v)}})
/* A tensor as every kernel takes it: buffer, then offset in elements. */
#define RELUCL__TENSOR(t) RELUCL__MEM((t)->buffer), RELUCL__ULONG((t)->offset)
/* An optional tensor: when t is NULL, `other` and offset 0 stand in (the kernel is told by a
 * flag or count that it is absent, and never touches it). */
#define RELUCL__TENSOR_OR(t, other)                                                                \
    RELUCL__MEM((t) ? (t)->buffer : (other)), RELUCL__ULONG((t) ? (t)->offset : 0)

/* The index space of a launch: global extents (any; rounded up to whole groups, kernels skip
 * the tail) and the work-group. */
typedef struct relucl__range {
    cl_uint dims;
    size_t global[3], local[3];
} relucl__range;
/* items work-items in groups of `local`, or of the library's default size when local is 0. */
relucl__range relucl__range_1d(const relucl_context *ctx, size_t items, size_t local);
/* One work-item per RELUCL_VECTOR_WIDTH elements plus one per tail element (the element-wise
 * kernels' layout). */
relucl__range relucl__range_vector(const relucl_context *ctx, size_t n);
/* The same for the activation kernels, whose _wide forms (ctx->wide) take 16 elements. */
relucl__range relucl__range_elements(const relucl_context *ctx, size_t n);
relucl__range relucl__range_2d(size_t global0, size_t global1, size_t local0, size_t local1);
/* 1 to 3 dims with power-of-two groups shaped to the extents: rows of up to 64 work-items
 * along the innermost axis, then the second. Few distinct group sizes, so few specialised
 * builds (PoCL compiles one per size). */
relucl__range relucl__range_shaped(const relucl_context *ctx, cl_uint dims, const size_t *global);

/* Looks the kernel up (created once per context), sets its `count` arguments in order and
 * enqueues it over range on the context's queue. An empty range enqueues nothing. Failures
 * are recorded against fn. */
relucl_status relucl__launch(relucl_context *ctx, const char *fn, relucl__program_id program,
                             const char *kernel, relucl__range range, const relucl__arg *args,
                             size_t count);
/* relucl__launch with the arguments listed inline and counted by the compiler. */
#define RELUCL__LAUNCH(ctx, fn, program, kernel, range, ...)                                       \
    relucl__launch((ctx), (fn), (program), (kernel), (range), (const relucl__arg[]){__VA_ARGS__},  \
                   sizeof((const relucl__arg[]){__VA_ARGS__}) / sizeof(relucl__arg))

/* ---- tensor.c -------------------------------------------------------------------------- */
/* A float buffer of count elements (at least one: OpenCL has no empty buffers). */
relucl_status relucl__buffer_create(relucl_context *ctx, const char *fn, const char *what,
                                    size_t count, cl_mem *out);
/* Makes *buffer (a context's scratch, *size bytes) at least `bytes` long: allocated on first
 * need, grown (released and allocated again) when too small, else reused. On failure *buffer
 * is NULL and *size 0, and the error names `what`. */
relucl_status relucl__scratch_reserve(relucl_context *ctx, const char *fn, const char *what,
                                      cl_mem *buffer, size_t *size, size_t bytes);

/* ---- profile.c: per-kernel device times --------------------------------------------- */
/* Where the next command's event goes when a profile is running (NULL otherwise): pass it as
 * the enqueue's event, then call relucl__profile_enqueued with it once the enqueue worked.
 * name is the kernel's, and must outlive the profile (a string literal). */
cl_event *relucl__profile_event(relucl_context *ctx, const char *name);
void relucl__profile_enqueued(relucl_context *ctx, cl_event *slot);
/* Drops a running profile (relucl_context_destroy). */
void relucl__profile_release(relucl_context *ctx);

#endif /* RELUCL_CORE_H */
