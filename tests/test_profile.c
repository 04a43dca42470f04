/* relucl_context_profile_start / _stop: per-kernel call counts and device times of exactly the
 * work enqueued between them, whatever path it took (own kernels, CLBlast GEMMs), and the
 * refusals when a profile cannot run. */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#define CAPACITY 80

/* An activation kernel by its base name, in either form (CPU devices run the _wide one). */
static int is_kernel(const char *name, const char *base) {
    size_t n = strlen(base);
    return strncmp(name, base, n) == 0 && (name[n] == 0 || strcmp(name + n, "_wide") == 0);
}

static const relucl_profile_entry *find(const relucl_profile_entry *e, size_t n,
                                        const char *base) {
    for (size_t i = 0; i < n; i++)
        if (is_kernel(e[i].name, base))
            return &e[i];
    return NULL;
}

static size_t stop(relucl_context *ctx, relucl_profile_entry *entries) {
    size_t count = 12345;
    assert_int_equal(relucl_context_profile_stop(ctx, entries, CAPACITY, &count), RELUCL_OK);
    assert_true(count <= CAPACITY);
    for (size_t i = 1; i < count; i++) /* the longest first */
        assert_true(entries[i - 1].seconds >= entries[i].seconds);
    return count;
}

/* Counts are exact, times positive; work before start and after stop is not counted; more
 * launches than the pending list holds are folded, not lost. */
static void test_counts_what_ran_between_start_and_stop(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    size_t n = 100003, d2[2] = {37, 45};
    relucl_tensor x, a, b, c;
    assert_int_equal(relucl_tensor_create(ctx, 1, &n, &x), RELUCL_OK);
    assert_int_equal(relucl_tensor_fill(ctx, &x, -1.5f), RELUCL_OK);
    assert_int_equal(relucl_tensor_create(ctx, 2, d2, &a), RELUCL_OK);
    assert_int_equal(relucl_tensor_create(ctx, 2, (size_t[]){45, 45}, &b), RELUCL_OK);
    assert_int_equal(relucl_tensor_create(ctx, 2, d2, &c), RELUCL_OK);
    assert_int_equal(relucl_tensor_fill(ctx, &a, 0.5f), RELUCL_OK);
    assert_int_equal(relucl_tensor_fill(ctx, &b, 0.25f), RELUCL_OK);
    relucl_activation relu = {RELUCL_RELU, 0.0f}, leaky = {RELUCL_LEAKY_RELU, 0.1f};
    assert_int_equal(relucl_activation_forward(ctx, relu, &x, &x), RELUCL_OK); /* not counted */

    relucl_profile_entry entries[CAPACITY];
    const unsigned leaky_calls = 5000; /* more than the pending list holds */
    assert_int_equal(relucl_context_profile_start(ctx), RELUCL_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(relucl_activation_forward(ctx, relu, &x, &x), RELUCL_OK);
    for (unsigned i = 0; i < leaky_calls; i++)
        assert_int_equal(relucl_activation_forward(ctx, leaky, &a, &c), RELUCL_OK);
    assert_int_equal(relucl_gemm(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &a, &b, 0.0f, &c),
                     RELUCL_OK);
    size_t count = stop(ctx, entries);
    const relucl_profile_entry *r = find(entries, count, "relu_forward");
    const relucl_profile_entry *l = find(entries, count, "leaky_relu_forward");
    assert_non_null(r);
    assert_non_null(l);
    assert_int_equal(r->calls, 3);
    assert_int_equal(l->calls, leaky_calls);
    assert_true(r->seconds > 0.0 && r->seconds < 10.0);
    assert_true(l->seconds > 0.0);
    unsigned long long total = 0;
    for (size_t i = 0; i < count; i++)
        total += entries[i].calls;
    assert_true(total >= 3 + leaky_calls + 1); /* and the GEMM's kernel(s), either backend */

    /* After stop nothing is recorded; a new profile starts from nothing. */
    assert_int_equal(relucl_activation_forward(ctx, relu, &x, &x), RELUCL_OK);
    assert_int_equal(relucl_context_profile_start(ctx), RELUCL_OK);
    assert_int_equal(relucl_activation_forward(ctx, relu, &x, &x), RELUCL_OK);
    count = stop(ctx, entries);
    assert_int_equal(count, 1);
    assert_true(is_kernel(entries[0].name, "relu_forward"));
    assert_int_equal(entries[0].calls, 1);

    /* A capacity below the count writes only that many, and still tells the count. */
    assert_int_equal(relucl_context_profile_start(ctx), RELUCL_OK);
    assert_int_equal(relucl_activation_forward(ctx, relu, &x, &x), RELUCL_OK);
    assert_int_equal(relucl_activation_forward(ctx, leaky, &x, &x), RELUCL_OK);
    relucl_profile_entry one[2];
    one[1].name = "untouched";
    assert_int_equal(relucl_context_profile_stop(ctx, one, 1, &count), RELUCL_OK);
    assert_int_equal(count, 2);
    assert_string_equal(one[1].name, "untouched");

    float host[4];
    assert_int_equal(relucl_tensor_read(ctx, &(relucl_tensor){x.buffer, 0, 1, {4, 1, 1, 1}},
                                        host), RELUCL_OK);
    assert_true(host[0] == 0.0f); /* the profiled ops ran */
    relucl_tensor_release(&x);
    relucl_tensor_release(&a);
    relucl_tensor_release(&b);
    relucl_tensor_release(&c);
}

static void test_refusals_name_the_problem(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    relucl_profile_entry e[CAPACITY];
    size_t count = 0;
    assert_int_equal(relucl_context_profile_stop(ctx, e, CAPACITY, &count),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(relucl_context_error(ctx), "no profile is running"));
    assert_int_equal(relucl_context_profile_start(NULL), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_context_profile_start(ctx), RELUCL_OK);
    assert_int_equal(relucl_context_profile_start(ctx), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(relucl_context_error(ctx), "already running"));
    assert_int_equal(relucl_context_profile_stop(ctx, e, CAPACITY, NULL),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(relucl_context_error(ctx), "count"));
    assert_int_equal(relucl_context_profile_stop(ctx, NULL, 3, &count),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(relucl_context_error(ctx), "entries"));
    assert_int_equal(relucl_context_profile_stop(ctx, NULL, 0, &count), RELUCL_OK);
    assert_int_equal(count, 0);

    /* A caller's queue without profiling cannot time anything. */
    cl_int err = CL_SUCCESS;
    cl_command_queue q = clCreateCommandQueue(relucl_context_cl_context(ctx),
                                              relucl_context_device(ctx), 0, &err);
    assert_int_equal(err, CL_SUCCESS);
    relucl_context *plain = NULL;
    assert_int_equal(relucl_context_create_from_queue(q, &plain), RELUCL_OK);
    assert_int_equal(relucl_context_profile_start(plain), RELUCL_ERROR_UNSUPPORTED);
    assert_non_null(strstr(relucl_context_error(plain), "CL_QUEUE_PROFILING_ENABLE"));
    relucl_context_destroy(plain);
    clReleaseCommandQueue(q);
}

/* Destroying a context with a profile running releases it (the sanitizer build checks). */
static void test_destroy_with_a_running_profile(void **state) {
    (void)state;
    relucl_context *ctx = NULL;
    assert_int_equal(relucl_context_create(NULL, &ctx), RELUCL_OK);
    size_t n = 17;
    relucl_tensor x;
    assert_int_equal(relucl_tensor_create(ctx, 1, &n, &x), RELUCL_OK);
    assert_int_equal(relucl_context_profile_start(ctx), RELUCL_OK);
    assert_int_equal(relucl_tensor_fill(ctx, &x, 1.0f), RELUCL_OK);
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    assert_int_equal(relucl_activation_forward(ctx, relu, &x, &x), RELUCL_OK);
    relucl_tensor_release(&x);
    relucl_context_destroy(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_what_ran_between_start_and_stop),
        cmocka_unit_test(test_refusals_name_the_problem),
        cmocka_unit_test(test_destroy_with_a_running_profile),
    };
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
