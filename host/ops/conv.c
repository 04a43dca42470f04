/* 2-D convolution: the public calls, the choice of algorithm and the direct (NAIVE) kernels.
 * The GEMM path is in conv_gemm.c, shapes in conv_geometry.c, kernels in kernels/conv.cl. */
#include "ops/conv.h"

#include <stdint.h>

/* AUTO takes the GEMM path when each group has enough filters, and each output sums enough
 * products, to pay for im2col and the GEMM's fixed costs: K / groups >= 16 and
 * (C / groups) R S >= 16; and only when one image's scratch fits the workspace limit, so AUTO
 * never fails for lack of workspace. Measured on PoCL (64 images, 3x3, 28x28 and 14x14): the
 * filter count decides. With 32 filters GEMM was 2 times faster from (C/g) R S = 18, with 16
 * it was level to 3 times faster, with 8 or fewer it was slower (up to 7 times); with
 * (C/g) R S of 288 and more and 64 filters it is 10 to 30 times faster. Depthwise layers stay
 * direct. With relucl's own GEMM (CPU devices, host/blas/gemm_own.c) a first layer's
 * (C/g) R S = 9 pays too: 1 channel to 32 filters, 28x28, 64 images on PoCL, GEMM was 8.7
 * times faster forward, 1.9 backward-data and 1.6 backward-filter, so there only the filter
 * count counts. The rule reads only the device's GEMM choice, the shapes and the limit, so a
 * call always takes the same path. An explicit GEMM whose single image does not fit is an
 * error. */
static relucl_status choose_algo(relucl_context *ctx, const char *fn, relucl_conv_algo algo,
                                 const relucl__conv_geom *g, relucl_conv_algo *out) {
    if (algo != RELUCL_CONV_AUTO && algo != RELUCL_CONV_NAIVE && algo != RELUCL_CONV_GEMM)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "algo is %d, not a relucl_conv_algo", (int)algo);
    size_t col = relucl__conv_scratch_floats(g), limit = relucl__conv_workspace_limit(ctx);
    int fits = col <= limit / sizeof(float);
    size_t taps = g->r * g->s; /* cg * taps >= 16, without overflow */
    /* relucl's own GEMM (CPU devices) drops the second condition (see above). */
    int enough_taps = g->cg >= (16 + taps - 1) / taps ||
                      relucl__gemm_own_wanted(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS);
    if (algo == RELUCL_CONV_AUTO)
        algo = (g->kg >= 16 && enough_taps && fits) ? RELUCL_CONV_GEMM : RELUCL_CONV_NAIVE;
    if (algo == RELUCL_CONV_GEMM && !fits) {
        if (col == SIZE_MAX)
            return relucl__fail(ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn,
                                "workspace: one image's scratch overflows size_t");
        return relucl__fail(ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn,
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
    RELUCL__TRY(relucl__check_context(ctx));
    const size_t *arrays[3] = {x_dims, w_dims, y_dims};
    const char *names[3] = {"x_dims", "w_dims", "y_dims"};
    for (int i = 0; i < 3; i++)
        if (!arrays[i])
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is NULL", names[i]);
    relucl__conv_geom g;
    RELUCL__TRY(relucl__conv_check_dims(ctx, fn, conv, x_dims, w_dims, &g));
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
    relucl__conv_geom g;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_activation(ctx, fn, act, 0));
    const relucl_tensor *inputs[3] = {x, w, b};
    const char *const names[3] = {"x", "w", "b"};
    RELUCL__TRY(relucl__conv_check_operands(ctx, fn, conv, "x", x, "w", w, &g));
    if (b)
        RELUCL__TRY(relucl__conv_check_bias(ctx, fn, "b", b, &g));
    RELUCL__TRY(relucl__conv_check_output(ctx, fn, "y", y, &g));
    RELUCL__TRY(relucl__check_apart(ctx, fn, "y", y, 3, names, inputs));
    RELUCL__TRY(choose_algo(ctx, fn, algo, &g, &algo));
    if (relucl_tensor_count(y) == 0)
        return RELUCL_OK;
    if (algo == RELUCL_CONV_GEMM)
        return relucl__conv_gemm_forward(ctx, fn, &g, act, x, w, b, y);
    const size_t global[3] = {g.q, g.p, g.n * g.k};
    cl_int16 geo = relucl__conv_pack(&g);
    return RELUCL__CONV_LAUNCH(ctx, fn, "conv_forward_naive", 3, global, RELUCL__TENSOR(x),
                               RELUCL__TENSOR(w), RELUCL__TENSOR_OR(b, NULL),
                               RELUCL__INT(b != NULL), RELUCL__TENSOR(y), RELUCL__ARG(geo),
                               RELUCL__INT(act.kind), RELUCL__FLOAT(act.alpha));
}

relucl_status relucl_conv2d_backward_data(relucl_context *ctx, const relucl_conv2d *conv,
                                          relucl_conv_algo algo, const relucl_tensor *dy,
                                          const relucl_tensor *w, const relucl_tensor *dx) {
    static const char fn[] = "relucl_conv2d_backward_data";
    relucl__conv_geom g;
    RELUCL__TRY(relucl__check_context(ctx));
    const relucl_tensor *inputs[2] = {dy, w};
    const char *const names[2] = {"dy", "w"};
    RELUCL__TRY(relucl__conv_check_operands(ctx, fn, conv, "dx", dx, "w", w, &g));
    RELUCL__TRY(relucl__conv_check_output(ctx, fn, "dy", dy, &g));
    RELUCL__TRY(relucl__check_apart(ctx, fn, "dx", dx, 2, names, inputs));
    RELUCL__TRY(choose_algo(ctx, fn, algo, &g, &algo));
    if (relucl_tensor_count(dx) == 0)
        return RELUCL_OK;
    if (algo == RELUCL_CONV_GEMM)
        return relucl__conv_gemm_backward_data(ctx, fn, &g, dy, w, dx);
    const size_t global[3] = {g.w, g.h, g.n * g.c};
    cl_int16 geo = relucl__conv_pack(&g);
    return RELUCL__CONV_LAUNCH(ctx, fn, "conv_backward_data_naive", 3, global, RELUCL__TENSOR(dy),
                               RELUCL__TENSOR(w), RELUCL__TENSOR(dx), RELUCL__ARG(geo));
}

static relucl_status naive_backward_filter(relucl_context *ctx, const char *fn,
                                           const relucl__conv_geom *g, const relucl_tensor *x,
                                           const relucl_tensor *dy, const relucl_tensor *dw,
                                           int accumulate) {
    const size_t global[3] = {g->s, g->r, g->k * g->cg};
    cl_int16 geo = relucl__conv_pack(g);
    return RELUCL__CONV_LAUNCH(ctx, fn, "conv_backward_filter_naive", 3, global, RELUCL__TENSOR(x),
                               RELUCL__TENSOR(dy), RELUCL__TENSOR(dw), RELUCL__ULONG(g->n),
                               RELUCL__INT(accumulate != 0), RELUCL__ARG(geo));
}

relucl_status relucl_conv2d_backward_filter(relucl_context *ctx, const relucl_conv2d *conv,
                                            relucl_conv_algo algo, const relucl_tensor *x,
                                            const relucl_tensor *dy, const relucl_tensor *dw,
                                            const relucl_tensor *db, int accumulate) {
    static const char fn[] = "relucl_conv2d_backward_filter";
    relucl__conv_geom g;
    RELUCL__TRY(relucl__check_context(ctx));
    const relucl_tensor *inputs[3] = {x, dy, db};
    const char *const names[3] = {"x", "dy", "db"};
    RELUCL__TRY(relucl__conv_check_operands(ctx, fn, conv, "x", x, "dw", dw, &g));
    RELUCL__TRY(relucl__conv_check_output(ctx, fn, "dy", dy, &g));
    if (db)
        RELUCL__TRY(relucl__conv_check_bias(ctx, fn, "db", db, &g));
    RELUCL__TRY(relucl__check_apart(ctx, fn, "dw", dw, 3, names, inputs));
    RELUCL__TRY(relucl__check_apart(ctx, fn, "db", db, 2, names, inputs));
    RELUCL__TRY(choose_algo(ctx, fn, algo, &g, &algo));
    if (db && g.k > 0) { /* the bias kernel exists before anything is enqueued */
        cl_kernel unused;
        RELUCL__TRY(
            relucl__kernel_get(ctx, fn, RELUCL_PROGRAM_CONV, "conv_backward_bias", &unused));
    }
    /* dw first: the GEMM path allocates its workspace before it enqueues anything. */
    if (relucl_tensor_count(dw) > 0)
        RELUCL__TRY(algo == RELUCL_CONV_GEMM
                        ? relucl__conv_gemm_backward_filter(ctx, fn, &g, x, dy, dw, accumulate)
                        : naive_backward_filter(ctx, fn, &g, x, dy, dw, accumulate));
    if (!db)
        return RELUCL_OK;
    cl_int16 geo = relucl__conv_pack(&g);
    /* db = the sums of dy per output channel, in a fixed order; for both algorithms. A
     * work-group per channel: K items in one group ran on one of PoCL's threads. */
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_CONV, "conv_backward_bias",
                          relucl__range_1d(ctx, g.k, 1), RELUCL__TENSOR(dy), RELUCL__TENSOR(db),
                          RELUCL__ULONG(g.n), RELUCL__INT(accumulate != 0), RELUCL__ARG(geo));
}

relucl_status relucl_conv2d_workspace_size(relucl_context *ctx, const relucl_conv2d *conv,
                                           const relucl_tensor *x, const relucl_tensor *w,
                                           size_t *bytes) {
    static const char fn[] = "relucl_conv2d_workspace_size";
    relucl__conv_geom g;
    RELUCL__TRY(relucl__check_context(ctx));
    if (!bytes)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "bytes is NULL");
    RELUCL__TRY(relucl__conv_check_operands(ctx, fn, conv, "x", x, "w", w, &g));
    size_t col = relucl__conv_scratch_floats(&g);
    if (col == SIZE_MAX || col > SIZE_MAX / sizeof(float))
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "x: the scratch size overflows");
    /* What the GEMM path allocates with no limit: its chunks (relucl__conv_chunk_images). */
    *bytes = relucl__conv_chunk_images(&g, SIZE_MAX, relucl__conv_chunk_target(ctx)) * col *
             sizeof(float);
    return RELUCL_OK;
}

relucl_status relucl_context_set_workspace_limit(relucl_context *ctx, size_t bytes) {
    RELUCL__TRY(relucl__check_context(ctx));
    ctx->workspace_limit = bytes;
    if (ctx->workspace && ctx->workspace_size > relucl__conv_workspace_limit(ctx)) {
        clReleaseMemObject(ctx->workspace); /* freed once queued work is done with it */
        ctx->workspace = NULL;
        ctx->workspace_size = 0;
    }
    return RELUCL_OK;
}
