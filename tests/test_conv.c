/* Convolution: both algorithms against float64 references over a grid of geometries and
 * against each other, fused bias and activations, accumulation, chunking under a workspace
 * limit, the float64 gradients against finite differences, and every rejected argument. */
#include "support.h"

#include "blas/blas.h" /* relucl__gemm_own_wanted: which GEMM AUTO counts on */
#include "core/core.h" /* ctx->workspace, to see it allocated, reused and grown */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Geometries ------------------------------------------------------------------------- */

typedef struct geo_case {
    size_t n, c, h, w, k, r, s;
    relucl_conv2d conv;
} geo_case;

#define CONV(sh, sw, ph, pw, dh, dw, g) {{sh, sw}, {ph, pw}, {dh, dw}, g}

static const geo_case grid[] = {
    {1, 3, 7, 9, 4, 1, 1, CONV(1, 1, 0, 0, 1, 1, 1)},    /* 1x1 */
    {3, 4, 7, 9, 6, 1, 1, CONV(1, 1, 0, 0, 1, 1, 2)},    /* the same, two groups */
    {3, 4, 7, 9, 2, 1, 1, CONV(2, 2, 1, 1, 1, 1, 1)},    /* 1x1, stride 2, padding 1 */
    {3, 3, 13, 11, 5, 3, 3, CONV(1, 1, 1, 1, 1, 1, 1)},  /* 3x3 "same" */
    {1, 4, 13, 11, 6, 3, 3, CONV(2, 2, 0, 0, 1, 1, 2)},  /* 3x3, stride 2, two groups */
    {1, 2, 7, 9, 3, 5, 5, CONV(1, 1, 2, 2, 1, 1, 1)},    /* 5x5, padding 2 */
    {3, 6, 13, 11, 6, 5, 5, CONV(2, 2, 2, 1, 1, 1, 3)},  /* 5x5, stride 2, three groups */
    {3, 4, 13, 11, 4, 3, 3, CONV(1, 1, 2, 2, 2, 2, 1)},  /* 3x3, dilation 2 */
    {3, 5, 7, 9, 5, 3, 3, CONV(1, 1, 1, 1, 1, 1, 5)},    /* depthwise */
    {1, 4, 13, 11, 8, 3, 3, CONV(2, 2, 1, 1, 1, 1, 4)},  /* depthwise, 2 filters each */
    {3, 3, 13, 11, 4, 3, 5, CONV(2, 1, 0, 2, 2, 1, 1)},  /* every parameter per axis */
    {1, 8, 7, 9, 32, 3, 3, CONV(1, 1, 1, 0, 1, 2, 2)},   /* AUTO's GEMM: K/g 16, (C/g) R S 36 */
    {2, 1, 9, 7, 16, 3, 3, CONV(1, 1, 1, 1, 1, 1, 1)},   /* a first layer: C R S 9, 16 filters */
    {2, 3, 6, 29, 16, 3, 3, CONV(1, 1, 1, 1, 1, 1, 1)},  /* rows of 29: 3 steps of 8 and 5 */
};
enum { GRID = sizeof grid / sizeof *grid };

static size_t out_extent(size_t in, size_t taps, size_t stride, size_t pad, size_t dil) {
    return (in + 2 * pad - dil * (taps - 1) - 1) / stride + 1;
}

/* ---- float64 references, written as scatters (the kernels gather) ----------------------- */

typedef struct dims {
    size_t n, c, h, w, k, r, s, p, q, cg, kg;
    size_t nx, nw, ny;
} dims;

static dims dims_of(const geo_case *g) {
    dims d = {g->n, g->c, g->h, g->w, g->k, g->r, g->s, 0, 0, 0, 0, 0, 0, 0};
    const relucl_conv2d *cv = &g->conv;
    d.p = out_extent(g->h, g->r, cv->stride[0], cv->pad[0], cv->dilation[0]);
    d.q = out_extent(g->w, g->s, cv->stride[1], cv->pad[1], cv->dilation[1]);
    d.cg = g->c / cv->groups;
    d.kg = g->k / cv->groups;
    d.nx = d.n * d.c * d.h * d.w;
    d.nw = d.k * d.cg * d.r * d.s;
    d.ny = d.n * d.k * d.p * d.q;
    return d;
}

/* Calls visit(state, y index, x index, w index) for every product x * w in the convolution. */
typedef void (*visit_fn)(void *state, size_t yi, size_t xi, size_t wi);

static void for_each_product(const geo_case *g, visit_fn visit, void *state) {
    dims d = dims_of(g);
    const relucl_conv2d *cv = &g->conv;
    for (size_t n = 0; n < d.n; n++)
        for (size_t k = 0; k < d.k; k++)
            for (size_t p = 0; p < d.p; p++)
                for (size_t q = 0; q < d.q; q++)
                    for (size_t cl = 0; cl < d.cg; cl++)
                        for (size_t r = 0; r < d.r; r++)
                            for (size_t s = 0; s < d.s; s++) {
                                long h = (long)(p * cv->stride[0] + r * cv->dilation[0]) -
                                         (long)cv->pad[0];
                                long w = (long)(q * cv->stride[1] + s * cv->dilation[1]) -
                                         (long)cv->pad[1];
                                if (h < 0 || w < 0 || h >= (long)d.h || w >= (long)d.w)
                                    continue;
                                size_t c = (k / d.kg) * d.cg + cl;
                                size_t yi = ((n * d.k + k) * d.p + p) * d.q + q;
                                size_t xi = ((n * d.c + c) * d.h + (size_t)h) * d.w + (size_t)w;
                                size_t wi = ((k * d.cg + cl) * d.r + r) * d.s + s;
                                visit(state, yi, xi, wi);
                            }
}

/* The three results and their magnitudes (sums of |term|, the scale of rounding error). */
typedef struct reference {
    const double *x, *w, *dy; /* inputs */
    double *y, *y_mag, *dx, *dx_mag, *dw, *dw_mag;
} reference;

static void visit_all(void *state, size_t yi, size_t xi, size_t wi) {
    reference *f = state;
    f->y[yi] += f->x[xi] * f->w[wi];
    f->y_mag[yi] += fabs(f->x[xi] * f->w[wi]);
    f->dx[xi] += f->dy[yi] * f->w[wi];
    f->dx_mag[xi] += fabs(f->dy[yi] * f->w[wi]);
    f->dw[wi] += f->dy[yi] * f->x[xi];
    f->dw_mag[wi] += fabs(f->dy[yi] * f->x[xi]);
}

typedef struct loss_state {
    const double *x, *w, *r;
    double sum;
} loss_state;

static void visit_loss(void *state, size_t yi, size_t xi, size_t wi) {
    loss_state *l = state;
    l->sum += l->x[xi] * l->w[wi] * l->r[yi];
}

/* sum(conv(x, w) * r), the loss whose gradients backward computes for dy = r. */
static double loss_of(const geo_case *g, const double *x, const double *w, const double *r) {
    loss_state l = {x, w, r, 0.0};
    for_each_product(g, visit_loss, &l);
    return l.sum;
}

/* ---- A problem: host data, references, device buffers ----------------------------------- */

typedef struct problem {
    geo_case g;
    dims d;
    float *x, *w, *b, *dy;
    double *xd, *wd, *dyd;
    double *y, *y_mag, *dx, *dx_mag, *dw, *dw_mag, *db, *db_mag; /* y without bias */
} problem;

static double *dalloc(size_t n) {
    double *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

static float *falloc(size_t n) {
    float *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

static double *widen(const float *a, size_t n) {
    double *p = dalloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = a[i];
    return p;
}

static problem make_problem(const geo_case *g, uint64_t seed) {
    problem pr;
    memset(&pr, 0, sizeof pr);
    pr.g = *g;
    pr.d = dims_of(g);
    dims d = pr.d;
    pr.x = falloc(d.nx);
    pr.w = falloc(d.nw);
    pr.b = falloc(d.k);
    pr.dy = falloc(d.ny);
    support_fill_uniform(pr.x, d.nx, seed, -1, 1);
    support_fill_uniform(pr.w, d.nw, seed + 1, -0.5f, 0.5f);
    support_fill_uniform(pr.b, d.k, seed + 2, -0.5f, 0.5f);
    support_fill_uniform(pr.dy, d.ny, seed + 3, -1, 1);
    pr.xd = widen(pr.x, d.nx);
    pr.wd = widen(pr.w, d.nw);
    pr.dyd = widen(pr.dy, d.ny);
    reference f = {pr.xd, pr.wd, pr.dyd, dalloc(d.ny), dalloc(d.ny), dalloc(d.nx),
                   dalloc(d.nx), dalloc(d.nw), dalloc(d.nw)};
    for_each_product(g, visit_all, &f);
    pr.y = f.y;
    pr.y_mag = f.y_mag;
    pr.dx = f.dx;
    pr.dx_mag = f.dx_mag;
    pr.dw = f.dw;
    pr.dw_mag = f.dw_mag;
    pr.db = dalloc(d.k);
    pr.db_mag = dalloc(d.k);
    for (size_t i = 0; i < d.ny; i++) {
        size_t k = i / (d.p * d.q) % d.k;
        pr.db[k] += pr.dyd[i];
        pr.db_mag[k] += fabs(pr.dyd[i]);
    }
    return pr;
}

static void free_problem(problem *pr) {
    void *all[] = {pr->x,  pr->w,     pr->b,  pr->dy,     pr->xd, pr->wd,     pr->dyd,
                   pr->y,  pr->y_mag, pr->dx, pr->dx_mag, pr->dw, pr->dw_mag, pr->db,
                   pr->db_mag};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]);
}

/* Every view sits a few elements into its buffer, with poison on both sides. */
enum { AT = 3, TAIL = 5 };

typedef struct device {
    cl_mem x, w, b, dy, y, dx, dw, db;
    relucl_tensor tx, tw, tb, tdy, ty, tdx, tdw, tdb;
} device;

static device upload(const problem *pr) {
    const dims *d = &pr->d;
    device v;
    size_t xd[4] = {d->n, d->c, d->h, d->w}, wd[4] = {d->k, d->cg, d->r, d->s},
           yd[4] = {d->n, d->k, d->p, d->q};
    v.x = support_buffer_at(pr->x, d->nx, AT, TAIL);
    v.w = support_buffer_at(pr->w, d->nw, AT, TAIL);
    v.b = support_buffer_at(pr->b, d->k, AT, TAIL);
    v.dy = support_buffer_at(pr->dy, d->ny, AT, TAIL);
    v.y = support_buffer_poisoned(AT + d->ny + TAIL);
    v.dx = support_buffer_poisoned(AT + d->nx + TAIL);
    v.dw = support_buffer_poisoned(AT + d->nw + TAIL);
    v.db = support_buffer_poisoned(AT + d->k + TAIL);
    v.tx = support_view(v.x, AT, 4, xd);
    v.tw = support_view(v.w, AT, 4, wd);
    v.tb = support_view1(v.b, AT, d->k);
    v.tdy = support_view(v.dy, AT, 4, yd);
    v.ty = support_view(v.y, AT, 4, yd);
    v.tdx = support_view(v.dx, AT, 4, xd);
    v.tdw = support_view(v.dw, AT, 4, wd);
    v.tdb = support_view1(v.db, AT, d->k);
    return v;
}

static void release(device *v) {
    cl_mem all[] = {v->x, v->w, v->b, v->dy, v->y, v->dx, v->dw, v->db};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        support_buffer_release(all[i]);
}

/* What one algorithm computed, read back with the poison around each view checked. */
typedef struct results {
    float *y, *dx, *dw, *db;
} results;

static void read_results(const problem *pr, const device *v, results *out) {
    const dims *d = &pr->d;
    out->y = falloc(d->ny);
    out->dx = falloc(d->nx);
    out->dw = falloc(d->nw);
    out->db = falloc(d->k);
    support_read_checked(v->y, AT, d->ny, AT + d->ny + TAIL, out->y, "y");
    support_read_checked(v->dx, AT, d->nx, AT + d->nx + TAIL, out->dx, "dx");
    support_read_checked(v->dw, AT, d->nw, AT + d->nw + TAIL, out->dw, "dw");
    support_read_checked(v->db, AT, d->k, AT + d->k + TAIL, out->db, "db");
}

static void free_results(results *r) {
    free(r->y);
    free(r->dx);
    free(r->dw);
    free(r->db);
}

static const relucl_activation identity = {RELUCL_IDENTITY, 0.0f};

/* Forward (with or without bias), backward data and backward filter with db, on the device. */
static results run(const problem *pr, relucl_conv_algo algo, relucl_activation act,
                   int with_bias) {
    relucl_context *ctx = support_ctx();
    device v = upload(pr);
    const relucl_conv2d *cv = &pr->g.conv;
    assert_int_equal(relucl_conv2d_forward(ctx, cv, algo, act, &v.tx, &v.tw,
                                           with_bias ? &v.tb : NULL, &v.ty),
                     RELUCL_OK);
    assert_int_equal(relucl_conv2d_backward_data(ctx, cv, algo, &v.tdy, &v.tw, &v.tdx),
                     RELUCL_OK);
    assert_int_equal(relucl_conv2d_backward_filter(ctx, cv, algo, &v.tx, &v.tdy, &v.tdw, &v.tdb,
                                                   0),
                     RELUCL_OK);
    results out;
    read_results(pr, &v, &out);
    release(&v);
    return out;
}

static const char *algo_name(relucl_conv_algo algo) {
    return algo == RELUCL_CONV_NAIVE ? "NAIVE" : algo == RELUCL_CONV_GEMM ? "GEMM" : "AUTO";
}

/* Relative to each output's sum of |terms|: float rounding grows with that, not with the
 * (possibly cancelled) result. */
#define REL 1e-5
#define FLOOR 1e-6

static void check_reference(const problem *pr, const results *got, int with_bias,
                            const char *label) {
    const dims *d = &pr->d;
    double *y = dalloc(d->ny), *y_mag = dalloc(d->ny);
    for (size_t i = 0; i < d->ny; i++) {
        double b = with_bias ? pr->b[i / (d->p * d->q) % d->k] : 0.0;
        y[i] = pr->y[i] + b;
        y_mag[i] = pr->y_mag[i] + fabs(b);
    }
    char what[200];
    snprintf(what, sizeof what, "%s y", label);
    assert_true(support_close(got->y, y, d->ny, REL, FLOOR, y_mag, what));
    snprintf(what, sizeof what, "%s dx", label);
    assert_true(support_close(got->dx, pr->dx, d->nx, REL, FLOOR, pr->dx_mag, what));
    snprintf(what, sizeof what, "%s dw", label);
    assert_true(support_close(got->dw, pr->dw, d->nw, REL, FLOOR, pr->dw_mag, what));
    snprintf(what, sizeof what, "%s db", label);
    assert_true(support_close(got->db, pr->db, d->k, REL, FLOOR, pr->db_mag, what));
    free(y);
    free(y_mag);
}

static void label_case(char *out, size_t size, size_t i, relucl_conv_algo algo) {
    const geo_case *g = &grid[i];
    snprintf(out, size, "case %zu (%s: N%zu C%zu %zux%zu K%zu %zux%zu g%zu)", i, algo_name(algo),
             g->n, g->c, g->h, g->w, g->k, g->r, g->s, g->conv.groups);
}

static void check_grid(relucl_conv_algo algo) {
    for (size_t i = 0; i < GRID; i++) {
        problem pr = make_problem(&grid[i], 100 + 10 * i);
        results got = run(&pr, algo, identity, (int)(i % 2));
        char label[160];
        label_case(label, sizeof label, i, algo);
        check_reference(&pr, &got, (int)(i % 2), label);
        free_results(&got);
        free_problem(&pr);
    }
}

static void test_conv_naive_matches_reference(void **state) {
    (void)state;
    check_grid(RELUCL_CONV_NAIVE);
}

static void test_conv_gemm_matches_reference(void **state) {
    (void)state;
    check_grid(RELUCL_CONV_GEMM);
}

/* CPU devices (ctx->wide) write im2col's columns a plane per work-item and sum dx's taps a
 * row at a time at stride 1, other devices one element per work-item: both kinds against the
 * reference, and the same bits of y, dx and dw from the same GEMMs. */
static void test_conv_gemm_kernels_of_both_device_kinds_agree(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    int wide = ctx->wide;
    ctx->wide = !wide;
    check_grid(RELUCL_CONV_GEMM);
    for (size_t i = 0; i < GRID; i++) {
        problem pr = make_problem(&grid[i], 700 + 10 * i);
        ctx->wide = 0;
        results narrow = run(&pr, RELUCL_CONV_GEMM, identity, 1);
        ctx->wide = 1;
        results rows = run(&pr, RELUCL_CONV_GEMM, identity, 1);
        char label[160];
        label_case(label, sizeof label, i, RELUCL_CONV_GEMM);
        assert_true(support_equal_bits(rows.y, narrow.y, pr.d.ny, label));
        assert_true(support_equal_bits(rows.dx, narrow.dx, pr.d.nx, label));
        assert_true(support_equal_bits(rows.dw, narrow.dw, pr.d.nw, label));
        free_results(&narrow);
        free_results(&rows);
        free_problem(&pr);
    }
    ctx->wide = wide;
}

/* Filter gradients whose transpose has enough register blocks (C R S / 6 x K / 16 >= 64) run
 * on CPU devices as dw^T = col x dy^T per panel of images: several panels and a short last
 * one (a workspace limit of two images' scratch makes the panels 2, 2, 1), one panel, stride
 * 2 without padding, positions and filters that end in part of a transpose tile (5 x 5 by
 * 40), and a dy^T (65 x 1024, 1x1 filters) large enough that the GEMM packs it into
 * panels while dw^T sums in a buffer of its own (cheap enough for Oclgrind);
 * with and without accumulation, on both device kinds' kernels. */
static void test_conv_filter_gradient_by_panels_matches_reference(void **state) {
    (void)state;
    static const geo_case cases[] = {
        {5, 32, 6, 7, 32, 3, 3, CONV(1, 1, 1, 1, 1, 1, 1)},
        {2, 32, 9, 11, 64, 3, 3, CONV(1, 1, 1, 1, 1, 1, 1)},
        {3, 16, 13, 17, 80, 3, 3, CONV(2, 2, 0, 0, 1, 1, 1)},
        {2, 32, 5, 5, 40, 3, 3, CONV(1, 1, 1, 1, 1, 1, 1)}, /* 25 positions, 40 filters */
        {1, 16, 5, 13, 1024, 1, 1, CONV(1, 1, 0, 0, 1, 1, 1)}, /* dy^T past 256 KiB: packed */
    };
    relucl_context *ctx = support_ctx();
    int wide = ctx->wide;
    size_t limit = ctx->workspace_limit;
    for (int kind = 0; kind < 2; kind++) {
        ctx->wide = kind;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            for (int accumulate = 0; accumulate < 2; accumulate++) {
                const geo_case *gc = &cases[i];
                size_t image = (gc->c * gc->r * gc->s + gc->k) * gc->h * gc->w * sizeof(float);
                assert_int_equal(
                    relucl_context_set_workspace_limit(ctx, i == 0 ? 2 * image : limit),
                    RELUCL_OK);
                problem pr = make_problem(gc, 900 + 10 * i);
                results got = run(&pr, RELUCL_CONV_GEMM, identity, accumulate);
                char label[160];
                snprintf(label, sizeof label, "panels case %zu, %s kernels, accumulate %d", i,
                         kind ? "CPU" : "other", accumulate);
                check_reference(&pr, &got, accumulate, label);
                free_results(&got);
                free_problem(&pr);
            }
    }
    assert_int_equal(relucl_context_set_workspace_limit(ctx, limit), RELUCL_OK);
    ctx->wide = wide;
}

/* The two algorithms sum in different orders: equal within rounding, never bit-identical by
 * promise. */
static void test_conv_gemm_matches_naive(void **state) {
    (void)state;
    for (size_t i = 0; i < GRID; i++) {
        problem pr = make_problem(&grid[i], 300 + 10 * i);
        results naive = run(&pr, RELUCL_CONV_NAIVE, identity, 1);
        results gemm = run(&pr, RELUCL_CONV_GEMM, identity, 1);
        const dims *d = &pr.d;
        double *y = widen(naive.y, d->ny), *dx = widen(naive.dx, d->nx),
               *dw = widen(naive.dw, d->nw), *db = widen(naive.db, d->k);
        char label[160];
        label_case(label, sizeof label, i, RELUCL_CONV_GEMM);
        assert_true(support_close(gemm.y, y, d->ny, 2 * REL, FLOOR, pr.y_mag, label));
        assert_true(support_close(gemm.dx, dx, d->nx, 2 * REL, FLOOR, pr.dx_mag, label));
        assert_true(support_close(gemm.dw, dw, d->nw, 2 * REL, FLOOR, pr.dw_mag, label));
        assert_true(support_equal_bits(gemm.db, naive.db, d->k, label)); /* the same kernel */
        free(y);
        free(dx);
        free(dw);
        free(db);
        free_results(&naive);
        free_results(&gemm);
        free_problem(&pr);
    }
}

/* ---- Fused bias and activation ---------------------------------------------------------- */

static void test_conv_fuses_bias_and_activation(void **state) {
    (void)state;
    const relucl_activation acts[] = {{RELUCL_RELU, 0.0f},
                                      {RELUCL_LEAKY_RELU, 0.1f},
                                      {RELUCL_LEAKY_RELU, -0.5f},
                                      {RELUCL_ELU, 1.0f},
                                      {RELUCL_CLIPPED_RELU, 0.5f},
                                      {RELUCL_IDENTITY, 0.0f}};
    const relucl_conv_algo algos[2] = {RELUCL_CONV_NAIVE, RELUCL_CONV_GEMM};
    problem pr = make_problem(&grid[3], 77);
    const dims *d = &pr.d;
    double *want = dalloc(d->ny), *mag = dalloc(d->ny);
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++) {
        for (size_t i = 0; i < d->ny; i++) {
            double b = pr.b[i / (d->p * d->q) % d->k];
            want[i] = support_act_forward(acts[a], pr.y[i] + b, 0.0);
            mag[i] = pr.y_mag[i] + fabs(b);
        }
        for (int j = 0; j < 2; j++) {
            relucl_context *ctx = support_ctx();
            device v = upload(&pr);
            assert_int_equal(relucl_conv2d_forward(ctx, &pr.g.conv, algos[j], acts[a], &v.tx,
                                                   &v.tw, &v.tb, &v.ty),
                             RELUCL_OK);
            float *y = falloc(d->ny);
            support_read_checked(v.y, AT, d->ny, AT + d->ny + TAIL, y, "y");
            char label[80];
            snprintf(label, sizeof label, "%s, activation %d", algo_name(algos[j]),
                     (int)acts[a].kind);
            assert_true(support_close(y, want, d->ny, REL, FLOOR, mag, label));
            free(y);
            release(&v);
        }
    }
    free(want);
    free(mag);
    free_problem(&pr);
}

/* ---- Accumulation, determinism, AUTO ---------------------------------------------------- */

static void test_conv_backward_filter_accumulates(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    const relucl_conv_algo algos[2] = {RELUCL_CONV_NAIVE, RELUCL_CONV_GEMM};
    const size_t cases[2] = {6, 7}; /* groups 3; dilation 2 */
    for (int c = 0; c < 2; c++) {
        problem pr = make_problem(&grid[cases[c]], 500 + (uint64_t)c);
        const dims *d = &pr.d;
        float *dw0 = falloc(d->nw), *db0 = falloc(d->k), *dw = falloc(d->nw),
              *db = falloc(d->k);
        support_fill_uniform(dw0, d->nw, 9, -2, 2);
        support_fill_uniform(db0, d->k, 10, -2, 2);
        double *want_w = dalloc(d->nw), *want_b = dalloc(d->k), *mag_w = dalloc(d->nw),
               *mag_b = dalloc(d->k);
        for (size_t i = 0; i < d->nw; i++) {
            want_w[i] = dw0[i] + pr.dw[i];
            mag_w[i] = fabs(dw0[i]) + pr.dw_mag[i];
        }
        for (size_t i = 0; i < d->k; i++) {
            want_b[i] = db0[i] + pr.db[i];
            mag_b[i] = fabs(db0[i]) + pr.db_mag[i];
        }
        for (int j = 0; j < 2; j++) {
            device v = upload(&pr);
            support_buffer_write(v.dw, AT, dw0, d->nw);
            support_buffer_write(v.db, AT, db0, d->k);
            assert_int_equal(relucl_conv2d_backward_filter(ctx, &pr.g.conv, algos[j], &v.tx,
                                                           &v.tdy, &v.tdw, &v.tdb, 1),
                             RELUCL_OK);
            support_read_checked(v.dw, AT, d->nw, AT + d->nw + TAIL, dw, "dw");
            support_read_checked(v.db, AT, d->k, AT + d->k + TAIL, db, "db");
            assert_true(support_close(dw, want_w, d->nw, REL, FLOOR, mag_w, algo_name(algos[j])));
            assert_true(support_close(db, want_b, d->k, REL, FLOOR, mag_b, algo_name(algos[j])));
            release(&v);
        }
        free(dw0);
        free(db0);
        free(dw);
        free(db);
        free(want_w);
        free(want_b);
        free(mag_w);
        free(mag_b);
        free_problem(&pr);
    }
}

static void expect_same_results(const problem *pr, const results *a, const results *b,
                                const char *what) {
    const dims *d = &pr->d;
    assert_true(support_equal_bits(a->y, b->y, d->ny, what));
    assert_true(support_equal_bits(a->dx, b->dx, d->nx, what));
    assert_true(support_equal_bits(a->dw, b->dw, d->nw, what));
    assert_true(support_equal_bits(a->db, b->db, d->k, what));
}

/* Every run gives the same bits, and AUTO is whichever algorithm its rule names:
 * >= 16 filters per group, (C / groups) R S >= 16 and a workspace that fits -> GEMM. */
static void test_conv_is_deterministic_and_auto_follows_its_rule(void **state) {
    (void)state;
    const struct {
        size_t index;
        relucl_conv_algo expect;
    } cases[] = {{11, RELUCL_CONV_GEMM},  /* 16 filters per group, (8/2) * 9 = 36 */
                 {3, RELUCL_CONV_NAIVE},  /* 3 * 9 = 27, but 5 filters */
                 {8, RELUCL_CONV_NAIVE},  /* depthwise */
                 {2, RELUCL_CONV_NAIVE},  /* 1x1: 4 * 1 = 4 */
                 /* 16 filters but C R S 9: GEMM where relucl's own GEMM runs, else direct */
                 {12, relucl__gemm_own_wanted(support_ctx(), RELUCL_NO_TRANS, RELUCL_NO_TRANS)
                          ? RELUCL_CONV_GEMM
                          : RELUCL_CONV_NAIVE}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        problem pr = make_problem(&grid[cases[i].index], 700 + i);
        results once = run(&pr, cases[i].expect, identity, 1);
        results again = run(&pr, cases[i].expect, identity, 1);
        results autos = run(&pr, RELUCL_CONV_AUTO, identity, 1);
        expect_same_results(&pr, &once, &again, "run twice");
        expect_same_results(&pr, &once, &autos, algo_name(cases[i].expect));
        free_results(&once);
        free_results(&again);
        free_results(&autos);
        free_problem(&pr);
    }
    /* With a workspace limit below one image, AUTO goes direct instead of failing. */
    relucl_context *ctx = support_ctx();
    problem pr = make_problem(&grid[11], 800);
    results naive = run(&pr, RELUCL_CONV_NAIVE, identity, 1);
    assert_int_equal(relucl_context_set_workspace_limit(ctx, 64), RELUCL_OK);
    results autos = run(&pr, RELUCL_CONV_AUTO, identity, 1);
    assert_int_equal(relucl_context_set_workspace_limit(ctx, 0), RELUCL_OK);
    expect_same_results(&pr, &naive, &autos, "AUTO under a small limit");
    free_results(&naive);
    free_results(&autos);
    free_problem(&pr);
}

/* ---- Workspace -------------------------------------------------------------------------- */

/* One image's GEMM scratch: its columns (C R S x P Q) and the other GEMM operand (K x P Q). */
static size_t scratch_bytes(const problem *pr) {
    const dims *d = &pr->d;
    return (d->c * d->r * d->s + d->k) * d->p * d->q * sizeof(float);
}

/* A limit that holds one image's scratch but not two splits every batch into single images:
 * the same bits as the whole batch at once for y, dx and db, dw within tolerance (it sums
 * over the images chunk by chunk), and the workspace never passes the limit. db is
 * chunk-independent by construction; y and dx are as long as the GEMM runs the same kernel
 * for a one-image GEMM as for the whole batch's, which holds for these tiny shapes. */
static void test_conv_chunks_under_workspace_limit(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    const size_t cases[3] = {3, 6, 7};
    for (int c = 0; c < 3; c++) {
        problem pr = make_problem(&grid[cases[c]], 900 + (uint64_t)c);
        assert_int_equal(pr.d.n, 3);
        results whole = run(&pr, RELUCL_CONV_GEMM, (relucl_activation){RELUCL_RELU, 0.0f}, 1);
        size_t limit = scratch_bytes(&pr) * 3 / 2;
        assert_int_equal(relucl_context_set_workspace_limit(ctx, limit), RELUCL_OK);
        results chunked = run(&pr, RELUCL_CONV_GEMM, (relucl_activation){RELUCL_RELU, 0.0f}, 1);
        assert_true(ctx->workspace_size <= limit);
        assert_true(ctx->workspace_size >= scratch_bytes(&pr));
        assert_int_equal(relucl_context_set_workspace_limit(ctx, 0), RELUCL_OK);
        /* y and dx are one dot product per output whatever the chunks; dw sums over the
         * images by chunk, so there only the float64 tolerance holds. */
        const dims *d = &pr.d;
        assert_true(support_equal_bits(whole.y, chunked.y, d->ny, "chunked"));
        assert_true(support_equal_bits(whole.dx, chunked.dx, d->nx, "chunked"));
        assert_true(support_equal_bits(whole.db, chunked.db, d->k, "chunked"));
        assert_true(support_close(chunked.dw, pr.dw, d->nw, REL, FLOOR, pr.dw_mag, "chunked"));
        free_results(&whole);
        free_results(&chunked);
        free_problem(&pr);
    }
}

/* The workspace is allocated on first need, reused while big enough, grown when not, and
 * released when a new limit is below its size; workspace_size reports the whole batch. */
static void test_conv_workspace_is_reused_and_grown(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    problem small = make_problem(&grid[4], 1), big = make_problem(&grid[7], 2);
    device vs = upload(&small), vb = upload(&big);
    size_t bytes = 0;
    assert_int_equal(relucl_conv2d_workspace_size(ctx, &small.g.conv, &vs.tx, &vs.tw, &bytes),
                     RELUCL_OK);
    assert_int_equal(bytes, small.d.n * scratch_bytes(&small));
    assert_int_equal(relucl_conv2d_workspace_size(ctx, &big.g.conv, &vb.tx, &vb.tw, &bytes),
                     RELUCL_OK);
    assert_int_equal(bytes, big.d.n * scratch_bytes(&big));
    assert_true(scratch_bytes(&small) < bytes);

    assert_int_equal(relucl_context_set_workspace_limit(ctx, 1), RELUCL_OK); /* releases it */
    assert_null(ctx->workspace);
    assert_int_equal(relucl_context_set_workspace_limit(ctx, 0), RELUCL_OK);
    assert_int_equal(relucl_conv2d_forward(ctx, &small.g.conv, RELUCL_CONV_GEMM, identity, &vs.tx,
                                           &vs.tw, NULL, &vs.ty),
                     RELUCL_OK);
    cl_mem first = ctx->workspace;
    assert_non_null(first);
    assert_int_equal(ctx->workspace_size, small.d.n * scratch_bytes(&small));
    assert_int_equal(relucl_conv2d_backward_data(ctx, &small.g.conv, RELUCL_CONV_GEMM, &vs.tdy,
                                                 &vs.tw, &vs.tdx),
                     RELUCL_OK);
    assert_ptr_equal(ctx->workspace, first);
    assert_int_equal(relucl_conv2d_forward(ctx, &big.g.conv, RELUCL_CONV_GEMM, identity, &vb.tx,
                                           &vb.tw, NULL, &vb.ty),
                     RELUCL_OK);
    assert_int_equal(ctx->workspace_size, bytes);
    assert_int_equal(relucl_conv2d_forward(ctx, &small.g.conv, RELUCL_CONV_GEMM, identity, &vs.tx,
                                           &vs.tw, NULL, &vs.ty),
                     RELUCL_OK);
    assert_int_equal(ctx->workspace_size, bytes); /* kept, not shrunk */
    assert_int_equal(relucl_context_finish(ctx), RELUCL_OK);

    release(&vs);
    release(&vb);
    free_problem(&small);
    free_problem(&big);
}

/* ---- Finite differences ----------------------------------------------------------------- */

/* Central differences of the float64 loss sum(conv(x, w) * r) in each entry of v (x or w),
 * against the device's gradient. The loss is linear in v, so they agree to rounding. */
static void expect_finite_differences(problem *pr, double *v, size_t n, const float *got,
                                      const char *what) {
    const double step = 1e-3;
    for (size_t i = 0; i < n; i++) {
        double keep = v[i];
        v[i] = keep + step;
        double up = loss_of(&pr->g, pr->xd, pr->wd, pr->dyd);
        v[i] = keep - step;
        double down = loss_of(&pr->g, pr->xd, pr->wd, pr->dyd);
        v[i] = keep;
        double fd = (up - down) / (2 * step);
        if (fabs(fd - got[i]) > 1e-5 * (1 + fabs(fd)))
            fail_msg("%s[%zu]: finite difference %.8g, device %.8g", what, i, fd,
                     (double)got[i]);
    }
}

/* dx and dw for dy = r are the gradients of sum(conv(x, w) * r): backward is the adjoint of
 * forward, for both algorithms, checked independently of the scatter references. */
static void test_conv_gradients_match_finite_differences(void **state) {
    (void)state;
    const geo_case tiny[2] = {{2, 2, 5, 4, 2, 3, 3, CONV(1, 1, 1, 1, 1, 1, 1)},
                              {2, 4, 6, 5, 4, 3, 2, CONV(2, 1, 1, 0, 2, 1, 2)}};
    const relucl_conv_algo algos[2] = {RELUCL_CONV_NAIVE, RELUCL_CONV_GEMM};
    for (int c = 0; c < 2; c++) {
        problem pr = make_problem(&tiny[c], 40 + (uint64_t)c);
        for (int j = 0; j < 2; j++) {
            results got = run(&pr, algos[j], identity, 0);
            char what[40];
            snprintf(what, sizeof what, "%s dx", algo_name(algos[j]));
            expect_finite_differences(&pr, pr.xd, pr.d.nx, got.dx, what);
            snprintf(what, sizeof what, "%s dw", algo_name(algos[j]));
            expect_finite_differences(&pr, pr.wd, pr.d.nw, got.dw, what);
            free_results(&got);
        }
        free_problem(&pr);
    }
}

/* ---- Degenerate sizes ------------------------------------------------------------------- */

/* No images: forward and backward data write nothing; the filter and bias gradients are 0. */
static void test_conv_empty_batch(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    geo_case g = grid[3];
    g.n = 0;
    problem pr = make_problem(&g, 5);
    const relucl_conv_algo algos[2] = {RELUCL_CONV_NAIVE, RELUCL_CONV_GEMM};
    for (int j = 0; j < 2; j++) {
        device v = upload(&pr);
        assert_int_equal(relucl_conv2d_forward(ctx, &g.conv, algos[j], identity, &v.tx, &v.tw,
                                               &v.tb, &v.ty),
                         RELUCL_OK);
        assert_int_equal(relucl_conv2d_backward_data(ctx, &g.conv, algos[j], &v.tdy, &v.tw,
                                                     &v.tdx),
                         RELUCL_OK);
        assert_int_equal(relucl_conv2d_backward_filter(ctx, &g.conv, algos[j], &v.tx, &v.tdy,
                                                       &v.tdw, &v.tdb, 0),
                         RELUCL_OK);
        results got;
        read_results(&pr, &v, &got); /* checks the poison around the (empty) views */
        for (size_t i = 0; i < pr.d.nw; i++)
            assert_true(got.dw[i] == 0.0f);
        for (size_t i = 0; i < pr.d.k; i++)
            assert_true(got.db[i] == 0.0f);
        free_results(&got);
        release(&v);
    }
    free_problem(&pr);
}

static void test_conv_output_dims_follow_formula(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    for (size_t i = 0; i < GRID; i++) {
        const geo_case *g = &grid[i];
        dims d = dims_of(g);
        size_t xd[4] = {g->n, g->c, g->h, g->w}, wd[4] = {g->k, d.cg, g->r, g->s}, yd[4];
        assert_int_equal(relucl_conv2d_output_dims(ctx, &g->conv, xd, wd, yd), RELUCL_OK);
        assert_int_equal(yd[0], g->n);
        assert_int_equal(yd[1], g->k);
        assert_int_equal(yd[2], d.p);
        assert_int_equal(yd[3], d.q);
    }
    /* A filter exactly as large as the padded input gives one output. */
    relucl_conv2d cv = CONV(3, 3, 1, 0, 2, 1, 1);
    size_t xd[4] = {2, 1, 3, 4}, wd[4] = {1, 1, 3, 4}, yd[4];
    assert_int_equal(relucl_conv2d_output_dims(ctx, &cv, xd, wd, yd), RELUCL_OK);
    assert_int_equal(yd[2], 1);
    assert_int_equal(yd[3], 1);
}

/* ---- Rejected arguments ----------------------------------------------------------------- */

/* For a call whose output shares a buffer with data: the status, the message, and the whole
 * buffer unchanged. */
static void expect_unchanged(relucl_status got, relucl_status want, const char *word, cl_mem buf,
                             const float *before, size_t total) {
    if (got != want)
        fail_msg("status %s, want %s (%s)", relucl_status_name(got), relucl_status_name(want),
                 relucl_context_error(support_ctx()));
    assert_true(support_error_mentions(word));
    float *now = falloc(total);
    support_buffer_read(buf, 0, now, total);
    assert_memory_equal(now, before, total * sizeof *now);
    free(now);
}

static void test_conv_output_dims_rejects_bad_geometry(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    size_t xd[4] = {2, 4, 7, 9}, wd[4] = {6, 2, 3, 3}, yd[4] = {11, 11, 11, 11};
    const size_t untouched[4] = {11, 11, 11, 11};
    relucl_conv2d ok = CONV(1, 1, 1, 1, 1, 1, 2);
    assert_int_equal(relucl_conv2d_output_dims(NULL, &ok, xd, wd, yd),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    const struct {
        relucl_conv2d conv;
        size_t c, k, wc, r, s;
        relucl_status want;
        const char *word;
    } bad[] = {
        {CONV(0, 1, 1, 1, 1, 1, 2), 4, 6, 2, 3, 3, RELUCL_ERROR_INVALID_ARGUMENT, "stride"},
        {CONV(1, 0, 1, 1, 1, 1, 2), 4, 6, 2, 3, 3, RELUCL_ERROR_INVALID_ARGUMENT, "stride"},
        {CONV(1, 1, 1, 1, 0, 1, 2), 4, 6, 2, 3, 3, RELUCL_ERROR_INVALID_ARGUMENT, "dilation"},
        {CONV(1, 1, 1, 1, 1, 0, 2), 4, 6, 2, 3, 3, RELUCL_ERROR_INVALID_ARGUMENT, "dilation"},
        {CONV(1, 1, 1, 1, 1, 1, 0), 4, 6, 2, 3, 3, RELUCL_ERROR_INVALID_ARGUMENT, "groups"},
        {CONV(1, 1, 1, 1, 1, 1, 3), 4, 6, 1, 3, 3, RELUCL_ERROR_SHAPE, "groups"}, /* C 4 */
        {CONV(1, 1, 1, 1, 1, 1, 4), 4, 6, 1, 3, 3, RELUCL_ERROR_SHAPE, "groups"}, /* K 6 */
        {CONV(1, 1, 1, 1, 1, 1, 2), 4, 6, 4, 3, 3, RELUCL_ERROR_SHAPE, "w_dims"}, /* C/g 2 */
        {CONV(1, 1, 0, 0, 1, 1, 2), 4, 6, 2, 9, 3, RELUCL_ERROR_SHAPE, "filter"}, /* 9 > 7 */
        {CONV(1, 1, 0, 1, 1, 1, 2), 4, 6, 2, 3, 12, RELUCL_ERROR_SHAPE, "filter"}, /* 12 > 11 */
        {CONV(1, 1, 1, 1, 5, 1, 2), 4, 6, 2, 3, 3, RELUCL_ERROR_SHAPE, "dilation"}, /* 11 > 9 */
        {CONV(1, 1, 1, 1, 1, 1, 2), 4, 6, 2, 0, 3, RELUCL_ERROR_SHAPE, "filter"},
        {CONV(1, 1, (size_t)1 << 40, 1, 1, 1, 2), 4, 6, 2, 3, 3, RELUCL_ERROR_INVALID_ARGUMENT,
         "pad"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t x[4] = {2, bad[i].c, 7, 9}, w[4] = {bad[i].k, bad[i].wc, bad[i].r, bad[i].s};
        relucl_status got = relucl_conv2d_output_dims(ctx, &bad[i].conv, x, w, yd);
        if (got != bad[i].want)
            fail_msg("bad geometry %zu: %s, want %s (%s)", i, relucl_status_name(got),
                     relucl_status_name(bad[i].want), relucl_context_error(ctx));
        assert_true(support_error_mentions(bad[i].word));
        assert_memory_equal(yd, untouched, sizeof yd);
    }
    assert_int_equal(relucl_conv2d_output_dims(ctx, NULL, xd, wd, yd),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("conv"));
    assert_int_equal(relucl_conv2d_output_dims(ctx, &ok, NULL, wd, yd),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("x_dims"));
    assert_int_equal(relucl_conv2d_output_dims(ctx, &ok, xd, wd, NULL),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("y_dims"));
    assert_memory_equal(yd, untouched, sizeof yd);
    assert_int_equal(relucl_context_set_workspace_limit(NULL, 0), RELUCL_ERROR_INVALID_ARGUMENT);
}

static void test_conv_forward_rejects_bad_arguments(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    problem pr = make_problem(&grid[4], 11); /* N1 C4 13x11 K6 3x3 stride 2, groups 2 */
    const dims *d = &pr.d;
    device v = upload(&pr);
    const relucl_conv2d *cv = &pr.g.conv;
    size_t total = AT + d->ny + TAIL;
    const relucl_conv_algo gemm = RELUCL_CONV_GEMM, naive = RELUCL_CONV_NAIVE;
    relucl_conv2d bad = *cv;

#define REJECT(call, want, word) support_expect_rejected((call), (want), (word), v.y, total)
    REJECT(relucl_conv2d_forward(NULL, cv, gemm, identity, &v.tx, &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_INVALID_ARGUMENT, NULL);
    REJECT(relucl_conv2d_forward(ctx, NULL, gemm, identity, &v.tx, &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_INVALID_ARGUMENT, "conv");
    REJECT(relucl_conv2d_forward(ctx, cv, (relucl_conv_algo)7, identity, &v.tx, &v.tw, &v.tb,
                                 &v.ty),
           RELUCL_ERROR_INVALID_ARGUMENT, "algo");
    REJECT(relucl_conv2d_forward(ctx, cv, naive, (relucl_activation){RELUCL_PRELU, 0.25f}, &v.tx,
                                 &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_INVALID_ARGUMENT, "RELUCL_PRELU");
    REJECT(relucl_conv2d_forward(ctx, cv, naive, (relucl_activation){RELUCL_ELU, 0.0f}, &v.tx,
                                 &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_INVALID_ARGUMENT, "alpha");
    REJECT(relucl_conv2d_forward(ctx, cv, naive, (relucl_activation){(relucl_activation_kind)9,
                                                                     0.0f},
                                 &v.tx, &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_INVALID_ARGUMENT, "kind");
    REJECT(relucl_conv2d_forward(ctx, cv, gemm, identity, NULL, &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_INVALID_ARGUMENT, "x");
    REJECT(relucl_conv2d_forward(ctx, cv, gemm, identity, &v.tx, NULL, &v.tb, &v.ty),
           RELUCL_ERROR_INVALID_ARGUMENT, "w");
    REJECT(relucl_conv2d_forward(ctx, cv, gemm, identity, &v.tx, &v.tw, &v.tb, NULL),
           RELUCL_ERROR_INVALID_ARGUMENT, "y");

    size_t x3[3] = {d->n, d->c, d->h * d->w};
    relucl_tensor flat = support_view(v.x, AT, 3, x3);
    REJECT(relucl_conv2d_forward(ctx, cv, gemm, identity, &flat, &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_SHAPE, "x");
    size_t wd[4] = {d->k, d->cg * 2, d->r, d->s / 3};
    relucl_tensor wide = support_view(v.w, AT, 4, wd);
    REJECT(relucl_conv2d_forward(ctx, cv, gemm, identity, &v.tx, &wide, &v.tb, &v.ty),
           RELUCL_ERROR_SHAPE, "w");
    relucl_tensor short_b = support_view1(v.b, AT, d->k - 1);
    REJECT(relucl_conv2d_forward(ctx, cv, gemm, identity, &v.tx, &v.tw, &short_b, &v.ty),
           RELUCL_ERROR_SHAPE, "b");
    size_t yd[4] = {d->n, d->k, d->p - 1, d->q};
    relucl_tensor small_y = support_view(v.y, AT, 4, yd);
    REJECT(relucl_conv2d_forward(ctx, cv, gemm, identity, &v.tx, &v.tw, &v.tb, &small_y),
           RELUCL_ERROR_SHAPE, "y");
    size_t xd[4] = {d->n, d->c, d->h, d->w};
    relucl_tensor past_end = support_view_raw(v.x, AT + 1 + TAIL, 4, xd);
    REJECT(relucl_conv2d_forward(ctx, cv, gemm, identity, &past_end, &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_SHAPE, "x");
    bad.stride[1] = 0;
    REJECT(relucl_conv2d_forward(ctx, &bad, gemm, identity, &v.tx, &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_INVALID_ARGUMENT, "stride");
    bad = *cv;
    bad.dilation[0] = 0;
    REJECT(relucl_conv2d_forward(ctx, &bad, gemm, identity, &v.tx, &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_INVALID_ARGUMENT, "dilation");
    bad = *cv;
    bad.groups = 3;
    REJECT(relucl_conv2d_forward(ctx, &bad, gemm, identity, &v.tx, &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_SHAPE, "groups");
    bad = *cv;
    bad.dilation[0] = 7; /* spans 15 rows of 13 */
    REJECT(relucl_conv2d_forward(ctx, &bad, gemm, identity, &v.tx, &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_SHAPE, "filter");

    /* One image's scratch above the limit: GEMM fails, naming the limit. */
    assert_int_equal(relucl_context_set_workspace_limit(ctx, scratch_bytes(&pr) - 4), RELUCL_OK);
    REJECT(relucl_conv2d_forward(ctx, cv, gemm, identity, &v.tx, &v.tw, &v.tb, &v.ty),
           RELUCL_ERROR_OUT_OF_MEMORY, "limit");
    assert_int_equal(relucl_context_set_workspace_limit(ctx, 0), RELUCL_OK);
#undef REJECT

    /* y overlapping an input: that input's buffer is left exactly as it was. */
    float before[AT + 4 * 13 * 11 + TAIL];
    size_t xtotal = AT + d->nx + TAIL;
    assert_true(xtotal <= sizeof before / sizeof *before);
    support_buffer_read(v.x, 0, before, xtotal);
    size_t yin[4] = {d->n, d->k, d->p, d->q};
    relucl_tensor y_on_x = support_view(v.x, AT + 4, 4, yin);
    expect_unchanged(relucl_conv2d_forward(ctx, cv, naive, identity, &v.tx, &v.tw, &v.tb,
                                           &y_on_x),
                     RELUCL_ERROR_INVALID_ARGUMENT, "x", v.x, before, xtotal);
    release(&v);
    free_problem(&pr);
}

static void test_conv_backward_rejects_bad_arguments(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    problem pr = make_problem(&grid[3], 12); /* N3 C3 13x11 K5 3x3 same */
    const dims *d = &pr.d;
    device v = upload(&pr);
    const relucl_conv2d *cv = &pr.g.conv;
    const relucl_conv_algo gemm = RELUCL_CONV_GEMM;
    size_t dx_total = AT + d->nx + TAIL, dw_total = AT + d->nw + TAIL, db_total = AT + d->k + TAIL;

    /* backward data */
    support_expect_rejected(relucl_conv2d_backward_data(ctx, cv, (relucl_conv_algo)-1, &v.tdy,
                                                        &v.tw, &v.tdx),
                            RELUCL_ERROR_INVALID_ARGUMENT, "algo", v.dx, dx_total);
    support_expect_rejected(relucl_conv2d_backward_data(ctx, NULL, gemm, &v.tdy, &v.tw, &v.tdx),
                            RELUCL_ERROR_INVALID_ARGUMENT, "conv", v.dx, dx_total);
    support_expect_rejected(relucl_conv2d_backward_data(ctx, cv, gemm, NULL, &v.tw, &v.tdx),
                            RELUCL_ERROR_INVALID_ARGUMENT, "dy", v.dx, dx_total);
    support_expect_rejected(relucl_conv2d_backward_data(ctx, cv, gemm, &v.tdy, &v.tw, NULL),
                            RELUCL_ERROR_INVALID_ARGUMENT, "dx", v.dx, dx_total);
    size_t yd[4] = {d->n, d->k + 1, d->p, d->q};
    relucl_tensor wrong_dy = support_view_raw(v.dy, AT, 4, yd);
    support_expect_rejected(relucl_conv2d_backward_data(ctx, cv, gemm, &wrong_dy, &v.tw, &v.tdx),
                            RELUCL_ERROR_SHAPE, "dy", v.dx, dx_total);
    size_t xd2[2] = {d->n * d->c, d->h * d->w};
    relucl_tensor flat_dx = support_view(v.dx, AT, 2, xd2);
    support_expect_rejected(relucl_conv2d_backward_data(ctx, cv, gemm, &v.tdy, &v.tw, &flat_dx),
                            RELUCL_ERROR_SHAPE, "dx", v.dx, dx_total);
    relucl_conv2d bad = *cv;
    bad.groups = 2; /* C 3 */
    support_expect_rejected(relucl_conv2d_backward_data(ctx, &bad, gemm, &v.tdy, &v.tw, &v.tdx),
                            RELUCL_ERROR_SHAPE, "groups", v.dx, dx_total);
    /* dx on top of dy or w */
    float *before = falloc(AT + d->ny + TAIL);
    support_buffer_read(v.dy, 0, before, AT + d->ny + TAIL);
    size_t xd[4] = {d->n, d->c, d->h, d->w};
    relucl_tensor dx_on_dy = support_view(v.dy, AT + 7, 4, xd);
    expect_unchanged(relucl_conv2d_backward_data(ctx, cv, gemm, &v.tdy, &v.tw, &dx_on_dy),
                     RELUCL_ERROR_INVALID_ARGUMENT, "dy", v.dy, before, AT + d->ny + TAIL);
    free(before);

    /* backward filter */
    support_expect_rejected(relucl_conv2d_backward_filter(ctx, cv, (relucl_conv_algo)3, &v.tx,
                                                          &v.tdy, &v.tdw, &v.tdb, 0),
                            RELUCL_ERROR_INVALID_ARGUMENT, "algo", v.dw, dw_total);
    support_expect_rejected(relucl_conv2d_backward_filter(ctx, cv, gemm, &v.tx, &v.tdy, NULL,
                                                          &v.tdb, 0),
                            RELUCL_ERROR_INVALID_ARGUMENT, "dw", v.db, db_total);
    support_expect_rejected(relucl_conv2d_backward_filter(ctx, cv, gemm, &v.tx, &wrong_dy,
                                                          &v.tdw, &v.tdb, 0),
                            RELUCL_ERROR_SHAPE, "dy", v.dw, dw_total);
    relucl_tensor long_db = support_view1(v.db, AT, d->k + 1);
    support_expect_rejected(relucl_conv2d_backward_filter(ctx, cv, gemm, &v.tx, &v.tdy, &v.tdw,
                                                          &long_db, 0),
                            RELUCL_ERROR_SHAPE, "db", v.dw, dw_total);
    size_t wd[4] = {d->k, d->cg - 1, d->r, d->s};
    relucl_tensor wrong_dw = support_view(v.dw, AT, 4, wd);
    support_expect_rejected(relucl_conv2d_backward_filter(ctx, cv, gemm, &v.tx, &v.tdy,
                                                          &wrong_dw, &v.tdb, 0),
                            RELUCL_ERROR_SHAPE, "dw", v.db, db_total);
    /* db inside dw, dw inside x */
    size_t kd[1] = {d->k};
    relucl_tensor db_on_dw = support_view(v.dw, AT + 2, 1, kd);
    support_expect_rejected(relucl_conv2d_backward_filter(ctx, cv, gemm, &v.tx, &v.tdy, &v.tdw,
                                                          &db_on_dw, 0),
                            RELUCL_ERROR_INVALID_ARGUMENT, "db", v.dw, dw_total);
    before = falloc(AT + d->nx + TAIL);
    support_buffer_read(v.x, 0, before, AT + d->nx + TAIL);
    size_t wd4[4] = {d->k, d->cg, d->r, d->s};
    relucl_tensor dw_on_x = support_view(v.x, AT + 1, 4, wd4);
    expect_unchanged(relucl_conv2d_backward_filter(ctx, cv, gemm, &v.tx, &v.tdy, &dw_on_x, &v.tdb,
                                                   0),
                     RELUCL_ERROR_INVALID_ARGUMENT, "x", v.x, before, AT + d->nx + TAIL);
    free(before);

    /* workspace size */
    size_t bytes = 12345;
    assert_int_equal(relucl_conv2d_workspace_size(ctx, cv, &v.tx, &v.tw, NULL),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("bytes"));
    assert_int_equal(relucl_conv2d_workspace_size(ctx, NULL, &v.tx, &v.tw, &bytes),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("conv"));
    assert_int_equal(relucl_conv2d_workspace_size(ctx, cv, &v.tx, &wrong_dw, &bytes),
                     RELUCL_ERROR_SHAPE);
    assert_true(support_error_mentions("w"));
    assert_int_equal(bytes, 12345);
    release(&v);
    free_problem(&pr);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_output_dims_follow_formula),
        cmocka_unit_test(test_conv_naive_matches_reference),
        cmocka_unit_test(test_conv_gemm_matches_reference),
        cmocka_unit_test(test_conv_gemm_matches_naive),
        cmocka_unit_test(test_conv_gemm_kernels_of_both_device_kinds_agree),
        cmocka_unit_test(test_conv_filter_gradient_by_panels_matches_reference),
        cmocka_unit_test(test_conv_fuses_bias_and_activation),
        cmocka_unit_test(test_conv_backward_filter_accumulates),
        cmocka_unit_test(test_conv_is_deterministic_and_auto_follows_its_rule),
        cmocka_unit_test(test_conv_chunks_under_workspace_limit),
        cmocka_unit_test(test_conv_workspace_is_reused_and_grown),
        cmocka_unit_test(test_conv_gradients_match_finite_differences),
        cmocka_unit_test(test_conv_empty_batch),
        cmocka_unit_test(test_conv_output_dims_rejects_bad_geometry),
        cmocka_unit_test(test_conv_forward_rejects_bad_arguments),
        cmocka_unit_test(test_conv_backward_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, support_setup, support_teardown);
}
