/* PReLU: a learnable slope per channel, forward and backward with the slope gradient. */
#include "ops/ops.h"

#define PRELU_ITEM_RUN 32 /* elements each work-item sums before the tree */
/* The rows each work-item of the 16-wide kernel takes: on PoCL 32 left the partial sums'
 * second pass a sixth of the work (1M elements: 305 + 47 us, 128: 261-293 + 14-16). */
#define PRELU_WIDE_RUN 128
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
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "x", x, &n));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "slope", slope, &slopes));
    layout->n = n;
    if (slopes == 1) {
        layout->channels = 1;
        layout->inner = n ? n : 1;
        return RELUCL_OK;
    }
    if (x->ndim < 2)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "slope has %zu elements but x has no channel axis (ndim %d); "
                            "use 1 slope",
                            slopes, x->ndim);
    if (slopes != x->dims[1])
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "slope has %zu elements, x has %zu channels (dims[1])", slopes,
                            x->dims[1]);
    size_t inner = 1;
    for (int i = 2; i < x->ndim; i++)
        inner *= x->dims[i];
    layout->channels = slopes;
    layout->inner = inner ? inner : 1;
    return RELUCL_OK;
}

/* (rows, channels) with channels a multiple of 16, on a CPU device: the _wide kernels. */
static int wide_columns(const relucl_context *ctx, const prelu_layout *layout) {
    return ctx->wide && layout->inner == 1 && layout->channels > 1 && layout->channels % 16 == 0;
}

relucl_status relucl_prelu_forward(relucl_context *ctx, const relucl_tensor *x,
                                   const relucl_tensor *slope, const relucl_tensor *y) {
    static const char fn[] = "relucl_prelu_forward";
    prelu_layout layout = {0, 0, 0};
    size_t ny = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(check_prelu(ctx, fn, x, slope, &layout));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "y", y, &ny));
    RELUCL__TRY(relucl__check_same_count(ctx, fn, "y", ny, "x", layout.n));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "y", y, "x", x, 1));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "y", y, "slope", slope, 0));
    if (layout.n == 0)
        return RELUCL_OK;

    /* A (rows, width) grid; a shared slope over a huge tensor is cut into rows of 2^20. */
    size_t width = layout.channels == 1 ? (layout.n < (1u << 20) ? layout.n : (1u << 20))
                                        : layout.inner * layout.channels;
    size_t rows = (layout.n + width - 1) / width;
    const size_t wide_global[2] = {width / 16, rows};
    if (wide_columns(ctx, &layout))
        return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_ACTIVATION, "prelu_forward_wide",
                              relucl__range_shaped(ctx, 2, wide_global), RELUCL__TENSOR(x),
                              RELUCL__TENSOR(slope), RELUCL__TENSOR(y), RELUCL__ULONG(rows),
                              RELUCL__ULONG(width));
    if (rows > UINT32_MAX || width > UINT32_MAX)
        return relucl__fail(ctx, RELUCL_ERROR_UNSUPPORTED, fn, "x is too large for one launch");
    cl_uint inner = layout.channels == 1 ? (cl_uint)width : (cl_uint)layout.inner;
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_ACTIVATION, "prelu_forward",
                          relucl__range_2d(width, rows, width >= 64 ? 64 : 1, 1), RELUCL__TENSOR(x),
                          RELUCL__TENSOR(slope), RELUCL__TENSOR(y), RELUCL__UINT(width),
                          RELUCL__UINT(rows), RELUCL__ARG(inner), RELUCL__ULONG(layout.n));
}

/* Both kernels of a backward pass exist (so a build failure enqueues nothing), and the scratch
 * for `floats` partial sums. */
static relucl_status prepare(relucl_context *ctx, const char *fn, const char *first,
                             const char *second, size_t floats, cl_mem *partial) {
    cl_kernel unused;
    RELUCL__TRY(relucl__kernel_get(ctx, fn, RELUCL_PROGRAM_ACTIVATION, first, &unused));
    RELUCL__TRY(relucl__kernel_get(ctx, fn, RELUCL_PROGRAM_ACTIVATION, second, &unused));
    return relucl__buffer_create(ctx, fn, "clCreateBuffer (partial sums)", floats, partial);
}

/* Short inner extents: one work-item per column (channel c, position j) and group of rows. */
static relucl_status backward_columns(relucl_context *ctx, const char *fn, const relucl_tensor *x,
                                      const relucl_tensor *slope, const relucl_tensor *dy,
                                      const relucl_tensor *dx, const relucl_tensor *dslope,
                                      const prelu_layout *layout) {
    size_t width = layout->inner * layout->channels, rows = layout->n / width;
    int wide = wide_columns(ctx, layout);
    size_t run = wide ? PRELU_WIDE_RUN : PRELU_ITEM_RUN, groups = (rows + run - 1) / run;
    cl_mem partial;
    const char *kernel = wide ? "prelu_backward_columns_wide" : "prelu_backward_columns";
    const char *sum = wide ? "prelu_slope_sum_columns_wide" : "prelu_slope_sum_columns";
    RELUCL__TRY(prepare(ctx, fn, kernel, sum, groups * width, &partial));
    relucl_status status;
    if (wide) { /* a work-item per run of rows; per 16 channels for the sum */
        status = RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_ACTIVATION, kernel,
                                relucl__range_1d(ctx, groups, 1), RELUCL__TENSOR(x),
                                RELUCL__TENSOR(slope), RELUCL__TENSOR(dy), RELUCL__TENSOR(dx),
                                RELUCL__MEM(partial), RELUCL__ULONG(rows), RELUCL__ULONG(run),
                                RELUCL__ULONG(width));
        if (status == RELUCL_OK)
            status = RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_ACTIVATION, sum,
                                    relucl__range_1d(ctx, width / 16, 1), RELUCL__MEM(partial),
                                    RELUCL__ULONG(groups), RELUCL__ULONG(width),
                                    RELUCL__TENSOR(dslope));
    } else {
        status = RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_ACTIVATION, kernel,
                                relucl__range_2d(width, groups, width >= 64 ? 64 : 1, 1),
                                RELUCL__TENSOR(x), RELUCL__TENSOR(slope), RELUCL__TENSOR(dy),
                                RELUCL__TENSOR(dx), RELUCL__MEM(partial), RELUCL__ULONG(rows),
                                RELUCL__ULONG(run), RELUCL__ULONG(layout->inner),
                                RELUCL__ULONG(layout->channels));
        if (status == RELUCL_OK)
            status = RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_ACTIVATION, sum,
                                    relucl__range_1d(ctx, layout->channels, 0),
                                    RELUCL__MEM(partial), RELUCL__ULONG(groups),
                                    RELUCL__ULONG(layout->inner), RELUCL__ULONG(layout->channels),
                                    RELUCL__TENSOR(dslope));
    }
    clReleaseMemObject(partial); /* OpenCL keeps it alive until the kernels finish */
    return status;
}

/* Groups per channel, chosen from the shape alone so results are the same on every run. */
static size_t slope_groups(size_t per_channel) {
    size_t groups = (per_channel + RELUCL_PRELU_GROUP * PRELU_ITEM_RUN - 1) /
                    (RELUCL_PRELU_GROUP * PRELU_ITEM_RUN);
    if (groups < 1)
        groups = 1;
    return groups > PRELU_MAX_GROUPS ? PRELU_MAX_GROUPS : groups;
}

relucl_status relucl_prelu_backward(relucl_context *ctx, const relucl_tensor *x,
                                    const relucl_tensor *slope, const relucl_tensor *dy,
                                    const relucl_tensor *dx, const relucl_tensor *dslope) {
    static const char fn[] = "relucl_prelu_backward";
    prelu_layout layout = {0, 0, 0};
    size_t ndy = 0, ndx = 0, ndw = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(check_prelu(ctx, fn, x, slope, &layout));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "dy", dy, &ndy));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "dx", dx, &ndx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "dslope", dslope, &ndw));
    RELUCL__TRY(relucl__check_same_count(ctx, fn, "dy", ndy, "x", layout.n));
    RELUCL__TRY(relucl__check_same_count(ctx, fn, "dx", ndx, "x", layout.n));
    RELUCL__TRY(relucl__check_same_count(ctx, fn, "dslope", ndw, "slope", layout.channels));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "dx", dx, "dy", dy, 1));
    const relucl_tensor *others[] = {x, slope, dy, dx};
    const char *const other_names[] = {"x", "slope", "dy", "dx"};
    RELUCL__TRY(relucl__check_apart(ctx, fn, "dslope", dslope, 4, other_names, others));
    RELUCL__TRY(relucl__check_apart(ctx, fn, "dx", dx, 2, other_names, others));
    if (layout.n == 0) /* nothing to sum: the gradient of every slope is zero */
        return relucl_tensor_fill(ctx, dslope, 0.0f);
    if (layout.inner < PRELU_COLUMNS_BELOW && layout.channels > 1)
        return backward_columns(ctx, fn, x, slope, dy, dx, dslope, &layout);

    size_t per_channel = layout.n / layout.channels, groups = slope_groups(per_channel);
    cl_mem partial;
    RELUCL__TRY(
        prepare(ctx, fn, "prelu_backward", "prelu_slope_sum", groups * layout.channels, &partial));
    relucl_status status = RELUCL__LAUNCH(
        ctx, fn, RELUCL_PROGRAM_ACTIVATION, "prelu_backward",
        relucl__range_2d(groups * RELUCL_PRELU_GROUP, layout.channels, RELUCL_PRELU_GROUP, 1),
        RELUCL__TENSOR(x), RELUCL__TENSOR(slope), RELUCL__TENSOR(dy), RELUCL__TENSOR(dx),
        RELUCL__MEM(partial), RELUCL__ULONG(per_channel), RELUCL__ULONG(layout.inner),
        RELUCL__ULONG(layout.channels));
    if (status == RELUCL_OK)
        status = RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_ACTIVATION, "prelu_slope_sum",
                                relucl__range_1d(ctx, layout.channels, 0), RELUCL__MEM(partial),
                                RELUCL__ULONG(groups), RELUCL__TENSOR(dslope),
                                RELUCL__ULONG(layout.channels));
    clReleaseMemObject(partial); /* OpenCL keeps it alive until the kernels finish */
    return status;
}
