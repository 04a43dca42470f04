/* The sequential network's layout, shared by net_spec.c (parsing), net.c (allocation),
 * net_train.c (training) and checkpoint.c (files). */
#ifndef RELUCL_NET_H
#define RELUCL_NET_H

#include "ops/ops.h"

#define RELUCL_NET_MAX_LAYERS 32
#define RELUCL_NET_SPEC_SIZE 512

typedef enum net_layer_kind { NET_DENSE, NET_CONV, NET_POOL, NET_GLOBAL_POOL } net_layer_kind;

/* One layer and the activation after it. Every tensor is a view into one of the net's few
 * big buffers, so an optimizer step over all parameters is a single kernel. Shapes are per
 * sample: (C, H, W), with dense layers as (units, 1, 1). */
typedef struct net_layer {
    net_layer_kind kind;
    relucl_activation act;        /* RELUCL_IDENTITY for none; pooling has none */
    size_t in[3], out[3];         /* per-sample input and output shapes */
    relucl_conv2d conv;           /* NET_CONV: geometry; filters are (out[0], in[0], k, k) */
    size_t kernel;                /* NET_CONV: filter size */
    relucl_pool2d pool;           /* NET_POOL */
    relucl_tensor w, b, slope;    /* in net->params; slope only for PReLU */
    relucl_tensor dw, db, dslope; /* the same places in net->grads */
    relucl_tensor z, y, dy;       /* (max_batch, out...) in net->acts; z only when kept */
    relucl_tensor argmax;         /* NET_POOL with max pooling */
    int keeps_z; /* the activation runs apart from the layer and backward needs its input */
} net_layer;

struct relucl_net {
    relucl_context *ctx;
    char spec[RELUCL_NET_SPEC_SIZE];
    int layer_count;
    net_layer layers[RELUCL_NET_MAX_LAYERS];
    size_t max_batch, param_count;
    cl_mem params, grads, state, acts, counters;
    relucl_tensor all_params, all_grads, all_state; /* whole buffers */
    relucl_tensor moment1, moment2;                 /* the two halves of state */
    relucl_tensor all_counters, loss, correct;      /* counters, and its 2 elements */
    relucl_optimizer opt;
    unsigned long long steps;
    size_t batches_seen, rows_seen; /* since the last relucl_net_take_metrics */
    size_t last_rows;               /* rows of the last forward pass */
    int unfused;                    /* tests only: no activation gradient after pooling
                                       (net_train.c, mask_after_pooling) */
};

/* net_spec.c: fills layers, layer_count and the normalised spec from a spec or preset. */
relucl_status relucl__net_parse(relucl_net *net, const char *fn, const char *spec);

/* net_train.c: opt holds settings an optimizer accepts (kind known, rates in range). */
relucl_status relucl__net_check_optimizer(relucl_context *ctx, const char *fn,
                                          const relucl_optimizer *opt);

/* checkpoint.c: checks a checkpoint file's bytes against net (magic, checksum, version, spec,
 * sizes, optimizer settings); on success fills opt, steps and the offset of the floats. */
relucl_status relucl__checkpoint_parse(relucl_net *net, const char *fn, const char *path,
                                       const unsigned char *data, size_t size,
                                       relucl_optimizer *opt, unsigned long long *steps,
                                       size_t *floats_at);

static inline size_t relucl__shape_count(const size_t shape[3]) {
    return shape[0] * shape[1] * shape[2];
}

#endif /* RELUCL_NET_H */
