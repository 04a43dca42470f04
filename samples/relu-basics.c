/* ReLU and its derivative on a small array, on the default device: once into a new tensor,
 * once in place, and the gradient computed from the output alone (what an in-place forward
 * leaves behind). */
#include "sample.h"

#include <stdio.h>

#define N 8

static void print_row(const char *label, const float *v) {
    printf("%-22s", label);
    for (int i = 0; i < N; i++)
        printf(" %6.2f", (double)v[i]);
    printf("\n");
}

int main(int argc, char **argv) {
    relucl_context *ctx = sample_open(argc > 1 ? argv[1] : NULL);
    if (!ctx)
        return 1;

    const float x_host[N] = {-3.0f, -1.5f, -0.0f, 0.0f, 0.25f, 1.0f, 2.5f, 4.0f};
    const float ones[N] = {1, 1, 1, 1, 1, 1, 1, 1};
    float y_host[N], dx_host[N];
    size_t dims[1] = {N};
    relucl_tensor x = {0}, y = {0}, dy = {0}; /* released at the end, made or not */
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    int ok = check(ctx, relucl_tensor_create(ctx, 1, dims, &x)) &&
             check(ctx, relucl_tensor_create(ctx, 1, dims, &y)) &&
             check(ctx, relucl_tensor_create(ctx, 1, dims, &dy)) &&
             check(ctx, relucl_tensor_write(ctx, &x, x_host)) &&
             check(ctx, relucl_tensor_write(ctx, &dy, ones));
    print_row("x", x_host);

    /* Out of place: y = relu(x), x unchanged. */
    ok = ok && check(ctx, relucl_activation_forward(ctx, relu, &x, &y)) &&
         check(ctx, relucl_tensor_read(ctx, &y, y_host));
    if (ok)
        print_row("relu(x)", y_host);

    /* The derivative: dx = dy * relu'(x) with dy = 1, written over dy (in place). */
    ok = ok && check(ctx, relucl_activation_backward(ctx, relu, &x, NULL, &dy, &dy)) &&
         check(ctx, relucl_tensor_read(ctx, &dy, dx_host));
    if (ok)
        print_row("relu'(x)", dx_host);

    /* In place: x itself becomes relu(x); the gradient then comes from the output. */
    ok = ok && check(ctx, relucl_tensor_write(ctx, &dy, ones)) &&
         check(ctx, relucl_activation_forward(ctx, relu, &x, &x)) &&
         check(ctx, relucl_activation_backward(ctx, relu, NULL, &x, &dy, &dy)) &&
         check(ctx, relucl_tensor_read(ctx, &x, y_host)) &&
         check(ctx, relucl_tensor_read(ctx, &dy, dx_host));
    if (ok) {
        print_row("x after in-place relu", y_host);
        print_row("relu' from the output", dx_host);
    }

    relucl_tensor_release(&x);
    relucl_tensor_release(&y);
    relucl_tensor_release(&dy);
    relucl_context_destroy(ctx);
    return ok ? 0 : 1;
}
