/* Philox4x32-10 on the host, tensor initialisers, dropout and shuffling.
 *
 * Element mapping (kernels/random.cl follows it too): element i of a tensor uses Philox block
 * b = i / 4 and lane i % 4, with counter {low32(b), high32(b), low32(stream), high32(stream)}
 * and key {low32(seed), high32(seed)}. A uniform is lane i's word w as (w >> 8) * 2^-24, in
 * [0, 1). Normals use Box-Muller on the word pairs (0, 1) and (2, 3): u1 = ((w >> 8) + 1) *
 * 2^-24 in (0, 1] (log never sees 0), the even lane takes r cos, the odd lane r sin. So one
 * Philox call always gives four elements, and element i depends only on (seed, stream, i),
 * never on the tensor's size or offset. relucl_shuffle draws its words from the same kind of
 * counter with the epoch in place of the stream. */
#include "ops/ops.h"

#include <limits.h>
#include <math.h>

_Static_assert(UINT_MAX == 0xFFFFFFFFu, "Philox words are 32-bit unsigned ints");

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* One round (Salmon et al. 2011): two 32x32->64 multiplies; the high halves are mixed with
 * the other two words and the key. */
static void philox_round(unsigned c[4], const unsigned k[2]) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * c[0], p1 = (uint64_t)PHILOX_M1 * c[2];
    unsigned next[4] = {(unsigned)(p1 >> 32) ^ c[1] ^ k[0], (unsigned)p1,
                        (unsigned)(p0 >> 32) ^ c[3] ^ k[1], (unsigned)p0};
    for (int i = 0; i < 4; i++)
        c[i] = next[i];
}

void relucl_philox4x32(const unsigned int counter[4], const unsigned int key[2],
                       unsigned int out[4]) {
    if (!counter || !key || !out)
        return;
    unsigned c[4] = {counter[0], counter[1], counter[2], counter[3]}, k[2] = {key[0], key[1]};
    philox_round(c, k);
    for (int r = 1; r < 10; r++) {
        k[0] += PHILOX_W0;
        k[1] += PHILOX_W1;
        philox_round(c, k);
    }
    for (int i = 0; i < 4; i++)
        out[i] = c[i];
}

/* ---- relucl_init_tensor -------------------------------------------------------------------- */

/* What one init does: a kernel with its scale (bound or standard deviation), or, with kernel
 * NULL, a fill with `scale`. */
typedef struct init_plan {
    const char *kernel;
    float scale;
} init_plan;

static relucl_status check_fans(relucl_context *ctx, const char *fn, const relucl_init *init,
                                int need_fan_out) {
    if (init->fan_in == 0)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "init.fan_in is 0; He and Xavier need the layer's input count");
    if (need_fan_out && init->fan_out == 0)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "init.fan_out is 0; Xavier needs the layer's output count");
    return RELUCL_OK;
}

/* A spread (bound or standard deviation) taken from init.value: finite and not negative. */
static relucl_status check_spread(relucl_context *ctx, const char *fn, float value) {
    RELUCL__TRY(relucl__check_param(ctx, fn, "init.value", value, 0));
    if (!(value >= 0.0f))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "init.value is %g, must be >= 0", (double)value);
    return RELUCL_OK;
}

static relucl_status plan_init(relucl_context *ctx, const char *fn, const relucl_init *init,
                               init_plan *plan) {
    relucl_init_kind kind = init->kind;
    plan->kernel = NULL;
    plan->scale = 0.0f;
    switch (kind) {
    case RELUCL_INIT_ZEROS: return RELUCL_OK;
    case RELUCL_INIT_CONSTANT:
        plan->scale = init->value;
        return relucl__check_param(ctx, fn, "init.value", init->value, 0);
    case RELUCL_INIT_UNIFORM:
    case RELUCL_INIT_NORMAL:
        plan->kernel = kind == RELUCL_INIT_UNIFORM ? "init_uniform" : "init_normal";
        plan->scale = init->value;
        return check_spread(ctx, fn, init->value);
    case RELUCL_INIT_HE_NORMAL:
    case RELUCL_INIT_HE_UNIFORM:
    case RELUCL_INIT_XAVIER_NORMAL:
    case RELUCL_INIT_XAVIER_UNIFORM: {
        int xavier = kind == RELUCL_INIT_XAVIER_NORMAL || kind == RELUCL_INIT_XAVIER_UNIFORM;
        int normal = kind == RELUCL_INIT_HE_NORMAL || kind == RELUCL_INIT_XAVIER_NORMAL;
        relucl_status status = check_fans(ctx, fn, init, xavier);
        if (status != RELUCL_OK)
            return status;
        double fans = (double)init->fan_in + (xavier ? (double)init->fan_out : 0.0);
        /* Both variants have variance 2 / fans: U(-b, b) has variance b^2 / 3. */
        plan->kernel = normal ? "init_normal" : "init_uniform";
        plan->scale = (float)sqrt((normal ? 2.0 : 6.0) / fans);
        return RELUCL_OK;
    }
    }
    return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "init.kind %d is not an init kind",
                        (int)kind);
}

relucl_status relucl_init_tensor(relucl_context *ctx, const relucl_init *init,
                                 const relucl_tensor *t) {
    static const char fn[] = "relucl_init_tensor";
    init_plan plan;
    size_t n = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    if (!init)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "init is NULL");
    RELUCL__TRY(plan_init(ctx, fn, init, &plan));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "t", t, &n));
    if (n == 0)
        return RELUCL_OK;

    if (!plan.kernel)
        return relucl_tensor_fill(ctx, t, plan.scale);
    /* One work-item per Philox block of four elements. */
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_RANDOM, plan.kernel,
                          relucl__range_1d(ctx, (n + 3) / 4, 0), RELUCL__TENSOR(t),
                          RELUCL__ULONG(n), RELUCL__FLOAT(plan.scale), RELUCL__ULONG(init->seed),
                          RELUCL__ULONG(init->stream));
}

/* ---- Dropout ------------------------------------------------------------------------------- */

relucl_status relucl_dropout_forward(relucl_context *ctx, float p, unsigned long long seed,
                                     unsigned long long stream, const relucl_tensor *x,
                                     const relucl_tensor *mask, const relucl_tensor *y) {
    static const char fn[] = "relucl_dropout_forward";
    size_t nx = 0, nm = 0, ny = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    if (!(p >= 0.0f && p < 1.0f))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "p is %g, must be in [0, 1)",
                            (double)p);
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "x", x, &nx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "mask", mask, &nm));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "y", y, &ny));
    RELUCL__TRY(relucl__check_same_count(ctx, fn, "mask", nm, "x", nx));
    RELUCL__TRY(relucl__check_same_count(ctx, fn, "y", ny, "x", nx));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "y", y, "x", x, 1));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "mask", mask, "x", x, 0));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "mask", mask, "y", y, 0));
    if (nx == 0)
        return RELUCL_OK;

    /* Rounded once, here, so every device scales by the same float. */
    float scale = (float)(1.0 / (1.0 - (double)p));
    return RELUCL__LAUNCH(
        ctx, fn, RELUCL_PROGRAM_RANDOM, "dropout_forward", relucl__range_1d(ctx, (nx + 3) / 4, 0),
        RELUCL__TENSOR(x), RELUCL__TENSOR(mask), RELUCL__TENSOR(y), RELUCL__ULONG(nx),
        RELUCL__FLOAT(p), RELUCL__FLOAT(scale), RELUCL__ULONG(seed), RELUCL__ULONG(stream));
}

relucl_status relucl_dropout_backward(relucl_context *ctx, const relucl_tensor *mask,
                                      const relucl_tensor *dy, const relucl_tensor *dx) {
    static const char fn[] = "relucl_dropout_backward";
    size_t nm = 0, ndy = 0, ndx = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "mask", mask, &nm));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "dy", dy, &ndy));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "dx", dx, &ndx));
    RELUCL__TRY(relucl__check_same_count(ctx, fn, "dy", ndy, "mask", nm));
    RELUCL__TRY(relucl__check_same_count(ctx, fn, "dx", ndx, "mask", nm));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "dx", dx, "dy", dy, 1));
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "dx", dx, "mask", mask, 0));
    if (nm == 0)
        return RELUCL_OK;

    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_RANDOM, "dropout_backward",
                          relucl__range_1d(ctx, nm, 0), RELUCL__TENSOR(mask), RELUCL__TENSOR(dy),
                          RELUCL__TENSOR(dx), RELUCL__ULONG(nm));
}

/* ---- Shuffle ------------------------------------------------------------------------------- */

/* Philox words in order: block b of (seed, epoch) gives words 4b..4b+3. */
typedef struct word_source {
    unsigned key[2], words[4];
    uint64_t block, epoch;
    int used;
} word_source;

static unsigned next_word(word_source *s) {
    if (s->used == 4) {
        unsigned c[4] = {(unsigned)s->block, (unsigned)(s->block >> 32), (unsigned)s->epoch,
                         (unsigned)(s->epoch >> 32)};
        relucl_philox4x32(c, s->key, s->words);
        s->block++;
        s->used = 0;
    }
    return s->words[s->used++];
}

/* Uniform in [0, bound]: the bits below bound's top bit, redrawn while above bound, so no
 * value is favoured (fewer than two draws on average). Bounds that fit 32 bits take one word
 * per draw, wider ones two, which keeps the sequence the same where size_t is 32-bit. */
static uint64_t draw_at_most(word_source *s, uint64_t bound) {
    uint64_t mask = bound;
    for (int shift = 1; shift < 64; shift *= 2)
        mask |= mask >> shift;
    for (;;) {
        uint64_t v = next_word(s);
        if (bound > 0xFFFFFFFFu)
            v = v << 32 | next_word(s);
        v &= mask;
        if (v <= bound)
            return v;
    }
}

relucl_status relucl_shuffle(unsigned long long seed, unsigned long long epoch, size_t n,
                             size_t *perm) {
    if (n > 0 && !perm)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    word_source s = {{(unsigned)seed, (unsigned)(seed >> 32)}, {0, 0, 0, 0}, 0, epoch, 4};
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    /* Fisher-Yates from the top: position j swaps with a uniform pick from 0..j. */
    for (size_t j = n > 0 ? n - 1 : 0; j > 0; j--) {
        size_t k = (size_t)draw_at_most(&s, j);
        size_t tmp = perm[j];
        perm[j] = perm[k];
        perm[k] = tmp;
    }
    return RELUCL_OK;
}
