/* relucl-train's data-parallel training over dist.h: every rank takes its slice of each
 * global batch (from the same shuffled order), computes its gradients, the gradient buffers
 * are summed across ranks through host memory, each scaled by its slice's share of the batch,
 * and every rank makes the same update. On one rank none of this runs. */
#ifndef RELUCL_TRAIN_PARALLEL_H
#define RELUCL_TRAIN_PARALLEL_H

#include <relucl.h>

#include "dist.h"

typedef struct parallel {
    dist d;
    relucl_context *ctx;
    relucl_net *net;
    relucl_tensor grads, params, state; /* the net's own buffers */
    float *host;                        /* staging for the largest of them */
    unsigned long long fault_step;      /* $RELUCL_TRAIN_FAULT "R:S": rank R fails at step S */
    int fault_rank;
} parallel;

/* 0 on success; prints the reason otherwise. */
int parallel_init(parallel *p, const dist *d, relucl_context *ctx, relucl_net *net);
void parallel_free(parallel *p);

/* This rank's rows [*lo, *hi) of a global batch of `rows` rows: balanced, in rank order, so
 * the ranks' slices are the whole batch and a rank may get none. */
void parallel_slice(const parallel *p, size_t rows, size_t *lo, size_t *hi);

/* After relucl_net_compute_gradients on this rank's `local` of `rows` rows (not called when
 * local is 0): scales the gradients by local / rows, sums them across ranks and applies the
 * update. 1 on success. */
int parallel_step(parallel *p, size_t local, size_t rows);

/* Rank 0's parameters, optimizer state and step count onto every rank. 1 on success. */
int parallel_share_net(parallel *p);

#endif /* RELUCL_TRAIN_PARALLEL_H */
