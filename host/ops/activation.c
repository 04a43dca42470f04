/* ReLU, Leaky ReLU, ELU and clipped ReLU, forward and backward. */
#include "ops/ops.h"

/* The kernels take the kind as an int (kernels/constants.h). */
_Static_assert(RELUCL_RELU == RELUCL_KIND_RELU && RELUCL_LEAKY_RELU == RELUCL_KIND_LEAKY &&
                   RELUCL_ELU == RELUCL_KIND_ELU && RELUCL_CLIPPED_RELU == RELUCL_KIND_CLIPPED &&
                   RELUCL_IDENTITY == RELUCL_KIND_IDENTITY && RELUCL_PRELU == RELUCL_KIND_PRELU,
               "relucl_activation_kind and kernels/constants.h disagree");

relucl_status relucl__check_activation(relucl_context *ctx, const char *fn, relucl_activation act,
                                       int allow_prelu) {
    switch (act.kind) {
    case RELUCL_RELU:
    case RELUCL_IDENTITY: return RELUCL_OK;
    case RELUCL_PRELU:
        if (allow_prelu)
            return RELUCL_OK;
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "act.kind RELUCL_PRELU needs a slope: use relucl_prelu_*");
    case RELUCL_LEAKY_RELU: return relucl__check_param(ctx, fn, "act.alpha", act.alpha, 0);
    case RELUCL_ELU:
    case RELUCL_CLIPPED_RELU: return relucl__check_param(ctx, fn, "act.alpha", act.alpha, 1);
    }
    return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "act.kind %d is not an activation",
                        (int)act.kind);
}

/* The kernel for kind, in its _wide (16 per work-item) form on CPU devices (ctx->wide). */
#define PICK(ctx, name) ((ctx)->wide ? name "_wide" : name)

/* ELU with alpha 1 has kernels of its own, a multiply shorter (kernels/activation.cl). */
static const char *forward_kernel_name(const relucl_context *ctx, relucl_activation act) {
    switch (act.kind) {
    case RELUCL_RELU: return PICK(ctx, "relu_forward");
    case RELUCL_LEAKY_RELU: return PICK(ctx, "leaky_relu_forward");
    case RELUCL_ELU:
        return act.alpha == 1.0f ? PICK(ctx, "elu1_forward") : PICK(ctx, "elu_forward");
    case RELUCL_CLIPPED_RELU: return PICK(ctx, "clipped_relu_forward");
    case RELUCL_IDENTITY: return PICK(ctx, "identity_forward");
    case RELUCL_PRELU: break;
    }
    return NULL;
}

/* The backward kernels read x, except ELU from y, which needs its own formula. */
static const char *backward_kernel_name(const relucl_context *ctx, relucl_activation act,
                                        int from_y) {
    switch (act.kind) {
    case RELUCL_RELU: return PICK(ctx, "relu_backward");
    case RELUCL_LEAKY_RELU: return PICK(ctx, "leaky_relu_backward");
    case RELUCL_ELU:
        if (from_y)
            return PICK(ctx, "elu_backward_y");
        return act.alpha == 1.0f ? PICK(ctx, "elu1_backward_x") : PICK(ctx, "elu_backward_x");
    case RELUCL_CLIPPED_RELU: return PICK(ctx, "clipped_relu_backward");
    case RELUCL_IDENTITY: return PICK(ctx, "identity_backward");
    case RELUCL_PRELU: break;
    }
    return NULL;
}

relucl_status relucl_activation_forward(relucl_context *ctx, relucl_activation act,
                                        const relucl_tensor *x, const relucl_tensor *y) {
    static const char fn[] = "relucl_activation_forward";
    size_t nx = 0, ny = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_activation(ctx, fn, act, 0));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "x", x, &nx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "y", y, &ny));
    RELUCL__TRY(relucl__check_same_count(ctx, fn, "y", ny, "x", nx));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "y", y, "x", x, 1));
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_ACTIVATION, forward_kernel_name(ctx, act),
                          relucl__range_elements(ctx, nx), RELUCL__TENSOR(x), RELUCL__TENSOR(y),
                          RELUCL__ULONG(nx), RELUCL__FLOAT(act.alpha));
}

relucl_status relucl_activation_backward(relucl_context *ctx, relucl_activation act,
                                         const relucl_tensor *x, const relucl_tensor *y,
                                         const relucl_tensor *dy, const relucl_tensor *dx) {
    static const char fn[] = "relucl_activation_backward";
    size_t ns = 0, ny = 0, ndy = 0, ndx = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_activation(ctx, fn, act, 0));
    if (!x && !y)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "x and y are both NULL; give at least one");
    /* From y alone a non-positive leaky slope hides the sign of x. */
    if (!x && act.kind == RELUCL_LEAKY_RELU && !(act.alpha > 0.0f))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "x is NULL: Leaky ReLU with act.alpha %g <= 0 needs x, not y",
                            (double)act.alpha);
    if (x)
        RELUCL__TRY(relucl__check_tensor(ctx, fn, "x", x, &ns));
    if (y)
        RELUCL__TRY(relucl__check_tensor(ctx, fn, "y", y, &ny));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "dy", dy, &ndy));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "dx", dx, &ndx));
    if (x)
        RELUCL__TRY(relucl__check_same_count(ctx, fn, "dy", ndy, "x", ns));
    if (y)
        RELUCL__TRY(relucl__check_same_count(ctx, fn, "dy", ndy, "y", ny));
    RELUCL__TRY(relucl__check_same_count(ctx, fn, "dx", ndx, "dy", ndy));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "dx", dx, "dy", dy, 1));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "dx", dx, "x", x, 0));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "dx", dx, "y", y, 0));
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_ACTIVATION,
                          backward_kernel_name(ctx, act, x == NULL),
                          relucl__range_elements(ctx, ndy),
                          RELUCL__TENSOR(x ? x : y), RELUCL__TENSOR(dy), RELUCL__TENSOR(dx),
                          RELUCL__ULONG(ndy), RELUCL__FLOAT(act.alpha));
}
