/* How gradients flow back through a deep ReLU network, 784-64-32-16 plus an output layer of
 * 10 classes, on random input with random labels (softmax cross-entropy), one batch of 256:
 * 1. the mean |dW| of each layer with ReLU, Leaky ReLU (0.01) and ELU, from He weights;
 * 2. the dead units of each hidden layer (zero for every sample of the batch) with ReLU under
 *    a bad initialisation (weights N(0, 0.01^2), biases -1) and under He initialisation.
 * Built from relucl_dense_forward / relucl_dense_backward directly, layer by layer; the
 * figures come from relucl_tensor_stats and relucl_dead_units_update on the device.
 * Usage: gradient-flow [device] */
#include "sample.h"

#include <stdio.h>

#define BATCH 256
#define LAYERS 4
#define HIDDEN (LAYERS - 1)
static const size_t width[LAYERS + 1] = {784, 64, 32, 16, 10};

typedef struct network {
    relucl_tensor x, labels, loss;
    relucl_tensor w[LAYERS], b[LAYERS], dw[LAYERS], db[LAYERS];
    relucl_tensor z[LAYERS], y[LAYERS], dy[LAYERS]; /* per layer, (BATCH, width[i + 1]) */
} network;

static int create(relucl_context *ctx, network *net) {
    size_t x_dims[2] = {BATCH, width[0]}, one = 1, batch = BATCH;
    int ok = check(ctx, relucl_tensor_create(ctx, 2, x_dims, &net->x)) &&
             check(ctx, relucl_tensor_create(ctx, 1, &batch, &net->labels)) &&
             check(ctx, relucl_tensor_create(ctx, 1, &one, &net->loss));
    for (int i = 0; i < LAYERS && ok; i++) {
        size_t w_dims[2] = {width[i], width[i + 1]}, y_dims[2] = {BATCH, width[i + 1]};
        ok = check(ctx, relucl_tensor_create(ctx, 2, w_dims, &net->w[i])) &&
             check(ctx, relucl_tensor_create(ctx, 2, w_dims, &net->dw[i])) &&
             check(ctx, relucl_tensor_create(ctx, 1, &w_dims[1], &net->b[i])) &&
             check(ctx, relucl_tensor_create(ctx, 1, &w_dims[1], &net->db[i])) &&
             check(ctx, relucl_tensor_create(ctx, 2, y_dims, &net->z[i])) &&
             check(ctx, relucl_tensor_create(ctx, 2, y_dims, &net->y[i])) &&
             check(ctx, relucl_tensor_create(ctx, 2, y_dims, &net->dy[i]));
    }
    return ok;
}

/* He (Xavier for the output layer, which has no activation) with zero biases, or the bad
 * start: tiny weights and biases of -1, so that almost every pre-activation is negative. */
static int initialise(relucl_context *ctx, network *net, int bad) {
    int ok = 1;
    for (int i = 0; i < LAYERS && ok; i++) {
        relucl_init init = {i == HIDDEN ? RELUCL_INIT_XAVIER_NORMAL : RELUCL_INIT_HE_NORMAL,
                            0.0f,
                            width[i],
                            width[i + 1],
                            7,
                            (unsigned long long)i};
        if (bad) {
            init.kind = RELUCL_INIT_NORMAL;
            init.value = 0.01f;
        }
        ok = check(ctx, relucl_init_tensor(ctx, &init, &net->w[i])) &&
             check(ctx, relucl_tensor_fill(ctx, &net->b[i], bad && i < HIDDEN ? -1.0f : 0.0f));
    }
    return ok;
}

/* Forward through every layer, the loss, and backward into dw and db. */
static int forward_backward(relucl_context *ctx, network *net, relucl_activation act) {
    relucl_activation none = {RELUCL_IDENTITY, 0.0f};
    relucl_dense layer[LAYERS];
    int ok = 1;
    for (int i = 0; i < LAYERS && ok; i++) {
        layer[i] = (relucl_dense){i < HIDDEN ? act : none, &net->w[i], &net->b[i], NULL,
                                  RELUCL_WEIGHTS_IN_OUT};
        const relucl_tensor *in = i == 0 ? &net->x : &net->y[i - 1];
        ok = check(ctx, relucl_dense_forward(ctx, &layer[i], in, &net->z[i], &net->y[i]));
    }
    ok = ok && check(ctx, relucl_softmax_cross_entropy(ctx, &net->y[HIDDEN], &net->labels,
                                                       &net->dy[HIDDEN], &net->loss, NULL, 0));
    for (int i = LAYERS - 1; i >= 0 && ok; i--) {
        relucl_dense_grads grads = {&net->dw[i], &net->db[i], NULL, 0, NULL};
        const relucl_tensor *in = i == 0 ? &net->x : &net->y[i - 1];
        ok =
            check(ctx, relucl_dense_backward(ctx, &layer[i], in, &net->z[i], &net->y[i],
                                             &net->dy[i], i == 0 ? NULL : &net->dy[i - 1], &grads));
    }
    return ok;
}

static double mean_abs(relucl_context *ctx, const relucl_tensor *t, int *ok) {
    relucl_stats stats = {0};
    *ok = *ok && check(ctx, relucl_tensor_stats(ctx, t, &stats));
    return stats.mean_abs;
}

/* The fraction of a layer's units that are zero for every row of y: alive[u] is set for each
 * unit u with a non-zero output, and the zeros left in alive are the dead units. */
static double dead_fraction(relucl_context *ctx, const relucl_tensor *y, int *ok) {
    relucl_tensor alive = {0};
    relucl_stats stats = {0};
    *ok = *ok && check(ctx, relucl_tensor_create(ctx, 1, &y->dims[1], &alive)) &&
          check(ctx, relucl_tensor_fill(ctx, &alive, 0.0f)) &&
          check(ctx, relucl_dead_units_update(ctx, y, &alive)) &&
          check(ctx, relucl_tensor_stats(ctx, &alive, &stats));
    relucl_tensor_release(&alive);
    return *ok ? (double)stats.zeros / (double)stats.count : 0.0;
}

int main(int argc, char **argv) {
    relucl_context *ctx = sample_open(argc > 1 ? argv[1] : NULL);
    if (!ctx)
        return 1;
    printf("network: 784-64-32-16-10, batch %d of N(0, 1) inputs, random labels\n", BATCH);

    network net = {0};
    float labels[BATCH];
    unsigned int state = 12345u;
    for (int i = 0; i < BATCH; i++) { /* a small LCG: the same labels everywhere */
        state = state * 1664525u + 1013904223u;
        labels[i] = (float)((state >> 16) % 10u);
    }
    relucl_init x_init = {RELUCL_INIT_NORMAL, 1.0f, 0, 0, 7, 100};
    int ok = create(ctx, &net) && check(ctx, relucl_init_tensor(ctx, &x_init, &net.x)) &&
             check(ctx, relucl_tensor_write(ctx, &net.labels, labels));

    /* 1. Mean |dW| per layer, the same He weights for each activation. */
    const relucl_activation acts[3] = {
        {RELUCL_RELU, 0.0f}, {RELUCL_LEAKY_RELU, 0.01f}, {RELUCL_ELU, 1.0f}};
    const char *names[3] = {"relu", "leaky 0.01", "elu"};
    printf("\nmean |dW| per layer (He initialisation)\n%-12s %10s %10s %10s %10s %8s\n",
           "activation", "layer 1", "layer 2", "layer 3", "output", "loss");
    for (int a = 0; a < 3 && ok; a++) {
        float loss = 0.0f;
        ok = initialise(ctx, &net, 0) && forward_backward(ctx, &net, acts[a]) &&
             check(ctx, relucl_tensor_read(ctx, &net.loss, &loss));
        printf("%-12s", names[a]);
        for (int i = 0; i < LAYERS && ok; i++)
            printf(" %10.3e", mean_abs(ctx, &net.dw[i], &ok));
        printf(" %8.4f\n", (double)loss);
    }

    /* 2. Dead ReLU units: a unit with zero output on every sample passes no gradient back,
     * so its weights never change again; when the layers above are all dead, nothing reaches
     * the first layer at all. */
    double dead[2][HIDDEN] = {{0}}, first_grad[2] = {0};
    const char *starts[2] = {"He normal, bias 0", "N(0, 0.01^2), bias -1"};
    printf("\ndead ReLU units per hidden layer (zero for all %d samples)\n", BATCH);
    for (int bad = 0; bad < 2 && ok; bad++) {
        ok = initialise(ctx, &net, bad) && forward_backward(ctx, &net, acts[0]);
        printf("%-24s", starts[bad]);
        for (int i = 0; i < HIDDEN && ok; i++) {
            dead[bad][i] = dead_fraction(ctx, &net.y[i], &ok);
            printf("  layer %d: %5.1f%%", i + 1, 100.0 * dead[bad][i]);
        }
        first_grad[bad] = mean_abs(ctx, &net.dw[0], &ok);
        printf("  mean |dW1| %.2e\n", first_grad[bad]);
    }

    if (ok) {
        int pass = 1;
        for (int i = 0; i < HIDDEN; i++)
            pass = pass && dead[0][i] <= 0.10 && dead[1][i] >= 0.80;
        pass = pass && first_grad[0] > 100.0 * first_grad[1];
        printf("dead fraction: He <= 10%% and bad start >= 80%% in every hidden layer: %s\n",
               pass ? "PASS" : "FAIL");
        ok = pass;
    }

    relucl_tensor_release(&net.x);
    relucl_tensor_release(&net.labels);
    relucl_tensor_release(&net.loss);
    for (int i = 0; i < LAYERS; i++) {
        relucl_tensor *t[7] = {&net.w[i], &net.b[i], &net.dw[i], &net.db[i],
                               &net.z[i], &net.y[i], &net.dy[i]};
        for (int j = 0; j < 7; j++)
            relucl_tensor_release(t[j]);
    }
    relucl_context_destroy(ctx);
    return ok ? 0 : 1;
}
