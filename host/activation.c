/* ReLU, Leaky ReLU, ELU and clipped ReLU, forward and backward. */
#include "internal.h"

relucl_status relucl_check_activation(relucl_context *ctx, const char *fn, relucl_activation act,
                                     int allow_prelu) {
    switch (act.kind) {
    case RELUCL_RELU:
    case RELUCL_IDENTITY: return RELUCL_OK;
    case RELUCL_PRELU:
        if (allow_prelu)
            return RELUCL_OK;
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                           "act.kind RELUCL_PRELU needs a slope: use relucl_prelu_*");
    case RELUCL_LEAKY_RELU: return relucl_check_param(ctx, fn, "act.alpha", act.alpha, 0);
    case RELUCL_ELU:
    case RELUCL_CLIPPED_RELU: return relucl_check_param(ctx, fn, "act.alpha", act.alpha, 1);
    }
    return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "act.kind %d is not an activation",
                       (int)act.kind);
}

static const char *forward_kernel_name(relucl_activation_kind kind) {
    switch (kind) {
    case RELUCL_RELU: return "relu_forward";
    case RELUCL_LEAKY_RELU: return "leaky_relu_forward";
    case RELUCL_ELU: return "elu_forward";
    case RELUCL_CLIPPED_RELU: return "clipped_relu_forward";
    case RELUCL_IDENTITY: return "identity_forward";
    case RELUCL_PRELU: break;
    }
    return NULL;
}

/* The backward kernels read x, except ELU from y, which needs its own formula. */
static const char *backward_kernel_name(relucl_activation_kind kind, int from_y) {
    switch (kind) {
    case RELUCL_RELU: return "relu_backward";
    case RELUCL_LEAKY_RELU: return "leaky_relu_backward";
    case RELUCL_ELU: return from_y ? "elu_backward_y" : "elu_backward_x";
    case RELUCL_CLIPPED_RELU: return "clipped_relu_backward";
    case RELUCL_IDENTITY: return "identity_backward";
    case RELUCL_PRELU: break;
    }
    return NULL;
}

/* Work-items for n elements: one per four, plus one per tail element. */
static size_t vector_items(size_t n) { return n / 4 + n % 4; }

relucl_status relucl_activation_forward(relucl_context *ctx, relucl_activation act,
                                        const relucl_tensor *x, const relucl_tensor *y) {
    static const char fn[] = "relucl_activation_forward";
    size_t nx = 0, ny = 0;
    relucl_status status = relucl_check_context(ctx);
    if (status == RELUCL_OK)
        status = relucl_check_activation(ctx, fn, act, 0);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "x", x, &nx);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "y", y, &ny);
    if (status == RELUCL_OK)
        status = relucl_check_same_count(ctx, fn, "y", ny, "x", nx);
    if (status == RELUCL_OK)
        status = relucl_check_overlap(ctx, fn, "y", y, "x", x, 1);
    if (status != RELUCL_OK || nx == 0)
        return status;

    cl_kernel kernel;
    status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_ACTIVATION, forward_kernel_name(act.kind),
                               &kernel);
    if (status != RELUCL_OK)
        return status;
    cl_ulong xo = x->offset, yo = y->offset, n = nx;
    relucl_arg args[] = {RELUCL_ARG(x->buffer), RELUCL_ARG(xo), RELUCL_ARG(y->buffer),
                         RELUCL_ARG(yo),        RELUCL_ARG(n),  RELUCL_ARG(act.alpha)};
    status = relucl_set_args(ctx, fn, kernel, args, 6);
    return status != RELUCL_OK ? status : relucl_launch_1d(ctx, fn, kernel, vector_items(nx), 0);
}

relucl_status relucl_activation_backward(relucl_context *ctx, relucl_activation act,
                                         const relucl_tensor *x, const relucl_tensor *y,
                                         const relucl_tensor *dy, const relucl_tensor *dx) {
    static const char fn[] = "relucl_activation_backward";
    size_t ns = 0, ny = 0, ndy = 0, ndx = 0;
    relucl_status status = relucl_check_context(ctx);
    if (status == RELUCL_OK)
        status = relucl_check_activation(ctx, fn, act, 0);
    if (status == RELUCL_OK && !x && !y)
        status = relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                             "x and y are both NULL; give at least one");
    /* From y alone a non-positive leaky slope hides the sign of x. */
    if (status == RELUCL_OK && !x && act.kind == RELUCL_LEAKY_RELU && !(act.alpha > 0.0f))
        status = relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                             "x is NULL: Leaky ReLU with act.alpha %g <= 0 needs x, not y",
                             (double)act.alpha);
    if (status == RELUCL_OK && x)
        status = relucl_check_tensor(ctx, fn, "x", x, &ns);
    if (status == RELUCL_OK && y)
        status = relucl_check_tensor(ctx, fn, "y", y, &ny);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "dy", dy, &ndy);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "dx", dx, &ndx);
    if (status == RELUCL_OK && x)
        status = relucl_check_same_count(ctx, fn, "dy", ndy, "x", ns);
    if (status == RELUCL_OK && y)
        status = relucl_check_same_count(ctx, fn, "dy", ndy, "y", ny);
    if (status == RELUCL_OK)
        status = relucl_check_same_count(ctx, fn, "dx", ndx, "dy", ndy);
    if (status == RELUCL_OK)
        status = relucl_check_overlap(ctx, fn, "dx", dx, "dy", dy, 1);
    if (status == RELUCL_OK)
        status = relucl_check_overlap(ctx, fn, "dx", dx, "x", x, 0);
    if (status == RELUCL_OK)
        status = relucl_check_overlap(ctx, fn, "dx", dx, "y", y, 0);
    if (status != RELUCL_OK || ndy == 0)
        return status;

    const relucl_tensor *s = x ? x : y;
    cl_kernel kernel;
    status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_ACTIVATION,
                               backward_kernel_name(act.kind, x == NULL), &kernel);
    if (status != RELUCL_OK)
        return status;
    cl_ulong so = s->offset, dyo = dy->offset, dxo = dx->offset, n = ndy;
    relucl_arg args[] = {RELUCL_ARG(s->buffer),  RELUCL_ARG(so),  RELUCL_ARG(dy->buffer),
                         RELUCL_ARG(dyo),        RELUCL_ARG(dx->buffer), RELUCL_ARG(dxo),
                         RELUCL_ARG(n),          RELUCL_ARG(act.alpha)};
    status = relucl_set_args(ctx, fn, kernel, args, 8);
    return status != RELUCL_OK ? status : relucl_launch_1d(ctx, fn, kernel, vector_items(ndy), 0);
}
