/* relucl_prelu_forward / _backward against float64 references: outputs bit-exact, the slope
 * gradient within 1e-5 * sqrt(n) of a float64 sum, and the same bits run to run. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PAD = 5 };

/* Host data of one problem. The channel of element i is (i / inner) % channels, channels
 * being dims[1]; a 1-element slope makes everything channel 0. */
typedef struct problem {
    int ndim;
    size_t dims[RELUCL_MAX_DIMS];
    size_t n, channels, inner, nslope;
    float *x, *slope, *dy;
} problem;

static size_t channel_of(const problem *p, size_t i) {
    return p->nslope == 1 ? 0 : (i / p->inner) % p->channels;
}

static void *checked_malloc(size_t count) {
    void *mem = malloc((count ? count : 1) * sizeof(float));
    assert_non_null(mem);
    return mem;
}

/* Slopes cycle through negative, zero, fractional and > 1 values. Zeros (of both signs) are
 * planted in x because the gradient switches there. */
static problem make_problem(int ndim, const size_t *dims, int shared, uint64_t seed) {
    static const float slopes[] = {0.25f, -0.5f, 0.0f, 1.5f, 3.0f, -2.0f, 0.01f};
    problem p;
    memset(&p, 0, sizeof p);
    p.ndim = ndim;
    p.n = 1;
    p.inner = 1;
    for (int d = 0; d < ndim; d++) {
        p.dims[d] = dims[d];
        p.n *= dims[d];
        if (d >= 2)
            p.inner *= dims[d];
    }
    p.channels = ndim >= 2 ? dims[1] : 1;
    p.nslope = shared ? 1 : p.channels;
    p.x = checked_malloc(p.n);
    p.dy = checked_malloc(p.n);
    p.slope = checked_malloc(p.nslope);
    support_fill_uniform(p.x, p.n, seed, -2.0f, 2.0f);
    support_fill_uniform(p.dy, p.n, seed + 1, -1.0f, 1.0f);
    for (size_t i = 0; i < p.n; i += 7)
        p.x[i] = (i / 7) % 2 ? 0.0f : -0.0f;
    for (size_t c = 0; c < p.nslope; c++)
        p.slope[c] = slopes[(c + (size_t)seed) % (sizeof slopes / sizeof *slopes)];
    return p;
}

static void free_problem(problem *p) {
    free(p->x);
    free(p->dy);
    free(p->slope);
}

static relucl_tensor slope_view(const problem *p, cl_mem buffer, size_t offset) {
    return support_view1(buffer, offset, p->nslope);
}

/* x at off, slope at off + 1, y at off + 2, each in its own poisoned buffer. */
static void device_forward(const problem *p, size_t off, float *y) {
    cl_mem bx = support_buffer_at(p->x, p->n, off, PAD);
    cl_mem bw = support_buffer_at(p->slope, p->nslope, off + 1, PAD);
    cl_mem by = support_buffer_poisoned(off + 2 + p->n + PAD);
    relucl_tensor tx = support_view(bx, off, p->ndim, p->dims), tw = slope_view(p, bw, off + 1);
    relucl_tensor ty = support_view(by, off + 2, p->ndim, p->dims);
    relucl_status st = relucl_prelu_forward(support_ctx(), &tx, &tw, &ty);
    if (st != RELUCL_OK)
        fail_msg("%s: %s", relucl_status_name(st), relucl_context_error(support_ctx()));
    support_read_checked(by, off + 2, p->n, off + 2 + p->n + PAD, y, "prelu y");
    support_buffer_release(bx);
    support_buffer_release(bw);
    support_buffer_release(by);
}

/* As device_forward, plus dy at off + 3, dx at off + 4 and dslope at off + 5. */
static void device_backward(const problem *p, size_t off, float *dx, float *dslope) {
    cl_mem bx = support_buffer_at(p->x, p->n, off, PAD);
    cl_mem bw = support_buffer_at(p->slope, p->nslope, off + 1, PAD);
    cl_mem bdy = support_buffer_at(p->dy, p->n, off + 3, PAD);
    cl_mem bdx = support_buffer_poisoned(off + 4 + p->n + PAD);
    cl_mem bdw = support_buffer_poisoned(off + 5 + p->nslope + PAD);
    relucl_tensor tx = support_view(bx, off, p->ndim, p->dims), tw = slope_view(p, bw, off + 1);
    relucl_tensor tdy = support_view(bdy, off + 3, p->ndim, p->dims);
    relucl_tensor tdx = support_view(bdx, off + 4, p->ndim, p->dims);
    relucl_tensor tdw = slope_view(p, bdw, off + 5);
    relucl_status st = relucl_prelu_backward(support_ctx(), &tx, &tw, &tdy, &tdx, &tdw);
    if (st != RELUCL_OK)
        fail_msg("%s: %s", relucl_status_name(st), relucl_context_error(support_ctx()));
    support_read_checked(bdx, off + 4, p->n, off + 4 + p->n + PAD, dx, "prelu dx");
    support_read_checked(bdw, off + 5, p->nslope, off + 5 + p->nslope + PAD, dslope,
                         "prelu dslope");
    support_buffer_release(bx);
    support_buffer_release(bw);
    support_buffer_release(bdy);
    support_buffer_release(bdx);
    support_buffer_release(bdw);
}

/* Float64 references: y and dx rounded once to float; dslope as a float64 sum, with the sum
 * of |x * dy| as the scale against which cancellation is judged. */
static void reference(const problem *p, float *y, float *dx, double *dslope, double *scale) {
    for (size_t c = 0; c < p->nslope; c++)
        dslope[c] = scale[c] = 0.0;
    for (size_t i = 0; i < p->n; i++) {
        size_t c = channel_of(p, i);
        double x = p->x[i], dy = p->dy[i], w = p->slope[c];
        y[i] = (float)(x > 0 ? x : w * x);
        dx[i] = (float)(x > 0 ? dy : w * dy);
        if (!(x > 0)) {
            dslope[c] += x * dy;
            scale[c] += fabs(x * dy);
        }
    }
}

static void check_problem(const problem *p, size_t off) {
    char label[128];
    snprintf(label, sizeof label, "prelu ndim %d dims %zux%zux%zux%zu slopes %zu off %zu", p->ndim,
             p->dims[0], p->dims[1], p->dims[2], p->dims[3], p->nslope, off);
    float *y = checked_malloc(p->n), *dx = checked_malloc(p->n), *dw = checked_malloc(p->nslope);
    float *want_y = checked_malloc(p->n), *want_dx = checked_malloc(p->n);
    double *want_dw = malloc(p->nslope * sizeof *want_dw),
           *scale = malloc(p->nslope * sizeof *scale);
    assert_true(want_dw && scale);
    reference(p, want_y, want_dx, want_dw, scale);
    device_forward(p, off, y);
    device_backward(p, off, dx, dw);
    assert_true(support_equal_bits(y, want_y, p->n, label));
    assert_true(support_equal_bits(dx, want_dx, p->n, label));
    double rel = 1e-5 * sqrt((double)(p->n / p->nslope > 0 ? p->n / p->nslope : 1));
    assert_true(support_close(dw, want_dw, p->nslope, rel, 0.0, scale, label));
    free(y);
    free(dx);
    free(dw);
    free(want_y);
    free(want_dx);
    free(want_dw);
    free(scale);
}

static void check_shape(int ndim, const size_t *dims, uint64_t seed) {
    for (int shared = 0; shared <= 1; shared++) {
        problem p = make_problem(ndim, dims, shared, seed + (uint64_t)shared);
        check_problem(&p, 0);
        free_problem(&p);
    }
}

static void test_prelu_1x1_matches_reference(void **state) {
    (void)state;
    check_shape(2, (const size_t[]){1, 1}, 1);
}

static void test_prelu_matrix_matches_reference(void **state) {
    (void)state;
    check_shape(2, (const size_t[]){3, 5}, 2);
    /* channels a multiple of 16: the 16-wide kernels on CPU devices */
    check_shape(2, (const size_t[]){37, 16}, 21);
    check_shape(2, (const size_t[]){5, 64}, 22);
    check_shape(2, (const size_t[]){257, 48}, 23);
    check_shape(2, (const size_t[]){3001, 32}, 24); /* 24 runs of 128 rows, the last short */
    check_shape(2, (const size_t[]){131, 80}, 25);   /* blocks of 64 and 16 channels */
    check_shape(2, (const size_t[]){3, 176}, 26);    /* 64, 64 and 48 */
}

static void test_prelu_nchw_uses_dims1_as_channel(void **state) {
    (void)state;
    check_shape(4, (const size_t[]){2, 3, 7, 5}, 3);
    check_shape(4, (const size_t[]){4, 17, 1, 1}, 4);
    check_shape(3, (const size_t[]){2, 6, 9}, 5);
}

static void test_prelu_shared_slope_works_for_any_ndim(void **state) {
    (void)state;
    const size_t dims[] = {37};
    problem p = make_problem(1, dims, 1, 6);
    check_problem(&p, 0);
    free_problem(&p);
}

static void test_prelu_odd_offsets_leave_neighbours_alone(void **state) {
    (void)state;
    problem p = make_problem(4, (const size_t[]){2, 3, 7, 5}, 0, 7);
    check_problem(&p, 3);
    free_problem(&p);
    p = make_problem(2, (const size_t[]){5, 1}, 1, 8);
    check_problem(&p, 7);
    free_problem(&p);
}

/* Nothing to sum, and dslope is still "overwritten with the gradient": zeros. */
static void test_prelu_empty_input_gives_zero_slope_gradient(void **state) {
    (void)state;
    problem p = make_problem(2, (const size_t[]){0, 3}, 0, 9);
    float dw[3];
    device_forward(&p, 1, NULL);
    device_backward(&p, 1, NULL, dw);
    const float zeros[] = {0.0f, 0.0f, 0.0f};
    assert_true(support_equal_bits(dw, zeros, 3, "dslope of an empty input"));
    free_problem(&p);
}

/* A NaN x (which is not > 0) or a NaN dy where x <= 0 poisons its channel's sum only; a NaN
 * dy where x > 0 is not multiplied in. */
static void test_prelu_nan_propagates_into_its_channel_slope_gradient(void **state) {
    (void)state;
    problem p = make_problem(4, (const size_t[]){2, 4, 3, 3}, 0, 10);
    p.x[0 * 9 + 4] = NAN;   /* channel 0 */
    p.x[1 * 9 + 2] = -1.0f; /* channel 1 */
    p.dy[1 * 9 + 2] = NAN;
    p.x[2 * 9 + 5] = 1.0f; /* channel 2: NaN dy at a positive x */
    p.dy[2 * 9 + 5] = NAN;
    float dx[72], dw[4], want_y[72], want_dx[72];
    double want_dw[4], scale[4];
    reference(&p, want_y, want_dx, want_dw, scale);
    device_backward(&p, 0, dx, dw);
    assert_true(isnan(dw[0]) && isnan(dw[1]));
    assert_true(support_close(dw + 2, want_dw + 2, 2, 1e-5 * sqrt(18.0), 0.0, scale + 2,
                              "channels without NaN"));
    assert_true(support_equal_bits(dx, want_dx, 72, "dx with NaNs"));
    free_problem(&p);
}

/* Big enough for many work-groups per channel, whose partial sums must combine in a fixed
 * order. */
static void test_prelu_slope_gradient_is_deterministic(void **state) {
    (void)state;
    problem p = make_problem(4, (const size_t[]){8, 3, 64, 64}, 0, 11);
    float *dx = checked_malloc(p.n), dw1[3], dw2[3];
    device_backward(&p, 1, dx, dw1);
    device_backward(&p, 1, dx, dw2);
    assert_memory_equal(dw1, dw2, sizeof dw1);
    free(dx);
    check_problem(&p, 1);
    free_problem(&p);
}

static void test_prelu_in_place_matches_reference(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    problem p = make_problem(4, (const size_t[]){2, 3, 4, 5}, 0, 12);
    const size_t off = 3, total = off + 120 + PAD;
    float y[120], dx[120], dw[3], want_y[120], want_dx[120];
    double want_dw[3], scale[3];
    reference(&p, want_y, want_dx, want_dw, scale);
    cl_mem bx = support_buffer_at(p.x, p.n, off, PAD), bw = support_buffer_from(p.slope, 3);
    cl_mem bdy = support_buffer_at(p.dy, p.n, off, PAD), bdw = support_buffer_poisoned(3);
    relucl_tensor tx = support_view(bx, off, 4, p.dims), tw = support_view1(bw, 0, 3);
    relucl_tensor tdy = support_view(bdy, off, 4, p.dims), tdw = support_view1(bdw, 0, 3);
    /* Backward first, while bx still holds x; then y overwrites x. */
    assert_int_equal(relucl_prelu_backward(ctx, &tx, &tw, &tdy, &tdy, &tdw), RELUCL_OK);
    assert_int_equal(relucl_prelu_forward(ctx, &tx, &tw, &tx), RELUCL_OK);
    support_read_checked(bx, off, p.n, total, y, "in-place y");
    support_read_checked(bdy, off, p.n, total, dx, "in-place dx");
    support_buffer_read(bdw, 0, dw, 3);
    assert_true(support_equal_bits(y, want_y, p.n, "in-place y"));
    assert_true(support_equal_bits(dx, want_dx, p.n, "in-place dx"));
    assert_true(support_close(dw, want_dw, 3, 1e-5 * sqrt(40.0), 0.0, scale, "in-place dslope"));
    support_buffer_release(bx);
    support_buffer_release(bw);
    support_buffer_release(bdy);
    support_buffer_release(bdw);
    free_problem(&p);
}

/* ---- Errors ----------------------------------------------------------------------------- */

/* x is (2,3,2) at in[0..12), slope (3) at in[12..15), dy at in[16..28); outputs in out. */
typedef struct fixture {
    support_arena io;
    relucl_tensor x, slope, dy, y, dx, dslope;
} fixture;

enum { ETOTAL = 48 };

static fixture make_fixture(void) {
    float data[ETOTAL];
    support_fill_uniform(data, ETOTAL, 5, -1.0f, 1.0f);
    fixture f;
    const size_t dims[] = {2, 3, 2};
    f.io = support_arena_make(data, ETOTAL, ETOTAL);
    f.x = support_view(f.io.in, 0, 3, dims);
    f.slope = support_view1(f.io.in, 12, 3);
    f.dy = support_view(f.io.in, 16, 3, dims);
    f.y = support_view(f.io.out, 1, 3, dims);
    f.dx = support_view(f.io.out, 20, 3, dims);
    f.dslope = support_view1(f.io.out, 40, 3);
    return f;
}

static void free_fixture(fixture *f) { support_arena_free(&f->io); }

/* The call failed with `want`, named `word`, and neither inputs nor outputs changed. */
static void expect_rejected(const fixture *f, relucl_status got, relucl_status want,
                            const char *word) {
    support_arena_expect_rejected(&f->io, got, want, word);
}

static void test_prelu_null_arguments_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT;
    expect_rejected(&f, relucl_prelu_forward(NULL, &f.x, &f.slope, &f.y), bad, NULL);
    expect_rejected(&f, relucl_prelu_forward(ctx, NULL, &f.slope, &f.y), bad, "x");
    expect_rejected(&f, relucl_prelu_forward(ctx, &f.x, NULL, &f.y), bad, "slope");
    expect_rejected(&f, relucl_prelu_forward(ctx, &f.x, &f.slope, NULL), bad, "y");
    expect_rejected(&f, relucl_prelu_backward(NULL, &f.x, &f.slope, &f.dy, &f.dx, &f.dslope), bad,
                    NULL);
    expect_rejected(&f, relucl_prelu_backward(ctx, NULL, &f.slope, &f.dy, &f.dx, &f.dslope), bad,
                    "x");
    expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, NULL, &f.dy, &f.dx, &f.dslope), bad,
                    "slope");
    expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, &f.slope, NULL, &f.dx, &f.dslope), bad,
                    "dy");
    expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, &f.slope, &f.dy, NULL, &f.dslope), bad,
                    "dx");
    expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, &f.slope, &f.dy, &f.dx, NULL), bad,
                    "dslope");
    free_fixture(&f);
}

static void test_prelu_slope_count_must_be_one_or_channels(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const size_t counts[] = {2, 4, 6};
    for (size_t i = 0; i < 3; i++) {
        relucl_tensor w = support_view1(f.io.in, 12, counts[i]);
        expect_rejected(&f, relucl_prelu_forward(ctx, &f.x, &w, &f.y), RELUCL_ERROR_SHAPE, "slope");
        relucl_tensor dw = support_view1(f.io.out, 40, counts[i]);
        expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, &w, &f.dy, &f.dx, &dw),
                        RELUCL_ERROR_SHAPE, "slope");
    }
    free_fixture(&f);
}

/* A 1-D x has no channel axis, so only a shared slope fits, even one of x's own length. */
static void test_prelu_1d_input_needs_shared_slope(void **state) {
    (void)state;
    fixture f = make_fixture();
    relucl_tensor x = support_view1(f.io.in, 0, 3), y = support_view1(f.io.out, 1, 3);
    expect_rejected(&f, relucl_prelu_forward(support_ctx(), &x, &f.slope, &y), RELUCL_ERROR_SHAPE,
                    "slope");
    free_fixture(&f);
}

static void test_prelu_count_mismatches_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_SHAPE;
    relucl_tensor dw1 = support_view1(f.io.out, 40, 1), dw4 = support_view1(f.io.out, 40, 4);
    relucl_tensor short_y = support_view1(f.io.out, 1, 11), short_dy = support_view1(f.io.in, 16, 11);
    relucl_tensor short_dx = support_view1(f.io.out, 20, 13);
    expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, &f.slope, &f.dy, &f.dx, &dw1), bad,
                    "dslope");
    expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, &f.slope, &f.dy, &f.dx, &dw4), bad,
                    "dslope");
    expect_rejected(&f, relucl_prelu_forward(ctx, &f.x, &f.slope, &short_y), bad, "y");
    expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, &f.slope, &short_dy, &f.dx, &f.dslope),
                    bad, "dy");
    expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, &f.slope, &f.dy, &short_dx, &f.dslope),
                    bad, "dx");
    free_fixture(&f);
}

static void test_prelu_bad_views_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const size_t dims5[] = {1, 3, 1, 2, 2}, huge[] = {SIZE_MAX / 2, 3, 4};
    relucl_tensor x5 = support_view_raw(f.io.in, 0, 5, dims5);
    relucl_tensor xh = support_view_raw(f.io.in, 0, 3, huge);
    relucl_tensor past = support_view(f.io.in, ETOTAL - 6, 3, (const size_t[]){2, 3, 2});
    expect_rejected(&f, relucl_prelu_forward(ctx, &x5, &f.slope, &f.y), RELUCL_ERROR_SHAPE, "x");
    expect_rejected(&f, relucl_prelu_forward(ctx, &xh, &f.slope, &f.y), RELUCL_ERROR_SHAPE, "x");
    expect_rejected(&f, relucl_prelu_forward(ctx, &past, &f.slope, &f.y), RELUCL_ERROR_SHAPE, "x");
    free_fixture(&f);
}

/* dslope is written after dx, so it may not share elements with anything. */
static void test_prelu_overlaps_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT;
    relucl_tensor dw_in_dx = support_view1(f.io.out, 22, 3);
    relucl_tensor shifted_y = support_view(f.io.out, 3, 3, (const size_t[]){2, 3, 2});
    relucl_tensor x_out = support_view(f.io.out, 0, 3, (const size_t[]){2, 3, 2});
    expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, &f.slope, &f.dy, &f.dx, &dw_in_dx), bad,
                    "dslope");
    expect_rejected(&f, relucl_prelu_forward(ctx, &x_out, &f.slope, &shifted_y), bad, "y");
    relucl_tensor dw_on_slope = support_view1(f.io.in, 12, 3), dw_in_x = support_view1(f.io.in, 10, 3);
    expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, &f.slope, &f.dy, &f.dx, &dw_on_slope), bad,
                    "dslope");
    expect_rejected(&f, relucl_prelu_backward(ctx, &f.x, &f.slope, &f.dy, &f.dx, &dw_in_x), bad,
                    "dslope");
    free_fixture(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prelu_1x1_matches_reference),
        cmocka_unit_test(test_prelu_matrix_matches_reference),
        cmocka_unit_test(test_prelu_nchw_uses_dims1_as_channel),
        cmocka_unit_test(test_prelu_shared_slope_works_for_any_ndim),
        cmocka_unit_test(test_prelu_odd_offsets_leave_neighbours_alone),
        cmocka_unit_test(test_prelu_empty_input_gives_zero_slope_gradient),
        cmocka_unit_test(test_prelu_nan_propagates_into_its_channel_slope_gradient),
        cmocka_unit_test(test_prelu_slope_gradient_is_deterministic),
        cmocka_unit_test(test_prelu_in_place_matches_reference),
        cmocka_unit_test(test_prelu_null_arguments_are_rejected),
        cmocka_unit_test(test_prelu_slope_count_must_be_one_or_channels),
        cmocka_unit_test(test_prelu_1d_input_needs_shared_slope),
        cmocka_unit_test(test_prelu_count_mismatches_are_rejected),
        cmocka_unit_test(test_prelu_bad_views_are_rejected),
        cmocka_unit_test(test_prelu_overlaps_are_rejected),
    };
    return cmocka_run_group_tests_name("prelu", tests, support_setup, support_teardown);
}
