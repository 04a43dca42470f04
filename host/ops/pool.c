/* Pooling: max and average over 2-D windows (PyTorch's max_pool2d and avg_pool2d with
 * ceil_mode=False and count_include_pad=True) and global average pooling
 * (adaptive_avg_pool2d to 1x1), forward and backward. */
#include "ops/ops.h"

#include <stdint.h>
#include <stdio.h>

/* Every integer up to 2^24 is an exact float, so argmax positions stay exact below it. */
#define ARGMAX_PLANE_LIMIT ((size_t)1 << 24)

/* The kernels' view of one pooling: index 0 (.s[0]) is height, 1 is width. */
typedef struct pool_shape {
    size_t n, c;
    cl_uint2 in, out, ksize, stride, pad; /* the kernels' window arithmetic is 32-bit */
} pool_shape;

/* Padded heights and widths stay below 2^31, so the kernels' uint sums cannot wrap. */
#define PADDED_LIMIT ((size_t)INT32_MAX)

static relucl_status check_pool(relucl_context *ctx, const char *fn, const relucl_pool2d *pool) {
    if (!pool)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "pool is NULL");
    if (pool->kind != RELUCL_POOL_MAX && pool->kind != RELUCL_POOL_AVG)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "pool.kind: %d is not RELUCL_POOL_MAX or RELUCL_POOL_AVG",
                            (int)pool->kind);
    for (int d = 0; d < 2; d++) {
        if (pool->kernel[d] == 0)
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "pool.kernel[%d]: is 0, must be >= 1", d);
        if (pool->stride[d] == 0)
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "pool.stride[%d]: is 0, must be >= 1", d);
        if (pool->pad[d] > pool->kernel[d] / 2)
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "pool.pad[%d]: %zu is more than half the kernel (%zu)", d,
                                pool->pad[d], pool->kernel[d]);
    }
    return RELUCL_OK;
}

/* The output geometry for input dims (N, C, H, W) named `name`; pool already checked. */
static relucl_status pool_geometry(relucl_context *ctx, const char *fn, const char *name,
                                   const relucl_pool2d *pool, const size_t *dims,
                                   pool_shape *shape) {
    static const char *const axis[2] = {"height", "width"};
    for (int d = 0; d < 2; d++) {
        size_t size = dims[2 + d], pad = pool->pad[d], k = pool->kernel[d];
        if (size == 0)
            return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s: %s (dims[%d]) is 0", name,
                                axis[d], 2 + d);
        if (pad > (SIZE_MAX - size) / 2)
            return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s: padded %s overflows", name,
                                axis[d]);
        if (size + 2 * pad < k)
            return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                                "%s: padded %s %zu (%zu + 2 * %zu) is smaller than the kernel "
                                "(%zu)",
                                name, axis[d], size + 2 * pad, size, pad, k);
        if (size + 2 * pad > PADDED_LIMIT)
            return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                                "%s: padded %s %zu is over 2^31 - 1", name, axis[d],
                                size + 2 * pad);
        size_t stride = pool->stride[d];
        shape->in.s[d] = (cl_uint)size;
        shape->out.s[d] = (cl_uint)((size + 2 * pad - k) / stride + 1);
        shape->ksize.s[d] = (cl_uint)k;
        /* A stride past the padded size gives one window, as the padded size itself does. */
        shape->stride.s[d] = (cl_uint)(stride < size + 2 * pad ? stride : size + 2 * pad);
        shape->pad.s[d] = (cl_uint)pad;
    }
    if (pool->kind == RELUCL_POOL_MAX && dims[2] > ARGMAX_PLANE_LIMIT / dims[3])
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "%s: a plane of %zu x %zu elements is over 2^24, past the positions "
                            "argmax can hold exactly",
                            name, dims[2], dims[3]);
    shape->n = dims[0];
    shape->c = dims[1];
    return RELUCL_OK;
}

/* A tensor of exactly ndim dims, equal to want when want is not NULL. */
static relucl_status check_dims(relucl_context *ctx, const char *fn, const char *name,
                                const relucl_tensor *t, int ndim, const size_t *want,
                                size_t *count) {
    relucl_status status = relucl__check_tensor(ctx, fn, name, t, count);
    if (status != RELUCL_OK)
        return status;
    if (t->ndim != ndim)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s: ndim is %d, must be %d (%s)", name,
                            t->ndim, ndim, ndim == 4 ? "N, C, H, W" : "N, C");
    for (int d = 0; want && d < ndim; d++) {
        if (t->dims[d] != want[d]) {
            char text[96];
            if (ndim == 4)
                snprintf(text, sizeof text, "(%zu, %zu, %zu, %zu)", want[0], want[1], want[2],
                         want[3]);
            else
                snprintf(text, sizeof text, "(%zu, %zu)", want[0], want[1]);
            return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s: dims[%d] is %zu, must be %zu %s",
                                name, d, t->dims[d], want[d], text);
        }
    }
    return RELUCL_OK;
}

/* argmax is required for max pooling, with the output's dims, and must be NULL for average
 * pooling. */
static relucl_status check_argmax(relucl_context *ctx, const char *fn, const relucl_pool2d *pool,
                                  const relucl_tensor *argmax, const size_t *out_dims) {
    size_t count = 0;
    if (pool->kind == RELUCL_POOL_AVG)
        return argmax ? relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                     "argmax: must be NULL for average pooling")
                      : RELUCL_OK;
    if (!argmax)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "argmax: is NULL, max pooling needs it");
    return check_dims(ctx, fn, "argmax", argmax, 4, out_dims, &count);
}

static void out_dims_of(const pool_shape *shape, size_t dims[4]) {
    dims[0] = shape->n;
    dims[1] = shape->c;
    dims[2] = (size_t)shape->out.s[0];
    dims[3] = (size_t)shape->out.s[1];
}

relucl_status relucl_pool2d_output_dims(relucl_context *ctx, const relucl_pool2d *pool,
                                        const size_t x_dims[4], size_t y_dims[4]) {
    static const char fn[] = "relucl_pool2d_output_dims";
    pool_shape shape;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(check_pool(ctx, fn, pool));
    if (!x_dims)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "x_dims is NULL");
    if (!y_dims)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "y_dims is NULL");
    RELUCL__TRY(pool_geometry(ctx, fn, "x_dims", pool, x_dims, &shape));
    out_dims_of(&shape, y_dims);
    return RELUCL_OK;
}

/* Windows that tile the plane (stride == ksize, no padding) take the _tiled max kernels. */
static int tiles(const pool_shape *s) {
    return s->stride.s[0] == s->ksize.s[0] && s->stride.s[1] == s->ksize.s[1] &&
           s->pad.s[0] == 0 && s->pad.s[1] == 0;
}

/* 2x2 windows with stride 2 and no padding (maxpool2). On CPU devices (ctx->wide) their max
 * kernels take a row per work-item (the _2x2_rows kernels). */
static int two_by_two(const pool_shape *s) {
    return tiles(s) && s->ksize.s[0] == 2 && s->ksize.s[1] == 2;
}

/* One pooling kernel over a (column, row, plane) range of the given plane size (the output's
 * forward, the input's backward): three tensors in the kernel's order, argmax among them
 * (NULL for average pooling, which ignores it: `first` stands in), then the shape. */
static relucl_status run_pool(relucl_context *ctx, const char *fn, const char *kernel,
                              const relucl_tensor *first, const relucl_tensor *second,
                              const relucl_tensor *third, cl_uint2 plane, const pool_shape *s) {
    size_t planes = s->n * s->c, global[3] = {plane.s[1], plane.s[0], planes};
    if (planes == 0)
        return RELUCL_OK;
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_POOL, kernel,
                          relucl__range_shaped(ctx, 3, global), RELUCL__TENSOR(first),
                          RELUCL__TENSOR_OR(second, first->buffer),
                          RELUCL__TENSOR_OR(third, first->buffer), RELUCL__ULONG(planes),
                          RELUCL__ARG(s->in), RELUCL__ARG(s->out), RELUCL__ARG(s->ksize),
                          RELUCL__ARG(s->stride), RELUCL__ARG(s->pad));
}

relucl_status relucl_pool2d_forward(relucl_context *ctx, const relucl_pool2d *pool,
                                    const relucl_tensor *x, const relucl_tensor *y,
                                    const relucl_tensor *argmax) {
    static const char fn[] = "relucl_pool2d_forward";
    pool_shape shape;
    size_t nx = 0, ny = 0, y_dims[4];
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(check_pool(ctx, fn, pool));
    RELUCL__TRY(check_dims(ctx, fn, "x", x, 4, NULL, &nx));
    RELUCL__TRY(pool_geometry(ctx, fn, "x", pool, x->dims, &shape));
    out_dims_of(&shape, y_dims);
    RELUCL__TRY(check_dims(ctx, fn, "y", y, 4, y_dims, &ny));
    RELUCL__TRY(check_argmax(ctx, fn, pool, argmax, y_dims));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "y", y, "x", x, 0));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "argmax", argmax, "x", x, 0));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "argmax", argmax, "y", y, 0));
    if (pool->kind == RELUCL_POOL_AVG)
        return run_pool(ctx, fn, "pool_avg_forward", x, y, argmax, shape.out, &shape);
    if (two_by_two(&shape) && ctx->wide) {
        cl_uint2 rows = {{shape.out.s[0], 1}};
        return run_pool(ctx, fn, "pool_max_forward_2x2_rows", x, y, argmax, rows, &shape);
    }
    const char *kernel = !tiles(&shape)         ? "pool_max_forward"
                         : two_by_two(&shape) ? "pool_max_forward_2x2"
                                              : "pool_max_forward_tiled";
    return run_pool(ctx, fn, kernel, x, y, argmax, shape.out, &shape);
}

relucl_status relucl_pool2d_backward(relucl_context *ctx, const relucl_pool2d *pool,
                                     const relucl_tensor *dy, const relucl_tensor *argmax,
                                     const relucl_tensor *dx) {
    static const char fn[] = "relucl_pool2d_backward";
    pool_shape shape;
    size_t ndx = 0, ndy = 0, y_dims[4];
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(check_pool(ctx, fn, pool));
    RELUCL__TRY(check_dims(ctx, fn, "dx", dx, 4, NULL, &ndx));
    RELUCL__TRY(pool_geometry(ctx, fn, "dx", pool, dx->dims, &shape));
    out_dims_of(&shape, y_dims);
    RELUCL__TRY(check_dims(ctx, fn, "dy", dy, 4, y_dims, &ndy));
    RELUCL__TRY(check_argmax(ctx, fn, pool, argmax, y_dims));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "dx", dx, "dy", dy, 0));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "dx", dx, "argmax", argmax, 0));
    if (pool->kind == RELUCL_POOL_AVG)
        return run_pool(ctx, fn, "pool_avg_backward", dy, argmax, dx, shape.in, &shape);
    if (!tiles(&shape))
        return run_pool(ctx, fn, "pool_max_backward", dy, argmax, dx, shape.in, &shape);
    if (two_by_two(&shape) && ctx->wide) {
        cl_uint2 rows = {{(shape.in.s[0] + 1) / 2, 1}};
        return run_pool(ctx, fn, "pool_max_backward_2x2_rows", dy, argmax, dx, rows, &shape);
    }
    cl_uint2 tile_count = {{(shape.in.s[0] + shape.ksize.s[0] - 1) / shape.ksize.s[0],
                            (shape.in.s[1] + shape.ksize.s[1] - 1) / shape.ksize.s[1]}};
    return run_pool(ctx, fn, "pool_max_backward_tiled", dy, argmax, dx, tile_count, &shape);
}

/* x (N, C, H, W) with H * W > 0 and its (N, C). */
static relucl_status check_planes(relucl_context *ctx, const char *fn, const char *name,
                                  const relucl_tensor *t, size_t *count, size_t nc[2]) {
    relucl_status status = check_dims(ctx, fn, name, t, 4, NULL, count);
    if (status != RELUCL_OK)
        return status;
    if (t->dims[2] == 0 || t->dims[3] == 0)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "%s: a plane of %zu x %zu elements has no mean", name, t->dims[2],
                            t->dims[3]);
    nc[0] = t->dims[0];
    nc[1] = t->dims[1];
    return RELUCL_OK;
}

relucl_status relucl_global_avg_pool_forward(relucl_context *ctx, const relucl_tensor *x,
                                             const relucl_tensor *y) {
    static const char fn[] = "relucl_global_avg_pool_forward";
    size_t nx = 0, ny = 0, nc[2];
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(check_planes(ctx, fn, "x", x, &nx, nc));
    RELUCL__TRY(check_dims(ctx, fn, "y", y, 2, nc, &ny));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "y", y, "x", x, 0));
    if (ny == 0)
        return RELUCL_OK;
    /* Small planes leave most of a work-group idle: one work-item each sums them instead.
     * ny * RELUCL_GAP_GROUP < ny * size = nx: no overflow. */
    size_t size = nx / ny;
    if (size > RELUCL_GAP_GROUP)
        return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_POOL, "global_avg_pool_forward_group",
                              relucl__range_1d(ctx, ny * RELUCL_GAP_GROUP, RELUCL_GAP_GROUP),
                              RELUCL__TENSOR(x), RELUCL__TENSOR(y), RELUCL__ULONG(size));
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_POOL, "global_avg_pool_forward",
                          relucl__range_1d(ctx, ny, 0), RELUCL__TENSOR(x), RELUCL__TENSOR(y),
                          RELUCL__ULONG(ny), RELUCL__ULONG(size));
}

relucl_status relucl_global_avg_pool_backward(relucl_context *ctx, const relucl_tensor *dy,
                                              const relucl_tensor *dx) {
    static const char fn[] = "relucl_global_avg_pool_backward";
    size_t ndx = 0, ndy = 0, nc[2];
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(check_planes(ctx, fn, "dx", dx, &ndx, nc));
    RELUCL__TRY(check_dims(ctx, fn, "dy", dy, 2, nc, &ndy));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "dx", dx, "dy", dy, 0));
    if (ndx == 0)
        return RELUCL_OK;

    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_POOL, "global_avg_pool_backward",
                          relucl__range_1d(ctx, ndx, 0), RELUCL__TENSOR(dy), RELUCL__TENSOR(dx),
                          RELUCL__ULONG(ndx), RELUCL__ULONG(ndx / ndy));
}
