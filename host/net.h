/* The sequential network's layout, shared by net.c (training) and checkpoint.c (files). */
#ifndef RELUCL_NET_H
#define RELUCL_NET_H

#include "internal.h"

#define RELUCL_NET_MAX_LAYERS 32
#define RELUCL_NET_SPEC_SIZE 512

/* A dense layer and the activation after it. Every tensor is a view into one of the net's
 * few big buffers, so an optimizer step over all parameters is a single kernel. */
typedef struct net_layer {
    relucl_activation act;
    size_t in, out;
    relucl_tensor w, b, slope;    /* in net->params; slope only for PReLU */
    relucl_tensor dw, db, dslope; /* the same places in net->grads */
    relucl_tensor z, y, dy;       /* (max_batch, out) in net->acts; z only when needed */
    int keeps_z;
} net_layer;

struct relucl_net {
    relucl_context *ctx;
    char spec[RELUCL_NET_SPEC_SIZE];
    int layer_count;
    net_layer layers[RELUCL_NET_MAX_LAYERS];
    size_t max_batch, param_count;
    cl_mem params, grads, state, acts, counters;
    relucl_tensor all_params, all_grads, moment1, moment2; /* optimizer views */
    relucl_tensor loss, correct;                           /* 1 element each, in counters */
    relucl_optimizer opt;
    unsigned long long steps;
    size_t batches_seen, rows_seen; /* since the last relucl_net_take_metrics */
};

#endif /* RELUCL_NET_H */
