/* relucl_softmax_cross_entropy and relucl_mse against float64 references, on odd offsets inside
 * poisoned buffers: the mean loss, the gradient (also against finite differences), the arg-max
 * count with ties, invalid labels, accumulation, and every documented error. */
#include "support.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PAD = 5, SCALARS = 6, LOSS_AT = 1, CORRECT_AT = 4 };

static void *checked_malloc(size_t count, size_t size) {
    void *mem = malloc((count ? count : 1) * size);
    assert_non_null(mem);
    return mem;
}

/* ---- Cross-entropy: host data and the float64 reference --------------------------------- */

typedef struct problem {
    int ndim;
    size_t dims[RELUCL_MAX_DIMS];
    size_t batch, classes, n;
    float *x, *labels;
} problem;

static problem make_problem(int ndim, const size_t *dims, uint64_t seed, float range) {
    problem p;
    memset(&p, 0, sizeof p);
    p.ndim = ndim;
    p.n = 1;
    p.classes = 1;
    for (int d = 0; d < ndim; d++) {
        p.dims[d] = dims[d];
        p.n *= dims[d];
        if (d > 0)
            p.classes *= dims[d];
    }
    p.batch = dims[0];
    p.x = checked_malloc(p.n, sizeof(float));
    p.labels = checked_malloc(p.batch, sizeof(float));
    support_fill_uniform(p.x, p.n, seed, -range, range);
    support_rng rng = support_rng_make(seed + 100);
    for (size_t r = 0; r < p.batch; r++)
        p.labels[r] = (float)support_rng_below(&rng, p.classes);
    return p;
}

static void free_problem(problem *p) {
    free(p->x);
    free(p->labels);
}

/* The first maximum, NaN counting above every number (torch.argmax). */
static size_t ref_argmax(const double *x, size_t classes) {
    size_t arg = 0;
    for (size_t j = 1; j < classes; j++)
        if (x[j] > x[arg] || (isnan(x[j]) && !isnan(x[arg])))
            arg = j;
    return arg;
}

/* Mean loss over the rows of x (double), the gradient of the mean into grad (may be NULL) and
 * the number of rows whose arg-max is the label into *correct (may be NULL). */
static double ref_cross_entropy(const double *x, const float *labels, size_t batch, size_t classes,
                                double *grad, double *correct) {
    double total = 0.0, hits = 0.0;
    for (size_t r = 0; r < batch; r++) {
        const double *row = x + r * classes;
        double label = labels[r];
        int valid = label >= 0 && label == floor(label) && label < (double)classes;
        size_t c = valid ? (size_t)label : 0, arg = ref_argmax(row, classes);
        double m = row[arg], s = 0.0;
        for (size_t j = 0; j < classes; j++)
            s += exp(row[j] - m);
        total += valid ? log(s) - (row[c] - m) : NAN;
        hits += valid && arg == c;
        for (size_t j = 0; grad && j < classes; j++)
            grad[r * classes + j] =
                valid ? (exp(row[j] - m) / s - (j == c ? 1.0 : 0.0)) / (double)batch : NAN;
    }
    if (correct)
        *correct = hits;
    return batch ? total / (double)batch : 0.0;
}

static double *to_double(const float *x, size_t n) {
    double *d = checked_malloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

/* ---- Cross-entropy on the device -------------------------------------------------------- */

/* A buffer of SCALARS floats, poison except loss and correct, which hold start values. */
static cl_mem make_scalars(float loss, float correct) {
    cl_mem b = support_buffer_poisoned(SCALARS);
    support_buffer_write(b, LOSS_AT, &loss, 1);
    support_buffer_write(b, CORRECT_AT, &correct, 1);
    return b;
}

/* Reads loss and correct back and checks that the rest of the scalars is still poison. */
static void read_scalars(cl_mem b, float *loss, float *correct) {
    float all[SCALARS];
    support_buffer_read(b, 0, all, SCALARS);
    assert_true(support_is_poison(all, 0, LOSS_AT, "before loss"));
    assert_true(support_is_poison(all, LOSS_AT + 1, CORRECT_AT, "between loss and correct"));
    assert_true(support_is_poison(all, CORRECT_AT + 1, SCALARS, "after correct"));
    *loss = all[LOSS_AT];
    *correct = all[CORRECT_AT];
}

/* logits at off, labels at off + 1, dlogits at off + 2 (when grad is not NULL), each in its own
 * poisoned buffer; loss and correct in `scalars` (when use_scalars). */
static void device_cross_entropy(const problem *p, size_t off, float *grad, cl_mem scalars,
                                 int accumulate) {
    cl_mem bx = support_buffer_at(p->x, p->n, off, PAD);
    cl_mem by = support_buffer_at(p->labels, p->batch, off + 1, PAD);
    cl_mem bd = support_buffer_poisoned(off + 2 + p->n + PAD);
    relucl_tensor tx = support_view(bx, off, p->ndim, p->dims);
    relucl_tensor ty = support_view1(by, off + 1, p->batch);
    relucl_tensor td = support_view(bd, off + 2, p->ndim, p->dims);
    relucl_tensor tl = support_view1(scalars, LOSS_AT, 1),
                  tc = support_view1(scalars, CORRECT_AT, 1);
    relucl_status st =
        relucl_softmax_cross_entropy(support_ctx(), &tx, &ty, grad ? &td : NULL,
                                     scalars ? &tl : NULL, scalars ? &tc : NULL, accumulate);
    if (st != RELUCL_OK)
        fail_msg("%s: %s", relucl_status_name(st), relucl_context_error(support_ctx()));
    float *all = checked_malloc(off + 2 + p->n + PAD, sizeof(float));
    support_read_checked(bd, off + 2, p->n, off + 2 + p->n + PAD, all, "dlogits");
    if (grad)
        memcpy(grad, all, p->n * sizeof(float));
    else
        assert_true(support_is_poison(all, 0, p->n, "dlogits not asked for"));
    free(all);
    support_buffer_release(bx);
    support_buffer_release(by);
    support_buffer_release(bd);
}

/* The whole comparison: loss within 1e-5 relative (of at least 1), the gradient within 1e-5 of
 * 1 / batch, the count exact. */
static void check_problem(const problem *p, size_t off) {
    char label[160];
    snprintf(label, sizeof label, "cross-entropy %zux%zu (ndim %d) off %zu", p->batch, p->classes,
             p->ndim, off);
    double *x = to_double(p->x, p->n), *want_grad = checked_malloc(p->n, sizeof(double));
    double want_correct = 0.0;
    double want_loss =
        ref_cross_entropy(x, p->labels, p->batch, p->classes, want_grad, &want_correct);
    float *grad = checked_malloc(p->n, sizeof(float)), loss, correct;
    cl_mem scalars = make_scalars(support_poison(), support_poison());
    device_cross_entropy(p, off, grad, scalars, 0);
    read_scalars(scalars, &loss, &correct);
    assert_true(support_close(&loss, &want_loss, 1, 1e-5, 1.0, NULL, label));
    assert_true(support_close(grad, want_grad, p->n, 1e-5, 1.0 / (double)(p->batch ? p->batch : 1),
                              NULL, label));
    if (correct != (float)want_correct)
        fail_msg("%s: correct %g, want %g", label, (double)correct, want_correct);
    support_buffer_release(scalars);
    free(x), free(want_grad), free(grad);
}

static void test_cross_entropy_matches_reference_on_awkward_shapes(void **state) {
    (void)state;
    static const size_t batches[] = {0, 1, 3, 17, 129, 300}, classes[] = {1, 2, 10, 37};
    uint64_t seed = 1;
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++)
        for (size_t c = 0; c < sizeof classes / sizeof *classes; c++) {
            problem p = make_problem(2, (const size_t[]){batches[b], classes[c]}, seed++, 6.0f);
            check_problem(&p, (b + c) % 4 == 0 ? 0 : 2 * b + c);
            free_problem(&p);
        }
}

/* Bigger than the 256 lanes times 32-row blocks, so lanes add several blocks. */
static void test_cross_entropy_large_batch_matches_reference(void **state) {
    (void)state;
    problem p = make_problem(2, (const size_t[]){8200, 3}, 50, 4.0f);
    check_problem(&p, 3);
    free_problem(&p);
}

/* Any ndim: dims[0] rows of everything else. */
static void test_cross_entropy_treats_higher_dims_as_classes(void **state) {
    (void)state;
    problem p = make_problem(3, (const size_t[]){5, 2, 3}, 51, 3.0f);
    check_problem(&p, 1);
    free_problem(&p);
    p = make_problem(1, (const size_t[]){4}, 52, 3.0f); /* 4 rows of one class */
    check_problem(&p, 0);
    free_problem(&p);
}

static void test_cross_entropy_large_logits_stay_finite(void **state) {
    (void)state;
    problem p = make_problem(2, (const size_t[]){6, 4}, 53, 1.0f);
    static const float rows[6][4] = {
        {1e4f, -1e4f, 0.0f, 1e4f - 1.0f}, {-1e4f, -1e4f, -1e4f, -1e4f},
        {1e4f, 1e4f, 1e4f, 1e4f},         {-1e4f, 1e4f, -1e4f, 3.0f},
        {8e4f, -8e4f, 0.5f, 7.9999e4f},   {-3e4f, -3e4f + 2.0f, -3e4f + 1.0f, -3e4f}};
    static const float labels[6] = {0, 1, 2, 0, 3, 1};
    memcpy(p.x, rows, sizeof rows);
    memcpy(p.labels, labels, sizeof labels);
    float grad[24], loss, correct;
    cl_mem scalars = make_scalars(0.0f, 0.0f);
    device_cross_entropy(&p, 1, grad, scalars, 0);
    read_scalars(scalars, &loss, &correct);
    assert_true(isfinite(loss));
    for (size_t i = 0; i < 24; i++)
        assert_true(isfinite(grad[i]));
    support_buffer_release(scalars);
    check_problem(&p, 1);
    free_problem(&p);
}

/* Central differences of the float64 loss at a few elements, against the device gradient. */
static void test_cross_entropy_gradient_matches_finite_differences(void **state) {
    (void)state;
    problem p = make_problem(2, (const size_t[]){7, 5}, 54, 3.0f);
    float grad[35];
    device_cross_entropy(&p, 2, grad, NULL, 0);
    double *x = to_double(p.x, p.n);
    static const size_t elements[] = {0, 4, 11, 17, 23, 34};
    const double h = 1e-4;
    for (size_t k = 0; k < sizeof elements / sizeof *elements; k++) {
        size_t i = elements[k];
        double keep = x[i];
        x[i] = keep + h;
        double up = ref_cross_entropy(x, p.labels, p.batch, p.classes, NULL, NULL);
        x[i] = keep - h;
        double down = ref_cross_entropy(x, p.labels, p.batch, p.classes, NULL, NULL);
        x[i] = keep;
        double want = (up - down) / (2 * h);
        if (fabs(grad[i] - want) > 1e-5)
            fail_msg("element %zu: gradient %.9g, finite difference %.9g", i, (double)grad[i],
                     want);
    }
    free(x);
    free_problem(&p);
}

static void test_cross_entropy_accumulates_across_calls(void **state) {
    (void)state;
    problem a = make_problem(2, (const size_t[]){17, 10}, 55, 4.0f);
    problem b = make_problem(2, (const size_t[]){9, 10}, 56, 4.0f);
    problem empty = make_problem(2, (const size_t[]){0, 10}, 57, 4.0f);
    double *xa = to_double(a.x, a.n), *xb = to_double(b.x, b.n), ca, cb;
    double want = ref_cross_entropy(xa, a.labels, a.batch, 10, NULL, &ca) +
                  ref_cross_entropy(xb, b.labels, b.batch, 10, NULL, &cb);
    cl_mem scalars = make_scalars(support_poison(), support_poison());
    device_cross_entropy(&a, 0, NULL, scalars, 0);
    device_cross_entropy(&b, 3, NULL, scalars, 1);
    device_cross_entropy(&empty, 1, NULL, scalars, 1); /* adds nothing */
    float loss, correct;
    read_scalars(scalars, &loss, &correct);
    assert_true(support_close(&loss, &want, 1, 1e-5, 1.0, NULL, "accumulated loss"));
    assert_true(correct == (float)(ca + cb));
    /* Without accumulate an empty batch writes zeros. */
    device_cross_entropy(&empty, 1, NULL, scalars, 0);
    read_scalars(scalars, &loss, &correct);
    assert_true(support_bits(loss) == 0u && support_bits(correct) == 0u);
    support_buffer_release(scalars);
    free(xa), free(xb);
    free_problem(&a), free_problem(&b), free_problem(&empty);
}

/* The first maximum wins: with equal logits only the label at the first of them counts. */
static void test_cross_entropy_correct_counts_first_maximum(void **state) {
    (void)state;
    problem p = make_problem(2, (const size_t[]){5, 5}, 58, 1.0f);
    static const float rows[5][5] = {
        {1, 3, 3, 0, 2}, {1, 3, 3, 0, 2}, {2, 2, 2, 2, 2}, {2, 2, 2, 2, 2}, {-1, -2, -1, -5, -1}};
    static const float labels[5] = {1, 2, 0, 4, 0}; /* hits: rows 0, 2, 4 */
    memcpy(p.x, rows, sizeof rows);
    memcpy(p.labels, labels, sizeof labels);
    float loss, correct;
    cl_mem scalars = make_scalars(0.0f, 0.0f);
    device_cross_entropy(&p, 0, NULL, scalars, 0);
    read_scalars(scalars, &loss, &correct);
    assert_true(correct == 3.0f);
    support_buffer_release(scalars);
    free_problem(&p);
    /* Many ties: small integer logits. */
    p = make_problem(2, (const size_t[]){300, 10}, 59, 1.0f);
    for (size_t i = 0; i < p.n; i++)
        p.x[i] = floorf(p.x[i] * 1.5f);
    check_problem(&p, 1);
    free_problem(&p);
}

/* -1, 10 (for 10 classes), 2.5 and NaN: those rows' losses and gradients are NaN, the other
 * rows are untouched by them, and they never count as correct. */
static void test_cross_entropy_invalid_labels_give_nan(void **state) {
    (void)state;
    problem p = make_problem(2, (const size_t[]){6, 10}, 60, 2.0f);
    static const float labels[6] = {3, -1, 10, 2.5f, NAN, 9};
    memcpy(p.labels, labels, sizeof labels);
    p.x[1 * 10 + 0] = 50.0f; /* row 1's arg-max is 0, a label -1 still does not count */
    float grad[60], loss, correct;
    double *x = to_double(p.x, p.n), want_grad[60], want_correct;
    ref_cross_entropy(x, p.labels, 6, 10, want_grad, &want_correct);
    cl_mem scalars = make_scalars(0.0f, 0.0f);
    device_cross_entropy(&p, 1, grad, scalars, 0);
    read_scalars(scalars, &loss, &correct);
    assert_true(isnan(loss));
    for (size_t i = 10; i < 50; i++)
        assert_true(isnan(grad[i]));
    assert_true(support_close(grad, want_grad, 10, 1e-5, 1.0 / 6, NULL, "row 0"));
    assert_true(support_close(grad + 50, want_grad + 50, 10, 1e-5, 1.0 / 6, NULL, "row 5"));
    assert_true(correct == (float)want_correct);
    support_buffer_release(scalars);
    free(x);
    free_problem(&p);
}

/* A NaN logit is the row's maximum (as torch.argmax): loss and gradient NaN, and the row counts
 * as correct exactly when its first NaN is at the label. */
static void test_cross_entropy_nan_logit_is_the_maximum(void **state) {
    (void)state;
    problem p = make_problem(2, (const size_t[]){3, 4}, 61, 2.0f);
    p.x[1] = NAN, p.x[3] = NAN, p.labels[0] = 1; /* hit */
    p.x[4] = NAN, p.labels[1] = 2;               /* miss */
    float grad[12], loss, correct;
    double *x = to_double(p.x, p.n), want_grad[12], want_correct;
    ref_cross_entropy(x, p.labels, 3, 4, want_grad, &want_correct);
    cl_mem scalars = make_scalars(0.0f, 0.0f);
    device_cross_entropy(&p, 0, grad, scalars, 0);
    read_scalars(scalars, &loss, &correct);
    assert_true(isnan(loss));
    assert_true(support_close(grad, want_grad, 12, 1e-5, 1.0 / 3, NULL, "NaN rows"));
    assert_true(correct == (float)want_correct);
    support_buffer_release(scalars);
    free(x);
    free_problem(&p);
}

static void test_cross_entropy_is_deterministic(void **state) {
    (void)state;
    problem p = make_problem(2, (const size_t[]){1000, 37}, 62, 5.0f);
    float *g1 = checked_malloc(p.n, sizeof(float)), *g2 = checked_malloc(p.n, sizeof(float));
    float l1, l2, c1, c2;
    cl_mem scalars = make_scalars(0.0f, 0.0f);
    device_cross_entropy(&p, 1, g1, scalars, 0);
    read_scalars(scalars, &l1, &c1);
    device_cross_entropy(&p, 1, g2, scalars, 0);
    read_scalars(scalars, &l2, &c2);
    assert_true(support_bits(l1) == support_bits(l2) && c1 == c2);
    assert_memory_equal(g1, g2, p.n * sizeof(float));
    support_buffer_release(scalars);
    free(g1), free(g2);
    free_problem(&p);
}

/* ---- Mean squared error ----------------------------------------------------------------- */

/* pred at off, target at off + 1, dpred at off + 2 (when dpred is not NULL); loss in scalars. */
static void device_mse(const float *pred, const float *target, size_t n, size_t off, float *dpred,
                       cl_mem scalars, int accumulate) {
    cl_mem bp = support_buffer_at(pred, n, off, PAD),
           bt = support_buffer_at(target, n, off + 1, PAD);
    cl_mem bd = support_buffer_poisoned(off + 2 + n + PAD);
    relucl_tensor tp = support_view1(bp, off, n), tt = support_view1(bt, off + 1, n);
    relucl_tensor td = support_view1(bd, off + 2, n), tl = support_view1(scalars, LOSS_AT, 1);
    relucl_status st = relucl_mse(support_ctx(), &tp, &tt, dpred ? &td : NULL, &tl, accumulate);
    if (st != RELUCL_OK)
        fail_msg("%s: %s", relucl_status_name(st), relucl_context_error(support_ctx()));
    float *all = checked_malloc(n, sizeof(float));
    support_read_checked(bd, off + 2, n, off + 2 + n + PAD, all, "dpred");
    if (dpred)
        memcpy(dpred, all, n * sizeof(float));
    else
        assert_true(support_is_poison(all, 0, n, "dpred not asked for"));
    free(all);
    support_buffer_release(bp), support_buffer_release(bt), support_buffer_release(bd);
}

static double ref_mse(const float *pred, const float *target, size_t n, float *dpred) {
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)pred[i] - (double)target[i];
        total += d * d;
        if (dpred)
            dpred[i] = (float)(2.0 * d / (double)n);
    }
    return n ? total / (double)n : 0.0;
}

/* The loss within 1e-5 relative; dpred within 2 ulp (p - t and the division each round). */
static void check_mse(size_t n, size_t off, uint64_t seed) {
    char label[64];
    snprintf(label, sizeof label, "mse n %zu off %zu", n, off);
    float *pred = checked_malloc(n, sizeof(float)), *target = checked_malloc(n, sizeof(float));
    float *got = checked_malloc(n, sizeof(float)), *want = checked_malloc(n, sizeof(float));
    support_fill_uniform(pred, n, seed, -3.0f, 3.0f);
    support_fill_uniform(target, n, seed + 1, -3.0f, 3.0f);
    double want_loss = ref_mse(pred, target, n, want);
    cl_mem scalars = make_scalars(support_poison(), 0.0f);
    device_mse(pred, target, n, off, got, scalars, 0);
    float loss, unused;
    read_scalars(scalars, &loss, &unused);
    assert_true(support_close(&loss, &want_loss, 1, 1e-5, 0.0, NULL, label));
    assert_true(support_within_ulp(got, want, n, 2, label));
    support_buffer_release(scalars);
    free(pred), free(target), free(got), free(want);
}

static void test_mse_matches_reference(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 3, 17, 257, 1000, 100003};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        check_mse(sizes[i], i % 3 == 0 ? 0 : i + 2, 70 + i);
}

static void test_mse_accumulates_and_skips_gradient(void **state) {
    (void)state;
    float pred[7], target[7], loss, unused;
    support_fill_uniform(pred, 7, 80, -1.0f, 1.0f);
    support_fill_uniform(target, 7, 81, -1.0f, 1.0f);
    double want = 2.0 * ref_mse(pred, target, 7, NULL);
    cl_mem scalars = make_scalars(support_poison(), 0.0f);
    device_mse(pred, target, 7, 1, NULL, scalars, 0);
    device_mse(pred, target, 7, 2, NULL, scalars, 1);
    device_mse(pred, target, 0, 2, NULL, scalars, 1);
    read_scalars(scalars, &loss, &unused);
    assert_true(support_close(&loss, &want, 1, 1e-6, 0.0, NULL, "accumulated mse"));
    device_mse(pred, target, 0, 2, NULL, scalars, 0);
    read_scalars(scalars, &loss, &unused);
    assert_true(support_bits(loss) == 0u);
    support_buffer_release(scalars);
}

/* ---- Errors ----------------------------------------------------------------------------- */

/* In `in`: logits (4, 3) at 0, labels (4) at 12, pred/target use the logits. In `out`
 * (poisoned): dlogits at 1, loss at 14, correct at 16. */
enum { ETOTAL = 24 };

typedef struct fixture {
    support_arena io;
    relucl_tensor x, labels, dx, loss, correct;
} fixture;

static fixture make_fixture(void) {
    float data[ETOTAL];
    support_fill_uniform(data, ETOTAL, 90, 0.0f, 2.0f);
    data[12] = 0, data[13] = 2, data[14] = 1, data[15] = 2;
    fixture f;
    f.io = support_arena_make(data, ETOTAL, ETOTAL);
    f.x = support_view(f.io.in, 0, 2, (const size_t[]){4, 3});
    f.labels = support_view1(f.io.in, 12, 4);
    f.dx = support_view(f.io.out, 1, 2, (const size_t[]){4, 3});
    f.loss = support_view1(f.io.out, 14, 1);
    f.correct = support_view1(f.io.out, 16, 1);
    return f;
}

static void free_fixture(fixture *f) { support_arena_free(&f->io); }

/* The call failed with `want`, named `word`, and neither inputs nor outputs changed. */
static void expect_rejected(const fixture *f, relucl_status got, relucl_status want,
                            const char *word) {
    support_arena_expect_rejected(&f->io, got, want, word);
}

static relucl_status ce(const relucl_tensor *x, const relucl_tensor *labels,
                        const relucl_tensor *dx, const relucl_tensor *loss,
                        const relucl_tensor *correct) {
    return relucl_softmax_cross_entropy(support_ctx(), x, labels, dx, loss, correct, 0);
}

static void test_cross_entropy_bad_arguments_are_rejected(void **state) {
    (void)state;
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT, shape = RELUCL_ERROR_SHAPE;
    expect_rejected(
        &f, relucl_softmax_cross_entropy(NULL, &f.x, &f.labels, &f.dx, &f.loss, &f.correct, 0), bad,
        NULL);
    expect_rejected(&f, ce(NULL, &f.labels, &f.dx, &f.loss, &f.correct), bad, "logits");
    expect_rejected(&f, ce(&f.x, NULL, &f.dx, &f.loss, &f.correct), bad, "labels");
    relucl_tensor labels3 = support_view1(f.io.in, 12, 3), dx11 = support_view1(f.io.out, 1, 11);
    relucl_tensor loss2 = support_view1(f.io.out, 14, 2), correct2 = support_view1(f.io.out, 16, 2);
    expect_rejected(&f, ce(&f.x, &labels3, &f.dx, &f.loss, &f.correct), shape, "labels");
    expect_rejected(&f, ce(&f.x, &f.labels, &dx11, &f.loss, &f.correct), shape, "dlogits");
    expect_rejected(&f, ce(&f.x, &f.labels, &f.dx, &loss2, &f.correct), shape, "loss");
    expect_rejected(&f, ce(&f.x, &f.labels, &f.dx, &f.loss, &correct2), shape, "correct");
    relucl_tensor x5 = support_view_raw(f.io.in, 0, 5, (const size_t[]){4, 3, 1, 1, 1});
    relucl_tensor no_classes = support_view(f.io.in, 0, 2, (const size_t[]){4, 0});
    relucl_tensor past = support_view(f.io.in, 20, 2, (const size_t[]){4, 3});
    expect_rejected(&f, ce(&x5, &f.labels, &f.dx, &f.loss, &f.correct), shape, "logits");
    expect_rejected(&f, ce(&no_classes, &f.labels, NULL, &f.loss, &f.correct), shape, "logits");
    expect_rejected(&f, ce(&past, &f.labels, &f.dx, &f.loss, &f.correct), shape, "logits");
    free_fixture(&f);
}

static void test_cross_entropy_overlaps_are_rejected(void **state) {
    (void)state;
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT;
    relucl_tensor dx_on_x = f.x, dx_on_labels = support_view(f.io.in, 10, 2, (const size_t[]){4, 3});
    relucl_tensor loss_in_dx = support_view1(f.io.out, 5, 1),
                  loss_on_labels = support_view1(f.io.in, 13, 1);
    relucl_tensor correct_on_loss = f.loss, correct_in_x = support_view1(f.io.in, 2, 1);
    expect_rejected(&f, ce(&f.x, &f.labels, &dx_on_x, &f.loss, &f.correct), bad, "dlogits");
    expect_rejected(&f, ce(&f.x, &f.labels, &dx_on_labels, &f.loss, &f.correct), bad, "dlogits");
    expect_rejected(&f, ce(&f.x, &f.labels, &f.dx, &loss_in_dx, &f.correct), bad, "loss");
    expect_rejected(&f, ce(&f.x, &f.labels, &f.dx, &loss_on_labels, &f.correct), bad, "loss");
    expect_rejected(&f, ce(&f.x, &f.labels, &f.dx, &f.loss, &correct_on_loss), bad, "correct");
    expect_rejected(&f, ce(&f.x, &f.labels, NULL, NULL, &correct_in_x), bad, "correct");
    free_fixture(&f);
}

static void test_mse_bad_arguments_are_rejected(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    fixture f = make_fixture();
    const relucl_status bad = RELUCL_ERROR_INVALID_ARGUMENT, shape = RELUCL_ERROR_SHAPE;
    relucl_tensor p = support_view1(f.io.in, 0, 6), t = support_view1(f.io.in, 6, 6);
    relucl_tensor dp = support_view1(f.io.out, 1, 6), t5 = support_view1(f.io.in, 6, 5);
    relucl_tensor dp7 = support_view1(f.io.out, 1, 7), loss2 = support_view1(f.io.out, 14, 2);
    relucl_tensor dp_on_p = support_view1(f.io.in, 3, 6), loss_in_dp = support_view1(f.io.out, 6, 1);
    expect_rejected(&f, relucl_mse(NULL, &p, &t, &dp, &f.loss, 0), bad, NULL);
    expect_rejected(&f, relucl_mse(ctx, NULL, &t, &dp, &f.loss, 0), bad, "pred");
    expect_rejected(&f, relucl_mse(ctx, &p, NULL, &dp, &f.loss, 0), bad, "target");
    expect_rejected(&f, relucl_mse(ctx, &p, &t5, &dp, &f.loss, 0), shape, "target");
    expect_rejected(&f, relucl_mse(ctx, &p, &t, &dp7, &f.loss, 0), shape, "dpred");
    expect_rejected(&f, relucl_mse(ctx, &p, &t, &dp, &loss2, 0), shape, "loss");
    expect_rejected(&f, relucl_mse(ctx, &p, &t, &dp_on_p, &f.loss, 0), bad, "dpred");
    expect_rejected(&f, relucl_mse(ctx, &p, &t, &dp, &loss_in_dp, 0), bad, "loss");
    free_fixture(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_entropy_matches_reference_on_awkward_shapes),
        cmocka_unit_test(test_cross_entropy_large_batch_matches_reference),
        cmocka_unit_test(test_cross_entropy_treats_higher_dims_as_classes),
        cmocka_unit_test(test_cross_entropy_large_logits_stay_finite),
        cmocka_unit_test(test_cross_entropy_gradient_matches_finite_differences),
        cmocka_unit_test(test_cross_entropy_accumulates_across_calls),
        cmocka_unit_test(test_cross_entropy_correct_counts_first_maximum),
        cmocka_unit_test(test_cross_entropy_invalid_labels_give_nan),
        cmocka_unit_test(test_cross_entropy_nan_logit_is_the_maximum),
        cmocka_unit_test(test_cross_entropy_is_deterministic),
        cmocka_unit_test(test_mse_matches_reference),
        cmocka_unit_test(test_mse_accumulates_and_skips_gradient),
        cmocka_unit_test(test_cross_entropy_bad_arguments_are_rejected),
        cmocka_unit_test(test_cross_entropy_overlaps_are_rejected),
        cmocka_unit_test(test_mse_bad_arguments_are_rejected),
    };
    return cmocka_run_group_tests_name("loss", tests, support_setup, support_teardown);
}
