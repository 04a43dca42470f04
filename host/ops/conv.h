/* Convolution internals shared by conv.c (the public calls, the algorithm choice and the
 * direct kernels), conv_gemm.c (the im2col + CLBlast path) and conv_geometry.c (shapes).
 * Dependencies point conv.c -> conv_gemm.c -> conv_geometry.c. */
#ifndef RELUCL_OPS_CONV_H
#define RELUCL_OPS_CONV_H

#include "ops/ops.h"

/* The checked geometry of one convolution: x (n, c, h, w), w (k, c / groups, r, s),
 * y (n, k, p, q). Every value is at most INT_MAX, so the kernels can take them as ints. */
typedef struct relucl__conv_geom {
    size_t n, c, h, w, k, r, s, p, q, groups, cg, kg;
    size_t stride[2], pad[2], dil[2];
} relucl__conv_geom;

/* ---- conv_geometry.c ---- */
/* The image operand (x or dx, (N, C, H, W)) and the filters (w or dw, (K, C / groups, R, S))
 * under conv give the geometry. */
relucl_status relucl__conv_check_operands(relucl_context *ctx, const char *fn,
                                          const relucl_conv2d *conv, const char *x_name,
                                          const relucl_tensor *x, const char *w_name,
                                          const relucl_tensor *w, relucl__conv_geom *g);
/* The geometry of plain dims, for relucl_conv2d_output_dims. */
relucl_status relucl__conv_check_dims(relucl_context *ctx, const char *fn,
                                      const relucl_conv2d *conv, const size_t *x_dims,
                                      const size_t *w_dims, relucl__conv_geom *g);
/* The output-shaped operand (y or dy) is (N, K, P, Q). */
relucl_status relucl__conv_check_output(relucl_context *ctx, const char *fn, const char *name,
                                        const relucl_tensor *t, const relucl__conv_geom *g);
/* A bias or its gradient: K elements, any ndim. */
relucl_status relucl__conv_check_bias(relucl_context *ctx, const char *fn, const char *name,
                                      const relucl_tensor *t, const relucl__conv_geom *g);
/* The geometry as the kernels take it (an int16, see kernels/conv.cl). */
cl_int16 relucl__conv_pack(const relucl__conv_geom *g);
/* Floats of workspace one image needs on the GEMM path: its columns (C R S x P Q) and the
 * GEMM's other operand or result (K x P Q); SIZE_MAX when the count overflows. */
size_t relucl__conv_scratch_floats(const relucl__conv_geom *g);
/* The scratch a chunk of images aims at on ctx's device: 32 MiB on GPUs, 4 MiB on CPU devices
 * (conv_geometry.c says why). */
size_t relucl__conv_chunk_target(const relucl_context *ctx);
/* Images per chunk on the GEMM path under a workspace limit of `limit` bytes: as many as fit,
 * up to a chunk of about target_bytes, at least 1 (0 when one image does not fit). */
size_t relucl__conv_chunk_images(const relucl__conv_geom *g, size_t limit, size_t target_bytes);
/* The workspace cap in bytes: the limit set (or the default), but no more than the device's
 * largest single allocation. */
size_t relucl__conv_workspace_limit(const relucl_context *ctx);

/* ---- conv_gemm.c: the GEMM path, run after every argument has been checked, including that
 * one image's scratch fits the workspace limit. The bias gradient is conv.c's, for both. ---- */
relucl_status relucl__conv_gemm_forward(relucl_context *ctx, const char *fn,
                                        const relucl__conv_geom *g, relucl_activation act,
                                        const relucl_tensor *x, const relucl_tensor *w,
                                        const relucl_tensor *b, const relucl_tensor *y);
relucl_status relucl__conv_gemm_backward_data(relucl_context *ctx, const char *fn,
                                              const relucl__conv_geom *g, const relucl_tensor *dy,
                                              const relucl_tensor *w, const relucl_tensor *dx);
relucl_status relucl__conv_gemm_backward_filter(relucl_context *ctx, const char *fn,
                                                const relucl__conv_geom *g, const relucl_tensor *x,
                                                const relucl_tensor *dy, const relucl_tensor *dw,
                                                int accumulate);

/* A convolution kernel over 1 to 3 dims of work-items (relucl__range_shaped groups). */
#define RELUCL__CONV_LAUNCH(ctx, fn, kernel, dims, global, ...)                                    \
    RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_CONV, kernel, relucl__range_shaped(ctx, dims, global),  \
                   __VA_ARGS__)

#endif /* RELUCL_OPS_CONV_H */
