/* Matrix multiply: shapes are checked here, then CLBlast or relucl's own kernels run it. */
#include "blas/blas.h"

#include <clblast_c.h>

static CLBlastTranspose to_clblast(relucl_transpose t) {
    return t == RELUCL_TRANS ? CLBlastTransposeYes : CLBlastTransposeNo;
}

/* The (rows, cols) of op(t), t's last two dims. */
static void op_shape(const relucl_tensor *t, relucl_transpose trans, size_t *rows, size_t *cols) {
    size_t r = t->dims[t->ndim - 2], c = t->dims[t->ndim - 1];
    *rows = trans == RELUCL_TRANS ? c : r;
    *cols = trans == RELUCL_TRANS ? r : c;
}

typedef struct gemm_shape {
    size_t m, n, k, batch, a_stride, b_stride;
} gemm_shape;

static relucl_status check_gemm(relucl_context *ctx, const char *fn, int ndim, relucl_transpose ta,
                                relucl_transpose tb, float alpha, float beta,
                                const relucl_tensor *a, const relucl_tensor *b,
                                const relucl_tensor *c, gemm_shape *s) {
    size_t na, nb, nc;
    relucl_status status = relucl__check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    if (ta != RELUCL_NO_TRANS && ta != RELUCL_TRANS)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "trans_a is %d", (int)ta);
    if (tb != RELUCL_NO_TRANS && tb != RELUCL_TRANS)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "trans_b is %d", (int)tb);
    if ((status = relucl__check_param(ctx, fn, "alpha", alpha, 0)) != RELUCL_OK ||
        (status = relucl__check_param(ctx, fn, "beta", beta, 0)) != RELUCL_OK ||
        (status = relucl__check_tensor(ctx, fn, "a", a, &na)) != RELUCL_OK ||
        (status = relucl__check_tensor(ctx, fn, "b", b, &nb)) != RELUCL_OK ||
        (status = relucl__check_tensor(ctx, fn, "c", c, &nc)) != RELUCL_OK)
        return status;
    const relucl_tensor *all[3] = {a, b, c};
    const char *names[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        if (all[i]->ndim != ndim)
            return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s has ndim %d, expected %d",
                                names[i], all[i]->ndim, ndim);
    size_t am, ak, bk, bn;
    op_shape(a, ta, &am, &ak);
    op_shape(b, tb, &bk, &bn);
    if (ak != bk)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "op(a) is %zu x %zu but op(b) is %zu x %zu: inner sizes differ", am, ak,
                            bk, bn);
    if (c->dims[ndim - 2] != am || c->dims[ndim - 1] != bn)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "c is %zu x %zu, op(a) op(b) is %zu x %zu",
                            c->dims[ndim - 2], c->dims[ndim - 1], am, bn);
    s->m = am;
    s->n = bn;
    s->k = ak;
    s->batch = ndim == 3 ? c->dims[0] : 1;
    s->a_stride = a->dims[ndim - 2] * a->dims[ndim - 1];
    s->b_stride = b->dims[ndim - 2] * b->dims[ndim - 1];
    if (ndim == 3) {
        for (int i = 0; i < 2; i++)
            if (all[i]->dims[0] != s->batch && all[i]->dims[0] != 1)
                return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                                    "%s has batch %zu, c has %zu (only 1 broadcasts)", names[i],
                                    all[i]->dims[0], s->batch);
        if (a->dims[0] == 1)
            s->a_stride = 0;
        if (b->dims[0] == 1)
            s->b_stride = 0;
    }
    if ((status = relucl__check_overlap(ctx, fn, "c", c, "a", a, 0)) != RELUCL_OK)
        return status;
    return relucl__check_overlap(ctx, fn, "c", c, "b", b, 0);
}

/* k == 0 leaves c = beta * c, which CLBlast does not accept as a GEMM; c is contiguous
 * (ldc is its row length), so one SCAL covers every batch. beta 0 writes zeros, as a GEMM
 * would, even over NaN. */
static relucl_status scale_c(relucl_context *ctx, const char *fn, const relucl_tensor *c,
                             float beta) {
    if (beta == 0.0f)
        return relucl_tensor_fill(ctx, c, 0.0f);
    relucl__clblast_lock(0);
    CLBlastStatusCode code =
        CLBlastSscal(relucl_tensor_count(c), beta, c->buffer, c->offset, 1, &ctx->queue, NULL);
    relucl__clblast_unlock();
    return relucl__blas_status(ctx, fn, code);
}

relucl_status relucl__gemm(relucl_context *ctx, const char *fn, int ndim, relucl_transpose ta,
                           relucl_transpose tb, float alpha, const relucl_tensor *a,
                           const relucl_tensor *b, float beta, const relucl_tensor *c) {
    gemm_shape s = {0, 0, 0, 0, 0, 0};
    relucl_status status = check_gemm(ctx, fn, ndim, ta, tb, alpha, beta, a, b, c, &s);
    if (status != RELUCL_OK || s.m == 0 || s.n == 0 || s.batch == 0)
        return status;
    if (s.k == 0)
        return scale_c(ctx, fn, c, beta);
    if (relucl__gemm_own_wanted(ctx, ta, tb))
        return relucl__gemm_own(ctx, fn, ta, tb, alpha, a, b, beta, c, s.m, s.n, s.k, s.batch,
                                s.a_stride, s.b_stride, NULL);
    if ((status = relucl__tuning_apply(ctx, fn)) != RELUCL_OK) /* once per context (tune.c) */
        return status;
    size_t lda = a->dims[ndim - 1], ldb = b->dims[ndim - 1], ldc = c->dims[ndim - 1];
    CLBlastStatusCode code;
    cl_event *event =
        relucl__profile_event(ctx, ndim == 2 ? "CLBlastSgemm" : "CLBlastSgemmStridedBatched");
    relucl__clblast_lock(0);
    if (ndim == 2)
        code = CLBlastSgemm(CLBlastLayoutRowMajor, to_clblast(ta), to_clblast(tb), s.m, s.n, s.k,
                            alpha, a->buffer, a->offset, lda, b->buffer, b->offset, ldb, beta,
                            c->buffer, c->offset, ldc, &ctx->queue, event);
    else
        code = CLBlastSgemmStridedBatched(
            CLBlastLayoutRowMajor, to_clblast(ta), to_clblast(tb), s.m, s.n, s.k, alpha, a->buffer,
            a->offset, lda, s.a_stride, b->buffer, b->offset, ldb, s.b_stride, beta, c->buffer,
            c->offset, ldc, s.m * s.n, s.batch, &ctx->queue, event);
    relucl__clblast_unlock();
    if (code == CLBlastSuccess)
        relucl__profile_enqueued(ctx, event);
    return relucl__blas_status(ctx, fn, code);
}

relucl_status relucl_gemm(relucl_context *ctx, relucl_transpose trans_a, relucl_transpose trans_b,
                          float alpha, const relucl_tensor *a, const relucl_tensor *b, float beta,
                          const relucl_tensor *c) {
    return relucl__gemm(ctx, "relucl_gemm", 2, trans_a, trans_b, alpha, a, b, beta, c);
}

relucl_status relucl_gemm_batched(relucl_context *ctx, relucl_transpose trans_a,
                                  relucl_transpose trans_b, float alpha, const relucl_tensor *a,
                                  const relucl_tensor *b, float beta, const relucl_tensor *c) {
    return relucl__gemm(ctx, "relucl_gemm_batched", 3, trans_a, trans_b, alpha, a, b, beta, c);
}
