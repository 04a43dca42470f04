#include "support.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Context ------------------------------------------------------------------------------ */

/* Test code only: one context per test program, shared by every test in its group, because a
 * PoCL program build costs about a second. */
static relucl_context *g_ctx;

int support_setup(void **state) {
    char message[1024] = "";
    relucl_status st = relucl_context_create_ex(NULL, &g_ctx, message, sizeof message);
    if (st != RELUCL_OK) {
        print_error("support_setup: relucl_context_create_ex: %s: %s\n", relucl_status_name(st),
                    message);
        g_ctx = NULL;
        return -1;
    }
    *state = g_ctx;
    return 0;
}

int support_teardown(void **state) {
    relucl_context_destroy(g_ctx);
    g_ctx = NULL;
    *state = NULL;
    return 0;
}

relucl_context *support_ctx(void) {
    if (!g_ctx)
        fail_msg("%s", "support_ctx: no context; is support_setup the group setup?");
    return g_ctx;
}

/* ---- Random numbers --------------------------------------------------------------------- */

support_rng support_rng_make(uint64_t seed) {
    support_rng rng = {seed};
    return rng;
}

uint64_t support_rng_next(support_rng *rng) {
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

size_t support_rng_below(support_rng *rng, size_t n) {
    /* The modulo bias is irrelevant for test data. */
    return (size_t)(support_rng_next(rng) % (uint64_t)n);
}

float support_rng_float(support_rng *rng, float lo, float hi) {
    double u = (double)(support_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
    double v = (double)lo + ((double)hi - (double)lo) * u;
    float f = (float)v;
    /* Rounding to float can step just outside the range. */
    if (f < lo)
        f = lo;
    if (f > hi)
        f = hi;
    return f;
}

void support_fill_uniform(float *a, size_t n, uint64_t seed, float lo, float hi) {
    support_rng rng = support_rng_make(seed);
    for (size_t i = 0; i < n; i++)
        a[i] = support_rng_float(&rng, lo, hi);
}

void support_fill_special(float *a, size_t n, uint64_t seed, float lo, float hi, float threshold) {
    const float specials[] = {
        NAN,
        INFINITY,
        -INFINITY,
        0.0f,
        -0.0f,
        FLT_MAX,
        -FLT_MAX,
        FLT_TRUE_MIN,
        -FLT_TRUE_MIN,
        1e-40f,
        -1e-40f,
        FLT_MIN,
        -FLT_MIN,
        threshold,
        -threshold,
        nextafterf(threshold, INFINITY),
        nextafterf(threshold, -INFINITY),
    };
    const size_t count = sizeof specials / sizeof specials[0];
    support_rng rng = support_rng_make(seed ^ 0x5EC1A1u);
    support_fill_uniform(a, n, seed, lo, hi);
    for (size_t i = 0; i < n; i++)
        if (support_rng_below(&rng, 8) == 0)
            a[i] = specials[support_rng_below(&rng, count)];
    /* Guarantee every special once, then shuffle so they are not all at the front (kernels
     * often treat the first and last elements of a vector differently). */
    for (size_t i = 0; i < count && i < n; i++)
        a[i] = specials[i];
    for (size_t i = n; i > 1; i--) {
        size_t j = support_rng_below(&rng, i);
        float t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* ---- Bits and poison -------------------------------------------------------------------- */

uint32_t support_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float support_from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float support_poison(void) { return support_from_bits(SUPPORT_POISON_BITS); }

void support_poison_fill(float *a, size_t n) {
    float p = support_poison();
    for (size_t i = 0; i < n; i++)
        a[i] = p;
}

int support_is_poison(const float *a, size_t begin, size_t end, const char *what) {
    for (size_t i = begin; i < end; i++) {
        if (support_bits(a[i]) != SUPPORT_POISON_BITS) {
            print_error("%s: element %zu was overwritten (now %.9g, 0x%08" PRIX32
                        "), poison expected in [%zu, %zu)\n",
                        what, i, (double)a[i], support_bits(a[i]), begin, end);
            return 0;
        }
    }
    return 1;
}

/* ---- Device buffers --------------------------------------------------------------------- */

static void check_cl(cl_int err, const char *what) {
    if (err != CL_SUCCESS)
        fail_msg("%s failed with OpenCL error %d", what, (int)err);
}

cl_mem support_buffer_from(const float *src, size_t n) {
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(relucl_context_cl_context(support_ctx()),
                                CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * sizeof(float),
                                (void *)(uintptr_t)src, &err);
    check_cl(err, "clCreateBuffer");
    return mem;
}

cl_mem support_buffer_poisoned(size_t n) {
    if (n == 0)
        n = 1;
    float *host = malloc(n * sizeof *host);
    assert_non_null(host);
    support_poison_fill(host, n);
    cl_mem mem = support_buffer_from(host, n);
    free(host);
    return mem;
}

void support_buffer_write(cl_mem buffer, size_t offset, const float *src, size_t n) {
    if (n == 0)
        return;
    check_cl(clEnqueueWriteBuffer(relucl_context_queue(support_ctx()), buffer, CL_TRUE,
                                  offset * sizeof(float), n * sizeof(float), src, 0, NULL, NULL),
             "clEnqueueWriteBuffer");
}

void support_buffer_read(cl_mem buffer, size_t offset, float *dst, size_t n) {
    if (n == 0) {
        check_cl(clFinish(relucl_context_queue(support_ctx())), "clFinish");
        return;
    }
    check_cl(clEnqueueReadBuffer(relucl_context_queue(support_ctx()), buffer, CL_TRUE,
                                 offset * sizeof(float), n * sizeof(float), dst, 0, NULL, NULL),
             "clEnqueueReadBuffer");
}

cl_mem support_buffer_at(const float *src, size_t n, size_t offset, size_t pad) {
    cl_mem mem = support_buffer_poisoned(offset + n + pad);
    support_buffer_write(mem, offset, src, n);
    return mem;
}

void support_read_checked(cl_mem buffer, size_t offset, size_t n, size_t total, float *dst,
                          const char *what) {
    float *all = malloc((total ? total : 1) * sizeof *all);
    assert_non_null(all);
    support_buffer_read(buffer, 0, all, total);
    int intact =
        support_is_poison(all, 0, offset, what) && support_is_poison(all, offset + n, total, what);
    if (intact && n > 0)
        memcpy(dst, all + offset, n * sizeof *dst);
    free(all);
    if (!intact)
        fail_msg("%s: poison around the view [%zu, %zu) was overwritten", what, offset, offset + n);
}

void support_buffer_release(cl_mem buffer) {
    if (buffer)
        clReleaseMemObject(buffer);
}

/* ---- Tensor views ----------------------------------------------------------------------- */

relucl_tensor support_view(cl_mem buffer, size_t offset, int ndim, const size_t *dims) {
    relucl_tensor t;
    memset(&t, 0, sizeof t);
    relucl_status st = relucl_tensor_wrap(buffer, offset, ndim, dims, &t);
    if (st != RELUCL_OK)
        fail_msg("relucl_tensor_wrap(offset %zu, ndim %d) failed: %s", offset, ndim,
                 relucl_status_name(st));
    return t;
}

relucl_tensor support_view1(cl_mem buffer, size_t offset, size_t n) {
    return support_view(buffer, offset, 1, &n);
}

relucl_tensor support_view_raw(cl_mem buffer, size_t offset, int ndim, const size_t *dims) {
    relucl_tensor t;
    memset(&t, 0, sizeof t);
    t.buffer = buffer;
    t.offset = offset;
    t.ndim = ndim;
    for (int i = 0; i < RELUCL_MAX_DIMS; i++)
        t.dims[i] = i < ndim ? dims[i] : 1;
    return t;
}

/* ---- Comparisons ------------------------------------------------------------------------ */

/* Maps float bits onto a line where adjacent floats differ by 1 and both zeros sit at 0. */
static int64_t ordered(float f) {
    uint32_t b = support_bits(f);
    int64_t magnitude = (int64_t)(b & 0x7FFFFFFFu);
    return (b & 0x80000000u) ? -magnitude : magnitude;
}

uint64_t support_ulp_distance(float a, float b) {
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0 : UINT64_MAX;
    int64_t d = ordered(a) - ordered(b);
    return (uint64_t)(d < 0 ? -d : d);
}

static void print_mismatch(const char *what, size_t i, float got, double want, size_t mismatches,
                           size_t n) {
    float want_f = (float)want;
    print_error("%s: element %zu: got %.9g (0x%08" PRIX32 "), want %.17g (0x%08" PRIX32
                " as float); %zu of %zu elements differ\n",
                what, i, (double)got, support_bits(got), want, support_bits(want_f), mismatches, n);
}

int support_equal_bits(const float *got, const float *want, size_t n, const char *what) {
    size_t first = n, mismatches = 0;
    for (size_t i = 0; i < n; i++) {
        int same =
            (isnan(got[i]) && isnan(want[i])) || support_bits(got[i]) == support_bits(want[i]);
        if (!same && mismatches++ == 0)
            first = i;
    }
    if (mismatches == 0)
        return 1;
    print_mismatch(what, first, got[first], (double)want[first], mismatches, n);
    return 0;
}

int support_within_ulp(const float *got, const float *want, size_t n, uint64_t max_ulp,
                       const char *what) {
    size_t first = n, mismatches = 0;
    uint64_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = support_ulp_distance(got[i], want[i]);
        if (d > max_ulp && mismatches++ == 0)
            first = i;
        if (d > worst)
            worst = d;
    }
    if (mismatches == 0)
        return 1;
    print_mismatch(what, first, got[first], (double)want[first], mismatches, n);
    print_error("%s: allowed %" PRIu64 " ulp, first off by %" PRIu64 ", worst %" PRIu64 "\n", what,
                max_ulp, support_ulp_distance(got[first], want[first]), worst);
    return 0;
}

static int close_one(float got, double want, double allowed) {
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return (double)got == want;
    /* A finite want beyond float range is an infinity once rounded; a float computation
     * overflows there too. */
    if (isinf((float)want) && (double)got == (double)(float)want)
        return 1;
    if (isnan(got) || isinf(got))
        return 0;
    return fabs((double)got - want) <= allowed;
}

int support_close(const float *got, const double *want, size_t n, double rel, double abs_floor,
                  const double *scale, const char *what) {
    size_t first = n, mismatches = 0;
    for (size_t i = 0; i < n; i++) {
        double size = fmax(fabs(want[i]), abs_floor);
        if (scale)
            size = fmax(size, scale[i]);
        if (!close_one(got[i], want[i], rel * size) && mismatches++ == 0)
            first = i;
    }
    if (mismatches == 0)
        return 1;
    print_mismatch(what, first, got[first], want[first], mismatches, n);
    print_error("%s: allowed relative %.3g (scale %.9g), error %.9g\n", what, rel,
                scale ? scale[first] : fabs(want[first]), fabs((double)got[first] - want[first]));
    return 0;
}

void support_normalize_zero_sign(float *got, const float *input, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (input[i] == 0.0f && support_bits(got[i]) == 0x80000000u)
            got[i] = 0.0f;
}

/* ---- Errors ----------------------------------------------------------------------------- */

static int is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Whole words only: "x" must not be satisfied by the x in "relucl_tensor_wrap: ndim". */
static int mentions_word(const char *msg, const char *word) {
    size_t len = strlen(word);
    for (const char *p = strstr(msg, word); p; p = strstr(p + 1, word)) {
        int starts = p == msg || !is_word_char(p[-1]);
        int ends = !is_word_char(p[len]);
        if (starts && ends)
            return 1;
    }
    return 0;
}

int support_error_mentions(const char *word) {
    const char *msg = relucl_context_error(support_ctx());
    if (msg && msg[0] != '\0' && mentions_word(msg, word))
        return 1;
    print_error("error message \"%s\" should name \"%s\"\n", msg ? msg : "(null)", word);
    return 0;
}

void support_expect_rejected(relucl_status got, relucl_status want, const char *word, cl_mem out,
                             size_t total) {
    if (got != want)
        fail_msg("status %s, want %s (%s)", relucl_status_name(got), relucl_status_name(want),
                 relucl_context_error(support_ctx()));
    if (word)
        assert_true(support_error_mentions(word));
    float *all = malloc((total ? total : 1) * sizeof *all);
    assert_non_null(all);
    support_buffer_read(out, 0, all, total);
    int intact = support_is_poison(all, 0, total, "output of a rejected call");
    free(all);
    assert_true(intact);
}

/* ---- Misuse arenas ----------------------------------------------------------------------- */

support_arena support_arena_make(const float *data, size_t in_total, size_t out_total) {
    support_arena a = {support_buffer_from(data, in_total), support_buffer_poisoned(out_total),
                       in_total, out_total, malloc((in_total ? in_total : 1) * sizeof(float))};
    assert_non_null(a.data);
    memcpy(a.data, data, in_total * sizeof(float));
    return a;
}

void support_arena_free(support_arena *arena) {
    support_buffer_release(arena->in);
    support_buffer_release(arena->out);
    free(arena->data);
}

void support_arena_expect_rejected(const support_arena *arena, relucl_status got,
                                   relucl_status want, const char *word) {
    support_expect_rejected(got, want, word, arena->out, arena->out_total);
    float *now = malloc((arena->in_total ? arena->in_total : 1) * sizeof *now);
    assert_non_null(now);
    support_buffer_read(arena->in, 0, now, arena->in_total);
    int same = memcmp(now, arena->data, arena->in_total * sizeof *now) == 0;
    free(now);
    if (!same)
        fail_msg("a rejected call changed its inputs");
}

/* ---- float64 references ------------------------------------------------------------------ */

double support_act_forward(relucl_activation act, double v, double slope) {
    double a = act.alpha;
    if (isnan(v))
        return v;
    switch (act.kind) {
    case RELUCL_RELU: return v > 0 ? v : 0.0;
    case RELUCL_LEAKY_RELU: return v > 0 ? v : a * v;
    case RELUCL_ELU: return v > 0 ? v : a * expm1(v);
    case RELUCL_CLIPPED_RELU: return v <= 0 ? 0.0 : (v >= a ? a : v);
    case RELUCL_PRELU: return v > 0 ? v : slope * v;
    case RELUCL_IDENTITY: return v;
    }
    return NAN;
}

double support_act_derivative(relucl_activation act, double v, double slope) {
    double a = act.alpha;
    switch (act.kind) {
    case RELUCL_RELU: return v > 0 ? 1 : 0;
    case RELUCL_LEAKY_RELU: return v > 0 ? 1 : a;
    case RELUCL_ELU: return v > 0 ? 1 : a * exp(v);
    case RELUCL_CLIPPED_RELU: return (v <= 0 || v >= a) ? 0 : 1;
    case RELUCL_PRELU: return v > 0 ? 1 : slope;
    case RELUCL_IDENTITY: return 1;
    }
    return NAN;
}

/* op(m)[i][p] for a row-major matrix of `cols` columns. */
static double op_at(const float *m, size_t cols, relucl_transpose t, size_t i, size_t p) {
    return t == RELUCL_TRANS ? (double)m[p * cols + i] : (double)m[i * cols + p];
}

void support_gemm_reference(relucl_transpose ta, relucl_transpose tb, size_t m, size_t n,
                            size_t k, double alpha, const float *a, const float *b, double beta,
                            const float *c0, double *out, double *scale) {
    size_t a_cols = ta == RELUCL_TRANS ? m : k, b_cols = tb == RELUCL_TRANS ? k : n;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double sum = 0, mag = 0;
            for (size_t p = 0; p < k; p++) {
                double term = op_at(a, a_cols, ta, i, p) * op_at(b, b_cols, tb, p, j);
                sum += term;
                mag += fabs(term);
            }
            double prior = beta == 0 ? 0 : beta * c0[i * n + j];
            out[i * n + j] = alpha * sum + prior;
            scale[i * n + j] = fabs(alpha) * mag + fabs(prior);
        }
}
