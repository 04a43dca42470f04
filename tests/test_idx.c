/* IDX loading: plain and gzip files written into a private temporary folder, every way a file
 * can be wrong, and Fashion-MNIST itself when the machine has it. No OpenCL context needed. */
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#ifndef FASHION_DIR
#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#endif
#define MAX_FILE 8192

static char tmp_dir[256];

static int make_tmp_dir(void **state) {
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/relucl-idx-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void **state) {
    (void)state;
    DIR *dir = opendir(tmp_dir);
    if (!dir)
        return -1;
    char path[512];
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        unlink(path);
    }
    closedir(dir);
    return rmdir(tmp_dir);
}

/* ---- Building files ----------------------------------------------------------------------- */

static const char *tmp_path(const char *name, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s", tmp_dir, name);
    return buf;
}

static unsigned char pattern(size_t i) { return (unsigned char)(i * 37 + 11); }

/* An IDX image: magic 00 00 type ndim, big-endian dims, then data_bytes of pattern(). */
static size_t make_idx(unsigned char *buf, int type, int ndim, const uint32_t *dims,
                       size_t data_bytes) {
    size_t n = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = (unsigned char)type;
    buf[n++] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int shift = 24; shift >= 0; shift -= 8)
            buf[n++] = (unsigned char)(dims[i] >> shift);
    assert_true(n + data_bytes <= MAX_FILE);
    for (size_t i = 0; i < data_bytes; i++)
        buf[n++] = pattern(i);
    return n;
}

static void write_raw(const char *path, const unsigned char *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void write_gz(const char *path, const unsigned char *bytes, size_t n) {
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    if (n > 0)
        assert_int_equal(gzwrite(gz, bytes, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
}

static size_t read_raw(const char *path, unsigned char *bytes, size_t cap) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(bytes, 1, cap, f);
    assert_true(n < cap);
    fclose(f);
    return n;
}

/* The same IDX bytes as name (plain) and name.gz. */
static void write_both(const char *name, const unsigned char *bytes, size_t n) {
    char path[512], gz_name[128];
    write_raw(tmp_path(name, path, sizeof path), bytes, n);
    snprintf(gz_name, sizeof gz_name, "%s.gz", name);
    write_gz(tmp_path(gz_name, path, sizeof path), bytes, n);
}

/* ---- Checking results --------------------------------------------------------------------- */

/* The load must fail with want, leave *out untouched, and say `text` after "path: ". */
static void expect_failure(const char *path, relucl_status want, const char *text) {
    relucl_idx out, before;
    memset(&before, 0xA5, sizeof before);
    out = before;
    char message[512];
    relucl_status got = relucl_idx_load(path, &out, message, sizeof message);
    if (got != want)
        print_error("%s: got %s (%s)\n", path, relucl_status_name(got), message);
    assert_int_equal(got, want);
    assert_memory_equal(&out, &before, sizeof out);
    assert_int_equal(strncmp(message, path, strlen(path)), 0);
    if (!strstr(message, text))
        print_error("message \"%s\" lacks \"%s\"\n", message, text);
    assert_non_null(strstr(message, text));
}

static void expect_failure_both(const char *name, relucl_status want, const char *text,
                                const char *gz_text) {
    char path[512], gz_name[128];
    expect_failure(tmp_path(name, path, sizeof path), want, text);
    snprintf(gz_name, sizeof gz_name, "%s.gz", name);
    expect_failure(tmp_path(gz_name, path, sizeof path), want, gz_text);
}

static void expect_loaded(const char *path, int ndim, const uint32_t *dims, size_t count) {
    relucl_idx idx;
    char message[256] = "stale";
    relucl_status got = relucl_idx_load(path, &idx, message, sizeof message);
    if (got != RELUCL_OK)
        print_error("%s: %s\n", path, message);
    assert_int_equal(got, RELUCL_OK);
    assert_string_equal(message, "");
    assert_int_equal(idx.ndim, ndim);
    for (int i = 0; i < RELUCL_MAX_DIMS; i++)
        assert_int_equal(idx.dims[i], i < ndim ? dims[i] : 1);
    assert_non_null(idx.data);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(idx.data[i], pattern(i));
    relucl_idx_free(&idx);
    assert_null(idx.data);
    assert_int_equal(idx.ndim, 0);
    relucl_idx_free(&idx); /* a second free is safe */
}

/* ---- Valid files -------------------------------------------------------------------------- */

static void test_3d_ubyte_round_trips_plain_and_gzip(void **state) {
    (void)state;
    const uint32_t dims[3] = {5, 3, 2};
    unsigned char bytes[MAX_FILE];
    write_both("cube.idx", bytes, make_idx(bytes, 0x08, 3, dims, 30));
    char path[512];
    expect_loaded(tmp_path("cube.idx", path, sizeof path), 3, dims, 30);
    expect_loaded(tmp_path("cube.idx.gz", path, sizeof path), 3, dims, 30);
}

static void test_1d_labels_and_4d_arrays_round_trip(void **state) {
    (void)state;
    const uint32_t labels[1] = {1000}, four[4] = {2, 3, 4, 5};
    unsigned char bytes[MAX_FILE];
    write_both("labels.idx", bytes, make_idx(bytes, 0x08, 1, labels, 1000));
    write_both("four.idx", bytes, make_idx(bytes, 0x08, 4, four, 120));
    char path[512];
    expect_loaded(tmp_path("labels.idx", path, sizeof path), 1, labels, 1000);
    expect_loaded(tmp_path("labels.idx.gz", path, sizeof path), 1, labels, 1000);
    expect_loaded(tmp_path("four.idx", path, sizeof path), 4, four, 120);
    expect_loaded(tmp_path("four.idx.gz", path, sizeof path), 4, four, 120);
}

static void test_zero_dimension_loads_an_empty_array(void **state) {
    (void)state;
    const uint32_t dims[3] = {0, 28, 28};
    unsigned char bytes[MAX_FILE];
    write_both("empty.idx", bytes, make_idx(bytes, 0x08, 3, dims, 0));
    char path[512];
    expect_loaded(tmp_path("empty.idx", path, sizeof path), 3, dims, 0);
    expect_loaded(tmp_path("empty.idx.gz", path, sizeof path), 3, dims, 0);
    /* A huge dimension next to the zero is still an empty array, not an overflow. */
    const uint32_t wide[4] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0};
    write_both("wide-empty.idx", bytes, make_idx(bytes, 0x08, 4, wide, 0));
    expect_loaded(tmp_path("wide-empty.idx.gz", path, sizeof path), 4, wide, 0);
    /* An empty array with a body has trailing bytes. */
    write_both("empty-body.idx", bytes, make_idx(bytes, 0x08, 3, dims, 3));
    expect_failure_both("empty-body.idx", RELUCL_ERROR_FORMAT,
                        "expected 0 data bytes, file has 3 more", "file has 3 more");
}

/* ---- Malformed files ---------------------------------------------------------------------- */

static void test_truncated_data_is_a_format_error(void **state) {
    (void)state;
    const uint32_t dims[3] = {5, 3, 2};
    unsigned char bytes[MAX_FILE];
    write_both("short.idx", bytes, make_idx(bytes, 0x08, 3, dims, 20));
    expect_failure_both("short.idx", RELUCL_ERROR_FORMAT, "expected 30 data bytes, file has 20",
                        "expected 30 data bytes, file has 20");
    /* Larger than the first allocation: the buffer has grown before the data runs out. */
    const uint32_t big[3] = {60000, 28, 28};
    write_both("big-short.idx", bytes, make_idx(bytes, 0x08, 3, big, 1000));
    expect_failure_both("big-short.idx", RELUCL_ERROR_FORMAT,
                        "expected 47040000 data bytes, file has 1000", "file has 1000");
}

static void test_truncated_header_is_a_format_error(void **state) {
    (void)state;
    const uint32_t dims[3] = {5, 3, 2};
    unsigned char bytes[MAX_FILE];
    make_idx(bytes, 0x08, 3, dims, 30);
    write_both("two-bytes.idx", bytes, 2);
    expect_failure_both("two-bytes.idx", RELUCL_ERROR_FORMAT, "2 of 4 magic bytes",
                        "2 of 4 magic bytes");
    write_both("cut-dims.idx", bytes, 10);
    expect_failure_both("cut-dims.idx", RELUCL_ERROR_FORMAT, "header cut short: 10 of 16 bytes",
                        "10 of 16 bytes");
    write_both("nothing.idx", bytes, 0);
    expect_failure_both("nothing.idx", RELUCL_ERROR_FORMAT, "0 of 4 magic bytes",
                        "0 of 4 magic bytes");
}

static void test_trailing_bytes_are_a_format_error(void **state) {
    (void)state;
    const uint32_t dims[3] = {5, 3, 2};
    unsigned char bytes[MAX_FILE];
    write_both("long.idx", bytes, make_idx(bytes, 0x08, 3, dims, 33));
    expect_failure_both("long.idx", RELUCL_ERROR_FORMAT,
                        "expected 30 data bytes, file has 3 more after them", "has 3 more");
}

static void test_bad_magic_is_a_format_error(void **state) {
    (void)state;
    const uint32_t dims[1] = {4};
    unsigned char bytes[MAX_FILE];
    size_t n = make_idx(bytes, 0x08, 1, dims, 4);
    bytes[0] = 0x01;
    write_both("magic.idx", bytes, n);
    expect_failure_both("magic.idx", RELUCL_ERROR_FORMAT, "magic 01 00 08 01", "not an IDX file");
    write_both("text.idx", (const unsigned char *)"hello, world\n", 13);
    expect_failure_both("text.idx", RELUCL_ERROR_FORMAT, "not an IDX file", "not an IDX file");
    bytes[0] = 0;
    bytes[2] = 0x42;
    write_both("type.idx", bytes, n);
    expect_failure_both("type.idx", RELUCL_ERROR_FORMAT, "unknown element type 0x42",
                        "unknown element type");
}

static void test_other_element_types_are_unsupported(void **state) {
    (void)state;
    const int types[5] = {0x09, 0x0B, 0x0C, 0x0D, 0x0E};
    const char *names[5] = {"signed byte", "short", "int", "float", "double"};
    const uint32_t dims[2] = {2, 2};
    unsigned char bytes[MAX_FILE];
    for (int t = 0; t < 5; t++) {
        write_both("typed.idx", bytes, make_idx(bytes, types[t], 2, dims, 32));
        expect_failure_both("typed.idx", RELUCL_ERROR_UNSUPPORTED, names[t], names[t]);
    }
}

static void test_rank_zero_and_five_are_format_errors(void **state) {
    (void)state;
    const uint32_t dims[5] = {1, 1, 1, 1, 1};
    unsigned char bytes[MAX_FILE];
    write_both("rank0.idx", bytes, make_idx(bytes, 0x08, 0, dims, 1));
    expect_failure_both("rank0.idx", RELUCL_ERROR_FORMAT, "0 dimensions: expected 1 to 4",
                        "0 dimensions");
    write_both("rank5.idx", bytes, make_idx(bytes, 0x08, 5, dims, 1));
    expect_failure_both("rank5.idx", RELUCL_ERROR_FORMAT, "5 dimensions: expected 1 to 4",
                        "5 dimensions");
}

static void test_oversized_dimensions_fail_before_allocating(void **state) {
    (void)state;
    const uint32_t over[3] = {65536, 65536, 2}, overflow[4] = {0xFFFFFFFFu, 0xFFFFFFFFu,
                                                                0xFFFFFFFFu, 0xFFFFFFFFu};
    unsigned char bytes[MAX_FILE];
    write_both("over.idx", bytes, make_idx(bytes, 0x08, 3, over, 16));
    expect_failure_both("over.idx", RELUCL_ERROR_FORMAT,
                        "dimensions 65536 x 65536 x 2 declare more than the 4294967296-byte limit",
                        "byte limit");
    write_both("overflow.idx", bytes, make_idx(bytes, 0x08, 4, overflow, 16));
    expect_failure_both("overflow.idx", RELUCL_ERROR_FORMAT, "byte limit", "byte limit");
}

/* ---- Unreadable files and broken gzip streams -------------------------------------------- */

static void test_missing_file_is_an_io_error_naming_the_path(void **state) {
    (void)state;
    char path[512];
    expect_failure(tmp_path("no-such-file.idx.gz", path, sizeof path), RELUCL_ERROR_IO,
                   "No such file or directory");
    expect_failure(tmp_dir, RELUCL_ERROR_IO, "Is a directory");
}

static void test_gzip_cut_mid_stream_is_a_format_error(void **state) {
    (void)state;
    const uint32_t dims[3] = {64, 8, 8};
    unsigned char bytes[MAX_FILE], gz[MAX_FILE];
    char path[512];
    write_gz(tmp_path("whole.gz", path, sizeof path), bytes, make_idx(bytes, 0x08, 3, dims, 4096));
    size_t n = read_raw(path, gz, sizeof gz);
    write_raw(tmp_path("half.gz", path, sizeof path), gz, n / 2);
    expect_failure(path, RELUCL_ERROR_FORMAT, "bad gzip stream (unexpected end of file) after ");
    assert_true(n / 2 > 40); /* past the gzip header: the cut is inside the deflate data */
    /* All the data is there but the CRC and length trailer is not. */
    write_raw(tmp_path("no-trailer.gz", path, sizeof path), gz, n - 8);
    expect_failure(path, RELUCL_ERROR_FORMAT, 
                   "bad gzip stream (unexpected end of file) after the 4096 data bytes");
}

static void test_any_corrupt_gzip_byte_is_a_format_error(void **state) {
    (void)state;
    const uint32_t dims[3] = {64, 8, 8};
    unsigned char bytes[MAX_FILE], gz[MAX_FILE];
    char path[512];
    write_gz(tmp_path("good.gz", path, sizeof path), bytes, make_idx(bytes, 0x08, 3, dims, 4096));
    size_t n = read_raw(path, gz, sizeof gz);
    tmp_path("flipped.gz", path, sizeof path);
    /* Bytes 4..9 of the gzip header (time, flags, OS) may change freely; the rest may not. */
    for (size_t i = 10; i < n; i++) {
        gz[i] ^= 0xFF;
        write_raw(path, gz, n);
        expect_failure(path, RELUCL_ERROR_FORMAT, "bad gzip stream");
        gz[i] ^= 0xFF;
    }
}

static void test_null_arguments_and_small_message_buffers(void **state) {
    (void)state;
    relucl_idx idx;
    char message[128];
    assert_int_equal(relucl_idx_load(NULL, &idx, message, sizeof message),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_string_equal(message, "relucl_idx_load: path: is NULL");
    assert_int_equal(relucl_idx_load("x.idx", NULL, message, sizeof message),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_string_equal(message, "relucl_idx_load: out: is NULL");
    assert_int_equal(relucl_idx_load(NULL, &idx, NULL, 0), RELUCL_ERROR_INVALID_ARGUMENT);
    char path[512];
    tmp_path("missing.idx", path, sizeof path);
    assert_int_equal(relucl_idx_load(path, &idx, NULL, 0), RELUCL_ERROR_IO);
    char tiny[6];
    assert_int_equal(relucl_idx_load(path, &idx, tiny, sizeof tiny), RELUCL_ERROR_IO);
    assert_int_equal(strlen(tiny), 5);
    relucl_idx_free(NULL);
}

/* ---- The real data set, when present ------------------------------------------------------ */

static void test_fashion_mnist_test_set_loads(void **state) {
    (void)state;
    const char *labels_path = FASHION_DIR "/t10k-labels-idx1-ubyte.gz";
    const char *images_path = FASHION_DIR "/t10k-images-idx3-ubyte.gz";
    if (access(labels_path, R_OK) != 0 || access(images_path, R_OK) != 0) {
        print_message("note: %s not found; skipping the Fashion-MNIST check\n", FASHION_DIR);
        skip();
    }
    relucl_idx labels, images;
    char message[512];
    relucl_status got = relucl_idx_load(labels_path, &labels, message, sizeof message);
    if (got != RELUCL_OK)
        print_error("%s\n", message);
    assert_int_equal(got, RELUCL_OK);
    assert_int_equal(labels.ndim, 1);
    assert_int_equal(labels.dims[0], 10000);
    size_t per_class[10] = {0};
    for (size_t i = 0; i < 10000; i++) {
        assert_in_range(labels.data[i], 0, 9);
        per_class[labels.data[i]]++;
    }
    for (int c = 0; c < 10; c++)
        assert_int_equal(per_class[c], 1000); /* the test set is balanced */
    relucl_idx_free(&labels);
    got = relucl_idx_load(images_path, &images, message, sizeof message);
    if (got != RELUCL_OK)
        print_error("%s\n", message);
    assert_int_equal(got, RELUCL_OK);
    assert_int_equal(images.ndim, 3);
    assert_int_equal(images.dims[0], 10000);
    assert_int_equal(images.dims[1], 28);
    assert_int_equal(images.dims[2], 28);
    unsigned char max = 0;
    for (size_t i = 0; i < 10000 * 28 * 28; i++)
        max = images.data[i] > max ? images.data[i] : max;
    assert_true(max > 200); /* real pixels, not an all-zero buffer */
    relucl_idx_free(&images);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_3d_ubyte_round_trips_plain_and_gzip),
        cmocka_unit_test(test_1d_labels_and_4d_arrays_round_trip),
        cmocka_unit_test(test_zero_dimension_loads_an_empty_array),
        cmocka_unit_test(test_truncated_data_is_a_format_error),
        cmocka_unit_test(test_truncated_header_is_a_format_error),
        cmocka_unit_test(test_trailing_bytes_are_a_format_error),
        cmocka_unit_test(test_bad_magic_is_a_format_error),
        cmocka_unit_test(test_other_element_types_are_unsupported),
        cmocka_unit_test(test_rank_zero_and_five_are_format_errors),
        cmocka_unit_test(test_oversized_dimensions_fail_before_allocating),
        cmocka_unit_test(test_missing_file_is_an_io_error_naming_the_path),
        cmocka_unit_test(test_gzip_cut_mid_stream_is_a_format_error),
        cmocka_unit_test(test_any_corrupt_gzip_byte_is_a_format_error),
        cmocka_unit_test(test_null_arguments_and_small_message_buffers),
        cmocka_unit_test(test_fashion_mnist_test_set_loads),
    };
    return cmocka_run_group_tests_name("idx", tests, make_tmp_dir, remove_tmp_dir);
}
