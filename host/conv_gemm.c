/* The GEMM algorithm: im2col into the context's workspace, CLBlast, then col2im or the fused
 * bias-and-activation pass. Each image's im2col matrix is (C * R * S, P * Q); group i uses
 * its rows [i * C/groups * R * S, (i + 1) * C/groups * R * S). Images go through in chunks
 * sized so the scratch stays under the workspace limit; a chunk gives the same bits as a
 * whole batch, since every GEMM works on one image's matrices either way. */
#include "conv.h"

#include <stdint.h>

static size_t mul_sat(size_t a, size_t b) {
    return (a != 0 && b > SIZE_MAX / a) ? SIZE_MAX : a * b;
}

size_t conv_col_floats(const conv_geom *g) {
    if (g->r == 1 && g->s == 1 && g->stride[0] == 1 && g->stride[1] == 1 && g->pad[0] == 0 &&
        g->pad[1] == 0)
        return 0;
    return mul_sat(mul_sat(mul_sat(g->c, g->r * g->s), g->p), g->q);
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

/* The images per chunk (the caller made sure one fits) and their scratch, reserved. */
static relucl_status plan(relucl_context *ctx, const char *fn, const conv_geom *g,
                          size_t *chunk) {
    size_t col = conv_col_floats(g);
    *chunk = g->n;
    if (col == 0)
        return RELUCL_OK;
    size_t fit = conv_workspace_limit(ctx) / (col * sizeof(float));
    if (fit < *chunk)
        *chunk = fit;
    return reserve(ctx, fn, *chunk * col * sizeof(float));
}

static relucl_tensor view(cl_mem buffer, size_t offset, int ndim, size_t d0, size_t d1,
                          size_t d2) {
    relucl_tensor t = {buffer, offset, ndim, {d0, d1, d2, 1}};
    if (ndim == 2) {
        t.dims[0] = d1;
        t.dims[1] = d2;
        t.dims[2] = 1;
    }
    return t;
}

/* Per-image sizes, in floats. */
typedef struct conv_sizes {
    size_t image, col, out, group_rows, plane;
} conv_sizes;

static conv_sizes sizes_of(const conv_geom *g) {
    conv_sizes z;
    z.plane = g->p * g->q;
    z.image = g->c * g->h * g->w;
    z.group_rows = g->cg * g->r * g->s;
    z.col = g->c * g->r * g->s * z.plane;
    z.out = g->k * z.plane;
    return z;
}

static relucl_status get_kernel(relucl_context *ctx, const char *fn, int wanted, const char *name,
                                cl_kernel *out) {
    *out = NULL;
    return wanted ? relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_CONV, name, out) : RELUCL_OK;
}

/* Images [n0, n0 + count) of x, at element offset xo of its buffer, into the workspace. */
static relucl_status im2col(relucl_context *ctx, const char *fn, cl_kernel kernel,
                            const conv_geom *g, cl_mem x, size_t xo, size_t count) {
    cl_ulong xoff = xo, co = 0;
    cl_int16 geo = conv_pack(g);
    relucl_arg args[] = {RELUCL_ARG(x), RELUCL_ARG(xoff), RELUCL_ARG(ctx->workspace),
                         RELUCL_ARG(co), RELUCL_ARG(geo)};
    const size_t global[3] = {g->q, g->p, count * g->c * g->r * g->s};
    relucl_status status = relucl_set_args(ctx, fn, kernel, args, 5);
    return status != RELUCL_OK ? status : conv_launch(ctx, fn, kernel, 3, global);
}

/* The im2col matrices of images [n0, n0 + count): the workspace, or x itself for a 1x1
 * filter with stride 1 and no padding. */
static relucl_status columns(relucl_context *ctx, const char *fn, cl_kernel kernel,
                             const conv_geom *g, const relucl_tensor *x, size_t n0, size_t count,
                             cl_mem *buffer, size_t *offset) {
    size_t xo = x->offset + n0 * sizes_of(g).image;
    if (!kernel) {
        *buffer = x->buffer;
        *offset = xo;
        return RELUCL_OK;
    }
    *buffer = ctx->workspace;
    *offset = 0;
    return im2col(ctx, fn, kernel, g, x->buffer, xo, count);
}

/* y for `count` images from their columns: w_g (K/g, C/g R S) x col_g (C/g R S, P Q). With one
 * group the filters are shared by a strided batch over the images; with more, each image is a
 * batch over its groups. */
static relucl_status forward_gemm(relucl_context *ctx, const char *fn, const conv_geom *g,
                                  const relucl_tensor *w, cl_mem col, size_t co,
                                  const relucl_tensor *y, size_t yo, size_t count) {
    conv_sizes z = sizes_of(g);
    relucl_status status = RELUCL_OK;
    if (g->groups == 1) {
        relucl_tensor a = view(w->buffer, w->offset, 3, 1, g->k, z.group_rows),
                      b = view(col, co, 3, count, z.group_rows, z.plane),
                      c = view(y->buffer, yo, 3, count, g->k, z.plane);
        return relucl_gemm_in(ctx, fn, 3, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &a, &b, 0.0f,
                              &c);
    }
    relucl_tensor a = view(w->buffer, w->offset, 3, g->groups, g->kg, z.group_rows);
    for (size_t i = 0; i < count && status == RELUCL_OK; i++) {
        relucl_tensor b = view(col, co + i * z.col, 3, g->groups, z.group_rows, z.plane),
                      c = view(y->buffer, yo + i * z.out, 3, g->groups, g->kg, z.plane);
        status = relucl_gemm_in(ctx, fn, 3, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &a, &b, 0.0f,
                                &c);
    }
    return status;
}

static relucl_status bias_act(relucl_context *ctx, const char *fn, cl_kernel kernel,
                              const conv_geom *g, relucl_activation act, const relucl_tensor *b,
                              const relucl_tensor *y) {
    cl_mem bb = b ? b->buffer : NULL;
    cl_ulong yo = y->offset, bo = b ? b->offset : 0, rows = g->n * g->k;
    cl_int has_bias = b != NULL, kind = (cl_int)act.kind;
    cl_int16 geo = conv_pack(g);
    relucl_arg args[] = {RELUCL_ARG(y->buffer), RELUCL_ARG(yo),       RELUCL_ARG(bb),
                         RELUCL_ARG(bo),        RELUCL_ARG(has_bias), RELUCL_ARG(rows),
                         RELUCL_ARG(geo),       RELUCL_ARG(kind),     RELUCL_ARG(act.alpha)};
    const size_t global[2] = {g->p * g->q, g->n * g->k};
    relucl_status status = relucl_set_args(ctx, fn, kernel, args, 9);
    return status != RELUCL_OK ? status : conv_launch(ctx, fn, kernel, 2, global);
}

relucl_status conv_gemm_forward(relucl_context *ctx, const char *fn, const conv_geom *g,
                                relucl_activation act, const relucl_tensor *x,
                                const relucl_tensor *w, const relucl_tensor *b,
                                const relucl_tensor *y) {
    cl_kernel im2col_kernel, post_kernel;
    size_t chunk = 0;
    conv_sizes z = sizes_of(g);
    relucl_status status;
    if ((status = get_kernel(ctx, fn, conv_col_floats(g) != 0, "conv_im2col", &im2col_kernel)) !=
            RELUCL_OK ||
        (status = get_kernel(ctx, fn, b || act.kind != RELUCL_IDENTITY, "conv_bias_act",
                             &post_kernel)) != RELUCL_OK ||
        (status = plan(ctx, fn, g, &chunk)) != RELUCL_OK)
        return status;
    for (size_t n0 = 0; n0 < g->n && status == RELUCL_OK; n0 += chunk) {
        size_t count = g->n - n0 < chunk ? g->n - n0 : chunk, co;
        cl_mem col;
        status = columns(ctx, fn, im2col_kernel, g, x, n0, count, &col, &co);
        if (status == RELUCL_OK)
            status = forward_gemm(ctx, fn, g, w, col, co, y, y->offset + n0 * z.out, count);
    }
    if (status == RELUCL_OK && post_kernel)
        status = bias_act(ctx, fn, post_kernel, g, act, b, y);
    return status;
}

/* The columns' gradient for `count` images: w_g^T (C/g R S, K/g) x dy_g (K/g, P Q). */
static relucl_status data_gemm(relucl_context *ctx, const char *fn, const conv_geom *g,
                               const relucl_tensor *dy, size_t dyo, const relucl_tensor *w,
                               cl_mem col, size_t co, size_t count) {
    conv_sizes z = sizes_of(g);
    relucl_status status = RELUCL_OK;
    if (g->groups == 1) {
        relucl_tensor a = view(w->buffer, w->offset, 3, 1, g->k, z.group_rows),
                      b = view(dy->buffer, dyo, 3, count, g->k, z.plane),
                      c = view(col, co, 3, count, z.group_rows, z.plane);
        return relucl_gemm_in(ctx, fn, 3, RELUCL_TRANS, RELUCL_NO_TRANS, 1.0f, &a, &b, 0.0f, &c);
    }
    relucl_tensor a = view(w->buffer, w->offset, 3, g->groups, g->kg, z.group_rows);
    for (size_t i = 0; i < count && status == RELUCL_OK; i++) {
        relucl_tensor b = view(dy->buffer, dyo + i * z.out, 3, g->groups, g->kg, z.plane),
                      c = view(col, co + i * z.col, 3, g->groups, z.group_rows, z.plane);
        status = relucl_gemm_in(ctx, fn, 3, RELUCL_TRANS, RELUCL_NO_TRANS, 1.0f, &a, &b, 0.0f, &c);
    }
    return status;
}

static relucl_status col2im(relucl_context *ctx, const char *fn, cl_kernel kernel,
                            const conv_geom *g, const relucl_tensor *dx, size_t dxo,
                            size_t count) {
    cl_ulong co = 0, dxoff = dxo;
    cl_int16 geo = conv_pack(g);
    relucl_arg args[] = {RELUCL_ARG(ctx->workspace), RELUCL_ARG(co), RELUCL_ARG(dx->buffer),
                         RELUCL_ARG(dxoff), RELUCL_ARG(geo)};
    const size_t global[3] = {g->w, g->h, count * g->c};
    relucl_status status = relucl_set_args(ctx, fn, kernel, args, 5);
    return status != RELUCL_OK ? status : conv_launch(ctx, fn, kernel, 3, global);
}

relucl_status conv_gemm_backward_data(relucl_context *ctx, const char *fn, const conv_geom *g,
                                      const relucl_tensor *dy, const relucl_tensor *w,
                                      const relucl_tensor *dx) {
    cl_kernel kernel;
    size_t chunk = 0;
    conv_sizes z = sizes_of(g);
    relucl_status status;
    if ((status = get_kernel(ctx, fn, conv_col_floats(g) != 0, "conv_col2im", &kernel)) !=
            RELUCL_OK ||
        (status = plan(ctx, fn, g, &chunk)) != RELUCL_OK)
        return status;
    for (size_t n0 = 0; n0 < g->n && status == RELUCL_OK; n0 += chunk) {
        size_t count = g->n - n0 < chunk ? g->n - n0 : chunk, dxo = dx->offset + n0 * z.image;
        /* A 1x1 filter's columns are the image's gradient itself. */
        cl_mem col = kernel ? ctx->workspace : dx->buffer;
        size_t co = kernel ? 0 : dxo;
        status = data_gemm(ctx, fn, g, dy, dy->offset + n0 * z.out, w, col, co, count);
        if (status == RELUCL_OK && kernel)
            status = col2im(ctx, fn, kernel, g, dx, dxo, count);
    }
    return status;
}

relucl_status conv_gemm_backward_filter(relucl_context *ctx, const char *fn, const conv_geom *g,
                                        const relucl_tensor *x, const relucl_tensor *dy,
                                        const relucl_tensor *dw, int accumulate) {
    if (g->n == 0) /* no images: the gradient is zero */
        return accumulate ? RELUCL_OK : relucl_tensor_fill(ctx, dw, 0.0f);
    cl_kernel kernel;
    size_t chunk = 0;
    conv_sizes z = sizes_of(g);
    relucl_status status;
    if ((status = get_kernel(ctx, fn, conv_col_floats(g) != 0, "conv_im2col", &kernel)) !=
            RELUCL_OK ||
        (status = plan(ctx, fn, g, &chunk)) != RELUCL_OK)
        return status;
    /* dw_g (K/g, C/g R S) += dy_g (K/g, P Q) x col_g^T, image after image: a fixed order. */
    int ndim = g->groups == 1 ? 2 : 3;
    relucl_tensor c = view(dw->buffer, dw->offset, ndim, g->groups, g->kg, z.group_rows);
    for (size_t n0 = 0; n0 < g->n && status == RELUCL_OK; n0 += chunk) {
        size_t count = g->n - n0 < chunk ? g->n - n0 : chunk, co;
        cl_mem col;
        status = columns(ctx, fn, kernel, g, x, n0, count, &col, &co);
        for (size_t i = 0; i < count && status == RELUCL_OK; i++) {
            size_t n = n0 + i;
            relucl_tensor a = view(dy->buffer, dy->offset + n * z.out, ndim, g->groups, g->kg,
                                   z.plane),
                          b = view(col, co + i * z.col, ndim, g->groups, z.group_rows, z.plane);
            float beta = (accumulate || n > 0) ? 1.0f : 0.0f;
            status = relucl_gemm_in(ctx, fn, ndim, RELUCL_NO_TRANS, RELUCL_TRANS, 1.0f, &a, &b,
                                    beta, &c);
        }
    }
    return status;
}
