/* Tensor descriptors, allocation, copies and the checks every op relies on. */
#include "support.h"

#include "core/core.h"

#include <stdint.h>
#include <string.h>

static void test_wrap_sets_unused_dims_to_one(void **state) {
    (void)state;
    size_t dims[2] = {3, 5};
    relucl_tensor t;
    assert_int_equal(relucl_tensor_wrap((cl_mem)NULL, 7, 2, dims, &t), RELUCL_OK);
    assert_int_equal(t.offset, 7);
    assert_int_equal(t.dims[2], 1);
    assert_int_equal(t.dims[3], 1);
    assert_int_equal(relucl_tensor_count(&t), 15);
    assert_int_equal(relucl_tensor_wrap(NULL, 0, 0, dims, &t), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_tensor_wrap(NULL, 0, 5, dims, &t), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_tensor_wrap(NULL, 0, 2, NULL, &t), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_tensor_count(NULL), 0);
}

static void test_create_write_read_round_trip(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    const size_t sizes[] = {1, 3, 4097};
    for (size_t s = 0; s < 3; s++) {
        size_t dims[3] = {1, sizes[s], 1};
        relucl_tensor t;
        assert_int_equal(relucl_tensor_create(ctx, 3, dims, &t), RELUCL_OK);
        float in[4097], out[4097];
        support_fill_special(in, sizes[s], 11 + s, -3.0f, 3.0f, 1.0f);
        support_poison_fill(out, 4097);
        assert_int_equal(relucl_tensor_write(ctx, &t, in), RELUCL_OK);
        assert_int_equal(relucl_tensor_read(ctx, &t, out), RELUCL_OK);
        assert_true(support_equal_bits(out, in, sizes[s], "round trip"));
        assert_true(support_is_poison(out, sizes[s], 4097, "past the end"));
        relucl_tensor_release(&t);
        assert_null(t.buffer);
    }
    relucl_tensor_release(NULL);
}

static void test_read_write_and_fill_honour_the_offset(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    cl_mem buffer = support_buffer_poisoned(20);
    relucl_tensor t = support_view1(buffer, 7, 5);
    const float in[5] = {1, 2, 3, 4, 5};
    assert_int_equal(relucl_tensor_write(ctx, &t, in), RELUCL_OK);
    assert_int_equal(relucl_tensor_fill(ctx, &(relucl_tensor){buffer, 13, 1, {2, 1, 1, 1}}, -0.0f),
                     RELUCL_OK);
    float all[20];
    support_buffer_read(buffer, 0, all, 20);
    assert_true(support_is_poison(all, 0, 7, "before the view"));
    assert_true(support_equal_bits(all + 7, in, 5, "the view"));
    assert_true(support_is_poison(all, 12, 13, "between"));
    assert_int_equal(support_bits(all[13]), 0x80000000u);
    assert_int_equal(support_bits(all[14]), 0x80000000u);
    assert_true(support_is_poison(all, 15, 20, "after"));
    support_buffer_release(buffer);
}

static void test_empty_tensor_is_allowed(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    size_t dims[2] = {0, 9};
    relucl_tensor t;
    assert_int_equal(relucl_tensor_create(ctx, 2, dims, &t), RELUCL_OK);
    assert_int_equal(relucl_tensor_count(&t), 0);
    assert_int_equal(relucl_tensor_write(ctx, &t, NULL), RELUCL_OK);
    assert_int_equal(relucl_tensor_read(ctx, &t, NULL), RELUCL_OK);
    assert_int_equal(relucl_tensor_fill(ctx, &t, 1.0f), RELUCL_OK);
    relucl_tensor_release(&t);
}

static void test_create_rejects_bad_arguments(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    relucl_tensor t = {(cl_mem)0x1, 3, 1, {1, 1, 1, 1}};
    const relucl_tensor before = t;
    size_t dims[4] = {2, 2, 2, 2}, huge[2] = {SIZE_MAX / 2, 4};
    assert_int_equal(relucl_tensor_create(NULL, 1, dims, &t), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_tensor_create(ctx, 1, dims, NULL), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("out"));
    assert_int_equal(relucl_tensor_create(ctx, 1, NULL, &t), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("dims"));
    assert_int_equal(relucl_tensor_create(ctx, 0, dims, &t), RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("ndim"));
    assert_int_equal(relucl_tensor_create(ctx, 5, dims, &t), RELUCL_ERROR_SHAPE);
    assert_int_equal(relucl_tensor_create(ctx, 2, huge, &t), RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("overflows"));
    assert_memory_equal(&t, &before, sizeof t);
}

/* The checks every op shares: each names the argument and the reason. */
static void test_check_tensor_catches_each_bad_descriptor(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    cl_mem buffer = support_buffer_poisoned(10);
    size_t n = 12345;
    size_t ten[1] = {10}, eleven[1] = {11};
    size_t huge[2] = {SIZE_MAX / 2, 4}, five[5] = {1, 1, 1, 1, 1};
    relucl_tensor good = support_view(buffer, 0, 1, ten);
    relucl_tensor shifted = support_view(buffer, 1, 1, ten);
    relucl_tensor too_long = support_view(buffer, 0, 1, eleven);
    relucl_tensor no_buffer = support_view_raw(NULL, 0, 1, ten);
    relucl_tensor ndim0 = support_view_raw(buffer, 0, 0, ten);
    relucl_tensor ndim5 = support_view_raw(buffer, 0, 5, five);
    relucl_tensor overflow = support_view_raw(buffer, 0, 2, huge);
    relucl_tensor offset_overflow = support_view_raw(buffer, SIZE_MAX - 2, 1, ten);

    assert_int_equal(relucl__check_tensor(ctx, "f", "x", &good, &n), RELUCL_OK);
    assert_int_equal(n, 10);
    assert_int_equal(relucl__check_tensor(ctx, "f", "x", &(relucl_tensor){buffer, 4, 2,
                                                                         {2, 3, 1, 1}},
                                         &n),
                     RELUCL_OK);
    struct {
        const relucl_tensor *t;
        relucl_status status;
        const char *word;
    } cases[] = {
        {NULL, RELUCL_ERROR_INVALID_ARGUMENT, "NULL"},
        {&no_buffer, RELUCL_ERROR_INVALID_ARGUMENT, "buffer"},
        {&ndim0, RELUCL_ERROR_SHAPE, "ndim"},
        {&ndim5, RELUCL_ERROR_SHAPE, "ndim"},
        {&overflow, RELUCL_ERROR_SHAPE, "overflows"},
        {&offset_overflow, RELUCL_ERROR_SHAPE, "offset"},
        {&shifted, RELUCL_ERROR_SHAPE, "holds"},
        {&too_long, RELUCL_ERROR_SHAPE, "holds"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        n = 777;
        assert_int_equal(relucl__check_tensor(ctx, "relucl_demo", "weights", cases[i].t, &n),
                         cases[i].status);
        assert_int_equal(n, 777);
        assert_true(support_error_mentions("weights"));
        assert_true(support_error_mentions(cases[i].word));
        assert_true(support_error_mentions("relucl_demo"));
    }
    support_buffer_release(buffer);
}

static void test_overlap_allows_only_the_same_view(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    cl_mem a = support_buffer_poisoned(16), b = support_buffer_poisoned(16);
    relucl_tensor x = support_view1(a, 0, 8), same = support_view1(a, 0, 8);
    relucl_tensor shifted = support_view1(a, 4, 8), after = support_view1(a, 8, 8);
    relucl_tensor other = support_view1(b, 0, 8);
    assert_int_equal(relucl__check_overlap(ctx, "f", "y", &same, "x", &x, 1), RELUCL_OK);
    assert_int_equal(relucl__check_overlap(ctx, "f", "y", &same, "x", &x, 0),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl__check_overlap(ctx, "f", "y", &shifted, "x", &x, 1),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("overlaps"));
    assert_int_equal(relucl__check_overlap(ctx, "f", "y", &after, "x", &x, 0), RELUCL_OK);
    assert_int_equal(relucl__check_overlap(ctx, "f", "y", &other, "x", &x, 0), RELUCL_OK);
    support_buffer_release(a);
    support_buffer_release(b);
}

static void test_copies_reject_null_host_memory(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    cl_mem buffer = support_buffer_poisoned(4);
    relucl_tensor t = support_view1(buffer, 0, 4);
    assert_int_equal(relucl_tensor_write(ctx, &t, NULL), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("src"));
    assert_int_equal(relucl_tensor_read(ctx, &t, NULL), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("dst"));
    float x[4];
    assert_int_equal(relucl_tensor_read(NULL, &t, x), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_tensor_fill(ctx, NULL, 0.0f), RELUCL_ERROR_INVALID_ARGUMENT);
    support_buffer_release(buffer);
}

/* A tensor over a buffer of another OpenCL context is refused before anything is enqueued,
 * as an input and as an output, and the foreign buffer is left as it was. */
static void test_buffer_of_another_context_is_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx(), *other = NULL;
    assert_int_equal(relucl_context_create(NULL, &other), RELUCL_OK);
    const size_t n = 16;
    relucl_tensor foreign, mine;
    assert_int_equal(relucl_tensor_create(other, 1, &n, &foreign), RELUCL_OK);
    float poison[16], now[16];
    support_poison_fill(poison, n);
    assert_int_equal(relucl_tensor_write(other, &foreign, poison), RELUCL_OK);
    cl_mem buffer = support_buffer_poisoned(n);
    mine = support_view1(buffer, 0, n);
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    support_expect_rejected(relucl_activation_forward(ctx, relu, &foreign, &mine),
                            RELUCL_ERROR_INVALID_ARGUMENT, "x", buffer, n);
    assert_true(strstr(relucl_context_error(ctx), "another OpenCL context") != NULL);
    assert_int_equal(relucl_activation_forward(ctx, relu, &mine, &foreign),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("y"));
    assert_int_equal(relucl_tensor_fill(ctx, &foreign, 1.0f), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_tensor_read(other, &foreign, now), RELUCL_OK);
    assert_memory_equal(now, poison, sizeof now);
    support_buffer_release(buffer);
    relucl_tensor_release(&foreign);
    relucl_context_destroy(other);
}

/* At the device's real limit: a tensor of exactly CL_DEVICE_MAX_MEM_ALLOC_SIZE bytes works end
 * to end (its count past 2^26 elements on PoCL, past 2^31 on big GPUs); one element more is
 * refused with the limit in the message. */
static void test_tensor_at_the_largest_buffer_the_device_allows(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    cl_ulong largest = 0;
    assert_int_equal(clGetDeviceInfo(relucl_context_device(ctx), CL_DEVICE_MAX_MEM_ALLOC_SIZE,
                                     sizeof largest, &largest, NULL),
                     CL_SUCCESS);
    size_t n = (size_t)(largest / sizeof(float));
    relucl_tensor t = {0}, bad = {0};
    assert_int_equal(relucl_tensor_create(ctx, 1, (size_t[]){n + 1}, &bad),
                     RELUCL_ERROR_OUT_OF_MEMORY);
    assert_null(bad.buffer);
    assert_true(support_error_mentions("dims"));
    assert_non_null(strstr(relucl_context_error(ctx), "CL_DEVICE_MAX_MEM_ALLOC_SIZE"));
    relucl_status s = relucl_tensor_create(ctx, 2, (size_t[]){n / 4, 4}, &t);
    if (s == RELUCL_ERROR_OUT_OF_MEMORY) /* the host may not have that much to spare */
        skip();
    assert_int_equal(s, RELUCL_OK);
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    float tail[4];
    relucl_tensor last = t;
    last.offset = 4 * (n / 4) - 4;
    last.ndim = 1;
    last.dims[0] = 4;
    assert_int_equal(relucl_tensor_fill(ctx, &t, -2.0f), RELUCL_OK);
    assert_int_equal(relucl_tensor_write(ctx, &last, (const float[]){-1, 2, -3, 4}), RELUCL_OK);
    assert_int_equal(relucl_activation_forward(ctx, relu, &t, &t), RELUCL_OK);
    assert_int_equal(relucl_tensor_read(ctx, &last, tail), RELUCL_OK);
    assert_true(tail[0] == 0.0f && tail[1] == 2.0f && tail[2] == 0.0f && tail[3] == 4.0f);
    relucl_tensor_release(&t);
}

static void test_reshape_is_a_view_with_the_same_count(void **state) {
    (void)state;
    cl_mem buffer = support_buffer_poisoned(64);
    size_t nchw[4] = {2, 4, 2, 3}, flat[2] = {2, 24}, wrong[2] = {2, 25};
    relucl_tensor t = support_view(buffer, 5, 4, nchw), out = {0};
    assert_int_equal(relucl_tensor_reshape(&t, 2, flat, &out), RELUCL_OK);
    assert_ptr_equal(out.buffer, buffer);
    assert_int_equal(out.offset, 5);
    assert_int_equal(out.ndim, 2);
    assert_int_equal(out.dims[1], 24);
    relucl_tensor before = out;
    assert_int_equal(relucl_tensor_reshape(&t, 2, wrong, &out), RELUCL_ERROR_SHAPE);
    assert_int_equal(relucl_tensor_reshape(&t, 0, flat, &out), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_tensor_reshape(NULL, 2, flat, &out), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_memory_equal(&out, &before, sizeof out);
    support_buffer_release(buffer);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrap_sets_unused_dims_to_one),
        cmocka_unit_test(test_create_write_read_round_trip),
        cmocka_unit_test(test_read_write_and_fill_honour_the_offset),
        cmocka_unit_test(test_empty_tensor_is_allowed),
        cmocka_unit_test(test_create_rejects_bad_arguments),
        cmocka_unit_test(test_check_tensor_catches_each_bad_descriptor),
        cmocka_unit_test(test_overlap_allows_only_the_same_view),
        cmocka_unit_test(test_copies_reject_null_host_memory),
        cmocka_unit_test(test_reshape_is_a_view_with_the_same_count),
        cmocka_unit_test(test_buffer_of_another_context_is_rejected),
        cmocka_unit_test(test_tensor_at_the_largest_buffer_the_device_allows),
    };
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
