/* Sequential networks: spec parsing, one-time allocation, and the training step. */
#include "net.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct preset {
    const char *name, *spec;
} preset;

static const preset presets[] = {
    {"mlp", "784-256-relu-128-relu-10"},
    {"mlp-leaky", "784-256-leaky-128-leaky-10"},
    {"mlp-elu", "784-256-elu-128-elu-10"},
    {"mlp-prelu", "784-256-prelu-128-prelu-10"},
    {"deep", "784-64-relu-32-relu-16-relu-10"},
};

/* Reads an activation word ("relu", "leaky:0.2", ...). Returns 0 if it is not one. */
static int parse_activation(const char *word, relucl_activation *act) {
    static const struct {
        const char *name;
        relucl_activation_kind kind;
        float alpha;
    } words[] = {{"relu", RELUCL_RELU, 0.0f},         {"leaky", RELUCL_LEAKY_RELU, 0.01f},
                 {"elu", RELUCL_ELU, 1.0f},           {"relu6", RELUCL_CLIPPED_RELU, 6.0f},
                 {"clipped", RELUCL_CLIPPED_RELU, 6.0f}, {"prelu", RELUCL_PRELU, 0.25f},
                 {"identity", RELUCL_IDENTITY, 0.0f}};
    const char *colon = strchr(word, ':');
    size_t length = colon ? (size_t)(colon - word) : strlen(word);
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        if (strlen(words[i].name) != length || strncmp(word, words[i].name, length) != 0)
            continue;
        act->kind = words[i].kind;
        act->alpha = words[i].alpha;
        if (colon) {
            char *end;
            act->alpha = strtof(colon + 1, &end);
            if (*end || end == colon + 1 || !isfinite(act->alpha))
                return 0;
        }
        return 1;
    }
    return 0;
}

static const char *activation_word(relucl_activation act, char *buf, size_t size) {
    switch (act.kind) {
    case RELUCL_RELU: return "relu";
    case RELUCL_LEAKY_RELU: snprintf(buf, size, "leaky:%g", (double)act.alpha); return buf;
    case RELUCL_ELU: snprintf(buf, size, "elu:%g", (double)act.alpha); return buf;
    case RELUCL_CLIPPED_RELU: snprintf(buf, size, "clipped:%g", (double)act.alpha); return buf;
    case RELUCL_PRELU: snprintf(buf, size, "prelu:%g", (double)act.alpha); return buf;
    case RELUCL_IDENTITY: return "identity";
    }
    return "?";
}

/* Fills net->layers from spec; sizes only, no device memory yet. */
static relucl_status parse_spec(relucl_net *net, const char *fn, const char *spec) {
    relucl_context *ctx = net->ctx;
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (strcmp(spec, presets[i].name) == 0)
            spec = presets[i].spec;
    char text[RELUCL_NET_SPEC_SIZE];
    if (snprintf(text, sizeof text, "%s", spec) >= (int)sizeof text)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "spec is too long");
    size_t width = 0;
    int count = 0;
    for (char *save = NULL, *token = strtok_r(text, "-", &save); token;
         token = strtok_r(NULL, "-", &save)) {
        relucl_activation act;
        if (isdigit((unsigned char)token[0])) {
            char *end;
            unsigned long long units = strtoull(token, &end, 10);
            if (*end || units == 0 || units > (1u << 24))
                return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                   "spec: \"%s\" is not a layer width", token);
            if (width && count == RELUCL_NET_MAX_LAYERS)
                return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                   "spec: more than %d layers", RELUCL_NET_MAX_LAYERS);
            if (width)
                net->layers[count++] =
                    (net_layer){.act = {RELUCL_IDENTITY, 0.0f}, .in = width, .out = units};
            width = (size_t)units;
        } else if (parse_activation(token, &act)) {
            if (count == 0 || net->layers[count - 1].act.kind != RELUCL_IDENTITY)
                return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                   "spec: activation \"%s\" must follow a dense layer", token);
            net->layers[count - 1].act = act;
        } else {
            return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                               "spec: unknown word \"%s\" (expected a width or relu, leaky, elu, "
                               "relu6, clipped, prelu, identity)",
                               token);
        }
    }
    if (count == 0)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                           "spec \"%s\" has no dense layer (e.g. 784-128-relu-10)", spec);
    net->layer_count = count;
    /* The normalised spec, which checkpoints compare. */
    int used = snprintf(net->spec, sizeof net->spec, "%zu", net->layers[0].in);
    for (int i = 0; i < count && used > 0 && (size_t)used < sizeof net->spec; i++) {
        char word[48];
        const net_layer *l = &net->layers[i];
        used += snprintf(net->spec + used, sizeof net->spec - (size_t)used, "-%zu", l->out);
        if (l->act.kind != RELUCL_IDENTITY && (size_t)used < sizeof net->spec)
            used += snprintf(net->spec + used, sizeof net->spec - (size_t)used, "-%s",
                             activation_word(l->act, word, sizeof word));
    }
    return RELUCL_OK;
}

static relucl_tensor view(cl_mem buffer, size_t offset, size_t rows, size_t cols) {
    relucl_tensor t = {buffer, offset, cols ? 2 : 1, {rows, cols ? cols : 1, 1, 1}};
    return t;
}

static relucl_status alloc(relucl_net *net, const char *fn, size_t count, cl_mem *out) {
    cl_int err = CL_SUCCESS;
    *out = clCreateBuffer(net->ctx->cl, CL_MEM_READ_WRITE, (count ? count : 1) * sizeof(float),
                          NULL, &err);
    return err == CL_SUCCESS ? RELUCL_OK : relucl_fail_cl(net->ctx, fn, "clCreateBuffer", err);
}

/* Lays every layer's tensors out in the big buffers and allocates them. */
static relucl_status allocate(relucl_net *net, const char *fn) {
    size_t params = 0, acts = 0;
    for (int i = 0; i < net->layer_count; i++) {
        net_layer *l = &net->layers[i];
        l->keeps_z = l->act.kind == RELUCL_PRELU ||
                     (l->act.kind == RELUCL_LEAKY_RELU && !(l->act.alpha > 0.0f));
        params += l->in * l->out + l->out + (l->act.kind == RELUCL_PRELU ? l->out : 0);
        acts += net->max_batch * l->out * (l->keeps_z ? 3 : 2);
    }
    net->param_count = params;
    relucl_status status = alloc(net, fn, params, &net->params);
    if (status == RELUCL_OK)
        status = alloc(net, fn, params, &net->grads);
    if (status == RELUCL_OK)
        status = alloc(net, fn, 2 * params, &net->state);
    if (status == RELUCL_OK)
        status = alloc(net, fn, acts, &net->acts);
    if (status == RELUCL_OK)
        status = alloc(net, fn, 2, &net->counters);
    if (status != RELUCL_OK)
        return status;
    size_t p = 0, a = 0;
    for (int i = 0; i < net->layer_count; i++) {
        net_layer *l = &net->layers[i];
        l->w = view(net->params, p, l->in, l->out);
        l->dw = view(net->grads, p, l->in, l->out);
        p += l->in * l->out;
        l->b = view(net->params, p, l->out, 0);
        l->db = view(net->grads, p, l->out, 0);
        p += l->out;
        if (l->act.kind == RELUCL_PRELU) {
            l->slope = view(net->params, p, l->out, 0);
            l->dslope = view(net->grads, p, l->out, 0);
            p += l->out;
        }
        l->y = view(net->acts, a, net->max_batch, l->out);
        a += net->max_batch * l->out;
        l->dy = view(net->acts, a, net->max_batch, l->out);
        a += net->max_batch * l->out;
        if (l->keeps_z) {
            l->z = view(net->acts, a, net->max_batch, l->out);
            a += net->max_batch * l->out;
        }
    }
    net->all_params = view(net->params, 0, params, 0);
    net->all_grads = view(net->grads, 0, params, 0);
    net->moment1 = view(net->state, 0, params, 0);
    net->moment2 = view(net->state, params, params, 0);
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
        relucl_init w = {l->act.kind == RELUCL_IDENTITY ? RELUCL_INIT_XAVIER_NORMAL
                                                        : RELUCL_INIT_HE_NORMAL,
                         0.0f, l->in, l->out, seed, (unsigned long long)i};
        status = relucl_init_tensor(ctx, &w, &l->w);
        if (status == RELUCL_OK)
            status = relucl_tensor_fill(ctx, &l->b, 0.0f);
        if (status == RELUCL_OK && l->act.kind == RELUCL_PRELU)
            status = relucl_tensor_fill(ctx, &l->slope, l->act.alpha);
    }
    if (status == RELUCL_OK)
        status = relucl_tensor_fill(ctx, &(relucl_tensor){net->state, 0, 1, {2 * net->param_count, 1, 1, 1}}, 0.0f);
    if (status == RELUCL_OK)
        status = relucl_tensor_fill(ctx, &(relucl_tensor){net->counters, 0, 1, {2, 1, 1, 1}}, 0.0f);
    return status;
}

relucl_status relucl_net_create(relucl_context *ctx, const char *spec, size_t max_batch,
                                unsigned long long seed, relucl_net **out) {
    static const char fn[] = "relucl_net_create";
    relucl_status status = relucl_check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    if (!spec || !out)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is NULL",
                           spec ? "out" : "spec");
    if (max_batch == 0 || max_batch > (1u << 24))
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                           "max_batch is %zu, must be 1..16777216", max_batch);
    relucl_net *net = calloc(1, sizeof *net);
    if (!net)
        return relucl_fail(ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn, "out of host memory");
    net->ctx = ctx;
    net->max_batch = max_batch;
    net->opt = (relucl_optimizer){RELUCL_OPTIMIZER_SGD, {0.01f, 0.0f, 0.0f, 0},
                                  {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0}};
    status = parse_spec(net, fn, spec);
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
size_t relucl_net_inputs(const relucl_net *net) { return net ? net->layers[0].in : 0; }
size_t relucl_net_outputs(const relucl_net *net) {
    return net ? net->layers[net->layer_count - 1].out : 0;
}
size_t relucl_net_parameter_count(const relucl_net *net) { return net ? net->param_count : 0; }
unsigned long long relucl_net_steps(const relucl_net *net) { return net ? net->steps : 0; }
