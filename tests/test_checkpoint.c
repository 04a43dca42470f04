/* Checkpoints: round trip, exact resumption, and every kind of bad file leaving the net as
 * it was. */
#include "support.h"

#include "net/net.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N = 64, DIMS = 6, BATCH = 16 };
static char dir[64];
static cl_mem data_x, data_labels;

static int setup(void **state) {
    if (support_setup(state) != 0)
        return -1;
    snprintf(dir, sizeof dir, "/tmp/relucl-ckpt-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    float x[N * DIMS], labels[N];
    support_fill_uniform(x, N * DIMS, 4, -1, 1);
    for (int i = 0; i < N; i++)
        labels[i] = (float)(i % 3);
    data_x = support_buffer_from(x, N * DIMS);
    data_labels = support_buffer_from(labels, N);
    return 0;
}

static int teardown(void **state) {
    support_buffer_release(data_x);
    support_buffer_release(data_labels);
    return support_teardown(state);
}

static relucl_net *make_net(const char *spec, relucl_optimizer_kind kind) {
    relucl_net *net = NULL;
    assert_int_equal(relucl_net_create(support_ctx(), spec, BATCH, 3, &net), RELUCL_OK);
    relucl_optimizer opt = {kind, {0.05f, 0.9f, 1e-4f, 1}, {0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 1}};
    assert_int_equal(relucl_net_set_optimizer(net, &opt), RELUCL_OK);
    return net;
}

/* Batches follow the net's own step count, so a resumed net sees what it would have seen. */
static void train(relucl_net *net, int steps) {
    for (int s = 0; s < steps; s++) {
        size_t b = (size_t)relucl_net_steps(net) % (N / BATCH);
        relucl_tensor xb = support_view(data_x, b * BATCH * DIMS, 2, (size_t[2]){BATCH, DIMS});
        relucl_tensor lb = support_view1(data_labels, b * BATCH, BATCH);
        assert_int_equal(relucl_net_train_step(net, &xb, &lb), RELUCL_OK);
    }
}

/* Parameters and optimizer state, for bitwise comparison. */
static float *snapshot(relucl_net *net) {
    size_t count = relucl_net_parameter_count(net);
    float *all = malloc(3 * count * sizeof *all);
    relucl_tensor state = {net->state, 0, 1, {2 * count, 1, 1, 1}};
    assert_int_equal(relucl_tensor_read(support_ctx(), &net->all_params, all), RELUCL_OK);
    assert_int_equal(relucl_tensor_read(support_ctx(), &state, all + count), RELUCL_OK);
    return all;
}

static void path_for(char *path, size_t size, const char *name) {
    snprintf(path, size, "%s/%s", dir, name);
}

static void test_resumed_training_matches_uninterrupted(void **state) {
    (void)state;
    const relucl_optimizer_kind kinds[2] = {RELUCL_OPTIMIZER_SGD, RELUCL_OPTIMIZER_ADAM};
    for (int k = 0; k < 2; k++) {
        const char *spec = "6-8-prelu-5-relu-3";
        relucl_net *straight = make_net(spec, kinds[k]);
        train(straight, 12);
        relucl_net *first_half = make_net(spec, kinds[k]);
        train(first_half, 5);
        char path[128];
        path_for(path, sizeof path, "half.ckpt");
        assert_int_equal(relucl_net_save(first_half, path), RELUCL_OK);
        relucl_net_destroy(first_half);
        /* A fresh net with other weights and no optimizer settings picks up where it was. */
        relucl_net *resumed = NULL;
        assert_int_equal(relucl_net_create(support_ctx(), spec, BATCH, 99, &resumed), RELUCL_OK);
        assert_int_equal(relucl_net_load(resumed, path), RELUCL_OK);
        assert_int_equal(relucl_net_steps(resumed), 5);
        assert_int_equal(resumed->opt.kind, kinds[k]);
        train(resumed, 7);
        float *a = snapshot(straight), *b = snapshot(resumed);
        assert_true(support_equal_bits(b, a, 3 * relucl_net_parameter_count(straight),
                                       "resumed vs uninterrupted"));
        free(a), free(b);
        relucl_net_destroy(straight);
        relucl_net_destroy(resumed);
    }
}

static void flip(const char *path, long at) {
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(~c & 0xff, f);
    fclose(f);
}

/* Each bad file is refused with the expected status, and the net is unchanged. */
static void expect_refused(relucl_net *net, const char *path, relucl_status status,
                           const char *word) {
    float *before = snapshot(net);
    unsigned long long steps = relucl_net_steps(net);
    assert_int_equal(relucl_net_load(net, path), status);
    assert_true(support_error_mentions(word));
    float *after = snapshot(net);
    assert_true(support_equal_bits(after, before, 3 * relucl_net_parameter_count(net),
                                   "net after a refused load"));
    assert_int_equal(relucl_net_steps(net), steps);
    free(before), free(after);
}

static void test_bad_files_are_refused_and_change_nothing(void **state) {
    (void)state;
    char path[128], other[128];
    path_for(path, sizeof path, "good.ckpt");
    path_for(other, sizeof other, "other.ckpt");
    relucl_net *net = make_net("6-8-relu-3", RELUCL_OPTIMIZER_SGD);
    train(net, 3);
    assert_int_equal(relucl_net_save(net, path), RELUCL_OK);
    relucl_net *different = make_net("6-9-relu-3", RELUCL_OPTIMIZER_SGD);
    assert_int_equal(relucl_net_save(different, other), RELUCL_OK);
    relucl_net_destroy(different);
    train(net, 2); /* so that loading the good file would change it */

    expect_refused(net, other, RELUCL_ERROR_FORMAT, "model");
    char missing[128];
    path_for(missing, sizeof missing, "missing.ckpt");
    expect_refused(net, missing, RELUCL_ERROR_IO, "path");

    static unsigned char saved[1 << 16];
    FILE *f = fopen(path, "rb");
    long size = (long)fread(saved, 1, sizeof saved, f);
    fclose(f);
    assert_true(size > 100 && size < (long)sizeof saved);
    const long spots[] = {0, 12, 40, size / 2, size - 1};
    for (size_t i = 0; i < sizeof spots / sizeof *spots; i++) {
        flip(path, spots[i]);
        expect_refused(net, path, RELUCL_ERROR_FORMAT, i == 0 ? "checkpoint" : "checksum");
        flip(path, spots[i]);
    }
    assert_int_equal(truncate(path, size - 5), 0);
    expect_refused(net, path, RELUCL_ERROR_FORMAT, "checksum");
    assert_int_equal(truncate(path, 3), 0);
    expect_refused(net, path, RELUCL_ERROR_FORMAT, "checkpoint");
    f = fopen(path, "wb");
    assert_int_equal(fwrite(saved, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    assert_int_equal(relucl_net_load(net, path), RELUCL_OK);
    assert_int_equal(relucl_net_steps(net), 3);
    relucl_net_destroy(net);
}

static void test_save_is_atomic_and_reports_io_errors(void **state) {
    (void)state;
    relucl_net *net = make_net("6-4-relu-3", RELUCL_OPTIMIZER_SGD);
    char path[128];
    path_for(path, sizeof path, "no-such-dir/x.ckpt");
    assert_int_equal(relucl_net_save(net, path), RELUCL_ERROR_IO);
    assert_true(support_error_mentions("path"));
    path_for(path, sizeof path, "atomic.ckpt");
    for (int i = 0; i < 3; i++)
        assert_int_equal(relucl_net_save(net, path), RELUCL_OK);
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) /* no temporary file left behind */
        assert_null(strstr(e->d_name, ".ckpt."));
    closedir(d);
    assert_int_equal(relucl_net_save(net, NULL), RELUCL_ERROR_INVALID_ARGUMENT);
    relucl_net_destroy(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resumed_training_matches_uninterrupted),
        cmocka_unit_test(test_bad_files_are_refused_and_change_nothing),
        cmocka_unit_test(test_save_is_atomic_and_reports_io_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
