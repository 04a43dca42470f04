/* Helpers shared by the cmocka test programs: one context per program, deterministic random
 * data, poisoned device buffers, and float comparisons that say where they failed.
 *
 * Comparison helpers return 1 when the data match and 0 otherwise, after printing the first
 * mismatch with print_error; wrap them in assert_true so the failing line is reported.
 * Buffer helpers fail the current test themselves when an OpenCL call fails.
 *
 * Note for cmocka 1.1.5 under -Wpedantic: fail_msg is a variadic macro built on
 * ##__VA_ARGS__, so always give it at least one argument: fail_msg("%s", "why"). */
#ifndef RELUCL_TEST_SUPPORT_H
#define RELUCL_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "relucl.h"

/* ---- One shared context per test program ------------------------------------------------ */

/* cmocka group setup/teardown: creates (destroys) the context returned by support_ctx() and
 * also stores it in *state. Setup prints the library's reason and fails the group when no
 * context can be made. */
int support_setup(void **state);
int support_teardown(void **state);
relucl_context *support_ctx(void);

/* ---- Deterministic random numbers (splitmix64) ------------------------------------------ */

typedef struct support_rng {
    uint64_t state;
} support_rng;

support_rng support_rng_make(uint64_t seed);
uint64_t support_rng_next(support_rng *rng);
/* Uniform in [0, n); n > 0. */
size_t support_rng_below(support_rng *rng, size_t n);
/* Uniform float in [lo, hi]. */
float support_rng_float(support_rng *rng, float lo, float hi);

/* a[0..n) uniform in [lo, hi], the same for the same seed on every platform. */
void support_fill_uniform(float *a, size_t n, uint64_t seed, float lo, float hi);
/* As support_fill_uniform, then about one element in eight is replaced by a special value:
 * NaN, +Inf, -Inf, 0.0, -0.0, +-FLT_MAX, positive and negative denormals, +-threshold (pass
 * the value where the function under test switches, e.g. alpha for clipped ReLU) and the
 * floats just either side of threshold. When n is large enough every special appears at
 * least once. */
void support_fill_special(float *a, size_t n, uint64_t seed, float lo, float hi, float threshold);

/* ---- Bits and poison -------------------------------------------------------------------- */

uint32_t support_bits(float f);
float support_from_bits(uint32_t bits);

/* 0xDEADBEEF is -6.26e18, an ordinary normal float: no op writes it by accident, and unlike a
 * NaN pattern it cannot be confused with a NaN result. */
#define SUPPORT_POISON_BITS 0xDEADBEEFu
float support_poison(void);
void support_poison_fill(float *a, size_t n);
/* 1 if a[begin..end) still holds the poison bits; otherwise prints the first changed index. */
int support_is_poison(const float *a, size_t begin, size_t end, const char *what);

/* ---- Device buffers (on support_ctx()'s context and queue) -------------------------------- */

/* A buffer of n floats (at least 1: OpenCL has no empty buffers) filled with poison. */
cl_mem support_buffer_poisoned(size_t n);
/* A buffer of exactly n floats (n >= 1) holding src. */
cl_mem support_buffer_from(const float *src, size_t n);
/* Blocking copies of n floats at element offset `offset`; wait for queued work first (the
 * queue is in-order). n may be 0. */
void support_buffer_write(cl_mem buffer, size_t offset, const float *src, size_t n);
void support_buffer_read(cl_mem buffer, size_t offset, float *dst, size_t n);
/* A poisoned buffer of offset + n + pad floats holding src at element `offset`, so that a
 * kernel reading or writing outside its view meets poison. */
cl_mem support_buffer_at(const float *src, size_t n, size_t offset, size_t pad);
/* Reads all `total` floats of buffer, fails the test unless everything outside
 * [offset, offset + n) is still poison, and copies the n floats of the view into dst. */
void support_read_checked(cl_mem buffer, size_t offset, size_t n, size_t total, float *dst,
                          const char *what);
/* clReleaseMemObject, ignoring NULL. */
void support_buffer_release(cl_mem buffer);

/* ---- Tensor views ----------------------------------------------------------------------- */

/* A view through relucl_tensor_wrap; fails the test if wrap rejects it. */
relucl_tensor support_view(cl_mem buffer, size_t offset, int ndim, const size_t *dims);
/* A 1-D view of n elements. */
relucl_tensor support_view1(cl_mem buffer, size_t offset, size_t n);
/* Fills the struct directly without any check, to build deliberately invalid tensors (ndim 0
 * or 5, overflowing dims). dims holds min(ndim, RELUCL_MAX_DIMS) entries; the rest are 1. */
relucl_tensor support_view_raw(cl_mem buffer, size_t offset, int ndim, const size_t *dims);

/* ---- Comparisons ------------------------------------------------------------------------ */

/* Distance in units in the last place: 0 for two NaNs (any payload) and for +0 vs -0,
 * UINT64_MAX when exactly one is NaN. Infinities sit one step beyond +-FLT_MAX. */
uint64_t support_ulp_distance(float a, float b);

/* got[i] and want[i] have the same bits, except that any NaN matches any NaN (payloads and
 * NaN signs are not specified). Prints the first mismatch, with values and hex bits, and the
 * mismatch count. */
int support_equal_bits(const float *got, const float *want, size_t n, const char *what);
/* Within max_ulp of each other (see support_ulp_distance). */
int support_within_ulp(const float *got, const float *want, size_t n, uint64_t max_ulp,
                       const char *what);
/* |got - want| <= rel * max(|want|, scale[i], abs_floor), with scale NULL meaning 0. A NaN
 * want requires a NaN got; an infinite want requires the same infinity, which a finite want
 * that rounds to an infinity as a float also accepts. */
int support_close(const float *got, const double *want, size_t n, double rel, double abs_floor,
                  const double *scale, const char *what);

/* Where input[i] is a zero of either sign and got[i] is -0.0, makes got[i] +0.0: for results
 * whose zero sign is unspecified at a zero input (ReLU of -0.0). */
void support_normalize_zero_sign(float *got, const float *input, size_t n);

/* ---- Errors ----------------------------------------------------------------------------- */

/* 1 if relucl_context_error(support_ctx()) is non-empty and contains word as a whole word
 * (not inside a longer identifier; "alpha" matches "act.alpha"); otherwise prints the
 * message. */
int support_error_mentions(const char *word);

/* For a call that must fail: got == want, the context's message names `word` (skipped when
 * word is NULL, e.g. for a NULL context), and all `total` floats of `out` (the call's output
 * buffer, filled with poison beforehand) are still poison. Fails the test otherwise. */
void support_expect_rejected(relucl_status got, relucl_status want, const char *word, cl_mem out,
                             size_t total);

/* The buffers of a misuse test: inputs (a copy of `data`) and outputs (all poison). A rejected
 * call must leave both exactly as they were. */
typedef struct support_arena {
    cl_mem in, out;
    size_t in_total, out_total;
    float *data; /* the inputs as uploaded */
} support_arena;
support_arena support_arena_make(const float *data, size_t in_total, size_t out_total);
void support_arena_free(support_arena *arena);
/* support_expect_rejected on the outputs, and the inputs unchanged too. */
void support_arena_expect_rejected(const support_arena *arena, relucl_status got,
                                   relucl_status want, const char *word);

/* ---- float64 references shared by several modules --------------------------------------- */

/* act(v) and act'(v) as docs/semantics.md defines them; slope is PReLU's (ignored otherwise).
 * NaN propagates through the forward formula. */
double support_act_forward(relucl_activation act, double v, double slope);
double support_act_derivative(relucl_activation act, double v, double slope);

/* out = alpha op(a) op(b) + beta c0 for row-major m x k and k x n operands (c0 unused when beta
 * is 0), and scale = the same sum of absolute values, the yardstick of the rounding error. */
void support_gemm_reference(relucl_transpose ta, relucl_transpose tb, size_t m, size_t n,
                            size_t k, double alpha, const float *a, const float *b, double beta,
                            const float *c0, double *out, double *scale);

#endif /* RELUCL_TEST_SUPPORT_H */
