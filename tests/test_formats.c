/* Every file format relucl reads, damaged on purpose: each truncation of a good file, and a
 * sample of single-bit flips, is detected and never trusted. Checkpoints and program cache
 * entries carry checksums, so every flip must be caught; a gzip IDX file has zlib's CRC; a
 * plain IDX file has none, so only flips in its header can be caught there. */
#include "support.h"

#include "core/core.h"
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define FLIPS 200

static char dir[64];

static int setup(void **state) {
    snprintf(dir, sizeof dir, "/tmp/relucl-formats-XXXXXX");
    return mkdtemp(dir) ? support_setup(state) : -1;
}

static void path_for(char *path, size_t size, const char *name) {
    snprintf(path, size, "%s/%s", dir, name);
}

static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(*size ? *size : 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, *size, f), *size);
    fclose(f);
    return data;
}

static void write_all(const char *path, const unsigned char *data, size_t size) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

/* Calls check on every proper prefix of good, then on FLIPS copies with one bit flipped at
 * random places in [from, size). check returns 1 when it refused the bytes. */
static void damage(const unsigned char *good, size_t size, size_t from,
                   int (*check)(const unsigned char *, size_t), const char *what) {
    unsigned char *copy = malloc(size);
    assert_non_null(copy);
    for (size_t n = 0; n < size; n++)
        if (!check(good, n))
            fail_msg("%s: the first %zu of %zu bytes were accepted", what, n, size);
    support_rng rng = support_rng_make(size);
    for (int i = 0; i < FLIPS; i++) {
        memcpy(copy, good, size);
        size_t at = from + support_rng_below(&rng, size - from);
        copy[at] ^= (unsigned char)(1u << support_rng_below(&rng, 8));
        if (!check(copy, size))
            fail_msg("%s: a bit flipped at byte %zu of %zu was accepted", what, at, size);
    }
    free(copy);
}

/* ---- Checkpoints -------------------------------------------------------------------------- */

static relucl_net *net;

static int checkpoint_refused(const unsigned char *data, size_t size) {
    char path[128];
    path_for(path, sizeof path, "damaged.ckpt");
    write_all(path, data, size);
    relucl_status s = relucl_net_load(net, path);
    return s == RELUCL_ERROR_FORMAT;
}

static void test_damaged_checkpoints_are_refused(void **state) {
    (void)state;
    assert_int_equal(relucl_net_create(support_ctx(), "5-4-prelu-3", 2, 1, &net), RELUCL_OK);
    char path[128];
    path_for(path, sizeof path, "good.ckpt");
    assert_int_equal(relucl_net_save(net, path), RELUCL_OK);
    size_t size;
    unsigned char *good = read_all(path, &size);
    assert_true(checkpoint_refused(good, size) == 0); /* the intact file loads */
    damage(good, size, 0, checkpoint_refused, "checkpoint");
    free(good);
    relucl_net_destroy(net);
}

/* ---- Program cache entries --------------------------------------------------------------- */

static uint64_t entry_key;

static int entry_refused(const unsigned char *data, size_t size) {
    FILE *f = fmemopen((void *)data, size ? size : 1, "rb");
    assert_non_null(f);
    size_t n = 0;
    unsigned char *binary = size ? relucl__cache_entry_read(f, entry_key, &n) : NULL;
    fclose(f);
    free(binary);
    return binary == NULL;
}

static void test_damaged_cache_entries_are_refused(void **state) {
    (void)state;
    char path[1024];
    relucl_context *ctx = support_ctx();
    cl_program program;
    assert_int_equal(relucl__program_get(ctx, "test", RELUCL_PROGRAM_DATA, &program), RELUCL_OK);
    if (!relucl__program_cache_path(ctx, RELUCL_PROGRAM_DATA, path, sizeof path) ||
        access(path, F_OK) != 0)
        skip(); /* caching is off in this environment */
    size_t size;
    unsigned char *good = read_all(path, &size);
    memcpy(&entry_key, good + 16, sizeof entry_key);
    assert_true(entry_refused(good, size) == 0);
    damage(good, size, 0, entry_refused, "program cache entry");
    free(good);
}

/* ---- IDX files ---------------------------------------------------------------------------- */

static int idx_refused(const unsigned char *data, size_t size) {
    char path[128], message[256];
    path_for(path, sizeof path, "damaged.idx");
    write_all(path, data, size);
    relucl_idx idx;
    relucl_status s = relucl_idx_load(path, &idx, message, sizeof message);
    if (s == RELUCL_OK)
        relucl_idx_free(&idx);
    return s != RELUCL_OK;
}

static void test_damaged_idx_files_are_refused(void **state) {
    (void)state;
    enum { ROWS = 5, COLS = 7 };
    unsigned char plain[16 + ROWS * COLS] = {0, 0, 0x08, 2, 0, 0, 0, ROWS, 0, 0, 0, COLS};
    for (int i = 0; i < ROWS * COLS; i++)
        plain[12 + i] = (unsigned char)(i * 37);
    size_t plain_size = 12 + ROWS * COLS;
    assert_true(idx_refused(plain, plain_size) == 0);
    /* Plain: truncations anywhere, flips in the 12 header bytes (the data bytes are free). */
    damage(plain, 12, 0, idx_refused, "plain IDX header");
    for (size_t n = 0; n < plain_size; n++)
        if (!idx_refused(plain, n))
            fail_msg("plain IDX: the first %zu of %zu bytes were accepted", n, plain_size);
    /* gzip: zlib's CRC and length catch every truncation and flip past the gzip header's
     * optional fields (bytes 4..9 hold a time stamp, flags and OS, which no CRC covers). */
    char path[128];
    path_for(path, sizeof path, "good.idx.gz");
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, plain, (unsigned)plain_size), (int)plain_size);
    assert_int_equal(gzclose(gz), Z_OK);
    size_t size;
    unsigned char *good = read_all(path, &size);
    assert_true(idx_refused(good, size) == 0);
    damage(good, size, 10, idx_refused, "gzip IDX");
    free(good);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_checkpoints_are_refused),
        cmocka_unit_test(test_damaged_cache_entries_are_refused),
        cmocka_unit_test(test_damaged_idx_files_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, support_teardown);
}
