/* Ordering relucl's work against other queues: relucl_context_wait_events holds every later
 * op (kernels, CLBlast GEMMs, fills, copies) until its events complete, and
 * relucl_context_record_event completes after everything enqueued before it. The holds are
 * made with user events, so the tests see them deterministically, and each ordering test has
 * a control run without the wait that shows the check would catch a race. */
#include "support.h"

#include <string.h>
#include <time.h>

/* Two queues of the shared context's OpenCL context: relucl runs on `mine`, the caller's
 * producer and consumer on `theirs`. */
typedef struct two_queues {
    cl_context cl;
    cl_command_queue mine, theirs;
    relucl_context *ctx; /* made from `mine` */
} two_queues;

static two_queues open_two(cl_command_queue_properties mine_props) {
    two_queues q = {relucl_context_cl_context(support_ctx()), NULL, NULL, NULL};
    cl_device_id device = relucl_context_device(support_ctx());
    cl_int err = CL_SUCCESS;
    q.mine = clCreateCommandQueue(q.cl, device, mine_props, &err);
    assert_int_equal(err, CL_SUCCESS);
    q.theirs = clCreateCommandQueue(q.cl, device, 0, &err);
    assert_int_equal(err, CL_SUCCESS);
    char why[256] = "";
    assert_int_equal(relucl_context_create_from_queue_ex(q.mine, &q.ctx, why, sizeof why),
                     RELUCL_OK);
    return q;
}

static void close_two(two_queues *q) {
    relucl_context_destroy(q->ctx);
    clReleaseCommandQueue(q->mine);
    clReleaseCommandQueue(q->theirs);
}

static cl_int event_state(cl_event e) {
    cl_int state = CL_COMPLETE;
    assert_int_equal(
        clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof state, &state, NULL),
        CL_SUCCESS);
    return state;
}

/* Gives a queue that ignored a hold time to run ahead (it would have finished by then). */
static void pause_ms(long ms) {
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

enum { N = 1031 }; /* prime: not a multiple of the vector width */

/* The caller changes x on its queue once `gate` opens; relucl computes relu(x) on its own
 * queue, waiting (or not) on the change; the caller reads y back on its queue after relucl's
 * recorded event. Returns y in out. */
static void produce_relu_consume(two_queues *q, int wait, float *out, int *held) {
    float old_x[N], new_x[N];
    support_fill_uniform(old_x, N, 1, -1.0f, 1.0f);
    for (size_t i = 0; i < N; i++)
        new_x[i] = -old_x[i];
    cl_mem x = support_buffer_from(old_x, N), y = support_buffer_poisoned(N);
    cl_int err = CL_SUCCESS;
    cl_event gate = clCreateUserEvent(q->cl, &err), produced = NULL, done = NULL;
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(
        clEnqueueWriteBuffer(q->theirs, x, CL_FALSE, 0, sizeof new_x, new_x, 1, &gate, &produced),
        CL_SUCCESS);
    clFlush(q->theirs);
    if (wait)
        assert_int_equal(relucl_context_wait_events(q->ctx, 1, &produced), RELUCL_OK);
    relucl_tensor tx = support_view1(x, 0, N), ty = support_view1(y, 0, N);
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    assert_int_equal(relucl_activation_forward(q->ctx, relu, &tx, &ty), RELUCL_OK);
    assert_int_equal(relucl_context_record_event(q->ctx, &done), RELUCL_OK);
    clFlush(q->mine);
    pause_ms(50);
    *held = event_state(done) != CL_COMPLETE;
    assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    /* The consumer: a blocking read on the caller's queue, ordered after relucl's event. */
    assert_int_equal(
        clEnqueueReadBuffer(q->theirs, y, CL_TRUE, 0, N * sizeof(float), out, 1, &done, NULL),
        CL_SUCCESS);
    float want[N];
    for (size_t i = 0; i < N; i++)
        want[i] = (wait ? new_x[i] : old_x[i]) > 0.0f ? (wait ? new_x[i] : old_x[i]) : 0.0f;
    assert_true(support_equal_bits(out, want, N, wait ? "relu of the produced x" : "control"));
    clReleaseEvent(gate);
    clReleaseEvent(produced);
    clReleaseEvent(done);
    support_buffer_release(x);
    support_buffer_release(y);
}

static void test_wait_holds_relucl_until_the_producer_is_done(void **state) {
    (void)state;
    two_queues q = open_two(0);
    float with_wait[N], without[N];
    int held = 0, held_control = 1;
    produce_relu_consume(&q, 1, with_wait, &held);
    assert_true(held); /* relucl's op did not run while the producer was held */
    /* Control: without the wait relucl reads the stale x; the results differ, so the check in
     * the first run is one a race would fail. */
    produce_relu_consume(&q, 0, without, &held_control);
    assert_false(held_control);
    assert_memory_not_equal(with_wait, without, sizeof with_wait);
    close_two(&q);
}

/* Nothing relucl enqueues escapes the barrier: kernels, CLBlast's GEMM, fills, a net step. */
static void test_wait_holds_every_kind_of_command(void **state) {
    (void)state;
    two_queues q = open_two(0);
    cl_int err = CL_SUCCESS;
    cl_event gate = clCreateUserEvent(q.cl, &err);
    assert_int_equal(err, CL_SUCCESS);
    enum { M = 33, K = 17, P = 5 };
    float a[M * K], b[K * P];
    support_fill_uniform(a, M * K, 2, -1.0f, 1.0f);
    support_fill_uniform(b, K * P, 3, -1.0f, 1.0f);
    cl_mem ba = support_buffer_from(a, M * K), bb = support_buffer_from(b, K * P),
           bc = support_buffer_poisoned(M * P), bf = support_buffer_poisoned(7);
    relucl_tensor ta = support_view(ba, 0, 2, (const size_t[]){M, K}),
                  tb = support_view(bb, 0, 2, (const size_t[]){K, P}),
                  tc = support_view(bc, 0, 2, (const size_t[]){M, P}), tf = support_view1(bf, 0, 7);
    /* Warm up first, so that program builds are not what is measured as "held". */
    assert_int_equal(
        relucl_gemm(q.ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &ta, &tb, 0.0f, &tc), RELUCL_OK);
    assert_int_equal(relucl_context_finish(q.ctx), RELUCL_OK);

    assert_int_equal(relucl_context_wait_events(q.ctx, 1, &gate), RELUCL_OK);
    cl_event after_fill = NULL, after_gemm = NULL;
    assert_int_equal(relucl_tensor_fill(q.ctx, &tf, 3.0f), RELUCL_OK);
    assert_int_equal(relucl_context_record_event(q.ctx, &after_fill), RELUCL_OK);
    assert_int_equal(
        relucl_gemm(q.ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 2.0f, &ta, &tb, 0.0f, &tc), RELUCL_OK);
    assert_int_equal(relucl_context_record_event(q.ctx, &after_gemm), RELUCL_OK);
    clFlush(q.mine);
    pause_ms(50);
    assert_int_not_equal(event_state(after_fill), CL_COMPLETE);
    assert_int_not_equal(event_state(after_gemm), CL_COMPLETE);
    assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    assert_int_equal(clWaitForEvents(1, &after_gemm), CL_SUCCESS);
    assert_int_equal(event_state(after_fill), CL_COMPLETE);
    float got[M * P], fill[7];
    support_buffer_read(bf, 0, fill, 7);
    for (int i = 0; i < 7; i++)
        assert_true(fill[i] == 3.0f);
    support_buffer_read(bc, 0, got, M * P);
    double want[M * P];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < P; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)a[i * K + k] * b[k * P + j];
            want[i * P + j] = 2.0 * s;
        }
    assert_true(support_close(got, want, M * P, 1e-5, 1e-6, NULL, "gemm after the wait"));
    clReleaseEvent(gate);
    clReleaseEvent(after_fill);
    clReleaseEvent(after_gemm);
    support_buffer_release(ba);
    support_buffer_release(bb);
    support_buffer_release(bc);
    support_buffer_release(bf);
    close_two(&q);
}

/* An out-of-order queue is accepted: relucl runs on an in-order queue of its own beside it,
 * and events order the two. */
static void test_out_of_order_queue_is_ordered_by_events(void **state) {
    (void)state;
    cl_context cl = relucl_context_cl_context(support_ctx());
    cl_int err = CL_SUCCESS;
    cl_command_queue ooo = clCreateCommandQueue(cl, relucl_context_device(support_ctx()),
                                                CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    if (err != CL_SUCCESS)
        skip(); /* out-of-order queues are optional in OpenCL */
    relucl_context *ctx = NULL;
    assert_int_equal(relucl_context_create_from_queue(ooo, &ctx), RELUCL_OK);
    assert_ptr_not_equal(relucl_context_queue(ctx), ooo);
    cl_command_queue_properties props = 0;
    clGetCommandQueueInfo(relucl_context_queue(ctx), CL_QUEUE_PROPERTIES, sizeof props, &props,
                          NULL);
    assert_false(props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);

    /* Three dependent relucl ops in a row, fed and drained on the out-of-order queue. */
    float x[N], out[N], want[N];
    support_fill_special(x, N, 4, -3.0f, 3.0f, 1.0f);
    cl_mem bx = support_buffer_poisoned(N), by = support_buffer_poisoned(N);
    cl_event written = NULL, done = NULL;
    assert_int_equal(clEnqueueWriteBuffer(ooo, bx, CL_FALSE, 0, sizeof x, x, 0, NULL, &written),
                     CL_SUCCESS);
    assert_int_equal(relucl_context_wait_events(ctx, 1, &written), RELUCL_OK);
    relucl_tensor tx = support_view1(bx, 0, N), ty = support_view1(by, 0, N);
    relucl_activation relu = {RELUCL_RELU, 0.0f}, clip = {RELUCL_CLIPPED_RELU, 1.0f},
                      leaky = {RELUCL_LEAKY_RELU, 0.5f};
    assert_int_equal(relucl_activation_forward(ctx, leaky, &tx, &ty), RELUCL_OK);
    assert_int_equal(relucl_activation_forward(ctx, relu, &ty, &ty), RELUCL_OK);
    assert_int_equal(relucl_activation_forward(ctx, clip, &ty, &ty), RELUCL_OK);
    assert_int_equal(relucl_context_record_event(ctx, &done), RELUCL_OK);
    assert_int_equal(clEnqueueReadBuffer(ooo, by, CL_TRUE, 0, sizeof out, out, 1, &done, NULL),
                     CL_SUCCESS);
    for (size_t i = 0; i < N; i++) {
        float v = x[i] > 0.0f ? x[i] : 0.5f * x[i];
        v = v > 0.0f || v != v ? v : 0.0f;
        want[i] = v != v ? v : v < 1.0f ? v : 1.0f;
    }
    support_normalize_zero_sign(out, x, N);
    assert_true(support_equal_bits(out, want, N, "three ops beside an out-of-order queue"));
    clReleaseEvent(written);
    clReleaseEvent(done);
    support_buffer_release(bx);
    support_buffer_release(by);
    relucl_context_destroy(ctx);
    clReleaseCommandQueue(ooo);
}

/* Bad events are refused by name, and nothing is enqueued: had the barrier gone in with the
 * open gate, the op after it would never finish. */
static void test_bad_events_are_refused_and_enqueue_nothing(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    cl_int err = CL_SUCCESS;
    cl_event gate = clCreateUserEvent(relucl_context_cl_context(ctx), &err);
    assert_int_equal(err, CL_SUCCESS);
    relucl_context *other = NULL;
    assert_int_equal(relucl_context_create(NULL, &other), RELUCL_OK);
    cl_event foreign = clCreateUserEvent(relucl_context_cl_context(other), &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_event failed = clCreateUserEvent(relucl_context_cl_context(ctx), &err);
    assert_int_equal(clSetUserEventStatus(failed, -1), CL_SUCCESS);

    assert_int_equal(relucl_context_wait_events(NULL, 1, &gate), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_context_wait_events(ctx, 1, NULL), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("events"));
    assert_int_equal(relucl_context_wait_events(ctx, 2, (cl_event[]){gate, NULL}),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(relucl_context_error(ctx), "events[1] is NULL"));
    assert_int_equal(relucl_context_wait_events(ctx, 2, (cl_event[]){gate, foreign}),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(relucl_context_error(ctx), "events[1] belongs to another"));
    assert_int_equal(relucl_context_wait_events(ctx, 2, (cl_event[]){gate, failed}),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(relucl_context_error(ctx), "events[1] ended in error"));
    assert_int_equal(relucl_context_wait_events(ctx, 0, NULL), RELUCL_OK);
    assert_int_equal(relucl_context_record_event(ctx, NULL), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("event"));

    /* The gate is still closed; relucl's queue must still run. */
    float x[3] = {-1.0f, 0.0f, 2.0f}, y[3];
    cl_mem b = support_buffer_from(x, 3);
    relucl_tensor t = support_view1(b, 0, 3);
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    assert_int_equal(relucl_activation_forward(ctx, relu, &t, &t), RELUCL_OK);
    assert_int_equal(relucl_tensor_read(ctx, &t, y), RELUCL_OK);
    assert_true(y[0] == 0.0f && y[2] == 2.0f);

    clSetUserEventStatus(gate, CL_COMPLETE);
    clSetUserEventStatus(foreign, CL_COMPLETE);
    clReleaseEvent(gate);
    clReleaseEvent(foreign);
    clReleaseEvent(failed);
    support_buffer_release(b);
    relucl_context_destroy(other);
}

/* The reasons create_from_queue gives. */
static void test_from_queue_explains_refusals(void **state) {
    (void)state;
    char why[256] = "";
    relucl_context *ctx = NULL;
    assert_int_equal(relucl_context_create_from_queue_ex(NULL, &ctx, why, sizeof why),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(why, "queue is NULL"));
    assert_null(ctx);
    assert_int_equal(
        relucl_context_create_from_queue_ex(relucl_context_queue(support_ctx()), NULL, why, 0),
        RELUCL_ERROR_INVALID_ARGUMENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_holds_relucl_until_the_producer_is_done),
        cmocka_unit_test(test_wait_holds_every_kind_of_command),
        cmocka_unit_test(test_out_of_order_queue_is_ordered_by_events),
        cmocka_unit_test(test_bad_events_are_refused_and_enqueue_nothing),
        cmocka_unit_test(test_from_queue_explains_refusals),
    };
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
