/* relucl_gather_rows: rows and labels by index, bad indices, and argument checks. */
#include "support.h"

#include <math.h>

static void test_gather_moves_rows_and_labels(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    enum { ROWS = 11, COLS = 67, BATCH = 5 };
    float src[ROWS * COLS], labels[ROWS], got[BATCH * COLS + 2], got_labels[BATCH];
    support_fill_uniform(src, ROWS * COLS, 5, -1, 1);
    for (int i = 0; i < ROWS; i++)
        labels[i] = (float)(i % 10);
    const float index[8] = {99, 3, 0, 10, 7, 3, 1, 99}; /* rows 1..5 are used */
    cl_mem bs = support_buffer_from(src, ROWS * COLS), bl = support_buffer_from(labels, ROWS),
           bi = support_buffer_from(index, 8), bd = support_buffer_poisoned(BATCH * COLS + 2),
           bdl = support_buffer_poisoned(BATCH);
    size_t ds[2] = {ROWS, COLS}, dd[2] = {BATCH, COLS};
    relucl_tensor S = support_view(bs, 0, 2, ds), I = support_view1(bi, 0, 8),
                  D = support_view(bd, 1, 2, dd), L = support_view1(bl, 0, ROWS),
                  DL = support_view1(bdl, 0, BATCH);
    assert_int_equal(relucl_gather_rows(ctx, &S, &I, 1, &D, &L, &DL), RELUCL_OK);
    support_buffer_read(bd, 0, got, BATCH * COLS + 2);
    support_buffer_read(bdl, 0, got_labels, BATCH);
    for (int r = 0; r < BATCH; r++) {
        size_t from = (size_t)index[1 + r];
        assert_true(support_equal_bits(got + 1 + r * COLS, src + from * COLS, COLS, "row"));
        assert_true(got_labels[r] == labels[from]);
    }
    assert_true(support_is_poison(got, 0, 1, "before dst"));
    assert_true(support_is_poison(got, BATCH * COLS + 1, BATCH * COLS + 2, "after dst"));

    /* An index out of range or not whole gives a NaN row, not some other sample. */
    const float bad[3] = {-1.0f, 2.5f, (float)ROWS};
    support_buffer_write(bi, 0, bad, 3);
    relucl_tensor D3 = support_view(bd, 1, 2, (size_t[2]){3, COLS});
    assert_int_equal(relucl_gather_rows(ctx, &S, &I, 0, &D3, NULL, NULL), RELUCL_OK);
    support_buffer_read(bd, 1, got, 3 * COLS);
    for (int i = 0; i < 3 * COLS; i++)
        assert_true(isnan(got[i]));
    support_buffer_release(bs), support_buffer_release(bl), support_buffer_release(bi);
    support_buffer_release(bd), support_buffer_release(bdl);
}

static void test_gather_rejects_bad_arguments(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    cl_mem bs = support_buffer_poisoned(40), bi = support_buffer_poisoned(4),
           bd = support_buffer_poisoned(40);
    relucl_tensor S = support_view(bs, 0, 2, (size_t[2]){10, 4}), I = support_view1(bi, 0, 4),
                  D = support_view(bd, 0, 2, (size_t[2]){3, 4}),
                  Dwide = support_view(bd, 0, 2, (size_t[2]){3, 5}),
                  L = support_view1(bs, 0, 10);
    assert_int_equal(relucl_gather_rows(ctx, &S, &I, 2, &D, NULL, NULL), RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("index"));
    assert_int_equal(relucl_gather_rows(ctx, &S, &I, 0, &Dwide, NULL, NULL), RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("dst"));
    assert_int_equal(relucl_gather_rows(ctx, &S, &I, 0, &D, &L, NULL),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("dst_labels"));
    relucl_tensor inside_src = support_view(bs, 4, 2, (size_t[2]){3, 4});
    assert_int_equal(relucl_gather_rows(ctx, &S, &I, 0, &inside_src, NULL, NULL),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("overlaps"));
    assert_int_equal(relucl_gather_rows(NULL, &S, &I, 0, &D, NULL, NULL),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    float d[40];
    support_buffer_read(bd, 0, d, 40);
    assert_true(support_is_poison(d, 0, 40, "dst after rejected calls"));
    support_buffer_release(bs), support_buffer_release(bi), support_buffer_release(bd);
}

/* Row numbers travel as floats: a source of 2^24 + 1 rows could not be addressed exactly, so
 * it is refused before anything runs; 2^24 rows still work. */
static void test_gather_refuses_sources_past_exact_float_rows(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    const size_t limit = (size_t)1 << 24;
    cl_mem big = support_buffer_poisoned(limit + 1), out = support_buffer_poisoned(2);
    float index[1] = {(float)(limit - 1)};
    cl_mem bi = support_buffer_from(index, 1);
    relucl_tensor src = support_view(big, 0, 2, (const size_t[]){limit + 1, 1});
    relucl_tensor idx = support_view1(bi, 0, 1);
    relucl_tensor dst = support_view(out, 0, 2, (const size_t[]){1, 1});
    support_expect_rejected(relucl_gather_rows(ctx, &src, &idx, 0, &dst, NULL, NULL),
                            RELUCL_ERROR_SHAPE, "src", out, 2);
    src.dims[0] = limit;
    assert_int_equal(relucl_gather_rows(ctx, &src, &idx, 0, &dst, NULL, NULL), RELUCL_OK);
    support_buffer_release(big);
    support_buffer_release(out);
    support_buffer_release(bi);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather_moves_rows_and_labels),
        cmocka_unit_test(test_gather_rejects_bad_arguments),
        cmocka_unit_test(test_gather_refuses_sources_past_exact_float_rows),
    };
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
