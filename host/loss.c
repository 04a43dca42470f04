/* Losses and metrics: softmax cross-entropy and mean squared error, one kernel launch each. */
#include "internal.h"

#define LOSS_LANES 256 /* logical lanes of the reduction; must match kernels/loss.cl */

/* kernel flags; must match kernels/loss.cl */
enum { HAS_GRAD = 1, HAS_LOSS = 2, HAS_CORRECT = 4, ACCUMULATE = 8 };

/* The single work-group's size: the largest power of two up to LOSS_LANES that the device and
 * this kernel accept. The kernel's lanes make its results independent of the choice. */
static size_t group_size(relucl_context *ctx, cl_kernel kernel) {
    size_t limit = ctx->max_work_group, kernel_limit = 0;
    if (clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof kernel_limit, &kernel_limit, NULL) == CL_SUCCESS &&
        kernel_limit > 0 && kernel_limit < limit)
        limit = kernel_limit;
    size_t size = LOSS_LANES;
    while (size > 1 && size > limit)
        size /= 2;
    return size;
}

/* An optional one-element output (loss, correct): NULL passes. */
static relucl_status check_scalar(relucl_context *ctx, const char *fn, const char *name,
                                  const relucl_tensor *t) {
    size_t n = 0;
    if (!t)
        return RELUCL_OK;
    relucl_status status = relucl_check_tensor(ctx, fn, name, t, &n);
    if (status == RELUCL_OK && n != 1)
        status =
            relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s has %zu elements, must be 1", name, n);
    return status;
}

/* An optional output that may overlap none of the `count` tensors before it in list. */
static relucl_status check_apart(relucl_context *ctx, const char *fn, const relucl_tensor **list,
                                 const char **names, int count) {
    relucl_status status = RELUCL_OK;
    for (int i = 0; i < count && status == RELUCL_OK; i++)
        status = relucl_check_overlap(ctx, fn, names[count], list[count], names[i], list[i], 0);
    return status;
}

/* A tensor's buffer and offset as kernel arguments; a missing tensor stands in as `other`
 * (never written: its flag is clear). */
typedef struct buffer_arg {
    cl_mem buffer;
    cl_ulong offset;
} buffer_arg;

static buffer_arg buffer_of(const relucl_tensor *t, cl_mem other) {
    buffer_arg b = {other, 0};
    if (t) {
        b.buffer = t->buffer;
        b.offset = t->offset;
    }
    return b;
}

static cl_int output_flags(const relucl_tensor *grad, const relucl_tensor *loss,
                           const relucl_tensor *correct, int accumulate) {
    return (grad ? HAS_GRAD : 0) | (loss ? HAS_LOSS : 0) | (correct ? HAS_CORRECT : 0) |
           (accumulate ? ACCUMULATE : 0);
}

static relucl_status check_cross_entropy(relucl_context *ctx, const char *fn,
                                         const relucl_tensor *logits, const relucl_tensor *labels,
                                         const relucl_tensor *dlogits, const relucl_tensor *loss,
                                         const relucl_tensor *correct, size_t *batch,
                                         size_t *classes) {
    size_t n = 0, nl = 0, nd = 0;
    relucl_status status = relucl_check_tensor(ctx, fn, "logits", logits, &n);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "labels", labels, &nl);
    if (status == RELUCL_OK && dlogits)
        status = relucl_check_tensor(ctx, fn, "dlogits", dlogits, &nd);
    if (status == RELUCL_OK && dlogits)
        status = relucl_check_same_count(ctx, fn, "dlogits", nd, "logits", n);
    if (status == RELUCL_OK)
        status = check_scalar(ctx, fn, "loss", loss);
    if (status == RELUCL_OK)
        status = check_scalar(ctx, fn, "correct", correct);
    if (status != RELUCL_OK)
        return status;
    *batch = logits->dims[0];
    *classes = 1;
    for (int i = 1; i < logits->ndim; i++)
        *classes *= logits->dims[i];
    if (nl != *batch)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn,
                           "labels has %zu elements, logits has %zu rows (dims[0])", nl, *batch);
    if (*batch > 0 && *classes == 0)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn, "logits has %zu rows of 0 classes", *batch);
    const relucl_tensor *list[] = {logits, labels, dlogits, loss, correct};
    const char *names[] = {"logits", "labels", "dlogits", "loss", "correct"};
    for (int i = 2; i < 5 && status == RELUCL_OK; i++)
        status = check_apart(ctx, fn, list, names, i);
    return status;
}

relucl_status relucl_softmax_cross_entropy(relucl_context *ctx, const relucl_tensor *logits,
                                           const relucl_tensor *labels,
                                           const relucl_tensor *dlogits, const relucl_tensor *loss,
                                           const relucl_tensor *correct, int accumulate) {
    static const char fn[] = "relucl_softmax_cross_entropy";
    size_t batch = 0, classes = 0;
    relucl_status status = relucl_check_context(ctx);
    if (status == RELUCL_OK)
        status =
            check_cross_entropy(ctx, fn, logits, labels, dlogits, loss, correct, &batch, &classes);
    if (status != RELUCL_OK)
        return status;
    /* Nothing to write: no outputs, or an empty batch added to the totals. */
    if ((!loss && !correct && (!dlogits || batch == 0)) || (batch == 0 && accumulate))
        return RELUCL_OK;

    cl_kernel kernel;
    status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_LOSS, "softmax_cross_entropy", &kernel);
    if (status != RELUCL_OK)
        return status;
    buffer_arg x = buffer_of(logits, NULL), y = buffer_of(labels, NULL);
    buffer_arg dx = buffer_of(dlogits, logits->buffer), l = buffer_of(loss, logits->buffer);
    buffer_arg c = buffer_of(correct, logits->buffer);
    cl_ulong rows = batch, cols = classes;
    cl_int flags = output_flags(dlogits, loss, correct, accumulate);
    relucl_arg args[] = {RELUCL_ARG(x.buffer), RELUCL_ARG(x.offset),  RELUCL_ARG(y.buffer),
                         RELUCL_ARG(y.offset), RELUCL_ARG(dx.buffer), RELUCL_ARG(dx.offset),
                         RELUCL_ARG(l.buffer), RELUCL_ARG(l.offset),  RELUCL_ARG(c.buffer),
                         RELUCL_ARG(c.offset), RELUCL_ARG(rows),      RELUCL_ARG(cols),
                         RELUCL_ARG(flags)};
    status = relucl_set_args(ctx, fn, kernel, args, 13);
    if (status != RELUCL_OK)
        return status;
    size_t local = group_size(ctx, kernel);
    return relucl_launch_1d(ctx, fn, kernel, local, local);
}

relucl_status relucl_mse(relucl_context *ctx, const relucl_tensor *pred,
                         const relucl_tensor *target, const relucl_tensor *dpred,
                         const relucl_tensor *loss, int accumulate) {
    static const char fn[] = "relucl_mse";
    size_t n = 0, nt = 0, nd = 0;
    relucl_status status = relucl_check_context(ctx);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "pred", pred, &n);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "target", target, &nt);
    if (status == RELUCL_OK && dpred)
        status = relucl_check_tensor(ctx, fn, "dpred", dpred, &nd);
    if (status == RELUCL_OK)
        status = check_scalar(ctx, fn, "loss", loss);
    if (status == RELUCL_OK)
        status = relucl_check_same_count(ctx, fn, "target", nt, "pred", n);
    if (status == RELUCL_OK && dpred)
        status = relucl_check_same_count(ctx, fn, "dpred", nd, "pred", n);
    const relucl_tensor *list[] = {pred, target, dpred, loss};
    const char *names[] = {"pred", "target", "dpred", "loss"};
    for (int i = 2; i < 4 && status == RELUCL_OK; i++)
        status = check_apart(ctx, fn, list, names, i);
    if (status != RELUCL_OK)
        return status;
    if ((!loss && (!dpred || n == 0)) || (n == 0 && accumulate))
        return RELUCL_OK;

    cl_kernel kernel;
    status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_LOSS, "mse", &kernel);
    if (status != RELUCL_OK)
        return status;
    buffer_arg p = buffer_of(pred, NULL), t = buffer_of(target, NULL);
    buffer_arg dp = buffer_of(dpred, pred->buffer), l = buffer_of(loss, pred->buffer);
    cl_ulong count = n;
    cl_int flags = output_flags(dpred, loss, NULL, accumulate);
    relucl_arg args[] = {RELUCL_ARG(p.buffer), RELUCL_ARG(p.offset),  RELUCL_ARG(t.buffer),
                         RELUCL_ARG(t.offset), RELUCL_ARG(dp.buffer), RELUCL_ARG(dp.offset),
                         RELUCL_ARG(l.buffer), RELUCL_ARG(l.offset),  RELUCL_ARG(count),
                         RELUCL_ARG(flags)};
    status = relucl_set_args(ctx, fn, kernel, args, 10);
    if (status != RELUCL_OK)
        return status;
    size_t local = group_size(ctx, kernel);
    return relucl_launch_1d(ctx, fn, kernel, local, local);
}
