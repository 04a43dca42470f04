/* A convolution with a fused ReLU on one 28 x 28 image: 16 random 3 x 3 filters, padding 1,
 * y = relu(conv(x, w) + b). The image is the first of Fashion-MNIST's test set when the data
 * is installed (Debian: dataset-fashion-mnist), else a synthetic pattern. Runs the direct
 * (NAIVE) and the im2col + GEMM algorithms, prints the output shape and each filter's
 * sparsity, and checks both against a float64 computation on the host.
 * Usage: conv-relu [device] */
#include "sample.h"

#include <math.h>
#include <stdio.h>

#define SIDE 28
#define FILTERS 16
#define KSIZE 3
#define IMAGES "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

/* Pixels in [0, 1]: a real image if there is one, else rings around the centre. */
static void load_image(float *x) {
    relucl_idx idx;
    char message[256];
    if (relucl_idx_load(IMAGES, &idx, message, sizeof message) == RELUCL_OK) {
        for (int i = 0; i < SIDE * SIDE; i++)
            x[i] = idx.data[i] / 255.0f;
        printf("image: the first of %s (%zu images)\n", IMAGES, idx.dims[0]);
        relucl_idx_free(&idx);
        return;
    }
    printf("image: synthetic rings (%s)\n", message);
    for (int h = 0; h < SIDE; h++)
        for (int w = 0; w < SIDE; w++) {
            double r = hypot(h - 13.5, w - 13.5);
            x[h * SIDE + w] = (float)(0.5 + 0.5 * cos(r));
        }
}

/* y[k][p][q] in float64: zero padding 1, stride 1, then the ReLU. */
static double reference(const float *x, const float *w, const float *b, int k, int p, int q) {
    double sum = b[k];
    for (int r = 0; r < KSIZE; r++)
        for (int s = 0; s < KSIZE; s++) {
            int h = p + r - 1, c = q + s - 1;
            if (h >= 0 && h < SIDE && c >= 0 && c < SIDE)
                sum += (double)x[h * SIDE + c] * w[(k * KSIZE + r) * KSIZE + s];
        }
    return sum > 0.0 ? sum : 0.0;
}

int main(int argc, char **argv) {
    relucl_context *ctx = sample_open(argc > 1 ? argv[1] : NULL);
    if (!ctx)
        return 1;

    static float xh[SIDE * SIDE], wh[FILTERS * KSIZE * KSIZE], bh[FILTERS];
    static float naive[FILTERS * SIDE * SIDE], gemm[FILTERS * SIDE * SIDE];
    load_image(xh);

    relucl_conv2d conv = {{1, 1}, {1, 1}, {1, 1}, 1};
    size_t x_dims[4] = {1, 1, SIDE, SIDE}, w_dims[4] = {FILTERS, 1, KSIZE, KSIZE},
           b_dims[1] = {FILTERS}, y_dims[4];
    relucl_tensor x = {0}, w = {0}, b = {0}, y = {0}; /* released at the end, made or not */
    relucl_init w_init = {RELUCL_INIT_HE_NORMAL, 0.0f, KSIZE * KSIZE, FILTERS, 3, 0};
    relucl_init b_init = {RELUCL_INIT_NORMAL, 0.1f, 0, 0, 3, 1};
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    int ok = check(ctx, relucl_conv2d_output_dims(ctx, &conv, x_dims, w_dims, y_dims)) &&
             check(ctx, relucl_tensor_create(ctx, 4, x_dims, &x)) &&
             check(ctx, relucl_tensor_create(ctx, 4, w_dims, &w)) &&
             check(ctx, relucl_tensor_create(ctx, 1, b_dims, &b)) &&
             check(ctx, relucl_tensor_create(ctx, 4, y_dims, &y)) &&
             check(ctx, relucl_tensor_write(ctx, &x, xh)) &&
             check(ctx, relucl_init_tensor(ctx, &w_init, &w)) &&
             check(ctx, relucl_init_tensor(ctx, &b_init, &b)) &&
             check(ctx, relucl_tensor_read(ctx, &w, wh)) &&
             check(ctx, relucl_tensor_read(ctx, &b, bh));
    if (ok)
        printf("x (%zu, %zu, %zu, %zu) * w (%zu, %zu, %zu, %zu), pad 1 -> y (%zu, %zu, %zu, %zu)\n",
               x_dims[0], x_dims[1], x_dims[2], x_dims[3], w_dims[0], w_dims[1], w_dims[2],
               w_dims[3], y_dims[0], y_dims[1], y_dims[2], y_dims[3]);

    /* The same convolution twice, the ReLU fused into each. */
    ok = ok && check(ctx, relucl_conv2d_forward(ctx, &conv, RELUCL_CONV_NAIVE, relu, &x, &w, &b,
                                                &y)) &&
         check(ctx, relucl_tensor_read(ctx, &y, naive)) &&
         check(ctx, relucl_conv2d_forward(ctx, &conv, RELUCL_CONV_GEMM, relu, &x, &w, &b, &y)) &&
         check(ctx, relucl_tensor_read(ctx, &y, gemm));

    if (ok) {
        printf("sparsity (fraction of zeros) per filter:\n");
        for (int k = 0; k < FILTERS; k++) {
            int zeros = 0;
            for (int i = 0; i < SIDE * SIDE; i++)
                zeros += naive[k * SIDE * SIDE + i] == 0.0f;
            printf("  %2d: %.2f%s", k, (double)zeros / (SIDE * SIDE), k % 4 == 3 ? "\n" : "");
        }

        /* One element shown (the centre pixel's largest response); all of them compared. */
        int k = 0, p = SIDE / 2, q = SIDE / 2;
        for (int f = 1; f < FILTERS; f++)
            if (naive[(f * SIDE + p) * SIDE + q] > naive[(k * SIDE + p) * SIDE + q])
                k = f;
        printf("y[0][%d][%d][%d]: naive %.6f, gemm %.6f, host %.6f\n", k, p, q,
               (double)naive[(k * SIDE + p) * SIDE + q], (double)gemm[(k * SIDE + p) * SIDE + q],
               reference(xh, wh, bh, k, p, q));
        double err_host = 0.0, err_algos = 0.0;
        for (k = 0; k < FILTERS; k++)
            for (p = 0; p < SIDE; p++)
                for (q = 0; q < SIDE; q++) {
                    int i = (k * SIDE + p) * SIDE + q;
                    double ref = reference(xh, wh, bh, k, p, q);
                    err_host = fmax(err_host, fabs(naive[i] - ref));
                    err_host = fmax(err_host, fabs(gemm[i] - ref));
                    err_algos = fmax(err_algos, fabs(naive[i] - gemm[i]));
                }
        ok = err_host < 1e-5 && err_algos < 1e-5;
        printf("max |device - host| %.1e, max |naive - gemm| %.1e (both < 1e-5): %s\n", err_host,
               err_algos, ok ? "PASS" : "FAIL");
    }

    relucl_tensor_release(&x);
    relucl_tensor_release(&w);
    relucl_tensor_release(&b);
    relucl_tensor_release(&y);
    relucl_context_destroy(ctx);
    return ok ? 0 : 1;
}
