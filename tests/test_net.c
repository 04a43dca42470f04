/* Sequential networks: specs, a gradient check through the whole net, and training that
 * really learns (synthetic clusters, and a Fashion-MNIST subset when it is installed). */
#include "support.h"

#include "net/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_specs_and_presets(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    relucl_net *net = NULL;
    assert_int_equal(relucl_net_create(ctx, "mlp", 4, 1, &net), RELUCL_OK);
    assert_string_equal(relucl_net_spec(net), "784-256-relu-128-relu-10");
    assert_int_equal(relucl_net_inputs(net), 784);
    assert_int_equal(relucl_net_outputs(net), 10);
    assert_int_equal(relucl_net_parameter_count(net), 784 * 256 + 256 + 256 * 128 + 128 + 1290);
    relucl_net_destroy(net);
    assert_int_equal(relucl_net_create(ctx, "5-4-leaky:0.2-3-prelu-2-elu-2", 4, 1, &net),
                     RELUCL_OK);
    assert_string_equal(relucl_net_spec(net), "5-4-leaky:0.2-3-prelu:0.25-2-elu:1-2");
    relucl_net_destroy(net);
    assert_int_equal(relucl_net_create(ctx, "cnn", 4, 1, &net), RELUCL_OK);
    assert_string_equal(relucl_net_spec(net),
                        "1x28x28-conv32k3p1s1d1-relu-maxpool2s2p0-conv64k3p1s1d1-relu-"
                        "maxpool2s2p0-128-relu-10");
    assert_int_equal(relucl_net_inputs(net), 784);
    assert_int_equal(relucl_net_parameter_count(net),
                     32 * 9 + 32 + 64 * 32 * 9 + 64 + 3136 * 128 + 128 + 1290);
    relucl_net_destroy(net);

    const char *bad[] = {"relu-10",
                         "784",
                         "784-0-10",
                         "784-10-bogus",
                         "784-10-leaky:x",
                         "784-relu-10",
                         "784-10-relu-relu",
                         "1x4x4-conv2k5-10",
                         "1x4x4-maxpool2-relu-10",
                         "1x4x4-conv2k3x-10",
                         "1x4x4-conv2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        net = (relucl_net *)&net;
        relucl_net *const before = net;
        assert_int_equal(relucl_net_create(ctx, bad[i], 4, 1, &net), RELUCL_ERROR_INVALID_ARGUMENT);
        assert_ptr_equal(net, before);
        assert_true(support_error_mentions("spec"));
    }
    assert_int_equal(relucl_net_create(ctx, "4-2", 0, 1, &net), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("max_batch"));
    relucl_net_destroy(NULL);
}

/* Found by probing: trailing text, signs and overflowing products in the input, activations
 * whose every step would fail, numbers past 2^24, and layers too large to count. */
static void test_malformed_specs_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    const char *bad[] = {"1x1x1junk-10",
                         "+1x1x1-10",
                         "1x-1x1-10",
                         "1x1x-10",
                         "1xx1-10",
                         "111620x429509837x384773-gap-10",
                         "4096x4096x4096-10",
                         "784-99999999999999999999-10",
                         "784-16777217-10",
                         "784-10-elu:0-2",
                         "784-10-clipped:0-2",
                         "784-10-clipped:-1-2",
                         "784-10-leaky:nan-2",
                         "1x8x8-conv4k3p16777217-10",
                         "1x8x8-conv16777216k3-10",
                         "16777216-16777216-10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        relucl_net *net = NULL;
        relucl_status got = relucl_net_create(ctx, bad[i], 4, 1, &net);
        if (got != RELUCL_ERROR_INVALID_ARGUMENT)
            fail_msg("spec \"%s\": %s, want RELUCL_ERROR_INVALID_ARGUMENT", bad[i],
                     relucl_status_name(got));
        assert_null(net);
        assert_true(support_error_mentions("spec"));
    }
}

/* A spec whose normalised spelling is longer than the 511 characters a net keeps is refused,
 * so two different nets can never share a spec (and each other's checkpoints). */
static void test_specs_too_long_once_normalised_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    char spec[1024] = "1x1x1";
    for (int i = 0; i < 30; i++)
        strcat(spec, "-conv1p1-prelu");
    strcat(spec, "-conv1p1-leaky:0.5-2");
    assert_true(strlen(spec) < 511); /* short as written: only its normal form is long */
    relucl_net *net = NULL;
    assert_int_equal(relucl_net_create(ctx, spec, 2, 1, &net), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_null(net);
    assert_true(support_error_mentions("spec"));
    assert_non_null(strstr(relucl_context_error(ctx), "longer than 511"));
}

/* The normal form re-creates the same net, alpha to the last bit. */
static void test_normalised_spec_recreates_the_net(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    relucl_net *a = NULL, *b = NULL;
    assert_int_equal(relucl_net_create(ctx, "3-4-leaky:0.123456789-2-elu:0.3-2", 2, 1, &a),
                     RELUCL_OK);
    assert_int_equal(relucl_net_create(ctx, relucl_net_spec(a), 2, 1, &b), RELUCL_OK);
    assert_string_equal(relucl_net_spec(a), relucl_net_spec(b));
    relucl_net_layer_info la, lb;
    assert_int_equal(relucl_net_layer(a, 0, &la), RELUCL_OK);
    assert_int_equal(relucl_net_layer(b, 0, &lb), RELUCL_OK);
    assert_true(la.act.alpha == lb.act.alpha && la.act.alpha == 0.123456789f);
    relucl_net_destroy(a);
    relucl_net_destroy(b);
}

/* A few characters may ask for gigabytes: more than the device can hold is refused before
 * anything is allocated, with the sizes in the message. */
static void test_nets_larger_than_the_device_are_refused(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    cl_ulong largest = 0;
    assert_int_equal(clGetDeviceInfo(relucl_context_device(ctx), CL_DEVICE_MAX_MEM_ALLOC_SIZE,
                                     sizeof largest, &largest, NULL),
                     CL_SUCCESS);
    /* 64 GiB of weights; and the probe's 18 bytes, whose optimizer state alone is 1.6 GB. */
    const char *specs[] = {"1048576-16384-10",
                           largest < (1ull << 31) ? "784784-256-relu-6-" : NULL};
    for (size_t i = 0; i < 2 && specs[i]; i++) {
        relucl_net *net = NULL;
        assert_int_equal(relucl_net_create(ctx, specs[i], 1, 1, &net), RELUCL_ERROR_OUT_OF_MEMORY);
        assert_null(net);
        assert_true(support_error_mentions("spec"));
        assert_non_null(strstr(relucl_context_error(ctx), "bytes of device memory"));
    }
}

/* compute_gradients + apply_gradients is train_step, bit for bit; the buffers are the net's
 * own, and a gradient buffer changed between the halves is the one applied. */
static void test_split_step_matches_train_step(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    enum { ROWS = 4, IN = 5 };
    float x[ROWS * IN], labels[ROWS] = {0, 1, 2, 1};
    support_fill_uniform(x, ROWS * IN, 31, -1, 1);
    cl_mem bx = support_buffer_from(x, ROWS * IN), bl = support_buffer_from(labels, ROWS);
    relucl_tensor tx = support_view(bx, 0, 2, (size_t[2]){ROWS, IN}),
                  tl = support_view1(bl, 0, ROWS);
    relucl_net *a = NULL, *b = NULL;
    assert_int_equal(relucl_net_create(ctx, "5-6-relu-3", ROWS, 4, &a), RELUCL_OK);
    assert_int_equal(relucl_net_create(ctx, "5-6-relu-3", ROWS, 4, &b), RELUCL_OK);
    relucl_optimizer adam = {
        RELUCL_OPTIMIZER_ADAM, {0.0f, 0.0f, 0.0f, 0}, {0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0}};
    assert_int_equal(relucl_net_set_optimizer(a, &adam), RELUCL_OK);
    assert_int_equal(relucl_net_set_optimizer(b, &adam), RELUCL_OK);
    size_t count = relucl_net_parameter_count(a);
    relucl_tensor pa, pb, ga, gb, sa;
    assert_int_equal(relucl_net_buffer(a, RELUCL_NET_PARAMETERS, &pa), RELUCL_OK);
    assert_int_equal(relucl_net_buffer(b, RELUCL_NET_PARAMETERS, &pb), RELUCL_OK);
    assert_int_equal(relucl_net_buffer(a, RELUCL_NET_GRADIENTS, &ga), RELUCL_OK);
    assert_int_equal(relucl_net_buffer(b, RELUCL_NET_GRADIENTS, &gb), RELUCL_OK);
    assert_int_equal(relucl_net_buffer(a, RELUCL_NET_OPTIMIZER_STATE, &sa), RELUCL_OK);
    assert_int_equal(relucl_tensor_count(&pa), count);
    assert_int_equal(relucl_tensor_count(&ga), count);
    assert_int_equal(relucl_tensor_count(&sa), 2 * count);
    float *wa = malloc(count * sizeof *wa), *wb = malloc(count * sizeof *wb);
    for (int step = 0; step < 3; step++) {
        assert_int_equal(relucl_net_train_step(a, &tx, &tl), RELUCL_OK);
        assert_int_equal(relucl_net_compute_gradients(b, &tx, &tl), RELUCL_OK);
        assert_int_equal(relucl_net_apply_gradients(b), RELUCL_OK);
    }
    assert_int_equal(relucl_tensor_read(ctx, &pa, wa), RELUCL_OK);
    assert_int_equal(relucl_tensor_read(ctx, &pb, wb), RELUCL_OK);
    assert_true(support_equal_bits(wb, wa, count, "split step vs train_step"));
    assert_int_equal(relucl_net_steps(b), 3);
    /* Doubling the gradients between the halves is what gets applied: SGD moves twice as far. */
    relucl_optimizer sgd = {
        RELUCL_OPTIMIZER_SGD, {0.1f, 0.0f, 0.0f, 0}, {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0}};
    assert_int_equal(relucl_net_set_optimizer(b, &sgd), RELUCL_OK);
    assert_int_equal(relucl_net_compute_gradients(b, &tx, &tl), RELUCL_OK);
    float *g = malloc(count * sizeof *g);
    assert_int_equal(relucl_tensor_read(ctx, &gb, g), RELUCL_OK);
    for (size_t i = 0; i < count; i++)
        g[i] *= 2.0f;
    assert_int_equal(relucl_tensor_write(ctx, &gb, g), RELUCL_OK);
    assert_int_equal(relucl_net_apply_gradients(b), RELUCL_OK);
    float *after = malloc(count * sizeof *after);
    assert_int_equal(relucl_tensor_read(ctx, &pb, after), RELUCL_OK);
    for (size_t i = 0; i < count; i++)
        assert_true(after[i] == wb[i] - 0.1f * g[i]);
    assert_int_equal(relucl_net_set_steps(b, 42), RELUCL_OK);
    assert_int_equal(relucl_net_steps(b), 42);
    assert_int_equal(relucl_net_buffer(b, (relucl_net_buffer_kind)7, &pb),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    free(wa), free(wb), free(g), free(after);
    relucl_net_destroy(a);
    relucl_net_destroy(b);
    support_buffer_release(bx);
    support_buffer_release(bl);
}

/* Points around `classes` centres in `dims` dimensions, labelled by centre. */
static void clusters(float *x, float *labels, size_t n, size_t dims, size_t classes,
                     uint64_t seed) {
    support_rng rng = support_rng_make(seed);
    float centres[8 * 64];
    for (size_t i = 0; i < classes * dims; i++)
        centres[i] = support_rng_float(&rng, -1, 1);
    for (size_t i = 0; i < n; i++) {
        size_t c = support_rng_below(&rng, classes);
        labels[i] = (float)c;
        for (size_t d = 0; d < dims; d++)
            x[i * dims + d] = centres[c * dims + d] + support_rng_float(&rng, -0.6f, 0.6f);
    }
}

/* Trains spec on clustered data; returns first and last mean loss over 10 batches. */
static void train_clusters(const char *spec, const relucl_optimizer *opt, double *first,
                           double *last, double *accuracy) {
    enum { N = 512, DIMS = 12, CLASSES = 4, BATCH = 32 };
    relucl_context *ctx = support_ctx();
    float x[N * DIMS], labels[N];
    clusters(x, labels, N, DIMS, CLASSES, 3);
    cl_mem bx = support_buffer_from(x, N * DIMS), bl = support_buffer_from(labels, N);
    relucl_net *net = NULL;
    assert_int_equal(relucl_net_create(ctx, spec, BATCH, 7, &net), RELUCL_OK);
    assert_int_equal(relucl_net_set_optimizer(net, opt), RELUCL_OK);
    for (int epoch = 0; epoch < 8; epoch++) {
        for (size_t b = 0; b < N / BATCH; b++) {
            relucl_tensor xb = support_view(bx, b * BATCH * DIMS, 2, (size_t[2]){BATCH, DIMS});
            relucl_tensor lb = support_view1(bl, b * BATCH, BATCH);
            assert_int_equal(relucl_net_train_step(net, &xb, &lb), RELUCL_OK);
            if ((epoch == 0 && b == 9) || (epoch == 7 && b == N / BATCH - 1)) {
                double loss;
                assert_int_equal(relucl_net_take_metrics(net, &loss, accuracy), RELUCL_OK);
                *(epoch == 0 ? first : last) = loss;
            } else if (epoch == 7 && b == N / BATCH - 11) {
                double loss, acc;
                assert_int_equal(relucl_net_take_metrics(net, &loss, &acc), RELUCL_OK);
            }
        }
    }
    assert_int_equal(relucl_net_steps(net), 8 * N / BATCH);
    relucl_net_destroy(net);
    support_buffer_release(bx);
    support_buffer_release(bl);
}

/* Stated factor: the mean loss of the last ten batches is below a fifth of the first ten's. */
static void test_every_activation_learns_clusters(void **state) {
    (void)state;
    const char *specs[] = {"12-32-relu-16-relu-4", "12-32-leaky-16-leaky:0.2-4",
                           "12-32-elu-16-elu-4", "12-32-relu6-4", "12-32-prelu-16-prelu-4"};
    relucl_optimizer sgd = {
        RELUCL_OPTIMIZER_SGD, {0.05f, 0.9f, 0.0f, 0}, {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0}};
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        double first = 0, last = 0, accuracy = 0;
        train_clusters(specs[i], &sgd, &first, &last, &accuracy);
        printf("%-28s loss %.4f -> %.4f, accuracy %.3f\n", specs[i], first, last, accuracy);
        assert_true(last < first / 5);
        assert_true(accuracy > 0.95);
    }
    relucl_optimizer adamw = sgd;
    adamw.kind = RELUCL_OPTIMIZER_ADAM;
    adamw.adam = (relucl_adam){0.005f, 0.9f, 0.999f, 1e-8f, 0.01f, 1};
    double first = 0, last = 0, accuracy = 0;
    train_clusters(specs[0], &adamw, &first, &last, &accuracy);
    printf("%-28s loss %.4f -> %.4f, accuracy %.3f (AdamW)\n", specs[0], first, last, accuracy);
    assert_true(last < first / 5);
}

/* d(mean loss)/d(w) from a training step with lr 0, against central differences of the
 * loss the net itself reports, through dense + ELU + softmax cross-entropy. */
static void check_net_gradient(const char *spec, size_t dims) {
    enum { N = 8 };
    relucl_context *ctx = support_ctx();
    float x[N * 128], labels[N];
    clusters(x, labels, N, dims, 3, 11);
    cl_mem bx = support_buffer_from(x, N * dims), bl = support_buffer_from(labels, N);
    relucl_tensor X = support_view(bx, 0, 2, (size_t[2]){N, dims}), L = support_view1(bl, 0, N);
    relucl_net *net = NULL;
    assert_int_equal(relucl_net_create(ctx, spec, N, 5, &net), RELUCL_OK);
    relucl_optimizer frozen = {
        RELUCL_OPTIMIZER_SGD, {0.0f, 0.0f, 0.0f, 0}, {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0}};
    assert_int_equal(relucl_net_set_optimizer(net, &frozen), RELUCL_OK);
    assert_int_equal(relucl_net_train_step(net, &X, &L), RELUCL_OK);
    size_t count = relucl_net_parameter_count(net);
    float *params = malloc(count * sizeof *params), *grads = malloc(count * sizeof *grads);
    assert_int_equal(relucl_tensor_read(ctx, &net->all_params, params), RELUCL_OK);
    assert_int_equal(relucl_tensor_read(ctx, &net->all_grads, grads), RELUCL_OK);
    double loss, acc;
    assert_int_equal(relucl_net_take_metrics(net, &loss, &acc), RELUCL_OK);
    const float h = 1e-2f;
    int checked = 0;
    for (size_t p = 0; p < count; p += 3) {
        double sides[2];
        for (int s = 0; s < 2; s++) {
            float moved = params[p] + (s ? -h : h);
            relucl_tensor one = {net->params, p, 1, {1, 1, 1, 1}};
            assert_int_equal(relucl_tensor_write(ctx, &one, &moved), RELUCL_OK);
            assert_int_equal(relucl_net_evaluate(net, &X, &L), RELUCL_OK);
            assert_int_equal(relucl_net_take_metrics(net, &sides[s], &acc), RELUCL_OK);
        }
        relucl_tensor one = {net->params, p, 1, {1, 1, 1, 1}};
        assert_int_equal(relucl_tensor_write(ctx, &one, &params[p]), RELUCL_OK);
        double fd = (sides[0] - sides[1]) / (2.0 * h);
        if (fabs(fd - grads[p]) > 2e-3 + 2e-2 * fabs(fd))
            fail_msg("%s: parameter %zu: finite difference %.6g, gradient %.6g", spec, p, fd,
                     (double)grads[p]);
        checked++;
    }
    assert_true(checked > 20);
    free(params);
    free(grads);
    relucl_net_destroy(net);
    support_buffer_release(bx);
    support_buffer_release(bl);
}

static void test_net_gradient_matches_finite_differences(void **state) {
    (void)state;
    check_net_gradient("6-5-elu-4-identity-3", 6);
}

/* Through convolutions (one with a separate PReLU), average pooling, global pooling and the
 * flattening into dense layers. */
static void test_cnn_gradient_matches_finite_differences(void **state) {
    (void)state;
    check_net_gradient("2x7x6-conv4k3p1-elu-avgpool2-conv3k2-prelu-gap-5-elu-3", 84);
}

/* After a ReLU or clipped ReLU (a ceiling of 0.5, which many outputs pass) convolution, max
 * pooling's backward masks the pooled gradient and the convolution skips its activation's
 * (net_train.c): the gradients are the same bits as the plain order's, with stride 2 and
 * with overlapping windows (stride 1, padding 1). */
static void test_masking_after_pooling_gives_the_same_gradients(void **state) {
    (void)state;
    enum { N = 6, DIMS = 2 * 7 * 6 };
    const char *specs[] = {"2x7x6-conv5k3p1-relu-maxpool2-conv4k3p1-clipped:0.5-maxpool2-3",
                           "2x7x6-conv5k3p1-relu-maxpool3s1p1-4"};
    relucl_context *ctx = support_ctx();
    float x[N * DIMS], labels[N];
    clusters(x, labels, N, DIMS, 3, 17);
    cl_mem bx = support_buffer_from(x, N * DIMS), bl = support_buffer_from(labels, N);
    relucl_tensor X = support_view(bx, 0, 2, (size_t[2]){N, DIMS}), L = support_view1(bl, 0, N);
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        float *grads[2] = {NULL, NULL};
        double loss[2], acc;
        size_t count = 0;
        for (int unfused = 0; unfused < 2; unfused++) {
            relucl_net *net = NULL;
            assert_int_equal(relucl_net_create(ctx, specs[i], N, 7, &net), RELUCL_OK);
            net->unfused = unfused;
            assert_int_equal(relucl_net_compute_gradients(net, &X, &L), RELUCL_OK);
            count = relucl_net_parameter_count(net);
            grads[unfused] = malloc(count * sizeof(float));
            assert_int_equal(relucl_tensor_read(ctx, &net->all_grads, grads[unfused]), RELUCL_OK);
            assert_int_equal(relucl_net_take_metrics(net, &loss[unfused], &acc), RELUCL_OK);
            relucl_net_destroy(net);
        }
        assert_true(loss[0] == loss[1]);
        assert_true(support_equal_bits(grads[0], grads[1], count, specs[i]));
        int nonzero = 0;
        for (size_t p = 0; p < count; p++)
            nonzero += grads[0][p] != 0.0f;
        printf("%s: %d of %zu gradients nonzero\n", specs[i], nonzero, count);
        assert_true(nonzero > (int)count / 4); /* the masks did not zero everything */
        free(grads[0]);
        free(grads[1]);
    }
    support_buffer_release(bx);
    support_buffer_release(bl);
}

/* A small CNN on clustered 6x6 images: the loss falls at least fivefold. */
static void test_cnn_learns_clusters(void **state) {
    (void)state;
    relucl_optimizer sgd = {
        RELUCL_OPTIMIZER_SGD, {0.05f, 0.9f, 0.0f, 0}, {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0}};
    double first = 0, last = 0, accuracy = 0;
    train_clusters("1x3x4-conv4k3p1-relu-maxpool2-16-relu-4", &sgd, &first, &last, &accuracy);
    printf("small CNN: loss %.4f -> %.4f, accuracy %.3f\n", first, last, accuracy);
    assert_true(last < first / 5);
    assert_true(accuracy > 0.95);
}

/* 200 steps on a Fashion-MNIST subset: the mean loss of the last 40 batches must be under a
 * third of the first two batches' (measured: 2.2 -> 0.56). */
static void test_fashion_mnist_subset_loss_falls(void **state) {
    (void)state;
    const char *dir = "/usr/share/datasets/fashion-mnist";
    relucl_idx images, labels;
    char message[512];
    char path[256];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    if (relucl_idx_load(path, &images, message, sizeof message) != RELUCL_OK) {
        printf("skipped: %s (install dataset-fashion-mnist)\n", message);
        skip();
    }
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
    assert_int_equal(relucl_idx_load(path, &labels, message, sizeof message), RELUCL_OK);
    enum { N = 12800, BATCH = 64 };
    relucl_context *ctx = support_ctx();
    float *x = malloc((size_t)N * 784 * sizeof *x), *y = malloc(N * sizeof *y);
    for (size_t i = 0; i < (size_t)N * 784; i++)
        x[i] = images.data[i] / 255.0f;
    for (size_t i = 0; i < N; i++)
        y[i] = labels.data[i];
    relucl_idx_free(&images);
    relucl_idx_free(&labels);
    cl_mem bx = support_buffer_from(x, (size_t)N * 784), bl = support_buffer_from(y, N);
    relucl_net *net = NULL;
    assert_int_equal(relucl_net_create(ctx, "mlp", BATCH, 1, &net), RELUCL_OK);
    relucl_optimizer sgd = {
        RELUCL_OPTIMIZER_SGD, {0.05f, 0.9f, 0.0f, 0}, {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0}};
    assert_int_equal(relucl_net_set_optimizer(net, &sgd), RELUCL_OK);
    double first = 0, last = 0, acc = 0;
    for (size_t b = 0; b < N / BATCH; b++) {
        relucl_tensor xb = support_view(bx, b * BATCH * 784, 2, (size_t[2]){BATCH, 784});
        relucl_tensor lb = support_view1(bl, b * BATCH, BATCH);
        assert_int_equal(relucl_net_train_step(net, &xb, &lb), RELUCL_OK);
        if (b == 1) /* the first two batches: the untrained loss */
            assert_int_equal(relucl_net_take_metrics(net, &first, &acc), RELUCL_OK);
        if (b == N / BATCH - 41)
            assert_int_equal(relucl_net_take_metrics(net, &last, &acc), RELUCL_OK);
    }
    assert_int_equal(relucl_net_take_metrics(net, &last, &acc), RELUCL_OK);
    printf("Fashion-MNIST subset, %d steps: loss %.4f -> %.4f, accuracy %.3f\n", N / BATCH, first,
           last, acc);
    assert_true(last < first / 3);
    assert_true(acc > 0.75);
    relucl_net_destroy(net);
    support_buffer_release(bx);
    support_buffer_release(bl);
    free(x);
    free(y);
}

static void test_layers_can_be_inspected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    relucl_net *net = NULL;
    assert_int_equal(relucl_net_create(ctx, "1x4x4-conv2k3p1-relu-maxpool2-3", 8, 1, &net),
                     RELUCL_OK);
    assert_int_equal(relucl_net_layer_count(net), 3);
    float x[5 * 16], labels[5] = {0, 1, 2, 0, 1};
    support_fill_uniform(x, 5 * 16, 2, -1, 1);
    cl_mem bx = support_buffer_from(x, 5 * 16), bl = support_buffer_from(labels, 5);
    relucl_tensor X = support_view(bx, 0, 2, (size_t[2]){5, 16}), L = support_view1(bl, 0, 5);
    assert_int_equal(relucl_net_train_step(net, &X, &L), RELUCL_OK);
    relucl_net_layer_info info;
    assert_int_equal(relucl_net_layer(net, 0, &info), RELUCL_OK);
    assert_string_equal(info.kind, "conv");
    assert_int_equal(info.act.kind, RELUCL_RELU);
    assert_int_equal(relucl_tensor_count(&info.w), 2 * 9);
    assert_int_equal(relucl_tensor_count(&info.dw), 2 * 9);
    assert_int_equal(info.y.dims[0], 5); /* the last batch's rows */
    assert_int_equal(relucl_tensor_count(&info.y), 5 * 2 * 16);
    float y[5 * 2 * 16];
    assert_int_equal(relucl_tensor_read(ctx, &info.y, y), RELUCL_OK);
    for (size_t i = 0; i < 5 * 2 * 16; i++)
        assert_true(y[i] >= 0.0f); /* after its ReLU */
    assert_int_equal(relucl_net_layer(net, 1, &info), RELUCL_OK);
    assert_string_equal(info.kind, "maxpool");
    assert_null(info.w.buffer);
    assert_int_equal(relucl_net_layer(net, 3, &info), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("index"));
    relucl_net_destroy(net);
    support_buffer_release(bx);
    support_buffer_release(bl);
}

static void test_train_step_rejects_bad_batches(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    relucl_net *net = NULL;
    assert_int_equal(relucl_net_create(ctx, "4-3-relu-2", 8, 1, &net), RELUCL_OK);
    cl_mem b = support_buffer_poisoned(64);
    relucl_tensor x9 = support_view(b, 0, 2, (size_t[2]){9, 4}),
                  x5 = support_view(b, 0, 2, (size_t[2]){2, 5}),
                  x2 = support_view(b, 0, 2, (size_t[2]){2, 4}), l3 = support_view1(b, 40, 3);
    assert_int_equal(relucl_net_train_step(net, &x9, &l3), RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("x"));
    assert_int_equal(relucl_net_train_step(net, &x5, &l3), RELUCL_ERROR_SHAPE);
    assert_int_equal(relucl_net_train_step(net, &x2, &l3), RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("labels"));
    assert_int_equal(relucl_net_train_step(net, &x2, NULL), RELUCL_ERROR_INVALID_ARGUMENT);
    relucl_optimizer bad = {
        RELUCL_OPTIMIZER_SGD, {0.1f, 1.5f, 0.0f, 0}, {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0}};
    assert_int_equal(relucl_net_set_optimizer(net, &bad), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("momentum"));
    assert_int_equal(relucl_net_steps(net), 0);
    relucl_net_destroy(net);
    support_buffer_release(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_specs_and_presets),
        cmocka_unit_test(test_malformed_specs_are_rejected),
        cmocka_unit_test(test_specs_too_long_once_normalised_are_rejected),
        cmocka_unit_test(test_normalised_spec_recreates_the_net),
        cmocka_unit_test(test_split_step_matches_train_step),
        cmocka_unit_test(test_nets_larger_than_the_device_are_refused),
        cmocka_unit_test(test_every_activation_learns_clusters),
        cmocka_unit_test(test_net_gradient_matches_finite_differences),
        cmocka_unit_test(test_cnn_gradient_matches_finite_differences),
        cmocka_unit_test(test_masking_after_pooling_gives_the_same_gradients),
        cmocka_unit_test(test_cnn_learns_clusters),
        cmocka_unit_test(test_fashion_mnist_subset_loss_falls),
        cmocka_unit_test(test_layers_can_be_inspected),
        cmocka_unit_test(test_train_step_rejects_bad_batches),
    };
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
