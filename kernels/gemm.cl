/* relucl's own GEMM for CPU-like devices (PoCL): one work-item per block of C, the block held
 * in vector registers while k runs, so each loaded value feeds many multiply-adds. CLBlast's
 * kernels are built for GPUs' local memory and many small work-items; here a work-item is a
 * core's stream of FMAs. Row-major throughout; matrix `batch` is at offset batch * stride.
 *
 * gemm_rows: op(b) is b itself (rows contiguous along n). A block is GEMM_MR rows by
 *   GEMM_NR (two vectors) columns: per k, two vector loads of b, GEMM_MR scalars of op(a)
 *   (any layout: element (i, p) is at a[i * a_row + p * a_col]) and 2 GEMM_MR vector FMAs.
 * gemm_dots: op(a) = a and op(b) = b^T, so both are contiguous along k: a GEMM_DM x GEMM_DN
 *   block of dot products, a vector of k at a time, each vector's lanes summed at the end.
 * Edge blocks repeat their last row (and gemm_dots its last column) instead of testing each
 * row; gemm_rows' right edges take narrower vectors. c = alpha acc + beta c; with beta 0, c
 * is not read. */

/* RELUCL_GEMM_LANES (build option, 8 or 16: the device's native float vector) sizes the
 * blocks so the accumulators and the operands of one step stay in registers: 8 x 32 in
 * float16 takes 16 of AVX-512's 32, 6 x 16 in float8 12 of AVX2's 16. */
#ifndef RELUCL_GEMM_LANES
#define RELUCL_GEMM_LANES 16
#endif
#if RELUCL_GEMM_LANES == 16
#define GEMM_MR 8
#else
#define GEMM_MR 6
#endif
#define GEMM_NR (2 * RELUCL_GEMM_LANES)
/* gemm_dots' block: GEMM_DM x GEMM_DN outputs, one vector of partial sums each. On AVX2,
 * 4 x 4 float8 sums beat 3 x 4 (which leaves registers for every operand) by 1.3-1.6x for
 * conv2's filter-gradient shape: the compiler streams b's vectors through the rest. */
#define GEMM_DM 4
#define GEMM_DN 4
#define CAT_(x, y) x##y
#define CAT(x, y) CAT_(x, y)
#define floatL CAT(float, RELUCL_GEMM_LANES)
#define vloadL CAT(vload, RELUCL_GEMM_LANES)
#define vstoreL CAT(vstore, RELUCL_GEMM_LANES)
#define store_vecL CAT(store_vec, RELUCL_GEMM_LANES)

/* The epilogue every store of gemm_rows ends with: c's value plus a bias, one per row of C
 * (brow[r], brow not NULL) or one per column (bcol[j], bcol not NULL), then an activation
 * (activate_T, activation_math.cl): a convolution's or dense layer's bias and ReLU in the
 * GEMM's own pass over C instead of a second pass through memory. The sum and the formula
 * are the ones the separate kernels apply, so the bits are the same. */

/* What the epilogue needs besides the value; brow and bcol already point at the block's
 * first row and column. */
#define EPI_ARGS const global float *brow, const global float *bcol, int act, float act_a
#define EPI brow, bcol, act, act_a

/* c[0..W) = act(alpha v + beta c + bias), the bias of row r or of these W columns. */
#define STORE_VEC(W)                                                                              \
    static void store_vec##W(global float *c, float##W v, float alpha, float beta, int r,        \
                             EPI_ARGS) {                                                          \
        v *= alpha;                                                                               \
        if (beta != 0.0f)                                                                         \
            v = fma((float##W)(beta), vload##W(0, c), v);                                         \
        if (brow)                                                                                 \
            v += (float##W)(brow[r]);                                                             \
        else if (bcol)                                                                            \
            v += vload##W(0, bcol);                                                               \
        store##W(activate_float##W(v, act, act_a), 0, c);                                         \
    }
STORE_VEC(16)
STORE_VEC(8)
STORE_VEC(4)

static void store_one(global float *c, float acc, float alpha, float beta, int r, int j,
                      EPI_ARGS) {
    float v = beta != 0.0f ? fma(beta, *c, alpha * acc) : alpha * acc;
    if (brow)
        v += brow[r];
    else if (bcol)
        v += bcol[j];
    *c = activate_float(v, act, act_a);
}

/* A rows x W block of C at column offset 0 of b and c (rows <= GEMM_MR), W-wide vectors:
 * the column tails of gemm_rows, 16, 8 and 4 wide. ar[r] is row r's offset in a (BLOCK_SETUP,
 * below). */
#define ROWS_CHUNK(W)                                                                             \
    static void rows_chunk##W(const global float *a, const size_t *ar, ulong a_col,               \
                              const global float *b, ulong ldb, global float *c, ulong ldc,      \
                              ulong k, size_t rows, float alpha, float beta, EPI_ARGS) {         \
        float##W acc[GEMM_MR];                                                                    \
        _Pragma("unroll") for (int r = 0; r < GEMM_MR; r++) acc[r] = (float##W)(0.0f);           \
        for (size_t p = 0; p < k; p++) {                                                          \
            float##W bv = vload##W(0, b + p * ldb);                                               \
            _Pragma("unroll") for (int r = 0; r < GEMM_MR; r++) acc[r] =                          \
                fma((float##W)(a[ar[r] + p * a_col]), bv, acc[r]);                                \
        }                                                                                         \
        _Pragma("unroll") for (int r = 0; r < GEMM_MR; r++) if ((size_t)r < rows)                 \
            store_vec##W(c + r * ldc, acc[r], alpha, beta, r, EPI);                               \
    }
ROWS_CHUNK(16)
ROWS_CHUNK(8)
ROWS_CHUNK(4)

/* The packed arguments (RELUCL_GEMM_*, kernels/constants.h) as arrays. */
#define UNPACK_ARGS                                                                               \
    ulong sz[16];                                                                                 \
    float re[4];                                                                                  \
    int fl[4];                                                                                    \
    vstore16(sizes, 0, sz);                                                                       \
    vstore4(reals, 0, re);                                                                        \
    vstore4(flags, 0, fl)

/* What every block of C starts from (the function's a, c, bias, sz, re and fl), declared as
 * locals: the packed arguments it uses, by name; a and c moved to row i0 (c also to column j0) of matrix `batch`; the bias of its first
 * row (brow) or column (bcol), if any; its rows and columns inside C; and ar[r], row r's offset
 * in a, past C's bottom edge the last row's again: the rows past the edge are computed and not
 * stored, so the loop over k has no test per row (with one, a GEMM of 10 columns ran 2.5
 * times slower than one of 16). */
#define BLOCK_SETUP(i0, j0, batch)                                                                \
    ulong a_row = sz[RELUCL_GEMM_A_ROW], a_col = sz[RELUCL_GEMM_A_COL],                          \
          ldc = sz[RELUCL_GEMM_LDC], m = sz[RELUCL_GEMM_M], n = sz[RELUCL_GEMM_N],               \
          k = sz[RELUCL_GEMM_K];                                                                  \
    float alpha = re[RELUCL_GEMM_ALPHA], beta = re[RELUCL_GEMM_BETA],                             \
          act_a = re[RELUCL_GEMM_ACT_A];                                                          \
    int bias_per = fl[RELUCL_GEMM_BIAS_PER], act = fl[RELUCL_GEMM_ACT];                           \
    /* bias_per: 0 none, 1 a bias per row of C, 2 per column */                                   \
    const global float *brow = bias_per == 1 ? bias + sz[RELUCL_GEMM_BIAS_O] + (i0) : 0;          \
    const global float *bcol = bias_per == 2 ? bias + sz[RELUCL_GEMM_BIAS_O] + (j0) : 0;          \
    a += sz[RELUCL_GEMM_AO] + (batch) * sz[RELUCL_GEMM_A_BATCH] + (i0) * a_row;                   \
    c += sz[RELUCL_GEMM_CO] + (batch) * m * n + (i0) * ldc + (j0);                                \
    size_t rows = min((size_t)GEMM_MR, m - (i0)), cols = min((size_t)GEMM_NR, n - (j0));          \
    size_t ar[GEMM_MR];                                                                           \
    _Pragma("unroll") for (int r = 0; r < GEMM_MR; r++) ar[r] = min((size_t)r, rows - 1) * a_row

/* A block of full width: row r's two vectors lo[r] and hi[r], its first `rows` rows stored. */
static void store_rows(global float *c, ulong ldc, const floatL *lo, const floatL *hi,
                       size_t rows, float alpha, float beta, EPI_ARGS) {
    const int lanes = RELUCL_GEMM_LANES;
#pragma unroll
    for (int r = 0; r < GEMM_MR; r++)
        if ((size_t)r < rows) {
            store_vecL(c + r * ldc, lo[r], alpha, beta, r, EPI);
            store_vecL(c + r * ldc + lanes, hi[r], alpha, beta, r, brow,
                       bcol ? bcol + lanes : 0, act, act_a);
        }
}

/* The block of C at row i0 and column j0 (both inside C) of matrix `batch`, with its
 * epilogue: b points at element (0, j0) of op(b), whose rows are ldb apart. */
static void rows_block(global const float *a, global const float *b, ulong ldb, global float *c,
                       global const float *bias, const ulong *sz, const float *re, const int *fl,
                       size_t i0, size_t j0, size_t batch) {
    BLOCK_SETUP(i0, j0, batch);
#if RELUCL_PREFETCH /* set for CPU devices' compilers, which have __builtin_prefetch */
    int prefetch = fl[RELUCL_GEMM_PREFETCH];
#endif
    if (cols == GEMM_NR) {
        floatL lo[GEMM_MR], hi[GEMM_MR];
#pragma unroll
        for (int r = 0; r < GEMM_MR; r++)
            lo[r] = hi[r] = (floatL)(0.0f);
        for (size_t p = 0; p < k; p++) {
            const global float *bp = b + p * ldb;
            floatL b0 = vloadL(0, bp), b1 = vloadL(1, bp);
#if RELUCL_PREFETCH
            if (prefetch) { /* the next column block's row p, for the block after this one */
                __builtin_prefetch(bp + GEMM_NR, 0, 3);
                __builtin_prefetch(bp + GEMM_NR + 16, 0, 3);
            }
#endif
            const global float *ap = a + p * a_col;
#pragma unroll
            for (int r = 0; r < GEMM_MR; r++) {
                floatL av = (floatL)(ap[ar[r]]);
                lo[r] = fma(av, b0, lo[r]);
                hi[r] = fma(av, b1, hi[r]);
            }
        }
        store_rows(c, ldc, lo, hi, rows, alpha, beta, EPI);
        return;
    }
#if RELUCL_GEMM_LANES == 16
    if (cols > 8 && cols < 16) {
        /* 9 to 15 columns (a layer of 10 units) as one masked float16 per row: one FMA per
         * row and k, where a float8 and a float4 took two and the float4 was built from
         * scalar loads. Row p's vector runs on into row p + 1 of b (ldb >= cols >= 9, so
         * the extra lanes stay inside op(b)), and the selects drop those lanes; the last
         * row reads its columns one by one instead. Each lane sums in order of p, as the
         * narrower forms do, so the bits are theirs. */
        const int16 keep = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) <
                           (int16)((int)cols);
        float16 acc[GEMM_MR];
#pragma unroll
        for (int r = 0; r < GEMM_MR; r++)
            acc[r] = (float16)(0.0f);
        for (size_t p = 0; p < k; p++) {
            const global float *bp = b + p * ldb;
            float16 bv;
            if (p + 1 < k) {
                bv = select((float16)(0.0f), vload16(0, bp), keep);
            } else {
                float last[16];
                for (int q = 0; q < 16; q++)
                    last[q] = (size_t)q < cols ? bp[q] : 0.0f;
                bv = vload16(0, last);
            }
#pragma unroll
            for (int r = 0; r < GEMM_MR; r++)
                acc[r] = fma((float16)(a[ar[r] + p * a_col]), bv, acc[r]);
        }
        for (size_t r = 0; r < rows; r++) {
            store_vec8(c + r * ldc, acc[r].lo, alpha, beta, (int)r, EPI);
            float lanes[8];
            vstore8(acc[r].hi, 0, lanes);
            for (size_t q = 8; q < cols; q++)
                store_one(c + r * ldc + q, lanes[q - 8], alpha, beta, (int)r, (int)q, EPI);
        }
        return;
    }
#endif
    if (cols > 8 && cols < 12) {
        /* 9 to 11 columns (a layer of 10 units): a float8 and a masked float4 (as below) in
         * one pass over k rather than two; the same sums in the same order. */
        size_t t = cols - 8, c1 = 8 + min((size_t)1, t - 1), c2 = 8 + min((size_t)2, t - 1);
        const int4 keep = (int4)(0, 1, 2, 3) < (int4)((int)t);
        float8 lo[GEMM_MR];
        float4 hi[GEMM_MR];
#pragma unroll
        for (int r = 0; r < GEMM_MR; r++) {
            lo[r] = (float8)(0.0f);
            hi[r] = (float4)(0.0f);
        }
        for (size_t p = 0; p < k; p++) {
            const global float *bp = b + p * ldb;
            float8 b0 = vload8(0, bp);
            float4 b1 = select((float4)(0.0f), (float4)(bp[8], bp[c1], bp[c2], bp[8]), keep);
#pragma unroll
            for (int r = 0; r < GEMM_MR; r++) {
                float av = a[ar[r] + p * a_col];
                lo[r] = fma((float8)(av), b0, lo[r]);
                hi[r] = fma((float4)(av), b1, hi[r]);
            }
        }
        for (size_t r = 0; r < rows; r++) {
            store_vec8(c + r * ldc, lo[r], alpha, beta, (int)r, EPI);
            float lanes[4];
            vstore4(hi[r], 0, lanes);
            for (size_t q = 0; q < t; q++)
                store_one(c + r * ldc + 8 + q, lanes[q], alpha, beta, (int)r, (int)(8 + q),
                          EPI);
        }
        return;
    }
    /* A block at the right edge: the widest vectors that fit, then single columns. */
    size_t j = 0;
    for (; j + 16 <= cols; j += 16)
        rows_chunk16(a, ar, a_col, b + j, ldb, c + j, ldc, k, rows, alpha, beta, brow,
                     bcol ? bcol + j : 0, act, act_a);
    if (j + 8 <= cols) {
        rows_chunk8(a, ar, a_col, b + j, ldb, c + j, ldc, k, rows, alpha, beta, brow,
                    bcol ? bcol + j : 0, act, act_a);
        j += 8;
    }
    if (j + 4 <= cols) {
        rows_chunk4(a, ar, a_col, b + j, ldb, c + j, ldc, k, rows, alpha, beta, brow,
                    bcol ? bcol + j : 0, act, act_a);
        j += 4;
    }
    if (j == cols)
        return;
    /* The last 1 to 3 columns as the lanes of one float4 per row, so the rows' sums run side
     * by side: one scalar chain after another was most of a GEMM with n = 10. The lanes past
     * the edge read the last column again and are masked to zero. Each lane still sums its
     * products in order of p. */
    size_t t = cols - j;
    const int4 keep = (int4)(0, 1, 2, 3) < (int4)((int)t);
    size_t c1 = min((size_t)1, t - 1), c2 = min((size_t)2, t - 1);
    float4 acc[GEMM_MR];
#pragma unroll
    for (int r = 0; r < GEMM_MR; r++)
        acc[r] = (float4)(0.0f);
    for (size_t p = 0; p < k; p++) {
        const global float *bp = b + p * ldb + j;
        float4 bv = select((float4)(0.0f), (float4)(bp[0], bp[c1], bp[c2], bp[0]), keep);
#pragma unroll
        for (int r = 0; r < GEMM_MR; r++)
            acc[r] = fma((float4)(a[ar[r] + p * a_col]), bv, acc[r]);
    }
    for (size_t r = 0; r < rows; r++) {
        float lanes[4];
        vstore4(acc[r], 0, lanes);
        for (size_t q = 0; q < t; q++)
            store_one(c + r * ldc + j + q, lanes[q], alpha, beta, (int)r, (int)(j + q), EPI);
    }
}

kernel void gemm_rows(global const float *a, global const float *b, global float *c,
                      global const float *bias, ulong16 sizes, float4 reals, int4 flags) {
    UNPACK_ARGS;
    int rows_first = fl[RELUCL_GEMM_ROWS_FIRST];
    size_t g0 = get_global_id(0), g1 = get_global_id(1);
    size_t j0 = (rows_first ? g1 : g0) * GEMM_NR, i0 = (rows_first ? g0 : g1) * GEMM_MR;
    size_t batch = get_global_id(2);
    if (i0 >= sz[RELUCL_GEMM_M] || j0 >= sz[RELUCL_GEMM_N])
        return;
    rows_block(a, b + sz[RELUCL_GEMM_BO] + batch * sz[RELUCL_GEMM_B_BATCH] + j0,
               sz[RELUCL_GEMM_LDB], c, bias, sz, re, fl, i0, j0, batch);
}

/* gemm_rows for one matrix through a panel: a work-group is a column of blocks of C,
 * dimension 0 down the block rows, dimension 1 across. Its work-items first copy the k x
 * GEMM_NR panel of op(b) their blocks use into the group's local memory, contiguous (columns
 * past n zero), then each computes its block from it (panel_rows).
 * gemm_rows_packed: op(b) = b. b's rows are ldb apart, and where ldb is a multiple of a
 * large power of two (256, 1024 columns) a column block's rows fall in a few cache sets and
 * one page each, so a block re-read the panel from memory; packed, it streams from cache.
 * gemm_rows_bt: op(b) = b^T, b (n, k) with rows LDB apart, the panel written transposed.
 * A transpose kernel ahead of gemm_rows did that copy in a launch of its own, through twice
 * the memory. The copy goes in 4 x 4 tiles: four float4 loads along k, a transpose in
 * registers, four float4 stores; a k % 4 tail a float at a time.
 * On a CPU, local memory is one buffer per thread that every group the thread runs reuses,
 * so the panels stay in its caches: in global scratch, one panel per group, they were as
 * large as b and doubled its traffic through memory once b passed the last-level cache. */

/* The block of C at row i0 and column j0 from the panel. Every block reads whole vectors
 * (the panel is zero past n); only the stores stop at C's right edge. Each lane sums its
 * column's products in order of p, as gemm_rows' narrower edge forms do, so the sums and
 * the bits are gemm_rows'. */
static void panel_rows(global const float *a, local const float *panel, global float *c,
                       global const float *bias, const ulong *sz, const float *re,
                       const int *fl, size_t i0, size_t j0) {
    BLOCK_SETUP(i0, j0, 0);
    floatL lo[GEMM_MR], hi[GEMM_MR];
#pragma unroll
    for (int r = 0; r < GEMM_MR; r++)
        lo[r] = hi[r] = (floatL)(0.0f);
    for (size_t p = 0; p < k; p++) {
        local const float *bp = panel + p * GEMM_NR;
        floatL b0 = vloadL(0, bp), b1 = vloadL(1, bp);
        const global float *ap = a + p * a_col;
#pragma unroll
        for (int r = 0; r < GEMM_MR; r++) {
            floatL av = (floatL)(ap[ar[r]]);
            lo[r] = fma(av, b0, lo[r]);
            hi[r] = fma(av, b1, hi[r]);
        }
    }
    if (cols == GEMM_NR) {
        store_rows(c, ldc, lo, hi, rows, alpha, beta, EPI);
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        float v[GEMM_NR];
        vstoreL(lo[r], 0, v);
        vstoreL(hi[r], 1, v);
        for (size_t q = 0; q < cols; q++)
            store_one(c + r * ldc + q, v[q], alpha, beta, (int)r, (int)q, EPI);
    }
}

/* After the group's copy: each work-item's block. */
static void panel_block(global const float *a, local const float *panel, global float *c,
                        global const float *bias, const ulong *sz, const float *re,
                        const int *fl, size_t j0) {
    barrier(CLK_LOCAL_MEM_FENCE); /* the group's copy is whole */
    size_t i0 = get_global_id(0) * GEMM_MR;
    if (i0 < sz[RELUCL_GEMM_M])
        panel_rows(a, panel, c, bias, sz, re, fl, i0, j0);
}

kernel void gemm_rows_packed(global const float *a, global const float *b, global float *c,
                             global const float *bias, local float *panel, ulong16 sizes,
                             float4 reals, int4 flags) {
    UNPACK_ARGS;
    const size_t nr = GEMM_NR, lid = get_local_id(0), group_size = get_local_size(0);
    size_t k = sz[RELUCL_GEMM_K], ldb = sz[RELUCL_GEMM_LDB], j0 = get_global_id(1) * nr;
    size_t cols = min(nr, (size_t)sz[RELUCL_GEMM_N] - j0);
    const global float *bj = b + sz[RELUCL_GEMM_BO] + j0;
    if (cols == nr)
        for (size_t p = lid; p < k; p += group_size) {
            vstoreL(vloadL(0, bj + p * ldb), 0, panel + p * nr);
            vstoreL(vloadL(1, bj + p * ldb), 1, panel + p * nr);
        }
    else /* the last column block */
        for (size_t t = lid; t < k * nr; t += group_size) {
            size_t p = t / nr, q = t % nr;
            panel[t] = q < cols ? bj[p * ldb + q] : 0.0f;
        }
    panel_block(a, panel, c, bias, sz, re, fl, j0);
}

kernel void gemm_rows_bt(global const float *a, global const float *b, global float *c,
                         global const float *bias, local float *panel, ulong16 sizes,
                         float4 reals, int4 flags) {
    UNPACK_ARGS;
    const size_t nr = GEMM_NR, lid = get_local_id(0), group_size = get_local_size(0);
    size_t k = sz[RELUCL_GEMM_K], ldb = sz[RELUCL_GEMM_LDB], j0 = get_global_id(1) * nr;
    size_t cols = min(nr, (size_t)sz[RELUCL_GEMM_N] - j0), k4 = k / 4 * 4;
    const global float *bj = b + sz[RELUCL_GEMM_BO] + j0 * ldb;
    for (size_t t = lid; t < k4 / 4 * (nr / 4); t += group_size) {
        size_t p = t / (nr / 4) * 4, q = t % (nr / 4) * 4;
        float4 r[4]; /* b's rows q .. q + 3 at p, zero past n */
#pragma unroll
        for (int j = 0; j < 4; j++)
            r[j] = q + j < cols ? vload4(0, bj + (q + j) * ldb + p) : (float4)(0.0f);
        store4_transposed(r[0], r[1], r[2], r[3], panel + p * nr + q, nr);
    }
    for (size_t t = lid; t < (k - k4) * nr; t += group_size) {
        size_t p = k4 + t / nr, q = t % nr;
        panel[p * nr + q] = q < cols ? bj[q * ldb + p] : 0.0f;
    }
    panel_block(a, panel, c, bias, sz, re, fl, j0);
}

/* The sum of a vector's lanes, pairwise. */
static float lanes_sumL(floatL v) {
#if RELUCL_GEMM_LANES == 16
    float8 s8 = v.lo + v.hi;
#else
    float8 s8 = v;
#endif
    float4 s4 = s8.lo + s8.hi;
    float2 s2 = s4.lo + s4.hi;
    return s2.x + s2.y;
}

/* c = alpha a b^T + beta c with both read along k: a (m, k) rows lda apart, b (n, k) rows ldb
 * apart. k runs in `segments` pieces: piece s of a row is at a + s * a_seg, of b at
 * b + s * b_seg, each k long (one piece for a plain GEMM). A convolution's filter gradient
 * sums over a chunk's images this way, reading dy where it is. Each work-item owns a
 * GEMM_DM x GEMM_DN block of c and keeps one vector of partial sums per output; a piece's
 * last k % GEMM_LANES products go into their low lanes, 4 at a time and then singly (scalar
 * tails after each piece cost as much as the vector part for conv2's pieces of 196), and the
 * lanes are summed at the end. A block at C's edge reads its last row or column again in
 * place of the missing ones and stores only its own outputs, so every block runs the same
 * loop (edge outputs one at a time cost conv1's filter gradient, 9 columns, half its time). */
kernel void gemm_dots(global const float *a, global const float *b, global float *c,
                      ulong16 sizes, float4 reals, int4 flags) {
    UNPACK_ARGS;
    ulong lda = sz[RELUCL_GEMM_A_ROW], ldb = sz[RELUCL_GEMM_LDB], ldc = sz[RELUCL_GEMM_LDC],
          m = sz[RELUCL_GEMM_M], n = sz[RELUCL_GEMM_N], k = sz[RELUCL_GEMM_K],
          segments = sz[RELUCL_GEMM_SEGMENTS], a_seg = sz[RELUCL_GEMM_A_SEG],
          b_seg = sz[RELUCL_GEMM_B_SEG];
    float alpha = re[RELUCL_GEMM_ALPHA], beta = re[RELUCL_GEMM_BETA];
    int rows_first = fl[RELUCL_GEMM_ROWS_FIRST];
    size_t g0 = get_global_id(0), g1 = get_global_id(1);
    size_t j0 = (rows_first ? g1 : g0) * GEMM_DN, i0 = (rows_first ? g0 : g1) * GEMM_DM;
    size_t batch = get_global_id(2);
    if (i0 >= m || j0 >= n)
        return;
    a += sz[RELUCL_GEMM_AO] + batch * sz[RELUCL_GEMM_A_BATCH] + i0 * lda;
    b += sz[RELUCL_GEMM_BO] + batch * sz[RELUCL_GEMM_B_BATCH] + j0 * ldb;
    c += sz[RELUCL_GEMM_CO] + batch * m * n + i0 * ldc + j0;
    size_t rows = min((size_t)GEMM_DM, m - i0), cols = min((size_t)GEMM_DN, n - j0);
    size_t ar[GEMM_DM], bc[GEMM_DN]; /* row offsets, the edge's last one repeated */
#pragma unroll
    for (int r = 0; r < GEMM_DM; r++)
        ar[r] = min((size_t)r, rows - 1) * lda;
#pragma unroll
    for (int j = 0; j < GEMM_DN; j++)
        bc[j] = min((size_t)j, cols - 1) * ldb;
    if (segments == 1 && k < 16) {
        /* Short dot products (a layer of 10 units): float4 lanes, whose sums cost a quarter
         * of a wide vector's; summing mostly empty lanes per output was most of the work. */
        float4 acc[GEMM_DM][GEMM_DN];
#pragma unroll
        for (int r = 0; r < GEMM_DM; r++)
#pragma unroll
            for (int j = 0; j < GEMM_DN; j++)
                acc[r][j] = (float4)(0.0f);
        size_t q = 0;
        for (; q + 4 <= k; q += 4) {
            float4 av[GEMM_DM], bv[GEMM_DN];
#pragma unroll
            for (int r = 0; r < GEMM_DM; r++)
                av[r] = vload4(0, a + ar[r] + q);
#pragma unroll
            for (int j = 0; j < GEMM_DN; j++)
                bv[j] = vload4(0, b + bc[j] + q);
#pragma unroll
            for (int r = 0; r < GEMM_DM; r++)
#pragma unroll
                for (int j = 0; j < GEMM_DN; j++)
                    acc[r][j] = fma(av[r], bv[j], acc[r][j]);
        }
        for (; q < k; q++)
#pragma unroll
            for (int r = 0; r < GEMM_DM; r++)
#pragma unroll
                for (int j = 0; j < GEMM_DN; j++)
                    acc[r][j].s0 = fma(a[ar[r] + q], b[bc[j] + q], acc[r][j].s0);
#pragma unroll
        for (int r = 0; r < GEMM_DM; r++)
#pragma unroll
            for (int j = 0; j < GEMM_DN; j++)
                if ((size_t)r < rows && (size_t)j < cols) {
                    float4 v = acc[r][j];
                    store_one(c + r * ldc + j, (v.s0 + v.s1) + (v.s2 + v.s3), alpha, beta, r,
                              j, 0, 0, RELUCL_KIND_IDENTITY, 0.0f);
                }
        return;
    }
    const size_t lanes = RELUCL_GEMM_LANES, full = k / lanes * lanes; /* whole vectors */
    floatL acc[GEMM_DM][GEMM_DN];
#pragma unroll
    for (int r = 0; r < GEMM_DM; r++)
#pragma unroll
        for (int j = 0; j < GEMM_DN; j++)
            acc[r][j] = (floatL)(0.0f);
    for (size_t s = 0; s < segments; s++) {
        global const float *as = a + s * a_seg, *bs = b + s * b_seg;
        for (size_t p = 0; p < full; p += lanes) {
            floatL av[GEMM_DM];
#pragma unroll
            for (int r = 0; r < GEMM_DM; r++)
                av[r] = vloadL(0, as + ar[r] + p);
#pragma unroll
            for (int j = 0; j < GEMM_DN; j++) {
                floatL bv = vloadL(0, bs + bc[j] + p);
#pragma unroll
                for (int r = 0; r < GEMM_DM; r++)
                    acc[r][j] = fma(av[r], bv, acc[r][j]);
            }
        }
        /* The piece's tail into the low lanes: 4 at a time, then one. */
        size_t q = full;
        for (; q + 4 <= k; q += 4) {
            float4 av[GEMM_DM];
#pragma unroll
            for (int r = 0; r < GEMM_DM; r++)
                av[r] = vload4(0, as + ar[r] + q);
#pragma unroll
            for (int j = 0; j < GEMM_DN; j++) {
                float4 bv = vload4(0, bs + bc[j] + q);
#pragma unroll
                for (int r = 0; r < GEMM_DM; r++)
                    acc[r][j].s0123 = fma(av[r], bv, acc[r][j].s0123);
            }
        }
        for (; q < k; q++)
#pragma unroll
            for (int r = 0; r < GEMM_DM; r++)
#pragma unroll
                for (int j = 0; j < GEMM_DN; j++)
                    acc[r][j].s0 = fma(as[ar[r] + q], bs[bc[j] + q], acc[r][j].s0);
    }
#pragma unroll
    for (int r = 0; r < GEMM_DM; r++)
#pragma unroll
        for (int j = 0; j < GEMM_DN; j++)
            if ((size_t)r < rows && (size_t)j < cols)
                store_one(c + r * ldc + j, lanes_sumL(acc[r][j]), alpha, beta, r, j, 0, 0,
                          RELUCL_KIND_IDENTITY, 0.0f);
}
