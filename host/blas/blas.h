/* Matrix multiply for the rest of relucl: CLBlast or relucl's own CPU kernels behind relucl's
 * checks, and the tuning
 * parameters handed to CLBlast. Library-private. Depends on core only. */
#ifndef RELUCL_BLAS_H
#define RELUCL_BLAS_H

#include "core/core.h"

/* relucl_gemm / relucl_gemm_batched (ndim 2 or 3) with errors reported against fn. */
relucl_status relucl__gemm(relucl_context *ctx, const char *fn, int ndim, relucl_transpose ta,
                           relucl_transpose tb, float alpha, const relucl_tensor *a,
                           const relucl_tensor *b, float beta, const relucl_tensor *c);

/* gemm_own.c: relucl's own kernels, used on CPU devices (RELUCL_GEMM=clblast or relucl in the
 * environment overrides the choice); CLBlast elsewhere and for a^T b^T. */
int relucl__gemm_own_wanted(relucl_context *ctx, relucl_transpose ta, relucl_transpose tb);
/* What the own GEMM may apply to each element of C before it stores it: + bias (one per row
 * of C, or one per column) and then an activation (not PReLU). For op(b) = b only (gemm_rows). */
typedef enum relucl__bias_per {
    RELUCL__BIAS_NONE,
    RELUCL__BIAS_PER_ROW,
    RELUCL__BIAS_PER_COLUMN
} relucl__bias_per;
typedef struct relucl__epilogue {
    const relucl_tensor *bias; /* NULL: none */
    relucl__bias_per per;
    relucl_activation act;
} relucl__epilogue;

/* c = alpha op(a) op(b) + beta c over `batch` matrices, a and b `a_batch` and `b_batch`
 * elements apart (0 broadcasts), c's m * n apart; shapes already checked. ep (NULL: none)
 * needs tb == RELUCL_NO_TRANS. */
relucl_status relucl__gemm_own(relucl_context *ctx, const char *fn, relucl_transpose ta,
                               relucl_transpose tb, float alpha, const relucl_tensor *a,
                               const relucl_tensor *b, float beta, const relucl_tensor *c,
                               size_t m, size_t n, size_t k, size_t batch, size_t a_batch,
                               size_t b_batch, const relucl__epilogue *ep);

/* The work-items (register blocks of C) of an (m, n) NN product through relucl's own GEMM. */
size_t relucl__gemm_own_blocks(const relucl_context *ctx, size_t m, size_t n);

/* c (m, n, contiguous) = alpha * sum over s < segments of a_s b_s^T + beta c, where a_s is
 * (m, k) with rows lda apart starting a_seg * s past ao, and b_s (n, k) likewise: a GEMM whose
 * k runs in pieces (a convolution's filter gradient over a chunk's images, read in place).
 * Own kernels only (relucl__gemm_own_wanted(ctx, NO_TRANS, TRANS)); the caller has checked
 * every extent. */
relucl_status relucl__gemm_own_segmented(relucl_context *ctx, const char *fn, float alpha,
                                         cl_mem a, size_t ao, size_t lda, size_t a_seg, cl_mem b,
                                         size_t bo, size_t ldb, size_t b_seg, float beta,
                                         cl_mem c, size_t co, size_t m, size_t n, size_t k,
                                         size_t segments);

/* blas_status.c: a CLBlast status as RELUCL_ERROR_BLAS with CLBlast's name and code. */
relucl_status relucl__blas_status(relucl_context *ctx, const char *fn, int code);

/* tuning.c: hands the context's GEMM tuning sets (user file, else built-in) to CLBlast, once
 * per context, before its first GEMM. Never fails a GEMM: a broken file is ignored and noted
 * in ctx->tuning_note. */
relucl_status relucl__tuning_apply(relucl_context *ctx, const char *fn);

/* tuning.c: 1 if f is a tuning file the library would use on a device with these limits, else
 * 0 with the reason in why (what the library's own loading does, without a context). */
int relucl__tuning_check(FILE *f, size_t work_group, unsigned long long local_mem, char *why,
                         size_t size);

/* clblast_lock.c: every CLBlast call of relucl runs between these; exclusive for
 * CLBlastOverrideParameters, shared for routines. */
void relucl__clblast_lock(int exclusive);
void relucl__clblast_unlock(void);

#endif /* RELUCL_BLAS_H */
