/* One dense ReLU layer, y = relu(x w + b), 784 -> 128 on a batch of 32, on the device:
 * He-normal weights, forward, and backward for an upstream gradient g (the gradient of
 * loss = sum(y * g)). Prints the weight spread against sqrt(2 / fan_in), how sparse the output
 * is and the gradient norms (relucl_tensor_stats, on the device), and checks a few entries of
 * dW and all of db against float64 on the host.
 * Usage: dense-layer [device] */
#include "sample.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define BATCH 32
#define IN 784
#define OUT 128

/* dW[i][j] = sum over the batch of x[b][i] * g[b][j] * relu'(z[b][j]), in float64. */
static double reference_dw(const float *x, const float *w, const float *b, const float *g, size_t i,
                           size_t j) {
    double sum = 0.0;
    for (size_t r = 0; r < BATCH; r++) {
        double z = b[j];
        for (size_t k = 0; k < IN; k++)
            z += (double)x[r * IN + k] * w[k * OUT + j];
        if (z > 0.0)
            sum += (double)x[r * IN + i] * g[r * OUT + j];
    }
    return sum;
}

int main(int argc, char **argv) {
    relucl_context *ctx = sample_open(argc > 1 ? argv[1] : NULL);
    if (!ctx)
        return 1;
    printf("layer: %d -> %d, relu, batch %d\n", IN, OUT, BATCH);

    size_t x_dims[2] = {BATCH, IN}, w_dims[2] = {IN, OUT}, b_dims[1] = {OUT},
           y_dims[2] = {BATCH, OUT};
    relucl_tensor x = {0}, w = {0}, b = {0}, z = {0}, y = {0}, g = {0}, dw = {0}, db = {0};
    int ok = check(ctx, relucl_tensor_create(ctx, 2, x_dims, &x)) &&
             check(ctx, relucl_tensor_create(ctx, 2, w_dims, &w)) &&
             check(ctx, relucl_tensor_create(ctx, 1, b_dims, &b)) &&
             check(ctx, relucl_tensor_create(ctx, 2, y_dims, &z)) &&
             check(ctx, relucl_tensor_create(ctx, 2, y_dims, &y)) &&
             check(ctx, relucl_tensor_create(ctx, 2, y_dims, &g)) &&
             check(ctx, relucl_tensor_create(ctx, 2, w_dims, &dw)) &&
             check(ctx, relucl_tensor_create(ctx, 1, b_dims, &db));

    /* He normal: N(0, 2 / fan_in) keeps the variance of the activations from layer to layer
     * when half of the units are zero. Input and upstream gradient are N(0, 1). */
    relucl_init he = {RELUCL_INIT_HE_NORMAL, 0.0f, IN, OUT, 42, 0};
    relucl_init x_init = {RELUCL_INIT_NORMAL, 1.0f, 0, 0, 42, 1};
    relucl_init g_init = {RELUCL_INIT_NORMAL, 1.0f, 0, 0, 42, 2};
    ok = ok && check(ctx, relucl_init_tensor(ctx, &he, &w)) &&
         check(ctx, relucl_init_tensor(ctx, &x_init, &x)) &&
         check(ctx, relucl_init_tensor(ctx, &g_init, &g)) &&
         check(ctx, relucl_tensor_fill(ctx, &b, 0.0f));

    /* Forward: z = x w + b, y = relu(z). Backward: g becomes dz, then dW = x^T dz, db. */
    relucl_dense layer = {{RELUCL_RELU, 0.0f}, &w, &b, NULL, RELUCL_WEIGHTS_IN_OUT};
    relucl_dense_grads grads = {&dw, &db, NULL, 0, NULL};
    float *xh = malloc(sizeof(float) * BATCH * IN), *wh = malloc(sizeof(float) * IN * OUT),
          *bh = malloc(sizeof(float) * OUT), *gh = malloc(sizeof(float) * BATCH * OUT),
          *dwh = malloc(sizeof(float) * IN * OUT), *dbh = malloc(sizeof(float) * OUT);
    ok = ok && xh && wh && bh && gh && dwh && dbh;
    ok = ok && check(ctx, relucl_dense_forward(ctx, &layer, &x, &z, &y)) &&
         check(ctx, relucl_tensor_read(ctx, &x, xh)) &&
         check(ctx, relucl_tensor_read(ctx, &w, wh)) &&
         check(ctx, relucl_tensor_read(ctx, &b, bh)) &&
         check(ctx, relucl_tensor_read(ctx, &g, gh)) &&
         check(ctx, relucl_dense_backward(ctx, &layer, &x, &z, &y, &g, NULL, &grads)) &&
         check(ctx, relucl_tensor_read(ctx, &dw, dwh)) &&
         check(ctx, relucl_tensor_read(ctx, &db, dbh));

    relucl_stats y_stats, dw_stats, db_stats;
    ok = ok && check(ctx, relucl_tensor_stats(ctx, &y, &y_stats)) &&
         check(ctx, relucl_tensor_stats(ctx, &dw, &dw_stats)) &&
         check(ctx, relucl_tensor_stats(ctx, &db, &db_stats));
    double max_err = 0.0;
    if (ok) {
        double mean = 0.0, var = 0.0;
        for (size_t i = 0; i < IN * OUT; i++)
            mean += wh[i];
        mean /= IN * OUT;
        for (size_t i = 0; i < IN * OUT; i++)
            var += (wh[i] - mean) * (wh[i] - mean);
        printf("weights: mean %+.5f, std %.5f vs sqrt(2/fan_in) = %.5f\n", mean,
               sqrt(var / (IN * OUT)), sqrt(2.0 / IN));

        printf("output: %zu of %zu activations are zero (sparsity %.3f)\n", y_stats.zeros,
               y_stats.count, (double)y_stats.zeros / (double)y_stats.count);
        printf("gradients: |dW| = %.4f, |db| = %.4f\n", dw_stats.l2, db_stats.l2);

        /* A few dW entries, spread over the matrix, and every db against float64. */
        for (size_t e = 0; e < 8; e++) {
            size_t i = (e * 97 + 5) % IN, j = (e * 37 + 3) % OUT;
            double ref = reference_dw(xh, wh, bh, gh, i, j);
            double err = fabs(dwh[i * OUT + j] - ref) / fmax(fabs(ref), 1e-2);
            printf("  dW[%3zu][%3zu] device %+.6f host %+.6f\n", i, j, (double)dwh[i * OUT + j],
                   ref);
            max_err = fmax(max_err, err);
        }
        for (size_t j = 0; j < OUT; j++) {
            double ref = 0.0;
            for (size_t r = 0; r < BATCH; r++) {
                double zr = bh[j];
                for (size_t k = 0; k < IN; k++)
                    zr += (double)xh[r * IN + k] * wh[k * OUT + j];
                ref += zr > 0.0 ? gh[r * OUT + j] : 0.0;
            }
            max_err = fmax(max_err, fabs(dbh[j] - ref) / fmax(fabs(ref), 1e-2));
        }
        ok = max_err < 1e-4;
        printf("gradient check (8 dW entries, all of db): max relative error %.1e < 1e-4: %s\n",
               max_err, ok ? "PASS" : "FAIL");
    }

    float *host[] = {xh, wh, bh, gh, dwh, dbh};
    for (size_t i = 0; i < sizeof host / sizeof host[0]; i++)
        free(host[i]);
    relucl_tensor *all[] = {&x, &w, &b, &z, &y, &g, &dw, &db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        relucl_tensor_release(all[i]);
    relucl_context_destroy(ctx);
    return ok ? 0 : 1;
}
