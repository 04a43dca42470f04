/* Dense layers: forward against float64, backward against the analytic float64 gradient and
 * that gradient against finite differences, for every activation. */
#include "support.h"

#include "core/core.h" /* ctx->wide, to run both device kinds' kernels */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 7, IN = 13, OUT = 5 };

typedef struct layer_case {
    relucl_activation act;
    size_t slopes; /* PReLU: 1 or OUT */
} layer_case;

/* Host copies of the layer's data, and the float64 loss sum(y * r) it defines. */
typedef struct host_layer {
    float x[BATCH * IN], w[IN * OUT], b[OUT], slope[OUT], r[BATCH * OUT];
} host_layer;

static double slope_of(const host_layer *h, const layer_case *c, size_t col) {
    return c->slopes == 1 ? h->slope[0] : h->slope[col];
}

static double pre(const host_layer *h, size_t i, size_t j) {
    double z = h->b[j];
    for (size_t p = 0; p < IN; p++)
        z += (double)h->x[i * IN + p] * h->w[p * OUT + j];
    return z;
}

static double loss(const host_layer *h, const layer_case *c) {
    double sum = 0;
    for (size_t i = 0; i < BATCH; i++)
        for (size_t j = 0; j < OUT; j++)
            sum += support_act_forward(c->act, pre(h, i, j), slope_of(h, c, j)) * h->r[i * OUT + j];
    return sum;
}

typedef struct device_layer {
    cl_mem buf[10];
    relucl_tensor x, w, b, slope, z, y, dy, dx, dw, db, dslope;
} device_layer;

static void upload(device_layer *d, const host_layer *h, const layer_case *c) {
    size_t sizes[10] = {BATCH * IN,  IN * OUT,   OUT,      OUT,        BATCH * OUT, BATCH * OUT,
                        BATCH * OUT, BATCH * IN, IN * OUT, 2 * OUT + 2}; /* db, then dslope */
    for (int i = 0; i < 10; i++)
        d->buf[i] = support_buffer_poisoned(sizes[i] + 2); /* +2: poison past the end */
    size_t dx_[2] = {BATCH, IN}, dw_[2] = {IN, OUT}, dy_[2] = {BATCH, OUT}, db_[1] = {OUT};
    size_t ds_[1] = {c->slopes ? c->slopes : 1};
    d->x = support_view(d->buf[0], 1, 2, dx_);
    d->w = support_view(d->buf[1], 1, 2, dw_);
    d->b = support_view(d->buf[2], 1, 1, db_);
    d->slope = support_view(d->buf[3], 1, 1, ds_);
    d->z = support_view(d->buf[4], 1, 2, dy_);
    d->y = support_view(d->buf[5], 1, 2, dy_);
    d->dy = support_view(d->buf[6], 1, 2, dy_);
    d->dx = support_view(d->buf[7], 1, 2, dx_);
    d->dw = support_view(d->buf[8], 1, 2, dw_);
    d->db = support_view(d->buf[9], 1, 1, db_);
    d->dslope = support_view(d->buf[9], 1 + OUT + 1, 1, ds_); /* behind db in the same buffer */
    support_buffer_write(d->buf[0], 1, h->x, BATCH * IN);
    support_buffer_write(d->buf[1], 1, h->w, IN * OUT);
    support_buffer_write(d->buf[2], 1, h->b, OUT);
    support_buffer_write(d->buf[3], 1, h->slope, ds_[0]);
    support_buffer_write(d->buf[6], 1, h->r, BATCH * OUT);
}

static void release(device_layer *d) {
    for (int i = 0; i < 10; i++)
        support_buffer_release(d->buf[i]);
}

static void make_host(host_layer *h, uint64_t seed) {
    support_fill_uniform(h->x, BATCH * IN, seed, -1, 1);
    support_fill_uniform(h->w, IN * OUT, seed + 1, -0.6f, 0.6f);
    support_fill_uniform(h->b, OUT, seed + 2, -0.3f, 0.3f);
    support_fill_uniform(h->slope, OUT, seed + 3, -0.5f, 1.5f);
    support_fill_uniform(h->r, BATCH * OUT, seed + 4, -1, 1);
}

/* Runs forward and backward on the device (from z, or from y when use_y) and checks
 * everything against float64. torch: the weights (and dw) in torch.nn.Linear's (out, in)
 * layout, and dz in a scratch tensor of its own, so dy must come back untouched. */
static void check_layer(const layer_case *c, int use_y, uint64_t seed, int torch) {
    relucl_context *ctx = support_ctx();
    host_layer h;
    make_host(&h, seed);
    device_layer d;
    upload(&d, &h, c);
    cl_mem dz_buffer = support_buffer_poisoned(BATCH * OUT);
    relucl_tensor dz_scratch = support_view(dz_buffer, 0, 2, (const size_t[]){BATCH, OUT});
    if (torch) {
        float wt[OUT * IN];
        for (size_t p = 0; p < IN; p++)
            for (size_t j = 0; j < OUT; j++)
                wt[j * IN + p] = h.w[p * OUT + j];
        support_buffer_write(d.buf[1], 1, wt, IN * OUT);
        d.w = support_view(d.buf[1], 1, 2, (const size_t[]){OUT, IN});
        d.dw = support_view(d.buf[8], 1, 2, (const size_t[]){OUT, IN});
    }
    relucl_dense layer = {c->act, &d.w, &d.b, c->slopes ? &d.slope : NULL,
                          torch ? RELUCL_WEIGHTS_OUT_IN : RELUCL_WEIGHTS_IN_OUT};
    assert_int_equal(relucl_dense_forward(ctx, &layer, &d.x, use_y ? NULL : &d.z, &d.y), RELUCL_OK);
    relucl_dense_grads grads = {&d.dw, &d.db, c->slopes ? &d.dslope : NULL, 0,
                                torch ? &dz_scratch : NULL};
    assert_int_equal(
        relucl_dense_backward(ctx, &layer, &d.x, use_y ? NULL : &d.z, &d.y, &d.dy, &d.dx, &grads),
        RELUCL_OK);

    float y[BATCH * OUT], dx[BATCH * IN], dw[IN * OUT], db[OUT], ds[OUT], dy_after[BATCH * OUT];
    support_buffer_read(d.buf[5], 1, y, BATCH * OUT);
    support_buffer_read(d.buf[7], 1, dx, BATCH * IN);
    support_buffer_read(d.buf[8], 1, dw, IN * OUT);
    if (torch) { /* back to (in, out) for the comparison */
        float dwt[IN * OUT];
        memcpy(dwt, dw, sizeof dw);
        for (size_t p = 0; p < IN; p++)
            for (size_t j = 0; j < OUT; j++)
                dw[p * OUT + j] = dwt[j * IN + p];
    }
    support_buffer_read(d.buf[6], 1, dy_after, BATCH * OUT);
    float dz_got[BATCH * OUT];
    support_buffer_read(torch ? dz_buffer : d.buf[6], torch ? 0 : 1, dz_got, BATCH * OUT);
    support_buffer_read(d.buf[9], 1, db, OUT);
    double want_y[BATCH * OUT], dz[BATCH * OUT], want_dx[BATCH * IN] = {0}, want_dw[IN * OUT] = {0};
    double want_db[OUT] = {0}, want_ds[OUT] = {0};
    for (size_t i = 0; i < BATCH; i++)
        for (size_t j = 0; j < OUT; j++) {
            double z = pre(&h, i, j), s = slope_of(&h, c, j);
            want_y[i * OUT + j] = support_act_forward(c->act, z, s);
            dz[i * OUT + j] = h.r[i * OUT + j] * support_act_derivative(c->act, z, s);
            want_db[j] += dz[i * OUT + j];
            want_ds[c->slopes == 1 ? 0 : j] += z > 0 ? 0 : z * h.r[i * OUT + j];
        }
    for (size_t i = 0; i < BATCH; i++)
        for (size_t j = 0; j < OUT; j++)
            for (size_t p = 0; p < IN; p++) {
                want_dx[i * IN + p] += dz[i * OUT + j] * h.w[p * OUT + j];
                want_dw[p * OUT + j] += (double)h.x[i * IN + p] * dz[i * OUT + j];
            }
    assert_true(support_close(y, want_y, BATCH * OUT, 1e-5, 1e-6, NULL, "dense y"));
    assert_true(support_close(dz_got, dz, BATCH * OUT, 1e-5, 1e-6, NULL, "dense dz"));
    if (torch)
        assert_true(support_equal_bits(dy_after, h.r, BATCH * OUT, "dy left untouched"));
    assert_true(support_close(dx, want_dx, BATCH * IN, 1e-4, 1e-5, NULL, "dense dx"));
    assert_true(support_close(dw, want_dw, IN * OUT, 1e-4, 1e-5, NULL, "dense dw"));
    assert_true(support_close(db, want_db, OUT, 1e-4, 1e-5, NULL, "dense db"));
    if (c->slopes) {
        support_buffer_read(d.buf[9], 1 + OUT + 1, ds, c->slopes);
        assert_true(support_close(ds, want_ds, c->slopes, 1e-4, 1e-5, NULL, "dense dslope"));
    }
    float after[IN * OUT + 2];
    support_buffer_read(d.buf[8], 0, after, IN * OUT + 2);
    assert_true(support_is_poison(after, 0, 1, "before dw"));
    assert_true(support_is_poison(after, IN * OUT + 1, IN * OUT + 2, "after dw"));

    /* The float64 gradient itself against central differences of the float64 loss; entries
     * whose difference straddles a kink are skipped. */
    const double step = 1e-4;
    for (size_t p = 0; p < IN * OUT; p += 3) {
        float keep = h.w[p];
        h.w[p] = (float)(keep + step);
        double up = loss(&h, c);
        h.w[p] = (float)(keep - step);
        double down = loss(&h, c);
        double span = (double)h.w[p];
        h.w[p] = keep;
        double fd = (up - down) / ((double)(float)(keep + step) - span);
        int near_kink = 0;
        for (size_t i = 0; i < BATCH; i++) {
            double z = pre(&h, i, p % OUT);
            double kink = c->act.kind == RELUCL_CLIPPED_RELU ? fabs(z - c->act.alpha) : fabs(z);
            if (kink < 1e-2)
                near_kink = 1;
        }
        if (!near_kink && fabs(fd - want_dw[p]) > 1e-4 * (1 + fabs(fd)))
            fail_msg("finite difference dw[%zu]: %.8g vs analytic %.8g", p, fd, want_dw[p]);
    }
    release(&d);
    support_buffer_release(dz_buffer);
}

static const layer_case cases[] = {
    {{RELUCL_RELU, 0}, 0},     {{RELUCL_LEAKY_RELU, 0.1f}, 0},
    {{RELUCL_ELU, 1.0f}, 0},   {{RELUCL_CLIPPED_RELU, 0.5f}, 0},
    {{RELUCL_IDENTITY, 0}, 0}, {{RELUCL_PRELU, 0}, OUT},
    {{RELUCL_PRELU, 0}, 1},
};

static void test_dense_matches_reference_from_z(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_layer(&cases[i], 0, 100 + i, 0);
}

/* torch.nn.Linear's weight layout, with dz in its own scratch so dy is kept. */
static void test_dense_torch_layout_keeps_dy(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_layer(&cases[i], 0, 300 + i, 1);
    for (size_t i = 0; i < 5; i++)
        check_layer(&cases[i], 1, 400 + i, 1);
}

static void test_dense_matches_reference_from_y(void **state) {
    (void)state;
    for (size_t i = 0; i < 5; i++) /* PReLU needs z */
        check_layer(&cases[i], 1, 200 + i, 0);
}

static void test_dense_accumulates_gradients(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    host_layer h;
    make_host(&h, 7);
    layer_case c = {{RELUCL_RELU, 0}, 0};
    device_layer d;
    upload(&d, &h, &c);
    relucl_dense layer = {c.act, &d.w, &d.b, NULL, RELUCL_WEIGHTS_IN_OUT};
    float dw1[IN * OUT], db1[OUT], dw2[IN * OUT], db2[OUT];
    relucl_dense_grads grads = {&d.dw, &d.db, NULL, 0, NULL};
    assert_int_equal(relucl_dense_forward(ctx, &layer, &d.x, &d.z, &d.y), RELUCL_OK);
    assert_int_equal(relucl_dense_backward(ctx, &layer, &d.x, &d.z, NULL, &d.dy, NULL, &grads),
                     RELUCL_OK);
    support_buffer_read(d.buf[8], 1, dw1, IN * OUT);
    support_buffer_read(d.buf[9], 1, db1, OUT);
    support_buffer_write(d.buf[6], 1, h.r, BATCH * OUT); /* dy was used as scratch */
    grads.accumulate = 1;
    assert_int_equal(relucl_dense_backward(ctx, &layer, &d.x, &d.z, NULL, &d.dy, NULL, &grads),
                     RELUCL_OK);
    support_buffer_read(d.buf[8], 1, dw2, IN * OUT);
    support_buffer_read(d.buf[9], 1, db2, OUT);
    double twice_dw[IN * OUT], twice_db[OUT];
    for (size_t i = 0; i < IN * OUT; i++)
        twice_dw[i] = 2.0 * dw1[i];
    for (size_t i = 0; i < OUT; i++)
        twice_db[i] = 2.0 * db1[i];
    assert_true(support_close(dw2, twice_dw, IN * OUT, 1e-6, 1e-7, NULL, "accumulated dw"));
    assert_true(support_close(db2, twice_db, OUT, 1e-6, 1e-7, NULL, "accumulated db"));
    release(&d);
}

static void test_dense_rejects_bad_arguments(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    host_layer h;
    make_host(&h, 9);
    layer_case c = {{RELUCL_PRELU, 0}, OUT};
    device_layer d;
    upload(&d, &h, &c);
    relucl_dense layer = {c.act, &d.w, &d.b, NULL, RELUCL_WEIGHTS_IN_OUT};
    assert_int_equal(relucl_dense_forward(ctx, &layer, &d.x, NULL, &d.y),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("slope"));
    layer.slope = &d.slope;
    assert_int_equal(relucl_dense_forward(ctx, &layer, &d.w, NULL, &d.y), RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("x"));
    assert_int_equal(relucl_dense_forward(ctx, &layer, &d.x, NULL, &d.dx), RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("y"));
    assert_int_equal(relucl_dense_forward(ctx, NULL, &d.x, NULL, &d.y),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    relucl_dense_grads grads = {&d.dw, &d.db, &d.dslope, 0, NULL};
    assert_int_equal(relucl_dense_backward(ctx, &layer, &d.x, NULL, &d.y, &d.dy, &d.dx, &grads),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("z"));
    grads.dw = &d.dx;
    assert_int_equal(relucl_dense_backward(ctx, &layer, &d.x, &d.z, NULL, &d.dy, &d.dx, &grads),
                     RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("dw"));
    grads.dw = &d.dw;
    assert_int_equal(relucl_dense_backward(ctx, &layer, &d.x, &d.z, NULL, &d.dy, &d.dy, &grads),
                     RELUCL_ERROR_SHAPE);
    grads.dz = &d.dx; /* dz must be (batch, out) */
    assert_int_equal(relucl_dense_backward(ctx, &layer, &d.x, &d.z, NULL, &d.dy, NULL, &grads),
                     RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("dz"));
    grads.dz = &d.z; /* dz over z, which backward reads */
    assert_int_equal(relucl_dense_backward(ctx, &layer, &d.x, &d.z, NULL, &d.dy, NULL, &grads),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("dz"));
    grads.dz = NULL;
    layer.layout = (relucl_weight_layout)2;
    assert_int_equal(relucl_dense_forward(ctx, &layer, &d.x, NULL, &d.y),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("layout"));
    layer.layout = RELUCL_WEIGHTS_OUT_IN; /* w is (in, out) = (13, 5): x (7, 13) cannot use it */
    assert_int_equal(relucl_dense_forward(ctx, &layer, &d.x, NULL, &d.y), RELUCL_ERROR_SHAPE);
    float y[BATCH * OUT + 2], dw[IN * OUT + 2];
    support_buffer_read(d.buf[5], 0, y, BATCH * OUT + 2);
    support_buffer_read(d.buf[8], 0, dw, IN * OUT + 2);
    assert_true(support_is_poison(y, 0, BATCH * OUT + 2, "y after rejected calls"));
    assert_true(support_is_poison(dw, 0, IN * OUT + 2, "dw after rejected calls"));
    release(&d);
}

/* dz, db and dslope from one backward on the kernel of one device kind (wide: 16 columns a
 * work-item, CPU devices) for a batch x out layer; dw and dx are not asked for. With specials
 * the inputs hold NaN, infinities and signed zeros, which leave most column sums NaN; without,
 * every sum is a number. */
typedef struct column_grads {
    float *dz, *db, *ds;
} column_grads;

static column_grads columns_backward(int wide, const layer_case *c, int from_z, int accumulate,
                                     size_t batch, size_t out, int specials, uint64_t seed) {
    relucl_context *ctx = support_ctx();
    int kept = ctx->wide;
    size_t n = batch * out, slopes = c->slopes == 1 ? 1 : c->slopes ? out : 0;
    size_t ns = slopes ? slopes : 1; /* slope and dslope views hold at least one float */
    float *s = malloc((n + 1) * sizeof *s), *dy = malloc((n + 1) * sizeof *dy);
    float x[3 * 131], w[3 * 64], slope[64], old[2 * 64];
    support_fill_uniform(s, n + 1, seed, -2, 2);
    support_fill_uniform(dy, n + 1, seed + 1, -1, 1);
    if (specials) {
        support_fill_special(s, n + 1, seed, -2, 2, c->act.kind == RELUCL_CLIPPED_RELU ? 0.5f : 0);
        support_fill_special(dy, n + 1, seed + 1, -1, 1, 0);
    }
    support_fill_uniform(x, 3 * 131, seed + 2, -1, 1);
    support_fill_uniform(w, 3 * 64, seed + 3, -1, 1);
    support_fill_uniform(slope, 64, seed + 4, -0.5f, 1.5f);
    support_fill_special(old, 2 * 64, seed + 5, -1, 1, 0);
    cl_mem bx = support_buffer_at(x, 3 * batch, 1, 1), bw = support_buffer_at(w, 3 * out, 1, 1);
    cl_mem bs = support_buffer_at(s, n, 1, 1), bdy = support_buffer_at(dy, n, 1, 1);
    cl_mem bslope = support_buffer_at(slope, ns, 1, 1);
    cl_mem bdz = support_buffer_poisoned(n + 2);
    cl_mem bdb = support_buffer_at(old, out, 1, 1), bds = support_buffer_at(old + 64, ns, 1, 1);
    if (!accumulate) { /* poison, not old gradients, where nothing may be read */
        support_buffer_release(bdb);
        support_buffer_release(bds);
        bdb = support_buffer_poisoned(out + 2);
        bds = support_buffer_poisoned(ns + 2);
    }
    relucl_tensor tx = support_view(bx, 1, 2, (const size_t[]){batch, 3});
    relucl_tensor tw = support_view(bw, 1, 2, (const size_t[]){3, out});
    relucl_tensor ts = support_view(bs, 1, 2, (const size_t[]){batch, out});
    relucl_tensor tdy = support_view(bdy, 1, 2, (const size_t[]){batch, out});
    relucl_tensor tdz = support_view(bdz, 1, 2, (const size_t[]){batch, out});
    relucl_tensor tslope = support_view1(bslope, 1, ns);
    relucl_tensor tdb = support_view1(bdb, 1, out), tds = support_view1(bds, 1, ns);
    relucl_dense layer = {c->act, &tw, NULL, slopes ? &tslope : NULL, RELUCL_WEIGHTS_IN_OUT};
    relucl_dense_grads grads = {NULL, &tdb, slopes ? &tds : NULL, accumulate, &tdz};
    ctx->wide = wide;
    relucl_status status = relucl_dense_backward(ctx, &layer, &tx, from_z ? &ts : NULL,
                                                 from_z ? NULL : &ts, &tdy, NULL, &grads);
    ctx->wide = kept;
    assert_int_equal(status, RELUCL_OK);
    column_grads g = {malloc((n + 1) * sizeof(float)), malloc(out * sizeof(float)),
                      malloc(out * sizeof(float))};
    support_read_checked(bdz, 1, n, n + 2, g.dz, "dense dz");
    support_read_checked(bdb, 1, out, out + 2, g.db, "dense db");
    if (slopes)
        support_read_checked(bds, 1, slopes, ns + 2, g.ds, "dense dslope");
    cl_mem all[] = {bx, bw, bs, bdy, bslope, bdz, bdb, bds};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        support_buffer_release(all[i]);
    free(s);
    free(dy);
    return g;
}

/* CPU devices (ctx->wide) take 16 columns a work-item when out is a multiple of 16, other
 * devices one: the same bits of dz, db and dslope for every activation, from z and from y,
 * with and without accumulation, on plain inputs and on inputs holding specials. */
static void test_dense_backward_kernels_of_both_device_kinds_agree(void **state) {
    (void)state;
    static const size_t shapes[][3] = {{37, 48, 0}, {1, 16, 1}, {131, 64, 1}}; /* 3rd: specials */
    const layer_case wide_cases[] = {
        {{RELUCL_RELU, 0}, 0},     {{RELUCL_LEAKY_RELU, 0.1f}, 0},
        {{RELUCL_ELU, 1.0f}, 0},   {{RELUCL_CLIPPED_RELU, 0.5f}, 0},
        {{RELUCL_IDENTITY, 0}, 0}, {{RELUCL_PRELU, 0}, 2}, /* 2: one slope per column */
        {{RELUCL_PRELU, 0}, 1},
    };
    for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++)
        for (size_t i = 0; i < sizeof wide_cases / sizeof *wide_cases; i++)
            for (int from_z = 0; from_z < 2; from_z++)
                for (int accumulate = 0; accumulate < 2; accumulate++) {
                    const layer_case *c = &wide_cases[i];
                    if (!from_z && c->act.kind == RELUCL_PRELU)
                        continue; /* PReLU needs z */
                    size_t batch = shapes[sh][0], out = shapes[sh][1];
                    uint64_t seed =
                        1000 + 100 * sh + 10 * i + 2 * (uint64_t)from_z + (uint64_t)accumulate;
                    column_grads one = columns_backward(0, c, from_z, accumulate, batch, out,
                                                        (int)shapes[sh][2], seed);
                    column_grads wide = columns_backward(1, c, from_z, accumulate, batch, out,
                                                         (int)shapes[sh][2], seed);
                    char label[120];
                    snprintf(label, sizeof label, "%zu x %zu, case %zu, from_z %d, accumulate %d",
                             batch, out, i, from_z, accumulate);
                    assert_true(support_equal_bits(wide.dz, one.dz, batch * out, label));
                    assert_true(support_equal_bits(wide.db, one.db, out, label));
                    if (c->slopes)
                        assert_true(
                            support_equal_bits(wide.ds, one.ds, c->slopes == 1 ? 1 : out, label));
                    column_grads both[2] = {one, wide};
                    for (int k = 0; k < 2; k++) {
                        free(both[k].dz);
                        free(both[k].db);
                        free(both[k].ds);
                    }
                }
}

/* A layer wide enough (401 inputs, 173 outputs: a 271 KiB w) that CPU devices' GEMM copies
 * w into packed panels first (or, transposed, into b^T panels), with the bias and activation
 * in the GEMM's epilogue since z is not kept: y against float64 for both weight layouts. */
static void test_dense_forward_of_a_wide_layer(void **state) {
    (void)state;
    enum { B = 19, I = 401, O = 173 };
    const relucl_activation acts[] = {{RELUCL_RELU, 0.0f},
                                      {RELUCL_LEAKY_RELU, 0.1f},
                                      {RELUCL_ELU, 1.0f},
                                      {RELUCL_CLIPPED_RELU, 0.5f},
                                      {RELUCL_IDENTITY, 0.0f}};
    relucl_context *ctx = support_ctx();
    float *x = malloc(B * I * sizeof *x), *w = malloc(I * O * sizeof *w), b[O];
    float *wt = malloc(I * O * sizeof *wt), *y = malloc((B * O + 2) * sizeof *y);
    double *want = malloc(B * O * sizeof *want), *scale = malloc(B * O * sizeof *scale);
    support_fill_uniform(x, B * I, 71, -1, 1);
    support_fill_uniform(w, I * O, 72, -1, 1);
    support_fill_uniform(b, O, 73, -1, 1);
    for (size_t p = 0; p < I; p++)
        for (size_t j = 0; j < O; j++)
            wt[j * I + p] = w[p * O + j];
    cl_mem bx = support_buffer_from(x, B * I), bw = support_buffer_from(w, I * O),
           bwt = support_buffer_from(wt, I * O), bb = support_buffer_from(b, O);
    size_t dx[2] = {B, I}, dw[2] = {I, O}, dwt[2] = {O, I}, dy[2] = {B, O}, db[1] = {O};
    relucl_tensor tx = support_view(bx, 0, 2, dx), tw = support_view(bw, 0, 2, dw),
                  twt = support_view(bwt, 0, 2, dwt), tb = support_view(bb, 0, 1, db);
    double *z = malloc(B * O * sizeof *z); /* x w + b, the same for both layouts */
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < O; j++) {
            double sum = b[j], mag = fabs((double)b[j]);
            for (size_t p = 0; p < I; p++) {
                sum += (double)x[i * I + p] * w[p * O + j];
                mag += fabs((double)x[i * I + p] * w[p * O + j]);
            }
            z[i * O + j] = sum;
            scale[i * O + j] = mag;
        }
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++)
        for (int layout = 0; layout < 2; layout++) {
            for (size_t i = 0; i < B * O; i++)
                want[i] = support_act_forward(acts[a], z[i], 0.0);
            cl_mem by = support_buffer_poisoned(B * O + 2);
            relucl_tensor ty = support_view(by, 1, 2, dy);
            relucl_dense layer = {acts[a], layout ? &twt : &tw, &tb, NULL,
                                  layout ? RELUCL_WEIGHTS_OUT_IN : RELUCL_WEIGHTS_IN_OUT};
            assert_int_equal(relucl_dense_forward(ctx, &layer, &tx, NULL, &ty), RELUCL_OK);
            support_read_checked(by, 1, B * O, B * O + 2, y, "y");
            char label[80];
            snprintf(label, sizeof label, "wide layer, activation %d, layout %d",
                     (int)acts[a].kind, layout);
            assert_true(support_close(y, want, B * O, 1e-5 * sqrt((double)I), 1e-30, scale, label));
            support_buffer_release(by);
        }
    cl_mem all[] = {bx, bw, bwt, bb};
    for (int i = 0; i < 4; i++)
        support_buffer_release(all[i]);
    free(x), free(w), free(wt), free(y), free(want), free(scale), free(z);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_matches_reference_from_z),
        cmocka_unit_test(test_dense_torch_layout_keeps_dy),
        cmocka_unit_test(test_dense_matches_reference_from_y),
        cmocka_unit_test(test_dense_accumulates_gradients),
        cmocka_unit_test(test_dense_backward_kernels_of_both_device_kinds_agree),
        cmocka_unit_test(test_dense_forward_of_a_wide_layer),
        cmocka_unit_test(test_dense_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
