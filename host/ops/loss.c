/* Losses and metrics: softmax cross-entropy and mean squared error, one kernel launch each. */
#include "ops/ops.h"

/* The single work-group's size: the largest power of two up to RELUCL_LOSS_LANES that the
 * device and this kernel accept. The kernel's lanes make its results independent of it. */
static size_t group_size(relucl_context *ctx, cl_kernel kernel) {
    size_t limit = ctx->max_work_group, kernel_limit = 0;
    if (clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof kernel_limit, &kernel_limit, NULL) == CL_SUCCESS &&
        kernel_limit > 0 && kernel_limit < limit)
        limit = kernel_limit;
    size_t size = RELUCL_LOSS_LANES;
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
    RELUCL__TRY(relucl__check_tensor(ctx, fn, name, t, &n));
    if (n != 1)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s has %zu elements, must be 1", name, n);
    return RELUCL_OK;
}

static cl_int output_flags(const relucl_tensor *grad, const relucl_tensor *loss,
                           const relucl_tensor *correct, int accumulate) {
    return (grad ? RELUCL_LOSS_HAS_GRAD : 0) | (loss ? RELUCL_LOSS_HAS_LOSS : 0) |
           (correct ? RELUCL_LOSS_HAS_CORRECT : 0) | (accumulate ? RELUCL_LOSS_ACCUMULATE : 0);
}

/* A loss kernel runs as one work-group (its sums need no second launch). Missing outputs get
 * `first`'s buffer as a stand-in: their flag is clear, the kernel never touches them. */
#define RUN_LOSS(ctx, fn, kernel, ...)                                                             \
    RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_LOSS, kernel, one_group(ctx, fn, kernel), __VA_ARGS__)

static relucl__range one_group(relucl_context *ctx, const char *fn, const char *name) {
    cl_kernel kernel;
    size_t local = 1; /* should the kernel not build, the launch tries again and says why */
    if (relucl__kernel_get(ctx, fn, RELUCL_PROGRAM_LOSS, name, &kernel) == RELUCL_OK)
        local = group_size(ctx, kernel);
    return relucl__range_1d(ctx, local, local);
}

static relucl_status check_cross_entropy(relucl_context *ctx, const char *fn,
                                         const relucl_tensor *logits, const relucl_tensor *labels,
                                         const relucl_tensor *dlogits, const relucl_tensor *loss,
                                         const relucl_tensor *correct, size_t *batch,
                                         size_t *classes) {
    size_t n = 0, nl = 0, nd = 0;
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "logits", logits, &n));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "labels", labels, &nl));
    if (dlogits) {
        RELUCL__TRY(relucl__check_tensor(ctx, fn, "dlogits", dlogits, &nd));
        RELUCL__TRY(relucl__check_same_count(ctx, fn, "dlogits", nd, "logits", n));
    }
    RELUCL__TRY(check_scalar(ctx, fn, "loss", loss));
    RELUCL__TRY(check_scalar(ctx, fn, "correct", correct));
    *batch = logits->dims[0];
    *classes = 1;
    for (int i = 1; i < logits->ndim; i++)
        *classes *= logits->dims[i];
    if (nl != *batch)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "labels has %zu elements, logits has %zu rows (dims[0])", nl, *batch);
    if (*batch > 0 && *classes == 0)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "logits has %zu rows of 0 classes",
                            *batch);
    const relucl_tensor *list[] = {logits, labels, dlogits, loss, correct};
    const char *const names[] = {"logits", "labels", "dlogits", "loss", "correct"};
    for (int i = 2; i < 5; i++)
        RELUCL__TRY(relucl__check_apart(ctx, fn, names[i], list[i], i, names, list));
    return RELUCL_OK;
}

relucl_status relucl_softmax_cross_entropy(relucl_context *ctx, const relucl_tensor *logits,
                                           const relucl_tensor *labels,
                                           const relucl_tensor *dlogits, const relucl_tensor *loss,
                                           const relucl_tensor *correct, int accumulate) {
    static const char fn[] = "relucl_softmax_cross_entropy";
    size_t batch = 0, classes = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(
        check_cross_entropy(ctx, fn, logits, labels, dlogits, loss, correct, &batch, &classes));
    /* Nothing to write: no outputs, or an empty batch added to the totals. */
    if ((!loss && !correct && (!dlogits || batch == 0)) || (batch == 0 && accumulate))
        return RELUCL_OK;

    cl_mem any = logits->buffer;
    return RUN_LOSS(ctx, fn, "softmax_cross_entropy", RELUCL__TENSOR(logits),
                    RELUCL__TENSOR(labels), RELUCL__TENSOR_OR(dlogits, any),
                    RELUCL__TENSOR_OR(loss, any), RELUCL__TENSOR_OR(correct, any),
                    RELUCL__ULONG(batch), RELUCL__ULONG(classes),
                    RELUCL__INT(output_flags(dlogits, loss, correct, accumulate)));
}

relucl_status relucl_mse(relucl_context *ctx, const relucl_tensor *pred,
                         const relucl_tensor *target, const relucl_tensor *dpred,
                         const relucl_tensor *loss, int accumulate) {
    static const char fn[] = "relucl_mse";
    size_t n = 0, nt = 0, nd = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "pred", pred, &n));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "target", target, &nt));
    if (dpred)
        RELUCL__TRY(relucl__check_tensor(ctx, fn, "dpred", dpred, &nd));
    RELUCL__TRY(check_scalar(ctx, fn, "loss", loss));
    RELUCL__TRY(relucl__check_same_count(ctx, fn, "target", nt, "pred", n));
    if (dpred)
        RELUCL__TRY(relucl__check_same_count(ctx, fn, "dpred", nd, "pred", n));
    const relucl_tensor *list[] = {pred, target, dpred, loss};
    const char *const names[] = {"pred", "target", "dpred", "loss"};
    for (int i = 2; i < 4; i++)
        RELUCL__TRY(relucl__check_apart(ctx, fn, names[i], list[i], i, names, list));
    if ((!loss && (!dpred || n == 0)) || (n == 0 && accumulate))
        return RELUCL_OK;

    cl_mem any = pred->buffer;
    return RUN_LOSS(ctx, fn, "mse", RELUCL__TENSOR(pred), RELUCL__TENSOR(target),
                    RELUCL__TENSOR_OR(dpred, any), RELUCL__TENSOR_OR(loss, any), RELUCL__ULONG(n),
                    RELUCL__INT(output_flags(dpred, loss, NULL, accumulate)));
}
