/* Checkpoints: round trip, exact resumption, and every kind of bad file leaving the net as
 * it was. */
#include "support.h"

#include "net/net.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

/* A folder or a large foreign file is refused from its metadata and first bytes, without
 * reading it whole (the folder once asked malloc for 2^63 bytes). */
static void test_folders_and_large_foreign_files_are_refused_early(void **state) {
    (void)state;
    relucl_net *net = make_net("6-4-relu-3", RELUCL_OPTIMIZER_SGD);
    assert_int_equal(relucl_net_load(net, dir), RELUCL_ERROR_IO);
    assert_non_null(strstr(relucl_context_error(support_ctx()), "not a regular file"));
    expect_refused(net, dir, RELUCL_ERROR_IO, "path");
    char path[128];
    path_for(path, sizeof path, "big.ckpt");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs("RELUCLCK", f) >= 0, 1);
    assert_int_equal(fseek(f, 64 << 20, SEEK_SET), 0); /* 64 MiB, sparse */
    assert_int_equal(fputc(0, f), 0);
    assert_int_equal(fclose(f), 0);
    expect_refused(net, path, RELUCL_ERROR_FORMAT, "model");
    relucl_net_destroy(net);
}

/* A new checkpoint gets the umask's permissions, a replaced one keeps the old file's. */
static void test_saved_files_get_the_usual_permissions(void **state) {
    (void)state;
    relucl_net *net = make_net("6-4-relu-3", RELUCL_OPTIMIZER_SGD);
    char path[128];
    path_for(path, sizeof path, "mode.ckpt");
    mode_t old = umask(022);
    struct stat st;
    assert_int_equal(relucl_net_save(net, path), RELUCL_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(relucl_net_save(net, path), RELUCL_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    umask(old);
    relucl_net_destroy(net);
}

/* ---- SIGKILL during saves ---------------------------------------------------------------- */

#define KILL_SPEC "784-1024-relu-1024-relu-10" /* about 22 MB per checkpoint */

/* The child: saves a checkpoint of KILL_SPEC to path, again and again, until it is killed. */
static int save_forever(const char *path) {
    relucl_context *ctx = NULL;
    relucl_net *net = NULL;
    if (relucl_context_create(NULL, &ctx) != RELUCL_OK ||
        relucl_net_create(ctx, KILL_SPEC, 1, 5, &net) != RELUCL_OK)
        return 2;
    for (;;)
        if (relucl_net_save(net, path) != RELUCL_OK)
            return 3;
}

/* Temporary files of path's checkpoint in dir. */
static int temporaries(const char *name) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int count = 0;
    size_t length = strlen(name);
    while (d && (e = readdir(d)) != NULL)
        count += strncmp(e->d_name, name, length) == 0 && e->d_name[length] == '.';
    if (d)
        closedir(d);
    return count;
}

/* Kills a saving child at random moments: after each kill the checkpoint, once there, always
 * loads, and at most one temporary file is ever left. $RELUCL_KILL_ROUNDS rounds (12). */
static void test_kill_during_save_never_loses_the_checkpoint(void **state) {
    (void)state;
    const char *env = getenv("RELUCL_KILL_ROUNDS");
    int rounds = env ? atoi(env) : 12, loaded = 0, most = 0;
    char path[128], self[4096];
    path_for(path, sizeof path, "kill.ckpt");
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    relucl_net *net = NULL;
    assert_int_equal(relucl_net_create(support_ctx(), KILL_SPEC, 1, 9, &net), RELUCL_OK);
    support_rng rng = support_rng_make(77);
    for (int r = 0; r < rounds; r++) {
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            execl(self, self, "--save-forever", path, (char *)NULL);
            _exit(4);
        }
        long wait_ns = 200000000L + (long)support_rng_below(&rng, 800000000u);
        nanosleep(&(struct timespec){wait_ns / 1000000000L, wait_ns % 1000000000L}, NULL);
        kill(child, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(child, &status, 0), child);
        if (!WIFSIGNALED(status))
            fail_msg("round %d: the saver stopped by itself (status %d)", r, status);
        int left = temporaries("kill.ckpt");
        most = left > most ? left : most;
        if (access(path, F_OK) == 0) {
            assert_int_equal(relucl_net_load(net, path), RELUCL_OK);
            loaded++;
        }
    }
    printf("%d kills: the checkpoint loaded after %d, at most %d temporary file(s) left\n",
           rounds, loaded, most);
    assert_true(loaded > 0);
    assert_true(most <= 1);
    relucl_net_destroy(net);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--save-forever") == 0)
        return save_forever(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resumed_training_matches_uninterrupted),
        cmocka_unit_test(test_bad_files_are_refused_and_change_nothing),
        cmocka_unit_test(test_save_is_atomic_and_reports_io_errors),
        cmocka_unit_test(test_folders_and_large_foreign_files_are_refused_early),
        cmocka_unit_test(test_saved_files_get_the_usual_permissions),
        cmocka_unit_test(test_kill_during_save_never_loses_the_checkpoint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
