/* Device choice, embedding on a caller's queue, and the context's life cycle. */
#include "support.h"

#include <stdlib.h>
#include <string.h>

static void test_default_context_names_its_device(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    assert_true(strlen(relucl_context_device_name(ctx)) > 0);
    assert_non_null(relucl_context_queue(ctx));
    assert_non_null(relucl_context_device(ctx));
    assert_non_null(relucl_context_cl_context(ctx));
    assert_int_equal(relucl_context_finish(ctx), RELUCL_OK);
}

static void test_device_spec_by_type_index_and_name(void **state) {
    (void)state;
    cl_device_id expected = relucl_context_device(support_ctx());
    cl_device_type type = 0;
    clGetDeviceInfo(expected, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    char name[256] = "";
    clGetDeviceInfo(expected, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    /* A lower-case slice of the name must still match: matching ignores case. */
    char slice[8] = "";
    for (size_t i = 0; i < 4 && name[i]; i++)
        slice[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    const char *specs[] = {(type & CL_DEVICE_TYPE_GPU) ? "gpu" : "cpu", slice, name};
    for (size_t i = 0; i < 3; i++) {
        relucl_context *ctx = NULL;
        char message[512] = "";
        assert_int_equal(relucl_context_create_ex(specs[i], &ctx, message, sizeof message),
                         RELUCL_OK);
        assert_non_null(ctx);
        relucl_context_destroy(ctx);
    }
    relucl_context *ctx = NULL;
    assert_int_equal(relucl_context_create("0:0", &ctx), RELUCL_OK);
    relucl_context_destroy(ctx);
}

static void test_unknown_device_is_no_device_with_a_list(void **state) {
    (void)state;
    relucl_context *ctx = (relucl_context *)&ctx; /* must stay untouched */
    relucl_context *const before = ctx;
    char message[2048] = "";
    assert_int_equal(relucl_context_create_ex("no-such-device-xyz", &ctx, message, sizeof message),
                     RELUCL_ERROR_NO_DEVICE);
    assert_ptr_equal(ctx, before);
    assert_non_null(strstr(message, "no-such-device-xyz"));
    assert_non_null(strstr(message, "0:0"));
    assert_int_equal(relucl_context_create_ex("99:0", &ctx, NULL, 0), RELUCL_ERROR_NO_DEVICE);
    assert_int_equal(relucl_context_create("no-such-device-xyz", &ctx), RELUCL_ERROR_NO_DEVICE);
}

static void test_environment_variable_chooses_the_device(void **state) {
    (void)state;
    relucl_context *ctx = NULL;
    setenv("RELUCL_DEVICE", "no-such-device-xyz", 1);
    relucl_status from_env = relucl_context_create(NULL, &ctx);
    relucl_status explicit_wins = relucl_context_create("0:0", &ctx);
    unsetenv("RELUCL_DEVICE");
    assert_int_equal(from_env, RELUCL_ERROR_NO_DEVICE);
    assert_int_equal(explicit_wins, RELUCL_OK);
    relucl_context_destroy(ctx);
}

static void test_create_rejects_null_out(void **state) {
    (void)state;
    char message[256] = "";
    assert_int_equal(relucl_context_create_ex(NULL, NULL, message, sizeof message),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(message, "out"));
}

/* Embedding: relucl works on the caller's queue and orders its work with the caller's. */
static void test_context_from_callers_queue_shares_its_work(void **state) {
    (void)state;
    relucl_context *owner = support_ctx();
    cl_int err = CL_SUCCESS;
    cl_command_queue queue = clCreateCommandQueue(relucl_context_cl_context(owner),
                                                  relucl_context_device(owner), 0, &err);
    assert_int_equal(err, CL_SUCCESS);
    relucl_context *ctx = NULL;
    assert_int_equal(relucl_context_create_from_queue(queue, &ctx), RELUCL_OK);
    assert_ptr_equal(relucl_context_queue(ctx), queue);

    float host[5] = {-2.0f, -0.5f, 0.0f, 0.5f, 2.0f}, out[5];
    cl_mem buffer =
        clCreateBuffer(relucl_context_cl_context(ctx), CL_MEM_READ_WRITE, sizeof host, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    /* A non-blocking write by the caller, then relucl's op, then a read: in-order. */
    assert_int_equal(
        clEnqueueWriteBuffer(queue, buffer, CL_FALSE, 0, sizeof host, host, 0, NULL, NULL),
        CL_SUCCESS);
    relucl_tensor t = support_view1(buffer, 0, 5);
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    assert_int_equal(relucl_activation_forward(ctx, relu, &t, &t), RELUCL_OK);
    assert_int_equal(relucl_tensor_read(ctx, &t, out), RELUCL_OK);
    const float want[5] = {0.0f, 0.0f, 0.0f, 0.5f, 2.0f};
    assert_true(support_equal_bits(out, want, 5, "relu on the caller's queue"));

    relucl_context_destroy(ctx);
    /* The caller's queue survives the context. */
    assert_int_equal(clFinish(queue), CL_SUCCESS);
    clReleaseMemObject(buffer);
    clReleaseCommandQueue(queue);
}

static void test_from_queue_rejects_bad_queues(void **state) {
    (void)state;
    relucl_context *ctx = NULL;
    assert_int_equal(relucl_context_create_from_queue(NULL, &ctx), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_null(ctx);
    relucl_context *owner = support_ctx();
    assert_int_equal(relucl_context_create_from_queue(relucl_context_queue(owner), NULL),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    /* Out-of-order queues are accepted: tests/test_events.c. */
}

static void test_null_context_is_harmless(void **state) {
    (void)state;
    relucl_context_destroy(NULL);
    assert_int_equal(relucl_context_finish(NULL), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_string_equal(relucl_context_device_name(NULL), "");
    assert_null(relucl_context_queue(NULL));
    assert_null(relucl_context_device(NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_context_names_its_device),
        cmocka_unit_test(test_device_spec_by_type_index_and_name),
        cmocka_unit_test(test_unknown_device_is_no_device_with_a_list),
        cmocka_unit_test(test_environment_variable_chooses_the_device),
        cmocka_unit_test(test_create_rejects_null_out),
        cmocka_unit_test(test_context_from_callers_queue_shares_its_work),
        cmocka_unit_test(test_from_queue_rejects_bad_queues),
        cmocka_unit_test(test_null_context_is_harmless),
    };
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
