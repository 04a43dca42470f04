/* Philox4x32-10 against the Random123 known answers on the host and the device, the
 * initialisers (bitwise against a host model of the element mapping, and statistically),
 * dropout, shuffling, and every documented error. */
#include "core/core.h"
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Elements past the written range, so a kernel that runs over the end is caught. */
enum { PAD = 5 };

static const double PI = 3.14159265358979323846;
static const size_t awkward_sizes[] = {0, 1, 3, 5, 4097};
static const size_t odd_offsets[] = {0, 3, 7};
static const unsigned long long SEED = 0x0123456789ABCDEFull, STREAM = 0xFEDCBA9876543210ull;

/* From tests/kat_vectors of Random123 (DEShawResearch/random123 at 9545ff6): the three
 * "philox4x32 10" lines, counter[4], key[2], then the four output words. */
static const unsigned kat[3][10] = {
    {0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x6627e8d5, 0xe169c58d,
     0xbc57ac4c, 0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e,
     0xa20bc7c6, 0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb,
     0x5001e420, 0x24126ea1},
};

/* ---- A host model of the element mapping documented in host/ops/random.c --------------------- */

static void block_words(unsigned long long seed, unsigned long long stream, uint64_t block,
                        unsigned w[4]) {
    unsigned c[4] = {(unsigned)block, (unsigned)(block >> 32), (unsigned)stream,
                     (unsigned)(stream >> 32)};
    unsigned k[2] = {(unsigned)seed, (unsigned)(seed >> 32)};
    relucl_philox4x32(c, k, w);
}

static float uniform01(unsigned w) { return (float)(w >> 8) * 0x1p-24f; }

/* Element i of a U(-bound, bound) init, in the same float steps as the kernel. */
static float ref_uniform(float bound, unsigned long long seed, unsigned long long stream,
                         size_t i) {
    unsigned w[4];
    block_words(seed, stream, i / 4, w);
    float twice = uniform01(w[i % 4]) * 2.0f;
    float centred = twice - 1.0f;
    return centred * bound;
}

/* Element i of a standard-normal init, in float64. */
static double ref_normal(unsigned long long seed, unsigned long long stream, size_t i) {
    unsigned w[4];
    block_words(seed, stream, i / 4, w);
    size_t pair = (i % 4) / 2 * 2;
    double u1 = ((double)(w[pair] >> 8) + 1.0) * 0x1p-24;
    double angle = PI * (double)(w[pair + 1] >> 8) * 0x1p-23;
    double r = sqrt(-2.0 * log(u1));
    return i % 2 == 0 ? r * cos(angle) : r * sin(angle);
}

/* ---- Device runs ------------------------------------------------------------------------- */

/* Runs init on a 1-D view of n elements at `offset` in a poisoned buffer, checks the poison
 * around it and returns the values (free them). */
static float *run_init(relucl_init init, size_t n, size_t offset) {
    size_t total = offset + n + PAD;
    cl_mem buffer = support_buffer_poisoned(total);
    relucl_tensor t = support_view1(buffer, offset, n);
    relucl_status st = relucl_init_tensor(support_ctx(), &init, &t);
    if (st != RELUCL_OK)
        fail_msg("relucl_init_tensor: %s", relucl_context_error(support_ctx()));
    float *out = malloc((n ? n : 1) * sizeof *out);
    assert_non_null(out);
    support_read_checked(buffer, offset, n, total, out, "init output");
    support_buffer_release(buffer);
    return out;
}

static relucl_init make_init(relucl_init_kind kind, float value, size_t fan_in, size_t fan_out) {
    relucl_init init = {kind, value, fan_in, fan_out, SEED, STREAM};
    return init;
}

typedef struct dropout_run {
    float *mask, *y;
} dropout_run;

/* Dropout forward on x (n elements) with x, mask and y at their own odd offsets. */
static dropout_run run_dropout(float p, unsigned long long seed, unsigned long long stream,
                               const float *x, size_t n) {
    size_t xo = 3, mo = 7, yo = 1;
    cl_mem bx = support_buffer_at(x, n, xo, PAD), bm = support_buffer_poisoned(mo + n + PAD),
           by = support_buffer_poisoned(yo + n + PAD);
    relucl_tensor tx = support_view1(bx, xo, n), tm = support_view1(bm, mo, n),
                  ty = support_view1(by, yo, n);
    relucl_status st = relucl_dropout_forward(support_ctx(), p, seed, stream, &tx, &tm, &ty);
    if (st != RELUCL_OK)
        fail_msg("relucl_dropout_forward: %s", relucl_context_error(support_ctx()));
    dropout_run run = {malloc((n ? n : 1) * sizeof(float)), malloc((n ? n : 1) * sizeof(float))};
    assert_true(run.mask && run.y);
    support_read_checked(bm, mo, n, mo + n + PAD, run.mask, "dropout mask");
    support_read_checked(by, yo, n, yo + n + PAD, run.y, "dropout y");
    float *x_after = malloc((n ? n : 1) * sizeof(float));
    assert_non_null(x_after);
    support_read_checked(bx, xo, n, xo + n + PAD, x_after, "dropout x");
    assert_true(support_equal_bits(x_after, x, n, "x is left alone"));
    free(x_after);
    support_buffer_release(bx);
    support_buffer_release(bm);
    support_buffer_release(by);
    return run;
}

static void free_run(dropout_run run) {
    free(run.mask);
    free(run.y);
}

/* The mask and output the documentation promises, from the host model. */
static void ref_dropout(float p, unsigned long long seed, unsigned long long stream, const float *x,
                        size_t n, float *mask, float *y) {
    float scale = (float)(1.0 / (1.0 - (double)p));
    for (size_t i = 0; i < n; i++) {
        unsigned w[4];
        block_words(seed, stream, i / 4, w);
        mask[i] = uniform01(w[i % 4]) >= p ? scale : 0.0f;
        y[i] = x[i] * mask[i];
    }
}

/* ---- Philox ------------------------------------------------------------------------------ */

static void test_philox_host_matches_random123_known_answers(void **state) {
    (void)state;
    for (int k = 0; k < 3; k++) {
        unsigned out[4];
        relucl_philox4x32(kat[k], kat[k] + 4, out);
        for (int j = 0; j < 4; j++)
            if (out[j] != kat[k][6 + j])
                fail_msg("vector %d word %d: %08x, want %08x", k, j, out[j], kat[k][6 + j]);
    }
}

static void test_philox_output_may_be_the_counter(void **state) {
    (void)state;
    unsigned c[4] = {kat[2][0], kat[2][1], kat[2][2], kat[2][3]};
    relucl_philox4x32(c, kat[2] + 4, c);
    assert_memory_equal(c, kat[2] + 6, sizeof c);
}

/* Runs the library's Philox on the device through its test kernel: `cases` rows of
 * counter[4], key[2] in `in`, four words per row out. */
static void device_philox(const unsigned *in, size_t cases, unsigned *out) {
    relucl_context *ctx = support_ctx();
    cl_int err1 = CL_SUCCESS, err2 = CL_SUCCESS;
    unsigned *copy = malloc(6 * cases * sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, in, 6 * cases * sizeof *copy);
    cl_mem bin =
        clCreateBuffer(relucl_context_cl_context(ctx), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                       6 * cases * sizeof *copy, copy, &err1);
    cl_mem bout = clCreateBuffer(relucl_context_cl_context(ctx), CL_MEM_WRITE_ONLY,
                                 4 * cases * sizeof *out, NULL, &err2);
    free(copy);
    assert_int_equal(err1, CL_SUCCESS);
    assert_int_equal(err2, CL_SUCCESS);
    assert_int_equal(RELUCL__LAUNCH(ctx, "test", RELUCL_PROGRAM_RANDOM, "philox_words",
                                    relucl__range_1d(ctx, cases, 0), RELUCL__MEM(bin),
                                    RELUCL__MEM(bout), RELUCL__ULONG(cases)),
                     RELUCL_OK);
    assert_int_equal(clEnqueueReadBuffer(relucl_context_queue(ctx), bout, CL_TRUE, 0,
                                         4 * cases * sizeof *out, out, 0, NULL, NULL),
                     CL_SUCCESS);
    clReleaseMemObject(bin);
    clReleaseMemObject(bout);
}

static void test_philox_device_matches_random123_known_answers(void **state) {
    (void)state;
    unsigned in[18], out[12];
    for (int k = 0; k < 3; k++)
        memcpy(in + 6 * k, kat[k], 6 * sizeof *in);
    device_philox(in, 3, out);
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 4; j++)
            if (out[4 * k + j] != kat[k][6 + j])
                fail_msg("device vector %d word %d: %08x, want %08x", k, j, out[4 * k + j],
                         kat[k][6 + j]);
}

static void test_philox_device_matches_host_on_random_inputs(void **state) {
    (void)state;
    enum { CASES = 1000 };
    static unsigned in[6 * CASES], got[4 * CASES];
    support_rng rng = support_rng_make(7);
    for (size_t i = 0; i < 6 * CASES; i++)
        in[i] = (unsigned)support_rng_next(&rng);
    device_philox(in, CASES, got);
    for (size_t k = 0; k < CASES; k++) {
        unsigned want[4];
        relucl_philox4x32(in + 6 * k, in + 6 * k + 4, want);
        if (memcmp(want, got + 4 * k, sizeof want) != 0)
            fail_msg("case %zu: device and host words differ", k);
    }
}

/* ---- Initialisers: exact values -------------------------------------------------------- */

static void test_uniform_first_block_uses_known_answer_words(void **state) {
    (void)state;
    relucl_init init = {RELUCL_INIT_UNIFORM, 1.0f, 0, 0, 0, 0}; /* counter 0, key 0 */
    float *got = run_init(init, 4, 0);
    for (int j = 0; j < 4; j++) {
        float want = (float)(kat[0][6 + j] >> 8) * 0x1p-23f - 1.0f;
        if (support_bits(got[j]) != support_bits(want))
            fail_msg("element %d: %a, want %a", j, (double)got[j], (double)want);
    }
    free(got);
}

static void test_uniform_init_matches_host_mapping_bitwise(void **state) {
    (void)state;
    size_t n = 4097;
    relucl_init init = make_init(RELUCL_INIT_UNIFORM, 1.5f, 0, 0);
    float *got = run_init(init, n, 3), *want = malloc(n * sizeof *want);
    assert_non_null(want);
    for (size_t i = 0; i < n; i++)
        want[i] = ref_uniform(1.5f, SEED, STREAM, i);
    assert_true(support_equal_bits(got, want, n, "uniform init"));
    free(got);
    free(want);
}

static void test_normal_init_matches_box_muller_reference(void **state) {
    (void)state;
    size_t n = 4097;
    relucl_init init = make_init(RELUCL_INIT_NORMAL, 1.0f, 0, 0);
    float *got = run_init(init, n, 5);
    double *want = malloc(n * sizeof *want);
    assert_non_null(want);
    for (size_t i = 0; i < n; i++)
        want[i] = ref_normal(SEED, STREAM, i);
    /* log, sqrt and sinpi/cospi are a few ulp from exact on any device. */
    assert_true(support_close(got, want, n, 1e-5, 1.0, NULL, "normal init"));
    free(got);
    free(want);
}

static void test_constant_and_zeros_fill_exactly(void **state) {
    (void)state;
    size_t n = 37;
    float want_c[37], want_z[37];
    for (size_t i = 0; i < n; i++) {
        want_c[i] = -2.75f;
        want_z[i] = 0.0f;
    }
    float *c = run_init(make_init(RELUCL_INIT_CONSTANT, -2.75f, 0, 0), n, 3);
    float *z = run_init(make_init(RELUCL_INIT_ZEROS, 99.0f, 0, 0), n, 7);
    assert_true(support_equal_bits(c, want_c, n, "constant"));
    assert_true(support_equal_bits(z, want_z, n, "zeros (+0.0)"));
    free(c);
    free(z);
}

/* Element i depends only on (seed, stream, i): every size and offset gives a prefix of the
 * same sequence, and nothing outside the view is written. */
static void test_awkward_sizes_and_offsets_give_prefixes_of_one_sequence(void **state) {
    (void)state;
    const relucl_init_kind kinds[] = {RELUCL_INIT_UNIFORM, RELUCL_INIT_NORMAL, RELUCL_INIT_CONSTANT,
                                      RELUCL_INIT_ZEROS};
    for (size_t k = 0; k < 4; k++) {
        relucl_init init = make_init(kinds[k], 0.5f, 0, 0);
        float *whole = run_init(init, 4097, 0);
        for (size_t s = 0; s < sizeof awkward_sizes / sizeof *awkward_sizes; s++)
            for (size_t o = 0; o < sizeof odd_offsets / sizeof *odd_offsets; o++) {
                char what[64];
                snprintf(what, sizeof what, "kind %d, n %zu, offset %zu", (int)kinds[k],
                         awkward_sizes[s], odd_offsets[o]);
                float *got = run_init(init, awkward_sizes[s], odd_offsets[o]);
                assert_true(support_equal_bits(got, whole, awkward_sizes[s], what));
                free(got);
            }
        free(whole);
    }
}

/* ---- Initialisers: determinism ---------------------------------------------------------- */

/* Elements where a and b have the same bits. */
static size_t same_bits(const float *a, const float *b, size_t n) {
    size_t same = 0;
    for (size_t i = 0; i < n; i++)
        same += support_bits(a[i]) == support_bits(b[i]);
    return same;
}

static void test_same_init_gives_same_bits(void **state) {
    (void)state;
    const relucl_init_kind kinds[] = {RELUCL_INIT_HE_NORMAL, RELUCL_INIT_XAVIER_UNIFORM};
    for (int k = 0; k < 2; k++) {
        relucl_init init = make_init(kinds[k], 0.0f, 300, 100);
        float *a = run_init(init, 1000, 0), *b = run_init(init, 1000, 0);
        assert_true(support_equal_bits(a, b, 1000, "a repeated init"));
        free(a);
        free(b);
    }
}

static void test_other_seed_or_stream_gives_other_values(void **state) {
    (void)state;
    size_t n = 1000;
    relucl_init base = make_init(RELUCL_INIT_HE_NORMAL, 0.0f, 300, 0);
    relucl_init seed = base, stream = base, high = base;
    seed.seed ^= 1;
    stream.stream ^= 1;
    high.seed ^= 1ull << 63; /* the key's high word matters too */
    float *a = run_init(base, n, 0), *b = run_init(seed, n, 0), *c = run_init(stream, n, 0),
          *d = run_init(high, n, 0);
    assert_true(same_bits(a, b, n) < 5);
    assert_true(same_bits(a, c, n) < 5);
    assert_true(same_bits(a, d, n) < 5);
    assert_true(same_bits(b, c, n) < 5);
    free(a);
    free(b);
    free(c);
    free(d);
}

/* ---- Initialisers: statistics ---------------------------------------------------------- */

enum { STAT_N = 1 << 16 };

typedef struct moments {
    double mean, std, lo, hi, within_1sd;
} moments;

static moments measure(const float *v, size_t n, double sd) {
    moments m = {0, 0, INFINITY, -INFINITY, 0};
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        m.lo = fmin(m.lo, v[i]);
        m.hi = fmax(m.hi, v[i]);
        m.within_1sd += fabs(v[i]) <= sd;
    }
    m.mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        sq += (v[i] - m.mean) * (v[i] - m.mean);
    m.std = sqrt(sq / (double)(n - 1));
    m.within_1sd /= (double)n;
    return m;
}

/* Mean within 5 standard errors of 0, standard deviation within 2 %, and the share within one
 * standard deviation of 0 as the distribution says (0.6827 normal, 0.5774 uniform). */
static void check_spread(relucl_init init, double want_sd, int normal) {
    float *v = run_init(init, STAT_N, 1);
    moments m = measure(v, STAT_N, want_sd);
    free(v);
    double share = normal ? 0.682689 : 1.0 / sqrt(3.0);
    if (fabs(m.mean) > 5 * want_sd / sqrt(STAT_N) || fabs(m.std / want_sd - 1) > 0.02 ||
        fabs(m.within_1sd - share) > 0.01)
        fail_msg("kind %d: mean %g, std %g (want %g), within 1 sd %g (want %g)", (int)init.kind,
                 m.mean, m.std, want_sd, m.within_1sd, share);
    if (!normal) { /* U(-b, b) reaches close to both ends and never past them */
        double b = want_sd * sqrt(3.0);
        if (m.lo < -b * (1 + 1e-6) || m.hi > b * (1 + 1e-6) || m.lo > -0.999 * b ||
            m.hi < 0.999 * b)
            fail_msg("kind %d: range [%g, %g], want inside [-%g, %g]", (int)init.kind, m.lo, m.hi,
                     b, b);
    }
}

static void test_he_normal_has_std_sqrt_2_over_fan_in(void **state) {
    (void)state;
    check_spread(make_init(RELUCL_INIT_HE_NORMAL, 0.0f, 50, 7), sqrt(2.0 / 50), 1);
}

static void test_he_uniform_stays_within_sqrt_6_over_fan_in(void **state) {
    (void)state;
    check_spread(make_init(RELUCL_INIT_HE_UNIFORM, 0.0f, 50, 7), sqrt(2.0 / 50), 0);
}

static void test_xavier_normal_has_std_sqrt_2_over_fans(void **state) {
    (void)state;
    check_spread(make_init(RELUCL_INIT_XAVIER_NORMAL, 0.0f, 784, 128), sqrt(2.0 / 912), 1);
}

static void test_xavier_uniform_stays_within_sqrt_6_over_fans(void **state) {
    (void)state;
    check_spread(make_init(RELUCL_INIT_XAVIER_UNIFORM, 0.0f, 784, 128), sqrt(2.0 / 912), 0);
}

static void test_uniform_and_normal_take_their_spread_from_value(void **state) {
    (void)state;
    check_spread(make_init(RELUCL_INIT_UNIFORM, 3.0f, 0, 0), 3.0 / sqrt(3.0), 0);
    check_spread(make_init(RELUCL_INIT_NORMAL, 0.25f, 0, 0), 0.25, 1);
}

/* ---- Dropout ------------------------------------------------------------------------------ */

static void test_dropout_follows_host_mapping_bitwise(void **state) {
    (void)state;
    for (size_t s = 0; s < sizeof awkward_sizes / sizeof *awkward_sizes; s++) {
        size_t n = awkward_sizes[s];
        float *x = malloc((n + 1) * sizeof *x), *mask = malloc((n + 1) * sizeof *mask),
              *y = malloc((n + 1) * sizeof *y);
        assert_true(x && mask && y);
        support_fill_uniform(x, n, 11, -4.0f, 4.0f);
        ref_dropout(0.3f, SEED, STREAM, x, n, mask, y);
        dropout_run run = run_dropout(0.3f, SEED, STREAM, x, n);
        assert_true(support_equal_bits(run.mask, mask, n, "dropout mask"));
        assert_true(support_equal_bits(run.y, y, n, "dropout y"));
        free_run(run);
        free(x);
        free(mask);
        free(y);
    }
}

static void test_dropout_keeps_about_one_minus_p(void **state) {
    (void)state;
    const float ps[] = {0.1f, 0.5f, 0.9f};
    float *x = malloc(STAT_N * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < STAT_N; i++)
        x[i] = 1.0f;
    for (int k = 0; k < 3; k++) {
        float p = ps[k], scale = (float)(1.0 / (1.0 - (double)p));
        dropout_run run = run_dropout(p, 5, (unsigned long long)k, x, STAT_N);
        size_t kept = 0;
        for (size_t i = 0; i < STAT_N; i++) {
            if (run.mask[i] != 0.0f && run.mask[i] != scale)
                fail_msg("mask[%zu] is %g, want 0 or %g", i, (double)run.mask[i], (double)scale);
            kept += run.mask[i] != 0.0f;
        }
        double share = (double)kept / STAT_N, sd = sqrt(p * (1.0 - p) / STAT_N);
        if (fabs(share - (1.0 - p)) > 5 * sd)
            fail_msg("p %g kept %g, want %g", (double)p, share, 1.0 - p);
        free_run(run);
    }
    free(x);
}

static void test_dropout_with_p_zero_is_identity(void **state) {
    (void)state;
    size_t n = 1031;
    float *x = malloc(n * sizeof *x), *ones = malloc(n * sizeof *ones);
    assert_true(x && ones);
    support_fill_special(x, n, 3, -10.0f, 10.0f, 1.0f);
    for (size_t i = 0; i < n; i++)
        ones[i] = 1.0f;
    dropout_run run = run_dropout(0.0f, SEED, STREAM, x, n);
    assert_true(support_equal_bits(run.mask, ones, n, "mask with p 0"));
    assert_true(support_equal_bits(run.y, x, n, "y with p 0"));
    free_run(run);
    free(x);
    free(ones);
}

static void test_dropout_stream_changes_mask_and_seed_repeats_it(void **state) {
    (void)state;
    size_t n = 2000;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    support_fill_uniform(x, n, 2, 1.0f, 2.0f);
    dropout_run a = run_dropout(0.5f, SEED, 1, x, n), b = run_dropout(0.5f, SEED, 1, x, n),
                c = run_dropout(0.5f, SEED, 2, x, n);
    assert_true(support_equal_bits(a.mask, b.mask, n, "same seed and stream"));
    assert_true(same_bits(a.mask, c.mask, n) < n * 6 / 10); /* about half agree by chance */
    free_run(a);
    free_run(b);
    free_run(c);
    free(x);
}

static void test_dropout_in_place_matches_out_of_place(void **state) {
    (void)state;
    size_t n = 4097, off = 3;
    float *x = malloc(n * sizeof *x), *mask = malloc(n * sizeof *mask), *y = malloc(n * sizeof *y),
          *got = malloc(n * sizeof *got);
    assert_true(x && mask && y && got);
    support_fill_uniform(x, n, 4, -1.0f, 1.0f);
    ref_dropout(0.25f, SEED, STREAM, x, n, mask, y);
    cl_mem bx = support_buffer_at(x, n, off, PAD), bm = support_buffer_poisoned(n);
    relucl_tensor tx = support_view1(bx, off, n), tm = support_view1(bm, 0, n);
    assert_int_equal(relucl_dropout_forward(support_ctx(), 0.25f, SEED, STREAM, &tx, &tm, &tx),
                     RELUCL_OK);
    support_read_checked(bx, off, n, off + n + PAD, got, "in-place dropout");
    assert_true(support_equal_bits(got, y, n, "in-place y"));
    /* Backward in place too: dy (the same buffer, now y) becomes y * mask. */
    assert_int_equal(relucl_dropout_backward(support_ctx(), &tm, &tx, &tx), RELUCL_OK);
    support_read_checked(bx, off, n, off + n + PAD, got, "in-place dropout backward");
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] * mask[i];
    assert_true(support_equal_bits(got, y, n, "in-place dx"));
    support_buffer_release(bx);
    support_buffer_release(bm);
    free(x);
    free(mask);
    free(y);
    free(got);
}

static void test_dropout_backward_multiplies_by_mask(void **state) {
    (void)state;
    for (size_t s = 0; s < sizeof awkward_sizes / sizeof *awkward_sizes; s++) {
        size_t n = awkward_sizes[s], mo = 1, dyo = 5, dxo = 2;
        float *mask = malloc((n + 1) * sizeof *mask), *dy = malloc((n + 1) * sizeof *dy),
              *want = malloc((n + 1) * sizeof *want), *got = malloc((n + 1) * sizeof *got);
        assert_true(mask && dy && want && got);
        support_fill_special(dy, n, 9, -3.0f, 3.0f, 0.0f);
        for (size_t i = 0; i < n; i++) {
            mask[i] = i % 3 == 0 ? 0.0f : 1.25f;
            want[i] = dy[i] * mask[i];
        }
        cl_mem bm = support_buffer_at(mask, n, mo, PAD), bdy = support_buffer_at(dy, n, dyo, PAD),
               bdx = support_buffer_poisoned(dxo + n + PAD);
        relucl_tensor tm = support_view1(bm, mo, n), tdy = support_view1(bdy, dyo, n),
                      tdx = support_view1(bdx, dxo, n);
        assert_int_equal(relucl_dropout_backward(support_ctx(), &tm, &tdy, &tdx), RELUCL_OK);
        support_read_checked(bdx, dxo, n, dxo + n + PAD, got, "dropout dx");
        assert_true(support_equal_bits(got, want, n, "dx = dy * mask"));
        support_buffer_release(bm);
        support_buffer_release(bdy);
        support_buffer_release(bdx);
        free(mask);
        free(dy);
        free(want);
        free(got);
    }
}

/* ---- Shuffle ----------------------------------------------------------------------------- */

static int is_permutation(const size_t *perm, size_t n) {
    unsigned char *seen = calloc(n + 1, 1);
    assert_non_null(seen);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        ok = perm[i] < n && !seen[perm[i]];
        if (ok)
            seen[perm[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_shuffle_gives_a_permutation(void **state) {
    (void)state;
    const size_t sizes[] = {1, 2, 3, 10, 1000, 60000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t *perm = malloc(sizes[s] * sizeof *perm);
        assert_non_null(perm);
        assert_int_equal(relucl_shuffle(SEED, 3, sizes[s], perm), RELUCL_OK);
        assert_true(is_permutation(perm, sizes[s]));
        free(perm);
    }
    assert_int_equal(relucl_shuffle(SEED, 3, 0, NULL), RELUCL_OK);
}

static void test_shuffle_is_deterministic_and_pinned(void **state) {
    (void)state;
    /* Pinned: relucl_shuffle promises the same order everywhere. These were also computed by
     * an independent Python model of Philox and of the draw described in host/ops/random.c. */
    static const size_t pinned[10] = {0, 2, 4, 1, 6, 9, 5, 8, 7, 3};
    size_t a[10], b[10];
    assert_int_equal(relucl_shuffle(42, 0, 10, a), RELUCL_OK);
    assert_int_equal(relucl_shuffle(42, 0, 10, b), RELUCL_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(a, pinned, sizeof a);
}

static void test_shuffle_differs_between_epochs_and_seeds(void **state) {
    (void)state;
    enum { N = 1000 };
    static size_t a[N], b[N], c[N];
    assert_int_equal(relucl_shuffle(SEED, 0, N, a), RELUCL_OK);
    assert_int_equal(relucl_shuffle(SEED, 1, N, b), RELUCL_OK);
    assert_int_equal(relucl_shuffle(SEED + 1, 0, N, c), RELUCL_OK);
    size_t same_ab = 0, same_ac = 0;
    for (size_t i = 0; i < N; i++) {
        same_ab += a[i] == b[i];
        same_ac += a[i] == c[i];
    }
    assert_true(same_ab < 10); /* about one fixed point is expected */
    assert_true(same_ac < 10);
}

static void test_shuffle_is_uniform_over_permutations_of_three(void **state) {
    (void)state;
    enum { RUNS = 6000 };
    size_t counts[9] = {0};
    for (unsigned long long epoch = 0; epoch < RUNS; epoch++) {
        size_t p[3];
        assert_int_equal(relucl_shuffle(SEED, epoch, 3, p), RELUCL_OK);
        counts[p[0] * 3 + p[1]]++;
    }
    for (size_t k = 0; k < 9; k++) {
        int possible = k / 3 != k % 3;
        /* 1000 expected per order, standard deviation about 29 */
        if (possible ? (counts[k] < 850 || counts[k] > 1150) : counts[k] != 0)
            fail_msg("order starting %zu %zu came %zu times in %d", k / 3, k % 3, counts[k], RUNS);
    }
}

static void test_shuffle_without_output_is_rejected(void **state) {
    (void)state;
    assert_int_equal(relucl_shuffle(SEED, 0, 5, NULL), RELUCL_ERROR_INVALID_ARGUMENT);
}

/* ---- Errors ------------------------------------------------------------------------------ */

enum { OUT_N = 16, OUT_TOTAL = OUT_N + PAD };

static relucl_status init_into(relucl_init init, cl_mem out) {
    relucl_tensor t = support_view1(out, 0, OUT_N);
    return relucl_init_tensor(support_ctx(), &init, &t);
}

static void expect_init_rejected(relucl_init init, const char *word) {
    cl_mem out = support_buffer_poisoned(OUT_TOTAL);
    support_expect_rejected(init_into(init, out), RELUCL_ERROR_INVALID_ARGUMENT, word, out,
                            OUT_TOTAL);
    support_buffer_release(out);
}

static void test_null_arguments_are_rejected(void **state) {
    (void)state;
    relucl_init init = make_init(RELUCL_INIT_UNIFORM, 1.0f, 0, 0);
    cl_mem out = support_buffer_poisoned(OUT_TOTAL);
    relucl_tensor t = support_view1(out, 0, OUT_N);
    assert_int_equal(relucl_init_tensor(NULL, &init, &t), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_dropout_forward(NULL, 0.5f, 1, 1, &t, &t, &t),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_int_equal(relucl_dropout_backward(NULL, &t, &t, &t), RELUCL_ERROR_INVALID_ARGUMENT);
    support_expect_rejected(relucl_init_tensor(support_ctx(), NULL, &t),
                            RELUCL_ERROR_INVALID_ARGUMENT, "init", out, OUT_TOTAL);
    support_expect_rejected(relucl_init_tensor(support_ctx(), &init, NULL),
                            RELUCL_ERROR_INVALID_ARGUMENT, "t", out, OUT_TOTAL);
    support_expect_rejected(relucl_dropout_forward(support_ctx(), 0.5f, 1, 1, NULL, &t, &t),
                            RELUCL_ERROR_INVALID_ARGUMENT, "x", out, OUT_TOTAL);
    support_expect_rejected(relucl_dropout_backward(support_ctx(), &t, NULL, &t),
                            RELUCL_ERROR_INVALID_ARGUMENT, "dy", out, OUT_TOTAL);
    support_buffer_release(out);
}

static void test_unknown_init_kind_is_rejected(void **state) {
    (void)state;
    expect_init_rejected(make_init((relucl_init_kind)99, 1.0f, 1, 1), "init.kind");
    expect_init_rejected(make_init((relucl_init_kind)-1, 1.0f, 1, 1), "init.kind");
}

static void test_he_and_xavier_without_fans_are_rejected(void **state) {
    (void)state;
    expect_init_rejected(make_init(RELUCL_INIT_HE_NORMAL, 1.0f, 0, 10), "init.fan_in");
    expect_init_rejected(make_init(RELUCL_INIT_HE_UNIFORM, 1.0f, 0, 10), "init.fan_in");
    expect_init_rejected(make_init(RELUCL_INIT_XAVIER_NORMAL, 1.0f, 0, 10), "init.fan_in");
    expect_init_rejected(make_init(RELUCL_INIT_XAVIER_UNIFORM, 1.0f, 10, 0), "init.fan_out");
}

static void test_bad_values_are_rejected(void **state) {
    (void)state;
    const relucl_init_kind kinds[] = {RELUCL_INIT_CONSTANT, RELUCL_INIT_UNIFORM,
                                      RELUCL_INIT_NORMAL};
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int k = 0; k < 3; k++)
        for (int b = 0; b < 3; b++)
            expect_init_rejected(make_init(kinds[k], bad[b], 0, 0), "init.value");
    expect_init_rejected(make_init(RELUCL_INIT_UNIFORM, -1.0f, 0, 0), "init.value");
    expect_init_rejected(make_init(RELUCL_INIT_NORMAL, -0.5f, 0, 0), "init.value");
}

static void test_bad_init_tensors_are_rejected(void **state) {
    (void)state;
    relucl_init init = make_init(RELUCL_INIT_NORMAL, 1.0f, 0, 0);
    cl_mem out = support_buffer_poisoned(OUT_TOTAL);
    size_t five = 5, big[2] = {SIZE_MAX / 2, 4};
    relucl_tensor past = support_view1(out, OUT_TOTAL - 2, 3);
    relucl_tensor no_dims = support_view_raw(out, 0, 0, &five);
    relucl_tensor overflow = support_view_raw(out, 0, 2, big);
    support_expect_rejected(relucl_init_tensor(support_ctx(), &init, &past), RELUCL_ERROR_SHAPE,
                            "t", out, OUT_TOTAL);
    support_expect_rejected(relucl_init_tensor(support_ctx(), &init, &no_dims), RELUCL_ERROR_SHAPE,
                            "t", out, OUT_TOTAL);
    support_expect_rejected(relucl_init_tensor(support_ctx(), &init, &overflow), RELUCL_ERROR_SHAPE,
                            "t", out, OUT_TOTAL);
    support_buffer_release(out);
}

static void test_dropout_p_outside_zero_to_one_is_rejected(void **state) {
    (void)state;
    const float bad[] = {1.0f, 1.5f, -0.1f, NAN, INFINITY};
    cl_mem bx = support_buffer_poisoned(OUT_N), bm = support_buffer_poisoned(OUT_TOTAL),
           by = support_buffer_poisoned(OUT_TOTAL);
    relucl_tensor tx = support_view1(bx, 0, OUT_N), tm = support_view1(bm, 0, OUT_N),
                  ty = support_view1(by, 0, OUT_N);
    for (int k = 0; k < 5; k++) {
        relucl_status st = relucl_dropout_forward(support_ctx(), bad[k], 1, 1, &tx, &tm, &ty);
        support_expect_rejected(st, RELUCL_ERROR_INVALID_ARGUMENT, "p", bm, OUT_TOTAL);
        support_expect_rejected(st, RELUCL_ERROR_INVALID_ARGUMENT, "p", by, OUT_TOTAL);
    }
    support_buffer_release(bx);
    support_buffer_release(bm);
    support_buffer_release(by);
}

static void test_dropout_shape_and_overlap_errors_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    cl_mem bx = support_buffer_poisoned(OUT_N), bm = support_buffer_poisoned(OUT_TOTAL),
           by = support_buffer_poisoned(OUT_TOTAL);
    relucl_tensor tx = support_view1(bx, 0, OUT_N), tm = support_view1(bm, 0, OUT_N),
                  ty = support_view1(by, 0, OUT_N), short_m = support_view1(bm, 0, OUT_N - 1),
                  short_y = support_view1(by, 0, OUT_N - 1), shifted = support_view1(by, 2, OUT_N),
                  y_half = support_view1(by, 0, 8), m_half = support_view1(by, 8, 8),
                  x_half = support_view1(bm, 0, 8);
    support_expect_rejected(relucl_dropout_forward(ctx, 0.5f, 1, 1, &tx, &short_m, &ty),
                            RELUCL_ERROR_SHAPE, "mask", bm, OUT_TOTAL);
    support_expect_rejected(relucl_dropout_forward(ctx, 0.5f, 1, 1, &tx, &tm, &short_y),
                            RELUCL_ERROR_SHAPE, "y", by, OUT_TOTAL);
    /* mask must not share memory with y or x, not even exactly */
    support_expect_rejected(relucl_dropout_forward(ctx, 0.5f, 1, 1, &y_half, &y_half, &y_half),
                            RELUCL_ERROR_INVALID_ARGUMENT, "mask", by, OUT_TOTAL);
    support_expect_rejected(relucl_dropout_backward(ctx, &x_half, &m_half, &x_half),
                            RELUCL_ERROR_INVALID_ARGUMENT, "mask", bm, OUT_TOTAL);
    support_expect_rejected(relucl_dropout_backward(ctx, &tm, &tx, &short_y), RELUCL_ERROR_SHAPE,
                            "dx", by, OUT_TOTAL);
    support_expect_rejected(relucl_dropout_backward(ctx, &tm, &ty, &shifted),
                            RELUCL_ERROR_INVALID_ARGUMENT, "dx", by, OUT_TOTAL);
    support_buffer_release(bx);
    support_buffer_release(bm);
    support_buffer_release(by);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_host_matches_random123_known_answers),
        cmocka_unit_test(test_philox_output_may_be_the_counter),
        cmocka_unit_test(test_philox_device_matches_random123_known_answers),
        cmocka_unit_test(test_philox_device_matches_host_on_random_inputs),
        cmocka_unit_test(test_uniform_first_block_uses_known_answer_words),
        cmocka_unit_test(test_uniform_init_matches_host_mapping_bitwise),
        cmocka_unit_test(test_normal_init_matches_box_muller_reference),
        cmocka_unit_test(test_constant_and_zeros_fill_exactly),
        cmocka_unit_test(test_awkward_sizes_and_offsets_give_prefixes_of_one_sequence),
        cmocka_unit_test(test_same_init_gives_same_bits),
        cmocka_unit_test(test_other_seed_or_stream_gives_other_values),
        cmocka_unit_test(test_he_normal_has_std_sqrt_2_over_fan_in),
        cmocka_unit_test(test_he_uniform_stays_within_sqrt_6_over_fan_in),
        cmocka_unit_test(test_xavier_normal_has_std_sqrt_2_over_fans),
        cmocka_unit_test(test_xavier_uniform_stays_within_sqrt_6_over_fans),
        cmocka_unit_test(test_uniform_and_normal_take_their_spread_from_value),
        cmocka_unit_test(test_dropout_follows_host_mapping_bitwise),
        cmocka_unit_test(test_dropout_keeps_about_one_minus_p),
        cmocka_unit_test(test_dropout_with_p_zero_is_identity),
        cmocka_unit_test(test_dropout_stream_changes_mask_and_seed_repeats_it),
        cmocka_unit_test(test_dropout_in_place_matches_out_of_place),
        cmocka_unit_test(test_dropout_backward_multiplies_by_mask),
        cmocka_unit_test(test_shuffle_gives_a_permutation),
        cmocka_unit_test(test_shuffle_is_deterministic_and_pinned),
        cmocka_unit_test(test_shuffle_differs_between_epochs_and_seeds),
        cmocka_unit_test(test_shuffle_is_uniform_over_permutations_of_three),
        cmocka_unit_test(test_shuffle_without_output_is_rejected),
        cmocka_unit_test(test_null_arguments_are_rejected),
        cmocka_unit_test(test_unknown_init_kind_is_rejected),
        cmocka_unit_test(test_he_and_xavier_without_fans_are_rejected),
        cmocka_unit_test(test_bad_values_are_rejected),
        cmocka_unit_test(test_bad_init_tensors_are_rejected),
        cmocka_unit_test(test_dropout_p_outside_zero_to_one_is_rejected),
        cmocka_unit_test(test_dropout_shape_and_overlap_errors_are_rejected),
    };
    return cmocka_run_group_tests_name("random", tests, support_setup, support_teardown);
}
