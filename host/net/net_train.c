/* The sequential network at work: forward, training step, metrics and the optimizer. */
#include "net/net.h"

#include <math.h>

/* The first rows of a (max_batch, ...) activation view. */
static relucl_tensor first_rows(const relucl_tensor *t, size_t rows) {
    relucl_tensor v = *t;
    v.dims[0] = rows;
    return v;
}

/* t's first rows seen as layer l's input: (rows, in) for dense layers, (rows, C, H, W)
 * otherwise. A reshape of contiguous memory: no copy. */
static relucl_tensor as_input(const relucl_tensor *t, size_t rows, const net_layer *l) {
    relucl_tensor v = {t->buffer, t->offset, 4, {rows, l->in[0], l->in[1], l->in[2]}};
    if (l->kind == NET_DENSE)
        v.ndim = 2;
    return v;
}

static relucl_dense describe(const net_layer *l) {
    relucl_dense d = {l->act, &l->w, &l->b, l->act.kind == RELUCL_PRELU ? &l->slope : NULL,
                      RELUCL_WEIGHTS_IN_OUT};
    return d;
}

/* (rows, C) view of a global pooling layer's (rows, C, 1, 1) tensor. */
static relucl_tensor as_rows(const relucl_tensor *t) {
    relucl_tensor v = {t->buffer, t->offset, 2, {t->dims[0], t->dims[1], 1, 1}};
    return v;
}

/* x must be (rows, inputs) with 1 <= rows <= max_batch; labels, when given, rows long. */
static relucl_status check_batch(relucl_net *net, const char *fn, const relucl_tensor *x,
                                 const relucl_tensor *labels, size_t *rows) {
    relucl_context *ctx = net->ctx;
    size_t n = 0, nl = 0;
    relucl_status status = relucl__check_context(ctx);
    if (status == RELUCL_OK)
        status = relucl__check_tensor(ctx, fn, "x", x, &n);
    if (status != RELUCL_OK)
        return status;
    size_t inputs = relucl_net_inputs(net);
    if (x->ndim != 2 || x->dims[1] != inputs || x->dims[0] == 0 || x->dims[0] > net->max_batch)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "x must be (rows, %zu) with 1 <= rows <= %zu; it has %zu elements "
                            "in %d dims",
                            inputs, net->max_batch, n, x->ndim);
    *rows = x->dims[0];
    if (labels && (status = relucl__check_tensor(ctx, fn, "labels", labels, &nl)) == RELUCL_OK)
        status = relucl__check_same_count(ctx, fn, "labels", nl, "x rows", *rows);
    return status;
}

/* A convolution and the activation after it; the activation runs apart only when its input
 * must be kept for backward. */
static relucl_status conv_forward(relucl_context *ctx, const net_layer *l, const relucl_tensor *in,
                                  size_t rows) {
    relucl_tensor y = first_rows(&l->y, rows), z = first_rows(&l->z, rows);
    relucl_activation none = {RELUCL_IDENTITY, 0.0f};
    if (!l->keeps_z)
        return relucl_conv2d_forward(ctx, &l->conv, RELUCL_CONV_AUTO, l->act, in, &l->w, &l->b, &y);
    relucl_status status =
        relucl_conv2d_forward(ctx, &l->conv, RELUCL_CONV_AUTO, none, in, &l->w, &l->b, &z);
    if (status != RELUCL_OK)
        return status;
    if (l->act.kind == RELUCL_PRELU)
        return relucl_prelu_forward(ctx, &z, &l->slope, &y);
    return relucl_activation_forward(ctx, l->act, &z, &y);
}

static relucl_status layer_forward(relucl_context *ctx, const net_layer *l, const relucl_tensor *in,
                                   size_t rows) {
    relucl_tensor y = first_rows(&l->y, rows), z = first_rows(&l->z, rows);
    relucl_tensor argmax = first_rows(&l->argmax, rows);
    switch (l->kind) {
    case NET_DENSE: {
        relucl_dense d = describe(l);
        return relucl_dense_forward(ctx, &d, in, l->keeps_z ? &z : NULL, &y);
    }
    case NET_CONV: return conv_forward(ctx, l, in, rows);
    case NET_POOL:
        return relucl_pool2d_forward(ctx, &l->pool, in, &y,
                                     l->pool.kind == RELUCL_POOL_MAX ? &argmax : NULL);
    case NET_GLOBAL_POOL: {
        relucl_tensor flat = as_rows(&y);
        return relucl_global_avg_pool_forward(ctx, in, &flat);
    }
    }
    return RELUCL_ERROR_INVALID_ARGUMENT;
}

static relucl_status forward(relucl_net *net, const relucl_tensor *x, size_t rows) {
    relucl_status status = RELUCL_OK;
    net->last_rows = rows;
    for (int i = 0; i < net->layer_count && status == RELUCL_OK; i++) {
        const net_layer *l = &net->layers[i];
        relucl_tensor in = as_input(i == 0 ? x : &net->layers[i - 1].y, rows, l);
        status = layer_forward(net->ctx, l, &in, rows);
    }
    return status;
}

static relucl_status loss(relucl_net *net, size_t rows, const relucl_tensor *labels,
                          int with_gradient) {
    const net_layer *last = &net->layers[net->layer_count - 1];
    relucl_tensor logits = first_rows(&last->y, rows), dlogits = first_rows(&last->dy, rows);
    relucl_status status = relucl_softmax_cross_entropy(
        net->ctx, &logits, labels, with_gradient ? &dlogits : NULL, &net->loss, &net->correct, 1);
    if (status == RELUCL_OK) {
        net->batches_seen++;
        net->rows_seen += rows;
    }
    return status;
}

/* dy becomes the gradient before the activation, in place. */
static relucl_status activation_backward(relucl_context *ctx, const net_layer *l, size_t rows,
                                         const relucl_tensor *dy) {
    relucl_tensor y = first_rows(&l->y, rows), z = first_rows(&l->z, rows);
    if (l->act.kind == RELUCL_PRELU)
        return relucl_prelu_backward(ctx, &z, &l->slope, dy, dy, &l->dslope);
    if (l->act.kind == RELUCL_IDENTITY)
        return RELUCL_OK;
    return relucl_activation_backward(ctx, l->act, l->keeps_z ? &z : NULL, l->keeps_z ? NULL : &y,
                                      dy, dy);
}

/* Whether the gradient of `before`'s activation can be taken on the pooled gradient of the
 * max pooling `pool` after it, instead of on before's whole output: ReLU's and clipped ReLU's
 * are masks of the output (y <= 0, and y >= c), and the element a window's gradient goes to
 * holds the window's output, so masking the pooled dy by the pooled y sends the same values
 * (a sum of terms under one mask is the masked sum, bit for bit). For 2x2 windows that is a
 * quarter of the memory traffic: the CNN preset's ReLU backward, 1.2-1.4 ms a step on PoCL,
 * became 0.28-0.39. */
static int mask_after_pooling(const relucl_net *net, const net_layer *before,
                              const net_layer *pool) {
    return !net->unfused && pool->kind == NET_POOL && pool->pool.kind == RELUCL_POOL_MAX &&
           before->kind == NET_CONV &&
           (before->act.kind == RELUCL_RELU || before->act.kind == RELUCL_CLIPPED_RELU);
}

/* Gradients of layer l's parameters, and dx for the layer before (NULL for the first).
 * masked_by_next: the layer after l applied l's activation gradient (mask_after_pooling). */
static relucl_status layer_backward(relucl_context *ctx, const net_layer *l,
                                    const relucl_tensor *in, size_t rows, const relucl_tensor *dx,
                                    int masked_by_next) {
    relucl_tensor y = first_rows(&l->y, rows), z = first_rows(&l->z, rows);
    relucl_tensor dy = first_rows(&l->dy, rows), argmax = first_rows(&l->argmax, rows);
    relucl_status status;
    switch (l->kind) {
    case NET_DENSE: {
        relucl_dense d = describe(l);
        relucl_dense_grads grads = {&l->dw, &l->db, l->act.kind == RELUCL_PRELU ? &l->dslope : NULL,
                                    0, NULL};
        return relucl_dense_backward(ctx, &d, in, l->keeps_z ? &z : NULL, &y, &dy, dx, &grads);
    }
    case NET_CONV:
        status = masked_by_next ? RELUCL_OK : activation_backward(ctx, l, rows, &dy);
        if (status == RELUCL_OK)
            status = relucl_conv2d_backward_filter(ctx, &l->conv, RELUCL_CONV_AUTO, in, &dy, &l->dw,
                                                   &l->db, 0);
        if (status == RELUCL_OK && dx)
            status = relucl_conv2d_backward_data(ctx, &l->conv, RELUCL_CONV_AUTO, &dy, &l->w, dx);
        return status;
    case NET_POOL:
        return dx ? relucl_pool2d_backward(ctx, &l->pool, &dy,
                                           l->pool.kind == RELUCL_POOL_MAX ? &argmax : NULL, dx)
                  : RELUCL_OK;
    case NET_GLOBAL_POOL: {
        relucl_tensor flat = as_rows(&dy);
        return dx ? relucl_global_avg_pool_backward(ctx, &flat, dx) : RELUCL_OK;
    }
    }
    return RELUCL_ERROR_INVALID_ARGUMENT;
}

static relucl_status backward(relucl_net *net, const relucl_tensor *x, size_t rows) {
    relucl_status status = RELUCL_OK;
    for (int i = net->layer_count - 1; i >= 0 && status == RELUCL_OK; i--) {
        const net_layer *l = &net->layers[i];
        relucl_tensor in = as_input(i == 0 ? x : &net->layers[i - 1].y, rows, l);
        relucl_tensor dx = i == 0 ? in : as_input(&net->layers[i - 1].dy, rows, l);
        if (i > 0 && mask_after_pooling(net, &net->layers[i - 1], l)) {
            relucl_tensor y = first_rows(&l->y, rows), dy = first_rows(&l->dy, rows);
            status = relucl_activation_backward(net->ctx, net->layers[i - 1].act, NULL, &y, &dy,
                                                &dy);
        }
        int masked =
            i + 1 < net->layer_count && mask_after_pooling(net, l, &net->layers[i + 1]);
        if (status == RELUCL_OK)
            status = layer_backward(net->ctx, l, &in, rows, i == 0 ? NULL : &dx, masked);
    }
    return status;
}

/* One kernel updates every parameter: they all live in one buffer. */
static relucl_status update(relucl_net *net) {
    if (net->opt.kind == RELUCL_OPTIMIZER_ADAM)
        return relucl_adam_step(net->ctx, &net->opt.adam, (long)net->steps + 1, &net->all_params,
                                &net->all_grads, &net->moment1, &net->moment2);
    return relucl_sgd_step(net->ctx, &net->opt.sgd, &net->all_params, &net->all_grads,
                           net->opt.sgd.momentum > 0.0f ? &net->moment1 : NULL);
}

/* What training and evaluation share: check the labelled batch, run forward, add the loss and
 * correct count to the counters (and leave the logits' gradient when with_gradient). */
static relucl_status forward_and_loss(relucl_net *net, const char *fn, const relucl_tensor *x,
                                      const relucl_tensor *labels, int with_gradient,
                                      size_t *rows) {
    relucl_status status = check_batch(net, fn, x, labels, rows);
    if (status == RELUCL_OK && !labels)
        status = relucl__fail(net->ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "labels is NULL");
    if (status == RELUCL_OK)
        status = forward(net, x, *rows);
    return status == RELUCL_OK ? loss(net, *rows, labels, with_gradient) : status;
}

/* Forward, loss and backward against fn: the gradients end up in net->grads. */
static relucl_status gradients(relucl_net *net, const char *fn, const relucl_tensor *x,
                               const relucl_tensor *labels) {
    size_t rows = 0;
    if (!net)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    RELUCL__TRY(forward_and_loss(net, fn, x, labels, 1, &rows));
    return backward(net, x, rows);
}

static relucl_status apply(relucl_net *net) {
    RELUCL__TRY(update(net));
    net->steps++;
    return RELUCL_OK;
}

relucl_status relucl_net_train_step(relucl_net *net, const relucl_tensor *x,
                                    const relucl_tensor *labels) {
    RELUCL__TRY(gradients(net, "relucl_net_train_step", x, labels));
    return apply(net);
}

relucl_status relucl_net_compute_gradients(relucl_net *net, const relucl_tensor *x,
                                           const relucl_tensor *labels) {
    return gradients(net, "relucl_net_compute_gradients", x, labels);
}

relucl_status relucl_net_apply_gradients(relucl_net *net) {
    if (!net)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    RELUCL__TRY(relucl__check_context(net->ctx));
    return apply(net);
}

relucl_status relucl_net_buffer(relucl_net *net, relucl_net_buffer_kind which, relucl_tensor *out) {
    static const char fn[] = "relucl_net_buffer";
    if (!net)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    RELUCL__TRY(relucl__check_context(net->ctx));
    if (!out)
        return relucl__fail(net->ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "out is NULL");
    switch (which) {
    case RELUCL_NET_PARAMETERS: *out = net->all_params; return RELUCL_OK;
    case RELUCL_NET_GRADIENTS: *out = net->all_grads; return RELUCL_OK;
    case RELUCL_NET_OPTIMIZER_STATE: *out = net->all_state; return RELUCL_OK;
    }
    return relucl__fail(net->ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "which is %d, not a buffer",
                        (int)which);
}

relucl_status relucl_net_set_steps(relucl_net *net, unsigned long long steps) {
    if (!net)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    RELUCL__TRY(relucl__check_context(net->ctx));
    net->steps = steps;
    return RELUCL_OK;
}

relucl_status relucl_net_evaluate(relucl_net *net, const relucl_tensor *x,
                                  const relucl_tensor *labels) {
    size_t rows = 0;
    if (!net)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    return forward_and_loss(net, "relucl_net_evaluate", x, labels, 0, &rows);
}

relucl_status relucl_net_forward(relucl_net *net, const relucl_tensor *x,
                                 const relucl_tensor *out) {
    static const char fn[] = "relucl_net_forward";
    size_t rows = 0, n = 0;
    if (!net)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    relucl_status status = check_batch(net, fn, x, NULL, &rows);
    if (status == RELUCL_OK)
        status = relucl__check_tensor(net->ctx, fn, "out", out, &n);
    if (status == RELUCL_OK)
        status = relucl__check_same_count(net->ctx, fn, "out", n, "rows x outputs",
                                          rows * relucl_net_outputs(net));
    if (status == RELUCL_OK)
        status = forward(net, x, rows);
    if (status != RELUCL_OK)
        return status;
    const net_layer *last = &net->layers[net->layer_count - 1];
    cl_int err = clEnqueueCopyBuffer(net->ctx->queue, last->y.buffer, out->buffer,
                                     last->y.offset * sizeof(float), out->offset * sizeof(float),
                                     n * sizeof(float), 0, NULL, NULL);
    return err == CL_SUCCESS ? RELUCL_OK
                             : relucl__fail_cl(net->ctx, fn, "clEnqueueCopyBuffer", err);
}

relucl_status relucl_net_take_metrics(relucl_net *net, double *mean_loss, double *accuracy) {
    static const char fn[] = "relucl_net_take_metrics";
    if (!net)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    relucl_status status = relucl__check_context(net->ctx);
    if (status != RELUCL_OK)
        return status;
    if (!mean_loss || !accuracy)
        return relucl__fail(net->ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is NULL",
                            mean_loss ? "accuracy" : "mean_loss");
    float sums[2];
    status = relucl_tensor_read(net->ctx, &net->all_counters, sums);
    if (status == RELUCL_OK)
        status = relucl_tensor_fill(net->ctx, &net->all_counters, 0.0f);
    if (status != RELUCL_OK)
        return status;
    *mean_loss = net->batches_seen ? (double)sums[0] / (double)net->batches_seen : 0.0;
    *accuracy = net->rows_seen ? (double)sums[1] / (double)net->rows_seen : 0.0;
    net->batches_seen = net->rows_seen = 0;
    return RELUCL_OK;
}

static int in_unit_interval(float v) { return v >= 0.0f && v < 1.0f; }

/* Checked here in full so a bad setting fails now, not half-way through a training step. */
relucl_status relucl__net_check_optimizer(relucl_context *ctx, const char *fn,
                                          const relucl_optimizer *opt) {
    if (opt->kind == RELUCL_OPTIMIZER_SGD) {
        const relucl_sgd *s = &opt->sgd;
        if (!(isfinite(s->lr) && s->lr >= 0.0f))
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "opt->sgd.lr is %g",
                                (double)s->lr);
        if (!in_unit_interval(s->momentum))
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "opt->sgd.momentum is %g, not in [0, 1)", (double)s->momentum);
        if (!(isfinite(s->weight_decay) && s->weight_decay >= 0.0f))
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "opt->sgd.weight_decay is %g", (double)s->weight_decay);
        if (s->nesterov && !(s->momentum > 0.0f))
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "opt->sgd.nesterov needs momentum > 0");
        return RELUCL_OK;
    }
    if (opt->kind == RELUCL_OPTIMIZER_ADAM) {
        const relucl_adam *a = &opt->adam;
        if (!(isfinite(a->lr) && a->lr >= 0.0f) || !in_unit_interval(a->beta1) ||
            !in_unit_interval(a->beta2) || !(isfinite(a->eps) && a->eps > 0.0f) ||
            !(isfinite(a->weight_decay) && a->weight_decay >= 0.0f))
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "opt->adam: lr %g, beta1 %g, beta2 %g, eps %g, weight_decay %g: "
                                "need lr >= 0, betas in [0, 1), eps > 0, weight_decay >= 0",
                                (double)a->lr, (double)a->beta1, (double)a->beta2, (double)a->eps,
                                (double)a->weight_decay);
        return RELUCL_OK;
    }
    return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "opt->kind %d is unknown",
                        (int)opt->kind);
}

relucl_status relucl_net_set_optimizer(relucl_net *net, const relucl_optimizer *opt) {
    static const char fn[] = "relucl_net_set_optimizer";
    if (!net)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    relucl_status status = relucl__check_context(net->ctx);
    if (status == RELUCL_OK && !opt)
        status = relucl__fail(net->ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "opt is NULL");
    if (status == RELUCL_OK)
        status = relucl__net_check_optimizer(net->ctx, fn, opt);
    if (status != RELUCL_OK)
        return status;
    if (opt->kind != net->opt.kind) { /* new state for a new kind of optimizer */
        if ((status = relucl_tensor_fill(net->ctx, &net->all_state, 0.0f)) != RELUCL_OK)
            return status;
    }
    net->opt = *opt;
    return RELUCL_OK;
}
