/* relucl_activation_forward / _backward against float64 references written from
 * docs/semantics.md, on odd offsets inside poisoned buffers, plus every documented error. */
#include "support.h"

#include "core/core.h" /* ctx->wide: the 4-wide kernels are swept too */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mode { FORWARD, BACKWARD_X, BACKWARD_Y, BACKWARD_XY };
static const char *const mode_names[] = {"forward", "backward-from-x", "backward-from-y",
                                         "backward-from-both"};

/* Elements past the written range, so a kernel that runs over the end is caught. */
enum { PAD = 5 };

static const size_t sizes[] = {0, 1, 3, 4, 5, 16, 47, 1023, 4097};
static const size_t offsets[][2] = {{0, 0}, {3, 7}, {7, 3}};
static const relucl_activation plain_relu = {RELUCL_RELU, 0.0f};

/* ---- float64 references, one line per row of the semantics tables ------------------------ */

static double ref_forward(relucl_activation act, float xf) {
    double x = xf, a = act.alpha;
    if (isnan(x))
        return x;
    switch (act.kind) {
    case RELUCL_RELU: return x > 0 ? x : 0.0;
    case RELUCL_LEAKY_RELU: return x > 0 ? x : a * x;
    case RELUCL_ELU: return x > 0 ? x : a * expm1(x);
    case RELUCL_CLIPPED_RELU: return x <= 0 ? 0.0 : x >= a ? a : x;
    case RELUCL_IDENTITY: return x;
    case RELUCL_PRELU: break; /* not an element-wise activation here */
    }
    return NAN;
}

static double ref_backward_x(relucl_activation act, float xf, float dyf) {
    double x = xf, dy = dyf, a = act.alpha;
    switch (act.kind) {
    case RELUCL_RELU: return x <= 0 ? 0.0 : dy;
    case RELUCL_LEAKY_RELU: return x > 0 ? dy : a * dy;
    case RELUCL_ELU: return x <= 0 ? dy * a * exp(x) : dy;
    case RELUCL_CLIPPED_RELU: return (x <= 0 || x >= a) ? 0.0 : dy;
    case RELUCL_IDENTITY: return dy;
    case RELUCL_PRELU: break;
    }
    return NAN;
}

static double ref_backward_y(relucl_activation act, float yf, float dyf) {
    double y = yf, dy = dyf, a = act.alpha;
    switch (act.kind) {
    case RELUCL_RELU: return y <= 0 ? 0.0 : dy;
    case RELUCL_LEAKY_RELU: return y > 0 ? dy : a * dy;
    case RELUCL_ELU: return y > 0 ? dy : dy * (y + a);
    case RELUCL_CLIPPED_RELU: return (y <= 0 || y >= a) ? 0.0 : dy;
    case RELUCL_IDENTITY: return dy;
    case RELUCL_PRELU: break;
    }
    return NAN;
}

/* What mode computes; BACKWARD_XY takes x, as the library must. */
static double ref_mode(relucl_activation act, enum mode mode, float x, float y, float dy) {
    if (mode == FORWARD)
        return ref_forward(act, x);
    return mode == BACKWARD_Y ? ref_backward_y(act, y, dy) : ref_backward_x(act, x, dy);
}

/* ---- Running one case on the device ----------------------------------------------------- */

static cl_mem input_buffer(const float *data, size_t n, size_t offset) {
    return support_buffer_at(data, n, offset, PAD);
}

/* Runs act in `mode` on 1-D views (inputs at in_off, output at out_off in a poisoned buffer),
 * checks the poison around the output and returns the n results in out. */
static void device_run(relucl_activation act, enum mode mode, const float *x, const float *y,
                       const float *dy, size_t n, size_t in_off, size_t out_off, float *out,
                       const char *label) {
    relucl_context *ctx = support_ctx();
    size_t total = out_off + n + PAD;
    cl_mem bx = NULL, by = NULL, bdy = NULL, bout = support_buffer_poisoned(total);
    relucl_tensor tx, ty, tdy, tout = support_view1(bout, out_off, n);
    const relucl_tensor *px = NULL, *py = NULL;
    if (mode != BACKWARD_Y) {
        bx = input_buffer(x, n, in_off);
        tx = support_view1(bx, in_off, n);
        px = &tx;
    }
    if (mode == BACKWARD_Y || mode == BACKWARD_XY) {
        by = input_buffer(y, n, in_off);
        ty = support_view1(by, in_off, n);
        py = &ty;
    }
    relucl_status st;
    if (mode == FORWARD) {
        st = relucl_activation_forward(ctx, act, px, &tout);
    } else {
        bdy = input_buffer(dy, n, in_off + 1);
        tdy = support_view1(bdy, in_off + 1, n);
        st = relucl_activation_backward(ctx, act, px, py, &tdy, &tout);
    }
    if (st != RELUCL_OK)
        fail_msg("%s: %s: %s", label, relucl_status_name(st), relucl_context_error(ctx));
    support_read_checked(bout, out_off, n, total, out, label);
    support_buffer_release(bx);
    support_buffer_release(by);
    support_buffer_release(bdy);
    support_buffer_release(bout);
}

/* Compares with the tolerance semantics.md gives for this activation and mode. */
static int matches(relucl_activation act, enum mode mode, float *got, const float *want_f,
                   const double *want_d, const float *x, size_t n, const char *label) {
    if (act.kind == RELUCL_ELU && mode == BACKWARD_Y)
        return support_close(got, want_d, n, 1e-6, 1e-38, NULL, label);
    if (act.kind == RELUCL_ELU)
        return support_within_ulp(got, want_f, n, 2, label);
    /* Only the zero of a zero input may carry either sign (min/max leave it open). */
    if (mode == FORWARD && (act.kind == RELUCL_RELU || act.kind == RELUCL_CLIPPED_RELU))
        support_normalize_zero_sign(got, x, n);
    return support_equal_bits(got, want_f, n, label);
}

static float threshold_of(relucl_activation act) {
    return act.kind == RELUCL_CLIPPED_RELU ? act.alpha : 0.0f;
}

/* x and dy are random with special values sprinkled in; y is the reference forward output,
 * except in BACKWARD_XY, where it is unrelated noise so that using it instead of x shows. */
static void check_case(relucl_activation act, enum mode mode, size_t n, size_t in_off,
                       size_t out_off, uint64_t seed) {
    char label[160];
    snprintf(label, sizeof label, "kind %d alpha %g %s n=%zu in_off=%zu out_off=%zu", (int)act.kind,
             (double)act.alpha, mode_names[mode], n, in_off, out_off);
    size_t m = n ? n : 1;
    float *x = malloc(m * sizeof *x), *y = malloc(m * sizeof *y), *dy = malloc(m * sizeof *dy);
    float *want_f = malloc(m * sizeof *want_f), *got = malloc(m * sizeof *got);
    double *want_d = malloc(m * sizeof *want_d);
    assert_true(x && y && dy && want_f && got && want_d);
    support_fill_special(x, n, seed, -8.0f, 8.0f, threshold_of(act));
    support_fill_special(dy, n, seed + 1, -2.0f, 2.0f, 1.0f);
    for (size_t i = 0; i < n; i++)
        y[i] = (float)ref_forward(act, x[i]);
    if (mode == BACKWARD_XY)
        support_fill_special(y, n, seed + 2, -8.0f, 8.0f, threshold_of(act));
    for (size_t i = 0; i < n; i++) {
        want_d[i] = ref_mode(act, mode, x[i], y[i], dy[i]);
        want_f[i] = (float)want_d[i];
    }
    device_run(act, mode, x, y, dy, n, in_off, out_off, got, label);
    int ok = matches(act, mode, got, want_f, want_d, x, n, label);
    free(x);
    free(y);
    free(dy);
    free(want_f);
    free(got);
    free(want_d);
    assert_true(ok);
}

static const float leaky_alphas[] = {0.01f, 0.2f, -0.5f, 1.5f, 0.0f};
static const float elu_alphas[] = {1.0f, 0.3f, 2.0f};
static const float clipped_alphas[] = {6.0f, 0.5f};

static void sweep(relucl_activation_kind kind, enum mode mode) {
    const float relu_alphas[] = {0.0f};
    const float *alphas = relu_alphas;
    size_t count = 1;
    if (kind == RELUCL_LEAKY_RELU)
        alphas = leaky_alphas, count = sizeof leaky_alphas / sizeof *leaky_alphas;
    if (kind == RELUCL_ELU)
        alphas = elu_alphas, count = sizeof elu_alphas / sizeof *elu_alphas;
    if (kind == RELUCL_CLIPPED_RELU)
        alphas = clipped_alphas, count = sizeof clipped_alphas / sizeof *clipped_alphas;
    for (size_t a = 0; a < count; a++) {
        relucl_activation act = {kind, alphas[a]};
        /* From y alone Leaky ReLU needs alpha > 0; the error test covers the rest. */
        if (mode == BACKWARD_Y && kind == RELUCL_LEAKY_RELU && !(act.alpha > 0.0f))
            continue;
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            for (size_t o = 0; o < sizeof offsets / sizeof *offsets; o++)
                check_case(act, mode, sizes[s], offsets[o][0], offsets[o][1],
                           1000u * (uint64_t)kind + 100u * a + 10u * s + o);
    }
}

#define SWEEP_TEST(name, kind, mode)                                                               \
    static void name(void **state) {                                                               \
        (void)state;                                                                               \
        sweep(kind, mode);                                                                         \
    }
SWEEP_TEST(test_relu_forward_matches_reference, RELUCL_RELU, FORWARD)
SWEEP_TEST(test_relu_backward_from_input_matches_reference, RELUCL_RELU, BACKWARD_X)
SWEEP_TEST(test_relu_backward_from_output_matches_reference, RELUCL_RELU, BACKWARD_Y)
SWEEP_TEST(test_relu_backward_from_both_uses_input, RELUCL_RELU, BACKWARD_XY)
SWEEP_TEST(test_leaky_forward_matches_reference, RELUCL_LEAKY_RELU, FORWARD)
SWEEP_TEST(test_leaky_backward_from_input_matches_reference, RELUCL_LEAKY_RELU, BACKWARD_X)
SWEEP_TEST(test_leaky_backward_from_output_matches_reference, RELUCL_LEAKY_RELU, BACKWARD_Y)
SWEEP_TEST(test_leaky_backward_from_both_uses_input, RELUCL_LEAKY_RELU, BACKWARD_XY)
SWEEP_TEST(test_elu_forward_within_2ulp, RELUCL_ELU, FORWARD)
SWEEP_TEST(test_elu_backward_from_input_within_2ulp, RELUCL_ELU, BACKWARD_X)
SWEEP_TEST(test_elu_backward_from_output_within_1e6_relative, RELUCL_ELU, BACKWARD_Y)
SWEEP_TEST(test_elu_backward_from_both_uses_input, RELUCL_ELU, BACKWARD_XY)
SWEEP_TEST(test_clipped_forward_matches_reference, RELUCL_CLIPPED_RELU, FORWARD)
SWEEP_TEST(test_clipped_backward_from_input_matches_reference, RELUCL_CLIPPED_RELU, BACKWARD_X)
SWEEP_TEST(test_clipped_backward_from_output_matches_reference, RELUCL_CLIPPED_RELU, BACKWARD_Y)
SWEEP_TEST(test_clipped_backward_from_both_uses_input, RELUCL_CLIPPED_RELU, BACKWARD_XY)
SWEEP_TEST(test_identity_forward_copies_input, RELUCL_IDENTITY, FORWARD)
SWEEP_TEST(test_identity_backward_from_input_copies_dy, RELUCL_IDENTITY, BACKWARD_X)
SWEEP_TEST(test_identity_backward_from_output_copies_dy, RELUCL_IDENTITY, BACKWARD_Y)

/* CPU devices run the 16-wide forms of the kernels (ctx->wide); the 4-wide ones, which other
 * devices run, get the same sweeps here with the flag cleared. */
static void test_four_wide_kernels_match_reference(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    int wide = ctx->wide;
    ctx->wide = 0;
    const relucl_activation_kind kinds[] = {RELUCL_RELU, RELUCL_LEAKY_RELU, RELUCL_ELU,
                                            RELUCL_CLIPPED_RELU, RELUCL_IDENTITY};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        sweep(kinds[k], FORWARD);
        sweep(kinds[k], BACKWARD_X);
        sweep(kinds[k], BACKWARD_Y);
    }
    ctx->wide = wide;
}

/* A subset only: a million elements per case costs real time on a 2-core PoCL device. */
static void test_million_elements_match_reference(void **state) {
    (void)state;
    const size_t n = (size_t)1 << 20;
    check_case((relucl_activation){RELUCL_RELU, 0.0f}, FORWARD, n, 3, 7, 7001);
    check_case((relucl_activation){RELUCL_LEAKY_RELU, 0.01f}, BACKWARD_X, n, 7, 0, 7002);
    check_case((relucl_activation){RELUCL_ELU, 1.0f}, FORWARD, n, 0, 3, 7003);
    check_case((relucl_activation){RELUCL_CLIPPED_RELU, 6.0f}, BACKWARD_Y, n, 3, 3, 7004);
}

/* ELU's expm1 (kernels/activation_math.cl computes it itself) over the whole negative range:
 * 2^20 floats evenly spaced in bit pattern from -0.0 to -20 (every binade, denormals
 * included) and 2^20 uniform in [-1, 0), each within 1 ulp of float64's expm1. */
static void test_elu_expm1_over_every_negative_binade(void **state) {
    (void)state;
    const size_t n = (size_t)1 << 21;
    float *x = malloc(n * sizeof *x), *got = malloc(n * sizeof *got),
          *want = malloc(n * sizeof *want);
    assert_true(x && got && want);
    uint32_t lo = 0x80000000u, hi = support_bits(-20.0f);
    for (size_t i = 0; i < n / 2; i++)
        x[i] = support_from_bits(lo + (uint32_t)((uint64_t)(hi - lo) * i / (n / 2)));
    support_fill_uniform(x + n / 2, n / 2, 4242, -1.0f, 0.0f);
    relucl_activation elu = {RELUCL_ELU, 1.0f};
    for (size_t i = 0; i < n; i++)
        want[i] = (float)ref_forward(elu, x[i]);
    device_run(elu, FORWARD, x, x, x, n, 0, 0, got, "ELU over the negative binades");
    uint64_t worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = support_ulp_distance(got[i], want[i]);
        if (d > worst)
            worst = d, at = i;
    }
    if (worst > 1)
        print_error("ELU(%.9g) = %.9g, float64 says %.9g: %llu ulp\n", (double)x[at],
                    (double)got[at], (double)want[at], (unsigned long long)worst);
    free(x);
    free(got);
    free(want);
    assert_true(worst <= 1);
}

/* ELU's gradient from x needs exp(x) for x <= 0, which activation_math.cl also computes
 * itself: with a = 1 and dy = 1 the gradient is exp(x) alone. 2^20 floats evenly spaced in
 * bit pattern from -0.0 to -110 (every binade; results down through the subnormals to 0,
 * and -inf) and 2^20 uniform in [-1, 0), each within 1 ulp of float64's exp. */
static void test_elu_gradient_exp_over_every_negative_binade(void **state) {
    (void)state;
    const size_t n = (size_t)1 << 21;
    float *x = malloc(n * sizeof *x), *dy = malloc(n * sizeof *dy),
          *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
    assert_true(x && dy && got && want);
    uint32_t lo = 0x80000000u, hi = support_bits(-110.0f);
    for (size_t i = 0; i < n / 2; i++)
        x[i] = support_from_bits(lo + (uint32_t)((uint64_t)(hi - lo) * i / (n / 2)));
    x[n / 2 - 1] = -INFINITY;
    support_fill_uniform(x + n / 2, n / 2, 4343, -1.0f, 0.0f);
    relucl_activation elu = {RELUCL_ELU, 1.0f};
    for (size_t i = 0; i < n; i++) {
        dy[i] = 1.0f;
        want[i] = (float)exp((double)x[i]);
    }
    device_run(elu, BACKWARD_X, x, x, dy, n, 0, 0, got, "ELU gradient over the binades");
    uint64_t worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = support_ulp_distance(got[i], want[i]);
        if (d > worst)
            worst = d, at = i;
    }
    if (worst > 1)
        print_error("exp(%.9g) = %.9g, float64 says %.9g: %llu ulp\n", (double)x[at],
                    (double)got[at], (double)want[at], (unsigned long long)worst);
    free(x);
    free(dy);
    free(got);
    free(want);
    assert_true(worst <= 1);
}

/* ---- Hand-written rows of the semantics tables ------------------------------------------ */

/* Bit-exact, except that ELU's zero sign is left open (expm1(-0.0) is -0.0, PyTorch's
 * exp(x) - 1 gives +0.0). */
static void expect_exact(relucl_activation act, enum mode mode, const float *x, const float *dy,
                         const float *want, size_t n, const char *label) {
    float got[16];
    device_run(act, mode, x, x, dy, n, 3, 1, got, label);
    if (act.kind == RELUCL_ELU) {
        assert_true(support_within_ulp(got, want, n, 0, label));
        return;
    }
    if (mode == FORWARD && (act.kind == RELUCL_RELU || act.kind == RELUCL_CLIPPED_RELU))
        support_normalize_zero_sign(got, x, n);
    assert_true(support_equal_bits(got, want, n, label));
}

static void test_forward_special_values_follow_semantics(void **state) {
    (void)state;
    const float x[] = {NAN, INFINITY, -INFINITY, -0.0f, 0.0f, -1.0f, 2.0f, 6.0f, 7.0f};
    const float relu[] = {NAN, INFINITY, 0.0f, 0.0f, 0.0f, 0.0f, 2.0f, 6.0f, 7.0f};
    const float leaky[] = {NAN, INFINITY, -INFINITY, -0.0f, 0.0f, -0.01f, 2.0f, 6.0f, 7.0f};
    const float elu[] = {NAN, INFINITY, -0.3f, -0.0f, 0.0f};
    const float relu6[] = {NAN, 6.0f, 0.0f, 0.0f, 0.0f, 0.0f, 2.0f, 6.0f, 6.0f};
    expect_exact((relucl_activation){RELUCL_RELU, 0}, FORWARD, x, NULL, relu, 9, "relu");
    expect_exact((relucl_activation){RELUCL_LEAKY_RELU, 0.01f}, FORWARD, x, NULL, leaky, 9,
                 "leaky 0.01");
    expect_exact((relucl_activation){RELUCL_ELU, 0.3f}, FORWARD, x, NULL, elu, 5, "elu 0.3");
    expect_exact((relucl_activation){RELUCL_CLIPPED_RELU, 6}, FORWARD, x, NULL, relu6, 9, "relu6");
}

static void test_backward_special_values_follow_semantics(void **state) {
    (void)state;
    const float x[] = {0.0f, -0.0f, NAN, 6.0f, INFINITY, 3.0f, -1.0f};
    const float dy[] = {3.0f, 3.0f, 3.0f, 3.0f, 3.0f, 3.0f, NAN};
    const float relu[] = {0.0f, 0.0f, 3.0f, 3.0f, 3.0f, 3.0f, 0.0f};
    const float a6 = 0.2f * 3.0f;
    const float leaky[] = {a6, a6, a6, 3.0f, 3.0f, 3.0f, NAN};
    const float elu[] = {0.3f * 3.0f, 0.3f * 3.0f, 3.0f, 3.0f, 3.0f, 3.0f, NAN};
    const float relu6[] = {0.0f, 0.0f, 3.0f, 0.0f, 0.0f, 3.0f, 0.0f};
    expect_exact((relucl_activation){RELUCL_RELU, 0}, BACKWARD_X, x, dy, relu, 7, "relu");
    expect_exact((relucl_activation){RELUCL_LEAKY_RELU, 0.2f}, BACKWARD_X, x, dy, leaky, 7,
                 "leaky 0.2");
    expect_exact((relucl_activation){RELUCL_ELU, 0.3f}, BACKWARD_X, x, dy, elu, 7, "elu 0.3");
    expect_exact((relucl_activation){RELUCL_CLIPPED_RELU, 6}, BACKWARD_X, x, dy, relu6, 7, "relu6");
}

/* NaN * 0 would be NaN: ReLU must select 0, not multiply by the derivative. */
static void test_relu_backward_nan_dy_where_input_not_positive_gives_zero(void **state) {
    (void)state;
    const float x[] = {-1.0f, 0.0f, -0.0f, -INFINITY, 1.0f};
    const float dy[] = {NAN, NAN, -NAN, NAN, NAN};
    const float want[] = {0.0f, 0.0f, 0.0f, 0.0f, NAN};
    expect_exact((relucl_activation){RELUCL_RELU, 0}, BACKWARD_X, x, dy, want, 5, "from x");
    expect_exact((relucl_activation){RELUCL_RELU, 0}, BACKWARD_Y, x, dy, want, 5, "from y");
    expect_exact((relucl_activation){RELUCL_CLIPPED_RELU, 6}, BACKWARD_X, x, dy, want, 5,
                 "relu6 from x");
}

/* The x-based rule passes dy at NaN; from y alone the sign is unknown, so NaN. */
static void test_elu_backward_from_output_nan_gives_nan(void **state) {
    (void)state;
    const float y[] = {NAN, -0.5f, 0.0f};
    const float dy[] = {2.0f, 2.0f, 2.0f};
    float got[3];
    device_run((relucl_activation){RELUCL_ELU, 1.0f}, BACKWARD_Y, NULL, y, dy, 3, 0, 0, got,
               "elu from y");
    const float want[] = {NAN, 1.0f, 2.0f};
    assert_true(support_equal_bits(got, want, 3, "elu from y"));
}

/* With alpha > 1, dy * alpha can overflow although dy * (alpha * exp(x)) does not. */
static void test_elu_backward_large_alpha_does_not_overflow_early(void **state) {
    (void)state;
    relucl_activation act = {RELUCL_ELU, 2.0f};
    const float x[] = {-70.0f, -1.0f, -6.0f, -0.5f};
    const float dy[] = {-FLT_MAX, FLT_MAX, -FLT_MAX, 0.75f * FLT_MAX};
    float got[4], want[4];
    for (size_t i = 0; i < 4; i++)
        want[i] = (float)ref_backward_x(act, x[i], dy[i]);
    device_run(act, BACKWARD_X, x, NULL, dy, 4, 0, 0, got, "elu alpha 2");
    assert_true(support_within_ulp(got, want, 4, 2, "elu alpha 2, huge dy"));
}

static void test_relu_and_identity_ignore_alpha(void **state) {
    (void)state;
    const float x[] = {-1.0f, 2.0f};
    const float want[] = {0.0f, 2.0f};
    expect_exact((relucl_activation){RELUCL_RELU, NAN}, FORWARD, x, NULL, want, 2, "alpha NaN");
    expect_exact((relucl_activation){RELUCL_IDENTITY, -INFINITY}, FORWARD, x, NULL, x, 2,
                 "identity, alpha -inf");
}

/* ---- In place and shapes ---------------------------------------------------------------- */

static const relucl_activation in_place_acts[] = {{RELUCL_RELU, 0.0f},
                                                  {RELUCL_LEAKY_RELU, 0.2f},
                                                  {RELUCL_ELU, 1.0f},
                                                  {RELUCL_CLIPPED_RELU, 6.0f}};

enum { IP_N = 1023, IP_OFF = 3, IP_TOTAL = IP_OFF + IP_N + PAD };

/* One buffer, one view at an odd offset: forward writes y over x, backward dx over dy. */
static void check_in_place(relucl_activation act, enum mode mode, uint64_t seed) {
    relucl_context *ctx = support_ctx();
    const size_t n = IP_N, off = IP_OFF, total = IP_TOTAL;
    float x[IP_N], y[IP_N], dy[IP_N], want_f[IP_N], got[IP_TOTAL];
    double want_d[IP_N];
    support_fill_special(x, n, seed, -8.0f, 8.0f, threshold_of(act));
    support_fill_special(dy, n, seed + 1, -2.0f, 2.0f, 1.0f);
    for (size_t i = 0; i < n; i++) {
        y[i] = (float)ref_forward(act, x[i]);
        want_d[i] = ref_mode(act, mode, x[i], y[i], dy[i]);
        want_f[i] = (float)want_d[i];
    }
    cl_mem io = input_buffer(mode == FORWARD ? x : dy, n, off);
    cl_mem in = input_buffer(mode == BACKWARD_Y ? y : x, n, 0);
    relucl_tensor tio = support_view1(io, off, n), tin = support_view1(in, 0, n);
    relucl_status st;
    if (mode == FORWARD)
        st = relucl_activation_forward(ctx, act, &tio, &tio);
    else if (mode == BACKWARD_X)
        st = relucl_activation_backward(ctx, act, &tin, NULL, &tio, &tio);
    else
        st = relucl_activation_backward(ctx, act, NULL, &tin, &tio, &tio);
    if (st != RELUCL_OK)
        fail_msg("%s: %s", relucl_status_name(st), relucl_context_error(ctx));
    support_buffer_read(io, 0, got, total);
    assert_true(support_is_poison(got, 0, off, mode_names[mode]));
    assert_true(support_is_poison(got, off + n, total, mode_names[mode]));
    assert_true(matches(act, mode, got + off, want_f, want_d, x, n, mode_names[mode]));
    support_buffer_release(io);
    support_buffer_release(in);
}

static void test_forward_in_place_matches_reference(void **state) {
    (void)state;
    for (size_t k = 0; k < 4; k++)
        check_in_place(in_place_acts[k], FORWARD, 300 + k);
}

static void test_backward_in_place_matches_reference(void **state) {
    (void)state;
    for (size_t k = 0; k < 4; k++) {
        check_in_place(in_place_acts[k], BACKWARD_X, 400 + k);
        check_in_place(in_place_acts[k], BACKWARD_Y, 500 + k);
    }
}

/* Only the element count has to agree: a (2,6) input may feed a (3,4) output. */
static void test_shapes_may_differ_when_counts_agree(void **state) {
    (void)state;
    float x[12], got[12 + PAD], want[12];
    support_fill_uniform(x, 12, 77, -3.0f, 3.0f);
    for (size_t i = 0; i < 12; i++)
        want[i] = x[i] > 0 ? x[i] : 0.0f;
    cl_mem bx = support_buffer_from(x, 12), by = support_buffer_poisoned(12 + PAD);
    const size_t dx[] = {2, 6}, dyv[] = {3, 1, 2, 2};
    relucl_tensor tx = support_view(bx, 0, 2, dx), ty = support_view(by, 0, 4, dyv);
    assert_int_equal(relucl_activation_forward(support_ctx(), plain_relu, &tx, &ty), RELUCL_OK);
    support_buffer_read(by, 0, got, 12 + PAD);
    assert_true(support_equal_bits(got, want, 12, "2x6 -> 3x1x2x2"));
    assert_true(support_is_poison(got, 12, 12 + PAD, "past the end"));
    support_buffer_release(bx);
    support_buffer_release(by);
}

/* ---- Errors: right status, the argument named, nothing written -------------------------- */

enum { EN = 8, ETOTAL = 32 };

/* x and dy read `in`; y and dx are outputs in `out`, which holds nothing but poison. */
static struct fixture {
    cl_mem in, out;
    relucl_tensor x, y, dy, dx;
} f;

static int fixture_setup(void **state) {
    (void)state;
    float data[ETOTAL];
    support_fill_uniform(data, ETOTAL, 5, -1.0f, 1.0f);
    f.in = support_buffer_from(data, ETOTAL);
    f.out = support_buffer_poisoned(ETOTAL);
    f.x = support_view1(f.in, 0, EN);
    f.dy = support_view1(f.in, 16, EN);
    f.y = support_view1(f.out, 3, EN);
    f.dx = support_view1(f.out, 13, EN);
    return 0;
}

static int fixture_teardown(void **state) {
    (void)state;
    support_buffer_release(f.in);
    support_buffer_release(f.out);
    return 0;
}

static relucl_status fwd(relucl_activation act, const relucl_tensor *x, const relucl_tensor *y) {
    return relucl_activation_forward(support_ctx(), act, x, y);
}

static relucl_status bwd(relucl_activation act, const relucl_tensor *x, const relucl_tensor *y,
                         const relucl_tensor *dy, const relucl_tensor *dx) {
    return relucl_activation_backward(support_ctx(), act, x, y, dy, dx);
}

/* word NULL: the context is NULL too, so there is no message to read. */
static void expect_rejected(relucl_status got, relucl_status want, const char *word) {
    support_expect_rejected(got, want, word, f.out, ETOTAL);
}

static const relucl_status BAD_ARG = RELUCL_ERROR_INVALID_ARGUMENT, BAD_SHAPE = RELUCL_ERROR_SHAPE;

static void test_null_arguments_are_rejected(void **state) {
    (void)state;
    expect_rejected(relucl_activation_forward(NULL, plain_relu, &f.x, &f.y), BAD_ARG, NULL);
    expect_rejected(relucl_activation_backward(NULL, plain_relu, &f.x, NULL, &f.dy, &f.dx), BAD_ARG,
                    NULL);
    assert_string_equal(relucl_context_error(NULL), "");
    expect_rejected(fwd(plain_relu, NULL, &f.y), BAD_ARG, "x");
    expect_rejected(fwd(plain_relu, &f.x, NULL), BAD_ARG, "y");
    expect_rejected(bwd(plain_relu, &f.x, NULL, NULL, &f.dx), BAD_ARG, "dy");
    expect_rejected(bwd(plain_relu, &f.x, NULL, &f.dy, NULL), BAD_ARG, "dx");
    /* Backward needs x or y. */
    expect_rejected(bwd(plain_relu, NULL, NULL, &f.dy, &f.dx), BAD_ARG, "x");
    relucl_tensor no_buffer = f.x;
    no_buffer.buffer = NULL;
    expect_rejected(fwd(plain_relu, &no_buffer, &f.y), BAD_ARG, "x");
}

static void test_unknown_kind_is_rejected(void **state) {
    (void)state;
    /* PReLU needs a slope tensor, which only relucl_prelu_* take. */
    const relucl_activation bad[] = {{(relucl_activation_kind)99, 1.0f}, {RELUCL_PRELU, 0.25f}};
    for (size_t i = 0; i < 2; i++) {
        expect_rejected(fwd(bad[i], &f.x, &f.y), BAD_ARG, "kind");
        expect_rejected(bwd(bad[i], &f.x, NULL, &f.dy, &f.dx), BAD_ARG, "kind");
    }
}

static void expect_bad_alpha(relucl_activation act) {
    expect_rejected(fwd(act, &f.x, &f.y), BAD_ARG, "alpha");
    expect_rejected(bwd(act, &f.x, NULL, &f.dy, &f.dx), BAD_ARG, "alpha");
}

/* RELU and IDENTITY ignore alpha; the others need a finite one, and ELU and clipped ReLU a
 * positive one. */
static void test_bad_alpha_is_rejected(void **state) {
    (void)state;
    const relucl_activation_kind kinds[] = {RELUCL_LEAKY_RELU, RELUCL_ELU, RELUCL_CLIPPED_RELU};
    const float non_finite[] = {NAN, INFINITY, -INFINITY}, non_positive[] = {0.0f, -0.0f, -1.0f};
    for (size_t k = 0; k < 3; k++)
        for (size_t a = 0; a < 3; a++)
            expect_bad_alpha((relucl_activation){kinds[k], non_finite[a]});
    for (size_t a = 0; a < 3; a++) {
        expect_bad_alpha((relucl_activation){RELUCL_ELU, non_positive[a]});
        expect_bad_alpha((relucl_activation){RELUCL_CLIPPED_RELU, non_positive[a]});
    }
}

/* With alpha <= 0 a negative x and a positive x can give outputs of the same sign. */
static void test_leaky_from_output_requires_positive_alpha(void **state) {
    (void)state;
    const float alphas[] = {0.0f, -0.5f};
    for (size_t a = 0; a < 2; a++)
        expect_rejected(
            bwd((relucl_activation){RELUCL_LEAKY_RELU, alphas[a]}, NULL, &f.x, &f.dy, &f.dx),
            BAD_ARG, "alpha");
    /* Given x as well, x decides and the call is fine. */
    relucl_tensor dx = support_view1(f.in, 24, EN);
    assert_int_equal(bwd((relucl_activation){RELUCL_LEAKY_RELU, 0.0f}, &f.x, &f.x, &f.dy, &dx),
                     RELUCL_OK);
    assert_int_equal(relucl_context_finish(support_ctx()), RELUCL_OK);
}

static void test_mismatched_counts_are_rejected(void **state) {
    (void)state;
    relucl_tensor short_y = support_view1(f.out, 3, EN - 1);
    relucl_tensor short_dx = support_view1(f.out, 13, EN - 1);
    relucl_tensor long_dy = support_view1(f.in, 16, EN + 1);
    relucl_tensor short_in_y = support_view1(f.in, 8, EN - 1);
    expect_rejected(fwd(plain_relu, &f.x, &short_y), BAD_SHAPE, "y");
    expect_rejected(bwd(plain_relu, &f.x, NULL, &f.dy, &short_dx), BAD_SHAPE, "dx");
    expect_rejected(bwd(plain_relu, &f.x, NULL, &long_dy, &f.dx), BAD_SHAPE, "dy");
    expect_rejected(bwd(plain_relu, &f.x, &short_in_y, &f.dy, &f.dx), BAD_SHAPE, "y");
}

static void test_bad_ndim_is_rejected(void **state) {
    (void)state;
    const size_t dims[] = {2, 2, 2, 1, 1};
    const int ndims[] = {0, 5, -1};
    for (size_t i = 0; i < 3; i++) {
        relucl_tensor bad = support_view_raw(f.in, 0, ndims[i], dims);
        expect_rejected(fwd(plain_relu, &bad, &f.y), BAD_SHAPE, "x");
        expect_rejected(bwd(plain_relu, &f.x, NULL, &bad, &f.dx), BAD_SHAPE, "dy");
    }
}

/* The views claim elements [28, 36) and [32, 40) of a 32-element buffer: CL_MEM_SIZE decides. */
static void test_view_past_buffer_end_is_rejected(void **state) {
    (void)state;
    relucl_tensor x = support_view1(f.in, ETOTAL - EN + 4, EN);
    relucl_tensor dy = support_view1(f.in, ETOTAL, EN);
    expect_rejected(fwd(plain_relu, &x, &f.y), BAD_SHAPE, "x");
    expect_rejected(bwd(plain_relu, &f.x, NULL, &dy, &f.dx), BAD_SHAPE, "dy");
}

/* Products that wrap around size_t: to 2^64 - 4, to 0 (which would pass as "empty") and to
 * exactly EN, which a wrapping count would take for a valid 8-element tensor. */
static void test_overflowing_dims_are_rejected(void **state) {
    (void)state;
    const size_t dims[][RELUCL_MAX_DIMS] = {{SIZE_MAX / 2, 4, 1, 1},
                                            {SIZE_MAX / 2 + 1, 2, 1, 1},
                                            {SIZE_MAX / 2 + 1 + EN / 2, 2, 1, 1},
                                            {SIZE_MAX / 8 + 1, 2, 2, 2}};
    for (size_t i = 0; i < sizeof dims / sizeof *dims; i++) {
        relucl_tensor x = support_view_raw(f.in, 0, 4, dims[i]);
        relucl_tensor dy = support_view_raw(f.in, 16, 4, dims[i]);
        expect_rejected(fwd(plain_relu, &x, &f.y), BAD_SHAPE, "x");
        expect_rejected(bwd(plain_relu, &f.x, NULL, &dy, &f.dx), BAD_SHAPE, "dy");
    }
    relucl_tensor far = support_view1(f.in, SIZE_MAX - 2, EN);
    expect_rejected(fwd(plain_relu, &far, &f.y), BAD_SHAPE, "x");
}

/* Only the exact same view is in place; a shifted view would read already-written data. */
static void test_partial_overlap_is_rejected(void **state) {
    (void)state;
    relucl_tensor x = support_view1(f.out, 0, EN), shifted = support_view1(f.out, 4, EN);
    expect_rejected(fwd(plain_relu, &x, &shifted), BAD_ARG, "y");
    expect_rejected(fwd(plain_relu, &shifted, &x), BAD_ARG, "y");
    relucl_tensor dy = support_view1(f.out, 10, EN), dx = support_view1(f.out, 12, EN);
    relucl_tensor xo = support_view1(f.out, 14, EN);
    expect_rejected(bwd(plain_relu, &f.x, NULL, &dy, &dx), BAD_ARG, "dx");
    expect_rejected(bwd(plain_relu, &xo, NULL, &f.dy, &dx), BAD_ARG, "dx");
    expect_rejected(bwd(plain_relu, NULL, &xo, &f.dy, &dx), BAD_ARG, "dx");
    /* dx may be dy, but not x or y even when the views are identical. */
    expect_rejected(bwd(plain_relu, &dx, NULL, &f.dy, &dx), BAD_ARG, "dx");
    expect_rejected(bwd(plain_relu, NULL, &dx, &f.dy, &dx), BAD_ARG, "dx");
}

#define ERROR_TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relu_forward_matches_reference),
        cmocka_unit_test(test_relu_backward_from_input_matches_reference),
        cmocka_unit_test(test_relu_backward_from_output_matches_reference),
        cmocka_unit_test(test_relu_backward_from_both_uses_input),
        cmocka_unit_test(test_leaky_forward_matches_reference),
        cmocka_unit_test(test_leaky_backward_from_input_matches_reference),
        cmocka_unit_test(test_leaky_backward_from_output_matches_reference),
        cmocka_unit_test(test_leaky_backward_from_both_uses_input),
        cmocka_unit_test(test_elu_forward_within_2ulp),
        cmocka_unit_test(test_elu_backward_from_input_within_2ulp),
        cmocka_unit_test(test_elu_backward_from_output_within_1e6_relative),
        cmocka_unit_test(test_elu_backward_from_both_uses_input),
        cmocka_unit_test(test_clipped_forward_matches_reference),
        cmocka_unit_test(test_clipped_backward_from_input_matches_reference),
        cmocka_unit_test(test_clipped_backward_from_output_matches_reference),
        cmocka_unit_test(test_clipped_backward_from_both_uses_input),
        cmocka_unit_test(test_identity_forward_copies_input),
        cmocka_unit_test(test_identity_backward_from_input_copies_dy),
        cmocka_unit_test(test_identity_backward_from_output_copies_dy),
        cmocka_unit_test(test_four_wide_kernels_match_reference),
        cmocka_unit_test(test_million_elements_match_reference),
        cmocka_unit_test(test_elu_expm1_over_every_negative_binade),
        cmocka_unit_test(test_elu_gradient_exp_over_every_negative_binade),
        cmocka_unit_test(test_forward_special_values_follow_semantics),
        cmocka_unit_test(test_backward_special_values_follow_semantics),
        cmocka_unit_test(test_relu_backward_nan_dy_where_input_not_positive_gives_zero),
        cmocka_unit_test(test_elu_backward_from_output_nan_gives_nan),
        cmocka_unit_test(test_elu_backward_large_alpha_does_not_overflow_early),
        cmocka_unit_test(test_relu_and_identity_ignore_alpha),
        cmocka_unit_test(test_forward_in_place_matches_reference),
        cmocka_unit_test(test_backward_in_place_matches_reference),
        cmocka_unit_test(test_shapes_may_differ_when_counts_agree),
        ERROR_TEST(test_null_arguments_are_rejected),
        ERROR_TEST(test_unknown_kind_is_rejected),
        ERROR_TEST(test_bad_alpha_is_rejected),
        ERROR_TEST(test_leaky_from_output_requires_positive_alpha),
        ERROR_TEST(test_mismatched_counts_are_rejected),
        ERROR_TEST(test_bad_ndim_is_rejected),
        ERROR_TEST(test_view_past_buffer_end_is_rejected),
        ERROR_TEST(test_overflowing_dims_are_rejected),
        ERROR_TEST(test_partial_overlap_is_rejected),
    };
    return cmocka_run_group_tests_name("activation", tests, support_setup, support_teardown);
}
