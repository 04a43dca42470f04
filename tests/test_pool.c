/* relucl_pool2d_* and relucl_global_avg_pool_* against float64 references (PyTorch's
 * max_pool2d, avg_pool2d and adaptive_avg_pool2d(1) semantics): max pooling values and argmax
 * bit-exact, sums within a few float roundings, the same bits run to run, and every argument
 * check. */
#include "core/core.h" /* ctx->wide: the kernels of both device kinds are checked */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PAD = 5 };

/* One pooling problem: x (N, C, H, W) -> y (N, C, P, Q). */
typedef struct pool_case {
    size_t dims[4], out[2], nx, ny;
    relucl_pool2d pool;
} pool_case;

static relucl_pool2d pool_of(relucl_pool_kind kind, size_t kh, size_t kw, size_t sh, size_t sw,
                             size_t ph, size_t pw) {
    relucl_pool2d pool = {kind, {kh, kw}, {sh, sw}, {ph, pw}};
    return pool;
}

/* pad <= kernel / 2 and the kernel fits the padded input, in both directions. */
static int fits(const size_t *dims, const relucl_pool2d *pool) {
    for (int d = 0; d < 2; d++)
        if (pool->pad[d] > pool->kernel[d] / 2 || dims[2 + d] + 2 * pool->pad[d] < pool->kernel[d])
            return 0;
    return 1;
}

static pool_case make_case(const size_t *dims, relucl_pool2d pool) {
    pool_case pc;
    memcpy(pc.dims, dims, sizeof pc.dims);
    pc.pool = pool;
    for (int d = 0; d < 2; d++)
        pc.out[d] = (dims[2 + d] + 2 * pool.pad[d] - pool.kernel[d]) / pool.stride[d] + 1;
    pc.nx = dims[0] * dims[1] * dims[2] * dims[3];
    pc.ny = dims[0] * dims[1] * pc.out[0] * pc.out[1];
    return pc;
}

static void *checked_malloc(size_t count, size_t size) {
    void *mem = calloc(count ? count : 1, size);
    assert_non_null(mem);
    return mem;
}

/* ---- Float64 references ------------------------------------------------------------------ */

/* Input rows [*lo, *hi) of output row o, written from the definition: padded rows
 * o * stride .. o * stride + k - 1 shifted back by pad, clipped to the input. */
static void ref_window(size_t o, size_t k, size_t stride, size_t pad, size_t size, size_t *lo,
                       size_t *hi) {
    long long first = (long long)(o * stride) - (long long)pad, last = first + (long long)k;
    *lo = first < 0 ? 0 : (size_t)first;
    *hi = last > (long long)size ? size : (size_t)last;
}

/* y as doubles (max values are exact copies), argmax (max only) and, for averages, the mean of
 * |x| over the window as the scale rounding errors are judged against. */
static void ref_forward(const pool_case *pc, const float *x, double *y, float *argmax,
                        double *scale) {
    size_t h = pc->dims[2], w = pc->dims[3], p = pc->out[0], q = pc->out[1];
    double area = (double)(pc->pool.kernel[0] * pc->pool.kernel[1]);
    for (size_t o = 0; o < pc->ny; o++) {
        size_t plane = o / (p * q), r0, r1, c0, c1;
        ref_window(o % (p * q) / q, pc->pool.kernel[0], pc->pool.stride[0], pc->pool.pad[0], h, &r0,
                   &r1);
        ref_window(o % q, pc->pool.kernel[1], pc->pool.stride[1], pc->pool.pad[1], w, &c0, &c1);
        const float *in = x + plane * h * w;
        float best = -INFINITY;
        size_t at = r0 * w + c0;
        double sum = 0.0, abs_sum = 0.0;
        for (size_t r = r0; r < r1; r++)
            for (size_t c = c0; c < c1; c++) {
                float v = in[r * w + c];
                if (v > best || isnan(v)) { /* PyTorch's rule */
                    best = v;
                    at = r * w + c;
                }
                sum += v;
                abs_sum += fabs((double)v);
            }
        if (pc->pool.kind == RELUCL_POOL_MAX) {
            y[o] = best;
            argmax[o] = (float)at;
            scale[o] = 0.0;
        } else {
            y[o] = sum / area;
            scale[o] = abs_sum / area;
        }
    }
}

/* dx by scattering each dy (to its argmax, or spread over its window), with the sum of the
 * |terms| as scale. */
static void ref_backward(const pool_case *pc, const float *dy, const float *argmax, double *dx,
                         double *scale) {
    size_t h = pc->dims[2], w = pc->dims[3], p = pc->out[0], q = pc->out[1];
    double area = (double)(pc->pool.kernel[0] * pc->pool.kernel[1]);
    memset(dx, 0, pc->nx * sizeof *dx);
    memset(scale, 0, pc->nx * sizeof *scale);
    for (size_t o = 0; o < pc->ny; o++) {
        size_t base = o / (p * q) * h * w, r0, r1, c0, c1;
        if (pc->pool.kind == RELUCL_POOL_MAX) {
            dx[base + (size_t)argmax[o]] += dy[o];
            scale[base + (size_t)argmax[o]] += fabs((double)dy[o]);
            continue;
        }
        ref_window(o % (p * q) / q, pc->pool.kernel[0], pc->pool.stride[0], pc->pool.pad[0], h, &r0,
                   &r1);
        ref_window(o % q, pc->pool.kernel[1], pc->pool.stride[1], pc->pool.pad[1], w, &c0, &c1);
        for (size_t r = r0; r < r1; r++)
            for (size_t c = c0; c < c1; c++) {
                dx[base + r * w + c] += dy[o] / area;
                scale[base + r * w + c] += fabs((double)dy[o]) / area;
            }
    }
}

/* ---- Device runs ------------------------------------------------------------------------- */

typedef struct pool_run {
    float *y, *argmax, *dx; /* argmax stays zero for average pooling */
} pool_run;

static void free_run(pool_run *r) {
    free(r->y);
    free(r->argmax);
    free(r->dx);
}

static void expect_ok(relucl_status st) {
    if (st != RELUCL_OK)
        fail_msg("%s: %s", relucl_status_name(st), relucl_context_error(support_ctx()));
}

/* Forward, then backward through the device's own argmax. x, y, argmax, dy and dx each sit
 * at their own offset from off inside a poisoned buffer, which must stay poison around them. */
static pool_run device_pool(const pool_case *pc, const float *x, const float *dy, size_t off) {
    relucl_context *ctx = support_ctx();
    int max = pc->pool.kind == RELUCL_POOL_MAX;
    size_t ydims[4] = {pc->dims[0], pc->dims[1], pc->out[0], pc->out[1]};
    pool_run r = {checked_malloc(pc->ny, sizeof(float)), checked_malloc(pc->ny, sizeof(float)),
                  checked_malloc(pc->nx, sizeof(float))};
    cl_mem bx = support_buffer_at(x, pc->nx, off, PAD);
    cl_mem by = support_buffer_poisoned(off + 1 + pc->ny + PAD);
    cl_mem ba = support_buffer_poisoned(off + 2 + pc->ny + PAD);
    cl_mem bdy = support_buffer_at(dy, pc->ny, off + 3, PAD);
    cl_mem bdx = support_buffer_poisoned(off + 4 + pc->nx + PAD);
    relucl_tensor tx = support_view(bx, off, 4, pc->dims), ty = support_view(by, off + 1, 4, ydims);
    relucl_tensor ta = support_view(ba, off + 2, 4, ydims),
                  tdy = support_view(bdy, off + 3, 4, ydims);
    relucl_tensor tdx = support_view(bdx, off + 4, 4, pc->dims);
    expect_ok(relucl_pool2d_forward(ctx, &pc->pool, &tx, &ty, max ? &ta : NULL));
    expect_ok(relucl_pool2d_backward(ctx, &pc->pool, &tdy, max ? &ta : NULL, &tdx));
    support_read_checked(by, off + 1, pc->ny, off + 1 + pc->ny + PAD, r.y, "pool y");
    if (max)
        support_read_checked(ba, off + 2, pc->ny, off + 2 + pc->ny + PAD, r.argmax, "argmax");
    support_read_checked(bdx, off + 4, pc->nx, off + 4 + pc->nx + PAD, r.dx, "pool dx");
    support_buffer_release(bx);
    support_buffer_release(by);
    support_buffer_release(ba);
    support_buffer_release(bdy);
    support_buffer_release(bdx);
    return r;
}

/* Runs pc on the device and compares everything with the references; returns the run for
 * further checks. */
static pool_run check_case(const pool_case *pc, const float *x, const float *dy, size_t off) {
    char label[160];
    snprintf(label, sizeof label, "%s %zux%zux%zux%zu k %zux%zu s %zux%zu p %zux%zu off %zu",
             pc->pool.kind == RELUCL_POOL_MAX ? "max" : "avg", pc->dims[0], pc->dims[1],
             pc->dims[2], pc->dims[3], pc->pool.kernel[0], pc->pool.kernel[1], pc->pool.stride[0],
             pc->pool.stride[1], pc->pool.pad[0], pc->pool.pad[1], off);
    double *want_y = checked_malloc(pc->ny, sizeof(double));
    double *y_scale = checked_malloc(pc->ny, sizeof(double));
    double *want_dx = checked_malloc(pc->nx, sizeof(double));
    double *dx_scale = checked_malloc(pc->nx, sizeof(double));
    float *want_argmax = checked_malloc(pc->ny, sizeof(float));
    float *want_yf = checked_malloc(pc->ny, sizeof(float));
    ref_forward(pc, x, want_y, want_argmax, y_scale);
    ref_backward(pc, dy, want_argmax, want_dx, dx_scale);
    pool_run r = device_pool(pc, x, dy, off);
    if (pc->pool.kind == RELUCL_POOL_MAX) {
        for (size_t i = 0; i < pc->ny; i++)
            want_yf[i] = (float)want_y[i];
        assert_true(support_equal_bits(r.y, want_yf, pc->ny, label));
        assert_true(support_equal_bits(r.argmax, want_argmax, pc->ny, label));
    } else {
        assert_true(support_close(r.y, want_y, pc->ny, 2e-6, 0.0, y_scale, label));
    }
    assert_true(support_close(r.dx, want_dx, pc->nx, 2e-6, 0.0, dx_scale, label));
    free(want_y);
    free(y_scale);
    free(want_dx);
    free(dx_scale);
    free(want_argmax);
    free(want_yf);
    return r;
}

/* Random x in [-2, 2] and dy in [-1, 1]. */
static void check_random(const pool_case *pc, size_t off, uint64_t seed) {
    float *x = checked_malloc(pc->nx, sizeof(float)), *dy = checked_malloc(pc->ny, sizeof(float));
    support_fill_uniform(x, pc->nx, seed, -2.0f, 2.0f);
    support_fill_uniform(dy, pc->ny, seed + 1, -1.0f, 1.0f);
    pool_run r = check_case(pc, x, dy, off);
    free_run(&r);
    free(x);
    free(dy);
}

/* ---- Matching the references ------------------------------------------------------------- */

static void test_pool_output_dims_follow_the_floor_formula(void **state) {
    (void)state;
    const struct {
        size_t x[4];
        relucl_pool2d pool;
        size_t y[4];
    } cases[] = {
        {{2, 3, 7, 9}, pool_of(RELUCL_POOL_MAX, 3, 2, 2, 3, 1, 0), {2, 3, 4, 3}},
        {{1, 1, 1, 1}, pool_of(RELUCL_POOL_AVG, 1, 1, 1, 1, 0, 0), {1, 1, 1, 1}},
        {{4, 5, 13, 11}, pool_of(RELUCL_POOL_MAX, 2, 2, 2, 2, 0, 0), {4, 5, 6, 5}},
        {{2, 2, 5, 5}, pool_of(RELUCL_POOL_AVG, 3, 3, 3, 3, 1, 1), {2, 2, 2, 2}},
        {{0, 3, 1, 1}, pool_of(RELUCL_POOL_MAX, 2, 3, 1, 1, 1, 1), {0, 3, 2, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t y[4] = {0, 0, 0, 0};
        expect_ok(relucl_pool2d_output_dims(support_ctx(), &cases[i].pool, cases[i].x, y));
        assert_memory_equal(y, cases[i].y, sizeof y);
    }
}

/* Kernels 1x1, 2x2, 3x3, 3x2; strides 1, 2, 3; padding 0 and 1; odd, 1x1 and narrow planes
 * (6 x 5: two 2x2 windows a row, too few for a vector step); batch 1 and 3, channels 1 and 5;
 * offsets 0, 1 and 2. Geometry that cannot exist is skipped. */
static void check_all_geometries(relucl_pool_kind kind) {
    static const size_t kernels[][2] = {{1, 1}, {2, 2}, {3, 3}, {3, 2}};
    static const size_t planes[][2] = {{7, 9}, {13, 11}, {1, 1}, {12, 21}, {28, 28}, {6, 5}};
    static const size_t batches[][2] = {{1, 1}, {3, 5}, {1, 5}, {3, 1}};
    size_t count = 0;
    for (size_t k = 0; k < 4; k++)
        for (size_t s = 1; s <= 3; s++)
            for (size_t pad = 0; pad <= 1; pad++)
                for (size_t pl = 0; pl < sizeof planes / sizeof *planes; pl++) {
                    relucl_pool2d pool =
                        pool_of(kind, kernels[k][0], kernels[k][1], s, s, pad, pad);
                    const size_t *nc = batches[count % 4];
                    size_t dims[4] = {nc[0], nc[1], planes[pl][0], planes[pl][1]};
                    if (!fits(dims, &pool))
                        continue;
                    pool_case pc = make_case(dims, pool);
                    check_random(&pc, count % 3, 100 + count);
                    count++;
                }
    assert_true(count > 40);
}

static void test_max_pool_matches_reference(void **state) {
    (void)state;
    check_all_geometries(RELUCL_POOL_MAX);
}

static void test_avg_pool_matches_reference(void **state) {
    (void)state;
    check_all_geometries(RELUCL_POOL_AVG);
}

/* CPU devices (ctx->wide) run 2x2 max pooling a row at a time, 4 windows per vector step,
 * other devices a window per work-item: the other kind's kernels get the same geometries. */
static void test_max_pool_kernels_of_the_other_device_kind_match_reference(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    int wide = ctx->wide;
    ctx->wide = !wide;
    check_all_geometries(RELUCL_POOL_MAX);
    ctx->wide = wide;
}

/* NaN, infinities, signed zeros and ties in every lane of the row kernels' vector steps, the
 * last of which overlaps the one before (rows of 10 and 14 windows: steps at 0, 4, 6 and at
 * 0, 4, 8, 10), on both device kinds' kernels: y and argmax must be the reference's bits. */
static void test_max_pool_2x2_special_values_in_every_lane(void **state) {
    (void)state;
    static const float specials[] = {NAN, INFINITY, -INFINITY, -0.0f, 0.0f, 1.0f};
    static const size_t shapes[][4] = {{2, 3, 12, 21}, {1, 2, 28, 28}};
    relucl_context *ctx = support_ctx();
    int wide = ctx->wide;
    for (int kind = 0; kind < 2; kind++) {
        ctx->wide = kind;
        for (size_t sh = 0; sh < 2; sh++) {
            pool_case pc = make_case(shapes[sh], pool_of(RELUCL_POOL_MAX, 2, 2, 2, 2, 0, 0));
            float *x = checked_malloc(pc.nx, sizeof(float));
            float *dy = checked_malloc(pc.ny, sizeof(float));
            support_fill_uniform(x, pc.nx, 40 + sh, -2.0f, 2.0f);
            support_fill_uniform(dy, pc.ny, 50 + sh, -1.0f, 1.0f);
            uint64_t rng = 60 + sh;
            for (size_t i = 0; i < pc.nx; i++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                if ((rng >> 60) < 5) /* about a third of the inputs */
                    x[i] = specials[(rng >> 32) % (sizeof specials / sizeof *specials)];
            }
            pool_run r = check_case(&pc, x, dy, sh);
            free_run(&r);
            free(x);
            free(dy);
        }
    }
    ctx->wide = wide;
}

/* Different strides and padding per axis, and a stride larger than the kernel (elements that
 * no window covers get a zero gradient). */
static void test_pool_asymmetric_geometry_matches_reference(void **state) {
    (void)state;
    const size_t dims[4] = {2, 3, 7, 9};
    const relucl_pool2d pools[] = {
        pool_of(RELUCL_POOL_MAX, 3, 2, 2, 1, 1, 0), pool_of(RELUCL_POOL_AVG, 3, 2, 2, 1, 1, 0),
        pool_of(RELUCL_POOL_MAX, 2, 3, 1, 3, 0, 1), pool_of(RELUCL_POOL_AVG, 2, 3, 1, 3, 0, 1),
        pool_of(RELUCL_POOL_MAX, 1, 2, 3, 3, 0, 0), pool_of(RELUCL_POOL_AVG, 2, 1, 3, 2, 1, 0)};
    for (size_t i = 0; i < sizeof pools / sizeof *pools; i++) {
        pool_case pc = make_case(dims, pools[i]);
        check_random(&pc, i, 200 + i);
    }
}

/* A constant plane: every window ties, and its first real (unpadded) element wins. */
static void test_max_pool_ties_pick_the_first_position(void **state) {
    (void)state;
    pool_case pc =
        make_case((const size_t[]){1, 2, 5, 7}, pool_of(RELUCL_POOL_MAX, 3, 3, 2, 2, 1, 1));
    float x[70], dy[24];
    for (size_t i = 0; i < 70; i++)
        x[i] = 1.5f;
    support_fill_uniform(dy, 24, 3, -1.0f, 1.0f);
    pool_run r = check_case(&pc, x, dy, 1);
    for (size_t o = 0; o < 24; o++) {
        size_t p = o % 12 / 4, q = o % 4;
        size_t row = p ? 2 * p - 1 : 0, col = q ? 2 * q - 1 : 0;
        assert_true(r.argmax[o] == (float)(row * 7 + col));
    }
    free_run(&r);
    /* -0.0 and +0.0 compare equal, so the first one's bits come out. */
    pool_case pair =
        make_case((const size_t[]){1, 1, 1, 2}, pool_of(RELUCL_POOL_MAX, 1, 2, 1, 1, 0, 0));
    const float orders[2][2] = {{-0.0f, 0.0f}, {0.0f, -0.0f}}, one = 1.0f;
    for (int i = 0; i < 2; i++) {
        r = check_case(&pair, orders[i], &one, 0);
        assert_true(support_equal_bits(r.y, &orders[i][0], 1, "first zero wins"));
        assert_true(r.argmax[0] == 0.0f);
        free_run(&r);
    }
}

/* NaN replaces any maximum and is replaced only by a later NaN (PyTorch's rule), and dy
 * follows it. */
static void test_max_pool_nan_propagates(void **state) {
    (void)state;
    pool_case pc =
        make_case((const size_t[]){1, 1, 6, 6}, pool_of(RELUCL_POOL_MAX, 2, 2, 2, 2, 0, 0));
    float x[36], dy[9];
    support_fill_uniform(x, 36, 4, -2.0f, 2.0f);
    support_fill_uniform(dy, 9, 5, -1.0f, 1.0f);
    x[7] = NAN;                  /* window (0, 0), after a real value */
    x[12] = NAN, x[19] = 100.0f; /* window (1, 0): a larger value after the NaN */
    x[28] = NAN, x[35] = NAN;    /* window (2, 2): two NaNs, the last wins */
    pool_run r = check_case(&pc, x, dy, 2);
    assert_true(isnan(r.y[0]) && isnan(r.y[3]) && isnan(r.y[8]));
    assert_true(r.argmax[0] == 7.0f && r.argmax[3] == 12.0f && r.argmax[8] == 35.0f);
    assert_true(r.dx[7] == dy[0] && r.dx[12] == dy[3] && r.dx[35] == dy[8] && r.dx[19] == 0.0f);
    free_run(&r);
    /* Overlapping windows: every window holding the NaN gives NaN. */
    pool_case wide =
        make_case((const size_t[]){2, 1, 6, 6}, pool_of(RELUCL_POOL_MAX, 3, 3, 1, 1, 1, 1));
    float x2[72], dy2[72];
    support_fill_uniform(x2, 72, 6, -2.0f, 2.0f);
    support_fill_uniform(dy2, 72, 7, -1.0f, 1.0f);
    x2[36 + 14] = NAN;
    r = check_case(&wide, x2, dy2, 0);
    assert_true(isnan(r.y[36 + 14]) && isnan(r.y[36 + 21]) && !isnan(r.y[36 + 28]));
    free_run(&r);
}

/* -inf everywhere: padding (also -inf to the maximum) never wins, the first real element
 * does, and receives the gradient. */
static void test_max_pool_negative_infinity_inputs(void **state) {
    (void)state;
    pool_case pc =
        make_case((const size_t[]){1, 1, 4, 4}, pool_of(RELUCL_POOL_MAX, 3, 3, 2, 2, 1, 1));
    float x[16], dy[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    for (size_t i = 0; i < 16; i++)
        x[i] = -INFINITY;
    pool_run r = check_case(&pc, x, dy, 1);
    const float want_argmax[4] = {0.0f, 1.0f, 4.0f, 5.0f};
    for (size_t o = 0; o < 4; o++)
        assert_true(r.y[o] == -INFINITY);
    assert_true(support_equal_bits(r.argmax, want_argmax, 4, "argmax over -inf"));
    assert_true(r.dx[0] == 1.0f && r.dx[1] == 2.0f && r.dx[4] == 3.0f && r.dx[5] == 4.0f);
    free_run(&r);
    x[10] = -3.0f; /* (2, 2) lies in window (1, 1) only: rows and columns 1..3 */
    r = check_case(&pc, x, dy, 0);
    assert_true(r.y[3] == -3.0f && r.argmax[3] == 10.0f && r.y[0] == -INFINITY);
    free_run(&r);
}

/* With stride 1 every 3x3 window of a 5x5 plane holds the centre's peak: its gradient is the
 * sum of all nine dy. */
static void test_max_pool_backward_sums_overlapping_windows(void **state) {
    (void)state;
    pool_case pc =
        make_case((const size_t[]){1, 1, 5, 5}, pool_of(RELUCL_POOL_MAX, 3, 3, 1, 1, 0, 0));
    float x[25], dy[9];
    support_fill_uniform(x, 25, 8, -1.0f, 1.0f);
    x[12] = 10.0f;
    for (size_t i = 0; i < 9; i++)
        dy[i] = (float)(i + 1);
    pool_run r = check_case(&pc, x, dy, 3);
    for (size_t e = 0; e < 25; e++)
        assert_true(r.dx[e] == (e == 12 ? 45.0f : 0.0f));
    free_run(&r);
}

static void test_avg_pool_backward_sums_overlapping_windows(void **state) {
    (void)state;
    pool_case pc =
        make_case((const size_t[]){1, 1, 3, 3}, pool_of(RELUCL_POOL_AVG, 2, 2, 1, 1, 0, 0));
    float x[9], dy[9] = {4.0f, 4.0f, 4.0f, 4.0f};
    support_fill_uniform(x, 9, 9, -1.0f, 1.0f);
    const float want[9] = {1, 2, 1, 2, 4, 2, 1, 2, 1};
    pool_run r = check_case(&pc, x, dy, 0);
    assert_true(support_equal_bits(r.dx, want, 9, "avg dx, 2x2 stride 1"));
    free_run(&r);
    /* 3x3 windows with padding 1: the centre is in all nine, a corner in four. */
    pc = make_case((const size_t[]){1, 1, 3, 3}, pool_of(RELUCL_POOL_AVG, 3, 3, 1, 1, 1, 1));
    for (size_t i = 0; i < 9; i++)
        dy[i] = 9.0f;
    const float want_padded[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
    r = check_case(&pc, x, dy, 2);
    assert_true(support_equal_bits(r.dx, want_padded, 9, "avg dx, 3x3 padded"));
    free_run(&r);
}

/* Two runs of an overlapping geometry give the same bits. */
static void test_pool_is_deterministic(void **state) {
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        pool_case pc = make_case((const size_t[]){2, 3, 31, 29},
                                 pool_of((relucl_pool_kind)kind, 3, 3, 1, 1, 1, 1));
        float *x = checked_malloc(pc.nx, sizeof(float)), *dy = checked_malloc(pc.ny, sizeof(float));
        support_fill_uniform(x, pc.nx, 10, -1.0f, 1.0f);
        for (size_t i = 0; i < pc.nx; i += 5)
            x[i] = 0.5f; /* ties */
        support_fill_uniform(dy, pc.ny, 11, -1.0f, 1.0f);
        pool_run a = device_pool(&pc, x, dy, 1), b = device_pool(&pc, x, dy, 1);
        assert_memory_equal(a.y, b.y, pc.ny * sizeof(float));
        assert_memory_equal(a.argmax, b.argmax, pc.ny * sizeof(float));
        assert_memory_equal(a.dx, b.dx, pc.nx * sizeof(float));
        free_run(&a);
        free_run(&b);
        free(x);
        free(dy);
    }
}

/* ---- Global average pooling -------------------------------------------------------------- */

/* Forward within 1e-5 * sqrt(H * W) of the float64 mean (relative to the mean of |x|),
 * backward within 3 ulp of dy / (H * W); y returned for the determinism check. */
static void check_global(const size_t *dims, size_t off, uint64_t seed, float *y_out) {
    relucl_context *ctx = support_ctx();
    size_t planes = dims[0] * dims[1], size = dims[2] * dims[3], n = planes * size;
    float *x = checked_malloc(n, sizeof(float)), *dx = checked_malloc(n, sizeof(float));
    float *want_dx = checked_malloc(n, sizeof(float));
    float *dy = checked_malloc(planes, sizeof(float)), *y = checked_malloc(planes, sizeof(float));
    double *want = checked_malloc(planes, sizeof(double));
    double *scale = checked_malloc(planes, sizeof(double));
    support_fill_uniform(x, n, seed, -1.0f, 3.0f);
    support_fill_uniform(dy, planes, seed + 1, -1.0f, 1.0f);
    for (size_t i = 0; i < planes; i++) {
        for (size_t k = 0; k < size; k++) {
            want[i] += x[i * size + k];
            scale[i] += fabs((double)x[i * size + k]);
        }
        want[i] /= (double)size;
        scale[i] /= (double)size;
        for (size_t k = 0; k < size; k++)
            want_dx[i * size + k] = (float)((double)dy[i] / (double)size);
    }
    const size_t ydims[2] = {dims[0], dims[1]};
    cl_mem bx = support_buffer_at(x, n, off, PAD), by = support_buffer_poisoned(off + planes + PAD);
    cl_mem bdy = support_buffer_at(dy, planes, off, PAD),
           bdx = support_buffer_poisoned(off + n + PAD);
    relucl_tensor tx = support_view(bx, off, 4, dims), ty = support_view(by, off, 2, ydims);
    relucl_tensor tdy = support_view(bdy, off, 2, ydims), tdx = support_view(bdx, off, 4, dims);
    expect_ok(relucl_global_avg_pool_forward(ctx, &tx, &ty));
    expect_ok(relucl_global_avg_pool_backward(ctx, &tdy, &tdx));
    support_read_checked(by, off, planes, off + planes + PAD, y, "global y");
    support_read_checked(bdx, off, n, off + n + PAD, dx, "global dx");
    char label[96];
    snprintf(label, sizeof label, "global avg %zux%zux%zux%zu", dims[0], dims[1], dims[2], dims[3]);
    assert_true(support_close(y, want, planes, 1e-5 * sqrt((double)size), 0.0, scale, label));
    assert_true(support_within_ulp(dx, want_dx, n, 3, label));
    if (y_out)
        memcpy(y_out, y, planes * sizeof *y);
    support_buffer_release(bx);
    support_buffer_release(by);
    support_buffer_release(bdy);
    support_buffer_release(bdx);
    free(x);
    free(dx);
    free(want_dx);
    free(dy);
    free(y);
    free(want);
    free(scale);
}

/* Planes at, below and above the 64 elements where one work-item per plane gives way to a
 * work-group per plane. */
static void test_global_avg_pool_matches_reference(void **state) {
    (void)state;
    check_global((const size_t[]){2, 5, 7, 9}, 0, 20, NULL);
    check_global((const size_t[]){3, 1, 1, 1}, 3, 21, NULL);
    check_global((const size_t[]){1, 2, 8, 8}, 1, 22, NULL);
    check_global((const size_t[]){2, 3, 9, 9}, 2, 23, NULL);
    check_global((const size_t[]){3, 5, 13, 11}, 1, 24, NULL);
}

static void test_global_avg_pool_big_plane_is_accurate_and_deterministic(void **state) {
    (void)state;
    float first[3], second[3];
    check_global((const size_t[]){1, 3, 300, 301}, 1, 25, first);
    check_global((const size_t[]){1, 3, 300, 301}, 1, 25, second);
    assert_memory_equal(first, second, sizeof first);
}

/* ---- Errors ----------------------------------------------------------------------------- */

/* in: x (2,3,4,5) at 0, dy (2,3,2,2) at 120, an argmax (2,3,2,2) at 144. out (poison): y at 1,
 * argmax at 30, dx (2,3,4,5) at 60; for global pooling y (2,3) at 1 and dy (2,3) at 120. */
typedef struct fixture {
    support_arena io;
    relucl_pool2d max, avg;
    relucl_tensor x, dy, argmax_in, y, argmax, dx, gy, gdy;
} fixture;

enum { IN_TOTAL = 176, OUT_TOTAL = 200 };
static const size_t X_DIMS[4] = {2, 3, 4, 5}, Y_DIMS[4] = {2, 3, 2, 2}, NC[2] = {2, 3};

static fixture make_fixture(void) {
    float data[IN_TOTAL];
    support_fill_uniform(data, IN_TOTAL, 30, 0.0f, 3.0f);
    fixture f;
    f.io = support_arena_make(data, IN_TOTAL, OUT_TOTAL);
    f.max = pool_of(RELUCL_POOL_MAX, 2, 2, 2, 2, 0, 0);
    f.avg = pool_of(RELUCL_POOL_AVG, 2, 2, 2, 2, 0, 0);
    f.x = support_view(f.io.in, 0, 4, X_DIMS);
    f.dy = support_view(f.io.in, 120, 4, Y_DIMS);
    f.argmax_in = support_view(f.io.in, 144, 4, Y_DIMS);
    f.y = support_view(f.io.out, 1, 4, Y_DIMS);
    f.argmax = support_view(f.io.out, 30, 4, Y_DIMS);
    f.dx = support_view(f.io.out, 60, 4, X_DIMS);
    f.gy = support_view(f.io.out, 1, 2, NC);
    f.gdy = support_view(f.io.in, 120, 2, NC);
    return f;
}

static void free_fixture(fixture *f) { support_arena_free(&f->io); }

/* The call failed with `want`, named `word`, and neither inputs nor outputs changed. */
static void expect_rejected(const fixture *f, relucl_status got, relucl_status want,
                            const char *word) {
    support_arena_expect_rejected(&f->io, got, want, word);
}

/* output_dims must fail with `want`, name `word` and leave y_dims alone. */
static void expect_dims_rejected(const relucl_pool2d *pool, const size_t *x_dims,
                                 relucl_status want, const char *word) {
    size_t y[4] = {7, 7, 7, 7};
    const size_t untouched[4] = {7, 7, 7, 7};
    relucl_status got = relucl_pool2d_output_dims(support_ctx(), pool, x_dims, y);
    if (got != want)
        fail_msg("status %s, want %s (%s)", relucl_status_name(got), relucl_status_name(want),
                 relucl_context_error(support_ctx()));
    assert_true(support_error_mentions(word));
    assert_memory_equal(y, untouched, sizeof y);
}

static void test_pool_null_arguments_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT;
    size_t y_dims[4];
    assert_int_equal(relucl_pool2d_output_dims(NULL, &f.max, X_DIMS, y_dims), bad);
    expect_dims_rejected(NULL, X_DIMS, bad, "pool");
    expect_dims_rejected(&f.max, NULL, bad, "x_dims");
    expect_rejected(&f, relucl_pool2d_output_dims(ctx, &f.max, X_DIMS, NULL), bad, "y_dims");
    expect_rejected(&f, relucl_pool2d_forward(NULL, &f.max, &f.x, &f.y, &f.argmax), bad, NULL);
    expect_rejected(&f, relucl_pool2d_forward(ctx, NULL, &f.x, &f.y, &f.argmax), bad, "pool");
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.max, NULL, &f.y, &f.argmax), bad, "x");
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.max, &f.x, NULL, &f.argmax), bad, "y");
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.max, &f.x, &f.y, NULL), bad, "argmax");
    expect_rejected(&f, relucl_pool2d_backward(NULL, &f.max, &f.dy, &f.argmax_in, &f.dx), bad,
                    NULL);
    expect_rejected(&f, relucl_pool2d_backward(ctx, NULL, &f.dy, &f.argmax_in, &f.dx), bad, "pool");
    expect_rejected(&f, relucl_pool2d_backward(ctx, &f.max, NULL, &f.argmax_in, &f.dx), bad, "dy");
    expect_rejected(&f, relucl_pool2d_backward(ctx, &f.max, &f.dy, NULL, &f.dx), bad, "argmax");
    expect_rejected(&f, relucl_pool2d_backward(ctx, &f.max, &f.dy, &f.argmax_in, NULL), bad, "dx");
    expect_rejected(&f, relucl_global_avg_pool_forward(NULL, &f.x, &f.gy), bad, NULL);
    expect_rejected(&f, relucl_global_avg_pool_forward(ctx, NULL, &f.gy), bad, "x");
    expect_rejected(&f, relucl_global_avg_pool_forward(ctx, &f.x, NULL), bad, "y");
    expect_rejected(&f, relucl_global_avg_pool_backward(NULL, &f.gdy, &f.dx), bad, NULL);
    expect_rejected(&f, relucl_global_avg_pool_backward(ctx, NULL, &f.dx), bad, "dy");
    expect_rejected(&f, relucl_global_avg_pool_backward(ctx, &f.gdy, NULL), bad, "dx");
    free_fixture(&f);
}

/* Each bad parameter is rejected by output_dims, forward and backward alike. */
static void test_pool_bad_parameters_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    struct {
        relucl_pool2d pool;
        const char *word;
    } cases[] = {
        {pool_of((relucl_pool_kind)7, 2, 2, 2, 2, 0, 0), "kind"},
        {pool_of((relucl_pool_kind)-1, 2, 2, 2, 2, 0, 0), "kind"},
        {pool_of(RELUCL_POOL_MAX, 0, 2, 2, 2, 0, 0), "kernel"},
        {pool_of(RELUCL_POOL_MAX, 2, 0, 2, 2, 0, 0), "kernel"},
        {pool_of(RELUCL_POOL_MAX, 2, 2, 0, 2, 0, 0), "stride"},
        {pool_of(RELUCL_POOL_AVG, 2, 2, 2, 0, 0, 0), "stride"},
        {pool_of(RELUCL_POOL_MAX, 2, 2, 2, 2, 2, 0), "pad"},
        {pool_of(RELUCL_POOL_AVG, 3, 1, 1, 1, 1, 1), "pad"},
    };
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const relucl_pool2d *pool = &cases[i].pool;
        const char *word = cases[i].word;
        expect_dims_rejected(pool, X_DIMS, bad, word);
        expect_rejected(&f, relucl_pool2d_forward(ctx, pool, &f.x, &f.y, &f.argmax), bad, word);
        expect_rejected(&f, relucl_pool2d_backward(ctx, pool, &f.dy, &f.argmax_in, &f.dx), bad,
                        word);
    }
    free_fixture(&f);
}

/* A kernel larger than the padded input, an empty plane, or (max pooling only) a plane too
 * large for argmax to hold exact positions. */
static void test_pool_impossible_geometry_is_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_SHAPE;
    const relucl_pool2d tall = pool_of(RELUCL_POOL_MAX, 6, 2, 1, 1, 0, 0);
    const relucl_pool2d wide = pool_of(RELUCL_POOL_AVG, 2, 8, 1, 1, 0, 1);
    expect_dims_rejected(&tall, X_DIMS, bad, "x_dims");
    expect_dims_rejected(&wide, X_DIMS, bad, "x_dims");
    expect_rejected(&f, relucl_pool2d_forward(ctx, &tall, &f.x, &f.y, &f.argmax), bad, "x");
    expect_rejected(&f, relucl_pool2d_forward(ctx, &wide, &f.x, &f.y, NULL), bad, "x");
    expect_rejected(&f, relucl_pool2d_backward(ctx, &tall, &f.dy, &f.argmax_in, &f.dx), bad, "dx");
    expect_rejected(&f, relucl_pool2d_backward(ctx, &wide, &f.dy, NULL, &f.dx), bad, "dx");
    const relucl_pool2d one = pool_of(RELUCL_POOL_MAX, 1, 1, 1, 1, 0, 0);
    expect_dims_rejected(&one, (const size_t[]){1, 1, 0, 4}, bad, "x_dims");
    expect_dims_rejected(&one, (const size_t[]){1, 1, 4097, 4097}, bad, "x_dims");
    size_t y[4];
    expect_ok(relucl_pool2d_output_dims(ctx, &one, (const size_t[]){1, 1, 1u << 24, 1}, y));
    expect_dims_rejected(&one, (const size_t[]){1, 1, (1u << 24) + 1, 1}, bad, "x_dims");
    const relucl_pool2d one_avg = pool_of(RELUCL_POOL_AVG, 1, 1, 1, 1, 0, 0);
    expect_ok(relucl_pool2d_output_dims(ctx, &one_avg, (const size_t[]){1, 1, 4097, 4097}, y));
    relucl_tensor flat = support_view(f.io.in, 0, 4, (const size_t[]){2, 3, 0, 5});
    expect_rejected(&f, relucl_global_avg_pool_forward(ctx, &flat, &f.gy), bad, "x");
    relucl_tensor flat_dx = support_view(f.io.out, 60, 4, (const size_t[]){2, 3, 5, 0});
    expect_rejected(&f, relucl_global_avg_pool_backward(ctx, &f.gdy, &flat_dx), bad, "dx");
    free_fixture(&f);
}

/* argmax is required (with y's dims) for max pooling and forbidden for average pooling. */
static void test_pool_argmax_must_match_the_kind(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.avg, &f.x, &f.y, &f.argmax),
                    RELUCL_ERROR_INVALID_ARGUMENT, "argmax");
    expect_rejected(&f, relucl_pool2d_backward(ctx, &f.avg, &f.dy, &f.argmax_in, &f.dx),
                    RELUCL_ERROR_INVALID_ARGUMENT, "argmax");
    relucl_tensor wrong = support_view(f.io.out, 30, 4, (const size_t[]){2, 3, 2, 3});
    relucl_tensor flat = support_view1(f.io.out, 30, 24);
    relucl_tensor wrong_in = support_view(f.io.in, 144, 4, (const size_t[]){2, 3, 1, 4});
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.max, &f.x, &f.y, &wrong), RELUCL_ERROR_SHAPE,
                    "argmax");
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.max, &f.x, &f.y, &flat), RELUCL_ERROR_SHAPE,
                    "argmax");
    expect_rejected(&f, relucl_pool2d_backward(ctx, &f.max, &f.dy, &wrong_in, &f.dx),
                    RELUCL_ERROR_SHAPE, "argmax");
    free_fixture(&f);
}

static void test_pool_shape_mismatches_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_SHAPE;
    relucl_tensor x3 = support_view(f.io.in, 0, 3, (const size_t[]){6, 4, 5});
    relucl_tensor y_wrong = support_view(f.io.out, 1, 4, (const size_t[]){2, 3, 3, 2});
    relucl_tensor y_flat = support_view1(f.io.out, 1, 24);
    relucl_tensor dy_wrong = support_view(f.io.in, 120, 4, (const size_t[]){2, 2, 2, 3});
    relucl_tensor dx2 = support_view(f.io.out, 60, 2, (const size_t[]){6, 20});
    relucl_tensor past = support_view(f.io.in, 100, 4, X_DIMS);
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.max, &x3, &f.y, &f.argmax), bad, "x");
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.max, &past, &f.y, &f.argmax), bad, "x");
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.max, &f.x, &y_wrong, &f.argmax), bad, "y");
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.avg, &f.x, &y_flat, NULL), bad, "y");
    expect_rejected(&f, relucl_pool2d_backward(ctx, &f.avg, &dy_wrong, NULL, &f.dx), bad, "dy");
    expect_rejected(&f, relucl_pool2d_backward(ctx, &f.max, &f.dy, &f.argmax_in, &dx2), bad, "dx");
    /* Global pooling: y is exactly (N, C); (N, C, 1, 1) is not accepted. */
    relucl_tensor gy4 = support_view(f.io.out, 1, 4, (const size_t[]){2, 3, 1, 1});
    relucl_tensor gy_swapped = support_view(f.io.out, 1, 2, (const size_t[]){3, 2});
    relucl_tensor gdy_wrong = support_view(f.io.in, 120, 2, (const size_t[]){2, 4});
    relucl_tensor x2 = support_view(f.io.in, 0, 2, (const size_t[]){6, 20});
    expect_rejected(&f, relucl_global_avg_pool_forward(ctx, &f.x, &gy4), bad, "y");
    expect_rejected(&f, relucl_global_avg_pool_forward(ctx, &f.x, &gy_swapped), bad, "y");
    expect_rejected(&f, relucl_global_avg_pool_forward(ctx, &x2, &f.gy), bad, "x");
    expect_rejected(&f, relucl_global_avg_pool_backward(ctx, &gdy_wrong, &f.dx), bad, "dy");
    expect_rejected(&f, relucl_global_avg_pool_backward(ctx, &f.gdy, &dx2), bad, "dx");
    free_fixture(&f);
}

/* No output may share an element with anything; inputs are placed in the poisoned out buffer
 * so that a call that wrongly ran would show. */
static void test_pool_overlaps_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT;
    relucl_tensor x_out = support_view(f.io.out, 0, 4, X_DIMS);
    relucl_tensor y_on_x = support_view(f.io.out, 110, 4, Y_DIMS);
    relucl_tensor y_after = support_view(f.io.out, 130, 4, Y_DIMS);
    relucl_tensor a_on_x = support_view(f.io.out, 100, 4, Y_DIMS);
    relucl_tensor a_on_y = support_view(f.io.out, 20, 4, Y_DIMS);
    relucl_tensor dy_on_dx = support_view(f.io.out, 170, 4, Y_DIMS);
    relucl_tensor a_on_dx = support_view(f.io.out, 70, 4, Y_DIMS);
    relucl_tensor dy_out = support_view(f.io.out, 1, 4, Y_DIMS);
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.avg, &x_out, &y_on_x, NULL), bad, "y");
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.max, &x_out, &y_after, &a_on_x), bad,
                    "argmax");
    expect_rejected(&f, relucl_pool2d_forward(ctx, &f.max, &f.x, &f.y, &a_on_y), bad, "argmax");
    expect_rejected(&f, relucl_pool2d_backward(ctx, &f.avg, &dy_on_dx, NULL, &f.dx), bad, "dx");
    expect_rejected(&f, relucl_pool2d_backward(ctx, &f.max, &dy_out, &a_on_dx, &f.dx), bad,
                    "argmax");
    relucl_tensor gy_on_x = support_view(f.io.out, 119, 2, NC);
    relucl_tensor gdy_on_dx = support_view(f.io.out, 175, 2, NC);
    expect_rejected(&f, relucl_global_avg_pool_forward(ctx, &x_out, &gy_on_x), bad, "y");
    expect_rejected(&f, relucl_global_avg_pool_backward(ctx, &gdy_on_dx, &f.dx), bad, "dx");
    free_fixture(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_output_dims_follow_the_floor_formula),
        cmocka_unit_test(test_max_pool_matches_reference),
        cmocka_unit_test(test_avg_pool_matches_reference),
        cmocka_unit_test(test_max_pool_kernels_of_the_other_device_kind_match_reference),
        cmocka_unit_test(test_max_pool_2x2_special_values_in_every_lane),
        cmocka_unit_test(test_pool_asymmetric_geometry_matches_reference),
        cmocka_unit_test(test_max_pool_ties_pick_the_first_position),
        cmocka_unit_test(test_max_pool_nan_propagates),
        cmocka_unit_test(test_max_pool_negative_infinity_inputs),
        cmocka_unit_test(test_max_pool_backward_sums_overlapping_windows),
        cmocka_unit_test(test_avg_pool_backward_sums_overlapping_windows),
        cmocka_unit_test(test_pool_is_deterministic),
        cmocka_unit_test(test_global_avg_pool_matches_reference),
        cmocka_unit_test(test_global_avg_pool_big_plane_is_accurate_and_deterministic),
        cmocka_unit_test(test_pool_null_arguments_are_rejected),
        cmocka_unit_test(test_pool_bad_parameters_are_rejected),
        cmocka_unit_test(test_pool_impossible_geometry_is_rejected),
        cmocka_unit_test(test_pool_argmax_must_match_the_kind),
        cmocka_unit_test(test_pool_shape_mismatches_are_rejected),
        cmocka_unit_test(test_pool_overlaps_are_rejected),
    };
    return cmocka_run_group_tests_name("pool", tests, support_setup, support_teardown);
}
