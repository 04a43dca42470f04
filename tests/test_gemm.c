/* relucl_gemm and relucl_gemm_batched against a float64 reference. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One case: c (m x n) at element offset off_c in a poisoned buffer, a and b at odd offsets. */
static void check_case(relucl_transpose ta, relucl_transpose tb, size_t m, size_t n, size_t k,
                       float alpha, float beta, size_t off) {
    relucl_context *ctx = support_ctx();
    size_t na = m * k, nb = k * n, nc = m * n;
    float *a = malloc((na + 1) * sizeof *a), *b = malloc((nb + 1) * sizeof *b);
    float *c0 = malloc((nc + 1) * sizeof *c0), *got = malloc((nc + 2 * off + 1) * sizeof *got);
    double *want = malloc((nc + 1) * sizeof *want), *scale = malloc((nc + 1) * sizeof *scale);
    support_fill_uniform(a, na, 1 + m, -1, 1);
    support_fill_uniform(b, nb, 2 + n, -1, 1);
    support_fill_uniform(c0, nc, 3 + k, -1, 1);
    if (beta == 0.0f) /* beta 0 must not read c: NaN there must not leak */
        for (size_t i = 0; i < nc; i++)
            c0[i] = NAN;
    cl_mem ba = support_buffer_poisoned(na + off), bb = support_buffer_poisoned(nb + off),
           bc = support_buffer_poisoned(nc + 2 * off);
    support_buffer_write(ba, off, a, na);
    support_buffer_write(bb, off, b, nb);
    support_buffer_write(bc, off, c0, nc);
    size_t da[2] = {ta == RELUCL_TRANS ? k : m, ta == RELUCL_TRANS ? m : k};
    size_t db[2] = {tb == RELUCL_TRANS ? n : k, tb == RELUCL_TRANS ? k : n}, dc[2] = {m, n};
    relucl_tensor A = support_view(ba, off, 2, da), B = support_view(bb, off, 2, db),
                  C = support_view(bc, off, 2, dc);
    assert_int_equal(relucl_gemm(ctx, ta, tb, alpha, &A, &B, beta, &C), RELUCL_OK);
    support_buffer_read(bc, 0, got, nc + 2 * off);
    support_gemm_reference(ta, tb, m, n, k, alpha, a, b, beta, c0, want, scale);
    char what[96];
    snprintf(what, sizeof what, "gemm %c%c m%zu n%zu k%zu beta %g", ta ? 'T' : 'N', tb ? 'T' : 'N',
             m, n, k, (double)beta);
    assert_true(support_is_poison(got, 0, off, "before c"));
    assert_true(support_close(got + off, want, nc, 1e-5 * sqrt((double)k + 1), 1e-30, scale, what));
    assert_true(support_is_poison(got, off + nc, nc + 2 * off, "after c"));
    support_buffer_release(ba);
    support_buffer_release(bb);
    support_buffer_release(bc);
    free(a), free(b), free(c0), free(got), free(want), free(scale);
}

static void test_gemm_matches_reference_for_every_transpose(void **state) {
    (void)state;
    /* m, n, k. On CPU devices relucl's own kernels run: 8 x 32 (or 6 x 16) blocks with 16,
     * 8, 4 and 1-wide column tails and short last rows (37 x 61 has them all), 9 to 11
     * columns in one pass (n = 9, 10, 11; 9 to 15 as one masked float16 on 16 lanes, whose
     * last row of b takes another path: k = 1 and 2 with n = 15 and 14), 4 x 4 dot blocks
     * with a k tail (12 x 20 x 37), whole blocks only (64 x 96 x 33), and a b^T through
     * transposed panels of b (m >= 16):
     * work-groups of several blocks and a short one down C (150 rows), last column blocks of 6 and
     * 1 columns (70, 33), and k tails of 1 to 3 after whole 4 x 4 tiles (29, 10, 7); a b
     * past 256 KiB (401 x 173), copied into packed panels first (op(a) = a and a^T, a short
     * last block row and column block). */
    const size_t shapes[][3] = {{1, 1, 1},     {3, 5, 7},    {17, 13, 29}, {64, 10, 128},
                                {2, 97, 1},    {37, 61, 45}, {12, 20, 37}, {64, 96, 33},
                                {40, 64, 300}, {9, 131, 17}, {29, 9, 23},  {7, 11, 130},
                                {19, 15, 1},   {21, 14, 2},  {150, 70, 10}, {130, 33, 7},
                                {37, 173, 401}};
    for (int t = 0; t < 4; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            check_case((relucl_transpose)(t & 1), (relucl_transpose)(t >> 1), shapes[s][0],
                       shapes[s][1], shapes[s][2], 1.0f, 0.0f, 3);
}

/* relucl's own GEMM copies op(b) past 256 KiB into panels in local memory, k x 16 or k x 32
 * floats: here k is one past what the device's local memory holds at 16 columns (8193 on
 * PoCL), so the panel does not fit and the plain kernel runs instead; n is what makes b pass
 * 256 KiB at that k. */
static void test_gemm_past_the_local_memory(void **state) {
    (void)state;
    cl_ulong local_mem = 0;
    assert_int_equal(clGetDeviceInfo(relucl_context_device(support_ctx()),
                                     CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem,
                                     NULL),
                     CL_SUCCESS);
    size_t k = (size_t)local_mem / (16 * sizeof(float)) + 1, n = (256 << 10) / (4 * k) + 17;
    check_case(RELUCL_NO_TRANS, RELUCL_NO_TRANS, 16, n, k, 1.0f, 0.0f, 3);
}

static void test_gemm_alpha_beta_and_offsets(void **state) {
    (void)state;
    check_case(RELUCL_NO_TRANS, RELUCL_NO_TRANS, 33, 31, 37, -0.5f, 0.75f, 5);
    check_case(RELUCL_TRANS, RELUCL_NO_TRANS, 128, 256, 128, 2.0f, 1.0f, 0);
    check_case(RELUCL_NO_TRANS, RELUCL_TRANS, 7, 9, 11, 1.0f, -1.0f, 1);
    check_case(RELUCL_NO_TRANS, RELUCL_NO_TRANS, 37, 61, 45, 0.5f, -2.0f, 3); /* every tail */
    check_case(RELUCL_NO_TRANS, RELUCL_TRANS, 12, 20, 37, -1.0f, 0.25f, 2);
}

static void test_gemm_empty_dimensions(void **state) {
    (void)state;
    check_case(RELUCL_NO_TRANS, RELUCL_NO_TRANS, 4, 5, 0, 1.0f, 0.0f, 2); /* c = 0 */
    check_case(RELUCL_NO_TRANS, RELUCL_NO_TRANS, 4, 5, 0, 1.0f, 0.5f, 2); /* c = beta c */
    check_case(RELUCL_NO_TRANS, RELUCL_NO_TRANS, 0, 5, 3, 1.0f, 0.0f, 2); /* nothing */
}

static void test_batched_gemm_with_broadcast(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    const size_t batch = 3, m = 5, n = 4, k = 6;
    float a[3 * 5 * 6], b[6 * 4], got[3 * 5 * 4];
    double want[3 * 5 * 4], scale[3 * 5 * 4];
    support_fill_uniform(a, batch * m * k, 9, -1, 1);
    support_fill_uniform(b, k * n, 10, -1, 1);
    cl_mem ba = support_buffer_from(a, batch * m * k), bb = support_buffer_from(b, k * n),
           bc = support_buffer_poisoned(batch * m * n);
    size_t da[3] = {batch, m, k}, db[3] = {1, k, n}, dc[3] = {batch, m, n};
    relucl_tensor A = support_view(ba, 0, 3, da), B = support_view(bb, 0, 3, db),
                  C = support_view(bc, 0, 3, dc);
    assert_int_equal(
        relucl_gemm_batched(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &A, &B, 0.0f, &C),
        RELUCL_OK);
    support_buffer_read(bc, 0, got, batch * m * n);
    for (size_t i = 0; i < batch; i++)
        support_gemm_reference(RELUCL_NO_TRANS, RELUCL_NO_TRANS, m, n, k, 1.0, a + i * m * k, b,
                               0.0, NULL, want + i * m * n, scale + i * m * n);
    assert_true(support_close(got, want, batch * m * n, 1e-5 * sqrt(7.0), 1e-30, scale, "batched"));
    support_buffer_release(ba);
    support_buffer_release(bb);
    support_buffer_release(bc);
}

static void test_gemm_rejects_bad_shapes_without_touching_c(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    cl_mem ba = support_buffer_poisoned(64), bb = support_buffer_poisoned(64),
           bc = support_buffer_poisoned(64);
    size_t d23[2] = {2, 3}, d34[2] = {3, 4}, d24[2] = {2, 4}, d44[2] = {4, 4}, d3[3] = {2, 2, 3};
    relucl_tensor A = support_view(ba, 0, 2, d23), B = support_view(bb, 0, 2, d34),
                  C = support_view(bc, 0, 2, d24), Cbad = support_view(bc, 0, 2, d44),
                  A3 = support_view(ba, 0, 3, d3), Aalias = support_view(bc, 1, 2, d23);
    assert_int_equal(relucl_gemm(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1, &A, &B, 0, &Cbad),
                     RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("c"));
    assert_int_equal(relucl_gemm(ctx, RELUCL_TRANS, RELUCL_NO_TRANS, 1, &A, &B, 0, &C),
                     RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("inner"));
    assert_int_equal(relucl_gemm(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1, &A3, &B, 0, &C),
                     RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("ndim"));
    assert_int_equal(relucl_gemm(ctx, (relucl_transpose)7, RELUCL_NO_TRANS, 1, &A, &B, 0, &C),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("trans_a"));
    assert_int_equal(relucl_gemm(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, NAN, &A, &B, 0, &C),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("alpha"));
    assert_int_equal(relucl_gemm(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1, &Aalias, &B, 0, &C),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("overlaps"));
    assert_int_equal(relucl_gemm(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1, NULL, &B, 0, &C),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_gemm_batched(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1, &A, &B, 0, &C),
                     RELUCL_ERROR_SHAPE);
    float c[64];
    support_buffer_read(bc, 0, c, 64);
    assert_true(support_is_poison(c, 0, 64, "c after rejected calls"));
    support_buffer_release(ba);
    support_buffer_release(bb);
    support_buffer_release(bc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_matches_reference_for_every_transpose),
        cmocka_unit_test(test_gemm_past_the_local_memory),
        cmocka_unit_test(test_gemm_alpha_beta_and_offsets),
        cmocka_unit_test(test_gemm_empty_dimensions),
        cmocka_unit_test(test_batched_gemm_with_broadcast),
        cmocka_unit_test(test_gemm_rejects_bad_shapes_without_touching_c),
    };
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
