/* relucl_tensor_stats against a float64 reference (counts, min and max exact; l2 and mean |v|
 * within 1e-5 * sqrt(n)), the same doubles run to run, and relucl_dead_units_update over
 * several batches against a host reference. */
#include "support.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PAD = 5 };

static void *checked_malloc(size_t count) {
    void *mem = malloc((count ? count : 1) * sizeof(float));
    assert_non_null(mem);
    return mem;
}

/* ---- Tensor statistics ------------------------------------------------------------------ */

static relucl_stats reference_stats(const float *a, size_t n) {
    relucl_stats s;
    memset(&s, 0, sizeof s);
    s.count = n;
    s.min = INFINITY;
    s.max = -INFINITY;
    double sq = 0.0, abs_sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = a[i];
        if (isnan(v)) {
            s.nan++;
            continue;
        }
        s.min = v < s.min ? v : s.min;
        s.max = v > s.max ? v : s.max;
        if (isinf(v)) {
            s.inf++;
            continue;
        }
        s.zeros += v == 0.0;
        sq += v * v;
        abs_sum += fabs(v);
    }
    size_t finite = n - s.nan - s.inf;
    s.l2 = sqrt(sq);
    s.mean_abs = finite ? abs_sum / (double)finite : 0.0;
    return s;
}

static int close_rel(double got, double want, double rel) {
    if (want == 0.0)
        return got == 0.0;
    return fabs(got - want) <= rel * fabs(want);
}

/* Counts, min and max exactly; the sums within 1e-5 * sqrt(n) relative. */
static int stats_match(const relucl_stats *got, const relucl_stats *want, const char *what) {
    double rel = 1e-5 * sqrt((double)(want->count ? want->count : 1));
    int ok = got->count == want->count && got->zeros == want->zeros && got->nan == want->nan &&
             got->inf == want->inf && got->min == want->min && got->max == want->max &&
             close_rel(got->l2, want->l2, rel) && close_rel(got->mean_abs, want->mean_abs, rel);
    if (!ok)
        print_error("%s: got count %zu zeros %zu nan %zu inf %zu l2 %.17g mean_abs %.17g "
                    "min %.9g max %.9g; want %zu %zu %zu %zu %.17g %.17g %.9g %.9g\n",
                    what, got->count, got->zeros, got->nan, got->inf, got->l2, got->mean_abs,
                    got->min, got->max, want->count, want->zeros, want->nan, want->inf,
                    want->l2, want->mean_abs, want->min, want->max);
    return ok;
}

/* a as a 1-D view at element `off` of a poisoned buffer. */
static relucl_stats device_stats(const float *a, size_t n, size_t off) {
    cl_mem b = support_buffer_at(a, n, off, PAD);
    relucl_tensor t = support_view1(b, off, n);
    relucl_stats s;
    relucl_status st = relucl_tensor_stats(support_ctx(), &t, &s);
    if (st != RELUCL_OK)
        fail_msg("%s: %s", relucl_status_name(st), relucl_context_error(support_ctx()));
    support_buffer_release(b);
    return s;
}

static void check_values(const float *a, size_t n, size_t off, const char *what) {
    char label[160];
    snprintf(label, sizeof label, "%s, n %zu, offset %zu", what, n, off);
    relucl_stats got = device_stats(a, n, off), want = reference_stats(a, n);
    assert_true(stats_match(&got, &want, label));
}

static const size_t sizes[] = {0, 1, 3, 4, 5, 1023, 4097, 1u << 20, (1u << 21) + 3};
enum { SIZE_COUNT = sizeof sizes / sizeof sizes[0] };

static void test_stats_matches_reference_at_many_sizes(void **state) {
    (void)state;
    for (size_t k = 0; k < SIZE_COUNT; k++) {
        float *a = checked_malloc(sizes[k]);
        support_fill_uniform(a, sizes[k], 100 + k, -3.0f, 3.0f);
        for (size_t i = 0; i < sizes[k]; i += 11)
            a[i] = 0.0f;
        check_values(a, sizes[k], 2 * k + 1, "uniform");
        free(a);
    }
}

/* NaN, infinities, zeros of both signs, +-FLT_MAX (whose squares overflow a float) and
 * denormals, scattered through ordinary values. */
static void test_stats_special_values_match_reference(void **state) {
    (void)state;
    const size_t counts[] = {17, 64, 1023, 4097, 100003};
    for (size_t k = 0; k < 5; k++) {
        float *a = checked_malloc(counts[k]);
        support_fill_special(a, counts[k], 200 + k, -2.0f, 2.0f, 1.0f);
        check_values(a, counts[k], k + 3, "special values");
        free(a);
    }
}

/* Every finite magnitude keeps its precision: only denormals, only huge values, tiny normal
 * values, and the two mixed (where the tiny ones vanish in the sum, as in float64). */
static void test_stats_extreme_magnitudes_keep_precision(void **state) {
    (void)state;
    enum { N = 3001 };
    float *a = checked_malloc(N);
    support_rng rng = support_rng_make(7);
    for (int pass = 0; pass < 5; pass++) {
        for (size_t i = 0; i < N; i++) {
            float sign = support_rng_below(&rng, 2) ? -1.0f : 1.0f;
            uint32_t m = (uint32_t)support_rng_below(&rng, 1u << 23) | 1u;
            float denormal = support_from_bits(m);
            float huge = FLT_MAX * support_rng_float(&rng, 0.5f, 1.0f);
            float tiny = support_rng_float(&rng, 1.0f, 2.0f) * 1e-30f;
            float v = pass == 0   ? denormal
                      : pass == 1 ? huge
                      : pass == 2 ? tiny
                      : pass == 3 ? (i % 2 ? huge : denormal)
                                  : (i % 3 ? tiny : 1e20f);
            a[i] = sign * v;
        }
        char label[64];
        snprintf(label, sizeof label, "magnitudes, pass %d", pass);
        check_values(a, N, 1, label);
    }
    free(a);
}

/* The zeros of a ReLU output are its sparsity: the library's own ReLU, then its stats. */
static void test_stats_counts_relu_zero_fraction(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    enum { N = 128 * 256 };
    float *x = checked_malloc(N), *y = checked_malloc(N);
    support_fill_uniform(x, N, 9, -1.0f, 0.5f);
    size_t dead = 0;
    for (size_t i = 0; i < N; i++) {
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        dead += !(x[i] > 0.0f);
    }
    cl_mem b = support_buffer_from(x, N);
    relucl_tensor t = support_view(b, 0, 2, (const size_t[]){128, 256});
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    relucl_stats got;
    assert_int_equal(relucl_activation_forward(ctx, relu, &t, &t), RELUCL_OK);
    assert_int_equal(relucl_tensor_stats(ctx, &t, &got), RELUCL_OK);
    relucl_stats want = reference_stats(y, N);
    assert_true(stats_match(&got, &want, "relu output"));
    assert_int_equal(got.zeros, dead);
    assert_true(got.min == 0.0 && got.zeros > N / 2);
    support_buffer_release(b);
    free(x);
    free(y);
}

static void test_stats_all_nan_has_no_range(void **state) {
    (void)state;
    float a[37];
    for (size_t i = 0; i < 37; i++)
        a[i] = i % 2 ? NAN : -NAN;
    relucl_stats got = device_stats(a, 37, 3);
    assert_int_equal(got.count, 37);
    assert_int_equal(got.nan, 37);
    assert_int_equal(got.inf + got.zeros, 0);
    assert_true(got.l2 == 0.0 && got.mean_abs == 0.0);
    assert_true(isinf(got.min) && got.min > 0 && isinf(got.max) && got.max < 0);
}

/* Infinities set the range but leave the finite sums (and mean over none) at zero. */
static void test_stats_infinities_only_give_infinite_range(void **state) {
    (void)state;
    const float a[] = {INFINITY, -INFINITY, NAN, INFINITY};
    relucl_stats got = device_stats(a, 4, 1), want = reference_stats(a, 4);
    assert_true(stats_match(&got, &want, "infinities"));
    assert_true(got.min == -INFINITY && got.max == INFINITY && got.mean_abs == 0.0);
    assert_int_equal(got.inf, 3);
}

/* Zeros of either sign count; denormals are not zeros; -0.0 and +0.0 as min and max. */
static void test_stats_signed_zeros_and_denormals(void **state) {
    (void)state;
    const float a[] = {-0.0f, 0.0f, -0.0f, FLT_TRUE_MIN, -FLT_TRUE_MIN, 0.0f};
    relucl_stats got = device_stats(a, 6, 5), want = reference_stats(a, 6);
    assert_true(stats_match(&got, &want, "zeros and denormals"));
    assert_int_equal(got.zeros, 4);
    assert_true(got.min == -(double)FLT_TRUE_MIN && got.max == (double)FLT_TRUE_MIN);
    const float zeros[] = {-0.0f, 0.0f};
    got = device_stats(zeros, 2, 0);
    assert_true(got.zeros == 2 && got.min == 0.0 && got.max == 0.0 && got.l2 == 0.0);
}

static void test_stats_empty_tensor(void **state) {
    (void)state;
    cl_mem b = support_buffer_poisoned(4);
    relucl_tensor t = support_view(b, 2, 2, (const size_t[]){0, 7});
    relucl_stats got;
    memset(&got, 0xab, sizeof got);
    assert_int_equal(relucl_tensor_stats(support_ctx(), &t, &got), RELUCL_OK);
    assert_true(got.count == 0 && got.zeros == 0 && got.nan == 0 && got.inf == 0);
    assert_true(got.l2 == 0.0 && got.mean_abs == 0.0);
    assert_true(got.min == INFINITY && got.max == -INFINITY);
    support_buffer_release(b);
}

/* Sums over many work-groups give the same doubles, bit for bit, every time. */
static void test_stats_is_deterministic(void **state) {
    (void)state;
    const size_t n = (1u << 20) + 7;
    float *a = checked_malloc(n);
    support_fill_special(a, n, 31, -100.0f, 100.0f, 1.0f);
    cl_mem b = support_buffer_at(a, n, 3, PAD);
    relucl_tensor t = support_view1(b, 3, n);
    relucl_stats first, again;
    assert_int_equal(relucl_tensor_stats(support_ctx(), &t, &first), RELUCL_OK);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(relucl_tensor_stats(support_ctx(), &t, &again), RELUCL_OK);
        assert_memory_equal(&first, &again, sizeof first);
    }
    support_buffer_release(b);
    free(a);
}

/* A failed call leaves *out as it was. */
static void expect_stats_rejected(const relucl_tensor *t, relucl_stats *out, relucl_status want,
                                  const char *word) {
    relucl_stats before;
    memset(&before, 0x5a, sizeof before);
    if (out)
        memcpy(out, &before, sizeof before);
    relucl_status got = relucl_tensor_stats(word ? support_ctx() : NULL, t, out);
    assert_int_equal(got, want);
    if (word)
        assert_true(support_error_mentions(word));
    if (out)
        assert_memory_equal(out, &before, sizeof before);
}

static void test_stats_bad_arguments_are_rejected(void **state) {
    (void)state;
    cl_mem b = support_buffer_poisoned(16);
    relucl_tensor ok = support_view1(b, 0, 16), no_buffer = ok;
    no_buffer.buffer = NULL;
    relucl_tensor nd0 = support_view_raw(b, 0, 0, NULL);
    relucl_tensor nd5 = support_view_raw(b, 0, 5, (const size_t[]){1, 1, 1, 1, 1});
    relucl_tensor huge = support_view_raw(b, 0, 2, (const size_t[]){SIZE_MAX / 2, 3});
    relucl_tensor past = support_view1(b, 9, 8);
    relucl_stats out;
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT, shape = RELUCL_ERROR_SHAPE;
    expect_stats_rejected(&ok, &out, bad, NULL);
    expect_stats_rejected(NULL, &out, bad, "t");
    expect_stats_rejected(&ok, NULL, bad, "out");
    expect_stats_rejected(&no_buffer, &out, bad, "t");
    expect_stats_rejected(&nd0, &out, shape, "t");
    expect_stats_rejected(&nd5, &out, shape, "t");
    expect_stats_rejected(&huge, &out, shape, "t");
    expect_stats_rejected(&past, &out, shape, "t");
    support_buffer_release(b);
}

/* ---- Dead units ------------------------------------------------------------------------- */

/* y as (outer, units, inner), as the library sees it. */
typedef struct unit_shape {
    int ndim;
    size_t dims[RELUCL_MAX_DIMS];
    size_t n, outer, units, inner;
} unit_shape;

static unit_shape make_shape(int ndim, const size_t *dims) {
    unit_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = ndim;
    s.n = 1;
    s.inner = 1;
    for (int d = 0; d < ndim; d++) {
        s.dims[d] = dims[d];
        s.n *= dims[d];
        if (d >= 2)
            s.inner *= dims[d];
    }
    s.outer = ndim >= 2 ? dims[0] : 1;
    s.units = ndim >= 2 ? dims[1] : s.n;
    return s;
}

static size_t unit_of(const unit_shape *s, size_t i) {
    return (i / s->inner) % s->units;
}

/* A ReLU-like batch: unit u is alive with probability depending on u; units with u % 5 == 0
 * are dead (zeros of both signs) everywhere, except that `lone` (if < units) gets a single
 * non-zero element, `lone_value`, at a random sample and position. */
static void make_batch(const unit_shape *s, float *y, uint64_t seed, size_t lone,
                       float lone_value) {
    support_rng rng = support_rng_make(seed);
    for (size_t i = 0; i < s->n; i++) {
        size_t u = unit_of(s, i);
        float v = support_rng_float(&rng, -1.0f, 1.0f);
        int dead = u % 5 == 0 || support_rng_below(&rng, u % 7 + 2) != 0;
        y[i] = dead || !(v > 0.0f) ? (i % 2 ? 0.0f : -0.0f) : v;
    }
    if (lone < s->units && s->n > 0) {
        size_t o = support_rng_below(&rng, s->outer), j = support_rng_below(&rng, s->inner);
        y[(o * s->units + lone) * s->inner + j] = lone_value;
    }
}

static void reference_alive(const unit_shape *s, const float *y, float *alive) {
    for (size_t i = 0; i < s->n; i++)
        if (y[i] != 0.0f || isnan(y[i]))
            alive[unit_of(s, i)] = 1.0f;
}

/* Batches through y at offset yoff of one buffer into alive at aoff of another; the alive
 * entries are checked bit for bit after every batch, and the buffers outside both views must
 * keep their poison. `start` is alive's starting value (0 after a fill). */
static void run_batches(int ndim, const size_t *dims, int batches, size_t yoff, size_t aoff,
                        float start, uint64_t seed) {
    relucl_context *ctx = support_ctx();
    unit_shape s = make_shape(ndim, dims);
    float *y = checked_malloc(s.n), *want = checked_malloc(s.units),
          *got = checked_malloc(s.units);
    cl_mem by = support_buffer_poisoned(yoff + s.n + PAD);
    cl_mem ba = support_buffer_poisoned(aoff + s.units + PAD);
    relucl_tensor ty = support_view(by, yoff, ndim, dims), ta = support_view1(ba, aoff, s.units);
    assert_int_equal(relucl_tensor_fill(ctx, &ta, start), RELUCL_OK);
    for (size_t u = 0; u < s.units; u++)
        want[u] = start;
    char label[160];
    for (int b = 0; b < batches; b++) {
        /* Unit 5 lives once, in batch 1 only (a NaN on odd seeds, a denormal otherwise). */
        float lone_value = seed % 2 ? NAN : FLT_TRUE_MIN;
        make_batch(&s, y, seed + (uint64_t)b, b == 1 ? 5 : SIZE_MAX, lone_value);
        support_buffer_write(by, yoff, y, s.n);
        assert_int_equal(relucl_dead_units_update(ctx, &ty, &ta), RELUCL_OK);
        reference_alive(&s, y, want);
        snprintf(label, sizeof label, "alive after batch %d, ndim %d, %zu units x %zu x %zu", b,
                 ndim, s.units, s.outer, s.inner);
        support_read_checked(ba, aoff, s.units, aoff + s.units + PAD, got, label);
        assert_true(support_equal_bits(got, want, s.units, label));
    }
    if (batches > 1 && s.units > 10) /* units 0 and 10 never live; 5 lived once */
        assert_true(got[5] == 1.0f && got[0] == start && got[10] == start);
    /* The zeros of alive are the dead units, as relucl_tensor_stats reports them. */
    relucl_stats st;
    size_t dead = 0;
    for (size_t u = 0; u < s.units; u++)
        dead += want[u] == 0.0f;
    assert_int_equal(relucl_tensor_stats(ctx, &ta, &st), RELUCL_OK);
    assert_int_equal(st.zeros, dead);
    support_buffer_release(by);
    support_buffer_release(ba);
    free(y);
    free(want);
    free(got);
}

static void test_dead_units_dense_over_batches(void **state) {
    (void)state;
    run_batches(2, (const size_t[]){8, 37}, 4, 3, 1, 0.0f, 1);
    run_batches(2, (const size_t[]){128, 256}, 3, 0, 7, 0.0f, 2);
}

static void test_dead_units_nchw_over_batches(void **state) {
    (void)state;
    run_batches(4, (const size_t[]){3, 11, 7, 9}, 3, 5, 2, 0.0f, 3);
    run_batches(3, (const size_t[]){2, 13, 33}, 3, 1, 0, 0.0f, 4);
}

/* More than 4096 elements per unit: a work-group per unit, with long and short inner runs. */
static void test_dead_units_large_units_use_groups(void **state) {
    (void)state;
    run_batches(4, (const size_t[]){2, 7, 64, 65}, 3, 3, 1, 0.0f, 5);
    run_batches(2, (const size_t[]){5000, 9}, 3, 1, 3, 0.0f, 6);
    run_batches(4, (const size_t[]){4200, 6, 1, 3}, 2, 0, 0, 0.0f, 7);
}

static void test_dead_units_1d_has_one_unit_per_element(void **state) {
    (void)state;
    run_batches(1, (const size_t[]){29}, 3, 1, 2, 0.0f, 8);
}

/* Dead units keep whatever alive held; live ones become exactly 1. */
static void test_dead_units_keep_other_values(void **state) {
    (void)state;
    run_batches(2, (const size_t[]){6, 21}, 3, 1, 1, 0.5f, 9);
    run_batches(4, (const size_t[]){2, 7, 64, 65}, 2, 0, 0, -2.0f, 10);
}

/* Zero alive to start counting again. */
static void test_dead_units_reset_by_fill(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    const size_t dims[] = {4, 10};
    float y[40], alive[10];
    for (size_t i = 0; i < 40; i++)
        y[i] = (float)(i % 10 == 3);
    cl_mem by = support_buffer_from(y, 40), ba = support_buffer_poisoned(10);
    relucl_tensor ty = support_view(by, 0, 2, dims), ta = support_view1(ba, 0, 10);
    assert_int_equal(relucl_tensor_fill(ctx, &ta, 1.0f), RELUCL_OK);
    assert_int_equal(relucl_dead_units_update(ctx, &ty, &ta), RELUCL_OK);
    assert_int_equal(relucl_tensor_fill(ctx, &ta, 0.0f), RELUCL_OK);
    assert_int_equal(relucl_dead_units_update(ctx, &ty, &ta), RELUCL_OK);
    support_buffer_read(ba, 0, alive, 10);
    for (size_t u = 0; u < 10; u++)
        assert_true(alive[u] == (u == 3 ? 1.0f : 0.0f));
    support_buffer_release(by);
    support_buffer_release(ba);
}

/* No samples: nothing to learn, alive untouched. */
static void test_dead_units_empty_batch_changes_nothing(void **state) {
    (void)state;
    cl_mem by = support_buffer_poisoned(4), ba = support_buffer_poisoned(8);
    relucl_tensor ty = support_view(by, 0, 2, (const size_t[]){0, 6});
    relucl_tensor ta = support_view1(ba, 1, 6);
    assert_int_equal(relucl_dead_units_update(support_ctx(), &ty, &ta), RELUCL_OK);
    float back[8];
    support_buffer_read(ba, 0, back, 8);
    assert_true(support_is_poison(back, 0, 8, "alive after an empty batch"));
    support_buffer_release(by);
    support_buffer_release(ba);
}

enum { ETOTAL = 64 };

static void test_dead_units_bad_arguments_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    float data[ETOTAL];
    support_fill_uniform(data, ETOTAL, 3, -1.0f, 1.0f);
    cl_mem in = support_buffer_from(data, ETOTAL), out = support_buffer_poisoned(ETOTAL);
    const size_t dims[] = {2, 5, 3};
    relucl_tensor y = support_view(in, 0, 3, dims), alive = support_view1(out, 1, 5);
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT, shape = RELUCL_ERROR_SHAPE;
#define REJECT(call, want, word) support_expect_rejected((call), (want), (word), out, ETOTAL)
    REJECT(relucl_dead_units_update(NULL, &y, &alive), bad, NULL);
    REJECT(relucl_dead_units_update(ctx, NULL, &alive), bad, "y");
    REJECT(relucl_dead_units_update(ctx, &y, NULL), bad, "alive");
    relucl_tensor y5 = support_view_raw(in, 0, 5, (const size_t[]){1, 5, 1, 1, 2});
    relucl_tensor y0 = support_view_raw(in, 0, 0, NULL);
    relucl_tensor y_past = support_view(in, 40, 3, dims);
    REJECT(relucl_dead_units_update(ctx, &y5, &alive), shape, "y");
    REJECT(relucl_dead_units_update(ctx, &y0, &alive), shape, "y");
    REJECT(relucl_dead_units_update(ctx, &y_past, &alive), shape, "y");
    relucl_tensor a_past = support_view1(out, ETOTAL - 2, 5);
    REJECT(relucl_dead_units_update(ctx, &y, &a_past), shape, "alive");
    /* alive must have dims[1] entries: not the sample count, not all elements. */
    relucl_tensor a2 = support_view1(out, 1, 2), a30 = support_view1(out, 1, 30);
    relucl_tensor a6 = support_view1(out, 1, 6);
    REJECT(relucl_dead_units_update(ctx, &y, &a2), shape, "alive");
    REJECT(relucl_dead_units_update(ctx, &y, &a30), shape, "alive");
    REJECT(relucl_dead_units_update(ctx, &y, &a6), shape, "alive");
    relucl_tensor y1 = support_view1(in, 0, 7);
    REJECT(relucl_dead_units_update(ctx, &y1, &alive), shape, "alive");
    /* alive inside y, or y inside alive's buffer overlapping it. */
    relucl_tensor y_out = support_view(out, 0, 3, dims), a_in_y = support_view1(out, 10, 5);
    REJECT(relucl_dead_units_update(ctx, &y_out, &a_in_y), bad, "alive");
    relucl_tensor y_same = support_view1(out, 1, 5);
    REJECT(relucl_dead_units_update(ctx, &y_same, &alive), bad, "alive");
#undef REJECT
    support_buffer_release(in);
    support_buffer_release(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_matches_reference_at_many_sizes),
        cmocka_unit_test(test_stats_special_values_match_reference),
        cmocka_unit_test(test_stats_extreme_magnitudes_keep_precision),
        cmocka_unit_test(test_stats_counts_relu_zero_fraction),
        cmocka_unit_test(test_stats_all_nan_has_no_range),
        cmocka_unit_test(test_stats_infinities_only_give_infinite_range),
        cmocka_unit_test(test_stats_signed_zeros_and_denormals),
        cmocka_unit_test(test_stats_empty_tensor),
        cmocka_unit_test(test_stats_is_deterministic),
        cmocka_unit_test(test_stats_bad_arguments_are_rejected),
        cmocka_unit_test(test_dead_units_dense_over_batches),
        cmocka_unit_test(test_dead_units_nchw_over_batches),
        cmocka_unit_test(test_dead_units_large_units_use_groups),
        cmocka_unit_test(test_dead_units_1d_has_one_unit_per_element),
        cmocka_unit_test(test_dead_units_keep_other_values),
        cmocka_unit_test(test_dead_units_reset_by_fill),
        cmocka_unit_test(test_dead_units_empty_batch_changes_nothing),
        cmocka_unit_test(test_dead_units_bad_arguments_are_rejected),
    };
    return cmocka_run_group_tests_name("stats", tests, support_setup, support_teardown);
}
