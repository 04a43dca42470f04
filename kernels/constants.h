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

#endif /* RELUCL_KERNELS_CONSTANTS_H */
