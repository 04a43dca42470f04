/* relucl's own GEMM kernels (kernels/gemm.cl), for CPU devices: CLBlast's kernels are shaped
 * for GPUs and reach a tenth of these under PoCL (relucl-bench gemm prints both). gemm.c has
 * checked the shapes. */
#include "blas/blas.h"

#include <stdlib.h>
#include <string.h>

/* Block sizes of kernels/gemm.cl: rows x columns of C per work-item (gemm_rows' depend on
 * the lanes its program was built for). */
#define ROWS_MR(ctx) ((ctx)->gemm_lanes == 16 ? 8 : 6)
#define ROWS_NR(ctx) (2 * (size_t)(ctx)->gemm_lanes)
#define DOTS 4
/* a b^T with b up to this many floats, and rows up to TRANSPOSED_K long, goes through
 * transposed panels of b (rows_panels); longer dot products keep the dot kernel (conv1's filter
 * gradient shape, 32 x 9 x 100352: 41-53 GFLOP/s there, 25 transposed). */
#define TRANSPOSED_MAX ((size_t)4 << 20)
#define TRANSPOSED_K 1024
/* A panel kernel's work-group is up to PANEL_GROUP blocks of C. */
#define PANEL_GROUP 64
/* gemm_rows packs op(b) = b into panels where b is larger than this (half of AVX2 PoCL's
 * second-level cache). On PoCL (AVX2), against plain gemm_rows in turns, GFLOP/s: 1024^3
 * 81-102 -> 153-165, 512^3 101-117 -> 127-166, the MLP's 128 x 256 x 784 119-129 -> 145-157,
 * conv2's 4 MiB chunks 64 x 2940 x 288 108-127 -> 128-151 and 288 x 2940 x 64 (a^T b)
 * 78-89 -> 103-121; below it packing cost a little (784 x 256 x 128, a^T b, 128-141 ->
 * 104-122). */
#define PACKED_BYTES ((size_t)256 << 10)
/* Work-groups a GEMM is cut into at least, where it has the blocks (see block_range). */
#define MIN_GROUPS 8
/* op(b) larger than this streams from memory rather than the last-level cache. */
#define STREAM_BYTES ((size_t)16 << 20)
/* gemm_rows prefetches the next block's rows of op(b) where op(b) is larger than this (twice
 * AVX-512 PoCL's second-level cache): op(b)'s rows are ldb apart, further than the hardware
 * prefetchers look, so each block's first pass over k waited on memory row by row. On PoCL
 * (AVX-512), in turns: conv2's 64 x 23716 x 288 116-119 -> 179-183 GFLOP/s, 2048^3 41-58 ->
 * 140-152; below it the prefetches only took load slots (128^3 133-139 -> 118-121 when every
 * GEMM prefetched). */
#define PREFETCH_BYTES ((size_t)2 << 20)

static size_t blocks(size_t n, size_t block) { return (n + block - 1) / block; }

/* The packed arguments of kernels/gemm.cl, indexed by RELUCL_GEMM_* (kernels/constants.h). */
typedef struct gemm_args {
    cl_ulong16 size;
    cl_float4 real;
    cl_int4 flag;
} gemm_args;

/* The index space of an (m, n) C in blocks of block_m x block_n over `batch` matrices, with
 * op(b) k_total x n. Work-items run in the order of their ids, dimension 0 fastest, in groups
 * of up to 8 along it: PoCL pays a fixed cost per group (about 70 ns, most of a 128 x 128 x 10
 * GEMM's work-item), but hands the groups to its threads whole, so smaller groups where that
 * leaves fewer than MIN_GROUPS: 128 x 10 x 128 (16 blocks) in two groups of 8 ran 7.8-9.5 us,
 * in eight of 2 6.4-8.4. The kernels skip the blocks past C's edge. The blocks along
 * dimension 0 share the block of the operand along the slower dimension, which stays in cache
 * while the other operand streams past: by default dimension 0 walks the columns of C, so
 * op(b) streams once per block row of C. That is cheap while op(b) sits in the last-level
 * cache, and costly past it: conv2's 27 MiB of columns (64 x 23716 x 288) ran at 43 GFLOP/s,
 * 106 with rows first. So rows first where op(b) is over STREAM_BYTES and C is wider than
 * tall; on PoCL, rows first for conv1's 3.6 MiB (K = 9) ran 4.6 times slower, and for conv2's
 * 6 MiB data gradient 1.4 times.
 * The choice goes to the kernel in g's flags. */
static relucl__range block_range(size_t m, size_t n, size_t k_total, size_t block_m,
                                 size_t block_n, size_t batch, gemm_args *g) {
    size_t row_blocks = blocks(m, block_m), col_blocks = blocks(n, block_n);
    int rows_first = (n > m && k_total * n * sizeof(float) > STREAM_BYTES) ||
                     (col_blocks < 8 && row_blocks > col_blocks);
    g->flag.s[RELUCL_GEMM_ROWS_FIRST] = rows_first;
    g->flag.s[RELUCL_GEMM_PREFETCH] = k_total * n * sizeof(float) > PREFETCH_BYTES;
    size_t dim0 = rows_first ? row_blocks : col_blocks, local = 1;
    size_t items = dim0 * (rows_first ? col_blocks : row_blocks) * batch;
    while (local < 8 && local * 2 <= dim0 && items / (local * 2) >= MIN_GROUPS)
        local *= 2;
    relucl__range r = {3, {dim0, rows_first ? col_blocks : row_blocks, batch}, {local, 1, 1}};
    return r;
}

size_t relucl__gemm_own_blocks(const relucl_context *ctx, size_t m, size_t n) {
    return blocks(m, ROWS_MR(ctx)) * blocks(n, ROWS_NR(ctx));
}

int relucl__gemm_own_wanted(relucl_context *ctx, relucl_transpose ta, relucl_transpose tb) {
    if (ctx->gemm_own == 0) {
        const char *choice = getenv("RELUCL_GEMM");
        if (choice && !strcmp(choice, "clblast"))
            ctx->gemm_own = -1;
        else if (choice && !strcmp(choice, "relucl"))
            ctx->gemm_own = 1;
        else
            ctx->gemm_own = ctx->wide ? 1 : -1;
    }
    /* op(a) = a^T with op(b) = b^T has neither operand contiguous the way a kernel wants. */
    return ctx->gemm_own > 0 && !(ta == RELUCL_TRANS && tb == RELUCL_TRANS);
}

/* gemm_rows through panels of op(b) in local memory, one per work-group (kernels/gemm.cl):
 * `kernel` is gemm_rows_bt (b^T) or gemm_rows_packed (b). A work-group is up to PANEL_GROUP
 * blocks down a column of C, fewer where that leaves under MIN_GROUPS groups: each copies its
 * panel once and its blocks read it many times, and more blocks to a group mean fewer copies
 * (on PoCL, AVX2: 1024^3 packed in groups of 16 blocks 120-129 GFLOP/s, of 64 138-160; 128 x
 * 784 x 256 b^T 106-116 in groups of 16, 114-144 in one of 22). A panel larger than the
 * device's local memory (k past 8192 on AVX2 PoCL, 4096 on AVX-512) is
 * RELUCL_ERROR_UNSUPPORTED, and the caller runs another kernel instead, so that GEMM still
 * enqueues nothing before it is sure. */
static relucl_status rows_panels(relucl_context *ctx, const char *fn, const char *kernel,
                                 cl_mem a, cl_mem b, cl_mem c, cl_mem bias, const gemm_args *g,
                                 size_t m, size_t n, size_t k) {
    size_t row_blocks = blocks(m, ROWS_MR(ctx)), col_blocks = blocks(n, ROWS_NR(ctx));
    size_t local = row_blocks < PANEL_GROUP ? row_blocks : PANEL_GROUP;
    size_t panel = k * ROWS_NR(ctx) * sizeof(float);
    while (local > 1 && col_blocks * blocks(row_blocks, local) < MIN_GROUPS)
        local = blocks(local, 2);
    if (panel > ctx->local_mem)
        return relucl__fail(ctx, RELUCL_ERROR_UNSUPPORTED, fn, "GEMM panel past local memory");
    relucl__range range = {2, {row_blocks, col_blocks, 1}, {local, 1, 1}};
    relucl__arg in_local = {panel, NULL}; /* clSetKernelArg: local memory of this size */
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_GEMM, kernel, range, RELUCL__MEM(a),
                          RELUCL__MEM(b), RELUCL__MEM(c), RELUCL__MEM(bias), in_local,
                          RELUCL__ARG(g->size), RELUCL__ARG(g->real), RELUCL__ARG(g->flag));
}

relucl_status relucl__gemm_own(relucl_context *ctx, const char *fn, relucl_transpose ta,
                               relucl_transpose tb, float alpha, const relucl_tensor *a,
                               const relucl_tensor *b, float beta, const relucl_tensor *c,
                               size_t m, size_t n, size_t k, size_t batch, size_t a_batch,
                               size_t b_batch, const relucl__epilogue *ep) {
    size_t a_cols = a->dims[a->ndim - 1], b_cols = b->dims[b->ndim - 1];
    int dots = tb == RELUCL_TRANS; /* op(a) = a: both run along k */
    gemm_args g = {0};
    /* Element (i, p) of op(a): a[i * a_cols + p], or a[p * a_cols + i] for a^T; gemm_dots
     * reads a's rows A_ROW apart. */
    g.size.s[RELUCL_GEMM_AO] = a->offset;
    g.size.s[RELUCL_GEMM_A_ROW] = ta == RELUCL_TRANS ? 1 : a_cols;
    g.size.s[RELUCL_GEMM_A_COL] = ta == RELUCL_TRANS ? a_cols : 1;
    g.size.s[RELUCL_GEMM_A_BATCH] = a_batch;
    g.size.s[RELUCL_GEMM_BO] = b->offset;
    g.size.s[RELUCL_GEMM_LDB] = b_cols;
    g.size.s[RELUCL_GEMM_B_BATCH] = b_batch;
    g.size.s[RELUCL_GEMM_CO] = c->offset;
    g.size.s[RELUCL_GEMM_LDC] = n;
    g.size.s[RELUCL_GEMM_M] = m;
    g.size.s[RELUCL_GEMM_N] = n;
    g.size.s[RELUCL_GEMM_K] = k;
    g.size.s[RELUCL_GEMM_SEGMENTS] = 1;
    g.real.s[RELUCL_GEMM_ALPHA] = alpha;
    g.real.s[RELUCL_GEMM_BETA] = beta;
    int biased = ep && ep->bias;
    g.size.s[RELUCL_GEMM_BIAS_O] = biased ? ep->bias->offset : 0;
    g.flag.s[RELUCL_GEMM_BIAS_PER] = (cl_int)(biased ? ep->per : RELUCL__BIAS_NONE);
    g.flag.s[RELUCL_GEMM_ACT] = (cl_int)(ep ? ep->act.kind : RELUCL_IDENTITY);
    g.real.s[RELUCL_GEMM_ACT_A] = ep ? ep->act.alpha : 0.0f;
    cl_mem bias = biased ? ep->bias->buffer : c->buffer;
    /* b^T for at least 16 rows of a (the copy moves each float of b once per work-group,
     * the GEMM reads it m times) beats the dot kernel, whose per-output sums cost most with
     * short rows: on PoCL (AVX2) the dense layers' dx went from 53 to 64-94 GFLOP/s for
     * 128 x 784 x 256 and 42 to 65-93 for 128 x 256 x 128, and 128 x 128 x 10 from 8-12 to
     * 26-37 (AVX-512). b itself is packed where it is past PACKED_BYTES. */
    int panels = batch == 1 && m >= 16 && k > 0 &&
                 (dots ? k <= TRANSPOSED_K && n * k <= TRANSPOSED_MAX
                       : k * n * sizeof(float) > PACKED_BYTES);
    if (panels) {
        if (rows_panels(ctx, fn, dots ? "gemm_rows_bt" : "gemm_rows_packed", a->buffer,
                        b->buffer, c->buffer, bias, &g, m, n, k) == RELUCL_OK)
            return RELUCL_OK;
        ctx->error[0] = '\0'; /* the kernel below answers instead */
    }
    relucl__range range = block_range(m, n, k, dots ? DOTS : ROWS_MR(ctx),
                                      dots ? DOTS : ROWS_NR(ctx), batch, &g);
    if (dots)
        return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_GEMM, "gemm_dots", range,
                              RELUCL__MEM(a->buffer), RELUCL__MEM(b->buffer),
                              RELUCL__MEM(c->buffer), RELUCL__ARG(g.size), RELUCL__ARG(g.real),
                              RELUCL__ARG(g.flag));
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_GEMM, "gemm_rows", range,
                          RELUCL__MEM(a->buffer), RELUCL__MEM(b->buffer), RELUCL__MEM(c->buffer),
                          RELUCL__MEM(bias), RELUCL__ARG(g.size), RELUCL__ARG(g.real),
                          RELUCL__ARG(g.flag));
}

relucl_status relucl__gemm_own_segmented(relucl_context *ctx, const char *fn, float alpha,
                                         cl_mem a, size_t ao, size_t lda, size_t a_seg, cl_mem b,
                                         size_t bo, size_t ldb, size_t b_seg, float beta,
                                         cl_mem c, size_t co, size_t m, size_t n, size_t k,
                                         size_t segments) {
    gemm_args g = {0};
    relucl__range range = block_range(m, n, segments * k, DOTS, DOTS, 1, &g);
    g.size.s[RELUCL_GEMM_AO] = ao;
    g.size.s[RELUCL_GEMM_A_ROW] = lda;
    g.size.s[RELUCL_GEMM_BO] = bo;
    g.size.s[RELUCL_GEMM_LDB] = ldb;
    g.size.s[RELUCL_GEMM_CO] = co;
    g.size.s[RELUCL_GEMM_LDC] = n;
    g.size.s[RELUCL_GEMM_M] = m;
    g.size.s[RELUCL_GEMM_N] = n;
    g.size.s[RELUCL_GEMM_K] = k;
    g.size.s[RELUCL_GEMM_SEGMENTS] = segments;
    g.size.s[RELUCL_GEMM_A_SEG] = a_seg;
    g.size.s[RELUCL_GEMM_B_SEG] = b_seg;
    g.real.s[RELUCL_GEMM_ALPHA] = alpha;
    g.real.s[RELUCL_GEMM_BETA] = beta;
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_GEMM, "gemm_dots", range, RELUCL__MEM(a),
                          RELUCL__MEM(b), RELUCL__MEM(c), RELUCL__ARG(g.size),
                          RELUCL__ARG(g.real), RELUCL__ARG(g.flag));
}
