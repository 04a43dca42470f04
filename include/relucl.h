/*
 * relucl - a GPU compute backend for ReLU neural networks, built on OpenCL.
 *
 * Conventions that hold for every function below:
 * - Every fallible function returns a relucl_status; results come back through
 *   out-parameters. RELUCL_OK is 0. A failing call enqueues nothing and changes none of its
 *   outputs. The reason is kept in the context: relucl_context_error(ctx) names the function,
 *   the argument and what was wrong with it.
 * - Operations are asynchronous: they enqueue work on the context's in-order command queue and
 *   return. relucl_tensor_read and relucl_context_finish wait for it; events order it against
 *   other queues (relucl_context_wait_events, relucl_context_record_event).
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

/* The version this header belongs to. CMakeLists.txt reads these three lines, so the CMake
 * package, pkg-config and relucl_version() all agree with them. */
#define RELUCL_VERSION_MAJOR 0
#define RELUCL_VERSION_MINOR 2
#define RELUCL_VERSION_PATCH 0
/* One number for #if tests: RELUCL_VERSION >= RELUCL_MAKE_VERSION(0, 2, 0). */
#define RELUCL_MAKE_VERSION(major, minor, patch) ((major) * 10000 + (minor) * 100 + (patch))
#define RELUCL_VERSION                                                                             \
    RELUCL_MAKE_VERSION(RELUCL_VERSION_MAJOR, RELUCL_VERSION_MINOR, RELUCL_VERSION_PATCH)

/* A static string such as "RELUCL_ERROR_SHAPE"; "RELUCL_STATUS_UNKNOWN" for other values. */
RELUCL_API const char *relucl_status_name(relucl_status status);
/* The version of the library linked in, "MAJOR.MINOR.PATCH" (a static string); a program
 * built against another header can compare it with the macros above. */
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
 * device. The queue is retained here and released by relucl_context_destroy; the caller keeps
 * its own reference.
 * - An in-order queue is used as it is: relucl's work is ordered with the caller's own work on
 *   that queue, and no events are needed.
 * - An out-of-order queue gets an in-order queue of relucl's own beside it, on the same
 *   context and device (with profiling when the caller's has it): relucl's commands depend on
 *   each other in the order they are enqueued. Order them against the caller's work with
 *   relucl_context_wait_events and relucl_context_record_event; relucl_context_queue returns
 *   relucl's queue.
 * A queue that is not valid is RELUCL_ERROR_INVALID_ARGUMENT. */
RELUCL_API relucl_status relucl_context_create_from_queue(cl_command_queue queue,
                                                          relucl_context **out);
/* As relucl_context_create_from_queue, and on failure writes the reason (NUL-terminated,
 * truncated to message_size) into message, which may be NULL when message_size is 0. */
RELUCL_API relucl_status relucl_context_create_from_queue_ex(cl_command_queue queue,
                                                             relucl_context **out, char *message,
                                                             size_t message_size);

/* ---- Ordering against other queues (events) --------------------------------------------- */

/* Every operation enqueued on ctx after this call starts only after all `count` events have
 * completed: events of any queue of the context's OpenCL context, user events included. The
 * caller keeps ownership of the events (relucl retains what it needs). Enqueues one barrier
 * on the context's queue and does not block. NULL events with count 0 is allowed and does
 * nothing. A NULL or invalid event, an event of another OpenCL context, or one that already
 * ended in error is RELUCL_ERROR_INVALID_ARGUMENT naming it, and nothing is enqueued. (A
 * released event is an invalid handle: OpenCL gives no reliable way to detect it, so it is
 * refused only where the implementation reports it as CL_INVALID_EVENT.) */
RELUCL_API relucl_status relucl_context_wait_events(relucl_context *ctx, cl_uint count,
                                                    const cl_event *events);
/* *event becomes a new event that completes once every operation enqueued on ctx so far has
 * completed; the caller owns it and releases it with clReleaseEvent. Another queue waits on
 * it (clEnqueueBarrierWithWaitList, or an event wait list) to consume relucl's results without
 * a clFinish. Enqueues one marker and does not block. */
RELUCL_API relucl_status relucl_context_record_event(relucl_context *ctx, cl_event *event);

/* ---- Profiling: where the device time goes -------------------------------------------- */

/* One kernel's share of a profile. name is the kernel's name ("gemm_rows", "relu_forward",
 * "relu_forward_wide" (the 16-wide form CPU devices run), "CLBlastSgemm", ...), static storage
 * owned by relucl. seconds sums each command's device
 * time: from CL_PROFILING_COMMAND_START, or the END of the command before it on the in-order
 * queue when that is later (some drivers stamp START at submission), to END. Gaps between
 * commands are not in it. */
typedef struct relucl_profile_entry {
    const char *name;
    unsigned long long calls;
    double seconds;
} relucl_profile_entry;

/* From now on every kernel relucl enqueues on ctx is timed on the device. Needs a queue with
 * CL_QUEUE_PROFILING_ENABLE (relucl_context_create's queue has it; for a caller's queue
 * without it: RELUCL_ERROR_UNSUPPORTED). A profile already running: INVALID_ARGUMENT.
 * Costs an event per command, nothing else: work stays asynchronous. */
RELUCL_API relucl_status relucl_context_profile_start(relucl_context *ctx);
/* Waits for the profiled work, ends the profile and writes its totals per kernel name, the
 * longest first: min(capacity, *count) entries, with *count the number of names (relucl has
 * fewer than 64). Buffer copies and fills are not kernels and are not in it. No profile
 * running: INVALID_ARGUMENT. */
RELUCL_API relucl_status relucl_context_profile_stop(relucl_context *ctx,
                                                     relucl_profile_entry *entries,
                                                     size_t capacity, size_t *count);

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
/* Borrowed handles: not retained for the caller; valid while the context lives. The queue is
 * the one relucl enqueues on (its own when it was given an out-of-order queue). */
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

/* Large tensors. Sizes and offsets are size_t everywhere and the kernels index with 64-bit
 * integers, so element counts past 2^31 (and 2^32) are handled as such wherever one buffer can
 * hold them. One buffer can hold at most CL_DEVICE_MAX_MEM_ALLOC_SIZE bytes (PoCL on the
 * project's CI machines: 1 GiB of 3.6 GiB; GPUs often a quarter of theirs): relucl_tensor_create
 * past that is RELUCL_ERROR_OUT_OF_MEMORY with the size in the message, and a larger array is
 * processed as views of several buffers (samples/chunked-relu.c). Narrower limits, each refused
 * with RELUCL_ERROR_SHAPE or RELUCL_ERROR_UNSUPPORTED before anything runs: convolution extents
 * up to INT_MAX each; PReLU over at most 2^32 - 1 rows of 2^32 - 1 elements; statistics of up to
 * 2^32 - 1 elements per work-group's share; float-held integers (class labels, gather row
 * numbers, max-pooling positions) exact only up to 2^24. A net's buffers are checked against the
 * device's memory when it is created. */

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
/* Host memory as a tensor (a NumPy array, a CPU torch tensor): a new buffer over data
 * (CL_MEM_USE_HOST_PTR), offset 0. Where the device shares host memory (CPU devices such as
 * PoCL; CL_DEVICE_HOST_UNIFIED_MEMORY), the buffer is that memory: nothing is copied, ever.
 * Elsewhere the driver may keep a device copy and move data at map and unmap.
 * data must be aligned to 4 bytes (a float), else RELUCL_ERROR_INVALID_ARGUMENT; PoCL shares
 * it at any such alignment. The caller owns the buffer (relucl_tensor_release) and keeps
 * owning data, which must stay allocated until the buffer is released and the work using it
 * has finished.
 * The rule: from this call until the release, the memory is the device's. The host may read or
 * write it only between relucl_tensor_map_host and relucl_tensor_unmap_host, while no
 * operation uses the tensor; outside that window its contents are undefined to the host. */
RELUCL_API relucl_status relucl_tensor_wrap_host(relucl_context *ctx, void *data, int ndim,
                                                 const size_t *dims, relucl_tensor *out);
/* Makes the host view of t current: waits for the work queued before it, then *host points
 * to t's count(t) floats, readable and writable by the host (for a wrap_host tensor, data +
 * offset itself). Works on any tensor (elsewhere it may copy). Hand it back with
 * relucl_tensor_unmap_host before an operation uses t again. Empty tensors give NULL. */
RELUCL_API relucl_status relucl_tensor_map_host(relucl_context *ctx, const relucl_tensor *t,
                                                float **host);
/* Ends the window opened by relucl_tensor_map_host (host is what it returned): the host's
 * writes become the device's, and operations may use t again. Does not block. */
RELUCL_API relucl_status relucl_tensor_unmap_host(relucl_context *ctx, const relucl_tensor *t,
                                                  float *host);
/* Enqueues t[i] = value for every element. */
RELUCL_API relucl_status relucl_tensor_fill(relucl_context *ctx, const relucl_tensor *t,
                                            float value);

/* ---- Activations ------------------------------------------------------------------------- */

/* Exact behaviour (NaN, -0.0, the gradient at 0) follows PyTorch's functional activations. */
typedef enum relucl_activation_kind {
    RELUCL_RELU,        /* max(x, 0); NaN stays NaN */
    RELUCL_LEAKY_RELU,  /* x > 0 ? x : alpha * x        (alpha: any finite slope, often 0.01) */
    RELUCL_ELU,         /* x > 0 ? x : alpha * expm1(x) (alpha > 0, often 1.0) */
    RELUCL_CLIPPED_RELU, /* min(max(x, 0), alpha)       (alpha > 0 is the ceiling; 6 is ReLU6) */
    RELUCL_IDENTITY,     /* x: no activation (a network's last layer) */
    RELUCL_PRELU         /* x > 0 ? x : slope[c] * x: only where a slope tensor is given
                            (relucl_prelu_*, dense layers); relucl_activation_* reject it */
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

/* ---- Matrix multiply (CLBlast) --------------------------------------------------------- */

typedef enum relucl_transpose { RELUCL_NO_TRANS = 0, RELUCL_TRANS = 1 } relucl_transpose;

/* c = alpha * op(a) * op(b) + beta * c, row-major, where op(m) is m or its transpose. a, b, c
 * are 2-D tensors (rows, cols): op(a) is m x k, op(b) is k x n, c is m x n. With beta 0, c is
 * not read (NaN in c does not leak). Aliasing: c must not overlap a or b. */
RELUCL_API relucl_status relucl_gemm(relucl_context *ctx, relucl_transpose trans_a,
                                     relucl_transpose trans_b, float alpha, const relucl_tensor *a,
                                     const relucl_tensor *b, float beta, const relucl_tensor *c);
/* The same for a batch: a, b, c are 3-D (batch, rows, cols), matrices stored one after the
 * other. a or b may have batch 1, and is then used for every matrix of c. */
RELUCL_API relucl_status relucl_gemm_batched(relucl_context *ctx, relucl_transpose trans_a,
                                             relucl_transpose trans_b, float alpha,
                                             const relucl_tensor *a, const relucl_tensor *b,
                                             float beta, const relucl_tensor *c);

/* ---- Dense layers ------------------------------------------------------------------------ */

/* How a dense layer's weights are stored. */
typedef enum relucl_weight_layout {
    RELUCL_WEIGHTS_IN_OUT = 0, /* w is (in, out): y = x w (relucl's nets, the default) */
    RELUCL_WEIGHTS_OUT_IN = 1  /* w is (out, in): y = x w^T (torch.nn.Linear's weight) */
} relucl_weight_layout;

/* A fully connected layer y = act(x w + b). The tensors are the caller's; relucl only reads
 * them through this description. Below, "x w" means x w^T for RELUCL_WEIGHTS_OUT_IN. */
typedef struct relucl_dense {
    relucl_activation act;      /* any kind; RELUCL_PRELU uses slope */
    const relucl_tensor *w;     /* (in, out), or (out, in) as layout says */
    const relucl_tensor *b;     /* (out), or NULL for no bias */
    const relucl_tensor *slope; /* PReLU only: (out) or (1) */
    relucl_weight_layout layout;
} relucl_dense;

/* x (batch, in) -> z = x w + b (pre-activation) and y = act(z), both (batch, out); the bias
 * and the activation are one kernel after the GEMM (or, on CPUs, where relucl's own GEMM
 * runs, part of the GEMM when z is not kept, PReLU aside). z may be NULL when backward will not need
 * it (see relucl_dense_backward); y may be z (then only act(z) is kept). */
RELUCL_API relucl_status relucl_dense_forward(relucl_context *ctx, const relucl_dense *layer,
                                              const relucl_tensor *x, const relucl_tensor *z,
                                              const relucl_tensor *y);

/* Gradients of one dense layer. dw (shaped like w, in its layout), db (out) and dslope (like
 * slope) may each be NULL to skip them. accumulate != 0 adds into them instead of
 * overwriting. dz (batch, out) is where backward keeps dy * act'(z): give it to leave dy
 * untouched, or NULL to let dy be overwritten with it (no extra memory). */
typedef struct relucl_dense_grads {
    const relucl_tensor *dw, *db, *dslope;
    int accumulate;
    const relucl_tensor *dz;
} relucl_dense_grads;

/* Back through the layer: dz = dy * act'(z), then dx = dz w^T (skipped when dx is NULL, as
 * for a first layer), dw = x^T dz (dz^T x for RELUCL_WEIGHTS_OUT_IN), db = column sums of dz
 * (a device reduction, fixed order). act' is taken from z when given, else from y (PReLU and
 * Leaky ReLU with alpha <= 0 need z). dz goes to grads->dz, or over dy when that is NULL.
 * Aliasing: none (grads->dz may be dy itself, which is the same as NULL). */
RELUCL_API relucl_status relucl_dense_backward(relucl_context *ctx, const relucl_dense *layer,
                                               const relucl_tensor *x, const relucl_tensor *z,
                                               const relucl_tensor *y, const relucl_tensor *dy,
                                               const relucl_tensor *dx,
                                               const relucl_dense_grads *grads);

/* ---- Losses and metrics ----------------------------------------------------------------- */

/* Softmax cross-entropy over rows of logits (batch, classes; any ndim is dims[0] rows of the
 * rest), with labels (batch) holding class indices as floats (0, 1, ...; exact up to 2^24).
 * In one kernel: dlogits (may be NULL) gets the gradient of the mean loss,
 * (softmax - onehot) / batch; loss (1 element, may be NULL) gets the mean loss; correct
 * (1 element, may be NULL) gets the number of rows whose arg-max (the first maximum; NaN
 * counts as the maximum, as torch.argmax) is the label. With accumulate != 0 loss and correct
 * are added to, so a whole epoch's figures can be read back once. The softmax subtracts the
 * row maximum first: large logits are safe; a NaN or infinite logit makes its row's loss and
 * gradient NaN. A label that is not a whole number in [0, classes) (NaN included) makes its
 * row's loss and gradient NaN and never counts as correct. An empty batch gives loss 0; rows
 * of 0 classes are a shape error. Aliasing: none of the outputs may overlap anything. */
RELUCL_API relucl_status relucl_softmax_cross_entropy(relucl_context *ctx,
                                                      const relucl_tensor *logits,
                                                      const relucl_tensor *labels,
                                                      const relucl_tensor *dlogits,
                                                      const relucl_tensor *loss,
                                                      const relucl_tensor *correct,
                                                      int accumulate);
/* Mean squared error: loss = mean((pred - target)^2) over all elements; dpred (may be NULL)
 * = 2 (pred - target) / n. loss (1 element) as above. Aliasing: none. */
RELUCL_API relucl_status relucl_mse(relucl_context *ctx, const relucl_tensor *pred,
                                    const relucl_tensor *target, const relucl_tensor *dpred,
                                    const relucl_tensor *loss, int accumulate);

/* ---- Optimizers -------------------------------------------------------------------------- */

/* One kernel per parameter tensor and step; state lives on the device. PyTorch's formulas.
 * Ranges: lr finite >= 0, momentum and betas in [0, 1), eps > 0, weight_decay >= 0; a zero
 * weight decay or momentum is skipped, not multiplied in (an infinite parameter stays
 * infinite). Aliasing: none of the tensors may overlap. */
typedef struct relucl_sgd {
    float lr, momentum, weight_decay; /* decay is added to the gradient */
    int nesterov;                     /* nonzero: Nesterov momentum (needs momentum > 0) */
} relucl_sgd;
/* velocity (same count as param) holds the momentum buffer; zero it before the first step.
 * May be NULL when momentum is 0, and is then not touched. */
RELUCL_API relucl_status relucl_sgd_step(relucl_context *ctx, const relucl_sgd *opt,
                                         const relucl_tensor *param, const relucl_tensor *grad,
                                         const relucl_tensor *velocity);

typedef struct relucl_adam {
    float lr, beta1, beta2, eps, weight_decay;
    int decoupled; /* 0: Adam (decay added to the gradient); nonzero: AdamW (param decays) */
} relucl_adam;
/* step is the 1-based step number (for the bias correction); m and v are the moment buffers,
 * zeroed before step 1. */
RELUCL_API relucl_status relucl_adam_step(relucl_context *ctx, const relucl_adam *opt, long step,
                                          const relucl_tensor *param, const relucl_tensor *grad,
                                          const relucl_tensor *m, const relucl_tensor *v);

/* ---- Random numbers and initialisation --------------------------------------------------- */

/* Philox4x32-10, the counter-based generator: the same (key, counter) gives the same four
 * words on every device and on the host. out may be counter; NULL arguments do nothing. */
RELUCL_API void relucl_philox4x32(const unsigned int counter[4], const unsigned int key[2],
                                  unsigned int out[4]);

typedef enum relucl_init_kind {
    RELUCL_INIT_ZEROS,
    RELUCL_INIT_CONSTANT,       /* value */
    RELUCL_INIT_UNIFORM,        /* U[-value, value), value >= 0 */
    RELUCL_INIT_NORMAL,         /* N(0, value^2), value >= 0 */
    RELUCL_INIT_HE_NORMAL,      /* N(0, 2 / fan_in): Kaiming for ReLU */
    RELUCL_INIT_HE_UNIFORM,     /* U[-sqrt(6 / fan_in), +) */
    RELUCL_INIT_XAVIER_NORMAL,  /* N(0, 2 / (fan_in + fan_out)); both fans > 0 */
    RELUCL_INIT_XAVIER_UNIFORM  /* U[-sqrt(6 / (fan_in + fan_out)), +); both fans > 0 */
} relucl_init_kind;

/* Element i of a tensor takes lane i % 4 of the Philox block with counter
 * {i / 4 (64 bits), stream (64 bits)} and key seed: it depends on (seed, stream, i) only.
 * Uniform values are (w >> 8) * 2^-24 scaled; normal values use Box-Muller on word pairs. */
typedef struct relucl_init {
    relucl_init_kind kind;
    float value;            /* CONSTANT, UNIFORM, NORMAL only */
    size_t fan_in, fan_out; /* He and Xavier only */
    unsigned long long seed;
    unsigned long long stream; /* a different stream per tensor gives independent values */
} relucl_init;

/* Fills t on the device. Uniform kinds give the same bits on every device; normal kinds go
 * through log, sqrt and sin/cos, which OpenCL lets differ by a few ulp between devices. */
RELUCL_API relucl_status relucl_init_tensor(relucl_context *ctx, const relucl_init *init,
                                            const relucl_tensor *t);

/* Inverted dropout: y = x * mask with mask[i] = 1/(1-p) where element i's Philox uniform
 * (as relucl_init_tensor maps them) is >= p, else 0; 0 <= p < 1. mask (same count) is kept for
 * backward. y may be x; mask must not overlap x or y. A dropped NaN or Inf gives NaN (it is
 * multiplied by 0). Use a stream no initialiser uses. */
RELUCL_API relucl_status relucl_dropout_forward(relucl_context *ctx, float p,
                                                unsigned long long seed, unsigned long long stream,
                                                const relucl_tensor *x, const relucl_tensor *mask,
                                                const relucl_tensor *y);
/* dx = dy * mask. dx may be dy. */
RELUCL_API relucl_status relucl_dropout_backward(relucl_context *ctx, const relucl_tensor *mask,
                                                 const relucl_tensor *dy, const relucl_tensor *dx);

/* A permutation of 0..n-1, the same for the same seed and epoch everywhere: Fisher-Yates from
 * the top, each draw an unbiased Philox word (key seed, counter {draw, epoch}) with rejection.
 * perm holds n entries. No context, so no message: INVALID_ARGUMENT for NULL perm with n > 0. */
RELUCL_API relucl_status relucl_shuffle(unsigned long long seed, unsigned long long epoch,
                                        size_t n, size_t *perm);

/* ---- IDX files (MNIST, Fashion-MNIST) ---------------------------------------------------- */

/* An unsigned-byte IDX array: dims[0] items of dims[1] x ... values each. */
typedef struct relucl_idx {
    int ndim;
    size_t dims[RELUCL_MAX_DIMS];
    unsigned char *data; /* owned; freed by relucl_idx_free */
} relucl_idx;

/* Reads an IDX file, gzip-compressed or not (decided by its first bytes). Checks the magic
 * number, the element type (unsigned byte only: RELUCL_ERROR_UNSUPPORTED otherwise), the
 * dimensions (a zero dimension gives an empty array; at most 4 GiB of data) and that the
 * length is exact: RELUCL_ERROR_FORMAT, as is a corrupt gzip stream; RELUCL_ERROR_IO for a file
 * the system cannot read. The reason goes to message (may be NULL when message_size is 0);
 * on failure *out is unchanged. */
RELUCL_API relucl_status relucl_idx_load(const char *path, relucl_idx *out, char *message,
                                         size_t message_size);
RELUCL_API void relucl_idx_free(relucl_idx *idx);

/* ---- Data on the device ----------------------------------------------------------------- */

/* dst row r = src row index[first + r] for every row of dst: src (rows, cols...) and dst
 * (batch, cols...) agree past dims[0]; index holds row numbers as floats, exact up to 2^24,
 * so src may have at most 2^24 rows (more is RELUCL_ERROR_SHAPE: gather from a view of the
 * part you need). An index out of range fills its row with NaN. Aliasing: dst must not
 * overlap src or index.
 * With labels: the same gather on a second pair (src_labels rows -> dst_labels), one launch;
 * both labels tensors may be NULL. */
RELUCL_API relucl_status relucl_gather_rows(relucl_context *ctx, const relucl_tensor *src,
                                            const relucl_tensor *index, size_t first,
                                            const relucl_tensor *dst,
                                            const relucl_tensor *src_labels,
                                            const relucl_tensor *dst_labels);

/* ---- Convolution (NCHW input, KCRS filters) ---------------------------------------------- */

/* Geometry of a 2-D convolution; index 0 is height, 1 is width. */
typedef struct relucl_conv2d {
    size_t stride[2];   /* >= 1 */
    size_t pad[2];      /* zero padding on both sides */
    size_t dilation[2]; /* >= 1; 1 is a plain convolution */
    size_t groups;      /* >= 1; C and K divisible by it; groups == C == K is depthwise */
} relucl_conv2d;

typedef enum relucl_conv_algo {
    RELUCL_CONV_AUTO,  /* GEMM when K/groups >= 16, (C/groups) R S >= 16 (dropped on devices
                          where relucl's own GEMM runs: CPUs) and one image's scratch fits
                          the workspace limit; otherwise NAIVE */
    RELUCL_CONV_NAIVE, /* direct: one work-item per output element; the reference */
    RELUCL_CONV_GEMM   /* im2col / col2im into the context's workspace, then a GEMM */
} relucl_conv_algo;

/* y_dims (N, K, P, Q) for x_dims (N, C, H, W) and w_dims (K, C / groups, R, S):
 * P = (H + 2 pad - dilation (R - 1) - 1) / stride + 1, likewise Q. Impossible geometry (zero
 * stride or dilation, a dilated filter larger than the padded input, channels not divisible
 * by groups, mismatched filter channels) is RELUCL_ERROR_SHAPE, a zero stride, dilation or
 * groups INVALID_ARGUMENT, with the reason in ctx's message. Every dimension must be at most
 * INT_MAX. The two algorithms agree to rounding, not bit for bit (NAIVE skips padded taps,
 * GEMM multiplies them by 0). */
RELUCL_API relucl_status relucl_conv2d_output_dims(relucl_context *ctx,
                                                   const relucl_conv2d *conv,
                                                   const size_t x_dims[4], const size_t w_dims[4],
                                                   size_t y_dims[4]);

/* y = act(conv(x, w) + b): x (N, C, H, W), w (K, C / groups, R, S), b (K) or NULL, y
 * (N, K, P, Q). act: any kind but RELUCL_PRELU (RELUCL_IDENTITY for none), fused into the
 * same pass. Aliasing: y must not overlap x, w or b. */
RELUCL_API relucl_status relucl_conv2d_forward(relucl_context *ctx, const relucl_conv2d *conv,
                                               relucl_conv_algo algo, relucl_activation act,
                                               const relucl_tensor *x, const relucl_tensor *w,
                                               const relucl_tensor *b, const relucl_tensor *y);
/* dx = the gradient with respect to x of the convolution (no activation: apply
 * relucl_activation_backward to dy first). Aliasing: dx must not overlap dy or w. */
RELUCL_API relucl_status relucl_conv2d_backward_data(relucl_context *ctx,
                                                     const relucl_conv2d *conv,
                                                     relucl_conv_algo algo,
                                                     const relucl_tensor *dy,
                                                     const relucl_tensor *w,
                                                     const relucl_tensor *dx);
/* dw (like w) and db (K, or NULL) from x and dy; accumulate != 0 adds into them. Sums run in
 * a fixed order: the same result on every run. Aliasing: dw and db overlap nothing. */
RELUCL_API relucl_status relucl_conv2d_backward_filter(relucl_context *ctx,
                                                       const relucl_conv2d *conv,
                                                       relucl_conv_algo algo,
                                                       const relucl_tensor *x,
                                                       const relucl_tensor *dy,
                                                       const relucl_tensor *dw,
                                                       const relucl_tensor *db, int accumulate);
/* Bytes of device scratch the GEMM algorithm would allocate for this shape when the limit does
 * not bind: the whole batch's columns, or chunks of about 32 MiB (4 MiB on CPU devices, whose
 * caches then hold a chunk between its kernels), whichever is smaller. */
RELUCL_API relucl_status relucl_conv2d_workspace_size(relucl_context *ctx,
                                                      const relucl_conv2d *conv,
                                                      const relucl_tensor *x,
                                                      const relucl_tensor *w, size_t *bytes);
/* Caps the context's scratch memory (default 256 MiB, and never above the device's largest
 * allocation). The workspace is allocated on first need, grown when a larger one is needed and
 * reused; lowering the cap releases it. A batch whose scratch would pass the cap is processed
 * in chunks of images instead of failing; a single image over the cap makes GEMM fail with
 * RELUCL_ERROR_OUT_OF_MEMORY (AUTO then uses NAIVE). 0 restores the default. */
RELUCL_API relucl_status relucl_context_set_workspace_limit(relucl_context *ctx, size_t bytes);

/* ---- Pooling ----------------------------------------------------------------------------- */

typedef enum relucl_pool_kind {
    RELUCL_POOL_MAX, /* the first maximum in row-major window order; a NaN wins (the last
                        NaN, as PyTorch's `v > max || isnan(v)` scan gives); padding never */
    RELUCL_POOL_AVG  /* the mean over the window, padding counted (PyTorch's default) */
} relucl_pool_kind;

typedef struct relucl_pool2d {
    relucl_pool_kind kind;
    size_t kernel[2], stride[2], pad[2]; /* kernel, stride >= 1; pad <= kernel / 2 */
} relucl_pool2d;

/* y_dims (N, C, P, Q) for x_dims (N, C, H, W), P = (H + 2 pad - kernel) / stride + 1. */
RELUCL_API relucl_status relucl_pool2d_output_dims(relucl_context *ctx,
                                                   const relucl_pool2d *pool,
                                                   const size_t x_dims[4], size_t y_dims[4]);
/* x (N, C, H, W) -> y (N, C, P, Q), H and W >= 1 and H + 2 pad >= kernel (else
 * RELUCL_ERROR_SHAPE; bad parameters are INVALID_ARGUMENT). Max pooling writes each maximum's
 * position in its input plane (h * W + w, as a float, so H * W <= 2^24) to argmax, shaped like
 * y, which backward needs; argmax is NULL for average pooling. Aliasing: none. */
RELUCL_API relucl_status relucl_pool2d_forward(relucl_context *ctx, const relucl_pool2d *pool,
                                               const relucl_tensor *x, const relucl_tensor *y,
                                               const relucl_tensor *argmax);
/* dx (like x; the geometry comes from its dims) from dy (like y): max pooling routes each dy
 * to its argmax, summing where windows overlap (in a fixed order); average pooling spreads dy
 * evenly. Aliasing: none. */
RELUCL_API relucl_status relucl_pool2d_backward(relucl_context *ctx, const relucl_pool2d *pool,
                                                const relucl_tensor *dy,
                                                const relucl_tensor *argmax,
                                                const relucl_tensor *dx);
/* Global average pooling: x (N, C, H, W) -> y exactly (N, C), and back. */
RELUCL_API relucl_status relucl_global_avg_pool_forward(relucl_context *ctx,
                                                        const relucl_tensor *x,
                                                        const relucl_tensor *y);
RELUCL_API relucl_status relucl_global_avg_pool_backward(relucl_context *ctx,
                                                         const relucl_tensor *dy,
                                                         const relucl_tensor *dx);

/* A view of t with other dims and the same element count: no copy (e.g. flattening
 * (N, C, H, W) to (N, C * H * W) between convolution and dense layers). */
RELUCL_API relucl_status relucl_tensor_reshape(const relucl_tensor *t, int ndim,
                                               const size_t *dims, relucl_tensor *out);

/* ---- Sequential networks ----------------------------------------------------------------- */

/* A sequential model of dense, convolution and pooling layers with their activations; its
 * parameters, gradients, optimizer state and every activation buffer are allocated once, for
 * batches up to max_batch. Owns its device memory; uses (does not own) its context, which must
 * outlive it. Not thread-safe: one thread at a time per net (and per context). */
typedef struct relucl_net relucl_net;

/* spec: the input, then layers and activations separated by '-'. The input is a width ("784")
 * or an image C x H x W ("1x28x28"). A number is a dense layer of that many units (an image
 * before it is flattened). conv<K>[k<R>][p<P>][s<S>][d<D>] is a convolution of K filters
 * R x R (default 3) with zero padding P (0), stride S (1) and dilation D (1);
 * maxpool<k>[s<S>][p<P>] and avgpool<k>[s<S>][p<P>] pool k x k windows (stride k unless
 * given); gap is global average pooling; flatten is accepted and does nothing. A word is the
 * activation after the dense or conv layer before it: relu, leaky (slope 0.01) or leaky:A,
 * elu or elu:A, relu6 or clipped:A, prelu or prelu:A (one slope per unit or channel, starting
 * at A = 0.25), identity. A preset name may stand for a spec: mlp
 * ("784-256-relu-128-relu-10"), mlp-leaky, mlp-elu, mlp-prelu, deep and cnn
 * ("1x28x28-conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-128-relu-10").
 * Weights get He-normal initialisation from seed (Xavier for a layer with no activation after
 * it), biases zero; the last layer is dense with no activation (its logits go to softmax
 * cross-entropy). A bad spec gives RELUCL_ERROR_INVALID_ARGUMENT naming the token. */
RELUCL_API relucl_status relucl_net_create(relucl_context *ctx, const char *spec,
                                           size_t max_batch, unsigned long long seed,
                                           relucl_net **out);
/* NULL does nothing. */
RELUCL_API void relucl_net_destroy(relucl_net *net);
/* The normalised spec, every default written out ("conv32k3p1" becomes "conv32k3p1s1d1",
 * "prelu" "prelu:0.25"), owned by net; relucl_net_create accepts it back. */
RELUCL_API const char *relucl_net_spec(const relucl_net *net);
RELUCL_API size_t relucl_net_inputs(const relucl_net *net);
RELUCL_API size_t relucl_net_outputs(const relucl_net *net);
RELUCL_API size_t relucl_net_parameter_count(const relucl_net *net);

typedef enum relucl_optimizer_kind { RELUCL_OPTIMIZER_SGD, RELUCL_OPTIMIZER_ADAM } relucl_optimizer_kind;
typedef struct relucl_optimizer {
    relucl_optimizer_kind kind;
    relucl_sgd sgd;   /* used when kind is RELUCL_OPTIMIZER_SGD */
    relucl_adam adam; /* used when kind is RELUCL_OPTIMIZER_ADAM (decoupled: AdamW) */
} relucl_optimizer;
/* Sets the optimizer (default: SGD, lr 0.01, no momentum). Changing its kind resets its
 * state; changing only hyperparameters (a learning-rate schedule) keeps it. */
RELUCL_API relucl_status relucl_net_set_optimizer(relucl_net *net, const relucl_optimizer *opt);

/* One training step: forward, softmax cross-entropy against labels, backward and one
 * optimizer update over every parameter. x is (rows, inputs) with 1 <= rows <= max_batch,
 * labels (rows) class indices as floats. The mean loss and the correct count are added to
 * the net's device counters; nothing is read back. */
RELUCL_API relucl_status relucl_net_train_step(relucl_net *net, const relucl_tensor *x,
                                               const relucl_tensor *labels);
/* The training step in two halves, for data-parallel training (tools/train-dist.c uses MPI;
 * any other communication library can do the same): compute_gradients runs forward, the loss
 * (added to the counters) and backward, leaving the gradients of the mean loss over x's rows
 * in the net's gradient buffer; the caller may then combine gradient buffers across processes
 * (sum them, each scaled by its share of the global batch); apply_gradients makes one
 * optimizer update from the buffer and counts the step. train_step is compute + apply. */
RELUCL_API relucl_status relucl_net_compute_gradients(relucl_net *net, const relucl_tensor *x,
                                                      const relucl_tensor *labels);
RELUCL_API relucl_status relucl_net_apply_gradients(relucl_net *net);

/* The net's own buffers, each one contiguous run of floats: the parameters (layer by layer:
 * w, b, PReLU slope, in checkpoint order), their gradients (same layout), and the optimizer
 * state (SGD velocity or Adam m, then Adam v: twice the parameter count). Borrowed views, valid
 * while the net lives; read and write them with the tensor calls (e.g. to broadcast initial
 * parameters from one process, or to reduce gradients). */
typedef enum relucl_net_buffer_kind {
    RELUCL_NET_PARAMETERS,
    RELUCL_NET_GRADIENTS,
    RELUCL_NET_OPTIMIZER_STATE
} relucl_net_buffer_kind;
RELUCL_API relucl_status relucl_net_buffer(relucl_net *net, relucl_net_buffer_kind which,
                                           relucl_tensor *out);
/* Sets the step count (Adam's bias correction uses it), e.g. on processes that received a
 * resumed net's state from another. */
RELUCL_API relucl_status relucl_net_set_steps(relucl_net *net, unsigned long long steps);

/* Forward only, adding loss and correct count to the counters like a training step. */
RELUCL_API relucl_status relucl_net_evaluate(relucl_net *net, const relucl_tensor *x,
                                             const relucl_tensor *labels);
/* Reads and resets the counters: the mean loss per batch and the fraction of correct rows
 * since the last call (0 and 0 when nothing ran). Waits for queued work. */
RELUCL_API relucl_status relucl_net_take_metrics(relucl_net *net, double *mean_loss,
                                                 double *accuracy);
/* Logits for x (rows, inputs) into out (rows, outputs). */
RELUCL_API relucl_status relucl_net_forward(relucl_net *net, const relucl_tensor *x,
                                            const relucl_tensor *out);
/* The number of optimizer steps taken so far (restored by relucl_net_load). */
RELUCL_API unsigned long long relucl_net_steps(const relucl_net *net);

/* A look inside a layer, for diagnostics: views of the net's own memory (borrowed: valid
 * while the net lives, contents change with every step). A tensor the layer lacks has a NULL
 * buffer and ndim 0. */
typedef struct relucl_net_layer_info {
    const char *kind;         /* "dense", "conv", "maxpool", "avgpool" or "gap" (static) */
    relucl_activation act;    /* RELUCL_IDENTITY when none */
    relucl_tensor w, b;       /* parameters */
    relucl_tensor dw, db;     /* their gradients from the last training step */
    relucl_tensor y;          /* the layer's output (after its activation) for the last batch */
} relucl_net_layer_info;
RELUCL_API int relucl_net_layer_count(const relucl_net *net);
/* index 0 .. relucl_net_layer_count - 1. */
RELUCL_API relucl_status relucl_net_layer(relucl_net *net, int index, relucl_net_layer_info *out);

/* Checkpoints: every parameter, the optimizer's kind, hyperparameters, state and step count,
 * in the binary format documented in host/net/checkpoint.c, with a checksum. Saving writes a
 * temporary file beside path, fsyncs it and renames it over path, so a crash never leaves
 * half a file.
 * Loading checks everything (magic, version, spec, sizes, checksum) before it changes the net:
 * a corrupt or mismatched file gives RELUCL_ERROR_FORMAT and leaves the net as it was. */
RELUCL_API relucl_status relucl_net_save(relucl_net *net, const char *path);
RELUCL_API relucl_status relucl_net_load(relucl_net *net, const char *path);

/* ---- Statistics for diagnostics ---------------------------------------------------------- */

/* A summary of a tensor's values, computed on the device in a fixed order (the same result on
 * every run) and copied back as these few numbers. */
typedef struct relucl_stats {
    size_t count;     /* elements */
    size_t zeros;     /* elements equal to 0 (either sign): a ReLU output's sparsity */
    size_t nan, inf;  /* NaN elements; infinite elements of either sign */
    double l2;        /* sqrt of the sum of squares of the finite elements */
    double mean_abs;  /* mean |v| over the finite elements (0 when there are none) */
    double min, max;  /* over the non-NaN elements (+inf and -inf when there are none) */
} relucl_stats;

/* Fills *out for t. Waits for queued work (it reads the result back). */
RELUCL_API relucl_status relucl_tensor_stats(relucl_context *ctx, const relucl_tensor *t,
                                             relucl_stats *out);

/* Dead-unit tracking: alive has one element per unit (dims[1] of y: a dense layer's units or
 * a convolution's channels; ndim 1 y has one unit per element). For every unit whose output
 * was non-zero (NaN counts as non-zero) for any sample of y, alive[unit] becomes 1; other
 * entries keep their value. Zero alive (relucl_tensor_fill) to reset; after any number of
 * batches, the zeros of alive (relucl_tensor_stats) are the units dead on every sample seen.
 * Aliasing: alive must not overlap y. */
RELUCL_API relucl_status relucl_dead_units_update(relucl_context *ctx, const relucl_tensor *y,
                                                  const relucl_tensor *alive);

/* ---- GEMM tuning -------------------------------------------------------------------------- */

/* CLBlast's GEMM kernels take tuning parameters per device. Before a context's first GEMM,
 * relucl hands CLBlast a set for each of "Xgemm" (large GEMMs), "XgemmDirect" (small ones)
 * and "GemmRoutine" (the size between them): the user's file for this device if there is
 * one (written by relucl-tune; format in host/blas/tuning.c), else a set built into relucl for the
 * device (PoCL on AVX-512 CPUs), else CLBlast's own. A malformed file is ignored, never
 * failing a GEMM. $RELUCL_GEMM_TUNING=off applies nothing.
 * CLBlast keeps parameters per OpenCL device for the whole process, so they are shared by
 * every context (and any other CLBlast user) on that device: a context's first GEMM replaces
 * a set given earlier through another context with relucl's own. */

/* Where the user's set for the context's device is stored: "<cache dir>/clblast-<16 hex
 * digits>.txt", the directory being the program cache's ($RELUCL_CACHE_DIR, else
 * $XDG_CACHE_HOME/relucl, else ~/.cache/relucl); the digits hash the platform, device and
 * driver. The file need not exist. RELUCL_ERROR_IO when there is no cache directory. */
RELUCL_API relucl_status relucl_gemm_tuning_path(relucl_context *ctx, char *path, size_t size);

/* Applies a parameter set now (CLBlastOverrideParameters) for the context's device; later
 * GEMMs compile and use it. names[i] takes values[i]. For "Xgemm", "XgemmDirect" and
 * "GemmRoutine" every parameter must be given once and the combination must suit the kernel
 * and the device (RELUCL_ERROR_INVALID_ARGUMENT otherwise); other kernel names go to CLBlast
 * unchecked.
 * RELUCL_ERROR_BLAS, with CLBlast's status, when CLBlast refuses the set. */
RELUCL_API relucl_status relucl_gemm_set_tuning(relucl_context *ctx, const char *kernel,
                                                size_t count, const char **names,
                                                const size_t *values);

#ifdef __cplusplus
}
#endif
#endif /* RELUCL_H */
