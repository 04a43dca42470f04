/* Misuse of every public call, from one table: each bad call returns its status, names the bad
 * argument in the context's message (when there is a context to hold one), and changes no
 * buffer (inputs as they were, outputs still poison). Modules test their own argument rules
 * in depth; this table makes sure no public function was left out. */
#include "support.h"

#include <string.h>

/* Inputs live in io.in, outputs in io.out (see make_fixture for the layout). */
typedef struct fixture {
    support_arena io;
    relucl_tensor x, dy, w, b, slope, labels, index, img, filt, dimg;
    relucl_tensor y, dx, c, scalar, out_img, dw, argmax, pooled, dfilt, alive;
    relucl_net *net;
} fixture;

static fixture f;

static int setup(void **state) {
    if (support_setup(state) != 0)
        return -1;
    float data[128];
    support_fill_uniform(data, 128, 17, -1.0f, 1.0f);
    data[40] = 0, data[41] = 1, data[44] = 0, data[45] = 1; /* labels and row numbers */
    f.io = support_arena_make(data, 128, 128);
    cl_mem in = f.io.in, out = f.io.out;
    f.x = support_view(in, 0, 2, (const size_t[]){2, 3});
    f.dy = support_view(in, 8, 2, (const size_t[]){2, 3});
    f.w = support_view(in, 16, 2, (const size_t[]){3, 4});
    f.b = support_view1(in, 28, 4);
    f.slope = support_view1(in, 32, 3);
    f.labels = support_view1(in, 40, 2);
    f.index = support_view1(in, 44, 2);
    f.img = support_view(in, 48, 4, (const size_t[]){2, 1, 4, 4});
    f.filt = support_view(in, 80, 4, (const size_t[]){1, 1, 3, 3});
    f.dimg = support_view(in, 96, 4, (const size_t[]){2, 1, 2, 2});
    f.y = support_view(out, 0, 2, (const size_t[]){2, 3});
    f.dx = support_view(out, 8, 2, (const size_t[]){2, 3});
    f.c = support_view(out, 16, 2, (const size_t[]){2, 4});
    f.scalar = support_view1(out, 24, 1);
    f.out_img = support_view(out, 32, 4, (const size_t[]){2, 1, 4, 4});
    f.dw = support_view(out, 64, 4, (const size_t[]){1, 1, 3, 3});
    f.argmax = support_view(out, 80, 4, (const size_t[]){2, 1, 2, 2});
    f.pooled = support_view(out, 88, 4, (const size_t[]){2, 1, 2, 2});
    f.dfilt = support_view(out, 100, 4, (const size_t[]){1, 1, 3, 3});
    f.alive = support_view1(out, 110, 3);
    return relucl_net_create(support_ctx(), "3-2", 2, 1, &f.net) == RELUCL_OK ? 0 : -1;
}

static int teardown(void **state) {
    relucl_net_destroy(f.net);
    support_arena_free(&f.io);
    return support_teardown(state);
}

/* One row: a call made with ctx (the shared context, or NULL in the NULL-context rows). */
typedef relucl_status (*call_fn)(relucl_context *ctx);
typedef struct misuse {
    const char *what;
    call_fn call;
    int null_context; /* called with ctx NULL: no message to check */
    relucl_status want;
    const char *word; /* the argument the message must name */
} misuse;

static const relucl_activation relu = {RELUCL_RELU, 0.0f};
static const relucl_conv2d conv = {{1, 1}, {1, 1}, {1, 1}, 1};
static const relucl_pool2d pool = {RELUCL_POOL_MAX, {2, 2}, {2, 2}, {0, 0}};
static const relucl_sgd sgd = {0.1f, 0.0f, 0.0f, 0};
static const relucl_adam adam = {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0};

#define CALL(name, expr)                                                                           \
    static relucl_status name(relucl_context *ctx) {                                               \
        (void)ctx;                                                                                 \
        return expr;                                                                               \
    }

CALL(tensor_write, relucl_tensor_write(ctx, &f.y, NULL))
CALL(tensor_read, relucl_tensor_read(ctx, &f.x, NULL))
CALL(tensor_fill, relucl_tensor_fill(ctx, NULL, 1.0f))
CALL(tensor_create, relucl_tensor_create(ctx, 1, (const size_t[]){4}, NULL))
CALL(context_finish, relucl_context_finish(ctx))
CALL(wait_events, relucl_context_wait_events(ctx, 2, NULL))
CALL(record_event, relucl_context_record_event(ctx, NULL))
CALL(profile_start, relucl_context_profile_start(ctx))
CALL(profile_stop, relucl_context_profile_stop(ctx, NULL, 0, NULL))
CALL(wrap_host, relucl_tensor_wrap_host(ctx, NULL, 1, (const size_t[]){4}, &(relucl_tensor){0}))
CALL(map_host, relucl_tensor_map_host(ctx, &f.y, NULL))
CALL(unmap_host, relucl_tensor_unmap_host(ctx, &f.y, NULL))
CALL(act_forward, relucl_activation_forward(ctx, relu, &f.x, NULL))
CALL(act_backward, relucl_activation_backward(ctx, relu, &f.x, NULL, NULL, &f.dx))
CALL(prelu_forward, relucl_prelu_forward(ctx, &f.x, NULL, &f.y))
CALL(prelu_backward, relucl_prelu_backward(ctx, &f.x, &f.slope, &f.dy, &f.dx, NULL))
CALL(gemm, relucl_gemm(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &f.x, NULL, 0.0f, &f.c))
CALL(gemm_batched, relucl_gemm_batched(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &f.x, &f.w,
                                       0.0f, &f.c)) /* 2-D operands for a batched GEMM */
CALL(dense_forward, relucl_dense_forward(ctx, NULL, &f.x, NULL, &f.c))
CALL(dense_backward,
     relucl_dense_backward(ctx, &((relucl_dense){relu, &f.w, &f.b, NULL, RELUCL_WEIGHTS_IN_OUT}),
                           &f.x, NULL, NULL, &f.c, NULL,
                           &((relucl_dense_grads){NULL, NULL, NULL, 0, NULL})))
CALL(cross_entropy, relucl_softmax_cross_entropy(ctx, &f.x, NULL, &f.dx, &f.scalar, NULL, 0))
CALL(mse, relucl_mse(ctx, &f.x, NULL, &f.dx, &f.scalar, 0))
CALL(sgd_step, relucl_sgd_step(ctx, &sgd, &f.y, NULL, NULL))
CALL(adam_step, relucl_adam_step(ctx, &adam, 0, &f.y, &f.dx, &f.c, &f.c))
CALL(init_tensor, relucl_init_tensor(ctx, NULL, &f.y))
CALL(dropout_forward, relucl_dropout_forward(ctx, 0.5f, 1, 0, &f.x, NULL, &f.y))
CALL(dropout_backward, relucl_dropout_backward(ctx, NULL, &f.dy, &f.dx))
CALL(gather, relucl_gather_rows(ctx, &f.x, NULL, 0, &f.y, NULL, NULL))
CALL(conv_dims,
     relucl_conv2d_output_dims(ctx, NULL, f.img.dims, f.filt.dims, (size_t[4]){0, 0, 0, 0}))
CALL(conv_forward,
     relucl_conv2d_forward(ctx, &conv, RELUCL_CONV_AUTO, relu, &f.img, NULL, NULL, &f.out_img))
CALL(conv_backward_data,
     relucl_conv2d_backward_data(ctx, &conv, RELUCL_CONV_AUTO, &f.img, &f.filt, NULL))
CALL(conv_backward_filter,
     relucl_conv2d_backward_filter(ctx, &conv, RELUCL_CONV_AUTO, &f.img, &f.img, NULL, NULL, 0))
CALL(conv_workspace, relucl_conv2d_workspace_size(ctx, &conv, &f.img, &f.filt, NULL))
CALL(workspace_limit, relucl_context_set_workspace_limit(ctx, 1 << 20))
CALL(pool_dims, relucl_pool2d_output_dims(ctx, &pool, NULL, (size_t[4]){0, 0, 0, 0}))
CALL(pool_forward, relucl_pool2d_forward(ctx, &pool, &f.img, &f.pooled, NULL))
CALL(pool_backward, relucl_pool2d_backward(ctx, &pool, &f.dimg, NULL, &f.out_img))
CALL(gap_forward, relucl_global_avg_pool_forward(ctx, &f.img, NULL))
CALL(gap_backward, relucl_global_avg_pool_backward(ctx, NULL, &f.out_img))
CALL(stats, relucl_tensor_stats(ctx, &f.x, NULL))
CALL(dead_units, relucl_dead_units_update(ctx, &f.x, NULL))
CALL(tuning_path, relucl_gemm_tuning_path(ctx, NULL, 64))
CALL(set_tuning, relucl_gemm_set_tuning(ctx, NULL, 0, NULL, NULL))
CALL(net_create, relucl_net_create(ctx, "3-2", 2, 1, NULL))
CALL(net_set_optimizer, relucl_net_set_optimizer(ctx ? f.net : NULL, NULL))
CALL(net_train_step, relucl_net_train_step(ctx ? f.net : NULL, NULL, &f.labels))
CALL(net_evaluate, relucl_net_evaluate(ctx ? f.net : NULL, &f.x, NULL))
CALL(net_take_metrics, relucl_net_take_metrics(ctx ? f.net : NULL, NULL, NULL))
CALL(net_forward, relucl_net_forward(ctx ? f.net : NULL, &f.x, NULL))
CALL(net_layer, relucl_net_layer(ctx ? f.net : NULL, 0, NULL))
CALL(net_save, relucl_net_save(ctx ? f.net : NULL, NULL))
CALL(net_compute_gradients, relucl_net_compute_gradients(ctx ? f.net : NULL, &f.x, NULL))
CALL(net_buffer, relucl_net_buffer(ctx ? f.net : NULL, RELUCL_NET_GRADIENTS, NULL))
CALL(net_apply_gradients, relucl_net_apply_gradients(ctx ? f.net : NULL))
CALL(net_set_steps, relucl_net_set_steps(ctx ? f.net : NULL, 1))
CALL(net_load, relucl_net_load(ctx ? f.net : NULL, NULL))

#define ROWS(name, want, word)                                                                     \
    {#name, name, 1, RELUCL_ERROR_INVALID_ARGUMENT, NULL}, { #name, name, 0, want, word }

static const misuse table[] = {
    ROWS(tensor_write, RELUCL_ERROR_INVALID_ARGUMENT, "src"),
    ROWS(tensor_read, RELUCL_ERROR_INVALID_ARGUMENT, "dst"),
    ROWS(tensor_fill, RELUCL_ERROR_INVALID_ARGUMENT, "t"),
    ROWS(tensor_create, RELUCL_ERROR_INVALID_ARGUMENT, "out"),
    {"context_finish", context_finish, 1, RELUCL_ERROR_INVALID_ARGUMENT, NULL},
    ROWS(wait_events, RELUCL_ERROR_INVALID_ARGUMENT, "events"),
    ROWS(record_event, RELUCL_ERROR_INVALID_ARGUMENT, "event"),
    {"profile_start", profile_start, 1, RELUCL_ERROR_INVALID_ARGUMENT, NULL},
    ROWS(profile_stop, RELUCL_ERROR_INVALID_ARGUMENT, "count"),
    ROWS(wrap_host, RELUCL_ERROR_INVALID_ARGUMENT, "data"),
    ROWS(map_host, RELUCL_ERROR_INVALID_ARGUMENT, "host"),
    ROWS(unmap_host, RELUCL_ERROR_INVALID_ARGUMENT, "host"),
    ROWS(act_forward, RELUCL_ERROR_INVALID_ARGUMENT, "y"),
    ROWS(act_backward, RELUCL_ERROR_INVALID_ARGUMENT, "dy"),
    ROWS(prelu_forward, RELUCL_ERROR_INVALID_ARGUMENT, "slope"),
    ROWS(prelu_backward, RELUCL_ERROR_INVALID_ARGUMENT, "dslope"),
    ROWS(gemm, RELUCL_ERROR_INVALID_ARGUMENT, "b"),
    ROWS(gemm_batched, RELUCL_ERROR_SHAPE, "a"),
    ROWS(dense_forward, RELUCL_ERROR_INVALID_ARGUMENT, "layer"),
    ROWS(dense_backward, RELUCL_ERROR_INVALID_ARGUMENT, "z"),
    ROWS(cross_entropy, RELUCL_ERROR_INVALID_ARGUMENT, "labels"),
    ROWS(mse, RELUCL_ERROR_INVALID_ARGUMENT, "target"),
    ROWS(sgd_step, RELUCL_ERROR_INVALID_ARGUMENT, "grad"),
    ROWS(adam_step, RELUCL_ERROR_INVALID_ARGUMENT, "step"),
    ROWS(init_tensor, RELUCL_ERROR_INVALID_ARGUMENT, "init"),
    ROWS(dropout_forward, RELUCL_ERROR_INVALID_ARGUMENT, "mask"),
    ROWS(dropout_backward, RELUCL_ERROR_INVALID_ARGUMENT, "mask"),
    ROWS(gather, RELUCL_ERROR_INVALID_ARGUMENT, "index"),
    ROWS(conv_dims, RELUCL_ERROR_INVALID_ARGUMENT, "conv"),
    ROWS(conv_forward, RELUCL_ERROR_INVALID_ARGUMENT, "w"),
    ROWS(conv_backward_data, RELUCL_ERROR_INVALID_ARGUMENT, "dx"),
    ROWS(conv_backward_filter, RELUCL_ERROR_INVALID_ARGUMENT, "dw"),
    ROWS(conv_workspace, RELUCL_ERROR_INVALID_ARGUMENT, "bytes"),
    {"workspace_limit", workspace_limit, 1, RELUCL_ERROR_INVALID_ARGUMENT, NULL},
    ROWS(pool_dims, RELUCL_ERROR_INVALID_ARGUMENT, "x_dims"),
    ROWS(pool_forward, RELUCL_ERROR_INVALID_ARGUMENT, "argmax"),
    ROWS(pool_backward, RELUCL_ERROR_INVALID_ARGUMENT, "argmax"),
    ROWS(gap_forward, RELUCL_ERROR_INVALID_ARGUMENT, "y"),
    ROWS(gap_backward, RELUCL_ERROR_INVALID_ARGUMENT, "dy"),
    ROWS(stats, RELUCL_ERROR_INVALID_ARGUMENT, "out"),
    ROWS(dead_units, RELUCL_ERROR_INVALID_ARGUMENT, "alive"),
    ROWS(tuning_path, RELUCL_ERROR_INVALID_ARGUMENT, "path"),
    ROWS(set_tuning, RELUCL_ERROR_INVALID_ARGUMENT, "kernel"),
    ROWS(net_create, RELUCL_ERROR_INVALID_ARGUMENT, "out"),
    ROWS(net_set_optimizer, RELUCL_ERROR_INVALID_ARGUMENT, "opt"),
    ROWS(net_train_step, RELUCL_ERROR_INVALID_ARGUMENT, "x"),
    ROWS(net_evaluate, RELUCL_ERROR_INVALID_ARGUMENT, "labels"),
    ROWS(net_take_metrics, RELUCL_ERROR_INVALID_ARGUMENT, "mean_loss"),
    ROWS(net_forward, RELUCL_ERROR_INVALID_ARGUMENT, "out"),
    ROWS(net_layer, RELUCL_ERROR_INVALID_ARGUMENT, "out"),
    ROWS(net_save, RELUCL_ERROR_INVALID_ARGUMENT, "path"),
    ROWS(net_load, RELUCL_ERROR_INVALID_ARGUMENT, "path"),
    ROWS(net_compute_gradients, RELUCL_ERROR_INVALID_ARGUMENT, "labels"),
    ROWS(net_buffer, RELUCL_ERROR_INVALID_ARGUMENT, "out"),
    {"net_apply_gradients", net_apply_gradients, 1, RELUCL_ERROR_INVALID_ARGUMENT, NULL},
    {"net_set_steps", net_set_steps, 1, RELUCL_ERROR_INVALID_ARGUMENT, NULL},
};

static void test_every_public_call_rejects_misuse_cleanly(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        const misuse *m = &table[i];
        relucl_status got = m->call(m->null_context ? NULL : ctx);
        if (got != m->want)
            fail_msg("%s%s: %s, want %s (%s)", m->what, m->null_context ? " (NULL ctx)" : "",
                     relucl_status_name(got), relucl_status_name(m->want),
                     relucl_context_error(ctx));
        if (m->word && !support_error_mentions(m->word))
            fail_msg("%s: the message does not name %s", m->what, m->word);
        support_arena_expect_rejected(&f.io, got, m->want, NULL);
        relucl_context_error(ctx); /* (the next row starts from whatever message is left) */
    }
}

/* The calls that return no status accept NULL and return something harmless. */
static void test_calls_without_status_take_null(void **state) {
    (void)state;
    relucl_context_destroy(NULL);
    relucl_tensor_release(NULL);
    relucl_net_destroy(NULL);
    relucl_idx_free(NULL);
    relucl_philox4x32(NULL, NULL, NULL);
    assert_string_equal(relucl_context_error(NULL), "");
    assert_string_equal(relucl_context_device_name(NULL), "");
    assert_null(relucl_context_queue(NULL));
    assert_null(relucl_context_device(NULL));
    assert_null(relucl_context_cl_context(NULL));
    assert_int_equal(relucl_tensor_count(NULL), 0);
    assert_string_equal(relucl_net_spec(NULL), "");
    assert_int_equal(relucl_net_inputs(NULL), 0);
    assert_int_equal(relucl_net_outputs(NULL), 0);
    assert_int_equal(relucl_net_parameter_count(NULL), 0);
    assert_int_equal(relucl_net_steps(NULL), 0);
    assert_int_equal(relucl_net_layer_count(NULL), 0);
    assert_string_equal(relucl_status_name((relucl_status)12345), "RELUCL_STATUS_UNKNOWN");
    assert_non_null(relucl_version());
    /* The calls without a context report by status alone. */
    relucl_tensor t;
    assert_int_equal(relucl_tensor_wrap(NULL, 0, 1, NULL, &t), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_tensor_reshape(NULL, 1, (const size_t[]){1}, &t),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_shuffle(1, 0, 3, NULL), RELUCL_ERROR_INVALID_ARGUMENT);
    char message[128] = "";
    assert_int_equal(relucl_idx_load(NULL, NULL, message, sizeof message),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_context_create(NULL, NULL), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_context_create_ex(NULL, NULL, message, sizeof message),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(message, "out"));
    assert_int_equal(relucl_context_create_from_queue(NULL, NULL), RELUCL_ERROR_INVALID_ARGUMENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_public_call_rejects_misuse_cleanly),
        cmocka_unit_test(test_calls_without_status_take_null),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
