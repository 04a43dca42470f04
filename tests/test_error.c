/* Status names, the version string and error messages. */
#include "support.h"

#include "core/core.h"

#include <stdio.h>
#include <string.h>

static void test_every_status_has_its_own_name(void **state) {
    (void)state;
    const char *seen[RELUCL_ERROR_UNSUPPORTED + 1];
    for (int s = RELUCL_OK; s <= RELUCL_ERROR_UNSUPPORTED; s++) {
        seen[s] = relucl_status_name((relucl_status)s);
        assert_non_null(strstr(seen[s], "RELUCL_"));
        for (int t = 0; t < s; t++)
            assert_string_not_equal(seen[s], seen[t]);
    }
    assert_string_equal(relucl_status_name(RELUCL_OK), "RELUCL_OK");
    assert_string_equal(relucl_status_name(RELUCL_ERROR_SHAPE), "RELUCL_ERROR_SHAPE");
    assert_string_equal(relucl_status_name((relucl_status)1234), "RELUCL_STATUS_UNKNOWN");
}

static void test_version_is_major_minor_patch(void **state) {
    (void)state;
    int major = -1, minor = -1, patch = -1;
    assert_int_equal(sscanf(relucl_version(), "%d.%d.%d", &major, &minor, &patch), 3);
    assert_int_equal(major, RELUCL_VERSION_MAJOR);
    assert_int_equal(minor, RELUCL_VERSION_MINOR);
    assert_int_equal(patch, RELUCL_VERSION_PATCH);
    assert_true(RELUCL_VERSION == RELUCL_MAKE_VERSION(major, minor, patch));
}

static void test_opencl_errors_are_named(void **state) {
    (void)state;
    assert_string_equal(relucl__cl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    assert_string_equal(relucl__cl_error_name(CL_INVALID_KERNEL_NAME), "CL_INVALID_KERNEL_NAME");
    assert_string_equal(relucl__cl_error_name(-9999), "CL_UNKNOWN_ERROR");
}

static void test_failure_records_function_and_reason(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    assert_int_equal(relucl__fail(ctx, RELUCL_ERROR_SHAPE, "relucl_demo", "y has %d elements", 12),
                     RELUCL_ERROR_SHAPE);
    assert_string_equal(relucl_context_error(ctx), "relucl_demo: y has 12 elements");
    assert_int_equal(relucl__fail_cl(ctx, "relucl_demo", "clFinish", CL_OUT_OF_HOST_MEMORY),
                     RELUCL_ERROR_OUT_OF_MEMORY);
    assert_non_null(strstr(relucl_context_error(ctx), "CL_OUT_OF_HOST_MEMORY (-6)"));
    assert_int_equal(relucl__fail_cl(ctx, "relucl_demo", "clFinish", CL_INVALID_EVENT),
                     RELUCL_ERROR_OPENCL);
}

static void test_long_messages_are_truncated_not_overflowed(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    static char big[3 * RELUCL_ERROR_SIZE];
    memset(big, 'x', sizeof big - 1);
    relucl__fail(ctx, RELUCL_ERROR_BUILD, "relucl_demo", "%s", big);
    assert_int_equal(strlen(relucl_context_error(ctx)), RELUCL_ERROR_SIZE - 1);
}

static void test_null_context_has_empty_message(void **state) {
    (void)state;
    assert_string_equal(relucl_context_error(NULL), "");
    assert_int_equal(relucl__fail(NULL, RELUCL_ERROR_IO, "f", "ignored"), RELUCL_ERROR_IO);
}

static void test_successful_call_clears_the_last_error(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    relucl__fail(ctx, RELUCL_ERROR_IO, "relucl_demo", "old");
    assert_int_equal(relucl_context_finish(ctx), RELUCL_OK);
    assert_string_equal(relucl_context_error(ctx), "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_status_has_its_own_name),
        cmocka_unit_test(test_version_is_major_minor_patch),
        cmocka_unit_test(test_opencl_errors_are_named),
        cmocka_unit_test(test_failure_records_function_and_reason),
        cmocka_unit_test(test_long_messages_are_truncated_not_overflowed),
        cmocka_unit_test(test_null_context_has_empty_message),
        cmocka_unit_test(test_successful_call_clears_the_last_error),
    };
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
