/* The numbers that host code and kernels must agree on, written once. The host includes this
 * file and builds it in front of every program, so it is C and OpenCL C at once: plain
 * #defines only. */
#ifndef RELUCL_KERNELS_CONSTANTS_H
#define RELUCL_KERNELS_CONSTANTS_H

/* relucl_activation_kind as the kernels receive it (host/ops/activation.c checks the match). */
#define RELUCL_KIND_RELU 0
#define RELUCL_KIND_LEAKY 1
#define RELUCL_KIND_ELU 2
#define RELUCL_KIND_CLIPPED 3
#define RELUCL_KIND_IDENTITY 4
#define RELUCL_KIND_PRELU 5

/* Element-wise kernels take RELUCL_VECTOR_WIDTH elements per work-item, the tail one each. */
#define RELUCL_VECTOR_WIDTH 4

/* Work-group sizes of the kernels declared with reqd_work_group_size. */
#define RELUCL_PRELU_GROUP 64
#define RELUCL_GAP_GROUP 64
#define RELUCL_STATS_GROUP 64

/* Words of one work-group's record in stats_partial. */
#define RELUCL_STATS_WORDS 11

/* Logical lanes of the one-group loss reductions (any real group size gives the same sums). */
#define RELUCL_LOSS_LANES 256

/* Flags of the loss kernels. */
#define RELUCL_LOSS_HAS_GRAD 1
#define RELUCL_LOSS_HAS_LOSS 2
#define RELUCL_LOSS_HAS_CORRECT 4
#define RELUCL_LOSS_ACCUMULATE 8

/* Flags of the optimizer kernels. */
#define RELUCL_OPTIM_WEIGHT_DECAY 1 /* SGD, Adam: g += wd * p */
#define RELUCL_OPTIM_MOMENTUM 2     /* SGD: v = momentum * v + g; g = v */
#define RELUCL_OPTIM_NESTEROV 4     /* SGD: g += momentum * v instead */
#define RELUCL_OPTIM_DECOUPLED 8    /* AdamW: p *= decay before the step */

/* The GEMM kernels' sizes, strides and offsets, packed in one ulong16 (component i is the
 * value named RELUCL_GEMM_* = i), with alpha, beta and the activation's parameter in a
 * float4 and the flags in an int4: PoCL's cost per launch grows with the count of
 * arguments, and 23 separate ones cost the host 1.4-2.2 us and the device 1.6-3.5 us a
 * launch against 0.6-1.0 and 0.8-1.7 for these seven (a 128 x 10 x 128 GEMM runs in 10). */
#define RELUCL_GEMM_AO 0       /* a's offset */
#define RELUCL_GEMM_A_ROW 1    /* element (i, p) of op(a) is at i * A_ROW + p * A_COL */
#define RELUCL_GEMM_A_COL 2
#define RELUCL_GEMM_A_BATCH 3  /* a's stride between matrices of a batch */
#define RELUCL_GEMM_BO 4
#define RELUCL_GEMM_LDB 5
#define RELUCL_GEMM_B_BATCH 6
#define RELUCL_GEMM_CO 7
#define RELUCL_GEMM_LDC 8
#define RELUCL_GEMM_M 9
#define RELUCL_GEMM_N 10
#define RELUCL_GEMM_K 11
#define RELUCL_GEMM_BIAS_O 12  /* the epilogue's bias offset */
#define RELUCL_GEMM_SEGMENTS 13 /* gemm_dots: k runs in this many pieces, */
#define RELUCL_GEMM_A_SEG 14   /* A_SEG and B_SEG apart */
#define RELUCL_GEMM_B_SEG 15
#define RELUCL_GEMM_ALPHA 0    /* float4 */
#define RELUCL_GEMM_BETA 1
#define RELUCL_GEMM_ACT_A 2
#define RELUCL_GEMM_ROWS_FIRST 0 /* int4 */
#define RELUCL_GEMM_BIAS_PER 1
#define RELUCL_GEMM_ACT 2
#define RELUCL_GEMM_PREFETCH 3 /* gemm_rows (CPU forms): op(b) is past the caches */

#endif /* RELUCL_KERNELS_CONSTANTS_H */
