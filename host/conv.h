/* Convolution internals shared by conv.c (validation, the direct kernels, the workspace) and
 * conv_gemm.c (the im2col + CLBlast path). */
#ifndef RELUCL_CONV_H
#define RELUCL_CONV_H

#include "internal.h"

/* The checked geometry of one convolution: x (n, c, h, w), w (k, c / groups, r, s),
 * y (n, k, p, q). Every value is at most INT_MAX, so the kernels can take them as ints. */
typedef struct conv_geom {
    size_t n, c, h, w, k, r, s, p, q, groups, cg, kg;
    size_t stride[2], pad[2], dil[2];
} conv_geom;

/* The geometry as the kernels take it (an int16, see kernels/conv.cl). */
cl_int16 conv_pack(const conv_geom *g);

/* Enqueues kernel over global[0] x ... x global[dims - 1] work-items (dims 1 to 3); the first
 * two extents are rounded up to whole work-groups and the kernel skips the tail. Nothing when
 * any extent is 0. */
relucl_status conv_launch(relucl_context *ctx, const char *fn, cl_kernel kernel, cl_uint dims,
                          const size_t *global);

/* Floats of workspace one image needs on the GEMM path: its columns (C R S x P Q) and the
 * GEMM's other operand or result (K x P Q); SIZE_MAX when the count overflows. */
size_t conv_scratch_floats(const conv_geom *g);
/* Images per chunk on the GEMM path under a workspace limit of `limit` bytes: as many as fit,
 * up to a chunk of about 32 MiB, at least 1 (0 when one image does not fit). */
size_t conv_chunk_images(const conv_geom *g, size_t limit);
/* The workspace cap in bytes: the limit set (or the default), but no more than the device's
 * largest single allocation. */
size_t conv_workspace_limit(const relucl_context *ctx);

/* The GEMM path (conv_gemm.c), run after every argument has been checked, including that one
 * image's scratch fits the workspace limit. The bias gradient is conv.c's, for both paths. */
relucl_status conv_gemm_forward(relucl_context *ctx, const char *fn, const conv_geom *g,
                                relucl_activation act, const relucl_tensor *x,
                                const relucl_tensor *w, const relucl_tensor *b,
                                const relucl_tensor *y);
relucl_status conv_gemm_backward_data(relucl_context *ctx, const char *fn, const conv_geom *g,
                                      const relucl_tensor *dy, const relucl_tensor *w,
                                      const relucl_tensor *dx);
relucl_status conv_gemm_backward_filter(relucl_context *ctx, const char *fn, const conv_geom *g,
                                        const relucl_tensor *x, const relucl_tensor *dy,
                                        const relucl_tensor *dw, int accumulate);

#endif /* RELUCL_CONV_H */
