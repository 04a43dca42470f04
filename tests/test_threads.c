/* Contexts in several threads of a fresh process, created at the same moment: each thread
 * makes its own context (the first platform query of the process among them) and runs
 * activation, GEMM and convolution on it, checked against float64 on the host. This test
 * program opens no context before its threads do. */
#include "support.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 3
#define N 1000
#define M 13 /* GEMM m = n = k */

typedef struct worker {
    int index;
    pthread_barrier_t *start;
    char failure[512]; /* empty when every check passed */
} worker;

static int failed(worker *w, const char *what, relucl_context *ctx, relucl_status status) {
    if (!w->failure[0])
        snprintf(w->failure, sizeof w->failure, "thread %d: %s: %s %s", w->index, what,
                 relucl_status_name(status), ctx ? relucl_context_error(ctx) : "");
    return 0;
}

/* y = relu(x) and C = A B on the device against the host; 0 after recording a failure. */
static int run_ops(worker *w, relucl_context *ctx, uint64_t seed) {
    float x[N], y[N], a[M * M], b[M * M], c[M * M];
    support_fill_uniform(x, N, seed, -2.0f, 2.0f);
    support_fill_uniform(a, M * M, seed + 1, -1.0f, 1.0f);
    support_fill_uniform(b, M * M, seed + 2, -1.0f, 1.0f);
    relucl_tensor tx = {0}, ty = {0}, ta = {0}, tb = {0}, tc = {0};
    const size_t n = N, mm[2] = {M, M};
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    relucl_status s;
    const char *what = "create";
    if ((s = relucl_tensor_create(ctx, 1, &n, &tx)) == RELUCL_OK &&
        (s = relucl_tensor_create(ctx, 1, &n, &ty)) == RELUCL_OK &&
        (s = relucl_tensor_create(ctx, 2, mm, &ta)) == RELUCL_OK &&
        (s = relucl_tensor_create(ctx, 2, mm, &tb)) == RELUCL_OK &&
        (s = relucl_tensor_create(ctx, 2, mm, &tc)) == RELUCL_OK &&
        (what = "write", s = relucl_tensor_write(ctx, &tx, x)) == RELUCL_OK &&
        (s = relucl_tensor_write(ctx, &ta, a)) == RELUCL_OK &&
        (s = relucl_tensor_write(ctx, &tb, b)) == RELUCL_OK &&
        (what = "relu", s = relucl_activation_forward(ctx, relu, &tx, &ty)) == RELUCL_OK &&
        (what = "gemm", s = relucl_gemm(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &ta, &tb, 0.0f,
                                        &tc)) == RELUCL_OK &&
        (what = "read", s = relucl_tensor_read(ctx, &ty, y)) == RELUCL_OK)
        s = relucl_tensor_read(ctx, &tc, c);
    relucl_tensor *all[] = {&tx, &ty, &ta, &tb, &tc};
    for (size_t i = 0; i < 5; i++)
        relucl_tensor_release(all[i]);
    if (s != RELUCL_OK)
        return failed(w, what, ctx, s);
    for (size_t i = 0; i < N; i++)
        if (y[i] != (x[i] > 0.0f ? x[i] : 0.0f))
            return failed(w, "relu result", ctx, RELUCL_OK);
    double want[M * M], scale[M * M];
    support_gemm_reference(RELUCL_NO_TRANS, RELUCL_NO_TRANS, M, M, M, 1.0, a, b, 0.0, NULL, want,
                           scale);
    for (size_t i = 0; i < M * M; i++)
        if (fabs(c[i] - want[i]) > 1e-5 * scale[i] + 1e-30)
            return failed(w, "gemm result", ctx, RELUCL_OK);
    return 1;
}

/* A 3x3 convolution with ReLU, direct kernel, one image, against the host. */
static int run_conv(worker *w, relucl_context *ctx, uint64_t seed) {
    enum { C = 2, H = 7, K = 3 };
    float x[C * H * H], f[K * C * 9], y[K * H * H];
    support_fill_uniform(x, C * H * H, seed + 3, -1.0f, 1.0f);
    support_fill_uniform(f, K * C * 9, seed + 4, -1.0f, 1.0f);
    const size_t xd[4] = {1, C, H, H}, wd[4] = {K, C, 3, 3}, yd[4] = {1, K, H, H};
    relucl_tensor tx = {0}, tw = {0}, ty = {0};
    relucl_conv2d conv = {{1, 1}, {1, 1}, {1, 1}, 1};
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    relucl_status s;
    if ((s = relucl_tensor_create(ctx, 4, xd, &tx)) == RELUCL_OK &&
        (s = relucl_tensor_create(ctx, 4, wd, &tw)) == RELUCL_OK &&
        (s = relucl_tensor_create(ctx, 4, yd, &ty)) == RELUCL_OK &&
        (s = relucl_tensor_write(ctx, &tx, x)) == RELUCL_OK &&
        (s = relucl_tensor_write(ctx, &tw, f)) == RELUCL_OK &&
        (s = relucl_conv2d_forward(ctx, &conv, RELUCL_CONV_NAIVE, relu, &tx, &tw, NULL, &ty)) ==
            RELUCL_OK)
        s = relucl_tensor_read(ctx, &ty, y);
    relucl_tensor_release(&tx);
    relucl_tensor_release(&tw);
    relucl_tensor_release(&ty);
    if (s != RELUCL_OK)
        return failed(w, "conv", ctx, s);
    for (int k = 0; k < K; k++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < H; j++) {
                double sum = 0.0, mag = 0.0;
                for (int c = 0; c < C; c++)
                    for (int r = 0; r < 3; r++)
                        for (int q = 0; q < 3; q++) {
                            int yy = i + r - 1, xx = j + q - 1;
                            if (yy < 0 || yy >= H || xx < 0 || xx >= H)
                                continue;
                            double t =
                                (double)x[(c * H + yy) * H + xx] * f[((k * C + c) * 3 + r) * 3 + q];
                            sum += t;
                            mag += fabs(t);
                        }
                double want = sum > 0.0 ? sum : 0.0;
                if (fabs(y[(k * H + i) * H + j] - want) > 1e-5 * mag + 1e-30)
                    return failed(w, "conv result", ctx, RELUCL_OK);
            }
    return 1;
}

static void *work(void *arg) {
    worker *w = arg;
    pthread_barrier_wait(w->start); /* every thread's first call at the same moment */
    for (int round = 0; round < ROUNDS && !w->failure[0]; round++) {
        relucl_context *ctx = NULL;
        char message[512] = "";
        relucl_status s = relucl_context_create_ex(NULL, &ctx, message, sizeof message);
        if (s != RELUCL_OK) {
            snprintf(w->failure, sizeof w->failure, "thread %d, round %d: %s", w->index, round,
                     message);
            break;
        }
        uint64_t seed = 1000u * (uint64_t)w->index + (uint64_t)round;
        if (run_ops(w, ctx, seed))
            run_conv(w, ctx, seed);
        relucl_context_destroy(ctx);
    }
    return NULL;
}

static void test_contexts_created_at_once_in_threads_all_work(void **state) {
    (void)state;
    pthread_t threads[THREADS];
    worker workers[THREADS];
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){i, &start, ""};
        assert_int_equal(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    pthread_barrier_destroy(&start);
    int failures = 0;
    for (int i = 0; i < THREADS; i++)
        if (workers[i].failure[0]) {
            fprintf(stderr, "%s\n", workers[i].failure);
            failures++;
        }
    assert_int_equal(failures, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contexts_created_at_once_in_threads_all_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
