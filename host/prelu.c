/* PReLU: a learnable slope per channel, forward and backward with the slope gradient. */
#include "internal.h"

#define PRELU_GROUP 64         /* must match kernels/activation.cl */
#define PRELU_ITEM_RUN 32      /* elements each work-item sums before the tree */
#define PRELU_MAX_GROUPS 1024
#define PRELU_COLUMNS_BELOW 64 /* inner extents this short use the column kernels */

/* Channel layout of x for a slope of `slopes` elements: element i has channel
 * (i / inner) % channels. A single slope is shared by everything. */
typedef struct prelu_layout {
    size_t n, channels, inner;
} prelu_layout;

static relucl_status check_prelu(relucl_context *ctx, const char *fn, const relucl_tensor *x,
                                 const relucl_tensor *slope, prelu_layout *layout) {
    size_t n = 0, slopes = 0;
    relucl_status status = relucl_check_tensor(ctx, fn, "x", x, &n);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "slope", slope, &slopes);
    if (status != RELUCL_OK)
        return status;
    layout->n = n;
    if (slopes == 1) {
        layout->channels = 1;
        layout->inner = n ? n : 1;
        return RELUCL_OK;
    }
    if (x->ndim < 2)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn,
                           "slope has %zu elements but x has no channel axis (ndim %d); "
                           "use 1 slope",
                           slopes, x->ndim);
    if (slopes != x->dims[1])
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn,
                           "slope has %zu elements, x has %zu channels (dims[1])", slopes,
                           x->dims[1]);
    size_t inner = 1;
    for (int i = 2; i < x->ndim; i++)
        inner *= x->dims[i];
    layout->channels = slopes;
    layout->inner = inner ? inner : 1;
    return RELUCL_OK;
}

relucl_status relucl_prelu_forward(relucl_context *ctx, const relucl_tensor *x,
                                   const relucl_tensor *slope, const relucl_tensor *y) {
    static const char fn[] = "relucl_prelu_forward";
    prelu_layout layout;
    size_t ny = 0;
    relucl_status status = relucl_check_context(ctx);
    if (status == RELUCL_OK)
        status = check_prelu(ctx, fn, x, slope, &layout);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "y", y, &ny);
    if (status == RELUCL_OK)
        status = relucl_check_same_count(ctx, fn, "y", ny, "x", layout.n);
    if (status == RELUCL_OK)
        status = relucl_check_overlap(ctx, fn, "y", y, "x", x, 1);
    if (status == RELUCL_OK)
        status = relucl_check_overlap(ctx, fn, "y", y, "slope", slope, 0);
    if (status != RELUCL_OK || layout.n == 0)
        return status;

    cl_kernel kernel;
    status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_ACTIVATION, "prelu_forward", &kernel);
    if (status != RELUCL_OK)
        return status;
    /* A (rows, width) grid; a shared slope over a huge tensor is cut into rows of 2^20. */
    size_t width = layout.channels == 1 ? (layout.n < (1u << 20) ? layout.n : (1u << 20))
                                        : layout.inner * layout.channels;
    size_t rows = (layout.n + width - 1) / width;
    if (rows > UINT32_MAX || width > UINT32_MAX)
        return relucl_fail(ctx, RELUCL_ERROR_UNSUPPORTED, fn, "x is too large for one launch");
    cl_ulong xo = x->offset, wo = slope->offset, yo = y->offset, n = layout.n;
    cl_uint w32 = (cl_uint)width, r32 = (cl_uint)rows,
            inner = layout.channels == 1 ? w32 : (cl_uint)layout.inner;
    relucl_arg args[] = {RELUCL_ARG(x->buffer), RELUCL_ARG(xo), RELUCL_ARG(slope->buffer),
                         RELUCL_ARG(wo),        RELUCL_ARG(y->buffer), RELUCL_ARG(yo),
                         RELUCL_ARG(w32),       RELUCL_ARG(r32), RELUCL_ARG(inner),
                         RELUCL_ARG(n)};
    size_t global[2] = {width, rows}, local[2] = {width >= 64 ? 64 : 1, 1};
    status = relucl_set_args(ctx, fn, kernel, args, 10);
    return status != RELUCL_OK ? status : relucl_launch_2d(ctx, fn, kernel, global, local);
}

/* Short inner extents: one work-item per column (channel c, position j) and group of rows. */
static relucl_status backward_columns(relucl_context *ctx, const char *fn, const relucl_tensor *x,
                                      const relucl_tensor *slope, const relucl_tensor *dy,
                                      const relucl_tensor *dx, const relucl_tensor *dslope,
                                      const prelu_layout *layout) {
    size_t width = layout->inner * layout->channels, rows = layout->n / width;
    size_t groups = (rows + PRELU_ITEM_RUN - 1) / PRELU_ITEM_RUN;
    cl_kernel partial_kernel, sum_kernel;
    relucl_status status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_ACTIVATION,
                                             "prelu_backward_columns", &partial_kernel);
    if (status == RELUCL_OK)
        status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_ACTIVATION, "prelu_slope_sum_columns",
                                   &sum_kernel);
    if (status != RELUCL_OK)
        return status;
    cl_int err = CL_SUCCESS;
    cl_mem partial = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, groups * width * sizeof(float),
                                    NULL, &err);
    if (err != CL_SUCCESS)
        return relucl_fail_cl(ctx, fn, "clCreateBuffer (partial sums)", err);
    cl_ulong xo = x->offset, wo = slope->offset, dyo = dy->offset, dxo = dx->offset,
             dwo = dslope->offset, r = rows, per = PRELU_ITEM_RUN, inner = layout->inner,
             channels = layout->channels, g = groups;
    relucl_arg partial_args[] = {
        RELUCL_ARG(x->buffer),  RELUCL_ARG(xo),  RELUCL_ARG(slope->buffer), RELUCL_ARG(wo),
        RELUCL_ARG(dy->buffer), RELUCL_ARG(dyo), RELUCL_ARG(dx->buffer),    RELUCL_ARG(dxo),
        RELUCL_ARG(partial),    RELUCL_ARG(r),   RELUCL_ARG(per),           RELUCL_ARG(inner),
        RELUCL_ARG(channels)};
    relucl_arg sum_args[] = {RELUCL_ARG(partial),  RELUCL_ARG(g),
                             RELUCL_ARG(inner),    RELUCL_ARG(channels),
                             RELUCL_ARG(dslope->buffer), RELUCL_ARG(dwo)};
    size_t global[2] = {width, groups}, local[2] = {width >= 64 ? 64 : 1, 1};
    status = relucl_set_args(ctx, fn, partial_kernel, partial_args, 13);
    if (status == RELUCL_OK)
        status = relucl_launch_2d(ctx, fn, partial_kernel, global, local);
    if (status == RELUCL_OK)
        status = relucl_set_args(ctx, fn, sum_kernel, sum_args, 6);
    if (status == RELUCL_OK)
        status = relucl_launch_1d(ctx, fn, sum_kernel, layout->channels, 0);
    clReleaseMemObject(partial); /* OpenCL keeps it alive until the kernels finish */
    return status;
}

/* Groups per channel, chosen from the shape alone so results are the same on every run. */
static size_t slope_groups(size_t per_channel) {
    size_t groups = (per_channel + PRELU_GROUP * PRELU_ITEM_RUN - 1) / (PRELU_GROUP * PRELU_ITEM_RUN);
    if (groups < 1)
        groups = 1;
    return groups > PRELU_MAX_GROUPS ? PRELU_MAX_GROUPS : groups;
}

relucl_status relucl_prelu_backward(relucl_context *ctx, const relucl_tensor *x,
                                    const relucl_tensor *slope, const relucl_tensor *dy,
                                    const relucl_tensor *dx, const relucl_tensor *dslope) {
    static const char fn[] = "relucl_prelu_backward";
    prelu_layout layout;
    size_t ndy = 0, ndx = 0, ndw = 0;
    relucl_status status = relucl_check_context(ctx);
    if (status == RELUCL_OK)
        status = check_prelu(ctx, fn, x, slope, &layout);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "dy", dy, &ndy);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "dx", dx, &ndx);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "dslope", dslope, &ndw);
    if (status == RELUCL_OK)
        status = relucl_check_same_count(ctx, fn, "dy", ndy, "x", layout.n);
    if (status == RELUCL_OK)
        status = relucl_check_same_count(ctx, fn, "dx", ndx, "x", layout.n);
    if (status == RELUCL_OK)
        status = relucl_check_same_count(ctx, fn, "dslope", ndw, "slope", layout.channels);
    if (status == RELUCL_OK)
        status = relucl_check_overlap(ctx, fn, "dx", dx, "dy", dy, 1);
    const relucl_tensor *others[] = {x, slope, dy, dx};
    const char *other_names[] = {"x", "slope", "dy", "dx"};
    for (int i = 0; i < 4 && status == RELUCL_OK; i++)
        status = relucl_check_overlap(ctx, fn, "dslope", dslope, other_names[i], others[i], 0);
    for (int i = 0; i < 2 && status == RELUCL_OK; i++)
        status = relucl_check_overlap(ctx, fn, "dx", dx, other_names[i], others[i], 0);
    if (status != RELUCL_OK)
        return status;
    if (layout.n == 0) /* nothing to sum: the gradient of every slope is zero */
        return relucl_tensor_fill(ctx, dslope, 0.0f);
    if (layout.inner < PRELU_COLUMNS_BELOW && layout.channels > 1)
        return backward_columns(ctx, fn, x, slope, dy, dx, dslope, &layout);

    size_t per_channel = layout.n / layout.channels, groups = slope_groups(per_channel);
    cl_kernel partial_kernel, sum_kernel;
    status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_ACTIVATION, "prelu_backward",
                               &partial_kernel);
    if (status == RELUCL_OK)
        status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_ACTIVATION, "prelu_slope_sum",
                                   &sum_kernel);
    if (status != RELUCL_OK)
        return status;
    cl_int err = CL_SUCCESS;
    cl_mem partial = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE,
                                    groups * layout.channels * sizeof(float), NULL, &err);
    if (err != CL_SUCCESS)
        return relucl_fail_cl(ctx, fn, "clCreateBuffer (partial sums)", err);

    cl_ulong xo = x->offset, wo = slope->offset, dyo = dy->offset, dxo = dx->offset,
             dwo = dslope->offset, pc = per_channel, inner = layout.inner,
             channels = layout.channels, group_count = groups;
    relucl_arg partial_args[] = {
        RELUCL_ARG(x->buffer),  RELUCL_ARG(xo),  RELUCL_ARG(slope->buffer), RELUCL_ARG(wo),
        RELUCL_ARG(dy->buffer), RELUCL_ARG(dyo), RELUCL_ARG(dx->buffer),    RELUCL_ARG(dxo),
        RELUCL_ARG(partial),    RELUCL_ARG(pc),  RELUCL_ARG(inner),         RELUCL_ARG(channels)};
    relucl_arg sum_args[] = {RELUCL_ARG(partial), RELUCL_ARG(group_count),
                             RELUCL_ARG(dslope->buffer), RELUCL_ARG(dwo), RELUCL_ARG(channels)};
    size_t global[2] = {groups * PRELU_GROUP, layout.channels}, local[2] = {PRELU_GROUP, 1};
    status = relucl_set_args(ctx, fn, partial_kernel, partial_args, 12);
    if (status == RELUCL_OK)
        status = relucl_launch_2d(ctx, fn, partial_kernel, global, local);
    if (status == RELUCL_OK)
        status = relucl_set_args(ctx, fn, sum_kernel, sum_args, 5);
    if (status == RELUCL_OK)
        status = relucl_launch_1d(ctx, fn, sum_kernel, layout.channels, 0);
    clReleaseMemObject(partial); /* OpenCL keeps it alive until the kernels finish */
    return status;
}
