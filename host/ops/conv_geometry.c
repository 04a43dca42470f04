/* Convolution shapes: the checks of every operand's geometry, the packed form the kernels
 * take, and the workspace sizes of the GEMM path. */
#include "ops/conv.h"

#include <limits.h>
#include <stdint.h>

#define DEFAULT_WORKSPACE_LIMIT ((size_t)256 << 20)

size_t relucl__conv_workspace_limit(const relucl_context *ctx) {
    size_t limit = ctx->workspace_limit ? ctx->workspace_limit : DEFAULT_WORKSPACE_LIMIT;
    if (ctx->max_alloc > 0 && ctx->max_alloc < limit) /* one buffer can be no larger */
        limit = (size_t)ctx->max_alloc;
    return limit;
}

cl_int16 relucl__conv_pack(const relucl__conv_geom *g) {
    const size_t v[16] = {g->c,      g->h,      g->w,      g->k,     g->r,         g->s,
                          g->p,      g->q,      g->cg,     g->kg,    g->stride[0], g->stride[1],
                          g->pad[0], g->pad[1], g->dil[0], g->dil[1]};
    cl_int16 out;
    for (int i = 0; i < 16; i++)
        out.s[i] = (cl_int)v[i]; /* each checked <= INT_MAX by check_geometry */
    return out;
}

/* Every size the kernels see must fit an int (see kernels/conv.cl). */
static relucl_status check_int(relucl_context *ctx, const char *fn, relucl_status status,
                               const char *name, int index, size_t v) {
    if (v <= (size_t)INT_MAX)
        return RELUCL_OK;
    return relucl__fail(ctx, status, fn, "%s[%d] is %zu, more than INT_MAX (%d)", name, index, v,
                        INT_MAX);
}

/* One axis: the output extent for input extent `in`, or 0 after recording why there is none. */
static size_t output_extent(relucl_context *ctx, const char *fn, const relucl_conv2d *conv,
                            int axis, size_t in, size_t taps, const char *w_name) {
    static const char *const what[2] = {"rows", "columns"};
    unsigned long long padded = (unsigned long long)in + 2ull * conv->pad[axis];
    unsigned long long extent = (unsigned long long)conv->dilation[axis] * (taps - 1) + 1;
    if (extent > padded) {
        relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                     "%s: the filter spans %llu %s (dilation %zu), more than the %llu of the "
                     "padded input (%zu + 2 * conv->pad[%d])",
                     w_name, extent, what[axis], conv->dilation[axis], padded, in, axis);
        return 0;
    }
    unsigned long long out = (padded - extent) / conv->stride[axis] + 1;
    if (out > (unsigned long long)INT_MAX) {
        relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "the output has %llu %s, more than INT_MAX", out,
                     what[axis]);
        return 0;
    }
    return (size_t)out;
}

/* conv's own numbers: strides, dilations and groups at least 1, and all of them (padding
 * too) within an int. */
static relucl_status check_params(relucl_context *ctx, const char *fn, const relucl_conv2d *conv) {
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT;
    if (!conv)
        return relucl__fail(ctx, bad, fn, "conv is NULL");
    for (int i = 0; i < 2; i++) {
        if (conv->stride[i] == 0)
            return relucl__fail(ctx, bad, fn, "conv->stride[%d] is 0, must be >= 1", i);
        if (conv->dilation[i] == 0)
            return relucl__fail(ctx, bad, fn, "conv->dilation[%d] is 0, must be >= 1", i);
    }
    if (conv->groups == 0)
        return relucl__fail(ctx, bad, fn, "conv->groups is 0, must be >= 1");
    for (int i = 0; i < 2; i++) {
        RELUCL__TRY(check_int(ctx, fn, bad, "conv->stride", i, conv->stride[i]));
        RELUCL__TRY(check_int(ctx, fn, bad, "conv->pad", i, conv->pad[i]));
        RELUCL__TRY(check_int(ctx, fn, bad, "conv->dilation", i, conv->dilation[i]));
    }
    if (conv->groups > (size_t)INT_MAX)
        return relucl__fail(ctx, bad, fn, "conv->groups is %zu, more than INT_MAX", conv->groups);
    return RELUCL_OK;
}

/* The geometry of x_dims (N, C, H, W) under filters w_dims (K, C / groups, R, S). */
static relucl_status check_geometry(relucl_context *ctx, const char *fn, const relucl_conv2d *conv,
                                    const char *x_name, const size_t *xd, const char *w_name,
                                    const size_t *wd, relucl__conv_geom *g) {
    RELUCL__TRY(check_params(ctx, fn, conv));
    for (int i = 0; i < 4; i++) {
        RELUCL__TRY(check_int(ctx, fn, RELUCL_ERROR_SHAPE, x_name, i, xd[i]));
        RELUCL__TRY(check_int(ctx, fn, RELUCL_ERROR_SHAPE, w_name, i, wd[i]));
    }
    *g = (relucl__conv_geom){.n = xd[0],
                             .c = xd[1],
                             .h = xd[2],
                             .w = xd[3],
                             .k = wd[0],
                             .r = wd[2],
                             .s = wd[3],
                             .groups = conv->groups};
    if (g->c % g->groups != 0)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "conv->groups (%zu) does not divide the %zu channels of %s", g->groups,
                            g->c, x_name);
    if (g->k % g->groups != 0)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "conv->groups (%zu) does not divide the %zu filters of %s", g->groups,
                            g->k, w_name);
    g->cg = g->c / g->groups;
    g->kg = g->k / g->groups;
    if (wd[1] != g->cg)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "%s has %zu channels per filter (dims[1]), must be C / groups = %zu / "
                            "%zu = %zu",
                            w_name, wd[1], g->c, g->groups, g->cg);
    if (g->r == 0 || g->s == 0)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "%s: the filter is %zu x %zu, must be at "
                            "least 1 x 1",
                            w_name, g->r, g->s);
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

relucl_status relucl__conv_check_dims(relucl_context *ctx, const char *fn,
                                      const relucl_conv2d *conv, const size_t *x_dims,
                                      const size_t *w_dims, relucl__conv_geom *g) {
    return check_geometry(ctx, fn, conv, "x_dims", x_dims, "w_dims", w_dims, g);
}

static relucl_status check_4d(relucl_context *ctx, const char *fn, const char *name,
                              const relucl_tensor *t, const char *layout) {
    size_t n;
    relucl_status status = relucl__check_tensor(ctx, fn, name, t, &n);
    if (status == RELUCL_OK && t->ndim != 4)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s has ndim %d, must be 4 %s", name,
                            t->ndim, layout);
    return status;
}

/* The image operand (x or dx) and the filters (w or dw) give the geometry. */
relucl_status relucl__conv_check_operands(relucl_context *ctx, const char *fn,
                                          const relucl_conv2d *conv, const char *x_name,
                                          const relucl_tensor *x, const char *w_name,
                                          const relucl_tensor *w, relucl__conv_geom *g) {
    relucl_status status;
    if ((status = check_4d(ctx, fn, x_name, x, "(N, C, H, W)")) != RELUCL_OK ||
        (status = check_4d(ctx, fn, w_name, w, "(K, C / groups, R, S)")) != RELUCL_OK)
        return status;
    return check_geometry(ctx, fn, conv, x_name, x->dims, w_name, w->dims, g);
}

/* The output-shaped operand (y or dy) must be (N, K, P, Q). */
relucl_status relucl__conv_check_output(relucl_context *ctx, const char *fn, const char *name,
                                        const relucl_tensor *t, const relucl__conv_geom *g) {
    relucl_status status = check_4d(ctx, fn, name, t, "(N, K, P, Q)");
    if (status != RELUCL_OK)
        return status;
    const size_t want[4] = {g->n, g->k, g->p, g->q};
    for (int i = 0; i < 4; i++)
        if (t->dims[i] != want[i])
            return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                                "%s is %zu x %zu x %zu x %zu, must be %zu x %zu x %zu x %zu "
                                "(N, K, P, Q)",
                                name, t->dims[0], t->dims[1], t->dims[2], t->dims[3], want[0],
                                want[1], want[2], want[3]);
    return RELUCL_OK;
}

/* A bias or its gradient: K elements, any ndim. */
relucl_status relucl__conv_check_bias(relucl_context *ctx, const char *fn, const char *name,
                                      const relucl_tensor *t, const relucl__conv_geom *g) {
    size_t n;
    relucl_status status = relucl__check_tensor(ctx, fn, name, t, &n);
    if (status == RELUCL_OK && n != g->k)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s has %zu elements, must be K = %zu",
                            name, n, g->k);
    return status;
}

static size_t mul_sat(size_t a, size_t b) {
    return (a != 0 && b > SIZE_MAX / a) ? SIZE_MAX : a * b;
}

size_t relucl__conv_scratch_floats(const relucl__conv_geom *g) {
    size_t taps = mul_sat(g->c, g->r * g->s), plane = g->p * g->q;
    if (taps == SIZE_MAX || g->k > SIZE_MAX - taps)
        return SIZE_MAX;
    return mul_sat(taps + g->k, plane);
}

/* A chunk's scratch stays near this size even when the limit allows more. GPUs (CLBlast):
 * on PoCL chunks of 8 to 32 MiB ran a 64-image 56x56 layer twice as fast as one 256 MiB
 * chunk (CLBlast copies large operands into temporary buffers of its own), and for small
 * images 32 MiB already holds the whole GEMM a fast CLBlast kernel needs. CPU devices
 * (relucl's own GEMM): a chunk's columns written by im2col, or by the data gradient's GEMM,
 * are still in the caches when the next kernel reads them: the CNN preset's step on PoCL
 * (AVX-512, 2 cores), in turns with 32 MiB chunks, went from 32.7-36.4 ms to 27.9-31.9 with
 * 4 MiB (col2im 2.8-4.2 -> 1.1-1.7 ms, the GEMMs 19.4-24.6 -> 16.5-19.1); 2 and 8 MiB came
 * out alike, and are as plausible for other caches. */
#define CHUNK_TARGET_GPU ((size_t)32 << 20)
#define CHUNK_TARGET_CPU ((size_t)4 << 20)

size_t relucl__conv_chunk_target(const relucl_context *ctx) {
    return ctx->wide ? CHUNK_TARGET_CPU : CHUNK_TARGET_GPU;
}

size_t relucl__conv_chunk_images(const relucl__conv_geom *g, size_t limit,
                                 size_t target_bytes) {
    size_t floats = relucl__conv_scratch_floats(g);
    if (floats == 0)
        return g->n;
    if (floats > limit / sizeof(float))
        return 0;
    size_t per_image = floats * sizeof(float), fit = limit / per_image,
           target = target_bytes / per_image;
    if (target < 1)
        target = 1;
    fit = fit < target ? fit : target;
    return fit < g->n ? fit : g->n;
}
