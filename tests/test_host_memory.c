/* Tensors over the caller's host memory (relucl_tensor_wrap_host) and the map/unmap window
 * in which the host may touch a tensor's memory. */
#include "support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* n floats at `misalign` bytes past a 256-byte boundary, poisoned. aligned_alloc wants the
 * size to be a multiple of the alignment. */
static float *host_alloc(size_t n, size_t misalign, void **raw) {
    size_t bytes = 256 + (n + 1) * sizeof(float);
    *raw = aligned_alloc(256, (bytes + 255) / 256 * 256);
    assert_non_null(*raw);
    float *p = (float *)((char *)*raw + misalign);
    support_poison_fill(p, n);
    return p;
}

/* relu over wrapped memory in place, at awkward sizes and alignments: the mapped view is the
 * caller's memory itself and holds the float64 reference's values. */
static void test_ops_run_on_wrapped_memory_in_place(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    const size_t sizes[] = {1, 2, 7, 16, 1031, 65537};
    const size_t misaligns[] = {0, 4, 12, 64};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t m = 0; m < sizeof misaligns / sizeof *misaligns; m++) {
            size_t n = sizes[s];
            void *raw;
            float *data = host_alloc(n, misaligns[m], &raw);
            float *x = malloc(n * sizeof *x), *want = malloc(n * sizeof *want);
            support_fill_special(x, n, 10 + s, -2.0f, 2.0f, 0.0f);
            memcpy(data, x, n * sizeof *x);
            relucl_tensor t;
            assert_int_equal(relucl_tensor_wrap_host(ctx, data, 1, &n, &t), RELUCL_OK);
            assert_int_equal(t.offset, 0);
            relucl_activation relu = {RELUCL_RELU, 0.0f};
            assert_int_equal(relucl_activation_forward(ctx, relu, &t, &t), RELUCL_OK);
            float *view = NULL;
            assert_int_equal(relucl_tensor_map_host(ctx, &t, &view), RELUCL_OK);
            assert_ptr_equal(view, data); /* shared, not a copy */
            for (size_t i = 0; i < n; i++)
                want[i] = x[i] != x[i] ? x[i] : x[i] > 0.0f ? x[i] : 0.0f;
            support_normalize_zero_sign(view, x, n);
            assert_true(support_equal_bits(view, want, n, "relu on wrapped memory"));
            assert_int_equal(relucl_tensor_unmap_host(ctx, &t, view), RELUCL_OK);
            relucl_tensor_release(&t);
            assert_int_equal(relucl_context_finish(ctx), RELUCL_OK);
            free(x);
            free(want);
            free(raw);
        }
}

/* Host writes inside the window are what the next op sees; the op's output in device memory
 * comes back through relucl_tensor_read. */
static void test_host_writes_in_the_window_reach_the_device(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    enum { N = 333 };
    void *raw;
    float *data = host_alloc(N, 8, &raw);
    relucl_tensor t, y;
    size_t n = N;
    assert_int_equal(relucl_tensor_wrap_host(ctx, data, 1, &n, &t), RELUCL_OK);
    assert_int_equal(relucl_tensor_create(ctx, 1, &n, &y), RELUCL_OK);
    float *view = NULL;
    assert_int_equal(relucl_tensor_map_host(ctx, &t, &view), RELUCL_OK);
    float x[N], got[N], want[N];
    support_fill_uniform(x, N, 5, -1.0f, 1.0f);
    memcpy(view, x, sizeof x);
    assert_int_equal(relucl_tensor_unmap_host(ctx, &t, view), RELUCL_OK);
    relucl_activation leaky = {RELUCL_LEAKY_RELU, 0.125f};
    assert_int_equal(relucl_activation_forward(ctx, leaky, &t, &y), RELUCL_OK);
    assert_int_equal(relucl_tensor_read(ctx, &y, got), RELUCL_OK);
    for (size_t i = 0; i < N; i++)
        want[i] = x[i] > 0.0f ? x[i] : 0.125f * x[i];
    assert_true(support_equal_bits(got, want, N, "leaky relu of host-written memory"));

    /* The window works on device tensors too: the host fills y through it. */
    assert_int_equal(relucl_tensor_map_host(ctx, &y, &view), RELUCL_OK);
    for (size_t i = 0; i < N; i++)
        view[i] = (float)i;
    assert_int_equal(relucl_tensor_unmap_host(ctx, &y, view), RELUCL_OK);
    assert_int_equal(relucl_tensor_read(ctx, &y, got), RELUCL_OK);
    for (size_t i = 0; i < N; i++)
        assert_true(got[i] == (float)i);
    relucl_tensor_release(&t);
    relucl_tensor_release(&y);
    free(raw);
}

/* A dense layer whose input and output are host memory and whose weights live on the
 * device, against a float64 reference. */
static void test_wrapped_and_device_tensors_mix(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    enum { B = 3, IN = 13, OUT = 5 };
    void *raw_x, *raw_y;
    float *hx = host_alloc(B * IN, 4, &raw_x), *hy = host_alloc(B * OUT, 0, &raw_y);
    float w[IN * OUT];
    support_fill_uniform(hx, B * IN, 6, -1.0f, 1.0f);
    support_fill_uniform(w, IN * OUT, 7, -1.0f, 1.0f);
    relucl_tensor x, y, tw;
    assert_int_equal(relucl_tensor_wrap_host(ctx, hx, 2, (const size_t[]){B, IN}, &x), RELUCL_OK);
    assert_int_equal(relucl_tensor_wrap_host(ctx, hy, 2, (const size_t[]){B, OUT}, &y), RELUCL_OK);
    cl_mem bw = support_buffer_from(w, IN * OUT);
    tw = support_view(bw, 0, 2, (const size_t[]){IN, OUT});
    relucl_dense layer = {{RELUCL_RELU, 0.0f}, &tw, NULL, NULL, RELUCL_WEIGHTS_IN_OUT};
    assert_int_equal(relucl_dense_forward(ctx, &layer, &x, NULL, &y), RELUCL_OK);
    float *view = NULL;
    assert_int_equal(relucl_tensor_map_host(ctx, &y, &view), RELUCL_OK);
    double want[B * OUT];
    for (int r = 0; r < B; r++)
        for (int c = 0; c < OUT; c++) {
            double s = 0;
            for (int k = 0; k < IN; k++)
                s += (double)hx[r * IN + k] * w[k * OUT + c];
            want[r * OUT + c] = s > 0 ? s : 0;
        }
    assert_true(support_close(view, want, B * OUT, 1e-5, 1e-6, NULL, "dense over host memory"));
    assert_int_equal(relucl_tensor_unmap_host(ctx, &y, view), RELUCL_OK);
    relucl_tensor_release(&x);
    relucl_tensor_release(&y);
    support_buffer_release(bw);
    free(raw_x);
    free(raw_y);
}

/* Bad pointers and shapes are refused by name and leave *out as it was. */
static void test_bad_host_memory_is_refused(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    void *raw;
    float *data = host_alloc(16, 0, &raw);
    relucl_tensor out, before;
    memset(&out, 0xAB, sizeof out);
    before = out;
    size_t n = 4;
    assert_int_equal(relucl_tensor_wrap_host(NULL, data, 1, &n, &out),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_tensor_wrap_host(ctx, NULL, 1, &n, &out),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("data"));
    for (size_t off = 1; off < 4; off++) {
        assert_int_equal(relucl_tensor_wrap_host(ctx, (char *)data + off, 1, &n, &out),
                         RELUCL_ERROR_INVALID_ARGUMENT);
        assert_true(support_error_mentions("aligned"));
    }
    assert_int_equal(relucl_tensor_wrap_host(ctx, data, 0, &n, &out), RELUCL_ERROR_SHAPE);
    assert_int_equal(relucl_tensor_wrap_host(ctx, data, 5, &n, &out), RELUCL_ERROR_SHAPE);
    assert_int_equal(relucl_tensor_wrap_host(ctx, data, 1, NULL, &out),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("dims"));
    assert_int_equal(relucl_tensor_wrap_host(ctx, data, 2, (const size_t[]){SIZE_MAX / 2, 3}, &out),
                     RELUCL_ERROR_SHAPE);
    assert_int_equal(relucl_tensor_wrap_host(ctx, data, 1, &n, NULL),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_memory_equal(&out, &before, sizeof out);
    /* An empty tensor needs no memory; its window is empty. */
    size_t zero = 0;
    assert_int_equal(relucl_tensor_wrap_host(ctx, NULL, 1, &zero, &out), RELUCL_OK);
    float *view = data;
    assert_int_equal(relucl_tensor_map_host(ctx, &out, &view), RELUCL_OK);
    assert_null(view);
    assert_int_equal(relucl_tensor_unmap_host(ctx, &out, view), RELUCL_OK);
    relucl_tensor_release(&out);
    free(raw);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_run_on_wrapped_memory_in_place),
        cmocka_unit_test(test_host_writes_in_the_window_reach_the_device),
        cmocka_unit_test(test_wrapped_and_device_tensors_mix),
        cmocka_unit_test(test_bad_host_memory_is_refused),
    };
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
