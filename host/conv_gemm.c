/* The GEMM algorithm: im2col into the context's workspace, CLBlast, then col2im or the fused
 * bias-and-activation pass.
 *
 * Images go through in chunks (see conv_chunk_images). For the forward and the data gradient
 * a chunk's images sit side by side in one matrix, so a chunk is one GEMM per group however
 * small the images: y_g (K/g, images * P * Q) = w_g (K/g, C/g R S) x col_g (C/g R S,
 * images * P * Q). On PoCL one GEMM per image was 1.2 to 1.5 times slower for 14x14 and 28x28
 * images, and several times slower where CLBlast sent the small GEMMs to its direct kernel.
 * Each output is one dot product over C/g R S (or K/g) whatever the chunk; only where chunking
 * moves a GEMM across CLBlast's direct/indirect threshold can y or dx change in the last bits.
 * The filter gradient sums over the images, so it runs image by image (beta 1 after the
 * first): the order of that sum never depends on the chunks. */
#include "conv.h"

#include <stdint.h>

static size_t mul_sat(size_t a, size_t b) {
    return (a != 0 && b > SIZE_MAX / a) ? SIZE_MAX : a * b;
}

size_t conv_scratch_floats(const conv_geom *g) {
    size_t taps = mul_sat(g->c, g->r * g->s), plane = g->p * g->q;
    if (taps == SIZE_MAX || g->k > SIZE_MAX - taps)
        return SIZE_MAX;
    return mul_sat(taps + g->k, plane);
}

/* A chunk's scratch stays near this size even when the limit allows more: on PoCL chunks of
 * 8 to 32 MiB ran a 64-image 56x56 layer twice as fast as one 256 MiB chunk (CLBlast copies
 * large operands into temporary buffers of its own), and for small images 32 MiB already
 * holds the whole GEMM a fast CLBlast kernel needs. */
#define CHUNK_TARGET ((size_t)32 << 20)

size_t conv_chunk_images(const conv_geom *g, size_t limit) {
    size_t floats = conv_scratch_floats(g);
    if (floats == 0)
        return g->n;
    if (floats > limit / sizeof(float))
        return 0;
    size_t per_image = floats * sizeof(float), fit = limit / per_image,
           target = CHUNK_TARGET / per_image;
    if (target < 1)
        target = 1;
    fit = fit < target ? fit : target;
    return fit < g->n ? fit : g->n;
}

/* Makes ctx->workspace at least `bytes` long: allocated on first need, grown (released and
 * allocated again) when too small, else reused. */
static relucl_status reserve(relucl_context *ctx, const char *fn, size_t bytes) {
    if (bytes == 0 || (ctx->workspace && ctx->workspace_size >= bytes))
        return RELUCL_OK;
    if (ctx->workspace)
        clReleaseMemObject(ctx->workspace); /* freed once queued work is done with it */
    ctx->workspace = NULL;
    ctx->workspace_size = 0;
    cl_int err = CL_SUCCESS;
    cl_mem buffer = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return relucl_fail_cl(ctx, fn, "clCreateBuffer (convolution workspace)", err);
    ctx->workspace = buffer;
    ctx->workspace_size = bytes;
    return RELUCL_OK;
}

/* Per-image sizes in floats, and the images per chunk. */
typedef struct conv_plan {
    size_t taps, group_taps, plane, image, out, chunk;
} conv_plan;

/* The chunk size (the caller made sure one image fits the limit) and its scratch, reserved. */
static relucl_status plan(relucl_context *ctx, const char *fn, const conv_geom *g,
                          conv_plan *pl) {
    pl->taps = g->c * g->r * g->s;
    pl->group_taps = g->cg * g->r * g->s;
    pl->plane = g->p * g->q;
    pl->image = g->c * g->h * g->w;
    pl->out = g->k * pl->plane;
    pl->chunk = conv_chunk_images(g, conv_workspace_limit(ctx));
    return reserve(ctx, fn, pl->chunk * conv_scratch_floats(g) * sizeof(float));
}

static relucl_tensor view(cl_mem buffer, size_t offset, size_t batch, size_t rows,
                          size_t cols) {
    relucl_tensor t = {buffer, offset, 3, {batch, rows, cols, 1}};
    return t;
}

/* c_i = op(a_i) op(b_i) + beta c_i for each group i of (groups, rows, cols) views: one plain
 * GEMM per group rather than a batched one, so convolutions use the CLBlast kernels the dense
 * layers have already built (on PoCL each CLBlast routine's first build takes tens of seconds). */
static relucl_status group_gemm(relucl_context *ctx, const char *fn, relucl_transpose ta,
                                relucl_transpose tb, const relucl_tensor *a,
                                const relucl_tensor *b, float beta, const relucl_tensor *c) {
    const relucl_tensor *all[3] = {a, b, c};
    relucl_tensor one[3];
    relucl_status status = RELUCL_OK;
    for (size_t g = 0; g < a->dims[0] && status == RELUCL_OK; g++) {
        for (int i = 0; i < 3; i++) {
            size_t rows = all[i]->dims[1], cols = all[i]->dims[2];
            one[i] = (relucl_tensor){all[i]->buffer, all[i]->offset + g * rows * cols, 2,
                                     {rows, cols, 1, 1}};
        }
        status = relucl_gemm_in(ctx, fn, 2, ta, tb, 1.0f, &one[0], &one[1], beta, &one[2]);
    }
    return status;
}

static relucl_status get_kernel(relucl_context *ctx, const char *fn, const char *name,
                                cl_kernel *out) {
    return relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_CONV, name, out);
}

/* The columns of images [n0, n0 + count) into the workspace, with the layout of conv_im2col. */
static relucl_status im2col(relucl_context *ctx, const char *fn, cl_kernel kernel,
                            const conv_geom *g, const conv_plan *pl, const relucl_tensor *x,
                            size_t n0, size_t count, int side_by_side) {
    cl_ulong xo = x->offset + n0 * pl->image, co = 0;
    cl_ulong row_step = side_by_side ? count * pl->plane : pl->plane;
    cl_ulong image_step = side_by_side ? pl->plane : pl->taps * pl->plane;
    cl_int16 geo = conv_pack(g);
    relucl_arg args[] = {RELUCL_ARG(x->buffer), RELUCL_ARG(xo),       RELUCL_ARG(ctx->workspace),
                         RELUCL_ARG(co),        RELUCL_ARG(row_step), RELUCL_ARG(image_step),
                         RELUCL_ARG(geo)};
    const size_t global[3] = {g->q, g->p, count * pl->taps};
    relucl_status status = relucl_set_args(ctx, fn, kernel, args, 7);
    return status != RELUCL_OK ? status : conv_launch(ctx, fn, kernel, 3, global);
}

/* One GEMM per chunk and group: c_g = op(a_g) b_g, with (K/g, C/g R S) filters
 * and (rows, count * P * Q) matrices side by side in the workspace. */
static relucl_status chunk_gemm(relucl_context *ctx, const char *fn, const conv_geom *g,
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
static relucl_status bias_act(relucl_context *ctx, const char *fn, cl_kernel kernel,
                              const conv_geom *g, relucl_activation act, size_t z_offset,
                              const relucl_tensor *b, const relucl_tensor *y, size_t yo,
                              size_t count) {
    cl_mem bb = b ? b->buffer : NULL;
    cl_ulong zo = z_offset, bo = b ? b->offset : 0, yoff = yo, images = count;
    cl_int has_bias = b != NULL, kind = (cl_int)act.kind;
    cl_int16 geo = conv_pack(g);
    relucl_arg args[] = {RELUCL_ARG(ctx->workspace), RELUCL_ARG(zo),   RELUCL_ARG(bb),
                         RELUCL_ARG(bo),             RELUCL_ARG(has_bias), RELUCL_ARG(y->buffer),
                         RELUCL_ARG(yoff),           RELUCL_ARG(images), RELUCL_ARG(geo),
                         RELUCL_ARG(kind),           RELUCL_ARG(act.alpha)};
    const size_t global[2] = {g->p * g->q, count * g->k};
    relucl_status status = relucl_set_args(ctx, fn, kernel, args, 11);
    return status != RELUCL_OK ? status : conv_launch(ctx, fn, kernel, 2, global);
}

relucl_status conv_gemm_forward(relucl_context *ctx, const char *fn, const conv_geom *g,
                                relucl_activation act, const relucl_tensor *x,
                                const relucl_tensor *w, const relucl_tensor *b,
                                const relucl_tensor *y) {
    cl_kernel im2col_kernel, post_kernel;
    conv_plan pl;
    relucl_status status;
    if ((status = get_kernel(ctx, fn, "conv_im2col", &im2col_kernel)) != RELUCL_OK ||
        (status = get_kernel(ctx, fn, "conv_bias_act", &post_kernel)) != RELUCL_OK ||
        (status = plan(ctx, fn, g, &pl)) != RELUCL_OK)
        return status;
    for (size_t n0 = 0; n0 < g->n && status == RELUCL_OK; n0 += pl.chunk) {
        size_t count = g->n - n0 < pl.chunk ? g->n - n0 : pl.chunk;
        size_t z_offset = pl.taps * count * pl.plane; /* after the columns */
        status = im2col(ctx, fn, im2col_kernel, g, &pl, x, n0, count, 1);
        if (status == RELUCL_OK)
            status = chunk_gemm(ctx, fn, g, &pl, RELUCL_NO_TRANS, w, 0, pl.group_taps, z_offset,
                                g->kg, count);
        if (status == RELUCL_OK)
            status = bias_act(ctx, fn, post_kernel, g, act, z_offset, b, y,
                              y->offset + n0 * pl.out, count);
    }
    return status;
}

/* The chunk's dy as one (K, count * P * Q) matrix at dy_offset in the workspace. */
static relucl_status gather_dy(relucl_context *ctx, const char *fn, cl_kernel kernel,
                               const conv_geom *g, const relucl_tensor *dy, size_t dyo,
                               size_t dy_offset, size_t count) {
    cl_ulong dyoff = dyo, oo = dy_offset, images = count;
    cl_int16 geo = conv_pack(g);
    relucl_arg args[] = {RELUCL_ARG(dy->buffer), RELUCL_ARG(dyoff),  RELUCL_ARG(ctx->workspace),
                         RELUCL_ARG(oo),         RELUCL_ARG(images), RELUCL_ARG(geo)};
    const size_t global[2] = {g->p * g->q, count * g->k};
    relucl_status status = relucl_set_args(ctx, fn, kernel, args, 6);
    return status != RELUCL_OK ? status : conv_launch(ctx, fn, kernel, 2, global);
}

static relucl_status col2im(relucl_context *ctx, const char *fn, cl_kernel kernel,
                            const conv_geom *g, const conv_plan *pl, const relucl_tensor *dx,
                            size_t dxo, size_t count) {
    cl_ulong co = 0, row_step = count * pl->plane, image_step = pl->plane, dxoff = dxo;
    cl_int16 geo = conv_pack(g);
    relucl_arg args[] = {RELUCL_ARG(ctx->workspace), RELUCL_ARG(co),         RELUCL_ARG(row_step),
                         RELUCL_ARG(image_step),     RELUCL_ARG(dx->buffer), RELUCL_ARG(dxoff),
                         RELUCL_ARG(geo)};
    const size_t global[3] = {g->w, g->h, count * g->c};
    relucl_status status = relucl_set_args(ctx, fn, kernel, args, 7);
    return status != RELUCL_OK ? status : conv_launch(ctx, fn, kernel, 3, global);
}

relucl_status conv_gemm_backward_data(relucl_context *ctx, const char *fn, const conv_geom *g,
                                      const relucl_tensor *dy, const relucl_tensor *w,
                                      const relucl_tensor *dx) {
    cl_kernel gather_kernel, col2im_kernel;
    conv_plan pl;
    relucl_status status;
    if ((status = get_kernel(ctx, fn, "conv_gather_dy", &gather_kernel)) != RELUCL_OK ||
        (status = get_kernel(ctx, fn, "conv_col2im", &col2im_kernel)) != RELUCL_OK ||
        (status = plan(ctx, fn, g, &pl)) != RELUCL_OK)
        return status;
    for (size_t n0 = 0; n0 < g->n && status == RELUCL_OK; n0 += pl.chunk) {
        size_t count = g->n - n0 < pl.chunk ? g->n - n0 : pl.chunk;
        size_t dy_offset = pl.taps * count * pl.plane; /* after the columns */
        status = gather_dy(ctx, fn, gather_kernel, g, dy, dy->offset + n0 * pl.out, dy_offset,
                           count);
        /* col_g (C/g R S, count P Q) = w_g^T dy_g */
        if (status == RELUCL_OK)
            status = chunk_gemm(ctx, fn, g, &pl, RELUCL_TRANS, w, dy_offset, g->kg, 0,
                                pl.group_taps, count);
        if (status == RELUCL_OK)
            status = col2im(ctx, fn, col2im_kernel, g, &pl, dx, dx->offset + n0 * pl.image,
                            count);
    }
    return status;
}

relucl_status conv_gemm_backward_filter(relucl_context *ctx, const char *fn, const conv_geom *g,
                                        const relucl_tensor *x, const relucl_tensor *dy,
                                        const relucl_tensor *dw, int accumulate) {
    if (g->n == 0) /* no images: the gradient is zero */
        return accumulate ? RELUCL_OK : relucl_tensor_fill(ctx, dw, 0.0f);
    cl_kernel kernel;
    conv_plan pl;
    relucl_status status;
    if ((status = get_kernel(ctx, fn, "conv_im2col", &kernel)) != RELUCL_OK ||
        (status = plan(ctx, fn, g, &pl)) != RELUCL_OK)
        return status;
    /* dw_g (K/g, C/g R S) += dy_g (K/g, P Q) x col_g^T, image after image. */
    relucl_tensor c = view(dw->buffer, dw->offset, g->groups, g->kg, pl.group_taps);
    for (size_t n0 = 0; n0 < g->n && status == RELUCL_OK; n0 += pl.chunk) {
        size_t count = g->n - n0 < pl.chunk ? g->n - n0 : pl.chunk;
        status = im2col(ctx, fn, kernel, g, &pl, x, n0, count, 0);
        for (size_t i = 0; i < count && status == RELUCL_OK; i++) {
            size_t n = n0 + i;
            relucl_tensor a = view(dy->buffer, dy->offset + n * pl.out, g->groups, g->kg,
                                   pl.plane),
                          b = view(ctx->workspace, i * pl.taps * pl.plane, g->groups,
                                   pl.group_taps, pl.plane);
            float beta = (accumulate || n > 0) ? 1.0f : 0.0f;
            status = group_gemm(ctx, fn, RELUCL_NO_TRANS, RELUCL_TRANS, &a, &b, beta, &c);
        }
    }
    return status;
}
