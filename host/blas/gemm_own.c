/* relucl's own GEMM kernels (kernels/gemm.cl), for CPU devices: CLBlast's kernels are shaped
 * for GPUs and reach about half of a CPU's speed under PoCL. gemm.c has checked the shapes. */
#include "blas/blas.h"

#include <stdlib.h>
#include <string.h>

/* Block sizes of kernels/gemm.cl: rows x columns of C per work-item. */
#define ROWS_MR 8
#define ROWS_NR 32
#define DOTS 4

static size_t blocks(size_t n, size_t block) { return (n + block - 1) / block; }

int relucl__gemm_own_wanted(relucl_context *ctx, relucl_transpose ta, relucl_transpose tb) {
    if (ctx->gemm_own == 0) {
        const char *choice = getenv("RELUCL_GEMM");
        cl_device_type type = 0;
        clGetDeviceInfo(ctx->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
        if (choice && !strcmp(choice, "clblast"))
            ctx->gemm_own = -1;
        else if (choice && !strcmp(choice, "relucl"))
            ctx->gemm_own = 1;
        else
            ctx->gemm_own = (type & CL_DEVICE_TYPE_CPU) ? 1 : -1;
    }
    /* op(a) = a^T with op(b) = b^T has neither operand contiguous the way a kernel wants. */
    return ctx->gemm_own > 0 && !(ta == RELUCL_TRANS && tb == RELUCL_TRANS);
}

relucl_status relucl__gemm_own(relucl_context *ctx, const char *fn, relucl_transpose ta,
                               relucl_transpose tb, float alpha, const relucl_tensor *a,
                               const relucl_tensor *b, float beta, const relucl_tensor *c,
                               size_t m, size_t n, size_t k, size_t batch, size_t a_batch,
                               size_t b_batch) {
    size_t a_cols = a->dims[a->ndim - 1], b_cols = b->dims[b->ndim - 1];
    relucl__range range = {3, {0, 0, batch}, {1, 1, 1}};
    if (tb == RELUCL_TRANS) { /* op(a) = a: both run along k */
        range.global[0] = blocks(n, DOTS);
        range.global[1] = blocks(m, DOTS);
        return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_GEMM, "gemm_dots", range,
                              RELUCL__TENSOR(a), RELUCL__ULONG(a_cols), RELUCL__ULONG(a_batch),
                              RELUCL__TENSOR(b), RELUCL__ULONG(b_cols), RELUCL__ULONG(b_batch),
                              RELUCL__TENSOR(c), RELUCL__ULONG(n), RELUCL__ULONG(m),
                              RELUCL__ULONG(n), RELUCL__ULONG(k), RELUCL__FLOAT(alpha),
                              RELUCL__FLOAT(beta));
    }
    /* Element (i, p) of op(a): a[i * a_cols + p], or a[p * a_cols + i] for a^T. */
    size_t a_row = ta == RELUCL_TRANS ? 1 : a_cols, a_col = ta == RELUCL_TRANS ? a_cols : 1;
    range.global[0] = blocks(n, ROWS_NR);
    range.global[1] = blocks(m, ROWS_MR);
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_GEMM, "gemm_rows", range, RELUCL__TENSOR(a),
                          RELUCL__ULONG(a_row), RELUCL__ULONG(a_col), RELUCL__ULONG(a_batch),
                          RELUCL__TENSOR(b), RELUCL__ULONG(b_cols), RELUCL__ULONG(b_batch),
                          RELUCL__TENSOR(c), RELUCL__ULONG(n), RELUCL__ULONG(m), RELUCL__ULONG(n),
                          RELUCL__ULONG(k), RELUCL__FLOAT(alpha), RELUCL__FLOAT(beta));
}
