/* Network specs: "784-256-relu-128-relu-10", or with images
 * "1x28x28-conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-128-relu-10".
 *
 * The first token is the input: a width, or CxHxW. Then, separated by '-':
 *   N                      a dense layer of N units (an image before it is flattened)
 *   conv<K>[k<R>][p<P>][s<S>][d<D>]   a convolution: K filters R x R (default 3), zero
 *                          padding P (0), stride S (1), dilation D (1)
 *   maxpool<k>[s<S>][p<P>], avgpool<k>[s<S>][p<P>]   pooling, stride k unless given
 *   gap                    global average pooling to (C, 1, 1)
 *   flatten                accepted for readability; dense layers flatten anyway
 *   relu, leaky[:A], elu[:A], relu6, clipped:A, prelu[:A], identity
 *                          the activation after the dense or conv layer before it */
#include "net/net.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *spec;
} presets[] = {
    {"mlp", "784-256-relu-128-relu-10"},
    {"mlp-leaky", "784-256-leaky-128-leaky-10"},
    {"mlp-elu", "784-256-elu-128-elu-10"},
    {"mlp-prelu", "784-256-prelu-128-prelu-10"},
    {"deep", "784-64-relu-32-relu-16-relu-10"},
    {"cnn", "1x28x28-conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-128-relu-10"},
};

/* Reads an activation word ("relu", "leaky:0.2", ...). Returns 0 if it is not one. */
static int parse_activation(const char *word, relucl_activation *act) {
    static const struct {
        const char *name;
        relucl_activation_kind kind;
        float alpha;
    } words[] = {{"relu", RELUCL_RELU, 0.0f},
                 {"leaky", RELUCL_LEAKY_RELU, 0.01f},
                 {"elu", RELUCL_ELU, 1.0f},
                 {"relu6", RELUCL_CLIPPED_RELU, 6.0f},
                 {"clipped", RELUCL_CLIPPED_RELU, 6.0f},
                 {"prelu", RELUCL_PRELU, 0.25f},
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
        /* ELU's alpha and the clipped ceiling must be positive, or every step would fail. */
        return (act->kind != RELUCL_ELU && act->kind != RELUCL_CLIPPED_RELU) || act->alpha > 0.0f;
    }
    return 0;
}

/* Every number in a spec is at most this (widths, channels, sizes, strides), and so is each
 * layer's output count per sample; a layer has at most MAX_WEIGHTS weights. */
#define MAX_NUMBER ((size_t)1 << 24)
#define MAX_WEIGHTS ((size_t)1 << 36)

/* a * b, or SIZE_MAX when that overflows. */
static size_t mul(size_t a, size_t b) { return a && b > SIZE_MAX / a ? SIZE_MAX : a * b; }

/* Reads a decimal number of at most MAX_NUMBER at *text, moving *text past it; 0 if there is
 * none or it is larger. Signs and spaces are not numbers. */
static int parse_number(const char **text, size_t *out) {
    const char *p = *text;
    size_t v = 0;
    if (!isdigit((unsigned char)*p))
        return 0;
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (size_t)(*p - '0');
        if (v > MAX_NUMBER)
            return 0;
    }
    *out = v;
    *text = p;
    return 1;
}

/* Reads "<prefix>N" followed by letter-number options ("k3p1"); 0 if malformed. */
static int parse_numbers(const char *token, const char *prefix, const char *letters, size_t *first,
                         size_t *options) {
    size_t length = strlen(prefix);
    const char *p = token + length;
    if (strncmp(token, prefix, length) != 0 || !parse_number(&p, first))
        return 0;
    while (*p) {
        const char *slot = strchr(letters, *p);
        p++;
        if (!slot || !parse_number(&p, &options[slot - letters]))
            return 0;
    }
    return 1;
}

/* A whole token that is one number from 1 to MAX_NUMBER. */
static int parse_width(const char *token, size_t *width) {
    return parse_number(&token, width) && *token == '\0' && *width > 0;
}

/* The input: a width, or C x H x W whose product is at most MAX_NUMBER. */
static int parse_input(const char *token, size_t input[3]) {
    input[1] = input[2] = 1;
    if (parse_width(token, &input[0]))
        return 1;
    for (int i = 0; i < 3; i++) {
        if (i > 0 && *token++ != 'x')
            return 0;
        if (!parse_number(&token, &input[i]) || input[i] == 0)
            return 0;
    }
    return *token == '\0' && input[0] <= MAX_NUMBER / input[1] &&
           input[0] * input[1] <= MAX_NUMBER / input[2];
}

static relucl_status add_layer(relucl_net *net, const char *fn, net_layer layer) {
    if (net->layer_count == RELUCL_NET_MAX_LAYERS)
        return relucl__fail(net->ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "spec: more than %d layers", RELUCL_NET_MAX_LAYERS);
    net->layers[net->layer_count++] = layer;
    return RELUCL_OK;
}

/* Bounds that keep every size of the net far from overflowing a size_t; the device's own
 * limits are checked when the buffers are allocated. */
static relucl_status check_size(relucl_context *ctx, const char *fn, const char *token,
                                const net_layer *l) {
    size_t outputs = mul(mul(l->out[0], l->out[1]), l->out[2]);
    size_t weights = l->kind == NET_DENSE ? mul(l->in[0], l->out[0])
                     : l->kind == NET_CONV
                         ? mul(mul(mul(l->in[0], l->kernel), l->kernel), l->out[0])
                         : 0;
    if (outputs > MAX_NUMBER || weights > MAX_WEIGHTS)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "spec: \"%s\" makes a layer of more than %zu outputs per sample or "
                            "%zu weights",
                            token, MAX_NUMBER, MAX_WEIGHTS);
    return RELUCL_OK;
}

/* Applies one token after the input to the growing list of layers; cur is the shape so far. */
static relucl_status parse_token(relucl_net *net, const char *fn, const char *token,
                                 size_t cur[3]) {
    relucl_context *ctx = net->ctx;
    relucl_activation act;
    size_t n = 0, conv_opts[4] = {3, 0, 1, 1}, pool_opts[2] = {0, 0};
    net_layer l = {.act = {RELUCL_IDENTITY, 0.0f}, .in = {cur[0], cur[1], cur[2]}};
    if (parse_width(token, &n)) {
        l.kind = NET_DENSE;
        l.in[0] = relucl__shape_count(cur), l.in[1] = l.in[2] = 1;
        l.out[0] = n, l.out[1] = l.out[2] = 1;
    } else if (parse_numbers(token, "conv", "kpsd", &n, conv_opts)) {
        l.kind = NET_CONV;
        l.kernel = conv_opts[0];
        l.conv = (relucl_conv2d){{conv_opts[2], conv_opts[2]},
                                 {conv_opts[1], conv_opts[1]},
                                 {conv_opts[3], conv_opts[3]},
                                 1};
        size_t x[4] = {1, cur[0], cur[1], cur[2]}, w[4] = {n, cur[0], l.kernel, l.kernel}, y[4];
        if (n == 0 || relucl_conv2d_output_dims(ctx, &l.conv, x, w, y) != RELUCL_OK)
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "spec: \"%s\" does not fit a %zux%zux%zu input", token, cur[0],
                                cur[1], cur[2]);
        l.out[0] = y[1], l.out[1] = y[2], l.out[2] = y[3];
    } else if (parse_numbers(token, "maxpool", "sp", &n, pool_opts) ||
               parse_numbers(token, "avgpool", "sp", &n, pool_opts)) {
        l.kind = NET_POOL;
        size_t stride = pool_opts[0] ? pool_opts[0] : n;
        l.pool = (relucl_pool2d){token[0] == 'm' ? RELUCL_POOL_MAX : RELUCL_POOL_AVG,
                                 {n, n},
                                 {stride, stride},
                                 {pool_opts[1], pool_opts[1]}};
        size_t x[4] = {1, cur[0], cur[1], cur[2]}, y[4];
        if (n == 0 || relucl_pool2d_output_dims(ctx, &l.pool, x, y) != RELUCL_OK)
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "spec: \"%s\" does not fit a %zux%zux%zu input", token, cur[0],
                                cur[1], cur[2]);
        l.out[0] = y[1], l.out[1] = y[2], l.out[2] = y[3];
    } else if (strcmp(token, "gap") == 0) {
        l.kind = NET_GLOBAL_POOL;
        l.out[0] = cur[0], l.out[1] = l.out[2] = 1;
    } else if (strcmp(token, "flatten") == 0) {
        return RELUCL_OK;
    } else if (parse_activation(token, &act)) {
        net_layer *last = net->layer_count ? &net->layers[net->layer_count - 1] : NULL;
        if (!last || (last->kind != NET_DENSE && last->kind != NET_CONV) ||
            last->act.kind != RELUCL_IDENTITY)
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "spec: activation \"%s\" must follow a dense or conv layer", token);
        last->act = act;
        return RELUCL_OK;
    } else {
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "spec: unknown word \"%s\" (expected a width, convK, maxpoolK, "
                            "avgpoolK, gap, flatten or an activation)",
                            token);
    }
    RELUCL__TRY(check_size(ctx, fn, token, &l));
    memcpy(cur, l.out, sizeof l.out);
    return add_layer(net, fn, l);
}

static int append(char *spec, size_t size, int used, const char *format, ...)
    __attribute__((format(printf, 4, 5)));
static int append(char *spec, size_t size, int used, const char *format, ...) {
    if (used < 0 || (size_t)used >= size)
        return used;
    va_list args;
    va_start(args, format);
    int n = vsnprintf(spec + used, size - (size_t)used, format, args);
    va_end(args);
    return n < 0 ? -1 : used + n;
}

/* The shortest %g spelling of f that reads back as f, so a normalised spec re-creates the
 * very same net. */
static const char *float_text(float f, char *text, size_t size) {
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(text, size, "%.*g", digits, (double)f);
        if (strtof(text, NULL) == f)
            break;
    }
    return text;
}

/* The spec in one canonical spelling, which checkpoints compare; 0 if it does not fit. */
static int normalise(relucl_net *net, const size_t input[3]) {
    char *s = net->spec;
    size_t size = sizeof net->spec;
    int used = input[1] == 1 && input[2] == 1
                   ? append(s, size, 0, "%zu", input[0])
                   : append(s, size, 0, "%zux%zux%zu", input[0], input[1], input[2]);
    for (int i = 0; i < net->layer_count; i++) {
        const net_layer *l = &net->layers[i];
        switch (l->kind) {
        case NET_DENSE: used = append(s, size, used, "-%zu", l->out[0]); break;
        case NET_CONV:
            used = append(s, size, used, "-conv%zuk%zup%zus%zud%zu", l->out[0], l->kernel,
                          l->conv.pad[0], l->conv.stride[0], l->conv.dilation[0]);
            break;
        case NET_POOL:
            used = append(s, size, used, "-%spool%zus%zup%zu",
                          l->pool.kind == RELUCL_POOL_MAX ? "max" : "avg", l->pool.kernel[0],
                          l->pool.stride[0], l->pool.pad[0]);
            break;
        case NET_GLOBAL_POOL: used = append(s, size, used, "-gap"); break;
        }
        static const char *const names[] = {[RELUCL_LEAKY_RELU] = "leaky",
                                            [RELUCL_ELU] = "elu",
                                            [RELUCL_CLIPPED_RELU] = "clipped",
                                            [RELUCL_PRELU] = "prelu"};
        char alpha[32];
        if (l->act.kind == RELUCL_RELU)
            used = append(s, size, used, "-relu");
        else if (l->act.kind != RELUCL_IDENTITY)
            used = append(s, size, used, "-%s:%s", names[l->act.kind],
                          float_text(l->act.alpha, alpha, sizeof alpha));
    }
    return used >= 0 && (size_t)used < size;
}

relucl_status relucl__net_parse(relucl_net *net, const char *fn, const char *spec) {
    relucl_context *ctx = net->ctx;
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (strcmp(spec, presets[i].name) == 0)
            spec = presets[i].spec;
    char text[RELUCL_NET_SPEC_SIZE];
    if (snprintf(text, sizeof text, "%s", spec) >= (int)sizeof text)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "spec is too long");
    char *save = NULL, *token = strtok_r(text, "-", &save);
    size_t input[3];
    if (!token || !parse_input(token, input))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "spec \"%s\" must start with the input: a width or CxHxW, at most "
                            "%zu values",
                            spec, MAX_NUMBER);
    size_t cur[3] = {input[0], input[1], input[2]};
    net->layer_count = 0;
    for (token = strtok_r(NULL, "-", &save); token; token = strtok_r(NULL, "-", &save)) {
        relucl_status status = parse_token(net, fn, token, cur);
        if (status != RELUCL_OK)
            return status;
    }
    if (net->layer_count == 0 || net->layers[net->layer_count - 1].kind != NET_DENSE)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "spec \"%s\" must end with a dense layer (e.g. 784-128-relu-10)", spec);
    if (!normalise(net, input))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "spec: written out in full (relucl_net_spec) it is longer than %d "
                            "characters",
                            RELUCL_NET_SPEC_SIZE - 1);
    return RELUCL_OK;
}
