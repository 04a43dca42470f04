/* Sequential networks: creation, one-time allocation of every buffer, initialisation. */
#include "net/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static relucl_tensor view(cl_mem buffer, size_t offset, size_t rows, size_t cols) {
    relucl_tensor t = {buffer, offset, cols ? 2 : 1, {rows, cols ? cols : 1, 1, 1}};
    return t;
}

/* The activation runs apart from its layer, and backward needs its input z, for PReLU
 * (the fused kernels take no slope in convolutions) and for a Leaky ReLU whose slope hides
 * the sign of z. */
static int keeps_z(const net_layer *l) {
    if (l->act.kind == RELUCL_LEAKY_RELU && !(l->act.alpha > 0.0f))
        return 1;
    return l->act.kind == RELUCL_PRELU;
}

static size_t weight_count(const net_layer *l) {
    if (l->kind == NET_DENSE)
        return l->in[0] * l->out[0];
    return l->kind == NET_CONV ? l->out[0] * l->in[0] * l->kernel * l->kernel : 0;
}

/* Channels (conv) or units (dense): the length of b and of a PReLU slope. */
static size_t bias_count(const net_layer *l) {
    return l->kind == NET_DENSE || l->kind == NET_CONV ? l->out[0] : 0;
}

/* A (rows, out...) view: 2-D for dense layers, 4-D for images. */
static relucl_tensor batch_view(cl_mem buffer, size_t offset, size_t rows, const net_layer *l) {
    if (l->kind == NET_DENSE)
        return view(buffer, offset, rows, l->out[0]);
    relucl_tensor t = {buffer, offset, 4, {rows, l->out[0], l->out[1], l->out[2]}};
    return t;
}

/* Places layer l's parameters (w, b, PReLU slope) at *p in params and grads, and its
 * activations (y, dy, z when kept, argmax for max pooling) at *a in acts, moving both on.
 * Before the buffers exist the same walk only counts. */
static void place(relucl_net *net, net_layer *l, size_t *p, size_t *a) {
    size_t nb = bias_count(l);
    if (l->kind == NET_DENSE) {
        l->w = view(net->params, *p, l->in[0], l->out[0]);
        l->dw = view(net->grads, *p, l->in[0], l->out[0]);
    } else if (l->kind == NET_CONV) {
        relucl_tensor w = {net->params, *p, 4, {l->out[0], l->in[0], l->kernel, l->kernel}};
        l->w = l->dw = w;
        l->dw.buffer = net->grads;
    }
    *p += weight_count(l);
    relucl_tensor *vectors[2][2] = {{&l->b, &l->db}, {&l->slope, &l->dslope}};
    for (int i = 0; i < (l->act.kind == RELUCL_PRELU ? 2 : 1) && nb; i++) {
        *vectors[i][0] = view(net->params, *p, nb, 0);
        *vectors[i][1] = view(net->grads, *p, nb, 0);
        *p += nb;
    }
    relucl_tensor *acts[4] = {&l->y, &l->dy, l->keeps_z ? &l->z : NULL,
                              l->kind == NET_POOL && l->pool.kind == RELUCL_POOL_MAX ? &l->argmax
                                                                                     : NULL};
    for (int i = 0; i < 4; i++) {
        if (!acts[i])
            continue;
        *acts[i] = batch_view(net->acts, *a, net->max_batch, l);
        *a += net->max_batch * relucl__shape_count(l->out);
    }
}

/* The buffers must fit the device: each within its largest allocation, all together within
 * its memory. A short spec can ask for gigabytes; this says so before anything is allocated. */
static relucl_status check_budget(relucl_net *net, const char *fn, size_t params, size_t acts) {
    cl_ulong largest = net->ctx->max_alloc, total = 0;
    clGetDeviceInfo(net->ctx->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof total, &total, NULL);
    /* params, grads, the optimizer's two moments, activations (floats; counts < 2^58) */
    double need = 4.0 * (4.0 * (double)params + (double)acts);
    double biggest = 4.0 * (double)(2 * params > acts ? 2 * params : acts);
    if ((largest && biggest > (double)largest) || (total && need > (double)total))
        return relucl__fail(net->ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn,
                            "spec: the net needs %.0f bytes of device memory, %.0f in one buffer "
                            "(max_batch %zu); the device has %llu, %llu at most in one buffer",
                            need, biggest, net->max_batch, (unsigned long long)total,
                            (unsigned long long)largest);
    return RELUCL_OK;
}

/* Lays every layer's tensors out in the big buffers and allocates them. */
static relucl_status allocate(relucl_net *net, const char *fn) {
    size_t params = 0, acts = 0;
    for (int i = 0; i < net->layer_count; i++) {
        net->layers[i].keeps_z = keeps_z(&net->layers[i]);
        place(net, &net->layers[i], &params, &acts);
    }
    RELUCL__TRY(check_budget(net, fn, params, acts));
    net->param_count = params;
    RELUCL__TRY(relucl__buffer_create(net->ctx, fn, "clCreateBuffer", params, &net->params));
    RELUCL__TRY(relucl__buffer_create(net->ctx, fn, "clCreateBuffer", params, &net->grads));
    RELUCL__TRY(relucl__buffer_create(net->ctx, fn, "clCreateBuffer", 2 * params, &net->state));
    RELUCL__TRY(relucl__buffer_create(net->ctx, fn, "clCreateBuffer", acts, &net->acts));
    RELUCL__TRY(relucl__buffer_create(net->ctx, fn, "clCreateBuffer", 2, &net->counters));
    size_t p = 0, a = 0;
    for (int i = 0; i < net->layer_count; i++)
        place(net, &net->layers[i], &p, &a);
    net->all_params = view(net->params, 0, params, 0);
    net->all_grads = view(net->grads, 0, params, 0);
    net->all_state = view(net->state, 0, 2 * params, 0);
    net->moment1 = view(net->state, 0, params, 0);
    net->moment2 = view(net->state, params, params, 0);
    net->all_counters = view(net->counters, 0, 2, 0);
    net->loss = view(net->counters, 0, 1, 0);
    net->correct = view(net->counters, 1, 1, 0);
    return RELUCL_OK;
}

/* He normal for layers followed by a rectifier, Xavier for the linear output layer. */
static relucl_status initialise(relucl_net *net, unsigned long long seed) {
    relucl_context *ctx = net->ctx;
    relucl_status status = RELUCL_OK;
    for (int i = 0; i < net->layer_count && status == RELUCL_OK; i++) {
        net_layer *l = &net->layers[i];
        if (l->kind != NET_DENSE && l->kind != NET_CONV)
            continue;
        size_t area = l->kind == NET_CONV ? l->kernel * l->kernel : 1;
        relucl_init w = {l->act.kind == RELUCL_IDENTITY ? RELUCL_INIT_XAVIER_NORMAL
                                                        : RELUCL_INIT_HE_NORMAL,
                         0.0f,
                         l->in[0] * area,
                         l->out[0] * area,
                         seed,
                         (unsigned long long)i};
        status = relucl_init_tensor(ctx, &w, &l->w);
        if (status == RELUCL_OK)
            status = relucl_tensor_fill(ctx, &l->b, 0.0f);
        if (status == RELUCL_OK && l->act.kind == RELUCL_PRELU)
            status = relucl_tensor_fill(ctx, &l->slope, l->act.alpha);
    }
    if (status == RELUCL_OK)
        status = relucl_tensor_fill(ctx, &net->all_state, 0.0f);
    if (status == RELUCL_OK)
        status = relucl_tensor_fill(ctx, &net->all_counters, 0.0f);
    return status;
}

relucl_status relucl_net_create(relucl_context *ctx, const char *spec, size_t max_batch,
                                unsigned long long seed, relucl_net **out) {
    static const char fn[] = "relucl_net_create";
    relucl_status status = relucl__check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    if (!spec || !out)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is NULL",
                            spec ? "out" : "spec");
    if (max_batch == 0 || max_batch > (1u << 24))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "max_batch is %zu, must be 1..16777216", max_batch);
    relucl_net *net = calloc(1, sizeof *net);
    if (!net)
        return relucl__fail(ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn, "out of host memory");
    net->ctx = ctx;
    net->max_batch = max_batch;
    net->opt = (relucl_optimizer){
        RELUCL_OPTIMIZER_SGD, {0.01f, 0.0f, 0.0f, 0}, {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0}};
    status = relucl__net_parse(net, fn, spec);
    if (status == RELUCL_OK)
        status = allocate(net, fn);
    if (status == RELUCL_OK)
        status = initialise(net, seed);
    if (status != RELUCL_OK) {
        relucl_net_destroy(net);
        return status;
    }
    *out = net;
    return RELUCL_OK;
}

void relucl_net_destroy(relucl_net *net) {
    if (!net)
        return;
    clFinish(net->ctx->queue);
    cl_mem buffers[5] = {net->params, net->grads, net->state, net->acts, net->counters};
    for (int i = 0; i < 5; i++)
        if (buffers[i])
            clReleaseMemObject(buffers[i]);
    free(net);
}

const char *relucl_net_spec(const relucl_net *net) { return net ? net->spec : ""; }
size_t relucl_net_inputs(const relucl_net *net) {
    return net ? relucl__shape_count(net->layers[0].in) : 0;
}
size_t relucl_net_outputs(const relucl_net *net) {
    return net ? net->layers[net->layer_count - 1].out[0] : 0;
}
size_t relucl_net_parameter_count(const relucl_net *net) { return net ? net->param_count : 0; }
unsigned long long relucl_net_steps(const relucl_net *net) { return net ? net->steps : 0; }

int relucl_net_layer_count(const relucl_net *net) { return net ? net->layer_count : 0; }

relucl_status relucl_net_layer(relucl_net *net, int index, relucl_net_layer_info *out) {
    static const char fn[] = "relucl_net_layer";
    if (!net)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    relucl_status status = relucl__check_context(net->ctx);
    if (status != RELUCL_OK)
        return status;
    if (!out)
        return relucl__fail(net->ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "out is NULL");
    if (index < 0 || index >= net->layer_count)
        return relucl__fail(net->ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "index %d is not in 0..%d",
                            index, net->layer_count - 1);
    const net_layer *l = &net->layers[index];
    static const char *const kinds[] = {"dense", "conv", "pool", "gap"};
    relucl_net_layer_info info = {kinds[l->kind], l->act, l->w, l->b, l->dw, l->db, l->y};
    if (l->kind == NET_POOL)
        info.kind = l->pool.kind == RELUCL_POOL_MAX ? "maxpool" : "avgpool";
    info.y.dims[0] = net->last_rows;
    *out = info;
    return RELUCL_OK;
}
