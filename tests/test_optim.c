/* relucl_sgd_step and relucl_adam_step against float64 references of PyTorch's torch.optim.SGD,
 * Adam and AdamW over several steps, on odd offsets inside poisoned buffers, plus a few values
 * worked out by hand and every documented error. Every reference check runs on the kernels
 * of both device kinds (ctx->wide: 16 elements a work-item on CPU devices, else 4). */
#include "support.h"

#include "core/core.h" /* ctx->wide */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PAD = 5, STEPS = 4 };

static const size_t sizes[] = {1, 3, 5, 31, 4097}; /* 31: 16 + 15 and 28 + 3 */

static void *checked_malloc(size_t count, size_t size) {
    void *mem = calloc(count ? count : 1, size);
    assert_non_null(mem);
    return mem;
}

/* ---- float64 references ----------------------------------------------------------------- */

/* torch.optim.SGD with dampening 0; v starts at zero, so the first step's v = g as in PyTorch. */
static void ref_sgd(const relucl_sgd *o, double *p, const float *grad, double *v, size_t n) {
    double lr = o->lr, mom = o->momentum, wd = o->weight_decay;
    for (size_t i = 0; i < n; i++) {
        double g = grad[i];
        if (wd != 0)
            g += wd * p[i];
        if (mom != 0) {
            v[i] = mom * v[i] + g;
            g = o->nesterov ? g + mom * v[i] : v[i];
        }
        p[i] -= lr * g;
    }
}

/* torch.optim.Adam / AdamW. */
static void ref_adam(const relucl_adam *o, long step, double *p, const float *grad, double *m,
                     double *v, size_t n) {
    double lr = o->lr, b1 = o->beta1, b2 = o->beta2, eps = o->eps, wd = o->weight_decay;
    double bc1 = 1 - pow(b1, (double)step), bc2 = 1 - pow(b2, (double)step);
    for (size_t i = 0; i < n; i++) {
        double g = grad[i];
        if (wd != 0 && o->decoupled)
            p[i] *= 1 - lr * wd;
        else if (wd != 0)
            g += wd * p[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        p[i] -= lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + eps);
    }
}

/* ---- Device runs ------------------------------------------------------------------------ */

/* param at off, grad at off + 1, state s[k] at off + 2 + k, each in its own poisoned buffer of
 * off + 4 + n + PAD floats. */
typedef struct run {
    size_t n, off, total;
    cl_mem bp, bg, bs[2];
    relucl_tensor p, g, s[2];
} run;

static run make_run(const float *param, size_t n, size_t off) {
    run r;
    r.n = n, r.off = off, r.total = off + 4 + n + PAD;
    float *zeros = checked_malloc(n, sizeof(float));
    r.bp = support_buffer_poisoned(r.total);
    r.bg = support_buffer_poisoned(r.total);
    support_buffer_write(r.bp, off, param, n);
    r.p = support_view1(r.bp, off, n);
    r.g = support_view1(r.bg, off + 1, n);
    for (size_t k = 0; k < 2; k++) {
        r.bs[k] = support_buffer_poisoned(r.total);
        support_buffer_write(r.bs[k], off + 2 + k, zeros, n);
        r.s[k] = support_view1(r.bs[k], off + 2 + k, n);
    }
    free(zeros);
    return r;
}

static void free_run(run *r) {
    support_buffer_release(r->bp);
    support_buffer_release(r->bg);
    support_buffer_release(r->bs[0]);
    support_buffer_release(r->bs[1]);
}

/* Reads a tensor of the run back, checking that its buffer is poison around it, and compares
 * it with want: within 2e-6 of max(|want|, 1) (values here are of order 1). */
static void expect_close(cl_mem b, size_t at, const run *r, const double *want, const char *what) {
    float *got = checked_malloc(r->total, sizeof(float));
    support_read_checked(b, at, r->n, r->total, got, what);
    assert_true(support_close(got, want, r->n, 2e-6, 1.0, NULL, what));
    free(got);
}

static void check_ok(relucl_status st) {
    if (st != RELUCL_OK)
        fail_msg("%s: %s", relucl_status_name(st), relucl_context_error(support_ctx()));
}

/* STEPS steps of SGD on every size; use_velocity 0 passes NULL (momentum 0 only). */
static void check_sgd_kind(const relucl_sgd *opt, int use_velocity, uint64_t seed) {
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k], off = 2 * k + 1;
        float *param = checked_malloc(n, sizeof(float)), *grad = checked_malloc(n, sizeof(float));
        double *p = checked_malloc(n, sizeof(double)), *v = checked_malloc(n, sizeof(double));
        support_fill_uniform(param, n, seed, -1.0f, 1.0f);
        for (size_t i = 0; i < n; i++)
            p[i] = param[i];
        run r = make_run(param, n, off);
        for (long step = 1; step <= STEPS; step++) {
            support_fill_uniform(grad, n, seed + (uint64_t)step, -1.0f, 1.0f);
            support_buffer_write(r.bg, off + 1, grad, n);
            check_ok(
                relucl_sgd_step(support_ctx(), opt, &r.p, &r.g, use_velocity ? &r.s[0] : NULL));
            ref_sgd(opt, p, grad, v, n);
        }
        char what[96];
        snprintf(what, sizeof what, "sgd param n %zu wide %d momentum %g nesterov %d wd %g", n,
                 support_ctx()->wide, (double)opt->momentum, opt->nesterov,
                 (double)opt->weight_decay);
        expect_close(r.bp, off, &r, p, what);
        if (opt->momentum != 0.0f)
            expect_close(r.bs[0], off + 2, &r, v, "sgd velocity");
        free_run(&r);
        free(param), free(grad), free(p), free(v);
    }
}

static void check_adam_kind(const relucl_adam *opt, uint64_t seed) {
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k], off = 2 * k + 3;
        float *param = checked_malloc(n, sizeof(float)), *grad = checked_malloc(n, sizeof(float));
        double *p = checked_malloc(n, sizeof(double)), *m = checked_malloc(n, sizeof(double));
        double *v = checked_malloc(n, sizeof(double));
        support_fill_uniform(param, n, seed, -1.0f, 1.0f);
        for (size_t i = 0; i < n; i++)
            p[i] = param[i];
        run r = make_run(param, n, off);
        for (long step = 1; step <= STEPS; step++) {
            support_fill_uniform(grad, n, seed + (uint64_t)step, -1.0f, 1.0f);
            support_buffer_write(r.bg, off + 1, grad, n);
            check_ok(relucl_adam_step(support_ctx(), opt, step, &r.p, &r.g, &r.s[0], &r.s[1]));
            ref_adam(opt, step, p, grad, m, v, n);
        }
        char what[96];
        snprintf(what, sizeof what, "adam param n %zu wide %d decoupled %d wd %g", n,
                 support_ctx()->wide, opt->decoupled, (double)opt->weight_decay);
        expect_close(r.bp, off, &r, p, what);
        expect_close(r.bs[0], off + 2, &r, m, "adam m");
        expect_close(r.bs[1], off + 3, &r, v, "adam v");
        free_run(&r);
        free(param), free(grad), free(p), free(m), free(v);
    }
}

static void check_sgd(const relucl_sgd *opt, int use_velocity, uint64_t seed) {
    relucl_context *ctx = support_ctx();
    int kept = ctx->wide;
    for (int wide = 0; wide < 2; wide++) {
        ctx->wide = wide;
        check_sgd_kind(opt, use_velocity, seed);
    }
    ctx->wide = kept;
}

static void check_adam(const relucl_adam *opt, uint64_t seed) {
    relucl_context *ctx = support_ctx();
    int kept = ctx->wide;
    for (int wide = 0; wide < 2; wide++) {
        ctx->wide = wide;
        check_adam_kind(opt, seed);
    }
    ctx->wide = kept;
}

static void test_sgd_plain_matches_reference(void **state) {
    (void)state;
    check_sgd(&(relucl_sgd){0.1f, 0.0f, 0.0f, 0}, 0, 1);
    check_sgd(&(relucl_sgd){0.5f, 0.0f, 0.0f, 0}, 1, 2); /* velocity given but unused */
}

static void test_sgd_momentum_matches_reference(void **state) {
    (void)state;
    check_sgd(&(relucl_sgd){0.1f, 0.9f, 0.0f, 0}, 1, 3);
}

static void test_sgd_nesterov_matches_reference(void **state) {
    (void)state;
    check_sgd(&(relucl_sgd){0.05f, 0.8f, 0.0f, 1}, 1, 4);
}

static void test_sgd_weight_decay_matches_reference(void **state) {
    (void)state;
    check_sgd(&(relucl_sgd){0.1f, 0.0f, 0.01f, 0}, 0, 5);
    check_sgd(&(relucl_sgd){0.1f, 0.9f, 0.05f, 1}, 1, 6);
}

static void test_adam_matches_reference(void **state) {
    (void)state;
    check_adam(&(relucl_adam){0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0}, 7);
    check_adam(&(relucl_adam){0.1f, 0.5f, 0.9f, 1e-3f, 0.1f, 0}, 8);
    check_adam(&(relucl_adam){0.01f, 0.0f, 0.0f, 1e-8f, 0.0f, 0}, 9); /* betas 0: sign steps */
}

static void test_adamw_matches_reference(void **state) {
    (void)state;
    check_adam(&(relucl_adam){0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 1}, 10);
    check_adam(&(relucl_adam){0.1f, 0.8f, 0.99f, 1e-6f, 0.5f, 1}, 11);
}

/* Values worked out by hand, p = 1 and g = 0.5 at every step:
 * SGD lr 0.1 momentum 0.9: v 0.5, 0.95; p 0.95, 0.855. Nesterov: g + 0.9 v = 0.95, 1.355;
 * p 0.905, 0.7695. Adam lr 0.01, step 1: m_hat = g, v_hat = g^2, so p = 1 - 0.01 * 0.5 /
 * (0.5 + 1e-8) = 0.99; AdamW with wd 0.1 first scales p by 1 - 0.001: 0.999 - 0.01 = 0.989. */
static void test_steps_match_hand_computed_values(void **state) {
    (void)state;
    const float one = 1.0f, half = 0.5f;
    static const double sgd_want[2][2] = {{0.95, 0.855}, {0.905, 0.7695}};
    for (int nesterov = 0; nesterov <= 1; nesterov++) {
        run r = make_run(&one, 1, 2);
        support_buffer_write(r.bg, 3, &half, 1);
        relucl_sgd opt = {0.1f, 0.9f, 0.0f, nesterov};
        for (int step = 0; step < 2; step++) {
            check_ok(relucl_sgd_step(support_ctx(), &opt, &r.p, &r.g, &r.s[0]));
            expect_close(r.bp, 2, &r, &sgd_want[nesterov][step], "hand sgd");
        }
        free_run(&r);
    }
    static const double adam_want[2] = {0.99, 0.989};
    for (int decoupled = 0; decoupled <= 1; decoupled++) {
        run r = make_run(&one, 1, 1);
        support_buffer_write(r.bg, 2, &half, 1);
        relucl_adam opt = {0.01f, 0.9f, 0.999f, 1e-8f, decoupled ? 0.1f : 0.0f, decoupled};
        check_ok(relucl_adam_step(support_ctx(), &opt, 1, &r.p, &r.g, &r.s[0], &r.s[1]));
        expect_close(r.bp, 1, &r, &adam_want[decoupled], "hand adam");
        free_run(&r);
    }
}

/* As in PyTorch a zero weight decay or momentum is skipped, not multiplied in: an infinite
 * parameter stays infinite instead of becoming 0 * Inf = NaN, and the velocity (given but not
 * used) keeps its poison. */
static void test_zero_options_are_skipped(void **state) {
    (void)state;
    const float values[3] = {INFINITY, -INFINITY, 1.0f}, grad[3] = {1.0f, 1.0f, 1.0f};
    run r = make_run(values, 3, 1);
    support_buffer_write(r.bg, 2, grad, 3);
    support_buffer_write(r.bs[0], 3,
                         (const float[]){support_poison(), support_poison(), support_poison()}, 3);
    check_ok(
        relucl_sgd_step(support_ctx(), &(relucl_sgd){0.5f, 0.0f, 0.0f, 0}, &r.p, &r.g, &r.s[0]));
    float got[3], state_left[3];
    support_read_checked(r.bp, 1, 3, r.total, got, "sgd param");
    assert_true(got[0] == INFINITY && got[1] == -INFINITY && got[2] == 0.5f);
    support_buffer_read(r.bs[0], 3, state_left, 3);
    assert_true(support_is_poison(state_left, 0, 3, "unused velocity"));
    support_buffer_write(r.bs[0], 3, (const float[]){0.0f, 0.0f, 0.0f}, 3);
    check_ok(relucl_adam_step(support_ctx(), &(relucl_adam){0.1f, 0.9f, 0.99f, 1e-8f, 0.0f, 0}, 1,
                              &r.p, &r.g, &r.s[0], &r.s[1]));
    support_read_checked(r.bp, 1, 3, r.total, got, "adam param");
    assert_true(got[0] == INFINITY && got[1] == -INFINITY);
    free_run(&r);
}

/* ---- Errors ----------------------------------------------------------------------------- */

/* param (6) at 0, grad at 8, state views at 16 and 24 of one poisoned buffer. */
enum { ETOTAL = 32 };

typedef struct fixture {
    cl_mem buf;
    relucl_tensor p, g, s1, s2;
} fixture;

static fixture make_fixture(void) {
    fixture f;
    f.buf = support_buffer_poisoned(ETOTAL);
    f.p = support_view1(f.buf, 0, 6);
    f.g = support_view1(f.buf, 8, 6);
    f.s1 = support_view1(f.buf, 16, 6);
    f.s2 = support_view1(f.buf, 24, 6);
    return f;
}

static void expect_rejected(const fixture *f, relucl_status got, relucl_status want,
                            const char *word) {
    support_expect_rejected(got, want, word, f->buf, ETOTAL);
}

static const relucl_sgd good_sgd = {0.1f, 0.9f, 0.01f, 0};

static relucl_status sgd_with(const fixture *f, relucl_sgd opt) {
    return relucl_sgd_step(support_ctx(), &opt, &f->p, &f->g, &f->s1);
}

static void test_sgd_bad_options_are_rejected(void **state) {
    (void)state;
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT;
    expect_rejected(&f, relucl_sgd_step(NULL, &good_sgd, &f.p, &f.g, &f.s1), bad, NULL);
    expect_rejected(&f, relucl_sgd_step(support_ctx(), NULL, &f.p, &f.g, &f.s1), bad, "opt");
    expect_rejected(&f, sgd_with(&f, (relucl_sgd){-0.1f, 0.9f, 0.0f, 0}), bad, "opt.lr");
    expect_rejected(&f, sgd_with(&f, (relucl_sgd){NAN, 0.9f, 0.0f, 0}), bad, "opt.lr");
    expect_rejected(&f, sgd_with(&f, (relucl_sgd){INFINITY, 0.9f, 0.0f, 0}), bad, "opt.lr");
    expect_rejected(&f, sgd_with(&f, (relucl_sgd){0.1f, 1.0f, 0.0f, 0}), bad, "opt.momentum");
    expect_rejected(&f, sgd_with(&f, (relucl_sgd){0.1f, -0.1f, 0.0f, 0}), bad, "opt.momentum");
    expect_rejected(&f, sgd_with(&f, (relucl_sgd){0.1f, NAN, 0.0f, 0}), bad, "opt.momentum");
    expect_rejected(&f, sgd_with(&f, (relucl_sgd){0.1f, 0.9f, -1e-4f, 0}), bad, "opt.weight_decay");
    expect_rejected(&f, sgd_with(&f, (relucl_sgd){0.1f, 0.0f, 0.0f, 1}), bad, "opt.nesterov");
    support_buffer_release(f.buf);
}

static void test_sgd_bad_tensors_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT, shape = RELUCL_ERROR_SHAPE;
    relucl_tensor g5 = support_view1(f.buf, 8, 5), v7 = support_view1(f.buf, 16, 7);
    relucl_tensor g_on_p = support_view1(f.buf, 3, 6), v_on_g = support_view1(f.buf, 10, 6);
    relucl_tensor p0 = support_view_raw(f.buf, 0, 0, (const size_t[]){6});
    relucl_tensor p_past = support_view1(f.buf, ETOTAL - 5, 6);
    expect_rejected(&f, relucl_sgd_step(ctx, &good_sgd, NULL, &f.g, &f.s1), bad, "param");
    expect_rejected(&f, relucl_sgd_step(ctx, &good_sgd, &f.p, NULL, &f.s1), bad, "grad");
    expect_rejected(&f, relucl_sgd_step(ctx, &good_sgd, &f.p, &f.g, NULL), bad, "velocity");
    expect_rejected(&f, relucl_sgd_step(ctx, &good_sgd, &p0, &f.g, &f.s1), shape, "param");
    expect_rejected(&f, relucl_sgd_step(ctx, &good_sgd, &p_past, &f.g, &f.s1), shape, "param");
    expect_rejected(&f, relucl_sgd_step(ctx, &good_sgd, &f.p, &g5, &f.s1), shape, "grad");
    expect_rejected(&f, relucl_sgd_step(ctx, &good_sgd, &f.p, &f.g, &v7), shape, "velocity");
    expect_rejected(&f, relucl_sgd_step(ctx, &good_sgd, &f.p, &g_on_p, &f.s1), bad, "grad");
    expect_rejected(&f, relucl_sgd_step(ctx, &good_sgd, &f.p, &f.g, &v_on_g), bad, "velocity");
    expect_rejected(&f, relucl_sgd_step(ctx, &good_sgd, &f.p, &f.p, &f.s1), bad, "grad");
    support_buffer_release(f.buf);
}

static const relucl_adam good_adam = {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0};

static relucl_status adam_with(const fixture *f, relucl_adam opt, long step) {
    return relucl_adam_step(support_ctx(), &opt, step, &f->p, &f->g, &f->s1, &f->s2);
}

static void test_adam_bad_options_are_rejected(void **state) {
    (void)state;
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT;
    relucl_adam o = good_adam;
    expect_rejected(&f, relucl_adam_step(NULL, &o, 1, &f.p, &f.g, &f.s1, &f.s2), bad, NULL);
    expect_rejected(&f, relucl_adam_step(support_ctx(), NULL, 1, &f.p, &f.g, &f.s1, &f.s2), bad,
                    "opt");
    expect_rejected(&f, adam_with(&f, o, 0), bad, "step");
    expect_rejected(&f, adam_with(&f, o, -3), bad, "step");
    o.lr = -1.0f;
    expect_rejected(&f, adam_with(&f, o, 1), bad, "opt.lr");
    o = good_adam, o.beta1 = 1.0f;
    expect_rejected(&f, adam_with(&f, o, 1), bad, "opt.beta1");
    o = good_adam, o.beta2 = -0.5f;
    expect_rejected(&f, adam_with(&f, o, 1), bad, "opt.beta2");
    o = good_adam, o.beta2 = NAN;
    expect_rejected(&f, adam_with(&f, o, 1), bad, "opt.beta2");
    o = good_adam, o.eps = 0.0f;
    expect_rejected(&f, adam_with(&f, o, 1), bad, "opt.eps");
    o = good_adam, o.eps = INFINITY;
    expect_rejected(&f, adam_with(&f, o, 1), bad, "opt.eps");
    o = good_adam, o.weight_decay = -0.01f;
    expect_rejected(&f, adam_with(&f, o, 1), bad, "opt.weight_decay");
    support_buffer_release(f.buf);
}

static void test_adam_bad_tensors_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT, shape = RELUCL_ERROR_SHAPE;
    const relucl_adam *o = &good_adam;
    relucl_tensor m5 = support_view1(f.buf, 16, 5), v7 = support_view1(f.buf, 24, 7);
    relucl_tensor v_on_m = support_view1(f.buf, 20, 6), m_on_p = support_view1(f.buf, 5, 6);
    expect_rejected(&f, relucl_adam_step(ctx, o, 1, NULL, &f.g, &f.s1, &f.s2), bad, "param");
    expect_rejected(&f, relucl_adam_step(ctx, o, 1, &f.p, NULL, &f.s1, &f.s2), bad, "grad");
    expect_rejected(&f, relucl_adam_step(ctx, o, 1, &f.p, &f.g, NULL, &f.s2), bad, "m");
    expect_rejected(&f, relucl_adam_step(ctx, o, 1, &f.p, &f.g, &f.s1, NULL), bad, "v");
    expect_rejected(&f, relucl_adam_step(ctx, o, 1, &f.p, &f.g, &m5, &f.s2), shape, "m");
    expect_rejected(&f, relucl_adam_step(ctx, o, 1, &f.p, &f.g, &f.s1, &v7), shape, "v");
    expect_rejected(&f, relucl_adam_step(ctx, o, 1, &f.p, &f.g, &f.s1, &v_on_m), bad, "v");
    expect_rejected(&f, relucl_adam_step(ctx, o, 1, &f.p, &f.g, &m_on_p, &f.s2), bad, "m");
    expect_rejected(&f, relucl_adam_step(ctx, o, 1, &f.p, &f.g, &f.s1, &f.s1), bad, "v");
    support_buffer_release(f.buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_plain_matches_reference),
        cmocka_unit_test(test_sgd_momentum_matches_reference),
        cmocka_unit_test(test_sgd_nesterov_matches_reference),
        cmocka_unit_test(test_sgd_weight_decay_matches_reference),
        cmocka_unit_test(test_adam_matches_reference),
        cmocka_unit_test(test_adamw_matches_reference),
        cmocka_unit_test(test_steps_match_hand_computed_values),
        cmocka_unit_test(test_zero_options_are_skipped),
        cmocka_unit_test(test_sgd_bad_options_are_rejected),
        cmocka_unit_test(test_sgd_bad_tensors_are_rejected),
        cmocka_unit_test(test_adam_bad_options_are_rejected),
        cmocka_unit_test(test_adam_bad_tensors_are_rejected),
    };
    return cmocka_run_group_tests_name("optim", tests, support_setup, support_teardown);
}
