/* Kernel programs: build, the on-disk binary cache (miss, hit, corrupt, stale, off) and build
 * failures. Each test uses a private cache directory and fresh contexts. */
#include "support.h"

#include "core/core.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char cache_dir[256];

static int make_cache_dir(void **state) {
    (void)state;
    snprintf(cache_dir, sizeof cache_dir, "/tmp/relucl-test-cache-XXXXXX");
    if (!mkdtemp(cache_dir))
        return -1;
    /* A nested directory checks that the cache creates its parents. */
    strcat(cache_dir, "/a/b");
    setenv("RELUCL_CACHE_DIR", cache_dir, 1);
    return 0;
}

/* Opens a fresh context, loads the activation program and returns what the cache did. */
static relucl__cache_stats load_program(char *path, size_t path_size) {
    relucl_context *ctx = NULL;
    assert_int_equal(relucl_context_create(NULL, &ctx), RELUCL_OK);
    cl_program program = NULL;
    assert_int_equal(relucl__program_get(ctx, "test", RELUCL_PROGRAM_ACTIVATION, &program),
                     RELUCL_OK);
    assert_non_null(program);
    if (path)
        assert_true(relucl__program_cache_path(ctx, RELUCL_PROGRAM_ACTIVATION, path, path_size));
    /* The program must work whichever way it was made. */
    cl_kernel kernel = NULL;
    assert_int_equal(relucl__kernel_get(ctx, "test", RELUCL_PROGRAM_ACTIVATION, "relu_forward",
                                       &kernel),
                     RELUCL_OK);
    relucl__cache_stats stats = ctx->cache;
    relucl_context_destroy(ctx);
    return stats;
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    return size;
}

/* Inverts one byte, so the file surely changes. */
static void flip_byte(const char *path, long at) {
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, at, SEEK_SET);
    int old = fgetc(f);
    assert_true(old != EOF);
    fseek(f, at, SEEK_SET);
    fputc(~old & 0xff, f);
    fclose(f);
}

/* No stray temporary files are left beside the entries. */
static int only_bin_files(void) {
    DIR *dir = opendir(cache_dir);
    if (!dir)
        return 0;
    struct dirent *entry;
    int ok = 1;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.' && !strstr(entry->d_name, ".bin"))
            ok = 0;
    closedir(dir);
    return ok;
}

static void test_cache_miss_then_hit(void **state) {
    (void)state;
    char path[1024];
    relucl__cache_stats first = load_program(path, sizeof path);
    assert_int_equal(first.misses, 1);
    assert_int_equal(first.stored, 1);
    assert_true(file_size(path) > 48);
    relucl__cache_stats second = load_program(NULL, 0);
    assert_int_equal(second.hits, 1);
    assert_int_equal(second.misses, 0);
    assert_true(only_bin_files());
}

static void check_rejected_then_repaired(const char *path) {
    relucl__cache_stats s = load_program(NULL, 0);
    assert_int_equal(s.rejected, 1);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.stored, 1);
    relucl__cache_stats again = load_program(NULL, 0);
    assert_int_equal(again.hits, 1);
    assert_true(file_size(path) > 48);
}

static void test_corrupt_binary_is_rebuilt(void **state) {
    (void)state;
    char path[1024];
    load_program(path, sizeof path);
    long size = file_size(path);
    flip_byte(path, size / 2); /* fails the checksum */
    check_rejected_then_repaired(path);
}

static void test_truncated_entry_is_rebuilt(void **state) {
    (void)state;
    char path[1024];
    load_program(path, sizeof path);
    assert_int_equal(truncate(path, file_size(path) - 7), 0);
    check_rejected_then_repaired(path);
    assert_int_equal(truncate(path, 5), 0); /* shorter than the header */
    check_rejected_then_repaired(path);
}

static void test_wrong_magic_or_key_is_rebuilt(void **state) {
    (void)state;
    char path[1024];
    load_program(path, sizeof path);
    flip_byte(path, 0);
    check_rejected_then_repaired(path);
    flip_byte(path, 16); /* inside the key: an entry for some other build */
    check_rejected_then_repaired(path);
}

static void test_empty_cache_dir_turns_caching_off(void **state) {
    (void)state;
    setenv("RELUCL_CACHE_DIR", "", 1);
    relucl__cache_stats s = load_program(NULL, 0);
    setenv("RELUCL_CACHE_DIR", cache_dir, 1);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.stored, 0);
    assert_int_equal(s.hits, 0);
}

static void test_build_failure_reports_the_log(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    static const char broken[] = "kernel void broken(global float *x) { x[0] = undefined_name; }";
    cl_program program = NULL;
    const char *text[1] = {broken};
    size_t size[1] = {sizeof broken - 1};
    assert_int_equal(relucl__program_build_source(ctx, "relucl_demo", "broken", 1, text, size,
                                                 &program),
                     RELUCL_ERROR_BUILD);
    assert_null(program);
    const char *message = relucl_context_error(ctx);
    assert_non_null(strstr(message, "relucl_demo: building kernels/broken.cl failed"));
    assert_non_null(strstr(message, "undefined_name"));
}

static void test_unknown_kernel_name_is_an_opencl_error(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    cl_kernel kernel = NULL;
    assert_int_equal(relucl__kernel_get(ctx, "relucl_demo", RELUCL_PROGRAM_ACTIVATION, "nope",
                                       &kernel),
                     RELUCL_ERROR_OPENCL);
    assert_non_null(strstr(relucl_context_error(ctx), "CL_INVALID_KERNEL_NAME"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_miss_then_hit),
        cmocka_unit_test(test_corrupt_binary_is_rebuilt),
        cmocka_unit_test(test_truncated_entry_is_rebuilt),
        cmocka_unit_test(test_wrong_magic_or_key_is_rebuilt),
        cmocka_unit_test(test_empty_cache_dir_turns_caching_off),
        cmocka_unit_test(test_build_failure_reports_the_log),
        cmocka_unit_test(test_unknown_kernel_name_is_an_opencl_error),
    };
    if (make_cache_dir(NULL) != 0)
        return 1;
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
