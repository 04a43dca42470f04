/*
 * relucl - a GPU compute backend for ReLU neural networks, built on OpenCL.
 *
 * Conventions that hold for every function below:
 * - Every fallible function returns a relucl_status; results come back through
 *   out-parameters. RELUCL_OK is 0. A failing call enqueues nothing and changes none of its
 *   outputs. The reason is kept in the context: relucl_context_error(ctx) names the function,
 *   the argument and what was wrong with it.
 * - Operations are asynchronous: they enqueue work on the context's in-order command queue and
 *   return. relucl_tensor_read and relucl_context_finish wait for it.
 * - Tensors are float32, dense and row-major (images NCHW, matrices rows x cols).
 * - Threads: there is no global mutable state. Different contexts may be used from different
 *   threads at once; one context must be used by one thread at a time.
 */
#ifndef RELUCL_H
#define RELUCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(RELUCL_BUILDING) && defined(__GNUC__)
#define RELUCL_API __attribute__((visibility("default")))
#else
#define RELUCL_API
#endif

/* ---- Status ------------------------------------------------------------------------------ */

typedef enum relucl_status {
    RELUCL_OK = 0,
    RELUCL_ERROR_INVALID_ARGUMENT, /* NULL, bad enum, bad parameter value */
    RELUCL_ERROR_SHAPE,            /* shapes or sizes don't agree, or overflow */
    RELUCL_ERROR_OUT_OF_MEMORY,    /* host or device allocation failed */
    RELUCL_ERROR_NO_DEVICE,        /* no OpenCL platform/device matches */
    RELUCL_ERROR_BUILD,            /* kernel compilation failed; the build log is in the message */
    RELUCL_ERROR_OPENCL,           /* any other OpenCL failure; the cl_int code is in the message */
    RELUCL_ERROR_BLAS,             /* CLBlast failed */
    RELUCL_ERROR_IO,               /* a file could not be read or written */
    RELUCL_ERROR_FORMAT,           /* a file's contents are malformed or corrupt */
    RELUCL_ERROR_UNSUPPORTED       /* not available on this device */
} relucl_status;

/* A static string such as "RELUCL_ERROR_SHAPE"; "RELUCL_STATUS_UNKNOWN" for other values. */
RELUCL_API const char *relucl_status_name(relucl_status status);
/* The library version, "MAJOR.MINOR.PATCH"; a static string. */
RELUCL_API const char *relucl_version(void);

/* ---- Context ----------------------------------------------------------------------------- */

/* A context owns (or borrows) one OpenCL device, context and in-order queue, the compiled
 * kernels, and the last error message. */
typedef struct relucl_context relucl_context;

/* Opens a device and creates an in-order queue on it.
 * device: NULL or "" means $RELUCL_DEVICE if set, else the best device present: a GPU, then
 * any accelerator, then a CPU device (PoCL) last. Otherwise "gpu", "cpu", "accelerator",
 * "P:D" (platform and device index, as relucl-info lists them), or a case-insensitive
 * substring of the platform or device name.
 * On success *out is a new context, destroyed with relucl_context_destroy. On failure *out is
 * left unchanged; there is no context to hold the message, so use relucl_context_create_ex
 * to receive it. */
RELUCL_API relucl_status relucl_context_create(const char *device, relucl_context **out);

/* As relucl_context_create, and on failure writes the reason (NUL-terminated, truncated to
 * message_size) into message, which may be NULL when message_size is 0. */
RELUCL_API relucl_status relucl_context_create_ex(const char *device, relucl_context **out,
                                                  char *message, size_t message_size);

/* Embedding: uses the caller's command queue, and through it the caller's OpenCL context and
 * device. The queue must be in-order. It is retained here and released by
 * relucl_context_destroy; the caller keeps its own reference. Work relucl enqueues is ordered
 * with the caller's own work on that queue. */
RELUCL_API relucl_status relucl_context_create_from_queue(cl_command_queue queue,
                                                          relucl_context **out);

/* Releases everything the context created or retained. Waits for queued work first.
 * NULL is allowed and does nothing. Tensors made by relucl_tensor_create outlive it only as
 * cl_mem handles the caller must still release. */
RELUCL_API void relucl_context_destroy(relucl_context *ctx);

/* Blocks until every operation enqueued on the context's queue has finished. */
RELUCL_API relucl_status relucl_context_finish(relucl_context *ctx);

/* The message of the last failed call on ctx ("" if none): "function: argument: reason".
 * Owned by the context; valid until the next call on it. "" for a NULL ctx. */
RELUCL_API const char *relucl_context_error(const relucl_context *ctx);
/* The device's name, owned by the context. "" for a NULL ctx. */
RELUCL_API const char *relucl_context_device_name(const relucl_context *ctx);
/* Borrowed handles: not retained for the caller; valid while the context lives. */
RELUCL_API cl_command_queue relucl_context_queue(const relucl_context *ctx);
RELUCL_API cl_device_id relucl_context_device(const relucl_context *ctx);
RELUCL_API cl_context relucl_context_cl_context(const relucl_context *ctx);

/* ---- Tensors ----------------------------------------------------------------------------- */

#define RELUCL_MAX_DIMS 4

/* A view of float32 elements in a cl_mem, starting `offset` elements in. A plain value: copy
 * it freely. Every op checks ndim (1..RELUCL_MAX_DIMS), the element count against overflow and
 * against the buffer's real size before it enqueues anything. A count of 0 is allowed. */
typedef struct relucl_tensor {
    cl_mem buffer;
    size_t offset; /* in elements */
    int ndim;
    size_t dims[RELUCL_MAX_DIMS];
} relucl_tensor;

/* Describes caller-owned memory; no OpenCL call, never fails for valid arguments.
 * Dims beyond ndim are set to 1. relucl never releases a wrapped buffer. */
RELUCL_API relucl_status relucl_tensor_wrap(cl_mem buffer, size_t offset, int ndim,
                                            const size_t *dims, relucl_tensor *out);
/* Allocates a new device buffer for the tensor (contents undefined). The caller owns it and
 * frees it with relucl_tensor_release. */
RELUCL_API relucl_status relucl_tensor_create(relucl_context *ctx, int ndim, const size_t *dims,
                                              relucl_tensor *out);
/* Releases the buffer of a tensor made by relucl_tensor_create and zeroes *t. Only for those:
 * on a wrapped tensor it would drop the caller's reference. NULL does nothing. */
RELUCL_API void relucl_tensor_release(relucl_tensor *t);
/* Number of elements (product of dims[0..ndim)); 0 for NULL or a bad ndim. */
RELUCL_API size_t relucl_tensor_count(const relucl_tensor *t);
/* Copies count(t) floats from host memory into the tensor. Blocking: src may be reused as
 * soon as the call returns. */
RELUCL_API relucl_status relucl_tensor_write(relucl_context *ctx, const relucl_tensor *t,
                                             const float *src);
/* Waits for queued work, then copies count(t) floats into dst. */
RELUCL_API relucl_status relucl_tensor_read(relucl_context *ctx, const relucl_tensor *t,
                                            float *dst);
/* Enqueues t[i] = value for every element. */
RELUCL_API relucl_status relucl_tensor_fill(relucl_context *ctx, const relucl_tensor *t,
                                            float value);

/* ---- Activations ------------------------------------------------------------------------- */

/* Exact behaviour (NaN, -0.0, the gradient at 0) follows PyTorch's functional activations. */
typedef enum relucl_activation_kind {
    RELUCL_RELU,        /* max(x, 0); NaN stays NaN */
    RELUCL_LEAKY_RELU,  /* x > 0 ? x : alpha * x        (alpha: any finite slope, often 0.01) */
    RELUCL_ELU,         /* x > 0 ? x : alpha * expm1(x) (alpha > 0, often 1.0) */
    RELUCL_CLIPPED_RELU /* min(max(x, 0), alpha)        (alpha > 0 is the ceiling; 6 is ReLU6) */
} relucl_activation_kind;

typedef struct relucl_activation {
    relucl_activation_kind kind;
    float alpha; /* ignored by RELUCL_RELU */
} relucl_activation;

/* y = f(x), element by element. x and y must have the same element count (shapes may differ).
 * Aliasing: y may be x (the same buffer and offset: in place); any other overlap is an
 * error. */
RELUCL_API relucl_status relucl_activation_forward(relucl_context *ctx, relucl_activation act,
                                                   const relucl_tensor *x, const relucl_tensor *y);

/* dx = dy * f'(x). Give x, or y (the forward output), or both (x is then used); the other may
 * be NULL, so an in-place forward can still be differentiated. From y alone, Leaky ReLU needs
 * alpha > 0 (otherwise the sign of x is lost): RELUCL_ERROR_INVALID_ARGUMENT. ELU from y alone
 * may differ from the x result by rounding (about 1e-6 relative).
 * Aliasing: dx may be dy (in place); dx must not overlap x or y otherwise. */
RELUCL_API relucl_status relucl_activation_backward(relucl_context *ctx, relucl_activation act,
                                                    const relucl_tensor *x, const relucl_tensor *y,
                                                    const relucl_tensor *dy,
                                                    const relucl_tensor *dx);

/* PReLU: y = x > 0 ? x : slope[c] * x with one learnable slope per channel, the channel being
 * dims[1] of x (ndim >= 2); a 1-element slope is shared by every element and any ndim.
 * Aliasing: y may be x. */
RELUCL_API relucl_status relucl_prelu_forward(relucl_context *ctx, const relucl_tensor *x,
                                              const relucl_tensor *slope, const relucl_tensor *y);
/* dx = x > 0 ? dy : slope[c] * dy, and dslope (same count as slope) is overwritten with the
 * gradient summed over every other axis, computed on the device in a fixed order (the same
 * result run to run). Aliasing: dx may be dy; dslope must not overlap anything. */
RELUCL_API relucl_status relucl_prelu_backward(relucl_context *ctx, const relucl_tensor *x,
                                               const relucl_tensor *slope, const relucl_tensor *dy,
                                               const relucl_tensor *dx,
                                               const relucl_tensor *dslope);

#ifdef __cplusplus
}
#endif
#endif /* RELUCL_H */
