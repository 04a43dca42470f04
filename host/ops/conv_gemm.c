/* The GEMM algorithm: im2col into the context's workspace, GEMMs, then col2im (data
 * gradient) or bias and activation (forward).
 *
 * Images go through in chunks (relucl__conv_chunk_images), in one of two layouts:
 * - relucl's own GEMM (CPU devices), no groups: each image keeps its own (C R S, P Q)
 *   columns and the GEMMs read dy and write y where they are. Forward: one batched GEMM
 *   writing act(w col_n + b) into y (bias and activation in the GEMM's epilogue). Data
 *   gradient: one batched GEMM col_n = w^T dy_n, then col2im. Filter gradient: the sum over
 *   the images of dy_n col_n^T as a GEMM whose k runs in pieces, in panels of images; or,
 *   where dw's transpose has enough register blocks (filter_rows), dw^T = col dy^T per panel
 *   with the panel's columns side by side and dy transposed. On CPU devices im2col and
 *   col2im take a plane per work-item (conv_im2col_planes, conv_col2im_planes).
 * - otherwise (CLBlast; groups): a chunk's images side by side in one matrix, one GEMM per
 *   group however small the images, y_g (K/g, images P Q) = w_g col_g, then the bias and
 *   activation pass; dy is gathered beside the columns for both gradients. On PoCL with
 *   CLBlast one GEMM per image was 1.2-1.5 times slower for 14x14 and 28x28 images, and
 *   several times slower where CLBlast sent the small GEMMs to its direct kernel.
 * Each element of y or dx is one dot product whatever the chunk (only a move across
 * CLBlast's direct/indirect threshold can change its last bits); dw sums over the images by
 * chunk and panel, so their sizes can move it in the last bits. */
#include "ops/conv.h"

#include <stdint.h>

/* The filter gradient's GEMMs read at most this much of the columns each (see panel_images). */
#define PANEL_BYTES ((size_t)2 << 20)

/* The im2col kernel of the device's kind. */
#define IM2COL(ctx) ((ctx)->wide ? "conv_im2col_planes" : "conv_im2col")

/* Per-image sizes in floats, and the images per chunk. */
typedef struct conv_plan {
    size_t taps, group_taps, plane, image, out, chunk;
} conv_plan;

/* The images per panel of the filter gradient: their columns stay in cache (PANEL_BYTES)
 * while every block of dw passes over them; at least one. */
static size_t panel_images(const conv_plan *pl) {
    size_t panel = PANEL_BYTES / (pl->taps * pl->plane * sizeof(float));
    return panel < 1 ? 1 : panel;
}

/* The chunk size (the caller made sure one image fits the limit) and its scratch, reserved. */
static relucl_status plan(relucl_context *ctx, const char *fn, const relucl__conv_geom *g,
                          conv_plan *pl) {
    pl->taps = g->c * g->r * g->s;
    pl->group_taps = g->cg * g->r * g->s;
    pl->plane = g->p * g->q;
    pl->image = g->c * g->h * g->w;
    pl->out = g->k * pl->plane;
    pl->chunk = relucl__conv_chunk_images(g, relucl__conv_workspace_limit(ctx),
                                          relucl__conv_chunk_target(ctx));
    return relucl__scratch_reserve(ctx, fn, "clCreateBuffer (convolution workspace)",
                                   &ctx->workspace, &ctx->workspace_size,
                                   pl->chunk * relucl__conv_scratch_floats(g) * sizeof(float));
}

static relucl_tensor view(cl_mem buffer, size_t offset, size_t batch, size_t rows, size_t cols) {
    relucl_tensor t = {buffer, offset, 3, {batch, rows, cols, 1}};
    return t;
}

/* c_i = op(a_i) op(b_i) + beta c_i for each group i of (groups, rows, cols) views: one plain
 * GEMM per group rather than a batched one, so convolutions use the CLBlast kernels the dense
 * layers have already built (on PoCL each CLBlast routine's first build takes tens of seconds). */
static relucl_status group_gemm(relucl_context *ctx, const char *fn, relucl_transpose ta,
                                relucl_transpose tb, const relucl_tensor *a, const relucl_tensor *b,
                                float beta, const relucl_tensor *c) {
    const relucl_tensor *all[3] = {a, b, c};
    relucl_tensor one[3];
    relucl_status status = RELUCL_OK;
    for (size_t g = 0; g < a->dims[0] && status == RELUCL_OK; g++) {
        for (int i = 0; i < 3; i++) {
            size_t rows = all[i]->dims[1], cols = all[i]->dims[2];
            one[i] = (relucl_tensor){
                all[i]->buffer, all[i]->offset + g * rows * cols, 2, {rows, cols, 1, 1}};
        }
        status = relucl__gemm(ctx, fn, 2, ta, tb, 1.0f, &one[0], &one[1], beta, &one[2]);
    }
    return status;
}

/* Every kernel the path uses exists before it enqueues anything. */
static relucl_status get_kernels(relucl_context *ctx, const char *fn, const char *first,
                                 const char *second) {
    cl_kernel unused;
    RELUCL__TRY(relucl__kernel_get(ctx, fn, RELUCL_PROGRAM_CONV, first, &unused));
    return second ? relucl__kernel_get(ctx, fn, RELUCL_PROGRAM_CONV, second, &unused) : RELUCL_OK;
}

/* The columns of images [n0, n0 + count) into the workspace, with the layout of conv_im2col. */
static relucl_status im2col(relucl_context *ctx, const char *fn, const relucl__conv_geom *g,
                            const conv_plan *pl, const relucl_tensor *x, size_t n0, size_t count,
                            int side_by_side) {
    /* CPU devices: a filter row's S planes per work-item (conv_im2col_planes) */
    const size_t global[3] = {ctx->wide ? 1 : g->q, ctx->wide ? 1 : g->p,
                              count * (ctx->wide ? g->c * g->r : pl->taps)};
    cl_int16 geo = relucl__conv_pack(g);
    return RELUCL__CONV_LAUNCH(
        ctx, fn, IM2COL(ctx), 3, global, RELUCL__MEM(x->buffer),
        RELUCL__ULONG(x->offset + n0 * pl->image), RELUCL__MEM(ctx->workspace), RELUCL__ULONG(0),
        RELUCL__ULONG(side_by_side ? count * pl->plane : pl->plane),
        RELUCL__ULONG(side_by_side ? pl->plane : pl->taps * pl->plane), RELUCL__ARG(geo));
}

/* One GEMM per chunk and group: c_g = op(a_g) b_g, with (K/g, C/g R S) filters
 * and (rows, count * P * Q) matrices side by side in the workspace. */
static relucl_status chunk_gemm(relucl_context *ctx, const char *fn, const relucl__conv_geom *g,
                                const conv_plan *pl, relucl_transpose ta, const relucl_tensor *w,
                                size_t b_offset, size_t b_rows, size_t c_offset, size_t c_rows,
                                size_t count) {
    size_t cols = count * pl->plane;
    relucl_tensor a = view(w->buffer, w->offset, g->groups, g->kg, pl->group_taps),
                  b = view(ctx->workspace, b_offset, g->groups, b_rows, cols),
                  c = view(ctx->workspace, c_offset, g->groups, c_rows, cols);
    return group_gemm(ctx, fn, ta, RELUCL_NO_TRANS, &a, &b, 0.0f, &c);
}

/* y for the chunk from the GEMM's (K, count * P * Q) result z, plus bias and activation. */
static relucl_status bias_act(relucl_context *ctx, const char *fn, const relucl__conv_geom *g,
                              relucl_activation act, size_t z_offset, const relucl_tensor *b,
                              const relucl_tensor *y, size_t yo, size_t count) {
    const size_t global[2] = {g->p * g->q, count * g->k};
    cl_int16 geo = relucl__conv_pack(g);
    return RELUCL__CONV_LAUNCH(ctx, fn, "conv_bias_act", 2, global, RELUCL__MEM(ctx->workspace),
                               RELUCL__ULONG(z_offset), RELUCL__TENSOR_OR(b, NULL),
                               RELUCL__INT(b != NULL), RELUCL__MEM(y->buffer), RELUCL__ULONG(yo),
                               RELUCL__ULONG(count), RELUCL__ARG(geo), RELUCL__INT(act.kind),
                               RELUCL__FLOAT(act.alpha));
}

relucl_status relucl__conv_gemm_forward(relucl_context *ctx, const char *fn,
                                        const relucl__conv_geom *g, relucl_activation act,
                                        const relucl_tensor *x, const relucl_tensor *w,
                                        const relucl_tensor *b, const relucl_tensor *y) {
    conv_plan pl;
    RELUCL__TRY(get_kernels(ctx, fn, IM2COL(ctx), "conv_bias_act"));
    RELUCL__TRY(plan(ctx, fn, g, &pl));
    relucl_status status = RELUCL_OK;
    int fused = g->groups == 1 && relucl__gemm_own_wanted(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS);
    for (size_t n0 = 0; n0 < g->n && status == RELUCL_OK; n0 += pl.chunk) {
        size_t count = g->n - n0 < pl.chunk ? g->n - n0 : pl.chunk;
        if (fused) {
            /* y_n = act(w col_n + b) for every image in one batched GEMM that writes y in
             * place, bias and activation in its epilogue: no z, no second pass. */
            status = im2col(ctx, fn, g, &pl, x, n0, count, 0);
            relucl_tensor a = view(w->buffer, w->offset, 1, g->k, pl.taps),
                          cols = view(ctx->workspace, 0, count, pl.taps, pl.plane),
                          out = view(y->buffer, y->offset + n0 * pl.out, count, g->k, pl.plane);
            relucl__epilogue ep = {b, RELUCL__BIAS_PER_ROW, act};
            if (status == RELUCL_OK)
                status = relucl__gemm_own(ctx, fn, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &a,
                                          &cols, 0.0f, &out, g->k, pl.plane, pl.taps, count, 0,
                                          pl.taps * pl.plane, &ep);
            continue;
        }
        size_t z_offset = pl.taps * count * pl.plane; /* after the columns */
        status = im2col(ctx, fn, g, &pl, x, n0, count, 1);
        if (status == RELUCL_OK)
            status = chunk_gemm(ctx, fn, g, &pl, RELUCL_NO_TRANS, w, 0, pl.group_taps, z_offset,
                                g->kg, count);
        if (status == RELUCL_OK)
            status = bias_act(ctx, fn, g, act, z_offset, b, y, y->offset + n0 * pl.out, count);
    }
    return status;
}

/* The chunk's dy as one (K, count * P * Q) matrix at dy_offset in the workspace. */
static relucl_status gather_dy(relucl_context *ctx, const char *fn, const relucl__conv_geom *g,
                               const relucl_tensor *dy, size_t dyo, size_t dy_offset,
                               size_t count) {
    const size_t global[2] = {g->p * g->q, count * g->k};
    cl_int16 geo = relucl__conv_pack(g);
    return RELUCL__CONV_LAUNCH(ctx, fn, "conv_gather_dy", 2, global, RELUCL__MEM(dy->buffer),
                               RELUCL__ULONG(dyo), RELUCL__MEM(ctx->workspace),
                               RELUCL__ULONG(dy_offset), RELUCL__ULONG(count), RELUCL__ARG(geo));
}

/* CPU devices at stride 1 take a plane of dx per work-item (conv_col2im_planes). */
static int col2im_by_planes(const relucl_context *ctx, const relucl__conv_geom *g) {
    return ctx->wide && g->stride[0] == 1 && g->stride[1] == 1;
}

/* dx for the chunk from the columns at the start of the workspace, laid out as im2col's
 * side_by_side says. */
static relucl_status col2im(relucl_context *ctx, const char *fn, const relucl__conv_geom *g,
                            const conv_plan *pl, const relucl_tensor *dx, size_t dxo,
                            size_t count, int side_by_side) {
    int planes = col2im_by_planes(ctx, g);
    const size_t global[3] = {planes ? 1 : g->w, planes ? 1 : g->h, count * g->c};
    cl_int16 geo = relucl__conv_pack(g);
    return RELUCL__CONV_LAUNCH(ctx, fn, planes ? "conv_col2im_planes" : "conv_col2im", 3, global,
                               RELUCL__MEM(ctx->workspace), RELUCL__ULONG(0),
                               RELUCL__ULONG(side_by_side ? count * pl->plane : pl->plane),
                               RELUCL__ULONG(side_by_side ? pl->plane : pl->taps * pl->plane),
                               RELUCL__MEM(dx->buffer), RELUCL__ULONG(dxo), RELUCL__ARG(geo));
}

relucl_status relucl__conv_gemm_backward_data(relucl_context *ctx, const char *fn,
                                              const relucl__conv_geom *g, const relucl_tensor *dy,
                                              const relucl_tensor *w, const relucl_tensor *dx) {
    conv_plan pl;
    RELUCL__TRY(get_kernels(ctx, fn, "conv_gather_dy",
                            col2im_by_planes(ctx, g) ? "conv_col2im_planes" : "conv_col2im"));
    RELUCL__TRY(plan(ctx, fn, g, &pl));
    relucl_status status = RELUCL_OK;
    for (size_t n0 = 0; n0 < g->n && status == RELUCL_OK; n0 += pl.chunk) {
        size_t count = g->n - n0 < pl.chunk ? g->n - n0 : pl.chunk;
        if (g->groups == 1) {
            /* col_n (C R S, P Q) = w^T dy_n for every image in one batched GEMM that reads
             * dy where it is: no gather pass. */
            relucl_tensor a = view(w->buffer, w->offset, 1, g->k, pl.taps),
                          b = view(dy->buffer, dy->offset + n0 * pl.out, count, g->k, pl.plane),
                          c = view(ctx->workspace, 0, count, pl.taps, pl.plane);
            status = relucl__gemm(ctx, fn, 3, RELUCL_TRANS, RELUCL_NO_TRANS, 1.0f, &a, &b, 0.0f,
                                  &c);
            if (status == RELUCL_OK)
                status = col2im(ctx, fn, g, &pl, dx, dx->offset + n0 * pl.image, count, 0);
            continue;
        }
        size_t dy_offset = pl.taps * count * pl.plane; /* after the columns */
        status = gather_dy(ctx, fn, g, dy, dy->offset + n0 * pl.out, dy_offset, count);
        /* col_g (C/g R S, count P Q) = w_g^T dy_g */
        if (status == RELUCL_OK)
            status = chunk_gemm(ctx, fn, g, &pl, RELUCL_TRANS, w, dy_offset, g->kg, 0,
                                pl.group_taps, count);
        if (status == RELUCL_OK)
            status = col2im(ctx, fn, g, &pl, dx, dx->offset + n0 * pl.image, count, 1);
    }
    return status;
}

/* The filter gradient's other form on CPU devices, taken when dw's transpose gives the own
 * GEMM's rows kernel enough register blocks (conv2 of the CNN: 288 x 64, 192 blocks; conv1's
 * 9 x 32 has 4 and keeps the dot kernel): per panel of images, dw_t (C R S, K) +=
 * col (C R S, panel P Q) x dy_t (panel P Q, K), with the panel's columns side by side and dy
 * transposed beside them, then dw = dw_t^T (+ dw). The dot kernel's 4 x 4 blocks read every
 * column 16 times and every dy row 72 times; the rows kernel's 6 x 16 blocks read a panel's
 * columns 4 times and its dy_t, which stays in the second-level cache, 48 times. */
#define FILTER_ROWS_BLOCKS 64

static int filter_by_rows(const relucl_context *ctx, const relucl__conv_geom *g,
                          const conv_plan *pl) {
    return ctx->wide && relucl__gemm_own_blocks(ctx, pl->taps, g->k) >= FILTER_ROWS_BLOCKS;
}

static relucl_status filter_rows(relucl_context *ctx, const char *fn, const relucl__conv_geom *g,
                                 const conv_plan *pl, const relucl_tensor *x,
                                 const relucl_tensor *dy, const relucl_tensor *dw,
                                 int accumulate) {
    cl_kernel unused;
    RELUCL__TRY(get_kernels(ctx, fn, "conv_transpose_dy", "conv_dw_from_transposed"));
    /* builds the GEMM program, so whichever of its kernels relucl__gemm_own picks exists */
    RELUCL__TRY(relucl__kernel_get(ctx, fn, RELUCL_PROGRAM_GEMM, "gemm_rows", &unused));
    RELUCL__TRY(relucl__scratch_reserve(ctx, fn, "clCreateBuffer (filter gradient scratch)",
                                        &ctx->filter_scratch, &ctx->filter_scratch_size,
                                        pl->taps * g->k * sizeof(float)));
    size_t panel = panel_images(pl);
    panel = panel > pl->chunk ? pl->chunk : panel; /* the workspace holds a chunk */
    cl_int16 geo = relucl__conv_pack(g);
    relucl_tensor dw_t = {ctx->filter_scratch, 0, 2, {pl->taps, g->k, 1, 1}};
    relucl_status status = RELUCL_OK;
    for (size_t n0 = 0; n0 < g->n && status == RELUCL_OK; n0 += panel) {
        size_t part = g->n - n0 < panel ? g->n - n0 : panel, cols = part * pl->plane;
        const size_t global[3] = {(pl->plane + 3) / 4, (g->k + 15) / 16, part};
        relucl_tensor a = {ctx->workspace, 0, 2, {pl->taps, cols, 1, 1}},
                      b = {ctx->workspace, pl->taps * cols, 2, {cols, g->k, 1, 1}};
        status = im2col(ctx, fn, g, pl, x, n0, part, 1);
        if (status == RELUCL_OK)
            status = RELUCL__CONV_LAUNCH(ctx, fn, "conv_transpose_dy", 3, global,
                                         RELUCL__MEM(dy->buffer),
                                         RELUCL__ULONG(dy->offset + n0 * pl->out),
                                         RELUCL__MEM(ctx->workspace), RELUCL__ULONG(b.offset),
                                         RELUCL__ARG(geo));
        if (status == RELUCL_OK)
            status = relucl__gemm_own(ctx, fn, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &a, &b,
                                      n0 ? 1.0f : 0.0f, &dw_t, pl->taps, g->k, cols, 1, 0, 0,
                                      NULL);
    }
    const size_t global[2] = {pl->taps, g->k};
    if (status == RELUCL_OK)
        status = RELUCL__CONV_LAUNCH(ctx, fn, "conv_dw_from_transposed", 2, global,
                                     RELUCL__MEM(ctx->filter_scratch), RELUCL__TENSOR(dw),
                                     RELUCL__ULONG(pl->taps), RELUCL__INT(accumulate),
                                     RELUCL__ARG(geo));
    return status;
}

relucl_status relucl__conv_gemm_backward_filter(relucl_context *ctx, const char *fn,
                                                const relucl__conv_geom *g, const relucl_tensor *x,
                                                const relucl_tensor *dy, const relucl_tensor *dw,
                                                int accumulate) {
    if (g->n == 0) /* no images: the gradient is zero */
        return accumulate ? RELUCL_OK : relucl_tensor_fill(ctx, dw, 0.0f);
    conv_plan pl;
    RELUCL__TRY(get_kernels(ctx, fn, IM2COL(ctx), "conv_gather_dy"));
    RELUCL__TRY(plan(ctx, fn, g, &pl));
    relucl_status status = RELUCL_OK;
    /* dw_g (K/g, C/g R S) += dy_g (K/g, count P Q) x col_g^T: one GEMM per chunk and group,
     * with the chunk's columns and its dy side by side in the workspace. */
    relucl_tensor c = view(dw->buffer, dw->offset, g->groups, g->kg, pl.group_taps);
    int in_place = g->groups == 1 && relucl__gemm_own_wanted(ctx, RELUCL_NO_TRANS, RELUCL_TRANS);
    if (in_place && filter_by_rows(ctx, g, &pl))
        return filter_rows(ctx, fn, g, &pl, x, dy, dw, accumulate);
    for (size_t n0 = 0; n0 < g->n && status == RELUCL_OK; n0 += pl.chunk) {
        size_t count = g->n - n0 < pl.chunk ? g->n - n0 : pl.chunk, cols = count * pl.plane;
        float beta = (accumulate || n0 > 0) ? 1.0f : 0.0f;
        if (in_place) {
            /* dw (K, C R S) += sum over the chunk's images of dy_n (K, P Q) col_n^T, with
             * each image's columns on their own and dy read where it is: no gather. */
            status = im2col(ctx, fn, g, &pl, x, n0, count, 0);
            /* In panels (panel_images): one GEMM over a whole chunk streamed conv2's 14 MiB
             * of columns from memory once per block row, 1.25 times slower. */
            size_t panel = panel_images(&pl);
            for (size_t i0 = 0; i0 < count && status == RELUCL_OK; i0 += panel) {
                size_t part = count - i0 < panel ? count - i0 : panel;
                status = relucl__gemm_own_segmented(
                    ctx, fn, 1.0f, dy->buffer, dy->offset + (n0 + i0) * pl.out, pl.plane, pl.out,
                    ctx->workspace, i0 * pl.taps * pl.plane, pl.plane, pl.taps * pl.plane,
                    i0 ? 1.0f : beta, dw->buffer, dw->offset, g->k, pl.taps, pl.plane, part);
            }
            continue;
        }
        size_t dy_offset = pl.taps * cols; /* after the columns */
        status = im2col(ctx, fn, g, &pl, x, n0, count, 1);
        if (status == RELUCL_OK)
            status = gather_dy(ctx, fn, g, dy, dy->offset + n0 * pl.out, dy_offset, count);
        if (status == RELUCL_OK) {
            relucl_tensor a = view(ctx->workspace, dy_offset, g->groups, g->kg, cols),
                          b = view(ctx->workspace, 0, g->groups, pl.group_taps, cols);
            status = group_gemm(ctx, fn, RELUCL_NO_TRANS, RELUCL_TRANS, &a, &b, beta, &c);
        }
    }
    return status;
}
