/* 2-D convolution: argument checks, the choice of algorithm, the direct (NAIVE) kernels and
 * the workspace cap. The GEMM path is in conv_gemm.c; the kernels are in kernels/conv.cl. */
#include "conv.h"

#include <limits.h>

#define DEFAULT_WORKSPACE_LIMIT ((size_t)256 << 20)

size_t conv_workspace_limit(const relucl_context *ctx) {
    size_t limit = ctx->workspace_limit ? ctx->workspace_limit : DEFAULT_WORKSPACE_LIMIT;
    cl_ulong largest = 0; /* one buffer can be no larger than this */
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof largest, &largest,
                        NULL) == CL_SUCCESS &&
        largest > 0 && largest < limit)
        limit = (size_t)largest;
    return limit;
}

cl_int16 conv_pack(const conv_geom *g) {
    const size_t v[16] = {g->c,         g->h,         g->w,      g->k,      g->r,     g->s,
                          g->p,         g->q,         g->cg,     g->kg,     g->stride[0],
                          g->stride[1], g->pad[0],    g->pad[1], g->dil[0], g->dil[1]};
    cl_int16 out;
    for (int i = 0; i < 16; i++)
        out.s[i] = (cl_int)v[i]; /* each checked <= INT_MAX by check_geometry */
    return out;
}

/* A power of two >= n, but at most cap (a power of two). */
static size_t group_extent(size_t n, size_t cap) {
    size_t e = 1;
    while (e < n && e < cap)
        e <<= 1;
    return e;
}

relucl_status conv_launch(relucl_context *ctx, const char *fn, cl_kernel kernel, cl_uint dims,
                          const size_t *global) {
    size_t local[3] = {1, 1, 1}, rounded[3] = {1, 1, 1};
    size_t cap = ctx->max_work_group < 256 ? ctx->max_work_group : 256;
    for (cl_uint i = 0; i < dims; i++)
        if (global[i] == 0)
            return RELUCL_OK;
    /* Power-of-two groups: few distinct sizes, so few specialised builds (PoCL compiles one
     * per group size), and rows of work-items along the innermost axis. */
    local[0] = group_extent(global[0], cap < 64 ? cap : 64);
    if (dims > 1)
        local[1] = group_extent(global[1], cap / local[0]);
    for (cl_uint i = 0; i < dims; i++)
        rounded[i] = (global[i] + local[i] - 1) / local[i] * local[i];
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, kernel, dims, NULL, rounded, local, 0, NULL,
                                        NULL);
    return err == CL_SUCCESS ? RELUCL_OK : relucl_fail_cl(ctx, fn, "clEnqueueNDRangeKernel", err);
}

/* ---- Checks ---------------------------------------------------------------------------- */

/* Every size the kernels see must fit an int (see kernels/conv.cl). */
static relucl_status check_int(relucl_context *ctx, const char *fn, relucl_status status,
                               const char *name, int index, size_t v) {
    if (v <= (size_t)INT_MAX)
        return RELUCL_OK;
    return relucl_fail(ctx, status, fn, "%s[%d] is %zu, more than INT_MAX (%d)", name, index, v,
                       INT_MAX);
}

/* One axis: the output extent for input extent `in`, or 0 after recording why there is none. */
static size_t output_extent(relucl_context *ctx, const char *fn, const relucl_conv2d *conv,
                            int axis, size_t in, size_t taps, const char *w_name) {
    static const char *const what[2] = {"rows", "columns"};
    unsigned long long padded = (unsigned long long)in + 2ull * conv->pad[axis];
    unsigned long long extent = (unsigned long long)conv->dilation[axis] * (taps - 1) + 1;
    if (extent > padded) {
        relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn,
                    "%s: the filter spans %llu %s (dilation %zu), more than the %llu of the "
                    "padded input (%zu + 2 * conv->pad[%d])",
                    w_name, extent, what[axis], conv->dilation[axis], padded, in, axis);
        return 0;
    }
    unsigned long long out = (padded - extent) / conv->stride[axis] + 1;
    if (out > (unsigned long long)INT_MAX) {
        relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn, "the output has %llu %s, more than INT_MAX", out,
                    what[axis]);
        return 0;
    }
    return (size_t)out;
}

/* The geometry of x_dims (N, C, H, W) under filters w_dims (K, C / groups, R, S). */
static relucl_status check_geometry(relucl_context *ctx, const char *fn, const relucl_conv2d *conv,
                                    const char *x_name, const size_t *xd, const char *w_name,
                                    const size_t *wd, conv_geom *g) {
    relucl_status status = RELUCL_OK;
    if (!conv)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "conv is NULL");
    for (int i = 0; i < 2; i++) {
        if (conv->stride[i] == 0)
            return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                               "conv->stride[%d] is 0, must be >= 1", i);
        if (conv->dilation[i] == 0)
            return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                               "conv->dilation[%d] is 0, must be >= 1", i);
    }
    if (conv->groups == 0)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                           "conv->groups is 0, must be >= 1");
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT;
    for (int i = 0; i < 2 && status == RELUCL_OK; i++)
        if ((status = check_int(ctx, fn, bad, "conv->stride", i, conv->stride[i])) != RELUCL_OK ||
            (status = check_int(ctx, fn, bad, "conv->pad", i, conv->pad[i])) != RELUCL_OK ||
            (status = check_int(ctx, fn, bad, "conv->dilation", i, conv->dilation[i])) !=
                RELUCL_OK)
            return status;
    if (conv->groups > (size_t)INT_MAX)
        return relucl_fail(ctx, bad, fn, "conv->groups is %zu, more than INT_MAX", conv->groups);
    for (int i = 0; i < 4 && status == RELUCL_OK; i++)
        if ((status = check_int(ctx, fn, RELUCL_ERROR_SHAPE, x_name, i, xd[i])) != RELUCL_OK ||
            (status = check_int(ctx, fn, RELUCL_ERROR_SHAPE, w_name, i, wd[i])) != RELUCL_OK)
            return status;
    *g = (conv_geom){.n = xd[0], .c = xd[1], .h = xd[2], .w = xd[3], .k = wd[0], .r = wd[2],
                     .s = wd[3], .groups = conv->groups};
    if (g->c % g->groups != 0)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn,
                           "conv->groups (%zu) does not divide the %zu channels of %s",
                           g->groups, g->c, x_name);
    if (g->k % g->groups != 0)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn,
                           "conv->groups (%zu) does not divide the %zu filters of %s", g->groups,
                           g->k, w_name);
    g->cg = g->c / g->groups;
    g->kg = g->k / g->groups;
    if (wd[1] != g->cg)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn,
                           "%s has %zu channels per filter (dims[1]), must be C / groups = %zu / "
                           "%zu = %zu",
                           w_name, wd[1], g->c, g->groups, g->cg);
    if (g->r == 0 || g->s == 0)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s: the filter is %zu x %zu, must be at "
                           "least 1 x 1", w_name, g->r, g->s);
    for (int i = 0; i < 2; i++) {
        g->stride[i] = conv->stride[i];
        g->pad[i] = conv->pad[i];
        g->dil[i] = conv->dilation[i];
    }
    if ((g->p = output_extent(ctx, fn, conv, 0, g->h, g->r, w_name)) == 0 ||
        (g->q = output_extent(ctx, fn, conv, 1, g->w, g->s, w_name)) == 0)
        return RELUCL_ERROR_SHAPE;
    return RELUCL_OK;
}

static relucl_status check_4d(relucl_context *ctx, const char *fn, const char *name,
                              const relucl_tensor *t, const char *layout) {
    size_t n;
    relucl_status status = relucl_check_tensor(ctx, fn, name, t, &n);
    if (status == RELUCL_OK && t->ndim != 4)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s has ndim %d, must be 4 %s", name,
                           t->ndim, layout);
    return status;
}

/* The image operand (x or dx) and the filters (w or dw) give the geometry. */
static relucl_status check_operands(relucl_context *ctx, const char *fn, const relucl_conv2d *conv,
                                    const char *x_name, const relucl_tensor *x,
                                    const char *w_name, const relucl_tensor *w, conv_geom *g) {
    relucl_status status;
    if ((status = check_4d(ctx, fn, x_name, x, "(N, C, H, W)")) != RELUCL_OK ||
        (status = check_4d(ctx, fn, w_name, w, "(K, C / groups, R, S)")) != RELUCL_OK)
        return status;
    return check_geometry(ctx, fn, conv, x_name, x->dims, w_name, w->dims, g);
}

/* The output-shaped operand (y or dy) must be (N, K, P, Q). */
static relucl_status check_output_dims(relucl_context *ctx, const char *fn, const char *name,
                                       const relucl_tensor *t, const conv_geom *g) {
    relucl_status status = check_4d(ctx, fn, name, t, "(N, K, P, Q)");
    if (status != RELUCL_OK)
        return status;
    const size_t want[4] = {g->n, g->k, g->p, g->q};
    for (int i = 0; i < 4; i++)
        if (t->dims[i] != want[i])
            return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn,
                               "%s is %zu x %zu x %zu x %zu, must be %zu x %zu x %zu x %zu "
                               "(N, K, P, Q)",
                               name, t->dims[0], t->dims[1], t->dims[2], t->dims[3], want[0],
                               want[1], want[2], want[3]);
    return RELUCL_OK;
}

/* A bias or its gradient: K elements, any ndim. */
static relucl_status check_bias(relucl_context *ctx, const char *fn, const char *name,
                                const relucl_tensor *t, const conv_geom *g) {
    size_t n;
    relucl_status status = relucl_check_tensor(ctx, fn, name, t, &n);
    if (status == RELUCL_OK && n != g->k)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s has %zu elements, must be K = %zu",
                           name, n, g->k);
    return status;
}

static relucl_status check_apart(relucl_context *ctx, const char *fn, const char *out_name,
                                 const relucl_tensor *out, int count, const char *const *names,
                                 const relucl_tensor *const *inputs) {
    relucl_status status = RELUCL_OK;
    for (int i = 0; i < count && status == RELUCL_OK; i++)
        status = relucl_check_overlap(ctx, fn, out_name, out, names[i], inputs[i], 0);
    return status;
}

/* AUTO takes the GEMM path when each group has enough filters, and each output sums enough
 * products, to pay for im2col and the GEMM's fixed costs: K / groups >= 16 and
 * (C / groups) R S >= 16; and only when one image's scratch fits the workspace limit, so AUTO
 * never fails for lack of workspace. Measured on PoCL (64 images, 3x3, 28x28 and 14x14): the
 * filter count decides. With 32 filters GEMM was 2 times faster from (C/g) R S = 18, with 16
 * it was level to 3 times faster, with 8 or fewer it was slower (up to 7 times); with
 * (C/g) R S of 288 and more and 64 filters it is 10 to 30 times faster. Depthwise layers stay
 * direct. The rule reads only the shapes and the limit, so a call always takes the same path.
 * An explicit GEMM whose single image does not fit is an error. */
static relucl_status choose_algo(relucl_context *ctx, const char *fn, relucl_conv_algo algo,
                                 const conv_geom *g, relucl_conv_algo *out) {
    if (algo != RELUCL_CONV_AUTO && algo != RELUCL_CONV_NAIVE && algo != RELUCL_CONV_GEMM)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                           "algo is %d, not a relucl_conv_algo", (int)algo);
    size_t col = conv_scratch_floats(g), limit = conv_workspace_limit(ctx);
    int fits = col <= limit / sizeof(float);
    size_t taps = g->r * g->s; /* cg * taps >= 16, without overflow */
    if (algo == RELUCL_CONV_AUTO)
        algo = (g->kg >= 16 && g->cg >= (16 + taps - 1) / taps && fits) ? RELUCL_CONV_GEMM
                                                                        : RELUCL_CONV_NAIVE;
    if (algo == RELUCL_CONV_GEMM && !fits) {
        if (col == SIZE_MAX)
            return relucl_fail(ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn,
                               "workspace: one image's scratch overflows size_t");
        return relucl_fail(ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn,
                           "workspace: one image needs %zu bytes of scratch, more than "
                           "the workspace limit of %zu bytes (relucl_context_set_workspace_limit; "
                           "the device's largest allocation caps it too)",
                           col * sizeof(float), limit);
    }
    *out = algo;
    return RELUCL_OK;
}

/* ---- Public calls ---------------------------------------------------------------------- */

relucl_status relucl_conv2d_output_dims(relucl_context *ctx, const relucl_conv2d *conv,
                                        const size_t x_dims[4], const size_t w_dims[4],
                                        size_t y_dims[4]) {
    static const char fn[] = "relucl_conv2d_output_dims";
    relucl_status status = relucl_check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    const size_t *arrays[3] = {x_dims, w_dims, y_dims};
    const char *names[3] = {"x_dims", "w_dims", "y_dims"};
    for (int i = 0; i < 3; i++)
        if (!arrays[i])
            return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is NULL", names[i]);
    conv_geom g;
    status = check_geometry(ctx, fn, conv, "x_dims", x_dims, "w_dims", w_dims, &g);
    if (status != RELUCL_OK)
        return status;
    y_dims[0] = g.n;
    y_dims[1] = g.k;
    y_dims[2] = g.p;
    y_dims[3] = g.q;
    return RELUCL_OK;
}

relucl_status relucl_conv2d_forward(relucl_context *ctx, const relucl_conv2d *conv,
                                    relucl_conv_algo algo, relucl_activation act,
                                    const relucl_tensor *x, const relucl_tensor *w,
                                    const relucl_tensor *b, const relucl_tensor *y) {
    static const char fn[] = "relucl_conv2d_forward";
    conv_geom g;
    relucl_status status = relucl_check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    const relucl_tensor *inputs[3] = {x, w, b};
    const char *const names[3] = {"x", "w", "b"};
    if ((status = relucl_check_activation(ctx, fn, act, 0)) != RELUCL_OK ||
        (status = check_operands(ctx, fn, conv, "x", x, "w", w, &g)) != RELUCL_OK ||
        (b && (status = check_bias(ctx, fn, "b", b, &g)) != RELUCL_OK) ||
        (status = check_output_dims(ctx, fn, "y", y, &g)) != RELUCL_OK ||
        (status = check_apart(ctx, fn, "y", y, 3, names, inputs)) != RELUCL_OK ||
        (status = choose_algo(ctx, fn, algo, &g, &algo)) != RELUCL_OK)
        return status;
    if (relucl_tensor_count(y) == 0)
        return RELUCL_OK;
    if (algo == RELUCL_CONV_GEMM)
        return conv_gemm_forward(ctx, fn, &g, act, x, w, b, y);

    cl_kernel kernel;
    if ((status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_CONV, "conv_forward_naive",
                                    &kernel)) != RELUCL_OK)
        return status;
    cl_mem bb = b ? b->buffer : NULL;
    cl_ulong xo = x->offset, wo = w->offset, bo = b ? b->offset : 0, yo = y->offset;
    cl_int has_bias = b != NULL, kind = (cl_int)act.kind;
    cl_int16 geo = conv_pack(&g);
    relucl_arg args[] = {RELUCL_ARG(x->buffer), RELUCL_ARG(xo),       RELUCL_ARG(w->buffer),
                         RELUCL_ARG(wo),        RELUCL_ARG(bb),       RELUCL_ARG(bo),
                         RELUCL_ARG(has_bias),  RELUCL_ARG(y->buffer), RELUCL_ARG(yo),
                         RELUCL_ARG(geo),       RELUCL_ARG(kind),     RELUCL_ARG(act.alpha)};
    const size_t global[3] = {g.q, g.p, g.n * g.k};
    if ((status = relucl_set_args(ctx, fn, kernel, args, 12)) != RELUCL_OK)
        return status;
    return conv_launch(ctx, fn, kernel, 3, global);
}

relucl_status relucl_conv2d_backward_data(relucl_context *ctx, const relucl_conv2d *conv,
                                          relucl_conv_algo algo, const relucl_tensor *dy,
                                          const relucl_tensor *w, const relucl_tensor *dx) {
    static const char fn[] = "relucl_conv2d_backward_data";
    conv_geom g;
    relucl_status status = relucl_check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    const relucl_tensor *inputs[2] = {dy, w};
    const char *const names[2] = {"dy", "w"};
    if ((status = check_operands(ctx, fn, conv, "dx", dx, "w", w, &g)) != RELUCL_OK ||
        (status = check_output_dims(ctx, fn, "dy", dy, &g)) != RELUCL_OK ||
        (status = check_apart(ctx, fn, "dx", dx, 2, names, inputs)) != RELUCL_OK ||
        (status = choose_algo(ctx, fn, algo, &g, &algo)) != RELUCL_OK)
        return status;
    if (relucl_tensor_count(dx) == 0)
        return RELUCL_OK;
    if (algo == RELUCL_CONV_GEMM)
        return conv_gemm_backward_data(ctx, fn, &g, dy, w, dx);

    cl_kernel kernel;
    if ((status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_CONV, "conv_backward_data_naive",
                                    &kernel)) != RELUCL_OK)
        return status;
    cl_ulong dyo = dy->offset, wo = w->offset, dxo = dx->offset;
    cl_int16 geo = conv_pack(&g);
    relucl_arg args[] = {RELUCL_ARG(dy->buffer), RELUCL_ARG(dyo),        RELUCL_ARG(w->buffer),
                         RELUCL_ARG(wo),         RELUCL_ARG(dx->buffer), RELUCL_ARG(dxo),
                         RELUCL_ARG(geo)};
    const size_t global[3] = {g.w, g.h, g.n * g.c};
    if ((status = relucl_set_args(ctx, fn, kernel, args, 7)) != RELUCL_OK)
        return status;
    return conv_launch(ctx, fn, kernel, 3, global);
}

/* db = the sums of dy per output channel, in a fixed order; for both algorithms. */
static relucl_status backward_bias(relucl_context *ctx, const char *fn, cl_kernel kernel,
                                   const conv_geom *g, const relucl_tensor *dy,
                                   const relucl_tensor *db, int accumulate) {
    cl_ulong dyo = dy->offset, dbo = db->offset, batch = g->n;
    cl_int acc = accumulate != 0;
    cl_int16 geo = conv_pack(g);
    relucl_arg args[] = {RELUCL_ARG(dy->buffer), RELUCL_ARG(dyo),   RELUCL_ARG(db->buffer),
                         RELUCL_ARG(dbo),        RELUCL_ARG(batch), RELUCL_ARG(acc),
                         RELUCL_ARG(geo)};
    relucl_status status = relucl_set_args(ctx, fn, kernel, args, 7);
    return status != RELUCL_OK ? status : conv_launch(ctx, fn, kernel, 1, &g->k);
}

static relucl_status naive_backward_filter(relucl_context *ctx, const char *fn,
                                           const conv_geom *g, const relucl_tensor *x,
                                           const relucl_tensor *dy, const relucl_tensor *dw,
                                           int accumulate) {
    cl_kernel kernel;
    relucl_status status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_CONV,
                                             "conv_backward_filter_naive", &kernel);
    if (status != RELUCL_OK)
        return status;
    cl_ulong xo = x->offset, dyo = dy->offset, dwo = dw->offset, batch = g->n;
    cl_int acc = accumulate != 0;
    cl_int16 geo = conv_pack(g);
    relucl_arg args[] = {RELUCL_ARG(x->buffer),  RELUCL_ARG(xo),    RELUCL_ARG(dy->buffer),
                         RELUCL_ARG(dyo),        RELUCL_ARG(dw->buffer), RELUCL_ARG(dwo),
                         RELUCL_ARG(batch),      RELUCL_ARG(acc),   RELUCL_ARG(geo)};
    const size_t global[3] = {g->s, g->r, g->k * g->cg};
    if ((status = relucl_set_args(ctx, fn, kernel, args, 9)) != RELUCL_OK)
        return status;
    return conv_launch(ctx, fn, kernel, 3, global);
}

relucl_status relucl_conv2d_backward_filter(relucl_context *ctx, const relucl_conv2d *conv,
                                            relucl_conv_algo algo, const relucl_tensor *x,
                                            const relucl_tensor *dy, const relucl_tensor *dw,
                                            const relucl_tensor *db, int accumulate) {
    static const char fn[] = "relucl_conv2d_backward_filter";
    conv_geom g;
    relucl_status status = relucl_check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    const relucl_tensor *inputs[3] = {x, dy, db};
    const char *const names[3] = {"x", "dy", "db"};
    if ((status = check_operands(ctx, fn, conv, "x", x, "dw", dw, &g)) != RELUCL_OK ||
        (status = check_output_dims(ctx, fn, "dy", dy, &g)) != RELUCL_OK ||
        (db && (status = check_bias(ctx, fn, "db", db, &g)) != RELUCL_OK) ||
        (status = check_apart(ctx, fn, "dw", dw, 3, names, inputs)) != RELUCL_OK ||
        (status = check_apart(ctx, fn, "db", db, 2, names, inputs)) != RELUCL_OK ||
        (status = choose_algo(ctx, fn, algo, &g, &algo)) != RELUCL_OK)
        return status;
    cl_kernel bias_kernel = NULL;
    if (db && g.k > 0 &&
        (status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_CONV, "conv_backward_bias",
                                    &bias_kernel)) != RELUCL_OK)
        return status;
    /* dw first: the GEMM path allocates its workspace before it enqueues anything. */
    if (relucl_tensor_count(dw) > 0)
        status = algo == RELUCL_CONV_GEMM
                     ? conv_gemm_backward_filter(ctx, fn, &g, x, dy, dw, accumulate)
                     : naive_backward_filter(ctx, fn, &g, x, dy, dw, accumulate);
    if (status == RELUCL_OK && bias_kernel)
        status = backward_bias(ctx, fn, bias_kernel, &g, dy, db, accumulate);
    return status;
}

relucl_status relucl_conv2d_workspace_size(relucl_context *ctx, const relucl_conv2d *conv,
                                           const relucl_tensor *x, const relucl_tensor *w,
                                           size_t *bytes) {
    static const char fn[] = "relucl_conv2d_workspace_size";
    conv_geom g;
    relucl_status status = relucl_check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    if (!bytes)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "bytes is NULL");
    if ((status = check_operands(ctx, fn, conv, "x", x, "w", w, &g)) != RELUCL_OK)
        return status;
    size_t col = conv_scratch_floats(&g);
    if (col == SIZE_MAX || col > SIZE_MAX / sizeof(float))
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn, "x: the scratch size overflows");
    /* What the GEMM path allocates with no limit: its chunks (conv_chunk_images). */
    *bytes = conv_chunk_images(&g, SIZE_MAX) * col * sizeof(float);
    return RELUCL_OK;
}

relucl_status relucl_context_set_workspace_limit(relucl_context *ctx, size_t bytes) {
    relucl_status status = relucl_check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    ctx->workspace_limit = bytes;
    if (ctx->workspace && ctx->workspace_size > conv_workspace_limit(ctx)) {
        clReleaseMemObject(ctx->workspace); /* freed once queued work is done with it */
        ctx->workspace = NULL;
        ctx->workspace_size = 0;
    }
    return RELUCL_OK;
}
